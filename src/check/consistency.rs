//! Consistency rules between declarations: pins and placement against `clouds.allow`,
//! placement strategies and what they need, serverless platforms against their clouds,
//! frameworks against the spec's data, hybrid `sensitive_data` against dataset
//! locations, and a lower bound of the cost against the budget.
//!
//! The rules read the typed [`Model`]; the checked declarations are used only to put
//! labels on the offending attribute rather than the declaration header.

use super::model::{Capacity, CapacityKind, CloudPolicy, Location, Model, Placement, Strategy};
use super::units::{Exact, SECONDS_PER_MONTH};
use super::{CheckedDecl, Fields, Val};
use crate::catalog::{self, Catalog, Places, Query};
use crate::diag::{codes, Diagnostic};
use crate::source::Span;
use std::collections::{BTreeSet, HashMap};

/// Runs every consistency rule. Rules that only advise (unused frameworks, the budget)
/// stay quiet while there are errors, because a broken declaration skews what they see.
pub fn check(model: &Model, decls: &[CheckedDecl], diagnostics: &mut Vec<Diagnostic>) {
    let spans = Spans::new(decls);
    allowed_pins(model, &spans, diagnostics);
    if let Some(site) = strategy_site(model, &spans, Strategy::Failover) {
        failover(
            model.placement.as_ref(),
            site,
            model.clouds.as_ref(),
            &spans,
            diagnostics,
        );
    }
    if let Some(site) = strategy_site(model, &spans, Strategy::ActiveActive) {
        active_active(site, model.clouds.as_ref(), &spans, diagnostics);
    }
    geographic(model, &spans, diagnostics);
    if let Some(placement) = &model.placement {
        sensitive_data(placement, model, &spans, diagnostics);
    }
    function_platforms(model, &spans, diagnostics);
    if !crate::diag::has_errors(diagnostics) {
        unused_frameworks(model, &spans, diagnostics);
        budget_floor(model, &spans, diagnostics);
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
        if let Some(Location::Region { cloud, .. }) = &d.location {
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

/// Where `strategy` is asked for: the spec's default in `placement`, else the first
/// service or function that sets it for itself. `None` when nothing uses it.
fn strategy_site(model: &Model, spans: &Spans, strategy: Strategy) -> Option<Span> {
    if model
        .placement
        .as_ref()
        .is_some_and(|p| p.strategy == strategy)
    {
        return Some(spans.attr("placement", "", "strategy"));
    }
    let own = |kind: &str, name: &str, s: Strategy| {
        let span = model.attr_span(kind, name, "strategy");
        span.filter(|_| s == strategy)
    };
    let service = model
        .services
        .iter()
        .find_map(|s| own("service", &s.name, s.strategy));
    service.or_else(|| {
        model
            .functions
            .iter()
            .find_map(|f| own("function", &f.name, f.strategy))
    })
}

/// Rule 2: `failover` names a `primary` and a `secondary` in `placement`, both allowed.
/// (The two being the same cloud is E0406, in `domain`.)
fn failover(
    placement: Option<&Placement>,
    site: Span,
    policy: Option<&CloudPolicy>,
    spans: &Spans,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let none = None;
    let (primary, secondary) = placement.map_or((&none, &none), |p| (&p.primary, &p.secondary));
    let missing: Vec<&str> = [("primary", primary), ("secondary", secondary)]
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
                site,
                format!(
                    "`failover` placement needs a `primary` and a `secondary` cloud, but {names} {} not set",
                    if missing.len() == 1 { "is" } else { "are" }
                ),
            )
            .label(format!("needs {names}"))
            .help("name both clouds in `placement`, e.g. `primary = aws` and `secondary = gcp`"),
        );
    }
    let Some(policy) = policy else {
        return;
    };
    for (attr, cloud) in [("primary", primary), ("secondary", secondary)] {
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
    site: Span,
    policy: Option<&CloudPolicy>,
    spans: &Spans,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let Some(policy) = policy else {
        return;
    };
    let distinct: BTreeSet<&str> = policy.allow.iter().map(String::as_str).collect();
    if distinct.len() >= 2 {
        return;
    }
    diagnostics.push(
        Diagnostic::new(
            codes::ACTIVE_ACTIVE_ONE_CLOUD,
            site,
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
fn geographic(model: &Model, spans: &Spans, diagnostics: &mut Vec<Diagnostic>) {
    let geographic = model
        .services
        .iter()
        .filter(|s| s.strategy == Strategy::Geographic && s.near.is_empty());
    for service in geographic {
        let stated = model
            .attr_span("service", &service.name, "strategy")
            .unwrap_or_else(|| spans.attr("placement", "", "strategy"));
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
            .secondary(stated, "geographic placement")
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
/// a dataset's classification or the declared lineage (`holds`) of a served model.
/// Otherwise it checks nothing, which is rarely the intent.
fn unused_frameworks(model: &Model, spans: &Spans, diagnostics: &mut Vec<Diagnostic>) {
    let Some(compliance) = &model.compliance else {
        return;
    };
    let held = model
        .services
        .iter()
        .map(|s| &s.lineage)
        .chain(model.functions.iter().map(|f| &f.lineage))
        .flat_map(|l| l.holds.iter().map(String::as_str));
    let classes: BTreeSet<&str> = model
        .datasets
        .iter()
        .map(|d| d.classification.as_str())
        .chain(held)
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
                "set `classification` on the datasets (or `holds` on the served models) that hold {covers}, or remove `{name}`"
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
        .filter(|h| h.mode == crate::check::model::HybridMode::SensitiveData)
    else {
        return;
    };
    for dataset in &model.datasets {
        let Some(Location::Region { cloud, region }) = &dataset.location else {
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

/// A workload's cheapest possible cost per month under the catalog, with what it is.
struct Floor {
    kind: &'static str,
    name: String,
    usd_per_month: Exact,
    detail: String,
}

/// Rule 8: the budget covers at least the cheapest placement of the most expensive single
/// workload. The bound is the catalog's cheapest instance with the workload's accelerator
/// (at least its count per node), over allowed clouds and its pins, at the cheapest price
/// its capacity allows (spot, reserved), times nodes and hours; a workload that could run
/// on an on-prem site with that accelerator, or that the catalog does not price, has no
/// bound. So the warning never fires on a spec the planner could fit.
fn budget_floor(model: &Model, spans: &Spans, diagnostics: &mut Vec<Diagnostic>) {
    let Some(budget) = &model.budget else {
        return;
    };
    let needs_catalog = model.trains.iter().any(|t| t.accelerator.count > 0)
        || model.services.iter().any(|s| s.accelerator.is_some());
    if !needs_catalog {
        return;
    }
    let Ok(catalog) = Catalog::embedded() else {
        return;
    };
    let places = Places::from_knowledge(&model.knowledge);
    let pricing = Pricing {
        model,
        catalog,
        places: &places,
    };
    let mut floors = Vec::new();
    for t in &model.trains {
        let hours = t
            .max_runtime_seconds
            .checked_div(Exact::int(3600))
            .and_then(|h| h.checked_mul(t.runs_per_month));
        let node = pricing.cheapest(
            &t.accelerator.name,
            t.accelerator.count,
            &t.capacity,
            t.cloud.as_deref(),
            t.region.as_ref(),
        );
        let (Some(hours), Some((price, instance))) = (hours, node) else {
            continue;
        };
        if let Some(usd) = price
            .checked_mul(Exact::int(t.nodes.into()))
            .and_then(|p| p.checked_mul(hours))
        {
            floors.push(Floor {
                kind: "training job",
                name: t.name.clone(),
                usd_per_month: usd,
                detail: format!(
                    "{} node(s) of {instance} at {} USD/h for {} h a month",
                    t.nodes,
                    price.rounded(),
                    hours.rounded()
                ),
            });
        }
    }
    for s in &model.services {
        let Some(accel) = &s.accelerator else {
            continue;
        };
        let replica = pricing.cheapest(
            &accel.name,
            accel.count,
            &s.capacity,
            s.cloud.as_deref(),
            s.region.as_ref(),
        );
        let Some((price, instance)) = replica else {
            continue;
        };
        let hours = Exact::int(SECONDS_PER_MONTH / 3600);
        if let Some(usd) = price
            .checked_mul(Exact::int(s.replicas_min.into()))
            .and_then(|p| p.checked_mul(hours))
        {
            floors.push(Floor {
                kind: "service",
                name: s.name.clone(),
                usd_per_month: usd,
                detail: format!(
                    "{} replica(s) of {instance} at {} USD/h for 730 h a month",
                    s.replicas_min,
                    price.rounded()
                ),
            });
        }
    }
    // The largest floor; ties break by name so the message is deterministic.
    let Some(worst) = floors.into_iter().max_by(|a, b| {
        a.usd_per_month
            .cmp(&b.usd_per_month)
            .then_with(|| b.name.cmp(&a.name))
    }) else {
        return;
    };
    if worst.usd_per_month <= budget.monthly_usd {
        return;
    }
    let workload = if worst.kind == "service" {
        spans
            .fields("service", &worst.name)
            .and_then(|f| f.block("resources"))
            .map_or(Span::default(), |r| r.span_of("accelerator"))
    } else {
        spans.attr("train", &worst.name, "accelerator")
    };
    diagnostics.push(
        Diagnostic::new(
            codes::BUDGET_BELOW_FLOOR,
            spans.attr("budget", "", "monthly"),
            format!(
                "the monthly budget of {} USD is below the cheapest placement of {} `{}` alone, at least {} USD a month",
                budget.monthly_usd.rounded(),
                worst.kind,
                worst.name,
                worst.usd_per_month.rounded()
            ),
        )
        .label(format!("less than {} USD", worst.usd_per_month.rounded()))
        .secondary(workload, worst.detail)
        .help("raise `monthly`, or make the workload cheaper: fewer nodes or replicas, shorter or fewer runs, spot capacity, or another accelerator"),
    );
}

struct Pricing<'a> {
    model: &'a Model,
    catalog: &'static Catalog,
    places: &'a Places,
}

impl Pricing<'_> {
    /// The cheapest hourly price of one instance with at least `count` of `accelerator`,
    /// on an allowed cloud and within the pins, at the cheapest rate `capacity` permits;
    /// `None` when the catalog has no such instance or an on-prem site has the
    /// accelerator (the planner may use it instead).
    fn cheapest(
        &self,
        accelerator: &str,
        count: u64,
        capacity: &Capacity,
        cloud: Option<&str>,
        region: Option<&(String, String)>,
    ) -> Option<(Exact, String)> {
        let wanted = catalog::normalise_accelerator(accelerator);
        if accelerator.is_empty()
            || self
                .model
                .onprem
                .iter()
                .any(|o| catalog::normalise_accelerator(&o.gpus.name) == wanted)
        {
            return None;
        }
        let query = Query {
            accelerator: Some(accelerator.to_string()),
            min_accelerators: Some(u32::try_from(count).ok()?),
            cloud: cloud
                .or(region.map(|(c, _)| c.as_str()))
                .map(str::to_string),
            region: region.map(|(_, r)| r.clone()),
            ..Query::default()
        };
        let offerings = self.catalog.query(&query, self.places).ok()?;
        let allows = |wanted: fn(CapacityKind) -> bool| {
            wanted(capacity.primary) || capacity.fallback.is_some_and(wanted)
        };
        offerings
            .into_iter()
            .filter(|o| allowed(self.model.clouds.as_ref(), o.cloud))
            .filter_map(|o| {
                let mut prices = Vec::new();
                if let Some(on_demand) = o.price_usd_per_hour {
                    prices.push((on_demand, "on demand"));
                    if allows(|k| matches!(k, CapacityKind::Reserved { .. })) {
                        let reserved = self
                            .reserved_discount(o.cloud)
                            .and_then(|x| on_demand.checked_mul(x));
                        prices.extend(reserved.map(|p| (p, "reserved")));
                    }
                }
                if allows(|k| k == CapacityKind::Spot) {
                    prices.extend(o.spot_price_usd_per_hour.map(|p| (p, "spot")));
                }
                let (price, rate) = prices.into_iter().min_by(|a, b| a.0.cmp(&b.0))?;
                let instance = format!("{} {} ({}, {rate})", o.cloud, o.instance_type, o.region);
                Some((price, instance))
            })
            .min_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)))
    }

    /// The deepest reserved discount a cloud offers, as a multiple of on-demand.
    fn reserved_discount(&self, cloud: &str) -> Option<Exact> {
        let info = self
            .model
            .knowledge
            .clouds
            .iter()
            .find(|c| c.name == cloud)?;
        [info.reserved_1y, info.reserved_3y]
            .into_iter()
            .flatten()
            .min()
            .filter(|x| *x < Exact::ONE)
    }
}

#[cfg(test)]
mod tests {
    use crate::catalog::Catalog;

    fn codes(text: &str) -> Vec<&'static str> {
        crate::check::check_text("t.mlc", text)
            .diagnostics
            .iter()
            .map(|d| d.code.0)
            .collect()
    }

    /// A T4 job pinned to aws.us_east_1, 10 h x 2 runs a month = 20 h of one g4dn.xlarge.
    fn t4_job(monthly: u64, capacity: &str) -> String {
        format!(
            "budget {{\n  monthly = {monthly} USD\n}}\n\
             train t {{\n  model = mlp {{ input = 8, hidden = [16], output = 2 }}\n  \
             parallelism = data {{ gpus = 1 }}\n  accelerator = T4 x 1\n  batch_size = 8\n  \
             optimizer = sgd {{ lr = 0.1 }}\n  capacity = {capacity}\n  checkpoint = every 30 min\n  \
             max_runtime = 10 h\n  runs = 2 / month\n  region = aws.us_east_1\n}}\n"
        )
    }

    fn g4dn_us_east_1() -> (f64, f64) {
        let catalog = Catalog::embedded().expect("embedded catalog parses");
        let row = catalog.find("aws", "us-east-1", "g4dn.xlarge")[0];
        (
            row.price_usd_per_hour.expect("on demand").to_f64(),
            row.spot_price_usd_per_hour.expect("spot").to_f64(),
        )
    }

    #[test]
    fn budget_floor_is_the_catalog_price_times_hours() {
        let (on_demand, _) = g4dn_us_east_1();
        let floor = on_demand * 20.0;
        let below = floor.floor() as u64;
        let above = floor.ceil() as u64 + 1;
        assert!(codes(&t4_job(below, "on_demand")).contains(&"W0411"));
        assert!(!codes(&t4_job(above, "on_demand")).contains(&"W0411"));
    }

    #[test]
    fn spot_capacity_lowers_the_floor() {
        let (on_demand, spot) = g4dn_us_east_1();
        assert!(spot < on_demand);
        // Between the spot and the on-demand cost: only an on-demand job is out of budget.
        let budget = ((spot * 20.0).ceil() as u64 + (on_demand * 20.0).floor() as u64) / 2;
        assert!((spot * 20.0) < budget as f64 && (budget as f64) < on_demand * 20.0);
        assert!(!codes(&t4_job(budget, "spot fallback on_demand")).contains(&"W0411"));
        assert!(codes(&t4_job(budget, "on_demand")).contains(&"W0411"));
    }

    #[test]
    fn workloads_an_onprem_site_could_run_have_no_floor() {
        let spec = format!(
            "{}onprem dc {{\n  region = us_east\n  gpus = T4 x 4\n}}\n",
            t4_job(1, "on_demand")
        );
        assert!(!codes(&spec).contains(&"W0411"));
    }

    #[test]
    fn active_active_without_a_cloud_list_is_fine() {
        let spec = "placement {\n  strategy = active_active\n}\n";
        assert!(codes(spec).is_empty());
        let two = "clouds {\n  allow = [aws, gcp]\n}\nplacement {\n  strategy = active_active\n}\n";
        assert!(codes(two).is_empty());
    }
}
