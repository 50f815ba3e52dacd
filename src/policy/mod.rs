//! Stage 4, policy: compliance frameworks and the security baseline, checked over the
//! [`ResourceGraph`]. A framework listed in `compliance { frameworks = [...] }` applies
//! to every node that data of one of its classes reaches; each violated `require` rule
//! becomes a diagnostic carrying the rule's id, title and help, and the rule itself
//! (id, framework, citation) as data in [`Diagnostic::rule`].
//!
//! Residency is checked where a location is known before placement: dataset locations,
//! on-prem sites and workloads pinned with `region = ...`. The optimizer must treat
//! residency as a placement constraint for everything else (see `docs/stdlib.md`).

pub mod placement;
mod rules;

use crate::check::model::{Framework, FrameworkRule, Model};
use crate::diag::{codes, Code, Diagnostic};
use crate::graph::{Node, NodeKind, ResourceGraph};
use crate::source::Span;
use rules::{Scope, Violation};
use std::collections::BTreeSet;

/// The framework that holds the security baseline (`stdlib/baseline.mlc`).
pub const BASELINE: &str = "baseline";

/// All policy findings, in a stable order: frameworks by name, rules as written.
pub fn check(model: &Model, graph: &ResourceGraph) -> Vec<Diagnostic> {
    let enabled: Vec<&str> = model
        .compliance
        .as_ref()
        .map(|c| c.frameworks.iter().map(String::as_str).collect())
        .unwrap_or_default();
    let mut out = malformed_rules(model);
    let mut seen = BTreeSet::new();
    for framework in &model.knowledge.frameworks {
        if enabled.contains(&framework.name.as_str()) {
            check_framework(
                model,
                graph,
                framework,
                Enforcement::Required,
                &mut seen,
                &mut out,
            );
        }
    }
    // A spec that states its security but does not require the baseline gets it as
    // advice, minus the gaps a required framework has already reported.
    let baseline = model
        .knowledge
        .frameworks
        .iter()
        .find(|f| f.name == BASELINE);
    if let (Some(framework), Some(_), false) =
        (baseline, &model.security, enabled.contains(&BASELINE))
    {
        check_framework(
            model,
            graph,
            framework,
            Enforcement::Advised,
            &mut seen,
            &mut out,
        );
    }
    out.extend(rules::spec_residency(model, graph));
    out.extend(placement::near_outside_residency(
        model,
        &placement::rules(model, graph),
    ));
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Enforcement {
    Required,
    Advised,
}

fn check_framework(
    model: &Model,
    graph: &ResourceGraph,
    framework: &Framework,
    enforcement: Enforcement,
    seen: &mut BTreeSet<(Option<Span>, String)>,
    out: &mut Vec<Diagnostic>,
) {
    let applies = |node: &&Node| {
        framework
            .applies_to
            .iter()
            .any(|c| node.classes.contains(c))
    };
    let reached: Vec<&Node> = graph.nodes().filter(applies).collect();
    if reached.is_empty() {
        return;
    }
    let scope = Scope {
        model,
        graph,
        classes: &framework.applies_to,
        reached: &reached,
        longest_end: Default::default(),
    };
    let valid = framework
        .rules
        .iter()
        .filter(|r| rules::malformed(r).is_none());
    for rule in valid {
        for violation in rules::evaluate(&scope, rule) {
            // Spec-wide gaps (a `security` setting) are keyed without a node, since
            // frameworks attach them to the first node they reach.
            let keys: Vec<(Option<Span>, String)> = if violation.gaps.is_empty() {
                vec![(Some(violation.node.span), violation.detail.clone())]
            } else {
                violation.gaps.iter().map(|g| (None, g.clone())).collect()
            };
            match enforcement {
                Enforcement::Required => seen.extend(keys),
                Enforcement::Advised if keys.iter().all(|k| seen.contains(k)) => continue,
                Enforcement::Advised => {}
            }
            out.push(diagnostic(graph, framework, rule, &violation, enforcement));
        }
    }
}

/// Rules of every declared framework (enabled or not, the stdlib's included) whose
/// conditions cannot be evaluated; they are skipped, never taken as met.
fn malformed_rules(model: &Model) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for framework in &model.knowledge.frameworks {
        for rule in &framework.rules {
            let Some((subject, value)) = rules::malformed(rule) else {
                continue;
            };
            out.push(
                Diagnostic::new(
                    codes::RULE_CONDITION_INVALID,
                    rule.span,
                    format!(
                        "rule {} of framework `{}` compares `{subject}` with {value}, which is not a duration",
                        rule.id, framework.name
                    ),
                )
                .label("expected a duration string such as \"365 d\"")
                .help(format!(
                    "write the duration as a string with a number and a unit: `require {subject} = \"365 d\"`"
                ))
                .rule(rule_ref(framework, rule)),
            );
        }
    }
    out
}

