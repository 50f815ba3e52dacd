//! Exact branch and bound for components that are not trees or share a resource.
//!
//! A maximum-volume spanning tree keeps the heaviest flows (and every `apart` pair it
//! can) inside a tree DP; the remaining edges are covered by a small set of workloads,
//! the *cut set*, which the search branches on, together with every workload that may
//! use a shared resource. At a search node the bound is the tree DP with the assigned
//! workloads fixed, each off-tree edge priced exactly when one end is fixed and by its
//! cheapest partner otherwise, and resources relaxed. Rooting the DP at the next
//! workload to branch on gives every child's bound at once; the DP's own assignment,
//! priced exactly, is the incumbent heuristic. Once the cut set is assigned the DP is
//! exact, so a leaf needs no further branching.

use super::problem::tolerance;
use super::reduce::{Component, GeoCounts};
use super::tree::{argmin, root_at, ClassMin, Dp, Rooted};

/// The work counters shared by all components; exceeding a limit stops the search.
pub(crate) struct Budget {
    pub nodes: u64,
    pub work: u64,
    pub max_nodes: u64,
    pub max_work: u64,
}

impl Budget {
    fn exhausted(&self) -> bool {
        self.nodes > self.max_nodes || self.work > self.max_work
    }
}

/// The search ran out of budget.
pub(crate) struct Exhausted;

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

/// The spanning tree (adjacency) and the edges left out of it, heaviest flows and
/// `apart` pairs first, ties by edge index.
fn spanning_tree(comp: &Component) -> (Vec<Vec<(usize, usize)>>, Vec<usize>) {
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
    for list in &mut adjacency {
        list.sort_unstable();
    }
    off_tree.sort_unstable();
    (adjacency, off_tree)
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

/// An off-tree edge with the endpoint branched on first (`first`) and, per option of
/// `first`, the cheapest the edge can cost.
struct OffTree {
    edge: usize,
    first: usize,
    relaxed: Vec<f64>,
}

/// One level of the depth-first search: the workload branched on, the options still to
/// try (bound, option position) in bound order, and the one assigned now.
struct Frame {
    node: usize,
    children: Vec<(f64, usize)>,
    next: usize,
    current: Option<usize>,
}

struct Search<'c> {
    comp: &'c Component,
    tree: Vec<Vec<(usize, usize)>>,
    cut: Vec<usize>,
    off_tree: Vec<OffTree>,
    /// Per component resource: the least the workloads cut[d..] must use, per depth d.
    min_after: Vec<Vec<f64>>,
    assigned: Vec<Option<usize>>,
    used: Vec<f64>,
    domains: Vec<Vec<usize>>,
    unary: Vec<Vec<f64>>,
    dp: Dp,
    incumbent: f64,
    best: Option<Vec<usize>>,
}

/// Solves a component exactly: option positions per node, `Ok(None)` when infeasible.
pub(crate) fn search(
    comp: &Component,
    counts: GeoCounts,
    budget: &mut Budget,
) -> Result<Option<Vec<usize>>, Exhausted> {
    let n = comp.workloads.len();
    let (tree, off_edges) = spanning_tree(comp);
    let cut = cut_set(comp, &off_edges);
    let depth_of = {
        let mut d = vec![usize::MAX; n];
        for (i, &v) in cut.iter().enumerate() {
            d[v] = i;
        }
        d
    };
    let mut class = ClassMin::new(counts);
    let off_tree = off_edges
        .iter()
        .map(|&e| {
            let edge = &comp.edges[e];
            let first = if depth_of[edge.a] <= depth_of[edge.b] {
                edge.a
            } else {
                edge.b
            };
            let other = edge.other(first);
            let (forward, back) = edge.volumes_from(first);
            class.build(
                comp.options[other]
                    .iter()
                    .enumerate()
                    .map(|(k, o)| (k, &o.geo, 0.0)),
                back,
                edge.apart,
            );
            let relaxed = comp.options[first]
                .iter()
                .map(|o| class.query(&o.geo, forward).0)
                .collect();
            budget.work += (comp.options[first].len() + comp.options[other].len()) as u64;
            OffTree {
                edge: e,
                first,
                relaxed,
            }
        })
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
    let mut s = Search {
        comp,
        tree,
        cut,
        off_tree,
        min_after,
        assigned: vec![None; n],
        used: vec![0.0; comp.resources.len()],
        domains: vec![Vec::new(); n],
        unary: vec![Vec::new(); n],
        dp: Dp::new(n, counts),
        incumbent: f64::INFINITY,
        best: None,
    };
    s.run(budget)?;
    Ok(s.best)
}

