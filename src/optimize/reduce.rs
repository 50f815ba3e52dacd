//! From a `Problem` to independent components with pruned options: per workload the
//! cheapest option per location, options dominated by a cheaper one dropped, flows and
//! `apart` pairs merged into one edge per pair of workloads, and the workloads split into
//! connected components (flows, `apart` pairs and shared resources connect them).

use std::collections::BTreeMap;

use rayon::prelude::*;

use super::problem::{Problem, ResourceId, WorkloadId, OTHER_CLOUD, SAME_REGION};

/// A location with dense geography ids, so that per-class minima index small arrays.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Geo {
    pub cloud: u32,
    /// Dense id of (cloud, continent).
    pub area: u32,
    /// Dense id of (cloud, continent, region).
    pub region: u32,
    pub egress: [f64; 4],
}

impl Geo {
    pub fn level(&self, other: &Geo) -> usize {
        if self.cloud != other.cloud {
            3
        } else if self.area != other.area {
            2
        } else if self.region != other.region {
            1
        } else {
            0
        }
    }
}

/// Sizes of the dense id spaces.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct GeoCounts {
    pub clouds: usize,
    pub areas: usize,
    pub regions: usize,
}

/// One kept option of a workload in a component.
#[derive(Debug, Clone)]
pub(crate) struct Opt {
    /// Index into the workload's `options` in the `Problem`.
    pub index: usize,
    pub geo: Geo,
    /// Its own monthly cost plus any flow from the workload to itself.
    pub unary: f64,
    pub uses: Vec<(ResourceId, f64)>,
}

/// All the flows and the `apart` constraint between two workloads of a component.
#[derive(Debug, Clone)]
pub(crate) struct Edge {
    pub a: usize,
    pub b: usize,
    /// GB per month from `a` to `b`, and back.
    pub ab: f64,
    pub ba: f64,
    pub apart: bool,
}

impl Edge {
    /// The cost of the edge when `a` is at `ga` and `b` at `gb`; infinite when `apart`
    /// forbids the pair.
    pub fn cost(&self, ga: &Geo, gb: &Geo) -> f64 {
        let level = ga.level(gb);
        if self.apart && level < OTHER_CLOUD {
            return f64::INFINITY;
        }
        self.ab * ga.egress[level] + self.ba * gb.egress[level]
    }

    pub fn other(&self, node: usize) -> usize {
        if node == self.a {
            self.b
        } else {
            self.a
        }
    }

    /// (GB from `node` to the other end, GB back).
    pub fn volumes_from(&self, node: usize) -> (f64, f64) {
        if node == self.a {
            (self.ab, self.ba)
        } else {
            (self.ba, self.ab)
        }
    }
}

/// A connected component, in local ids (position in `workloads`).
#[derive(Debug, Clone)]
pub(crate) struct Component {
    /// Global workload ids, ascending.
    pub workloads: Vec<WorkloadId>,
    pub options: Vec<Vec<Opt>>,
    pub edges: Vec<Edge>,
    /// Per local node: (neighbour, edge index), in edge order.
    pub adjacency: Vec<Vec<(usize, usize)>>,
    /// Resources any kept option uses, with their capacities.
    pub resources: Vec<(ResourceId, f64)>,
    /// Some workload is its own `apart` partner: nothing is feasible.
    pub self_apart: bool,
}

/// The problem split and pruned.
pub(crate) struct Reduced {
    pub components: Vec<Component>,
    pub geo_counts: GeoCounts,
    pub options_kept: usize,
}

/// Dense geography of every location, and a dense id per distinct place (with the number
/// of places): locations in the same region with the same egress rates are the same
/// place to the solver.
fn geographies(problem: &Problem) -> (Vec<Geo>, (Vec<usize>, usize), GeoCounts) {
    let mut clouds = BTreeMap::new();
    let mut areas = BTreeMap::new();
    let mut regions = BTreeMap::new();
    for l in &problem.locations {
        clouds.entry(l.cloud).or_insert(0u32);
        areas.entry((l.cloud, l.continent)).or_insert(0u32);
        regions
            .entry((l.cloud, l.continent, l.region))
            .or_insert(0u32);
    }
    for map_values in [
        clouds.values_mut().collect::<Vec<_>>(),
        areas.values_mut().collect(),
        regions.values_mut().collect(),
    ] {
        for (i, v) in map_values.into_iter().enumerate() {
            *v = i as u32;
        }
    }
    let geos: Vec<Geo> = problem
        .locations
        .iter()
        .map(|l| Geo {
            cloud: clouds[&l.cloud],
            area: areas[&(l.cloud, l.continent)],
            region: regions[&(l.cloud, l.continent, l.region)],
            egress: l.egress,
        })
        .collect();
    let counts = GeoCounts {
        clouds: clouds.len(),
        areas: areas.len(),
        regions: regions.len(),
    };
    let mut places: BTreeMap<(u32, u32, u32, [u64; 4]), usize> = BTreeMap::new();
    let place_of = geos
        .iter()
        .map(|g| {
            let next = places.len();
            *places
                .entry((g.cloud, g.area, g.region, g.egress.map(f64::to_bits)))
                .or_insert(next)
        })
        .collect();
    (geos, (place_of, places.len()), counts)
}

