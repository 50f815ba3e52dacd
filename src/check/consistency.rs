//! Consistency rules between declarations: pins and placement against `clouds.allow`,
//! placement strategies and what they need, serverless platforms against their clouds,
//! frameworks against the spec's data, hybrid `sensitive_data` against dataset
//! locations.
//!
//! The rules read the typed [`Model`]; the checked declarations are used only to put
//! labels on the offending attribute rather than the declaration header.

use super::model::{CloudPolicy, Location, Model, Placement};
use super::{CheckedDecl, Fields, Val};
use crate::diag::{codes, Diagnostic};
use crate::source::Span;
use std::collections::{BTreeSet, HashMap};

/// Runs every consistency rule. Rules that only advise (unused frameworks)
/// stay quiet while there are errors, because a broken declaration skews what they see.
pub fn check(model: &Model, decls: &[CheckedDecl], diagnostics: &mut Vec<Diagnostic>) {
    let spans = Spans::new(decls);
    allowed_pins(model, &spans, diagnostics);
    if let Some(placement) = &model.placement {
        failover(placement, model.clouds.as_ref(), &spans, diagnostics);
        active_active(placement, model.clouds.as_ref(), &spans, diagnostics);
        geographic(placement, model, &spans, diagnostics);
        sensitive_data(placement, model, &spans, diagnostics);
    }
    function_platforms(model, &spans, diagnostics);
    if !crate::diag::has_errors(diagnostics) {
        unused_frameworks(model, &spans, diagnostics);
    }
}

/// The checked fields of the spec's own declarations, by kind and name (singletons under
/// the name ""), so that a rule can label one attribute.
struct Spans<'d> {
    fields: HashMap<(&'static str, &'d str), &'d Fields>,
}

