//! `emails`.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use penny_contract::{AccountId, EmailExtractionStatus, EmailId, UserId};

use crate::cursor::Cursor;
use crate::error::IngestError;
use crate::models::{Email, NewEmail};
use crate::schema::emails;

/// Filters of the email list.
#[derive(Debug, Clone, Default)]
pub struct EmailFilter {
    pub extraction_status: Option<EmailExtractionStatus>,
    pub account_id: Option<AccountId>,
}

/// Inserts the emails not stored yet (by `(user_id, provider, provider_message_id)`) and returns
/// the ids of those inserted; the others are duplicates.
pub async fn insert_new(
    conn: &mut AsyncPgConnection,
    rows: &[NewEmail],
) -> Result<Vec<EmailId>, IngestError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    Ok(diesel::insert_into(emails::table)
        .values(rows)
        .on_conflict((emails::user_id, emails::provider, emails::provider_message_id))
        .do_nothing()
        .returning(emails::id)
        .get_results(conn)
        .await?)
}

/// Which of `ids` the user already has stored from `provider` (so a fetcher can skip
/// downloading them).
pub async fn existing_provider_ids(
    conn: &mut AsyncPgConnection,
    user: UserId,
    provider: penny_contract::Provider,
    ids: &[String],
) -> Result<std::collections::HashSet<String>, IngestError> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let found: Vec<String> = emails::table
        .filter(emails::user_id.eq(user))
        .filter(emails::provider.eq(provider))
        .filter(emails::provider_message_id.eq_any(ids))
        .select(emails::provider_message_id)
        .load(conn)
        .await?;
    Ok(found.into_iter().collect())
}

/// One page of the user's emails, newest received first.
pub async fn page(
    conn: &mut AsyncPgConnection,
    user: UserId,
    filter: &EmailFilter,
    after: Option<Cursor>,
    limit: i64,
) -> Result<Vec<Email>, IngestError> {
    let mut query = emails::table.filter(emails::user_id.eq(user)).into_boxed();
    if let Some(status) = filter.extraction_status {
        query = query.filter(emails::extraction_status.eq(status));
    }
    if let Some(account) = filter.account_id {
        query = query.filter(emails::account_id.eq(account));
    }
    if let Some(cursor) = after {
        query = query.filter(
            emails::received_at
                .lt(cursor.at)
                .or(emails::received_at.eq(cursor.at).and(emails::id.lt(cursor.id))),
        );
    }
    Ok(query
        .order((emails::received_at.desc(), emails::id.desc()))
        .limit(limit)
        .select(Email::as_select())
        .load(conn)
        .await?)
}

/// One of the user's emails with its body (`None` for another user's).
pub async fn get(
    conn: &mut AsyncPgConnection,
    user: UserId,
    id: EmailId,
) -> Result<Option<(Email, Option<String>)>, IngestError> {
    Ok(emails::table
        .filter(emails::id.eq(id))
        .filter(emails::user_id.eq(user))
        .select((Email::as_select(), emails::body_text))
        .first(conn)
        .await
        .optional()?)
}

/// Deletes every email of the user.
pub async fn delete_all(conn: &mut AsyncPgConnection, user: UserId) -> Result<usize, IngestError> {
    Ok(diesel::delete(emails::table.filter(emails::user_id.eq(user))).execute(conn).await?)
}

/// Purges bodies of emails received before `before`, keeping their metadata.
pub async fn purge_bodies(
    conn: &mut AsyncPgConnection,
    before: chrono::DateTime<chrono::Utc>,
) -> Result<usize, IngestError> {
    Ok(diesel::update(
        emails::table.filter(emails::created_at.lt(before)).filter(emails::body_text.is_not_null()),
    )
    .set((emails::body_text.eq(None::<String>), emails::body_purged_at.eq(diesel::dsl::now)))
    .execute(conn)
    .await?)
}
