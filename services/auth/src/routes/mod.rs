//! The service's HTTP routes and their OpenAPI description.

use actix_web::web;

/// The OpenAPI document served at `/openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(info(
    title = "Penny auth",
    description = "Users, roles, passwords, access and refresh tokens, password reset."
))]
pub struct ApiDoc;

/// Registers the service's routes.
pub fn configure(_cfg: &mut web::ServiceConfig) {}
