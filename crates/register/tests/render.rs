//! The generated privacy statement (Art. 13/14 and the separate Art. 21 block) and the Art. 30
//! record, for both shipped examples, both languages and every format.

use std::path::PathBuf;

use kluis_register::{
    Format, Lang, LegalBasis, Register, RopaFormat, StatementMeta, escape_html, escape_markdown, ropa, statement,
};

const EXAMPLES: [&str; 2] = ["hosting-provider", "crm-saas"];
const LANGS: [Lang; 2] = [Lang::Nl, Lang::En];
const FORMATS: [Format; 2] = [Format::Markdown, Format::Html];

fn meta() -> StatementMeta {
    StatementMeta {
        version: 3,
        date: "2025-06-01".to_owned(),
        hash: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".to_owned(),
    }
}

fn example(name: &str) -> Register {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples").join(format!("{name}.toml"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    kluis_register::check(&text).unwrap_or_else(|d| panic!("{name}: {d:?}"))
}

fn t(lang: Lang, text: &kluis_register::Text) -> &str {
    match lang {
        Lang::Nl => &text.nl,
        Lang::En => &text.en,
    }
}

fn w(lang: Lang, nl: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::Nl => nl,
        Lang::En => en,
    }
}

/// One rendered statement.
struct Case {
    label: String,
    register: Register,
    lang: Lang,
    format: Format,
    out: String,
}

impl Case {
    /// The text as it appears after escaping for this format.
    fn escaped(&self, text: &str) -> String {
        match self.format {
            Format::Markdown => escape_markdown(text),
            Format::Html => escape_html(text),
        }
    }

    fn has(&self, text: &str) {
        let escaped = self.escaped(text);
        assert!(self.out.contains(&escaped), "{}: missing {text:?}", self.label);
    }

    fn count(&self, text: &str) -> usize {
        self.out.matches(&self.escaped(text)).count()
    }
}

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for name in EXAMPLES {
        for lang in LANGS {
            for format in FORMATS {
                let register = example(name);
                let out = statement(&register, lang, format, &meta());
                cases.push(Case { label: format!("{name} {lang} {format:?}"), register, lang, format, out });
            }
        }
    }
    cases
}

// ---------------------------------------------------------------------------------------------
// Art. 13(1)

#[test]
fn r13_1_a_controller_identity() {
    for case in cases() {
        let c = &case.register.controller;
        case.has(&c.name);
        let address = c.address.as_ref().expect("address");
        case.has(&address.street);
        case.has(&address.postcode);
        case.has(&address.city);
        case.has(c.contact.email.as_deref().expect("email"));
        case.has(c.contact.phone.as_deref().expect("phone"));
    }
}

#[test]
fn r13_1_b_dpo_contact_or_none() {
    for case in cases() {
        assert!(case.register.controller.dpo.is_none());
        case.has(w(
            case.lang,
            "Wij hebben geen functionaris voor gegevensbescherming aangesteld",
            "We have not appointed a data protection officer",
        ));
    }
    let mut register = example("crm-saas");
    register.controller.dpo = Some(kluis_register::Dpo {
        name: "Mr. FG".to_owned(),
        email: Some("fg@crm.example.nl".to_owned()),
        phone: None,
    });
    for lang in LANGS {
        let out = statement(&register, lang, Format::Html, &meta());
        assert!(out.contains("Mr. FG") && out.contains("mailto:fg@crm.example.nl"));
    }
}

#[test]
fn r13_1_c_purposes_and_legal_basis() {
    for case in cases() {
        for p in case.register.purposes.values() {
            case.has(t(case.lang, &p.name));
            case.has(t(case.lang, &p.description));
            let letter = p.legal_basis.expect("basis").letter();
            case.has(&match case.lang {
                Lang::Nl => format!("art. 6 lid 1 sub {letter} AVG"),
                Lang::En => format!("Art. 6(1)({letter}) GDPR"),
            });
            if let Some(reference) = &p.legal_reference {
                case.has(reference);
            }
        }
    }
}

