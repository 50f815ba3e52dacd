//! Named trainable parameters, kept sorted by name, with seeded deterministic initialisation.
//!
//! candle's `VarMap` iterates in HashMap order and cannot seed CPU init; this store fixes both:
//! every rank builds bit-identical weights from the config seed, and every flat buffer
//! (all-reduce, optimizer state, checkpoint) uses the same name order.

use crate::rng::{hash_name, SeededRng};
use candle_core::{DType, Device, Result, Tensor, Var};

/// How a parameter is initialised.
#[derive(Clone, Copy, Debug)]
pub enum Init {
    /// Normal(0, std).
    Normal(f32),
    Zeros,
    Ones,
}

/// One trainable tensor (always f32: the master copy; compute may cast it).
#[derive(Clone, Debug)]
pub struct Param {
    pub name: String,
    pub var: Var,
}

impl Param {
    pub fn elem_count(&self) -> usize {
        self.var.elem_count()
    }
}

/// Collects parameters while a model is built; `finish` sorts them by name.
pub struct ParamBuilder {
    seed: u64,
    device: Device,
    params: Vec<Param>,
}

impl ParamBuilder {
    pub fn new(seed: u64, device: Device) -> Self {
        Self {
            seed,
            device,
            params: Vec::new(),
        }
    }

    /// Parameters created from now on live on `device` (pipeline stages place blocks this way).
    pub fn set_device(&mut self, device: Device) {
        self.device = device;
    }

    /// Creates a parameter; its values depend only on the seed and its name.
    pub fn param(&mut self, name: &str, shape: &[usize], init: Init) -> Result<Tensor> {
        let count: usize = shape.iter().product();
        let values: Vec<f32> = match init {
            Init::Zeros => vec![0.0; count],
            Init::Ones => vec![1.0; count],
            Init::Normal(std) => {
                let mut rng = SeededRng::derive(self.seed, hash_name(name));
                (0..count).map(|_| rng.normal() * std).collect()
            }
        };
        let tensor = Tensor::from_vec(values, shape, &self.device)?;
        let var = Var::from_tensor(&tensor)?;
        let handle = var.as_tensor().clone();
        self.params.push(Param {
            name: name.to_string(),
            var,
        });
        Ok(handle)
    }

    pub fn finish(mut self) -> ParamStore {
        self.params.sort_by(|a, b| a.name.cmp(&b.name));
        ParamStore {
            params: self.params,
        }
    }
}

/// All trainable parameters of a model, sorted by name.
#[derive(Clone, Debug, Default)]
pub struct ParamStore {
    pub params: Vec<Param>,
}

impl ParamStore {
    pub fn total_elems(&self) -> usize {
        self.params.iter().map(Param::elem_count).sum()
    }

    pub fn names(&self) -> Vec<String> {
        self.params.iter().map(|p| p.name.clone()).collect()
    }

    /// Concatenates all parameters (name order) into one host f32 vector.
    pub fn to_flat_host(&self) -> Result<Vec<f32>> {
        let mut flat = Vec::with_capacity(self.total_elems());
        for p in &self.params {
            flat.extend(tensor_to_host_f32(p.var.as_tensor())?);
        }
        Ok(flat)
    }

    /// Overwrites all parameters from a flat host f32 vector in name order.
    pub fn set_from_flat_host(&self, flat: &[f32]) -> Result<()> {
        let mut offset = 0;
        for p in &self.params {
            let n = p.elem_count();
            let slice = flat.get(offset..offset + n).ok_or_else(|| {
                candle_core::Error::Msg(format!("flat buffer too short for {}", p.name))
            })?;
            let t = Tensor::from_slice(slice, p.var.shape(), p.var.device())?;
            p.var.set(&t)?;
            offset += n;
        }
        Ok(())
    }
}

/// Copies any tensor to a host `Vec<f32>` (row-major).
pub fn tensor_to_host_f32(t: &Tensor) -> Result<Vec<f32>> {
    t.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_depends_only_on_seed_and_name() {
        let build = |order: &[&str]| {
            let mut b = ParamBuilder::new(5, Device::Cpu);
            for n in order {
                b.param(n, &[3, 2], Init::Normal(1.0)).unwrap();
            }
            b.finish().to_flat_host().unwrap()
        };
        assert_eq!(build(&["a", "b"]), build(&["b", "a"]));
        let mut other = ParamBuilder::new(6, Device::Cpu);
        other.param("a", &[3, 2], Init::Normal(1.0)).unwrap();
        other.param("b", &[3, 2], Init::Normal(1.0)).unwrap();
        assert_ne!(build(&["a", "b"]), other.finish().to_flat_host().unwrap());
    }

    #[test]
    fn flat_round_trip() {
        let mut b = ParamBuilder::new(1, Device::Cpu);
        b.param("w", &[2, 2], Init::Normal(1.0)).unwrap();
        b.param("b", &[3], Init::Zeros).unwrap();
        let store = b.finish();
        assert_eq!(store.names(), vec!["b", "w"]);
        let flat: Vec<f32> = (0..7).map(|i| i as f32).collect();
        store.set_from_flat_host(&flat).unwrap();
        assert_eq!(store.to_flat_host().unwrap(), flat);
    }
}
