//! Door access for tours: the provider port and the built-in code provider.
mod codes;
mod proof;
mod provider;

pub use crate::domain::rules::WINDOW_GRACE;
pub use codes::{window, CodeProvider};
pub use proof::{EmailProof, PROOF_COOKIE, PROOF_PARAM};
pub use provider::{AccessCode, AccessError, AccessGrant, AccessProvider};

use crate::config::Community;
use crate::domain::{Booking, BookingId};

/// The provider a deployment uses, chosen once at start. The booking use cases ask it to
/// issue, move and revoke access and never name a provider; a lock vendor's adapter is one
/// more variant here.
#[derive(Clone)]
pub enum Access {
    /// The built-in door codes.
    Codes(CodeProvider),
}

impl Access {
    /// The built-in codes, keyed by the server's secret key.
    pub fn codes(secret_key: &str) -> Self {
        Self::Codes(CodeProvider::new(secret_key))
    }
}

impl AccessProvider for Access {
    fn name(&self) -> &'static str {
        match self {
            Self::Codes(p) => p.name(),
        }
    }

    async fn issue(&self, community: &Community, b: &Booking) -> Result<AccessGrant, AccessError> {
        match self {
            Self::Codes(p) => p.issue(community, b).await,
        }
    }

    async fn move_access(
        &self,
        community: &Community,
        b: &Booking,
    ) -> Result<AccessGrant, AccessError> {
        match self {
            Self::Codes(p) => p.move_access(community, b).await,
        }
    }

    async fn revoke(&self, booking: &BookingId) -> Result<(), AccessError> {
        match self {
            Self::Codes(p) => p.revoke(booking).await,
        }
    }
}
