//! Fused, differentiable CPU kernels for the transformer's hot element-wise ops: GELU (tanh
//! form), softmax over the last dim, and layer-norm's normalisation.
//!
//! candle 0.11.1 composes these from many allocating tensor ops (its GELU backward alone is ~10
//! ops with scalar `powf`/`tanh` calls), and its fused softmax/layer-norm have no backward at
//! all. Here each is one pass forward and one pass backward, as candle custom ops with a `bwd`.
//! On other devices or dtypes the composed (differentiable) formulations are used instead.

use candle_core::{
    CpuStorage, CustomOp1, CustomOp2, CustomOp3, DType, Layout, Result, Shape, Tensor, D,
};

fn cpu_f32(x: &Tensor) -> bool {
    x.device().is_cpu() && x.dtype() == DType::F32
}

fn as_f32<'a>(storage: &'a CpuStorage, layout: &Layout) -> Result<&'a [f32]> {
    let CpuStorage::F32(data) = storage else {
        candle_core::bail!("fused op expects f32");
    };
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&data[start..end]),
        None => candle_core::bail!("fused op expects a contiguous tensor"),
    }
}

fn last_dim(layout: &Layout) -> Result<usize> {
    layout
        .dims()
        .last()
        .copied()
        .filter(|n| *n > 0)
        .ok_or_else(|| candle_core::Error::Msg("fused op needs a non-empty last dim".into()))
}

/// tanh as a clamped rational function (the approximation Eigen uses for float): a few ULP
/// from `f32::tanh`, and no libm call, so the loops vectorise.
// Coefficients as published (Eigen's float tanh); f32 rounds them.
#[allow(clippy::excessive_precision)]
#[inline]
fn fast_tanh(x: f32) -> f32 {
    const CLAMP: f32 = 7.905_311;
    let x = x.clamp(-CLAMP, CLAMP);
    let x2 = x * x;
    let p = x2 * -2.760_768_5e-16 + 2.000_187_9e-13;
    let p = x2 * p + -8.604_671_5e-11;
    let p = x2 * p + 5.122_297e-8;
    let p = x2 * p + 1.485_722_4e-5;
    let p = x2 * p + 6.372_619_3e-4;
    let p = x2 * p + 4.893_524_6e-3;
    let q = x2 * 1.198_258_4e-6 + 1.185_347_1e-4;
    let q = x2 * q + 2.268_434_6e-3;
    let q = x2 * q + 4.893_525e-3;
    x * p / q
}

const SQRT_TWO_OVER_PI: f32 = 0.797_884_6;
const GELU_CUBIC: f32 = 0.044_715;

/// GELU, tanh approximation (same formula as candle's `gelu` and torch's `approximate="tanh"`).
pub fn gelu(x: &Tensor) -> Result<Tensor> {
    if cpu_f32(x) {
        x.contiguous()?.apply_op1(GeluTanh)
    } else {
        x.gelu()
    }
}

struct GeluTanh;

impl CustomOp1 for GeluTanh {
    fn name(&self) -> &'static str {
        "gelu-tanh"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = as_f32(storage, layout)?;
        let y = x
            .iter()
            .map(|&v| {
                let t = fast_tanh(SQRT_TWO_OVER_PI * (v + GELU_CUBIC * v * v * v));
                0.5 * v * (1.0 + t)
            })
            .collect();
        Ok((CpuStorage::F32(y), layout.shape().clone()))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(
            arg.apply_op2_no_bwd(&grad.contiguous()?, &GeluTanhGrad)?,
        ))
    }
}

/// (x, upstream) -> upstream * GELU'(x).
struct GeluTanhGrad;

