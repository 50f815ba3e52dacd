//! Domain rules that span several attributes or depend on the target platform:
//! replica ranges, percentages, serverless limits, GPU counts that fill whole nodes,
//! transformer shapes, budget alerts and framework rules.

use super::model::{
    opt_exact, CapacityKind, Model, Optimizer, Parallelism, ServerlessPrice, Train,
};
use super::schema::{Ty, REQUIREMENTS, RULE_ATTRS};
use super::units::{Dim, Exact};
use super::value::ValueChecker;
use super::{fields, AlertRule, CheckedDecl, Fields, RequireRule, Symbols, Val};
use crate::diag::{codes, Diagnostic};
use crate::source::Span;
use crate::syntax::ast::{Alert, ConditionTest, Require};
use std::collections::HashMap;

/// `alert at [50%, 80%] notify "..."`: percentages, ascending, and a notify address.
pub fn alert(
    symbols: &Symbols,
    diagnostics: &mut Vec<Diagnostic>,
    alert: &Alert,
) -> Option<AlertRule> {
    let mut checker = ValueChecker {
        symbols,
        diagnostics,
    };
    let at = checker.check(&Ty::List(&Ty::Qty(Dim::Percent)), &alert.at)?;
    let notify = match checker.check(&Ty::Str, &alert.notify)? {
        Val::Str(s) => s,
        _ => return None,
    };
    let thresholds = fields::percent_list(&at);
    if let Val::List(items) = &at {
        for (value, span) in items {
            let pct = value.as_exact().unwrap_or(Exact::ZERO);
            if !pct.is_positive() || pct > Exact::int(1000) {
                out_of_range(
                    diagnostics,
                    *span,
                    format!("alert threshold {pct}% is outside 1%..1000%"),
                    "thresholds are percentages of the monthly budget",
                );
            }
        }
        for pair in items.windows(2) {
            if pair[1].0.as_exact() <= pair[0].0.as_exact() {
                diagnostics.push(
                    Diagnostic::new(
                        codes::ALERTS_NOT_ASCENDING,
                        pair[1].1,
                        "alert thresholds must increase",
                    )
                    .label("not above the previous threshold")
                    .secondary(pair[0].1, "previous threshold")
                    .help("list thresholds from lowest to highest, e.g. `[50%, 80%, 100%]`"),
                );
            }
        }
    }
    Some(AlertRule {
        thresholds,
        notify,
        span: alert.span,
    })
}

/// A framework's `require` rule: known subjects, and an id, title and help.
pub fn require(
    symbols: &Symbols,
    diagnostics: &mut Vec<Diagnostic>,
    require: &Require,
) -> Option<RequireRule> {
    let mut conditions = Vec::new();
    for condition in &require.conditions {
        let subject = &condition.subject.text;
        if !REQUIREMENTS.contains(&subject.as_str()) {
            let help = super::suggest::did_you_mean(subject, REQUIREMENTS.iter().copied())
                .unwrap_or_else(|| format!("known requirements: {}", REQUIREMENTS.join(", ")));
            diagnostics.push(
                Diagnostic::new(
                    codes::UNKNOWN_VALUE,
                    condition.subject.span,
                    format!("unknown requirement `{subject}`"),
                )
                .label("not a requirement")
                .help(help),
            );
            continue;
        }
        let test = match &condition.test {
            Some(ConditionTest::In(v)) | Some(ConditionTest::Eq(v)) => Some(condition_value(v)),
            None => None,
        };
        conditions.push((subject.clone(), test));
    }
    let fields = match &require.body {
        Some(body) => fields::check_body(
            symbols,
            diagnostics,
            RULE_ATTRS,
            &[],
            body,
            &"`require` rule",
            require.span,
        )?,
        None => {
            fields::check_missing_only(diagnostics, RULE_ATTRS, &"`require` rule", require.span)?
        }
    };
    Some(RequireRule {
        conditions,
        fields,
        span: require.span,
    })
}

/// Condition values are words or lists of words (`[us]`, `rbac`, `private`).
fn condition_value(v: &crate::syntax::ast::Value) -> Val {
    use crate::syntax::ast::ValueKind;
    match &v.kind {
        ValueKind::List(items) => {
            Val::List(items.iter().map(|i| (condition_value(i), i.span)).collect())
        }
        ValueKind::String(s) => Val::Str(s.clone()),
        _ => Val::Word(v.path_text().unwrap_or_default()),
    }
}

fn out_of_range(diagnostics: &mut Vec<Diagnostic>, span: Span, message: String, help: &str) {
    diagnostics.push(
        Diagnostic::new(codes::VALUE_OUT_OF_RANGE, span, message)
            .label("out of range")
            .help(help.to_string()),
    );
}

fn not_positive(diagnostics: &mut Vec<Diagnostic>, f: &Fields, name: &str) {
    if let Some(v) = opt_exact(f.get(name)) {
        if !v.is_positive() {
            diagnostics.push(
                Diagnostic::new(
                    codes::NOT_POSITIVE,
                    f.span_of(name),
                    format!("`{name}` must be greater than zero, found {v}"),
                )
                .label("not positive"),
            );
        }
    }
}

