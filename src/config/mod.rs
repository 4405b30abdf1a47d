//! Settings from the environment (and an optional `tourgate.toml` with the same keys),
//! validated once at start: a bad value stops the process with one line naming the variable.
mod brand;
mod communities;
mod seam;
mod secret;

pub use brand::{directions_url, Brand, Image, TourKit};
pub use communities::{
    AccessTimes, Communities, Community, CommunityError, Confirmation, Lock, LockAt,
    SandboxSchedule, UnitLock, DEMO_EARLY_ACCESS, LATEST_EARLY_ACCESS,
};
pub use seam::{SeamSettings, DEFAULT_SEAM_ENDPOINT, SANDBOX_SEAM_API_KEY};
pub use secret::{kept_key, KeyFileError, KeyOrigin, Secret};

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use rand::RngCore;
use url::Url;

/// A configuration problem, always naming the variable at fault.
#[derive(Debug, thiserror::Error)]
#[error("{var}: {problem}")]
pub struct ConfigError {
    pub var: &'static str,
    pub problem: String,
}

fn bad(var: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        problem: problem.into(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub enum DatabaseUrl {
    Sqlite(String),
    Postgres(Secret),
}

#[derive(Debug, Clone)]
pub struct KnockSettings {
    /// `None` means demo mode: the sandbox is served in-process and reached over HTTP.
    pub base_url: Option<Url>,
    /// Key for Knock's prospect endpoints (`KNOCK_PROSPECT_API_KEY`, else `KNOCK_API_KEY`);
    /// which endpoints take which key is in `knock::client`.
    pub prospect_api_key: Secret,
    /// Key for Knock's appointment endpoints (`KNOCK_APPOINTMENT_API_KEY`, else
    /// `KNOCK_API_KEY`).
    pub appointment_api_key: Secret,
    /// The header the key is sent in (`KNOCK_API_KEY_HEADER`), lower case.
    pub api_key_header: String,
    pub connect_timeout: Duration,
    pub timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    /// Where `/metrics` is served on its own (`TOURGATE_METRICS_LISTEN`); `None`: `off`.
    pub metrics_listen: Option<SocketAddr>,
    pub public_url: Url,
    pub database: DatabaseUrl,
    pub knock: KnockSettings,
    pub smtp_url: Option<Secret>,
    pub communities: Communities,
    pub access_webhook_secret: Secret,
    /// Set when a community's lock is a Seam device (or `SEAM_API_KEY` is set).
    pub seam: Option<SeamSettings>,
    pub secret_key: Secret,
    /// Configured, random for this process, or (demo `serve`) kept under the data directory.
    pub secret_key_origin: KeyOrigin,
    pub log_format: LogFormat,
    /// Background workers in this process (booking completion, later the outbox).
    pub workers: bool,
    /// Directory for the SQLite file and mail when no URL says otherwise.
    pub data_dir: PathBuf,
    /// Sender of renter mail (`MAIL_FROM`); derived from the public host when unset.
    pub mail_from: Option<lettre::message::Mailbox>,
    /// The Knock agent username e-mail logs are filed under (`KNOCK_AGENT_USERNAME`).
    pub knock_agent_username: String,
    /// Reverse proxies whose X-Forwarded-For is believed (for per-client limits).
    pub trusted_proxies: Vec<IpAddr>,
    /// Bookings one client address may make in an hour (`TOURGATE_BOOKINGS_PER_HOUR`).
    pub bookings_per_hour: u32,
    /// A booking form posted sooner than this after it was shown is a bot's
    /// (`TOURGATE_MIN_FORM_SECONDS`; 3, or 0 in demo mode).
    pub min_form_seconds: u32,
    /// How long Knock's available times are served from memory before a refresh
    /// (`TOURGATE_AVAILABILITY_FRESH_SECS`, 30; 0: every read asks Knock).
    pub availability_fresh: std::time::Duration,
    /// How long the last good times are served while Knock fails or asks us to wait
    /// (`TOURGATE_AVAILABILITY_STALE_SECS`, 300).
    pub availability_stale: std::time::Duration,
    /// How long the workers keep what is only needed for a while.
    pub retention: Retention,
}

/// What the workers' hourly prune keeps (README "Security limits").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Access-provider webhook ids (`TOURGATE_KEEP_WEBHOOK_DAYS`, 30): replays are recognised
    /// this long; providers retry for hours, and signatures older than five minutes are
    /// refused anyway.
    pub webhook_days: u32,
    /// Delivered and skipped outbox rows (`TOURGATE_KEEP_DELIVERED_DAYS`, 90); the booking's
    /// history stays.
    pub delivered_days: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            webhook_days: 30,
            delivered_days: 90,
        }
    }
}

impl Settings {
    /// True when Knock is the in-process sandbox: no real Knock, no real secrets needed.
    pub fn demo(&self) -> bool {
        self.knock.base_url.is_none()
    }

