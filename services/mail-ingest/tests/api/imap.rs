//! IMAP accounts against a real Dovecot: connecting (a real login), first fetch, incremental
//! fetch, UIDVALIDITY change, wrong password; secrets at rest.

use penny_contract::{AccountId, JobId, TriggeredBy};
use penny_mail_ingest::fetch::imap::{FetchOptions, ImapConfig};
use penny_mail_ingest::fetch::runner::{self, RetryPolicy, RunOutcome};
use penny_mail_ingest::store;
use serde_json::{Value, json};

use crate::dovecot::{Dovecot, alert};
use crate::helpers::{TestApp, TestUser, spawn_app};

fn imap_body(server: &Dovecot, password: &str) -> Value {
    json!({
        "host": "127.0.0.1", "port": server.port, "tls": "none",
        "username": server.user, "password": password,
    })
}

async fn fetch(app: &TestApp, account: AccountId) -> (JobId, RunOutcome) {
    let mut conn = app.conn().await;
    let account = store::accounts::find(&mut conn, account).await.unwrap().unwrap();
    let job = runner::create_job(&mut conn, &account, TriggeredBy::Manual).await.unwrap();
    // Small batches, so a fetch spans several transactions.
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

async fn connect(app: &TestApp, user: &TestUser, server: &Dovecot) -> AccountId {
    let response = app.post(user, "/v1/accounts/imap", imap_body(server, &server.password)).await;
    assert_eq!(response.status(), 201);
    let account: Value = response.json().await.unwrap();
    assert_eq!(account["provider"], "imap");
    assert_eq!(account["status"], "ACTIVE");
    assert_eq!(account["imap"]["mailbox"], "INBOX");
    assert!(!account.to_string().contains(&server.password), "the password is never returned");
    account["id"].as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn imap_first_incremental_and_resync_fetches_store_each_message_once() {
    let server = Dovecot::start().await;
    for n in 1..=5 {
        server.deliver(&alert(n));
    }
    let app = spawn_app().await;
    let user = app.user().await;
    let account = connect(&app, &user, &server).await;

    // First fetch: all five, in batches of two, with one extraction job for them.
    let (job, outcome) = fetch(&app, account).await;
    let RunOutcome::Fetched(counts) = outcome else { panic!("{outcome:?}") };
    assert_eq!((counts.total, counts.stored, counts.duplicates), (5, 5, 0));
    let job = app.get_json(&user, &format!("/v1/jobs/{job}")).await;
    assert_eq!(job["status"], "SUCCESS");
    assert_eq!(job["triggered_by"], "MANUAL");
    assert_eq!(job["output_payload"]["stored"], 5);
    let children = app.all(&user, &format!("/v1/jobs?parent_job_id={}", job["id"].as_str().unwrap())).await;
    assert_eq!(children.len(), 1);
    assert_eq!(children[0]["output_payload"]["total"], 5);
    assert_eq!(app.outbox().await.len(), 5);
    let emails = app.all(&user, &format!("/v1/emails?account_id={account}")).await;
    assert_eq!(emails.len(), 5);
    assert!(emails.iter().all(|e| e["provider"] == "imap"));
    let accounts = app.get_json(&user, &format!("/v1/accounts/{account}")).await;
    assert!(accounts["last_fetched_at"].is_string());

    // Nothing new: nothing stored, no extraction job.
    let (_, outcome) = fetch(&app, account).await;
    assert!(matches!(outcome, RunOutcome::Fetched(c) if c.total == 0), "{outcome:?}");

    // Incremental: only what arrived since.
    server.deliver(&alert(6));
    server.deliver(&alert(7));
    let (_, outcome) = fetch(&app, account).await;
    let RunOutcome::Fetched(counts) = outcome else { panic!("{outcome:?}") };
    assert_eq!((counts.total, counts.stored, counts.duplicates), (2, 2, 0));
    assert_eq!(app.outbox().await.len(), 7);

    // UIDVALIDITY changes: the mailbox is read again, and nothing is stored twice.
    server.change_uid_validity(424_242);
    server.deliver(&alert(8));
    let (_, outcome) = fetch(&app, account).await;
    let RunOutcome::Fetched(counts) = outcome else { panic!("{outcome:?}") };
    assert_eq!((counts.total, counts.stored, counts.duplicates), (8, 1, 7));
    assert_eq!(app.all(&user, "/v1/emails").await.len(), 8);
    assert_eq!(app.outbox().await.len(), 8);
    let cursor = store::cursors::imap(&mut *app.conn().await, account, "INBOX").await.unwrap().unwrap();
    assert_eq!(cursor.uid_validity, 424_242);
}

#[tokio::test]
async fn wrong_credentials_are_refused_with_422_and_nothing_is_saved() {
    let server = Dovecot::start().await;
    let app = spawn_app().await;
    let user = app.user().await;
    let response = app.post(&user, "/v1/accounts/imap", imap_body(&server, "wrong-password")).await;
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "login_failed");
    assert!(!body.to_string().contains("wrong-password"));

    // An unknown mailbox and an unreachable server are 422 too; bad fields are 400.
    let mut missing = imap_body(&server, &server.password);
    missing["mailbox"] = json!("Nope");
    let response = app.post(&user, "/v1/accounts/imap", missing).await;
    assert_eq!(response.status(), 422);
    assert_eq!(response.json::<Value>().await.unwrap()["error"]["code"], "no_such_mailbox");
    let closed = json!({"host": "127.0.0.1", "port": 1, "tls": "none", "username": "a", "password": "b"});
    assert_eq!(app.post(&user, "/v1/accounts/imap", closed).await.status(), 422);
    let bad = json!({"host": " ", "port": 0, "tls": "none", "username": "", "password": "x"});
    let response = app.post(&user, "/v1/accounts/imap", bad).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(body["error"]["fields"].as_object().unwrap().contains_key("host"), "{body}");
    let accounts = app.get_json(&user, "/v1/accounts").await;
    assert_eq!(accounts["items"].as_array().unwrap().len(), 1, "only the upload account");

    // Connecting the same mailbox twice is a conflict.
    let ok = imap_body(&server, &server.password);
    assert_eq!(app.post(&user, "/v1/accounts/imap", ok.clone()).await.status(), 201);
    assert_eq!(app.post(&user, "/v1/accounts/imap", ok).await.status(), 409);
}

#[tokio::test]
async fn passwords_are_sealed_at_rest_and_tampering_is_detected() {
    let server = Dovecot::start().await;
    server.deliver(&alert(1));
    let app = spawn_app().await;
    let user = app.user().await;
    let account = connect(&app, &user, &server).await;

    // The raw column holds no plaintext, and names its key.
    let mut conn = app.conn().await;
    let stored = store::accounts::find(&mut conn, account).await.unwrap().unwrap();
    let secret = stored.secret.clone().unwrap();
    assert_eq!(stored.secret_key_id.as_deref(), Some("test-key"));
    let plain = server.password.as_bytes();
    assert!(!secret.windows(plain.len()).any(|w| w == plain));
    let settings = stored.settings.to_string();
    assert!(!settings.contains(&server.password), "{settings}");
    drop(conn);

    // Another key cannot open it; a tampered ciphertext fails with a clear error and the fetch
    // job says so.
    let (other, _) = penny_mail_ingest::crypto::SecretBox::generate("test-key");
    let error = ImapConfig::from_account(&stored, &other).unwrap_err();
    assert!(error.to_string().contains("tampered"), "{error}");
    let changed = app
        .count(&format!(
            "WITH changed AS (UPDATE connected_accounts SET secret = set_byte(secret, 19, get_byte(secret, 19) # 1) \
             WHERE id = '{account}' RETURNING 1) SELECT count(*) AS n FROM changed"
        ))
        .await;
    assert_eq!(changed, 1);
    let tampered = store::accounts::find(&mut *app.conn().await, account).await.unwrap().unwrap();
    let error = ImapConfig::from_account(&tampered, &app.secrets).unwrap_err();
    assert!(error.to_string().contains("tampered"), "{error}");
    let (job, outcome) = fetch(&app, account).await;
    assert_eq!(outcome, RunOutcome::Failed("secret_unreadable"));
    let job = app.get_json(&user, &format!("/v1/jobs/{job}")).await;
    assert_eq!(job["status"], "FAILED");
    assert_eq!(job["error_payload"]["code"], "secret_unreadable");
}

#[tokio::test]
async fn a_manual_fetch_is_queued_and_run_by_the_worker() {
    let server = Dovecot::start().await;
    for n in 1..=3 {
        server.deliver(&alert(n));
    }
    let app = spawn_app().await;
    let user = app.user().await;
    let account = connect(&app, &user, &server).await;

    let response = app.post(&user, &format!("/v1/accounts/{account}/fetch"), json!({})).await;
    assert_eq!(response.status(), 202);
    let job_id = response.json::<Value>().await.unwrap()["job_id"].as_str().unwrap().to_owned();
    let mut job = Value::Null;
    for _ in 0..150 {
        job = app.get_json(&user, &format!("/v1/jobs/{job_id}")).await;
        if job["status"] == "SUCCESS" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(job["status"], "SUCCESS", "{job}");
    assert_eq!(job["triggered_by"], "MANUAL");
    assert_eq!(job["output_payload"]["stored"], 3);
    assert_eq!(app.all(&user, "/v1/emails").await.len(), 3);

    // The upload account has nothing to fetch; another user's account is 404.
    let accounts = app.get_json(&user, "/v1/accounts").await;
    let upload = accounts["items"].as_array().unwrap().iter().find(|a| a["provider"] == "upload").unwrap();
    let response =
        app.post(&user, &format!("/v1/accounts/{}/fetch", upload["id"].as_str().unwrap()), json!({})).await;
    assert_eq!(response.status(), 409);
    let stranger = app.user().await;
    assert_eq!(app.post(&stranger, &format!("/v1/accounts/{account}/fetch"), json!({})).await.status(), 404);
}

#[tokio::test]
async fn rotating_keys_re_encrypts_every_secret_under_the_active_key() {
    use penny_mail_ingest::MailIngestSettings;
    use penny_mail_ingest::crypto::SecretBox;
    use secrecy::{ExposeSecret, SecretString};

    let server = Dovecot::start().await;
    let app = spawn_app().await;
    let user = app.user().await;
    let account = connect(&app, &user, &server).await;
    let before = store::accounts::find(&mut *app.conn().await, account).await.unwrap().unwrap();

    let (_, new_key) = SecretBox::generate("new-key");
    let both = SecretString::from(format!("{},{}", app.secret_spec.expose_secret(), new_key.expose_secret()));
    let service = MailIngestSettings {
        secret_keys: Some(both.clone()),
        secret_key_active: Some("new-key".into()),
        ..MailIngestSettings::default()
    };
    let settings = penny_testkit::TestSettings::new(&app.db, &app.auth, &app.vhost).settings(service);
    assert_eq!(penny_mail_ingest::rotate_secrets(settings.clone()).await.unwrap(), 1);
    let after = store::accounts::find(&mut *app.conn().await, account).await.unwrap().unwrap();
    assert_eq!(after.secret_key_id.as_deref(), Some("new-key"));
    assert_ne!(after.secret, before.secret);
    // Only the new key is needed now; running again changes nothing.
    let only_new = SecretBox::from_config(Some(&new_key), None).unwrap();
    let config = ImapConfig::from_account(&after, &only_new).unwrap();
    assert_eq!(config.password.expose_secret(), server.password);
    assert_eq!(penny_mail_ingest::rotate_secrets(settings).await.unwrap(), 0);
}

/// A fetch killed between two batches (its future dropped, as a killed worker's work is) and run
/// again leaves no gap and no duplicate: each batch and its cursor commit together.
#[tokio::test]
async fn a_fetch_killed_mid_way_and_run_again_stores_everything_once() {
    let server = Dovecot::start().await;
    for n in 1..=40 {
        server.deliver(&alert(n));
    }
    let app = spawn_app().await;
    let user = app.user().await;
    let account = connect(&app, &user, &server).await;

    let stored = || async { app.count("SELECT count(*) AS n FROM emails WHERE provider = 'imap'").await };
    tokio::select! {
        outcome = fetch(&app, account) => panic!("the fetch finished before it could be killed: {outcome:?}"),
        () = async {
            while stored().await < 6 {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        } => {}
    }
    let after_kill = stored().await;
    assert!((6..40).contains(&after_kill), "killed mid-way: {after_kill}");
    let cursor = store::cursors::imap(&mut *app.conn().await, account, "INBOX").await.unwrap().unwrap();
    assert_eq!(i64::from(cursor.last_uid), after_kill, "the cursor covers exactly what was committed");

    let (_, outcome) = fetch(&app, account).await;
    let RunOutcome::Fetched(counts) = outcome else { panic!("{outcome:?}") };
    assert_eq!(counts.stored as i64, 40 - after_kill, "the rest, and nothing again");
    assert_eq!(stored().await, 40);
    assert_eq!(
        app.count("SELECT count(DISTINCT provider_message_id) AS n FROM emails WHERE provider = 'imap'")
            .await,
        40
    );
    let requested = app.outbox().await.iter().filter(|(key, _)| key == "extraction.requested").count();
    assert_eq!(requested, 40, "one extraction.requested per email, none lost, none doubled");
}
