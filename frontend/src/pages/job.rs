//! `/jobs/:id`: one job — live mesh, progress, chart, then the textured result, downloads and
//! share links.

use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_params_map};
use meshcast_shared::{JobState, JobStatus, LiveMessage, ModelName, ProgressPoint};

use crate::api::{self, LiveEvent, LiveSocket};
use crate::components::{LossChart, ViewerCanvas, ViewerHandle};
use crate::viewer::glb;
use crate::viewer::mesh::Mesh;

/// `93 s` → `1 min 33 s`.
pub fn duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, (s % 3600) / 60),
    }
}

/// The stages of an nvdiffrec job, as the server names them, with their labels (the first two
/// run for photos without poses).
const NVDIFFREC_STAGES: [(&str, &str); 6] = [
    ("poses", "Camera poses (given, or COLMAP)"),
    ("masks", "Object masks (alpha, or estimated)"),
    ("pass1", "Pass 1: surface, materials, light"),
    ("unwrap_bake", "UV unwrap + texture bake"),
    ("pass2", "Pass 2: refinement"),
    ("export", "Export GLB / OBJ"),
];

/// The stages of a ReconViaGen job.
const RECONVIAGEN_STAGES: [(&str, &str); 8] = [
    ("weights", "Loading the models"),
    ("preprocess", "Views: crop to the object"),
    ("encoders", "Encoders: DINOv2 + VGGT"),
    ("stage1", "Stage 1: sparse structure"),
    ("stage2", "Stage 2: structured latent"),
    ("decode", "Mesh decoder + FlexiCubes"),
    ("glb", "Simplify, unwrap, texture"),
    ("export", "Export GLB / OBJ"),
];

/// The stages a job of `model` goes through.
fn stages_of(model: ModelName) -> &'static [(&'static str, &'static str)] {
    match model {
        ModelName::Nvdiffrec => &NVDIFFREC_STAGES,
        ModelName::Reconviagen => &RECONVIAGEN_STAGES,
    }
}

/// Loads the finished job's GLB into the viewer.
fn load_result(handle: ViewerHandle, url: String, error: RwSignal<Option<String>>) {
    leptos::task::spawn_local(async move {
        let loaded = async {
            let bytes = api::fetch_bytes(&url).await.map_err(|e| e.to_string())?;
            handle.show_model(glb::parse(&bytes)?).await
        };
        if let Err(e) = loaded.await {
            error.set(Some(format!("Cannot show the result: {e}")));
        }
    });
}

