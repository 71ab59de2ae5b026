//! The device camera through `getUserMedia`, shown in a `<video>`, and frames grabbed from it
//! into a canvas. Browsers allow it on HTTPS pages and on localhost.

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    CanvasRenderingContext2d, HtmlCanvasElement, HtmlVideoElement, MediaStream,
    MediaStreamConstraints,
};

/// Which camera of a phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Facing {
    /// The back camera (`environment`), for photographing objects.
    Back,
    /// The front camera (`user`).
    Front,
}

fn js_error(what: &str, e: &JsValue) -> String {
    let detail = e
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"));
    format!("{what}: {detail}")
}

/// Starts the camera and plays it in `video`.
pub async fn start(video: &HtmlVideoElement, facing: Facing) -> Result<MediaStream, String> {
    let devices =
        web_sys::window().ok_or("no window")?.navigator().media_devices().map_err(|_| {
            "this browser gives no camera access here (use HTTPS or localhost)".to_owned()
        })?;
    let video_constraints = js_sys::Object::new();
    let facing_mode = match facing {
        Facing::Back => "environment",
        Facing::Front => "user",
    };
    js_sys::Reflect::set(&video_constraints, &"facingMode".into(), &facing_mode.into())
        .map_err(|e| js_error("camera settings", &e))?;
    js_sys::Reflect::set(&video_constraints, &"width".into(), &JsValue::from(1920))
        .map_err(|e| js_error("camera settings", &e))?;
    let constraints = MediaStreamConstraints::new();
    constraints.set_video(&video_constraints);
    constraints.set_audio(&JsValue::FALSE);
    let promise = devices
        .get_user_media_with_constraints(&constraints)
        .map_err(|e| js_error("cannot open the camera", &e))?;
    let stream: MediaStream = JsFuture::from(promise)
        .await
        .map_err(|e| js_error("cannot open the camera", &e))?
        .dyn_into()
        .map_err(|e| js_error("unexpected camera answer", &e))?;
    video.set_src_object(Some(&stream));
    if let Ok(playing) = video.play() {
        let _ = JsFuture::from(playing).await;
    }
    Ok(stream)
}

/// Stops every track of `stream` (the camera light goes off).
pub fn stop(stream: &MediaStream) {
    for track in stream.get_tracks().iter() {
        if let Ok(track) = track.dyn_into::<web_sys::MediaStreamTrack>() {
            track.stop();
        }
    }
}

/// Draws the current frame of `video` into `canvas`, the longest side at most `max_side`;
/// `None` before the first frame arrives.
pub fn grab(
    video: &HtmlVideoElement,
    canvas: &HtmlCanvasElement,
    max_side: u32,
) -> Option<CanvasRenderingContext2d> {
    let (w, h) = (video.video_width(), video.video_height());
    if w == 0 || h == 0 {
        return None;
    }
    let scale = (f64::from(max_side) / f64::from(w.max(h))).min(1.0);
    let (cw, ch) = ((f64::from(w) * scale).round() as u32, (f64::from(h) * scale).round() as u32);
    canvas.set_width(cw);
    canvas.set_height(ch);
    let context: CanvasRenderingContext2d = canvas.get_context("2d").ok()??.dyn_into().ok()?;
    context
        .draw_image_with_html_video_element_and_dw_and_dh(
            video,
            0.0,
            0.0,
            f64::from(cw),
            f64::from(ch),
        )
        .ok()?;
    Some(context)
}
