//! Generated names: every spec name (which may have capitals, digits first and any
//! length) becomes a name its provider accepts, by one table of the providers' rules
//! ([`RULES`], each with its source), and two spec names that would become one generated
//! name are an error, never a silent overwrite.
//!
//! A rule both *fits* a wanted name (lowercase where it must be, other characters to a
//! separator, a letter first where one is needed, a long name cut with a hash of the
//! whole so that cut names stay apart) and *checks* a name, so the deploy check in
//! `tests/deploy.rs` holds every emitted name against the same table.

use super::EmitError;
use std::collections::BTreeMap;

/// What may begin or end a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    /// Any allowed character.
    Any,
    /// An ASCII letter.
    Letter,
    /// An ASCII letter or digit.
    Alnum,
    /// A letter, a digit or `_` (Azure names that may end with an underscore).
    AlnumOrUnderscore,
}

/// One provider's rule for one kind of name.
#[derive(Debug)]
pub struct NameRule {
    /// What is named, for messages: "GCP service account id".
    pub what: &'static str,
    /// Where such names are written: `(Terraform resource type, argument)`, or
    /// `("kubernetes", Kind)` for a manifest's `metadata.name`, or
    /// `("sam", resource type)` for a SAM template's name property.
    pub used_by: &'static [(&'static str, &'static str)],
    pub min: usize,
    pub max: usize,
    /// Letters must be lowercase.
    pub lowercase: bool,
    /// Allowed besides ASCII letters and digits.
    pub punctuation: &'static str,
    pub first: Edge,
    pub last: Edge,
    /// Characters that may not follow themselves (`--` in a key vault name).
    pub no_doubles: &'static str,
    /// What a name may not start with, end with, or contain (compared in lowercase).
    pub forbidden_prefixes: &'static [&'static str],
    pub forbidden_suffixes: &'static [&'static str],
    pub forbidden_words: &'static [&'static str],
    /// What every name starts with (`alias/` for a KMS alias), counted in `max`.
    pub required_prefix: &'static str,
    /// Where the rule is documented.
    pub source: &'static str,
}

const fn rule(what: &'static str, min: usize, max: usize) -> NameRule {
    NameRule {
        what,
        used_by: &[],
        min,
        max,
        lowercase: false,
        punctuation: "",
        first: Edge::Any,
        last: Edge::Any,
        no_doubles: "",
        forbidden_prefixes: &[],
        forbidden_suffixes: &[],
        forbidden_words: &[],
        required_prefix: "",
        source: "",
    }
}

/// RFC 1035 labels as GCP's Compute API takes them: `[a-z]([-a-z0-9]*[a-z0-9])?`.
const fn rfc1035(what: &'static str, max: usize, source: &'static str) -> NameRule {
    NameRule {
        lowercase: true,
        punctuation: "-",
        first: Edge::Letter,
        last: Edge::Alnum,
        source,
        ..rule(what, 1, max)
    }
}

/// Letters, digits, and the punctuation given; starting and ending with a letter or digit.
const fn alnum_and(
    what: &'static str,
    min: usize,
    max: usize,
    punctuation: &'static str,
    source: &'static str,
) -> NameRule {
    NameRule {
        punctuation,
        first: Edge::Alnum,
        last: Edge::Alnum,
        source,
        ..rule(what, min, max)
    }
}

/// ASCII punctuation and space: for free-text names.
const PRINTABLE: &str = " !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

const GCP_NAMING: &str = "https://cloud.google.com/compute/docs/naming-resources";
const AZURE_NAMING: &str =
    "https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules";
const K8S_NAMING: &str = "https://kubernetes.io/docs/concepts/overview/working-with-objects/names/";

// --- Google Cloud -------------------------------------------------------------------

