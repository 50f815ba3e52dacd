//! Filtering and ordering offerings: `mlc catalog --gpu A100 --min-gpus 8 --spot`.

use super::data::{Catalog, Offering};
use crate::check::model::Knowledge;
use crate::check::schema::JURISDICTIONS;
use crate::check::units::Exact;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Where each catalog region is, from the standard library's `cloud` declarations.
#[derive(Debug, Clone, Default)]
pub struct Places {
    /// `(cloud, region code)` to the region's facts.
    regions: BTreeMap<(String, String), Place>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The region's name in specs, e.g. `us_east_1` (as in `aws.us_east_1`).
    pub name: String,
    pub geography: String,
    pub jurisdiction: String,
}

impl Places {
    pub fn from_knowledge(knowledge: &Knowledge) -> Places {
        let mut regions = BTreeMap::new();
        for cloud in &knowledge.clouds {
            for region in &cloud.regions {
                let place = Place {
                    name: region.name.clone(),
                    geography: region.geography.clone(),
                    jurisdiction: region.jurisdiction.clone(),
                };
                regions.insert((cloud.name.clone(), region.code.clone()), place);
            }
        }
        Places { regions }
    }

    pub fn get(&self, cloud: &str, code: &str) -> Option<&Place> {
        self.regions.get(&(cloud.to_string(), code.to_string()))
    }
}

/// A catalog query; every `None` means "any".
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Accelerator name; `A100_80GB`, `a100-80gb` and `A100-80GB` are the same.
    pub accelerator: Option<String>,
    /// At least this many accelerators per VM.
    pub min_accelerators: Option<u32>,
    pub cloud: Option<String>,
    /// A region code (`us-east-1`) or its name in specs (`us_east_1`).
    pub region: Option<String>,
    pub jurisdiction: Option<String>,
    pub geography: Option<String>,
    /// Only offerings with a spot price, ordered by it.
    pub spot: bool,
    /// At most this price per hour (spot price with `spot`).
    pub max_price: Option<Exact>,
}

/// A query that names something that does not exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryError {
    UnknownCloud(String),
    UnknownJurisdiction(String),
    UnknownGeography { name: String, known: Vec<String> },
    UnknownAccelerator { name: String, known: Vec<String> },
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueryError::UnknownCloud(c) => {
                write!(
                    f,
                    "unknown cloud `{c}`; expected one of: {}",
                    super::CLOUDS.join(", ")
                )
            }
            QueryError::UnknownJurisdiction(j) => {
                write!(
                    f,
                    "unknown jurisdiction `{j}`; expected one of: {}",
                    JURISDICTIONS.join(", ")
                )
            }
            QueryError::UnknownGeography { name, known } => {
                write!(f, "unknown geography `{name}`; known: {}", known.join(", "))
            }
            QueryError::UnknownAccelerator { name, known } => write!(
                f,
                "no catalog offers accelerator `{name}`; known: {}",
                known.join(", ")
            ),
        }
    }
}

impl std::error::Error for QueryError {}

/// Case-insensitive, with `_` and `-` alike, so that spec names (`A100_80GB`) match
/// catalog names (`A100-80GB`).
pub fn normalise_accelerator(name: &str) -> String {
    name.trim().to_ascii_uppercase().replace('_', "-")
}

