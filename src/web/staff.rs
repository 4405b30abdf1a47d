//! The staff area: sign-in and sign-out, the Today board and the tour list, one booking's page. Every page but the
//! sign-in form needs a live session. A staff member sees only their communities; another
//! community's booking is answered exactly like one that does not exist.
mod auth;
mod booking;
mod cancel;
mod find;
mod labels;
mod login;
mod today;
mod tours;

use actix_web::web;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/staff", web::get().to(tours::list))
        .route("/staff/login", web::get().to(login::form))
        .route("/staff/login", web::post().to(login::submit))
        .route("/staff/logout", web::post().to(login::sign_out))
        .route("/staff/bookings/{id}", web::get().to(booking::show))
        .route("/staff/bookings/{id}/cancel", web::get().to(cancel::form))
        .route(
            "/staff/bookings/{id}/cancel",
            web::post().to(cancel::submit),
        )
        .route("/staff/outbox/{job}/retry", web::post().to(cancel::retry))
        .route("/staff/bookings/{id}/adopt", web::post().to(booking::adopt))
        .route(
            "/staff/bookings/{id}/confirm",
            web::post().to(booking::office_confirmed),
        )
        .route(
            "/staff/bookings/{id}/resend-access",
            web::post().to(cancel::resend_access),
        )
        .route("/staff/find", web::get().to(find::find));
}
