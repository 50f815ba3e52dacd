//! The exact MILP of a placement problem as an MPS file, so that any MILP solver can
//! re-solve it and confirm `solve`'s optimum.
//!
//! - binary `x` per option, one `ONE` row per workload (Σ x = 1);
//! - egress, hierarchical and priced at the source's rates: per flow and per group of
//!   source options sharing one egress vector `r`, the base rate `r[0]` goes on the source's
//!   `x`, and for each level k = 1..3 a continuous `z ≥ 0` priced `gb × (r[k] − r[k−1])`
//!   with `z ≥ X_src,group(K) − X_dst(K)` for every class K at level k (region, area,
//!   cloud) the group's options are in; at an integral point `z` = 1 exactly when the
//!   source is in the group and the two differ at level k or more;
//! - `apart` pairs: for each cloud, the two workloads' options on it sum to at most 1;
//! - resources: Σ uses × x ≤ capacity;
//! - the objective's RHS is −`constant_usd`, which solvers read as the objective offset.
//!
//! Names are at most 8 characters without spaces, so fixed-format readers accept them;
//! comment lines map each `x` to its workload and option.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::problem::{Problem, OTHER_CLOUD};

/// Rows and columns under construction.
struct Model {
    /// Row name and sense ('E', 'L', 'G'), in order.
    rows: Vec<(String, char)>,
    rhs: BTreeMap<usize, f64>,
    /// Column name, integer?, entries (row index → coefficient; row usize::MAX = objective).
    columns: Vec<(String, bool, BTreeMap<usize, f64>)>,
}

const OBJECTIVE: usize = usize::MAX;

impl Model {
    fn row(&mut self, prefix: &str, sense: char) -> usize {
        self.rows
            .push((format!("{prefix}{}", base36(self.rows.len())), sense));
        self.rows.len() - 1
    }

    fn column(&mut self, prefix: &str, integer: bool) -> usize {
        self.columns.push((
            format!("{prefix}{}", base36(self.columns.len())),
            integer,
            BTreeMap::new(),
        ));
        self.columns.len() - 1
    }

    fn add(&mut self, column: usize, row: usize, coefficient: f64) {
        *self.columns[column].2.entry(row).or_insert(0.0) += coefficient;
    }
}

