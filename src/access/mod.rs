//! Door access for tours: the provider port, the built-in code provider, and what happens when
//! a tour's window ends.
mod codes;
mod provider;
mod window_end;

pub use codes::{window, AccessCode, CodeProvider};
pub use provider::{AccessError, AccessGrant, AccessProvider};
pub use window_end::{run_window_sweep, sweep_ended_windows, WindowSweep, WINDOW_GRACE};
