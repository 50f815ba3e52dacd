//! Imports are confined to the project root and every read is bounded: a spec checked
//! in CI must never make mlc read, or print, a file outside its project, hang on a FIFO
//! or stream `/dev/zero`. Loader rules run against the in-memory `MemoryWorld`; the
//! operating-system cases (symbolic links, FIFOs, devices) run the real binary.

use mlc::check::{self, LoadOptions, MemoryWorld};
use mlc::diag::render;
use std::path::{Path, PathBuf};

const SECRET: &str = "SECRET-TOKEN-4242";

fn codes(checked: &check::Checked) -> Vec<&'static str> {
    checked.diagnostics.iter().map(|d| d.code.0).collect()
}

/// Everything a user could see: text and JSON diagnostics plus the loaded sources.
fn all_output(checked: &check::Checked) -> String {
    let mut out = render::to_text(&checked.diagnostics, &checked.sources, render::Style::Plain);
    out.push_str(&render::to_json(&checked.diagnostics, &checked.sources));
    out
}

fn world_with_secrets(main: &str) -> MemoryWorld {
    MemoryWorld::new()
        .with("/proj/main.mlc", main)
        .with("/proj/sub/inner.mlc", "import \"../shared.mlc\"\n")
        .with("/proj/shared.mlc", "project p {\n  owner = \"a@b.c\"\n}\n")
        .with("/proj/notes.txt", SECRET)
        .with("/proj/dir.mlc/keep.mlc", "")
        .with("/etc/secret.mlc", SECRET)
        .with("/secret.mlc", SECRET)
}

fn check_main(main: &str) -> check::Checked {
    check::check(&world_with_secrets(main), Path::new("/proj/main.mlc")).expect("root readable")
}

#[test]
fn imports_inside_the_root_load_through_subdirectories_and_dotdot() {
    let checked = check_main("import \"sub/inner.mlc\"\n");
    assert_eq!(codes(&checked), Vec::<&str>::new());
    assert!(checked.model.is_some());
    assert!(checked.sources.find("/proj/sub/../shared.mlc").is_some());
}

#[test]
fn each_kind_of_escape_is_refused_with_its_code_and_no_byte_of_the_file() {
    for (import, code) in [
        ("/etc/secret.mlc", "E0105"),
        ("/proc/self/environ", "E0105"),
        ("../secret.mlc", "E0106"),
        ("sub/../../secret.mlc", "E0106"),
        ("notes.txt", "E0107"),
        ("main", "E0107"),
        ("dir.mlc", "E0108"),
    ] {
        let checked = check_main(&format!("import \"{import}\"\n"));
        assert_eq!(codes(&checked), vec![code], "import {import}");
        let out = all_output(&checked);
        assert!(!out.contains(SECRET), "import {import} leaked: {out}");
        assert!(out.contains("help:"), "import {import} has no help: {out}");
    }
}

#[test]
fn a_wider_root_admits_shared_files_above_the_spec() {
    let world = MemoryWorld::new()
        .with("/proj/app/main.mlc", "import \"../shared.mlc\"\n")
        .with("/proj/shared.mlc", "project p {\n  owner = \"a@b.c\"\n}\n");
    let main = Path::new("/proj/app/main.mlc");
    let narrow = check::check(&world, main).expect("readable");
    assert_eq!(codes(&narrow), vec!["E0106"]);
    let options = LoadOptions {
        root: Some(PathBuf::from("/proj")),
    };
    let wide = check::check_with(&world, main, &options).expect("readable");
    assert_eq!(codes(&wide), Vec::<&str>::new());
}

#[test]
fn a_root_spec_outside_the_root_or_not_a_file_is_refused() {
    let world = world_with_secrets("");
    let options = LoadOptions {
        root: Some(PathBuf::from("/proj/sub")),
    };
    let error = check::check_with(&world, Path::new("/proj/main.mlc"), &options)
        .err()
        .expect("outside the root");
    assert!(error.contains("outside the project root"), "{error}");
    let error = check::check(&world, Path::new("/proj/dir.mlc"))
        .err()
        .expect("a directory");
    assert!(error.contains("not a regular file"), "{error}");
}

#[test]
fn a_two_file_cycle_names_both_files() {
    let world = MemoryWorld::new()
        .with("/p/a.mlc", "import \"b.mlc\"\n")
        .with("/p/b.mlc", "import \"a.mlc\"\n");
    let checked = check::check(&world, Path::new("/p/a.mlc")).expect("readable");
    let cycle = &checked.diagnostics[0];
    assert_eq!(cycle.code.0, "E0102");
    assert_eq!(cycle.message, "import cycle between `a.mlc` and `b.mlc`");
    let world = MemoryWorld::new().with("/p/a.mlc", "import \"a.mlc\"\n");
    let checked = check::check(&world, Path::new("/p/a.mlc")).expect("readable");
    assert_eq!(
        checked.diagnostics[0].message,
        "import cycle: `a.mlc` imports itself"
    );
}

#[test]
fn a_file_over_the_limit_is_e0004_without_reading_it_all() {
    let big = vec![b'#'; mlc::syntax::MAX_FILE_BYTES + 10];
    let world = MemoryWorld::new()
        .with("/p/main.mlc", "import \"big.mlc\"\n")
        .with("/p/big.mlc", big);
    let checked = check::check(&world, Path::new("/p/main.mlc")).expect("readable");
    assert_eq!(codes(&checked), vec!["E0004"]);
    assert!(checked.sources.find("/p/big.mlc").is_some());
}

