//! Exact branch and bound for components that are not trees or share a resource.
//!
//! A maximum-volume spanning tree keeps the heaviest flows (and every `apart` pair it
//! can) inside a tree DP (where flows leave a spanning forest, as in a component joined
//! by a shared resource, zero-volume edges join its trees); the remaining edges are covered by a small set of workloads,
//! the *cut set*, which the search branches on, together with every workload that may
//! use a shared resource. Each off-tree edge is attached to the tree through a *copy*
//! of its cut-set end, and the copy's agreement with the original is relaxed with
//! Lagrange multipliers (one per option), tuned by subgradient steps: the bound is the
//! tree DP over workloads and copies with assigned workloads (and their copies) fixed,
//! and resources relaxed. Rooting the DP at the next workload to branch on gives every
//! child's bound at once; the DP's own assignment, priced exactly, is the incumbent
//! heuristic. Once the cut set is assigned every copy is fixed to its original, so the
//! DP is exact and a leaf needs no further branching.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::problem::tolerance;
use super::reduce::Edge;
use super::reduce::{Component, GeoCounts};
use super::tree::{argmin, root_at, Dp, Rooted};

/// The work done on one component, checked against limits on the total over all
/// components: components are solved in parallel, so each adds what it did since its last
/// check to totals shared by all of them, and stops once a total passes its limit.
pub(crate) struct Budget<'s> {
    pub nodes: u64,
    pub work: u64,
    shared: &'s SharedBudget,
    reported_nodes: u64,
    reported_work: u64,
    /// Whether this component passed its own limits (`SharedBudget::component_*`),
    /// which, unlike the totals, depend on nothing but the component: a component
    /// stopped by them stops at the same point on every run.
    pub stopped_alone: bool,
}

/// The totals over all components and their limits.
pub(crate) struct SharedBudget {
    nodes: AtomicU64,
    work: AtomicU64,
    max_nodes: u64,
    max_work: u64,
    /// What one component may spend before it stops with its best assignment and its
    /// proven bound (a `COMPONENT_SHARE`th of the totals).
    component_nodes: u64,
    component_work: u64,
}

impl SharedBudget {
    pub fn new(max_nodes: u64, max_work: u64) -> Self {
        SharedBudget {
            nodes: AtomicU64::new(0),
            work: AtomicU64::new(0),
            max_nodes,
            max_work,
            component_nodes: max_nodes / COMPONENT_SHARE,
            component_work: max_work / COMPONENT_SHARE,
        }
    }
}

impl<'s> Budget<'s> {
    pub fn new(shared: &'s SharedBudget) -> Self {
        Budget {
            nodes: 0,
            work: 0,
            shared,
            reported_nodes: 0,
            reported_work: 0,
            stopped_alone: false,
        }
    }

    /// Reports this component's new work; true once a total over all components passes
    /// its limit. The totals only grow, so a spec whose components together stay within
    /// the limits is never stopped, whatever the order the threads ran in.
    pub fn exhausted(&mut self) -> bool {
        let nodes = self
            .shared
            .nodes
            .fetch_add(self.nodes - self.reported_nodes, Relaxed)
            + (self.nodes - self.reported_nodes);
        let work = self
            .shared
            .work
            .fetch_add(self.work - self.reported_work, Relaxed)
            + (self.work - self.reported_work);
        self.reported_nodes = self.nodes;
        self.reported_work = self.work;
        if self.nodes > self.shared.component_nodes || self.work > self.shared.component_work {
            self.stopped_alone = true;
        }
        self.stopped_alone || nodes > self.shared.max_nodes || work > self.shared.max_work
    }
}

/// One component may spend this fraction of the limits on the totals (1 / this): about
/// a second of search on this machine at the default limits.
const COMPONENT_SHARE: u64 = 40;

/// The search ran out of budget.
pub(crate) struct Exhausted;

/// A search that stopped at its limits: the best assignment it found (option positions
/// per node), if any, and a bound no assignment of the component beats.
pub(crate) struct Stopped {
    pub best: Option<Vec<usize>>,
    pub bound: f64,
}

