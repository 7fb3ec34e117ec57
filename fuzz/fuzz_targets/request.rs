//! Outside input of the HTTP API that kluis parses itself: JSON bodies of create and change
//! requests (then validated by the field catalogue), the `Kluis-Purpose` header, path ids and
//! lookup queries. Must never panic; accepted values must be normalised (parse is idempotent).
#![no_main]

use kluis_domain::fields::{Catalogue, IndexName, lookup_term};
use kluis_domain::{Purpose, SubjectId};
use kluis_server::routes::subjects::{ChangeSubject, CreateSubject};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let catalogue = Catalogue::dutch_it_provider();
    if let Ok(body) = serde_json::from_slice::<CreateSubject>(data) {
        let pairs: Vec<(&str, &str)> = body.values.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        if let Ok(parsed) = catalogue.parse_values(pairs) {
            for (def, value) in parsed {
                let again = catalogue.parse_value(def.name, value.as_str()).expect("a normalised value parses again");
                assert_eq!(again.as_str(), value.as_str());
            }
        }
    }
    if let Ok(body) = serde_json::from_slice::<ChangeSubject>(data) {
        let sets = body.values.iter().filter_map(|(k, v)| v.as_deref().map(|v| (k.as_str(), v)));
        let _ = catalogue.parse_values(sets);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Purpose::parse(text);
        let _ = text.parse::<SubjectId>();
        let (a, b) = text.split_once('&').unwrap_or((text, ""));
        for index in IndexName::ALL {
            let _ = lookup_term(&catalogue, index, &[a]);
            let _ = lookup_term(&catalogue, index, &[a, b]);
        }
    }
});
