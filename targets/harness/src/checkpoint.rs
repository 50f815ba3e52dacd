//! Checkpoints: model and optimizer state in safetensors, progress in JSON.
//!
//! Layout: `<dir>/step-00000042/{model.safetensors, optimizer.safetensors, state.json}` plus
//! `<dir>/latest` naming the newest complete checkpoint. A checkpoint is written into a temp
//! folder and renamed, and `latest` is replaced by rename, so a preempted write never leaves a
//! half checkpoint that resume would pick up.

use crate::optim::Optimizer;
use crate::params::{tensor_to_host_f32, ParamStore};
use candle_core::{Device, Result, Tensor};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Version of the checkpoint layout.
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

/// Writes a checkpoint for `state.step`; returns its folder.
pub fn save(
    dir: &Path,
    params: &ParamStore,
    optimizer: &Optimizer,
    state: &TrainState,
) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    let name = format!("step-{:08}", state.step);
    let final_dir = dir.join(&name);
    let temp_dir = dir.join(format!(".tmp-{name}"));
    if temp_dir.exists() {
        std::fs::remove_dir_all(&temp_dir).map_err(|e| io_error(&temp_dir, e))?;
    }
    std::fs::create_dir_all(&temp_dir).map_err(|e| io_error(&temp_dir, e))?;

    let model: HashMap<String, Tensor> = params
        .params
        .iter()
        .map(|p| Ok((p.name.clone(), host_copy(p.var.as_tensor())?)))
        .collect::<Result<_>>()?;
    candle_core::safetensors::save(&model, temp_dir.join("model.safetensors"))?;
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
    candle_core::safetensors::save(&moments, temp_dir.join("optimizer.safetensors"))?;
    let json =
        serde_json::to_string_pretty(state).map_err(|e| candle_core::Error::Msg(e.to_string()))?;
    let state_path = temp_dir.join("state.json");
    std::fs::write(&state_path, json).map_err(|e| io_error(&state_path, e))?;

    if final_dir.exists() {
        std::fs::remove_dir_all(&final_dir).map_err(|e| io_error(&final_dir, e))?;
    }
    std::fs::rename(&temp_dir, &final_dir).map_err(|e| io_error(&final_dir, e))?;
    let latest_temp = dir.join(".latest.tmp");
    std::fs::write(&latest_temp, &name).map_err(|e| io_error(&latest_temp, e))?;
    std::fs::rename(&latest_temp, dir.join("latest")).map_err(|e| io_error(dir, e))?;
    Ok(final_dir)
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
    let pointer = dir.join("latest");
    if !pointer.exists() {
        return Ok(None);
    }
    let name = std::fs::read_to_string(&pointer).map_err(|e| io_error(&pointer, e))?;
    let folder = dir.join(name.trim());
    if !folder.join("state.json").exists() {
        candle_core::bail!(
            "{} names {}, which is incomplete",
            pointer.display(),
            folder.display()
        );
    }
    Ok(Some(folder))
}

/// Loads a checkpoint into `params` and `optimizer`; returns the saved progress.
pub fn load(
    folder: &Path,
    params: &ParamStore,
    optimizer: &mut Optimizer,
    model_config: &serde_json::Value,
) -> Result<TrainState> {
    let state_path = folder.join("state.json");
    let text = std::fs::read_to_string(&state_path).map_err(|e| io_error(&state_path, e))?;
    let state: TrainState = serde_json::from_str(&text)
        .map_err(|e| candle_core::Error::Msg(format!("{}: {e}", state_path.display())))?;
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
        save(&dir, &params, &opt, &state).unwrap();

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
