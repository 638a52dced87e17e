use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use penny_contract::{Role, UserId};
use penny_platform::http::AccessClaims;
use penny_platform::signing::SigningKey;
use serde_json::Value;

use crate::helpers::{PASSWORD, spawn_app, spawn_with, test_settings};

fn decode_part(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

#[tokio::test]
async fn access_tokens_carry_exactly_the_agreed_claims_and_a_published_kid() {
    let app = spawn_app().await;
    let (_, body) = app.registered("claims").await;
    let tokens = app.tokens("claims", PASSWORD).await;
    let parts: Vec<&str> = tokens.access.split('.').collect();
    let header = decode_part(parts[0]);
    let claims = decode_part(parts[1]);
    assert_eq!(header["alg"], "EdDSA");
    let jwks: Value =
        app.client.get(app.url("/.well-known/jwks.json")).send().await.unwrap().json().await.unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    assert_eq!(jwks["keys"][0]["kid"], header["kid"]);
    assert_eq!(jwks["keys"][0]["kty"], "OKP");
    assert!(jwks["keys"][0].get("d").is_none(), "no private part");

    let mut names: Vec<&String> = claims.as_object().unwrap().keys().collect();
    names.sort();
    assert_eq!(names, ["aud", "exp", "iat", "iss", "jti", "role", "sub", "typ"]);
    assert_eq!(claims["sub"], body["id"]);
    assert_eq!(claims["role"], "user");
    assert_eq!(claims["typ"], "access");
    assert_eq!(claims["iss"], penny_testkit::service::ISSUER);
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 900);
    // The claims deserialise into the platform's type, which every verifier uses.
    let _: AccessClaims = serde_json::from_value(claims).unwrap();
}

#[tokio::test]
async fn forged_and_mismatched_tokens_are_refused_by_the_real_service() {
    let app = spawn_app().await;
    let (_, body) = app.registered("victim").await;
    let good_token = app.tokens("victim", PASSWORD).await.access;
    let parts: Vec<&str> = good_token.split('.').collect();
    let kid = decode_part(parts[0])["kid"].as_str().unwrap().to_owned();
    let good: AccessClaims = serde_json::from_value(decode_part(parts[1])).unwrap();
    assert_eq!(good.sub.to_string(), body["id"].as_str().unwrap());
    let key = SigningKey::from_pkcs8_pem(kid.clone(), &app.key_pem).unwrap();
    let admin = AccessClaims { role: Role::Admin, ..good.clone() };

    let none_header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"none","typ":"JWT","kid":"{kid}"}}"#));
    let alg_none = format!("{none_header}.{}.", URL_SAFE_NO_PAD.encode(serde_json::to_vec(&admin).unwrap()));
    let jwks: Value =
        app.client.get(app.url("/.well-known/jwks.json")).send().await.unwrap().json().await.unwrap();
    let public_x = jwks["keys"][0]["x"].as_str().unwrap().to_owned();
    let mut hs_header = Header::new(Algorithm::HS256);
    hs_header.kid = Some(kid.clone());
    let hs256_raw = jsonwebtoken::encode(
        &hs_header,
        &admin,
        &EncodingKey::from_secret(&URL_SAFE_NO_PAD.decode(&public_x).unwrap()),
    )
    .unwrap();
    let hs256_text =
        jsonwebtoken::encode(&hs_header, &admin, &EncodingKey::from_secret(public_x.as_bytes())).unwrap();
    let mut tampered: Vec<String> = good_token.split('.').map(str::to_owned).collect();
    tampered[1] = URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(&AccessClaims { sub: UserId::new(), ..good.clone() }).unwrap());

    let cases = [
        ("alg none", alg_none),
        ("hs256 with the raw public key", hs256_raw),
        ("hs256 with the encoded public key", hs256_text),
        ("wrong iss", key.sign(&AccessClaims { iss: "someone-else".into(), ..good.clone() }).unwrap()),
        ("wrong aud", key.sign(&AccessClaims { aud: "another-app".into(), ..good.clone() }).unwrap()),
        ("wrong typ", key.sign(&AccessClaims { typ: "refresh".into(), ..good.clone() }).unwrap()),
        ("expired", key.sign(&AccessClaims { exp: good.iat - 3600, ..good.clone() }).unwrap()),
        ("unknown kid", SigningKey::generate("unknown").unwrap().sign(&good).unwrap()),
        ("other key, same kid", SigningKey::generate(kid.clone()).unwrap().sign(&admin).unwrap()),
        ("tampered payload", tampered.join(".")),
        ("garbage", "not.a.token".into()),
        ("empty", String::new()),
    ];
    for (name, token) in cases {
        let response = app.get_as("/v1/auth/me", &token).await;
        assert_eq!(response.status(), 401, "{name}");
        let body: Value = response.json().await.unwrap();
        assert!(body["error"]["code"].is_string(), "{name}");
        assert_eq!(app.get_as("/v1/admin/users", &token).await.status(), 401, "{name}");
    }
    assert_eq!(app.client.get(app.url("/v1/auth/me")).send().await.unwrap().status(), 401);
    assert_eq!(
        app.client
            .get(app.url("/v1/auth/me"))
            .header("Authorization", "Basic abc")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    // A token for a user that does not exist, signed with the real key, finds no account.
    let ghost = key.sign(&AccessClaims { sub: UserId::new(), ..good.clone() }).unwrap();
    assert_eq!(app.get_as("/v1/auth/me", &ghost).await.status(), 401);
    // The good token still works: the refusals were about the tokens.
    assert_eq!(app.get_as("/v1/auth/me", &good_token).await.status(), 200);
}

#[tokio::test]
async fn retired_keys_stay_published_and_accepted_during_a_rotation() {
    let old_dir = tempfile::tempdir().unwrap();
    let (old_settings, old_pem) = test_settings(old_dir.path());
    let old_file = old_settings.jwt_private_key_file.clone().unwrap();
    let app = spawn_with(move |s| s.jwt_previous_key_files = vec![old_file]).await;
    let (_, body) = app.registered("rotate").await;
    let new_token = app.tokens("rotate", PASSWORD).await.access;

    let jwks: Value =
        app.client.get(app.url("/.well-known/jwks.json")).send().await.unwrap().json().await.unwrap();
    let kids: Vec<&str> =
        jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert_eq!(kids.len(), 2);
    let active_kid = decode_part(new_token.split('.').next().unwrap())["kid"].as_str().unwrap().to_owned();
    assert_eq!(kids[0], active_kid, "new tokens are signed with the active key");

    // A token the old key signed before the rotation still verifies.
    let claims: AccessClaims =
        serde_json::from_value(decode_part(new_token.split('.').nth(1).unwrap())).unwrap();
    let old_key = SigningKey::from_pkcs8_pem(kids[1], &old_pem).unwrap();
    let old_token = old_key.sign(&claims).unwrap();
    let me: Value = app.get_as("/v1/auth/me", &old_token).await.json().await.unwrap();
    assert_eq!(me["id"], body["id"]);
}
