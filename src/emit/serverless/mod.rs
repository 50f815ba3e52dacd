//! Target `serverless`: the planned functions of the managed platforms, one folder per
//! platform under `serverless/`: an AWS SAM template per AWS region
//! (`aws_lambda/<region>/template.yaml`), and Terraform for Google Cloud Functions (2nd
//! gen) and Azure Functions. Knative functions run on the cluster: the `kubernetes`
//! target emits them.
//!
//! Each platform module fills a typed context from the plan's placements and the model's
//! functions and renders it through `targets/serverless/*.hbs`.

mod aws;
mod azure;
mod gcp;

use super::names::Names;
use super::storage::{Content, Stored};
use super::{BuildInput, EmitError, Output};
use crate::check::model::{Function, ModelSource, Security};
use crate::check::units::Exact;
use crate::plan::PlannedWorkload;
use serde::Serialize;

/// Templates of this target: `(name, text)`.
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "serverless/sam.yaml",
        include_str!("../../../targets/serverless/sam.yaml.hbs"),
    ),
    (
        "serverless/gcp/versions.tf",
        include_str!("../../../targets/serverless/gcp/versions.tf.hbs"),
    ),
    (
        "serverless/gcp/variables.tf",
        include_str!("../../../targets/serverless/gcp/variables.tf.hbs"),
    ),
    (
        "serverless/gcp/main.tf",
        include_str!("../../../targets/serverless/gcp/main.tf.hbs"),
    ),
    (
        "serverless/azure/versions.tf",
        include_str!("../../../targets/serverless/azure/versions.tf.hbs"),
    ),
    (
        "serverless/azure/variables.tf",
        include_str!("../../../targets/serverless/azure/variables.tf.hbs"),
    ),
    (
        "serverless/azure/main.tf",
        include_str!("../../../targets/serverless/azure/main.tf.hbs"),
    ),
];

/// One planned copy of a function on a managed platform.
pub(crate) struct Placed<'a> {
    pub function: &'a Function,
    pub planned: &'a PlannedWorkload,
    /// The spec name, with the copy when the strategy makes several (`f (warm standby)`):
    /// what name errors cite.
    pub spec_name: String,
    /// The spec name with the copy as a suffix, from which generated names are made.
    pub base: String,
    /// Where the trained model it serves is (`trained_model`), for `model = train.x`.
    pub trained: Option<Stored>,
}

/// A name and value of a function's environment.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(crate) struct EnvVar {
    pub name: String,
    /// Spaces after the name that align the values as `terraform fmt` does.
    pub pad: String,
    pub value: String,
}

pub fn emit(input: &BuildInput, names: &mut Names) -> Result<Vec<Output>, Vec<EmitError>> {
    let placed = placed(input);
    let on = |platform: &str| -> Vec<&Placed> {
        placed
            .iter()
            .filter(|p| p.function.platform == platform)
            .collect()
    };
    let mut outputs = Vec::new();
    let mut errors = Vec::new();
    let results = [
        aws::emit(input, &on("aws_lambda"), names),
        gcp::emit(input, &on("gcp_cloud_functions"), names),
        azure::emit(input, &on("azure_functions"), names),
    ];
    for result in results {
        match result {
            Ok(files) => outputs.extend(files),
            Err(mut e) => errors.append(&mut e),
        }
    }
    errors.extend(names.take_errors());
    // One clash of two functions is reported once, not once per resource it names.
    let mut seen = std::collections::BTreeSet::new();
    errors.retain(|e| match e {
        EmitError::NameClash { first, second, .. } => seen.insert((first.clone(), second.clone())),
        _ => true,
    });
    if !errors.is_empty() {
        return Err(errors);
    }
    outputs.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(outputs)
}

/// The plan's function placements on managed platforms, in plan order (sorted by name,
/// then copy), each with its function.
fn placed<'a>(input: &BuildInput<'a>) -> Vec<Placed<'a>> {
    // One storage plan for every function's model.
    let storage = super::storage::plan(input.model, input.plan);
    let mut placed: Vec<Placed> = input
        .plan
        .workloads
        .iter()
        .filter(|w| w.kind == "function")
        .filter_map(|planned| {
            let function = input.model.function(&planned.name)?;
            let (spec_name, base) = match &planned.copy {
                Some(copy) => (
                    format!("{} ({copy})", function.name),
                    format!("{}_{copy}", function.name),
                ),
                None => (function.name.clone(), function.name.clone()),
            };
            Some(Placed {
                trained: trained_model(&storage, function, planned),
                function,
                planned,
                spec_name,
                base,
            })
        })
        .filter(|p| p.function.platform != "knative")
        .collect();
    placed.sort_by(|a, b| a.spec_name.cmp(&b.spec_name));
    placed
}

/// Where a function that serves `train.x` finds the trained model: the folder the
/// storage plan keeps in the function's region (a copy there), else the model's home
/// (which a function on another cloud reads with credentials of that cloud); `None` for
/// other model sources.
fn trained_model(
    storage: &super::storage::Storage,
    function: &Function,
    planned: &PlannedWorkload,
) -> Option<Stored> {
    let Some(ModelSource::Train(train)) = &function.model else {
        return None;
    };
    let place = super::storage::Place::of(planned);
    let content = Content::Model(train.clone());
    storage
        .at(&content, &place)
        .or_else(|| {
            storage
                .stored
                .iter()
                .find(|s| s.content == content && s.copy_of.is_none())
        })
        .cloned()
}

