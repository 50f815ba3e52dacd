//! JSON-lines step metrics on stdout and a progress bar on stderr (only when it is a terminal).

use serde::Serialize;
use std::io::{IsTerminal, Write};

/// One logged optimizer step. Field order is the output order.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct StepMetrics {
    /// Optimizer steps completed (1-based).
    pub step: u64,
    /// Mean training loss of this step over the whole global batch.
    pub loss: f32,
    pub lr: f64,
    /// Gradient L2 norm before clipping.
    pub grad_norm: f64,
    pub samples_per_s: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens_per_s: Option<f64>,
    pub step_time_ms: f64,
    /// Resident memory of this process in MiB (host memory; GPU memory is not reported).
    pub mem_rss_mb: f64,
    pub world_size: usize,
}

/// Where metrics go.
pub struct MetricsSink {
    stdout: bool,
    progress: Option<ProgressBar>,
}

impl MetricsSink {
    /// `stdout`: print JSON lines; `progress`: draw a bar if stderr is a terminal.
    pub fn new(stdout: bool, progress: bool, total_steps: u64) -> Self {
        let progress = (progress && std::io::stderr().is_terminal()).then(|| ProgressBar {
            total: total_steps.max(1),
        });
        Self { stdout, progress }
    }

    pub fn log(&mut self, metrics: &StepMetrics) {
        if self.stdout {
            if let Ok(line) = serde_json::to_string(metrics) {
                let mut out = std::io::stdout().lock();
                // A closed stdout (e.g. `| head`) must not kill training.
                let _ = writeln!(out, "{line}");
                let _ = out.flush();
            }
        }
        if let Some(bar) = &self.progress {
            bar.draw(metrics.step, metrics.loss);
        }
    }

    pub fn finish(&mut self) {
        if self.progress.is_some() {
            eprintln!();
        }
    }
}

struct ProgressBar {
    total: u64,
}

impl ProgressBar {
    fn draw(&self, step: u64, loss: f32) {
        const WIDTH: u64 = 30;
        let filled = (step.min(self.total) * WIDTH / self.total) as usize;
        let bar = format!(
            "{}{}",
            "#".repeat(filled),
            " ".repeat(WIDTH as usize - filled)
        );
        eprint!("\r[{bar}] {step}/{} loss {loss:.4}", self.total);
        let _ = std::io::stderr().flush();
    }
}

/// Resident set size of this process in MiB (Linux `/proc/self/statm`; 0 elsewhere).
pub fn resident_memory_mb() -> f64 {
    let pages = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .unwrap_or(0);
    (pages * 4096) as f64 / (1024.0 * 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_serialise_with_required_fields_in_order() {
        let m = StepMetrics {
            step: 3,
            loss: 1.5,
            lr: 0.01,
            grad_norm: 2.0,
            samples_per_s: 100.0,
            tokens_per_s: None,
            step_time_ms: 10.0,
            mem_rss_mb: 5.0,
            world_size: 1,
        };
        let line = serde_json::to_string(&m).unwrap();
        assert!(
            line.starts_with(r#"{"step":3,"loss":1.5,"lr":0.01"#),
            "{line}"
        );
        assert!(!line.contains("tokens_per_s"));
        assert!(resident_memory_mb() > 0.0);
    }
}
