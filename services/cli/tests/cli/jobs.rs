//! The registry's commands written against API.md: `jobs cancel`, `jobs retry`, `reprocess`
//! and the admin's `--all-users`.

use crate::helpers::{ADMIN, ADMIN_PASSWORD, Stack};

async fn imported(stack: &Stack) -> String {
    let mbox = Stack::fixture("three-receipts.mbox");
    let run = stack.penny(&["import", "--no-wait", mbox.to_str().unwrap()]).await.ok();
    let job_id = run.stdout.trim().to_owned();
    stack.penny(&["jobs", "follow", &job_id]).await.ok();
    job_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finished_jobs_cannot_be_cancelled_or_retried_and_say_so() {
    let stack = Stack::start().await;
    stack.sign_up("sam").await;
    let job_id = imported(&stack).await;

    let run = stack.penny(&["jobs", "cancel", &job_id]).await.fails_with(1);
    assert!(
        run.stderr.starts_with("error: ") && run.stderr.trim_end().ends_with("(job_not_cancellable)"),
        "{}",
        run.stderr
    );
    let run = stack.penny(&["jobs", "retry", &job_id]).await.fails_with(1);
    assert!(
        run.stderr.starts_with("error: ") && run.stderr.trim_end().ends_with("(job_not_failed)"),
        "{}",
        run.stderr
    );
    let unknown = uuid::Uuid::now_v7().to_string();
    let run = stack.penny(&["jobs", "cancel", &unknown]).await.fails_with(1);
    assert!(run.stderr.trim_end().ends_with("(not_found)"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reprocess_all_runs_to_the_end_and_books_nothing_twice() {
    let stack = Stack::start().await;
    stack.sign_up("sam").await;
    imported(&stack).await;

    let run = stack.penny(&["reprocess", "--scope", "all", "--wait"]).await.ok();
    assert!(run.stdout.starts_with("reprocess job "), "{}", run.stdout);
    assert!(run.stdout.contains("EMAIL_REPROCESS SUCCESS"), "{}", run.stdout);
    let run = stack.penny(&["transactions", "list", "--json"]).await.ok();
    assert_eq!(run.json().as_array().unwrap().len(), 3, "reprocessing books nothing twice");

    let run = stack
        .penny(&["reprocess", "--scope", "range", "--from", "2026-02-16", "--to", "2026-02-18"])
        .await
        .ok();
    let job_id = run.stdout.trim().trim_start_matches("reprocess job ").to_owned();
    let run = stack.penny(&["jobs", "follow", &job_id]).await.ok();
    assert!(run.stdout.contains("EMAIL_REPROCESS SUCCESS"), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_an_admin_lists_every_users_jobs() {
    let stack = Stack::start().await;
    stack.sign_up("sam").await;
    let job_id = imported(&stack).await;
    let run = stack.penny(&["jobs", "list", "--all-users"]).await.fails_with(1);
    assert!(run.stderr.trim_end().ends_with("(admin_only)"), "{}", run.stderr);

    stack.penny_stdin(&["login", "--user", ADMIN, "--password-stdin"], ADMIN_PASSWORD).await.ok();
    let run = stack.penny(&["jobs", "list", "--all-users"]).await.ok();
    assert!(run.stdout.contains(&job_id), "{}", run.stdout);
    let run = stack.penny(&["jobs", "list"]).await.ok();
    assert!(!run.stdout.contains(&job_id), "the admin's own jobs only: {}", run.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_job_ends_its_follow_with_exit_1_and_a_finished_one_cannot_be_cancelled() {
    let stack = Stack::start().await;
    stack.sign_up("sam").await;
    imported(&stack).await;

    // A reprocess may finish before the cancel arrives; either way the CLI says what happened.
    let run = stack.penny(&["reprocess", "--scope", "all"]).await.ok();
    let job_id = run.stdout.trim().trim_start_matches("reprocess job ").to_owned();
    let cancel = stack.penny(&["jobs", "cancel", &job_id]).await;
    let follow = stack.penny(&["jobs", "follow", &job_id]).await;
    if cancel.code == 0 {
        assert_eq!(cancel.stdout.trim(), format!("cancellation of job {job_id} requested"));
        let follow = follow.fails_with(1);
        assert_eq!(follow.stderr.trim(), format!("error: job {job_id} (EMAIL_REPROCESS) ended CANCELLED"));
    } else {
        let cancel = cancel.fails_with(1);
        assert!(cancel.stderr.trim_end().ends_with("(job_not_cancellable)"), "{}", cancel.stderr);
        follow.ok();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn following_gives_up_after_the_wait_timeout() {
    let stack = Stack::start().await;
    stack.sign_up("sam").await;
    let mbox = Stack::fixture("three-receipts.mbox");
    // Zero seconds: the first look at a job that is not finished yet is the last.
    let run = stack.penny(&["import", "--wait-timeout", "0", mbox.to_str().unwrap()]).await;
    match run.code {
        0 => assert!(run.stdout.contains("import finished"), "{run:?}"),
        _ => {
            let run = run.fails_with(1);
            assert!(
                run.stderr.contains("gave up waiting for job") && run.stderr.contains("(--wait-timeout)"),
                "{}",
                run.stderr
            );
        }
    }
}
