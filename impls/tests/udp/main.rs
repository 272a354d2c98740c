//! The real service's tests — the UDP runtime, its storage and journal, the client, and `ballot
//! cluster`/`ballot node` — in one test binary: one build and link instead of nineteen, which
//! shortens the test command's build. Each module was a test binary of its own
//! before; its doc says what it tests. Every network test binds to 127.0.0.1 only, on ports that
//! were free a moment before, and stops by itself.

mod udp_common;

mod journal;
mod udp_auth;
mod udp_backoff;
mod udp_cli;
mod udp_kv_plumbing;
mod udp_membership;
mod udp_multi_paxos;
mod udp_pack;
mod udp_partition;
mod udp_paxos;
mod udp_raft;
mod udp_reads;
mod udp_receive;
mod udp_rejoin;
mod udp_sessions;
mod udp_snapshots;
mod udp_storage;