    /// Reads the process environment and `./tourgate.toml` (or `TOURGATE_CONFIG`).
    pub fn from_env() -> Result<Self, ConfigError> {
        let env: HashMap<String, String> = std::env::vars().collect();
        let file = match env.get("TOURGATE_CONFIG") {
            Some(p) => Some(read_toml("TOURGATE_CONFIG", Path::new(p))?),
            None if Path::new("tourgate.toml").exists() => {
                Some(read_toml("TOURGATE_CONFIG", Path::new("tourgate.toml"))?)
            }
            None => None,
        };
        Self::from_sources(&Source {
            env,
            file: file.unwrap_or_default(),
        })
    }

    pub fn from_sources(src: &Source) -> Result<Self, ConfigError> {
        let listen: SocketAddr = match src.get("TOURGATE_LISTEN") {
            Some(v) => v.parse().map_err(|_| {
                bad(
                    "TOURGATE_LISTEN",
                    format!("`{v}` is not an address like 127.0.0.1:8080"),
                )
            })?,
            None => "127.0.0.1:8080".parse().expect("valid default"),
        };
        let metrics_listen = match src.get("TOURGATE_METRICS_LISTEN").as_deref().map(str::trim) {
            Some("off") => None,
            Some(v) => Some(v.parse::<SocketAddr>().map_err(|_| {
                bad(
                    "TOURGATE_METRICS_LISTEN",
                    format!("`{v}` is not an address like 127.0.0.1:9464, or off"),
                )
            })?),
            None => Some(DEFAULT_METRICS_LISTEN.parse().expect("valid default")),
        };
        if metrics_listen == Some(listen) && listen.port() != 0 {
            return Err(bad(
                "TOURGATE_METRICS_LISTEN",
                format!("`{listen}` is TOURGATE_LISTEN's address: give metrics their own"),
            ));
        }
        let public_url = match src.get("TOURGATE_PUBLIC_URL") {
            Some(v) => parse_http_url("TOURGATE_PUBLIC_URL", &v)?,
            None => parse_http_url("TOURGATE_PUBLIC_URL", &format!("http://{listen}"))?,
        };
        let data_dir = PathBuf::from(
            src.get("TOURGATE_DATA_DIR")
                .unwrap_or_else(|| "data".into()),
        );
        let database = match src.get("DATABASE_URL") {
            Some(v) if v.starts_with("postgres://") || v.starts_with("postgresql://") => {
                DatabaseUrl::Postgres(Secret::new(v))
            }
            Some(v) if v.starts_with("sqlite:") => DatabaseUrl::Sqlite(v),
            Some(_) => {
                return Err(bad(
                    "DATABASE_URL",
                    "must start with sqlite: or postgres://",
                ))
            }
            None => DatabaseUrl::Sqlite(format!(
                "sqlite://{}",
                data_dir.join("tourgate.db").to_string_lossy()
            )),
        };
        let base_url = src
            .get("KNOCK_BASE_URL")
            .map(|v| parse_http_url("KNOCK_BASE_URL", &v))
            .transpose()?;
        let demo = base_url.is_none();
        let knock = KnockSettings {
            base_url,
            prospect_api_key: knock_key(src, "KNOCK_PROSPECT_API_KEY", demo)?,
            appointment_api_key: knock_key(src, "KNOCK_APPOINTMENT_API_KEY", demo)?,
            api_key_header: knock_key_header(src)?,
            connect_timeout: seconds(src, "KNOCK_CONNECT_TIMEOUT_SECS", 3.0)?,
            timeout: seconds(src, "KNOCK_TIMEOUT_SECS", 10.0)?,
        };
        let smtp_url = match src.get("SMTP_URL") {
            Some(v) if v.starts_with("smtp://") || v.starts_with("smtps://") => {
                Some(Secret::new(v))
            }
            Some(_) => return Err(bad("SMTP_URL", "must start with smtp:// or smtps://")),
            None => None,
        };
        let communities =
            match src.get("TOURGATE_COMMUNITIES") {
                Some(p) => Communities::load(Path::new(&p))
                    .map_err(|e| bad("TOURGATE_COMMUNITIES", e.to_string()))?,
                None if Path::new("communities.toml").exists() => {
                    Communities::load(Path::new("communities.toml"))
                        .map_err(|e| bad("TOURGATE_COMMUNITIES", e.to_string()))?
                }
                None if demo => Communities::demo(),
                None => return Err(bad(
                    "TOURGATE_COMMUNITIES",
                    "no communities file: set it or put communities.toml in the working directory",
                )),
            };
        let access_webhook_secret = match src.get("ACCESS_WEBHOOK_SECRET") {
            Some(v) => {
                check_whsec(&v).map_err(|p| bad("ACCESS_WEBHOOK_SECRET", p))?;
                Secret::new(v)
            }
            None if demo => random_secret(),
            None => {
                return Err(bad(
                    "ACCESS_WEBHOOK_SECRET",
                    "is required outside demo mode",
                ))
            }
        };
        let (secret_key, secret_key_origin) = match src.get("TOURGATE_SECRET_KEY") {
            Some(v) if v.len() < 32 => {
                return Err(bad("TOURGATE_SECRET_KEY", "must be at least 32 characters"))
            }
            Some(v) => (Secret::new(v), KeyOrigin::Configured),
            // `serve` replaces it with the one kept under the data directory (startup.rs).
            None if demo => (
                Secret::new(base64::engine::general_purpose::STANDARD.encode(random_bytes::<64>())),
                KeyOrigin::Random,
            ),
            None => return Err(bad("TOURGATE_SECRET_KEY", "is required outside demo mode")),
        };
        let log_format = match src.get("TOURGATE_LOG_FORMAT").as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(v) => {
                return Err(bad(
                    "TOURGATE_LOG_FORMAT",
                    format!("`{v}` is not text or json"),
                ))
            }
        };
        let workers = match src.get("TOURGATE_WORKERS").as_deref() {
            None | Some("on") | Some("true") | Some("1") => true,
            Some("off") | Some("false") | Some("0") => false,
            Some(v) => return Err(bad("TOURGATE_WORKERS", format!("`{v}` is not on or off"))),
        };
        let trusted_proxies = match src.get("TOURGATE_TRUSTED_PROXIES") {
            Some(v) => parse_ip_list("TOURGATE_TRUSTED_PROXIES", &v)?,
            None => Vec::new(),
        };
        let bookings_per_hour = match src.get("TOURGATE_BOOKINGS_PER_HOUR") {
            Some(v) => match v.trim().parse::<u32>() {
                Ok(n) if (1..=100_000).contains(&n) => n,
                _ => {
                    return Err(bad(
                        "TOURGATE_BOOKINGS_PER_HOUR",
                        format!("`{v}` is not a whole number from 1 to 100000"),
                    ))
                }
            },
            None => 5,
        };
        let min_form_seconds = match src.get("TOURGATE_MIN_FORM_SECONDS") {
            Some(v) => match v.trim().parse::<u32>() {
                Ok(n) if n <= 600 => n,
                _ => {
                    return Err(bad(
                        "TOURGATE_MIN_FORM_SECONDS",
                        format!("`{v}` is not a whole number of seconds from 0 to 600"),
                    ))
                }
            },
            // The demo is tried by hand and by scripted checks, with no real Knock to abuse.
            None if demo => 0,
            None => 3,
        };
        let availability_fresh = match src.get("TOURGATE_AVAILABILITY_FRESH_SECS") {
            Some(v) => match v.trim().parse::<u64>() {
                Ok(n) if n <= 3600 => std::time::Duration::from_secs(n),
                _ => {
                    return Err(bad(
                        "TOURGATE_AVAILABILITY_FRESH_SECS",
                        format!("`{v}` is not a whole number of seconds from 0 to 3600"),
                    ))
                }
            },
            None => std::time::Duration::from_secs(30),
        };
        let availability_stale = match src.get("TOURGATE_AVAILABILITY_STALE_SECS") {
            Some(v) => match v.trim().parse::<u64>() {
                Ok(n) if n <= 86_400 && std::time::Duration::from_secs(n) >= availability_fresh => {
                    std::time::Duration::from_secs(n)
                }
                _ => {
                    return Err(bad(
                        "TOURGATE_AVAILABILITY_STALE_SECS",
                        format!(
                            "`{v}` is not a whole number of seconds from \
                             TOURGATE_AVAILABILITY_FRESH_SECS ({}) to 86400",
                            availability_fresh.as_secs()
                        ),
                    ))
                }
            },
            None => std::time::Duration::from_secs(300).max(availability_fresh),
        };
        let mail_from = src
            .get("MAIL_FROM")
            .map(|v| {
                v.parse::<lettre::message::Mailbox>().map_err(|_| {
                    bad(
                        "MAIL_FROM",
                        format!("`{v}` is not an address like Tours <tours@example.com>"),
                    )
                })
            })
            .transpose()?;
        let knock_agent_username = match src.get("KNOCK_AGENT_USERNAME") {
            Some(v) if v.trim().is_empty() || v.len() > 100 => {
                return Err(bad("KNOCK_AGENT_USERNAME", "must be 1 to 100 characters"))
            }
            Some(v) => v,
            None if demo => "tourgate".to_string(),
            None => {
                return Err(bad(
                    "KNOCK_AGENT_USERNAME",
                    "is required when KNOCK_BASE_URL is set (the Knock agent e-mail logs are filed under)",
                ))
            }
        };
        let defaults = Retention::default();
        let retention = Retention {
            webhook_days: days(src, "TOURGATE_KEEP_WEBHOOK_DAYS", defaults.webhook_days, 2)?,
            delivered_days: days(
                src,
                "TOURGATE_KEEP_DELIVERED_DAYS",
                defaults.delivered_days,
                7,
            )?,
        };
        let seam = seam::from_sources(src, &communities, demo)?;
        Ok(Settings {
            seam,
            retention,
            mail_from,
            knock_agent_username,
            listen,
            metrics_listen,
            public_url,
            database,
            knock,
            smtp_url,
            communities,
            access_webhook_secret,
            secret_key,
            secret_key_origin,
            log_format,
            workers,
            data_dir,
            trusted_proxies,
            bookings_per_hour,
            min_form_seconds,
            availability_fresh,
            availability_stale,
        })
    }
}

