//! The four `mlc build` targets agree with each other, for every example: each training
//! job's harness (`harness/<train>/config.json`) reads its data, writes its checkpoints
//! and its trained model where the Kubernetes Job mounts them, is the image the Job runs,
//! and gets the ranks the Job launches; every service or function that serves a trained
//! model mounts where its training job writes it (or a copy Terraform keeps or flags);
//! every bucket volume names a bucket Terraform creates, with the CSI driver and the
//! grants its pods mount it with; every Kubernetes pod lands on a node pool that
//! Terraform creates for its cluster (instance type, capacity, labels, taints,
//! accelerator family), with an on-demand pool beside the spot one where it may fall
//! back; and the pools can grow (autoscaling, the EKS Cluster Autoscaler) and run their
//! GPUs (the device plugin, GKE's driver installation).

mod common;

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `"value"` or `value` of the first line `key: ...` in `text` (the generated YAML puts
/// each scalar on its own line).
fn yaml_scalars<'t>(text: &'t str, key: &str) -> Vec<&'t str> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.trim().split_once(':')?;
            (k.trim_matches('"') == key).then(|| v.trim().trim_matches('"'))
        })
        .collect()
}

/// The value of env var `name` in a Kubernetes manifest.
fn env_value(text: &str, name: &str) -> Option<u64> {
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.trim() == format!("- name: \"{name}\""))?;
    let value = lines[at + 1].trim().strip_prefix("value:")?.trim();
    value.trim_matches('"').parse().ok()
}

/// The container's args (after `args:`) up to the next key.
fn args(text: &str) -> Vec<String> {
    let mut lines = text.lines().skip_while(|l| l.trim() != "args:").skip(1);
    let mut out = Vec::new();
    for l in lines.by_ref() {
        match l.trim().strip_prefix("- ") {
            Some(a) => out.push(a.trim_matches('"').to_string()),
            None => break,
        }
    }
    out
}

/// Processes (data-parallel ranks) and GPUs per process that the harness runtime runs
/// for a config (targets/harness/src/train.rs).
fn harness_ranks(config: &Value) -> (u64, u64) {
    let p = &config["parallelism"];
    let n = |k: &str| p[k].as_u64().unwrap();
    match p["kind"].as_str().unwrap() {
        "none" => (1, 1),
        "data" => (n("world_size"), 1),
        "pipeline" => (n("replicas"), n("stages")),
        "model" => (1, n("stages")),
        other => panic!("unknown parallelism {other}"),
    }
}

fn check_training_job(project: &Path, kubernetes_files: &[(String, String)]) {
    let what = project.display().to_string();
    let config: Value = serde_json::from_str(&read(&project.join("config.json"))).unwrap();
    let image_md = read(&project.join("IMAGE.md"));
    let dockerfile = read(&project.join("Dockerfile"));
    // `docker build -f <folder>/Dockerfile -t <image> .`, run in `harness/`.
    let build_command = image_md
        .lines()
        .find(|l| l.starts_with("docker build -f "))
        .unwrap_or_else(|| panic!("{what}: IMAGE.md has no docker build command"));
    let words: Vec<&str> = build_command.split_whitespace().collect();
    let folder = project.file_name().unwrap().to_string_lossy();
    assert_eq!(
        words[3],
        format!("{folder}/Dockerfile"),
        "{what}: {build_command}"
    );
    let image = words[5];
    assert!(
        dockerfile.contains(&format!("# {build_command}")) || dockerfile.contains(build_command),
        "{what}: the Dockerfile's build command differs from IMAGE.md's: {build_command}"
    );
    // The Job that runs this image.
    let jobs: Vec<&(String, String)> = kubernetes_files
        .iter()
        .filter(|(_, text)| yaml_scalars(text, "image").contains(&image))
        .collect();
    let [(job_path, job)] = jobs.as_slice() else {
        panic!(
            "{what}: the image {image} should be run by exactly one Kubernetes training Job, found {}",
            jobs.len()
        );
    };
    assert!(job_path.contains("/train-"), "{what}: {job_path}");
    let what = format!("{what} vs {job_path}");
    let mounts = yaml_scalars(job, "mountPath");

    // Data: the harness reads a folder the Job mounts.
    // Every dataset: the first at `path`, the others in `also`.
    if config["data"]["source"] == "files" {
        let also = config["data"]["also"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let paths = std::iter::once(&config["data"]).chain(also.iter());
        for path in paths.map(|d| d["path"].as_str().unwrap()) {
            assert!(
                mounts.contains(&path),
                "{what}: the harness reads {path}, the Job mounts {mounts:?}"
            );
        }
    }
    // The trained model: the harness's output folder is mounted writable.
    let output = config["output"]["dir"].as_str().unwrap();
    let lines: Vec<&str> = job.lines().map(str::trim).collect();
    let writable = lines
        .windows(2)
        .any(|w| w[0] == format!("mountPath: \"{output}\"") && w[1] == "readOnly: false");
    assert!(
        writable,
        "{what}: the harness writes its model to {output}, which the Job does not mount writable"
    );
    // Checkpoints: the harness's dir is inside the writable model folder (object storage,
    // which binds: no claim of a class the cluster may not have) and is the Job's flag.
    let ckpt = config["checkpoint"]["dir"].as_str().unwrap();
    assert!(
        ckpt.starts_with(&format!("{output}/")),
        "{what}: checkpoints in {ckpt}, outside the writable model folder {output}"
    );
    assert!(
        config["checkpoint"]["every_steps"].is_null(),
        "{what}: checkpoints by an estimated step count"
    );
    let args = args(job);
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .map(|i| args[i + 1].clone())
            .unwrap_or_else(|| panic!("{what}: no {name} in {args:?}"))
    };
    assert_eq!(flag("--checkpoint-dir"), ckpt, "{what}");
    assert!(args.iter().any(|a| a == "--resume"), "{what}: {args:?}");
    // Config: where the Dockerfile puts it.
    let config_path = flag("--config");
    assert!(
        dockerfile.contains(&format!("COPY {folder}/config.json {config_path}\n")),
        "{what}: the Job reads {config_path}, the Dockerfile copies the config elsewhere"
    );

    // Ranks: the Job starts exactly the processes the harness counts, each with its GPUs.
    let (world, gpus_per_process) = harness_ranks(&config);
    let env = |name: &str| env_value(job, name).unwrap_or_else(|| panic!("{what}: no {name}"));
    let (world_size, per_pod) = (env("WORLD_SIZE"), env("PROCESSES_PER_POD"));
    let pods: u64 = yaml_scalars(job, "completions")[0].parse().unwrap();
    let gpus: u64 = yaml_scalars(job, "nvidia.com/gpu")
        .first()
        .map_or(0, |g| g.parse().unwrap());
    assert_eq!(world_size, world, "{what}: WORLD_SIZE");
    assert!(
        pods * per_pod >= world && (pods - 1) * per_pod < world,
        "{what}: {pods} pods of {per_pod} processes for {world} ranks (a pod without a rank, or too few)"
    );
    assert!(
        per_pod * gpus_per_process <= gpus.max(1),
        "{what}: {per_pod} processes of {gpus_per_process} GPUs on a pod with {gpus}"
    );
    // Multi-process ranks need the NCCL build.
    let features = if world > 1 { "nccl" } else { "cuda" };
    assert!(
        dockerfile.contains(&format!("ARG FEATURES={features}\n")),
        "{what}: {world} ranks need --features {features}"
    );
}

