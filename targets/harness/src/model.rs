//! The models a spec can name (MLP, decoder-only transformer LM, small CNN), built as a list
//! of blocks so pipeline/model parallelism can cut them into contiguous stages.
//!
//! Every op here is differentiable in candle 0.11.1: norms and softmax are composed from
//! primitive ops because candle-nn's fused `LayerNorm`/`softmax_last_dim`/`sdpa` have no
//! backward and would silently stop gradients.

use crate::config::ModelConfig;
use crate::params::{Init, ParamBuilder, ParamStore};
use candle_core::{DType, Device, Result, Tensor, D};

/// One contiguous piece of a model; stages own ranges of blocks.
pub trait Block: Send + Sync {
    /// `dtype` is the compute dtype; parameters are f32 master copies cast on use.
    fn forward(&self, x: &Tensor, dtype: DType) -> Result<Tensor>;
}

/// What the model's output means, which decides the loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Task {
    /// Logits (N, C) against class ids (N).
    Classify,
    /// Logits (B * T, V) against next-token ids (B, T).
    LanguageModel,
}

pub struct Model {
    pub blocks: Vec<Box<dyn Block>>,
    pub params: ParamStore,
    pub task: Task,
}

impl Model {
    /// Builds the model with block `i` on `block_devices[i]` (len = `block_count`).
    pub fn build(config: &ModelConfig, seed: u64, block_devices: &[Device]) -> Result<Model> {
        let first = block_devices
            .first()
            .cloned()
            .ok_or_else(|| candle_core::Error::Msg("no devices given".into()))?;
        let mut pb = ParamBuilder::new(seed, first);
        let (blocks, task) = match config {
            ModelConfig::Mlp {
                input_dim,
                hidden,
                num_classes,
            } => (
                mlp_blocks(&mut pb, *input_dim, hidden, *num_classes, block_devices)?,
                Task::Classify,
            ),
            ModelConfig::Transformer {
                vocab_size,
                seq_len,
                layers,
                hidden,
                heads,
                mlp_ratio,
            } => {
                let shape = TransformerShape {
                    vocab: *vocab_size,
                    seq_len: *seq_len,
                    layers: *layers,
                    hidden: *hidden,
                    heads: *heads,
                    mlp_ratio: *mlp_ratio,
                };
                (
                    transformer_blocks(&mut pb, &shape, block_devices)?,
                    Task::LanguageModel,
                )
            }
            // The image size shapes the data only: the head pools the feature map.
            ModelConfig::Cnn {
                in_channels,
                conv_channels,
                num_classes,
                ..
            } => (
                cnn_blocks(
                    &mut pb,
                    *in_channels,
                    conv_channels,
                    *num_classes,
                    block_devices,
                )?,
                Task::Classify,
            ),
        };
        Ok(Model {
            blocks,
            params: pb.finish(),
            task,
        })
    }

    /// Runs all blocks in order (moving activations to each block's device is the caller's job
    /// when blocks live on different devices; see `pipeline`).
    pub fn forward(&self, x: &Tensor, dtype: DType) -> Result<Tensor> {
        self.blocks
            .iter()
            .try_fold(x.clone(), |h, b| b.forward(&h, dtype))
    }
}

/// Mean loss of `logits` against `targets`, computed in f32.
pub fn loss(task: Task, logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    let logits = logits.to_dtype(DType::F32)?;
    match task {
        Task::Classify => cross_entropy(&logits, targets),
        Task::LanguageModel => {
            // Logits are (batch * seq_len, vocab); targets (batch, seq_len).
            let v = logits.dim(D::Minus1)?;
            let rows = logits.elem_count() / v;
            cross_entropy(&logits.reshape((rows, v))?, &targets.flatten_all()?)
        }
    }
}

/// Subtracts the row max as a constant: softmax is shift-invariant, so the gradient is the
/// same, and the backward skips candle's costly max-gradient (a broadcast compare).
fn shifted_by_row_max(x: &Tensor) -> Result<Tensor> {
    x.broadcast_sub(&x.max_keepdim(D::Minus1)?.detach())
}

