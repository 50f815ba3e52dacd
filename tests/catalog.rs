//! The embedded instance catalogs against their sources: sampled price rows equal the
//! source CSV rows (copied below verbatim), the query API filters and sorts as
//! documented, every catalog region is known to the standard library, and, where the
//! source CSVs are present, regenerating the catalogs reproduces the committed files.

use mlc::catalog::{Catalog, Offering, Places, Query};
use mlc::check::units::Exact;
use std::path::Path;

/// Source rows, copied byte for byte from ../shared/catalogs/skypilot/*/vms.csv.
const AWS_P5_US_EAST_2: &str = "\
p5.48xlarge,H100,8.0,192.0,2048.0,\"{'Gpus': [{'Name': 'H100', 'Manufacturer': 'NVIDIA', 'Count': 8, 'LogicalGpuCount': 8, 'GpuPartitionSize': 1.0, 'Workloads': ['ml-ai'], 'MemoryInfo': {'SizeInMiB': 81920}}], 'TotalGpuMemoryInMiB': 655360}\",55.04,11.254300,us-east-2,use2-az1,x86_64\n\
p5.48xlarge,H100,8.0,192.0,2048.0,\"{'Gpus': [{'Name': 'H100', 'Manufacturer': 'NVIDIA', 'Count': 8, 'LogicalGpuCount': 8, 'GpuPartitionSize': 1.0, 'Workloads': ['ml-ai'], 'MemoryInfo': {'SizeInMiB': 81920}}], 'TotalGpuMemoryInMiB': 655360}\",55.04,11.561600,us-east-2,use2-az2,x86_64\n\
p5.48xlarge,H100,8.0,192.0,2048.0,\"{'Gpus': [{'Name': 'H100', 'Manufacturer': 'NVIDIA', 'Count': 8, 'LogicalGpuCount': 8, 'GpuPartitionSize': 1.0, 'Workloads': ['ml-ai'], 'MemoryInfo': {'SizeInMiB': 81920}}], 'TotalGpuMemoryInMiB': 655360}\",55.04,11.991200,us-east-2,use2-az3,x86_64\n\
";

const AWS_G5_EU_WEST_1: &str = "\
g5.xlarge,A10G,1.0,4.0,16.0,\"{'Gpus': [{'Name': 'A10G', 'Manufacturer': 'NVIDIA', 'Count': 1, 'LogicalGpuCount': 1, 'GpuPartitionSize': 1.0, 'Workloads': ['ml-ai', 'graphics'], 'MemoryInfo': {'SizeInMiB': 22888}}], 'TotalGpuMemoryInMiB': 22888}\",1.123,0.576500,eu-west-1,euw1-az1,x86_64\n\
g5.xlarge,A10G,1.0,4.0,16.0,\"{'Gpus': [{'Name': 'A10G', 'Manufacturer': 'NVIDIA', 'Count': 1, 'LogicalGpuCount': 1, 'GpuPartitionSize': 1.0, 'Workloads': ['ml-ai', 'graphics'], 'MemoryInfo': {'SizeInMiB': 22888}}], 'TotalGpuMemoryInMiB': 22888}\",1.123,0.574600,eu-west-1,euw1-az2,x86_64\n\
g5.xlarge,A10G,1.0,4.0,16.0,\"{'Gpus': [{'Name': 'A10G', 'Manufacturer': 'NVIDIA', 'Count': 1, 'LogicalGpuCount': 1, 'GpuPartitionSize': 1.0, 'Workloads': ['ml-ai', 'graphics'], 'MemoryInfo': {'SizeInMiB': 22888}}], 'TotalGpuMemoryInMiB': 22888}\",1.123,0.572700,eu-west-1,euw1-az3,x86_64\n\
";

const GCP_A3_HIGHGPU_8G_US_CENTRAL1: &str = "\
a3-highgpu-8g,208.0,1872.0,,,,us-central1,us-central1-a,9.46006,3.86318\n\
a3-highgpu-8g,208.0,1872.0,,,,us-central1,us-central1-b,9.46006,3.86318\n\
a3-highgpu-8g,208.0,1872.0,,,,us-central1,us-central1-c,9.46006,3.86318\n\
";

const GCP_H100_8_US_CENTRAL1: &str = "\
,,,H100,8,{'Gpus': [{'MemoryInfo': {'SizeInMiB': 81920}}]},us-central1,us-central1-a,33.60609,32.0104\n\
,,,H100,8,{'Gpus': [{'MemoryInfo': {'SizeInMiB': 81920}}]},us-central1,us-central1-b,33.60609,32.0104\n\
,,,H100,8,{'Gpus': [{'MemoryInfo': {'SizeInMiB': 81920}}]},us-central1,us-central1-c,33.60609,32.0104\n\
";