impl CustomOp2 for GeluTanhGrad {
    fn name(&self) -> &'static str {
        "gelu-tanh-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (x, g) = (as_f32(s1, l1)?, as_f32(s2, l2)?);
        let out = x
            .iter()
            .zip(g)
            .map(|(&v, &g)| {
                let t = fast_tanh(SQRT_TWO_OVER_PI * (v + GELU_CUBIC * v * v * v));
                let du = SQRT_TWO_OVER_PI * (1.0 + 3.0 * GELU_CUBIC * v * v);
                g * (0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * du)
            })
            .collect();
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

/// Softmax over the last dim, differentiable on every device.
pub fn softmax_last_dim(x: &Tensor) -> Result<Tensor> {
    if cpu_f32(x) {
        return x.contiguous()?.apply_op1(Softmax {
            scale: 1.0,
            causal: false,
        });
    }
    composed_softmax(x)
}

/// Subtracting the (detached) row max leaves the gradient unchanged: softmax is
/// shift-invariant.
fn composed_softmax(x: &Tensor) -> Result<Tensor> {
    let exp = x
        .broadcast_sub(&x.max_keepdim(D::Minus1)?.detach())?
        .exp()?;
    exp.broadcast_div(&exp.sum_keepdim(D::Minus1)?)
}

/// Attention weights `softmax(scores * scale)` for scores (.., T, T), with key positions after
/// the query masked out: row i keeps columns 0..=i. Fusing scale and mask into the softmax
/// saves two full passes (and their backward) over the (B, heads, T, T) scores.
pub fn causal_softmax(scores: &Tensor, scale: f64) -> Result<Tensor> {
    if cpu_f32(scores) {
        return scores.contiguous()?.apply_op1(Softmax {
            scale: scale as f32,
            causal: true,
        });
    }
    // In f32: -1e9 overflows f16, and bf16 sums of probabilities lose precision.
    let t = scores.dim(D::Minus1)?;
    let mask: Vec<f32> = (0..t * t)
        .map(|i| if i % t > i / t { -1e9 } else { 0.0 })
        .collect();
    let mask = Tensor::from_vec(mask, (t, t), scores.device())?;
    let scores32 = (scores.to_dtype(DType::F32)? * scale)?;
    composed_softmax(&scores32.broadcast_add(&mask)?)?.to_dtype(scores.dtype())
}

struct Softmax {
    scale: f32,
    causal: bool,
}

impl CustomOp1 for Softmax {
    fn name(&self) -> &'static str {
        "softmax-last-dim"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = as_f32(storage, layout)?;
        let n = last_dim(layout)?;
        let mut y = vec![0f32; x.len()];
        for (r, (row, out)) in x.chunks_exact(n).zip(y.chunks_exact_mut(n)).enumerate() {
            // Causal: query position r mod T sees keys 0..=r mod T; the rest stay 0.
            let visible = if self.causal { r % n + 1 } else { n };
            let (row, out) = (&row[..visible], &mut out[..visible]);
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let mut sum = 0.0;
            for (o, &v) in out.iter_mut().zip(row) {
                *o = ((v - max) * self.scale).exp();
                sum += *o;
            }
            let inv = 1.0 / sum;
            out.iter_mut().for_each(|o| *o *= inv);
        }
        Ok((CpuStorage::F32(y), layout.shape().clone()))
    }

    fn bwd(&self, _arg: &Tensor, res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let op = SoftmaxGrad { scale: self.scale };
        Ok(Some(res.apply_op2_no_bwd(&grad.contiguous()?, &op)?))
    }
}

/// (y = softmax(scale * x), upstream g) -> scale * y * (g - sum(g * y)) per row (masked
/// entries have y = 0, so they get no gradient).
struct SoftmaxGrad {
    scale: f32,
}