/// Mean cross-entropy of logits (N, C) against class ids (N).
fn cross_entropy(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    let shifted = shifted_by_row_max(logits)?;
    let log_probs = shifted.broadcast_sub(&shifted.exp()?.sum_keepdim(D::Minus1)?.log()?)?;
    let picked = log_probs.gather(&targets.unsqueeze(1)?, 1)?;
    picked.mean_all()?.neg()
}

fn device_for(devices: &[Device], block: usize) -> Device {
    devices
        .get(block)
        .or(devices.last())
        .cloned()
        .unwrap_or(Device::Cpu)
}

fn cast(p: &Tensor, dtype: DType) -> Result<Tensor> {
    if p.dtype() == dtype {
        Ok(p.clone())
    } else {
        p.to_dtype(dtype)
    }
}

/// Dense layer; weight stored (in, out) so the forward is a plain matmul.
struct Linear {
    weight: Tensor,
    bias: Tensor,
}

impl Linear {
    fn new(pb: &mut ParamBuilder, name: &str, input: usize, output: usize) -> Result<Self> {
        // Kaiming-style std keeps ReLU activations at unit scale.
        let std = (2.0 / input as f32).sqrt();
        Ok(Self {
            weight: pb.param(
                &format!("{name}.weight"),
                &[input, output],
                Init::Normal(std),
            )?,
            bias: pb.param(&format!("{name}.bias"), &[output], Init::Zeros)?,
        })
    }

    /// `x` (..., in) -> (..., out) as one 2-D matmul: a broadcast (batched) matmul would make
    /// the weight gradient a per-batch tensor summed over a strided dimension, which is slow
    /// in candle on the CPU. Activations are kept 2-D (rows, features) so no reshape is needed.
    fn forward(&self, x: &Tensor, dtype: DType) -> Result<Tensor> {
        let w = cast(&self.weight, dtype)?;
        let b = cast(&self.bias, dtype)?;
        if x.rank() == 2 {
            return crate::ops::add_bias(&x.matmul(&w)?, &b);
        }
        let mut dims = x.dims().to_vec();
        let input = dims.pop().unwrap_or(1);
        let rows = x.elem_count() / input.max(1);
        let y = crate::ops::add_bias(&x.reshape((rows, input))?.matmul(&w)?, &b)?;
        dims.push(w.dim(1)?);
        y.reshape(dims)
    }
}

/// LayerNorm (differentiable: one fused op with a hand-written backward on the CPU, composed
/// ops elsewhere; computed in f32).
struct LayerNorm {
    gain: Tensor,
    shift: Tensor,
}

impl LayerNorm {
    fn new(pb: &mut ParamBuilder, name: &str, dim: usize) -> Result<Self> {
        Ok(Self {
            gain: pb.param(&format!("{name}.gain"), &[dim], Init::Ones)?,
            shift: pb.param(&format!("{name}.shift"), &[dim], Init::Zeros)?,
        })
    }

    /// Normalises the last dim of `x` (rows, features) in f32.
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = crate::ops::layer_norm(&x.to_dtype(DType::F32)?, &self.gain, &self.shift, 1e-5)?;
        y.to_dtype(x.dtype())
    }
}

/// MLP hidden layer: Linear + ReLU; the last block is the classifier head (no activation).
struct DenseBlock {
    linear: Linear,
    relu: bool,
}

impl Block for DenseBlock {
    fn forward(&self, x: &Tensor, dtype: DType) -> Result<Tensor> {
        let y = self.linear.forward(&cast(x, dtype)?, dtype)?;
        if self.relu {
            y.relu()
        } else {
            Ok(y)
        }
    }
}

