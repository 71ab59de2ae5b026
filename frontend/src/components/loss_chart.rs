//! The loss (log scale) and held-out PSNR of a job so far, as an SVG chart.

use leptos::prelude::*;
use meshcast_shared::ProgressPoint;

const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 180.0;
const PAD: f64 = 6.0;

/// Points → an SVG `points` attribute, `x` by index, `y` scaled into the chart.
fn polyline(values: &[(usize, f64)], count: usize, low: f64, high: f64) -> String {
    let span = (high - low).max(1e-9);
    values
        .iter()
        .map(|&(i, v)| {
            let x = PAD + (WIDTH - 2.0 * PAD) * i as f64 / (count.max(2) - 1) as f64;
            let y = PAD + (HEIGHT - 2.0 * PAD) * (1.0 - (v - low) / span);
            format!("{x:.1},{y:.1}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn range(values: &[(usize, f64)]) -> (f64, f64) {
    values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &(_, v)| (lo.min(v), hi.max(v)))
}

/// Loss on a log axis (blue) and PSNR (orange), both over iterations of both passes.
#[component]
pub fn LossChart(#[prop(into)] points: Signal<Vec<ProgressPoint>>) -> impl IntoView {
    let lines = move || {
        let points = points.get();
        let count = points.len();
        let loss: Vec<(usize, f64)> = points
            .iter()
            .enumerate()
            .filter(|(_, p)| p.loss.is_finite() && p.loss > 0.0)
            .map(|(i, p)| (i, p.loss.log10()))
            .collect();
        let psnr: Vec<(usize, f64)> = points
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.psnr.filter(|v| v.is_finite()).map(|v| (i, v)))
            .collect();
        let (lo, hi) = range(&loss);
        let (plo, phi) = range(&psnr);
        let last_psnr = psnr.last().map(|&(_, v)| v);
        let label = match (loss.last(), last_psnr) {
            (Some(&(_, l)), Some(p)) => format!("loss {:.4} · PSNR {p:.2} dB", 10f64.powf(l)),
            (Some(&(_, l)), None) => format!("loss {:.4}", 10f64.powf(l)),
            _ => "waiting for the first iteration…".to_owned(),
        };
        (polyline(&loss, count, lo, hi), polyline(&psnr, count, plo - 0.5, phi + 0.5), label, count)
    };
    view! {
        <figure class="chart" data-testid="chart">
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") preserveAspectRatio="none" role="img" aria-label="loss and PSNR over iterations">
                <polyline class="loss" fill="none" points=move || lines().0 />
                <polyline class="psnr" fill="none" points=move || lines().1 />
            </svg>
            <figcaption>
                <span class="key loss">"loss (log)"</span>
                <span class="key psnr">"PSNR"</span>
                <span data-testid="chart-label">{move || lines().2}</span>
                <span class="muted" data-points=move || lines().3.to_string()></span>
            </figcaption>
        </figure>
    }
}
