//! Settings and tokens for starting a real service in a test.

use std::path::PathBuf;

use penny_contract::{Role, UserId};
use penny_platform::http::AccessClaims;
use penny_platform::signing::{SigningKey, jwks};
use penny_platform::{CommonSettings, Settings};
use secrecy::SecretString;

use crate::{TestDb, TestVhost};

/// The issuer and audience tests sign for.
pub const ISSUER: &str = "penny-test";
pub const AUDIENCE: &str = "penny";

/// A signing key whose JWKS is written to a temporary file the service under test reads.
pub struct TestAuth {
    key: SigningKey,
    dir: tempfile::TempDir,
}

impl TestAuth {
    /// A fresh key and its JWKS file.
    pub fn new() -> Self {
        let key = SigningKey::generate("test-key").expect("failed to generate a key");
        let dir = tempfile::tempdir().expect("failed to create a temp dir");
        std::fs::write(dir.path().join("jwks.json"), serde_json::to_vec(&jwks([&key])).expect("jwks"))
            .expect("failed to write the JWKS");
        Self { key, dir }
    }

    /// Where the JWKS is.
    pub fn jwks_file(&self) -> PathBuf {
        self.dir.path().join("jwks.json")
    }

    /// A valid access token for `user`.
    pub fn token(&self, user: UserId, role: Role) -> String {
        let now = chrono::Utc::now().timestamp();
        let claims = AccessClaims {
            sub: user,
            role,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            exp: now + 900,
            iat: now,
            jti: uuid_like(now),
            typ: "access".into(),
        };
        self.key.sign(&claims).expect("failed to sign")
    }
}

impl Default for TestAuth {
    fn default() -> Self {
        Self::new()
    }
}

fn uuid_like(now: i64) -> String {
    format!("test-{now}-{}", std::process::id())
}

/// Shared settings for a service under test: a free port, its own database, test tokens.
pub struct TestSettings {
    pub common: CommonSettings,
}

impl TestSettings {
    /// Settings pointing at `db` and the broker vhost `vhost`, verifying tokens of `auth`.
    pub fn new(db: &TestDb, auth: &TestAuth, vhost: &TestVhost) -> Self {
        let common = CommonSettings {
            port: 0,
            database_url: SecretString::from(db.url()),
            amqp_url: SecretString::from(vhost.url()),
            database_pool_size: 4,
            jwt_issuer: ISSUER.into(),
            jwt_audience: AUDIENCE.into(),
            jwks_url: None,
            jwks_file: Some(auth.jwks_file()),
            shutdown_timeout_secs: 1,
            ..CommonSettings::default()
        };
        Self { common }
    }

    /// Adds the service's own settings.
    pub fn settings<S>(self, service: S) -> Settings<S> {
        Settings { common: self.common, service }
    }
}
