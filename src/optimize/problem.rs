//! The placement problem the solver takes, the answer it gives, and `evaluate`, the one
//! definition of what an assignment costs (the solver, the MPS export and the tests all
//! agree with it).

use std::fmt;

/// Index into [`Problem::locations`].
pub type LocationId = usize;
/// Index into [`Problem::workloads`].
pub type WorkloadId = usize;
/// Index into [`Problem::resources`].
pub type ResourceId = usize;
/// Index into [`Problem::facilities`].
pub type FacilityId = usize;

/// Egress levels, from the closest pair of locations to the farthest: the index into
/// [`Location::egress`].
pub const SAME_REGION: usize = 0;
/// Same cloud and continent, another region.
pub const SAME_CONTINENT: usize = 1;
/// Same cloud, another continent.
pub const SAME_CLOUD: usize = 2;
/// Another cloud, on-prem ↔ cloud, or the internet.
pub const OTHER_CLOUD: usize = 3;

/// A placement problem: every workload picks exactly one of its options; the total is
/// the options' own costs plus egress on every flow plus the fixed cost of every facility
/// a chosen option opens plus `constant_usd`, subject to the `apart` pairs and resource
/// capacities.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Problem {
    pub locations: Vec<Location>,
    /// The decision variables; each picks exactly one option.
    pub workloads: Vec<Workload>,
    /// Data edges: cost = `gb_per_month` × the source location's rate at the level where
    /// the two locations differ.
    pub flows: Vec<Flow>,
    /// Pairs that must run on different clouds (the two copies of an `active_active`
    /// service).
    pub apart: Vec<(WorkloadId, WorkloadId)>,
    /// Shared capacities (an on-prem site's GPU-hours per month).
    pub resources: Vec<Resource>,
    /// Fixed costs paid once however many chosen options open them (a Kubernetes
    /// cluster in a region: its control plane, system nodes and network): the
    /// facility-location term.
    pub facilities: Vec<Facility>,
    /// Costs no choice changes; reported in the total and as the MPS objective offset.
    pub constant_usd: f64,
}

/// A fixed monthly cost that any chosen option in [`Choice::opens`] makes the plan pay,
/// once.
#[derive(Debug, Clone, PartialEq)]
pub struct Facility {
    pub name: String,
    pub monthly_usd: f64,
}

/// A place a workload can run: a cloud region or an on-prem site (a cloud id of its own).
#[derive(Debug, Clone, PartialEq)]
pub struct Location {
    pub name: String,
    pub cloud: u32,
    pub continent: u32,
    /// Unique within a (cloud, continent); two locations with equal (cloud, continent,
    /// region) are the same region for egress.
    pub region: u32,
    /// USD/GB for data leaving this location towards: [same region, same cloud and
    /// continent other region, same cloud other continent, other cloud / internet];
    /// non-negative and non-decreasing.
    pub egress: [f64; 4],
}

/// One decision: a workload and the options it may take.
#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    pub name: String,
    pub options: Vec<Choice>,
}

/// One option of a workload: where it runs, what it costs there per month, and what it
/// takes from shared resources.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    pub location: LocationId,
    /// Shown in explanations and MPS comments (e.g. "aws us-east-1 p5.48xlarge spot").
    pub label: std::sync::Arc<str>,
    pub monthly_usd: f64,
    pub uses: Vec<(ResourceId, f64)>,
    /// Facilities this option needs (shared by every option of one place, so an `Arc`).
    pub opens: std::sync::Arc<[FacilityId]>,
}

/// Data moved from one workload to another every month.
#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    pub from: WorkloadId,
    pub to: WorkloadId,
    pub gb_per_month: f64,
}

/// A shared capacity: the sum of the chosen options' uses must not exceed it.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    pub name: String,
    pub capacity: f64,
}

/// Bounds on the solver's work, so that no problem can make it hang. Both are counted
/// deterministically (no clocks), so a problem that fails does so on every machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Branch-and-bound nodes over all components.
    pub max_nodes: u64,
    /// Work units over all components: one unit per (option × incident edge) visited by
    /// a dynamic-programming pass.
    pub max_work: u64,
    /// Nodes of the search over facilities (each solves the problem without fixed
    /// costs once); past it the best plan found is returned with its proven gap.
    pub max_facility_nodes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_nodes: 2_000_000,
            max_work: 4_000_000_000,
            max_facility_nodes: 2_000,
        }
    }
}

