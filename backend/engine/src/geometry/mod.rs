//! Mesh geometry: the tetrahedral grid DMTet optimizes over, marching tetrahedra to extract its
//! surface, and vertex normals.

pub mod chamfer;
pub mod components;
pub mod laplacian;
pub mod marching_tets;
pub mod normals;
pub mod rows;
pub mod similarity;
pub mod tangents;
pub mod tet_grid;

pub use marching_tets::{TriangleMesh, marching_tets};
pub use normals::vertex_normals;
pub use tet_grid::TetGrid;