/// A node pool as Terraform creates it, with the labels and taints its cloud adds.
#[derive(Debug)]
struct Pool {
    /// `<cloud>/<terraform id>`; the id starts with the region code as an identifier.
    id: String,
    instance_type: String,
    labels: BTreeMap<String, String>,
    /// `key=value:Effect` (value may be empty).
    taints: Vec<(String, String)>,
    /// Whether the cloud's autoscaler may grow and shrink the pool between its minimum
    /// and maximum (GKE's `autoscaling` block, AKS's `auto_scaling_enabled`; EKS groups
    /// are grown by the Cluster Autoscaler, checked separately).
    autoscaled: bool,
    /// GKE: whether GKE attaches the pool's NVIDIA GPUs and installs their driver.
    gke_installs_gpus: bool,
}

/// The node labels of spot capacity: EKS's, GKE's and AKS's.
const SPOT_LABELS: [(&str, &str); 3] = [
    ("eks.amazonaws.com/capacityType", "SPOT"),
    ("cloud.google.com/gke-spot", "true"),
    ("kubernetes.azure.com/scalesetpriority", "spot"),
];

/// The taint keys of spot pools: GKE's and AKS's spot labels, and mlc's own on EKS (which
/// refuses taint keys under `eks.amazonaws.com/`).
const SPOT_TAINT_KEYS: [&str; 3] = [
    "mlc.dev/capacity",
    "cloud.google.com/gke-spot",
    "kubernetes.azure.com/scalesetpriority",
];

fn is_spot(labels: &BTreeMap<String, String>) -> bool {
    SPOT_LABELS
        .iter()
        .any(|(k, v)| labels.get(*k).map(String::as_str) == Some(*v))
}

/// The taints that keep pods without an accelerator off a pool: every pool taint but
/// the spot taint.
fn accelerator_taints(pool: &Pool) -> Vec<&str> {
    pool.taints
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| !SPOT_TAINT_KEYS.contains(k))
        .collect()
}

fn hcl_string(body: &str, key: &str) -> Option<String> {
    body.lines().find_map(|l| {
        let rest = l.trim().strip_prefix(key)?.trim_start().strip_prefix('=')?;
        let rest = rest.trim().trim_start_matches('[').trim_end_matches(']');
        Some(rest.trim_matches('"').to_string())
    })
}

fn pools(out: &Path) -> Vec<Pool> {
    let mut pools = Vec::new();
    for file in common::files_under(&out.join("terraform"), &["tf"]) {
        let cloud = file
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy();
        let text = read(&file);
        let kinds = [
            "aws_eks_node_group",
            "google_container_node_pool",
            "azurerm_kubernetes_cluster_node_pool",
        ];
        for block in text.split("\nresource \"").skip(1) {
            let Some(kind) = kinds.iter().find(|k| block.starts_with(&format!("{k}\""))) else {
                continue;
            };
            let header = block.lines().next().unwrap();
            let id = header.split('"').nth(2).unwrap().to_string();
            let body = &block[..block.find("\n}\n").unwrap_or(block.len())];
            let mut labels = BTreeMap::new();
            let mut taints = Vec::new();
            // Every workload pool is labelled; the `system` pool for add-ons may not be.
            if let Some(pool) = hcl_string(body, "\"mlc.dev/pool\"") {
                labels.insert("mlc.dev/pool".to_string(), pool);
            }
            let autoscaled = match *kind {
                "aws_eks_node_group" => true,
                "google_container_node_pool" => body.contains("\n  autoscaling {"),
                _ => hcl_string(body, "auto_scaling_enabled").as_deref() == Some("true"),
            };
            let instance_type = match *kind {
                "aws_eks_node_group" => {
                    let capacity = hcl_string(body, "capacity_type").unwrap();
                    labels.insert("eks.amazonaws.com/capacityType".into(), capacity);
                    for t in body.split("taint {").skip(1) {
                        taints.push((
                            hcl_string(t, "key").unwrap(),
                            hcl_string(t, "value").unwrap(),
                        ));
                    }
                    hcl_string(body, "instance_types").unwrap()
                }
                "google_container_node_pool" => {
                    if hcl_string(body, "spot").as_deref() == Some("true") {
                        labels.insert("cloud.google.com/gke-spot".into(), "true".into());
                    }
                    for t in body.split("taint {").skip(1) {
                        taints.push((
                            hcl_string(t, "key").unwrap(),
                            hcl_string(t, "value").unwrap(),
                        ));
                    }
                    hcl_string(body, "machine_type").unwrap()
                }
                _ => {
                    if hcl_string(body, "priority").as_deref() == Some("Spot") {
                        labels.insert(
                            "kubernetes.azure.com/scalesetpriority".into(),
                            "spot".into(),
                        );
                    }
                    let list = hcl_string(body, "node_taints").unwrap_or_default();
                    for t in list.split(',').map(|t| t.trim().trim_matches('"')) {
                        if let Some((kv, _effect)) = t.split_once(':') {
                            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                            taints.push((k.to_string(), v.to_string()));
                        }
                    }
                    hcl_string(body, "vm_size").unwrap()
                }
            };
            labels.insert(
                "node.kubernetes.io/instance-type".into(),
                instance_type.clone(),
            );
            let gke_installs_gpus = body.contains("\n    guest_accelerator {")
                && body.contains("gpu_driver_installation_config {");
            pools.push(Pool {
                id: format!("{cloud}/{id}"),
                instance_type,
                labels,
                taints,
                autoscaled,
                gke_installs_gpus,
            });
        }
    }
    pools
}

