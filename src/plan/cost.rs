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

/// What one serverless function costs a month on its platform: compute (GB-seconds less
/// the free tier), requests (less the free tier), and instances kept warm.
pub struct ServerlessCost {
    pub compute_usd: f64,
    pub requests_usd: f64,
    pub warm_usd: f64,
}

impl ServerlessCost {
    pub fn total(&self) -> f64 {
        self.compute_usd + self.requests_usd + self.warm_usd
    }
}

pub fn serverless(
    price: &ServerlessPrice,
    invocations: f64,
    seconds_per_call: f64,
    memory_gb: f64,
    min_instances: u64,
) -> ServerlessCost {
    let free_gb_seconds = price.free_gb_seconds_per_month.map_or(0.0, |f| f.to_f64());
    let free_requests = price.free_requests_per_month.map_or(0.0, |f| f.to_f64());
    let gb_seconds = (invocations * seconds_per_call * memory_gb - free_gb_seconds).max(0.0);
    let requests = (invocations - free_requests).max(0.0);
    let warm_rate = price
        .provisioned_usd_per_gb_second
        .map_or(price.usd_per_gb_second.to_f64(), |p| p.to_f64());
    ServerlessCost {
        compute_usd: gb_seconds * price.usd_per_gb_second.to_f64(),
        requests_usd: requests * price.usd_per_request.to_f64(),
        warm_usd: min_instances as f64 * memory_gb * HOURS_PER_MONTH * 3600.0 * warm_rate,
    }
}

/// Wall-clock hours a training job needs for its compute: 6 x parameters x tokens FLOPs
/// at `mfu` of the accelerators' peak.
pub fn training_hours(parameters: f64, tokens: f64, peak_tflops: f64, gpus: f64, mfu: f64) -> f64 {
    6.0 * parameters * tokens / (peak_tflops * 1e12 * mfu * gpus) / 3600.0
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

    #[test]
    fn off_peak_month() {
        assert!((off_peak_hours_per_month() - 382.38).abs() < 0.01);
    }
}
