//! At tour time: the renter reads the door code on the booking page, opens the demo lock with
//! it, finishes the tour, and the visit shows in the Knock sandbox's own view. The app runs its
//! workers, so the visit reaches the sandbox the way it does in the demo.
use crate::axe::AxeReport;
use crate::browser::Browser;
use crate::helpers::{spawn_app_with, Backend, TestApp, COMMUNITIES};
use crate::pages;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_phone_the_door_code_opens_the_demo_lock_the_renter_says_done_and_knock_gets_the_visit(
) {
    door_code_walk(390, 844, "phone", Finish::OnTheBookingPage).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_a_desktop_the_door_code_opens_the_demo_lock_the_lock_reports_the_tour_and_knock_gets_the_visit(
) {
    door_code_walk(1280, 900, "desktop", Finish::AtTheLock).await;
}

/// Who says the tour is over.
enum Finish {
    /// The lock (the provider's `tour.completed`), from the demo lock's page.
    AtTheLock,
    /// The renter, with "I have finished my tour" on the booking page.
    OnTheBookingPage,
}

/// Maple Court open around the clock in the sandbox, with the code shown and valid a day
/// ahead, so that the earliest time offered is already "tour time" for the lock.
pub async fn app_at_tour_time() -> (TestApp, tempfile_path::TempPath) {
    let file = tempfile_path::TempPath::new("tourgate-communities", "toml");
    let text = COMMUNITIES.replacen(
        "units = [\"101\", \"102\", \"2B\"]",
        "units = [\"101\", \"102\", \"2B\"]\n\
         code_shown_before_minutes = 1440\n\
         code_valid_before_minutes = 1440\n\
         [community.sandbox]\n\
         opens = \"00:00:00\"\n\
         closes = \"23:59:00\"\n\
         min_notice_minutes = 15",
        1,
    );
    std::fs::write(&file.0, text).expect("write the communities file");
    let path = file.0.display().to_string();
    let app = spawn_app_with(
        Backend::Sqlite,
        &[("TOURGATE_COMMUNITIES", &path), ("TOURGATE_WORKERS", "on")],
    )
    .await;
    (app, file)
}

async fn door_code_walk(width: u32, height: u32, shot: &str, finish: Finish) {
    let (app, _file) = app_at_tour_time().await;
    let b = Browser::start(width, height).await;
    let mut axe = AxeReport::default();

    let (_, id) = pages::book_slot_by_pointer(&b, &app, 0, 0, &format!("{shot}-lock")).await;
    // Whoever filled in the form sees no code: it is for whoever reads the renter's e-mail.
    b.wait_for("[data-code-needs-proof]").await;
    assert!(b.find_all("[data-access-code]").await.is_empty());
    axe.check(&b, "the booking page asking for the e-mailed link")
        .await;
    pages::open_mailed_link(&b, &app).await;
    let code = b
        .wait_for("[data-access-code]")
        .await
        .attr("data-access-code")
        .await
        .ok()
        .flatten()
        .expect("the booking page shows the door code at tour time");
    assert!(
        code.len() == 6 && code.chars().all(|c| c.is_ascii_digit()),
        "a six-digit code, not {code:?}"
    );
    assert!(b.text(".access").await.contains(&code));
    let spoken = b
        .js("return document.querySelector('.code .visually-hidden').textContent.trim()")
        .await;
    let digits: Vec<String> = code.chars().map(String::from).collect();
    assert_eq!(
        spoken.as_str(),
        Some(digits.join(" ").as_str()),
        "screen readers hear the code digit by digit"
    );
    axe.check(&b, "the booking page with its door code").await;
    let booking_page = b.client.current_url().await.expect("a URL").to_string();

    b.goto(&app.url("/sandbox/lock/maple-court")).await;
    b.wait_for("[data-door=closed]").await;
    axe.check(&b, "the demo lock").await;

    // A wrong code is refused plainly and the door stays shut.
    let wrong = if code == "000000" { "000001" } else { "000000" };
    enter_code(&b, wrong).await;
    let notice = b.wait_for("[data-lock-notice]").await;
    assert_eq!(
        notice.attr("role").await.ok().flatten().as_deref(),
        Some("alert"),
        "the refusal is announced"
    );
    assert!(b.find_all("[data-door=open]").await.is_empty());
    b.screenshot(&format!("{shot}-lock-refused")).await;
    axe.check(&b, "the demo lock, code refused").await;

    enter_code(&b, &code).await;
    let door = b.wait_for("[data-door=open]").await;
    assert_eq!(
        door.attr("data-booking-id").await.ok().flatten(),
        Some(id.clone()),
        "the code opened the door for this booking"
    );
    b.screenshot(&format!("{shot}-lock-open")).await;
    axe.check(&b, "the demo lock, door open").await;

    match finish {
        Finish::AtTheLock => {
            b.tap("label:has(input[name=unit][value='2B'])").await;
            b.tap("form[action$='/finish'] button[type=submit]").await;
            b.wait_for("[data-door=finished]").await;
            axe.check(&b, "the demo lock, tour finished").await;
            b.goto(&booking_page).await;
        }
        Finish::OnTheBookingPage => {
            b.goto(&booking_page).await;
            pages::assert_booking_state(&b, "in_progress").await;
            assert!(
                b.text(".access").await.contains(&code),
                "the code stays on the page during the tour"
            );
            b.screenshot(&format!("{shot}-under-way")).await;
            axe.check(&b, "the booking page, tour under way").await;
            b.tap("form[action$='/done'] label:has(input[name=unit][value='2B'])")
                .await;
            b.tap("form[action$='/done'] button[type=submit]").await;
        }
    }
    pages::assert_booking_state(&b, "completed").await;
    assert!(
        b.find_all("[data-access-code]").await.is_empty(),
        "no door code once the tour is over"
    );
    axe.check(&b, "the booking page, tour finished").await;

    // The visit, in the sandbox's own page, against the Knock appointment of this booking.
    let appointment = app
        .sandbox
        .snapshot()
        .appointments
        .first()
        .map(|a| a.id.clone())
        .expect("the booking's appointment is in the sandbox");
    let visit_shown = format!(
        "return [...document.querySelectorAll('#visits tr')].some(r =>
             r.cells.length > 4 && r.cells[2].textContent.trim() === {appointment:?}
             && r.cells[4].textContent.includes('2B'))"
    );
    b.reload_until(
        &format!("{}/_sandbox", app.sandbox_url),
        &visit_shown,
        "the visit for the finished tour, unit 2B",
    )
    .await;
    b.screenshot(&format!("{shot}-sandbox-visit")).await;
    assert_eq!(
        app.sandbox.snapshot().visits.len(),
        1,
        "one tour, one visit"
    );
    b.close().await;
    axe.assert_clean();
}

/// Types the code on the keypad and taps Open.
async fn enter_code(b: &Browser, code: &str) {
    let field = b.find("#code").await;
    field.clear().await.expect("clear the code");
    field.send_keys(code).await.expect("type the code");
    b.tap("form[action$='/open'] button[type=submit]").await;
}

/// A path in the temporary directory, removed when dropped.
pub mod tempfile_path {
    pub struct TempPath(pub std::path::PathBuf);

    impl TempPath {
        pub fn new(stem: &str, ext: &str) -> Self {
            Self(
                std::env::temp_dir()
                    .join(format!("{stem}-{}.{ext}", crate::helpers::random_name())),
            )
        }
    }

    impl Drop for TempPath {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}
