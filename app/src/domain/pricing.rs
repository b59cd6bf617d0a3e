//! Rental pricing: turns a shop-local span (days + hours) into the cheapest mix of an
//! item's published price tiers, so a customer never pays more than the best combination
//! of rates they could have booked themselves.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::period::LocalSpan;

/// Longer rentals are negotiated by staff; the bound also keeps the optimiser small.
pub const MAX_QUOTE_DAYS: u32 = 366;
/// A remainder can't exceed the longest real local day (25 h on autumn DST days);
/// larger `hours` values are treated as mis-built spans and folded into days.
const LONGEST_LOCAL_DAY_HOURS: u32 = 25;
const HOURS_PER_DAY: u32 = 24;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TierUnit {
    Hour,
    Day,
    /// Always seven local days, so weeks and days combine freely.
    Week,
}

/// A published rate covering `length` units, e.g. "Weekend" = Day × 3.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceTier {
    pub label: String,
    pub unit: TierUnit,
    pub length: u32,
    pub price: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuoteLine {
    pub label: String,
    pub count: u32,
    pub unit_price: Decimal,
    pub amount: Decimal,
}

/// Lines are ordered largest tier first (day/week tiers before hour tiers), as printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    pub lines: Vec<QuoteLine>,
    pub rental_total: Decimal,
}

/// Kept apart from [`Quote`] because the deposit is refundable and must never be mixed
/// into the rental revenue figure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuoteWithDeposit {
    pub quote: Quote,
    pub deposit: Decimal,
    pub total_due: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum PricingError {
    #[error("This item has no price set yet.")]
    NoTiers,
    /// A zero-length or negative-price tier would make "cheapest" meaningless.
    #[error("The \"{label}\" price for this item is set up incorrectly; please contact us.")]
    InvalidTier { label: String },
    #[error("Online quotes cover up to {max_days} days; please contact us for longer rentals.")]
    TooLong { max_days: u32 },
    /// Defensive: any valid tier can cover any span, but sums could overflow `Decimal`.
    #[error("We couldn't price this rental online; please contact us.")]
    NotCoverable,
}

impl Quote {
    pub fn with_deposit(self, deposit: Decimal) -> QuoteWithDeposit {
        let total_due = self.rental_total.saturating_add(deposit);
        let quote = self;
        QuoteWithDeposit {
            quote,
            deposit,
            total_due,
        }
    }
}

