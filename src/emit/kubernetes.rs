//! Target `kubernetes`: one folder per planned cluster (`kubernetes/<cloud>-<region>/`,
//! applied with `kubectl apply -k`) holding the namespace, service accounts and RBAC,
//! network policies, volumes (datasets and trained models as buckets of the cloud's CSI
//! driver where `storage` keeps them, checkpoints on the default class), and one file per
//! workload placed there: training jobs as
//! Indexed Jobs (CronJobs in an off-peak window), batch jobs as Jobs, services as
//! Deployments with a Service, autoscaler and disruption budget, Knative functions as
//! Knative Services. docs/build.md describes the mapping.

mod addons;

use super::names::{self, dns_label, Names};
use super::pools::{self, Pool};
use super::schedule;
use super::storage::{self, Content, Place, Storage, Stored};
use super::templates::render;
use super::{BuildInput, EmitError, Output};
use crate::catalog::Catalog;
use crate::check::model::{AccelCount, Function, Input, ModelSource, Service, Train};
use crate::graph::NodeKind;
use crate::plan::allocatable;
use crate::plan::PlannedWorkload;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Templates of this target: `(name, text)`.
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "k8s/meta",
        include_str!("../../targets/kubernetes/meta.hbs"),
    ),
    ("k8s/pod", include_str!("../../targets/kubernetes/pod.hbs")),
    ("k8s/job", include_str!("../../targets/kubernetes/job.hbs")),
    (
        "k8s/namespace.yaml",
        include_str!("../../targets/kubernetes/namespace.yaml.hbs"),
    ),
    (
        "k8s/rbac.yaml",
        include_str!("../../targets/kubernetes/rbac.yaml.hbs"),
    ),
    (
        "k8s/network.yaml",
        include_str!("../../targets/kubernetes/network.yaml.hbs"),
    ),
    (
        "k8s/volumes.yaml",
        include_str!("../../targets/kubernetes/volumes.yaml.hbs"),
    ),
    (
        "k8s/job.yaml",
        include_str!("../../targets/kubernetes/job.yaml.hbs"),
    ),
    (
        "k8s/service.yaml",
        include_str!("../../targets/kubernetes/service.yaml.hbs"),
    ),
    (
        "k8s/function.yaml",
        include_str!("../../targets/kubernetes/function.yaml.hbs"),
    ),
    (
        "k8s/kustomization.yaml",
        include_str!("../../targets/kubernetes/kustomization.yaml.hbs"),
    ),
    (
        "k8s/cluster-autoscaler.yaml",
        include_str!("../../targets/kubernetes/cluster-autoscaler.yaml.hbs"),
    ),
    (
        "k8s/autoscaler-priorities.yaml",
        include_str!("../../targets/kubernetes/autoscaler-priorities.yaml.hbs"),
    ),
    (
        "k8s/nvidia-device-plugin.yaml",
        include_str!("../../targets/kubernetes/nvidia-device-plugin.yaml.hbs"),
    ),
];

use super::contract::{self, CONFIG_PATH};
pub use super::contract::{harness_image, PLACEHOLDER_REGISTRY};
/// The rank 0 rendezvous port of training jobs.
pub const MASTER_PORT: u64 = 29500;
/// Failed pods a job may have before it fails (preemptions do not count).
const BACKOFF_LIMIT: u64 = 3;
/// Write speed assumed for a checkpoint, to size the SIGTERM grace period.
const CHECKPOINT_BYTES_PER_SECOND: f64 = 200e6;
/// Where Knative functions and services without a known port listen.
const FUNCTION_PORT: u64 = 8080;
/// The Prometheus KEDA asks for a scale-to-zero service's request rate.
pub const PROMETHEUS: &str = "http://prometheus-operated.monitoring.svc:9090";

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
const MIB: f64 = 1024.0 * 1024.0;

pub fn emit(input: &BuildInput, names: &mut Names) -> Result<Vec<Output>, Vec<EmitError>> {
    let clusters = clusters(input);
    let cluster_pools = pools::pools(input.model, input.plan, "kubernetes")?;
    let storage = storage::plan(input.model, input.plan);
    // Each cluster's folder is named first, in cluster order; every other name lives in a
    // scope of its cluster's folder, so clusters can be rendered on every core, each with
    // names of its own, and joined in cluster order.
    let dirs: Vec<String> = clusters
        .keys()
        .map(|(cloud, region)| {
            names.dns_label(
                "cluster",
                &format!("{cloud}.{region}"),
                &format!("{cloud}-{region}"),
            )
        })
        .collect();
    let jobs: Vec<_> = clusters.iter().zip(dirs).collect();
    let rendered: Vec<(Result<Vec<Output>, EmitError>, Names)> = jobs
        .into_par_iter()
        .with_max_len(1)
        .map(|((key, workloads), dir)| {
            let mut cluster_names = Names::new("kubernetes");
            let pools = cluster_pools.get(key).map_or(&[][..], Vec::as_slice);
            let files = emit_cluster(
                input,
                &storage,
                &mut cluster_names,
                key,
                dir,
                workloads,
                pools,
            );
            (files, cluster_names)
        })
        .collect();
    let mut outputs = Vec::new();
    let mut errors = Vec::new();
    let mut name_errors = names.take_errors();
    for (files, mut cluster_names) in rendered {
        match files {
            Ok(mut files) => outputs.append(&mut files),
            Err(e) => errors.push(e),
        }
        name_errors.extend(cluster_names.take_errors());
    }
    errors.extend(name_errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    outputs.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(outputs)
}

type ClusterKey = pools::ClusterKey;

/// The planned workloads that run on Kubernetes, by cluster (sorted: BTreeMap, and the
/// plan lists workloads in a stable order).
fn clusters<'p>(input: &BuildInput<'p>) -> BTreeMap<ClusterKey, Vec<&'p PlannedWorkload>> {
    let mut clusters: BTreeMap<ClusterKey, Vec<&PlannedWorkload>> = BTreeMap::new();
    for w in &input.plan.workloads {
        let on_kubernetes = match w.kind.as_str() {
            "train" | "batch" | "service" => true,
            "function" => find_function(input, &w.name).is_some_and(|f| f.platform == "knative"),
            _ => false,
        };
        if on_kubernetes {
            clusters
                .entry((w.cloud.clone(), w.region_code.clone()))
                .or_default()
                .push(w);
        }
    }
    for list in clusters.values_mut() {
        list.sort_by(|a, b| (&a.kind, &a.name, &a.copy).cmp(&(&b.kind, &b.name, &b.copy)));
    }
    clusters
}

fn find_function<'m>(input: &BuildInput<'m>, name: &str) -> Option<&'m Function> {
    input.model.function(name)
}

// ---------------------------------------------------------------------------------
// Contexts (what the templates see)

#[derive(Serialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Kv {
    key: String,
    value: String,
}

fn kv(key: &str, value: impl Into<String>) -> Kv {
    Kv {
        key: key.to_string(),
        value: value.into(),
    }
}

#[derive(Serialize, Clone)]
struct Meta {
    name: String,
    namespace: String,
    labels: Vec<Kv>,
    annotations: Vec<Kv>,
    has_annotations: bool,
}

#[derive(Serialize)]
struct Container {
    name: String,
    image: String,
    /// Runs the training launcher (in pod.hbs) with `args`.
    runs_launcher: bool,
    args: Vec<String>,
    /// Zero or one port (with probes on it).
    port: Vec<u64>,
    port_name: String,
    has_env: bool,
    env: Vec<Kv>,
    env_fields: Vec<EnvField>,
    requests: Vec<Kv>,
    limits: Vec<Kv>,
}

#[derive(Serialize)]
struct EnvField {
    name: String,
    path: String,
}

#[derive(Serialize)]
struct Toleration {
    key: String,
    operator: String,
    /// Zero or one value (`Exists` has none).
    value: Vec<String>,
}