impl CustomOp2 for SoftmaxGrad {
    fn name(&self) -> &'static str {
        "softmax-last-dim-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (y, g) = (as_f32(s1, l1)?, as_f32(s2, l2)?);
        let n = last_dim(l1)?;
        let mut out = vec![0f32; y.len()];
        for ((yr, gr), o) in y
            .chunks_exact(n)
            .zip(g.chunks_exact(n))
            .zip(out.chunks_exact_mut(n))
        {
            let dot: f32 = yr.iter().zip(gr).map(|(a, b)| a * b).sum();
            for ((o, &yv), &gv) in o.iter_mut().zip(yr).zip(gr) {
                *o = self.scale * yv * (gv - dot);
            }
        }
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

/// (x - mean) / sqrt(var + eps) over the last dim (layer norm without its affine part).
pub fn normalize_last_dim(x: &Tensor, eps: f32) -> Result<Tensor> {
    if cpu_f32(x) {
        return x.contiguous()?.apply_op1(Normalize { eps });
    }
    let centered = x.broadcast_sub(&x.mean_keepdim(D::Minus1)?)?;
    let var = centered.sqr()?.mean_keepdim(D::Minus1)?;
    centered.broadcast_div(&(var + eps as f64)?.sqrt()?)
}

struct Normalize {
    eps: f32,
}

/// Mean and 1/std of one row.
fn row_stats(row: &[f32], eps: f32) -> (f32, f32) {
    let n = row.len() as f32;
    let mean = row.iter().sum::<f32>() / n;
    let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
    (mean, 1.0 / (var + eps).sqrt())
}

impl CustomOp1 for Normalize {
    fn name(&self) -> &'static str {
        "normalize-last-dim"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = as_f32(storage, layout)?;
        let n = last_dim(layout)?;
        let mut y = vec![0f32; x.len()];
        for (row, out) in x.chunks_exact(n).zip(y.chunks_exact_mut(n)) {
            let (mean, inv_std) = row_stats(row, self.eps);
            for (o, &v) in out.iter_mut().zip(row) {
                *o = (v - mean) * inv_std;
            }
        }
        Ok((CpuStorage::F32(y), layout.shape().clone()))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let op = NormalizeGrad { eps: self.eps };
        Ok(Some(arg.apply_op2_no_bwd(&grad.contiguous()?, &op)?))
    }
}

/// (x, upstream g) -> (g - mean(g) - x̂ * mean(g * x̂)) / std per row.
struct NormalizeGrad {
    eps: f32,
}

impl CustomOp2 for NormalizeGrad {
    fn name(&self) -> &'static str {
        "normalize-last-dim-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (x, g) = (as_f32(s1, l1)?, as_f32(s2, l2)?);
        let n = last_dim(l1)?;
        let mut out = vec![0f32; x.len()];
        for ((xr, gr), o) in x
            .chunks_exact(n)
            .zip(g.chunks_exact(n))
            .zip(out.chunks_exact_mut(n))
        {
            let (mean, inv_std) = row_stats(xr, self.eps);
            let g_mean = gr.iter().sum::<f32>() / n as f32;
            let gx_mean = xr
                .iter()
                .zip(gr)
                .map(|(&v, &gv)| gv * (v - mean) * inv_std)
                .sum::<f32>()
                / n as f32;
            for ((o, &v), &gv) in o.iter_mut().zip(xr).zip(gr) {
                let normed = (v - mean) * inv_std;
                *o = (gv - g_mean - normed * gx_mean) * inv_std;
            }
        }
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

/// Column sums of a row-major (rows, n) slice.
fn column_sums(values: &[f32], n: usize) -> Vec<f32> {
    let mut sums = vec![0f32; n];
    for row in values.chunks_exact(n) {
        sums.iter_mut().zip(row).for_each(|(s, v)| *s += v);
    }
    sums
}

fn host_values(t: &Tensor) -> Result<Vec<f32>> {
    t.flatten_all()?.to_vec1::<f32>()
}

/// `x` (rows, n) + `bias` (n) per row. One graph node whose backward sums the bias gradient
/// over rows in a contiguous loop (candle's broadcast backward walks the strided dimension).
pub fn add_bias(x: &Tensor, bias: &Tensor) -> Result<Tensor> {
    if cpu_f32(x) && cpu_f32(bias) && x.rank() == 2 {
        return x.contiguous()?.apply_op2(&bias.contiguous()?, AddBias);
    }
    x.broadcast_add(bias)
}

struct AddBias;

impl CustomOp2 for AddBias {
    fn name(&self) -> &'static str {
        "add-bias"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (x, b) = (as_f32(s1, l1)?, as_f32(s2, l2)?);
        let n = last_dim(l1)?;
        if b.len() != n {
            candle_core::bail!("add_bias: bias has {} values for rows of {n}", b.len());
        }
        let mut y = Vec::with_capacity(x.len());
        for row in x.chunks_exact(n) {
            y.extend(row.iter().zip(b).map(|(v, b)| v + b));
        }
        Ok((CpuStorage::F32(y), l1.shape().clone()))
    }

