//! Page weight over plain HTTP: a renter page and its stylesheet stay small and script-free.
use crate::helpers::{client, spawn_app, Backend};
use crate::pages::doorway_link;

const BUDGET: usize = 50 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_landing_page_with_its_stylesheet_weighs_under_50_kb_and_carries_no_script() {
    let app = spawn_app(Backend::Sqlite).await;
    let c = client();
    let html = c
        .get(doorway_link(&app))
        .send()
        .await
        .expect("the landing page answers")
        .text()
        .await
        .expect("the landing page's body");
    let css = c
        .get(app.url("/static/style.css"))
        .send()
        .await
        .expect("the stylesheet answers")
        .text()
        .await
        .expect("the stylesheet's body");
    assert!(
        html.contains("name=\"start\""),
        "the landing page offers slots, so its weight is the real one"
    );
    let total = html.len() + css.len();
    eprintln!(
        "landing HTML {} B + CSS {} B = {total} B",
        html.len(),
        css.len()
    );
    assert!(
        total < BUDGET,
        "landing HTML ({} B) + CSS ({} B) = {total} B, over {BUDGET} B",
        html.len(),
        css.len()
    );
    assert!(
        !html.to_lowercase().contains("<script"),
        "the landing page carries no script"
    );
    let booking = app.book(&c, "/tours/maple-court", None).await;
    let (_, page) = app.get(&c, &booking).await;
    assert!(
        !page.to_lowercase().contains("<script"),
        "the booking page carries no script"
    );
}
