//! Account representations on the wire.

use chrono::{DateTime, Utc};
use penny_contract::{Role, UserId};
use serde::Serialize;
use utoipa::ToSchema;

use crate::store::users::User;

/// An account as its owner sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    /// The user's id (the JWT `sub`).
    pub id: UserId,
    /// Display name.
    pub name: String,
    /// Username.
    pub username: String,
    /// Email.
    pub email: String,
    /// `admin` or `user`.
    pub role: Role,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
}

impl From<&User> for UserView {
    fn from(user: &User) -> Self {
        Self {
            id: user.id,
            name: user.name.clone(),
            username: user.username.clone(),
            email: user.email.clone(),
            role: user.role,
            created_at: user.created_at,
        }
    }
}

/// An account as an admin sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminUserView {
    /// The user's id.
    pub id: UserId,
    /// Display name.
    pub name: String,
    /// Username.
    pub username: String,
    /// Email.
    pub email: String,
    /// `admin` or `user`.
    pub role: Role,
    /// Whether the account may log in.
    pub is_active: bool,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
    /// When the account last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<&User> for AdminUserView {
    fn from(user: &User) -> Self {
        Self {
            id: user.id,
            name: user.name.clone(),
            username: user.username.clone(),
            email: user.email.clone(),
            role: user.role,
            is_active: user.is_active,
            created_at: user.created_at,
            updated_at: user.updated_at,
        }
    }
}