pub const GCP_SERVICE_ACCOUNT: NameRule = NameRule {
    used_by: &[("google_service_account", "account_id")],
    min: 6,
    // `^[a-z](?:[-a-z0-9]{4,28}[a-z0-9])$`
    ..rfc1035(
        "GCP service account id",
        30,
        "https://cloud.google.com/iam/docs/service-accounts-create (6-30 characters)",
    )
};
pub const GCP_NETWORK: NameRule = NameRule {
    used_by: &[
        ("google_compute_network", "name"),
        ("google_compute_subnetwork", "name"),
        ("google_compute_firewall", "name"),
        ("google_compute_router", "name"),
        ("google_compute_router_nat", "name"),
        ("google_compute_global_address", "name"),
        ("google_compute_managed_ssl_certificate", "name"),
        ("google_compute_subnetwork", "secondary_ip_range.range_name"),
        (
            "google_container_cluster",
            "ip_allocation_policy.cluster_secondary_range_name",
        ),
        (
            "google_container_cluster",
            "ip_allocation_policy.services_secondary_range_name",
        ),
    ],
    ..rfc1035("GCP network resource", 63, GCP_NAMING)
};
pub const GKE_CLUSTER: NameRule = NameRule {
    used_by: &[("google_container_cluster", "name")],
    ..rfc1035(
        "GKE cluster",
        40,
        "https://cloud.google.com/kubernetes-engine/docs/reference/rest/v1/projects.locations.clusters#Cluster (at most 40 characters)",
    )
};
pub const GKE_NODE_POOL: NameRule = NameRule {
    used_by: &[("google_container_node_pool", "name")],
    ..rfc1035(
        "GKE node pool",
        40,
        "https://cloud.google.com/kubernetes-engine/docs/reference/rest/v1/projects.locations.clusters.nodePools#NodePool (at most 40 characters)",
    )
};
pub const GCS_BUCKET: NameRule = NameRule {
    used_by: &[
        ("google_storage_bucket", "name"),
        ("google_storage_bucket_iam_member", "bucket"),
    ],
    lowercase: true,
    forbidden_prefixes: &["goog"],
    forbidden_words: &["google", "g00gle"],
    ..alnum_and(
        "Cloud Storage bucket",
        3,
        63,
        "-_",
        "https://cloud.google.com/storage/docs/buckets#naming",
    )
};
pub const GCP_KMS: NameRule = NameRule {
    used_by: &[("google_kms_key_ring", "name"), ("google_kms_crypto_key", "name")],
    punctuation: "-_",
    source: "https://cloud.google.com/kms/docs/reference/rest/v1/projects.locations.keyRings/create (`[a-zA-Z0-9_-]{1,63}`)",
    ..rule("Cloud KMS key ring or key", 1, 63)
};
pub const GCP_FUNCTION: NameRule = NameRule {
    used_by: &[("google_cloudfunctions2_function", "name")],
    ..rfc1035(
        "Cloud Functions function",
        63,
        "https://cloud.google.com/functions/docs/reference/rest/v2/projects.locations.functions#Function",
    )
};
pub const GCP_DISPLAY_NAME: NameRule = NameRule {
    used_by: &[("google_service_account", "display_name")],
    punctuation: PRINTABLE,
    source: "https://cloud.google.com/iam/docs/reference/rest/v1/projects.serviceAccounts (displayName at most 100 UTF-8 bytes)",
    ..rule("GCP service account display name", 0, 100)
};
pub const GCP_BUDGET: NameRule = NameRule {
    used_by: &[("google_billing_budget", "display_name")],
    punctuation: "-_ ",
    source: "https://cloud.google.com/billing/docs/reference/budget/rest/v1/billingAccounts.budgets (displayName at most 60 characters)",
    ..rule("Cloud Billing budget", 1, 60)
};

// --- AWS ----------------------------------------------------------------------------

