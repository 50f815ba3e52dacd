//! The template engine: handlebars in strict mode (a missing field is an error, not an
//! empty string), without HTML escaping; values reach YAML and HCL through the escaping
//! helpers below, deliberately. Templates live in `targets/<target>/` and are embedded in
//! the binary, so an installed `mlc` needs no checkout.

use super::EmitError;
use handlebars::{
    template::TemplateElement, Context, Handlebars, Helper, HelperResult, Output, RenderContext,
    RenderErrorReason, Template,
};
use rayon::prelude::*;
use serde::Serialize;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// Starts compiling the templates on another thread, so that it overlaps the work
/// before the first render (checking and planning the spec) instead of following it.
/// The first render waits for it if it has not finished; compiling happens once either
/// way, and never waits for rayon's workers (see [`compile_all`]).
pub fn compile_in_background() {
    std::thread::spawn(|| {
        registry();
    });
}

fn registry() -> &'static Result<Handlebars<'static>, String> {
    static REGISTRY: OnceLock<Result<Handlebars<'static>, String>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut hb = Handlebars::new();
        hb.set_strict_mode(true);
        hb.register_escape_fn(handlebars::no_escape);
        hb.register_helper("yaml_str", Box::new(yaml_str));
        hb.register_helper("hcl_str", Box::new(hcl_str));
        hb.register_helper("json", Box::new(json));
        for (name, template) in compile_all(&all_templates()) {
            hb.register_template(name, template?);
        }
        Ok(hb)
    })
}

/// Every target's templates by name, as written in `targets/`.
fn all_templates() -> BTreeMap<&'static str, &'static str> {
    super::kubernetes::TEMPLATES
        .iter()
        .chain(super::terraform::TEMPLATES)
        .chain(super::serverless::TEMPLATES)
        .chain(super::harness::TEMPLATES)
        .copied()
        .collect()
}

/// A template's name, and the template or why it did not compile.
type Compiled<'a> = (&'a str, Result<Template, String>);

/// Every template compiled, on every core, in the order of `all`.
///
/// On threads of its own, not rayon's: renders on every rayon worker may be waiting for
/// the registry while this runs (it is compiled in the background while the spec is
/// planned), and rayon work queued from here would then never start. Nor can a rayon
/// worker compiling here pick up a render that waits for the registry it is building.
fn compile_all<'a>(all: &BTreeMap<&'a str, &'a str>) -> Vec<Compiled<'a>> {
    let entries: Vec<(&str, &str)> = all.iter().map(|(name, text)| (*name, *text)).collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    let compile = |(name, text): (&'a str, &'a str)| {
        let template = compile_in_pieces(&inline_partials(text, all, 0), name)
            .map_err(|e| format!("{name}: {e}"));
        (name, template)
    };
    // Template `i` goes to thread `i % threads`, which spreads the big ones.
    let mut compiled: Vec<(usize, Compiled)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let entries = &entries;
                scope.spawn(move || {
                    (t..entries.len())
                        .step_by(threads)
                        .map(|i| (i, compile(entries[i])))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| {
                worker.join().unwrap_or_else(|_| {
                    vec![(
                        0,
                        (
                            "templates",
                            Err("compiling a template panicked".to_string()),
                        ),
                    )]
                })
            })
            .collect()
    });
    compiled.sort_by_key(|(i, _)| *i);
    compiled.into_iter().map(|(_, compiled)| compiled).collect()
}

