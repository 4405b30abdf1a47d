//! What the public can do to /metrics and what every answer tells browsers: labels from fixed
//! sets only, /metrics only to the operator (its own listener, or loopback on the main one),
//! HSTS behind https.
use futures_util::StreamExt;
use rand::Rng;
use reqwest::Method;

use crate::helpers::{client, spawn_app, spawn_app_with, Backend, TestApp};
use crate::on_both_backends;

/// The values of `label` in the Prometheus text.
fn label_values(text: &str, label: &str) -> std::collections::BTreeSet<String> {
    let key = format!("{label}=\"");
    let mut values = std::collections::BTreeSet::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        for (i, _) in line.match_indices(&key) {
            if let Some(v) = line[i + key.len()..].split('"').next() {
                values.insert(v.to_string());
            }
        }
    }
    values
}

/// /metrics on the main listener, after a request of its own so that it has series to show.
async fn metrics_text(app: &TestApp) -> String {
    app.get(&client(), "/healthz").await;
    let (status, text) = app.get(&client(), "/metrics").await;
    assert_eq!(status, 200, "{text}");
    text
}

/// A made-up request method: a token no server knows, or a real one we do not route. (Letters,
/// digits, `-` and `_`: actix's parser refuses some other token characters before any of our
/// code runs, with a 400 and a closed connection.)
fn made_up_method(rng: &mut impl Rng) -> Method {
    const REAL: [&str; 5] = ["PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"];
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    if rng.gen_bool(0.1) {
        return Method::from_bytes(REAL[rng.gen_range(0..REAL.len())].as_bytes()).unwrap();
    }
    let name: String = (0..rng.gen_range(3..16))
        .map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char)
        .collect();
    Method::from_bytes(format!("Z{name}").as_bytes()).unwrap()
}

on_both_backends!(
    made_up_methods_and_paths_do_not_grow_metrics,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let c = client();
        // Every route family once, so the baseline already holds their series.
        for path in ["/healthz", "/tours/maple-court", "/nowhere", "/bookings/x"] {
            app.get(&c, path).await;
        }
        let before = metrics_text(&app).await.len();
        let mut rng = rand::thread_rng();
        let requests: Vec<(Method, String)> = (0..2000)
            .map(|i| {
                let method = made_up_method(&mut rng);
                let n: u64 = rng.gen();
                let path = match i % 4 {
                    0 => format!("/{n:x}"),
                    1 => format!("/tours/{n:x}"),
                    2 => format!("/bookings/{n:x}/cancel"),
                    _ => format!("/static/{n:x}/{n}"),
                };
                (method, path)
            })
            .collect();
        let answered: Vec<u16> = futures_util::stream::iter(requests)
            .map(|(method, path)| {
                let c = c.clone();
                let url = app.url(&path);
                async move {
                    let what = format!("{method} {url}");
                    match c.request(method, url).send().await {
                        Ok(r) => r.status().as_u16(),
                        Err(e) => panic!("no answer to {what}: {e:?}"),
                    }
                }
            })
            .buffer_unordered(16)
            .collect()
            .await;
        assert_eq!(answered.len(), 2000);
        assert!(answered.iter().all(|s| *s < 500), "{answered:?}");
        let text = metrics_text(&app).await;
        // A handful of new series (OTHER on the routes hit), never one per request.
        assert!(
            text.len() < before + 16 * 1024,
            "/metrics grew from {before} to {} bytes",
            text.len()
        );
        let methods = label_values(&text, "method");
        assert!(
            methods
                .iter()
                .all(|m| ["GET", "HEAD", "POST", "OTHER"].contains(&m.as_str())),
            "{methods:?}"
        );
        assert!(methods.contains("OTHER"), "{methods:?}");
        let routes = label_values(&text, "route");
        assert!(
            routes.iter().all(|r| r == "unmatched"
                || (r.starts_with('/') && !r.contains(|c: char| c.is_ascii_digit()))),
            "{routes:?}"
        );
        assert!(routes.contains("unmatched"), "{routes:?}");
        assert!(routes.contains("/tours/{community}"), "{routes:?}");
    }
);