/// Rules over the whole model, with spans taken from the checked declarations.
pub fn check_model(model: &Model, decls: &[CheckedDecl], diagnostics: &mut Vec<Diagnostic>) {
    use rayon::prelude::*;
    let trains: HashMap<&str, &Train> = model.trains.iter().map(|t| (t.name.as_str(), t)).collect();
    // Declarations are checked on every core; their findings are kept in order.
    let found: Vec<Vec<Diagnostic>> = decls
        .par_iter()
        .map(|decl| {
            let mut found = Vec::new();
            check_decl(decl, model, &trains, &mut found);
            found
        })
        .collect();
    diagnostics.extend(found.into_iter().flatten());
    // Lineage reads the errors found so far (a broken declaration gets no lineage
    // finding), so it comes after them.
    super::lineage::check(model, decls, diagnostics);
    // "Never used" is noise while there are errors: after a syntax error or a misspelt
    // reference, the declaration that uses a dataset may be the one that is broken.
    if !crate::diag::has_errors(diagnostics) {
        unused_datasets(model, decls, diagnostics);
    }
}

/// The domain rules of one declaration.
fn check_decl(
    decl: &CheckedDecl,
    model: &Model,
    trains: &HashMap<&str, &Train>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let f = &decl.fields;
    match decl.kind {
        "budget" => budget(f, diagnostics),
        "train" => {
            if let Some(typed) = decl.name.as_deref().and_then(|n| trains.get(n)) {
                train(decl, typed, diagnostics);
                memory_fit(decl, typed, model, diagnostics);
                reserved_training(decl, typed, model, diagnostics);
                checkpoint_volume(decl, typed, diagnostics);
            }
        }
        "service" => service(f, diagnostics),
        "function" => function(f, model, diagnostics),
        "dataset" => {
            not_positive(diagnostics, f, "size");
            if let Some(access) = f.block("access") {
                dataset_access(access, diagnostics);
            }
        }
        "placement" => placement(f, diagnostics),
        "batch" => batch(decl, diagnostics),
        "security" => kms_key(f, model, diagnostics),
        _ => {}
    }
    if matches!(decl.kind, "train" | "service" | "function" | "batch") {
        pins(f, model, diagnostics);
    }
    if matches!(decl.kind, "service" | "function") {
        workload_strategy(decl, diagnostics);
    }
}

/// Warns when weights, gradients and optimizer state cannot fit on one accelerator.
fn memory_fit(decl: &CheckedDecl, train: &Train, model: &Model, diagnostics: &mut Vec<Diagnostic>) {
    let Some(device) = model
        .knowledge
        .accelerators
        .iter()
        .find(|a| a.name == train.accelerator.name)
    else {
        return;
    };
    let params = train.model.parameters() as f64;
    let optimizer_bytes = match &train.optimizer {
        Optimizer::Adamw { .. } => 8.0,
        Optimizer::Sgd { momentum, .. } if momentum.is_positive() => 4.0,
        Optimizer::Sgd { .. } => 0.0,
    };
    let half_copy = if train.precision == super::model::Precision::Fp32 {
        0.0
    } else {
        2.0
    };
    let bytes_per_param = 8.0 + optimizer_bytes + half_copy;
    let splits = match train.parallelism {
        Parallelism::Pipeline { stages, .. } => stages,
        Parallelism::Model { shards } => shards,
        Parallelism::Data { .. } => 1,
    }
    .max(1) as f64;
    let needed = params * bytes_per_param / splits;
    let available = device.memory_bytes.to_f64();
    if available <= 0.0 || needed <= available {
        return;
    }
    let gb = |bytes: f64| format!("{:.0} GiB", bytes / f64::from(1u32 << 30));
    let minimum_splits = (params * bytes_per_param / available).ceil();
    diagnostics.push(
        Diagnostic::new(
            codes::MODEL_DOES_NOT_FIT,
            decl.fields.span_of("model"),
            format!(
                "{:.1} B parameters need about {} per GPU for weights, gradients and optimizer state, but `{}` has {}",
                params / 1e9,
                gb(needed),
                device.name,
                gb(available)
            ),
        )
        .label(format!("{bytes_per_param} bytes per parameter"))
        .secondary(decl.fields.span_of("accelerator"), format!("{} per device", gb(available)))
        .help(format!(
            "split the model over at least {minimum_splits} GPUs with `pipeline {{ stages = {minimum_splits}, micro_batches = ... }}` or `model {{ shards = {minimum_splits} }}`, or choose an accelerator with more memory"
        )),
    );
}

fn checkpoint_bytes(train: &Train) -> f64 {
    train.checkpoint_bytes()
}

