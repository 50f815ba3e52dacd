//! The cost model: every number a plan shows comes from a catalog row or a stdlib entry
//! through one of these functions. docs/plan.md states each rule with a worked example.

use crate::catalog::Offering;
use crate::check::model::{CapacityKind, CloudInfo, ServerlessPrice, StorageClass};

/// Hours in a billing month (the clouds' 730-hour convention).
pub const HOURS_PER_MONTH: f64 = 730.0;

/// Off-peak hours a week: 22:00-06:00 on the five weekday nights plus the 48-hour weekend.
pub const OFF_PEAK_HOURS_PER_WEEK: f64 = 5.0 * 8.0 + 48.0;
/// The longest off-peak stretch: Friday 22:00 to Monday 06:00.
pub const LONGEST_OFF_PEAK_HOURS: f64 = 56.0;

/// Off-peak hours in a billing month.
pub fn off_peak_hours_per_month() -> f64 {
    OFF_PEAK_HOURS_PER_WEEK * HOURS_PER_MONTH / 168.0
}

/// The hourly price of one VM at a capacity, and the word for it. `None` when the
/// offering is not sold that way (no spot price, no reserved factor, no on-demand price).
pub fn hourly_price(offering: &Offering, capacity: CapacityKind, cloud: &CloudInfo) -> Option<f64> {
    let on_demand = offering.price_usd_per_hour.map(|p| p.to_f64());
    match capacity {
        CapacityKind::OnDemand => on_demand,
        CapacityKind::Spot => offering.spot_price_usd_per_hour.map(|p| p.to_f64()),
        CapacityKind::Reserved { .. } => Some(on_demand? * capacity.price_factor(cloud)?.to_f64()),
    }
}

/// The share of a `spot fallback on_demand` workload's hours assumed to run on its
/// on-demand twin pool, when spot capacity is short: an assumption (docs/plan.md), not a
/// price; the plan notes what the workload would cost all on demand.
pub const SPOT_FALLBACK_SHARE: f64 = 0.1;

/// Billed hours of a spot job, with the work each interruption loses: an interruption
/// costs half a checkpoint interval of rework (the whole run so far without
/// checkpoints: half the run on average) plus the time to get a VM back.
pub fn spot_hours(
    hours: f64,
    run_hours: f64,
    checkpoint_hours: Option<f64>,
    cloud: &CloudInfo,
) -> f64 {
    let per_hour = cloud
        .spot_interruptions_per_second
        .map_or(0.0, |r| r.to_f64() * 3600.0);
    let restart = cloud
        .spot_restart_seconds
        .map_or(0.0, |s| s.to_f64() / 3600.0);
    let interval = checkpoint_hours.map_or(run_hours, |c| c.min(run_hours));
    hours * (1.0 + per_hour * (interval / 2.0 + restart))
}

/// Expected interruptions of one VM over `hours` (for the plan's notes).
pub fn spot_interruptions(hours: f64, cloud: &CloudInfo) -> f64 {
    hours
        * cloud
            .spot_interruptions_per_second
            .map_or(0.0, |r| r.to_f64() * 3600.0)
}

/// USD per GB-month of the cloud's storage class for a dataset tier (`standard` when the
/// tier has no class of its own).
pub fn storage_usd_per_gb_month(cloud: &CloudInfo, tier: &str) -> f64 {
    storage_class(cloud, tier).map_or(0.0, |s| s.usd_per_gb_month.to_f64())
}

/// USD per GB read back from the cloud's storage class for a dataset tier (infrequent
/// and archive classes charge retrieval; standard ones do not).
pub fn retrieval_usd_per_gb(cloud: &CloudInfo, tier: &str) -> f64 {
    storage_class(cloud, tier).map_or(0.0, |s| s.retrieval_usd_per_gb.to_f64())
}

/// The cloud's storage class that serves a dataset tier, else its standard class.
fn storage_class<'c>(cloud: &'c CloudInfo, tier: &str) -> Option<&'c StorageClass> {
    let class = |t: &str| cloud.storage.iter().find(|s| s.tier.as_deref() == Some(t));
    class(tier).or_else(|| class("standard"))
}

