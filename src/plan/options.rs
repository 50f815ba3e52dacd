//! What each workload could be placed on, and why the rest is excluded. For every unit
//! (a workload, or one copy of a service that a strategy replicates) this lists, per
//! site, the cheapest instance that fits its hardware at its capacity type — the
//! candidates the solver chooses among — and, for the plan's rationale, the cheapest fit
//! of each site that a rule excludes, with the rule.

use super::allocatable;
use super::cost::{self, HOURS_PER_MONTH};
use super::places::{Places, Site};
use crate::catalog::{normalise_accelerator, Catalog, Offering};
use crate::check::model::{
    AccelCount, Capacity, CapacityKind, CloudInfo, Dataset, Location, Model, Pin, ServerlessPrice,
    Strategy,
};
use crate::graph::NodeKind;
use crate::policy::placement::{NodeRules, PlacementRules};
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

/// Which copy of a workload a unit is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Copy {
    Only,
    /// `active_active`: copy 1 and copy 2, on different clouds.
    Active(u8),
    /// `failover`: the warm standby on the secondary cloud.
    Standby,
    /// `geographic`: the copy that serves users near a geography.
    Near(String),
}

impl Copy {
    pub fn describe(&self) -> Option<String> {
        match self {
            Copy::Only => None,
            Copy::Active(n) => Some(format!("active copy {n}")),
            Copy::Standby => Some("warm standby".into()),
            Copy::Near(geo) => Some(format!("near {geo}")),
        }
    }
}

/// One thing the solver places.
#[derive(Debug, Clone)]
pub struct Unit {
    pub kind: NodeKind,
    pub name: String,
    pub copy: Copy,
    /// Feasible placements, at most one per site, in site order.
    pub candidates: Vec<Candidate>,
    /// The cheapest excluded fit of each site that has one, with the rule.
    pub excluded: Vec<Excluded>,
    /// Notes for the plan about how this unit was priced.
    pub notes: Vec<String>,
}

/// A placement of a unit on one site.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub site: usize,
    /// Shared with the catalog row: a workload has a candidate per site, and a spec
    /// of 10,000 workloads half a million of them.
    pub instance_type: Arc<str>,
    /// `on_demand`, `spot`, `reserved_1y`, `reserved_3y`, `serverless`, `onprem`, `stored`.
    pub capacity: &'static str,
    /// Per node or replica; 0 where not billed by the hour.
    pub usd_per_hour: f64,
    /// Nodes (jobs) or replicas (services); 1 for functions and datasets.
    pub units: f64,
    /// Billed hours per node or replica a month.
    pub hours: f64,
    pub compute_usd: f64,
    pub storage_usd: f64,
    /// Reading data back from an infrequent-access or archive tier.
    pub retrieval_usd: f64,
    /// What a shared site gives it: `(resource, GPU-hours)`.
    pub uses: Vec<(usize, f64)>,
}

impl Candidate {
    pub fn monthly_usd(&self) -> f64 {
        self.compute_usd + self.storage_usd + self.retrieval_usd
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Excluded {
    pub site: usize,
    pub label: String,
    pub monthly_usd: f64,
    pub reason: String,
}

/// Why a unit has no candidate: the fits there were, and what excluded them.
#[derive(Debug, Clone)]
pub struct NoPlacement {
    pub kind: NodeKind,
    pub name: String,
    pub copy: Copy,
    /// What it needs, e.g. "H200 x 8 per node on spot".
    pub needs: String,
    /// `(reason, sites)` for every rule that excluded a fit, most sites first.
    pub reasons: Vec<(String, usize)>,
    /// The clouds (and sites) whose catalog offers a fit at all, sorted: so the error can
    /// say that an allowed cloud has none, rather than blame the allow-list alone.
    pub offered_on: Box<[String]>,
}

/// The shared GPU-hours of on-prem sites that hybrid placement may use.
#[derive(Debug, Clone)]
pub struct SitePool {
    pub site: usize,
    pub name: String,
    pub accelerator: AccelCount,
    pub gpu_hours: f64,
}

pub struct Context<'a> {
    /// Per site, the order candidates are offered in (see [`nearness`]): among equally
    /// cheap candidates, the one nearest the data comes first (the solver breaks ties by
    /// the lowest index).
    pub nearness: Vec<(u8, bool)>,
    pub model: &'a Model,
    pub rules: &'a PlacementRules,
    pub places: &'a Places,
    pub catalog: &'a Catalog,
    /// Produced datasets by producer: their storage is priced where the producer runs.
    pub produced: BTreeMap<String, Vec<&'a Dataset>>,
    pub pools: Vec<SitePool>,
    /// GB read from each dataset a month (its outgoing data edges), for retrieval fees.
    pub reads_gb: BTreeMap<String, f64>,
    /// The winning CPU type per site of each replica or node shape seen so far: a spec's
    /// services mostly share a few shapes, and scanning the catalog once per service was
    /// most of `mlc plan`'s time on 1,000 of them.
    pub cpu_sites: Mutex<BTreeMap<CpuShape, Arc<[CpuSite]>>>,
    /// The catalog rows that fit each GPU node shape seen so far (the same reason).
    pub gpu_rows: Mutex<BTreeMap<GpuShape, Arc<[usize]>>>,
}

/// What decides which catalog rows fit a GPU node: its accelerators and host size.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct GpuShape {
    accelerator: String,
    count: u64,
    vcpus: u64,
    memory_gib: u64,
}

/// What a unit asks of a site before price: the rules that may exclude it.
#[derive(Clone, Copy)]
struct Needs<'a> {
    pin: Pin<'a>,
    strategy_cloud: Option<(&'a str, &'static str)>,
    near: Option<&'a str>,
    /// Continents the unit is kept on: those of a service's `near` geographies.
    continents: Option<&'a BTreeSet<String>>,
    /// The residency and on-site rules of the unit's workload (looked up once per unit,
    /// not once per site).
    rules: Option<&'a NodeRules>,
}

