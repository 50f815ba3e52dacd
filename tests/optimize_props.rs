//! The placement solver against brute force on small random instances: its total is the
//! least any feasible assignment costs, infeasible instances are reported as such, the
//! answer is deterministic, tree DP and branch and bound agree, and the MPS export prices
//! every assignment exactly as `evaluate` does. `instance` draws general instances,
//! `varied` the corner cases (ties, zero volumes, two resources, dense cycles, several
//! `apart` pairs).

use std::collections::BTreeMap;

use mlc::optimize::{
    evaluate, solve, solve_by_search, to_mps, Choice, Facility, Flow, Limits, Location, Problem,
    Resource, SolveError, Workload,
};
use proptest::prelude::*;

/// A small deterministic generator (splitmix64), so an instance is named by its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const RATES: [f64; 6] = [0.0, 0.01, 0.02, 0.05, 0.09, 0.12];

/// Locations over 2–3 clouds, 1–2 continents and 1–2 regions each.
fn locations(rng: &mut Rng) -> Vec<Location> {
    let mut out = Vec::new();
    for cloud in 0..2 + rng.below(2) as u32 {
        for continent in 0..1 + rng.below(2) as u32 {
            for region in 0..1 + rng.below(2) as u32 {
                let mut egress = [0.0; 4];
                let mut level = 0;
                for e in &mut egress {
                    level = (level + rng.below(3)).min(RATES.len() - 1);
                    *e = RATES[level];
                }
                out.push(Location {
                    name: format!("c{cloud}-k{continent}-r{region}"),
                    cloud,
                    continent,
                    region,
                    egress,
                });
            }
        }
    }
    out
}

/// 2–7 workloads with 1–4 options, random flows (cycles and self-flows included),
/// sometimes `apart` pairs and a shared resource. `tree` makes the flows a tree with no
/// resource.
fn instance(seed: u64, tree: bool) -> Problem {
    let mut rng = Rng(seed);
    let locations = locations(&mut rng);
    let n = 2 + rng.below(6);
    let with_resource = !tree && rng.chance(40);
    let workloads: Vec<Workload> = (0..n)
        .map(|w| Workload {
            name: format!("w{w}"),
            options: (0..1 + rng.below(4))
                .map(|o| {
                    let uses = if with_resource && rng.chance(50) {
                        vec![(0, 1.0 + rng.below(4) as f64)]
                    } else {
                        Vec::new()
                    };
                    Choice {
                        location: rng.below(locations.len()),
                        label: format!("o{o}").into(),
                        monthly_usd: rng.below(100_000) as f64 / 100.0,
                        uses,
                        opens: Default::default(),
                    }
                })
                .collect(),
        })
        .collect();
    let mut flows = Vec::new();
    let gb = |rng: &mut Rng| (1 + rng.below(5000)) as f64;
    if tree {
        for w in 1..n {
            let parent = rng.below(w);
            let (from, to) = if rng.chance(50) {
                (parent, w)
            } else {
                (w, parent)
            };
            flows.push(Flow {
                from,
                to,
                gb_per_month: gb(&mut rng),
            });
        }
    } else {
        for _ in 0..rng.below(2 * n) {
            flows.push(Flow {
                from: rng.below(n),
                to: rng.below(n),
                gb_per_month: gb(&mut rng),
            });
        }
    }
    let mut apart = Vec::new();
    if !tree && rng.chance(40) {
        for _ in 0..1 + rng.below(2) {
            apart.push((rng.below(n), rng.below(n)));
        }
    }
    let resources = if with_resource {
        vec![Resource {
            name: "site".to_string(),
            capacity: rng.below(8) as f64,
        }]
    } else {
        Vec::new()
    };
    Problem {
        locations,
        workloads,
        flows,
        apart,
        resources,
        constant_usd: rng.below(1000) as f64,
        facilities: Vec::new(),
    }
}

