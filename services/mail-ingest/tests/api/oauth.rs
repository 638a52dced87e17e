//! Gmail and Outlook end to end against `wiremock` stand-ins for Google and Microsoft: the
//! OAuth flow (PKCE, signed single-use state), fetching (Gmail full and history sync, Graph
//! delta), token refresh, `invalid_grant`, and disconnecting.
//!
//! Every stand-in answers in the shape of the provider's published reference; the page is cited
//! next to it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use penny_contract::{AccountId, JobId, TriggeredBy};
use penny_mail_ingest::fetch::imap::FetchOptions;
use penny_mail_ingest::fetch::runner::{self, RetryPolicy, RunOutcome};
use penny_mail_ingest::oauth::TokenSet;
use penny_mail_ingest::store;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use sha2::Digest;
use wiremock::matchers::{body_string_contains, header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{TestApp, TestUser, spawn_app, spawn_app_with};

/// An app whose Gmail and Outlook endpoints are the stand-in.
async fn oauth_app(mock: &MockServer) -> TestApp {
    let base = mock.uri();
    spawn_app_with(|s| {
        s.gmail_client_id = Some("gmail-client".into());
        s.gmail_client_secret = Some("gmail-secret".into());
        s.gmail_auth_url = format!("{base}/google/auth");
        s.gmail_token_url = format!("{base}/google/token");
        s.gmail_revoke_url = format!("{base}/google/revoke");
        s.gmail_api_url = base.clone();
        s.outlook_client_id = Some("outlook-client".into());
        s.outlook_client_secret = Some("outlook-secret".into());
        s.outlook_auth_url = format!("{base}/ms/authorize");
        s.outlook_token_url = format!("{base}/ms/token");
        s.outlook_api_url = format!("{base}/v1.0");
    })
    .await
}

/// A token response as documented for Google
/// (https://developers.google.com/identity/protocols/OAuth2WebServer, "exchange authorization
/// code": access_token, expires_in, refresh_token, scope, token_type) and Microsoft
/// (https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow).
fn token_response(access: &str, refresh: Option<&str>, expires_in: u64, scope: &str) -> Value {
    let mut body = json!({
        "access_token": access, "expires_in": expires_in, "scope": scope, "token_type": "Bearer",
    });
    if let Some(refresh) = refresh {
        body["refresh_token"] = json!(refresh);
    }
    body
}

const GMAIL_SCOPE: &str = "https://www.googleapis.com/auth/gmail.readonly";

/// `POST .../start` and the state and challenge in the authorization URL.
async fn start(app: &TestApp, user: &TestUser, provider: &str) -> url::Url {
    let response = app.post(user, &format!("/v1/accounts/oauth/{provider}/start"), json!({})).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    url::Url::parse(body["authorize_url"].as_str().unwrap()).unwrap()
}

fn param(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// The browser's return to the callback (redirects not followed).
async fn callback(app: &TestApp, provider: &str, query: &[(&str, &str)]) -> reqwest::Response {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut url = url::Url::parse(&app.url(&format!("/v1/accounts/oauth/{provider}/callback"))).unwrap();
    url.query_pairs_mut().extend_pairs(query);
    client.get(url.as_str()).send().await.unwrap()
}

/// Mounts Google's answers to one code and its profile, runs the flow, returns the account.
async fn connect_gmail(
    app: &TestApp,
    mock: &MockServer,
    user: &TestUser,
    code: &str,
    tokens: Value,
    email: &str,
    history_id: &str,
) -> AccountId {
    Mock::given(method("POST"))
        .and(path("/google/token"))
        .and(body_string_contains("grant_type=authorization_code"))
        .and(body_string_contains(format!("code={code}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(&tokens))
        .mount(mock)
        .await;
    // users.getProfile, https://developers.google.com/gmail/api/v1/reference/users/getProfile
    let access = tokens["access_token"].as_str().unwrap();
    Mock::given(method("GET"))
        .and(path("/gmail/v1/users/me/profile"))
        .and(header("authorization", format!("Bearer {access}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "emailAddress": email, "messagesTotal": 3, "threadsTotal": 3, "historyId": history_id,
        })))
        .mount(mock)
        .await;
    let authorize = start(app, user, "gmail").await;
    let state = param(&authorize, "state").unwrap();
    let response = callback(app, "gmail", &[("code", code), ("state", &state)]).await;
    assert_eq!(response.status(), 303, "{}", response.text().await.unwrap_or_default());
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.ends_with("/accounts?connected=gmail"), "{location}");
    account_by_email(app, user, email).await
}

async fn account_by_email(app: &TestApp, user: &TestUser, email: &str) -> AccountId {
    let accounts = app.get_json(user, "/v1/accounts").await;
    let account = accounts["items"].as_array().unwrap().iter().find(|a| a["email"] == email).unwrap();
    account["id"].as_str().unwrap().parse().unwrap()
}

async fn fetch(app: &TestApp, account: AccountId) -> (JobId, RunOutcome) {
    let mut conn = app.conn().await;
    let account = store::accounts::find(&mut conn, account).await.unwrap().unwrap();
    let job = runner::create_job(&mut conn, &account, TriggeredBy::Manual).await.unwrap();
    let outcome = runner::run_job(
        &mut conn,
        &app.secrets,
        &app.oauth,
        job.id,
        FetchOptions { batch_size: 2, retry: RetryPolicy::none() },
    )
    .await
    .unwrap();
    (job.id, outcome)
}

fn counts(outcome: &RunOutcome) -> (u64, u64, u64) {
    let RunOutcome::Fetched(c) = outcome else { panic!("{outcome:?}") };
    (c.total, c.stored, c.duplicates)
}

async fn extraction_requests(app: &TestApp) -> usize {
    app.outbox().await.iter().filter(|(key, _)| key == "extraction.requested").count()
}

fn mime(id: &str) -> String {
    format!(
        "Message-ID: <{id}@bank.example>\r\nFrom: Bank <alerts@bank.example>\r\nTo: sam@x.example\r\n\
         Subject: Card purchase {id}\r\nDate: Tue, 06 Jan 2026 10:00:00 +0000\r\n\r\nYou spent $12.00 at Shop {id}.\r\n"
    )
}

/// users.messages.get with format=raw: the Message resource with `raw` in base64url
/// (https://developers.google.com/gmail/api/reference/rest/v1/users.messages/get, and
/// https://pub.dev/documentation/googleapis/latest/gmail_v1/Message/raw.html).
fn gmail_raw(id: &str) -> Value {
    json!({
        "id": id, "threadId": format!("t-{id}"), "labelIds": ["INBOX", "CATEGORY_UPDATES"],
        "snippet": "You spent $12.00", "historyId": "990", "internalDate": "1767693600000",
        "sizeEstimate": 300, "raw": URL_SAFE_NO_PAD.encode(mime(id)),
    })
}

async fn mount_gmail_message(mock: &MockServer, id: &str, times: u64) {
    Mock::given(method("GET"))
        .and(path(format!("/gmail/v1/users/me/messages/{id}")))
        .and(query_param("format", "raw"))
        .respond_with(ResponseTemplate::new(200).set_body_json(gmail_raw(id)))
        .expect(times)
        .mount(mock)
        .await;
}

#[tokio::test]
async fn start_builds_a_pkce_authorization_url_and_unconfigured_providers_are_refused() {
    let mock = MockServer::start().await;
    let app = oauth_app(&mock).await;
    let user = app.user().await;

    let gmail = start(&app, &user, "gmail").await;
    assert_eq!(gmail.path(), "/google/auth");
    assert_eq!(param(&gmail, "response_type").as_deref(), Some("code"));
    assert_eq!(param(&gmail, "client_id").as_deref(), Some("gmail-client"));
    let redirect = param(&gmail, "redirect_uri").unwrap();
    assert!(redirect.ends_with("/v1/accounts/oauth/gmail/callback"), "{redirect}");
    assert_eq!(param(&gmail, "scope").as_deref(), Some(GMAIL_SCOPE));
    assert_eq!(param(&gmail, "code_challenge_method").as_deref(), Some("S256"));
    assert_eq!(param(&gmail, "code_challenge").unwrap().len(), 43, "a base64url SHA-256");
    assert_eq!(param(&gmail, "access_type").as_deref(), Some("offline"));
    assert_eq!(param(&gmail, "prompt").as_deref(), Some("consent"));
    let state = param(&gmail, "state").unwrap();
    assert_eq!(state.split('.').count(), 3, "{state}");
    // Only the state's hash is stored.
    let hash: String = sha2::Sha256::digest(state.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    let sql = format!("SELECT count(*) AS n FROM oauth_states WHERE state_hash = decode('{hash}', 'hex')");
    assert_eq!(app.count(&sql).await, 1);

    let outlook = start(&app, &user, "outlook").await;
    assert_eq!(outlook.path(), "/ms/authorize");
    assert_eq!(param(&outlook, "scope").as_deref(), Some("offline_access User.Read Mail.Read"));
    assert_eq!(param(&outlook, "code_challenge_method").as_deref(), Some("S256"));
    assert_eq!(param(&outlook, "access_type"), None);
    assert_ne!(param(&outlook, "state"), Some(state));

    assert_eq!(app.post(&user, "/v1/accounts/oauth/yahoo/start", json!({})).await.status(), 404);
    let anonymous = app.client.post(app.url("/v1/accounts/oauth/gmail/start")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);

    let bare = spawn_app().await;
    let someone = bare.user().await;
    let response = bare.post(&someone, "/v1/accounts/oauth/gmail/start", json!({})).await;
    assert_eq!(response.status(), 409);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "provider_not_configured");
}

#[tokio::test]
async fn the_callback_stores_the_account_sealed_and_refuses_reused_forged_and_unknown_states() {
    let mock = MockServer::start().await;
    let app = oauth_app(&mock).await;
    let user = app.user().await;
    let tokens = token_response("ya29.access-1", Some("1//refresh-1"), 3599, GMAIL_SCOPE);
    let account = connect_gmail(&app, &mock, &user, "code-1", tokens, "sam@gmail.test", "1000").await;

    // The code went to the token endpoint with the verifier whose S256 is the challenge.
    let requests = mock.received_requests().await.unwrap();
    let exchange = requests.iter().find(|r| r.url.path() == "/google/token").unwrap();
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(&exchange.body).into_owned().collect();
    assert_eq!(form["grant_type"], "authorization_code");
    assert_eq!(form["client_id"], "gmail-client");
    assert!(form["redirect_uri"].ends_with("/v1/accounts/oauth/gmail/callback"));
    let verifier = &form["code_verifier"];
    assert!(verifier.len() >= 43);

    let view = app.get_json(&user, &format!("/v1/accounts/{account}")).await;
    assert_eq!(view["provider"], "gmail");
    assert_eq!(view["status"], "ACTIVE");
    assert!(!view.to_string().contains("ya29"), "tokens are never returned");
    let stored = store::accounts::find(&mut *app.conn().await, account).await.unwrap().unwrap();
    let secret = stored.secret.clone().unwrap();
    for plain in ["ya29.access-1", "1//refresh-1"] {
        assert!(!secret.windows(plain.len()).any(|w| w == plain.as_bytes()), "no plaintext {plain}");
    }
    let opened = TokenSet::open(&stored, &app.secrets).unwrap();
    assert_eq!(opened.access_token.expose_secret(), "ya29.access-1");
    assert_eq!(opened.refresh_token.unwrap().expose_secret(), "1//refresh-1");

    // The state of that flow cannot be used again.
    let state = param(&start(&app, &user, "gmail").await, "state").unwrap();
    assert_eq!(callback(&app, "gmail", &[("code", "code-1"), ("state", &state)]).await.status(), 303);
    let again = callback(&app, "gmail", &[("code", "code-1"), ("state", &state)]).await;
    assert_eq!(again.status(), 400);
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_state");
    assert!(body["error"]["message"].as_str().unwrap().contains("already used"), "{body}");

    // Forged (changed signature, another provider's, made up), unknown and missing states: 400.
    let fresh = param(&start(&app, &user, "gmail").await, "state").unwrap();
    let mut forged = fresh.clone();
    forged.pop();
    forged.push(if fresh.ends_with('A') { 'B' } else { 'A' });
    for bad in [forged.as_str(), "made.up.state", ""] {
        let response = callback(&app, "gmail", &[("code", "c"), ("state", bad)]).await;
        assert_eq!(response.status(), 400, "{bad}");
        assert_eq!(response.json::<Value>().await.unwrap()["error"]["code"], "invalid_state");
    }
    assert_eq!(callback(&app, "outlook", &[("code", "c"), ("state", &fresh)]).await.status(), 400);
    let foreign = penny_mail_ingest::oauth::state::issue(
        &app.secrets.derived_keys(penny_mail_ingest::oauth::state::KEY_PURPOSE)[0],
        penny_mail_ingest::oauth::OAuthProvider::Gmail,
        chrono::Utc::now(),
    )
    .unwrap();
    let unknown = callback(&app, "gmail", &[("code", "c"), ("state", &foreign.token)]).await;
    assert_eq!(unknown.status(), 400, "signed but never issued");

    // The user declines: redirected with the error, nothing stored, the state is spent.
    let response = callback(&app, "gmail", &[("error", "access_denied"), ("state", &fresh)]).await;
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"].to_str().unwrap();
    assert!(location.ends_with("/accounts?error=access_denied&provider=gmail"), "{location}");
    assert_eq!(app.get_json(&user, "/v1/accounts").await["items"].as_array().unwrap().len(), 2);
    assert_eq!(callback(&app, "gmail", &[("code", "c"), ("state", &fresh)]).await.status(), 400);
}

#[tokio::test]
async fn gmail_full_sync_pages_then_history_then_404_falls_back_to_a_full_sync() {
    let mock = MockServer::start().await;
    let app = oauth_app(&mock).await;
    let user = app.user().await;
    let tokens = token_response("ya29.access-1", Some("1//refresh-1"), 3599, GMAIL_SCOPE);
    let account = connect_gmail(&app, &mock, &user, "code-1", tokens, "sam@gmail.test", "1000").await;

    // users.messages.list, two pages
    // (https://developers.google.com/gmail/api/reference/rest/v1/users.messages/list:
    // messages[{id, threadId}], nextPageToken, resultSizeEstimate).
    Mock::given(method("GET"))
        .and(path("/gmail/v1/users/me/messages"))
        .and(query_param("q", penny_mail_ingest::DEFAULT_GMAIL_QUERY))
        .and(query_param_is_missing("pageToken"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "messages": [{"id": "m3", "threadId": "t-m3"}, {"id": "m2", "threadId": "t-m2"}],
            "nextPageToken": "page-2", "resultSizeEstimate": 3,
        })))
        .mount(&mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/gmail/v1/users/me/messages"))
        .and(query_param("pageToken", "page-2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "messages": [{"id": "m1", "threadId": "t-m1"}], "resultSizeEstimate": 3,
        })))
        .mount(&mock)
        .await;
    // Rate limited once: 429 with Retry-After, then the message
    // (https://developers.google.com/gmail/api/guides/handle-errors, "429 Too many requests").
    Mock::given(method("GET"))
        .and(path("/gmail/v1/users/me/messages/m2"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1").set_body_json(json!({
            "error": {"code": 429, "message": "Too many concurrent requests for user", "errors": [
                {"message": "Too many concurrent requests for user", "domain": "global", "reason": "rateLimitExceeded"}
            ], "status": "RESOURCE_EXHAUSTED"}
        })))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&mock)
        .await;
    // Each message is downloaded once, however many fetches see its id.
    for id in ["m1", "m2", "m3", "m4"] {
        mount_gmail_message(&mock, id, 1).await;
    }

    let (job, outcome) = fetch(&app, account).await;
    assert_eq!(counts(&outcome), (3, 3, 0));
    let job = app.get_json(&user, &format!("/v1/jobs/{job}")).await;
    assert_eq!(job["status"], "SUCCESS");
    assert_eq!(extraction_requests(&app).await, 3);
    let emails = app.all(&user, &format!("/v1/emails?account_id={account}")).await;
    assert_eq!(emails.len(), 3);
    assert!(emails.iter().all(|e| e["provider"] == "gmail"));
    assert_eq!(
        app.count("SELECT count(*) AS n FROM emails WHERE provider_message_id IN ('m1','m2','m3')").await,
        3
    );
    let cursor = store::cursors::sync_token(&mut *app.conn().await, account, "gmail:history").await.unwrap();
    assert_eq!(cursor.as_deref(), Some("1000"));

    // users.history.list from the cursor, two pages
    // (https://developers.google.cn/workspace/gmail/api/reference/rest/v1/users.history/list:
    // history[{id, messages, messagesAdded[{message}]}], nextPageToken, historyId).
    Mock::given(method("GET"))
        .and(path("/gmail/v1/users/me/history"))
        .and(query_param("startHistoryId", "1000"))
        .and(query_param("historyTypes", "messageAdded"))
        .and(query_param_is_missing("pageToken"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "history": [{"id": "1001", "messages": [{"id": "m4", "threadId": "t-m4"}],
                "messagesAdded": [{"message": {"id": "m4", "threadId": "t-m4", "labelIds": ["INBOX", "UNREAD"]}}]}],
            "nextPageToken": "history-2", "historyId": "1003",
        })))
        .mount(&mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/gmail/v1/users/me/history"))
        .and(query_param("startHistoryId", "1000"))
        .and(query_param("pageToken", "history-2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "history": [{"id": "1003", "messages": [{"id": "m3"}, {"id": "d1"}], "messagesAdded": [
                {"message": {"id": "m3", "threadId": "t-m3", "labelIds": ["INBOX"]}},
                {"message": {"id": "d1", "threadId": "t-d1", "labelIds": ["DRAFT"]}}
            ]}],
            "historyId": "1003",
        })))
        .mount(&mock)
        .await;
    let (_, outcome) = fetch(&app, account).await;
    assert_eq!(counts(&outcome), (2, 1, 1), "m4 new, m3 known (not downloaded), the draft ignored");
    assert_eq!(extraction_requests(&app).await, 4);
    let cursor = store::cursors::sync_token(&mut *app.conn().await, account, "gmail:history").await.unwrap();
    assert_eq!(cursor.as_deref(), Some("1003"));

    // History 1003 is gone (404, https://developers.google.com/gmail/api/guides/sync, "Limitations"):
    // a full sync runs, finds only known messages, stores nothing and downloads nothing.
    Mock::given(method("GET"))
        .and(path("/gmail/v1/users/me/history"))
        .and(query_param("startHistoryId", "1003"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "error": {"code": 404, "message": "Requested entity was not found.", "errors": [
                {"message": "Requested entity was not found.", "domain": "global", "reason": "notFound"}
            ], "status": "NOT_FOUND"}
        })))
        .expect(1)
        .mount(&mock)
        .await;
    let (_, outcome) = fetch(&app, account).await;
    assert_eq!(counts(&outcome), (3, 0, 3));
    assert_eq!(extraction_requests(&app).await, 4);
    assert_eq!(app.all(&user, "/v1/emails").await.len(), 4);
    let cursor = store::cursors::sync_token(&mut *app.conn().await, account, "gmail:history").await.unwrap();
    assert_eq!(cursor.as_deref(), Some("1000"), "the profile's history id of the full sync");
}

