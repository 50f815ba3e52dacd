//! Azure Functions as Terraform in `serverless/azure_functions/`: per planned copy an
//! `azurerm_linux_function_app` on its own Elastic Premium plan (the Linux plan that keeps
//! instances warm and joins a virtual network), with a storage account for the runtime
//! that the app reaches by its managed identity, never by a shared key.

use super::{
    ceil, environment, max_instances, memory_mib, private, terraform_name, EnvVar, Placed,
};
use crate::emit::names::Names;
use crate::emit::{BuildInput, EmitError, Output};
use serde::Serialize;

const DIR: &str = "serverless/azure_functions";

#[derive(Serialize)]
struct Context {
    header: String,
    private: bool,
    /// The TLS floor the spec asks for (`1.2` or `1.3`).
    min_tls: String,
    functions: Vec<FunctionApp>,
}

#[derive(Serialize)]
struct FunctionApp {
    label: String,
    spec_name: String,
    name: String,
    plan_name: String,
    endpoint_label: String,
    endpoint_name: String,
    /// Private endpoints of the runtime's storage (`network = private`).
    storage_endpoints: Vec<StorageEndpoint>,
    storage_account: String,
    location: String,
    stack: Stack,
    /// The Elastic Premium size whose memory fits the function's.
    sku: String,
    timeout: String,
    min_instances: u64,
    max_instances: u64,
    env: Vec<EnvVar>,
}

#[derive(Serialize)]
struct StorageEndpoint {
    label: String,
    name: String,
    /// `blob`, `queue` or `table`: what the Functions runtime uses.
    service: String,
}

/// The `application_stack` of a runtime: one of the language versions, or a custom
/// handler.
#[derive(Serialize, Default)]
struct Stack {
    python: Option<String>,
    node: Option<String>,
    java: Option<String>,
    custom: bool,
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
        min_tls: match security.and_then(|s| s.encryption_in_transit.as_deref()) {
            Some("tls13") => "1.3".into(),
            _ => "1.2".into(),
        },
        functions: placed.iter().map(|p| function_app(p, names)).collect(),
    };
    super::terraform_files("azure", DIR, &context)
}

fn function_app(placed: &Placed, names: &mut Names) -> FunctionApp {
    let f = placed.function;
    let spec = &placed.spec_name;
    // App names are global host names (`NAME.azurewebsites.net`) of at most 60
    // characters; 55 leave room for the plan's `-plan`.
    let name = names.bucket(
        "azure_functions app",
        spec,
        &format!("{}-fn", placed.base),
        55,
    );
    let seconds = ceil(f.timeout_seconds).max(1);
    let label = names.iam(
        "azure_functions resource",
        spec,
        &terraform_name(&placed.base),
        64,
    );
    let mut endpoint_label = |suffix: &str| {
        names.iam(
            "azure_functions private endpoint",
            spec,
            &terraform_name(&format!("{} {suffix}", placed.base)),
            64,
        )
    };
    let app_endpoint_label = endpoint_label("app");
    let storage_endpoints = ["blob", "queue", "table"]
        .into_iter()
        .map(|service| StorageEndpoint {
            label: endpoint_label(&format!("storage {service}")),
            name: format!("{name}-{service}"),
            service: service.into(),
        })
        .collect();
    FunctionApp {
        label,
        endpoint_label: app_endpoint_label,
        storage_endpoints,
        spec_name: spec.clone(),
        plan_name: format!("{name}-plan"),
        endpoint_name: format!("{name}-endpoint"),
        // Storage account names: 3 to 24 lowercase letters and digits, globally unique.
        storage_account: names.bucket(
            "azure_functions storage account",
            spec,
            &format!(
                "fn{}",
                placed
                    .base
                    .chars()
                    .filter(char::is_ascii_alphanumeric)
                    .collect::<String>()
            ),
            24,
        ),
        name,
        location: placed.planned.region_code.clone(),
        stack: stack(&f.runtime),
        sku: sku(memory_mib(f)).into(),
        timeout: format!(
            "{:02}:{:02}:{:02}",
            seconds / 3600,
            seconds / 60 % 60,
            seconds % 60
        ),
        min_instances: f.min_instances,
        max_instances: max_instances(f).max(f.min_instances.max(1)),
        env: environment(f),
    }
}

fn stack(runtime: &str) -> Stack {
    if let Some(version) = runtime.strip_prefix("python") {
        Stack {
            python: Some(version.into()),
            ..Stack::default()
        }
    } else if let Some(version) = runtime.strip_prefix("nodejs") {
        Stack {
            node: Some(version.into()),
            ..Stack::default()
        }
    } else if let Some(version) = runtime.strip_prefix("java") {
        Stack {
            java: Some(version.into()),
            ..Stack::default()
        }
    } else {
        // Go binaries and other custom code run as custom handlers.
        Stack {
            custom: true,
            ..Stack::default()
        }
    }
}

/// Elastic Premium instances have 3.5, 7 and 14 GB of memory.
fn sku(memory_mib: u64) -> &'static str {
    match memory_mib {
        0..=3584 => "EP1",
        3585..=7168 => "EP2",
        _ => "EP3",
    }
}
