//! Knock failures, classified.
