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

/// One thing the data does not cover, and which offerings it concerns.
pub struct DataNote {
    pub text: &'static str,
    /// The clouds it is about; empty for notes about every cloud.
    pub clouds: &'static [&'static str],
    /// A gap in coverage (types or places missing), which may be why a query found
    /// nothing; such notes are said for an empty result too.
    pub coverage: bool,
    /// Whether a listed offering is one the note is about.
    pub concerns: fn(&Offering) -> bool,
}

/// What the data does not cover, said wherever offerings are listed (see [`notes_for`]).
pub static DATA_NOTES: &[DataNote] = &[
    DataNote {
        text: "aws: a GPU-focused subset of 15 instance types (g4dn.xlarge, g5.xlarge, g6.xlarge, g6e.12xlarge, \
               p3dn.24xlarge, p4d.24xlarge, p4de.24xlarge, p5.4xlarge, p5.48xlarge, p5e.48xlarge, p5en.48xlarge, \
               p6-b200.48xlarge, p6-b300.48xlarge, m6i.2xlarge, m6i.4xlarge); other AWS types and Local Zones \
               are not in the catalog",
        clouds: &["aws"],
        coverage: true,
        concerns: |o| o.cloud == "aws",
    },
    DataNote {
        text: "aws: p5e.48xlarge has no on-demand price (sold through capacity blocks only)",
        clouds: &["aws"],
        coverage: false,
        concerns: |o| &*o.instance_type == "p5e.48xlarge",
    },
    DataNote {
        text: "gcp: GPU prices are VM + accelerator rows added",
        clouds: &["gcp"],
        coverage: false,
        concerns: |o| {
            o.cloud == "gcp" && o.accelerator.as_deref().is_some_and(|a| !a.starts_with("tpu-"))
        },
    },
    DataNote {
        text: "rows flagged price_outlier_low (GCP H100 in some regions) are far below the median for the \
               same type: verify before relying on them",
        clouds: &[],
        coverage: false,
        concerns: |o| o.flags.contains(&Flag::PriceOutlierLow),
    },
    DataNote {
        text: "gcp, azure: only GPU types plus a few general-purpose CPU types (n2-standard-*, Standard_D*s_v5) are kept",
        clouds: &["gcp", "azure"],
        coverage: true,
        concerns: |o| o.cloud == "gcp" || o.cloud == "azure",
    },
    DataNote {
        text: "spot prices are the minimum over a region's zones at the snapshot time and move constantly",
        clouds: &[],
        coverage: false,
        concerns: |o| o.spot_price_usd_per_hour.is_some(),
    },
];

/// The notes that concern the offerings listed; for an empty list, the coverage gaps
/// of the queried cloud (or of every cloud), which may be why nothing was found.
pub fn notes_for(rows: &[&Offering], cloud: Option<&str>) -> Vec<&'static str> {
    DATA_NOTES
        .iter()
        .filter(|note| {
            if rows.is_empty() {
                note.coverage
                    && cloud.is_none_or(|c| note.clouds.is_empty() || note.clouds.contains(&c))
            } else {
                rows.iter().any(|o| (note.concerns)(o))
            }
        })
        .map(|note| note.text)
        .collect()
}

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
