//! Device cookies (OWASP's brute-force protection for authentication): a browser that signed
//! in to an account before shows so with a cookie the server signed, and is spared that
//! account's limit across all addresses. A flood of wrong passwords for the account from
//! elsewhere then slows the guessers but does not lock the member out.
//!
//! The cookie carries the account (its lower-cased e-mail), a random nonce and when it was
//! issued, signed with an HMAC-SHA-256 under a key derived from `TOURGATE_SECRET_KEY`. Nothing
//! is stored at issue: a cookie is checked by its signature, in constant time. Wrong passwords
//! sent with a device cookie are recorded under its nonce, and a cookie with too many of them
//! is refused for the window (see `sign_in`), so a stolen cookie is no licence to guess.
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use subtle::ConstantTimeEq;

/// How long a device cookie is good for (its Max-Age too).
pub const DEVICE_LIFETIME: Duration = Duration::days(365);

const VERSION: &str = "d1";

/// The key device cookies are signed with: its own, so that it says nothing about the
/// session cookie's key or the door codes'.
#[derive(Clone)]
pub struct DeviceKey([u8; 32]);

impl std::fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeviceKey(..)")
    }
}

/// A device cookie that checked out for the account being signed in to. Debug hides the
/// nonce: with the account it names the browser.
#[derive(Clone, PartialEq, Eq)]
pub struct Device {
    nonce: String,
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Device(..)")
    }
}

impl Device {
    /// The key its refused attempts are recorded under.
    pub fn nonce(&self) -> &str {
        &self.nonce
    }
}

/// A device cookie's value, as issued. Debug hides it: it spares its holder a limit.
pub struct DeviceCookie(String);

impl std::fmt::Debug for DeviceCookie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeviceCookie(..)")
    }
}

impl DeviceCookie {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl DeviceKey {
    pub fn new(secret_key: &str) -> Self {
        Self(hmac_sha256::HMAC::mac(
            b"tourgate staff device cookies v1",
            secret_key.as_bytes(),
        ))
    }

    fn mac(&self, signed: &str) -> [u8; 32] {
        hmac_sha256::HMAC::mac(signed.as_bytes(), self.0)
    }

    /// A new cookie value for `account` (lower-cased e-mail), with a fresh nonce.
    pub fn issue(&self, account: &str, now: DateTime<Utc>) -> DeviceCookie {
        let nonce = URL_SAFE_NO_PAD.encode(crate::config::random_bytes::<16>());
        let signed = format!(
            "{VERSION}.{}.{nonce}.{}",
            URL_SAFE_NO_PAD.encode(account.as_bytes()),
            now.timestamp()
        );
        let mac = URL_SAFE_NO_PAD.encode(self.mac(&signed));
        DeviceCookie(format!("{signed}.{mac}"))
    }

    /// The device, when `value` is a cookie this key signed for `account`, issued no longer
    /// than DEVICE_LIFETIME before `now`. Anything else (another account's cookie, a forged,
    /// altered, expired or junk value) is None: the browser is a new one.
    pub fn verify(&self, value: &str, account: &str, now: DateTime<Utc>) -> Option<Device> {
        if value.len() > 512 {
            return None;
        }
        let (signed, mac) = value.rsplit_once('.')?;
        let presented = URL_SAFE_NO_PAD.decode(mac).ok()?;
        let expected = self.mac(signed);
        if !bool::from(expected.as_slice().ct_eq(presented.as_slice())) {
            return None;
        }
        // Signed by us: the fields are as `issue` wrote them.
        let mut parts = signed.split('.');
        let (Some(VERSION), Some(who), Some(nonce), Some(issued), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        if URL_SAFE_NO_PAD.decode(who).ok()? != account.as_bytes() {
            return None;
        }
        let issued = DateTime::from_timestamp(issued.parse().ok()?, 0)?;
        if issued > now + Duration::minutes(5) || now - issued > DEVICE_LIFETIME {
            return None;
        }
        Some(Device {
            nonce: nonce.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANN: &str = "ann@example.com";

    fn key() -> DeviceKey {
        DeviceKey::new("0123456789abcdef0123456789abcdef")
    }

    #[test]
    fn a_cookie_is_good_for_its_account_only() {
        let now = Utc::now();
        let cookie = key().issue(ANN, now).into_string();
        let device = key().verify(&cookie, ANN, now).expect("valid for Ann");
        assert!(!device.nonce().is_empty());
        assert!(key().verify(&cookie, "bob@example.com", now).is_none());
    }

    #[test]
    fn every_issue_has_its_own_nonce() {
        let now = Utc::now();
        let a = key()
            .verify(key().issue(ANN, now).as_str(), ANN, now)
            .unwrap();
        let b = key()
            .verify(key().issue(ANN, now).as_str(), ANN, now)
            .unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn another_key_or_any_altered_character_is_refused() {
        let now = Utc::now();
        let cookie = key().issue(ANN, now).into_string();
        let other = DeviceKey::new("another secret key, at least 32 characters");
        assert!(other.verify(&cookie, ANN, now).is_none());
        for i in 0..cookie.len() {
            let mut bytes = cookie.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let altered = String::from_utf8(bytes).unwrap();
            assert!(key().verify(&altered, ANN, now).is_none(), "at {i}");
        }
        for junk in ["", ".", "d1....", "junk", &"A".repeat(600)] {
            assert!(key().verify(junk, ANN, now).is_none(), "{junk}");
        }
    }

    #[test]
    fn a_cookie_is_good_for_a_year() {
        let issued = Utc::now();
        let cookie = key().issue(ANN, issued).into_string();
        let later = issued + DEVICE_LIFETIME - Duration::minutes(1);
        assert!(key().verify(&cookie, ANN, later).is_some());
        let too_late = issued + DEVICE_LIFETIME + Duration::minutes(1);
        assert!(key().verify(&cookie, ANN, too_late).is_none());
        assert!(key()
            .verify(&cookie, ANN, issued - Duration::hours(1))
            .is_none());
    }
}
