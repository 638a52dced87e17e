use std::path::PathBuf;
use std::time::{Duration, Instant};

use actix_web::web;
use penny_auth::{AppState, Application, AuthSettings};
use penny_platform::cli::RunMode;
use penny_platform::{CommonSettings, Settings};
use penny_testkit::TestDb;
use penny_testkit::service::{AUDIENCE, ISSUER};
use reqwest::Response;
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::{Value, json};

/// A password zxcvbn rates strong and that has nothing to do with any test user.
pub const PASSWORD: &str = "quiet-lantern-orbit-47";
/// Another strong one.
pub const NEW_PASSWORD: &str = "velvet-canyon-harbor-93";

/// A running auth service with a database, a signing key and a mail folder of its own.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    /// Owned by the first app on a database (dropping it drops the database); a second app on
    /// the same database holds `None`.
    _db: Option<TestDb>,
    pub db_url: String,
    pub state: web::Data<AppState>,
    pub mail_dir: PathBuf,
    pub key_pem: String,
    _dirs: tempfile::TempDir,
}

/// Settings every test starts from: cheap argon2 (tests are about behaviour, not cost), a key
/// and a mail folder in `dir`.
pub fn test_settings(dir: &std::path::Path) -> (AuthSettings, String) {
    let pem = penny_platform::signing::generate_pkcs8_pem().unwrap().expose_secret().to_owned();
    let key_file = dir.join("jwt.pem");
    std::fs::write(&key_file, &pem).unwrap();
    let settings = AuthSettings {
        jwt_private_key_file: Some(key_file),
        argon2_memory_kib: 256,
        argon2_iterations: 1,
        argon2_parallelism: 1,
        password_hash_threads: 2,
        mail_dir: dir.join("mail"),
        ..AuthSettings::default()
    };
    (settings, pem)
}

pub async fn spawn_app() -> TestApp {
    spawn_with(|_| {}).await
}

/// Starts the service with test settings adjusted by `adjust`.
pub async fn spawn_with(adjust: impl FnOnce(&mut AuthSettings)) -> TestApp {
    let db = TestDb::new().await;
    let url = db.url().to_owned();
    spawn_on(Some(db), &url, adjust).await
}

/// Starts the service on the database at `db_url`.
pub async fn spawn_on(db: Option<TestDb>, db_url: &str, adjust: impl FnOnce(&mut AuthSettings)) -> TestApp {
    penny_platform::telemetry::init_for_test();
    let dirs = tempfile::tempdir().unwrap();
    let (mut settings, key_pem) = test_settings(dirs.path());
    adjust(&mut settings);
    let mail_dir = settings.mail_dir.clone();
    // What testkit's `TestSettings` sets, on a database URL of the test's choosing; auth verifies
    // with its own keys, so no JWKS is configured.
    let common = CommonSettings {
        port: 0,
        database_url: SecretString::from(db_url.to_owned()),
        database_pool_size: 4,
        jwt_issuer: ISSUER.into(),
        jwt_audience: AUDIENCE.into(),
        jwks_url: None,
        jwks_file: None,
        shutdown_timeout_secs: 1,
        ..CommonSettings::default()
    };
    let settings = Settings { common, service: settings };
    let app = Application::build(settings, RunMode::Serve).await.expect("failed to build the app");
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: reqwest::Client::new(),
        _db: db,
        db_url: db_url.to_owned(),
        state,
        mail_dir,
        key_pem,
        _dirs: dirs,
    }
}

/// A user's details.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub name: String,
    pub username: String,
    pub email: String,
    pub password: String,
}

impl TestUser {
    pub fn new(username: &str) -> Self {
        Self {
            name: format!("Person {username}"),
            username: username.to_owned(),
            email: format!("{username}@example.org"),
            password: PASSWORD.to_owned(),
        }
    }
}

