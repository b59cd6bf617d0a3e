//! The catalog's URL: `q`, `category`, `from`, `to`, `sort` and `page` read into a checked
//! [`CatalogQuery`], and written back as a short, stable link so any search can be shared.

use crate::domain::booking_request::FieldError;
use crate::model::{CatalogQuery, CatalogSort};
use chrono::{Duration, NaiveDate};

/// The longest search text we look for.
pub const MAX_SEARCH_CHARS: usize = 200;
/// The highest page number a link may ask for.
pub const MAX_PAGE: u32 = 10_000;
/// The longest span the "free on these dates" filter accepts.
pub const MAX_FILTER_DAYS: i64 = 366;

/// What is wrong with a catalog URL: a field of the filter form, or the page number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryProblem {
    Field(FieldError),
    Page(String),
}

/// The catalog URL's parameters as they arrived.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawCatalogQuery {
    pub q: Option<String>,
    pub category: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub sort: Option<String>,
    pub page: Option<String>,
}

fn given(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// Reads the URL. `today` is the shop-local date; dates may lie from today up to
/// `horizon_days` ahead. The query is returned even when it is wrong, so the form can show
/// what was typed next to the message.
pub fn parse(
    raw: &RawCatalogQuery,
    today: NaiveDate,
    horizon_days: i64,
) -> (
    CatalogQuery,
    Result<Option<(NaiveDate, NaiveDate)>, QueryProblem>,
) {
    let mut query = CatalogQuery {
        category: given(&raw.category),
        search: given(&raw.q),
        from: given(&raw.from),
        to: given(&raw.to),
        sort: CatalogSort::Name,
        page: 1,
    };
    let checked = check(raw, &mut query, today, horizon_days);
    (query, checked)
}

fn check(
    raw: &RawCatalogQuery,
    query: &mut CatalogQuery,
    today: NaiveDate,
    horizon_days: i64,
) -> Result<Option<(NaiveDate, NaiveDate)>, QueryProblem> {
    let field = |name: &str, message: &str| QueryProblem::Field(FieldError::new(name, message));
    if let Some(text) = given(&raw.page) {
        match text.parse::<u32>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => query.page = n,
            _ => {
                return Err(QueryProblem::Page(format!(
                    "The page number must be a whole number from 1 to {MAX_PAGE}."
                )))
            }
        }
    }
    if let Some(text) = given(&raw.sort) {
        query.sort = CatalogSort::parse(&text)
            .ok_or_else(|| field("sort", "Please choose one of the listed sort orders."))?;
    }
    if query
        .search
        .as_ref()
        .is_some_and(|q| q.chars().count() > MAX_SEARCH_CHARS)
    {
        let message = format!("Please search with at most {MAX_SEARCH_CHARS} characters.");
        return Err(field("q", &message));
    }
    if query
        .search
        .as_ref()
        .is_some_and(|q| q.chars().any(char::is_control))
    {
        return Err(field("q", "Please search without control characters."));
    }
    let date = |name: &str, text: &str| {
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map_err(|_| field(name, "Please enter a date such as 2027-03-14."))
    };
    let (from, to) = match (query.from.clone(), query.to.clone()) {
        (None, None) => return Ok(None),
        (None, Some(_)) => return Err(field("from", "Please choose the first day too.")),
        (Some(from), None) => {
            let from = date("from", &from)?;
            (from, from)
        }
        (Some(from), Some(to)) => (date("from", &from)?, date("to", &to)?),
    };
    if from < today {
        return Err(field("from", "Please choose a day from today on."));
    }
    if from > today + Duration::days(horizon_days) {
        let message = format!("We take bookings up to {horizon_days} days ahead.");
        return Err(field("from", &message));
    }
    if to < from {
        return Err(field("to", "The last day can't be before the first."));
    }
    if to - from >= Duration::days(MAX_FILTER_DAYS) {
        let message = format!("Please choose at most {MAX_FILTER_DAYS} days.");
        return Err(field("to", &message));
    }
    Ok(Some((from, to)))
}

/// The link to `page` of this query: only the parameters that differ from the defaults, in a
/// fixed order, so equal searches have equal URLs.
pub fn href(query: &CatalogQuery, page: u32) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    if let Some(q) = &query.search {
        pairs.push(("q", q.clone()));
    }
    if let Some(category) = &query.category {
        pairs.push(("category", category.clone()));
    }
    if let Some(from) = &query.from {
        pairs.push(("from", from.clone()));
    }
    if let Some(to) = &query.to {
        pairs.push(("to", to.clone()));
    }
    if query.sort != CatalogSort::Name {
        pairs.push(("sort", query.sort.as_str().to_owned()));
    }
    if page > 1 {
        pairs.push(("page", page.to_string()));
    }
    if pairs.is_empty() {
        return "/".to_owned();
    }
    let encoded: Vec<String> = pairs
        .into_iter()
        .map(|(name, value)| format!("{name}={}", encode(&value)))
        .collect();
    format!("/?{}", encoded.join("&"))
}

