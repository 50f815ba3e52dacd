//! Exact dynamic programming over a tree of workloads: each node's table holds, per
//! option, the cheapest cost of its subtree. The minimum over a child's options for
//! every parent option is found per hierarchy class (same region, same area, same cloud,
//! other cloud) from per-class best-two lists, so an edge costs O(options) instead of
//! O(options²).

use super::reduce::{Component, Geo, GeoCounts};

/// One candidate in a class list: its value, its position in the child's domain, and
/// the key that must differ from the parent's (region, area or cloud).
#[derive(Debug, Clone, Copy)]
struct Entry {
    value: f64,
    pos: u32,
    key: u32,
}

const NONE: Entry = Entry {
    value: f64::INFINITY,
    pos: u32::MAX,
    key: u32::MAX,
};

/// Lower value first; equal values keep the lower position (the lower option index).
fn better(a: &Entry, b: &Entry) -> bool {
    a.value < b.value || (a.value == b.value && a.pos < b.pos)
}

/// The best entry and the best one with a different key.
#[derive(Debug, Clone, Copy)]
struct Top2 {
    first: Entry,
    second: Entry,
}

const EMPTY: Top2 = Top2 {
    first: NONE,
    second: NONE,
};

impl Top2 {
    fn offer(&mut self, e: Entry) {
        if better(&e, &self.first) {
            if e.key != self.first.key {
                self.second = self.first;
            }
            self.first = e;
        } else if e.key != self.first.key && better(&e, &self.second) {
            self.second = e;
        }
    }

    /// The best entry whose key is not `key`.
    fn excluding(&self, key: u32) -> &Entry {
        if self.first.key != key {
            &self.first
        } else {
            &self.second
        }
    }
}

/// Per-class minima of a child's table, reused across edges (arrays are reset by the
/// ids they touched).
pub(crate) struct ClassMin {
    region: Vec<Entry>,
    area: Vec<Top2>,
    cloud: Vec<Top2>,
    global: Top2,
    touched: Vec<(u32, u32, u32)>,
}

impl ClassMin {
    pub fn new(counts: GeoCounts) -> Self {
        ClassMin {
            region: vec![NONE; counts.regions],
            area: vec![EMPTY; counts.areas],
            cloud: vec![EMPTY; counts.clouds],
            global: EMPTY,
            touched: Vec::new(),
        }
    }

    /// Loads the child's options: (position, location, subtree cost). `back_gb` flows
    /// from the child to the parent (priced at the child's rates); `apart` allows only
    /// other clouds.
    pub fn build<'g>(
        &mut self,
        items: impl Iterator<Item = (usize, &'g Geo, f64)>,
        back_gb: f64,
        apart: bool,
    ) {
        for (region, area, cloud) in self.touched.drain(..) {
            self.region[region as usize] = NONE;
            self.area[area as usize] = EMPTY;
            self.cloud[cloud as usize] = EMPTY;
        }
        self.global = EMPTY;
        for (pos, geo, t) in items {
            if t == f64::INFINITY {
                continue;
            }
            let pos = pos as u32;
            let at = |level: usize, key: u32| Entry {
                value: t + back_gb * geo.egress[level],
                pos,
                key,
            };
            self.touched.push((geo.region, geo.area, geo.cloud));
            if !apart {
                let e = at(0, geo.region);
                let slot = &mut self.region[geo.region as usize];
                if better(&e, slot) {
                    *slot = e;
                }
                self.area[geo.area as usize].offer(at(1, geo.region));
                self.cloud[geo.cloud as usize].offer(at(2, geo.area));
            }
            self.global.offer(at(3, geo.cloud));
        }
    }

    /// The cheapest child option for a parent at `parent`, with `forward_gb` flowing from
    /// the parent to the child: (total edge + subtree cost, child position).
    pub fn query(&self, parent: &Geo, forward_gb: f64) -> (f64, u32) {
        let candidates = [
            &self.region[parent.region as usize],
            self.area[parent.area as usize].excluding(parent.region),
            self.cloud[parent.cloud as usize].excluding(parent.area),
            self.global.excluding(parent.cloud),
        ];
        let mut best = NONE;
        for (level, e) in candidates.into_iter().enumerate() {
            if e.value == f64::INFINITY {
                continue;
            }
            let c = Entry {
                value: e.value + forward_gb * parent.egress[level],
                ..*e
            };
            if better(&c, &best) {
                best = c;
            }
        }
        (best.value, best.pos)
    }
}

/// A tree rooted at one node: nodes in breadth-first order, each with its parent and the
/// edge to it.
pub(crate) struct Rooted {
    pub order: Vec<usize>,
    pub parent: Vec<(usize, usize)>,
}

/// Roots the tree given by `adjacency` (neighbour, edge) at `root`.
pub(crate) fn root_at(adjacency: &[Vec<(usize, usize)>], root: usize) -> Rooted {
    let n = adjacency.len();
    let mut parent = vec![(usize::MAX, usize::MAX); n];
    let mut seen = vec![false; n];
    let mut order = Vec::with_capacity(n);
    seen[root] = true;
    order.push(root);
    let mut head = 0;
    while head < order.len() {
        let v = order[head];
        head += 1;
        for &(u, e) in &adjacency[v] {
            if !seen[u] {
                seen[u] = true;
                parent[u] = (v, e);
                order.push(u);
            }
        }
    }
    Rooted { order, parent }
}

