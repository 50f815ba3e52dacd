//! Pipelines and lineage: who produces each dataset, cycles through produced datasets,
//! and what a served image or artifact declares about the data it was trained on.
//! These rules need the whole model, so they run after it is built.

use super::model::{Input, Model, ModelSource};
use super::CheckedDecl;
use crate::diag::{codes, Diagnostic};
use crate::source::Span;
use std::collections::{BTreeMap, HashMap};

/// Every pipeline and lineage rule; spans come from the checked declarations.
pub fn check(model: &Model, decls: &[CheckedDecl], diagnostics: &mut Vec<Diagnostic>) {
    let decl_of: HashMap<(&str, &str), &CheckedDecl> = decls
        .iter()
        .filter_map(|d| Some(((d.kind, d.name.as_deref()?), d)))
        .collect();
    let producers = producers(model, &decl_of, diagnostics);
    unplaced_datasets(model, &producers, &decl_of, diagnostics);
    cycles(model, &decl_of, diagnostics);
    served_lineage(model, &decl_of, diagnostics);
}

/// The batch job that writes each produced dataset; a second writer is an error.
fn producers<'m>(
    model: &'m Model,
    decl_of: &HashMap<(&str, &str), &CheckedDecl>,
    diagnostics: &mut Vec<Diagnostic>,
) -> BTreeMap<&'m str, &'m str> {
    let mut producers: BTreeMap<&str, &str> = BTreeMap::new();
    for batch in &model.batches {
        let Some(output) = batch.output.as_deref() else {
            continue;
        };
        if let Some(first) = producers.get(output) {
            let span = attr_span(decl_of, "batch", &batch.name, "output");
            let first_span = attr_span(decl_of, "batch", first, "output");
            diagnostics.push(
                Diagnostic::new(
                    codes::TWO_PRODUCERS,
                    span,
                    format!(
                        "dataset `{output}` is written by both `batch.{first}` and `batch.{}`",
                        batch.name
                    ),
                )
                .label("second writer")
                .secondary(first_span, "first writer")
                .help("give each job its own output dataset; a later job can read both"),
            );
            continue;
        }
        producers.insert(output, &batch.name);
    }
    producers
}

/// A dataset without `location` must be produced by a job, which places it.
fn unplaced_datasets(
    model: &Model,
    producers: &BTreeMap<&str, &str>,
    decl_of: &HashMap<(&str, &str), &CheckedDecl>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    for dataset in &model.datasets {
        let produced = producers.contains_key(dataset.name.as_str());
        let decl = decl_of.get(&("dataset", dataset.name.as_str()));
        // A `location` that failed to check is already reported; it is not missing.
        let broken = decl.is_some_and(|d| has_error_within(diagnostics, d.span));
        if dataset.location.is_none() && !produced && !broken {
            diagnostics.push(
                Diagnostic::new(
                    codes::UNPLACED_DATASET,
                    dataset.span,
                    format!("dataset `{}` has no `location` and no job produces it", dataset.name),
                )
                .label("where does it live?")
                .help(format!(
                    "add `location = aws.us_east_1` (or an on-prem site), or write it from a batch job with `output = dataset.{}`",
                    dataset.name
                )),
            );
        }
        if let (Some(deid), false) = (&dataset.deidentified, produced) {
            let span = decl_of
                .get(&("dataset", dataset.name.as_str()))
                .and_then(|d| d.fields.blocks.iter().find(|b| b.kind == "deidentified"))
                .map_or(deid.span, |b| b.span);
            diagnostics.push(
                Diagnostic::new(
                    codes::DEIDENTIFIED_NOTHING,
                    span,
                    format!("`deidentified` on dataset `{}`, which no job produces", dataset.name),
                )
                .label("no class flows in to stop")
                .help("de-identification stops classes that flow in from a producer; for data that is already anonymous, set `classification = internal` or `public`"),
            );
        }
    }
}

/// A node of the pipeline graph: `(kind, name)`.
type Step<'m> = (&'static str, &'m str);