impl<'a> Context<'a> {
    pub(crate) fn cloud(&self, name: &str) -> Option<&'a CloudInfo> {
        self.model.knowledge.clouds.iter().find(|c| c.name == name)
    }

    /// `Err(reason)` when a rule keeps the unit off `site`.
    fn admit(&self, site: &Site, needs: &Needs) -> Result<(), String> {
        if let Some((cloud, region)) = needs.pin.region {
            if site.cloud != cloud || site.region != region {
                return Err(format!("pinned to `region = {cloud}.{region}`"));
            }
        }
        if let Some(cloud) = needs.pin.cloud {
            if site.cloud != cloud {
                return Err(format!("pinned to `cloud = {cloud}`"));
            }
        }
        if let (Some(policy), false) = (&self.model.clouds, site.is_onprem()) {
            if !policy.allow.contains(&site.cloud) {
                return Err(format!("`clouds.allow` is [{}]", policy.allow.join(", ")));
            }
        }
        if let Some((cloud, why)) = needs.strategy_cloud {
            if site.cloud != cloud {
                return Err(format!("{why} runs on `{cloud}`"));
            }
        }
        let rules = needs.rules;
        if let Some(onsite) = rules.and_then(|r| r.onsite.as_ref()) {
            let base = self.hybrid_base();
            if !site.is_onprem() || Some(site.region.as_str()) != base {
                return Err(onsite.text.clone());
            }
        }
        if let Some(rules) = rules {
            if let Some(allowed) = &rules.jurisdictions {
                if !allowed.contains(&site.jurisdiction) {
                    let why: Vec<&str> = rules
                        .jurisdiction_reasons
                        .iter()
                        .map(|r| r.text.as_str())
                        .collect();
                    return Err(why.join("; "));
                }
            }
        }
        if let Some(geo) = needs.near {
            if site.geography != geo {
                return Err(format!("this copy serves users near `{geo}`"));
            }
        }
        if let Some(continents) = needs.continents {
            if !continents.contains(&site.continent) {
                let names: Vec<&str> = continents.iter().map(String::as_str).collect();
                return Err(format!(
                    "its users are `near` geographies in {}",
                    names.join(", ")
                ));
            }
        }
        Ok(())
    }

    /// Indexes of the catalog rows that fit `node`, in catalog order.
    fn gpu_rows(&self, node: &GpuNode) -> Arc<[usize]> {
        let shape = GpuShape {
            accelerator: node.accel.name.clone(),
            count: node.accel.count,
            vcpus: node.vcpus.to_bits(),
            memory_gib: node.memory_gib.to_bits(),
        };
        memoised(&self.gpu_rows, shape, || {
            self.catalog
                .offerings
                .iter()
                .enumerate()
                .filter(|(_, o)| node.fits(o))
                .map(|(i, _)| i)
                .collect()
        })
    }

    fn nearness(&self, site: usize) -> (u8, bool) {
        self.nearness[site]
    }

    fn hybrid_base(&self) -> Option<&'a str> {
        self.model
            .placement
            .as_ref()
            .and_then(|p| p.hybrid.as_ref())
            .map(|h| h.base.as_str())
    }

    /// The monthly storage of the datasets `producer` writes, by the cloud of the site
    /// it runs on (the price depends on nothing else): worked out once per cloud, not
    /// once per catalog row.
    fn produced_storage(&self, producer: Option<&str>) -> ProducedStorage<'a> {
        let datasets = producer.and_then(|p| self.produced.get(p));
        let by_cloud = match datasets {
            Some(datasets) => self
                .model
                .knowledge
                .clouds
                .iter()
                .map(|cloud| {
                    let usd = datasets
                        .iter()
                        .map(|d| {
                            d.size_bytes.to_f64() / 1e9
                                * cost::storage_usd_per_gb_month(cloud, &d.tier)
                        })
                        .sum();
                    (cloud.name.as_str(), usd)
                })
                .collect(),
            None => Vec::new(),
        };
        ProducedStorage { by_cloud }
    }

    /// Keeps the cheapest fit per site: a candidate where the site is admitted, else
    /// an excluded fit with the reason (how many sites each reason excluded, most first).
    fn collect(
        &self,
        needs: &Needs,
        fits: &[(usize, Candidate, Option<String>)],
    ) -> (Vec<Candidate>, Vec<Excluded>, Vec<(String, usize)>) {
        // Per site, its cheapest fit (the first of equals); then, since a site's verdict
        // does not depend on the instance, each site is judged once.
        let mut cheapest: Vec<Option<(&Candidate, &Option<String>)>> =
            vec![None; self.places.sites.len()];
        for (site, candidate, label) in fits {
            let slot = &mut cheapest[*site];
            if slot.is_none_or(|(c, _)| candidate.monthly_usd() < c.monthly_usd()) {
                *slot = Some((candidate, label));
            }
        }
        let mut candidates = Vec::new();
        let mut excluded = Vec::new();
        let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
        for (site, fit) in cheapest.into_iter().enumerate() {
            let Some((candidate, label)) = fit else {
                continue;
            };
            let place = &self.places.sites[site];
            match self.admit(place, needs) {
                Ok(()) => candidates.push(candidate.clone()),
                Err(reason) => {
                    *reasons.entry(reason.clone()).or_default() += 1;
                    excluded.push(Excluded {
                        site,
                        label: label
                            .clone()
                            .unwrap_or_else(|| instance_label(place, candidate)),
                        monthly_usd: candidate.monthly_usd(),
                        reason,
                    });
                }
            }
        }
        let mut reasons: Vec<(String, usize)> = reasons.into_iter().collect();
        reasons.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        candidates.sort_by_key(|c| (self.nearness(c.site), c.site));
        (candidates, excluded, reasons)
    }
}

/// What a producer's datasets cost a month in each cloud; nothing on a site, whose
/// amortised cost covers its disks.
struct ProducedStorage<'a> {
    by_cloud: Vec<(&'a str, f64)>,
}

impl ProducedStorage<'_> {
    fn at(&self, site: &Site) -> f64 {
        self.by_cloud
            .iter()
            .find(|(cloud, _)| *cloud == site.cloud)
            .map_or(0.0, |(_, usd)| *usd)
    }
}

/// How an instance fit is named, `aws us-east-1 p5.48xlarge spot`: formatted only for
/// the fits a rationale shows, not for every catalog row of every workload.
fn instance_label(site: &Site, candidate: &Candidate) -> String {
    format!(
        "{} {} {} {}",
        site.cloud, site.code, candidate.instance_type, candidate.capacity
    )
}

/// Per site: how near it is to the spec's data, the sites in `anchors` (0 same region ..
/// 4 elsewhere), then whether it is off the preferred cloud: the order candidates are
/// offered in. Computed once per spec: recomputing it for every candidate of every
/// workload made planning quadratic in the number of datasets.
pub fn nearness(model: &Model, places: &Places, anchors: &[usize]) -> Vec<(u8, bool)> {
    let mut anchors = anchors.to_vec();
    anchors.sort_unstable();
    anchors.dedup();
    let prefer = model.clouds.as_ref().and_then(|c| c.prefer.as_deref());
    (0..places.sites.len())
        .map(|site| {
            let here = &places.sites[site];
            let distance = anchors
                .iter()
                .map(|&a| {
                    let there = &places.sites[a];
                    match () {
                        _ if a == site => 0,
                        _ if there.geography == here.geography => 1,
                        _ if there.cloud == here.cloud && there.continent == here.continent => 2,
                        _ if there.continent == here.continent => 3,
                        _ => 4,
                    }
                })
                .min()
                .unwrap_or(4);
            (distance, prefer != Some(here.cloud.as_str()))
        })
        .collect()
}

