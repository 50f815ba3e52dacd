//! The four `mlc build` targets agree with each other, for every example: each training
//! job's harness (`harness/<train>/config.json`) reads its data and writes its checkpoints where
//! the Kubernetes Job mounts them, is the image the Job runs, and gets the ranks the Job
//! launches; and every Kubernetes pod lands on a node pool that Terraform creates for its
//! cluster (instance type, capacity, labels, taints).

mod common;

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

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
    assert_eq!(words[3], format!("{folder}/Dockerfile"), "{what}: {build_command}");
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
    if config["data"]["source"] == "files" {
        let path = config["data"]["path"].as_str().unwrap();
        assert!(
            mounts.contains(&path),
            "{what}: the harness reads {path}, the Job mounts {mounts:?}"
        );
    }
    // Checkpoints: the harness's dir is the Job's checkpoint volume and its flag.
    let ckpt = config["checkpoint"]["dir"].as_str().unwrap();
    assert!(mounts.contains(&ckpt), "{what}: {ckpt} is not mounted");
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
                    // GKE taints the nodes of GPU machine types itself.
                    let machine = hcl_string(body, "machine_type").unwrap();
                    if ["a2-", "a3-", "a4-", "g2-"]
                        .iter()
                        .any(|p| machine.starts_with(p))
                    {
                        taints.push(("nvidia.com/gpu".into(), "present".into()));
                    }
                    machine
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
            pools.push(Pool {
                id: format!("{cloud}/{id}"),
                instance_type,
                labels,
                taints,
            });
        }
    }
    pools
}

/// `(nodeSelector, tolerations as (key, operator, value))` of every pod template.
type Placement = (BTreeMap<String, String>, Vec<(String, String, String)>);

fn placements(manifest: &str) -> Vec<Placement> {
    let mut out = Vec::new();
    let lines: Vec<&str> = manifest.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if line.trim() != "nodeSelector:" {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let mut selector = BTreeMap::new();
        let mut tolerations = Vec::new();
        let mut j = i + 1;
        while j < lines.len() && lines[j].len() - lines[j].trim_start().len() > indent {
            let (k, v) = lines[j].trim().split_once(": ").unwrap();
            selector.insert(
                k.trim_matches('"').to_string(),
                v.trim_matches('"').to_string(),
            );
            j += 1;
        }
        // Tolerations follow the selector (and an optional affinity) in the pod spec.
        let Some(start) = (j..lines.len()).find(|&k| lines[k].trim() == "tolerations:") else {
            out.push((selector, tolerations));
            continue;
        };
        let mut k = start + 1;
        while k < lines.len() && lines[k].trim_start().starts_with("- key:")
            || k < lines.len() && lines[k].len() - lines[k].trim_start().len() > indent + 2
        {
            if let Some(key) = lines[k].trim().strip_prefix("- key:") {
                let field = |name: &str| {
                    lines[k + 1..]
                        .iter()
                        .take_while(|l| !l.trim_start().starts_with("- "))
                        .find_map(|l| l.trim().strip_prefix(name))
                        .map(|v| v.trim().trim_matches('"').to_string())
                        .unwrap_or_default()
                };
                tolerations.push((
                    key.trim().trim_matches('"').to_string(),
                    field("operator:"),
                    field("value:"),
                ));
            }
            k += 1;
        }
        out.push((selector, tolerations));
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
        for (selector, tolerations) in placements(&read(&file)) {
            let Some(instance) = selector.get("node.kubernetes.io/instance-type") else {
                continue;
            };
            let candidates: Vec<&Pool> = pools
                .iter()
                .filter(|p| p.id.starts_with(&prefix) && &p.instance_type == instance)
                .collect();
            let fits = |p: &&Pool| {
                selector.iter().all(|(k, v)| p.labels.get(k) == Some(v))
                    && p.taints.iter().all(|(key, value)| {
                        tolerations.iter().any(|(k, op, v)| {
                            k == key && (op == "Exists" || (op == "Equal" && v == value))
                        })
                    })
            };
            assert!(
                candidates.iter().any(fits),
                "{}: no Terraform node pool in {prefix}* takes a pod with nodeSelector {selector:?} and tolerations {tolerations:?}; pools of {instance}: {candidates:#?}",
                file.display()
            );
        }
    }
}

#[test]
fn every_examples_targets_agree_per_training_job() {
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
        check_placements(&out, &pools(&out));
    }
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