/// An assignment and how far from optimal it is proven to be: `lower_bound_usd` equals
/// `total_usd` (to 1e-9 relative) when the optimum is proven; it is lower only when a
/// component passed its own share of the limits, or the search over facilities passed
/// [`Limits::max_facility_nodes`] or its work limits, after finding a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Solution {
    /// The option index chosen for each workload.
    pub choice: Vec<usize>,
    /// `evaluate(problem, &choice)`: options + egress + facilities + `constant_usd`.
    pub total_usd: f64,
    /// No assignment costs less than this.
    pub lower_bound_usd: f64,
    pub stats: SolveStats,
}

/// What the solver did, for benchmarks and `--verbose` output.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SolveStats {
    /// Connected components (by flows, `apart` pairs and shared resources).
    pub components: usize,
    /// Components solved exactly by tree dynamic programming alone.
    pub tree_components: usize,
    /// Components that needed branch and bound.
    pub searched_components: usize,
    /// Options left after dominance pruning, over all workloads.
    pub options_kept: usize,
    /// Options in the problem.
    pub options_total: usize,
    /// Branch-and-bound nodes explored.
    pub nodes: u64,
    /// Work units spent (see [`Limits::max_work`]).
    pub work: u64,
    /// Nodes of the search over facilities (0 without fixed costs).
    pub facility_nodes: u64,
}

impl Solution {
    /// Whether the total is proven optimal.
    pub fn is_proven(&self) -> bool {
        self.total_usd - self.lower_bound_usd <= tolerance(self.total_usd) * 1e3
    }
}

/// Why there is no solution.
#[derive(Debug, Clone, PartialEq)]
pub enum SolveError {
    /// A workload has no option at all.
    NoOptions { workload: String },
    /// No assignment meets every constraint; `explanation` names the workloads and the
    /// constraints that conflict.
    Infeasible { explanation: String },
    /// The search passed its [`Limits`] before proving an optimum; `workloads` is the
    /// size of the largest component.
    TooLarge {
        workloads: usize,
        max_nodes: u64,
        max_work: u64,
    },
    /// The problem itself is malformed (an index out of range, a NaN or negative cost,
    /// egress rates that decrease with distance); a bug in whoever built it.
    Invalid { reason: String },
}

impl fmt::Display for SolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SolveError::NoOptions { workload } => {
                write!(f, "workload `{workload}` has no feasible option")
            }
            SolveError::Infeasible { explanation } => {
                write!(f, "no placement meets every constraint: {explanation}")
            }
            SolveError::TooLarge {
                workloads,
                max_nodes,
                max_work,
            } => write!(
                f,
                "placement search passed its bound of {max_nodes} search nodes or {max_work} \
                 work units before proving an optimum (the largest group of connected \
                 workloads has {workloads}); the problem is too large to solve exactly"
            ),
            SolveError::Invalid { reason } => write!(f, "invalid placement problem: {reason}"),
        }
    }
}

impl std::error::Error for SolveError {}

/// The level at which two locations differ: 0 same region … 3 other cloud.
pub fn level(a: &Location, b: &Location) -> usize {
    if a.cloud != b.cloud {
        OTHER_CLOUD
    } else if a.continent != b.continent {
        SAME_CLOUD
    } else if a.region != b.region {
        SAME_CONTINENT
    } else {
        SAME_REGION
    }
}

/// The monthly egress cost of `gb` moved from `from` to `to`.
pub fn flow_cost(from: &Location, to: &Location, gb: f64) -> f64 {
    gb * from.egress[level(from, to)]
}