/// Cheapest cover of `span`, comparing three simple strategies (documented limits):
/// 1. days by day/week tiers, remaining hours by hour tiers;
/// 2. days plus one extra day instead of the remaining hours (23 h may cost a day);
/// 3. everything by hour tiers, counting each local day as 24 hours (even a 25 h one).
///
/// `span` should come from [`LocalSpan::between`]; its `hours` are then shorter than a
/// local day, which is why one extra day always covers them.
/// Mixes such as "two days by day tiers and a third by hours" are not considered.
/// Ties go to fewer lines, then to more units of the larger tiers.
pub fn quote(tiers: &[PriceTier], span: LocalSpan) -> Result<Quote, PricingError> {
    if tiers.is_empty() {
        return Err(PricingError::NoTiers);
    }
    let fold = match span.hours {
        h if h > LONGEST_LOCAL_DAY_HOURS => h / HOURS_PER_DAY,
        _ => 0,
    };
    let days = span.days.saturating_add(fold);
    let hours = span.hours - fold * HOURS_PER_DAY;
    if days > MAX_QUOTE_DAYS {
        let max_days = MAX_QUOTE_DAYS;
        return Err(PricingError::TooLong { max_days });
    }
    let (mut day_tiers, mut hour_tiers) = (Vec::new(), Vec::new());
    for tier in tiers {
        let per_unit = if tier.unit == TierUnit::Week { 7 } else { 1 };
        let size = tier.length.checked_mul(per_unit);
        let Some(size) = size.filter(|&s| s > 0 && tier.price >= Decimal::ZERO) else {
            let label = tier.label.clone();
            return Err(PricingError::InvalidTier { label });
        };
        match tier.unit {
            TierUnit::Hour => hour_tiers.push((tier, size)),
            TierUnit::Day | TierUnit::Week => day_tiers.push((tier, size)),
        }
    }
    // Stable sort: equal sizes keep the shop's order after the cheaper one.
    for list in [&mut day_tiers, &mut hour_tiers] {
        list.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.price.cmp(&b.0.price)));
    }
    let all_hours = days * HOURS_PER_DAY + hours; // ≤ 367 × 24, no overflow
    let by_day = Table::build(&day_tiers, days + 1);
    let by_hour = Table::build(&hour_tiers, all_hours);

    let mut candidates = vec![Plan::join(by_day.plan(days), by_hour.plan(hours))];
    if hours > 0 {
        candidates.push(Plan::join(by_day.plan(days + 1), by_hour.plan(0)));
    }
    if days > 0 {
        candidates.push(Plan::join(by_day.plan(0), by_hour.plan(all_hours)));
    }
    let key = |p: &Plan| (p.cell.cost, p.cell.lines);
    let best = candidates
        .into_iter()
        .flatten()
        .min_by(|a, b| key(a).cmp(&key(b)).then(b.counts.cmp(&a.counts)))
        .ok_or(PricingError::NotCoverable)?;

    let tiers_in_order = day_tiers.iter().chain(&hour_tiers);
    let lines = (tiers_in_order.zip(&best.counts))
        .filter(|(_, &count)| count > 0)
        .map(|((tier, _), &count)| QuoteLine {
            label: tier.label.clone(),
            count,
            unit_price: tier.price,
            // Can't overflow: the optimiser already summed these very units into the cost.
            amount: tier.price * Decimal::from(count),
        })
        .collect();
    let rental_total = best.cell.cost;
    Ok(Quote {
        lines,
        rental_total,
    })
}

/// A chosen combination: per-tier counts in the day-then-hour tier order.
struct Plan {
    cell: Cell,
    counts: Vec<u32>,
}

impl Plan {
    fn join(days: Option<Plan>, hours: Option<Plan>) -> Option<Plan> {
        let (mut d, h) = (days?, hours?);
        d.counts.extend(h.counts);
        d.cell.cost = d.cell.cost.checked_add(h.cell.cost)?;
        d.cell.lines += h.cell.lines;
        Some(d)
    }
}

/// Best (cost, lines) to cover at least `n` units, and whether this step takes the tier.
#[derive(Clone, Copy)]
struct Cell {
    cost: Decimal,
    lines: u32,
    take: bool,
}

const EMPTY: Cell = Cell {
    cost: Decimal::ZERO,
    lines: 0,
    take: false,
};

/// Unbounded "cover at least n" knapsack processed tier by tier (largest first), so the
/// line count stays additive: `first[i][n]` opens tier i's line (or skips the tier),
/// `more[i][n]` adds further units to an already-open line (or moves on).
struct Table {
    sizes: Vec<usize>,
    first: Vec<Vec<Option<Cell>>>,
    more: Vec<Vec<Option<Cell>>>,
}

impl Table {
    fn build(tiers: &[(&PriceTier, u32)], need: u32) -> Table {
        let need = need as usize;
        let sizes: Vec<usize> = tiers.iter().map(|(_, s)| *s as usize).collect();
        let mut first = vec![vec![None; need + 1]; tiers.len() + 1];
        let mut more = vec![vec![None; need + 1]; tiers.len()];
        first[tiers.len()][0] = Some(EMPTY);
        for (i, (tier, _)) in tiers.iter().enumerate().rev() {
            first[i][0] = Some(EMPTY);
            more[i][0] = Some(EMPTY);
            for n in 1..=need {
                let rest = n.saturating_sub(sizes[i]);
                let leave = first[i + 1][n].map(|c| Cell { take: false, ..c });
                more[i][n] = prefer(add(more[i][rest], tier.price, 0), leave);
                first[i][n] = prefer(add(more[i][rest], tier.price, 1), leave);
            }
        }
        Table { sizes, first, more }
    }

