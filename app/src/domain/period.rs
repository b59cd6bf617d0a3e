//! Rental periods: the gate between a customer's requested dates and a bookable span,
//! plus the shop-local calendar arithmetic that pricing and late fees both rely on so
//! that "one day" means the same wall-clock time tomorrow, even across DST changes.

use chrono::{DateTime, Days, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime};
use chrono::{Offset, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// Per-item booking limits, kept separate from the period so one item's rules can be
/// applied to many requests (and changed by staff) without touching stored bookings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingRules {
    /// Shortest rental worth handing the item over for.
    pub min_duration: Duration,
    /// How far ahead the *start* may lie, measured from `now`; the end may go beyond it
    /// so a long rental starting soon is never refused for its length.
    pub horizon: Duration,
}

/// Reasons a requested period is refused; the messages are shown to customers as-is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum PeriodError {
    #[error("The end must be after the start.")]
    EndNotAfterStart,
    #[error("Rentals can't start in the past.")]
    StartsInPast,
    #[error("We take bookings up to {} ahead.", plural(*.days, "day"))]
    BeyondHorizon { days: i64 },
    #[error("The minimum rental for this item is {min}.")]
    BelowMinimum { min: String },
    /// `field` is "date" or "time", naming the booking-form input to correct.
    #[error("Please enter a valid {field}.")]
    Malformed { field: String },
}

/// A half-open span `[start, end)` so back-to-back rentals don't count as overlapping.
///
/// Fields are public for storage and tests; customer input must go through
/// [`RentalPeriod::new`], which is where the business rules live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RentalPeriod {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// A span measured the way customers count it: whole local calendar days, then hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct LocalSpan {
    pub days: u32,
    pub hours: u32,
}

impl RentalPeriod {
    /// `now` is passed in rather than read from the clock so validation stays pure and
    /// the server and the wasm form give identical answers in tests.
    pub fn new(
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        rules: &BookingRules,
        now: DateTime<Utc>,
    ) -> Result<Self, PeriodError> {
        if end <= start {
            return Err(PeriodError::EndNotAfterStart);
        }
        if start < now {
            return Err(PeriodError::StartsInPast);
        }
        // An unrepresentable horizon (absurdly large) simply means "no limit".
        if let Some(latest) = now.checked_add_signed(rules.horizon) {
            if start > latest {
                let days = rules.horizon.num_days();
                return Err(PeriodError::BeyondHorizon { days });
            }
        }
        if end - start < rules.min_duration {
            let min = human_duration(rules.min_duration);
            return Err(PeriodError::BelowMinimum { min });
        }
        Ok(Self { start, end })
    }

    /// The span the item is unavailable for, including cleaning/handover time.
    /// Negative buffers are treated as zero: shrinking a booking is never intended.
    pub fn with_buffers(
        &self,
        before: Duration,
        after: Duration,
    ) -> (DateTime<Utc>, DateTime<Utc>) {
        let before = before.max(Duration::zero());
        let after = after.max(Duration::zero());
        let from = self
            .start
            .checked_sub_signed(before)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let to = self
            .end
            .checked_add_signed(after)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        (from, to)
    }

    /// Real elapsed time; for billing use [`RentalPeriod::local_span`] instead.
    pub fn duration(&self) -> Duration {
        self.end - self.start
    }

    /// Half-open comparison: a return at 10:00 and a pick-up at 10:00 don't clash.
    pub fn overlaps(&self, other: &RentalPeriod) -> bool {
        self.start < other.end && other.start < self.end
    }

    /// Billing length in the shop's time zone; see [`LocalSpan::between`].
    pub fn local_span(&self, tz: Tz) -> LocalSpan {
        LocalSpan::between(self.start, self.end, tz)
    }
}

impl LocalSpan {
    /// Counts how many times "same wall-clock time, next local day" fits before `end`,
    /// then rounds the rest up to whole hours. A 23 h or 25 h DST day thus still counts
    /// as one day, which is what a customer returning "at the same time tomorrow" expects.
    /// An empty or reversed span is zero.
    pub fn between(start: DateTime<Utc>, end: DateTime<Utc>, tz: Tz) -> LocalSpan {
        if end <= start {
            return LocalSpan::default();
        }
        let wall = start.with_timezone(&tz).naive_local();
        let nth_day = |n: u32| {
            wall.checked_add_days(Days::new(u64::from(n)))
                .and_then(|w| resolve_local(tz, w))
        };
        // UTC offsets differ by at most 26 h and a gap shifts by at most a day, so this
        // many days surely fit; skipping ahead keeps long spans from looping per day.
        let safe = ((end - start).num_hours() / 24 - 3).max(0);
        let mut days = u32::try_from(safe).unwrap_or(0);
        let mut reached = match nth_day(days) {
            Some(t) if days > 0 && t <= end => t,
            _ => {
                days = 0;
                start
            }
        };
        while let Some(next) = nth_day(days + 1) {
            if next > end {
                break;
            }
            days += 1;
            reached = next;
        }
        let rest = end - reached;
        let started_second = i64::from(rest.subsec_nanos() > 0);
        let secs = rest.num_seconds() + started_second;
        let hours = u32::try_from((secs + 3599) / 3600).unwrap_or(u32::MAX);
        LocalSpan { days, hours }
    }
}

