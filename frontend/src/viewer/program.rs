//! The shader program: compile, link, and report GLSL errors with their log.

use web_sys::{WebGl2RenderingContext as Gl, WebGlProgram, WebGlShader};

const VERTEX: &str = r"#version 300 es
layout(location = 0) in vec3 a_position;
layout(location = 1) in vec3 a_normal;
layout(location = 2) in vec3 a_color;
layout(location = 3) in vec2 a_uv;
layout(location = 4) in vec4 a_tangent;
uniform mat4 u_view_proj;
out vec3 v_normal;
out vec3 v_world;
out vec3 v_color;
out vec2 v_uv;
out vec4 v_tangent;
void main() {
    v_normal = a_normal;
    v_tangent = a_tangent;
    v_world = a_position;
    v_color = a_color;
    v_uv = a_uv;
    gl_Position = u_view_proj * vec4(a_position, 1.0);
}
";

// Hemisphere ambient + a key light over the viewer's shoulder + a little Blinn-Phong. The base
// colour is the vertex colour or, for textured meshes, the sRGB texture (sampled as linear);
// with a normal map the normal is read in the mesh's glTF tangent frame (bitangent =
// cross(n, t) · w). `u_mode` 1 draws wireframe lines in a flat colour.
const FRAGMENT: &str = r"#version 300 es
precision highp float;
in vec3 v_normal;
in vec3 v_world;
in vec3 v_color;
in vec2 v_uv;
in vec4 v_tangent;
uniform vec3 u_eye;
uniform sampler2D u_base;
uniform sampler2D u_normal_map;
uniform bool u_textured;
uniform bool u_normal_mapped;
uniform int u_mode;
out vec4 frag;
void main() {
    if (u_mode == 1) { frag = vec4(0.55, 0.75, 1.0, 1.0); return; }
    vec3 base = u_textured ? texture(u_base, v_uv).rgb : v_color;
    vec3 n = normalize(v_normal);
    vec3 v = normalize(u_eye - v_world);
    // Back faces shade with the flipped normal; the normal map then tilts that one.
    if (!gl_FrontFacing) n = -n;
    if (u_normal_mapped) {
        vec3 t = normalize(v_tangent.xyz - n * dot(n, v_tangent.xyz));
        vec3 b = cross(n, t) * (v_tangent.w < 0.0 ? -1.0 : 1.0);
        vec3 local = texture(u_normal_map, v_uv).xyz * 2.0 - 1.0;
        n = normalize(local.x * t + local.y * b + local.z * n);
    }
    vec3 l = normalize(v + vec3(0.3, 0.6, 0.2));
    vec3 sky = vec3(0.60, 0.65, 0.75), ground = vec3(0.25, 0.22, 0.20);
    vec3 ambient = mix(ground, sky, n.y * 0.5 + 0.5);
    float diffuse = max(dot(n, l), 0.0);
    float spec = pow(max(dot(n, normalize(l + v)), 0.0), 48.0) * 0.25;
    vec3 linear = base * (ambient * 0.6 + diffuse * 0.8) + spec;
    frag = vec4(pow(linear, vec3(1.0 / 2.2)), 1.0);
}
";

/// Compiles and links the viewer's program.
pub(super) fn build(gl: &Gl) -> Result<WebGlProgram, String> {
    let vs = compile(gl, Gl::VERTEX_SHADER, VERTEX)?;
    let fs = compile(gl, Gl::FRAGMENT_SHADER, FRAGMENT)?;
    let program = gl.create_program().ok_or("cannot create a WebGL program")?;
    gl.attach_shader(&program, &vs);
    gl.attach_shader(&program, &fs);
    gl.link_program(&program);
    gl.delete_shader(Some(&vs));
    gl.delete_shader(Some(&fs));
    if gl.get_program_parameter(&program, Gl::LINK_STATUS).as_bool() == Some(true) {
        Ok(program)
    } else {
        Err(format!(
            "shader link failed: {}",
            gl.get_program_info_log(&program).unwrap_or_default()
        ))
    }
}

fn compile(gl: &Gl, kind: u32, source: &str) -> Result<WebGlShader, String> {
    let shader = gl.create_shader(kind).ok_or("cannot create a WebGL shader")?;
    gl.shader_source(&shader, source);
    gl.compile_shader(&shader);
    if gl.get_shader_parameter(&shader, Gl::COMPILE_STATUS).as_bool() == Some(true) {
        Ok(shader)
    } else {
        Err(format!(
            "shader compile failed: {}",
            gl.get_shader_info_log(&shader).unwrap_or_default()
        ))
    }
}
