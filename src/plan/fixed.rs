//! Fixed costs: what `mlc build` creates in a cloud region that bills whatever the load
//! (a cluster's control plane, system nodes and private endpoints; a region's key),
//! priced from the `fixed` blocks of `stdlib/clouds/*.mlc`. The solver sees them as
//! facilities: `fixed` prices that the same placements make the build create are
//! bundled into one facility per region, which a candidate opens when it needs any of
//! them; the plan lists each price as a line item naming its Terraform addresses.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::check::model::{FixedPrice, Model};
use crate::graph::NodeKind;
use crate::optimize::{Facility, FacilityId};

use super::places::Places;
use super::LineItem;

/// What a candidate makes the build create in its region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Need {
    /// A dataset's bucket: the region's key.
    Stored,
    /// A job, service or Knative function: a cluster (and the region's key).
    Cluster,
    /// A function on the cloud's serverless platform (and the region's key).
    Functions,
    /// An on-prem site: nothing in a cloud.
    Nothing,
}

impl Need {
    pub(crate) fn of(kind: NodeKind, capacity: &str) -> Need {
        match (kind, capacity) {
            (_, "onprem") => Need::Nothing,
            (NodeKind::Dataset, _) | (_, "stored") => Need::Stored,
            (_, "serverless") => Need::Functions,
            _ => Need::Cluster,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// `fixed` prices of one region that the same needs create: one solver facility.
#[derive(Debug, Clone)]
pub(crate) struct Bundle {
    pub cloud: String,
    pub code: String,
    pub region: String,
    pub prices: Vec<FixedPrice>,
    pub monthly_usd: f64,
}

/// Every region's bundles and, per site and need, the facilities a candidate opens.
pub(crate) struct FixedCosts {
    pub bundles: Vec<Bundle>,
    opens: Vec<[Arc<[FacilityId]>; 4]>,
}

impl FixedCosts {
    pub(crate) fn build(model: &Model, places: &Places) -> FixedCosts {
        let security = model.security.as_ref();
        let network = security.and_then(|s| s.network.as_deref());
        // As the build decides: Terraform's network is private unless it is `public`;
        // Lambda functions join a VPC only under `private` (emit/serverless).
        let private_network = network != Some("public");
        let private_functions = network == Some("private");
        let named_key_cloud = security
            .and_then(|s| s.kms_key.as_ref())
            .map(|k| k.cloud.as_str());
        let mut bundles: Vec<Bundle> = Vec::new();
        let mut opens = Vec::with_capacity(places.sites.len());
        for site in &places.sites {
            let none: Arc<[FacilityId]> = Arc::from([]);
            let mut site_opens = [
                Arc::clone(&none),
                Arc::clone(&none),
                Arc::clone(&none),
                Arc::clone(&none),
            ];
            let Some(cloud) = model
                .knowledge
                .clouds
                .iter()
                .find(|c| c.name == site.cloud && !site.is_onprem())
            else {
                opens.push(site_opens);
                continue;
            };
            let created = cloud.fixed.iter().filter(|p| {
                (private_network || !p.private_only)
                    && !(p.unless_named_key && named_key_cloud == Some(cloud.name.as_str()))
            });
            let mut by_needs: BTreeMap<Vec<String>, Vec<FixedPrice>> = BTreeMap::new();
            for price in created {
                let mut needs = price.needed_by.clone();
                needs.sort();
                by_needs.entry(needs).or_default().push(price.clone());
            }
            let first = bundles.len();
            for prices in by_needs.into_values() {
                bundles.push(Bundle {
                    cloud: site.cloud.clone(),
                    code: site.code.clone(),
                    region: site.region.clone(),
                    monthly_usd: prices.iter().map(|p| p.usd_per_month.to_f64()).sum(),
                    prices,
                });
            }
            for need in [Need::Stored, Need::Cluster, Need::Functions] {
                let words: &[&str] = match need {
                    Need::Stored => &["region"],
                    Need::Cluster => &["region", "cluster"],
                    Need::Functions if private_functions => {
                        &["region", "functions", "private_functions"]
                    }
                    _ => &["region", "functions"],
                };
                let ids: Vec<FacilityId> = (first..bundles.len())
                    .filter(|&b| {
                        bundles[b]
                            .prices
                            .iter()
                            .any(|p| p.needed_by.iter().any(|n| words.contains(&n.as_str())))
                    })
                    .collect();
                site_opens[need.index()] = ids.into();
            }
            opens.push(site_opens);
        }
        FixedCosts { bundles, opens }
    }

    /// The facilities a candidate at `site` with `need` opens.
    pub(crate) fn opens(&self, site: usize, need: Need) -> Arc<[FacilityId]> {
        Arc::clone(&self.opens[site][need.index()])
    }

    pub(crate) fn facilities(&self) -> Vec<Facility> {
        self.bundles
            .iter()
            .map(|b| Facility {
                name: format!(
                    "{} {}: {}",
                    b.cloud,
                    b.code,
                    b.prices
                        .iter()
                        .map(|p| p.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                monthly_usd: b.monthly_usd,
            })
            .collect()
    }

    /// One line item per price of every opened bundle, naming what it prices.
    pub(crate) fn line_items(&self, opened: &[bool]) -> Vec<LineItem> {
        let mut items = Vec::new();
        for (bundle, _) in self.bundles.iter().zip(opened).filter(|(_, o)| **o) {
            for price in &bundle.prices {
                let resources: Vec<String> = price
                    .resources
                    .iter()
                    .map(|r| address(r, &bundle.region, &bundle.code))
                    .collect();
                items.push(LineItem {
                    category: "fixed".into(),
                    name: format!("{}.{} {}", bundle.cloud, bundle.region, price.name),
                    monthly_usd: price.usd_per_month.to_f64(),
                    detail: price.product.clone(),
                    resources,
                });
            }
        }
        items
    }

    /// The fixed cost per region the plan opens: (cloud, region code, USD a month).
    pub(crate) fn per_region(&self, opened: &[bool]) -> Vec<(String, String, f64)> {
        let mut regions: BTreeMap<(String, String), f64> = BTreeMap::new();
        for (bundle, _) in self.bundles.iter().zip(opened).filter(|(_, o)| **o) {
            *regions
                .entry((bundle.cloud.clone(), bundle.code.clone()))
                .or_default() += bundle.monthly_usd;
        }
        regions
            .into_iter()
            .map(|((cloud, code), usd)| (cloud, code, usd))
            .collect()
    }
}

/// A price's resource with `{region}` (the Terraform identifier of the region's spec
/// name, as `emit/terraform` writes it) and `{code}` filled in.
fn address(template: &str, region: &str, code: &str) -> String {
    template
        .replace("{region}", &crate::emit::terraform::ident(region))
        .replace("{code}", code)
}