const AZURE_ROWS: &str = "\
Standard_D8s_v5,,,8,32,,0.46,0.085008,germanywestcentral,V1,V2\n\
Standard_NC24ads_A100_v4,A100-80GB,1,24,220,A100-80GB,4.775,1.905225,westeurope,V2\n\
Standard_ND96isr_H100_v5,H100,8,96,1900,H100,98.32,18.169536,eastus,V2\n\
";

fn catalog() -> &'static Catalog {
    Catalog::embedded().expect("embedded catalog parses")
}

fn places() -> Places {
    let checked = mlc::check::check_text("empty.mlc", "");
    Places::from_knowledge(&checked.model.expect("stdlib checks").knowledge)
}

fn dec(text: &str) -> Exact {
    Exact::parse(text).unwrap_or_else(|| panic!("not a number: {text}"))
}

/// `(price, spot)` columns of source rows; `price_col`/`spot_col` count from the start.
fn columns(rows: &str, price_col: usize, spot_col: usize) -> Vec<(Exact, Option<Exact>)> {
    rows.lines()
        .map(|line| {
            // GpuInfo may hold quoted commas; count price columns from the end instead.
            let fields: Vec<&str> = line.split(',').collect();
            let n = fields.len();
            let spot = fields[n - spot_col];
            (
                dec(fields[n - price_col]),
                (!spot.is_empty()).then(|| dec(spot)),
            )
        })
        .collect()
}

fn only(cloud: &str, region: &str, instance_type: &str) -> &'static Offering {
    let rows = catalog().find(cloud, region, instance_type);
    assert_eq!(rows.len(), 1, "{cloud} {region} {instance_type}");
    rows[0]
}

#[test]
fn aws_rows_equal_the_source_with_spot_the_cheapest_zone() {
    for (rows, region, instance_type) in [
        (AWS_P5_US_EAST_2, "us-east-2", "p5.48xlarge"),
        (AWS_G5_EU_WEST_1, "eu-west-1", "g5.xlarge"),
    ] {
        // Columns from the end: Arch, AvailabilityZone, Region, SpotPrice, Price.
        let source = columns(rows, 5, 4);
        let offering = only("aws", region, instance_type);
        assert!(source
            .iter()
            .all(|(price, _)| Some(*price) == offering.price_usd_per_hour));
        let cheapest = source.iter().filter_map(|(_, spot)| *spot).min();
        assert_eq!(
            offering.spot_price_usd_per_hour, cheapest,
            "{instance_type} {region}"
        );
    }
    assert_eq!(
        only("aws", "us-east-2", "p5.48xlarge").price_usd_per_hour,
        Some(dec("55.04"))
    );
}

#[test]
fn gcp_gpu_rows_are_vm_plus_accelerator() {
    // Columns from the end: SpotPrice, Price.
    let vm = columns(GCP_A3_HIGHGPU_8G_US_CENTRAL1, 2, 1);
    let gpu = columns(GCP_H100_8_US_CENTRAL1, 2, 1);
    let offering = only("gcp", "us-central1", "a3-highgpu-8g");
    let price = vm[0].0.checked_add(gpu[0].0).expect("no overflow");
    assert_eq!(offering.price_usd_per_hour, Some(price));
    assert_eq!(price, dec("43.06615"));
    let spot = vm
        .iter()
        .zip(&gpu)
        .filter_map(|(v, g)| v.1?.checked_add(g.1?))
        .min();
    assert_eq!(offering.spot_price_usd_per_hour, spot);
    assert_eq!(offering.accelerator.as_deref(), Some("H100"));
    assert_eq!(offering.accelerator_count, Exact::int(8));
    // The cheap H100 cluster is flagged, not hidden.
    assert!(offering
        .flags
        .contains(&mlc::catalog::Flag::PriceOutlierLow));
}

#[test]
fn azure_rows_equal_the_source_including_unquoted_generation() {
    for line in AZURE_ROWS.lines() {
        let f: Vec<&str> = line.split(',').collect();
        // InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,GpuInfo,Price,SpotPrice,Region,Generation...
        let offering = only("azure", f[8], f[0]);
        assert_eq!(offering.price_usd_per_hour, Some(dec(f[6])), "{line}");
        assert_eq!(offering.spot_price_usd_per_hour, Some(dec(f[7])), "{line}");
        assert_eq!(offering.vcpus, Some(dec(f[3])), "{line}");
        assert_eq!(offering.memory_gib, Some(dec(f[4])), "{line}");
        assert_eq!(
            offering.accelerator.as_deref(),
            (!f[1].is_empty()).then_some(f[1]),
            "{line}"
        );
    }
    assert!(
        AZURE_ROWS.contains("V1,V2"),
        "the sample covers the 11-field rows"
    );
}