pub const S3_BUCKET: NameRule = NameRule {
    used_by: &[("aws_s3_bucket", "bucket")],
    lowercase: true,
    no_doubles: ".",
    forbidden_prefixes: &["xn--", "sthree-", "amzn-s3-demo-"],
    forbidden_suffixes: &["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"],
    ..alnum_and(
        "S3 bucket",
        3,
        63,
        "-.",
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html",
    )
};
pub const IAM_ROLE: NameRule = NameRule {
    used_by: &[("aws_iam_role", "name")],
    punctuation: "+=,.@_-",
    source:
        "https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html (RoleName, 1-64)",
    ..rule("IAM role", 1, 64)
};
pub const IAM_ROLE_PREFIX: NameRule = NameRule {
    used_by: &[("aws_iam_role", "name_prefix")],
    punctuation: "+=,.@_-",
    source: "terraform-provider-aws internal/service/iam/role.go (name_prefix: 64 less the 26-character unique suffix)",
    ..rule("IAM role name prefix", 1, 38)
};
pub const IAM_POLICY_PREFIX: NameRule = NameRule {
    used_by: &[("aws_iam_policy", "name_prefix")],
    punctuation: "+=,.@_-",
    source: "terraform-provider-aws internal/service/iam/policy.go (name_prefix: 128 less the 26-character unique suffix)",
    ..rule("IAM policy name prefix", 1, 102)
};
pub const IAM_POLICY: NameRule = NameRule {
    used_by: &[("aws_iam_role_policy", "name"), ("aws_iam_policy", "name")],
    punctuation: "+=,.@_-",
    source: "https://docs.aws.amazon.com/IAM/latest/APIReference/API_PutRolePolicy.html (PolicyName, 1-128)",
    ..rule("IAM policy", 1, 128)
};
pub const EKS_CLUSTER: NameRule = NameRule {
    used_by: &[("aws_eks_cluster", "name")],
    last: Edge::Any,
    ..alnum_and(
        "EKS cluster",
        1,
        100,
        "-_",
        "https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateCluster.html (`^[0-9A-Za-z][A-Za-z0-9\\-_]*`, 1-100)",
    )
};
pub const EKS_NODE_GROUP: NameRule = NameRule {
    used_by: &[("aws_eks_node_group", "node_group_name")],
    last: Edge::Any,
    ..alnum_and(
        "EKS node group",
        1,
        63,
        "-_",
        "https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateNodegroup.html (1-63, starting with a letter or digit)",
    )
};
pub const LAUNCH_TEMPLATE: NameRule = NameRule {
    used_by: &[("aws_launch_template", "name")],
    punctuation: "()./_-",
    source: "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateLaunchTemplate.html (3-128, `[a-zA-Z0-9\\(\\)\\.\\-/_]+`)",
    ..rule("EC2 launch template", 3, 128)
};
pub const LAMBDA_FUNCTION: NameRule = NameRule {
    used_by: &[
        ("aws_lambda_function", "function_name"),
        ("sam", "AWS::Serverless::Function"),
    ],
    punctuation: "-_",
    source:
        "https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html (FunctionName, 1-64)",
    ..rule("Lambda function", 1, 64)
};
pub const LOG_GROUP: NameRule = NameRule {
    used_by: &[("aws_cloudwatch_log_group", "name")],
    punctuation: "._-/#",
    source: "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html (1-512, `[\\.\\-_/#A-Za-z0-9]+`)",
    ..rule("CloudWatch log group", 1, 512)
};
pub const KMS_ALIAS: NameRule = NameRule {
    used_by: &[("aws_kms_alias", "name")],
    punctuation: "/_-",
    required_prefix: "alias/",
    forbidden_prefixes: &["alias/aws/"],
    source: "https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html (`alias/` then `[a-zA-Z0-9/_-]`, at most 256)",
    ..rule("KMS alias", 7, 256)
};
pub const SECURITY_GROUP: NameRule = NameRule {
    used_by: &[("aws_security_group", "name")],
    punctuation: " ._-:/()#,@[]+=&;{}!$*",
    forbidden_prefixes: &["sg-"],
    source: "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html (GroupName in a VPC, 1-255, not `sg-...`)",
    ..rule("EC2 security group", 1, 255)
};
pub const CLOUDTRAIL: NameRule = NameRule {
    used_by: &[("aws_cloudtrail", "name")],
    no_doubles: "._-",
    ..alnum_and(
        "CloudTrail trail",
        3,
        128,
        "._-",
        "https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_CreateTrail.html (3-128; letters, digits, `._-`, no two of them together)",
    )
};
pub const AWS_BUDGET: NameRule = NameRule {
    used_by: &[("aws_budgets_budget", "name")],
    punctuation: "-_ .",
    source: "https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_Budget.html (BudgetName, 1-100, no `:` or `\\`)",
    ..rule("AWS budget", 1, 100)
};
pub const SNS_TOPIC: NameRule = NameRule {
    used_by: &[("aws_sns_topic", "name")],
    punctuation: "-_",
    source: "https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html (1-256, letters, digits, `-` and `_`)",
    ..rule("SNS topic", 1, 256)
};
pub const ANOMALY_MONITOR: NameRule = NameRule {
    used_by: &[
        ("aws_ce_anomaly_monitor", "name"),
        ("aws_ce_anomaly_subscription", "name"),
    ],
    punctuation: "-_ .:/=+@",
    source: "https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_AnomalyMonitor.html (MonitorName, at most 1024)",
    ..rule("Cost Anomaly Detection monitor", 1, 1024)
};

// --- Azure --------------------------------------------------------------------------

