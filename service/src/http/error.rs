//! Errors as RFC 9457 problem details (`application/problem+json`), each with a stable `type`
//! URI and `code`. Handlers return `Result<_, ApiError>` and use `?`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::domain::order::FieldError;
use crate::domain::service::OrderError;
use crate::ports::PortError;

/// Base of every problem `type` URI.
pub const PROBLEM_BASE: &str = "https://slipway.dev/problems/";

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What happened here.
    pub detail: String,
    /// A stable machine-readable code.
    pub code: String,
    /// The bad fields (validation problems).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// Everything an API call can fail with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// 400: the body is not JSON.
    MalformedJson(String),
    /// 400: a path or query parameter is malformed.
    BadRequest {
        /// Stable code.
        code: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// 413.
    BodyTooLarge(usize),
    /// 415.
    UnsupportedMediaType,
    /// 422: every bad field.
    Validation(Vec<FieldError>),
    /// 404.
    NotFound(String),
    /// 405.
    MethodNotAllowed,
    /// 409.
    Conflict {
        /// Stable code.
        code: &'static str,
        /// What conflicts.
        detail: String,
    },
    /// 429.
    RateLimited {
        /// Seconds until the window resets.
        retry_after_secs: u64,
    },
    /// 503: a dependency is down.
    Unavailable(String),
    /// 503: the request took too long.
    Timeout,
    /// 503: too many requests at once.
    Overloaded,
    /// 500: a bug (a panic was caught).
    Internal,
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str, &'static str, String) {
        match self {
            Self::MalformedJson(detail) => (
                StatusCode::BAD_REQUEST,
                "malformed_json",
                "Malformed JSON",
                detail.clone(),
            ),
            Self::BadRequest { code, detail } => {
                (StatusCode::BAD_REQUEST, code, "Bad request", detail.clone())
            }
            Self::BodyTooLarge(limit) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "Body too large",
                format!("the request body exceeds {limit} bytes"),
            ),
            Self::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Unsupported media type",
                "send the body as JSON with `Content-Type: application/json`".into(),
            ),
            Self::Validation(errors) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                "Validation failed",
                format!("{} field(s) are invalid; see `errors`", errors.len()),
            ),
            Self::NotFound(detail) => (
                StatusCode::NOT_FOUND,
                "not_found",
                "Not found",
                detail.clone(),
            ),
            Self::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "Method not allowed",
                "this route does not accept that method".into(),
            ),
            Self::Conflict { code, detail } => {
                (StatusCode::CONFLICT, code, "Conflict", detail.clone())
            }
            Self::RateLimited { retry_after_secs } => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "Too many requests",
                format!(
                    "this customer's rate limit is exhausted; retry after {retry_after_secs} s"
                ),
            ),
            Self::Unavailable(detail) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "dependency_unavailable",
                "Dependency unavailable",
                detail.clone(),
            ),
            Self::Timeout => (
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                "Request timed out",
                "the request took too long; retry".into(),
            ),
            Self::Overloaded => (
                StatusCode::SERVICE_UNAVAILABLE,
                "overloaded",
                "Overloaded",
                "too many requests at once; retry".into(),
            ),
            Self::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
                "an unexpected error occurred; it has been logged".into(),
            ),
        }
    }

    /// The problem document.
    pub fn problem(&self) -> Problem {
        let (status, code, title, detail) = self.parts();
        Problem {
            kind: format!("{PROBLEM_BASE}{}", code.replace('_', "-")),
            title: title.into(),
            status: status.as_u16(),
            detail,
            code: code.into(),
            errors: match self {
                Self::Validation(errors) => errors.clone(),
                _ => Vec::new(),
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = self.problem();
        let status =
            StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        match &self {
            Self::RateLimited { retry_after_secs } => {
                if let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                    headers.insert(header::RETRY_AFTER, value);
                }
            }
            Self::Unavailable(_) | Self::Timeout | Self::Overloaded => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        response
    }
}

impl From<PortError> for ApiError {
    fn from(error: PortError) -> Self {
        tracing::warn!(%error, "dependency unavailable");
        Self::Unavailable(error.to_string())
    }
}

impl From<OrderError> for ApiError {
    fn from(error: OrderError) -> Self {
        match error {
            OrderError::Validation(errors) => Self::Validation(errors.0),
            OrderError::NotFound => Self::NotFound("no order with this id".into()),
            OrderError::IdempotencyConflict => Self::Conflict {
                code: "idempotency_conflict",
                detail: "this Idempotency-Key was used with a different request body".into(),
            },
            OrderError::IdempotencyInProgress => Self::Conflict {
                code: "idempotency_in_progress",
                detail: "a request with this Idempotency-Key is still being processed; retry"
                    .into(),
            },
            OrderError::RateLimited { retry_after_secs } => Self::RateLimited { retry_after_secs },
            OrderError::Unavailable(port) => port.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_have_stable_types_and_codes() {
        let problem = ApiError::Validation(vec![FieldError {
            field: "items".into(),
            message: "is required".into(),
        }])
        .problem();
        assert_eq!(problem.status, 422);
        assert_eq!(
            problem.kind,
            "https://slipway.dev/problems/validation-failed"
        );
        assert_eq!(problem.code, "validation_failed");
        assert_eq!(problem.errors.len(), 1);
        assert_eq!(ApiError::BodyTooLarge(10).problem().status, 413);
        assert_eq!(ApiError::UnsupportedMediaType.problem().status, 415);
        assert_eq!(ApiError::Unavailable("x".into()).problem().status, 503);
    }

    #[test]
    fn rate_limits_carry_retry_after() {
        let response = ApiError::RateLimited {
            retry_after_secs: 42,
        }
        .into_response();
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()[header::RETRY_AFTER], "42");
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
    }
}
