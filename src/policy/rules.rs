//! What each `require` subject means, evaluated against the model and the nodes that
//! the framework's classes of data reach. Spec-wide subjects (`security` settings) yield at most one
//! violation per rule, at the first node the data reaches; per-node subjects
//! (residency, dataset retention and consent) yield one per offending node.

use crate::check::model::{FrameworkRule, Location, Model, Pin};
use crate::check::units::{self, Exact};
use crate::diag::{codes, Diagnostic};
use crate::graph::{Node, NodeKind, ResourceGraph};
use crate::source::Span;

pub(super) struct Scope<'a> {
    pub model: &'a Model,
    pub graph: &'a ResourceGraph,
    /// The data classes the framework applies to.
    pub classes: &'a [String],
    /// Nodes the classes reach, in model order (datasets before workloads).
    pub reached: &'a [&'a Node],
    /// [`longest_path_end`], found once per framework rather than once per rule.
    pub longest_end: std::cell::OnceCell<Option<&'a Node>>,
}

impl<'a> Scope<'a> {
    /// The framework's first class that reaches `node` (the one its findings name).
    pub fn class_at(&self, node: &Node) -> Option<&'a str> {
        self.classes
            .iter()
            .find(|c| node.classes.contains(*c))
            .map(String::as_str)
    }
}

pub(super) struct Violation<'a> {
    /// The node the finding is about. For a spec-wide gap, the end of the longest path
    /// the framework's classes take (the first such in model order), which it names.
    pub node: &'a Node,
    /// The offending line: the attribute that is wrong or the header of the block that
    /// lacks it; `None` when there is no such line and the finding sits on the node
    /// where the class starts.
    pub at: Option<Span>,
    /// What is wrong, shown at `at`.
    pub detail: String,
    /// Further offending lines of a spec-wide rule whose gaps lie in several places.
    pub more: Vec<(Span, String)>,
    pub residency: bool,
    /// The separate spec-wide gaps (empty for per-node violations), so that a baseline
    /// gap already reported by a framework is not reported again.
    pub gaps: Vec<String>,
    /// A spec-wide gap in a spec with no `security` block to write the setting in.
    pub no_security_block: bool,
}

impl<'a> Violation<'a> {
    fn on_node(node: &'a Node, at: Option<Span>, detail: String) -> Violation<'a> {
        Violation {
            node,
            at,
            detail,
            more: Vec::new(),
            residency: false,
            gaps: Vec::new(),
            no_security_block: false,
        }
    }
}

/// A spec-wide requirement that is not met, and the line that should meet it.
struct Gap {
    detail: String,
    at: Option<Span>,
    /// A `security` setting (not, say, the project's owner).
    in_security: bool,
}

pub(super) fn evaluate<'a>(scope: &Scope<'a>, rule: &FrameworkRule) -> Vec<Violation<'a>> {
    let mut per_node = Vec::new();
    let mut spec_wide = Vec::new();
    for (subject, words) in &rule.conditions {
        match subject.as_str() {
            "residency" => per_node.extend(residency(scope, words)),
            "retention" => per_node.extend(dataset_setting(scope, "retention", |d| {
                match d.retention_seconds {
                    Some(_) => Ok(()),
                    None => Err(None),
                }
            })),
            "consent" => per_node.extend(dataset_setting(scope, "consent", |d| match d.consent {
                Some(true) => Ok(()),
                Some(false) => Err(Some("`consent` is off")),
                None => Err(None),
            })),
            "baa_eligible" => per_node.extend(baa_eligible(scope)),
            other => spec_wide.extend(spec_gap(scope.model, other, words)),
        }
    }
    if let (false, Some(end)) = (spec_wide.is_empty(), longest_path_end(scope)) {
        per_node.insert(0, spec_wide_violation(scope.model, end, spec_wide));
    }
    per_node
}