pub const STORAGE_ACCOUNT: NameRule = NameRule {
    used_by: &[("azurerm_storage_account", "name")],
    lowercase: true,
    source: AZURE_NAMING,
    ..rule("Azure storage account", 3, 24)
};
pub const KEY_VAULT: NameRule = NameRule {
    used_by: &[("azurerm_key_vault", "name")],
    first: Edge::Letter,
    no_doubles: "-",
    ..alnum_and("Azure key vault", 3, 24, "-", AZURE_NAMING)
};
pub const KEY_VAULT_KEY: NameRule = NameRule {
    used_by: &[("azurerm_key_vault_key", "name")],
    punctuation: "-",
    source: AZURE_NAMING,
    ..rule("Key Vault key", 1, 127)
};
pub const AKS_CLUSTER: NameRule = NameRule {
    used_by: &[("azurerm_kubernetes_cluster", "name")],
    ..alnum_and("AKS cluster", 1, 63, "-_", AZURE_NAMING)
};
pub const AKS_DNS_PREFIX: NameRule = NameRule {
    used_by: &[("azurerm_kubernetes_cluster", "dns_prefix")],
    ..alnum_and(
        "AKS DNS prefix",
        1,
        54,
        "-",
        "https://learn.microsoft.com/azure/aks/learn/quick-kubernetes-deploy-portal (DNS name prefix, 1-54)",
    )
};
pub const AKS_NODE_POOL: NameRule = NameRule {
    used_by: &[
        ("azurerm_kubernetes_cluster_node_pool", "name"),
        ("azurerm_kubernetes_cluster", "default_node_pool.name"),
    ],
    lowercase: true,
    first: Edge::Letter,
    source: "https://learn.microsoft.com/azure/aks/create-node-pools (Linux: 1-12 lowercase letters and digits, starting with a letter)",
    ..rule("AKS node pool", 1, 12)
};
pub const STORAGE_CONTAINER: NameRule = NameRule {
    used_by: &[("azurerm_storage_container", "name")],
    lowercase: true,
    no_doubles: "-",
    ..alnum_and("Azure blob container", 3, 63, "-", AZURE_NAMING)
};
pub const RESOURCE_GROUP: NameRule = NameRule {
    used_by: &[("azurerm_resource_group", "name")],
    punctuation: "-_.()",
    last: Edge::AlnumOrUnderscore,
    source: AZURE_NAMING,
    ..rule("Azure resource group", 1, 90)
};
pub const AZURE_NETWORK: NameRule = NameRule {
    used_by: &[
        ("azurerm_virtual_network", "name"),
        ("azurerm_subnet", "name"),
        ("azurerm_network_security_group", "name"),
        ("azurerm_private_endpoint", "name"),
        ("azurerm_public_ip", "name"),
        ("azurerm_nat_gateway", "name"),
    ],
    last: Edge::AlnumOrUnderscore,
    min: 2,
    ..alnum_and("Azure network resource", 1, 64, "-_.", AZURE_NAMING)
};
pub const AZURE_POLICY_RULE: NameRule = NameRule {
    used_by: &[("azurerm_storage_management_policy", "rule.name")],
    source: "terraform-provider-azurerm storage_management_policy (`^[a-zA-Z0-9]*$`; the REST API: \"any combination of alpha numeric characters\")",
    ..rule("Azure lifecycle management rule", 1, 256)
};
pub const AZURE_SUB_RESOURCE: NameRule = NameRule {
    used_by: &[
        ("azurerm_network_security_group", "security_rule.name"),
        (
            "azurerm_private_endpoint",
            "private_service_connection.name",
        ),
    ],
    last: Edge::AlnumOrUnderscore,
    ..alnum_and("Azure rule or connection", 1, 80, "-_.", AZURE_NAMING)
};
pub const DISK_ENCRYPTION_SET: NameRule = NameRule {
    used_by: &[("azurerm_disk_encryption_set", "name")],
    punctuation: "-_",
    source: AZURE_NAMING,
    ..rule("Azure disk encryption set", 1, 80)
};
pub const LOG_ANALYTICS: NameRule = NameRule {
    used_by: &[("azurerm_log_analytics_workspace", "name")],
    ..alnum_and("Log Analytics workspace", 4, 63, "-", AZURE_NAMING)
};
pub const MANAGED_IDENTITY: NameRule = NameRule {
    used_by: &[("azurerm_user_assigned_identity", "name")],
    last: Edge::Any,
    ..alnum_and("Azure managed identity", 3, 128, "-_", AZURE_NAMING)
};
pub const FEDERATED_CREDENTIAL: NameRule = NameRule {
    used_by: &[("azurerm_federated_identity_credential", "name")],
    last: Edge::Any,
    ..alnum_and(
        "Azure federated identity credential",
        3,
        120,
        "-_",
        "https://learn.microsoft.com/entra/workload-id/workload-identity-federation-create-trust-user-assigned-managed-identity (3-120)",
    )
};
pub const DIAGNOSTIC_SETTING: NameRule = NameRule {
    used_by: &[("azurerm_monitor_diagnostic_setting", "name")],
    punctuation: "-_. ",
    source: AZURE_NAMING,
    ..rule("Azure diagnostic setting", 1, 260)
};
pub const AZURE_BUDGET: NameRule = NameRule {
    used_by: &[
        ("azurerm_consumption_budget_subscription", "name"),
        ("azurerm_consumption_budget_resource_group", "name"),
        ("azurerm_cost_anomaly_alert", "name"),
    ],
    punctuation: "-_",
    source: AZURE_NAMING,
    ..rule("Azure budget or cost alert", 1, 63)
};
pub const APP_SERVICE: NameRule = NameRule {
    used_by: &[
        ("azurerm_function_app_flex_consumption", "name"),
        ("azurerm_linux_function_app", "name"),
        ("azurerm_service_plan", "name"),
    ],
    lowercase: true,
    ..alnum_and("Azure Functions app or plan", 2, 60, "-", AZURE_NAMING)
};

