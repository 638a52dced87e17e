//! Layered settings: built-in defaults, then an optional TOML file, then `PENNY_*` environment
//! variables, then `PENNY_<SERVICE>_*` variables that override the shared ones for one service.
//!
//! One environment can serve every service: a service reads the names it knows and ignores the
//! rest. A file is written for one service, so a key in it that the service does not know is an
//! error (a typo would otherwise be silently ignored).

use std::collections::BTreeSet;
use std::net::IpAddr;

use ipnet::IpNet;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::SecretString;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_aux::serde_introspection::serde_introspect;

/// Who a service is: its name, environment prefix, database schema and default port.
#[derive(Debug, Clone, Copy)]
pub struct ServiceInfo {
    /// The service name (`ledger`), used in logs, traces and metrics.
    pub name: &'static str,
    /// The per-service environment prefix after `PENNY_` (`LEDGER`, `MAIL_INGEST`).
    pub env_prefix: &'static str,
    /// The PostgreSQL schema the service owns.
    pub schema: &'static str,
    /// The HTTP port `make run` uses.
    pub default_port: u16,
}

/// Why settings could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read settings file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("settings file {path} is not valid TOML: {source}")]
    Syntax { path: PathBuf, source: Box<toml::de::Error> },
    #[error("settings file {path} has unknown key(s): {keys}")]
    UnknownKeys { path: PathBuf, keys: String },
    #[error("invalid settings: {0}")]
    Invalid(#[from] Box<figment::Error>),
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines, for a terminal.
    #[default]
    Text,
    /// One JSON object per line, for a log pipeline.
    Json,
}

/// The settings every service shares. Environment names are `PENNY_` + the field name in upper
/// case (`PENNY_DATABASE_URL`), or `PENNY_<SERVICE>_` + it for one service only.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct CommonSettings {
    /// Address the HTTP listener binds to.
    pub host: String,
    /// HTTP port; 0 picks a free one (tests).
    pub port: u16,
    /// PostgreSQL URL (`PENNY_<SERVICE>_DATABASE_URL` gives a service its own database).
    pub database_url: SecretString,
    /// Connections of the message workers and background tasks (the relay, the consumers, the
    /// tombstone refresher), opened on demand. The default (8) keeps a compose deployment
    /// (eight processes) under PostgreSQL's default `max_connections` of 100, and on a small
    /// host fewer backends competing for the cores shorten the latency tail.
    pub database_pool_size: usize,
    /// Connections of each HTTP worker thread (actix-web runs one per core, each with a pool of
    /// its own: [`crate::db::WorkerPools`]). Two per core keep PostgreSQL busy without queueing
    /// more queries in it than it has cores to run: on two cores the ledger's list answered at
    /// ≈ 4,900 requests/s with a p99 of 24 ms with two, and 38 ms with four (docs/BENCHMARKS.md).
    pub http_worker_connections: usize,
    /// Connections for streaming uploads (mailbox and CSV imports), which hold one for as long
    /// as the client takes to send the body. They have a pool of their own so that slow
    /// uploads starve neither the API's short requests nor the message workers; more uploads at
    /// once wait for a connection before their body is read.
    pub upload_connections: usize,
    /// Run pending migrations when the service starts.
    pub migrate_on_start: bool,
    /// RabbitMQ URL, including the vhost.
    pub amqp_url: SecretString,
    /// `text` or `json`.
    pub log_format: LogFormat,
    /// A `tracing` filter such as `info,penny_ledger=debug`; `RUST_LOG` wins when set.
    pub log_filter: String,
    /// What browsers and OAuth redirects use to reach Penny.
    pub public_url: String,
    /// Expected `iss` of access tokens.
    pub jwt_issuer: String,
    /// Expected `aud` of access tokens.
    pub jwt_audience: String,
    /// Where to load the JWKS from (auth's `/.well-known/jwks.json`).
    pub jwks_url: Option<String>,
    /// A JWKS document on disk, used instead of `jwks_url`.
    pub jwks_file: Option<PathBuf>,
    /// Addresses or networks (`10.0.0.0/8`) whose `X-Real-IP` header is trusted (the gateway).
    #[serde(deserialize_with = "list_or_comma_separated")]
    pub trusted_proxies: Vec<ProxyNet>,
    /// Largest JSON body a handler accepts, in bytes.
    pub json_limit_bytes: usize,
    /// How long in-flight requests get to finish on shutdown.
    pub shutdown_timeout_secs: u64,
}