/// `text` compiled a piece at a time: the same template as compiling it whole, with runs of
/// text joined and empty ones left out (which renders the same).
///
/// The engine's parser works out each element's line and column by counting from the start
/// of the text, so compiling grows with the square of a template's length (inlined
/// partials make the Kubernetes ones long). Pieces end at line ends outside any block;
/// whether a tag stands alone on its line, which decides the whitespace it removes, is
/// settled within its line, and a piece's start counts as a line start as the text's start
/// does. A piece that is one block is compiled as its tags around its body, compiled in
/// pieces in turn. Expressions and blocks keep their lines and columns in `text`. Text
/// using the engine's rarer syntax (whitespace control, comments, raw and inverse blocks,
/// partial blocks, decorators, escapes, blanks inside tags), or that does not compile in
/// pieces, is compiled whole.
fn compile_in_pieces(text: &str, name: &str) -> Result<Template, handlebars::TemplateError> {
    let whole = || Template::compile_with_name(text, name.to_string()).map(normalised);
    let rare = [
        "~", "{{!", "{{{{", "{{^", "{{#>", "{{#*", "{{*", "{{ ", "\\{{",
    ];
    if rare.iter().any(|r| text.contains(r)) {
        return whole();
    }
    let mut template = Template::default();
    template.name = Some(name.to_string());
    match append_pieces(&mut template, text, name, 0) {
        Ok(()) => Ok(template),
        // A cut the line-by-line reading got wrong, or an error, which the engine then
        // reports at its place in the whole text.
        Err(_) => whole(),
    }
}

/// Appends the elements of `text`, whose first line is line `lines_before + 1` of the
/// template, to `template`.
fn append_pieces(
    template: &mut Template,
    text: &str,
    name: &str,
    mut lines_before: usize,
) -> Result<(), handlebars::TemplateError> {
    for piece in top_level_pieces(text) {
        let compiled = match lone_block(piece) {
            Some(block) => compile_lone_block(block, name, lines_before)?,
            None => {
                let mut compiled = Template::compile_with_name(piece, name.to_string())?;
                shift_lines(&mut compiled, lines_before);
                normalised(compiled)
            }
        };
        for (element, mapping) in compiled.elements.into_iter().zip(compiled.mapping) {
            push_joining_text(template, element, mapping);
        }
        lines_before += piece.matches('\n').count();
    }
    Ok(())
}

/// A block whose opening and closing tags stand alone on the first and last lines of its
/// piece, with no `else`.
struct LoneBlock<'a> {
    open: &'a str,
    body: &'a str,
    close: &'a str,
}

fn lone_block(piece: &str) -> Option<LoneBlock<'_>> {
    let (open, rest) = piece.split_at(piece.find('\n')? + 1);
    let last_start = rest.strip_suffix('\n')?.rfind('\n').map_or(0, |i| i + 1);
    let (body, close) = rest.split_at(last_start);
    let lone_tag = |line: &str, sigil: &str| {
        let tag = line.trim();
        tag.starts_with(sigil) && tag.ends_with("}}") && tag.matches("{{").count() == 1
    };
    // Never below zero after a line, and zero after the last.
    let (lowest, last) = tag_depths(body).fold((0, None), |(lowest, _), depth| {
        (depth.min(lowest), Some(depth))
    });
    let balanced = lowest >= 0 && last == Some(0);
    (lone_tag(open, "{{#") && lone_tag(close, "{{/") && balanced && !has_own_else(body))
        .then_some(LoneBlock { open, body, close })
}

/// Whether `body` has an `else` of the block around it (rather than of a block inside it).
fn has_own_else(body: &str) -> bool {
    let mut depth = 0;
    tags(body).any(|tag| {
        depth += depth_change(tag);
        depth == 0 && tag.trim_start().starts_with("else")
    })
}

/// The block depth after each line of `text`, from 0 before it.
fn tag_depths(text: &str) -> impl Iterator<Item = isize> + '_ {
    text.split_inclusive('\n').scan(0, |depth, line| {
        *depth += tags(line).map(depth_change).sum::<isize>();
        Some(*depth)
    })
}

/// The text after each `{{` of `text`: each tag, and what follows it.
fn tags(text: &str) -> impl Iterator<Item = &str> {
    text.match_indices("{{").map(|(i, _)| &text[i + 2..])
}

