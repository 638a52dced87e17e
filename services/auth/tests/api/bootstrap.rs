//! The first admin (a subcommand or settings at start-up) and the password hashing parameters.

use std::io::Write as _;
use std::process::{Command, Stdio};

use penny_auth::passwords::{HashParams, PasswordHasher};
use secrecy::SecretString;
use serde_json::Value;

use crate::helpers::{PASSWORD, spawn_app, spawn_on, spawn_with};

fn create_admin(
    db_url: &str,
    username: &str,
    password_env: Option<&str>,
    stdin: &str,
) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_penny-auth"));
    command
        .args(["create-admin", "--username", username, "--email", &format!("{username}@example.org")])
        .env("PENNY_AUTH_DATABASE_URL", db_url)
        .env("PENNY_ARGON2_MEMORY_KIB", "256")
        .env("PENNY_ARGON2_ITERATIONS", "1")
        .env("PENNY_LOG_FILTER", "warn")
        .env_remove("PENNY_ADMIN_PASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(password) = password_env {
        command.env("PENNY_ADMIN_PASSWORD", password);
    }
    let mut child = command.spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn the_create_admin_subcommand_makes_an_admin() {
    let app = spawn_app().await;
    let made = create_admin(&app.db_url, "boss", Some(PASSWORD), "");
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let from_stdin = create_admin(&app.db_url, "deputy", None, &format!("{PASSWORD}\n"));
    assert!(from_stdin.status.success(), "{}", String::from_utf8_lossy(&from_stdin.stderr));
    let weak = create_admin(&app.db_url, "weakling", Some("password"), "");
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("password"));
    let taken = create_admin(&app.db_url, "boss", Some(PASSWORD), "");
    assert!(!taken.status.success());

    let tokens = app.tokens("boss", PASSWORD).await;
    let me: Value = app.get_as("/v1/auth/me", &tokens.access).await.json().await.unwrap();
    assert_eq!(me["role"], "admin");
    assert_eq!(app.get_as("/v1/admin/users", &tokens.access).await.status(), 200);
    assert_eq!(app.count("users", "role = 'admin'").await, 2);
    assert_eq!(app.count("outbox", "routing_key = 'user.registered'").await, 2, "admins are users too");
}

#[tokio::test]
async fn the_first_admin_can_come_from_settings_once() {
    let admin = |s: &mut penny_auth::AuthSettings| {
        s.admin_username = Some("root".into());
        s.admin_email = Some("root@example.org".into());
        s.admin_password = Some(SecretString::from(PASSWORD));
    };
    let app = spawn_with(admin).await;
    let tokens = app.tokens("root", PASSWORD).await;
    assert_eq!(app.get_as("/v1/admin/users", &tokens.access).await.status(), 200);
    // A restart (or a second replica) finds the admin there and changes nothing.
    let again = spawn_on(None, &app.db_url, admin).await;
    assert_eq!(again.count("users", "true").await, 1);
}

#[tokio::test]
async fn the_default_parameters_are_owasp_s_and_old_hashes_are_upgraded_at_login() {
    let defaults = penny_auth::AuthSettings::default();
    assert_eq!(
        (defaults.argon2_memory_kib, defaults.argon2_iterations, defaults.argon2_parallelism),
        (19 * 1024, 2, 1)
    );
    let hasher = PasswordHasher::start(HashParams::OWASP, 1, 3).await.unwrap();
    let phc = hasher.rehash(&SecretString::from(PASSWORD)).await.unwrap();
    assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    assert!(hasher.verify(Some(&phc), &SecretString::from(PASSWORD)).await.unwrap().matches);

    // A user registered under cheap parameters logs in after they were raised.
    let cheap = spawn_app().await;
    cheap.registered("upgrade").await;
    assert_eq!(cheap.count("users", "password_hash LIKE '$argon2id$v=19$m=256,t=1,p=1$%'").await, 1);
    let raised = spawn_on(None, &cheap.db_url, |s| {
        s.argon2_memory_kib = 512;
        s.argon2_iterations = 2;
    })
    .await;
    assert_eq!(raised.login("upgrade", PASSWORD).await.status(), 200);
    assert_eq!(raised.count("users", "password_hash LIKE '$argon2id$v=19$m=512,t=2,p=1$%'").await, 1);
    assert_eq!(raised.login("upgrade", PASSWORD).await.status(), 200);
}
