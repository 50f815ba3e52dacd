//! `mlc graph FILE`: the resource graph as Graphviz DOT or as SVG (drawn without
//! Graphviz) on stdout, with each workload's planned placement when the spec plans.

use super::{print_err, print_out, EXIT_OK, EXIT_SPEC_ERRORS};
use clap::ValueEnum;
use mlc::check::model::Model;
use mlc::graph::draw::{self, Placements};
use mlc::graph::ResourceGraph;
use mlc::plan::{self, PlanOptions};
use std::path::{Path, PathBuf};

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum GraphFormat {
    /// Graphviz DOT (`dot -Tsvg`, `dot -Tpng` render it)
    Dot,
    /// A standalone SVG image, laid out by mlc itself (no Graphviz needed)
    Svg,
}

#[derive(clap::Args, Debug)]
pub struct GraphArgs {
    /// The spec file
    pub file: PathBuf,
    /// Output format
    #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
    pub format: GraphFormat,
    #[command(flatten)]
    pub load: super::LoadArgs,
}

pub fn run(args: &GraphArgs) -> u8 {
    let compilation = match super::compile_clean(&args.file, &args.load.options(), "no graph") {
        Ok(c) => c,
        Err(code) => return code,
    };
    let (Some(model), Some(graph)) = (compilation.model.as_ref(), compilation.graph.as_ref())
    else {
        return EXIT_SPEC_ERRORS;
    };
    let title = model
        .project
        .as_ref()
        .map_or_else(|| "mlc".to_string(), |p| p.name.clone());
    let placements = placements(model, graph, &args.file);
    let drawing = draw::draw(graph, &title, &placements);
    print_out(&match args.format {
        GraphFormat::Dot => mlc::graph::dot::to_dot(&drawing),
        GraphFormat::Svg => mlc::graph::svg::to_svg(&drawing),
    });
    EXIT_OK
}

/// What `mlc plan` would place each workload on; none, with the reason on stderr, when
/// the spec does not plan (the graph itself is still drawn, and `mlc graph` exits 0).
fn placements(model: &Model, graph: &ResourceGraph, file: &Path) -> Placements {
    let rules = mlc::policy::placement::rules(model, graph);
    let options = PlanOptions {
        // The catalog's age is not drawn, so the date does not matter.
        today_days: None,
        spec_name: file.display().to_string(),
        limits: None,
    };
    match plan::plan(model, graph, &rules, &options) {
        Ok(plan) => plan::render::placements_by_node(&plan),
        Err(error) => {
            print_err(&format!(
                "{}: the graph shows no placements, because the spec does not plan:\n{}",
                file.display(),
                super::plan::describe(&error)
            ));
            Placements::new()
        }
    }
}
