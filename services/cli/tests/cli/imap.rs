//! `penny accounts add-imap | list | fetch --wait` against a real Dovecot started for the test
//! (the way mail-ingest's own IMAP tests run it: a folder, config and loopback port of its own,
//! the mail owned by `nobody`, stopped when dropped).

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::helpers::Stack;

const USER: &str = "alice";
const PASSWORD: &str = "plum-harbor-app-password";

struct Dovecot {
    dir: tempfile::TempDir,
    port: u16,
}

impl Dovecot {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        run("chmod", &["0755", root.to_str().unwrap()]);
        let port = penny_testkit::gateway::free_port();
        for sub in
            ["run", "state", "mail/alice/Maildir/new", "mail/alice/Maildir/cur", "mail/alice/Maildir/tmp"]
        {
            std::fs::create_dir_all(root.join(sub)).unwrap();
        }
        std::fs::write(root.join("users"), format!("{USER}:{{PLAIN}}{PASSWORD}::::\n")).unwrap();
        let d = root.display();
        let config = format!(
            "protocols = imap\nlisten = 127.0.0.1\nbase_dir = {d}/run\nstate_dir = {d}/state\n\
             log_path = {d}/dovecot.log\ninfo_log_path = {d}/dovecot.log\nssl = no\n\
             auth_mechanisms = plain login\ndisable_plaintext_auth = no\n\
             mail_location = maildir:{d}/mail/%u/Maildir\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {d}/users\n}}\n\
             userdb {{\n  driver = passwd-file\n  args = username_format=%u {d}/users\n  \
             default_fields = uid=nobody gid=nogroup home={d}/mail/%u\n}}\n\
             service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n  \
             inet_listener imaps {{\n    port = 0\n  }}\n}}\n"
        );
        std::fs::write(root.join("dovecot.conf"), config).unwrap();
        run("chown", &["-R", "nobody:nogroup", root.join("mail").to_str().unwrap()]);
        let this = Self { dir, port };
        let started = Command::new("dovecot")
            .args(["-c", this.config().to_str().unwrap()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(started.success(), "dovecot failed to start");
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return this;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let log = this.dir.path().join("dovecot.log");
        panic!("dovecot did not start: {}", std::fs::read_to_string(log).unwrap_or_default());
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("dovecot.conf")
    }

    fn deliver(&self, name: &str, raw: &str) {
        let path: PathBuf = self.dir.path().join("mail/alice/Maildir/new").join(name);
        std::fs::write(&path, raw).unwrap();
        run("chown", &["nobody:nogroup", path.to_str().unwrap()]);
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
    let output = Command::new(program).args(args).output().unwrap();
    assert!(output.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

fn alert(n: u32, merchant: &str, amount: &str) -> String {
    format!(
        "Message-ID: <cli-imap-{n}@bank.example>\r\nFrom: Fjord Bank <alerts@fjord.example>\r\nTo: alice@example.org\r\n\
         Subject: Card purchase\r\nDate: Mon, 09 Mar 2026 1{n}:00:00 +0000\r\n\r\n\
         Your debit card ending in 5512 was used.\r\n\r\nMerchant: {merchant}\r\nAmount: ${amount}\r\nDate: 03/09/2026\r\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imap_mailbox_is_connected_listed_and_fetched_to_the_end() {
    let dovecot = Dovecot::start().await;
    dovecot.deliver("1.M1.cli", &alert(1, "GLACIER OUTFITTERS", "54.00"));
    dovecot.deliver("2.M2.cli", &alert(2, "BIRCH STREET DELI", "9.15"));
    let stack = Stack::start().await;
    stack.sign_up("alice").await;
    let port = dovecot.port.to_string();
    let add =
        ["accounts", "add-imap", "--host", "127.0.0.1", "--port", &port, "--tls", "none", "--username", USER];

    let mut wrong = add.to_vec();
    wrong.push("--password-stdin");
    let run = stack.penny_stdin(&wrong, "not-it").await.fails_with(1);
    assert_eq!(run.stderr.trim(), "error: the mail server refused these credentials (login_failed)");

    let mut args = add.to_vec();
    args.extend(["--password-stdin", "--json"]);
    let run = stack.penny_stdin(&args, PASSWORD).await.ok();
    let account: Value = run.json();
    assert!(!run.stdout.contains(PASSWORD));
    let id = account["id"].as_str().unwrap().to_owned();

    let run = stack.penny(&["accounts", "list"]).await.ok();
    assert!(
        run.stdout.contains(&id) && run.stdout.contains("imap") && run.stdout.contains("ACTIVE"),
        "{}",
        run.stdout
    );

    let run = stack.penny(&["accounts", "fetch", &id, "--wait"]).await.ok();
    assert!(run.stdout.contains("EMAIL_FETCH SUCCESS: total 2, stored 2"), "{}", run.stdout);
    assert!(run.stdout.contains("EMAIL_EXTRACTION SUCCESS: total 2, extracted 2"), "{}", run.stdout);
    let run = stack.penny(&["transactions", "list", "--source", "imap", "--json"]).await.ok();
    assert_eq!(run.json().as_array().unwrap().len(), 2, "{}", run.stdout);

    // The upload account is filled by imports only.
    let run = stack.penny(&["accounts", "list", "--json"]).await.ok();
    let upload = run.json().as_array().unwrap().iter().find(|a| a["provider"] == "upload").cloned().unwrap();
    let run = stack.penny(&["accounts", "fetch", upload["id"].as_str().unwrap()]).await.fails_with(1);
    assert!(
        run.stderr.starts_with("error: upload accounts are filled by POST /v1/mailbox/import"),
        "{}",
        run.stderr
    );
}
