//! Fuzzes the parsers of data-subject request input from outside: the portal's form posts
//! (`application/x-www-form-urlencoded`), the API bodies (intake, refusal, extension, identity
//! check), the names and ids in paths (request kind, state, request id), and the receiving
//! controller's endpoint of a portability transmission (Art. 20(2)). Nothing may panic; a form field
//! found is one of the pairs parsed; a kind that parses prints back as the input; an endpoint that
//! parses is https with a host, no userinfo or fragment, and parses again to itself.
#![no_main]

use std::str::FromStr;

use kluis_domain::RequestId;
use kluis_domain::request::{RequestKind, RequestState};
use kluis_server::routes::portal::{field, form_fields};
use kluis_server::routes::requests::{CreateRequest, Extend, IdentityCheck, Refuse};
use kluis_vault::requests::parse_target;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    match selector % 4 {
        0 => {
            if let Some(fields) = form_fields(rest) {
                for name in ["kind", "email", "purpose", "details", "lang", "code"] {
                    if let Some(value) = field(&fields, name) {
                        assert!(fields.iter().any(|(k, v)| k == name && v == value));
                    }
                }
            }
        }
        1 => {
            let _ = serde_json::from_slice::<CreateRequest>(rest);
            let _ = serde_json::from_slice::<Refuse>(rest);
            let _ = serde_json::from_slice::<Extend>(rest);
            let _ = serde_json::from_slice::<IdentityCheck>(rest);
        }
        2 => {
            let Ok(text) = std::str::from_utf8(rest) else { return };
            if let Ok(kind) = RequestKind::from_str(text) {
                assert_eq!(kind.as_str(), text);
            }
            if let Ok(state) = RequestState::from_str(text) {
                assert_eq!(state.as_str(), text);
            }
            let _ = RequestId::from_str(text);
        }
        _ => {
            let Ok(text) = std::str::from_utf8(rest) else { return };
            if let Ok(url) = parse_target(text) {
                assert_eq!(url.scheme(), "https");
                assert!(url.host_str().is_some_and(|h| !h.is_empty()));
                assert!(url.username().is_empty() && url.password().is_none());
                assert!(url.fragment().is_none());
                assert!(url.as_str().len() <= 2_048);
                // Stored as text and parsed again before sending: the same target comes back.
                assert_eq!(parse_target(url.as_str()).ok(), Some(url));
            }
        }
    }
});
