//! How busy the fleet is: the booked share of the time units could have been rented, and the
//! shop-local week and month windows the dashboard measures it over (DST-aware: a week with a
//! clock change is 167 or 169 hours, and every one of them counts).

use super::period::parse_local;
use chrono::{DateTime, Datelike, Days, Months, NaiveDate, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;

/// `booked_seconds` of `units` units over a window of `window_seconds`, in percent with two
/// decimals, at most 100. No units (or an empty window) is 0%.
pub fn utilisation_percent(booked_seconds: i64, units: i64, window_seconds: i64) -> Decimal {
    let capacity = i128::from(units.max(0)) * i128::from(window_seconds.max(0));
    if capacity == 0 {
        return Decimal::ZERO;
    }
    let booked = i128::from(booked_seconds.max(0)).min(capacity);
    // Basis points, rounded half up.
    let basis_points = (booked * 10_000 * 2 + capacity) / (capacity * 2);
    Decimal::new(i64::try_from(basis_points).unwrap_or(10_000), 2)
}

/// Shop-local midnight at the start of `day`.
pub fn midnight(day: NaiveDate, tz: Tz) -> Option<DateTime<Utc>> {
    parse_local(&day.to_string(), "00:00", tz).ok()
}

/// The Monday-to-Monday week containing `today`, as instants.
pub fn week_of(today: NaiveDate, tz: Tz) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let monday =
        today.checked_sub_days(Days::new(u64::from(today.weekday().num_days_from_monday())))?;
    Some((
        midnight(monday, tz)?,
        midnight(monday.checked_add_days(Days::new(7))?, tz)?,
    ))
}

/// The first day of `today`'s month and of the next month.
pub fn month_of(today: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    let first = today.with_day(1)?;
    Some((first, first.checked_add_months(Months::new(1))?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::Brussels;

    #[test]
    fn utilisation_is_the_booked_share_of_capacity() {
        let week = 7 * 24 * 3600;
        assert_eq!(utilisation_percent(0, 4, week), Decimal::ZERO);
        assert_eq!(utilisation_percent(week, 4, week), Decimal::new(2500, 2));
        assert_eq!(utilisation_percent(week, 3, week), Decimal::new(3333, 2));
        assert_eq!(
            utilisation_percent(2 * week, 3, week),
            Decimal::new(6667, 2)
        );
        assert_eq!(
            utilisation_percent(10 * week, 3, week),
            Decimal::new(10000, 2)
        );
        assert_eq!(utilisation_percent(5, 0, week), Decimal::ZERO);
    }

    #[test]
    fn the_week_with_the_spring_clock_change_has_167_hours() {
        let day = NaiveDate::from_ymd_opt(2027, 3, 25).expect("a real date");
        let (start, end) = week_of(day, Brussels).expect("a week");
        assert_eq!((end - start).num_hours(), 167);
        assert_eq!(start.to_rfc3339(), "2027-03-21T23:00:00+00:00");
        let sunday = NaiveDate::from_ymd_opt(2027, 3, 28).expect("a real date");
        assert_eq!(week_of(sunday, Brussels), Some((start, end)));
    }

    #[test]
    fn months_start_on_the_first() {
        let day = NaiveDate::from_ymd_opt(2027, 12, 14).expect("a real date");
        let (first, next) = month_of(day).expect("a month");
        assert_eq!(first.to_string(), "2027-12-01");
        assert_eq!(next.to_string(), "2028-01-01");
    }
}