/// A violated rule as a diagnostic: on the offending line, with a label on each hop of
/// the path by which the class reached the node, and the path in the help.
fn diagnostic(
    graph: &ResourceGraph,
    framework: &Framework,
    rule: &FrameworkRule,
    violation: &Violation,
    enforcement: Enforcement,
) -> Diagnostic {
    let code: Code = match (enforcement, violation.residency) {
        (Enforcement::Advised, _) => codes::BASELINE_NOT_MET,
        (Enforcement::Required, true) => codes::RESIDENCY_VIOLATED,
        (Enforcement::Required, false) => codes::COMPLIANCE_RULE_VIOLATED,
    };
    let what = if violation.residency {
        "residency rule"
    } else {
        "rule"
    };
    let node = violation.node;
    let class = framework
        .applies_to
        .iter()
        .find(|c| node.classes.contains(*c))
        .map_or("", String::as_str);
    let path = graph.class_path(node.kind, &node.name, class);
    // With no line to point at, a spec-wide gap sits where the class starts and a
    // per-node one on the node.
    let fallback = match (violation.gaps.is_empty(), path.first()) {
        (false, Some(origin)) => origin,
        _ => node,
    };
    let primary = violation.at.unwrap_or(fallback.span);
    let label = if violation.at.is_some() {
        violation.detail.clone()
    } else {
        format!("{} holds {class}: {}", describe(fallback), violation.detail)
    };
    let mut d = Diagnostic::new(
        code,
        primary,
        format!("{what} {} violated: {}", rule.id, rule.title),
    )
    .label(label);
    for (span, detail) in &violation.more {
        d = d.secondary(*span, detail.clone());
    }
    for (i, hop) in path.iter().enumerate() {
        if hop.span != primary {
            let text = match i.checked_sub(1).and_then(|p| path.get(p)) {
                Some(previous) => arrival(previous, hop),
                None => origin(hop, class),
            };
            d = d.secondary(hop.span, text);
        }
    }
    let mut help = String::new();
    if path.len() > 1 {
        let via: Vec<String> = path.iter().map(|n| dotted(n)).collect();
        help.push_str(&format!("{class} arrives via {}; ", via.join(" -> ")));
    }
    if violation.no_security_block {
        help.push_str("add a `security { ... }` block, then ");
    }
    d.help(format!(
        "{help}{} [{} `{}`, rule {}, {}]",
        rule.help, framework.title, framework.name, rule.id, rule.source
    ))
    .rule(rule_ref(framework, rule))
}

/// The label on the node where a class starts: a dataset's classification, or a served
/// image's declared lineage.
fn origin(node: &Node, class: &str) -> String {
    match node.kind {
        NodeKind::Dataset => format!("{class} starts here"),
        _ => format!("{class} starts here (declared lineage)"),
    }
}

/// The label on a hop of a class path: how the class got there from the previous node.
fn arrival(previous: &Node, hop: &Node) -> String {
    let from = dotted(previous);
    match (previous.kind, hop.kind) {
        (NodeKind::Dataset, _) => format!("reads {from}"),
        (NodeKind::Batch, NodeKind::Dataset) => format!("written by {from}"),
        (NodeKind::Train, NodeKind::Service | NodeKind::Function) => format!("serves {from}"),
        (NodeKind::Train, _) => format!("uses the model of {from}"),
        _ => format!("receives data from {from}"),
    }
}

/// `dataset.records`, as the spec refers to it.
fn dotted(node: &Node) -> String {
    format!("{}.{}", node.kind.keyword(), node.name)
}

fn rule_ref(framework: &Framework, rule: &FrameworkRule) -> crate::diag::Rule {
    crate::diag::Rule {
        id: rule.id.clone(),
        framework: framework.name.clone(),
        source: rule.source.clone(),
    }
}

/// `dataset `records``, for labels.
fn describe(node: &Node) -> String {
    format!("{} `{}`", node.kind.keyword(), node.name)
}

/// Runs the graph and policy stages over a spec that checked without errors and merges
/// their findings into its diagnostics, in source order. The model is kept: policy
/// findings are verdicts about a valid spec, which the plan reports.
pub fn apply(checked: &mut crate::check::Checked) {
    let Some(model) = &checked.model else { return };
    let graph = crate::graph::build(model);
    checked.diagnostics.extend(check(model, &graph));
    crate::diag::sort(&mut checked.diagnostics);
}

/// [`crate::check::check_text`] followed by [`apply`]: what `mlc check` reports.
pub fn check_text(name: &str, text: &str) -> crate::check::Checked {
    let mut checked = crate::check::check_text(name, text);
    apply(&mut checked);
    checked
}
