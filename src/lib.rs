//! mlc: a compiler for ML infrastructure specs.
//!
//! The pipeline is one module per stage; see ARCHITECTURE.md.

pub mod catalog;
pub mod check;
pub mod compile;
pub mod diag;
pub mod emit;
pub mod fmt;
pub mod graph;
pub mod optimize;
pub mod plan;
pub mod policy;
pub mod source;
pub mod stdlib;
pub mod syntax;

/// Drops `value` on another core. Freeing the syntax trees of a big spec, or half a
/// million placement candidates, takes tens of milliseconds that nothing needs to wait
/// for.
pub(crate) fn drop_in_background<T: Send + 'static>(value: T) {
    rayon::spawn(move || drop(value));
}
