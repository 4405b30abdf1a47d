//! What the demo (no `KNOCK_BASE_URL`) keeps and creates when `tourgate serve` starts: its
//! secret key and the Knock sandbox's records under the data directory (so that a restart
//! keeps door codes, staff sessions and Knock's records), and a staff account to sign in with.
//! Never outside demo mode, where `TOURGATE_SECRET_KEY` is required and Knock is real.
use std::path::PathBuf;

use crate::config::{kept_key, Communities, KeyFileError, KeyOrigin, Secret, Settings};
use crate::staff::{self, StaffError};
use crate::store::Store;

/// Under `TOURGATE_DATA_DIR`: the generated key (0600) and the sandbox's records.
pub const KEY_FILE: &str = "secret-key";
pub const SANDBOX_STATE_FILE: &str = "knock-sandbox.json";

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
