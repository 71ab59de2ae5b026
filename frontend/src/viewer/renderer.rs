//! Owns the WebGL2 context, the program and one mesh's buffers; draws a frame for a camera.

use wasm_bindgen::JsCast;
use web_sys::{
    HtmlCanvasElement, ImageBitmap, WebGl2RenderingContext as Gl, WebGlBuffer, WebGlProgram,
    WebGlTexture, WebGlUniformLocation, WebGlVertexArrayObject,
};

use super::camera::OrbitCamera;
use super::mesh::Mesh;
use super::program;

/// Clear colour (linear, matches the page's dark viewer background).
pub const BACKGROUND: [f32; 3] = [0.09, 0.10, 0.12];

/// A WebGL2 renderer bound to one canvas.
pub struct Renderer {
    gl: Gl,
    canvas: HtmlCanvasElement,
    program: WebGlProgram,
    vao: WebGlVertexArrayObject,
    buffers: Vec<WebGlBuffer>,
    index_buffer: Option<WebGlBuffer>,
    index_count: i32,
    /// Line-list of the mesh's edges, built when wireframe is first shown for a mesh.
    edges: Option<(WebGlBuffer, i32)>,
    edge_source: Vec<u32>,
    wireframe: bool,
    texture: Option<WebGlTexture>,
    normal_texture: Option<WebGlTexture>,
    /// Whether the current mesh has tangents, without which a normal map is not applied.
    has_tangents: bool,
    u_view_proj: Option<WebGlUniformLocation>,
    u_eye: Option<WebGlUniformLocation>,
    u_textured: Option<WebGlUniformLocation>,
    u_normal_mapped: Option<WebGlUniformLocation>,
    u_mode: Option<WebGlUniformLocation>,
}

impl Renderer {
    /// Creates a WebGL2 context on `canvas`; fails with a readable reason when WebGL2 is missing.
    pub fn new(canvas: &HtmlCanvasElement) -> Result<Self, String> {
        let gl: Gl = canvas
            .get_context("webgl2")
            .map_err(|e| format!("WebGL2 context request failed: {e:?}"))?
            .ok_or("this browser has no WebGL2")?
            .dyn_into()
            .map_err(|_| "the canvas returned a context that is not WebGL2")?;
        let program = program::build(&gl)?;
        let vao = gl.create_vertex_array().ok_or("cannot create a vertex array")?;
        let u_view_proj = gl.get_uniform_location(&program, "u_view_proj");
        let u_eye = gl.get_uniform_location(&program, "u_eye");
        let u_textured = gl.get_uniform_location(&program, "u_textured");
        let u_mode = gl.get_uniform_location(&program, "u_mode");
        let u_normal_mapped = gl.get_uniform_location(&program, "u_normal_mapped");
        // Texture units: base colour on 0, normal map on 1.
        gl.use_program(Some(&program));
        gl.uniform1i(gl.get_uniform_location(&program, "u_base").as_ref(), 0);
        gl.uniform1i(gl.get_uniform_location(&program, "u_normal_map").as_ref(), 1);
        Ok(Self {
            gl,
            canvas: canvas.clone(),
            program,
            vao,
            buffers: Vec::new(),
            index_buffer: None,
            index_count: 0,
            edges: None,
            edge_source: Vec::new(),
            wireframe: false,
            texture: None,
            normal_texture: None,
            has_tangents: false,
            u_view_proj,
            u_eye,
            u_textured,
            u_normal_mapped,
            u_mode,
        })
    }

    /// Shows the triangle edges over the shaded surface, or not.
    pub fn set_wireframe(&mut self, on: bool) -> Result<(), String> {
        self.wireframe = on;
        if on && self.edges.is_none() && !self.edge_source.is_empty() {
            let lines = Mesh::edges_of(&self.edge_source);
            let gl = &self.gl;
            let buffer = gl.create_buffer().ok_or("cannot create an index buffer")?;
            gl.bind_vertex_array(None);
            gl.bind_buffer(Gl::ELEMENT_ARRAY_BUFFER, Some(&buffer));
            gl.buffer_data_with_u8_array(
                Gl::ELEMENT_ARRAY_BUFFER,
                bytes_of(&lines),
                Gl::STATIC_DRAW,
            );
            gl.bind_buffer(Gl::ELEMENT_ARRAY_BUFFER, None);
            let count = i32::try_from(lines.len()).map_err(|_| "mesh too large for WebGL")?;
            self.edges = Some((buffer, count));
        }
        Ok(())
    }

