//! SQLite specifics: pragmas chosen on purpose.
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

/// How long a writer waits for SQLite's write lock before "database is locked".
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

pub async fn connect(url: &str) -> Result<SqlitePool, sqlx::Error> {
    let memory = url.contains(":memory:") || url.contains("mode=memory");
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        // WAL: readers never block the writer; NORMAL is durable across process crashes in WAL.
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(BUSY_TIMEOUT)
        .foreign_keys(true);
    if let Some(dir) = options.get_filename().parent() {
        if !memory && !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir).map_err(sqlx::Error::Io)?;
        }
    }
    SqlitePoolOptions::new()
        // An in-memory database exists once per connection: keep exactly one. Otherwise four:
        // SQLite writes one transaction at a time whatever the pool, and each connection is a
        // thread with a page cache of its own (up to 2 MB), which eight made most of the
        // process's memory after the binary (BENCHMARKS.md).
        .max_connections(if memory { 1 } else { 4 })
        .acquire_timeout(Duration::from_secs(10))
        // A local file has no link to go stale: the ping sqlx sends before every acquire by
        // default was a round trip to the connection's thread per query (BENCHMARKS.md).
        .test_before_acquire(false)
        .connect_with(options)
        .await
}
