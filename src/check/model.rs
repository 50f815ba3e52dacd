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
    /// What the standard library (and the spec) says about the world.
    pub knowledge: Knowledge,
}

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
    pub anomaly_threshold: Exact,
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
    pub encryption_in_transit: Option<String>,
    pub network: Option<String>,
    pub access: Option<Access>,
    pub audit_logging: Option<bool>,
    pub key_rotation_seconds: Option<Exact>,
    pub log_retention_seconds: Option<Exact>,
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
    pub location: Location,
    pub classification: String,
    pub tier: String,
    pub retention_seconds: Option<Exact>,
    pub consent: Option<bool>,
    pub path: Option<String>,
    pub span: Span,
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

#[derive(Debug, Clone, Serialize)]
pub struct Capacity {
    pub primary: String,
    pub fallback: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Train {
    pub name: String,
    pub data: Option<String>,
    pub model: Architecture,
    pub parallelism: Parallelism,
    pub accelerator: AccelCount,
    /// Total GPUs divided by GPUs per node.
    pub nodes: u64,
    pub batch_size: u64,
    pub epochs: Option<u64>,
    pub max_steps: Option<u64>,
    pub optimizer: Optimizer,
    pub precision: String,
    pub grad_accumulation: u64,
    pub grad_clip: Option<Exact>,
    pub capacity: Capacity,
    pub checkpoint_every_seconds: Option<Exact>,
    pub max_runtime_seconds: Exact,
    pub runs_per_month: Exact,
    pub window: String,
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
    pub cloud: Option<String>,
    pub region: Option<(String, String)>,
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
    pub provisioned_concurrency: u64,
    pub invocations_per_month: Exact,
    pub avg_duration_seconds: Exact,
    pub accelerator: Option<AccelCount>,
    pub region: Option<(String, String)>,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize)]
