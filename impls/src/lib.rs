//! The library side of the `ballot` command: the UDP runtime that runs the very actors the model
//! checker checks as a real replicated service (see [`runtime`]).
#![deny(missing_docs)]

pub mod runtime;
