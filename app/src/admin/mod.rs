//! The staff dashboard under `/admin`: the frame every staff page shares (navigation, sign-in
//! for someone signed out), the pieces of form its pages share, and one module per page. The
//! server refuses every `/admin` and `/api/admin` request of a non-staff session before any of
//! this runs; each server function checks the role again.

pub mod charts;
pub mod csv;
pub mod customers;
pub mod dashboard;
pub mod jobs;
pub mod model;
pub mod order;
pub mod orders;
pub mod photos;
pub mod product_edit;
pub mod product_form;
pub mod product_parts;
pub mod products;
pub mod query;
pub mod reports;
pub mod schedule;
pub mod schedule_model;

use crate::account::{AccountChanges, SignInCard};
use crate::error::AppError;
use crate::ui::ErrorNotice;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

/// The staff pages' navigation and heading around a page's content.
#[component]
pub fn AdminFrame(#[prop(into)] title: String, children: Children) -> impl IntoView {
    view! {
        <Title text=format!("{title} · Staff") />
        <div class="admin">
            <nav class="admin-nav" aria-label="Staff">
                <A href="/admin" exact=true>"Today"</A>
                <A href="/admin/orders">"Orders"</A>
                <A href="/admin/schedule">"Schedule"</A>
                <A href="/admin/products">"Products"</A>
                <A href="/admin/customers">"Customers"</A>
                <A href="/admin/jobs">"Jobs & email"</A>
                <A href="/admin/reports">"Reports"</A>
            </nav>
            <div class="admin-body">
                <h1>{title}</h1>
                {children()}
            </div>
        </div>
    }
}

/// What a staff page shows when its data could not be had: the sign-in form for someone
/// signed out (the server answered 401), otherwise the error's sentence.
#[component]
pub fn AdminProblem(error: AppError, next: String) -> impl IntoView {
    match error {
        AppError::SignInRequired => view! {
            <Title text="Staff sign-in" />
            <h1>"Please sign in with your staff account"</h1>
            <div class="account-forms"><SignInCard next /></div>
        }
        .into_any(),
        other => view! { <ErrorNotice error=other /> }.into_any(),
    }
}

/// The error an action's last call ended with, if any.
pub fn last_error<S>(action: ServerAction<S>) -> Signal<Option<AppError>>
where
    S: leptos::server_fn::ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    Signal::derive(move || action.value().get().and_then(|r| r.err()))
}

/// The message an action's error has for form field `name`, as a signal.
pub fn field_error<S>(action: ServerAction<S>, name: &'static str) -> Signal<Option<String>>
where
    S: leptos::server_fn::ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    Signal::derive(move || {
        action
            .value()
            .get()
            .and_then(|r| r.err())
            .and_then(|e| e.for_field(name))
    })
}

/// The message of an action's error that belongs to no field.
pub fn form_error<S>(action: ServerAction<S>) -> Signal<Option<String>>
where
    S: leptos::server_fn::ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    Signal::derive(move || {
        action
            .value()
            .get()
            .and_then(|r| r.err())
            .filter(|e| !matches!(e, AppError::Field { .. }))
            .map(|e| e.to_string())
    })
}

/// A labelled input with its current value and the message under it (read with the field).
#[component]
pub fn Field(
    id: &'static str,
    #[prop(optional)] name: Option<&'static str>,
    label: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(into, optional)] value: String,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(optional)] required: bool,
    #[prop(optional)] step: Option<&'static str>,
    #[prop(optional)] inputmode: Option<&'static str>,
    #[prop(into)] error: Signal<Option<String>>,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let described = if hint.is_some() {
        format!("{hint_id} {error_id}")
    } else {
        error_id.clone()
    };
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <input id=id name=name.unwrap_or(id) type=kind value=value required=required step=step inputmode=inputmode
                aria-invalid=move || error.get().map(|_| "true") aria-describedby=described />
            {hint.map(|h| view! { <p class="hint" id=hint_id>{h}</p> })}
            <p class="field-error" id=error_id role="alert">{move || error.get()}</p>
        </div>
    }
}

/// "Previous / page n of m / Next" for a staff list; `href` makes a page's link.
#[component]
pub fn Pager(page: u32, total_pages: u32, href: Callback<u32, String>) -> impl IntoView {
    let previous = (page > 1).then(|| {
        view! { <a href=href.run(page.saturating_sub(1).min(total_pages)) rel="prev">"← Previous"</a> }
    });
    let next =
        (page < total_pages).then(|| view! { <a href=href.run(page + 1) rel="next">"Next →"</a> });
    view! {
        <nav class="pagination" aria-label="Pages">
            {previous}
            <span aria-current="page">{format!("Page {page} of {total_pages}")}</span>
            {next}
        </nav>
    }
}

/// Staff history of an object: who changed what, when.
#[component]
pub fn History(actions: Vec<model::StaffActionView>) -> impl IntoView {
    let empty = actions.is_empty();
    let items = actions
        .into_iter()
        .map(|a| {
            view! {
                <li>
                    <time>{a.at}</time>" · "<strong>{a.action}</strong>
                    {(!a.detail.is_empty()).then(|| format!(" — {}", a.detail))}
                    " · by "{a.actor}
                </li>
            }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="history-heading">
            <h2 id="history-heading">"History"</h2>
            {empty.then(|| view! { <p class="hint">"No changes recorded yet."</p> })}
            <ol class="history">{items}</ol>
        </section>
    }
}

/// Who is signed in, for pages with no data of their own; refused like every staff function.
#[server(prefix = "/api/admin", endpoint = "staff")]
pub async fn staff_member() -> Result<String, AppError> {
    let shop = crate::ssr::shop()?;
    Ok(crate::ssr::admin::require_staff(&shop).await?.name)
}

/// Any other `/admin` address: the sign-in form for someone signed out (like every staff page,
/// so the answer does not tell which staff pages exist), a plain 404 for staff.
#[component]
pub fn AdminNotFound() -> impl IntoView {
    let account = AccountChanges::get();
    let staff = Resource::new(move || account.version(), |_| staff_member());
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match staff.await {
                    Ok(_) => {
                        #[cfg(feature = "ssr")]
                        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                            response.set_status(axum::http::StatusCode::NOT_FOUND);
                        }
                        view! {
                            <AdminFrame title="No such staff page">
                                <p>"There is no staff page at this address. Use the navigation above."</p>
                            </AdminFrame>
                        }
                        .into_any()
                    }
                    Err(error) => view! { <AdminProblem error next="/admin".to_owned() /> }.into_any(),
                }
            })}
        </Suspense>
    }
}