#[derive(Serialize)]
struct Mount {
    volume: String,
    path: String,
    read_only: bool,
    /// Zero or one folder of the volume to mount instead of its root (an Azure container
    /// holds a dataset under a prefix; S3 and GCS mount the prefix itself).
    sub_path: Vec<String>,
}

#[derive(Serialize)]
struct ClaimVolume {
    volume: String,
    claim: String,
    read_only: bool,
}

#[derive(Serialize)]
struct Scratch {
    volume: String,
    memory: bool,
    size: String,
}

#[derive(Serialize)]
struct Pod {
    labels: Vec<Kv>,
    /// `gke-gcsfuse/volumes` where a pod mounts a Cloud Storage bucket.
    has_annotations: bool,
    annotations: Vec<Kv>,
    service_account: String,
    is_job: bool,
    subdomain: Vec<String>,
    grace_seconds: u64,
    has_node_selector: bool,
    node_selector: Vec<Kv>,
    preferred_nodes: Vec<Kv>,
    has_tolerations: bool,
    tolerations: Vec<Toleration>,
    container: Container,
    mounts: Vec<Mount>,
    claims: Vec<ClaimVolume>,
    scratch: Vec<Scratch>,
}

#[derive(Serialize)]
struct JobSpec {
    completions: u64,
    backoff_limit: u64,
    deadline_seconds: u64,
    fail_exit_codes: Vec<u64>,
    container_name: String,
    pod: Pod,
}

#[derive(Serialize)]
struct Rendezvous {
    meta: Meta,
    instance: String,
    port: u64,
}

#[derive(Serialize)]
struct OnceJob {
    meta: Meta,
    job: JobSpec,
}

#[derive(Serialize)]
struct ScheduledJob {
    meta: Meta,
    schedule: String,
    schedule_note: String,
    time_zone: &'static str,
    job: JobSpec,
}

#[derive(Serialize)]
struct JobFile {
    header: String,
    rendezvous: Vec<Rendezvous>,
    once: Vec<OnceJob>,
    scheduled: Vec<ScheduledJob>,
}

#[derive(Serialize)]
struct MetricTarget {
    resource: String,
    percent: u64,
    value: String,
}

#[derive(Serialize)]
struct Hpa {
    meta: Meta,
    min: u64,
    max: u64,
    targets: Vec<MetricTarget>,
}

#[derive(Serialize)]
struct ScaleToZero {
    meta: Meta,
    max: u64,
    prometheus: String,
    query: String,
    threshold: String,
    cooldown_seconds: u64,
    targets: Vec<MetricTarget>,
}

#[derive(Serialize)]
struct ServiceFile {
    header: String,
    meta: Meta,
    service_meta: Meta,
    instance: String,
    replicas: u64,
    port: u64,
    pod: Pod,
    hpa: Vec<Hpa>,
    scale_to_zero: Vec<ScaleToZero>,
}

#[derive(Serialize)]
struct FunctionFile {
    header: String,
    meta: Meta,
    template_annotations: Vec<Kv>,
    timeout_seconds: u64,
    concurrency: u64,
    pod: Pod,
}

#[derive(Serialize)]
struct Claim {
    meta: Meta,
    access_mode: String,
    size: String,
    /// Zero or one PersistentVolume the claim binds to (a bucket); none for a claim the
    /// cluster's default storage class provisions.
    volume: Vec<String>,
    /// Comment lines above the claim: where its data comes from when someone must put it
    /// there.
    notes: Vec<String>,
}

/// A bucket (Azure: container) as a static PersistentVolume of the cloud's CSI driver.
#[derive(Serialize)]
struct BucketVolume {
    meta: Meta,
    access_mode: String,
    size: String,
    claim_namespace: String,
    claim: String,
    mount_options: Vec<String>,
    driver: String,
    handle: String,
    read_only: bool,
    attributes: Vec<Kv>,
    notes: Vec<String>,
}

#[derive(Serialize)]
struct VolumesFile {
    header: String,
    volumes: Vec<BucketVolume>,
    claims: Vec<Claim>,
}

/// A dataset or trained model that the cluster's workloads mount, and whether one of them
/// writes it.
struct Mounted {
    content: Content,
    stored: Stored,
    write: bool,
}

#[derive(Serialize)]
struct PolicyFor {
    meta: Meta,
    instance: String,
    port: u64,
}

#[derive(Serialize)]
struct NetworkFile {
    header: String,
    deny: PolicyFor,
    dns: PolicyFor,
    peers: Vec<PolicyFor>,
    serving: Vec<PolicyFor>,
    knative: Vec<PolicyFor>,
    data: Vec<PolicyFor>,
}

#[derive(Serialize)]
struct Rule {
    api_groups: Vec<String>,
    resources: Vec<String>,
    verbs: Vec<String>,
}

#[derive(Serialize)]
struct Deployer {
    meta: Meta,
    group: String,
    rules: Vec<Rule>,
}

/// PersistentVolumes are cluster-scoped: the deployers may manage exactly those of this
/// folder, by name (RBAC cannot limit `create` by name).
#[derive(Serialize)]
struct VolumeDeployer {
    meta: Meta,
    group: String,
    volumes: Vec<String>,
}

#[derive(Serialize)]
struct RbacFile {
    header: String,
    service_accounts: Vec<Meta>,
    deployer: Deployer,
    volume_deployer: Vec<VolumeDeployer>,
}

#[derive(Serialize)]
struct NamespaceFile {
    header: String,
    namespace: String,
    labels: Vec<Kv>,
}

#[derive(Serialize, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Image {
    name: String,
    tag: String,
}

#[derive(Serialize)]
struct KustomizationFile {
    header: String,
    resources: Vec<String>,
    has_images: bool,
    images: Vec<Image>,
}

// ---------------------------------------------------------------------------------
// One cluster

/// What one cluster's files collect while its workloads are rendered.
struct Cluster<'a> {
    dir: String,
    namespace: String,
    project: String,
    /// Claimed names are scoped per cluster: two clusters may reuse a name.
    scope: String,
    files: Vec<Output>,
    service_accounts: Vec<Meta>,
    claims: BTreeMap<String, Claim>,
    /// Datasets and models mounted here, by claim name.
    mounted: BTreeMap<String, Mounted>,
    storage: &'a Storage,
    place: Place,
    peers: Vec<PolicyFor>,
    serving: Vec<PolicyFor>,
    knative: Vec<PolicyFor>,
    data: Vec<PolicyFor>,
    images: BTreeSet<Image>,
    /// Kinds present, for the deployer Role: `(api group, resource)`.
    kinds: BTreeSet<(&'static str, &'static str)>,
    input: &'a BuildInput<'a>,
    cloud: String,
    region_code: String,
    /// The cloud's node pools of this cluster (none on-prem).
    pools: &'a [Pool],
}

fn emit_cluster<'a>(
    input: &'a BuildInput<'a>,
    storage: &'a Storage,
    names: &mut Names,
    (cloud, region): &ClusterKey,
    dir: String,
    workloads: &[&PlannedWorkload],
    pools: &[Pool],
) -> Result<Vec<Output>, EmitError> {
    let project = input
        .model
        .project
        .as_ref()
        .map_or("mlc".to_string(), |p| p.name.clone());
    let namespace = names.dns_label(&format!("{dir}/namespace"), &project, &project);
    let place = Place {
        cloud: cloud.clone(),
        region: workloads
            .first()
            .map_or(String::new(), |w| w.region.clone()),
        region_code: region.clone(),
    };
    let mut cluster = Cluster {
        scope: dir.clone(),
        dir,
        namespace,
        project,
        files: Vec::new(),
        service_accounts: Vec::new(),
        claims: BTreeMap::new(),
        mounted: BTreeMap::new(),
        storage,
        place,
        peers: Vec::new(),
        serving: Vec::new(),
        knative: Vec::new(),
        data: Vec::new(),
        images: BTreeSet::new(),
        kinds: BTreeSet::new(),
        input,
        cloud: cloud.clone(),
        region_code: region.clone(),
        pools,
    };
    // Copies of one workload in this cluster (counted once, not per workload).
    let mut copies: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for w in workloads.iter() {
        *copies
            .entry((w.kind.as_str(), w.name.as_str()))
            .or_default() += 1;
    }
    for w in workloads {
        let copies_here = copies[&(w.kind.as_str(), w.name.as_str())];
        let instance_of = |name: &str| storage::instance_name(name, w.copy.as_deref(), copies_here);
        match w.kind.as_str() {
            "train" => {
                if let Some(t) = input.model.train(&w.name) {
                    cluster.train(names, w, t)?;
                }
            }
            "batch" => {
                if let Some(b) = input.model.batch(&w.name) {
                    cluster.batch(names, w, b)?;
                }
            }
            "service" => {
                if let Some(s) = input.model.service(&w.name) {
                    let instance = instance_of(&s.name);
                    cluster.service(names, w, s, &instance)?;
                }
            }
            "function" => {
                if let Some(f) = find_function(input, &w.name) {
                    let instance = instance_of(&f.name);
                    cluster.function(names, w, f, &instance)?;
                }
            }
            _ => {}
        }
    }
    cluster.finish(names)
}

