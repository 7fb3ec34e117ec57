//! The access and portability exports: what they contain for a subject under the hosting-provider
//! example register, and that the JSON, CSV zip and HTML renderings say it faithfully and safely.

mod common;

use std::io::Read as _;

use common::*;
use kluis_export::{AccessExport, PortabilityExport, RegisterInput, RegisterSource};
use kluis_register::{Country, Lang, Text, Transfer, TransferMechanism};

fn build(register: &RegisterInput<'_>, values: Vec<kluis_export::ValueInput>) -> AccessExport {
    AccessExport::build(&subject(values), &events(), register, Some(&request()), NOW_MS).expect("build")
}

fn ids<T>(items: &[T], id: impl Fn(&T) -> &str) -> Vec<&str> {
    items.iter().map(id).collect()
}

// ---------------------------------------------------------------------------------------------
// What the access export contains

#[test]
fn an_iban_is_processed_for_billing_and_tax_records() {
    let register = hosting();
    let export = build(&register_input(&register), vec![iban()]);

    assert_eq!(ids(&export.purposes, |p| &p.id), ["billing", "fiscal_records"]);

    let billing = &export.purposes[0];
    assert_eq!(billing.name, Text { nl: "Overeenkomst en facturatie".into(), en: "Contract and invoicing".into() });
    let basis = billing.legal_basis.as_ref().unwrap();
    assert_eq!((basis.basis.as_str(), basis.article.as_str()), ("contract", "Art. 6(1)(b) GDPR"));
    assert_eq!(ids(&billing.categories, |c| &c.key), ["user.financial.bank_account"]);
    assert_eq!(
        billing.categories[0].description,
        Some(Text { nl: "Bankrekeningnummer (IBAN)".into(), en: "Bank account number (IBAN)".into() })
    );
    assert_eq!(billing.fields, ["iban"]);
    assert_eq!(ids(&billing.recipients, |r| &r.name), ["Xtress v.o.f."]);
    let accountant = &billing.recipients[0];
    assert_eq!(
        (accountant.id.as_str(), accountant.role.as_str(), accountant.country.as_deref(), accountant.outside_eea),
        ("accountant", "processor", Some("NL"), false)
    );
    assert_eq!(accountant.categories, ["user.financial.bank_account"]);
    assert!(accountant.transfer.is_none());
    assert_eq!(ids(&billing.retention, |r| &r.id), ["contract_archive"]);
    let archive = &billing.retention[0];
    assert_eq!(
        (archive.period.as_deref(), archive.from.as_str(), archive.action.as_str()),
        (Some("0d"), "contract_end", "archive")
    );
    assert!(billing.source_is_data_subject);
    assert_eq!(billing.source.en, "You (the data subject)");
    assert!(!billing.automated_decision.used);
    assert!(billing.subject_kind_listed);

    let fiscal = &export.purposes[1];
    let basis = fiscal.legal_basis.as_ref().unwrap();
    assert_eq!((basis.basis.as_str(), basis.article.as_str()), ("legal_obligation", "Art. 6(1)(c) GDPR"));
    assert_eq!(fiscal.legal_reference.as_deref(), Some("AWR art. 52; BW 2:10"));
    assert_eq!(ids(&fiscal.recipients, |r| &r.name), ["Xtress v.o.f."]);
    assert_eq!(ids(&fiscal.retention, |r| &r.id), ["tax_records"]);
    let tax = &fiscal.retention[0];
    assert_eq!(
        (tax.period.as_deref(), tax.from.as_str(), tax.action.as_str(), tax.legal_reference.as_deref()),
        (Some("7y"), "end_of_fiscal_year", "delete", Some("AWR art. 52(4); BW 2:10(3)"))
    );
    assert_eq!(tax.summary.nl, "7 jaar na het einde van het boekjaar worden de gegevens verwijderd.");
    assert_eq!(tax.summary.en, "7 years after the end of the financial year, the data are deleted.");
    assert!(tax.text.en.starts_with("The law requires us to keep personal and financial data"));
}