/// A checkpoint volume needs checkpoints to hold, and room for the ones it keeps.
fn checkpoint_volume(decl: &CheckedDecl, train: &Train, diagnostics: &mut Vec<Diagnostic>) {
    let named = decl
        .fields
        .blocks
        .iter()
        .find(|b| b.kind == "checkpoint_storage");
    let (Some(volume), Some(named)) = (&train.checkpoint_storage, named) else {
        return;
    };
    let block = &named.fields;
    not_positive(diagnostics, block, "size");
    not_positive(diagnostics, block, "keep");
    if train.checkpoint_every_seconds.is_none() {
        diagnostics.push(
            Diagnostic::new(
                codes::INCOMPATIBLE_SETTINGS,
                named.span,
                format!(
                    "training job `{}` has a checkpoint volume but never checkpoints",
                    train.name
                ),
            )
            .label("nothing is written here")
            .help("add `checkpoint = every 30 min`, or remove `checkpoint_storage`"),
        );
        return;
    }
    let needed = checkpoint_bytes(train) * volume.keep as f64;
    let size = volume.size_bytes.to_f64();
    if volume.keep == 0 || size <= 0.0 || needed <= size {
        return;
    }
    let gib = |bytes: f64| format!("{:.1} GiB", bytes / f64::from(1u32 << 30));
    diagnostics.push(
        Diagnostic::new(
            codes::CHECKPOINT_VOLUME_TOO_SMALL,
            block.span_of("size"),
            format!(
                "{} checkpoints of `{}` need about {}, but the volume holds {}",
                volume.keep,
                train.name,
                gib(needed),
                gib(size)
            ),
        )
        .label(format!(
            "{} per checkpoint",
            gib(needed / volume.keep as f64)
        ))
        .help(
            "a checkpoint holds fp32 weights and optimizer state: enlarge `size` or lower `keep`",
        ),
    );
}

/// Reserved capacity is billed for every hour of its term, so a training job only saves
/// money when it runs a larger share of the month than the reserved price factor (0.63x
/// pays off above 63% use). Judged with the most favourable cloud the job may use.
fn reserved_training(
    decl: &CheckedDecl,
    train: &Train,
    model: &Model,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let CapacityKind::Reserved { term_years } = train.capacity.primary else {
        return;
    };
    let pinned = train
        .cloud
        .as_deref()
        .or(train.region.as_ref().map(|(cloud, _)| cloud.as_str()));
    let usable = |name: &str| match (pinned, &model.clouds) {
        (Some(p), _) => p == name,
        (None, Some(policy)) => policy.allow.iter().any(|c| c == name),
        (None, None) => true,
    };
    let Some(best) = model
        .knowledge
        .clouds
        .iter()
        .filter(|c| usable(&c.name))
        .filter_map(|c| train.capacity.primary.price_factor(c))
        .min()
    else {
        return;
    };
    let month = Exact::int(super::units::SECONDS_PER_MONTH);
    let busy = train
        .max_runtime_seconds
        .checked_mul(train.runs_per_month)
        .and_then(|s| s.checked_div(month));
    let Some(share) = busy.filter(|share| *share < best) else {
        return;
    };
    let percent = |x: Exact| format!("{:.0}%", x.to_f64() * 100.0);
    diagnostics.push(
        Diagnostic::new(
            codes::RESERVED_UNDERUSED,
            decl.fields.span_of("capacity"),
            format!(
                "training job `{}` runs {} of the month, but {term_years}-year reserved capacity is billed all month at {best}x the on-demand price",
                train.name,
                percent(share),
            ),
        )
        .label(format!("pays off above {} use", percent(best)))
        .secondary(decl.fields.span_of("max_runtime"), "runtime per run")
        .help("use `capacity = on_demand` or `spot fallback on_demand` for occasional jobs; reserve capacity for steady services"),
    );
}

/// A workload's cloud pin, region pin and cloud-only accelerators must agree.
fn pins(f: &Fields, model: &Model, diagnostics: &mut Vec<Diagnostic>) {
    let cloud = match f.get("cloud") {
        Some(Val::Ref(_, c)) => Some(c.as_str()),
        _ => None,
    };
    let region_cloud = match f.get("region") {
        Some(Val::Ref(c, _)) => Some(c.as_str()),
        _ => None,
    };
    if let (Some(c), Some(rc)) = (cloud, region_cloud) {
        if c != rc {
            diagnostics.push(
                Diagnostic::new(
                    codes::INCOMPATIBLE_SETTINGS,
                    f.span_of("region"),
                    format!("the region is in `{rc}`, but the workload is pinned to cloud `{c}`"),
                )
                .label(format!("a `{rc}` region"))
                .secondary(f.span_of("cloud"), format!("pinned to `{c}`"))
                .help("pin a region of the same cloud, or drop one of the pins"),
            );
        }
    }
    let (accel, accel_span) = match (f.get("accelerator"), f.block("resources")) {
        (Some(a), _) => (Some(a), f.span_of("accelerator")),
        (None, Some(r)) => (r.get("accelerator"), r.span_of("accelerator")),
        _ => (None, f.span),
    };
    let Some(Val::Accel(name, _)) = accel else {
        return;
    };
    let Some(own) = model
        .knowledge
        .accelerators
        .iter()
        .find(|a| &a.name == name)
        .and_then(|a| a.cloud.as_deref())
    else {
        return;
    };
    if let Some(pinned) = cloud.or(region_cloud).filter(|p| *p != own) {
        diagnostics.push(
            Diagnostic::new(
                codes::INCOMPATIBLE_SETTINGS,
                accel_span,
                format!(
                    "`{name}` exists only on `{own}`, but the workload is pinned to `{pinned}`"
                ),
            )
            .label(format!("a `{own}` accelerator"))
            .help(format!(
                "choose an accelerator available on `{pinned}`, or pin the workload to `{own}`"
            )),
        );
    } else if let Some(policy) = &model.clouds {
        if !policy.allow.iter().any(|c| c == own) {
            diagnostics.push(
                Diagnostic::new(codes::INCOMPATIBLE_SETTINGS, accel_span, format!("`{name}` exists only on `{own}`, which `clouds {{ allow = [...] }}` does not allow"))
                    .label(format!("a `{own}` accelerator"))
                    .help(format!("add `{own}` to the allowed clouds, or choose another accelerator")),
            );
        }
    }
}

