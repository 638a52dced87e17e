//! Creating and deleting accounts, with the events that announce them committed in the same
//! transaction (the outbox) and, for deletions, the tombstone every service keeps.

use std::collections::BTreeMap;

use diesel_async::{AsyncConnection as _, AsyncPgConnection};
use penny_contract::events::{UserDeleted, UserRegistered};
use penny_contract::{Envelope, Role, UserId};
use penny_platform::db::DbPool;
use penny_platform::{outbox, tombstones};
use secrecy::SecretString;

use crate::domain::{DisplayName, EmailAddress, Username, check_password_length};
use crate::error::AuthError;
use crate::passwords::{NewPasswordError, PasswordHasher, user_inputs};
use crate::store::users::{self, NewUser, User};

/// What a new account is made of, as the client sent it.
#[derive(Debug)]
pub struct NewAccount {
    /// Display name.
    pub name: String,
    /// Username.
    pub username: String,
    /// Email.
    pub email: String,
    /// Password.
    pub password: SecretString,
}

/// Checks every field, reporting all problems at once, then the password's strength against the
/// other fields, hashes it and stores the account with its `user.registered` event.
pub async fn create(
    pool: &DbPool,
    hasher: &PasswordHasher,
    account: NewAccount,
    role: Role,
) -> Result<User, AuthError> {
    let mut problems = BTreeMap::new();
    let name =
        DisplayName::parse(&account.name).map_err(|e| problems.insert("name".into(), e.to_owned())).ok();
    let username =
        Username::parse(&account.username).map_err(|e| problems.insert("username".into(), e.to_owned())).ok();
    let email =
        EmailAddress::parse(&account.email).map_err(|e| problems.insert("email".into(), e.to_owned())).ok();
    if let Err(reason) = check_password_length(&account.password) {
        problems.insert("password".into(), reason.to_owned());
    }
    let (Some(name), Some(username), Some(email)) = (name, username, email) else {
        return Err(AuthError::Validation(problems));
    };
    if !problems.is_empty() {
        return Err(AuthError::Validation(problems));
    }
    let inputs = user_inputs(name.as_str(), username.as_str(), email.as_str());
    let hash = hasher.hash_new(&account.password, inputs).await.map_err(|error| match error {
        NewPasswordError::Weak(reason) => AuthError::field("password", reason),
        NewPasswordError::Failed(error) => error,
    })?;

    let mut conn = pool.get().await?;
    let new = NewUser {
        id: UserId::new(),
        name: name.as_str(),
        username: username.as_str(),
        email: email.as_str(),
        password_hash: &hash,
        role,
    };
    let user = conn
        .transaction(async |conn| {
            let user = users::insert(conn, &new).await?;
            let event = UserRegistered {
                user_id: user.id,
                name: user.name.clone(),
                username: user.username.clone(),
                email: user.email.clone(),
            };
            outbox::enqueue(conn, &Envelope::new(event, None)).await?;
            Ok::<_, AuthError>(user)
        })
        .await?;
    tracing::info!(user.id = %user.id, user.role = %user.role, "registered a user");
    Ok(user)
}

/// Refuses a change that would leave no active admin: `target` is losing the role or its
/// activity. Call inside the transaction that makes the change.
pub async fn ensure_not_last_admin(conn: &mut AsyncPgConnection, target: &User) -> Result<(), AuthError> {
    if target.role == Role::Admin
        && target.is_active
        && users::other_active_admins(conn, target.id).await? == 0
    {
        return Err(AuthError::LastAdmin);
    }
    Ok(())
}

/// Deletes an account: the row (its sessions and codes cascade), a tombstone, and
/// `user.deleted` for every other service, in one transaction. This replica refuses the user's
/// tokens at once; the others within their tombstone refresh.
pub async fn delete(
    pool: &DbPool,
    tombstones: &penny_platform::tombstones::Tombstones,
    user: UserId,
) -> Result<(), AuthError> {
    let mut conn = pool.get().await?;
    conn.transaction(async |conn| {
        let target = users::find(conn, user).await?.ok_or(AuthError::NotFound)?;
        ensure_not_last_admin(conn, &target).await?;
        users::delete(conn, user).await?;
        tombstones::record(conn, user).await?;
        outbox::enqueue(conn, &Envelope::new(UserDeleted { user_id: user }, None)).await?;
        Ok::<_, AuthError>(())
    })
    .await?;
    tombstones.insert(user);
    tracing::info!(user.id = %user, "deleted a user");
    Ok(())
}

/// Creates the first admin from the `admin_*` settings unless an account already has that
/// username or email (every start-up and every replica tries; only the first one creates).
pub async fn bootstrap_admin(
    pool: &DbPool,
    hasher: &PasswordHasher,
    settings: &crate::settings::AuthSettings,
) -> anyhow::Result<()> {
    let (Some(username), Some(email), Some(password)) =
        (&settings.admin_username, &settings.admin_email, &settings.admin_password)
    else {
        if settings.admin_username.is_some() || settings.admin_email.is_some() {
            anyhow::bail!("set admin_username, admin_email and admin_password together");
        }
        return Ok(());
    };
    let mut conn = pool.get().await?;
    if users::find_by_login(&mut conn, username).await?.is_some()
        || users::find_by_email(&mut conn, email).await?.is_some()
    {
        tracing::debug!("the configured admin exists already");
        return Ok(());
    }
    drop(conn);
    let account = NewAccount {
        name: settings.admin_name.clone().unwrap_or_else(|| username.clone()),
        username: username.clone(),
        email: email.clone(),
        password: password.clone(),
    };
    match create(pool, hasher, account, Role::Admin).await {
        Ok(_) | Err(AuthError::UsernameTaken | AuthError::EmailTaken) => Ok(()),
        Err(AuthError::Validation(fields)) => anyhow::bail!("the configured admin is invalid: {fields:?}"),
        Err(error) => Err(anyhow::anyhow!("failed to create the configured admin: {error}")),
    }
}
