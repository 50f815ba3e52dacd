//! Where data lives in object storage and who reads or writes it from where: what the
//! `kubernetes` target (the volumes a pod mounts), the `terraform` target (the buckets,
//! copies and grants behind them) and the `harness` target (the folders it reads and
//! writes, `contract`) must agree on. Pure: computed from the model and the plan.
//!
//! Every dataset and every trained model has a home: a dataset's `location` (a produced
//! dataset lives with the job that writes it), a model lives with its training job. In a
//! cloud region the home is a bucket: the one a dataset's `path` names when it is valid
//! as written, else `<project>-<dataset>`; trained models go to `<project>-models-<region>`
//! under `<train>/`. A workload placed in another cloud region reads a copy in its own
//! region, `<home bucket>-<region>`: replicated by the cloud when the home is in the same
//! cloud, filled by the operator otherwise (another cloud, or an on-prem site). On an
//! on-prem site the site's own storage holds what its workloads use.

use super::contract;
use super::names::{self, dns_label, NameRule};
use crate::check::model::{Input, Location, ModelSource};
use crate::check::Model;
use crate::plan::{Plan, PlannedWorkload};
use std::collections::BTreeMap;

/// Where something is kept or runs: a cloud region, or an on-prem site (`cloud` "onprem").
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Place {
    pub cloud: String,
    /// The spec's region name (`us_east_1`) or the site's name.
    pub region: String,
    /// The cloud's region code (`us-east-1`) or the site's name.
    pub region_code: String,
}

impl Place {
    pub(crate) fn of(w: &PlannedWorkload) -> Place {
        Place {
            cloud: w.cloud.clone(),
            region: w.region.clone(),
            region_code: w.region_code.clone(),
        }
    }

    pub fn is_onprem(&self) -> bool {
        self.cloud == "onprem"
    }
}

/// What is stored: a dataset, or the trained model of a `train` job (spec names).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Content {
    Dataset(String),
    Model(String),
}

impl Content {
    /// How the generated files name it: `dataset x`, `model of train.x`.
    pub fn label(&self) -> String {
        match self {
            Content::Dataset(d) => format!("dataset {d}"),
            Content::Model(t) => format!("model of train.{t}"),
        }
    }

    /// Where pods mount it (`contract`): `/data/<dataset>`, `/models/<train>`.
    pub fn mount_path(&self) -> String {
        match self {
            Content::Dataset(d) => contract::dataset_mount(d),
            Content::Model(t) => contract::model_dir(t),
        }
    }

    /// The claim of a cluster that mounts it: `data-<dataset>`, `model-<train>`.
    pub fn claim(&self) -> String {
        match self {
            Content::Dataset(d) => format!("data-{d}"),
            Content::Model(t) => format!("model-{t}"),
        }
    }
}

/// One copy of a content at one place.
#[derive(Debug, Clone)]
pub struct Stored {
    pub content: Content,
    pub place: Place,
    /// The bucket (Azure: container) in a cloud region; `None` on an on-prem site, whose
    /// own storage holds it.
    pub bucket: Option<String>,
    /// Key prefix inside the bucket, as the dataset's `path` writes it ("": the whole
    /// bucket; see `folder`).
    pub prefix: String,
    /// The bucket may hold other contents too: the one a dataset's `path` names (which
    /// several datasets may name), or the trained models of a region. Otherwise mlc
    /// named it for this content alone.
    pub shared_bucket: bool,
    pub size_bytes: f64,
    /// For a copy away from home: the home it is copied from.
    pub copy_of: Option<Source>,
}

impl Stored {
    /// `s3://bucket/prefix`, `gs://...`, `az://container/prefix`, or `site:<site>` on-prem.
    pub fn uri(&self) -> String {
        uri(&self.place, self.bucket.as_deref(), &self.prefix)
    }

    /// The prefix as a folder, as the mount options take it: "" or ending in `/`.
    pub fn folder(&self) -> String {
        if self.prefix.is_empty() || self.prefix.ends_with('/') {
            self.prefix.clone()
        } else {
            format!("{}/", self.prefix)
        }
    }
}

/// The home a copy is made from, and whether the cloud replicates it (same cloud, both
/// in buckets) or the operator must copy it (another cloud, or to or from a site).
#[derive(Debug, Clone)]
pub struct Source {
    pub place: Place,
    pub bucket: Option<String>,
    pub prefix: String,
    pub uri: String,
    pub replicated: bool,
}

/// A workload copy on a Kubernetes cluster that reads or writes a content there.
#[derive(Debug, Clone)]
pub struct Use {
    /// The cluster.
    pub place: Place,
    /// `train`, `batch`, `service`, `function`.
    pub kind: String,
    /// The workload's Kubernetes name, which its service account also has.
    pub account: String,
    pub content: Content,
    pub write: bool,
}

