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
