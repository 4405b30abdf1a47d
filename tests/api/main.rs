//! Behaviour through the front door: the real app on port 0, the in-process Knock sandbox
//! reached over HTTP, SQLite always and PostgreSQL when TEST_POSTGRES_URL is set.
mod helpers;

mod availability;
mod booking;
mod branding;
mod callbacks;
mod cancel;
mod completion;
mod demo;
mod door_code;
mod inputs;
mod integrity;
mod knock_differs;
mod limits;
mod mail;
mod metrics;
mod migrations;
mod notify;
mod ops;
mod outbox;
mod renter;
mod renter_flow;
mod reschedule;
mod seam;
mod smtp;
mod staff;
mod today;
