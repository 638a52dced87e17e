//! The database: a diesel-async pool whose connections use the service's schema, and embedded
//! migrations run under an advisory lock.
//!
//! Each service owns one PostgreSQL schema. The schema is created here, in code, before
//! migrating, so migrations never create or drop it; every connection sets `search_path` to it,
//! so the service's tables and its diesel migrations table live there.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use diesel::migration::MigrationSource;
use diesel::pg::Pg;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::deadpool::{BuildError, Object, Pool, PoolError};
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use futures::FutureExt;
use secrecy::{ExposeSecret, SecretString};

/// The tables every service has: outbox, inbox and tombstones.
pub const PLATFORM_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/platform");

/// A pool of connections to the service's schema.
pub type DbPool = Pool<AsyncPgConnection>;
/// One pooled connection.
pub type DbConn = Object<AsyncPgConnection>;

/// Database failures that are not a handler's business to tell apart.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("`{0}` is not a valid schema name")]
    InvalidSchema(String),
    #[error("failed to build the connection pool: {0}")]
    Build(#[from] BuildError),
    #[error("no database connection available: {0}")]
    Pool(#[from] PoolError),
    #[error("failed to connect to the database: {0}")]
    Connection(#[from] diesel::ConnectionError),
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("failed to serialise an event: {0}")]
    Serialize(#[from] serde_json::Error),
    #[error("the migration task stopped: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// Where a service's tables live.
#[derive(Debug, Clone)]
pub struct DbConfig {
    pub url: SecretString,
    pub schema: String,
    pub pool_size: usize,
}

impl DbConfig {
    /// Checks the schema name, which is interpolated into SQL as an identifier.
    pub fn new(url: SecretString, schema: &str, pool_size: usize) -> Result<Self, DbError> {
        let valid = schema.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
            && schema.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && schema.len() <= 63;
        if !valid {
            return Err(DbError::InvalidSchema(schema.to_owned()));
        }
        Ok(Self { url, schema: schema.to_owned(), pool_size })
    }

    fn set_search_path(&self) -> String {
        format!("SET search_path TO \"{}\"", self.schema)
    }
}

/// Builds the pool. Connections are made lazily, so this succeeds while the database is down
/// and the service recovers on its own when it comes back.
pub fn pool(config: &DbConfig) -> Result<DbPool, DbError> {
    let mut manager_config = ManagerConfig::default();
    // `Verified` runs a test query on every checkout; a broken connection surfaces as an error on
    // the next query anyway and is then discarded.
    manager_config.recycling_method = RecyclingMethod::Fast;
    let search_path = config.set_search_path();
    manager_config.custom_setup = Box::new(move |url| {
        let search_path = search_path.clone();
        async move {
            let mut conn = AsyncPgConnection::establish(url).await?;
            diesel::sql_query(search_path)
                .execute(&mut conn)
                .await
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
            Ok(conn)
        }
        .boxed()
    });
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(
        config.url.expose_secret(),
        manager_config,
    );
    Ok(Pool::builder(manager).max_size(config.pool_size).build()?)
}

/// One pool per HTTP worker thread, handed out as the workers are built.
///
/// diesel-async drives each connection from a task spawned on the runtime that opened it, and
/// every actix-web worker is a single-threaded runtime of its own. With one pool shared by the
/// workers, a query's I/O is driven by whichever thread happened to open its connection: two
/// thread hops a query, and a wait whenever that thread is busy with its own requests. With a
/// pool per worker, a request, its connection and their I/O stay on one thread (the ledger's
/// list benchmark: ≈ 55% more requests/s for its bare handler, 27–38% for the service).
#[derive(Clone)]
pub struct WorkerPools {
    pools: Arc<[DbPool]>,
    next: Arc<AtomicUsize>,
}

impl WorkerPools {
    /// `workers` pools (at least one) of `config.pool_size` connections each, opened lazily.
    pub fn new(config: &DbConfig, workers: usize) -> Result<Self, DbError> {
        let pools = (0..workers.max(1)).map(|_| pool(config)).collect::<Result<Vec<_>, _>>()?;
        Ok(Self { pools: pools.into(), next: Arc::new(AtomicUsize::new(0)) })
    }

    /// The HTTP API's pools: one per core (actix-web's default number of workers), of
    /// `per_worker` connections each.
    pub fn for_api(config: &DbConfig, per_worker: usize) -> Result<Self, DbError> {
        Self::new(&DbConfig { pool_size: per_worker.max(1), ..config.clone() }, cores())
    }

    /// A worker process's probe port, which only answers `/readyz`: one connection per worker.
    pub fn for_probes(config: &DbConfig) -> Result<Self, DbError> {
        Self::new(&DbConfig { pool_size: 1, ..config.clone() }, cores())
    }

    /// How many workers the pools are for.
    pub fn len(&self) -> usize {
        self.pools.len()
    }

    /// Always false: there is at least one pool.
    pub fn is_empty(&self) -> bool {
        self.pools.is_empty()
    }

    /// The pool of the worker being built. Round robin, so a worker that actix restarts after a
    /// panic gets one too (then shared with another worker: slower, still correct).
    pub fn next_pool(&self) -> DbPool {
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.pools.len();
        self.pools[index].clone()
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// Checks that the database answers (readiness).
pub async fn ping(pool: &DbPool) -> Result<(), DbError> {
    let mut conn = pool.get().await?;
    diesel::sql_query("SELECT 1").execute(&mut conn).await?;
    Ok(())
}

type MigrationConn = AsyncConnectionWrapper<AsyncPgConnection>;

/// Creates the schema if missing and runs the platform's and then the service's pending
/// migrations, holding an advisory lock so that replicas starting together migrate once.
pub async fn migrate(config: &DbConfig, service: &'static EmbeddedMigrations) -> Result<(), DbError> {
    refuse_shared_versions(Static(service))?;
    with_migration_conn(config, move |conn| {
        run_pending(conn, Static(&PLATFORM_MIGRATIONS))?;
        run_pending(conn, Static(service))
    })
    .await
}

/// Reverts every migration of the service and then of the platform (tests and operators only).
pub async fn revert_all(config: &DbConfig, service: &'static EmbeddedMigrations) -> Result<(), DbError> {
    with_migration_conn(config, move |conn| {
        revert(conn, Static(service))?;
        revert(conn, Static(&PLATFORM_MIGRATIONS))
    })
    .await
}

/// Lets a `const` set of embedded migrations be used more than once.
#[derive(Clone, Copy)]
struct Static(&'static EmbeddedMigrations);

impl MigrationSource<Pg> for Static {
    fn migrations(&self) -> diesel::migration::Result<Vec<Box<dyn diesel::migration::Migration<Pg>>>> {
        MigrationSource::<Pg>::migrations(self.0)
    }
}

fn versions(source: Static) -> Result<Vec<String>, DbError> {
    Ok(MigrationSource::<Pg>::migrations(&source)
        .map_err(|e| DbError::Migration(e.to_string()))?
        .iter()
        .map(|m| m.name().version().to_string())
        .collect())
}

/// The platform's and a service's migrations share one bookkeeping table per schema, so a
/// service migration with a platform migration's version would be taken as applied and
/// silently skipped.
fn refuse_shared_versions(service: Static) -> Result<(), DbError> {
    let platform = versions(Static(&PLATFORM_MIGRATIONS))?;
    if let Some(shared) = versions(service)?.into_iter().find(|v| platform.contains(v)) {
        return Err(DbError::Migration(format!(
            "migration version {shared} is used by the platform and by the service; rename the service's"
        )));
    }
    Ok(())
}

fn run_pending(conn: &mut MigrationConn, source: Static) -> Result<(), DbError> {
    let applied = conn.run_pending_migrations(source).map_err(|e| DbError::Migration(e.to_string()))?;
    for version in applied {
        tracing::info!(migration.version = %version, "applied migration");
    }
    Ok(())
}

fn revert(conn: &mut MigrationConn, source: Static) -> Result<(), DbError> {
    let ours: Vec<String> = MigrationSource::<Pg>::migrations(&source)
        .map_err(|e| DbError::Migration(e.to_string()))?
        .iter()
        .map(|m| m.name().version().to_string())
        .collect();
    // Revert only this source's migrations, newest first; the other source shares the table.
    loop {
        let applied = conn.applied_migrations().map_err(|e| DbError::Migration(e.to_string()))?;
        let Some(newest) = applied.iter().filter(|v| ours.contains(&v.to_string())).max() else {
            return Ok(());
        };
        let migration = MigrationSource::<Pg>::migrations(&source)
            .map_err(|e| DbError::Migration(e.to_string()))?
            .into_iter()
            .find(|m| m.name().version() == *newest)
            .ok_or_else(|| DbError::Migration(format!("migration {newest} not found")))?;
        conn.revert_migration(&migration).map_err(|e| DbError::Migration(e.to_string()))?;
    }
}

async fn with_migration_conn<F>(config: &DbConfig, work: F) -> Result<(), DbError>
where
    F: FnOnce(&mut MigrationConn) -> Result<(), DbError> + Send + 'static,
{
    let url = config.url.expose_secret().to_owned();
    let schema = config.schema.clone();
    let search_path = config.set_search_path();
    // diesel's migration harness is synchronous; the wrapper drives the async connection from a
    // blocking thread.
    tokio::task::spawn_blocking(move || {
        let mut conn = <MigrationConn as diesel::Connection>::establish(&url)?;
        let lock_key = format!("penny.migrate.{schema}");
        let lock = |conn: &mut MigrationConn, function: &str| {
            let query = diesel::sql_query(format!("SELECT {function}(hashtext($1))"))
                .bind::<diesel::sql_types::Text, _>(&lock_key);
            diesel::RunQueryDsl::execute(query, conn)
        };
        lock(&mut conn, "pg_advisory_lock")?;
        let result = diesel::RunQueryDsl::execute(
            diesel::sql_query(format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"")),
            &mut conn,
        )
        .and_then(|_| diesel::RunQueryDsl::execute(diesel::sql_query(&search_path), &mut conn))
        .map_err(DbError::from)
        .and_then(|_| work(&mut conn));
        lock(&mut conn, "pg_advisory_unlock")?;
        result
    })
    .await?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_checked_before_they_reach_sql() {
        let url = SecretString::from("postgres://localhost/x");
        assert!(DbConfig::new(url.clone(), "ledger", 1).is_ok());
        assert!(DbConfig::new(url.clone(), "mail_ingest2", 1).is_ok());
        for bad in ["", "Ledger", "1abc", "a-b", "x\"; DROP SCHEMA y; --", &"a".repeat(64)] {
            assert!(DbConfig::new(url.clone(), bad, 1).is_err(), "{bad:?}");
        }
    }
}
