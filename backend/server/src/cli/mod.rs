//! Command-line entries other than `serve`.

pub mod reconstruct;
pub mod weights;
