//! Tourgate: self-guided apartment tours for communities on the Knock CRM.
pub mod access;
pub mod booking;
pub mod calendar;
pub mod config;
pub mod demo;
pub mod domain;
pub mod knock;
pub mod mail;
pub mod memory;
pub mod metrics;
pub mod outbox;
pub mod staff;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod web;
