//! Bad input never crashes: generated strings (unicode, huge numbers, `%`-escapes, dates far
//! outside chrono's comfort, empty, very long) thrown at every route's query, form and path
//! parameters of the real app. Every request must get a whole answer (no dropped connection:
//! actix turns a handler panic into one) with a status below 500.
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRng, TestRunner};
use url::form_urlencoded::byte_serialize;

use crate::callbacks::{booking_id, MAPLE};
use crate::cancel::{add_staff, staff_client};
use crate::helpers::{client, offered_form, spawn_app, Backend, TestApp};
use crate::on_both_backends;

/// Inputs every parameter gets, whatever the generator draws.
const FIXED: &[&str] = &[
    "",
    "%2B262142-12-25",
    "+262142-12-25",
    "-262143-01-01",
    "262142-12-31",
    "9999-12-31",
    "0000-01-01",
    "2026-02-30",
    "99999999999999999999999999",
    "-9223372036854775808",
    "9223372036854775807",
    "-1",
    "%",
    "%FF%FE",
    "%00",
    "🏠\u{0}\u{202e}",
    "9999-12-31T23:59:59-23:59",
    "+262142-12-25T00:00:00Z",
];

/// Strings of the kinds that break parsers.
fn nasty() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[+-]?[0-9]{1,7}-[0-9]{1,3}-[0-9]{1,3}",
        "[+-]?[0-9]{5,7}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})",
        "[+-]?[0-9]{10,40}",
        "(%[0-9A-Fa-f]{2}|%|[a-z0-9+-]){0,24}",
        Just(String::new()),
        ("[a-z0-9%+\u{e9}\u{1F3E0}-]{1,3}", 500usize..3000).prop_map(|(s, n)| s
            .repeat(n)
            .chars()
            .take(6000)
            .collect()),
        "[\\p{Cc}\\p{Zs}\u{200b}\u{feff}\u{fffd}]{0,12}",
    ]
}

/// `count` strings drawn from [`nasty`]; the same ones every run unless `INPUT_SWEEP_SEED`
/// (a number) asks for others.
fn drawn(count: usize) -> Vec<String> {
    let seed: u64 = std::env::var("INPUT_SWEEP_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x7047_6174);
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let rng = TestRng::from_seed(proptest::test_runner::RngAlgorithm::ChaCha, &bytes);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    let strategy = nasty();
    (0..count)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current())
        .collect()
}

type Fields = Vec<(String, String)>;

#[derive(Clone, Copy)]
enum Who {
    Renter,
    Staff,
}

