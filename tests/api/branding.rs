//! A community's branding, contacts and day-of-tour kit (README "Communities file"): checked at
//! start, shown on its pages and in its mail; and the finished tour's "How was your tour?".
use std::collections::HashMap;
use std::path::PathBuf;

use chrono::Utc;
use mailparse::MailHeaderMap;
use tourgate::config::{Settings, Source};

use crate::callbacks::{booking_id, callback, completed, state_of, MAPLE};
use crate::helpers::{client, offered_form, random_name, Backend, TestApp, COMMUNITIES};
use crate::on_both_backends;
use crate::smtp::TestSmtp;

const LOGO: &str = r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>"#;

/// A folder holding a communities file (the test one, with `extra` lines in Maple Court's
/// entry) and a logo beside it.
fn communities_dir(extra: &str) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("tourgate-brand-{}", random_name()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("logo.svg"), LOGO).unwrap();
    let text = COMMUNITIES.replacen(
        "units = [\"101\", \"102\", \"2B\"]",
        &format!("units = [\"101\", \"102\", \"2B\"]\n{extra}"),
        1,
    );
    let file = dir.join("communities.toml");
    std::fs::write(&file, text).unwrap();
    (dir, file)
}

/// What starting with that communities file says (the demo's Knock, so no other setting).
fn start_with(extra: &str) -> Result<Settings, String> {
    let (_dir, file) = communities_dir(extra);
    let env: HashMap<String, String> = [(
        "TOURGATE_COMMUNITIES".to_string(),
        file.display().to_string(),
    )]
    .into();
    Settings::from_sources(&Source {
        env,
        file: HashMap::new(),
    })
    .map_err(|e| e.to_string())
}

/// Everything a community can say about itself, its logo in the file's folder.
const BRANDED: &str = r##"brand_color = "#8a2c0d"
office_phone = "(206) 555-0100"
office_email = "leasing@maple.example"
apply_url = "https://maple.example/apply"
logo = { file = "logo.svg", width = 200, height = 56, alt = "Maple Court" }
hero = { file = "static/brand/maple-hero.svg", width = 960, height = 540, alt = "" }
code_shown_before_minutes = 1440
code_valid_before_minutes = 1440
[community.kit]
entrance = "The glass door on Maple St; the keypad is to its right."
parking = "Visitor spaces V1 to V4."
bring = "A photo ID."
accessibility = "Step-free entrance with an automatic door."
"##;

#[test]
fn a_communities_file_without_the_new_keys_is_still_valid_and_gets_tourgates_look() {
    let settings = start_with("").expect("the old file starts");
    let maple = settings.communities.get("maple-court").unwrap();
    assert!(maple.brand.logo.is_none() && maple.brand.color.is_none());
    assert!(maple.brand.kit.is_empty());
    assert!(maple.brand.office_phone.is_none());
    // And with every key, the file's own logo and a shipped photo are read at start.
    let settings = start_with(BRANDED).expect("the branded file starts");
    let maple = settings.communities.get("maple-court").unwrap();
    let logo = maple.brand.logo.as_ref().unwrap();
    assert_eq!(&*logo.bytes, LOGO.as_bytes());
    assert_eq!((logo.width, logo.height), (200, 56));
    assert_eq!(maple.brand.kit.lines().len(), 4);
}

#[test]
fn a_brand_colour_without_aa_contrast_is_refused_at_start_naming_the_community_and_ratio() {
    let e = start_with("brand_color = \"#ffcc00\"").unwrap_err();
    assert!(e.starts_with("TOURGATE_COMMUNITIES: "), "{e}");
    assert!(e.contains("community `maple-court`"), "{e}");
    assert!(e.contains("#ffcc00 has a contrast of 1.41:1"), "{e}");
    assert!(e.contains("4.5:1"), "says what is needed: {e}");
    assert!(!e.contains('\n'), "one line: {e}");
    // Mid-grey passes on white but not on the page background: the worst use counts.
    let e = start_with("brand_color = \"#767676\"").unwrap_err();
    assert!(e.contains("page background"), "{e}");
    let e = start_with("brand_color = \"brand blue\"").unwrap_err();
    assert!(
        e.contains("brand_color") && e.contains("maple-court"),
        "{e}"
    );
    assert!(start_with("brand_color = \"#0b5cad\"").is_ok());
}