#[test]
fn r13_1_d_legitimate_interests() {
    for case in cases() {
        let mut seen = 0;
        for p in case.register.purposes.values() {
            if p.legal_basis == Some(LegalBasis::LegitimateInterests) {
                case.has(t(case.lang, p.legitimate_interest.as_ref().expect("interest")));
                case.has(t(case.lang, p.interest_assessment.as_ref().expect("assessment")));
                seen += 1;
            }
        }
        assert!(seen > 0, "{}", case.label);
    }
}

#[test]
fn r13_1_e_recipients() {
    for case in cases() {
        for p in case.register.purposes.values() {
            for id in &p.recipients {
                let r = &case.register.recipients[id];
                case.has(&r.name);
                case.has(t(case.lang, &r.purpose));
                if let Some(url) = &r.privacy_statement {
                    assert!(case.out.contains(url.as_str()), "{}: {url}", case.label);
                }
            }
        }
    }
}

/// The Art. 19 `notify` addresses are for kluis's own mail to recipients: no statement and no
/// Art. 30 record shows them.
#[test]
fn notify_addresses_stay_out_of_every_document() {
    for name in EXAMPLES {
        let register = example(name);
        let addresses: Vec<&str> = register.recipients.values().filter_map(|r| r.notify.as_deref()).collect();
        assert!(!addresses.is_empty(), "{name} has recipients with notify");
        let mut documents: Vec<(String, String)> = cases()
            .into_iter()
            .filter(|case| case.label.starts_with(name))
            .map(|case| (case.label, case.out))
            .collect();
        for format in [RopaFormat::Csv, RopaFormat::Json, RopaFormat::Html] {
            documents.push((format!("{name} ropa {format:?}"), ropa(&register, format, &meta())));
        }
        for (label, out) in &documents {
            assert!(!out.contains("notify"), "{label}");
            for address in &addresses {
                let domain = address.split('@').nth(1).unwrap_or(address);
                assert!(!out.contains(domain), "{label}: {address}");
            }
        }
    }
}

#[test]
fn r13_1_f_third_country_transfers() {
    for case in cases() {
        let outside: Vec<_> = case.register.recipients.values().filter(|r| r.transfer.is_some()).collect();
        if outside.is_empty() {
            case.has(w(
                case.lang,
                "Wij geven geen persoonsgegevens door naar landen buiten de EER",
                "We do not transfer personal data to countries outside the EEA",
            ));
        }
        for r in outside {
            let transfer = r.transfer.as_ref().expect("transfer");
            case.has(&transfer.reference);
            case.has(w(case.lang, "adequaatheidsbesluit", "adequacy decision"));
            case.has(w(case.lang, "standaardcontractbepalingen", "standard contractual clauses"));
            assert!(case.out.contains(transfer.safeguards_url.as_deref().expect("url")), "{}", case.label);
        }
    }
    assert!(example("crm-saas").recipients.values().any(|r| r.transfer.is_some()));
}

// ---------------------------------------------------------------------------------------------
// Art. 13(2), 14

#[test]
fn r13_2_a_retention_period() {
    for case in cases() {
        for rule in case.register.retention.values() {
            case.has(t(case.lang, &rule.text));
            if let Some(reference) = &rule.legal_reference {
                case.has(reference);
            }
        }
        case.has(w(case.lang, "7 jaar na het einde van het boekjaar", "7 years after the end of the financial year"));
    }
}

#[test]
fn r13_2_b_rights_of_access_rectification_erasure_restriction_objection_portability() {
    for case in cases() {
        let rights = match case.lang {
            Lang::Nl => ["Inzage", "Rectificatie", "Wissing", "Beperking", "Bezwaar", "Overdraagbaarheid"],
            Lang::En => ["Access", "Rectification", "Erasure", "Restriction", "Objection", "Portability"],
        };
        for right in rights {
            case.has(right);
        }
        case.has(w(case.lang, "Zo gebruikt u uw rechten", "How to exercise your rights"));
        case.has(w(case.lang, "4 weken", "4 weeks"));
        let iv = case.register.rights.identity_verification.as_ref().expect("identity verification");
        case.has(t(case.lang, &iv.text));
    }
}

