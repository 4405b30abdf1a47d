//! Tourgate: self-guided apartment tours for communities on the Knock CRM.
pub mod calendar;
pub mod domain;
pub mod knock;
pub mod metrics;
