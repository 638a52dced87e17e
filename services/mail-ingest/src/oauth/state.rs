//! The OAuth `state` parameter: signed, expiring and (with its database row) single-use.
//!
//! A state is `nonce.expiry.mac`: 32 random bytes (base64url), the expiry in Unix seconds, and an
//! HMAC-SHA256 over the provider, nonce and expiry under a key derived from the secret keys
//! (`PENNY_SECRET_KEYS`, purpose [`KEY_PURPOSE`]). The signature lets the callback refuse a forged
//! or tampered state before touching the database; the row (stored under the state's SHA-256,
//! never the state itself) binds it to the user and the PKCE verifier and makes it single-use.
//! Pure functions, unit-tested here.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use rand::RngCore as _;
use sha2::{Digest, Sha256};

use super::OAuthProvider;

/// The purpose the state key is derived for ([`crate::crypto::SecretBox::derived_keys`]).
pub const KEY_PURPOSE: &str = "oauth-state:v1";

/// How long a state is accepted.
pub const STATE_TTL: Duration = Duration::minutes(10);

/// Why a state is refused (each answers 400 `invalid_state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// No state in the callback.
    #[error("the callback carries no state")]
    Missing,
    /// Not one of ours: malformed, or the signature does not match.
    #[error("the state is not valid (forged or corrupted)")]
    Forged,
    /// Older than [`STATE_TTL`].
    #[error("the state has expired; start the connection again")]
    Expired,
    /// Signed by us, but no pending authorization has it.
    #[error("the state is unknown")]
    Unknown,
    /// Already used by an earlier callback.
    #[error("the state was already used")]
    Reused,
}

/// A freshly issued state.
#[derive(Debug, Clone)]
pub struct IssuedState {
    /// What goes into the authorization URL.
    pub token: String,
    /// Its SHA-256: the database key.
    pub hash: Vec<u8>,
    pub expires_at: DateTime<Utc>,
}

fn mac(key: &[u8; 32], provider: OAuthProvider, nonce: &str, expiry: i64) -> Option<Hmac<Sha256>> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).ok()?;
    mac.update(format!("penny-oauth-state:v1|{}|{nonce}|{expiry}", provider.name()).as_bytes());
    Some(mac)
}

/// The database key of a state.
pub fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Issues a state for `provider`, signed with `key`.
pub fn issue(key: &[u8; 32], provider: OAuthProvider, now: DateTime<Utc>) -> Option<IssuedState> {
    let mut nonce = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let nonce = URL_SAFE_NO_PAD.encode(nonce);
    let expires_at = now + STATE_TTL;
    let expiry = expires_at.timestamp();
    let tag = mac(key, provider, &nonce, expiry)?.finalize().into_bytes();
    let token = format!("{nonce}.{expiry}.{}", URL_SAFE_NO_PAD.encode(tag));
    Some(IssuedState { hash: hash(&token), token, expires_at })
}

/// Checks a state's signature (under any of `keys`) and expiry; returns its database key.
pub fn verify(
    keys: &[[u8; 32]],
    provider: OAuthProvider,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Vec<u8>, StateError> {
    let mut parts = token.split('.');
    let (Some(nonce), Some(expiry), Some(tag), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(StateError::Forged);
    };
    let expiry: i64 = expiry.parse().map_err(|_| StateError::Forged)?;
    let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| StateError::Forged)?;
    // `verify_slice` compares in constant time.
    let signed = keys
        .iter()
        .any(|key| mac(key, provider, nonce, expiry).is_some_and(|mac| mac.verify_slice(&tag).is_ok()));
    if !signed {
        return Err(StateError::Forged);
    }
    if now.timestamp() >= expiry {
        return Err(StateError::Expired);
    }
    Ok(hash(token))
}

/// The associated data that binds a sealed PKCE verifier to its state row.
pub fn verifier_aad(state_hash: &[u8]) -> Vec<u8> {
    let mut aad = b"penny:oauth_states.verifier:".to_vec();
    aad.extend_from_slice(state_hash);
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_verify_until_they_expire_and_only_for_their_provider_and_key() {
        let key = [7u8; 32];
        let now = Utc::now();
        let issued = issue(&key, OAuthProvider::Gmail, now).unwrap();
        assert_eq!(verify(&[key], OAuthProvider::Gmail, &issued.token, now), Ok(issued.hash.clone()));
        // An older key still verifies after a rotation.
        assert!(verify(&[[1u8; 32], key], OAuthProvider::Gmail, &issued.token, now).is_ok());
        assert_eq!(verify(&[key], OAuthProvider::Outlook, &issued.token, now), Err(StateError::Forged));
        assert_eq!(verify(&[[8u8; 32]], OAuthProvider::Gmail, &issued.token, now), Err(StateError::Forged));
        let later = now + STATE_TTL + Duration::seconds(1);
        assert_eq!(verify(&[key], OAuthProvider::Gmail, &issued.token, later), Err(StateError::Expired));
        // Changing the expiry breaks the signature.
        let (nonce, rest) = issued.token.split_once('.').unwrap();
        let (_, tag) = rest.split_once('.').unwrap();
        let stretched = format!("{nonce}.{}.{tag}", (later + STATE_TTL).timestamp());
        assert_eq!(verify(&[key], OAuthProvider::Gmail, &stretched, later), Err(StateError::Forged));
        for bad in ["", "a.b", "a.1.c.d", "abc.notanumber.xyz", "abc.1.!!"] {
            assert_eq!(verify(&[key], OAuthProvider::Gmail, bad, now), Err(StateError::Forged), "{bad}");
        }
    }
}