#[cfg(unix)]
mod on_disk {
    use super::SECRET;
    use std::path::Path;
    use std::process::{Command, Output, Stdio};
    use std::time::{Duration, Instant};

    /// Runs mlc, failing the test (instead of hanging it) after 5 seconds.
    fn run(args: &[&std::ffi::OsStr], envs: &[(&str, &str)]) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mlc"))
            .args(args)
            .env("NO_COLOR", "1")
            .envs(envs.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn mlc");
        let start = Instant::now();
        while child.try_wait().expect("wait").is_none() {
            if start.elapsed() > Duration::from_secs(5) {
                let _ = child.kill();
                panic!("mlc {args:?} did not finish within 5 s");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        child.wait_with_output().expect("output")
    }

    fn check(path: &Path, extra: &[&str]) -> (Option<i32>, String) {
        let mut args: Vec<&std::ffi::OsStr> = vec!["check".as_ref()];
        args.extend(extra.iter().map(std::ffi::OsStr::new));
        args.push(path.as_os_str());
        let out = run(&args, &[("MLC_TEST_SECRET", SECRET)]);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code(), text)
    }

    fn mkfifo(path: &Path) {
        let status = Command::new("mkfifo").arg(path).status().expect("mkfifo");
        assert!(status.success());
    }

    #[test]
    fn the_environment_is_never_printed() {
        let dir = tempfile::tempdir().expect("tmp");
        let main = dir.path().join("main.mlc");
        std::fs::write(&main, "import \"/proc/self/environ\"\n").expect("write");
        for format in ["text", "json"] {
            let (code, out) = check(&main, &["--format", format]);
            assert_eq!(code, Some(1));
            assert!(out.contains("E0105"), "{out}");
            assert!(!out.contains(SECRET), "environment leaked: {out}");
        }
    }

    #[test]
    fn a_symbolic_link_out_of_the_root_is_refused() {
        let dir = tempfile::tempdir().expect("tmp");
        let outside = tempfile::tempdir().expect("tmp");
        let secret = outside.path().join("secret.mlc");
        std::fs::write(&secret, format!("{SECRET}\n")).expect("write");
        std::os::unix::fs::symlink(&secret, dir.path().join("link.mlc")).expect("symlink");
        std::os::unix::fs::symlink(outside.path(), dir.path().join("up")).expect("symlink");
        let main = dir.path().join("main.mlc");
        for import in ["link.mlc", "up/secret.mlc"] {
            std::fs::write(&main, format!("import \"{import}\"\n")).expect("write");
            let (code, out) = check(&main, &[]);
            assert_eq!(code, Some(1), "{out}");
            assert!(out.contains("E0106"), "{out}");
            assert!(!out.contains(SECRET), "{import} leaked: {out}");
        }
    }

    #[test]
    fn fifos_and_devices_are_refused_without_blocking() {
        let dir = tempfile::tempdir().expect("tmp");
        let fifo = dir.path().join("pipe.mlc");
        mkfifo(&fifo);
        std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero.mlc")).expect("symlink");
        let main = dir.path().join("main.mlc");

        std::fs::write(&main, "import \"pipe.mlc\"\n").expect("write");
        let (code, out) = check(&main, &[]);
        assert_eq!(code, Some(1), "{out}");
        assert!(out.contains("E0108") && out.contains("FIFO"), "{out}");

        // With the whole disk as the root, the link is inside it; the device is still refused.
        std::fs::write(&main, "import \"zero.mlc\"\n").expect("write");
        let (code, out) = check(&main, &["--root", "/"]);
        assert_eq!(code, Some(1), "{out}");
        assert!(out.contains("E0108") && out.contains("device"), "{out}");

        for root in [fifo.as_path(), Path::new("/dev/zero")] {
            let (code, out) = check(root, &[]);
            assert_eq!(code, Some(2), "{out}");
            assert!(out.contains("not a regular file"), "{out}");
        }
    }

    #[test]
    fn a_huge_file_is_read_only_to_the_limit() {
        let dir = tempfile::tempdir().expect("tmp");
        let big = std::fs::File::create(dir.path().join("big.mlc")).expect("create");
        big.set_len(4 << 30).expect("sparse 4 GiB file");
        let main = dir.path().join("main.mlc");
        std::fs::write(&main, "import \"big.mlc\"\n").expect("write");
        let (code, out) = check(&main, &[]);
        assert_eq!(code, Some(1), "{out}");
        assert!(out.contains("E0004"), "{out}");
    }

    #[test]
    fn root_option_widens_the_project() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::create_dir(dir.path().join("app")).expect("mkdir");
        std::fs::write(
            dir.path().join("org.mlc"),
            "project p {\n  owner = \"a@b.c\"\n}\n",
        )
        .expect("write");
        let main = dir.path().join("app/main.mlc");
        std::fs::write(&main, "import \"../org.mlc\"\n").expect("write");
        let (code, out) = check(&main, &[]);
        assert_eq!(code, Some(1), "{out}");
        assert!(out.contains("E0106"), "{out}");
        let root = dir.path().to_string_lossy().into_owned();
        let (code, out) = check(&main, &["--root", &root]);
        assert_eq!(code, Some(0), "{out}");
    }
}

#[test]
fn text_checked_in_an_empty_world_reads_nothing() {
    let checked = check::check_text_in(
        &MemoryWorld::new(),
        "fuzz.mlc",
        "import \"Cargo.mlc\"\nimport \"tests/ui/support/cycle_b.mlc\"\n",
    );
    assert_eq!(codes(&checked), vec!["E0101", "E0101"]);
}
