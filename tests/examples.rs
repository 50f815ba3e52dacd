//! Every example spec passes `mlc check` (front end, graph and policy) without errors,
//! its warnings are snapshots, it is formatted, and the standard library itself checks
//! cleanly.

use std::path::PathBuf;

fn example_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir("examples")
        .expect("examples/ exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "mlc"))
        .collect();
    files.sort();
    files
}

#[test]
fn examples_check_cleanly_and_are_formatted() {
    let files = example_files();
    assert!(
        files.len() >= 6,
        "expected at least six examples, found {}",
        files.len()
    );
    for path in files {
        // What `mlc check` runs: the front end, then the graph and policy stages.
        let mut checked = mlc::check::check(&mlc::check::FsWorld, &path).expect("readable");
        assert!(checked.model.is_some(), "{} has no model", path.display());
        mlc::policy::apply(&mut checked);
        let rendered = mlc::diag::render::to_text(
            &checked.diagnostics,
            &checked.sources,
            mlc::diag::render::Style::Plain,
        );
        assert!(
            !mlc::diag::has_errors(&checked.diagnostics),
            "{} has errors:\n{rendered}",
            path.display()
        );
        // Warnings (such as baseline advice) are allowed but pinned: a change shows up
        // in review.
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        insta::assert_snapshot!(stem, rendered);
        let text = std::fs::read_to_string(&path).expect("readable");
        let formatted = mlc::fmt::format(&text).expect("parses");
        assert_eq!(
            formatted,
            text,
            "{} is not formatted; run `mlc fmt` on it",
            path.display()
        );
    }
}

#[test]
fn stdlib_checks_cleanly() {
    let checked = mlc::check::check_text("empty.mlc", "");
    let rendered = mlc::diag::render::to_text(
        &checked.diagnostics,
        &checked.sources,
        mlc::diag::render::Style::Plain,
    );
    assert!(
        checked.diagnostics.is_empty(),
        "the standard library has diagnostics:\n{rendered}"
    );
    let model = checked.model.expect("model");
    assert!(model.knowledge.clouds.len() >= 3);
    assert!(model.knowledge.frameworks.iter().any(|f| f.name == "hipaa"));
}
