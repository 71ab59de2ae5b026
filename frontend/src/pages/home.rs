//! `/`: what the server can do, and the viewer showing a built-in mesh.

use leptos::prelude::*;

use crate::components::{HealthPanel, MeshViewer};
use crate::viewer::mesh::torus_knot;

/// Home page.
#[component]
pub fn Home() -> impl IntoView {
    view! {
        <section class="hero">
            <h1>"Photos in, textured mesh out."</h1>
            <p>"Drag to orbit, right-drag or shift-drag to pan, scroll to zoom."</p>
        </section>
        <div class="home-grid">
            <MeshViewer mesh=torus_knot(2, 3, 256, 24) />
            <HealthPanel />
        </div>
    }
}