/// Everything the targets need about storage.
#[derive(Debug, Clone, Default)]
pub struct Storage {
    /// Homes and copies, sorted by content, then place.
    pub stored: Vec<Stored>,
    /// Sorted by place, account, content.
    pub uses: Vec<Use>,
    /// The namespace of every cluster: the project's name as a DNS label.
    pub namespace: String,
}

impl Storage {
    /// The copy of `content` that a cluster at `place` uses.
    pub fn at(&self, content: &Content, place: &Place) -> Option<&Stored> {
        self.stored
            .iter()
            .find(|s| &s.content == content && &s.place == place)
    }

    /// The uses of one cluster.
    pub fn uses_at<'s>(&'s self, place: &'s Place) -> impl Iterator<Item = &'s Use> + 's {
        self.uses.iter().filter(move |u| &u.place == place)
    }
}

/// The project's name as a DNS label: the namespace, and the prefix of generated bucket
/// names.
pub fn project_label(model: &Model) -> String {
    let project = model.project.as_ref().map_or("mlc", |p| p.name.as_str());
    dns_label(project, 63)
}

/// The Kubernetes name (and service account) of a workload copy on a cluster: training
/// and batch jobs get at most 45 characters (CronJob-made pods add a suffix); a service or
/// function gets its copy's name as a suffix when two copies share the cluster.
pub fn account_name(kind: &str, name: &str, instance: &str) -> String {
    match kind {
        "train" | "batch" => dns_label(name, 45),
        _ => dns_label(instance, 63),
    }
}

/// A service or function copy's instance name: the copy as a suffix when `copies_here`
/// copies of it share one cluster.
pub fn instance_name(name: &str, copy: Option<&str>, copies_here: usize) -> String {
    match (copy, copies_here > 1) {
        (Some(copy), true) => format!("{name}-{copy}"),
        _ => name.to_string(),
    }
}

pub fn plan(model: &Model, plan: &Plan) -> Storage {
    let prefix = project_label(model);
    let mut stored: Vec<Stored> = homes(model, plan, &prefix);
    let uses = uses(model, plan);
    let mut copies = Vec::new();
    for u in &uses {
        let Some(home) = stored.iter().find(|s| s.content == u.content) else {
            continue;
        };
        if home.place == u.place
            || copies
                .iter()
                .any(|c: &Stored| c.content == u.content && c.place == u.place)
        {
            continue;
        }
        copies.push(copy(home, &u.place));
    }
    stored.extend(copies);
    stored.sort_by(|a, b| (&a.content, &a.place).cmp(&(&b.content, &b.place)));
    Storage {
        stored,
        uses,
        namespace: prefix,
    }
}

/// Where each dataset and trained model is written: its home.
fn homes(model: &Model, plan: &Plan, prefix: &str) -> Vec<Stored> {
    let mut first: BTreeMap<(&str, &str), &PlannedWorkload> = BTreeMap::new();
    for w in &plan.workloads {
        first.entry((w.kind.as_str(), w.name.as_str())).or_insert(w);
    }
    let planned = |kind: &str, name: &str| first.get(&(kind, name)).copied();
    let mut homes = Vec::new();
    for d in &model.datasets {
        let home = match &d.location {
            Some(_) => planned("dataset", &d.name),
            None => model
                .producer(&d.name)
                .and_then(|b| planned("batch", &b.name)),
        };
        let Some(w) = home else { continue };
        let place = match &d.location {
            Some(Location::Onprem { site }) => Place {
                cloud: "onprem".into(),
                region: site.clone(),
                region_code: site.clone(),
            },
            _ => Place::of(w),
        };
        let named = d.path.as_deref().and_then(|p| path_bucket(&place.cloud, p));
        let shared_bucket = named.is_some();
        let (bucket, key_prefix) = if place.is_onprem() {
            (None, String::new())
        } else {
            let (bucket, key_prefix) = named.unwrap_or_else(|| {
                (
                    bucket_name(&place.cloud, &format!("{prefix}-{}", d.name)),
                    String::new(),
                )
            });
            (Some(bucket), key_prefix)
        };
        homes.push(Stored {
            content: Content::Dataset(d.name.clone()),
            place,
            bucket,
            shared_bucket,
            prefix: key_prefix,
            size_bytes: d.size_bytes.to_f64(),
            copy_of: None,
        });
    }
    for t in &model.trains {
        let Some(w) = planned("train", &t.name) else {
            continue;
        };
        let place = Place::of(w);
        let bucket =
            (!place.is_onprem()).then(|| models_bucket(&place.cloud, prefix, &place.region_code));
        homes.push(Stored {
            content: Content::Model(t.name.clone()),
            bucket,
            prefix: format!("{}/", dns_label(&t.name, 63)),
            shared_bucket: true,
            place,
            // fp32 weights; the volume's size is advisory for buckets.
            size_bytes: t.model.parameters() as f64 * 4.0,
            copy_of: None,
        });
    }
    homes
}

