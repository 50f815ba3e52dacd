//! `mlc plan` end to end: every example plans (text, markdown and JSON valid against
//! docs/plan.schema.json, snapshotted), the line items add up to the total, and each
//! strategy, hybrid mode, capacity type, residency path and budget failure does what
//! docs/plan.md says.

use mlc::check::{FsWorld, LoadOptions};
use mlc::compile::{compile, compile_text, Compilation};
use mlc::plan::{self, Plan, PlanError, PlanOptions};
use std::path::Path;

/// 2026-12-01: the catalog's age is part of the output, so the tests fix "today".
const TODAY: i64 = 20_788;

fn plan_of(c: &Compilation, name: &str) -> Result<Plan, PlanError> {
    let errors: Vec<String> = c
        .diagnostics
        .iter()
        .filter(|d| d.severity() == mlc::diag::Severity::Error)
        .map(|d| format!("{}: {}", d.code, d.message))
        .collect();
    assert!(errors.is_empty(), "{name} has errors: {errors:#?}");
    let model = c.model.as_ref().expect("model");
    let graph = c.graph.as_ref().expect("graph");
    let rules = mlc::policy::placement::rules(model, graph);
    let options = PlanOptions {
        today_days: Some(TODAY),
        spec_name: name.to_string(),
        limits: None,
    };
    plan::plan(model, graph, &rules, &options)
}

fn plan_text(text: &str) -> Result<Plan, PlanError> {
    plan_of(&compile_text("spec.mlc", text), "spec.mlc")
}

fn examples() -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir("examples")
        .expect("examples/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "mlc"))
        .collect();
    files.sort();
    files
}

fn validate(json: &serde_json::Value) {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("docs/plan.schema.json").expect("schema"))
            .expect("schema is JSON");
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler
        .add_resource("file:///plan.schema.json", schema)
        .expect("schema loads");
    let index = compiler
        .compile("file:///plan.schema.json", &mut schemas)
        .expect("schema compiles");
    if let Err(e) = schemas.validate(json, index) {
        panic!("plan JSON does not match docs/plan.schema.json: {e:#}");
    }
}

fn assert_adds_up(plan: &Plan) {
    let items: f64 = plan.line_items.iter().map(|i| i.monthly_usd).sum();
    assert!(
        (items - plan.total_monthly_usd).abs() < 1e-6 * plan.total_monthly_usd.max(1.0),
        "line items {items} != total {}",
        plan.total_monthly_usd
    );
    let onprem: f64 = plan
        .line_items
        .iter()
        .filter(|i| i.category == "onprem")
        .map(|i| i.monthly_usd)
        .sum();
    assert!((plan.total_monthly_usd - onprem - plan.cloud_monthly_usd).abs() < 1e-6);
}

#[test]
fn every_example_plans_and_matches_its_snapshots() {
    for path in examples() {
        let name = path.display().to_string();
        let c = compile(&FsWorld, &path, &LoadOptions::default()).expect("readable");
        let outcome = plan_of(&c, &name);
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        let plan = match outcome {
            Ok(plan) => plan,
            Err(e) => panic!("{name} does not plan: {e:?}"),
        };
        assert_adds_up(&plan);
        let json = serde_json::to_value(&plan).expect("serialises");
        validate(&json);
        insta::with_settings!({ snapshot_path => "snapshots/plan", prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!(format!("{stem}.text"), plan::render::to_text(&plan));
            insta::assert_snapshot!(format!("{stem}.markdown"), plan::render::to_markdown(&plan));
            insta::assert_snapshot!(format!("{stem}.json"), serde_json::to_string_pretty(&json).unwrap());
        });
    }
}

#[test]
fn the_same_spec_plans_the_same_twice() {
    let path = Path::new("examples/inference_geo.mlc");
    let once = || {
        let c = compile(&FsWorld, path, &LoadOptions::default()).unwrap();
        serde_json::to_string(&plan_of(&c, "x").unwrap()).unwrap()
    };
    assert_eq!(once(), once());
}

const T4_JOB: &str = r#"
train t {
  model       = mlp { input = 64, hidden = [128], output = 2 }
  parallelism = data { gpus = 1 }
  accelerator = T4 x 1
  batch_size  = 64
  optimizer   = sgd { lr = 0.1 }
  max_runtime = 10 h
  runs        = 2 / month
  CAPACITY
}
"#;

fn job(capacity: &str) -> Plan {
    plan_text(&T4_JOB.replace("CAPACITY", capacity)).expect("plans")
}

