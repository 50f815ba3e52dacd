//! Formatter properties: on the examples, the ui corpus and generated specs, `mlc fmt`
//! is idempotent, keeps every comment in order, and never changes what the spec means
//! (`parse(fmt(x))` equals `parse(x)` ignoring spans).

use mlc::source::FileId;
use mlc::syntax::{self, scan, sexpr};
use proptest::prelude::*;

fn meaning(text: &str) -> String {
    let (file, diagnostics) = syntax::parse(FileId(0), text);
    assert!(
        diagnostics.is_empty(),
        "does not parse: {diagnostics:?}\n{text}"
    );
    sexpr::file(&file)
}

fn comments(text: &str) -> Vec<String> {
    scan::scan(text)
        .comments
        .into_iter()
        .map(|c| c.text)
        .collect()
}

fn assert_format_properties(text: &str) {
    let before = meaning(text);
    let once = mlc::fmt::format(text).unwrap_or_else(|d| panic!("format failed: {d:?}\n{text}"));
    assert_eq!(
        meaning(&once),
        before,
        "formatting changed the meaning of:\n{text}\n---- formatted ----\n{once}"
    );
    let twice = mlc::fmt::format(&once).expect("formatted text parses");
    assert_eq!(twice, once, "not idempotent for:\n{text}");
    assert_eq!(
        comments(&once),
        comments(text),
        "comments lost or reordered:\n{text}\n---- formatted ----\n{once}"
    );
}

#[test]
fn examples_and_ui_cases() {
    let mut checked = 0;
    for dir in [
        "examples",
        "examples/shared",
        "tests/ui",
        "stdlib",
        "stdlib/clouds",
        "stdlib/compliance",
    ] {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut paths: Vec<_> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "mlc"))
            .collect();
        paths.sort();
        for path in paths {
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            if !syntax::parse(FileId(0), &text).1.is_empty() {
                continue; // syntax-error ui cases
            }
            assert_format_properties(&text);
            checked += 1;
        }
    }
    assert!(checked >= 40, "expected many files, checked {checked}");
}

// ---- generated specs ----------------------------------------------------------------

fn ident() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "a", "b", "model", "size", "x1", "data_set", "replicas", "near",
    ])
    .prop_map(String::from)
}

fn separator() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        " ",
        " ",
        "  ",
        "\n",
        "\n\n",
        "\n\n\n",
        " # note\n",
        " // two\n",
        "\n# own line\n",
    ])
}

fn leaf() -> impl Strategy<Value = String> {
    let number = prop::sample::select(vec!["1", "2.5", "3e-4", "100", "0", "-4", "12"]);
    let unit = prop::sample::select(vec!["", " TB", "GiB", "%", "x", " USD", " ms", "M", " h"]);
    let per = prop::sample::select(vec!["", "", "", " / month", "/GB", " / h"]);
    let quantity = (number, unit, per).prop_map(|(n, u, p)| format!("{n}{u}{p}"));
    let string = prop::sample::select(vec![
        "\"text\"",
        "\"with \\\"quote\\\"\"",
        "\"back\\\\slash\"",
        "\"tab\\tnew\\nline\"",
        "\"# not a comment\"",
        "\"\"",
    ])
    .prop_map(String::from);
    let path = prop::sample::select(vec![
        "aws",
        "aws.us_east_1",
        "dataset.d",
        "python3.12",
        "on",
    ])
    .prop_map(String::from);
    let accel = prop::sample::select(vec!["A100 x 8", "T4 x 1"]).prop_map(String::from);
    prop_oneof![quantity, string, path, accel]
}

fn value() -> impl Strategy<Value = String> {
    leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            (prop::collection::vec((inner.clone(), separator()), 0..4)).prop_map(|items| {
                let body: Vec<String> = items.iter().map(|(v, s)| format!("{s}{v}")).collect();
                format!("[{}]", body.join(","))
            }),
            (prop::collection::vec((ident(), inner.clone(), separator()), 0..3)).prop_map(
                |entries| {
                    let body: Vec<String> = entries
                        .iter()
                        .map(|(k, v, s)| format!("{s}{k} = {v}"))
                        .collect();
                    format!("{{{} }}", body.join(","))
                }
            ),
            (
                ident(),
                prop::collection::vec((ident(), inner.clone(), separator()), 0..3)
            )
                .prop_map(|(name, entries)| {
                    let body: Vec<String> = entries
                        .iter()
                        .map(|(k, v, s)| format!("{s}{k} = {v}"))
                        .collect();
                    format!("{name} {{{}\n}}", body.join(","))
                }),
            (leaf(), leaf()).prop_map(|(a, b)| format!("{a}..{b}")),
            (leaf(), prop::sample::select(vec!["+", "-", "*"]), leaf())
                .prop_map(|(a, op, b)| format!("{a} {op} {b}")),
            (leaf(), prop::sample::select(vec!["via", "fallback"]))
                .prop_map(|(a, c)| format!("on_demand {c} {a}")),
            Just("every 30 min".to_string()),
            inner.prop_map(|v| format!("({v})")),
        ]
    })
}

fn statement() -> impl Strategy<Value = String> {
    let attr = (ident(), value()).prop_map(|(k, v)| format!("{k} = {v}"));
    let block = (
        ident(),
        prop::option::of(ident()),
        prop::collection::vec((ident(), value(), separator()), 0..3),
    )
        .prop_map(|(kind, name, attrs)| {
            let body: Vec<String> = attrs
                .iter()
                .map(|(k, v, s)| format!("{s}{k} = {v}"))
                .collect();
            format!(
                "{kind} {} {{{}\n}}",
                name.unwrap_or_default(),
                body.join("")
            )
        });
    let alert = Just("alert at [50%, 80%] notify \"ops@example.com\"".to_string());
    let require = (ident(), prop::bool::ANY).prop_map(|(s, body)| {
        let tail = if body {
            " {\n id = \"R-1\"\n title = \"t\" }"
        } else {
            ""
        };
        format!("require {s}, residency in [eu, us], access = rbac{tail}")
    });
    prop_oneof![4 => attr, 2 => block, 1 => alert, 1 => require]
}

fn spec() -> impl Strategy<Value = String> {
    let decl = (
        ident(),
        prop::option::of(ident()),
        prop::collection::vec((statement(), separator()), 0..6),
        separator(),
    )
        .prop_map(|(kind, name, stmts, lead)| {
            let body: String = stmts.iter().map(|(s, sep)| format!("{sep}{s}")).collect();
            format!("{lead}{kind} {} {{{body}\n}}", name.unwrap_or_default())
        });
    let import = Just("import \"other.mlc\"".to_string());
    (
        prop::collection::vec(prop_oneof![5 => decl, 1 => import], 0..5),
        separator(),
    )
        .prop_map(|(items, tail)| format!("{}{tail}", items.join("\n")))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, .. ProptestConfig::default() })]

    #[test]
    fn generated_specs(text in spec()) {
        assert_format_properties(&text);
    }
}
