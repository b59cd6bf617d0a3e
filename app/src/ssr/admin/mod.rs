//! The database side of the staff pages: who may use them ([`require_staff`]), the record of
//! what staff change ([`record_action`]), and one module per page. Orders keep their own
//! history in `order_events`; everything else staff change is in `staff_actions`.

pub mod counter;
pub mod customers;
pub mod dashboard;
pub mod jobs;
pub mod orders;
pub mod product_parts;
pub mod products;
pub mod reports;
pub mod schedule;
pub mod units;

use crate::admin::model::StaffActionView;
use crate::domain::period::format_local;
use crate::error::AppError;
use crate::model::CurrentUser;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sqlx::{PgConnection, PgPool};

/// The sentence a customer gets for any staff page: the same as for a page that does not exist.
pub const NOT_FOR_CUSTOMERS: &str =
    "We couldn't find that page. It may have moved, or the link may be mistyped.";

/// The signed-in staff member; a 401 for someone signed out, and for a customer the 404 that
/// any unknown page gets, so they learn nothing about the staff pages.
pub async fn require_staff(shop: &super::ShopContext) -> Result<CurrentUser, AppError> {
    match super::current_user(shop).await? {
        None => Err(super::sign_in_required()),
        Some(user) if user.is_staff => Ok(user),
        Some(_) => Err(super::not_found(NOT_FOR_CUSTOMERS)),
    }
}

/// Maps a unit change that failed: the person's errors keep their sentence.
pub fn unit_error(err: units::UnitError) -> AppError {
    use units::UnitError as E;
    match err {
        E::Invalid(message) => super::invalid_field("labels", message),
        E::Refused(message) => super::invalid(message),
        E::Unknown => super::not_found(err.to_string()),
        E::Database(err) => super::db_error(err),
    }
}

/// Maps a product change that failed.
pub fn product_error(err: products::ProductError) -> AppError {
    match err {
        products::ProductError::Field(e) => super::invalid_field(&e.field, e.message),
        products::ProductError::Database(err) => super::db_error(err),
    }
}

/// Maps a change to a product's prices or photos that failed.
pub fn part_error(err: product_parts::PartError) -> AppError {
    use product_parts::PartError as E;
    match err {
        E::Field(e) => super::invalid_field(&e.field, e.message),
        E::Refused(message) => super::invalid(message),
        E::Database(err) => super::db_error(err),
    }
}

/// What staff changed: the kind of object, its id, a short action and the details.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Product(i64),
    Job(i64),
}

impl Subject {
    fn parts(self) -> (&'static str, i64) {
        match self {
            Subject::Product(id) => ("product", id),
            Subject::Job(id) => ("job", id),
        }
    }
}

/// Records a staff change in the caller's transaction, so the record and the change commit
/// together or not at all.
pub async fn record_action(
    conn: &mut PgConnection,
    actor_id: i64,
    subject: Subject,
    action: &str,
    detail: &str,
) -> Result<(), sqlx::Error> {
    let (kind, id) = subject.parts();
    sqlx::query(
        "INSERT INTO staff_actions (actor_id, subject_type, subject_id, action, detail)
         VALUES ($1, $2, $3, left($4, 200), left($5, 2000))",
    )
    .bind(actor_id)
    .bind(kind)
    .bind(id)
    .bind(action)
    .bind(detail)
    .execute(conn)
    .await?;
    Ok(())
}

/// The latest changes staff made to `subject`, newest first.
pub async fn actions_on(
    pool: &PgPool,
    subject: Subject,
    tz: Tz,
    limit: i64,
) -> Result<Vec<StaffActionView>, sqlx::Error> {
    let (kind, id) = subject.parts();
    let rows: Vec<(DateTime<Utc>, String, String, String)> = sqlx::query_as(
        "SELECT a.at, u.name, a.action, a.detail FROM staff_actions a JOIN users u ON u.id = a.actor_id
          WHERE a.subject_type = $1 AND a.subject_id = $2
          ORDER BY a.at DESC, a.id DESC LIMIT $3",
    )
    .bind(kind)
    .bind(id)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(action_views(rows, tz))
}

/// The latest changes staff made to any object of `kind` (`product`, `job`), newest first.
pub async fn recent_actions(
    pool: &PgPool,
    kind: &str,
    tz: Tz,
    limit: i64,
) -> Result<Vec<StaffActionView>, sqlx::Error> {
    let rows: Vec<(DateTime<Utc>, String, String, String)> = sqlx::query_as(
        "SELECT a.at, u.name, a.action, a.detail FROM staff_actions a JOIN users u ON u.id = a.actor_id
          WHERE a.subject_type = $1 ORDER BY a.at DESC, a.id DESC LIMIT $2",
    )
    .bind(kind)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(action_views(rows, tz))
}

/// `staff_actions` rows (at, actor, action, detail) as the pages show them.
fn action_views(
    rows: Vec<(DateTime<Utc>, String, String, String)>,
    tz: Tz,
) -> Vec<StaffActionView> {
    rows.into_iter()
        .map(|(at, actor, action, detail)| StaffActionView {
            at: format_local(at, tz),
            actor,
            action,
            detail,
        })
        .collect()
}

/// Row offset of `page` (1-based) for `per_page` rows.
pub fn offset(page: u32, per_page: u32) -> i64 {
    i64::from(page.max(1) - 1) * i64::from(per_page)
}

/// Escapes `%`, `_` and `\` so a person's search text matches literally in `ILIKE`.
pub fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_text_is_matched_literally() {
        assert_eq!(like_pattern("ann"), "%ann%");
        assert_eq!(like_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    }

    #[test]
    fn pages_start_at_one() {
        assert_eq!(offset(1, 25), 0);
        assert_eq!(offset(3, 25), 50);
        assert_eq!(offset(0, 25), 0);
    }
}