#[test]
fn r13_2_b_id_copy_policy_with_shielding_advice() {
    for case in cases() {
        let iv = case.register.rights.identity_verification.as_ref().expect("identity verification");
        if iv.id_copy == kluis_register::IdCopy::Never {
            case.has(w(
                case.lang,
                "Wij vragen nooit om een kopie van uw identiteitsbewijs.",
                "We never ask for a copy of your identity document.",
            ));
            assert!(!case.out.contains("KopieID"), "{}", case.label);
        } else {
            case.has("KopieID");
            case.has(w(case.lang, "burgerservicenummer (BSN)", "citizen service number (BSN)"));
            case.has(w(case.lang, "pasfoto", "photo"));
            case.has("(MRZ)");
        }
    }
}

#[test]
fn r13_2_c_withdraw_consent() {
    for case in cases() {
        case.has(w(case.lang, "U mag uw toestemming altijd intrekken.", "You may withdraw your consent at any time."));
        for p in case.register.purposes.values().filter(|p| p.legal_basis == Some(LegalBasis::Consent)) {
            case.has(t(case.lang, p.withdrawal.as_ref().expect("withdrawal")));
        }
    }
}

#[test]
fn r13_2_d_complaint_to_supervisory_authority() {
    for case in cases() {
        let sa = case.register.controller.supervisory_authority.as_ref().expect("authority");
        case.has(&sa.name);
        assert!(case.out.contains(&sa.website), "{}", case.label);
        case.has(w(
            case.lang,
            "een klacht in te dienen bij de toezichthouder",
            "lodge a complaint with the supervisory authority",
        ));
    }
}

#[test]
fn r13_2_e_statutory_or_contractual_requirement_and_consequence() {
    for case in cases() {
        for p in case.register.purposes.values() {
            case.has(t(case.lang, &p.provision.as_ref().expect("provision").consequence));
        }
        case.has(w(case.lang, "Verplichting om te verstrekken", "Obligation to provide"));
    }
}

#[test]
fn r13_2_f_automated_decision_making() {
    for case in cases() {
        let without =
            case.register.purposes.values().filter(|p| !p.automated_decision.as_ref().is_some_and(|a| a.used)).count();
        let sentence = w(
            case.lang,
            "geen besluiten die uitsluitend geautomatiseerd zijn",
            "no decisions by automated means alone",
        );
        assert_eq!(case.count(sentence), without, "{}", case.label);
    }
    let mut register = example("hosting-provider");
    register.purposes["billing"].automated_decision = Some(kluis_register::AutomatedDecision {
        used: true,
        logic: Some(kluis_register::Text {
            nl: "Score op betaalgedrag.".into(),
            en: "Score on payment history.".into(),
        }),
        significance: Some(kluis_register::Text {
            nl: "Mogelijk vooruitbetaling.".into(),
            en: "Possibly prepayment.".into(),
        }),
    });
    let out = statement(&register, Lang::En, Format::Markdown, &meta());
    assert!(out.contains("Score on payment history.") && out.contains("Possibly prepayment."));
}

#[test]
fn r14_2_f_source_of_data_not_from_the_subject() {
    for case in cases() {
        let own = case.register.purposes.values().filter(|p| p.source.is_none()).count();
        let sentence = w(case.lang, "U geeft deze gegevens zelf", "You provide these data yourself");
        assert_eq!(case.count(sentence), own, "{}", case.label);
    }
    let mut register = example("crm-saas");
    register.purposes["billing"].source =
        Some(kluis_register::Text { nl: "uw wederverkoper".into(), en: "your reseller".into() });
    let out = statement(&register, Lang::Nl, Format::Markdown, &meta());
    assert!(out.contains("Deze gegevens krijgen wij niet van u zelf, maar van: uw wederverkoper"));
}

#[test]
fn security_measures_and_cookies() {
    for case in cases() {
        for measure in case.register.security.values() {
            case.has(t(case.lang, measure));
        }
        for cookie in case.register.cookies.values() {
            case.has(t(case.lang, &cookie.purpose));
        }
    }
}

#[test]
fn version_date_and_hash() {
    for case in cases() {
        let m = meta();
        case.has(&m.hash);
        case.has(&m.date);
        case.has(&match case.lang {
            Lang::Nl => format!("Versie {} van {}", m.version, m.date),
            Lang::En => format!("Version {} of {}", m.version, m.date),
        });
    }
}

