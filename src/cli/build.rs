//! `mlc build FILE -o DIR`: plan the spec and write what the platform team applies.
//! All or nothing: the files are written into a fresh folder beside `DIR`, which then
//! replaces `DIR` in one step, so an error or an interruption leaves `DIR` as it was.

use super::{print_err, EXIT_OK, EXIT_SPEC_ERRORS, EXIT_USAGE};
use clap::ValueEnum;
use mlc::emit::{self, BuildInput, Output, Target};
use mlc::plan::{self, PlanOptions};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The file that marks a folder as `mlc build`'s own, so it may be replaced.
pub const MARKER: &str = ".mlc-build";

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetArg {
    Kubernetes,
    Terraform,
    Serverless,
    Harness,
}

impl TargetArg {
    fn target(self) -> Target {
        match self {
            TargetArg::Kubernetes => Target::Kubernetes,
            TargetArg::Terraform => Target::Terraform,
            TargetArg::Serverless => Target::Serverless,
            TargetArg::Harness => Target::Harness,
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct BuildArgs {
    /// The spec file
    pub file: PathBuf,
    /// The output folder; created, or replaced if an earlier `mlc build` wrote it
    #[arg(short = 'o', long = "out", value_name = "DIR")]
    pub out: PathBuf,
    /// Targets to emit (default: all)
    #[arg(long, value_enum, value_delimiter = ',')]
    pub target: Vec<TargetArg>,
    #[command(flatten)]
    pub load: super::LoadArgs,
}

pub fn run(args: &BuildArgs) -> u8 {
    // Refuse a folder that is not ours before doing any work.
    if let Err(message) = check_out_dir(&args.out) {
        print_err(&format!("error: {message}\n"));
        return EXIT_USAGE;
    }
    mlc::emit::templates::compile_in_background();
    let compilation = match super::compile_clean(&args.file, &args.load.options(), "nothing built")
    {
        Ok(c) => c,
        Err(code) => return code,
    };
    let (Some(model), Some(graph)) = (compilation.model.as_ref(), compilation.graph.as_ref())
    else {
        return EXIT_SPEC_ERRORS;
    };
    let spec_name = args.file.display().to_string();
    let rules = mlc::policy::placement::rules(model, graph);
    let options = PlanOptions {
        today_days: super::plan::today_days(),
        spec_name: spec_name.clone(),
        limits: None,
    };
    let plan = match plan::plan(model, graph, &rules, &options) {
        Ok(plan) => plan,
        Err(error) => {
            print_err(&super::plan::describe(&error));
            print_err(&format!(
                "{}: nothing built: no plan\n",
                args.file.display()
            ));
            return EXIT_SPEC_ERRORS;
        }
    };
    let targets: Vec<Target> = if args.target.is_empty() {
        Target::ALL.to_vec()
    } else {
        let mut t: Vec<Target> = args.target.iter().map(|t| t.target()).collect();
        t.sort();
        t.dedup();
        t
    };
    let input = BuildInput {
        model,
        graph,
        plan: &plan,
        spec_name: &spec_name,
    };
    let mut files = match emit::build(&input, &targets) {
        Ok(files) => files,
        Err(errors) => {
            for e in errors {
                print_err(&format!("error: {e}\n"));
            }
            print_err(&format!("{}: nothing built\n", args.file.display()));
            return EXIT_SPEC_ERRORS;
        }
    };
    // A target asked for by name must have something in it; with the default (all
    // targets) the empty ones are only mentioned.
    let empty: Vec<Target> = targets
        .iter()
        .copied()
        .filter(|t| {
            !files
                .iter()
                .any(|f| f.path.starts_with(&format!("{}/", t.name())))
        })
        .collect();
    if !empty.is_empty() {
        let names: Vec<&str> = empty.iter().map(|t| t.name()).collect();
        if args.target.is_empty() {
            print_err(&format!(
                "note: nothing in the plan for {}\n",
                names.join(", ")
            ));
        } else {
            print_err(&format!(
                "error: the plan puts nothing in {} (no workload of the spec is emitted there); nothing built\n",
                names.join(", ")
            ));
            return EXIT_SPEC_ERRORS;
        }
    }
    // The plan goes with what it produced; without a reproducible date its age would
    // make two builds differ, so the catalog age is left to `mlc plan`.
    let mut stable = plan.clone();
    stable.catalog_age_days = None;
    stable.findings.retain(|f| f.subject != "catalog");
    files.push(Output {
        path: "plan.json".into(),
        contents: serde_json::to_string_pretty(&stable).unwrap_or_default() + "\n",
    });
    files.push(Output {
        path: MARKER.into(),
        contents: format!(
            "Written by mlc {} from {}; `mlc build` replaces this folder as a whole.\n",
            env!("CARGO_PKG_VERSION"),
            mlc::emit::comment_safe(&spec_name)
        ),
    });
    files.sort_by(|a, b| a.path.cmp(&b.path));
    match write_all(&args.out, &files) {
        Ok(()) => {
            print_err(&format!(
                "{}: built {} files into {}\n",
                args.file.display(),
                files.len(),
                args.out.display()
            ));
            EXIT_OK
        }
        Err(message) => {
            print_err(&format!(
                "error: {message}; {} is unchanged\n",
                args.out.display()
            ));
            EXIT_USAGE
        }
    }
}

/// `DIR` may be missing, empty, or a folder `mlc build` wrote (it has the marker).
fn check_out_dir(out: &Path) -> Result<(), String> {
    let Ok(meta) = std::fs::symlink_metadata(out) else {
        return Ok(());
    };
    if !meta.is_dir() {
        return Err(format!("{} exists and is not a folder", out.display()));
    }
    let mut entries =
        std::fs::read_dir(out).map_err(|e| format!("cannot read {}: {e}", out.display()))?;
    if entries.next().is_none() || out.join(MARKER).is_file() {
        return Ok(());
    }
    Err(format!(
        "{} is not empty and was not written by `mlc build` (no {MARKER} in it); choose an empty or new folder",
        out.display()
    ))
}

/// Writes every file into a new folder beside `out`, then puts it in `out`'s place in
/// one step (an atomic exchange where the platform has one).
fn write_all(out: &Path, files: &[Output]) -> Result<(), String> {
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)
        .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    let staging = tempfile::Builder::new()
        .prefix(".mlc-build-")
        .tempdir_in(parent)
        .map_err(|e| format!("cannot write in {}: {e}", parent.display()))?;
    let folders: BTreeSet<&Path> = files
        .iter()
        .filter_map(|f| Path::new(&f.path).parent())
        .collect();
    for folder in folders {
        let dir = staging.path().join(folder);
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    write_files(staging.path(), files)?;
    sync_files(staging.path(), files)
        .map_err(|e| format!("cannot write {}: {e}", staging.path().display()))?;
    replace(staging, out)
}

/// Writes the files (their folders exist) on a few threads: creating thousands of files
/// is mostly the kernel's work, which runs on every core.
fn write_files(staging: &Path, files: &[Output]) -> Result<(), String> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    let chunk = files.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let writers: Vec<_> = files
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    for file in part {
                        std::fs::write(staging.join(&file.path), &file.contents)
                            .map_err(|e| format!("cannot write {}: {e}", file.path))?;
                    }
                    Ok(())
                })
            })
            .collect();
        writers.into_iter().try_for_each(|w| {
            w.join()
                .unwrap_or_else(|_| Err("a writer thread panicked".into()))
        })
    })
}