/// The total cost of an assignment (one option index per workload), or `None` when it
/// is not a complete, feasible assignment.
pub fn evaluate(problem: &Problem, choice: &[usize]) -> Option<f64> {
    if choice.len() != problem.workloads.len() {
        return None;
    }
    let mut chosen = Vec::with_capacity(choice.len());
    for (workload, &index) in problem.workloads.iter().zip(choice) {
        chosen.push(workload.options.get(index)?);
    }
    let location = |option: &Choice| problem.locations.get(option.location);
    let mut used = vec![0.0; problem.resources.len()];
    let mut opened = vec![false; problem.facilities.len()];
    let mut total = problem.constant_usd;
    for option in &chosen {
        location(option)?;
        total += option.monthly_usd;
        for &(resource, amount) in &option.uses {
            *used.get_mut(resource)? += amount;
        }
        for &facility in option.opens.iter() {
            *opened.get_mut(facility)? = true;
        }
    }
    for (facility, _) in problem.facilities.iter().zip(&opened).filter(|(_, o)| **o) {
        total += facility.monthly_usd;
    }
    for (resource, used) in problem.resources.iter().zip(&used) {
        if *used > resource.capacity + tolerance(resource.capacity) {
            return None;
        }
    }
    for &(a, b) in &problem.apart {
        if location(chosen.get(a)?)?.cloud == location(chosen.get(b)?)?.cloud {
            return None;
        }
    }
    for flow in &problem.flows {
        let from = location(chosen.get(flow.from)?)?;
        let to = location(chosen.get(flow.to)?)?;
        total += flow_cost(from, to, flow.gb_per_month);
    }
    Some(total)
}

/// The slack allowed on a capacity or a cost comparison of magnitude `x`.
pub(crate) fn tolerance(x: f64) -> f64 {
    1e-9 * x.abs().max(1.0)
}

/// Rejects problems the solver cannot give a meaningful answer for.
pub(crate) fn validate(problem: &Problem) -> Result<(), SolveError> {
    let invalid = |reason: String| Err(SolveError::Invalid { reason });
    let finite = |x: f64| x.is_finite() && x >= 0.0;
    for location in &problem.locations {
        if !location.egress.iter().all(|&r| finite(r))
            || location.egress.windows(2).any(|w| w[0] > w[1])
        {
            return invalid(format!(
                "location `{}` has egress rates that are not non-negative and non-decreasing",
                location.name
            ));
        }
    }
    for workload in &problem.workloads {
        for option in &workload.options {
            if option.location >= problem.locations.len() {
                return invalid(format!(
                    "workload `{}` option `{}` names location {} of {}",
                    workload.name,
                    option.label,
                    option.location,
                    problem.locations.len()
                ));
            }
            if !finite(option.monthly_usd) {
                return invalid(format!(
                    "workload `{}` option `{}` costs {}",
                    workload.name, option.label, option.monthly_usd
                ));
            }
            if let Some(&facility) = option
                .opens
                .iter()
                .find(|&&f| f >= problem.facilities.len())
            {
                return invalid(format!(
                    "workload `{}` option `{}` opens facility {facility} of {}",
                    workload.name,
                    option.label,
                    problem.facilities.len()
                ));
            }
            for &(resource, amount) in &option.uses {
                if resource >= problem.resources.len() || !finite(amount) {
                    return invalid(format!(
                        "workload `{}` option `{}` uses {amount} of resource {resource}",
                        workload.name, option.label
                    ));
                }
            }
        }
    }
    let n = problem.workloads.len();
    for flow in &problem.flows {
        if flow.from >= n || flow.to >= n || !finite(flow.gb_per_month) {
            return invalid(format!(
                "flow {} → {} of {} GB/month is out of range",
                flow.from, flow.to, flow.gb_per_month
            ));
        }
    }
    for &(a, b) in &problem.apart {
        if a >= n || b >= n {
            return invalid(format!("apart pair ({a}, {b}) is out of range"));
        }
    }
    for resource in &problem.resources {
        if !finite(resource.capacity) {
            return invalid(format!(
                "resource `{}` has capacity {}",
                resource.name, resource.capacity
            ));
        }
    }
    for facility in &problem.facilities {
        if !finite(facility.monthly_usd) {
            return invalid(format!(
                "facility `{}` costs {}",
                facility.name, facility.monthly_usd
            ));
        }
    }
    if !problem.constant_usd.is_finite() {
        return invalid(format!("constant cost is {}", problem.constant_usd));
    }
    Ok(())
}
