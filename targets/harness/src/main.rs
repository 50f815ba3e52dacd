//! `mlc-harness --config config.json [--max-steps N] [--synthetic] [--checkpoint-dir DIR] [--resume]`

use clap::Parser;
use mlc_harness::{apply_thread_defaults, train, Config, RunOptions};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Train a model from an mlc harness config (JSON-lines metrics on stdout).
#[derive(Parser, Debug)]
#[command(name = "mlc-harness", version)]
struct Cli {
    /// Path to config.json (schema_version 1).
    #[arg(long)]
    config: PathBuf,
    /// Override training.max_steps.
    #[arg(long)]
    max_steps: Option<u64>,
    /// Train on generated data instead of the configured files.
    #[arg(long)]
    synthetic: bool,
    /// Override checkpoint.dir.
    #[arg(long)]
    checkpoint_dir: Option<PathBuf>,
    /// Continue from the latest checkpoint in the checkpoint dir (fresh start if none).
    #[arg(long)]
    resume: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    apply_thread_defaults();
    let config = match Config::load(&cli.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {}: {e}", cli.config.display());
            return ExitCode::from(2);
        }
    };
    if cli.max_steps == Some(0) {
        eprintln!("error: --max-steps must be at least 1");
        return ExitCode::from(2);
    }
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        if let Err(e) = signal_hook::flag::register(signal, stop.clone()) {
            eprintln!("error: cannot install signal handler: {e}");
            return ExitCode::FAILURE;
        }
    }
    let opts = RunOptions {
        max_steps: cli.max_steps,
        synthetic: cli.synthetic,
        checkpoint_dir: cli.checkpoint_dir,
        resume: cli.resume,
        stop,
        print_metrics: true,
        stop_after_step: None,
    };
    match train(&config, &opts) {
        Ok(report) => {
            if let Some(weights) = &report.model_output {
                eprintln!("trained model written to {}", weights.display());
            }
            if report.stopped_by_signal {
                let at = report.last_checkpoint.map(|p| p.display().to_string());
                eprintln!(
                    "stopped by signal after step {}; checkpoint {}",
                    report.steps_done,
                    at.unwrap_or_else(|| "(none)".into())
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
