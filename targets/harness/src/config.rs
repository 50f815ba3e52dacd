//! The versioned `config.json` schema (version 1) and its validation.
//!
//! Parsing rejects unknown fields and wrong types (serde, with line/column); `validate` then
//! checks every cross-field rule and names the offending field in its error.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The only schema version this harness understands.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub schema_version: u32,
    #[serde(default = "default_name")]
    pub name: String,
    #[serde(default = "default_seed")]
    pub seed: u64,
    pub model: ModelConfig,
    #[serde(default)]
    pub data: DataConfig,
    pub optimizer: OptimizerConfig,
    #[serde(default)]
    pub schedule: ScheduleConfig,
    pub batch: BatchConfig,
    #[serde(default)]
    pub grad_clip_norm: Option<f64>,
    #[serde(default)]
    pub precision: Precision,
    #[serde(default)]
    pub device: DeviceKind,
    #[serde(default)]
    pub parallelism: Parallelism,
    #[serde(default)]
    pub checkpoint: CheckpointConfig,
    /// Where the trained model goes once every step is done; none when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<OutputConfig>,
    pub training: TrainingLimits,
    #[serde(default)]
    pub metrics: MetricsConfig,
}

fn default_name() -> String {
    "train".to_string()
}
fn default_seed() -> u64 {
    0
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ModelConfig {
    /// Multi-layer perceptron classifier on feature vectors.
    Mlp {
        input_dim: usize,
        hidden: Vec<usize>,
        num_classes: usize,
    },
    /// Decoder-only transformer language model (pre-norm, learned positions).
    Transformer {
        vocab_size: usize,
        seq_len: usize,
        layers: usize,
        hidden: usize,
        heads: usize,
        #[serde(default = "default_mlp_ratio")]
        mlp_ratio: usize,
    },
    /// Small CNN classifier on square images: conv3x3+ReLU+maxpool2 per entry of `conv_channels`.
    Cnn {
        image_size: usize,
        in_channels: usize,
        conv_channels: Vec<usize>,
        num_classes: usize,
    },
}

fn default_mlp_ratio() -> usize {
    4
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
#[serde(tag = "source", rename_all = "snake_case", deny_unknown_fields)]
pub enum DataConfig {
    /// Generated, learnable data; needs no files. `--synthetic` forces this.
    #[default]
    Synthetic,
    /// Real shards read from a mounted path.
    Files {
        format: DataFormat,
        /// A file, or a directory whose files of the format's extension are the shards (by name).
        path: PathBuf,
        #[serde(default)]
        sharding: Sharding,
        /// CSV only: index of the label column; negative counts from the end.
        #[serde(default = "default_label_column")]
        label_column: i64,
        /// CSV only: whether the first line is a header.
        #[serde(default = "default_true")]
        csv_header: bool,
        /// More datasets, read after `path`: their samples are concatenated with its
        /// into one epoch (a job that reads several datasets reads every one).
        #[serde(default)]
        also: Vec<DataSource>,
    },
}

/// One more dataset of `data.source = files`: a shard file or folder and its format.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DataSource {
    pub format: DataFormat,
    pub path: PathBuf,
}

fn default_label_column() -> i64 {
    -1
}
fn default_true() -> bool {
    true
}
fn default_replicas() -> usize {
    1
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DataFormat {
    Npy,
    Safetensors,
    Csv,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum Sharding {
    /// Every rank indexes the whole dataset and takes its slice of each global batch
    /// (same samples as a single-rank run).
    #[default]
    Batch,
    /// Rank r reads only shard files i with i % world_size == r (less memory and I/O).
    Files,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum OptimizerConfig {
    Adamw {
        lr: f64,
        #[serde(default = "default_beta1")]
        beta1: f64,
        #[serde(default = "default_beta2")]
        beta2: f64,
        #[serde(default = "default_eps")]
        eps: f64,
        #[serde(default = "default_weight_decay")]
        weight_decay: f64,
    },
    Sgd {
        lr: f64,
        #[serde(default)]
        momentum: f64,
        #[serde(default)]
        weight_decay: f64,
    },
}

fn default_beta1() -> f64 {
    0.9
}
fn default_beta2() -> f64 {
    0.999
}
fn default_eps() -> f64 {
    1e-8
}
fn default_weight_decay() -> f64 {
    0.01
}

impl OptimizerConfig {
    pub fn base_lr(&self) -> f64 {
        match self {
            OptimizerConfig::Adamw { lr, .. } | OptimizerConfig::Sgd { lr, .. } => *lr,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    #[serde(default)]
    pub warmup_steps: u64,
    #[serde(default)]
    pub decay: Decay,
    /// Cosine decays to `lr * min_lr_ratio` at the last step.
    #[serde(default)]
    pub min_lr_ratio: f64,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        Self {
            warmup_steps: 0,
            decay: Decay::Constant,
            min_lr_ratio: 0.0,
        }
    }
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum Decay {
    #[default]
    Constant,
    Cosine,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BatchConfig {
    /// Global samples (sequences for the LM) per optimizer step, over all ranks and accumulation steps.
    pub size: usize,
    #[serde(default = "default_one")]
    pub grad_accum_steps: usize,
}

fn default_one() -> usize {
    1
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    #[default]
    F32,
    Bf16,
    F16,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    /// CUDA when built with `cuda` and a GPU is present, else CPU.
    #[default]
    Auto,
    Cpu,
    Cuda,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Parallelism {
    #[default]
    None,
    /// Replicas with all-reduced gradients. On CUDA: one process per GPU, `world_size` from the
    /// `WORLD_SIZE` env var. On CPU: `world_size` in-process ranks.
    Data {
        #[serde(default)]
        world_size: Option<usize>,
    },
    /// GPipe: contiguous layer ranges on successive devices, each batch split into micro-batches.
    /// `replicas` > 1 runs that many copies of the whole pipeline data-parallel: each takes
    /// its slice of every global batch, and gradients are all-reduced as in `Data`.
    Pipeline {
        stages: usize,
        micro_batches: usize,
        #[serde(default)]
        boundaries: Option<Vec<usize>>,
        #[serde(default = "default_replicas")]
        replicas: usize,
    },
    /// Naive model parallelism: the same stages, one micro-batch (activations just move on).
    Model {
        stages: usize,
        #[serde(default)]
        boundaries: Option<Vec<usize>>,
    },
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CheckpointConfig {
    #[serde(default = "default_checkpoint_dir")]
    pub dir: PathBuf,
    /// 0 = only on SIGTERM and at the end.
    #[serde(default)]
    pub every_steps: u64,
    /// Seconds of training between checkpoints, on the clock; 0 = off. With `every_steps`,
    /// whichever comes first.
    #[serde(default)]
    pub every_seconds: u64,
    /// Newest complete checkpoints kept; older ones are removed after each save.
    #[serde(default = "default_keep")]
    pub keep: usize,
    #[serde(default = "default_true")]
    pub at_end: bool,
}

fn default_keep() -> usize {
    2
}

fn default_checkpoint_dir() -> PathBuf {
    PathBuf::from("checkpoints")
}

impl Default for CheckpointConfig {
    fn default() -> Self {
        Self {
            dir: default_checkpoint_dir(),
            every_steps: 0,
            every_seconds: 0,
            keep: default_keep(),
            at_end: true,
        }
    }
}

/// The trained model's folder: `model.safetensors` (the weights) and `model.json` (the
/// `model` section, to rebuild the network) are written there when training completes.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OutputConfig {
    pub dir: PathBuf,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TrainingLimits {
    #[serde(default)]
    pub max_steps: Option<u64>,
    /// Only meaningful for file data; converted to steps from the dataset size.
    #[serde(default)]
    pub max_epochs: Option<u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    #[serde(default = "default_one_u64")]
    pub log_every_steps: u64,
    #[serde(default = "default_true")]
    pub progress_bar: bool,
}

fn default_one_u64() -> u64 {
    1
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            log_every_steps: 1,
            progress_bar: true,
        }
    }
}

/// A configuration error naming the field at fault.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid config: {}: {}", self.field, self.message)
    }
}

impl std::error::Error for ConfigError {}

fn invalid(field: &str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        field: field.to_string(),
        message: message.into(),
    }
}

impl Config {
    /// Reads, parses and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| invalid("(file)", format!("cannot read {}: {e}", path.display())))?;
        Config::parse(&text)
    }

    /// Parses and validates config text.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let raw: serde_json::Value =
            serde_json::from_str(text).map_err(|e| invalid("(json)", e.to_string()))?;
        check_version(&raw)?;
        let config: Config =
            serde_json::from_value(raw).map_err(|e| invalid("(schema)", e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Cross-field checks that serde cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        validate_model(&self.model)?;
        validate_optimizer(&self.optimizer)?;
        validate_schedule(&self.schedule)?;
        validate_batch(&self.batch)?;
        if let Some(norm) = self.grad_clip_norm {
            positive("grad_clip_norm", norm)?;
        }
        validate_parallelism(&self.parallelism, &self.model, &self.batch)?;
        validate_limits(&self.training, &self.data)?;
        if self.metrics.log_every_steps == 0 {
            return Err(invalid("metrics.log_every_steps", "must be at least 1"));
        }
        if let DataConfig::Files { path, also, .. } = &self.data {
            if path.as_os_str().is_empty() {
                return Err(invalid("data.path", "must not be empty"));
            }
            if also.iter().any(|s| s.path.as_os_str().is_empty()) {
                return Err(invalid("data.also", "every path must be non-empty"));
            }
        }
        Ok(())
    }

    /// Data-parallel world size requested by the config (1 when not data-parallel): the
    /// ranks of `Data`, or the pipeline copies of `Pipeline`.
    pub fn configured_world_size(&self) -> usize {
        match self.parallelism {
            Parallelism::Data { world_size } => world_size.unwrap_or(1),
            Parallelism::Pipeline { replicas, .. } => replicas,
            _ => 1,
        }
    }

    /// Devices one data-parallel rank uses: its pipeline's stages, else one.
    pub fn devices_per_rank(&self) -> usize {
        match self.parallelism {
            Parallelism::Pipeline { stages, .. } | Parallelism::Model { stages, .. } => stages,
            _ => 1,
        }
    }
}

/// Checks `schema_version` before anything else so an old/new file gets a precise message.
fn check_version(raw: &serde_json::Value) -> Result<(), ConfigError> {
    let Some(obj) = raw.as_object() else {
        return Err(invalid("(root)", "must be a JSON object"));
    };
    match obj.get("schema_version").and_then(|v| v.as_u64()) {
        Some(v) if v == SCHEMA_VERSION as u64 => Ok(()),
        Some(v) => Err(invalid(
            "schema_version",
            format!("version {v} is not supported (this harness reads {SCHEMA_VERSION})"),
        )),
        None => Err(invalid(
            "schema_version",
            format!("missing or not an integer; expected {SCHEMA_VERSION}"),
        )),
    }
}

fn nonzero(field: &str, value: usize) -> Result<(), ConfigError> {
    if value == 0 {
        return Err(invalid(field, "must be at least 1"));
    }
    Ok(())
}

fn positive(field: &str, value: f64) -> Result<(), ConfigError> {
    if !(value.is_finite() && value > 0.0) {
        return Err(invalid(
            field,
            format!("must be a finite number > 0, got {value}"),
        ));
    }
    Ok(())
}

fn in_unit_interval(field: &str, value: f64) -> Result<(), ConfigError> {
    if !(0.0..1.0).contains(&value) {
        return Err(invalid(field, format!("must be in [0, 1), got {value}")));
    }
    Ok(())
}

fn non_negative(field: &str, value: f64) -> Result<(), ConfigError> {
    if !(value.is_finite() && value >= 0.0) {
        return Err(invalid(
            field,
            format!("must be a finite number >= 0, got {value}"),
        ));
    }
    Ok(())
}

fn validate_model(model: &ModelConfig) -> Result<(), ConfigError> {
    match model {
        ModelConfig::Mlp {
            input_dim,
            hidden,
            num_classes,
        } => {
            nonzero("model.input_dim", *input_dim)?;
            nonzero("model.num_classes", *num_classes)?;
            for (i, h) in hidden.iter().enumerate() {
                nonzero(&format!("model.hidden[{i}]"), *h)?;
            }
        }
        ModelConfig::Transformer {
            vocab_size,
            seq_len,
            layers,
            hidden,
            heads,
            mlp_ratio,
        } => {
            if *vocab_size < 2 {
                return Err(invalid("model.vocab_size", "must be at least 2"));
            }
            nonzero("model.seq_len", *seq_len)?;
            nonzero("model.layers", *layers)?;
            nonzero("model.hidden", *hidden)?;
            nonzero("model.heads", *heads)?;
            nonzero("model.mlp_ratio", *mlp_ratio)?;
            if hidden % heads != 0 {
                return Err(invalid(
                    "model.heads",
                    format!("{heads} does not divide model.hidden = {hidden}"),
                ));
            }
        }
        ModelConfig::Cnn {
            image_size,
            in_channels,
            conv_channels,
            num_classes,
        } => {
            nonzero("model.in_channels", *in_channels)?;
            nonzero("model.num_classes", *num_classes)?;
            if conv_channels.is_empty() {
                return Err(invalid("model.conv_channels", "needs at least one layer"));
            }
            for (i, c) in conv_channels.iter().enumerate() {
                nonzero(&format!("model.conv_channels[{i}]"), *c)?;
            }
            let min_size = 1usize << conv_channels.len();
            if *image_size < min_size {
                return Err(invalid(
                    "model.image_size",
                    format!(
                        "{image_size} is too small for {} 2x2 poolings (needs >= {min_size})",
                        conv_channels.len()
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn validate_optimizer(opt: &OptimizerConfig) -> Result<(), ConfigError> {
    match opt {
        OptimizerConfig::Adamw {
            lr,
            beta1,
            beta2,
            eps,
            weight_decay,
        } => {
            positive("optimizer.lr", *lr)?;
            in_unit_interval("optimizer.beta1", *beta1)?;
            in_unit_interval("optimizer.beta2", *beta2)?;
            positive("optimizer.eps", *eps)?;
            non_negative("optimizer.weight_decay", *weight_decay)?;
        }
        OptimizerConfig::Sgd {
            lr,
            momentum,
            weight_decay,
        } => {
            positive("optimizer.lr", *lr)?;
            in_unit_interval("optimizer.momentum", *momentum)?;
            non_negative("optimizer.weight_decay", *weight_decay)?;
        }
    }
    Ok(())
}

fn validate_schedule(schedule: &ScheduleConfig) -> Result<(), ConfigError> {
    if !(0.0..=1.0).contains(&schedule.min_lr_ratio) {
        return Err(invalid(
            "schedule.min_lr_ratio",
            format!("must be in [0, 1], got {}", schedule.min_lr_ratio),
        ));
    }
    Ok(())
}

fn validate_batch(batch: &BatchConfig) -> Result<(), ConfigError> {
    nonzero("batch.size", batch.size)?;
    nonzero("batch.grad_accum_steps", batch.grad_accum_steps)?;
    if !batch.size.is_multiple_of(batch.grad_accum_steps) {
        return Err(invalid(
            "batch.grad_accum_steps",
            format!(
                "{} does not divide batch.size = {}",
                batch.grad_accum_steps, batch.size
            ),
        ));
    }
    Ok(())
}

/// Number of pipeline "blocks" (the unit a stage boundary can fall on) of a model.
pub fn block_count(model: &ModelConfig) -> usize {
    match model {
        ModelConfig::Mlp { hidden, .. } => hidden.len() + 1,
        ModelConfig::Transformer { layers, .. } => layers + 2,
        ModelConfig::Cnn { conv_channels, .. } => conv_channels.len() + 1,
    }
}

fn validate_parallelism(
    par: &Parallelism,
    model: &ModelConfig,
    batch: &BatchConfig,
) -> Result<(), ConfigError> {
    let chunk = batch.size / batch.grad_accum_steps;
    match par {
        Parallelism::None => Ok(()),
        Parallelism::Data { world_size } => {
            let Some(world) = world_size else {
                return Ok(());
            };
            nonzero("parallelism.world_size", *world)?;
            if !chunk.is_multiple_of(*world) {
                return Err(invalid(
                    "parallelism.world_size",
                    format!("{world} does not divide the per-accumulation-step batch {chunk} (batch.size / batch.grad_accum_steps)"),
                ));
            }
            Ok(())
        }
        Parallelism::Pipeline {
            stages,
            micro_batches,
            boundaries,
            replicas,
        } => {
            nonzero("parallelism.replicas", *replicas)?;
            if !chunk.is_multiple_of(*replicas) {
                return Err(invalid(
                    "parallelism.replicas",
                    format!("{replicas} does not divide the per-accumulation-step batch {chunk} (batch.size / batch.grad_accum_steps)"),
                ));
            }
            let per_replica = chunk / replicas;
            nonzero("parallelism.micro_batches", *micro_batches)?;
            if !per_replica.is_multiple_of(*micro_batches) {
                return Err(invalid(
                    "parallelism.micro_batches",
                    format!(
                        "{micro_batches} does not divide the per-accumulation-step batch of one replica, {per_replica}"
                    ),
                ));
            }
            validate_stages(*stages, boundaries.as_deref(), block_count(model))
        }
        Parallelism::Model { stages, boundaries } => {
            validate_stages(*stages, boundaries.as_deref(), block_count(model))
        }
    }
}

fn validate_stages(
    stages: usize,
    boundaries: Option<&[usize]>,
    blocks: usize,
) -> Result<(), ConfigError> {
    nonzero("parallelism.stages", stages)?;
    if stages > blocks {
        return Err(invalid(
            "parallelism.stages",
            format!("{stages} stages but the model has only {blocks} blocks"),
        ));
    }
    let Some(bounds) = boundaries else {
        return Ok(());
    };
    if bounds.len() + 1 != stages {
        return Err(invalid(
            "parallelism.boundaries",
            format!(
                "needs stages - 1 = {} entries, got {}",
                stages - 1,
                bounds.len()
            ),
        ));
    }
    let mut previous = 0;
    for (i, &b) in bounds.iter().enumerate() {
        if b <= previous || b >= blocks {
            return Err(invalid(
                &format!("parallelism.boundaries[{i}]"),
                format!("{b} must be increasing and within 1..{blocks} (block indices)"),
            ));
        }
        previous = b;
    }
    Ok(())
}

fn validate_limits(limits: &TrainingLimits, data: &DataConfig) -> Result<(), ConfigError> {
    match (limits.max_steps, limits.max_epochs) {
        (None, None) => Err(invalid(
            "training",
            "set max_steps or max_epochs (or pass --max-steps)",
        )),
        (Some(0), _) => Err(invalid("training.max_steps", "must be at least 1")),
        (_, Some(0)) => Err(invalid("training.max_epochs", "must be at least 1")),
        (None, Some(_)) if matches!(data, DataConfig::Synthetic) => Err(invalid(
            "training.max_epochs",
            "synthetic data has no epochs; set training.max_steps",
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"{
        "schema_version": 1,
        "model": {"kind": "mlp", "input_dim": 4, "hidden": [8], "num_classes": 3},
        "optimizer": {"kind": "adamw", "lr": 0.01},
        "batch": {"size": 8},
        "training": {"max_steps": 5}
    }"#;

    fn with(patch: &str, value: serde_json::Value) -> String {
        let mut v: serde_json::Value = serde_json::from_str(MINIMAL).unwrap();
        let mut target = &mut v;
        let parts: Vec<&str> = patch.split('.').collect();
        for p in &parts[..parts.len() - 1] {
            target = target.get_mut(*p).unwrap();
        }
        target[parts[parts.len() - 1]] = value;
        v.to_string()
    }

    fn error_field(text: &str) -> String {
        Config::parse(text).unwrap_err().field
    }

    #[test]
    fn minimal_config_parses_with_defaults() {
        let c = Config::parse(MINIMAL).unwrap();
        assert_eq!(c.precision, Precision::F32);
        assert_eq!(c.parallelism, Parallelism::None);
        assert_eq!(c.data, DataConfig::Synthetic);
        assert_eq!(c.batch.grad_accum_steps, 1);
    }

    #[test]
    fn every_bad_field_is_named() {
        use serde_json::json;
        let cases = [
            ("schema_version", json!(2), "schema_version"),
            ("optimizer.lr", json!(-1.0), "optimizer.lr"),
            ("optimizer.beta1", json!(1.5), "optimizer.beta1"),
            ("batch.size", json!(0), "batch.size"),
            ("batch.grad_accum_steps", json!(3), "batch.grad_accum_steps"),
            ("grad_clip_norm", json!(0.0), "grad_clip_norm"),
            ("training.max_steps", json!(0), "training.max_steps"),
            ("model.num_classes", json!(0), "model.num_classes"),
            (
                "schedule",
                json!({"min_lr_ratio": 2.0}),
                "schedule.min_lr_ratio",
            ),
            (
                "metrics",
                json!({"log_every_steps": 0}),
                "metrics.log_every_steps",
            ),
            (
                "parallelism",
                json!({"kind": "data", "world_size": 3}),
                "parallelism.world_size",
            ),
            (
                "parallelism",
                json!({"kind": "pipeline", "stages": 5, "micro_batches": 2}),
                "parallelism.stages",
            ),
            (
                "parallelism",
                json!({"kind": "pipeline", "stages": 2, "micro_batches": 3}),
                "parallelism.micro_batches",
            ),
            (
                "parallelism",
                json!({"kind": "pipeline", "stages": 2, "micro_batches": 1, "replicas": 0}),
                "parallelism.replicas",
            ),
            (
                "parallelism",
                json!({"kind": "pipeline", "stages": 2, "micro_batches": 1, "replicas": 3}),
                "parallelism.replicas",
            ),
            (
                "parallelism",
                json!({"kind": "model", "stages": 2, "boundaries": [2]}),
                "parallelism.boundaries[0]",
            ),
        ];
        for (path, value, field) in cases {
            assert_eq!(error_field(&with(path, value)), field, "{path}");
        }
    }

    #[test]
    fn transformer_heads_must_divide_hidden() {
        let text = with(
            "model",
            serde_json::json!({"kind": "transformer", "vocab_size": 16, "seq_len": 8,
                "layers": 1, "hidden": 10, "heads": 3}),
        );
        assert_eq!(error_field(&text), "model.heads");
    }

    #[test]
    fn unknown_fields_and_kinds_are_rejected_with_position() {
        let err = Config::parse(&with("optimizer.lrr", serde_json::json!(1))).unwrap_err();
        assert_eq!(err.field, "(schema)");
        assert!(err.message.contains("lrr"), "{}", err.message);
        let err = Config::parse(&with("model.kind", serde_json::json!("rnn"))).unwrap_err();
        assert!(err.message.contains("rnn"), "{}", err.message);
        assert_eq!(error_field("[1]"), "(root)");
        assert_eq!(error_field("{"), "(json)");
    }
}