/// Reads the booking form's date ("YYYY-MM-DD") and time ("HH:MM", seconds tolerated
/// because some browsers send them) as shop-local wall time.
pub fn parse_local(date: &str, time: &str, tz: Tz) -> Result<DateTime<Utc>, PeriodError> {
    let malformed = |field: &str| PeriodError::Malformed {
        field: field.to_owned(),
    };
    let date = NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d").map_err(|_| malformed("date"))?;
    let time = time.trim();
    let time = NaiveTime::parse_from_str(time, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(time, "%H:%M:%S"))
        .map_err(|_| malformed("time"))?;
    resolve_local(tz, date.and_time(time)).ok_or_else(|| malformed("date"))
}

/// Wall time to instant, never failing on DST: a skipped time (spring gap) becomes the
/// first real instant after the gap, a repeated time (autumn) its earlier occurrence.
fn resolve_local(tz: Tz, wall: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&wall) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(a, b) => Some(a.min(b).with_timezone(&Utc)),
        LocalResult::None => first_instant_after_gap(tz, wall),
    }
}

/// Binary search for the transition instant: the first whole second whose wall clock has
/// passed `wall`. Offsets stay within ±1 day, which bounds the search window.
fn first_instant_after_gap(tz: Tz, wall: NaiveDateTime) -> Option<DateTime<Utc>> {
    let wall_at = |secs: i64| {
        let instant = DateTime::from_timestamp(secs, 0)?;
        let offset = tz.offset_from_utc_datetime(&instant.naive_utc()).fix();
        instant.naive_utc().checked_add_offset(offset)
    };
    let day = Duration::days(1);
    let mut lo = wall.checked_sub_signed(day)?.and_utc().timestamp(); // wall_at(lo) < wall
    let mut hi = wall.checked_add_signed(day)?.and_utc().timestamp(); // wall_at(hi) > wall
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if wall_at(mid)? >= wall {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    DateTime::from_timestamp(hi, 0)
}

/// An instant as the shop's customers read it, e.g. "Thu 10 Dec 2026, 10:00" (shop time).
/// Formatted on the server only, so server and browser never disagree about the zone.
pub fn format_local(instant: DateTime<Utc>, tz: Tz) -> String {
    instant
        .with_timezone(&tz)
        .format("%a %-d %b %Y, %H:%M")
        .to_string()
}

/// Customer-facing duration such as "1 day", "4 hours" or "1 day and 12 hours".
/// Seconds round up to a minute so a stated minimum is never understated.
pub fn human_duration(d: Duration) -> String {
    let started_minute = i64::from(d.num_seconds() % 60 != 0 || d.subsec_nanos() != 0);
    let minutes = (d.num_minutes() + started_minute).max(0);
    let parts: Vec<String> = [
        (minutes / 1440, "day"),
        (minutes / 60 % 24, "hour"),
        (minutes % 60, "minute"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, unit)| plural(n, unit))
    .collect();
    match parts.as_slice() {
        [] => plural(0, "minute"),
        [only] => only.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn plural(n: i64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::Brussels;

    /// "2026-03-02T09:00" read as UTC.
    fn utc(s: &str) -> DateTime<Utc> {
        let s = format!("{s}:00Z");
        DateTime::parse_from_rfc3339(&s)
            .expect("valid test timestamp")
            .to_utc()
    }

    fn period(start: &str, end: &str) -> RentalPeriod {
        let (start, end) = (utc(start), utc(end));
        RentalPeriod { start, end }
    }

    /// (days, hours) in Brussels.
    fn span(start: &str, end: &str) -> (u32, u32) {
        let s = period(start, end).local_span(Brussels);
        (s.days, s.hours)
    }

    fn refusal(start: &str, end: &str, min: Duration, horizon: Duration) -> String {
        let rules = BookingRules {
            min_duration: min,
            horizon,
        };
        match RentalPeriod::new(utc(start), utc(end), &rules, utc("2026-03-01T08:00")) {
            Ok(p) => format!("accepted {}", human_duration(p.duration())),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn new_checks_each_rule_with_readable_message() {
        let check = |s, e| refusal(s, e, Duration::hours(4), Duration::days(90));
        assert_eq!(
            check("2026-03-02T09:00", "2026-03-02T13:00"),
            "accepted 4 hours"
        );
        let end_first = check("2026-03-02T09:00", "2026-03-02T09:00");
        assert_eq!(end_first, "The end must be after the start.");
        let past = check("2026-03-01T07:59", "2026-03-02T09:00");
        assert_eq!(past, "Rentals can't start in the past.");
        let far = check("2026-05-30T08:01", "2026-06-02T09:00");
        assert_eq!(far, "We take bookings up to 90 days ahead.");
        let short = check("2026-03-02T09:00", "2026-03-02T12:59");
        assert_eq!(short, "The minimum rental for this item is 4 hours.");
        let day = Duration::days(1);
        let short = refusal("2026-03-01T09:00", "2026-03-01T10:00", day, day);
        assert_eq!(short, "The minimum rental for this item is 1 day.");
        let far = refusal("2026-03-02T08:01", "2026-03-05T10:00", day, day);
        assert_eq!(far, "We take bookings up to 1 day ahead.");
    }

    #[test]
    fn human_durations() {
        assert_eq!(human_duration(Duration::days(2)), "2 days");
        assert_eq!(human_duration(Duration::hours(36)), "1 day and 12 hours");
        let odd = human_duration(Duration::seconds(90_061));
        assert_eq!(odd, "1 day, 1 hour and 2 minutes");
        assert_eq!(human_duration(Duration::zero()), "0 minutes");
    }

    #[test]
    fn buffers_and_overlap_are_half_open() {
        let a = period("2026-03-02T09:00", "2026-03-02T12:00");
        let b = period("2026-03-02T12:00", "2026-03-02T15:00");
        assert!(!a.overlaps(&b) && !b.overlaps(&a));
        assert!(a.overlaps(&period("2026-03-02T11:59", "2026-03-02T15:00")));
        let blocked = a.with_buffers(Duration::minutes(30), Duration::hours(1));
        assert_eq!(blocked, (utc("2026-03-02T08:30"), utc("2026-03-02T13:00")));
        let negative = a.with_buffers(Duration::hours(-1), Duration::zero());
        assert_eq!(negative, (a.start, a.end));
    }

    #[test]
    fn local_span_on_ordinary_days() {
        assert_eq!(span("2026-03-02T09:00", "2026-03-02T10:00"), (0, 1));
        assert_eq!(span("2026-03-02T09:00", "2026-03-03T08:00"), (0, 23));
        assert_eq!(span("2026-03-02T09:00", "2026-03-03T09:01"), (1, 1));
        assert_eq!(span("2026-03-02T09:00", "2026-03-02T09:00"), (0, 0));
        assert_eq!(span("2026-03-02T09:00", "2026-03-01T09:00"), (0, 0));
        assert_eq!(span("2025-03-02T09:00", "2026-03-02T14:00"), (365, 5));
    }

    #[test]
    fn local_span_counts_dst_days_as_one_day() {
        // 10:00 local on both sides; 23 real hours in spring, 25 in autumn.
        assert_eq!(span("2026-03-28T09:00", "2026-03-29T08:00"), (1, 0));
        assert_eq!(span("2026-10-24T08:00", "2026-10-25T09:00"), (1, 0));
        // 24 real hours across the autumn change is not yet a local day.
        assert_eq!(span("2026-10-24T08:00", "2026-10-25T08:00"), (0, 24));
        // A full week spanning spring-forward ends at the same wall time.
        assert_eq!(span("2026-03-25T09:00", "2026-04-01T08:00"), (7, 0));
    }

    #[test]
    fn skipped_and_repeated_wall_times() {
        // 02:30 doesn't exist on 29 March: the day step lands on 03:00 CEST.
        assert_eq!(span("2026-03-28T01:30", "2026-03-29T01:00"), (1, 0));
        let skipped = parse_local("2026-03-29", "02:30", Brussels);
        assert_eq!(skipped, Ok(utc("2026-03-29T01:00")));
        // 02:30 happens twice on 25 October: the earlier (CEST) one is taken.
        let repeated = parse_local("2026-10-25", "02:30", Brussels);
        assert_eq!(repeated, Ok(utc("2026-10-25T00:30")));
    }

    #[test]
    fn parse_local_reads_form_fields() {
        let summer = parse_local("2026-07-01", "09:15", Brussels);
        assert_eq!(summer, Ok(utc("2026-07-01T07:15")));
        let padded = parse_local(" 2026-01-01 ", "09:15:00", Brussels);
        assert_eq!(padded, Ok(utc("2026-01-01T08:15")));
        let bad = |field: &str| {
            Err(PeriodError::Malformed {
                field: field.into(),
            })
        };
        assert_eq!(parse_local("2026-02-30", "09:15", Brussels), bad("date"));
        assert_eq!(parse_local("tomorrow", "09:15", Brussels), bad("date"));
        assert_eq!(parse_local("2026-07-01", "25:00", Brussels), bad("time"));
        let message = parse_local("2026-07-01", "", Brussels).map_err(|e| e.to_string());
        assert_eq!(message, Err("Please enter a valid time.".into()));
    }
}
