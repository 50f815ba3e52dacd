//! AWS Lambda functions as AWS SAM: one `template.yaml` per region the plan uses (a
//! CloudFormation stack lives in one region), in `serverless/aws_lambda/<region>/`.

use super::{
    ceil, environment, key_rotation_days, log_retention_days, max_instances, memory_mib, named_key,
    private, EnvVar, Placed,
};
use crate::check::model::{Function, ModelSource};
use crate::emit::names::{self, Names};
use crate::emit::templates::render;
use crate::emit::{BuildInput, EmitError, Output};
use serde::Serialize;
use std::collections::BTreeMap;

/// Retention periods CloudWatch Logs accepts, in days.
const LOG_RETENTION_DAYS: [u64; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

#[derive(Serialize)]
struct Template {
    header: String,
    description: String,
    private: bool,
    /// The Terraform outputs (terraform/aws) that give `SubnetIds` and `SecurityGroupIds`:
    /// the region's private network exists wherever the plan runs a private function.
    subnets_output: String,
    security_group_output: String,
    subnets_description: String,
    security_group_description: String,
    /// No AWS key named in the spec: the template creates one, rotated.
    create_key: bool,
    key_rotation_days: u64,
    /// The spec names an AWS key: the `KmsKeyArn` parameter's description and default.
    key_parameter_description: String,
    key_default: Option<String>,
    /// A function serves a model trained by the spec: the key of its bucket (Terraform's
    /// output `data_key_<region>`) is a parameter, which the function may decrypt with.
    reads_trained_model: bool,
    model_key_description: String,
    log_retention_days: u64,
    functions: Vec<Lambda>,
}

#[derive(Serialize)]
struct Lambda {
    /// The function's logical ID; its resources append to it.
    id: String,
    log_group_id: String,
    role_id: String,
    dead_letter_id: String,
    requests_id: String,
    arn_output_id: String,
    dead_letter_output_id: String,
    requests_output_id: String,
    /// A function URL, IAM-authenticated: request/response functions under
    /// `network = public` (a private one is called through the Lambda API, with IAM).
    url: bool,
    url_output_id: String,
    dead_letter_description: String,
    requests_description: String,
    spec_name: String,
    function_name: String,
    log_group: String,
    code_key: String,
    runtime: String,
    handler: String,
    architecture: String,
    memory_mib: u64,
    timeout_seconds: u64,
    reserved_concurrency: u64,
    provisioned: bool,
    provisioned_concurrency: u64,
    env: Vec<EnvVar>,
    /// An `s3://` model artifact or the trained model's folder the function may read, as
    /// an object ARN prefix.
    model_object_arn: Option<String>,
    /// The model is the spec's trained one, in a bucket encrypted by the region's key.
    trained_model: bool,
    batching: bool,
    batch_size: u64,
    batch_window_seconds: u64,
    /// How long a batch's messages stay hidden while the function works on them.
    visibility_timeout_seconds: u64,
}

pub(super) fn emit(
    input: &BuildInput,
    placed: &[&Placed],
    names: &mut Names,
) -> Result<Vec<Output>, Vec<EmitError>> {
    let mut by_region: BTreeMap<&str, Vec<&Placed>> = BTreeMap::new();
    for p in placed {
        by_region
            .entry(p.planned.region_code.as_str())
            .or_default()
            .push(p);
    }
    let mut outputs = Vec::new();
    let mut errors: Vec<EmitError> = placed.iter().filter_map(|p| unnamable_model(p)).collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    for (region, functions) in by_region {
        let context = template(input, region, &functions, names);
        match render("serverless/sam.yaml", &context) {
            Ok(contents) => outputs.push(Output {
                path: format!("serverless/aws_lambda/{region}/template.yaml"),
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

fn template(input: &BuildInput, region: &str, placed: &[&Placed], names: &mut Names) -> Template {
    let security = input.model.security.as_ref();
    let named = named_key(security, "aws");
    let project = input
        .model
        .project
        .as_ref()
        .map_or(String::new(), |p| format!(" of {}", p.name));
    let region_name = placed.first().map_or(region, |p| p.planned.region.as_str());
    let network_outputs = crate::emit::terraform::lambda_network_outputs(region_name);
    Template {
        header: input.header("#"),
        description: format!(
            "Serverless functions{project} in {region}, from {} (mlc build)",
            input.spec_label()
        ),
        private: private(security),
        subnets_description: format!(
            "Private subnets the functions run in: the output {} of terraform/aws",
            network_outputs.0
        ),
        security_group_description: format!(
            "Security group of the functions' network interfaces: the output {} of terraform/aws",
            network_outputs.1
        ),
        subnets_output: network_outputs.0,
        security_group_output: network_outputs.1,
        create_key: named.is_none(),
        key_rotation_days: key_rotation_days(security).clamp(90, 2560),
        key_parameter_description: match named {
            Some(key) => format!("the ARN of KMS key {key} (the spec's kms_key), which encrypts the functions' environment, logs and queues"),
            None => String::new(),
        },
        key_default: named.filter(|k| k.starts_with("arn:") && k.contains(":key/")).map(str::to_string),
        log_retention_days: LOG_RETENTION_DAYS
            .iter()
            .copied()
            .find(|d| *d >= log_retention_days(security))
            .unwrap_or(3653),
        reads_trained_model: placed
            .iter()
            .any(|p| p.trained.as_ref().is_some_and(|s| s.place.cloud == "aws")),
        model_key_description: format!(
            "the ARN of the KMS key that encrypts the trained models' bucket: the output data_key_{} of terraform/aws",
            crate::emit::terraform::ident(region_name)
        ),
        functions: placed
            .iter()
            .map(|p| lambda(input, p, region, names))
            .collect(),
    }
}

fn lambda(input: &BuildInput, placed: &Placed, region: &str, names: &mut Names) -> Lambda {
    let trained = placed.trained.as_ref();
    let f = placed.function;
    let scope = format!("aws_lambda {region}");
    // The function's own ID first: when two functions clash, that is the error reported.
    let id = names.logical_id(
        &format!("{scope} logical id"),
        &placed.spec_name,
        &placed.base,
    );
    let mut derived = |suffix: &str| {
        names.logical_id(
            &format!("{scope} logical id"),
            &placed.spec_name,
            &format!("{} {suffix}", placed.base),
        )
    };
    let (log_group_id, role_id, dead_letter_id, requests_id) = (
        derived("log group"),
        derived("role"),
        derived("dead letter queue"),
        derived("request queue"),
    );
    // What SAM derives from the function's ID: the event source mapping of the
    // `Batches` event and the `live` alias.
    derived("batches");
    derived("alias live");
    // SAM names a function's URL `<id>Url`.
    derived("url");
    let mut output = |suffix: &str| {
        names.logical_id(
            &format!("{scope} output"),
            &placed.spec_name,
            &format!("{} {suffix}", placed.base),
        )
    };
    let (arn_output_id, dead_letter_output_id, requests_output_id, url_output_id) = (
        output("arn"),
        output("dead letter queue url"),
        output("requests url"),
        output("function url"),
    );
    let function_name = names.fit(
        &names::LAMBDA_FUNCTION,
        &format!("{scope} function"),
        &placed.spec_name,
        &placed.base,
    );
    let timeout_seconds = ceil(f.timeout_seconds).max(1);
    let batch_window_seconds = f
        .batching
        .as_ref()
        .map_or(0, |b| ceil(b.max_wait_seconds).clamp(1, 300));
    Lambda {
        log_group_id,
        role_id,
        dead_letter_id,
        requests_id,
        arn_output_id,
        dead_letter_output_id,
        requests_output_id,
        url: !private(input.model.security.as_ref()) && f.batching.is_none(),
        url_output_id,
        dead_letter_description: format!(
            "Dead letters of {}: failed asynchronous calls and requests",
            placed.spec_name
        ),
        requests_description: format!(
            "Where callers send requests to {}, which reads them in batches",
            placed.spec_name
        ),
        spec_name: placed.spec_name.clone(),
        log_group: format!("/aws/lambda/{function_name}"),
        code_key: format!("{function_name}.zip"),
        function_name,
        runtime: runtime(&f.runtime).to_string(),
        handler: handler(&f.runtime).to_string(),
        architecture: if placed.planned.instance_type.contains("arm") {
            "arm64".into()
        } else {
            "x86_64".into()
        },
        memory_mib: memory_mib(f),
        timeout_seconds,
        reserved_concurrency: max_instances(f),
        provisioned: f.min_instances > 0,
        provisioned_concurrency: f.min_instances,
        env: environment(f, trained),
        model_object_arn: trained
            .and_then(trained_object_arn)
            .or_else(|| model_object_arn(f)),
        trained_model: trained.is_some_and(|s| s.place.cloud == "aws"),
        batching: f.batching.is_some(),
        batch_size: f
            .batching
            .as_ref()
            .map_or(0, |b| b.max_size.clamp(1, 10_000)),
        batch_window_seconds,
        visibility_timeout_seconds: (6 * timeout_seconds + batch_window_seconds).min(43_200),
        id,
    }
}

/// The Lambda runtime identifier of a spec `runtime`. Go's own runtime is retired: Go
/// binaries run on the OS-only runtime, as `provided` code does.
fn runtime(spec: &str) -> &str {
    match spec {
        "nodejs20" => "nodejs20.x",
        "nodejs22" => "nodejs22.x",
        "go1" | "provided" => "provided.al2023",
        other => other,
    }
}

/// The entry point the code package must provide.
fn handler(spec: &str) -> &'static str {
    if spec.starts_with("java") {
        "mlc.Handler::handleRequest"
    } else if spec == "go1" || spec == "provided" {
        "bootstrap"
    } else {
        "app.handler"
    }
}

/// The trained model's folder as an S3 object ARN prefix (its weights and description),
/// where it is in S3.
fn trained_object_arn(stored: &crate::emit::storage::Stored) -> Option<String> {
    let bucket = stored
        .bucket
        .as_deref()
        .filter(|_| stored.place.cloud == "aws")?;
    Some(format!("arn:aws:s3:::{bucket}/{}*", stored.prefix))
}

/// `s3://bucket/key` of an artifact model as an S3 object ARN (a prefix: the key and what
/// is under it); other model sources need no grant here.
fn model_object_arn(f: &Function) -> Option<String> {
    let Some(ModelSource::Image(uri)) = &f.model else {
        return None;
    };
    let path = uri.strip_prefix("s3://")?;
    let (bucket, key) = path.split_once('/').unwrap_or((path, ""));
    (!bucket.is_empty()).then(|| format!("arn:aws:s3:::{bucket}/{key}*"))
}

/// A model path an IAM policy cannot name: control characters, or the policy wildcards
/// `*` and `?` (which would grant more than the one artifact).
pub(super) fn unnamable_model(placed: &Placed) -> Option<EmitError> {
    let arn = model_object_arn(placed.function)?;
    let path = arn.trim_end_matches('*');
    path.chars()
        .any(|c| c.is_control() || c == '*' || c == '?')
        .then(|| EmitError::Unsupported {
            target: "serverless",
            subject: placed.spec_name.clone(),
            why: "its model path has control characters or `*`/`?`, which an IAM policy cannot name as one S3 object; rename the artifact".into(),
        })
}
