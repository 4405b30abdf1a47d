//! Everything about Knock's partner ("syndication") API: the typed client we use against the
//! real service. The sandbox that emulates it is the `knock-sandbox` crate.
pub mod client;
pub mod error;
pub mod types;

pub use client::{KeyFamily, KnockAuthHealth, KnockClient, KnockClientConfig};
pub use error::KnockError;

/// Knock's two documented stage test keys (API.md §1); the sandbox accepts both everywhere.
pub const STAGE_PROSPECT_KEY: &str = "syndication-prospect-TEST-KEY";
pub const STAGE_APPOINTMENT_KEY: &str = "syndication-appointment-TEST-KEY";
/// Knock's documented stage test community (API.md §1).
pub const STAGE_COMMUNITY_ID: &str = "b9XQN6eMvvrr07zg";