/// A GPU count in spec terms matches a catalog row: `A100_80GB x 8` is the row
/// `A100-80GB, 8`; TPU slices are one row per slice (`TPU_V5E x 8` is `tpu-v5litepod-8`).
pub fn accelerator_matches(accel: &AccelCount, offering: &Offering) -> bool {
    let Some(name) = &offering.accelerator else {
        return false;
    };
    let tpu = match accel.name.as_str() {
        "TPU_V5E" => Some(format!("tpu-v5litepod-{}", accel.count)),
        "TPU_V6E" => Some(format!("tpu-v6e-{}", accel.count)),
        "TPU_V5P" => Some(format!("tpu-v5p-{}", accel.count * 2)),
        "TPU_V4" => Some(format!("tpu-v4-{}", accel.count * 2)),
        _ => None,
    };
    match tpu {
        Some(slice) => name == &slice,
        None => {
            offering.accelerator_count.as_integer() == Some(i128::from(accel.count))
                && same_accelerator(name, &accel.name)
        }
    }
}

/// `normalise_accelerator(a) == normalise_accelerator(b)` without allocating: it runs for
/// every catalog row and every workload.
fn same_accelerator(a: &str, b: &str) -> bool {
    let fold = |c: char| {
        if c == '_' {
            '-'
        } else {
            c.to_ascii_uppercase()
        }
    };
    a.trim().chars().map(fold).eq(b.trim().chars().map(fold))
}

/// How a capacity is shown in the plan.
pub fn capacity_word(kind: CapacityKind) -> &'static str {
    match kind {
        CapacityKind::OnDemand => "on_demand",
        CapacityKind::Spot => "spot",
        // The model knows 1- and 3-year terms only (`reserved`, `reserved_1y`, `reserved_3y`).
        CapacityKind::Reserved { term_years: 3 } => "reserved_3y",
        CapacityKind::Reserved { .. } => "reserved_1y",
    }
}

/// The hourly price of an offering at the capacity the spec asks for, falling back as it
/// says (`spot fallback on_demand` where there is no spot price). Where both are sold,
/// `spot fallback on_demand` pays the expected mix: `cost::SPOT_FALLBACK_SHARE` of its
/// hours on the on-demand twin pool, the rest on spot.
fn priced(
    offering: &Offering,
    capacity: &Capacity,
    cloud: &CloudInfo,
) -> Option<(f64, CapacityKind)> {
    let primary =
        cost::hourly_price(offering, capacity.primary, cloud).map(|p| (p, capacity.primary));
    let fallback = capacity
        .fallback
        .and_then(|f| cost::hourly_price(offering, f, cloud).map(|p| (p, f)));
    let fee = cloud.node_fee_usd_per_hour();
    let (price, kind) = match (primary, fallback) {
        (Some((spot, CapacityKind::Spot)), Some((on_demand, CapacityKind::OnDemand))) => (
            spot * (1.0 - cost::SPOT_FALLBACK_SHARE) + on_demand * cost::SPOT_FALLBACK_SHARE,
            CapacityKind::Spot,
        ),
        (Some(p), _) => p,
        (None, f) => f?,
    };
    // What the cluster charges per node besides the VM (GCP's Cloud NAT per-VM fee).
    Some((price + fee, kind))
}

/// Hours billed a month for `hours` of use at `kind`: a reservation bills every hour of
/// its term, used or not.
fn billed_hours(kind: CapacityKind, hours: f64) -> f64 {
    match kind {
        CapacityKind::Reserved { .. } => HOURS_PER_MONTH,
        _ => hours,
    }
}

/// The share of an on-prem site's vCPUs and memory that pods can request: its own
/// Kubernetes's reservations are not known (cloud nodes: `allocatable`).
pub const SITE_ALLOCATABLE: f64 = 0.9;

/// What one GPU node needs: its accelerators, and at least this many vCPUs and GiB of
/// memory on the host (a service's `resources` limits, a batch job's `cpu` and `memory`).
pub struct GpuNode<'a> {
    pub accel: &'a AccelCount,
    pub vcpus: f64,
    pub memory_gib: f64,
}

impl GpuNode<'_> {
    /// TPU slices have no host VM in the catalog: only the accelerator is matched.
    fn fits(&self, offering: &Offering) -> bool {
        let host_ok = match (offering.vcpus, offering.memory_gib) {
            (Some(cpu), Some(mem)) => {
                let room = allocatable::whole_node(offering.cloud, cpu.to_f64(), mem.to_f64());
                room.vcpus >= self.vcpus && room.memory_gib >= self.memory_gib
            }
            _ => true,
        };
        accelerator_matches(self.accel, offering) && host_ok
    }
}

/// Billed GPU-VM hours and price of `nodes` VMs running `hours` each, on each fitting
/// offering. Spot hours include the expected rework (see `cost::spot_hours`).
#[allow(clippy::too_many_arguments)]
fn gpu_fits(
    ctx: &Context,
    node: &GpuNode,
    capacity: &Capacity,
    nodes: f64,
    hours: f64,
    run_hours: f64,
    checkpoint_hours: Option<f64>,
    producer: Option<&str>,
) -> Vec<(usize, Candidate, Option<String>)> {
    let accel = node.accel;
    let produced = ctx.produced_storage(producer);
    let mut fits = Vec::new();
    for &row in ctx.gpu_rows(node).iter() {
        let offering = &ctx.catalog.offerings[row];
        let (Some(site), Some(cloud)) = (
            ctx.places.by_code(offering.cloud, &offering.region),
            ctx.cloud(offering.cloud),
        ) else {
            continue;
        };
        let Some((price, kind)) = priced(offering, capacity, cloud) else {
            continue;
        };
        let billed = if kind == CapacityKind::Spot {
            cost::spot_hours(hours, run_hours, checkpoint_hours, cloud)
        } else {
            billed_hours(kind, hours)
        };
        let storage = produced.at(&ctx.places.sites[site]);
        let capacity = capacity_word(kind);
        fits.push((
            site,
            Candidate {
                site,
                instance_type: Arc::clone(&offering.instance_type),
                capacity,
                usd_per_hour: price,
                units: nodes,
                hours: billed,
                compute_usd: price * nodes * billed,
                storage_usd: storage,
                retrieval_usd: 0.0,
                uses: Vec::new(),
            },
            None,
        ));
    }
    fits.extend(site_fits(ctx, accel, nodes, hours));
    fits
}

