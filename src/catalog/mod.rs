//! Instance catalogs: real VM offerings with hourly prices per region for AWS, GCP and
//! Azure, generated from SkyPilot-schema CSVs by `stdlib/tools/gen_catalog.py` and
//! embedded in the binary. Parsed lazily, only when a catalog is queried, so that
//! `mlc check` pays for it only in a spec with a `budget` and GPU workloads (W0411).

mod data;
mod query;
mod render;

pub use data::{Catalog, CatalogError, Flag, Offering};
pub use query::{normalise_accelerator, Places, Query, QueryError};
pub use render::{to_json, to_table};

/// The snapshot date of the catalogs (GCP and Azure; the AWS subset is undated upstream).
/// Printed in every plan and by `mlc catalog`.
pub const CATALOG_DATE: &str = "2026-05-20";

/// The clouds that have a catalog, in output order.
pub const CLOUDS: &[&str] = &["aws", "gcp", "azure"];

/// What the data does not cover, said wherever offerings are listed.
pub const DATA_NOTES: &[&str] = &[
    "aws: a GPU-focused subset of 15 instance types (g4dn.xlarge, g5.xlarge, g6.xlarge, g6e.12xlarge, \
     p3dn.24xlarge, p4d.24xlarge, p4de.24xlarge, p5.4xlarge, p5.48xlarge, p5e.48xlarge, p5en.48xlarge, \
     p6-b200.48xlarge, p6-b300.48xlarge, m6i.2xlarge, m6i.4xlarge); other AWS types are not in the catalog",
    "aws: p5e.48xlarge has no on-demand price (sold through capacity blocks only); Local Zones are excluded",
    "gcp: GPU prices are VM + accelerator rows added; rows flagged price_outlier_low (H100 in some \
     regions) are far below the median for the same type: verify before relying on them",
    "gcp, azure: only GPU types plus a few general-purpose CPU types (n2-standard-*, Standard_D*s_v5) are kept",
    "spot prices are the minimum over a region's zones at the snapshot time and move constantly",
];

/// Where the embedded data came from, one line per cloud (from `stdlib/catalog/meta.txt`).
pub fn sources() -> Vec<(String, String)> {
    data::META
        .lines()
        .filter_map(|line| line.split_once('='))
        .filter(|(key, _)| key.starts_with("source."))
        .map(|(key, value)| {
            (
                key.trim_start_matches("source.").to_string(),
                value.to_string(),
            )
        })
        .collect()
}
