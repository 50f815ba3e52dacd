//! Stage 1, syntax: source text to AST. Never fails: syntax errors are diagnostics and
//! the items that did parse are kept, so that later stages can still report their errors.

pub mod ast;
mod parse;
pub mod scan;
pub mod sexpr;

use crate::diag::{codes, Diagnostic};
use crate::source::{FileId, Span};
pub use ast::File;

/// The largest spec file accepted, so that a runaway generator cannot exhaust memory.
pub const MAX_FILE_BYTES: usize = 32 * 1024 * 1024;

/// Parses one file. Syntax errors are recovered per top-level declaration.
pub fn parse(file: FileId, text: &str) -> (File, Vec<Diagnostic>) {
    let whole = Span::new(file, 0, text.len());
    let empty = File {
        items: Vec::new(),
        span: whole,
    };
    if text.len() > MAX_FILE_BYTES {
        let d = Diagnostic::new(
            codes::TOO_LARGE,
            Span::new(file, 0, 0),
            format!(
                "file is {} bytes, more than the {} MiB limit",
                text.len(),
                MAX_FILE_BYTES / (1024 * 1024)
            ),
        )
        .help("split the spec into several files with `import`");
        return (empty, vec![d]);
    }
    let scanned = scan::scan(text);
    if let Some(at) = scanned.too_deep_at {
        let d = Diagnostic::new(
            codes::TOO_DEEP,
            Span::new(file, at, at + 1),
            format!("brackets nest more than {} levels deep", scan::MAX_DEPTH),
        )
        .label("too deep")
        .help("flatten the value; no spec needs this much nesting");
        return (empty, vec![d]);
    }
    let comments: parse::CommentEnds = scanned.comments.iter().map(|c| (c.end, c.start)).collect();
    if let Some(parsed) = parse_in_parallel(file, text, &scanned.chunks, whole, &comments) {
        return parsed;
    }
    match parse::parse_items(file, text, 0, &comments) {
        Ok((items, diagnostics)) => (File { items, span: whole }, diagnostics),
        Err(_) => {
            let (file_ast, mut diagnostics) =
                recover(file, text, &scanned.chunks, whole, &comments);
            if let Some(at) = scanned.unmatched_close_at {
                let closer_text = &text[at..at + 1];
                diagnostics.retain(|d| d.span().start as usize != at);
                diagnostics.push(
                    Diagnostic::new(
                        codes::SYNTAX,
                        Span::new(file, at, at + 1),
                        format!("unmatched `{closer_text}`"),
                    )
                    .label("closes nothing")
                    .help("remove it, or add the opening bracket it belongs to"),
                );
            }
            if let Some(at) = scanned.unclosed_at {
                // The parser only notices at the end of the file; point at the opener.
                let opener = &text[at..at + 1];
                diagnostics.retain(|d| d.span().start as usize != text.len());
                diagnostics.push(
                    Diagnostic::new(
                        codes::SYNTAX,
                        Span::new(file, at, at + 1),
                        format!("this `{opener}` is never closed"),
                    )
                    .label("unclosed")
                    .help(format!("add the matching `{}`", closer(opener))),
                );
            }
            (file_ast, diagnostics)
        }
    }
}

/// Files at least this large are parsed in pieces on every core.
const PARALLEL_BYTES: usize = 256 * 1024;

/// Parses a large file as a few runs of whole top-level chunks, one per core, and joins
/// the items in order: the same AST as one parse, since a chunk ends where a top-level
/// item's `}` closes (spans stay absolute through `base`). `None` when the file is small,
/// when it has too few chunks, or when some run does not parse: the one-parse path then
/// gives the diagnostics it always gives.
fn parse_in_parallel(
    file: FileId,
    text: &str,
    chunks: &[(usize, usize)],
    whole: Span,
    comments: &parse::CommentEnds,
) -> Option<(File, Vec<Diagnostic>)> {
    // A few runs per thread, so an uneven run does not leave a core idle.
    let runs = rayon::current_num_threads().max(2) * 4;
    if text.len() < PARALLEL_BYTES || chunks.len() < runs {
        return None;
    }
    let per_run = chunks.len().div_ceil(runs);
    let ranges: Vec<(usize, usize)> = chunks
        .chunks(per_run)
        .map(|run| (run[0].0, run[run.len() - 1].1))
        .collect();
    let mut items = Vec::new();
    let mut diagnostics = Vec::new();
    for run in parse_ranges(file, text, &ranges, comments) {
        let (run_items, run_diagnostics) = run.ok()?;
        items.extend(run_items);
        diagnostics.extend(run_diagnostics);
    }
    Some((File { items, span: whole }, diagnostics))
}