#[tokio::test]
async fn graph_delta_pages_to_the_delta_link_continues_from_it_and_resyncs_after_410() {
    let mock = MockServer::start().await;
    let app = oauth_app(&mock).await;
    let user = app.user().await;
    let base = mock.uri();
    Mock::given(method("POST"))
        .and(path("/ms/token"))
        .and(body_string_contains("grant_type=authorization_code"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_response(
            "eyJ0eXAi.graph-1",
            Some("0.AAAA-refresh-1"),
            3599,
            "Mail.Read User.Read",
        )))
        .mount(&mock)
        .await;
    // GET /me (https://learn.microsoft.com/en-us/graph/api/user-get?view=graph-rest-1.0).
    Mock::given(method("GET"))
        .and(path("/v1.0/me"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users(mail,userPrincipalName)/$entity",
            "mail": "sam@contoso.test", "userPrincipalName": "sam@contoso.test",
        })))
        .mount(&mock)
        .await;
    let state = param(&start(&app, &user, "outlook").await, "state").unwrap();
    let response = callback(&app, "outlook", &[("code", "ms-code"), ("state", &state)]).await;
    assert_eq!(response.status(), 303);
    assert!(response.headers()["location"].to_str().unwrap().ends_with("/accounts?connected=outlook"));
    let account = account_by_email(&app, &user, "sam@contoso.test").await;

    // message: delta, a round of two pages (https://learn.microsoft.com/en-us/graph/api/message-delta
    // and https://learn.microsoft.com/en-us/graph/delta-query-messages: value[], @odata.nextLink,
    // then @odata.deltaLink; removed rows carry @removed).
    let delta = "/v1.0/me/mailFolders('inbox')/messages/delta";
    let link = |query: &str| format!("{base}{delta}?{query}");
    Mock::given(method("GET"))
        .and(path(delta))
        .and(query_param("$select", "id"))
        .and(query_param_is_missing("$skiptoken"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(message)",
            "@odata.nextLink": link("$skiptoken=skip-1"),
            "value": [{"@odata.etag": "W/\"1\"", "id": "AAMkA1"}, {"@odata.etag": "W/\"2\"", "id": "AAMkA2"}],
        })))
        .mount(&mock)
        .await;
    Mock::given(method("GET"))
        .and(path(delta))
        .and(query_param("$skiptoken", "skip-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(message)",
            "@odata.deltaLink": link("$deltatoken=delta-1"),
            "value": [{"@odata.etag": "W/\"3\"", "id": "AAMkA3"}],
        })))
        .mount(&mock)
        .await;
    // Throttled once with Retry-After (https://learn.microsoft.com/graph/throttling).
    Mock::given(method("GET"))
        .and(path("/v1.0/me/messages/AAMkA3/$value"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&mock)
        .await;
    // The MIME of a message (https://learn.microsoft.com/graph/outlook-get-mime-message).
    for id in ["AAMkA1", "AAMkA2", "AAMkA3", "AAMkA4"] {
        Mock::given(method("GET"))
            .and(path(format!("/v1.0/me/messages/{id}/$value")))
            .and(header("authorization", "Bearer eyJ0eXAi.graph-1"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(mime(id), "text/plain"))
            .expect(1)
            .mount(&mock)
            .await;
    }

    let (_, outcome) = fetch(&app, account).await;
    assert_eq!(counts(&outcome), (3, 3, 0));
    assert_eq!(extraction_requests(&app).await, 3);
    let cursor = store::cursors::sync_token(&mut *app.conn().await, account, "graph:inbox").await.unwrap();
    assert_eq!(cursor, Some(link("$deltatoken=delta-1")));

    // The next round starts from the delta link; a removed message is ignored.
    Mock::given(method("GET"))
        .and(path(delta))
        .and(query_param("$deltatoken", "delta-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "@odata.deltaLink": link("$deltatoken=delta-2"),
            "value": [{"id": "AAMkA4"}, {"id": "AAMkA2", "@removed": {"reason": "deleted"}}],
        })))
        .mount(&mock)
        .await;
    let (_, outcome) = fetch(&app, account).await;
    assert_eq!(counts(&outcome), (1, 1, 0));
    assert_eq!(extraction_requests(&app).await, 4);

    // The delta link expired: 410 Gone, so the inbox is read again; nothing new is stored.
    Mock::given(method("GET"))
        .and(path(delta))
        .and(query_param("$deltatoken", "delta-2"))
        .respond_with(ResponseTemplate::new(410).set_body_json(json!({
            "error": {"code": "SyncStateNotFound", "message": "The sync state generation is not found."}
        })))
        .expect(1)
        .mount(&mock)
        .await;
    let (_, outcome) = fetch(&app, account).await;
    assert_eq!(counts(&outcome), (3, 0, 3));
    assert_eq!(extraction_requests(&app).await, 4);
    assert_eq!(app.all(&user, "/v1/emails").await.len(), 4);
    let cursor = store::cursors::sync_token(&mut *app.conn().await, account, "graph:inbox").await.unwrap();
    assert_eq!(cursor, Some(link("$deltatoken=delta-1")));
}

