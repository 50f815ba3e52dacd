//! The node pools of each planned cluster, which the targets must agree on: Terraform
//! creates them, Kubernetes places pods on them and runs what makes them work (the
//! Cluster Autoscaler's priorities, the NVIDIA device plugin). One pool per planned
//! instance type, capacity and accelerator; a spot pool whose workloads may fall back to
//! on-demand (`spot fallback on_demand`) gets an on-demand twin that starts empty.

use super::names::{self, dns_label};
use super::EmitError;
use crate::catalog::{normalise_accelerator, Catalog};
use crate::check::model::{AccelCount, CapacityKind, Model};
use crate::plan::{Plan, PlannedWorkload};
use std::collections::BTreeMap;

/// The extended resource of NVIDIA GPUs (the device plugin's, and the taint's key).
pub const NVIDIA_GPU: &str = "nvidia.com/gpu";

/// The Cluster Autoscaler's priority expander matches node groups by name: an EKS Auto
/// Scaling group is `eks-<pool>-<uuid>` and an AKS scale set `aks-<pool>-<n>-vmss`, and
/// only spot pools' names end in `spot` (see [`Pool::name`]).
pub const SPOT_GROUP_PATTERN: &str = ".*spot-.*";

/// Where the cluster add-ons mlc writes run (the Cluster Autoscaler, the NVIDIA device
/// plugin, the autoscaler's priorities).
pub const ADDON_NAMESPACE: &str = "kube-system";
/// The Cluster Autoscaler's service account on EKS, which Terraform gives its IAM role.
pub const AUTOSCALER_SERVICE_ACCOUNT: &str = "cluster-autoscaler";

/// The effect of every pool taint: pods that do not tolerate it never land there.
pub const TAINT_EFFECT: &str = "NoSchedule";

/// A planned cluster: `(cloud, region code)`.
pub type ClusterKey = (String, String);

/// The extended resource a device plugin advertises for `accelerator`'s family, which
/// pods request and the pools of such nodes are tainted with: NVIDIA `nvidia.com/gpu`,
/// AMD `amd.com/gpu`, AWS Trainium and Inferentia `aws.amazon.com/neuron`, TPUs
/// `google.com/tpu`.
pub fn accelerator_resource(model: &Model, accelerator: &str) -> &'static str {
    let vendor = model
        .knowledge
        .accelerators
        .iter()
        .find(|k| k.name == accelerator)
        .map_or("nvidia", |k| k.vendor.as_str());
    match vendor {
        "amd" => "amd.com/gpu",
        "aws" => "aws.amazon.com/neuron",
        "google" => "google.com/tpu",
        _ => NVIDIA_GPU,
    }
}

/// The accelerators on each node of a pool.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PoolAccelerator {
    pub name: String,
    pub count: u64,
    pub resource: &'static str,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pool {
    pub instance_type: String,
    pub spot: bool,
    pub accelerator: Option<PoolAccelerator>,
    /// Nodes the planned services keep running: their minimum replicas are never left
    /// to a scale-up.
    pub min_nodes: u64,
    /// Nodes of every workload on the pool at once, each service at its maximum.
    pub max_nodes: u64,
    /// The workloads placed here, and those that fall back to it (`(fallback)`), sorted.
    pub workloads: Vec<String>,
    /// The zones of the region whose capacity offers the pool's instance type and
    /// accelerators, sorted; empty where the catalog does not say (all but GCP).
    pub zones: Vec<String>,
}

impl Pool {
    /// `g4dn.xlarge (T4 x 1, spot)`, for messages.
    pub fn describe(&self) -> String {
        let mut what = Vec::new();
        if let Some(a) = &self.accelerator {
            what.push(format!("{} x {}", a.name, a.count));
        }
        what.push(if self.spot { "spot" } else { "on demand" }.to_string());
        format!("{} ({})", self.instance_type, what.join(", "))
    }

    /// The pool's name, unique in its cluster: the instance type, `-spot` for spot, the
    /// accelerator where the instance type does not imply it (GCP's N1 with attached
    /// GPUs). AKS allows 12 lowercase alphanumerics: the type without `Standard_`, and
    /// spot pools end in `spot`.
    pub fn name(&self, cloud: &str) -> String {
        let mut base = self.instance_type.clone();
        if let Some(a) = self
            .accelerator
            .as_ref()
            .filter(|_| attaches_gpus(cloud, &base))
        {
            base = format!("{base}-{}x{}", a.name, a.count);
        }
        if cloud == "azure" {
            let trimmed = strip_prefix_ignore_case(&base, "Standard_");
            let short: String = trimmed
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .map(|c| c.to_ascii_lowercase())
                .take(if self.spot { 8 } else { 12 })
                .collect();
            return if self.spot {
                format!("{short}spot")
            } else {
                short
            };
        }
        let base = if self.spot {
            format!("{base}-spot")
        } else {
            base
        };
        dns_label(&base, 63)
    }

