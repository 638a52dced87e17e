//! `fetch_cursors`: where an account's incremental fetch stands. Advanced in the same
//! transaction as the emails it covers.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use penny_contract::AccountId;

use crate::error::IngestError;
use crate::schema::fetch_cursors;

/// An IMAP cursor: the mailbox's UIDVALIDITY and the last UID stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImapCursor {
    pub uid_validity: u32,
    pub last_uid: u32,
}

/// The IMAP cursor of `(account, mailbox)`, if any.
pub async fn imap(
    conn: &mut AsyncPgConnection,
    account: AccountId,
    mailbox: &str,
) -> Result<Option<ImapCursor>, IngestError> {
    let row: Option<(Option<i64>, Option<i64>)> = fetch_cursors::table
        .find((account, mailbox))
        .select((fetch_cursors::uid_validity, fetch_cursors::last_uid))
        .first(conn)
        .await
        .optional()?;
    Ok(row.and_then(|(validity, last)| {
        Some(ImapCursor {
            uid_validity: u32::try_from(validity?).ok()?,
            last_uid: u32::try_from(last?).ok()?,
        })
    }))
}

/// Stores the IMAP cursor (insert or move).
pub async fn set_imap(
    conn: &mut AsyncPgConnection,
    account: AccountId,
    mailbox: &str,
    cursor: ImapCursor,
) -> Result<(), IngestError> {
    let values = (
        fetch_cursors::account_id.eq(account),
        fetch_cursors::mailbox.eq(mailbox),
        fetch_cursors::uid_validity.eq(Some(i64::from(cursor.uid_validity))),
        fetch_cursors::last_uid.eq(Some(i64::from(cursor.last_uid))),
        fetch_cursors::updated_at.eq(diesel::dsl::now),
    );
    diesel::insert_into(fetch_cursors::table)
        .values(values)
        .on_conflict((fetch_cursors::account_id, fetch_cursors::mailbox))
        .do_update()
        .set((
            fetch_cursors::uid_validity.eq(Some(i64::from(cursor.uid_validity))),
            fetch_cursors::last_uid.eq(Some(i64::from(cursor.last_uid))),
            fetch_cursors::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// The sync token (Gmail history id, Graph delta link) of `(account, source)`, if any.
pub async fn sync_token(
    conn: &mut AsyncPgConnection,
    account: AccountId,
    source: &str,
) -> Result<Option<String>, IngestError> {
    let row: Option<Option<String>> = fetch_cursors::table
        .find((account, source))
        .select(fetch_cursors::sync_token)
        .first(conn)
        .await
        .optional()?;
    Ok(row.flatten())
}

/// Stores the sync token of `(account, source)` (insert or move).
pub async fn set_sync_token(
    conn: &mut AsyncPgConnection,
    account: AccountId,
    source: &str,
    token: &str,
) -> Result<(), IngestError> {
    diesel::insert_into(fetch_cursors::table)
        .values((
            fetch_cursors::account_id.eq(account),
            fetch_cursors::mailbox.eq(source),
            fetch_cursors::sync_token.eq(Some(token)),
            fetch_cursors::updated_at.eq(diesel::dsl::now),
        ))
        .on_conflict((fetch_cursors::account_id, fetch_cursors::mailbox))
        .do_update()
        .set((fetch_cursors::sync_token.eq(Some(token)), fetch_cursors::updated_at.eq(diesel::dsl::now)))
        .execute(conn)
        .await?;
    Ok(())
}