impl<'d> Spans<'d> {
    fn new(decls: &'d [CheckedDecl]) -> Spans<'d> {
        let fields = decls
            .iter()
            .filter(|d| !d.in_stdlib)
            .map(|d| ((d.kind, d.name.as_deref().unwrap_or("")), &d.fields))
            .collect();
        Spans { fields }
    }

    fn fields(&self, kind: &'static str, name: &str) -> Option<&'d Fields> {
        self.fields.get(&(kind, name)).copied()
    }

    /// The span of `attr` in the declaration, or of its body when the attribute is absent.
    fn attr(&self, kind: &'static str, name: &str, attr: &str) -> Span {
        self.fields(kind, name)
            .map(|f| f.span_of(attr))
            .unwrap_or_default()
    }

    /// The span of one entry of a list attribute, such as `hipaa` in `frameworks = [...]`.
    fn entry(&self, kind: &'static str, attr: &str, entry: &str) -> Span {
        let Some(f) = self.fields(kind, "") else {
            return Span::default();
        };
        match f.get(attr) {
            Some(Val::List(items)) => items
                .iter()
                .find(|(v, _)| matches!(v, Val::Ref(_, n) | Val::Word(n) if n == entry))
                .map_or(f.span_of(attr), |(_, span)| *span),
            _ => f.span_of(attr),
        }
    }
}

fn allowed(policy: Option<&CloudPolicy>, cloud: &str) -> bool {
    policy.is_none_or(|p| p.allow.iter().any(|c| c == cloud))
}

fn allow_list(policy: &CloudPolicy) -> String {
    policy
        .allow
        .iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn not_allowed(
    spans: &Spans,
    policy: &CloudPolicy,
    span: Span,
    cloud: &str,
    what: &str,
    help: String,
) -> Diagnostic {
    Diagnostic::new(
        codes::CLOUD_NOT_ALLOWED,
        span,
        format!("{what} uses cloud `{cloud}`, which `clouds {{ allow = [...] }}` does not allow"),
    )
    .label(format!("`{cloud}` is not allowed"))
    .secondary(
        spans.attr("clouds", "", "allow"),
        format!("allows only {}", allow_list(policy)),
    )
    .help(help)
}

/// Rule 1: every pinned cloud or region, and every dataset in a cloud region, is on an
/// allowed cloud.
fn allowed_pins(model: &Model, spans: &Spans, diagnostics: &mut Vec<Diagnostic>) {
    let Some(policy) = &model.clouds else {
        return;
    };
    let help = |cloud: &str| {
        format!("add `{cloud}` to `allow`, or pin a region of an allowed cloud instead")
    };
    let mut pinned = |kind: &'static str,
                      name: &str,
                      cloud: Option<&String>,
                      region: Option<&(String, String)>| {
        let what = format!("{kind} `{name}`");
        if let Some(c) = cloud.filter(|c| !allowed(Some(policy), c)) {
            let span = spans.attr(kind, name, "cloud");
            diagnostics.push(not_allowed(spans, policy, span, c, &what, help(c)));
        }
        // A region of the pinned cloud was reported with the cloud; one of another cloud
        // is E0406 already, but is still outside the allow-list.
        if let Some((c, _)) = region.filter(|(c, _)| !allowed(Some(policy), c)) {
            if cloud != Some(c) {
                let span = spans.attr(kind, name, "region");
                diagnostics.push(not_allowed(spans, policy, span, c, &what, help(c)));
            }
        }
    };
    for t in &model.trains {
        pinned("train", &t.name, t.cloud.as_ref(), t.region.as_ref());
    }
    for s in &model.services {
        pinned("service", &s.name, s.cloud.as_ref(), s.region.as_ref());
    }
    for f in &model.functions {
        pinned("function", &f.name, None, f.region.as_ref());
    }
    for d in &model.datasets {
        if let Location::Region { cloud, .. } = &d.location {
            if !allowed(Some(policy), cloud) {
                let span = spans.attr("dataset", &d.name, "location");
                let what = format!("dataset `{}`", d.name);
                let help = format!(
                    "add `{cloud}` to `allow`, or move the data to a region of an allowed cloud"
                );
                diagnostics.push(not_allowed(spans, policy, span, cloud, &what, help));
            }
        }
    }
}

/// Rule 2: `failover` names a `primary` and a `secondary`, both allowed. (The two being
/// the same cloud is E0406, in `domain`.)
fn failover(
    placement: &Placement,
    policy: Option<&CloudPolicy>,
    spans: &Spans,
    diagnostics: &mut Vec<Diagnostic>,
) {
    if placement.strategy != "failover" {
        return;
    }
    let missing: Vec<&str> = [
        ("primary", &placement.primary),
        ("secondary", &placement.secondary),
    ]
    .into_iter()
    .filter(|(_, cloud)| cloud.is_none())
    .map(|(attr, _)| attr)
    .collect();
    if !missing.is_empty() {
        let names = missing
            .iter()
            .map(|m| format!("`{m}`"))
            .collect::<Vec<_>>()
            .join(" and ");
        diagnostics.push(
            Diagnostic::new(
                codes::FAILOVER_INCOMPLETE,
                spans.attr("placement", "", "strategy"),
                format!(
                    "`failover` placement needs a `primary` and a `secondary` cloud, but {names} {} not set",
                    if missing.len() == 1 { "is" } else { "are" }
                ),
            )
            .label(format!("needs {names}"))
            .help("name both clouds, e.g. `primary = aws` and `secondary = gcp`"),
        );
    }
    let Some(policy) = policy else {
        return;
    };
    for (attr, cloud) in [
        ("primary", &placement.primary),
        ("secondary", &placement.secondary),
    ] {
        if let Some(c) = cloud.as_deref().filter(|c| !allowed(Some(policy), c)) {
            let span = spans.attr("placement", "", attr);
            let what = format!("the failover `{attr}`");
            let help = format!("add `{c}` to `allow`, or choose an allowed cloud as `{attr}`");
            diagnostics.push(not_allowed(spans, policy, span, c, &what, help));
        }
    }
}

/// Rule 3: `active_active` needs at least two clouds. Without `clouds { allow }` every
/// cloud of the standard library may be used, which is enough.
fn active_active(
    placement: &Placement,
    policy: Option<&CloudPolicy>,
    spans: &Spans,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let Some(policy) = policy else {
        return;
    };
    let distinct: BTreeSet<&str> = policy.allow.iter().map(String::as_str).collect();
    if placement.strategy != "active_active" || distinct.len() >= 2 {
        return;
    }
    diagnostics.push(
        Diagnostic::new(
            codes::ACTIVE_ACTIVE_ONE_CLOUD,
            spans.attr("placement", "", "strategy"),
            format!(
                "`active_active` placement needs at least two clouds, but only {} allowed",
                match distinct.len() {
                    0 => "none is".to_string(),
                    _ => format!(
                        "{} is",
                        distinct
                            .iter()
                            .map(|c| format!("`{c}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                }
            ),
        )
        .label("runs on several clouds at once")
        .secondary(spans.attr("clouds", "", "allow"), "fewer than two clouds")
        .help("allow a second cloud in `clouds { allow = [...] }`, or use `strategy = cost_optimized`"),
    );
}

/// Rule 4: `geographic` placement deploys each service near its users, so every service
/// says where they are.
fn geographic(
    placement: &Placement,
    model: &Model,
    spans: &Spans,
    diagnostics: &mut Vec<Diagnostic>,
) {
    if placement.strategy != "geographic" {
        return;
    }
    for service in model.services.iter().filter(|s| s.near.is_empty()) {
        diagnostics.push(
            Diagnostic::new(
                codes::GEOGRAPHIC_WITHOUT_NEAR,
                service.span,
                format!(
                    "service `{}` has no `near`, but `geographic` placement deploys each service near its users",
                    service.name
                ),
            )
            .label("no `near` geographies")
            .secondary(spans.attr("placement", "", "strategy"), "geographic placement")
            .help("add `near = [...]` with the geographies of its users, e.g. `near = [us_east, eu_west]`"),
        );
    }
}

/// Rule 5: a function's platform runs on its region's cloud, or on some allowed cloud.
/// Which cloud offers which platform comes from the stdlib's `serverless` blocks;
/// `knative` runs on any Kubernetes cluster.
fn function_platforms(model: &Model, spans: &Spans, diagnostics: &mut Vec<Diagnostic>) {
    for function in &model.functions {
        let platform = function.platform.as_str();
        if platform.is_empty() || platform == "knative" {
            continue;
        }
        let offered_by: Vec<&str> = model
            .knowledge
            .clouds
            .iter()
            .filter(|c| c.serverless.iter().any(|s| s.platform == platform))
            .map(|c| c.name.as_str())
            .collect();
        if offered_by.is_empty() {
            continue;
        }
        let platform_span = spans.attr("function", &function.name, "platform");
        let clouds = offered_by
            .iter()
            .map(|c| format!("`{c}`"))
            .collect::<Vec<_>>()
            .join(", ");
        if let Some((cloud, region)) = &function.region {
            if offered_by.contains(&cloud.as_str()) {
                continue;
            }
            let native = platform_of(model, cloud);
            let help = match native {
                Some(p) => format!(
                    "use `platform = {p}` (or `knative`) in `{cloud}`, or a region of {clouds}"
                ),
                None => format!("use `platform = knative`, or a region of {clouds}"),
            };
            diagnostics.push(
                Diagnostic::new(
                    codes::PLATFORM_NOT_ON_CLOUD,
                    platform_span,
                    format!(
                        "`{platform}` does not run on `{cloud}`, where function `{}` is pinned",
                        function.name
                    ),
                )
                .label(format!("runs only on {clouds}"))
                .secondary(
                    spans.attr("function", &function.name, "region"),
                    format!("`{cloud}.{region}`"),
                )
                .help(help),
            );
        } else if let Some(policy) = &model.clouds {
            if offered_by.iter().any(|c| allowed(Some(policy), c)) {
                continue;
            }
            let native: Vec<String> = policy
                .allow
                .iter()
                .filter_map(|c| platform_of(model, c))
                .map(|p| format!("`{p}`"))
                .collect();
            let help = if native.is_empty() {
                format!("use `platform = knative`, or allow {clouds}")
            } else {
                format!(
                    "use {} (or `knative`), or allow {clouds}",
                    native.join(" or ")
                )
            };
            diagnostics.push(
                Diagnostic::new(
                    codes::PLATFORM_NOT_ON_CLOUD,
                    platform_span,
                    format!(
                        "`{platform}` runs only on {clouds}, which `clouds {{ allow = [...] }}` does not allow"
                    ),
                )
                .label(format!("runs only on {clouds}"))
                .secondary(spans.attr("clouds", "", "allow"), format!("allows only {}", allow_list(policy)))
                .help(help),
            );
        }
    }
}

/// The serverless platform a cloud offers natively, if any.
fn platform_of(model: &Model, cloud: &str) -> Option<String> {
    model
        .knowledge
        .clouds
        .iter()
        .find(|c| c.name == cloud)
        .and_then(|c| c.serverless.first())
        .map(|s| s.platform.clone())
}

/// Rule 6: a listed framework applies to some data: one of its `applies_to` classes is
/// a dataset's classification. Otherwise it checks nothing, which is rarely the intent.
fn unused_frameworks(model: &Model, spans: &Spans, diagnostics: &mut Vec<Diagnostic>) {
    let Some(compliance) = &model.compliance else {
        return;
    };
    let classes: BTreeSet<&str> = model
        .datasets
        .iter()
        .map(|d| d.classification.as_str())
        .collect();
    let listed: BTreeSet<&str> = compliance.frameworks.iter().map(String::as_str).collect();
    for name in &listed {
        let Some(framework) = model.knowledge.frameworks.iter().find(|f| f.name == *name) else {
            continue;
        };
        if framework
            .applies_to
            .iter()
            .any(|c| classes.contains(c.as_str()))
        {
            continue;
        }
        let covers = framework
            .applies_to
            .iter()
            .map(|c| format!("`{c}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let has = if classes.is_empty() {
            "the spec declares no datasets".to_string()
        } else {
            let list = classes
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ");
            format!("the spec's datasets are {list}")
        };
        // Frameworks that would apply, and are not listed yet: the likely intent.
        let instead: Vec<String> = model
            .knowledge
            .frameworks
            .iter()
            .filter(|f| !listed.contains(f.name.as_str()) && f.name != "baseline")
            .filter_map(|f| {
                let class = f.applies_to.iter().find(|c| classes.contains(c.as_str()))?;
                Some(format!("`{}` covers `{class}`", f.name))
            })
            .collect();
        let mut help = format!("`{name}` covers {covers} and {has}; ");
        if instead.is_empty() {
            help.push_str(&format!(
                "set `classification` on the datasets that hold {covers}, or remove `{name}`"
            ));
        } else {
            help.push_str(&format!(
                "did you mean another framework? {}; otherwise set `classification` on the datasets that hold {covers}",
                instead.join(", ")
            ));
        }
        diagnostics.push(
            Diagnostic::new(
                codes::FRAMEWORK_APPLIES_TO_NOTHING,
                spans.entry("compliance", "frameworks", name),
                format!("framework `{name}` applies to no data in the spec"),
            )
            .label(format!("applies to {covers} only"))
            .help(help),
        );
    }
}

/// Classes that `sensitive_data` keeps on-prem: everything but `public` and the default
/// `internal`.
fn is_sensitive(classification: &str) -> bool {
    !matches!(classification, "public" | "internal" | "")
}

/// Rule 7: with `hybrid = sensitive_data { base = onprem.x }`, classified datasets live
/// on-prem, not in a cloud region.
fn sensitive_data(
    placement: &Placement,
    model: &Model,
    spans: &Spans,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let Some(hybrid) = placement
        .hybrid
        .as_ref()
        .filter(|h| h.mode == "sensitive_data")
    else {
        return;
    };
    for dataset in &model.datasets {
        let Location::Region { cloud, region } = &dataset.location else {
            continue;
        };
        if !is_sensitive(&dataset.classification) {
            continue;
        }
        diagnostics.push(
            Diagnostic::new(
                codes::SENSITIVE_DATA_IN_CLOUD,
                spans.attr("dataset", &dataset.name, "location"),
                format!(
                    "dataset `{}` holds {} in `{cloud}.{region}`, but `sensitive_data` keeps classified data on-prem",
                    dataset.name, dataset.classification
                ),
            )
            .label("a cloud region")
            .secondary(spans.attr("placement", "", "hybrid"), format!("keeps classified data on `onprem.{}`", hybrid.base))
            .help(format!(
                "store it on the site with `location = onprem.{}`, or use `hybrid = burst_compute {{ ... }}` if the data may live in the cloud",
                hybrid.base
            )),
        );
    }
}

#[cfg(test)]
mod tests {
    fn codes(text: &str) -> Vec<&'static str> {
        crate::check::check_text("t.mlc", text)
            .diagnostics
            .iter()
            .map(|d| d.code.0)
            .collect()
    }

    #[test]
    fn active_active_without_a_cloud_list_is_fine() {
        let spec = "placement {\n  strategy = active_active\n}\n";
        assert!(codes(spec).is_empty());
        let two = "clouds {\n  allow = [aws, gcp]\n}\nplacement {\n  strategy = active_active\n}\n";
        assert!(codes(two).is_empty());
    }
}
