//! Stage 3, graph: the [`ResourceGraph`] of a checked [`Model`]. Nodes are datasets,
//! training jobs, batch jobs, services, functions and on-prem sites; data edges run
//! dataset -> train -> service/function/batch, dataset -> batch -> produced dataset, and
//! an on-prem site hosts the datasets stored there. Data classifications flow along data
//! edges, so a model trained on health data is health data for every service and
//! function that serves it, until a `deidentified` node stops them. Each data edge
//! carries the bytes it moves per month, which the planner prices as egress.

pub mod dot;
pub mod draw;
pub mod svg;

use crate::check::model::{Deidentified, Input, Location, Model, ModelSource, Train};
use crate::source::Span;
use petgraph::algo::toposort;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::Direction;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    Dataset,
    Train,
    Service,
    Function,
    Batch,
    Onprem,
}

impl NodeKind {
    /// The keyword that declares it, as in `dataset.name`.
    pub fn keyword(self) -> &'static str {
        match self {
            NodeKind::Dataset => "dataset",
            NodeKind::Train => "train",
            NodeKind::Service => "service",
            NodeKind::Function => "function",
            NodeKind::Batch => "batch",
            NodeKind::Onprem => "onprem",
        }
    }

    /// The kind a keyword declares (the inverse of [`NodeKind::keyword`]).
    pub fn from_keyword(keyword: &str) -> Option<NodeKind> {
        [
            NodeKind::Dataset,
            NodeKind::Train,
            NodeKind::Service,
            NodeKind::Function,
            NodeKind::Batch,
            NodeKind::Onprem,
        ]
        .into_iter()
        .find(|kind| kind.keyword() == keyword)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    /// Data (or a model derived from it) flows from source to target.
    Data,
    /// An on-prem site stores the target dataset.
    Hosts,
}

/// An edge of the graph: what it means and, for data edges, the bytes it moves per month.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Edge {
    pub kind: EdgeKind,
    /// Data edges: dataset size x the reader's runs; a model artifact's size
    /// (parameters x bytes per parameter at the training precision) x the runs that
    /// ship it; a produced dataset's size x its producer's runs. Zero for `Hosts`.
    pub bytes_per_month: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Node {
    pub kind: NodeKind,
    pub name: String,
    /// Index of the declaration in the model's list for this kind (`model.trains[item]`).
    pub item: usize,
    /// The classifications of all data that reaches this node, its own included.
    pub classes: BTreeSet<String>,
    /// Classes that flowed in and stopped here, with the de-identification method.
    pub stopped: Vec<ClassStop>,
    pub span: Span,
}

/// A class of data that stops at a node, and why (for the audit trail and `mlc graph`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ClassStop {
    pub class: String,
    pub method: String,
}

/// The dependency graph of a spec. Node indices follow the model's (sorted) order, so
/// the graph is the same for the same spec.
#[derive(Debug, Clone, Default)]
pub struct ResourceGraph {
    pub graph: DiGraph<Node, Edge>,
    index: BTreeMap<(NodeKind, String), NodeIndex>,
}

impl ResourceGraph {
    pub fn node(&self, kind: NodeKind, name: &str) -> Option<&Node> {
        self.index
            .get(&(kind, name.to_string()))
            .map(|i| &self.graph[*i])
    }

