//! Checkpoints: model and optimizer state in safetensors, progress in JSON.
//!
//! Layout: `<dir>/step-00000042-<n>/{model.safetensors, optimizer.safetensors, state.json}`,
//! where `<n>` tells apart two writes of one step (a rerun after a crash mid-write). The
//! folder is usually an object store mounted by a CSI driver (Mountpoint for S3 cannot
//! rename, and an object appears only when it is closed), so each file is written once,
//! front to back, under its final name, and `state.json` last: a checkpoint is complete
//! when its `state.json` reads back, and resume takes the newest complete one. A preempted
//! write leaves a folder without it, which resume skips and the next save removes.

use crate::optim::Optimizer;
use crate::params::{tensor_to_host_f32, ParamStore};
use candle_core::{Device, Result, Tensor};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Version of the checkpoint files.
pub const CHECKPOINT_VERSION: u32 = 1;

/// Progress saved next to the tensors.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TrainState {
    pub checkpoint_version: u32,
    /// Optimizer steps completed; training resumes at this step.
    pub step: u64,
    /// Global samples consumed (the data position; batches are addressed by it).
    pub samples_seen: u64,
    /// Optimizer updates applied (bias-correction counter).
    pub optimizer_steps: u64,
    /// The model section of the config, to refuse resuming into a different model.
    pub model: serde_json::Value,
    pub param_names: Vec<String>,
}

fn io_error(path: &Path, e: std::io::Error) -> candle_core::Error {
    candle_core::Error::Msg(format!("{}: {e}", path.display()))
}

/// A checkpoint folder's `(step, write)` from its name `step-00000042-3`; the older
/// layout's `step-00000042` is write 0.
fn folder_key(name: &str) -> Option<(u64, u64)> {
    let rest = name.strip_prefix("step-")?;
    let (step, write) = rest.split_once('-').unwrap_or((rest, "0"));
    Some((step.parse().ok()?, write.parse().ok()?))
}

/// A checkpoint folder: its `(step, write)`, path, whether its `state.json` reads back,
/// and whether it has one at all (a write cut short before it has none; one that does
/// not read back may be a passing read error, and is left alone).
struct Folder {
    key: (u64, u64),
    path: PathBuf,
    complete: bool,
    interrupted: bool,
}

/// The checkpoint folders under `dir`, newest first.
fn folders(dir: &Path) -> Result<Vec<Folder>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error(dir, e)),
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| io_error(dir, e))?;
        let name = entry.file_name();
        let Some(key) = name.to_str().and_then(folder_key) else {
            continue;
        };
        let path = entry.path();
        let complete = read_state(&path).is_ok();
        let interrupted = !path.join("state.json").exists();
        found.push(Folder {
            key,
            path,
            complete,
            interrupted,
        });
    }
    found.sort_by_key(|f| std::cmp::Reverse(f.key));
    Ok(found)
}

fn read_state(folder: &Path) -> Result<TrainState> {
    let state_path = folder.join("state.json");
    let text = std::fs::read_to_string(&state_path).map_err(|e| io_error(&state_path, e))?;
    serde_json::from_str(&text)
        .map_err(|e| candle_core::Error::Msg(format!("{}: {e}", state_path.display())))
}

/// Writes a checkpoint for `state.step`, then keeps it and the `keep - 1` newest other
/// complete checkpoints and removes the rest and every interrupted write (one job writes,
/// and it resumed before them); returns its folder.
pub fn save(
    dir: &Path,
    params: &ParamStore,
    optimizer: &Optimizer,
    state: &TrainState,
    keep: usize,
) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    let existing = folders(dir)?;
    let write = existing
        .iter()
        .filter(|f| f.key.0 == state.step)
        .map(|f| f.key.1 + 1)
        .max()
        .unwrap_or(0);
    let folder = dir.join(format!("step-{:08}-{write}", state.step));
    std::fs::create_dir_all(&folder).map_err(|e| io_error(&folder, e))?;

    let model: HashMap<String, Tensor> = params
        .params
        .iter()
        .map(|p| Ok((p.name.clone(), host_copy(p.var.as_tensor())?)))
        .collect::<Result<_>>()?;
    candle_core::safetensors::save(&model, folder.join("model.safetensors"))?;
    let mut moments = HashMap::new();
    for (p, (m, v)) in params.params.iter().zip(optimizer.moments(params)?) {
        moments.insert(
            format!("m.{}", p.name),
            Tensor::from_vec(m, p.var.shape(), &Device::Cpu)?,
        );
        moments.insert(
            format!("v.{}", p.name),
            Tensor::from_vec(v, p.var.shape(), &Device::Cpu)?,
        );
    }
    candle_core::safetensors::save(&moments, folder.join("optimizer.safetensors"))?;
    let json =
        serde_json::to_string_pretty(state).map_err(|e| candle_core::Error::Msg(e.to_string()))?;
    let state_path = folder.join("state.json");
    std::fs::write(&state_path, json).map_err(|e| io_error(&state_path, e))?;
    prune(dir, &folder, keep.max(1));
    Ok(folder)
}