pub struct Placement {
    pub strategy: String,
    pub hybrid: Option<Hybrid>,
    pub primary: Option<String>,
    pub secondary: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Hybrid {
    pub mode: String,
    pub base: String,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Knowledge {
    pub clouds: Vec<CloudInfo>,
    pub geographies: Vec<Geography>,
    pub accelerators: Vec<AcceleratorInfo>,
    pub frameworks: Vec<Framework>,
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
    /// Object-storage classes, sorted by name.
    pub storage: Vec<StorageClass>,
    /// Serverless platforms' prices, sorted by platform.
    pub serverless: Vec<ServerlessPrice>,
    pub regions: Vec<RegionInfo>,
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

#[derive(Debug, Clone, Serialize)]
pub struct ServerlessPrice {
    /// The `platform` word, e.g. `aws_lambda`.
    pub platform: String,
    pub product: String,
    pub usd_per_gb_second: Exact,
    pub usd_per_vcpu_second: Option<Exact>,
    pub usd_per_request: Exact,
    pub provisioned_usd_per_gb_second: Option<Exact>,
    pub provisioned_memory_usd_per_gb_second: Option<Exact>,
    pub free_requests_per_month: Option<Exact>,
    pub free_gb_seconds_per_month: Option<Exact>,
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
    for decl in decls {
        let f = &decl.fields;
        let name = decl.name.clone().unwrap_or_default();
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
            "security" => model.security = Some(security(f)),
            "placement" => model.placement = Some(placement(f)),
            "onprem" => model.onprem.push(onprem(name, f, decl.header)),
            "dataset" => model.datasets.push(dataset(name, f, decl.header)),
            "train" => model.trains.push(train(name, f, decl.header)),
            "service" => model.services.push(service(name, f, decl.header)),
            "function" => model.functions.push(function(name, f, decl.header)),
            "cloud" => model.knowledge.clouds.push(cloud(name, f)),
            "geography" => model.knowledge.geographies.push(Geography {
                name,
                title: string(f.get("title")),
                jurisdiction: word(f.get("jurisdiction")),
            }),
            "accelerator" => model.knowledge.accelerators.push(AcceleratorInfo {
                name,
                memory_bytes: exact(f.get("memory")),
                bf16_tflops: exact(f.get("bf16_tflops")),
                vendor: word(f.get("vendor")),
                cloud: ref_name(f.get("cloud")),
            }),
            "framework" => model.knowledge.frameworks.push(framework(name, f)),
            _ => {}
        }
    }
    sort_by_name(&mut model);
    domain::check_model(&model, decls, diagnostics);
    model
}

fn sort_by_name(model: &mut Model) {
    model.onprem.sort_by(|a, b| a.name.cmp(&b.name));
    model.datasets.sort_by(|a, b| a.name.cmp(&b.name));
    model.trains.sort_by(|a, b| a.name.cmp(&b.name));
    model.services.sort_by(|a, b| a.name.cmp(&b.name));
    model.functions.sort_by(|a, b| a.name.cmp(&b.name));
    let k = &mut model.knowledge;
    k.clouds.sort_by(|a, b| a.name.cmp(&b.name));
    k.geographies.sort_by(|a, b| a.name.cmp(&b.name));
    k.accelerators.sort_by(|a, b| a.name.cmp(&b.name));
    k.frameworks.sort_by(|a, b| a.name.cmp(&b.name));
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
            primary: primary.clone(),
            fallback: fallback.clone(),
        },
        _ => Capacity {
            primary: "on_demand".into(),
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
        anomaly_threshold: exact(f.get("anomaly_threshold")),
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

fn security(f: &Fields) -> Security {
    Security {
        encryption_at_rest: match f.get("encryption_at_rest") {
            Some(Val::Via(cipher, keys)) => Some((cipher.clone(), keys.clone())),
            _ => None,
        },
        encryption_in_transit: opt_word(f.get("encryption_in_transit")),
        network: opt_word(f.get("network")),
        access: ctor(f.get("access")).map(|(name, inner)| Access {
            model: name.to_string(),
            mfa_required: word(inner.get("mfa")) == "required",
        }),
        audit_logging: bool_(f.get("audit_logging")),
        key_rotation_seconds: opt_exact(f.get("key_rotation")),
        log_retention_seconds: opt_exact(f.get("log_retention")),
    }
}

fn placement(f: &Fields) -> Placement {
    Placement {
        strategy: word(f.get("strategy")),
        hybrid: ctor(f.get("hybrid")).map(|(mode, inner)| Hybrid {
            mode: mode.to_string(),
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
        Some(Val::Ref(kind, site)) if kind == "onprem" => Location::Onprem { site: site.clone() },
        Some(Val::Ref(cloud, region)) => Location::Region {
            cloud: cloud.clone(),
            region: region.clone(),
        },
        _ => Location::Onprem {
            site: String::new(),
        },
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
        span,
    }
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
        data: ref_name(f.get("data")),
        model: architecture(f.get("model")),
        parallelism,
        accelerator,
        nodes,
        batch_size: count(f.get("batch_size")),
        epochs: opt_count(f.get("epochs")),
        max_steps: opt_count(f.get("max_steps")),
        optimizer: optimizer(f.get("optimizer")),
        precision: word(f.get("precision")),
        grad_accumulation: count(f.get("grad_accumulation")),
        grad_clip: opt_exact(f.get("grad_clip")),
        capacity: capacity(f.get("capacity")),
        checkpoint_every_seconds: opt_exact(f.get("checkpoint")),
        max_runtime_seconds: exact(f.get("max_runtime")),
        runs_per_month: per_month(f.get("runs")).unwrap_or(Exact::ONE),
        window: word(f.get("window")),
        cloud: ref_name(f.get("cloud")),
        region: ref_pair(f.get("region")),
        span,
    }
}

fn service(name: String, f: &Fields, span: Span) -> Service {
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
        cloud: ref_name(f.get("cloud")),
        region: ref_pair(f.get("region")),
        span,
    }
}

fn function(name: String, f: &Fields, span: Span) -> Function {
    Function {
        name,
        model: model_source(f.get("model")),
        platform: word(f.get("platform")),
        runtime: word(f.get("runtime")),
        memory_bytes: exact(f.get("memory")),
        timeout_seconds: exact(f.get("timeout")),
        provisioned_concurrency: count(f.get("provisioned_concurrency")),
        invocations_per_month: per_month(f.get("invocations")).unwrap_or(Exact::ZERO),
        avg_duration_seconds: exact(f.get("avg_duration")),
        accelerator: accel(f.get("accelerator")),
        region: ref_pair(f.get("region")),
        span,
    }
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
        storage: storage_classes(f),
        serverless: serverless_prices(f),
        regions,
    }
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
            usd_per_gb_second: exact(b.get("memory_per_gb")),
            usd_per_vcpu_second: opt_exact(b.get("cpu_per_vcpu")),
            usd_per_request: exact(b.get("request_price")),
            provisioned_usd_per_gb_second: opt_exact(b.get("provisioned_per_gb")),
            provisioned_memory_usd_per_gb_second: opt_exact(b.get("provisioned_memory_per_gb")),
            free_requests_per_month: per_month(b.get("free_requests")),
            free_gb_seconds_per_month: opt_exact(b.get("free_gb_seconds")),
        })
        .collect();
    prices.sort_by(|a, b| a.platform.cmp(&b.platform));
    prices
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
    use super::Architecture;

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
