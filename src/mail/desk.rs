//! Sending one queued mail: the booking as it is now, composed and handed to the Mailer.
use chrono::{DateTime, Utc};
use lettre::message::Mailbox;
use url::Url;

use super::schedule::still_useful;
use super::{compose, sender, MailContext, MailError, MailKind, Mailer};
use crate::access::{Access, EmailProof, PROOF_PARAM};
use crate::config::Communities;
use crate::domain::{rules, Booking};

/// What sending mail needs: the transport, the communities, where links point, the sender,
/// and the door codes (recomputed for the access instructions, never stored).
#[derive(Clone)]
pub struct MailDesk {
    pub mailer: Mailer,
    pub communities: Communities,
    pub public_url: Url,
    /// MAIL_FROM: its address sends each community's mail, in the community's name
    /// ([`super::sender`]).
    pub from: Mailbox,
    pub access: Access,
    /// The proof of e-mail the links in our mails carry.
    pub proof: EmailProof,
    /// `agent.username` in Knock's e-mail log (required by Knock; an automated sender).
    pub knock_agent: String,
}

/// How one send came out.
#[derive(Debug)]
pub enum Sent {
    /// Handed to the mail server; subject and `log_body` (the HTML without the door code or
    /// the proof) are what Knock's log gets.
    Sent { subject: String, log_body: String },
    /// Not sent, on purpose (the booking was cancelled, the tour has begun...): `why`.
    Skipped(String),
}

impl MailDesk {
    /// Sends mail `kind` about `booking` as it stands at `now`.
    pub async fn send(
        &self,
        kind: MailKind,
        sequence: u32,
        booking: &Booking,
        now: DateTime<Utc>,
    ) -> Result<Sent, MailError> {
        if let Some(why) = reason_to_skip(kind, booking, now) {
            return Ok(Sent::Skipped(why));
        }
        let community = self
            .communities
            .get(&booking.community_slug)
            .ok_or_else(|| {
                MailError::Build(format!("unknown community {}", booking.community_slug))
            })?;
        if !community.renter_mail {
            // Queued by a path that does not read the community (the window sweep's offer).
            return Ok(Sent::Skipped(
                "the community's own automations write to renters".into(),
            ));
        }
        let grant = match kind {
            MailKind::AccessInstructions => {
                // Only once the lock has it (an outside lock sets codes some time after we ask):
                // until then the mail waits, retried.
                Some(
                    self.access
                        .grant(community, booking)
                        .await
                        .map_err(|e| MailError::Transient(format!("access: {e}")))?,
                )
            }
            _ => None,
        };
        let code = grant.as_ref().and_then(|g| g.code.as_ref());
        let unit_codes: Vec<(String, String)> = grant
            .iter()
            .flat_map(|g| &g.unit_codes)
            .map(|u| (u.unit.clone(), u.code.reveal().to_string()))
            .collect();
        let page_url = self
            .public_url
            .join(&format!("bookings/{}", booking.token))
            .map_err(|e| MailError::Build(e.to_string()))?;
        let mut manage_url = page_url.clone();
        manage_url
            .query_pairs_mut()
            .append_pair(PROOF_PARAM, &self.proof.for_booking(&booking.id));
        let from = sender(community, &self.from);
        let mail = compose(&MailContext {
            kind,
            booking,
            community,
            manage_url: manage_url.to_string(),
            page_url: page_url.to_string(),
            access_code: code.map(|c| c.reveal()),
            unit_codes: &unit_codes,
            sequence,
            from: &from,
            now,
        })?;
        self.mailer.send(mail.message).await?;
        Ok(Sent::Sent {
            subject: mail.subject,
            log_body: mail.logged_html,
        })
    }
}

fn reason_to_skip(kind: MailKind, b: &Booking, now: DateTime<Utc>) -> Option<String> {
    if !rules::mail_fits(kind, b.state) {
        return Some(format!("the booking is {}", b.state.as_str()));
    }
    if !still_useful(kind, b.slot_start(), now) {
        return Some("the tour has begun".into());
    }
    None
}