/// Where a pod template asks to run.
#[derive(Debug, Default)]
struct Placement {
    selector: BTreeMap<String, String>,
    /// `(key, operator, value)`.
    tolerations: Vec<(String, String, String)>,
    /// Preferred node labels (`spot fallback on_demand` prefers spot).
    preferred: BTreeMap<String, String>,
    /// The extended resources its container limits name (`nvidia.com/gpu`, ...).
    extended: Vec<String>,
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn placements(manifest: &str) -> Vec<Placement> {
    let mut out = Vec::new();
    let lines: Vec<&str> = manifest.lines().collect();
    let starts: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].trim() == "nodeSelector:")
        .collect();
    for (n, &i) in starts.iter().enumerate() {
        let end = starts.get(n + 1).copied().unwrap_or(lines.len());
        let segment = &lines[i..end];
        let mut placement = Placement::default();
        let mut j = 1;
        while j < segment.len() && indent(segment[j]) > indent(segment[0]) {
            let (k, v) = segment[j].trim().split_once(": ").unwrap();
            placement.selector.insert(
                k.trim_matches('"').to_string(),
                v.trim_matches('"').to_string(),
            );
            j += 1;
        }
        let unquote = |v: &str| {
            v.trim()
                .trim_matches(|c| c == '"' || c == '[' || c == ']')
                .to_string()
        };
        for (k, line) in segment.iter().enumerate() {
            let t = line.trim();
            if t == "preference:" {
                let key = segment[k + 2].trim().strip_prefix("- key:").map(unquote);
                let value = segment[k + 4].trim().strip_prefix("values:").map(unquote);
                if let (Some(key), Some(value)) = (key, value) {
                    placement.preferred.insert(key, value);
                }
            }
            if t == "tolerations:" {
                for (m, l) in segment.iter().enumerate().skip(k + 1) {
                    if indent(l) <= indent(line) && !l.trim_start().starts_with("- ") {
                        break;
                    }
                    if let Some(key) = l.trim().strip_prefix("- key:") {
                        let field = |name: &str| {
                            segment[m + 1..]
                                .iter()
                                .take_while(|l| !l.trim_start().starts_with("- "))
                                .find_map(|l| l.trim().strip_prefix(name))
                                .map(|v| v.trim().trim_matches('"').to_string())
                                .unwrap_or_default()
                        };
                        placement.tolerations.push((
                            unquote(key),
                            field("operator:"),
                            field("value:"),
                        ));
                    }
                }
            }
            if t == "limits:" {
                for l in segment[k + 1..]
                    .iter()
                    .take_while(|l| indent(l) > indent(line))
                {
                    let key = unquote(l.trim().split_once(':').unwrap().0);
                    if key.contains('/') {
                        placement.extended.push(key);
                    }
                }
            }
        }
        placement.extended.sort();
        placement.extended.dedup();
        out.push(placement);
    }
    out
}

fn identifier(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// Every pod lands on a pool Terraform creates for its cluster: one whose labels its
/// node selector names, whose taints it tolerates, and whose accelerator taint is the
/// accelerator it asks for (no pod without one on an accelerator pool, none of one
/// family on another's). A pod that prefers spot (`spot fallback on_demand`) has both a
/// spot pool and an on-demand one to go to; a pod that does not ask for spot lands on no
/// spot pool.
fn check_placements(out: &Path, pools: &[Pool]) {
    let clusters = out.join("kubernetes");
    for file in common::files_under(&clusters, &["yaml"]) {
        let dir = file
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .to_string();
        let (cloud, region) = dir.split_once('-').unwrap();
        if cloud == "onprem" {
            continue; // no Terraform: the site's own nodes carry `mlc.dev/site`
        }
        let prefix = format!("{cloud}/{}_", identifier(region));
        for pod in placements(&read(&file)) {
            let Some(instance) = pod.selector.get("node.kubernetes.io/instance-type") else {
                continue;
            };
            let candidates: Vec<&Pool> = pools
                .iter()
                .filter(|p| p.id.starts_with(&prefix) && &p.instance_type == instance)
                .collect();
            let fits = |p: &&Pool, selector: &BTreeMap<String, String>| {
                selector.iter().all(|(k, v)| p.labels.get(k) == Some(v))
                    && p.taints.iter().all(|(key, value)| {
                        pod.tolerations.iter().any(|(k, op, v)| {
                            k == key && (op == "Exists" || (op == "Equal" && v == value))
                        })
                    })
                    && accelerator_taints(p) == pod.extended
            };
            assert!(
                candidates.iter().any(|p| fits(p, &pod.selector)),
                "{}: no Terraform node pool in {prefix}* takes a pod with {pod:?}; pools of {instance}: {candidates:#?}",
                file.display()
            );
            // A pod planned on demand is priced on demand: no spot node may take it.
            if !is_spot(&pod.selector) && !is_spot(&pod.preferred) {
                let spot: Vec<&&Pool> = candidates
                    .iter()
                    .filter(|p| is_spot(&p.labels) && fits(p, &pod.selector))
                    .collect();
                assert!(
                    spot.is_empty(),
                    "{}: a pod planned on demand could land on a spot pool: {pod:?} on {spot:#?}",
                    file.display()
                );
            }
            for (key, value) in &pod.preferred {
                let preferred = candidates
                    .iter()
                    .any(|p| fits(p, &pod.selector) && p.labels.get(key) == Some(value));
                let fallback = candidates
                    .iter()
                    .any(|p| fits(p, &pod.selector) && p.labels.get(key) != Some(value));
                assert!(
                    preferred && fallback,
                    "{}: a pod that prefers {key}={value} needs a pool with it ({preferred}) and one without ({fallback}): {candidates:#?}",
                    file.display()
                );
            }
        }
    }
}

/// The first `resource "<kind>" "<id>" { ... }` body of `kind` in `text` with `id`.
fn resource_body<'t>(text: &'t str, kind: &str, id: &str) -> Option<&'t str> {
    let start = text.find(&format!("resource \"{kind}\" \"{id}\" {{"))?;
    let body = &text[start..];
    Some(&body[..body.find("\n}\n").unwrap_or(body.len())])
}