    /// Every node, in insertion (model) order.
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.graph.node_indices().map(|i| &self.graph[i])
    }

    /// `(source, target, kind)` for every edge, in insertion order.
    pub fn edges(&self) -> Vec<(&Node, &Node, EdgeKind)> {
        self.edges_with_weights()
            .into_iter()
            .map(|(a, b, e)| (a, b, e.kind))
            .collect()
    }

    /// `(source, target, edge)` for every edge, in insertion order.
    pub fn edges_with_weights(&self) -> Vec<(&Node, &Node, Edge)> {
        self.graph
            .edge_indices()
            .filter_map(|e| {
                let (a, b) = self.graph.edge_endpoints(e)?;
                Some((&self.graph[a], &self.graph[b], self.graph[e]))
            })
            .collect()
    }

    /// `(source, target, bytes per month)` for every data edge, in insertion order.
    pub fn data_flows(&self) -> Vec<(&Node, &Node, f64)> {
        self.edges_with_weights()
            .into_iter()
            .filter(|(_, _, e)| e.kind == EdgeKind::Data)
            .map(|(a, b, e)| (a, b, e.bytes_per_month))
            .collect()
    }

    /// `(source, target, bytes per month)` for every data edge into or out of
    /// `(kind, name)`, in insertion order: one node's edges without scanning the graph's
    /// (a scan per workload made `mlc build` quadratic in the workloads).
    pub fn data_flows_of(&self, kind: NodeKind, name: &str) -> Vec<(&Node, &Node, f64)> {
        let Some(&node) = self.index.get(&(kind, name.to_string())) else {
            return Vec::new();
        };
        let mut edges: Vec<_> = self
            .graph
            .edges_directed(node, Direction::Incoming)
            .chain(self.graph.edges_directed(node, Direction::Outgoing))
            .filter(|e| e.weight().kind == EdgeKind::Data)
            .map(|e| petgraph::visit::EdgeRef::id(&e))
            .collect();
        edges.sort();
        edges.dedup(); // a self-loop is both incoming and outgoing
        edges
            .into_iter()
            .filter_map(|e| {
                let (a, b) = self.graph.edge_endpoints(e)?;
                Some((
                    &self.graph[a],
                    &self.graph[b],
                    self.graph[e].bytes_per_month,
                ))
            })
            .collect()
    }

    /// The nodes with a data edge into `(kind, name)`, in edge order.
    pub fn inputs_of(&self, kind: NodeKind, name: &str) -> Vec<&Node> {
        let Some(&target) = self.index.get(&(kind, name.to_string())) else {
            return Vec::new();
        };
        let mut sources: Vec<NodeIndex> = self
            .graph
            .edges_directed(target, Direction::Incoming)
            .filter(|e| e.weight().kind == EdgeKind::Data)
            .map(|e| petgraph::visit::EdgeRef::source(&e))
            .collect();
        sources.sort();
        sources.into_iter().map(|i| &self.graph[i]).collect()
    }

    /// How `class` reached `node`: the path from the node where the class starts (a
    /// dataset, or a served model's declared lineage) to `node`, both included. Empty
    /// when the class does not reach it. Deterministic: the first path in edge order.
    pub fn class_path(&self, kind: NodeKind, name: &str, class: &str) -> Vec<&Node> {
        let Some(&target) = self.index.get(&(kind, name.to_string())) else {
            return Vec::new();
        };
        if !self.graph[target].classes.contains(class) {
            return Vec::new();
        }
        let mut path = vec![target];
        let mut at = target;
        // Walk back along data edges whose source carries the class; the graph is
        // acyclic (checked), so this ends at the node where the class begins.
        while let Some(source) = self
            .graph
            .edges_directed(at, Direction::Incoming)
            .filter(|e| e.weight().kind == EdgeKind::Data)
            .map(|e| petgraph::visit::EdgeRef::source(&e))
            .filter(|s| self.graph[*s].classes.contains(class))
            .min()
        {
            path.push(source);
            at = source;
            if path.len() > self.graph.node_count() {
                break;
            }
        }
        path.reverse();
        path.into_iter().map(|i| &self.graph[i]).collect()
    }

    fn add(&mut self, kind: NodeKind, name: &str, item: usize, span: Span) {
        let node = Node {
            kind,
            name: name.to_string(),
            item,
            classes: BTreeSet::new(),
            stopped: Vec::new(),
            span,
        };
        let index = self.graph.add_node(node);
        self.index.insert((kind, name.to_string()), index);
    }

    fn connect(&mut self, from: (NodeKind, &str), to: (NodeKind, &str), edge: Edge) {
        let a = self.index.get(&(from.0, from.1.to_string())).copied();
        let b = self.index.get(&(to.0, to.1.to_string())).copied();
        if let (Some(a), Some(b)) = (a, b) {
            self.graph.add_edge(a, b, edge);
        }
    }

    fn index_of(&self, kind: NodeKind, name: &str) -> Option<NodeIndex> {
        self.index.get(&(kind, name.to_string())).copied()
    }
}

/// Builds the graph and lets classifications flow along data edges.
pub fn build(model: &Model) -> ResourceGraph {
    let mut g = ResourceGraph::default();
    for (i, site) in model.onprem.iter().enumerate() {
        g.add(NodeKind::Onprem, &site.name, i, site.span);
    }
    for (i, d) in model.datasets.iter().enumerate() {
        g.add(NodeKind::Dataset, &d.name, i, d.span);
        if let Some(index) = g.index_of(NodeKind::Dataset, &d.name) {
            g.graph[index].classes.insert(d.classification.clone());
        }
    }
    for (i, t) in model.trains.iter().enumerate() {
        g.add(NodeKind::Train, &t.name, i, t.span);
    }
    for (i, b) in model.batches.iter().enumerate() {
        g.add(NodeKind::Batch, &b.name, i, b.span);
    }
    for (i, s) in model.services.iter().enumerate() {
        g.add(NodeKind::Service, &s.name, i, s.span);
        declared_classes(&mut g, NodeKind::Service, &s.name, &s.lineage.holds);
    }
    for (i, f) in model.functions.iter().enumerate() {
        g.add(NodeKind::Function, &f.name, i, f.span);
        declared_classes(&mut g, NodeKind::Function, &f.name, &f.lineage.holds);
    }
    connect_edges(&mut g, model);
    propagate_classes(&mut g, model);
    g
}

