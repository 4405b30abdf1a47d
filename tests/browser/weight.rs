//! Page weight over plain HTTP: each renter page with its stylesheet stays under 50 KB and
//! carries no script.
use crate::helpers::{client, spawn_app, Backend};
use crate::pages::doorway_link;

const BUDGET: usize = 50 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_renter_page_with_its_stylesheet_weighs_under_50_kb_and_carries_no_script() {
    let app = spawn_app(Backend::Sqlite).await;
    let c = client();
    let get = |url: String| {
        let c = c.clone();
        async move {
            let r = c.get(&url).send().await.expect("the page answers");
            assert!(r.status().is_success(), "{url}: {}", r.status());
            r.text().await.expect("the page's body")
        }
    };
    let css = get(app.url("/static/style.css")).await;
    let landing = get(doorway_link(&app)).await;
    assert!(
        landing.contains("name=\"start\""),
        "the landing page offers slots, so its weight is the real one"
    );
    let booking = app.book(&c, "/tours/maple-court", None).await;
    let pages = [
        ("the landing page", landing),
        ("the booking page", get(app.url(&booking)).await),
        (
            "the reschedule page",
            get(app.url(&format!("{booking}/reschedule"))).await,
        ),
        (
            "the cancel page",
            get(app.url(&format!("{booking}/cancel"))).await,
        ),
    ];
    for (name, html) in &pages {
        let total = html.len() + css.len();
        eprintln!(
            "{name}: HTML {} B + CSS {} B = {total} B",
            html.len(),
            css.len()
        );
        assert!(
            total < BUDGET,
            "{name}: HTML ({} B) + CSS ({} B) = {total} B, over {BUDGET} B",
            html.len(),
            css.len()
        );
        assert!(
            !html.to_lowercase().contains("<script"),
            "{name} carries no script"
        );
    }
    assert!(
        pages[2].1.contains("name=\"start\""),
        "the reschedule page offers times, so its weight is the real one"
    );
}
