//! Where RabbitMQ is: the management HTTP API URL (credentials split off so they never appear in
//! a message) and the AMQP address `replay` publishes through, for one vhost.

use lapin::uri::AMQPUri;
use percent_encoding::{NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use secrecy::{ExposeSecret as _, SecretString};

use crate::args::RabbitArgs;
use crate::error::CliError;

/// The AMQP port used when the address is derived from the management URL.
const AMQP_PORT: u16 = 5672;

/// RabbitMQ's addresses and credentials for one vhost.
#[derive(Debug)]
pub struct RabbitTarget {
    /// The management API root (`http://host:15672/api/`), without credentials.
    pub api: url::Url,
    pub user: String,
    pub password: SecretString,
    /// The AMQP address with credentials (secret) and what may be shown of it.
    pub amqp: SecretString,
    pub amqp_shown: String,
    pub vhost: String,
}

impl RabbitTarget {
    /// Reads `--rabbitmq-url`, `--amqp-url` and `--vhost`.
    pub fn from_args(args: &RabbitArgs) -> Result<Self, CliError> {
        let mut api = url::Url::parse(&args.management_url)
            .map_err(|e| CliError::Usage(format!("--rabbitmq-url is not a URL: {e}")))?;
        if !matches!(api.scheme(), "http" | "https") {
            return Err(CliError::Usage("--rabbitmq-url must be http:// or https://".into()));
        }
        let user = decode(api.username())?;
        let password = decode(api.password().unwrap_or(""))?;
        let host =
            api.host_str().ok_or_else(|| CliError::Usage("--rabbitmq-url has no host".into()))?.to_owned();
        let _ = api.set_username("");
        let _ = api.set_password(None);
        let path = api.path().trim_end_matches('/').to_owned();
        if !path.ends_with("/api") {
            api.set_path(&format!("{path}/api"));
        }
        let path = format!("{}/", api.path().trim_end_matches('/'));
        api.set_path(&path);

        let amqp_base = match &args.amqp_url {
            Some(url) => url.clone(),
            None => format!("amqp://{}:{}@{host}:{AMQP_PORT}", encode(&user), encode(&password)),
        };
        let (amqp, amqp_shown) = amqp_for_vhost(&amqp_base, &args.vhost)?;
        Ok(Self {
            api,
            user,
            password: SecretString::from(password),
            amqp: SecretString::from(amqp),
            amqp_shown,
            vhost: args.vhost.clone(),
        })
    }

    /// The management API URL of `segments` (each percent-encoded, so the vhost `/` is `%2F`).
    pub fn endpoint(&self, segments: &[&str]) -> url::Url {
        let mut url = self.api.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// The AMQP URI to connect to.
    pub fn amqp_uri(&self) -> Result<AMQPUri, CliError> {
        self.amqp.expose_secret().parse().map_err(|e: String| CliError::Usage(format!("--amqp-url: {e}")))
    }
}

/// The AMQP URL for `vhost` (secret) and a shown form without credentials. A URL that names a
/// vhost of its own must name the same one as `--vhost`.
fn amqp_for_vhost(base: &str, vhost: &str) -> Result<(String, String), CliError> {
    let parsed =
        url::Url::parse(base).map_err(|e| CliError::Usage(format!("--amqp-url is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "amqp" | "amqps") {
        return Err(CliError::Usage("--amqp-url must be amqp:// or amqps://".into()));
    }
    let named = parsed.path().strip_prefix('/').unwrap_or("");
    if !named.is_empty() && decode(named)? != vhost {
        return Err(CliError::Usage(format!(
            "--amqp-url names vhost `{}` but --vhost is `{vhost}`: give the vhost with --vhost only",
            decode(named)?
        )));
    }
    let host = parsed.host_str().ok_or_else(|| CliError::Usage("--amqp-url has no host".into()))?;
    let port = parsed.port().map(|p| format!(":{p}")).unwrap_or_default();
    let mut userinfo = String::new();
    if !parsed.username().is_empty() {
        userinfo = parsed.username().to_owned();
        if let Some(password) = parsed.password() {
            userinfo.push(':');
            userinfo.push_str(password);
        }
        userinfo.push('@');
    }
    let tail = format!("{host}{port}/{}", encode(vhost));
    let query = parsed.query().map(|q| format!("?{q}")).unwrap_or_default();
    Ok((format!("{}://{userinfo}{tail}{query}", parsed.scheme()), format!("{}://{tail}", parsed.scheme())))
}

fn decode(text: &str) -> Result<String, CliError> {
    percent_decode_str(text)
        .decode_utf8()
        .map(|t| t.into_owned())
        .map_err(|_| CliError::Usage("a RabbitMQ URL holds invalid percent-encoding".into()))
}

fn encode(text: &str) -> String {
    utf8_percent_encode(text, NON_ALPHANUMERIC).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(management: &str, amqp: Option<&str>, vhost: &str) -> RabbitArgs {
        RabbitArgs {
            management_url: management.into(),
            amqp_url: amqp.map(str::to_owned),
            vhost: vhost.into(),
        }
    }

    #[test]
    fn credentials_are_split_off_and_the_amqp_address_derived() {
        let target = RabbitTarget::from_args(&args("http://ops:s%40cret@mq.local:15672", None, "/")).unwrap();
        assert_eq!(target.api.as_str(), "http://mq.local:15672/api/");
        assert_eq!((target.user.as_str(), target.password.expose_secret()), ("ops", "s@cret"));
        assert_eq!(target.endpoint(&["queues", "/"]).as_str(), "http://mq.local:15672/api/queues/%2F");
        assert_eq!(target.amqp_shown, "amqp://mq.local:5672/%2F");
        let uri = target.amqp_uri().unwrap();
        assert_eq!(uri.vhost, "/");
        assert_eq!(uri.authority.userinfo.password, "s@cret");
    }

    #[test]
    fn an_explicit_amqp_url_takes_the_vhost_option() {
        let target = RabbitTarget::from_args(&args(
            "http://g:g@h:15672/api/",
            Some("amqp://a:b@other:5673"),
            "penny-x",
        ))
        .unwrap();
        assert_eq!(target.api.as_str(), "http://h:15672/api/");
        let uri = target.amqp_uri().unwrap();
        assert_eq!(
            (uri.authority.host.as_str(), uri.authority.port, uri.vhost.as_str()),
            ("other", 5673, "penny-x")
        );
        let clash = RabbitTarget::from_args(&args("http://h:15672", Some("amqp://h/%2f"), "penny-x"));
        assert!(matches!(clash, Err(CliError::Usage(_))));
    }
}