on_both_backends!(
    the_main_listener_shows_metrics_only_to_an_unforwarded_loopback_client,
    |b: Backend| async move {
        // The test client is on loopback; so is a proxy on the same machine.
        for trusted in ["", "127.0.0.1"] {
            let extra: Vec<(&str, &str)> = match trusted {
                "" => vec![],
                t => vec![("TOURGATE_TRUSTED_PROXIES", t)],
            };
            let app = spawn_app_with(b, &extra).await;
            let c = client();
            assert!(metrics_text(&app).await.contains("# TYPE"));
            for (header, value) in [
                ("X-Forwarded-For", "203.0.113.9"),
                ("X-Forwarded-For", "127.0.0.1"),
                ("Forwarded", "for=203.0.113.9"),
                ("X-Real-IP", "203.0.113.9"),
            ] {
                let r = c
                    .get(app.url("/metrics"))
                    .header(header, value)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status().as_u16(), 404, "{header}: {value} ({trusted:?})");
                let page = r.text().await.unwrap();
                assert!(page.contains("Page not found"), "{page}");
                assert!(!page.contains("# TYPE"), "{page}");
            }
        }
    }
);

on_both_backends!(
    metrics_have_a_listener_of_their_own,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let port = app.metrics_port.expect("the metrics listener is on");
        assert_ne!(
            app.url("").rsplit(':').next(),
            Some(port.to_string().as_str())
        );
        let c = client();
        app.get(&c, "/tours/maple-court").await;
        let metrics = format!("http://127.0.0.1:{port}/metrics");
        // Its own: whatever the forwarding headers say, it is the operator's to expose.
        let r = c
            .get(&metrics)
            .header("X-Forwarded-For", "203.0.113.9")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let text = r.text().await.unwrap();
        assert!(
            text.contains("# TYPE tourgate_http_requests_total counter"),
            "{text}"
        );
        assert!(text.contains(r#"route="/tours/{community}""#), "{text}");
        // Nothing else is served there.
        for path in ["/healthz", "/tours/maple-court", "/staff/login"] {
            let r = c
                .get(format!("http://127.0.0.1:{port}{path}"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 404, "{path}");
        }

        let off = spawn_app_with(b, &[("TOURGATE_METRICS_LISTEN", "off")]).await;
        assert_eq!(off.metrics_port, None);
        let text = metrics_text(&off).await;
        assert!(text.contains("# TYPE"), "{text}");
    }
);

on_both_backends!(
    hsts_is_on_every_answer_behind_https_only,
    |b: Backend| async move {
        const HSTS: &str = "max-age=31536000; includeSubDomains";
        let https = spawn_app_with(b, &[("TOURGATE_PUBLIC_URL", "https://tours.example")]).await;
        let http = spawn_app(b).await;
        let c = client();
        for (method, path) in [
            (Method::GET, "/healthz"),
            (Method::GET, "/tours/maple-court"),
            (Method::GET, "/nowhere"),
            (Method::GET, "/staff"),
            (Method::POST, "/staff/login"),
            (Method::GET, "/metrics"),
            (Method::DELETE, "/healthz"),
        ] {
            let r = c
                .request(method.clone(), https.url(path))
                .send()
                .await
                .unwrap();
            assert_eq!(
                r.headers()
                    .get("strict-transport-security")
                    .map(|v| v.to_str().unwrap()),
                Some(HSTS),
                "{method} {path}: {}",
                r.status()
            );
            let r = c
                .request(method.clone(), http.url(path))
                .send()
                .await
                .unwrap();
            assert!(
                r.headers().get("strict-transport-security").is_none(),
                "{method} {path} over http"
            );
        }
    }
);
