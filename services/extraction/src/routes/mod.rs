//! The service's HTTP routes and their OpenAPI description: one file per action.

pub mod extract;
pub mod extractions;
pub mod usage;

use actix_web::web;

use penny_platform::http::openapi::BearerAuth;
pub use penny_platform::http::openapi::{ErrorBody, ErrorDetail};

/// The OpenAPI document served at `/openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Penny extraction",
        description = "Classifies emails and extracts their transactions with rules and, when configured, an LLM."
    ),
    paths(extract::extract, extractions::list, usage::llm),
    components(schemas(ErrorBody, ErrorDetail)),
    modifiers(&BearerAuth),
    tags((name = "extraction", description = "Dry runs, extraction attempts and LLM usage"))
)]
pub struct ApiDoc;

/// Registers the service's routes (the state is added by the caller).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/v1/extract").route(web::post().to(extract::extract)))
        .service(web::resource("/v1/emails/{id}/extractions").route(web::get().to(extractions::list)))
        .service(web::resource("/v1/usage/llm").route(web::get().to(usage::llm)));
}