impl Cluster<'_> {
    fn header(&self) -> String {
        self.input.header("#")
    }

    fn path(&self, file: &str) -> String {
        format!("kubernetes/{}/{file}", self.dir)
    }

    /// A name for a Kubernetes object of this cluster, unique among all its objects of
    /// `kind` (`workload`, `pvc`, ...).
    fn name(&self, names: &mut Names, kind: &str, spec_name: &str, name: &str) -> String {
        // A Service's name is an RFC 1035 label: it starts with a letter.
        let rule = if kind == "service" {
            &names::K8S_SERVICE
        } else {
            &names::K8S_LABEL
        };
        names.fit(rule, &format!("{}/{kind}", self.scope), spec_name, name)
    }

    fn labels(&self, name: &str, instance: &str, component: &str) -> Vec<Kv> {
        vec![
            kv("app.kubernetes.io/component", component),
            kv("app.kubernetes.io/instance", instance),
            kv("app.kubernetes.io/managed-by", "mlc"),
            kv("app.kubernetes.io/name", name),
            kv("app.kubernetes.io/part-of", dns_label(&self.project, 63)),
        ]
    }

    fn meta(&self, name: &str, labels: Vec<Kv>, annotations: Vec<Kv>) -> Meta {
        Meta {
            name: name.to_string(),
            namespace: self.namespace.clone(),
            labels,
            has_annotations: !annotations.is_empty(),
            annotations,
        }
    }

    fn service_account(&mut self, name: &str, labels: &[Kv]) {
        let meta = self.meta(name, labels.to_vec(), Vec::new());
        self.service_accounts.push(meta);
        self.kinds.insert(("", "serviceaccounts"));
    }

    /// The egress a workload's data edges need, named after the edges it came from.
    fn data_policy(
        &mut self,
        names: &mut Names,
        kind: NodeKind,
        spec_name: &str,
        instance: &str,
        labels: &[Kv],
        extra_edges: &[String],
    ) {
        let mut edges: Vec<String> = self
            .input
            .graph
            .data_flows_of(kind, spec_name)
            .into_iter()
            .map(|(a, b, _)| {
                format!(
                    "{}.{} -> {}.{}",
                    a.kind.keyword(),
                    a.name,
                    b.kind.keyword(),
                    b.name
                )
            })
            .collect();
        edges.extend(extra_edges.iter().cloned());
        edges.sort();
        edges.dedup();
        if edges.is_empty() {
            return;
        }
        let name = self.name(
            names,
            "networkpolicy",
            spec_name,
            &dns_label(&format!("{instance}-data"), 63),
        );
        let meta = self.meta(
            &name,
            labels.to_vec(),
            vec![kv("mlc.dev/data-edges", edges.join(", "))],
        );
        self.data.push(PolicyFor {
            meta,
            instance: instance.to_string(),
            port: 443,
        });
    }

    /// The claim of a dataset or trained model that a workload reads or writes, shared by
    /// every workload of the cluster that uses it, and the workload's mount of it (read-only
    /// unless it writes). Mounts the copy the storage plan keeps in this cluster's region.
    fn content_claim(
        &mut self,
        names: &mut Names,
        content: Content,
        writes: bool,
    ) -> Option<(ClaimVolume, Mount)> {
        let stored = self.storage.at(&content, &self.place)?.clone();
        let claim = self.name(names, "pvc", &content.label(), &content.claim());
        // Azure mounts the container: the prefix is a folder in it.
        let sub_path = match (&stored.bucket, self.place.cloud.as_str()) {
            (Some(_), "azure") if !stored.prefix.is_empty() => {
                vec![stored.folder().trim_end_matches('/').to_string()]
            }
            _ => Vec::new(),
        };
        let mounted = self.mounted.entry(claim.clone()).or_insert(Mounted {
            content: content.clone(),
            stored,
            write: false,
        });
        mounted.write |= writes;
        self.kinds.insert(("", "persistentvolumeclaims"));
        Some((
            ClaimVolume {
                volume: claim.clone(),
                claim: claim.clone(),
                read_only: !writes,
            },
            Mount {
                volume: claim,
                path: content.mount_path(),
                read_only: !writes,
                sub_path,
            },
        ))
    }

    /// The claim (and, for a bucket, the PersistentVolume it binds to) of a mounted dataset
    /// or model.
    fn mounted_volume(
        &self,
        names: &mut Names,
        claim: &str,
        m: &Mounted,
    ) -> (Claim, Option<BucketVolume>) {
        let labels = match &m.content {
            Content::Dataset(d) => self.labels(&dns_label(d, 63), claim, "dataset"),
            Content::Model(t) => self.labels(&dns_label(t, 63), claim, "model"),
        };
        let mut annotations = match &m.content {
            Content::Dataset(d) => vec![kv("mlc.dev/dataset", d)],
            Content::Model(t) => vec![kv("mlc.dev/model", format!("train.{t}"))],
        };
        let dataset_path = match &m.content {
            Content::Dataset(d) => self
                .input
                .model
                .datasets
                .iter()
                .find(|x| &x.name == d)
                .and_then(|x| x.path.clone()),
            Content::Model(_) => None,
        };
        // Where the data is: the bucket, else (on a site) the dataset's path or the site.
        let source = match (&m.stored.bucket, dataset_path) {
            (None, Some(path)) => path,
            _ => m.stored.uri(),
        };
        annotations.push(kv("mlc.dev/source", source));
        let mut notes = Vec::new();
        if let Some(home) = &m.stored.copy_of {
            annotations.push(kv("mlc.dev/copy-of", &home.uri));
            notes.push(super::comment_safe(&if home.replicated {
                format!(
                    "A copy of {} ({}) in this region, kept up to date by the bucket replication of terraform/{}.",
                    m.content.label(),
                    home.uri,
                    home.place.cloud
                )
            } else {
                format!(
                    "A copy of {} ({}) that you fill: mlc cannot replicate it across clouds or from a site (docs/build.md, \"Data in other regions\").",
                    m.content.label(),
                    home.uri
                )
            }));
        }
        annotations.sort();
        let access_mode = if m.write {
            "ReadWriteMany"
        } else {
            "ReadOnlyMany"
        }
        .to_string();
        let size = gib(m.stored.size_bytes);
        let Some(bucket) = &m.stored.bucket else {
            let claim_ctx = Claim {
                meta: self.meta(claim, labels, annotations),
                access_mode,
                size,
                volume: Vec::new(),
                notes,
            };
            return (claim_ctx, None);
        };
        let pv = self.name(
            names,
            "persistentvolume",
            &format!("{}/{}", self.namespace, m.content.label()),
            &dns_label(&format!("{}-{claim}", self.namespace), 63),
        );
        let (driver, handle, mount_options, attributes) = self.csi(bucket, &m.stored, m.write, &pv);
        let volume = BucketVolume {
            meta: Meta {
                name: pv.clone(),
                namespace: String::new(),
                labels: labels.clone(),
                has_annotations: true,
                annotations: annotations.clone(),
            },
            access_mode: access_mode.clone(),
            size: size.clone(),
            claim_namespace: self.namespace.clone(),
            claim: claim.to_string(),
            mount_options,
            driver: driver.to_string(),
            handle,
            read_only: !m.write,
            attributes,
            notes: notes.clone(),
        };
        let claim_ctx = Claim {
            meta: self.meta(claim, labels, annotations),
            access_mode,
            size,
            volume: vec![pv],
            notes: Vec::new(),
        };
        (claim_ctx, Some(volume))
    }

    /// The CSI driver, volume handle, mount options and attributes of a bucket volume on
    /// this cluster's cloud. Pods run as 10001: the files are theirs. Buckets are read-only
    /// unless a workload of the cluster writes them.
    fn csi(
        &self,
        bucket: &str,
        stored: &Stored,
        write: bool,
        pv: &str,
    ) -> (&'static str, String, Vec<String>, Vec<Kv>) {
        let folder = stored.folder();
        match self.place.cloud.as_str() {
            // Mountpoint for Amazon S3; the driver's IAM role (terraform/aws/data.tf) holds
            // the cluster's grants. Nodes keep pods out of IMDS, so the region is given.
            "aws" => {
                let mut options = vec![
                    format!("region {}", stored.place.region_code),
                    "allow-other".to_string(),
                    "uid=10001".to_string(),
                    "gid=10001".to_string(),
                ];
                if !folder.is_empty() {
                    options.push(format!("prefix {folder}"));
                }
                if write {
                    // Reruns replace the model and the outputs they wrote before.
                    options.push("allow-delete".to_string());
                    options.push("allow-overwrite".to_string());
                } else {
                    options.push("read-only".to_string());
                }
                (
                    "s3.csi.aws.com",
                    pv.to_string(),
                    options,
                    vec![kv("bucketName", bucket)],
                )
            }
            // Cloud Storage FUSE, as the pod's Kubernetes service account (workload identity
            // federation; terraform/gcp/data.tf grants it the bucket).
            "gcp" => {
                let mut options = vec![
                    "implicit-dirs".to_string(),
                    "uid=10001".to_string(),
                    "gid=10001".to_string(),
                ];
                if !folder.is_empty() {
                    options.push(format!("only-dir={}", folder.trim_end_matches('/')));
                }
                (
                    "gcsfuse.csi.storage.gke.io",
                    bucket.to_string(),
                    options,
                    Vec::new(),
                )
            }
            // Azure Blob (BlobFuse2) with a workload identity token of the cluster's data
            // identity (terraform/azure/data.tf); its client ID comes from Terraform's output.
            _ => {
                let prefix = storage::project_label(self.input.model);
                let account = storage::azure_storage_account(&prefix, &self.place.region_code);
                let attributes = vec![
                    kv("clientID", azure_client_id_placeholder(&self.place)),
                    kv("containerName", bucket),
                    kv("mountWithWorkloadIdentityToken", "true"),
                    kv("protocol", "fuse2"),
                    kv(
                        "resourceGroup",
                        storage::azure_resource_group(&prefix, &self.place.region_code),
                    ),
                    kv("storageAccount", &account),
                ];
                let options = vec![
                    "-o allow_other".to_string(),
                    "-o uid=10001".to_string(),
                    "-o gid=10001".to_string(),
                ];
                (
                    "blob.csi.azure.com",
                    format!("{account}_{bucket}_{pv}"),
                    options,
                    attributes,
                )
            }
        }
    }

    // ----- training jobs

    fn train(
        &mut self,
        names: &mut Names,
        w: &PlannedWorkload,
        t: &Train,
    ) -> Result<(), EmitError> {
        // CronJob-made Job names add 11 characters and pod names `-<index>`: keep
        // hostnames within 63.
        let name = self.name(
            names,
            "workload",
            &format!("train.{}", t.name),
            &dns_label(&t.name, 45),
        );
        let labels = self.labels(&name, &name, "training");
        self.service_account(&name, &labels);
        let (image, tag) = harness_image(t);
        self.images.insert(Image {
            name: image.clone(),
            tag: tag.clone(),
        });

        let ckpt_bytes = checkpoint_bytes(t);
        // Checkpoints go to the job's model folder (`contract::checkpoint_dir`): the
        // bucket-backed claim below, which binds to its PersistentVolume.
        let mut mounts = Vec::new();
        let mut claims = Vec::new();
        let reads = t.data.iter().map(|d| (Content::Dataset(d.clone()), false));
        // The harness writes the trained model to its `output.dir`, the job's model folder.
        let writes = std::iter::once((Content::Model(t.name.clone()), true));
        for (content, write) in reads.chain(writes) {
            if let Some((claim, mount)) = self.content_claim(names, content, write) {
                claims.push(claim);
                mounts.push(mount);
            }
        }
        mounts.push(scratch_mount("tmp", "/tmp"));
        mounts.push(scratch_mount("dshm", "/dev/shm"));

        let ranks = contract::ranks(t)?;
        let service = self.name(names, "service", &format!("train.{}", t.name), &name);
        let mut env = vec![
            kv(
                "MASTER_ADDR",
                format!("$(JOB_NAME)-0.{service}.{}.svc", self.namespace),
            ),
            kv("MASTER_PORT", MASTER_PORT.to_string()),
            kv("WORLD_SIZE", ranks.world_size.to_string()),
            kv("PROCESSES_PER_POD", ranks.per_node.to_string()),
            kv("NCCL_DEBUG", "WARN"),
            kv("NCCL_SOCKET_IFNAME", "eth0"),
        ];
        env.sort();
        let env_fields = vec![EnvField {
            name: "JOB_NAME".into(),
            path: "metadata.labels['batch.kubernetes.io/job-name']".into(),
        }];
        let (requests, limits) = self.node_resources(w, Some(&t.accelerator), None, None);
        let accelerator = Some(&t.accelerator);
        let grace = grace_seconds(ckpt_bytes);
        let container = Container {
            name: "train".into(),
            image: format!("{image}:{tag}"),
            runs_launcher: true,
            args: vec![
                "--config".into(),
                CONFIG_PATH.into(),
                "--checkpoint-dir".into(),
                contract::checkpoint_dir(&t.name),
                "--resume".into(),
            ],
            port: vec![],
            port_name: String::new(),
            has_env: true,
            env,
            env_fields,
            requests,
            limits,
        };
        let shm = (t.accelerator.count.max(1) as f64) * 2.0 * GIB;
        let scratch = vec![
            Scratch {
                volume: "dshm".into(),
                memory: true,
                size: gib(shm),
            },
            Scratch {
                volume: "tmp".into(),
                memory: false,
                size: "1Gi".into(),
            },
        ];
        let pod = self.pod(PodParts {
            w,
            labels: labels.clone(),
            service_account: name.clone(),
            is_job: true,
            subdomain: Some(service.clone()),
            grace,
            accelerator: accelerator.map(|a| self.accelerator_resource(a)),
            spot_fallback: t.capacity.fallback.is_some(),
            container,
            mounts,
            claims,
            scratch,
        });
        let job = JobSpec {
            completions: ranks.nodes,
            backoff_limit: BACKOFF_LIMIT,
            deadline_seconds: t.max_runtime_seconds.to_f64().ceil() as u64,
            fail_exit_codes: vec![2],
            container_name: "train".into(),
            pod,
        };
        let mut job_labels = labels.clone();
        job_labels.push(kv("kueue.x-k8s.io/queue-name", "training"));
        job_labels.sort();
        let meta = self.meta(&name, job_labels, self.image_skips(true));
        let rendezvous = Rendezvous {
            meta: self.meta(&service, labels.clone(), Vec::new()),
            instance: name.clone(),
            port: MASTER_PORT,
        };
        self.kinds.insert(("", "services"));
        self.peers.push(PolicyFor {
            meta: self.meta(
                &self.name(
                    names,
                    "networkpolicy",
                    &format!("train.{}", t.name),
                    &dns_label(&format!("{name}-peers"), 63),
                ),
                labels.clone(),
                Vec::new(),
            ),
            instance: name.clone(),
            port: MASTER_PORT,
        });
        // The trained model goes to object storage too: an edge the graph does not draw.
        let model_edge = format!("train.{} -> {}", t.name, contract::model_dir(&t.name));
        self.data_policy(
            names,
            NodeKind::Train,
            &t.name,
            &name,
            &labels,
            &[model_edge],
        );
        let file = self.job_file(meta, job, ("train", &t.name), vec![rendezvous])?;
        self.files.push(Output {
            path: self.path(&format!("train-{name}.yaml")),
            contents: file,
        });
        Ok(())
    }

    fn job_file(
        &mut self,
        meta: Meta,
        job: JobSpec,
        of: schedule::JobRef,
        rendezvous: Vec<Rendezvous>,
    ) -> Result<String, EmitError> {
        let mut file = JobFile {
            header: self.header(),
            rendezvous,
            once: Vec::new(),
            scheduled: Vec::new(),
        };
        let when = schedule::of(self.input.model, of).map_err(|why| EmitError::Unsupported {
            target: "kubernetes",
            subject: format!("{}.{}", of.0, of.1),
            why,
        })?;
        match when {
            Some(when) => {
                file.scheduled.push(ScheduledJob {
                    meta,
                    schedule: when.cron,
                    schedule_note: when.note,
                    time_zone: schedule::TIME_ZONE,
                    job,
                });
                self.kinds.insert(("batch", "cronjobs"));
            }
            None => {
                file.once.push(OnceJob { meta, job });
                self.kinds.insert(("batch", "jobs"));
            }
        }
        render("k8s/job.yaml", &file)
    }

    // ----- batch jobs

    fn batch(
        &mut self,
        names: &mut Names,
        w: &PlannedWorkload,
        b: &crate::check::model::Batch,
    ) -> Result<(), EmitError> {
        let name = self.name(
            names,
            "workload",
            &format!("batch.{}", b.name),
            &dns_label(&b.name, 45),
        );
        let labels = self.labels(&name, &name, "batch");
        self.service_account(&name, &labels);
        let (image, generated) = match &b.image {
            Some(image) => (image.clone(), false),
            None => {
                let placeholder = Image {
                    name: format!("{PLACEHOLDER_REGISTRY}/mlc-batch-{name}"),
                    tag: env!("CARGO_PKG_VERSION").to_string(),
                };
                let image = format!("{}:{}", placeholder.name, placeholder.tag);
                self.images.insert(placeholder);
                (image, true)
            }
        };
        let mut mounts = Vec::new();
        let mut claims = Vec::new();
        let mut env = vec![kv("MLC_NODES", b.nodes.to_string())];
        let mut reads = Vec::new();
        for input in &b.inputs {
            let content = match input {
                Input::Dataset(d) => Content::Dataset(d.clone()),
                Input::Train(t) => Content::Model(t.clone()),
            };
            if let Some((claim, mount)) = self.content_claim(names, content, false) {
                reads.push(mount.path.clone());
                claims.push(claim);
                mounts.push(mount);
            }
        }
        env.push(kv("MLC_INPUTS", reads.join(",")));
        if let Some(out) = &b.output {
            if let Some((claim, mount)) =
                self.content_claim(names, Content::Dataset(out.clone()), true)
            {
                env.push(kv("MLC_OUTPUT", &mount.path));
                claims.push(claim);
                mounts.push(mount);
            }
        }
        env.sort();
        mounts.push(scratch_mount("tmp", "/tmp"));
        let accelerator = b.accelerator.as_ref();
        let (requests, limits) = self.node_resources(
            w,
            accelerator,
            b.cpu.map(|c| c.to_f64()),
            b.memory_bytes.map(|m| m.to_f64()),
        );
        let container = Container {
            name: "batch".into(),
            image,
            runs_launcher: false,
            args: vec![],
            port: vec![],
            port_name: String::new(),
            has_env: true,
            env,
            env_fields: vec![],
            requests,
            limits,
        };
        let pod = self.pod(PodParts {
            w,
            labels: labels.clone(),
            service_account: name.clone(),
            is_job: true,
            subdomain: None,
            grace: 60,
            accelerator: accelerator.map(|a| self.accelerator_resource(a)),
            spot_fallback: b.capacity.fallback.is_some(),
            container,
            mounts,
            claims,
            scratch: vec![Scratch {
                volume: "tmp".into(),
                memory: false,
                size: "1Gi".into(),
            }],
        });
        let job = JobSpec {
            completions: b.nodes,
            backoff_limit: BACKOFF_LIMIT,
            deadline_seconds: b.max_runtime_seconds.to_f64().ceil() as u64,
            fail_exit_codes: vec![],
            container_name: "batch".into(),
            pod,
        };
        let mut job_labels = labels.clone();
        job_labels.push(kv("kueue.x-k8s.io/queue-name", "batch"));
        job_labels.sort();
        let meta = self.meta(&name, job_labels, self.image_skips(generated));
        self.data_policy(names, NodeKind::Batch, &b.name, &name, &labels, &[]);
        let file = self.job_file(meta, job, ("batch", &b.name), Vec::new())?;
        self.files.push(Output {
            path: self.path(&format!("batch-{name}.yaml")),
            contents: file,
        });
        Ok(())
    }

    // ----- services

    fn service(
        &mut self,
        names: &mut Names,
        w: &PlannedWorkload,
        s: &Service,
        instance: &str,
    ) -> Result<(), EmitError> {
        let spec_name = format!("service.{instance}");
        let name = self.name(names, "workload", &spec_name, instance);
        let service_name = self.name(names, "service", &spec_name, &name);
        let labels = self.labels(&dns_label(&s.name, 63), &name, "inference");
        self.service_account(&name, &labels);
        let (image, generated) = match &s.model {
            ModelSource::Image(image) => (image.clone(), false),
            ModelSource::Train(_) => {
                let placeholder = Image {
                    name: format!(
                        "{PLACEHOLDER_REGISTRY}/mlc-serve-{}",
                        dns_label(&s.name, 50)
                    ),
                    tag: env!("CARGO_PKG_VERSION").to_string(),
                };
                let image = format!("{}:{}", placeholder.name, placeholder.tag);
                self.images.insert(placeholder);
                (image, true)
            }
        };
        let mut env = vec![kv("PORT", s.port.to_string())];
        let mut mounts = vec![scratch_mount("tmp", "/tmp")];
        let mut claims = Vec::new();
        if let ModelSource::Train(train) = &s.model {
            env.push(kv("MLC_MODEL", format!("train.{train}")));
            self.trained_model(names, train, &mut env, &mut claims, &mut mounts);
        }
        env.sort();
        let (requests, limits) = service_resources(s, self.accelerator_for(s.accelerator.as_ref()));
        let container = Container {
            name: "serve".into(),
            image,
            runs_launcher: false,
            args: vec![],
            port: vec![s.port],
            port_name: "http".into(),
            has_env: true,
            env,
            env_fields: vec![],
            requests,
            limits,
        };
        let pod = self.pod(PodParts {
            w,
            labels: labels.clone(),
            service_account: name.clone(),
            is_job: false,
            subdomain: None,
            grace: 30,
            accelerator: s.accelerator.as_ref().map(|a| self.accelerator_resource(a)),
            spot_fallback: s.capacity.fallback.is_some(),
            container,
            mounts,
            claims,
            scratch: vec![Scratch {
                volume: "tmp".into(),
                memory: false,
                size: "1Gi".into(),
            }],
        });
        let mut targets = Vec::new();
        if let Some(p) = s.autoscale_cpu_percent {
            targets.push(metric("cpu", p.to_f64()));
        }
        if let Some(p) = s.autoscale_memory_percent {
            targets.push(metric("memory", p.to_f64()));
        }
        let mut hpa = Vec::new();
        let mut scale_to_zero = Vec::new();
        if s.replicas_min == 0 && s.replicas_max > 0 {
            if targets.is_empty() {
                targets.push(metric("cpu", 80.0));
            }
            let query = format!(
                "sum(rate(http_requests_total{{namespace=\"{}\",service=\"{}\"}}[{}m]))",
                self.namespace,
                service_name,
                crate::plan::cost::KEDA_RATE_WINDOW_MINUTES
            );
            scale_to_zero.push(ScaleToZero {
                meta: self.meta(&name, labels.clone(), Vec::new()),
                max: s.replicas_max,
                prometheus: PROMETHEUS.into(),
                query,
                threshold: requests_threshold(s).to_string(),
                cooldown_seconds: crate::plan::cost::KEDA_COOLDOWN_SECONDS,
                targets,
            });
            self.kinds.insert(("keda.sh", "scaledobjects"));
        } else if s.replicas_max > s.replicas_min {
            if targets.is_empty() {
                targets.push(metric("cpu", 80.0));
            }
            hpa.push(Hpa {
                meta: self.meta(&name, labels.clone(), Vec::new()),
                min: s.replicas_min,
                max: s.replicas_max,
                targets,
            });
            self.kinds
                .insert(("autoscaling", "horizontalpodautoscalers"));
        }
        self.kinds.insert(("apps", "deployments"));
        self.kinds.insert(("", "services"));
        self.kinds.insert(("policy", "poddisruptionbudgets"));
        let mut annotations = self.image_skips(generated);
        if let ModelSource::Train(train) = &s.model {
            annotations.push(kv("mlc.dev/model", format!("train.{train}")));
        }
        let file = ServiceFile {
            header: self.header(),
            meta: self.meta(&name, labels.clone(), annotations),
            service_meta: self.meta(&service_name, labels.clone(), Vec::new()),
            instance: name.clone(),
            replicas: w.nodes.max(0.0).round() as u64,
            port: s.port,
            pod,
            hpa,
            scale_to_zero,
        };
        let serving_policy = self.name(
            names,
            "networkpolicy",
            &spec_name,
            &dns_label(&format!("{name}-ingress"), 63),
        );
        self.serving.push(PolicyFor {
            meta: self.meta(&serving_policy, labels.clone(), Vec::new()),
            instance: name.clone(),
            port: s.port,
        });
        self.data_policy(names, NodeKind::Service, &s.name, &name, &labels, &[]);
        self.files.push(Output {
            path: self.path(&format!("service-{name}.yaml")),
            contents: render("k8s/service.yaml", &file)?,
        });
        Ok(())
    }

    // ----- Knative functions

    fn function(
        &mut self,
        names: &mut Names,
        w: &PlannedWorkload,
        f: &Function,
        instance: &str,
    ) -> Result<(), EmitError> {
        let spec_name = format!("function.{instance}");
        let name = self.name(names, "workload", &spec_name, instance);
        let labels = self.labels(&dns_label(&f.name, 63), &name, "function");
        self.service_account(&name, &labels);
        let placeholder = Image {
            name: format!(
                "{PLACEHOLDER_REGISTRY}/mlc-function-{}",
                dns_label(&f.name, 50)
            ),
            tag: env!("CARGO_PKG_VERSION").to_string(),
        };
        let image = format!("{}:{}", placeholder.name, placeholder.tag);
        self.images.insert(placeholder);
        let mut env = vec![kv("MLC_RUNTIME", &f.runtime)];
        let mut mounts = vec![scratch_mount("tmp", "/tmp")];
        let mut claims = Vec::new();
        match &f.model {
            Some(ModelSource::Train(t)) => {
                env.push(kv("MLC_MODEL", format!("train.{t}")));
                self.trained_model(names, t, &mut env, &mut claims, &mut mounts);
            }
            Some(ModelSource::Image(artifact)) => env.push(kv("MLC_MODEL", artifact)),
            None => {}
        }
        if let Some(batching) = &f.batching {
            env.push(kv("MLC_BATCH_SIZE", batching.max_size.to_string()));
            env.push(kv(
                "MLC_BATCH_MAX_WAIT_MS",
                ((batching.max_wait_seconds.to_f64() * 1000.0).ceil() as u64).to_string(),
            ));
        }
        env.sort();
        let memory = f.memory_bytes.to_f64();
        // Lambda's ratio: a full vCPU per 1769 MB; at least a quarter core.
        let millicores = ((memory / 1_769e6) * 1000.0).ceil().max(250.0) as u64;
        let mut resources = vec![kv("cpu", cpu(millicores)), kv("memory", mebibytes(memory))];
        let accelerator = f.accelerator.as_ref().map(|a| self.accelerator_resource(a));
        if let Some((resource, count)) = &accelerator {
            resources.push(kv(resource, count.to_string()));
        }
        resources.sort();
        let container = Container {
            name: "function".into(),
            image,
            runs_launcher: false,
            args: vec![],
            port: vec![FUNCTION_PORT],
            port_name: "http1".into(),
            has_env: true,
            env,
            env_fields: vec![],
            requests: resources.clone(),
            limits: resources,
        };
        let pod = self.pod(PodParts {
            w,
            labels: labels.clone(),
            service_account: name.clone(),
            is_job: false,
            subdomain: None,
            grace: 30,
            accelerator,
            spot_fallback: false,
            container,
            mounts,
            claims,
            scratch: vec![Scratch {
                volume: "tmp".into(),
                memory: false,
                size: "1Gi".into(),
            }],
        });
        let mut template_annotations = vec![kv(
            "autoscaling.knative.dev/min-scale",
            f.min_instances.to_string(),
        )];
        template_annotations.extend(pod.annotations.iter().cloned());
        template_annotations.sort();
        let file = FunctionFile {
            header: self.header(),
            meta: self.meta(&name, labels.clone(), self.image_skips(true)),
            template_annotations,
            timeout_seconds: f.timeout_seconds.to_f64().ceil() as u64,
            concurrency: f.batching.as_ref().map_or(1, |b| b.max_size),
            pod,
        };
        self.kinds.insert(("serving.knative.dev", "services"));
        let policy = self.name(
            names,
            "networkpolicy",
            &spec_name,
            &dns_label(&format!("{name}-knative"), 63),
        );
        self.knative.push(PolicyFor {
            meta: self.meta(&policy, labels.clone(), Vec::new()),
            instance: name.clone(),
            port: FUNCTION_PORT,
        });
        self.data_policy(names, NodeKind::Function, &f.name, &name, &labels, &[]);
        self.files.push(Output {
            path: self.path(&format!("function-{name}.yaml")),
            contents: render("k8s/function.yaml", &file)?,
        });
        Ok(())
    }

    // ----- shared pieces

    /// A service's or function's trained model: its folder, mounted read-only where the
    /// training job wrote it (or a copy in this region), and `MODEL_URI`, the weights file.
    fn trained_model(
        &mut self,
        names: &mut Names,
        train: &str,
        env: &mut Vec<Kv>,
        claims: &mut Vec<ClaimVolume>,
        mounts: &mut Vec<Mount>,
    ) {
        if let Some((claim, mount)) =
            self.content_claim(names, Content::Model(train.to_string()), false)
        {
            env.push(kv("MODEL_URI", contract::model_weights(train)));
            claims.push(claim);
            mounts.push(mount);
        }
    }

    /// `(resource name, count)` of an accelerator: `nvidia.com/gpu` and the like.
    fn accelerator_resource(&self, a: &AccelCount) -> (String, u64) {
        let resource = pools::accelerator_resource(self.input.model, &a.name);
        (resource.to_string(), a.count)
    }

    fn accelerator_for(&self, a: Option<&AccelCount>) -> Option<(String, u64)> {
        a.map(|a| self.accelerator_resource(a))
    }

    /// Requests and limits of a job's pod, which has a node to itself: what the job
    /// asks for, else what a pod may request of the planned instance
    /// (`plan::allocatable::whole_node`: the rest is the node's own), else 4 CPUs and
    /// 16 GiB per accelerator.
    fn node_resources(
        &self,
        w: &PlannedWorkload,
        accelerator: Option<&AccelCount>,
        cpus: Option<f64>,
        memory: Option<f64>,
    ) -> (Vec<Kv>, Vec<Kv>) {
        let room = self
            .instance_size(w)
            .map(|(c, m)| allocatable::whole_node(&w.cloud, c, m / GIB));
        let per_accel = accelerator.map_or(1, |a| a.count.max(1)) as f64;
        let cpus = cpus.or(room.map(|r| r.vcpus)).unwrap_or(4.0 * per_accel);
        // Whole MiB of the room, rounded down: `mebibytes` rounds a spec's ask up.
        let memory = memory
            .or(room.map(|r| (r.memory_gib * GIB / MIB).floor() * MIB))
            .unwrap_or(16.0 * GIB * per_accel);
        let mut resources = vec![
            kv("cpu", cpu((cpus * 1000.0).floor().max(100.0) as u64)),
            kv("memory", mebibytes(memory)),
        ];
        if let Some(a) = accelerator {
            let (resource, count) = self.accelerator_resource(a);
            resources.push(kv(&resource, count.to_string()));
        }
        resources.sort();
        (resources.clone(), resources)
    }

    /// vCPUs and memory bytes of the planned instance: the catalog's row, or an on-prem
    /// site's share per node (its CPUs and memory over its GPUs).
    fn instance_size(&self, w: &PlannedWorkload) -> Option<(f64, f64)> {
        if w.cloud == "onprem" {
            let site = self
                .input
                .model
                .onprem
                .iter()
                .find(|s| s.name == w.region)?;
            // A node's share of the site: its GPUs' share of the site's; a CPU-only
            // workload gets one GPU's share.
            let gpus = pools::workload_accelerator(self.input.model, w).map_or(1, |a| a.count);
            let share = gpus.min(site.gpus.count.max(1)) as f64 / site.gpus.count.max(1) as f64;
            let cpus = site.cpus? as f64 * share;
            let memory = site.memory_bytes?.to_f64() * share;
            return Some((cpus, memory));
        }
        let catalog = Catalog::embedded().ok()?;
        let row = *catalog
            .find(&w.cloud, &w.region_code, &w.instance_type)
            .first()?;
        Some((row.vcpus?.to_f64(), row.memory_gib?.to_f64() * GIB))
    }

    fn pod(&self, parts: PodParts) -> Pod {
        let w = parts.w;
        let mut node_selector = Vec::new();
        let mut preferred_nodes = Vec::new();
        let mut tolerations = Vec::new();
        if w.cloud == "onprem" {
            node_selector.push(kv("mlc.dev/site", dns_label(&w.region, 63)));
        } else if !w.instance_type.is_empty() {
            // `emit` has checked that every planned type has a node type.
            let node_type = pools::node_instance_type(&w.cloud, &w.instance_type)
                .unwrap_or_else(|_| w.instance_type.clone());
            node_selector.push(kv("node.kubernetes.io/instance-type", node_type));
        }
        if w.capacity == "spot" {
            if let Some((key, value)) = pools::spot_label(&w.cloud) {
                if parts.spot_fallback {
                    preferred_nodes.push(kv(key, value));
                } else {
                    node_selector.push(kv(key, value));
                }
            }
            if let Some((key, value)) = pools::spot_taint(&w.cloud) {
                tolerations.push(Toleration {
                    key: key.to_string(),
                    operator: "Equal".into(),
                    value: vec![value.to_string()],
                });
            }
        }
        if let Some((resource, _)) = &parts.accelerator {
            tolerations.push(Toleration {
                key: resource.clone(),
                operator: "Exists".into(),
                value: vec![],
            });
        }
        node_selector.sort();
        tolerations.sort_by(|a, b| a.key.cmp(&b.key));
        let mut mounts = parts.mounts;
        mounts.sort_by(|a, b| a.path.cmp(&b.path));
        let mut claims = parts.claims;
        claims.sort_by(|a, b| a.volume.cmp(&b.volume));
        // GKE injects the Cloud Storage FUSE sidecar into pods that ask for it.
        let mounts_bucket = claims.iter().any(|c| {
            self.mounted
                .get(&c.claim)
                .is_some_and(|m| m.stored.bucket.is_some())
        });
        let annotations = if w.cloud == "gcp" && mounts_bucket {
            vec![kv("gke-gcsfuse/volumes", "true")]
        } else {
            Vec::new()
        };
        let mut scratch = parts.scratch;
        scratch.sort_by(|a, b| a.volume.cmp(&b.volume));
        Pod {
            labels: parts.labels,
            has_annotations: !annotations.is_empty(),
            annotations,
            service_account: parts.service_account,
            is_job: parts.is_job,
            subdomain: parts.subdomain.into_iter().collect(),
            grace_seconds: parts.grace,
            has_node_selector: !node_selector.is_empty(),
            node_selector,
            preferred_nodes,
            has_tolerations: !tolerations.is_empty(),
            tolerations,
            container: parts.container,
            mounts,
            claims,
            scratch,
        }
    }

    /// checkov's image digest check (CKV_K8S_43) cannot pass for an image that does not
    /// exist yet or that the spec names by tag; the skip says which.
    fn image_skips(&self, generated: bool) -> Vec<Kv> {
        let reason = if generated {
            "the image is built after mlc build from the generated project; pin its digest with kustomize images"
        } else {
            "the spec names this image by tag; write image@sha256:digest in the spec to pin it"
        };
        vec![kv("checkov.io/skip1", format!("CKV_K8S_43={reason}"))]
    }

    fn finish(mut self, names: &mut Names) -> Result<Vec<Output>, EmitError> {
        let header = self.header();
        let ns_labels = vec![
            kv("app.kubernetes.io/managed-by", "mlc"),
            kv("app.kubernetes.io/part-of", dns_label(&self.project, 63)),
            kv("pod-security.kubernetes.io/enforce", "restricted"),
        ];
        let namespace = NamespaceFile {
            header: header.clone(),
            namespace: self.namespace.clone(),
            labels: ns_labels,
        };
        self.files.push(Output {
            path: self.path("namespace.yaml"),
            contents: render("k8s/namespace.yaml", &namespace)?,
        });

        let base_labels = vec![
            kv("app.kubernetes.io/managed-by", "mlc"),
            kv("app.kubernetes.io/part-of", dns_label(&self.project, 63)),
        ];
        let deny = self.name(names, "networkpolicy", "default-deny", "default-deny");
        let dns = self.name(names, "networkpolicy", "allow-dns", "allow-dns");
        let network = NetworkFile {
            header: header.clone(),
            deny: PolicyFor {
                meta: self.meta(&deny, base_labels.clone(), Vec::new()),
                instance: String::new(),
                port: 0,
            },
            dns: PolicyFor {
                meta: self.meta(&dns, base_labels.clone(), Vec::new()),
                instance: String::new(),
                port: 53,
            },
            peers: std::mem::take(&mut self.peers),
            serving: std::mem::take(&mut self.serving),
            knative: std::mem::take(&mut self.knative),
            data: std::mem::take(&mut self.data),
        };
        self.kinds.insert(("networking.k8s.io", "networkpolicies"));
        self.files.push(Output {
            path: self.path("network.yaml"),
            contents: render("k8s/network.yaml", &network)?,
        });

        let mut bucket_volumes = Vec::new();
        for (claim, m) in std::mem::take(&mut self.mounted) {
            let (claim_ctx, volume) = self.mounted_volume(names, &claim, &m);
            self.claims.insert(claim, claim_ctx);
            bucket_volumes.extend(volume);
        }
        let volume_names: Vec<String> =
            bucket_volumes.iter().map(|v| v.meta.name.clone()).collect();
        if !self.claims.is_empty() {
            let claims = std::mem::take(&mut self.claims).into_values().collect();
            let volumes = VolumesFile {
                header: header.clone(),
                volumes: bucket_volumes,
                claims,
            };
            self.files.push(Output {
                path: self.path("volumes.yaml"),
                contents: render("k8s/volumes.yaml", &volumes)?,
            });
        }

        let deployer_name = self.name(names, "rbac", "deployer", "mlc-deployer");
        let mut groups: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for (group, resource) in &self.kinds {
            groups.entry(group).or_default().push(resource.to_string());
        }
        let rules = groups
            .into_iter()
            .map(|(group, resources)| Rule {
                api_groups: vec![group.to_string()],
                resources,
                verbs: [
                    "create", "delete", "get", "list", "patch", "update", "watch",
                ]
                .iter()
                .map(|v| v.to_string())
                .collect(),
            })
            .collect();
        let mut service_accounts = std::mem::take(&mut self.service_accounts);
        service_accounts.sort_by(|a, b| a.name.cmp(&b.name));
        let group = format!("mlc:{}:deployers", self.namespace);
        let volume_deployer = (!volume_names.is_empty())
            .then(|| VolumeDeployer {
                meta: Meta {
                    name: dns_label(&format!("mlc-deployer-{}-volumes", self.namespace), 63),
                    namespace: String::new(),
                    labels: base_labels.clone(),
                    has_annotations: false,
                    annotations: Vec::new(),
                },
                group: group.clone(),
                volumes: volume_names,
            })
            .into_iter()
            .collect();
        let rbac = RbacFile {
            header: header.clone(),
            service_accounts,
            deployer: Deployer {
                meta: self.meta(&deployer_name, base_labels, Vec::new()),
                group,
                rules,
            },
            volume_deployer,
        };
        self.files.push(Output {
            path: self.path("rbac.yaml"),
            contents: render("k8s/rbac.yaml", &rbac)?,
        });

        let addons = addons::addons(
            &header,
            &dns_label(&self.project, 63),
            &self.cloud,
            &self.region_code,
            &pools::cluster_name(self.input.model, &self.cloud, &self.region_code),
            self.pools,
            self.input.model.knowledge.kubernetes(&self.cloud),
        )?;
        for addon in addons {
            self.images.extend(addon.image);
            self.files.push(Output {
                path: self.path(addon.file),
                contents: addon.contents,
            });
        }

        let prefix = format!("kubernetes/{}/", self.dir);
        let mut resources: Vec<String> = self
            .files
            .iter()
            .filter_map(|f| f.path.strip_prefix(&prefix).map(str::to_string))
            .collect();
        resources.sort();
        let images: Vec<Image> = std::mem::take(&mut self.images).into_iter().collect();
        let kustomization = KustomizationFile {
            header,
            resources,
            has_images: !images.is_empty(),
            images,
        };
        self.files.push(Output {
            path: self.path("kustomization.yaml"),
            contents: render("k8s/kustomization.yaml", &kustomization)?,
        });
        Ok(self.files)
    }
}