/// One violation for all the spec-wide gaps of a rule: on the first gap's line, with
/// the gaps written elsewhere as further labels (those with no line join the first).
fn spec_wide_violation<'a>(model: &Model, end: &'a Node, gaps: Vec<Gap>) -> Violation<'a> {
    let at = gaps.iter().find_map(|g| g.at);
    let here: Vec<&str> = gaps
        .iter()
        .filter(|g| g.at.is_none() || g.at == at)
        .map(|g| g.detail.as_str())
        .collect();
    let more = gaps
        .iter()
        .filter_map(|g| {
            g.at.filter(|span| Some(*span) != at)
                .map(|s| (s, g.detail.clone()))
        })
        .collect();
    Violation {
        node: end,
        at,
        detail: here.join("; "),
        more,
        residency: false,
        no_security_block: model.security.is_none() && gaps.iter().any(|g| g.in_security),
        gaps: gaps.into_iter().map(|g| g.detail).collect(),
    }
}

/// The reached node with the longest class path, the first such in model order: the
/// path a spec-wide finding names, since its gap exposes every node along it.
fn longest_path_end<'a>(scope: &Scope<'a>) -> Option<&'a Node> {
    *scope
        .longest_end
        .get_or_init(|| find_longest_path_end(scope))
}

fn find_longest_path_end<'a>(scope: &Scope<'a>) -> Option<&'a Node> {
    let mut best: Option<(&'a Node, usize)> = None;
    for node in scope.reached.iter().copied() {
        let length = scope.class_at(node).map_or(0, |class| {
            scope.graph.class_path(node.kind, &node.name, class).len()
        });
        if best.is_none_or(|(_, longest)| length > longest) {
            best = Some((node, length));
        }
    }
    best.map(|(node, _)| node)
}

/// The attribute that places a node: a dataset's `location`, a workload's `region`, an
/// on-prem site's `jurisdiction` (or the `geography` it is taken from).
fn placing_attribute(model: &Model, node: &Node) -> Option<Span> {
    let attr = |name: &str| model.attr_span(node.kind.keyword(), &node.name, name);
    match node.kind {
        NodeKind::Dataset => attr("location"),
        NodeKind::Onprem => attr("jurisdiction").or_else(|| attr("geography")),
        _ => attr("region"),
    }
}

/// The jurisdiction and place of a node whose location is known before placement.
pub(super) fn jurisdiction_of(model: &Model, node: &Node) -> Option<(String, String)> {
    let region_jurisdiction = |cloud: &str, region: &str| {
        let info = model.knowledge.clouds.iter().find(|c| c.name == cloud)?;
        let r = info.regions.iter().find(|r| r.name == region)?;
        Some((r.jurisdiction.clone(), format!("{cloud}.{region}")))
    };
    match node.kind {
        NodeKind::Dataset => {
            let d = model.dataset(&node.name)?;
            // A produced dataset has no location yet: the plan places it.
            match d.location.as_ref()? {
                Location::Region { cloud, region } => region_jurisdiction(cloud, region),
                Location::Onprem { site } => onprem_jurisdiction(model, site),
            }
        }
        NodeKind::Train | NodeKind::Service | NodeKind::Function | NodeKind::Batch => {
            let (cloud, region) = pin_of(model, node)?.region?;
            region_jurisdiction(cloud, region)
        }
        NodeKind::Onprem => onprem_jurisdiction(model, &node.name),
    }
}

/// Where a workload node is pinned (`None` for datasets and sites).
fn pin_of<'m>(model: &'m Model, node: &Node) -> Option<Pin<'m>> {
    match node.kind {
        NodeKind::Train => model.trains.get(node.item).map(|t| t.pin()),
        NodeKind::Service => model.services.get(node.item).map(|s| s.pin()),
        NodeKind::Function => model.functions.get(node.item).map(|f| f.pin()),
        NodeKind::Batch => model.batches.get(node.item).map(|b| b.pin()),
        NodeKind::Dataset | NodeKind::Onprem => None,
    }
}

