//! Door access for tours: the provider port, the built-in code provider, and the no-show sweep.
mod codes;
mod no_show;
mod provider;

pub use codes::{window, AccessCode, CodeProvider};
pub use no_show::{run_no_show_sweep, sweep_no_shows, NO_SHOW_GRACE};
pub use provider::{AccessError, AccessGrant, AccessProvider};
