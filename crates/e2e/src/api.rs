//! A small client of Penny's public API (`/work/shared/API.md`), as any client sees it through
//! the gateway: registering and logging in, importing a mailbox, following jobs, listing
//! transactions and emails.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A client of the gateway.
#[derive(Debug, Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
}

/// A registered, logged-in user.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub username: String,
    pub email: String,
    pub password: String,
    pub access_token: String,
}

/// An answer: its status and its body (JSON, or `Value::Null` when empty or not JSON), and
/// the body as text for messages.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
    pub text: String,
    pub content_type: Option<String>,
}

impl Answer {
    /// The body, when the status is 2xx; otherwise an error naming the request.
    pub fn ok(self, what: &str) -> anyhow::Result<Value> {
        if !self.status.is_success() {
            bail!("{what}: {} {}", self.status, self.text);
        }
        Ok(self.body)
    }
}

impl Api {
    /// A client of the gateway at `base` (`http://127.0.0.1:PORT`).
    pub fn new(base: impl Into<String>) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(120)).build()?;
        Ok(Self { http, base: base.into() })
    }

    /// The gateway's URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a request, with a bearer token and a JSON body when given.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> anyhow::Result<Answer> {
        let mut request = self.http.request(method.clone(), self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.with_context(|| format!("{method} {path}"))?;
        answer(response).await
    }

    /// `GET path` as `token`, expecting 2xx.
    pub async fn get(&self, token: &str, path: &str) -> anyhow::Result<Value> {
        self.call(Method::GET, path, Some(token), None).await?.ok(&format!("GET {path}"))
    }

    /// `POST path` with a JSON body as `token`, expecting 2xx.
    pub async fn post(&self, token: &str, path: &str, body: &Value) -> anyhow::Result<Value> {
        self.call(Method::POST, path, Some(token), Some(body)).await?.ok(&format!("POST {path}"))
    }

    /// Registers `username` with a strong password, then logs in.
    pub async fn register_and_login(&self, username: &str) -> anyhow::Result<User> {
        let email = format!("{username}@e2e.penny.example");
        let password = format!("Blue-{}-harbor-lantern-Quartz!", uuid::Uuid::now_v7().simple());
        let registered = self
            .call(
                Method::POST,
                "/v1/auth/register",
                None,
                Some(&json!({"name": username, "username": username, "email": email, "password": password})),
            )
            .await?;
        if registered.status != StatusCode::CREATED {
            bail!("POST /v1/auth/register answered {} {}", registered.status, registered.text);
        }
        let id = registered.body["id"].as_str().context("register answered no id")?.to_owned();
        let login = self
            .call(
                Method::POST,
                "/v1/auth/login",
                None,
                Some(&json!({"login": username, "password": password})),
            )
            .await?
            .ok("POST /v1/auth/login")?;
        let access_token =
            login["access_token"].as_str().context("login answered no access_token")?.to_owned();
        Ok(User { id, username: username.to_owned(), email, password, access_token })
    }

    /// `POST /v1/mailbox/import` of an mbox; the fetch job's id.
    pub async fn import_mbox(&self, token: &str, mbox: Vec<u8>) -> anyhow::Result<String> {
        let response = self
            .http
            .post(self.url("/v1/mailbox/import"))
            .bearer_auth(token)
            .header("content-type", "application/mbox")
            .body(mbox)
            .send()
            .await
            .context("POST /v1/mailbox/import")?;
        let answer = answer(response).await?;
        if answer.status != StatusCode::ACCEPTED {
            bail!("POST /v1/mailbox/import answered {} {}", answer.status, answer.text);
        }
        Ok(answer.body["job_id"].as_str().context("import answered no job_id")?.to_owned())
    }

    /// `GET /v1/jobs/{id}`.
    pub async fn job(&self, token: &str, id: &str) -> anyhow::Result<Value> {
        self.get(token, &format!("/v1/jobs/{id}")).await
    }

    /// Polls a job until it is SUCCESS; an error if it ends otherwise or `deadline` passes.
    /// Answers that fail (a service restarting behind the gateway) are retried.
    pub async fn wait_job(&self, token: &str, id: &str, deadline: Instant) -> anyhow::Result<Value> {
        let mut last = Value::Null;
        loop {
            match self.job(token, id).await {
                Ok(job) => {
                    match job["status"].as_str() {
                        Some("SUCCESS") => return Ok(job),
                        Some("FAILED" | "CANCELLED") => bail!("job {id} ended {}: {job}", job["status"]),
                        _ => {}
                    }
                    last = job;
                }
                Err(error) if Instant::now() > deadline => return Err(error),
                Err(_) => {}
            }
            if Instant::now() > deadline {
                bail!("job {id} is not done in time; last seen: {last}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The children of a job (`GET /v1/jobs?parent_job_id=`).
    pub async fn child_jobs(&self, token: &str, parent: &str) -> anyhow::Result<Vec<Value>> {
        let page = self.get(token, &format!("/v1/jobs?parent_job_id={parent}&limit=500")).await?;
        Ok(page["items"].as_array().cloned().unwrap_or_default())
    }

    /// Waits until `parent` has exactly one child job and returns its id.
    pub async fn wait_child_job(
        &self,
        token: &str,
        parent: &str,
        deadline: Instant,
    ) -> anyhow::Result<String> {
        loop {
            let children = self.child_jobs(token, parent).await.unwrap_or_default();
            match children.as_slice() {
                [child] => return Ok(child["id"].as_str().context("a job without id")?.to_owned()),
                [] => {}
                more => bail!("job {parent} has {} children: {more:?}", more.len()),
            }
            if Instant::now() > deadline {
                bail!("job {parent} has no child job in time");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Every item of a paginated list (`path` may carry filters), following `next_cursor`.
    pub async fn all(&self, token: &str, path: &str) -> anyhow::Result<Vec<Value>> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page_path = match &cursor {
                Some(cursor) => format!("{path}{separator}limit=500&cursor={cursor}"),
                None => format!("{path}{separator}limit=500"),
            };
            let page = self.get(token, &page_path).await?;
            items.extend(page["items"].as_array().cloned().context("a list without items")?);
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return Ok(items),
            }
        }
    }

    /// Every transaction of the user.
    pub async fn transactions(&self, token: &str) -> anyhow::Result<Vec<Value>> {
        self.all(token, "/v1/transactions").await
    }
}

/// Reads a response whole: status, content type, text and (if it parses) JSON body.
pub async fn answer(response: reqwest::Response) -> anyhow::Result<Answer> {
    let status = response.status();
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let text = response.text().await?;
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Ok(Answer { status, body, text, content_type })
}

/// An output count of a job (`output_payload.<name>`), 0 when absent.
pub fn count(job: &Value, name: &str) -> u64 {
    job["output_payload"][name].as_u64().unwrap_or(0)
}
