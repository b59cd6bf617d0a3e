//! Accounts in the browser: sign up, sign in, sign out, and "My rentals". A counter shared
//! through context ([`AccountChanges`]) makes everything that depends on who is signed in (the
//! header, the cart, My rentals) reload when an account action completes. Every form is a
//! plain HTML form first: it works without JavaScript.

use crate::error::AppError;
use crate::model::{CurrentUser, MyRentals as Rentals, OrderSummary};
use crate::money::format_money;
use crate::ui::{ErrorNotice, TextField};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

/// Where to go after signing in when nothing (or something unsafe) was asked for.
pub const DEFAULT_AFTER_SIGN_IN: &str = "/account/rentals";

/// Only paths of this site: `/cart` yes; `//evil.example`, `https://…` or `/\evil` no.
pub fn safe_next(next: Option<&str>) -> String {
    match next.map(str::trim) {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.chars().any(char::is_control)
                && path.len() <= 500 =>
        {
            path.to_owned()
        }
        _ => DEFAULT_AFTER_SIGN_IN.to_owned(),
    }
}

/// The signed-in person, if any.
#[server(prefix = "/api", endpoint = "me")]
pub async fn who_am_i() -> Result<Option<CurrentUser>, AppError> {
    let shop = crate::ssr::shop()?;
    crate::ssr::current_user(&shop).await
}

#[server(prefix = "/api", endpoint = "sign-in")]
pub async fn sign_in(
    email: String,
    password: String,
    next: Option<String>,
) -> Result<(), AppError> {
    use crate::ssr::{
        account_error, accounts, client_address, invalid_field, shop, too_many_attempts,
    };
    let shop = shop()?;
    if email.trim().is_empty() || email.len() > 254 || email.chars().any(char::is_control) {
        return Err(invalid_field("email", "Please enter your email address."));
    }
    if password.is_empty() || password.len() > 1000 {
        return Err(invalid_field("password", "Please enter your password."));
    }
    shop.sign_in_limits
        .attempt(client_address(&shop), &email)
        .map_err(too_many_attempts)?;
    let user = accounts::authenticate(&shop.pool, email.trim(), &password)
        .await
        .map_err(account_error)?
        .ok_or_else(|| {
            invalid_field(
                "password",
                "That email address and password don't match an account. Please check both.",
            )
        })?;
    start_session(&shop, &user, next.as_deref()).await
}

/// Signs `user` in on this request's session (a new session id) and goes on to `next`.
#[cfg(feature = "ssr")]
async fn start_session(
    shop: &crate::ssr::ShopContext,
    user: &CurrentUser,
    next: Option<&str>,
) -> Result<(), AppError> {
    use crate::ssr::{account_error, accounts, session};
    let session = session().await?;
    accounts::sign_in(&session, &shop.pool, user)
        .await
        .map_err(account_error)?;
    leptos_axum::redirect(&safe_next(next));
    Ok(())
}

#[server(prefix = "/api", endpoint = "sign-up")]
pub async fn sign_up(
    name: String,
    email: String,
    password: String,
    next: Option<String>,
) -> Result<(), AppError> {
    use crate::ssr::{
        account_error, accounts, client_address, invalid_field, shop, too_many_attempts,
    };
    let shop = shop()?;
    let (name, email) = (name.trim().to_owned(), email.trim().to_owned());
    accounts::check_sign_up(&email, &name, &password)
        .map_err(|(field, message)| invalid_field(field, message))?;
    shop.sign_in_limits
        .sign_up(client_address(&shop))
        .map_err(too_many_attempts)?;
    let user = accounts::create_user(&shop.pool, &email, &name, &password, false)
        .await
        .map_err(account_error)?;
    start_session(&shop, &user, next.as_deref()).await
}

#[server(prefix = "/api", endpoint = "sign-out")]
pub async fn sign_out() -> Result<(), AppError> {
    use crate::ssr::{account_error, accounts, session};
    let session = session().await?;
    accounts::sign_out(&session).await.map_err(account_error)?;
    leptos_axum::redirect("/");
    Ok(())
}

/// The signed-in customer's rentals: upcoming, active and past.
#[server(prefix = "/api", endpoint = "my-rentals")]
pub async fn my_rentals() -> Result<Rentals, AppError> {
    use crate::ssr::{current_user, db_error, orders, shop, sign_in_required};
    let shop = shop()?;
    let user = current_user(&shop).await?.ok_or_else(sign_in_required)?;
    orders::my_rentals(&shop.pool, user.id, shop.time_zone, &shop.currency)
        .await
        .map_err(db_error)
}

