//! Azure Functions as Terraform in `serverless/azure_functions/`: per planned copy an
//! `azurerm_function_app_flex_consumption` on its own Flex Consumption (FC1) plan, the
//! Linux plan that scales to zero, keeps `min_instances` always ready and joins a
//! virtual network, and that the plan prices (`stdlib/clouds/azure.mlc`). A storage
//! account holds the runtime's state and the code package; the app reaches it by its
//! managed identity, never by a shared key.

use super::{
    ceil, environment, max_instances, memory_mib, private, terraform_name, EnvVar, Placed,
};
use crate::check::model::Function;
use crate::check::units::Exact;
use crate::emit::names::{self, Names};
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
    /// The blob container the code package is deployed to.
    container_name: String,
    location: String,
    runtime_name: String,
    runtime_version: String,
    /// The instance size the plan bills (`ServerlessPrice::billed_memory_bytes`), MiB.
    instance_memory_mb: u64,
    timeout: String,
    /// Always-ready instances of the HTTP trigger group: the spec's `min_instances`.
    always_ready: u64,
    max_instances: u64,
    env: Vec<EnvVar>,
    /// The blob container of the trained model it serves, where it is in Azure (the
    /// region's storage account of terraform/azure), as a role assignment scope.
    model_scope: Option<String>,
}

#[derive(Serialize)]
struct StorageEndpoint {
    label: String,
    name: String,
    /// `blob`, `queue` or `table`: what the Functions runtime uses.
    service: String,
}

/// Flex Consumption's `runtime_name` and `runtime_version` of a spec runtime.
#[derive(Debug, PartialEq, Eq)]
struct Runtime {
    name: &'static str,
    version: String,
}

/// Flex Consumption's bounds on `maximum_instance_count`.
const MAX_INSTANCES: std::ops::RangeInclusive<u64> = 40..=1000;

/// Flex Consumption's instance sizes, MiB: what a function runs on when the platform's
/// stdlib entry lists none (a cloud that redefines `azure_functions` without them).
const INSTANCE_SIZES_MIB: [u64; 3] = [512, 2048, 4096];

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
        functions: placed
            .iter()
            .map(|p| function_app(input, p, names))
            .collect(),
    };
    super::terraform_files("azure", DIR, &context)
}

fn function_app(input: &BuildInput, placed: &Placed, names: &mut Names) -> FunctionApp {
    let f = placed.function;
    let spec = &placed.spec_name;
    // App names are global host names (`NAME.azurewebsites.net`) of at most 60
    // characters; 55 leave room for the plan's `-plan`.
    let name = names.fit(
        &names::NameRule {
            max: 55,
            ..names::APP_SERVICE
        },
        "azure_functions app",
        spec,
        &format!("{}-fn", placed.base),
    );
    let seconds = ceil(f.timeout_seconds).max(1);
    let runtime = runtime(&f.runtime);
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
        storage_account: names.fit(
            &names::STORAGE_ACCOUNT,
            "azure_functions storage account",
            spec,
            &format!("fn{}", placed.base),
        ),
        name,
        container_name: "app-package".into(),
        location: placed.planned.region_code.clone(),
        runtime_name: runtime.name.into(),
        runtime_version: runtime.version,
        instance_memory_mb: instance_memory_mib(input, f),
        timeout: format!(
            "{:02}:{:02}:{:02}",
            seconds / 3600,
            seconds / 60 % 60,
            seconds % 60
        ),
        always_ready: f.min_instances,
        max_instances: max_instances(f).clamp(*MAX_INSTANCES.start(), *MAX_INSTANCES.end()),
        env: environment(f, placed.trained.as_ref()),
        model_scope: model_scope(input, placed),
    }
}

/// The instance size the plan priced the function on: the smallest of the platform's
/// sizes that holds its `memory`.
fn instance_memory_mib(input: &BuildInput, f: &Function) -> u64 {
    let price = input.model.knowledge.serverless_platform(&f.platform);
    match price.filter(|p| !p.instance_memory_bytes.is_empty()) {
        Some(price) => ceil(
            price
                .billed_memory_bytes(f.memory_bytes)
                .checked_div(Exact::int(1 << 20))
                .unwrap_or(Exact::ZERO),
        ),
        None => {
            let wanted = memory_mib(f);
            INSTANCE_SIZES_MIB
                .into_iter()
                .find(|size| *size >= wanted)
                .unwrap_or(wanted)
        }
    }
}

fn runtime(spec_runtime: &str) -> Runtime {
    let languages = [("python", "python"), ("nodejs", "node"), ("java", "java")];
    for (prefix, name) in languages {
        if let Some(version) = spec_runtime.strip_prefix(prefix) {
            return Runtime {
                name,
                version: version.into(),
            };
        }
    }
    // Go binaries and other custom code run as custom handlers (runtime version 1.0).
    Runtime {
        name: "custom",
        version: "1.0".into(),
    }
}

/// The resource ID of the container that holds the trained model a function serves,
/// where it is in Azure: terraform/azure names the region's resource group and storage
/// account from the project and the region (`emit::storage`).
fn model_scope(input: &BuildInput, placed: &Placed) -> Option<String> {
    let stored = placed
        .trained
        .as_ref()
        .filter(|s| s.place.cloud == "azure")?;
    let container = stored.bucket.as_deref()?;
    let prefix = crate::emit::storage::project_label(input.model);
    let code = &stored.place.region_code;
    // After `/subscriptions/<id>`, which the template takes from `var.subscription_id`.
    Some(format!(
        "/resourceGroups/{}/providers/Microsoft.Storage/storageAccounts/{}/blobServices/default/containers/{container}",
        crate::emit::storage::azure_resource_group(&prefix, code),
        crate::emit::storage::azure_storage_account(&prefix, code),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtimes_map_to_flex_consumption_names_and_versions() {
        let pairs = [
            ("python3.11", "python", "3.11"),
            ("nodejs22", "node", "22"),
            ("java21", "java", "21"),
            ("go1", "custom", "1.0"),
            ("provided", "custom", "1.0"),
        ];
        for (spec, name, version) in pairs {
            assert_eq!(
                runtime(spec),
                Runtime {
                    name,
                    version: version.into()
                },
                "{spec}"
            );
        }
    }
}
