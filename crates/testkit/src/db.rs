//! A PostgreSQL database of its own for each test, dropped when the test ends.

use diesel::RunQueryDsl as _;
use diesel::connection::Connection as _;
use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;

/// The server tests create their databases on (`PENNY_TEST_DATABASE_URL`, default the local
/// PostgreSQL as `postgres`).
pub fn server_url() -> String {
    std::env::var("PENNY_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
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
        admin(statement)
            .await
            .expect("failed to create a test database");
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
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
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