/// A served image's declared lineage: the classes its training data held.
fn declared_classes(g: &mut ResourceGraph, kind: NodeKind, name: &str, holds: &[String]) {
    if let Some(index) = g.index_of(kind, name) {
        g.graph[index].classes.extend(holds.iter().cloned());
    }
}

fn data(bytes_per_month: f64) -> Edge {
    Edge {
        kind: EdgeKind::Data,
        bytes_per_month,
    }
}

/// Bytes of a trained model's weights as shipped: 4 per parameter in fp32, 2 otherwise.
pub fn artifact_bytes(train: &Train) -> f64 {
    let per_parameter = train.precision.bytes_per_weight();
    train.model.parameters() as f64 * per_parameter
}

fn connect_edges(g: &mut ResourceGraph, model: &Model) {
    // Looked up once per edge: maps, so a large spec stays linear.
    let sizes: std::collections::HashMap<&str, f64> = model
        .datasets
        .iter()
        .map(|d| (d.name.as_str(), d.size_bytes.to_f64()))
        .collect();
    let trains: std::collections::HashMap<&str, &Train> =
        model.trains.iter().map(|t| (t.name.as_str(), t)).collect();
    let size = |name: &str| sizes.get(name).copied().unwrap_or(0.0);
    let train_of = |name: &str| trains.get(name).copied();
    for d in &model.datasets {
        if let Some(Location::Onprem { site }) = &d.location {
            let hosts = Edge {
                kind: EdgeKind::Hosts,
                bytes_per_month: 0.0,
            };
            g.connect(
                (NodeKind::Onprem, site),
                (NodeKind::Dataset, &d.name),
                hosts,
            );
        }
    }
    for t in &model.trains {
        let runs = t.runs_per_month.to_f64();
        for name in &t.data {
            let edge = data(size(name) * runs);
            g.connect((NodeKind::Dataset, name), (NodeKind::Train, &t.name), edge);
        }
    }
    for b in &model.batches {
        let runs = b.runs_per_month.to_f64();
        for input in &b.inputs {
            let (kind, name, bytes) = match input {
                Input::Dataset(d) => (NodeKind::Dataset, d, size(d)),
                Input::Train(t) => (NodeKind::Train, t, train_of(t).map_or(0.0, artifact_bytes)),
            };
            g.connect((kind, name), (NodeKind::Batch, &b.name), data(bytes * runs));
        }
        if let Some(output) = &b.output {
            let edge = data(size(output) * runs);
            g.connect(
                (NodeKind::Batch, &b.name),
                (NodeKind::Dataset, output),
                edge,
            );
        }
    }
    let served = model
        .services
        .iter()
        .map(|s| (NodeKind::Service, &s.name, Some(&s.model), &s.lineage))
        .chain(
            model
                .functions
                .iter()
                .map(|f| (NodeKind::Function, &f.name, f.model.as_ref(), &f.lineage)),
        );
    for (kind, name, source, lineage) in served {
        let train = match source {
            Some(ModelSource::Train(train)) => Some(train),
            _ => lineage.derived_from.as_ref(),
        };
        // Each training run ships a new model version to whatever serves it.
        if let Some(t) = train.and_then(|t| train_of(t)) {
            let edge = data(artifact_bytes(t) * t.runs_per_month.to_f64());
            g.connect((NodeKind::Train, &t.name), (kind, name), edge);
        }
    }
}

/// Classes flow forward along data edges in topological order, and stop where a node
/// is de-identified. `check` rejects cycles through produced datasets, so the graph is
/// acyclic; should one appear, classes are left where they are rather than guessed.
fn propagate_classes(g: &mut ResourceGraph, model: &Model) {
    let Ok(order) = toposort(&g.graph, None) else {
        return;
    };
    for node in order {
        let incoming: BTreeSet<String> = g
            .graph
            .edges_directed(node, Direction::Incoming)
            .filter(|e| e.weight().kind == EdgeKind::Data)
            .flat_map(|e| {
                let source = petgraph::visit::EdgeRef::source(&e);
                g.graph[source].classes.iter().cloned().collect::<Vec<_>>()
            })
            .collect();
        let filter = deidentification(model, &g.graph[node]);
        let mut stopped = Vec::new();
        for class in incoming {
            match filter {
                Some(deid) if deid.stops(&class) => stopped.push(ClassStop {
                    class,
                    method: deid.method.clone(),
                }),
                _ => {
                    g.graph[node].classes.insert(class);
                }
            }
        }
        g.graph[node].stopped = stopped;
    }
}

fn deidentification<'m>(model: &'m Model, node: &Node) -> Option<&'m Deidentified> {
    match node.kind {
        NodeKind::Dataset => model.datasets.get(node.item)?.deidentified.as_ref(),
        NodeKind::Train => model.trains.get(node.item)?.deidentified.as_ref(),
        _ => None,
    }
}
