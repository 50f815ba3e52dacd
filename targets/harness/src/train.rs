//! The training loop: one rank's steps (data, forward/backward, all-reduce, clip, update,
//! metrics, checkpoints) and the launcher that picks devices and ranks from the config and env.

use crate::checkpoint::{self, TrainState, CHECKPOINT_VERSION};
use crate::config::{
    block_count, Config, DeviceKind, ModelConfig, Parallelism, Precision, Sharding,
};
use crate::data::DataStream;
use crate::dist::{Collective, DistEnv, SingleRank};
use crate::metrics::{resident_memory_mb, MetricsSink, StepMetrics};
use crate::model::{loss, Model, Task};
use crate::optim::{learning_rate, Gradients, Optimizer};
use crate::pipeline::{gpipe_step, StagePlan};
use candle_core::{backprop::GradStore, DType, Device, Tensor};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

pub type Error = Box<dyn std::error::Error + Send + Sync>;
pub type Result<T> = std::result::Result<T, Error>;

/// Command-line overrides and runtime hooks.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    pub max_steps: Option<u64>,
    pub synthetic: bool,
    pub checkpoint_dir: Option<PathBuf>,
    pub resume: bool,
    /// Set by the SIGTERM handler; training checkpoints and stops when it is set.
    pub stop: Arc<AtomicBool>,
    /// Print JSON-lines metrics on stdout (the CLI does; tests collect them from the report).
    pub print_metrics: bool,
    /// Test hook: behave as if SIGTERM arrived right after this step.
    pub stop_after_step: Option<u64>,
}

/// What a run did (from rank 0's point of view).
#[derive(Clone, Debug, Default)]
pub struct TrainReport {
    /// Steps completed in total, including those before a resume.
    pub steps_done: u64,
    /// Every step's metrics of this invocation.
    pub metrics: Vec<StepMetrics>,
    /// True when a stop signal ended the run early.
    pub stopped_by_signal: bool,
    pub last_checkpoint: Option<PathBuf>,
    /// The trained model's weights file, when the run completed and the config has `output`.
    pub model_output: Option<PathBuf>,
    /// Final parameters, flat in name order.
    pub final_params: Vec<f32>,
}

/// How a rank runs forward/backward.
enum Engine {
    /// Whole model on one device.
    Plain(Device),
    /// Stages over devices; `micro_batches` = 1 is model parallelism.
    Staged {
        plan: StagePlan,
        micro_batches: usize,
    },
}

impl Engine {
    fn first_device(&self) -> Device {
        match self {
            Engine::Plain(d) => d.clone(),
            Engine::Staged { plan, .. } => plan.devices[0].clone(),
        }
    }
}

/// Runs training as configured: picks the device, the ranks and the engine.
pub fn train(config: &Config, opts: &RunOptions) -> Result<TrainReport> {
    let device_kind = resolve_device(config.device)?;
    // Data parallelism: ranks of one device each, or (pipeline replicas) of a pipeline each.
    if let Parallelism::Data { .. } | Parallelism::Pipeline { .. } = config.parallelism {
        if let Some(env) = DistEnv::from_env()? {
            if env.world_size > 1 {
                return train_multi_process(config, opts, env, device_kind);
            }
        }
        let world = config.configured_world_size();
        if world > 1 {
            return train_in_process(config, opts, world, device_kind);
        }
    }
    let engine = make_engine(config, device_kind, 0)?;
    train_rank(config, opts, &SingleRank, engine)
}

/// Which backend "auto" means in this build on this machine.
fn resolve_device(kind: DeviceKind) -> Result<DeviceKind> {
    match kind {
        DeviceKind::Cpu => Ok(DeviceKind::Cpu),
        DeviceKind::Cuda if candle_core::utils::cuda_is_available() => Ok(DeviceKind::Cuda),
        DeviceKind::Cuda => Err(
            "device = cuda, but this harness was built without the `cuda` feature or no GPU is visible"
                .into(),
        ),
        DeviceKind::Auto if candle_core::utils::cuda_is_available() => Ok(DeviceKind::Cuda),
        DeviceKind::Auto => Ok(DeviceKind::Cpu),
    }
}

