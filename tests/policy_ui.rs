//! Policy UI cases: each `tests/ui/policy/*.mlc` is checked as `mlc check` checks it
//! (front end, graph, policy) and its rendered diagnostics are a snapshot. Together the
//! cases violate every framework and baseline rule at least once, as an error.

use mlc::diag::render::{to_text, Style};
use mlc::diag::Severity;
use std::collections::BTreeSet;
use std::path::Path;

fn cases() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui/policy");
    let mut cases: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("tests/ui/policy exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "mlc"))
        .map(|p| {
            let stem = p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            (stem, std::fs::read_to_string(&p).expect("readable case"))
        })
        .collect();
    cases.sort();
    cases
}

#[test]
fn policy_cases_match_their_snapshots() {
    let cases = cases();
    assert!(
        cases.len() >= 25,
        "expected the policy cases, found {}",
        cases.len()
    );
    for (name, text) in cases {
        let path = format!("tests/ui/policy/{name}.mlc");
        let checked = mlc::policy::check_text(&path, &text);
        let rendered = to_text(&checked.diagnostics, &checked.sources, Style::Plain);
        insta::assert_snapshot!(name, rendered);
    }
}

#[test]
fn every_rule_is_violated_as_an_error_by_some_case() {
    let mut violated = BTreeSet::new();
    let mut knowledge = None;
    for (name, text) in cases() {
        let checked = mlc::policy::check_text(&format!("{name}.mlc"), &text);
        for d in checked
            .diagnostics
            .iter()
            .filter(|d| d.severity() == Severity::Error)
        {
            // Only `compliance.residency` findings (E0502) come from no framework rule.
            let Some(rule) = &d.rule else {
                assert_eq!(d.code.0, "E0502", "{name}: {} carries no rule", d.message);
                continue;
            };
            assert!(
                d.message.contains(&rule.id) && !rule.source.is_empty(),
                "{name}: {rule:?} does not match {}",
                d.message
            );
            violated.insert(rule.id.clone());
        }
        knowledge = knowledge.or(checked.model.map(|m| m.knowledge));
    }
    let knowledge = knowledge.expect("some case checks");
    let all: BTreeSet<String> = knowledge
        .frameworks
        .iter()
        .flat_map(|f| f.rules.iter().map(|r| r.id.clone()))
        .collect();
    let missing: Vec<&String> = all.difference(&violated).collect();
    assert!(missing.is_empty(), "rules no case violates: {missing:?}");
}

#[test]
fn the_compliant_case_has_no_findings() {
    let (_, text) = cases()
        .into_iter()
        .find(|(n, _)| n == "compliant")
        .expect("compliant case");
    let checked = mlc::policy::check_text("compliant.mlc", &text);
    assert!(checked.diagnostics.is_empty(), "{:?}", checked.diagnostics);
}
