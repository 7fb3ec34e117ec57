//! Realistic audit events, built the way the vault builds them (`AuditContext::event`): a handful of
//! API tokens with purposes, client addresses and request ids, acting on random subjects with the
//! field names and categories of the built-in catalogue. Deterministic for a given seed.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use kluis_domain::audit::{Action, Actor, AuditContext, AuditEvent, Outcome};
use kluis_domain::fields::Catalogue;
use kluis_domain::{Purpose, SubjectId, Timestamp, TokenId};

use crate::stats::Rng;

/// The field sets the operations touch, as a Dutch IT provider's integrations would.
const READ_SETS: &[&[&str]] = &[
    &["company_name", "email", "first_names", "last_name", "phone"],
    &["city", "country", "house_number", "postcode", "street"],
    &["customer_number", "email", "iban", "last_name"],
    &["email"],
    &["phone"],
];
const CREATE_SET: &[&str] =
    &["city", "country", "customer_number", "email", "first_names", "house_number", "iban", "last_name", "postcode"];
const UPDATE_SETS: &[&[&str]] = &[&["email"], &["house_number", "postcode", "street"], &["iban"], &["phone"]];
const PURPOSES: &[&str] = &["billing", "service_delivery", "customer_support", "contract_administration"];

/// Generates events.
#[derive(Debug)]
pub struct EventGen {
    rng: Rng,
    contexts: Vec<AuditContext>,
    categories: HashMap<&'static str, String>,
}

impl EventGen {
    pub fn new(seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let catalogue = Catalogue::dutch_it_provider();
        let categories = catalogue.fields().map(|def| (def.name, def.category.as_str().to_owned())).collect();
        let contexts = (0..16)
            .map(|i| {
                let client = if i % 4 == 3 {
                    let b = rng.bytes16();
                    IpAddr::V6(Ipv6Addr::from(b))
                } else {
                    let b = rng.next_u64().to_le_bytes();
                    IpAddr::V4(Ipv4Addr::new(10, b[0], b[1], b[2]))
                };
                AuditContext {
                    actor: Actor::Token(TokenId::from_uuid(
                        uuid::Builder::from_random_bytes(rng.bytes16()).into_uuid(),
                    )),
                    purpose: Purpose::parse(rng.pick::<&str>(PURPOSES)).ok(),
                    client: Some(client),
                    request_id: None,
                }
            })
            .collect();
        EventGen { rng, contexts, categories }
    }

    /// One event at `time`.
    pub fn event(&mut self, time: Timestamp) -> AuditEvent {
        let mut ctx = self.rng.pick(&self.contexts).clone();
        ctx.request_id = Some(uuid::Builder::from_random_bytes(self.rng.bytes16()).into_uuid().to_string());
        let subject = Some(SubjectId::from_uuid(uuid::Builder::from_random_bytes(self.rng.bytes16()).into_uuid()));
        let roll = self.rng.percent();
        let (action, fields, outcome): (Action, &[&str], Outcome) = match roll {
            0..70 => (Action::SubjectRead, *self.rng.pick(READ_SETS), Outcome::Success),
            70..80 => (Action::SubjectFind, &["email"], Outcome::Success),
            80..88 => (Action::SubjectCreate, CREATE_SET, Outcome::Success),
            88..96 => (Action::SubjectUpdate, *self.rng.pick(UPDATE_SETS), Outcome::Success),
            96..98 => (Action::SubjectRead, &[], Outcome::NotFound),
            _ => (Action::SubjectErase, &[], Outcome::Success),
        };
        let categories: Vec<&str> = fields.iter().filter_map(|f| self.categories.get(f)).map(String::as_str).collect();
        ctx.event(time, action, subject, fields, &categories, outcome)
    }

    /// `n` events at `time`.
    pub fn batch(&mut self, n: usize, time: Timestamp) -> Vec<AuditEvent> {
        (0..n).map(|_| self.event(time)).collect()
    }
}