/// Makes every written file durable before the folder takes `out`'s place, so that a
/// crash just after the swap cannot leave empty files there. On Linux one `syncfs` of
/// the staging folder's file system does it with one journal commit: an fsync per file
/// took 10 s of a 10.3 s build of 3,584 files (benches/build/run.py), syncfs 0.2 s.
#[cfg(target_os = "linux")]
fn sync_files(staging: &Path, _files: &[Output]) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let folder = std::fs::File::open(staging)?;
    // SAFETY: `folder` is an open descriptor for the whole call.
    if unsafe { libc::syncfs(folder.as_raw_fd()) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Elsewhere: an fsync per file.
#[cfg(not(target_os = "linux"))]
fn sync_files(staging: &Path, files: &[Output]) -> std::io::Result<()> {
    for file in files {
        std::fs::File::open(staging.join(&file.path))?.sync_all()?;
    }
    Ok(())
}

fn replace(staging: tempfile::TempDir, out: &Path) -> Result<(), String> {
    if std::fs::symlink_metadata(out).is_err() {
        let path = staging.keep();
        return std::fs::rename(&path, out).map_err(|e| {
            let _ = std::fs::remove_dir_all(&path);
            format!("cannot create {}: {e}", out.display())
        });
    }
    let new = staging.keep();
    match exchange(&new, out) {
        Ok(()) => {
            // `new` now holds the previous output.
            let _ = std::fs::remove_dir_all(&new);
            Ok(())
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&new);
            Err(format!("cannot replace {}: {e}", out.display()))
        }
    }
}

/// Swaps two folders atomically (Linux `renameat2(RENAME_EXCHANGE)`).
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let a = CString::new(a.as_os_str().as_bytes())?;
    let b = CString::new(b.as_os_str().as_bytes())?;
    // SAFETY: both paths are valid NUL-terminated strings that outlive the call.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Elsewhere: the old folder moves aside, the new one takes its place, and the old one
/// goes (a crash between the two renames leaves the old output beside `b`).
#[cfg(not(target_os = "linux"))]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    let aside = b.with_extension("mlc-old");
    std::fs::rename(b, &aside)?;
    if let Err(e) = std::fs::rename(a, b) {
        let _ = std::fs::rename(&aside, b);
        return Err(e);
    }
    std::fs::rename(&aside, a)
}
