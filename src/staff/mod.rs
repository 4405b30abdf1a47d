//! Vendor staff: accounts (kept by the operator from the CLI), passwords, sign-in with its
//! attempt limits and device cookies, database sessions, and who sees which community.
mod accounts;
mod client_ip;
mod desk;
mod device;
mod password;
mod rate_limit;
mod session;
mod sign_in;

pub use accounts::{add_staff, grant, list, password_matches, remove, revoke, StaffError};
pub use client_ip::{client_ip, rate_key};
pub use desk::{AttentionItem, BookingRecord, RetryOutcome, StaffDesk};
pub use device::{Device, DeviceCookie, DeviceKey, DEVICE_LIFETIME};
pub use password::{NewPassword, PasswordProblem};
pub use rate_limit::{
    SignInLimits, ACCOUNT_ATTEMPTS, ADDRESS_ATTEMPTS, DEVICE_ATTEMPTS, PAIR_ATTEMPTS, WINDOW,
};
pub use session::{touch as touch_session, SessionToken, IDLE_TIMEOUT, MAX_LIFETIME};
pub use sign_in::{sign_in, SignIn, SignInAttempt};

use crate::config::{Communities, Community};

pub use crate::store::{AuditEntry, StaffMember};

impl StaffMember {
    /// The configured communities this member may see, in the file's order.
    pub fn visible<'a>(&self, all: &'a Communities) -> Vec<&'a Community> {
        all.all().iter().filter(|c| self.sees(&c.slug)).collect()
    }
}
