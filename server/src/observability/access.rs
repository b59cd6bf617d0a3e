//! Who may read `/performance/stats` and `/performance/metrics`: a request with the configured
//! bearer token (compared in constant time) or one the staff check accepts; others get a 404.

use axum::http::{header, request::Parts, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use std::{fmt, sync::Arc};
use subtle::ConstantTimeEq;

/// Says whether a request comes from a signed-in member of staff.
pub type StaffCheck = Arc<dyn Fn(&Parts) -> bool + Send + Sync>;

/// The rule for the private endpoints.
#[derive(Clone)]
pub struct Access {
    token: Option<Arc<str>>,
    is_staff: StaffCheck,
}

impl fmt::Debug for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let token = self.token.as_ref().map(|_| "(hidden)");
        f.debug_struct("Access").field("token", &token).finish()
    }
}

impl Default for Access {
    /// Nobody: no token, and no request is staff.
    fn default() -> Self {
        Access {
            token: None,
            is_staff: Arc::new(|_| false),
        }
    }
}

impl Access {
    /// A blank token counts as none, so `Authorization: Bearer ` never matches it.
    pub fn with_token(self, token: Option<String>) -> Self {
        let token = token
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .map(Arc::from);
        Access { token, ..self }
    }

    pub fn with_staff_check(self, is_staff: StaffCheck) -> Self {
        Access { is_staff, ..self }
    }

    pub fn allows(&self, parts: &Parts) -> bool {
        self.token_matches(parts) || (self.is_staff)(parts)
    }

    fn token_matches(&self, parts: &Parts) -> bool {
        let (Some(expected), Some(given)) = (&self.token, bearer(parts)) else {
            return false;
        };
        expected.as_bytes().ct_eq(given.as_bytes()).into()
    }

    /// `None` for an allowed GET or HEAD; otherwise the response to send instead: 404 for
    /// anyone not allowed (whatever the method, so nothing is learnt), 405 for other methods.
    pub(crate) fn refusal(&self, parts: &Parts) -> Option<Response> {
        if !self.allows(parts) {
            return Some(private(StatusCode::NOT_FOUND.into_response()));
        }
        if parts.method != Method::GET && parts.method != Method::HEAD {
            let mut response = StatusCode::METHOD_NOT_ALLOWED.into_response();
            let allow = HeaderValue::from_static("GET,HEAD");
            response.headers_mut().insert(header::ALLOW, allow);
            return Some(private(response));
        }
        None
    }
}

/// Marks a response as not to be stored by any cache.
pub(crate) fn private(mut response: Response) -> Response {
    let no_store = HeaderValue::from_static("no-store");
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, no_store);
    response
}

/// The token of an `Authorization: Bearer <token>` header (the scheme in any case).
fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|token| !token.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(method: Method, authorization: Option<&str>) -> Parts {
        let mut request = Request::builder().method(method).uri("/performance/stats");
        if let Some(value) = authorization {
            request = request.header(header::AUTHORIZATION, value);
        }
        request.body(()).expect("a valid request").into_parts().0
    }

    #[test]
    fn only_the_exact_bearer_token_is_let_in() {
        let access = Access::default().with_token(Some("s3cret".into()));
        assert!(access.allows(&parts(Method::GET, Some("Bearer s3cret"))));
        assert!(access.allows(&parts(Method::GET, Some("bearer  s3cret "))));
        assert!(!access.allows(&parts(Method::GET, Some("Bearer s3cre"))));
        assert!(!access.allows(&parts(Method::GET, Some("Bearer s3cret2"))));
        assert!(!access.allows(&parts(Method::GET, Some("Basic s3cret"))));
        assert!(!access.allows(&parts(Method::GET, None)));
    }

    #[test]
    fn no_token_and_a_blank_token_let_nobody_in() {
        for token in [None, Some(String::new()), Some("  ".into())] {
            let access = Access::default().with_token(token);
            assert!(!access.allows(&parts(Method::GET, Some("Bearer "))));
            assert!(!access.allows(&parts(Method::GET, Some("Bearer"))));
        }
    }

    #[test]
    fn staff_are_let_in_and_others_learn_nothing_from_the_method() {
        let staff_header = |parts: &Parts| parts.headers.contains_key("x-staff");
        let access = Access::default().with_staff_check(Arc::new(staff_header));
        let mut staff = parts(Method::GET, None);
        staff
            .headers
            .insert("x-staff", HeaderValue::from_static("1"));
        assert!(access.refusal(&staff).is_none());
        let stranger = parts(Method::POST, None);
        let refused = access.refusal(&stranger).expect("not staff");
        assert_eq!(refused.status(), StatusCode::NOT_FOUND);
        staff.method = Method::POST;
        let refused = access.refusal(&staff).expect("POST is not served");
        assert_eq!(refused.status(), StatusCode::METHOD_NOT_ALLOWED);
    }
}