struct PodParts<'w> {
    w: &'w PlannedWorkload,
    labels: Vec<Kv>,
    service_account: String,
    is_job: bool,
    subdomain: Option<String>,
    grace: u64,
    accelerator: Option<(String, u64)>,
    spot_fallback: bool,
    container: Container,
    mounts: Vec<Mount>,
    claims: Vec<ClaimVolume>,
    scratch: Vec<Scratch>,
}

/// A checkpoint as the harness writes it (`Train::checkpoint_bytes`).
pub fn checkpoint_bytes(t: &Train) -> f64 {
    t.checkpoint_bytes()
}

/// Time to write a checkpoint at 200 MB/s plus a minute, at least two minutes.
pub fn grace_seconds(checkpoint_bytes: f64) -> u64 {
    ((checkpoint_bytes / CHECKPOINT_BYTES_PER_SECOND).ceil() as u64 + 60).max(120)
}

fn scratch_mount(volume: &str, path: &str) -> Mount {
    Mount {
        volume: volume.to_string(),
        path: path.to_string(),
        read_only: false,
        sub_path: Vec::new(),
    }
}

/// What an Azure bucket volume carries as `clientID` until Terraform's output replaces it:
/// the output's name (docs/build.md shows the kustomize patch).
fn azure_client_id_placeholder(place: &Place) -> String {
    format!(
        "<terraform output {}>",
        storage::azure_identity_output(&place.region)
    )
}

