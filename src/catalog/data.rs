//! The embedded compact CSVs and their typed form. The format is fixed by
//! `stdlib/tools/gen_catalog.py`: no quoting, ten columns, prices in USD per hour.

use crate::check::units::Exact;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

pub(super) const META: &str = include_str!("../../stdlib/catalog/meta.txt");

const FILES: &[(&str, &str)] = &[
    ("aws", include_str!("../../stdlib/catalog/aws.csv")),
    ("gcp", include_str!("../../stdlib/catalog/gcp.csv")),
    ("azure", include_str!("../../stdlib/catalog/azure.csv")),
];

const HEADER: &str = "instance_type,accelerator,accelerator_count,accelerator_memory_gib,vcpus,memory_gib,region,price,spot_price,flags,zones";

/// A remark the generator attached to a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    /// On-demand price below 60% of the median over regions for the same type.
    PriceOutlierLow,
    /// The spot price is above the on-demand price.
    SpotAboveOnDemand,
}

impl Flag {
    fn parse(text: &str) -> Option<Flag> {
        match text {
            "price_outlier_low" => Some(Flag::PriceOutlierLow),
            "spot_above_on_demand" => Some(Flag::SpotAboveOnDemand),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Flag::PriceOutlierLow => "price_outlier_low",
            Flag::SpotAboveOnDemand => "spot_above_on_demand",
        }
    }
}

/// One instance type in one region of one cloud.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Offering {
    pub cloud: &'static str,
    /// The provider's region code, e.g. `us-east-1`.
    pub region: String,
    /// Shared, not copied, by every plan candidate that offers this row.
    pub instance_type: std::sync::Arc<str>,
    /// The catalog's accelerator name (`H100`, `A100-80GB`, `tpu-v5p-8`); `None` for CPU types.
    pub accelerator: Option<String>,
    /// Accelerators per VM; fractional for Azure's partial GPUs (`0.333`), 0 without one.
    pub accelerator_count: Exact,
    /// Memory of one accelerator; `None` where the source does not say (TPUs).
    pub accelerator_memory_gib: Option<Exact>,
    /// `None` for TPU slices, which the source lists without a host VM.
    pub vcpus: Option<Exact>,
    pub memory_gib: Option<Exact>,
    /// USD per hour on demand; `None` where the type is not sold on demand.
    pub price_usd_per_hour: Option<Exact>,
    /// USD per hour on spot capacity (the cheapest zone); `None` without a spot offer.
    pub spot_price_usd_per_hour: Option<Exact>,
    pub flags: Vec<Flag>,
    /// The region's zones that offer the row, sorted (GCP only; empty elsewhere: AWS's
    /// source names zone IDs rather than the zone names an account sees, Azure's none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub zones: Vec<String>,
}

/// Why the embedded data could not be read (a bug in the generated files).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogError {
    pub cloud: &'static str,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for CatalogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "catalog {} line {}: {}",
            self.cloud, self.line, self.message
        )
    }
}

impl std::error::Error for CatalogError {}

/// All offerings of all clouds, sorted by cloud, instance type, then region.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub offerings: Vec<Offering>,
    /// Rows by `(cloud, region, instance type)`, in catalog order: a planned workload's
    /// row is looked up once per workload, and a scan each was quadratic in a build.
    by_instance: BTreeMap<&'static str, BTreeMap<String, BTreeMap<String, Vec<usize>>>>,
}