/// An access and a refresh token.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.client.post(self.url(path)).json(body).send().await.unwrap()
    }

    pub async fn post_as(&self, path: &str, token: &str, body: &Value) -> Response {
        self.client.post(self.url(path)).bearer_auth(token).json(body).send().await.unwrap()
    }

    pub async fn get_as(&self, path: &str, token: &str) -> Response {
        self.client.get(self.url(path)).bearer_auth(token).send().await.unwrap()
    }

    pub async fn register(&self, user: &TestUser) -> Response {
        self.post(
            "/v1/auth/register",
            &json!({"name": user.name, "username": user.username, "email": user.email, "password": user.password}),
        )
        .await
    }

    /// Registers `user` and checks it worked.
    pub async fn registered(&self, username: &str) -> (TestUser, Value) {
        let user = TestUser::new(username);
        let response = self.register(&user).await;
        assert_eq!(response.status(), 201, "registration failed: {}", response.text().await.unwrap());
        (user, response.json().await.unwrap())
    }

    pub async fn login(&self, login: &str, password: &str) -> Response {
        self.post("/v1/auth/login", &json!({"login": login, "password": password})).await
    }

    /// Logs in and checks it worked.
    pub async fn tokens(&self, login: &str, password: &str) -> Tokens {
        let response = self.login(login, password).await;
        assert_eq!(response.status(), 200, "login failed: {}", response.text().await.unwrap());
        let body: Value = response.json().await.unwrap();
        Tokens {
            access: body["access_token"].as_str().unwrap().to_owned(),
            refresh: body["refresh_token"].as_str().unwrap().to_owned(),
        }
    }

    pub async fn refresh(&self, refresh_token: &str) -> Response {
        self.post("/v1/auth/refresh", &json!({"refresh_token": refresh_token})).await
    }

    /// Creates an admin the way the first admin is made, and logs in.
    pub async fn admin(&self, username: &str) -> (TestUser, Tokens) {
        let user = TestUser::new(username);
        let account = penny_auth::accounts::NewAccount {
            name: user.name.clone(),
            username: user.username.clone(),
            email: user.email.clone(),
            password: user.password.clone().into(),
        };
        penny_auth::accounts::create(
            &self.state.pool,
            &self.state.hasher,
            account,
            penny_contract::Role::Admin,
        )
        .await
        .unwrap();
        let tokens = self.tokens(&user.username, &user.password).await;
        (user, tokens)
    }

    /// Runs SQL in the service's schema.
    pub async fn sql(&self, statement: &str) {
        use diesel_async::RunQueryDsl as _;
        let mut conn = self.state.pool.get().await.unwrap();
        diesel::sql_query(statement).execute(&mut conn).await.unwrap();
    }

    /// Counts rows matching a SQL condition in the service's schema.
    pub async fn count(&self, table: &str, condition: &str) -> i64 {
        let mut conn = self.state.pool.get().await.unwrap();
        penny_testkit::count(&mut conn, &format!("SELECT count(*) AS n FROM {table} WHERE {condition}")).await
    }

    /// The mails written for `to` so far.
    pub fn mails_to(&self, to: &str) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.mail_dir) else {
            return Vec::new();
        };
        let mut mails: Vec<(PathBuf, String)> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .map(|p| {
                let text = std::fs::read_to_string(&p).unwrap();
                (p, text)
            })
            .filter(|(_, text)| text.contains(&format!("To: {to}")))
            .collect();
        mails.sort();
        mails.into_iter().map(|(_, text)| text).collect()
    }

    /// Waits for the `n`-th mail to `to` and returns the reset code in it.
    pub async fn wait_for_code(&self, to: &str, n: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let mails = self.mails_to(to);
            if mails.len() >= n {
                return code_in(&mails[n - 1]);
            }
            assert!(Instant::now() < deadline, "no mail #{n} to {to} arrived");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Asks for a reset code and returns it from the mail folder.
    pub async fn forgot(&self, email: &str) -> String {
        let before = self.mails_to(email).len();
        let response = self.post("/v1/auth/password/forgot", &json!({"email": email})).await;
        assert_eq!(response.status(), 202);
        self.wait_for_code(email, before + 1).await
    }
}

/// The code in a reset mail.
pub fn code_in(mail: &str) -> String {
    let at = mail.find("Your code is: ").expect("a reset mail") + "Your code is: ".len();
    let code = &mail[at..at + 6];
    assert!(code.bytes().all(|b| b.is_ascii_digit()), "{code}");
    code.to_owned()
}

/// The JSON error code of a response.
pub async fn error_code(response: Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    (status, body["error"]["code"].as_str().unwrap_or_default().to_owned())
}
