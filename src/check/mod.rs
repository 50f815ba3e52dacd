//! Stage 2, check: load a spec with its imports and the embedded standard library,
//! resolve names, check every attribute's type, unit and domain, and build the typed
//! [`Model`]. All errors of all files are reported in one run.

mod consistency;
mod domain;
pub mod fields;
mod lineage;
pub mod load;
pub mod model;
pub mod schema;
pub mod suggest;
pub mod units;
mod value;
pub mod world;

use crate::diag::{self, codes, Diagnostic};
use crate::source::{FileId, SourceMap, Span};
use crate::syntax::{self, ast};
pub use load::LoadOptions;
pub use model::Model;
use schema::NameRule;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::OnceLock;
use units::{Exact, Quantity};
pub use world::{FsWorld, MemoryWorld, ReadError, World};

/// A checked value with units normalised.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Str(String),
    Int(i128),
    Num(Exact),
    Bool(bool),
    Qty(Quantity),
    Word(String),
    /// `(kind, name)` for declarations, `(cloud, region)` for regions.
    Ref(String, String),
    List(Vec<(Val, Span)>),
    Map(BTreeMap<String, String>),
    Range(Box<Val>, Box<Val>),
    Accel(String, u64),
    Ctor(String, Fields),
    Via(String, Option<String>),
    Fallback(String, Option<String>),
    Every(Quantity),
}

impl Val {
    pub fn as_exact(&self) -> Option<Exact> {
        match self {
            Val::Int(n) => Some(Exact::int(*n)),
            Val::Num(n) => Some(*n),
            Val::Qty(q) => Some(q.value),
            _ => None,
        }
    }
}

/// The checked attributes, blocks, alerts and rules of one body.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Fields {
    pub values: BTreeMap<&'static str, (Val, Span)>,
    /// The attributes whose value is the schema's default, not written in the spec.
    pub defaulted: Vec<&'static str>,
    pub blocks: Vec<NamedBlock>,
    pub alerts: Vec<AlertRule>,
    pub rules: Vec<RequireRule>,
    pub span: Span,
}

impl Fields {
    pub fn get(&self, name: &str) -> Option<&Val> {
        self.values.get(name).map(|(v, _)| v)
    }

    /// Whether the spec writes `name` (rather than taking its default).
    pub fn written(&self, name: &str) -> bool {
        self.values.contains_key(name) && !self.defaulted.contains(&name)
    }

    pub fn span_of(&self, name: &str) -> Span {
        self.values.get(name).map_or(self.span, |(_, s)| *s)
    }

