use serde_json::{Value, json};

use crate::helpers::{error_code, spawn_app, spawn_with};

#[tokio::test]
async fn refreshing_rotates_the_token() {
    let app = spawn_app().await;
    let (user, _) = app.registered("curie").await;
    let first = app.tokens("curie", &user.password).await;
    let response = app.refresh(&first.refresh).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    let second_refresh = body["refresh_token"].as_str().unwrap();
    assert_ne!(second_refresh, first.refresh);
    assert_eq!(app.get_as("/v1/auth/me", body["access_token"].as_str().unwrap()).await.status(), 200);
    // The new token rotates again.
    assert_eq!(app.refresh(second_refresh).await.status(), 200);
}

#[tokio::test]
async fn a_reused_refresh_token_revokes_its_whole_family() {
    let app = spawn_app().await;
    let (user, _) = app.registered("noether").await;
    let stolen = app.tokens("noether", &user.password).await;
    let other_session = app.tokens("noether", &user.password).await;

    // The legitimate client rotates twice; the thief replays the first token.
    let second: Value = app.refresh(&stolen.refresh).await.json().await.unwrap();
    let third: Value = app.refresh(second["refresh_token"].as_str().unwrap()).await.json().await.unwrap();
    let newest = third["refresh_token"].as_str().unwrap();

    assert_eq!(error_code(app.refresh(&stolen.refresh).await).await, (401, "invalid_refresh_token".into()));
    assert_eq!(app.refresh(newest).await.status(), 401, "the newest token of the family is dead too");
    // Only that family: another login session goes on.
    assert_eq!(app.refresh(&other_session.refresh).await.status(), 200);
}

#[tokio::test]
async fn unknown_malformed_and_expired_refresh_tokens_are_refused() {
    let app = spawn_with(|s| s.refresh_token_ttl_secs = 3600).await;
    let (user, _) = app.registered("meitner").await;
    for token in ["", "nope", &"x".repeat(500), "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"] {
        assert_eq!(app.refresh(token).await.status(), 401, "{token}");
    }
    let tokens = app.tokens("meitner", &user.password).await;
    // The session's absolute lifetime is over: rotation never extends it.
    app.sql("UPDATE token_families SET expires_at = now() - interval '1 second'").await;
    assert_eq!(app.refresh(&tokens.refresh).await.status(), 401);
    let expires: i64 = {
        let tokens = app.tokens("meitner", &user.password).await;
        assert_eq!(app.refresh(&tokens.refresh).await.status(), 200);
        app.count(
            "token_families",
            "expires_at BETWEEN now() + interval '59 minutes' AND now() + interval '61 minutes'",
        )
        .await
    };
    assert_eq!(expires, 1);
}

#[tokio::test]
async fn logout_ends_the_session() {
    let app = spawn_app().await;
    let (user, _) = app.registered("franklin").await;
    let tokens = app.tokens("franklin", &user.password).await;
    let other = app.tokens("franklin", &user.password).await;
    let response = app.post("/v1/auth/logout", &json!({"refresh_token": tokens.refresh})).await;
    assert_eq!(response.status(), 204);
    assert_eq!(app.refresh(&tokens.refresh).await.status(), 401);
    assert_eq!(app.refresh(&other.refresh).await.status(), 200, "other sessions stay");
    // Logging out twice, or with garbage, is harmless.
    assert_eq!(app.post("/v1/auth/logout", &json!({"refresh_token": tokens.refresh})).await.status(), 204);
    assert_eq!(app.post("/v1/auth/logout", &json!({"refresh_token": "garbage"})).await.status(), 204);
}

#[tokio::test]
async fn inactive_users_cannot_log_in_or_refresh() {
    let app = spawn_app().await;
    let (user, _) = app.registered("lovelace").await;
    let tokens = app.tokens("lovelace", &user.password).await;
    app.sql("UPDATE users SET is_active = false").await;
    assert_eq!(
        error_code(app.login("lovelace", &user.password).await).await,
        (403, "account_inactive".into())
    );
    // The wrong password still gets the plain 401: inactivity is only told to the owner.
    assert_eq!(app.login("lovelace", "wrong-password-here").await.status(), 401);
    assert_eq!(error_code(app.refresh(&tokens.refresh).await).await, (403, "account_inactive".into()));
    assert_eq!(
        error_code(app.get_as("/v1/auth/me", &tokens.access).await).await,
        (403, "account_inactive".into())
    );
}