#[test]
fn purposes_recipients_and_retention_for_a_few_values() {
    let register = hosting();
    let company = value("company_name", "user.workplace", "Bedrijfsnaam", "Company name", "Jansen BV");
    let export = build(&register_input(&register), vec![iban(), email(), first_names(), company]);

    // Register order; `user.workplace` is in no purpose, so it adds none; web statistics, the
    // logs and telephony process none of these categories.
    assert_eq!(
        ids(&export.purposes, |p| &p.id),
        [
            "billing",
            "fiscal_records",
            "customer_contact",
            "incident_notifications",
            "service_delivery",
            "newsletter",
            "police_requests"
        ]
    );
    let purpose = |id: &str| export.purposes.iter().find(|p| p.id == id).unwrap();
    let billing = purpose("billing");
    assert_eq!(
        ids(&billing.categories, |c| &c.key),
        ["user.name", "user.contact.email", "user.financial.bank_account"]
    );
    assert_eq!(billing.fields, ["iban", "email", "first_names"]);
    // The accountant receives the name and the IBAN, not the e-mail address.
    assert_eq!(billing.recipients[0].categories, ["user.name", "user.financial.bank_account"]);

    // Every recipient of service delivery receives the name, so all four are listed by name.
    let delivery = purpose("service_delivery");
    assert_eq!(
        ids(&delivery.recipients, |r| &r.name),
        [
            "Openprovider",
            "Uitgever van SSL-certificaten (per bestelling)",
            "Leveranciers van hard- en software (per bestelling)",
            "OVH / So you Start"
        ]
    );
    let ovh = &delivery.recipients[3];
    assert_eq!((ovh.country.as_deref(), ovh.outside_eea, ovh.transfer.is_none()), (Some("FR"), false, true));
    assert_eq!(ids(&delivery.retention, |r| &r.id), ["delivery"]);

    assert!(purpose("customer_contact").recipients.is_empty());
    assert_eq!(ids(&purpose("customer_contact").retention, |r| &r.id), ["contact_details"]);
    assert_eq!(ids(&purpose("incident_notifications").retention, |r| &r.id), ["incident_contacts"]);
    assert_eq!(purpose("incident_notifications").fields, ["email"]);

    let newsletter = purpose("newsletter");
    assert_eq!(newsletter.legal_basis.as_ref().unwrap().basis, "consent");
    assert!(newsletter.withdrawal.is_some() && newsletter.direct_marketing);
    assert!(!newsletter.subject_kind_listed, "the register lists newsletter subscribers, not customers");
    assert_eq!(ids(&newsletter.retention, |r| &r.id), ["newsletter_unsubscribe"]);

    let police = purpose("police_requests");
    assert_eq!(ids(&police.recipients, |r| &r.name), ["Politie"]);
    assert_eq!(police.recipients[0].role, "authority");
    assert_eq!(ids(&police.retention, |r| &r.id), ["police_cases"]);

    // Rights: portability for the contract and consent purposes, objection for the newsletter
    // (direct marketing), withdrawal of consent for the newsletter.
    let right = |a: &str| export.rights.iter().find(|r| r.article == a).unwrap();
    assert_eq!(ids(&export.rights, |r| &r.article), ["15", "16", "17", "18", "19", "20", "21", "7(3)", "77"]);
    assert_eq!(
        right("20").purposes,
        ["billing", "customer_contact", "incident_notifications", "service_delivery", "newsletter"]
    );
    assert_eq!(right("21").purposes, ["newsletter"]);
    assert_eq!(right("7(3)").purposes, ["newsletter"]);

    // Controller, complaint route, register version and hash, request, times.
    let controller = export.controller.as_ref().unwrap();
    assert_eq!(controller.name, "Voorbeeld Hosting B.V.");
    assert_eq!(controller.email.as_deref(), Some("privacy@hosting.example.nl"));
    assert_eq!(controller.address.as_deref(), Some("Serverstraat 12, 3511 AB Utrecht, NL"));
    assert_eq!(export.complaint.authority, "Autoriteit Persoonsgegevens");
    assert_eq!(export.complaint.website, "https://autoriteitpersoonsgegevens.nl");
    assert_eq!(export.complaint.address.as_deref(), Some("Postbus 93374, 2509 AJ Den Haag, NL"));
    assert_eq!(export.register.source, RegisterSource::Register);
    assert_eq!((export.register.version, export.register.sha256.as_deref()), (Some(3), Some(SHA)));
    assert_eq!(export.generated_at, "2024-05-01T12:34:56.789Z");
    assert_eq!(export.request.as_ref().unwrap().received_at, "2024-04-24T23:06:40.000Z");
    assert_eq!(export.subject.created_at, "2024-01-01T00:00:00.000Z");
    assert_eq!(export.subject.values.len(), 4);
    assert_eq!(export.subject.values[3].value, "Jansen BV");
    assert_eq!(ids(&export.events, |e| &e.time), ["2024-01-01T00:00:00.000Z", "2024-02-01T00:00:00.123Z"]);
    assert_eq!(export.events[1].outcome, "denied");
}

