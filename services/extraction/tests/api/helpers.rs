use penny_contract::{Role, UserId};
use penny_extraction::{Application, ExtractionSettings, Policy};
use penny_platform::cli::RunMode;
use penny_platform::db::{self, DbConfig, DbConn, DbPool};
use penny_testkit::{TestAuth, TestDb, TestSettings, TestVhost};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A running extraction service with a database and vhost of its own.
/// Fields kept for the endpoint tests: the database lives as long as the app.
#[allow(dead_code)]
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db: TestDb,
    pub auth: TestAuth,
    pub vhost: TestVhost,
    /// A pool on the service's schema.
    pub pool: DbPool,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(ExtractionSettings::default()).await
}

pub async fn spawn_app_with(service: ExtractionSettings) -> TestApp {
    let db = TestDb::new().await;
    let auth = TestAuth::new();
    let vhost = TestVhost::new().await;
    let settings = TestSettings::new(&db, &auth, &vhost).settings(service);
    let app = Application::build(settings, RunMode::Serve).await.expect("failed to build the app");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let config = DbConfig::new(secrecy::SecretString::from(db.url()), penny_extraction::INFO.schema, 4)
        .expect("schema name");
    let pool = db::pool(&config).expect("pool");
    TestApp { address, client: reqwest::Client::new(), db, auth, vhost, pool }
}

/// Settings that send every email (or, in cascade, the uncertain ones) to `llm`.
pub fn llm_settings(llm: &MockServer, policy: Policy) -> ExtractionSettings {
    ExtractionSettings {
        policy,
        llm_base_url: Some(format!("{}/v1", llm.uri())),
        llm_api_key: Some(secrecy::SecretString::from("sk-test")),
        llm_model: Some("gpt-4o-mini".into()),
        llm_timeout_secs: 10,
        ..ExtractionSettings::default()
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

    pub fn token(&self, user: UserId) -> String {
        self.auth.token(user, Role::User)
    }

    pub async fn post(&self, user: UserId, path: &str, body: Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .bearer_auth(self.token(user))
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    pub async fn get(&self, user: UserId, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).bearer_auth(self.token(user)).send().await.expect("request")
    }

    /// `SELECT count(*)` of a table of the service's schema.
    pub async fn count(&self, table: &str) -> i64 {
        penny_testkit::count(&mut *self.conn().await, &format!("SELECT count(*) AS n FROM {table}")).await
    }
}

/// A chat-completions response as the OpenAI API reference describes the `chat.completion`
/// object (https://platform.openai.com/docs/api-reference/chat/object): `id`, `object`,
/// `created`, `model`, `choices[{index, message{role, content, refusal}, logprobs,
/// finish_reason}]`, `usage{prompt_tokens, completion_tokens, total_tokens,
/// prompt_tokens_details{cached_tokens}}`.
pub fn completion(
    content: Option<&str>,
    refusal: Option<&str>,
    finish_reason: &str,
    usage: (u32, u32, u32),
) -> Value {
    let (prompt, cached, completion) = usage;
    json!({
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1_764_115_200,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content, "refusal": refusal, "annotations": []},
            "logprobs": null,
            "finish_reason": finish_reason
        }],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
        },
        "service_tier": "default",
        "system_fingerprint": "fp_test"
    })
}

/// A structured answer with one expense.
pub fn one_expense(amount: &str, merchant: &str) -> String {
    json!({
        "is_transaction": true,
        "reason": null,
        "transactions": [{
            "amount": amount, "currency": "EUR", "type": "expense", "merchant": merchant,
            "occurred_at": "2026-11-20T09:30:00Z", "account_hint": "4821", "category_hint": "Dining",
            "confidence": 0.92
        }]
    })
    .to_string()
}

/// A stand-in OpenAI endpoint answering every chat completion with `body`.
pub async fn llm_answering(body: Value) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&server)
        .await;
    server
}

/// An email the rules read with confidence.
pub fn clear_alert() -> Value {
    json!({
        "subject": "Card payment of EUR 23.40",
        "from": "Alerts <alerts@bank.example>",
        "body_text": "Your card ending 4821 was charged EUR 23.40 at Cafe Lumen on 20/11/2026.",
        "received_at": "2026-11-20T10:00:00Z"
    })
}