fn mlp_blocks(
    pb: &mut ParamBuilder,
    input_dim: usize,
    hidden: &[usize],
    num_classes: usize,
    devices: &[Device],
) -> Result<Vec<Box<dyn Block>>> {
    let mut blocks: Vec<Box<dyn Block>> = Vec::new();
    let mut width = input_dim;
    let outputs = hidden.iter().copied().chain(std::iter::once(num_classes));
    for (i, out) in outputs.enumerate() {
        pb.set_device(device_for(devices, i));
        let relu = i < hidden.len();
        let name = if relu {
            format!("mlp.layer{i}")
        } else {
            "mlp.head".to_string()
        };
        blocks.push(Box::new(DenseBlock {
            linear: Linear::new(pb, &name, width, out)?,
            relu,
        }));
        width = out;
    }
    Ok(blocks)
}

struct TransformerShape {
    vocab: usize,
    seq_len: usize,
    layers: usize,
    hidden: usize,
    heads: usize,
    mlp_ratio: usize,
}

/// Token + learned position embeddings (index_select, which has a backward).
struct Embedding {
    tokens: Tensor,
    positions: Tensor,
}

impl Block for Embedding {
    fn forward(&self, ids: &Tensor, dtype: DType) -> Result<Tensor> {
        let (b, t) = ids.dims2()?;
        let tok = self.tokens.index_select(&ids.flatten_all()?, 0)?;
        // Positions gathered per token (index_select's backward is an index_add), not
        // broadcast over the batch (whose backward is a slow strided sum).
        let position_ids: Vec<u32> = (0..b * t).map(|i| (i % t) as u32).collect();
        let position_ids = Tensor::from_vec(position_ids, b * t, ids.device())?;
        let pos = self.positions.index_select(&position_ids, 0)?;
        // Activations stay (batch * seq, hidden) through the layers.
        cast(&(tok + pos)?, dtype)
    }
}

/// Pre-norm decoder layer: causal self-attention and a GELU MLP, each with a residual.
struct DecoderLayer {
    norm1: LayerNorm,
    qkv: Linear,
    proj: Linear,
    norm2: LayerNorm,
    fc: Linear,
    out: Linear,
    heads: usize,
    seq_len: usize,
}

impl DecoderLayer {
    /// `x` is (batch * seq_len, hidden).
    fn attention(&self, x: &Tensor, dtype: DType) -> Result<Tensor> {
        let (rows, hidden) = x.dims2()?;
        let t = self.seq_len;
        if rows % t != 0 {
            candle_core::bail!("attention: {rows} rows are not whole sequences of {t}");
        }
        let b = rows / t;
        let head_dim = hidden / self.heads;
        let qkv = self.qkv.forward(x, dtype)?;
        let split = |i: usize| -> Result<Tensor> {
            qkv.narrow(D::Minus1, i * hidden, hidden)?
                .reshape((b, t, self.heads, head_dim))?
                .transpose(1, 2)?
                .contiguous()
        };
        let (q, k, v) = (split(0)?, split(1)?, split(2)?);
        let scores = q.matmul(&k.t()?.contiguous()?)?;
        let weights = crate::ops::causal_softmax(&scores, 1.0 / (head_dim as f64).sqrt())?;
        let y = weights
            .matmul(&v)?
            .transpose(1, 2)?
            .reshape((rows, hidden))?;
        self.proj.forward(&y, dtype)
    }
}

impl Block for DecoderLayer {
    fn forward(&self, x: &Tensor, dtype: DType) -> Result<Tensor> {
        let x = (x + self.attention(&self.norm1.forward(x)?, dtype)?)?;
        let h = self.fc.forward(&self.norm2.forward(&x)?, dtype)?;
        let h = crate::ops::gelu(&h)?;
        x + self.out.forward(&h, dtype)?
    }
}

/// Final norm + vocabulary projection.
struct LmHead {
    norm: LayerNorm,
    linear: Linear,
}

impl Block for LmHead {
    fn forward(&self, x: &Tensor, dtype: DType) -> Result<Tensor> {
        self.linear.forward(&self.norm.forward(x)?, dtype)
    }
}