/// How a tag changes the block depth: an opening tag by 1, a closing one by -1.
fn depth_change(tag: &str) -> isize {
    match tag.as_bytes().first() {
        Some(b'#') => 1,
        Some(b'/') => -1,
        _ => 0,
    }
}

/// The block's tags compiled around an empty body, and its body compiled in pieces.
fn compile_lone_block(
    block: LoneBlock,
    name: &str,
    lines_before: usize,
) -> Result<Template, handlebars::TemplateError> {
    let mut tags =
        Template::compile_with_name(format!("{}{}", block.open, block.close), name.to_string())?;
    shift_lines(&mut tags, lines_before);
    let mut body = Template::default();
    append_pieces(&mut body, block.body, name, lines_before + 1)?;
    let helper = tags.elements.iter_mut().find_map(|element| match element {
        TemplateElement::HelperBlock(helper) => Some(helper),
        _ => None,
    });
    if let Some(helper) = helper {
        helper.template = Some(body);
    }
    Ok(tags)
}

/// `template` with runs of text joined and empty ones left out, its blocks' too.
fn normalised(mut template: Template) -> Template {
    for element in &mut template.elements {
        if let TemplateElement::HelperBlock(helper) = element {
            helper.template = helper.template.take().map(normalised);
            helper.inverse = helper.inverse.take().map(normalised);
        }
    }
    // The engine records no place for the links of an `else if` chain; a list without
    // one place per element is left as it is rather than cut to the shorter.
    if template.mapping.len() != template.elements.len() {
        return template;
    }
    let mut out = Template::default();
    out.name = template.name;
    for (element, mapping) in template.elements.into_iter().zip(template.mapping) {
        push_joining_text(&mut out, element, mapping);
    }
    out
}

/// Moves every line `template` records, its blocks' included, down by `lines`.
fn shift_lines(template: &mut Template, lines: usize) {
    for mapping in &mut template.mapping {
        mapping.0 += lines;
    }
    for element in &mut template.elements {
        let blocks: Vec<&mut Template> = match element {
            TemplateElement::HelperBlock(helper) => helper
                .template
                .iter_mut()
                .chain(helper.inverse.iter_mut())
                .collect(),
            TemplateElement::DecoratorBlock(decorator)
            | TemplateElement::PartialBlock(decorator) => decorator.template.iter_mut().collect(),
            _ => Vec::new(),
        };
        for block in blocks {
            shift_lines(block, lines);
        }
    }
}

/// Appends `element`, joined to the text before it when both are text, and not at all
/// when it is empty text.
fn push_joining_text(
    template: &mut Template,
    element: TemplateElement,
    mapping: handlebars::template::TemplateMapping,
) {
    match (template.elements.last_mut(), &element) {
        (_, TemplateElement::RawString(text)) if text.is_empty() => {}
        (Some(TemplateElement::RawString(before)), TemplateElement::RawString(text)) => {
            before.push_str(text)
        }
        _ => {
            template.elements.push(element);
            template.mapping.push(mapping);
        }
    }
}

/// `text` cut after line ends where every block opened has been closed, into pieces of at
/// least a few hundred bytes, and before each line that opens a block there, so that a
/// long block is a piece of its own.
fn top_level_pieces(text: &str) -> Vec<&str> {
    const PIECE_BYTES: usize = 512;
    let mut pieces = Vec::new();
    let (mut start, mut at, mut depth_before) = (0, 0, 0);
    for (line, depth) in text.split_inclusive('\n').zip(tag_depths(text)) {
        if depth_before == 0 && depth > 0 && at > start {
            pieces.push(&text[start..at]);
            start = at;
        }
        at += line.len();
        if depth <= 0 && at - start >= PIECE_BYTES {
            pieces.push(&text[start..at]);
            start = at;
        }
        depth_before = depth;
    }
    if start < text.len() || pieces.is_empty() {
        pieces.push(&text[start..]);
    }
    pieces
}

