//! Compliance and residency as data: for every workload the graph reaches, which
//! jurisdictions it may run in and whether it must stay on the on-prem site, each with
//! the reason that imposed it (framework, rule, class and the path the class took). The
//! optimizer places within these rules; `check` reports the ones it can judge already
//! (a `near` geography the data may not enter).

use crate::check::model::{Framework, Model};
use crate::diag::{codes, Diagnostic};
use crate::graph::{Node, NodeKind, ResourceGraph};
use crate::source::Span;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// The placement rules of every node that has any, keyed by `(kind, name)`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PlacementRules {
    pub nodes: BTreeMap<(NodeKind, String), NodeRules>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct NodeRules {
    /// The jurisdictions the node may be placed in (`None`: anywhere), and why.
    pub jurisdictions: Option<BTreeSet<String>>,
    pub jurisdiction_reasons: Vec<Reason>,
    /// Set when the node must stay on the hybrid base site (`sensitive_data`).
    pub onsite: Option<Reason>,
}

/// Why a rule applies: a sentence for the plan's rationale and the span that imposed it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Reason {
    pub text: String,
    #[serde(skip)]
    pub span: Span,
}

impl PlacementRules {
    pub fn get(&self, kind: NodeKind, name: &str) -> Option<&NodeRules> {
        self.nodes.get(&(kind, name.to_string()))
    }
}

/// Derives the rules from `compliance` (its frameworks' residency rules along the graph,
/// and `residency = [...]` for all data) and `placement { hybrid = sensitive_data }`.
pub fn rules(model: &Model, graph: &ResourceGraph) -> PlacementRules {
    let mut out = PlacementRules::default();
    let enabled: Vec<&Framework> = model
        .compliance
        .as_ref()
        .map(|c| {
            model
                .knowledge
                .frameworks
                .iter()
                .filter(|f| c.frameworks.contains(&f.name))
                .collect()
        })
        .unwrap_or_default();
    for node in graph.nodes().filter(|n| n.kind != NodeKind::Onprem) {
        let mut rules = NodeRules::default();
        if let Some(compliance) = model
            .compliance
            .as_ref()
            .filter(|c| !c.residency.is_empty())
        {
            let allowed: BTreeSet<String> = compliance.residency.iter().cloned().collect();
            let span = model
                .attr_span("compliance", "", "residency")
                .unwrap_or(node.span);
            restrict(
                &mut rules,
                allowed,
                Reason {
                    text: format!(
                        "residency [{}] from `compliance.residency`",
                        compliance.residency.join(", ")
                    ),
                    span,
                },
            );
        }
        let transfers: &[String] = model
            .compliance
            .as_ref()
            .map_or(&[], |c| c.transfers.as_slice());
        for framework in &enabled {
            framework_residency(graph, node, framework, transfers, &mut rules);
        }
        rules.onsite = onsite(model, graph, node);
        if rules.jurisdictions.is_some() || rules.onsite.is_some() {
            out.nodes.insert((node.kind, node.name.clone()), rules);
        }
    }
    out
}

fn restrict(rules: &mut NodeRules, allowed: BTreeSet<String>, reason: Reason) {
    rules.jurisdictions = Some(match rules.jurisdictions.take() {
        Some(current) => current.intersection(&allowed).cloned().collect(),
        None => allowed,
    });
    rules.jurisdiction_reasons.push(reason);
}

/// Each residency rule of a framework whose classes reach the node; jurisdictions the
/// organisation transfers to under safeguards (`compliance.transfers`) are allowed too,
/// as the policy stage allows them.
fn framework_residency(
    graph: &ResourceGraph,
    node: &Node,
    framework: &Framework,
    transfers: &[String],
    rules: &mut NodeRules,
) {
    let Some(class) = framework
        .applies_to
        .iter()
        .find(|c| node.classes.contains(*c))
    else {
        return;
    };
    for rule in &framework.rules {
        for (subject, words) in &rule.conditions {
            if subject != "residency" {
                continue;
            }
            let path = graph.class_path(node.kind, &node.name, class);
            let via: Vec<String> = path
                .iter()
                .map(|n| format!("{}.{}", n.kind.keyword(), n.name))
                .collect();
            let span = path.first().map_or(node.span, |n| n.span);
            restrict(
                rules,
                words.iter().chain(transfers).cloned().collect(),
                Reason {
                    text: format!(
                        "residency [{}] from {} rule {} via {}",
                        words.join(", "),
                        framework.name,
                        rule.id,
                        via.join(" -> ")
                    ),
                    span,
                },
            );
        }
    }
}

/// With `hybrid = sensitive_data`, classified datasets stay on the site, and so do the
/// jobs that read them raw (directly, not through a de-identified dataset).
fn onsite(model: &Model, graph: &ResourceGraph, node: &Node) -> Option<Reason> {
    let placement = model.placement.as_ref()?;
    let hybrid = placement
        .hybrid
        .as_ref()
        .filter(|h| h.mode == crate::check::model::HybridMode::SensitiveData)?;
    let classified = |n: &Node| {
        n.kind == NodeKind::Dataset
            && model
                .datasets
                .get(n.item)
                .is_some_and(|d| !matches!(d.classification.as_str(), "public" | "internal"))
    };
    let span = model
        .attr_span("placement", "", "hybrid")
        .unwrap_or(node.span);
    if classified(node) {
        return Some(Reason {
            text: format!(
                "classified data stays on `onprem.{}` (hybrid sensitive_data)",
                hybrid.base
            ),
            span,
        });
    }
    let raw_input = graph
        .inputs_of(node.kind, &node.name)
        .into_iter()
        .find(|input| classified(input))?;
    Some(Reason {
        text: format!(
            "reads classified `dataset.{}` raw; it stays on `onprem.{}` (hybrid sensitive_data)",
            raw_input.name, hybrid.base
        ),
        span,
    })
}

/// A service whose `near` geography lies outside the jurisdictions its data may enter
/// is served from elsewhere: say so before the plan does. (A pinned region outside them
/// is already a residency error.)
pub fn near_outside_residency(model: &Model, rules: &PlacementRules) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for service in &model.services {
        let Some(node_rules) = rules.get(NodeKind::Service, &service.name) else {
            continue;
        };
        let Some(allowed) = &node_rules.jurisdictions else {
            continue;
        };
        let outside: Vec<&str> = service
            .near
            .iter()
            .filter(|geo| {
                model
                    .knowledge
                    .geographies
                    .iter()
                    .find(|g| &&g.name == geo)
                    .is_some_and(|g| !allowed.contains(&g.jurisdiction))
            })
            .map(String::as_str)
            .collect();
        if outside.is_empty() {
            continue;
        }
        let span = model
            .attr_span("service", &service.name, "near")
            .unwrap_or(service.span);
        let allowed_list: Vec<&str> = allowed.iter().map(String::as_str).collect();
        let mut d = Diagnostic::new(
            codes::NEAR_OUTSIDE_RESIDENCY,
            span,
            format!(
                "service `{}` is meant to be near [{}], but its data may only be in [{}]",
                service.name,
                outside.join(", "),
                allowed_list.join(", ")
            ),
        )
        .label("users here will be served from an allowed region");
        for reason in &node_rules.jurisdiction_reasons {
            d = d.secondary(reason.span, reason.text.clone());
        }
        out.push(d.help(
            "serve those users from an allowed jurisdiction (the plan picks the nearest), drop them from `near`, or stop the class earlier with `deidentified { ... }`",
        ));
    }
    out
}
