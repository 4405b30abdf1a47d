//! Proof that whoever holds a browser read the renter's e-mail: the links in our mails carry
//! an HMAC of the booking id under the server's secret key, and opening one leaves that value
//! in a cookie scoped to the booking's page. The door code is shown only to such a browser
//! (unless the community relaxes it), so that whoever typed someone's details into the form
//! does not get a code to the building.
//!
//! Like the door codes, proofs are never stored: they are recomputed to check.
use base64::Engine;
use subtle::ConstantTimeEq;

use crate::domain::BookingId;

/// The query parameter the links in our mails carry.
pub const PROOF_PARAM: &str = "proof";
/// The cookie that keeps a browser's proof, scoped to `/bookings/{token}`.
pub const PROOF_COOKIE: &str = "tg_proof";

#[derive(Clone)]
pub struct EmailProof {
    key: Vec<u8>,
}

impl EmailProof {
    pub fn new(secret_key: &str) -> Self {
        // A key of its own, so that proofs say nothing about the cookie key or the codes.
        let key = hmac_sha256::HMAC::mac(b"tourgate email proof v1", secret_key.as_bytes());
        Self { key: key.to_vec() }
    }

    /// The proof for `booking`: base64url, 43 characters.
    pub fn for_booking(&self, booking: &BookingId) -> String {
        let msg = format!("{}|email-proof", booking.as_str());
        let mac = hmac_sha256::HMAC::mac(msg.as_bytes(), &self.key);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac)
    }

    /// Whether `presented` is `booking`'s proof (compared in constant time).
    pub fn verify(&self, booking: &BookingId, presented: &str) -> bool {
        let expected = self.for_booking(booking);
        expected.as_bytes().ct_eq(presented.as_bytes()).into()
    }
}

impl std::fmt::Debug for EmailProof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EmailProof(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proof_is_per_booking_and_per_key_and_only_the_exact_value_passes() {
        let p = EmailProof::new(&"k".repeat(40));
        let a = BookingId::generate();
        let b = BookingId::generate();
        let proof = p.for_booking(&a);
        assert_eq!(proof.len(), 43);
        assert!(p.verify(&a, &proof));
        assert!(!p.verify(&b, &proof));
        assert!(!p.verify(&a, &proof[..42]));
        assert!(!p.verify(&a, ""));
        assert!(!EmailProof::new(&"x".repeat(40)).verify(&a, &proof));
    }
}