/// What `instance` rarely makes: equal costs, volumes and rates (ties, where a pruning
/// rule or a tie-break can drop the only optimum), zero volumes, a second location in
/// an existing region with other rates, up to two resources with tight capacities,
/// dense flows with cycles, several `apart` pairs (some also carrying flows), and so
/// components that only a resource holds together.
fn varied(seed: u64) -> Problem {
    let mut rng = Rng(seed);
    let ties = rng.chance(50);
    let mut locations = locations(&mut rng);
    if rng.chance(30) {
        let mut twin = locations[rng.below(locations.len())].clone();
        twin.name.push_str("-twin");
        let mut level = 0;
        for e in &mut twin.egress {
            level = (level + rng.below(3)).min(RATES.len() - 1);
            *e = RATES[level];
        }
        locations.push(twin);
    }
    let n = 2 + rng.below(6);
    let resources: Vec<Resource> = (0..rng.below(3))
        .map(|r| Resource {
            name: format!("site{r}"),
            capacity: rng.below(4 + 3 * n) as f64,
        })
        .collect();
    let cost = |rng: &mut Rng| {
        if ties {
            100.0 * rng.below(3) as f64
        } else {
            rng.below(100_000) as f64 / 100.0
        }
    };
    let workloads: Vec<Workload> = (0..n)
        .map(|w| Workload {
            name: format!("w{w}"),
            options: (0..1 + rng.below(4))
                .map(|o| Choice {
                    location: rng.below(locations.len()),
                    label: format!("o{o}").into(),
                    monthly_usd: cost(&mut rng),
                    uses: {
                        let mut uses = Vec::new();
                        for r in 0..resources.len() {
                            if rng.chance(50) {
                                let amount = if ties { 1 } else { 1 + rng.below(4) };
                                uses.push((r, amount as f64));
                            }
                        }
                        uses
                    },
                    opens: Default::default(),
                })
                .collect(),
        })
        .collect();
    let flows = (0..rng.below(3 * n))
        .map(|_| Flow {
            from: rng.below(n),
            to: rng.below(n),
            gb_per_month: match (ties, rng.below(10)) {
                (_, 0) => 0.0,
                (true, k) => 1000.0 * (1 + k % 2) as f64,
                (false, _) => (1 + rng.below(5000)) as f64,
            },
        })
        .collect();
    // Distinct pairs: `instance` covers a workload apart from itself.
    let apart = (0..rng.below(4))
        .map(|_| {
            let a = rng.below(n);
            (a, (a + 1 + rng.below(n - 1)) % n)
        })
        .collect();
    Problem {
        locations,
        workloads,
        flows,
        apart,
        resources,
        constant_usd: cost(&mut rng),
        facilities: Vec::new(),
    }
}

/// An instance of either generator with fixed costs: a facility per region (a cluster)
/// that most options there open, sometimes a second one per cloud (an account-wide
/// cost) or none (a serverless option), with prices from nothing to more than most
/// options cost, so that opening fewer regions often wins.
fn with_facilities(seed: u64) -> Problem {
    let mut problem = if seed.is_multiple_of(2) {
        instance(seed, false)
    } else {
        varied(seed)
    };
    let mut rng = Rng(seed ^ 0xFAC1_11E5);
    let regions: Vec<(u32, u32, u32)> = {
        let mut r: Vec<_> = problem
            .locations
            .iter()
            .map(|l| (l.cloud, l.continent, l.region))
            .collect();
        r.sort_unstable();
        r.dedup();
        r
    };
    let clouds = 1 + problem.locations.iter().map(|l| l.cloud).max().unwrap_or(0) as usize;
    let price = |rng: &mut Rng| match rng.below(4) {
        0 => 0.0,
        1 => rng.below(100) as f64,
        _ => rng.below(150_000) as f64 / 100.0,
    };
    let names = regions
        .iter()
        .map(|r| format!("cluster {r:?}"))
        .chain((0..clouds).map(|c| format!("account {c}")));
    problem.facilities = names
        .map(|name| Facility {
            name,
            monthly_usd: price(&mut rng),
        })
        .collect();
    let account_costs = rng.chance(50);
    for workload in &mut problem.workloads {
        for option in &mut workload.options {
            if rng.chance(20) {
                continue;
            }
            let l = &problem.locations[option.location];
            let region = regions
                .binary_search(&(l.cloud, l.continent, l.region))
                .unwrap_or(0);
            let mut opens = vec![region];
            if account_costs {
                opens.push(regions.len() + l.cloud as usize);
            }
            option.opens = opens.into();
        }
    }
    problem
}

