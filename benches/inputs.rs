//! Fuzz-like throughput: small specs through check, policy and both renderers, as the
//! fuzz target does, one after another. Run with `cargo bench --bench inputs`; it prints
//! inputs per second over the ui corpus and the examples (`INPUTS_SECONDS` sets how
//! long it runs; 3 by default).

use mlc::diag::render;
use std::time::{Duration, Instant};

fn corpus() -> Vec<String> {
    let mut texts = Vec::new();
    for dir in ["tests/ui", "tests/ui/policy", "examples"] {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut paths: Vec<_> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "mlc"))
            .collect();
        paths.sort();
        texts.extend(
            paths
                .iter()
                .filter_map(|p| std::fs::read(p).ok())
                .map(|b| String::from_utf8_lossy(&b).into_owned()),
        );
    }
    texts
}

fn main() {
    let seconds: f64 = std::env::var("INPUTS_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let texts = corpus();
    assert!(!texts.is_empty(), "run from the repository root");
    let start = Instant::now();
    let mut inputs = 0usize;
    while start.elapsed() < Duration::from_secs_f64(seconds) {
        for text in &texts {
            let checked = mlc::policy::check_text("fuzz.mlc", text);
            let _ = render::to_text(&checked.diagnostics, &checked.sources, render::Style::Plain);
            let _ = render::to_json(&checked.diagnostics, &checked.sources);
            inputs += 1;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "{inputs} inputs ({} distinct specs) in {elapsed:.2} s: {:.0} inputs/s",
        texts.len(),
        inputs as f64 / elapsed
    );
}