// ---------------------------------------------------------------------------------------------
// Art. 21(4)

fn objection_purposes(register: &Register, lang: Lang) -> Vec<String> {
    register
        .purposes
        .values()
        .filter(|p| {
            p.direct_marketing
                || matches!(p.legal_basis, Some(LegalBasis::LegitimateInterests | LegalBasis::PublicTask))
        })
        .map(|p| t(lang, &p.name).to_owned())
        .collect()
}

fn parse_html(html: &str) -> roxmltree::Document<'_> {
    let options = roxmltree::ParsingOptions { allow_dtd: true, ..roxmltree::ParsingOptions::default() };
    roxmltree::Document::parse_with_options(html, options).unwrap_or_else(|e| panic!("not well-formed: {e}"))
}

fn text_of(node: roxmltree::Node) -> String {
    node.descendants().filter(roxmltree::Node::is_text).filter_map(|n| n.text()).collect()
}

#[test]
fn art21_block_is_separate_and_headed_in_html() {
    for case in cases().into_iter().filter(|c| c.format == Format::Html) {
        let doc = parse_html(&case.out);
        let block = doc
            .descendants()
            .find(|n| n.has_tag_name("section") && n.attribute("id") == Some("objection"))
            .unwrap_or_else(|| panic!("{}: no Art. 21 section", case.label));
        assert_eq!(block.attribute("class"), Some("notice"));
        assert!(block.parent_element().is_some_and(|p| p.has_tag_name("main")), "{}: not top-level", case.label);
        let heading = block.first_element_child().expect("heading");
        assert!(heading.has_tag_name("h2"));
        assert_eq!(
            text_of(heading),
            w(case.lang, "Uw recht van bezwaar (artikel 21 AVG)", "Your right to object (Article 21 GDPR)")
        );
        let body = text_of(block);
        for name in objection_purposes(&case.register, case.lang) {
            assert!(body.contains(&name), "{}: {name} not in the Art. 21 block", case.label);
        }
        assert!(body.contains(w(case.lang, "Direct marketing", "Direct marketing")));
        assert!(body.contains(w(case.lang, "zonder uitzondering", "without exception")));
        assert!(body.contains(w(case.lang, "dwingende gerechtvaardigde gronden", "compelling legitimate grounds")));
    }
}

#[test]
fn art21_block_is_separate_and_headed_in_markdown() {
    for case in cases().into_iter().filter(|c| c.format == Format::Markdown) {
        let title =
            w(case.lang, "## Uw recht van bezwaar (artikel 21 AVG)", "## Your right to object (Article 21 GDPR)");
        let lines: Vec<&str> = case.out.lines().collect();
        let start = lines.iter().position(|l| *l == title).unwrap_or_else(|| panic!("{}: no heading", case.label));
        assert_eq!(lines[start - 1], "", "{}: the block starts after a blank line", case.label);
        let block: Vec<&str> = lines[start + 1..].iter().take_while(|l| !l.starts_with("## ")).copied().collect();
        let quoted: Vec<&str> = block.iter().filter(|l| !l.is_empty()).copied().collect();
        assert!(
            quoted.len() > 5 && quoted.iter().all(|l| l.starts_with('>')),
            "{}: block is not one quote",
            case.label
        );
        let body = quoted.join("\n");
        for name in objection_purposes(&case.register, case.lang) {
            assert!(body.contains(&escape_markdown(&name)), "{}: {name}", case.label);
        }
        assert!(body.contains(w(case.lang, "zonder uitzondering", "without exception")));
    }
}

// ---------------------------------------------------------------------------------------------
// HTML form

