//! `POST /v1/mailbox/import`.

use std::path::PathBuf;

use serde_json::Value;

use crate::helpers::spawn_app;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)).unwrap()
}

fn corpus() -> Vec<u8> {
    std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/all.mbox")).unwrap()
}

fn counts(job: &Value) -> (i64, i64, i64, i64) {
    let out = &job["output_payload"];
    (
        out["total"].as_i64().unwrap(),
        out["stored"].as_i64().unwrap(),
        out["duplicates"].as_i64().unwrap(),
        out["malformed"].as_i64().unwrap(),
    )
}

#[tokio::test]
async fn the_varied_mbox_imports_once_and_twice_adds_nothing() {
    let app = spawn_app().await;
    let user = app.user().await;

    let job = app.import_mbox(&user, fixture("varied.mbox")).await;
    assert_eq!(job["job_type"], "EMAIL_FETCH");
    assert_eq!(job["triggered_by"], "API");
    assert_eq!(job["status"], "SUCCESS");
    assert!(job["started_at"].is_string() && job["finished_at"].is_string());
    // 52 distinct messages, one exact duplicate of the first, one malformed.
    assert_eq!(counts(&job), (54, 52, 1, 1), "{job}");
    let notes = job["output_payload"]["malformed_messages"].as_array().unwrap();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0]["index"], 53);

    // One child extraction job for the new emails, one extraction.requested per email.
    let children = app.all(&user, &format!("/v1/jobs?parent_job_id={}", job["id"].as_str().unwrap())).await;
    assert_eq!(children.len(), 1);
    let child = &children[0];
    assert_eq!(child["job_type"], "EMAIL_EXTRACTION");
    assert_eq!(child["status"], "QUEUED");
    assert_eq!(child["output_payload"]["total"], 52);
    let outbox = app.outbox().await;
    assert_eq!(outbox.len(), 52);
    let emails = app.all(&user, "/v1/emails").await;
    assert_eq!(emails.len(), 52);
    let mut email_ids: Vec<&str> = emails.iter().map(|e| e["id"].as_str().unwrap()).collect();
    let mut requested: Vec<&str> = outbox
        .iter()
        .map(|(key, body)| {
            assert_eq!(key, "extraction.requested");
            assert_eq!(body["correlation_id"], child["id"]);
            assert_eq!(body["payload"]["job_id"], child["id"]);
            assert_eq!(body["payload"]["user_id"], user.id.to_string());
            assert_eq!(body["payload"]["provider"], "upload");
            assert_eq!(body["payload"]["force"], false);
            body["payload"]["email_id"].as_str().unwrap()
        })
        .collect();
    email_ids.sort_unstable();
    requested.sort_unstable();
    assert_eq!(email_ids, requested);

    // Decoding: HTML-only mail, legacy charsets, encoded words, attachments ignored.
    assert_eq!(emails.iter().filter(|e| e["html_only"] == true).count(), 6);
    let by_subject = |needle: &str| -> Vec<&Value> {
        emails.iter().filter(|e| e["subject"].as_str().unwrap().contains(needle)).collect()
    };
    assert_eq!(by_subject("Compra aprobada: €").len(), 6);
    assert_eq!(by_subject("カードご利用のお知らせ").len(), 2);
    assert_eq!(by_subject("Покупка по карте").len(), 2);
    assert_eq!(by_subject("交易提醒").len(), 2);
    let body_of = |subject: &str| by_subject(subject)[0]["id"].as_str().unwrap().to_owned();
    let russian = app.get_json(&user, &format!("/v1/emails/{}", body_of("Покупка по карте"))).await;
    assert!(russian["body_text"].as_str().unwrap().contains("Ромашка"), "{russian}");
    let japanese = app.get_json(&user, &format!("/v1/emails/{}", body_of("カードご利用のお知らせ"))).await;
    assert!(japanese["body_text"].as_str().unwrap().contains("ローソン"), "{japanese}");
    let statement = app.get_json(&user, &format!("/v1/emails/{}", body_of("February statement"))).await;
    let text = statement["body_text"].as_str().unwrap();
    assert!(text.contains("Total spent") && !text.contains("PDF-1.4"), "{text}");
    let escaped = app.get_json(&user, &format!("/v1/emails/{}", body_of("No message id here"))).await;
    let text = escaped["body_text"].as_str().unwrap();
    assert!(text.starts_with("From the desk") && text.contains("\n>From an earlier quote"), "{text:?}");
    // The list never carries bodies.
    assert!(emails.iter().all(|e| e.get("body_text").is_none()));

    // The same file again: nothing new, no new extraction job, no new event.
    let again = app.import_mbox(&user, fixture("varied.mbox")).await;
    assert_eq!(counts(&again), (54, 0, 53, 1), "{again}");
    assert!(again["output_payload"].get("extraction_job_id").is_none());
    assert_eq!(app.all(&user, "/v1/emails").await.len(), 52);
    assert_eq!(app.outbox().await.len(), 52);
    assert_eq!(app.all(&user, "/v1/jobs?job_type=EMAIL_EXTRACTION").await.len(), 1);
}

