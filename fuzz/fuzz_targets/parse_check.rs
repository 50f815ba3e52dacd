//! Fuzz target: any bytes through parse, check, policy, rendering and the formatter.
//! Run with `cargo +nightly fuzz run parse_check` from the repository root. Besides
//! "never panics", it asserts the formatter's properties on every input that parses.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // An empty in-memory world: imports in fuzz inputs never touch the disk.
    let world = mlc::check::MemoryWorld::new();
    let mut checked = mlc::check::check_text_in(&world, "fuzz.mlc", &text);
    mlc::policy::apply(&mut checked);
    let _ = mlc::diag::render::to_text(&checked.diagnostics, &checked.sources, mlc::diag::render::Style::Plain);
    let _ = mlc::diag::render::to_json(&checked.diagnostics, &checked.sources);
    if let Ok(formatted) = mlc::fmt::format(&text) {
        let again = mlc::fmt::format(&formatted).expect("formatted output parses");
        assert_eq!(again, formatted, "formatting is not idempotent");
        let id = mlc::source::FileId(0);
        let before = mlc::syntax::sexpr::file(&mlc::syntax::parse(id, &text).0);
        let after = mlc::syntax::sexpr::file(&mlc::syntax::parse(id, &formatted).0);
        assert_eq!(before, after, "formatting changed the meaning");
    }
});
