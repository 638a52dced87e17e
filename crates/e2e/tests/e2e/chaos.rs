//! Faults while the pipeline works: 2,000 generated alerts are imported, and while they are being
//! extracted the extraction process is SIGKILLed and restarted, then the ledger process, and the
//! broker connection of every service is cut for 1.5 s. At the end every email has exactly one
//! outcome and one booking, and the ledger holds exactly one transaction per alert.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::ensure;
use penny_e2e::api::count;
use penny_e2e::{Api, Service, SystemConfig, mbox};

use crate::{booked, difference, multiset, run, until};

const EMAILS: usize = 2_000;
const BUDGET: Duration = Duration::from_secs(120);

/// Outcomes and bookings of the extraction job so far.
async fn progress(api: &Api, token: &str, job: &str) -> Option<(u64, u64)> {
    let job = api.job(token, job).await.ok()?;
    let outcomes = count(&job, "extracted") + count(&job, "skipped") + count(&job, "failed");
    Some((outcomes, count(&job, "booked")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_services_and_a_cut_broker_lose_and_double_nothing() {
    let config = SystemConfig { broker_proxy: true, ..SystemConfig::for_tests() };
    run("chaos", config, BUDGET, async |system| {
        let deadline = Instant::now() + BUDGET;
        let api = Api::new(system.gateway_url(""))?;
        let user = api.register_and_login("chaos-user").await?;
        let token = user.access_token.as_str();
        let run_id = uuid::Uuid::now_v7().simple().to_string();
        let (mbox, expected) = mbox::mailbox(&run_id, 0, EMAILS);

        let started = Instant::now();
        let fetch_id = api.import_mbox(token, mbox).await?;
        let fetch = api.wait_job(token, &fetch_id, deadline).await?;
        let job = api.wait_child_job(token, &fetch_id, deadline).await?;
        let mut log = vec![format!("{:>6.2?} imported", started.elapsed())];

        // Extraction under way → SIGKILL it, start it again.
        let (outcomes, _) = until("the first outcomes", deadline, || async {
            progress(&api, token, &job).await.filter(|(outcomes, _)| *outcomes > 0)
        })
        .await?;
        ensure!(outcomes < EMAILS as u64, "the pipeline finished before the first fault: raise EMAILS");
        system.kill(Service::Extraction)?;
        log.push(format!("{:>6.2?} killed extraction at {outcomes} outcomes", started.elapsed()));
        system.restart(Service::Extraction).await?;
        log.push(format!("{:>6.2?} extraction ready again", started.elapsed()));

        // Booking under way → SIGKILL the ledger, start it again.
        let (outcomes, booked_so_far) = until("bookings", deadline, || async {
            progress(&api, token, &job).await.filter(|(_, b)| *b > 0)
        })
        .await?;
        ensure!(
            booked_so_far < EMAILS as u64,
            "every email was booked before the ledger was killed: raise EMAILS"
        );
        system.kill(Service::Ledger)?;
        log.push(format!(
            "{:>6.2?} killed ledger at {outcomes} outcomes, {booked_so_far} booked",
            started.elapsed()
        ));
        system.restart(Service::Ledger).await?;
        log.push(format!("{:>6.2?} ledger ready again", started.elapsed()));

        // Every service loses the broker for 1.5 s.
        let (outcomes, booked_so_far) = progress(&api, token, &job).await.unwrap_or_default();
        ensure!(
            booked_so_far < EMAILS as u64,
            "every email was booked before the broker was cut: raise EMAILS"
        );
        system.cut_broker()?;
        log.push(format!(
            "{:>6.2?} cut the broker at {outcomes} outcomes, {booked_so_far} booked",
            started.elapsed()
        ));
        tokio::time::sleep(Duration::from_millis(1500)).await;
        system.restore_broker()?;
        log.push(format!("{:>6.2?} restored the broker", started.elapsed()));

        let extraction = api.wait_job(token, &job, deadline).await?;
        log.push(format!("{:>6.2?} extraction job SUCCESS", started.elapsed()));
        eprintln!("chaos timeline:\n  {}", log.join("\n  "));

        // The fetch job: every message of the file stored once.
        let total = EMAILS as u64;
        ensure!(
            count(&fetch, "total") == total && count(&fetch, "stored") + count(&fetch, "duplicates") == total,
            "fetch job counts: {}",
            fetch["output_payload"]
        );
        ensure!(
            count(&fetch, "stored") == total,
            "fetch job stored fewer than {total}: {}",
            fetch["output_payload"]
        );
        // The extraction job: one outcome and one booking per email.
        let out = &extraction["output_payload"];
        let outcomes =
            count(&extraction, "extracted") + count(&extraction, "skipped") + count(&extraction, "failed");
        ensure!(
            count(&extraction, "total") == total
                && outcomes == total
                && count(&extraction, "booked") == total,
            "extraction job counts: {out}"
        );
        ensure!(count(&extraction, "extracted") == total, "every alert is a transaction, yet: {out}");
        // Every email has an outcome.
        let pending = api.all(token, "/v1/emails?extraction_status=PENDING").await?;
        ensure!(pending.is_empty(), "{} emails are still PENDING", pending.len());
        let emails = api.all(token, "/v1/emails").await?;
        ensure!(emails.len() == EMAILS, "{} emails stored, expected {EMAILS}", emails.len());
        // Exactly one transaction per alert.
        let transactions = api.transactions(token).await?;
        let external: BTreeSet<&str> =
            transactions.iter().filter_map(|t| t["external_id"].as_str()).collect();
        let by_email: BTreeSet<&str> = transactions.iter().filter_map(|t| t["email_id"].as_str()).collect();
        let want = multiset(expected.clone());
        let got = multiset(booked(&transactions)?);
        ensure!(
            transactions.len() == EMAILS
                && external.len() == EMAILS
                && by_email.len() == EMAILS
                && got == want,
            "the ledger holds {} transactions ({} distinct external ids, {} emails) for {EMAILS} alerts; \
             differences:\n{}",
            transactions.len(),
            external.len(),
            by_email.len(),
            difference(&want, &got)
        );
        let email_ids: BTreeSet<&str> = emails.iter().filter_map(|e| e["id"].as_str()).collect();
        ensure!(by_email == email_ids, "transactions point at emails that are not the imported ones");
        // Nothing was parked on the way.
        for queue in ["extraction.requests", "ledger.booking", "ingest.registry"] {
            let parked = system.vhost().queue_depth(&format!("{queue}.parked")).await;
            ensure!(parked == 0, "{parked} message(s) parked in {queue}.parked");
        }
        Ok(())
    })
    .await;
}

/// With extraction split into an `api` and a `work` process, killing the workers leaves the API
/// answering through the gateway, the work waits in the queue, and a new worker finishes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_workers_leave_the_api_up_and_their_work_queued() {
    let config = SystemConfig { split: vec![Service::Extraction], ..SystemConfig::for_tests() };
    run("split workers", config, Duration::from_secs(60), async |system| {
        let deadline = Instant::now() + Duration::from_secs(60);
        let api = Api::new(system.gateway_url(""))?;
        let user = api.register_and_login("split-user").await?;
        let token = user.access_token.as_str();
        system.kill(Service::Extraction)?;

        let (mbox, expected) = mbox::mailbox("split", 0, 200);
        let fetch = api.import_mbox(token, mbox).await?;
        let job = api.wait_child_job(token, &fetch, deadline).await?;
        // The API process still answers (a dry run goes to extraction's API, not its workers).
        let alert = mbox::alert("split", 0);
        let body = alert.mbox_entry.split_once("\n\n").map(|(_, body)| body).unwrap_or_default();
        let dry = api
            .post(token, "/v1/extract", &serde_json::json!({"subject": "Card payment of EUR 1.00", "from": "alerts@harborbank.example", "body_text": body}))
            .await?;
        ensure!(dry["is_transaction"] == serde_json::json!(true), "dry run: {dry}");
        // Nothing is extracted while the workers are down.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let (outcomes, _) = progress(&api, token, &job).await.unwrap_or_default();
        ensure!(outcomes == 0, "{outcomes} outcomes without a worker");

        system.restart(Service::Extraction).await?;
        let done = api.wait_job(token, &job, deadline).await?;
        ensure!(count(&done, "extracted") == 200 && count(&done, "booked") == 200, "{}", done["output_payload"]);
        let transactions = api.transactions(token).await?;
        let want = multiset(expected);
        let got = multiset(booked(&transactions)?);
        ensure!(got == want, "differences:\n{}", difference(&want, &got));
        Ok(())
    })
    .await;
}
