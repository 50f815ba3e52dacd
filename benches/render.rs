//! Text rendering of many diagnostics: it must grow linearly with their number. Run with
//! `cargo bench --bench render`; it prints the time of text and JSON rendering for specs
//! of 500 to 80,000 declarations that each produce two diagnostics, then for specs that
//! declare 500 to 80,000 datasets twice (one diagnostic each, its two labels half the file
//! apart), and for each kind the ratio of the largest to the smallest per-diagnostic cost.

use mlc::diag::render;
use std::time::{Duration, Instant};

/// `n` datasets, each with a unit mismatch (E0303) and an unknown region (E0205).
fn generate(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!("dataset d{i} {{\n  size = 4 TB + 3 h\n  location = aws.nowhere_{i}\n}}\n")
        })
        .collect()
}

/// `n` datasets, then the same `n` again: each a duplicate (E0103) whose labels are half
/// the file apart.
fn generate_far_apart(n: usize) -> String {
    let datasets: String = (0..n)
        .map(|i| format!("dataset d{i} {{\n  size = 1 GB\n  location = aws.us_east_1\n}}\n"))
        .collect();
    datasets.repeat(2)
}

fn time(f: impl FnOnce() -> String) -> (Duration, usize) {
    let start = Instant::now();
    let out = f();
    (start.elapsed(), out.len())
}

fn main() {
    // `RENDER_SIZES=500,1000` measures only those sizes (e.g. against an older build).
    let sizes: Vec<usize> = std::env::var("RENDER_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![500, 1_000, 2_000, 4_000, 80_000]);
    println!("each declaration with two diagnostics:");
    measure(&sizes, generate);
    println!("each declaration twice (labels half the file apart):");
    measure(&sizes, generate_far_apart);
}

fn measure(sizes: &[usize], generate: fn(usize) -> String) {
    let mut per_diagnostic = Vec::new();
    for &n in sizes {
        let text = generate(n);
        let checked = mlc::check::check_text("render.mlc", &text);
        let count = checked.diagnostics.len();
        let (text_time, text_len) =
            time(|| render::to_text(&checked.diagnostics, &checked.sources, render::Style::Plain));
        let (json_time, _) = time(|| render::to_json(&checked.diagnostics, &checked.sources));
        println!(
            "{n:>6} declarations ({:>5} KiB), {count:>6} diagnostics: text {:>8.1} ms ({} KiB), json {:>7.1} ms",
            text.len() / 1024,
            text_time.as_secs_f64() * 1e3,
            text_len / 1024,
            json_time.as_secs_f64() * 1e3,
        );
        per_diagnostic.push(text_time.as_secs_f64() / count.max(1) as f64);
    }
    let first = per_diagnostic.first().copied().unwrap_or(1.0);
    let last = per_diagnostic.last().copied().unwrap_or(1.0);
    println!(
        "text cost per diagnostic, largest vs smallest spec: {:.2}x (linear: about 1x)",
        last / first
    );
}