/// Splits and prunes a validated problem whose workloads all have options.
pub(crate) fn reduce(problem: &Problem) -> Reduced {
    let (geos, (place_of, places), geo_counts) = geographies(problem);
    let n = problem.workloads.len();
    let mut in_apart = vec![false; n];
    for &(a, b) in &problem.apart {
        in_apart[a] = true;
        in_apart[b] = true;
    }
    // Per workload: flows out (gb), flows in (gb, neighbour), flows to itself.
    let mut out_gb = vec![Vec::new(); n];
    let mut in_gb = vec![Vec::new(); n];
    let mut self_gb = vec![0.0; n];
    for f in &problem.flows {
        if f.from == f.to {
            self_gb[f.from] += f.gb_per_month;
        } else {
            out_gb[f.from].push(f.gb_per_month);
            in_gb[f.to].push((f.gb_per_month, f.from));
        }
    }
    // The most a workload's location can change the rate of a flow it sends.
    let spread: Vec<f64> = problem
        .workloads
        .par_iter()
        .map(|w| {
            w.options
                .iter()
                .map(|o| {
                    let e = geos[o.location].egress;
                    e[OTHER_CLOUD] - e[SAME_REGION]
                })
                .fold(0.0, f64::max)
        })
        .collect();
    // Each workload's options are pruned on their own: on every core, in workload order.
    let kept: Vec<Vec<Opt>> = problem
        .workloads
        .par_iter()
        .enumerate()
        .map(|(w, workload)| {
            let options: Vec<(Opt, usize)> = workload
                .options
                .iter()
                .enumerate()
                .map(|(index, c)| {
                    let geo = geos[c.location];
                    let opt = Opt {
                        index,
                        geo,
                        unary: c.monthly_usd + self_gb[w] * geo.egress[SAME_REGION],
                        uses: c.uses.iter().copied().filter(|u| u.1 > 0.0).collect(),
                    };
                    (opt, place_of[c.location])
                })
                .collect();
            let incoming: f64 = in_gb[w].iter().map(|&(gb, from)| gb * spread[from]).sum();
            prune(
                cheapest_per_place(options, places),
                &out_gb[w],
                incoming,
                in_apart[w],
            )
        })
        .collect();
    let options_kept = kept.iter().map(Vec::len).sum();
    let components = split(problem, kept);
    Reduced {
        components,
        geo_counts,
        options_kept,
    }
}

/// Among options that use no shared resource, only the cheapest per place can be
/// optimal: every coupling but resources depends on the place alone (its region and its
/// egress rates). Ties keep the lowest index. `places` bounds the dense place ids.
fn cheapest_per_place(options: Vec<(Opt, usize)>, places: usize) -> Vec<Opt> {
    let mut best = vec![usize::MAX; places];
    for (i, (o, place)) in options.iter().enumerate() {
        if o.uses.is_empty() {
            let slot = &mut best[*place];
            if *slot == usize::MAX || o.unary < options[*slot].0.unary {
                *slot = i;
            }
        }
    }
    options
        .into_iter()
        .enumerate()
        .filter(|(i, (o, place))| !o.uses.is_empty() || best[*place] == *i)
        .map(|(_, (o, _))| o)
        .collect()
}

