//! `connected_accounts`.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use penny_contract::{AccountId, Provider, UserId};

use crate::error::{IngestError, is_unique_violation};
use crate::models::{Account, NewAccount};
use crate::schema::connected_accounts;

/// The email of every user's `upload` account.
pub const UPLOAD_EMAIL: &str = "upload";

/// The user's `upload` account, created if missing (idempotent, safe under concurrency).
pub async fn upload_account(conn: &mut AsyncPgConnection, user: UserId) -> Result<AccountId, IngestError> {
    diesel::insert_into(connected_accounts::table)
        .values(NewAccount {
            id: AccountId::new(),
            user_id: user,
            provider: Provider::Upload,
            email: UPLOAD_EMAIL,
            settings: serde_json::json!({}),
            secret_key_id: None,
            secret: None,
        })
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(connected_accounts::table
        .filter(connected_accounts::user_id.eq(user))
        .filter(connected_accounts::provider.eq(Provider::Upload))
        .filter(connected_accounts::email.eq(UPLOAD_EMAIL))
        .select(connected_accounts::id)
        .first(conn)
        .await?)
}

/// Inserts an account; 409 when the user already connected this mailbox.
pub async fn insert(conn: &mut AsyncPgConnection, account: &NewAccount<'_>) -> Result<Account, IngestError> {
    diesel::insert_into(connected_accounts::table)
        .values(account)
        .returning(Account::as_returning())
        .get_result(conn)
        .await
        .map_err(
            |error| {
                if is_unique_violation(&error) { IngestError::DuplicateAccount } else { error.into() }
            },
        )
}

