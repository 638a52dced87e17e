//! Ed25519 keys for access tokens: auth signs with them, and publishes their public halves as a
//! JWKS that every verifier loads.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::SecretString;

use crate::http::auth::AccessClaims;

/// Why a key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the key is not an Ed25519 PKCS#8 PEM: {0}")]
    Parse(String),
    #[error("failed to sign a token: {0}")]
    Sign(#[from] jsonwebtoken::errors::Error),
}

/// One Ed25519 signing key with its key id. The encoding key is built once, because
/// `jsonwebtoken` re-parses PKCS#8 on every call otherwise.
pub struct SigningKey {
    kid: String,
    encoding: EncodingKey,
    public: [u8; 32],
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A new random key.
    pub fn generate(kid: impl Into<String>) -> Result<Self, KeyError> {
        let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
        Self::from_dalek(kid.into(), &key)
    }

    /// Reads a PKCS#8 PEM private key.
    pub fn from_pkcs8_pem(kid: impl Into<String>, pem: &str) -> Result<Self, KeyError> {
        let key =
            ed25519_dalek::SigningKey::from_pkcs8_pem(pem).map_err(|e| KeyError::Parse(e.to_string()))?;
        Self::from_dalek(kid.into(), &key)
    }

    fn from_dalek(kid: String, key: &ed25519_dalek::SigningKey) -> Result<Self, KeyError> {
        // jsonwebtoken's EdDSA signer takes the PKCS#8 document.
        let der = key.to_pkcs8_der().map_err(|e| KeyError::Parse(e.to_string()))?;
        Ok(Self {
            kid,
            encoding: EncodingKey::from_ed_der(der.as_bytes()),
            public: key.verifying_key().to_bytes(),
        })
    }

    /// The key id carried in token headers.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Signs access-token claims.
    pub fn sign(&self, claims: &AccessClaims) -> Result<String, KeyError> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        header.typ = Some("JWT".into());
        Ok(jsonwebtoken::encode(&header, claims, &self.encoding)?)
    }

    /// The public key as a JWK (`kty: OKP`, `crv: Ed25519`).
    pub fn public_jwk(&self) -> Jwk {
        let value = serde_json::json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "x": URL_SAFE_NO_PAD.encode(self.public),
            "kid": self.kid,
            "alg": "EdDSA",
            "use": "sig",
        });
        // The document above is a valid JWK by construction.
        serde_json::from_value(value).unwrap_or_else(|_| unreachable!("a well-formed Ed25519 JWK"))
    }
}

/// The JWKS document publishing the public halves of `keys`.
pub fn jwks<'a>(keys: impl IntoIterator<Item = &'a SigningKey>) -> JwkSet {
    JwkSet { keys: keys.into_iter().map(SigningKey::public_jwk).collect() }
}

/// Generates a new private key as PKCS#8 PEM (development keys written on first run).
pub fn generate_pkcs8_pem() -> Result<SecretString, KeyError> {
    let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    let pem = key
        .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
        .map_err(|e| KeyError::Parse(e.to_string()))?;
    Ok(SecretString::from(pem.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn a_generated_pem_reads_back_with_the_same_public_key() {
        let pem = generate_pkcs8_pem().unwrap();
        let first = SigningKey::from_pkcs8_pem("k1", pem.expose_secret()).unwrap();
        let second = SigningKey::from_pkcs8_pem("k1", pem.expose_secret()).unwrap();
        assert_eq!(first.public, second.public);
        let jwk = serde_json::to_value(first.public_jwk()).unwrap();
        assert_eq!(jwk["kty"], "OKP");
        assert_eq!(jwk["crv"], "Ed25519");
        assert_eq!(jwk["kid"], "k1");
    }

    #[test]
    fn garbage_is_not_a_key() {
        assert!(
            SigningKey::from_pkcs8_pem("k", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----")
                .is_err()
        );
    }
}