/// An Azure region's storage account, which holds its containers: 3-24 lowercase letters
/// and digits from the project and the region code.
pub fn azure_storage_account(prefix: &str, region_code: &str) -> String {
    names::STORAGE_ACCOUNT.fit(&format!("{prefix}{region_code}"))
}

/// An Azure region's resource group (terraform/azure/providers.tf).
pub fn azure_resource_group(prefix: &str, region_code: &str) -> String {
    names::RESOURCE_GROUP.fit(&format!("{prefix}-{region_code}"))
}

/// The rule for bucket names of a cloud's object store (Azure: blob containers).
pub fn bucket_rule(cloud: &str) -> &'static NameRule {
    match cloud {
        "aws" => &names::S3_BUCKET,
        "gcp" => &names::GCS_BUCKET,
        _ => &names::STORAGE_CONTAINER,
    }
}

/// A bucket name that `cloud`'s object store accepts, from `wanted`.
pub fn bucket_name(cloud: &str, wanted: &str) -> String {
    bucket_rule(cloud).fit(&dns_label(wanted, usize::MAX))
}

/// The Terraform output that holds the client ID of an Azure cluster's data identity,
/// which the cluster's bucket volumes authenticate as.
pub fn azure_identity_output(region: &str) -> String {
    format!(
        "data_identity_client_id_{}",
        super::terraform::ident(region)
    )
}

/// The bucket of the trained models of one cloud region.
pub fn models_bucket(cloud: &str, prefix: &str, region_code: &str) -> String {
    bucket_name(cloud, &format!("{prefix}-models-{region_code}"))
}

/// The copy of `home` in the region of `place`: a bucket of its own there (the home
/// bucket's name and the region), same prefix; on a site, the site's storage.
fn copy(home: &Stored, place: &Place) -> Stored {
    let bucket = (!place.is_onprem()).then(|| {
        let base = home
            .bucket
            .clone()
            .unwrap_or_else(|| format!("{}-{}", home.place.region_code, home.content.claim()));
        bucket_name(&place.cloud, &format!("{base}-{}", place.region_code))
    });
    let replicated = home.place.cloud == place.cloud && home.bucket.is_some() && bucket.is_some();
    Stored {
        content: home.content.clone(),
        place: place.clone(),
        bucket,
        prefix: home.prefix.clone(),
        shared_bucket: home.shared_bucket,
        size_bytes: home.size_bytes,
        copy_of: Some(Source {
            place: home.place.clone(),
            bucket: home.bucket.clone(),
            prefix: home.prefix.clone(),
            uri: home.uri(),
            replicated,
        }),
    }
}

/// What the workloads on Kubernetes clusters read and write, per planned copy.
fn uses(model: &Model, plan: &Plan) -> Vec<Use> {
    let mut uses = Vec::new();
    // Copies of one workload per cluster, counted once (a count per workload was
    // quadratic in the services).
    let mut copies: BTreeMap<(&str, &str, &str, &str), usize> = BTreeMap::new();
    for w in &plan.workloads {
        let key = (
            w.kind.as_str(),
            w.name.as_str(),
            w.cloud.as_str(),
            w.region_code.as_str(),
        );
        *copies.entry(key).or_default() += 1;
    }
    for w in &plan.workloads {
        if !super::pools::runs_on_cluster(model, w) {
            continue;
        }
        let key = (
            w.kind.as_str(),
            w.name.as_str(),
            w.cloud.as_str(),
            w.region_code.as_str(),
        );
        let copies_here = copies[&key];
        let instance = instance_name(&w.name, w.copy.as_deref(), copies_here);
        let account = account_name(&w.kind, &w.name, &instance);
        let mut push = |content: Content, write: bool| {
            uses.push(Use {
                place: Place::of(w),
                kind: w.kind.clone(),
                account: account.clone(),
                content,
                write,
            })
        };
        match w.kind.as_str() {
            "train" => {
                if let Some(t) = model.train(&w.name) {
                    for d in &t.data {
                        push(Content::Dataset(d.clone()), false);
                    }
                    push(Content::Model(t.name.clone()), true);
                }
            }
            "batch" => {
                if let Some(b) = model.batch(&w.name) {
                    for input in &b.inputs {
                        match input {
                            Input::Dataset(d) => push(Content::Dataset(d.clone()), false),
                            Input::Train(t) => push(Content::Model(t.clone()), false),
                        }
                    }
                    if let Some(out) = &b.output {
                        push(Content::Dataset(out.clone()), true);
                    }
                }
            }
            "service" => {
                if let Some(s) = model.service(&w.name) {
                    if let ModelSource::Train(t) = &s.model {
                        push(Content::Model(t.clone()), false);
                    }
                }
            }
            "function" => {
                if let Some(f) = model.function(&w.name) {
                    if let Some(ModelSource::Train(t)) = &f.model {
                        push(Content::Model(t.clone()), false);
                    }
                }
            }
            _ => {}
        }
    }
    uses.sort_by(|a, b| {
        (&a.place, &a.account, &a.content, a.write)
            .cmp(&(&b.place, &b.account, &b.content, b.write))
    });
    uses.dedup_by(|a, b| {
        a.place == b.place && a.account == b.account && a.content == b.content && a.write == b.write
    });
    uses
}

