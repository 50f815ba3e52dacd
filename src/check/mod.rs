//! Stage 2, check: load a spec with its imports and the embedded standard library,
//! resolve names, check every attribute's type, unit and domain, and build the typed
//! [`Model`]. All errors of all files are reported in one run.

mod domain;
pub mod fields;
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
    pub blocks: Vec<NamedBlock>,
    pub alerts: Vec<AlertRule>,
    pub rules: Vec<RequireRule>,
    pub span: Span,
}

impl Fields {
    pub fn get(&self, name: &str) -> Option<&Val> {
        self.values.get(name).map(|(v, _)| v)
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
#[derive(Debug, Default)]
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
    let spec = load::text_root(&FsWorld, name);
    check_spec(&FsWorld, &spec, text.as_bytes().to_vec())
}

fn check_spec(world: &dyn World, spec: &load::RootSpec, bytes: Vec<u8>) -> Checked {
    let (sources, files, diagnostics) = stdlib_files();
    let loaded = load::load(world, spec, bytes, sources, files, diagnostics);
    finish(loaded)
}

/// The stdlib's sources and syntax trees. The stdlib always takes the first file ids, so
/// its trees are parsed once per process and cloned afterwards (`mlc check a.mlc b.mlc`,
/// tests, fuzzing).
fn stdlib_files() -> (SourceMap, Vec<(FileId, ast::File, bool)>, Vec<Diagnostic>) {
    static PARSED: OnceLock<Vec<(ast::File, Vec<Diagnostic>)>> = OnceLock::new();
    let parsed = PARSED.get_or_init(|| {
        crate::stdlib::FILES
            .iter()
            .enumerate()
            .map(|(index, (_, text))| syntax::parse(FileId(index as u32), text))
            .collect()
    });
    let mut sources = SourceMap::default();
    let mut files = Vec::new();
    let mut all_diagnostics = Vec::new();
    for ((name, text), (file, diagnostics)) in crate::stdlib::FILES.iter().zip(parsed) {
        let id = sources.add(*name, *text);
        let (file, diagnostics) = if file.span.file == id {
            (file.clone(), diagnostics.clone())
        } else {
            syntax::parse(id, text)
        };
        all_diagnostics.extend(diagnostics);
        files.push((id, file, true));
    }
    (sources, files, all_diagnostics)
}

fn finish(loaded: load::Loaded) -> Checked {
    let load::Loaded {
        sources,
        mut diagnostics,
        files,
    } = loaded;
    let (symbols, accepted) = collect(&files, &mut diagnostics);
    let mut decls = Vec::new();
    for (_, file, in_stdlib) in &files {
        for item in &file.items {
            if let ast::Item::Decl(decl) = item {
                if !accepted.contains(&decl.span) {
                    continue;
                }
                if let Some(checked) = check_decl(&symbols, &mut diagnostics, decl, *in_stdlib) {
                    decls.push(checked);
                }
            }
        }
    }
    let model = model::build(&decls, &mut diagnostics);
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
    files: &[(FileId, ast::File, bool)],
    diagnostics: &mut Vec<Diagnostic>,
) -> (Symbols, std::collections::HashSet<Span>) {
    let mut symbols = Symbols::default();
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
                d = d.help(suggest::did_you_mean(&decl.kind.text, names).unwrap_or_else(|| {
                    "expected one of: project, budget, clouds, compliance, security, onprem, dataset, train, service, function, placement".to_string()
                }));
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
    (symbols, accepted)
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
