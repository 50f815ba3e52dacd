//! Target `harness`: not written yet.

use super::names::Names;
use super::{BuildInput, EmitError, Output};

/// Templates of this target: `(name, text)`.
pub const TEMPLATES: &[(&str, &str)] = &[];

pub fn emit(_input: &BuildInput, _names: &mut Names) -> Result<Vec<Output>, Vec<EmitError>> {
    Err(vec![EmitError::EmptyTarget {
        target: "harness",
        why: "this target is not implemented yet".into(),
    }])
}
