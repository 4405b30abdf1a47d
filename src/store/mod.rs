//! Storage: one type for both backends, chosen once from the URL. The SQL is written once, in
//! the subset SQLite and PostgreSQL share (`$1` placeholders work on both); the `on_backend!`
//! macro expands a body once per pool type, so each expansion is type-checked against its own
//! driver. Backend-specific code lives in `sqlite.rs` and `postgres.rs` only.
mod access_grants;
pub use access_grants::{GrantLock, GrantRow, LOCAL_STATE_AT};
mod booking_row;
mod bookings;
mod feedback;
pub use bookings::InsertOutcome;
pub(crate) mod outbox;
pub use outbox::{OutboxCount, TryOutcome};
mod postgres;
mod retention;
pub use retention::{PruneBefore, Pruned};
mod sqlite;
mod staff;
pub use staff::{
    AttentionCandidates, AuditEntry, NewStaffSession, SignInFailures, SignInKeys, StaffChange,
    StaffMember, StoredSession,
};
pub(crate) mod tx;
pub use tx::{BookingChange, ClientAllowance, MoveSlot, Tx, WebhookRecord};

use std::sync::Arc;

use sqlx::{PgPool, SqlitePool};
use tokio::sync::Notify;

use crate::config::DatabaseUrl;

/// The database of this process, and the bell its outbox worker listens to: a transaction
/// that queued a job rings it when it commits.
#[derive(Clone)]
pub struct Store {
    db: Db,
    bell: Arc<Notify>,
    writers: Option<WriteGate>,
}

/// SQLite's writers, queued in this process before `BEGIN IMMEDIATE`. SQLite takes one write
/// transaction at a time; without the queue, every writer but one waits in SQLite's busy
/// handler, which sleeps 1 to 100 ms between tries and leaves the lock idle meanwhile (under
/// load, most of a write's time: BENCHMARKS.md). Other processes still meet the busy handler.
#[derive(Clone)]
pub(crate) struct WriteGate(Arc<tokio::sync::Semaphore>);

impl WriteGate {
    /// As long as SQLite's own busy timeout: a writer that waits longer fails as it did.
    const WAIT: std::time::Duration = sqlite::BUSY_TIMEOUT;

    pub(crate) async fn enter(&self) -> Result<tokio::sync::OwnedSemaphorePermit, StoreError> {
        match tokio::time::timeout(Self::WAIT, self.0.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            // Never closed; a timeout is SQLite's "database is locked", as before the queue.
            _ => Err(StoreError::Database(sqlx::Error::PoolTimedOut)),
        }
    }
}

/// The pool of one backend.
#[derive(Clone)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
}

/// Runs `$body` with `$pool` bound to the concrete pool of this store.
macro_rules! on_backend {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store.db() {
            $crate::store::Db::Sqlite($pool) => $body,
            $crate::store::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_backend;

/// [`on_backend!`] for a write outside a [`Tx`] (one statement, committed on its own): on
/// SQLite it waits its turn in the [`WriteGate`] first, as a transaction does. A statement
/// that skipped the queue would meet a transaction holding the lock and sleep in SQLite's
/// busy handler, holding a pooled connection all the while.
macro_rules! on_writer {
    ($store:expr, $pool:ident => $body:expr) => {{
        let _turn = $store.write_turn().await?;
        $crate::store::on_backend!($store, $pool => $body)
    }};
}
pub(crate) use on_writer;

impl Store {
    pub async fn connect(url: &DatabaseUrl) -> Result<Self, StoreError> {
        let (db, writers) = match url {
            DatabaseUrl::Sqlite(u) => (
                Db::Sqlite(sqlite::connect(u).await?),
                Some(WriteGate(Arc::new(tokio::sync::Semaphore::new(1)))),
            ),
            DatabaseUrl::Postgres(u) => (Db::Postgres(postgres::connect(u.expose()).await?), None),
        };
        Ok(Self {
            db,
            bell: Arc::new(Notify::new()),
            writers,
        })
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// This process's turn to write, held until dropped (SQLite's in-process queue; `None` at
    /// once on PostgreSQL, whose writers do not queue).
    pub(crate) async fn write_turn(
        &self,
    ) -> Result<Option<tokio::sync::OwnedSemaphorePermit>, StoreError> {
        match &self.writers {
            Some(gate) => Ok(Some(gate.enter().await?)),
            None => Ok(None),
        }
    }

    /// Rung after a commit that queued a job; this process's outbox worker waits on it.
    pub fn bell(&self) -> &Arc<Notify> {
        &self.bell
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.db {
            Db::Sqlite(p) => sqlx::migrate!("./migrations/sqlite").run(p).await?,
            Db::Postgres(p) => sqlx::migrate!("./migrations/postgres").run(p).await?,
        }
        Ok(())
    }

    pub fn backend(&self) -> &'static str {
        match &self.db {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// A write transaction for a use case to build from [`Tx`]'s blocks.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Tx::begin(self).await
    }

    /// For /readyz: a round trip to the database.
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_backend!(self, p => { sqlx::query("SELECT 1").execute(p).await?; });
        Ok(())
    }

    pub async fn close(&self) {
        on_backend!(self, p => p.close().await)
    }
}

/// True when `e` is a unique-constraint violation, on either backend (SQLite gives no names,
/// so callers decide what collided by looking again).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}
