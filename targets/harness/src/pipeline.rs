//! Stage machinery for pipeline (GPipe) and model parallelism.
//!
//! A model's blocks are cut into contiguous stages, each on its own device. Activations cross a
//! stage boundary detached and re-enter the next stage as a fresh leaf variable; on the way back
//! the gradient of that leaf is the upstream gradient the previous stage back-propagates
//! (via the surrogate `sum(output * upstream)`). So every stage runs its own forward and backward
//! — the same shape a multi-process pipeline would have. Model parallelism is the one-micro-batch
//! case.

use crate::model::{loss, Model, Task};
use candle_core::{backprop::GradStore, DType, Device, Result, Tensor, Var};
use std::ops::Range;

/// Which blocks each stage owns and where it runs.
#[derive(Clone, Debug)]
pub struct StagePlan {
    pub ranges: Vec<Range<usize>>,
    pub devices: Vec<Device>,
}

impl StagePlan {
    /// Splits `blocks` into `stages` ranges, at `boundaries` if given, else as evenly as possible.
    pub fn new(
        blocks: usize,
        stages: usize,
        boundaries: Option<&[usize]>,
        devices: Vec<Device>,
    ) -> StagePlan {
        let cuts: Vec<usize> = match boundaries {
            Some(b) => b.to_vec(),
            None => (1..stages).map(|s| s * blocks / stages).collect(),
        };
        let starts = std::iter::once(0).chain(cuts.iter().copied());
        let ends = cuts.iter().copied().chain(std::iter::once(blocks));
        StagePlan {
            ranges: starts.zip(ends).map(|(a, b)| a..b).collect(),
            devices,
        }
    }

    /// The device of every block, for `Model::build`.
    pub fn block_devices(&self) -> Vec<Device> {
        let mut out = Vec::new();
        for (range, device) in self.ranges.iter().zip(&self.devices) {
            out.extend(std::iter::repeat_n(device.clone(), range.len()));
        }
        out
    }
}

/// Activations of one (stage, micro-batch) cell kept between forward and backward.
struct Cell {
    /// The stage's input leaf (None on stage 0, whose input is data).
    input: Option<Var>,
    output: Tensor,
}

/// Result of one pipelined forward+backward over a batch.
pub struct StageStep {
    /// Sum over micro-batches of `loss_m * scale / micro_batches` (i.e. the scaled mean loss).
    pub loss: f32,
    /// Parameter gradients summed over stages and micro-batches.
    pub grads: GradStore,
}

/// GPipe: all micro-batch forwards in wavefront order, then all backwards in reverse.
/// `scale` multiplies the loss (e.g. 1 / grad_accum_steps).
pub fn gpipe_step(
    model: &Model,
    plan: &StagePlan,
    inputs: &Tensor,
    targets: &Tensor,
    micro_batches: usize,
    dtype: DType,
    scale: f64,
) -> Result<StageStep> {
    let stages = plan.ranges.len();
    let rows = inputs.dim(0)?;
    if rows % micro_batches != 0 {
        candle_core::bail!("batch of {rows} does not split into {micro_batches} micro-batches");
    }
    let size = rows / micro_batches;
    let mut cells: Vec<Vec<Option<Cell>>> = (0..stages)
        .map(|_| (0..micro_batches).map(|_| None).collect())
        .collect();
    let mut losses: Vec<Option<Tensor>> = vec![None; micro_batches];
    for (stage, m) in wavefront(stages, micro_batches) {
        let (input, leaf) = if stage == 0 {
            (
                inputs
                    .narrow(0, m * size, size)?
                    .to_device(&plan.devices[0])?,
                None,
            )
        } else {
            let previous = cell(&cells, stage - 1, m)?;
            let moved = previous.output.detach().to_device(&plan.devices[stage])?;
            let leaf = Var::from_tensor(&moved)?;
            (leaf.as_tensor().clone(), Some(leaf))
        };
        let output = run_stage(model, plan.ranges[stage].clone(), &input, dtype)?;
        if stage == stages - 1 {
            let y = targets
                .narrow(0, m * size, size)?
                .to_device(&plan.devices[stage])?;
            losses[m] = Some((loss(model.task, &output, &y)? * (scale / micro_batches as f64))?);
        }
        cells[stage][m] = Some(Cell {
            input: leaf,
            output,
        });
    }
    backward_all(&cells, &losses, plan, model.task)
}

fn cell(cells: &[Vec<Option<Cell>>], stage: usize, m: usize) -> Result<&Cell> {
    cells[stage][m]
        .as_ref()
        .ok_or_else(|| candle_core::Error::Msg(format!("pipeline cell ({stage}, {m}) missing")))
}

/// (stage, micro-batch) pairs in GPipe forward order: at clock tick t, stage s runs t - s.
fn wavefront(stages: usize, micro_batches: usize) -> Vec<(usize, usize)> {
    let mut order = Vec::new();
    for tick in 0..stages + micro_batches - 1 {
        for stage in 0..stages {
            if tick >= stage && tick - stage < micro_batches {
                order.push((stage, tick - stage));
            }
        }
    }
    order
}

