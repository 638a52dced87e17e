//! The LLM path against a stand-in of the OpenAI chat-completions API.

use penny_contract::UserId;
use penny_extraction::Policy;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{clear_alert, completion, llm_answering, llm_settings, one_expense, spawn_app_with};

/// The LLM rows of the service, newest last.
async fn calls(app: &crate::helpers::TestApp) -> Vec<Value> {
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Jsonb)]
        row: Value,
    }
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT to_jsonb(l) - 'result_json' AS row FROM llm_transactions l ORDER BY created_at",
    )
    .load(&mut *app.conn().await)
    .await
    .unwrap();
    rows.into_iter().map(|r| r.row).collect()
}

#[tokio::test]
async fn a_good_structured_answer_is_used_and_its_tokens_and_cost_are_recorded_exactly() {
    let llm = llm_answering(completion(
        Some(&one_expense("23.40", "Cafe Lumen")),
        None,
        "stop",
        (2_000, 1_500, 100),
    ))
    .await;
    let app = spawn_app_with(llm_settings(&llm, Policy::Llm)).await;
    let user = UserId::new();

    let response = app.post(user, "/v1/extract", clear_alert()).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["extractor"], "llm");
    assert_eq!(body["is_transaction"], true);
    assert_eq!(body["transactions"][0]["amount"], "23.40");
    assert_eq!(body["transactions"][0]["currency"], "EUR");
    assert_eq!(body["transactions"][0]["merchant"], "Cafe Lumen");
    assert!(body["extraction_version"].as_str().unwrap().starts_with("llm-extract-v1@gpt-4o-mini"));

    // What was sent: the strict schema, and the email only as delimited data.
    let requests = llm.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let sent: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(sent["model"], "gpt-4o-mini");
    assert_eq!(sent["response_format"]["type"], "json_schema");
    assert_eq!(sent["response_format"]["json_schema"]["strict"], true);
    assert_eq!(sent["messages"][0]["role"], "system");
    let user_message = sent["messages"][1]["content"].as_str().unwrap();
    assert!(user_message.contains("<email>") && user_message.contains("Cafe Lumen"));
    assert_eq!(requests[0].headers.get("authorization").unwrap(), "Bearer sk-test");

    let rows = calls(&app).await;
    assert_eq!(rows.len(), 1, "a dry run's LLM call is still accounted");
    let row = &rows[0];
    assert_eq!(
        (row["input_tokens"].as_i64(), row["cached_input_tokens"].as_i64()),
        (Some(2_000), Some(1_500))
    );
    assert_eq!((row["output_tokens"].as_i64(), row["total_tokens"].as_i64()), (Some(100), Some(2_100)));
    assert_eq!(row["status"], "SUCCESS");
    assert_eq!(row["user_id"], user.to_string());
    assert_eq!(row["prompt_version"], "extract-v1");
    assert_eq!(row["price_version"], "builtin-2026-11");
    // 500 × 0.15 + 1,500 × 0.075 + 100 × 0.60 = 247.5 USD per million tokens.
    assert_eq!(row["estimated_cost"].as_f64(), Some(0.0002475));

    let usage: Value = app.get(user, "/v1/usage/llm").await.json().await.unwrap();
    assert_eq!(usage["calls"], 1);
    assert_eq!(usage["input_tokens"], 2_000);
    assert_eq!(usage["cached_input_tokens"], 1_500);
    assert_eq!(usage["output_tokens"], 100);
    assert_eq!(usage["estimated_cost"], "0.00024750");
    assert_eq!(usage["by_model"][0]["key"], "gpt-4o-mini");
    assert_eq!(usage["by_month"].as_array().unwrap().len(), 1);
    let other: Value = app.get(UserId::new(), "/v1/usage/llm").await.json().await.unwrap();
    assert_eq!((other["calls"].as_i64(), other["estimated_cost"].as_str()), (Some(0), Some("0")));
}

