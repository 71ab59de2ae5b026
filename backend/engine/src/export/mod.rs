//! Mesh export: glTF 2.0 binary (GLB) and Wavefront OBJ + MTL + PNG textures.