impl Search<'_> {
    fn prunes(&self, bound: f64) -> bool {
        bound >= self.incumbent - tolerance(self.incumbent)
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

    /// Domains and unary costs for the current assignment; returns the cost of the
    /// off-tree edges between two assigned workloads.
    fn prepare(&mut self) -> f64 {
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
        let mut constant = 0.0;
        for t in &self.off_tree {
            let edge = &comp.edges[t.edge];
            let (a, b) = (edge.a, edge.b);
            match (self.assigned[a], self.assigned[b]) {
                (Some(pa), Some(pb)) => {
                    constant += edge.cost(&comp.options[a][pa].geo, &comp.options[b][pb].geo);
                }
                (Some(pa), None) => {
                    let ga = comp.options[a][pa].geo;
                    for (k, &o) in self.domains[b].iter().enumerate() {
                        self.unary[b][k] += edge.cost(&ga, &comp.options[b][o].geo);
                    }
                }
                (None, Some(pb)) => {
                    let gb = comp.options[b][pb].geo;
                    for (k, &o) in self.domains[a].iter().enumerate() {
                        self.unary[a][k] += edge.cost(&comp.options[a][o].geo, &gb);
                    }
                }
                (None, None) => {
                    let f = t.first;
                    for (k, &o) in self.domains[f].iter().enumerate() {
                        self.unary[f][k] += t.relaxed[o];
                    }
                }
            }
        }
        constant
    }

    /// Bounds the node at `depth` (cut[..depth] assigned): updates the incumbent from the
    /// DP's assignment and returns the children worth exploring.
    fn expand(
        &mut self,
        depth: usize,
        budget: &mut Budget,
    ) -> Result<Vec<(f64, usize)>, Exhausted> {
        budget.nodes += 1;
        if budget.exhausted() {
            return Err(Exhausted);
        }
        let constant = self.prepare();
        if self.domains.iter().any(Vec::is_empty) {
            return Ok(Vec::new());
        }
        let root = self.cut.get(depth).copied().unwrap_or(0);
        let rooted: Rooted = root_at(&self.tree, root);
        budget.work += self.dp.run(self.comp, &rooted, &self.domains, &self.unary);
        let table = &self.dp.tables[root];
        let Some(best) = argmin(table) else {
            return Ok(Vec::new());
        };
        let positions = self.dp.assignment(&rooted, best);
        let options: Vec<usize> = positions
            .iter()
            .enumerate()
            .map(|(v, &k)| self.domains[v][k])
            .collect();
        if let Some(cost) = component_cost(self.comp, &options) {
            if cost < self.incumbent - tolerance(self.incumbent) || self.best.is_none() {
                self.incumbent = cost;
                self.best = Some(options);
            }
        }
        if depth == self.cut.len() {
            return Ok(Vec::new());
        }
        let mut children: Vec<(f64, usize)> = table
            .iter()
            .zip(&self.domains[root])
            .map(|(&t, &o)| (t + constant, o))
            .filter(|&(bound, o)| {
                bound < f64::INFINITY && !self.prunes(bound) && self.fits(depth, o)
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
            if bound >= self.incumbent - tolerance(self.incumbent) {
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
