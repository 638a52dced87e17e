use std::time::Instant;

use serde_json::json;

use crate::helpers::{PASSWORD, error_code, spawn_with};

#[tokio::test]
async fn each_client_address_has_a_request_budget() {
    let app = spawn_with(|s| {
        s.rate_limit_address_requests = 3;
        s.rate_limit_address_window_secs = 60;
    })
    .await;
    let login = |address: &'static str| {
        let request = app
            .client
            .post(app.url("/v1/auth/login"))
            .header("X-Real-IP", address)
            .json(&json!({"login": "nobody", "password": "whatever-it-is"}));
        async move { request.send().await.unwrap() }
    };
    for _ in 0..3 {
        assert_eq!(login("203.0.113.7").await.status(), 401);
    }
    let limited = login("203.0.113.7").await;
    assert_eq!(limited.status(), 429);
    let retry: u64 = limited.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=20).contains(&retry), "{retry}");
    assert_eq!(error_code(limited).await.1, "rate_limited");
    // Registration and reset count against the same address; another address is untouched.
    let forgot = app
        .client
        .post(app.url("/v1/auth/password/forgot"))
        .header("X-Real-IP", "203.0.113.7")
        .json(&json!({"email": "a@example.org"}))
        .send()
        .await
        .unwrap();
    assert_eq!(forgot.status(), 429);
    assert_eq!(login("203.0.113.8").await.status(), 401);
}

#[tokio::test]
async fn failed_logins_lock_an_account_for_every_address_and_unknown_names_alike() {
    let app = spawn_with(|s| {
        s.login_failure_limit = 3;
        s.login_failure_window_secs = 900;
    })
    .await;
    app.registered("target").await;
    for attempt in 0..3 {
        let response = app
            .client
            .post(app.url("/v1/auth/login"))
            .header("X-Real-IP", format!("198.51.100.{attempt}"))
            .json(&json!({"login": "target", "password": "guess-number-x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
    }
    let locked = app.login("target", PASSWORD).await;
    assert_eq!(locked.status(), 429, "even the right password waits");
    let retry: u64 = locked.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((800..=900).contains(&retry), "{retry}");
    // The email names the same account.
    assert_eq!(app.login("target@example.org", PASSWORD).await.status(), 429);

    // A name nobody has locks the same way, so a lock-out does not reveal an account.
    for _ in 0..3 {
        assert_eq!(app.login("ghost", "guess-number-x").await.status(), 401);
    }
    assert_eq!(app.login("ghost", "guess-number-x").await.status(), 429);

    // Once the window has passed, the right password works and clears the count.
    app.sql("UPDATE login_failures SET window_start = now() - interval '1 hour'").await;
    assert_eq!(app.login("target", PASSWORD).await.status(), 200);
    assert_eq!(app.count("login_failures", "key LIKE 'user:%'").await, 0);
}

#[tokio::test]
async fn limits_can_be_switched_off() {
    let app = spawn_with(|s| {
        s.rate_limits_enabled = false;
        s.rate_limit_address_requests = 1;
        s.login_failure_limit = 1;
    })
    .await;
    app.registered("free").await;
    let started = Instant::now();
    for _ in 0..5 {
        assert_eq!(app.login("free", "wrong-password-1").await.status(), 401);
    }
    assert_eq!(app.login("free", PASSWORD).await.status(), 200);
    assert!(started.elapsed().as_secs() < 30);
    assert_eq!(app.count("login_failures", "true").await, 0);
}