fn device(kind: DeviceKind, ordinal: usize) -> Result<Device> {
    Ok(match kind {
        DeviceKind::Cuda => Device::new_cuda(ordinal)?,
        _ => Device::Cpu,
    })
}

/// `ordinal` is the GPU of a data-parallel rank; stages use GPUs `ordinal + stage`.
fn make_engine(config: &Config, kind: DeviceKind, ordinal: usize) -> Result<Engine> {
    let (stages, micro_batches, boundaries) = match &config.parallelism {
        Parallelism::Pipeline {
            stages,
            micro_batches,
            boundaries,
            ..
        } => (*stages, *micro_batches, boundaries.clone()),
        Parallelism::Model { stages, boundaries } => (*stages, 1, boundaries.clone()),
        _ => return Ok(Engine::Plain(device(kind, ordinal)?)),
    };
    let devices = (0..stages)
        .map(|s| device(kind, ordinal + s))
        .collect::<Result<Vec<_>>>()?;
    let plan = StagePlan::new(
        block_count(&config.model),
        stages,
        boundaries.as_deref(),
        devices,
    );
    Ok(Engine::Staged {
        plan,
        micro_batches,
    })
}

/// CPU (or single-host multi-GPU) data parallelism: one thread per rank.
fn train_in_process(
    config: &Config,
    opts: &RunOptions,
    world: usize,
    kind: DeviceKind,
) -> Result<TrainReport> {
    let ranks = crate::dist::local_group(world);
    let results: Vec<Result<TrainReport>> = std::thread::scope(|scope| {
        let handles: Vec<_> = ranks
            .into_iter()
            .map(|rank| {
                scope.spawn(move || {
                    let ordinal = if kind == DeviceKind::Cuda {
                        rank.rank() * config.devices_per_rank()
                    } else {
                        0
                    };
                    // On an error or a panic the guard releases the ranks blocked in a
                    // collective instead of leaving them hanging.
                    let guard = rank.abort_guard();
                    let result = make_engine(config, kind, ordinal)
                        .and_then(|engine| train_rank(config, opts, &rank, engine));
                    if result.is_ok() {
                        guard.disarm();
                    }
                    result
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("a rank panicked".into())))
            .collect()
    });
    // Report the failing rank's own error, not the "peer failed" of the ranks it released.
    let mut reports = Vec::new();
    let mut peer_failed = None;
    for result in results {
        match result {
            Ok(report) => reports.push(report),
            Err(e) if e.to_string().contains(crate::dist::PEER_FAILED) => peer_failed = Some(e),
            Err(e) => return Err(e),
        }
    }
    if let Some(e) = peer_failed {
        return Err(e);
    }
    reports
        .into_iter()
        .next()
        .ok_or_else(|| "no ranks ran".into())
}

#[cfg(feature = "nccl")]
fn train_multi_process(
    config: &Config,
    opts: &RunOptions,
    env: DistEnv,
    kind: DeviceKind,
) -> Result<TrainReport> {
    if kind != DeviceKind::Cuda {
        return Err(
            "WORLD_SIZE > 1 needs CUDA devices (NCCL); use parallelism.world_size for CPU ranks"
                .into(),
        );
    }
    // A pipeline replica's stages use the GPUs after its first.
    let ordinal = env.local_rank * config.devices_per_rank();
    let engine = make_engine(config, kind, ordinal)?;
    let comm = crate::nccl::NcclRank::connect(&env, &engine.first_device())?;
    train_rank(config, opts, &comm, engine)
}

#[cfg(not(feature = "nccl"))]
fn train_multi_process(
    _config: &Config,
    _opts: &RunOptions,
    env: DistEnv,
    _kind: DeviceKind,
) -> Result<TrainReport> {
    Err(format!(
        "WORLD_SIZE={} asks for multi-process data parallelism, which needs a build with \
         `--features nccl`; for CPU ranks unset WORLD_SIZE and set parallelism.world_size",
        env.world_size
    )
    .into())
}

/// Everything a rank needs during its loop.
struct RankContext<'a> {
    config: &'a Config,
    opts: &'a RunOptions,
    comm: &'a dyn Collective,
    engine: Engine,
    model: Model,
    data: DataStream,
    dtype: DType,
    per_rank: usize,
    checkpoint_dir: PathBuf,
}

fn compute_dtype(precision: Precision, device: &Device) -> DType {
    match (precision, device.is_cpu()) {
        (_, true) | (Precision::F32, false) => DType::F32,
        (Precision::Bf16, false) => DType::BF16,
        (Precision::F16, false) => DType::F16,
    }
}

/// One rank's training run.
fn train_rank(
    config: &Config,
    opts: &RunOptions,
    comm: &dyn Collective,
    engine: Engine,
) -> Result<TrainReport> {
    let block_devices = match &engine {
        Engine::Plain(d) => vec![d.clone(); block_count(&config.model)],
        Engine::Staged { plan, .. } => plan.block_devices(),
    };
    let model = Model::build(&config.model, config.seed, &block_devices)?;
    let first = engine.first_device();
    let dtype = compute_dtype(config.precision, &first);
    if comm.rank() == 0 {
        // mlc's tests compare this with the spec's parameter count.
        eprintln!("model: {} parameters", model.params.total_elems());
    }
    if comm.rank() == 0 && dtype == DType::F32 && config.precision != Precision::F32 {
        eprintln!("note: precision {:?} runs as f32 on CPU", config.precision);
    }
    let data = DataStream::open(
        &config.data,
        &config.model,
        config.seed,
        opts.synthetic,
        comm.rank(),
        comm.world_size(),
    )?;
    let chunk = config.batch.size / config.batch.grad_accum_steps;
    if !chunk.is_multiple_of(comm.world_size()) {
        return Err(format!(
            "batch.size / batch.grad_accum_steps = {chunk} is not divisible by the world size {}",
            comm.world_size()
        )
        .into());
    }
    let checkpoint_dir = opts
        .checkpoint_dir
        .clone()
        .unwrap_or_else(|| config.checkpoint.dir.clone());
    let mut ctx = RankContext {
        config,
        opts,
        comm,
        engine,
        model,
        data,
        dtype,
        per_rank: chunk / comm.world_size(),
        checkpoint_dir,
    };
    run_loop(&mut ctx)
}

/// Total optimizer steps: CLI, then config steps, then epochs over the data.
fn total_steps(ctx: &RankContext) -> Result<u64> {
    if let Some(steps) = ctx.opts.max_steps.or(ctx.config.training.max_steps) {
        return Ok(steps);
    }
    let epochs = ctx.config.training.max_epochs.unwrap_or(1);
    let Some(samples) = ctx.data.samples_per_epoch() else {
        return Err(
            "synthetic data has no epochs: pass --max-steps or set training.max_steps".into(),
        );
    };
    let per_step = match data_sharding(ctx.config) {
        Sharding::Batch => ctx.config.batch.size as u64,
        Sharding::Files => (ctx.config.batch.size / ctx.comm.world_size()) as u64,
    };
    // Ranks with file sharding see different amounts of data; they must agree on the count.
    let mut local = [(epochs * samples).div_ceil(per_step) as f32];
    ctx.comm.all_reduce_mean_host(&mut local)?;
    Ok((local[0].floor() as u64).max(1))
}

fn data_sharding(config: &Config) -> Sharding {
    match &config.data {
        crate::config::DataConfig::Files { sharding, .. } => *sharding,
        crate::config::DataConfig::Synthetic => Sharding::Batch,
    }
}

/// Global data position of accumulation chunk `accum` of `step` for this rank.
fn sample_position(ctx: &RankContext, step: u64, accum: usize) -> u64 {
    let b = ctx.config.batch.size as u64;
    let chunk = b / ctx.config.batch.grad_accum_steps as u64;
    let rank = ctx.comm.rank() as u64;
    let per_rank = ctx.per_rank as u64;
    match data_sharding(ctx.config) {
        Sharding::Batch => step * b + accum as u64 * chunk + rank * per_rank,
        Sharding::Files => step * (b / ctx.comm.world_size() as u64) + accum as u64 * per_rank,
    }
}

fn run_loop(ctx: &mut RankContext) -> Result<TrainReport> {
    let total = total_steps(ctx)?;
    let mut optimizer = Optimizer::new(&ctx.config.optimizer, &ctx.model.params)?;
    let mut step = resume_if_asked(ctx, &mut optimizer)?;
    sync_initial_weights(ctx, &mut optimizer)?;
    let is_root = ctx.comm.rank() == 0;
    let mut sink = MetricsSink::new(
        is_root && ctx.opts.print_metrics,
        is_root && ctx.config.metrics.progress_bar,
        total,
    );
    let mut report = TrainReport::default();
    let mut last_saved = Instant::now();
    while step < total {
        let started = Instant::now();
        let lr = learning_rate(
            ctx.config.optimizer.base_lr(),
            &ctx.config.schedule,
            step,
            total,
        );
        let (mut grads, loss_value, stop) = step_gradients(ctx, &optimizer, step)?;
        let grad_norm = match ctx.config.grad_clip_norm {
            Some(max) => grads.clip(max)?,
            None => grads.norm()?,
        };
        optimizer.step(&ctx.model.params, &grads, lr)?;
        step += 1;
        let metrics = step_metrics(ctx, step, loss_value, lr, grad_norm, started);
        if is_root && (step % ctx.config.metrics.log_every_steps == 0 || step == total) {
            sink.log(&metrics);
        }
        report.metrics.push(metrics);
        // Only rank 0 writes, so its clock alone decides.
        let periodic = checkpoint_due(&ctx.config.checkpoint, step, last_saved.elapsed());
        if stop || periodic || (step == total && ctx.config.checkpoint.at_end) {
            report.last_checkpoint =
                write_checkpoint(ctx, &optimizer, step)?.or(report.last_checkpoint);
            last_saved = Instant::now();
        }
        if stop {
            report.stopped_by_signal = true;
            break;
        }
    }
    sink.finish();
    if !report.stopped_by_signal && step == total {
        report.model_output = export_model(ctx)?;
        // A finished run that delivered its model leaves no checkpoints: the next run (a
        // scheduled retraining) starts anew instead of resuming at the last step.
        if report.model_output.is_some() {
            checkpoint::clear(&ctx.checkpoint_dir);
        }
    }
    report.steps_done = step;
    report.final_params = ctx.model.params.to_flat_host()?;
    Ok(report)
}

/// Whether a periodic checkpoint is due after `step`, `since_last` after the last one (or
/// the start): every `every_steps` steps, or once `every_seconds` have passed.
fn checkpoint_due(
    config: &crate::config::CheckpointConfig,
    step: u64,
    since_last: std::time::Duration,
) -> bool {
    (config.every_steps > 0 && step.is_multiple_of(config.every_steps))
        || (config.every_seconds > 0 && since_last.as_secs() >= config.every_seconds)
}

/// Loads the latest checkpoint when `--resume` is given; returns the step to start at.
fn resume_if_asked(ctx: &RankContext, optimizer: &mut Optimizer) -> Result<u64> {
    if !ctx.opts.resume {
        return Ok(0);
    }
    let Some(folder) = checkpoint::latest(&ctx.checkpoint_dir)? else {
        if ctx.comm.rank() == 0 {
            eprintln!(
                "resume: no checkpoint in {}, starting fresh",
                ctx.checkpoint_dir.display()
            );
        }
        return Ok(0);
    };
    let model_json = serde_json::to_value(&ctx.config.model)?;
    let state = checkpoint::load(&folder, &ctx.model.params, optimizer, &model_json)?;
    if ctx.comm.rank() == 0 {
        eprintln!("resume: step {} from {}", state.step, folder.display());
    }
    Ok(state.step)
}

/// Makes every rank start from rank 0's weights (init is seeded, this guards the rest).
fn sync_initial_weights(ctx: &RankContext, optimizer: &mut Optimizer) -> Result<()> {
    if ctx.comm.world_size() == 1 {
        return Ok(());
    }
    let params = &ctx.model.params;
    let mut flat = params.to_flat_host()?;
    ctx.comm.broadcast_host(&mut flat)?;
    params.set_from_flat_host(&flat)?;
    optimizer.reload_master_copy(params)?;
    Ok(())
}

/// Forward/backward over all accumulation chunks, then the all-reduce.
/// Returns (averaged gradients, global mean loss, whether all ranks must stop now).
fn step_gradients(
    ctx: &mut RankContext,
    optimizer: &Optimizer,
    step: u64,
) -> Result<(Gradients, f32, bool)> {
    let accum = ctx.config.batch.grad_accum_steps;
    let scale = 1.0 / accum as f64;
    let mut summed: Option<Vec<Tensor>> = None;
    let mut loss_sum = 0.0f32;
    for a in 0..accum {
        let first = sample_position(ctx, step, a);
        let (x, y) = ctx.data.batch(first, ctx.per_rank)?;
        let (loss_value, grads) = forward_backward(ctx, &x, &y, scale)?;
        loss_sum += loss_value;
        summed = Some(match summed {
            None => grads,
            Some(acc) => acc
                .iter()
                .zip(&grads)
                .map(|(a, g)| a + g)
                .collect::<candle_core::Result<_>>()?,
        });
    }
    let grads = summed.ok_or("grad_accum_steps must be at least 1")?;
    let stop_requested =
        ctx.opts.stop.load(Ordering::SeqCst) || ctx.opts.stop_after_step == Some(step + 1);
    let mut tail = [loss_sum, f32::from(u8::from(stop_requested))];
    let grads = if optimizer.uses_host_buffers() {
        let mut flat = Vec::with_capacity(ctx.model.params.total_elems() + 2);
        for g in &grads {
            flat.extend(g.flatten_all()?.to_vec1::<f32>()?);
        }
        flat.extend_from_slice(&tail);
        ctx.comm.all_reduce_mean_host(&mut flat)?;
        tail[1] = flat.pop().unwrap_or(0.0);
        tail[0] = flat.pop().unwrap_or(0.0);
        Gradients::Host(flat)
    } else {
        ctx.comm.all_reduce_mean_host(&mut tail)?;
        Gradients::Device(all_reduce_device(ctx, grads)?)
    };
    Ok((grads, tail[0], tail[1] > 0.0))
}

/// Device gradients: one flat buffer per step through the collective (on the rank's first
/// device: a pipeline's stages hold theirs on several), split back onto each gradient's own.
fn all_reduce_device(ctx: &RankContext, grads: Vec<Tensor>) -> Result<Vec<Tensor>> {
    if ctx.comm.world_size() == 1 {
        return Ok(grads);
    }
    let first = ctx.engine.first_device();
    let flat: Vec<Tensor> = grads
        .iter()
        .map(|g| g.flatten_all()?.to_device(&first))
        .collect::<candle_core::Result<_>>()?;
    let reduced = ctx.comm.all_reduce_mean_device(&Tensor::cat(&flat, 0)?)?;
    let mut offset = 0;
    let mut out = Vec::with_capacity(grads.len());
    for g in &grads {
        let n = g.elem_count();
        let part = reduced.narrow(0, offset, n)?.reshape(g.shape())?;
        out.push(part.to_device(g.device())?);
        offset += n;
    }
    Ok(out)
}

/// Loss value (scaled) and per-parameter gradients of one chunk.
fn forward_backward(
    ctx: &RankContext,
    x: &Tensor,
    y: &Tensor,
    scale: f64,
) -> Result<(f32, Vec<Tensor>)> {
    match &ctx.engine {
        Engine::Plain(device) => {
            let x = x.to_device(device)?;
            let y = y.to_device(device)?;
            if let (ModelConfig::Mlp { hidden, .. }, DType::F32) = (&ctx.config.model, ctx.dtype) {
                let params = &ctx.model.params;
                return Ok(crate::fast_mlp::forward_backward(
                    params,
                    hidden.len(),
                    &x,
                    &y,
                    scale,
                )?);
            }
            let logits = ctx.model.forward(&x, ctx.dtype)?;
            let l = (loss(ctx.model.task, &logits, &y)? * scale)?;
            let store = l.backward()?;
            Ok((l.to_scalar::<f32>()?, param_grads(&ctx.model, &store)?))
        }
        Engine::Staged {
            plan,
            micro_batches,
        } => {
            let out = gpipe_step(&ctx.model, plan, x, y, *micro_batches, ctx.dtype, scale)?;
            Ok((out.loss, param_grads(&ctx.model, &out.grads)?))
        }
    }
}

/// Per-parameter f32 gradients in name order; zeros where a parameter got none, so every
/// rank's buffer has the same layout.
fn param_grads(model: &Model, store: &GradStore) -> Result<Vec<Tensor>> {
    let mut out = Vec::with_capacity(model.params.params.len());
    for p in &model.params.params {
        let g = match store.get(p.var.as_tensor()) {
            Some(g) => g.to_dtype(DType::F32)?,
            None => p.var.zeros_like()?,
        };
        out.push(g);
    }
    Ok(out)
}

fn step_metrics(
    ctx: &RankContext,
    step: u64,
    loss_value: f32,
    lr: f64,
    grad_norm: f64,
    started: Instant,
) -> StepMetrics {
    let seconds = started.elapsed().as_secs_f64().max(1e-9);
    let samples = ctx.config.batch.size as f64;
    let tokens_per_s = match (&ctx.config.model, ctx.model.task) {
        (ModelConfig::Transformer { seq_len, .. }, Task::LanguageModel) => {
            Some(samples * *seq_len as f64 / seconds)
        }
        _ => None,
    };
    StepMetrics {
        step,
        loss: loss_value,
        lr,
        grad_norm,
        samples_per_s: samples / seconds,
        tokens_per_s,
        step_time_ms: seconds * 1e3,
        mem_rss_mb: resident_memory_mb(),
        world_size: ctx.comm.world_size(),
    }
}

/// The trained model into `output.dir` once training is complete; rank 0 writes (the others
/// hold identical weights).
fn export_model(ctx: &RankContext) -> Result<Option<PathBuf>> {
    let Some(output) = &ctx.config.output else {
        return Ok(None);
    };
    if ctx.comm.rank() != 0 {
        return Ok(None);
    }
    let model = serde_json::to_value(&ctx.config.model)?;
    Ok(Some(checkpoint::export(
        &output.dir,
        &ctx.model.params,
        &model,
    )?))
}

/// Rank 0 writes; the others skip (they hold identical weights).
fn write_checkpoint(
    ctx: &RankContext,
    optimizer: &Optimizer,
    step: u64,
) -> Result<Option<PathBuf>> {
    if ctx.comm.rank() != 0 {
        return Ok(None);
    }
    let state = TrainState {
        checkpoint_version: CHECKPOINT_VERSION,
        step,
        samples_seen: step * ctx.config.batch.size as u64,
        optimizer_steps: optimizer.steps_done,
        model: serde_json::to_value(&ctx.config.model)?,
        param_names: ctx.model.params.names(),
    };
    let folder = checkpoint::save(
        &ctx.checkpoint_dir,
        &ctx.model.params,
        optimizer,
        &state,
        ctx.config.checkpoint.keep,
    )?;
    Ok(Some(folder))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_come_by_the_clock_or_by_steps() {
        use std::time::Duration;
        let mut config = crate::config::CheckpointConfig {
            every_seconds: 900,
            ..Default::default()
        };
        assert!(!checkpoint_due(&config, 7, Duration::from_secs(899)));
        assert!(checkpoint_due(&config, 7, Duration::from_secs(900)));
        config.every_seconds = 0;
        assert!(!checkpoint_due(&config, 7, Duration::from_secs(100_000)));
        config.every_steps = 7;
        assert!(checkpoint_due(&config, 7, Duration::ZERO));
        assert!(!checkpoint_due(&config, 8, Duration::ZERO));
    }
}