#[test]
fn a_recipient_outside_the_eea_comes_with_its_transfer_mechanism() {
    let mut register = hosting();
    let ovh = register.recipients.get_mut("ovh").unwrap();
    ovh.country = Country::parse("US");
    ovh.transfer = Some(Transfer {
        mechanism: TransferMechanism::Scc,
        reference: "SCC 2021/914 module 2".into(),
        safeguards_url: Some("https://hosting.example.nl/scc.pdf".into()),
    });
    // An EEA recipient's transfer block, if any, is not shown.
    let openprovider = register.recipients.get_mut("openprovider").unwrap();
    openprovider.transfer =
        Some(Transfer { mechanism: TransferMechanism::Adequacy, reference: "n/a".into(), safeguards_url: None });
    let export = build(&register_input(&register), vec![email()]);
    let delivery = export.purposes.iter().find(|p| p.id == "service_delivery").unwrap();
    let ovh = delivery.recipients.iter().find(|r| r.id == "ovh").unwrap();
    assert!(ovh.outside_eea);
    let transfer = ovh.transfer.as_ref().unwrap();
    assert_eq!(transfer.mechanism, "scc");
    assert_eq!(transfer.reference, "SCC 2021/914 module 2");
    assert_eq!(transfer.safeguards_url.as_deref(), Some("https://hosting.example.nl/scc.pdf"));
    let openprovider = delivery.recipients.iter().find(|r| r.id == "openprovider").unwrap();
    assert!(!openprovider.outside_eea && openprovider.transfer.is_none());
    let html = export.to_html(Lang::En);
    assert!(html.contains("US (outside the EEA)"), "{html}");
    assert!(html.contains("standard contractual clauses"));
}

#[test]
fn without_a_register_only_data_and_events_and_it_says_so() {
    let export = build(&RegisterInput::default(), vec![iban(), email()]);
    assert_eq!(export.register.source, RegisterSource::BuiltInPolicy);
    assert!(export.register.note.en.contains("built-in policy"), "{}", export.register.note.en);
    assert!(export.purposes.is_empty());
    assert!(export.controller.is_none());
    assert_eq!(export.subject.values.len(), 2);
    assert_eq!(export.events.len(), 2);
    assert_eq!(export.complaint.authority, "Autoriteit Persoonsgegevens");
    assert_eq!(export.complaint.website, "https://autoriteitpersoonsgegevens.nl");
    assert_eq!(ids(&export.rights, |r| &r.article), ["15", "16", "17", "18", "19", "20", "21", "77"]);
    let json: serde_json::Value = serde_json::from_slice(&export.to_json()).unwrap();
    assert_eq!(json["register"]["source"], "built_in_policy");
    assert_eq!(json["purposes"], serde_json::json!([]));
    for lang in [Lang::Nl, Lang::En] {
        let html = export.to_html(lang);
        parse_html(&html);
        assert!(html.contains(&kluis_register::escape_html(words_note(lang, &export))));
    }
}

fn words_note(lang: Lang, export: &AccessExport) -> &str {
    match lang {
        Lang::Nl => &export.register.note.nl,
        Lang::En => &export.register.note.en,
    }
}

