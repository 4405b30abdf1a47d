//! GET /_sandbox: one HTML page showing what the sandbox holds (demo mode). Askama escapes
//! every value; all of it came from partners.
use askama::Template;
use chrono::{DateTime, SecondsFormat, Utc};

use super::records::SandboxSnapshot;

/// How many of the most recent requests the page lists.
const RECENT_REQUESTS: usize = 50;

struct Row {
    cells: Vec<String>,
}

#[derive(Template)]
#[template(
    ext = "html",
    source = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Knock sandbox</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:2em}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}pre{margin:0;white-space:pre-wrap;max-width:40em}</style>
</head>
<body>
<h1>Knock sandbox</h1>
<p>Sandbox time: {{ now }}</p>
{% for section in sections %}
<section id="{{ section.id }}">
<h2>{{ section.title }}</h2>
{% if section.rows.is_empty() %}<p>None yet.</p>{% else %}
<table>
<tr>{% for heading in section.headings %}<th>{{ heading }}</th>{% endfor %}</tr>
{% for row in section.rows %}<tr>{% for cell in row.cells %}<td><pre>{{ cell }}</pre></td>{% endfor %}</tr>
{% endfor %}
</table>
{% endif %}
</section>
{% endfor %}
</body>
</html>"#
)]
struct SandboxPage {
    now: String,
    sections: Vec<Section>,
}

struct Section {
    /// The section element's id, for people linking to it and for tests reading it.
    id: &'static str,
    title: &'static str,
    headings: &'static [&'static str],
    rows: Vec<Row>,
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn text(value: &Option<String>) -> String {
    value.clone().unwrap_or_default()
}

fn json_text<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

pub(super) fn render(snapshot: &SandboxSnapshot) -> askama::Result<String> {
    let appointments = snapshot
        .appointments
        .iter()
        .rev()
        .map(|a| Row {
            cells: vec![
                a.id.clone(),
                a.prospect_id.clone(),
                a.community_id.clone(),
                json_text(&a.status),
                json_text(&a.tour_type),
                time(a.start),
                time(a.end),
                text(&a.source_title),
                json_text(&a.profile),
            ],
        })
        .collect();
    let visits = snapshot
        .visits
        .iter()
        .rev()
        .map(|v| Row {
            cells: vec![
                v.id.clone(),
                v.prospect_id.clone(),
                text(&v.appointment_id),
                time(v.visit_time),
                json_text(&v.unit_names),
                json_text(&v.matched_units),
            ],
        })
        .collect();
    let emails = snapshot
        .emails
        .iter()
        .rev()
        .map(|e| Row {
            cells: vec![
                e.communication_id.clone(),
                e.prospect_id.clone(),
                json_text(&e.email_type),
                time(e.sent_time),
                e.subject.clone(),
                e.body.clone(),
            ],
        })
        .collect();
    let messages = snapshot
        .messages
        .iter()
        .rev()
        .map(|m| Row {
            cells: vec![
                m.prospect_id.clone(),
                m.appointment_id.clone(),
                json_text(&m.channel),
                json_text(&m.kind),
                time(m.send_at),
                json_text(&m.status),
            ],
        })
        .collect();
    let requests = snapshot
        .requests
        .iter()
        .rev()
        .take(RECENT_REQUESTS)
        .map(|r| Row {
            cells: vec![
                time(r.at),
                r.method.clone(),
                if r.query.is_empty() {
                    r.path.clone()
                } else {
                    format!("{}?{}", r.path, r.query)
                },
                r.status.to_string(),
                r.body.as_ref().map(json_text).unwrap_or_default(),
            ],
        })
        .collect();
    SandboxPage {
        now: time(snapshot.now),
        sections: vec![
            Section {
                id: "appointments",
                title: "Appointments",
                headings: &[
                    "id",
                    "prospect",
                    "community",
                    "status",
                    "tour type",
                    "start",
                    "end",
                    "source",
                    "profile",
                ],
                rows: appointments,
            },
            Section {
                id: "visits",
                title: "Visits",
                headings: &[
                    "id",
                    "prospect",
                    "appointment",
                    "visit time",
                    "units named",
                    "units matched",
                ],
                rows: visits,
            },
            Section {
                id: "emails",
                title: "Logged e-mails",
                headings: &[
                    "communication id",
                    "prospect",
                    "type",
                    "sent",
                    "subject",
                    "body",
                ],
                rows: emails,
            },
            Section {
                id: "messages",
                title: "Messages Knock sends",
                headings: &[
                    "prospect",
                    "appointment",
                    "channel",
                    "kind",
                    "send at",
                    "status",
                ],
                rows: messages,
            },
            Section {
                id: "requests",
                title: "Recent requests",
                headings: &["at", "method", "path", "status", "body"],
                rows: requests,
            },
        ],
    }
    .render()
}
