//! Delivery through a real SMTP server: Python's aiosmtpd, started on a free port, storing what
//! it receives in a maildir.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{NEW_PASSWORD, PASSWORD, code_in, spawn_with};

struct SmtpServer {
    port: u16,
    child: Child,
    maildir: tempfile::TempDir,
}

impl SmtpServer {
    fn start() -> Self {
        let maildir = tempfile::tempdir().unwrap();
        let port = penny_testkit::gateway::free_port();
        let child = Command::new("python3")
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            // Python's Maildir creates its folders only when the path does not exist yet.
            .arg(maildir.path().join("maildir"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 is needed for the SMTP test (scripts/install-deps.sh installs aiosmtpd)");
        let mut server = Self { port, child, maildir };
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                let mut stderr = String::new();
                if let Some(mut pipe) = server.child.stderr.take() {
                    std::io::Read::read_to_string(&mut pipe, &mut stderr).unwrap();
                }
                panic!("aiosmtpd exited ({status}); run scripts/install-deps.sh to install it: {stderr}");
            }
            assert!(Instant::now() < deadline, "aiosmtpd did not start listening");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    fn messages(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.maildir.path().join("maildir/new")) else {
            return Vec::new();
        };
        entries.filter_map(Result::ok).map(|e| std::fs::read_to_string(e.path()).unwrap()).collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn reset_codes_are_delivered_over_smtp() {
    let smtp = SmtpServer::start();
    let url = format!("smtp://127.0.0.1:{}", smtp.port);
    let app = spawn_with(move |s| s.smtp_url = Some(url.into())).await;
    app.registered("smtp-user").await;
    let response = app.post("/v1/auth/password/forgot", &json!({"email": "smtp-user@example.org"})).await;
    assert_eq!(response.status(), 202);

    let deadline = Instant::now() + Duration::from_secs(15);
    let message = loop {
        if let Some(message) = smtp.messages().into_iter().next() {
            break message;
        }
        assert!(Instant::now() < deadline, "no message reached the SMTP server");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(message.contains("To: smtp-user@example.org"), "{message}");
    assert!(message.contains("From: Penny <penny@localhost>"), "{message}");
    assert!(
        !app.mail_dir.exists() || std::fs::read_dir(&app.mail_dir).unwrap().count() == 0,
        "SMTP, not the folder"
    );

    let code = code_in(&message);
    let reset = json!({"email": "smtp-user@example.org", "code": code, "new_password": NEW_PASSWORD});
    assert_eq!(app.post("/v1/auth/password/reset", &reset).await.status(), 204);
    assert_eq!(app.login("smtp-user", PASSWORD).await.status(), 401);
    assert_eq!(app.login("smtp-user", NEW_PASSWORD).await.status(), 200);
}
