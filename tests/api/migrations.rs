//! Migration 0019 rebuilds SQLite's `bookings` (a CHECK constraint cannot be altered) while
//! other tables reference it: a database holding bookings and their history migrates with
//! every row kept, foreign keys still enforced, and `unverified` accepted.
use std::str::FromStr;

use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

#[tokio::test]
async fn sqlite_0019_keeps_bookings_and_their_references() {
    let file = std::env::temp_dir().join(format!("tourgate-0019-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&file);
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", file.display()))
        .unwrap()
        .create_if_missing(true)
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .unwrap();
    let all = sqlx::migrate!("./migrations/sqlite");
    let before = Migrator {
        migrations: all
            .migrations
            .iter()
            .filter(|m| m.version < 19)
            .cloned()
            .collect::<Vec<_>>()
            .into(),
        ..Migrator::DEFAULT
    };
    before.run(&pool).await.unwrap();
    sqlx::query(
        "INSERT INTO bookings (id, token, idempotency_key, community_slug, state, first_name, \
         last_name, email, phone, sms_consent, source_title, slot_start, slot_start_knock, \
         slot_end, knock_attempts, created_at, updated_at, first_access_at, review) VALUES \
         ('tg_1', 't', 'k', 'maple-court', 'confirmed', 'A', 'B', 'a@example.com', '+1', 1, \
         's', '2026-12-03T10:00:00Z', 'x', '2026-12-03T10:30:00Z', 0, 'c', 'u', 'f', \
         'awaiting_office')",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO booking_events (booking_id, at, actor, kind, detail) \
         VALUES ('tg_1', 'x', 'system', 'confirmed', 'd')",
    )
    .execute(&pool)
    .await
    .unwrap();

    all.run(&pool).await.unwrap();
    let row: (String, String, Option<String>, Option<String>) =
        sqlx::query_as("SELECT id, state, first_access_at, review FROM bookings WHERE id = 'tg_1'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        row,
        (
            "tg_1".into(),
            "confirmed".into(),
            Some("f".into()),
            Some("awaiting_office".into())
        )
    );
    let (events,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM booking_events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(events, 1);
    let dangling: Vec<(String,)> = sqlx::query_as("PRAGMA foreign_key_check")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(dangling.is_empty());
    // The new state is taken, a made-up one is not, and references are still checked.
    sqlx::query("UPDATE bookings SET state = 'unverified'")
        .execute(&pool)
        .await
        .unwrap();
    assert!(sqlx::query("UPDATE bookings SET state = 'lost'")
        .execute(&pool)
        .await
        .is_err());
    assert!(sqlx::query(
        "INSERT INTO booking_events (booking_id, at, actor, kind, detail) \
         VALUES ('tg_none', 'x', 'system', 'k', 'd')"
    )
    .execute(&pool)
    .await
    .is_err());
    // Every index came back.
    let (indexes,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'bookings' \
         AND name LIKE 'bookings_%'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(indexes, 5);
    pool.close().await;
    let _ = std::fs::remove_file(&file);
}
