//! Bad input of every kind gets a 4xx with the JSON error body, never a 500, and changes nothing.

use serde_json::Value;

use crate::helpers::{PASSWORD, spawn_app};

const JSON_ENDPOINTS: [&str; 7] = [
    "/v1/auth/register",
    "/v1/auth/login",
    "/v1/auth/refresh",
    "/v1/auth/logout",
    "/v1/auth/password/forgot",
    "/v1/auth/password/reset",
    "/v1/auth/password/change",
];

async fn assert_json_4xx(response: reqwest::Response, case: &str) -> u16 {
    let status = response.status().as_u16();
    assert!((400..500).contains(&status), "{case}: got {status}");
    let content_type = response.headers().get("content-type").unwrap().to_str().unwrap().to_owned();
    assert!(content_type.starts_with("application/json"), "{case}: {content_type}");
    let body: Value = response.json().await.unwrap();
    assert!(body["error"]["code"].is_string() && body["error"]["message"].is_string(), "{case}: {body}");
    status
}

#[tokio::test]
async fn malformed_bodies_get_json_4xx_answers_on_every_endpoint() {
    let app = spawn_app().await;
    app.registered("target").await;
    let token = app.tokens("target", PASSWORD).await.access;
    let huge = format!(r#"{{"login": "{}", "password": "x"}}"#, "a".repeat(2 * 1024 * 1024));
    // The fields in order as an array: serde reads that positionally, so without the object
    // check login would accept it.
    let positional = format!(r#"["target", "{PASSWORD}"]"#);
    let bodies: [(&str, &str, &str, Option<u16>); 9] = [
        ("malformed json", "application/json", "{\"login\": ", Some(400)),
        ("not an object", "application/json", "[1, 2, 3]", Some(400)),
        ("the fields as an array", "application/json", &positional, Some(400)),
        ("empty object", "application/json", "{}", Some(400)),
        (
            "wrong types",
            "application/json",
            r#"{"login": 1, "password": true, "email": [], "name": {}, "refresh_token": 5, "code": 1, "new_password": 2, "current_password": null, "username": 3}"#,
            Some(400),
        ),
        ("null body", "application/json", "null", Some(400)),
        ("wrong content type", "text/plain", r#"{"login": "a", "password": "b"}"#, Some(415)),
        ("form", "application/x-www-form-urlencoded", "login=a&password=b", Some(415)),
        ("huge body", "application/json", &huge, Some(413)),
    ];
    for endpoint in JSON_ENDPOINTS {
        for (case, content_type, body, expected) in &bodies {
            let response = app
                .client
                .post(app.url(endpoint))
                .bearer_auth(&token)
                .header("content-type", *content_type)
                .body(body.to_string())
                .send()
                .await
                .unwrap();
            let status = assert_json_4xx(response, &format!("{endpoint} {case}")).await;
            if let Some(expected) = expected {
                assert_eq!(status, *expected, "{endpoint} {case}");
            }
        }
        let no_body = app.client.post(app.url(endpoint)).bearer_auth(&token).send().await.unwrap();
        assert_json_4xx(no_body, &format!("{endpoint} without a body")).await;
    }
    // DELETE /me and PATCH /admin/users take bodies too.
    let delete = app
        .client
        .delete(app.url("/v1/auth/me"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{oops")
        .send()
        .await
        .unwrap();
    assert_eq!(assert_json_4xx(delete, "DELETE /me malformed").await, 400);
    let wrong_method = app.client.put(app.url("/v1/auth/login")).send().await.unwrap();
    assert_json_4xx(wrong_method, "PUT /login").await;
    assert_eq!(app.count("users", "true").await, 1, "nothing was created");
    assert_eq!(app.login("target", PASSWORD).await.status(), 200, "nothing was changed");
}

#[tokio::test]
async fn overlong_and_odd_strings_are_handled() {
    let app = spawn_app().await;
    let long = "a".repeat(10_000);
    for (login, password) in
        [(long.as_str(), "x"), ("x", long.as_str()), ("\u{0}", "\u{0}"), ("ünï@cödé", "☃☃☃☃☃☃☃☃")]
    {
        let response = app.login(login, password).await;
        assert_eq!(response.status(), 401, "{login:.20}");
    }
    let response = app.refresh(&long).await;
    assert_eq!(response.status(), 401);
    let response = app
        .post(
            "/v1/auth/password/reset",
            &serde_json::json!({"email": long, "code": long, "new_password": long}),
        )
        .await;
    assert_eq!(response.status(), 400);
    let response = app.post("/v1/auth/password/forgot", &serde_json::json!({"email": long})).await;
    assert_eq!(response.status(), 202);
}
