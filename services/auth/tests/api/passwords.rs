use serde_json::{Value, json};

use crate::helpers::{NEW_PASSWORD, PASSWORD, error_code, spawn_app};

#[tokio::test]
async fn changing_the_password_ends_the_other_sessions_only() {
    let app = spawn_app().await;
    app.registered("shannon").await;
    let current = app.tokens("shannon", PASSWORD).await;
    let other = app.tokens("shannon", PASSWORD).await;

    let wrong = app
        .post_as(
            "/v1/auth/password/change",
            &current.access,
            &json!({"current_password": "not-it-at-all", "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(error_code(wrong).await, (403, "wrong_password".into()));
    let weak = app
        .post_as(
            "/v1/auth/password/change",
            &current.access,
            &json!({"current_password": PASSWORD, "new_password": "shannon123"}),
        )
        .await;
    assert_eq!(weak.status(), 400);
    let body: Value = weak.json().await.unwrap();
    assert!(body["error"]["fields"]["new_password"].is_string(), "{body}");

    let changed = app
        .post_as(
            "/v1/auth/password/change",
            &current.access,
            &json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(changed.status(), 204);
    assert_eq!(app.login("shannon", PASSWORD).await.status(), 401);
    assert_eq!(app.login("shannon", NEW_PASSWORD).await.status(), 200);
    assert_eq!(app.refresh(&other.refresh).await.status(), 401, "the other session ended");
    assert_eq!(app.refresh(&current.refresh).await.status(), 200, "the caller's session goes on");
    // Without a token there is nothing to change.
    let anonymous = app
        .post(
            "/v1/auth/password/change",
            &json!({"current_password": NEW_PASSWORD, "new_password": PASSWORD}),
        )
        .await;
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn a_mailed_code_resets_the_password_once_and_ends_every_session() {
    let app = spawn_app().await;
    app.registered("johnson").await;
    let session = app.tokens("johnson", PASSWORD).await;
    let code = app.forgot("johnson@example.org").await;
    let mail = app.mails_to("johnson@example.org").remove(0);
    assert!(mail.contains("Subject: Your Penny password reset code"), "{mail}");
    // The code is stored hashed.
    assert_eq!(app.count("password_reset_codes", "octet_length(code_hash) = 32").await, 1);

    let reset = json!({"email": "johnson@example.org", "code": code, "new_password": NEW_PASSWORD});
    assert_eq!(app.post("/v1/auth/password/reset", &reset).await.status(), 204);
    assert_eq!(app.login("johnson", PASSWORD).await.status(), 401);
    assert_eq!(app.login("johnson", NEW_PASSWORD).await.status(), 200);
    assert_eq!(app.refresh(&session.refresh).await.status(), 401, "every session ended");

    // Used: the same code again is refused.
    let again = json!({"email": "johnson@example.org", "code": code, "new_password": PASSWORD});
    assert_eq!(
        error_code(app.post("/v1/auth/password/reset", &again).await).await,
        (400, "invalid_code".into())
    );
}

#[tokio::test]
async fn expired_and_wrong_codes_are_refused() {
    let app = spawn_app().await;
    app.registered("hamilton").await;
    let code = app.forgot("hamilton@example.org").await;
    let wrong_code = if code == "000000" { "000001" } else { "000000" };
    let wrong = json!({"email": "hamilton@example.org", "code": wrong_code, "new_password": NEW_PASSWORD});
    assert_eq!(
        error_code(app.post("/v1/auth/password/reset", &wrong).await).await,
        (400, "invalid_code".into())
    );
    let unknown = json!({"email": "nobody@example.org", "code": code, "new_password": NEW_PASSWORD});
    assert_eq!(
        error_code(app.post("/v1/auth/password/reset", &unknown).await).await,
        (400, "invalid_code".into())
    );

    app.sql("UPDATE password_reset_codes SET expires_at = now() - interval '1 second'").await;
    let expired = json!({"email": "hamilton@example.org", "code": code, "new_password": NEW_PASSWORD});
    assert_eq!(
        error_code(app.post("/v1/auth/password/reset", &expired).await).await,
        (400, "invalid_code".into())
    );
    assert_eq!(app.login("hamilton", PASSWORD).await.status(), 200, "nothing changed");
}

#[tokio::test]
async fn five_wrong_codes_lock_the_code_until_a_new_one_is_requested() {
    let app = spawn_app().await;
    app.registered("goodall").await;
    let code = app.forgot("goodall@example.org").await;
    let wrong_code = if code == "999999" { "999998" } else { "999999" };
    for attempt in 1..=5 {
        let body = json!({"email": "goodall@example.org", "code": wrong_code, "new_password": NEW_PASSWORD});
        assert_eq!(app.post("/v1/auth/password/reset", &body).await.status(), 400, "attempt {attempt}");
    }
    let right = json!({"email": "goodall@example.org", "code": code, "new_password": NEW_PASSWORD});
    let locked = app.post("/v1/auth/password/reset", &right).await;
    assert_eq!(locked.status(), 429);
    assert!(locked.headers().get("retry-after").is_some());
    assert_eq!(app.login("goodall", PASSWORD).await.status(), 200, "the password did not change");

    // A new code starts afresh.
    let fresh = app.forgot("goodall@example.org").await;
    let reset = json!({"email": "goodall@example.org", "code": fresh, "new_password": NEW_PASSWORD});
    assert_eq!(app.post("/v1/auth/password/reset", &reset).await.status(), 204);
}

#[tokio::test]
async fn forgot_answers_202_for_unknown_emails_and_mails_nothing() {
    let app = spawn_app().await;
    app.registered("known").await;
    let unknown = app.post("/v1/auth/password/forgot", &json!({"email": "stranger@example.org"})).await;
    let known = app.post("/v1/auth/password/forgot", &json!({"email": "known@example.org"})).await;
    assert_eq!(unknown.status(), 202);
    assert_eq!(known.status(), 202);
    let unknown: Value = unknown.json().await.unwrap();
    assert_eq!(unknown, known.json::<Value>().await.unwrap(), "the same answer either way");
    // The known user's mail arrives; by then the unknown one has long been handled.
    app.wait_for_code("known@example.org", 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(app.mails_to("stranger@example.org").is_empty());
    let files = std::fs::read_dir(&app.mail_dir).unwrap().count();
    assert_eq!(files, 1, "exactly one mail was written");
}

#[tokio::test]
async fn a_weak_new_password_costs_no_attempt() {
    let app = spawn_app().await;
    app.registered("ride").await;
    let code = app.forgot("ride@example.org").await;
    for _ in 0..6 {
        let weak = json!({"email": "ride@example.org", "code": code, "new_password": "password1"});
        assert_eq!(app.post("/v1/auth/password/reset", &weak).await.status(), 400);
    }
    let good = json!({"email": "ride@example.org", "code": code, "new_password": NEW_PASSWORD});
    assert_eq!(app.post("/v1/auth/password/reset", &good).await.status(), 204);
}
