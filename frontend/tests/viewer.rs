//! The viewer in a real browser (headless Chromium through wasm-bindgen-test-runner): camera
//! math, normals, and a WebGL2 frame read back pixel by pixel.

#![allow(clippy::unwrap_used)] // test helpers: a panic is the failure report
#![cfg(target_arch = "wasm32")]

use glam::{Vec3, Vec4Swizzles};
use meshcast_frontend::viewer::Viewer;
use meshcast_frontend::viewer::camera::OrbitCamera;
use meshcast_frontend::viewer::mesh::{torus_knot, vertex_normals};
use meshcast_frontend::viewer::renderer::BACKGROUND;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::{HtmlCanvasElement, WebGl2RenderingContext as Gl};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn framing_camera_puts_target_at_screen_centre_and_box_inside() {
    let (min, max) = (Vec3::new(-1.0, 0.0, -2.0), Vec3::new(3.0, 1.0, 2.0));
    let camera = OrbitCamera::framing(min, max);
    let view_proj = camera.view_proj(4.0 / 3.0);
    let centre = view_proj * camera.target.extend(1.0);
    let ndc = centre.xyz() / centre.w;
    assert!(ndc.x.abs() < 1e-5 && ndc.y.abs() < 1e-5, "{ndc:?}");
    for corner in 0..8 {
        let p = Vec3::new(
            if corner & 1 == 0 { min.x } else { max.x },
            if corner & 2 == 0 { min.y } else { max.y },
            if corner & 4 == 0 { min.z } else { max.z },
        );
        let clip = view_proj * p.extend(1.0);
        let ndc = clip.xyz() / clip.w;
        assert!(ndc.abs().max_element() <= 1.0, "corner {p:?} outside the view: {ndc:?}");
    }
}

#[wasm_bindgen_test]
fn orbit_clamps_pitch_and_zoom_stays_in_range() {
    let mut camera = OrbitCamera::framing(Vec3::splat(-1.0), Vec3::splat(1.0));
    camera.orbit(0.0, 1e6, 100.0);
    assert!(camera.pitch_rad < std::f32::consts::FRAC_PI_2);
    let before = camera.eye().distance(camera.target);
    camera.zoom(1.0);
    assert!(camera.eye().distance(camera.target) < before);
    camera.zoom(1e4);
    assert!(camera.distance >= camera.radius * 0.05 - 1e-6);
    let target = camera.target;
    camera.pan(10.0, 0.0, 100.0);
    assert!(camera.target.distance(target) > 0.0);
}

#[wasm_bindgen_test]
fn normals_are_unit_and_face_outwards() {
    let normals = vertex_normals(&[[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], &[0, 1, 2]);
    for n in normals {
        assert!((Vec3::from(n) - Vec3::Z).length() < 1e-6, "{n:?}");
    }
    // An out-of-range index is skipped, not a panic (streamed meshes are untrusted).
    assert_eq!(vertex_normals(&[[0.0; 3]], &[0, 5, 9]), vec![[0.0, 1.0, 0.0]]);
    let knot = torus_knot(2, 3, 64, 8);
    assert_eq!(knot.triangle_count(), 64 * 8 * 2);
    assert!(knot.normals.iter().all(|n| (Vec3::from(*n).length() - 1.0).abs() < 1e-4));
}

#[wasm_bindgen_test]
fn viewer_draws_the_mesh_over_the_background() {
    let document = web_sys::window().unwrap().document().unwrap();
    let canvas: HtmlCanvasElement = document.create_element("canvas").unwrap().dyn_into().unwrap();
    canvas.set_attribute("style", "width: 320px; height: 240px").unwrap();
    document.body().unwrap().append_child(&canvas).unwrap();

    let viewer = Viewer::attach(&canvas, &torus_knot(2, 3, 128, 16)).unwrap();
    viewer.draw_now();
    let (width, height) = (canvas.width(), canvas.height());
    assert!(width >= 320 && height >= 240, "drawing buffer {width}×{height}");
    let mut pixels = vec![0u8; (width * height * 4) as usize];
    viewer.with_renderer(|r| {
        r.gl()
            .read_pixels_with_opt_u8_array(
                0,
                0,
                width as i32,
                height as i32,
                Gl::RGBA,
                Gl::UNSIGNED_BYTE,
                Some(&mut pixels),
            )
            .unwrap();
    });
    let background = BACKGROUND.map(|c| (c * 255.0).round() as i32);
    let drawn = pixels
        .chunks_exact(4)
        .filter(|p| p.iter().zip(background).any(|(&c, b)| (i32::from(c) - b).abs() > 12))
        .count();
    let fraction = drawn as f64 / f64::from(width * height);
    assert!(fraction > 0.05 && fraction < 0.95, "{:.1}% of pixels drawn", fraction * 100.0);
}
