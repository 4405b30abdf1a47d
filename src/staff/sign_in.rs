//! Signing in: attempt limits first, then the password, then a brand-new session.
use std::net::IpAddr;

use chrono::{DateTime, Utc};

use super::accounts::StaffError;
use super::client_ip::rate_key;
use super::password;
use super::rate_limit::{SignInLimits, ACCOUNT_ATTEMPTS, ADDRESS_ATTEMPTS, WINDOW};
use super::session::SessionToken;
use super::StaffMember;
use crate::domain::Email;
use crate::store::{NewStaffSession, Store};

pub struct SignInAttempt<'a> {
    pub email: &'a str,
    pub password: &'a str,
    pub ip: IpAddr,
    /// The session cookie the browser already had, if any.
    pub presented: Option<&'a str>,
    pub now: DateTime<Utc>,
}

#[derive(Debug)]
pub enum SignIn {
    /// A new session: its token goes in the cookie.
    Accepted {
        staff: StaffMember,
        token: SessionToken,
    },
    /// Unknown e-mail or wrong password (callers must not tell which).
    Refused,
    /// Too many attempts for this account or this address.
    Limited,
}

pub async fn sign_in(
    store: &Store,
    limits: &SignInLimits,
    a: SignInAttempt<'_>,
) -> Result<SignIn, StaffError> {
    let email = Email::parse(a.email).ok().map(|e| e.normalized());
    if !limits.allow(email.as_deref(), a.ip) {
        tracing::warn!(ip = %a.ip, "staff sign-in refused: too many attempts");
        return Ok(SignIn::Limited);
    }
    // The in-memory limits are this process's; the refusals on record are every process's.
    let client = rate_key(a.ip).to_string();
    let window = chrono::Duration::from_std(WINDOW).unwrap_or(chrono::Duration::MAX);
    let (from_client, for_account) = store
        .sign_in_failures_since(&client, email.as_deref(), a.now - window)
        .await?;
    if from_client >= i64::from(ADDRESS_ATTEMPTS) || for_account >= i64::from(ACCOUNT_ATTEMPTS) {
        tracing::warn!(ip = %a.ip, "staff sign-in refused: too many refusals on record");
        return Ok(SignIn::Limited);
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
            let detail = format!("wrong password from {}", a.ip);
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
            .record_sign_in_failure(&client, email.as_deref(), a.now, a.now - window)
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
    Ok(SignIn::Accepted { staff, token })
}
