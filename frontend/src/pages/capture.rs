//! `/capture`: photograph an object with the device camera — a ring of views at a few heights,
//! blurred frames refused, thumbnails to review — and send the photos as an nvdiffrec job (the
//! server computes their poses with COLMAP and estimates the masks).

use std::time::Duration;

use leptos::html::{Canvas, Video};
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use meshcast_shared::ModelName;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{Blob, FormData, HtmlCanvasElement, MediaStream, Url};

use super::send_job::send_job;
use crate::capture::camera::{self, Facing};
use crate::capture::plan::{self, HEIGHTS, MIN_VIEWS, PER_RING};
use crate::capture::sharpness::{MIN_SHARPNESS, laplacian_variance, luma};

/// Longest side of a kept photo.
const PHOTO_SIDE: u32 = 1600;
/// Longest side of the copy the blur check scores (the threshold is calibrated at this size).
const CHECK_SIDE: u32 = 400;

/// One kept photo.
#[derive(Clone)]
struct Shot {
    id: u32,
    ring: usize,
    blob: Blob,
    url: String,
}

/// The sharpness of the frame now in `video`, scored on a small copy.
fn frame_sharpness(video: &web_sys::HtmlVideoElement) -> Option<f64> {
    let canvas: HtmlCanvasElement =
        web_sys::window()?.document()?.create_element("canvas").ok()?.dyn_into().ok()?;
    let context = camera::grab(video, &canvas, CHECK_SIDE)?;
    let (w, h) = (canvas.width(), canvas.height());
    let data = context.get_image_data(0.0, 0.0, f64::from(w), f64::from(h)).ok()?.data();
    Some(laplacian_variance(&luma(&data), w as usize, h as usize))
}

