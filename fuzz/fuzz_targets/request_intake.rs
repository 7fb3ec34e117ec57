//! Fuzzes the parsers of data-subject request input from outside: the portal's form posts
//! (`application/x-www-form-urlencoded`), the API bodies (intake, refusal, extension, identity
//! check), and the names and ids in paths (request kind, state, request id). Nothing may panic; a
//! form field found is one of the pairs parsed; a kind that parses prints back as the input.
#![no_main]

use std::str::FromStr;

use kluis_domain::RequestId;
use kluis_domain::request::{RequestKind, RequestState};
use kluis_server::routes::portal::{field, form_fields};
use kluis_server::routes::requests::{CreateRequest, Extend, IdentityCheck, Refuse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    match selector % 3 {
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
        _ => {
            let Ok(text) = std::str::from_utf8(rest) else { return };
            if let Ok(kind) = RequestKind::from_str(text) {
                assert_eq!(kind.as_str(), text);
            }
            if let Ok(state) = RequestState::from_str(text) {
                assert_eq!(state.as_str(), text);
            }
            let _ = RequestId::from_str(text);
        }
    }
});
