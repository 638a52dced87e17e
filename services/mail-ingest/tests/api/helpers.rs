use std::time::Duration;

use penny_contract::events::UserRegistered;
use penny_contract::{Role, UserId};
use penny_mail_ingest::crypto::SecretBox;
use penny_mail_ingest::{Application, MailIngestSettings};
use penny_platform::cli::RunMode;
use penny_platform::db::{self, DbConfig, DbConn, DbPool};
use penny_testkit::{TestAuth, TestDb, TestSettings, TestVhost};
use serde_json::Value;

/// A running mail-ingest service with a database of its own.
/// Fields kept for the endpoint tests: the database lives as long as the app.
#[allow(dead_code)]
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db: TestDb,
    pub auth: TestAuth,
    pub vhost: TestVhost,
    /// A pool on the service's schema, for looking at rows and calling handlers directly.
    pub pool: DbPool,
    /// The secret keys the service was given, and their configuration text.
    pub secrets: SecretBox,
    pub secret_spec: secrecy::SecretString,
    /// The app's OAuth client, for running fetch jobs directly.
    pub oauth: std::sync::Arc<penny_mail_ingest::oauth::OAuth>,
}

/// A user with a valid token.
#[derive(Clone)]
pub struct TestUser {
    pub id: UserId,
    pub token: String,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(adjust: impl FnOnce(&mut MailIngestSettings)) -> TestApp {
    spawn_app_in(RunMode::Serve, adjust).await
}

/// The service in `mode` (`Api`: no consumers, dispatcher or scheduler, so a test drives them).
pub async fn spawn_app_in(mode: RunMode, adjust: impl FnOnce(&mut MailIngestSettings)) -> TestApp {
    let db = TestDb::new().await;
    let auth = TestAuth::new();
    let vhost = TestVhost::new().await;
    let (secrets, spec) = SecretBox::generate("test-key");
    let mut service = MailIngestSettings {
        secret_keys: Some(spec.clone()),
        // Scheduled fetches would add jobs no test asked for; the scheduler tests run their own.
        scheduler_enabled: false,
        fetch_retry_backoff_ms: 20,
        ..MailIngestSettings::default()
    };
    adjust(&mut service);
    let settings = TestSettings::new(&db, &auth, &vhost).settings(service);
    let app = Application::build(settings, mode).await.expect("failed to build the app");
    let address = format!("http://127.0.0.1:{}", app.port());
    let oauth = app.oauth();
    tokio::spawn(app.run_until_stopped());
    let config = DbConfig::new(secrecy::SecretString::from(db.url()), penny_mail_ingest::INFO.schema, 4)
        .expect("schema name");
    let pool = db::pool(&config).expect("pool");
    TestApp {
        address,
        client: reqwest::Client::new(),
        db,
        auth,
        vhost,
        pool,
        secrets,
        secret_spec: spec,
        oauth,
    }
}

#[allow(dead_code)]
impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn conn(&self) -> DbConn {
        self.pool.get().await.expect("a connection")
    }

    /// A user who signed up (`user.registered` handled directly).
    pub async fn user(&self) -> TestUser {
        let id = UserId::new();
        let event = UserRegistered {
            user_id: id,
            name: "Sam".into(),
            username: format!("u{id}"),
            email: format!("{id}@x.test"),
        };
        penny_mail_ingest::users::on_user_registered(&mut *self.conn().await, &event)
            .await
            .expect("registered");
        TestUser { id, token: self.auth.token(id, Role::User) }
    }

    /// An admin (no upload account needed).
    pub fn admin(&self) -> TestUser {
        let id = UserId::new();
        TestUser { id, token: self.auth.token(id, Role::Admin) }
    }

    pub async fn get(&self, user: &TestUser, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).bearer_auth(&user.token).send().await.expect("request")
    }

    pub async fn get_json(&self, user: &TestUser, path: &str) -> Value {
        let response = self.get(user, path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.expect("json")
    }

    pub async fn post(&self, user: &TestUser, path: &str, body: Value) -> reqwest::Response {
        self.client.post(self.url(path)).bearer_auth(&user.token).json(&body).send().await.expect("request")
    }

    /// Uploads `body` with the given content type.
    pub async fn import(&self, user: &TestUser, content_type: &str, body: Vec<u8>) -> reqwest::Response {
        self.client
            .post(self.url("/v1/mailbox/import"))
            .bearer_auth(&user.token)
            .header("content-type", content_type)
            .body(body)
            .timeout(Duration::from_secs(120))
            .send()
            .await
            .expect("request")
    }

    /// Uploads an mbox and returns the fetch job.
    pub async fn import_mbox(&self, user: &TestUser, body: Vec<u8>) -> Value {
        let response = self.import(user, "application/mbox", body).await;
        assert_eq!(response.status(), 202, "{}", response.text().await.unwrap_or_default());
        let created: Value = response.json().await.expect("json");
        let job_id = created["job_id"].as_str().expect("job_id").to_owned();
        self.get_json(user, &format!("/v1/jobs/{job_id}")).await
    }

    /// Every item of a list, following cursors.
    pub async fn all(&self, user: &TestUser, path: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let sep = if path.contains('?') { '&' } else { '?' };
            let url = match &cursor {
                Some(c) => format!("{path}{sep}limit=500&cursor={c}"),
                None => format!("{path}{sep}limit=500"),
            };
            let page = self.get_json(user, &url).await;
            items.extend(page["items"].as_array().expect("items").iter().cloned());
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return items,
            }
        }
    }

    /// `(routing_key, body)` of every outbox row, oldest first.
    pub async fn outbox(&self) -> Vec<(String, Value)> {
        use diesel_async::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Text)]
            routing_key: String,
            #[diesel(sql_type = diesel::sql_types::Jsonb)]
            body: Value,
        }
        let rows: Vec<Row> =
            diesel::sql_query("SELECT routing_key, body::jsonb AS body FROM outbox ORDER BY id")
                .load(&mut *self.conn().await)
                .await
                .expect("outbox");
        rows.into_iter().map(|r| (r.routing_key, r.body)).collect()
    }

    /// Runs a scalar SQL count.
    pub async fn count(&self, sql: &str) -> i64 {
        penny_testkit::count(&mut *self.conn().await, sql).await
    }
}