fn onprem_jurisdiction(model: &Model, site: &str) -> Option<(String, String)> {
    let s = model.onprem.iter().find(|s| s.name == site)?;
    let jurisdiction = match &s.jurisdiction {
        Some(j) => j.clone(),
        None => model
            .knowledge
            .geographies
            .iter()
            .find(|g| g.name == s.geography)?
            .jurisdiction
            .clone(),
    };
    Some((jurisdiction, format!("onprem.{site}")))
}

/// A framework's residency rule also accepts the jurisdictions the spec declares in
/// `compliance { transfers = [...] }` (transfers under safeguards mlc cannot see).
fn residency<'a>(scope: &Scope<'a>, listed: &[String]) -> Vec<Violation<'a>> {
    let transfers = scope.model.compliance.as_ref().map(|c| &c.transfers[..]);
    let allowed: Vec<String> = listed
        .iter()
        .chain(transfers.unwrap_or_default())
        .cloned()
        .collect();
    scope
        .reached
        .iter()
        .filter_map(|node| {
            let (jurisdiction, place) = jurisdiction_of(scope.model, node)?;
            (!allowed.contains(&jurisdiction)).then(|| Violation {
                residency: true,
                ..Violation::on_node(
                    node,
                    placing_attribute(scope.model, node),
                    format!(
                        "placed in `{jurisdiction}` ({place}); allowed: {}",
                        allowed.join(", ")
                    ),
                )
            })
        })
        .collect()
}

/// A dataset setting a framework requires of the datasets of its classes. `ok` says
/// whether the dataset meets it, or what is wrong with the value written (`None` when
/// it is not written at all, which is reported on the dataset's header).
fn dataset_setting<'a>(
    scope: &Scope<'a>,
    attribute: &str,
    ok: impl Fn(&crate::check::model::Dataset) -> Result<(), Option<&'static str>>,
) -> Vec<Violation<'a>> {
    scope
        .reached
        .iter()
        .filter(|n| n.kind == NodeKind::Dataset)
        .filter_map(|node| {
            let dataset = scope.model.datasets.get(node.item)?;
            // Retention is storage limitation: it binds every copy that holds the class,
            // produced datasets included. Consent is how the data was collected: it is
            // recorded where the class starts, on the dataset classified with it.
            let own_class = scope.classes.contains(&dataset.classification);
            if attribute == "consent" && !own_class {
                return None;
            }
            let violation = match ok(dataset).err()? {
                Some(wrong) => Violation::on_node(
                    node,
                    scope.model.attr_span("dataset", &node.name, attribute),
                    wrong.to_string(),
                ),
                None => Violation::on_node(
                    node,
                    None,
                    format!("`{attribute}` is not set on this dataset"),
                ),
            };
            Some(violation)
        })
        .collect()
}

/// Health data may only touch clouds listed in `clouds.allow`, which must be the clouds
/// with a signed business associate agreement; mlc cannot see the agreement itself.
fn baa_eligible<'a>(scope: &Scope<'a>) -> Vec<Violation<'a>> {
    let Some(policy) = &scope.model.clouds else {
        return scope
            .reached
            .first()
            .map(|node| {
                Violation::on_node(
                    node,
                    None,
                    "no `clouds { allow = [...] }` limits placement to clouds with a signed BAA"
                        .into(),
                )
            })
            .into_iter()
            .collect();
    };
    scope
        .reached
        .iter()
        .filter_map(|node| {
            let cloud = cloud_of(scope.model, node)?;
            (!policy.allow.contains(&cloud)).then(|| {
                let attr =
                    |name: &str| scope.model.attr_span(node.kind.keyword(), &node.name, name);
                let at = match node.kind {
                    NodeKind::Dataset => attr("location"),
                    _ => attr("cloud").or_else(|| attr("region")),
                };
                Violation::on_node(
                    node,
                    at,
                    format!("uses `{cloud}`, which is not in `clouds.allow`"),
                )
            })
        })
        .collect()
}

