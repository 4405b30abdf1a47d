//! SQLite specifics: pragmas chosen on purpose.
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

/// Each connection's page cache, in KiB.
const CACHE_KIB: u32 = 1024;

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
        .foreign_keys(true)
        // Each connection's page cache, in KiB (SQLite's default is 2,000): the pages read
        // most (the tables' upper B-tree levels) fit well within it, and the rest come from
        // the OS's file cache; at the default, four full caches were 8 MB of the process's
        // peak memory (BENCHMARKS.md).
        .pragma("cache_size", format!("-{CACHE_KIB}"));
    if let Some(dir) = options.get_filename().parent() {
        if !memory && !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir).map_err(sqlx::Error::Io)?;
        }
    }
    SqlitePoolOptions::new()
        // An in-memory database exists once per connection: keep exactly one. Otherwise four:
        // SQLite writes one transaction at a time whatever the pool, and each connection is a
        // thread with a page cache of its own (up to `CACHE_KIB`), which eight made most of the
        // process's memory after the binary (BENCHMARKS.md).
        .max_connections(if memory { 1 } else { 4 })
        .acquire_timeout(Duration::from_secs(10))
        // A local file has no link to go stale: the ping sqlx sends before every acquire by
        // default was a round trip to the connection's thread per query (BENCHMARKS.md).
        .test_before_acquire(false)
        .connect_with(options)
        .await
}