    /// `(key, value)` of the pool's taints, all `NoSchedule`: the accelerator's resource
    /// (`nvidia.com/gpu=present`, `google.com/tpu=present`, ...), and a spot pool's
    /// [`spot_taint`].
    pub fn taints(&self, cloud: &str) -> Vec<(String, String)> {
        let mut taints = Vec::new();
        if let Some(a) = &self.accelerator {
            taints.push((a.resource.to_string(), "present".to_string()));
        }
        if let Some((key, value)) = spot_taint(cloud).filter(|_| self.spot) {
            taints.push((key.to_string(), value.to_string()));
        }
        taints
    }
}

/// The node label of spot capacity on each cloud's managed Kubernetes, which spot
/// workloads select (or prefer, when they may fall back to on-demand).
pub fn spot_label(cloud: &str) -> Option<(&'static str, &'static str)> {
    match cloud {
        "aws" => Some(("eks.amazonaws.com/capacityType", "SPOT")),
        "gcp" => Some(("cloud.google.com/gke-spot", "true")),
        "azure" => Some(("kubernetes.azure.com/scalesetpriority", "spot")),
        _ => None,
    }
}

/// The taint of spot pools, which only spot workloads tolerate: without it the scheduler
/// may put a pod planned (and priced) on demand on a spot node of the same instance type,
/// where it can be reclaimed at any moment. On GKE and AKS it is the spot label (AKS taints
/// spot pools itself, GKE documents its label as the taint); EKS refuses taint keys under
/// `eks.amazonaws.com/`, so its spot groups carry mlc's own.
pub fn spot_taint(cloud: &str) -> Option<(&'static str, &'static str)> {
    match cloud {
        "aws" => Some(("mlc.dev/capacity", "spot")),
        _ => spot_label(cloud),
    }
}

/// GCP attaches GPUs to N1 machine types; the others (A2, A3, A4, G2) come with theirs.
pub fn attaches_gpus(cloud: &str, instance_type: &str) -> bool {
    cloud == "gcp" && instance_type.starts_with("n1-")
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> &'a str {
    match text.get(..prefix.len()) {
        Some(head) if head.eq_ignore_ascii_case(prefix) => &text[prefix.len()..],
        _ => text,
    }
}

/// The name of the Kubernetes cluster of a region: `<project>-<region code>`, as the
/// cloud's rule for cluster names allows (GKE keeps 40 characters).
pub fn cluster_name(model: &Model, cloud: &str, region_code: &str) -> String {
    let project = model.project.as_ref().map_or("mlc", |p| p.name.as_str());
    let rule = match cloud {
        "gcp" => &names::GKE_CLUSTER,
        "azure" => &names::AKS_CLUSTER,
        _ => &names::EKS_CLUSTER,
    };
    // Lowercase and at most 63 characters everywhere: the name is also a Kubernetes
    // label value and part of the Cluster Autoscaler's tag.
    let rule = names::NameRule {
        max: rule.max.min(63),
        ..*rule
    };
    rule.fit(&dns_label(
        &format!("{}-{region_code}", dns_label(project, 63)),
        100,
    ))
}

/// The machine type of a planned instance on its cloud's Kubernetes nodes. The catalog
/// names TPU slices as Cloud TPU does (`tpu-v5litepod-4`); a GKE node pool takes the
/// slice's machine type (`ct5lp-hightpu-4t`), single-host slices only, and GKE has no
/// node pools of TPU v2 or v3.
pub fn node_instance_type(cloud: &str, planned: &str) -> Result<String, String> {
    if cloud != "gcp" || !planned.starts_with("tpu-") {
        return Ok(planned.to_string());
    }
    let machine = match planned {
        "tpu-v5litepod-1" => "ct5lp-hightpu-1t",
        "tpu-v5litepod-4" => "ct5lp-hightpu-4t",
        "tpu-v5litepod-8" => "ct5lp-hightpu-8t",
        "tpu-v6e-1" => "ct6e-standard-1t",
        "tpu-v6e-4" => "ct6e-standard-4t",
        "tpu-v6e-8" => "ct6e-standard-8t",
        "tpu-v5p-8" => "ct5p-hightpu-4t",
        "tpu-v4-8" => "ct4p-hightpu-4t",
        _ => {
            return Err(format!(
                "the TPU slice `{planned}` has no GKE node pool (GKE runs single-host slices of TPU v4, v5e, v5p and v6e)"
            ))
        }
    };
    Ok(machine.to_string())
}