impl Catalog {
    /// Matching offerings, cheapest first (by spot price with `query.spot`); rows without
    /// the price sort last. Ties break by cloud, region and instance type, so the order is
    /// stable.
    pub fn query<'c>(
        &'c self,
        query: &Query,
        places: &Places,
    ) -> Result<Vec<&'c Offering>, QueryError> {
        self.validate(query, places)?;
        let wanted = query.accelerator.as_deref().map(normalise_accelerator);
        let mut rows: Vec<&Offering> = self
            .offerings
            .iter()
            .filter(|o| matches(o, query, wanted.as_deref(), places))
            .collect();
        rows.sort_by(|a, b| order(a, b, query.spot));
        Ok(rows)
    }

    /// Accelerator names present in the catalog, sorted.
    pub fn accelerators(&self) -> Vec<String> {
        let names: BTreeSet<&str> = self
            .offerings
            .iter()
            .filter_map(|o| o.accelerator.as_deref())
            .collect();
        names.into_iter().map(str::to_string).collect()
    }

    fn validate(&self, query: &Query, places: &Places) -> Result<(), QueryError> {
        if let Some(cloud) = &query.cloud {
            if !super::CLOUDS.contains(&cloud.as_str()) {
                return Err(QueryError::UnknownCloud(cloud.clone()));
            }
        }
        if let Some(j) = &query.jurisdiction {
            if !JURISDICTIONS.contains(&j.as_str()) {
                return Err(QueryError::UnknownJurisdiction(j.clone()));
            }
        }
        if let Some(g) = &query.geography {
            let known: BTreeSet<&String> = places.regions.values().map(|p| &p.geography).collect();
            if !known.contains(g) {
                let known = known.into_iter().cloned().collect();
                return Err(QueryError::UnknownGeography {
                    name: g.clone(),
                    known,
                });
            }
        }
        if let Some(name) = &query.accelerator {
            let known = self.accelerators();
            let wanted = normalise_accelerator(name);
            if !known.iter().any(|k| normalise_accelerator(k) == wanted) {
                return Err(QueryError::UnknownAccelerator {
                    name: name.clone(),
                    known,
                });
            }
        }
        Ok(())
    }
}

fn matches(o: &Offering, q: &Query, accelerator: Option<&str>, places: &Places) -> bool {
    let place = places.get(o.cloud, &o.region);
    let accel_ok = match accelerator {
        Some(wanted) => o
            .accelerator
            .as_deref()
            .is_some_and(|a| normalise_accelerator(a) == wanted),
        None => true,
    };
    let count_ok = q
        .min_accelerators
        .is_none_or(|min| o.accelerator.is_some() && o.accelerator_count >= Exact::int(min.into()));
    let region_ok = q
        .region
        .as_ref()
        .is_none_or(|r| &o.region == r || place.is_some_and(|p| &p.name == r));
    let jurisdiction_ok = q
        .jurisdiction
        .as_ref()
        .is_none_or(|j| place.is_some_and(|p| &p.jurisdiction == j));
    let geography_ok = q
        .geography
        .as_ref()
        .is_none_or(|g| place.is_some_and(|p| &p.geography == g));
    let price = price_of(o, q.spot);
    let spot_ok = !q.spot || price.is_some();
    let price_ok = q
        .max_price
        .is_none_or(|max| price.is_some_and(|p| p <= max));
    accel_ok
        && count_ok
        && q.cloud.as_ref().is_none_or(|c| o.cloud == c)
        && region_ok
        && jurisdiction_ok
        && geography_ok
        && spot_ok
        && price_ok
}

fn price_of(o: &Offering, spot: bool) -> Option<Exact> {
    if spot {
        o.spot_price_usd_per_hour
    } else {
        o.price_usd_per_hour
    }
}

fn cloud_rank(cloud: &str) -> usize {
    super::CLOUDS
        .iter()
        .position(|c| *c == cloud)
        .unwrap_or(usize::MAX)
}

fn order(a: &Offering, b: &Offering, spot: bool) -> Ordering {
    let by_price = match (price_of(a, spot), price_of(b, spot)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    by_price
        .then_with(|| cloud_rank(a.cloud).cmp(&cloud_rank(b.cloud)))
        .then_with(|| a.region.cmp(&b.region))
        .then_with(|| a.instance_type.cmp(&b.instance_type))
        .then_with(|| a.accelerator_count.cmp(&b.accelerator_count))
        .then_with(|| a.accelerator.cmp(&b.accelerator))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_and_catalog_accelerator_names_match() {
        assert_eq!(
            normalise_accelerator("A100_80GB"),
            normalise_accelerator("A100-80GB")
        );
        assert_eq!(normalise_accelerator("h100"), "H100");
        assert_ne!(
            normalise_accelerator("A100"),
            normalise_accelerator("A100-80GB")
        );
    }
}
