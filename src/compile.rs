//! The driver: runs the stages in order and keeps what each one made, so that later
//! stages and the CLI never rebuild an earlier stage's output.

use crate::check::{self, LoadOptions, Model, World};
use crate::diag::{self, Diagnostic};
use crate::graph::{self, ResourceGraph};
use crate::source::SourceMap;
use std::path::Path;

/// Everything a compilation produced. `model` and `graph` are present when the spec
/// checked without errors; policy findings are in `diagnostics` either way.
pub struct Compilation {
    pub sources: SourceMap,
    pub diagnostics: Vec<Diagnostic>,
    pub model: Option<Model>,
    pub graph: Option<ResourceGraph>,
}

impl Compilation {
    pub fn has_errors(&self) -> bool {
        diag::has_errors(&self.diagnostics)
    }
}

/// Check, graph and policy for the spec rooted at `path`, its imports confined as
/// `options` say. Fails only when the root file or the project root cannot be used.
pub fn compile(
    world: &dyn World,
    path: &Path,
    options: &LoadOptions,
) -> Result<Compilation, String> {
    Ok(from_checked(check::check_with(world, path, options)?))
}

/// The same for source text given directly (tests, docs snippets).
pub fn compile_text(name: &str, text: &str) -> Compilation {
    from_checked(check::check_text(name, text))
}

fn from_checked(checked: check::Checked) -> Compilation {
    let check::Checked {
        sources,
        mut diagnostics,
        model,
    } = checked;
    let graph = model.as_ref().map(graph::build);
    if let (Some(model), Some(graph)) = (&model, &graph) {
        diagnostics.extend(crate::policy::check(model, graph));
        diag::sort(&mut diagnostics);
    }
    Compilation {
        sources,
        diagnostics,
        model,
        graph,
    }
}
