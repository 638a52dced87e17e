//! Accounts.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use penny_contract::{Role, UserId};

use super::schema::{lower, users};
use crate::error::AuthError;

/// A stored account.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub struct User {
    /// The id, the JWT `sub`.
    pub id: UserId,
    /// Display name.
    pub name: String,
    /// Username as chosen.
    pub username: String,
    /// Email as given.
    pub email: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// `admin` or `user`.
    pub role: Role,
    /// Inactive accounts cannot log in or refresh.
    pub is_active: bool,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
    /// When the account last changed.
    pub updated_at: DateTime<Utc>,
}

impl User {
    /// The details a password of this user must not be built from.
    pub fn password_inputs(&self) -> Vec<String> {
        crate::passwords::user_inputs(&self.name, &self.username, &self.email)
    }
}

/// A new account.
#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    /// A fresh id.
    pub id: UserId,
    /// Display name.
    pub name: &'a str,
    /// Username.
    pub username: &'a str,
    /// Email.
    pub email: &'a str,
    /// argon2id PHC string.
    pub password_hash: &'a str,
    /// Role.
    pub role: Role,
}

/// Inserts an account; a taken username or email is a conflict, not an error.
pub async fn insert(conn: &mut AsyncPgConnection, new: &NewUser<'_>) -> Result<User, AuthError> {
    diesel::insert_into(users::table)
        .values(new)
        .returning(User::as_returning())
        .get_result(conn)
        .await
        .map_err(|error| match &error {
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                match info.constraint_name() {
                    Some("users_username_key") => AuthError::UsernameTaken,
                    Some("users_email_key") => AuthError::EmailTaken,
                    _ => AuthError::from(error),
                }
            }
            _ => AuthError::from(error),
        })
}

/// The account with this id.
pub async fn find(conn: &mut AsyncPgConnection, id: UserId) -> Result<Option<User>, AuthError> {
    Ok(users::table.find(id).select(User::as_select()).first(conn).await.optional()?)
}

/// The account a login names: an email when it contains `@`, else a username, case ignored.
pub async fn find_by_login(conn: &mut AsyncPgConnection, login: &str) -> Result<Option<User>, AuthError> {
    let login = login.trim().to_lowercase();
    // PostgreSQL text cannot hold NUL; no account can have such a name.
    if login.contains('\0') {
        return Ok(None);
    }
    let query = users::table.select(User::as_select()).into_boxed();
    let query = if login.contains('@') {
        query.filter(lower(users::email).eq(login))
    } else {
        query.filter(lower(users::username).eq(login))
    };
    Ok(query.first(conn).await.optional()?)
}

/// The account with this email, case ignored.
pub async fn find_by_email(conn: &mut AsyncPgConnection, email: &str) -> Result<Option<User>, AuthError> {
    if email.contains('\0') {
        return Ok(None);
    }
    Ok(users::table
        .filter(lower(users::email).eq(email.trim().to_lowercase()))
        .select(User::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// Replaces the password hash.
pub async fn set_password(conn: &mut AsyncPgConnection, id: UserId, hash: &str) -> Result<(), AuthError> {
    diesel::update(users::table.find(id))
        .set((users::password_hash.eq(hash), users::updated_at.eq(diesel::dsl::now)))
        .execute(conn)
        .await?;
    Ok(())
}

/// What an admin may change.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct AdminChanges {
    /// Activate or deactivate.
    pub is_active: Option<bool>,
    /// Promote or demote.
    pub role: Option<Role>,
}

/// Applies an admin's changes and returns the account.
pub async fn update(
    conn: &mut AsyncPgConnection,
    id: UserId,
    changes: &AdminChanges,
) -> Result<User, AuthError> {
    if changes.is_active.is_none() && changes.role.is_none() {
        return find(conn, id).await?.ok_or(AuthError::NotFound);
    }
    Ok(diesel::update(users::table.find(id))
        .set((changes, users::updated_at.eq(diesel::dsl::now)))
        .returning(User::as_returning())
        .get_result(conn)
        .await?)
}

/// Deletes an account (its sessions and codes go with it); whether it existed.
pub async fn delete(conn: &mut AsyncPgConnection, id: UserId) -> Result<bool, AuthError> {
    Ok(diesel::delete(users::table.find(id)).execute(conn).await? > 0)
}

/// Active admins other than `except`. Locks them, so two admins cannot remove each other at
/// the same moment and leave none.
pub async fn other_active_admins(conn: &mut AsyncPgConnection, except: UserId) -> Result<usize, AuthError> {
    let ids: Vec<UserId> = users::table
        .filter(users::role.eq(Role::Admin))
        .filter(users::is_active.eq(true))
        .filter(users::id.ne(except))
        .select(users::id)
        .for_update()
        .load(conn)
        .await?;
    Ok(ids.len())
}

/// A page of accounts, newest first, after the `before` cursor.
pub async fn page(
    conn: &mut AsyncPgConnection,
    before: Option<UserId>,
    limit: i64,
) -> Result<Vec<User>, AuthError> {
    let mut query = users::table.select(User::as_select()).order(users::id.desc()).limit(limit).into_boxed();
    if let Some(before) = before {
        query = query.filter(users::id.lt(before));
    }
    Ok(query.load(conn).await?)
}
