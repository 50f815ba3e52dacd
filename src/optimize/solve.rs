//! `solve`: validate, prune and split, then solve each component exactly (tree DP or
//! branch and bound) and explain the conflict when one has no feasible assignment.

use rayon::prelude::*;

use super::branch::{component_cost, search, Budget, SharedBudget, Stopped};
use super::facility;
use super::problem::{evaluate, validate, Limits, Problem, Solution, SolveError, SolveStats};
use super::reduce::{reduce, Component, GeoCounts};
use super::tree::solve_tree;

/// The cheapest feasible assignment, proven optimal to floating-point tolerance, or,
/// past the limits, the best one found with its proven lower bound
/// (`Solution::lower_bound_usd`), or why there is none. Deterministic: the same problem
/// always gives the same solution.
pub fn solve(problem: &Problem, limits: &Limits) -> Result<Solution, SolveError> {
    solve_with(problem, limits, false)
}

/// `solve`, but every component goes through branch and bound even when it is a tree:
/// lets tests check the two exact methods against each other.
#[doc(hidden)]
pub fn solve_by_search(problem: &Problem, limits: &Limits) -> Result<Solution, SolveError> {
    solve_with(problem, limits, true)
}

/// One component's result and the work it took.
struct Outcome {
    positions: Result<Option<Vec<usize>>, Stopped>,
    /// Whether a stop came from the component's own limits (the same on every run)
    /// rather than from the totals over all components.
    stopped_alone: bool,
    searched: bool,
    nodes: u64,
    work: u64,
}

/// Solves one component: tree DP when it is a tree without resources, else branch and
/// bound; `Ok(None)` when nothing is feasible.
fn solve_component(
    comp: &Component,
    counts: GeoCounts,
    shared: &SharedBudget,
    always_search: bool,
) -> Outcome {
    let mut budget = Budget::new(shared);
    let is_tree = comp.resources.is_empty() && comp.edges.len() + 1 == comp.workloads.len();
    let searched = !comp.self_apart && (!is_tree || always_search);
    let positions = if comp.self_apart {
        Ok(None)
    } else if searched {
        search(comp, counts, &mut budget)
    } else {
        Ok(solve_tree(comp, counts, &mut budget.work))
    };
    // Report the last of the work, so that components still running stop early when the
    // totals are past a limit (which `solve_with` then reports from the totals).
    budget.exhausted();
    Outcome {
        stopped_alone: budget.stopped_alone && positions.is_err(),
        positions,
        searched,
        nodes: budget.nodes,
        work: budget.work,
    }
}

fn solve_with(
    problem: &Problem,
    limits: &Limits,
    always_search: bool,
) -> Result<Solution, SolveError> {
    validate(problem)?;
    if let Some(w) = problem.workloads.iter().find(|w| w.options.is_empty()) {
        return Err(SolveError::NoOptions {
            workload: w.name.clone(),
        });
    }
    if facility::has_fixed_costs(problem) {
        return facility::solve(problem, limits, |sub, limits| {
            solve_without_facilities(sub, limits, always_search)
        });
    }
    solve_without_facilities(problem, limits, always_search)
}

/// The exact solver of a problem whose facilities cost nothing (or that has none): the
/// facility search calls it once per node.
fn solve_without_facilities(
    problem: &Problem,
    limits: &Limits,
    always_search: bool,
) -> Result<Solution, SolveError> {
    let reduced = reduce(problem);
    let mut stats = SolveStats {
        components: reduced.components.len(),
        options_kept: reduced.options_kept,
        options_total: problem.workloads.iter().map(|w| w.options.len()).sum(),
        ..SolveStats::default()
    };
    // Components are independent: solve them on every core, then read the results in
    // component order, so the outcome (and any error) is the same on every machine.
    let shared = SharedBudget::new(limits.max_nodes, limits.max_work);
    let outcomes = in_component_order(
        hardest_first(&reduced.components)
            .into_par_iter()
            .with_max_len(1)
            .map(|c| {
                let outcome = solve_component(
                    &reduced.components[c],
                    reduced.geo_counts,
                    &shared,
                    always_search,
                );
                (c, outcome)
            })
            .collect(),
    );
    let (nodes, work) = outcomes
        .iter()
        .fold((0u64, 0u64), |(n, w), o| (n + o.nodes, w + o.work));
    // A component stops on its own limits at the same point on every run; otherwise it
    // stops only once the totals pass a limit, so "the totals passed a limit" is the
    // same verdict on every run. A component stopped alone without any plan (its root
    // found none) is too large as well.
    let too_large = nodes > limits.max_nodes
        || work > limits.max_work
        || outcomes.iter().any(|o| match &o.positions {
            Err(stopped) => !o.stopped_alone || stopped.best.is_none(),
            Ok(_) => false,
        });
    if too_large {
        return Err(SolveError::TooLarge {
            workloads: reduced
                .components
                .iter()
                .map(|c| c.workloads.len())
                .max()
                .unwrap_or(0),
            max_nodes: limits.max_nodes,
            max_work: limits.max_work,
        });
    }
    let mut choice = vec![0usize; problem.workloads.len()];
    let mut gap = 0.0;
    for (comp, outcome) in reduced.components.iter().zip(&outcomes) {
        if outcome.searched {
            stats.searched_components += 1;
        } else if !comp.self_apart {
            stats.tree_components += 1;
        }
        let positions = match &outcome.positions {
            Ok(Some(positions)) => positions,
            Err(Stopped {
                best: Some(best),
                bound,
            }) => {
                // The best plan found, and how much more than the bound it may cost.
                let found = component_cost(comp, best).unwrap_or(f64::INFINITY);
                gap += (found - bound).max(0.0);
                best
            }
            _ => {
                return Err(SolveError::Infeasible {
                    explanation: explain(problem, comp),
                })
            }
        };
        for (v, &p) in positions.iter().enumerate() {
            choice[comp.workloads[v]] = comp.options[v][p].index;
        }
    }
    stats.nodes = nodes;
    stats.work = work;
    let total_usd = evaluate(problem, &choice).ok_or_else(|| SolveError::Invalid {
        reason: "internal error: the solver's assignment is infeasible".to_string(),
    })?;
    Ok(Solution {
        choice,
        lower_bound_usd: total_usd - gap,
        total_usd,
        stats,
    })
}

