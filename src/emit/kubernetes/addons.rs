//! What a cloud cluster needs beyond its workloads so that its node pools run them, in
//! `kube-system` (cluster-wide: a cluster admin applies them): on EKS the Cluster
//! Autoscaler (GKE and AKS run their own); on EKS and AKS, when a pool is spot, the
//! autoscaler's priorities (spot first); and on EKS and AKS, when a pool has NVIDIA GPUs,
//! the NVIDIA device plugin (GKE installs its own). The pools come from `emit::pools`,
//! as Terraform's do.

use super::{kv, Image, Kv, Meta};
use crate::check::model::KubernetesRelease;
use crate::emit::pools::{
    Pool, ADDON_NAMESPACE, AUTOSCALER_SERVICE_ACCOUNT, NVIDIA_GPU, SPOT_GROUP_PATTERN,
};
use crate::emit::templates::render;
use crate::emit::EmitError;
use serde::Serialize;

/// The Cluster Autoscaler's image; its tag follows the clusters' Kubernetes version
/// (`kubernetes` in stdlib/clouds/aws.mlc, Terraform's `kubernetes_version`).
pub const CLUSTER_AUTOSCALER: &str = "registry.k8s.io/autoscaling/cluster-autoscaler";
/// NVIDIA's device plugin (its static manifest's image).
pub const NVIDIA_DEVICE_PLUGIN: (&str, &str) = ("nvcr.io/nvidia/k8s-device-plugin", "v0.17.1");

/// The priorities of node groups: spot groups before all others.
const SPOT_PRIORITY: u64 = 50;
const OTHER_PRIORITY: u64 = 10;

/// One add-on file of a cluster's folder and the image it runs, if any.
pub struct Addon {
    pub file: &'static str,
    pub contents: String,
    pub image: Option<Image>,
}

#[derive(Serialize)]
struct Rule {
    api_groups: Vec<&'static str>,
    resources: Vec<&'static str>,
    resource_names: Vec<&'static str>,
    verbs: Vec<&'static str>,
}

