//! Mesh export: glTF 2.0 binary (GLB) and Wavefront OBJ + MTL + PNG textures.
//!
//! Both writers take one [`ExportMesh`] in glTF's conventions, validate it before touching the
//! disk, and write every file atomically (temporary file beside it, then rename), so a failed or
//! interrupted export never leaves a partial file where a viewer or download would pick it up.
//! GLB is the primary format, checked in tests with Khronos' glTF-Validator.

pub mod atomic;
mod error;
mod glb;
mod mesh;
mod obj;
mod png;

pub use error::ExportError;
pub use glb::{to_glb_bytes, write_glb};
pub use mesh::{ExportMesh, PbrTextures};
pub use obj::write_obj;