/// Drops an option `o` when a resource-free option `d` (on the same cloud if the workload
/// is in an `apart` pair) is cheaper in every context: its cost plus the most its flows
/// could cost more than `o`'s is still at most `o`'s cost. The dominator is the one with
/// the least cost plus worst-case outgoing egress, and is always kept.
fn prune(options: Vec<Opt>, out_gb: &[f64], incoming_spread: f64, apart: bool) -> Vec<Opt> {
    let worst_out = |o: &Opt| {
        o.unary
            + out_gb
                .iter()
                .map(|g| g * o.geo.egress[OTHER_CLOUD])
                .sum::<f64>()
    };
    let best_out = |o: &Opt| {
        out_gb
            .iter()
            .map(|g| g * o.geo.egress[SAME_REGION])
            .sum::<f64>()
    };
    // The dominator per cloud (when apart) or overall: (key, position).
    let mut dominators: BTreeMap<u32, (f64, usize)> = BTreeMap::new();
    for (i, o) in options.iter().enumerate() {
        if !o.uses.is_empty() {
            continue;
        }
        let group = if apart { o.geo.cloud } else { 0 };
        let key = worst_out(o);
        let slot = dominators.entry(group).or_insert((key, i));
        if key < slot.0 {
            *slot = (key, i);
        }
    }
    let keep: Vec<bool> = options
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let group = if apart { o.geo.cloud } else { 0 };
            let Some(&(key, d)) = dominators.get(&group) else {
                return true;
            };
            if d == i {
                return true;
            }
            let bound = key + incoming_spread - best_out(o);
            !(bound < o.unary || (bound == o.unary && d < i))
        })
        .collect();
    options
        .into_iter()
        .zip(keep)
        .filter_map(|(o, k)| k.then_some(o))
        .collect()
}

fn find(parent: &mut [usize], mut x: usize) -> usize {
    while parent[x] != x {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    x
}

fn union(parent: &mut [usize], a: usize, b: usize) {
    let (ra, rb) = (find(parent, a), find(parent, b));
    // The smaller id becomes the root, so components come out in a fixed order.
    if ra < rb {
        parent[rb] = ra;
    } else if rb < ra {
        parent[ra] = rb;
    }
}

/// Connected components by flows, `apart` pairs and shared resources, each with its
/// merged edges.
fn split(problem: &Problem, kept: Vec<Vec<Opt>>) -> Vec<Component> {
    let n = kept.len();
    let mut parent: Vec<usize> = (0..n).collect();
    for f in &problem.flows {
        union(&mut parent, f.from, f.to);
    }
    for &(a, b) in &problem.apart {
        union(&mut parent, a, b);
    }
    let mut first_user: BTreeMap<ResourceId, usize> = BTreeMap::new();
    for (w, options) in kept.iter().enumerate() {
        for o in options {
            for &(r, _) in &o.uses {
                let first = *first_user.entry(r).or_insert(w);
                union(&mut parent, first, w);
            }
        }
    }
    let mut component_of = vec![usize::MAX; n];
    let mut components: Vec<Component> = Vec::new();
    let mut local = vec![0usize; n];
    let mut options_of: Vec<Option<Vec<Opt>>> = kept.into_iter().map(Some).collect();
    for w in 0..n {
        let root = find(&mut parent, w);
        if component_of[root] == usize::MAX {
            component_of[root] = components.len();
            components.push(Component {
                workloads: Vec::new(),
                options: Vec::new(),
                edges: Vec::new(),
                adjacency: Vec::new(),
                resources: Vec::new(),
                self_apart: false,
            });
        }
        let c = &mut components[component_of[root]];
        local[w] = c.workloads.len();
        c.workloads.push(w);
        c.options.push(options_of[w].take().unwrap_or_default());
        c.adjacency.push(Vec::new());
    }
    let mut edge_of: Vec<BTreeMap<(usize, usize), usize>> = vec![BTreeMap::new(); components.len()];
    let mut edge =
        |c: usize, x: usize, y: usize, components: &mut Vec<Component>| -> (usize, bool) {
            let key = (x.min(y), x.max(y));
            let comp = &mut components[c];
            let index = *edge_of[c].entry(key).or_insert_with(|| {
                comp.edges.push(Edge {
                    a: key.0,
                    b: key.1,
                    ab: 0.0,
                    ba: 0.0,
                    apart: false,
                });
                comp.adjacency[key.0].push((key.1, comp.edges.len() - 1));
                comp.adjacency[key.1].push((key.0, comp.edges.len() - 1));
                comp.edges.len() - 1
            });
            (index, x == key.0)
        };
    for f in &problem.flows {
        if f.from == f.to {
            continue;
        }
        let c = component_of[find(&mut parent, f.from)];
        let (x, y) = (local[f.from], local[f.to]);
        let (e, forward) = edge(c, x, y, &mut components);
        let e = &mut components[c].edges[e];
        if forward {
            e.ab += f.gb_per_month;
        } else {
            e.ba += f.gb_per_month;
        }
    }
    for &(a, b) in &problem.apart {
        let c = component_of[find(&mut parent, a)];
        if a == b {
            components[c].self_apart = true;
            continue;
        }
        let (e, _) = edge(c, local[a], local[b], &mut components);
        components[c].edges[e].apart = true;
    }
    for (r, user) in first_user {
        let c = &mut components[component_of[find(&mut parent, user)]];
        c.resources.push((r, problem.resources[r].capacity));
    }
    components
}