/// One parameter of one route.
#[derive(Clone)]
enum Target {
    /// GET `path?{name}=X`.
    Query {
        who: Who,
        path: String,
        name: &'static str,
    },
    /// GET `path?X` (the whole query string).
    RawQuery { who: Who, path: String },
    /// `method` on `template` with `{}` replaced by X; POSTs carry the session's token.
    Path {
        who: Who,
        post: bool,
        template: &'static str,
    },
    /// A signed access callback about the booking, its `field` set to X.
    Callback { field: &'static str },
    /// POST `path` with `fields`, `name` set to X.
    Form {
        who: Who,
        path: String,
        fields: Fields,
        name: &'static str,
    },
}

impl Target {
    fn label(&self) -> String {
        match self {
            Target::Query { path, name, .. } => format!("GET {path}?{name}="),
            Target::RawQuery { path, .. } => format!("GET {path}?*"),
            Target::Path { post, template, .. } => {
                format!("{} {template}", if *post { "POST" } else { "GET" })
            }
            Target::Callback { field } => format!("callback {field}"),
            Target::Form { path, name, .. } => format!("POST {path} {name}="),
        }
    }
}

struct Sweep {
    app: TestApp,
    renter: reqwest::Client,
    staff: reqwest::Client,
    targets: Vec<Target>,
    booking: String,
    renter_csrf: String,
    staff_csrf: String,
    failures: Vec<String>,
}

fn encoded(x: &str) -> String {
    byte_serialize(x.as_bytes()).collect()
}

impl Sweep {
    async fn new(b: Backend) -> Self {
        let app = spawn_app(b).await;
        let renter = client();
        let page = app.book(&renter, MAPLE, None).await;
        let (_, html) = app.get(&renter, &page).await;
        let id = booking_id(&html);
        let landing = app.landing(&renter, MAPLE).await;
        let renter_csrf = landing.hidden["csrf_token"].clone();
        add_staff(&app, "sweep@example.com", &["maple-court"]).await;
        let staff = staff_client(&app, "sweep@example.com").await;
        let (status, html) = app.get(&staff, &format!("/staff/bookings/{id}")).await;
        assert_eq!(status, 200, "{html}");
        let staff_csrf = offered_form(&html).hidden["csrf_token"].clone();

        let renter_token = |extra: &[(&str, &str)]| {
            let mut f = vec![("csrf_token".to_string(), renter_csrf.clone())];
            f.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
            f
        };
        let staff_token = |extra: &[(&str, &str)]| {
            let mut f = vec![("csrf_token".to_string(), staff_csrf.clone())];
            f.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
            f
        };
        let start = landing.starts[0].clone();
        let booking_fields = TestApp::fill(&landing, &start, &[("email", "sweep@example.org")]);
        let mut targets = Vec::new();
        for name in ["from", "to", "state", "community"] {
            targets.push(Target::Query {
                who: Who::Staff,
                path: "/staff".into(),
                name,
            });
        }
        targets.push(Target::Query {
            who: Who::Renter,
            path: MAPLE.into(),
            name: "utm_knock_source_title",
        });
        for (who, path) in [
            (Who::Staff, "/staff".to_string()),
            (Who::Renter, MAPLE.to_string()),
            (Who::Renter, page.clone()),
            (Who::Staff, format!("/staff/bookings/{id}")),
            (Who::Renter, "/staff/login".into()),
            (Who::Renter, "/sandbox/mail".into()),
        ] {
            targets.push(Target::RawQuery { who, path });
        }
        for (who, post, template) in [
            (Who::Renter, false, "/tours/{}"),
            (Who::Renter, true, "/tours/{}"),
            (Who::Renter, false, "/bookings/{}"),
            (Who::Renter, false, "/bookings/{}/cancel"),
            (Who::Renter, true, "/bookings/{}/cancel"),
            (Who::Renter, false, "/bookings/{}/reschedule"),
            (Who::Renter, true, "/bookings/{}/reschedule"),
            (Who::Renter, true, "/bookings/{}/done"),
            (Who::Renter, true, "/bookings/{}/feedback"),
            (Who::Renter, false, "/brand/{}/style.css"),
            (Who::Renter, false, "/brand/maple-court/{}"),
            (Who::Renter, false, "/bookings/{}/calendar.ics"),
            (Who::Staff, false, "/staff/bookings/{}"),
            (Who::Staff, false, "/staff/bookings/{}/cancel"),
            (Who::Staff, true, "/staff/bookings/{}/cancel"),
            (Who::Staff, true, "/staff/bookings/{}/adopt"),
            (Who::Staff, true, "/staff/bookings/{}/confirm"),
            (Who::Staff, true, "/staff/bookings/{}/resend-access"),
            (Who::Staff, true, "/staff/outbox/{}/retry"),
            (Who::Renter, false, "/sandbox/lock/{}"),
            (Who::Renter, true, "/sandbox/lock/{}/open"),
            (Who::Renter, false, "/sandbox/mail/{}"),
            (Who::Renter, false, "/{}"),
        ] {
            targets.push(Target::Path {
                who,
                post,
                template,
            });
        }
        for field in ["type", "booking", "occurred_at", "unit_names"] {
            targets.push(Target::Callback { field });
        }
        for name in [
            "first_name",
            "last_name",
            "email",
            "phone",
            "start",
            "sms_consent",
            "move_date",
            "bedrooms",
            "message",
            "idempotency_key",
            "website",
            "csrf_token",
        ] {
            let mut fields = booking_fields.clone();
            fields.retain(|(k, _)| k != name);
            targets.push(Target::Form {
                who: Who::Renter,
                path: MAPLE.into(),
                fields,
                name,
            });
        }
        let forms: Vec<(Who, String, Fields, &'static str)> = vec![
            (
                Who::Renter,
                format!("{page}/reschedule"),
                renter_token(&[]),
                "start",
            ),
            (
                Who::Renter,
                format!("{page}/done"),
                renter_token(&[]),
                "unit",
            ),
            (Who::Renter, format!("{page}/cancel"), vec![], "csrf_token"),
            (
                Who::Renter,
                format!("{page}/feedback"),
                renter_token(&[("comment", "fine")]),
                "rating",
            ),
            (
                Who::Renter,
                format!("{page}/feedback"),
                renter_token(&[("rating", "good")]),
                "comment",
            ),
            (
                Who::Renter,
                "/sandbox/lock/maple-court/open".into(),
                renter_token(&[]),
                "code",
            ),
            (
                Who::Renter,
                "/sandbox/lock/maple-court/finish".into(),
                renter_token(&[("code", "000000")]),
                "unit",
            ),
            (
                Who::Renter,
                "/sandbox/lock/maple-court/finish".into(),
                renter_token(&[]),
                "code",
            ),
            (
                Who::Staff,
                format!("/staff/bookings/{id}/adopt"),
                staff_token(&[]),
                "appointment_id",
            ),
            (
                Who::Staff,
                format!("/staff/bookings/{id}/cancel"),
                staff_token(&[]),
                "reason",
            ),
            (
                Who::Staff,
                format!("/staff/bookings/{id}/confirm"),
                vec![],
                "csrf_token",
            ),
            (
                Who::Renter,
                "/staff/login".into(),
                renter_token(&[("password", "not the password at all")]),
                "email",
            ),
            (
                Who::Renter,
                "/staff/login".into(),
                renter_token(&[("email", "sweep@example.com")]),
                "password",
            ),
        ];
        for (who, path, fields, name) in forms {
            targets.push(Target::Form {
                who,
                path,
                fields,
                name,
            });
        }
        Self {
            app,
            renter,
            staff,
            targets,
            booking: id,
            renter_csrf,
            staff_csrf,
            failures: Vec::new(),
        }
    }

