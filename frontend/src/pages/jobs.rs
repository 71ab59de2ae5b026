//! `/jobs`: every job the server knows, newest first, refreshed while any is unfinished.

use leptos::prelude::*;
use meshcast_shared::JobSummary;

use crate::api;

fn created(ms: i64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    String::from(date.to_locale_string("default", &wasm_bindgen::JsValue::UNDEFINED))
}

/// Jobs list.
#[component]
pub fn Jobs() -> impl IntoView {
    let jobs = LocalResource::new(api::jobs);
    let timer = set_interval_with_handle(
        move || {
            let busy = jobs
                .get_untracked()
                .and_then(Result::ok)
                .is_some_and(|list: Vec<JobSummary>| list.iter().any(|j| !j.state.is_finished()));
            if busy {
                jobs.refetch();
            }
        },
        std::time::Duration::from_secs(3),
    );
    on_cleanup(move || {
        if let Ok(timer) = timer {
            timer.clear();
        }
    });
    view! {
        <h1>"Jobs"</h1>
        {move || match jobs.get() {
            None => view! { <p class="muted">"Loading jobs…"</p> }.into_any(),
            Some(Err(e)) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
            Some(Ok(list)) if list.is_empty() => view! {
                <p class="muted" data-testid="jobs-empty">"No jobs yet. " <a href="/upload">"Start one."</a></p>
            }.into_any(),
            Some(Ok(list)) => view! {
                <table class="jobs">
                    <thead><tr><th>"Name"</th><th>"Model"</th><th>"State"</th><th>"Created"</th></tr></thead>
                    <tbody>
                        {list.into_iter().map(|job| view! {
                            <tr>
                                <td><a href=format!("/jobs/{}", job.id)>{job.name}</a></td>
                                <td>{job.model.as_str()}</td>
                                <td class=format!("state {}", job.state.as_str())>{job.state.as_str()}</td>
                                <td class="muted">{created(job.created_ms)}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            }.into_any(),
        }}
    }
}