/// What one serverless function costs a month on its platform: compute (GB-seconds),
/// requests, and instances kept warm.
pub struct ServerlessCost {
    pub compute_usd: f64,
    pub requests_usd: f64,
    pub warm_usd: f64,
    /// GB-seconds, requests and vCPU-seconds billed at the on-demand rates, which the
    /// platform's free grant may cover: once per account, so the plan credits it once for
    /// all functions (`free_grant_usd`), not per function.
    pub grant_eligible: (f64, f64, f64),
}

impl ServerlessCost {
    pub fn total(&self) -> f64 {
        self.compute_usd + self.requests_usd + self.warm_usd
    }
}

/// A month of calls to one function.
pub struct ServerlessLoad {
    pub invocations: f64,
    pub seconds_per_call: f64,
    /// The memory each instance is billed for (`ServerlessPrice::billed_memory_bytes`), GiB.
    pub memory_gb: f64,
    /// The vCPUs each instance runs with where the platform bills them by the second
    /// (`cpu_per_vcpu`: Cloud Run functions, at `cloud_functions_vcpus`), else 0.
    pub vcpus: f64,
    pub warm_instances: u64,
}

/// The vCPUs `mlc build` gives a Cloud Run function of `memory_mib` (its `available_cpu`:
/// Cloud Functions' memory tiers, which 2nd gen still requires as minimums for large
/// memory), and so the vCPUs the plan bills by the second.
pub fn cloud_functions_vcpus(memory_mib: u64) -> u64 {
    match memory_mib {
        0..=2048 => 1,
        2049..=8192 => 2,
        8193..=16384 => 4,
        _ => 8,
    }
}

/// The platform's bill for `load`. Each call is billed at least the platform's minimum
/// duration. Warm instances (provisioned concurrency, always-ready instances) take calls
/// first, one at a time, with the month's calls spread evenly over it: where the
/// platform has a rate for running on them (`provisioned_memory_per_gb`), their calls
/// pay that rate, and the rest pay the on-demand rates (the free grants are the
/// account's: `free_grant_usd` credits them once for all functions). Warm instances also
/// pay their idle rate (`provisioned_per_gb`, else the on-demand GB-second rate) around
/// the clock.
pub fn serverless(price: &ServerlessPrice, load: &ServerlessLoad) -> ServerlessCost {
    let month_seconds = HOURS_PER_MONTH * 3600.0;
    let billed_seconds = load.seconds_per_call.max(price.min_billed_seconds.to_f64());
    let busy_seconds = load.invocations * billed_seconds;
    let warm_run_rate = price
        .provisioned_memory_usd_per_gb_second
        .map(|p| p.to_f64());
    let warm_share = match warm_run_rate {
        Some(_) if busy_seconds > 0.0 => {
            (load.warm_instances as f64 * month_seconds / busy_seconds).min(1.0)
        }
        _ => 0.0,
    };
    let on_demand = 1.0 - warm_share;
    let on_demand_gb_seconds = busy_seconds * on_demand * load.memory_gb;
    let warm_gb_seconds = busy_seconds * warm_share * load.memory_gb;
    let on_demand_requests = load.invocations * on_demand;
    // Billed vCPUs run only while a call does (Cloud Run functions' request-based billing).
    let vcpu_rate = price.usd_per_vcpu_second.map_or(0.0, |p| p.to_f64());
    let on_demand_vcpu_seconds = if vcpu_rate > 0.0 {
        busy_seconds * on_demand * load.vcpus
    } else {
        0.0
    };
    let requests = on_demand_requests + load.invocations * warm_share;
    let idle_rate = price
        .provisioned_usd_per_gb_second
        .map_or(price.usd_per_gb_second.to_f64(), |p| p.to_f64());
    ServerlessCost {
        compute_usd: on_demand_gb_seconds * price.usd_per_gb_second.to_f64()
            + warm_gb_seconds * warm_run_rate.unwrap_or(0.0)
            + on_demand_vcpu_seconds * vcpu_rate,
        requests_usd: requests * price.usd_per_request.to_f64(),
        warm_usd: load.warm_instances as f64 * load.memory_gb * month_seconds * idle_rate,
        grant_eligible: (
            on_demand_gb_seconds,
            on_demand_requests,
            on_demand_vcpu_seconds,
        ),
    }
}

