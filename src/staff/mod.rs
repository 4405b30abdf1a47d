//! Vendor staff: accounts (kept by the operator from the CLI), passwords, sign-in with its
//! attempt limits, database sessions, and who sees which community.
mod accounts;
mod client_ip;
mod password;
mod rate_limit;
mod session;
mod sign_in;

pub use accounts::{add_staff, grant, list, remove, revoke, StaffError};
pub use client_ip::client_ip;
pub use password::{NewPassword, PasswordProblem};
pub use rate_limit::{SignInLimits, ACCOUNT_ATTEMPTS, ADDRESS_ATTEMPTS};
pub use session::{SessionToken, IDLE_TIMEOUT, MAX_LIFETIME};
pub use sign_in::{sign_in, SignIn, SignInAttempt};

use chrono::{DateTime, Utc};

use crate::config::{Communities, Community};

/// A staff account as the application sees it (never with its password hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffMember {
    pub id: i64,
    /// Lower-cased.
    pub email: String,
    /// Sees every community, present and future.
    pub is_admin: bool,
    pub communities: Vec<String>,
}

impl StaffMember {
    pub fn sees(&self, slug: &str) -> bool {
        self.is_admin || self.communities.iter().any(|c| c == slug)
    }

    /// The configured communities this member may see, in the file's order.
    pub fn visible<'a>(&self, all: &'a Communities) -> Vec<&'a Community> {
        all.all().iter().filter(|c| self.sees(&c.slug)).collect()
    }
}

/// One row of the staff audit.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub booking_id: Option<String>,
    pub detail: String,
}
