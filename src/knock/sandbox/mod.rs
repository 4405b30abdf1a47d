//! The Knock sandbox.