#[test]
fn h100_is_offered_by_all_three_clouds_sorted_by_price() {
    let query = Query {
        accelerator: Some("h100".into()),
        ..Query::default()
    };
    let rows = catalog().query(&query, &places()).expect("valid query");
    for cloud in ["aws", "gcp", "azure"] {
        assert!(rows.iter().any(|o| o.cloud == cloud), "no H100 on {cloud}");
    }
    assert!(rows
        .iter()
        .all(|o| o.accelerator.as_deref() == Some("H100")));
    let prices: Vec<Exact> = rows.iter().filter_map(|o| o.price_usd_per_hour).collect();
    assert!(
        prices.windows(2).all(|w| w[0] <= w[1]),
        "not sorted by price"
    );
}

#[test]
fn filters_by_count_cloud_jurisdiction_and_spot() {
    let query = Query {
        accelerator: Some("A100".into()),
        min_accelerators: Some(8),
        cloud: Some("gcp".into()),
        jurisdiction: Some("eu".into()),
        spot: true,
        ..Query::default()
    };
    let places = places();
    let rows = catalog().query(&query, &places).expect("valid query");
    assert!(!rows.is_empty());
    for o in &rows {
        assert_eq!(o.cloud, "gcp");
        assert!(o.accelerator_count >= Exact::int(8));
        assert_eq!(
            places
                .get(o.cloud, &o.region)
                .map(|p| p.jurisdiction.as_str()),
            Some("eu")
        );
    }
    let spots: Vec<Exact> = rows
        .iter()
        .map(|o| o.spot_price_usd_per_hour.expect("spot rows only"))
        .collect();
    assert!(
        spots.windows(2).all(|w| w[0] <= w[1]),
        "not sorted by spot price"
    );
}

#[test]
fn spec_accelerator_names_find_catalog_names() {
    let query = Query {
        accelerator: Some("A100_80GB".into()),
        ..Query::default()
    };
    let rows = catalog().query(&query, &places()).expect("valid query");
    assert!(
        rows.iter()
            .all(|o| o.accelerator.as_deref() == Some("A100-80GB"))
            && !rows.is_empty()
    );
}

#[test]
fn unknown_names_are_errors() {
    let places = places();
    let bad_gpu = Query {
        accelerator: Some("Z9000".into()),
        ..Query::default()
    };
    let err = catalog().query(&bad_gpu, &places).expect_err("unknown gpu");
    assert!(
        err.to_string()
            .starts_with("no catalog offers accelerator `Z9000`; known: A10,"),
        "{err}"
    );
    let bad_cloud = Query {
        cloud: Some("ibm".into()),
        ..Query::default()
    };
    assert!(catalog().query(&bad_cloud, &places).is_err());
    let bad_jurisdiction = Query {
        jurisdiction: Some("atlantis".into()),
        ..Query::default()
    };
    assert!(catalog().query(&bad_jurisdiction, &places).is_err());
}

#[test]
fn every_catalog_region_is_a_stdlib_region() {
    let places = places();
    let missing: Vec<String> = catalog()
        .offerings
        .iter()
        .filter(|o| places.get(o.cloud, &o.region).is_none())
        .map(|o| format!("{} {}", o.cloud, o.region))
        .collect();
    assert!(
        missing.is_empty(),
        "regions missing from stdlib/clouds: {missing:?}"
    );
}

#[test]
fn committed_data_is_what_the_generator_writes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let source = root.join("../shared/catalogs/skypilot");
    if !source.is_dir() {
        eprintln!("skipped: {} is not present", source.display());
        return;
    }
    let out = tempfile::tempdir().expect("temp dir");
    let status = std::process::Command::new("python3")
        .arg(root.join("stdlib/tools/gen_catalog.py"))
        .arg("--source")
        .arg(&source)
        .arg("--out")
        .arg(out.path())
        .output()
        .expect("python3 runs");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    for file in ["aws.csv", "gcp.csv", "azure.csv", "meta.txt"] {
        let fresh = std::fs::read_to_string(out.path().join(file)).expect("generated");
        let committed =
            std::fs::read_to_string(root.join("stdlib/catalog").join(file)).expect("committed");
        assert!(
            fresh == committed,
            "stdlib/catalog/{file} is stale; run python3 stdlib/tools/gen_catalog.py"
        );
    }
}

#[test]
fn every_data_note_concerns_some_offering_and_notes_follow_the_rows() {
    let catalog = mlc::catalog::Catalog::embedded().expect("catalog parses");
    let all: Vec<&mlc::catalog::Offering> = catalog.offerings.iter().collect();
    for note in mlc::catalog::DATA_NOTES {
        assert!(
            all.iter().any(|o| (note.concerns)(o)),
            "note concerns no offering: {}",
            note.text
        );
    }
    for offering in &all {
        let notes = mlc::catalog::notes_for(&[*offering], None);
        let expected: Vec<&str> = mlc::catalog::DATA_NOTES
            .iter()
            .filter(|n| (n.concerns)(offering))
            .map(|n| n.text)
            .collect();
        assert_eq!(notes, expected, "{}", offering.instance_type);
    }
    assert_eq!(mlc::catalog::notes_for(&[], Some("gcp")).len(), 1);
}