fn transformer_blocks(
    pb: &mut ParamBuilder,
    s: &TransformerShape,
    devices: &[Device],
) -> Result<Vec<Box<dyn Block>>> {
    let mut blocks: Vec<Box<dyn Block>> = Vec::new();
    pb.set_device(device_for(devices, 0));
    blocks.push(Box::new(Embedding {
        tokens: pb.param("embed.tokens", &[s.vocab, s.hidden], Init::Normal(0.02))?,
        positions: pb.param(
            "embed.positions",
            &[s.seq_len, s.hidden],
            Init::Normal(0.02),
        )?,
    }));
    for l in 0..s.layers {
        let device = device_for(devices, l + 1);
        pb.set_device(device.clone());
        let name = |part: &str| format!("layer{l:03}.{part}");
        let inner = s.hidden * s.mlp_ratio;
        blocks.push(Box::new(DecoderLayer {
            norm1: LayerNorm::new(pb, &name("norm1"), s.hidden)?,
            qkv: Linear::new(pb, &name("qkv"), s.hidden, 3 * s.hidden)?,
            proj: Linear::new(pb, &name("proj"), s.hidden, s.hidden)?,
            norm2: LayerNorm::new(pb, &name("norm2"), s.hidden)?,
            fc: Linear::new(pb, &name("fc"), s.hidden, inner)?,
            out: Linear::new(pb, &name("out"), inner, s.hidden)?,
            heads: s.heads,
            seq_len: s.seq_len,
        }));
    }
    pb.set_device(device_for(devices, s.layers + 1));
    blocks.push(Box::new(LmHead {
        norm: LayerNorm::new(pb, "head.norm", s.hidden)?,
        linear: Linear::new(pb, "head.linear", s.hidden, s.vocab)?,
    }));
    Ok(blocks)
}

/// conv3x3 (padding 1) + ReLU + 2x2 max-pool.
struct ConvBlock {
    kernel: Tensor,
    bias: Tensor,
}

impl Block for ConvBlock {
    fn forward(&self, x: &Tensor, dtype: DType) -> Result<Tensor> {
        let channels = self.bias.dim(0)?;
        let y = cast(x, dtype)?.conv2d(&cast(&self.kernel, dtype)?, 1, 1, 1, 1)?;
        let bias = cast(&self.bias, dtype)?.reshape((1, channels, 1, 1))?;
        y.broadcast_add(&bias)?.relu()?.max_pool2d(2)
    }
}

/// Flatten + linear classifier.
/// Global average pooling over the feature map, then a linear classifier: the head's size
/// does not grow with the image (mlc's `Architecture::parameters` counts it so).
struct PooledHead {
    linear: Linear,
}

impl Block for PooledHead {
    fn forward(&self, x: &Tensor, dtype: DType) -> Result<Tensor> {
        self.linear.forward(&x.mean((2, 3))?, dtype)
    }
}