// --- Kubernetes ---------------------------------------------------------------------

/// Namespaces, Services and label values: DNS-1123 labels (RFC 1035 for Services, which
/// must start with a letter); objects whose name becomes a label value (a Job's pods carry
/// `job-name`) are held to the same.
pub const K8S_LABEL: NameRule = NameRule {
    used_by: &[
        ("kubernetes", "Namespace"),
        ("kubernetes", "Deployment"),
        ("kubernetes", "Job"),
        ("kubernetes", "StatefulSet"),
        ("kubernetes", "ServiceAccount"),
        ("kubernetes", "PersistentVolumeClaim"),
        ("kubernetes", "ConfigMap"),
    ],
    lowercase: true,
    ..alnum_and("Kubernetes object", 1, 63, "-", K8S_NAMING)
};
pub const K8S_SERVICE: NameRule = NameRule {
    used_by: &[("kubernetes", "Service")],
    ..rfc1035("Kubernetes Service", 63, K8S_NAMING)
};
/// A CronJob's Jobs are named with an 11-character suffix.
pub const K8S_CRONJOB: NameRule = NameRule {
    used_by: &[("kubernetes", "CronJob")],
    lowercase: true,
    ..alnum_and(
        "Kubernetes CronJob",
        1,
        52,
        "-",
        "https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ (at most 52 characters)",
    )
};
/// DNS-1123 subdomains: most other objects.
pub const K8S_SUBDOMAIN: NameRule = NameRule {
    used_by: &[
        ("kubernetes", "PersistentVolume"),
        ("kubernetes", "Role"),
        ("kubernetes", "RoleBinding"),
        ("kubernetes", "ClusterRole"),
        ("kubernetes", "ClusterRoleBinding"),
        ("kubernetes", "NetworkPolicy"),
        ("kubernetes", "HorizontalPodAutoscaler"),
        ("kubernetes", "PodDisruptionBudget"),
        ("kubernetes", "ScaledObject"),
        ("kubernetes", "PriorityClass"),
        ("kubernetes", "StorageClass"),
        ("kubernetes", "DaemonSet"),
        ("kubernetes", "Secret"),
    ],
    lowercase: true,
    ..alnum_and("Kubernetes object", 1, 253, "-.", K8S_NAMING)
};

/// Every rule, for the deploy check.
pub const RULES: &[&NameRule] = &[
    &GCP_SERVICE_ACCOUNT,
    &GCP_NETWORK,
    &GKE_CLUSTER,
    &GKE_NODE_POOL,
    &GCS_BUCKET,
    &GCP_KMS,
    &GCP_FUNCTION,
    &GCP_DISPLAY_NAME,
    &GCP_BUDGET,
    &S3_BUCKET,
    &IAM_ROLE,
    &IAM_ROLE_PREFIX,
    &IAM_POLICY,
    &IAM_POLICY_PREFIX,
    &EKS_CLUSTER,
    &EKS_NODE_GROUP,
    &LAUNCH_TEMPLATE,
    &LAMBDA_FUNCTION,
    &LOG_GROUP,
    &KMS_ALIAS,
    &SECURITY_GROUP,
    &CLOUDTRAIL,
    &AWS_BUDGET,
    &SNS_TOPIC,
    &ANOMALY_MONITOR,
    &STORAGE_ACCOUNT,
    &KEY_VAULT,
    &KEY_VAULT_KEY,
    &AKS_CLUSTER,
    &AKS_DNS_PREFIX,
    &AKS_NODE_POOL,
    &STORAGE_CONTAINER,
    &RESOURCE_GROUP,
    &AZURE_NETWORK,
    &AZURE_POLICY_RULE,
    &AZURE_SUB_RESOURCE,
    &DISK_ENCRYPTION_SET,
    &LOG_ANALYTICS,
    &MANAGED_IDENTITY,
    &FEDERATED_CREDENTIAL,
    &DIAGNOSTIC_SETTING,
    &AZURE_BUDGET,
    &APP_SERVICE,
    &K8S_LABEL,
    &K8S_SERVICE,
    &K8S_CRONJOB,
    &K8S_SUBDOMAIN,
];

/// The rule for names written at `(resource type, argument)` (or `("kubernetes", Kind)`).
pub fn rule_for(resource: &str, argument: &str) -> Option<&'static NameRule> {
    RULES.iter().copied().find(|r| {
        r.used_by
            .iter()
            .any(|&(t, a)| t == resource && a == argument)
    })
}

impl NameRule {
    fn allowed(&self, c: char) -> bool {
        c.is_ascii_lowercase()
            || c.is_ascii_digit()
            || (c.is_ascii_uppercase() && !self.lowercase)
            || (c.is_ascii() && self.punctuation.contains(c))
    }

