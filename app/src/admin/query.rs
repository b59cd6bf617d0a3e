//! The staff lists' URL parameters (page, dates, state, search text), checked into typed
//! filters with a message for the one field to fix, and written back into links.

use super::model::OrderFilter;
use crate::catalog_query::{encode, MAX_PAGE};
use crate::domain::booking_request::FieldError;
use crate::domain::order_state::OrderState;
use chrono::NaiveDate;

/// Longest search text a staff list accepts.
pub const MAX_SEARCH_CHARS: usize = 100;
/// Longest date range a list or report covers.
pub const MAX_RANGE_DAYS: i64 = 3660;

fn given(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// A 1-based page number; empty means the first page.
pub fn parse_page(text: Option<&str>) -> Result<u32, String> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(1),
        Some(text) => match text.parse::<u32>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
            _ => Err(format!(
                "The page number must be a whole number from 1 to {MAX_PAGE}."
            )),
        },
    }
}

/// Search text, trimmed; too long is the person's error.
pub fn parse_search(text: &Option<String>, field: &str) -> Result<Option<String>, FieldError> {
    let text = given(text);
    if text
        .as_ref()
        .is_some_and(|t| t.chars().count() > MAX_SEARCH_CHARS)
    {
        return Err(FieldError::new(
            field,
            format!("Please search with at most {MAX_SEARCH_CHARS} characters."),
        ));
    }
    Ok(text)
}

fn date(text: &str, field: &str) -> Result<NaiveDate, FieldError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| FieldError::new(field, "Please enter a date such as 2027-03-14."))
}

/// An inclusive range of shop-local days; either end may be open.
pub fn parse_range(
    from: &Option<String>,
    to: &Option<String>,
) -> Result<(Option<NaiveDate>, Option<NaiveDate>), FieldError> {
    let from = given(from).map(|t| date(&t, "from")).transpose()?;
    let to = given(to).map(|t| date(&t, "to")).transpose()?;
    if let (Some(from), Some(to)) = (from, to) {
        if to < from {
            return Err(FieldError::new(
                "to",
                "The end date must be on or after the start date.",
            ));
        }
        if (to - from).num_days() > MAX_RANGE_DAYS {
            return Err(FieldError::new(
                "to",
                "Please choose a range of at most ten years.",
            ));
        }
    }
    Ok((from, to))
}

/// The orders list's parameters as typed in the URL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawOrderFilter {
    pub state: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub customer: Option<String>,
    pub late: Option<String>,
    pub page: Option<String>,
}

/// What the orders query needs, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedOrderFilter {
    pub state: Option<OrderState>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub customer: Option<String>,
    pub late: bool,
    pub page: u32,
}

/// The filter as understood (for the form, even when wrong), and the checked one or the field
/// to fix; a bad page number is an error of its own (the whole request is wrong).
pub fn parse_order_filter(
    raw: &RawOrderFilter,
) -> (OrderFilter, Result<CheckedOrderFilter, OrderFilterProblem>) {
    let shown = OrderFilter {
        state: given(&raw.state),
        from: given(&raw.from),
        to: given(&raw.to),
        customer: given(&raw.customer),
        late: given(&raw.late).is_some_and(|v| v == "1" || v == "on" || v == "true"),
        page: 1,
    };
    let checked = (|| {
        let page = parse_page(raw.page.as_deref()).map_err(OrderFilterProblem::Page)?;
        let state = match &shown.state {
            None => None,
            Some(text) => Some(OrderState::parse(text).ok_or_else(|| {
                OrderFilterProblem::Field(FieldError::new(
                    "state",
                    "Please choose one of the listed states.",
                ))
            })?),
        };
        let (from, to) = parse_range(&raw.from, &raw.to).map_err(OrderFilterProblem::Field)?;
        let customer =
            parse_search(&raw.customer, "customer").map_err(OrderFilterProblem::Field)?;
        Ok(CheckedOrderFilter {
            state,
            from,
            to,
            customer,
            late: shown.late,
            page,
        })
    })();
    let mut shown = shown;
    if let Ok(checked) = &checked {
        shown.page = checked.page;
    }
    (shown, checked)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderFilterProblem {
    Page(String),
    Field(FieldError),
}

/// The orders list URL for `filter` at `page`.
pub fn orders_href(filter: &OrderFilter, page: u32) -> String {
    let mut params = Vec::new();
    let mut push = |name: &str, value: &Option<String>| {
        if let Some(v) = value {
            params.push(format!("{name}={}", encode(v)));
        }
    };
    push("state", &filter.state);
    push("from", &filter.from);
    push("to", &filter.to);
    push("customer", &filter.customer);
    if filter.late {
        params.push("late=1".to_owned());
    }
    if page > 1 {
        params.push(format!("page={page}"));
    }
    if params.is_empty() {
        "/admin/orders".to_owned()
    } else {
        format!("/admin/orders?{}", params.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(pairs: &[(&str, &str)]) -> RawOrderFilter {
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        };
        RawOrderFilter {
            state: get("state"),
            from: get("from"),
            to: get("to"),
            customer: get("customer"),
            late: get("late"),
            page: get("page"),
        }
    }

    #[test]
    fn a_good_filter_is_understood() {
        let (shown, checked) = parse_order_filter(&raw(&[
            ("state", "picked_up"),
            ("from", "2027-03-01"),
            ("to", "2027-03-31"),
            ("customer", " ann "),
            ("late", "1"),
            ("page", "2"),
        ]));
        let checked = checked.unwrap();
        assert_eq!(checked.state, Some(OrderState::PickedUp));
        assert_eq!(checked.customer.as_deref(), Some("ann"));
        assert!(checked.late);
        assert_eq!(checked.page, 2);
        assert_eq!(
            orders_href(&shown, 3),
            "/admin/orders?state=picked_up&from=2027-03-01&to=2027-03-31&customer=ann&late=1&page=3"
        );
    }

    #[test]
    fn each_wrong_field_is_named() {
        let field = |pairs: &[(&str, &str)]| match parse_order_filter(&raw(pairs)).1 {
            Err(OrderFilterProblem::Field(e)) => e.field,
            other => panic!("expected a field error, got {other:?}"),
        };
        assert_eq!(field(&[("state", "lost")]), "state");
        assert_eq!(field(&[("from", "2027-02-30")]), "from");
        assert_eq!(field(&[("from", "2027-03-02"), ("to", "2027-03-01")]), "to");
        assert_eq!(field(&[("customer", &"x".repeat(101))]), "customer");
        assert!(matches!(
            parse_order_filter(&raw(&[("page", "0")])).1,
            Err(OrderFilterProblem::Page(_))
        ));
        assert!(matches!(
            parse_order_filter(&raw(&[("page", "99999999999")])).1,
            Err(OrderFilterProblem::Page(_))
        ));
    }

    #[test]
    fn an_empty_filter_is_the_plain_list() {
        let (shown, checked) = parse_order_filter(&RawOrderFilter::default());
        assert_eq!(checked.unwrap().page, 1);
        assert_eq!(orders_href(&shown, 1), "/admin/orders");
    }
}
