//! How the planned workloads reach their data in one cloud (`data.tf`): the grants behind
//! each cluster's bucket volumes, and the replication that keeps a copy in every region
//! whose workloads read a bucket of another region of the same cloud (`storage`).
//!
//! Who holds a cluster's grants differs by cloud, as each CSI driver authenticates
//! differently: on EKS the Mountpoint driver's own IAM role (IRSA; the driver cannot use
//! a pod's EKS Pod Identity), on GKE each workload's Kubernetes service account (workload
//! identity federation, no Google service account), on AKS one managed identity per
//! cluster whose workload-identity tokens the pods present (federated with each service
//! account that mounts a bucket).

use super::{ident, BucketContext};
use crate::emit::storage::{self, Place, Storage};
use crate::emit::templates;
use serde::Serialize;
use std::collections::BTreeMap;

/// What a cluster's workloads may do with the buckets they mount.
#[derive(Debug, Serialize)]
pub struct ClusterData {
    /// One per bucket prefix the cluster mounts: read, or read and write when a workload
    /// there writes it.
    pub grants: Vec<MountGrant>,
    /// One per bucket (Azure grants on containers, not prefixes).
    pub containers: Vec<MountGrant>,
    /// The workloads that mount buckets, each with its own grants (GCP).
    pub accounts: Vec<AccountContext>,
    /// Azure: the output holding the data identity's client ID, which the bucket volumes
    /// of the cluster's Kubernetes folder name.
    pub identity_output: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct MountGrant {
    pub id: String,
    pub bucket_id: String,
    /// The region of the bucket (its key).
    pub region_id: String,
    pub prefix: String,
    pub has_prefix: bool,
    pub write: bool,
    /// What is stored there, for the comment.
    pub what: String,
    /// GCP: the IAM condition that keeps the grant to the prefix (and lets the mount list
    /// the bucket).
    pub condition: String,
}

/// A workload's Kubernetes service account.
#[derive(Debug, Serialize)]
pub struct AccountContext {
    pub id: String,
    pub namespace: String,
    pub name: String,
    /// `system:serviceaccount:<namespace>:<name>`, what its tokens carry as `sub`.
    pub subject: String,
    pub grants: Vec<MountGrant>,
}

/// The replication out of one source bucket: one rule per copy it feeds.
#[derive(Debug, Serialize)]
pub struct ReplicationContext {
    pub id: String,
    pub source_bucket_id: String,
    pub source_region_id: String,
    pub rules: Vec<ReplicationRule>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReplicationRule {
    pub id: String,
    /// S3 replication rules with filters need distinct priorities.
    pub priority: u64,
    pub source_bucket_id: String,
    pub source_bucket: String,
    pub dest_bucket_id: String,
    pub dest_bucket: String,
    pub dest_region_id: String,
    pub prefix: String,
    pub has_prefix: bool,
    pub what: String,
}

/// Azure replicates between storage accounts: the rules between two regions' accounts.
#[derive(Debug, Serialize)]
pub struct AccountReplication {
    pub id: String,
    pub source_region_id: String,
    pub dest_region_id: String,
    pub rules: Vec<ReplicationRule>,
}

fn bucket_id(buckets: &[BucketContext], name: &str) -> Option<(String, String)> {
    buckets
        .iter()
        .find(|b| b.name == name)
        .map(|b| (b.id.clone(), b.region_id.clone()))
}

/// The grants of the cluster at `place`, or `None` when it mounts no bucket.
pub fn cluster_data(
    storage: &Storage,
    place: &Place,
    buckets: &[BucketContext],
) -> Option<ClusterData> {
    // (bucket, prefix) -> grant; account -> its grants.
    let mut grants: BTreeMap<(String, String), MountGrant> = BTreeMap::new();
    let mut accounts: BTreeMap<String, Vec<MountGrant>> = BTreeMap::new();
    for u in storage.uses_at(place) {
        let Some(stored) = storage.at(&u.content, place) else {
            continue;
        };
        let Some(bucket) = &stored.bucket else {
            continue;
        };
        let Some((bucket_id, region_id)) = bucket_id(buckets, bucket) else {
            continue;
        };
        let prefix = stored.folder();
        let grant = MountGrant {
            id: ident(&u.content.claim()),
            has_prefix: !prefix.is_empty(),
            condition: format!(
                "resource.type == \"storage.googleapis.com/Bucket\" || resource.name.startsWith({})",
                templates::yaml_quote(&format!("projects/_/buckets/{bucket}/objects/{prefix}"))
            ),
            bucket_id,
            region_id,
            prefix: prefix.clone(),
            write: u.write,
            what: u.content.label(),
        };
        let entry = grants
            .entry((bucket.clone(), prefix))
            .or_insert_with(|| grant.clone());
        entry.write |= u.write;
        let mine = accounts.entry(u.account.clone()).or_default();
        match mine.iter_mut().find(|g| g.id == grant.id) {
            Some(g) => g.write |= grant.write,
            None => mine.push(grant),
        }
    }
    if grants.is_empty() {
        return None;
    }
    let grants: Vec<MountGrant> = grants.into_values().collect();
    let mut containers: BTreeMap<String, MountGrant> = BTreeMap::new();
    for g in &grants {
        let entry = containers
            .entry(g.bucket_id.clone())
            .or_insert_with(|| MountGrant {
                id: g.bucket_id.clone(),
                prefix: String::new(),
                has_prefix: false,
                ..g.clone()
            });
        entry.write |= g.write;
    }
    let accounts = accounts
        .into_iter()
        .map(|(name, grants)| AccountContext {
            id: ident(&name),
            subject: format!("system:serviceaccount:{}:{name}", storage.namespace),
            namespace: storage.namespace.clone(),
            name,
            grants,
        })
        .collect();
    Some(ClusterData {
        grants,
        containers: containers.into_values().collect(),
        accounts,
        identity_output: storage::azure_identity_output(&place.region),
    })
}

/// The replication rules of this cloud's copies, grouped by source bucket.
pub fn replications(
    storage: &Storage,
    cloud: &str,
    buckets: &[BucketContext],
) -> Vec<ReplicationContext> {
    let mut by_source: BTreeMap<String, ReplicationContext> = BTreeMap::new();
    for stored in storage.stored.iter().filter(|s| s.place.cloud == cloud) {
        let Some(home) = stored.copy_of.as_ref().filter(|h| h.replicated) else {
            continue;
        };
        let (Some(source), Some(dest)) = (&home.bucket, &stored.bucket) else {
            continue;
        };
        let (Some((source_id, source_region)), Some((dest_id, dest_region))) =
            (bucket_id(buckets, source), bucket_id(buckets, dest))
        else {
            continue;
        };
        let entry = by_source
            .entry(source_id.clone())
            .or_insert_with(|| ReplicationContext {
                id: source_id.clone(),
                source_bucket_id: source_id.clone(),
                source_region_id: source_region,
                rules: Vec::new(),
            });
        entry.rules.push(ReplicationRule {
            id: ident(&format!("{dest}_{}", stored.prefix)),
            priority: 0,
            source_bucket_id: source_id,
            source_bucket: source.clone(),
            dest_bucket_id: dest_id,
            dest_bucket: dest.clone(),
            dest_region_id: dest_region,
            has_prefix: !stored.prefix.is_empty(),
            prefix: stored.prefix.clone(),
            what: stored.content.label(),
        });
    }
    by_source
        .into_values()
        .map(|mut r| {
            r.rules.sort_by(|a, b| a.id.cmp(&b.id));
            r.rules.dedup_by(|a, b| a.id == b.id);
            for (i, rule) in r.rules.iter_mut().enumerate() {
                rule.priority = i as u64 + 1;
            }
            r
        })
        .collect()
}

/// Azure's replication policies: one per pair of regions' storage accounts.
pub fn account_replications(replications: &[ReplicationContext]) -> Vec<AccountReplication> {
    let mut by_pair: BTreeMap<(String, String), AccountReplication> = BTreeMap::new();
    for r in replications {
        for rule in &r.rules {
            let key = (r.source_region_id.clone(), rule.dest_region_id.clone());
            by_pair
                .entry(key)
                .or_insert_with(|| AccountReplication {
                    id: format!("{}_to_{}", r.source_region_id, rule.dest_region_id),
                    source_region_id: r.source_region_id.clone(),
                    dest_region_id: rule.dest_region_id.clone(),
                    rules: Vec::new(),
                })
                .rules
                .push(rule.clone());
        }
    }
    by_pair.into_values().collect()
}