/// A workload's own `strategy` must be one it can follow: spreading over regions
/// contradicts a region pin, and `geographic` needs `near`, which functions lack.
fn workload_strategy(decl: &CheckedDecl, diagnostics: &mut Vec<Diagnostic>) {
    let f = &decl.fields;
    let Some(Val::Word(strategy)) = f.get("strategy") else {
        return;
    };
    let what = format!(
        "{} `{}`",
        decl.kind,
        decl.name.as_deref().unwrap_or_default()
    );
    match strategy.as_str() {
        "active_active" | "failover" if f.get("region").is_some() => diagnostics.push(
            Diagnostic::new(
                codes::INCOMPATIBLE_SETTINGS,
                f.span_of("strategy"),
                format!("{what} uses `{strategy}`, which needs more than one region, but it is pinned to one"),
            )
            .label("spreads over regions")
            .secondary(f.span_of("region"), "pinned here")
            .help("remove the `region` pin (pin a `cloud` instead), or use `strategy = cost_optimized`"),
        ),
        // A service without `near` is E0413 (consistency); a function cannot have one.
        "geographic" if decl.kind == "function" => diagnostics.push(
            Diagnostic::new(
                codes::INCOMPATIBLE_SETTINGS,
                f.span_of("strategy"),
                format!("{what} uses `geographic` placement, but functions have no `near` geographies"),
            )
            .label("needs `near`")
            .help("use `cost_optimized` or `active_active`, or serve it from a `service` with `near`"),
        ),
        _ => {}
    }
}

/// A named key needs KMS encryption, a recognisable name and an allowed cloud.
fn kms_key(f: &Fields, model: &Model, diagnostics: &mut Vec<Diagnostic>) {
    let Some(Val::Str(id)) = f.get("kms_key") else {
        return;
    };
    let span = f.span_of("kms_key");
    match f.get("encryption_at_rest") {
        Some(Val::Via(_, Some(_))) => {}
        other => {
            let mut d = Diagnostic::new(
                codes::KMS_KEY_WITHOUT_KMS,
                span,
                "a KMS key is named, but encryption at rest does not use KMS",
            )
            .label("key for KMS encryption");
            if other.is_some() {
                d = d.secondary(f.span_of("encryption_at_rest"), "no `via kms`");
            }
            diagnostics
                .push(d.help("write `encryption_at_rest = aes256 via kms`, or remove `kms_key`"));
            return;
        }
    }
    let Some(key) = super::model::KmsKey::parse(id) else {
        diagnostics.push(
            Diagnostic::new(codes::KMS_KEY_MALFORMED, span, format!("`{id}` is not a KMS key name of any cloud"))
                .label("not a key name")
                .help("expected `alias/name` or `arn:aws:kms:region:account:key/id` (AWS), `projects/p/locations/l/keyRings/r/cryptoKeys/k` (GCP) or `https://vault.vault.azure.net/keys/name` (Azure)"),
        );
        return;
    };
    if let Some(policy) = model
        .clouds
        .as_ref()
        .filter(|p| !p.allow.contains(&key.cloud))
    {
        diagnostics.push(
            Diagnostic::new(
                codes::INCOMPATIBLE_SETTINGS,
                span,
                format!(
                    "the key is in `{}` KMS, which `clouds {{ allow = [...] }}` does not allow",
                    key.cloud
                ),
            )
            .label(format!("a `{}` key", key.cloud))
            .help(format!(
                "name a key of an allowed cloud ({}), or allow `{}`",
                policy.allow.join(", "),
                key.cloud
            )),
        );
    }
}