#[test]
fn html_is_well_formed_self_contained_and_script_free() {
    let mut pages: Vec<(String, String)> =
        cases().into_iter().filter(|c| c.format == Format::Html).map(|c| (c.label, c.out)).collect();
    for name in EXAMPLES {
        pages.push((format!("ropa {name}"), ropa(&example(name), RopaFormat::Html, &meta())));
    }
    for (label, html) in pages {
        assert!(html.starts_with("<!DOCTYPE html>\n"), "{label}");
        let doc = parse_html(&html);
        let root = doc.root_element();
        assert!(root.has_tag_name("html") && root.attribute("lang").is_some(), "{label}");
        let names: Vec<&str> =
            doc.descendants().filter(roxmltree::Node::is_element).map(|n| n.tag_name().name()).collect();
        for forbidden in ["script", "iframe", "object", "embed", "img", "link", "form"] {
            assert!(!names.contains(&forbidden), "{label}: <{forbidden}>");
        }
        assert_eq!(names.iter().filter(|n| **n == "style").count(), 1, "{label}: one <style>");
        assert!(names.contains(&"title") && names.contains(&"h1"), "{label}");
        assert!(
            doc.descendants().any(|n| n.has_tag_name("meta") && n.attribute("charset") == Some("utf-8")),
            "{label}: charset"
        );
        for node in doc.descendants().filter(roxmltree::Node::is_element) {
            for attribute in node.attributes() {
                assert!(
                    !attribute.name().starts_with("on") && attribute.name() != "style",
                    "{label}: {}",
                    attribute.name()
                );
                if attribute.name() == "href" {
                    let v = attribute.value();
                    assert!(
                        ["https://", "http://", "mailto:", "tel:", "#"].iter().any(|s| v.starts_with(s)),
                        "{label}: {v}"
                    );
                }
                assert!(attribute.name() != "src", "{label}: external resource");
            }
        }
    }
}

const HOSTILE: &str = r#"
[controller]
name = "Evil <script>alert(1)</script> & Zonen B.V."
contact = { email = "privacy@evil.example" }
website = "javascript:alert(1)"

[subjects]
customer = { nl = "Klanten & <b>prospects</b>", en = "Customers & <b>prospects</b>" }

[categories]
"user.contact.email" = { nl = "E-mail *vet* [link](x)", en = "E-mail *bold* [link](x)" }

[purposes.sales]
name = { nl = "Verkoop <script>", en = "Sales <script>" }
description = { nl = "Wij & u: <img src=x onerror=alert(1)>", en = "We & you: <img src=x onerror=alert(1)>" }
legal_basis = "contract"
categories = ["user.contact.email"]
subjects = ["customer"]
"#;

#[test]
fn html_escapes_register_texts() {
    let register = kluis_register::parse(HOSTILE).expect("parses");
    for lang in LANGS {
        let html = statement(&register, lang, Format::Html, &meta());
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"));
        assert!(!html.contains("<b>"));
        assert!(!html.contains("javascript:alert(1)\""), "unsafe URL must not become a link");
        assert!(html.contains("Evil &lt;script&gt;alert(1)&lt;/script&gt; &amp; Zonen B.V."));
        assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
        let doc = parse_html(&html);
        assert!(!doc.descendants().any(|n| n.has_tag_name("script") || n.has_tag_name("img")));
        assert!(text_of(doc.root_element()).contains("Evil <script>alert(1)</script> & Zonen B.V."));

        let md = statement(&register, lang, Format::Markdown, &meta());
        assert!(md.contains(r"Evil \<script\>alert(1)\</script\> \& Zonen B.V."));
        assert!(!md.contains("[link](x)"));
        assert!(
            md.contains(r"\<img src=x onerror=alert(1)\>") && !md.replace(r"\<", "").replace("](<", "").contains('<')
        );
    }
    let ropa_html = ropa(&register, RopaFormat::Html, &meta());
    assert!(!ropa_html.contains("<script") && ropa_html.contains("&lt;script&gt;"));
    parse_html(&ropa_html);
}

#[test]
fn escape_html_is_complete() {
    assert_eq!(escape_html("<script>&\"'"), "&lt;script&gt;&amp;&quot;&#39;");
}

// ---------------------------------------------------------------------------------------------
// Choices