/// What a platform's free grant takes off the bill of all its functions together: the
/// grant is the account's, once a month, whatever the functions' regions.
pub fn free_grant_usd(price: &ServerlessPrice, usage: (f64, f64, f64)) -> f64 {
    let (gb_seconds, requests, vcpu_seconds) = usage;
    let free = |f: Option<crate::check::units::Exact>| f.map_or(0.0, |f| f.to_f64());
    gb_seconds.min(free(price.free_gb_seconds_per_month)) * price.usd_per_gb_second.to_f64()
        + requests.min(free(price.free_requests_per_month)) * price.usd_per_request.to_f64()
        + vcpu_seconds.min(free(price.free_vcpu_seconds_per_month))
            * price.usd_per_vcpu_second.map_or(0.0, |p| p.to_f64())
}

/// The window of Prometheus' request rate that the KEDA ScaledObject of a scale-to-zero
/// service (what `mlc build` writes) scales on: a request keeps the rate above zero, and
/// so the service awake, this long.
pub const KEDA_RATE_WINDOW_MINUTES: u64 = 2;
/// How long KEDA keeps a replica after the rate falls to zero (`cooldownPeriod`).
pub const KEDA_COOLDOWN_SECONDS: u64 = 300;

/// The requests a second one replica takes before KEDA adds another (the trigger's
/// `threshold`): twice the month's mean rate spread over the most replicas, so the
/// peak fills them all; at least 1.
pub fn keda_requests_per_replica(requests_per_second: f64, replicas_max: u64) -> u64 {
    let per_replica = (2.0 * requests_per_second / replicas_max.max(1) as f64).ceil();
    if per_replica.is_finite() && per_replica >= 1.0 {
        per_replica.min(u64::MAX as f64) as u64
    } else {
        1
    }
}

/// What a scale-to-zero service with a known request rate runs in a month.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScaleToZeroLoad {
    /// The replicas KEDA runs at the month's mean rate: the rate over the trigger's
    /// requests per replica, rounded up, from 1 to the most replicas.
    pub replicas: u64,
    /// The share of the month it is awake: with requests arriving at random at the mean
    /// rate, the chance that one came within the rate window plus the cooldown.
    pub awake_share: f64,
}

pub fn scale_to_zero_load(requests_per_second: f64, replicas_max: u64) -> ScaleToZeroLoad {
    let per_replica = keda_requests_per_replica(requests_per_second, replicas_max) as f64;
    let needed = (requests_per_second / per_replica).ceil();
    let replicas = if needed.is_finite() {
        (needed.max(1.0) as u64).min(replicas_max.max(1))
    } else {
        replicas_max.max(1)
    };
    let awake_seconds = (KEDA_RATE_WINDOW_MINUTES * 60 + KEDA_COOLDOWN_SECONDS) as f64;
    ScaleToZeroLoad {
        replicas,
        awake_share: 1.0 - (-requests_per_second.max(0.0) * awake_seconds).exp(),
    }
}

/// Wall-clock hours a training job needs for its compute: 6 x parameters x tokens FLOPs
/// at `mfu` of the accelerators' peak.
pub fn training_hours(parameters: f64, tokens: f64, peak_tflops: f64, gpus: f64, mfu: f64) -> f64 {
    6.0 * parameters * tokens / (peak_tflops * 1e12 * mfu * gpus) / 3600.0
}

/// Replicas of a CPU `service` that a node of catalog row `node` holds; `None` where
/// the catalog gives no size or one replica does not fit.
pub fn service_pods_per_node(
    node: &Offering,
    service: &crate::check::model::Service,
) -> Option<u64> {
    let (vcpus, memory_gib) = replica_request(service);
    let request = super::allocatable::Resources { vcpus, memory_gib };
    let per_node = super::allocatable::pods_per_node(
        node.cloud,
        node.vcpus?.to_f64(),
        node.memory_gib?.to_f64(),
        request,
    );
    (per_node > 0).then_some(per_node)
}

