//! The rentwise web app: routes, pages and server functions, compiled twice — for the server
//! (`ssr`, with the database layer) and for the browser (`hydrate`).

pub mod account;
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
    components::{Route, Router, Routes, A},
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
        <Title formatter=|text: String| if text.is_empty() { "rentwise".to_owned() } else { format!("{text} · rentwise") } />
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
            </Routes>
        </main>
    }
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