#[test]
fn lang_from_accept_language() {
    let cases = [
        ("", Lang::Nl),
        ("en", Lang::En),
        ("EN-us", Lang::En),
        ("nl-NL,nl;q=0.9,en;q=0.8", Lang::Nl),
        ("en-GB,en;q=0.9,nl;q=0.8", Lang::En),
        ("nl;q=0.5, en;q=0.9", Lang::En),
        ("en;q=0.5, nl", Lang::Nl),
        ("de-DE,de;q=0.9", Lang::Nl),
        ("de-DE,de;q=0.9,en;q=0.3", Lang::En),
        ("fr, en;q=0", Lang::Nl),
        ("en;q=0, nl;q=0", Lang::Nl),
        ("*", Lang::Nl),
        ("en;q=0.8, *;q=0.5", Lang::En),
        ("en ; q=0.7 , nl ; q=0.70", Lang::En),
        ("en;q=garbage, nl;q=0.1", Lang::Nl),
        ("english", Lang::Nl),
    ];
    for (header, expected) in cases {
        assert_eq!(Lang::from_accept_language(header), expected, "{header:?}");
    }
}

#[test]
fn choices_parse_case_insensitively() {
    assert_eq!("NL".parse::<Lang>(), Ok(Lang::Nl));
    assert_eq!("en".parse::<Lang>(), Ok(Lang::En));
    assert!("de".parse::<Lang>().is_err());
    assert_eq!(Lang::En.as_str(), "en");
    assert_eq!("md".parse::<Format>(), Ok(Format::Markdown));
    assert_eq!("Markdown".parse::<Format>(), Ok(Format::Markdown));
    assert_eq!("HTML".parse::<Format>(), Ok(Format::Html));
    assert!("pdf".parse::<Format>().is_err());
    assert_eq!("csv".parse::<RopaFormat>(), Ok(RopaFormat::Csv));
    assert_eq!("Json".parse::<RopaFormat>(), Ok(RopaFormat::Json));
    assert_eq!("html".parse::<RopaFormat>(), Ok(RopaFormat::Html));
    let err = "xml".parse::<RopaFormat>().unwrap_err();
    assert_eq!(err.to_string(), "`xml` is not one of csv, json, html");
}

// ---------------------------------------------------------------------------------------------
// Art. 30

/// The Art. 30(1) fields every activity must fill, as CSV columns.
const ART30_1_COLUMNS: [&str; 10] = [
    "controller",                  // (a)
    "dpo",                         // (a)
    "purpose_nl",                  // (b)
    "purpose_en",                  // (b)
    "data_subject_categories_en",  // (c)
    "personal_data_categories_en", // (c)
    "recipient_categories_en",     // (d)
    "third_country_transfers",     // (e)
    "erasure_time_limits_en",      // (f)
    "security_measures_en",        // (g)
];

fn csv_rows(text: &str) -> Vec<std::collections::HashMap<String, String>> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers: Vec<String> = reader.headers().expect("header").iter().map(str::to_owned).collect();
    reader
        .records()
        .map(|r| {
            let record = r.expect("RFC 4180 record");
            assert_eq!(record.len(), headers.len());
            headers.iter().cloned().zip(record.iter().map(str::to_owned)).collect()
        })
        .collect()
}

#[test]
fn ropa_csv_has_every_art30_1_field_for_every_purpose() {
    for name in EXAMPLES {
        let register = example(name);
        let out = ropa(&register, RopaFormat::Csv, &meta());
        assert!(out.contains("\r\n"));
        let rows = csv_rows(&out);
        let controller_rows: Vec<_> = rows.iter().filter(|r| r["record"] == "art30_1").collect();
        assert_eq!(controller_rows.len(), register.purposes.len(), "{name}");
        for (id, p) in &register.purposes {
            let row = controller_rows.iter().find(|r| r["id"] == *id).unwrap_or_else(|| panic!("{name}: {id}"));
            for column in ART30_1_COLUMNS {
                assert!(!row[column].trim().is_empty(), "{name} {id}: {column} empty");
            }
            assert!(row["controller"].contains(&register.controller.name));
            assert!(row["purpose_en"].contains(&p.name.en) && row["purpose_nl"].contains(&p.name.nl));
            for subject in &p.subjects {
                assert!(row["data_subject_categories_en"].contains(&register.subjects[subject].en));
            }
            for category in &p.categories {
                assert!(row["personal_data_categories_en"].contains(category.as_str()));
            }
            for recipient in &p.recipients {
                assert!(row["recipient_categories_en"].contains(&register.recipients[recipient].name));
                if let Some(transfer) = &register.recipients[recipient].transfer {
                    assert!(row["third_country_transfers"].contains(&transfer.reference));
                }
            }
            for rule in register.retention.values().filter(|r| r.purpose == *id) {
                assert!(row["erasure_time_limits_en"].contains(&rule.text.en));
                assert!(row["erasure_time_limits_nl"].contains(&rule.text.nl));
            }
            for measure in register.security.values() {
                assert!(row["security_measures_nl"].contains(&measure.nl));
            }
            assert_eq!(row["register_sha256"], meta().hash);
        }
    }
}

