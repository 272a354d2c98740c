//! Helpers shared by the tests that run the `ballot` binary as a user would.

use std::path::PathBuf;
use std::process::{Command, Output};

/// Runs `ballot <args>` and waits for it.
pub fn ballot(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ballot"))
        .args(args)
        .output()
        .expect("run ballot")
}

/// The exit code of a finished `ballot`.
pub fn code(o: &Output) -> i32 {
    o.status.code().expect("exited")
}

pub mod tmp;

/// An empty temporary path for one test: `ballot-<suite>-<pid>-<name>` ([`tmp::tmp_path`]).
pub fn tmp_dir(suite: &str, name: &str) -> PathBuf {
    tmp::tmp_path(suite, name)
}
