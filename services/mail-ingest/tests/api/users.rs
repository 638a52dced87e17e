//! `user.registered` and `user.deleted`.

use penny_contract::events::{UserDeleted, UserRegistered};
use penny_contract::{Envelope, Role, UserId};
use penny_platform::outbox;
use std::time::Duration;

use crate::helpers::{TestUser, spawn_app};

#[tokio::test]
async fn user_deleted_removes_the_users_mail_and_user_registered_after_it_is_ignored() {
    let app = spawn_app().await;
    let alice = app.user().await;
    let bob = app.user().await;
    let mbox = b"From x\nMessage-ID: <m1@x>\nSubject: s\n\nbody\n".to_vec();
    app.import_mbox(&alice, mbox.clone()).await;
    app.import_mbox(&bob, mbox).await;

    let deleted = UserDeleted { user_id: alice.id };
    let mut conn = app.conn().await;
    let removed = penny_mail_ingest::users::on_user_deleted(&mut conn, &deleted).await.unwrap();
    assert_eq!((removed.jobs, removed.emails, removed.accounts), (2, 1, 1));
    // Idempotent.
    let again = penny_mail_ingest::users::on_user_deleted(&mut conn, &deleted).await.unwrap();
    assert_eq!((again.jobs, again.emails, again.accounts), (0, 0, 0));
    let registered =
        UserRegistered { user_id: alice.id, name: "A".into(), username: "a".into(), email: "a@x".into() };
    penny_mail_ingest::users::on_user_registered(&mut conn, &registered).await.unwrap();
    drop(conn);
    let alice_rows = app
        .count(&format!(
            "SELECT (SELECT count(*) FROM connected_accounts WHERE user_id = '{id}') + \
             (SELECT count(*) FROM emails WHERE user_id = '{id}') + \
             (SELECT count(*) FROM jobs WHERE user_id = '{id}') AS n",
            id = alice.id
        ))
        .await;
    assert_eq!(alice_rows, 0);
    assert_eq!(app.all(&bob, "/v1/emails").await.len(), 1);
}

#[tokio::test]
async fn the_users_consumer_creates_upload_accounts_and_deletes_users_from_the_bus() {
    let app = spawn_app().await;
    let id = UserId::new();
    let user = TestUser { id, token: app.auth.token(id, Role::User) };
    // The consumer declares its queue when it connects; publish once it is there.
    for _ in 0..100 {
        if app.vhost.queue_exists("ingest.users").await {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let registered = Envelope::new(
        UserRegistered { user_id: id, name: "C".into(), username: "c".into(), email: "c@x".into() },
        None,
    );
    outbox::enqueue(&mut *app.conn().await, &registered).await.unwrap();
    let mut created = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if app.all(&user, "/v1/accounts").await.len() == 1 {
            created = true;
            break;
        }
    }
    assert!(created, "user.registered created the upload account");

    outbox::enqueue(&mut *app.conn().await, &Envelope::new(UserDeleted { user_id: id }, None)).await.unwrap();
    let mut refused = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if app.get(&user, "/v1/accounts").await.status() == 401 {
            refused = true;
            break;
        }
    }
    assert!(refused, "the deleted user's token is refused");
    assert_eq!(
        app.count(&format!("SELECT count(*) AS n FROM connected_accounts WHERE user_id = '{id}'")).await,
        0
    );
}