/// Job page.
#[component]
pub fn Job() -> impl IntoView {
    let params = use_params_map();
    let id = params.read_untracked().get("id").unwrap_or_default();
    let status = RwSignal::new(None::<JobStatus>);
    let points = RwSignal::new(Vec::<ProgressPoint>::new());
    let error = RwSignal::new(None::<String>);
    let handle = ViewerHandle::new();
    let result_loaded = RwSignal::new(false);
    let last_frame = RwSignal::new(None::<(u8, u32, usize)>);
    let wireframe = RwSignal::new(false);
    let share = RwSignal::new(None::<(String, String)>);
    let socket = StoredValue::new_local(None::<LiveSocket>);
    let navigate = use_navigate();

    // Live socket, reopened two seconds after it closes while the job is not finished.
    let open = StoredValue::new_local(None::<std::rc::Rc<dyn Fn()>>);
    let open_fn: std::rc::Rc<dyn Fn()> = {
        let id = id.clone();
        std::rc::Rc::new(move || {
            let job_id = id.clone();
            let on_event = move |event: LiveEvent| match event {
                LiveEvent::Message(LiveMessage::Status(s)) => {
                    if s.state == JobState::Done && !result_loaded.get_untracked() {
                        result_loaded.set(true);
                        load_result(handle, api::job_glb_url(&job_id), error);
                    }
                    status.set(Some(*s));
                }
                LiveEvent::Message(LiveMessage::History { points: history }) => points.set(history),
                LiveEvent::Message(LiveMessage::Progress(p)) => points.update(|v| v.push(p)),
                LiveEvent::Frame(frame, decode_ms) => {
                    if !result_loaded.get_untracked() {
                        let (pass, iteration) = (frame.pass, frame.iteration);
                        let triangles = frame.triangles.len();
                        let clock = window().performance();
                        let started = clock.as_ref().map_or(0.0, |p| p.now());
                        handle.show(Mesh::from_frame(frame));
                        let shown = clock.as_ref().map_or(0.0, |p| p.now());
                        handle.set_attribute("data-apply-ms", &format!("{:.2}", shown - started));
                        last_frame.set(Some((pass, iteration, triangles)));
                        handle.set_attribute("data-mesh-iteration", &iteration.to_string());
                        handle.set_attribute("data-decode-ms", &format!("{decode_ms:.2}"));
                        // When it was on screen, in Unix ms (the live-frame benchmark reads it).
                        if let Some(p) = window().performance() {
                            handle.set_attribute(
                                "data-frame-at",
                                &format!("{:.1}", p.time_origin() + p.now()),
                            );
                        }
                    }
                }
                LiveEvent::Closed => {
                    let reconnect = move || {
                        set_timeout(
                            move || {
                                if let Some(reopen) = open.get_value() {
                                    reopen();
                                }
                            },
                            std::time::Duration::from_secs(2),
                        );
                    };
                    match status.get_untracked() {
                        Some(s) if s.state.is_finished() => {}
                        Some(_) => reconnect(),
                        // Never connected: ask over HTTP why (an unknown job is a 404 with a
                        // message) instead of retrying forever.
                        None => {
                            let id = job_id.clone();
                            leptos::task::spawn_local(async move {
                                match api::job(&id).await {
                                    Ok(s) => {
                                        let finished = s.state.is_finished();
                                        status.set(Some(s));
                                        if !finished {
                                            reconnect();
                                        }
                                    }
                                    Err(e) => error.set(Some(e.to_string())),
                                }
                            });
                        }
                    }
                }
            };
            match LiveSocket::connect(&id, on_event) {
                Ok(s) => socket.set_value(Some(s)),
                Err(e) => error.set(Some(e)),
            }
        })
    };
    open.set_value(Some(open_fn.clone()));
    open_fn();
    on_cleanup(move || {
        open.set_value(None);
        socket.set_value(None);
    });

    let job_id = id.clone();
    let cancel_or_delete = move |_| {
        let id = job_id.clone();
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            match api::cancel_or_delete(&id).await {
                Ok(Some(s)) => status.set(Some(s)),
                Ok(None) => navigate("/jobs", Default::default()),
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    };
    let job_id = id.clone();
    let make_share = move |_| {
        let id = job_id.clone();
        leptos::task::spawn_local(async move {
            match api::create_share(&id).await {
                Ok(created) => {
                    let origin = window().location().origin().unwrap_or_default();
                    let link = format!("{origin}{}", created.url);
                    let _ = window().navigator().clipboard().write_text(&link);
                    share.set(Some((created.token, link)));
                }
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    };
    let revoke = move |_| {
        let Some((token, _)) = share.get_untracked() else { return };
        leptos::task::spawn_local(async move {
            match api::revoke_share(&token).await {
                Ok(()) => share.set(None),
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    };

    let state = move || status.get().map(|s| s.state);
    let latest = move || {
        points.with(|p| p.last().copied()).or_else(|| status.get().and_then(|s| s.progress))
    };
    let caption = Signal::derive(move || {
        if result_loaded.get() {
            status.get().and_then(|s| s.result).map_or_else(String::new, |r| {
                format!("Result: {} triangles, {} vertices", r.triangles, r.vertices)
            })
        } else {
            last_frame.get().map_or_else(
                || "The live mesh appears after the first iterations.".to_owned(),
                |(pass, iteration, triangles)| {
                    format!("Live: pass {pass}, iteration {iteration}, {triangles} triangles")
                },
            )
        }
    });
    let glb_url = api::job_glb_url(&id);
    let obj_url = api::job_obj_zip_url(&id);

    view! {
        <div class="job-head">
            <h1>{move || status.get().map_or_else(|| "Job".to_owned(), |s| s.name)}</h1>
            <span class=move || format!("state {}", state().map_or("", JobState::as_str)) data-testid="job-state">
                {move || state().map_or("connecting…", JobState::as_str)}
            </span>
        </div>
        {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        {move || status.get().and_then(|s| s.error).map(|e| view! { <p class="error" data-testid="job-error">{e}</p> })}
        <MaskStrip id=id.clone() status=status />
        <div class="job-grid">
            <div>
                <ViewerCanvas handle=handle caption=caption />
                <label class="toggle">
                    <input type="checkbox" prop:checked=move || wireframe.get()
                        on:change=move |_| { let on = !wireframe.get_untracked(); wireframe.set(on); handle.set_wireframe(on); } />
                    " wireframe"
                </label>
            </div>
            <aside class="panel">
                <h2>"Progress"</h2>
                <ol class="stages">
                    {move || {
                    let stages = stages_of(status.with(|s| s.as_ref().map_or(ModelName::Nvdiffrec, |s| s.model)));
                    stages.iter().map(|&(key, label)| {
                        let class = move || {
                            let Some(s) = status.get() else { return "" };
                            let current = s.stage.as_deref().and_then(|st| stages.iter().position(|(k, _)| *k == st));
                            let me = stages.iter().position(|(k, _)| *k == key);
                            match (s.state, current, me) {
                                (JobState::Done, _, _) => "done",
                                (_, Some(c), Some(m)) if m < c => "done",
                                (JobState::Running, Some(c), Some(m)) if m == c => "active",
                                _ => "",
                            }
                        };
                        // Stages without iterations (COLMAP, masks) report their own progress.
                        let detail = move || {
                            let s = status.get()?;
                            let p = s.stage_progress.filter(|_| {
                                s.state == JobState::Running && s.stage.as_deref() == Some(key)
                            })?;
                            Some(view! {
                                <div class="progress stage-progress" data-testid="stage-progress">
                                    <div class="bar" style=format!("width: {:.1}%", 100.0 * p.fraction)></div>
                                    <span>{format!("{} · {:.0}%", p.detail, 100.0 * p.fraction)}</span>
                                </div>
                            })
                        };
                        view! { <li class=class>{label}{detail}</li> }
                    }).collect_view()
                    }}
                </ol>
                {move || latest().map(|p| {
                    let fraction = f64::from(p.iteration) / f64::from(p.iterations.max(1));
                    view! {
                        <div class="progress">
                            <div class="bar" style=format!("width: {:.1}%", 100.0 * fraction)></div>
                            <span data-testid="iteration">{format!("pass {} · iteration {}/{}", p.pass, p.iteration, p.iterations)}</span>
                        </div>
                        <dl class="figures">
                            <dt>"Loss"</dt><dd>{format!("{:.4}", p.loss)}</dd>
                            <dt>"Triangles"</dt><dd>{p.triangles.to_string()}</dd>
                            <dt>"Speed"</dt><dd>{format!("{:.1} it/s", p.iterations_per_second)}</dd>
                            <dt>"Elapsed"</dt><dd>{duration(p.elapsed_s)}</dd>
                            {(state() == Some(JobState::Running)).then(|| view! {
                                <dt>"Pass ETA"</dt><dd>{p.eta_s.map_or_else(|| "—".to_owned(), duration)}</dd>
                            })}
                        </dl>
                    }
                })}
                {move || match state() {
                    Some(JobState::Queued) => view! { <p class="muted">"Waiting for the worker…"</p> }.into_any(),
                    _ => ().into_any(),
                }}
                <div class="actions">
                    {move || match state() {
                        Some(JobState::Queued | JobState::Running) => view! {
                            <button on:click=cancel_or_delete.clone() data-testid="cancel">"Cancel"</button>
                        }.into_any(),
                        Some(_) => view! {
                            <button class="secondary" on:click=cancel_or_delete.clone() data-testid="delete">"Delete job"</button>
                        }.into_any(),
                        None => ().into_any(),
                    }}
                </div>
                {move || {
                    let make_share = make_share.clone();
                    (state() == Some(JobState::Done)).then(|| view! {
                    <h2>"Result"</h2>
                    {status.get().and_then(|s| s.result).map(|r| view! {
                        <p data-testid="result-figures">
                            {format!("{} triangles · {:.1} MB GLB", r.triangles, r.glb_bytes as f64 / 1e6)}
                            {r.psnr.map(|p| format!(" · test-view PSNR {p:.2} dB"))}
                        </p>
                    })}
                    <div class="actions">
                        <a class="button" href=glb_url.clone() download data-testid="download-glb">"Download GLB"</a>
                        <a class="button secondary" href=obj_url.clone() download data-testid="download-obj">"OBJ + textures (zip)"</a>
                    </div>
                    <div class="share">
                        {move || match share.get() {
                            None => view! { <button on:click=make_share.clone() data-testid="share">"Share link"</button> }.into_any(),
                            Some((_, link)) => view! {
                                <input readonly prop:value=link.clone() data-testid="share-link" />
                                <span class="muted">"copied"</span>
                                <button class="secondary" on:click=revoke data-testid="revoke">"Revoke"</button>
                            }.into_any(),
                        }}
                    </div>
                })}}
            </aside>
        </div>
        <LossChart points=points />
    }
}

/// The masks the server estimated for a job of plain photos, once they exist (after the `masks`
/// stage), so a person can see what the reconstruction was told is object.
#[component]
fn MaskStrip(id: String, status: RwSignal<Option<JobStatus>>) -> impl IntoView {
    let masks = RwSignal::new(Vec::<String>::new());
    let asked = StoredValue::new(false);
    let job = id.clone();
    Effect::new(move |_| {
        let Some(s) = status.get() else { return };
        let past_masks = !matches!(s.stage.as_deref(), None | Some("poses" | "masks"))
            || matches!(s.state, JobState::Done | JobState::Failed | JobState::Cancelled);
        if past_masks && !asked.get_value() {
            asked.set_value(true);
            let job = job.clone();
            leptos::task::spawn_local(async move {
                if let Ok(names) = api::job_masks(&job).await {
                    masks.set(names);
                }
            });
        }
    });
    move || {
        let names = masks.get();
        (!names.is_empty()).then(|| {
            let id = id.clone();
            view! {
                <details class="masks" data-testid="masks">
                    <summary>{format!("Estimated object masks ({} views)", names.len())}</summary>
                    <ul class="thumbnails">
                        {names.into_iter().map(|name| view! {
                            <li><img src=api::job_mask_url(&id, &name) alt=name.clone() title=name /></li>
                        }).collect_view()}
                    </ul>
                </details>
            }
        })
    }
}
