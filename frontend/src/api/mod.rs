//! Every request the app makes to the server; nothing else in the app touches the network.

mod jobs;
mod live;
mod upload;

use gloo_net::http::{Request, Response};
use meshcast_shared::{ErrorBody, Health};
use serde::de::DeserializeOwned;

pub use jobs::{
    cancel_or_delete, create_share, fetch_bytes, job, job_glb_url, job_mask_url, job_masks,
    job_obj_zip_url, jobs, revoke_share, share_glb_url, shared,
};
pub use live::{LiveEvent, LiveSocket};
pub use upload::upload_job;

/// A failed request, phrased for the person using the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError(pub String);

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// `GET /api/health`.
pub async fn health() -> Result<Health, ApiError> {
    get_json("/api/health").await
}

async fn get_json<T: DeserializeOwned>(url: &str) -> Result<T, ApiError> {
    let response = Request::get(url)
        .send()
        .await
        .map_err(|e| ApiError(format!("cannot reach the server ({url}): {e}")))?;
    decode(url, response).await
}

/// The body as `T` on success; otherwise the server's `{"error":{…}}` message.
async fn decode<T: DeserializeOwned>(url: &str, response: Response) -> Result<T, ApiError> {
    if response.ok() {
        return response
            .json::<T>()
            .await
            .map_err(|e| ApiError(format!("unexpected answer from {url}: {e}")));
    }
    let status = response.status();
    match response.json::<ErrorBody>().await {
        Ok(body) => Err(ApiError(body.error.message)),
        Err(_) => Err(ApiError(format!("{url} answered HTTP {status}"))),
    }
}
