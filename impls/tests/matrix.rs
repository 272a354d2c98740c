//! `ballot matrix` and the page it writes, docs/fault-matrix-models.md.
//!
//! The whole matrix takes minutes (`.ci/run` regenerates the page and compares it after the
//! tests); here the rows of the two cheapest models are regenerated and must appear in the
//! committed page word for word, so an edit to a model or to the page that changes them fails.

mod common;
use common::{ballot, code, tmp_dir};

#[test]
fn the_committed_page_holds_what_the_command_writes() {
    let dir = tmp_dir("matrix", "rows");
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("page.md");
    let traces = dir.join("traces");
    let o = ballot(&[
        "matrix",
        "--only",
        "active-active",
        "--only",
        "two-phase-commit",
        "--out",
        out.to_str().unwrap(),
        "--trace-out",
        traces.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let fresh = std::fs::read_to_string(&out).unwrap();
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/fault-matrix-models.md"
    ))
    .unwrap();
    let rows: Vec<&str> = fresh
        .lines()
        .filter(|l| {
            [
                "| active-active",
                "| two-phase-commit",
                "- active-active ×",
                "- two-phase-commit ×",
            ]
            .iter()
            .any(|p| l.starts_with(p))
        })
        .collect();
    assert_eq!(rows.len(), 2 + 2 * 8, "{fresh}");
    for row in rows {
        assert!(
            committed.lines().any(|l| l == row),
            "docs/fault-matrix-models.md lacks this line that `ballot matrix` writes (run \
             `target/release/ballot matrix --out docs/fault-matrix-models.md`):\n{row}"
        );
    }
    // Active-active loses an update and two-phase commit blocks, with no fault at all: the
    // matrix shows the failures these models are taught for.
    assert!(
        fresh.contains(
            "| active-active | defaults | Concurrent writes reconciled | **Linearizability"
        )
    );
    let _ = std::fs::remove_dir_all(&dir);
}
