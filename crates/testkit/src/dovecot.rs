//! A real Dovecot IMAP server for one test: its own folder, config, users and loopback port,
//! stopped when dropped. Runs as root (as on the test machines) with the mail owned by `nobody`.
//! Dovecot comes from Debian's `dovecot-imapd` (`scripts/install-deps.sh`).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A running Dovecot with one user.
pub struct Dovecot {
    dir: tempfile::TempDir,
    pub port: u16,
    pub user: String,
    pub password: String,
}

static NEXT_FILE: AtomicU64 = AtomicU64::new(0);

impl Dovecot {
    /// Starts Dovecot with user `alice` and an empty INBOX.
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().expect("dovecot test set-up");
        let root = dir.path();
        run("chmod", &["0755", root.to_str().expect("dovecot test set-up")]);
        let port = TcpListener::bind("127.0.0.1:0")
            .expect("dovecot test set-up")
            .local_addr()
            .expect("dovecot test set-up")
            .port();
        let (user, password) = ("alice".to_owned(), "s3cret-app-password".to_owned());
        for sub in [
            "run",
            "state",
            &format!("mail/{user}/Maildir/new"),
            &format!("mail/{user}/Maildir/cur"),
            &format!("mail/{user}/Maildir/tmp"),
        ] {
            std::fs::create_dir_all(root.join(sub)).expect("dovecot test set-up");
        }
        std::fs::write(root.join("users"), format!("{user}:{{PLAIN}}{password}::::\n"))
            .expect("dovecot test set-up");
        let d = root.display();
        let config = format!(
            "protocols = imap\n\
             listen = 127.0.0.1\n\
             base_dir = {d}/run\n\
             state_dir = {d}/state\n\
             log_path = {d}/dovecot.log\n\
             info_log_path = {d}/dovecot.log\n\
             ssl = no\n\
             auth_mechanisms = plain login\n\
             disable_plaintext_auth = no\n\
             mail_location = maildir:{d}/mail/%u/Maildir\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {d}/users\n}}\n\
             userdb {{\n  driver = passwd-file\n  args = username_format=%u {d}/users\n  default_fields = uid=nobody gid=nogroup home={d}/mail/%u\n}}\n\
             service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n  inet_listener imaps {{\n    port = 0\n  }}\n}}\n"
        );
        std::fs::write(root.join("dovecot.conf"), config).expect("dovecot test set-up");
        run("chown", &["-R", "nobody:nogroup", root.join("mail").to_str().expect("dovecot test set-up")]);
        let this = Self { dir, port, user, password };
        // Dovecot forks into the background: its output goes to the log, not to pipes that the
        // daemon would keep open.
        let started = Command::new("dovecot")
            .args(["-c", this.config().to_str().expect("dovecot test set-up")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("dovecot test set-up");
        assert!(started.success(), "dovecot failed to start");
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return this;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "dovecot did not start: {}",
            std::fs::read_to_string(this.dir.path().join("dovecot.log")).unwrap_or_default()
        );
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("dovecot.conf")
    }

    fn maildir(&self) -> PathBuf {
        self.dir.path().join("mail").join(&self.user).join("Maildir")
    }

    /// Delivers a message into the INBOX (a new file in `Maildir/new`).
    pub fn deliver(&self, raw: &[u8]) {
        let n = NEXT_FILE.fetch_add(1, Ordering::Relaxed);
        let name = format!("{}.M{n}P{}.penny-test", 1_700_000_000 + n, std::process::id());
        let path = self.maildir().join("new").join(name);
        std::fs::write(&path, raw).expect("dovecot test set-up");
        run("chown", &["nobody:nogroup", path.to_str().expect("dovecot test set-up")]);
    }

    /// Gives the INBOX a new UIDVALIDITY, as a server does after rebuilding its indexes.
    pub fn change_uid_validity(&self, value: u32) {
        run(
            "doveadm",
            &[
                "-c",
                self.config().to_str().expect("dovecot test set-up"),
                "mailbox",
                "update",
                "-u",
                &self.user,
                "--uid-validity",
                &value.to_string(),
                "INBOX",
            ],
        );
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = Command::new("doveadm")
            .args(["-c", self.config().to_str().unwrap_or_default(), "stop"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn run(program: &str, args: &[&str]) {
    let output = Command::new(program).args(args).output().expect("dovecot test set-up");
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
