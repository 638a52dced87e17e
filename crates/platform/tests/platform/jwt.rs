use std::sync::{Arc, RwLock};

use actix_web::{App, HttpResponse, HttpServer, web};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use penny_contract::{Role, UserId};
use penny_platform::http::AccessClaims;
use penny_platform::http::auth::KeySource;
use penny_platform::signing::{SigningKey, jwks};
use serde_json::Value;

use crate::helpers::{AUDIENCE, ISSUER, TestServer};

fn claims(user: UserId, role: Role) -> AccessClaims {
    let now = chrono::Utc::now().timestamp();
    AccessClaims {
        sub: user,
        role,
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        exp: now + 900,
        iat: now,
        jti: uuid::Uuid::now_v7().to_string(),
        typ: "access".into(),
    }
}

/// A JWKS endpoint whose key set the test can change, as auth's is during a rotation.
struct JwksServer {
    url: String,
    keys: Arc<RwLock<JwkSet>>,
}

impl JwksServer {
    async fn start(initial: JwkSet) -> Self {
        let keys = Arc::new(RwLock::new(initial));
        let shared = web::Data::from(Arc::clone(&keys));
        let server = HttpServer::new(move || {
            App::new().app_data(shared.clone()).route(
                "/.well-known/jwks.json",
                web::get().to(|keys: web::Data<RwLock<JwkSet>>| async move {
                    HttpResponse::Ok().json(&*keys.read().unwrap())
                }),
            )
        })
        .workers(1)
        .bind("127.0.0.1:0")
        .unwrap();
        let url = format!("http://{}/.well-known/jwks.json", server.addrs()[0]);
        tokio::spawn(server.run());
        Self { url, keys }
    }
}

async fn status(app: &TestServer, path: &str, token: &str) -> u16 {
    app.client.get(app.url(path)).bearer_auth(token).send().await.unwrap().status().as_u16()
}

fn segments(token: &str) -> Vec<String> {
    token.split('.').map(str::to_owned).collect()
}

#[tokio::test]
async fn a_valid_token_identifies_the_user() {
    let key = SigningKey::generate("k1").unwrap();
    let app = TestServer::start(KeySource::Static(jwks([&key])), None).await;
    let user = UserId::new();
    let token = key.sign(&claims(user, Role::User)).unwrap();
    let response = app.client.get(app.url("/whoami")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["id"], user.to_string());
}

#[tokio::test]
async fn forged_and_mismatched_tokens_are_refused() {
    let key = SigningKey::generate("k1").unwrap();
    let set = jwks([&key]);
    let app = TestServer::start(KeySource::Static(set.clone()), None).await;
    let user = UserId::new();
    let good = claims(user, Role::Admin);

    // `alg: none`, unsigned.
    let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT","kid":"k1"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&good).unwrap());
    let alg_none = format!("{none_header}.{payload}.");

    // HS256 with the public key as the HMAC secret (the classic key-confusion attack).
    let public_x = serde_json::to_value(&set.keys[0]).unwrap()["x"].as_str().unwrap().to_owned();
    let mut hs_header = Header::new(Algorithm::HS256);
    hs_header.kid = Some("k1".into());
    let hs256_raw = jsonwebtoken::encode(
        &hs_header,
        &good,
        &EncodingKey::from_secret(&URL_SAFE_NO_PAD.decode(&public_x).unwrap()),
    )
    .unwrap();
    let hs256_text =
        jsonwebtoken::encode(&hs_header, &good, &EncodingKey::from_secret(public_x.as_bytes())).unwrap();

    let wrong_iss = key.sign(&AccessClaims { iss: "someone-else".into(), ..good.clone() }).unwrap();
    let wrong_aud = key.sign(&AccessClaims { aud: "another-app".into(), ..good.clone() }).unwrap();
    let wrong_typ = key.sign(&AccessClaims { typ: "refresh".into(), ..good.clone() }).unwrap();
    let expired = key.sign(&AccessClaims { exp: good.iat - 3600, ..good.clone() }).unwrap();
    let unknown_kid = SigningKey::generate("k-unknown").unwrap().sign(&good).unwrap();
    let same_kid_other_key = SigningKey::generate("k1").unwrap().sign(&good).unwrap();

    // A payload changed after signing (user promoted to someone else).
    let mut parts = segments(&key.sign(&good).unwrap());
    let mut forged = good.clone();
    forged.sub = UserId::new();
    parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
    let tampered = parts.join(".");

    let cases = [
        ("alg none", alg_none),
        ("hs256 raw public key", hs256_raw),
        ("hs256 encoded public key", hs256_text),
        ("wrong iss", wrong_iss),
        ("wrong aud", wrong_aud),
        ("wrong typ", wrong_typ),
        ("expired", expired),
        ("unknown kid", unknown_kid),
        ("other key same kid", same_kid_other_key),
        ("tampered payload", tampered),
        ("garbage", "not.a.token".into()),
    ];
    for (name, token) in cases {
        assert_eq!(status(&app, "/whoami", &token).await, 401, "{name}");
    }
    let missing = app.client.get(app.url("/whoami")).send().await.unwrap();
    assert_eq!(missing.status(), 401);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["error"]["code"], "missing_token");

    // The good token still works: the refusals above were about the tokens.
    assert_eq!(status(&app, "/whoami", &key.sign(&good).unwrap()).await, 200);
}