/// On-prem sites with the same accelerator: free at the margin (the site's amortised cost
/// is a fixed line item), limited by its GPU-hours, which all workloads share.
fn site_fits(
    ctx: &Context,
    accel: &AccelCount,
    nodes: f64,
    hours: f64,
) -> Vec<(usize, Candidate, Option<String>)> {
    let mut fits = Vec::new();
    for (pool_id, pool) in ctx.pools.iter().enumerate() {
        let same =
            normalise_accelerator(&pool.accelerator.name) == normalise_accelerator(&accel.name);
        if !same || pool.accelerator.count < accel.count {
            continue;
        }
        let gpu_hours = nodes * accel.count as f64 * hours;
        fits.push((
            pool.site,
            Candidate {
                site: pool.site,
                instance_type: format!("{} x {}", pool.accelerator.name, accel.count).into(),
                capacity: "onprem",
                usd_per_hour: 0.0,
                units: nodes,
                hours,
                compute_usd: 0.0,
                storage_usd: 0.0,
                retrieval_usd: 0.0,
                uses: vec![(pool_id, gpu_hours)],
            },
            Some(format!("onprem {}", pool.name)),
        ));
    }
    fits
}

/// The hybrid base site's own CPUs, for a CPU-only unit that must stay on the site
/// (`sensitive_data`): free at the margin, as its GPUs are. Only for those units: the
/// plan counts the site's GPU-hours, not its CPUs, so it moves no other CPU work there.
/// The site must declare `cpus` (and `memory`, if the unit asks for memory) that hold
/// one node or replica.
#[allow(clippy::too_many_arguments)]
fn site_cpu_fits(
    ctx: &Context,
    kind: NodeKind,
    name: &str,
    vcpus: f64,
    memory_gib: f64,
    units: f64,
    hours: f64,
) -> Vec<(usize, Candidate, Option<String>)> {
    let onsite = ctx
        .rules
        .get(kind, name)
        .is_some_and(|r| r.onsite.is_some());
    let Some(base) = ctx.hybrid_base().filter(|_| onsite) else {
        return Vec::new();
    };
    let Some(site) = ctx.model.onprem.iter().find(|s| s.name == base) else {
        return Vec::new();
    };
    let cpus_fit = site
        .cpus
        .is_some_and(|c| c as f64 * SITE_ALLOCATABLE >= vcpus);
    let gib = site
        .memory_bytes
        .map(|m| m.to_f64() / f64::from(1u32 << 30));
    let memory_fits = memory_gib <= 0.0 || gib.is_some_and(|g| g * SITE_ALLOCATABLE >= memory_gib);
    let Some(index) = ctx
        .places
        .find("onprem", base)
        .filter(|_| cpus_fit && memory_fits)
    else {
        return Vec::new();
    };
    let candidate = Candidate {
        site: index,
        instance_type: format!("{} vCPUs", super::render::trim(vcpus)).into(),
        capacity: "onprem",
        usd_per_hour: 0.0,
        units,
        hours,
        compute_usd: 0.0,
        storage_usd: 0.0,
        retrieval_usd: 0.0,
        uses: Vec::new(),
    };
    vec![(index, candidate, Some(format!("onprem {base}")))]
}

/// How much of a CPU node one replica or node pays for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Share {
    /// A whole node each (a job's nodes).
    Whole,
    /// The larger of its CPU and memory fraction of a node (a Knative function's pods
    /// on the cluster's nodes).
    Fraction,
    /// Whole nodes with this many replicas packed onto them: `allocatable::pods_per_node`
    /// replicas a node, the pool keeping the nodes that need (`emit/pools.rs`), so
    /// each replica pays nodes x price / replicas. With no replicas (a service priced
    /// idle) its fraction of a node, for the rationale's hourly figure.
    Packed(f64),
}

impl Share {
    fn key(self) -> (u8, u64) {
        match self {
            Share::Whole => (0, 0),
            Share::Fraction => (1, 0),
            Share::Packed(replicas) => (2, replicas.to_bits()),
        }
    }

    /// The part of a node of `cloud` one replica pays, or `None` when it does not fit.
    fn fraction(self, cloud: &str, node: (f64, f64), vcpus: f64, memory_gib: f64) -> Option<f64> {
        let whole = allocatable::whole_node(cloud, node.0, node.1);
        let share = (vcpus / whole.vcpus.max(f64::MIN_POSITIVE))
            .max(memory_gib / whole.memory_gib.max(f64::MIN_POSITIVE));
        let request = allocatable::Resources { vcpus, memory_gib };
        match self {
            Share::Whole => (whole.vcpus >= vcpus && whole.memory_gib >= memory_gib).then_some(1.0),
            Share::Fraction => (share <= 1.0).then_some(share),
            Share::Packed(replicas) => {
                let per_node = allocatable::pods_per_node(cloud, node.0, node.1, request);
                if per_node == 0 {
                    None
                } else if replicas <= 0.0 {
                    Some(share)
                } else {
                    Some(super::cost::nodes_for(replicas, per_node) as f64 / replicas)
                }
            }
        }
    }
}

/// CPU VMs: the cheapest catalog type per site with at least `vcpus` and `memory_gib`;
/// `share` says how much of it one replica or node pays for.
#[allow(clippy::too_many_arguments)]
fn cpu_fits(
    ctx: &Context,
    vcpus: f64,
    memory_gib: f64,
    capacity: &Capacity,
    units: f64,
    hours: f64,
    share: Share,
    producer: Option<&str>,
) -> Vec<(usize, Candidate, Option<String>)> {
    let shape = CpuShape {
        vcpus: vcpus.to_bits(),
        memory_gib: memory_gib.to_bits(),
        share: share.key(),
        capacity: (
            capacity_code(capacity.primary),
            capacity.fallback.map(capacity_code),
        ),
    };
    let sites = memoised(&ctx.cpu_sites, shape, || {
        cheapest_cpu_types(ctx, vcpus, memory_gib, capacity, share)
    });
    let produced = ctx.produced_storage(producer);
    sites
        .iter()
        .map(|fit| {
            let storage = produced.at(&ctx.places.sites[fit.site]);
            let hours = billed_hours(fit.kind, hours);
            let candidate = Candidate {
                site: fit.site,
                instance_type: Arc::clone(&ctx.catalog.offerings[fit.offering].instance_type),
                capacity: capacity_word(fit.kind),
                usd_per_hour: fit.usd_per_hour,
                units,
                hours,
                compute_usd: fit.usd_per_hour * units * hours,
                storage_usd: storage,
                retrieval_usd: 0.0,
                uses: Vec::new(),
            };
            (fit.site, candidate, None)
        })
        .collect()
}

/// The value cached for `key`, computed by `compute` the first time. Units are built on
/// several threads; two may compute the same value at once, and both get the same one.
fn memoised<K: Ord, T>(
    cache: &Mutex<BTreeMap<K, Arc<[T]>>>,
    key: K,
    compute: impl FnOnce() -> Vec<T>,
) -> Arc<[T]> {
    let lock = || {
        cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    };
    if let Some(value) = lock().get(&key) {
        return Arc::clone(value);
    }
    let value: Arc<[T]> = compute().into();
    Arc::clone(lock().entry(key).or_insert(value))
}

