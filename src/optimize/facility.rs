//! Fixed costs: the facility-location term. Opening a facility (a Kubernetes cluster in
//! a region) costs its monthly price once, however many chosen options need it, so the
//! cheapest plan may keep a workload beside the others rather than open a region for it.
//!
//! Branch and bound over facilities. A node fixes some facilities open (their price is
//! paid) and some closed (the options that need them are dropped); the rest are free.
//! Its bound is the exact optimum, by the solver without facilities, of a relaxation in
//! which each free facility's price is shared out over the workloads that could open it
//! by dual ascent (Erlenkotter 1978): a workload's options there cost more by its share,
//! and the shares of one facility never add up to more than its price. Any assignment
//! pays at least its shares, so no assignment below the node costs less than the bound.
//! The bound's own assignment, priced with the real facilities, is a plan; when it opens
//! a free facility the node branches on that facility (closed, open). Nodes are taken
//! best bound first, so the search ends with a proven optimum, or, past
//! `Limits::max_facility_nodes` or the work limits, with the best plan found and the
//! least bound still open: its proven gap.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::Arc;

use super::problem::{
    evaluate, flow_cost, tolerance, Choice, FacilityId, Limits, Problem, Solution, SolveError,
    SolveStats, Workload,
};

/// Options relaxed over all nodes before the search stops with its gap: a node costs
/// one pass over every option (plus the solver's own, bounded, work), so large specs
/// stop after fewer nodes than small ones, the same way on every machine.
const MAX_OPTION_VISITS: u64 = 5_000_000;

/// Whether some option opens a facility with a price: otherwise the plain solver is exact.
pub(crate) fn has_fixed_costs(problem: &Problem) -> bool {
    let priced = |f: &FacilityId| problem.facilities[*f].monthly_usd > 0.0;
    problem
        .workloads
        .iter()
        .any(|w| w.options.iter().any(|o| o.opens.iter().any(priced)))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Free,
    Open,
    Closed,
}

/// A node waiting in the queue: the least bound first; among equal bounds the newest,
/// so the search dives towards a plan.
struct Queued {
    bound: f64,
    seq: usize,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Queued {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .bound
            .total_cmp(&self.bound)
            .then(self.seq.cmp(&other.seq))
    }
}

/// A node's relaxation: the problem without facilities, with free facilities' prices
/// shared out, and the way back to the original option indices.
struct Relaxation {
    problem: Problem,
    /// Per workload, the original index of each kept option.
    kept: Vec<Vec<usize>>,
    /// Per workload, the share of each free facility its options there carry.
    shares: Vec<Vec<(FacilityId, f64)>>,
    /// The node's status with the facilities every plan below it opens set open.
    status: Vec<Status>,
}

