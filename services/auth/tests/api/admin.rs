use serde_json::{Value, json};

use crate::helpers::{PASSWORD, error_code, spawn_app};

#[tokio::test]
async fn users_are_refused_on_admin_endpoints() {
    let app = spawn_app().await;
    let (_, body) = app.registered("plain").await;
    let id = body["id"].as_str().unwrap();
    let tokens = app.tokens("plain", PASSWORD).await;
    let list = app.get_as("/v1/admin/users", &tokens.access).await;
    assert_eq!(error_code(list).await, (403, "admin_only".into()));
    let patch = app
        .client
        .patch(app.url(&format!("/v1/admin/users/{id}")))
        .bearer_auth(&tokens.access)
        .json(&json!({"role": "admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(patch.status(), 403);
    let delete = app
        .client
        .delete(app.url(&format!("/v1/admin/users/{id}")))
        .bearer_auth(&tokens.access)
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), 403);
    assert_eq!(app.client.get(app.url("/v1/admin/users")).send().await.unwrap().status(), 401);
    assert_eq!(app.count("users", "role = 'user'").await, 1, "nothing changed");
}

#[tokio::test]
async fn admins_page_through_users() {
    let app = spawn_app().await;
    let (_, admin) = app.admin("root").await;
    for name in ["user1", "user2", "user3", "user4"] {
        app.registered(name).await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/admin/users?limit=2&cursor={c}"),
            None => "/v1/admin/users?limit=2".to_owned(),
        };
        let page: Value = app.get_as(&path, &admin.access).await.json().await.unwrap();
        for item in page["items"].as_array().unwrap() {
            assert!(item["is_active"].is_boolean());
            assert!(item.get("password_hash").is_none());
            seen.push(item["username"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, ["user4", "user3", "user2", "user1", "root"], "newest first, each once");
    let all: Value = app.get_as("/v1/admin/users", &admin.access).await.json().await.unwrap();
    assert_eq!(all["items"].as_array().unwrap().len(), 5);
    assert_eq!(all["next_cursor"], Value::Null);
    for bad in ["?limit=0", "?limit=501", "?cursor=%%%", "?limit=abc"] {
        let response = app.get_as(&format!("/v1/admin/users{bad}"), &admin.access).await;
        assert_eq!(response.status(), 400, "{bad}");
    }
}

#[tokio::test]
async fn admins_deactivate_promote_and_delete_users() {
    let app = spawn_app().await;
    let (_, admin) = app.admin("root").await;
    let (user, body) = app.registered("worker").await;
    let id = body["id"].as_str().unwrap().to_owned();
    let session = app.tokens("worker", &user.password).await;
    let path = format!("/v1/admin/users/{id}");
    let patch = |body: Value| {
        let request = app.client.patch(app.url(&path)).bearer_auth(&admin.access).json(&body);
        async move { request.send().await.unwrap() }
    };

    let off = patch(json!({"is_active": false})).await;
    assert_eq!(off.status(), 200);
    let off: Value = off.json().await.unwrap();
    assert_eq!(off["is_active"], false);
    assert_eq!(error_code(app.login("worker", PASSWORD).await).await, (403, "account_inactive".into()));
    assert_eq!(app.refresh(&session.refresh).await.status(), 401, "sessions ended on deactivation");

    let on: Value = patch(json!({"is_active": true, "role": "admin"})).await.json().await.unwrap();
    assert_eq!(on["is_active"], true);
    assert_eq!(on["role"], "admin");
    let promoted = app.tokens("worker", PASSWORD).await;
    assert_eq!(app.get_as("/v1/admin/users", &promoted.access).await.status(), 200);

    assert_eq!(patch(json!({"role": "superuser"})).await.status(), 400);
    assert_eq!(patch(json!({"is_admin": true})).await.status(), 400, "unknown fields are refused");
    let missing = app
        .client
        .patch(app.url(&format!("/v1/admin/users/{}", uuid::Uuid::now_v7())))
        .bearer_auth(&admin.access)
        .json(&json!({"is_active": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let not_an_id = app
        .client
        .delete(app.url("/v1/admin/users/not-an-id"))
        .bearer_auth(&admin.access)
        .send()
        .await
        .unwrap();
    assert_eq!(not_an_id.status(), 404);

    let deleted = app.client.delete(app.url(&path)).bearer_auth(&admin.access).send().await.unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(
        app.get_as("/v1/auth/me", &promoted.access).await.status(),
        401,
        "a deleted user's token is refused"
    );
    assert_eq!(
        app.count(
            "outbox",
            &format!("routing_key = 'user.deleted' AND body::jsonb->'payload'->>'user_id' = '{id}'")
        )
        .await,
        1
    );
    assert_eq!(app.count("user_tombstones", &format!("user_id = '{id}'")).await, 1);
    let again = app.client.delete(app.url(&path)).bearer_auth(&admin.access).send().await.unwrap();
    assert_eq!(again.status(), 404);
}

#[tokio::test]
async fn the_last_active_admin_stays() {
    let app = spawn_app().await;
    let (_, admin) = app.admin("only").await;
    let me: Value = app.get_as("/v1/auth/me", &admin.access).await.json().await.unwrap();
    let path = format!("/v1/admin/users/{}", me["id"].as_str().unwrap());
    let demote = app
        .client
        .patch(app.url(&path))
        .bearer_auth(&admin.access)
        .json(&json!({"role": "user"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(demote).await, (409, "last_admin".into()));
    let delete = app.client.delete(app.url(&path)).bearer_auth(&admin.access).send().await.unwrap();
    assert_eq!(delete.status(), 409);
    let delete_me = app
        .client
        .delete(app.url("/v1/auth/me"))
        .bearer_auth(&admin.access)
        .json(&json!({"password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(delete_me.status(), 409);
}

#[tokio::test]
async fn a_demoted_admin_token_no_longer_administers() {
    let app = spawn_app().await;
    let (_, first) = app.admin("first").await;
    let (_, second) = app.admin("second").await;
    let me: Value = app.get_as("/v1/auth/me", &second.access).await.json().await.unwrap();
    let path = format!("/v1/admin/users/{}", me["id"].as_str().unwrap());
    let demote = app
        .client
        .patch(app.url(&path))
        .bearer_auth(&first.access)
        .json(&json!({"role": "user"}))
        .send()
        .await
        .unwrap();
    assert_eq!(demote.status(), 200);
    // The demoted admin's access token still says admin, but auth checks the database.
    assert_eq!(app.get_as("/v1/admin/users", &second.access).await.status(), 403);
}
