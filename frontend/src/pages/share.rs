//! `/s/:token`: a shared result, read-only — the viewer and a download, nothing that changes
//! anything.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::api;
use crate::components::{ViewerCanvas, ViewerHandle};
use crate::viewer::glb;

/// Shared result page.
#[component]
pub fn Share() -> impl IntoView {
    let token = use_params_map().read_untracked().get("token").unwrap_or_default();
    let handle = ViewerHandle::new();
    let error = RwSignal::new(None::<String>);
    let info = {
        let token = token.clone();
        LocalResource::new(move || {
            let token = token.clone();
            async move { api::shared(&token).await }
        })
    };
    let glb_url = api::share_glb_url(&token);
    let load_url = glb_url.clone();
    Effect::new(move |loaded: Option<bool>| {
        if loaded == Some(true) {
            return true;
        }
        let Some(Ok(_)) = info.get() else { return false };
        let url = load_url.clone();
        leptos::task::spawn_local(async move {
            let shown = async {
                let bytes = api::fetch_bytes(&url).await.map_err(|e| e.to_string())?;
                handle.show_model(glb::parse(&bytes)?).await
            };
            if let Err(e) = shown.await {
                error.set(Some(e));
            }
        });
        true
    });
    let caption = Signal::derive(move || match info.get() {
        Some(Ok(shared)) => {
            format!("{} triangles · made with {}", shared.result.triangles, shared.model.as_str())
        }
        _ => String::new(),
    });
    view! {
        {move || match info.get() {
            None => view! { <p class="muted">"Loading the shared model…"</p> }.into_any(),
            Some(Err(e)) => view! {
                <h1>"Not available"</h1>
                <p class="error" data-testid="share-error">{e.to_string()}</p>
            }.into_any(),
            Some(Ok(shared)) => view! {
                <div class="job-head">
                    <h1 data-testid="share-name">{shared.name}</h1>
                    <a class="button secondary" href=glb_url.clone() download>"Download GLB"</a>
                </div>
            }.into_any(),
        }}
        {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        <Show when=move || matches!(info.get(), Some(Ok(_)))>
            <ViewerCanvas handle=handle caption=caption />
        </Show>
    }
}
