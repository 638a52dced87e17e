use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestUser, error_code, spawn_app, spawn_with};

#[tokio::test]
async fn registering_creates_a_user_and_records_the_event() {
    let app = spawn_app().await;
    let user = TestUser::new("ada");
    let response = app
        .post(
            "/v1/auth/register",
            &json!({
                "name": user.name, "username": user.username, "email": user.email,
                "password": user.password, "role": "admin", "is_active": false,
            }),
        )
        .await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["name"], user.name);
    assert_eq!(body["username"], "ada");
    assert_eq!(body["email"], "ada@example.org");
    assert_eq!(body["role"], "user", "a role in the body is ignored");
    let fields: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(fields, ["created_at", "email", "id", "name", "role", "username"]);

    let id = body["id"].as_str().unwrap();
    assert_eq!(app.count("users", &format!("id = '{id}' AND is_active AND role = 'user'")).await, 1);
    assert_eq!(
        app.count(
            "outbox",
            &format!(
                "routing_key = 'user.registered' AND body::jsonb->'payload'->>'user_id' = '{id}' \
                 AND body::jsonb->'payload'->>'email' = 'ada@example.org'"
            )
        )
        .await,
        1
    );
    // The stored password is an argon2id PHC string, never the password.
    assert_eq!(app.count("users", "password_hash LIKE '$argon2id$v=19$%'").await, 1);
    assert_eq!(app.count("users", &format!("password_hash LIKE '%{PASSWORD}%'")).await, 0);

    // The new user can log in, with the role in the body ignored.
    let tokens = app.tokens("ada", PASSWORD).await;
    let me: Value = app.get_as("/v1/auth/me", &tokens.access).await.json().await.unwrap();
    assert_eq!(me["role"], "user");
}

#[tokio::test]
async fn taken_usernames_and_emails_conflict_whatever_their_case() {
    let app = spawn_app().await;
    app.registered("grace").await;
    let mut same_name = TestUser::new("GRACE");
    same_name.email = "other@example.org".into();
    assert_eq!(error_code(app.register(&same_name).await).await, (409, "username_taken".into()));
    let mut same_email = TestUser::new("grace2");
    same_email.email = "Grace@Example.org".into();
    assert_eq!(error_code(app.register(&same_email).await).await, (409, "email_taken".into()));
}

#[tokio::test]
async fn invalid_fields_and_weak_passwords_are_refused_with_reasons() {
    let app = spawn_app().await;
    let response = app
        .post(
            "/v1/auth/register",
            &json!({"name": " ", "username": "a@b", "email": "nope", "password": "short"}),
        )
        .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "validation_failed");
    for field in ["name", "username", "email", "password"] {
        assert!(body["error"]["fields"][field].is_string(), "{field}: {body}");
    }
    let cases = [
        ("password".to_owned(), "common"),
        ("x".repeat(129), "too long"),
        ("1234567".to_owned(), "too short"),
        ("turing1912!".to_owned(), "built from the user's name"),
    ];
    for (password, why) in cases {
        let mut user = TestUser::new("turing");
        user.name = "Alan Turing".into();
        user.password = password.to_string();
        let response = app.register(&user).await;
        assert_eq!(response.status(), 400, "{why}");
        let body: Value = response.json().await.unwrap();
        assert!(body["error"]["fields"]["password"].is_string(), "{why}: {body}");
    }
    assert_eq!(app.count("users", "true").await, 0);
}

#[tokio::test]
async fn sign_up_can_be_switched_off() {
    let app = spawn_with(|s| s.allow_signup = false).await;
    assert_eq!(error_code(app.register(&TestUser::new("ada")).await).await, (403, "signup_disabled".into()));
}

#[tokio::test]
async fn users_log_in_with_username_or_email_and_read_their_account() {
    let app = spawn_app().await;
    let (user, registered) = app.registered("hopper").await;
    for login in ["hopper", "HOPPER", "hopper@example.org", "Hopper@Example.Org"] {
        let response = app.login(login, &user.password).await;
        assert_eq!(response.status(), 200, "{login}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 900);
        assert_eq!(body["refresh_token"].as_str().unwrap().len(), 43);
        let access = body["access_token"].as_str().unwrap();
        let me = app.get_as("/v1/auth/me", access).await;
        assert_eq!(me.status(), 200);
        let me: Value = me.json().await.unwrap();
        assert_eq!(me["id"], registered["id"]);
        assert_eq!(me["email"], "hopper@example.org");
        assert!(me["created_at"].as_str().unwrap().ends_with('Z'));
    }
    // Refresh tokens are stored hashed: the table never holds one.
    let tokens = app.tokens("hopper", &user.password).await;
    assert_eq!(
        app.count("refresh_tokens", &format!("encode(token_hash, 'escape') = '{}'", tokens.refresh)).await,
        0
    );
    assert_eq!(app.count("refresh_tokens", "octet_length(token_hash) = 32").await, 5);
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_get_the_same_answer() {
    let app = spawn_app().await;
    app.registered("lamarr").await;
    let wrong = app.login("lamarr", "not-the-password-at-all").await;
    let unknown = app.login("nobody-here", "not-the-password-at-all").await;
    let unknown_email = app.login("nobody@example.org", "not-the-password-at-all").await;
    let (wrong_status, unknown_status, email_status) =
        (wrong.status(), unknown.status(), unknown_email.status());
    let wrong: Value = wrong.json().await.unwrap();
    assert_eq!(wrong_status, 401);
    assert_eq!(unknown_status, 401);
    assert_eq!(email_status, 401);
    assert_eq!(wrong, unknown.json::<Value>().await.unwrap());
    assert_eq!(wrong, unknown_email.json::<Value>().await.unwrap());
    assert_eq!(wrong["error"]["code"], "invalid_credentials");
}

#[tokio::test]
async fn deleting_oneself_needs_the_password_and_ends_everything() {
    let app = spawn_app().await;
    let (user, body) = app.registered("babbage").await;
    let id = body["id"].as_str().unwrap().to_owned();
    let tokens = app.tokens("babbage", &user.password).await;

    let wrong = app
        .client
        .delete(app.url("/v1/auth/me"))
        .bearer_auth(&tokens.access)
        .json(&json!({"password": "not-my-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(wrong).await, (403, "wrong_password".into()));

    let deleted = app
        .client
        .delete(app.url("/v1/auth/me"))
        .bearer_auth(&tokens.access)
        .json(&json!({"password": user.password}))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(app.get_as("/v1/auth/me", &tokens.access).await.status(), 401, "the token is refused");
    assert_eq!(app.refresh(&tokens.refresh).await.status(), 401);
    assert_eq!(app.login("babbage", &user.password).await.status(), 401);
    assert_eq!(app.count("user_tombstones", &format!("user_id = '{id}'")).await, 1);
    assert_eq!(
        app.count(
            "outbox",
            &format!("routing_key = 'user.deleted' AND body::jsonb->'payload'->>'user_id' = '{id}'")
        )
        .await,
        1
    );
    assert_eq!(app.count("token_families", "true").await, 0, "sessions went with the account");
}
