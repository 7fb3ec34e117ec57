//! Fuzzes the parsers of credentials in requests: the `Cookie` header (the console session
//! cookie), the `Authorization: Bearer` header, and the login and enrolment bodies. Nothing may
//! panic; a session cookie found is a non-empty value of at most 256 bytes that occurs in the
//! header; a bearer token found is a substring of the header of at most 256 bytes.
#![no_main]

use axum::http::{HeaderMap, HeaderValue, header};
use kluis_server::extract::{bearer, session_cookie};
use kluis_server::routes::auth::{EnrolBody, LoginBody};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    match selector % 3 {
        0 => {
            let Ok(value) = HeaderValue::from_bytes(rest) else { return };
            let mut headers = HeaderMap::new();
            headers.insert(header::COOKIE, value.clone());
            if let Some(found) = session_cookie(&headers) {
                assert!(!found.is_empty() && found.len() <= 256);
                assert!(value.to_str().is_ok_and(|v| v.contains(found)));
            }
        }
        1 => {
            let Ok(value) = HeaderValue::from_bytes(rest) else { return };
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, value.clone());
            if let Some(Ok(token)) = bearer(&headers) {
                assert!(!token.is_empty() && token.len() <= 256);
                assert!(value.to_str().is_ok_and(|v| v.contains(token)));
            }
        }
        _ => {
            let _ = serde_json::from_slice::<LoginBody>(rest);
            let _ = serde_json::from_slice::<EnrolBody>(rest);
        }
    }
});