/// The exact cost of a full assignment of a component (option positions), or `None` when
/// it breaks an `apart` pair or a capacity.
pub(crate) fn component_cost(comp: &Component, pos: &[usize]) -> Option<f64> {
    let mut total = 0.0;
    for (v, &p) in pos.iter().enumerate() {
        total += comp.options[v][p].unary;
    }
    for e in &comp.edges {
        total += e.cost(
            &comp.options[e.a][pos[e.a]].geo,
            &comp.options[e.b][pos[e.b]].geo,
        );
    }
    for &(r, capacity) in &comp.resources {
        let used: f64 = pos
            .iter()
            .enumerate()
            .flat_map(|(v, &p)| comp.options[v][p].uses.iter())
            .filter(|u| u.0 == r)
            .map(|u| u.1)
            .sum();
        if used > capacity + tolerance(capacity) {
            return None;
        }
    }
    (total < f64::INFINITY).then_some(total)
}

/// A spanning tree of a component's edges: heaviest flows and `apart` pairs first, ties
/// by edge index.
struct SpanningTree {
    /// Per node: (neighbour, edge index), where indices past the component's edges name
    /// the `joins`.
    adjacency: Vec<Vec<(usize, usize)>>,
    /// The component's edges left out of the tree.
    off_tree: Vec<usize>,
    /// Zero-volume edges (free at every level) that join the trees of a spanning forest
    /// into one tree, to be appended to the component's edges. A component held together
    /// only by a shared resource has no spanning tree of its edges; the DP, run from one
    /// root, would see only that root's tree and leave every workload outside it at its
    /// first option, in the bound and in the incumbent alike.
    joins: Vec<Edge>,
}

fn spanning_tree(comp: &Component) -> SpanningTree {
    let n = comp.workloads.len();
    let weight = |e: usize| {
        let edge = &comp.edges[e];
        if edge.apart {
            f64::INFINITY
        } else {
            edge.ab + edge.ba
        }
    };
    let mut order: Vec<usize> = (0..comp.edges.len()).collect();
    order.sort_by(|&x, &y| weight(y).total_cmp(&weight(x)).then(x.cmp(&y)));
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    let mut adjacency = vec![Vec::new(); n];
    let mut off_tree = Vec::new();
    for e in order {
        let (a, b) = (comp.edges[e].a, comp.edges[e].b);
        let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
        if ra == rb {
            off_tree.push(e);
        } else {
            parent[ra] = rb;
            adjacency[a].push((b, e));
            adjacency[b].push((a, e));
        }
    }
    let mut joins = Vec::new();
    for v in 1..n {
        let (r0, rv) = (find(&mut parent, 0), find(&mut parent, v));
        if r0 != rv {
            parent[rv] = r0;
            let e = comp.edges.len() + joins.len();
            joins.push(Edge {
                a: 0,
                b: v,
                ab: 0.0,
                ba: 0.0,
                apart: false,
            });
            adjacency[0].push((v, e));
            adjacency[v].push((0, e));
        }
    }
    for list in &mut adjacency {
        list.sort_unstable();
    }
    off_tree.sort_unstable();
    SpanningTree {
        adjacency,
        off_tree,
        joins,
    }
}

/// A small set of workloads touching every off-tree edge (greedy by uncovered degree),
/// then every workload that may use a shared resource.
fn cut_set(comp: &Component, off_tree: &[usize]) -> Vec<usize> {
    let n = comp.workloads.len();
    let mut covered = vec![false; off_tree.len()];
    let mut chosen = vec![false; n];
    let mut cut = Vec::new();
    loop {
        let mut degree = vec![0usize; n];
        for (i, &e) in off_tree.iter().enumerate() {
            if !covered[i] {
                degree[comp.edges[e].a] += 1;
                degree[comp.edges[e].b] += 1;
            }
        }
        let Some(best) = (0..n)
            .filter(|&v| degree[v] > 0)
            .max_by(|&x, &y| degree[x].cmp(&degree[y]).then(y.cmp(&x)))
        else {
            break;
        };
        chosen[best] = true;
        cut.push(best);
        for (i, &e) in off_tree.iter().enumerate() {
            if comp.edges[e].a == best || comp.edges[e].b == best {
                covered[i] = true;
            }
        }
    }
    for (v, options) in comp.options.iter().enumerate() {
        if !chosen[v] && options.iter().any(|o| !o.uses.is_empty()) {
            cut.push(v);
        }
    }
    cut
}