/// A workload the cluster runs: everything but datasets and platform functions.
pub fn runs_on_cluster(model: &Model, w: &PlannedWorkload) -> bool {
    match w.kind.as_str() {
        "train" | "batch" | "service" => true,
        "function" => model
            .function(&w.name)
            .is_some_and(|f| f.platform == "knative"),
        _ => false,
    }
}

/// The accelerators a workload asks for on each node or replica, if any.
pub fn workload_accelerator<'m>(model: &'m Model, w: &PlannedWorkload) -> Option<&'m AccelCount> {
    model.accelerator_of(&w.kind, &w.name)
}

/// The zones of `w`'s region that offer its instance type with `accelerator`: the
/// catalog row of that many of that accelerator (a GCP N1 host is listed once per GPU
/// model it takes), or the type's only row (a TPU slice). Empty where the catalog names
/// no zones.
fn offered_zones(w: &PlannedWorkload, accelerator: Option<&PoolAccelerator>) -> Vec<String> {
    let Ok(catalog) = Catalog::embedded() else {
        return Vec::new();
    };
    let all = catalog.find(&w.cloud, &w.region_code, &w.instance_type);
    let per_vm = accelerator.map_or(0.0, |a| a.count as f64);
    let mut rows: Vec<_> = all
        .iter()
        .filter(|o| o.accelerator_count.to_f64() == per_vm)
        .collect();
    // A TPU slice is one row, counted as one slice rather than by its chips.
    if rows.is_empty() {
        rows = all.iter().collect();
    }
    // Spec and catalog spell accelerators differently (`A100_80GB`, `A100-80GB`).
    let wanted = accelerator.map(|a| normalise_accelerator(&a.name));
    let named: Vec<_> = rows
        .iter()
        .filter(|o| o.accelerator.as_deref().map(normalise_accelerator) == wanted)
        .collect();
    let chosen: Vec<_> = if named.is_empty() {
        rows.iter().collect()
    } else {
        named
    };
    let mut zones: Vec<String> = chosen.first().map(|o| o.zones.clone()).unwrap_or_default();
    zones.retain(|z| chosen.iter().all(|o| o.zones.contains(z)));
    zones
}

/// Whether a workload planned on spot may fall back to on-demand capacity.
pub fn falls_back_to_on_demand(model: &Model, w: &PlannedWorkload) -> bool {
    w.capacity == "spot"
        && model
            .capacity_of(&w.kind, &w.name)
            .and_then(|c| c.fallback)
            .is_some_and(|f| f == CapacityKind::OnDemand)
}

/// `(min, max)` nodes a workload adds to its pool: a service keeps the nodes its planned
/// replicas need (CPU replicas packed, `plan::allocatable::pods_per_node`) and may grow to
/// those of its maximum (a standby too: it takes the traffic when the primary fails);
/// a service that scales to zero and a job need nodes only while they run.
fn node_range(model: &Model, w: &PlannedWorkload) -> (u64, u64) {
    let nodes = w.nodes.max(0.0).ceil() as u64;
    if w.kind != "service" {
        return (0, nodes.max(1));
    }
    let service = model.service(&w.name);
    let most = service.map_or(nodes, |s| s.replicas_max.max(nodes));
    // A service that scales to zero keeps no node: KEDA removes its pods when traffic
    // stops and the autoscaler its nodes, as the plan prices its awake hours only.
    let floor = if service.is_some_and(|s| s.replicas_min == 0) {
        0.0
    } else {
        w.nodes
    };
    // CPU replicas are packed onto whole nodes, as the plan prices them.
    let per_node = service
        .filter(|s| s.accelerator.is_none())
        .and_then(|s| cpu_pods_per_node(w, s))
        .unwrap_or(1);
    (
        crate::plan::cost::nodes_for(floor, per_node),
        crate::plan::cost::nodes_for(most as f64, per_node).max(1),
    )
}

/// Replicas of a CPU service a node of its planned instance type holds.
fn cpu_pods_per_node(w: &PlannedWorkload, service: &crate::check::model::Service) -> Option<u64> {
    let catalog = Catalog::embedded().ok()?;
    let row = catalog
        .find(&w.cloud, &w.region_code, &w.instance_type)
        .into_iter()
        .next()?;
    crate::plan::cost::service_pods_per_node(row, service)
}

