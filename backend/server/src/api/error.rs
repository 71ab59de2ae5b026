//! One error type for every handler, turned into `{"error":{"code","message"}}` in one place.

use axum::Json;
use axum::extract::OriginalUri;
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use meshcast_shared::ErrorBody;

use crate::db::DbError;
use crate::jobs::{JobError, UploadError};

/// An error a handler returns; the status and code are decided here, nowhere else.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No such route or resource.
    #[error("{0}")]
    NotFound(String),
    /// The route exists but not for this method.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// The request is malformed or its content is unusable; the code names the kind.
    #[error("{message}")]
    BadRequest {
        /// Stable snake_case code.
        code: &'static str,
        /// What is wrong, for the person who sent it.
        message: String,
    },
    /// The body is larger than the server accepts.
    #[error("{0}")]
    TooLarge(String),
    /// The resource exists but is not in a state that allows this.
    #[error("{message}")]
    Conflict {
        /// Stable snake_case code.
        code: &'static str,
        /// Why.
        message: String,
    },
    /// Too many jobs wait; retry after this many seconds.
    #[error("{message}")]
    Busy {
        /// Why.
        message: String,
        /// Seconds for `Retry-After`.
        retry_after: u32,
    },
    /// The database failed; details go to the log, not to the client.
    #[error("database: {0}")]
    Db(#[from] DbError),
    /// Files could not be read or written; details go to the log.
    #[error("storage: {0}")]
    Storage(String),
}

impl From<JobError> for ApiError {
    fn from(e: JobError) -> Self {
        match e {
            JobError::Upload(upload) => match upload {
                UploadError::Body { status, message }
                    if status == StatusCode::PAYLOAD_TOO_LARGE =>
                {
                    ApiError::TooLarge(message)
                }
                UploadError::Body { message, .. } => {
                    ApiError::BadRequest { code: "invalid_upload", message }
                }
                UploadError::Field(message) => {
                    ApiError::BadRequest { code: "invalid_upload", message }
                }
                UploadError::Config(message) => {
                    ApiError::BadRequest { code: "invalid_config", message }
                }
                e @ (UploadError::Zip(_) | UploadError::Dataset(_)) => {
                    ApiError::BadRequest { code: "invalid_dataset", message: e.to_string() }
                }
                e @ UploadError::ModelUnavailable { .. } => {
                    ApiError::Conflict { code: "model_unavailable", message: e.to_string() }
                }
                UploadError::Storage(message) => ApiError::Storage(message),
            },
            e @ JobError::QueueFull(_) => {
                ApiError::Busy { message: e.to_string(), retry_after: 60 }
            }
            JobError::NotFound(id) => ApiError::NotFound(format!("no job {id}")),
            JobError::Db(e) => ApiError::Db(e),
            JobError::Storage(message) => ApiError::Storage(message),
        }
    }
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::MethodNotAllowed(_) => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, code),
            ApiError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            ApiError::Conflict { code, .. } => (StatusCode::CONFLICT, code),
            ApiError::Busy { .. } => (StatusCode::TOO_MANY_REQUESTS, "queue_full"),
            ApiError::Db(_) | ApiError::Storage(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
            "internal server error; the server log has the details".to_owned()
        } else {
            self.to_string()
        };
        let mut response = (status, Json(ErrorBody::new(code, message))).into_response();
        if let ApiError::Busy { retry_after, .. } = self {
            response.headers_mut().insert(header::RETRY_AFTER, retry_after.into());
        }
        response
    }
}

/// Fallback for unknown `/api/*` paths.
pub(super) async fn no_route(method: Method, OriginalUri(uri): OriginalUri) -> ApiError {
    ApiError::NotFound(format!("no API route {method} {}", uri.path()))
}

/// Fallback for known paths called with the wrong method.
pub(super) async fn method_not_allowed(method: Method, OriginalUri(uri): OriginalUri) -> ApiError {
    ApiError::MethodNotAllowed(format!("{} does not accept {method}", uri.path()))
}
