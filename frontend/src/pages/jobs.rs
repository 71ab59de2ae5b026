//! `/jobs`: every job the server knows, newest first.

use leptos::prelude::*;

use crate::api;

/// Jobs list.
#[component]
pub fn Jobs() -> impl IntoView {
    let jobs = LocalResource::new(api::jobs);
    view! {
        <h1>"Jobs"</h1>
        {move || match jobs.get() {
            None => view! { <p class="muted">"Loading jobs…"</p> }.into_any(),
            Some(Err(e)) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
            Some(Ok(list)) if list.is_empty() => {
                view! { <p class="muted" data-testid="jobs-empty">"No jobs yet."</p> }.into_any()
            }
            Some(Ok(list)) => view! {
                <table class="jobs">
                    <thead><tr><th>"Name"</th><th>"Model"</th><th>"State"</th></tr></thead>
                    <tbody>
                        {list.into_iter().map(|job| view! {
                            <tr>
                                <td>{job.name}</td>
                                <td>{job.model.as_str()}</td>
                                <td class=format!("state {}", job.state.as_str())>{job.state.as_str()}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            }.into_any(),
        }}
    }
}
