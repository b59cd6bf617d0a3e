//! The staff side of the server: a guard that keeps everyone but staff out of `/admin` and
//! `/api/admin` before any handler runs, the CSV report download, and the `create-staff`
//! command. Each staff page and server function checks the role again (defence in depth).

mod cli;
mod reports;

pub use cli::create_staff;
pub use reports::report_routes;

use axum::{
    body::Body,
    extract::{Request, State},
    http::{header, HeaderValue, Method, StatusCode, Uri},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
    Router,
};
use sqlx::PgPool;
use tower::ServiceExt;
use tower_sessions::Session;

/// A path no route or file answers: a customer's staff request is answered as if it were it.
const NOWHERE: &str = "/__rentwise-nowhere";

/// Whether `path` belongs to the staff side.
pub fn is_staff_path(path: &str) -> bool {
    ["/admin", "/api/admin"].iter().any(|root| {
        path == *root
            || path
                .strip_prefix(root)
                .is_some_and(|rest| rest.starts_with('/'))
    })
}

/// What the guard needs: the database for the session's user, and the router whose fallback
/// renders the 404 page of a path that does not exist.
#[derive(Clone)]
pub struct StaffGuard {
    pub pool: PgPool,
    pub not_found: Router,
}

/// A page a browser opens (not a server function, a download or a form post): signed out, it
/// renders the staff sign-in form itself, with 401.
fn is_page_view(request: &Request) -> bool {
    let path = request.uri().path();
    matches!(*request.method(), Method::GET | Method::HEAD)
        && !path.starts_with("/api/")
        && !path
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains('.'))
}

pub async fn staff_only(State(guard): State<StaffGuard>, request: Request, next: Next) -> Response {
    if !is_staff_path(request.uri().path()) {
        return next.run(request).await;
    }
    let user = match request.extensions().get::<Session>().cloned() {
        Some(session) => app::ssr::accounts::session_user(&session, &guard.pool).await,
        None => Ok(None),
    };
    match user {
        Ok(Some(user)) if user.is_staff => next.run(request).await,
        Ok(Some(_)) => not_found(&guard, request).await,
        Ok(None) if is_page_view(&request) => next.run(request).await,
        Ok(None) => sign_in_required(&request),
        Err(err) => {
            let id = request
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-")
                .to_owned();
            tracing::error!(request_id = %id, error = %err, "reading the session for a staff page failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, HeaderValue::from_static("2"))],
                format!("Sorry, something went wrong on our side. Please try again in a moment (reference {id})."),
            )
                .into_response()
        }
    }
}

/// The very answer a path that does not exist gets, so a customer learns nothing.
async fn not_found(guard: &StaffGuard, mut request: Request) -> Response {
    *request.method_mut() = Method::GET;
    *request.uri_mut() = Uri::from_static(NOWHERE);
    *request.body_mut() = Body::empty();
    match guard.not_found.clone().oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// Signed out: a plain form post goes back to its page (which asks to sign in); anything else
/// gets 401 and a sentence.
fn sign_in_required(request: &Request) -> Response {
    let plain_form = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if plain_form && request.method() == Method::POST {
        let back = request
            .headers()
            .get(header::REFERER)
            .and_then(|v| v.to_str().ok())
            .and_then(|r| r.parse::<Uri>().ok())
            .map(|uri| uri.path().to_owned())
            .filter(|path| is_staff_path(path) && !path.starts_with("/api/"))
            .unwrap_or_else(|| "/admin".to_owned());
        return Redirect::to(&back).into_response();
    }
    (
        StatusCode::UNAUTHORIZED,
        "Please sign in with a staff account to continue.",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staff_paths_are_recognised_exactly() {
        for path in [
            "/admin",
            "/admin/",
            "/admin/orders",
            "/api/admin",
            "/api/admin/orders",
        ] {
            assert!(is_staff_path(path), "{path}");
        }
        for path in [
            "/",
            "/administrator",
            "/api/administer",
            "/rentals/admin",
            "/api/cart",
        ] {
            assert!(!is_staff_path(path), "{path}");
        }
    }
}
