//! What each `require` subject means, evaluated against the model and the nodes that
//! the framework's classes of data reach. Spec-wide subjects (`security` settings) yield at most one
//! violation per rule, at the first node the data reaches; per-node subjects
//! (residency, dataset retention and consent) yield one per offending node.

use crate::check::model::{FrameworkRule, Location, Model};
use crate::check::units::{self, Exact};
use crate::diag::{codes, Diagnostic};
use crate::graph::{Node, NodeKind, ResourceGraph};

pub(super) struct Scope<'a> {
    pub model: &'a Model,
    /// The data classes the framework applies to.
    pub classes: &'a [String],
    /// Nodes the classes reach, in model order (datasets before workloads).
    pub reached: &'a [&'a Node],
}

pub(super) struct Violation<'a> {
    pub node: &'a Node,
    pub detail: String,
    pub residency: bool,
    /// The separate spec-wide gaps joined in `detail` (empty for per-node violations),
    /// so that a baseline gap already reported by a framework is not reported again.
    pub gaps: Vec<String>,
}

pub(super) fn evaluate<'a>(scope: &Scope<'a>, rule: &FrameworkRule) -> Vec<Violation<'a>> {
    let mut per_node = Vec::new();
    let mut spec_wide = Vec::new();
    for (subject, words) in &rule.conditions {
        match subject.as_str() {
            "residency" => per_node.extend(residency(scope, words)),
            "retention" => per_node.extend(dataset_setting(scope, "retention", |d| {
                d.retention_seconds.is_some()
            })),
            "consent" => per_node.extend(dataset_setting(scope, "consent", |d| {
                d.consent == Some(true)
            })),
            "baa_eligible" => per_node.extend(baa_eligible(scope)),
            other => spec_wide.extend(security_setting(scope.model, other, words)),
        }
    }
    if let (false, Some(first)) = (spec_wide.is_empty(), scope.reached.first()) {
        per_node.insert(
            0,
            Violation {
                node: first,
                detail: spec_wide.join("; "),
                residency: false,
                gaps: spec_wide,
            },
        );
    }
    per_node
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
            let d = model.datasets.iter().find(|d| d.name == node.name)?;
            // A produced dataset has no location yet: the plan places it.
            match d.location.as_ref()? {
                Location::Region { cloud, region } => region_jurisdiction(cloud, region),
                Location::Onprem { site } => onprem_jurisdiction(model, site),
            }
        }
        NodeKind::Train => pinned(
            model
                .trains
                .iter()
                .find(|t| t.name == node.name)?
                .region
                .as_ref(),
            region_jurisdiction,
        ),
        NodeKind::Service => pinned(
            model
                .services
                .iter()
                .find(|s| s.name == node.name)?
                .region
                .as_ref(),
            region_jurisdiction,
        ),
        NodeKind::Function => pinned(
            model
                .functions
                .iter()
                .find(|f| f.name == node.name)?
                .region
                .as_ref(),
            region_jurisdiction,
        ),
        NodeKind::Batch => pinned(
            model.batches.get(node.item)?.region.as_ref(),
            region_jurisdiction,
        ),
        NodeKind::Onprem => onprem_jurisdiction(model, &node.name),
    }
}

fn pinned(
    region: Option<&(String, String)>,
    lookup: impl Fn(&str, &str) -> Option<(String, String)>,
) -> Option<(String, String)> {
    region.and_then(|(cloud, region)| lookup(cloud, region))
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
                node,
                detail: format!(
                    "placed in `{jurisdiction}` ({place}); allowed: {}",
                    allowed.join(", ")
                ),
                residency: true,
                gaps: Vec::new(),
            })
        })
        .collect()
}

fn dataset_setting<'a>(
    scope: &Scope<'a>,
    attribute: &str,
    ok: impl Fn(&crate::check::model::Dataset) -> bool,
) -> Vec<Violation<'a>> {
    scope
        .reached
        .iter()
        .filter(|n| n.kind == NodeKind::Dataset)
        .filter(|n| {
            scope
                .model
                .datasets
                .iter()
                .any(|d| d.name == n.name && scope.classes.contains(&d.classification) && !ok(d))
        })
        .map(|node| Violation {
            node,
            detail: format!("`{attribute}` is not set on this dataset"),
            residency: false,
            gaps: Vec::new(),
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
            .map(|node| Violation {
                node,
                detail:
                    "no `clouds { allow = [...] }` limits placement to clouds with a signed BAA"
                        .into(),
                residency: false,
                gaps: Vec::new(),
            })
            .into_iter()
            .collect();
    };
    scope
        .reached
        .iter()
        .filter_map(|node| {
            let cloud = cloud_of(scope.model, node)?;
            (!policy.allow.contains(&cloud)).then(|| Violation {
                node,
                detail: format!("uses `{cloud}`, which is not in `clouds.allow`"),
                residency: false,
                gaps: Vec::new(),
            })
        })
        .collect()
}

fn cloud_of(model: &Model, node: &Node) -> Option<String> {
    let pinned = |cloud: &Option<String>, region: &Option<(String, String)>| {
        cloud
            .clone()
            .or_else(|| region.as_ref().map(|(c, _)| c.clone()))
    };
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
        NodeKind::Train => model
            .trains
            .iter()
            .find(|t| t.name == node.name)
            .and_then(|t| pinned(&t.cloud, &t.region)),
        NodeKind::Service => model
            .services
            .iter()
            .find(|s| s.name == node.name)
            .and_then(|s| pinned(&s.cloud, &s.region)),
        NodeKind::Function => model
            .functions
            .iter()
            .find(|f| f.name == node.name)
            .and_then(|f| pinned(&None, &f.region)),
        NodeKind::Batch => model
            .batches
            .get(node.item)
            .and_then(|b| pinned(&b.cloud, &b.region)),
        NodeKind::Onprem => None,
    }
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
                Diagnostic::new(
                    codes::RESIDENCY_VIOLATED,
                    node.span,
                    format!(
                        "data residency violated: `compliance.residency` allows only {}",
                        allowed.join(", ")
                    ),
                )
                .label(format!(
                    "{} `{}` is placed in `{jurisdiction}` ({place})",
                    node.kind.keyword(),
                    node.name
                ))
                .help(format!(
                    "move it to a region in {}, or widen `compliance.residency`",
                    allowed.join(", ")
                ))
            })
        })
        .collect()
}
