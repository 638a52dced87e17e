//! Access-token verification and the extractors handlers use to learn who is calling.
//!
//! Tokens are EdDSA JWTs signed by `auth`. The algorithm is pinned (a token claiming `none` or
//! HS256 is refused before any key is used), `iss`, `aud`, `exp` and `typ` are checked, and the
//! key is chosen by `kid` from auth's JWKS, which is fetched again when an unknown `kid` shows
//! up (at most once per `refetch_interval`, so garbage tokens cannot hammer auth). Tokens of
//! deleted users are refused.
//!
//! A client sends the same access token with every request of its session, and checking an
//! Ed25519 signature is the costliest step of a small request, so tokens that passed are
//! remembered by the SHA-256 of the whole token: the same bytes always get the same signature
//! verdict. What can change since — the expiry, the key still being in the key set, the user
//! being deleted — is checked again on every use.

use std::collections::HashMap;
use std::future::{Ready, ready};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use moka::sync::Cache;
use penny_contract::{Role, UserId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::{Mutex, RwLock};

use super::error::ApiError;
use crate::tombstones::Tombstones;

/// The `typ` claim of an access token.
pub const ACCESS_TOKEN_TYPE: &str = "access";

/// The claims of an access token (auth signs exactly these).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user's id.
    pub sub: UserId,
    pub role: Role,
    pub iss: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    /// Unique per token.
    pub jti: String,
    /// Always [`ACCESS_TOKEN_TYPE`]; keeps other tokens signed with the same key out.
    pub typ: String,
}

/// Why a token was refused. Clients only ever see a generic 401.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("no bearer token")]
    Missing,
    #[error("the token is malformed or its signature or claims are invalid: {0}")]
    Invalid(#[from] jsonwebtoken::errors::Error),
    #[error("the token has no key id")]
    NoKeyId,
    #[error("unknown key id")]
    UnknownKey,
    #[error("the token is not an access token")]
    WrongType,
    #[error("the user was deleted")]
    DeletedUser,
    #[error("could not load the signing keys: {0}")]
    Keys(String),
}

/// Where the public keys come from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// auth's `/.well-known/jwks.json`.
    Url(String),
    /// A JWKS document on disk.
    File(PathBuf),
    /// Fixed keys (tests, or a service that signs its own tokens).
    Static(JwkSet),
}

/// Verifies access tokens against the current key set.
pub struct JwtVerifier {
    source: KeySource,
    http: reqwest::Client,
    validation: Validation,
    keys: RwLock<HashMap<String, Arc<DecodingKey>>>,
    /// When the next fetch of the key set may start (an unknown `kid` triggers one).
    next_fetch: Mutex<Option<Instant>>,
    refetch_interval: Duration,
    tombstones: Arc<Tombstones>,
    /// Tokens whose signature and fixed claims passed, by the SHA-256 of the token.
    verified: Cache<[u8; 32], Arc<Verified>>,
}

/// A token that passed the full check once.
struct Verified {
    claims: AccessClaims,
    kid: String,
    /// The key that signed it: once the key set no longer holds this very key under `kid` (it
    /// left, or the set was reloaded), the token gets the full check again.
    key: Arc<DecodingKey>,
}

/// How many verified tokens are remembered (a few MiB at most).
const VERIFIED_CAPACITY: u64 = 20_000;
/// How long one is remembered, at most; access tokens live for minutes.
const VERIFIED_TTL: Duration = Duration::from_secs(300);

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtVerifier").field("source", &self.source).finish_non_exhaustive()
    }
}

impl JwtVerifier {
    /// A verifier for tokens issued by `issuer` for `audience`. Keys load lazily, on the first
    /// token, so a service can start before auth does.
    pub fn new(source: KeySource, issuer: &str, audience: &str, tombstones: Arc<Tombstones>) -> Self {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        Self {
            source,
            http: reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap_or_default(),
            validation,
            keys: RwLock::new(HashMap::new()),
            next_fetch: Mutex::new(None),
            refetch_interval: Duration::from_secs(10),
            tombstones,
            verified: Cache::builder().max_capacity(VERIFIED_CAPACITY).time_to_live(VERIFIED_TTL).build(),
        }
    }

    /// How often an unknown `kid` may trigger a reload.
    pub fn with_refetch_interval(mut self, interval: Duration) -> Self {
        self.refetch_interval = interval;
        self
    }

