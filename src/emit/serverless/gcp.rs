//! Google Cloud Functions (2nd gen) as Terraform in `serverless/gcp_cloud_functions/`:
//! one `google_cloudfunctions2_function` per planned copy, each with its own service
//! account (no roles: the function reaches nothing the spec does not grant).

use super::{
    ceil, environment, max_instances, memory_mib, named_key, private, terraform_name, EnvVar,
    Placed,
};
use crate::emit::names::{self, Names};
use crate::emit::{BuildInput, EmitError, Output};
use serde::Serialize;

const DIR: &str = "serverless/gcp_cloud_functions";

#[derive(Serialize)]
struct Context {
    header: String,
    private: bool,
    /// The spec's Cloud KMS key (CMEK) for the functions' images and sources.
    kms_key: Option<String>,
    functions: Vec<CloudFunction>,
}

#[derive(Serialize)]
struct CloudFunction {
    /// The Terraform resource name.
    label: String,
    spec_name: String,
    /// The service account's display name: the spec name, within 100 characters.
    display_name: String,
    name: String,
    account_id: String,
    location: String,
    runtime: String,
    entry_point: String,
    code_object: String,
    memory: String,
    cpu: String,
    timeout_seconds: u64,
    min_instances: u64,
    max_instances: u64,
    env: Vec<EnvVar>,
    /// The trained model it serves, where it is in Cloud Storage: the bucket, and the
    /// condition that limits the read grant to the model's folder (a CEL string).
    model_bucket: Option<String>,
    model_condition: String,
}

pub(super) fn emit(
    input: &BuildInput,
    placed: &[&Placed],
    names: &mut Names,
) -> Result<Vec<Output>, Vec<EmitError>> {
    if placed.is_empty() {
        return Ok(Vec::new());
    }
    let security = input.model.security.as_ref();
    let context = Context {
        header: input.header("#"),
        private: private(security),
        kms_key: named_key(security, "gcp").map(str::to_string),
        functions: placed.iter().map(|p| function(p, names)).collect(),
    };
    let errors: Vec<EmitError> = placed
        .iter()
        .filter(|p| runtime(&p.function.runtime).is_none())
        .map(|p| EmitError::Unsupported {
            target: "serverless",
            subject: p.spec_name.clone(),
            why: "Google Cloud Functions has no custom runtime (`runtime = provided`); choose a language runtime, or a platform that runs custom code (aws_lambda, azure_functions, knative)".into(),
        })
        .collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    super::terraform_files("gcp", DIR, &context)
}

fn function(placed: &Placed, names: &mut Names) -> CloudFunction {
    let trained = placed.trained.as_ref().filter(|s| s.place.cloud == "gcp");
    let model_bucket = trained.as_ref().and_then(|s| s.bucket.clone());
    let model_condition = match (&model_bucket, &trained) {
        (Some(bucket), Some(stored)) => format!(
            "resource.name.startsWith({})",
            crate::emit::templates::yaml_quote(&format!(
                "projects/_/buckets/{bucket}/objects/{}",
                stored.prefix
            ))
        ),
        _ => String::new(),
    };
    let f = placed.function;
    let spec = &placed.spec_name;
    let mib = memory_mib(f);
    CloudFunction {
        label: names.iam(
            "gcp_cloud_functions resource",
            spec,
            &terraform_name(&placed.base),
            64,
        ),
        spec_name: spec.clone(),
        display_name: names::GCP_DISPLAY_NAME.fit(spec),
        name: names.fit(
            &names::GCP_FUNCTION,
            "gcp_cloud_functions function",
            spec,
            &starts_with_letter(&placed.base),
        ),
        account_id: names.fit(
            &names::GCP_SERVICE_ACCOUNT,
            "gcp_cloud_functions service account",
            spec,
            &format!("mlc-fn-{}", placed.base),
        ),
        location: placed.planned.region_code.clone(),
        runtime: runtime(&f.runtime).unwrap_or_default(),
        entry_point: entry_point(&f.runtime).into(),
        code_object: format!("{}.zip", placed.base),
        memory: format!("{mib}Mi"),
        cpu: crate::plan::cost::cloud_functions_vcpus(mib).to_string(),
        timeout_seconds: ceil(f.timeout_seconds).max(1),
        min_instances: f.min_instances,
        max_instances: max_instances(f),
        env: environment(f, placed.trained.as_ref()),
        model_bucket,
        model_condition,
    }
}

/// A function name must start with a letter.
fn starts_with_letter(name: &str) -> String {
    let trimmed = name.trim_start_matches(|c: char| !c.is_ascii_alphabetic());
    if trimmed.len() == name.len() {
        name.to_string()
    } else {
        format!("fn-{name}")
    }
}

/// The Cloud Functions runtime of a spec `runtime`, or `None` for `provided`: Cloud
/// Functions runs only its language runtimes.
fn runtime(spec: &str) -> Option<String> {
    match spec {
        "go1" => Some("go123".into()),
        "provided" => None,
        other => Some(other.replace('.', "")),
    }
}

/// The function the code must export (Functions Framework target).
fn entry_point(spec: &str) -> &'static str {
    if spec.starts_with("java") {
        "mlc.Handler"
    } else if spec == "go1" {
        "Handler"
    } else {
        "handler"
    }
}
