//! Training data: seeded synthetic data for smoke runs, and real shards (`.npy`, safetensors,
//! CSV) read from a mounted path.
//!
//! A batch is addressed by the global index of its first sample, so "data position" in a
//! checkpoint is just the step number, and every rank can compute its own slice of any batch.

use crate::config::{DataConfig, DataFormat, ModelConfig, Sharding};
use crate::rng::{permutation, SeededRng};
use candle_core::{DType, Device, Error, Result, Tensor};
use std::path::{Path, PathBuf};

fn msg(text: impl Into<String>) -> Error {
    Error::Msg(text.into())
}

/// Input and target shapes one sample has for a model.
#[derive(Clone, Debug)]
enum SampleShape {
    /// Feature vector / image of `dims` (without the batch dim) and a class id.
    Classify { dims: Vec<usize>, classes: usize },
    /// `seq_len` input tokens and `seq_len` next-token targets.
    Tokens { seq_len: usize, vocab: usize },
}

fn sample_shape(model: &ModelConfig) -> SampleShape {
    match model {
        ModelConfig::Mlp {
            input_dim,
            num_classes,
            ..
        } => SampleShape::Classify {
            dims: vec![*input_dim],
            classes: *num_classes,
        },
        ModelConfig::Cnn {
            image_size,
            in_channels,
            num_classes,
            ..
        } => SampleShape::Classify {
            dims: vec![*in_channels, *image_size, *image_size],
            classes: *num_classes,
        },
        ModelConfig::Transformer {
            seq_len,
            vocab_size,
            ..
        } => SampleShape::Tokens {
            seq_len: *seq_len,
            vocab: *vocab_size,
        },
    }
}

/// `count` synthetic samples starting at global sample index `first` (pure in its inputs).
///
/// Classification: each class has a seeded template; a sample is its class's template plus
/// unit noise. Tokens: arithmetic sequences `(a + i * stride) mod vocab`, so the next token is
/// predictable from context and the loss can fall well below `ln(vocab)`.
pub fn synthetic_batch(
    model: &ModelConfig,
    seed: u64,
    first: u64,
    count: usize,
) -> Result<(Tensor, Tensor)> {
    match sample_shape(model) {
        SampleShape::Classify { dims, classes } => {
            synthetic_classify(&dims, classes, seed, first, count)
        }
        SampleShape::Tokens { seq_len, vocab } => {
            synthetic_tokens(seq_len, vocab, seed, first, count)
        }
    }
}

fn synthetic_classify(
    dims: &[usize],
    classes: usize,
    seed: u64,
    first: u64,
    count: usize,
) -> Result<(Tensor, Tensor)> {
    let width: usize = dims.iter().product();
    let templates: Vec<Vec<f32>> = (0..classes)
        .map(|c| {
            let mut rng = SeededRng::derive(seed, 0x7E37 + c as u64);
            (0..width).map(|_| rng.normal()).collect()
        })
        .collect();
    let mut features = Vec::with_capacity(count * width);
    let mut labels = Vec::with_capacity(count);
    for i in 0..count as u64 {
        let mut rng = SeededRng::derive(seed, first + i);
        let class = rng.below(classes as u64) as usize;
        labels.push(class as u32);
        features.extend(templates[class].iter().map(|t| t + rng.normal()));
    }
    let mut shape = vec![count];
    shape.extend_from_slice(dims);
    Ok((
        Tensor::from_vec(features, shape, &Device::Cpu)?,
        Tensor::from_vec(labels, count, &Device::Cpu)?,
    ))
}

fn synthetic_tokens(
    seq_len: usize,
    vocab: usize,
    seed: u64,
    first: u64,
    count: usize,
) -> Result<(Tensor, Tensor)> {
    let mut inputs = Vec::with_capacity(count * seq_len);
    let mut targets = Vec::with_capacity(count * seq_len);
    for i in 0..count as u64 {
        let mut rng = SeededRng::derive(seed, first + i);
        let start = rng.below(vocab as u64);
        let stride = 1 + rng.below(3);
        let token = |t: u64| ((start + t * stride) % vocab as u64) as u32;
        inputs.extend((0..seq_len as u64).map(token));
        targets.extend((1..=seq_len as u64).map(token));
    }
    Ok((
        Tensor::from_vec(inputs, (count, seq_len), &Device::Cpu)?,
        Tensor::from_vec(targets, (count, seq_len), &Device::Cpu)?,
    ))
}