#[test]
fn ropa_json_has_every_art30_1_field_for_every_purpose() {
    for name in EXAMPLES {
        let register = example(name);
        let json: serde_json::Value = serde_json::from_str(&ropa(&register, RopaFormat::Json, &meta())).expect("JSON");
        assert_eq!(json["record"], "kluis-ropa");
        assert_eq!(json["register"]["version"], 3);
        let activities = json["activities"].as_array().expect("activities");
        assert_eq!(activities.len(), register.purposes.len());
        for ((id, p), activity) in register.purposes.iter().zip(activities) {
            assert_eq!(activity["id"], id.as_str());
            assert_eq!(activity["controller"]["name"], register.controller.name.as_str()); // (a)
            assert!(activity["controller"]["email"].is_string()); // (a)
            assert!(activity["controller"].get("dpo").is_some()); // (a)
            assert_eq!(activity["purpose"]["name"]["en"], p.name.en.as_str()); // (b)
            assert_eq!(activity["purpose"]["description"]["nl"], p.description.nl.as_str()); // (b)
            assert_eq!(activity["data_subject_categories"].as_array().map(Vec::len), Some(p.subjects.len())); // (c)
            assert_eq!(activity["personal_data_categories"].as_array().map(Vec::len), Some(p.categories.len())); // (c)
            assert_eq!(activity["recipients"].as_array().map(Vec::len), Some(p.recipients.len())); // (d)
            let transfers = p.recipients.iter().filter(|r| register.recipients[*r].transfer.is_some()).count();
            assert_eq!(activity["third_country_transfers"].as_array().map(Vec::len), Some(transfers)); // (e)
            let rules = register.retention.values().filter(|r| r.purpose == *id).count();
            let limits = activity["erasure_time_limits"].as_array().expect("(f)");
            assert_eq!(limits.len(), rules);
            assert!(limits.iter().all(|l| l["period"].is_string() && l["from"].is_string() && l["action"].is_string()));
            assert_eq!(activity["security_measures"].as_array().map(Vec::len), Some(register.security.len())); // (g)
            assert_eq!(activity["legal_basis"]["basis"], p.legal_basis.expect("basis").as_str());
        }
        assert_eq!(json["processor_record"].is_null(), register.processor.is_none(), "{name}");
    }
}

#[test]
fn ropa_html_has_every_art30_1_field_for_every_purpose() {
    for name in EXAMPLES {
        let register = example(name);
        let html = ropa(&register, RopaFormat::Html, &meta());
        let doc = parse_html(&html);
        for id in register.purposes.keys() {
            let section = doc
                .descendants()
                .find(|n| n.has_tag_name("section") && n.attribute("id") == Some(&format!("activity-{id}")))
                .unwrap_or_else(|| panic!("{name}: {id}"));
            let rows: Vec<(String, String)> = section
                .descendants()
                .filter(|n| n.has_tag_name("tr"))
                .map(|tr| {
                    let th = tr.children().find(|n| n.has_tag_name("th")).map(text_of).unwrap_or_default();
                    let td = tr.children().find(|n| n.has_tag_name("td")).map(text_of).unwrap_or_default();
                    (th, td)
                })
                .collect();
            for field in ["30(1)(a)", "30(1)(b)", "30(1)(c)", "30(1)(d)", "30(1)(e)", "30(1)(f)", "30(1)(g)"] {
                let hits: Vec<_> = rows.iter().filter(|(th, _)| th.contains(field)).collect();
                assert!(!hits.is_empty(), "{name} {id}: {field}");
                assert!(hits.iter().all(|(_, td)| !td.trim().is_empty()), "{name} {id}: {field} empty");
            }
        }
    }
}