/// Capture page.
#[component]
pub fn Capture() -> impl IntoView {
    let video = NodeRef::<Video>::new();
    let canvas = NodeRef::<Canvas>::new();
    let facing = RwSignal::new(Facing::Back);
    let running = RwSignal::new(false);
    let stream = StoredValue::new_local(None::<MediaStream>);
    let ring = RwSignal::new(1usize);
    let shots = RwSignal::new_local(Vec::<Shot>::new());
    let next_id = StoredValue::new(0u32);
    let message = RwSignal::new(None::<String>);
    let burst = StoredValue::new_local(None::<IntervalHandle>);
    let bursting = RwSignal::new(false);
    let burst_seconds = RwSignal::new(2u32);
    let progress = RwSignal::new(None::<f64>);
    let navigate = use_navigate();

    let stop_burst = move || {
        if let Some(handle) = burst.get_value() {
            handle.clear();
        }
        burst.set_value(None);
        bursting.set(false);
    };
    let stop_camera = move || {
        stop_burst();
        if let Some(s) = stream.get_value() {
            camera::stop(&s);
        }
        stream.set_value(None);
        running.set(false);
    };
    on_cleanup(move || {
        stop_camera();
        for shot in shots.get_untracked() {
            let _ = Url::revoke_object_url(&shot.url);
        }
    });

    let start = move |_| {
        let Some(element) = video.get() else { return };
        stop_camera();
        message.set(None);
        let facing = facing.get_untracked();
        leptos::task::spawn_local(async move {
            match camera::start(&element, facing).await {
                Ok(s) => {
                    stream.set_value(Some(s));
                    running.set(true);
                }
                Err(e) => message.set(Some(e)),
            }
        });
    };

    let take = move || {
        let (Some(video), Some(canvas)) = (video.get_untracked(), canvas.get_untracked()) else {
            return;
        };
        let Some(score) = frame_sharpness(&video) else {
            message.set(Some("The camera has not sent a picture yet.".into()));
            return;
        };
        if score < MIN_SHARPNESS {
            message.set(Some(format!(
                "Blurred photo refused (sharpness {score:.0}, needs {MIN_SHARPNESS:.0}): hold the camera still."
            )));
            return;
        }
        if camera::grab(&video, &canvas, PHOTO_SIDE).is_none() {
            return;
        }
        let ring = ring.get_untracked();
        let id = next_id.get_value();
        next_id.set_value(id + 1);
        let keep = Closure::once_into_js(move |blob: Option<Blob>| {
            let Some(blob) = blob else {
                message.set(Some("The browser could not encode the photo.".into()));
                return;
            };
            let Ok(url) = Url::create_object_url_with_blob(&blob) else { return };
            message.set(Some(format!("Photo kept (sharpness {score:.0}).")));
            shots.update(|v| v.push(Shot { id, ring, blob, url }));
        });
        if canvas
            .to_blob_with_type_and_encoder_options(keep.unchecked_ref(), "image/jpeg", &0.92.into())
            .is_err()
        {
            message.set(Some("The browser could not encode the photo.".into()));
        }
    };

    let toggle_burst = move |_| {
        if bursting.get_untracked() {
            stop_burst();
            return;
        }
        let every = Duration::from_secs(u64::from(burst_seconds.get_untracked().max(1)));
        if let Ok(handle) = set_interval_with_handle(take, every) {
            burst.set_value(Some(handle));
            bursting.set(true);
        }
    };

    let remove = move |id: u32| {
        shots.update(|v| {
            if let Some(i) = v.iter().position(|s| s.id == id) {
                let shot = v.remove(i);
                let _ = Url::revoke_object_url(&shot.url);
            }
        });
    };

    let counts = move || plan::filled(shots.with(|v| v.iter().map(|s| s.ring).collect::<Vec<_>>()));
    let count = move || shots.with(Vec::len);

    let submit = move |_| {
        let form = match FormData::new() {
            Ok(form) => form,
            Err(e) => {
                message.set(Some(format!("{e:?}")));
                return;
            }
        };
        let _ = form.append_with_str("model", ModelName::Nvdiffrec.as_str());
        for (i, shot) in shots.get_untracked().iter().enumerate() {
            let _ = form.append_with_blob_and_filename(
                "views",
                &shot.blob,
                &format!("view_{i:03}.jpg"),
            );
        }
        stop_camera();
        send_job(form, progress, message, navigate.clone());
    };

    view! {
        <h1>"Capture"</h1>
        <p class="muted">
            "Put the object on a plain, light surface and walk around it, taking a photo every step \
             (about every 30°) at each height. Textured objects work best; at least "
            {MIN_VIEWS} " photos are needed, 24 or more give better results."
        </p>
        <div class="capture">
            <div class="camera">
                <video node_ref=video autoplay=true muted=true playsinline=true data-testid="camera"></video>
                <canvas node_ref=canvas class="hidden"></canvas>
                <div class="controls">
                    <select
                        on:change=move |e| facing.set(if event_target_value(&e) == "front" { Facing::Front } else { Facing::Back })
                        data-testid="facing"
                    >
                        <option value="back">"Back camera"</option>
                        <option value="front">"Front camera"</option>
                    </select>
                    <button on:click=start data-testid="start-camera">
                        {move || if running.get() { "Restart camera" } else { "Start camera" }}
                    </button>
                    <select
                        on:change=move |e| ring.set(event_target_value(&e).parse().unwrap_or(1))
                        prop:value=move || ring.get().to_string()
                        data-testid="height"
                    >
                        {HEIGHTS.iter().enumerate().map(|(i, h)| view! { <option value=i.to_string()>{format!("{h} ring")}</option> }).collect_view()}
                    </select>
                    <button on:click=move |_| take() disabled=move || !running.get() data-testid="shutter">"Take photo"</button>
                    <label>
                        "every "
                        <input type="number" min="1" max="10" class="narrow"
                            prop:value=move || burst_seconds.get().to_string()
                            on:input=move |e| burst_seconds.set(event_target_value(&e).parse().unwrap_or(2))
                        />
                        " s "
                    </label>
                    <button on:click=toggle_burst disabled=move || !running.get() data-testid="burst">
                        {move || if bursting.get() { "Stop burst" } else { "Timed burst" }}
                    </button>
                </div>
                <p class="muted" data-testid="capture-message">{move || message.get().unwrap_or_default()}</p>
            </div>
            <aside class="panel">
                <h2>"Coverage"</h2>
                <p data-testid="coverage">
                    {move || format!("{} of {} target views ({:.0}%)", counts().iter().sum::<usize>(), PER_RING * HEIGHTS.len(), 100.0 * plan::coverage(&counts()))}
                </p>
                <ul class="rings">
                    {move || {
                        let counts = counts();
                        HEIGHTS.iter().zip(counts).map(|(h, c)| view! {
                            <li>
                                {format!("{h}: ")}
                                <meter min="0" max=PER_RING.to_string() value=c.to_string()></meter>
                                {format!(" {c}/{PER_RING}")}
                            </li>
                        }).collect_view()
                    }}
                </ul>
                <button
                    on:click=submit
                    disabled=move || count() < MIN_VIEWS || progress.get().is_some()
                    data-testid="reconstruct"
                >
                    {move || if count() < MIN_VIEWS { format!("Reconstruct (needs {} more)", MIN_VIEWS - count()) } else { format!("Reconstruct from {} photos", count()) }}
                </button>
                {move || progress.get().map(|f| view! { <progress max="1" value=f.to_string()></progress> })}
            </aside>
        </div>
        <ul class="thumbnails" data-testid="shots">
            <For each=move || shots.get() key=|s| s.id let:shot>
                <li>
                    <img src=shot.url.clone() alt="captured view" />
                    <span class="muted">{HEIGHTS.get(shot.ring).copied().unwrap_or_default()}</span>
                    <button on:click=move |_| remove(shot.id) title="Delete this photo" data-testid="delete-shot">"×"</button>
                </li>
            </For>
        </ul>
    }
}
