//! The Seam settings (`SEAM_API_KEY`, `SEAM_ENDPOINT`, `SEAM_WEBHOOK_SECRET`), needed once a
//! community's lock is a Seam device (`access = { provider = "seam", ... }`).
use url::Url;

use super::{bad, check_whsec, random_secret, Communities, ConfigError, Secret, Source};

/// Seam's own API (PROVIDERS.md §1.1).
pub const DEFAULT_SEAM_ENDPOINT: &str = "https://connect.getseam.com";
/// The emulator's key (`tourgate seam-sandbox`), taken in demo mode when none is set.
pub const SANDBOX_SEAM_API_KEY: &str = "seam_test_tourgate";

#[derive(Debug, Clone)]
pub struct SeamSettings {
    /// `Authorization: Bearer` key: a `seam_` workspace API key.
    pub api_key: Secret,
    pub endpoint: Url,
    /// `whsec_` secret of the Seam webhook that posts to `/callbacks/seam`.
    pub webhook_secret: Secret,
    /// Demo mode with neither `SEAM_ENDPOINT` nor `SEAM_API_KEY` set: `serve` starts the Seam
    /// emulator in the process and points the adapter at it (`endpoint` is then replaced by
    /// the emulator's address). Never outside demo mode.
    pub in_process_emulator: bool,
}

/// `None` when no community uses Seam and no key is set; otherwise every value checked.
pub(super) fn from_sources(
    src: &Source,
    communities: &Communities,
    demo: bool,
) -> Result<Option<SeamSettings>, ConfigError> {
    // The first Seam lock, named in the error when the settings are missing.
    let used = communities.all().iter().find_map(|c| {
        c.seam_locks().first().map(|l| match l.unit {
            None => format!("community `{}`'s lock is a Seam device", c.slug),
            Some(u) => format!("community `{}` unit `{u}`'s lock is a Seam device", c.slug),
        })
    });
    let key = src.get("SEAM_API_KEY");
    if used.is_none() && key.is_none() {
        return Ok(None);
    }
    let in_process_emulator = demo && key.is_none() && src.get("SEAM_ENDPOINT").is_none();
    let api_key = match key {
        Some(k) if k.starts_with("seam_") && k.len() >= 10 && !k.contains(char::is_whitespace) => {
            Secret::new(k)
        }
        Some(_) => return Err(bad("SEAM_API_KEY", "must be a Seam API key (seam_...)")),
        None if demo => Secret::new(SANDBOX_SEAM_API_KEY.to_string()),
        None => {
            let why = used
                .as_deref()
                .unwrap_or("a community's lock is a Seam device");
            return Err(bad("SEAM_API_KEY", format!("is required: {why}")));
        }
    };
    let endpoint = match src.get("SEAM_ENDPOINT") {
        None => Url::parse(DEFAULT_SEAM_ENDPOINT).expect("valid URL"),
        Some(v) => {
            let url = Url::parse(&v)
                .map_err(|e| bad("SEAM_ENDPOINT", format!("`{v}` is not a URL: {e}")))?;
            if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
                return Err(bad("SEAM_ENDPOINT", "must be an http:// or https:// URL"));
            }
            if url.query().is_some() || url.fragment().is_some() {
                return Err(bad("SEAM_ENDPOINT", "must not carry a query or a fragment"));
            }
            url
        }
    };
    let webhook_secret = match src.get("SEAM_WEBHOOK_SECRET") {
        Some(v) => {
            check_whsec(&v).map_err(|p| bad("SEAM_WEBHOOK_SECRET", p))?;
            Secret::new(v)
        }
        None if demo => random_secret(),
        None => return Err(bad(
            "SEAM_WEBHOOK_SECRET",
            "is required with Seam: the whsec_ secret of the webhook posting to /callbacks/seam",
        )),
    };
    Ok(Some(SeamSettings {
        api_key,
        endpoint,
        webhook_secret,
        in_process_emulator,
    }))
}