#[test]
fn times_out_of_range_are_errors() {
    let mut s = subject(vec![]);
    s.created_at_ms = i64::MAX;
    let err = AccessExport::build(&s, &[], &RegisterInput::default(), None, NOW_MS).unwrap_err();
    assert!(err.to_string().contains("creation time"), "{err}");
}

#[test]
fn debug_redacts_values() {
    let v = value("email", "user.contact.email", "E-mail", "E-mail", "secret@example.nl");
    assert!(!format!("{v:?}").contains("secret"));
    let export = build(&RegisterInput::default(), vec![v.clone()]);
    assert!(!format!("{export:?}").contains("secret"));
    let portable = PortabilityExport::build(&subject(vec![v]), None, NOW_MS).unwrap();
    assert!(!format!("{portable:?}").contains("secret"));
}

// ---------------------------------------------------------------------------------------------
// JSON and its schema

fn schema_validator() -> jsonschema::Validator {
    let schema: serde_json::Value = serde_json::from_str(&AccessExport::json_schema()).unwrap();
    jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema")
}

#[test]
fn json_round_trips_and_validates_against_the_schema() {
    let register = hosting();
    let validator = schema_validator();
    for export in [
        build(&register_input(&register), vec![iban(), email(), first_names()]),
        build(&RegisterInput::default(), vec![iban()]),
        AccessExport::build(&subject(vec![]), &[], &RegisterInput::default(), None, 0).unwrap(),
    ] {
        let json = export.to_json();
        let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
        let errors: Vec<String> = validator.iter_errors(&value).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:#?}");
        let back: AccessExport = serde_json::from_slice(&json).unwrap();
        assert_eq!(back, export);
        assert_eq!(value["format"], "kluis-access-export");
        assert_eq!(value["format_version"], 1);
    }
    // The schema does constrain: a missing subject, a wrong type and an unknown key are refused.
    let good: serde_json::Value =
        serde_json::from_slice(&build(&register_input(&register), vec![iban()]).to_json()).unwrap();
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("subject");
    assert!(!validator.is_valid(&missing));
    let mut wrong = good.clone();
    wrong["events"][0]["seq"] = serde_json::json!("seven");
    assert!(!validator.is_valid(&wrong));
    let mut unknown = good;
    unknown["purposes"][0]["extra"] = serde_json::json!(1);
    assert!(!validator.is_valid(&unknown));
}

/// `docs/export.schema.json` is generated from the Rust types. To refresh it after changing them:
/// `KLUIS_UPDATE_SCHEMA=1 cargo nextest run -p kluis-export committed_json_schema`.
#[test]
fn committed_json_schema_is_the_generated_one() {
    let generated = AccessExport::json_schema();
    let path = repo_path("docs/export.schema.json");
    if std::env::var_os("KLUIS_UPDATE_SCHEMA").is_some() || std::env::var_os("KLUIS_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("write schema");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/export.schema.json is stale: run KLUIS_UPDATE_SCHEMA=1 cargo nextest run -p kluis-export committed_json_schema"
    );
}

// ---------------------------------------------------------------------------------------------
// CSV zip

fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip");
    (0..archive.len())
        .map(|i| {
            let mut file = archive.by_index(i).unwrap();
            let mut out = Vec::new();
            file.read_to_end(&mut out).unwrap();
            (file.name().unwrap().into_owned(), out)
        })
        .collect()
}

fn parse_csv(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::ReaderBuilder::new().from_reader(bytes);
    let header = reader.headers().unwrap().iter().map(str::to_owned).collect();
    let rows = reader.records().map(|r| r.unwrap().iter().map(str::to_owned).collect()).collect();
    (header, rows)
}