fn run_stage(model: &Model, blocks: Range<usize>, x: &Tensor, dtype: DType) -> Result<Tensor> {
    model.blocks[blocks]
        .iter()
        .try_fold(x.clone(), |h, b| b.forward(&h, dtype))
}

fn backward_all(
    cells: &[Vec<Option<Cell>>],
    losses: &[Option<Tensor>],
    plan: &StagePlan,
    _task: Task,
) -> Result<StageStep> {
    let stages = cells.len();
    let micro_batches = losses.len();
    let mut total = GradStore::default();
    let mut loss_sum = 0.0f32;
    // Upstream gradient w.r.t. each stage's input leaf, filled as stages finish backward.
    let mut upstream: Vec<Vec<Option<Tensor>>> = vec![vec![None; micro_batches]; stages];
    for (stage, m) in wavefront(stages, micro_batches).into_iter().rev() {
        let this = cell(cells, stage, m)?;
        let grads = if stage == stages - 1 {
            let l = losses[m]
                .as_ref()
                .ok_or_else(|| candle_core::Error::Msg("missing micro-batch loss".into()))?;
            loss_sum += l.to_scalar::<f32>()?;
            l.backward()?
        } else {
            let g = upstream[stage + 1][m].take().ok_or_else(|| {
                candle_core::Error::Msg(format!("no gradient reached stage {stage}"))
            })?;
            // Detach: a stored gradient can still be a graph node over the next stage's weights,
            // and back-propagating through it would add their gradients a second time.
            let g = g
                .detach()
                .to_device(&plan.devices[stage])?
                .to_dtype(this.output.dtype())?;
            (&this.output * &g)?.sum_all()?.backward()?
        };
        if let Some(leaf) = &this.input {
            upstream[stage][m] = grads.get(leaf.as_tensor()).cloned();
        }
        total.extend(grads)?;
    }
    Ok(StageStep {
        loss: loss_sum,
        grads: total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{block_count, ModelConfig};

    #[test]
    fn even_and_explicit_splits() {
        let p = StagePlan::new(5, 2, None, vec![Device::Cpu; 2]);
        assert_eq!(p.ranges, vec![0..2, 2..5]);
        let p = StagePlan::new(5, 3, Some(&[1, 4]), vec![Device::Cpu; 3]);
        assert_eq!(p.ranges, vec![0..1, 1..4, 4..5]);
        assert_eq!(p.block_devices().len(), 5);
    }

    #[test]
    fn wavefront_respects_dependencies() {
        let order = wavefront(3, 4);
        assert_eq!(order.len(), 12);
        for (i, &(s, m)) in order.iter().enumerate() {
            if s > 0 {
                let before = order.iter().position(|&c| c == (s - 1, m)).unwrap();
                assert!(before < i);
            }
        }
    }

    fn max_grad_diff(config: &ModelConfig, stages: usize, micro: usize) -> f32 {
        let blocks = block_count(config);
        let plan = StagePlan::new(blocks, stages, None, vec![Device::Cpu; stages]);
        let model = Model::build(config, 4, &plan.block_devices()).unwrap();
        let (x, y) = crate::data::synthetic_batch(config, 1, 0, 8).unwrap();
        let plain = loss(model.task, &model.forward(&x, DType::F32).unwrap(), &y)
            .unwrap()
            .backward()
            .unwrap();
        let piped = gpipe_step(&model, &plan, &x, &y, micro, DType::F32, 1.0).unwrap();
        let mut worst = 0.0f32;
        for p in &model.params.params {
            let a = plain.get(p.var.as_tensor()).unwrap();
            let b = piped.grads.get(p.var.as_tensor()).unwrap();
            let d = (a - b).unwrap().abs().unwrap().flatten_all().unwrap();
            worst = worst.max(d.max(0).unwrap().to_scalar::<f32>().unwrap());
        }
        worst
    }

    /// GPipe (and model parallelism) must give the unpipelined model's gradients.
    #[test]
    fn pipelined_gradients_match_unpipelined() {
        let configs = [
            ModelConfig::Mlp {
                input_dim: 5,
                hidden: vec![7, 6, 5],
                num_classes: 3,
            },
            ModelConfig::Transformer {
                vocab_size: 13,
                seq_len: 6,
                layers: 2,
                hidden: 8,
                heads: 2,
                mlp_ratio: 2,
            },
            ModelConfig::Cnn {
                image_size: 8,
                in_channels: 2,
                conv_channels: vec![3, 4],
                num_classes: 3,
            },
        ];
        for config in &configs {
            for (stages, micro) in [(1, 1), (2, 1), (1, 2), (2, 4), (3, 2)] {
                let diff = max_grad_diff(config, stages, micro);
                assert!(
                    diff < 1e-5,
                    "{config:?} stages {stages} micro {micro}: {diff}"
                );
            }
        }
    }
}
