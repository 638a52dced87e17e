//! The registry's folding of outcome, booking and status events: out-of-order and repeated
//! events as a table, each case applied one event per batch and as one batch.

use chrono::{Duration, Utc};
use penny_contract::events::{EmailBooked, EmailExtracted, ExtractionStarted, JobStatusChanged};
use penny_contract::{EmailId, Envelope, ExtractionOutcome, JobId, JobStatus, RequestId};
use penny_mail_ingest::registry::{self, RegistryEvent};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, spawn_app};

/// One step of a case.
#[derive(Clone, Copy, Debug)]
enum Step {
    /// `email.extracted` for email `i` with this outcome, produced `t` seconds from now.
    Extracted(usize, ExtractionOutcome, i64),
    /// `email.booked` for email `i`.
    Booked(usize),
    /// `job.status` with this status.
    Status(JobStatus),
    /// `job.status` with `{"total": n}` as progress.
    Progress(i64),
    /// An outcome for a job that does not exist.
    Stray,
}

use ExtractionOutcome::{Failed as F, Skipped as K, Success as S};
use Step::{Booked as B, Extracted as X, Progress as P, Status as St, Stray};

struct Case {
    name: &'static str,
    steps: &'static [Step],
    /// `extracted, skipped, failed, booked` of the extraction job.
    counts: [i64; 4],
    status: JobStatus,
    /// Each email's `extraction_status` afterwards.
    emails: [&'static str; 3],
}

const CASES: &[Case] = &[
    Case {
        name: "in order",
        steps: &[X(0, S, 0), B(0), X(1, K, 0), B(1), X(2, F, 0), B(2)],
        counts: [1, 1, 1, 3],
        status: JobStatus::Success,
        emails: ["COMPLETED", "SKIPPED", "FAILED"],
    },
    Case {
        name: "every booking before its outcome",
        steps: &[B(2), B(0), B(1), X(2, F, 0), X(0, S, 0), X(1, K, 0)],
        counts: [1, 1, 1, 3],
        status: JobStatus::Success,
        emails: ["COMPLETED", "SKIPPED", "FAILED"],
    },
    Case {
        name: "every event twice",
        steps: &[X(0, S, 0), X(0, S, 0), B(0), B(0), X(1, S, 0), B(1), X(1, S, 0), X(2, K, 0), B(2), B(2)],
        counts: [2, 1, 0, 3],
        status: JobStatus::Success,
        emails: ["COMPLETED", "COMPLETED", "SKIPPED"],
    },
    Case {
        name: "outcomes without every booking",
        steps: &[X(0, S, 0), B(0), X(1, S, 0), X(2, S, 0), B(1)],
        counts: [3, 0, 0, 2],
        status: JobStatus::Running,
        emails: ["COMPLETED", "COMPLETED", "COMPLETED"],
    },
    Case {
        name: "bookings without every outcome",
        steps: &[B(0), B(1), B(2), X(1, K, 0)],
        counts: [0, 1, 0, 3],
        status: JobStatus::Running,
        emails: ["PENDING", "SKIPPED", "PENDING"],
    },
    Case {
        name: "a second outcome for an email counts once and an older one does not replace a newer",
        steps: &[X(0, S, 10), X(0, F, -10), B(0), X(1, S, 0), B(1), X(2, S, 0), B(2)],
        counts: [3, 0, 0, 3],
        status: JobStatus::Success,
        emails: ["COMPLETED", "COMPLETED", "COMPLETED"],
    },
    Case {
        name: "status and progress never go backwards",
        steps: &[
            X(0, S, 0),
            B(0),
            X(1, S, 0),
            B(1),
            X(2, S, 0),
            B(2),
            St(JobStatus::Running),
            St(JobStatus::Queued),
            P(1),
        ],
        counts: [3, 0, 0, 3],
        status: JobStatus::Success,
        emails: ["COMPLETED", "COMPLETED", "COMPLETED"],
    },
    Case {
        name: "a worker's FAILED ends the job and later outcomes still count",
        steps: &[X(0, S, 0), St(JobStatus::Failed), B(0), X(1, K, 0), St(JobStatus::Running)],
        counts: [1, 1, 0, 1],
        status: JobStatus::Failed,
        emails: ["COMPLETED", "SKIPPED", "PENDING"],
    },
    Case {
        name: "events about another job change nothing",
        steps: &[Stray, Stray, X(0, S, 0), B(0)],
        counts: [1, 0, 0, 1],
        status: JobStatus::Running,
        emails: ["COMPLETED", "PENDING", "PENDING"],
    },
];

/// Three new emails under one sealed extraction job: `(job, emails in mbox order)`.
async fn three_emails(app: &TestApp, user: &TestUser, tag: &str) -> (JobId, [EmailId; 3]) {
    let mut mbox = String::new();
    for i in 0..3 {
        mbox.push_str(&format!(
            "From sender@example.com Mon Nov  2 10:00:00 2026\n\
             From: Shop <shop@example.com>\nTo: me@example.com\nSubject: Receipt {i}\n\
             Date: Mon, 2 Nov 2026 10:0{i}:00 +0000\nMessage-ID: <{tag}-{i}@registry.test>\n\n\
             Body {i}\n\n"
        ));
    }
    let fetch = app.import_mbox(user, mbox.into_bytes()).await;
    assert_eq!(fetch["status"], "SUCCESS");
    let job: JobId = fetch["output_payload"]["extraction_job_id"].as_str().unwrap().parse().unwrap();
    let ids: Vec<EmailId> = {
        use diesel_async::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Uuid)]
            email_id: uuid::Uuid,
        }
        let rows: Vec<Row> = diesel::sql_query(
            "SELECT je.email_id FROM job_emails je JOIN emails e ON e.id = je.email_id \
             WHERE je.job_id = $1 ORDER BY e.received_at",
        )
        .bind::<diesel::sql_types::Uuid, _>(job.as_uuid())
        .load(&mut *app.conn().await)
        .await
        .unwrap();
        rows.into_iter().map(|r| EmailId::from(r.email_id)).collect()
    };
    assert_eq!(ids.len(), 3, "the job sent its three emails");
    (job, [ids[0], ids[1], ids[2]])
}