/// Role names become IAM principals: no blanks, no whitespace, and each listed once.
fn dataset_access(access: &Fields, diagnostics: &mut Vec<Diagnostic>) {
    for name in ["read", "write"] {
        let Some(Val::List(items)) = access.get(name) else {
            continue;
        };
        let mut seen = std::collections::BTreeSet::new();
        for (item, span) in items {
            let Val::Str(role) = item else { continue };
            if role.is_empty() || role.chars().any(char::is_whitespace) || role.len() > 256 {
                diagnostics.push(
                    Diagnostic::new(codes::ROLE_NAME_MALFORMED, *span, format!("`{role}` is not a role name"))
                        .label("not a role")
                        .help("write an IAM role name, a role ARN or a service-account email, without spaces, e.g. `\"fraud-training\"`"),
                );
            } else if !seen.insert(role.as_str()) {
                diagnostics.push(
                    Diagnostic::new(
                        codes::DUPLICATE_ENTRY,
                        *span,
                        format!("`{role}` is listed twice"),
                    )
                    .label("repeated entry")
                    .help("remove the repeat"),
                );
            }
        }
    }
}

fn budget(f: &Fields, diagnostics: &mut Vec<Diagnostic>) {
    not_positive(diagnostics, f, "monthly");
    not_positive(diagnostics, f, "daily");
    if let (Some(daily), Some(monthly)) = (opt_exact(f.get("daily")), opt_exact(f.get("monthly"))) {
        if daily > monthly {
            diagnostics.push(
                Diagnostic::new(
                    codes::INCOMPATIBLE_SETTINGS,
                    f.span_of("daily"),
                    format!("the daily budget of {daily} USD is more than the monthly budget of {monthly} USD"),
                )
                .label("above the monthly budget")
                .secondary(f.span_of("monthly"), "monthly budget")
                .help("a day's spend is part of the month's: set `daily` to at most `monthly`, e.g. `monthly` / 30"),
            );
        }
    }
    if let Some(x) = opt_exact(f.get("anomaly_threshold")) {
        if x <= Exact::ONE {
            out_of_range(
                diagnostics,
                f.span_of("anomaly_threshold"),
                format!("anomaly threshold {x}x must be above 1.0x"),
                "the threshold is a multiple of normal spend, e.g. `2.0x`",
            );
        }
    }
}

fn train(decl: &CheckedDecl, typed: &Train, diagnostics: &mut Vec<Diagnostic>) {
    let f = &decl.fields;
    runs_fit_a_month(f, diagnostics);
    for name in [
        "batch_size",
        "epochs",
        "max_steps",
        "grad_accumulation",
        "max_runtime",
        "runs",
        "grad_clip",
    ] {
        not_positive(diagnostics, f, name);
    }
    let model = match f.get("model") {
        Some(Val::Ctor(_, m)) => Some(m),
        _ => None,
    };
    if let Some(m) = model {
        for (name, _) in m.values.iter() {
            if matches!(m.get(name), Some(Val::Int(_))) {
                not_positive(diagnostics, m, name);
            }
        }
        if let Some(Val::List(items)) = m.get("hidden").or(m.get("channels")) {
            for (v, span) in items {
                if !v.as_exact().is_some_and(|e| e.is_positive()) {
                    diagnostics.push(
                        Diagnostic::new(
                            codes::NOT_POSITIVE,
                            *span,
                            "layer widths must be greater than zero",
                        )
                        .label("not positive"),
                    );
                }
            }
        }
        if let (Some(hidden), Some(heads)) = (opt_exact(m.get("hidden")), opt_exact(m.get("heads")))
        {
            let (h, n) = (
                hidden.as_integer().unwrap_or(0),
                heads.as_integer().unwrap_or(0),
            );
            if n > 0 && h % n != 0 {
                diagnostics.push(
                    Diagnostic::new(
                        codes::HEADS_NOT_DIVIDING,
                        m.span_of("hidden"),
                        format!("hidden size {h} is not a multiple of {n} heads"),
                    )
                    .label("not divisible by `heads`")
                    .secondary(m.span_of("heads"), "heads")
                    .help(format!("use a hidden size such as {}", (h / n + 1) * n)),
                );
            }
        }
    }
    if let Some(Val::Ctor(_, p)) = f.get("optimizer") {
        not_positive(diagnostics, p, "lr");
    }
    let Some(Val::Ctor(kind, p)) = f.get("parallelism") else {
        return;
    };
    for (name, _) in p.values.iter() {
        not_positive(diagnostics, p, name);
    }
    let total = typed.parallelism.total_gpus();
    if let Some(Val::Accel(name, per_node)) = f.get("accelerator") {
        if *per_node == 0 {
            diagnostics.push(
                Diagnostic::new(
                    codes::NOT_POSITIVE,
                    f.span_of("accelerator"),
                    "accelerator count must be greater than zero",
                )
                .label("not positive"),
            );
        } else if total > 0 && !total.is_multiple_of(*per_node) {
            diagnostics.push(
                Diagnostic::new(
                    codes::GPUS_NOT_DIVISIBLE,
                    f.span_of("parallelism"),
                    format!("{total} GPUs do not fill whole nodes of {per_node} x {name}"),
                )
                .label(format!("{total} GPUs in total"))
                .secondary(f.span_of("accelerator"), format!("{per_node} per node"))
                .help(format!(
                    "use a multiple of {per_node} GPUs, such as {}",
                    total.div_ceil(*per_node) * per_node
                )),
            );
        }
    }
    // Without a (valid) `model` the architecture is a placeholder; that is reported already.
    let arch = f.get("model").map(|_| &typed.model);
    if let (Some(arch), "pipeline" | "model") = (arch, kind.as_str()) {
        let splits = opt_exact(p.get("stages"))
            .or(opt_exact(p.get("shards")))
            .and_then(|e| e.as_integer())
            .unwrap_or(0);
        let layers = arch.splittable_layers() as i128;
        if splits > layers {
            diagnostics.push(
                Diagnostic::new(
                    codes::INCOMPATIBLE_SETTINGS,
                    f.span_of("parallelism"),
                    format!(
                        "{splits} {kind} stages but the model has only {layers} layers to split"
                    ),
                )
                .label("more stages than layers")
                .secondary(f.span_of("model"), format!("{layers} layers"))
                .help("use at most one stage per layer"),
            );
        }
    }
    if f.get("batch_size").is_some() {
        batch_splits_evenly(f, typed, diagnostics);
    }
    if let Some(Val::Fallback(primary, fallback)) = f.get("capacity") {
        let spot = primary == "spot" || fallback.as_deref() == Some("spot");
        if spot && f.get("checkpoint").is_none() {
            diagnostics.push(
                Diagnostic::new(codes::SPOT_WITHOUT_CHECKPOINT, f.span_of("capacity"), format!("training job `{}` uses spot capacity without checkpoints", decl.name.clone().unwrap_or_default()))
                    .label("spot can be preempted")
                    .help("add `checkpoint = every 30 min` so a preempted run resumes instead of restarting"),
            );
        }
    }
}