/// The Terraform addresses of the node pools each planned workload runs on (its own,
/// and the on-demand twin it falls back to), keyed by the plan's line-item name
/// (`service.api (warm standby)`): what its compute line item prices. Empty where the
/// plan's pools cannot be made (the build reports that).
pub fn addresses_by_workload(model: &Model, plan: &Plan) -> BTreeMap<String, Vec<String>> {
    let mut addresses: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let Ok(clusters) = pools(model, plan, "terraform") else {
        return addresses;
    };
    for ((cloud, code), cluster_pools) in &clusters {
        let kind = match cloud.as_str() {
            "aws" => "aws_eks_node_group",
            "gcp" => "google_container_node_pool",
            _ => "azurerm_kubernetes_cluster_node_pool",
        };
        for pool in cluster_pools {
            let id = super::terraform::ident(&format!("{code}_{}", pool.name(cloud)));
            for label in &pool.workloads {
                let label = label.strip_suffix(" (fallback)").unwrap_or(label);
                addresses
                    .entry(label.replacen(' ', ".", 1))
                    .or_default()
                    .push(format!("{kind}.{id}"));
            }
        }
    }
    addresses
}

fn describe(w: &PlannedWorkload) -> String {
    match &w.copy {
        Some(copy) => format!("{} {} ({copy})", w.kind, w.name),
        None => format!("{} {}", w.kind, w.name),
    }
}

