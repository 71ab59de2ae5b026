//! Devices, models and tools as `GET /api/health` reports them.

use leptos::prelude::*;
use meshcast_shared::{DeviceInfo, DeviceKind, Health};

use crate::api;

/// The server's devices, models and tools.
#[component]
pub fn HealthPanel() -> impl IntoView {
    let health = LocalResource::new(api::health);
    view! {
        <aside class="panel" data-testid="health">
            <h2>"Server"</h2>
            {move || match health.get() {
                None => view! { <p class="muted">"Contacting the server…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error" data-testid="health-error">{e.to_string()}</p> }.into_any(),
                Some(Ok(h)) => health_view(h).into_any(),
            }}
        </aside>
    }
}

fn health_view(health: Health) -> impl IntoView {
    view! {
        <p class="muted">"meshcast " {health.version}</p>
        <h3>"Devices"</h3>
        <ul data-testid="devices">
            {health.devices.into_iter().map(|d| view! { <li>{device_line(&d)}</li> }).collect_view()}
        </ul>
        <h3>"Models"</h3>
        <ul data-testid="models">
            {health.models.into_iter().map(|m| view! {
                <li class:unavailable=!m.available>
                    <strong>{m.name.as_str()}</strong>
                    {if m.available { " ready".to_owned() } else { format!(" unavailable: {}", m.reason.unwrap_or_default()) }}
                </li>
            }).collect_view()}
        </ul>
        <h3>"Tools"</h3>
        <ul data-testid="tools">
            {health.tools.into_iter().map(|t| {
                let missing = t.version.is_none();
                view! {
                <li class:unavailable=missing>
                    <strong>{t.name}</strong>
                    {match t.version {
                        Some(v) => format!(" {v}: {}", t.note),
                        None => format!(" missing: {}", t.note),
                    }}
                </li>
                }
            }).collect_view()}
        </ul>
    }
}

/// `CUDA 0: NVIDIA H100 (79.1 GiB, sm 9.0)` or the CPU's name.
pub fn device_line(device: &DeviceInfo) -> String {
    match device.kind {
        DeviceKind::Cpu => device.name.clone(),
        DeviceKind::Cuda => {
            let mut details = Vec::new();
            if let Some(bytes) = device.memory_bytes {
                details.push(format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64));
            }
            if let Some(cc) = &device.compute_capability {
                details.push(format!("sm {cc}"));
            }
            if let Some(error) = &device.kernels_error {
                details.push(format!("kernels failed: {error}"));
            }
            format!("CUDA {}: {} ({})", device.index, device.name, details.join(", "))
        }
    }
}