#[test]
fn capacity_types_are_priced_as_documented() {
    let on_demand = job("capacity = on_demand");
    let w = &on_demand.workloads[0];
    assert_eq!(w.capacity, "on_demand");
    assert!(
        (w.monthly_usd - w.usd_per_hour * 20.0).abs() < 1e-6,
        "{w:?}"
    );

    let spot = job("capacity = spot\n  checkpoint = every 30 min");
    let s = &spot.workloads[0];
    assert_eq!(s.capacity, "spot");
    assert!(s.hours_per_month > 20.0, "spot hours carry rework: {s:?}");
    assert!(s.monthly_usd < w.monthly_usd);

    // Without checkpoints an interruption loses half the run, not half an interval.
    let spot_bare = job("capacity = spot");
    assert!(spot_bare.workloads[0].hours_per_month > s.hours_per_month);

    // A reservation bills the whole month: a 20-hour job pays 730 h at the discount.
    let reserved = job("capacity = reserved_3y");
    let r = &reserved.workloads[0];
    assert_eq!(r.capacity, "reserved_3y");
    assert!((r.hours_per_month - 730.0).abs() < 1e-9, "{r:?}");
    assert!(r.usd_per_hour < w.usd_per_hour);
    assert!(r.monthly_usd > w.monthly_usd);
    assert!(
        r.notes.iter().any(|n| n.contains("buy the commitment")),
        "{:?}",
        r.notes
    );

    // `spot fallback on_demand` pays 10% of its hours at the on-demand price.
    let mixed = job("capacity = spot fallback on_demand\n  checkpoint = every 30 min");
    let m = &mixed.workloads[0];
    assert_eq!(m.capacity, "spot");
    assert!((m.hours_per_month - s.hours_per_month).abs() < 1e-9);
    let row = mlc::catalog::Catalog::embedded()
        .unwrap()
        .find(&m.cloud, &m.region_code, &m.instance_type)
        .into_iter()
        .find(|r| r.accelerator.as_deref() == Some("T4"))
        .unwrap();
    let (od, sp) = (
        row.price_usd_per_hour.unwrap().to_f64(),
        row.spot_price_usd_per_hour.unwrap().to_f64(),
    );
    // Plus GCP's Cloud NAT fee per node (`node_fee` in stdlib/clouds/gcp.mlc).
    let fee = if m.cloud == "gcp" { 0.0014 } else { 0.0 };
    assert!(
        ((m.usd_per_hour) - (0.9 * sp + 0.1 * od + fee)).abs() < 1e-9,
        "{m:?}"
    );
    // All on demand: the same node-hours at the on-demand price (and the node fee).
    let all_on_demand = format!(
        "it would cost {}/month",
        plan::render::usd((od + fee) * m.nodes * m.hours_per_month)
    );
    assert!(
        m.notes.iter().any(|n| n.contains(&all_on_demand)),
        "{all_on_demand} in {:?}",
        m.notes
    );
}

#[test]
fn a_pin_and_the_allow_list_exclude_cheaper_regions_and_say_so() {
    let pinned = plan_text(&T4_JOB.replace("CAPACITY", "region = aws.eu_west_1")).unwrap();
    let w = &pinned.workloads[0];
    assert_eq!((w.cloud.as_str(), w.region.as_str()), ("aws", "eu_west_1"));
    assert!(w
        .rationale
        .excluded
        .iter()
        .all(|e| e.reason.contains("pinned to `region = aws.eu_west_1`")));
    assert!(!w.rationale.excluded.is_empty());

    let allowed = plan_text(&format!(
        "clouds {{\n  allow = [gcp]\n}}\n{}",
        T4_JOB.replace("CAPACITY", "")
    ))
    .unwrap();
    assert_eq!(allowed.workloads[0].cloud, "gcp");
}

const GDPR_SERVICE: &str = r#"
compliance {
  frameworks = [gdpr]
}
security {
  encryption_at_rest = aes256 via kms
  audit_logging      = on
}
dataset eu_users {
  size           = 2 TB
  location       = gcp.europe_west4
  classification = personal_data
  retention      = 2 year
  consent        = on
}
train recommender {
  data        = dataset.eu_users
  model       = mlp { input = 64, hidden = [256], output = 16 }
  parallelism = data { gpus = 1 }
  accelerator = L4 x 1
  batch_size  = 1024
  optimizer   = adamw { lr = 1e-3 }
}
service recommend_api {
  model    = train.recommender
  replicas = 2
  near     = [us_east]
}
"#;

