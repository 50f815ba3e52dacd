//! Target `terraform`: `terraform/<cloud>/` for every cloud the plan uses. Per cloud:
//! pinned providers, one provider region per planned region, a private network and a
//! Kubernetes cluster with a node pool per planned instance type (spot where planned)
//! in each region that runs cluster workloads, buckets for the datasets stored there
//! (versioned, KMS-encrypted, never public, lifecycle from tier and retention), KMS keys
//! that rotate, least-privilege grants from each dataset's `access`, the budget with the
//! spec's thresholds, anomaly monitoring and audit logging; and what the workloads need to
//! reach their data (`data`): buckets for trained models and for copies in the regions
//! that read them, replication, and the grants behind each cluster's bucket volumes.
//!
//! Serverless functions on a platform (Lambda, Cloud Functions, Azure Functions) belong
//! to the serverless target; only their cloud's budget and audit trail are here, and on
//! AWS the network of a region with private functions, which their SAM template joins.

use super::names::{self, NameRule, Names};
use super::pools::{self, Pool, NVIDIA_GPU};
use super::storage::{self, Content, Storage, Stored};
use super::{templates, BuildInput, EmitError, Output};
use crate::catalog::normalise_accelerator;
use crate::check::model::{Dataset, KmsKey, Model};
use crate::plan::PlannedWorkload;
use serde::Serialize;
use std::collections::BTreeMap;

mod data;
use data::{AccountReplication, ClusterData, ReplicationContext};

macro_rules! templates {
    ($($cloud:literal: [$($file:literal),*]),*) => {
        /// Templates of this target: `(name, text)`; the name is `terraform/<cloud>/<file>`.
        pub const TEMPLATES: &[(&str, &str)] = &[
            $($((
                concat!("terraform/", $cloud, "/", $file),
                include_str!(concat!("../../targets/terraform/", $cloud, "/", $file, ".hbs")),
            ),)*)*
        ];
    };
}

templates! {
    "aws": ["versions.tf", "providers.tf", "variables.tf", "outputs.tf", "kms.tf", "network.tf", "cluster.tf", "storage.tf", "iam.tf", "data.tf", "budget.tf", "audit.tf"],
    "gcp": ["versions.tf", "providers.tf", "variables.tf", "outputs.tf", "kms.tf", "network.tf", "cluster.tf", "storage.tf", "iam.tf", "data.tf", "budget.tf", "audit.tf"],
    "azure": ["versions.tf", "providers.tf", "variables.tf", "outputs.tf", "kms.tf", "network.tf", "cluster.tf", "storage.tf", "iam.tf", "data.tf", "budget.tf", "audit.tf"]
}

/// The clouds this target writes, in output order.
const CLOUDS: [&str; 3] = ["aws", "gcp", "azure"];

/// Key rotation when the spec does not say: yearly, as the baseline asks.
const DEFAULT_ROTATION_DAYS: u64 = 365;
/// Audit log retention when the spec does not say: a year (PCI-DSS's minimum).
const DEFAULT_LOG_RETENTION_DAYS: u64 = 365;
/// How long an overwritten or deleted object version stays recoverable.
const NONCURRENT_DAYS: u64 = 30;

/// Everything one `terraform/<cloud>/` folder renders from.
#[derive(Debug, Serialize)]
pub struct CloudContext {
    pub header: String,
    pub cloud: String,
    /// The project's name as a DNS label: the prefix of every resource's cloud name.
    pub prefix: String,
    pub tags: Vec<Tag>,
    pub default_region: String,
    pub regions: Vec<RegionContext>,
    pub buckets: Vec<BucketContext>,
    pub grants: Vec<GrantContext>,
    /// Copies kept up to date from buckets of other regions of this cloud.
    pub replications: Vec<ReplicationContext>,
    /// Azure: the same, per pair of regions' storage accounts.
    pub account_replications: Vec<AccountReplication>,
    pub has_replications: bool,
    /// Some cluster mounts buckets.
    pub has_cluster_data: bool,
    pub budget: Option<BudgetContext>,
    pub private_network: bool,
    pub audit_logging: bool,
    pub key_rotation_days: u64,
    /// AWS KMS rotates every 90 to 2560 days: the spec's period, kept in that range.
    pub aws_rotation_days: u64,
    /// GCP: the spec's period or 90 days, whichever is sooner (CIS GCP 1.10 asks 90), as
    /// the seconds GCP wants (`"7776000s"`).
    pub key_rotation_seconds: String,
    pub log_retention_days: u64,
    /// CloudWatch Logs keeps logs for one of a fixed set of periods: the shortest that
    /// is at least `log_retention_days`.
    pub cw_retention_days: u64,
    /// Azure Key Vault rotation: a new version after the spec's period, each version
    /// expiring 30 days after that (ISO 8601 durations).
    pub azure_rotate_after: String,
    pub azure_expire_after: String,
    /// Log Analytics keeps logs interactively 30 to 730 days, and in total (with the
    /// archive) up to 4383.
    pub azure_workspace_retention_days: u64,
    pub azure_total_retention_days: u64,
    /// Cloud Logging keeps logs at most 3650 days.
    pub gcp_log_retention_days: u64,
    /// The identifier of the main region, whose key encrypts the audit trail.
    pub default_region_id: String,
    /// The spec's `kms_key` when it belongs to this cloud: buckets and clusters use it
    /// instead of a key of their own.
    pub named_key: Option<String>,
    pub has_clusters: bool,
    pub has_buckets: bool,
    /// Days an overwritten or deleted object version stays recoverable.
    pub noncurrent_days: u64,
    /// The audit trail's own bucket (AWS) or storage account (Azure).
    pub audit_bucket: String,
    /// Names of the cloud's account-wide resources, each fitted to its provider's rule.
    pub names: CloudNames,
    /// EKS: the Kubernetes version of the clusters and its end of standard support.
    pub kubernetes_version: String,
    pub kubernetes_standard_until: String,
}

/// Names of one cloud's account-wide resources (empty where the cloud has no such thing).
#[derive(Debug, Default, Serialize)]
pub struct CloudNames {
    pub network: String,
    pub firewall: String,
    pub trail: String,
    pub trail_role: String,
    pub trail_topic: String,
    pub trail_log_group: String,
    pub workspace: String,
    pub activity_setting: String,
}

/// Names of one region's resources (empty where the cloud has no such thing).
#[derive(Debug, Default, Serialize)]
pub struct RegionNames {
    pub subnetwork: String,
    pub router: String,
    pub nat: String,
    pub node_account: String,
    pub endpoints_group: String,
    pub functions_group: String,
    pub flow_log_group: String,
    pub flow_logs_role: String,
    pub resource_group: String,
    pub vnet: String,
    pub nsg: String,
    pub storage_identity: String,
    pub data_identity: String,
    pub disk_set: String,
}