/// One level of the depth-first search: the workload branched on, the options still to
/// try (bound, option position) in bound order, and the one assigned now.
struct Frame {
    node: usize,
    children: Vec<(f64, usize)>,
    next: usize,
    current: Option<usize>,
}

/// Subgradient iterations at the root and at every other search node. More steps per
/// node cost a little on easy components and save a lot on hard ones: on the hardest
/// component of the 100,000-workload scale spec (33 workloads, 50 edges) 6 steps took
/// 636,582 nodes and 45 s, 12 steps 0.26 s and 20 steps 0.18 s, while the 10,000-workload
/// spec took the same time with either (benches/plan).
const ROOT_ITERATIONS: usize = 40;
const NODE_ITERATIONS: usize = 20;

struct Search<'c> {
    comp: &'c Component,
    /// The component plus one copy per off-tree edge (nodes n.., options of the
    /// original), whose edges form the tree `tree`.
    augmented: Component,
    tree: Vec<Vec<(usize, usize)>>,
    cut: Vec<usize>,
    /// Per copy (node n + i): the original it copies.
    copies: Vec<usize>,
    /// Per copy, per option of its original: the multiplier on "original takes it"
    /// minus "copy takes it".
    lambda: Vec<Vec<f64>>,
    /// Per component resource: the least the workloads cut[d..] must use, per depth d.
    min_after: Vec<Vec<f64>>,
    assigned: Vec<Option<usize>>,
    used: Vec<f64>,
    domains: Vec<Vec<usize>>,
    unary: Vec<Vec<f64>>,
    dp: Dp,
    /// The unary costs with multipliers, reused by every DP pass.
    scratch: Vec<Vec<f64>>,
    incumbent: f64,
    best: Option<Vec<usize>>,
    /// The best Lagrangian bound of the root, valid for the whole component.
    root_bound: f64,
}

/// Solves a component exactly: option positions per node, `Ok(None)` when infeasible;
/// past its limits, what it found and the root's bound.
pub(crate) fn search(
    comp: &Component,
    counts: GeoCounts,
    budget: &mut Budget,
) -> Result<Option<Vec<usize>>, Stopped> {
    let n = comp.workloads.len();
    let SpanningTree {
        adjacency: mut tree,
        off_tree: off_edges,
        joins,
    } = spanning_tree(comp);
    let cut = cut_set(comp, &off_edges);
    let depth_of = {
        let mut d = vec![usize::MAX; n];
        for (i, &v) in cut.iter().enumerate() {
            d[v] = i;
        }
        d
    };
    let mut augmented = comp.clone();
    augmented.edges.extend(joins);
    let mut copies = Vec::new();
    for &e in &off_edges {
        let edge = comp.edges[e].clone();
        // Copy the end branched on first: once it is assigned, so is its copy.
        let first = if depth_of[edge.a] <= depth_of[edge.b] {
            edge.a
        } else {
            edge.b
        };
        let copy = n + copies.len();
        copies.push(first);
        augmented.workloads.push(comp.workloads[first]);
        augmented.options.push(comp.options[first].clone());
        let attached = if first == edge.a {
            Edge { a: copy, ..edge }
        } else {
            Edge { b: copy, ..edge }
        };
        let other = attached.other(copy);
        augmented.edges.push(attached);
        let index = augmented.edges.len() - 1;
        tree.push(vec![(other, index)]);
        tree[other].push((copy, index));
    }
    let lambda = copies
        .iter()
        .map(|&v| vec![0.0; comp.options[v].len()])
        .collect();
    let min_after = comp
        .resources
        .iter()
        .map(|&(r, _)| {
            let mut after = vec![0.0; cut.len() + 1];
            for d in (0..cut.len()).rev() {
                let least = comp.options[cut[d]]
                    .iter()
                    .map(|o| o.uses.iter().filter(|u| u.0 == r).map(|u| u.1).sum::<f64>())
                    .fold(f64::INFINITY, f64::min);
                after[d] = after[d + 1] + least;
            }
            after
        })
        .collect();
    let total = augmented.options.len();
    let mut s = Search {
        comp,
        augmented,
        tree,
        cut,
        copies,
        lambda,
        min_after,
        assigned: vec![None; n],
        used: vec![0.0; comp.resources.len()],
        domains: vec![Vec::new(); total],
        unary: vec![Vec::new(); total],
        dp: Dp::new(total, counts),
        scratch: Vec::new(),
        incumbent: f64::INFINITY,
        best: None,
        root_bound: f64::NEG_INFINITY,
    };
    match s.run(budget) {
        Ok(()) => Ok(s.best),
        Err(Exhausted) => Err(Stopped {
            bound: s.root_bound.min(s.incumbent),
            best: s.best,
        }),
    }
}