#[test]
fn residency_follows_the_class_through_the_graph() {
    let plan = plan_text(GDPR_SERVICE).unwrap();
    let api = plan
        .workloads
        .iter()
        .find(|w| w.name == "recommend_api")
        .unwrap();
    // GDPR reaches the service through the model: it stays in an allowed jurisdiction,
    // and the cheaper US regions it could use are excluded with the path.
    assert!(
        ["eu", "uk", "ch", "no", "jp", "ca", "kr", "nz", "il"].contains(&api.jurisdiction.as_str()),
        "{api:?}"
    );
    let reason = api
        .rationale
        .excluded
        .iter()
        .map(|e| e.reason.as_str())
        .find(|r| r.contains("GDPR-44"));
    if let Some(reason) = reason {
        assert!(
            reason.contains("dataset.eu_users -> train.recommender -> service.recommend_api"),
            "{reason}"
        );
    }
}

#[test]
fn residency_with_no_region_left_names_the_workload_and_the_rules() {
    let spec = format!("clouds {{\n  allow = [aws]\n}}\n{}", GDPR_SERVICE).replace(
        "location       = gcp.europe_west4",
        "location       = aws.eu_west_1",
    );
    // A100 x 8 with personal data: AWS offers it, but the compliance residency [us] of
    // this spec and GDPR's [eu, ...] leave no jurisdiction at all.
    let spec = spec.replace(
        "compliance {\n  frameworks = [gdpr]\n}",
        "compliance {\n  frameworks = [gdpr]\n  residency  = [us]\n}",
    );
    let checked = compile_text("spec.mlc", &spec);
    // Check already rejects the dataset stored outside [us]; the plan never runs.
    assert!(checked.has_errors());
}

#[test]
fn active_active_puts_two_copies_on_two_clouds() {
    let plan = plan_text(
        r#"
service api {
  model    = "registry.example/api:1"
  replicas = 2
  strategy = active_active
}
"#,
    )
    .unwrap();
    let copies: Vec<&plan::PlannedWorkload> =
        plan.workloads.iter().filter(|w| w.name == "api").collect();
    assert_eq!(copies.len(), 2);
    assert_ne!(copies[0].cloud, copies[1].cloud);
    assert_eq!(copies[0].copy.as_deref(), Some("active copy 1"));
}

#[test]
fn failover_keeps_everything_on_the_primary_and_prices_a_standby() {
    let plan = plan_text(
        r#"
clouds {
  allow = [aws, gcp, azure]
}
placement {
  strategy  = failover
  primary   = azure
  secondary = gcp
}
service api {
  model    = "registry.example/api:1"
  replicas = 3
}
"#,
    )
    .unwrap();
    let main = plan.workloads.iter().find(|w| w.copy.is_none()).unwrap();
    let standby = plan
        .workloads
        .iter()
        .find(|w| w.copy.as_deref() == Some("warm standby"))
        .unwrap();
    assert_eq!(main.cloud, "azure");
    assert_eq!(standby.cloud, "gcp");
    assert_eq!(standby.nodes, 1.0);
    assert!(standby.monthly_usd > 0.0);
}

#[test]
fn geographic_places_one_copy_per_geography() {
    let plan = plan_text(
        r#"
service api {
  model    = "registry.example/api:1"
  replicas = 1
  near     = [eu_west, ap_northeast]
  strategy = geographic
}
"#,
    )
    .unwrap();
    let geos: Vec<(String, String)> = plan
        .workloads
        .iter()
        .map(|w| (w.copy.clone().unwrap_or_default(), w.jurisdiction.clone()))
        .collect();
    assert_eq!(geos.len(), 2, "{geos:?}");
    assert!(
        geos.contains(&("near eu_west".into(), "eu".into()))
            || geos.iter().any(|(c, j)| c == "near eu_west" && j == "uk"),
        "{geos:?}"
    );
    assert!(
        geos.iter()
            .any(|(c, j)| c == "near ap_northeast" && (j == "jp" || j == "kr")),
        "{geos:?}"
    );
}

const HYBRID: &str = r#"
onprem dc {
  region = us_east
  gpus   = A100 x 8
  cost   = 20000 USD / month
}
dataset scans {
  size           = 10 TB
  location       = onprem.dc
  classification = health_data
}
train a {
  data        = dataset.scans
  model       = mlp { input = 64, hidden = [128], output = 2 }
  parallelism = data { gpus = 8 }
  accelerator = A100 x 8
  batch_size  = 64
  optimizer   = sgd { lr = 0.1 }
  max_runtime = 400 h
}
train b {
  model       = mlp { input = 64, hidden = [128], output = 2 }
  parallelism = data { gpus = 8 }
  accelerator = A100 x 8
  batch_size  = 64
  optimizer   = sgd { lr = 0.1 }
  max_runtime = 400 h
}
placement {
  strategy = cost_optimized
  hybrid   = MODE { base = onprem.dc }
}
"#;

