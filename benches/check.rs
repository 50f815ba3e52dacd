//! Parse + check throughput on generated specs of 10,000 and 100,000 declarations.
//! Run with `cargo bench --bench check`; it prints the median of several runs and the
//! scaling ratio (10x the declarations should cost at most 12x the time).

use std::time::{Duration, Instant};

/// A spec of `n` declarations: datasets, the training jobs that read them, and the
/// services and functions that serve those jobs, so references and domain rules run.
fn generate(n: usize) -> String {
    let mut out = String::with_capacity(n * 200);
    out.push_str("project bench {\n  owner = \"bench@example.com\"\n}\n\n");
    for i in 0..n.saturating_sub(1) / 4 {
        out.push_str(&format!(
            "dataset d{i} {{\n  size = {} GB + 512 MiB\n  location = aws.us_east_1\n  classification = internal\n}}\n\n\
             train t{i} {{\n  data = dataset.d{i}\n  model = transformer {{ layers = 12, hidden = 768, heads = 12, vocab = 32000, seq_len = 512 }}\n  \
             parallelism = data {{ gpus = 16 }}\n  accelerator = A100_80GB x 8\n  batch_size = 256\n  \
             optimizer = adamw {{ lr = 3e-4 }}\n  capacity = spot fallback on_demand\n  checkpoint = every 30 min\n}}\n\n\
             service s{i} {{\n  model = train.t{i}\n  replicas = 2..20\n  autoscale {{ cpu = 70% }}\n  near = [eu_west, us_east]\n}}\n\n\
             function f{i} {{\n  model = train.t{i}\n  platform = aws_lambda\n  runtime = python3.12\n  memory = 3008 MB\n  \
             timeout = 900 s\n  invocations = 2M / month\n}}\n\n",
            i % 900 + 1
        ));
    }
    out
}

fn median_time(text: &str, runs: usize) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            let checked = mlc::check::check_text("bench.mlc", text);
            assert!(checked.model.is_some(), "generated spec must be valid");
            start.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn main() {
    // `BENCH_ONCE=parse`, `check` or `check100k` runs one pass over the 10,000- (or 100,000-)
    // declaration spec, for callgrind instruction counts or a perf profile.
    match std::env::var("BENCH_ONCE").as_deref() {
        Ok("parse") => return println!("parse: {:?}", parse_only(&generate(10_000))),
        Ok("check") => return println!("check: {:?}", median_time(&generate(10_000), 1)),
        Ok("check100k") => return println!("check: {:?}", median_time(&generate(100_000), 1)),
        _ => {}
    }
    let small = generate(10_000);
    let large = generate(100_000);
    let t_small = median_time(&small, 7);
    let t_large = median_time(&large, 3);
    println!(
        "parse+check 10,000 declarations ({} KiB): {:.1} ms",
        small.len() / 1024,
        t_small.as_secs_f64() * 1e3
    );
    println!(
        "parse+check 100,000 declarations ({} KiB): {:.1} ms",
        large.len() / 1024,
        t_large.as_secs_f64() * 1e3
    );
    println!(
        "scaling: 10x the declarations took {:.2}x the time (target <= 12x)",
        t_large.as_secs_f64() / t_small.as_secs_f64()
    );
}

fn parse_only(text: &str) -> Duration {
    let start = Instant::now();
    let _ = mlc::syntax::parse(mlc::source::FileId(0), text);
    start.elapsed()
}