#[test]
fn a_missing_logo_or_an_image_without_its_facts_is_refused_at_start() {
    let e = start_with(
        "logo = { file = \"no-such-logo.svg\", width = 200, height = 56, alt = \"Maple\" }",
    )
    .unwrap_err();
    assert!(e.contains("community `maple-court`"), "{e}");
    assert!(e.contains("no-such-logo.svg"), "names the file: {e}");
    assert!(!e.contains('\n'), "one line: {e}");
    let e = start_with("logo = { file = \"logo.svg\", width = 200, height = 56 }").unwrap_err();
    assert!(e.contains("alt"), "the alt text is required: {e}");
    let e = start_with("logo = { file = \"logo.svg\", width = 200, height = 56, alt = \"\" }")
        .unwrap_err();
    assert!(e.contains("logo.alt"), "a logo says what it shows: {e}");
    let e = start_with("logo = { file = \"logo.gif\", width = 2, height = 2, alt = \"x\" }")
        .unwrap_err();
    assert!(e.contains(".svg"), "{e}");
    let e = start_with("office_phone = \"call us\"").unwrap_err();
    assert!(e.contains("office_phone"), "{e}");
    let e = start_with("[community.kit]\nentrance = \"  \"").unwrap_err();
    assert!(e.contains("kit.entrance"), "{e}");
    let e = start_with("[community.kit]\nentrance_code = \"1234\"").unwrap_err();
    assert!(
        e.contains("entrance_code"),
        "unknown kit keys are refused: {e}"
    );
}

/// This app with Maple Court branded as [`BRANDED`], its logo beside the communities file.
async fn branded(b: Backend, env: &[(&str, &str)]) -> TestApp {
    let (_dir, file) = communities_dir(BRANDED);
    let path = file.display().to_string();
    let mut all: Vec<(&str, &str)> = vec![("TOURGATE_COMMUNITIES", &path)];
    all.extend_from_slice(env);
    crate::helpers::spawn_app_with(b, &all).await
}