/// The metrics listener when none is configured: this machine only, Prometheus's
/// conventional exporter range.
pub const DEFAULT_METRICS_LISTEN: &str = "127.0.0.1:9464";

/// Where settings come from: the environment first, then the file.
#[derive(Debug, Default, Clone)]
pub struct Source {
    pub env: HashMap<String, String>,
    pub file: HashMap<String, String>,
}

impl Source {
    pub fn get(&self, key: &str) -> Option<String> {
        self.env
            .get(key)
            .or_else(|| self.file.get(key))
            .or_else(|| self.file.get(&key.to_ascii_lowercase()))
            .cloned()
    }
}

fn read_toml(var: &'static str, path: &Path) -> Result<HashMap<String, String>, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| bad(var, format!("cannot read {}: {e}", path.display())))?;
    let table: toml::Table =
        toml::from_str(&text).map_err(|e| bad(var, format!("{}: {e}", path.display())))?;
    table
        .into_iter()
        .map(|(k, v)| match v {
            toml::Value::String(s) => Ok((k, s)),
            toml::Value::Integer(i) => Ok((k, i.to_string())),
            toml::Value::Float(f) => Ok((k, f.to_string())),
            toml::Value::Boolean(b) => Ok((k, b.to_string())),
            _ => Err(bad(
                var,
                format!("{}: `{k}` must be a string or number", path.display()),
            )),
        })
        .collect()
}

