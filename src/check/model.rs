//! The typed `Model`: what the rest of the pipeline consumes. Units are normalised
//! (bytes, seconds, USD, per-month rates) and every list is sorted by name.

use super::units::{Exact, Quantity, SECONDS_PER_MONTH};
use super::{domain, CheckedDecl, Fields, Val};
use crate::diag::Diagnostic;
use crate::source::Span;
use serde::Serialize;
use std::collections::BTreeMap;

/// Spans in the model point at declaration headers (`train fraud_model`), so that later
/// stages label the name rather than a whole block.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Model {
    pub project: Option<Project>,
    pub budget: Option<Budget>,
    pub clouds: Option<CloudPolicy>,
    pub compliance: Option<Compliance>,
    pub security: Option<Security>,
    pub placement: Option<Placement>,
    pub onprem: Vec<Onprem>,
    pub datasets: Vec<Dataset>,
    pub trains: Vec<Train>,
    pub services: Vec<Service>,
    pub functions: Vec<Function>,
    pub batches: Vec<Batch>,
    /// Where each attribute of a spec declaration was written, so that later stages put
    /// their labels on the offending line: by kind, then name (singletons have the name
    /// ""), the declaration's attributes in name order.
    #[serde(skip)]
    pub attr_spans: BTreeMap<&'static str, BTreeMap<String, AttrSpans>>,
    /// What the standard library (and the spec) says about the world.
    pub knowledge: Knowledge,
    /// Declarations by name, built on the first lookup (the model does not change after
    /// `check`): later stages look workloads up once per planned workload, and a scan per
    /// lookup made `mlc build` quadratic in the services.
    #[serde(skip)]
    index: std::sync::OnceLock<DeclarationIndex>,
}

/// Position of each declaration in its list, by name (the first of duplicate names, as a
/// scan would find).
#[derive(Debug, Clone, Default)]
struct DeclarationIndex {
    datasets: BTreeMap<String, usize>,
    trains: BTreeMap<String, usize>,
    services: BTreeMap<String, usize>,
    functions: BTreeMap<String, usize>,
    batches: BTreeMap<String, usize>,
}

fn positions<'a>(names: impl Iterator<Item = &'a String>) -> BTreeMap<String, usize> {
    let mut map = BTreeMap::new();
    for (i, name) in names.enumerate() {
        map.entry(name.clone()).or_insert(i);
    }
    map
}

impl Model {
    fn index(&self) -> &DeclarationIndex {
        self.index.get_or_init(|| DeclarationIndex {
            datasets: positions(self.datasets.iter().map(|d| &d.name)),
            trains: positions(self.trains.iter().map(|t| &t.name)),
            services: positions(self.services.iter().map(|s| &s.name)),
            functions: positions(self.functions.iter().map(|f| &f.name)),
            batches: positions(self.batches.iter().map(|b| &b.name)),
        })
    }

    pub fn dataset(&self, name: &str) -> Option<&Dataset> {
        self.index().datasets.get(name).map(|&i| &self.datasets[i])
    }

    pub fn train(&self, name: &str) -> Option<&Train> {
        self.index().trains.get(name).map(|&i| &self.trains[i])
    }

    pub fn service(&self, name: &str) -> Option<&Service> {
        self.index().services.get(name).map(|&i| &self.services[i])
    }

    pub fn function(&self, name: &str) -> Option<&Function> {
        self.index()
            .functions
            .get(name)
            .map(|&i| &self.functions[i])
    }

    pub fn batch(&self, name: &str) -> Option<&Batch> {
        self.index().batches.get(name).map(|&i| &self.batches[i])
    }

    /// The batch job that writes `dataset` (`output`), if any: one at most, which the
    /// check stage enforces (E0211).
    pub fn producer(&self, dataset: &str) -> Option<&Batch> {
        self.batches
            .iter()
            .find(|b| b.output.as_deref() == Some(dataset))
    }

    /// The accelerators workload `kind name` asks for on each node or replica (`kind` is
    /// its keyword: `train`, `batch`, `service`, `function`), if any.
    pub fn accelerator_of(&self, kind: &str, name: &str) -> Option<&AccelCount> {
        let accelerator = match kind {
            "train" => self.train(name).map(|t| &t.accelerator),
            "batch" => self.batch(name).and_then(|b| b.accelerator.as_ref()),
            "service" => self.service(name).and_then(|s| s.accelerator.as_ref()),
            "function" => self.function(name).and_then(|f| f.accelerator.as_ref()),
            _ => None,
        };
        accelerator.filter(|a| a.count > 0)
    }

    /// How workload `kind name` buys capacity (jobs and services; functions and datasets
    /// have none).
    pub fn capacity_of(&self, kind: &str, name: &str) -> Option<&Capacity> {
        match kind {
            "train" => self.train(name).map(|t| &t.capacity),
            "batch" => self.batch(name).map(|b| &b.capacity),
            "service" => self.service(name).map(|s| &s.capacity),
            _ => None,
        }
    }

    /// Where `attr` of declaration `kind name` was written, if it was.
    pub fn attr_span(&self, kind: &str, name: &str, attr: &str) -> Option<Span> {
        let attrs = self.attr_spans.get(kind)?.get(name)?;
        attrs
            .binary_search_by(|(a, _)| (*a).cmp(attr))
            .ok()
            .map(|i| attrs[i].1)
    }
}

