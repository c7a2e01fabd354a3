//! The OpenAPI document, generated from the handlers' annotations (utoipa) and served at
//! `GET /openapi.json`.

use axum::Json;
use utoipa::OpenApi;

/// The API's description.
#[derive(OpenApi)]
#[openapi(
    info(title = "Slipway orders API", description = "Orders accepted over HTTP and processed by an SQS worker pool."),
    paths(
        super::orders::create,
        super::orders::get,
        super::orders::list,
        super::events::stream,
        super::health::health,
        super::health::livez,
        super::observe::metrics,
        openapi_json,
    ),
    components(schemas(
        super::orders::OrderResponse,
        super::orders::LineItemBody,
        super::orders::CreateOrderRequest,
        super::orders::OrderList,
        super::events::StatusEvent,
        super::events::StatusEventFrame,
        super::error::Problem,
        crate::domain::order::FieldError,
        super::health::HealthReport,
        super::health::Check,
    )),
    tags((name = "orders", description = "Orders"), (name = "operations", description = "Health, metrics, this document"))
)]
pub struct ApiDoc;

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "operations", responses((status = 200, description = "OpenAPI 3.1 document", body = Object)))]
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
