//! mlc: a compiler for ML infrastructure specs.
//!
//! The pipeline is one module per stage; see ARCHITECTURE.md.

pub mod diag;
pub mod source;
pub mod syntax;
pub mod check;
pub mod stdlib;
