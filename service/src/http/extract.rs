//! Request extractors whose failures are problem documents: a JSON body (415 without a JSON
//! content type, 413 past the size limit, 400 when it does not parse) and the
//! `Idempotency-Key` header.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};

use super::error::ApiError;
use crate::domain::order::FieldError;

/// A JSON document, parsed but not yet validated (the domain does that, listing every field).
#[derive(Debug)]
pub struct JsonBody(pub serde_json::Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(str::trim)
            .is_some_and(|mime| {
                mime.eq_ignore_ascii_case("application/json")
                    || mime.to_ascii_lowercase().ends_with("+json")
            });
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let limit = request
            .extensions()
            .get::<BodyLimit>()
            .map_or(usize::MAX, |l| l.0);
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::BodyTooLarge(limit)
                } else {
                    ApiError::MalformedJson(rejection.body_text())
                }
            })?;
        serde_json::from_slice(&bytes)
            .map(Self)
            .map_err(|e| ApiError::MalformedJson(format!("the body is not valid JSON: {e}")))
    }
}

/// The configured body limit, put in the request's extensions so errors can state it.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// An optional `Idempotency-Key`: 1–255 printable ASCII characters.
#[derive(Debug)]
pub struct IdempotencyKey(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get("idempotency-key") else {
            return Ok(Self(None));
        };
        let key = value
            .to_str()
            .ok()
            .filter(|k| (1..=255).contains(&k.len()) && k.chars().all(|c| c.is_ascii_graphic()));
        match key {
            Some(key) => Ok(Self(Some(key.to_string()))),
            None => Err(ApiError::Validation(vec![FieldError {
                field: "Idempotency-Key".into(),
                message: "must be 1-255 printable ASCII characters".into(),
            }])),
        }
    }
}
