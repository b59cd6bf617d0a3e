//! A product's physical units as staff manage them: adding units, putting one in maintenance
//! or retiring it (its later bookings move to other free units where they can), and releasing
//! it again. Only `available` units are ever booked or shown as free.

use super::{record_action, Subject};
use crate::ssr::booking::{is_overlap, lock_unit};
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

/// Longest unit label (the table allows 60).
pub const MAX_LABEL_CHARS: usize = 60;
/// Most units added in one go.
pub const MAX_NEW_UNITS: usize = 50;

#[derive(Debug, thiserror::Error)]
pub enum UnitError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Refused(String),
    #[error("We couldn't find that unit.")]
    Unknown,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Taking a unit out of service.
#[derive(Debug, Clone)]
pub struct UnitBlock<'a> {
    pub unit_id: i64,
    /// `maintenance` or `retired`.
    pub status: &'static str,
    pub note: &'a str,
    pub now: DateTime<Utc>,
}

/// What happened to the later bookings of a unit taken out of service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rebooked {
    pub moved: u32,
    /// Bookings no other unit was free for: staff must call those customers.
    pub stuck: u32,
}

/// Labels typed by staff, separated by commas, spaces or new lines: letters, digits, `-`,
/// `_` and `.`, at most [`MAX_LABEL_CHARS`] each, no repeats.
pub fn parse_labels(text: &str) -> Result<Vec<String>, String> {
    let labels: Vec<String> = text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    if labels.is_empty() {
        return Err("Please type the labels of the new units, e.g. TENT-1, TENT-2.".into());
    }
    if labels.len() > MAX_NEW_UNITS {
        return Err(format!(
            "Please add at most {MAX_NEW_UNITS} units at a time."
        ));
    }
    for label in &labels {
        let allowed = label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !allowed || label.chars().count() > MAX_LABEL_CHARS {
            return Err(format!(
                "{label:?} is not a usable label: use letters, digits, - _ and . (up to {MAX_LABEL_CHARS})."
            ));
        }
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(repeated) = labels.iter().find(|l| !seen.insert(l.to_lowercase())) {
        return Err(format!("{repeated} is listed twice."));
    }
    Ok(labels)
}

/// Adds units with these labels to the product; all or none.
pub async fn add_units(
    pool: &PgPool,
    staff_id: i64,
    product_id: i64,
    labels: &[String],
) -> Result<(), UnitError> {
    let mut tx = pool.begin().await?;
    let taken: Option<String> =
        sqlx::query_scalar("SELECT label FROM units WHERE lower(label) = ANY($1) LIMIT 1")
            .bind(labels.iter().map(|l| l.to_lowercase()).collect::<Vec<_>>())
            .fetch_optional(&mut *tx)
            .await?;
    if let Some(taken) = taken {
        return Err(UnitError::Invalid(format!(
            "Another unit is labelled {taken} already; labels must be unique."
        )));
    }
    let inserted =
        sqlx::query("INSERT INTO units (product_id, label) SELECT $1, unnest($2::text[])")
            .bind(product_id)
            .bind(labels)
            .execute(&mut *tx)
            .await;
    match inserted {
        Err(err)
            if err
                .as_database_error()
                .is_some_and(|e| e.is_unique_violation()) =>
        {
            return Err(UnitError::Invalid(
                "One of these labels was just taken by another unit; please check them.".into(),
            ))
        }
        other => other?,
    };
    let detail = labels.join(", ");
    let action = format!(
        "Added {} unit{}",
        labels.len(),
        if labels.len() == 1 { "" } else { "s" }
    );
    record_action(
        &mut tx,
        staff_id,
        Subject::Product(product_id),
        &action,
        &detail,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Takes a unit out of service (`maintenance` or `retired`) and moves its later bookings to
/// other free units of the product. A unit that is out with a customer cannot be blocked.
pub async fn block_unit(
    tx: &mut PgConnection,
    staff_id: i64,
    block: &UnitBlock<'_>,
) -> Result<Rebooked, UnitError> {
    let unit: Option<(i64, String)> =
        sqlx::query_as("SELECT product_id, label FROM units WHERE id = $1 FOR UPDATE")
            .bind(block.unit_id)
            .fetch_optional(&mut *tx)
            .await?;
    let (product_id, label) = unit.ok_or(UnitError::Unknown)?;
    let out: Option<String> = sqlx::query_scalar(
        "SELECT o.number FROM reservations r JOIN orders o ON o.id = r.order_id
          WHERE r.unit_id = $1 AND r.state = 'picked_up' LIMIT 1",
    )
    .bind(block.unit_id)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(number) = out {
        return Err(UnitError::Refused(format!(
            "Unit {label} is out with a customer (order {number}); take it back first."
        )));
    }
    sqlx::query(
        "UPDATE units SET status = $2, status_note = left($3, 1000), status_changed_at = now()
          WHERE id = $1",
    )
    .bind(block.unit_id)
    .bind(block.status)
    .bind(block.note)
    .execute(&mut *tx)
    .await?;
    let rebooked = move_later_bookings(tx, block.unit_id, product_id, block.now).await?;
    let verb = if block.status == "retired" {
        "retired"
    } else {
        "put in maintenance"
    };
    let mut detail = block.note.to_owned();
    if rebooked.moved + rebooked.stuck > 0 {
        detail.push_str(&format!(
            " — later bookings: {} moved to other units, {} could not be moved",
            rebooked.moved, rebooked.stuck
        ));
    }
    let action = format!("Unit {label} {verb}");
    record_action(tx, staff_id, Subject::Product(product_id), &action, &detail).await?;
    Ok(rebooked)
}

/// Moves each held or confirmed booking of `unit_id` that is not over yet to the first other
/// bookable unit of the product that is free for it (the exclusion constraint decides).
async fn move_later_bookings(
    tx: &mut PgConnection,
    unit_id: i64,
    product_id: i64,
    now: DateTime<Utc>,
) -> Result<Rebooked, sqlx::Error> {
    let later: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM reservations
          WHERE unit_id = $1 AND state IN ('held', 'confirmed') AND upper(during) > $2
            AND (state <> 'held' OR held_until > $2)
          ORDER BY lower(during), id",
    )
    .bind(unit_id)
    .bind(now)
    .fetch_all(&mut *tx)
    .await?;
    let mut rebooked = Rebooked::default();
    for reservation_id in later {
        let candidates: Vec<i64> = sqlx::query_scalar(
            "SELECT u.id FROM units u, reservations me
              WHERE me.id = $1 AND u.product_id = $2 AND u.id <> $3 AND u.status = 'available'
                AND NOT EXISTS (SELECT 1 FROM reservations r
                                 WHERE r.unit_id = u.id AND r.during && me.during
                                   AND (r.state IN ('confirmed', 'picked_up')
                                        OR (r.state = 'held' AND r.held_until > now())))
              ORDER BY u.id",
        )
        .bind(reservation_id)
        .bind(product_id)
        .bind(unit_id)
        .fetch_all(&mut *tx)
        .await?;
        let mut moved = false;
        for candidate in candidates {
            lock_unit(tx, candidate).await?;
            let mut savepoint = sqlx::Connection::begin(&mut *tx).await?;
            let update = sqlx::query("UPDATE reservations SET unit_id = $2 WHERE id = $1")
                .bind(reservation_id)
                .bind(candidate)
                .execute(&mut *savepoint)
                .await;
            match update {
                Ok(_) => {
                    savepoint.commit().await?;
                    moved = true;
                    break;
                }
                Err(err) if is_overlap(&err) => savepoint.rollback().await?,
                Err(err) => return Err(err),
            }
        }
        if moved {
            rebooked.moved += 1;
        } else {
            rebooked.stuck += 1;
        }
    }
    Ok(rebooked)
}

/// Changes unit `unit_id` of `product_id` to `status` (`available`, `maintenance`, `retired`)
/// with staff's note. Retiring is refused while a later booking has nowhere else to go.
pub async fn set_status(
    pool: &PgPool,
    staff_id: i64,
    product_id: i64,
    unit_id: i64,
    status: &str,
    note: &str,
    now: DateTime<Utc>,
) -> Result<Rebooked, UnitError> {
    let note = note.trim();
    if note.chars().count() > 1000 {
        return Err(UnitError::Invalid(
            "Please keep the note under 1,000 characters.".into(),
        ));
    }
    let mut tx = pool.begin().await?;
    let current: Option<(String, String)> = sqlx::query_as(
        "SELECT label, status FROM units WHERE id = $1 AND product_id = $2 FOR UPDATE",
    )
    .bind(unit_id)
    .bind(product_id)
    .fetch_optional(&mut *tx)
    .await?;
    let (label, was) = current.ok_or(UnitError::Unknown)?;
    let rebooked = match status {
        "available" => {
            if was == "available" {
                return Ok(Rebooked::default());
            }
            sqlx::query(
                "UPDATE units SET status = 'available', status_note = '', status_changed_at = now()
                  WHERE id = $1",
            )
            .bind(unit_id)
            .execute(&mut *tx)
            .await?;
            let action = format!("Unit {label} released (was {was})");
            record_action(
                &mut tx,
                staff_id,
                Subject::Product(product_id),
                &action,
                note,
            )
            .await?;
            Rebooked::default()
        }
        "maintenance" | "retired" => {
            let status = if status == "retired" {
                "retired"
            } else {
                "maintenance"
            };
            if status == "maintenance" && note.is_empty() {
                return Err(UnitError::Invalid(
                    "Please say what needs doing, so whoever repairs it knows.".into(),
                ));
            }
            let block = UnitBlock {
                unit_id,
                status,
                note,
                now,
            };
            let rebooked = block_unit(&mut tx, staff_id, &block).await?;
            if status == "retired" && rebooked.stuck > 0 {
                return Err(UnitError::Refused(format!(
                    "Unit {label} has {} later booking{} that no other unit is free for; cancel or move {} first.",
                    rebooked.stuck,
                    if rebooked.stuck == 1 { "" } else { "s" },
                    if rebooked.stuck == 1 { "it" } else { "them" },
                )));
            }
            rebooked
        }
        _ => return Err(UnitError::Invalid("That unit status is not known.".into())),
    };
    tx.commit().await?;
    Ok(rebooked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_split_checked_and_unique() {
        assert_eq!(
            parse_labels("TENT-1, TENT-2\nTENT-3").unwrap(),
            vec!["TENT-1", "TENT-2", "TENT-3"]
        );
        assert!(parse_labels("  ").is_err());
        assert!(parse_labels("TENT 1/2").is_err());
        assert!(parse_labels("a, A").unwrap_err().contains("twice"));
        assert!(parse_labels(&"x".repeat(61)).is_err());
        let many = (0..51)
            .map(|i| format!("U{i}"))
            .collect::<Vec<_>>()
            .join(",");
        assert!(parse_labels(&many).is_err());
    }
}