/// Reusable tables for one component.
pub(crate) struct Dp {
    /// Per node, per domain position: the cheapest cost of its subtree.
    pub tables: Vec<Vec<f64>>,
    /// Per non-root node, per parent domain position: its best domain position.
    back: Vec<Vec<u32>>,
    class: ClassMin,
}

impl Dp {
    pub fn new(nodes: usize, counts: GeoCounts) -> Self {
        Dp {
            tables: vec![Vec::new(); nodes],
            back: vec![Vec::new(); nodes],
            class: ClassMin::new(counts),
        }
    }

    /// Fills the tables bottom-up. `domains[v]` lists the option positions node `v` may
    /// take and `unary[v]` their costs; returns the work done (options × edges).
    pub fn run(
        &mut self,
        comp: &Component,
        tree: &Rooted,
        domains: &[Vec<usize>],
        unary: &[Vec<f64>],
    ) -> u64 {
        let mut work = 0u64;
        for &v in &tree.order {
            self.tables[v].clear();
            self.tables[v].extend_from_slice(&unary[v]);
        }
        for &v in tree.order.iter().skip(1).rev() {
            let (p, e) = tree.parent[v];
            let edge = &comp.edges[e];
            let (forward, back) = edge.volumes_from(p);
            let child = &comp.options[v];
            self.class.build(
                domains[v]
                    .iter()
                    .zip(&self.tables[v])
                    .enumerate()
                    .map(|(k, (&o, &t))| (k, &child[o].geo, t)),
                back,
                edge.apart,
            );
            let parent_options = &comp.options[p];
            let back_v = &mut self.back[v];
            back_v.clear();
            for (k, &o) in domains[p].iter().enumerate() {
                let (value, pos) = self.class.query(&parent_options[o].geo, forward);
                self.tables[p][k] += value;
                back_v.push(pos);
            }
            work += (domains[v].len() + domains[p].len()) as u64;
        }
        work
    }

    /// The domain position of every node when the root takes `root_pos`.
    pub fn assignment(&self, tree: &Rooted, root_pos: usize) -> Vec<usize> {
        let mut pos = vec![0usize; tree.parent.len()];
        pos[tree.order[0]] = root_pos;
        for &v in tree.order.iter().skip(1) {
            let (p, _) = tree.parent[v];
            pos[v] = self.back[v][pos[p]] as usize;
        }
        pos
    }
}

/// The position of the least value (lowest position on ties), if any is finite.
pub(crate) fn argmin(values: &[f64]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (k, &v) in values.iter().enumerate() {
        if v < f64::INFINITY && best.is_none_or(|b| v < values[b]) {
            best = Some(k);
        }
    }
    best
}

/// Solves a tree component without resources exactly: option positions per node, or
/// `None` when `apart` pairs make it infeasible.
pub(crate) fn solve_tree(
    comp: &Component,
    counts: GeoCounts,
    work: &mut u64,
) -> Option<Vec<usize>> {
    let n = comp.workloads.len();
    let tree = root_at(&comp.adjacency, 0);
    let domains: Vec<Vec<usize>> = comp
        .options
        .iter()
        .map(|o| (0..o.len()).collect())
        .collect();
    let unary: Vec<Vec<f64>> = comp
        .options
        .iter()
        .map(|o| o.iter().map(|x| x.unary).collect())
        .collect();
    let mut dp = Dp::new(n, counts);
    *work += dp.run(comp, &tree, &domains, &unary);
    let best = argmin(&dp.tables[0])?;
    Some(dp.assignment(&tree, best))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geo(cloud: u32, area: u32, region: u32, egress: [f64; 4]) -> Geo {
        Geo {
            cloud,
            area,
            region,
            egress,
        }
    }

    /// The per-class minimum equals the minimum over every child option, for every
    /// parent location, with and without `apart`.
    #[test]
    fn class_minimum_matches_the_pairwise_minimum() {
        let counts = GeoCounts {
            clouds: 3,
            areas: 6,
            regions: 12,
        };
        // Region r lies in area r / 2, area a in cloud a / 2.
        let places: Vec<Geo> = (0..12u32)
            .map(|r| {
                let base = 0.01 * (r % 3) as f64;
                geo(
                    r / 4,
                    r / 2,
                    r,
                    [base, base + 0.02, base + 0.05, base + 0.09],
                )
            })
            .collect();
        let child: Vec<(Geo, f64)> = places
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 3 != 1)
            .map(|(i, g)| (*g, 100.0 + ((i * 37) % 11) as f64))
            .collect();
        let mut class = ClassMin::new(counts);
        for apart in [false, true] {
            class.build(
                child.iter().enumerate().map(|(k, (g, t))| (k, g, *t)),
                700.0,
                apart,
            );
            for parent in &places {
                let (value, pos) = class.query(parent, 300.0);
                let expected = child
                    .iter()
                    .map(|(g, t)| {
                        let level = parent.level(g);
                        if apart && level < 3 {
                            f64::INFINITY
                        } else {
                            t + 300.0 * parent.egress[level] + 700.0 * g.egress[level]
                        }
                    })
                    .fold(f64::INFINITY, f64::min);
                assert!((value - expected).abs() < 1e-9, "{value} vs {expected}");
                let (g, t) = child[pos as usize];
                let level = parent.level(&g);
                let priced = t + 300.0 * parent.egress[level] + 700.0 * g.egress[level];
                assert!((priced - value).abs() < 1e-9);
            }
        }
    }
}
