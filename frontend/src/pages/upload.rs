//! `/upload`: drop a dataset zip (or posed images), pick a model and settings, watch the upload
//! progress, land on the job page.

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use meshcast_shared::ModelName;
use wasm_bindgen::JsCast;
use web_sys::{DragEvent, File, FormData, HtmlInputElement};

use super::send_job::send_job;
use crate::api;

/// What the dropped files will be sent as.
fn describe(files: &[File]) -> String {
    match files {
        [] => "No files chosen.".to_owned(),
        [one] if one.name().ends_with(".zip") => {
            format!("Dataset {} ({:.1} MB)", one.name(), one.size() / 1e6)
        }
        many => {
            let poses = many.iter().filter(|f| f.name().ends_with(".json")).count();
            let images = many.len() - poses;
            format!(
                "{images} images{}",
                if poses > 0 { " with poses (transforms.json)" } else { " without poses" }
            )
        }
    }
}

/// The request body: one zip → `dataset`; otherwise images → `views`, a `.json` → `poses`.
fn form_data(files: &[File], model: ModelName, config: &str) -> Result<FormData, String> {
    let form = FormData::new().map_err(|e| format!("{e:?}"))?;
    let add = |name: &str, value: &str| form.append_with_str(name, value);
    add("model", model.as_str()).map_err(|e| format!("{e:?}"))?;
    add("config", config).map_err(|e| format!("{e:?}"))?;
    for file in files {
        let field = match file.name() {
            n if n.ends_with(".zip") => "dataset",
            n if n.ends_with(".json") => "poses",
            _ => "views",
        };
        form.append_with_blob_and_filename(field, file, &file.name())
            .map_err(|e| format!("{e:?}"))?;
    }
    Ok(form)
}

/// Merges the preset, iteration count and free-form JSON into the job's options.
fn options(preset: &str, iterations: &str, advanced: &str) -> Result<String, String> {
    let mut object = if advanced.trim().is_empty() {
        serde_json::Map::new()
    } else {
        match serde_json::from_str::<serde_json::Value>(advanced) {
            Ok(serde_json::Value::Object(map)) => map,
            Ok(_) => {
                return Err(
                    "Advanced options must be a JSON object, e.g. {\"texture_size\": 1024}".into(),
                );
            }
            Err(e) => return Err(format!("Advanced options are not valid JSON: {e}")),
        }
    };
    if !preset.is_empty() {
        object.insert("preset".into(), preset.into());
    }
    if !iterations.trim().is_empty() {
        let n: u32 = iterations
            .trim()
            .parse()
            .map_err(|_| format!("Iterations must be a whole number, not `{iterations}`"))?;
        object.insert("iterations".into(), n.into());
    }
    Ok(serde_json::Value::Object(object).to_string())
}