    fn bwd(
        &self,
        _x: &Tensor,
        bias: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let sums = column_sums(&host_values(grad)?, bias.elem_count());
        let grad_bias = Tensor::from_vec(sums, bias.shape(), bias.device())?;
        Ok((Some(grad.clone()), Some(grad_bias)))
    }
}

/// Layer norm over the last dim of `x` (rows, n) with `gain` and `shift` (n), as one graph
/// node with a hand-written backward.
pub fn layer_norm(x: &Tensor, gain: &Tensor, shift: &Tensor, eps: f32) -> Result<Tensor> {
    if cpu_f32(x) && cpu_f32(gain) && x.rank() == 2 {
        let op = LayerNorm { eps };
        return x
            .contiguous()?
            .apply_op3(&gain.contiguous()?, &shift.contiguous()?, op);
    }
    normalize_last_dim(x, eps)?
        .broadcast_mul(gain)?
        .broadcast_add(shift)
}

struct LayerNorm {
    eps: f32,
}

impl CustomOp3 for LayerNorm {
    fn name(&self) -> &'static str {
        "layer-norm"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (x, gain, shift) = (as_f32(s1, l1)?, as_f32(s2, l2)?, as_f32(s3, l3)?);
        let n = last_dim(l1)?;
        if gain.len() != n || shift.len() != n {
            candle_core::bail!("layer_norm: gain/shift do not match rows of {n}");
        }
        let mut y = Vec::with_capacity(x.len());
        for row in x.chunks_exact(n) {
            let (mean, inv_std) = row_stats(row, self.eps);
            y.extend(
                row.iter()
                    .zip(gain.iter().zip(shift))
                    .map(|(v, (g, s))| (v - mean) * inv_std * g + s),
            );
        }
        Ok((CpuStorage::F32(y), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        gain: &Tensor,
        shift: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (xs, gains, gs) = (host_values(x)?, host_values(gain)?, host_values(grad)?);
        let n = gains.len();
        let mut dx = Vec::with_capacity(xs.len());
        let (mut dgain, mut dshift) = (vec![0f32; n], vec![0f32; n]);
        for (row, g) in xs.chunks_exact(n).zip(gs.chunks_exact(n)) {
            let (mean, inv_std) = row_stats(row, self.eps);
            let (mut mean_gg, mut mean_ggx) = (0f32, 0f32);
            for i in 0..n {
                let normed = (row[i] - mean) * inv_std;
                dgain[i] += g[i] * normed;
                dshift[i] += g[i];
                let gg = g[i] * gains[i];
                mean_gg += gg;
                mean_ggx += gg * normed;
            }
            mean_gg /= n as f32;
            mean_ggx /= n as f32;
            dx.extend((0..n).map(|i| {
                let normed = (row[i] - mean) * inv_std;
                (g[i] * gains[i] - mean_gg - normed * mean_ggx) * inv_std
            }));
        }
        Ok((
            Some(Tensor::from_vec(dx, x.shape(), x.device())?),
            Some(Tensor::from_vec(dgain, gain.shape(), gain.device())?),
            Some(Tensor::from_vec(dshift, shift.shape(), shift.device())?),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn fast_tanh_is_accurate() {
        let worst = (-2000..=2000)
            .map(|i| i as f32 * 0.005)
            .map(|x| (fast_tanh(x) - x.tanh()).abs())
            .fold(0.0, f32::max);
        assert!(worst < 1e-6, "{worst}");
        assert_eq!(fast_tanh(50.0), fast_tanh(7.905_311));
    }

    /// Value and gradient of `sum(op(x) * w)` for a fused op and its composed reference.
    fn compare(
        fused: impl Fn(&Tensor) -> Result<Tensor>,
        reference: impl Fn(&Tensor) -> Result<Tensor>,
    ) {
        let values: Vec<f32> = (0..60)
            .map(|i| ((i * 37 % 23) as f32 - 11.0) * 0.3)
            .collect();
        let weights: Vec<f32> = (0..60).map(|i| ((i * 13 % 7) as f32 - 3.0) * 0.5).collect();
        let w = Tensor::from_vec(weights, (5, 12), &Device::Cpu).unwrap();
        let run = |f: &dyn Fn(&Tensor) -> Result<Tensor>| {
            let x = Var::from_vec(values.clone(), (5, 12), &Device::Cpu).unwrap();
            let y = f(x.as_tensor()).unwrap();
            let grads = (&y * &w).unwrap().sum_all().unwrap().backward().unwrap();
            let g = grads.get(x.as_tensor()).unwrap().flatten_all().unwrap();
            (
                y.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
                g.to_vec1::<f32>().unwrap(),
            )
        };
        let (fy, fg) = run(&fused);
        let (ry, rg) = run(&reference);
        for (a, b) in fy.iter().zip(&ry).chain(fg.iter().zip(&rg)) {
            assert!((a - b).abs() < 2e-5, "{a} vs {b}");
        }
    }

    /// Gradients of the per-feature parameters of `add_bias` and `layer_norm`.
    #[test]
    fn parameter_gradients_match_composed() {
        let x = Tensor::from_vec(
            (0..24).map(|i| (i as f32 * 0.7).sin()).collect::<Vec<_>>(),
            (4, 6),
            &Device::Cpu,
        )
        .unwrap();
        let w = Tensor::from_vec(
            (0..24).map(|i| (i as f32 * 0.3).cos()).collect::<Vec<_>>(),
            (4, 6),
            &Device::Cpu,
        )
        .unwrap();
        let grads = |fused: bool| {
            let gain =
                Var::from_vec(vec![0.5f32, 1.0, 1.5, 2.0, 2.5, 3.0], 6, &Device::Cpu).unwrap();
            let shift =
                Var::from_vec(vec![0.1f32, 0.2, 0.3, 0.4, 0.5, 0.6], 6, &Device::Cpu).unwrap();
            let (g, s) = (gain.as_tensor(), shift.as_tensor());
            let y = if fused {
                add_bias(&layer_norm(&x, g, s, 1e-5).unwrap(), s).unwrap()
            } else {
                normalize_last_dim(&x, 1e-5)
                    .unwrap()
                    .broadcast_mul(g)
                    .unwrap()
                    .broadcast_add(s)
                    .unwrap()
                    .broadcast_add(s)
                    .unwrap()
            };
            let store = (&y * &w).unwrap().sum_all().unwrap().backward().unwrap();
            [g, s].map(|v| store.get(v).unwrap().to_vec1::<f32>().unwrap())
        };
        let (a, b) = (grads(true), grads(false));
        for (x, y) in a.iter().flatten().zip(b.iter().flatten()) {
            assert!((x - y).abs() < 1e-5, "{x} vs {y}");
        }
    }

    #[test]
    fn fused_ops_match_composed_values_and_gradients() {
        compare(gelu, |x| x.gelu());
        compare(softmax_last_dim, |x| {
            let e = x.exp()?;
            e.broadcast_div(&e.sum_keepdim(D::Minus1)?)
        });
        compare(
            |x| normalize_last_dim(x, 1e-5),
            |x| {
                let c = x.broadcast_sub(&x.mean_keepdim(D::Minus1)?)?;
                c.broadcast_div(&(c.sqr()?.mean_keepdim(D::Minus1)? + 1e-5)?.sqrt()?)
            },
        );
    }
}