/// `text` with every partial that stands on a line of its own (`  {{> k8s/pod pod}}`)
/// replaced by the partial's text, indented as the engine indents a partial, inside
/// `{{#with pod}}`. The output is the same; the cost is not: the engine copies a
/// partial's context, and then every item an `#each` inside it visits, which made the
/// copies most of the time of rendering a thousand services. `#with` and `#each` on the
/// context refer to it by path instead. A partial used any other way is left to the
/// engine.
fn inline_partials(text: &str, templates: &BTreeMap<&str, &str>, depth: usize) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let indent_len = line.len() - line.trim_start_matches([' ', '\t']).len();
        let (indent, tag) = line.split_at(indent_len);
        let inner = tag
            .trim_end()
            .strip_prefix("{{>")
            .and_then(|t| t.strip_suffix("}}"))
            .filter(|t| !t.contains("{{") && !t.contains("}}"));
        let mut words = inner.map(str::split_whitespace).into_iter().flatten();
        let (name, param) = (words.next(), words.next());
        let partial = name.and_then(|n| templates.get(n));
        // Partials do not include themselves; the depth bound only stops a cycle.
        let (Some(partial), None, true) = (partial, words.next(), depth < 8) else {
            out.push_str(line);
            continue;
        };
        let body = inline_partials(partial, templates, depth + 1);
        if let Some(param) = param {
            out.push_str(&format!("{{{{#with {param}}}}}\n"));
        }
        for body_line in body.split_inclusive('\n') {
            out.push_str(indent);
            out.push_str(body_line);
        }
        if !body.ends_with('\n') {
            out.push('\n');
        }
        if param.is_some() {
            out.push_str("{{/with}}\n");
        }
    }
    out
}

/// Renders each of `names` with one `context`, converted to the engine's JSON once rather
/// than once per template (a cloud's Terraform context is large and feeds a dozen files),
/// on every core.
pub fn render_each<T: Serialize>(names: &[&str], context: &T) -> Result<Vec<String>, EmitError> {
    let first = names.first().copied().unwrap_or_default();
    let (hb, shared) = engine_and_context(first, context)?;
    let rendered: Vec<Result<String, EmitError>> = names
        .par_iter()
        .map(|name| render_with(hb, name, &shared))
        .collect();
    // Collected in order first, so that the error reported is the first template's.
    rendered.into_iter().collect()
}

/// Renders template `name` with `context`.
pub fn render<T: Serialize>(name: &str, context: &T) -> Result<String, EmitError> {
    let (hb, shared) = engine_and_context(name, context)?;
    render_with(hb, name, &shared)
}

/// The registry, and `context` as the engine's JSON; errors name `template`.
fn engine_and_context<T: Serialize>(
    template: &str,
    context: &T,
) -> Result<(&'static Handlebars<'static>, Context), EmitError> {
    let error = |message: String| EmitError::Template {
        template: template.to_string(),
        message,
    };
    let hb = registry()
        .as_ref()
        .map_err(|message| error(message.clone()))?;
    let json = serde_json::to_value(context).map_err(|e| error(e.to_string()))?;
    Ok((hb, Context::from(json)))
}

fn render_with(hb: &Handlebars, name: &str, context: &Context) -> Result<String, EmitError> {
    hb.render_with_context(name, context)
        .map_err(|e| EmitError::Template {
            template: name.to_string(),
            message: e.to_string(),
        })
}

/// The helper's first parameter as text: a string as it is, anything else as JSON.
fn param_str<'h>(h: &'h Helper, helper: &'static str) -> Result<Cow<'h, str>, RenderErrorReason> {
    let value = h
        .param(0)
        .ok_or(RenderErrorReason::ParamNotFoundForIndex(helper, 0))?
        .value();
    Ok(match value {
        serde_json::Value::String(s) => Cow::Borrowed(s),
        other => Cow::Owned(other.to_string()),
    })
}

