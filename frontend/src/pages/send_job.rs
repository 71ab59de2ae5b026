//! Sending a new job from a page: the upload with its progress, then the job page, or the
//! server's message where the page shows errors. Shared by the upload and capture pages.

use leptos::prelude::*;
use leptos_router::NavigateOptions;
use web_sys::FormData;

use crate::api;

/// Uploads `form` as a new job; `progress` follows the upload and is cleared on failure, when
/// `error` gets the message; on success the browser goes to the job's page.
pub fn send_job(
    form: FormData,
    progress: RwSignal<Option<f64>>,
    error: RwSignal<Option<String>>,
    navigate: impl Fn(&str, NavigateOptions) + 'static,
) {
    progress.set(Some(0.0));
    leptos::task::spawn_local(async move {
        match api::upload_job(&form, move |f| progress.set(Some(f))).await {
            Ok(status) => navigate(&format!("/jobs/{}", status.id), NavigateOptions::default()),
            Err(e) => {
                progress.set(None);
                error.set(Some(e.to_string()));
            }
        }
    });
}
