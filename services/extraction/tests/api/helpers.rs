use penny_extraction::{Application, ExtractionSettings};
use penny_platform::cli::RunMode;
use penny_testkit::{TestAuth, TestDb, TestSettings, TestVhost};

/// A running extraction service with a database of its own.
/// Fields kept for the endpoint tests: the database lives as long as the app.
#[allow(dead_code)]
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db: TestDb,
    pub auth: TestAuth,
    pub vhost: TestVhost,
}

pub async fn spawn_app() -> TestApp {
    let db = TestDb::new().await;
    let auth = TestAuth::new();
    let vhost = TestVhost::new().await;
    let settings = TestSettings::new(&db, &auth, &vhost).settings(ExtractionSettings::default());
    let app = Application::build(settings, RunMode::Serve).await.expect("failed to build the app");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    TestApp { address, client: reqwest::Client::new(), db, auth, vhost }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }
}