#[tokio::test]
async fn expiring_tokens_are_refreshed_and_invalid_grant_needs_reauthorisation() {
    let mock = MockServer::start().await;
    let app = oauth_app(&mock).await;
    let user = app.user().await;
    // Expires within the refresh margin: the fetch refreshes first.
    let tokens = token_response("ya29.old", Some("1//refresh-ok"), 30, GMAIL_SCOPE);
    let account = connect_gmail(&app, &mock, &user, "code-ok", tokens, "ok@gmail.test", "500").await;
    // A refresh answer keeps the refresh token out, as Google does
    // (https://developers.google.com/identity/protocols/OAuth2WebServer, "refreshing an access token").
    Mock::given(method("POST"))
        .and(path("/google/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=1%2F%2Frefresh-ok"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_response(
            "ya29.new",
            None,
            3599,
            GMAIL_SCOPE,
        )))
        .expect(1)
        .mount(&mock)
        .await;
    // Only the new token opens the mailbox.
    Mock::given(method("GET"))
        .and(path("/gmail/v1/users/me/profile"))
        .and(header("authorization", "Bearer ya29.new"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "emailAddress": "ok@gmail.test", "messagesTotal": 0, "threadsTotal": 0, "historyId": "501",
        })))
        .mount(&mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/gmail/v1/users/me/messages"))
        .and(header("authorization", "Bearer ya29.new"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"resultSizeEstimate": 0})))
        .mount(&mock)
        .await;
    let (_, outcome) = fetch(&app, account).await;
    assert_eq!(counts(&outcome), (0, 0, 0));
    let stored = store::accounts::find(&mut *app.conn().await, account).await.unwrap().unwrap();
    let saved = TokenSet::open(&stored, &app.secrets).unwrap();
    assert_eq!(saved.access_token.expose_secret(), "ya29.new");
    assert_eq!(
        saved.refresh_token.as_ref().unwrap().expose_secret(),
        "1//refresh-ok",
        "kept when not rotated"
    );
    assert!(!saved.needs_refresh(chrono::Utc::now()));

    // A revoked grant: invalid_grant (RFC 6749 §5.2; Google's text from
    // https://workos.com/blog/invalid-grant-oauth-errors-by-provider).
    let tokens = token_response("ya29.dead", Some("1//refresh-dead"), 30, GMAIL_SCOPE);
    let dead = connect_gmail(&app, &mock, &user, "code-dead", tokens, "dead@gmail.test", "700").await;
    Mock::given(method("POST"))
        .and(path("/google/token"))
        .and(body_string_contains("refresh_token=1%2F%2Frefresh-dead"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_grant", "error_description": "Token has been expired or revoked.",
        })))
        .expect(1)
        .mount(&mock)
        .await;
    let (job, outcome) = fetch(&app, dead).await;
    assert_eq!(outcome, RunOutcome::Failed("reauth_required"));
    let job = app.get_json(&user, &format!("/v1/jobs/{job}")).await;
    assert_eq!(job["status"], "FAILED");
    assert_eq!(job["error_payload"]["code"], "reauth_required");
    let view = app.get_json(&user, &format!("/v1/accounts/{dead}")).await;
    assert_eq!(view["status"], "REAUTH_REQUIRED");
    assert!(view["status_reason"].as_str().unwrap().contains("invalid_grant"));
    // No longer fetched: the API refuses, and a queued job fails without calling Google.
    assert_eq!(app.post(&user, &format!("/v1/accounts/{dead}/fetch"), json!({})).await.status(), 409);
    let (_, outcome) = fetch(&app, dead).await;
    assert_eq!(outcome, RunOutcome::Failed("account_inactive"));
}

