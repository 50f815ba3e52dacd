//! UI tests: every `tests/ui/*.mlc` is checked and its source plus rendered diagnostics
//! are compared with the snapshot in `tests/ui/snapshots/`. New cases: add a file and
//! run `INSTA_UPDATE=always cargo test --test ui`, then review the snapshot.

use mlc::check::{self, FsWorld};
use mlc::diag::{codes, render};
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

fn cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = fs::read_dir("tests/ui")
        .expect("tests/ui exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "mlc"))
        .collect();
    cases.sort();
    cases
}

fn render_case(path: &Path) -> String {
    let checked = check::check(&FsWorld, path).expect("case is readable");
    let source = String::from_utf8_lossy(&fs::read(path).expect("readable")).into_owned();
    let diagnostics = render::to_text(&checked.diagnostics, &checked.sources, render::Style::Plain);
    format!("{source}\n----- diagnostics -----\n{diagnostics}")
}

#[test]
fn ui_cases_match_snapshots() {
    for path in cases() {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        let rendered = render_case(&path);
        insta::with_settings!({
            snapshot_path => "ui/snapshots",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(name, rendered);
        });
    }
}

#[test]
fn every_case_named_after_a_code_reports_that_code() {
    for path in cases() {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let Some(code) = name
            .split('_')
            .next()
            .filter(|c| codes::lookup(c).is_some())
        else {
            continue;
        };
        let checked = check::check(&FsWorld, &path).expect("readable");
        let wanted = code.to_ascii_uppercase();
        assert!(
            checked.diagnostics.iter().any(|d| d.code.0 == wanted),
            "{} should report {wanted}, got {:?}",
            path.display(),
            checked
                .diagnostics
                .iter()
                .map(|d| d.code)
                .collect::<Vec<_>>()
        );
    }
}

#[test]
fn every_code_has_a_ui_case() {
    let mut seen = BTreeSet::new();
    for path in cases() {
        let checked = check::check(&FsWorld, &path).expect("readable");
        seen.extend(checked.diagnostics.iter().map(|d| d.code.0));
    }
    // E0004 needs a file over 32 MiB; tests/never_panic.rs generates one instead.
    let missing: Vec<&str> = codes::REGISTRY
        .iter()
        .map(|c| c.code)
        .filter(|c| {
            !seen.contains(c) && *c != "E0004" && !c.starts_with("E05") && !c.starts_with("W05")
        })
        .collect();
    assert!(missing.is_empty(), "codes without a ui case: {missing:?}");
    assert!(cases().len() >= 40, "the ui corpus needs at least 40 cases");
}

#[test]
fn no_snapshot_without_a_case() {
    let names: BTreeSet<String> = cases()
        .iter()
        .filter_map(|p| p.file_stem()?.to_str().map(String::from))
        .collect();
    for entry in fs::read_dir("tests/ui/snapshots")
        .expect("snapshots exist")
        .flatten()
    {
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some(stem) = file.strip_suffix(".snap") else {
            panic!("stray file in tests/ui/snapshots: {file} (review or delete pending .snap.new files)");
        };
        assert!(
            names.contains(stem),
            "snapshot {file} has no case in tests/ui/"
        );
    }
}

/// Every `.snap` under `tests/snapshots` must be one a test still writes: a policy ui
/// case (`policy_ui__CASE`), an example (`examples__NAME`), an example's plan
/// (`plan/NAME.{text,markdown,json}`), or an unnamed snapshot of a test function
/// (`MODULE__FN`, taken from the function's name). Lists every orphan.
#[test]
fn no_orphaned_snapshots_in_tests_snapshots() {
    let stems = |dir: &str, ext: &str| -> BTreeSet<String> {
        fs::read_dir(dir)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == ext))
                    .filter_map(|p| p.file_stem()?.to_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let policy_cases = stems("tests/ui/policy", "mlc");
    let examples = stems("examples", "mlc");
    let mut orphans = Vec::new();
    for entry in fs::read_dir("tests/snapshots/plan")
        .into_iter()
        .flatten()
        .flatten()
    {
        let file = entry.file_name().to_string_lossy().into_owned();
        let produced = file
            .strip_suffix(".snap")
            .and_then(|stem| stem.rsplit_once('.'))
            .is_some_and(|(example, format)| {
                examples.contains(example) && ["text", "markdown", "json"].contains(&format)
            });
        if !produced {
            orphans.push(format!("plan/{file}"));
        }
    }
    // `mlc build` output: tests/snapshots/build/<target>/<example>.snap
    for target in fs::read_dir("tests/snapshots/build")
        .into_iter()
        .flatten()
        .flatten()
    {
        let target_name = target.file_name().to_string_lossy().into_owned();
        let known =
            ["kubernetes", "terraform", "serverless", "harness"].contains(&target_name.as_str());
        for entry in fs::read_dir(target.path()).into_iter().flatten().flatten() {
            let file = entry.file_name().to_string_lossy().into_owned();
            let produced = known
                && file
                    .strip_suffix(".snap")
                    .is_some_and(|example| examples.contains(example));
            if !produced {
                orphans.push(format!("build/{target_name}/{file}"));
            }
        }
    }
    for entry in fs::read_dir("tests/snapshots")
        .expect("tests/snapshots exists")
        .flatten()
    {
        // Folders (`plan/`, `build/`) hold snapshots named by path, not `MODULE__NAME`.
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let file = entry.file_name().to_string_lossy().into_owned();
        let produced = file
            .strip_suffix(".snap")
            .and_then(|stem| stem.split_once("__"))
            .is_some_and(|(module, name)| match module {
                "policy_ui" => policy_cases.contains(name),
                "examples" => examples.contains(name),
                _ => test_fn_takes_snapshot(module, name),
            });
        if !produced {
            orphans.push(file);
        }
    }
    orphans.sort();
    assert!(
        orphans.is_empty(),
        "snapshots no test produces (delete them, or pending .snap.new files to review): {orphans:#?}"
    );
}

/// Whether `tests/MODULE.rs` has a test function NAME (insta numbers repeated unnamed
/// snapshots `NAME-2`, ...) that takes a snapshot.
fn test_fn_takes_snapshot(module: &str, name: &str) -> bool {
    let Ok(source) = fs::read_to_string(format!("tests/{module}.rs")) else {
        return false;
    };
    let name = match name.rsplit_once('-') {
        Some((base, n)) if n.chars().all(|c| c.is_ascii_digit()) => base,
        _ => name,
    };
    let Some(start) = source.find(&format!("fn {name}(")) else {
        return false;
    };
    let body = &source[start..];
    let end = body[1..].find("\nfn ").map_or(body.len(), |i| i + 1);
    body[..end].contains("assert_snapshot!")
}
