use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use penny_contract::events::UserDeleted;
use penny_contract::{Envelope, UserId};
use penny_platform::db::{self, DbConfig};
use penny_platform::{outbox, tombstones};
use secrecy::SecretString;

use crate::helpers::{TestStore, WIDGETS};

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

async fn tables(store: &TestStore) -> Vec<String> {
    let mut conn = store.pool.get().await.unwrap();
    let rows: Vec<Name> = diesel::sql_query(
        "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'widgets' ORDER BY 1",
    )
    .load(&mut conn)
    .await
    .unwrap();
    rows.into_iter().map(|r| r.name).collect()
}

#[tokio::test]
async fn migrations_create_the_schema_and_go_up_down_and_up_again() {
    let store = TestStore::new().await;
    let all = ["__diesel_schema_migrations", "inbox", "outbox", "user_tombstones", "widgets"];
    assert_eq!(tables(&store).await, all);

    db::revert_all(&store.config, &WIDGETS).await.unwrap();
    assert_eq!(tables(&store).await, ["__diesel_schema_migrations"]);

    db::migrate(&store.config, &WIDGETS).await.unwrap();
    assert_eq!(tables(&store).await, all);
}

#[tokio::test]
async fn replicas_migrating_together_migrate_once() {
    let store = TestStore::new().await;
    let other = DbConfig::new(SecretString::from(store.db.url()), "second", 2).unwrap();
    let runs = (0..4).map(|i| {
        let config = if i % 2 == 0 { other.clone() } else { store.config.clone() };
        tokio::spawn(async move { db::migrate(&config, &WIDGETS).await })
    });
    for run in futures::future::join_all(runs).await {
        run.unwrap().unwrap();
    }
    assert_eq!(tables(&store).await.len(), 5);
}

#[tokio::test]
async fn enqueued_events_wait_in_the_outbox_of_the_service_schema() {
    let store = TestStore::new().await;
    let mut conn = store.pool.get().await.unwrap();
    let envelope = Envelope::new(UserDeleted { user_id: UserId::new() }, None);
    outbox::enqueue(&mut conn, &envelope).await.unwrap();

    let pending = outbox::pending(&mut conn, 10).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].message_id, envelope.message_id);
    assert_eq!(pending[0].routing_key, "user.deleted");
    let stored = Envelope::<UserDeleted>::from_slice(pending[0].body.as_bytes()).unwrap();
    assert_eq!(stored, envelope);
}

#[tokio::test]
async fn a_rolled_back_transaction_leaves_no_event() {
    use diesel_async::AsyncConnection;

    let store = TestStore::new().await;
    let mut conn = store.pool.get().await.unwrap();
    let envelope = Envelope::new(UserDeleted { user_id: UserId::new() }, None);
    let result: Result<(), db::DbError> = conn
        .transaction(async |tx| {
            outbox::enqueue(tx, &envelope).await?;
            Err(db::DbError::Query(diesel::result::Error::RollbackTransaction))
        })
        .await;
    assert!(result.is_err());
    assert!(outbox::pending(&mut conn, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn tombstones_are_recorded_once_and_loaded_into_the_cache() {
    let store = TestStore::new().await;
    let mut conn = store.pool.get().await.unwrap();
    let user = UserId::new();
    tombstones::record(&mut conn, user).await.unwrap();
    tombstones::record(&mut conn, user).await.unwrap();
    assert!(tombstones::is_deleted(&mut conn, user).await.unwrap());
    assert!(!tombstones::is_deleted(&mut conn, UserId::new()).await.unwrap());

    let cache = tombstones::Tombstones::new();
    assert!(!cache.contains(user));
    cache.refresh(&store.pool).await.unwrap();
    assert!(cache.contains(user));
}
