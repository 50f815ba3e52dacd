//! The stdlib's price knowledge reaches the typed model.
use mlc::check::units::Exact;

#[test]
fn prices_reach_the_model() {
    let model = mlc::check::check_text("empty.mlc", "")
        .model
        .expect("model");
    let aws = model
        .knowledge
        .clouds
        .iter()
        .find(|c| c.name == "aws")
        .expect("aws");
    let lambda = aws
        .serverless
        .iter()
        .find(|s| s.platform == "aws_lambda")
        .expect("lambda");
    assert_eq!(
        lambda.usd_per_gb_second,
        Exact::parse("0.0000166667").unwrap()
    );
    assert_eq!(lambda.usd_per_request, Exact::parse("0.0000002").unwrap());
    assert_eq!(lambda.free_requests_per_month, Some(Exact::int(1_000_000)));
    let s3 = aws
        .storage
        .iter()
        .find(|s| s.name == "s3_standard")
        .expect("s3");
    assert_eq!(s3.usd_per_gb_month, Exact::parse("0.023").unwrap());
    assert_eq!(s3.tier.as_deref(), Some("standard"));
    let ia = aws
        .storage
        .iter()
        .find(|s| s.name == "s3_standard_ia")
        .expect("ia");
    assert_eq!(ia.min_duration_seconds, Exact::int(30 * 86_400));
    assert_eq!(
        aws.egress_tiers
            .iter()
            .map(|t| t.usd_per_gb.to_string())
            .collect::<Vec<_>>(),
        ["0.085", "0.07", "0.05"]
    );
    assert_eq!(aws.reserved_3y, Exact::parse("0.43"));
    assert_eq!(aws.egress_same_region_usd_per_gb, Exact::parse("0.01"));
}

/// Serverless limits live on the stdlib's `serverless` blocks, not in the checker, and a
/// cloud declared in the spec brings its own.
#[test]
fn serverless_limits_come_from_the_stdlib() {
    let model = mlc::check::check_text("empty.mlc", "")
        .model
        .expect("model");
    let platform = |name: &str| {
        model
            .knowledge
            .clouds
            .iter()
            .flat_map(|c| c.serverless.iter())
            .find(|s| s.platform == name)
            .cloned()
            .expect("platform in the stdlib")
    };
    let mib = |n: i128| Some(Exact::int(n << 20));
    let lambda = platform("aws_lambda");
    assert_eq!(lambda.title, "AWS Lambda");
    assert_eq!(
        (lambda.memory_min_bytes, lambda.memory_max_bytes),
        (mib(128), mib(10_240))
    );
    assert_eq!(lambda.timeout_max_seconds, Some(Exact::int(900)));
    assert!(lambda.min_instances && !lambda.accelerators);
    let gcf = platform("gcp_cloud_functions");
    assert_eq!(gcf.memory_max_bytes, mib(32_768));
    assert_eq!(gcf.timeout_max_seconds, Some(Exact::int(3_600)));
    let azure = platform("azure_functions");
    assert_eq!(azure.memory_max_bytes, mib(4_096));
    assert_eq!(azure.timeout_max_seconds, Some(Exact::int(600)));
    // Flex Consumption, what `mlc build` deploys: billed per instance size, each call at
    // least a second, always-ready instances at their own rates.
    assert_eq!(azure.product, "Azure Functions Flex Consumption (FC1)");
    assert_eq!(
        azure.instance_memory_bytes,
        [mib(512), mib(2_048), mib(4_096)].map(Option::unwrap)
    );
    assert_eq!(azure.min_billed_seconds, Exact::int(1));
    assert_eq!(
        azure.billed_memory_bytes(Exact::int(600 << 20)),
        Exact::int(2_048 << 20)
    );
    assert!(azure.provisioned_memory_usd_per_gb_second.is_some());
    assert_eq!(lambda.instance_memory_bytes, []);
    assert_eq!(lambda.min_billed_seconds, Exact::ZERO);

    let spec = "cloud lab {\n  title = \"Lab\"\n  serverless knative {\n    product = \"Lab Knative\"\n    memory_per_gb = 0.00001 USD/s\n    request_price = 0.10 USD/M\n    timeout_max = 60 s\n    accelerators = on\n  }\n}\nfunction f {\n  platform = knative\n  runtime = python3.12\n  memory = 1 GiB\n  timeout = 120 s\n  invocations = 1K / month\n}\n";
    let checked = mlc::check::check_text("lab.mlc", spec);
    let messages: Vec<String> = checked
        .diagnostics
        .iter()
        .map(|d| d.message.clone())
        .collect();
    assert_eq!(
        messages,
        ["Lab Knative timeout must be at most 60 s, found 120 s"]
    );
}
