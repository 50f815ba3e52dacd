//! End-to-end training tests on CPU: every example config learns, data parallelism and the
//! pipeline match single-device training, and resuming continues the same loss curve.

use mlc_harness::config::{Config, Parallelism};
use mlc_harness::{train, RunOptions, TrainReport};
use std::path::{Path, PathBuf};

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mlc-harness-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn options(steps: u64, checkpoints: &Path) -> RunOptions {
    RunOptions {
        max_steps: Some(steps),
        synthetic: true,
        checkpoint_dir: Some(checkpoints.to_path_buf()),
        ..RunOptions::default()
    }
}

fn losses(report: &TrainReport) -> Vec<f32> {
    report.metrics.iter().map(|m| m.loss).collect()
}

fn mean(xs: &[f32]) -> f32 {
    xs.iter().sum::<f32>() / xs.len() as f32
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn every_example_config_trains_with_falling_loss() {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(examples_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 6, "examples missing: {paths:?}");
    for path in paths {
        let config = Config::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let dir = temp_dir("example");
        let report = train(&config, &options(50, &dir)).unwrap();
        let l = losses(&report);
        assert_eq!(l.len(), 50);
        let (first, last) = (mean(&l[..5]), mean(&l[45..]));
        eprintln!("{}: loss {first:.4} -> {last:.4}", path.display());
        assert!(
            l.iter().all(|x| x.is_finite()),
            "{}: non-finite loss",
            path.display()
        );
        assert!(
            last < 0.8 * first,
            "{}: loss {first} -> {last}",
            path.display()
        );
        assert!(
            mlc_harness::checkpoint::latest(&dir).unwrap().is_some(),
            "{}: no final checkpoint",
            path.display()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

fn small_mlp(parallelism: &str, accum: usize) -> Config {
    Config::parse(&format!(
        r#"{{
        "schema_version": 1, "seed": 11,
        "model": {{"kind": "mlp", "input_dim": 12, "hidden": [32, 16], "num_classes": 5}},
        "optimizer": {{"kind": "adamw", "lr": 0.01}},
        "schedule": {{"warmup_steps": 3, "decay": "cosine"}},
        "batch": {{"size": 48, "grad_accum_steps": {accum}}},
        "grad_clip_norm": 5.0,
        "parallelism": {parallelism},
        "checkpoint": {{"at_end": false}},
        "training": {{"max_steps": 20}}
    }}"#
    ))
    .unwrap()
}

/// N in-process CPU ranks on N shards of each batch = one rank on the whole batch.
#[test]
fn data_parallel_ranks_match_single_rank() {
    let dir = temp_dir("dp");
    let single = train(&small_mlp(r#"{"kind": "none"}"#, 1), &options(20, &dir)).unwrap();
    for world in [2, 4] {
        let config = small_mlp(&format!(r#"{{"kind": "data", "world_size": {world}}}"#), 1);
        assert_eq!(config.configured_world_size(), world);
        let dp = train(&config, &options(20, &dir)).unwrap();
        let diff = max_abs_diff(&single.final_params, &dp.final_params);
        assert!(diff < 1e-5, "world {world}: weights differ by {diff}");
        assert!(max_abs_diff(&losses(&single), &losses(&dp)) < 1e-5);
        assert!(dp.metrics.iter().all(|m| m.world_size == world));
    }
    let accumulated = train(
        &small_mlp(r#"{"kind": "data", "world_size": 2}"#, 3),
        &options(20, &dir),
    )
    .unwrap();
    let diff = max_abs_diff(&single.final_params, &accumulated.final_params);
    assert!(diff < 1e-5, "accumulation + DP: weights differ by {diff}");
}

/// Pipeline (GPipe), data-parallel replicas of a pipeline, and model parallel training
/// follow the single-device run.
#[test]
fn pipeline_and_model_parallel_training_match_single_device() {
    let dir = temp_dir("pp");
    let single = train(&small_mlp(r#"{"kind": "none"}"#, 1), &options(20, &dir)).unwrap();
    for parallelism in [
        r#"{"kind": "pipeline", "stages": 3, "micro_batches": 4}"#,
        r#"{"kind": "pipeline", "stages": 3, "micro_batches": 4, "replicas": 2}"#,
        r#"{"kind": "model", "stages": 2, "boundaries": [2]}"#,
    ] {
        let config = small_mlp(parallelism, 2);
        assert!(!matches!(config.parallelism, Parallelism::None));
        let staged = train(&config, &options(20, &dir)).unwrap();
        let diff = max_abs_diff(&single.final_params, &staged.final_params);
        assert!(diff < 1e-5, "{parallelism}: weights differ by {diff}");
        let world = config.configured_world_size();
        assert!(staged.metrics.iter().all(|m| m.world_size == world));
    }
}

fn tiny_lm() -> Config {
    Config::parse(
        r#"{
        "schema_version": 1, "seed": 3,
        "model": {"kind": "transformer", "vocab_size": 32, "seq_len": 8, "layers": 1, "hidden": 16, "heads": 2},
        "optimizer": {"kind": "adamw", "lr": 0.01},
        "schedule": {"warmup_steps": 4, "decay": "cosine", "min_lr_ratio": 0.1},
        "batch": {"size": 8},
        "grad_clip_norm": 1.0,
        "training": {"max_steps": 30}
    }"#,
    )
    .unwrap()
}

/// A stop request (SIGTERM) checkpoints; resuming gives the uninterrupted loss curve.
#[test]
fn resume_after_stop_continues_the_same_curve() {
    for config in [
        tiny_lm(),
        small_mlp(r#"{"kind": "data", "world_size": 2}"#, 1),
    ] {
        let straight_dir = temp_dir("straight");
        let straight = train(&config, &options(30, &straight_dir)).unwrap();

        let dir = temp_dir("resume");
        let mut first = options(30, &dir);
        first.stop_after_step = Some(12);
        let stopped = train(&config, &first).unwrap();
        assert!(stopped.stopped_by_signal);
        assert_eq!(stopped.steps_done, 12);
        assert!(stopped.last_checkpoint.is_some());

        let mut second = options(30, &dir);
        second.resume = true;
        let resumed = train(&config, &second).unwrap();
        assert_eq!(resumed.steps_done, 30);
        assert_eq!(resumed.metrics.first().map(|m| m.step), Some(13));

        let mut curve = losses(&stopped);
        curve.extend(losses(&resumed));
        let diff = max_abs_diff(&losses(&straight), &curve);
        assert!(diff < 1e-6, "loss curves differ by {diff}");
        assert!(max_abs_diff(&straight.final_params, &resumed.final_params) < 1e-6);
        std::fs::remove_dir_all(&dir).unwrap();
        let _ = std::fs::remove_dir_all(&straight_dir);
    }
}

/// The trained model reaches `output.dir` only when every step is done: a preempted run
/// leaves nothing there, and its resumed completion writes the final weights.
#[test]
fn a_completed_run_writes_its_model_to_the_output_folder() {
    let dir = temp_dir("output-ckpt");
    let out = temp_dir("output-model");
    let mut config = small_mlp(r#"{"kind": "data", "world_size": 2}"#, 1);
    config.output = Some(mlc_harness::config::OutputConfig { dir: out.clone() });

    let mut first = options(20, &dir);
    first.stop_after_step = Some(7);
    let stopped = train(&config, &first).unwrap();
    assert!(stopped.stopped_by_signal);
    assert_eq!(stopped.model_output, None);
    assert!(!out.exists(), "a stopped run wrote a model");

    let mut second = options(20, &dir);
    second.resume = true;
    let done = train(&config, &second).unwrap();
    let weights = done
        .model_output
        .clone()
        .expect("the completed run wrote its model");
    assert_eq!(weights, out.join("model.safetensors"));
    let tensors = candle_core::safetensors::load(&weights, &candle_core::Device::Cpu).unwrap();
    let mut names: Vec<&String> = tensors.keys().collect();
    names.sort();
    let flat: Vec<f32> = names
        .iter()
        .flat_map(|n| tensors[*n].flatten_all().unwrap().to_vec1::<f32>().unwrap())
        .collect();
    assert_eq!(
        flat, done.final_params,
        "the exported weights are the final ones"
    );
    let description: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("model.json")).unwrap()).unwrap();
    assert_eq!(description["model"]["kind"], "mlp");
    // The finished run left no checkpoints, so the next scheduled run trains anew from
    // step 1 (resuming would find the last step done and train nothing).
    assert!(mlc_harness::checkpoint::latest(&dir).unwrap().is_none());
    let rerun = train(&config, &second).unwrap();
    assert_eq!(rerun.metrics.first().map(|m| m.step), Some(1));
    assert_eq!(rerun.metrics.len(), 20);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::remove_dir_all(&out).unwrap();
}

/// Real shards from a mounted path: `.npy` tokens for the LM and CSV rows for the MLP.
#[test]
fn trains_from_npy_tokens_and_csv_rows() {
    use candle_core::{Device, Tensor};
    let dir = temp_dir("files");
    std::fs::create_dir_all(&dir).unwrap();
    let tokens: Vec<u32> = (0..4000u32).map(|i| (i * 3 + i / 97) % 32).collect();
    for (i, part) in tokens.chunks(1000).enumerate() {
        let t = Tensor::from_slice(part, part.len(), &Device::Cpu).unwrap();
        t.write_npy(dir.join(format!("tokens-{i}.npy"))).unwrap();
    }
    let mut csv = String::from("a,b,c,label\n");
    for i in 0..200 {
        let class = i % 3;
        csv.push_str(&format!(
            "{},{},{},{class}\n",
            class as f32 + (i % 7) as f32 * 0.1,
            -(class as f32),
            (i % 5) as f32 * 0.2
        ));
    }
    std::fs::write(dir.join("rows.csv"), csv).unwrap();

    let lm = tiny_lm();
    let lm_files = Config::parse(
        &serde_json::to_string(&serde_json::json!({
            "schema_version": 1, "seed": 3,
            "model": serde_json::to_value(&lm.model).unwrap(),
            "data": {"source": "files", "format": "npy", "path": dir, "sharding": "files"},
            "optimizer": {"kind": "adamw", "lr": 0.01},
            "batch": {"size": 8},
            "parallelism": {"kind": "data", "world_size": 2},
            "training": {"max_epochs": 2}
        }))
        .unwrap(),
    )
    .unwrap();
    let mlp_csv = Config::parse(
        &serde_json::to_string(&serde_json::json!({
            "schema_version": 1,
            "model": {"kind": "mlp", "input_dim": 3, "hidden": [16], "num_classes": 3},
            "data": {"source": "files", "format": "csv", "path": dir.join("rows.csv")},
            "optimizer": {"kind": "sgd", "lr": 0.1, "momentum": 0.9},
            "batch": {"size": 20},
            "training": {"max_epochs": 6}
        }))
        .unwrap(),
    )
    .unwrap();
    for (config, steps) in [(lm_files, 125), (mlp_csv, 60)] {
        let mut opts = options(1, &dir.join("ckpt"));
        opts.max_steps = None;
        opts.synthetic = false;
        let report = train(&config, &opts).unwrap();
        let l = losses(&report);
        assert_eq!(report.steps_done, steps as u64);
        assert!(mean(&l[l.len() - 3..]) < 0.7 * mean(&l[..3]), "{l:?}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A rank that fails (here: no shard file for rank 1) must fail the run, not hang the others.
#[test]
fn a_failing_rank_fails_the_run_instead_of_hanging() {
    let dir = temp_dir("rankfail");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("only.csv"), "1,2,0\n3,4,1\n").unwrap();
    let config = Config::parse(&serde_json::to_string(&serde_json::json!({
        "schema_version": 1,
        "model": {"kind": "mlp", "input_dim": 2, "hidden": [4], "num_classes": 2},
        "data": {"source": "files", "format": "csv", "path": dir, "sharding": "files", "csv_header": false},
        "optimizer": {"kind": "sgd", "lr": 0.1},
        "batch": {"size": 2},
        "parallelism": {"kind": "data", "world_size": 2},
        "training": {"max_epochs": 1}
    })).unwrap()).unwrap();
    let mut opts = options(1, &dir.join("ckpt"));
    opts.max_steps = None;
    opts.synthetic = false;
    let err = train(&config, &opts).unwrap_err().to_string();
    assert!(err.contains("rank 1 of 2 has no shard"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
