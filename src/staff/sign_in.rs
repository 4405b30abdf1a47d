//! Signing in: attempt limits first, then the password, then a brand-new session and a new
//! device cookie.
use std::net::IpAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::accounts::StaffError;
use super::client_ip::rate_key;
use super::device::{DeviceCookie, DeviceKey};
use super::password;
use super::rate_limit::{
    AttemptKeys, SignInLimits, ACCOUNT_ATTEMPTS, ADDRESS_ATTEMPTS, DEVICE_ATTEMPTS, PAIR_ATTEMPTS,
    WINDOW,
};
use super::session::SessionToken;
use super::StaffMember;
use crate::domain::Email;
use crate::store::{NewStaffSession, SignInFailures, SignInKeys, Store};

pub struct SignInAttempt<'a> {
    pub email: &'a str,
    pub password: &'a str,
    pub ip: IpAddr,
    /// The session cookie the browser already had, if any.
    pub presented: Option<&'a str>,
    /// The device cookie the browser already had, if any (see `device`).
    pub device: Option<&'a str>,
    pub now: DateTime<Utc>,
}

#[derive(Debug)]
pub enum SignIn {
    /// A new session: its token goes in the session cookie; `device` is the browser's new
    /// device cookie for this account.
    Accepted {
        staff: StaffMember,
        token: SessionToken,
        device: DeviceCookie,
    },
    /// Unknown e-mail or wrong password (callers must not tell which).
    Refused,
    /// Too many attempts for this account, address, pair of both, or device cookie; another
    /// attempt may succeed after `retry_after`.
    Limited { retry_after: Duration },
}

/// The refusals each limit allows in a window.
const LIMITS: SignInFailures<i64> = SignInFailures {
    address: ADDRESS_ATTEMPTS as i64,
    pair: PAIR_ATTEMPTS as i64,
    account: ACCOUNT_ATTEMPTS as i64,
    device: DEVICE_ATTEMPTS as i64,
};

pub async fn sign_in(
    store: &Store,
    limits: &SignInLimits,
    devices: &DeviceKey,
    a: SignInAttempt<'_>,
) -> Result<SignIn, StaffError> {
    let email = Email::parse(a.email).ok().map(|e| e.normalized());
    // A device cookie counts only for the account it was issued to.
    let device = match (&email, a.device) {
        (Some(e), Some(cookie)) => devices.verify(cookie, e, a.now),
        _ => None,
    };
    let nonce = device.as_ref().map(|d| d.nonce());
    let charged = AttemptKeys {
        account: email.as_deref(),
        ip: a.ip,
        device: nonce,
    };
    if let Err(wait) = limits.allow(&charged) {
        tracing::warn!(ip = %a.ip, "staff sign-in refused: too many attempts");
        return Ok(SignIn::Limited { retry_after: wait });
    }
    // The in-memory limits are this process's; the refusals on record are every process's.
    let client = rate_key(a.ip).to_string();
    let keys = SignInKeys {
        client: &client,
        account: email.as_deref(),
        device: nonce,
    };
    let window = chrono::Duration::from_std(WINDOW).unwrap_or(chrono::Duration::MAX);
    if let Some(retry_after) = limited_until(store, &keys, a.now, window).await? {
        tracing::warn!(ip = %a.ip, "staff sign-in refused: too many refusals on record");
        return Ok(SignIn::Limited { retry_after });
    }
    let credentials = match &email {
        Some(e) => store.staff_credentials(e).await?,
        None => None,
    };
    let candidate = a.password.to_string();
    let stored = credentials.as_ref().map(|(_, hash)| hash.clone());
    // An unknown account is checked against a dummy hash: the answer takes as long.
    let matches =
        tokio::task::spawn_blocking(move || password::verify(&candidate, stored.as_deref()))
            .await
            .map_err(|e| StaffError::Hashing(e.to_string()))?;
    let staff = match (matches, credentials, email.clone()) {
        (true, Some((id, _)), _) => store.staff_member(id).await?,
        (false, Some(_), Some(email)) => {
            tracing::info!("staff sign-in refused: wrong password");
            // Off the answer's path, so that a known account does not answer more slowly.
            let store = store.clone();
            let detail = format!(
                "wrong password from {}{}",
                a.ip,
                if device.is_some() {
                    " (a browser that signed in before)"
                } else {
                    ""
                }
            );
            let now = a.now;
            tokio::spawn(async move {
                if let Err(e) = store
                    .record_staff_action(&email, "sign_in_refused", None, &detail, now)
                    .await
                {
                    tracing::error!(error = %e, "could not audit a refused sign-in");
                }
            });
            None
        }
        _ => None,
    };
    let Some(staff) = staff else {
        store
            .record_sign_in_failure(&keys, a.now, a.now - window)
            .await?;
        return Ok(SignIn::Refused);
    };
    let token = SessionToken::generate();
    let replaces = a.presented.and_then(SessionToken::parse).map(|t| t.id());
    store
        .start_staff_session(&NewStaffSession {
            id: &token.id(),
            replaces: replaces.as_deref(),
            staff: &staff,
            detail: &format!("from {}", a.ip),
            now: a.now,
            idle_since: a.now - super::IDLE_TIMEOUT,
            started_before: a.now - super::MAX_LIFETIME,
        })
        .await?;
    tracing::info!(staff = staff.id, "staff signed in");
    let device = devices.issue(&staff.email, a.now);
    Ok(SignIn::Accepted {
        staff,
        token,
        device,
    })
}

/// How long until the limits on record allow this attempt; None when they allow it now.
/// The per-account limit is for browsers without a device cookie for the account; one with
/// such a cookie is held to the cookie's own limit instead.
async fn limited_until(
    store: &Store,
    keys: &SignInKeys<'_>,
    now: DateTime<Utc>,
    window: chrono::Duration,
) -> Result<Option<Duration>, StaffError> {
    let nth = store
        .sign_in_failures_since(keys, &LIMITS, now - window)
        .await?;
    let account = if keys.device.is_none() {
        nth.account
    } else {
        None
    };
    let until = [nth.address, nth.pair, account, nth.device]
        .into_iter()
        .flatten()
        .map(|at| at + window)
        .max();
    Ok(until
        .filter(|until| *until > now)
        .map(|until| (until - now).to_std().unwrap_or(WINDOW)))
}
