//! `mlc fmt [--check] FILE...`

use super::{
    print_err, print_out, use_color, write_atomically, EXIT_OK, EXIT_SPEC_ERRORS, EXIT_USAGE,
};
use mlc::diag::render;
use mlc::source::SourceMap;
use std::path::{Path, PathBuf};

pub fn run(files: &[PathBuf], check_only: bool) -> u8 {
    let mut worst = EXIT_OK;
    let mut unformatted = Vec::new();
    for path in files {
        let outcome = format_one(path, check_only);
        match outcome {
            Outcome::Unchanged => {}
            Outcome::Changed => unformatted.push(path.display().to_string()),
            Outcome::SyntaxErrors => worst = worst.max(EXIT_SPEC_ERRORS),
            Outcome::Io(message) => {
                print_err(&format!("error: {message}\n"));
                worst = worst.max(EXIT_USAGE);
            }
        }
    }
    if check_only && !unformatted.is_empty() {
        for name in &unformatted {
            print_out(&format!("{name}\n"));
        }
        print_err(&format!(
            "{} file(s) are not formatted; run `mlc fmt` on them\n",
            unformatted.len()
        ));
        worst = worst.max(EXIT_SPEC_ERRORS);
    }
    worst
}

enum Outcome {
    Unchanged,
    Changed,
    SyntaxErrors,
    Io(String),
}

fn format_one(path: &Path, check_only: bool) -> Outcome {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => return Outcome::Io(format!("cannot read {}: {e}", path.display())),
    };
    let Ok(text) = String::from_utf8(bytes) else {
        return Outcome::Io(format!("{} is not valid UTF-8", path.display()));
    };
    let formatted = match mlc::fmt::format(&text) {
        Ok(f) => f,
        Err(diagnostics) => {
            let mut sources = SourceMap::default();
            sources.add(path.display().to_string(), text);
            let style = if use_color() {
                render::Style::Color
            } else {
                render::Style::Plain
            };
            print_err(&render::to_text(&diagnostics, &sources, style));
            return Outcome::SyntaxErrors;
        }
    };
    if formatted == text {
        return Outcome::Unchanged;
    }
    if !check_only {
        if let Err(e) = write_atomically(path, &formatted) {
            return Outcome::Io(format!("cannot write {}: {e}", path.display()));
        }
    }
    Outcome::Changed
}