/// Samples loaded from files, in host memory.
enum Loaded {
    Classify {
        features: Vec<f32>,
        labels: Vec<u32>,
    },
    Tokens {
        tokens: Vec<u32>,
    },
}

/// The data a rank trains on.
pub struct DataStream {
    model: ModelConfig,
    seed: u64,
    shape: SampleShape,
    loaded: Option<Loaded>,
    /// Cached shuffle of the current epoch: (epoch, order).
    epoch_order: Option<(u64, Vec<usize>)>,
}

impl DataStream {
    /// Opens the configured data; `synthetic` overrides the config (the `--synthetic` flag).
    pub fn open(
        data: &DataConfig,
        model: &ModelConfig,
        seed: u64,
        synthetic: bool,
        rank: usize,
        world: usize,
    ) -> Result<Self> {
        let shape = sample_shape(model);
        let loaded = match data {
            DataConfig::Files { .. } if synthetic => None,
            DataConfig::Synthetic => None,
            DataConfig::Files {
                format,
                path,
                sharding,
                label_column,
                csv_header,
                also,
            } => {
                // Every dataset's shards, in the order the datasets are listed.
                let mut shards = Vec::new();
                let sources = std::iter::once((path, *format))
                    .chain(also.iter().map(|s| (&s.path, s.format)));
                for (path, format) in sources {
                    let listed = list_shards(path, format, &shape)?;
                    shards.extend(listed.into_iter().map(|shard| (shard, format)));
                }
                if *sharding == Sharding::Files && world > 1 {
                    shards = shards.into_iter().skip(rank).step_by(world).collect();
                    if shards.is_empty() {
                        return Err(msg(format!(
                            "data.sharding = files: rank {rank} of {world} has no shard under {}",
                            path.display()
                        )));
                    }
                }
                let csv = CsvOptions {
                    label_column: *label_column,
                    header: *csv_header,
                };
                Some(load_shards(&shards, &shape, &csv)?)
            }
        };
        let stream = Self {
            model: model.clone(),
            seed,
            shape,
            loaded,
            epoch_order: None,
        };
        if stream.samples_per_epoch() == Some(0) {
            return Err(msg("data: the shards contain no complete sample"));
        }
        Ok(stream)
    }

    /// Samples in one epoch; `None` for (endless) synthetic data.
    pub fn samples_per_epoch(&self) -> Option<u64> {
        let loaded = self.loaded.as_ref()?;
        Some(match (loaded, &self.shape) {
            (Loaded::Classify { labels, .. }, _) => labels.len() as u64,
            (Loaded::Tokens { tokens }, SampleShape::Tokens { seq_len, .. }) => {
                (tokens.len().saturating_sub(1) / seq_len) as u64
            }
            (Loaded::Tokens { .. }, SampleShape::Classify { .. }) => 0,
        })
    }

    /// `count` samples starting at global position `first`, as CPU tensors (inputs, targets).
    pub fn batch(&mut self, first: u64, count: usize) -> Result<(Tensor, Tensor)> {
        let Some(n) = self.samples_per_epoch() else {
            return synthetic_batch(&self.model, self.seed, first, count);
        };
        let indices: Vec<usize> = (first..first + count as u64)
            .map(|pos| self.sample_index(pos, n))
            .collect();
        self.gather(&indices)
    }

    /// Maps a global position to a sample index: a seeded shuffle per epoch.
    fn sample_index(&mut self, position: u64, n: u64) -> usize {
        let epoch = position / n;
        let stale = !matches!(&self.epoch_order, Some((e, _)) if *e == epoch);
        if stale {
            let order = permutation(n as usize, self.seed ^ epoch.wrapping_mul(0xA24B_AED4));
            self.epoch_order = Some((epoch, order));
        }
        match &self.epoch_order {
            Some((_, order)) => order[(position % n) as usize],
            None => 0,
        }
    }

