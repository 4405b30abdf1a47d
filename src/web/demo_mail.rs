//! The demo mailbox (demo mode, mail written to files): `/sandbox/mail` lists the newest
//! messages, `/sandbox/mail/{name}` shows one as written.
use std::path::{Path, PathBuf};

use actix_web::{web, HttpResponse};
use askama::Template;

use super::error::WebError;
use super::AppState;

/// Messages listed at most.
const SHOWN: usize = 50;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/sandbox/mail", web::get().to(mailbox))
        .route("/sandbox/mail/{name}", web::get().to(message));
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

async fn message(
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let dir = folder(&state)?;
    // Names are ours (`<uuid>.eml`): anything else, and any path, is not found.
    let valid = name.strip_suffix(".eml").is_some_and(|stem| {
        !stem.is_empty() && stem.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    });
    if !valid {
        return Err(WebError::NotFound);
    }
    let path = dir.join(name.as_str());
    let text = web::block(move || std::fs::read(path))
        .await
        .map_err(|e| WebError::internal("reading a mail", e))?
        .map_err(|_| WebError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .body(text))
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
