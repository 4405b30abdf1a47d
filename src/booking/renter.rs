//! One tour per renter per community (README: "One tour per renter"). Knock merges prospects
//! by e-mail or phone and a new appointment request replaces the prospect's upcoming one at the
//! community (API.md §4, behaviour 5), so a second booking with the same e-mail or phone is
//! never sent to Knock. Whoever typed it is told only that a tour is booked; the link to change
//! it goes to the address on file, which only the renter reads.
use chrono::{DateTime, Utc};

use crate::domain::job::{DedupeKey, JobKind};
use crate::domain::{rules, Booking, BookingId, MailKind, Renter};
use crate::outbox::{EmailJob, Job};
use crate::store::{Store, StoreError};

/// At most this many manage-link mails per booking in any rolling [`MANAGE_LINK_WINDOW`]. A
/// renter who lost their link gets it at once, and again if they try a little later; but anyone
/// can type a renter's e-mail or phone into the form, and without a ceiling the form would be a
/// way to flood the renter's inbox (and their Knock guest card, where each mail is logged).
pub const MANAGE_LINK_MAILS_PER_WINDOW: usize = 3;
/// The rolling window [`MANAGE_LINK_MAILS_PER_WINDOW`] counts in.
pub const MANAGE_LINK_WINDOW: chrono::Duration = chrono::Duration::hours(1);

/// Whether `existing` (a booking at the same community) stands in the way of `renter`
/// booking: it holds a slot and has their e-mail (case-insensitively) or their phone.
pub fn stands_in_the_way(existing: &Booking, renter: &Renter) -> bool {
    rules::renter_already_booked(
        existing.state,
        existing.email.normalized() == renter.email.normalized(),
        existing.phone == renter.phone,
    )
}

/// What [`queue_manage_link`] and [`queue_booking_link`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManageLinkQueued {
    Queued,
    /// The booking had its share of these mails this hour: nothing more is sent.
    RateLimited,
    /// The booking no longer holds a slot (cancelled a moment ago): nothing to link to.
    NotLive,
}

/// Queues the "manage your tour" mail to `booking`'s own e-mail address, with its link, at
/// most [`MANAGE_LINK_MAILS_PER_WINDOW`] times per [`MANAGE_LINK_WINDOW`]. The count and the
/// enqueue happen in one transaction under the booking's lock, so racing attempts cannot
/// slip past the limit together.
pub async fn queue_manage_link(
    store: &Store,
    booking: &BookingId,
    now: DateTime<Utc>,
) -> Result<ManageLinkQueued, StoreError> {
    queue_link_mail(
        store,
        booking,
        MailKind::ManageLink,
        now,
        (
            "booking_form",
            "manage_link_sent",
            "Someone tried to book another tour with this booking's e-mail or phone: \
             its link was e-mailed to the address on file",
        ),
    )
    .await
}

/// The booking page's "send the link again": the booking's link (with its proof of e-mail)
/// to the address on file, under the same limit as [`queue_manage_link`] (the two share it:
/// both land in the same inbox, and anyone holding the booking link can press the button).
pub async fn queue_booking_link(
    store: &Store,
    booking: &BookingId,
    now: DateTime<Utc>,
) -> Result<ManageLinkQueued, StoreError> {
    queue_link_mail(
        store,
        booking,
        MailKind::BookingLink,
        now,
        (
            "renter",
            "booking_link_sent",
            "The booking page asked for the booking's link again: it was e-mailed to the \
             address on file",
        ),
    )
    .await
}

/// The mails that carry nothing but the booking's link, counted together for the limit.
fn is_link_mail(kind: Option<MailKind>) -> bool {
    matches!(kind, Some(MailKind::ManageLink | MailKind::BookingLink))
}

async fn queue_link_mail(
    store: &Store,
    booking: &BookingId,
    kind: MailKind,
    now: DateTime<Utc>,
    (actor, event, detail): (&str, &str, &str),
) -> Result<ManageLinkQueued, StoreError> {
    let mut tx = store.begin().await?;
    let Some(b) = tx.booking(booking).await? else {
        return Ok(ManageLinkQueued::NotLive);
    };
    if !rules::mail_fits(kind, b.state) {
        return Ok(ManageLinkQueued::NotLive);
    }
    let sent = tx
        .payloads_since(booking, JobKind::Email, now - MANAGE_LINK_WINDOW)
        .await?
        .iter()
        .filter(|p| serde_json::from_str::<EmailJob>(p).is_ok_and(|e| is_link_mail(e.kind())))
        .count();
    if sent >= MANAGE_LINK_MAILS_PER_WINDOW {
        return Ok(ManageLinkQueued::RateLimited);
    }
    let job = Job::Email(EmailJob::new(kind, 0));
    // A key of its own per mail: the same booking may get this mail again later.
    let key = DedupeKey::of(format!("{}:{}", kind.as_str(), now.timestamp_micros()));
    if !tx.enqueue(booking, &job, &key, now, now).await? {
        // Two attempts in the same microsecond: the other one's mail is this one.
        return Ok(ManageLinkQueued::RateLimited);
    }
    tx.history(booking, now, actor, event, detail).await?;
    tx.commit().await?;
    Ok(ManageLinkQueued::Queued)
}

impl super::BookingService {
    /// The booking page's "send the link again" ([`queue_booking_link`]).
    pub async fn send_booking_link(
        &self,
        booking: &BookingId,
        now: DateTime<Utc>,
    ) -> Result<ManageLinkQueued, StoreError> {
        queue_booking_link(&self.store, booking, now).await
    }
}
