//! `/` in demo mode: a short index of what to try (each community's Doorway link, the mailbox,
//! each demo lock, the built-in one or the Seam emulator's, Knock's view, the staff sign-in
//! with the demo account). Outside demo mode `/`
//! stays a plain "not found": nothing about the demo, its account or its sandbox is shown.
use actix_web::{web, HttpResponse};
use askama::Template;

use super::error::WebError;
use super::AppState;
use crate::config::Community;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(index));
}

struct CommunityLinks<'a> {
    community: &'a Community,
    doorway: String,
    /// `/sandbox/lock/{slug}` serves its keypad.
    lock: bool,
    /// Its door is a Seam lock (the in-process emulator's).
    seam: bool,
}

#[derive(Template)]
#[template(path = "demo_index.html")]
struct IndexPage<'a> {
    communities: Vec<CommunityLinks<'a>>,
    /// A community's door is the Seam emulator's lock.
    seam_lock: bool,
    /// The demo mailbox, when mail is written to files.
    mailbox: bool,
    sandbox_view: Option<String>,
    /// The demo staff account's e-mail and password.
    staff: Option<(&'a str, &'a str)>,
}

async fn index(state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    if !state.settings.demo() {
        return Err(WebError::NotFound);
    }
    let communities: Vec<CommunityLinks<'_>> = state
        .settings
        .communities
        .all()
        .iter()
        .map(|c| CommunityLinks {
            community: c,
            doorway: crate::demo::doorway_path(&c.slug),
            lock: super::demo_lock::has_demo_lock(&state, c),
            seam: c.lock.seam_device().is_some(),
        })
        .collect();
    let page = IndexPage {
        seam_lock: communities.iter().any(|c| c.seam && c.lock),
        communities,
        mailbox: state.settings.smtp_url.is_none(),
        sandbox_view: state.sandbox_view.as_ref().map(|u| u.to_string()),
        staff: state
            .demo_staff
            .as_ref()
            .map(|s| (s.email.as_str(), s.password.expose())),
    };
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .body(page.render()?))
}