    pub fn block(&self, kind: &str) -> Option<&Fields> {
        self.blocks
            .iter()
            .find(|b| b.kind == kind)
            .map(|b| &b.fields)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NamedBlock {
    pub kind: &'static str,
    pub name: Option<String>,
    pub span: Span,
    pub fields: Fields,
}

impl NamedBlock {
    fn key(&self) -> String {
        match &self.name {
            Some(n) => format!("{} {}", self.kind, n),
            None => self.kind.to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct AlertRule {
    pub thresholds: Vec<Exact>,
    pub notify: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RequireRule {
    pub conditions: Vec<(String, Option<Val>)>,
    pub fields: Fields,
    pub span: Span,
}

/// Every declared name, for reference resolution. Nested maps so that lookups by
/// `&str` allocate nothing.
#[derive(Debug, Default, Clone)]
pub struct Symbols {
    /// kind -> name -> header span; singletons are stored under the name "".
    decls: HashMap<String, HashMap<String, Span>>,
    /// cloud -> region -> span
    regions: HashMap<String, BTreeMap<String, Span>>,
}

impl Symbols {
    pub fn has(&self, kind: &str, name: &str) -> bool {
        self.get(kind, name).is_some()
    }

    fn get(&self, kind: &str, name: &str) -> Option<Span> {
        self.decls.get(kind)?.get(name).copied()
    }

    fn insert(&mut self, kind: &str, name: &str, span: Span) {
        self.decls
            .entry(kind.to_string())
            .or_default()
            .insert(name.to_string(), span);
    }

    pub fn has_region(&self, cloud: &str, region: &str) -> bool {
        self.regions
            .get(cloud)
            .is_some_and(|r| r.contains_key(region))
    }

    /// Names of one kind, sorted (for suggestions that do not depend on hash order).
    pub fn names<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        let mut names: Vec<&str> = self
            .decls
            .get(kind)
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        names.sort_unstable();
        names.into_iter()
    }

    /// The cloud that has a region of this name, if exactly one does.
    pub fn cloud_of_region(&self, region: &str) -> Option<&str> {
        let mut clouds = self
            .regions
            .iter()
            .filter(|(_, r)| r.contains_key(region))
            .map(|(c, _)| c.as_str());
        let first = clouds.next()?;
        clouds.next().is_none().then_some(first)
    }

    pub fn region_names<'a>(&'a self, cloud: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.regions
            .get(cloud)
            .into_iter()
            .flat_map(|r| r.keys().map(String::as_str))
    }
}

/// A declaration after checking.
#[derive(Debug, Clone)]
pub struct CheckedDecl {
    pub kind: &'static str,
    pub name: Option<String>,
    pub span: Span,
    pub header: Span,
    pub fields: Fields,
    pub in_stdlib: bool,
}

/// Everything the check stage produces.
pub struct Checked {
    pub sources: SourceMap,
    pub diagnostics: Vec<Diagnostic>,
    /// Present when there were no errors (warnings allowed).
    pub model: Option<Model>,
}

/// Checks the spec rooted at `path`, confined to the spec's directory. Fails only when
/// the root file cannot be read.
pub fn check(world: &dyn World, path: &Path) -> Result<Checked, String> {
    check_with(world, path, &LoadOptions::default())
}

/// Checks the spec rooted at `path` with explicit loading options (`--root`). Fails only
/// when the root file or the project root cannot be used.
pub fn check_with(
    world: &dyn World,
    path: &Path,
    options: &LoadOptions,
) -> Result<Checked, String> {
    let spec = load::resolve_root(world, path, options)?;
    let bytes = load::read_root(world, &spec)?;
    Ok(check_spec(world, &spec, bytes))
}

/// Checks source text given directly (tests, docs snippets); imports are read from disk,
/// confined to the directory of `name` (or the current one).
pub fn check_text(name: &str, text: &str) -> Checked {
    check_text_in(&FsWorld, name, text)
}

/// Checks source text given directly, reading its imports from `world` (the fuzz target
/// passes an empty [`MemoryWorld`] so that no input can reach the disk).
pub fn check_text_in(world: &dyn World, name: &str, text: &str) -> Checked {
    let spec = load::text_root(world, name);
    check_spec(world, &spec, text.as_bytes().to_vec())
}

fn check_spec(world: &dyn World, spec: &load::RootSpec, bytes: Vec<u8>) -> Checked {
    let stdlib = checked_stdlib();
    let loaded = load::load(world, spec, bytes, stdlib.sources.clone());
    finish(stdlib, loaded)
}

/// The embedded standard library, parsed, collected and checked. It is the same for
/// every spec: the stdlib comes first (its files take the first ids and its names are
/// collected before any spec's), refers only to itself, and checks cleanly, so nothing
/// a spec declares changes it. Computed once per process (`mlc check a.mlc b.mlc`,
/// tests, fuzzing), which makes checking a small spec several times faster.
struct CheckedStdlib {
    sources: SourceMap,
    symbols: Symbols,
    decls: Vec<CheckedDecl>,
    diagnostics: Vec<Diagnostic>,
}

fn checked_stdlib() -> &'static CheckedStdlib {
    static CHECKED: OnceLock<CheckedStdlib> = OnceLock::new();
    CHECKED.get_or_init(|| {
        let (sources, files, mut diagnostics) = stdlib_files();
        let mut symbols = Symbols::default();
        let decls = check_files(&mut symbols, &files, &mut diagnostics);
        CheckedStdlib {
            sources,
            symbols,
            decls,
            diagnostics,
        }
    })
}

/// The stdlib's sources and syntax trees, parsed.
fn stdlib_files() -> (SourceMap, Vec<(FileId, ast::File, bool)>, Vec<Diagnostic>) {
    let mut sources = SourceMap::default();
    let mut files = Vec::new();
    let mut diagnostics = Vec::new();
    for (name, text) in crate::stdlib::FILES {
        let id = sources.add(*name, *text);
        let (file, parse_diagnostics) = syntax::parse(id, text);
        diagnostics.extend(parse_diagnostics);
        files.push((id, file, true));
    }
    (sources, files, diagnostics)
}

/// Adds the names of `files` to `symbols` and checks their declarations.
fn check_files(
    symbols: &mut Symbols,
    files: &[(FileId, ast::File, bool)],
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<CheckedDecl> {
    use rayon::prelude::*;
    let accepted = &collect(symbols, files, diagnostics);
    let to_check: Vec<(&ast::Decl, bool)> = files
        .iter()
        .flat_map(|(_, file, in_stdlib)| {
            file.items.iter().filter_map(move |item| match item {
                ast::Item::Decl(decl) if accepted.contains(&decl.span) => Some((decl, *in_stdlib)),
                _ => None,
            })
        })
        .collect();
    // Declarations are checked against the finished symbol table alone: on every core,
    // joined in file order.
    let symbols: &Symbols = symbols;
    let checked: Vec<(Option<CheckedDecl>, Vec<Diagnostic>)> = to_check
        .into_par_iter()
        .map(|(decl, in_stdlib)| {
            let mut found = Vec::new();
            let checked = check_decl(symbols, &mut found, decl, in_stdlib);
            (checked, found)
        })
        .collect();
    let mut decls = Vec::with_capacity(checked.len());
    for (decl, found) in checked {
        diagnostics.extend(found);
        decls.extend(decl);
    }
    decls
}

/// Checks a spec's own files against the checked stdlib and builds the model.
fn finish(stdlib: &CheckedStdlib, loaded: load::Loaded) -> Checked {
    let load::Loaded {
        sources,
        mut diagnostics,
        files,
    } = loaded;
    diagnostics.extend(stdlib.diagnostics.iter().cloned());
    let mut symbols = stdlib.symbols.clone();
    let mut decls = stdlib.decls.clone();
    decls.extend(check_files(&mut symbols, &files, &mut diagnostics));
    let model = model::build(&decls, &mut diagnostics);
    consistency::check(&model, &decls, &mut diagnostics);
    crate::drop_in_background((files, decls));
    diag::sort(&mut diagnostics);
    let model = (!diag::has_errors(&diagnostics)).then_some(model);
    Checked {
        sources,
        diagnostics,
        model,
    }
}

/// Builds the symbol table and reports unknown kinds, name rules and duplicates. Returns
/// the spans of the declarations worth checking further (not duplicates or unknown).
fn collect(
    symbols: &mut Symbols,
    files: &[(FileId, ast::File, bool)],
    diagnostics: &mut Vec<Diagnostic>,
) -> std::collections::HashSet<Span> {
    let mut accepted = std::collections::HashSet::new();
    for (_, file, _) in files {
        for item in &file.items {
            let ast::Item::Decl(decl) = item else {
                continue;
            };
            let Some(schema) = schema::kind(&decl.kind.text) else {
                let mut d = Diagnostic::new(
                    codes::UNKNOWN_KIND,
                    decl.kind.span,
                    format!("unknown declaration kind `{}`", decl.kind.text),
                )
                .label("unknown kind");
                let names = schema::KINDS.iter().map(|k| k.kind);
                d = d.help(
                    suggest::did_you_mean(&decl.kind.text, names).unwrap_or_else(|| {
                        format!("expected one of: {}", schema::kind_names(false).join(", "))
                    }),
                );
                diagnostics.push(d);
                continue;
            };
            let name = match (schema.name, &decl.name) {
                (NameRule::Required | NameRule::NamedSingleton, Some(n)) => n.text.clone(),
                (NameRule::Singleton, None) => String::new(),
                (NameRule::Required | NameRule::NamedSingleton, None) => {
                    diagnostics.push(
                        Diagnostic::new(
                            codes::NAME_RULE,
                            decl.kind.span,
                            format!("`{}` needs a name", schema.kind),
                        )
                        .label("name missing")
                        .help(format!("write `{} my_name {{ ... }}`", schema.kind)),
                    );
                    continue;
                }
                (NameRule::Singleton, Some(n)) => {
                    diagnostics.push(
                        Diagnostic::new(
                            codes::NAME_RULE,
                            n.span,
                            format!("`{}` takes no name", schema.kind),
                        )
                        .label("remove this name")
                        .help(format!(
                            "write `{} {{ ... }}`; there is one per spec",
                            schema.kind
                        )),
                    );
                    continue;
                }
            };
            let singleton = matches!(schema.name, NameRule::Singleton | NameRule::NamedSingleton);
            let key_name = if singleton { "" } else { name.as_str() };
            if let Some(first) = symbols.get(schema.kind, key_name) {
                let (code, message, help) = if singleton {
                    (
                        codes::DUPLICATE_SINGLETON,
                        format!("`{}` is declared more than once", schema.kind),
                        format!(
                            "a spec has one `{}`, imports included; move these settings into the first declaration and delete this one",
                            schema.kind
                        ),
                    )
                } else {
                    (
                        codes::DUPLICATE_DECL,
                        format!("{} `{}` is declared twice", schema.kind, name),
                        format!(
                            "names are unique per kind (references such as `{}.{}` name one declaration); rename or delete one of them",
                            schema.kind, name
                        ),
                    )
                };
                diagnostics.push(
                    Diagnostic::new(
                        code,
                        decl.kind
                            .span
                            .join(decl.name.as_ref().map_or(decl.kind.span, |n| n.span)),
                        message,
                    )
                    .label("declared again here")
                    .secondary(first, "first declared here")
                    .help(help),
                );
                continue;
            }
            let header = decl
                .name
                .as_ref()
                .map_or(decl.kind.span, |n| decl.kind.span.join(n.span));
            symbols.insert(schema.kind, key_name, header);
            accepted.insert(decl.span);
            if singleton && !name.is_empty() {
                symbols.insert(schema.kind, &name, header);
            }
            for stmt in &decl.body.stmts {
                if let ast::Stmt::Block(block) = stmt {
                    if let (true, Some(region)) = (block.kind.text == "region", &block.name) {
                        symbols
                            .regions
                            .entry(name.clone())
                            .or_default()
                            .entry(region.text.clone())
                            .or_insert(region.span);
                    }
                }
            }
        }
    }
    accepted
}

fn check_decl(
    symbols: &Symbols,
    diagnostics: &mut Vec<Diagnostic>,
    decl: &ast::Decl,
    in_stdlib: bool,
) -> Option<CheckedDecl> {
    let schema = schema::kind(&decl.kind.text)?;
    let header = decl
        .name
        .as_ref()
        .map_or(decl.kind.span, |n| decl.kind.span.join(n.span));
    let what = match &decl.name {
        Some(n) => format!("{} `{}`", schema.kind, n.text),
        None => format!("`{}`", schema.kind),
    };
    let mut fields = fields::check_body(
        symbols,
        diagnostics,
        schema.attrs,
        schema.blocks,
        &decl.body,
        &what,
        header,
    )?;
    for stmt in &decl.body.stmts {
        match stmt {
            ast::Stmt::Alert(alert) if schema.allows_alert => {
                if let Some(rule) = domain::alert(symbols, diagnostics, alert) {
                    fields.alerts.push(rule);
                }
            }
            ast::Stmt::Require(require) if schema.allows_require => {
                if let Some(rule) = domain::require(symbols, diagnostics, require) {
                    fields.rules.push(rule);
                }
            }
            ast::Stmt::Alert(a) => misplaced(diagnostics, a.span, "alert", "budget", &what),
            ast::Stmt::Require(r) => misplaced(diagnostics, r.span, "require", "framework", &what),
            _ => {}
        }
    }
    Some(CheckedDecl {
        kind: schema.kind,
        name: decl.name.as_ref().map(|n| n.text.clone()),
        span: decl.span,
        header,
        fields,
        in_stdlib,
    })
}

fn misplaced(diagnostics: &mut Vec<Diagnostic>, span: Span, what: &str, home: &str, here: &str) {
    diagnostics.push(
        Diagnostic::new(
            codes::STATEMENT_NOT_ALLOWED,
            span,
            format!("`{what}` is not allowed in {here}"),
        )
        .label("misplaced statement")
        .help(format!("`{what}` statements belong in `{home}`")),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How specs were checked before the stdlib was cached: the stdlib and the spec
    /// collected into one fresh symbol table and checked together.
    fn check_all_together(name: &str, text: &str) -> Checked {
        let spec = load::text_root(&FsWorld, name);
        let (sources, mut files, mut diagnostics) = stdlib_files();
        let loaded = load::load(&FsWorld, &spec, text.as_bytes().to_vec(), sources);
        diagnostics.extend(loaded.diagnostics);
        files.extend(loaded.files);
        let decls = check_files(&mut Symbols::default(), &files, &mut diagnostics);
        let model = model::build(&decls, &mut diagnostics);
        consistency::check(&model, &decls, &mut diagnostics);
        diag::sort(&mut diagnostics);
        let model = (!diag::has_errors(&diagnostics)).then_some(model);
        Checked {
            sources: loaded.sources,
            diagnostics,
            model,
        }
    }

    fn corpus() -> Vec<(String, String)> {
        let mut specs = Vec::new();
        for dir in ["tests/ui", "tests/ui/policy", "examples"] {
            let mut paths: Vec<_> = std::fs::read_dir(dir)
                .expect("corpus directory")
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "mlc"))
                .collect();
            paths.sort();
            for path in paths {
                let bytes = std::fs::read(&path).expect("read");
                let text = String::from_utf8_lossy(&bytes).into_owned();
                specs.push((path.display().to_string(), text));
            }
        }
        // Specs that reuse the stdlib's names: duplicates of its declarations, a new
        // cloud with regions named like the stdlib's, and references into both.
        for text in [
            "accelerator A100 { memory = 1 GiB, bf16_tflops = 1 }\ncloud aws {\n  title = \"x\"\n}\n",
            "cloud mine {\n  title = \"Mine\"\n  region us_east_1 { geography = us_east }\n}\n\
             dataset d {\n  size = 1 GB\n  location = us_east_1\n}\n",
            "framework gdpr {\n  title = \"again\"\n}\nproject p {\n  owner = \"a@b.c\"\n}\n",
        ] {
            specs.push(("stdlib_names.mlc".to_string(), text.to_string()));
        }
        specs
    }

    #[test]
    fn the_cached_stdlib_checks_every_spec_exactly_as_checking_it_together() {
        let specs = corpus();
        assert!(specs.len() > 80, "corpus too small: {}", specs.len());
        for (name, text) in specs {
            let cached = check_text(&name, &text);
            let together = check_all_together(&name, &text);
            assert_eq!(cached.diagnostics, together.diagnostics, "{name}");
            assert_eq!(
                format!("{:?}", cached.model),
                format!("{:?}", together.model),
                "{name}"
            );
        }
    }
}