/// One declaration's attributes and where each was written, sorted by attribute name.
pub type AttrSpans = Vec<(&'static str, Span)>;

#[derive(Debug, Clone, Serialize)]
pub struct Project {
    pub name: String,
    pub owner: String,
    pub description: Option<String>,
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Budget {
    pub monthly_usd: Exact,
    pub daily_usd: Option<Exact>,
    pub anomaly_threshold: Exact,
    /// Where the anomaly alert goes; `None` means the first `alert`'s address.
    pub anomaly_notify: Option<String>,
    pub alerts: Vec<BudgetAlert>,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize)]
pub struct BudgetAlert {
    pub thresholds_percent: Vec<Exact>,
    pub notify: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CloudPolicy {
    pub allow: Vec<String>,
    pub prefer: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Compliance {
    pub frameworks: Vec<String>,
    pub residency: Vec<String>,
    /// Jurisdictions the organisation transfers data to under safeguards mlc cannot see
    /// (GDPR Art. 46 clauses, the EU-US Data Privacy Framework); framework residency
    /// rules accept them.
    pub transfers: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Security {
    /// Cipher and key management, e.g. `("aes256", Some("kms"))`.
    pub encryption_at_rest: Option<(String, Option<String>)>,
    /// The named key that encrypts data at rest.
    pub kms_key: Option<KmsKey>,
    pub encryption_in_transit: Option<String>,
    pub network: Option<String>,
    pub access: Option<Access>,
    pub audit_logging: Option<bool>,
    pub key_rotation_seconds: Option<Exact>,
    pub log_retention_seconds: Option<Exact>,
    /// The `security` header, where a finding about a setting it lacks is reported.
    pub span: Span,
}

/// A KMS key by name, with the cloud its name shape belongs to.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct KmsKey {
    /// `aws`, `gcp` or `azure`.
    pub cloud: String,
    /// As written: an alias, an ARN, a resource name or a key URL.
    pub id: String,
}

impl KmsKey {
    /// Recognises the shape of a key name; `None` when it is none of the clouds'.
    /// AWS: `alias/name`, `arn:aws[-cn|-us-gov]:kms:region:account:key/id` or `:alias/name`;
    /// GCP: `projects/p/locations/l/keyRings/r/cryptoKeys/k`; Azure:
    /// `https://vault.vault.azure.net/keys/name[/version]`.
    pub fn parse(id: &str) -> Option<KmsKey> {
        let segment_ok = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
        };
        let cloud = if let Some(alias) = id.strip_prefix("alias/") {
            segment_ok(alias).then_some("aws")
        } else if id.starts_with("arn:aws") {
            let parts: Vec<&str> = id.splitn(6, ':').collect();
            let resource = parts.get(5).copied().unwrap_or_default();
            let named = resource
                .strip_prefix("key/")
                .or(resource.strip_prefix("alias/"))
                .is_some_and(segment_ok);
            (parts.len() == 6 && parts[2] == "kms" && named).then_some("aws")
        } else if id.starts_with("projects/") {
            let parts: Vec<&str> = id.split('/').collect();
            let shape = [
                "projects",
                "",
                "locations",
                "",
                "keyRings",
                "",
                "cryptoKeys",
                "",
            ];
            let matches = parts.len() >= 8
                && parts
                    .iter()
                    .zip(shape)
                    .all(|(part, want)| !part.is_empty() && (want.is_empty() || *part == want));
            matches.then_some("gcp")
        } else if let Some(rest) = id.strip_prefix("https://") {
            let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
            let vault = host
                .strip_suffix(".vault.azure.net")
                .is_some_and(segment_ok);
            let key = path.strip_prefix("keys/").is_some_and(segment_ok);
            (vault && key).then_some("azure")
        } else {
            None
        }?;
        Some(KmsKey {
            cloud: cloud.to_string(),
            id: id.to_string(),
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Access {
    pub model: String,
    pub mfa_required: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AccelCount {
    pub name: String,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Onprem {
    pub name: String,
    pub geography: String,
    pub jurisdiction: Option<String>,
    pub gpus: AccelCount,
    pub cpus: Option<i128>,
    pub memory_bytes: Option<Exact>,
    pub storage_bytes: Option<Exact>,
    pub cost_usd_per_month: Option<Exact>,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Location {
    Region { cloud: String, region: String },
    Onprem { site: String },
}

#[derive(Debug, Clone, Serialize)]
pub struct Dataset {
    pub name: String,
    pub size_bytes: Exact,
    /// `None` for a dataset a workload produces: the plan places it with its producer.
    pub location: Option<Location>,
    pub classification: String,
    pub tier: String,
    pub retention_seconds: Option<Exact>,
    pub consent: Option<bool>,
    pub path: Option<String>,
    pub deidentified: Option<Deidentified>,
    /// Roles granted access; `None` leaves access to the security defaults.
    pub access: Option<DatasetAccess>,
    pub span: Span,
}

/// Least-privilege grants on one dataset, each list sorted and without repeats.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DatasetAccess {
    pub read: Vec<String>,
    pub write: Vec<String>,
}

/// Where classes of data stop: the method (for the audit trail) and the classes it
/// removes; `classes` empty means every class that flows in.
#[derive(Debug, Clone, Serialize)]
pub struct Deidentified {
    pub method: String,
    pub classes: Vec<String>,
    pub span: Span,
}

impl Deidentified {
    pub fn stops(&self, class: &str) -> bool {
        self.classes.is_empty() || self.classes.iter().any(|c| c == class)
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Architecture {
    Mlp {
        input: u64,
        hidden: Vec<u64>,
        output: u64,
    },
    Transformer {
        layers: u64,
        hidden: u64,
        heads: u64,
        vocab: u64,
        seq_len: u64,
    },
    Cnn {
        channels: Vec<u64>,
        image_size: u64,
        classes: u64,
        in_channels: u64,
    },
}

impl Architecture {
    /// Trainable parameters: weights and biases of every layer (the transformer counts
    /// attention, a 4x MLP, two layer norms per block, token and position embeddings and
    /// an untied output head, as the harness builds it).
    pub fn parameters(&self) -> u64 {
        match self {
            Architecture::Mlp {
                input,
                hidden,
                output,
            } => {
                let widths: Vec<u64> = std::iter::once(*input)
                    .chain(hidden.iter().copied())
                    .chain(std::iter::once(*output))
                    .collect();
                widths.windows(2).map(|w| w[0] * w[1] + w[1]).sum()
            }
            Architecture::Transformer {
                layers,
                hidden,
                vocab,
                seq_len,
                ..
            } => {
                let h = *hidden;
                let block = 4 * (h * h + h) + (h * 4 * h + 4 * h) + (4 * h * h + h) + 4 * h;
                layers * block + vocab * h + seq_len * h + 2 * h + h * vocab + vocab
            }
            Architecture::Cnn {
                channels,
                classes,
                in_channels,
                ..
            } => {
                let mut previous = *in_channels;
                let mut total = 0;
                for &c in channels {
                    total += previous * c * 9 + c;
                    previous = c;
                }
                total + previous * classes + classes
            }
        }
    }

    /// Layers that pipeline or model parallelism can split between devices.
    pub fn splittable_layers(&self) -> u64 {
        match self {
            Architecture::Mlp { hidden, .. } => hidden.len() as u64 + 1,
            Architecture::Transformer { layers, .. } => *layers,
            Architecture::Cnn { channels, .. } => channels.len() as u64 + 1,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Parallelism {
    Data {
        gpus: u64,
    },
    Model {
        shards: u64,
    },
    Pipeline {
        stages: u64,
        micro_batches: u64,
        replicas: u64,
    },
}

impl Parallelism {
    pub fn total_gpus(&self) -> u64 {
        match self {
            Parallelism::Data { gpus } => *gpus,
            Parallelism::Model { shards } => *shards,
            Parallelism::Pipeline {
                stages, replicas, ..
            } => stages * replicas,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Optimizer {
    Adamw {
        lr: Exact,
        weight_decay: Exact,
        beta1: Exact,
        beta2: Exact,
        eps: Exact,
        warmup_steps: u64,
    },
    Sgd {
        lr: Exact,
        momentum: Exact,
        warmup_steps: u64,
    },
}

/// How capacity is bought. A reservation's term picks the cloud's `reserved_1y` or
/// `reserved_3y` price factor.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CapacityKind {
    OnDemand,
    Spot,
    Reserved { term_years: u8 },
}

impl CapacityKind {
    /// The schema's capacity word; `reserved` alone is the 1-year term.
    pub fn from_word(word: &str) -> CapacityKind {
        match word {
            "spot" => CapacityKind::Spot,
            "reserved" | "reserved_1y" => CapacityKind::Reserved { term_years: 1 },
            "reserved_3y" => CapacityKind::Reserved { term_years: 3 },
            _ => CapacityKind::OnDemand,
        }
    }

    /// The price as a multiple of on-demand on `cloud`; `None` where the cloud does not
    /// say (spot prices are per offering, in the catalog).
    pub fn price_factor(self, cloud: &CloudInfo) -> Option<Exact> {
        match self {
            CapacityKind::OnDemand => Some(Exact::ONE),
            CapacityKind::Spot => None,
            CapacityKind::Reserved { term_years: 3 } => cloud.reserved_3y,
            CapacityKind::Reserved { .. } => cloud.reserved_1y,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Capacity {
    pub primary: CapacityKind,
    pub fallback: Option<CapacityKind>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckpointStorage {
    pub size_bytes: Exact,
    /// A dataset storage tier: `standard`, `infrequent` or `intelligent`.
    pub tier: String,
    pub keep: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Train {
    pub name: String,
    /// The datasets it reads, in the order written.
    pub data: Vec<String>,
    pub model: Architecture,
    pub parallelism: Parallelism,
    pub accelerator: AccelCount,
    /// Total GPUs divided by GPUs per node.
    pub nodes: u64,
    pub batch_size: u64,
    pub epochs: Option<u64>,
    pub max_steps: Option<u64>,
    pub optimizer: Optimizer,
    pub precision: Precision,
    pub grad_accumulation: u64,
    pub grad_clip: Option<Exact>,
    pub capacity: Capacity,
    pub checkpoint_every_seconds: Option<Exact>,
    pub checkpoint_storage: Option<CheckpointStorage>,
    pub max_runtime_seconds: Exact,
    pub runs_per_month: Exact,
    /// Whether the spec writes `runs` (the job is scheduled) or takes its default (it
    /// runs once).
    pub runs_given: bool,
    pub window: Window,
    pub cloud: Option<String>,
    pub region: Option<(String, String)>,
    pub deidentified: Option<Deidentified>,
    pub span: Span,
}

/// What a batch job reads.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum Input {
    Dataset(String),
    Train(String),
}

#[derive(Debug, Clone, Serialize)]
pub struct Batch {
    pub name: String,
    pub inputs: Vec<Input>,
    pub output: Option<String>,
    pub image: Option<String>,
    pub accelerator: Option<AccelCount>,
    pub cpu: Option<Exact>,
    pub memory_bytes: Option<Exact>,
    pub nodes: u64,
    pub max_runtime_seconds: Exact,
    pub runs_per_month: Exact,
    /// Whether the spec writes `runs` (the job is scheduled) or takes its default (it
    /// runs once).
    pub runs_given: bool,
    pub capacity: Capacity,
    pub window: Window,
    pub cloud: Option<String>,
    pub region: Option<(String, String)>,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum ModelSource {
    Train(String),
    Image(String),
}

#[derive(Debug, Clone, Serialize)]
pub struct Service {
    pub name: String,
    pub model: ModelSource,
    pub replicas_min: u64,
    pub replicas_max: u64,
    pub autoscale_cpu_percent: Option<Exact>,
    pub autoscale_memory_percent: Option<Exact>,
    pub cpu: Option<(Exact, Exact)>,
    pub memory_bytes: Option<(Exact, Exact)>,
    pub accelerator: Option<AccelCount>,
    pub latency_p99_seconds: Option<Exact>,
    pub near: Vec<String>,
    pub capacity: Capacity,
    pub requests_per_month: Option<Exact>,
    pub port: u64,
    /// The service's `strategy`, else the `placement` default.
    pub strategy: Strategy,
    pub cloud: Option<String>,
    pub region: Option<(String, String)>,
    pub lineage: Lineage,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize)]
pub struct Function {
    pub name: String,
    pub model: Option<ModelSource>,
    pub platform: String,
    pub runtime: String,
    pub memory_bytes: Exact,
    pub timeout_seconds: Exact,
    /// Instances kept warm (`min_instances`, or Lambda's `provisioned_concurrency`).
    pub min_instances: u64,
    pub batching: Option<Batching>,
    pub cache: Option<ResultCache>,
    pub invocations_per_month: Exact,
    pub avg_duration_seconds: Exact,
    pub accelerator: Option<AccelCount>,
    /// The function's `strategy`, else the `placement` default.
    pub strategy: Strategy,
    pub region: Option<(String, String)>,
    pub lineage: Lineage,
    pub span: Span,
}

/// What a served image or artifact says about the data its model was trained on.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Lineage {
    pub holds: Vec<String>,
    pub derived_from: Option<String>,
}

/// How the optimizer spreads a workload over clouds and regions.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Also the strategy of a spec without `placement`.
    #[default]
    CostOptimized,
    ActiveActive,
    Failover,
    Geographic,
}

impl Strategy {
    pub fn from_word(word: &str) -> Strategy {
        match word {
            "active_active" => Strategy::ActiveActive,
            "failover" => Strategy::Failover,
            "geographic" => Strategy::Geographic,
            _ => Strategy::CostOptimized,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Batching {
    pub max_size: u64,
    pub max_wait_seconds: Exact,
}

#[derive(Debug, Clone, Serialize)]
pub struct ResultCache {
    pub ttl_seconds: Exact,
    pub size_bytes: Exact,
}

#[derive(Debug, Clone, Serialize)]
pub struct Placement {
    pub strategy: Strategy,
    pub hybrid: Option<Hybrid>,
    pub primary: Option<String>,
    pub secondary: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Hybrid {
    pub mode: HybridMode,
    pub base: String,
}

/// How a spec uses its on-prem site.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum HybridMode {
    /// The site's GPUs are used first; the rest bursts to the cloud.
    BurstCompute,
    /// Classified data (and the jobs that read it raw) stays on the site.
    SensitiveData,
}

/// When a job may run.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Window {
    Any,
    /// Nights (22:00-06:00) and weekends.
    OffPeak,
}

impl Window {
    pub fn from_word(word: &str) -> Window {
        match word {
            "off_peak" => Window::OffPeak,
            _ => Window::Any,
        }
    }
}

/// Training precision on GPUs.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    Fp32,
    Bf16,
    Fp16,
}

impl Precision {
    pub fn from_word(word: &str) -> Precision {
        match word {
            "fp32" => Precision::Fp32,
            "fp16" => Precision::Fp16,
            _ => Precision::Bf16,
        }
    }

    /// Bytes of one weight as shipped in a model artifact.
    pub fn bytes_per_weight(self) -> f64 {
        match self {
            Precision::Fp32 => 4.0,
            Precision::Bf16 | Precision::Fp16 => 2.0,
        }
    }
}

/// Where a workload is pinned: one type for every kind (a function has no `cloud` pin
/// of its own, but its region's cloud is one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pin<'m> {
    pub cloud: Option<&'m str>,
    pub region: Option<(&'m str, &'m str)>,
}

impl<'m> Pin<'m> {
    fn of(cloud: &'m Option<String>, region: &'m Option<(String, String)>) -> Pin<'m> {
        Pin {
            cloud: cloud.as_deref(),
            region: region.as_ref().map(|(c, r)| (c.as_str(), r.as_str())),
        }
    }

    /// The cloud the pin implies, from `cloud` or from the region.
    pub fn implied_cloud(&self) -> Option<&'m str> {
        self.cloud.or(self.region.map(|(c, _)| c))
    }
}

impl Train {
    /// Bytes of one checkpoint as the harness writes it: fp32 weights and the optimizer's
    /// two fp32 moment tensors per parameter (both kept whatever the optimizer).
    pub fn checkpoint_bytes(&self) -> f64 {
        self.model.parameters() as f64 * 12.0
    }

    pub fn pin(&self) -> Pin<'_> {
        Pin::of(&self.cloud, &self.region)
    }
}

impl Batch {
    pub fn pin(&self) -> Pin<'_> {
        Pin::of(&self.cloud, &self.region)
    }
}

impl Service {
    pub fn pin(&self) -> Pin<'_> {
        Pin::of(&self.cloud, &self.region)
    }
}

impl Function {
    pub fn pin(&self) -> Pin<'_> {
        Pin::of(&None, &self.region)
    }
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Knowledge {
    pub clouds: Vec<CloudInfo>,
    pub geographies: Vec<Geography>,
    pub accelerators: Vec<AcceleratorInfo>,
    pub frameworks: Vec<Framework>,
    pub managed: Vec<ManagedService>,
}

impl Knowledge {
    /// The Kubernetes version the build creates `cloud`'s clusters on: the newest in
    /// standard support at the catalog date. `None` where the stdlib lists none (the
    /// cloud's release channel chooses).
    pub fn kubernetes(&self, cloud: &str) -> Option<&KubernetesRelease> {
        let date = crate::plan::days_from_iso(crate::catalog::CATALOG_DATE)?;
        self.clouds
            .iter()
            .find(|c| c.name == cloud)?
            .kubernetes_at(date)
    }

    /// A serverless platform's prices and limits: from the first cloud (by name) whose
    /// `serverless` block describes it; `None` for a platform no cloud describes
    /// (Knative, which runs on the cluster).
    pub fn serverless_platform(&self, platform: &str) -> Option<&ServerlessPrice> {
        self.clouds
            .iter()
            .flat_map(|c| c.serverless.iter())
            .find(|s| s.platform == platform)
    }
}

/// A cloud's managed ML platform (`stdlib/managed.mlc`).
#[derive(Debug, Clone, Serialize)]
pub struct ManagedService {
    pub name: String,
    pub title: String,
    pub cloud: String,
    /// Workload kinds it runs: `train`, `batch`, `service`, `function`.
    pub runs: Vec<String>,
    pub features: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CloudInfo {
    pub name: String,
    pub title: String,
    pub egress_internet_usd_per_gb: Option<Exact>,
    pub egress_inter_region_usd_per_gb: Option<Exact>,
    pub egress_same_region_usd_per_gb: Option<Exact>,
    pub egress_inter_continent_usd_per_gb: Option<Exact>,
    /// Internet egress volume tiers above the first, sorted by where they start.
    pub egress_tiers: Vec<EgressTier>,
    /// Reserved / committed-use price as a multiple of on-demand.
    pub reserved_1y: Option<Exact>,
    pub reserved_3y: Option<Exact>,
    /// Assumed interruptions per second of one spot VM, and the time to resume after one.
    pub spot_interruptions_per_second: Option<Exact>,
    pub spot_restart_seconds: Option<Exact>,
    /// USD per second charged for each cluster node besides its VM (`node_fee`).
    pub node_fee_usd_per_second: Exact,
    /// Object-storage classes, sorted by name.
    pub storage: Vec<StorageClass>,
    /// Serverless platforms' prices, sorted by platform.
    pub serverless: Vec<ServerlessPrice>,
    /// What the build creates per region that bills whatever the load, sorted by name.
    pub fixed: Vec<FixedPrice>,
    /// Kubernetes minor versions of the cloud's managed clusters, oldest first; empty
    /// where the build leaves the version to the cloud's release channel.
    pub kubernetes: Vec<KubernetesRelease>,
    pub regions: Vec<RegionInfo>,
}

impl CloudInfo {
    /// What each cluster node bills besides its VM (`node_fee`), USD per hour.
    pub fn node_fee_usd_per_hour(&self) -> f64 {
        self.node_fee_usd_per_second.to_f64() * 3600.0
    }

    /// The version the build creates clusters on: the newest released by `date` (days
    /// since 1970-01-01) and still in standard support then.
    pub fn kubernetes_at(&self, date: i64) -> Option<&KubernetesRelease> {
        self.kubernetes
            .iter()
            .rev()
            .find(|k| k.released_days <= date && date < k.standard_until_days)
    }
}

/// A Kubernetes minor version of a cloud (`kubernetes` in `stdlib/clouds/*.mlc`); dates
/// are days since 1970-01-01.
#[derive(Debug, Clone, Serialize)]
pub struct KubernetesRelease {
    pub version: String,
    pub released: String,
    pub released_days: i64,
    pub standard_until: String,
    pub standard_until_days: i64,
    pub extended_until: String,
    pub cluster_autoscaler: Option<String>,
    pub source: String,
}

/// A cloud's fixed-cost resource (`fixed` in `stdlib/clouds/*.mlc`).
#[derive(Debug, Clone, Serialize)]
pub struct FixedPrice {
    pub name: String,
    pub product: String,
    pub usd_per_month: Exact,
    /// `cluster`, `functions`, `private_functions`, `region` (`schema::FIXED_NEEDS`).
    pub needed_by: Vec<String>,
    /// Terraform addresses with `{region}` and `{code}` to fill in.
    pub resources: Vec<String>,
    pub private_only: bool,
    pub unless_named_key: bool,
    pub source: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct EgressTier {
    pub name: String,
    pub above_bytes: Exact,
    pub usd_per_gb: Exact,
}

#[derive(Debug, Clone, Serialize)]
pub struct StorageClass {
    pub name: String,
    pub product: String,
    /// The dataset `tier` this class serves, if any.
    pub tier: Option<String>,
    pub usd_per_gb_month: Exact,
    pub retrieval_usd_per_gb: Exact,
    pub min_duration_seconds: Exact,
}

/// A serverless platform's prices and limits on one cloud.
#[derive(Debug, Clone, Serialize)]
pub struct ServerlessPrice {
    /// The `platform` word, e.g. `aws_lambda`.
    pub platform: String,
    pub product: String,
    /// The platform's name in messages; the product's where not given.
    pub title: String,
    pub memory_min_bytes: Option<Exact>,
    pub memory_max_bytes: Option<Exact>,
    pub timeout_max_seconds: Option<Exact>,
    pub accelerators: bool,
    /// Whether functions can keep a minimum of instances warm.
    pub min_instances: bool,
    pub usd_per_gb_second: Exact,
    pub usd_per_vcpu_second: Option<Exact>,
    pub usd_per_request: Exact,
    pub provisioned_usd_per_gb_second: Option<Exact>,
    pub provisioned_memory_usd_per_gb_second: Option<Exact>,
    pub free_requests_per_month: Option<Exact>,
    pub free_gb_seconds_per_month: Option<Exact>,
    pub free_vcpu_seconds_per_month: Option<Exact>,
    /// Instance sizes in bytes, smallest first, where the platform bills them (Flex
    /// Consumption's 512, 2048 and 4096 MiB); empty where it bills the function's memory.
    pub instance_memory_bytes: Vec<Exact>,
    /// Seconds each call is billed at least.
    pub min_billed_seconds: Exact,
}

impl ServerlessPrice {
    /// The memory a function runs and is billed with: the smallest instance size that
    /// holds its `memory`, or its `memory` where the platform has no sizes (or none
    /// large enough: the `memory_max` check reports that).
    pub fn billed_memory_bytes(&self, memory: Exact) -> Exact {
        self.instance_memory_bytes
            .iter()
            .copied()
            .find(|size| *size >= memory)
            .unwrap_or(memory)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RegionInfo {
    pub name: String,
    pub code: String,
    pub geography: String,
    pub jurisdiction: String,
    pub egress_internet_usd_per_gb: Option<Exact>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Geography {
    pub name: String,
    pub title: String,
    pub jurisdiction: String,
    pub continent: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AcceleratorInfo {
    pub name: String,
    pub memory_bytes: Exact,
    pub bf16_tflops: Exact,
    pub vendor: String,
    pub cloud: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Framework {
    pub name: String,
    pub title: String,
    pub applies_to: Vec<String>,
    pub rules: Vec<FrameworkRule>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FrameworkRule {
    pub id: String,
    pub title: String,
    pub help: String,
    /// The article or section the rule comes from, e.g. `45 CFR 164.312(b)`.
    pub source: String,
    /// The `require` statement, for diagnostics about the rule itself.
    pub span: Span,
    /// `(subject, test)` pairs such as `("residency", ["us"])` or `("access", ["rbac"])`.
    pub conditions: Vec<(String, Vec<String>)>,
}

/// Builds the typed model and runs the cross-attribute domain checks.
pub fn build(decls: &[CheckedDecl], diagnostics: &mut Vec<Diagnostic>) -> Model {
    let mut model = Model::default();
    let default_strategy = default_strategy(decls);
    for decl in decls {
        let f = &decl.fields;
        let name = decl.name.clone().unwrap_or_default();
        if !decl.in_stdlib {
            let attrs = model
                .attr_spans
                .entry(decl.kind)
                .or_default()
                .entry(name.clone())
                .or_default();
            // Kept sorted by attribute name; a declaration written twice (an error of its
            // own) keeps the later span of each attribute.
            for (attr, (_, span)) in &f.values {
                match attrs.binary_search_by(|(a, _)| a.cmp(attr)) {
                    Ok(i) => attrs[i].1 = *span,
                    Err(i) => attrs.insert(i, (*attr, *span)),
                }
            }
        }
        match decl.kind {
            "project" => model.project = Some(project(name, f)),
            "budget" => model.budget = Some(budget(f)),
            "clouds" => {
                model.clouds = Some(CloudPolicy {
                    allow: refs(f.get("allow")),
                    prefer: ref_name(f.get("prefer")),
                })
            }
            "compliance" => {
                model.compliance = Some(Compliance {
                    frameworks: refs(f.get("frameworks")),
                    residency: words(f.get("residency")),
                    transfers: words(f.get("transfers")),
                })
            }
            "security" => model.security = Some(security(f, decl.header)),
            "placement" => model.placement = Some(placement(f)),
            "onprem" => model.onprem.push(onprem(name, f, decl.header)),
            "dataset" => model.datasets.push(dataset(name, f, decl.header)),
            "train" => model.trains.push(train(name, f, decl.header)),
            "service" => {
                let service = service(name, f, decl.header, default_strategy);
                model.services.push(service)
            }
            "function" => {
                let function = function(name, f, decl.header, default_strategy);
                model.functions.push(function)
            }
            "batch" => model.batches.push(batch(name, f, decl.header)),
            "cloud" => model.knowledge.clouds.push(cloud(name, f)),
            "geography" => model.knowledge.geographies.push(Geography {
                name,
                title: string(f.get("title")),
                jurisdiction: word(f.get("jurisdiction")),
                continent: word(f.get("continent")),
            }),
            "accelerator" => model.knowledge.accelerators.push(AcceleratorInfo {
                name,
                memory_bytes: exact(f.get("memory")),
                bf16_tflops: exact(f.get("bf16_tflops")),
                vendor: word(f.get("vendor")),
                cloud: ref_name(f.get("cloud")),
            }),
            "framework" => model.knowledge.frameworks.push(framework(name, f)),
            "managed_service" => model.knowledge.managed.push(ManagedService {
                name,
                title: string(f.get("title")),
                cloud: ref_name(f.get("cloud")).unwrap_or_default(),
                runs: words(f.get("runs")),
                features: words(f.get("features")),
            }),
            _ => {}
        }
    }
    sort_by_name(&mut model);
    domain::check_model(&model, decls, diagnostics);
    model
}

/// The `placement` strategy that services and functions inherit.
fn default_strategy(decls: &[CheckedDecl]) -> Strategy {
    decls
        .iter()
        .find(|d| d.kind == "placement")
        .and_then(|d| opt_word(d.fields.get("strategy")))
        .map_or(Strategy::CostOptimized, |w| Strategy::from_word(&w))
}

fn sort_by_name(model: &mut Model) {
    model.onprem.sort_by(|a, b| a.name.cmp(&b.name));
    model.datasets.sort_by(|a, b| a.name.cmp(&b.name));
    model.trains.sort_by(|a, b| a.name.cmp(&b.name));
    model.services.sort_by(|a, b| a.name.cmp(&b.name));
    model.functions.sort_by(|a, b| a.name.cmp(&b.name));
    model.batches.sort_by(|a, b| a.name.cmp(&b.name));
    let k = &mut model.knowledge;
    k.clouds.sort_by(|a, b| a.name.cmp(&b.name));
    k.geographies.sort_by(|a, b| a.name.cmp(&b.name));
    k.accelerators.sort_by(|a, b| a.name.cmp(&b.name));
    k.frameworks.sort_by(|a, b| a.name.cmp(&b.name));
    k.managed.sort_by(|a, b| a.name.cmp(&b.name));
}

// ---- field accessors: missing values default quietly, because a missing required
// attribute has already been reported and no model is returned with errors. ----

pub(super) fn string(v: Option<&Val>) -> String {
    opt_string(v).unwrap_or_default()
}

fn opt_string(v: Option<&Val>) -> Option<String> {
    match v {
        Some(Val::Str(s)) => Some(s.clone()),
        _ => None,
    }
}

fn word(v: Option<&Val>) -> String {
    opt_word(v).unwrap_or_default()
}

fn opt_word(v: Option<&Val>) -> Option<String> {
    match v {
        Some(Val::Word(s)) => Some(s.clone()),
        _ => None,
    }
}

fn words(v: Option<&Val>) -> Vec<String> {
    list(v)
        .into_iter()
        .filter_map(|x| opt_word(Some(x)))
        .collect()
}

fn list(v: Option<&Val>) -> Vec<&Val> {
    match v {
        Some(Val::List(items)) => items.iter().map(|(x, _)| x).collect(),
        _ => Vec::new(),
    }
}

fn ref_name(v: Option<&Val>) -> Option<String> {
    match v {
        Some(Val::Ref(_, name)) => Some(name.clone()),
        _ => None,
    }
}

fn ref_pair(v: Option<&Val>) -> Option<(String, String)> {
    match v {
        Some(Val::Ref(a, b)) => Some((a.clone(), b.clone())),
        _ => None,
    }
}

fn refs(v: Option<&Val>) -> Vec<String> {
    list(v)
        .into_iter()
        .filter_map(|x| ref_name(Some(x)))
        .collect()
}

pub(super) fn exact(v: Option<&Val>) -> Exact {
    opt_exact(v).unwrap_or(Exact::ZERO)
}

pub(super) fn opt_exact(v: Option<&Val>) -> Option<Exact> {
    match v {
        Some(Val::Every(q)) => Some(q.value),
        Some(other) => other.as_exact(),
        None => None,
    }
}

fn count(v: Option<&Val>) -> u64 {
    opt_count(v).unwrap_or(0)
}

fn opt_count(v: Option<&Val>) -> Option<u64> {
    opt_exact(v)
        .and_then(|e| e.as_integer())
        .and_then(|n| u64::try_from(n).ok())
}

fn per_month(v: Option<&Val>) -> Option<Exact> {
    match v {
        Some(Val::Qty(Quantity { value, .. })) => value.checked_mul(Exact::int(SECONDS_PER_MONTH)),
        _ => None,
    }
}

fn bool_(v: Option<&Val>) -> Option<bool> {
    match v {
        Some(Val::Bool(b)) => Some(*b),
        _ => None,
    }
}

fn accel(v: Option<&Val>) -> Option<AccelCount> {
    match v {
        Some(Val::Accel(name, count)) => Some(AccelCount {
            name: name.clone(),
            count: *count,
        }),
        _ => None,
    }
}

fn range(v: Option<&Val>) -> Option<(Exact, Exact)> {
    match v {
        Some(Val::Range(lo, hi)) => Some((lo.as_exact()?, hi.as_exact()?)),
        _ => None,
    }
}

fn ctor(v: Option<&Val>) -> Option<(&str, &Fields)> {
    match v {
        Some(Val::Ctor(name, fields)) => Some((name.as_str(), fields)),
        _ => None,
    }
}

fn capacity(v: Option<&Val>) -> Capacity {
    match v {
        Some(Val::Fallback(primary, fallback)) => Capacity {
            primary: CapacityKind::from_word(primary),
            fallback: fallback.as_deref().map(CapacityKind::from_word),
        },
        _ => Capacity {
            primary: CapacityKind::OnDemand,
            fallback: None,
        },
    }
}

fn model_source(v: Option<&Val>) -> Option<ModelSource> {
    match v {
        Some(Val::Ref(_, name)) => Some(ModelSource::Train(name.clone())),
        Some(Val::Str(image)) => Some(ModelSource::Image(image.clone())),
        _ => None,
    }
}

fn project(name: String, f: &Fields) -> Project {
    let labels = match f.get("labels") {
        Some(Val::Map(m)) => m.clone(),
        _ => BTreeMap::new(),
    };
    Project {
        name,
        owner: string(f.get("owner")),
        description: opt_string(f.get("description")),
        labels,
    }
}

fn budget(f: &Fields) -> Budget {
    Budget {
        monthly_usd: exact(f.get("monthly")),
        daily_usd: opt_exact(f.get("daily")),
        anomaly_threshold: exact(f.get("anomaly_threshold")),
        anomaly_notify: opt_string(f.get("anomaly_notify")),
        alerts: f
            .alerts
            .iter()
            .map(|a| BudgetAlert {
                thresholds_percent: a.thresholds.clone(),
                notify: a.notify.clone(),
            })
            .collect(),
        span: f.span,
    }
}

fn security(f: &Fields, span: Span) -> Security {
    Security {
        encryption_at_rest: match f.get("encryption_at_rest") {
            Some(Val::Via(cipher, keys)) => Some((cipher.clone(), keys.clone())),
            _ => None,
        },
        kms_key: opt_string(f.get("kms_key")).and_then(|id| KmsKey::parse(&id)),
        encryption_in_transit: opt_word(f.get("encryption_in_transit")),
        network: opt_word(f.get("network")),
        access: ctor(f.get("access")).map(|(name, inner)| Access {
            model: name.to_string(),
            mfa_required: word(inner.get("mfa")) == "required",
        }),
        audit_logging: bool_(f.get("audit_logging")),
        key_rotation_seconds: opt_exact(f.get("key_rotation")),
        log_retention_seconds: opt_exact(f.get("log_retention")),
        span,
    }
}

fn placement(f: &Fields) -> Placement {
    Placement {
        strategy: Strategy::from_word(&word(f.get("strategy"))),
        hybrid: ctor(f.get("hybrid")).map(|(mode, inner)| Hybrid {
            mode: if mode == "sensitive_data" {
                HybridMode::SensitiveData
            } else {
                HybridMode::BurstCompute
            },
            base: ref_name(inner.get("base")).unwrap_or_default(),
        }),
        primary: ref_name(f.get("primary")),
        secondary: ref_name(f.get("secondary")),
    }
}

fn onprem(name: String, f: &Fields, span: Span) -> Onprem {
    Onprem {
        name,
        geography: ref_name(f.get("region")).unwrap_or_default(),
        jurisdiction: opt_word(f.get("jurisdiction")),
        gpus: accel(f.get("gpus")).unwrap_or(AccelCount {
            name: String::new(),
            count: 0,
        }),
        cpus: opt_exact(f.get("cpus")).and_then(|e| e.as_integer()),
        memory_bytes: opt_exact(f.get("memory")),
        storage_bytes: opt_exact(f.get("storage")),
        cost_usd_per_month: per_month(f.get("cost")),
        span,
    }
}

fn dataset(name: String, f: &Fields, span: Span) -> Dataset {
    let location = match f.get("location") {
        Some(Val::Ref(kind, site)) if kind == "onprem" => {
            Some(Location::Onprem { site: site.clone() })
        }
        Some(Val::Ref(cloud, region)) => Some(Location::Region {
            cloud: cloud.clone(),
            region: region.clone(),
        }),
        _ => None,
    };
    Dataset {
        name,
        size_bytes: exact(f.get("size")),
        location,
        classification: word(f.get("classification")),
        tier: word(f.get("tier")),
        retention_seconds: opt_exact(f.get("retention")),
        consent: bool_(f.get("consent")),
        path: opt_string(f.get("path")),
        deidentified: deidentified(f),
        access: f.block("access").map(|a| DatasetAccess {
            read: sorted_strings(a.get("read")),
            write: sorted_strings(a.get("write")),
        }),
        span,
    }
}

fn deidentified(f: &Fields) -> Option<Deidentified> {
    let block = f.blocks.iter().find(|b| b.kind == "deidentified")?;
    Some(Deidentified {
        method: string(block.fields.get("method")),
        classes: words(block.fields.get("classes")),
        span: block.span,
    })
}

fn lineage(f: &Fields) -> Lineage {
    Lineage {
        holds: words(f.get("holds")),
        derived_from: ref_name(f.get("derived_from")),
    }
}

/// A single reference or a list of them, as names.
fn ref_names(v: Option<&Val>) -> Vec<String> {
    match v {
        Some(Val::List(_)) => refs(v),
        other => ref_name(other).into_iter().collect(),
    }
}

fn batch(name: String, f: &Fields, span: Span) -> Batch {
    let inputs = list(f.get("inputs"))
        .into_iter()
        .filter_map(|v| match v {
            Val::Ref(kind, name) if kind == "train" => Some(Input::Train(name.clone())),
            Val::Ref(_, name) => Some(Input::Dataset(name.clone())),
            _ => None,
        })
        .collect();
    Batch {
        name,
        inputs,
        output: ref_name(f.get("output")),
        image: opt_string(f.get("image")),
        accelerator: accel(f.get("accelerator")),
        cpu: opt_exact(f.get("cpu")),
        memory_bytes: opt_exact(f.get("memory")),
        nodes: opt_count(f.get("nodes")).unwrap_or(1),
        max_runtime_seconds: exact(f.get("max_runtime")),
        runs_per_month: per_month(f.get("runs")).unwrap_or(Exact::ONE),
        runs_given: f.written("runs"),
        capacity: capacity(f.get("capacity")),
        window: Window::from_word(&word(f.get("window"))),
        cloud: ref_name(f.get("cloud")),
        region: ref_pair(f.get("region")),
        span,
    }
}

fn sorted_strings(v: Option<&Val>) -> Vec<String> {
    let mut out: Vec<String> = list(v)
        .into_iter()
        .filter_map(|x| opt_string(Some(x)))
        .collect();
    out.sort();
    out.dedup();
    out
}

fn counts(v: Option<&Val>) -> Vec<u64> {
    list(v)
        .into_iter()
        .filter_map(|x| opt_count(Some(x)))
        .collect()
}

fn architecture(v: Option<&Val>) -> Architecture {
    match ctor(v) {
        Some(("transformer", m)) => Architecture::Transformer {
            layers: count(m.get("layers")),
            hidden: count(m.get("hidden")),
            heads: count(m.get("heads")),
            vocab: count(m.get("vocab")),
            seq_len: count(m.get("seq_len")),
        },
        Some(("cnn", m)) => Architecture::Cnn {
            channels: counts(m.get("channels")),
            image_size: count(m.get("image_size")),
            classes: count(m.get("classes")),
            in_channels: count(m.get("in_channels")),
        },
        Some((_, m)) => Architecture::Mlp {
            input: count(m.get("input")),
            hidden: counts(m.get("hidden")),
            output: count(m.get("output")),
        },
        None => Architecture::Mlp {
            input: 0,
            hidden: Vec::new(),
            output: 0,
        },
    }
}

fn parallelism(v: Option<&Val>) -> Parallelism {
    match ctor(v) {
        Some(("model", p)) => Parallelism::Model {
            shards: count(p.get("shards")),
        },
        Some(("pipeline", p)) => Parallelism::Pipeline {
            stages: count(p.get("stages")),
            micro_batches: count(p.get("micro_batches")),
            replicas: count(p.get("replicas")),
        },
        Some((_, p)) => Parallelism::Data {
            gpus: count(p.get("gpus")),
        },
        None => Parallelism::Data { gpus: 0 },
    }
}

fn optimizer(v: Option<&Val>) -> Optimizer {
    match ctor(v) {
        Some(("adamw", o)) => Optimizer::Adamw {
            lr: exact(o.get("lr")),
            weight_decay: exact(o.get("weight_decay")),
            beta1: exact(o.get("beta1")),
            beta2: exact(o.get("beta2")),
            eps: exact(o.get("eps")),
            warmup_steps: count(o.get("warmup_steps")),
        },
        Some((_, o)) => Optimizer::Sgd {
            lr: exact(o.get("lr")),
            momentum: exact(o.get("momentum")),
            warmup_steps: count(o.get("warmup_steps")),
        },
        None => Optimizer::Sgd {
            lr: Exact::ZERO,
            momentum: Exact::ZERO,
            warmup_steps: 0,
        },
    }
}

fn train(name: String, f: &Fields, span: Span) -> Train {
    let parallelism = parallelism(f.get("parallelism"));
    let accelerator = accel(f.get("accelerator")).unwrap_or(AccelCount {
        name: String::new(),
        count: 0,
    });
    let nodes = if accelerator.count == 0 {
        0
    } else {
        parallelism.total_gpus().div_ceil(accelerator.count)
    };
    Train {
        name,
        data: ref_names(f.get("data")),
        model: architecture(f.get("model")),
        parallelism,
        accelerator,
        nodes,
        batch_size: count(f.get("batch_size")),
        epochs: opt_count(f.get("epochs")),
        max_steps: opt_count(f.get("max_steps")),
        optimizer: optimizer(f.get("optimizer")),
        precision: Precision::from_word(&word(f.get("precision"))),
        grad_accumulation: count(f.get("grad_accumulation")),
        grad_clip: opt_exact(f.get("grad_clip")),
        capacity: capacity(f.get("capacity")),
        checkpoint_every_seconds: opt_exact(f.get("checkpoint")),
        checkpoint_storage: f.block("checkpoint_storage").map(|c| CheckpointStorage {
            size_bytes: exact(c.get("size")),
            tier: word(c.get("tier")),
            keep: count(c.get("keep")),
        }),
        max_runtime_seconds: exact(f.get("max_runtime")),
        runs_per_month: per_month(f.get("runs")).unwrap_or(Exact::ONE),
        runs_given: f.written("runs"),
        window: Window::from_word(&word(f.get("window"))),
        cloud: ref_name(f.get("cloud")),
        region: ref_pair(f.get("region")),
        deidentified: deidentified(f),
        span,
    }
}

fn service(name: String, f: &Fields, span: Span, default_strategy: Strategy) -> Service {
    let (min, max) = range(f.get("replicas")).unwrap_or((Exact::ONE, Exact::ONE));
    let as_count = |e: Exact| {
        e.as_integer()
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0)
    };
    let autoscale = f.block("autoscale");
    let resources = f.block("resources");
    Service {
        name,
        model: model_source(f.get("model")).unwrap_or(ModelSource::Image(String::new())),
        replicas_min: as_count(min),
        replicas_max: as_count(max),
        autoscale_cpu_percent: autoscale.and_then(|a| opt_exact(a.get("cpu"))),
        autoscale_memory_percent: autoscale.and_then(|a| opt_exact(a.get("memory"))),
        cpu: resources.and_then(|r| range(r.get("cpu"))),
        memory_bytes: resources.and_then(|r| range(r.get("memory"))),
        accelerator: resources.and_then(|r| accel(r.get("accelerator"))),
        latency_p99_seconds: opt_exact(f.get("latency_p99")),
        near: refs(f.get("near")),
        capacity: capacity(f.get("capacity")),
        requests_per_month: per_month(f.get("requests")),
        port: count(f.get("port")),
        strategy: strategy(f.get("strategy"), default_strategy),
        cloud: ref_name(f.get("cloud")),
        region: ref_pair(f.get("region")),
        lineage: lineage(f),
        span,
    }
}

fn function(name: String, f: &Fields, span: Span, default_strategy: Strategy) -> Function {
    Function {
        name,
        model: model_source(f.get("model")),
        platform: word(f.get("platform")),
        runtime: word(f.get("runtime")),
        memory_bytes: exact(f.get("memory")),
        timeout_seconds: exact(f.get("timeout")),
        min_instances: opt_count(f.get("min_instances"))
            .or(opt_count(f.get("provisioned_concurrency")))
            .unwrap_or(0),
        batching: f.block("batching").map(|b| Batching {
            max_size: count(b.get("size")),
            max_wait_seconds: exact(b.get("max_wait")),
        }),
        cache: f.block("cache").map(|c| ResultCache {
            ttl_seconds: exact(c.get("ttl")),
            size_bytes: exact(c.get("size")),
        }),
        invocations_per_month: per_month(f.get("invocations")).unwrap_or(Exact::ZERO),
        avg_duration_seconds: exact(f.get("avg_duration")),
        accelerator: accel(f.get("accelerator")),
        strategy: strategy(f.get("strategy"), default_strategy),
        region: ref_pair(f.get("region")),
        lineage: lineage(f),
        span,
    }
}

fn strategy(v: Option<&Val>, default: Strategy) -> Strategy {
    opt_word(v).map_or(default, |w| Strategy::from_word(&w))
}

fn cloud(name: String, f: &Fields) -> CloudInfo {
    let regions = f
        .blocks
        .iter()
        .filter(|b| b.kind == "region")
        .map(|b| RegionInfo {
            name: b.name.clone().unwrap_or_default(),
            code: string(b.fields.get("code")),
            geography: ref_name(b.fields.get("geo")).unwrap_or_default(),
            jurisdiction: word(b.fields.get("jurisdiction")),
            egress_internet_usd_per_gb: opt_exact(b.fields.get("egress_internet")).map(per_gb),
        })
        .collect::<Vec<_>>();
    let mut regions = regions;
    regions.sort_by(|a, b| a.name.cmp(&b.name));
    CloudInfo {
        name,
        title: string(f.get("title")),
        egress_internet_usd_per_gb: opt_exact(f.get("egress_internet")).map(per_gb),
        egress_inter_region_usd_per_gb: opt_exact(f.get("egress_inter_region")).map(per_gb),
        egress_same_region_usd_per_gb: opt_exact(f.get("egress_same_region")).map(per_gb),
        egress_inter_continent_usd_per_gb: opt_exact(f.get("egress_inter_continent")).map(per_gb),
        egress_tiers: egress_tiers(f),
        reserved_1y: opt_exact(f.get("reserved_1y")),
        reserved_3y: opt_exact(f.get("reserved_3y")),
        spot_interruptions_per_second: opt_exact(f.get("spot_interruptions")),
        spot_restart_seconds: opt_exact(f.get("spot_restart")),
        node_fee_usd_per_second: opt_exact(f.get("node_fee")).unwrap_or(Exact::int(0)),
        storage: storage_classes(f),
        serverless: serverless_prices(f),
        fixed: fixed_prices(f),
        kubernetes: kubernetes_releases(f),
        regions,
    }
}

/// The `kubernetes` blocks, oldest version first; a date that is not `YYYY-MM-DD` makes
/// the release unusable (day 0), which the stdlib's tests catch.
fn kubernetes_releases(f: &Fields) -> Vec<KubernetesRelease> {
    let days = |date: &str| crate::plan::days_from_iso(date).unwrap_or(0);
    let mut releases: Vec<KubernetesRelease> = named_blocks(f, "kubernetes")
        .map(|(_, b)| {
            let released = string(b.get("released"));
            let standard_until = string(b.get("standard_until"));
            KubernetesRelease {
                version: string(b.get("version")),
                released_days: days(&released),
                released,
                standard_until_days: days(&standard_until),
                standard_until,
                extended_until: string(b.get("extended_until")),
                cluster_autoscaler: opt_string(b.get("cluster_autoscaler")),
                source: string(b.get("source")),
            }
        })
        .collect();
    releases.sort_by_key(|k| k.released_days);
    releases
}

/// `price = 0.10 USD/h` is held in USD per second; a month is 730 hours.
fn fixed_prices(f: &Fields) -> Vec<FixedPrice> {
    let mut prices: Vec<FixedPrice> = named_blocks(f, "fixed")
        .map(|(name, b)| FixedPrice {
            name,
            product: string(b.get("product")),
            usd_per_month: exact(b.get("price"))
                .checked_mul(Exact::int(super::units::SECONDS_PER_MONTH))
                .unwrap_or(Exact::int(0)),
            needed_by: words(b.get("needed_by")),
            resources: list(b.get("resources"))
                .into_iter()
                .filter_map(|x| opt_string(Some(x)))
                .collect(),
            private_only: bool_(b.get("private_only")).unwrap_or(false),
            unless_named_key: bool_(b.get("unless_named_key")).unwrap_or(false),
            source: string(b.get("source")),
        })
        .collect();
    prices.sort_by(|a, b| a.name.cmp(&b.name));
    prices
}

fn named_blocks<'f>(
    f: &'f Fields,
    kind: &'f str,
) -> impl Iterator<Item = (String, &'f Fields)> + 'f {
    f.blocks
        .iter()
        .filter(move |b| b.kind == kind)
        .map(|b| (b.name.clone().unwrap_or_default(), &b.fields))
}

fn egress_tiers(f: &Fields) -> Vec<EgressTier> {
    let mut tiers: Vec<EgressTier> = named_blocks(f, "egress_tier")
        .map(|(name, b)| EgressTier {
            name,
            above_bytes: exact(b.get("above")),
            usd_per_gb: per_gb(exact(b.get("price"))),
        })
        .collect();
    tiers.sort_by(|a, b| {
        a.above_bytes
            .cmp(&b.above_bytes)
            .then_with(|| a.name.cmp(&b.name))
    });
    tiers
}

fn storage_classes(f: &Fields) -> Vec<StorageClass> {
    let mut classes: Vec<StorageClass> = named_blocks(f, "storage")
        .map(|(name, b)| StorageClass {
            name,
            product: string(b.get("product")),
            tier: opt_word(b.get("tier")),
            usd_per_gb_month: per_gb(exact(b.get("price_per_month"))),
            retrieval_usd_per_gb: per_gb(exact(b.get("retrieval"))),
            min_duration_seconds: exact(b.get("min_duration")),
        })
        .collect();
    classes.sort_by(|a, b| a.name.cmp(&b.name));
    classes
}

/// Serverless prices: `memory_per_gb = 0.0000166667 USD/s` is already USD per GB-second.
fn serverless_prices(f: &Fields) -> Vec<ServerlessPrice> {
    let mut prices: Vec<ServerlessPrice> = named_blocks(f, "serverless")
        .map(|(platform, b)| ServerlessPrice {
            platform,
            product: string(b.get("product")),
            title: opt_string(b.get("title")).unwrap_or_else(|| string(b.get("product"))),
            memory_min_bytes: opt_exact(b.get("memory_min")),
            memory_max_bytes: opt_exact(b.get("memory_max")),
            timeout_max_seconds: opt_exact(b.get("timeout_max")),
            accelerators: bool_(b.get("accelerators")).unwrap_or(false),
            min_instances: bool_(b.get("min_instances")).unwrap_or(false),
            usd_per_gb_second: exact(b.get("memory_per_gb")),
            usd_per_vcpu_second: opt_exact(b.get("cpu_per_vcpu")),
            usd_per_request: exact(b.get("request_price")),
            provisioned_usd_per_gb_second: opt_exact(b.get("provisioned_per_gb")),
            provisioned_memory_usd_per_gb_second: opt_exact(b.get("provisioned_memory_per_gb")),
            free_requests_per_month: per_month(b.get("free_requests")),
            free_gb_seconds_per_month: opt_exact(b.get("free_gb_seconds")),
            free_vcpu_seconds_per_month: opt_exact(b.get("free_vcpu_seconds")),
            instance_memory_bytes: sizes(b.get("instance_memory")),
            min_billed_seconds: opt_exact(b.get("min_billed_duration")).unwrap_or(Exact::ZERO),
        })
        .collect();
    prices.sort_by(|a, b| a.platform.cmp(&b.platform));
    prices
}

/// A list of sizes in bytes, smallest first.
fn sizes(v: Option<&Val>) -> Vec<Exact> {
    let mut sizes: Vec<Exact> = list(v)
        .into_iter()
        .filter_map(|x| opt_exact(Some(x)))
        .collect();
    sizes.sort();
    sizes.dedup();
    sizes
}

/// USD per byte to USD per (decimal) GB.
fn per_gb(per_byte: Exact) -> Exact {
    per_byte
        .checked_mul(Exact::int(1_000_000_000))
        .unwrap_or(per_byte)
}

fn framework(name: String, f: &Fields) -> Framework {
    let rules = f
        .rules
        .iter()
        .map(|r| FrameworkRule {
            id: string(r.fields.get("id")),
            title: string(r.fields.get("title")),
            help: string(r.fields.get("help")),
            source: string(r.fields.get("source")),
            span: r.span,
            conditions: r
                .conditions
                .iter()
                .map(|(subject, test)| (subject.clone(), condition_words(test.as_ref())))
                .collect(),
        })
        .collect();
    Framework {
        name,
        title: string(f.get("title")),
        applies_to: words(f.get("applies_to")),
        rules,
    }
}

fn condition_words(v: Option<&Val>) -> Vec<String> {
    match v {
        Some(Val::List(items)) => items
            .iter()
            .filter_map(|(x, _)| condition_words(Some(x)).into_iter().next())
            .collect(),
        Some(Val::Word(w)) => vec![w.clone()],
        Some(Val::Str(s)) => vec![s.clone()],
        Some(Val::Qty(q)) => vec![q.value.to_string()],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::{Architecture, KmsKey};

    #[test]
    fn kms_key_shapes() {
        let cloud = |id: &str| KmsKey::parse(id).map(|k| k.cloud);
        for (id, want) in [
            ("alias/ml-data", Some("aws")),
            (
                "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                Some("aws"),
            ),
            (
                "arn:aws-us-gov:kms:us-gov-west-1:123456789012:alias/ml",
                Some("aws"),
            ),
            (
                "projects/acme/locations/europe-west4/keyRings/ml/cryptoKeys/data",
                Some("gcp"),
            ),
            (
                "https://acme-ml.vault.azure.net/keys/data/0123abcd",
                Some("azure"),
            ),
            ("ml-data", None),
            ("alias/", None),
            ("arn:aws:s3:::bucket/key/x", None),
            ("projects/acme/keyRings/ml/cryptoKeys/data", None),
            ("https://example.com/keys/data", None),
        ] {
            assert_eq!(cloud(id).as_deref(), want, "{id}");
        }
    }

    #[test]
    fn parameter_counts() {
        let mlp = Architecture::Mlp {
            input: 784,
            hidden: vec![100],
            output: 10,
        };
        assert_eq!(mlp.parameters(), 784 * 100 + 100 + 100 * 10 + 10);
        // A LLaMA-7B-shaped stack: about 6.7 B parameters.
        let lm = Architecture::Transformer {
            layers: 32,
            hidden: 4096,
            heads: 32,
            vocab: 32000,
            seq_len: 4096,
        };
        let billions = lm.parameters() as f64 / 1e9;
        assert!((6.6..6.8).contains(&billions), "{billions}");
    }
}