/// Upper-case base 36: seven digits name 78 billion rows or columns.
fn base36(mut n: usize) -> String {
    const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[n % 36]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// The class key of a location at egress level `k` (1: region, 2: cloud and continent,
/// 3: cloud): two locations differ at level ≥ k exactly when their keys differ.
fn class_key(problem: &Problem, location: usize, k: usize) -> (u32, u32, u32) {
    let l = &problem.locations[location];
    match k {
        1 => (l.cloud, l.continent, l.region),
        2 => (l.cloud, l.continent, u32::MAX),
        _ => (l.cloud, u32::MAX, u32::MAX),
    }
}

/// Writes the exact MILP; its optimum (offset included) equals `solve`'s total.
/// Out-of-range ids in the problem are skipped rather than panicking; `solve` rejects
/// such problems as invalid.
pub fn to_mps(problem: &Problem) -> String {
    let mut m = Model {
        rows: Vec::new(),
        rhs: BTreeMap::new(),
        columns: Vec::new(),
    };
    let valid = |w: usize| w < problem.workloads.len();
    let location_ok = |l: usize| l < problem.locations.len();
    let mut header = String::new();
    // x columns, one-choice rows.
    let mut x: Vec<Vec<usize>> = Vec::new();
    for (w, workload) in problem.workloads.iter().enumerate() {
        let row = m.row("ONE", 'E');
        m.rhs.insert(row, 1.0);
        let mut columns = Vec::new();
        for (o, option) in workload.options.iter().enumerate() {
            let c = m.column("X", true);
            m.add(c, row, 1.0);
            m.add(c, OBJECTIVE, option.monthly_usd);
            let _ = writeln!(
                header,
                "* {} = workload {w} `{}` option {o} `{}`",
                m.columns[c].0,
                workload.name.replace(['\n', '\r'], " "),
                option.label.replace(['\n', '\r'], " ")
            );
            columns.push(c);
        }
        x.push(columns);
    }
    // Egress.
    for flow in &problem.flows {
        if !valid(flow.from) || !valid(flow.to) || flow.gb_per_month == 0.0 {
            continue;
        }
        let source = &problem.workloads[flow.from];
        let gb = flow.gb_per_month;
        // Source options grouped by egress vector.
        let mut groups: BTreeMap<[u64; 4], Vec<usize>> = BTreeMap::new();
        for (o, option) in source.options.iter().enumerate() {
            if location_ok(option.location) {
                let rates = problem.locations[option.location].egress;
                groups.entry(rates.map(f64::to_bits)).or_default().push(o);
                m.add(x[flow.from][o], OBJECTIVE, gb * rates[0]);
            }
        }
        if flow.from == flow.to {
            continue;
        }
        for (bits, members) in &groups {
            let rates = bits.map(f64::from_bits);
            for k in 1..=OTHER_CLOUD {
                let step = rates[k] - rates[k - 1];
                if step <= 0.0 {
                    continue;
                }
                let z = m.column("Z", false);
                m.add(z, OBJECTIVE, gb * step);
                let mut classes: BTreeMap<(u32, u32, u32), ()> = BTreeMap::new();
                for &o in members {
                    classes.insert(class_key(problem, source.options[o].location, k), ());
                }
                for class in classes.keys() {
                    // z − X_src,group(K) + X_dst(K) ≥ 0
                    let row = m.row("D", 'G');
                    m.add(z, row, 1.0);
                    for &o in members {
                        if class_key(problem, source.options[o].location, k) == *class {
                            m.add(x[flow.from][o], row, -1.0);
                        }
                    }
                    for (o, option) in problem.workloads[flow.to].options.iter().enumerate() {
                        if location_ok(option.location)
                            && class_key(problem, option.location, k) == *class
                        {
                            m.add(x[flow.to][o], row, 1.0);
                        }
                    }
                }
            }
        }
    }
    // Apart pairs: per cloud, at most one of the two on it.
    for &(a, b) in &problem.apart {
        if !valid(a) || !valid(b) {
            continue;
        }
        let mut by_cloud: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
        for w in [a, b] {
            for (o, option) in problem.workloads[w].options.iter().enumerate() {
                if location_ok(option.location) {
                    by_cloud
                        .entry(problem.locations[option.location].cloud)
                        .or_default()
                        .push(x[w][o]);
                }
            }
        }
        for columns in by_cloud.values() {
            let row = m.row("A", 'L');
            m.rhs.insert(row, 1.0);
            for &c in columns {
                m.add(c, row, 1.0);
            }
        }
    }
    // Resources.
    for (r, resource) in problem.resources.iter().enumerate() {
        let row = m.row("R", 'L');
        m.rhs.insert(row, resource.capacity);
        for (w, workload) in problem.workloads.iter().enumerate() {
            for (o, option) in workload.options.iter().enumerate() {
                for &(id, amount) in &option.uses {
                    if id == r && amount != 0.0 {
                        m.add(x[w][o], row, amount);
                    }
                }
            }
        }
    }
    // Facilities: a binary `y` per facility with a price, priced at it, and
    // `y − Σ x ≥ 0` over each workload's options that open it (one row per workload:
    // its options exclude each other, so this is the strong form of `y ≥ x`).
    for (f, facility) in problem.facilities.iter().enumerate() {
        if facility.monthly_usd <= 0.0 {
            continue;
        }
        let users: Vec<Vec<usize>> = problem
            .workloads
            .iter()
            .enumerate()
            .map(|(w, workload)| {
                (0..workload.options.len())
                    .filter(|&o| workload.options[o].opens.contains(&f))
                    .map(|o| x[w][o])
                    .collect::<Vec<usize>>()
            })
            .filter(|columns| !columns.is_empty())
            .collect();
        if users.is_empty() {
            continue;
        }
        let y = m.column("Y", true);
        m.add(y, OBJECTIVE, facility.monthly_usd);
        let _ = writeln!(
            header,
            "* {} = facility {f} `{}`",
            m.columns[y].0,
            facility.name.replace(['\n', '\r'], " ")
        );
        for columns in users {
            let row = m.row("F", 'G');
            m.add(y, row, 1.0);
            for c in columns {
                m.add(c, row, -1.0);
            }
        }
    }
    write_mps(&m, &header, problem.constant_usd)
}

fn write_mps(m: &Model, header: &str, constant: f64) -> String {
    let mut out = String::new();
    out.push_str("* mlc placement model: minimise total USD per month\n");
    out.push_str(header);
    out.push_str("NAME          MLCPLAN\nROWS\n N  COST\n");
    for (name, sense) in &m.rows {
        let _ = writeln!(out, " {sense}  {name}");
    }
    out.push_str("COLUMNS\n");
    let row_name = |r: usize| {
        if r == OBJECTIVE {
            "COST"
        } else {
            m.rows[r].0.as_str()
        }
    };
    let mut in_integer = false;
    for (name, integer, entries) in &m.columns {
        if *integer != in_integer {
            let marker = if *integer { "'INTORG'" } else { "'INTEND'" };
            let _ = writeln!(
                out,
                "    MARKER                 'MARKER'                 {marker}"
            );
            in_integer = *integer;
        }
        for (&row, &value) in entries {
            if value != 0.0 || row == OBJECTIVE {
                let _ = writeln!(out, "    {name:<8}  {:<8}  {value}", row_name(row));
            }
        }
    }
    if in_integer {
        out.push_str("    MARKER                 'MARKER'                 'INTEND'\n");
    }
    out.push_str("RHS\n");
    if constant != 0.0 {
        let _ = writeln!(out, "    RHS       COST      {}", -constant);
    }
    for (&row, &value) in &m.rhs {
        let _ = writeln!(out, "    RHS       {:<8}  {value}", m.rows[row].0);
    }
    out.push_str("BOUNDS\n");
    for (name, integer, _) in &m.columns {
        if *integer {
            let _ = writeln!(out, " BV BND       {name}");
        }
    }
    out.push_str("ENDATA\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optimize::{Choice, Location, Workload};

    #[test]
    fn names_fit_fixed_format_and_the_offset_is_the_negated_rhs() {
        let problem = Problem {
            locations: vec![Location {
                name: "a".to_string(),
                cloud: 0,
                continent: 0,
                region: 0,
                egress: [0.0, 0.02, 0.05, 0.09],
            }],
            workloads: vec![Workload {
                name: "w".to_string(),
                options: vec![Choice {
                    location: 0,
                    label: "o".into(),
                    monthly_usd: 5.0,
                    uses: Vec::new(),
                    opens: Default::default(),
                }],
            }],
            constant_usd: 12.5,
            ..Problem::default()
        };
        let mps = to_mps(&problem);
        assert!(mps.contains("    RHS       COST      -12.5\n"), "{mps}");
        assert!(mps.contains(" BV BND       X0\n"), "{mps}");
        assert_eq!(base36(36 * 36 - 1), "ZZ");
    }
}