/// Whole nodes for `replicas` at `per_node` a node.
pub fn nodes_for(replicas: f64, per_node: u64) -> u64 {
    if replicas <= 0.0 || per_node == 0 {
        return 0;
    }
    (replicas / per_node as f64 - 1e-9).ceil().max(1.0) as u64
}

/// What one CPU replica of `service` requests (its `resources` limits): vCPUs and GiB;
/// 1 vCPU and 2 GiB without `resources`.
pub fn replica_request(service: &crate::check::model::Service) -> (f64, f64) {
    let cpu = service.cpu.map_or(1.0, |(_, hi)| hi.to_f64());
    let memory = service
        .memory_bytes
        .map_or(2.0, |(_, hi)| hi.to_f64() / f64::from(1u32 << 30));
    (cpu, memory)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::units::Exact;

    fn cloud() -> CloudInfo {
        CloudInfo {
            name: "c".into(),
            title: "C".into(),
            egress_internet_usd_per_gb: None,
            egress_inter_region_usd_per_gb: None,
            egress_same_region_usd_per_gb: None,
            egress_inter_continent_usd_per_gb: None,
            egress_tiers: Vec::new(),
            reserved_1y: Exact::new(6, 10),
            reserved_3y: Exact::new(4, 10),
            spot_interruptions_per_second: Exact::new(1, 36_000),
            spot_restart_seconds: Some(Exact::int(600)),
            storage: Vec::new(),
            serverless: Vec::new(),
            fixed: Vec::new(),
            kubernetes: Vec::new(),
            node_fee_usd_per_second: Exact::int(0),
            regions: Vec::new(),
        }
    }

    #[test]
    fn spot_rework_grows_with_the_checkpoint_interval() {
        let c = cloud();
        // 0.1 interruptions an hour, 10 minutes to restart.
        let with = spot_hours(100.0, 10.0, Some(0.5), &c);
        assert!((with - 100.0 * (1.0 + 0.1 * (0.25 + 1.0 / 6.0))).abs() < 1e-9);
        let without = spot_hours(100.0, 10.0, None, &c);
        assert!((without - 100.0 * (1.0 + 0.1 * (5.0 + 1.0 / 6.0))).abs() < 1e-9);
        assert!(without > with);
    }

    /// A platform at round prices: $0.00002 a GB-second on demand, $0.20 a million
    /// calls, 1M calls and 400K GB-seconds free; warm instances $0.000004 a GB-second
    /// idle and, where `warm_rate`, $0.00001 a GB-second for the calls they run.
    fn platform(warm_rate: bool, min_billed_seconds: i128) -> ServerlessPrice {
        let rate = |num: i128, den: i128| Exact::new(num, den).unwrap();
        ServerlessPrice {
            platform: "p".into(),
            product: "P".into(),
            title: "P".into(),
            memory_min_bytes: None,
            memory_max_bytes: None,
            timeout_max_seconds: None,
            accelerators: false,
            min_instances: true,
            usd_per_gb_second: rate(2, 100_000),
            usd_per_vcpu_second: None,
            usd_per_request: rate(2, 10_000_000),
            provisioned_usd_per_gb_second: Some(rate(4, 1_000_000)),
            provisioned_memory_usd_per_gb_second: warm_rate.then(|| rate(1, 100_000)),
            free_requests_per_month: Some(Exact::int(1_000_000)),
            free_gb_seconds_per_month: Some(Exact::int(400_000)),
            free_vcpu_seconds_per_month: None,
            instance_memory_bytes: Vec::new(),
            min_billed_seconds: Exact::int(min_billed_seconds),
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9 * b.abs().max(1.0)
    }

    #[test]
    fn warm_instances_take_the_calls_first_at_their_own_rate() {
        let load = |invocations: f64, warm_instances: u64| ServerlessLoad {
            invocations,
            seconds_per_call: 0.1,
            memory_gb: 1.0,
            vcpus: 0.0,
            warm_instances,
        };
        let idle = 2_628_000.0 * 0.000004;
        // 100K busy seconds fit on one warm instance: all at its rate, no free grant.
        let fits = serverless(&platform(true, 0), &load(1e6, 1));
        assert!(close(fits.compute_usd, 100e3 * 0.00001));
        assert!(close(fits.requests_usd, 1e6 * 0.2e-6));
        assert!(close(fits.warm_usd, idle));
        assert_eq!(fits.grant_eligible, (0.0, 0.0, 0.0));
        // 10M busy seconds: the warm instance takes 2,628,000 of them, the rest run on
        // demand, which the account's free grants may cover (credited once, by the plan).
        let spills = serverless(&platform(true, 0), &load(100e6, 1));
        let share = 2_628_000.0 / 10e6;
        let on_demand = 10e6 * (1.0 - share) * 0.00002;
        assert!(close(spills.compute_usd, on_demand + 2_628_000.0 * 0.00001));
        assert!(close(spills.requests_usd, 100e6 * 0.2e-6));
        assert!(close(spills.grant_eligible.0, 10e6 * (1.0 - share)));
        assert!(close(spills.grant_eligible.1, 100e6 * (1.0 - share)));
        // Without a rate for warm calls, every call runs on demand; warm instances idle
        // at their own rate all the same.
        let on_demand_only = serverless(&platform(false, 0), &load(1e6, 1));
        assert!(close(on_demand_only.compute_usd, 100e3 * 0.00002));
        assert!(close(on_demand_only.warm_usd, idle));
        // The grant covers all of it: 100K of 400K GB-s, 1M of 1M calls.
        let grant = free_grant_usd(&platform(false, 0), (100e3, 1e6, 0.0));
        assert!(close(grant, 100e3 * 0.00002 + 1e6 * 0.2e-6));
        assert!(close(
            free_grant_usd(&platform(false, 0), (1e9, 1e9, 1e9)),
            400e3 * 0.00002 + 1e6 * 0.2e-6
        ));
    }

    #[test]
    fn calls_are_billed_at_least_the_platform_minimum() {
        let load = ServerlessLoad {
            invocations: 2e6,
            seconds_per_call: 0.2,
            memory_gb: 2.0,
            vcpus: 0.0,
            warm_instances: 0,
        };
        let billed = serverless(&platform(true, 1), &load);
        assert!(close(billed.compute_usd, 2e6 * 1.0 * 2.0 * 0.00002));
        let exact = serverless(&platform(true, 0), &load);
        assert!(close(exact.compute_usd, 2e6 * 0.2 * 2.0 * 0.00002));
    }

    #[test]
    fn a_scale_to_zero_service_runs_what_keda_asks_for_while_requests_arrive() {
        // 150M requests a month: 57 a second; 4 replicas at most take 29 each, so the
        // mean rate needs 2, and requests never leave it idle.
        let busy = scale_to_zero_load(150e6 / (HOURS_PER_MONTH * 3600.0), 4);
        assert_eq!(busy.replicas, 2);
        assert!(busy.awake_share > 0.999_999);
        // A few thousand a month: one replica, awake while a request came within the
        // last 7 minutes.
        let rate = 5_000.0 / (HOURS_PER_MONTH * 3600.0);
        let quiet = scale_to_zero_load(rate, 4);
        assert_eq!(quiet.replicas, 1);
        let expected = 1.0 - (-rate * 420.0).exp();
        assert!((quiet.awake_share - expected).abs() < 1e-12);
        assert!(quiet.awake_share > 0.5 && quiet.awake_share < 0.6);
        // No traffic: asleep all month.
        assert_eq!(scale_to_zero_load(0.0, 4).awake_share, 0.0);
    }

    #[test]
    fn keda_threshold_spreads_twice_the_mean_over_the_most_replicas() {
        assert_eq!(keda_requests_per_replica(57.08, 4), 29);
        assert_eq!(keda_requests_per_replica(0.2, 4), 1);
        assert_eq!(keda_requests_per_replica(10.0, 0), 20);
    }

    #[test]
    fn off_peak_month() {
        assert!((off_peak_hours_per_month() - 382.38).abs() < 0.01);
    }
}