#[tokio::test]
async fn an_unknown_kid_reloads_the_key_set_so_rotation_works() {
    let old = SigningKey::generate("2026-01").unwrap();
    let jwks_server = JwksServer::start(jwks([&old])).await;
    let app = TestServer::start(KeySource::Url(jwks_server.url.clone()), None).await;
    let user = UserId::new();
    assert_eq!(status(&app, "/whoami", &old.sign(&claims(user, Role::User)).unwrap()).await, 200);

    let new = SigningKey::generate("2026-02").unwrap();
    let new_token = new.sign(&claims(user, Role::User)).unwrap();
    assert_eq!(status(&app, "/whoami", &new_token).await, 401, "not published yet");

    *jwks_server.keys.write().unwrap() = jwks([&old, &new]);
    assert_eq!(status(&app, "/whoami", &new_token).await, 200, "published: refetched on the unknown kid");
    assert_eq!(status(&app, "/whoami", &old.sign(&claims(user, Role::User)).unwrap()).await, 200);
}

#[tokio::test]
async fn tokens_of_deleted_users_are_refused() {
    let key = SigningKey::generate("k1").unwrap();
    let app = TestServer::start(KeySource::Static(jwks([&key])), None).await;
    let user = UserId::new();
    let token = key.sign(&claims(user, Role::User)).unwrap();
    assert_eq!(status(&app, "/whoami", &token).await, 200);
    app.tombstones.insert(user);
    assert_eq!(status(&app, "/whoami", &token).await, 401);
}

#[tokio::test]
async fn a_remembered_token_vouches_for_nothing_but_its_own_bytes() {
    let key = SigningKey::generate("k1").unwrap();
    let app = TestServer::start(KeySource::Static(jwks([&key])), None).await;
    let good = claims(UserId::new(), Role::User);
    let token = key.sign(&good).unwrap();
    assert_eq!(status(&app, "/whoami", &token).await, 200);

    // The same signature under another payload, or under a different header.
    let mut parts = segments(&token);
    parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims(UserId::new(), Role::Admin)).unwrap());
    assert_eq!(status(&app, "/whoami", &parts.join(".")).await, 401, "payload swapped");
    let mut parts = segments(&token);
    parts[0] = URL_SAFE_NO_PAD.encode(r#"{"alg":"EdDSA","kid":"k1"}"#);
    assert_eq!(status(&app, "/whoami", &parts.join(".")).await, 401, "header swapped");
    assert_eq!(status(&app, "/whoami", &token).await, 200);
}

#[tokio::test]
async fn a_remembered_token_still_expires() {
    let key = SigningKey::generate("k1").unwrap();
    let app = TestServer::start(KeySource::Static(jwks([&key])), None).await;
    // Expired 4 s ago: still inside the 5 s leeway for about a second more.
    let mut nearly = claims(UserId::new(), Role::User);
    nearly.exp = chrono::Utc::now().timestamp() - 4;
    let token = key.sign(&nearly).unwrap();
    assert_eq!(status(&app, "/whoami", &token).await, 200);
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    assert_eq!(status(&app, "/whoami", &token).await, 401);
}

