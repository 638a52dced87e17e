//! The auth service's own settings, beside the platform's shared ones.
//!
//! Names are flat (`PENNY_ARGON2_MEMORY_KIB`, not nested tables) because every setting must be
//! reachable as one `PENNY_*` environment variable.

use std::path::PathBuf;

use secrecy::SecretString;
use serde::Deserialize;

/// Settings of this service beyond the shared ones. Environment names are `PENNY_` + the field
/// name in upper case (`PENNY_ALLOW_SIGNUP`), or `PENNY_AUTH_` + it.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct AuthSettings {
    /// Whether anyone may register; off, `POST /v1/auth/register` answers 403.
    pub allow_signup: bool,

    /// The Ed25519 private key (PKCS#8 PEM) that signs access tokens. Required: every replica
    /// must sign with the same key, so the service never invents one.
    pub jwt_private_key_file: Option<PathBuf>,
    /// Keys retired by a rotation (PKCS#8 PEM files, comma-separated in the environment). Their
    /// public halves stay in the JWKS, so tokens they signed verify until they expire; nothing is
    /// signed with them any more.
    #[serde(deserialize_with = "list_or_comma_separated")]
    pub jwt_previous_key_files: Vec<PathBuf>,
    /// Lifetime of an access token.
    pub access_token_ttl_secs: u64,
    /// Absolute lifetime of a login session: rotation never extends it.
    pub refresh_token_ttl_secs: u64,

    /// argon2id memory cost in KiB (OWASP: 19456 = 19 MiB).
    pub argon2_memory_kib: u32,
    /// argon2id iterations (OWASP: 2).
    pub argon2_iterations: u32,
    /// argon2id lanes (OWASP: 1).
    pub argon2_parallelism: u32,
    /// Threads that hash passwords; 0 means one per core. Each keeps one argon2 memory block.
    pub password_hash_threads: usize,
    /// The lowest zxcvbn score (0–4) a new password must reach.
    pub password_min_score: u8,

    /// How long a password reset code is valid.
    pub reset_code_ttl_secs: u64,
    /// Wrong guesses allowed per code; then 429 until a new code is requested.
    pub reset_code_max_attempts: i32,
    /// Codes mailed to one account per hour at most, so nobody can flood a mailbox.
    pub reset_codes_per_hour: i64,

    /// An SMTP server URL (`smtps://user:pass@host`, `smtp://host:587?tls=required`). Unset, mail
    /// is written to `mail_dir` instead.
    pub smtp_url: Option<SecretString>,
    /// The sender of Penny's mail.
    pub mail_from: String,
    /// Where the development mailer writes one `.eml` file per message.
    pub mail_dir: PathBuf,

    /// Rate limits on login, registration and password reset; off for benchmarks.
    pub rate_limits_enabled: bool,
    /// Requests to those endpoints one client address may make per window.
    pub rate_limit_address_requests: u32,
    /// The per-address window.
    pub rate_limit_address_window_secs: u64,
    /// Failed logins one account may have per window before it is locked for the window's rest.
    pub login_failure_limit: i32,
    /// The per-account window.
    pub login_failure_window_secs: u64,

    /// The first admin, created at start-up when no user has this username or email yet.
    pub admin_username: Option<String>,
    /// The first admin's email.
    pub admin_email: Option<String>,
    /// The first admin's password.
    pub admin_password: Option<SecretString>,
    /// The first admin's display name (defaults to the username).
    pub admin_name: Option<String>,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            allow_signup: true,
            jwt_private_key_file: None,
            jwt_previous_key_files: Vec::new(),
            access_token_ttl_secs: 15 * 60,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            argon2_memory_kib: argon2::Params::DEFAULT_M_COST,
            argon2_iterations: argon2::Params::DEFAULT_T_COST,
            argon2_parallelism: argon2::Params::DEFAULT_P_COST,
            password_hash_threads: 0,
            password_min_score: 3,
            reset_code_ttl_secs: 10 * 60,
            reset_code_max_attempts: 5,
            reset_codes_per_hour: 5,
            smtp_url: None,
            mail_from: "Penny <penny@localhost>".into(),
            mail_dir: PathBuf::from(".local/mail"),
            rate_limits_enabled: true,
            rate_limit_address_requests: 60,
            rate_limit_address_window_secs: 60,
            login_failure_limit: 10,
            login_failure_window_secs: 15 * 60,
            admin_username: None,
            admin_email: None,
            admin_password: None,
            admin_name: None,
        }
    }
}

/// Accepts a list (in a file) or a comma-separated string (in the environment).
fn list_or_comma_separated<'de, D>(deserializer: D) -> Result<Vec<PathBuf>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum ListOrText {
        List(Vec<PathBuf>),
        Text(String),
    }
    Ok(match ListOrText::deserialize(deserializer)? {
        ListOrText::List(items) => items,
        ListOrText::Text(text) => {
            text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(PathBuf::from).collect()
        }
    })
}
