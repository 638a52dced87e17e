//! A real nginx running the gateway config of `deploy/gateway/`, on a free port, in front of
//! whatever upstreams a test gives it.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where each service listens.
#[derive(Debug, Clone)]
pub struct Upstreams {
    pub auth: SocketAddr,
    pub ledger: SocketAddr,
    pub mail_ingest: SocketAddr,
    pub extraction: SocketAddr,
}

/// Body limits, as nginx sizes (`1m`), and the per-client rate limit.
#[derive(Debug, Clone)]
pub struct Limits {
    pub body: String,
    pub import: String,
    /// `None` turns the rate limit off: tests drive the gateway far faster than any client, and
    /// a test that wants the limit says so.
    pub rate: Option<RateLimit>,
}

impl Default for Limits {
    fn default() -> Self {
        Self { body: "1m".into(), import: "1024m".into(), rate: None }
    }
}

/// The gateway's per-client request limit (`RATE_LIMIT` and `RATE_LIMIT_BURST` of render.sh).
#[derive(Debug, Clone)]
pub struct RateLimit {
    /// As nginx writes a rate: `50r/s` or `6r/m`.
    pub rate: String,
    /// Requests beyond the rate a client may make at once.
    pub burst: u32,
}

/// A running gateway; stopped when dropped.
pub struct Gateway {
    port: u16,
    child: Child,
    prefix: tempfile::TempDir,
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("no free port")
}

impl Gateway {
    /// Renders the config with `deploy/gateway/render.sh` and starts nginx.
    pub fn start(upstreams: &Upstreams, limits: &Limits) -> anyhow::Result<Self> {
        Self::start_with(upstreams, limits, &[])
    }

    /// Like [`Gateway::start`], with more of render.sh's variables (`REAL_IP_FROM`, ...).
    pub fn start_with(upstreams: &Upstreams, limits: &Limits, vars: &[(&str, &str)]) -> anyhow::Result<Self> {
        let prefix = tempfile::tempdir()?;
        let port = free_port();
        let script = crate::workspace_root().join("deploy/gateway/render.sh");
        let render = Command::new("bash")
            .arg(&script)
            .arg(prefix.path())
            .env("LISTEN", format!("127.0.0.1:{port}"))
            .env("AUTH_UPSTREAM", upstreams.auth.to_string())
            .env("LEDGER_UPSTREAM", upstreams.ledger.to_string())
            .env("MAIL_INGEST_UPSTREAM", upstreams.mail_ingest.to_string())
            .env("EXTRACTION_UPSTREAM", upstreams.extraction.to_string())
            .env("BODY_LIMIT", &limits.body)
            .env("IMPORT_BODY_LIMIT", &limits.import)
            .env("RATE_LIMIT", limits.rate.as_ref().map_or("off", |r| r.rate.as_str()))
            .env("RATE_LIMIT_BURST", limits.rate.as_ref().map_or(0, |r| r.burst).to_string())
            .env_remove("REAL_IP_FROM")
            .env_remove("ACCESS_LOG")
            .env_remove("ERROR_LOG")
            .envs(vars.iter().copied())
            .output()?;
        anyhow::ensure!(
            render.status.success(),
            "render.sh failed: {}",
            String::from_utf8_lossy(&render.stderr)
        );

        let prefix_arg = format!("{}/", prefix.path().display());
        let config = prefix.path().join("nginx.conf");
        let child = Command::new(nginx_binary())
            .args(["-p", &prefix_arg, "-c"])
            .arg(&config)
            .args(["-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()?;
        let gateway = Self { port, child, prefix };
        gateway.wait_until_listening(Duration::from_secs(10))?;
        Ok(gateway)
    }

    fn wait_until_listening(&self, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let log = std::fs::read_to_string(self.prefix.path().join("logs/error.log")).unwrap_or_default();
        anyhow::bail!("nginx did not start listening on {}: {log}", self.port)
    }

    /// The gateway's base URL.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        // SIGTERM lets the master stop its workers; SIGKILL would leave them orphaned.
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn nginx_binary() -> String {
    std::env::var("PENNY_NGINX").unwrap_or_else(|_| "nginx".into())
}