/// The best plan within `limits`: exact when the search finishes, else the best plan
/// found with its proven lower bound. `inner` is the exact solver without facilities.
pub(crate) fn solve(
    problem: &Problem,
    limits: &Limits,
    inner: impl Fn(&Problem, &Limits) -> Result<Solution, SolveError>,
) -> Result<Solution, SolveError> {
    let mut statuses = vec![vec![Status::Free; problem.facilities.len()]];
    let mut queue = BinaryHeap::from([Queued {
        bound: f64::NEG_INFINITY,
        seq: 0,
    }]);
    let mut best: Option<(f64, Vec<usize>)> = None;
    let mut remaining = *limits;
    let mut stats: Option<SolveStats> = None;
    let (mut nodes, mut work, mut evaluated) = (0u64, 0u64, 0u64);
    let mut open_bound: Option<f64> = None;
    let mut unresolved = f64::INFINITY;
    let options: u64 = problem
        .workloads
        .iter()
        .map(|w| w.options.len() as u64)
        .sum::<u64>()
        .max(1);
    while let Some(queued) = queue.pop() {
        if let Some((total, _)) = &best {
            if queued.bound >= total - tolerance(*total) {
                break;
            }
        }
        if evaluated >= limits.max_facility_nodes || evaluated * options >= MAX_OPTION_VISITS {
            open_bound = Some(queued.bound);
            break;
        }
        evaluated += 1;
        let status = std::mem::take(&mut statuses[queued.seq]);
        let Some(relaxed) = relax(problem, &status) else {
            continue;
        };
        let solution = match inner(&relaxed.problem, &remaining) {
            Ok(solution) => solution,
            Err(SolveError::Infeasible { .. } | SolveError::NoOptions { .. }) if evaluated > 1 => {
                continue
            }
            Err(SolveError::TooLarge { .. }) if best.is_some() => {
                open_bound = Some(queued.bound);
                break;
            }
            Err(error) => return Err(error),
        };
        nodes += solution.stats.nodes;
        work += solution.stats.work;
        remaining.max_nodes = remaining.max_nodes.saturating_sub(solution.stats.nodes);
        remaining.max_work = remaining.max_work.saturating_sub(solution.stats.work);
        if evaluated == 1 {
            // The root had the solver's whole budget; the nodes after it share an
            // eighth of it, so a spec whose relaxations are hard to solve stops within
            // seconds with its gap rather than solving hundreds of them.
            remaining.max_nodes = remaining.max_nodes.min(limits.max_nodes / 8);
            remaining.max_work = remaining.max_work.min(limits.max_work / 8);
        }
        stats.get_or_insert_with(|| solution.stats.clone());
        let choice: Vec<usize> = solution
            .choice
            .iter()
            .zip(&relaxed.kept)
            .map(|(&c, kept)| kept[c])
            .collect();
        let total = evaluate(problem, &choice).ok_or_else(|| SolveError::Invalid {
            reason: "internal error: a relaxation's assignment is infeasible".to_string(),
        })?;
        if best.as_ref().is_none_or(|(b, _)| total < b - tolerance(*b)) {
            best = Some((total, choice.clone()));
        }
        // The relaxation's own bound: below its total only where the solver without
        // facilities stopped at its limits on some component.
        let bound = solution.lower_bound_usd;
        let incumbent = best.as_ref().map_or(f64::INFINITY, |(b, _)| *b);
        if bound >= incumbent - tolerance(incumbent) {
            continue;
        }
        let Some(facility) = branching_facility(problem, &choice, &relaxed) else {
            // Nothing left to branch on, but the relaxation was not solved exactly: its
            // bound stays open.
            unresolved = unresolved.min(bound);
            continue;
        };
        for decision in [Status::Open, Status::Closed] {
            let mut child = relaxed.status.clone();
            child[facility] = decision;
            queue.push(Queued {
                bound,
                seq: statuses.len(),
            });
            statuses.push(child);
        }
    }
    // Only the node limit can end the search before the root's relaxation gave a plan.
    let Some((total, choice)) = best else {
        return Err(SolveError::TooLarge {
            workloads: problem.workloads.len(),
            max_nodes: limits.max_nodes,
            max_work: limits.max_work,
        });
    };
    let mut stats = stats.unwrap_or_default();
    stats.nodes = nodes;
    stats.work = work;
    stats.facility_nodes = evaluated;
    Ok(Solution {
        choice,
        total_usd: total,
        lower_bound_usd: open_bound.map_or(total, |b| b.min(total)).min(unresolved),
        stats,
    })
}