#[derive(Debug, Serialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
    /// Spaces after the key that align the `=` as `terraform fmt` does.
    pub pad: String,
}

#[derive(Debug, Serialize)]
pub struct RegionContext {
    pub names: RegionNames,
    /// HCL identifier (also the AWS provider alias).
    pub id: String,
    /// The cloud's region code: `eu-west-1`, `europe-west1`, `eastus`.
    pub code: String,
    /// The VPC / VNet range, `10.<n>.0.0/16`, one `n` per region.
    pub cidr: String,
    pub subnet_cidrs: Vec<String>,
    /// GKE: the control plane's private range.
    pub master_cidr: String,
    /// A dedicated range for the cluster's pods (GCP) and services.
    pub pods_cidr: String,
    pub services_cidr: String,
    pub cluster: Option<ClusterContext>,
    /// The grants behind the cluster's bucket volumes (`data.tf`).
    pub data: Option<ClusterData>,
    /// The region has a private network: it runs a cluster, or Lambda functions with
    /// `network = private`.
    pub network: bool,
    /// AWS: the region's private Lambda functions run in this network (their security
    /// group and the outputs the SAM template's parameters take).
    pub functions_network: bool,
    /// AWS: the interface endpoints through which the network reaches AWS APIs.
    pub endpoints: Vec<String>,
    /// AWS: the outputs that the SAM template's `SubnetIds` and `SecurityGroupIds` take.
    pub subnets_output: String,
    pub security_group_output: String,
    /// Azure: the storage account of the region's buckets (3-24 lowercase alphanumerics).
    pub storage_account: String,
    pub has_buckets: bool,
    pub key_name: String,
    /// Azure: the region's key vault (3-24 characters, globally unique).
    pub vault_name: String,
    /// Azure: the lifecycle rules of every bucket in the region (one management policy
    /// per storage account).
    pub bucket_rules: Vec<LifecycleRule>,
    /// AWS: `alias/<key_name>`.
    pub key_alias: String,
    /// AWS: the CloudWatch Logs service principal of the region, which may use the key.
    pub logs_principal: String,
}

#[derive(Debug, Serialize)]
pub struct ClusterContext {
    pub name: String,
    /// AKS's DNS prefix (54 characters).
    pub dns_prefix: String,
    /// EKS's IAM roles and launch template.
    pub cluster_role: String,
    pub node_role: String,
    pub launch_template: String,
    pub autoscaler_role: String,
    pub s3_csi_role: String,
    pub pools: Vec<PoolContext>,
    /// Whether a pool is spot: the autoscaler then prefers spot pools (AKS's `priority`
    /// expander reads the priorities the Kubernetes target writes).
    pub has_spot: bool,
    /// EKS: the Cluster Autoscaler's service account, which EKS Pod Identity gives its
    /// IAM role.
    pub autoscaler_namespace: String,
    pub autoscaler_service_account: String,
}

/// One node group / node pool: one planned instance type, accelerator and capacity.
#[derive(Debug, Serialize)]
pub struct PoolContext {
    pub id: String,
    pub name: String,
    pub instance_type: String,
    pub spot: bool,
    /// EKS: the AMI with the accelerator's drivers (`AL2023_x86_64_NVIDIA`, `_NEURON`).
    pub ami_type: String,
    /// Nodes the planned services keep running.
    pub min_nodes: u64,
    /// Nodes of every planned workload on this pool at once.
    pub max_nodes: u64,
    /// EKS and GKE: the pool's taints, all `NoSchedule`.
    pub taints: Vec<TaintContext>,
    /// GKE: the zones that offer the pool's machine type and GPUs (a pool spread over
    /// the cluster's default zones fails where one lacks them).
    pub zones: Vec<String>,
    /// AKS: the same as `key=value:NoSchedule` (with the taint AKS puts on spot pools).
    pub node_taints: Vec<String>,
    /// GKE: the NVIDIA GPUs on each node, whose drivers GKE installs (zero or one).
    pub guest_accelerators: Vec<GuestAccelerator>,
    /// EKS: the labels, taints and accelerators of the group's nodes as Auto Scaling
    /// group tags, so that the Cluster Autoscaler can scale it up from zero nodes.
    pub node_template_tags: Vec<Tag>,
    /// The workloads placed here, for the comment above the pool.
    pub workloads: String,
}

#[derive(Debug, Serialize)]
pub struct TaintContext {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Serialize)]
pub struct GuestAccelerator {
    /// GKE's accelerator type, `nvidia-l4`.
    pub kind: String,
    pub count: u64,
}

/// A bucket (S3, GCS) or container (Azure) and the datasets stored in it.
#[derive(Debug, Serialize)]
pub struct BucketContext {
    pub id: String,
    pub name: String,
    pub region_id: String,
    pub region_code: String,
    /// Azure: the region's storage account resource.
    pub storage_account: String,
    pub rules: Vec<LifecycleRule>,
    pub datasets: String,
    /// A bucket of copies of data kept elsewhere (not the datasets' home).
    pub is_copy: bool,
    /// Comment lines: where a copy's objects come from.
    pub notes: Vec<String>,
}

