//! The middleware that times every request and counts it under its method and matched route
//! template (`/rentals/{slug}`, never the raw path), with an in-flight gauge that cannot leak.

use super::metrics::{Metrics, FALLBACK_ROUTE};
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::time::Instant;

/// Records one request. Mount it as the outermost `Router::layer` **after** every route, nest,
/// merge and fallback has been added:
///
/// ```ignore
/// router.layer(axum::middleware::from_fn_with_state(metrics.clone(), observability::track))
/// ```
///
/// `Router::layer` wraps each route (so axum has already put [`MatchedPath`] in the request's
/// extensions) and the fallback (no `MatchedPath`: labelled `"fallback"`). With
/// `Router::route_layer` unmatched requests are not counted at all. Wrapping the router from
/// outside (a tower layer around the whole service, as `ServiceBuilder` on `into_make_service`)
/// runs before routing, so every request would be labelled `"fallback"`; routes added after the
/// layer are not tracked. Latency runs until the response head is ready (not the streamed body);
/// a request whose future is dropped (client gone) leaves the in-flight count but is not timed.
pub async fn track(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().cloned();
    let method = request.method().clone();
    let _in_flight = metrics.enter();
    let started = Instant::now();
    let response = next.run(request).await;
    let route = route.as_ref().map_or(FALLBACK_ROUTE, MatchedPath::as_str);
    metrics.record(&method, route, response.status(), started.elapsed());
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::{
        body::Body, http::StatusCode, middleware::from_fn_with_state, routing::get, Router,
    };
    use std::time::Duration;
    use tower::ServiceExt;

    fn shop(metrics: &Metrics) -> Router {
        let catalog = Router::new().route("/items/{id}", get(|| async { "item" }));
        Router::new()
            .route("/rentals/{slug}", get(|| async { "a rental" }))
            .nest("/catalog", catalog)
            .route("/stuck", get(std::future::pending::<&'static str>))
            .fallback(|| async { StatusCode::NOT_FOUND })
            .layer(from_fn_with_state(metrics.clone(), track))
    }

    async fn get_path(router: Router, path: &str) -> StatusCode {
        let request = Request::get(path)
            .body(Body::empty())
            .expect("valid request");
        let response = router.oneshot(request).await.expect("infallible router");
        response.status()
    }

    fn labels(metrics: &Metrics) -> Vec<(String, u64)> {
        let routes = metrics.routes();
        routes
            .into_iter()
            .map(|r| (r.route, r.latency.count()))
            .collect()
    }

    #[tokio::test]
    async fn requests_are_labelled_with_the_route_template_not_the_path() {
        let metrics = Metrics::new();
        for slug in ["drill", "ladder", "tent"] {
            assert_eq!(
                get_path(shop(&metrics), &format!("/rentals/{slug}")).await,
                200
            );
        }
        assert_eq!(get_path(shop(&metrics), "/catalog/items/7").await, 200);
        assert_eq!(get_path(shop(&metrics), "/no/such/page").await, 404);
        assert_eq!(
            labels(&metrics),
            [
                ("/catalog/items/{id}".to_owned(), 1),
                ("/rentals/{slug}".to_owned(), 3),
                (FALLBACK_ROUTE.to_owned(), 1),
            ]
        );
        assert_eq!(metrics.routes()[2].statuses.client_error, 1);
        assert_eq!(metrics.in_flight(), 0);
    }

    #[tokio::test]
    async fn a_dropped_request_leaves_the_in_flight_count() {
        let metrics = Metrics::new();
        let stuck = tokio::spawn(get_path(shop(&metrics), "/stuck"));
        for _ in 0..200 {
            if metrics.in_flight() == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(metrics.in_flight(), 1);
        stuck.abort();
        assert!(stuck.await.is_err(), "the handler never answers");
        assert_eq!(metrics.in_flight(), 0);
        assert_eq!(
            metrics.total_requests(),
            0,
            "an abandoned request is not timed"
        );
    }
}
