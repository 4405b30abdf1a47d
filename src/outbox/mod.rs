//! The durable outbox: every write to Knock after booking is a row written in the same
//! transaction as the state change it reports, then delivered by workers (in every `serve`
//! process) with retries, until Knock has it or it is dead and visible to staff.
pub mod cli;
mod delivery;
pub mod jobs;
mod lock;
mod mail;
mod metrics;
pub mod retry;
mod revive;
mod worker;

pub use jobs::{
    AppointmentCancelJob, EmailJob, EmailLogJob, Job, JobKind, JobState, OutboxJob, VisitJob,
};
pub use retry::GIVE_UP_AFTER;
pub use revive::{resend_access, retry_dead, Actor};
pub use worker::{run_outbox_worker, Outbox, LEASE};