/// Every pool can grow from its minimum, which is often zero: GKE and AKS pools
/// autoscale, and GKE installs the driver of NVIDIA pools; each EKS cluster runs the Cluster Autoscaler, which discovers exactly
/// that cluster's groups and whose service account has Terraform's IAM role, and whose
/// priorities (with spot pools) prefer spot. EKS and AKS pools of NVIDIA GPUs run the
/// device plugin, which tolerates their taints.
fn check_cluster_addons(out: &Path, pools: &[Pool]) {
    for pool in pools {
        assert!(
            pool.autoscaled,
            "{}: {pool:?} does not autoscale",
            out.display()
        );
        let nvidia = pool.taints.iter().any(|(k, _)| k == "nvidia.com/gpu");
        assert!(
            !(pool.id.starts_with("gcp/") && nvidia) || pool.gke_installs_gpus,
            "{}: GKE neither attaches the GPUs of {pool:?} nor installs their driver",
            out.display()
        );
    }
    let kubernetes = out.join("kubernetes");
    // A cloud without clusters has no cluster.tf.
    let cluster_tf = |cloud: &str| {
        std::fs::read_to_string(out.join(format!("terraform/{cloud}/cluster.tf")))
            .unwrap_or_default()
    };
    let (aws, azure) = (cluster_tf("aws"), cluster_tf("azure"));
    for dir in std::fs::read_dir(&kubernetes)
        .into_iter()
        .flatten()
        .flatten()
    {
        let name = dir.file_name().to_string_lossy().to_string();
        let (cloud, region) = name.split_once('-').unwrap();
        let id = identifier(region);
        let here: Vec<&Pool> = pools
            .iter()
            .filter(|p| p.id.starts_with(&format!("{cloud}/{id}_")))
            .collect();
        let file = |f: &str| {
            let path = dir.path().join(f);
            path.exists().then(|| read(&path))
        };
        let what = format!("{}: {name}", out.display());
        if cloud == "aws" {
            let cluster = resource_body(&aws, "aws_eks_cluster", &id)
                .and_then(|b| hcl_string(b, "name"))
                .unwrap_or_else(|| panic!("{what}: no EKS cluster {id}"));
            let autoscaler = file("cluster-autoscaler.yaml")
                .unwrap_or_else(|| panic!("{what}: no Cluster Autoscaler"));
            assert!(
                autoscaler.contains(&format!(
                    "asg:tag=k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/{cluster}\""
                )),
                "{what}: the autoscaler does not discover the groups of {cluster}"
            );
            let association = resource_body(
                &aws,
                "aws_eks_pod_identity_association",
                &format!("{id}_autoscaler"),
            )
            .unwrap_or_else(|| panic!("{what}: no Pod Identity for the autoscaler"));
            let service_account = hcl_string(association, "service_account").unwrap();
            let namespace = hcl_string(association, "namespace").unwrap();
            assert!(
                autoscaler.contains(&format!(
                    "kind: ServiceAccount\nmetadata:\n  name: \"{service_account}\"\n  namespace: \"{namespace}\""
                )),
                "{what}: the autoscaler's service account is not {namespace}/{service_account}"
            );
        }
        let spot = here.iter().any(|p| {
            p.labels
                .get("eks.amazonaws.com/capacityType")
                .map(String::as_str)
                == Some("SPOT")
                || p.labels
                    .contains_key("kubernetes.azure.com/scalesetpriority")
        });
        if matches!(cloud, "aws" | "azure") {
            assert_eq!(
                file("autoscaler-priorities.yaml").is_some(),
                spot,
                "{what}: the autoscaler's spot priorities go with spot pools"
            );
        }
        if cloud == "azure" {
            let cluster = resource_body(&azure, "azurerm_kubernetes_cluster", &id).unwrap();
            assert_eq!(
                cluster.contains("expander = \"priority\""),
                spot,
                "{what}: AKS's autoscaler reads the priorities when there are spot pools"
            );
        }
        let nvidia: Vec<&&Pool> = here
            .iter()
            .filter(|p| p.taints.iter().any(|(k, _)| k == "nvidia.com/gpu"))
            .collect();
        if matches!(cloud, "aws" | "azure") && !nvidia.is_empty() {
            let plugin = file("nvidia-device-plugin.yaml")
                .unwrap_or_else(|| panic!("{what}: NVIDIA pools without the device plugin"));
            for pool in nvidia {
                let name = &pool.labels["mlc.dev/pool"];
                assert!(
                    plugin.contains(&format!("\"{name}\"")),
                    "{what}: the device plugin does not run on pool {name}"
                );
                for (key, _) in &pool.taints {
                    assert!(
                        plugin.contains(&format!("- key: \"{key}\"\n          operator: Exists")),
                        "{what}: the device plugin does not tolerate {key} of {name}"
                    );
                }
            }
        }
    }
}

#[test]
fn every_examples_targets_agree_per_training_job() {
    let mut gke_pools = 0;
    for spec in common::examples() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        common::build(&spec, &out, &[]);
        let kubernetes_files: Vec<(String, String)> =
            common::files_under(&out.join("kubernetes"), &["yaml"])
                .into_iter()
                .map(|p| (p.display().to_string(), read(&p)))
                .collect();
        let projects: Vec<_> = std::fs::read_dir(out.join("harness"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.join("config.json").is_file())
            .collect();
        for project in &projects {
            check_training_job(project, &kubernetes_files);
        }
        // Every training Job runs a harness this build wrote.
        let jobs = kubernetes_files
            .iter()
            .filter(|(p, _)| p.contains("/train-"))
            .count();
        assert_eq!(jobs, projects.len(), "{}", spec.display());
        let pools = pools(&out);
        check_placements(&out, &pools);
        check_cluster_addons(&out, &pools);
        gke_pools += check_gke_zones(&out);
    }
    assert!(gke_pools >= 5, "only {gke_pools} GKE pools were checked");
}

