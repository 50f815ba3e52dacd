//! mlc training harness runtime: trains an MLP, a decoder-only transformer LM or a small CNN
//! with candle from a versioned `config.json`, with data, pipeline and model parallelism,
//! checkpoint/resume and SIGTERM handling. `mlc build` copies this crate into each training
//! job's project and generates only the config.

pub mod checkpoint;
pub mod config;
pub mod data;
pub mod dist;
pub mod fast_mlp;
pub mod metrics;
pub mod model;
#[cfg(feature = "nccl")]
pub mod nccl;
pub mod ops;
pub mod optim;
pub mod params;
pub mod pipeline;
pub mod rng;
pub mod train;

pub use config::Config;
pub use train::{train, RunOptions, TrainReport};

/// Sets the CPU threading default that measured fastest on small machines: candle's spinning
/// barrier pool fights gemm's rayon workers, so it gets one thread unless the user chose.
/// Must run before the first candle op.
pub fn apply_thread_defaults() {
    if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
        std::env::set_var("CANDLE_NUM_THREADS", "1");
    }
}
