//! Cross-site request forgery defences for every form: a synchronizer token kept in the
//! (encrypted) session and compared in constant time, plus the browser's own word on where the
//! request came from (Sec-Fetch-Site, else Origin).
use actix_session::Session;
use actix_web::HttpRequest;
use base64::Engine;
use subtle::ConstantTimeEq;
use url::Url;

use super::error::WebError;

const KEY: &str = "csrf";

/// The visitor's token, created on first use.
pub fn token(session: &Session) -> Result<String, WebError> {
    if let Ok(Some(t)) = session.get::<String>(KEY) {
        return Ok(t);
    }
    let t = random_token();
    session
        .insert(KEY, &t)
        .map_err(|e| WebError::internal("session", e))?;
    Ok(t)
}

/// A fresh token when the visitor's privileges change (sign-in, sign-out): a token seen before
/// the change, by whoever saw it, is worth nothing after it.
pub fn renew(session: &Session) -> Result<(), WebError> {
    session.renew();
    session
        .insert(KEY, random_token())
        .map_err(|e| WebError::internal("session", e))
}

pub fn random_token() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(crate::config::random_bytes::<32>())
}

/// Refuses a form post that did not come from our own pages.
pub fn verify(
    req: &HttpRequest,
    session: &Session,
    submitted: Option<&str>,
    public_url: &Url,
) -> Result<(), WebError> {
    const REFUSED: &str = "This form has expired or did not come from this site. Go back, reload the page and try again.";
    if !same_origin(req, public_url) {
        tracing::warn!("refused a cross-site form post");
        return Err(WebError::Forbidden(REFUSED));
    }
    let expected = session.get::<String>(KEY).ok().flatten();
    match (expected, submitted) {
        (Some(e), Some(s)) if bool::from(e.as_bytes().ct_eq(s.as_bytes())) => Ok(()),
        _ => {
            tracing::warn!("refused a form post with a missing or wrong CSRF token");
            Err(WebError::Forbidden(REFUSED))
        }
    }
}

fn same_origin(req: &HttpRequest, public_url: &Url) -> bool {
    let header = |n: &str| req.headers().get(n).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        return matches!(site, "same-origin" | "none");
    }
    match header("origin") {
        // Old browsers and non-browser clients send neither; the token still has to match.
        None => true,
        Some("null") => false,
        Some(origin) => {
            let ours = public_url.origin().ascii_serialization();
            let host = req.connection_info().host().to_string();
            origin == ours
                || Url::parse(origin)
                    .ok()
                    .and_then(|u| {
                        u.host_str().map(|h| match u.port() {
                            Some(p) => format!("{h}:{p}"),
                            None => h.to_string(),
                        })
                    })
                    .as_deref()
                    == Some(host.as_str())
        }
    }
}