/// What decides which CPU type of a site wins: the same for every replica or node of one
/// shape, whatever its count and hours. (A scale-to-zero service costs nothing on any
/// type; it still gets the type with the cheapest hour, which its rationale shows.)
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct CpuShape {
    vcpus: u64,
    memory_gib: u64,
    share: (u8, u64),
    capacity: (u8, Option<u8>),
}

/// The winning CPU type of one site for a [`CpuShape`]: its catalog row, and the price per
/// hour of the share of it that one replica or node pays for.
#[derive(Clone, Copy)]
pub struct CpuSite {
    site: usize,
    offering: usize,
    usd_per_hour: f64,
    kind: CapacityKind,
}

fn capacity_code(kind: CapacityKind) -> u8 {
    match kind {
        CapacityKind::OnDemand => 0,
        CapacityKind::Spot => 1,
        CapacityKind::Reserved { term_years } => 2u8.saturating_add(term_years),
    }
}

/// Per site, the cheapest CPU type with at least `vcpus` and `memory_gib` (of a node's
/// allocatable share) at the capacity asked for. Only the cheapest type of a site can win:
/// `Context::collect` keeps the cheapest candidate per site and judges sites, not types.
/// A produced dataset's storage is the same for every type of a site, so it does not
/// change which one wins.
fn cheapest_cpu_types(
    ctx: &Context,
    vcpus: f64,
    memory_gib: f64,
    capacity: &Capacity,
    share: Share,
) -> Vec<CpuSite> {
    let mut cheapest: BTreeMap<usize, CpuSite> = BTreeMap::new();
    let cpu_types = ctx
        .catalog
        .offerings
        .iter()
        .enumerate()
        .filter(|(_, o)| o.accelerator.is_none());
    for (index, offering) in cpu_types {
        // Size first: it rules out most rows before the lookups below.
        let have_cpu = offering.vcpus.map_or(0.0, |v| v.to_f64());
        let have_mem = offering.memory_gib.map_or(0.0, |m| m.to_f64());
        if have_cpu <= 0.0 {
            continue;
        }
        let Some(fraction) =
            share.fraction(offering.cloud, (have_cpu, have_mem), vcpus, memory_gib)
        else {
            continue;
        };
        let (Some(site), Some(cloud)) = (
            ctx.places.by_code(offering.cloud, &offering.region),
            ctx.cloud(offering.cloud),
        ) else {
            continue;
        };
        let Some((price, kind)) = priced(offering, capacity, cloud) else {
            continue;
        };
        let usd_per_hour = price * fraction;
        // The first of equally cheap rows stays, as in `collect`.
        if cheapest.get(&site).is_some_and(|best| {
            usd_per_hour.partial_cmp(&best.usd_per_hour) != Some(std::cmp::Ordering::Less)
        }) {
            continue;
        }
        cheapest.insert(
            site,
            CpuSite {
                site,
                offering: index,
                usd_per_hour,
                kind,
            },
        );
    }
    cheapest.into_values().collect()
}

/// Every unit of the spec, or the units that cannot be placed anywhere.
pub fn units(ctx: &Context) -> Result<Vec<Unit>, Vec<NoPlacement>> {
    let model = ctx.model;
    let mut work: Vec<Work> = Vec::new();
    work.extend(
        model
            .datasets
            .iter()
            .filter(|d| d.location.is_some())
            .map(Work::Dataset),
    );
    work.extend(model.trains.iter().map(Work::Train));
    work.extend(model.batches.iter().map(Work::Batch));
    for service in &model.services {
        for copy in copies(model, service.strategy, &service.near) {
            work.push(Work::Service(service, copy));
        }
    }
    for function in &model.functions {
        for copy in copies(model, function.strategy, &[]) {
            work.push(Work::Function(function, copy));
        }
    }
    // Each unit's options depend on the context alone: build them on every core, in
    // order.
    let built: Vec<Result<Unit, NoPlacement>> = work
        .into_par_iter()
        .map(|w| match w {
            Work::Dataset(d) => fixed_dataset(ctx, d),
            Work::Train(t) => train_unit(ctx, t),
            Work::Batch(b) => batch_unit(ctx, b),
            Work::Service(s, copy) => service_unit(ctx, s, copy),
            Work::Function(f, copy) => function_unit(ctx, f, copy),
        })
        .collect();
    let mut units = Vec::with_capacity(built.len());
    let mut failures = Vec::new();
    for unit in built {
        match unit {
            Ok(u) => units.push(u),
            Err(f) => failures.push(f),
        }
    }
    if failures.is_empty() {
        Ok(units)
    } else {
        Err(failures)
    }
}