/// Every GKE pool of GPU or CPU machines is placed in the zones of its region that offer
/// its machine type with its GPUs, as the committed catalog lists them (a pool spread
/// over the cluster's default zones fails to create where one lacks its GPU). Returns
/// how many pools it checked.
fn check_gke_zones(out: &Path) -> usize {
    let catalog = read(Path::new("stdlib/catalog/gcp.csv"));
    // (machine type, region, accelerators per VM) -> (accelerator, zones): an N1 host is
    // listed once per GPU model it takes.
    type Offers = Vec<(String, Vec<String>)>;
    let mut offered: BTreeMap<(String, String, String), Offers> = BTreeMap::new();
    for row in catalog.lines().skip(1) {
        let f: Vec<&str> = row.split(',').collect();
        let count = if f[2].is_empty() { "0" } else { f[2] };
        let zones = f[10].split_whitespace().map(str::to_string).collect();
        offered
            .entry((f[0].into(), f[6].into(), count.into()))
            .or_default()
            .push((f[1].to_ascii_lowercase(), zones));
    }
    let file = out.join("terraform/gcp/cluster.tf");
    let Ok(text) = std::fs::read_to_string(&file) else {
        return 0;
    };
    let mut checked = 0;
    for block in text
        .split("\nresource \"google_container_node_pool\" ")
        .skip(1)
    {
        let body = &block[..block.find("\n}\n").unwrap_or(block.len())];
        let machine = hcl_string(body, "machine_type").unwrap();
        if hcl_string(body, "name").as_deref() == Some("system") || machine.starts_with("ct") {
            continue; // e2 system pools run in every zone; TPU slices are not catalog VMs
        }
        let region = hcl_string(body, "location").unwrap();
        let gpu = body.split("guest_accelerator {").nth(1);
        let count = gpu
            .and_then(|a| hcl_string(a, "count"))
            .unwrap_or_else(|| "0".into());
        // GKE's GPU types name the catalog's models: `nvidia-tesla-t4` is `T4`.
        let kind = gpu.and_then(|a| hcl_string(a, "type")).unwrap_or_default();
        let zones: Vec<String> = hcl_string(body, "node_locations")
            .unwrap_or_default()
            .split(", ")
            .map(|z| z.trim_matches('"').to_string())
            .collect();
        let expected = offered
            .get(&(machine.clone(), region.clone(), count.clone()))
            .and_then(|offers| {
                offers
                    .iter()
                    .filter(|(model, _)| kind.contains(model.as_str()))
                    .max_by_key(|(model, _)| model.len())
            })
            .map(|(_, zones)| zones);
        assert_eq!(
            Some(&zones),
            expected,
            "{}: the pool of {machine} with {count} GPUs in {region}",
            file.display()
        );
        assert!(
            zones.iter().all(|z| z.starts_with(&format!("{region}-"))),
            "{zones:?}"
        );
        checked += 1;
    }
    checked
}

#[test]
fn a_spec_named_with_a_newline_cannot_break_the_generated_files() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir
        .path()
        .join("evil\n*/ -->\u{0}x.mlc".replace('\u{0}', ""));
    if std::fs::copy("examples/pipeline_large_model.mlc", &spec).is_err() {
        return; // a file system that refuses such names cannot produce them either
    }
    let out = dir.path().join("out");
    common::build(&spec, &out, &[]);
    let mut files = common::files_under(&out, &["yaml", "tf", "rs", "toml", "json", "md"]);
    files.extend(common::files_under(&out, &["dockerignore"]));
    files.push(out.join("harness/atlas-22b/Dockerfile"));
    for file in files {
        let text = read(&file);
        let first = text.lines().next().unwrap_or_default();
        if first.contains("Generated by mlc") {
            assert!(
                first.contains("evil\\u{a}*\\/ --\\>x.mlc"),
                "{}: {first}",
                file.display()
            );
            // The second line is the file's own, not the rest of the name.
            let second = text.lines().nth(1).unwrap_or_default();
            assert!(
                !second.starts_with("*/") && !second.contains("x.mlc"),
                "{}",
                file.display()
            );
        }
    }
}

const FAMILIES: &str = r#"
project families { owner = "x@example.com" }
clouds { allow = [gcp, azure] }

train amd_lm {
  model       = mlp { input = 8, hidden = [8], output = 2 }
  parallelism = data { gpus = 8 }
  accelerator = MI300X x 8
  batch_size  = 64
  max_steps   = 100
  optimizer   = sgd { lr = 0.1 }
  max_runtime = 1 h
  capacity    = spot fallback on_demand
  region      = azure.eastus2
}

train tpu_lm {
  model       = mlp { input = 8, hidden = [8], output = 2 }
  parallelism = data { gpus = 4 }
  accelerator = ACCEL
  batch_size  = 64
  max_steps   = 100
  optimizer   = sgd { lr = 0.1 }
  max_runtime = 1 h
  region      = gcp.us_central1
}
"#;

/// A job on a T4 in `CLOUD.REGION`, planned on `CAPACITY`.
const T4_JOB: &str = r#"
train REGION_CAPACITY {
  model       = mlp { input = 8, hidden = [8], output = 2 }
  parallelism = data { gpus = 1 }
  accelerator = T4 x 1
  batch_size  = 64
  max_steps   = 100
  optimizer   = sgd { lr = 0.1 }
  max_runtime = 1 h
  capacity    = CAPACITY
  region      = CLOUD.REGION
}
"#;

/// A spot pool beside an on-demand pool of the same instance type (a spot and an
/// on-demand job in one region of each cloud) takes only the pods planned on spot: the on-demand job, which selects only the instance type, does not
/// tolerate the spot pool's taint (EKS and GKE taint spot pools as AKS does).
#[test]
fn jobs_planned_on_demand_stay_off_spot_pools_of_their_instance_type() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("mixed.mlc");
    let mut text = String::from(
        "project mixed { owner = \"x@example.com\" }\nclouds { allow = [aws, gcp, azure] }\n",
    );
    for (cloud, region) in [
        ("aws", "us_east_1"),
        ("gcp", "us_central1"),
        ("azure", "eastus"),
    ] {
        for capacity in ["spot", "on_demand"] {
            text += &T4_JOB
                .replace("CLOUD", cloud)
                .replace("REGION", region)
                .replace("CAPACITY", capacity);
        }
    }
    std::fs::write(&spec, text).unwrap();
    let out = dir.path().join("out");
    common::build(&spec, &out, &[]);
    let pools = pools(&out);
    for cloud in ["aws", "gcp", "azure"] {
        let here: Vec<&Pool> = pools
            .iter()
            .filter(|p| {
                p.id.starts_with(&format!("{cloud}/"))
                    && p.taints.iter().any(|(k, _)| k == "nvidia.com/gpu")
            })
            .collect();
        let types: BTreeSet<&str> = here.iter().map(|p| p.instance_type.as_str()).collect();
        assert_eq!(
            types.len(),
            1,
            "{cloud}: one instance type for both jobs: {here:#?}"
        );
        assert_eq!(
            here.iter().filter(|p| is_spot(&p.labels)).count(),
            1,
            "{cloud}: a spot pool and an on-demand one: {here:#?}"
        );
        assert_eq!(here.len(), 2, "{cloud}: {here:#?}");
    }
    check_placements(&out, &pools);
    check_cluster_addons(&out, &pools);
    // The GKE pools are N1 hosts with a T4, listed beside N1 rows of other GPU models.
    assert_eq!(check_gke_zones(&out), 2);
}