#[tokio::test]
async fn invalid_answers_are_failed_attempts_never_transactions() {
    let cases: Vec<(&str, Value)> = vec![
        ("refusal", completion(None, Some("I can't help with that."), "stop", (900, 0, 8))),
        (
            "cut off",
            completion(
                Some(r#"{"is_transaction": true, "reason": null, "transac"#),
                None,
                "length",
                (900, 0, 1_000),
            ),
        ),
        ("malformed", completion(Some("Sure! The amount is 23.40 EUR."), None, "stop", (900, 0, 12))),
        (
            "extra field",
            completion(
                Some(
                    &one_expense("23.40", "Cafe").replace(r#""reason":null"#, r#""reason":null,"note":"x""#),
                ),
                None,
                "stop",
                (900, 0, 40),
            ),
        ),
        (
            "another user",
            completion(
                Some(&one_expense("23.40", "Cafe").replace(
                    r#""confidence":0.92"#,
                    r#""confidence":0.92,"user_id":"00000000-0000-7000-8000-000000000001""#,
                )),
                None,
                "stop",
                (900, 0, 40),
            ),
        ),
        ("negative amount", completion(Some(&one_expense("-23.40", "Cafe")), None, "stop", (900, 0, 40))),
        ("too many decimals", completion(Some(&one_expense("23.401", "Cafe")), None, "stop", (900, 0, 40))),
    ];
    for (case, reply) in cases {
        let llm = llm_answering(reply).await;
        let app = spawn_app_with(llm_settings(&llm, Policy::Llm)).await;
        let user = UserId::new();
        let body: Value = app.post(user, "/v1/extract", clear_alert()).await.json().await.unwrap();
        assert_eq!(body["is_transaction"], false, "{case}: {body}");
        assert_eq!(body["transactions"], json!([]), "{case}");
        assert!(body["reason"].as_str().unwrap().starts_with("llm_invalid"), "{case}: {body}");
        let rows = calls(&app).await;
        assert_eq!(rows.len(), 1, "{case}");
        assert_eq!(rows[0]["status"], "FAILED", "{case}");
        assert!(rows[0]["error"].as_str().is_some_and(|e| !e.is_empty()), "{case}");
        assert!(rows[0]["input_tokens"].as_i64().unwrap() > 0, "{case}: tokens are billed even when refused");
    }
}

#[tokio::test]
async fn rate_limited_then_answered_is_one_call_on_record() {
    let llm = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(
            ResponseTemplate::new(429).insert_header("retry-after", "1").set_body_json(json!({
                "error": {"message": "Rate limit reached", "type": "requests", "param": null, "code": "rate_limit_exceeded"}
            })),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&llm)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(completion(
            Some(&one_expense("9.99", "Kiosk")),
            None,
            "stop",
            (800, 0, 60),
        )))
        .with_priority(2)
        .mount(&llm)
        .await;
    let app = spawn_app_with(llm_settings(&llm, Policy::Llm)).await;
    let started = std::time::Instant::now();
    let body: Value = app.post(UserId::new(), "/v1/extract", clear_alert()).await.json().await.unwrap();
    assert_eq!(body["transactions"][0]["amount"], "9.99", "{body}");
    assert_eq!(llm.received_requests().await.unwrap().len(), 2, "retried once");
    assert!(started.elapsed() >= std::time::Duration::from_secs(1), "Retry-After was honoured");
    let rows = calls(&app).await;
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0]["status"].as_str(), rows[0]["input_tokens"].as_i64()), (Some("SUCCESS"), Some(800)));
}

#[tokio::test]
async fn an_unreachable_llm_is_a_503_not_a_guess() {
    let llm = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(503).set_body_json(
            json!({"error": {"message": "overloaded", "type": "server_error", "param": null, "code": null}}),
        ))
        .mount(&llm)
        .await;
    let app = spawn_app_with(llm_settings(&llm, Policy::Llm)).await;
    let response = app.post(UserId::new(), "/v1/extract", clear_alert()).await;
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "llm_unavailable");
    assert_eq!(llm.received_requests().await.unwrap().len(), 4, "the first try and three retries");
    assert_eq!(calls(&app).await[0]["status"], "FAILED");
}

#[tokio::test]
async fn the_cascade_asks_the_llm_only_where_the_rules_are_unsure() {
    let llm =
        llm_answering(completion(Some(&one_expense("41.00", "Trattoria")), None, "stop", (700, 0, 50))).await;
    let app = spawn_app_with(llm_settings(&llm, Policy::Cascade)).await;
    let user = UserId::new();

    // The rules are sure of a plain card alert: no call.
    let body: Value = app.post(user, "/v1/extract", clear_alert()).await.json().await.unwrap();
    assert_eq!(
        (body["extractor"].as_str(), body["transactions"][0]["amount"].as_str()),
        (Some("rules"), Some("23.40"))
    );
    // The rules recognise a one-time code as no transaction: no call either.
    let otp = json!({"subject": "Your verification code", "from": "Bank <no-reply@bank.example>",
        "body_text": "Your one-time password is 482913. It expires in 10 minutes. Never share it."});
    let body: Value = app.post(user, "/v1/extract", otp).await.json().await.unwrap();
    assert_eq!((body["extractor"].as_str(), body["is_transaction"].as_bool()), (Some("rules"), Some(false)));
    assert!(llm.received_requests().await.unwrap().is_empty());

    // A mail the rules find no amount in, and cannot classify, goes to the LLM.
    let odd = json!({"subject": "Your dinner at Trattoria", "from": "Trattoria <hello@trattoria.example>",
        "body_text": "Thanks for dining with us tonight! Forty-one euros were charged to your card."});
    let body: Value = app.post(user, "/v1/extract", odd).await.json().await.unwrap();
    assert_eq!(
        (body["extractor"].as_str(), body["transactions"][0]["amount"].as_str()),
        (Some("llm"), Some("41.00")),
        "{body}"
    );
    assert_eq!(llm.received_requests().await.unwrap().len(), 1);
    assert!(body["extraction_version"].as_str().unwrap().starts_with("cascade-rules-"));
}

#[test]
fn an_llm_policy_without_an_endpoint_is_refused_at_start() {
    let settings = penny_extraction::ExtractionSettings { policy: Policy::Cascade, ..Default::default() };
    assert!(penny_extraction::pipeline::Pipeline::from_settings(&settings).is_err());
    let half = penny_extraction::ExtractionSettings { llm_model: Some("m".into()), ..Default::default() };
    assert!(penny_extraction::pipeline::Pipeline::from_settings(&half).is_err());
}
