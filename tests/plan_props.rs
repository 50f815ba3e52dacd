//! The plan is never worse than any feasible alternative: on small random specs (batch
//! pipelines over datasets in several regions, pins, allow-lists, residency), brute force
//! over every placement the plan's own problem allows finds nothing cheaper than the plan,
//! and the plan's line items add up to its total.

use mlc::compile::compile_text;
use mlc::optimize::{evaluate, Problem};
use mlc::plan::{self, PlanOptions};
use proptest::prelude::*;

const REGIONS: &[&str] = &[
    "aws.us_east_1",
    "aws.eu_west_1",
    "aws.ap_northeast_1",
    "gcp.us_central1",
    "gcp.europe_west4",
    "azure.westeurope",
];

#[derive(Debug, Clone)]
struct Job {
    inputs: Vec<usize>,
    gpu: bool,
    cloud: Option<&'static str>,
    runs: u32,
}

fn spec(datasets: &[(usize, u32)], jobs: &[Job], residency: Option<&str>) -> String {
    let mut text = String::new();
    if let Some(r) = residency {
        text.push_str(&format!(
            "compliance {{\n  frameworks = [baseline]\n  residency  = [{r}]\n}}\n"
        ));
    }
    for (i, (region, tb)) in datasets.iter().enumerate() {
        text.push_str(&format!(
            "dataset d{i} {{\n  size     = {tb} TB\n  location = {}\n}}\n",
            REGIONS[*region]
        ));
    }
    for (i, job) in jobs.iter().enumerate() {
        let inputs: Vec<String> = job.inputs.iter().map(|d| format!("dataset.d{d}")).collect();
        let compute = if job.gpu {
            "accelerator = T4 x 1"
        } else {
            "cpu = 8"
        };
        let pin = job
            .cloud
            .map(|c| format!("  cloud = {c}\n"))
            .unwrap_or_default();
        text.push_str(&format!(
            "batch b{i} {{\n  inputs = [{}]\n  {compute}\n  max_runtime = 2 h\n  runs = {} / month\n{pin}}}\n",
            inputs.join(", "),
            job.runs
        ));
    }
    text
}

fn brute_force(problem: &Problem) -> Option<f64> {
    let sizes: Vec<usize> = problem.workloads.iter().map(|w| w.options.len()).collect();
    let count: usize = sizes.iter().product();
    assert!(
        count <= 2_000_000,
        "instance too large for brute force: {sizes:?}"
    );
    let mut choice = vec![0; sizes.len()];
    let mut best: Option<f64> = None;
    loop {
        if let Some(total) = evaluate(problem, &choice) {
            best = Some(best.map_or(total, |b: f64| b.min(total)));
        }
        let mut i = 0;
        loop {
            if i == choice.len() {
                return best;
            }
            choice[i] += 1;
            if choice[i] < sizes[i] {
                break;
            }
            choice[i] = 0;
            i += 1;
        }
    }
}

fn job() -> impl Strategy<Value = Job> {
    (
        proptest::collection::vec(0usize..3, 1..3),
        any::<bool>(),
        prop_oneof![Just(Some("aws")), Just(Some("gcp")), Just(Some("azure"))],
        1u32..40,
    )
        .prop_map(|(mut inputs, gpu, cloud, runs)| {
            inputs.sort_unstable();
            inputs.dedup();
            Job {
                inputs,
                gpu,
                cloud,
                runs,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn no_feasible_placement_is_cheaper_than_the_plan(
        datasets in proptest::collection::vec((0usize..REGIONS.len(), 1u32..50), 3),
        jobs in proptest::collection::vec(job(), 1..4),
        residency in prop_oneof![Just(None), Just(Some("eu")), Just(Some("us"))],
    ) {
        let text = spec(&datasets, &jobs, residency);
        let c = compile_text("prop.mlc", &text);
        // Residency can make the spec itself wrong (a dataset stored outside it): then
        // there is nothing to plan, which check reports.
        prop_assume!(!c.has_errors());
        let (model, graph) = (c.model.as_ref().unwrap(), c.graph.as_ref().unwrap());
        let rules = mlc::policy::placement::rules(model, graph);
        let options = PlanOptions { today_days: None, spec_name: "prop.mlc".into(), limits: None };
        let plan = match plan::plan(model, graph, &rules, &options) {
            Ok(plan) => plan,
            Err(plan::PlanError::NoPlacement(_)) => return Ok(()),
            Err(e) => return Err(TestCaseError::fail(format!("{e:?}\n{text}"))),
        };
        let best = brute_force(&plan.problem).expect("the plan's own choice is feasible");
        prop_assert!(
            plan.total_monthly_usd <= best + 1e-6 * best.max(1.0),
            "plan {} but brute force {best}\n{text}",
            plan.total_monthly_usd
        );
        let items: f64 = plan.line_items.iter().map(|i| i.monthly_usd).sum();
        prop_assert!((items - plan.total_monthly_usd).abs() < 1e-6 * plan.total_monthly_usd.max(1.0));
    }
}