fn cloud_of(model: &Model, node: &Node) -> Option<String> {
    match node.kind {
        NodeKind::Dataset => match &model
            .datasets
            .iter()
            .find(|d| d.name == node.name)?
            .location
            .as_ref()?
        {
            Location::Region { cloud, .. } => Some(cloud.clone()),
            Location::Onprem { .. } => None,
        },
        NodeKind::Train | NodeKind::Service | NodeKind::Function | NodeKind::Batch => {
            pin_of(model, node)?.implied_cloud().map(str::to_string)
        }
        NodeKind::Onprem => None,
    }
}

/// A spec-wide requirement that is not met: what is wrong and where. A `security`
/// setting is reported on its attribute, or on the block's header when it is missing.
fn spec_gap(model: &Model, subject: &str, words: &[String]) -> Option<Gap> {
    let detail = security_setting(model, subject, words)?;
    let attribute = match subject {
        "change_control" => None,
        "mfa" => Some("access"),
        other => Some(other),
    };
    let at = attribute.and_then(|attr| {
        let security = model.security.as_ref()?;
        Some(
            model
                .attr_span("security", "", attr)
                .unwrap_or(security.span),
        )
    });
    Some(Gap {
        detail,
        at,
        in_security: attribute.is_some(),
    })
}

/// A spec-wide requirement; `Some(detail)` when it is not met.
fn security_setting(model: &Model, subject: &str, words: &[String]) -> Option<String> {
    let security = model.security.as_ref();
    let missing = |attr: &str| Some(format!("`{attr}` is not set in `security`"));
    match subject {
        "encryption_at_rest" => match security.and_then(|s| s.encryption_at_rest.as_ref()) {
            None => missing("encryption_at_rest"),
            Some((cipher, keys)) => {
                let has = |w: &String| {
                    w == cipher
                        || keys.as_deref() == Some(w)
                        || (w == "kms" && keys.as_deref() == Some("customer_managed"))
                };
                let lacking: Vec<&str> = words
                    .iter()
                    .filter(|w| !has(w))
                    .map(String::as_str)
                    .collect();
                (!lacking.is_empty())
                    .then(|| format!("`encryption_at_rest` does not use {}", lacking.join(", ")))
            }
        },
        "encryption_in_transit" => word_setting(
            security.and_then(|s| s.encryption_in_transit.as_deref()),
            "encryption_in_transit",
            words,
        ),
        "network" => word_setting(
            security.and_then(|s| s.network.as_deref()),
            "network",
            words,
        ),
        "access" => word_setting(
            security
                .and_then(|s| s.access.as_ref())
                .map(|a| a.model.as_str()),
            "access",
            words,
        ),
        "mfa" => match security.and_then(|s| s.access.as_ref()) {
            Some(a) if a.mfa_required => None,
            Some(_) => Some("`access` does not require MFA (`mfa = required`)".into()),
            None => missing("access"),
        },
        "audit_logging" => match security.and_then(|s| s.audit_logging) {
            Some(true) => None,
            Some(false) => Some("`audit_logging` is off".into()),
            None => missing("audit_logging"),
        },
        "key_rotation" => duration_setting(
            security.and_then(|s| s.key_rotation_seconds),
            "key_rotation",
            words,
            Bound::AtMost,
        ),
        "log_retention" => duration_setting(
            security.and_then(|s| s.log_retention_seconds),
            "log_retention",
            words,
            Bound::AtLeast,
        ),
        "change_control" => model
            .project
            .is_none()
            .then(|| "no `project { owner = ... }` names who approves changes".to_string()),
        _ => None,
    }
}