#[tokio::test]
async fn deleting_revokes_at_google_erases_the_secret_and_stops_fetching() {
    let mock = MockServer::start().await;
    let app = oauth_app(&mock).await;
    let user = app.user().await;
    let tokens = token_response("ya29.access-1", Some("1//refresh-1"), 3599, GMAIL_SCOPE);
    let account = connect_gmail(&app, &mock, &user, "code-1", tokens, "sam@gmail.test", "1000").await;
    // Google's revocation endpoint answers 200 to a good token
    // (https://developers.google.com/identity/protocols/OAuth2WebServer, "token revocation").
    Mock::given(method("POST"))
        .and(path("/google/revoke"))
        .and(body_string_contains("token=1%2F%2Frefresh-1"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&mock)
        .await;

    let stranger = app.user().await;
    let other = app.client.delete(app.url(&format!("/v1/accounts/{account}"))).bearer_auth(&stranger.token);
    assert_eq!(other.send().await.unwrap().status(), 404);

    let delete = || app.client.delete(app.url(&format!("/v1/accounts/{account}"))).bearer_auth(&user.token);
    assert_eq!(delete().send().await.unwrap().status(), 204);
    let view = app.get_json(&user, &format!("/v1/accounts/{account}")).await;
    assert_eq!(view["status"], "REVOKED");
    let stored = store::accounts::find(&mut *app.conn().await, account).await.unwrap().unwrap();
    assert!(stored.secret.is_none() && stored.secret_key_id.is_none(), "the secret is erased");
    assert_eq!(app.post(&user, &format!("/v1/accounts/{account}/fetch"), json!({})).await.status(), 409);
    let (_, outcome) = fetch(&app, account).await;
    assert_eq!(outcome, RunOutcome::Failed("account_inactive"));
    // Again: nothing more to do.
    assert_eq!(delete().send().await.unwrap().status(), 204);

    // A failing revocation does not block the local deactivation.
    let tokens = token_response("ya29.other", Some("1//refresh-2"), 3599, GMAIL_SCOPE);
    let second = connect_gmail(&app, &mock, &user, "code-2", tokens, "two@gmail.test", "1000").await;
    Mock::given(method("POST"))
        .and(path("/google/revoke"))
        .and(body_string_contains("token=1%2F%2Frefresh-2"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_token"})))
        .expect(1)
        .mount(&mock)
        .await;
    let response = app
        .client
        .delete(app.url(&format!("/v1/accounts/{second}")))
        .bearer_auth(&user.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(app.get_json(&user, &format!("/v1/accounts/{second}")).await["status"], "REVOKED");

    // The upload account cannot be disconnected.
    let accounts = app.get_json(&user, "/v1/accounts").await;
    let upload = accounts["items"].as_array().unwrap().iter().find(|a| a["provider"] == "upload").unwrap();
    let response = app
        .client
        .delete(app.url(&format!("/v1/accounts/{}", upload["id"].as_str().unwrap())))
        .bearer_auth(&user.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 409);
}