    /// Verifies `token` and returns its claims.
    pub async fn verify(&self, token: &str) -> Result<AccessClaims, TokenError> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let claims = match self.verified.get(&digest) {
            Some(known) if self.still_holds(&known).await => {
                // jsonwebtoken's own rule: expired once `exp` is more than the leeway ago.
                let now = jsonwebtoken::get_current_timestamp();
                let oldest_valid = now.saturating_sub(self.validation.leeway);
                if u64::try_from(known.claims.exp).map_or(true, |exp| exp < oldest_valid) {
                    return Err(TokenError::Invalid(
                        jsonwebtoken::errors::ErrorKind::ExpiredSignature.into(),
                    ));
                }
                known.claims.clone()
            }
            _ => {
                let verified = self.check(token).await?;
                let claims = verified.claims.clone();
                self.verified.insert(digest, Arc::new(verified));
                claims
            }
        };
        if self.tombstones.contains(claims.sub) {
            return Err(TokenError::DeletedUser);
        }
        Ok(claims)
    }

    /// The full check: algorithm, key, signature and claims.
    async fn check(&self, token: &str) -> Result<Verified, TokenError> {
        let header = jsonwebtoken::decode_header(token)?;
        if header.alg != Algorithm::EdDSA {
            return Err(TokenError::Invalid(jsonwebtoken::errors::ErrorKind::InvalidAlgorithm.into()));
        }
        let kid = header.kid.ok_or(TokenError::NoKeyId)?;
        let key = self.key(&kid).await?;
        let claims = jsonwebtoken::decode::<AccessClaims>(token, &key, &self.validation)?.claims;
        if claims.typ != ACCESS_TOKEN_TYPE {
            return Err(TokenError::WrongType);
        }
        Ok(Verified { claims, kid, key })
    }

    async fn still_holds(&self, known: &Verified) -> bool {
        self.keys.read().await.get(&known.kid).is_some_and(|key| Arc::ptr_eq(key, &known.key))
    }

    async fn key(&self, kid: &str) -> Result<Arc<DecodingKey>, TokenError> {
        if let Some(key) = self.keys.read().await.get(kid) {
            return Ok(Arc::clone(key));
        }
        {
            let mut next = self.next_fetch.lock().await;
            let due = next.is_none_or(|at| Instant::now() >= at);
            // Another request may have reloaded the keys while this one waited for the lock.
            if due && !self.keys.read().await.contains_key(kid) {
                // The fetch runs on its own task: a request that ends early (an invalid path
                // answered first, a client gone) must not abandon it half-way and leave the
                // keys empty until the next allowed fetch.
                let fetch = tokio::spawn(load(self.source.clone(), self.http.clone()));
                let loaded = fetch.await.map_err(|e| TokenError::Keys(e.to_string())).and_then(|r| r);
                match loaded {
                    Ok(fresh) => {
                        *self.keys.write().await = fresh;
                        *next = Some(Instant::now() + self.refetch_interval);
                    }
                    Err(error) => {
                        // Soon again, but not for every request while auth is unreachable.
                        *next = Some(Instant::now() + FAILED_FETCH_BACKOFF.min(self.refetch_interval));
                        return Err(error);
                    }
                }
            }
        }
        self.keys.read().await.get(kid).cloned().ok_or(TokenError::UnknownKey)
    }
}

/// How long after a failed key fetch the next one may start.
const FAILED_FETCH_BACKOFF: Duration = Duration::from_secs(1);

/// Loads the key set from `source`.
async fn load(
    source: KeySource,
    http: reqwest::Client,
) -> Result<HashMap<String, Arc<DecodingKey>>, TokenError> {
    let set = match source {
        KeySource::Static(set) => set,
        KeySource::File(path) => {
            let text = tokio::fs::read_to_string(&path).await.map_err(|e| TokenError::Keys(e.to_string()))?;
            serde_json::from_str(&text).map_err(|e| TokenError::Keys(e.to_string()))?
        }
        KeySource::Url(url) => {
            let response = http.get(&url).send().await.map_err(|e| TokenError::Keys(e.to_string()))?;
            let response = response.error_for_status().map_err(|e| TokenError::Keys(e.to_string()))?;
            response.json().await.map_err(|e| TokenError::Keys(e.to_string()))?
        }
    };
    let mut keys = HashMap::new();
    for jwk in &set.keys {
        let Some(kid) = jwk.common.key_id.clone() else {
            continue;
        };
        match DecodingKey::from_jwk(jwk) {
            Ok(key) => {
                keys.insert(kid, Arc::new(key));
            }
            Err(error) => tracing::warn!(%error, key.id = %kid, "ignoring an unusable JWK"),
        }
    }
    tracing::debug!(keys = keys.len(), "loaded token verification keys");
    Ok(keys)
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: UserId,
    pub role: Role,
    /// The token's id (auth tells the caller's own session from the others with it); `None`
    /// for a token whose `jti` is not a UUID.
    pub jti: Option<uuid::Uuid>,
}

impl AuthUser {
    /// Whether the caller is an admin.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(actix_web::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned())
}

impl FromRequest for AuthUser {
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
                    Ok(AuthUser { id: claims.sub, role: claims.role, jti: claims.jti.parse().ok() })
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

/// An authenticated admin; anyone else gets 403.
#[derive(Debug, Clone)]
pub struct AdminUser(pub AuthUser);

impl FromRequest for AdminUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = AuthUser::from_request(req, payload);
        Box::pin(async move {
            let user = user.await?;
            if user.is_admin() {
                Ok(AdminUser(user))
            } else {
                Err(ApiError::forbidden("admin_only", "this endpoint is for admins"))
            }
        })
    }
}

/// The caller's address, as [`super::client_ip::client_ip`] decides.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<std::net::IpAddr>);

impl FromRequest for ClientIp {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(ClientIp(super::client_ip::client_ip(req))))
    }
}