    /// What other characters become: `-` where allowed, else `_`, else nothing.
    fn separator(&self) -> Option<char> {
        ['-', '_']
            .into_iter()
            .find(|&c| self.punctuation.contains(c))
    }

    fn edge_allows(edge: Edge, c: char) -> bool {
        match edge {
            Edge::Any => true,
            Edge::Letter => c.is_ascii_alphabetic(),
            Edge::Alnum => c.is_ascii_alphanumeric(),
            Edge::AlnumOrUnderscore => c.is_ascii_alphanumeric() || c == '_',
        }
    }

    /// Whether the provider accepts `name`; the error says which part of the rule fails.
    pub fn check(&self, name: &str) -> Result<(), String> {
        let length = name.chars().count();
        if length < self.min || length > self.max {
            return Err(format!(
                "{length} characters, outside {}-{}",
                self.min, self.max
            ));
        }
        let Some(body) = name.strip_prefix(self.required_prefix) else {
            return Err(format!("does not start with `{}`", self.required_prefix));
        };
        if let Some(c) = body.chars().find(|&c| !self.allowed(c)) {
            return Err(format!("`{}` is not allowed", c.escape_default()));
        }
        if let Some(first) = body.chars().next() {
            if !Self::edge_allows(self.first, first) {
                return Err(format!("may not start with `{first}`"));
            }
        }
        if let Some(last) = body.chars().last() {
            if !Self::edge_allows(self.last, last) {
                return Err(format!("may not end with `{last}`"));
            }
        }
        let chars: Vec<char> = body.chars().collect();
        if let Some(pair) = chars
            .windows(2)
            .find(|w| self.no_doubles.contains(w[0]) && self.no_doubles.contains(w[1]))
        {
            return Err(format!("may not have `{}{}`", pair[0], pair[1]));
        }
        let lower = name.to_ascii_lowercase();
        if let Some(p) = self
            .forbidden_prefixes
            .iter()
            .find(|p| lower.starts_with(**p))
        {
            return Err(format!("may not start with `{p}`"));
        }
        if let Some(s) = self
            .forbidden_suffixes
            .iter()
            .find(|s| lower.ends_with(**s))
        {
            return Err(format!("may not end with `{s}`"));
        }
        if let Some(w) = self.forbidden_words.iter().find(|w| lower.contains(**w)) {
            return Err(format!("may not contain `{w}`"));
        }
        Ok(())
    }

    /// The name the provider accepts that is closest to `wanted`: characters it does not
    /// allow become the separator (runs collapsed), a forbidden word loses its vowels,
    /// a name that must start with a letter gets an `n` before a digit, and a name longer
    /// than the rule allows is cut and ends with a hash of all of `wanted`, so that two
    /// long names that agree in their first characters stay apart. Empty when nothing of
    /// `wanted` is left (the caller reports it).
    pub fn fit(&self, wanted: &str) -> String {
        let wanted_body = wanted.strip_prefix(self.required_prefix).unwrap_or(wanted);
        let sep = self.separator();
        let mut body = self.cleaned(wanted_body, sep);
        for word in self.forbidden_words {
            let consonants: String = word.chars().filter(|c| !"aeiou0".contains(*c)).collect();
            body = body.replace(word, &consonants);
        }
        let body = self.trimmed(body);
        if body.is_empty() {
            return body;
        }
        let mut body = self.without_forbidden_ends(body);
        let max_body = self.max.saturating_sub(self.required_prefix.len());
        let min_body = self.min.saturating_sub(self.required_prefix.len());
        let hash = short_hash(wanted);
        let hashed = hash.len() + usize::from(sep.is_some());
        if body.chars().count() > max_body && max_body <= 2 * hashed {
            // Too short to carry a hash and still say what it names.
            body = self.trimmed(body.chars().take(max_body).collect());
        } else if body.chars().count() > max_body {
            let cut: String = body.chars().take(max_body - hashed).collect();
            body = self.trimmed(cut);
            body.extend(sep.filter(|_| !body.is_empty()));
            body.push_str(&hash);
        } else if body.chars().count() < min_body {
            body.extend(sep);
            body.push_str(&hash);
        }
        format!("{}{body}", self.required_prefix)
    }

    /// `text` with allowed characters only (lowercase where the rule says), every run of
    /// others one separator, and no doubled character the rule forbids.
    fn cleaned(&self, text: &str, sep: Option<char>) -> String {
        let mut out = String::with_capacity(text.len());
        for c in text.chars() {
            let c = if self.lowercase {
                c.to_ascii_lowercase()
            } else {
                c
            };
            let c = if self.allowed(c) { Some(c) } else { sep };
            let Some(c) = c else { continue };
            let last = out.chars().last();
            let doubled = (Some(c) == sep && last == sep)
                || last.is_some_and(|p| self.no_doubles.contains(p) && self.no_doubles.contains(c));
            if !doubled {
                out.push(c);
            }
        }
        out
    }

