//! The viewer as a Leptos component.

use leptos::html::Canvas;
use leptos::prelude::*;

use crate::viewer::Viewer;
use crate::viewer::mesh::Mesh;

/// Shows `mesh` in an interactive WebGL2 canvas; a readable message replaces it without WebGL2.
#[component]
pub fn MeshViewer(mesh: Mesh) -> impl IntoView {
    let canvas = NodeRef::<Canvas>::new();
    let viewer = StoredValue::new_local(None::<Viewer>);
    let (error, set_error) = signal(None::<String>);
    let triangles = mesh.triangle_count();
    canvas.on_load(move |canvas| match Viewer::attach(&canvas, &mesh) {
        Ok(v) => viewer.set_value(Some(v)),
        Err(e) => set_error.set(Some(e)),
    });
    view! {
        <figure class="viewer">
            <canvas node_ref=canvas data-testid="viewer" data-frames="0"></canvas>
            <figcaption>
                {move || error.get().map_or_else(|| format!("{triangles} triangles"), |e| format!("Cannot show the mesh: {e}"))}
            </figcaption>
        </figure>
    }
}
