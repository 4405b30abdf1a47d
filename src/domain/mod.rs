//! Domain types: parsed at the edge, impossible to build in a bad state.
mod bedrooms;

pub use bedrooms::Bedrooms;