fn rule(
    api_groups: &[&'static str],
    resources: &[&'static str],
    resource_names: &[&'static str],
    verbs: &[&'static str],
) -> Rule {
    Rule {
        api_groups: api_groups.to_vec(),
        resources: resources.to_vec(),
        resource_names: resource_names.to_vec(),
        verbs: verbs.to_vec(),
    }
}

#[derive(Serialize)]
struct AutoscalerFile {
    header: String,
    meta: Meta,
    /// The Deployment's metadata: `meta` with the reasons of its checkov skips.
    deployment: Meta,
    cluster_rules: Vec<Rule>,
    namespace_rules: Vec<Rule>,
    system_label: Kv,
    image: String,
    args: Vec<String>,
    region: String,
}

#[derive(Serialize)]
struct Priority {
    value: u64,
    patterns: Vec<&'static str>,
}

#[derive(Serialize)]
struct PrioritiesFile {
    header: String,
    meta: Meta,
    spot_pattern: &'static str,
    priorities: Vec<Priority>,
}

#[derive(Serialize)]
struct DevicePluginFile {
    header: String,
    meta: Meta,
    cloud_note: &'static str,
    pools_note: String,
    pools: Vec<String>,
    tolerations: Vec<String>,
    image: String,
}

/// The add-ons of the cluster `cluster` of `cloud` in `region_code`, whose pools are
/// `pools`. `project` labels them as the workloads are labelled.
pub fn addons(
    header: &str,
    project: &str,
    cloud: &str,
    region_code: &str,
    cluster: &str,
    pools: &[Pool],
    kubernetes: Option<&KubernetesRelease>,
) -> Result<Vec<Addon>, EmitError> {
    let mut out = Vec::new();
    if cloud == "aws" {
        let tag = kubernetes
            .and_then(|k| k.cluster_autoscaler.as_deref())
            .ok_or_else(|| EmitError::Unsupported {
                target: "kubernetes",
                subject: "the Cluster Autoscaler".into(),
                why: "the standard library lists no EKS Kubernetes version in standard support at the catalog date, with its Cluster Autoscaler release".into(),
            })?;
        out.push(cluster_autoscaler(
            header,
            project,
            region_code,
            cluster,
            pools,
            tag,
        )?);
    }
    if matches!(cloud, "aws" | "azure") && pools.iter().any(|p| p.spot) {
        out.push(priorities(header, project)?);
    }
    let nvidia: Vec<&Pool> = pools
        .iter()
        .filter(|p| {
            p.accelerator
                .as_ref()
                .is_some_and(|a| a.resource == NVIDIA_GPU)
        })
        .collect();
    if matches!(cloud, "aws" | "azure") && !nvidia.is_empty() {
        out.push(device_plugin(header, project, cloud, &nvidia)?);
    }
    Ok(out)
}

fn addon_meta(name: &str, project: &str, annotations: Vec<Kv>) -> Meta {
    Meta {
        name: name.to_string(),
        namespace: ADDON_NAMESPACE.to_string(),
        labels: vec![
            kv("app.kubernetes.io/managed-by", "mlc"),
            kv("app.kubernetes.io/name", name),
            kv("app.kubernetes.io/part-of", project),
        ],
        has_annotations: !annotations.is_empty(),
        annotations,
    }
}

/// checkov's skips, as `checkov.io/skipN` annotations: `(check, reason)`.
fn skips(reasons: &[(&str, &str)]) -> Vec<Kv> {
    reasons
        .iter()
        .enumerate()
        .map(|(i, (check, why))| {
            kv(
                &format!("checkov.io/skip{}", i + 1),
                format!("{check}={why}"),
            )
        })
        .collect()
}

const DIGEST_SKIP: (&str, &str) = (
    "CKV_K8S_43",
    "a public add-on image pinned by version; pin its digest, or your registry's mirror of it, with kustomize images",
);

fn cluster_autoscaler(
    header: &str,
    project: &str,
    region_code: &str,
    cluster: &str,
    pools: &[Pool],
    tag: &str,
) -> Result<Addon, EmitError> {
    let name = AUTOSCALER_SERVICE_ACCOUNT;
    let image = CLUSTER_AUTOSCALER;
    // The priority expander first where spot pools are, then the least waste (also the
    // tie-break among equal priorities).
    let expander = if pools.iter().any(|p| p.spot) {
        "priority,least-waste"
    } else {
        "least-waste"
    };
    let file = AutoscalerFile {
        header: header.to_string(),
        meta: addon_meta(name, project, Vec::new()),
        deployment: addon_meta(
            name,
            project,
            skips(&[
                DIGEST_SKIP,
                (
                    "CKV_K8S_38",
                    "the autoscaler reads pods and nodes and resizes node groups through the Kubernetes API, with its service account's token",
                ),
            ]),
        ),
        cluster_rules: cluster_rules(),
        namespace_rules: vec![
            rule(&[""], &["configmaps"], &[], &["create", "list", "watch"]),
            rule(
                &[""],
                &["configmaps"],
                &["cluster-autoscaler-status", "cluster-autoscaler-priority-expander"],
                &["delete", "get", "update", "watch"],
            ),
        ],
        // EKS labels the nodes of a managed node group with its name.
        system_label: kv("eks.amazonaws.com/nodegroup", "system"),
        image: format!("{image}:{tag}"),
        args: vec![
            "--cloud-provider=aws".into(),
            format!("--namespace={ADDON_NAMESPACE}"),
            format!(
                "--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/{cluster}"
            ),
            format!("--expander={expander}"),
            // Pods with an emptyDir (`/tmp` of every mlc pod) must not pin their node.
            "--skip-nodes-with-local-storage=false".into(),
            "--balance-similar-node-groups=false".into(),
            "--v=2".into(),
        ],
        region: region_code.to_string(),
    };
    Ok(Addon {
        file: "cluster-autoscaler.yaml",
        contents: render("k8s/cluster-autoscaler.yaml", &file)?,
        image: Some(Image {
            name: image.to_string(),
            tag: tag.to_string(),
        }),
    })
}

/// What the Cluster Autoscaler reads and changes cluster-wide (its Helm chart's role).
fn cluster_rules() -> Vec<Rule> {
    let read = &["watch", "list", "get"][..];
    vec![
        rule(&[""], &["events", "endpoints"], &[], &["create", "patch"]),
        rule(&[""], &["pods/eviction"], &[], &["create"]),
        rule(&[""], &["pods/status"], &[], &["update"]),
        rule(
            &[""],
            &["endpoints"],
            &["cluster-autoscaler"],
            &["get", "update"],
        ),
        rule(&[""], &["nodes"], &[], &["watch", "list", "get", "update"]),
        rule(
            &[""],
            &[
                "namespaces",
                "pods",
                "services",
                "replicationcontrollers",
                "persistentvolumeclaims",
                "persistentvolumes",
            ],
            &[],
            read,
        ),
        rule(&["batch"], &["jobs", "cronjobs"], &[], read),
        rule(
            &["batch", "extensions"],
            &["jobs"],
            &[],
            &["get", "list", "patch", "watch"],
        ),
        rule(&["extensions"], &["replicasets", "daemonsets"], &[], read),
        rule(
            &["policy"],
            &["poddisruptionbudgets"],
            &[],
            &["watch", "list"],
        ),
        rule(
            &["apps"],
            &["daemonsets", "replicasets", "statefulsets"],
            &[],
            read,
        ),
        rule(
            &["storage.k8s.io"],
            &[
                "storageclasses",
                "csinodes",
                "csidrivers",
                "csistoragecapacities",
            ],
            &[],
            read,
        ),
        rule(&[""], &["configmaps"], &[], &["list", "watch"]),
        rule(&["coordination.k8s.io"], &["leases"], &[], &["create"]),
        rule(
            &["coordination.k8s.io"],
            &["leases"],
            &["cluster-autoscaler"],
            &["get", "update"],
        ),
    ]
}

fn priorities(header: &str, project: &str) -> Result<Addon, EmitError> {
    let file = PrioritiesFile {
        header: header.to_string(),
        // The name the autoscaler looks for, in its own namespace.
        meta: addon_meta("cluster-autoscaler-priority-expander", project, Vec::new()),
        spot_pattern: SPOT_GROUP_PATTERN,
        priorities: vec![
            Priority {
                value: OTHER_PRIORITY,
                patterns: vec![".*"],
            },
            Priority {
                value: SPOT_PRIORITY,
                patterns: vec![SPOT_GROUP_PATTERN],
            },
        ],
    };
    Ok(Addon {
        file: "autoscaler-priorities.yaml",
        contents: render("k8s/autoscaler-priorities.yaml", &file)?,
        image: None,
    })
}

fn device_plugin(
    header: &str,
    project: &str,
    cloud: &str,
    nvidia: &[&Pool],
) -> Result<Addon, EmitError> {
    let (image, tag) = NVIDIA_DEVICE_PLUGIN;
    let mut pools: Vec<String> = nvidia.iter().map(|p| p.name(cloud)).collect();
    pools.sort();
    let mut tolerations: Vec<String> = nvidia
        .iter()
        .flat_map(|p| p.taints(cloud))
        .map(|(key, _)| key)
        .collect();
    tolerations.sort();
    tolerations.dedup();
    let file = DevicePluginFile {
        header: header.to_string(),
        meta: addon_meta(
            "nvidia-device-plugin",
            project,
            skips(&[
                DIGEST_SKIP,
                (
                    "CKV_K8S_23",
                    "the plugin creates its socket in the kubelet's root-owned device-plugins folder, so it runs as root, without privilege or capabilities",
                ),
                (
                    "CKV_K8S_40",
                    "runs as root (uid 0) for the same reason",
                ),
                (
                    "CKV_K8S_8",
                    "the plugin serves no health endpoint: it exits when it fails, and the DaemonSet restarts it",
                ),
                (
                    "CKV_K8S_9",
                    "the plugin takes no traffic; the kubelet learns of its GPUs when it registers",
                ),
            ]),
        ),
        cloud_note: match cloud {
            "aws" => "The EKS AL2023 NVIDIA AMI has the driver and container toolkit, not the plugin.",
            _ => "AKS installs the driver on GPU pools, not the plugin.",
        },
        pools_note: pools.join(", "),
        pools,
        tolerations,
        image: format!("{image}:{tag}"),
    };
    Ok(Addon {
        file: "nvidia-device-plugin.yaml",
        contents: render("k8s/nvidia-device-plugin.yaml", &file)?,
        image: Some(Image {
            name: image.to_string(),
            tag: tag.to_string(),
        }),
    })
}
