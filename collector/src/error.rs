//! One error type for the HTTP API, mapping each failure to the status the SDK's retry table
//! expects (`funnelcake_core::retry::classify`): malformed input is 400 (dropped by the client,
//! never retried), oversize is 413 (the client splits), overload is 429 and storage trouble 503
//! (both retried, honouring `Retry-After`).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// An API failure with its status, a stable machine-readable code and a message for humans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code, e.g. `invalid_body`.
    pub code: &'static str,
    /// What is wrong, naming the field where there is one.
    pub message: String,
    /// Seconds for `Retry-After`, on 429 and 503.
    pub retry_after_s: Option<u64>,
}

impl ApiError {
    /// 400: the body cannot be used; the message names the problem.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status: StatusCode::BAD_REQUEST, code, message: message.into(), retry_after_s: None }
    }

    /// 413: body or batch too large.
    pub fn too_large(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "too_large",
            message: message.into(),
            retry_after_s: None,
        }
    }

    /// 403: the site id is not allowed here.
    pub fn forbidden_site(site: &str) -> ApiError {
        ApiError {
            status: StatusCode::FORBIDDEN,
            code: "site_not_allowed",
            message: format!("site {site:?} is not accepted by this collector"),
            retry_after_s: None,
        }
    }

    /// 404.
    pub fn not_found(what: &str) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            code: "not_found",
            message: format!("{what} not found"),
            retry_after_s: None,
        }
    }

    /// 405: the path exists, the method does not (the API reads with GET and takes batches
    /// with POST).
    pub fn method_not_allowed(method: &str, path: &str) -> ApiError {
        ApiError {
            status: StatusCode::METHOD_NOT_ALLOWED,
            code: "method_not_allowed",
            message: format!("{method} is not allowed on {path}"),
            retry_after_s: None,
        }
    }

    /// 401: read API without a valid bearer token.
    pub fn unauthorized() -> ApiError {
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            code: "unauthorized",
            message: "a valid 'Authorization: Bearer <read token>' header is required".into(),
            retry_after_s: None,
        }
    }

    /// 429 with `Retry-After`: a rate limit was hit; nothing was stored.
    pub fn rate_limited(what: &'static str, retry_after_s: u64) -> ApiError {
        ApiError {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: "rate_limited",
            message: format!("rate limit per {what} exceeded; retry in {retry_after_s} s"),
            retry_after_s: Some(retry_after_s),
        }
    }

    /// 503 with `Retry-After`: storage is unavailable; nothing was stored.
    pub fn storage_unavailable() -> ApiError {
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "storage_unavailable",
            message: "storage is unavailable; retry later".into(),
            retry_after_s: Some(5),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.code, "message": self.message });
        let mut res = (self.status, axum::Json(body)).into_response();
        if let Some(s) = self.retry_after_s {
            if let Ok(v) = HeaderValue::from_str(&s.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        res
    }
}

impl From<crate::store::StoreError> for ApiError {
    /// Any storage failure is a 503 with `Retry-After`: nothing was stored, the client retries.
    fn from(e: crate::store::StoreError) -> ApiError {
        tracing::warn!(error = %e, "storage failure");
        ApiError::storage_unavailable()
    }
}
