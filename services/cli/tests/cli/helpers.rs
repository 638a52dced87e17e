//! The whole of Penny for one test: the four real services started in-process on free ports,
//! sharing one test database (each in its own schema, as in production) and one test vhost,
//! behind a real nginx gateway rendered from `deploy/gateway/`. Auth signs tokens with a key of
//! the test's own; the other services verify them through auth's JWKS URL, exactly as deployed.
//! The `penny` binary is then run as a separate process against the gateway, with standard
//! output a pipe (so progress comes as plain lines) and a config directory of its own.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use penny_auth::AuthSettings;
use penny_extraction::ExtractionSettings;
use penny_ledger::LedgerSettings;
use penny_mail_ingest::MailIngestSettings;
use penny_mail_ingest::crypto::SecretBox;
use penny_platform::cli::RunMode;
use penny_platform::{CommonSettings, Settings};
use penny_testkit::gateway::{Gateway, Limits, Upstreams};
use penny_testkit::service::{AUDIENCE, ISSUER};
use penny_testkit::{TestDb, TestVhost};
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::Value;
use tokio::io::AsyncWriteExt as _;

/// A password zxcvbn rates strong.
pub const PASSWORD: &str = "amber-tundra-falcon-62";
/// The admin the stack creates at start-up.
pub const ADMIN: &str = "root";
pub const ADMIN_PASSWORD: &str = "granite-meadow-violet-38";

/// The longest any one `penny` run may take in a test.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// What a `penny` run printed and how it ended.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Panics with the output unless the run exited 0.
    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(self.code, 0, "penny failed:\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }

    /// Panics unless the run exited with `code`.
    #[track_caller]
    pub fn fails_with(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "unexpected exit code:\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Standard output as JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", self.stdout))
    }
}

/// A running Penny and a place for the CLI's credentials.
pub struct Stack {
    pub gateway: Gateway,
    pub vhost: TestVhost,
    pub db: TestDb,
    /// The CLI's `PENNY_CONFIG_DIR`.
    pub config_dir: tempfile::TempDir,
    _files: tempfile::TempDir,
}

impl Stack {
    /// Starts everything with default settings.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts everything, with auth's settings adjusted by `adjust`.
    pub async fn start_with(adjust: impl FnOnce(&mut AuthSettings)) -> Self {
        penny_platform::telemetry::init_for_test();
        let db = TestDb::new().await;
        let vhost = TestVhost::new().await;
        let files = tempfile::tempdir().expect("temp dir");

        let common = |jwks_url: Option<String>| CommonSettings {
            port: 0,
            database_url: SecretString::from(db.url().to_owned()),
            amqp_url: SecretString::from(vhost.url()),
            database_pool_size: 4,
            jwt_issuer: ISSUER.into(),
            jwt_audience: AUDIENCE.into(),
            jwks_url,
            jwks_file: None,
            shutdown_timeout_secs: 1,
            ..CommonSettings::default()
        };

        let key_file = files.path().join("jwt.pem");
        let pem = penny_platform::signing::generate_pkcs8_pem().expect("signing key");
        std::fs::write(&key_file, pem.expose_secret()).expect("write key");
        let mut auth = AuthSettings {
            jwt_private_key_file: Some(key_file),
            argon2_memory_kib: 256,
            argon2_iterations: 1,
            argon2_parallelism: 1,
            password_hash_threads: 2,
            mail_dir: files.path().join("mail"),
            admin_username: Some(ADMIN.into()),
            admin_email: Some("root@example.org".into()),
            admin_password: Some(SecretString::from(ADMIN_PASSWORD)),
            ..AuthSettings::default()
        };
        adjust(&mut auth);
        let app =
            penny_auth::Application::build(Settings { common: common(None), service: auth }, RunMode::Serve)
                .await
                .expect("auth");
        let auth_port = app.port();
        tokio::spawn(app.run_until_stopped());
        let jwks = Some(format!("http://127.0.0.1:{auth_port}/.well-known/jwks.json"));

        let app = penny_ledger::Application::build(
            Settings { common: common(jwks.clone()), service: LedgerSettings::default() },
            RunMode::Serve,
        )
        .await
        .expect("ledger");
        let ledger_port = app.port();
        tokio::spawn(app.run_until_stopped());

        let (_, secret_keys) = SecretBox::generate("test-key");
        let ingest = MailIngestSettings { secret_keys: Some(secret_keys), ..MailIngestSettings::default() };
        let app = penny_mail_ingest::Application::build(
            Settings { common: common(jwks.clone()), service: ingest },
            RunMode::Serve,
        )
        .await
        .expect("mail-ingest");
        let ingest_port = app.port();
        tokio::spawn(app.run_until_stopped());

        let app = penny_extraction::Application::build(
            Settings { common: common(jwks), service: ExtractionSettings::default() },
            RunMode::Serve,
        )
        .await
        .expect("extraction");
        let extraction_port = app.port();
        tokio::spawn(app.run_until_stopped());

        let address = |port: u16| std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let upstreams = Upstreams {
            auth: address(auth_port),
            ledger: address(ledger_port),
            mail_ingest: address(ingest_port),
            extraction: address(extraction_port),
        };
        let gateway = tokio::task::spawn_blocking(move || Gateway::start(&upstreams, &Limits::default()))
            .await
            .expect("gateway thread")
            .expect("gateway");
        Self { gateway, vhost, db, config_dir: tempfile::tempdir().expect("temp dir"), _files: files }
    }

