//! `mlc graph FILE`: the resource graph as Graphviz DOT on stdout.

use super::{print_err, print_out, use_color, EXIT_OK, EXIT_SPEC_ERRORS, EXIT_USAGE};
use mlc::check::{FsWorld, LoadOptions};
use mlc::diag::render;
use std::path::Path;

pub fn run(file: &Path, options: &LoadOptions) -> u8 {
    let compilation = match mlc::compile::compile(&FsWorld, file, options) {
        Ok(c) => c,
        Err(message) => {
            print_err(&format!("error: {message}\n"));
            return EXIT_USAGE;
        }
    };
    let style = if use_color() {
        render::Style::Color
    } else {
        render::Style::Plain
    };
    if !compilation.diagnostics.is_empty() {
        print_err(&render::to_text(
            &compilation.diagnostics,
            &compilation.sources,
            style,
        ));
    }
    let Some(graph) = compilation
        .graph
        .as_ref()
        .filter(|_| !compilation.has_errors())
    else {
        print_err(&format!(
            "{}: no graph: the spec has errors\n",
            file.display()
        ));
        return EXIT_SPEC_ERRORS;
    };
    let title = compilation
        .model
        .as_ref()
        .and_then(|m| m.project.as_ref())
        .map_or_else(|| "mlc".to_string(), |p| p.name.clone());
    print_out(&mlc::graph::dot::render(graph, &title));
    EXIT_OK
}