/// Counts sign-ins, sign-ups and sign-outs in this browser tab: everything that shows who is
/// signed in reads it, so it reloads when one of them completes. The actions themselves are
/// created where their forms are, inside the routes, because only there does a server render
/// see the error a plain form post (without JavaScript) was redirected back with.
#[derive(Clone, Copy)]
pub struct AccountChanges(RwSignal<usize>);

impl AccountChanges {
    /// Creates the counter and provides it to everything below.
    pub fn provide() -> Self {
        let changes = AccountChanges(RwSignal::new(0));
        provide_context(changes);
        changes
    }

    pub fn get() -> Self {
        use_context::<AccountChanges>().unwrap_or_else(Self::provide)
    }

    pub fn version(&self) -> usize {
        self.0.get()
    }

    /// Counts each completed call of `action` (in the browser; a server render is fresh anyway).
    pub fn watch<S>(&self, action: ServerAction<S>)
    where
        S: leptos::server_fn::ServerFn + Clone + Send + Sync + 'static,
        S::Output: Send + Sync + 'static,
        S::Error: Send + Sync + 'static,
    {
        let counter = self.0;
        Effect::new(move |previous: Option<usize>| {
            let version = action.version().get();
            if previous.is_some_and(|p| p != version) {
                counter.update(|n| *n += 1);
            }
            version
        });
    }
}

/// A resource of the signed-in person that reloads on sign-in and sign-out.
pub fn use_current_user() -> Resource<Result<Option<CurrentUser>, AppError>> {
    let changes = AccountChanges::get();
    Resource::new(move || changes.version(), |_| who_am_i())
}

/// The header's account links: plain links, no data. (A resource in the header would add a
/// second Suspense boundary to every page; parallel boundaries are where leptos' server
/// renders have been seen to hang.) Who is signed in shows on the account pages.
#[component]
pub fn AccountNav() -> impl IntoView {
    view! {
        <A href="/account/rentals">"My rentals"</A>
        <A href="/account">"Account"</A>
    }
}

/// Signs out (on the account page).
#[component]
fn SignOutForm() -> impl IntoView {
    let sign_out = ServerAction::<SignOut>::new();
    AccountChanges::get().watch(sign_out);
    view! {
        <ActionForm action=sign_out attr:class="inline-form">
            <button type="submit" class="button secondary">"Sign out"</button>
        </ActionForm>
    }
}

/// Sign in and sign up side by side; both come back to `next`.
#[component]
pub fn SignInForms(next: String) -> impl IntoView {
    view! {
        <div class="account-forms">
            <SignInCard next=next.clone() />
            <SignUpCard next />
        </div>
    }
}

/// The sign-in form alone (staff pages offer no sign-up); comes back to `next`.
#[component]
pub fn SignInCard(next: String) -> impl IntoView {
    let sign_in = ServerAction::<SignIn>::new();
    AccountChanges::get().watch(sign_in);
    let error = move |field: &'static str| {
        sign_in.value().get().and_then(|r| r.err()).and_then(|e| {
            e.for_field(field)
                .or_else(|| (field == "form").then(|| e.to_string()))
        })
    };
    let other = move || {
        sign_in
            .value()
            .get()
            .and_then(|r| r.err())
            .filter(|e| !matches!(e, AppError::Field { .. }))
            .map(|e| e.to_string())
    };
    view! {
        <section class="card" aria-labelledby="sign-in-heading">
            <h2 id="sign-in-heading">"Sign in"</h2>
            <ActionForm action=sign_in attr:class="stacked-form">
                <input type="hidden" name="next" value=next />
                <TextField id="sign-in-email" name="email" label="Email" kind="email" autocomplete="email"
                    error=Signal::derive(move || error("email")) />
                <TextField id="sign-in-password" name="password" label="Password" kind="password"
                    autocomplete="current-password" error=Signal::derive(move || error("password")) />
                <p class="form-error" role="alert">{other}</p>
                <button type="submit" class="button" disabled=move || sign_in.pending().get()>"Sign in"</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn SignUpCard(next: String) -> impl IntoView {
    let sign_up = ServerAction::<SignUp>::new();
    AccountChanges::get().watch(sign_up);
    let error = move |field: &'static str| {
        sign_up
            .value()
            .get()
            .and_then(|r| r.err())
            .and_then(|e| e.for_field(field))
    };
    let other = move || {
        sign_up
            .value()
            .get()
            .and_then(|r| r.err())
            .filter(|e| !matches!(e, AppError::Field { .. }))
            .map(|e| e.to_string())
    };
    view! {
        <section class="card" aria-labelledby="sign-up-heading">
            <h2 id="sign-up-heading">"New here? Create an account"</h2>
            <ActionForm action=sign_up attr:class="stacked-form">
                <input type="hidden" name="next" value=next />
                <TextField id="sign-up-name" name="name" label="Your name" kind="text" autocomplete="name"
                    maxlength="100" error=Signal::derive(move || error("name")) />
                <TextField id="sign-up-email" name="email" label="Email" kind="email" autocomplete="email"
                    error=Signal::derive(move || error("email")) />
                <TextField id="sign-up-password" name="password" label="Password (at least 10 characters)"
                    kind="password" autocomplete="new-password" minlength="10"
                    error=Signal::derive(move || error("password")) />
                <p class="form-error" role="alert">{other}</p>
                <button type="submit" class="button" disabled=move || sign_up.pending().get()>"Create account"</button>
            </ActionForm>
        </section>
    }
}