fn metric(resource: &str, percent: f64) -> MetricTarget {
    let percent = percent.round().clamp(1.0, 100.0) as u64;
    MetricTarget {
        resource: resource.to_string(),
        percent,
        value: percent.to_string(),
    }
}

/// The trigger's requests a second per replica: the rule the plan prices the service by
/// (`plan::cost::keda_requests_per_replica`), at least 1 when the spec gives no rate.
fn requests_threshold(s: &Service) -> u64 {
    let Some(rate) = s.requests_per_month else {
        return 1;
    };
    let per_second = rate.to_f64() / crate::check::units::SECONDS_PER_MONTH as f64;
    crate::plan::cost::keda_requests_per_replica(per_second, s.replicas_max)
}

/// A service replica's requests and limits: `resources { cpu, memory }` as
/// `request..limit`, else 1 CPU and 2 GiB (what the plan prices).
fn service_resources(s: &Service, accelerator: Option<(String, u64)>) -> (Vec<Kv>, Vec<Kv>) {
    let (cpu_req, cpu_lim) = s.cpu.map_or((1.0, 1.0), |(a, b)| (a.to_f64(), b.to_f64()));
    let (mem_req, mem_lim) = s
        .memory_bytes
        .map_or((2.0 * GIB, 2.0 * GIB), |(a, b)| (a.to_f64(), b.to_f64()));
    let mut requests = vec![
        kv("cpu", cpu((cpu_req * 1000.0).ceil() as u64)),
        kv("memory", mebibytes(mem_req)),
    ];
    let mut limits = vec![
        kv("cpu", cpu((cpu_lim * 1000.0).ceil() as u64)),
        kv("memory", mebibytes(mem_lim)),
    ];
    if let Some((resource, count)) = accelerator {
        requests.push(kv(&resource, count.to_string()));
        limits.push(kv(&resource, count.to_string()));
    }
    requests.sort();
    limits.sort();
    (requests, limits)
}