/// The node pools of every planned cloud cluster, by cluster, each cluster's sorted by
/// instance type, accelerator and capacity. On-prem sites have no pools: their pods
/// select the site's own nodes.
/// A planned instance type the cloud's Kubernetes cannot run is an error of `target`.
pub fn pools(
    model: &Model,
    plan: &Plan,
    target: &'static str,
) -> Result<BTreeMap<ClusterKey, Vec<Pool>>, Vec<EmitError>> {
    type Key = (String, Option<PoolAccelerator>, bool);
    let mut clusters: BTreeMap<ClusterKey, BTreeMap<Key, Pool>> = BTreeMap::new();
    let mut errors = Vec::new();
    for w in &plan.workloads {
        if w.cloud == "onprem" || !runs_on_cluster(model, w) {
            continue;
        }
        let instance_type = match node_instance_type(&w.cloud, &w.instance_type) {
            Ok(t) => t,
            Err(why) => {
                errors.push(EmitError::Unsupported {
                    target,
                    subject: format!("{}.{}", w.kind, w.name),
                    why,
                });
                continue;
            }
        };
        let accelerator = workload_accelerator(model, w).map(|a| PoolAccelerator {
            name: a.name.clone(),
            count: a.count,
            resource: accelerator_resource(model, &a.name),
        });
        let cluster = clusters
            .entry((w.cloud.clone(), w.region_code.clone()))
            .or_default();
        let mut add = |spot: bool, min: u64, max: u64, label: String| {
            let key = (instance_type.clone(), accelerator.clone(), spot);
            let pool = cluster.entry(key).or_insert_with(|| Pool {
                instance_type: instance_type.clone(),
                spot,
                accelerator: accelerator.clone(),
                min_nodes: 0,
                max_nodes: 0,
                workloads: Vec::new(),
                zones: offered_zones(w, accelerator.as_ref()),
            });
            pool.min_nodes += min;
            pool.max_nodes += max;
            pool.workloads.push(label);
        };
        let (min, max) = node_range(model, w);
        add(w.capacity == "spot", min, max, describe(w));
        // The twin holds none of the minimum: the autoscaler grows it only when the spot
        // pool cannot grow.
        if falls_back_to_on_demand(model, w) {
            add(false, 0, max, format!("{} (fallback)", describe(w)));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(clusters
        .into_iter()
        .map(|(key, pools)| {
            let pools = pools
                .into_values()
                .map(|mut p| {
                    p.workloads.sort();
                    p.max_nodes = p.max_nodes.max(p.min_nodes);
                    p
                })
                .collect();
            (key, pools)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(instance_type: &str, spot: bool, accelerator: Option<(&str, u64)>) -> Pool {
        Pool {
            instance_type: instance_type.to_string(),
            spot,
            accelerator: accelerator.map(|(name, count)| PoolAccelerator {
                name: name.to_string(),
                count,
                resource: NVIDIA_GPU,
            }),
            min_nodes: 0,
            max_nodes: 1,
            workloads: Vec::new(),
            zones: Vec::new(),
        }
    }

    /// The autoscaler's group name of a pool, as EKS and AKS make it.
    fn group(cloud: &str, pool: &Pool) -> String {
        match cloud {
            "aws" => format!(
                "eks-{}-8ec7b7a2-1f0e-4b1a-9d3c-0a1b2c3d4e5f",
                pool.name(cloud)
            ),
            _ => format!("aks-{}-12345678-vmss", pool.name(cloud)),
        }
    }

    #[test]
    fn only_spot_pools_match_the_spot_priority() {
        // Go's `regexp.MatchString` searches unanchored: `.*spot-.*` matches exactly the
        // names that contain `spot-`.
        assert_eq!(SPOT_GROUP_PATTERN, ".*spot-.*");
        for cloud in ["aws", "azure"] {
            for instance in [
                "g4dn.xlarge",
                "p4de.24xlarge",
                "Standard_NC16as_T4_v3",
                "Standard_D16s_v5",
            ] {
                for spot in [false, true] {
                    let name = group(cloud, &pool(instance, spot, None));
                    assert_eq!(name.contains("spot-"), spot, "{cloud} {name}");
                }
            }
        }
    }

    #[test]
    fn pool_names_fit_their_cloud() {
        let t4 = pool("Standard_NC16as_T4_v3", false, Some(("T4", 1)));
        assert_eq!(t4.name("azure"), "nc16ast4v3");
        let spot = pool("Standard_NC16as_T4_v3", true, Some(("T4", 1)));
        assert_eq!(spot.name("azure"), "nc16ast4spot");
        assert!(spot.name("azure").len() <= 12);
        assert_eq!(
            pool("p4de.24xlarge", true, None).name("aws"),
            "p4de-24xlarge-spot"
        );
        // N1 pools differ by their attached GPUs; A2 and G2 types imply theirs.
        assert_eq!(
            pool("n1-standard-8", false, Some(("T4", 2))).name("gcp"),
            "n1-standard-8-t4x2"
        );
        assert_eq!(
            pool("g2-standard-12", true, Some(("L4", 1))).name("gcp"),
            "g2-standard-12-spot"
        );
    }

    #[test]
    fn every_tpu_slice_in_the_catalog_runs_on_gke_or_is_refused() {
        let catalog = crate::catalog::Catalog::embedded().unwrap();
        for o in catalog
            .offerings
            .iter()
            .filter(|o| o.instance_type.starts_with("tpu-"))
        {
            let node = node_instance_type("gcp", &o.instance_type);
            match &*o.instance_type {
                // GKE has no TPU v2 or v3 node pools (and the planner matches no spec
                // accelerator to them).
                t if t.starts_with("tpu-v2-") || t.starts_with("tpu-v3-") => {
                    assert!(node.unwrap_err().contains("has no GKE node pool"))
                }
                t => assert!(node.unwrap().starts_with("ct"), "{t}"),
            }
        }
        assert_eq!(
            node_instance_type("aws", "p5.48xlarge").unwrap(),
            "p5.48xlarge"
        );
        assert_eq!(
            node_instance_type("gcp", "tpu-v5p-8").unwrap(),
            "ct5p-hightpu-4t"
        );
    }

    #[test]
    fn accelerator_and_spot_pools_are_tainted() {
        let mut tpu = pool("ct5lp-hightpu-4t", false, Some(("TPU_V5E", 4)));
        tpu.accelerator.as_mut().unwrap().resource = "google.com/tpu";
        assert_eq!(
            tpu.taints("gcp"),
            vec![("google.com/tpu".to_string(), "present".to_string())]
        );
        let spot = pool("Standard_D16s_v5", true, None);
        assert_eq!(
            spot.taints("azure"),
            vec![(
                "kubernetes.azure.com/scalesetpriority".to_string(),
                "spot".to_string()
            )]
        );
        // EKS refuses taint keys under its own prefix: mlc's key, the value of its label.
        assert_eq!(
            spot.taints("aws"),
            vec![("mlc.dev/capacity".to_string(), "spot".to_string())]
        );
        let gpu_spot = pool("a2-highgpu-1g", true, Some(("A100", 1)));
        assert_eq!(
            gpu_spot.taints("gcp"),
            vec![
                ("nvidia.com/gpu".to_string(), "present".to_string()),
                ("cloud.google.com/gke-spot".to_string(), "true".to_string())
            ]
        );
        assert!(pool("m6i.large", false, None).taints("aws").is_empty());
        assert!(spot.taints("onprem").is_empty());
    }
}
