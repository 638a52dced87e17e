//! A PostgreSQL database of its own for each test, dropped when the test ends.

use diesel::RunQueryDsl as _;
use diesel::connection::Connection as _;
use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;

/// Runs `sql`, a query whose one row has a `bigint` column `n` (`SELECT count(*) AS n …`),
/// and returns `n`.
pub async fn count(conn: &mut AsyncPgConnection, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let row: Count = diesel_async::RunQueryDsl::get_result(diesel::sql_query(sql), conn)
        .await
        .unwrap_or_else(|error| panic!("{sql}: {error}"));
    row.n
}

/// The server tests create their databases on (`PENNY_TEST_DATABASE_URL`, default the local
/// PostgreSQL as `postgres`).
pub fn server_url() -> String {
    std::env::var("PENNY_TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

type AdminConn = AsyncConnectionWrapper<AsyncPgConnection>;

/// A fresh, empty database named `penny_test_<uuid>`.
#[derive(Debug)]
pub struct TestDb {
    name: String,
    url: String,
}

impl TestDb {
    /// Creates the database.
    pub async fn new() -> Self {
        let name = format!("penny_test_{}", uuid::Uuid::now_v7().simple());
        let statement = format!("CREATE DATABASE \"{name}\"");
        admin(statement).await.expect("failed to create a test database");
        let url = format!("{}/{name}", server_url());
        Self { name, url }
    }

    /// The URL of the test's database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let statement = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        // Drop may run inside or outside a runtime; a thread of its own works in both.
        let handle = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(admin(statement))
        });
        if let Ok(Err(error)) = handle.join() {
            eprintln!("failed to drop test database: {error}");
        }
    }
}

async fn admin(statement: String) -> anyhow::Result<()> {
    let url = format!("{}/postgres", server_url());
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let mut conn = AdminConn::establish(&url)?;
        diesel::sql_query(statement).execute(&mut conn)?;
        Ok(())
    })
    .await?
}

/// The shape of a schema: every column of every table, with its type and nullability.
async fn schema_shape(url: &str, schema: &str) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct Column {
        #[diesel(sql_type = diesel::sql_types::Text)]
        line: String,
    }
    let url = url.to_owned();
    let schema = schema.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut conn = AdminConn::establish(&url).expect("failed to connect to the test database");
        let columns: Vec<Column> = diesel::sql_query(
            "SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable AS line \
             FROM information_schema.columns WHERE table_schema = $1 ORDER BY table_name, ordinal_position",
        )
        .bind::<diesel::sql_types::Text, _>(schema)
        .load(&mut conn)
        .expect("failed to read the schema");
        columns.into_iter().map(|c| c.line).collect()
    })
    .await
    .expect("schema reader panicked")
}

/// Runs a service's migrations up, down and up again in a fresh database, and checks that down
/// leaves only diesel's bookkeeping and that the second up rebuilds the same schema.
pub async fn assert_migrations_round_trip(
    schema: &str,
    migrations: &'static diesel_migrations::EmbeddedMigrations,
) {
    use penny_platform::db::{self, DbConfig};

    let test_db = TestDb::new().await;
    let config = DbConfig::new(secrecy::SecretString::from(test_db.url()), schema, 1).expect("schema name");
    db::migrate(&config, migrations).await.expect("first up");
    let first = schema_shape(test_db.url(), schema).await;
    assert!(first.iter().any(|c| c.starts_with("outbox.")), "platform tables missing: {first:?}");

    db::revert_all(&config, migrations).await.expect("down");
    let after_down = schema_shape(test_db.url(), schema).await;
    assert!(
        after_down.iter().all(|c| c.starts_with("__diesel_schema_migrations.")),
        "down.sql left tables behind: {after_down:?}"
    );

    db::migrate(&config, migrations).await.expect("second up");
    assert_eq!(schema_shape(test_db.url(), schema).await, first, "up after down built another schema");
}