/// Upload page.
#[component]
pub fn Upload() -> impl IntoView {
    let health = LocalResource::new(api::health);
    let files = StoredValue::new_local(Vec::<File>::new());
    let summary = RwSignal::new(describe(&[]));
    let has_files = RwSignal::new(false);
    let model = RwSignal::new(ModelName::Nvdiffrec);
    let preset = RwSignal::new(String::new());
    let iterations = RwSignal::new(String::new());
    let advanced = RwSignal::new(String::new());
    let progress = RwSignal::new(None::<f64>);
    let error = RwSignal::new(None::<String>);
    let dragging = RwSignal::new(false);
    let navigate = use_navigate();

    let take_files = move |list: Option<web_sys::FileList>| {
        let Some(list) = list else { return };
        let chosen: Vec<File> = (0..list.length()).filter_map(|i| list.get(i)).collect();
        summary.set(describe(&chosen));
        has_files.set(!chosen.is_empty());
        error.set(None);
        files.set_value(chosen);
    };
    let on_drop = move |e: DragEvent| {
        e.prevent_default();
        dragging.set(false);
        take_files(e.data_transfer().and_then(|d| d.files()));
    };
    let on_input = move |e: web_sys::Event| {
        let input = e.target().and_then(|t| t.dyn_into::<HtmlInputElement>().ok());
        take_files(input.and_then(|i| i.files()));
    };
    let submit = move |e: web_sys::SubmitEvent| {
        e.prevent_default();
        if progress.get_untracked().is_some() {
            return;
        }
        let config = match options(
            &preset.get_untracked(),
            &iterations.get_untracked(),
            &advanced.get_untracked(),
        ) {
            Ok(c) => c,
            Err(message) => return error.set(Some(message)),
        };
        let form = match files.with_value(|f| form_data(f, model.get_untracked(), &config)) {
            Ok(form) => form,
            Err(message) => return error.set(Some(message)),
        };
        error.set(None);
        send_job(form, progress, error, navigate.clone());
    };

    view! {
        <h1>"New reconstruction"</h1>
        <form class="upload" on:submit=submit data-testid="upload-form">
            <label
                class="dropzone"
                class:dragging=move || dragging.get()
                on:dragover=move |e: DragEvent| { e.prevent_default(); dragging.set(true); }
                on:dragleave=move |_| dragging.set(false)
                on:drop=on_drop
            >
                <strong>"Drop a dataset zip here"</strong>
                <span class="muted">" — NeRF-synthetic (transforms_train.json + images) or nerfstudio (transforms.json), or images with their transforms.json"</span>
                <input type="file" multiple accept=".zip,.json,image/*" on:change=on_input data-testid="file-input" />
                <span data-testid="file-summary">{move || summary.get()}</span>
            </label>
            <fieldset>
                <legend>"Model"</legend>
                {move || match health.get() {
                    None => view! { <p class="muted">"Asking the server which models it can run…"</p> }.into_any(),
                    Some(Err(e)) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    Some(Ok(h)) => h.models.into_iter().map(|m| {
                        let name = m.name;
                        view! {
                            <label class="choice" class:unavailable=!m.available>
                                <input type="radio" name="model" disabled=!m.available
                                    prop:checked=move || model.get() == name
                                    on:change=move |_| model.set(name) />
                                <strong>{name.as_str()}</strong>
                                {(!m.available).then(|| format!(" — {}", m.reason.clone().unwrap_or_default()))}
                            </label>
                        }
                    }).collect_view().into_any(),
                }}
            </fieldset>
            <fieldset class="settings">
                <legend>"Settings"</legend>
                <label>"Preset "
                    <select on:change=move |e| preset.set(event_target_value(&e)) data-testid="preset">
                        <option value="">"server default (tiny on CPU, default on GPU)"</option>
                        <option value="tiny">"tiny — CPU, minutes"</option>
                        <option value="default">"default — one GPU, ~3 minutes"</option>
                        <option value="high">"high — near the paper's settings"</option>
                    </select>
                </label>
                <label>"Iterations "
                    <input type="number" min="1" placeholder="preset" prop:value=move || iterations.get()
                        on:input=move |e| iterations.set(event_target_value(&e)) />
                </label>
                <label class="wide">"Advanced options (JSON) "
                    <textarea rows="2" placeholder=r#"{"texture_size": 1024}"# data-testid="advanced"
                        prop:value=move || advanced.get()
                        on:input=move |e| advanced.set(event_target_value(&e))></textarea>
                </label>
            </fieldset>
            <button type="submit" disabled=move || !has_files.get() || progress.get().is_some() data-testid="submit">
                "Reconstruct"
            </button>
            {move || progress.get().map(|f| view! {
                <div class="progress" data-testid="upload-progress">
                    <div class="bar" style=format!("width: {:.1}%", 100.0 * f)></div>
                    <span>{if f < 1.0 { format!("Uploading… {:.0}%", 100.0 * f) } else { "Checking the dataset…".to_owned() }}</span>
                </div>
            })}
            {move || error.get().map(|e| view! { <p class="error" role="alert" data-testid="upload-error">{e}</p> })}
        </form>
    }
}
