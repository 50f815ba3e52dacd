//! Collectives for data parallelism: a single rank, in-process CPU ranks (threads), and NCCL
//! across processes (one per GPU, `nccl` feature).
//!
//! Every all-reduce averages one flat f32 buffer (all gradients in parameter-name order, then
//! the local loss and a stop flag), so ranks always exchange buffers of the same size and agree
//! on when to stop after a SIGTERM.

use candle_core::{Result, Tensor};
use std::sync::{Arc, Condvar, Mutex};

/// A group of data-parallel ranks.
pub trait Collective {
    fn rank(&self) -> usize;
    fn world_size(&self) -> usize;
    /// Replaces `buffer` by the mean of all ranks' buffers (same on every rank).
    fn all_reduce_mean_host(&self, buffer: &mut [f32]) -> Result<()>;
    /// Mean of a flat device tensor over all ranks.
    fn all_reduce_mean_device(&self, flat: &Tensor) -> Result<Tensor> {
        let mut host = flat.to_vec1::<f32>()?;
        self.all_reduce_mean_host(&mut host)?;
        Tensor::from_vec(host, flat.shape(), flat.device())
    }
    /// Replaces `buffer` by rank 0's copy.
    fn broadcast_host(&self, buffer: &mut [f32]) -> Result<()>;
}

/// World size 1: every collective is the identity.
pub struct SingleRank;

impl Collective for SingleRank {
    fn rank(&self) -> usize {
        0
    }
    fn world_size(&self) -> usize {
        1
    }
    fn all_reduce_mean_host(&self, _buffer: &mut [f32]) -> Result<()> {
        Ok(())
    }
    fn all_reduce_mean_device(&self, flat: &Tensor) -> Result<Tensor> {
        Ok(flat.clone())
    }
    fn broadcast_host(&self, _buffer: &mut [f32]) -> Result<()> {
        Ok(())
    }
}

/// Message a rank gets when another rank of its in-process group failed.
pub const PEER_FAILED: &str = "another data-parallel rank failed";

/// Progress of the group barrier.
#[derive(Default)]
struct BarrierState {
    arrived: usize,
    generation: u64,
    /// Set when a rank fails, so the others stop waiting instead of hanging.
    failed: bool,
}

/// Shared mailbox of an in-process group.
struct Mailbox {
    slots: Mutex<Vec<Vec<f32>>>,
    barrier: Mutex<BarrierState>,
    wake: Condvar,
}

/// One rank of an in-process CPU group (ranks are threads).
pub struct LocalRank {
    rank: usize,
    world: usize,
    mailbox: Arc<Mailbox>,
}

/// See [`LocalRank::abort_guard`].
pub struct AbortGuard<'a> {
    rank: &'a LocalRank,
    armed: bool,
}

impl AbortGuard<'_> {
    /// The rank finished cleanly: leave the group as it is.
    pub fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for AbortGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.rank.abort();
        }
    }
}

/// Creates the `world` ranks of one in-process group.
pub fn local_group(world: usize) -> Vec<LocalRank> {
    let mailbox = Arc::new(Mailbox {
        slots: Mutex::new(vec![Vec::new(); world]),
        barrier: Mutex::new(BarrierState::default()),
        wake: Condvar::new(),
    });
    (0..world)
        .map(|rank| LocalRank {
            rank,
            world,
            mailbox: mailbox.clone(),
        })
        .collect()
}

fn poisoned() -> candle_core::Error {
    candle_core::Error::Msg("a data-parallel rank panicked".into())
}

impl LocalRank {
    fn slots(&self) -> Result<std::sync::MutexGuard<'_, Vec<Vec<f32>>>> {
        self.mailbox.slots.lock().map_err(|_| poisoned())
    }

    /// Marks the group failed and wakes every waiting rank (they then return an error).
    pub fn abort(&self) {
        if let Ok(mut state) = self.mailbox.barrier.lock() {
            state.failed = true;
        }
        self.mailbox.wake.notify_all();
    }

    /// A guard that aborts the group if the rank leaves without `disarm` — by an error
    /// or by a panic unwinding through it — so the other ranks never wait forever.
    pub fn abort_guard(&self) -> AbortGuard<'_> {
        AbortGuard {
            rank: self,
            armed: true,
        }
    }

    /// Waits until every rank arrived, or fails if a rank aborted.
    fn wait(&self) -> Result<()> {
        let mut state = self.mailbox.barrier.lock().map_err(|_| poisoned())?;
        if state.failed {
            candle_core::bail!("{PEER_FAILED}");
        }
        let generation = state.generation;
        state.arrived += 1;
        if state.arrived == self.world {
            state.arrived = 0;
            state.generation += 1;
            self.mailbox.wake.notify_all();
            return Ok(());
        }
        while state.generation == generation && !state.failed {
            state = self.mailbox.wake.wait(state).map_err(|_| poisoned())?;
        }
        if state.failed {
            candle_core::bail!("{PEER_FAILED}");
        }
        Ok(())
    }

    /// Deposits `buffer`, waits for every rank, then lets `combine` read all deposits.
    fn exchange(
        &self,
        buffer: &mut [f32],
        combine: impl Fn(&[Vec<f32>], &mut [f32]),
    ) -> Result<()> {
        self.slots()?[self.rank] = buffer.to_vec();
        self.wait()?;
        {
            let slots = self.slots()?;
            if slots.iter().any(|s| s.len() != buffer.len()) {
                candle_core::bail!("ranks exchanged buffers of different sizes");
            }
            combine(&slots, buffer);
        }
        // Nobody may overwrite its slot before every rank has read all of them.
        self.wait()
    }
}