    fn gather(&self, indices: &[usize]) -> Result<(Tensor, Tensor)> {
        let count = indices.len();
        match (&self.loaded, &self.shape) {
            (Some(Loaded::Classify { features, labels }), SampleShape::Classify { dims, .. }) => {
                let width: usize = dims.iter().product();
                let mut x = Vec::with_capacity(count * width);
                for &i in indices {
                    x.extend_from_slice(&features[i * width..(i + 1) * width]);
                }
                let y: Vec<u32> = indices.iter().map(|&i| labels[i]).collect();
                let mut shape = vec![count];
                shape.extend_from_slice(dims);
                Ok((
                    Tensor::from_vec(x, shape, &Device::Cpu)?,
                    Tensor::from_vec(y, count, &Device::Cpu)?,
                ))
            }
            (Some(Loaded::Tokens { tokens }), SampleShape::Tokens { seq_len, .. }) => {
                let t = *seq_len;
                let mut x = Vec::with_capacity(count * t);
                let mut y = Vec::with_capacity(count * t);
                for &i in indices {
                    x.extend_from_slice(&tokens[i * t..i * t + t]);
                    y.extend_from_slice(&tokens[i * t + 1..i * t + t + 1]);
                }
                Ok((
                    Tensor::from_vec(x, (count, t), &Device::Cpu)?,
                    Tensor::from_vec(y, (count, t), &Device::Cpu)?,
                ))
            }
            _ => Err(msg("data: loaded samples do not match the model")),
        }
    }
}

struct CsvOptions {
    label_column: i64,
    header: bool,
}

/// The shard files under `path` (or `path` itself), sorted by name.
fn list_shards(path: &Path, format: DataFormat, shape: &SampleShape) -> Result<Vec<PathBuf>> {
    let suffix = shard_suffix(format, shape);
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let entries =
        std::fs::read_dir(path).map_err(|e| msg(format!("data.path {}: {e}", path.display())))?;
    let mut shards: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.to_string_lossy().ends_with(suffix))
        .collect();
    shards.sort();
    if shards.is_empty() {
        return Err(msg(format!(
            "data.path {}: no shard files ending in {suffix}",
            path.display()
        )));
    }
    Ok(shards)
}

/// Classification `.npy` shards come in pairs `<stem>.features.npy` + `<stem>.labels.npy`.
fn shard_suffix(format: DataFormat, shape: &SampleShape) -> &'static str {
    match (format, shape) {
        (DataFormat::Npy, SampleShape::Classify { .. }) => ".features.npy",
        (DataFormat::Npy, SampleShape::Tokens { .. }) => ".npy",
        (DataFormat::Safetensors, _) => ".safetensors",
        (DataFormat::Csv, _) => ".csv",
    }
}

fn load_shards(
    shards: &[(PathBuf, DataFormat)],
    shape: &SampleShape,
    csv: &CsvOptions,
) -> Result<Loaded> {
    let mut all = match shape {
        SampleShape::Classify { .. } => Loaded::Classify {
            features: Vec::new(),
            labels: Vec::new(),
        },
        SampleShape::Tokens { .. } => Loaded::Tokens { tokens: Vec::new() },
    };
    for (shard, format) in shards {
        let context = |e: Error| msg(format!("data shard {}: {e}", shard.display()));
        let part = load_shard(shard, *format, shape, csv).map_err(context)?;
        match (&mut all, part) {
            (
                Loaded::Classify { features, labels },
                Loaded::Classify {
                    features: f,
                    labels: l,
                },
            ) => {
                features.extend(f);
                labels.extend(l);
            }
            (Loaded::Tokens { tokens }, Loaded::Tokens { tokens: t }) => tokens.extend(t),
            _ => return Err(msg("data: shard kind does not match the model")),
        }
    }
    Ok(all)
}

fn load_shard(
    shard: &Path,
    format: DataFormat,
    shape: &SampleShape,
    csv: &CsvOptions,
) -> Result<Loaded> {
    let (features, labels, tokens) = match format {
        DataFormat::Npy => read_npy_shard(shard, shape)?,
        DataFormat::Safetensors => read_safetensors_shard(shard, shape)?,
        DataFormat::Csv => {
            let (f, l) = read_csv_shard(shard, csv)?;
            (Some(f), Some(l), None)
        }
    };
    match shape {
        SampleShape::Classify { dims, classes } => {
            let (Some(features), Some(labels)) = (features, labels) else {
                return Err(msg("needs features and labels"));
            };
            check_classify(features, labels, dims, *classes)
        }
        SampleShape::Tokens { vocab, .. } => {
            let tokens = tokens.ok_or_else(|| msg("needs a token array"))?;
            let tokens = tokens
                .flatten_all()?
                .to_dtype(DType::U32)?
                .to_vec1::<u32>()?;
            if let Some(bad) = tokens.iter().find(|&&t| t as usize >= *vocab) {
                return Err(msg(format!("token {bad} >= model.vocab_size {vocab}")));
            }
            Ok(Loaded::Tokens { tokens })
        }
    }
}

