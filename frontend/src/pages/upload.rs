//! `/upload`: which models this server can run, and why not.

use leptos::prelude::*;

use crate::api;

/// Upload page.
#[component]
pub fn Upload() -> impl IntoView {
    let health = LocalResource::new(api::health);
    view! {
        <h1>"New reconstruction"</h1>
        {move || match health.get() {
            None => view! { <p class="muted">"Asking the server which models it can run…"</p> }.into_any(),
            Some(Err(e)) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
            Some(Ok(health)) => {
                let any = health.models.iter().any(|m| m.available);
                view! {
                    <ul class="models">
                        {health.models.into_iter().map(|m| view! {
                            <li class:unavailable=!m.available>
                                <strong>{m.name.as_str()}</strong>
                                " — "
                                {if m.available { "ready".to_owned() } else { m.reason.unwrap_or_default() }}
                            </li>
                        }).collect_view()}
                    </ul>
                    <p class="muted">
                        {if any { "Choose a model to start." } else { "No model can run on this server yet, so uploads are closed." }}
                    </p>
                }.into_any()
            }
        }}
    }
}