/// Accelerators that are not NVIDIA's: pods ask for their own resource and tolerate their
/// own taint, on pools tainted with it (examples use NVIDIA only).
#[test]
fn each_accelerator_family_has_its_resource_and_taint() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("families.mlc");
    std::fs::write(&spec, FAMILIES.replace("ACCEL", "TPU_V5E x 4")).unwrap();
    let out = dir.path().join("out");
    common::build(&spec, &out, &[]);
    let pools = pools(&out);
    check_placements(&out, &pools);
    check_cluster_addons(&out, &pools);
    let taints = |cloud: &str| -> Vec<String> {
        pools
            .iter()
            .filter(|p| p.id.starts_with(cloud))
            .flat_map(|p| p.taints.iter().map(|(k, _)| k.clone()))
            .collect()
    };
    assert!(
        taints("azure/").contains(&"amd.com/gpu".to_string()),
        "{pools:#?}"
    );
    assert!(
        taints("gcp/").contains(&"google.com/tpu".to_string()),
        "{pools:#?}"
    );
    assert!(
        !taints("").contains(&"nvidia.com/gpu".to_string()),
        "no NVIDIA pool: {pools:#?}"
    );
    // GKE runs a TPU v5e slice of 4 chips on its own machine type, in the zones that
    // have the slice (the catalog's row for `tpu-v5litepod-4`).
    assert!(
        pools.iter().any(|p| p.instance_type == "ct5lp-hightpu-4t"),
        "{pools:#?}"
    );
    let catalog = read(Path::new("stdlib/catalog/gcp.csv"));
    let row = catalog
        .lines()
        .find(|l| l.starts_with("tpu-v5litepod-4,") && l.contains(",us-central1,"))
        .unwrap();
    let zones: Vec<String> = row
        .rsplit(',')
        .next()
        .unwrap()
        .split(' ')
        .map(|z| format!("\"{z}\""))
        .collect();
    let cluster = read(&out.join("terraform/gcp/cluster.tf"));
    let tpu_pool = cluster
        .split("\nresource \"google_container_node_pool\" ")
        .find(|b| b.contains("\"ct5lp-hightpu-4t\""))
        .unwrap();
    assert!(
        tpu_pool.contains(&format!("node_locations = [{}]", zones.join(", "))),
        "{zones:?}: {tpu_pool}"
    );
    let manifests: String = common::files_under(&out.join("kubernetes"), &["yaml"])
        .iter()
        .map(|f| read(f))
        .collect();
    assert!(manifests.contains("\"amd.com/gpu\": \"8\""));
    assert!(manifests.contains("\"google.com/tpu\": \"4\""));
    // No NVIDIA pool, so no NVIDIA device plugin.
    assert!(!manifests.contains("nvidia"), "{manifests}");
}

/// Every Kubernetes document of a build, parsed by PyYAML (the validators venv), with the
/// cluster folder it is in (`aws-us-east-1`).
fn manifests(out: &Path) -> Vec<(String, Value)> {
    let files = common::files_under(&out.join("kubernetes"), &["yaml"]);
    if files.is_empty() {
        return Vec::new();
    }
    let parsed = common::run_ok(
        Command::new(common::python())
            .arg("tests/validators/yaml2json.py")
            .args(&files),
        "yaml2json",
    );
    let list: Vec<Value> = serde_json::from_slice(&parsed.stdout).unwrap();
    list.into_iter()
        .map(|item| {
            let file = PathBuf::from(item["file"].as_str().unwrap());
            let cluster = file.parent().unwrap().file_name().unwrap();
            (cluster.to_string_lossy().to_string(), item["doc"].clone())
        })
        .collect()
}

/// The pod template of a workload (Deployment, Job, CronJob, Knative Service).
fn pod_template(doc: &Value) -> Option<&Value> {
    match doc["kind"].as_str()? {
        "Deployment" | "Job" => Some(&doc["spec"]["template"]),
        "CronJob" => Some(&doc["spec"]["jobTemplate"]["spec"]["template"]),
        "Service" if doc["apiVersion"] == "serving.knative.dev/v1" => {
            Some(&doc["spec"]["template"])
        }
        _ => None,
    }
}

fn env(template: &Value, name: &str) -> Option<String> {
    template["spec"]["containers"][0]["env"]
        .as_array()?
        .iter()
        .find(|e| e["name"] == name)
        .and_then(|e| e["value"].as_str())
        .map(str::to_string)
}

/// The claim a pod mounts at `path`, and whether read-only.
fn mount_at(template: &Value, path: &str) -> Option<(String, bool)> {
    let spec = &template["spec"];
    let mount = spec["containers"][0]["volumeMounts"]
        .as_array()?
        .iter()
        .find(|m| m["mountPath"] == path)?;
    let volume = spec["volumes"]
        .as_array()?
        .iter()
        .find(|v| v["name"] == mount["name"])?;
    let claim = volume["persistentVolumeClaim"]["claimName"].as_str()?;
    Some((
        claim.to_string(),
        mount["readOnly"].as_bool().unwrap_or(false),
    ))
}

fn find<'d>(
    docs: &'d [(String, Value)],
    cluster: &str,
    kind: &str,
    name: &str,
) -> Option<&'d Value> {
    docs.iter()
        .find(|(c, d)| c == cluster && d["kind"] == kind && d["metadata"]["name"] == name)
        .map(|(_, d)| d)
}

/// Where a claim keeps its data: the `mlc.dev/source` and `mlc.dev/copy-of` of the
/// volume it binds (or of the claim itself on a site), and the bucket the volume names.
#[derive(Debug)]
struct Kept {
    source: String,
    copy_of: Option<String>,
    bucket: Option<String>,
}