/// The global batch must split into whole per-rank chunks (and a pipeline replica's chunk
/// into whole micro-batches): the training harness refuses the config otherwise, which
/// would only show when the job starts on its GPUs.
fn batch_splits_evenly(f: &Fields, typed: &Train, diagnostics: &mut Vec<Diagnostic>) {
    let (batch, accum) = (typed.batch_size, typed.grad_accumulation);
    let (ranks, micro_batches) = match typed.parallelism {
        Parallelism::Data { gpus } => (gpus, 1),
        Parallelism::Pipeline {
            replicas,
            micro_batches,
            ..
        } => (replicas, micro_batches),
        Parallelism::Model { .. } => (1, 1),
    };
    if batch == 0 || accum == 0 || ranks == 0 || micro_batches == 0 {
        return; // reported as not positive
    }
    let split = accum * ranks;
    let (message, label, multiple) = if !batch.is_multiple_of(split) {
        (
            format!("batch size {batch} does not split evenly over {accum} accumulation step(s) x {ranks} data-parallel rank(s)"),
            format!("{accum} x {ranks} = {split} chunks"),
            split,
        )
    } else if !(batch / split).is_multiple_of(micro_batches) {
        (
            format!("batch size {batch} gives each pipeline replica {} samples per accumulation step, which do not split into {micro_batches} micro-batches", batch / split),
            format!("{micro_batches} micro-batches of each replica's {}", batch / split),
            split * micro_batches,
        )
    } else {
        return;
    };
    diagnostics.push(
        Diagnostic::new(
            codes::INCOMPATIBLE_SETTINGS,
            f.span_of("batch_size"),
            message,
        )
        .label("not a whole number of samples per rank")
        .secondary(f.span_of("parallelism"), label)
        .help(format!(
            "use a multiple of {multiple}, such as {}",
            batch.div_ceil(multiple) * multiple
        )),
    );
}

fn service(f: &Fields, diagnostics: &mut Vec<Diagnostic>) {
    if let Some(Val::Range(_, hi)) = f.get("replicas") {
        if !hi.as_exact().is_some_and(|e| e.is_positive()) {
            diagnostics.push(
                Diagnostic::new(
                    codes::NOT_POSITIVE,
                    f.span_of("replicas"),
                    "a service needs at least one replica at its maximum",
                )
                .label("no replicas"),
            );
        }
    }
    not_positive(diagnostics, f, "latency_p99");
    if let Some(a) = f.block("autoscale") {
        for name in ["cpu", "memory"] {
            if let Some(p) = opt_exact(a.get(name)) {
                if !p.is_positive() || p > Exact::int(100) {
                    out_of_range(
                        diagnostics,
                        a.span_of(name),
                        format!("autoscale target {p}% is outside 1%..100%"),
                        "utilisation targets are percentages between 1% and 100%",
                    );
                }
            }
        }
    }
    if let Some(r) = f.block("resources") {
        for name in ["cpu", "memory"] {
            if let Some(Val::Range(lo, _)) = r.get(name) {
                if !lo.as_exact().is_some_and(|e| e.is_positive()) {
                    diagnostics.push(
                        Diagnostic::new(
                            codes::NOT_POSITIVE,
                            r.span_of(name),
                            format!("`{name}` must be greater than zero"),
                        )
                        .label("not positive"),
                    );
                }
            }
        }
    }
}