impl Catalog {
    /// The embedded catalog, parsed on first use and kept for the process.
    pub fn embedded() -> Result<&'static Catalog, CatalogError> {
        static CATALOG: OnceLock<Result<Catalog, CatalogError>> = OnceLock::new();
        CATALOG
            .get_or_init(|| Catalog::parse(FILES))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Parses `(cloud, csv text)` pairs in the generator's format.
    pub fn parse(files: &[(&'static str, &str)]) -> Result<Catalog, CatalogError> {
        let mut offerings = Vec::new();
        for (cloud, text) in files {
            parse_file(cloud, text, &mut offerings)?;
        }
        let mut by_instance: BTreeMap<_, BTreeMap<_, BTreeMap<_, Vec<usize>>>> = BTreeMap::new();
        for (i, o) in offerings.iter().enumerate() {
            by_instance
                .entry(o.cloud)
                .or_default()
                .entry(o.region.clone())
                .or_default()
                .entry(o.instance_type.to_string())
                .or_default()
                .push(i);
        }
        Ok(Catalog {
            offerings,
            by_instance,
        })
    }

    /// The rows of one instance type in one region (at most one per accelerator count).
    pub fn find(&self, cloud: &str, region: &str, instance_type: &str) -> Vec<&Offering> {
        self.by_instance
            .get(cloud)
            .and_then(|regions| regions.get(region))
            .and_then(|types| types.get(instance_type))
            .map(|rows| rows.iter().map(|&i| &self.offerings[i]).collect())
            .unwrap_or_default()
    }
}

fn parse_file(
    cloud: &'static str,
    text: &str,
    out: &mut Vec<Offering>,
) -> Result<(), CatalogError> {
    let error = |line: usize, message: String| CatalogError {
        cloud,
        line,
        message,
    };
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, header)) if header == HEADER => {}
        _ => return Err(error(1, format!("expected the header `{HEADER}`"))),
    }
    for (index, line) in lines {
        let line_no = index + 1;
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != 11 {
            return Err(error(
                line_no,
                format!("expected 11 fields, found {}", fields.len()),
            ));
        }
        out.push(offering(cloud, &fields).map_err(|m| error(line_no, m))?);
    }
    Ok(())
}

fn offering(cloud: &'static str, f: &[&str]) -> Result<Offering, String> {
    let flags = f[9]
        .split(';')
        .filter(|s| !s.is_empty())
        .map(|s| Flag::parse(s).ok_or_else(|| format!("unknown flag `{s}`")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Offering {
        cloud,
        region: f[6].to_string(),
        instance_type: f[0].into(),
        accelerator: (!f[1].is_empty()).then(|| f[1].to_string()),
        accelerator_count: number(f[2])?.unwrap_or(Exact::ZERO),
        accelerator_memory_gib: number(f[3])?,
        vcpus: number(f[4])?,
        memory_gib: number(f[5])?,
        price_usd_per_hour: number(f[7])?,
        spot_price_usd_per_hour: number(f[8])?,
        flags,
        zones: f[10].split_whitespace().map(str::to_string).collect(),
    })
}

/// An empty field is `None`; anything else must be an exact decimal.
fn number(text: &str) -> Result<Option<Exact>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    Exact::parse(text)
        .map(Some)
        .ok_or_else(|| format!("`{text}` is not a number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_catalog_parses_with_rows_for_every_cloud() {
        let catalog = Catalog::embedded().expect("embedded catalog parses");
        for cloud in crate::catalog::CLOUDS {
            let rows = catalog
                .offerings
                .iter()
                .filter(|o| o.cloud == *cloud)
                .count();
            let expected: usize = META
                .lines()
                .find_map(|l| l.strip_prefix(&format!("rows.{cloud}=")))
                .and_then(|n| n.parse().ok())
                .expect("meta.txt names the row count");
            assert_eq!(rows, expected, "{cloud}");
        }
    }

    #[test]
    fn malformed_rows_are_errors_with_line_numbers() {
        let text = format!("{HEADER}\nm6i.2xlarge,,,,8,32,us-east-1,0.384,abc,,\n");
        let err = Catalog::parse(&[("aws", &text)]).expect_err("bad spot price");
        assert_eq!(err.line, 2);
        assert!(err.message.contains("`abc` is not a number"), "{err}");
        let short = format!("{HEADER}\na,b\n");
        assert_eq!(
            Catalog::parse(&[("aws", &short)]).expect_err("short").line,
            2
        );
        assert!(Catalog::parse(&[("aws", "x,y\n")]).is_err());
    }

    #[test]
    fn catalog_date_matches_the_generator() {
        assert!(META
            .lines()
            .any(|l| l == format!("catalog_date={}", crate::catalog::CATALOG_DATE)));
    }
}