fn kept(docs: &[(String, Value)], cluster: &str, claim: &str) -> Kept {
    let pvc = find(docs, cluster, "PersistentVolumeClaim", claim)
        .unwrap_or_else(|| panic!("{cluster}: no claim {claim}"));
    let holder = match pvc["spec"]["volumeName"].as_str() {
        Some(pv) => find(docs, cluster, "PersistentVolume", pv)
            .unwrap_or_else(|| panic!("{cluster}: claim {claim} binds {pv}, which is not there")),
        None => pvc,
    };
    let annotation = |key: &str| {
        holder["metadata"]["annotations"][key]
            .as_str()
            .map(str::to_string)
    };
    Kept {
        source: annotation("mlc.dev/source")
            .unwrap_or_else(|| panic!("{cluster}/{claim}: no mlc.dev/source")),
        copy_of: annotation("mlc.dev/copy-of"),
        bucket: bucket_of(holder),
    }
}

/// The bucket (Azure: container) a PersistentVolume mounts, by its CSI driver.
fn bucket_of(pv: &Value) -> Option<String> {
    let csi = &pv["spec"]["csi"];
    let name = match csi["driver"].as_str()? {
        "s3.csi.aws.com" => csi["volumeAttributes"]["bucketName"].as_str(),
        "gcsfuse.csi.storage.gke.io" => csi["volumeHandle"].as_str(),
        "blob.csi.azure.com" => csi["volumeAttributes"]["containerName"].as_str(),
        other => panic!("unexpected CSI driver {other}"),
    };
    name.map(str::to_string)
}

/// All `.tf` files of one cloud's Terraform, concatenated.
fn terraform_of(out: &Path, cloud: &str) -> String {
    common::files_under(&out.join("terraform").join(cloud), &["tf"])
        .iter()
        .map(|f| read(f))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The harness config of training job `train` (its folder is the job's DNS label).
fn harness_config_of(out: &Path, train: &str) -> Value {
    // Each job's folder under `harness/` (beside the runtime's own files and `src/`).
    for entry in std::fs::read_dir(out.join("harness")).unwrap().flatten() {
        let path = entry.path().join("config.json");
        if !path.is_file() {
            continue;
        }
        let config: Value = serde_json::from_str(&read(&path)).unwrap();
        if config["name"] == train {
            return config;
        }
    }
    panic!("no harness project for train.{train}")
}

#[test]
fn every_reader_of_a_trained_model_mounts_where_its_training_job_writes_it() {
    let mut readers = 0;
    let mut copies = 0;
    for spec in common::examples() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        common::build(&spec, &out, &[]);
        let docs = manifests(&out);
        for (cluster, doc) in &docs {
            let Some(template) = pod_template(doc) else {
                continue;
            };
            let Some(uri) = env(template, "MODEL_URI") else {
                continue;
            };
            let what = format!("{}: {cluster}/{}", spec.display(), doc["metadata"]["name"]);
            let model = env(template, "MLC_MODEL").unwrap_or_default();
            let train = model
                .strip_prefix("train.")
                .unwrap_or_else(|| panic!("{what}: MODEL_URI without a train.x MLC_MODEL"));
            // The file the harness writes.
            let config = harness_config_of(&out, train);
            let folder = config["output"]["dir"].as_str().unwrap();
            assert_eq!(uri, format!("{folder}/model.safetensors"), "{what}");
            let (claim, read_only) = mount_at(template, folder)
                .unwrap_or_else(|| panic!("{what}: {folder} is not mounted"));
            assert!(read_only, "{what}: a reader mounts the model writable");
            let reader = kept(&docs, cluster, &claim);
            // The training Job that writes it.
            let writers: Vec<(String, String)> = docs
                .iter()
                .filter_map(|(c, d)| {
                    let (claim, ro) = mount_at(pod_template(d)?, folder)?;
                    (!ro).then(|| (c.clone(), claim))
                })
                .collect();
            let [(writer_cluster, writer_claim)] = writers.as_slice() else {
                panic!("{what}: {} jobs write {folder}", writers.len());
            };
            let writer = kept(&docs, writer_cluster, writer_claim);
            readers += 1;
            if reader.source == writer.source {
                continue;
            }
            // Elsewhere: a copy of where the job writes, which Terraform keeps or flags.
            assert_eq!(
                reader.copy_of.as_deref(),
                Some(writer.source.as_str()),
                "{what}: reads {}, the job writes {}",
                reader.source,
                writer.source
            );
            let cloud = cluster.split('-').next().unwrap();
            let bucket = reader
                .bucket
                .as_deref()
                .unwrap_or_else(|| panic!("{what}: a copy without a bucket"));
            let terraform = terraform_of(&out, cloud);
            assert!(
                terraform.contains(&format!("= \"{bucket}\"")),
                "{what}: terraform/{cloud} creates no bucket {bucket}"
            );
            let replicated = writer_cluster.starts_with(&format!("{cloud}-"));
            let filled_by_hand = format!(
                "{bucket}/{}",
                reader.source.splitn(4, '/').nth(3).unwrap_or("")
            );
            assert!(
                if replicated {
                    terraform.contains(&bucket.replace('-', "_"))
                        && [
                            "aws_s3_bucket_replication_configuration",
                            "google_storage_transfer_job",
                            "azurerm_storage_object_replication",
                        ]
                        .iter()
                        .any(|r| terraform.contains(r))
                } else {
                    terraform.contains(&format!("# {filled_by_hand}: a copy of {}", writer.source))
                        && terraform.contains("which you fill")
                },
                "{what}: the copy {bucket} is neither replicated nor flagged for the operator"
            );
            copies += 1;
        }
    }
    // Services and functions serve trained models in most examples, several in another
    // region or cloud than their training job.
    assert!(readers >= 6, "only {readers} readers checked");
    assert!(copies >= 3, "only {copies} copies checked");
}

#[test]
fn every_bucket_volume_names_a_bucket_terraform_creates_and_grants_its_pods() {
    let mut volumes = 0;
    for spec in common::examples() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        common::build(&spec, &out, &[]);
        let docs = manifests(&out);
        for (cluster, pv) in docs.iter().filter(|(_, d)| d["kind"] == "PersistentVolume") {
            let what = format!("{}: {cluster}/{}", spec.display(), pv["metadata"]["name"]);
            let (cloud, region) = cluster.split_once('-').unwrap();
            let driver = pv["spec"]["csi"]["driver"].as_str().unwrap_or_default();
            let expected = match cloud {
                "aws" => "s3.csi.aws.com",
                "gcp" => "gcsfuse.csi.storage.gke.io",
                _ => "blob.csi.azure.com",
            };
            assert_eq!(driver, expected, "{what}");
            let bucket = bucket_of(pv).unwrap();
            let id = bucket.replace('-', "_");
            let terraform = terraform_of(&out, cloud);
            let data = read(&out.join("terraform").join(cloud).join("data.tf"));
            let blocks: Vec<&str> = data.split("\nresource \"").collect();
            let granted =
                |needles: &[&str]| blocks.iter().any(|b| needles.iter().all(|n| b.contains(n)));
            assert!(
                terraform.contains(&format!("= \"{bucket}\"")),
                "{what}: terraform/{cloud} creates no bucket {bucket}"
            );
            // The pods that mount it, by their service accounts.
            let claim = pv["spec"]["claimRef"]["name"].as_str().unwrap();
            let accounts: Vec<(&str, &Value)> = docs
                .iter()
                .filter(|(c, _)| c == cluster)
                .filter_map(|(_, d)| {
                    let template = pod_template(d)?;
                    let mounts = template["spec"]["volumes"].as_array()?;
                    mounts
                        .iter()
                        .any(|v| v["persistentVolumeClaim"]["claimName"] == claim)
                        .then(|| {
                            (
                                template["spec"]["serviceAccountName"].as_str().unwrap(),
                                template,
                            )
                        })
                })
                .collect();
            assert!(!accounts.is_empty(), "{what}: no pod mounts it");
            let region_id = region.replace('-', "_");
            match cloud {
                "aws" => {
                    let options = pv["spec"]["mountOptions"].to_string();
                    assert!(
                        options.contains(&format!("region {region}")),
                        "{what}: {options}"
                    );
                    assert!(
                        data.contains("aws-mountpoint-s3-csi-driver"),
                        "{what}: no CSI add-on"
                    );
                    assert!(
                        granted(&[
                            "aws_iam_role_policy",
                            "_s3_csi",
                            &format!("aws_s3_bucket.{id}.arn")
                        ]),
                        "{what}: the CSI driver's role has no grant on {bucket}"
                    );
                }
                "gcp" => {
                    for (account, template) in &accounts {
                        assert_eq!(
                            template["metadata"]["annotations"]["gke-gcsfuse/volumes"], "true",
                            "{what}: {account} gets no Cloud Storage FUSE sidecar"
                        );
                        assert!(
                            granted(&[
                                &format!("google_storage_bucket.{id}.name"),
                                &format!("/sa/{account}\"")
                            ]),
                            "{what}: {account} has no grant on {bucket}"
                        );
                    }
                    assert!(
                        terraform.contains("gcs_fuse_csi_driver_config"),
                        "{what}: the driver is off"
                    );
                }
                _ => {
                    let namespace = pv["spec"]["claimRef"]["namespace"].as_str().unwrap();
                    for (account, _) in &accounts {
                        assert!(
                            granted(&[
                                "azurerm_federated_identity_credential",
                                &format!("system:serviceaccount:{namespace}:{account}\"")
                            ]),
                            "{what}: {account} is not federated with the data identity"
                        );
                    }
                    assert!(
                        granted(&[
                            "azurerm_role_assignment",
                            &format!("azurerm_storage_container.{id}.id")
                        ]),
                        "{what}: the data identity has no role on {bucket}"
                    );
                    let client_id = pv["spec"]["csi"]["volumeAttributes"]["clientID"]
                        .as_str()
                        .unwrap();
                    let output = format!("data_identity_client_id_{region_id}");
                    assert!(client_id.contains(&output), "{what}: clientID {client_id}");
                    assert!(
                        terraform.contains(&format!("output \"{output}\"")),
                        "{what}: no output {output}"
                    );
                    assert!(
                        terraform.contains("blob_driver_enabled = true"),
                        "{what}: the driver is off"
                    );
                }
            }
            volumes += 1;
        }
    }
    assert!(volumes >= 10, "only {volumes} bucket volumes checked");
}

