//! What the demo (no `KNOCK_BASE_URL`) keeps and creates when `tourgate serve` starts: its
//! secret key and the Knock sandbox's records under the data directory (so that a restart
//! keeps door codes, staff sessions and Knock's records), a staff account to sign in with,
//! and the Seam emulator's codes set again (the emulator starts empty: [`reissue_seam_codes`]).
//! Never outside demo mode, where `TOURGATE_SECRET_KEY` is required and Knock is real.
use std::path::PathBuf;

use chrono::{DateTime, Duration, Utc};

use crate::access::Access;
use crate::config::{kept_key, Communities, KeyFileError, KeyOrigin, Secret, Settings};
use crate::domain::GrantState;
use crate::staff::{self, StaffError};
use crate::store::{GrantLock, Store, StoreError};

/// Under `TOURGATE_DATA_DIR`: the generated key (0600) and the sandbox's records.
pub const KEY_FILE: &str = "secret-key";
pub const SANDBOX_STATE_FILE: &str = "knock-sandbox.json";

/// The demo community whose door is a Seam lock (the in-process emulator's "Front Door").
pub const SEAM_COMMUNITY: &str = "cedar-lofts";

/// The history line of a booking whose code is set on the restarted emulator again.
pub const REISSUE_KIND: &str = "access_reset";

/// The demo's staff account: an admin, so it sees every community.
pub const STAFF_EMAIL: &str = "demo-staff@example.com";

/// The demo staff account, shown on `/` and in the start-up banner (demo mode only).
#[derive(Clone)]
pub struct DemoStaff {
    pub email: String,
    pub password: Secret,
}

/// The demo Doorway link's path for a community: what Knock's Doorway page would open, with a
/// source title as a listing site would pass it.
pub fn doorway_path(slug: &str) -> String {
    format!("/tours/{slug}?utm_knock_source_title=Zillow%20Self%20Tour%20%26%20Co")
}

/// Replaces a key made up for this process by the one kept under the data directory.
pub fn keep_key(settings: &mut Settings) -> Result<(), KeyFileError> {
    if settings.secret_key_origin == KeyOrigin::Random {
        let file = settings.data_dir.join(KEY_FILE);
        settings.secret_key = kept_key(&file)?;
        settings.secret_key_origin = KeyOrigin::File(file);
    }
    Ok(())
}

pub fn sandbox_state_file(settings: &Settings) -> PathBuf {
    settings.data_dir.join(SANDBOX_STATE_FILE)
}

/// The account's password follows from the secret key (an HMAC under a label of its own), so
/// it is stored nowhere but as the account's hash, survives a restart with the kept key and
/// differs from one demo to another: `xxxx-xxxx-xxxx-xxxx`, hex.
pub fn staff_password(secret_key: &Secret) -> Secret {
    let mac = hmac_sha256::HMAC::mac(
        b"tourgate demo staff password v1",
        secret_key.expose().as_bytes(),
    );
    let hex = hex::encode(&mac[..8]);
    let groups: Vec<&str> = (0..4).map(|i| &hex[i * 4..i * 4 + 4]).collect();
    Secret::new(groups.join("-"))
}

/// The demo staff account exists with the password of this key: created at the first start,
/// left alone at the next (its sessions stay), given the new password if the key changed.
pub async fn ensure_staff(
    store: &Store,
    communities: &Communities,
    secret_key: &Secret,
) -> Result<DemoStaff, StaffError> {
    let password = staff_password(secret_key);
    let add = || {
        staff::add_staff(
            store,
            communities,
            STAFF_EMAIL,
            password.expose(),
            &[],
            true,
        )
    };
    match add().await {
        Ok(_) => {}
        Err(StaffError::Exists(_)) => {
            if !staff::password_matches(store, STAFF_EMAIL, password.expose()).await? {
                tracing::info!("the demo's key changed: the demo staff account is made again");
                staff::remove(store, STAFF_EMAIL).await?;
                add().await?;
            }
        }
        Err(e) => return Err(e),
    }
    Ok(DemoStaff {
        email: STAFF_EMAIL.to_string(),
        password,
    })
}

/// A restart of the demo: the in-process Seam emulator holds nothing (it keeps no records;
/// a real lock would keep its codes, the emulator stands in for it only while the process
/// runs), while our grants still say which codes are on its lock. So every live booking at a
/// Seam community whose grant is not on its way out is marked removed from the lock (true of
/// the emulator just started) and given a new generation of its grant through the same use
/// case as any other booking ([`Access::issue`]): an issue job through the outbox and the
/// real adapter, and the emulator's signed webhook back when the lock has it. The PIN is the
/// same (it follows from the booking and the kept key), so the renter's mail stays right.
/// Returns how many bookings were queued again.
///
/// Why not keep the emulator's records under the data directory, as the Knock sandbox's are:
/// its webhook secret is made anew at each demo start, its codes' ids, event log and
/// delivery queue would all have to be restored consistently, and setting the codes again
/// exercises the path a replaced or reset real lock needs anyway.
pub async fn reissue_seam_codes(
    store: &Store,
    access: &Access,
    communities: &Communities,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut queued = 0;
    for c in communities.all() {
        if c.seam_locks().is_empty() {
            continue;
        }
        let bookings = store
            .bookings_between(
                std::slice::from_ref(&c.slug),
                now - Duration::days(3),
                now + c.access.reach() + Duration::days(2),
            )
            .await?;
        for b in bookings
            .iter()
            .filter(|b| b.state.is_live() && b.slot_end > now)
        {
            // One transaction per booking: every lock's grant marked gone, then the grants
            // made again for its window (their issue jobs queued with them).
            let mut tx = store.begin().await?;
            let mut forgot = false;
            for g in tx.access_grants(&b.id).await? {
                let on_the_way_out = matches!(
                    g.state,
                    GrantState::Revoking | GrantState::Removed | GrantState::RevokeFailed
                );
                if on_the_way_out {
                    continue;
                }
                let lock = GrantLock {
                    provider: &g.provider,
                    device_id: &g.device_id,
                    unit: g.unit.as_deref(),
                };
                tx.put_grant(
                    &b.id,
                    lock,
                    (g.starts_at, g.ends_at),
                    GrantState::Removed,
                    now,
                )
                .await?;
                forgot = true;
            }
            if forgot {
                tx.history(
                    &b.id,
                    now,
                    "demo",
                    REISSUE_KIND,
                    "The demo's Seam emulator started empty: the door code is set on its lock again",
                )
                .await?;
            }
            access.ensure_in(&mut tx, &b.id, now).await?;
            tx.commit().await?;
            queued += 1;
        }
    }
    if queued > 0 {
        tracing::info!(
            queued,
            "the Seam emulator started empty: door codes queued for its lock again"
        );
    }
    Ok(queued)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_staff_password_is_stable_per_key_and_differs_between_keys() {
        let a = Secret::new("a".repeat(40));
        let p = staff_password(&a);
        assert_eq!(p.expose().len(), 19);
        assert_eq!(staff_password(&a).expose(), p.expose());
        assert_ne!(
            staff_password(&Secret::new("b".repeat(40))).expose(),
            p.expose()
        );
        assert!(crate::staff::NewPassword::parse(p.expose()).is_ok());
    }
}