#[test]
fn burst_compute_uses_the_site_first_and_bursts_the_rest() {
    let plan = plan_text(&HYBRID.replace("MODE", "burst_compute")).unwrap();
    // The site has 8 x 730 GPU-hours; each job needs 8 x 400: one fits, one bursts.
    let on_site = plan
        .workloads
        .iter()
        .filter(|w| w.capacity == "onprem")
        .count();
    let jobs: Vec<_> = plan
        .workloads
        .iter()
        .filter(|w| w.kind == "train")
        .collect();
    assert_eq!(jobs.len(), 2);
    assert_eq!(
        on_site,
        2 - jobs.iter().filter(|w| w.cloud != "onprem").count()
    );
    assert_eq!(
        jobs.iter().filter(|w| w.cloud == "onprem").count(),
        1,
        "{jobs:?}"
    );
    // The site's amortised cost is counted in the total but not against cloud budgets.
    assert!(plan.total_monthly_usd - plan.cloud_monthly_usd > 19_999.0);
    assert_adds_up(&plan);
}

#[test]
fn sensitive_data_keeps_raw_readers_on_the_site() {
    let plan = plan_text(&HYBRID.replace("MODE", "sensitive_data")).unwrap();
    let a = plan.workloads.iter().find(|w| w.name == "a").unwrap();
    assert_eq!(a.cloud, "onprem", "job a reads classified data raw: {a:?}");
    let b = plan.workloads.iter().find(|w| w.name == "b").unwrap();
    // The site is full with a; b reads nothing classified and runs in the cloud.
    assert_ne!(b.cloud, "onprem");
}

/// A CPU-only job or service that reads classified data raw stays on the site, on its
/// CPUs; one that reads nothing classified, or any CPU work under `burst_compute`, is
/// not moved there (the plan counts the site's GPU-hours, not its CPUs).
#[test]
fn sensitive_data_runs_cpu_only_raw_readers_on_the_sites_cpus() {
    let spec = HYBRID.replace(
        "  gpus   = A100 x 8\n",
        "  gpus   = A100 x 8\n  cpus   = 256\n  memory = 2 TiB\n",
    ) + r#"
batch stats {
  inputs      = [dataset.scans]
  cpu         = 8
  memory      = 32 GiB
  max_runtime = 2 h
  runs        = 1 / day
}
service lookup {
  model     = "registry.example/lookup:1"
  replicas  = 2..4
  resources { cpu = 2..4, memory = 4 GiB..8 GiB }
}
"#;
    let plan = plan_text(&spec.replace("MODE", "sensitive_data")).unwrap();
    let stats = plan.workloads.iter().find(|w| w.name == "stats").unwrap();
    assert_eq!(
        (
            stats.cloud.as_str(),
            stats.capacity.as_str(),
            stats.monthly_usd
        ),
        ("onprem", "onprem", 0.0),
        "{stats:?}"
    );
    assert_eq!(stats.instance_type, "8 vCPUs");
    // The service reads no dataset: the cloud, at its price.
    let lookup = plan.workloads.iter().find(|w| w.name == "lookup").unwrap();
    assert_ne!(lookup.cloud, "onprem", "{lookup:?}");
    assert_adds_up(&plan);

    let burst = plan_text(&spec.replace("MODE", "burst_compute")).unwrap();
    let stats = burst.workloads.iter().find(|w| w.name == "stats").unwrap();
    assert_ne!(stats.cloud, "onprem", "{stats:?}");

    // A site that does not say how many CPUs it has holds no CPU-only job.
    let site_without_cpus = HYBRID.replace("MODE", "sensitive_data")
        + "batch stats {\n  inputs = [dataset.scans]\n  cpu = 8\n  max_runtime = 2 h\n}\n";
    match plan_text(&site_without_cpus) {
        Err(PlanError::NoPlacement(failures)) => {
            assert_eq!(failures.len(), 1, "{failures:?}");
            assert_eq!(failures[0].name, "stats");
            assert!(
                failures[0].reasons[0].0.contains("stays on `onprem.dc`"),
                "{failures:?}"
            );
        }
        other => panic!("expected no placement for stats, got {other:?}"),
    }
}