/// Cycles through produced datasets: `batch a` reads what `batch b` writes and the
/// other way round. Each cycle is reported once, with every hop.
fn cycles(
    model: &Model,
    decl_of: &HashMap<(&str, &str), &CheckedDecl>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let mut next: BTreeMap<Step, Vec<Step>> = BTreeMap::new();
    for train in &model.trains {
        for data in &train.data {
            next.entry(("dataset", data))
                .or_default()
                .push(("train", &train.name));
        }
    }
    for batch in &model.batches {
        for input in &batch.inputs {
            let from = match input {
                Input::Dataset(d) => ("dataset", d.as_str()),
                Input::Train(t) => ("train", t.as_str()),
            };
            next.entry(from).or_default().push(("batch", &batch.name));
        }
        if let Some(output) = &batch.output {
            next.entry(("batch", &batch.name))
                .or_default()
                .push(("dataset", output));
        }
    }
    let mut state: BTreeMap<Step, Visit> = BTreeMap::new();
    let starts: Vec<Step> = next.keys().copied().collect();
    for start in starts {
        let mut path = Vec::new();
        if let Some(cycle) = find_cycle(start, &next, &mut state, &mut path) {
            diagnostics.push(cycle_diagnostic(&cycle, decl_of));
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Visit {
    Open,
    Done,
}

/// Depth-first search that returns the first cycle reachable from `step`, as the list
/// of steps from the cycle's first node back to it. Iterative in spirit but bounded by
/// the number of declarations, which the loader already limits.
fn find_cycle<'m>(
    step: Step<'m>,
    next: &BTreeMap<Step<'m>, Vec<Step<'m>>>,
    state: &mut BTreeMap<Step<'m>, Visit>,
    path: &mut Vec<Step<'m>>,
) -> Option<Vec<Step<'m>>> {
    match state.get(&step) {
        Some(Visit::Done) => return None,
        // Open but not on this path: left open by a search that already reported the
        // cycle it leads to.
        Some(Visit::Open) => {
            let from = path.iter().position(|s| *s == step)?;
            return Some(path[from..].to_vec());
        }
        None => {}
    }
    state.insert(step, Visit::Open);
    path.push(step);
    for &to in next.get(&step).map(Vec::as_slice).unwrap_or_default() {
        if let Some(cycle) = find_cycle(to, next, state, path) {
            // Leave the remaining nodes of this search open: they are on the cycle or
            // lead to it, and reporting it once is enough.
            return Some(cycle);
        }
    }
    path.pop();
    state.insert(step, Visit::Done);
    None
}

fn cycle_diagnostic(cycle: &[Step], decl_of: &HashMap<(&str, &str), &CheckedDecl>) -> Diagnostic {
    let mut names: Vec<String> = cycle.iter().map(|(k, n)| format!("{k}.{n}")).collect();
    names.push(names[0].clone());
    // The primary label sits on a job's `output`: writing there closes the loop.
    let writer = cycle.iter().find(|(k, _)| *k == "batch").copied();
    let primary = writer.map_or(Span::default(), |(_, n)| {
        attr_span(decl_of, "batch", n, "output")
    });
    let mut d = Diagnostic::new(
        codes::PIPELINE_CYCLE,
        primary,
        format!("the pipeline has a cycle: {}", names.join(" -> ")),
    )
    .label("this output feeds back into its own inputs");
    for (i, (kind, name)) in cycle.iter().enumerate() {
        let to = cycle[(i + 1) % cycle.len()];
        let attr = match (*kind, to.0) {
            ("batch", _) => continue,
            (_, "batch") => "inputs",
            _ => "data",
        };
        let span = attr_span(decl_of, to.0, to.1, attr);
        d = d.secondary(span, format!("reads `{kind}.{name}`"));
    }
    d.help("a dataset must be produced before it is read; split the loop into a new dataset version (e.g. `features_v2`)")
}

/// Services and functions that serve an image or artifact say where its model came
/// from; lineage given for a `train.x` model is redundant and may contradict it.
fn served_lineage(
    model: &Model,
    decl_of: &HashMap<(&str, &str), &CheckedDecl>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let frameworks = model
        .compliance
        .as_ref()
        .map(|c| c.frameworks.join(", "))
        .filter(|f| !f.is_empty());
    let served = model
        .services
        .iter()
        .map(|s| ("service", s.name.as_str(), Some(&s.model), &s.lineage))
        .chain(
            model
                .functions
                .iter()
                .map(|f| ("function", f.name.as_str(), f.model.as_ref(), &f.lineage)),
        );
    for (kind, name, source, lineage) in served {
        let declared = !lineage.holds.is_empty() || lineage.derived_from.is_some();
        match source {
            Some(ModelSource::Train(train)) if declared => {
                let attr = if lineage.derived_from.is_some() {
                    "derived_from"
                } else {
                    "holds"
                };
                diagnostics.push(
                    Diagnostic::new(
                        codes::REDUNDANT_LINEAGE,
                        attr_span(decl_of, kind, name, attr),
                        format!("`{attr}` on {kind} `{name}`, whose model is `train.{train}`"),
                    )
                    .label("lineage is already known")
                    .secondary(
                        attr_span(decl_of, kind, name, "model"),
                        "the model comes from this training job",
                    )
                    .help(format!(
                        "remove `{attr}`: classes flow from `train.{train}` along the graph"
                    )),
                );
            }
            Some(ModelSource::Image(_)) if !declared => {
                if let Some(frameworks) = &frameworks {
                    diagnostics.push(
                        Diagnostic::new(
                            codes::UNKNOWN_LINEAGE,
                            attr_span(decl_of, kind, name, "model"),
                            format!("{kind} `{name}` serves a model of unknown lineage in a spec under {frameworks}"),
                        )
                        .label("which data was this model trained on?")
                        .help("say where it comes from with `derived_from = train.name`, or which classes its training data had with `holds = [personal_data]` (`holds = [internal]` for no regulated data)"),
                    );
                }
            }
            _ => {}
        }
    }
}

fn has_error_within(diagnostics: &[Diagnostic], span: Span) -> bool {
    diagnostics.iter().any(|d| {
        d.severity() == crate::diag::Severity::Error
            && d.labels.first().is_some_and(|l| {
                l.span.file == span.file && l.span.start >= span.start && l.span.end <= span.end
            })
    })
}

fn attr_span(
    decl_of: &HashMap<(&str, &str), &CheckedDecl>,
    kind: &str,
    name: &str,
    attr: &str,
) -> Span {
    decl_of.get(&(kind, name)).map_or(Span::default(), |d| {
        if d.fields.values.contains_key(attr) {
            d.fields.span_of(attr)
        } else {
            d.header
        }
    })
}
