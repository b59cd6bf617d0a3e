//! What a customer typed into a booking form (dates, times, a quantity), checked into a
//! [`RentalPeriod`], with the message for the one field to fix when it is wrong. Shared by
//! the live quote and by "Reserve", so both refuse the same input with the same words.

use super::period::{parse_local, BookingRules, PeriodError, RentalPeriod};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// The time a pickup or return gets when the form left it out.
pub const DEFAULT_TIME: &str = "10:00";
/// The most units one "Reserve" may hold.
pub const MAX_QUANTITY: u32 = 10;

/// The booking form's fields as the browser sent them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingFields {
    pub start_date: String,
    pub start_time: String,
    pub end_date: String,
    pub end_time: String,
}

/// A refusal that belongs next to one form field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct FieldError {
    /// The form field's `name`.
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        FieldError {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

impl BookingFields {
    /// True when neither date was given: the form is untouched, not wrong.
    pub fn is_blank(&self) -> bool {
        self.start_date.trim().is_empty() && self.end_date.trim().is_empty()
    }

    /// The period these fields describe, checked against `rules` at `now` in the shop's
    /// zone `tz`; or the field to correct and why.
    pub fn period(
        &self,
        tz: Tz,
        rules: &BookingRules,
        now: DateTime<Utc>,
    ) -> Result<RentalPeriod, FieldError> {
        let start = instant(&self.start_date, &self.start_time, "start", tz)?;
        let end = instant(&self.end_date, &self.end_time, "end", tz)?;
        RentalPeriod::new(start, end, rules, now).map_err(|err| {
            let field = match err {
                PeriodError::EndNotAfterStart | PeriodError::BelowMinimum { .. } => "end_date",
                PeriodError::StartsInPast
                | PeriodError::BeyondHorizon { .. }
                | PeriodError::Malformed { .. } => "start_date",
            };
            FieldError::new(field, err.to_string())
        })
    }
}

fn instant(date: &str, time: &str, which: &str, tz: Tz) -> Result<DateTime<Utc>, FieldError> {
    let date_field = format!("{which}_date");
    if date.trim().is_empty() {
        let message = format!(
            "Please choose a{} date.",
            if which == "start" { " start" } else { "n end" }
        );
        return Err(FieldError::new(&date_field, message));
    }
    let time = if time.trim().is_empty() {
        DEFAULT_TIME
    } else {
        time
    };
    parse_local(date, time, tz).map_err(|err| match err {
        PeriodError::Malformed { field } if field == "time" => FieldError::new(
            &format!("{which}_time"),
            "Please enter a time such as 10:00.",
        ),
        _ => FieldError::new(&date_field, "Please enter a date such as 2027-03-14."),
    })
}

/// Reads the quantity field: empty means one; otherwise a whole number from 1 to
/// [`MAX_QUANTITY`].
pub fn parse_quantity(text: &str) -> Result<u32, FieldError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(1);
    }
    match text.parse::<u32>() {
        Ok(n) if (1..=MAX_QUANTITY).contains(&n) => Ok(n),
        _ => Err(FieldError::new(
            "quantity",
            format!("Please choose a quantity from 1 to {MAX_QUANTITY}."),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};
    use chrono_tz::Europe::Brussels;

    fn rules() -> BookingRules {
        BookingRules {
            min_duration: Duration::hours(4),
            horizon: Duration::days(365),
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 4, 9, 0, 0).unwrap()
    }

    fn fields(sd: &str, st: &str, ed: &str, et: &str) -> BookingFields {
        BookingFields {
            start_date: sd.into(),
            start_time: st.into(),
            end_date: ed.into(),
            end_time: et.into(),
        }
    }

    fn refusal(f: BookingFields) -> (String, String) {
        let err = f.period(Brussels, &rules(), now()).unwrap_err();
        (err.field, err.message)
    }

    #[test]
    fn a_good_form_reads_as_shop_local_times() {
        let p = fields("2026-12-10", "09:30", "2026-12-12", "")
            .period(Brussels, &rules(), now())
            .unwrap();
        assert_eq!(
            p.start,
            Utc.with_ymd_and_hms(2026, 12, 10, 8, 30, 0).unwrap()
        );
        // The missing end time is the default 10:00 local, 09:00 UTC in winter.
        assert_eq!(p.end, Utc.with_ymd_and_hms(2026, 12, 12, 9, 0, 0).unwrap());
    }

    #[test]
    fn each_mistake_names_its_field() {
        let f = fields("", "", "2026-12-12", "10:00");
        assert_eq!(refusal(f).0, "start_date");
        let f = fields("2026-12-10", "10:00", "", "10:00");
        assert_eq!(
            refusal(f),
            ("end_date".into(), "Please choose an end date.".into())
        );
        let f = fields("10/12/2026", "10:00", "2026-12-12", "10:00");
        assert_eq!(refusal(f).0, "start_date");
        let f = fields("2026-12-10", "25:00", "2026-12-12", "10:00");
        assert_eq!(refusal(f).0, "start_time");
        let f = fields("2026-12-10", "10:00", "2026-12-12", "noon");
        assert_eq!(refusal(f).0, "end_time");
        let f = fields("2026-12-12", "10:00", "2026-12-10", "10:00");
        let (field, message) = refusal(f);
        assert_eq!(field, "end_date");
        assert_eq!(message, "The end must be after the start.");
        let f = fields("2026-12-01", "10:00", "2026-12-02", "10:00");
        assert_eq!(
            refusal(f),
            (
                "start_date".into(),
                "Rentals can't start in the past.".into()
            )
        );
        let f = fields("2028-01-01", "10:00", "2028-01-02", "10:00");
        assert_eq!(refusal(f).0, "start_date");
        let f = fields("2026-12-10", "10:00", "2026-12-10", "12:00");
        let (field, message) = refusal(f);
        assert_eq!(field, "end_date");
        assert_eq!(message, "The minimum rental for this item is 4 hours.");
        let f = fields("2026-02-30", "10:00", "2026-03-02", "10:00");
        assert_eq!(refusal(f).0, "start_date");
    }

    #[test]
    fn blank_forms_are_untouched_not_wrong() {
        assert!(BookingFields::default().is_blank());
        assert!(!fields("2026-12-10", "", "", "").is_blank());
    }

    #[test]
    fn quantities() {
        assert_eq!(parse_quantity(""), Ok(1));
        assert_eq!(parse_quantity(" 3 "), Ok(3));
        for bad in ["0", "11", "-1", "two", "1.5", "99999999999"] {
            assert_eq!(parse_quantity(bad).unwrap_err().field, "quantity", "{bad}");
        }
    }
}