    /// `name` starting and ending as the rule says: a digit first where a letter must
    /// be gets an `n` before it; other characters that may not begin or end are dropped.
    fn trimmed(&self, name: String) -> String {
        let mut name = name;
        while let Some(c) = name.chars().next() {
            if Self::edge_allows(self.first, c) {
                break;
            }
            if self.first == Edge::Letter && c.is_ascii_digit() {
                name.insert(0, 'n');
                break;
            }
            name.remove(0);
        }
        while let Some(c) = name.chars().last() {
            if Self::edge_allows(self.last, c) {
                break;
            }
            name.pop();
        }
        name
    }

    /// `name` (without the required prefix) with an `m` before a forbidden prefix and a `0`
    /// after a forbidden suffix.
    fn without_forbidden_ends(&self, mut name: String) -> String {
        let full = |n: &str| format!("{}{n}", self.required_prefix).to_ascii_lowercase();
        if self
            .forbidden_prefixes
            .iter()
            .any(|p| full(&name).starts_with(p))
        {
            name.insert(0, 'm');
        }
        if self
            .forbidden_suffixes
            .iter()
            .any(|s| name.to_ascii_lowercase().ends_with(s))
        {
            name.push('0');
        }
        name
    }
}

/// Four base-36 characters of an FNV-1a hash: stable across runs and platforms.
fn short_hash(text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    let mut out = String::new();
    for _ in 0..4 {
        let digit = (hash % 36) as u32;
        out.push(char::from_digit(digit, 36).unwrap_or('0'));
        hash /= 36;
    }
    out
}

/// The names given out in one target, to catch clashes.
pub struct Names {
    target: &'static str,
    /// `(namespace of the name, generated)` -> the spec name that got it.
    given: BTreeMap<(String, String), String>,
    errors: Vec<EmitError>,
}

impl Names {
    pub fn new(target: &'static str) -> Names {
        Names {
            target,
            given: BTreeMap::new(),
            errors: Vec::new(),
        }
    }

    /// A name that `rule` accepts, as close to `wanted` as the rule allows ([`NameRule::fit`]).
    /// `scope` separates namespaces of names (`gcp/subnetwork`, ...); `spec_name` is
    /// what an error names.
    pub fn fit(&mut self, rule: &NameRule, scope: &str, spec_name: &str, wanted: &str) -> String {
        let name = rule.fit(wanted);
        self.claim(scope, spec_name, name)
    }

    /// `name` as it is (made by a rule already, or given by the spec and checked), claimed
    /// in `scope` so that a second spec name that gives the same name is an error.
    pub fn take(&mut self, scope: &str, spec_name: &str, name: &str) -> String {
        self.claim(scope, spec_name, name.to_string())
    }

    /// A DNS-1123 label (Kubernetes object names, label values): lowercase letters,
    /// digits and `-`, starting and ending alphanumeric, at most 63 characters.
    pub fn dns_label(&mut self, scope: &str, spec_name: &str, name: &str) -> String {
        self.fit(&K8S_LABEL, scope, spec_name, name)
    }

    /// An IAM-style name: letters, digits and `+=,.@_-`, at most `max` characters.
    pub fn iam(&mut self, scope: &str, spec_name: &str, name: &str, max: usize) -> String {
        let iam: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "+=,.@_-".contains(c) {
                    c
                } else {
                    '-'
                }
            })
            .take(max)
            .collect();
        self.claim(scope, spec_name, iam)
    }

    /// A CloudFormation logical ID: letters and digits only, at most 255 characters;
    /// `score_card` becomes `ScoreCard`.
    pub fn logical_id(&mut self, scope: &str, spec_name: &str, name: &str) -> String {
        let id = logical_id(name);
        self.claim(scope, spec_name, id)
    }

    fn claim(&mut self, scope: &str, spec_name: &str, generated: String) -> String {
        if generated.is_empty() {
            self.errors.push(EmitError::BadName {
                target: self.target,
                name: spec_name.to_string(),
                why:
                    "nothing is left of it after removing the characters the target does not allow"
                        .into(),
            });
            return generated;
        }
        let key = (scope.to_string(), generated.clone());
        match self.given.get(&key) {
            Some(first) if first != spec_name => self.errors.push(EmitError::NameClash {
                target: self.target,
                generated: generated.clone(),
                first: first.clone(),
                second: spec_name.to_string(),
            }),
            Some(_) => {}
            None => {
                self.given.insert(key, spec_name.to_string());
            }
        }
        generated
    }

    /// The clashes and bad names found so far; a target returns them as its error.
    pub fn into_errors(self) -> Vec<EmitError> {
        self.errors
    }

    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    pub fn take_errors(&mut self) -> Vec<EmitError> {
        std::mem::take(&mut self.errors)
    }
}

