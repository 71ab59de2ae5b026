//! The app shell: navigation and routes.

use leptos::prelude::*;
use leptos_router::components::{A, Route, Router, Routes};
use leptos_router::path;

use crate::pages::{Capture, Home, Job, Jobs, NotFound, Share, Upload};

/// Root component.
#[component]
pub fn App() -> impl IntoView {
    view! {
        <Router>
            <header class="topbar">
                <A href="/" attr:class="brand">"meshcast"</A>
                <nav>
                    <A href="/upload">"Upload"</A>
                    <A href="/capture">"Capture"</A>
                    <A href="/jobs">"Jobs"</A>
                </nav>
            </header>
            <main>
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=Home />
                    <Route path=path!("/upload") view=Upload />
                    <Route path=path!("/capture") view=Capture />
                    <Route path=path!("/jobs") view=Jobs />
                    <Route path=path!("/jobs/:id") view=Job />
                    <Route path=path!("/s/:token") view=Share />
                </Routes>
            </main>
        </Router>
    }
}