#[test]
fn csv_zip_has_one_file_per_entity_and_parses() {
    let register = hosting();
    let tricky = value("city", "user.contact.address.city", "Plaats", "City", "Den Haag, \"Zuid\"\r\nregel 2\nregel 3");
    let formula = value("street", "user.contact.address.street", "Straat", "Street", "=HYPERLINK(\"http://x\",\"y\")");
    let phone = value("phone", "user.contact.phone_number", "Telefoonnummer", "Phone number", "+31612345678");
    let export = build(&register_input(&register), vec![iban(), tricky, formula, phone]);
    let files = unzip(&export.to_csv_zip());
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "README.txt",
            "export.csv",
            "subject.csv",
            "values.csv",
            "events.csv",
            "purposes.csv",
            "recipients.csv",
            "retention.csv",
            "rights.csv"
        ]
    );
    let file = |name: &str| &files.iter().find(|(n, _)| n == name).unwrap().1;

    let readme = String::from_utf8(file("README.txt").clone()).unwrap();
    assert!(readme.contains("apostrof (')") && readme.contains("apostrophe (')"), "{readme}");
    assert!(readme.contains("values.csv") && readme.contains("Article 15") && readme.contains("artikel 15"));

    // Every CSV: RFC 4180 with CRLF line ends, parses, and has its header.
    for (name, bytes) in files.iter().filter(|(n, _)| std::path::Path::new(n).extension().is_some_and(|e| e == "csv")) {
        let text = std::str::from_utf8(bytes).unwrap();
        assert!(text.ends_with("\r\n"), "{name}");
        let (_, rows) = parse_csv(bytes);
        assert!(!rows.is_empty(), "{name} has rows");
    }

    let (header, rows) = parse_csv(file("values.csv"));
    assert_eq!(header, ["field", "category", "label_nl", "label_en", "value"]);
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0], ["iban", "user.financial.bank_account", "IBAN", "IBAN", "NL91ABNA0417164300"]);
    assert_eq!(rows[1][4], "Den Haag, \"Zuid\"\r\nregel 2\nregel 3", "commas, quotes and newlines survive");
    assert_eq!(rows[2][4], "'=HYPERLINK(\"http://x\",\"y\")", "the formula is neutralised");
    assert_eq!(rows[3][4], "'+31612345678");

    let (header, rows) = parse_csv(file("subject.csv"));
    assert_eq!(header, ["id", "kind", "created_at", "restricted", "archived_until"]);
    assert_eq!(rows, [["0190f2a4-0000-7000-8000-000000000001", "customer", "2024-01-01T00:00:00.000Z", "false", ""]]);

    let (header, rows) = parse_csv(file("events.csv"));
    assert_eq!(header, ["seq", "time", "actor", "action", "purpose", "fields", "outcome"]);
    assert_eq!(
        rows[0],
        ["7", "2024-01-01T00:00:00.000Z", "application", "subject.create", "billing", "iban\nemail", "ok"]
    );
    assert_eq!(rows[1], ["42", "2024-02-01T00:00:00.123Z", "staff", "subject.read", "", "", "denied"]);

    let (header, rows) = parse_csv(file("purposes.csv"));
    assert_eq!(
        header[..8],
        [
            "purpose",
            "name_nl",
            "name_en",
            "description_nl",
            "description_en",
            "legal_basis",
            "legal_basis_article",
            "legal_reference"
        ]
    );
    let purposes: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(purposes, ids(&export.purposes, |p| &p.id));
    let fiscal = rows.iter().find(|r| r[0] == "fiscal_records").unwrap();
    assert_eq!((fiscal[5].as_str(), fiscal[7].as_str()), ("legal_obligation", "AWR art. 52; BW 2:10"));

    let (header, rows) = parse_csv(file("recipients.csv"));
    assert_eq!(header[..4], ["purpose", "recipient", "name", "role"]);
    let billing: Vec<&str> = rows.iter().filter(|r| r[0] == "billing").map(|r| r[2].as_str()).collect();
    assert_eq!(billing, ["Xtress v.o.f."]);

    let (header, rows) = parse_csv(file("retention.csv"));
    assert_eq!(header[..7], ["purpose", "rule", "period", "from", "action", "unless", "legal_reference"]);
    let tax = rows.iter().find(|r| r[1] == "tax_records").unwrap();
    assert_eq!(
        tax[..7],
        ["fiscal_records", "tax_records", "7y", "end_of_fiscal_year", "delete", "", "AWR art. 52(4); BW 2:10(3)"]
    );

    let (_, rows) = parse_csv(file("rights.csv"));
    let articles: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(articles, ids(&export.rights, |r| &r.article));

    let (header, rows) = parse_csv(file("export.csv"));
    assert_eq!(header, ["key", "value"]);
    let get = |k: &str| rows.iter().find(|r| r[0] == k).map(|r| r[1].clone()).unwrap();
    assert_eq!(get("register_version"), "3");
    assert_eq!(get("register_sha256"), SHA);
    assert_eq!(get("request_id"), "req-2024-0001");
    assert_eq!(get("complaint_authority"), "Autoriteit Persoonsgegevens");
}