/// Removes complete checkpoints beyond the newest `keep` (the one just written, `newest`,
/// first, whatever its step) and interrupted writes. A failure only warns: the
/// checkpoint just written is what matters.
fn prune(dir: &Path, newest: &Path, keep: usize) {
    let Ok(found) = folders(dir) else { return };
    let mut kept = 1;
    for folder in found.iter().filter(|f| f.path != newest) {
        let remove = if folder.complete {
            kept += 1;
            kept > keep
        } else {
            folder.interrupted
        };
        if remove {
            remove_folder(&folder.path);
        }
    }
}

/// Removes every checkpoint under `dir`: the run they belong to has finished.
pub fn clear(dir: &Path) {
    if let Ok(found) = folders(dir) {
        for folder in found {
            remove_folder(&folder.path);
        }
    }
}

fn remove_folder(path: &Path) {
    if let Err(e) = std::fs::remove_dir_all(path) {
        eprintln!("checkpoint: cannot remove {}: {e}", path.display());
    }
}

/// The trained model's weights file and its description in an output folder.
pub const MODEL_WEIGHTS: &str = "model.safetensors";
pub const MODEL_DESCRIPTION: &str = "model.json";

/// Writes the trained weights and the `model` section of the config into `dir`; returns the
/// weights file. Each file is written once, front to back, under its final name: the folder
/// is usually an object store mounted by a CSI driver (Mountpoint for S3 cannot rename),
/// where an object appears only when it is closed, so a reader never sees half a file.
/// The weights come first: `model.json` appearing means the weights beside it are complete.
pub fn export(dir: &Path, params: &ParamStore, model: &serde_json::Value) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    let tensors: HashMap<String, Tensor> = params
        .params
        .iter()
        .map(|p| Ok((p.name.clone(), host_copy(p.var.as_tensor())?)))
        .collect::<Result<_>>()?;
    let weights = dir.join(MODEL_WEIGHTS);
    candle_core::safetensors::save(&tensors, &weights)?;
    let description = dir.join(MODEL_DESCRIPTION);
    let json = serde_json::to_string_pretty(&serde_json::json!({
        "model": model,
        "param_names": params.names(),
    }))
    .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
    std::fs::write(&description, json).map_err(|e| io_error(&description, e))?;
    Ok(weights)
}

fn host_copy(t: &Tensor) -> Result<Tensor> {
    Tensor::from_vec(tensor_to_host_f32(t)?, t.shape(), &Device::Cpu)
}

/// The newest complete checkpoint under `dir`, if any.
pub fn latest(dir: &Path) -> Result<Option<PathBuf>> {
    Ok(folders(dir)?
        .into_iter()
        .find(|f| f.complete)
        .map(|f| f.path))
}

