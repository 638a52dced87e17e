//! Access tokens (EdDSA JWTs) and refresh tokens (opaque random strings).
//!
//! Signing keys come from PKCS#8 PEM files: one active key signs, retired keys stay published in
//! the JWKS until the tokens they signed have expired. Key ids are RFC 7638 thumbprints of the
//! public key, so every replica and every restart names a key the same without configuration.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use penny_contract::{Role, UserId};
use penny_platform::http::AccessClaims;
use penny_platform::http::auth::ACCESS_TOKEN_TYPE;
use penny_platform::signing::{self, SigningKey};
use rand::RngCore as _;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

/// The signing keys: the active one and those retired by a rotation.
#[derive(Debug)]
pub struct SigningKeys {
    active: SigningKey,
    retired: Vec<SigningKey>,
}

impl SigningKeys {
    /// Reads the active key and the retired ones from PEM files.
    pub fn from_files(active: &Path, retired: &[impl AsRef<Path>]) -> anyhow::Result<Self> {
        let read = |path: &Path| -> anyhow::Result<SecretString> {
            std::fs::read_to_string(path)
                .map(SecretString::from)
                .map_err(|e| anyhow::anyhow!("cannot read signing key {}: {e}", path.display()))
        };
        let active = read(active)?;
        let retired = retired.iter().map(|p| read(p.as_ref())).collect::<anyhow::Result<Vec<_>>>()?;
        Self::from_pems(&active, &retired)
    }

    /// Builds the keys from PEM text.
    pub fn from_pems(active: &SecretString, retired: &[SecretString]) -> anyhow::Result<Self> {
        let active = key_from_pem(active)?;
        let retired = retired
            .iter()
            .map(key_from_pem)
            .filter(|key| key.as_ref().map_or(true, |k| k.kid() != active.kid()))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self { active, retired })
    }

    /// The key that signs new tokens.
    pub fn active(&self) -> &SigningKey {
        &self.active
    }

    /// The JWKS: the active key first, then the retired ones.
    pub fn jwks(&self) -> JwkSet {
        signing::jwks(std::iter::once(&self.active).chain(&self.retired))
    }
}

fn key_from_pem(pem: &SecretString) -> anyhow::Result<SigningKey> {
    // The kid depends on the public key, which is only known once the key is parsed.
    let unnamed = SigningKey::from_pkcs8_pem("", pem.expose_secret())?;
    let kid = thumbprint(&unnamed)?;
    Ok(SigningKey::from_pkcs8_pem(kid, pem.expose_secret())?)
}

/// The RFC 7638 JWK thumbprint of an Ed25519 key.
fn thumbprint(key: &SigningKey) -> anyhow::Result<String> {
    let jwk = serde_json::to_value(key.public_jwk())?;
    let x = jwk["x"].as_str().ok_or_else(|| anyhow::anyhow!("an Ed25519 JWK without `x`"))?;
    // Required members only, in lexicographic order, no whitespace (RFC 7638 §3.2).
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
    Ok(URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())))
}

/// Issues access tokens.
#[derive(Debug)]
pub struct AccessTokens {
    keys: SigningKeys,
    issuer: String,
    audience: String,
    ttl_secs: i64,
}

/// A signed access token.
#[derive(Debug)]
pub struct AccessToken {
    /// The compact JWT.
    pub token: String,
    /// Its id, remembered with the refresh token issued beside it.
    pub jti: Uuid,
    /// Seconds until it expires.
    pub expires_in: i64,
}

impl AccessTokens {
    /// An issuer signing with `keys` for `issuer`/`audience`.
    pub fn new(keys: SigningKeys, issuer: &str, audience: &str, ttl_secs: u64) -> Self {
        Self {
            keys,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            ttl_secs: i64::try_from(ttl_secs).unwrap_or(i64::MAX / 2),
        }
    }

    /// The published keys.
    pub fn jwks(&self) -> JwkSet {
        self.keys.jwks()
    }

    /// Signs a token for `user` in `role`.
    pub fn issue(&self, user: UserId, role: Role) -> anyhow::Result<AccessToken> {
        let now = chrono::Utc::now().timestamp();
        let jti = Uuid::now_v7();
        let claims = AccessClaims {
            sub: user,
            role,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            exp: now.saturating_add(self.ttl_secs),
            iat: now,
            jti: jti.to_string(),
            typ: ACCESS_TOKEN_TYPE.to_owned(),
        };
        let token = self.keys.active().sign(&claims)?;
        Ok(AccessToken { token, jti, expires_in: self.ttl_secs })
    }
}

/// Longest refresh token looked up; anything longer is refused without hashing.
pub const MAX_REFRESH_TOKEN_LEN: usize = 128;

/// A new refresh token: 256 random bits, base64url. Returns the token and the hash to store.
pub fn new_refresh_token() -> (SecretString, Vec<u8>) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_refresh_token(&token);
    (SecretString::from(token), hash)
}

/// The stored form of a refresh token. SHA-256 suffices: the token has 256 bits of entropy, so
/// no dictionary or brute force applies and a slow hash would only slow every refresh.
pub fn hash_refresh_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kids_are_stable_thumbprints_and_the_jwks_lists_every_key() {
        let active = signing::generate_pkcs8_pem().unwrap();
        let old = signing::generate_pkcs8_pem().unwrap();
        let keys = SigningKeys::from_pems(&active, &[old.clone(), active.clone()]).unwrap();
        let again = SigningKeys::from_pems(&active, &[]).unwrap();
        assert_eq!(keys.active().kid(), again.active().kid());
        assert_eq!(keys.active().kid().len(), 43, "a base64url SHA-256");
        let set = keys.jwks();
        assert_eq!(set.keys.len(), 2, "the active key is not listed twice");
        assert_eq!(set.keys[0].common.key_id.as_deref(), Some(keys.active().kid()));
    }

    #[test]
    fn refresh_tokens_are_random_and_hashed() {
        let (first, first_hash) = new_refresh_token();
        let (second, _) = new_refresh_token();
        assert_ne!(first.expose_secret(), second.expose_secret());
        assert_eq!(first.expose_secret().len(), 43);
        assert_eq!(hash_refresh_token(first.expose_secret()), first_hash);
        assert_eq!(first_hash.len(), 32);
    }
}
