use penny_testkit::assert_migrations_round_trip;

use crate::helpers::spawn_app;

#[tokio::test]
async fn health_readiness_and_openapi_answer() {
    let app = spawn_app().await;
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);

    // The relay connects to the test's vhost in the background; readiness follows.
    let mut ready = serde_json::Value::Null;
    for _ in 0..100 {
        let response = app.client.get(app.url("/readyz")).send().await.unwrap();
        let ok = response.status() == 200;
        ready = response.json().await.unwrap();
        if ok {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(ready["checks"]["database"], "ok");
    assert_eq!(ready["checks"]["broker"], "ok", "{ready}");

    let openapi: serde_json::Value =
        app.client.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(openapi["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/v1/auth/register",
        "/v1/auth/login",
        "/v1/auth/me",
        "/v1/admin/users/{id}",
        "/.well-known/jwks.json",
    ] {
        assert!(openapi["paths"][path].is_object(), "{path} missing from the OpenAPI document");
    }
    let missing = app.client.get(app.url("/v1/nothing-here")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn migrations_go_up_down_and_up_again() {
    assert_migrations_round_trip(penny_auth::INFO.schema, &penny_auth::MIGRATIONS).await;
}
