//! The standard library on its own: it checks cleanly, and its knowledge has the shape
//! the later stages rely on (every catalog cloud and its regions, accelerators, rules).

use std::collections::BTreeSet;

fn knowledge() -> mlc::check::model::Knowledge {
    let checked = mlc::check::check_text("empty.mlc", "");
    assert!(
        checked.diagnostics.is_empty(),
        "stdlib diagnostics: {:?}",
        checked.diagnostics
    );
    checked.model.expect("an empty spec has a model").knowledge
}

#[test]
fn empty_spec_checks_without_diagnostics_and_policy_findings() {
    let checked = mlc::policy::check_text("empty.mlc", "");
    assert!(checked.diagnostics.is_empty(), "{:?}", checked.diagnostics);
}

#[test]
fn clouds_have_every_source_catalog_region() {
    let k = knowledge();
    let counts: Vec<(String, usize)> = k
        .clouds
        .iter()
        .map(|c| (c.name.clone(), c.regions.len()))
        .collect();
    // Regions in ../shared/catalogs: AWS 23, Azure 58, GCP 44.
    assert_eq!(
        counts,
        [
            ("aws".to_string(), 23),
            ("azure".to_string(), 58),
            ("gcp".to_string(), 44)
        ]
    );
    let geographies: BTreeSet<&str> = k.geographies.iter().map(|g| g.name.as_str()).collect();
    for cloud in &k.clouds {
        assert!(
            cloud.egress_internet_usd_per_gb.is_some()
                && cloud.egress_inter_region_usd_per_gb.is_some()
        );
        let codes: BTreeSet<&str> = cloud.regions.iter().map(|r| r.code.as_str()).collect();
        assert_eq!(
            codes.len(),
            cloud.regions.len(),
            "duplicate region code in {}",
            cloud.name
        );
        for r in &cloud.regions {
            assert_eq!(
                r.name,
                r.code.replace('-', "_"),
                "region names follow their codes"
            );
            assert!(geographies.contains(r.geography.as_str()));
        }
    }
}

#[test]
fn every_catalog_accelerator_is_a_stdlib_accelerator() {
    let k = knowledge();
    let declared: BTreeSet<String> = k
        .accelerators
        .iter()
        .map(|a| mlc::catalog::normalise_accelerator(&a.name))
        .collect();
    let catalog = mlc::catalog::Catalog::embedded().expect("catalog parses");
    let missing: Vec<String> = catalog
        .accelerators()
        .into_iter()
        .filter(|a| {
            !a.starts_with("tpu-") && !declared.contains(&mlc::catalog::normalise_accelerator(a))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "catalog accelerators without a stdlib declaration: {missing:?}"
    );
    let own: Vec<(&str, &str)> = k
        .accelerators
        .iter()
        .filter_map(|a| Some((a.name.as_str(), a.cloud.as_deref()?)))
        .collect();
    assert!(own.contains(&("TPU_V5P", "gcp")) && own.contains(&("TRAINIUM2", "aws")));
}

#[test]
fn framework_rules_have_unique_ids_and_text() {
    let k = knowledge();
    let names: Vec<&str> = k.frameworks.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["baseline", "gdpr", "hipaa", "pci_dss", "sox"]);
    let mut ids = BTreeSet::new();
    for framework in &k.frameworks {
        for rule in &framework.rules {
            assert!(ids.insert(rule.id.clone()), "duplicate rule id {}", rule.id);
            assert!(
                !rule.title.is_empty() && !rule.help.is_empty() && !rule.conditions.is_empty(),
                "{}",
                rule.id
            );
        }
    }
    assert_eq!(ids.len(), 28);
}

#[test]
fn docs_name_every_rule_code_and_the_catalog_date() {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/stdlib.md"))
        .expect("docs/stdlib.md");
    for framework in &knowledge().frameworks {
        for rule in &framework.rules {
            let row = format!("| `{}` |", rule.id);
            assert!(
                docs.contains(&row) && docs.contains(&rule.title) && docs.contains(&rule.help),
                "docs/stdlib.md lacks rule {}",
                rule.id
            );
        }
    }
    for code in ["E0501", "E0502", "W0501"] {
        assert!(
            docs.contains(&format!("mlc::{code}")),
            "docs/stdlib.md lacks {code}"
        );
    }
    assert!(docs.contains(&format!("**Catalog date: {}**", mlc::catalog::CATALOG_DATE)));
}

#[test]
fn docs_examples_check_cleanly_including_policy() {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/stdlib.md"))
        .expect("docs/stdlib.md");
    let blocks: Vec<&str> = docs
        .split("```mlc\n")
        .skip(1)
        .filter_map(|rest| rest.split("```").next())
        .collect();
    assert_eq!(blocks.len(), 2);
    for block in blocks {
        let checked = mlc::policy::check_text("docs/stdlib.md", block);
        let errors: Vec<_> = checked
            .diagnostics
            .iter()
            .filter(|d| d.severity() == mlc::diag::Severity::Error)
            .collect();
        assert!(errors.is_empty(), "{errors:?}\n{block}");
    }
}

/// Each cloud's Kubernetes calendar has dates that parse, in order, and EKS (whose version
/// the build sets) has a version in standard support at the catalog date.
#[test]
fn kubernetes_calendars_are_dated_and_current_at_the_catalog_date() {
    let knowledge = knowledge();
    for cloud in &knowledge.clouds {
        for k in &cloud.kubernetes {
            let extended = mlc::plan::days_from_iso(&k.extended_until);
            assert!(
                k.released_days > 0
                    && k.released_days < k.standard_until_days
                    && extended.is_some_and(|e| k.standard_until_days < e),
                "{} {}: released {}, standard until {}, extended until {}",
                cloud.name,
                k.version,
                k.released,
                k.standard_until,
                k.extended_until
            );
            assert!(k.source.starts_with("https://"), "{}", k.source);
        }
    }
    let eks = knowledge
        .kubernetes("aws")
        .expect("an EKS version in standard support");
    assert!(eks
        .cluster_autoscaler
        .as_deref()
        .is_some_and(|t| t.starts_with(&format!("v{}.", eks.version))));
}