#[test]
fn over_budget_names_the_budget_the_cheapest_total_and_the_largest_items() {
    let spec = format!(
        "budget {{\n  monthly = 1 USD\n}}\n{}",
        T4_JOB.replace("CAPACITY", "")
    );
    match plan_text(&spec) {
        Err(PlanError::OverBudget {
            budget_usd,
            cheapest_usd,
            largest,
            ..
        }) => {
            assert_eq!(budget_usd, 1.0);
            assert!(cheapest_usd > 1.0);
            assert!(largest
                .windows(2)
                .all(|w| w[0].monthly_usd >= w[1].monthly_usd));
            // The job is small; what puts it over is the cluster it needs.
            assert_eq!(largest[0].category, "fixed");
        }
        other => panic!("expected over budget, got {other:?}"),
    }
}

#[test]
fn an_off_peak_job_too_long_for_the_window_is_an_error() {
    let spec = T4_JOB
        .replace("CAPACITY", "window = off_peak")
        .replace("runs        = 2 / month", "runs        = 60 / month");
    match plan_text(&spec) {
        Err(PlanError::Window { workload, message }) => {
            assert_eq!(workload, "t");
            assert!(message.contains("382 h a month"), "{message}");
        }
        other => panic!("expected a window error, got {other:?}"),
    }
}

#[test]
fn an_accelerator_no_region_offers_under_the_rules_is_explained() {
    let spec = format!(
        "clouds {{\n  allow = [gcp]\n}}\n{}",
        T4_JOB
            .replace("T4 x 1", "MI300X x 8")
            .replace("gpus = 1", "gpus = 8")
            .replace("CAPACITY", "")
    );
    match plan_text(&spec) {
        Err(PlanError::NoPlacement(failures)) => {
            assert_eq!(failures[0].name, "t");
            assert!(failures[0].needs.contains("MI300X x 8"));
            assert!(
                failures[0]
                    .reasons
                    .iter()
                    .any(|(r, _)| r.contains("`clouds.allow` is [gcp]")),
                "{:?}",
                failures[0].reasons
            );
        }
        other => panic!("expected no placement, got {other:?}"),
    }
}

#[test]
fn pipelines_place_produced_datasets_with_their_producer_and_price_egress() {
    let plan = plan_text(
        r#"
dataset raw {
  size     = 5 TB
  location = aws.us_east_1
}
dataset features {
  size = 500 GB
}
batch featurize {
  inputs      = [dataset.raw]
  output      = dataset.features
  cpu         = 14
  memory      = 32 GiB
  max_runtime = 1 h
  runs        = 1 / day
}
train model {
  data        = dataset.features
  model       = mlp { input = 64, hidden = [128], output = 2 }
  parallelism = data { gpus = 1 }
  accelerator = T4 x 1
  batch_size  = 64
  optimizer   = sgd { lr = 0.1 }
}
"#,
    )
    .unwrap();
    let featurize = plan
        .workloads
        .iter()
        .find(|w| w.name == "featurize")
        .unwrap();
    // 5 TB a day read from us-east-1: anywhere else costs far more in egress.
    assert_eq!(
        (featurize.cloud.as_str(), featurize.region.as_str()),
        ("aws", "us_east_1")
    );
    assert!(plan
        .line_items
        .iter()
        .any(|i| i.category == "storage" && i.name == "batch.featurize"));
    assert!(!plan.workloads.iter().any(|w| w.name == "features"));
    assert_adds_up(&plan);
}

