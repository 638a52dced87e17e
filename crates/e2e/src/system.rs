//! The whole of Penny as processes: the four service binaries (`penny-auth`, `penny-ledger`,
//! `penny-mail-ingest`, `penny-extraction`) on free ports, each with the environment `make run`
//! gives it but pointing at a database and a RabbitMQ vhost of this system's own, and a real
//! nginx rendered from `deploy/gateway/` in front of them.
//!
//! A test (or the benchmark) builds a [`System`] from a [`SystemConfig`], talks to it through
//! [`System::gateway_url`], and can SIGKILL and restart any service process to prove that nothing
//! is lost or doubled. Services' broker connections can go through a [`TcpProxy`] so the test
//! can cut the broker away from every service at once ([`System::cut_broker`]).
//!
//! Each process writes its log to a file in the system's temporary folder; when a test fails
//! (the system is dropped while a panic unwinds) the end of every log is printed, so the
//! failure comes with what each service was doing. Dropping the system kills every process.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use penny_testkit::{TcpProxy, TestDb, TestVhost};

/// One of Penny's four services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    Auth,
    Ledger,
    MailIngest,
    Extraction,
}

impl Service {
    /// Every service, in start-up order (auth first: the others load its JWKS from it).
    pub const ALL: [Service; 4] = [Service::Auth, Service::Ledger, Service::MailIngest, Service::Extraction];

    /// The service's name (`mail-ingest`).
    pub fn name(self) -> &'static str {
        match self {
            Service::Auth => "auth",
            Service::Ledger => "ledger",
            Service::MailIngest => "mail-ingest",
            Service::Extraction => "extraction",
        }
    }

    /// The binary's file name (`penny-mail-ingest`).
    pub fn binary(self) -> String {
        format!("penny-{}", self.name())
    }

    /// The prefix of the service's consumer queues (`ingest.` for mail-ingest).
    fn queue_prefix(self) -> Option<&'static str> {
        match self {
            Service::Auth => None,
            Service::Ledger => Some("ledger."),
            Service::MailIngest => Some("ingest."),
            Service::Extraction => Some("extraction."),
        }
    }
}

impl std::fmt::Display for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How much of a service one process runs (the binary's subcommand).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// API and workers in one process.
    Serve,
    /// Only the HTTP API (the outbox relay still runs).
    Api,
    /// Only the workers, with a probe-only HTTP port.
    Work,
}

impl Mode {
    fn subcommand(self) -> &'static str {
        match self {
            Mode::Serve => "serve",
            Mode::Api => "api",
            Mode::Work => "work",
        }
    }

    fn runs_workers(self) -> bool {
        matches!(self, Mode::Serve | Mode::Work)
    }

    fn runs_api(self) -> bool {
        matches!(self, Mode::Serve | Mode::Api)
    }
}

/// What kind of system to start.
#[derive(Debug, Clone)]
pub struct SystemConfig {
    /// Services that run as two processes, `api` and `work`, instead of one `serve`, so that a
    /// test can kill just the workers.
    pub split: Vec<Service>,
    /// Route the services' broker connections through a [`TcpProxy`] the test can cut.
    pub broker_proxy: bool,
    /// Cheap argon2 parameters: registration and login cost a millisecond instead of the OWASP
    /// setting's ≈ 15 ms in release and far more in an unoptimised debug build. Off for
    /// benchmarks.
    pub fast_passwords: bool,
    /// More `PENNY_*` variables for every service (they ignore what they do not know).
    pub env: Vec<(String, String)>,
    /// Where the service binaries are; default: the cargo target folder of the running
    /// executable's profile (see [`binary_dir`]).
    pub bin_dir: Option<PathBuf>,
    /// How long a process may take to answer `/readyz`.
    pub ready_timeout: Duration,
    /// The services' log filter (`PENNY_LOG_FILTER`); `PENNY_E2E_LOG` overrides it.
    pub log_filter: String,
}

