//! The template engine: handlebars in strict mode (a missing field is an error, not an
//! empty string), without HTML escaping; values reach YAML and HCL through the escaping
//! helpers below, deliberately. Templates live in `targets/<target>/` and are embedded in
//! the binary, so an installed `mlc` needs no checkout.

use super::EmitError;
use handlebars::{
    Context, Handlebars, Helper, HelperResult, Output, RenderContext, RenderErrorReason,
};
use serde::Serialize;
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
        let all = super::kubernetes::TEMPLATES
            .iter()
            .chain(super::terraform::TEMPLATES)
            .chain(super::serverless::TEMPLATES)
            .chain(super::harness::TEMPLATES);
        for (name, text) in all {
            hb.register_template_string(name, *text)
                .map_err(|e| format!("{name}: {e}"))?;
        }
        Ok(hb)
    })
}

/// Renders each of `names` with one `context`, converted to the engine's JSON once rather
/// than once per template (a cloud's Terraform context is large and feeds a dozen files),
/// on every core.
pub fn render_each<T: Serialize>(names: &[&str], context: &T) -> Result<Vec<String>, EmitError> {
    use rayon::prelude::*;
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
fn param_str(h: &Helper, helper: &'static str) -> Result<String, RenderErrorReason> {
    let value = h
        .param(0)
        .ok_or(RenderErrorReason::ParamNotFoundForIndex(helper, 0))?
        .value();
    Ok(match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

/// A YAML double-quoted scalar: JSON string syntax is valid YAML, and escapes quotes,
/// backslashes and control characters.
pub fn yaml_quote(text: &str) -> String {
    serde_json::Value::String(text.to_string()).to_string()
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
    #[test]
    fn quoting_escapes_what_would_break_the_format() {
        assert_eq!(super::yaml_quote("a\"b\nc: d"), "\"a\\\"b\\nc: d\"");
        assert_eq!(
            super::hcl_quote("${var.x} %{ if }"),
            "\"$${var.x} %%{ if }\""
        );
    }
}
