//! Following a job to its end: polls `GET /v1/jobs/{id}` and shows its counts, then follows the
//! jobs it started (`GET /v1/jobs?parent_job_id=`: a fetch's EMAIL_EXTRACTION child) the same
//! way. On a terminal each job gets an indicatif bar; in a pipe or file a plain line is printed
//! whenever a job's status or counts change, so logs stay readable.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use penny_contract::{JobStatus, JobType};

use crate::client::ApiClient;
use crate::error::CliError;
use crate::models::Job;

/// How often a running job is polled.
const POLL_INTERVAL: Duration = Duration::from_millis(300);
/// How long a successful fetch that stored emails may take to show its extraction job.
const CHILD_WAIT: Duration = Duration::from_secs(30);
/// Consecutive failed polls (gateway unreachable) tolerated before giving up.
const POLL_RETRIES: u32 = 10;

/// Where progress goes.
enum Display {
    /// A bar per job, on the terminal.
    Bars(MultiProgress),
    /// One line per change, for pipes and files; remembers the last line of the current job.
    Lines { last: String },
}

/// Follows jobs and reports their progress.
pub struct Follower<'a> {
    client: &'a mut ApiClient,
    display: Display,
    /// Give up at this instant (`--wait-timeout`), if set.
    deadline: Option<Instant>,
}

impl<'a> Follower<'a> {
    /// A follower drawing bars when standard output is a terminal, plain lines otherwise, that
    /// gives up after `timeout` if one is set.
    pub fn new(client: &'a mut ApiClient, timeout: Option<Duration>) -> Self {
        let display = if crate::output::stdout_is_terminal() {
            Display::Bars(MultiProgress::with_draw_target(ProgressDrawTarget::stdout()))
        } else {
            Display::Lines { last: String::new() }
        };
        Self { client, display, deadline: timeout.map(|t| Instant::now() + t) }
    }

    /// Follows `job_id` and then its children (and theirs) until every one is terminal. Returns
    /// each job in its final state, or an error if any of them FAILED or was CANCELLED.
    pub async fn follow(mut self, job_id: &str) -> Result<Vec<Job>, CliError> {
        let mut pending = VecDeque::from([job_id.to_owned()]);
        let mut finished = Vec::new();
        while let Some(id) = pending.pop_front() {
            let job = self.follow_one(&id).await?;
            pending.extend(self.children(&job).await?.into_iter().map(|child| child.id));
            finished.push(job);
        }
        match finished.iter().find(|job| matches!(job.status, JobStatus::Failed | JobStatus::Cancelled)) {
            Some(job) => Err(CliError::JobUnsuccessful {
                id: job.id.clone(),
                job_type: job.job_type.to_string(),
                status: job.status.to_string(),
                detail: job.error_text().map(|e| format!(": {e}")).unwrap_or_default(),
            }),
            None => Ok(finished),
        }
    }

    async fn get(&mut self, path: &str, query: &[(&str, String)]) -> Result<serde_json::Value, CliError> {
        let mut failures = 0;
        loop {
            match self.client.get_json(path, query).await {
                Err(CliError::Connection { .. }) if failures < POLL_RETRIES => {
                    failures += 1;
                    tokio::time::sleep(POLL_INTERVAL * 2).await;
                }
                other => return other,
            }
        }
    }

    async fn job(&mut self, id: &str) -> Result<Job, CliError> {
        let value = self.get(&format!("/v1/jobs/{id}"), &[]).await?;
        serde_json::from_value(value)
            .map_err(|e| CliError::Protocol { what: "GET /v1/jobs/{id}", detail: e.to_string() })
    }

    async fn follow_one(&mut self, id: &str) -> Result<Job, CliError> {
        let mut job = self.job(id).await?;
        let bar = match &self.display {
            Display::Bars(bars) => Some(bars.add(new_bar(&job))),
            Display::Lines { .. } => None,
        };
        loop {
            self.show(bar.as_ref(), &job);
            if job.status.is_terminal() {
                if let Some(bar) = &bar {
                    bar.finish();
                }
                return Ok(job);
            }
            if self.deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                if let Some(bar) = &bar {
                    bar.abandon();
                }
                return Err(CliError::WaitTimeout { id: job.id, status: job.status.to_string() });
            }
            tokio::time::sleep(POLL_INTERVAL).await;
            job = self.job(id).await?;
        }
    }

    /// The jobs `job` started. A successful fetch that stored emails always starts one; it may
    /// be recorded a moment after the fetch ends, so it is waited for.
    async fn children(&mut self, job: &Job) -> Result<Vec<Job>, CliError> {
        let expect_child = job.job_type == JobType::EmailFetch
            && job.status == JobStatus::Success
            && job.count("stored").unwrap_or(0) > 0;
        let deadline = Instant::now() + CHILD_WAIT;
        loop {
            let value =
                self.get("/v1/jobs", &[("parent_job_id", job.id.clone()), ("limit", "500".into())]).await?;
            let page: crate::models::Page<Job> = serde_json::from_value(value)
                .map_err(|e| CliError::Protocol { what: "GET /v1/jobs", detail: e.to_string() })?;
            let mut children = page.items;
            if !children.is_empty() || !expect_child || Instant::now() >= deadline {
                children.sort_by_key(|child| child.created_at);
                return Ok(children);
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    fn show(&mut self, bar: Option<&ProgressBar>, job: &Job) {
        match (&mut self.display, bar) {
            (Display::Bars(_), Some(bar)) => update_bar(bar, job),
            (Display::Lines { last }, _) => {
                let line = line(job);
                if line != *last {
                    println!("{line}");
                    *last = line;
                }
            }
            (Display::Bars(_), None) => {}
        }
    }
}

/// `job 0190… EMAIL_FETCH RUNNING: total 3, stored 2, duplicates 0`.
pub fn line(job: &Job) -> String {
    let counts = job.counts_text();
    let mut text = format!("job {} {} {}", job.id, job.job_type, job.status);
    if !counts.is_empty() {
        text.push_str(": ");
        text.push_str(&counts);
    }
    if let Some(error) = job.error_text() {
        text.push_str(&format!(" (error: {error})"));
    }
    text
}

fn label(job: &Job) -> &'static str {
    match job.job_type {
        JobType::EmailFetch => "fetch",
        JobType::EmailExtraction => "extraction",
        JobType::EmailReprocess => "reprocess",
    }
}

fn new_bar(job: &Job) -> ProgressBar {
    let bar = ProgressBar::hidden().with_prefix(label(job));
    // Styled before it is first drawn, so no frame shows indicatif's default look.
    update_bar(&bar, job);
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

fn update_bar(bar: &ProgressBar, job: &Job) {
    let total = job.count("total").unwrap_or(0);
    let style = if total > 0 {
        bar.set_length(total);
        bar.set_position(job.done().min(total));
        ProgressStyle::with_template("{prefix:>10} [{bar:30.cyan/blue}] {pos}/{len} {msg}")
    } else {
        ProgressStyle::with_template("{prefix:>10} {spinner} {msg}")
    };
    if let Ok(style) = style {
        bar.set_style(style.progress_chars("=> "));
    }
    let extra: Vec<String> = job
        .count_names()
        .iter()
        .filter(|name| !matches!(**name, "total"))
        .filter_map(|name| job.count(name).map(|n| format!("{name} {n}")))
        .collect();
    let mut message = job.status.to_string();
    if !extra.is_empty() {
        message.push_str(" · ");
        message.push_str(&extra.join(", "));
    }
    if let Some(error) = job.error_text() {
        message.push_str(&format!(" · error: {error}"));
    }
    bar.set_message(message);
}