// ---------------------------------------------------------------------------------------------
// HTML

fn parse_html(html: &str) -> roxmltree::Document<'_> {
    let options = roxmltree::ParsingOptions { allow_dtd: true, ..roxmltree::ParsingOptions::default() };
    roxmltree::Document::parse_with_options(html, options).unwrap_or_else(|e| panic!("not well-formed: {e}"))
}

#[test]
fn html_is_well_formed_escaped_and_headed_in_both_languages() {
    let register = hosting();
    let script = value("last_name", "user.name.last", "Achternaam", "Last name", "<script>alert(1)</script>");
    let quote = value("city", "user.contact.address.city", "Plaats", "City", "\"'><img src=x onerror=alert(1)>&amp;");
    let export = build(&register_input(&register), vec![iban(), email(), script, quote]);
    let headings = [
        (
            Lang::Nl,
            [
                "Uw gegevens",
                "Wat wij ermee doen",
                "Wie ze ontvangt",
                "Hoe lang wij ze bewaren",
                "Waar ze vandaan komen",
                "Geautomatiseerde besluiten",
                "Uw rechten",
                "Klachten",
            ],
        ),
        (
            Lang::En,
            [
                "Your data",
                "What we do with it",
                "Who receives it",
                "How long we keep it",
                "Where it came from",
                "Automated decisions",
                "Your rights",
                "Complaints",
            ],
        ),
    ];
    for (lang, expected) in headings {
        let html = export.to_html(lang);
        assert!(!html.contains("<script>"), "{lang}: the value is escaped");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{lang}");
        assert!(html.contains("&quot;&#39;&gt;&lt;img src=x onerror=alert(1)&gt;&amp;amp;"), "{lang}");
        let doc = parse_html(&html);
        let root = doc.root_element();
        assert_eq!(root.attribute("lang"), Some(lang.as_str()));
        let names: Vec<&str> =
            doc.descendants().filter(roxmltree::Node::is_element).map(|n| n.tag_name().name()).collect();
        for forbidden in ["script", "iframe", "object", "embed", "img", "link", "form"] {
            assert!(!names.contains(&forbidden), "{lang}: <{forbidden}>");
        }
        let styles: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("style")).collect();
        assert_eq!(styles.len(), 1, "{lang}: one <style>");
        assert_eq!(styles[0].text(), Some(kluis_register::HTML_STYLE), "{lang}: exactly HTML_STYLE");
        for node in doc.descendants().filter(roxmltree::Node::is_element) {
            for attribute in node.attributes() {
                assert!(
                    !attribute.name().starts_with("on") && attribute.name() != "style",
                    "{lang}: {}",
                    attribute.name()
                );
            }
            if let Some(src) = node.attribute("src") {
                panic!("{lang}: external resource {src}");
            }
        }
        let h2: Vec<String> = doc
            .descendants()
            .filter(|n| n.has_tag_name("h2"))
            .map(|n| n.descendants().filter(roxmltree::Node::is_text).filter_map(|t| t.text()).collect())
            .collect();
        for heading in expected {
            assert!(h2.iter().any(|h| h == heading), "{lang}: heading {heading} in {h2:?}");
        }
        // The values, the recipients by name and the fiscal retention are on the page.
        let text: String = doc.descendants().filter(roxmltree::Node::is_text).filter_map(|n| n.text()).collect();
        for needle in [
            "NL91ABNA0417164300",
            "<script>alert(1)</script>",
            "Xtress v.o.f.",
            "AWR art. 52(4); BW 2:10(3)",
            "Autoriteit Persoonsgegevens",
            SHA,
        ] {
            assert!(text.contains(needle), "{lang}: {needle}");
        }
    }
    let nl = export.to_html(Lang::Nl);
    assert!(nl.contains("7 jaar na het einde van het boekjaar worden de gegevens verwijderd."));
    let en = export.to_html(Lang::En);
    assert!(en.contains("7 years after the end of the financial year, the data are deleted."));
}

