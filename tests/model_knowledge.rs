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
