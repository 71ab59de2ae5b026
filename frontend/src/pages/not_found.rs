//! Unknown client-side route.

use leptos::prelude::*;
use leptos_router::components::A;

/// 404 page.
#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <h1>"Page not found"</h1>
        <p><A href="/">"Back to the start page"</A></p>
    }
}
