//! Small pieces of interface shared by several pages.

use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

/// A customer-facing error: a heading, the message, and a way on.
#[component]
pub fn ErrorNotice(error: AppError) -> impl IntoView {
    let title = error.title();
    view! {
        <Title text=title />
        <section class="notice" role="alert">
            <h1>{title}</h1>
            <p>{error.to_string()}</p>
            <p><A href="/">"Back to the catalog"</A></p>
        </section>
    }
}

/// The message under a form field, when it has one; `id` is what the field's
/// `aria-describedby` points at, so screen readers read it with the field.
#[component]
pub fn FieldMessage(id: &'static str, message: Option<String>) -> impl IntoView {
    message.map(|message| {
        view! { <p class="field-error" id=id role="alert">{message}</p> }
    })
}

/// A labelled form input with its message underneath (read by screen readers with the field).
#[component]
pub fn TextField(
    id: &'static str,
    name: &'static str,
    label: &'static str,
    kind: &'static str,
    autocomplete: &'static str,
    #[prop(optional)] minlength: Option<&'static str>,
    #[prop(optional)] maxlength: Option<&'static str>,
    #[prop(into)] error: Signal<Option<String>>,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <input id=id name=name type=kind autocomplete=autocomplete required minlength=minlength maxlength=maxlength
                aria-invalid=move || error.get().map(|_| "true") aria-describedby=error_id.clone() />
            <p class="field-error" id=error_id role="alert">{move || error.get()}</p>
        </div>
    }
}

/// A tidy stand-in until product photos exist: the item's initials on one of twelve colours
/// derived from its name, so tiles are told apart at a glance. A class, not a style
/// attribute: the Content-Security-Policy allows no inline styles.
#[component]
pub fn PhotoPlaceholder(name: String) -> impl IntoView {
    let hue = name
        .bytes()
        .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
        % 12;
    let initials: String = name
        .split_whitespace()
        .filter_map(|w| w.chars().next())
        .filter(|c| c.is_alphabetic())
        .take(2)
        .collect();
    view! {
        <div class=format!("photo-placeholder hue-{hue}") aria-hidden="true">
            <span>{initials}</span>
        </div>
    }
}

/// Text for the inside of `<title>` and `<textarea>`. Leptos writes those into the server's
/// HTML as they are, so a product description or a search holding `</textarea><script>` could
/// end the element; on the server it is escaped. The browser sets such text as plain text
/// (`document.title`, a text node), so there it is left alone.
pub fn raw_text(text: String) -> String {
    if cfg!(feature = "ssr") {
        escape_html(&text)
    } else {
        text
    }
}

/// `&`, `<`, `>`, `"` and `'` as character references: safe in text and in quoted attributes
/// (the server's page titles and textareas, and the HTML part of its emails).
pub fn escape_html(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(all(test, feature = "ssr"))]
mod raw_text_tests {
    use super::raw_text;

    #[test]
    fn text_cannot_close_its_element_on_the_server() {
        assert_eq!(
            raw_text("Results for </title><script>".into()),
            "Results for &lt;/title&gt;&lt;script&gt;"
        );
        assert_eq!(raw_text("Tents & tarps".into()), "Tents &amp; tarps");
    }
}
