//! The credentials file: one session (access and refresh token) per gateway URL.
//!
//! The file is `$PENNY_CONFIG_DIR/credentials.json`, or `penny/credentials.json` in the XDG
//! config directory (`$XDG_CONFIG_HOME`, else `~/.config`). It is written whole to a temporary
//! file created with mode 0600 and renamed over the old one, so it is never readable by others
//! and never half-written. Tokens are held as [`SecretString`] in memory and never printed.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};

use crate::error::CliError;

/// Environment variable naming the directory of the credentials file.
pub const CONFIG_DIR_ENV: &str = "PENNY_CONFIG_DIR";

/// A logged-in session on one gateway.
#[derive(Debug, Clone)]
pub struct Session {
    /// Who logged in, for `penny login` to say so (not needed to use the session).
    pub login: Option<String>,
    pub access_token: SecretString,
    pub refresh_token: SecretString,
    /// When the access token stops being accepted.
    pub expires_at: DateTime<Utc>,
}

impl Session {
    /// Whether the access token is expired or will be within `margin_secs`.
    pub fn access_expired(&self, now: DateTime<Utc>, margin_secs: i64) -> bool {
        self.expires_at - chrono::Duration::seconds(margin_secs) <= now
    }
}

/// The file's shape on disk. Plain strings only here, converted at once.
#[derive(Debug, Default, Serialize, Deserialize)]
struct FileContents {
    #[serde(default)]
    sessions: BTreeMap<String, StoredSession>,
}

#[derive(Serialize, Deserialize)]
struct StoredSession {
    #[serde(default)]
    login: Option<String>,
    access_token: String,
    refresh_token: String,
    expires_at: DateTime<Utc>,
}

// Hand-written so that a debug print of the file never shows a token.
impl std::fmt::Debug for StoredSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredSession").field("login", &self.login).finish_non_exhaustive()
    }
}

/// Where sessions are kept.
#[derive(Debug, Clone)]
pub struct CredentialStore {
    path: PathBuf,
}

impl CredentialStore {
    /// The store at its usual place (see the module docs).
    pub fn locate() -> Result<Self, CliError> {
        if let Some(dir) = std::env::var_os(CONFIG_DIR_ENV).filter(|d| !d.is_empty()) {
            return Ok(Self::at(PathBuf::from(dir).join("credentials.json")));
        }
        let base = dirs::config_dir().ok_or_else(|| {
            CliError::Usage(format!("cannot find a config directory: set {CONFIG_DIR_ENV} or HOME"))
        })?;
        Ok(Self::at(base.join("penny").join("credentials.json")))
    }

    /// A store at an explicit path.
    pub fn at(path: PathBuf) -> Self {
        Self { path }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read(&self) -> Result<FileContents, CliError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                CliError::Usage(format!(
                    "the credentials file {} is damaged ({e}); delete it and log in again",
                    self.path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(FileContents::default()),
            Err(e) => Err(CliError::io(format!("cannot read {}", self.path.display()), e)),
        }
    }

    fn write(&self, contents: &FileContents) -> Result<(), CliError> {
        let dir = self.path.parent().unwrap_or_else(|| Path::new("."));
        create_private_dir(dir)?;
        let bytes = serde_json::to_vec_pretty(contents)
            .map_err(|e| CliError::io("cannot encode the credentials", e.into()))?;
        let temp = dir.join(format!(".credentials.json.{}.tmp", std::process::id()));
        let context = || format!("cannot write {}", temp.display());
        let mut file = private_file(&temp).map_err(|e| CliError::io(context(), e))?;
        let written = file.write_all(&bytes).and_then(|()| file.sync_all());
        drop(file);
        if let Err(e) = written.and_then(|()| std::fs::rename(&temp, &self.path)) {
            let _ = std::fs::remove_file(&temp);
            return Err(CliError::io(format!("cannot write {}", self.path.display()), e));
        }
        Ok(())
    }

    /// The session for the gateway at `url`, if any.
    pub fn load(&self, url: &str) -> Result<Option<Session>, CliError> {
        let mut contents = self.read()?;
        Ok(contents.sessions.remove(&key(url)).map(|s| Session {
            login: s.login,
            access_token: SecretString::from(s.access_token),
            refresh_token: SecretString::from(s.refresh_token),
            expires_at: s.expires_at,
        }))
    }

    /// Stores (or replaces) the session for `url`.
    pub fn save(&self, url: &str, session: &Session) -> Result<(), CliError> {
        let mut contents = self.read()?;
        contents.sessions.insert(
            key(url),
            StoredSession {
                login: session.login.clone(),
                access_token: session.access_token.expose_secret().to_owned(),
                refresh_token: session.refresh_token.expose_secret().to_owned(),
                expires_at: session.expires_at,
            },
        );
        self.write(&contents)
    }

    /// Forgets the session for `url`; `true` if there was one.
    pub fn remove(&self, url: &str) -> Result<bool, CliError> {
        let mut contents = self.read()?;
        let removed = contents.sessions.remove(&key(url)).is_some();
        if removed {
            self.write(&contents)?;
        }
        Ok(removed)
    }
}

/// Sessions are keyed by the gateway URL without a trailing slash.
fn key(url: &str) -> String {
    url.trim_end_matches('/').to_owned()
}

#[cfg(unix)]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)
}

#[cfg(not(unix))]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new().write(true).create(true).truncate(true).open(path)
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> Result<(), CliError> {
    use std::os::unix::fs::DirBuilderExt as _;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| CliError::io(format!("cannot create {}", dir.display()), e))
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> Result<(), CliError> {
    std::fs::create_dir_all(dir).map_err(|e| CliError::io(format!("cannot create {}", dir.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(token: &str) -> Session {
        Session {
            login: Some("sam".into()),
            access_token: SecretString::from(format!("access-{token}")),
            refresh_token: SecretString::from(format!("refresh-{token}")),
            expires_at: Utc::now(),
        }
    }

    #[test]
    fn sessions_are_kept_per_gateway_in_a_private_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = CredentialStore::at(dir.path().join("nested/credentials.json"));
        assert!(store.load("http://a").unwrap().is_none());
        store.save("http://a/", &session("a")).unwrap();
        store.save("http://b", &session("b")).unwrap();
        let a = store.load("http://a").unwrap().unwrap();
        assert_eq!(a.access_token.expose_secret(), "access-a");
        assert_eq!(store.load("http://b").unwrap().unwrap().refresh_token.expose_secret(), "refresh-b");

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(store.path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }

        assert!(store.remove("http://a").unwrap());
        assert!(!store.remove("http://a").unwrap());
        assert!(store.load("http://a").unwrap().is_none());
        assert!(store.load("http://b").unwrap().is_some());
    }

    #[test]
    fn a_debug_print_shows_no_token() {
        let printed = format!("{:?}", session("zzz"));
        assert!(!printed.contains("zzz"), "{printed}");
    }

    #[test]
    fn expiry_has_a_margin() {
        let now = Utc::now();
        let mut s = session("x");
        s.expires_at = now + chrono::Duration::seconds(20);
        assert!(s.access_expired(now, 30));
        assert!(!s.access_expired(now, 10));
    }
}
