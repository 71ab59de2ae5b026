//! Checkpoints: safetensors files loaded into tch modules whose parameter paths equal the
//! checkpoint's keys, strictly (every key declared, every declared key present, shapes equal).

mod convert;
mod error;
mod strict;

pub use convert::pickle_to_safetensors;
pub use error::WeightsError;
pub use strict::{LoadReport, declared_shapes, load_strict, param, store_as_half};
