//! Knock wire types.
