//! The UDP runtime: the actors the model checker checks, run as a real replicated service.
//!
//! - [`served`]: what a protocol provides to be served ([`served::Served`]) and the adapters.
//! - [`node`]: one server's event loop (storage, timers, the receive path, sends).
//! - [`storage`]: durable, checksummed storage that refuses damaged files.
//! - [`codec`]: the validated, versioned, optionally authenticated wire format.
//! - [`transport`]: the socket, counters and fault injection.
//! - [`client`]: the client (leader discovery, redirects, retries with a deadline).
//! - [`history`]: client histories as JSON lines, and their linearizability check.
//! - [`bench`](mod@bench): throughput and latency.
//! - [`cli`]: the `node`, `cluster`, `client` and `bench` subcommands.

pub mod bench;
pub mod cli;
pub mod client;
pub mod codec;
pub mod history;
pub mod node;
pub mod served;
pub mod storage;
pub mod transport;