/// One unit to build: a workload and, for services and functions, which copy.
enum Work<'m> {
    Dataset(&'m Dataset),
    Train(&'m crate::check::model::Train),
    Batch(&'m crate::check::model::Batch),
    Service(&'m crate::check::model::Service, Copy),
    Function(&'m crate::check::model::Function, Copy),
}

/// The copies a strategy makes of a service or function.
fn copies(model: &Model, strategy: Strategy, near: &[String]) -> Vec<Copy> {
    match strategy {
        Strategy::CostOptimized => vec![Copy::Only],
        Strategy::ActiveActive => vec![Copy::Active(1), Copy::Active(2)],
        Strategy::Failover if secondary(model).is_some() => vec![Copy::Only, Copy::Standby],
        Strategy::Failover => vec![Copy::Only],
        Strategy::Geographic if near.is_empty() => vec![Copy::Only],
        Strategy::Geographic => near.iter().map(|g| Copy::Near(g.clone())).collect(),
    }
}

fn primary(model: &Model) -> Option<&str> {
    model.placement.as_ref().and_then(|p| p.primary.as_deref())
}

fn secondary(model: &Model) -> Option<&str> {
    model
        .placement
        .as_ref()
        .and_then(|p| p.secondary.as_deref())
}

/// The cloud a strategy keeps a unit on: with spec-wide `failover`, everything on the
/// primary; a standby on the secondary.
fn strategy_cloud<'m>(
    model: &'m Model,
    strategy: Strategy,
    copy: &Copy,
) -> Option<(&'m str, &'static str)> {
    let spec_failover = model
        .placement
        .as_ref()
        .is_some_and(|p| p.strategy == Strategy::Failover);
    match copy {
        Copy::Standby => secondary(model).map(|c| (c, "the failover standby")),
        _ if strategy == Strategy::Failover || spec_failover => {
            primary(model).map(|c| (c, "`failover`: everything"))
        }
        _ => None,
    }
}

#[allow(clippy::too_many_arguments)]
fn finish(
    ctx: &Context,
    kind: NodeKind,
    name: &str,
    copy: Copy,
    needs: &Needs,
    what: String,
    fits: &[(usize, Candidate, Option<String>)],
    notes: Vec<String>,
) -> Result<Unit, NoPlacement> {
    let (candidates, excluded, reasons) = ctx.collect(needs, fits);
    let what = if fits.is_empty() && what.contains("vCPUs") {
        format!("{what}{}", largest_room(ctx))
    } else {
        what
    };
    if candidates.is_empty() {
        let offered_on: BTreeSet<&str> = fits
            .iter()
            .map(|(site, _, _)| ctx.places.sites[*site].cloud.as_str())
            .collect();
        let offered_on: Vec<String> = offered_on.into_iter().map(str::to_string).collect();
        return Err(NoPlacement {
            kind,
            name: name.to_string(),
            copy,
            needs: what,
            reasons,
            offered_on: offered_on.into_boxed_slice(),
        });
    }
    Ok(Unit {
        kind,
        name: name.to_string(),
        copy,
        candidates,
        excluded,
        notes,
    })
}

/// What pods may request of the largest CPU instance in the regions the spec allows, for
/// an error about a request no node holds.
fn largest_room(ctx: &Context) -> String {
    let largest = ctx
        .catalog
        .offerings
        .iter()
        .filter(|o| o.accelerator.is_none())
        .filter(|o| {
            ctx.model
                .clouds
                .as_ref()
                .is_none_or(|c| c.allow.iter().any(|a| a == o.cloud))
        })
        .filter_map(|o| {
            let room = allocatable::whole_node(o.cloud, o.vcpus?.to_f64(), o.memory_gib?.to_f64());
            Some((room.vcpus, room.memory_gib, o))
        })
        .max_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    match largest {
        Some((vcpus, memory, o)) => format!(
            " (a pod may request a node's allocatable less its system DaemonSets, docs/plan.md \"Pods that fit\": at most {vcpus:.2} vCPUs and {memory:.1} GiB, on {} {})",
            o.cloud, o.instance_type
        ),
        None => String::new(),
    }
}

fn fixed_dataset(ctx: &Context, dataset: &Dataset) -> Result<Unit, NoPlacement> {
    let site = match &dataset.location {
        Some(Location::Region { cloud, region }) => ctx.places.find(cloud, region),
        Some(Location::Onprem { site }) => ctx.places.find("onprem", site),
        None => None,
    };
    let fits = site
        .map(|site| {
            let place = &ctx.places.sites[site];
            let cloud = ctx.cloud(&place.cloud);
            let per_gb = cloud.map_or(0.0, |c| cost::storage_usd_per_gb_month(c, &dataset.tier));
            let read_gb = ctx.reads_gb.get(&dataset.name).copied().unwrap_or(0.0);
            let retrieval = cloud.map_or(0.0, |c| {
                read_gb * cost::retrieval_usd_per_gb(c, &dataset.tier)
            });
            let candidate = Candidate {
                site,
                instance_type: "".into(),
                capacity: "stored",
                usd_per_hour: 0.0,
                units: 1.0,
                hours: 0.0,
                compute_usd: 0.0,
                storage_usd: dataset.size_bytes.to_f64() / 1e9 * per_gb,
                retrieval_usd: retrieval,
                uses: Vec::new(),
            };
            (site, candidate, Some(place.reference()))
        })
        .into_iter()
        .collect();
    // A dataset stays where it is: its location is a fact, not a choice, so residency
    // and allow-list findings about it come from `check`, not from here.
    let unit = Unit {
        kind: NodeKind::Dataset,
        name: dataset.name.clone(),
        copy: Copy::Only,
        candidates: fits_unfiltered(fits),
        excluded: Vec::new(),
        notes: Vec::new(),
    };
    if unit.candidates.is_empty() {
        return Err(NoPlacement {
            kind: NodeKind::Dataset,
            name: dataset.name.clone(),
            copy: Copy::Only,
            needs: "its `location`".into(),
            reasons: Vec::new(),
            offered_on: Box::default(),
        });
    }
    Ok(unit)
}

fn fits_unfiltered(fits: Vec<(usize, Candidate, Option<String>)>) -> Vec<Candidate> {
    fits.into_iter().map(|(_, c, _)| c).collect()
}

fn train_unit(ctx: &Context, train: &crate::check::model::Train) -> Result<Unit, NoPlacement> {
    let run_hours = train.max_runtime_seconds.to_f64() / 3600.0;
    let hours = run_hours * train.runs_per_month.to_f64();
    let checkpoint = train.checkpoint_every_seconds.map(|s| s.to_f64() / 3600.0);
    let node = GpuNode {
        accel: &train.accelerator,
        vcpus: 0.0,
        memory_gib: 0.0,
    };
    let mut fits = gpu_fits(
        ctx,
        &node,
        &train.capacity,
        train.nodes as f64,
        hours,
        run_hours,
        checkpoint,
        None,
    );
    // The job's model folder, in object storage: the trained weights (fp32) in the
    // standard class, and its checkpoints: the volume the spec sizes, else the `keep` (2)
    // newest, in the standard class.
    let weights = (train.model.parameters() as f64 * 4.0, "standard");
    let checkpoints = match &train.checkpoint_storage {
        Some(volume) => Some((volume.size_bytes.to_f64(), volume.tier.as_str())),
        None => train
            .checkpoint_every_seconds
            .map(|_| (2.0 * train.checkpoint_bytes(), "standard")),
    };
    for (bytes, tier) in std::iter::once(weights).chain(checkpoints) {
        for (_, candidate, _) in &mut fits {
            let site = &ctx.places.sites[candidate.site];
            if let Some(cloud) = ctx.cloud(&site.cloud) {
                candidate.storage_usd += bytes / 1e9 * cost::storage_usd_per_gb_month(cloud, tier);
            }
        }
    }
    let needs = Needs {
        rules: ctx.rules.get(NodeKind::Train, &train.name),
        pin: train.pin(),
        strategy_cloud: strategy_cloud(ctx.model, Strategy::CostOptimized, &Copy::Only),
        near: None,
        continents: None,
    };
    let what = format!(
        "{} x {} per node ({} nodes) on {}",
        train.accelerator.name,
        train.accelerator.count,
        train.nodes,
        capacity_word(train.capacity.primary)
    );
    finish(
        ctx,
        NodeKind::Train,
        &train.name,
        Copy::Only,
        &needs,
        what,
        &fits,
        Vec::new(),
    )
}

fn batch_unit(ctx: &Context, batch: &crate::check::model::Batch) -> Result<Unit, NoPlacement> {
    let run_hours = batch.max_runtime_seconds.to_f64() / 3600.0;
    let hours = run_hours * batch.runs_per_month.to_f64();
    let nodes = batch.nodes as f64;
    let producer = Some(batch.name.as_str());
    let (fits, what) = match &batch.accelerator {
        Some(accel) => (
            gpu_fits(
                ctx,
                &GpuNode {
                    accel,
                    vcpus: batch.cpu.map_or(0.0, |c| c.to_f64()),
                    memory_gib: batch
                        .memory_bytes
                        .map_or(0.0, |m| m.to_f64() / f64::from(1u32 << 30)),
                },
                &batch.capacity,
                nodes,
                hours,
                run_hours,
                None,
                producer,
            ),
            format!("{} x {} per node", accel.name, accel.count),
        ),
        None => {
            let cpu = batch.cpu.map_or(1.0, |c| c.to_f64());
            let memory = batch
                .memory_bytes
                .map_or(0.0, |m| m.to_f64() / f64::from(1u32 << 30));
            let mut fits = cpu_fits(
                ctx,
                cpu,
                memory,
                &batch.capacity,
                nodes,
                hours,
                Share::Whole,
                producer,
            );
            fits.extend(site_cpu_fits(
                ctx,
                NodeKind::Batch,
                &batch.name,
                cpu,
                memory,
                nodes,
                hours,
            ));
            (fits, format!("{cpu} vCPUs and {memory:.0} GiB per node"))
        }
    };
    let needs = Needs {
        rules: ctx.rules.get(NodeKind::Batch, &batch.name),
        pin: batch.pin(),
        strategy_cloud: strategy_cloud(ctx.model, Strategy::CostOptimized, &Copy::Only),
        near: None,
        continents: None,
    };
    finish(
        ctx,
        NodeKind::Batch,
        &batch.name,
        Copy::Only,
        &needs,
        what,
        &fits,
        Vec::new(),
    )
}

fn service_unit(
    ctx: &Context,
    service: &crate::check::model::Service,
    copy: Copy,
) -> Result<Unit, NoPlacement> {
    let load = service_load(service, &copy);
    let (replicas, hours) = (load.replicas, load.hours);
    let notes: Vec<String> = load.note.into_iter().collect();
    let (fits, what) = match &service.accelerator {
        Some(accel) => (
            gpu_fits(
                ctx,
                &GpuNode {
                    accel,
                    vcpus: service.cpu.map_or(0.0, |(_, hi)| hi.to_f64()),
                    memory_gib: service
                        .memory_bytes
                        .map_or(0.0, |(_, hi)| hi.to_f64() / f64::from(1u32 << 30)),
                },
                &service.capacity,
                replicas,
                hours,
                HOURS_PER_MONTH,
                None,
                None,
            ),
            format!("{} x {} per replica", accel.name, accel.count),
        ),
        None => {
            let (cpu, memory) = super::cost::replica_request(service);
            let mut fits = cpu_fits(
                ctx,
                cpu,
                memory,
                &service.capacity,
                replicas,
                hours,
                Share::Packed(replicas),
                None,
            );
            fits.extend(site_cpu_fits(
                ctx,
                NodeKind::Service,
                &service.name,
                cpu,
                memory,
                replicas,
                hours,
            ));
            (fits, format!("{cpu} vCPUs and {memory:.1} GiB per replica"))
        }
    };
    let fits = if load.idle { idle(fits) } else { fits };
    let near_geo = match &copy {
        Copy::Near(geo) => Some(geo.clone()),
        _ => None,
    };
    let near = near_geo.as_deref();
    // A service's users are near its `near` geographies: whatever the strategy, it stays
    // on their continents (a geographic copy, in its own geography) unless the rules
    // leave nothing there.
    let continents: BTreeSet<String> = match near {
        Some(geo) => continent_of(ctx, geo).into_iter().collect(),
        None => service
            .near
            .iter()
            .filter_map(|g| continent_of(ctx, g))
            .collect(),
    };
    let needs = Needs {
        rules: ctx.rules.get(NodeKind::Service, &service.name),
        pin: service.pin(),
        strategy_cloud: strategy_cloud(ctx.model, service.strategy, &copy),
        near,
        continents: (!continents.is_empty()).then_some(&continents),
    };
    let tries = [
        (needs, None),
        (
            Needs {
                near: None,
                ..needs
            },
            Some("no allowed region in its `near` geography: served from the cheapest allowed region on the same continent"),
        ),
        (
            Needs {
                near: None,
                continents: None,
                ..needs
            },
            Some("no allowed region on the continents of its `near` geographies: served from the cheapest allowed region"),
        ),
    ];
    let mut first_failure = None;
    for (needs, note) in tries.iter() {
        let mut notes = notes.clone();
        notes.extend(note.map(String::from));
        match finish(
            ctx,
            NodeKind::Service,
            &service.name,
            copy.clone(),
            needs,
            what.clone(),
            &fits,
            notes,
        ) {
            Ok(unit) => return Ok(unit),
            Err(failure) => {
                first_failure.get_or_insert(failure);
            }
        }
    }
    Err(first_failure.expect("at least one try"))
}

/// How many replicas a copy of a service is priced at, for how many hours a month.
struct ServiceLoad {
    replicas: f64,
    hours: f64,
    /// A scale-to-zero service without `requests`: priced at $0 (its fits are for one
    /// replica for the month, which picks each site's instance and says what an active
    /// hour costs).
    idle: bool,
    note: Option<String>,
}

/// The replicas a copy needs: a warm standby runs one (it scales out when traffic fails
/// over); a service with a floor runs its `replicas_min`; a service that scales to zero
/// runs what KEDA asks for at the mean rate of its `requests` while they keep it awake,
/// or is priced idle when the spec gives no rate.
fn service_load(service: &crate::check::model::Service, copy: &Copy) -> ServiceLoad {
    let month = |replicas: f64, note: Option<String>| ServiceLoad {
        replicas,
        hours: HOURS_PER_MONTH,
        idle: false,
        note,
    };
    let max = service.replicas_max;
    if *copy == Copy::Standby {
        return month(1.0, None);
    }
    if service.replicas_min > 0 {
        let note = (max > service.replicas_min).then(|| {
            format!(
                "priced at the minimum of {} replicas; the autoscaler adds nodes like these as replicas grow, up to {max}",
                service.replicas_min
            )
        });
        return month(service.replicas_min as f64, note);
    }
    let rate = service
        .requests_per_month
        .map(|r| r.to_f64() / (HOURS_PER_MONTH * 3600.0))
        .filter(|r| *r > 0.0);
    let Some(rate) = rate else {
        return ServiceLoad {
            idle: true,
            ..month(
                1.0,
                Some("scales to zero and the spec gives no `requests`: priced idle at $0 (a finding says what an active hour costs)".into()),
            )
        };
    };
    let load = cost::scale_to_zero_load(rate, max);
    let hours = HOURS_PER_MONTH * load.awake_share;
    ServiceLoad {
        replicas: load.replicas as f64,
        hours,
        idle: false,
        note: Some(format!(
            "scales to zero: priced at {} replica(s) for {hours:.1} h, what KEDA runs at the mean rate of its `requests` ({rate:.3} a second, {} a replica) while requests keep it awake; the autoscaler adds nodes like these as replicas grow, up to {max}",
            load.replicas,
            cost::keda_requests_per_replica(rate, max)
        )),
    }
}

/// An idle service's fits: per site the cheapest one when active, at no cost.
fn idle(fits: Vec<(usize, Candidate, Option<String>)>) -> Vec<(usize, Candidate, Option<String>)> {
    let mut cheapest: BTreeMap<usize, (usize, Candidate, Option<String>)> = BTreeMap::new();
    for fit in fits {
        let better = cheapest
            .get(&fit.0)
            .is_none_or(|best| fit.1.monthly_usd() < best.1.monthly_usd());
        if better {
            cheapest.insert(fit.0, fit);
        }
    }
    cheapest
        .into_values()
        .map(|(site, mut candidate, label)| {
            candidate.units = 0.0;
            candidate.hours = 0.0;
            candidate.compute_usd = 0.0;
            candidate.uses.clear();
            (site, candidate, label)
        })
        .collect()
}

fn continent_of(ctx: &Context, geography: &str) -> Option<String> {
    ctx.model
        .knowledge
        .geographies
        .iter()
        .find(|g| g.name == geography)
        .map(|g| g.continent.clone())
}

fn function_unit(
    ctx: &Context,
    function: &crate::check::model::Function,
    copy: Copy,
) -> Result<Unit, NoPlacement> {
    let invocations = function.invocations_per_month.to_f64();
    let seconds = function.avg_duration_seconds.to_f64();
    let memory_gb = function.memory_bytes.to_f64() / f64::from(1u32 << 30);
    let mut fits = Vec::new();
    let mut notes = Vec::new();
    let what;
    if function.platform == "knative" {
        // Knative runs on the cluster: its busy hours plus the instances kept warm.
        let busy = invocations * seconds / 3600.0 + function.min_instances as f64 * HOURS_PER_MONTH;
        let capacity = Capacity {
            primary: CapacityKind::OnDemand,
            fallback: None,
        };
        fits = match &function.accelerator {
            Some(accel) => {
                let node = GpuNode {
                    accel,
                    vcpus: 0.0,
                    memory_gib: memory_gb,
                };
                gpu_fits(ctx, &node, &capacity, 1.0, busy, busy, None, None)
            }
            None => cpu_fits(
                ctx,
                1.0,
                memory_gb,
                &capacity,
                1.0,
                busy,
                Share::Fraction,
                None,
            ),
        };
        what = "a Knative cluster node".to_string();
    } else {
        for cloud in &ctx.model.knowledge.clouds {
            let Some(price) = cloud
                .serverless
                .iter()
                .find(|s| s.platform == function.platform)
            else {
                continue;
            };
            let priced = cost::serverless(price, &serverless_load(function, price));
            for (site, place) in ctx
                .places
                .sites
                .iter()
                .enumerate()
                .filter(|(_, p)| p.cloud == cloud.name)
            {
                fits.push((
                    site,
                    Candidate {
                        site,
                        instance_type: price.product.as_str().into(),
                        capacity: "serverless",
                        usd_per_hour: 0.0,
                        units: 1.0,
                        hours: 0.0,
                        compute_usd: priced.total(),
                        storage_usd: 0.0,
                        retrieval_usd: 0.0,
                        uses: Vec::new(),
                    },
                    Some(format!("{} {} {}", place.cloud, place.code, price.product)),
                ));
            }
        }
        what = format!("the `{}` platform", function.platform);
        if let Some(price) = ctx.model.knowledge.serverless_platform(&function.platform) {
            notes = serverless_notes(function, price);
        }
    }
    let needs = Needs {
        rules: ctx.rules.get(NodeKind::Function, &function.name),
        pin: function.pin(),
        strategy_cloud: strategy_cloud(ctx.model, function.strategy, &copy),
        near: None,
        continents: None,
    };
    finish(
        ctx,
        NodeKind::Function,
        &function.name,
        copy,
        &needs,
        what,
        &fits,
        notes,
    )
}

/// A month of `function`'s calls, on the instance memory its platform bills.
pub(super) fn serverless_load(
    function: &crate::check::model::Function,
    price: &ServerlessPrice,
) -> cost::ServerlessLoad {
    let billed = price.billed_memory_bytes(function.memory_bytes);
    cost::ServerlessLoad {
        invocations: function.invocations_per_month.to_f64(),
        seconds_per_call: function.avg_duration_seconds.to_f64(),
        memory_gb: billed.to_f64() / f64::from(1u32 << 30),
        vcpus: if price.usd_per_vcpu_second.is_some() {
            cost::cloud_functions_vcpus((billed.to_f64() / f64::from(1u32 << 20)).ceil() as u64)
                as f64
        } else {
            0.0
        },
        warm_instances: function.min_instances,
    }
}

/// What a reviewer needs to follow a serverless price: the instance size billed instead
/// of the function's `memory`, and a minimum billed duration above its `avg_duration`.
fn serverless_notes(
    function: &crate::check::model::Function,
    price: &ServerlessPrice,
) -> Vec<String> {
    let mut notes = Vec::new();
    let billed = price.billed_memory_bytes(function.memory_bytes);
    if billed > function.memory_bytes {
        notes.push(format!(
            "billed for {} MiB instances, the smallest {} size that holds its `memory` (`mlc build` deploys that size)",
            super::render::trim(billed.to_f64() / f64::from(1u32 << 20)),
            price.title
        ));
    }
    let minimum = price.min_billed_seconds;
    if minimum > function.avg_duration_seconds {
        notes.push(format!(
            "each call is billed at least {} s, the platform's minimum, though its `avg_duration` is {} ms: an upper bound, as calls that overlap on one instance share that minimum",
            super::render::trim(minimum.to_f64()),
            super::render::trim(function.avg_duration_seconds.to_f64() * 1000.0)
        ));
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::same_accelerator;
    use crate::catalog::normalise_accelerator;

    #[test]
    fn same_accelerator_agrees_with_normalising_both_names() {
        let names = [
            "A100_80GB",
            "A100-80GB",
            "a100_80gb",
            " A100-80GB ",
            "A100",
            "H100_MEGA",
            "H100-MEGA",
            "h100",
            "T4",
            "t4 ",
            "L40S",
            "L4",
            "",
        ];
        for a in names {
            for b in names {
                let expected = normalise_accelerator(a) == normalise_accelerator(b);
                assert_eq!(same_accelerator(a, b), expected, "{a:?} vs {b:?}");
            }
        }
    }
}
