//! `mlc check FILE...`

use super::{
    print_err, print_out, use_color, DiagnosticFormat as Format, EXIT_OK, EXIT_SPEC_ERRORS,
    EXIT_USAGE,
};
use mlc::check::{self, FsWorld, LoadOptions};
use mlc::diag::{self, render, sarif as render_sarif};
use std::path::PathBuf;

pub fn run(files: &[PathBuf], format: Format, dump_ast: bool, options: &LoadOptions) -> u8 {
    let style = if use_color() {
        render::Style::Color
    } else {
        render::Style::Plain
    };
    let mut worst = EXIT_OK;
    let mut json_rows = Vec::new();
    let mut sarif = render_sarif::SarifLog::new();
    for path in files {
        let mut checked = match check::check_with(&FsWorld, path, options) {
            Ok(c) => c,
            Err(message) => {
                print_err(&format!("error: {message}\n"));
                worst = worst.max(EXIT_USAGE);
                continue;
            }
        };
        // Compliance and the security baseline, over the resource graph.
        mlc::policy::apply(&mut checked);
        if dump_ast {
            print_out(&mlc::syntax::dump(&checked.sources, path));
        }
        if diag::has_errors(&checked.diagnostics) {
            worst = worst.max(EXIT_SPEC_ERRORS);
        }
        match format {
            Format::Text => print_err(&render::to_text(
                &checked.diagnostics,
                &checked.sources,
                style,
            )),
            Format::Json => json_rows.push(render::to_json(&checked.diagnostics, &checked.sources)),
            Format::Sarif => sarif.add(&checked.diagnostics, &checked.sources),
        }
        if format == Format::Text && !dump_ast {
            let (errors, warnings) = count(&checked.diagnostics);
            let status = if errors == 0 { "ok" } else { "failed" };
            print_err(&format!(
                "{}: {status} ({}, {})\n",
                path.display(),
                plural(errors, "error"),
                plural(warnings, "warning")
            ));
        }
    }
    match format {
        Format::Json => print_out(&format!("{}\n", merge_json_arrays(&json_rows))),
        Format::Sarif => print_out(&format!("{}\n", sarif.to_json())),
        Format::Text => {}
    }
    worst
}

fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn count(diagnostics: &[diag::Diagnostic]) -> (usize, usize) {
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity() == diag::Severity::Error)
        .count();
    (errors, diagnostics.len() - errors)
}

/// One JSON array for all files, so that CI tools parse a single document.
fn merge_json_arrays(arrays: &[String]) -> String {
    let mut all: Vec<serde_json::Value> = Vec::new();
    for text in arrays {
        if let Ok(serde_json::Value::Array(items)) = serde_json::from_str(text) {
            all.extend(items);
        }
    }
    serde_json::to_string_pretty(&all).unwrap_or_else(|_| "[]".into())
}