/// Parses each byte range of `text` on its own (spans stay absolute), on every core;
/// results in range order.
fn parse_ranges(
    file: FileId,
    text: &str,
    ranges: &[(usize, usize)],
    comments: &parse::CommentEnds,
) -> Vec<parse::Parsed> {
    use rayon::prelude::*;
    ranges
        .par_iter()
        .map(|&(start, end)| parse::parse_items(file, &text[start..end], start, comments))
        .collect()
}

fn closer(opener: &str) -> &'static str {
    match opener {
        "{" => "}",
        "[" => "]",
        _ => ")",
    }
}

/// Parses each top-level chunk on its own, so one broken declaration does not hide the
/// errors (or the valid declarations) after it.
fn recover(
    file: FileId,
    text: &str,
    chunks: &[(usize, usize)],
    whole: Span,
    comments: &parse::CommentEnds,
) -> (File, Vec<Diagnostic>) {
    let mut items = Vec::new();
    let mut diagnostics = Vec::new();
    for chunk in parse_ranges(file, text, chunks, comments) {
        match chunk {
            Ok((chunk_items, chunk_diagnostics)) => {
                items.extend(chunk_items);
                diagnostics.extend(chunk_diagnostics);
            }
            Err(d) => diagnostics.push(d),
        }
    }
    if diagnostics.is_empty() {
        // The chunks parsed although the whole did not: report the whole file's error.
        if let Err(d) = parse::parse_items(file, text, 0, comments) {
            diagnostics.push(d);
        }
    }
    (File { items, span: whole }, diagnostics)
}

/// The S-expression dump of the file named `path` in `sources`, for `--dump-ast`.
pub fn dump(sources: &crate::source::SourceMap, path: &std::path::Path) -> String {
    let Some(id) = sources.find(&path.display().to_string()) else {
        return String::new();
    };
    let (file, _) = parse(id, &sources.get(id).text);
    sexpr::file(&file)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A large file parsed in pieces gives the same AST (spans included) and the same
    /// diagnostics as one parse of the whole.
    #[test]
    fn parsing_in_pieces_matches_one_parse() {
        let mut text = String::from("import \"shared/a.mlc\"\n");
        let mut n = 0;
        while text.len() < 2 * PARALLEL_BYTES {
            text.push_str(&format!(
                "# service {n}\nservice s{n} {{\n  model = train.t{n} // why\n  replicas = 1..{}\n  \
                 labels = {{ team = \"x}}\" }}\n}}\nimport \"shared/b{n}.mlc\"\ndataset d{n} {{ size = {n} GB }}",
                n % 7 + 1
            ));
            n += 1;
        }
        let file = FileId(0);
        let scanned = scan::scan(&text);
        let whole = Span::new(file, 0, text.len());
        let comments: parse::CommentEnds =
            scanned.comments.iter().map(|c| (c.end, c.start)).collect();
        let (pieces, piece_diagnostics) =
            parse_in_parallel(file, &text, &scanned.chunks, whole, &comments)
                .expect("a large file is parsed in pieces");
        let (items, diagnostics) = parse::parse_items(file, &text, 0, &comments).expect("parses");
        let one = File { items, span: whole };
        assert_eq!(pieces, one);
        assert_eq!(format!("{piece_diagnostics:?}"), format!("{diagnostics:?}"));
        assert!(pieces.items.len() > 1000);
    }
}
