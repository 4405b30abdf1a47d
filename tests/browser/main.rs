//! The renter's and staff's pages in headless Chromium, driven over WebDriver (fantoccini +
//! chromedriver), at a phone and a desktop viewport: booking by pointer and by keyboard, the
//! door code opening the demo lock and the visit reaching Knock, cancelling (renter and staff),
//! moving a tour, the confirmation e-mail; announced errors, visible focus, no horizontal
//! scrolling at 360 px, axe-core on every page, page weight.
//!
//! Chromium, chromedriver and axe-core are installed by scripts/install-test-deps.sh, which the
//! harness runs itself when one of them is missing. Screenshots go to target/browser-artifacts/.
#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;

mod axe;
mod browser;
mod deps;
mod pages;

mod accessibility;
mod branding;
mod cancel;
mod demo;
mod desktop;
mod lock;
mod mail;
mod phone;
mod renter_flow;
mod reschedule;
mod seam_lock;
mod staff;
mod weight;
