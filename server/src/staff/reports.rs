//! `GET /admin/reports/orders.csv?from=…&to=…`: the period's orders as a CSV download for
//! staff (the guard lets only staff through; the handler checks again).

use axum::{
    extract::{Query, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use chrono_tz::Tz;
use serde::Deserialize;
use sqlx::PgPool;
use tower_sessions::Session;

#[derive(Clone)]
struct ReportState {
    pool: PgPool,
    tz: Tz,
    currency: String,
}

#[derive(Deserialize)]
struct Period {
    from: Option<String>,
    to: Option<String>,
}

/// The report download route, with its own state; merge inside the sessions layer.
pub fn report_routes<S>(pool: PgPool, tz: Tz, currency: String) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route("/admin/reports/orders.csv", get(orders_csv))
        .with_state(ReportState { pool, tz, currency })
}

async fn orders_csv(
    State(state): State<ReportState>,
    session: Session,
    Query(period): Query<Period>,
) -> Response {
    match app::ssr::accounts::session_user(&session, &state.pool).await {
        Ok(Some(user)) if user.is_staff => {}
        Ok(Some(_)) => return (StatusCode::NOT_FOUND, "Not found.").into_response(),
        Ok(None) => {
            return (
                StatusCode::UNAUTHORIZED,
                "Please sign in with a staff account.",
            )
                .into_response()
        }
        Err(err) => {
            tracing::error!(error = %err, "reading the session for a report failed");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "Sorry, please try again in a moment.",
            )
                .into_response();
        }
    }
    let range = app::admin::query::parse_range(&period.from, &period.to);
    let (from, to) = match range {
        Ok((Some(from), Some(to))) => (from, to),
        Ok(_) => {
            return (
                StatusCode::BAD_REQUEST,
                "Please give the period as from=YYYY-MM-DD&to=YYYY-MM-DD.",
            )
                .into_response()
        }
        Err(error) => return (StatusCode::BAD_REQUEST, error.message).into_response(),
    };
    match app::ssr::admin::reports::orders_csv(&state.pool, from, to, state.tz, &state.currency)
        .await
    {
        Ok(csv) => {
            let name = format!("attachment; filename=\"rentwise-orders-{from}-to-{to}.csv\"");
            let mut response = csv.into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            );
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            if let Ok(value) = HeaderValue::from_str(&name) {
                headers.insert(header::CONTENT_DISPOSITION, value);
            }
            response
        }
        Err(err) => {
            tracing::error!(error = %err, "building the orders report failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Sorry, the report could not be made. Please try again.",
            )
                .into_response()
        }
    }
}
