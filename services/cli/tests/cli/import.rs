//! `penny import` followed to the end with plain progress lines, and the ledger views of what it
//! booked: `transactions list`, `summary`, `export`.

use crate::helpers::Stack;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_is_followed_to_the_end_and_its_transactions_are_listed_summed_and_exported() {
    let stack = Stack::start().await;
    stack.sign_up("sam").await;
    let mbox = Stack::fixture("three-receipts.mbox");
    let run = stack.penny(&["import", mbox.to_str().unwrap()]).await.ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(lines[0].starts_with("uploaded ") && lines[0].contains(" bytes): job "), "{}", run.stdout);
    // Not a terminal: plain lines, no bar, ending with both jobs' final counts.
    assert!(!run.stdout.contains('\u{1b}'), "no terminal escapes in a pipe: {}", run.stdout);
    let fetch = lines.iter().find(|l| l.contains("EMAIL_FETCH SUCCESS")).expect("fetch line");
    assert!(fetch.ends_with("total 4, stored 4, duplicates 0, malformed 0"), "{fetch}");
    let extraction = lines.iter().find(|l| l.contains("EMAIL_EXTRACTION SUCCESS")).expect("extraction line");
    assert!(extraction.ends_with("total 4, extracted 3, skipped 1, failed 0, booked 4"), "{}", run.stdout);
    assert_eq!(lines.last(), Some(&"import finished"));

    let run = stack.penny(&["transactions", "list"]).await.ok();
    for merchant in ["Juniper Books", "Morning Tide Cafe", "Northwind Hardware"] {
        assert!(run.stdout.to_lowercase().contains(&merchant.to_lowercase()), "{merchant}: {}", run.stdout);
    }
    for amount in ["23.75", "6.40", "112.09"] {
        assert!(run.stdout.contains(amount), "{amount}: {}", run.stdout);
    }
    assert!(run.stdout.trim_end().ends_with("3 transaction(s)"), "{}", run.stdout);

    let run = stack.penny(&["transactions", "list", "--min-amount", "20", "--json"]).await.ok();
    let mut amounts: Vec<String> =
        run.json().as_array().unwrap().iter().map(|t| t["amount"].as_str().unwrap().to_owned()).collect();
    amounts.sort();
    assert_eq!(amounts, ["112.09", "23.75"]);
    let run = stack.penny(&["transactions", "list", "--limit", "1", "--json"]).await.ok();
    assert_eq!(run.json().as_array().unwrap().len(), 1);

    let run = stack.penny(&["summary", "--group-by", "month", "--json"]).await.ok();
    let groups = run.json()["groups"].clone();
    assert_eq!(groups.as_array().unwrap().len(), 1, "{groups}");
    assert_eq!(groups[0]["key"], "2026-02");
    assert_eq!(
        (groups[0]["currency"].as_str(), groups[0]["expense"].as_str()),
        (Some("USD"), Some("142.24"))
    );
    let run = stack.penny(&["summary", "--group-by", "month"]).await.ok();
    assert!(run.stdout.contains("2026-02") && run.stdout.contains("142.24"), "{}", run.stdout);
    let run = stack.penny(&["summary"]).await.ok();
    assert!(run.stdout.contains("USD"), "{}", run.stdout);

    let run = stack.penny(&["export"]).await.ok();
    let csv: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(csv.len(), 4, "a header and three rows: {}", run.stdout);
    assert!(csv[0].starts_with("date,amount,currency,type,category,merchant,notes"), "{}", csv[0]);
    let file = stack.config_dir.path().join("export.csv");
    let run = stack.penny(&["export", "--output", file.to_str().unwrap(), "--type", "expense"]).await.ok();
    assert!(run.stdout.is_empty());
    assert_eq!(std::fs::read_to_string(&file).unwrap(), csv.join("\n") + "\n");

    // Importing the same file again stores nothing new, starts no extraction, and still ends 0.
    let run = stack.penny(&["import", mbox.to_str().unwrap()]).await.ok();
    assert!(run.stdout.contains("total 4, stored 0, duplicates 4"), "{}", run.stdout);
    assert!(!run.stdout.contains("EMAIL_EXTRACTION"), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_eml_without_waiting_prints_the_job_id_which_jobs_follow_and_show_understand() {
    let stack = Stack::start().await;
    stack.sign_up("lee").await;
    let eml = stack.config_dir.path().join("receipt.eml");
    std::fs::write(
        &eml,
        "From: Harbor Bank <alerts@harbor.example>\r\nTo: lee@example.org\r\nSubject: Card purchase\r\n\
         Date: Thu, 05 Mar 2026 10:00:00 +0000\r\nMessage-ID: <cli-eml-1@harbor.example>\r\n\r\n\
         Your credit card ending in 7310 was used.\r\n\r\nMerchant: RIVERSIDE PHARMACY\r\nAmount: $18.20\r\n\
         Date: 03/05/2026\r\n",
    )
    .unwrap();
    let run = stack.penny(&["import", "--no-wait", eml.to_str().unwrap()]).await.ok();
    let job_id = run.stdout.trim().to_owned();
    assert!(uuid::Uuid::parse_str(&job_id).is_ok(), "{}", run.stdout);

    let run = stack.penny(&["jobs", "follow", &job_id]).await.ok();
    assert!(run.stdout.contains(&format!("job {job_id} EMAIL_FETCH SUCCESS")), "{}", run.stdout);
    assert!(run.stdout.contains("EMAIL_EXTRACTION SUCCESS: total 1, extracted 1"), "{}", run.stdout);

    let run = stack.penny(&["jobs", "show", &job_id]).await.ok();
    assert!(run.stdout.contains("EMAIL_FETCH") && run.stdout.contains("SUCCESS"), "{}", run.stdout);
    let run = stack.penny(&["jobs", "show", &job_id, "--json"]).await.ok();
    assert_eq!(run.json()["triggered_by"], "API");

    let run = stack.penny(&["jobs", "list", "--type", "email_extraction", "--json"]).await.ok();
    let jobs = run.json();
    assert_eq!(jobs.as_array().unwrap().len(), 1);
    assert_eq!(jobs[0]["parent_job_id"].as_str(), Some(job_id.as_str()));
    let run = stack.penny(&["jobs", "list", "--parent", &job_id]).await.ok();
    assert!(run.stdout.contains("EMAIL_EXTRACTION"), "{}", run.stdout);

    let run = stack.penny(&["transactions", "list", "--source", "upload"]).await.ok();
    assert!(run.stdout.contains("18.20"), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_jobs_and_missing_files_are_clear_errors() {
    let stack = Stack::start().await;
    stack.sign_up("ola").await;
    let unknown = uuid::Uuid::now_v7().to_string();
    let run = stack.penny(&["jobs", "show", &unknown]).await.fails_with(1);
    assert!(
        run.stderr.starts_with("error: ") && run.stderr.trim_end().ends_with("(not_found)"),
        "{}",
        run.stderr
    );
    stack.penny(&["jobs", "follow", &unknown]).await.fails_with(1);

    let run = stack.penny(&["import", "/nonexistent/export.mbox"]).await.fails_with(1);
    assert!(run.stderr.starts_with("error: cannot read /nonexistent/export.mbox: "), "{}", run.stderr);

    let run = stack.penny(&["jobs", "list", "--status", "DONE"]).await.fails_with(2);
    assert!(run.stderr.contains("one of QUEUED, RUNNING, SUCCESS, FAILED, CANCELLED"), "{}", run.stderr);
    let run = stack.penny(&["transactions", "list", "--from", "yesterday-ish"]).await.fails_with(1);
    assert!(run.stderr.contains("from"), "the server names the bad field: {}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_terminal_the_import_draws_progress_bars() {
    let stack = Stack::start().await;
    stack.sign_up("tess").await;
    let mbox = Stack::fixture("three-receipts.mbox");
    let run = stack.penny_in_terminal(&["import", mbox.to_str().unwrap()]).await.ok();
    assert!(run.stdout.contains("import finished"), "{}", run.stdout);
    for text in ["fetch", "extraction", "4/4", "booked 4"] {
        assert!(run.stdout.contains(text), "{text}: {}", run.stdout);
    }
    assert!(
        !run.stdout.contains("job ") || run.stdout.contains("): job "),
        "bars, not plain lines: {}",
        run.stdout
    );
    let run = stack.penny_in_terminal(&["transactions", "list"]).await.ok();
    assert!(run.stdout.contains('│') && run.stdout.contains("112.09"), "a boxed table: {}", run.stdout);
}