/// A DNS-1123 label of at most `max` characters: lowercase, `_` and other characters
/// to `-`, collapsed, alphanumeric at both ends, a long name cut with a hash of the whole.
pub fn dns_label(name: &str, max: usize) -> String {
    NameRule { max, ..K8S_LABEL }.fit(name)
}

/// CamelCase of the name's alphanumeric runs, at most 255 characters; a leading digit
/// gets an `F` before it (a logical ID starts with a letter by convention).
pub fn logical_id(name: &str) -> String {
    let mut out = String::new();
    for word in name.split(|c: char| !c.is_ascii_alphanumeric()) {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars);
        }
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'F');
    }
    out.chars().take(255).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_dns_1123() {
        assert_eq!(dns_label("Fraud_Model", 63), "fraud-model");
        assert_eq!(dns_label("__a__b__", 63), "a-b");
        assert_eq!(dns_label(&"x".repeat(100), 63).len(), 63);
        assert_ne!(
            dns_label(&"x".repeat(100), 63),
            dns_label(&"x".repeat(101), 63)
        );
        assert_eq!(dns_label("ab_cd", 3), "ab");
    }

    #[test]
    fn logical_ids_are_alphanumeric_camel_case() {
        assert_eq!(logical_id("score_authorisation"), "ScoreAuthorisation");
        assert_eq!(logical_id("f_active copy 2"), "FActiveCopy2");
        assert_eq!(logical_id("__"), "");
        assert_eq!(logical_id(&"a".repeat(300)).len(), 255);
        let mut names = Names::new("serverless");
        names.logical_id("aws", "score_card", "score_card");
        names.logical_id("aws", "scoreCard", "scoreCard");
        assert_eq!(names.into_errors().len(), 1);
    }

    proptest::proptest! {
        /// Whatever is wanted, a rule fits it into a name that passes the same rule.
        #[test]
        fn every_rule_fits_any_wanted_name_into_one_it_accepts(
            wanted in "(\\PC|[-_.A-Z0-9]){0,300}",
        ) {
            for rule in RULES {
                let name = rule.fit(&wanted);
                if name.is_empty() {
                    let alnum = wanted.chars().any(|c| c.is_ascii_alphanumeric());
                    proptest::prop_assert!(!alnum, "{}: nothing of {wanted:?}", rule.what);
                } else {
                    proptest::prop_assert!(
                        rule.check(&name).is_ok(),
                        "{}: {name:?} from {wanted:?}: {:?}", rule.what, rule.check(&name)
                    );
                }
            }
        }
    }

    #[test]
    fn rules_fit_names_the_way_a_reader_expects() {
        assert_eq!(GCP_NETWORK.fit("shop-europe_west1"), "shop-europe-west1");
        assert_eq!(
            GCP_SERVICE_ACCOUNT.fit("_9lab"),
            "n9lab-".to_string() + &short_hash("_9lab")
        );
        assert_eq!(GCS_BUCKET.fit("google-ads-data"), "ggl-ads-data");
        assert_eq!(STORAGE_ACCOUNT.fit("Shop-East_US"), "shopeastus");
        let long = GKE_CLUSTER.fit(&"a".repeat(50));
        assert_eq!(long.len(), 40);
        assert_ne!(
            long,
            GKE_CLUSTER.fit(&"a".repeat(51)),
            "cut names keep apart"
        );
        assert_eq!(KMS_ALIAS.fit("shop-us-east-1"), "alias/shop-us-east-1");
        assert_eq!(AKS_NODE_POOL.fit("nc24ads-a100-v4-spot").len(), 12);
        assert!(GCP_SERVICE_ACCOUNT.check("shop-europe_west1").is_err());
        assert!(S3_BUCKET.check("acme..data").is_err());
        assert!(KEY_VAULT.check("9vault").is_err());
    }

    #[test]
    fn two_names_that_become_one_are_an_error() {
        let mut names = Names::new("kubernetes");
        assert_eq!(names.dns_label("deployment", "Big", "Big"), "big");
        names.dns_label("deployment", "big", "big");
        // Names cut to 63 characters keep apart by their hash.
        let long_a = format!("{}a", "n".repeat(63));
        let long_b = format!("{}b", "n".repeat(63));
        names.dns_label("deployment", &long_a, &long_a);
        names.dns_label("deployment", &long_b, &long_b);
        // The same spec name asked for twice is no clash; another scope neither.
        names.dns_label("deployment", "Big", "Big");
        names.dns_label("service", "big", "big");
        let errors = names.into_errors();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            matches!(&errors[0], EmitError::NameClash { first, second, .. } if first == "Big" && second == "big")
        );
    }
}
