//! `mlc catalog`: list real instance offerings from the embedded catalogs, cheapest first.

use super::{print_err, print_out, Format, EXIT_OK, EXIT_USAGE};
use mlc::catalog::{self, Catalog, Places, Query};
use mlc::check::units::Exact;

#[derive(clap::Args, Debug)]
pub struct CatalogArgs {
    /// Accelerator name, e.g. H100, A100, A100_80GB, L4, tpu-v5p-8 (case and `_`/`-` ignored)
    #[arg(long)]
    gpu: Option<String>,
    /// At least this many accelerators per VM
    #[arg(long)]
    min_gpus: Option<u32>,
    /// Only this cloud: aws, gcp or azure
    #[arg(long)]
    cloud: Option<String>,
    /// Only this region: a provider code (us-east-1) or its spec name (us_east_1)
    #[arg(long)]
    region: Option<String>,
    /// Only regions in this jurisdiction (us, eu, uk, ch, jp, ...)
    #[arg(long)]
    jurisdiction: Option<String>,
    /// Only regions in this geography (us_east, eu_west, ap_southeast, ...)
    #[arg(long)]
    geo: Option<String>,
    /// Only offerings with a spot price, sorted by it
    #[arg(long)]
    spot: bool,
    /// At most this many USD per hour (the spot price with --spot)
    #[arg(long)]
    max_price: Option<String>,
    /// Print at most this many rows (after sorting)
    #[arg(long)]
    limit: Option<usize>,
    /// Output format: an aligned table or a JSON array
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

pub fn run(args: CatalogArgs) -> u8 {
    match list(args) {
        Ok(()) => EXIT_OK,
        Err(message) => {
            print_err(&format!("error: {message}\n"));
            EXIT_USAGE
        }
    }
}

fn list(args: CatalogArgs) -> Result<(), String> {
    let max_price = match &args.max_price {
        Some(text) => Some(parse_price(text)?),
        None => None,
    };
    let query = Query {
        accelerator: args.gpu,
        min_accelerators: args.min_gpus,
        cloud: args.cloud,
        region: args.region,
        jurisdiction: args.jurisdiction,
        geography: args.geo,
        spot: args.spot,
        max_price,
    };
    let catalog = Catalog::embedded().map_err(|e| e.to_string())?;
    let places = stdlib_places()?;
    let mut rows = catalog.query(&query, &places).map_err(|e| e.to_string())?;
    if let Some(limit) = args.limit {
        rows.truncate(limit);
    }
    match args.format {
        Format::Json => {
            print_out(&format!("{}\n", catalog::to_json(&rows)));
            print_err(&footer(&rows, query.cloud.as_deref()));
        }
        Format::Text => print_out(&format!(
            "{}\n{}",
            catalog::to_table(&rows),
            footer(&rows, query.cloud.as_deref())
        )),
    }
    Ok(())
}

/// Region geographies and jurisdictions come from the standard library's `cloud` blocks.
fn stdlib_places() -> Result<Places, String> {
    let checked = mlc::check::check_text("<catalog>", "");
    match checked.model {
        Some(model) => Ok(Places::from_knowledge(&model.knowledge)),
        None => Err(
            "the standard library does not check; run `mlc check` on any spec to see why".into(),
        ),
    }
}

fn parse_price(text: &str) -> Result<Exact, String> {
    let number = text.trim().trim_end_matches("USD/h").trim();
    Exact::parse(number)
        .filter(|p| p.is_positive())
        .ok_or_else(|| {
            format!("--max-price expects a positive number of USD per hour, found `{text}`")
        })
}

/// The catalog date and the data gaps that concern the rows listed (for an empty
/// result, the queried cloud's coverage gaps).
fn footer(rows: &[&catalog::Offering], cloud: Option<&str>) -> String {
    let mut out = format!(
        "{} offerings; catalog date {}\n",
        rows.len(),
        catalog::CATALOG_DATE
    );
    for note in catalog::notes_for(rows, cloud) {
        out.push_str(&format!("note: {note}\n"));
    }
    out
}