impl Default for CommonSettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 0,
            database_url: SecretString::from("postgres://postgres@127.0.0.1:5432/penny"),
            database_pool_size: 8,
            http_worker_connections: 2,
            upload_connections: 4,
            migrate_on_start: true,
            amqp_url: SecretString::from("amqp://guest:guest@127.0.0.1:5672/%2f"),
            log_format: LogFormat::Text,
            log_filter: "info".into(),
            public_url: "http://127.0.0.1:8080".into(),
            jwt_issuer: "penny-auth".into(),
            jwt_audience: "penny".into(),
            jwks_url: Some("http://127.0.0.1:8081/.well-known/jwks.json".into()),
            jwks_file: None,
            trusted_proxies: vec![ProxyNet(IpNet::from(IpAddr::from([127, 0, 0, 1])))],
            json_limit_bytes: 256 * 1024,
            shutdown_timeout_secs: 30,
        }
    }
}

/// A trusted proxy: one address or a network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyNet(pub IpNet);

impl ProxyNet {
    /// Whether `ip` is this proxy or inside this network.
    pub fn contains(&self, ip: &IpAddr) -> bool {
        self.0.contains(ip)
    }
}

impl std::str::FromStr for ProxyNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse::<IpNet>()
            .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
            .map(ProxyNet)
            .map_err(|_| format!("`{s}` is neither an IP address nor a network"))
    }
}

impl<'de> Deserialize<'de> for ProxyNet {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?.parse().map_err(serde::de::Error::custom)
    }
}

/// A service's settings: the shared part and its own.
#[derive(Debug, Clone)]
pub struct Settings<S> {
    pub common: CommonSettings,
    pub service: S,
}

impl<S: DeserializeOwned> Settings<S> {
    /// Loads settings from the defaults, `file` (if any) and the process environment.
    pub fn load(info: &ServiceInfo, file: Option<&Path>) -> Result<Self, SettingsError> {
        let known: BTreeSet<&'static str> =
            serde_introspect::<CommonSettings>().iter().chain(serde_introspect::<S>()).copied().collect();

        let mut figment = Figment::from(Serialized::default("port", info.default_port));
        if let Some(path) = file {
            check_file_keys(path, &known)?;
            figment = figment.merge(Toml::file_exact(path));
        }
        let is_known = move |key: &figment::value::UncasedStr| {
            known.contains(key.as_str().to_ascii_lowercase().as_str())
        };
        figment = figment
            .merge(Env::prefixed("PENNY_").filter(is_known.clone()))
            .merge(Env::prefixed(&format!("PENNY_{}_", info.env_prefix)).filter(is_known));

        Ok(Self {
            common: figment.extract().map_err(Box::new)?,
            service: figment.extract().map_err(Box::new)?,
        })
    }
}

/// Accepts a list (`["127.0.0.1"]` in a file) or a comma-separated string (in the environment).
fn list_or_comma_separated<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr + Deserialize<'de>,
    T::Err: std::fmt::Display,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum ListOrText<T> {
        List(Vec<T>),
        Text(String),
    }
    match ListOrText::<T>::deserialize(deserializer)? {
        ListOrText::List(items) => Ok(items),
        ListOrText::Text(text) => text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().map_err(serde::de::Error::custom))
            .collect(),
    }
}

fn check_file_keys(path: &Path, known: &BTreeSet<&'static str>) -> Result<(), SettingsError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| SettingsError::Read { path: path.into(), source })?;
    let table: toml::Table = toml::from_str(&text)
        .map_err(|source| SettingsError::Syntax { path: path.into(), source: Box::new(source) })?;
    let unknown: Vec<&str> = table.keys().map(String::as_str).filter(|k| !known.contains(k)).collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(SettingsError::UnknownKeys { path: path.into(), keys: unknown.join(", ") })
    }
}

