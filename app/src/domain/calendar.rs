//! The month shown by a product's availability calendar: which month the URL asks for (this
//! month up to the booking horizon's), its days, and the links to its neighbours.

use crate::model::{CalendarDay, MonthCalendar};
use chrono::{Datelike, Months, NaiveDate};

/// A month the calendar may show, by its first day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonthChoice {
    pub first_day: NaiveDate,
    /// The earliest and latest month that may be shown (first days).
    earliest: NaiveDate,
    latest: NaiveDate,
}

fn first_of(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

/// The first and last day of the month starting at `first_day`.
pub fn month_bounds(first_day: NaiveDate) -> (NaiveDate, NaiveDate) {
    let next = first_day
        .checked_add_months(Months::new(1))
        .unwrap_or(first_day);
    (first_day, next.pred_opt().unwrap_or(first_day))
}

impl MonthChoice {
    /// Reads `YYYY-MM` (none: the month of `today`). Months before today's or after the
    /// horizon's are refused with a sentence.
    pub fn read(
        month: Option<&str>,
        today: NaiveDate,
        horizon: NaiveDate,
    ) -> Result<MonthChoice, String> {
        let earliest = first_of(today);
        let latest = first_of(horizon);
        let first_day = match month.map(str::trim).filter(|m| !m.is_empty()) {
            None => earliest,
            Some(text) => NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d")
                .ok()
                .filter(|_| text.len() == 7)
                .ok_or_else(|| "Please choose a month such as 2027-03.".to_owned())?,
        };
        if first_day < earliest {
            return Err("That month is over; the calendar starts at this month.".to_owned());
        }
        if first_day > latest {
            return Err(
                "Bookings open up to a year ahead; please choose an earlier month.".to_owned(),
            );
        }
        Ok(MonthChoice {
            first_day,
            earliest,
            latest,
        })
    }

    /// The calendar for this month from `(day, free units)` rows.
    pub fn calendar(
        &self,
        days: &[(NaiveDate, i64)],
        today: NaiveDate,
        total_units: i64,
    ) -> MonthCalendar {
        let key = |d: NaiveDate| d.format("%Y-%m").to_string();
        let previous = self
            .first_day
            .checked_sub_months(Months::new(1))
            .filter(|p| *p >= self.earliest)
            .map(key);
        let next = self
            .first_day
            .checked_add_months(Months::new(1))
            .filter(|n| *n <= self.latest)
            .map(key);
        MonthCalendar {
            month: key(self.first_day),
            title: self.first_day.format("%B %Y").to_string(),
            previous,
            next,
            leading_blanks: self.first_day.weekday().num_days_from_monday(),
            days: days
                .iter()
                .map(|(day, free)| CalendarDay {
                    date: day.to_string(),
                    free_units: (*free).max(0),
                    past: *day < today,
                })
                .collect(),
            total_units,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn reads_the_month_or_defaults_to_today() {
        let today = d(2026, 12, 4);
        let horizon = d(2027, 12, 4);
        assert_eq!(
            MonthChoice::read(None, today, horizon).unwrap().first_day,
            d(2026, 12, 1)
        );
        assert_eq!(
            MonthChoice::read(Some("2027-03"), today, horizon)
                .unwrap()
                .first_day,
            d(2027, 3, 1)
        );
        for bad in [
            "2027-3",
            "2027-13",
            "march",
            "2027-03-01",
            "2026-11",
            "2028-01",
        ] {
            assert!(
                MonthChoice::read(Some(bad), today, horizon).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn bounds_and_links_stop_at_the_edges() {
        assert_eq!(month_bounds(d(2027, 2, 1)), (d(2027, 2, 1), d(2027, 2, 28)));
        assert_eq!(month_bounds(d(2028, 2, 1)).1, d(2028, 2, 29));
        let today = d(2026, 12, 4);
        let horizon = d(2027, 12, 4);
        let now = MonthChoice::read(None, today, horizon).unwrap();
        let cal = now.calendar(&[(d(2026, 12, 3), 1), (d(2026, 12, 4), 2)], today, 2);
        assert_eq!(cal.previous, None);
        assert_eq!(cal.next.as_deref(), Some("2027-01"));
        assert_eq!(cal.title, "December 2026");
        // 1 December 2026 is a Tuesday.
        assert_eq!(cal.leading_blanks, 1);
        assert!(cal.days[0].past);
        assert!(!cal.days[1].past);
        let last = MonthChoice::read(Some("2027-12"), today, horizon).unwrap();
        let cal = last.calendar(&[], today, 2);
        assert_eq!(cal.previous.as_deref(), Some("2027-11"));
        assert_eq!(cal.next, None);
    }
}
