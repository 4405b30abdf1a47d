//! Typed Knock client.