type RawShard = (Option<Tensor>, Option<Tensor>, Option<Tensor>);

fn read_npy_shard(shard: &Path, shape: &SampleShape) -> Result<RawShard> {
    match shape {
        SampleShape::Tokens { .. } => Ok((None, None, Some(Tensor::read_npy(shard)?))),
        SampleShape::Classify { .. } => {
            let name = shard.to_string_lossy();
            let labels_path = format!("{}.labels.npy", name.trim_end_matches(".features.npy"));
            let labels = Tensor::read_npy(&labels_path)
                .map_err(|e| msg(format!("labels file {labels_path}: {e}")))?;
            Ok((Some(Tensor::read_npy(shard)?), Some(labels), None))
        }
    }
}

fn read_safetensors_shard(shard: &Path, shape: &SampleShape) -> Result<RawShard> {
    let mut tensors = candle_core::safetensors::load(shard, &Device::Cpu)?;
    let mut take = |name: &str| {
        tensors
            .remove(name)
            .ok_or_else(|| msg(format!("missing tensor `{name}`")))
    };
    match shape {
        SampleShape::Tokens { .. } => Ok((None, None, Some(take("tokens")?))),
        SampleShape::Classify { .. } => Ok((Some(take("features")?), Some(take("labels")?), None)),
    }
}

/// Numeric CSV: one sample per line, the label in `label_column`, the other columns features.
fn read_csv_shard(shard: &Path, csv: &CsvOptions) -> Result<(Tensor, Tensor)> {
    let text = std::fs::read_to_string(shard).map_err(|e| msg(e.to_string()))?;
    let mut features = Vec::new();
    let mut labels = Vec::new();
    let mut width = None;
    let lines = text.lines().enumerate().skip(usize::from(csv.header));
    for (line_no, line) in lines.filter(|(_, l)| !l.trim().is_empty()) {
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        let n = cells.len() as i64;
        let label_at = if csv.label_column < 0 {
            n + csv.label_column
        } else {
            csv.label_column
        };
        if !(0..n).contains(&label_at) {
            return Err(msg(format!(
                "line {}: label_column {} out of range",
                line_no + 1,
                csv.label_column
            )));
        }
        let parse = |s: &str| -> Result<f32> {
            s.parse::<f32>()
                .map_err(|_| msg(format!("line {}: `{s}` is not a number", line_no + 1)))
        };
        for (i, cell) in cells.iter().enumerate() {
            if i as i64 == label_at {
                labels.push(parse(cell)? as u32);
            } else {
                features.push(parse(cell)?);
            }
        }
        if *width.get_or_insert(cells.len() - 1) != cells.len() - 1 {
            return Err(msg(format!("line {}: ragged row", line_no + 1)));
        }
    }
    let rows = labels.len();
    let width = width.unwrap_or(0);
    Ok((
        Tensor::from_vec(features, (rows, width), &Device::Cpu)?,
        Tensor::from_vec(labels, rows, &Device::Cpu)?,
    ))
}

