//! Email templates: files in `server/templates/email/{kind}.subject.txt`, `.txt` and `.html`,
//! compiled in, with `{{name}}` placeholders; values are HTML-escaped in the HTML part.

use super::MailError;
use std::collections::BTreeMap;

macro_rules! template {
    ($kind:literal) => {
        (
            $kind,
            include_str!(concat!("../../templates/email/", $kind, ".subject.txt")),
            include_str!(concat!("../../templates/email/", $kind, ".txt")),
            include_str!(concat!("../../templates/email/", $kind, ".html")),
        )
    };
}

/// Every kind of email: (kind, subject, plain text, HTML).
const TEMPLATES: &[(&str, &str, &str, &str)] = &[
    template!("booking_confirmation"),
    template!("cancellation"),
    template!("pickup_reminder"),
    template!("return_reminder"),
    template!("overdue_notice"),
];

/// The kinds of email there are templates for.
pub const KINDS: &[&str] = &[
    "booking_confirmation",
    "cancellation",
    "pickup_reminder",
    "return_reminder",
    "overdue_notice",
];

/// A template filled in.
#[derive(Clone, Debug, PartialEq)]
pub struct RenderedEmail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Fills the `kind` templates with `values`. A placeholder without a value is an error, so a
/// message never goes out with `{{…}}` in it.
pub fn render(kind: &str, values: &BTreeMap<String, String>) -> Result<RenderedEmail, MailError> {
    let (_, subject, text, html) = TEMPLATES
        .iter()
        .find(|(name, ..)| *name == kind)
        .ok_or_else(|| MailError::Template {
            kind: kind.to_owned(),
            problem: "no such template".into(),
        })?;
    Ok(RenderedEmail {
        subject: fill(kind, subject.trim(), values, |v| {
            v.replace(['\r', '\n'], " ")
        })?,
        text: fill(kind, text, values, str::to_owned)?,
        html: fill(kind, html, values, app::ui::escape_html)?,
    })
}

fn fill(
    kind: &str,
    template: &str,
    values: &BTreeMap<String, String>,
    encode: impl Fn(&str) -> String,
) -> Result<String, MailError> {
    let mut out = String::with_capacity(template.len() + 256);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or_else(|| MailError::Template {
            kind: kind.to_owned(),
            problem: "a {{ without }}".into(),
        })?;
        let name = after[..end].trim();
        let value = values.get(name).ok_or_else(|| MailError::Template {
            kind: kind.to_owned(),
            problem: format!("no value for {{{{{name}}}}}"),
        })?;
        out.push_str(&encode(value));
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn html_values_are_escaped_and_text_values_are_not() {
        let v = values(&[
            ("customer_name", "Ann <b>&</b>"),
            ("order_number", "R-1"),
            ("pickup_at", "Mon"),
            ("refund_note", "ok"),
        ]);
        let email = render("cancellation", &v).expect("all values given");
        assert!(email.html.contains("Ann &lt;b&gt;&amp;&lt;/b&gt;"));
        assert!(email.text.contains("Ann <b>&</b>"));
        assert_eq!(email.subject, "Your rental R-1 is cancelled");
    }

    #[test]
    fn a_missing_value_is_an_error() {
        let v = values(&[
            ("order_number", "R-1"),
            ("pickup_at", "Mon"),
            ("refund_note", "ok"),
        ]);
        let err = render("cancellation", &v).expect_err("customer_name is missing");
        assert!(err.to_string().contains("no value for {{customer_name}}"));
    }

    #[test]
    fn every_kind_has_templates() {
        for kind in KINDS {
            assert!(TEMPLATES.iter().any(|(name, ..)| name == kind));
        }
    }
}
