//! Bad input of any kind ends in a diagnostic and exit 1 or 2, never a panic or a stack
//! overflow: random bytes, invalid UTF-8, truncated and mutated examples, deep nesting and
//! oversized files.

use proptest::prelude::*;
use std::path::PathBuf;
use std::process::Command;

fn mlc() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mlc"));
    cmd.env("NO_COLOR", "1");
    cmd
}

/// Runs `mlc check` on `bytes` written to a temp file; returns (exit code, stderr).
fn check_bytes(bytes: &[u8]) -> (i32, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("input.mlc");
    std::fs::write(&path, bytes).expect("write input");
    let out = mlc().arg("check").arg(&path).output().expect("run mlc");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn assert_diagnosed(bytes: &[u8], code: &str) {
    let (status, stderr) = check_bytes(bytes);
    assert!(
        status == 1 || status == 2,
        "exit {status}, stderr: {stderr}"
    );
    assert!(stderr.contains(code), "expected {code} in: {stderr}");
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
}

#[test]
fn hundred_thousand_nested_brackets() {
    let deep = format!(
        "project p {{ labels = {}{} }}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    assert_diagnosed(deep.as_bytes(), "mlc::E0003");
    let braces = format!("project p {}{}", "{".repeat(100_000), "}".repeat(100_000));
    assert_diagnosed(braces.as_bytes(), "mlc::E0003");
}

#[test]
fn fifty_megabyte_file() {
    let line = "dataset d { size = 1 GB, location = aws.us_east_1 }\n";
    let big = line.repeat(50 * 1024 * 1024 / line.len() + 1);
    assert_diagnosed(big.as_bytes(), "mlc::E0004");
}

#[test]
fn invalid_utf8() {
    assert_diagnosed(b"project p {\n  owner = \"\xff\xfe\"\n}\n", "mlc::E0002");
    assert_diagnosed(&[0xc3, 0x28, 0xa0, 0xa1], "mlc::E0002");
}

#[test]
fn empty_and_whitespace_files_are_fine() {
    for input in ["", "\n\n", "# only a comment\n"] {
        let (status, stderr) = check_bytes(input.as_bytes());
        assert_eq!(status, 0, "{stderr}");
    }
}

#[test]
fn missing_file_is_a_usage_error() {
    let out = mlc()
        .args(["check", "/nonexistent/spec.mlc"])
        .output()
        .expect("run mlc");
    assert_eq!(out.status.code(), Some(2));
}

fn examples() -> Vec<String> {
    let mut texts = Vec::new();
    for dir in ["examples", "tests/ui"] {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "mlc"))
            .collect();
        paths.sort();
        texts.extend(paths.iter().filter_map(|p| std::fs::read_to_string(p).ok()));
    }
    texts
}

/// In-process: parse + check + format must return, whatever the input.
fn survives(text: &str) {
    let checked = mlc::check::check_text("fuzz.mlc", text);
    let _ = mlc::diag::render::to_text(
        &checked.diagnostics,
        &checked.sources,
        mlc::diag::render::Style::Plain,
    );
    let _ = mlc::diag::render::to_json(&checked.diagnostics, &checked.sources);
    let _ = mlc::fmt::format(text);
}

#[test]
fn every_truncation_of_every_example() {
    for text in examples() {
        let mut cut = 0;
        while cut < text.len() {
            if text.is_char_boundary(cut) {
                survives(&text[..cut]);
            }
            cut += 7;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        survives(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn random_token_soup(tokens in proptest::collection::vec(prop::sample::select(vec![
        "train", "dataset", "x", "{", "}", "[", "]", "(", ")", "=", ",", "..", "+", "-", "*", "/",
        "4", "2.5", "TB", "GiB", "%", "x", "\"s\"", "via", "fallback", "every", "alert", "at",
        "notify", "require", "in", "import", "A100", "aws.us_east_1", "\n", " ", "# c\n", "3e-4",
    ]), 0..80)) {
        survives(&tokens.concat());
    }

    #[test]
    fn mutated_examples(seed in any::<u64>(), edits in 1usize..8) {
        let texts = examples();
        prop_assume!(!texts.is_empty());
        let mut bytes = texts[(seed % texts.len() as u64) as usize].clone().into_bytes();
        let mut state = seed;
        for _ in 0..edits {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            if bytes.is_empty() { break; }
            let at = (state >> 33) as usize % bytes.len();
            match state % 3 {
                0 => { bytes.remove(at); }
                1 => bytes.insert(at, b"{}[]=.,\"x9 \n"[(state >> 20) as usize % 12]),
                _ => bytes[at] = (state >> 40) as u8,
            }
        }
        survives(&String::from_utf8_lossy(&bytes));
    }
}