/// One dataset's lifecycle: where it moves with its tier and when it is deleted.
#[derive(Debug, Clone, Serialize)]
pub struct LifecycleRule {
    pub id: String,
    /// Azure: the management policy rule's name (letters and digits only).
    pub azure_name: String,
    pub dataset: String,
    /// Key prefix of the dataset inside its bucket ("" for the whole bucket).
    pub prefix: String,
    pub has_prefix: bool,
    pub has_retention: bool,
    pub retention_days: u64,
    pub transitions: Vec<Transition>,
    pub noncurrent_days: u64,
    /// Azure: `container/prefix`, what the management policy matches.
    pub azure_prefix: String,
    /// Azure: whether the rule moves or deletes current versions (a `base_blob` block).
    pub has_base_actions: bool,
    /// Azure: a rule that tiers by last access needs access tracking on the account.
    pub by_access: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Transition {
    pub days: u64,
    /// The cloud's class: `INTELLIGENT_TIERING`, `NEARLINE`, `cool`, ...
    pub class: String,
}

/// One role's access to one bucket.
#[derive(Debug, Serialize)]
pub struct GrantContext {
    pub id: String,
    /// AWS: the IAM policy's name prefix.
    pub policy_prefix: String,
    pub bucket_id: String,
    pub dataset: String,
    /// As written in the spec: a role name, role ARN, service-account email or
    /// principal id.
    pub role: String,
    pub write: bool,
    /// The dataset's key prefix in the bucket and the bucket's region.
    pub prefix: String,
    pub has_prefix: bool,
    pub region_id: String,
    /// GCP: the IAM member (`serviceAccount:...`, or the role as written when it names
    /// its kind), and the IAM condition that keeps the grant to the dataset's prefix.
    pub gcp_member: String,
    pub condition: String,
}

#[derive(Debug, Serialize)]
pub struct BudgetContext {
    pub name: String,
    pub daily_name: String,
    /// This cloud's share of the spec's monthly budget, USD with cents.
    pub monthly_usd: String,
    /// Whole dollars, rounded up (GCP's `units`).
    pub monthly_units: String,
    /// The anomaly alert's spend as a fraction of this cloud's budget (GCP's
    /// forecast rule).
    pub anomaly_fraction: String,
    /// The same in percent (Azure's forecast notification).
    pub anomaly_budget_percent: String,
    pub has_daily: bool,
    pub daily_usd: String,
    /// What the share is, for the comment.
    pub share_note: String,
    pub alerts: Vec<BudgetAlertContext>,
    /// Percent above the expected spend at which an anomaly is reported.
    pub anomaly_percent: String,
    pub has_anomaly_email: bool,
    pub anomaly_email: String,
    pub has_anomaly_channel: bool,
    pub anomaly_channel: String,
    pub emails: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct BudgetAlertContext {
    pub id: String,
    pub percent: String,
    /// GCP wants a fraction.
    pub fraction: String,
    pub notify: String,
}

pub fn emit(input: &BuildInput, names: &mut Names) -> Result<Vec<Output>, Vec<EmitError>> {
    let cluster_pools = pools::pools(input.model, input.plan, "terraform")?;
    unsupported_gpus(&cluster_pools)?;
    let storage = storage::plan(input.model, input.plan);
    let mut contexts = Vec::new();
    for cloud in CLOUDS {
        if let Some(ctx) = cloud_context(input, names, cloud, &cluster_pools, &storage) {
            contexts.push(ctx);
        }
    }
    let mut errors = names.take_errors();
    errors.extend(
        contexts
            .iter()
            .filter(|c| c.cloud == "aws" && c.has_clusters && c.kubernetes_version.is_empty())
            .map(|_| EmitError::Unsupported {
                target: "terraform",
                subject: "EKS clusters".into(),
                why: "the standard library lists no EKS Kubernetes version in standard support at the catalog date".into(),
            }),
    );
    if !errors.is_empty() {
        return Err(errors);
    }
    let (mut outputs, mut errors) = (Vec::new(), Vec::new());
    for ctx in &contexts {
        let prefix = format!("terraform/{}/", ctx.cloud);
        let names: Vec<&str> = TEMPLATES
            .iter()
            .map(|(name, _)| *name)
            .filter(|name| name.starts_with(&prefix))
            .collect();
        match templates::render_each(&names, ctx) {
            Ok(texts) => outputs.extend(names.iter().zip(texts).map(|(name, contents)| Output {
                path: format!("terraform/{}/{}", ctx.cloud, &name[prefix.len()..]),
                contents,
            })),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    outputs.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(outputs)
}

/// An HCL identifier from any name: `[a-z0-9_]`, starting with a letter.
pub fn ident(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !out.starts_with(|c: char| c.is_ascii_lowercase()) {
        out.insert_str(0, "n_");
    }
    out
}

/// An identifier claimed in `scope`, so two spec names that sanitise to one are an error.
fn claim_ident(names: &mut Names, scope: &str, spec_name: &str) -> String {
    names.iam(scope, spec_name, &ident(spec_name), usize::MAX)
}

fn cloud_context(
    input: &BuildInput,
    names: &mut Names,
    cloud: &str,
    cluster_pools: &BTreeMap<pools::ClusterKey, Vec<Pool>>,
    storage: &Storage,
) -> Option<CloudContext> {
    let model = input.model;
    let plan = input.plan;
    let in_cloud: Vec<&PlannedWorkload> =
        plan.workloads.iter().filter(|w| w.cloud == cloud).collect();
    if in_cloud.is_empty() {
        return None;
    }
    let security = model.security.as_ref();
    let project = model
        .project
        .as_ref()
        .map_or("mlc".to_string(), |p| p.name.clone());
    let prefix = names.dns_label(&format!("{cloud}/prefix"), &project, &project);
    let scope = |what: &str| format!("{cloud}/{what}");

    // Every region the plan uses in this cloud, sorted by code.
    let mut region_codes: BTreeMap<String, String> = BTreeMap::new();
    for w in &in_cloud {
        region_codes.insert(w.region_code.clone(), w.region.clone());
    }
    let buckets = buckets(model, storage, names, cloud);
    let mut regions = Vec::new();
    for (index, (code, region)) in region_codes.iter().enumerate() {
        let id = claim_ident(names, &scope("region"), region);
        let cluster = cluster_pools
            .get(&(cloud.to_string(), code.clone()))
            .map(|pools| cluster_context(model, names, cloud, code, pools));
        let region_names = region_names(names, cloud, &prefix, code);
        let functions_network = cloud == "aws" && private_lambdas_in(model, &in_cloud, code);
        let n = index + 1;
        let key_name = names.fit(
            if cloud == "aws" {
                &names::KMS_ALIAS
            } else {
                &names::GCP_KMS
            },
            &scope("key"),
            code,
            &format!("{prefix}-{code}"),
        );
        let key_name = key_name.trim_start_matches("alias/").to_string();
        // Storage accounts and key vaults exist only in Azure; their 24-character names
        // would clash for long region codes of other clouds (`northamerica-northeast1`
        // and `-2`), which use neither.
        let (storage_account, vault_name) = if cloud == "azure" {
            azure_region_names(names, &scope, &prefix, code)
        } else {
            (String::new(), String::new())
        };
        regions.push(RegionContext {
            names: region_names,
            vault_name,
            bucket_rules: Vec::new(),
            key_alias: format!("alias/{key_name}"),
            logs_principal: format!("logs.{code}.amazonaws.com"),
            key_name,
            cidr: format!("10.{n}.0.0/16"),
            subnet_cidrs: vec![format!("10.{n}.0.0/20"), format!("10.{n}.16.0/20")],
            master_cidr: format!("172.16.{index}.0/28"),
            pods_cidr: format!("100.{}.0.0/16", 64 + index),
            services_cidr: format!("10.{}.0.0/20", 200 + index),
            has_buckets: buckets.iter().any(|b| &b.region_code == code),
            storage_account,
            network: cluster.is_some() || functions_network,
            endpoints: interface_endpoints(cluster.is_some(), functions_network),
            functions_network,
            subnets_output: lambda_network_outputs(region).0,
            security_group_output: lambda_network_outputs(region).1,
            data: None,
            cluster,
            code: code.clone(),
            id,
        });
    }
    let buckets: Vec<BucketContext> = buckets
        .into_iter()
        .map(|mut b| {
            if let Some(r) = regions.iter().find(|r| r.code == b.region_code) {
                b.region_id = r.id.clone();
                b.storage_account = r.storage_account.clone();
            }
            b
        })
        .collect();
    for region in &mut regions {
        let mut rules = Vec::new();
        for b in buckets.iter().filter(|b| b.region_code == region.code) {
            for r in &b.rules {
                let azure_name = names.fit(
                    &names::AZURE_POLICY_RULE,
                    &format!("{cloud}/policy-rule/{}", region.code),
                    &r.dataset,
                    &r.id,
                );
                rules.push(LifecycleRule {
                    azure_prefix: format!("{}/{}", b.name, r.prefix),
                    azure_name,
                    ..r.clone()
                });
            }
        }
        region.bucket_rules = rules;
    }
    for region in regions.iter_mut().filter(|r| r.cluster.is_some()) {
        let place = storage::Place {
            cloud: cloud.to_string(),
            region: region_codes[&region.code].clone(),
            region_code: region.code.clone(),
        };
        region.data = data::cluster_data(storage, &place, &buckets);
    }
    let replications = data::replications(storage, cloud, &buckets);
    let account_replications = data::account_replications(&replications);
    let grants = grants(model, names, cloud, &buckets);
    let main_region = regions
        .iter()
        .find(|r| r.cluster.is_some())
        .or(regions.first());
    let default_region = main_region.map(|r| r.code.clone()).unwrap_or_default();
    let default_region_id = main_region.map(|r| r.id.clone()).unwrap_or_default();
    let days = |seconds: Option<crate::check::units::Exact>, default: u64| {
        seconds.map_or(default, |s| (s.to_f64() / 86_400.0).ceil() as u64)
    };
    let key_rotation_days = days(
        security.and_then(|s| s.key_rotation_seconds),
        DEFAULT_ROTATION_DAYS,
    );
    let mut tags: Vec<Tag> = model
        .project
        .iter()
        .flat_map(|p| p.labels.iter())
        .map(|(k, v)| Tag {
            key: k.clone(),
            value: v.clone(),
            pad: String::new(),
        })
        .collect();
    if !tags.iter().any(|t| t.key == "managed_by") {
        tags.push(Tag {
            key: "managed_by".into(),
            value: "mlc".into(),
            pad: String::new(),
        });
    }
    tags.sort_by(|a, b| a.key.cmp(&b.key));
    let widest = tags
        .iter()
        .map(|t| templates::hcl_quote(&t.key).len())
        .max()
        .unwrap_or(0);
    for t in &mut tags {
        t.pad = " ".repeat(widest - templates::hcl_quote(&t.key).len());
    }
    let log_retention_days = days(
        security.and_then(|s| s.log_retention_seconds),
        DEFAULT_LOG_RETENTION_DAYS,
    );
    let kubernetes = model.knowledge.kubernetes(cloud);
    let audit_bucket = names.fit(
        storage::bucket_rule(cloud),
        &scope("bucket"),
        "(audit trail)",
        &format!("{prefix}-audit-{cloud}"),
    );
    Some(CloudContext {
        header: input.header("#"),
        cloud: cloud.to_string(),
        tags,
        default_region,
        has_clusters: regions.iter().any(|r| r.cluster.is_some()),
        has_cluster_data: regions.iter().any(|r| r.data.is_some()),
        has_replications: !replications.is_empty(),
        replications,
        account_replications,
        has_buckets: !buckets.is_empty(),
        noncurrent_days: NONCURRENT_DAYS,
        budget: budget(model, plan, cloud, &prefix),
        // Private unless the spec says `network = public`: mlc's baseline is private.
        private_network: security.and_then(|s| s.network.as_deref()) != Some("public"),
        audit_logging: security.and_then(|s| s.audit_logging) == Some(true),
        key_rotation_seconds: format!("{}s", key_rotation_days.min(90) * 86_400),
        aws_rotation_days: key_rotation_days.clamp(90, 2560),
        key_rotation_days,
        cw_retention_days: cloudwatch_retention(log_retention_days),
        gcp_log_retention_days: log_retention_days.min(3650),
        azure_rotate_after: format!("P{}D", key_rotation_days.max(7)),
        azure_expire_after: format!("P{}D", key_rotation_days.max(7) + 30),
        azure_workspace_retention_days: log_retention_days.clamp(30, 730),
        azure_total_retention_days: log_retention_days.clamp(30, 4383),
        log_retention_days,
        default_region_id,
        named_key: security
            .and_then(|s| s.kms_key.as_ref())
            .filter(|k: &&KmsKey| k.cloud == cloud)
            .map(|k| k.id.clone()),
        audit_bucket,
        names: cloud_names(names, cloud, &prefix),
        kubernetes_version: kubernetes.map(|k| k.version.clone()).unwrap_or_default(),
        kubernetes_standard_until: kubernetes
            .map(|k| k.standard_until.clone())
            .unwrap_or_default(),
        regions,
        buckets,
        grants,
        prefix,
    })
}

/// The shortest CloudWatch Logs retention period of at least `days` (its longest, ten
/// years, for anything beyond).
fn cloudwatch_retention(days: u64) -> u64 {
    const PERIODS: [u64; 22] = [
        1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
        2922, 3288, 3653,
    ];
    PERIODS.into_iter().find(|&p| p >= days).unwrap_or(3653)
}

/// An Azure region's storage account and key vault names (3-24 characters each).
fn azure_region_names(
    names: &mut Names,
    scope: &dyn Fn(&str) -> String,
    prefix: &str,
    code: &str,
) -> (String, String) {
    // The name the Kubernetes target's volumes use too (`storage::azure_storage_account`).
    let account = super::storage::azure_storage_account(prefix, code);
    let storage_account = names.take(&scope("storage-account"), code, &account);
    let vault = format!("{prefix}-{code}-kv");
    let vault_name = names.fit(&names::KEY_VAULT, &scope("vault"), code, &vault);
    (storage_account, vault_name)
}

/// Whether the plan runs Lambda functions with `network = private` in this AWS region:
/// they need the region's VPC even without a cluster.
fn private_lambdas_in(model: &Model, in_cloud: &[&PlannedWorkload], code: &str) -> bool {
    super::serverless::private(model.security.as_ref())
        && in_cloud.iter().any(|w| {
            w.kind == "function"
                && w.region_code == code
                && model
                    .functions
                    .iter()
                    .any(|f| f.name == w.name && f.platform == "aws_lambda")
        })
}

/// The outputs naming a region's private subnets and its Lambda functions' security
/// group, which the region's SAM template takes as `SubnetIds` and `SecurityGroupIds`.
pub fn lambda_network_outputs(region: &str) -> (String, String) {
    let id = ident(region);
    (
        format!("lambda_subnet_ids_{id}"),
        format!("lambda_security_group_{id}"),
    )
}

/// The AWS interface endpoints of a private network: what nodes need (images, their
/// credentials, logs, load balancers, autoscaling; EKS and EKS Pod Identity for the
/// Cluster Autoscaler), and X-Ray for traced Lambda functions.
/// S3 is a gateway endpoint, always there.
fn interface_endpoints(cluster: bool, functions: bool) -> Vec<String> {
    let mut endpoints: Vec<&str> = Vec::new();
    if cluster {
        endpoints.extend([
            "ec2",
            "ecr.api",
            "ecr.dkr",
            "sts",
            "logs",
            "elasticloadbalancing",
            "autoscaling",
            "eks",
            "eks-auth",
        ]);
    }
    if functions {
        endpoints.extend(["logs", "sts", "xray"]);
    }
    let mut unique: Vec<String> = Vec::new();
    for e in endpoints {
        if !unique.iter().any(|u| u == e) {
            unique.push(e.to_string());
        }
    }
    unique
}

/// GKE attaches (or finds on its A2, A3, A4 and G2 machine types) NVIDIA GPUs by these
/// names, and installs their drivers when asked to.
fn gke_gpu_type(accelerator: &str) -> Option<&'static str> {
    Some(match normalise_accelerator(accelerator).as_str() {
        "T4" => "nvidia-tesla-t4",
        "P4" => "nvidia-tesla-p4",
        "P100" => "nvidia-tesla-p100",
        "V100" => "nvidia-tesla-v100",
        "A100" => "nvidia-tesla-a100",
        "A100-80GB" => "nvidia-a100-80gb",
        "L4" => "nvidia-l4",
        "H100" => "nvidia-h100-80gb",
        "H100-MEGA" => "nvidia-h100-mega-80gb",
        "H200" => "nvidia-h200-141gb",
        "B200" => "nvidia-b200",
        _ => return None,
    })
}

/// A GKE pool of an NVIDIA GPU that GKE has no name for cannot be created.
fn unsupported_gpus(
    cluster_pools: &BTreeMap<pools::ClusterKey, Vec<Pool>>,
) -> Result<(), Vec<EmitError>> {
    let errors: Vec<EmitError> = cluster_pools
        .iter()
        .filter(|((cloud, _), _)| cloud == "gcp")
        .flat_map(|(_, pools)| pools)
        .filter_map(|p| p.accelerator.as_ref())
        .filter(|a| a.resource == NVIDIA_GPU && gke_gpu_type(&a.name).is_none())
        .map(|a| EmitError::Unsupported {
            target: "terraform",
            subject: a.name.clone(),
            why: "GKE attaches no GPU of this name".into(),
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn cluster_context(
    model: &Model,
    names: &mut Names,
    cloud: &str,
    region_code: &str,
    cluster_pools: &[Pool],
) -> ClusterContext {
    // The name the Kubernetes target's add-ons use too (`pools::cluster_name`).
    let name = names.take(
        &format!("{cloud}/cluster"),
        region_code,
        &pools::cluster_name(model, cloud, region_code),
    );
    let mut fit = |rule: &NameRule, suffix: &str| {
        names.fit(
            rule,
            &format!("{cloud}/{}", rule.what),
            region_code,
            &format!("{name}-{suffix}"),
        )
    };
    let aws = cloud == "aws";
    let (cluster_role, node_role, launch_template, autoscaler_role, s3_csi_role) = if aws {
        (
            fit(&names::IAM_ROLE, "cluster"),
            fit(&names::IAM_ROLE, "nodes"),
            fit(&names::LAUNCH_TEMPLATE, "nodes"),
            fit(&names::IAM_ROLE, "autoscaler"),
            fit(&names::IAM_ROLE, "s3-csi"),
        )
    } else {
        Default::default()
    };
    let dns_prefix = if cloud == "azure" {
        names::AKS_DNS_PREFIX.fit(&name)
    } else {
        String::new()
    };
    ClusterContext {
        dns_prefix,
        cluster_role,
        node_role,
        launch_template,
        autoscaler_role,
        s3_csi_role,
        name,
        pools: cluster_pools
            .iter()
            .map(|p| pool_context(names, cloud, region_code, p))
            .collect(),
        has_spot: cluster_pools.iter().any(|p| p.spot),
        autoscaler_namespace: pools::ADDON_NAMESPACE.into(),
        autoscaler_service_account: pools::AUTOSCALER_SERVICE_ACCOUNT.into(),
    }
}

fn pool_context(names: &mut Names, cloud: &str, region_code: &str, pool: &Pool) -> PoolContext {
    let base = pool.name(cloud);
    // Two pools whose names are one are an error (AKS keeps 12 characters).
    let spec_name = pool.describe();
    let rule = match cloud {
        "azure" => &names::AKS_NODE_POOL,
        "gcp" => &names::GKE_NODE_POOL,
        _ => &names::EKS_NODE_GROUP,
    };
    let name = names.fit(
        rule,
        &format!("{cloud}/pool/{region_code}"),
        &spec_name,
        &base,
    );
    let taints = pool.taints(cloud);
    let resource = pool.accelerator.as_ref().map(|a| a.resource);
    let ami_type = match resource {
        Some(NVIDIA_GPU) => "AL2023_x86_64_NVIDIA",
        Some("aws.amazon.com/neuron") => "AL2023_x86_64_NEURON",
        _ => "AL2023_x86_64_STANDARD",
    };
    let guest_accelerators = pool
        .accelerator
        .iter()
        .filter(|a| a.resource == NVIDIA_GPU)
        .filter_map(|a| {
            Some(GuestAccelerator {
                kind: gke_gpu_type(&a.name)?.to_string(),
                count: a.count,
            })
        })
        .collect();
    PoolContext {
        id: ident(&format!("{region_code}_{base}")),
        node_template_tags: node_template_tags(pool, &name, &taints),
        node_taints: taints
            .iter()
            .map(|(k, v)| format!("{k}={v}:{}", pools::TAINT_EFFECT))
            .collect(),
        taints: taints
            .into_iter()
            .map(|(key, value)| TaintContext { key, value })
            .collect(),
        name,
        instance_type: pool.instance_type.clone(),
        zones: pool.zones.clone(),
        spot: pool.spot,
        ami_type: ami_type.into(),
        min_nodes: pool.min_nodes,
        max_nodes: pool.max_nodes,
        guest_accelerators,
        workloads: pool.workloads.join(", "),
    }
}

/// What the Cluster Autoscaler reads from an Auto Scaling group's tags to know the nodes
/// a group of zero would start: their labels (the pool, the capacity type that pods
/// select), taints and accelerators.
fn node_template_tags(pool: &Pool, name: &str, taints: &[(String, String)]) -> Vec<Tag> {
    const TEMPLATE: &str = "k8s.io/cluster-autoscaler/node-template";
    let capacity = if pool.spot { "SPOT" } else { "ON_DEMAND" };
    let mut tags = vec![
        (format!("{TEMPLATE}/label/mlc.dev/pool"), name.to_string()),
        (
            format!("{TEMPLATE}/label/eks.amazonaws.com/capacityType"),
            capacity.to_string(),
        ),
    ];
    for (key, value) in taints {
        tags.push((
            format!("{TEMPLATE}/taint/{key}"),
            format!("{value}:{}", pools::TAINT_EFFECT),
        ));
    }
    if let Some(a) = &pool.accelerator {
        tags.push((
            format!("{TEMPLATE}/resources/{}", a.resource),
            a.count.to_string(),
        ));
    }
    tags.sort();
    aligned(tags)
}

/// Tags with the padding that aligns their `=` as `terraform fmt` does.
fn aligned(pairs: Vec<(String, String)>) -> Vec<Tag> {
    let widest = pairs
        .iter()
        .map(|(k, _)| templates::hcl_quote(k).len())
        .max()
        .unwrap_or(0);
    pairs
        .into_iter()
        .map(|(key, value)| Tag {
            pad: " ".repeat(widest - templates::hcl_quote(&key).len()),
            key,
            value,
        })
        .collect()
}

/// The buckets (Azure: containers) of this cloud: every dataset and trained model kept
/// here, at home or as a copy where it is read (`storage`). Datasets whose paths name one
/// bucket share it, each with lifecycle rules on its own prefix.
fn buckets(model: &Model, storage: &Storage, names: &mut Names, cloud: &str) -> Vec<BucketContext> {
    let mut by_name: BTreeMap<String, BucketContext> = BTreeMap::new();
    for stored in storage.stored.iter().filter(|s| s.place.cloud == cloud) {
        let Some(bucket) = &stored.bucket else {
            continue;
        };
        let spec_name = match &stored.content {
            Content::Dataset(d) if stored.copy_of.is_none() => d.clone(),
            other => format!("{} in {}", other.label(), stored.place.region),
        };
        // Datasets whose paths name one bucket share it, as trained models share their
        // region's; a bucket mlc names for one dataset is its own, and two spec names that
        // give one bucket name are an error.
        let shared = stored.shared_bucket && by_name.contains_key(bucket);
        // Bucket names are the storage plan's, valid already (made by the cloud's rule or
        // checked as the spec's `path` gives them): the volumes mount them as they are.
        let bucket_name = if shared {
            bucket.clone()
        } else {
            names.take(&format!("{cloud}/bucket"), &spec_name, bucket)
        };
        if !by_name.contains_key(&bucket_name) {
            // Two bucket names whose Terraform identifiers agree (`acme.data`, `acme-data`).
            names.take(
                &format!("{cloud}/bucket-id"),
                &bucket_name,
                &ident(&bucket_name),
            );
        }
        let code = &stored.place.region_code;
        let entry = by_name
            .entry(bucket_name.clone())
            .or_insert_with(|| BucketContext {
                id: ident(&bucket_name),
                name: bucket_name.clone(),
                region_id: ident(&stored.place.region),
                region_code: code.clone(),
                storage_account: String::new(),
                rules: Vec::new(),
                datasets: String::new(),
                is_copy: stored.copy_of.is_some(),
                notes: Vec::new(),
            });
        if &entry.region_code != code {
            names.fit(
                &NameRule {
                    max: usize::MAX,
                    ..names::K8S_LABEL
                },
                &format!("{cloud}/bucket-region"),
                &spec_name,
                &format!("{bucket_name}-{code}"),
            );
            continue;
        }
        entry.notes.extend(copy_note(stored, &bucket_name));
        let rules = match &stored.content {
            Content::Dataset(d) => model
                .datasets
                .iter()
                .find(|x| &x.name == d)
                .map(|d| lifecycle(cloud, d, &stored.prefix))
                .into_iter()
                .collect(),
            Content::Model(t) => model_lifecycles(model, cloud, t, &stored.prefix),
        };
        entry.rules.extend(rules);
    }
    by_name
        .into_values()
        .map(|mut b| {
            b.rules.sort_by(|x, y| x.dataset.cmp(&y.dataset));
            b.datasets = b
                .rules
                .iter()
                .map(|r| r.dataset.clone())
                .collect::<Vec<_>>()
                .join(", ");
            b
        })
        .collect()
}

/// What the comment above a copy's bucket says: where its objects come from, and who puts
/// them there.
fn copy_note(stored: &Stored, bucket: &str) -> Option<String> {
    let home = stored.copy_of.as_ref()?;
    let here = format!("{bucket}/{}", stored.prefix);
    Some(super::comment_safe(&if home.replicated {
        format!(
            "{}: a copy of {} for the workloads of {}, replicated from it (data.tf).",
            here, home.uri, stored.place.region_code
        )
    } else {
        format!(
            "{}: a copy of {} for the workloads of {}, which you fill: mlc cannot replicate across clouds or from a site. Copy the objects (rclone sync, Storage Transfer Service, DataSync or AzCopy) before those workloads run, and again when they change.",
            here,
            home.uri,
            stored.place.region_code
        )
    }))
}

/// A trained model's folder: no tiering (it is read whenever a replica starts), old
/// versions kept as long as other objects' are. Its `checkpoints/` get a rule of their own
/// where `checkpoint_storage` asks for a tier other than standard.
fn model_lifecycles(model: &Model, cloud: &str, train: &str, prefix: &str) -> Vec<LifecycleRule> {
    let rule =
        |id: &str, what: String, prefix: String, transitions: Vec<Transition>| LifecycleRule {
            id: ident(id),
            azure_name: String::new(),
            dataset: what,
            has_prefix: !prefix.is_empty(),
            has_retention: false,
            retention_days: 0,
            has_base_actions: !transitions.is_empty(),
            by_access: cloud == "azure" && !transitions.is_empty(),
            transitions,
            noncurrent_days: NONCURRENT_DAYS,
            azure_prefix: prefix.clone(),
            prefix,
        };
    let mut rules = vec![rule(
        &format!("model_{train}"),
        format!("model of train.{train}"),
        prefix.to_string(),
        Vec::new(),
    )];
    let tier = model
        .trains
        .iter()
        .find(|t| t.name == train)
        .and_then(|t| t.checkpoint_storage.as_ref())
        .map(|c| c.tier.as_str());
    let transitions = tier
        .map(|tier| transitions(cloud, tier))
        .unwrap_or_default();
    if !transitions.is_empty() {
        rules.push(rule(
            &format!("checkpoints_{train}"),
            format!("checkpoints of train.{train}"),
            format!("{prefix}checkpoints/"),
            transitions,
        ));
    }
    rules
}

/// Each cloud's storage classes for a spec's tier; infrequent access classes have a
/// 30-day minimum on S3, intelligent tiering is S3's own class, GCS and Azure tier by
/// age (GCS) or by last access (Azure).
fn transitions(cloud: &str, tier: &str) -> Vec<Transition> {
    let to = |days: u64, class: &str| Transition {
        days,
        class: class.to_string(),
    };
    match (cloud, tier) {
        ("aws", "infrequent") => vec![to(30, "STANDARD_IA")],
        ("aws", "intelligent") => vec![to(0, "INTELLIGENT_TIERING")],
        ("aws", "archive") => vec![to(0, "GLACIER")],
        ("gcp", "infrequent") => vec![to(0, "NEARLINE")],
        ("gcp", "intelligent") => vec![to(30, "NEARLINE"), to(90, "COLDLINE")],
        ("gcp", "archive") => vec![to(0, "ARCHIVE")],
        ("azure", "infrequent") => vec![to(0, "cool")],
        ("azure", "intelligent") => vec![to(30, "cool")],
        ("azure", "archive") => vec![to(0, "archive")],
        _ => Vec::new(),
    }
}

fn lifecycle(cloud: &str, d: &Dataset, prefix: &str) -> LifecycleRule {
    let transitions = transitions(cloud, &d.tier);
    let retention_days = d
        .retention_seconds
        .map(|s| (s.to_f64() / 86_400.0).ceil() as u64);
    LifecycleRule {
        id: ident(&d.name),
        azure_name: String::new(),
        dataset: d.name.clone(),
        prefix: prefix.to_string(),
        has_prefix: !prefix.is_empty(),
        has_retention: retention_days.is_some(),
        retention_days: retention_days.unwrap_or(0),
        by_access: cloud == "azure" && d.tier == "intelligent",
        azure_prefix: prefix.to_string(),
        has_base_actions: !transitions.is_empty() || retention_days.is_some(),
        transitions,
        noncurrent_days: NONCURRENT_DAYS,
    }
}

fn grants(
    model: &Model,
    names: &mut Names,
    cloud: &str,
    buckets: &[BucketContext],
) -> Vec<GrantContext> {
    let mut out = Vec::new();
    // `access` grants are on a dataset's home: its copies are for the planned workloads.
    for b in buckets.iter().filter(|b| !b.is_copy) {
        for rule in &b.rules {
            let Some(access) = model.dataset(&rule.dataset).and_then(|d| d.access.as_ref()) else {
                continue;
            };
            // A writer that is also a reader gets one grant with write access.
            let mut roles: BTreeMap<&str, bool> = BTreeMap::new();
            for r in &access.read {
                roles.entry(r).or_insert(false);
            }
            for w in &access.write {
                roles.insert(w, true);
            }
            for (role, write) in roles {
                let spec = format!("{}:{role}", rule.dataset);
                let id = claim_ident(names, &format!("{cloud}/grant"), &spec);
                out.push(GrantContext {
                    policy_prefix: names::IAM_POLICY_PREFIX.fit(&format!("mlc-{id}-")),
                    id,
                    bucket_id: b.id.clone(),
                    dataset: rule.dataset.clone(),
                    role: role.to_string(),
                    write,
                    prefix: rule.prefix.clone(),
                    has_prefix: rule.has_prefix,
                    region_id: b.region_id.clone(),
                    gcp_member: if role.contains(':') {
                        role.to_string()
                    } else {
                        format!("serviceAccount:{role}")
                    },
                    // A CEL string literal: JSON's escaping is CEL's.
                    condition: format!(
                        "resource.name.startsWith({})",
                        templates::yaml_quote(&format!(
                            "projects/_/buckets/{}/objects/{}",
                            b.name, rule.prefix
                        ))
                    ),
                });
            }
        }
    }
    out
}

/// The names of a cloud's account-wide resources, fitted to their rules.
fn cloud_names(names: &mut Names, cloud: &str, prefix: &str) -> CloudNames {
    let mut fit = |rule: &NameRule, wanted: String| {
        names.fit(rule, &format!("{cloud}/{}", rule.what), prefix, &wanted)
    };
    match cloud {
        "gcp" => CloudNames {
            network: fit(&names::GCP_NETWORK, format!("{prefix}-vpc")),
            firewall: fit(&names::GCP_NETWORK, format!("{prefix}-deny-ingress")),
            ..CloudNames::default()
        },
        "aws" => CloudNames {
            trail: fit(&names::CLOUDTRAIL, format!("{prefix}-audit")),
            trail_role: fit(&names::IAM_ROLE, format!("{prefix}-cloudtrail")),
            trail_topic: fit(&names::SNS_TOPIC, format!("{prefix}-cloudtrail")),
            trail_log_group: fit(&names::LOG_GROUP, format!("/mlc/{prefix}/cloudtrail")),
            ..CloudNames::default()
        },
        _ => CloudNames {
            workspace: fit(&names::LOG_ANALYTICS, format!("{prefix}-logs")),
            activity_setting: fit(&names::DIAGNOSTIC_SETTING, format!("{prefix}-activity")),
            ..CloudNames::default()
        },
    }
}

/// The names of a region's resources, fitted to their rules.
fn region_names(names: &mut Names, cloud: &str, prefix: &str, code: &str) -> RegionNames {
    // The name the Kubernetes target's volumes use too (`storage::azure_resource_group`).
    let resource_group = if cloud == "azure" {
        names.take(
            "azure/resource group",
            code,
            &storage::azure_resource_group(prefix, code),
        )
    } else {
        String::new()
    };
    let mut fit = |rule: &NameRule, wanted: String| {
        names.fit(rule, &format!("{cloud}/{}", rule.what), code, &wanted)
    };
    match cloud {
        "gcp" => RegionNames {
            subnetwork: fit(&names::GCP_NETWORK, format!("{prefix}-{code}")),
            router: fit(&names::GCP_NETWORK, format!("{prefix}-{code}-router")),
            nat: fit(&names::GCP_NETWORK, format!("{prefix}-{code}-nat")),
            node_account: fit(&names::GCP_SERVICE_ACCOUNT, format!("{prefix}-{code}")),
            ..RegionNames::default()
        },
        "aws" => RegionNames {
            endpoints_group: fit(&names::SECURITY_GROUP, format!("{prefix}-{code}-endpoints")),
            functions_group: fit(&names::SECURITY_GROUP, format!("{prefix}-{code}-functions")),
            flow_log_group: fit(
                &names::LOG_GROUP,
                format!("/mlc/{prefix}/{code}/vpc-flow-logs"),
            ),
            flow_logs_role: fit(&names::IAM_ROLE, format!("{prefix}-{code}-flow-logs")),
            ..RegionNames::default()
        },
        _ => RegionNames {
            resource_group,
            vnet: fit(&names::AZURE_NETWORK, format!("{prefix}-{code}")),
            nsg: fit(&names::AZURE_NETWORK, format!("{prefix}-{code}-nodes")),
            storage_identity: fit(&names::MANAGED_IDENTITY, format!("{prefix}-{code}-storage")),
            data_identity: fit(&names::MANAGED_IDENTITY, format!("{prefix}-{code}-data")),
            disk_set: fit(
                &names::DISK_ENCRYPTION_SET,
                format!("{prefix}-{code}-disks"),
            ),
            ..RegionNames::default()
        },
    }
}

/// The rule for a budget's (and cost alert's) name on `cloud`.
fn budget_rule(cloud: &str) -> &'static NameRule {
    match cloud {
        "aws" => &names::AWS_BUDGET,
        "gcp" => &names::GCP_BUDGET,
        _ => &names::AZURE_BUDGET,
    }
}

fn budget(
    model: &Model,
    plan: &crate::plan::Plan,
    cloud: &str,
    prefix: &str,
) -> Option<BudgetContext> {
    let budget = model.budget.as_ref()?;
    // Each cloud watches its share of the budget, by the plan's spend there, so the
    // clouds' alerts together fire when the whole spec's spend crosses a threshold.
    let spend = |pred: &dyn Fn(&PlannedWorkload) -> bool| -> f64 {
        plan.workloads
            .iter()
            .filter(|w| pred(w))
            .map(|w| w.monthly_usd)
            .sum()
    };
    // Fixed costs (clusters, endpoints, keys) are part of each cloud's bill.
    let fixed = |pred: &dyn Fn(&str) -> bool| -> f64 {
        plan.fixed_costs
            .iter()
            .filter(|r| pred(&r.cloud))
            .map(|r| r.fixed_monthly_usd)
            .sum()
    };
    let total = spend(&|w| CLOUDS.contains(&w.cloud.as_str())) + fixed(&|c| CLOUDS.contains(&c));
    let here = spend(&|w| w.cloud == cloud) + fixed(&|c| c == cloud);
    let clouds_used = CLOUDS
        .iter()
        .filter(|c| plan.workloads.iter().any(|w| &w.cloud == *c))
        .count();
    // A cloud the plan expects (almost) nothing from still gets 1%: a budget of zero
    // would alert on the first cent.
    let share = if clouds_used <= 1 || total <= 0.0 {
        1.0
    } else {
        (here / total).max(0.01)
    };
    let monthly = budget.monthly_usd.to_f64() * share;
    // The anomaly alert's spend (planned spend times `anomaly_threshold`, this cloud's
    // share) against this cloud's budget, for the forecast rules of GCP and Azure.
    let anomaly_fraction = if monthly > 0.0 {
        (plan.anomaly_alert_usd.unwrap_or(0.0) * share / monthly).max(0.01)
    } else {
        budget.anomaly_threshold.to_f64()
    };
    let daily = budget.daily_usd.map(|d| d.to_f64() * share);
    let mut alerts = Vec::new();
    for alert in &budget.alerts {
        for t in &alert.thresholds_percent {
            let percent = t.to_f64();
            alerts.push(BudgetAlertContext {
                id: ident(&format!("at_{}", t.rounded())),
                percent: trim_number(percent),
                fraction: trim_number(percent / 100.0),
                notify: alert.notify.clone(),
            });
        }
    }
    alerts.sort_by(|a, b| {
        a.percent
            .parse::<f64>()
            .unwrap_or(0.0)
            .total_cmp(&b.percent.parse::<f64>().unwrap_or(0.0))
            .then_with(|| a.notify.cmp(&b.notify))
    });
    let mut emails: Vec<String> = budget.alerts.iter().map(|a| a.notify.clone()).collect();
    emails.sort();
    emails.dedup();
    // Anomaly alerts go by mail; a channel (`#costs`) is named in a comment and the
    // mail goes to the first alert's address.
    let first_mail = budget.alerts.first().map(|a| a.notify.clone());
    let (anomaly_email, anomaly_channel) = match &budget.anomaly_notify {
        Some(n) if n.contains('@') => (Some(n.clone()), None),
        Some(n) => (first_mail, Some(n.clone())),
        None => (first_mail, None),
    };
    // Spend at `anomaly_threshold` times normal is an impact of (threshold - 1) x 100 %.
    let anomaly_percent = ((budget.anomaly_threshold.to_f64() - 1.0) * 100.0).max(1.0);
    Some(BudgetContext {
        name: budget_rule(cloud).fit(&format!("{prefix}-{cloud}")),
        daily_name: budget_rule(cloud).fit(&format!("{prefix}-{cloud}-daily")),
        monthly_usd: format!("{monthly:.2}"),
        monthly_units: format!("{}", monthly.ceil() as u64),
        anomaly_fraction: trim_number(anomaly_fraction),
        anomaly_budget_percent: trim_number((anomaly_fraction * 100.0).round().max(1.0)),
        has_daily: daily.is_some(),
        daily_usd: format!("{:.2}", daily.unwrap_or(0.0)),
        share_note: if share < 1.0 {
            format!(
                "{:.1}% of the spec's {} USD a month: this cloud's share of the planned spend",
                share * 100.0,
                budget.monthly_usd.rounded()
            )
        } else {
            format!("the spec's {} USD a month", budget.monthly_usd.rounded())
        },
        alerts,
        anomaly_percent: trim_number(anomaly_percent),
        has_anomaly_email: anomaly_email.is_some(),
        anomaly_email: anomaly_email.unwrap_or_default(),
        has_anomaly_channel: anomaly_channel.is_some(),
        anomaly_channel: anomaly_channel.unwrap_or_default(),
        emails,
    })
}

/// A number without a trailing `.0`: `80`, `0.8`, `12.5`.
fn trim_number(x: f64) -> String {
    let s = format!("{x:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_hcl_identifiers() {
        assert_eq!(ident("eu_west_1"), "eu_west_1");
        assert_eq!(ident("Fraud-Model.v2"), "fraud_model_v2");
        assert_eq!(ident("1st"), "n_1st");
        assert_eq!(ident("${x}"), "n___x_");
    }

    #[test]
    fn cloudwatch_keeps_logs_at_least_as_long_as_asked() {
        assert_eq!(cloudwatch_retention(365), 365);
        assert_eq!(cloudwatch_retention(366), 400);
        assert_eq!(cloudwatch_retention(2190), 2192);
        assert_eq!(cloudwatch_retention(10_000), 3653);
    }

    #[test]
    fn gke_names_every_nvidia_gpu_of_the_gcp_catalog() {
        let catalog = crate::catalog::Catalog::embedded().unwrap();
        for o in catalog.offerings.iter().filter(|o| o.cloud == "gcp") {
            let Some(gpu) = o.accelerator.as_deref().filter(|a| !a.starts_with("tpu-")) else {
                continue;
            };
            assert!(gke_gpu_type(gpu).is_some(), "{gpu} ({})", o.instance_type);
        }
        assert_eq!(gke_gpu_type("A100_80GB"), Some("nvidia-a100-80gb"));
        assert_eq!(gke_gpu_type("MI300X"), None);
    }

    #[test]
    fn numbers_print_without_noise() {
        assert_eq!(trim_number(80.0), "80");
        assert_eq!(trim_number(0.8), "0.8");
        assert_eq!(trim_number(12.5), "12.5");
    }
}