impl SystemConfig {
    /// What the end-to-end tests use: one `serve` process per service, cheap passwords, rate
    /// limits off.
    pub fn for_tests() -> Self {
        Self {
            split: Vec::new(),
            broker_proxy: false,
            fast_passwords: true,
            env: Vec::new(),
            bin_dir: None,
            ready_timeout: Duration::from_secs(60),
            log_filter: "info".into(),
        }
    }

    /// The `make run` configuration (`scripts/run-local.sh`): default durability, OWASP
    /// password hashing; only the rate limits are off (auth's and the gateway's), as for every
    /// benchmark.
    pub fn make_run() -> Self {
        Self { fast_passwords: false, log_filter: "info".into(), ..Self::for_tests() }
    }
}

/// One process of a service.
struct Process {
    service: Service,
    mode: Mode,
    port: u16,
    log: PathBuf,
    child: Option<Child>,
    starts: u32,
}

impl Process {
    fn label(&self) -> String {
        match self.mode {
            Mode::Serve => self.service.name().to_owned(),
            mode => format!("{}-{}", self.service.name(), mode.subcommand()),
        }
    }
}

/// nginx running the gateway config.
struct Gateway {
    port: u16,
    prefix: PathBuf,
    child: Option<Child>,
}

/// A running Penny; every process is killed when it is dropped.
pub struct System {
    processes: Vec<Process>,
    gateway: Gateway,
    proxy: Option<TcpProxy>,
    bin_dir: PathBuf,
    env: Vec<(String, String)>,
    ready_timeout: Duration,
    http: reqwest::Client,
    vhost: TestVhost,
    db: TestDb,
    /// The folder with the logs; `None` once kept (`PENNY_E2E_KEEP` set keeps it after the run).
    dir: Option<tempfile::TempDir>,
    dir_path: PathBuf,
}

/// The repository's root (for `deploy/gateway/render.sh` and `demo/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The folder holding the service binaries of the profile the current executable was built
/// with: a test runs from `target/<profile>/deps/`, a binary from `target/<profile>/`.
/// `PENNY_E2E_BIN_DIR` overrides it.
pub fn binary_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("PENNY_E2E_BIN_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let exe = std::env::current_exe().context("cannot find the running executable")?;
    let mut dir = exe.parent().context("the running executable has no folder")?.to_path_buf();
    if dir.file_name().is_some_and(|name| name == "deps") {
        dir.pop();
    }
    Ok(dir)
}

fn check_binaries(dir: &Path) -> anyhow::Result<()> {
    let missing: Vec<String> =
        Service::ALL.iter().map(|s| s.binary()).filter(|name| !dir.join(name).is_file()).collect();
    if !missing.is_empty() {
        let profile = if dir.ends_with("release") { " --release" } else { "" };
        bail!(
            "the service binaries {} are missing from {}: build them first with \
             `cargo build{profile} --workspace --bins` (or point PENNY_E2E_BIN_DIR at them)",
            missing.join(", "),
            dir.display()
        );
    }
    Ok(())
}