    /// Uses `base_color` (sRGB) and `normal` (linear, glTF's tangent-space convention) as the
    /// textures of the current mesh's UVs; `None` goes back to vertex colours and to the
    /// interpolated normals.
    pub fn set_textures(
        &mut self,
        base_color: Option<&ImageBitmap>,
        normal: Option<&ImageBitmap>,
    ) -> Result<(), String> {
        for old in [self.texture.take(), self.normal_texture.take()].into_iter().flatten() {
            self.gl.delete_texture(Some(&old));
        }
        self.texture = base_color.map(|i| upload(&self.gl, i, Gl::SRGB8_ALPHA8)).transpose()?;
        self.normal_texture = normal.map(|i| upload(&self.gl, i, Gl::RGBA8)).transpose()?;
        Ok(())
    }

    /// Uploads `mesh`, replacing the previous one.
    pub fn set_mesh(&mut self, mesh: &Mesh) -> Result<(), String> {
        let gl = &self.gl;
        for buffer in self.buffers.drain(..) {
            gl.delete_buffer(Some(&buffer));
        }
        if let Some((edges, _)) = self.edges.take() {
            gl.delete_buffer(Some(&edges));
        }
        if let Some(indices) = self.index_buffer.take() {
            gl.delete_buffer(Some(&indices));
        }
        gl.bind_vertex_array(Some(&self.vao));
        if mesh.uvs.len() == mesh.positions.len() && !mesh.uvs.is_empty() {
            let buffer = gl.create_buffer().ok_or("cannot create a vertex buffer")?;
            gl.bind_buffer(Gl::ARRAY_BUFFER, Some(&buffer));
            gl.buffer_data_with_u8_array(
                Gl::ARRAY_BUFFER,
                bytes_of(mesh.uvs.as_flattened()),
                Gl::STATIC_DRAW,
            );
            gl.enable_vertex_attrib_array(3);
            gl.vertex_attrib_pointer_with_i32(3, 2, Gl::FLOAT, false, 0, 0);
            self.buffers.push(buffer);
        } else {
            gl.disable_vertex_attrib_array(3);
        }
        self.has_tangents =
            mesh.tangents.len() == mesh.positions.len() && !mesh.tangents.is_empty();
        if self.has_tangents {
            let buffer = gl.create_buffer().ok_or("cannot create a vertex buffer")?;
            gl.bind_buffer(Gl::ARRAY_BUFFER, Some(&buffer));
            gl.buffer_data_with_u8_array(
                Gl::ARRAY_BUFFER,
                bytes_of(mesh.tangents.as_flattened()),
                Gl::STATIC_DRAW,
            );
            gl.enable_vertex_attrib_array(4);
            gl.vertex_attrib_pointer_with_i32(4, 4, Gl::FLOAT, false, 0, 0);
            self.buffers.push(buffer);
        } else {
            gl.disable_vertex_attrib_array(4);
        }
        for (location, data) in [(0u32, &mesh.positions), (1, &mesh.normals), (2, &mesh.colors)] {
            let buffer = gl.create_buffer().ok_or("cannot create a vertex buffer")?;
            gl.bind_buffer(Gl::ARRAY_BUFFER, Some(&buffer));
            gl.buffer_data_with_u8_array(
                Gl::ARRAY_BUFFER,
                bytes_of(data.as_flattened()),
                Gl::STATIC_DRAW,
            );
            gl.enable_vertex_attrib_array(location);
            gl.vertex_attrib_pointer_with_i32(location, 3, Gl::FLOAT, false, 0, 0);
            self.buffers.push(buffer);
        }
        let indices = gl.create_buffer().ok_or("cannot create an index buffer")?;
        gl.bind_buffer(Gl::ELEMENT_ARRAY_BUFFER, Some(&indices));
        gl.buffer_data_with_u8_array(
            Gl::ELEMENT_ARRAY_BUFFER,
            bytes_of(&mesh.indices),
            Gl::STATIC_DRAW,
        );
        self.index_buffer = Some(indices);
        gl.bind_vertex_array(None);
        self.index_count =
            i32::try_from(mesh.indices.len()).map_err(|_| "mesh too large for WebGL")?;
        self.edge_source = mesh.indices.clone();
        self.set_wireframe(self.wireframe)
    }

    /// Matches the drawing buffer to the canvas' displayed size × device pixel ratio.
    fn fit_to_display(&self) -> (i32, i32) {
        let ratio = web_sys::window().map_or(1.0, |w| w.device_pixel_ratio());
        let width = ((self.canvas.client_width() as f64 * ratio).round() as u32).max(1);
        let height = ((self.canvas.client_height() as f64 * ratio).round() as u32).max(1);
        if self.canvas.width() != width || self.canvas.height() != height {
            self.canvas.set_width(width);
            self.canvas.set_height(height);
        }
        (width as i32, height as i32)
    }

