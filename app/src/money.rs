//! Money as it is shown to people: `rust_decimal` amounts formatted with the shop's currency.
//! Formatting happens identically on server and browser, so hydration never sees a mismatch.

use rust_decimal::Decimal;

/// Formats `amount` as e.g. "€1,234.50" (known symbols) or "1,234.50 CHF" (other ISO codes).
pub fn format_money(amount: Decimal, currency: &str) -> String {
    let rounded = amount.round_dp(2);
    let negative = rounded.is_sign_negative() && !rounded.is_zero();
    let text = format!("{:.2}", rounded.abs());
    let (whole, cents) = text.split_once('.').unwrap_or((&text, "00"));
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    let sign = if negative { "-" } else { "" };
    match symbol(currency) {
        Some(symbol) => format!("{sign}{symbol}{grouped}.{cents}"),
        None => format!("{sign}{grouped}.{cents} {currency}"),
    }
}

fn symbol(currency: &str) -> Option<&'static str> {
    match currency {
        "EUR" => Some("€"),
        "USD" => Some("$"),
        "GBP" => Some("£"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).expect("test literal is a decimal")
    }

    #[test]
    fn formats_with_symbol_and_grouping() {
        assert_eq!(format_money(d("1234.5"), "EUR"), "€1,234.50");
        assert_eq!(format_money(d("12"), "GBP"), "£12.00");
        assert_eq!(format_money(d("1000000"), "USD"), "$1,000,000.00");
        assert_eq!(format_money(d("999.999"), "EUR"), "€1,000.00");
    }

    #[test]
    fn unknown_currency_goes_after_the_amount() {
        assert_eq!(format_money(d("45.1"), "CHF"), "45.10 CHF");
    }

    #[test]
    fn zero_and_negative() {
        assert_eq!(format_money(d("0"), "EUR"), "€0.00");
        assert_eq!(format_money(d("-0.001"), "EUR"), "€0.00");
        assert_eq!(format_money(d("-5"), "EUR"), "-€5.00");
    }
}
