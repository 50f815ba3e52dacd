//! NCCL data parallelism across processes (one per GPU), through cudarc's bindings that
//! candle-core re-exports (`nccl` feature).
//!
//! Rank 0 creates the NCCL unique id and serves it over TCP on MASTER_ADDR:MASTER_PORT; the
//! other ranks fetch it, then all build a communicator on candle's own CUDA stream, so NCCL
//! calls are ordered with candle's kernels without extra synchronisation. Gradients go through
//! one flat f32 buffer per step, averaged in place (`ReduceOp::Avg`).

use crate::dist::{Collective, DistEnv};
use candle_core::cuda_backend::cudarc::nccl::safe::{Comm, Id, ReduceOp};
use candle_core::{CudaStorage, Device, InplaceOp1, Layout, Result, Tensor};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// Bytes in an NCCL unique id.
const ID_BYTES: usize = 128;
/// How long non-zero ranks keep retrying to reach rank 0 (pods start at different times).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(600);

fn nccl_error(context: &str, e: impl std::fmt::Debug) -> candle_core::Error {
    candle_core::Error::Msg(format!("nccl {context}: {e:?}"))
}

/// This process's rank in an NCCL group.
pub struct NcclRank {
    comm: Comm,
    device: Device,
}

impl NcclRank {
    /// Exchanges the NCCL id over TCP and creates the communicator on `device`'s stream.
    pub fn connect(env: &DistEnv, device: &Device) -> Result<Self> {
        let id = if env.rank == 0 {
            let id = Id::new().map_err(|e| nccl_error("id", e))?;
            serve_id(env, &id)?;
            id
        } else {
            fetch_id(env)?
        };
        let stream = device.as_cuda_device()?.cuda_stream();
        let comm = Comm::from_rank(stream, env.rank, env.world_size, id)
            .map_err(|e| nccl_error("init", e))?;
        Ok(Self {
            comm,
            device: device.clone(),
        })
    }
}

fn id_bytes(id: &Id) -> [u8; ID_BYTES] {
    let mut out = [0u8; ID_BYTES];
    for (o, c) in out.iter_mut().zip(id.internal().iter()) {
        *o = *c as u8;
    }
    out
}

/// Rank 0: hand the id to each of the other `world_size - 1` ranks, on a background thread so
/// rank 0 can go on to `Comm::from_rank` (which blocks until all ranks joined).
fn serve_id(env: &DistEnv, id: &Id) -> Result<()> {
    let listener = TcpListener::bind(("0.0.0.0", env.master_port))
        .map_err(|e| nccl_error(&format!("listen on port {}", env.master_port), e))?;
    let bytes = id_bytes(id);
    let peers = env.world_size - 1;
    std::thread::spawn(move || {
        for _ in 0..peers {
            if let Ok((mut stream, _)) = listener.accept() {
                let _ = stream.write_all(&bytes);
            }
        }
    });
    Ok(())
}

/// Other ranks: connect to MASTER_ADDR:MASTER_PORT (retrying) and read the id.
fn fetch_id(env: &DistEnv) -> Result<Id> {
    let started = Instant::now();
    let address = format!("{}:{}", env.master_addr, env.master_port);
    let mut stream = loop {
        match TcpStream::connect(&address) {
            Ok(s) => break s,
            Err(e) if started.elapsed() > CONNECT_TIMEOUT => {
                return Err(nccl_error(&format!("connect to rank 0 at {address}"), e));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(500)),
        }
    };
    let mut bytes = [0u8; ID_BYTES];
    stream
        .read_exact(&mut bytes)
        .map_err(|e| nccl_error("read id", e))?;
    let mut internal = [0 as std::ffi::c_char; ID_BYTES];
    for (c, b) in internal.iter_mut().zip(bytes) {
        *c = b as std::ffi::c_char;
    }
    Ok(Id::uninit(internal))
}

/// In-place collective on a contiguous f32 CUDA tensor.
struct InPlace<'a> {
    comm: &'a Comm,
    broadcast: bool,
}

impl InplaceOp1 for InPlace<'_> {
    fn name(&self) -> &'static str {
        "nccl-in-place"
    }

    fn cpu_fwd(&self, _: &mut candle_core::CpuStorage, _: &Layout) -> Result<()> {
        candle_core::bail!("nccl collectives need CUDA tensors")
    }

    fn cuda_fwd(&self, storage: &mut CudaStorage, layout: &Layout) -> Result<()> {
        if !layout.is_contiguous() || layout.start_offset() != 0 {
            candle_core::bail!("nccl buffer must be contiguous from offset 0");
        }
        let slice = storage.as_cuda_slice_mut::<f32>()?;
        if self.broadcast {
            self.comm
                .broadcast_in_place(slice, 0)
                .map_err(|e| nccl_error("broadcast", e))?;
        } else {
            self.comm
                .all_reduce_in_place(slice, &ReduceOp::Avg)
                .map_err(|e| nccl_error("all_reduce", e))?;
        }
        Ok(())
    }
}

impl NcclRank {
    fn in_place(&self, flat: &Tensor, broadcast: bool) -> Result<()> {
        flat.inplace_op1(&InPlace {
            comm: &self.comm,
            broadcast,
        })
    }

    fn host_round_trip(&self, buffer: &mut [f32], broadcast: bool) -> Result<()> {
        let t = Tensor::from_slice(buffer, buffer.len(), &self.device)?;
        self.in_place(&t, broadcast)?;
        buffer.copy_from_slice(&t.to_vec1::<f32>()?);
        Ok(())
    }
}

impl Collective for NcclRank {
    fn rank(&self) -> usize {
        self.comm.rank()
    }
    fn world_size(&self) -> usize {
        self.comm.world_size()
    }
    fn all_reduce_mean_host(&self, buffer: &mut [f32]) -> Result<()> {
        self.host_round_trip(buffer, false)
    }
    fn all_reduce_mean_device(&self, flat: &Tensor) -> Result<Tensor> {
        // A fresh contiguous copy: the op writes in place and the input may be shared.
        let buffer = flat.to_dtype(candle_core::DType::F32)?.copy()?;
        self.in_place(&buffer, false)?;
        Ok(buffer)
    }
    fn broadcast_host(&self, buffer: &mut [f32]) -> Result<()> {
        self.host_round_trip(buffer, true)
    }
}
