//! `GET /.well-known/jwks.json`.

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use crate::state::AppState;

/// The public keys that verify access tokens: the active one and those retired by a rotation.
#[utoipa::path(
    get, path = "/.well-known/jwks.json", tag = "keys",
    responses((status = 200, description = "A JWK set (Ed25519 keys, `kid` = RFC 7638 thumbprint)"))
)]
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        // Verifiers refetch on an unknown kid anyway; a short cache keeps them off auth's back.
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(state.tokens.jwks())
}
