use serde_json::{Value, json};

use crate::helpers::spawn_app;

fn group<'a>(summary: &'a Value, key: &str, currency: &str) -> &'a Value {
    summary["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == key && g["currency"] == currency)
        .unwrap_or_else(|| panic!("no group {key} {currency} in {summary}"))
}

#[tokio::test]
async fn summaries_group_by_category_and_month_per_currency() {
    let app = spawn_app().await;
    let user = app.user().await;
    let salary = app.category(&user, "Salary").await;
    let groceries = app.category(&user, "Groceries").await;
    let rows = [
        ("3000", "USD", "income", "2026-01-01T09:00:00Z", Some(&salary)),
        ("100.10", "USD", "expense", "2026-01-15", Some(&groceries)),
        ("50", "USD", "expense", "2026-01-31T23:30:00Z", Some(&groceries)),
        ("3240", "JPY", "expense", "2026-02-10", Some(&groceries)),
        ("7.25", "USD", "expense", "2026-02-11", None),
    ];
    for (amount, currency, kind, at, category) in rows {
        let mut body = json!({"amount": amount, "currency": currency, "type": kind, "occurred_at": at});
        if let Some(category) = category {
            body["category_id"] = json!(category);
        }
        app.transaction(&user, body).await;
    }

    let by_category = app.get_json(&user, "/v1/reports/summary?group_by=category").await;
    let g = group(&by_category, &groceries, "USD");
    assert_eq!(
        (g["income"].as_str(), g["expense"].as_str(), g["net"].as_str(), g["count"].as_i64()),
        (Some("0.00"), Some("150.10"), Some("-150.10"), Some(2))
    );
    assert_eq!(g["label"], "Groceries");
    assert_eq!(group(&by_category, &groceries, "JPY")["expense"], "3240");
    assert_eq!(group(&by_category, &salary, "USD")["net"], "3000.00");
    assert_eq!(group(&by_category, "uncategorized", "USD")["expense"], "7.25");
    assert_eq!(by_category["groups"].as_array().unwrap().len(), 4);

    let utc = app.get_json(&user, "/v1/reports/summary?group_by=month").await;
    assert_eq!(group(&utc, "2026-01", "USD")["count"], 3);
    assert_eq!(group(&utc, "2026-01", "USD")["net"], "2849.90");
    assert_eq!(group(&utc, "2026-02", "USD")["count"], 1);
    assert_eq!(group(&utc, "2026-02", "JPY")["expense"], "3240");

    // 23:30 UTC on 31 January is already February in Paris.
    let paris = app.get_json(&user, "/v1/reports/summary?group_by=month&tz=Europe/Paris").await;
    assert_eq!(group(&paris, "2026-01", "USD")["count"], 2);
    assert_eq!(group(&paris, "2026-02", "USD")["count"], 2);

    let ranged =
        app.get_json(&user, "/v1/reports/summary?group_by=month&from=2026-02-01&to=2026-03-01").await;
    assert_eq!(ranged["groups"].as_array().unwrap().len(), 2);

    for bad in ["group_by=week", "tz=Nowhere/Land", "from=2026-13-01"] {
        assert_eq!(app.get(&user, &format!("/v1/reports/summary?{bad}")).await.status(), 400, "{bad}");
    }
    let empty = app.user().await;
    assert_eq!(app.get_json(&empty, "/v1/reports/summary?group_by=month").await["groups"], json!([]));
}
