//! The placement optimizer's exact core: a pure solver for choosing one option per
//! workload (cloud, region, instance, capacity) at least total cost, where egress between
//! workloads is priced hierarchically (same region, same continent, same cloud, other
//! cloud) at the source's rates, `apart` pairs must land on different clouds and shared
//! resources have capacities.
//!
//! `solve` proves its answer optimal: it prunes dominated options, splits the problem
//! into connected components, solves trees by dynamic programming and everything else by
//! branch and bound with a tree-DP bound. `to_mps` writes the same problem as an exact
//! MILP so any solver can check it; `evaluate` prices an assignment.

mod branch;
mod facility;
mod mps;
mod problem;
mod reduce;
mod solve;
mod tree;

pub use mps::to_mps;
pub use problem::{
    evaluate, flow_cost, level, Choice, Facility, FacilityId, Flow, Limits, Location, LocationId,
    Problem, Resource, ResourceId, Solution, SolveError, SolveStats, Workload, WorkloadId,
    OTHER_CLOUD, SAME_CLOUD, SAME_CONTINENT, SAME_REGION,
};
pub use solve::{solve, solve_by_search};
