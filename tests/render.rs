//! Rendering thousands of diagnostics of one large file: every report appears, in order,
//! located where the JSON output says (a correctness check for the excerpts that keep
//! text rendering linear; the timing lives in `benches/render.rs`).

use mlc::diag::render;

#[test]
fn thousands_of_diagnostics_render_at_their_positions() {
    let spec: String = (0..1_500)
        .map(|i| {
            format!("dataset d{i} {{\n  size = 4 TB + 3 h\n  location = aws.nowhere_{i}\n}}\n")
        })
        .collect();
    let checked = mlc::check::check_text("many.mlc", &spec);
    assert_eq!(checked.diagnostics.len(), 3_000);
    let text = render::to_text(&checked.diagnostics, &checked.sources, render::Style::Plain);
    let json: serde_json::Value =
        serde_json::from_str(&render::to_json(&checked.diagnostics, &checked.sources))
            .expect("json");
    let expected: Vec<String> = json
        .as_array()
        .expect("array")
        .iter()
        .map(|d| format!("[many.mlc:{}:{}]", d["line"], d["column"]))
        .collect();
    let headers: Vec<String> = text
        .lines()
        .filter_map(|l| {
            l.split_once('╭')
                .map(|(_, rest)| rest.trim_start_matches('─'))
        })
        .map(str::to_string)
        .collect();
    assert_eq!(headers, expected);
    // The last declaration's lines are quoted with their real line numbers.
    let last = text.lines().rev().find(|l| l.contains("nowhere_1499"));
    assert_eq!(last, Some(" 5999 │   location = aws.nowhere_1499"));
}