#[tokio::test]
async fn the_shared_corpus_imports_every_message() {
    let app = spawn_app().await;
    let user = app.user().await;
    let job = app.import_mbox(&user, corpus()).await;
    assert_eq!(counts(&job), (60, 60, 0, 0), "{job}");
    assert_eq!(app.outbox().await.len(), 60);
    let again = app.import_mbox(&user, corpus()).await;
    assert_eq!(counts(&again), (60, 0, 60, 0));
    assert_eq!(app.outbox().await.len(), 60);

    // Every body fits the event cap, and every event says which email it is about.
    for (_, body) in app.outbox().await {
        assert!(body["payload"]["body_text"].as_str().unwrap().len() <= 64 * 1024);
    }
}

#[tokio::test]
async fn one_eml_imports_and_is_then_a_duplicate_of_the_same_message_in_an_mbox() {
    let app = spawn_app().await;
    let user = app.user().await;
    let eml = b"Message-ID: <one@x.example>\nFrom: Bank <a@bank.example>\nSubject: Paid $5.00\nDate: Tue, 06 Jan 2026 10:00:00 +0000\n\nYou paid $5.00.\n".to_vec();
    let response = app.import(&user, "message/rfc822", eml.clone()).await;
    assert_eq!(response.status(), 202);
    let job_id = response.json::<Value>().await.unwrap()["job_id"].as_str().unwrap().to_owned();
    let job = app.get_json(&user, &format!("/v1/jobs/{job_id}")).await;
    assert_eq!(counts(&job), (1, 1, 0, 0));
    let emails = app.all(&user, "/v1/emails").await;
    assert_eq!(emails[0]["subject"], "Paid $5.00");
    assert_eq!(emails[0]["received_at"], "2026-01-06T10:00:00Z");
    assert_eq!(emails[0]["extraction_status"], "PENDING");

    let mut mbox = b"From x Tue Jan  6 10:00:00 2026\n".to_vec();
    mbox.extend_from_slice(&eml);
    let job = app.import_mbox(&user, mbox).await;
    assert_eq!(counts(&job), (1, 0, 1, 0));
}

#[tokio::test]
async fn bad_uploads_are_refused_and_keep_nothing() {
    let app = spawn_app_limited(4096).await;
    let user = app.user().await;

    let response = app.import(&user, "text/plain", b"hello".to_vec()).await;
    assert_eq!(response.status(), 415);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unsupported_media_type");

    let response = app.import(&user, "message/rfc822", b"  \n".to_vec()).await;
    assert_eq!(response.status(), 400);

    // Over the limit, declared up front.
    let response = app.import(&user, "application/mbox", fixture("varied.mbox")).await;
    assert_eq!(response.status(), 413);
    assert_eq!(response.json::<Value>().await.unwrap()["error"]["code"], "payload_too_large");

    // Over the limit, streamed without a length: refused once the count passes the limit.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        fixture("varied.mbox").chunks(1000).map(|c| Ok(c.to_vec())).collect();
    let response = app
        .client
        .post(app.url("/v1/mailbox/import"))
        .bearer_auth(&user.token)
        .header("content-type", "application/mbox")
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await;
    // The server may answer before the client finished sending, or the client may see the
    // connection closed under it.
    if let Ok(response) = response {
        assert_eq!(response.status(), 413);
    }
    let failed = wait_for_failed(&app, &user, "payload_too_large").await;
    assert_eq!(app.count("SELECT count(*) AS n FROM emails").await, 0);
    assert!(app.outbox().await.is_empty());
    assert!(failed["error_payload"]["message"].as_str().unwrap().contains("nothing was stored"));
    assert!(app.all(&user, "/v1/jobs?status=SUCCESS").await.is_empty());
}

#[tokio::test]
async fn a_body_that_breaks_off_keeps_nothing() {
    let app = spawn_app().await;
    let user = app.user().await;
    let data = fixture("varied.mbox");
    let (head, _) = data.split_at(data.len() / 2);
    let mut chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        head.chunks(4096).map(|c| Ok(c.to_vec())).collect();
    chunks.push(Err(std::io::Error::other("the client went away")));
    let sent = app
        .client
        .post(app.url("/v1/mailbox/import"))
        .bearer_auth(&user.token)
        .header("content-type", "application/mbox")
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await;
    assert!(sent.is_err() || sent.unwrap().status() == 400);
    // The server notices the broken body on its own time: actix may drop the handler (the
    // open transaction then dies with its connection) or the handler sees the error, rolls
    // back and records a failed job. Either way no transaction stays open and nothing is kept.
    let mut open = i64::MAX;
    for _ in 0..100 {
        open = app
            .count(
                "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() \
                 AND state LIKE 'idle in transaction%'",
            )
            .await;
        if open == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(open, 0, "no transaction is left open");
    assert_eq!(app.count("SELECT count(*) AS n FROM emails").await, 0);
    assert!(app.outbox().await.is_empty());
    assert!(app.all(&user, "/v1/jobs?status=SUCCESS").await.is_empty());
    for job in app.all(&user, "/v1/jobs").await {
        assert_eq!(job["status"], "FAILED");
        assert_eq!(job["error_payload"]["code"], "incomplete_body");
    }
}

async fn spawn_app_limited(limit: u64) -> crate::helpers::TestApp {
    crate::helpers::spawn_app_with(|settings| settings.import_limit_bytes = limit).await
}

async fn wait_for_failed(
    app: &crate::helpers::TestApp,
    user: &crate::helpers::TestUser,
    code: &str,
) -> Value {
    for _ in 0..50 {
        let failed = app.all(user, "/v1/jobs?status=FAILED").await;
        if let Some(job) = failed.into_iter().find(|job| job["error_payload"]["code"] == code) {
            return job;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no failed job with code {code}");
}