/// Component indices, those likely to take longest first: one hard component started
/// last would otherwise keep a core busy long after the others are done. Cycles (edges
/// beyond a spanning tree) and shared resources are what make branch and bound search;
/// options weigh each node's work. Ties keep component order.
fn hardest_first(components: &[Component]) -> Vec<usize> {
    let effort = |c: &Component| {
        let options: usize = c.options.iter().map(Vec::len).sum();
        let cycles = (c.edges.len() + 1).saturating_sub(c.workloads.len());
        (cycles + c.resources.len(), options)
    };
    let mut order: Vec<usize> = (0..components.len()).collect();
    order.sort_by_key(|&c| std::cmp::Reverse(effort(&components[c])));
    order
}

/// Outcomes tagged with their component index, back in component order.
fn in_component_order(mut tagged: Vec<(usize, Outcome)>) -> Vec<Outcome> {
    tagged.sort_by_key(|(c, _)| *c);
    tagged.into_iter().map(|(_, outcome)| outcome).collect()
}

/// Names the constraints of an infeasible component: a workload apart from itself, an
/// `apart` pair whose options share one cloud only, a capacity smaller than the least
/// its users need together, or else every constraint of the component.
fn explain(problem: &Problem, comp: &Component) -> String {
    let name = |w: usize| format!("`{}`", problem.workloads[w].name);
    let in_comp = |w: usize| comp.workloads.binary_search(&w).is_ok();
    let apart: Vec<(usize, usize)> = problem
        .apart
        .iter()
        .copied()
        .filter(|&(a, _)| in_comp(a))
        .collect();
    if let Some(&(a, _)) = apart.iter().find(|(a, b)| a == b) {
        return format!("{} must run on a different cloud from itself", name(a));
    }
    let clouds = |w: usize| {
        let mut c: Vec<u32> = problem.workloads[w]
            .options
            .iter()
            .map(|o| problem.locations[o.location].cloud)
            .collect();
        c.sort_unstable();
        c.dedup();
        c
    };
    for &(a, b) in &apart {
        let (ca, cb) = (clouds(a), clouds(b));
        if ca.len() == 1 && ca == cb {
            let place = &problem.locations[problem.workloads[a].options[0].location].name;
            return format!(
                "{} and {} must run on different clouds, but both can only run on the cloud of `{place}`",
                name(a),
                name(b)
            );
        }
    }
    for (r, resource) in problem.resources.iter().enumerate() {
        let users: Vec<usize> = comp
            .workloads
            .iter()
            .copied()
            .filter(|&w| {
                problem.workloads[w]
                    .options
                    .iter()
                    .any(|o| o.uses.iter().any(|u| u.0 == r))
            })
            .collect();
        let least: f64 = users
            .iter()
            .map(|&w| {
                problem.workloads[w]
                    .options
                    .iter()
                    .map(|o| o.uses.iter().filter(|u| u.0 == r).map(|u| u.1).sum::<f64>())
                    .fold(f64::INFINITY, f64::min)
            })
            .sum();
        if !users.is_empty() && least > resource.capacity {
            let names: Vec<String> = users.iter().map(|&w| name(w)).collect();
            return format!(
                "resource `{}` has capacity {} but {} need at least {} of it together",
                resource.name,
                resource.capacity,
                names.join(", "),
                least
            );
        }
    }
    let mut parts: Vec<String> = apart
        .iter()
        .map(|&(a, b)| format!("{} and {} on different clouds", name(a), name(b)))
        .collect();
    for &(r, capacity) in &comp.resources {
        parts.push(format!(
            "resource `{}` of capacity {capacity}",
            problem.resources[r].name
        ));
    }
    let names: Vec<String> = comp.workloads.iter().map(|&w| name(w)).collect();
    format!(
        "workloads {} cannot meet these constraints together: {}",
        names.join(", "),
        parts.join("; ")
    )
}
