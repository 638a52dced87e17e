//! `penny accounts add-imap | list | fetch --wait` against a real Dovecot started for the test
//! (the test kit's, as mail-ingest's own IMAP tests use it).

use penny_testkit::dovecot::Dovecot;
use serde_json::Value;

use crate::helpers::Stack;

fn alert(n: u32, merchant: &str, amount: &str) -> String {
    format!(
        "Message-ID: <cli-imap-{n}@bank.example>\r\nFrom: Fjord Bank <alerts@fjord.example>\r\nTo: alice@example.org\r\n\
         Subject: Card purchase\r\nDate: Mon, 09 Mar 2026 1{n}:00:00 +0000\r\n\r\n\
         Your debit card ending in 5512 was used.\r\n\r\nMerchant: {merchant}\r\nAmount: ${amount}\r\nDate: 03/09/2026\r\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imap_mailbox_is_connected_listed_and_fetched_to_the_end() {
    let dovecot = Dovecot::start().await;
    dovecot.deliver(alert(1, "GLACIER OUTFITTERS", "54.00").as_bytes());
    dovecot.deliver(alert(2, "BIRCH STREET DELI", "9.15").as_bytes());
    let stack = Stack::start().await;
    stack.sign_up("alice").await;
    let port = dovecot.port.to_string();
    let add = [
        "accounts",
        "add-imap",
        "--host",
        "127.0.0.1",
        "--port",
        &port,
        "--tls",
        "none",
        "--username",
        &dovecot.user,
    ];

    let mut wrong = add.to_vec();
    wrong.push("--password-stdin");
    let run = stack.penny_stdin(&wrong, "not-it").await.fails_with(1);
    assert_eq!(run.stderr.trim(), "error: the mail server refused these credentials (login_failed)");

    let mut args = add.to_vec();
    args.extend(["--password-stdin", "--json"]);
    let run = stack.penny_stdin(&args, &dovecot.password).await.ok();
    let account: Value = run.json();
    assert!(!run.stdout.contains(&dovecot.password));
    let id = account["id"].as_str().unwrap().to_owned();

    let run = stack.penny(&["accounts", "list"]).await.ok();
    assert!(
        run.stdout.contains(&id) && run.stdout.contains("imap") && run.stdout.contains("ACTIVE"),
        "{}",
        run.stdout
    );

    let run = stack.penny(&["accounts", "fetch", &id, "--wait"]).await.ok();
    assert!(run.stdout.contains("EMAIL_FETCH SUCCESS: total 2, stored 2"), "{}", run.stdout);
    assert!(run.stdout.contains("EMAIL_EXTRACTION SUCCESS: total 2, extracted 2"), "{}", run.stdout);
    let run = stack.penny(&["transactions", "list", "--source", "imap", "--json"]).await.ok();
    assert_eq!(run.json().as_array().unwrap().len(), 2, "{}", run.stdout);

    // The upload account is filled by imports only.
    let run = stack.penny(&["accounts", "list", "--json"]).await.ok();
    let upload = run.json().as_array().unwrap().iter().find(|a| a["provider"] == "upload").cloned().unwrap();
    let run = stack.penny(&["accounts", "fetch", upload["id"].as_str().unwrap()]).await.fails_with(1);
    assert!(
        run.stderr.starts_with("error: upload accounts are filled by POST /v1/mailbox/import"),
        "{}",
        run.stderr
    );
}