// ---------------------------------------------------------------------------------------------
// Portability

#[test]
fn portability_keeps_consent_and_contract_values_only() {
    let register = hosting();
    let ip = value("ip", "user.device.ip_address", "IP-adres", "IP address", "192.0.2.1");
    let company = value("company_name", "user.workplace", "Bedrijfsnaam", "Company name", "Jansen BV");
    let call = value("call", "user.communication.call_record", "Gesprek", "Call", "2024-01-01 3 min");
    let phone = value("phone", "user.contact.phone_number", "Telefoonnummer", "Phone number", "+31612345678");
    let subject = subject(vec![iban(), ip, email(), company, first_names(), call, phone]);

    let export = PortabilityExport::build(&subject, Some(&register), NOW_MS).unwrap();
    let fields: Vec<&str> = export.values.iter().map(|v| v.field.as_str()).collect();
    // IBAN (billing: contract), e-mail, names and phone (contract purposes); not the IP address
    // (legitimate interests, legal obligation), the company name (no purpose) or call records
    // (telephony: legitimate interests).
    assert_eq!(fields, ["iban", "email", "first_names", "phone"]);
    assert_eq!(export.subject_id, subject.id);
    assert_eq!(export.exported_at, "2024-05-01T12:34:56.789Z");

    let json: serde_json::Value = serde_json::from_slice(&export.to_json()).unwrap();
    assert_eq!(json["format"], "kluis-portability-export");
    assert_eq!(json["subject_id"], subject.id.as_str());
    assert_eq!(
        json["values"][0],
        serde_json::json!({"field": "iban", "category": "user.financial.bank_account", "value": "NL91ABNA0417164300"})
    );
    assert_eq!(json["values"][3]["value"], "+31612345678", "JSON is exact");
    let back: PortabilityExport = serde_json::from_slice(&export.to_json()).unwrap();
    assert_eq!(back, export);
    let schema: serde_json::Value = serde_json::from_str(&PortabilityExport::json_schema()).unwrap();
    assert!(jsonschema::is_valid(&schema, &json));

    let (header, rows) = parse_csv(&export.to_csv());
    assert_eq!(header, ["field", "category", "value"]);
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0], ["iban", "user.financial.bank_account", "NL91ABNA0417164300"]);
    assert_eq!(rows[3], ["phone", "user.contact.phone_number", "'+31612345678"]);

    // Without a register, everything.
    let all = PortabilityExport::build(&subject, None, NOW_MS).unwrap();
    assert_eq!(all.values.len(), subject.values.len());
}

#[test]
fn portability_leaves_out_data_from_another_source() {
    let mut register = hosting();
    register.purposes.get_mut("billing").unwrap().source =
        Some(Text { nl: "Kredietbureau".into(), en: "Credit agency".into() });
    let export = PortabilityExport::build(&subject(vec![iban(), email()]), Some(&register), NOW_MS).unwrap();
    // The IBAN is now only under billing (another source) and fiscal records (legal obligation).
    let fields: Vec<&str> = export.values.iter().map(|v| v.field.as_str()).collect();
    assert_eq!(fields, ["email"]);
    let access = build(&register_input(&register), vec![iban()]);
    let billing = &access.purposes[0];
    assert_eq!((billing.source.en.as_str(), billing.source_is_data_subject), ("Credit agency", false));
    let right = access.rights.iter().find(|r| r.article == "20").unwrap();
    assert!(!right.applies && right.purposes.is_empty());
}
