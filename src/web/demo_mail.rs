//! The demo mailbox (demo mode, mail written to files): `/sandbox/mail` lists the newest
//! messages; `/sandbox/mail/{name}` shows one as the renter's mail client would: its headers,
//! its HTML part (decoded from quoted-printable or base64 by `mailparse`) in a sandboxed frame
//! served from `/sandbox/mail/{name}/html` under a CSP of its own, and its text part; the
//! message as written is at `/sandbox/mail/{name}/source`.
use std::path::{Path, PathBuf};

use actix_web::{web, HttpResponse};
use askama::Template;
use mailparse::{MailHeaderMap, ParsedMail};

use super::error::WebError;
use super::AppState;

/// Messages listed at most.
const SHOWN: usize = 50;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/sandbox/mail", web::get().to(mailbox))
        .route("/sandbox/mail/{name}", web::get().to(message))
        .route("/sandbox/mail/{name}/html", web::get().to(message_html))
        .route("/sandbox/mail/{name}/source", web::get().to(message_source));
}

/// The page around a message may frame its HTML part from this origin (our CSP otherwise
/// forbids frames).
const MESSAGE_PAGE_CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
     frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// A message's HTML as a mail client shows it: its own inline styles, no script, no network,
/// no forms, and (`sandbox`) an opaque origin, framed only by our message page.
const MESSAGE_HTML_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
     form-action 'none'; base-uri 'none'; sandbox allow-popups allow-popups-to-escape-sandbox \
     allow-top-navigation-by-user-activation; frame-ancestors 'self'";

#[derive(Template)]
#[template(path = "sandbox_mail_message.html")]
struct MessagePage {
    name: String,
    subject: String,
    from: String,
    to: String,
    date: String,
    has_html: bool,
    text: Option<String>,
}

/// A message's parts worth showing, decoded.
struct Decoded {
    subject: String,
    from: String,
    to: String,
    date: String,
    html: Option<String>,
    text: Option<String>,
}

fn decode(raw: &[u8]) -> Option<Decoded> {
    let mail = mailparse::parse_mail(raw).ok()?;
    let header = |h: &str| mail.headers.get_first_value(h).unwrap_or_default();
    Some(Decoded {
        subject: header("Subject"),
        from: header("From"),
        to: header("To"),
        date: header("Date"),
        html: first_part(&mail, "text/html"),
        text: first_part(&mail, "text/plain"),
    })
}

/// The first part of `mimetype`, its transfer encoding and charset undone; attachments (the
/// calendar invitation) aside.
fn first_part(mail: &ParsedMail<'_>, mimetype: &str) -> Option<String> {
    let mut parts = vec![mail];
    while let Some(part) = parts.pop() {
        let attachment =
            part.get_content_disposition().disposition == mailparse::DispositionType::Attachment;
        if part.subparts.is_empty() && part.ctype.mimetype == mimetype && !attachment {
            return part.get_body().ok();
        }
        parts.extend(part.subparts.iter().rev());
    }
    None
}

struct MailLine {
    name: String,
    subject: String,
    to: String,
    date: String,
    /// The link to the booking page the mail carries (with its proof of e-mail), to click as
    /// the renter would in their mail client.
    link: Option<String>,
}

#[derive(Template)]
#[template(path = "sandbox_mail.html")]
struct MailboxPage {
    folder: String,
    mails: Vec<MailLine>,
}

/// The folder mail is written to: only in demo mode and only without SMTP.
fn folder(state: &AppState) -> Result<PathBuf, WebError> {
    if !state.settings.demo() || state.settings.smtp_url.is_some() {
        return Err(WebError::NotFound);
    }
    Ok(state.settings.data_dir.join("mail"))
}

async fn mailbox(state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    let dir = folder(&state)?;
    let ours = state.settings.public_url.to_string();
    let mails = web::block({
        let dir = dir.clone();
        move || newest(&dir, &ours)
    })
    .await
    .map_err(|e| WebError::internal("reading the mail folder", e))?;
    let page = MailboxPage {
        folder: dir.display().to_string(),
        mails,
    };
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .body(page.render()?))
}

