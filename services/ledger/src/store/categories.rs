//! Categories: listing, creating, renaming and deleting; system categories are protected.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use penny_contract::{CategoryId, CategoryType, UserId};

use crate::categorise::CategoryNames;
use crate::error::{LedgerError, is_unique_violation};
use crate::models::{Category, NewCategory};
use crate::schema::categories;

/// The user's categories, by name.
pub async fn list(conn: &mut AsyncPgConnection, user: UserId) -> Result<Vec<Category>, LedgerError> {
    Ok(categories::table
        .filter(categories::user_id.eq(user))
        .order((categories::name.asc(), categories::id.asc()))
        .select(Category::as_select())
        .load(conn)
        .await?)
}

/// One of the user's categories.
pub async fn get(
    conn: &mut AsyncPgConnection,
    user: UserId,
    id: CategoryId,
) -> Result<Category, LedgerError> {
    categories::table
        .filter(categories::id.eq(id).and(categories::user_id.eq(user)))
        .select(Category::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or(LedgerError::NotFound)
}

/// The type of one of the user's categories, if it is theirs.
pub async fn kind_of(
    conn: &mut AsyncPgConnection,
    user: UserId,
    id: CategoryId,
) -> Result<Option<CategoryType>, LedgerError> {
    Ok(categories::table
        .filter(categories::id.eq(id).and(categories::user_id.eq(user)))
        .select(categories::kind)
        .first(conn)
        .await
        .optional()?)
}

/// The user's categories indexed by name.
pub async fn names(conn: &mut AsyncPgConnection, user: UserId) -> Result<CategoryNames, LedgerError> {
    let rows: Vec<(CategoryId, String, CategoryType)> = categories::table
        .filter(categories::user_id.eq(user))
        .select((categories::id, categories::name, categories::kind))
        .load(conn)
        .await?;
    Ok(CategoryNames::new(rows))
}

/// Creates a category; a name the user already has (in any case) is a conflict.
pub async fn create(conn: &mut AsyncPgConnection, new: &NewCategory<'_>) -> Result<Category, LedgerError> {
    diesel::insert_into(categories::table)
        .values(new)
        .returning(Category::as_returning())
        .get_result(conn)
        .await
        .map_err(|e| if is_unique_violation(&e) { LedgerError::DuplicateCategory } else { e.into() })
}

/// Inserts categories, skipping any whose name the user already has; returns how many were new.
pub async fn create_missing(
    conn: &mut AsyncPgConnection,
    new: &[NewCategory<'_>],
) -> Result<usize, LedgerError> {
    Ok(diesel::insert_into(categories::table).values(new).on_conflict_do_nothing().execute(conn).await?)
}

/// Renames or retypes one of the user's own (non-system) categories.
pub async fn update(
    conn: &mut AsyncPgConnection,
    user: UserId,
    id: CategoryId,
    name: Option<&str>,
    kind: Option<CategoryType>,
) -> Result<Category, LedgerError> {
    let current = get(conn, user, id).await?;
    if current.is_system {
        return Err(LedgerError::SystemCategory);
    }
    diesel::update(categories::table.filter(categories::id.eq(id).and(categories::user_id.eq(user))))
        .set((
            categories::name.eq(name.unwrap_or(&current.name)),
            categories::kind.eq(kind.unwrap_or(current.kind)),
        ))
        .returning(Category::as_returning())
        .get_result(conn)
        .await
        .map_err(|e| if is_unique_violation(&e) { LedgerError::DuplicateCategory } else { e.into() })
}

/// Deletes one of the user's own categories; its transactions become uncategorised and its
/// rules go with it.
pub async fn delete(conn: &mut AsyncPgConnection, user: UserId, id: CategoryId) -> Result<(), LedgerError> {
    let current = get(conn, user, id).await?;
    if current.is_system {
        return Err(LedgerError::SystemCategory);
    }
    diesel::delete(categories::table.filter(categories::id.eq(id).and(categories::user_id.eq(user))))
        .execute(conn)
        .await?;
    Ok(())
}