impl Collective for LocalRank {
    fn rank(&self) -> usize {
        self.rank
    }
    fn world_size(&self) -> usize {
        self.world
    }
    fn all_reduce_mean_host(&self, buffer: &mut [f32]) -> Result<()> {
        let scale = 1.0 / self.world as f32;
        self.exchange(buffer, |slots, out| {
            // Summing in rank order makes the result bit-identical on every rank.
            for (i, value) in out.iter_mut().enumerate() {
                *value = slots.iter().map(|s| s[i]).sum::<f32>() * scale;
            }
        })
    }
    fn broadcast_host(&self, buffer: &mut [f32]) -> Result<()> {
        self.exchange(buffer, |slots, out| out.copy_from_slice(&slots[0]))
    }
}

/// Rank layout of a distributed run, from the env a Kubernetes Indexed Job (or torchrun) sets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DistEnv {
    pub rank: usize,
    pub world_size: usize,
    pub local_rank: usize,
    pub master_addr: String,
    pub master_port: u16,
}

impl DistEnv {
    /// Reads RANK (or JOB_COMPLETION_INDEX), WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT.
    pub fn from_env() -> std::result::Result<Option<DistEnv>, String> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(
        get: impl Fn(&str) -> Option<String>,
    ) -> std::result::Result<Option<DistEnv>, String> {
        let Some(world) = get("WORLD_SIZE") else {
            return Ok(None);
        };
        let number = |key: &str, text: String| {
            text.trim()
                .parse::<usize>()
                .map_err(|_| format!("env {key}={text:?} is not a non-negative integer"))
        };
        let world_size = number("WORLD_SIZE", world)?;
        let rank_text = get("RANK")
            .or_else(|| get("JOB_COMPLETION_INDEX"))
            .ok_or("WORLD_SIZE is set but RANK (or JOB_COMPLETION_INDEX) is not")?;
        let rank = number("RANK", rank_text)?;
        let local_rank = match get("LOCAL_RANK") {
            Some(text) => number("LOCAL_RANK", text)?,
            None => 0,
        };
        if world_size == 0 || rank >= world_size {
            return Err(format!("RANK {rank} must be below WORLD_SIZE {world_size}"));
        }
        let master_addr = get("MASTER_ADDR").unwrap_or_else(|| "127.0.0.1".to_string());
        let port_text = get("MASTER_PORT").unwrap_or_else(|| "29500".to_string());
        let master_port = port_text
            .trim()
            .parse::<u16>()
            .map_err(|_| format!("env MASTER_PORT={port_text:?} is not a port number"))?;
        Ok(Some(DistEnv {
            rank,
            world_size,
            local_rank,
            master_addr,
            master_port,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_group_averages_and_broadcasts() {
        let handles: Vec<_> = local_group(3)
            .into_iter()
            .map(|rank| {
                std::thread::spawn(move || {
                    let r = rank.rank() as f32;
                    let mut buf = vec![r, 10.0 * r];
                    rank.all_reduce_mean_host(&mut buf).unwrap();
                    let mut b = vec![r + 5.0];
                    rank.broadcast_host(&mut b).unwrap();
                    (buf, b)
                })
            })
            .collect();
        for h in handles {
            let (mean, bcast) = h.join().unwrap();
            assert_eq!(mean, vec![1.0, 10.0]);
            assert_eq!(bcast, vec![5.0]);
        }
    }

    #[test]
    fn a_failed_rank_releases_the_others() {
        let mut ranks = local_group(3);
        let failing = ranks.pop().unwrap();
        let waiting: Vec<_> = ranks
            .into_iter()
            .map(|rank| std::thread::spawn(move || rank.all_reduce_mean_host(&mut [1.0])))
            .collect();
        failing.abort();
        for h in waiting {
            let err = h.join().unwrap().unwrap_err();
            assert!(err.to_string().contains(PEER_FAILED));
        }
    }

    #[test]
    fn a_panicking_rank_releases_the_others() {
        let mut ranks = local_group(2);
        let panicking = ranks.pop().unwrap();
        let waiting = ranks.pop().unwrap();
        let waiter = std::thread::spawn(move || waiting.all_reduce_mean_host(&mut [1.0]));
        let crashed = std::thread::spawn(move || {
            let _guard = panicking.abort_guard();
            panic!("simulated crash inside a training step");
        });
        assert!(crashed.join().is_err());
        let err = waiter.join().unwrap().unwrap_err();
        assert!(err.to_string().contains(PEER_FAILED));
    }

    #[test]
    fn a_disarmed_guard_leaves_the_group_working() {
        let ranks = local_group(2);
        let handles: Vec<_> = ranks
            .into_iter()
            .map(|rank| {
                std::thread::spawn(move || {
                    rank.abort_guard().disarm();
                    rank.all_reduce_mean_host(&mut [2.0])
                })
            })
            .collect();
        for h in handles {
            assert!(h.join().unwrap().is_ok());
        }
    }

    #[test]
    fn env_parsing() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(DistEnv::from_lookup(env(&[])).unwrap(), None);
        let d = DistEnv::from_lookup(env(&[("WORLD_SIZE", "4"), ("JOB_COMPLETION_INDEX", "2")]))
            .unwrap()
            .unwrap();
        assert_eq!((d.rank, d.world_size, d.master_port), (2, 4, 29500));
        assert!(DistEnv::from_lookup(env(&[("WORLD_SIZE", "2"), ("RANK", "2")])).is_err());
        assert!(DistEnv::from_lookup(env(&[("WORLD_SIZE", "x"), ("RANK", "0")])).is_err());
        assert!(DistEnv::from_lookup(env(&[("WORLD_SIZE", "2")])).is_err());
    }
}