fn cnn_blocks(
    pb: &mut ParamBuilder,
    in_channels: usize,
    conv_channels: &[usize],
    num_classes: usize,
    devices: &[Device],
) -> Result<Vec<Box<dyn Block>>> {
    let mut blocks: Vec<Box<dyn Block>> = Vec::new();
    let mut channels = in_channels;
    for (i, &out) in conv_channels.iter().enumerate() {
        pb.set_device(device_for(devices, i));
        let std = (2.0 / (channels * 9) as f32).sqrt();
        blocks.push(Box::new(ConvBlock {
            kernel: pb.param(
                &format!("conv{i}.kernel"),
                &[out, channels, 3, 3],
                Init::Normal(std),
            )?,
            bias: pb.param(&format!("conv{i}.bias"), &[out], Init::Zeros)?,
        }));
        channels = out;
    }
    pb.set_device(device_for(devices, conv_channels.len()));
    blocks.push(Box::new(PooledHead {
        linear: Linear::new(pb, "cnn.head", channels, num_classes)?,
    }));
    Ok(blocks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::block_count;

    fn tiny_configs() -> Vec<ModelConfig> {
        vec![
            ModelConfig::Mlp {
                input_dim: 6,
                hidden: vec![8, 8],
                num_classes: 3,
            },
            ModelConfig::Transformer {
                vocab_size: 11,
                seq_len: 5,
                layers: 2,
                hidden: 8,
                heads: 2,
                mlp_ratio: 2,
            },
            ModelConfig::Cnn {
                image_size: 8,
                in_channels: 1,
                conv_channels: vec![2, 3],
                num_classes: 4,
            },
        ]
    }

    /// The known candle trap: fused ops cut the graph silently. Every param must get a
    /// non-zero gradient after one backward pass.
    #[test]
    fn every_parameter_gets_a_nonzero_gradient() {
        for config in tiny_configs() {
            let devices = vec![Device::Cpu; block_count(&config)];
            let model = Model::build(&config, 3, &devices).unwrap();
            assert_eq!(model.blocks.len(), block_count(&config));
            let (x, y) = crate::data::synthetic_batch(&config, 9, 0, 4).unwrap();
            let logits = model.forward(&x, DType::F32).unwrap();
            let grads = loss(model.task, &logits, &y).unwrap().backward().unwrap();
            for p in &model.params.params {
                let g = grads.get(p.var.as_tensor());
                let g = g.unwrap_or_else(|| panic!("{config:?}: no gradient for {}", p.name));
                let norm = g
                    .sqr()
                    .unwrap()
                    .sum_all()
                    .unwrap()
                    .to_scalar::<f32>()
                    .unwrap();
                assert!(norm > 0.0, "{}: zero gradient", p.name);
            }
        }
    }

    /// The half-precision compute path (CUDA's) runs on the CPU too: parameters stay f32,
    /// activations are cast, the composed fallbacks of the fused ops are used, and every
    /// parameter still gets an f32 gradient close to the f32 run's.
    #[test]
    fn half_precision_path_is_differentiable() {
        for config in tiny_configs() {
            let devices = vec![Device::Cpu; block_count(&config)];
            let model = Model::build(&config, 3, &devices).unwrap();
            let (x, y) = crate::data::synthetic_batch(&config, 9, 0, 4).unwrap();
            let grads = |dtype| {
                let logits = model.forward(&x, dtype).unwrap();
                assert_eq!(logits.dtype(), dtype);
                loss(model.task, &logits, &y).unwrap().backward().unwrap()
            };
            let full = grads(DType::F32);
            // candle's CPU backend has no bf16 matmul; f16 walks the same graph as bf16 on CUDA.
            for (dtype, tolerance) in [(DType::F16, 0.05)] {
                let half = grads(dtype);
                for p in &model.params.params {
                    let h = half.get(p.var.as_tensor()).unwrap();
                    assert_eq!(h.dtype(), DType::F32, "{}", p.name);
                    let f = full.get(p.var.as_tensor()).unwrap();
                    let largest = |t: &Tensor| {
                        let t = t.abs().unwrap().flatten_all().unwrap();
                        t.max(0).unwrap().to_scalar::<f32>().unwrap()
                    };
                    let scale = largest(f).max(1e-3);
                    let diff = largest(&(h - f).unwrap());
                    let name = &p.name;
                    assert!(
                        diff < tolerance * scale,
                        "{dtype:?} {name}: {diff} vs {scale}"
                    );
                }
            }
        }
    }

    #[test]
    fn causal_mask_blocks_the_future() {
        let config = &tiny_configs()[1];
        let model = Model::build(config, 1, &vec![Device::Cpu; 4]).unwrap();
        let ids = Tensor::new(&[[1u32, 2, 3, 4, 5]], &Device::Cpu).unwrap();
        let changed = Tensor::new(&[[1u32, 2, 3, 9, 9]], &Device::Cpu).unwrap();
        let a = model.forward(&ids, DType::F32).unwrap();
        let b = model.forward(&changed, DType::F32).unwrap();
        let prefix = |t: &Tensor| t.narrow(0, 0, 3).unwrap().flatten_all().unwrap();
        let diff = (prefix(&a) - prefix(&b)).unwrap().abs().unwrap();
        assert_eq!(diff.max(0).unwrap().to_scalar::<f32>().unwrap(), 0.0);
    }
}
