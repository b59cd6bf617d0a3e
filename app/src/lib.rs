//! The rentwise web app: routes, pages and server functions, compiled twice — for the server
//! (`ssr`, with the database layer) and for the browser (`hydrate`).

// The staff pages' nested views make deep types; the hydrate build's layout queries need more
// than the default depth of 128.
#![recursion_limit = "256"]

pub mod account;
pub mod admin;
pub mod catalog;
pub mod catalog_query;
pub mod checkout;
pub mod domain;
pub mod error;
pub mod images;
pub mod model;
pub mod money;
pub mod product;
#[cfg(feature = "ssr")]
pub mod ssr;
pub mod ui;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Link, Meta, MetaTags, Title};
use leptos_router::{
    components::{ParentRoute, Route, Router, Routes, A},
    path, SsrMode,
};

/// Where the built stylesheet, JS glue and wasm are served. Release builds hash the file
/// names (so they can be cached forever); the server reads the hashes once at startup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteAssets {
    pub css: String,
    pub js: String,
    pub wasm: String,
}

/// The HTML document around the app; rendered on the server only.
pub fn shell(options: LeptosOptions, assets: SiteAssets) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="stylesheet" href=assets.css.clone() />
                <AutoReload options=options.clone() />
                <Hydration assets />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// Loads the wasm and hydrates, like Leptos' `HydrationScripts`, but with the hashed names
/// resolved once at startup instead of reading the hash file on every page render.
#[component]
fn Hydration(assets: SiteAssets) -> impl IntoView {
    let nonce = leptos::nonce::use_nonce();
    let script = format!(
        "import('{js}').then(m=>m.default({{module_or_path:'{wasm}'}}).then(()=>m.hydrate()))",
        js = assets.js,
        wasm = assets.wasm
    );
    view! {
        <link rel="modulepreload" href=assets.js />
        <link rel="preload" href=assets.wasm r#as="fetch" r#type="application/wasm" crossorigin="" />
        <script type="module" nonce=nonce>{script}</script>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    // Effects run only in the browser, after hydration: the marker tells tests (and curious
    // people) that the page is interactive.
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });

    view! {
        <Link rel="icon" type_="image/svg+xml" href="/favicon.svg" />
        <Meta name="description" content="Rent outdoor gear, cameras, tools and party equipment by the hour, day or week." />
        <Title formatter=title_text />
        <Router>
            <Layout />
            <footer class="site-footer">
                <p>"rentwise · Rental shop · Open Mon–Sat 08:00–18:00"</p>
            </footer>
        </Router>
    }
}

/// Everything inside the router, with the account-change counter the header and the pages share.
#[component]
fn Layout() -> impl IntoView {
    account::AccountChanges::provide();
    view! {
        <SiteHeader />
        <main id="main">
            <Routes fallback=|| view! { <NotFound /> }>
                <Route path=path!("") view=catalog::CatalogPage ssr=SsrMode::Async />
                <Route path=path!("/rentals/:slug") view=product::ProductPage ssr=SsrMode::Async />
                <Route path=path!("/cart") view=checkout::CartPage ssr=SsrMode::Async />
                <Route path=path!("/orders/:number") view=checkout::OrderPage ssr=SsrMode::Async />
                <Route path=path!("/account") view=account::AccountPage ssr=SsrMode::Async />
                <Route path=path!("/account/rentals") view=account::MyRentalsPage ssr=SsrMode::Async />
                <AdminRoutes />
            </Routes>
        </main>
    }
}

/// The staff pages. The server answers every `/admin` request of a customer with the 404 of a
/// page that does not exist before any of these render (see server/src/staff/mod.rs).
#[component(transparent)]
fn AdminRoutes() -> impl leptos_router::MatchNestedRoutes + Clone {
    use admin::*;
    view! {
        <ParentRoute path=path!("/admin") view=leptos_router::components::Outlet ssr=SsrMode::Async>
            <Route path=path!("") view=dashboard::DashboardPage ssr=SsrMode::Async />
            <Route path=path!("orders") view=orders::OrdersPage ssr=SsrMode::Async />
            <Route path=path!("orders/:number") view=order::AdminOrderPage ssr=SsrMode::Async />
            <Route path=path!("products") view=products::ProductsPage ssr=SsrMode::Async />
            <Route path=path!("products/new") view=products::NewProductPage ssr=SsrMode::Async />
            <Route path=path!("products/:slug") view=product_edit::ProductEditPage ssr=SsrMode::Async />
            <Route path=path!("schedule") view=schedule::SchedulePage ssr=SsrMode::Async />
            <Route path=path!("customers") view=customers::CustomersPage ssr=SsrMode::Async />
            <Route path=path!("customers/:id") view=customers::CustomerPage ssr=SsrMode::Async />
            <Route path=path!("jobs") view=jobs::JobsPage ssr=SsrMode::Async />
            <Route path=path!("jobs/emails/:id") view=jobs::EmailPage ssr=SsrMode::Async />
            <Route path=path!("reports") view=reports::ReportsPage ssr=SsrMode::Async />
            <Route path=path!("*rest") view=AdminNotFound ssr=SsrMode::Async />
        </ParentRoute>
    }
    .into_inner()
}

#[component]
fn SiteHeader() -> impl IntoView {
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="site-header">
            <A href="/" attr:class="brand">
                <span class="brand-mark" aria-hidden="true">"◆"</span>
                " rentwise"
            </A>
            <nav aria-label="Main">
                <A href="/">"Catalog"</A>
                <A href="/cart">"Cart"</A>
                <account::AccountNav />
            </nav>
        </header>
    }
}

/// The page for a path we do not know; the server answers it with 404.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Page not found" />
        <section class="notice">
            <h1>"Page not found"</h1>
            <p>"We couldn't find that page. It may have moved, or the link may be mistyped."</p>
            <p><A href="/">"Browse the catalog"</A></p>
        </section>
    }
}

/// The document title for a page's `text` (escaped on the server: see [`ui::raw_text`]).
fn title_text(text: String) -> String {
    ui::raw_text(if text.is_empty() {
        "rentwise".to_owned()
    } else {
        format!("{text} · rentwise")
    })
}