impl Search<'_> {
    /// Whether a node of this bound cannot beat the incumbent (never, before there is one).
    fn pruned(&self, bound: f64) -> bool {
        self.incumbent < f64::INFINITY && bound >= self.incumbent - tolerance(self.incumbent)
    }

    fn uses_of(&self, v: usize, pos: usize, resource: usize) -> f64 {
        let r = self.comp.resources[resource].0;
        self.comp.options[v][pos]
            .uses
            .iter()
            .filter(|u| u.0 == r)
            .map(|u| u.1)
            .sum()
    }

    /// Whether workload `cut[depth]` can take `pos` with every later cut workload still
    /// able to take its least-using option.
    fn fits(&self, depth: usize, pos: usize) -> bool {
        let v = self.cut[depth];
        (0..self.comp.resources.len()).all(|r| {
            let capacity = self.comp.resources[r].1;
            self.used[r] + self.uses_of(v, pos, r) + self.min_after[r][depth + 1]
                <= capacity + tolerance(capacity)
        })
    }

    fn assign(&mut self, v: usize, pos: Option<usize>) {
        if let Some(old) = self.assigned[v] {
            for r in 0..self.used.len() {
                self.used[r] -= self.uses_of(v, old, r);
            }
        }
        if let Some(new) = pos {
            for r in 0..self.used.len() {
                self.used[r] += self.uses_of(v, new, r);
            }
        }
        self.assigned[v] = pos;
    }

    /// Domains and base unary costs (multipliers excluded) for the current assignment.
    fn prepare(&mut self) {
        let comp = self.comp;
        for v in 0..comp.workloads.len() {
            let domain = &mut self.domains[v];
            let unary = &mut self.unary[v];
            domain.clear();
            unary.clear();
            if let Some(p) = self.assigned[v] {
                domain.push(p);
                unary.push(comp.options[v][p].unary);
                continue;
            }
            for (k, o) in comp.options[v].iter().enumerate() {
                // Resources are relaxed in the bound except that no option may exceed
                // what is left of a capacity on its own.
                let fits = o.uses.iter().all(|&(r, amount)| {
                    comp.resources
                        .iter()
                        .zip(&self.used)
                        .all(|(&(id, capacity), used)| {
                            id != r || used + amount <= capacity + tolerance(capacity)
                        })
                });
                if fits {
                    domain.push(k);
                    unary.push(o.unary);
                }
            }
        }
        let n = comp.workloads.len();
        for (i, &v) in self.copies.iter().enumerate() {
            let domain = self.domains[v].clone();
            self.unary[n + i].clear();
            self.unary[n + i].resize(domain.len(), 0.0);
            self.domains[n + i] = domain;
        }
    }

    /// The unary costs with the multipliers applied, written into `unary` (reused across
    /// iterations: the search runs the DP thousands of times).
    fn with_multipliers(&self, unary: &mut Vec<Vec<f64>>) {
        let n = self.comp.workloads.len();
        unary.resize_with(self.unary.len(), Vec::new);
        for (to, from) in unary.iter_mut().zip(&self.unary) {
            to.clear();
            to.extend_from_slice(from);
        }
        for (i, &v) in self.copies.iter().enumerate() {
            for (k, &o) in self.domains[v].iter().enumerate() {
                unary[v][k] += self.lambda[i][o];
                unary[n + i][k] -= self.lambda[i][o];
            }
        }
    }

    /// Prices the DP's assignment exactly and keeps it if it is the best so far.
    fn try_incumbent(&mut self, positions: &[usize]) -> Vec<usize> {
        let n = self.comp.workloads.len();
        let options: Vec<usize> = positions
            .iter()
            .enumerate()
            .map(|(v, &k)| self.domains[v][k])
            .collect();
        if let Some(cost) = component_cost(self.comp, &options[..n]) {
            if cost < self.incumbent - tolerance(self.incumbent) || self.best.is_none() {
                self.incumbent = cost;
                self.best = Some(options[..n].to_vec());
            }
        }
        options
    }

    /// Bounds the node at `depth` (cut[..depth] assigned), improving the multipliers by
    /// a few subgradient steps; updates the incumbent from the DP's assignments and
    /// returns the children worth exploring.
    fn expand(
        &mut self,
        depth: usize,
        budget: &mut Budget,
    ) -> Result<Vec<(f64, usize)>, Exhausted> {
        budget.nodes += 1;
        // The root's first pass runs whatever the budget: it gives every component a
        // plan and a bound to stop with.
        let first = depth == 0 && self.best.is_none();
        if !first && budget.exhausted() {
            return Err(Exhausted);
        }
        self.prepare();
        if self.domains.iter().any(Vec::is_empty) {
            return Ok(Vec::new());
        }
        let root = self.cut.get(depth).copied().unwrap_or(0);
        let rooted: Rooted = root_at(&self.tree, root);
        let n = self.comp.workloads.len();
        let iterations = if depth == 0 {
            ROOT_ITERATIONS
        } else {
            NODE_ITERATIONS
        };
        // Polyak steps towards the incumbent; the step shrinks when the bound stalls,
        // and the best multipliers found are the ones the children's bounds use.
        let mut theta = 1.0;
        let mut best_bound = f64::NEG_INFINITY;
        let mut best_lambda: Option<Vec<Vec<f64>>> = None;
        let mut last_is_best = true;
        let mut stalled = 0;
        let mut unary = std::mem::take(&mut self.scratch);
        for iteration in 0..iterations {
            self.with_multipliers(&mut unary);
            budget.work += self.dp.run(&self.augmented, &rooted, &self.domains, &unary);
            let Some(best) = argmin(&self.dp.tables[root]) else {
                self.scratch = unary;
                return Ok(Vec::new());
            };
            let bound = self.dp.tables[root][best];
            if depth == 0 {
                self.root_bound = self.root_bound.max(bound);
            }
            let positions = self.dp.assignment(&rooted, best);
            let options = self.try_incumbent(&positions);
            // Checked after the pass has offered its plan and its bound, so that a
            // component stopped at its root still has both.
            if budget.exhausted() {
                self.scratch = unary;
                return Err(Exhausted);
            }
            // Subgradient: where a copy disagrees with its original.
            let disagree: Vec<usize> = (0..self.copies.len())
                .filter(|&i| options[n + i] != options[self.copies[i]])
                .collect();
            let improved = best_bound == f64::NEG_INFINITY || bound > best_bound + tolerance(bound);
            last_is_best = improved || bound >= best_bound;
            if improved {
                best_bound = bound;
                stalled = 0;
            } else {
                stalled += 1;
                if stalled >= 3 {
                    theta *= 0.5;
                    stalled = 0;
                }
            }
            if disagree.is_empty()
                || iteration + 1 == iterations
                || self.pruned(bound)
                || theta < 0.01
            {
                break;
            }
            if improved {
                best_lambda = Some(self.lambda.clone());
            }
            let target = if self.incumbent < f64::INFINITY {
                self.incumbent
            } else {
                bound + 0.05 * bound.abs().max(1.0)
            };
            let step = theta * (target - bound) / (2 * disagree.len()) as f64;
            for i in disagree {
                let (original, copy) = (options[self.copies[i]], options[n + i]);
                self.lambda[i][original] += step;
                self.lambda[i][copy] -= step;
            }
        }
        if !last_is_best {
            if let Some(lambda) = best_lambda {
                self.lambda = lambda;
                self.with_multipliers(&mut unary);
                budget.work += self.dp.run(&self.augmented, &rooted, &self.domains, &unary);
            }
        }
        self.scratch = unary;
        if depth == self.cut.len() {
            return Ok(Vec::new());
        }
        let table = &self.dp.tables[root];
        let mut children: Vec<(f64, usize)> = table
            .iter()
            .zip(&self.domains[root])
            .map(|(&t, &o)| (t, o))
            .filter(|&(bound, o)| {
                bound < f64::INFINITY && !self.pruned(bound) && self.fits(depth, o)
            })
            .collect();
        children.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
        Ok(children)
    }

    fn run(&mut self, budget: &mut Budget) -> Result<(), Exhausted> {
        let children = self.expand(0, budget)?;
        if self.cut.is_empty() {
            return Ok(());
        }
        let mut stack = vec![Frame {
            node: self.cut[0],
            children,
            next: 0,
            current: None,
        }];
        while !stack.is_empty() {
            let depth = stack.len() - 1;
            let top = &mut stack[depth];
            let node = top.node;
            if top.current.take().is_some() {
                self.assign(node, None);
            }
            let Some(&(bound, pos)) = top.children.get(top.next) else {
                stack.pop();
                continue;
            };
            top.next += 1;
            if self.pruned(bound) {
                top.next = top.children.len();
                continue;
            }
            if !self.fits(depth, pos) {
                continue;
            }
            top.current = Some(pos);
            self.assign(node, Some(pos));
            let children = self.expand(depth + 1, budget)?;
            if depth + 1 < self.cut.len() && !children.is_empty() {
                stack.push(Frame {
                    node: self.cut[depth + 1],
                    children,
                    next: 0,
                    current: None,
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optimize::problem::{Choice, Flow, Location, Problem, Resource, Workload};
    use crate::optimize::reduce::reduce;

    /// Two flows, `a` → `b` and `c` → `d`, and one resource used by `a` and `c`: one
    /// component whose flows span a forest of two trees. The search's tree must reach
    /// every workload from every root, or the DP leaves the other tree unoptimized.
    #[test]
    fn spanning_tree_of_a_component_held_by_a_resource_reaches_every_workload() {
        let option = |uses: f64| Choice {
            location: 0,
            label: "only".into(),
            monthly_usd: 1.0,
            uses: if uses > 0.0 {
                vec![(0, uses)]
            } else {
                Vec::new()
            },
            opens: Default::default(),
        };
        let workload = |name: &str, uses| Workload {
            name: name.to_string(),
            options: vec![option(uses)],
        };
        let flow = |from, to| Flow {
            from,
            to,
            gb_per_month: 10.0,
        };
        let problem = Problem {
            locations: vec![Location {
                name: "r".to_string(),
                cloud: 0,
                continent: 0,
                region: 0,
                egress: [0.0, 0.02, 0.05, 0.09],
            }],
            workloads: vec![
                workload("a", 1.0),
                workload("b", 0.0),
                workload("c", 1.0),
                workload("d", 0.0),
            ],
            flows: vec![flow(0, 1), flow(2, 3)],
            resources: vec![Resource {
                name: "site".to_string(),
                capacity: 2.0,
            }],
            ..Problem::default()
        };
        let reduced = reduce(&problem);
        let [comp] = reduced.components.as_slice() else {
            panic!("one component expected");
        };
        let tree = spanning_tree(comp);
        assert!(tree.off_tree.is_empty());
        assert_eq!(tree.joins.len(), 1);
        let edges: usize = tree.adjacency.iter().map(Vec::len).sum();
        assert_eq!(edges, 2 * (comp.workloads.len() - 1));
        for root in 0..comp.workloads.len() {
            assert_eq!(root_at(&tree.adjacency, root).order.len(), 4);
        }
    }
}
