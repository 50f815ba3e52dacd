//! The template engine: handlebars in strict mode (a missing field is an error, not an
//! empty string), without HTML escaping; values reach YAML and HCL through the escaping
//! helpers below, deliberately. Templates live in `targets/<target>/` and are embedded in
//! the binary, so an installed `mlc` needs no checkout.

use super::EmitError;
use handlebars::{
    Context, Handlebars, Helper, HelperResult, Output, RenderContext, RenderErrorReason, Template,
};
use rayon::prelude::*;
use serde::Serialize;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::OnceLock;

fn registry() -> &'static Result<Handlebars<'static>, String> {
    static REGISTRY: OnceLock<Result<Handlebars<'static>, String>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut hb = Handlebars::new();
        hb.set_strict_mode(true);
        hb.register_escape_fn(handlebars::no_escape);
        hb.register_helper("yaml_str", Box::new(yaml_str));
        hb.register_helper("hcl_str", Box::new(hcl_str));
        hb.register_helper("json", Box::new(json));
        let all: BTreeMap<&str, &str> = super::kubernetes::TEMPLATES
            .iter()
            .chain(super::terraform::TEMPLATES)
            .chain(super::serverless::TEMPLATES)
            .chain(super::harness::TEMPLATES)
            .copied()
            .collect();
        // Compiling is slow for big templates (the parser finds each element's line
        // and column from the start of the text): compile them on every core.
        let compiled: Vec<(&str, Result<Template, String>)> = all
            .par_iter()
            .map(|(name, text)| {
                let template =
                    Template::compile_with_name(inline_partials(text, &all, 0), name.to_string())
                        .map_err(|e| format!("{name}: {e}"));
                (*name, template)
            })
            .collect();
        for (name, template) in compiled {
            hb.register_template(name, template?);
        }
        Ok(hb)
    })
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
