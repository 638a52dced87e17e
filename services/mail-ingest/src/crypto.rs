//! Third-party secrets at rest: IMAP passwords and OAuth tokens sealed with AES-256-GCM.
//!
//! Every value gets a fresh random 96-bit nonce; the stored bytes are
//! `version (1) ‖ nonce (12) ‖ ciphertext ‖ tag (16)`, and the id of the key that sealed them is
//! stored beside them, so several keys can be configured while one is active and old rows stay
//! readable until they are re-encrypted. The associated data binds a ciphertext to its row (the
//! account id), so a ciphertext copied onto another account does not open.
//!
//! Keys come from configuration (`PENNY_SECRET_KEYS` = `id:base64key,id2:base64key`, 32-byte
//! keys; `PENNY_SECRET_KEY_ACTIVE` names the one that seals, by default the first).

use std::collections::BTreeMap;
use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore as _;
use secrecy::{ExposeSecret, SecretString};

const FORMAT_VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
const KEY_LEN: usize = 32;

/// Why a secret could not be sealed or opened.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// No key is configured, so no secret can be stored.
    #[error("no secret key is configured (set PENNY_SECRET_KEYS)")]
    NoKeys,
    /// A configured key is unusable.
    #[error("secret key `{0}` is invalid: {1}")]
    InvalidKey(String, &'static str),
    /// The configuration is unusable as a whole.
    #[error("invalid secret key configuration: {0}")]
    InvalidConfig(String),
    /// The ciphertext names a key that is not configured.
    #[error("the secret was sealed with key `{0}`, which is not configured")]
    UnknownKey(String),
    /// Authentication failed: the ciphertext, its row binding or the key is wrong.
    #[error("the secret failed authentication: it was tampered with or belongs to another row")]
    Tampered,
    /// The stored bytes are not in the expected format.
    #[error("the stored secret is malformed")]
    Malformed,
}

/// A sealed secret: the key id and the bytes to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// The id of the key that sealed it.
    pub key_id: String,
    /// `version ‖ nonce ‖ ciphertext ‖ tag`.
    pub bytes: Vec<u8>,
}

/// The configured keys; one of them seals.
#[derive(Clone)]
pub struct SecretBox {
    keys: BTreeMap<String, Aes256Gcm>,
    /// The raw key bytes, kept only to derive purpose-bound subkeys ([`SecretBox::derived_keys`]).
    raw: BTreeMap<String, [u8; KEY_LEN]>,
    active: Option<String>,
}

impl fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretBox")
            .field("key_ids", &self.keys.keys().collect::<Vec<_>>())
            .field("active", &self.active)
            .finish()
    }
}

