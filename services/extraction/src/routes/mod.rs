//! The service's HTTP routes and their OpenAPI description.

use actix_web::web;

/// The OpenAPI document served at `/openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(info(
    title = "Penny extraction",
    description = "Classifies emails and extracts their transactions with rules and, when configured, an LLM."
))]
pub struct ApiDoc;

/// Registers the service's routes.
pub fn configure(_cfg: &mut web::ServiceConfig) {}