/// The Terraform addresses of the buckets (Azure: containers) that hold what storage
/// line items price, by line item: a dataset's home bucket (`dataset.<name>`, or the
/// batch job that produces it, `batch.<name>`) and a training job's model folder, which
/// holds its checkpoints (`train.<name>`). The plan and the build name buckets alike
/// (`storage::plan`); copies in other regions are not priced yet, so not named.
pub fn addresses_by_line_item(model: &Model, plan: &Plan) -> BTreeMap<String, Vec<String>> {
    let mut addresses: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for stored in self::plan(model, plan)
        .stored
        .iter()
        .filter(|s| s.copy_of.is_none())
    {
        let Some(bucket) = &stored.bucket else {
            continue;
        };
        let kind = match stored.place.cloud.as_str() {
            "aws" => "aws_s3_bucket",
            "gcp" => "google_storage_bucket",
            _ => "azurerm_storage_container",
        };
        let item = match &stored.content {
            Content::Dataset(d) => match model.producer(d) {
                Some(b) if model.dataset(d).is_some_and(|x| x.location.is_none()) => {
                    format!("batch.{}", b.name)
                }
                _ => format!("dataset.{d}"),
            },
            Content::Model(t) => format!("train.{t}"),
        };
        let address = format!("{kind}.{}", super::terraform::ident(bucket));
        let list = addresses.entry(item).or_default();
        if !list.contains(&address) {
            list.push(address);
        }
    }
    addresses
}

/// The bucket and key prefix that a dataset's `path` names on `cloud`'s object store,
/// when the bucket name is valid as written (rewriting it would name another bucket).
pub fn path_bucket(cloud: &str, path: &str) -> Option<(String, String)> {
    let rest = match cloud {
        "aws" => path.strip_prefix("s3://"),
        "gcp" => path.strip_prefix("gs://"),
        _ => path.strip_prefix("az://"),
    }?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let valid = cloud != "onprem" && bucket_rule(cloud).check(bucket).is_ok();
    valid.then(|| (bucket.to_string(), prefix.to_string()))
}

/// A location as a URI: the cloud's scheme, bucket and prefix; `site:<name>` on-prem.
fn uri(place: &Place, bucket: Option<&str>, prefix: &str) -> String {
    let Some(bucket) = bucket else {
        return format!("site:{}", place.region);
    };
    let scheme = match place.cloud.as_str() {
        "aws" => "s3",
        "gcp" => "gs",
        _ => "az",
    };
    format!("{scheme}://{bucket}/{prefix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_are_named_after_their_home_and_region() {
        let place = |cloud: &str, code: &str| Place {
            cloud: cloud.into(),
            region: code.replace('-', "_"),
            region_code: code.into(),
        };
        let home = Stored {
            content: Content::Dataset("events".into()),
            place: place("aws", "us-east-1"),
            bucket: Some("acme-events".into()),
            prefix: "clicks/".into(),
            shared_bucket: true,
            size_bytes: 1.0,
            copy_of: None,
        };
        let same_cloud = copy(&home, &place("aws", "eu-west-1"));
        assert_eq!(same_cloud.bucket.as_deref(), Some("acme-events-eu-west-1"));
        assert_eq!(same_cloud.prefix, "clicks/");
        let source = same_cloud.copy_of.unwrap();
        assert!(source.replicated);
        assert_eq!(source.uri, "s3://acme-events/clicks/");
        let other_cloud = copy(&home, &place("gcp", "europe-west1"));
        assert!(!other_cloud.copy_of.as_ref().unwrap().replicated);
        assert_eq!(other_cloud.uri(), "gs://acme-events-europe-west1/clicks/");
    }

    #[test]
    fn only_valid_bucket_names_are_taken_from_paths() {
        assert_eq!(
            path_bucket("aws", "s3://acme-events/clickstream/"),
            Some(("acme-events".into(), "clickstream/".into()))
        );
        assert_eq!(path_bucket("aws", "gs://acme-pretrain/x"), None);
        assert_eq!(path_bucket("aws", "s3://Acme_Events/x"), None);
    }
}