fn check_classify(
    features: Tensor,
    labels: Tensor,
    dims: &[usize],
    classes: usize,
) -> Result<Loaded> {
    let width: usize = dims.iter().product();
    let rows = labels.elem_count();
    if features.elem_count() != rows * width {
        return Err(msg(format!(
            "features have shape {:?}; expected {rows} samples of {dims:?}",
            features.dims()
        )));
    }
    let labels = labels
        .flatten_all()?
        .to_dtype(DType::U32)?
        .to_vec1::<u32>()?;
    if let Some(bad) = labels.iter().find(|&&l| l as usize >= classes) {
        return Err(msg(format!("label {bad} >= model.num_classes {classes}")));
    }
    let features = features
        .flatten_all()?
        .to_dtype(DType::F32)?
        .to_vec1::<f32>()?;
    Ok(Loaded::Classify { features, labels })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mlp() -> ModelConfig {
        ModelConfig::Mlp {
            input_dim: 3,
            hidden: vec![4],
            num_classes: 2,
        }
    }

    #[test]
    fn synthetic_batches_are_addressable() {
        let (x, y) = synthetic_batch(&mlp(), 1, 10, 6).unwrap();
        let (x2, y2) = synthetic_batch(&mlp(), 1, 13, 3).unwrap();
        let tail = x.narrow(0, 3, 3).unwrap();
        assert_eq!(tail.to_vec2::<f32>().unwrap(), x2.to_vec2::<f32>().unwrap());
        assert_eq!(
            y.narrow(0, 3, 3).unwrap().to_vec1::<u32>().unwrap(),
            y2.to_vec1::<u32>().unwrap()
        );
    }

    #[test]
    fn reads_csv_npy_and_safetensors_shards() {
        let dir = std::env::temp_dir().join(format!("mlc-harness-data-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.csv"), "f1,f2,f3,label\n1,2,3,0\n4,5,6,1\n").unwrap();
        let x = Tensor::new(&[[7f32, 8., 9.]], &Device::Cpu).unwrap();
        x.write_npy(dir.join("b.features.npy")).unwrap();
        Tensor::new(&[1i64], &Device::Cpu)
            .unwrap()
            .write_npy(dir.join("b.labels.npy"))
            .unwrap();
        let st: std::collections::HashMap<String, Tensor> = [
            ("features".to_string(), x.clone()),
            (
                "labels".to_string(),
                Tensor::new(&[0u32], &Device::Cpu).unwrap(),
            ),
        ]
        .into();
        candle_core::safetensors::save(&st, dir.join("c.safetensors")).unwrap();
        for (format, expected) in [
            (DataFormat::Csv, 2),
            (DataFormat::Npy, 1),
            (DataFormat::Safetensors, 1),
        ] {
            let data = DataConfig::Files {
                format,
                path: dir.clone(),
                sharding: Sharding::Batch,
                label_column: -1,
                csv_header: true,
                also: Vec::new(),
            };
            let mut stream = DataStream::open(&data, &mlp(), 0, false, 0, 1).unwrap();
            assert_eq!(stream.samples_per_epoch(), Some(expected), "{format:?}");
            let (x, y) = stream.batch(0, 3).unwrap();
            assert_eq!(x.dims(), &[3, 3]);
            assert_eq!(y.dims(), &[3]);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A job reading two datasets gets the samples of both (before, only the first).
    #[test]
    fn every_dataset_listed_is_read() {
        let root = std::env::temp_dir().join(format!("mlc-harness-two-{}", std::process::id()));
        let (a, b) = (root.join("a"), root.join("b"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        std::fs::write(a.join("x.csv"), "f1,f2,f3,label\n1,2,3,0\n4,5,6,1\n").unwrap();
        std::fs::write(b.join("y.csv"), "f1,f2,f3,label\n7,8,9,1\n").unwrap();
        let data = DataConfig::Files {
            format: DataFormat::Csv,
            path: a.clone(),
            sharding: Sharding::Batch,
            label_column: -1,
            csv_header: true,
            also: vec![crate::config::DataSource {
                format: DataFormat::Csv,
                path: b.clone(),
            }],
        };
        let stream = DataStream::open(&data, &mlp(), 0, false, 0, 1).unwrap();
        assert_eq!(stream.samples_per_epoch(), Some(3));
        // A dataset whose samples do not fit the model is an error, not ignored.
        std::fs::write(b.join("y.csv"), "label\n1\n").unwrap();
        assert!(DataStream::open(&data, &mlp(), 0, false, 0, 1).is_err());
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn bad_labels_are_reported() {
        let dir = std::env::temp_dir().join(format!("mlc-harness-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.csv"), "1,2,3,7\n").unwrap();
        let data = DataConfig::Files {
            format: DataFormat::Csv,
            path: dir.clone(),
            sharding: Sharding::Batch,
            label_column: -1,
            csv_header: false,
            also: Vec::new(),
        };
        let err = DataStream::open(&data, &mlp(), 0, false, 0, 1)
            .err()
            .unwrap();
        assert!(err.to_string().contains("label 7"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
