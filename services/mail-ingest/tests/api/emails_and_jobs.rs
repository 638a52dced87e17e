//! `GET /v1/emails`, `/v1/emails/{id}`, `/v1/jobs`, `/v1/jobs/{id}`.

use serde_json::Value;

use crate::helpers::spawn_app;

fn mbox(count: usize, tag: &str) -> Vec<u8> {
    let mut out = String::new();
    for i in 0..count {
        out.push_str(&format!(
            "From x Mon Jan  5 10:00:00 2026\nMessage-ID: <{tag}-{i}@x.example>\nFrom: a@bank.example\nSubject: {tag} {i}\nDate: Mon, 05 Jan 2026 10:{:02}:00 +0000\n\nbody {i}\n\n",
            i % 60
        ));
    }
    out.into_bytes()
}

#[tokio::test]
async fn lists_page_filter_and_hide_other_users_objects() {
    let app = spawn_app().await;
    let alice = app.user().await;
    let bob = app.user().await;
    let job = app.import_mbox(&alice, mbox(7, "alice")).await;
    app.import_mbox(&bob, mbox(2, "bob")).await;

    // Keyset pages of 3: 3 + 3 + 1, newest received first, no overlap.
    let mut seen = Vec::new();
    let mut path = "/v1/emails?limit=3".to_owned();
    loop {
        let page = app.get_json(&alice, &path).await;
        let items = page["items"].as_array().unwrap();
        seen.extend(items.iter().map(|e| e["subject"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/emails?limit=3&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, (0..7).rev().map(|i| format!("alice {i}")).collect::<Vec<_>>());

    // Filters.
    let pending = app.all(&alice, "/v1/emails?extraction_status=PENDING").await;
    assert_eq!(pending.len(), 7);
    assert!(app.all(&alice, "/v1/emails?extraction_status=COMPLETED").await.is_empty());
    let account = pending[0]["account_id"].as_str().unwrap();
    assert_eq!(app.all(&alice, &format!("/v1/emails?account_id={account}")).await.len(), 7);
    let bad = app.get(&alice, "/v1/emails?extraction_status=done&limit=0&cursor=zzz").await;
    assert_eq!(bad.status(), 400);
    let body: Value = bad.json().await.unwrap();
    let fields = body["error"]["fields"].as_object().unwrap();
    assert!(
        fields.contains_key("extraction_status")
            && fields.contains_key("limit")
            && fields.contains_key("cursor")
    );

    // The accounts list shows the upload account.
    let accounts = app.get_json(&alice, "/v1/accounts").await;
    assert_eq!(accounts["items"].as_array().unwrap().len(), 1);
    assert_eq!(accounts["items"][0]["provider"], "upload");
    assert_eq!(accounts["items"][0]["email"], "upload");
    assert!(accounts["next_cursor"].is_null());

    // Another user's email, job and account are 404 whatever the id; a malformed id too.
    let email_id = pending[0]["id"].as_str().unwrap();
    let job_id = job["id"].as_str().unwrap();
    assert_eq!(app.get(&alice, &format!("/v1/emails/{email_id}")).await.status(), 200);
    assert_eq!(app.get(&bob, &format!("/v1/emails/{email_id}")).await.status(), 404);
    assert_eq!(app.get(&bob, &format!("/v1/jobs/{job_id}")).await.status(), 404);
    assert_eq!(app.get(&bob, &format!("/v1/accounts/{account}")).await.status(), 404);
    assert_eq!(app.get(&bob, "/v1/emails/not-a-uuid").await.status(), 404);
    assert_eq!(app.all(&bob, "/v1/emails").await.len(), 2);

    // Jobs: filters, and admins' all_users.
    let fetches = app.all(&alice, "/v1/jobs?job_type=EMAIL_FETCH&status=SUCCESS").await;
    assert_eq!(fetches.len(), 1);
    assert_eq!(fetches[0]["id"], job["id"]);
    assert!(fetches[0]["parent_job_id"].is_null());
    assert_eq!(fetches[0]["user_id"], alice.id.to_string());
    let extraction = app.all(&alice, "/v1/jobs?job_type=EMAIL_EXTRACTION").await;
    assert_eq!(extraction.len(), 1);
    assert_eq!(extraction[0]["parent_job_id"], job["id"]);
    assert_eq!(app.all(&alice, "/v1/jobs").await.len(), 2);
    assert_eq!(app.get(&alice, "/v1/jobs?all_users=true").await.status(), 403);
    assert_eq!(app.get(&alice, "/v1/jobs?status=queued").await.status(), 400);
    let admin = app.admin();
    assert_eq!(app.all(&admin, "/v1/jobs?all_users=true").await.len(), 4);
    assert!(app.all(&admin, "/v1/jobs").await.is_empty());
    assert_eq!(app.get(&admin, &format!("/v1/jobs/{job_id}")).await.status(), 200);

    // No token: 401.
    let anonymous = app.client.get(app.url("/v1/jobs")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn bodies_past_retention_are_purged_and_their_metadata_stays() {
    use diesel_async::RunQueryDsl;
    let app = spawn_app().await;
    let alice = app.user().await;
    app.import_mbox(&alice, mbox(3, "kept")).await;
    let emails = app.all(&alice, "/v1/emails").await;
    let old: Vec<String> = emails.iter().take(2).map(|e| e["id"].as_str().unwrap().to_owned()).collect();
    let fresh = emails[2]["id"].as_str().unwrap().to_owned();
    // Two emails were stored 40 days ago.
    for id in &old {
        diesel::sql_query("UPDATE emails SET created_at = now() - interval '40 days' WHERE id = $1::uuid")
            .bind::<diesel::sql_types::Text, _>(id)
            .execute(&mut *app.conn().await)
            .await
            .unwrap();
    }

    let before = chrono::Utc::now() - chrono::Duration::days(30);
    let purged =
        penny_mail_ingest::store::emails::purge_bodies(&mut *app.conn().await, before).await.unwrap();
    assert_eq!(purged, 2);
    for id in &old {
        let email = app.get_json(&alice, &format!("/v1/emails/{id}")).await;
        assert!(email["body_text"].is_null(), "{email}");
        assert!(email["body_purged_at"].is_string());
        assert!(email["subject"].as_str().unwrap().starts_with("kept"), "metadata stays: {email}");
    }
    let kept = app.get_json(&alice, &format!("/v1/emails/{fresh}")).await;
    assert!(kept["body_text"].as_str().unwrap().contains("body"));
    assert!(kept["body_purged_at"].is_null());
    // Nothing left to purge; the emails are all still listed.
    assert_eq!(
        penny_mail_ingest::store::emails::purge_bodies(&mut *app.conn().await, before).await.unwrap(),
        0
    );
    assert_eq!(app.all(&alice, "/v1/emails").await.len(), 3);
}