/// One of the user's accounts (`None` for another user's).
pub async fn get(
    conn: &mut AsyncPgConnection,
    user: UserId,
    id: AccountId,
) -> Result<Option<Account>, IngestError> {
    Ok(connected_accounts::table
        .filter(connected_accounts::id.eq(id))
        .filter(connected_accounts::user_id.eq(user))
        .select(Account::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// Any account by id (workers, which act for the account's owner).
pub async fn find(conn: &mut AsyncPgConnection, id: AccountId) -> Result<Option<Account>, IngestError> {
    Ok(connected_accounts::table.find(id).select(Account::as_select()).first(conn).await.optional()?)
}

/// The user's accounts, oldest first.
pub async fn list(conn: &mut AsyncPgConnection, user: UserId) -> Result<Vec<Account>, IngestError> {
    Ok(connected_accounts::table
        .filter(connected_accounts::user_id.eq(user))
        .order((connected_accounts::created_at, connected_accounts::id))
        .select(Account::as_select())
        .load(conn)
        .await?)
}

/// Records that the account was fetched now.
pub async fn touch_fetched(conn: &mut AsyncPgConnection, id: AccountId) -> Result<(), IngestError> {
    diesel::update(connected_accounts::table.find(id))
        .set(connected_accounts::last_fetched_at.eq(diesel::dsl::now))
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes every account of the user (emails and cursors go with them).
pub async fn delete_all(conn: &mut AsyncPgConnection, user: UserId) -> Result<usize, IngestError> {
    Ok(diesel::delete(connected_accounts::table.filter(connected_accounts::user_id.eq(user)))
        .execute(conn)
        .await?)
}

/// Sets an account's status and the reason shown to its owner.
pub async fn set_status(
    conn: &mut AsyncPgConnection,
    id: AccountId,
    status: penny_contract::AccountStatus,
    reason: Option<&str>,
) -> Result<(), IngestError> {
    diesel::update(connected_accounts::table.find(id))
        .set((
            connected_accounts::status.eq(status),
            connected_accounts::status_reason.eq(reason),
            connected_accounts::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Stores a mailbox connected by OAuth, on the caller's transaction: a new account, or the
/// user's existing account for the same `(provider, email)` with the new tokens, ACTIVE again.
/// `seal` seals the tokens for the account id it is given (the id is the ciphertext's binding).
pub async fn upsert_oauth(
    conn: &mut AsyncPgConnection,
    user: UserId,
    provider: Provider,
    email: &str,
    seal: impl FnOnce(AccountId) -> Result<crate::crypto::Sealed, crate::crypto::CryptoError>,
) -> Result<Account, IngestError> {
    let existing: Option<AccountId> = connected_accounts::table
        .filter(connected_accounts::user_id.eq(user))
        .filter(connected_accounts::provider.eq(provider))
        .filter(connected_accounts::email.eq(email))
        .select(connected_accounts::id)
        .for_update()
        .first(conn)
        .await
        .optional()?;
    let Some(id) = existing else {
        let id = AccountId::new();
        let sealed = seal(id)?;
        return insert(
            conn,
            &NewAccount {
                id,
                user_id: user,
                provider,
                email,
                settings: serde_json::json!({}),
                secret_key_id: Some(&sealed.key_id),
                secret: Some(&sealed.bytes),
            },
        )
        .await;
    };
    let sealed = seal(id)?;
    Ok(diesel::update(connected_accounts::table.find(id))
        .set((
            connected_accounts::secret_key_id.eq(Some(&sealed.key_id)),
            connected_accounts::secret.eq(Some(&sealed.bytes)),
            connected_accounts::status.eq(penny_contract::AccountStatus::Active),
            connected_accounts::status_reason.eq(None::<String>),
            connected_accounts::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Account::as_returning())
        .get_result(conn)
        .await?)
}

/// Replaces an account's sealed secret (refreshed OAuth tokens).
pub async fn set_secret(
    conn: &mut AsyncPgConnection,
    id: AccountId,
    sealed: &crate::crypto::Sealed,
) -> Result<(), IngestError> {
    diesel::update(connected_accounts::table.find(id))
        .set((
            connected_accounts::secret_key_id.eq(Some(&sealed.key_id)),
            connected_accounts::secret.eq(Some(&sealed.bytes)),
            connected_accounts::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Deactivates an account: REVOKED with `reason`, its secret erased; its emails stay.
pub async fn revoke(conn: &mut AsyncPgConnection, id: AccountId, reason: &str) -> Result<(), IngestError> {
    diesel::update(connected_accounts::table.find(id))
        .set((
            connected_accounts::status.eq(penny_contract::AccountStatus::Revoked),
            connected_accounts::status_reason.eq(Some(reason)),
            connected_accounts::secret_key_id.eq(None::<String>),
            connected_accounts::secret.eq(None::<Vec<u8>>),
            connected_accounts::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Re-encrypts every stored secret not sealed by the active key, on the caller's transaction;
/// returns how many were re-encrypted. A secret that no configured key opens fails the whole
/// rotation, so nothing is left half-rotated.
pub async fn reencrypt_all(
    conn: &mut AsyncPgConnection,
    secrets: &crate::crypto::SecretBox,
) -> Result<usize, IngestError> {
    let active = secrets.active_key_id().ok_or(crate::crypto::CryptoError::NoKeys)?.to_owned();
    let rows: Vec<(AccountId, Option<String>, Option<Vec<u8>>)> = connected_accounts::table
        .filter(connected_accounts::secret.is_not_null())
        .filter(connected_accounts::secret_key_id.ne(&active))
        .select((connected_accounts::id, connected_accounts::secret_key_id, connected_accounts::secret))
        .for_update()
        .load(conn)
        .await?;
    let mut count = 0;
    for (id, key_id, secret) in rows {
        let (Some(key_id), Some(secret)) = (key_id, secret) else { continue };
        let aad = crate::fetch::imap::secret_aad(id);
        let plain = secrets.open(&key_id, &secret, &aad)?;
        let sealed = secrets.seal(&plain, &aad)?;
        diesel::update(connected_accounts::table.find(id))
            .set((
                connected_accounts::secret_key_id.eq(Some(&sealed.key_id)),
                connected_accounts::secret.eq(Some(&sealed.bytes)),
                connected_accounts::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .await?;
        count += 1;
    }
    Ok(count)
}
