//! The placement solver on random instances shaped like real specs: chains, trees and
//! DAGs (1–3 parents) of 5–200 workloads over ~120 locations in 3 clouds and 5
//! continents, ~20 % of workloads restricted to one continent, flows of 50–20,000
//! GB/month at 0 / 0.02 / 0.05 / 0.09 $/GB; plus a scale run of 10,000 and 100,000
//! workloads in pipelines of 3–30.
//!
//! `cargo bench --bench solver -- OUT_DIR` writes each instance's MPS and
//! `OUT_DIR/results.csv` (mlc's totals and solve times) for
//! `benches/optimality/compare.py`, which re-solves the MPS files with HiGHS.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use mlc::optimize::{solve, to_mps, Choice, Flow, Limits, Location, Problem, Workload};

/// splitmix64: instances are reproducible from their seed.
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
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

const CONTINENTS: u32 = 5;
const EU: u32 = 1;

/// 121 cloud regions: 33 + 40 + 48 over 3 clouds, spread over 5 continents.
fn locations() -> Vec<Location> {
    let mut out = Vec::new();
    for (cloud, count) in [(0u32, 33u32), (1, 40), (2, 48)] {
        for region in 0..count {
            let continent = region % CONTINENTS;
            out.push(Location {
                name: format!("cloud{cloud}-r{region}"),
                cloud,
                continent,
                region,
                egress: [0.0, 0.02, 0.05, 0.09],
            });
        }
    }
    out
}

/// Monthly prices of 5 hardware classes (8×A100, 8×H100, 1×T4, 1×L4, 8 vCPU).
const HARDWARE_USD_PER_HOUR: [f64; 5] = [32.77, 98.32, 0.53, 0.80, 0.38];

struct Market {
    /// Per hardware class, per location: price factor, or none where not offered.
    factor: Vec<Vec<Option<f64>>>,
}

fn market(rng: &mut Rng, locations: &[Location]) -> Market {
    let factor = HARDWARE_USD_PER_HOUR
        .iter()
        .map(|_| {
            locations
                .iter()
                .map(|_| (rng.below(100) < 70).then(|| 0.9 + 0.4 * rng.unit()))
                .collect()
        })
        .collect();
    Market { factor }
}

fn workload(rng: &mut Rng, name: String, locations: &[Location], market: &Market) -> Workload {
    let hardware = rng.below(HARDWARE_USD_PER_HOUR.len());
    let hours = [730.0, 200.0, 730.0 * 2.0][rng.below(3)];
    let eu_only = rng.below(100) < 20;
    let options: Vec<Choice> = locations
        .iter()
        .enumerate()
        .filter(|(_, l)| !eu_only || l.continent == EU)
        .filter_map(|(i, l)| {
            let f = market.factor[hardware][i]?;
            Some(Choice {
                location: i,
                label: format!("{} hw{hardware}", l.name).into(),
                monthly_usd: (HARDWARE_USD_PER_HOUR[hardware] * f * hours * 100.0).round() / 100.0,
                uses: Vec::new(),
                opens: Default::default(),
            })
        })
        .collect();
    Workload { name, options }
}

#[derive(Clone, Copy)]
enum Shape {
    Chain,
    Tree,
    Dag,
}

impl Shape {
    fn name(self) -> &'static str {
        match self {
            Shape::Chain => "chain",
            Shape::Tree => "tree",
            Shape::Dag => "dag",
        }
    }
}

/// Adds one pipeline of `n` workloads to `problem`.
fn pipeline(rng: &mut Rng, problem: &mut Problem, shape: Shape, n: usize, market: &Market) {
    let base = problem.workloads.len();
    for i in 0..n {
        let w = workload(rng, format!("w{}", base + i), &problem.locations, market);
        problem.workloads.push(w);
        if i == 0 {
            continue;
        }
        let parents = match shape {
            Shape::Chain => vec![i - 1],
            Shape::Tree => vec![rng.below(i)],
            Shape::Dag => {
                let mut p: Vec<usize> = (0..1 + rng.below(3)).map(|_| rng.below(i)).collect();
                p.sort_unstable();
                p.dedup();
                p
            }
        };
        for p in parents {
            problem.flows.push(Flow {
                from: base + p,
                to: base + i,
                gb_per_month: (50.0 + rng.unit() * 19_950.0).round(),
            });
        }
    }
}

fn instance(shape: Shape, n: usize, seed: u64) -> Problem {
    let mut rng = Rng(seed);
    let mut problem = Problem {
        locations: locations(),
        constant_usd: 1234.5,
        ..Problem::default()
    };
    let market = market(&mut rng, &problem.locations);
    pipeline(&mut rng, &mut problem, shape, n, &market);
    problem
}

/// Many pipelines of 3–30 workloads of every shape, `n` workloads in all.
fn scale_instance(n: usize, seed: u64) -> Problem {
    let mut rng = Rng(seed);
    let mut problem = Problem {
        locations: locations(),
        ..Problem::default()
    };
    let market = market(&mut rng, &problem.locations);
    while problem.workloads.len() < n {
        let size = (3 + rng.below(28)).min(n - problem.workloads.len());
        let shape = [Shape::Chain, Shape::Tree, Shape::Dag][rng.below(3)];
        pipeline(&mut rng, &mut problem, shape, size, &market);
    }
    problem
}

fn timed(problem: &Problem) -> (f64, f64, u64) {
    let start = Instant::now();
    let solution = solve(problem, &Limits::default()).expect("bench instances are feasible");
    (
        start.elapsed().as_secs_f64(),
        solution.total_usd,
        solution.stats.nodes,
    )
}

fn main() {
    // `cargo bench` passes `--bench`; the first other argument is the output folder.
    let out: PathBuf = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/optimality"));
    std::fs::create_dir_all(&out).expect("create the output folder");
    let mut csv = String::from("name,shape,workloads,mlc_total_usd,mlc_seconds,nodes\n");
    let sizes = [5, 20, 50, 100, 200];
    for shape in [Shape::Chain, Shape::Tree, Shape::Dag] {
        for n in sizes {
            for seed in 1..=2u64 {
                let problem = instance(shape, n, seed * 1000 + n as u64);
                let name = format!("{}_{n}_{seed}", shape.name());
                std::fs::write(out.join(format!("{name}.mps")), to_mps(&problem))
                    .expect("write the MPS");
                // The median of 5 runs: the first also warms caches.
                let mut runs: Vec<(f64, f64, u64)> = (0..5).map(|_| timed(&problem)).collect();
                runs.sort_by(|a, b| a.0.total_cmp(&b.0));
                let (seconds, total, nodes) = runs[2];
                let _ = writeln!(csv, "{name},{},{n},{total},{seconds},{nodes}", shape.name());
                println!(
                    "{name:<12} total {total:>14.2}  {:>9.3} ms  {nodes} nodes",
                    seconds * 1e3
                );
            }
        }
    }
    std::fs::write(out.join("results.csv"), csv).expect("write results.csv");
    let mut previous = None;
    for n in [10_000, 100_000] {
        let problem = scale_instance(n, 42);
        let (seconds, total, nodes) = timed(&problem);
        let ratio = previous
            .map(|p: f64| format!("  ({:.1}x the time of 10x fewer)", seconds / p))
            .unwrap_or_default();
        println!(
            "scale {n:>7} workloads: {:.3} s, total {total:.2}, {nodes} nodes{ratio}",
            seconds
        );
        previous = Some(seconds);
    }
}