#[test]
fn ropa_art30_2_processor_record_for_crm_saas() {
    let register = example("crm-saas");
    let processor = register.processor.as_ref().expect("crm-saas declares [processor]");
    assert_eq!(processor.controllers.len(), 2);

    let rows = csv_rows(&ropa(&register, RopaFormat::Csv, &meta()));
    let entries: Vec<_> = rows.iter().filter(|r| r["record"] == "art30_2").collect();
    assert_eq!(entries.len(), 2);
    for (row, pc) in entries.iter().zip(&processor.controllers) {
        assert!(row["processor"].contains(&register.controller.name)); // (a) processor
        assert!(row["controller"].contains(&pc.name) && row["controller"].contains(&pc.contact)); // (a) controller
        assert!(!row["dpo"].is_empty()); // (a) DPO
        for processing in &pc.processing {
            assert!(row["processing_categories_en"].contains(&processing.en)); // (b)
        }
        assert!(!row["third_country_transfers"].is_empty()); // (c)
        assert!(!row["security_measures_en"].is_empty()); // (d)
    }
    assert!(entries[1]["security_measures_en"].contains("two-factor"));

    let json: serde_json::Value = serde_json::from_str(&ropa(&register, RopaFormat::Json, &meta())).expect("JSON");
    let record = &json["processor_record"];
    assert_eq!(record["processor"]["name"], register.controller.name.as_str());
    let entries = record["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 2);
    for entry in entries {
        for key in ["controller", "processing", "third_country_transfers", "security_measures"] {
            assert!(entry.get(key).is_some(), "{key}");
        }
        assert!(entry["controller"]["contact"].is_string());
        assert!(!entry["security_measures"].as_array().expect("(d)").is_empty());
    }

    let html = ropa(&register, RopaFormat::Html, &meta());
    let doc = parse_html(&html);
    let section = doc.descendants().find(|n| n.attribute("id") == Some("art30-2")).expect("30(2) section");
    let text = text_of(section);
    for field in ["30(2)(a)", "30(2)(b)", "30(2)(c)", "30(2)(d)"] {
        assert!(text.contains(field), "{field}");
    }
    assert!(text.contains("Voorbeeld Makelaardij B.V.") && text.contains("Voorbeeld Installatietechniek B.V."));

    let hosting = example("hosting-provider");
    let html = ropa(&hosting, RopaFormat::Html, &meta());
    assert!(!html.contains("art30-2"));
    assert!(!csv_rows(&ropa(&hosting, RopaFormat::Csv, &meta())).iter().any(|r| r["record"] == "art30_2"));
}

// ---------------------------------------------------------------------------------------------
// Snapshots

#[test]
fn snapshots_of_the_statements() {
    for name in EXAMPLES {
        let register = example(name);
        for lang in LANGS {
            for (format, ext) in [(Format::Markdown, "md"), (Format::Html, "html")] {
                insta::assert_snapshot!(
                    format!("statement_{name}_{lang}_{ext}"),
                    statement(&register, lang, format, &meta())
                );
            }
        }
    }
}

#[test]
fn snapshots_of_the_ropa() {
    for name in EXAMPLES {
        let register = example(name);
        for (format, ext) in [(RopaFormat::Csv, "csv"), (RopaFormat::Json, "json"), (RopaFormat::Html, "html")] {
            insta::assert_snapshot!(format!("ropa_{name}_{ext}"), ropa(&register, format, &meta()));
        }
    }
}

#[test]
fn output_is_deterministic() {
    let register = example("crm-saas");
    assert_eq!(
        statement(&register, Lang::Nl, Format::Html, &meta()),
        statement(&register, Lang::Nl, Format::Html, &meta())
    );
    assert_eq!(ropa(&register, RopaFormat::Json, &meta()), ropa(&register, RopaFormat::Json, &meta()));
}