on_both_backends!(
    a_branded_community_shows_its_logo_colour_contacts_and_name_on_its_pages,
    |b: Backend| async move {
        let app = branded(b, &[]).await;
        let c = client();
        let (status, html) = app.get(&c, MAPLE).await;
        assert_eq!(status, 200);
        assert!(html.contains(r#"<img class="brand-logo" src="/brand/maple-court/logo.svg" width="200" height="56" alt="Maple Court">"#), "{html}");
        assert!(html.contains(r#"href="/brand/maple-court/style.css""#));
        assert!(html.contains(r#"href="tel:+12065550100""#) && html.contains("(206) 555-0100"));
        assert!(html.contains(r#"href="mailto:leasing@maple.example""#));
        assert!(html.contains("https://www.google.com/maps/dir/?api=1&amp;destination=100+Maple+St%2C+Brooklyn%2C+NY+11201"), "{html}");
        assert!(
            html.contains("Your tour is with <strong>Maple Court Apartments</strong>"),
            "the footer names whom the renter deals with"
        );
        // The files themselves, from memory.
        let r = c
            .get(app.url("/brand/maple-court/logo.svg"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        assert_eq!(r.headers()["content-type"], "image/svg+xml");
        assert_eq!(r.bytes().await.unwrap(), LOGO.as_bytes());
        let (status, css) = app.get(&c, "/brand/maple-court/style.css").await;
        assert_eq!(status, 200);
        assert!(css.contains("--accent: #8a2c0d;"), "{css}");
        for missing in [
            "/brand/maple-court/nothing.svg",
            "/brand/lotus-residency/style.css",
            "/brand/lotus-residency/logo.svg",
            "/brand/nowhere/logo.svg",
        ] {
            assert_eq!(app.get(&c, missing).await.0, 404, "{missing}");
        }
        // A community without branding keeps Tourgate's look.
        let html = app.get(&c, "/tours/lotus-residency").await.1;
        assert!(!html.contains("/brand/"), "{html}");
        assert!(html.contains("Your tour is with <strong>Lotus Residency</strong>"));

        // The booking page: the kit and the directions while the tour is on.
        let page = app.book(&c, MAPLE, None).await;
        let html = app.get(&c, &page).await.1;
        assert!(html.contains("data-tour-kit"), "{html}");
        assert!(html.contains("The glass door on Maple St; the keypad is to its right."));
        assert!(html.contains("Visitor spaces V1 to V4."));
        assert!(html.contains("data-directions"));
        // The code works a day ahead here: the window is on, the office's number in view.
        assert!(html.contains("data-help-call"), "{html}");
    }
);

on_both_backends!(
    mail_goes_out_in_the_communitys_name_with_the_kit_in_the_access_mail,
    |b: Backend| async move {
        let smtp = TestSmtp::start();
        let app = branded(
            b,
            &[
                ("SMTP_URL", smtp.url.as_str()),
                ("MAIL_FROM", "Tourgate <tours@tourgate.example>"),
            ],
        )
        .await;
        let c = client();
        app.book(&c, MAPLE, None).await;
        // The confirmation and, with codes shown a day ahead, the access mail at once.
        app.outbox.drain(Utc::now()).await.unwrap();
        let got = smtp.wait_for(2);
        for m in &got {
            assert_eq!(
                m.from, "tours@tourgate.example",
                "MAIL_FROM's address sends"
            );
            let parsed = mailparse::parse_mail(&m.data).unwrap();
            assert_eq!(
                parsed.headers.get_first_value("From").unwrap(),
                "\"Maple Court Apartments via Tourgate\" <tours@tourgate.example>"
            );
        }
        let access = got
            .iter()
            .map(|m| mailparse::parse_mail(&m.data).unwrap())
            .find(|p| {
                p.headers
                    .get_first_value("Subject")
                    .is_some_and(|s| s.starts_with("How to get in"))
            })
            .expect("the access mail");
        let mut bodies = Vec::new();
        let mut parts = vec![&access];
        while let Some(p) = parts.pop() {
            if p.subparts.is_empty() {
                bodies.push((p.ctype.mimetype.clone(), p.get_body().unwrap()));
            }
            parts.extend(p.subparts.iter());
        }
        for (kind, body) in &bodies {
            assert!(
                body.contains("Entrance and keypad: The glass door on Maple St; the keypad is to its right.")
                    || body.contains("<strong>Entrance and keypad:</strong> The glass door on Maple St; the keypad is to its right."),
                "{kind}: {body}"
            );
            assert!(body.contains("Visitor spaces V1 to V4."), "{kind}");
            assert!(body.contains("A photo ID."), "{kind}");
            assert!(body.contains("Step-free entrance"), "{kind}");
            assert!(
                body.contains("https://www.google.com/maps/dir/?api=1&")
                    && body.contains("destination=100+Maple+St%2C+Brooklyn%2C+NY+11201"),
                "{kind}: the directions link"
            );
            assert!(
                body.contains("(206) 555-0100"),
                "{kind}: the office's number"
            );
        }
        let html = &bodies.iter().find(|(k, _)| k == "text/html").unwrap().1;
        assert!(html.contains("href=\"tel:+12065550100\""), "{html}");

        // A community's own sender replaces the name and the address.
        let smtp = TestSmtp::start();
        let app = TestApp::with_maple(
            b,
            "mail_from = \"Maple Court Leasing <leasing@maple.example>\"",
            &[("SMTP_URL", smtp.url.as_str())],
        )
        .await;
        app.book(&c, MAPLE, None).await;
        app.outbox.drain(Utc::now()).await.unwrap();
        let got = smtp.wait_for(1);
        assert_eq!(got[0].from, "leasing@maple.example");
        let parsed = mailparse::parse_mail(&got[0].data).unwrap();
        assert_eq!(
            parsed.headers.get_first_value("From").unwrap(),
            "\"Maple Court Leasing\" <leasing@maple.example>"
        );
    }
);

/// Signs a new staff member for Maple Court in with a browser of their own.
async fn staff_client(app: &TestApp) -> reqwest::Client {
    let password = "correct horse battery staple";
    tourgate::staff::add_staff(
        &app.app_store,
        &app.settings.communities,
        "desk@maple.example",
        password,
        &["maple-court".to_string()],
        false,
    )
    .await
    .unwrap();
    let c = client();
    let form = app.landing(&c, "/staff/login").await;
    let mut fields: Vec<(String, String)> = form.hidden.into_iter().collect();
    fields.push(("email".into(), "desk@maple.example".into()));
    fields.push(("password".into(), password.into()));
    let r = app.post_form(&c, "/staff/login", &fields).await;
    assert_eq!(r.status().as_u16(), 303);
    c
}

on_both_backends!(
    the_finished_tour_offers_the_next_step_and_one_question_whose_answer_staff_see,
    |b: Backend| async move {
        let app = branded(b, &[]).await;
        let c = client();
        let page = app.book(&c, MAPLE, None).await;
        let id = booking_id(&app.get(&c, &page).await.1);
        let feedback = format!("{page}/feedback");
        let field = |k: &str, v: &str| (k.to_string(), v.to_string());

        // Not finished: no question, and an answer is refused.
        let html = app.get(&c, &page).await.1;
        assert!(!html.contains("data-feedback-form"));
        let csrf = app.landing(&c, &format!("{page}/cancel")).await.hidden["csrf_token"].clone();
        let r = app
            .post_form(
                &c,
                &feedback,
                &[field("csrf_token", &csrf), field("rating", "great")],
            )
            .await;
        assert_eq!(r.status().as_u16(), 409);
        assert!(r.text().await.unwrap().contains("once it is finished"));

        assert_eq!(
            callback(&app, "msg_done", completed(&id, Utc::now(), &["101"]))
                .await
                .0,
            200
        );
        let html = app.get(&c, &page).await.1;
        assert!(html.contains("data-next-step"), "{html}");
        assert!(
            html.contains(r#"href="https://maple.example/apply""#),
            "the apply link"
        );
        assert!(
            html.contains(r#"href="tel:+12065550100""#)
                && html.contains(r#"href="mailto:leasing@maple.example""#)
        );
        assert!(
            !html.contains("data-help-call"),
            "the tour is over: no help bar"
        );
        let doc = scraper::Html::parse_document(&html);
        let sel = scraper::Selector::parse("form[data-feedback-form]").unwrap();
        let form = offered_form(&doc.select(&sel).next().expect("the question").html());
        assert_eq!(form.action, feedback);
        let token = form.hidden["csrf_token"].clone();

        // Without the token: 403. Without a rating, an unknown one, or too long a comment: 400
        // saying what to do. Nothing is stored.
        let r = app
            .post_form(&c, &feedback, &[field("rating", "great")])
            .await;
        assert_eq!(r.status().as_u16(), 403);
        for (fields, says) in [
            (
                vec![field("csrf_token", &token)],
                "Choose how your tour was",
            ),
            (
                vec![field("csrf_token", &token), field("rating", "superb")],
                "Choose how your tour was",
            ),
            (
                vec![
                    field("csrf_token", &token),
                    field("rating", "good"),
                    field("comment", &"x".repeat(1001)),
                ],
                "1000 characters",
            ),
            (
                vec![
                    field("csrf_token", &token),
                    field("rating", "good"),
                    field("comment", "a \u{0} NUL"),
                ],
                "special characters",
            ),
        ] {
            let r = app.post_form(&c, &feedback, &fields).await;
            assert_eq!(r.status().as_u16(), 400);
            let text = r.text().await.unwrap();
            assert!(text.contains(says), "{text}");
        }
        assert!(app
            .bookings
            .feedback(&tourgate::booking::BookingId::parse(&id).unwrap())
            .await
            .unwrap()
            .is_none());

        let answer = [
            field("csrf_token", &token),
            field("rating", "good"),
            field("comment", "  Lovely light in 101 <b>really</b>  "),
        ];
        let r = app.post_form(&c, &feedback, &answer).await;
        assert_eq!(r.status().as_u16(), 303);
        assert_eq!(r.headers()["location"], page.as_str());
        let html = app.get(&c, &page).await.1;
        assert!(html.contains(r#"data-feedback="good""#), "{html}");
        assert!(!html.contains("data-feedback-form"), "asked once");
        // The same answer again (a double tap) lands on the page; another is refused.
        let r = app.post_form(&c, &feedback, &answer).await;
        assert_eq!(r.status().as_u16(), 303);
        let r = app
            .post_form(
                &c,
                &feedback,
                &[field("csrf_token", &token), field("rating", "poor")],
            )
            .await;
        assert_eq!(r.status().as_u16(), 409);
        assert!(r.text().await.unwrap().contains("your first answer stands"));
        let stored = app
            .bookings
            .feedback(&tourgate::booking::BookingId::parse(&id).unwrap())
            .await
            .unwrap()
            .expect("stored");
        assert_eq!(stored.rating.as_str(), "good");
        assert_eq!(
            stored.comment.as_deref(),
            Some("Lovely light in 101 <b>really</b>")
        );
        assert_eq!(
            state_of(&app, &id).await,
            tourgate::booking::BookingState::Completed
        );

        // Staff see it on the booking's page, the comment as text.
        let staff = staff_client(&app).await;
        let (status, html) = app.get(&staff, &format!("/staff/bookings/{id}")).await;
        assert_eq!(status, 200);
        assert!(html.contains(r#"data-staff-feedback="good""#), "{html}");
        assert!(
            html.contains("Lovely light in 101 &lt;b&gt;really&lt;/b&gt;"),
            "{html}"
        );
        assert!(
            html.contains("How was the tour: Good, with a comment"),
            "in the history too"
        );
    }
);
