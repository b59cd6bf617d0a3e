//! The browser entry point: hydrates the server-rendered page into the live app.

// Hydrating the staff pages' nested views instantiates deep types here (see app/src/lib.rs).
#![recursion_limit = "256"]

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
