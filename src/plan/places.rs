//! Where workloads can run: every cloud region of the standard library and every on-prem
//! site, with the facts placement needs (cloud, geography, jurisdiction, continent) and
//! the solver's view of them (a [`Location`] with its egress rates).

use crate::check::model::Model;
use crate::check::schema::CONTINENTS;
use crate::optimize::Location;
use std::collections::BTreeMap;

/// One place: a cloud region (`aws.us_east_1`) or an on-prem site (`onprem.dc`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// `aws`, `gcp`, `azure`, or `onprem`.
    pub cloud: String,
    /// The region's name in specs (`us_east_1`) or the site's name.
    pub region: String,
    /// The provider's region code (`us-east-1`); the site's name for on-prem.
    pub code: String,
    pub geography: String,
    pub jurisdiction: String,
    pub continent: String,
}

impl Site {
    pub fn is_onprem(&self) -> bool {
        self.cloud == "onprem"
    }

    /// `aws.us_east_1`, `onprem.boston_dc`: as a spec writes it.
    pub fn reference(&self) -> String {
        format!("{}.{}", self.cloud, self.region)
    }
}

/// Every site, indexed like the solver's locations (`sites[i]` is `locations[i]`).
#[derive(Debug, Clone, Default)]
pub struct Places {
    pub sites: Vec<Site>,
    pub locations: Vec<Location>,
    by_reference: BTreeMap<(String, String), usize>,
    /// Cloud, then region code: looked up per catalog row without allocating.
    by_code: BTreeMap<String, BTreeMap<String, usize>>,
}

impl Places {
    /// Cloud regions in stdlib order (clouds and regions sorted by name), then on-prem
    /// sites. Each cloud, and each on-prem site, is a cloud of its own for egress.
    pub fn build(model: &Model) -> Places {
        let mut places = Places::default();
        let geography = |name: &str| model.knowledge.geographies.iter().find(|g| g.name == name);
        let continent_id = |continent: &str| {
            CONTINENTS
                .iter()
                .position(|c| *c == continent)
                .unwrap_or(CONTINENTS.len()) as u32
        };
        for (cloud_id, cloud) in model.knowledge.clouds.iter().enumerate() {
            for region in &cloud.regions {
                let continent = geography(&region.geography)
                    .map(|g| g.continent.clone())
                    .unwrap_or_default();
                let rate = |v: Option<crate::check::units::Exact>| v.map_or(0.0, |e| e.to_f64());
                let internet = region
                    .egress_internet_usd_per_gb
                    .or(cloud.egress_internet_usd_per_gb);
                // Data edges within a region read object storage from compute or ship
                // an artifact; the clouds do not charge that (their same-region rate is
                // for traffic between zones, which the plan does not model).
                let egress = monotone([
                    0.0,
                    rate(cloud.egress_inter_region_usd_per_gb),
                    rate(cloud.egress_inter_continent_usd_per_gb),
                    rate(internet),
                ]);
                places.push(
                    Site {
                        cloud: cloud.name.clone(),
                        region: region.name.clone(),
                        code: region.code.clone(),
                        geography: region.geography.clone(),
                        jurisdiction: region.jurisdiction.clone(),
                        continent: continent.clone(),
                    },
                    cloud_id as u32,
                    continent_id(&continent),
                    egress,
                );
            }
        }
        let first_site_cloud = model.knowledge.clouds.len() as u32;
        for (i, site) in model.onprem.iter().enumerate() {
            let geo = geography(&site.geography);
            let continent = geo.map(|g| g.continent.clone()).unwrap_or_default();
            let jurisdiction = site
                .jurisdiction
                .clone()
                .or_else(|| geo.map(|g| g.jurisdiction.clone()))
                .unwrap_or_default();
            // Data leaving a site goes over the owner's own links: no per-GB price.
            places.push(
                Site {
                    cloud: "onprem".into(),
                    region: site.name.clone(),
                    code: site.name.clone(),
                    geography: site.geography.clone(),
                    jurisdiction,
                    continent: continent.clone(),
                },
                first_site_cloud + i as u32,
                continent_id(&continent),
                [0.0; 4],
            );
        }
        places
    }

    fn push(&mut self, site: Site, cloud: u32, continent: u32, egress: [f64; 4]) {
        let id = self.sites.len();
        self.locations.push(Location {
            name: site.reference(),
            cloud,
            continent,
            region: id as u32,
            egress,
        });
        self.by_reference
            .insert((site.cloud.clone(), site.region.clone()), id);
        self.by_code
            .entry(site.cloud.clone())
            .or_default()
            .insert(site.code.clone(), id);
        self.sites.push(site);
    }

    /// The site a spec names: `("aws", "us_east_1")` or `("onprem", "dc")`.
    pub fn find(&self, cloud: &str, region: &str) -> Option<usize> {
        self.by_reference
            .get(&(cloud.to_string(), region.to_string()))
            .copied()
    }

    /// The site of a catalog row: `("aws", "us-east-1")`.
    pub fn by_code(&self, cloud: &str, code: &str) -> Option<usize> {
        self.by_code.get(cloud)?.get(code).copied()
    }
}

/// Egress rates never fall with distance (the solver relies on it); a stdlib that says
/// otherwise is read as the larger rate.
fn monotone(mut rates: [f64; 4]) -> [f64; 4] {
    for i in 1..rates.len() {
        rates[i] = rates[i].max(rates[i - 1]);
    }
    rates
}
