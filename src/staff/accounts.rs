//! Account management for the operator's CLI (and for tests, through the same functions).
use chrono::Utc;

use super::password::{NewPassword, PasswordProblem};
use super::StaffMember;
use crate::config::Communities;
use crate::domain::{Email, EmailError};
use crate::store::{StaffChange, Store, StoreError};

/// Why an account change was refused. Each message is one line for the operator.
#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    #[error("`{0}` is not an e-mail address: {1}")]
    Email(String, EmailError),
    #[error("{0}")]
    Password(#[from] PasswordProblem),
    #[error("unknown community `{0}`: it is not in the communities file")]
    UnknownCommunity(String),
    #[error("give at least one --community, or --admin")]
    NoCommunity,
    #[error("{0} already exists; nothing was changed")]
    Exists(String),
    #[error("there is no staff member {0}")]
    NoSuchStaff(String),
    #[error("{0} already has {1}; nothing was changed")]
    AlreadyGranted(String, String),
    #[error("{0} does not have {1}; nothing was changed")]
    NotGranted(String, String),
    #[error("password hashing failed: {0}")]
    Hashing(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The stored form of an account e-mail: parsed, then lower-cased.
fn account_email(raw: &str) -> Result<String, StaffError> {
    Email::parse(raw)
        .map(|e| e.normalized())
        .map_err(|e| StaffError::Email(raw.to_string(), e))
}

fn known_community(communities: &Communities, slug: &str) -> Result<(), StaffError> {
    match communities.get(slug) {
        Some(_) => Ok(()),
        None => Err(StaffError::UnknownCommunity(slug.to_string())),
    }
}

/// Adds a staff member. Nothing is written unless every part is valid; an existing e-mail is
/// refused, not updated.
pub async fn add_staff(
    store: &Store,
    communities: &Communities,
    email: &str,
    password: &str,
    slugs: &[String],
    admin: bool,
) -> Result<StaffMember, StaffError> {
    let email = account_email(email)?;
    let mut grants: Vec<String> = Vec::new();
    for slug in slugs {
        known_community(communities, slug)?;
        if !grants.contains(slug) {
            grants.push(slug.clone());
        }
    }
    if grants.is_empty() && !admin {
        return Err(StaffError::NoCommunity);
    }
    let password = NewPassword::parse(password)?;
    let hash = tokio::task::spawn_blocking(move || password.hash())
        .await
        .map_err(|e| StaffError::Hashing(e.to_string()))?
        .map_err(|e| StaffError::Hashing(e.to_string()))?;
    match store
        .insert_staff(&email, &hash, admin, &grants, OPERATOR, Utc::now())
        .await?
    {
        Some(id) => Ok(StaffMember {
            id,
            email,
            is_admin: admin,
            communities: grants,
        }),
        None => Err(StaffError::Exists(email)),
    }
}

/// Accounts are kept by the operator at the CLI: the audit names them so.
const OPERATOR: &str = "cli";

pub async fn list(store: &Store) -> Result<Vec<StaffMember>, StaffError> {
    Ok(store.list_staff().await?)
}

/// Removes an account and ends its sessions.
pub async fn remove(store: &Store, email: &str) -> Result<String, StaffError> {
    let email = account_email(email)?;
    match store.remove_staff(&email, OPERATOR, Utc::now()).await? {
        StaffChange::Done => Ok(email),
        _ => Err(StaffError::NoSuchStaff(email)),
    }
}

pub async fn grant(
    store: &Store,
    communities: &Communities,
    email: &str,
    slug: &str,
) -> Result<String, StaffError> {
    let email = account_email(email)?;
    known_community(communities, slug)?;
    match store
        .grant_community(&email, slug, OPERATOR, Utc::now())
        .await?
    {
        StaffChange::Done => Ok(email),
        StaffChange::NoSuchStaff => Err(StaffError::NoSuchStaff(email)),
        StaffChange::Unchanged => Err(StaffError::AlreadyGranted(email, slug.to_string())),
    }
}

/// Takes a community away. The slug need not be configured any more: revoking a community
/// that left the file is how its grants are cleaned up.
pub async fn revoke(store: &Store, email: &str, slug: &str) -> Result<String, StaffError> {
    let email = account_email(email)?;
    match store
        .revoke_community(&email, slug, OPERATOR, Utc::now())
        .await?
    {
        StaffChange::Done => Ok(email),
        StaffChange::NoSuchStaff => Err(StaffError::NoSuchStaff(email)),
        StaffChange::Unchanged => Err(StaffError::NotGranted(email, slug.to_string())),
    }
}

/// Whether `password` is the account's (false for an unknown account). For the demo's own
/// account, checked at each start (src/demo.rs).
pub async fn password_matches(
    store: &Store,
    email: &str,
    password: &str,
) -> Result<bool, StaffError> {
    let email = account_email(email)?;
    let stored = store.staff_credentials(&email).await?.map(|(_, hash)| hash);
    let candidate = password.to_string();
    tokio::task::spawn_blocking(move || {
        stored.is_some() && super::password::verify(&candidate, stored.as_deref())
    })
    .await
    .map_err(|e| StaffError::Hashing(e.to_string()))
}
