//! Loading a spec: the root file and its imports, confined to the project root.
//!
//! Specs from pull requests are checked in CI, so a spec must never make mlc read (and
//! then quote in a diagnostic) a file outside its project. Every import is therefore
//! refused, before any byte is read, when it is absolute, is not a `.mlc` file, or
//! resolves (through `..` or a symbolic link) outside the root; and every read goes
//! through [`World::read`], which refuses anything but a regular file and stops one byte
//! past the size limit.

use super::world::{lexical_normalise, ReadError, World};
use crate::diag::{codes, Diagnostic};
use crate::source::{FileId, SourceMap, Span};
use crate::syntax::{self, ast, MAX_FILE_BYTES};
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

/// How a spec is loaded; shared by every subcommand that loads one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// The project root: no import may leave it. `None`: the root spec's directory.
    pub root: Option<PathBuf>,
}

/// The parsed files of one spec and the diagnostics of loading them.
pub struct Loaded {
    /// The stdlib's sources followed by the spec's.
    pub sources: SourceMap,
    pub diagnostics: Vec<Diagnostic>,
    /// The spec's own files: `(file, syntax tree, is stdlib)` in load order.
    pub files: Vec<(FileId, ast::File, bool)>,
}

/// Where the root spec is and what confines it; built by [`resolve_root`].
pub struct RootSpec {
    /// The path as the user wrote it (diagnostics name files by it).
    pub path: PathBuf,
    /// Its canonical form, the key against cycles and double loading.
    pub canonical: PathBuf,
    /// The canonical project root.
    pub root: PathBuf,
    /// The project root as the user wrote it (or the spec's directory), for help texts.
    pub root_display: PathBuf,
}

/// Resolves the root spec and the project root. Fails (a usage error, not a diagnostic)
/// when either cannot be resolved or the spec lies outside the root.
pub fn resolve_root(
    world: &dyn World,
    path: &Path,
    options: &LoadOptions,
) -> Result<RootSpec, String> {
    let root_display = match &options.root {
        Some(root) => root.clone(),
        None => match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        },
    };
    let root = world.canonicalize(&root_display).map_err(|e| {
        format!(
            "cannot use {} as the project root: {e}",
            root_display.display()
        )
    })?;
    let canonical = world
        .canonicalize(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if !canonical.starts_with(&root) {
        return Err(format!(
            "{} is outside the project root {}",
            path.display(),
            root_display.display()
        ));
    }
    Ok(RootSpec {
        path: path.to_path_buf(),
        canonical,
        root,
        root_display,
    })
}

/// A root spec whose text is given directly (tests, docs snippets): it need not exist,
/// and its directory (or the current one) is the project root.
pub fn text_root(world: &dyn World, name: &str) -> RootSpec {
    let path = PathBuf::from(name);
    let root_display = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let root = world
        .canonicalize(&root_display)
        .unwrap_or_else(|_| lexical_normalise(&Path::new("/").join(&root_display)));
    let canonical = match path.file_name() {
        Some(file) => root.join(file),
        None => root.join("<text>"),
    };
    RootSpec {
        path,
        canonical,
        root,
        root_display,
    }
}

/// Reads the root spec's bytes with the same limits as every import.
pub fn read_root(world: &dyn World, spec: &RootSpec) -> Result<Vec<u8>, String> {
    world
        .read(&spec.canonical, MAX_FILE_BYTES)
        .map_err(|e| format!("cannot read {}: {e}", spec.path.display()))
}

/// Loads the root spec (its bytes already read) and everything it imports, after the
/// stdlib files that `sources` already holds.
pub fn load(world: &dyn World, spec: &RootSpec, bytes: Vec<u8>, sources: SourceMap) -> Loaded {
    let mut loader = Loader {
        world,
        root: &spec.root,
        root_display: &spec.root_display,
        sources,
        diagnostics: Vec::new(),
        files: Vec::new(),
        loaded: HashMap::new(),
        stack: Vec::new(),
    };
    loader.load(&spec.path, spec.canonical.clone(), bytes);
    Loaded {
        sources: loader.sources,
        diagnostics: loader.diagnostics,
        files: loader.files,
    }
}

