//! The route handlers, one module per resource.

pub mod accounts;
pub mod audit;
pub mod auth;
pub mod meta;
pub mod portal;
pub mod register;
pub mod requests;
pub mod subjects;

use axum::http::{HeaderValue, header};
use axum::response::Response;

/// Responses with personal data or secrets must not be cached by browsers or proxies.
pub(crate) fn no_store(mut response: Response) -> Response {
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