/// Loads a checkpoint into `params` and `optimizer`; returns the saved progress.
pub fn load(
    folder: &Path,
    params: &ParamStore,
    optimizer: &mut Optimizer,
    model_config: &serde_json::Value,
) -> Result<TrainState> {
    let state = read_state(folder)?;
    if state.checkpoint_version != CHECKPOINT_VERSION {
        candle_core::bail!(
            "checkpoint version {} is not supported",
            state.checkpoint_version
        );
    }
    if &state.model != model_config {
        candle_core::bail!(
            "checkpoint {} was written for a different model config",
            folder.display()
        );
    }
    let model = candle_core::safetensors::load(folder.join("model.safetensors"), &Device::Cpu)?;
    let moments =
        candle_core::safetensors::load(folder.join("optimizer.safetensors"), &Device::Cpu)?;
    let mut restored = Vec::new();
    for p in &params.params {
        let get = |key: &str| {
            model
                .get(key)
                .or_else(|| moments.get(key))
                .ok_or_else(|| candle_core::Error::Msg(format!("checkpoint lacks tensor `{key}`")))
        };
        let value = get(&p.name)?;
        if value.dims() != p.var.dims() {
            candle_core::bail!(
                "checkpoint tensor `{}` has shape {:?}, model has {:?}",
                p.name,
                value.dims(),
                p.var.dims()
            );
        }
        p.var.set(&value.to_device(p.var.device())?)?;
        let m = tensor_to_host_f32(get(&format!("m.{}", p.name))?)?;
        let v = tensor_to_host_f32(get(&format!("v.{}", p.name))?)?;
        restored.push((m, v));
    }
    optimizer.restore(params, restored, state.optimizer_steps)?;
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::OptimizerConfig;
    use crate::optim::Gradients;
    use crate::params::{Init, ParamBuilder};

    #[test]
    fn round_trip_restores_params_moments_and_step() {
        let dir = std::env::temp_dir().join(format!("mlc-harness-ckpt-{}", std::process::id()));
        let build = |seed| {
            let mut b = ParamBuilder::new(seed, Device::Cpu);
            b.param("w", &[3, 2], Init::Normal(1.0)).unwrap();
            b.finish()
        };
        let config = OptimizerConfig::Adamw {
            lr: 0.1,
            beta1: 0.9,
            beta2: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
        };
        let params = build(1);
        let mut opt = Optimizer::new(&config, &params).unwrap();
        opt.step(&params, &Gradients::Host(vec![1.0; 6]), 0.1)
            .unwrap();
        let state = TrainState {
            checkpoint_version: CHECKPOINT_VERSION,
            step: 7,
            samples_seen: 70,
            optimizer_steps: opt.steps_done,
            model: serde_json::json!({"kind": "x"}),
            param_names: params.names(),
        };
        save(&dir, &params, &opt, &state, 2).unwrap();

        let other = build(2);
        let mut other_opt = Optimizer::new(&config, &other).unwrap();
        let folder = latest(&dir).unwrap().unwrap();
        let loaded = load(&folder, &other, &mut other_opt, &state.model).unwrap();
        assert_eq!(loaded, state);
        assert_eq!(
            other.to_flat_host().unwrap(),
            params.to_flat_host().unwrap()
        );
        assert_eq!(
            other_opt.moments(&other).unwrap(),
            opt.moments(&params).unwrap()
        );
        let wrong = load(
            &folder,
            &other,
            &mut other_opt,
            &serde_json::json!({"kind": "y"}),
        );
        assert!(wrong.is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// No rename and no file written twice: a write cut short is skipped by resume and
    /// removed by the next save, and only the newest `keep` complete checkpoints stay.
    #[test]
    fn an_incomplete_write_is_skipped_and_old_checkpoints_are_pruned() {
        let dir = std::env::temp_dir().join(format!("mlc-harness-prune-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut b = ParamBuilder::new(1, Device::Cpu);
        b.param("w", &[2], Init::Normal(1.0)).unwrap();
        let params = b.finish();
        let config = OptimizerConfig::Sgd {
            lr: 0.1,
            momentum: 0.0,
            weight_decay: 0.0,
        };
        let opt = Optimizer::new(&config, &params).unwrap();
        let state = |step| TrainState {
            checkpoint_version: CHECKPOINT_VERSION,
            step,
            samples_seen: step,
            optimizer_steps: step,
            model: serde_json::json!({}),
            param_names: params.names(),
        };
        for step in [10, 20, 30] {
            save(&dir, &params, &opt, &state(step), 2).unwrap();
        }
        // A write of step 40 preempted before its state.json, and one of step 30 again.
        std::fs::create_dir_all(dir.join("step-00000040-0")).unwrap();
        std::fs::write(dir.join("step-00000040-0/model.safetensors"), b"half").unwrap();
        assert_eq!(latest(&dir).unwrap().unwrap(), dir.join("step-00000030-0"));
        let again = save(&dir, &params, &opt, &state(30), 2).unwrap();
        assert_eq!(again, dir.join("step-00000030-1"));
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        // Step 40's interrupted write is gone: one job writes, and it resumed before it.
        assert_eq!(names, ["step-00000030-0", "step-00000030-1"]);
        save(&dir, &params, &opt, &state(50), 2).unwrap();
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["step-00000030-1", "step-00000050-0"]);
        // A save at a lower step than those kept (a run started afresh) keeps itself.
        let fresh = save(&dir, &params, &opt, &state(5), 2).unwrap();
        assert!(fresh.join("state.json").exists());
        clear(&dir);
        assert!(latest(&dir).unwrap().is_none());
        // The older layout's folder names still resume.
        assert_eq!(folder_key("step-00000042"), Some((42, 0)));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn export_writes_the_weights_and_the_model_description() {
        let dir = std::env::temp_dir().join(format!("mlc-harness-export-{}", std::process::id()));
        let mut b = ParamBuilder::new(3, Device::Cpu);
        b.param("w", &[2, 2], Init::Normal(1.0)).unwrap();
        let params = b.finish();
        let model = serde_json::json!({"kind": "mlp"});
        // Twice: a rerun overwrites the files in place (no rename, no temp file).
        export(&dir, &params, &model).unwrap();
        let weights = export(&dir, &params, &model).unwrap();
        assert_eq!(weights, dir.join(MODEL_WEIGHTS));
        let loaded = candle_core::safetensors::load(&weights, &Device::Cpu).unwrap();
        assert_eq!(
            tensor_to_host_f32(&loaded["w"]).unwrap(),
            params.to_flat_host().unwrap()
        );
        let text = std::fs::read_to_string(dir.join(MODEL_DESCRIPTION)).unwrap();
        let description: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(description["model"], model);
        assert_eq!(description["param_names"], serde_json::json!(["w"]));
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, [MODEL_DESCRIPTION, MODEL_WEIGHTS]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
