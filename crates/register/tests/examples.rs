//! The shipped examples pass `check`; the faithful copies of the reference statements report
//! exactly the gaps those statements have; the committed JSON Schema is the generated one.

use std::path::PathBuf;

fn repo_file(relative: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn report(text: &str) -> Vec<String> {
    match kluis_register::check(text) {
        Ok(_) => Vec::new(),
        Err(diagnostics) => diagnostics.iter().map(|d| format!("{} {}", d.rule, d.path)).collect(),
    }
}

fn assert_clean(relative: &str) {
    let text = repo_file(relative);
    if let Err(diagnostics) = kluis_register::check(&text) {
        let lines: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
        panic!("{relative}:\n{}", lines.join("\n"));
    }
}

#[test]
fn hosting_provider_example_passes_check() {
    assert_clean("examples/hosting-provider.toml");
}

#[test]
fn crm_saas_example_passes_check() {
    assert_clean("examples/crm-saas.toml");
}

/// Each purpose of the statement that lacks something, by rule: the statement names no legal
/// basis and no provision requirement anywhere, and retention only for tax data, the newsletter
/// and call records ("temporarily", so no period); no address, contact channel or complaint route.
#[test]
fn faithful_hosting_provider_reports_exactly_its_gaps() {
    let purposes = [
        "billing",
        "customer_contact",
        "incident_notifications",
        "service_delivery",
        "web_statistics",
        "control_panel_audit",
        "mail_logs",
        "newsletter",
        "telephony",
        "police_requests",
    ];
    let with_retention = ["billing", "newsletter", "telephony"];
    let mut expected =
        vec!["missing-controller-contact controller".to_owned(), "missing-supervisory-authority controller".to_owned()];
    for purpose in purposes {
        expected.push(format!("missing-legal-basis purposes.{purpose}"));
        expected.push(format!("missing-provision purposes.{purpose}"));
        if !with_retention.contains(&purpose) {
            expected.push(format!("missing-retention purposes.{purpose}"));
        }
    }
    expected.push("retention-without-period retention.call_records".to_owned());
    assert_eq!(report(&fixture("hosting-provider.faithful.toml")), expected);
}

#[test]
fn faithful_crm_saas_reports_exactly_its_gaps() {
    let expected = [
        "missing-legal-basis purposes.billing",
        "missing-provision purposes.billing",
        "missing-retention purposes.billing",
        "missing-legal-basis purposes.service_updates",
        "missing-provision purposes.service_updates",
        "missing-retention purposes.service_updates",
        "missing-legal-basis purposes.service_delivery",
        "missing-provision purposes.service_delivery",
        "missing-retention purposes.service_delivery",
        "missing-legal-basis purposes.service_contact",
        "missing-provision purposes.service_contact",
        "missing-retention purposes.service_contact",
        // "wettelijk verplicht ... belastingaangifte" without a statute.
        "missing-provision purposes.tax",
        "missing-retention purposes.tax",
        "missing-legal-reference purposes.tax.legal_basis",
        // "met het oog op ons gerechtvaardigd bedrijfsbelang", no interest named, no assessment.
        "missing-provision purposes.business_interest",
        "missing-retention purposes.business_interest",
        "missing-legitimate-interest purposes.business_interest.legal_basis",
        "missing-legal-basis purposes.website_analytics",
        "missing-provision purposes.website_analytics",
        "missing-retention purposes.website_analytics",
        // Chats do have a rule: destroyed unless they became a contact request.
        "missing-legal-basis purposes.live_chat",
        "missing-provision purposes.live_chat",
        "missing-legal-basis purposes.visitor_recognition",
        "missing-provision purposes.visitor_recognition",
        "missing-retention purposes.visitor_recognition",
        "transfer-without-mechanism recipients.tawk_to.country",
        "missing-recipient-country recipients.visitor_recognition",
        "id-copy-by-default rights.identity_verification.id_copy",
        "id-copy-unshielded rights.identity_verification.shield",
    ];
    assert_eq!(report(&fixture("crm-saas.faithful.toml")), expected);
}

/// The faithful fixtures and the shipped examples describe the same facts: every data category
/// and recipient of a faithful copy also appears in its shipped example.
#[test]
fn shipped_examples_keep_the_statements_facts() {
    for (faithful, shipped) in [
        ("hosting-provider.faithful.toml", "examples/hosting-provider.toml"),
        ("crm-saas.faithful.toml", "examples/crm-saas.toml"),
    ] {
        let faithful = kluis_register::parse(&fixture(faithful)).expect("faithful fixture parses");
        let shipped = kluis_register::parse(&repo_file(shipped)).expect("example parses");
        for category in faithful.categories.keys() {
            assert!(shipped.categories.contains_key(category), "{category} missing from {}", shipped.controller.name);
        }
        for (key, recipient) in &faithful.recipients {
            let Some(kept) = shipped.recipients.get(key) else { panic!("recipient {key} missing") };
            assert_eq!(kept.privacy_statement, recipient.privacy_statement, "{key}");
        }
        assert!(faithful.security.len() <= shipped.security.len());
    }
}

/// `schema/register.schema.json` is generated from the Rust types. To refresh it after changing
/// them: `KLUIS_BLESS=1 cargo test -p kluis-register --test examples`.
#[test]
fn committed_json_schema_is_the_generated_one() {
    let generated = kluis_register::json_schema();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schema/register.schema.json");
    if std::env::var_os("KLUIS_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("write schema");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "schema/register.schema.json is stale: run KLUIS_BLESS=1 cargo test -p kluis-register --test examples"
    );
}