    fn plan(&self, need: u32) -> Option<Plan> {
        let mut n = need as usize;
        let mut counts = vec![0; self.sizes.len()];
        for (i, count) in counts.iter_mut().enumerate() {
            let mut table = &self.first;
            while n > 0 && table[i][n].is_some_and(|c| c.take) {
                *count += 1;
                n = n.saturating_sub(self.sizes[i]);
                table = &self.more;
            }
        }
        let cell = self.first[0][need as usize]?;
        Some(Plan { cell, counts })
    }
}

fn add(cell: Option<Cell>, price: Decimal, lines: u32) -> Option<Cell> {
    let (cost, lines, take) = (cell?.cost.checked_add(price)?, cell?.lines + lines, true);
    Some(Cell { cost, lines, take })
}

/// Ties favour taking the (larger) tier, which yields the "larger tiers" tie-break.
fn prefer(take: Option<Cell>, leave: Option<Cell>) -> Option<Cell> {
    match (take, leave) {
        (Some(t), Some(l)) if (l.cost, l.lines) < (t.cost, t.lines) => Some(l),
        (Some(t), _) => Some(t),
        (None, l) => l,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;
    use chrono_tz::Europe::Brussels;
    use rust_decimal_macros::dec;

    fn tier(label: &str, unit: TierUnit, length: u32, price: Decimal) -> PriceTier {
        let label = label.into();
        PriceTier {
            label,
            unit,
            length,
            price,
        }
    }

    fn shop() -> Vec<PriceTier> {
        vec![
            tier("Hour", TierUnit::Hour, 1, dec!(5.00)),
            tier("4 hours", TierUnit::Hour, 4, dec!(15.00)),
            tier("Day", TierUnit::Day, 1, dec!(30.00)),
            tier("Week", TierUnit::Week, 1, dec!(150.00)),
        ]
    }

    fn span(days: u32, hours: u32) -> LocalSpan {
        LocalSpan { days, hours }
    }

    /// "count×label=amount + … → total", with exact Decimal amounts (scale included).
    fn show(tiers: &[PriceTier], s: LocalSpan) -> String {
        let q = quote(tiers, s).expect("test spans are priceable");
        let line = |l: &QuoteLine| format!("{}×{}={}", l.count, l.label, l.amount);
        let lines: Vec<String> = q.lines.iter().map(line).collect();
        format!("{} → {}", lines.join(" + "), q.rental_total)
    }

    #[test]
    fn short_spans_use_hour_tiers() {
        assert_eq!(show(&shop(), span(0, 1)), "1×Hour=5.00 → 5.00");
        let shown = show(&shop(), span(0, 5));
        assert_eq!(shown, "1×4 hours=15.00 + 1×Hour=5.00 → 20.00");
        // 3 × Hour and 1 × "4 hours" both cost 15 in one line: the larger tier wins.
        assert_eq!(show(&shop(), span(0, 3)), "1×4 hours=15.00 → 15.00");
    }

    #[test]
    fn twenty_three_hours_cost_one_day() {
        assert_eq!(show(&shop(), span(0, 23)), "1×Day=30.00 → 30.00");
        let shown = show(&shop(), span(1, 2));
        assert_eq!(shown, "1×Day=30.00 + 2×Hour=10.00 → 40.00");
    }

    #[test]
    fn six_days_take_the_cheaper_week() {
        assert_eq!(show(&shop(), span(6, 0)), "1×Week=150.00 → 150.00");
        let pricey_week = [
            tier("Day", TierUnit::Day, 1, dec!(20)),
            tier("Week", TierUnit::Week, 1, dec!(150)),
        ];
        assert_eq!(show(&pricey_week, span(6, 0)), "6×Day=120 → 120");
    }

    #[test]
    fn eight_and_nine_days() {
        let shown = show(&shop(), span(8, 0));
        assert_eq!(shown, "1×Week=150.00 + 1×Day=30.00 → 180.00");
        let shown = show(&shop(), span(9, 0));
        assert_eq!(shown, "1×Week=150.00 + 2×Day=60.00 → 210.00");
        let dear_days = [
            tier("Day", TierUnit::Day, 1, dec!(60)),
            tier("Week", TierUnit::Week, 1, dec!(100)),
        ];
        assert_eq!(show(&dear_days, span(9, 0)), "2×Week=200 → 200");
    }

    #[test]
    fn weekend_tier_combines_with_days() {
        let mut tiers = shop();
        tiers.push(tier("Weekend", TierUnit::Day, 3, dec!(70.00)));
        assert_eq!(show(&tiers, span(3, 0)), "1×Weekend=70.00 → 70.00");
        let shown = show(&tiers, span(4, 0));
        assert_eq!(shown, "1×Weekend=70.00 + 1×Day=30.00 → 100.00");
        assert_eq!(show(&tiers, span(6, 0)), "2×Weekend=140.00 → 140.00");
    }

    #[test]
    fn dst_days_price_as_exactly_one_day() {
        let at = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .expect("valid timestamp")
                .to_utc()
        };
        for (from, to) in [
            ("2026-03-28T10:00:00+01:00", "2026-03-29T10:00:00+02:00"),
            ("2026-10-24T10:00:00+02:00", "2026-10-25T10:00:00+01:00"),
        ] {
            let s = LocalSpan::between(at(from), at(to), Brussels);
            assert_eq!(show(&shop(), s), "1×Day=30.00 → 30.00", "{from} → {to}");
            let total = quote(&shop(), s).map(|q| q.rental_total);
            assert_eq!(total, Ok(dec!(30.00)));
        }
    }

    #[test]
    fn missing_tier_kinds_fall_back() {
        let days_only = [tier("Day", TierUnit::Day, 1, dec!(30))];
        assert_eq!(show(&days_only, span(1, 2)), "2×Day=60 → 60");
        let hours_only = [tier("Hour", TierUnit::Hour, 1, dec!(1.25))];
        assert_eq!(show(&hours_only, span(2, 1)), "49×Hour=61.25 → 61.25");
        assert_eq!(show(&hours_only, span(0, 0)), " → 0");
    }

    #[test]
    fn refuses_bad_input_without_panicking() {
        let invalid = |label: &str| {
            Err(PricingError::InvalidTier {
                label: label.into(),
            })
        };
        let too_long = Err(PricingError::TooLong { max_days: 366 });
        assert_eq!(quote(&[], span(1, 0)), Err(PricingError::NoTiers));
        let zero = [tier("Free-ish", TierUnit::Day, 0, dec!(1))];
        assert_eq!(quote(&zero, span(1, 0)), invalid("Free-ish"));
        let negative = [tier("Refund", TierUnit::Hour, 1, dec!(-1))];
        assert_eq!(quote(&negative, span(1, 0)), invalid("Refund"));
        assert_eq!(quote(&shop(), span(367, 0)), too_long);
        assert_eq!(quote(&shop(), span(0, u32::MAX)), too_long);
        let shown = show(&shop(), span(366, 0));
        assert_eq!(shown, "52×Week=7800.00 + 2×Day=60.00 → 7860.00");
        let huge = [tier("Day", TierUnit::Day, 1, Decimal::MAX)];
        assert_eq!(quote(&huge, span(2, 0)), Err(PricingError::NotCoverable));
    }

    #[test]
    fn deposit_is_kept_apart_from_rental() {
        let q = quote(&shop(), span(1, 0)).map(|q| q.with_deposit(dec!(100.00)));
        let q = q.expect("one day is priceable");
        let amounts = (q.quote.rental_total, q.deposit, q.total_due);
        assert_eq!(amounts, (dec!(30), dec!(100), dec!(130.00)));
    }
}
