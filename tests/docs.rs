//! Documentation is tested: every fenced `mlc` block in docs/ and the README is a spec
//! that checks without errors, and the language reference names every kind, attribute,
//! unit and diagnostic code, so the reference cannot drift from the compiler.

use mlc::check::schema::{self, Ty};
use std::path::PathBuf;

fn markdown_files() -> Vec<PathBuf> {
    let mut files = vec![PathBuf::from("README.md")];
    if let Ok(entries) = std::fs::read_dir("docs") {
        files.extend(
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "md")),
        );
    }
    files.sort();
    files
}

/// `(line, text)` of every block fenced with ```mlc.
fn mlc_blocks(markdown: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (index, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        match &mut current {
            None if trimmed.starts_with("```mlc") => current = Some((index + 1, String::new())),
            Some((_, text)) if trimmed.starts_with("```") => {
                let _ = text;
                blocks.push(current.take().unwrap_or_default());
            }
            Some((_, text)) => {
                text.push_str(line);
                text.push('\n');
            }
            None => {}
        }
    }
    blocks
}

#[test]
fn every_mlc_block_checks_without_errors() {
    let mut count = 0;
    for file in markdown_files() {
        let Ok(markdown) = std::fs::read_to_string(&file) else {
            continue;
        };
        for (line, block) in mlc_blocks(&markdown) {
            let name = format!("{}:{line}.mlc", file.display());
            let checked = mlc::check::check_text(&name, &block);
            let errors: Vec<String> = checked
                .diagnostics
                .iter()
                .filter(|d| d.severity() == mlc::diag::Severity::Error)
                .map(|d| format!("{}: {}", d.code, d.message))
                .collect();
            assert!(errors.is_empty(), "{name} has errors: {errors:#?}\n{block}");
            count += 1;
        }
    }
    assert!(
        count >= 10,
        "expected the docs to hold many mlc examples, found {count}"
    );
}

fn attribute_names() -> Vec<&'static str> {
    let mut names = Vec::new();
    let ctor_attrs = |ty: &Ty, names: &mut Vec<&'static str>| {
        if let Ty::Ctor(ctors) = ty {
            for ctor in *ctors {
                names.push(ctor.name);
                names.extend(ctor.attrs.iter().map(|a| a.name));
            }
        }
    };
    for kind in schema::KINDS {
        names.push(kind.kind);
        for attr in kind.attrs {
            names.push(attr.name);
            ctor_attrs(&attr.ty, &mut names);
        }
        for block in kind.blocks {
            names.push(block.name);
            names.extend(block.attrs.iter().map(|a| a.name));
        }
    }
    names.extend(schema::RULE_ATTRS.iter().map(|a| a.name));
    names.sort_unstable();
    names.dedup();
    names
}

#[test]
fn language_reference_names_everything() {
    let reference = std::fs::read_to_string("docs/language.md").expect("docs/language.md exists");
    let missing: Vec<&str> = attribute_names()
        .into_iter()
        .filter(|n| !reference.contains(&format!("`{n}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/language.md does not mention: {missing:?}"
    );
    let units: Vec<&str> = mlc::check::units::UNITS
        .iter()
        .map(|u| u.name)
        .filter(|u| !reference.contains(&format!("`{u}`")))
        .collect();
    assert!(
        units.is_empty(),
        "docs/language.md does not list units: {units:?}"
    );
    let codes: Vec<&str> = mlc::diag::codes::REGISTRY
        .iter()
        .map(|c| c.code)
        .filter(|c| !reference.contains(c))
        .collect();
    assert!(
        codes.is_empty(),
        "docs/language.md does not list codes: {codes:?}"
    );
}
