//! Storage: one type for both backends, chosen once from the URL. The SQL is written once, in
//! the subset SQLite and PostgreSQL share (`$1` placeholders work on both); the `on_backend!`
//! macro expands a body once per pool type, so each expansion is type-checked against its own
//! driver. Backend-specific code lives in `sqlite.rs` and `postgres.rs` only.
mod bookings;
pub use bookings::InsertOutcome;
mod callbacks;
mod cancel;
pub use callbacks::{AccessCallback, CallbackKind, CallbackOutcome, RenterDone};
pub use cancel::{CancelOutcome, Canceller};
pub(crate) mod outbox;
pub use outbox::{OutboxCount, TryOutcome};
mod postgres;
mod reschedule;
pub use reschedule::{RescheduleOutcome, Rescheduled};
mod sqlite;
mod staff;
pub use staff::{NewStaffSession, StaffChange};

use sqlx::{PgPool, SqlitePool};

use crate::config::DatabaseUrl;

#[derive(Clone)]
pub enum Store {
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
        match $store {
            $crate::store::Store::Sqlite($pool) => $body,
            $crate::store::Store::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_backend;

/// Opens a write transaction: `BEGIN IMMEDIATE` on SQLite so that two writers never both read
/// and then fail to upgrade their lock (SQLITE_BUSY in the middle of a transaction).
pub(crate) trait WriteTx: sqlx::Database {
    fn begin_write(
        pool: &sqlx::Pool<Self>,
    ) -> impl std::future::Future<Output = Result<sqlx::Transaction<'static, Self>, sqlx::Error>> + Send;
}

impl WriteTx for sqlx::Sqlite {
    async fn begin_write(
        pool: &SqlitePool,
    ) -> Result<sqlx::Transaction<'static, Self>, sqlx::Error> {
        pool.begin_with("BEGIN IMMEDIATE").await
    }
}

impl WriteTx for sqlx::Postgres {
    async fn begin_write(pool: &PgPool) -> Result<sqlx::Transaction<'static, Self>, sqlx::Error> {
        pool.begin().await
    }
}

impl Store {
    pub async fn connect(url: &DatabaseUrl) -> Result<Self, StoreError> {
        match url {
            DatabaseUrl::Sqlite(u) => Ok(Self::Sqlite(sqlite::connect(u).await?)),
            DatabaseUrl::Postgres(u) => Ok(Self::Postgres(postgres::connect(u.expose()).await?)),
        }
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(p) => sqlx::migrate!("./migrations/sqlite").run(p).await?,
            Self::Postgres(p) => sqlx::migrate!("./migrations/postgres").run(p).await?,
        }
        Ok(())
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
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