/// A port nobody listens on right now (bound on 127.0.0.1:0 and released; the service binds it
/// again a moment later).
fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl System {
    /// Creates the database and the vhost, a signing key, starts every service and waits until
    /// each answers `/readyz` and every consumer queue exists, then starts the gateway.
    pub async fn start(config: SystemConfig) -> anyhow::Result<Self> {
        let bin_dir = match &config.bin_dir {
            Some(dir) => dir.clone(),
            None => binary_dir()?,
        };
        check_binaries(&bin_dir)?;
        let dir =
            tempfile::Builder::new().prefix("penny-e2e-").tempdir().context("cannot create a temp dir")?;
        std::fs::create_dir_all(dir.path().join("logs"))?;
        std::fs::create_dir_all(dir.path().join("mail"))?;
        let db = TestDb::new().await;
        let vhost = TestVhost::new().await;
        let proxy = if config.broker_proxy { Some(TcpProxy::start(&broker_host()).await) } else { None };
        let amqp_url = match &proxy {
            Some(proxy) => vhost.url_via(&proxy.address()),
            None => vhost.url(),
        };

        // A signing key as run-local.sh makes it.
        let key = dir.path().join("jwt.pem");
        let output = Command::new("openssl")
            .args(["genpkey", "-algorithm", "ed25519", "-out"])
            .arg(&key)
            .output()
            .context("cannot run openssl (is it installed?)")?;
        if !output.status.success() {
            bail!("openssl genpkey failed: {}", String::from_utf8_lossy(&output.stderr));
        }

        let mut processes = Vec::new();
        for service in Service::ALL {
            let modes: &[Mode] =
                if config.split.contains(&service) { &[Mode::Api, Mode::Work] } else { &[Mode::Serve] };
            for &mode in modes {
                let mut process = Process {
                    service,
                    mode,
                    port: free_port()?,
                    log: PathBuf::new(),
                    child: None,
                    starts: 0,
                };
                process.log = dir.path().join("logs").join(format!("{}.log", process.label()));
                processes.push(process);
            }
        }
        let auth_port = processes
            .iter()
            .find(|p| p.service == Service::Auth && p.mode.runs_api())
            .map(|p| p.port)
            .context("no auth API process")?;

        let log_filter = std::env::var("PENNY_E2E_LOG").unwrap_or(config.log_filter.clone());
        let mut env: Vec<(String, String)> = vec![
            ("PENNY_HOST".into(), "127.0.0.1".into()),
            ("PENNY_DATABASE_URL".into(), db.url().to_owned()),
            ("PENNY_AMQP_URL".into(), amqp_url),
            ("PENNY_LOG_FILTER".into(), log_filter),
            ("PENNY_JWKS_URL".into(), format!("http://127.0.0.1:{auth_port}/.well-known/jwks.json")),
            ("PENNY_JWT_PRIVATE_KEY_FILE".into(), key.display().to_string()),
            ("PENNY_MAIL_DIR".into(), dir.path().join("mail").display().to_string()),
            ("PENNY_RATE_LIMITS_ENABLED".into(), "false".into()),
        ];
        if config.fast_passwords {
            env.push(("PENNY_ARGON2_MEMORY_KIB".into(), "1024".into()));
            env.push(("PENNY_ARGON2_ITERATIONS".into(), "1".into()));
        }
        env.extend(config.env.iter().cloned());

        let gateway = Gateway { port: 0, prefix: dir.path().join("gateway"), child: None };
        let mut system = Self {
            processes,
            gateway,
            proxy,
            bin_dir,
            env,
            ready_timeout: config.ready_timeout,
            http: reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?,
            vhost,
            db,
            dir_path: dir.path().to_path_buf(),
            dir: Some(dir),
        };
        // Auth first, so its JWKS answers whenever another service first needs it.
        for service in Service::ALL {
            for index in system.indexes(service) {
                system.spawn(index)?;
            }
            if service == Service::Auth {
                system.wait_ready(Service::Auth).await?;
            }
        }
        for service in Service::ALL {
            system.wait_ready(service).await?;
        }
        system.wait_for_queues().await?;
        system.start_gateway()?;
        Ok(system)
    }

    fn indexes(&self, service: Service) -> Vec<usize> {
        self.processes.iter().enumerate().filter(|(_, p)| p.service == service).map(|(i, _)| i).collect()
    }

    /// The process that runs `service`'s workers (`serve` or `work`).
    fn worker_index(&self, service: Service) -> anyhow::Result<usize> {
        self.processes
            .iter()
            .position(|p| p.service == service && p.mode.runs_workers())
            .with_context(|| format!("no worker process for {service}"))
    }

    fn api_index(&self, service: Service) -> anyhow::Result<usize> {
        self.processes
            .iter()
            .position(|p| p.service == service && p.mode.runs_api())
            .with_context(|| format!("no API process for {service}"))
    }

    fn spawn(&mut self, index: usize) -> anyhow::Result<()> {
        let binary = self.bin_dir.join(self.processes[index].service.binary());
        let process = &mut self.processes[index];
        process.starts += 1;
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&process.log)
            .with_context(|| format!("cannot open {}", process.log.display()))?;
        writeln!(
            log,
            "==== penny-e2e: start #{} of {} {} on 127.0.0.1:{} ====",
            process.starts,
            binary.display(),
            process.mode.subcommand(),
            process.port
        )?;
        let mut command = Command::new(&binary);
        command.arg(process.mode.subcommand());
        // The services read every PENNY_* variable they know: nothing of the caller's leaks in.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("PENNY_") || name == "RUST_LOG" {
                command.env_remove(name);
            }
        }
        command
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("PENNY_PORT", process.port.to_string())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let child = command.spawn().with_context(|| format!("cannot start {}", binary.display()))?;
        process.child = Some(child);
        Ok(())
    }

    /// Waits until every process of `service` answers `/readyz` with 200.
    pub async fn wait_ready(&mut self, service: Service) -> anyhow::Result<()> {
        for index in self.indexes(service) {
            self.wait_process_ready(index).await?;
        }
        Ok(())
    }

    async fn wait_process_ready(&mut self, index: usize) -> anyhow::Result<()> {
        let deadline = Instant::now() + self.ready_timeout;
        let url = format!("http://127.0.0.1:{}/readyz", self.processes[index].port);
        loop {
            let process = &mut self.processes[index];
            let label = process.label();
            if let Some(child) = process.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                process.child = None;
                bail!(
                    "{label} exited ({status}) before it was ready; its log ends with:\n{}",
                    self.tail(index, 40)
                );
            }
            if let Ok(response) = self.http.get(&url).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "{label} is not ready after {:?}; its log ends with:\n{}",
                    self.ready_timeout,
                    self.tail(index, 40)
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until every consumer queue of the running services exists, so no event published
    /// from now on waits for its queue.
    async fn wait_for_queues(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + self.ready_timeout;
        for spec in penny_platform::broker::topology::CATALOGUE {
            let owned =
                Service::ALL.iter().any(|s| s.queue_prefix().is_some_and(|p| spec.name.starts_with(p)));
            if !owned {
                continue;
            }
            while !self.vhost.queue_exists(spec.name).await {
                if Instant::now() > deadline {
                    bail!("queue {} was never declared", spec.name);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        Ok(())
    }

    fn start_gateway(&mut self) -> anyhow::Result<()> {
        let upstream = |service| -> anyhow::Result<String> {
            Ok(format!("127.0.0.1:{}", self.processes[self.api_index(service)?].port))
        };
        let port = free_port()?;
        let prefix = self.gateway.prefix.clone();
        let render = Command::new("bash")
            .arg(workspace_root().join("deploy/gateway/render.sh"))
            .arg(&prefix)
            .env("LISTEN", format!("127.0.0.1:{port}"))
            .env("AUTH_UPSTREAM", upstream(Service::Auth)?)
            .env("LEDGER_UPSTREAM", upstream(Service::Ledger)?)
            .env("MAIL_INGEST_UPSTREAM", upstream(Service::MailIngest)?)
            .env("EXTRACTION_UPSTREAM", upstream(Service::Extraction)?)
            .env("RATE_LIMIT", "off")
            .env("RATE_LIMIT_BURST", "0")
            .env_remove("REAL_IP_FROM")
            .env_remove("ACCESS_LOG")
            .env_remove("ERROR_LOG")
            .env_remove("BODY_LIMIT")
            .env_remove("IMPORT_BODY_LIMIT")
            .output()
            .context("cannot run deploy/gateway/render.sh")?;
        if !render.status.success() {
            bail!("render.sh failed: {}", String::from_utf8_lossy(&render.stderr));
        }
        let log = File::create(self.dir_path.join("logs/nginx.log"))?;
        let child = Command::new(std::env::var("PENNY_NGINX").unwrap_or_else(|_| "nginx".into()))
            .arg("-p")
            .arg(format!("{}/", prefix.display()))
            .arg("-c")
            .arg(prefix.join("nginx.conf"))
            .args(["-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("cannot start nginx")?;
        self.gateway.child = Some(child);
        self.gateway.port = port;
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                bail!("nginx is not listening on {port}:\n{}", tail_file(&prefix.join("logs/error.log"), 20));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// The gateway's URL for `path` (`/v1/...`).
    pub fn gateway_url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.gateway.port)
    }

    /// A service's own URL (its API process) for `path`: `/readyz`, `/metrics`.
    pub fn service_url(&self, service: Service, path: &str) -> anyhow::Result<String> {
        Ok(format!("http://127.0.0.1:{}{path}", self.processes[self.api_index(service)?].port))
    }

    /// The system's database (every service's schema is in it).
    pub fn database_url(&self) -> &str {
        self.db.url()
    }

    /// The system's RabbitMQ vhost.
    pub fn vhost(&self) -> &TestVhost {
        &self.vhost
    }

    /// The folder with the logs (`logs/<process>.log`) and the signing key.
    pub fn dir(&self) -> &Path {
        &self.dir_path
    }

    /// SIGKILLs the process running `service`'s workers (its `serve` process, or its `work`
    /// process when the service is split) and reaps it. Nothing of it gets to finish: unacked
    /// messages go back to their queues, open transactions roll back.
    pub fn kill(&mut self, service: Service) -> anyhow::Result<()> {
        let index = self.worker_index(service)?;
        self.kill_index(index)
    }

    fn kill_index(&mut self, index: usize) -> anyhow::Result<()> {
        let process = &mut self.processes[index];
        let label = process.label();
        let mut child = process.child.take().with_context(|| format!("{label} is not running"))?;
        child.kill().with_context(|| format!("cannot kill {label}"))?;
        child.wait()?;
        Ok(())
    }

    /// Starts `service`'s killed process again, on the same port, and waits until it is ready.
    pub async fn restart(&mut self, service: Service) -> anyhow::Result<()> {
        let index = self.worker_index(service)?;
        if self.processes[index].child.is_some() {
            bail!("{} is still running; kill it first", self.processes[index].label());
        }
        self.spawn(index)?;
        self.wait_process_ready(index).await
    }

    /// The process id of the process running `service`'s workers.
    pub fn pid(&self, service: Service) -> anyhow::Result<u32> {
        let process = &self.processes[self.worker_index(service)?];
        process.child.as_ref().map(Child::id).with_context(|| format!("{} is not running", process.label()))
    }

    /// Peak resident memory (`VmHWM`) of every running process of `service`, summed, in KiB.
    pub fn peak_memory_kib(&self, service: Service) -> anyhow::Result<u64> {
        let mut total = 0;
        for index in self.indexes(service) {
            let Some(child) = self.processes[index].child.as_ref() else { continue };
            let status = std::fs::read_to_string(format!("/proc/{}/status", child.id()))
                .with_context(|| format!("cannot read /proc/{}/status", child.id()))?;
            let kib = status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .context("no VmHWM in /proc/<pid>/status")?;
            total += kib;
        }
        Ok(total)
    }

    /// CPU time (user + system) used so far by every running process of `service`, in seconds.
    pub fn cpu_seconds(&self, service: Service) -> anyhow::Result<f64> {
        let mut total = 0.0;
        for index in self.indexes(service) {
            if let Some(child) = self.processes[index].child.as_ref() {
                total += process_cpu_seconds(child.id())?;
            }
        }
        Ok(total)
    }

    /// Breaks every service's broker connection and refuses new ones, until
    /// [`System::restore_broker`]. Needs `broker_proxy` in the configuration.
    pub fn cut_broker(&self) -> anyhow::Result<()> {
        self.proxy.as_ref().context("the system was started without broker_proxy")?.cut();
        Ok(())
    }

    /// Lets the services reach the broker again.
    pub fn restore_broker(&self) -> anyhow::Result<()> {
        self.proxy.as_ref().context("the system was started without broker_proxy")?.restore();
        Ok(())
    }

    fn tail(&self, index: usize, lines: usize) -> String {
        tail_file(&self.processes[index].log, lines)
    }

    /// The last `lines` lines of every process's log and of nginx's error log.
    pub fn log_tails(&self, lines: usize) -> String {
        let mut out = String::new();
        for (index, process) in self.processes.iter().enumerate() {
            out.push_str(&format!(
                "---- {} (started {} time(s); {}) ----\n{}\n",
                process.label(),
                process.starts,
                process.log.display(),
                self.tail(index, lines)
            ));
        }
        out.push_str(&format!(
            "---- nginx error.log ----\n{}\n",
            tail_file(&self.gateway.prefix.join("logs/error.log"), lines)
        ));
        out
    }

    fn stop_everything(&mut self) {
        for process in &mut self.processes {
            if let Some(mut child) = process.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        if let Some(mut nginx) = self.gateway.child.take() {
            // SIGTERM lets the master stop its worker; SIGKILL would orphan it.
            let _ = Command::new("kill").arg("-TERM").arg(nginx.id().to_string()).status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = nginx.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = nginx.kill();
            let _ = nginx.wait();
        }
    }
}

impl Drop for System {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "\n==== penny-e2e: the test failed; the end of each process's log ({}; PENNY_E2E_KEEP=1 keeps it) ====\n{}",
                self.dir_path.display(),
                self.log_tails(60)
            );
        }
        if std::env::var_os("PENNY_E2E_KEEP").is_some()
            && let Some(dir) = self.dir.take()
        {
            eprintln!("penny-e2e: logs kept in {}", dir.keep().display());
        }
        self.stop_everything();
    }
}

/// CPU time (user + system) a process has used, in seconds, from `/proc/<pid>/stat` (fields 14
/// and 15, in clock ticks of 1/100 s, Linux's `USER_HZ` on every common architecture).
pub fn process_cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("cannot read /proc/{pid}/stat"))?;
    // The command name is in parentheses and may hold spaces: count fields after it.
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).context("an unreadable /proc/<pid>/stat")?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields.get(i).and_then(|v| v.parse::<u64>().ok()).context("no CPU times in /proc/<pid>/stat")
    };
    // `after` starts at field 3 (state): utime is field 14, stime field 15.
    Ok((ticks(11)? + ticks(12)?) as f64 / 100.0)
}