/// A CPU quantity: whole cores as `2`, else millicores as `1500m`.
fn cpu(millicores: u64) -> String {
    if millicores.is_multiple_of(1000) {
        (millicores / 1000).to_string()
    } else {
        format!("{millicores}m")
    }
}

/// A memory quantity rounded up to MiB, written in GiB when whole.
fn mebibytes(bytes: f64) -> String {
    let mib = (bytes / MIB).ceil().max(1.0) as u64;
    if mib.is_multiple_of(1024) {
        format!("{}Gi", mib / 1024)
    } else {
        format!("{mib}Mi")
    }
}

/// A storage quantity rounded up to whole GiB, at least 1.
fn gib(bytes: f64) -> String {
    format!("{}Gi", (bytes / GIB).ceil().max(1.0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_are_kubernetes_quantities() {
        assert_eq!(cpu(2000), "2");
        assert_eq!(cpu(1500), "1500m");
        assert_eq!(mebibytes(2.0 * GIB), "2Gi");
        assert_eq!(mebibytes(1.5 * GIB), "1536Mi");
        assert_eq!(mebibytes(1.0), "1Mi");
        assert_eq!(gib(1.0), "1Gi");
        assert_eq!(gib(1.2e12), "1118Gi");
    }

    #[test]
    fn the_grace_period_covers_writing_a_checkpoint() {
        assert_eq!(grace_seconds(0.0), 120);
        // 15.6 GB at 200 MB/s is 78 s, plus a minute.
        assert_eq!(grace_seconds(15.6e9), 138);
    }
}
