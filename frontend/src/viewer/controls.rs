//! Pointer and wheel input → camera, and on-demand redraws through `requestAnimationFrame`.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{HtmlCanvasElement, PointerEvent, WheelEvent};

use super::camera::OrbitCamera;
use super::mesh::Mesh;
use super::renderer::Renderer;

/// A DOM event handler kept alive while attached.
type Listener = Closure<dyn FnMut(web_sys::Event)>;

/// A live viewer on a canvas; dropping it detaches every listener.
pub struct Viewer {
    state: Rc<RefCell<State>>,
    canvas: HtmlCanvasElement,
    listeners: Vec<(&'static str, Listener)>,
}

struct State {
    renderer: Renderer,
    camera: OrbitCamera,
    drag: Option<Drag>,
    frame: Option<Closure<dyn FnMut()>>,
    frame_pending: bool,
    frames_drawn: u32,
}

#[derive(Clone, Copy)]
struct Drag {
    pointer_id: i32,
    x: f32,
    y: f32,
    pan: bool,
}

impl Viewer {
    /// Starts a viewer showing `mesh` on `canvas`.
    pub fn attach(canvas: &HtmlCanvasElement, mesh: &Mesh) -> Result<Self, String> {
        let mut renderer = Renderer::new(canvas)?;
        renderer.set_mesh(mesh)?;
        let (min, max) = mesh.bounds();
        let state = Rc::new(RefCell::new(State {
            renderer,
            camera: OrbitCamera::framing(min, max),
            drag: None,
            frame: None,
            frame_pending: false,
            frames_drawn: 0,
        }));
        let mut viewer = Self { state, canvas: canvas.clone(), listeners: Vec::new() };
        viewer.install_listeners();
        request_redraw(&viewer.state, &viewer.canvas);
        Ok(viewer)
    }

    fn listen(&mut self, event: &'static str, handler: impl FnMut(web_sys::Event) + 'static) {
        let closure = Listener::new(handler);
        let _ =
            self.canvas.add_event_listener_with_callback(event, closure.as_ref().unchecked_ref());
        self.listeners.push((event, closure));
    }

    fn install_listeners(&mut self) {
        let (state, canvas) = (self.state.clone(), self.canvas.clone());
        self.listen("pointerdown", move |e| {
            let Some(e) = e.dyn_ref::<PointerEvent>() else { return };
            let pan = e.button() != 0 || e.shift_key();
            let _ = canvas.set_pointer_capture(e.pointer_id());
            state.borrow_mut().drag = Some(Drag {
                pointer_id: e.pointer_id(),
                x: e.client_x() as f32,
                y: e.client_y() as f32,
                pan,
            });
        });
        let (state, canvas) = (self.state.clone(), self.canvas.clone());
        self.listen("pointermove", move |e| {
            let Some(e) = e.dyn_ref::<PointerEvent>() else { return };
            let height = canvas.client_height() as f32;
            {
                let mut s = state.borrow_mut();
                let Some(drag) = s.drag.filter(|d| d.pointer_id == e.pointer_id()) else { return };
                let (x, y) = (e.client_x() as f32, e.client_y() as f32);
                let (dx, dy) = (x - drag.x, y - drag.y);
                if drag.pan {
                    s.camera.pan(dx, dy, height);
                } else {
                    s.camera.orbit(dx, dy, height);
                }
                s.drag = Some(Drag { x, y, ..drag });
            }
            request_redraw(&state, &canvas);
        });
        for event in ["pointerup", "pointercancel"] {
            let state = self.state.clone();
            self.listen(event, move |_| state.borrow_mut().drag = None);
        }
        let (state, canvas) = (self.state.clone(), self.canvas.clone());
        self.listen("wheel", move |e| {
            let Some(e) = e.dyn_ref::<WheelEvent>() else { return };
            e.prevent_default();
            // Pixel deltas of ~100 per notch on most mice; trackpads send many small ones.
            state.borrow_mut().camera.zoom((-e.delta_y() / 100.0) as f32);
            request_redraw(&state, &canvas);
        });
        let (state, canvas) = (self.state.clone(), self.canvas.clone());
        self.listen("dblclick", move |_| {
            {
                let mut s = state.borrow_mut();
                let radius = s.camera.radius;
                let target = s.camera.target;
                let fresh =
                    OrbitCamera::framing(target - radius * 0.5774, target + radius * 0.5774);
                s.camera = OrbitCamera { target: s.camera.target, ..fresh };
            }
            request_redraw(&state, &canvas);
        });
        self.listen("contextmenu", |e| e.prevent_default());
    }

    /// Replaces the mesh; `reframe` points the camera at it (the first mesh of a job), otherwise
    /// the camera stays where the person left it (live updates).
    pub fn set_mesh(&self, mesh: &Mesh, reframe: bool) -> Result<(), String> {
        {
            let mut s = self.state.borrow_mut();
            s.renderer.set_mesh(mesh)?;
            if reframe {
                let (min, max) = mesh.bounds();
                s.camera = OrbitCamera::framing(min, max);
            }
        }
        request_redraw(&self.state, &self.canvas);
        Ok(())
    }

    /// Uses the images as the current mesh's base colour and normal textures (see
    /// [`Renderer::set_textures`]).
    pub fn set_textures(
        &self,
        base_color: Option<&web_sys::ImageBitmap>,
        normal: Option<&web_sys::ImageBitmap>,
    ) -> Result<(), String> {
        self.state.borrow_mut().renderer.set_textures(base_color, normal)?;
        request_redraw(&self.state, &self.canvas);
        Ok(())
    }

    /// Shows or hides the wireframe overlay.
    pub fn set_wireframe(&self, on: bool) -> Result<(), String> {
        self.state.borrow_mut().renderer.set_wireframe(on)?;
        request_redraw(&self.state, &self.canvas);
        Ok(())
    }

    /// Frames drawn so far (tests wait for the first).
    pub fn frames_drawn(&self) -> u32 {
        self.state.borrow().frames_drawn
    }

    /// Draws a frame now, outside `requestAnimationFrame` (tests read the pixels right after).
    pub fn draw_now(&self) {
        let s = self.state.borrow();
        s.renderer.draw(&s.camera);
    }

    /// The renderer (tests read pixels through its context).
    pub fn with_renderer<R>(&self, f: impl FnOnce(&Renderer) -> R) -> R {
        f(&self.state.borrow().renderer)
    }
}

impl Drop for Viewer {
    fn drop(&mut self) {
        for (event, closure) in &self.listeners {
            let _ = self
                .canvas
                .remove_event_listener_with_callback(event, closure.as_ref().unchecked_ref());
        }
        // Breaks the Rc cycle between the state and its frame closure.
        self.state.borrow_mut().frame = None;
    }
}

/// Schedules one redraw; many input events within a frame still draw once.
fn request_redraw(state: &Rc<RefCell<State>>, canvas: &HtmlCanvasElement) {
    let Some(window) = web_sys::window() else { return };
    let mut s = state.borrow_mut();
    if s.frame_pending {
        return;
    }
    s.frame_pending = true;
    let weak = Rc::downgrade(state);
    let canvas = canvas.clone();
    let closure = Closure::<dyn FnMut()>::new(move || {
        let Some(state) = weak.upgrade() else { return };
        let mut s = state.borrow_mut();
        s.frame_pending = false;
        s.renderer.draw(&s.camera);
        s.frames_drawn += 1;
        let _ = canvas.set_attribute("data-frames", &s.frames_drawn.to_string());
    });
    let _ = window.request_animation_frame(closure.as_ref().unchecked_ref());
    s.frame = Some(closure);
}