/// The relaxation of a node, or `None` when closing facilities left a workload with no
/// option.
fn relax(problem: &Problem, status: &[Status]) -> Option<Relaxation> {
    let mut kept_all: Vec<Vec<usize>> = Vec::with_capacity(problem.workloads.len());
    for workload in &problem.workloads {
        let kept: Vec<usize> = (0..workload.options.len())
            .filter(|&o| {
                workload.options[o]
                    .opens
                    .iter()
                    .all(|&f| status[f] != Status::Closed)
            })
            .collect();
        if kept.is_empty() {
            return None;
        }
        kept_all.push(kept);
    }
    let status = with_mandatory_open(problem, status, &kept_all);
    let mut budget: Vec<f64> = problem
        .facilities
        .iter()
        .zip(&status)
        .map(|(f, s)| {
            if *s == Status::Free {
                f.monthly_usd
            } else {
                0.0
            }
        })
        .collect();
    let paid: f64 = problem
        .facilities
        .iter()
        .zip(&status)
        .filter(|(_, s)| **s == Status::Open)
        .map(|(f, _)| f.monthly_usd)
        .sum();
    // The most constrained workloads take their shares first: a workload with one
    // place can only ever open that place's facilities.
    let mut order: Vec<usize> = (0..problem.workloads.len()).collect();
    order.sort_by_key(|&w| kept_all[w].len());
    let mut incident = vec![Vec::new(); problem.workloads.len()];
    for (i, flow) in problem.flows.iter().enumerate() {
        if flow.from != flow.to {
            incident[flow.from].push(i);
            incident[flow.to].push(i);
        }
    }
    // Dual ascent in rounds, one step per workload a round (Erlenkotter's order): a
    // workload that took every facility's price in one go would leave nothing for the
    // others, whose own steps would raise the bound as much. Each step merges a cost
    // level or uses up a price, so a workload runs out of steps after this many.
    let mut shares_all = vec![Vec::new(); problem.workloads.len()];
    let mut ascent: Vec<(Vec<&Choice>, Vec<f64>, usize)> = (0..problem.workloads.len())
        .map(|w| {
            let options: Vec<&Choice> = kept_all[w]
                .iter()
                .map(|&o| &problem.workloads[w].options[o])
                .collect();
            let costs = ascent_costs(problem, w, &options, &incident[w], &kept_all);
            let steps = options.len() + budget.len();
            (options, costs, steps)
        })
        .collect();
    let mut active = order;
    while !active.is_empty() {
        active.retain(|&w| {
            let (options, costs, steps) = &mut ascent[w];
            let raised =
                *steps > 0 && ascend_step(options, costs, &mut budget, &status, &mut shares_all[w]);
            *steps = steps.saturating_sub(1);
            raised
        });
    }
    let no_facilities: Arc<[FacilityId]> = Arc::from([]);
    let workloads = problem
        .workloads
        .iter()
        .zip(&kept_all)
        .zip(&shares_all)
        .map(|((workload, kept), shares)| Workload {
            name: workload.name.clone(),
            options: kept
                .iter()
                .map(|&o| {
                    let option = &workload.options[o];
                    let share: f64 = shares
                        .iter()
                        .filter(|(f, _)| option.opens.contains(f))
                        .map(|(_, amount)| amount)
                        .sum();
                    Choice {
                        location: option.location,
                        label: Arc::clone(&option.label),
                        monthly_usd: option.monthly_usd + share,
                        uses: option.uses.clone(),
                        opens: Arc::clone(&no_facilities),
                    }
                })
                .collect(),
        })
        .collect();
    Some(Relaxation {
        problem: Problem {
            locations: problem.locations.clone(),
            workloads,
            flows: problem.flows.clone(),
            apart: problem.apart.clone(),
            resources: problem.resources.clone(),
            facilities: Vec::new(),
            constant_usd: problem.constant_usd + paid,
        },
        kept: kept_all,
        shares: shares_all,
        status,
    })
}

/// The node's status with every free facility that some workload opens wherever it
/// runs set open: every plan below the node pays it, so the bound may too.
fn with_mandatory_open(problem: &Problem, status: &[Status], kept: &[Vec<usize>]) -> Vec<Status> {
    let mut status = status.to_vec();
    for (workload, kept) in problem.workloads.iter().zip(kept) {
        let first = &workload.options[kept[0]].opens;
        for &f in first.iter() {
            if status[f] == Status::Free
                && kept.iter().all(|&o| workload.options[o].opens.contains(&f))
            {
                status[f] = Status::Open;
            }
        }
    }
    status
}

