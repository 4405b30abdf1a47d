//! The built-in access provider: a six-digit door code per booking, working from shortly
//! before the tour until shortly after it, and only while the booking is live.
//!
//! The code is never stored or logged: it is an HMAC of the booking id and its start under the
//! server's secret key, recomputed for the booking page and for the keypad. So a database dump
//! holds no codes, a reschedule gives a new code, and a cancelled (or no-show) booking's code
//! stops working because the keypad accepts only live bookings. Rotating
//! `TOURGATE_SECRET_KEY` changes every code (in demo mode: at each start).
use chrono::{DateTime, Utc};
use subtle::ConstantTimeEq;

use super::provider::{AccessCode, AccessError, AccessGrant, AccessProvider};
use crate::config::Community;
use crate::domain::{Booking, BookingId};

const DIGITS: u32 = 6;

#[derive(Clone)]
pub struct CodeProvider {
    key: Vec<u8>,
}

impl CodeProvider {
    pub fn new(secret_key: &str) -> Self {
        // A key of its own, so that codes say nothing about the cookie key.
        let key = hmac_sha256::HMAC::mac(b"tourgate access codes v1", secret_key.as_bytes());
        Self { key: key.to_vec() }
    }

    pub fn code_for(&self, booking: &BookingId, start: DateTime<Utc>) -> AccessCode {
        let msg = format!("{}|{}", booking.as_str(), start.timestamp());
        let mac = hmac_sha256::HMAC::mac(msg.as_bytes(), &self.key);
        let mut first = [0u8; 8];
        first.copy_from_slice(&mac[..8]);
        let n = u64::from_be_bytes(first) % 10u64.pow(DIGITS);
        AccessCode::new(format!("{n:0width$}", width = DIGITS as usize))
    }

    /// The keypad: the live booking among `candidates` whose code is `entered` and whose
    /// window holds `now`. Every candidate is compared, in constant time.
    pub fn open<'a>(
        &self,
        community: &Community,
        candidates: &'a [Booking],
        entered: &str,
        now: DateTime<Utc>,
    ) -> Option<&'a Booking> {
        let entered: String = entered.chars().filter(|c| !c.is_whitespace()).collect();
        let mut found = None;
        for b in candidates {
            let code = self.code_for(&b.id, b.slot_start());
            let matches: bool = code.reveal().as_bytes().ct_eq(entered.as_bytes()).into();
            if matches
                && b.state.is_live()
                && window(community, b).contains(&now)
                && found.is_none()
            {
                found = Some(b);
            }
        }
        found
    }
}

/// When a booking's code works.
pub fn window(community: &Community, b: &Booking) -> std::ops::RangeInclusive<DateTime<Utc>> {
    (b.slot_start() - community.access.valid_before)..=(b.slot_end + community.access.valid_after)
}

impl AccessProvider for CodeProvider {
    fn name(&self) -> &'static str {
        "built-in codes"
    }

    async fn issue(&self, community: &Community, b: &Booking) -> Result<AccessGrant, AccessError> {
        let w = window(community, b);
        Ok(AccessGrant {
            code: Some(self.code_for(&b.id, b.slot_start())),
            valid_from: *w.start(),
            valid_until: *w.end(),
            unit_codes: Vec::new(),
        })
    }

    /// The code is derived from the start: a moved booking has a new one already.
    async fn move_access(
        &self,
        community: &Community,
        b: &Booking,
    ) -> Result<AccessGrant, AccessError> {
        self.issue(community, b).await
    }

    /// Nothing to undo on a device: the keypad refuses bookings that are not live.
    async fn revoke(&self, _booking: &BookingId) -> Result<(), AccessError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn codes_are_six_digits_stable_per_booking_and_differ_between_bookings() {
        let p = CodeProvider::new("k".repeat(40).as_str());
        let start = Utc.with_ymd_and_hms(2026, 11, 22, 18, 0, 0).unwrap();
        let a = BookingId::generate();
        let code = p.code_for(&a, start);
        assert_eq!(code.reveal().len(), 6);
        assert!(code.reveal().bytes().all(|c| c.is_ascii_digit()));
        assert_eq!(p.code_for(&a, start), code);
        let others: Vec<AccessCode> = (0..20)
            .map(|_| p.code_for(&BookingId::generate(), start))
            .collect();
        assert!(others.iter().filter(|c| **c == code).count() <= 1);
        // Rescheduled: a new code. Another key: another code.
        assert_ne!(p.code_for(&a, start + chrono::Duration::hours(1)), code);
        assert_ne!(
            CodeProvider::new("x".repeat(40).as_str()).code_for(&a, start),
            code
        );
    }

    #[test]
    fn debug_output_never_shows_a_code() {
        let p = CodeProvider::new("secret-key-secret-key-secret-key");
        let code = p.code_for(&BookingId::generate(), Utc::now());
        assert!(!format!("{code:?}").contains(code.reveal()));
    }
}
