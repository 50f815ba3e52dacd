//! The code registry: unique codes, each explained, and each example really triggers
//! the code it explains (so explanations cannot point at the wrong code).

use mlc::diag::codes::REGISTRY;
use std::collections::BTreeSet;

#[test]
fn codes_are_unique_and_well_formed() {
    let mut seen = BTreeSet::new();
    for info in REGISTRY {
        assert!(seen.insert(info.code), "duplicate code {}", info.code);
        assert!(
            info.code.len() == 5 && (info.code.starts_with('E') || info.code.starts_with('W')),
            "bad code {}",
            info.code
        );
        assert!(
            !info.title.is_empty() && info.explanation.len() > 40,
            "{} is not explained",
            info.code
        );
        let first_word = info.title.split_whitespace().next().unwrap_or_default();
        let acronym = first_word.chars().all(|c| c.is_ascii_uppercase());
        assert!(
            acronym || first_word.chars().all(|c| !c.is_uppercase()),
            "{}: titles are lowercase",
            info.code
        );
    }
}

#[test]
fn every_example_triggers_its_code() {
    for info in REGISTRY {
        let Some(example) = info.example else {
            continue;
        };
        let checked = mlc::policy::check_text("example.mlc", example);
        let all = checked.diagnostics;
        assert!(
            all.iter().any(|d| d.code.0 == info.code),
            "example of {} does not trigger it; got {:?}",
            info.code,
            all.iter().map(|d| d.code).collect::<Vec<_>>()
        );
    }
}