fn parse_http_url(var: &'static str, v: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(v).map_err(|e| bad(var, format!("`{v}` is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(bad(
            var,
            format!("`{v}` must be an http:// or https:// URL"),
        ));
    }
    Ok(url)
}

fn parse_ip_list(var: &'static str, v: &str) -> Result<Vec<IpAddr>, ConfigError> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpAddr>()
                .map(|ip| ip.to_canonical())
                .map_err(|_| bad(var, format!("`{s}` is not an IP address")))
        })
        .collect()
}

/// A Knock key: its own variable, else the shared `KNOCK_API_KEY`, else (demo mode only)
/// the stage test key Knock's articles use for that family (the sandbox takes both).
fn knock_key(src: &Source, var: &'static str, demo: bool) -> Result<Secret, ConfigError> {
    const SHARED: &str = "KNOCK_API_KEY";
    let checked = |var: &'static str, v: String| {
        if v.trim().is_empty() {
            Err(bad(var, "is empty"))
        } else if reqwest::header::HeaderValue::from_str(&v).is_err() {
            Err(bad(var, "contains characters not allowed in a header"))
        } else {
            Ok(Secret::new(v))
        }
    };
    if let Some(v) = src.get(var) {
        return checked(var, v);
    }
    if let Some(v) = src.get(SHARED) {
        return checked(SHARED, v);
    }
    if demo {
        let stage = if var == "KNOCK_PROSPECT_API_KEY" {
            crate::knock::STAGE_PROSPECT_KEY
        } else {
            crate::knock::STAGE_APPOINTMENT_KEY
        };
        return Ok(Secret::new(stage.to_string()));
    }
    let other = if var == "KNOCK_PROSPECT_API_KEY" {
        "KNOCK_APPOINTMENT_API_KEY"
    } else {
        "KNOCK_PROSPECT_API_KEY"
    };
    if src.get(other).is_some() {
        // The other family has its own key: this one is what is missing.
        Err(bad(
            var,
            format!(
                "is required when KNOCK_BASE_URL is set and {other} is (or set {SHARED} for both)"
            ),
        ))
    } else {
        Err(bad(SHARED, "is required when KNOCK_BASE_URL is set"))
    }
}

/// Headers the client sets itself: the key cannot go in one of them.
const RESERVED_HEADERS: [&str; 7] = [
    "accept",
    "connection",
    "content-length",
    "content-type",
    "host",
    "transfer-encoding",
    "user-agent",
];

fn knock_key_header(src: &Source) -> Result<String, ConfigError> {
    const VAR: &str = "KNOCK_API_KEY_HEADER";
    let Some(v) = src.get(VAR) else {
        return Ok(crate::knock::client::DEFAULT_API_KEY_HEADER.to_string());
    };
    let name = reqwest::header::HeaderName::from_bytes(v.trim().as_bytes())
        .map_err(|_| bad(VAR, format!("`{v}` is not an HTTP header name")))?;
    if RESERVED_HEADERS.contains(&name.as_str()) {
        return Err(bad(VAR, format!("`{v}` is a header Tourgate sets itself")));
    }
    Ok(name.as_str().to_string())
}

fn seconds(src: &Source, var: &'static str, default: f64) -> Result<Duration, ConfigError> {
    match src.get(var) {
        None => Ok(Duration::from_secs_f64(default)),
        Some(v) => match v.parse::<f64>() {
            Ok(s) if s > 0.0 && s <= 300.0 => Ok(Duration::from_secs_f64(s)),
            _ => Err(bad(
                var,
                format!("`{v}` is not a number of seconds between 0 and 300"),
            )),
        },
    }
}

