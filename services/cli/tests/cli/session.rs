//! Registering, logging in and out, the credentials file, refreshing, and the errors a person
//! meets first.

use std::time::Duration;

use crate::helpers::{PASSWORD, Stack, penny};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_login_and_logout_keep_a_private_session_and_never_print_it() {
    let stack = Stack::start().await;
    let run = stack
        .penny_stdin(
            &["register", "--username", "sam", "--email", "sam@example.org", "--password-stdin"],
            PASSWORD,
        )
        .await
        .ok();
    assert!(run.stdout.starts_with("registered sam ("), "{}", run.stdout);

    let run = stack.penny_stdin(&["login", "--user", "sam", "--password-stdin"], PASSWORD).await.ok();
    assert_eq!(run.stdout.trim(), format!("logged in to {} as sam", stack.url()));

    let file = stack.credentials_file();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let stored: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let session = &stored["sessions"][stack.url().trim_end_matches('/')];
    let access = session["access_token"].as_str().unwrap().to_owned();
    let refresh = session["refresh_token"].as_str().unwrap().to_owned();
    assert!(!access.is_empty() && !refresh.is_empty());

    // The token from auth's login is accepted by mail-ingest (JWKS) through the gateway: the
    // upload account appears once mail-ingest has handled `user.registered`.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let run = stack.penny(&["accounts", "list"]).await.ok();
        assert!(!run.stdout.contains(&access) && !run.stderr.contains(&access), "a token was printed");
        if run.stdout.contains("upload") {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no upload account: {}", run.stdout);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let run = stack.penny(&["logout"]).await.ok();
    assert_eq!(run.stdout.trim(), format!("logged out of {}", stack.url()));
    let run = stack.penny(&["jobs", "list"]).await.fails_with(4);
    assert_eq!(
        run.stderr.trim(),
        format!("error: not logged in to {}: run `penny login` first", stack.url())
    );
    // The refresh token was revoked on the server, not only forgotten here.
    let client = reqwest::Client::new();
    let answer = client
        .post(stack.gateway.url("/v1/auth/refresh"))
        .json(&serde_json::json!({"refresh_token": refresh}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_the_servers_message_and_exit_1() {
    let stack = Stack::start().await;
    stack.sign_up("kim").await;
    let run = stack
        .penny_stdin(&["login", "--user", "kim", "--password-stdin"], "not-the-password")
        .await
        .fails_with(1);
    assert_eq!(run.stderr.trim(), "error: wrong login or password (invalid_credentials)");
    assert!(run.stdout.is_empty());

    let run = stack
        .penny_stdin(
            &["register", "--username", "kim", "--email", "kim2@example.org", "--password-stdin"],
            PASSWORD,
        )
        .await
        .fails_with(1);
    assert_eq!(run.stderr.trim(), "error: the username is taken (username_taken)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_access_token_is_refreshed_and_a_revoked_session_asks_for_a_login() {
    let stack = Stack::start_with(|auth| auth.access_token_ttl_secs = 31).await;
    stack.sign_up("ada").await;
    let read = || {
        let stored: serde_json::Value =
            serde_json::from_slice(&std::fs::read(stack.credentials_file()).unwrap()).unwrap();
        stored["sessions"][stack.url().trim_end_matches('/')].clone()
    };
    let before = read();
    // With 31 s to live and a 30 s margin, the token counts as expiring within two seconds.
    tokio::time::sleep(Duration::from_secs(2)).await;
    stack.penny(&["jobs", "list"]).await.ok();
    let after = read();
    assert_ne!(before["access_token"], after["access_token"]);
    assert_ne!(before["refresh_token"], after["refresh_token"], "refresh tokens rotate");

    // The old refresh token was rotated away; reusing it revokes the family, so the CLI's
    // current session dies too and it says to log in again.
    let reuse = reqwest::Client::new()
        .post(stack.gateway.url("/v1/auth/refresh"))
        .json(&serde_json::json!({"refresh_token": before["refresh_token"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(reuse.status(), 401);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let run = stack.penny(&["jobs", "list"]).await.fails_with(4);
    assert!(run.stderr.contains("has expired or was revoked: run `penny login` again"), "{}", run.stderr);
    stack.penny(&["jobs", "list"]).await.fails_with(4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_and_connection_errors_have_their_own_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let port = penny_testkit::gateway::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let run =
        penny(dir.path(), &url, "/", &["login", "--user", "x", "--password-stdin"], Some("pw"), &[]).await;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr.starts_with(&format!("error: cannot reach the Penny gateway at {url}")),
        "{}",
        run.stderr
    );

    let run = penny(dir.path(), &url, "/", &["jobs", "show", "not-a-job"], None, &[]).await;
    assert_eq!((run.code, run.stderr.trim()), (2, "error: `not-a-job` is not a job id (a UUID)"));
    let run = penny(dir.path(), &url, "/", &["reprocess", "--scope", "range"], None, &[]).await;
    assert_eq!((run.code, run.stderr.trim()), (2, "error: --scope range needs --from and/or --to"));
    let run = penny(dir.path(), &url, "/", &["jobs", "frobnicate"], None, &[]).await;
    assert_eq!(run.code, 2, "clap's usage errors: {run:?}");
    let run = penny(dir.path(), &url, "/", &["summary"], None, &[]).await;
    assert_eq!(run.code, 4);
    assert!(run.stderr.contains("not logged in"), "{}", run.stderr);
}
