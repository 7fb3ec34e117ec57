//! Shared test inputs: the hosting-provider example register and a small subject.

#![allow(dead_code)]

use std::path::PathBuf;

use kluis_export::{EventInput, RegisterInput, RequestRef, SubjectInput, ValueInput};
use kluis_register::Register;

pub const NOW_MS: i64 = 1_714_566_896_789; // 2024-05-01T12:34:56.789Z
pub const SHA: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

pub fn repo_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(relative)
}

pub fn hosting() -> Register {
    let path = repo_path("examples/hosting-provider.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    kluis_register::check(&text).unwrap_or_else(|d| panic!("{d:?}"))
}

pub fn value(field: &str, category: &str, nl: &str, en: &str, value: &str) -> ValueInput {
    ValueInput {
        field: field.to_owned(),
        category: category.to_owned(),
        label_nl: nl.to_owned(),
        label_en: en.to_owned(),
        value: value.to_owned(),
    }
}

pub fn iban() -> ValueInput {
    value("iban", "user.financial.bank_account", "IBAN", "IBAN", "NL91ABNA0417164300")
}

pub fn email() -> ValueInput {
    value("email", "user.contact.email", "E-mailadres", "E-mail address", "jan@example.nl")
}

pub fn first_names() -> ValueInput {
    value("first_names", "user.name.first", "Voornamen", "First names", "Jan")
}

pub fn subject(values: Vec<ValueInput>) -> SubjectInput {
    SubjectInput {
        id: "0190f2a4-0000-7000-8000-000000000001".to_owned(),
        kind: "customer".to_owned(),
        created_at_ms: 1_704_067_200_000, // 2024-01-01T00:00:00Z
        restricted: false,
        archived_until_ms: None,
        values,
    }
}

pub fn events() -> Vec<EventInput> {
    vec![
        EventInput {
            seq: 7,
            time_ms: 1_704_067_200_000,
            actor: "application".to_owned(),
            action: "subject.create".to_owned(),
            purpose: Some("billing".to_owned()),
            fields: vec!["iban".to_owned(), "email".to_owned()],
            outcome: "ok".to_owned(),
        },
        EventInput {
            seq: 42,
            time_ms: 1_706_745_600_123,
            actor: "staff".to_owned(),
            action: "subject.read".to_owned(),
            purpose: None,
            fields: vec![],
            outcome: "denied".to_owned(),
        },
    ]
}

pub fn register_input(register: &Register) -> RegisterInput<'_> {
    RegisterInput { register: Some(register), version: Some(3), sha256_hex: Some(SHA.to_owned()) }
}

pub fn request() -> RequestRef {
    RequestRef { id: "req-2024-0001".to_owned(), received_at_ms: 1_714_000_000_000 }
}