/// The message file `name` names, read: only our own names (`<uuid>.eml`), never a path.
async fn read_message(state: &AppState, name: &str) -> Result<Vec<u8>, WebError> {
    let dir = folder(state)?;
    let valid = name.strip_suffix(".eml").is_some_and(|stem| {
        !stem.is_empty() && stem.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    });
    if !valid {
        return Err(WebError::NotFound);
    }
    let path = dir.join(name);
    web::block(move || std::fs::read(path))
        .await
        .map_err(|e| WebError::internal("reading a mail", e))?
        .map_err(|_| WebError::NotFound)
}

async fn decoded(state: &AppState, name: &str) -> Result<Decoded, WebError> {
    let raw = read_message(state, name).await?;
    decode(&raw)
        .ok_or_else(|| WebError::BadRequest("This file is not a message Tourgate can read.".into()))
}

async fn message(
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let mail = decoded(&state, &name).await?;
    let page = MessagePage {
        name: name.into_inner(),
        subject: mail.subject,
        from: mail.from,
        to: mail.to,
        date: mail.date,
        has_html: mail.html.is_some(),
        text: mail.text,
    };
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Content-Security-Policy", MESSAGE_PAGE_CSP))
        .body(page.render()?))
}

async fn message_html(
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let html = decoded(&state, &name)
        .await?
        .html
        .ok_or(WebError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Content-Security-Policy", MESSAGE_HTML_CSP))
        .insert_header(("X-Frame-Options", "SAMEORIGIN"))
        .body(links_leave_the_frame(&html)))
}

/// Links in the mail open in the whole window, as a click in a mail client opens the browser
/// (our pages refuse to be framed).
fn links_leave_the_frame(html: &str) -> String {
    const BASE: &str = "<base target=\"_top\">";
    match html.find("<head>") {
        Some(i) => format!("{}{BASE}{}", &html[..i + 6], &html[i + 6..]),
        None => format!("{BASE}{html}"),
    }
}

async fn message_source(
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let raw = read_message(&state, &name).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .body(raw))
}

/// The newest messages in `dir`, with the headers worth listing. An unreadable folder (no
/// mail written yet) is an empty list.
fn newest(dir: &Path, ours: &str) -> Vec<MailLine> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
        .collect();
    files.sort_by_key(|f| std::cmp::Reverse(f.0));
    files
        .into_iter()
        .take(SHOWN)
        .filter_map(|(_, p)| {
            let text = std::fs::read_to_string(&p).ok()?;
            let header = |h: &str| header(&text, h).unwrap_or_default();
            Some(MailLine {
                name: p.file_name()?.to_str()?.to_string(),
                subject: header("Subject"),
                to: header("To"),
                date: header("Date"),
                link: booking_link(text.as_bytes(), ours),
            })
        })
        .collect()
}

/// The first link to one of our booking pages in the message's plain-text part.
fn booking_link(raw: &[u8], ours: &str) -> Option<String> {
    let mail = mailparse::parse_mail(raw).ok()?;
    let mut parts = vec![&mail];
    while let Some(part) = parts.pop() {
        if part.ctype.mimetype == "text/plain" {
            let body = part.get_body().ok()?;
            return body
                .split_whitespace()
                .find(|w| w.starts_with(ours) && w.contains("/bookings/"))
                .map(str::to_string);
        }
        parts.extend(part.subparts.iter().rev());
    }
    None
}

/// A header's value from a message's head, unfolded.
fn header(message: &str, name: &str) -> Option<String> {
    let head = message.split("\r\n\r\n").next()?;
    let mut value: Option<String> = None;
    for line in head.split("\r\n") {
        match &mut value {
            Some(v) if line.starts_with([' ', '\t']) => v.push_str(line),
            Some(_) => break,
            None => {
                if let Some((k, v)) = line.split_once(':') {
                    if k.eq_ignore_ascii_case(name) {
                        value = Some(v.trim().to_string());
                    }
                }
            }
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::header;

    #[test]
    fn headers_are_read_unfolded_and_by_name_whatever_the_case() {
        let m = "From: a@b.c\r\nsubject: New time\r\n for your tour\r\nTo: g@e.com\r\n\r\nSubject: body";
        assert_eq!(
            header(m, "Subject").as_deref(),
            Some("New time for your tour")
        );
        assert_eq!(header(m, "To").as_deref(), Some("g@e.com"));
        assert_eq!(header(m, "Date"), None);
    }
}
