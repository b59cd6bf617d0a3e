//! The product form as staff fill it in (every field as typed), checked into the values the
//! database takes, with a message for the first field to fix. Pure, so the rules are tested
//! without a database and the form shows exactly what was typed when something is wrong.

use crate::domain::booking_request::FieldError;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// The product form's fields as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductForm {
    pub name: String,
    pub slug: String,
    pub category: String,
    pub summary: String,
    pub description: String,
    pub daily_price: String,
    pub deposit: String,
    pub min_rental_minutes: String,
    pub buffer_before_minutes: String,
    pub buffer_after_minutes: String,
    pub late_grace_minutes: String,
    pub late_fee_hourly: String,
    pub late_fee_daily: String,
    pub published: bool,
}

/// A product's values, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedProduct {
    pub name: String,
    pub slug: String,
    pub category: String,
    pub summary: String,
    pub description: String,
    pub daily_price: Decimal,
    pub deposit: Decimal,
    pub min_rental_minutes: i32,
    pub buffer_before_minutes: i32,
    pub buffer_after_minutes: i32,
    pub late_grace_minutes: i32,
    pub late_fee_hourly: Option<Decimal>,
    pub late_fee_daily: Option<Decimal>,
    pub published: bool,
}

/// Highest price or fee a form accepts.
pub const MAX_AMOUNT: i64 = 1_000_000;

/// A URL name from a product name: lowercase ASCII words joined by `-`.
pub fn slugify(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars() {
        let c = match c {
            'à' | 'á' | 'â' | 'ä' | 'À' | 'Á' | 'Â' | 'Ä' => 'a',
            'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ò' | 'ó' | 'ô' | 'ö' | 'Ö' => 'o',
            'ù' | 'ú' | 'û' | 'ü' | 'Ü' => 'u',
            'ç' => 'c',
            other => other,
        };
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    slug.chars()
        .take(200)
        .collect::<String>()
        .trim_end_matches('-')
        .to_owned()
}

fn is_slug(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 200
        && text.split('-').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
}

/// An amount of money as typed ("12", "12.5", "12.50"); `None` for an empty optional field.
pub fn parse_amount(text: &str, field: &str, label: &str) -> Result<Option<Decimal>, FieldError> {
    let text = text.trim().replace(',', ".");
    if text.is_empty() {
        return Ok(None);
    }
    let amount = Decimal::from_str(&text)
        .ok()
        .filter(|a| !a.is_sign_negative() && a.scale() <= 2 && *a <= Decimal::from(MAX_AMOUNT));
    amount.map(Some).ok_or_else(|| {
        FieldError::new(
            field,
            format!("Please enter the {label} as an amount such as 12.50 (0 to {MAX_AMOUNT})."),
        )
    })
}

fn required_amount(text: &str, field: &str, label: &str) -> Result<Decimal, FieldError> {
    parse_amount(text, field, label)?
        .ok_or_else(|| FieldError::new(field, format!("Please enter the {label}.")))
}

/// Whole minutes from `min` to `max`; empty means `default`.
pub fn parse_minutes(
    text: &str,
    field: &str,
    label: &str,
    (min, max, default): (i32, i32, i32),
) -> Result<i32, FieldError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(default);
    }
    text.parse::<i32>()
        .ok()
        .filter(|m| (min..=max).contains(m))
        .ok_or_else(|| {
            FieldError::new(
                field,
                format!("Please enter the {label} in whole minutes, from {min} to {max}."),
            )
        })
}

fn text(
    value: &str,
    field: &str,
    label: &str,
    (min, max): (usize, usize),
) -> Result<String, FieldError> {
    let value = value.trim();
    let length = value.chars().count();
    if length < min
        || length > max
        || value
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r')
    {
        let message = if min > 0 {
            format!("Please enter the {label} (up to {max} characters).")
        } else {
            format!("Please keep the {label} under {max} characters.")
        };
        return Err(FieldError::new(field, message));
    }
    Ok(value.to_owned())
}