/// A whole number of days from `min` to ten years.
fn days(src: &Source, var: &'static str, default: u32, min: u32) -> Result<u32, ConfigError> {
    match src.get(var) {
        None => Ok(default),
        Some(v) => match v.trim().parse::<u32>() {
            Ok(d) if (min..=3650).contains(&d) => Ok(d),
            _ => Err(bad(
                var,
                format!("`{v}` is not a whole number of days from {min} to 3650"),
            )),
        },
    }
}

/// Standard Webhooks secrets are `whsec_` followed by base64 of the key bytes.
fn check_whsec(v: &str) -> Result<(), String> {
    let b64 = v.strip_prefix("whsec_").ok_or("must start with whsec_")?;
    let key = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| "the part after whsec_ is not base64".to_string())?;
    if key.len() < 16 {
        return Err("the key is shorter than 16 bytes".into());
    }
    Ok(())
}

/// A fresh `whsec_` secret (demo mode).
fn random_secret() -> Secret {
    Secret::new(format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(random_bytes::<32>())
    ))
}

/// Unguessable bytes (tokens, keys, salts) from the thread's CSPRNG (ChaCha, seeded and
/// periodically reseeded from the OS): as strong as asking the OS each time, without a system
/// call per token on every first page view (BENCHMARKS.md).
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    rand::thread_rng().fill_bytes(&mut b);
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn availability_cache_settings_default_and_are_checked() {
        let s = Settings::from_sources(&src(&[])).unwrap();
        assert_eq!(s.availability_fresh.as_secs(), 30);
        assert_eq!(s.availability_stale.as_secs(), 300);
        let s = Settings::from_sources(&src(&[
            ("TOURGATE_AVAILABILITY_FRESH_SECS", "0"),
            ("TOURGATE_AVAILABILITY_STALE_SECS", "0"),
        ]))
        .unwrap();
        assert_eq!(
            (
                s.availability_fresh.as_secs(),
                s.availability_stale.as_secs()
            ),
            (0, 0)
        );
        for bad in ["-1", "x", "3601", "1.5"] {
            let e = Settings::from_sources(&src(&[("TOURGATE_AVAILABILITY_FRESH_SECS", bad)]))
                .unwrap_err();
            assert_eq!(e.var, "TOURGATE_AVAILABILITY_FRESH_SECS", "{bad:?}");
        }
        for bad in ["10", "x", "86401"] {
            let e = Settings::from_sources(&src(&[
                ("TOURGATE_AVAILABILITY_FRESH_SECS", "30"),
                ("TOURGATE_AVAILABILITY_STALE_SECS", bad),
            ]))
            .unwrap_err();
            assert_eq!(e.var, "TOURGATE_AVAILABILITY_STALE_SECS", "{bad:?}");
        }
    }

    fn src(pairs: &[(&str, &str)]) -> Source {
        Source {
            env: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            file: HashMap::new(),
        }
    }

    #[test]
    fn no_configuration_at_all_is_demo_mode() {
        let s = Settings::from_sources(&src(&[])).unwrap();
        assert!(s.demo());
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(s.public_url.as_str(), "http://127.0.0.1:8080/");
        assert!(
            matches!(s.database, DatabaseUrl::Sqlite(ref u) if u.ends_with("data/tourgate.db"))
        );
        assert!(!s.communities.all().is_empty());
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        let e = Settings::from_sources(&src(&[("TOURGATE_LISTEN", "nowhere")])).unwrap_err();
        assert_eq!(e.var, "TOURGATE_LISTEN");
        let e = Settings::from_sources(&src(&[("DATABASE_URL", "mysql://x")])).unwrap_err();
        assert_eq!(e.var, "DATABASE_URL");
        let e = Settings::from_sources(&src(&[("MAIL_FROM", "not an address")])).unwrap_err();
        assert_eq!(e.var, "MAIL_FROM");
        let e = Settings::from_sources(&src(&[("ACCESS_WEBHOOK_SECRET", "plain")])).unwrap_err();
        assert_eq!(e.var, "ACCESS_WEBHOOK_SECRET");
        assert!(e.to_string().starts_with("ACCESS_WEBHOOK_SECRET: "));
    }

    #[test]
    fn retention_is_in_whole_days_within_bounds() {
        let s = Settings::from_sources(&src(&[])).unwrap();
        assert_eq!(s.retention, Retention::default());
        assert_eq!(
            (s.retention.webhook_days, s.retention.delivered_days),
            (30, 90)
        );
        let s = Settings::from_sources(&src(&[
            ("TOURGATE_KEEP_WEBHOOK_DAYS", "7"),
            ("TOURGATE_KEEP_DELIVERED_DAYS", "365"),
        ]))
        .unwrap();
        assert_eq!(
            (s.retention.webhook_days, s.retention.delivered_days),
            (7, 365)
        );
        for (var, v) in [
            ("TOURGATE_KEEP_WEBHOOK_DAYS", "1"),
            ("TOURGATE_KEEP_WEBHOOK_DAYS", "thirty"),
            ("TOURGATE_KEEP_DELIVERED_DAYS", "0"),
            ("TOURGATE_KEEP_DELIVERED_DAYS", "-5"),
            ("TOURGATE_KEEP_DELIVERED_DAYS", "99999"),
        ] {
            let e = Settings::from_sources(&src(&[(var, v)])).unwrap_err();
            assert_eq!(e.var, var, "{v}");
        }
    }

    #[test]
    fn trusted_proxies_are_a_comma_separated_list_of_addresses() {
        let s = Settings::from_sources(&src(&[("TOURGATE_TRUSTED_PROXIES", "10.0.0.1, ::1,")]))
            .unwrap();
        assert_eq!(
            s.trusted_proxies,
            vec![
                "10.0.0.1".parse::<IpAddr>().unwrap(),
                "::1".parse().unwrap()
            ]
        );
        let e = Settings::from_sources(&src(&[("TOURGATE_TRUSTED_PROXIES", "10.0.0.0/8")]))
            .unwrap_err();
        assert_eq!(e.var, "TOURGATE_TRUSTED_PROXIES");
    }

    #[test]
    fn booking_limits_default_to_five_an_hour_and_three_seconds() {
        let s = Settings::from_sources(&src(&[])).unwrap();
        assert_eq!(s.bookings_per_hour, 5);
        assert_eq!(s.min_form_seconds, 0, "demo mode");
        let s = Settings::from_sources(&src(&[
            ("TOURGATE_BOOKINGS_PER_HOUR", "12"),
            ("TOURGATE_MIN_FORM_SECONDS", "4"),
        ]))
        .unwrap();
        assert_eq!((s.bookings_per_hour, s.min_form_seconds), (12, 4));
        for bad in ["0", "-1", "five", "", "100001"] {
            let e =
                Settings::from_sources(&src(&[("TOURGATE_BOOKINGS_PER_HOUR", bad)])).unwrap_err();
            assert_eq!(e.var, "TOURGATE_BOOKINGS_PER_HOUR", "{bad:?}");
        }
        for bad in ["-1", "3s", "601"] {
            let e =
                Settings::from_sources(&src(&[("TOURGATE_MIN_FORM_SECONDS", bad)])).unwrap_err();
            assert_eq!(e.var, "TOURGATE_MIN_FORM_SECONDS", "{bad:?}");
        }
    }

    #[test]
    fn metrics_have_a_loopback_listener_of_their_own_unless_turned_off() {
        let s = Settings::from_sources(&src(&[])).unwrap();
        assert_eq!(s.metrics_listen, Some("127.0.0.1:9464".parse().unwrap()));
        let s =
            Settings::from_sources(&src(&[("TOURGATE_METRICS_LISTEN", "0.0.0.0:9100")])).unwrap();
        assert_eq!(s.metrics_listen, Some("0.0.0.0:9100".parse().unwrap()));
        let s = Settings::from_sources(&src(&[("TOURGATE_METRICS_LISTEN", "off")])).unwrap();
        assert_eq!(s.metrics_listen, None);
        for bad_value in ["9464", "localhost:9464", "on", ""] {
            let e = Settings::from_sources(&src(&[("TOURGATE_METRICS_LISTEN", bad_value)]))
                .unwrap_err();
            assert_eq!(e.var, "TOURGATE_METRICS_LISTEN", "{bad_value:?}");
        }
        let e = Settings::from_sources(&src(&[
            ("TOURGATE_LISTEN", "127.0.0.1:9464"),
            ("TOURGATE_METRICS_LISTEN", "127.0.0.1:9464"),
        ]))
        .unwrap_err();
        assert_eq!(e.var, "TOURGATE_METRICS_LISTEN");
    }

    #[test]
    fn production_requires_its_secrets() {
        let e = Settings::from_sources(&src(&[("KNOCK_BASE_URL", "https://knock.example")]))
            .unwrap_err();
        assert_eq!(e.var, "KNOCK_API_KEY");
    }

    /// Everything production needs but `leave_out`, plus `extra`.
    fn production(leave_out: &str, extra: &[(&'static str, &'static str)]) -> Source {
        let mut pairs = vec![
            ("KNOCK_BASE_URL", "https://knock.example"),
            ("KNOCK_API_KEY", "shared-key"),
            (
                "KNOCK_AGENT_USERNAME",
                "2be16a9e-b3ab-4b1f-9632-575aca1a3d20",
            ),
            (
                "ACCESS_WEBHOOK_SECRET",
                "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
            ),
            ("TOURGATE_SECRET_KEY", "0123456789abcdef0123456789abcdef"),
        ];
        pairs.retain(|(k, _)| *k != leave_out);
        pairs.extend_from_slice(extra);
        src(&pairs)
    }

    /// The Knock settings read from `s`, with a valid communities file of its own.
    fn knock_of(s: &Source) -> Result<KnockSettings, ConfigError> {
        let mut s = s.clone();
        let file = std::env::temp_dir().join(format!(
            "tourgate-config-test-{}.toml",
            random_bytes::<8>()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        ));
        std::fs::write(
            &file,
            "[[community]]\nslug=\"ab\"\nknock_community_id=\"x\"\nname=\"n\"\ntimezone=\"UTC\"\naddress=\"a\"\ntour_minutes=30\ndefault_source_title=\"s\"\n",
        )
        .unwrap();
        s.env
            .insert("TOURGATE_COMMUNITIES".into(), file.display().to_string());
        let got = Settings::from_sources(&s).map(|s| s.knock);
        let _ = std::fs::remove_file(&file);
        got
    }

    #[test]
    fn one_key_serves_both_families_and_each_family_may_have_its_own() {
        let k = knock_of(&production("", &[])).unwrap();
        assert_eq!(k.prospect_api_key.expose(), "shared-key");
        assert_eq!(k.appointment_api_key.expose(), "shared-key");
        assert_eq!(k.api_key_header, "x-api-key");

        let k = knock_of(&production(
            "",
            &[("KNOCK_PROSPECT_API_KEY", "prospect-key")],
        ))
        .unwrap();
        assert_eq!(k.prospect_api_key.expose(), "prospect-key");
        assert_eq!(k.appointment_api_key.expose(), "shared-key");

        let k = knock_of(&production(
            "KNOCK_API_KEY",
            &[
                ("KNOCK_PROSPECT_API_KEY", "p"),
                ("KNOCK_APPOINTMENT_API_KEY", "a"),
            ],
        ))
        .unwrap();
        assert_eq!(
            (k.prospect_api_key.expose(), k.appointment_api_key.expose()),
            ("p", "a")
        );
    }

    #[test]
    fn a_missing_or_bad_key_names_the_variable_to_set() {
        let e = knock_of(&production(
            "KNOCK_API_KEY",
            &[("KNOCK_PROSPECT_API_KEY", "p")],
        ))
        .unwrap_err();
        assert_eq!(e.var, "KNOCK_APPOINTMENT_API_KEY");
        let e = knock_of(&production("KNOCK_API_KEY", &[])).unwrap_err();
        assert_eq!(e.var, "KNOCK_API_KEY");
        let e = knock_of(&production("", &[("KNOCK_APPOINTMENT_API_KEY", " ")])).unwrap_err();
        assert_eq!(e.var, "KNOCK_APPOINTMENT_API_KEY");
        let e = knock_of(&production(
            "",
            &[("KNOCK_PROSPECT_API_KEY", "secret\nkey")],
        ))
        .unwrap_err();
        assert_eq!(e.var, "KNOCK_PROSPECT_API_KEY");
        assert!(!e.to_string().contains("secret"), "{e}");
    }

    #[test]
    fn the_key_header_is_configurable_and_checked() {
        let k = knock_of(&production("", &[("KNOCK_API_KEY_HEADER", "ApiKey")])).unwrap();
        assert_eq!(k.api_key_header, "apikey");
        for bad_name in ["x api key", "", "Content-Type", "x-api-key:"] {
            let e = knock_of(&production("", &[("KNOCK_API_KEY_HEADER", bad_name)])).unwrap_err();
            assert_eq!(e.var, "KNOCK_API_KEY_HEADER", "{bad_name:?}");
        }
    }

    #[test]
    fn the_knock_agent_is_required_outside_demo_mode_only() {
        let e = knock_of(&production("KNOCK_AGENT_USERNAME", &[])).unwrap_err();
        assert_eq!(e.var, "KNOCK_AGENT_USERNAME");
        assert!(
            e.to_string()
                .starts_with("KNOCK_AGENT_USERNAME: is required"),
            "{e}"
        );
        let demo = Settings::from_sources(&src(&[])).unwrap();
        assert_eq!(demo.knock_agent_username, "tourgate");
    }

    #[test]
    fn demo_mode_uses_the_stage_key_of_each_family() {
        let s = Settings::from_sources(&src(&[])).unwrap();
        assert_eq!(
            s.knock.prospect_api_key.expose(),
            crate::knock::STAGE_PROSPECT_KEY
        );
        assert_eq!(
            s.knock.appointment_api_key.expose(),
            crate::knock::STAGE_APPOINTMENT_KEY
        );
        let s = Settings::from_sources(&src(&[("KNOCK_API_KEY", "mine")])).unwrap();
        assert_eq!(s.knock.prospect_api_key.expose(), "mine");
    }

    #[test]
    fn the_file_fills_in_what_the_environment_does_not_set() {
        let mut s = src(&[("TOURGATE_LISTEN", "127.0.0.1:9000")]);
        s.file
            .insert("TOURGATE_LISTEN".into(), "127.0.0.1:1".into());
        s.file
            .insert("tourgate_public_url".into(), "https://tours.example".into());
        let settings = Settings::from_sources(&s).unwrap();
        assert_eq!(settings.listen.port(), 9000);
        assert_eq!(settings.public_url.as_str(), "https://tours.example/");
    }

    /// Settings read from `s` with a communities file whose one community uses a Seam lock.
    fn with_seam_lock(s: &Source) -> Result<Settings, ConfigError> {
        with_communities(
            s,
            "[[community]]\nslug=\"ab\"\nknock_community_id=\"x\"\nname=\"n\"\ntimezone=\"UTC\"\naddress=\"a\"\ntour_minutes=30\ndefault_source_title=\"s\"\naccess = { provider = \"seam\", device_id = \"dev-1\" }\n",
        )
    }

    #[test]
    fn a_seam_lock_on_a_unit_alone_needs_the_seam_settings_and_the_error_names_the_unit() {
        let file = "[[community]]\nslug=\"ab\"\nknock_community_id=\"x\"\nname=\"n\"\ntimezone=\"UTC\"\naddress=\"a\"\ntour_minutes=30\ndefault_source_title=\"s\"\nunits = [\"101\", \"2B\"]\n[community.unit_access]\n\"2B\" = { provider = \"seam\", device_id = \"dev-2\" }\n";
        let e = with_communities(&production("", &[]), file).unwrap_err();
        assert_eq!(e.var, "SEAM_API_KEY");
        let said = e.to_string();
        assert!(said.contains("`ab`") && said.contains("`2B`"), "{said}");
    }

    fn with_communities(s: &Source, text: &str) -> Result<Settings, ConfigError> {
        let mut s = s.clone();
        let file = std::env::temp_dir().join(format!(
            "tourgate-config-seam-{}.toml",
            random_bytes::<8>()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        ));
        std::fs::write(&file, text).unwrap();
        s.env
            .insert("TOURGATE_COMMUNITIES".into(), file.display().to_string());
        let got = Settings::from_sources(&s);
        let _ = std::fs::remove_file(&file);
        got
    }

    #[test]
    fn a_seam_lock_needs_its_key_and_webhook_secret_and_each_is_checked() {
        // No Seam lock: no Seam settings, none required.
        assert!(knock_of(&production("", &[])).is_ok());
        const WH: &str = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
        let e = with_seam_lock(&production("", &[("SEAM_WEBHOOK_SECRET", WH)])).unwrap_err();
        assert_eq!(e.var, "SEAM_API_KEY");
        let e =
            with_seam_lock(&production("", &[("SEAM_API_KEY", "seam_live_abcdef")])).unwrap_err();
        assert_eq!(e.var, "SEAM_WEBHOOK_SECRET");
        let ok = with_seam_lock(&production(
            "",
            &[
                ("SEAM_API_KEY", "seam_live_abcdef"),
                ("SEAM_WEBHOOK_SECRET", WH),
            ],
        ))
        .unwrap();
        let seam = ok.seam.unwrap();
        assert_eq!(seam.endpoint.as_str(), "https://connect.getseam.com/");
        assert!(!format!("{seam:?}").contains("seam_live_abcdef"));
        for (var, v) in [
            ("SEAM_API_KEY", "sk_live_abcdef"),
            ("SEAM_WEBHOOK_SECRET", "plain"),
            ("SEAM_ENDPOINT", "ftp://seam.example"),
            ("SEAM_ENDPOINT", "not a url"),
        ] {
            let mut extra = vec![
                ("SEAM_API_KEY", "seam_live_abcdef"),
                ("SEAM_WEBHOOK_SECRET", WH),
            ];
            extra.retain(|(k, _)| *k != var);
            extra.push((var, v));
            let e = with_seam_lock(&production("", &extra)).unwrap_err();
            assert_eq!(e.var, var, "{var}={v}");
            assert!(e.to_string().starts_with(var), "{e}");
        }
        assert!(!seam.in_process_emulator, "never outside demo mode");
        // Demo mode: the emulator's key and a fresh secret, and the emulator in the process.
        let demo = with_seam_lock(&src(&[])).unwrap().seam.unwrap();
        assert_eq!(demo.api_key.expose(), SANDBOX_SEAM_API_KEY);
        assert!(demo.in_process_emulator);
        // A demo told where Seam is (an emulator of its own, or Seam's sandbox) uses it.
        for set in [
            ("SEAM_ENDPOINT", "http://127.0.0.1:9091"),
            ("SEAM_API_KEY", "seam_test_other"),
        ] {
            let seam = with_seam_lock(&src(&[set])).unwrap().seam.unwrap();
            assert!(!seam.in_process_emulator, "{set:?}");
        }
    }

    #[test]
    fn the_demo_has_a_seam_locked_community_on_the_emulators_front_door() {
        let settings = Settings::from_sources(&src(&[])).unwrap();
        assert!(settings.demo());
        let slugs: Vec<&str> = settings
            .communities
            .all()
            .iter()
            .map(|c| c.slug.as_str())
            .collect();
        assert_eq!(slugs, ["maple-court", crate::demo::SEAM_COMMUNITY]);
        let seam = settings
            .seam
            .expect("Seam settings for the demo's Seam lock");
        assert!(seam.in_process_emulator);
        assert_eq!(seam.api_key.expose(), SANDBOX_SEAM_API_KEY);
    }
}