struct Loader<'a> {
    world: &'a dyn World,
    root: &'a Path,
    root_display: &'a Path,
    sources: SourceMap,
    diagnostics: Vec<Diagnostic>,
    files: Vec<(FileId, ast::File, bool)>,
    /// Canonical path -> file, so that one file imported twice is loaded once.
    loaded: HashMap<PathBuf, FileId>,
    /// Canonical paths of the files being loaded, outermost first (for cycles).
    stack: Vec<PathBuf>,
}

impl Loader<'_> {
    /// Adds one file: `display` names it in diagnostics, `canonical` identifies it.
    fn load(&mut self, display: &Path, canonical: PathBuf, bytes: Vec<u8>) {
        let name = display.display().to_string();
        let project_path = canonical
            .strip_prefix(self.root)
            .unwrap_or(&canonical)
            .to_path_buf();
        if bytes.len() > MAX_FILE_BYTES {
            // Only the limit plus one byte was read; say so instead of quoting them.
            let id = self
                .sources
                .add_project_file(name, String::new(), project_path);
            self.loaded.insert(canonical, id);
            self.diagnostics.push(
                Diagnostic::new(
                    codes::TOO_LARGE,
                    Span::new(id, 0, 0),
                    format!(
                        "file is larger than the {} MiB limit",
                        MAX_FILE_BYTES / (1024 * 1024)
                    ),
                )
                .help("split the spec into several files with `import`"),
            );
            return;
        }
        let text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => {
                let offset = e.utf8_error().valid_up_to();
                let lossy = String::from_utf8_lossy(e.as_bytes()).into_owned();
                let id = self.sources.add_project_file(name, lossy, project_path);
                self.diagnostics.push(
                    Diagnostic::new(
                        codes::NOT_UTF8,
                        Span::new(id, offset, offset),
                        format!("file is not valid UTF-8 (invalid byte at offset {offset})"),
                    )
                    .help("save the file as UTF-8 text"),
                );
                self.loaded.insert(canonical, id);
                return;
            }
        };
        let id = self.sources.add_project_file(name, text, project_path);
        self.loaded.insert(canonical.clone(), id);
        let (file, diagnostics) = syntax::parse(id, &self.sources.get(id).text);
        self.diagnostics.extend(diagnostics);
        let imports: Vec<ast::Import> = file
            .items
            .iter()
            .filter_map(|i| match i {
                ast::Item::Import(import) => Some(import.clone()),
                _ => None,
            })
            .collect();
        self.files.push((id, file, false));
        self.stack.push(canonical.clone());
        for import in imports {
            self.import(display, &canonical, &import);
        }
        self.stack.pop();
    }

    fn import(&mut self, from_display: &Path, from: &Path, import: &ast::Import) {
        let display = from_display
            .parent()
            .unwrap_or(Path::new(""))
            .join(&import.path);
        let canonical = match self.confine(from, import, &display) {
            Ok(canonical) => canonical,
            Err(diagnostic) => return self.diagnostics.push(*diagnostic),
        };
        if self.stack.contains(&canonical) {
            let diagnostic = self.cycle(import, &canonical);
            return self.diagnostics.push(diagnostic);
        }
        if self.loaded.contains_key(&canonical) {
            return;
        }
        match self.world.read(&canonical, MAX_FILE_BYTES) {
            Ok(bytes) => self.load(&display, canonical, bytes),
            Err(ReadError::NotRegularFile(kind)) => self.diagnostics.push(
                Diagnostic::new(
                    codes::IMPORT_NOT_REGULAR,
                    import.path_span,
                    format!("cannot import `{}`: it is a {kind}", import.path),
                )
                .label("not a regular file")
                .help("only regular `.mlc` files can be imported; nothing was read from it"),
            ),
            Err(ReadError::Io(e)) => self.diagnostics.push(not_found(import, &e, &display)),
        }
    }

    /// The canonical path of an import, or the diagnostic that refuses it. Refusals that
    /// the text alone decides come first, so a refused file is never touched.
    fn confine(
        &self,
        from: &Path,
        import: &ast::Import,
        display: &Path,
    ) -> Result<PathBuf, Box<Diagnostic>> {
        let relative = Path::new(&import.path);
        let at = import.path_span;
        let absolute = relative
            .components()
            .any(|c| matches!(c, Component::RootDir | Component::Prefix(_)));
        if absolute {
            return Err(Box::new(
                Diagnostic::new(
                    codes::IMPORT_ABSOLUTE,
                    at,
                    format!("cannot import `{}`: the path is absolute", import.path),
                )
                .label("absolute path")
                .help(format!(
                    "write the path relative to the importing file; imports must stay inside the project root {}",
                    self.root_display.display()
                )),
            ));
        }
        if relative.extension().is_none_or(|e| e != "mlc") {
            return Err(Box::new(
                Diagnostic::new(
                    codes::IMPORT_NOT_MLC,
                    at,
                    format!(
                        "cannot import `{}`: only `.mlc` files can be imported",
                        import.path
                    ),
                )
                .label("not a `.mlc` file")
                .help("import a spec file whose name ends in `.mlc`"),
            ));
        }
        let from_dir = from.parent().unwrap_or(Path::new("/"));
        let joined = from_dir.join(relative);
        if !lexical_normalise(&joined).starts_with(self.root) {
            return Err(Box::new(self.outside_root(import, "goes above")));
        }
        let canonical = self
            .world
            .canonicalize(&joined)
            .map_err(|e| Box::new(not_found(import, &e, display)))?;
        if !canonical.starts_with(self.root) {
            return Err(Box::new(self.outside_root(
                import,
                "resolves (through a symbolic link) to a file outside",
            )));
        }
        Ok(canonical)
    }

    fn outside_root(&self, import: &ast::Import, how: &str) -> Diagnostic {
        Diagnostic::new(
            codes::IMPORT_OUTSIDE_ROOT,
            import.path_span,
            format!("cannot import `{}`: the path {how} the project root", import.path),
        )
        .label("outside the project root")
        .help(format!(
            "the project root is {} (the root spec's directory unless `--root DIR` is given); move the file into it or pass a wider `--root`",
            self.root_display.display()
        ))
    }

    /// An import of a file that is still being loaded: name every file of the cycle.
    fn cycle(&self, import: &ast::Import, target: &Path) -> Diagnostic {
        let start = self.stack.iter().position(|p| p == target).unwrap_or(0);
        let members: Vec<String> = self.stack[start..]
            .iter()
            .map(|p| self.relative_name(p))
            .collect();
        let message = match members.as_slice() {
            [only] => format!("import cycle: `{only}` imports itself"),
            [first, rest @ .., last] if !rest.is_empty() => format!(
                "import cycle between `{first}`, {} and `{last}`",
                rest.iter()
                    .map(|m| format!("`{m}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            _ => format!("import cycle between `{}`", members.join("` and `")),
        };
        let mut chain = members.clone();
        chain.push(self.relative_name(target));
        Diagnostic::new(codes::IMPORT_CYCLE, import.span, message)
            .label("closes the cycle")
            .help(format!(
                "the chain is {}; move the declarations they share into a file that each of them imports",
                chain.join(" -> ")
            ))
    }

    /// A canonical path relative to the project root, for messages.
    fn relative_name(&self, path: &Path) -> String {
        path.strip_prefix(self.root)
            .unwrap_or(path)
            .display()
            .to_string()
    }
}

fn not_found(import: &ast::Import, error: &str, display: &Path) -> Diagnostic {
    Diagnostic::new(
        codes::IMPORT_NOT_FOUND,
        import.path_span,
        format!("cannot import `{}`: {error}", import.path),
    )
    .label("cannot read this file")
    .help(format!(
        "paths are relative to the importing file; looked for {}",
        display.display()
    ))
}