impl SecretBox {
    /// Parses `id:base64key,...`; `active` names the sealing key (default: the first listed).
    /// No keys at all is allowed: the service runs, and storing a secret fails clearly.
    pub fn from_config(keys: Option<&SecretString>, active: Option<&str>) -> Result<Self, CryptoError> {
        let mut parsed = BTreeMap::new();
        let mut raw = BTreeMap::new();
        let mut first = None;
        if let Some(spec) = keys {
            for entry in spec.expose_secret().split(',').map(str::trim).filter(|e| !e.is_empty()) {
                let (id, key) = entry.split_once(':').ok_or_else(|| {
                    CryptoError::InvalidConfig("each key must be written `id:base64key`".into())
                })?;
                let id = id.trim();
                if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                    return Err(CryptoError::InvalidConfig(
                        "key ids are letters, digits, `-` and `_`".into(),
                    ));
                }
                let bytes = STANDARD
                    .decode(key.trim())
                    .map_err(|_| CryptoError::InvalidKey(id.to_owned(), "not base64"))?;
                if bytes.len() != KEY_LEN {
                    return Err(CryptoError::InvalidKey(id.to_owned(), "not 32 bytes"));
                }
                let cipher = Aes256Gcm::new_from_slice(&bytes)
                    .map_err(|_| CryptoError::InvalidKey(id.to_owned(), "not 32 bytes"))?;
                let key: [u8; KEY_LEN] =
                    bytes.try_into().map_err(|_| CryptoError::InvalidKey(id.to_owned(), "not 32 bytes"))?;
                raw.insert(id.to_owned(), key);
                if parsed.insert(id.to_owned(), cipher).is_some() {
                    return Err(CryptoError::InvalidConfig(format!("key id `{id}` is listed twice")));
                }
                first.get_or_insert_with(|| id.to_owned());
            }
        }
        let active = match active.map(str::trim).filter(|a| !a.is_empty()) {
            Some(id) if parsed.contains_key(id) => Some(id.to_owned()),
            Some(id) => return Err(CryptoError::UnknownKey(id.to_owned())),
            None => first,
        };
        Ok(Self { keys: parsed, raw, active })
    }

    /// A box with one random key (tests and development).
    pub fn generate(key_id: &str) -> (Self, SecretString) {
        let mut key = [0u8; KEY_LEN];
        rand::rngs::OsRng.fill_bytes(&mut key);
        let spec = SecretString::from(format!("{key_id}:{}", STANDARD.encode(key)));
        // A fresh key always parses.
        let this = Self::from_config(Some(&spec), None).unwrap_or_else(|_| Self::empty());
        (this, spec)
    }

    fn empty() -> Self {
        Self { keys: BTreeMap::new(), raw: BTreeMap::new(), active: None }
    }

    /// The id of the sealing key, if any.
    pub fn active_key_id(&self) -> Option<&str> {
        self.active.as_deref()
    }

    /// Seals `plaintext` under the active key, bound to `aad` (the row it belongs to).
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Sealed, CryptoError> {
        let key_id = self.active.as_ref().ok_or(CryptoError::NoKeys)?;
        let cipher = self.keys.get(key_id).ok_or(CryptoError::NoKeys)?;
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ciphertext = cipher
            .encrypt(&Nonce::from(nonce), Payload { msg: plaintext, aad })
            .map_err(|_| CryptoError::Malformed)?;
        let mut bytes = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        bytes.push(FORMAT_VERSION);
        bytes.extend_from_slice(&nonce);
        bytes.extend_from_slice(&ciphertext);
        Ok(Sealed { key_id: key_id.clone(), bytes })
    }

    /// Opens what [`SecretBox::seal`] produced with the same `aad`.
    pub fn open(&self, key_id: &str, bytes: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let cipher = self.keys.get(key_id).ok_or_else(|| CryptoError::UnknownKey(key_id.to_owned()))?;
        let (&version, rest) = bytes.split_first().ok_or(CryptoError::Malformed)?;
        if version != FORMAT_VERSION || rest.len() < NONCE_LEN + 16 {
            return Err(CryptoError::Malformed);
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| CryptoError::Malformed)?;
        cipher
            .decrypt(&Nonce::from(nonce), Payload { msg: ciphertext, aad })
            .map_err(|_| CryptoError::Tampered)
    }

    /// 32-byte keys for `purpose` (HMAC-SHA256 of the purpose under each configured key), the
    /// active key's first and then the others; empty without keys. A MAC signs with the first and
    /// accepts any, so signatures made before a key rotation still verify. Deriving keeps the
    /// AEAD keys themselves out of any other algorithm.
    pub fn derived_keys(&self, purpose: &str) -> Vec<[u8; 32]> {
        use hmac::{Hmac, Mac};
        let derive = |key: &[u8; KEY_LEN]| -> Option<[u8; 32]> {
            let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key).ok()?;
            mac.update(b"penny:derived-key:");
            mac.update(purpose.as_bytes());
            Some(mac.finalize().into_bytes().into())
        };
        let active = self.active.as_ref().and_then(|id| self.raw.get(id));
        let others = self.raw.iter().filter(|(id, _)| Some(*id) != self.active.as_ref()).map(|(_, key)| key);
        active.into_iter().chain(others).filter_map(derive).collect()
    }

    /// Opens a text secret.
    pub fn open_text(&self, key_id: &str, bytes: &[u8], aad: &[u8]) -> Result<SecretString, CryptoError> {
        let plain = self.open(key_id, bytes, aad)?;
        String::from_utf8(plain).map(SecretString::from).map_err(|_| CryptoError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_their_key_and_row() {
        let (secrets, _) = SecretBox::generate("k1");
        let sealed = secrets.seal(b"hunter2", b"row-1").unwrap();
        assert_eq!(sealed.key_id, "k1");
        assert!(!sealed.bytes.windows(7).any(|w| w == b"hunter2"));
        assert_eq!(secrets.open(&sealed.key_id, &sealed.bytes, b"row-1").unwrap(), b"hunter2");
        assert!(matches!(secrets.open("k1", &sealed.bytes, b"row-2"), Err(CryptoError::Tampered)));
        let mut tampered = sealed.bytes.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(matches!(secrets.open("k1", &tampered, b"row-1"), Err(CryptoError::Tampered)));
        assert!(matches!(secrets.open("k9", &sealed.bytes, b"row-1"), Err(CryptoError::UnknownKey(_))));
        assert!(matches!(secrets.open("k1", &[1, 2], b"row-1"), Err(CryptoError::Malformed)));
    }

    #[test]
    fn derived_keys_are_per_purpose_active_first() {
        let (_, old) = SecretBox::generate("old");
        let (_, new) = SecretBox::generate("new");
        let both = SecretString::from(format!("{},{}", old.expose_secret(), new.expose_secret()));
        let first = SecretBox::from_config(Some(&both), None).unwrap();
        let rotated = SecretBox::from_config(Some(&both), Some("new")).unwrap();
        let a = first.derived_keys("oauth-state");
        let b = rotated.derived_keys("oauth-state");
        assert_eq!(a.len(), 2);
        assert_eq!((a[0], a[1]), (b[1], b[0]), "the active key's subkey comes first");
        assert_ne!(first.derived_keys("other")[0], a[0]);
        assert!(SecretBox::from_config(None, None).unwrap().derived_keys("x").is_empty());
    }

    #[test]
    fn nonces_are_fresh() {
        let (secrets, _) = SecretBox::generate("k1");
        let a = secrets.seal(b"same", b"r").unwrap();
        let b = secrets.seal(b"same", b"r").unwrap();
        assert_ne!(a.bytes, b.bytes);
    }

    #[test]
    fn several_keys_one_active() {
        let (_, old) = SecretBox::generate("old");
        let (_, new) = SecretBox::generate("new");
        let both = SecretString::from(format!("{},{}", old.expose_secret(), new.expose_secret()));
        let first = SecretBox::from_config(Some(&both), None).unwrap();
        assert_eq!(first.active_key_id(), Some("old"));
        let sealed = first.seal(b"x", b"r").unwrap();
        let rotated = SecretBox::from_config(Some(&both), Some("new")).unwrap();
        assert_eq!(rotated.active_key_id(), Some("new"));
        assert_eq!(rotated.open(&sealed.key_id, &sealed.bytes, b"r").unwrap(), b"x");
    }

    #[test]
    fn bad_configuration_is_refused_and_no_keys_fails_on_use() {
        for bad in ["k1", "k1:notbase64!", "k1:AAAA", "bad id:AAAA"] {
            assert!(SecretBox::from_config(Some(&SecretString::from(bad)), None).is_err(), "{bad}");
        }
        let (_, spec) = SecretBox::generate("k1");
        assert!(SecretBox::from_config(Some(&spec), Some("k2")).is_err());
        let none = SecretBox::from_config(None, None).unwrap();
        assert!(matches!(none.seal(b"x", b"r"), Err(CryptoError::NoKeys)));
    }
}
