//! The UDP runtime: the actors the model checker checks, run as a real replicated service.
//!
//! - [`served`]: what a protocol provides to be served ([`served::Served`]) and the adapters.
//! - [`node`]: one server's event loop (storage, timers, the receive path, sends).
//! - [`storage`]: durable, checksummed storage (a snapshot and a write-ahead journal) that
//!   refuses damaged files.
//! - [`journal`]: what a journal record holds (the change between two saved storages).
//! - [`codec`]: the validated, versioned, optionally authenticated wire format.
//! - [`fragment`]: messages too long for one datagram, split and reassembled.
//! - [`pack`]: several messages to one peer in one datagram.
//! - [`transport`]: the socket, counters and fault injection.
//! - [`client`]: the client (leader discovery, redirects, retries with a deadline).
//! - [`history`]: client histories as JSON lines, and their linearizability check.
//! - [`bench`](mod@bench): throughput and latency.
//! - [`etcd`]: a client of etcd's JSON gateway, to run the same benchmark against etcd.
//! - [`cli`]: the `node`, `cluster`, `client` and `bench` subcommands.

pub mod bench;
pub mod cli;
pub mod client;
pub mod codec;
pub mod etcd;
pub mod fragment;
pub mod history;
pub mod journal;
pub mod node;
pub mod pack;
pub mod served;
pub mod storage;
pub mod transport;
