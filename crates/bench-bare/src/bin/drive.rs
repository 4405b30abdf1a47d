//! Load for the posts of scripts/bench.sh, which wrk cannot make: each booking post needs the
//! CSRF token and form key of its own page view (and its own renter), each access callback its
//! own Standard Webhooks signature and webhook id.
//!
//! Usage:
//!   bench-drive book BASE_URL CONNECTIONS SECONDS SLUG[,SLUG...]
//!   bench-drive callback BASE_URL CONNECTIONS SECONDS WHSEC_SECRET BOOKING_ID
//! Prints one line of JSON: posts, seconds, per_sec, p50_ms, p99_ms, statuses.
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use rand::Rng;

static RENTER: AtomicU64 = AtomicU64::new(0);
/// Where the last successful booking post redirected (its booking page).
static LAST_BOOKED: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 5 {
        eprintln!("usage: bench-drive book|callback BASE CONNECTIONS SECONDS ...");
        std::process::exit(2);
    }
    let base = args[1].trim_end_matches('/').to_string();
    let conns: usize = args[2].parse().expect("CONNECTIONS");
    let secs: u64 = args[3].parse().expect("SECONDS");
    let mode = args[0].clone();
    let rest: Arc<Vec<String>> = Arc::new(args[4..].to_vec());
    let until = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let tasks: Vec<_> = (0..conns)
        .map(|i| {
            let base = base.clone();
            let mode = mode.clone();
            let rest = rest.clone();
            tokio::spawn(async move {
                let client = reqwest::Client::builder()
                    .cookie_store(true)
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .unwrap();
                let mut seen = Vec::new();
                let mut n = 0u64;
                while Instant::now() < until {
                    n += 1;
                    let r = match mode.as_str() {
                        "book" => {
                            let slugs: Vec<&str> = rest[0].split(',').collect();
                            let slug = slugs[(i + n as usize) % slugs.len()];
                            book(&client, &base, slug).await
                        }
                        "callback" => callback(&client, &base, &rest[0], &rest[1], i, n).await,
                        other => panic!("unknown mode {other}"),
                    };
                    if let Some(r) = r {
                        seen.push(r);
                    }
                }
                seen
            })
        })
        .collect();
    let mut all: Vec<(u16, Duration)> = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut lat: Vec<f64> = all.iter().map(|(_, d)| d.as_secs_f64() * 1000.0).collect();
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let pct = |p: f64| -> f64 {
        if lat.is_empty() {
            return 0.0;
        }
        lat[((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1]
    };
    let mut statuses: BTreeMap<String, u64> = BTreeMap::new();
    for (s, _) in &all {
        *statuses.entry(s.to_string()).or_default() += 1;
    }
    println!(
        "{}",
        serde_json::json!({
            "posts": all.len(),
            "seconds": elapsed,
            "per_sec": all.len() as f64 / elapsed,
            "p50_ms": pct(0.50),
            "p99_ms": pct(0.99),
            "statuses": statuses,
            "last_booked": *LAST_BOOKED.lock().unwrap(),
        })
    );
}

/// The value of the first `name="NAME" value="..."` in the page.
fn hidden(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\" value=\""))?;
    let rest = &html[at + name.len() + 15..];
    Some(rest[..rest.find('"')?].to_string())
}

/// All `start` radio values offered.
fn starts(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find("name=\"start\" value=\"") {
        rest = &rest[at + 20..];
        if let Some(end) = rest.find('"') {
            out.push(rest[..end].to_string());
        }
    }
    out
}

/// A page view, then the timed post of a booking for a renter of its own at a random offered
/// time. None when the page offered nothing to post.
async fn book(client: &reqwest::Client, base: &str, slug: &str) -> Option<(u16, Duration)> {
    let page = client
        .get(format!("{base}/tours/{slug}"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    let csrf = hidden(&page, "csrf_token")?;
    let key = hidden(&page, "idempotency_key")?;
    let offered = starts(&page);
    if offered.is_empty() {
        return None;
    }
    let start = offered[rand::thread_rng().gen_range(0..offered.len())].clone();
    let r = RENTER.fetch_add(1, Ordering::Relaxed);
    let email = format!("bench-{}-{r}@example.com", std::process::id());
    let phone = format!("(206) {:03}-{:04}", 200 + (r / 10_000) % 800, r % 10_000);
    let form = [
        ("csrf_token", csrf.as_str()),
        ("idempotency_key", key.as_str()),
        ("website", ""),
        ("first_name", "Bench"),
        ("last_name", "Renter"),
        ("email", email.as_str()),
        ("phone", phone.as_str()),
        ("start", start.as_str()),
        ("bedrooms", "1_BEDROOM"),
        ("message", ""),
        ("move_date", ""),
    ];
    let t = Instant::now();
    let resp = client
        .post(format!("{base}/tours/{slug}"))
        .header("Origin", base)
        .header("Sec-Fetch-Site", "same-origin")
        .form(&form)
        .send()
        .await
        .ok()?;
    let status = resp.status().as_u16();
    if status == 303 {
        if let Some(loc) = resp.headers().get("location").and_then(|v| v.to_str().ok()) {
            *LAST_BOOKED.lock().unwrap() = loc.to_string();
        }
    }
    let _ = resp.bytes().await;
    Some((status, t.elapsed()))
}

/// One signed `access.granted` callback with a webhook id of its own.
async fn callback(
    client: &reqwest::Client,
    base: &str,
    secret: &str,
    booking: &str,
    task: usize,
    n: u64,
) -> Option<(u16, Duration)> {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .expect("a whsec_ secret");
    let id = format!("msg_bench_{}_{task}_{n}", std::process::id());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let body = serde_json::json!({
        "type": "access.granted",
        "booking": booking,
        "occurred_at": chrono_like_now(now),
    })
    .to_string();
    let signed = format!("{id}.{now}.{body}");
    let sig = base64::engine::general_purpose::STANDARD
        .encode(hmac_sha256::HMAC::mac(signed.as_bytes(), &key));
    let t = Instant::now();
    let resp = client
        .post(format!("{base}/callbacks/access"))
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", now.to_string())
        .header("webhook-signature", format!("v1,{sig}"))
        .body(body)
        .send()
        .await
        .ok()?;
    let status = resp.status().as_u16();
    let _ = resp.bytes().await;
    Some((status, t.elapsed()))
}

/// RFC 3339 UTC for seconds since the epoch (no chrono dependency for one format).
fn chrono_like_now(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil from days (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}
