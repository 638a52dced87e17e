//! The demo mailbox through the whole system: register and log in through the gateway, import
//! `demo/mailbox.mbox`, and find exactly `demo/expected.json`'s transactions in the ledger; then
//! reprocess everything and find the same transactions, none doubled.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use penny_e2e::api::count;
use penny_e2e::mbox::Expected;
use penny_e2e::system::workspace_root;
use penny_e2e::{Api, SystemConfig};
use serde_json::{Value, json};

use crate::{booked, difference, multiset, run};

const BUDGET: Duration = Duration::from_secs(90);

fn demo_expectations() -> anyhow::Result<(usize, usize, Vec<Expected>)> {
    let path = workspace_root().join("demo/expected.json");
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let expected: Value = serde_json::from_str(&text)?;
    let emails = expected["emails"].as_array().context("expected.json has no emails")?;
    let transaction_emails = emails.iter().filter(|e| e["is_transaction"] == json!(true)).count();
    let mut transactions = Vec::new();
    for email in emails {
        for t in email["transactions"].as_array().into_iter().flatten() {
            transactions.push(Expected::parse(
                t["amount"].as_str().context("amount")?,
                t["currency"].as_str().context("currency")?,
                t["type"].as_str().context("type")?,
            )?);
        }
    }
    Ok((emails.len(), transaction_emails, transactions))
}

/// `(external_id, amount, currency, type)` of every transaction, to compare two listings.
fn identities(transactions: &[Value]) -> BTreeSet<(String, String, String, String)> {
    transactions
        .iter()
        .map(|t| {
            let text = |k: &str| t[k].as_str().unwrap_or_default().to_owned();
            (text("external_id"), text("amount"), text("currency"), text("type"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_mailbox_books_exactly_its_transactions_and_reprocessing_doubles_none() {
    run("demo mailbox", SystemConfig::for_tests(), BUDGET, async |system| {
        let deadline = Instant::now() + BUDGET;
        let (emails, transaction_emails, expected) = demo_expectations()?;
        ensure!(
            emails == 40 && expected.len() == 31,
            "demo/expected.json changed: {emails} emails, {} transactions",
            expected.len()
        );
        let api = Api::new(system.gateway_url(""))?;
        let user = api.register_and_login("demo-robin").await?;
        let token = user.access_token.as_str();
        let me = api.get(token, "/v1/auth/me").await?;
        ensure!(me["id"] == json!(user.id) && me["role"] == json!("user"), "/v1/auth/me: {me}");

        let mbox = std::fs::read(workspace_root().join("demo/mailbox.mbox"))?;
        let fetch_id = api.import_mbox(token, mbox).await?;
        let fetch = api.wait_job(token, &fetch_id, deadline).await?;
        ensure!(
            fetch["job_type"] == json!("EMAIL_FETCH") && fetch["triggered_by"] == json!("API"),
            "fetch job: {fetch}"
        );
        ensure!(
            count(&fetch, "total") == 40 && count(&fetch, "stored") == 40 && count(&fetch, "duplicates") == 0,
            "fetch job counts: {}",
            fetch["output_payload"]
        );
        let child_id = api.wait_child_job(token, &fetch_id, deadline).await?;
        let extraction = api.wait_job(token, &child_id, deadline).await?;
        ensure!(extraction["job_type"] == json!("EMAIL_EXTRACTION"), "child job: {extraction}");
        let out = &extraction["output_payload"];
        ensure!(
            count(&extraction, "total") == 40
                && count(&extraction, "extracted") == transaction_emails as u64
                && count(&extraction, "skipped") == (40 - transaction_emails) as u64
                && count(&extraction, "failed") == 0
                && count(&extraction, "booked") == 40,
            "extraction job counts: {out}"
        );

        let first = api.transactions(token).await?;
        let want = multiset(expected.clone());
        let got = multiset(booked(&first)?);
        ensure!(
            first.len() == expected.len() && got == want,
            "the ledger holds {} transactions, expected {}; differences:\n{}",
            first.len(),
            expected.len(),
            difference(&want, &got)
        );
        ensure!(
            first.iter().all(|t| t["source"] == json!("upload") && t["email_id"].is_string()),
            "transactions not booked from the upload: {first:?}"
        );

        let reprocess = api.post(token, "/v1/reprocess", &json!({"scope": "all"})).await?;
        let reprocess_id = reprocess["job_id"].as_str().context("reprocess answered no job_id")?.to_owned();
        let job = api.wait_job(token, &reprocess_id, deadline).await?;
        ensure!(job["job_type"] == json!("EMAIL_REPROCESS"), "reprocess job: {job}");
        ensure!(count(&job, "booked") == 40, "reprocess job counts: {}", job["output_payload"]);

        let second = api.transactions(token).await?;
        ensure!(
            second.len() == first.len() && identities(&second) == identities(&first),
            "after reprocessing the ledger holds {} transactions (before: {}); differences:\n{}",
            second.len(),
            first.len(),
            difference(&want, &multiset(booked(&second)?))
        );
        let ids = |list: &[Value]| list.iter().map(|t| t["id"].to_string()).collect::<BTreeSet<_>>();
        ensure!(ids(&second) == ids(&first), "reprocessing replaced transactions instead of updating them");
        Ok(())
    })
    .await;
}