/// `/account`: the sign-in page, or links for someone signed in.
#[component]
pub fn AccountPage() -> impl IntoView {
    let user = use_current_user();
    let next = leptos_router::hooks::use_query_map();
    view! {
        <Title text="Your account" />
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match user.await {
                    Ok(Some(user)) => view! {
                        <section class="notice">
                            <h1>"Your account"</h1>
                            <p>{format!("Signed in as {} ({}).", user.name, user.email)}</p>
                            <p><A href="/account/rentals">"See my rentals"</A></p>
                            <SignOutForm />
                        </section>
                    }.into_any(),
                    Ok(None) => {
                        let next = safe_next(next.read_untracked().get("next").as_deref());
                        view! {
                            <h1>"Sign in or create an account"</h1>
                            <SignInForms next />
                        }.into_any()
                    }
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// `/account/rentals`: upcoming, active and past rentals; a sign-in form when signed out.
#[component]
pub fn MyRentalsPage() -> impl IntoView {
    let changes = AccountChanges::get();
    let rentals = Resource::new(move || changes.version(), |_| my_rentals());
    view! {
        <Title text="My rentals" />
        <Suspense fallback=|| view! { <p class="loading">"Loading your rentals…"</p> }>
            {move || Suspend::new(async move {
                match rentals.await {
                    Ok(rentals) => view! { <RentalsBody rentals /> }.into_any(),
                    Err(AppError::SignInRequired) => view! {
                        <h1>"My rentals"</h1>
                        <p>"Please sign in to see your rentals."</p>
                        <SignInForms next="/account/rentals".to_owned() />
                    }.into_any(),
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn RentalsBody(rentals: Rentals) -> impl IntoView {
    let Rentals {
        upcoming,
        active,
        past,
        currency,
    } = rentals;
    let nothing = upcoming.is_empty() && active.is_empty() && past.is_empty();
    let section = move |title: &'static str,
                        id: &'static str,
                        orders: Vec<OrderSummary>,
                        empty: &'static str| {
        let currency = currency.clone();
        let items = orders
            .into_iter()
            .map(|o| {
                let href = format!("/orders/{}", o.number);
                let total = format_money(o.total_due, &currency);
                view! {
                    <li class="order-row">
                        <a href=href>
                            <span class="order-number">{o.number.clone()}</span>
                            <span class="order-items">{o.items}</span>
                            <span class="order-dates">{format!("{} → {}", o.starts, o.ends)}</span>
                            <span class="order-state">{o.state_label}{o.is_late.then_some(" · late")}</span>
                            <span class="order-total">{total}</span>
                        </a>
                    </li>
                }
            })
            .collect_view();
        view! {
            <section class="rentals-section" aria-labelledby=id>
                <h2 id=id>{title}</h2>
                <ul class="order-list">{items}</ul>
                <p class="hint">{empty}</p>
            </section>
        }
    };
    let upcoming_empty = if upcoming.is_empty() {
        "Nothing booked yet."
    } else {
        ""
    };
    let active_empty = if active.is_empty() {
        "Nothing out with you right now."
    } else {
        ""
    };
    let past_empty = if past.is_empty() {
        "No past rentals."
    } else {
        ""
    };
    view! {
        <h1>"My rentals"</h1>
        {nothing.then(|| view! { <p class="empty">"You have no rentals yet. "<A href="/">"Find something to rent"</A></p> })}
        {section("Upcoming", "upcoming-heading", upcoming, upcoming_empty)}
        {section("Out with you", "active-heading", active, active_empty)}
        {section("Past and cancelled", "past-heading", past, past_empty)}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next(Some("/cart")), "/cart");
        assert_eq!(safe_next(Some("/orders/R10001")), "/orders/R10001");
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil",
            "",
            "cart",
            "/a\nb",
        ] {
            assert_eq!(safe_next(Some(bad)), DEFAULT_AFTER_SIGN_IN, "{bad:?}");
        }
        assert_eq!(safe_next(None), DEFAULT_AFTER_SIGN_IN);
    }
}