fn events(user: &TestUser, job: JobId, emails: [EmailId; 3], steps: &[Step]) -> Vec<RegistryEvent> {
    steps
        .iter()
        .map(|step| match *step {
            Step::Extracted(i, status, t) => {
                let mut envelope = Envelope::new(
                    EmailExtracted {
                        request_id: RequestId::new(),
                        job_id: job,
                        email_id: emails[i],
                        user_id: user.id,
                        provider: penny_contract::Provider::Upload,
                        status,
                        extraction_version: format!("rules-test-{t}"),
                        transactions: Vec::new(),
                        reason: None,
                    },
                    Some(job.as_uuid()),
                );
                envelope.occurred_at = Utc::now() + Duration::seconds(t);
                RegistryEvent::Extracted(envelope)
            }
            Step::Booked(i) => RegistryEvent::Booked(Envelope::new(
                EmailBooked {
                    job_id: job,
                    email_id: emails[i],
                    user_id: user.id,
                    booked: 0,
                    updated: 0,
                    removed: 0,
                },
                Some(job.as_uuid()),
            )),
            Step::Status(status) => RegistryEvent::Status(Envelope::new(
                JobStatusChanged {
                    job_id: job,
                    user_id: user.id,
                    status: Some(status),
                    progress: None,
                    error: None,
                },
                Some(job.as_uuid()),
            )),
            Step::Progress(total) => RegistryEvent::Status(Envelope::new(
                JobStatusChanged {
                    job_id: job,
                    user_id: user.id,
                    status: None,
                    progress: json!({ "total": total }).as_object().cloned(),
                    error: None,
                },
                Some(job.as_uuid()),
            )),
            Step::Stray => RegistryEvent::Extracted(Envelope::new(
                EmailExtracted {
                    request_id: RequestId::new(),
                    job_id: JobId::new(),
                    email_id: emails[1],
                    // Another user's event naming this user's email changes nothing either.
                    user_id: penny_contract::UserId::new(),
                    provider: penny_contract::Provider::Upload,
                    status: ExtractionOutcome::Failed,
                    extraction_version: "rules-stray".into(),
                    transactions: Vec::new(),
                    reason: None,
                },
                None,
            )),
        })
        .collect()
}

async fn check(app: &TestApp, user: &TestUser, case: &Case, how: &str, job: JobId, emails: [EmailId; 3]) {
    let found = app.get_json(user, &format!("/v1/jobs/{job}")).await;
    let output = &found["output_payload"];
    let counts: Vec<i64> = ["extracted", "skipped", "failed", "booked"]
        .iter()
        .map(|k| output[*k].as_i64().unwrap_or(0))
        .collect();
    assert_eq!(counts, case.counts, "{} ({how}): counts {output}", case.name);
    assert_eq!(output["total"], 3, "{} ({how}): the total never moves", case.name);
    assert_eq!(found["status"], case.status.to_string(), "{} ({how})", case.name);
    if case.status.is_terminal() {
        assert!(found["finished_at"].is_string(), "{} ({how}): finished_at", case.name);
    }
    for (i, email) in emails.iter().enumerate() {
        let seen = app.get_json(user, &format!("/v1/emails/{email}")).await;
        assert_eq!(seen["extraction_status"], case.emails[i], "{} ({how}): email {i}", case.name);
    }
}