/// A platform's limits come from the first cloud (by name) whose `serverless` block
/// describes it; a platform no cloud describes (Knative) is not limited.
fn platform_limits<'m>(model: &'m Model, platform: &str) -> Option<&'m ServerlessPrice> {
    model.knowledge.serverless_platform(platform)
}

fn function(f: &Fields, model: &Model, diagnostics: &mut Vec<Diagnostic>) {
    let platform = match f.get("platform") {
        Some(Val::Word(p)) => p.as_str(),
        _ => return,
    };
    not_positive(diagnostics, f, "memory");
    not_positive(diagnostics, f, "timeout");
    not_positive(diagnostics, f, "avg_duration");
    if let Some(limits) = platform_limits(model, platform) {
        let title = &limits.title;
        // The platforms' "MB" are binary megabytes (MiB): Lambda's 10240 MB is 10 GiB.
        let mib = Exact::int(1 << 20);
        let in_mib = |bytes: Exact| bytes.checked_div(mib).unwrap_or(bytes).rounded();
        if let Some(memory) = opt_exact(f.get("memory")) {
            let lo = limits.memory_min_bytes.unwrap_or(Exact::ZERO);
            let too_big = limits.memory_max_bytes.is_some_and(|hi| memory > hi);
            if memory < lo || too_big {
                let hi = limits
                    .memory_max_bytes
                    .map_or("any".to_string(), |hi| format!("{} MiB", in_mib(hi)));
                out_of_range(
                    diagnostics,
                    f.span_of("memory"),
                    format!(
                        "{title} memory must be {} MiB..{hi}, found {} MiB",
                        in_mib(lo),
                        in_mib(memory)
                    ),
                    "choose a memory size within the platform's limits (the platform's \"MB\" are MiB)",
                );
            }
        }
        if let (Some(timeout), Some(max)) =
            (opt_exact(f.get("timeout")), limits.timeout_max_seconds)
        {
            if timeout > max {
                out_of_range(
                    diagnostics,
                    f.span_of("timeout"),
                    format!("{title} timeout must be at most {max} s, found {timeout} s"),
                    "long jobs belong in a `train` or `service`, not a function",
                );
            }
        }
        if let (Some(Val::Accel(name, _)), false) = (f.get("accelerator"), limits.accelerators) {
            diagnostics.push(
                Diagnostic::new(
                    codes::INCOMPATIBLE_SETTINGS,
                    f.span_of("accelerator"),
                    format!("{title} has no GPUs, so `{name}` cannot be attached"),
                )
                .label("no accelerators on this platform")
                .help("use `platform = knative` on a GPU cluster, or a `service`"),
            );
        }
    }
    warm_instances(f, platform, platform_limits(model, platform), diagnostics);
    batching_and_cache(f, diagnostics);
}

/// `min_instances` works on every platform that keeps instances warm;
/// `provisioned_concurrency` is Lambda's name for it and only valid there.
fn warm_instances(
    f: &Fields,
    platform: &str,
    limits: Option<&ServerlessPrice>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let alias = opt_exact(f.get("provisioned_concurrency"));
    if alias.is_some() && f.get("min_instances").is_some() {
        diagnostics.push(
            Diagnostic::new(
                codes::INCOMPATIBLE_SETTINGS,
                f.span_of("provisioned_concurrency"),
                "`provisioned_concurrency` and `min_instances` are both set",
            )
            .label("AWS Lambda's name for `min_instances`")
            .secondary(f.span_of("min_instances"), "also set here")
            .help("keep only `min_instances`"),
        );
        return;
    }
    if platform != "aws_lambda" && alias.is_some_and(|c| c.is_positive()) {
        diagnostics.push(
            Diagnostic::new(codes::INCOMPATIBLE_SETTINGS, f.span_of("provisioned_concurrency"), format!("`provisioned_concurrency` is an AWS Lambda setting, but the platform is `{platform}`"))
                .label("only for aws_lambda")
                .help("write `min_instances = ...`, which keeps instances warm on every platform that can"),
        );
        return;
    }
    let name = if alias.is_some() {
        "provisioned_concurrency"
    } else {
        "min_instances"
    };
    let wanted = opt_exact(f.get(name)).is_some_and(|n| n.is_positive());
    if let Some(limits) = limits.filter(|l| wanted && !l.min_instances) {
        diagnostics.push(
            Diagnostic::new(
                codes::INCOMPATIBLE_SETTINGS,
                f.span_of(name),
                format!(
                    "{} cannot keep instances warm, so `{name}` cannot be set",
                    limits.title
                ),
            )
            .label("no minimum instances on this platform")
            .help(
                "remove it, or choose a platform whose `serverless` block has `min_instances = on`",
            ),
        );
    }
}

