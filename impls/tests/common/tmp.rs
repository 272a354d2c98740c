//! Temporary paths of the tests: `ballot-<suite>-<pid>-<name>` under the system's temporary
//! directory. A test leaves its files behind (a failed one's logs and data are what a reader
//! wants), and the next run of the same suite removes those of test processes that have ended.

use std::path::PathBuf;
use std::sync::Once;

/// An empty temporary path for one test of `suite`: nothing is created, and anything left there
/// by an earlier test of this process is removed. The first call of a process also removes the
/// `ballot-<suite>-<pid>-…` paths of processes that no longer run.
pub fn tmp_path(suite: &str, name: &str) -> PathBuf {
    static SWEEP: Once = Once::new();
    SWEEP.call_once(|| sweep_ended(suite));
    let path = std::env::temp_dir().join(format!("ballot-{suite}-{}-{name}", std::process::id()));
    remove(&path);
    path
}

/// Removes the paths `ballot-<suite>-<pid>-…` whose process has ended. Where `/proc` does not
/// list processes, it cannot tell, and removes nothing.
fn sweep_ended(suite: &str) {
    if !std::path::Path::new("/proc/self").exists() {
        return;
    }
    let prefix = format!("ballot-{suite}-");
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(&prefix)) else {
            continue;
        };
        let digits = rest.split('-').next().unwrap_or("");
        let Ok(pid) = digits.parse::<u32>() else {
            continue;
        };
        if pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            remove(&entry.path());
        }
    }
}

fn remove(path: &std::path::Path) {
    let _ = std::fs::remove_dir_all(path).or_else(|_| std::fs::remove_file(path));
}
