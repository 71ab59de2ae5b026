//! Small neural building blocks for the models: a multi-resolution hash-grid encoding, an MLP
//! and Adam with parameter groups whose state can be checkpointed.

pub mod adam;
pub mod hash_grid;
pub mod mlp;

pub use adam::{Adam, ParamGroup};
pub use hash_grid::{HashGrid, HashGridConfig};
pub use mlp::Mlp;
