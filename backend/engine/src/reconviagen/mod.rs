//! ReconViaGen (TRELLIS + VGGT), ported module by module from the reference implementation and
//! checked against its outputs (tests/data/goldens/reconviagen). So far: the two image encoders
//! (DINOv2 ViT-L/14 with registers, the VGGT aggregator), view preprocessing, and stage 1 (the
//! GGC condition, the flow DiT, the sampler, the occupancy decoder, `stage1::Stage1::run`).

pub mod aggregator;
pub mod attention;
pub mod condition;
pub mod cross_block;
pub mod decoder;
pub mod dinov2;
pub mod flexicubes;
pub mod flow;
pub mod gaussian_decoder;
pub mod glb;
pub mod layers;
pub mod mesh_decoder;
pub mod pipeline;
pub mod precision;
pub mod preprocess;
pub mod rope;
pub mod sampler;
pub mod slat_condition;
pub mod slat_flow;
pub mod sparse;
pub mod stage1;
pub mod stage2;
pub mod swin_transformer;
pub mod trace;

pub use aggregator::{Aggregator, AggregatorConfig};
pub use dinov2::{Dinov2, Dinov2Config};
pub use precision::Precision;
pub use trace::Trace;
