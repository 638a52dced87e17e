//! Pieces every service's OpenAPI document shares: the error body and the bearer scheme.

use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, ToSchema};

/// The error body every failure answers with (documentation only; [`super::ApiError`] renders
/// it).
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// `{code, message, fields?}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable snake_case code (`validation_failed`, `not_found`, ...).
    pub code: String,
    pub message: String,
    /// For `validation_failed`: the offending fields and why.
    pub fields: Option<std::collections::BTreeMap<String, String>>,
}

/// Adds the `bearer` security scheme (a JWT from auth) that the routes name.
pub struct BearerAuth;

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