/// Percent-encodes a query value (spaces as `+`), as browsers do for GET forms.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(byte))
            }
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 4).unwrap()
    }

    fn raw(pairs: &[(&str, &str)]) -> RawCatalogQuery {
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        };
        RawCatalogQuery {
            q: get("q"),
            category: get("category"),
            from: get("from"),
            to: get("to"),
            sort: get("sort"),
            page: get("page"),
        }
    }

    fn problem(pairs: &[(&str, &str)]) -> QueryProblem {
        parse(&raw(pairs), today(), 365).1.unwrap_err()
    }

    fn field_of(p: QueryProblem) -> String {
        match p {
            QueryProblem::Field(f) => f.field,
            QueryProblem::Page(_) => "page".into(),
        }
    }

    #[test]
    fn a_full_query_reads_and_links_back() {
        let pairs = [
            ("q", " tent 4 person "),
            ("category", "camping"),
            ("from", "2026-12-10"),
            ("to", "2026-12-12"),
            ("sort", "price"),
            ("page", "2"),
        ];
        let (query, checked) = parse(&raw(&pairs), today(), 365);
        let days = checked.unwrap().unwrap();
        assert_eq!(days.0, NaiveDate::from_ymd_opt(2026, 12, 10).unwrap());
        assert_eq!(days.1, NaiveDate::from_ymd_opt(2026, 12, 12).unwrap());
        assert_eq!(query.search.as_deref(), Some("tent 4 person"));
        assert_eq!(
            href(&query, 3),
            "/?q=tent+4+person&category=camping&from=2026-12-10&to=2026-12-12&sort=price&page=3"
        );
        assert_eq!(
            href(&query, 1),
            "/?q=tent+4+person&category=camping&from=2026-12-10&to=2026-12-12&sort=price"
        );
    }

    #[test]
    fn empty_values_are_defaults() {
        let pairs = [
            ("q", ""),
            ("from", " "),
            ("to", ""),
            ("sort", ""),
            ("page", ""),
        ];
        let (query, checked) = parse(&raw(&pairs), today(), 365);
        assert_eq!(checked, Ok(None));
        assert_eq!(
            query,
            CatalogQuery {
                page: 1,
                ..CatalogQuery::default()
            }
        );
        assert_eq!(href(&query, 1), "/");
    }

    #[test]
    fn one_day_means_from_equals_to() {
        let (_, checked) = parse(&raw(&[("from", "2026-12-04")]), today(), 365);
        let (from, to) = checked.unwrap().unwrap();
        assert_eq!(from, to);
    }

    #[test]
    fn bad_values_name_their_field() {
        assert_eq!(field_of(problem(&[("page", "0")])), "page");
        assert_eq!(field_of(problem(&[("page", "10001")])), "page");
        assert_eq!(field_of(problem(&[("page", "-1")])), "page");
        assert_eq!(field_of(problem(&[("sort", "random")])), "sort");
        assert_eq!(field_of(problem(&[("q", &"x".repeat(201))])), "q");
        assert_eq!(field_of(problem(&[("q", "tent\u{0}")])), "q");
        assert_eq!(field_of(problem(&[("to", "2026-12-10")])), "from");
        assert_eq!(field_of(problem(&[("from", "tomorrow")])), "from");
        assert_eq!(
            field_of(problem(&[("from", "2026-12-10"), ("to", "2026-13-01")])),
            "to"
        );
        assert_eq!(field_of(problem(&[("from", "2026-12-03")])), "from");
        assert_eq!(field_of(problem(&[("from", "2027-12-05")])), "from");
        assert_eq!(
            field_of(problem(&[("from", "2026-12-10"), ("to", "2026-12-09")])),
            "to"
        );
        assert_eq!(
            field_of(problem(&[("from", "2026-12-10"), ("to", "2028-01-01")])),
            "to"
        );
    }

    #[test]
    fn values_are_percent_encoded() {
        assert_eq!(encode("a&b=c d/é"), "a%26b%3Dc+d%2F%C3%A9");
        assert_eq!(encode("'; DROP TABLE--"), "%27%3B+DROP+TABLE--");
    }
}
