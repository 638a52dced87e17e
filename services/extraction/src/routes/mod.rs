//! The service's HTTP routes and their OpenAPI description: one file per action.

pub mod extract;
pub mod extractions;
pub mod usage;

use actix_web::web;
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, ToSchema};

/// The error body every failure answers with (documentation only; the platform renders it).
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// `{code, message, fields?}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    pub fields: Option<std::collections::BTreeMap<String, String>>,
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build(),
            ),
        );
    }
}

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