/// Every assignment, in lexicographic order.
fn assignments(problem: &Problem) -> Vec<Vec<usize>> {
    let mut all = vec![Vec::new()];
    for w in &problem.workloads {
        all = all
            .into_iter()
            .flat_map(|prefix| {
                (0..w.options.len()).map(move |o| {
                    let mut next = prefix.clone();
                    next.push(o);
                    next
                })
            })
            .collect();
    }
    all
}

fn brute_force(problem: &Problem) -> Option<f64> {
    assignments(problem)
        .iter()
        .filter_map(|a| evaluate(problem, a))
        .min_by(f64::total_cmp)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0)
}

// Debug-build cost per 1000 cases: ~0.5 s for the brute-force properties, ~7 s for the
// MPS one (it prices every assignment). For a deeper check run, e.g.,
// `PROPTEST_CASES=100000 cargo test --release -p mlc --test optimize_props`.
proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn solve_matches_brute_force(seed in any::<u64>()) {
        let problem = instance(seed, false);
        let expected = brute_force(&problem);
        match (solve(&problem, &Limits::default()), expected) {
            (Ok(solution), Some(best)) => {
                prop_assert!(close(solution.total_usd, best), "solve {} vs brute force {best}", solution.total_usd);
                prop_assert_eq!(evaluate(&problem, &solution.choice), Some(solution.total_usd));
            }
            (Err(SolveError::Infeasible { explanation }), None) => prop_assert!(!explanation.is_empty()),
            (got, expected) => prop_assert!(false, "solve gave {got:?}, brute force {expected:?}"),
        }
    }

    #[test]
    fn solve_matches_brute_force_on_varied_instances(seed in any::<u64>()) {
        let problem = varied(seed);
        let expected = brute_force(&problem);
        for solved in [solve(&problem, &Limits::default()), solve_by_search(&problem, &Limits::default())] {
            match (solved, expected) {
                (Ok(solution), Some(best)) => {
                    prop_assert!(close(solution.total_usd, best), "solve {} vs brute force {best}", solution.total_usd);
                    prop_assert_eq!(evaluate(&problem, &solution.choice), Some(solution.total_usd));
                }
                (Err(SolveError::Infeasible { explanation }), None) => prop_assert!(!explanation.is_empty()),
                (got, expected) => prop_assert!(false, "solve gave {got:?}, brute force {expected:?}"),
            }
        }
    }

    #[test]
    fn solve_is_deterministic(seed in any::<u64>()) {
        let problem = if seed % 2 == 0 { instance(seed, false) } else { varied(seed) };
        let first = solve(&problem, &Limits::default());
        prop_assert_eq!(&first, &solve(&problem.clone(), &Limits::default()));
    }

    #[test]
    fn tree_dp_agrees_with_branch_and_bound(seed in any::<u64>()) {
        let problem = instance(seed, true);
        let dp = solve(&problem, &Limits::default());
        let searched = solve_by_search(&problem, &Limits::default());
        match (&dp, &searched) {
            (Ok(a), Ok(b)) => {
                prop_assert!(close(a.total_usd, b.total_usd), "dp {} vs search {}", a.total_usd, b.total_usd);
                prop_assert!(a.stats.searched_components == 0);
            }
            _ => prop_assert!(false, "dp {dp:?}, search {searched:?}"),
        }
    }

}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn solve_with_fixed_costs_matches_brute_force(seed in any::<u64>()) {
        let problem = with_facilities(seed);
        let expected = brute_force(&problem);
        for solved in [solve(&problem, &Limits::default()), solve_by_search(&problem, &Limits::default())] {
            match (solved, expected) {
                (Ok(solution), Some(best)) => {
                    prop_assert!(close(solution.total_usd, best), "solve {} vs brute force {best}", solution.total_usd);
                    prop_assert!(solution.is_proven(), "bound {} below {}", solution.lower_bound_usd, solution.total_usd);
                    prop_assert_eq!(evaluate(&problem, &solution.choice), Some(solution.total_usd));
                }
                (Err(SolveError::Infeasible { explanation }), None) => prop_assert!(!explanation.is_empty()),
                (got, expected) => prop_assert!(false, "solve gave {got:?}, brute force {expected:?}"),
            }
        }
    }

    /// Stopped after one node of the facility search, the plan is still feasible and
    /// its lower bound is a true one: the optimum lies between the two.
    #[test]
    fn a_stopped_facility_search_states_a_true_gap(seed in any::<u64>()) {
        let problem = with_facilities(seed);
        let limits = Limits { max_facility_nodes: 1, ..Limits::default() };
        if let (Ok(solution), Some(best)) = (solve(&problem, &limits), brute_force(&problem)) {
            prop_assert_eq!(evaluate(&problem, &solution.choice), Some(solution.total_usd));
            prop_assert!(solution.lower_bound_usd <= best + 1e-6 * best.max(1.0), "bound {} above optimum {best}", solution.lower_bound_usd);
            prop_assert!(best <= solution.total_usd + 1e-6 * best.max(1.0));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn mps_prices_every_assignment_like_evaluate(seed in any::<u64>()) {
        let problem = match seed % 3 {
            0 => instance(seed, false),
            1 => varied(seed),
            _ => with_facilities(seed),
        };
        let model = Mps::parse(&to_mps(&problem));
        for assignment in assignments(&problem) {
            let priced = model.price(&problem, &assignment);
            match (priced, evaluate(&problem, &assignment)) {
                (Some(a), Some(b)) => prop_assert!(close(a, b), "mps {a} vs evaluate {b} at {assignment:?}"),
                (None, None) => {}
                (a, b) => prop_assert!(false, "mps {a:?} vs evaluate {b:?} at {assignment:?}"),
            }
        }
    }
}

/// Just enough of an MPS reader to price an assignment: fix the binaries, set every
/// continuous column to the least its rows allow (they only appear in `z − … ≥ 0` rows
/// with a positive cost), and check every row.
struct Mps {
    senses: BTreeMap<String, char>,
    rhs: BTreeMap<String, f64>,
    /// Column names in file order.
    columns: Vec<String>,
    /// Per column: (row, coefficient).
    entries: Vec<Vec<(String, f64)>>,
    /// Per row: (column position, coefficient), so that a row's activity costs its
    /// entries only.
    rows: BTreeMap<String, Vec<(usize, f64)>>,
}

impl Mps {
    fn parse(text: &str) -> Mps {
        let mut section = "";
        let mut mps = Mps {
            senses: BTreeMap::new(),
            rhs: BTreeMap::new(),
            columns: Vec::new(),
            entries: Vec::new(),
            rows: BTreeMap::new(),
        };
        for line in text.lines() {
            if line.starts_with('*') {
                continue;
            }
            if !line.starts_with(' ') {
                section = line.split_whitespace().next().unwrap_or("");
                continue;
            }
            let f: Vec<&str> = line.split_whitespace().collect();
            match section {
                "ROWS" => {
                    mps.senses
                        .insert(f[1].to_string(), f[0].chars().next().unwrap());
                }
                "COLUMNS" if f[1] != "'MARKER'" => {
                    if mps.columns.last().is_none_or(|c| c != f[0]) {
                        mps.columns.push(f[0].to_string());
                        mps.entries.push(Vec::new());
                    }
                    let column = mps.columns.len() - 1;
                    let coefficient: f64 = f[2].parse().unwrap();
                    let row = mps.rows.entry(f[1].to_string()).or_default();
                    assert!(row.iter().all(|&(c, _)| c != column), "{line}");
                    row.push((column, coefficient));
                    mps.entries[column].push((f[1].to_string(), coefficient));
                }
                "RHS" => {
                    mps.rhs.insert(f[1].to_string(), f[2].parse().unwrap());
                }
                _ => {}
            }
        }
        let mut names: Vec<&String> = mps.columns.iter().collect();
        names.sort();
        names.dedup();
        assert_eq!(
            names.len(),
            mps.columns.len(),
            "a column's entries are split"
        );
        mps
    }

    fn activity(&self, row: &str, value: &[f64]) -> f64 {
        self.rows.get(row).map_or(0.0, |entries| {
            entries.iter().map(|&(c, a)| a * value[c]).sum()
        })
    }

    fn price(&self, problem: &Problem, assignment: &[usize]) -> Option<f64> {
        // The x columns come first, workload by workload, option by option.
        let mut value = vec![0.0; self.columns.len()];
        let mut k = 0;
        for (w, workload) in problem.workloads.iter().enumerate() {
            for o in 0..workload.options.len() {
                value[k] = if assignment[w] == o { 1.0 } else { 0.0 };
                k += 1;
            }
        }
        for column in k..self.columns.len() {
            let mut least: f64 = 0.0;
            for (row, coefficient) in &self.entries[column] {
                if row == "COST" {
                    continue;
                }
                assert_eq!(self.senses[row], 'G');
                assert_eq!(*coefficient, 1.0);
                // Continuous columns do not share rows, so the row's other entries are
                // all binaries, already set.
                least = least.max(-self.activity(row, &value));
            }
            value[column] = least;
        }
        for (row, &sense) in &self.senses {
            if sense == 'N' {
                continue;
            }
            let a = self.activity(row, &value);
            let b = self.rhs.get(row).copied().unwrap_or(0.0);
            let ok = match sense {
                'E' => (a - b).abs() < 1e-9,
                'L' => a <= b + 1e-9 * b.abs().max(1.0),
                _ => a >= b - 1e-9,
            };
            if !ok {
                return None;
            }
        }
        Some(self.activity("COST", &value) - self.rhs.get("COST").copied().unwrap_or(0.0))
    }
}

#[test]
fn explains_an_apart_pair_on_one_cloud() {
    let location = |cloud| Location {
        name: format!("cloud{cloud}"),
        cloud,
        continent: 0,
        region: 0,
        egress: [0.0, 0.02, 0.05, 0.09],
    };
    let workload = |name: &str| Workload {
        name: name.to_string(),
        options: vec![Choice {
            location: 0,
            label: "only".into(),
            monthly_usd: 1.0,
            uses: Vec::new(),
            opens: Default::default(),
        }],
    };
    let problem = Problem {
        locations: vec![location(0), location(1)],
        workloads: vec![workload("api_a"), workload("api_b")],
        apart: vec![(0, 1)],
        ..Problem::default()
    };
    let Err(SolveError::Infeasible { explanation }) = solve(&problem, &Limits::default()) else {
        panic!("expected infeasible");
    };
    assert!(
        explanation.contains("`api_a` and `api_b` must run on different clouds"),
        "{explanation}"
    );
}

#[test]
fn explains_a_capacity_too_small() {
    let problem = Problem {
        locations: vec![Location {
            name: "site".to_string(),
            cloud: 9,
            continent: 0,
            region: 0,
            egress: [0.0; 4],
        }],
        workloads: (0..2)
            .map(|w| Workload {
                name: format!("job{w}"),
                options: vec![Choice {
                    location: 0,
                    label: "on-prem".into(),
                    monthly_usd: 0.0,
                    uses: vec![(0, 600.0)],
                    opens: Default::default(),
                }],
            })
            .collect(),
        resources: vec![Resource {
            name: "site gpu-hours".to_string(),
            capacity: 1000.0,
        }],
        ..Problem::default()
    };
    let Err(SolveError::Infeasible { explanation }) = solve(&problem, &Limits::default()) else {
        panic!("expected infeasible");
    };
    assert!(
        explanation.contains(
            "resource `site gpu-hours` has capacity 1000 but `job0`, `job1` need at least 1200"
        ),
        "{explanation}"
    );
}

#[test]
fn a_workload_without_options_and_malformed_problems_are_errors() {
    let mut problem = instance(7, false);
    problem.workloads[1].options.clear();
    assert_eq!(
        solve(&problem, &Limits::default()),
        Err(SolveError::NoOptions {
            workload: "w1".to_string()
        })
    );
    let mut problem = instance(7, false);
    problem.workloads[0].options[0].monthly_usd = f64::NAN;
    assert!(matches!(
        solve(&problem, &Limits::default()),
        Err(SolveError::Invalid { .. })
    ));
    let mut problem = instance(7, false);
    problem.flows.push(Flow {
        from: 0,
        to: 99,
        gb_per_month: 1.0,
    });
    assert!(matches!(
        solve(&problem, &Limits::default()),
        Err(SolveError::Invalid { .. })
    ));
}

#[test]
fn the_search_stops_at_its_limit() {
    // A dense instance needs more than one node; a limit of one node must say so.
    let problem = (0..200)
        .map(|seed| instance(seed, false))
        .find(|p| solve(p, &Limits::default()).is_ok_and(|s| s.stats.nodes > 1))
        .expect("some instance needs a search");
    let limits = Limits {
        max_nodes: 0,
        max_work: u64::MAX,
        ..Limits::default()
    };
    assert!(matches!(
        solve(&problem, &limits),
        Err(SolveError::TooLarge { .. })
    ));
}

#[test]
fn empty_problem_costs_its_constant() {
    let problem = Problem {
        constant_usd: 12.5,
        ..Problem::default()
    };
    let solution = solve(&problem, &Limits::default()).unwrap();
    assert_eq!(solution.total_usd, 12.5);
    assert!(solution.choice.is_empty());
}

/// Four workloads held together only by a shared resource: `y` → `z` is one tree of
/// flows, `a` → `d` another, and the cut set is the resource users `y` and `d`. Each
/// tree must be optimized whatever node the search roots its DP at: `z` belongs next to
/// `y` (10 + no egress), not on the other cloud (0 + 1000 GB at 0.09), and `d` must take
/// its cheap option although its first one costs 1000.
#[test]
fn trees_joined_only_by_a_resource_are_all_optimized() {
    let location = |cloud| Location {
        name: format!("cloud{cloud}"),
        cloud,
        continent: 0,
        region: 0,
        egress: [0.0, 0.0, 0.0, 0.09],
    };
    let choice = |location, monthly_usd, uses: f64| Choice {
        location,
        label: format!("at {location} for {monthly_usd}").into(),
        monthly_usd,
        uses: if uses > 0.0 {
            vec![(0, uses)]
        } else {
            Vec::new()
        },
        opens: Default::default(),
    };
    let workload = |name: &str, options| Workload {
        name: name.to_string(),
        options,
    };
    let problem = Problem {
        locations: vec![location(0), location(1)],
        workloads: vec![
            workload("a", vec![choice(0, 0.0, 0.0)]),
            workload("y", vec![choice(0, 0.0, 1.0)]),
            workload("z", vec![choice(1, 0.0, 0.0), choice(0, 10.0, 0.0)]),
            workload("d", vec![choice(0, 1000.0, 1.0), choice(0, 0.0, 1.0)]),
        ],
        flows: vec![
            Flow {
                from: 1,
                to: 2,
                gb_per_month: 1000.0,
            },
            Flow {
                from: 0,
                to: 3,
                gb_per_month: 1.0,
            },
        ],
        resources: vec![Resource {
            name: "site".to_string(),
            capacity: 10.0,
        }],
        ..Problem::default()
    };
    assert_eq!(brute_force(&problem), Some(10.0));
    for solution in [
        solve(&problem, &Limits::default()),
        solve_by_search(&problem, &Limits::default()),
    ] {
        let solution = solution.unwrap();
        assert_eq!(solution.choice, vec![0, 0, 1, 1]);
        assert_eq!(solution.total_usd, 10.0);
    }
}

/// A component that passes its own share of the limits stops with the best plan it found
/// and the bound its root proved: the plan is feasible, the optimum lies between the two,
/// and the same on every run. (A fortieth of 120 nodes: 3 nodes a component.)
#[test]
fn a_component_stopped_at_its_limits_states_a_true_gap() {
    let limits = Limits {
        max_nodes: 120,
        ..Limits::default()
    };
    let mut gapped = 0;
    for seed in 0..3000 {
        let problem = varied(seed);
        let Some(best) = brute_force(&problem) else {
            continue;
        };
        match solve(&problem, &limits) {
            Ok(solution) => {
                assert_eq!(
                    evaluate(&problem, &solution.choice),
                    Some(solution.total_usd)
                );
                let slack = 1e-6 * best.abs().max(1.0);
                assert!(solution.lower_bound_usd <= best + slack, "seed {seed}");
                assert!(best <= solution.total_usd + slack, "seed {seed}");
                assert_eq!(Ok(&solution), solve(&problem, &limits).as_ref());
                if !solution.is_proven() {
                    gapped += 1;
                }
            }
            Err(SolveError::TooLarge { .. }) => {}
            Err(other) => panic!("seed {seed}: {other}"),
        }
    }
    assert!(gapped > 0, "no instance stopped with a gap");
}