/// A batch must fill before the call times out, and the result cache lives in the
/// instance's memory.
fn batching_and_cache(f: &Fields, diagnostics: &mut Vec<Diagnostic>) {
    if let Some(b) = f.block("batching") {
        not_positive(diagnostics, b, "size");
        not_positive(diagnostics, b, "max_wait");
        if let (Some(wait), Some(timeout)) =
            (opt_exact(b.get("max_wait")), opt_exact(f.get("timeout")))
        {
            if wait >= timeout {
                diagnostics.push(
                    Diagnostic::new(
                        codes::INCOMPATIBLE_SETTINGS,
                        b.span_of("max_wait"),
                        format!("a request may wait {wait} s for its batch, but the function times out after {timeout} s"),
                    )
                    .label("not below `timeout`")
                    .secondary(f.span_of("timeout"), "timeout")
                    .help("batching waits are milliseconds, e.g. `max_wait = 50 ms`"),
                );
            }
        }
    }
    if let Some(c) = f.block("cache") {
        not_positive(diagnostics, c, "ttl");
        not_positive(diagnostics, c, "size");
        if let (Some(size), Some(memory)) = (opt_exact(c.get("size")), opt_exact(f.get("memory"))) {
            if size >= memory {
                diagnostics.push(
                    Diagnostic::new(
                        codes::INCOMPATIBLE_SETTINGS,
                        c.span_of("size"),
                        "the result cache does not fit in the function's memory",
                    )
                    .label("not below `memory`")
                    .secondary(f.span_of("memory"), "memory per instance")
                    .help("the cache lives in each instance's memory: make it smaller than `memory`, leaving room for the model"),
                );
            }
        }
    }
}

fn placement(f: &Fields, diagnostics: &mut Vec<Diagnostic>) {
    if let (Some(Val::Ref(_, a)), Some(Val::Ref(_, b))) = (f.get("primary"), f.get("secondary")) {
        if a == b {
            diagnostics.push(
                Diagnostic::new(
                    codes::INCOMPATIBLE_SETTINGS,
                    f.span_of("secondary"),
                    format!("failover secondary is the same cloud as the primary (`{a}`)"),
                )
                .label("same as primary")
                .secondary(f.span_of("primary"), "primary")
                .help("a failover secondary must be another cloud"),
            );
        }
    }
}

/// A job's runs must fit in a month one after another: `max_runtime` x `runs` over
/// 730 h means runs overlap, which a single job (one set of nodes) cannot do.
fn runs_fit_a_month(f: &Fields, diagnostics: &mut Vec<Diagnostic>) {
    let (Some(runtime), Some(Val::Qty(runs))) = (opt_exact(f.get("max_runtime")), f.get("runs"))
    else {
        return;
    };
    let month = crate::check::units::SECONDS_PER_MONTH as f64;
    let busy = runtime.to_f64() * runs.value.to_f64() * month;
    if busy <= month * (1.0 + 1e-9) {
        return;
    }
    diagnostics.push(
        Diagnostic::new(
            codes::RUNS_EXCEED_MONTH,
            f.span_of("runs"),
            format!(
                "{:.0} h of runs a month do not fit in a month of 730 h",
                busy / 3600.0
            ),
        )
        .label("runs x max_runtime")
        .secondary(f.span_of("max_runtime"), "each run")
        .help("run less often or shorten `max_runtime`; for more throughput, add nodes or GPUs to one run"),
    );
}

/// A batch job computes on accelerators or on CPU cores; one of them must be given.
fn batch(decl: &CheckedDecl, diagnostics: &mut Vec<Diagnostic>) {
    let f = &decl.fields;
    runs_fit_a_month(f, diagnostics);
    not_positive(diagnostics, f, "nodes");
    not_positive(diagnostics, f, "max_runtime");
    if f.get("accelerator").is_none() && f.get("cpu").is_none() {
        diagnostics.push(
            Diagnostic::new(
                codes::MISSING_ATTRIBUTE,
                decl.header,
                "a batch job needs `accelerator` or `cpu`",
            )
            .label("no compute given")
            .help("add `accelerator = T4 x 1` for GPU work, or `cpu = 8` and `memory = 32 GiB`"),
        );
    }
    not_positive(diagnostics, f, "cpu");
}

fn unused_datasets(model: &Model, decls: &[CheckedDecl], diagnostics: &mut Vec<Diagnostic>) {
    let read_by_batches = model.batches.iter().flat_map(|b| {
        b.inputs.iter().filter_map(|i| match i {
            super::model::Input::Dataset(d) => Some(d.as_str()),
            super::model::Input::Train(_) => None,
        })
    });
    // A produced dataset nobody reads is a pipeline's result, not waste.
    let written = model.batches.iter().filter_map(|b| b.output.as_deref());
    let used: std::collections::HashSet<&str> = model
        .trains
        .iter()
        .flat_map(|t| t.data.iter().map(String::as_str))
        .chain(read_by_batches)
        .chain(written)
        .collect();
    for decl in decls.iter().filter(|d| d.kind == "dataset" && !d.in_stdlib) {
        let name = decl.name.as_deref().unwrap_or_default();
        if !used.contains(name) {
            diagnostics.push(
                Diagnostic::new(
                    codes::UNUSED_DATASET,
                    decl.header,
                    format!("dataset `{name}` is never used"),
                )
                .label("no job reads it")
                .help(format!(
                    "reference it with `data = dataset.{name}`, or remove it"
                )),
            );
        }
    }
}