/// What guides a workload's dual ascent: each option's own cost plus the egress to and
/// from neighbours that have one place left. Only the shares the ascent takes reach
/// the bound, and those stay within each facility's price whatever guided them, so the
/// bound stays valid; the egress makes the shares follow where the workload would
/// really run.
fn ascent_costs(
    problem: &Problem,
    w: usize,
    options: &[&Choice],
    incident: &[usize],
    kept: &[Vec<usize>],
) -> Vec<f64> {
    let pinned = |v: usize| {
        (kept[v].len() == 1)
            .then(|| &problem.locations[problem.workloads[v].options[kept[v][0]].location])
    };
    options
        .iter()
        .map(|option| {
            let here = &problem.locations[option.location];
            let mut cost = option.monthly_usd;
            for flow in incident.iter().map(|&i| &problem.flows[i]) {
                if flow.from == w {
                    if let Some(there) = pinned(flow.to) {
                        cost += flow_cost(here, there, flow.gb_per_month);
                    }
                } else if flow.to == w {
                    if let Some(there) = pinned(flow.from) {
                        cost += flow_cost(there, here, flow.gb_per_month);
                    }
                }
            }
            cost
        })
        .collect()
}

/// One step of dual ascent for one workload: raise the cost of its cheapest options by
/// shares of the free facilities they need, as far as the next cheaper level and the
/// facilities' unshared prices allow, recording the shares taken. Raising the cheapest
/// options raises the least the workload can cost, which is what tightens the bound.
/// Returns whether it raised anything.
fn ascend_step(
    options: &[&Choice],
    costs: &mut [f64],
    budget: &mut [f64],
    status: &[Status],
    shares: &mut Vec<(FacilityId, f64)>,
) -> bool {
    let least = costs.iter().copied().fold(f64::INFINITY, f64::min);
    let near = tolerance(least);
    let next = costs
        .iter()
        .copied()
        .filter(|&c| c > least + near)
        .fold(f64::INFINITY, f64::min);
    let mut raise: Vec<FacilityId> = Vec::new();
    for (option, _) in options
        .iter()
        .zip(&*costs)
        .filter(|(_, &c)| c <= least + near)
    {
        if option.opens.iter().any(|f| raise.contains(f)) {
            continue;
        }
        let free = option
            .opens
            .iter()
            .copied()
            .find(|&f| status[f] == Status::Free && budget[f] > near);
        match free {
            Some(f) => raise.push(f),
            None => return false,
        }
    }
    let step = raise
        .iter()
        .map(|&f| budget[f])
        .fold(next - least, f64::min);
    if step.partial_cmp(&near) != Some(Ordering::Greater) || raise.is_empty() {
        return false;
    }
    for &f in &raise {
        budget[f] -= step;
        match shares.iter_mut().find(|(g, _)| *g == f) {
            Some((_, amount)) => *amount += step,
            None => shares.push((f, step)),
        }
        for (option, cost) in options.iter().zip(costs.iter_mut()) {
            if option.opens.contains(&f) {
                *cost += step;
            }
        }
    }
    true
}

/// The free facility to branch on: among those the assignment opens, the one whose
/// price its users' shares cover least (the likeliest to be a mistake of the
/// relaxation); `None` when the assignment opens no free facility with a price.
fn branching_facility(
    problem: &Problem,
    choice: &[usize],
    relaxed: &Relaxation,
) -> Option<FacilityId> {
    let mut covered = vec![0.0; problem.facilities.len()];
    let mut opened = vec![false; problem.facilities.len()];
    for (w, &c) in choice.iter().enumerate() {
        for &f in problem.workloads[w].options[c].opens.iter() {
            opened[f] = true;
            if let Some((_, share)) = relaxed.shares[w].iter().find(|(g, _)| *g == f) {
                covered[f] += share;
            }
        }
    }
    (0..problem.facilities.len())
        .filter(|&f| {
            opened[f]
                && relaxed.status[f] == Status::Free
                && problem.facilities[f].monthly_usd > 0.0
        })
        .max_by(|&a, &b| {
            let uncovered = |f: usize| problem.facilities[f].monthly_usd - covered[f];
            uncovered(a).total_cmp(&uncovered(b)).then(b.cmp(&a))
        })
}