fn word_setting(value: Option<&str>, attr: &str, words: &[String]) -> Option<String> {
    match value {
        None => Some(format!("`{attr}` is not set in `security`")),
        Some(v) if words.is_empty() || words.iter().any(|w| w == v) => None,
        Some(v) => Some(format!(
            "`{attr}` is `{v}`, needs `{}`",
            words.join("` or `")
        )),
    }
}

/// Subjects whose condition is a duration written as a string (`"365 d"`).
const DURATION_SUBJECTS: &[&str] = &["key_rotation", "log_retention"];

/// Why a rule cannot be evaluated, if it cannot: a duration condition that does not
/// parse would otherwise make the rule pass whatever the spec says.
pub(super) fn malformed(rule: &FrameworkRule) -> Option<(String, String)> {
    rule.conditions.iter().find_map(|(subject, words)| {
        if !DURATION_SUBJECTS.contains(&subject.as_str()) {
            return None;
        }
        let bad = words.iter().find(|w| parse_duration(w).is_none())?;
        let shown = if bad.is_empty() {
            "a value that is not a string".to_string()
        } else {
            format!("`\"{bad}\"`")
        };
        Some((subject.clone(), shown))
    })
}

#[derive(Clone, Copy)]
enum Bound {
    AtMost,
    AtLeast,
}

/// Condition words hold a duration as a string, e.g. `require key_rotation = "365 d"`;
/// rules whose words do not parse are reported by [`malformed`] and never evaluated, and
/// a condition without words only asks for the setting to be present.
fn duration_setting(
    value: Option<Exact>,
    attr: &str,
    words: &[String],
    bound: Bound,
) -> Option<String> {
    let Some(seconds) = value else {
        return Some(format!("`{attr}` is not set in `security`"));
    };
    let limit = words.iter().find_map(|w| parse_duration(w))?;
    let (ok, relation) = match bound {
        Bound::AtMost => (seconds <= limit.1, "at most"),
        Bound::AtLeast => (seconds >= limit.1, "at least"),
    };
    (!ok).then(|| {
        format!(
            "`{attr}` is {} d, needs {relation} {}",
            days(seconds),
            limit.0
        )
    })
}

fn parse_duration(text: &str) -> Option<(String, Exact)> {
    let (number, unit) = text.trim().split_once(' ')?;
    let q = units::quantity(number, Some(unit.trim()), None).ok()?;
    (q.dim == units::Dim::DURATION).then(|| (text.trim().to_string(), q.value))
}

fn days(seconds: Exact) -> String {
    seconds
        .checked_div(Exact::int(86_400))
        .map_or_else(|| seconds.to_string(), |d| d.to_string())
}

/// `compliance { residency = [...] }`: every known location of every node.
pub(super) fn spec_residency(model: &Model, graph: &ResourceGraph) -> Vec<Diagnostic> {
    let Some(allowed) = model
        .compliance
        .as_ref()
        .map(|c| &c.residency)
        .filter(|r| !r.is_empty())
    else {
        return Vec::new();
    };
    graph
        .nodes()
        .filter(|n| n.kind != NodeKind::Onprem)
        .filter_map(|node| {
            let (jurisdiction, place) = jurisdiction_of(model, node)?;
            (!allowed.contains(&jurisdiction)).then(|| {
                let mut d = Diagnostic::new(
                    codes::RESIDENCY_VIOLATED,
                    placing_attribute(model, node).unwrap_or(node.span),
                    format!(
                        "data residency violated: `compliance.residency` allows only {}",
                        allowed.join(", ")
                    ),
                )
                .label(format!(
                    "{} `{}` is placed in `{jurisdiction}` ({place})",
                    node.kind.keyword(),
                    node.name
                ));
                if let Some(span) = model.attr_span("compliance", "", "residency") {
                    d = d.secondary(span, "the jurisdictions allowed");
                }
                d.help(format!(
                    "move it to a region in {}, or widen `compliance.residency`",
                    allowed.join(", ")
                ))
            })
        })
        .collect()
}