#[tokio::test]
async fn out_of_order_and_repeated_events_fold_to_the_same_counts() {
    let app = spawn_app().await;
    let user = app.user().await;
    for (n, case) in CASES.iter().enumerate() {
        // Each event in its own batch (its own transaction), as a slow consumer sees them.
        let (job, emails) = three_emails(&app, &user, &format!("c{n}-single")).await;
        for event in events(&user, job, emails, case.steps) {
            let mut conn = app.conn().await;
            registry::fold(&mut conn, &[&event]).await.unwrap();
        }
        check(&app, &user, case, "one event per batch", job, emails).await;

        // The whole case in one batch.
        let (job, emails) = three_emails(&app, &user, &format!("c{n}-batch")).await;
        let batch = events(&user, job, emails, case.steps);
        let refs: Vec<&RegistryEvent> = batch.iter().collect();
        registry::fold(&mut *app.conn().await, &refs).await.unwrap();
        check(&app, &user, case, "one batch", job, emails).await;
    }
}

#[tokio::test]
async fn an_extraction_job_waits_for_its_fetch_to_end_before_it_can_succeed() {
    let app = spawn_app().await;
    let user = app.user().await;
    let (job, emails) = three_emails(&app, &user, "unsealed").await;
    // Take the seal off, as while the fetch is still running.
    app.count(&format!("WITH u AS (UPDATE jobs SET sealed_at = NULL WHERE id = '{job}' RETURNING 1) SELECT count(*) AS n FROM u"))
        .await;
    let all = events(&user, job, emails, &[X(0, S, 0), B(0), X(1, S, 0), B(1), X(2, S, 0), B(2)]);
    let refs: Vec<&RegistryEvent> = all.iter().collect();
    registry::fold(&mut *app.conn().await, &refs).await.unwrap();
    let found = app.get_json(&user, &format!("/v1/jobs/{job}")).await;
    assert_eq!(found["status"], "RUNNING", "every email is done but more may come: {found}");
    registry::seal(&mut *app.conn().await, &[job]).await.unwrap();
    let found = app.get_json(&user, &format!("/v1/jobs/{job}")).await;
    assert_eq!(found["status"], "SUCCESS", "{found}");
}

#[tokio::test]
async fn the_registry_consumer_folds_events_from_the_bus_and_records_the_newest_version() {
    let app = spawn_app().await;
    let user = app.user().await;
    let (job, emails) = three_emails(&app, &user, "bus").await;
    for event in events(&user, job, emails, &[B(0), X(0, S, 0), X(1, K, 0), B(1), X(2, F, 0), B(2), B(2)]) {
        match event {
            RegistryEvent::Extracted(e) => app.vhost.publish(&e).await,
            RegistryEvent::Booked(e) => app.vhost.publish(&e).await,
            RegistryEvent::Status(e) => app.vhost.publish(&e).await,
            RegistryEvent::Started(e) => app.vhost.publish(&e).await,
        }
    }
    let mut older = Envelope::new(ExtractionStarted { extraction_version: "rules-old".into() }, None);
    older.occurred_at = Utc::now() - Duration::hours(1);
    app.vhost
        .publish(&Envelope::new(ExtractionStarted { extraction_version: "rules-new".into() }, None))
        .await;
    app.vhost.publish(&older).await;

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let found: Value = loop {
        let found = app.get_json(&user, &format!("/v1/jobs/{job}")).await;
        if found["status"] == "SUCCESS" {
            break found;
        }
        assert!(std::time::Instant::now() < deadline, "the job never ended: {found}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let output = &found["output_payload"];
    assert_eq!((output["extracted"].as_i64(), output["skipped"].as_i64()), (Some(1), Some(1)));
    assert_eq!((output["failed"].as_i64(), output["booked"].as_i64()), (Some(1), Some(3)));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let newest = registry::newest_version(&mut *app.conn().await).await.unwrap();
        if newest.as_deref() == Some("rules-new")
            && app.count("SELECT count(*) AS n FROM extraction_versions").await == 2
        {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "newest version: {newest:?}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