    fn client(&self, who: Who) -> &reqwest::Client {
        match who {
            Who::Renter => &self.renter,
            Who::Staff => &self.staff,
        }
    }

    /// Sends `x` to `target`, as typed (`raw`, when that still makes a URL) or encoded.
    async fn hit(&mut self, target: &Target, x: &str) {
        let mut requests: Vec<(Who, String, reqwest::RequestBuilder)> = Vec::new();
        let base = self.app.base.clone();
        let url_ok = |u: &str| reqwest::Url::parse(u).is_ok();
        match target {
            Target::Query { who, path, name } => {
                for v in [x.to_string(), encoded(x)] {
                    let u = format!("{base}{path}?{name}={v}");
                    if url_ok(&u) {
                        let c = self.client(*who);
                        requests.push((*who, u.clone(), c.get(&u)));
                    }
                }
            }
            Target::RawQuery { who, path } => {
                let u = format!("{base}{path}?{x}");
                if url_ok(&u) {
                    requests.push((*who, u.clone(), self.client(*who).get(&u)));
                }
            }
            Target::Path {
                who,
                post,
                template,
            } => {
                for v in [x.to_string(), encoded(x)] {
                    let u = format!("{base}{}", template.replace("{}", &v));
                    if !url_ok(&u) {
                        continue;
                    }
                    let c = self.client(*who);
                    let r = if *post {
                        let fields = [("csrf_token", self.csrf_of(*who))];
                        c.post(&u)
                            .header("Origin", &base)
                            .header("Sec-Fetch-Site", "same-origin")
                            .form(&fields)
                    } else {
                        c.get(&u)
                    };
                    requests.push((*who, u.clone(), r));
                }
            }
            Target::Callback { field } => {
                let mut body = serde_json::json!({
                    "type": "access.granted",
                    "booking": self.booking,
                    "occurred_at": chrono::Utc::now().to_rfc3339(),
                });
                body[*field] = match *field {
                    "unit_names" => serde_json::json!([x]),
                    _ => serde_json::json!(x),
                };
                let body = body.to_string();
                let id = format!("msg_sweep_{}", crate::helpers::random_name());
                let ts = chrono::Utc::now().timestamp();
                let signature = standardwebhooks::Webhook::new(
                    self.app.settings.access_webhook_secret.expose(),
                )
                .unwrap()
                .sign(&id, ts, body.as_bytes())
                .unwrap();
                let r = self
                    .renter
                    .post(format!("{base}/callbacks/access"))
                    .header("content-type", "application/json")
                    .header("webhook-id", id)
                    .header("webhook-timestamp", ts.to_string())
                    .header("webhook-signature", signature)
                    .body(body);
                requests.push((Who::Renter, format!("callback {field}="), r));
            }
            Target::Form {
                who,
                path,
                fields,
                name,
            } => {
                let mut fields = fields.clone();
                fields.retain(|(k, _)| k != name);
                fields.push((name.to_string(), x.to_string()));
                let u = format!("{base}{path}");
                let r = self
                    .client(*who)
                    .post(&u)
                    .header("Origin", &base)
                    .header("Sec-Fetch-Site", "same-origin")
                    .form(&fields);
                requests.push((*who, format!("{u} {name}="), r));
            }
        }
        for (_, what, r) in requests {
            let shown: String = x.chars().take(80).collect();
            match r.send().await {
                Ok(res) => {
                    let status = res.status().as_u16();
                    match res.bytes().await {
                        Ok(_) if status < 500 => {}
                        Ok(_) => self.failures.push(format!(
                            "{status} from {what} ({}) with {shown:?}",
                            target.label()
                        )),
                        Err(e) => self
                            .failures
                            .push(format!("answer cut off ({e}) from {what} with {shown:?}")),
                    }
                }
                Err(e) => self.failures.push(format!(
                    "no answer ({e}) from {} with {shown:?}",
                    what.chars().take(200).collect::<String>()
                )),
            }
        }
    }

    fn csrf_of(&self, who: Who) -> &str {
        match who {
            Who::Renter => &self.renter_csrf,
            Who::Staff => &self.staff_csrf,
        }
    }
}

on_both_backends!(
    no_parameter_of_any_route_crashes_the_app,
    |b: Backend| async move {
        let mut sweep = Sweep::new(b).await;
        let started = std::time::Instant::now();
        let targets = sweep.targets.clone();
        for x in FIXED {
            for t in &targets {
                sweep.hit(t, x).await;
            }
        }
        // Each drawn string goes to three parameters in turn, so every parameter sees several.
        for (i, x) in drawn(120).iter().enumerate() {
            for k in 0..3 {
                let t = &targets[(i * 3 + k) % targets.len()];
                sweep.hit(t, x).await;
            }
        }
        // The app still answers after all that.
        assert_eq!(sweep.app.get(&client(), "/healthz").await.0, 200);
        assert!(
            sweep.failures.is_empty(),
            "{} requests failed ({:?}):\n  {}",
            sweep.failures.len(),
            started.elapsed(),
            sweep.failures.join("\n  ")
        );
    }
);