/// docs/plan.md's worked example is the plan the docs say it is.
#[test]
fn the_worked_example_in_docs_plan_md_is_right() {
    let docs = std::fs::read_to_string("docs/plan.md").expect("docs/plan.md");
    let start = docs.find("### A worked example").expect("section");
    let block = &docs[start..];
    let code = block
        .split("```mlc\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("an mlc block");
    let plan = plan_text(code).expect("plans");
    let amount = |name: &str| {
        plan.line_items
            .iter()
            .find(|i| i.name == name)
            .map(|i| plan::render::usd(i.monthly_usd))
            .unwrap_or_default()
    };
    assert_eq!(amount("dataset.tickets"), "$18.40");
    assert_eq!(amount("train.classifier"), "$46.44");
    assert_eq!(amount("service.api"), "$280.32");
    let fixed: f64 = plan
        .line_items
        .iter()
        .filter(|i| i.category == "fixed")
        .map(|i| i.monthly_usd)
        .sum();
    assert_eq!(plan::render::usd(fixed), "$414.06");
    assert_eq!(plan::render::usd(plan.total_monthly_usd), "$759.22");
    for figure in [
        "$18.40", "$46.44", "$96.78", "$280.32", "$414.06", "$759.22", "$473.94",
    ] {
        assert!(block.contains(figure), "docs/plan.md lost {figure}");
    }
    let classifier = plan
        .workloads
        .iter()
        .find(|w| w.name == "classifier")
        .unwrap();
    let runner_up = classifier.rationale.runner_up.as_ref().unwrap();
    assert_eq!(plan::render::usd(runner_up.extra_monthly_usd), "$473.94");
}

#[test]
fn counts_no_cloud_provisions_are_an_error_not_a_plan() {
    // One sample per GPU: the batch must split over the data-parallel ranks (E0406).
    let spec = T4_JOB
        .replace("gpus = 1", "gpus = 80000000")
        .replace("batch_size  = 64", "batch_size  = 80000000")
        .replace("T4 x 1", "T4 x 4")
        .replace("CAPACITY", "");
    match plan_text(&spec) {
        Err(PlanError::TooBig { workload, message }) => {
            assert_eq!(workload, "t");
            assert!(message.contains("20000000 nodes"), "{message}");
        }
        other => panic!("expected TooBig, got {other:?}"),
    }
    let service = "service s {\n  model    = \"x/y:1\"\n  replicas = 1000000000\n}\n";
    assert!(matches!(plan_text(service), Err(PlanError::TooBig { .. })));
}

#[test]
fn a_gpu_service_gets_a_host_with_the_cpus_and_memory_it_asks_for() {
    let small = plan_text(
        "service s {\n  model = \"x/y:1\"\n  replicas = 1\n  resources { accelerator = T4 x 1 }\n  region = azure.eastus\n}\n",
    )
    .unwrap();
    let big = plan_text(
        "service s {\n  model = \"x/y:1\"\n  replicas = 1\n  resources { cpu = 4..7, memory = 16 GiB..32 GiB, accelerator = T4 x 1 }\n  region = azure.eastus\n}\n",
    )
    .unwrap();
    assert_eq!(small.workloads[0].instance_type, "Standard_NC4as_T4_v3");
    assert_eq!(big.workloads[0].instance_type, "Standard_NC8as_T4_v3");
}

#[test]
fn a_service_stays_on_the_continents_of_its_users() {
    let plan =
        plan_text("service s {\n  model = \"x/y:1\"\n  replicas = 2\n  near = [ap_northeast]\n}\n")
            .unwrap();
    let w = &plan.workloads[0];
    assert!(
        ["jp", "kr", "hk", "tw", "sg", "in", "id", "my", "th", "cn"]
            .contains(&w.jurisdiction.as_str()),
        "an Asian user base is served from Asia: {w:?}"
    );
    assert!(
        w.rationale
            .excluded
            .iter()
            .any(|e| e.reason.contains("`near` geographies in asia")),
        "{:?}",
        w.rationale
    );
}

#[test]
fn reading_an_archive_dataset_pays_retrieval() {
    let plan = plan_text(&format!(
        "dataset cold {{\n  size = 10 TB\n  location = aws.us_east_1\n  tier = archive\n}}\n{}",
        T4_JOB.replace("CAPACITY", "data = dataset.cold")
    ))
    .unwrap();
    let retrieval = plan
        .line_items
        .iter()
        .find(|i| i.name == "dataset.cold (retrieval)")
        .expect("a retrieval line item");
    // 10 TB read twice a month at S3 Glacier Flexible Retrieval's 0.01 USD/GB.
    assert!(
        (retrieval.monthly_usd - 200.0).abs() < 1e-6,
        "{retrieval:?}"
    );
    assert_adds_up(&plan);
}

/// The plan prices Azure Functions on the Flex Consumption plan `mlc build` deploys:
/// on-demand calls at their GB-second and execution rates (the free grants credited once
/// for the account), each
/// billed at least 1 s on the smallest instance size that holds the function's memory;
/// always-ready instances at their baseline rate, and the calls they take at theirs.
#[test]
fn azure_functions_are_priced_as_the_flex_consumption_plan_build_deploys() {
    let function = |memory: &str, warm: u64| {
        format!(
            "function f {{\n  platform = azure_functions\n  runtime = python3.12\n  memory = {memory}\n  timeout = 20 s\n  avg_duration = 300 ms\n  invocations = 5M / month\n  min_instances = {warm}\n  region = azure.eastus\n}}\n"
        )
    };
    let price = |plan: &Plan| plan.workloads[0].monthly_usd;
    // Three always-ready 2048 MiB instances (600 MiB rounds up to that size) take all
    // 5M one-second calls: baseline 3 x 2 GB x 2,628,000 s x $0.000004, calls
    // 5M x 1 s x 2 GB x $0.000016, executions 5M x $0.40/M, no free grant.
    let warm = plan_text(&function("600 MiB", 3)).unwrap();
    let w = &warm.workloads[0];
    assert_eq!(w.instance_type, "Azure Functions Flex Consumption (FC1)");
    let expected = 3.0 * 2.0 * 2_628_000.0 * 0.000004 + 5e6 * 2.0 * 0.000016 + 5.0 * 0.40;
    assert!(
        (price(&warm) - expected).abs() < 1e-6,
        "{} vs {expected}",
        price(&warm)
    );
    assert!(
        w.notes.iter().any(|n| n.contains("2048 MiB instances")),
        "{:?}",
        w.notes
    );
    assert!(
        w.notes.iter().any(|n| n.contains("at least 1 s")),
        "{:?}",
        w.notes
    );
    // On demand: 512 MiB instances, 5M s x 0.5 GB at $0.000026 and 5M executions at
    // $0.40/M; the account's free grant (100K GB-s, 250K executions) is one credit.
    let cold = plan_text(&function("300 MiB", 0)).unwrap();
    let expected = 2.5e6 * 0.000026 + 5e6 * 0.40 / 1e6;
    assert!(
        (price(&cold) - expected).abs() < 1e-6,
        "{} vs {expected}",
        price(&cold)
    );
    let credit = cold
        .line_items
        .iter()
        .find(|i| i.name == "free grant: azure_functions")
        .expect("a free-grant credit");
    assert!((credit.monthly_usd + 100e3 * 0.000026 + 250e3 * 0.40 / 1e6).abs() < 1e-6);
    assert_adds_up(&cold);
}

/// A service that scales to zero is priced at the load its `requests` put on the KEDA
/// trigger `mlc build` writes, for the hours requests keep it awake.
#[test]
fn a_scale_to_zero_service_is_priced_at_its_expected_load() {
    let service = |requests: &str| {
        format!(
            "service api {{\n  model = \"x/y:1\"\n  replicas = 0..4\n  {requests}\n  region = aws.us_east_1\n  resources {{ cpu = 1..2, memory = 2 GiB..4 GiB }}\n}}\n"
        )
    };
    let busy = plan_text(&service("requests = 150M / month")).unwrap();
    let w = &busy.workloads[0];
    // 57 requests a second, 29 a replica (twice the mean over 4): 2 replicas all month.
    assert_eq!(w.nodes, 2.0);
    assert!((w.hours_per_month - 730.0).abs() < 1e-6, "{w:?}");
    // `usd_per_hour` is the workload's: both replicas.
    assert!((w.monthly_usd - 730.0 * w.usd_per_hour).abs() < 1e-6);
    assert!(w.monthly_usd > 100.0, "{w:?}");
    assert!(
        w.notes.iter().any(|n| n.contains("what KEDA runs")),
        "{:?}",
        w.notes
    );
    assert_adds_up(&busy);

    // 5K requests a month: one replica, awake while a request came in the last 7 minutes.
    let quiet = plan_text(&service("requests = 5K / month")).unwrap();
    let q = &quiet.workloads[0];
    let awake = 730.0 * (1.0 - (-5_000.0 / 2_628_000.0 * 420.0_f64).exp());
    assert_eq!(q.nodes, 1.0);
    assert!((q.hours_per_month - awake).abs() < 1e-6, "{q:?}");
    // Its node costs what the busy plan's one node (holding both replicas) costs.
    assert!(
        (q.usd_per_hour - w.usd_per_hour).abs() < 1e-9,
        "{q:?} {w:?}"
    );
}

/// Without `requests` a scale-to-zero service is priced idle, and a finding says what an
/// active hour costs on the instance the plan chose: the cheapest one that fits.
#[test]
fn a_scale_to_zero_service_without_requests_is_priced_idle_with_a_finding() {
    let spec = "service api {\n  model = \"x/y:1\"\n  replicas = 0..4\n  region = aws.us_east_1\n  resources { cpu = 1..2, memory = 2 GiB..4 GiB }\n}\n";
    let idle = plan_text(spec).unwrap();
    let w = &idle.workloads[0];
    assert_eq!((w.nodes, w.monthly_usd), (0.0, 0.0));
    let active = plan_text(&spec.replace("0..4", "1..4")).unwrap();
    let replica = &active.workloads[0];
    assert_eq!(w.instance_type, replica.instance_type);
    let finding = idle
        .findings
        .iter()
        .find(|f| f.subject == "service.api")
        .expect("a finding about the idle service");
    assert!(
        finding.message.contains("priced idle")
            && finding
                .message
                .contains(&format!("${:.4} an active hour", replica.usd_per_hour)),
        "{finding:?} vs {replica:?}"
    );
    assert!(active.findings.iter().all(|f| f.subject != "service.api"));
}

/// A platform's free grant is the account's: two Lambda functions that each use most of
/// it get it once between them, as one credit, not once each.
#[test]
fn a_free_grant_is_credited_once_per_platform_not_per_function() {
    let function = |name: &str| {
        format!(
            "function {name} {{\n  model = \"registry.example/m:1\"\n  platform = aws_lambda\n  runtime = python3.12\n  memory = 1 GiB\n  timeout = 10 s\n  avg_duration = 400 ms\n  invocations = 800K / month\n  region = aws.us_east_1\n}}\n"
        )
    };
    let one = plan_text(&function("a")).unwrap();
    let two = plan_text(&format!("{}{}", function("a"), function("b"))).unwrap();
    let credits = |plan: &Plan| -> Vec<f64> {
        plan.line_items
            .iter()
            .filter(|i| i.name == "free grant: aws_lambda")
            .map(|i| i.monthly_usd)
            .collect()
    };
    // 800K calls of 0.4 s at 1 GiB: 320,000 GB-seconds each, under the 400,000 granted.
    let (c1, c2) = (credits(&one), credits(&two));
    assert_eq!((c1.len(), c2.len()), (1, 1), "{c1:?} {c2:?}");
    assert!(
        (c1[0] + 320_000.0 * 0.0000166667 + 800_000.0 * 0.2e-6).abs() < 1e-6,
        "{c1:?}"
    );
    // Together 640,000 GB-seconds and 1.6M calls: the grant covers 400,000 and 1M.
    assert!(
        (c2[0] + 400_000.0 * 0.0000166667 + 1_000_000.0 * 0.2e-6).abs() < 1e-6,
        "{c2:?}"
    );
    let function_usd: f64 = two
        .line_items
        .iter()
        .filter(|i| i.name.starts_with("function."))
        .map(|i| i.monthly_usd)
        .sum();
    assert!((two.total_monthly_usd - function_usd - c2[0] - fixed_usd(&two)).abs() < 0.01);
}

fn fixed_usd(plan: &Plan) -> f64 {
    plan.line_items
        .iter()
        .filter(|i| i.category == "fixed")
        .map(|i| i.monthly_usd)
        .sum()
}

/// The finding that a larger-memory variant of a workload's accelerator is cheaper names
/// only variants of the chip asked for (never another chip, which the harness's code or
/// speed may not suit), in a region the workload may use, and at least one example has
/// one (geo_three_continents: A100-80GB for A100).
#[test]
fn cheaper_accelerator_findings_name_only_variants_of_the_chip_asked_for() {
    let mut found = 0;
    for path in examples() {
        let Ok(plan) = plan_of(
            &compile(&FsWorld, &path, &LoadOptions::default()).unwrap(),
            "x",
        ) else {
            continue;
        };
        for f in plan
            .findings
            .iter()
            .filter(|f| f.message.contains("asked for and costs"))
        {
            let offered = f.message.split(" x ").next().unwrap();
            let asked = f
                .message
                .split("the memory of the ")
                .nth(1)
                .and_then(|rest| rest.split(' ').next())
                .unwrap();
            assert!(
                offered.starts_with(&format!("{asked}-")),
                "{}: {}",
                path.display(),
                f.message
            );
            found += 1;
        }
    }
    assert!(found >= 1);
}

/// Cloud Run functions bill the vCPUs `mlc build` gives them (`available_cpu`: 2 for
/// 4 GiB) for every second a call runs, besides memory and requests; the free grant
/// includes 180,000 vCPU-seconds, credited once.
#[test]
fn cloud_run_functions_pay_their_vcpu_seconds() {
    let spec = "function f {\n  model = \"registry.example/m:1\"\n  platform = gcp_cloud_functions\n  runtime = python3.11\n  memory = 4 GiB\n  timeout = 540 s\n  avg_duration = 40 s\n  invocations = 60K / month\n  region = gcp.us_central1\n}\n";
    let plan = plan_text(spec).unwrap();
    let busy = 60_000.0 * 40.0;
    let expected = busy * 4.0 * 0.0000025 + busy * 2.0 * 0.000024 + 60_000.0 * 0.40 / 1e6;
    let item = plan
        .line_items
        .iter()
        .find(|i| i.name == "function.f")
        .unwrap();
    assert!(
        (item.monthly_usd - expected).abs() < 1e-6,
        "{item:?} vs {expected}"
    );
    let credit = plan
        .line_items
        .iter()
        .find(|i| i.name == "free grant: gcp_cloud_functions")
        .unwrap();
    let grant = 360_000.0 * 0.0000025 + 60_000.0 * 0.40 / 1e6 + 180_000.0 * 0.000024;
    assert!((credit.monthly_usd + grant).abs() < 1e-6, "{credit:?}");
}