/// What every platform passes to the function's code: its name, its model (the trained
/// weights' URI, `s3://...`, `gs://...` or `az://...`, or the spec's artifact), and the
/// spec's batching and caching (which the code applies in-process), sorted by name.
pub(crate) fn environment(function: &Function, trained: Option<&Stored>) -> Vec<EnvVar> {
    let mut env = vec![EnvVar {
        name: "MLC_FUNCTION".into(),
        pad: String::new(),
        value: function.name.clone(),
    }];
    if let Some(model) = &function.model {
        let value = match (model, trained) {
            (ModelSource::Train(_), Some(stored)) => {
                format!("{}{}", stored.uri(), super::contract::MODEL_WEIGHTS)
            }
            (ModelSource::Train(name), None) => format!("train.{name}"),
            (ModelSource::Image(uri), _) => uri.clone(),
        };
        env.push(EnvVar {
            pad: String::new(),
            name: "MLC_MODEL".into(),
            value,
        });
    }
    if let Some(batching) = &function.batching {
        env.push(EnvVar {
            pad: String::new(),
            name: "MLC_BATCH_SIZE".into(),
            value: batching.max_size.to_string(),
        });
        env.push(EnvVar {
            pad: String::new(),
            name: "MLC_BATCH_MAX_WAIT_MS".into(),
            value: ceil(scale(batching.max_wait_seconds, 1000)).to_string(),
        });
    }
    if let Some(cache) = &function.cache {
        env.push(EnvVar {
            pad: String::new(),
            name: "MLC_CACHE_TTL_SECONDS".into(),
            value: ceil(cache.ttl_seconds).to_string(),
        });
        env.push(EnvVar {
            pad: String::new(),
            name: "MLC_CACHE_BYTES".into(),
            value: ceil(cache.size_bytes).to_string(),
        });
    }
    env.sort_by(|a, b| a.name.cmp(&b.name));
    let width = env.iter().map(|v| v.name.len()).max().unwrap_or(0);
    for var in &mut env {
        var.pad = " ".repeat(width - var.name.len());
    }
    env
}

/// A Terraform resource name: letters, digits and `_` (the spec's identifier, with a
/// copy's words joined by `_`).
pub(crate) fn terraform_name(base: &str) -> String {
    base.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// The smallest whole number at least `value` (values here are positive and small).
pub(crate) fn ceil(value: Exact) -> u64 {
    match value.as_integer() {
        Some(n) => u64::try_from(n).unwrap_or(0),
        None => value.to_f64().ceil().max(0.0) as u64,
    }
}

/// `value` times `factor`, saturating (a quantity too large for exact arithmetic stays
/// as large as f64 says).
pub(crate) fn scale(value: Exact, factor: i128) -> Exact {
    value
        .checked_mul(Exact::int(factor))
        .unwrap_or_else(|| Exact::int((value.to_f64() * factor as f64) as i128))
}

/// Peak traffic assumed over the month's mean when capping instances.
const PEAK_FACTOR: f64 = 10.0;

/// A cap on concurrent instances (Lambda's reserved concurrency, the others' maximum
/// instances): the warm instances plus ten times the month's mean
/// concurrency (calls per second times their duration), at least one. It keeps a runaway
/// caller from draining the account's shared concurrency and from running up the bill.
pub(crate) fn max_instances(f: &Function) -> u64 {
    let mean = f.invocations_per_month.to_f64() / crate::check::units::SECONDS_PER_MONTH as f64
        * f.avg_duration_seconds.to_f64();
    let peak = (mean * PEAK_FACTOR).ceil();
    let peak = if peak.is_finite() && peak >= 1.0 {
        peak.min(1_000_000.0) as u64
    } else {
        1
    };
    f.min_instances + peak
}

/// Memory in whole MiB, rounded up: what the platforms' "MB" settings mean.
pub(crate) fn memory_mib(function: &Function) -> u64 {
    ceil(
        function
            .memory_bytes
            .checked_div(Exact::int(1 << 20))
            .unwrap_or(Exact::ZERO),
    )
}

/// Whether the spec asks for a private network.
pub(crate) fn private(security: Option<&Security>) -> bool {
    security.and_then(|s| s.network.as_deref()) == Some("private")
}

/// Days of log retention the spec asks for; a year when it does not say (what the
/// security scanners expect as a floor).
pub(crate) fn log_retention_days(security: Option<&Security>) -> u64 {
    security
        .and_then(|s| s.log_retention_seconds)
        .map_or(365, |s| {
            ceil(s.checked_div(Exact::int(86_400)).unwrap_or(Exact::ZERO)).max(1)
        })
}

/// Days between key rotations the spec asks for; a year when it does not say.
pub(crate) fn key_rotation_days(security: Option<&Security>) -> u64 {
    security
        .and_then(|s| s.key_rotation_seconds)
        .map_or(365, |s| {
            ceil(s.checked_div(Exact::int(86_400)).unwrap_or(Exact::ZERO)).max(1)
        })
}

/// The spec's named KMS key when it belongs to `cloud`.
pub(crate) fn named_key<'m>(security: Option<&'m Security>, cloud: &str) -> Option<&'m str> {
    security
        .and_then(|s| s.kms_key.as_ref())
        .filter(|k| k.cloud == cloud)
        .map(|k| k.id.as_str())
}

/// Renders the Terraform files of one platform (`versions.tf`, `variables.tf`, `main.tf`
/// from `serverless/<platform>/`) into `dir`, or every template error.
fn terraform_files<T: Serialize>(
    platform: &str,
    dir: &str,
    context: &T,
) -> Result<Vec<Output>, Vec<EmitError>> {
    let mut outputs = Vec::new();
    let mut errors = Vec::new();
    for file in ["versions.tf", "variables.tf", "main.tf"] {
        match super::templates::render(&format!("serverless/{platform}/{file}"), context) {
            Ok(contents) => outputs.push(Output {
                path: format!("{dir}/{file}"),
                contents,
            }),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(outputs)
    } else {
        Err(errors)
    }
}