impl ProductForm {
    /// Checks every field; the first one that is wrong is named.
    pub fn check(&self) -> Result<CheckedProduct, FieldError> {
        let name = text(&self.name, "name", "name", (1, 200))?;
        let slug = match self.slug.trim() {
            "" => slugify(&name),
            typed => typed.to_owned(),
        };
        if !is_slug(&slug) {
            return Err(FieldError::new(
                "slug",
                "Please use lowercase letters, digits and single dashes for the web address, e.g. two-person-tent.",
            ));
        }
        if self.category.trim().is_empty() {
            return Err(FieldError::new("category", "Please choose a category."));
        }
        Ok(CheckedProduct {
            summary: text(&self.summary, "summary", "summary", (0, 300))?,
            description: text(&self.description, "description", "description", (0, 10_000))?,
            daily_price: required_amount(&self.daily_price, "daily_price", "price per day")?,
            deposit: parse_amount(&self.deposit, "deposit", "deposit")?.unwrap_or_default(),
            min_rental_minutes: parse_minutes(
                &self.min_rental_minutes,
                "min_rental_minutes",
                "minimum rental",
                (1, 525_600, 60),
            )?,
            buffer_before_minutes: parse_minutes(
                &self.buffer_before_minutes,
                "buffer_before_minutes",
                "time needed before a rental",
                (0, 10_080, 0),
            )?,
            buffer_after_minutes: parse_minutes(
                &self.buffer_after_minutes,
                "buffer_after_minutes",
                "time needed after a rental",
                (0, 10_080, 60),
            )?,
            late_grace_minutes: parse_minutes(
                &self.late_grace_minutes,
                "late_grace_minutes",
                "grace period for late returns",
                (0, 10_080, 30),
            )?,
            late_fee_hourly: parse_amount(
                &self.late_fee_hourly,
                "late_fee_hourly",
                "late fee per hour",
            )?,
            late_fee_daily: parse_amount(
                &self.late_fee_daily,
                "late_fee_daily",
                "late fee per day",
            )?,
            category: self.category.trim().to_owned(),
            published: self.published,
            name,
            slug,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> ProductForm {
        ProductForm {
            name: "Two-person tent".into(),
            category: "camping".into(),
            daily_price: "18".into(),
            ..ProductForm::default()
        }
    }

    #[test]
    fn a_minimal_form_gets_the_defaults() {
        let checked = form().check().unwrap();
        assert_eq!(checked.slug, "two-person-tent");
        assert_eq!(checked.daily_price, Decimal::new(18, 0));
        assert_eq!(checked.deposit, Decimal::ZERO);
        assert_eq!(checked.min_rental_minutes, 60);
        assert_eq!(checked.buffer_after_minutes, 60);
        assert_eq!(checked.late_grace_minutes, 30);
        assert_eq!(checked.late_fee_hourly, None);
    }

    #[test]
    fn each_wrong_field_is_named() {
        let wrong = |change: fn(&mut ProductForm)| {
            let mut f = form();
            change(&mut f);
            f.check().unwrap_err().field
        };
        assert_eq!(wrong(|f| f.name = "  ".into()), "name");
        assert_eq!(wrong(|f| f.slug = "Bad Slug".into()), "slug");
        assert_eq!(wrong(|f| f.slug = "a--b".into()), "slug");
        assert_eq!(wrong(|f| f.category = String::new()), "category");
        assert_eq!(wrong(|f| f.daily_price = String::new()), "daily_price");
        assert_eq!(wrong(|f| f.daily_price = "-1".into()), "daily_price");
        assert_eq!(wrong(|f| f.daily_price = "1.234".into()), "daily_price");
        assert_eq!(wrong(|f| f.deposit = "lots".into()), "deposit");
        assert_eq!(
            wrong(|f| f.min_rental_minutes = "0".into()),
            "min_rental_minutes"
        );
        assert_eq!(
            wrong(|f| f.buffer_after_minutes = "1.5".into()),
            "buffer_after_minutes"
        );
        assert_eq!(
            wrong(|f| f.late_fee_daily = "2000000".into()),
            "late_fee_daily"
        );
        assert_eq!(wrong(|f| f.summary = "x".repeat(301)), "summary");
    }

    #[test]
    fn amounts_take_a_comma_and_fees_may_be_left_empty() {
        let mut f = form();
        f.late_fee_hourly = "4,50".into();
        assert_eq!(
            f.check().unwrap().late_fee_hourly,
            Some(Decimal::new(450, 2))
        );
    }

    #[test]
    fn slugs_are_made_from_names() {
        assert_eq!(slugify("Café table — 6 seats!"), "cafe-table-6-seats");
        assert_eq!(slugify("  ---  "), "");
        assert_eq!(slugify(&"ab ".repeat(100)).len(), 200);
    }
}