/// A YAML double-quoted scalar: JSON string syntax is valid YAML, and escapes quotes,
/// backslashes and control characters.
pub fn yaml_quote(text: &str) -> String {
    // Serialising a string cannot fail.
    serde_json::to_string(text).unwrap_or_default()
}

/// An HCL quoted string: JSON escapes plus HCL's template sequences (`${`, `%{`)
/// doubled so a value can never become an interpolation.
pub fn hcl_quote(text: &str) -> String {
    yaml_quote(text).replace("${", "$${").replace("%{", "%%{")
}

fn yaml_str(
    h: &Helper,
    _: &Handlebars,
    _: &Context,
    _: &mut RenderContext,
    out: &mut dyn Output,
) -> HelperResult {
    out.write(&yaml_quote(&param_str(h, "yaml_str")?))?;
    Ok(())
}

fn hcl_str(
    h: &Helper,
    _: &Handlebars,
    _: &Context,
    _: &mut RenderContext,
    out: &mut dyn Output,
) -> HelperResult {
    out.write(&hcl_quote(&param_str(h, "hcl_str")?))?;
    Ok(())
}

/// Any value as JSON (lists and maps in HCL and YAML flow style).
fn json(
    h: &Helper,
    _: &Handlebars,
    _: &Context,
    _: &mut RenderContext,
    out: &mut dyn Output,
) -> HelperResult {
    let value = h
        .param(0)
        .ok_or_else(|| RenderErrorReason::ParamNotFoundForIndex("json", 0))?
        .value();
    out.write(&value.to_string())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    /// Compiling in pieces is an optimisation only: every template, partials inlined,
    /// compiles to the same elements (text runs joined) at the same lines and columns.
    #[test]
    fn templates_compile_in_pieces_as_they_compile_whole() {
        use handlebars::Template;
        let all = super::all_templates();
        let mut split = 0;
        for (name, text) in &all {
            let text = super::inline_partials(text, &all, 0);
            let once = Template::compile_with_name(&text, name.to_string()).unwrap();
            let mut whole = super::normalised(once);
            let mut pieces = super::compile_in_pieces(&text, name).unwrap();
            forget_text_places(&mut whole);
            forget_text_places(&mut pieces);
            assert_eq!(pieces, whole, "{name}");
            split += usize::from(super::top_level_pieces(&text).len() > 1);
        }
        assert!(split >= 20, "only {split} templates were split");
    }

    /// Templates written to catch what a wrong cut would change: `else if` chains, `#each`
    /// with `else`, tags that do not stand alone, closing and opening tags on one line,
    /// indented blocks, no final newline. Each is long enough to be cut, and renders the
    /// same compiled in pieces as compiled whole.
    #[test]
    fn edge_cases_render_the_same_compiled_in_pieces() {
        let filler: String = (0..40).map(|i| format!("line {i}: {{{{v}}}}\n")).collect();
        let cases = [
            "{{#if a}}\nA\n{{else if b}}\nB\n{{else}}\nC\n{{/if}}\n",
            "{{#each xs}}\n  - {{this}}\n{{else}}\n  none\n{{/each}}\n",
            "k: {{#if a}}yes{{else}}no{{/if}}\n  {{#if b}}\n    indented\n  {{/if}}\n",
            "{{#if a}}\nA\n{{/if}}{{#if b}}\nB\n{{/if}}\n",
            "{{#with o}}\n{{#each xs}}\n{{#if @first}}first {{/if}}{{this}} of {{../name}}\n{{/each}}\n{{/with}}\n",
            "{{#unless a}}\nnot a\n{{/unless}}\nend {{v}}",
        ];
        let context = serde_json::json!({
            "a": false, "b": true, "v": "x", "xs": [1, 2],
            "o": {"name": "n", "xs": ["p", "q"]},
        });
        let mut engine = handlebars::Handlebars::new();
        engine.set_strict_mode(true);
        for (i, case) in cases.iter().enumerate() {
            let text = format!("{filler}{case}{filler}{case}");
            assert!(
                super::top_level_pieces(&text).len() > 2,
                "case {i} is not cut"
            );
            engine.register_template_string("whole", &text).unwrap();
            let pieces = super::compile_in_pieces(&text, "pieces").unwrap();
            engine.register_template("pieces", pieces);
            assert_eq!(
                engine.render("pieces", &context).unwrap(),
                engine.render("whole", &context).unwrap(),
                "case {i}: {case}"
            );
        }
    }

    /// Text runs are joined across pieces, and one cut at a piece's start is placed at its
    /// column 1, not after its leading blanks: text is never named in an error, so the
    /// place recorded for it is left out of the comparison.
    fn forget_text_places(template: &mut handlebars::Template) {
        use handlebars::template::TemplateElement;
        for (element, mapping) in template.elements.iter_mut().zip(&mut template.mapping) {
            match element {
                TemplateElement::RawString(_) => (mapping.0, mapping.1) = (0, 0),
                TemplateElement::HelperBlock(helper) => {
                    helper.template.iter_mut().for_each(forget_text_places);
                    helper.inverse.iter_mut().for_each(forget_text_places);
                }
                _ => {}
            }
        }
    }

    /// A cut inside a block, or after a tag that does not stand alone, would change the
    /// whitespace the engine removes; the pieces keep blocks and lines whole.
    #[test]
    fn pieces_end_at_line_ends_outside_blocks() {
        let item = "{{#each xs}}\n  - {{this}}\n{{/each}}\n".repeat(2) + &"x".repeat(600);
        let text = format!(
            "{{{{#if a}}}}\n{item}\n{{{{/if}}}}\ntail: {{{{b}}}}\n{}",
            "y\n".repeat(100)
        );
        let pieces = super::top_level_pieces(&text);
        assert_eq!(pieces.concat(), text);
        assert_eq!(pieces.len(), 2, "{pieces:?}");
        assert!(pieces[0].ends_with("{{/if}}\n"), "{pieces:?}");
        assert_eq!(super::top_level_pieces("{{~a}}\n").len(), 1);
    }

    /// Inlining is an optimisation only: the engine must render the same text either
    /// way, nested partials and partials without a context included.
    #[test]
    fn inlined_partials_render_as_the_engine_renders_partials() {
        let templates: BTreeMap<&str, &str> = [
            ("meta", "name: {{yaml_str name}}\nlabels:\n{{#each labels}}\n  {{key}}: {{value}}\n{{/each}}\n"),
            ("pod", "spec:\n  {{> meta meta}}\n  ports:\n{{#each ports}}\n    - {{this}} of {{../meta.name}}\n{{/each}}\n"),
            ("plain", "n: {{n}}\n"),
            ("main", "kind: Job\n{{> meta meta}}\ntemplate:\n    {{> pod pod}}\n{{> plain}}\nend: {{n}}\n"),
        ]
        .into();
        let context = serde_json::json!({
            "n": 3,
            "meta": {"name": "a\"b", "labels": [{"key": "k", "value": "v"}]},
            "pod": {
                "meta": {"name": "p", "labels": []},
                "ports": [80, 443],
            },
        });
        let mut engine = super::registry().clone().expect("templates compile");
        for (name, text) in &templates {
            engine.register_template_string(name, *text).unwrap();
        }
        let expected = engine.render("main", &context).unwrap();
        let inlined = super::inline_partials(templates["main"], &templates, 0);
        assert!(!inlined.contains("{{>"), "{inlined}");
        engine.register_template_string("inlined", inlined).unwrap();
        assert_eq!(engine.render("inlined", &context).unwrap(), expected);
    }

    #[test]
    fn quoting_escapes_what_would_break_the_format() {
        assert_eq!(super::yaml_quote("a\"b\nc: d"), "\"a\\\"b\\nc: d\"");
        assert_eq!(
            super::hcl_quote("${var.x} %{ if }"),
            "\"$${var.x} %%{ if }\""
        );
    }
}