fn broker_host() -> String {
    std::env::var("PENNY_TEST_AMQP_HOST").unwrap_or_else(|_| "127.0.0.1:5672".into())
}

/// The last `lines` lines of a file (or why it cannot be read).
fn tail_file(path: &Path, lines: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(error) => format!("(cannot read {}: {error})", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_binary_is_named_with_the_command_that_builds_it() {
        let empty = tempfile::tempdir().unwrap();
        let message = check_binaries(empty.path()).unwrap_err().to_string();
        assert!(
            message.contains("penny-auth, penny-ledger, penny-mail-ingest, penny-extraction"),
            "{message}"
        );
        assert!(message.contains("cargo build --workspace --bins"), "{message}");
        let release = empty.path().join("release");
        std::fs::create_dir(&release).unwrap();
        let message = check_binaries(&release).unwrap_err().to_string();
        assert!(message.contains("cargo build --release --workspace --bins"), "{message}");
    }

    #[test]
    fn the_binaries_are_looked_for_in_the_profile_folder_of_the_running_test() {
        let dir = binary_dir().unwrap();
        if let Some(chosen) = std::env::var_os("PENNY_E2E_BIN_DIR") {
            assert_eq!(dir, PathBuf::from(chosen));
            return;
        }
        // This test runs from target/<profile>/deps/.
        assert_ne!(dir.file_name().unwrap(), "deps");
        assert!(dir.join("deps").is_dir(), "{}", dir.display());
    }
}
