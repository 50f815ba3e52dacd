//! Stage 3, graph: the [`ResourceGraph`] of a checked [`Model`]. Nodes are datasets,
//! training jobs, services, functions and on-prem sites; data edges run dataset ->
//! train -> service/function, and an on-prem site hosts the datasets stored there.
//! Data classifications flow along data edges, so a model trained on health data is
//! health data for every service and function that serves it.

use crate::check::model::{Location, Model, ModelSource};
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
            NodeKind::Onprem => "onprem",
        }
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

#[derive(Debug, Clone, Serialize)]
pub struct Node {
    pub kind: NodeKind,
    pub name: String,
    /// The classifications of all data that reaches this node, its own included.
    pub classes: BTreeSet<String>,
    pub span: Span,
}

/// The dependency graph of a spec. Node indices follow the model's (sorted) order, so
/// the graph is the same for the same spec.
#[derive(Debug, Clone, Default)]
pub struct ResourceGraph {
    pub graph: DiGraph<Node, EdgeKind>,
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
        self.graph
            .edge_indices()
            .filter_map(|e| {
                let (a, b) = self.graph.edge_endpoints(e)?;
                Some((&self.graph[a], &self.graph[b], self.graph[e]))
            })
            .collect()
    }

    fn add(&mut self, kind: NodeKind, name: &str, span: Span) {
        let node = Node {
            kind,
            name: name.to_string(),
            classes: BTreeSet::new(),
            span,
        };
        let index = self.graph.add_node(node);
        self.index.insert((kind, name.to_string()), index);
    }

    fn connect(&mut self, from: (NodeKind, &str), to: (NodeKind, &str), kind: EdgeKind) {
        let a = self.index.get(&(from.0, from.1.to_string())).copied();
        let b = self.index.get(&(to.0, to.1.to_string())).copied();
        if let (Some(a), Some(b)) = (a, b) {
            self.graph.add_edge(a, b, kind);
        }
    }
}

/// Builds the graph and lets classifications flow along data edges.
pub fn build(model: &Model) -> ResourceGraph {
    let mut g = ResourceGraph::default();
    for site in &model.onprem {
        g.add(NodeKind::Onprem, &site.name, site.span);
    }
    for d in &model.datasets {
        g.add(NodeKind::Dataset, &d.name, d.span);
        if let Some(i) = g.index.get(&(NodeKind::Dataset, d.name.clone())) {
            g.graph[*i].classes.insert(d.classification.clone());
        }
    }
    for t in &model.trains {
        g.add(NodeKind::Train, &t.name, t.span);
    }
    for s in &model.services {
        g.add(NodeKind::Service, &s.name, s.span);
    }
    for f in &model.functions {
        g.add(NodeKind::Function, &f.name, f.span);
    }
    connect_edges(&mut g, model);
    propagate_classes(&mut g);
    g
}

fn connect_edges(g: &mut ResourceGraph, model: &Model) {
    for d in &model.datasets {
        if let Location::Onprem { site } = &d.location {
            g.connect(
                (NodeKind::Onprem, site),
                (NodeKind::Dataset, &d.name),
                EdgeKind::Hosts,
            );
        }
    }
    for t in &model.trains {
        if let Some(data) = &t.data {
            g.connect(
                (NodeKind::Dataset, data),
                (NodeKind::Train, &t.name),
                EdgeKind::Data,
            );
        }
    }
    for s in &model.services {
        if let ModelSource::Train(train) = &s.model {
            g.connect(
                (NodeKind::Train, train),
                (NodeKind::Service, &s.name),
                EdgeKind::Data,
            );
        }
    }
    for f in &model.functions {
        if let Some(ModelSource::Train(train)) = &f.model {
            g.connect(
                (NodeKind::Train, train),
                (NodeKind::Function, &f.name),
                EdgeKind::Data,
            );
        }
    }
}

/// Classes flow forward along data edges in topological order. The references only
/// point from later stages to earlier ones, so the graph has no cycle; should one
/// appear, classes are left where they are rather than guessed.
fn propagate_classes(g: &mut ResourceGraph) {
    let Ok(order) = toposort(&g.graph, None) else {
        return;
    };
    for node in order {
        let incoming: Vec<NodeIndex> = g
            .graph
            .edges_directed(node, Direction::Incoming)
            .filter(|e| *e.weight() == EdgeKind::Data)
            .map(|e| petgraph::visit::EdgeRef::source(&e))
            .collect();
        let mut classes = g.graph[node].classes.clone();
        for source in incoming {
            classes.extend(g.graph[source].classes.iter().cloned());
        }
        g.graph[node].classes = classes;
    }
}
