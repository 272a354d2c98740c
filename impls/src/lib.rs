//! The library side of the `ballot` command: the UDP runtime that runs the very actors the model
//! checker checks as a real replicated service (see [`runtime`]).
#![deny(missing_docs)]

pub mod runtime;

/// The message of a caught panic (a `String` or `&str` payload), or `"?"`.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("?")
}