#[tokio::test]
async fn a_remembered_token_is_checked_again_when_its_key_is_replaced() {
    // The same kid now names another key (a botched rotation, or a compromised key replaced):
    // tokens the old key signed must stop working once the new set is loaded.
    let old = SigningKey::generate("k1").unwrap();
    let jwks_server = JwksServer::start(jwks([&old])).await;
    let app = TestServer::start(KeySource::Url(jwks_server.url.clone()), None).await;
    let user = UserId::new();
    let old_token = old.sign(&claims(user, Role::User)).unwrap();
    assert_eq!(status(&app, "/whoami", &old_token).await, 200);

    let replacement = SigningKey::generate("k1").unwrap();
    let other = SigningKey::generate("k2").unwrap();
    *jwks_server.keys.write().unwrap() = jwks([&replacement, &other]);
    // An unknown kid makes the verifier reload the set.
    assert_eq!(status(&app, "/whoami", &other.sign(&claims(user, Role::User)).unwrap()).await, 200);
    assert_eq!(status(&app, "/whoami", &old_token).await, 401);
}

#[tokio::test]
async fn admin_routes_need_the_admin_role() {
    let key = SigningKey::generate("k1").unwrap();
    let app = TestServer::start(KeySource::Static(jwks([&key])), None).await;
    let user_token = key.sign(&claims(UserId::new(), Role::User)).unwrap();
    let admin_token = key.sign(&claims(UserId::new(), Role::Admin)).unwrap();
    assert_eq!(status(&app, "/admin", &user_token).await, 403);
    assert_eq!(status(&app, "/admin", &admin_token).await, 204);
    let anonymous = app.client.get(app.url("/admin")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn keys_can_come_from_a_jwks_file() {
    let key = SigningKey::generate("file-key").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jwks.json");
    std::fs::write(&path, serde_json::to_vec(&jwks([&key])).unwrap()).unwrap();
    let app = TestServer::start(KeySource::File(path), None).await;
    assert_eq!(status(&app, "/whoami", &key.sign(&claims(UserId::new(), Role::User)).unwrap()).await, 200);
}

/// A JWKS endpoint that answers after `delay`, with a 500 for the first `failures` requests.
async fn slow_jwks(keys: JwkSet, delay: std::time::Duration, failures: usize) -> String {
    let served = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let keys = web::Data::new(keys);
    let server = HttpServer::new(move || {
        let served = Arc::clone(&served);
        App::new().app_data(keys.clone()).route(
            "/jwks.json",
            web::get().to(move |keys: web::Data<JwkSet>| {
                let served = Arc::clone(&served);
                async move {
                    tokio::time::sleep(delay).await;
                    if served.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < failures {
                        return HttpResponse::InternalServerError().finish();
                    }
                    HttpResponse::Ok().json(&**keys)
                }
            }),
        )
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let url = format!("http://{}/jwks.json", server.addrs()[0]);
    tokio::spawn(server.run());
    url
}

#[tokio::test]
async fn a_request_that_ends_during_the_key_fetch_does_not_lock_out_the_next_ones() {
    use penny_platform::http::JwtVerifier;
    use penny_platform::tombstones::Tombstones;
    let key = SigningKey::generate("k1").unwrap();
    let url = slow_jwks(jwks([&key]), std::time::Duration::from_millis(300), 0).await;
    let verifier = JwtVerifier::new(KeySource::Url(url), ISSUER, AUDIENCE, Tombstones::new());
    let token = key.sign(&claims(UserId::new(), Role::User)).unwrap();
    // The first request gives up (its client left, or another part of it failed first)...
    let first = tokio::time::timeout(std::time::Duration::from_millis(50), verifier.verify(&token)).await;
    assert!(first.is_err(), "the first request ended before the keys arrived");
    // ...and the next one is not refused for the rest of the refetch interval.
    verifier.verify(&token).await.expect("the next request verifies");
}

#[tokio::test]
async fn a_failed_key_fetch_is_tried_again_a_second_later() {
    use penny_platform::http::JwtVerifier;
    use penny_platform::tombstones::Tombstones;
    let key = SigningKey::generate("k1").unwrap();
    let url = slow_jwks(jwks([&key]), std::time::Duration::ZERO, 1).await;
    let verifier = JwtVerifier::new(KeySource::Url(url), ISSUER, AUDIENCE, Tombstones::new());
    let token = key.sign(&claims(UserId::new(), Role::User)).unwrap();
    assert!(verifier.verify(&token).await.is_err(), "auth answered 500");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    verifier.verify(&token).await.expect("fetched again after the short back-off, not the refetch interval");
}
