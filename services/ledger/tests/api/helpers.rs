use penny_contract::events::UserRegistered;
use penny_contract::{Role, UserId};
use penny_ledger::{Application, LedgerSettings};
use penny_platform::CommonSettings;
use penny_platform::cli::RunMode;
use penny_platform::db::{self, DbConfig, DbConn, DbPool};
use penny_testkit::{TestAuth, TestDb, TestSettings, TestVhost};
use serde_json::Value;

/// A running ledger service with a database of its own.
/// Fields kept for the endpoint tests: the database lives as long as the app.
#[allow(dead_code)]
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db: TestDb,
    pub auth: TestAuth,
    pub vhost: TestVhost,
    /// A pool on the service's schema, for calling the event handlers directly.
    pub pool: DbPool,
}

/// A user with a valid token.
#[derive(Clone)]
pub struct TestUser {
    pub id: UserId,
    pub token: String,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(LedgerSettings::default()).await
}

pub async fn spawn_app_with(service: LedgerSettings) -> TestApp {
    spawn_app_configured(service, |_| {}).await
}

/// An app whose shared settings `configure` adjusts first.
pub async fn spawn_app_configured(
    service: LedgerSettings,
    configure: impl FnOnce(&mut CommonSettings),
) -> TestApp {
    let db = TestDb::new().await;
    let auth = TestAuth::new();
    let vhost = TestVhost::new().await;
    let mut settings = TestSettings::new(&db, &auth, &vhost).settings(service);
    configure(&mut settings.common);
    let app = Application::build(settings, RunMode::Serve).await.expect("failed to build the app");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let config = DbConfig::new(secrecy::SecretString::from(db.url()), penny_ledger::INFO.schema, 4)
        .expect("schema name");
    let pool = db::pool(&config).expect("pool");
    TestApp { address, client: reqwest::Client::new(), db, auth, vhost, pool }
}

#[allow(dead_code)]
impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn conn(&self) -> DbConn {
        self.pool.get().await.expect("a connection")
    }

    /// A user who signed up: `user.registered` has been handled, so the system categories exist.
    pub async fn user(&self) -> TestUser {
        let id = UserId::new();
        let event = UserRegistered {
            user_id: id,
            name: "Ada".into(),
            username: format!("u{id}"),
            email: format!("{id}@x.test"),
        };
        penny_ledger::users::on_user_registered(&mut *self.conn().await, &event).await.expect("registered");
        TestUser { id, token: self.auth.token(id, Role::User) }
    }

    pub async fn get(&self, user: &TestUser, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).bearer_auth(&user.token).send().await.expect("request")
    }

    pub async fn post(&self, user: &TestUser, path: &str, body: Value) -> reqwest::Response {
        self.client.post(self.url(path)).bearer_auth(&user.token).json(&body).send().await.expect("request")
    }

    pub async fn patch(&self, user: &TestUser, path: &str, body: Value) -> reqwest::Response {
        self.client.patch(self.url(path)).bearer_auth(&user.token).json(&body).send().await.expect("request")
    }

    pub async fn delete(&self, user: &TestUser, path: &str) -> reqwest::Response {
        self.client.delete(self.url(path)).bearer_auth(&user.token).send().await.expect("request")
    }

    /// GET expecting 200, as JSON.
    pub async fn get_json(&self, user: &TestUser, path: &str) -> Value {
        let response = self.get(user, path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.expect("json")
    }

    /// POST expecting `status`, as JSON.
    pub async fn post_json(&self, user: &TestUser, path: &str, body: Value, status: u16) -> Value {
        let response = self.post(user, path, body).await;
        let got = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(got, status, "POST {path}: {body}");
        body
    }

    /// Books a transaction and returns it.
    pub async fn transaction(&self, user: &TestUser, body: Value) -> Value {
        self.post_json(user, "/v1/transactions", body, 201).await
    }

    /// The id of one of the user's categories by name.
    pub async fn category(&self, user: &TestUser, name: &str) -> String {
        let list = self.get_json(user, "/v1/categories").await;
        list["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|c| c["name"] == name)
            .map(|c| c["id"].as_str().expect("id").to_owned())
            .unwrap_or_else(|| panic!("no category {name}"))
    }
}
