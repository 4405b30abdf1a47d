//! Verifying an inbound provider webhook on its raw body: the Standard Webhooks algorithm
//! (HMAC-SHA256 over `id.timestamp.body`, a `whsec_` secret, five minutes' tolerance), under
//! either header family: `webhook-*` (Standard Webhooks, our `/callbacks/access`) or `svix-*`
//! (Svix's default, what Seam sends; PROVIDERS.md §1.6).
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use standardwebhooks::{Webhook, WebhookError};

/// Why a delivery was refused (answered 401).
#[derive(Debug, thiserror::Error)]
pub enum Unverified {
    #[error("the webhook secret cannot be used")]
    Secret,
    #[error("webhook-timestamp is more than 5 minutes off")]
    Stale,
    #[error("webhook-id, webhook-timestamp and webhook-signature (or svix-*) are required")]
    Missing,
    #[error("the signature does not match")]
    Mismatch,
}

/// Checks the signature; returns the delivery id (`webhook-id` or `svix-id`). `get` reads a
/// request header by its lower-case name.
pub fn verify<'a>(
    secret: &str,
    get: impl Fn(&str) -> Option<&'a [u8]>,
    body: &[u8],
) -> Result<String, Unverified> {
    let webhook = Webhook::new(secret).map_err(|_| Unverified::Secret)?;
    let family = if get("webhook-id").is_some() {
        "webhook"
    } else {
        "svix"
    };
    let mut map = HeaderMap::new();
    for (ours, std) in [
        ("id", "webhook-id"),
        ("timestamp", "webhook-timestamp"),
        ("signature", "webhook-signature"),
    ] {
        let name = format!("{family}-{ours}");
        if let Some(v) = get(&name).and_then(|v| HeaderValue::from_bytes(v).ok()) {
            map.insert(HeaderName::from_static(std), v);
        }
    }
    webhook.verify(body, &map).map_err(|e| match e {
        WebhookError::TimestampTooOldError | WebhookError::FutureTimestampError => {
            Unverified::Stale
        }
        WebhookError::MissingHeader(_) | WebhookError::InvalidHeader(_) => Unverified::Missing,
        _ => Unverified::Mismatch,
    })?;
    let id = map
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    if id.is_empty() || id.len() > 255 {
        return Err(Unverified::Missing);
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

    fn signed(prefix: &str, body: &[u8]) -> Vec<(String, Vec<u8>)> {
        let wh = Webhook::new(SECRET).unwrap();
        let ts = chrono::Utc::now().timestamp();
        let sig = wh.sign("msg_1", ts, body).unwrap();
        vec![
            (format!("{prefix}-id"), b"msg_1".to_vec()),
            (format!("{prefix}-timestamp"), ts.to_string().into_bytes()),
            (format!("{prefix}-signature"), sig.into_bytes()),
        ]
    }

    fn check(headers: &[(String, Vec<u8>)], body: &[u8]) -> Result<String, Unverified> {
        verify(
            SECRET,
            |n| {
                headers
                    .iter()
                    .find(|(k, _)| k == n)
                    .map(|(_, v)| v.as_slice())
            },
            body,
        )
    }

    #[test]
    fn both_header_families_verify_and_a_changed_body_does_not() {
        let body = br#"{"event_id":"e1"}"#;
        for prefix in ["svix", "webhook"] {
            let h = signed(prefix, body);
            assert_eq!(check(&h, body).unwrap(), "msg_1", "{prefix}");
            assert!(matches!(
                check(&h, br#"{"event_id":"e2"}"#),
                Err(Unverified::Mismatch)
            ));
        }
        assert!(matches!(check(&[], body), Err(Unverified::Missing)));
    }
}
