//! Offerings as an aligned text table (for people) or a JSON array (for tools).

use super::data::{Flag, Offering};
use crate::check::units::Exact;
use serde::Serialize;

const COLUMNS: [&str; 9] = [
    "cloud",
    "region",
    "instance",
    "gpus",
    "vcpus",
    "memory",
    "on-demand $/h",
    "spot $/h",
    "notes",
];

/// An aligned table with a header row; numbers are right-aligned.
pub fn to_table(rows: &[&Offering]) -> String {
    let cells: Vec<[String; 9]> = rows.iter().map(|o| table_row(o)).collect();
    let mut widths = COLUMNS.map(str::len);
    for row in &cells {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    push_line(&mut out, &COLUMNS.map(str::to_string), &widths);
    for row in &cells {
        push_line(&mut out, row, &widths);
    }
    out
}

/// The accelerator as a spec writes it, so a row can be pasted into `accelerator = ...`:
/// GPU names differ only by `-` against `_` (`A100-80GB` is `A100_80GB`). TPU slice names
/// (`tpu-v5litepod-8`) have no such spelling and are shown as the catalog has them.
fn spec_name(catalog_name: &str) -> String {
    if catalog_name.to_ascii_lowercase().starts_with("tpu") {
        catalog_name.to_string()
    } else {
        catalog_name.replace('-', "_")
    }
}

fn table_row(o: &Offering) -> [String; 9] {
    let gpus = match &o.accelerator {
        Some(name) => format!("{} x {}", spec_name(name), o.accelerator_count),
        None => "-".to_string(),
    };
    let flags: Vec<&str> = o.flags.iter().map(|f| Flag::as_str(*f)).collect();
    [
        o.cloud.to_string(),
        o.region.clone(),
        o.instance_type.to_string(),
        gpus,
        opt(o.vcpus),
        o.memory_gib
            .map_or_else(|| "-".to_string(), |m| format!("{m} GiB")),
        opt(o.price_usd_per_hour),
        opt(o.spot_price_usd_per_hour),
        flags.join(" "),
    ]
}

fn opt(value: Option<Exact>) -> String {
    value.map_or_else(|| "-".to_string(), |v| v.to_string())
}

/// Columns 4..=7 hold numbers and are right-aligned; the last column is not padded.
fn push_line(out: &mut String, cells: &[String; 9], widths: &[usize; 9]) {
    let mut line = String::new();
    for (index, (cell, width)) in cells.iter().zip(widths).enumerate() {
        if index > 0 {
            line.push_str("  ");
        }
        let pad = width.saturating_sub(cell.chars().count());
        if (4..=7).contains(&index) {
            line.push_str(&" ".repeat(pad));
            line.push_str(cell);
        } else if index == cells.len() - 1 {
            line.push_str(cell);
        } else {
            line.push_str(cell);
            line.push_str(&" ".repeat(pad));
        }
    }
    out.push_str(line.trim_end());
    out.push('\n');
}

#[derive(Serialize)]
struct JsonRow<'a> {
    cloud: &'a str,
    region: &'a str,
    instance_type: &'a str,
    accelerator: Option<&'a str>,
    accelerator_count: Exact,
    accelerator_memory_gib: Option<Exact>,
    vcpus: Option<Exact>,
    memory_gib: Option<Exact>,
    price_usd_per_hour: Option<Exact>,
    spot_price_usd_per_hour: Option<Exact>,
    flags: &'a [Flag],
}

/// A pretty-printed JSON array; prices are numbers equal to the source rows' decimals.
pub fn to_json(rows: &[&Offering]) -> String {
    let json: Vec<JsonRow> = rows
        .iter()
        .map(|o| JsonRow {
            cloud: o.cloud,
            region: &o.region,
            instance_type: &o.instance_type,
            accelerator: o.accelerator.as_deref(),
            accelerator_count: o.accelerator_count,
            accelerator_memory_gib: o.accelerator_memory_gib,
            vcpus: o.vcpus,
            memory_gib: o.memory_gib,
            price_usd_per_hour: o.price_usd_per_hour,
            spot_price_usd_per_hour: o.spot_price_usd_per_hour,
            flags: &o.flags,
        })
        .collect();
    serde_json::to_string_pretty(&json).unwrap_or_else(|_| "[]".to_string())
}
