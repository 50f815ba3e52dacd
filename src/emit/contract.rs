//! What a training job's harness (target `harness`) and the Kubernetes Job that runs it
//! (target `kubernetes`) must agree on: where the config, the data, the checkpoints and
//! the trained model are, which image runs, and how many processes drive which GPUs. Both targets take
//! these from here, so they cannot drift apart (tests/build_consistency.rs checks the
//! generated files).

use super::names::dns_label;
use super::EmitError;
use crate::check::model::{Parallelism, Train};

/// Where the image puts the job's `config.json` (the Dockerfile copies it there).
pub const CONFIG_PATH: &str = "/app/config.json";
/// Where datasets are mounted in the container, one folder per dataset.
pub const DATA_ROOT: &str = "/data";
/// Where trained models are mounted, one folder per training job: the job writes its
/// model there (the harness's `output.dir`) and services, batch jobs and functions that
/// use `train.<job>` read it there.
pub const MODEL_ROOT: &str = "/models";
/// The trained weights in a model folder (the harness writes them, then `MODEL_DESCRIPTION`).
pub const MODEL_WEIGHTS: &str = "model.safetensors";
/// The model's architecture (the config's `model` section) beside its weights.
pub const MODEL_DESCRIPTION: &str = "model.json";
/// Where images mlc names but does not know live until the user points kustomize at a
/// registry (`kustomize edit set image`).
pub const PLACEHOLDER_REGISTRY: &str = "mlc.local";

/// The folder a dataset is mounted at: `/data/<dataset as a DNS label>`.
pub fn dataset_mount(dataset: &str) -> String {
    format!("{DATA_ROOT}/{}", dns_label(dataset, 63))
}

/// The folder of a training job's trained model: `/models/<train as a DNS label>`.
pub fn model_dir(train: &str) -> String {
    format!("{MODEL_ROOT}/{}", dns_label(train, 63))
}

/// The folder of a training job's checkpoints: `checkpoints/` in its model folder, so on
/// the bucket-backed volume its model is written to (object storage, priced by the plan;
/// the harness writes each file once and never renames, which the buckets' FUSE drivers
/// need).
pub fn checkpoint_dir(train: &str) -> String {
    format!("{}/checkpoints", model_dir(train))
}

/// The trained weights of a training job, where its readers find them (`MODEL_URI`).
pub fn model_weights(train: &str) -> String {
    format!("{}/{MODEL_WEIGHTS}", model_dir(train))
}

/// The image of a training job's harness, built from `DIR/harness/<train>/`:
/// `(mlc.local/mlc-harness-<train>, <mlc version>-<hash of the job's settings>)`, so a
/// changed job gets a new tag and an unchanged one keeps it.
pub fn harness_image(train: &Train) -> (String, String) {
    let name = format!(
        "{PLACEHOLDER_REGISTRY}/mlc-harness-{}",
        dns_label(&train.name, 50)
    );
    (name, settings_tag(train))
}

/// `<mlc version>-<12 hex digits>`: FNV-1a of the job's settings as JSON (without its
/// source position, so moving the block in the file keeps the tag).
fn settings_tag(train: &Train) -> String {
    let mut value = serde_json::to_value(train).unwrap_or_default();
    if let Some(map) = value.as_object_mut() {
        map.remove("span");
        if let Some(d) = map.get_mut("deidentified").and_then(|d| d.as_object_mut()) {
            d.remove("span");
        }
    }
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in value.to_string().bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{}-{:012x}", env!("CARGO_PKG_VERSION"), hash >> 16)
}

/// How a job's processes are laid out, as the harness runtime expects them
/// (targets/harness/src/train.rs): a data-parallel rank is one process on one GPU; a
/// pipeline replica is one process driving `stages` consecutive GPUs of its node
/// (`LOCAL_RANK x stages` onwards); a model-parallel job is one process over all its
/// shards, which reads no rank environment at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ranks {
    /// Pods (nodes) of the Indexed Job.
    pub nodes: u64,
    /// Harness processes a pod starts at most (`LOCAL_RANK` 0..); the last pod starts
    /// fewer when `world_size` does not fill it.
    pub per_node: u64,
    /// `WORLD_SIZE`: data-parallel ranks over all pods (GPUs for `data`, replicas for
    /// `pipeline`, 1 for `model`).
    pub world_size: u64,
}

/// The rank layout of a training job on `train.nodes` nodes of `train.accelerator.count`
/// GPUs, or why the harness cannot run it there.
pub fn ranks(train: &Train) -> Result<Ranks, EmitError> {
    let per_node_gpus = train.accelerator.count.max(1);
    let unsupported = |why: String| EmitError::Unsupported {
        target: "harness",
        subject: format!("train.{}", train.name),
        why,
    };
    let ranks = match &train.parallelism {
        Parallelism::Data { gpus } => Ranks {
            nodes: train.nodes.max(1),
            per_node: per_node_gpus,
            world_size: (*gpus).clamp(1, train.nodes.max(1) * per_node_gpus),
        },
        Parallelism::Pipeline {
            stages, replicas, ..
        } => {
            let stages = (*stages).max(1);
            if !per_node_gpus.is_multiple_of(stages) {
                return Err(unsupported(format!(
                    "a pipeline replica runs its {stages} stages in one process on one node, so the stages must divide the {per_node_gpus} GPUs of a node; choose `stages` that divide `accelerator`'s count"
                )));
            }
            let per_node = per_node_gpus / stages;
            let replicas = (*replicas).max(1);
            Ranks {
                nodes: replicas.div_ceil(per_node),
                per_node,
                world_size: replicas,
            }
        }
        Parallelism::Model { shards } => {
            if *shards > per_node_gpus {
                return Err(unsupported(format!(
                    "model parallelism runs its {shards} shards in one process on one node, which has {per_node_gpus} GPUs; use `pipeline {{ stages, replicas }}` to span nodes"
                )));
            }
            Ranks {
                nodes: 1,
                per_node: 1,
                world_size: 1,
            }
        }
    };
    Ok(ranks)
}
