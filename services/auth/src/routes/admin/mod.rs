//! `/v1/admin/users`: account administration, for admins only.
//!
//! The `AdminUser` extractor checks the role in the token; [`current_admin`] also checks the
//! database, so an admin demoted or deactivated a minute ago cannot keep administering with a
//! token that is still valid.

pub mod delete;
pub mod list;
pub mod update;

use diesel_async::AsyncPgConnection;
use penny_contract::Role;
use penny_platform::http::{AdminUser, ApiError};

use crate::store::users;

/// Refuses callers that are no longer active admins.
pub async fn current_admin(conn: &mut AsyncPgConnection, caller: &AdminUser) -> Result<(), ApiError> {
    match users::find(conn, caller.0.id).await? {
        Some(user) if user.role == Role::Admin && user.is_active => Ok(()),
        _ => Err(ApiError::forbidden("admin_only", "this endpoint is for admins")),
    }
}
