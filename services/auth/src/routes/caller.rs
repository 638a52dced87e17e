//! The authenticated caller with the id of the token it presented.
//!
//! The platform's `AuthUser` gives the user and role; password change also needs the token's
//! `jti` to tell the caller's own session from the others it revokes.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use penny_contract::{Role, UserId};
use penny_platform::http::auth::TokenError;
use penny_platform::http::{ApiError, JwtVerifier};
use uuid::Uuid;

/// Who is calling, from a verified access token.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user.
    pub id: UserId,
    /// The role the token was issued with.
    pub role: Role,
    /// The token's id; `None` for a token whose `jti` is not a UUID (not issued by this
    /// service's current code).
    pub jti: Option<Uuid>,
}

fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(actix_web::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned())
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let verifier = req.app_data::<web::Data<JwtVerifier>>().cloned();
        let token = bearer(req);
        Box::pin(async move {
            let verifier =
                verifier.ok_or_else(|| ApiError::internal(anyhow::anyhow!("no JwtVerifier configured")))?;
            let token =
                token.ok_or_else(|| ApiError::unauthorized("missing_token", "a bearer token is required"))?;
            match verifier.verify(&token).await {
                Ok(claims) => {
                    tracing::Span::current().record("user.id", tracing::field::display(claims.sub));
                    Ok(Caller { id: claims.sub, role: claims.role, jti: claims.jti.parse().ok() })
                }
                Err(TokenError::Keys(reason)) => {
                    Err(ApiError::unavailable(anyhow::anyhow!("cannot load token keys: {reason}")))
                }
                Err(error) => {
                    tracing::debug!(%error, "refused an access token");
                    Err(ApiError::unauthorized("invalid_token", "the access token is invalid or expired"))
                }
            }
        })
    }
}
