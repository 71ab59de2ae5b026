//! `POST /api/jobs` with upload progress (fetch cannot report it; XMLHttpRequest can).

use meshcast_shared::{ErrorBody, JobStatus};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{FormData, ProgressEvent, XmlHttpRequest};

use super::ApiError;

/// Sends `form`; `on_progress` gets the fraction of the body sent, in [0, 1].
pub async fn upload_job(
    form: &FormData,
    on_progress: impl Fn(f64) + 'static,
) -> Result<JobStatus, ApiError> {
    let xhr =
        XmlHttpRequest::new().map_err(|e| ApiError(format!("cannot start the upload: {e:?}")))?;
    xhr.open("POST", "/api/jobs")
        .map_err(|e| ApiError(format!("cannot start the upload: {e:?}")))?;
    let progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |e: ProgressEvent| {
        if e.length_computable() && e.total() > 0.0 {
            on_progress(e.loaded() / e.total());
        }
    });
    if let Ok(upload) = xhr.upload() {
        upload.set_onprogress(Some(progress.as_ref().unchecked_ref()));
    }
    let done = js_sys::Promise::new(&mut |resolve, _reject| {
        let on_end = Closure::<dyn FnMut()>::once(move || {
            let _ = resolve.call0(&wasm_bindgen::JsValue::NULL);
        });
        xhr.set_onloadend(Some(on_end.as_ref().unchecked_ref()));
        on_end.forget(); // called once by the browser, then collected with the request
    });
    xhr.send_with_opt_form_data(Some(form))
        .map_err(|e| ApiError(format!("cannot send the upload: {e:?}")))?;
    let _ = wasm_bindgen_futures::JsFuture::from(done).await;
    drop(progress);
    let status = xhr.status().unwrap_or(0);
    let text = xhr.response_text().ok().flatten().unwrap_or_default();
    if status == 0 {
        return Err(ApiError("the upload did not reach the server (connection lost?)".into()));
    }
    if (200..300).contains(&status) {
        return serde_json::from_str(&text)
            .map_err(|e| ApiError(format!("unexpected answer to the upload: {e}")));
    }
    match serde_json::from_str::<ErrorBody>(&text) {
        Ok(body) => Err(ApiError(body.error.message)),
        Err(_) => Err(ApiError(format!("the server answered HTTP {status} to the upload"))),
    }
}