    /// The gateway's base URL.
    pub fn url(&self) -> String {
        self.gateway.url("")
    }

    /// The CLI's credentials file.
    pub fn credentials_file(&self) -> PathBuf {
        self.config_dir.path().join("credentials.json")
    }

    /// Runs `penny args...` against the gateway.
    pub async fn penny(&self, args: &[&str]) -> Run {
        self.penny_with(args, None, &[]).await
    }

    /// Runs `penny args...` with `stdin` as standard input.
    pub async fn penny_stdin(&self, args: &[&str], stdin: &str) -> Run {
        self.penny_with(args, Some(stdin), &[]).await
    }

    /// Runs `penny args...` with standard input and extra environment variables.
    pub async fn penny_with(&self, args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Run {
        penny(self.config_dir.path(), &self.url(), self.vhost.name(), args, stdin, env).await
    }

    /// Runs `penny args...` with a pseudo-terminal as standard output (through util-linux's
    /// `script`), as a person at a terminal would; the transcript is the output.
    pub async fn penny_in_terminal(&self, args: &[&str]) -> Run {
        let line = std::iter::once(env!("CARGO_BIN_EXE_penny"))
            .chain(args.iter().copied())
            .map(|word| format!("'{}'", word.replace('\'', r"'\''")))
            .collect::<Vec<_>>()
            .join(" ");
        let script = ["-q", "-e", "-c", line.as_str(), "/dev/null"];
        run(
            "script",
            &script,
            self.config_dir.path(),
            &self.url(),
            self.vhost.name(),
            None,
            &[("COLUMNS", "120"), ("LINES", "40"), ("TERM", "xterm")],
        )
        .await
    }

    /// Registers `username` and logs in as them.
    pub async fn sign_up(&self, username: &str) {
        let email = format!("{username}@example.org");
        self.penny_stdin(
            &["register", "--username", username, "--email", &email, "--password-stdin"],
            PASSWORD,
        )
        .await
        .ok();
        self.penny_stdin(&["login", "--user", username, "--password-stdin"], PASSWORD).await.ok();
    }

    /// A fixture's path.
    pub fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
    }

    /// Runs one SQL count against the stack's database.
    pub async fn count(&self, sql: &str) -> i64 {
        use diesel_async::{AsyncConnection as _, AsyncPgConnection};
        let mut conn = AsyncPgConnection::establish(self.db.url()).await.expect("connect");
        penny_testkit::count(&mut conn, sql).await
    }

    /// Polls `check` every 200 ms for up to `timeout`, panicking with `what` if it never holds.
    pub async fn eventually<F, Fut>(what: &str, timeout: Duration, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = bool>,
    {
        let deadline = tokio::time::Instant::now() + timeout;
        while tokio::time::Instant::now() < deadline {
            if check().await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("timed out waiting for {what}");
    }
}

/// Runs the `penny` binary with a config directory, gateway and vhost of the test's choosing;
/// every other `PENNY_*` variable of the test's own environment is removed.
pub async fn penny(
    config_dir: &Path,
    url: &str,
    vhost: &str,
    args: &[&str],
    stdin: Option<&str>,
    env: &[(&str, &str)],
) -> Run {
    run(env!("CARGO_BIN_EXE_penny"), args, config_dir, url, vhost, stdin, env).await
}

async fn run(
    program: &str,
    args: &[&str],
    config_dir: &Path,
    url: &str,
    vhost: &str,
    stdin: Option<&str>,
    env: &[(&str, &str)],
) -> Run {
    let mut command = tokio::process::Command::new(program);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("PENNY_") {
            command.env_remove(name);
        }
    }
    command
        .args(args)
        .env("PENNY_CONFIG_DIR", config_dir)
        .env("PENNY_URL", url)
        .env("PENNY_RABBITMQ_VHOST", vhost)
        .envs(env.iter().copied())
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().expect("failed to start penny");
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        pipe.write_all(format!("{text}\n").as_bytes()).await.expect("write stdin");
        drop(pipe);
    }
    let stdout = tokio::spawn(read_all(child.stdout.take().expect("stdout")));
    let stderr = tokio::spawn(read_all(child.stderr.take().expect("stderr")));
    let status = tokio::time::timeout(RUN_TIMEOUT, child.wait()).await;
    if status.is_err() {
        let _ = child.kill().await;
    }
    let stdout = stdout.await.expect("stdout reader");
    let stderr = stderr.await.expect("stderr reader");
    let Ok(status) = status else {
        panic!("penny {args:?} did not finish in {RUN_TIMEOUT:?}:\nstdout:\n{stdout}\nstderr:\n{stderr}");
    };
    Run { code: status.expect("penny status").code().unwrap_or(-1), stdout, stderr }
}

async fn read_all(mut pipe: impl tokio::io::AsyncRead + Unpin) -> String {
    use tokio::io::AsyncReadExt as _;
    let mut bytes = Vec::new();
    let _ = pipe.read_to_end(&mut bytes).await;
    String::from_utf8_lossy(&bytes).into_owned()
}