/// `checkpoint = every 15 min` reaches the harness as 900 seconds on the clock (not a
/// step count estimated from a FLOP rule), with the `keep` the spec gives.
#[test]
fn checkpoints_reach_the_harness_as_the_specs_interval() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    common::build(
        Path::new("examples/multicloud_failover.mlc"),
        &out,
        &["harness"],
    );
    let config: Value =
        serde_json::from_str(&read(&out.join("harness/eu-recommender/config.json"))).unwrap();
    assert_eq!(config["checkpoint"]["every_seconds"], 900, "{config}");
    assert_eq!(config["checkpoint"]["keep"], 2, "{config}");
    assert_eq!(
        config["checkpoint"]["dir"], "/models/eu-recommender/checkpoints",
        "{config}"
    );
}

/// A job that reads two datasets gets both: the harness reads the second after the first
/// (`data.also`), and the Job mounts both (before, the second was silently ignored).
#[test]
fn every_dataset_of_a_job_reaches_its_harness() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("spec.mlc");
    std::fs::write(
        &spec,
        r#"
clouds { allow = [aws] }
dataset clicks {
  size     = 10 GB
  location = aws.us_east_1
  path     = "s3://acme-clicks/rows.csv"
}
dataset labels {
  size     = 1 GB
  location = aws.us_east_1
}
train ranker {
  data        = [dataset.clicks, dataset.labels]
  model       = mlp { input = 16, hidden = [32], output = 2 }
  parallelism = data { gpus = 1 }
  accelerator = T4 x 1
  batch_size  = 64
  optimizer   = adamw { lr = 1e-3 }
  max_runtime = 2 h
  region      = aws.us_east_1
}
"#,
    )
    .unwrap();
    let out = dir.path().join("out");
    common::build(&spec, &out, &[]);
    let config: Value =
        serde_json::from_str(&read(&out.join("harness/ranker/config.json"))).unwrap();
    assert_eq!(config["data"]["path"], "/data/clicks", "{config}");
    assert_eq!(config["data"]["format"], "csv", "{config}");
    assert_eq!(
        config["data"]["also"],
        serde_json::json!([{"format": "npy", "path": "/data/labels"}]),
        "{config}"
    );
    let job = read(&out.join("kubernetes/aws-us-east-1/train-ranker.yaml"));
    let mounts = yaml_scalars(&job, "mountPath");
    assert!(
        mounts.contains(&"/data/clicks") && mounts.contains(&"/data/labels"),
        "{mounts:?}"
    );
}