#[cfg(test)]
// figment's Jail returns its own large error type.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;
    use figment::Jail;
    use secrecy::ExposeSecret;

    const INFO: ServiceInfo =
        ServiceInfo { name: "ledger", env_prefix: "LEDGER", schema: "ledger", default_port: 8082 };

    #[derive(Debug, Deserialize)]
    #[serde(default)]
    struct Own {
        review_threshold: String,
        api_key: Option<SecretString>,
    }

    impl Default for Own {
        fn default() -> Self {
            Self { review_threshold: "0.6".into(), api_key: None }
        }
    }

    fn load(file: Option<&str>) -> Result<Settings<Own>, SettingsError> {
        Settings::<Own>::load(&INFO, file.map(Path::new))
    }

    #[test]
    fn defaults_apply_without_file_or_environment() {
        Jail::expect_with(|_| {
            let settings = load(None).unwrap();
            assert_eq!(settings.common.port, 8082);
            assert_eq!(settings.common.host, "127.0.0.1");
            assert!(settings.common.migrate_on_start);
            assert_eq!(settings.service.review_threshold, "0.6");
            Ok(())
        });
    }

    #[test]
    fn file_overrides_defaults_and_environment_overrides_file() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "ledger.toml",
                "port = 9000\nlog_filter = \"debug\"\nreview_threshold = \"0.8\"\n",
            )?;
            jail.set_env("PENNY_LOG_FILTER", "warn");
            let settings = load(Some("ledger.toml")).unwrap();
            assert_eq!(settings.common.port, 9000);
            assert_eq!(settings.common.log_filter, "warn");
            assert_eq!(settings.service.review_threshold, "0.8");
            Ok(())
        });
    }

    #[test]
    fn the_service_prefix_beats_the_shared_name() {
        Jail::expect_with(|jail| {
            jail.set_env("PENNY_DATABASE_URL", "postgres://shared/penny");
            jail.set_env("PENNY_LEDGER_DATABASE_URL", "postgres://own/ledger");
            jail.set_env("PENNY_AUTH_DATABASE_URL", "postgres://other/auth");
            let settings = load(None).unwrap();
            assert_eq!(settings.common.database_url.expose_secret(), "postgres://own/ledger");
            Ok(())
        });
    }

    #[test]
    fn unknown_environment_names_are_ignored() {
        Jail::expect_with(|jail| {
            jail.set_env("PENNY_SOMETHING_ELSE", "x");
            jail.set_env("PENNY_ALLOW_SIGNUP", "false");
            assert!(load(None).is_ok());
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_in_a_file_are_rejected() {
        Jail::expect_with(|jail| {
            jail.create_file("ledger.toml", "port = 9000\ndatabse_url = \"typo\"\n")?;
            match load(Some("ledger.toml")) {
                Err(SettingsError::UnknownKeys { keys, .. }) => assert_eq!(keys, "databse_url"),
                other => panic!("expected unknown keys, got {other:?}"),
            }
            Ok(())
        });
    }

    #[test]
    fn wrong_types_and_missing_files_are_errors() {
        Jail::expect_with(|jail| {
            jail.set_env("PENNY_PORT", "not-a-port");
            assert!(matches!(load(None), Err(SettingsError::Invalid(_))));
            Ok(())
        });
        Jail::expect_with(|_| {
            assert!(matches!(load(Some("missing.toml")), Err(SettingsError::Read { .. })));
            Ok(())
        });
    }

    #[test]
    fn lists_and_secrets_come_from_the_environment() {
        Jail::expect_with(|jail| {
            jail.set_env("PENNY_TRUSTED_PROXIES", "10.0.0.0/8,::1");
            jail.set_env("PENNY_API_KEY", "sk-test");
            let settings = load(None).unwrap();
            assert_eq!(settings.common.trusted_proxies.len(), 2);
            assert!(settings.common.trusted_proxies[0].contains(&"10.1.2.3".parse().unwrap()));
            assert!(settings.common.trusted_proxies[1].contains(&"::1".parse().unwrap()));
            let key = settings.service.api_key.unwrap();
            assert_eq!(key.expose_secret(), "sk-test");
            assert!(!format!("{key:?}").contains("sk-test"), "secrets must not be printed");
            Ok(())
        });
    }
}
