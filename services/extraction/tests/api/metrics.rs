//! `/metrics`: the LLM's tokens and cost, beside the platform's HTTP and consumer metrics.

use std::time::{Duration, Instant};

use penny_contract::events::ExtractionRequested;
use penny_contract::{EmailId, Envelope, JobId, Provider, RequestId, UserId};
use penny_extraction::Policy;

use crate::helpers::{
    TestApp, clear_alert, completion, llm_answering, llm_settings, one_expense, spawn_app_with,
};

/// The value of the sample of `name` whose labels include `labels`, in Prometheus text.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines().filter(|line| !line.starts_with('#')).find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
        let matches = metric == name && labels.iter().all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")));
        if matches { value.parse().ok() } else { None }
    })
}

async fn scrape(app: &TestApp) -> String {
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    response.text().await.unwrap()
}

#[tokio::test]
async fn metrics_count_the_tokens_and_cost_of_every_llm_extraction_per_model() {
    let llm = llm_answering(completion(
        Some(&one_expense("23.40", "Cafe Lumen")),
        None,
        "stop",
        (2_000, 1_500, 100),
    ))
    .await;
    let app = spawn_app_with(llm_settings(&llm, Policy::Llm)).await;
    let user = UserId::new();

    // One extraction through the API (a dry run) ...
    assert_eq!(app.post(user, "/v1/extract", clear_alert()).await.status(), 200);
    let model = [("model", "gpt-4o-mini"), ("service", "extraction")];
    let text = scrape(&app).await;
    let tokens = |text: &str, kind: &str| {
        sample(text, "penny_llm_tokens_total", &[model[0], model[1], ("type", kind)])
            .unwrap_or_else(|| panic!("no {kind} tokens in:\n{text}"))
    };
    assert_eq!((tokens(&text, "input"), tokens(&text, "output")), (2_000.0, 100.0));
    assert_eq!(sample(&text, "penny_llm_cached_input_tokens_total", &model), Some(1_500.0));
    let cost = sample(&text, "penny_llm_cost_usd_total", &model).unwrap();
    // 500 × 0.15 + 1,500 × 0.075 + 100 × 0.60 = 247.5 USD per million tokens.
    assert!((cost - 0.000_247_5).abs() < 1e-12, "{cost}");
    let answered = [model[0], ("outcome", "answered")];
    assert_eq!(sample(&text, "penny_llm_calls_total", &answered), Some(1.0));
    assert_eq!(sample(&text, "penny_llm_call_duration_seconds_count", &model), Some(1.0));
    let extract = [("endpoint", "/v1/extract"), ("method", "POST"), ("status", "200"), model[1]];
    assert_eq!(sample(&text, "penny_http_requests_total", &extract), Some(1.0));

    // ... and one through the bus, counted by the same counters and by the consumer's.
    let request = ExtractionRequested {
        request_id: RequestId::new(),
        job_id: JobId::new(),
        email_id: EmailId::new(),
        user_id: user,
        provider: Provider::Upload,
        subject: "Card payment of EUR 23.40".into(),
        from: "Alerts <alerts@bank.example>".into(),
        received_at: "2026-11-20T10:00:00Z".parse().unwrap(),
        body_text: "Your card ending 4821 was charged EUR 23.40 at Cafe Lumen on 20/11/2026.".into(),
        html_only: false,
        force: false,
    };
    app.vhost.publish(&Envelope::new(request, None)).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while app.count("email_extractions").await < 1 {
        assert!(Instant::now() < deadline, "the request was never extracted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let text = scrape(&app).await;
    assert_eq!((tokens(&text, "input"), tokens(&text, "output")), (4_000.0, 200.0));
    assert_eq!(sample(&text, "penny_llm_calls_total", &answered), Some(2.0));
    let queue = [("queue", "extraction.requests"), model[1]];
    assert_eq!(sample(&text, "penny_messages_applied_total", &queue), Some(1.0), "{text}");
    assert!(sample(&text, "penny_messages_consumed_total", &queue).is_some_and(|n| n >= 1.0));
    assert!(sample(&text, "penny_outbox_pending", &[model[1]]).is_some(), "the backlog is sampled");
}