    /// Draws one frame.
    pub fn draw(&self, camera: &OrbitCamera) {
        let gl = &self.gl;
        let (width, height) = self.fit_to_display();
        gl.viewport(0, 0, width, height);
        let [r, g, b] = BACKGROUND;
        gl.clear_color(r, g, b, 1.0);
        gl.clear(Gl::COLOR_BUFFER_BIT | Gl::DEPTH_BUFFER_BIT);
        gl.enable(Gl::DEPTH_TEST);
        gl.use_program(Some(&self.program));
        let view_proj = camera.view_proj(width as f32 / height as f32);
        gl.uniform_matrix4fv_with_f32_array(
            self.u_view_proj.as_ref(),
            false,
            &view_proj.to_cols_array(),
        );
        gl.uniform3fv_with_f32_array(self.u_eye.as_ref(), &camera.eye().to_array());
        let normal_mapped = self.has_tangents && self.normal_texture.is_some();
        gl.uniform1i(self.u_textured.as_ref(), i32::from(self.texture.is_some()));
        gl.uniform1i(self.u_normal_mapped.as_ref(), i32::from(normal_mapped));
        gl.uniform1i(self.u_mode.as_ref(), 0);
        gl.active_texture(Gl::TEXTURE1);
        gl.bind_texture(Gl::TEXTURE_2D, self.normal_texture.as_ref().filter(|_| normal_mapped));
        gl.active_texture(Gl::TEXTURE0);
        gl.bind_texture(Gl::TEXTURE_2D, self.texture.as_ref());
        gl.bind_vertex_array(Some(&self.vao));
        // The surface is pushed back a little so the wireframe lines win the depth test.
        gl.enable(Gl::POLYGON_OFFSET_FILL);
        gl.polygon_offset(1.0, 1.0);
        gl.bind_buffer(Gl::ELEMENT_ARRAY_BUFFER, self.index_buffer.as_ref());
        gl.draw_elements_with_i32(Gl::TRIANGLES, self.index_count, Gl::UNSIGNED_INT, 0);
        gl.disable(Gl::POLYGON_OFFSET_FILL);
        if let (true, Some((edges, count))) = (self.wireframe, &self.edges) {
            gl.uniform1i(self.u_mode.as_ref(), 1);
            gl.bind_buffer(Gl::ELEMENT_ARRAY_BUFFER, Some(edges));
            gl.draw_elements_with_i32(Gl::LINES, *count, Gl::UNSIGNED_INT, 0);
            gl.bind_buffer(Gl::ELEMENT_ARRAY_BUFFER, self.index_buffer.as_ref());
        }
        gl.bind_vertex_array(None);
    }

    /// The context, for tests that read pixels back.
    pub fn gl(&self) -> &Gl {
        &self.gl
    }
}

impl Drop for Renderer {
    fn drop(&mut self) {
        for buffer in &self.buffers {
            self.gl.delete_buffer(Some(buffer));
        }
        for buffer in self.edges.iter().map(|(b, _)| b).chain(&self.index_buffer) {
            self.gl.delete_buffer(Some(buffer));
        }
        for texture in self.texture.iter().chain(&self.normal_texture) {
            self.gl.delete_texture(Some(texture));
        }
        self.gl.delete_vertex_array(Some(&self.vao));
        self.gl.delete_program(Some(&self.program));
    }
}

/// A mipmapped, edge-clamped texture of `image` stored as `format` (sRGB colour or linear data).
fn upload(gl: &Gl, image: &ImageBitmap, format: u32) -> Result<WebGlTexture, String> {
    let texture = gl.create_texture().ok_or("cannot create a texture")?;
    gl.bind_texture(Gl::TEXTURE_2D, Some(&texture));
    gl.tex_image_2d_with_u32_and_u32_and_image_bitmap(
        Gl::TEXTURE_2D,
        0,
        format as i32,
        Gl::RGBA,
        Gl::UNSIGNED_BYTE,
        image,
    )
    .map_err(|e| format!("cannot upload the texture: {e:?}"))?;
    gl.generate_mipmap(Gl::TEXTURE_2D);
    gl.tex_parameteri(Gl::TEXTURE_2D, Gl::TEXTURE_MIN_FILTER, Gl::LINEAR_MIPMAP_LINEAR as i32);
    gl.tex_parameteri(Gl::TEXTURE_2D, Gl::TEXTURE_MAG_FILTER, Gl::LINEAR as i32);
    gl.tex_parameteri(Gl::TEXTURE_2D, Gl::TEXTURE_WRAP_S, Gl::CLAMP_TO_EDGE as i32);
    gl.tex_parameteri(Gl::TEXTURE_2D, Gl::TEXTURE_WRAP_T, Gl::CLAMP_TO_EDGE as i32);
    gl.bind_texture(Gl::TEXTURE_2D, None);
    Ok(texture)
}

/// Views plain numeric data as bytes for upload; WebGL copies them before returning.
fn bytes_of<T: Copy>(data: &[T]) -> &[u8] {
    // SAFETY: callers pass f32/u32 slices, which have no padding or invalid bit patterns.
    unsafe { std::slice::from_raw_parts(data.as_ptr().cast::<u8>(), std::mem::size_of_val(data)) }
}
