//! The command line: argument parsing and one module per subcommand. Only this layer
//! touches the terminal and the file system for output.

mod build;
mod catalog;
mod check;
mod explain;
mod fmt;
mod graph;
mod plan;

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Exit codes shared by all subcommands.
pub const EXIT_OK: u8 = 0;
pub const EXIT_SPEC_ERRORS: u8 = 1;
pub const EXIT_USAGE: u8 = 2;

#[derive(Parser, Debug)]
#[command(name = "mlc", version, about = "Compile .mlc ML-infrastructure specs: check, plan, build", long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check specs and print diagnostics (exit 0: clean or warnings, 1: errors, 2: usage/I-O)
    Check {
        /// Spec files; each is checked as its own spec with its imports
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Output format of the diagnostics
        #[arg(long, value_enum, default_value_t = DiagnosticFormat::Text)]
        format: DiagnosticFormat,
        /// Print the span-free syntax tree of each file instead of diagnostics
        #[arg(long)]
        dump_ast: bool,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Format specs in place (comments kept); with --check, only report
    Fmt {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Do not write; exit 1 and name the files that are not formatted
        #[arg(long)]
        check: bool,
    },
    /// Print the long explanation of a diagnostic code, e.g. `mlc explain E0203`
    Explain {
        /// A code such as E0203 or mlc::E0203; `all` lists every code
        code: String,
    },
    /// List real instance offerings with hourly prices, cheapest first
    Catalog(catalog::CatalogArgs),
    /// Plan the spec and write what is applied: Kubernetes manifests, Terraform, serverless
    /// configs and training-harness projects, plus plan.json (all or nothing)
    Build(build::BuildArgs),
    /// Plan the cheapest placement that meets every rule: per workload the choice, cost and
    /// rationale; line items; total against the budget (exit 1 when there is no plan)
    Plan(plan::PlanArgs),
    /// Print the resource graph (data flow, classes, where classes stop, planned placement)
    /// as Graphviz DOT or as SVG drawn without Graphviz
    Graph(graph::GraphArgs),
}

/// Options of every subcommand that loads a spec (with its imports).
#[derive(Args, Debug, Clone, Default)]
pub struct LoadArgs {
    /// Project root: imports may not leave it (default: each spec's own directory)
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
}

impl LoadArgs {
    pub fn options(&self) -> mlc::check::LoadOptions {
        mlc::check::LoadOptions {
            root: self.root.clone(),
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

/// Output formats of diagnostics (`check`, and later `plan`).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiagnosticFormat {
    Text,
    Json,
    /// SARIF 2.1.0, for code-scanning tools
    Sarif,
}

/// Whether to colour output: only on a terminal, and never when NO_COLOR is set.
pub fn use_color() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

/// Writes to stdout, ignoring a closed pipe (`mlc explain all | head`).
pub fn print_out(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// Writes to stderr, ignoring failures.
pub fn print_err(text: &str) {
    use std::io::Write;
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { EXIT_OK };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let code = match cli.command {
        Command::Check {
            files,
            format,
            dump_ast,
            load,
        } => check::run(&files, format, dump_ast, &load.options()),
        Command::Fmt { files, check } => fmt::run(&files, check),
        Command::Explain { code } => explain::run(&code),
        Command::Catalog(args) => catalog::run(args),
        Command::Plan(args) => plan::run(&args),
        Command::Build(args) => build::run(&args),
        Command::Graph(args) => graph::run(&args),
    };
    ExitCode::from(code)
}

/// Writes via a temporary file in the same folder and a rename, so a crash or a full
/// disk never leaves a half-written file.
pub fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, text.as_bytes())?;
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(tmp.path(), meta.permissions());
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Compiles the spec for a command that needs its model and graph: prints every
/// diagnostic, and returns the compilation only when there is no error; otherwise the
/// exit code, after saying `FILE: <outcome>: the spec has errors`.
pub fn compile_clean(
    file: &Path,
    options: &mlc::check::LoadOptions,
    outcome: &str,
) -> Result<mlc::compile::Compilation, u8> {
    let compilation = match mlc::compile::compile(&mlc::check::FsWorld, file, options) {
        Ok(c) => c,
        Err(message) => {
            print_err(&format!("error: {message}\n"));
            return Err(EXIT_USAGE);
        }
    };
    if !compilation.diagnostics.is_empty() {
        let style = if use_color() {
            mlc::diag::render::Style::Color
        } else {
            mlc::diag::render::Style::Plain
        };
        print_err(&mlc::diag::render::to_text(
            &compilation.diagnostics,
            &compilation.sources,
            style,
        ));
    }
    if compilation.has_errors() || compilation.model.is_none() || compilation.graph.is_none() {
        print_err(&format!(
            "{}: {outcome}: the spec has errors\n",
            file.display()
        ));
        return Err(EXIT_SPEC_ERRORS);
    }
    Ok(compilation)
}
