//! Scheduling, cancelling and retrying fetch jobs, and the per-account fetch interval
//! (DESIGN.md, "The main job", steps 3 and 6; API.md, the jobs endpoints).
//!
//! IMAP accounts that only need to exist (the scheduler queues jobs, it never connects) are
//! inserted through the store with a sealed password and a port nothing listens on; Gmail
//! accounts are inserted with sealed tokens and fetched from a `wiremock` stand-in.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use diesel_async::RunQueryDsl;
use penny_contract::{AccountId, AccountStatus, JobId, Provider, TlsMode, TriggeredBy};
use penny_mail_ingest::fetch::imap::{FetchOptions, secret_aad};
use penny_mail_ingest::fetch::runner::{self, RetryPolicy, RunOutcome};
use penny_mail_ingest::models::{ImapSettings, NewAccount};
use penny_mail_ingest::oauth::TokenSet;
use penny_mail_ingest::scheduler::{LOCK_KEY, ScheduleConfig, Scheduler, Tick};
use penny_mail_ingest::store;
use penny_platform::db::{self, DbConfig, DbPool};
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use wiremock::matchers::{body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::helpers::{TestApp, TestUser, spawn_app, spawn_app_with};

// ---------------------------------------------------------------------------------------------
// Accounts and requests

/// A loopback port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// An ACTIVE IMAP account of `user` on `127.0.0.1:port`, inserted as `POST /v1/accounts/imap`
/// would store it (sealed password), without the login.
async fn imap_account(app: &TestApp, user: &TestUser, name: &str, port: u16) -> AccountId {
    let id = AccountId::new();
    let sealed = app.secrets.seal(b"app-password", &secret_aad(id)).unwrap();
    let settings = serde_json::to_value(ImapSettings {
        host: "127.0.0.1".into(),
        port,
        tls: TlsMode::None,
        username: name.into(),
        mailbox: "INBOX".into(),
    })
    .unwrap();
    let email = format!("{name}@imap.test");
    let account = NewAccount {
        id,
        user_id: user.id,
        provider: Provider::Imap,
        email: &email,
        settings,
        secret_key_id: Some(&sealed.key_id),
        secret: Some(&sealed.bytes),
    };
    store::accounts::insert(&mut *app.conn().await, &account).await.unwrap();
    id
}

/// An ACTIVE Gmail account of `user` with tokens sealed as the OAuth callback stores them;
/// the access token `access` expires at `expires_at`, the refresh token is `refresh`.
async fn gmail_account(
    app: &TestApp,
    user: &TestUser,
    email: &str,
    access: &str,
    refresh: &str,
    expires_at: DateTime<Utc>,
) -> AccountId {
    let id = AccountId::new();
    let tokens = TokenSet {
        access_token: SecretString::from(access.to_owned()),
        refresh_token: Some(SecretString::from(refresh.to_owned())),
        expires_at: Some(expires_at),
    };
    let sealed = tokens.seal(&app.secrets, id).unwrap();
    let account = NewAccount {
        id,
        user_id: user.id,
        provider: Provider::Gmail,
        email,
        settings: json!({}),
        secret_key_id: Some(&sealed.key_id),
        secret: Some(&sealed.bytes),
    };
    store::accounts::insert(&mut *app.conn().await, &account).await.unwrap();
    id
}

/// An app whose Google endpoints are the stand-in.
async fn gmail_app(mock: &MockServer) -> TestApp {
    let base = mock.uri();
    spawn_app_with(|s| {
        s.gmail_client_id = Some("gmail-client".into());
        s.gmail_client_secret = Some("gmail-secret".into());
        s.gmail_auth_url = format!("{base}/google/auth");
        s.gmail_token_url = format!("{base}/google/token");
        s.gmail_revoke_url = format!("{base}/google/revoke");
        s.gmail_api_url = base.clone();
    })
    .await
}

/// Runs `sql` (an UPDATE or the like).
async fn exec(app: &TestApp, sql: &str) {
    diesel::sql_query(sql).execute(&mut *app.conn().await).await.unwrap();
}

async fn patch(app: &TestApp, user: &TestUser, path: &str, body: Value) -> reqwest::Response {
    app.client.patch(app.url(path)).bearer_auth(&user.token).json(&body).send().await.unwrap()
}

/// A QUEUED fetch job of `account` with no `ingest.fetch.requested` published (so the app's
/// worker never runs it).
async fn queued_job(app: &TestApp, account: AccountId) -> JobId {
    let mut conn = app.conn().await;
    let account = store::accounts::find(&mut conn, account).await.unwrap().unwrap();
    runner::create_job(&mut conn, &account, TriggeredBy::Manual).await.unwrap().id
}

async fn run(app: &TestApp, job: JobId, options: FetchOptions) -> RunOutcome {
    runner::run_job(&mut *app.conn().await, &app.secrets, &app.oauth, job, options).await.unwrap()
}

/// The error body of an answer with `status`: `{"error": {"code", "message"}}`; its code.
async fn error_code(response: reqwest::Response, status: u16) -> String {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.expect("a JSON error body");
    assert!(body["error"]["message"].is_string(), "{body}");
    body["error"]["code"].as_str().unwrap().to_owned()
}

/// Polls the job until `done` holds (at most `limit`).
async fn wait_for_job(
    app: &TestApp,
    user: &TestUser,
    job: &str,
    limit: Duration,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let start = Instant::now();
    loop {
        let view = app.get_json(user, &format!("/v1/jobs/{job}")).await;
        if done(&view) {
            return view;
        }
        assert!(start.elapsed() < limit, "the job never got there: {view}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn mime(id: &str) -> String {
    format!(
        "Message-ID: <{id}@bank.example>\r\nFrom: Bank <alerts@bank.example>\r\nTo: sam@x.example\r\n\
         Subject: Card purchase {id}\r\nDate: Tue, 06 Jan 2026 10:00:00 +0000\r\n\r\nYou spent $12.00 at Shop {id}.\r\n"
    )
}

/// users.messages.get with format=raw
/// (https://developers.google.com/gmail/api/reference/rest/v1/users.messages/get).
fn gmail_raw(id: &str) -> Value {
    json!({
        "id": id, "threadId": format!("t-{id}"), "labelIds": ["INBOX"], "historyId": "990",
        "internalDate": "1767693600000", "sizeEstimate": 300, "raw": URL_SAFE_NO_PAD.encode(mime(id)),
    })
}

/// Mounts a Gmail mailbox holding `ids` for bearer `access`: the profile, one page of
/// users.messages.list and each message (answered after `delay`).
async fn mount_gmail(mock: &MockServer, access: &str, ids: &[String], delay: Duration) {
    // users.getProfile (https://developers.google.com/gmail/api/v1/reference/users/getProfile).
    Mock::given(method("GET"))
        .and(path("/gmail/v1/users/me/profile"))
        .and(header("authorization", format!("Bearer {access}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "emailAddress": "sam@gmail.test", "messagesTotal": ids.len(), "threadsTotal": ids.len(),
            "historyId": "1000",
        })))
        .mount(mock)
        .await;
    // users.messages.list, newest first
    // (https://developers.google.com/gmail/api/reference/rest/v1/users.messages/list).
    let listed: Vec<Value> =
        ids.iter().rev().map(|id| json!({"id": id, "threadId": format!("t-{id}")})).collect();
    Mock::given(method("GET"))
        .and(path("/gmail/v1/users/me/messages"))
        .and(header("authorization", format!("Bearer {access}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "messages": listed, "resultSizeEstimate": ids.len(),
        })))
        .mount(mock)
        .await;
    for id in ids {
        Mock::given(method("GET"))
            .and(path(format!("/gmail/v1/users/me/messages/{id}")))
            .and(query_param("format", "raw"))
            .and(header("authorization", format!("Bearer {access}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(gmail_raw(id)).set_delay(delay))
            .mount(mock)
            .await;
    }
}

/// A token answer as Google sends it on a refresh: no refresh token
/// (https://developers.google.com/identity/protocols/OAuth2WebServer, "refreshing an access token").
fn refreshed(access: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "access_token": access, "expires_in": 3599, "token_type": "Bearer",
        "scope": "https://www.googleapis.com/auth/gmail.readonly",
    }))
}

/// Google's token endpoint failing (RFC 6749 §5.2 shape, a server error).
fn token_endpoint_down() -> ResponseTemplate {
    ResponseTemplate::new(500).set_body_json(json!({
        "error": "internal_failure", "error_description": "Backend Error",
    }))
}

/// When each request of a responder arrived.
#[derive(Clone, Default)]
struct Arrivals(Arc<Mutex<Vec<Instant>>>);

impl Arrivals {
    fn record(&self) -> usize {
        let mut times = self.0.lock().unwrap();
        times.push(Instant::now());
        times.len()
    }

    fn times(&self) -> Vec<Instant> {
        self.0.lock().unwrap().clone()
    }
}

// ---------------------------------------------------------------------------------------------
// 1. The scheduler

fn schedule(tick: Duration) -> ScheduleConfig {
    ScheduleConfig { interval: Duration::from_secs(3600), jitter: Duration::ZERO, tick, max_per_tick: 500 }
}

/// A pool of its own on the app's database, as another replica has.
fn replica_pool(app: &TestApp) -> DbPool {
    let config =
        DbConfig::new(SecretString::from(app.db.url().to_owned()), penny_mail_ingest::INFO.schema, 2)
            .unwrap();
    db::pool(&config).unwrap()
}

async fn cron_jobs(app: &TestApp, account: AccountId) -> i64 {
    app.count(&format!(
        "SELECT count(*) AS n FROM jobs WHERE account_id = '{account}' AND triggered_by = 'CRON' \
         AND job_type = 'EMAIL_FETCH'"
    ))
    .await
}

async fn next_fetch_at(app: &TestApp, account: AccountId) -> Option<DateTime<Utc>> {
    store::accounts::find(&mut *app.conn().await, account).await.unwrap().unwrap().next_fetch_at
}

#[tokio::test]
async fn two_scheduler_replicas_queue_exactly_one_cron_fetch_per_due_account() {
    let app = spawn_app().await;
    let user = app.user().await;
    let other = app.user().await;
    let port = closed_port();

    // Due: five accounts on the server's default interval, one with its own, another user's.
    let mut due = Vec::new();
    for n in 0..5 {
        due.push(imap_account(&app, &user, &format!("due{n}"), port).await);
    }
    let own = imap_account(&app, &user, "own", port).await;
    let response =
        patch(&app, &user, &format!("/v1/accounts/{own}"), json!({"fetch_interval_secs": 120})).await;
    assert_eq!(response.status(), 200);
    let theirs = imap_account(&app, &other, "theirs", port).await;
    // Never: interval 0, REAUTH_REQUIRED, REVOKED, a fetch already queued, not due yet, uploads.
    let never = imap_account(&app, &user, "never", port).await;
    let response =
        patch(&app, &user, &format!("/v1/accounts/{never}"), json!({"fetch_interval_secs": 0})).await;
    assert_eq!(response.status(), 200);
    let reauth = imap_account(&app, &user, "reauth", port).await;
    store::accounts::set_status(&mut *app.conn().await, reauth, AccountStatus::ReauthRequired, Some("login"))
        .await
        .unwrap();
    let revoked = imap_account(&app, &user, "revoked", port).await;
    store::accounts::revoke(&mut *app.conn().await, revoked, "disconnected").await.unwrap();
    let busy = imap_account(&app, &user, "busy", port).await;
    let busy_job = queued_job(&app, busy).await;
    let later = imap_account(&app, &user, "later", port).await;
    exec(
        &app,
        &format!(
            "UPDATE connected_accounts SET next_fetch_at = now() + interval '1 hour' WHERE id = '{later}'"
        ),
    )
    .await;
    let later_at = next_fetch_at(&app, later).await.unwrap();
    let uploads: Vec<AccountId> = {
        let mut conn = app.conn().await;
        let mut ids = Vec::new();
        for u in [&user, &other] {
            ids.push(store::accounts::upload_account(&mut conn, u.id).await.unwrap());
        }
        ids
    };

    let first = Scheduler::new(replica_pool(&app), schedule(Duration::from_millis(20)));
    let second = Scheduler::new(replica_pool(&app), schedule(Duration::from_millis(20)));

    // While another session holds the lock, neither replica does anything.
    let mut holder = app.conn().await;
    diesel::sql_query("SELECT pg_advisory_lock($1)")
        .bind::<diesel::sql_types::BigInt, _>(LOCK_KEY)
        .execute(&mut *holder)
        .await
        .unwrap();
    assert_eq!(first.tick().await.unwrap(), Tick::LockHeld);
    assert_eq!(second.tick().await.unwrap(), Tick::LockHeld);
    assert_eq!(app.count("SELECT count(*) AS n FROM jobs WHERE triggered_by = 'CRON'").await, 0);
    assert_eq!(next_fetch_at(&app, due[0]).await, None, "nothing moved");
    diesel::sql_query("SELECT pg_advisory_unlock($1)")
        .bind::<diesel::sql_types::BigInt, _>(LOCK_KEY)
        .execute(&mut *holder)
        .await
        .unwrap();
    drop(holder);

    // Both replicas tick over and over at the same time: each due account is queued once.
    let before = Utc::now();
    let deadline = Instant::now() + Duration::from_millis(1200);
    let replica = |scheduler: Scheduler| {
        tokio::spawn(async move {
            let mut ticks = Vec::new();
            while Instant::now() < deadline {
                ticks.push(scheduler.tick().await.unwrap());
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            ticks
        })
    };
    let (a, b) = (replica(first.clone()), replica(second.clone()));
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    let after = Utc::now();
    let scheduled: usize =
        a.iter().chain(&b).map(|tick| if let Tick::Scheduled(n) = tick { *n } else { 0 }).sum();
    assert!(a.len() > 10 && b.len() > 10, "both replicas ticked: {} and {}", a.len(), b.len());
    assert_eq!(scheduled, 7, "ticks: {a:?} {b:?}");
    for account in due.iter().chain([&own, &theirs]) {
        assert_eq!(cron_jobs(&app, *account).await, 1, "account {account}");
    }
    for account in [never, reauth, revoked, busy, later].iter().chain(&uploads) {
        assert_eq!(cron_jobs(&app, *account).await, 0, "account {account}");
    }
    assert_eq!(app.count("SELECT count(*) AS n FROM jobs WHERE triggered_by = 'CRON'").await, 7);
    // Each queued job was announced to the fetch worker: its `ingest.fetch.requested` is still in
    // the outbox, or the relay sent it (and deleted the row) and a worker has taken the job.
    let announced = "SELECT count(*) AS n FROM jobs j WHERE j.triggered_by = 'CRON' AND (j.status <> 'QUEUED' \
         OR EXISTS (SELECT 1 FROM outbox o WHERE o.routing_key = 'ingest.fetch.requested' \
                    AND o.body::jsonb->'payload'->>'job_id' = j.id::text))";
    let until = Instant::now() + Duration::from_secs(10);
    while app.count(announced).await < 7 && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(app.count(announced).await, 7);

    // The next run is one interval ahead: the server's default, or the account's own.
    for account in due.iter().chain([&theirs]) {
        let next = next_fetch_at(&app, *account).await.unwrap();
        let hour = chrono::Duration::seconds(3600);
        assert!(next >= before + hour && next <= after + hour, "{next} not an hour after {before}..{after}");
    }
    let next = next_fetch_at(&app, own).await.unwrap();
    let own_interval = chrono::Duration::seconds(120);
    assert!(next >= before + own_interval && next <= after + own_interval, "{next}");
    assert_eq!(next_fetch_at(&app, later).await, Some(later_at), "not due: untouched");
    assert_eq!(next_fetch_at(&app, never).await, None);
    let busy_view = app.get_json(&user, &format!("/v1/jobs/{busy_job}")).await;
    assert_eq!(busy_view["status"], "QUEUED", "the queued fetch is left as it is");

    // The replicas' run loops: an account connected now is queued once by one of them.
    let fresh = imap_account(&app, &other, "fresh", port).await;
    let stops = [CancellationToken::new(), CancellationToken::new()];
    let loops: Vec<_> = [first, second]
        .into_iter()
        .zip(stops.iter().cloned())
        .map(|(scheduler, stop)| tokio::spawn(scheduler.run(stop)))
        .collect();
    let start = Instant::now();
    while cron_jobs(&app, fresh).await == 0 {
        assert!(start.elapsed() < Duration::from_secs(5), "the run loops never scheduled it");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    for stop in &stops {
        stop.cancel();
    }
    for handle in loops {
        tokio::time::timeout(Duration::from_secs(5), handle).await.expect("the loop stops").unwrap();
    }
    assert_eq!(cron_jobs(&app, fresh).await, 1);
    assert_eq!(app.count("SELECT count(*) AS n FROM jobs WHERE triggered_by = 'CRON'").await, 8);
}

// ---------------------------------------------------------------------------------------------
// 2. and 3. Cancelling

#[tokio::test]
async fn cancelling_a_queued_fetch_ends_it_at_once_and_it_never_runs() {
    let app = spawn_app().await;
    let user = app.user().await;
    let stranger = app.user().await;
    let account = imap_account(&app, &user, "queued", closed_port()).await;
    let job = queued_job(&app, account).await;

    // Another user's job does not exist for them.
    let response = app.post(&stranger, &format!("/v1/jobs/{job}/cancel"), json!({})).await;
    assert_eq!(error_code(response, 404).await, "not_found");
    let response = app.post(&user, &format!("/v1/jobs/{}/cancel", JobId::new()), json!({})).await;
    assert_eq!(response.status(), 404);

    let response = app.post(&user, &format!("/v1/jobs/{job}/cancel"), json!({})).await;
    assert_eq!(response.status(), 202);
    let cancelled: Value = response.json().await.unwrap();
    assert_eq!(cancelled["id"], json!(job));
    assert_eq!(cancelled["status"], "CANCELLED");
    assert!(cancelled["finished_at"].is_string(), "{cancelled}");
    assert!(cancelled["started_at"].is_null(), "{cancelled}");

    // A worker that gets the job now leaves it alone (it would fail against the closed port).
    let outcome = run(&app, job, FetchOptions { batch_size: 2, retry: RetryPolicy::none() }).await;
    assert_eq!(outcome, RunOutcome::Skipped);
    let view = app.get_json(&user, &format!("/v1/jobs/{job}")).await;
    assert_eq!(view["status"], "CANCELLED");
    assert!(view["started_at"].is_null(), "{view}");
    assert!(view["error_payload"].is_null(), "{view}");
    assert_eq!(view["finished_at"], cancelled["finished_at"]);

    // A finished job cannot be cancelled.
    let response = app.post(&user, &format!("/v1/jobs/{job}/cancel"), json!({})).await;
    assert_eq!(error_code(response, 409).await, "job_not_cancellable");
    assert_eq!(app.get_json(&user, &format!("/v1/jobs/{job}")).await["status"], "CANCELLED");
}

/// The cancel lands between a worker reading the QUEUED job and moving it to RUNNING: the
/// worker must not fetch a CANCELLED job.
#[tokio::test]
async fn a_cancel_that_lands_while_a_worker_starts_the_job_wins() {
    use diesel_async::AsyncConnection as _;

    let app = spawn_app().await;
    let user = app.user().await;
    let account = imap_account(&app, &user, "race", closed_port()).await;
    let job = queued_job(&app, account).await;

    let mut canceller = app.conn().await;
    let worker = canceller
        .transaction(async |conn| {
            // Hold the job's row as the cancel route does, so the worker's move to RUNNING waits.
            store::jobs::lock(conn, Some(user.id), job).await?.unwrap();
            let worker = {
                let pool = app.pool.clone();
                let (secrets, oauth) = (app.secrets.clone(), app.oauth.clone());
                tokio::spawn(async move {
                    let mut conn = pool.get().await.unwrap();
                    let options = FetchOptions { batch_size: 2, retry: RetryPolicy::none() };
                    runner::run_job(&mut conn, &secrets, &oauth, job, options).await.unwrap()
                })
            };
            let start = Instant::now();
            while app
                .count(
                    "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() \
                     AND wait_event_type = 'Lock'",
                )
                .await
                == 0
            {
                assert!(start.elapsed() < Duration::from_secs(5), "the worker never waited for the row");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            penny_mail_ingest::registry::finish_fetch(conn, job, penny_contract::JobStatus::Cancelled, None)
                .await?;
            Ok::<_, penny_mail_ingest::error::IngestError>(worker)
        })
        .await
        .unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(10), worker).await.unwrap().unwrap();
    assert_eq!(outcome, RunOutcome::Skipped, "the cancelled job was not fetched");
    let view = app.get_json(&user, &format!("/v1/jobs/{job}")).await;
    assert_eq!(view["status"], "CANCELLED");
    assert!(view["started_at"].is_null(), "{view}");
    assert!(view["error_payload"].is_null(), "{view}");
}

#[tokio::test]
async fn cancelling_a_running_fetch_stops_it_at_the_next_batch_and_keeps_what_was_stored() {
    let mock = MockServer::start().await;
    let app = gmail_app(&mock).await;
    let user = app.user().await;
    let stranger = app.user().await;
    let expires = Utc::now() + chrono::Duration::hours(1);
    let account = gmail_account(&app, &user, "sam@gmail.test", "ya29.live", "1//r", expires).await;
    let ids: Vec<String> = (1..=20).map(|n| format!("m{n:02}")).collect();
    mount_gmail(&mock, "ya29.live", &ids, Duration::from_millis(100)).await;

    let job = queued_job(&app, account).await;
    let worker = {
        let pool = app.pool.clone();
        let (secrets, oauth) = (app.secrets.clone(), app.oauth.clone());
        tokio::spawn(async move {
            let mut conn = pool.get().await.unwrap();
            let options = FetchOptions { batch_size: 2, retry: RetryPolicy::none() };
            runner::run_job(&mut conn, &secrets, &oauth, job, options).await.unwrap()
        })
    };
    let running = wait_for_job(&app, &user, &job.to_string(), Duration::from_secs(10), |job| {
        job["output_payload"]["stored"].as_i64().unwrap_or(0) >= 2
    })
    .await;
    assert_eq!(running["status"], "RUNNING");

    let response = app.post(&stranger, &format!("/v1/jobs/{job}/cancel"), json!({})).await;
    assert_eq!(response.status(), 404);
    let response = app.post(&user, &format!("/v1/jobs/{job}/cancel"), json!({})).await;
    assert_eq!(response.status(), 202);
    let asked: Value = response.json().await.unwrap();
    assert_eq!(asked["status"], "RUNNING", "a running fetch stops at its next batch boundary");

    let outcome = tokio::time::timeout(Duration::from_secs(10), worker).await.unwrap().unwrap();
    assert_eq!(outcome, RunOutcome::Cancelled);
    let view = app.get_json(&user, &format!("/v1/jobs/{job}")).await;
    assert_eq!(view["status"], "CANCELLED");
    assert!(view["started_at"].is_string() && view["finished_at"].is_string(), "{view}");
    assert!(view["error_payload"].is_null(), "{view}");

    // What was committed stays, and the counts say so; the rest was never stored.
    let stored = view["output_payload"]["stored"].as_i64().unwrap();
    let emails = app.count(&format!("SELECT count(*) AS n FROM emails WHERE account_id = '{account}'")).await;
    assert_eq!(emails, stored);
    assert!((2..20).contains(&stored), "stopped mid-way: {stored}");
    assert_eq!(stored % 2, 0, "whole batches only");
    let requested = app.outbox().await.iter().filter(|(key, _)| key == "extraction.requested").count();
    assert_eq!(requested as i64, stored, "one extraction.requested per stored email, none for the rest");
    // It stopped at the next boundary: at most the batch in flight was downloaded beyond those.
    let downloads = mock
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path().starts_with("/gmail/v1/users/me/messages/"))
        .count() as i64;
    assert!(downloads <= stored + 2, "{downloads} downloads for {stored} stored");
    let cursor = store::cursors::sync_token(&mut *app.conn().await, account, "gmail:history").await.unwrap();
    assert_eq!(cursor, None, "the sync token is only stored with the last batch");

    // Its extraction job holds exactly those emails and is sealed, so it can end.
    let children = app.all(&user, &format!("/v1/jobs?parent_job_id={job}")).await;
    assert_eq!(children.len(), 1, "{children:?}");
    assert_eq!(children[0]["job_type"], "EMAIL_EXTRACTION");
    assert_eq!(children[0]["output_payload"]["total"].as_i64(), Some(stored));
    let child = children[0]["id"].as_str().unwrap();
    let sealed = app
        .count(&format!("SELECT count(*) AS n FROM jobs WHERE id = '{child}' AND sealed_at IS NOT NULL"))
        .await;
    assert_eq!(sealed, 1);

    // Cancelling it again is refused; a new fetch stores the rest, each email once.
    let response = app.post(&user, &format!("/v1/jobs/{job}/cancel"), json!({})).await;
    assert_eq!(error_code(response, 409).await, "job_not_cancellable");
    mock.reset().await;
    mount_gmail(&mock, "ya29.live", &ids, Duration::ZERO).await;
    let again = queued_job(&app, account).await;
    let outcome = run(&app, again, FetchOptions { batch_size: 5, retry: RetryPolicy::none() }).await;
    let RunOutcome::Fetched(counts) = outcome else { panic!("{outcome:?}") };
    assert_eq!((counts.total, counts.stored, counts.duplicates), (20, 20 - stored as u64, stored as u64));
    assert_eq!(
        app.count(&format!("SELECT count(*) AS n FROM emails WHERE account_id = '{account}'")).await,
        20
    );
}

// ---------------------------------------------------------------------------------------------
// 4. Automatic retries inside a fetch job

#[tokio::test]
async fn a_fetch_retries_with_growing_back_off_and_fails_only_when_retries_run_out() {
    let mock = MockServer::start().await;
    let app = gmail_app(&mock).await;
    let user = app.user().await;
    let expired = Utc::now() - chrono::Duration::minutes(5);
    let account = gmail_account(&app, &user, "sam@gmail.test", "ya29.expired", "1//refresh-a", expired).await;
    // Each attempt must refresh the expired token first: the token endpoint fails twice, then
    // answers.
    let arrivals = Arrivals::default();
    let seen = arrivals.clone();
    Mock::given(method("POST"))
        .and(path("/google/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=1%2F%2Frefresh-a"))
        .respond_with(
            move |_: &Request| {
                if seen.record() <= 2 { token_endpoint_down() } else { refreshed("ya29.fresh") }
            },
        )
        .mount(&mock)
        .await;
    let ids: Vec<String> = (1..=3).map(|n| format!("a{n}")).collect();
    mount_gmail(&mock, "ya29.fresh", &ids, Duration::ZERO).await;

    let job = queued_job(&app, account).await;
    let retry = RetryPolicy { limit: 3, base: Duration::from_millis(100), max: Duration::from_secs(5) };
    let outcome = run(&app, job, FetchOptions { batch_size: 2, retry }).await;
    let RunOutcome::Fetched(counts) = outcome else { panic!("{outcome:?}") };
    assert_eq!((counts.total, counts.stored, counts.duplicates), (3, 3, 0));
    let view = app.get_json(&user, &format!("/v1/jobs/{job}")).await;
    assert_eq!(view["status"], "SUCCESS");
    assert_eq!(view["retry_count"], 2, "{view}");
    assert_eq!(view["output_payload"]["stored"], 3);
    assert_eq!(
        app.count(&format!("SELECT count(*) AS n FROM emails WHERE account_id = '{account}'")).await,
        3
    );
    // Three attempts, and the waits between them doubled: 100 ms, then 200 ms.
    let times = arrivals.times();
    assert_eq!(times.len(), 3);
    let (first, second) = (times[1] - times[0], times[2] - times[1]);
    assert!(first >= Duration::from_millis(100), "first wait {first:?}");
    assert!(second >= Duration::from_millis(200), "second wait {second:?}");
    assert!(second > first, "the back-off grows: {first:?} then {second:?}");
    let saved = store::accounts::find(&mut *app.conn().await, account).await.unwrap().unwrap();
    assert_eq!(saved.status, AccountStatus::Active);

    // With one retry allowed, a token endpoint that keeps failing fails the job after two tries.
    let dead = gmail_account(&app, &user, "down@gmail.test", "ya29.expired-b", "1//refresh-b", expired).await;
    Mock::given(method("POST"))
        .and(path("/google/token"))
        .and(body_string_contains("refresh_token=1%2F%2Frefresh-b"))
        .respond_with(token_endpoint_down())
        .expect(2)
        .named("the failing token endpoint, tried twice")
        .mount(&mock)
        .await;
    let job = queued_job(&app, dead).await;
    let retry = RetryPolicy { limit: 1, base: Duration::from_millis(20), max: Duration::from_secs(1) };
    let outcome = run(&app, job, FetchOptions { batch_size: 2, retry }).await;
    assert_eq!(outcome, RunOutcome::Failed("provider_error"));
    let view = app.get_json(&user, &format!("/v1/jobs/{job}")).await;
    assert_eq!(view["status"], "FAILED");
    assert_eq!(view["retry_count"], 1, "{view}");
    assert_eq!(view["error_payload"]["code"], "provider_error");
    assert!(view["finished_at"].is_string());
    // A failure that may pass does not ask the user to connect the mailbox again.
    assert_eq!(app.get_json(&user, &format!("/v1/accounts/{dead}")).await["status"], "ACTIVE");
    mock.verify().await;
}

#[tokio::test]
async fn an_account_disconnected_during_the_back_off_is_not_fetched_again() {
    let mock = MockServer::start().await;
    let app = gmail_app(&mock).await;
    let user = app.user().await;
    let expired = Utc::now() - chrono::Duration::minutes(5);
    let account =
        gmail_account(&app, &user, "gone@gmail.test", "ya29.expired", "1//refresh-g", expired).await;
    Mock::given(method("POST"))
        .and(path("/google/token"))
        .and(body_string_contains("refresh_token=1%2F%2Frefresh-g"))
        .respond_with(token_endpoint_down())
        .expect(1)
        .named("the token endpoint, tried once before the account was disconnected")
        .mount(&mock)
        .await;
    Mock::given(method("POST"))
        .and(path("/google/revoke"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&mock)
        .await;

    let job = queued_job(&app, account).await;
    let worker = {
        let pool = app.pool.clone();
        let (secrets, oauth) = (app.secrets.clone(), app.oauth.clone());
        tokio::spawn(async move {
            let mut conn = pool.get().await.unwrap();
            let retry =
                RetryPolicy { limit: 3, base: Duration::from_millis(800), max: Duration::from_secs(5) };
            runner::run_job(&mut conn, &secrets, &oauth, job, FetchOptions { batch_size: 2, retry })
                .await
                .unwrap()
        })
    };
    wait_for_job(&app, &user, &job.to_string(), Duration::from_secs(5), |job| job["retry_count"] == 1).await;
    let response = app
        .client
        .delete(app.url(&format!("/v1/accounts/{account}")))
        .bearer_auth(&user.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);

    let outcome = tokio::time::timeout(Duration::from_secs(10), worker).await.unwrap().unwrap();
    assert_eq!(outcome, RunOutcome::Failed("account_inactive"));
    let view = app.get_json(&user, &format!("/v1/jobs/{job}")).await;
    assert_eq!(view["status"], "FAILED");
    assert_eq!(view["error_payload"]["code"], "account_inactive");
    assert_eq!(view["retry_count"], 1);
    assert_eq!(app.get_json(&user, &format!("/v1/accounts/{account}")).await["status"], "REVOKED");
    mock.verify().await;
}

// ---------------------------------------------------------------------------------------------
// 5. The retry endpoint

/// An mbox of `count` small messages.
fn mbox(count: usize) -> Vec<u8> {
    let mut out = String::new();
    for n in 0..count {
        out.push_str(&format!(
            "From bank@x.example Tue Jan  6 10:00:00 2026\nMessage-ID: <big-{n}@x.example>\nFrom: bank@x.example\n\
             Subject: Purchase {n}\nDate: Tue, 06 Jan 2026 10:00:00 +0000\n\nYou spent $1.00 at Shop {n}.\n\n"
        ));
    }
    out.into_bytes()
}

#[tokio::test]
async fn retrying_a_failed_fetch_queues_a_new_job_and_anything_else_is_refused() {
    let app = spawn_app_with(|s| s.import_limit_bytes = 4096).await;
    let user = app.user().await;
    let stranger = app.user().await;
    let account = imap_account(&app, &user, "down", closed_port()).await;
    let failed = queued_job(&app, account).await;
    let outcome = run(&app, failed, FetchOptions { batch_size: 2, retry: RetryPolicy::none() }).await;
    assert_eq!(outcome, RunOutcome::Failed("mail_server_error"));
    assert_eq!(app.get_json(&user, &format!("/v1/jobs/{failed}")).await["retry_count"], 0);

    let response = app.post(&stranger, &format!("/v1/jobs/{failed}/retry"), json!({})).await;
    assert_eq!(error_code(response, 404).await, "not_found");

    let response = app.post(&user, &format!("/v1/jobs/{failed}/retry"), json!({})).await;
    assert_eq!(response.status(), 202);
    let created: Value = response.json().await.unwrap();
    let retried = created["job_id"].as_str().unwrap().to_owned();
    assert_ne!(retried, failed.to_string());
    let view = app.get_json(&user, &format!("/v1/jobs/{retried}")).await;
    assert_eq!(view["job_type"], "EMAIL_FETCH");
    assert_eq!(view["triggered_by"], "RETRY");
    assert_eq!(view["input_payload"]["retry_of"], json!(failed));
    assert_eq!(view["input_payload"]["account_id"], json!(account));
    // The failed job itself is left as it was.
    let old = app.get_json(&user, &format!("/v1/jobs/{failed}")).await;
    assert_eq!(old["status"], "FAILED");
    assert_eq!(old["error_payload"]["code"], "mail_server_error");
    // The new job was announced: the app's worker runs it (the server is still down), with the
    // app's automatic retries.
    let ran =
        wait_for_job(&app, &user, &retried, Duration::from_secs(15), |job| job["status"] == "FAILED").await;
    assert_eq!(ran["error_payload"]["code"], "mail_server_error");
    assert_eq!(ran["retry_count"], 3, "{ran}");

    // A QUEUED job: 409.
    let queued = queued_job(&app, account).await;
    let response = app.post(&user, &format!("/v1/jobs/{queued}/retry"), json!({})).await;
    assert_eq!(error_code(response, 409).await, "job_not_failed");
    assert_eq!(app.get_json(&user, &format!("/v1/jobs/{queued}")).await["status"], "QUEUED");

    // A SUCCESS job: 409.
    let response = app.import(&user, "message/rfc822", mime("ok").into_bytes()).await;
    assert_eq!(response.status(), 202);
    let imported = response.json::<Value>().await.unwrap()["job_id"].as_str().unwrap().to_owned();
    assert_eq!(app.get_json(&user, &format!("/v1/jobs/{imported}")).await["status"], "SUCCESS");
    let response = app.post(&user, &format!("/v1/jobs/{imported}/retry"), json!({})).await;
    assert_eq!(error_code(response, 409).await, "job_not_failed");

    // A failed upload (streamed past the limit): the file must be sent again; 409.
    let body = mbox(100);
    assert!(body.len() > 4096);
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = body.chunks(1000).map(|c| Ok(c.to_vec())).collect();
    let response = app
        .client
        .post(app.url("/v1/mailbox/import"))
        .bearer_auth(&user.token)
        .header("content-type", "application/mbox")
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await;
    if let Ok(response) = response {
        assert_eq!(response.status(), 413);
    }
    let start = Instant::now();
    let upload_failed = loop {
        let failed = app.all(&user, "/v1/jobs?status=FAILED").await;
        if let Some(job) = failed.into_iter().find(|job| job["error_payload"]["code"] == "payload_too_large")
        {
            break job;
        }
        assert!(start.elapsed() < Duration::from_secs(5), "no failed upload job");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let upload_id = upload_failed["id"].as_str().unwrap();
    let jobs_before = app.count("SELECT count(*) AS n FROM jobs").await;
    let response = app.post(&user, &format!("/v1/jobs/{upload_id}/retry"), json!({})).await;
    assert_eq!(error_code(response, 409).await, "cannot_retry");
    assert_eq!(app.count("SELECT count(*) AS n FROM jobs").await, jobs_before, "no job was created");

    // A failed fetch of an account that must be connected again: 409, as a manual fetch is.
    store::accounts::set_status(
        &mut *app.conn().await,
        account,
        AccountStatus::ReauthRequired,
        Some("login"),
    )
    .await
    .unwrap();
    let response = app.post(&user, &format!("/v1/jobs/{failed}/retry"), json!({})).await;
    assert_eq!(error_code(response, 409).await, "account_inactive");
    assert_eq!(app.count("SELECT count(*) AS n FROM jobs").await, jobs_before, "no job was created");
}

// ---------------------------------------------------------------------------------------------
// 6. PATCH /v1/accounts/{id}

#[tokio::test]
async fn the_fetch_interval_is_validated_saved_and_shown() {
    let app = spawn_app().await;
    let user = app.user().await;
    let stranger = app.user().await;
    let account = imap_account(&app, &user, "interval", closed_port()).await;
    let url = format!("/v1/accounts/{account}");
    assert!(app.get_json(&user, &url).await["fetch_interval_secs"].is_null(), "the server's default");

    let response = patch(&app, &user, &url, json!({"fetch_interval_secs": 3600})).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["fetch_interval_secs"], 3600);
    assert_eq!(body["id"], json!(account));
    assert!(!body.to_string().contains("app-password"));
    let view = app.get_json(&user, &url).await;
    assert_eq!(view["fetch_interval_secs"], 3600);
    assert!(view["next_fetch_at"].is_null(), "never fetched: due at the next tick");

    // Once fetched, the next run is one interval after the last fetch.
    exec(
        &app,
        &format!(
            "UPDATE connected_accounts SET last_fetched_at = '2026-01-06T10:00:00Z' WHERE id = '{account}'"
        ),
    )
    .await;
    let response = patch(&app, &user, &url, json!({"fetch_interval_secs": 7200})).await;
    assert_eq!(response.status(), 200);
    let view = app.get_json(&user, &url).await;
    assert_eq!(view["fetch_interval_secs"], 7200);
    let next: DateTime<Utc> = view["next_fetch_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(next, "2026-01-06T12:00:00Z".parse::<DateTime<Utc>>().unwrap());

    // The bounds, 0 (never) and null (the default) are accepted; {} changes nothing.
    for ok in [json!(60), json!(2_592_000), json!(0), Value::Null] {
        let response = patch(&app, &user, &url, json!({"fetch_interval_secs": ok})).await;
        assert_eq!(response.status(), 200, "{ok}");
        assert_eq!(app.get_json(&user, &url).await["fetch_interval_secs"], ok);
    }
    let response = patch(&app, &user, &url, json!({"fetch_interval_secs": 900})).await;
    assert_eq!(response.status(), 200);
    assert_eq!(patch(&app, &user, &url, json!({})).await.status(), 200);
    assert_eq!(app.get_json(&user, &url).await["fetch_interval_secs"], 900);

    // Out of range: 400 naming the field.
    for bad in [5, 59, -1, 2_592_001] {
        let response = patch(&app, &user, &url, json!({"fetch_interval_secs": bad})).await;
        assert_eq!(response.status(), 400, "{bad}");
        let body: Value = response.json().await.unwrap();
        assert!(body["error"]["code"].is_string(), "{body}");
        assert!(body["error"]["fields"]["fetch_interval_secs"].is_string(), "{bad}: {body}");
    }
    // Not an integer, an unknown field, a bare string, the field as an array (serde would read
    // it positionally), no body: 400 with a JSON error.
    for bad in [
        json!([3600]),
        json!({"fetch_interval_secs": "3600"}),
        json!({"fetch_interval_secs": 90.5}),
        json!({"fetch_interval_secs": 3_000_000_000_u64}),
        json!({"fetch_interval": 3600}),
        json!({"fetch_interval_secs": 3600, "status": "REVOKED"}),
        json!("3600"),
    ] {
        let response = patch(&app, &user, &url, bad.clone()).await;
        assert_eq!(response.status(), 400, "{bad}");
        let body: Value = response.json().await.unwrap_or_else(|e| panic!("{bad}: not JSON: {e}"));
        assert!(body["error"]["code"].is_string(), "{bad}: {body}");
    }
    let empty =
        app.client.patch(app.url(&url)).bearer_auth(&user.token).header("content-type", "application/json");
    let response = empty.send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.json::<Value>().await.unwrap()["error"]["code"].is_string());
    let view = app.get_json(&user, &url).await;
    assert_eq!(view["fetch_interval_secs"], 900, "nothing invalid was saved");
    assert_eq!(view["status"], "ACTIVE");

    // Another user's account, an unknown one and no token.
    let response = patch(&app, &stranger, &url, json!({"fetch_interval_secs": 3600})).await;
    assert_eq!(error_code(response, 404).await, "not_found");
    let response = patch(
        &app,
        &user,
        &format!("/v1/accounts/{}", AccountId::new()),
        json!({"fetch_interval_secs": 3600}),
    )
    .await;
    assert_eq!(response.status(), 404);
    let anonymous =
        app.client.patch(app.url(&url)).json(&json!({"fetch_interval_secs": 3600})).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(app.get_json(&user, &url).await["fetch_interval_secs"], 900);
}
