//! Late-return fees: what to charge when equipment comes back after its due time, using
//! the same shop-local day counting as pricing so "a day late" on the invoice means what
//! "a day" meant on the quote.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::period::LocalSpan;

/// Per-item late policy. Rates and cap are expected to be non-negative; a fee never goes
/// below zero whatever they are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LateFeePolicy {
    /// A pardon, not a discount: once exceeded, lateness is charged from the due time,
    /// so returning 31 minutes late with 30 minutes' grace costs a started hour.
    pub grace: Duration,
    /// Charged per *started* real hour.
    pub hourly: Option<Decimal>,
    /// Charged per *started* shop-local day (same wall time next day, DST-aware).
    pub daily: Option<Decimal>,
    /// Upper bound on one return's fee, e.g. the item's replacement value.
    pub cap: Option<Decimal>,
}

/// The outcome, itemised so staff can explain it. At most one of `charged_hours` and
/// `charged_days` is non-zero: the basis that was actually billed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LateFee {
    /// Real lateness after `due`, reported even inside the grace window (then free).
    pub late_by: Duration,
    pub charged_hours: u32,
    pub charged_days: u32,
    pub amount: Decimal,
}

/// Charges the cheaper of the hourly and daily bases when both exist (a tie bills days,
/// the shorter receipt), then applies the cap. `tz` is the shop's zone, for day counting.
pub fn late_fee(
    policy: &LateFeePolicy,
    due: DateTime<Utc>,
    returned: DateTime<Utc>,
    tz: Tz,
) -> LateFee {
    let late_by = (returned - due).max(Duration::zero());
    // An unrepresentably long grace can never be exceeded.
    let pardoned = due
        .checked_add_signed(policy.grace)
        .is_none_or(|limit| returned <= limit);
    if late_by.is_zero() || pardoned {
        return LateFee {
            late_by,
            charged_hours: 0,
            charged_days: 0,
            amount: Decimal::ZERO,
        };
    }

    let started_second = i64::from(late_by.subsec_nanos() > 0);
    let secs = late_by.num_seconds() + started_second;
    let hours = u32::try_from((secs + 3599) / 3600).unwrap_or(u32::MAX);
    let span = LocalSpan::between(due, returned, tz);
    let days = span.days.saturating_add(u32::from(span.hours > 0));

    // Overflow only happens with absurd inputs; treating it as "huge" lets the cap decide.
    let times = |rate: Decimal, n: u32| rate.checked_mul(Decimal::from(n)).unwrap_or(Decimal::MAX);
    let by_hour = policy.hourly.map(|rate| times(rate, hours));
    let by_day = policy.daily.map(|rate| times(rate, days));
    let (charged_hours, charged_days, amount) = match (by_hour, by_day) {
        (Some(h), Some(d)) if h < d => (hours, 0, h),
        (_, Some(d)) => (0, days, d),
        (Some(h), None) => (hours, 0, h),
        (None, None) => (0, 0, Decimal::ZERO),
    };
    let capped = policy.cap.map_or(amount, |cap| amount.min(cap));
    LateFee {
        late_by,
        charged_hours,
        charged_days,
        amount: capped.max(Decimal::ZERO),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::Brussels;
    use rust_decimal_macros::dec;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("test timestamps are valid RFC 3339")
            .to_utc()
    }

    fn policy() -> LateFeePolicy {
        LateFeePolicy {
            grace: Duration::minutes(30),
            hourly: Some(dec!(5.00)),
            daily: Some(dec!(40.00)),
            cap: None,
        }
    }

    const DUE: &str = "2026-06-10T10:00:00+02:00";

    fn fee(p: &LateFeePolicy, returned: &str) -> (Duration, u32, u32, Decimal) {
        let f = late_fee(p, at(DUE), at(returned), Brussels);
        (f.late_by, f.charged_hours, f.charged_days, f.amount)
    }

    #[test]
    fn on_time_or_early_is_free() {
        let charged = fee(&policy(), "2026-06-10T09:00:00+02:00");
        assert_eq!(charged, (Duration::zero(), 0, 0, dec!(0)));
        assert_eq!(fee(&policy(), DUE), (Duration::zero(), 0, 0, dec!(0)));
    }

    #[test]
    fn inside_grace_is_free_but_reported() {
        let edge = fee(&policy(), "2026-06-10T10:30:00+02:00");
        assert_eq!(edge, (Duration::minutes(30), 0, 0, dec!(0)));
    }

    #[test]
    fn one_minute_past_grace_charges_from_due() {
        let just_over = fee(&policy(), "2026-06-10T10:31:00+02:00");
        assert_eq!(just_over, (Duration::minutes(31), 1, 0, dec!(5.00)));
        // 70 minutes after due = 2 started hours, not the 1 hour after grace ended.
        let later = fee(&policy(), "2026-06-10T11:10:00+02:00");
        assert_eq!(later, (Duration::minutes(70), 2, 0, dec!(10.00)));
    }

    #[test]
    fn thirty_hours_late_bills_the_cheaper_days() {
        // Hourly: 30 × 5 = 150; daily: 1 day + 6 h = 2 started days × 40 = 80.
        let late = fee(&policy(), "2026-06-11T16:00:00+02:00");
        assert_eq!(late, (Duration::hours(30), 0, 2, dec!(80.00)));
        // 8 × 5 = 1 × 40: a tie bills the day.
        let charged = fee(&policy(), "2026-06-10T18:00:00+02:00");
        assert_eq!(charged, (Duration::hours(8), 0, 1, dec!(40.00)));
        let hourly_only = LateFeePolicy {
            daily: None,
            ..policy()
        };
        let charged = fee(&hourly_only, "2026-06-11T16:00:00+02:00");
        assert_eq!(charged, (Duration::hours(30), 30, 0, dec!(150.00)));
    }

    #[test]
    fn cap_limits_the_amount() {
        let capped = LateFeePolicy {
            cap: Some(dec!(60.00)),
            ..policy()
        };
        let charged = fee(&capped, "2026-06-11T16:00:00+02:00");
        assert_eq!(charged, (Duration::hours(30), 0, 2, dec!(60.00)));
        let week_late = LateFeePolicy {
            daily: None,
            ..capped
        };
        let charged = fee(&week_late, "2026-06-17T10:00:00+02:00");
        assert_eq!(charged, (Duration::days(7), 168, 0, dec!(60.00)));
    }

    #[test]
    fn no_rates_means_no_fee() {
        let lenient = LateFeePolicy {
            hourly: None,
            daily: None,
            ..policy()
        };
        let charged = fee(&lenient, "2026-06-12T10:00:00+02:00");
        assert_eq!(charged, (Duration::days(2), 0, 0, dec!(0)));
    }

    #[test]
    fn dst_days_count_as_one_local_day() {
        let p = LateFeePolicy {
            grace: Duration::zero(),
            hourly: Some(dec!(2)),
            daily: Some(dec!(60)),
            cap: None,
        };
        let fee_at = |p: &LateFeePolicy, due: &str, back: &str| {
            let f = late_fee(p, at(due), at(back), Brussels);
            (f.late_by, f.charged_hours, f.charged_days, f.amount)
        };
        // Spring: 10:00 → 10:00 is 23 real hours; hourly bills 23, not 24 (46 < 60).
        let spring = fee_at(&p, "2026-03-28T10:00:00+01:00", "2026-03-29T10:00:00+02:00");
        assert_eq!(spring, (Duration::hours(23), 23, 0, dec!(46)));
        // Autumn: 25 real hours are still one local day, not two started days.
        let daily_only = LateFeePolicy { hourly: None, ..p };
        let autumn = fee_at(
            &daily_only,
            "2026-10-24T10:00:00+02:00",
            "2026-10-25T10:00:00+01:00",
        );
        assert_eq!(autumn, (Duration::hours(25), 0, 1, dec!(60)));
        let one_more_minute = fee_at(
            &daily_only,
            "2026-10-24T10:00:00+02:00",
            "2026-10-25T10:01:00+01:00",
        );
        assert_eq!(one_more_minute.2, 2);
    }
}
