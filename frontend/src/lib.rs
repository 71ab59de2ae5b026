//! meshcast's web app: Leptos (client-side rendering) compiled to WebAssembly.
//!
//! All network code sits in [`api`]; [`pages`] are routes, [`components`] are reusable pieces,
//! [`viewer`] is the WebGL2 mesh renderer.

pub mod api;
pub mod app;
pub mod capture;
pub mod components;
pub mod pages;
pub mod viewer;

use wasm_bindgen::prelude::wasm_bindgen;

/// Entry point called by `index.html` after the module loads.
#[wasm_bindgen]
pub fn run() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
