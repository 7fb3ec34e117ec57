//! One test per `register check` rule, each with the exact diagnostic: line, column, code and
//! message. Every test starts from `BASE`, a minimal register that passes, and breaks one thing.

use kluis_register::{Diagnostic, RULES, check, parse};

/// A minimal register that passes every rule. Line numbers in the tests below count from here.
const BASE: &str = r#"[controller]
name = "Voorbeeld B.V."
address = { street = "Straat 1", postcode = "1234 AB", city = "Utrecht", country = "NL" }
contact = { email = "privacy@example.nl" }
supervisory_authority = { name = "Autoriteit Persoonsgegevens", website = "https://autoriteitpersoonsgegevens.nl" }

[subjects]
customer = { nl = "Klanten", en = "Customers" }

[categories]
"user.name" = { nl = "Naam", en = "Name" }
"user.contact.email" = { nl = "E-mailadres", en = "E-mail address" }

[purposes.billing]
name = { nl = "Facturatie", en = "Invoicing" }
description = { nl = "Facturen sturen.", en = "Sending invoices." }
legal_basis = "contract"
categories = ["user.name", "user.contact.email"]
subjects = ["customer"]
recipients = ["accountant"]
provision = { requirement = "contractual", consequence = { nl = "Geen factuur.", en = "No invoice." } }

[recipients.accountant]
name = "Boekhouder"
role = "processor"
purpose = { nl = "Boekhouding.", en = "Bookkeeping." }
categories = ["user.name"]
country = "NL"

[roles.finance]
name = { nl = "Financiën", en = "Finance" }
purposes = ["billing"]

[retention.invoices]
purpose = "billing"
period = "7y"
from = "end_of_fiscal_year"
action = "delete"
legal_reference = "AWR art. 52"
text = { nl = "Zeven jaar.", en = "Seven years." }
"#;

fn replaced(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "BASE has no {from:?}");
    BASE.replacen(from, to, 1)
}

fn diagnostics(text: &str) -> Vec<String> {
    match check(text) {
        Ok(_) => Vec::new(),
        Err(found) => found.iter().map(ToString::to_string).collect(),
    }
}

fn only(text: &str) -> Diagnostic {
    let found = check(text).err().unwrap_or_default();
    assert_eq!(found.len(), 1, "{found:#?}");
    found.into_iter().next().unwrap_or_else(|| unreachable!())
}

#[test]
fn base_passes() {
    assert_eq!(diagnostics(BASE), Vec::<String>::new());
    let register = check(BASE).expect("BASE passes");
    assert_eq!(register.purposes["billing"].categories.len(), 2);
}

#[test]
fn every_rule_code_is_unique_and_tested_here() {
    let source = include_str!("rules.rs");
    let mut seen = std::collections::HashSet::new();
    for (code, _) in RULES {
        assert!(seen.insert(code), "{code} twice");
        assert!(source.matches(&format!(": {code}: ")).count() >= 1, "no test shows {code}");
    }
}

#[test]
fn syntax() {
    let text = replaced("legal_basis = \"contract\"", "legal_basis = \"contract");
    assert_eq!(diagnostics(&text), ["17:24: syntax: invalid basic string, expected `\"`"]);
}

#[test]
fn schema_unknown_key() {
    let text = replaced("subjects = [\"customer\"]", "subjects = [\"customer\"]\nlegal_grounds = \"contract\"");
    let d = only(&text);
    assert_eq!(d.path, "purposes.billing.legal_grounds");
    assert!(d.to_string().starts_with("20:1: schema: unknown field `legal_grounds`, expected one of `name`"), "{d}");
}

#[test]
fn schema_bad_value() {
    let text = replaced("legal_basis = \"contract\"", "legal_basis = \"f\"");
    let d = only(&text);
    assert_eq!(d.path, "purposes.billing.legal_basis");
    assert_eq!(
        d.to_string(),
        "17:15: schema: unknown variant `f`, expected one of `consent`, `contract`, `legal_obligation`, \
         `vital_interests`, `public_task`, `legitimate_interests`"
    );
}

#[test]
fn schema_bad_period() {
    let text = replaced("period = \"7y\"", "period = \"7 years\"");
    assert_eq!(
        diagnostics(&text),
        [
            "36:10: schema: a period is a whole number (0 to 9999) followed by d, w, m or y, such as `0d`, `4w`, `6m` or `7y`"
        ]
    );
}

#[test]
fn invalid_key() {
    let text = BASE
        .replace("[recipients.accountant]", "[recipients.Accountant]")
        .replace("\"accountant\"]", "\"Accountant\"]");
    assert_eq!(
        diagnostics(&text),
        [
            "23:13: invalid-key: `Accountant` is not a valid id in [recipients]: use lowercase letters a-z, digits and `_`, \
          starting with a letter, at most 64 characters (such as `service_delivery`)"
        ]
    );
}

#[test]
fn unknown_category() {
    let text = replaced("categories = [\"user.name\"]", "categories = [\"user.name\", \"user.contact.emial\"]");
    let d = only(&text);
    assert_eq!(d.path, "recipients.accountant.categories[1]");
    assert_eq!(
        d.to_string(),
        "27:28: unknown-category: unknown data category `user.contact.emial`: declare it under [categories] with \
         its Dutch and English description (Art. 30(1)(c), R-30-1)"
    );
}

#[test]
fn unknown_subject() {
    let text = replaced("subjects = [\"customer\"]", "subjects = [\"customers\"]");
    assert_eq!(
        diagnostics(&text),
        [
            "19:13: unknown-subject: unknown data-subject category `customers`: declare it under [subjects] (Art. 30(1)(c))"
        ]
    );
}

#[test]
fn unknown_recipient() {
    let text = replaced("recipients = [\"accountant\"]", "recipients = [\"accountant\", \"bank\"]");
    assert_eq!(
        diagnostics(&text),
        ["20:29: unknown-recipient: unknown recipient `bank`: declare it under [recipients] (Art. 13(1)(e))"]
    );
}

#[test]
fn unknown_purpose() {
    let text = replaced("purposes = [\"billing\"]", "purposes = [\"billing\", \"payroll\"]");
    assert_eq!(diagnostics(&text), ["32:24: unknown-purpose: unknown purpose `payroll`: declare it under [purposes]"]);
}

#[test]
fn forbidden_category() {
    let text = replaced(
        "\"user.contact.email\" = { nl = \"E-mailadres\", en = \"E-mail address\" }",
        "\"user.contact.email\" = { nl = \"E-mailadres\", en = \"E-mail address\" }\n\
         \"user.government_id.national_identification_number\" = { nl = \"BSN\", en = \"BSN\" }",
    )
    .replace(
        "categories = [\"user.name\", \"user.contact.email\"]",
        "categories = [\"user.name\", \"user.contact.email\", \"user.government_id.national_identification_number\"]",
    );
    assert_eq!(
        diagnostics(&text),
        ["19:50: forbidden-category: `user.government_id.national_identification_number` (national id number such \
          as the BSN, ID-document data or date of birth) may only be processed where a statute requires it, and \
          consent does not make it lawful (UAVG art. 46, R-NL-BSN-1, R-NL-ID-3): give purpose `billing` \
          legal_basis = \"legal_obligation\" with the statute in legal_reference, or drop the category"]
    );
    // With a statutory basis and its reference the category is allowed (payroll, Wet LB).
    let statutory = text.replace(
        "legal_basis = \"contract\"",
        "legal_basis = \"legal_obligation\"\nlegal_reference = \"Wet op de loonbelasting 1964 art. 28\"",
    );
    assert_eq!(diagnostics(&statutory), Vec::<String>::new());
}

#[test]
fn missing_legal_basis() {
    let text = replaced("legal_basis = \"contract\"\n", "");
    assert_eq!(
        diagnostics(&text),
        ["14:11: missing-legal-basis: purpose `billing` has no legal_basis: name exactly one of consent, contract, \
          legal_obligation, vital_interests, public_task or legitimate_interests (Art. 6(1)(a)-(f), R-6-1); the \
          statement must give it per purpose (Art. 13(1)(c))"]
    );
}

#[test]
fn missing_legal_reference() {
    let text = replaced("legal_basis = \"contract\"", "legal_basis = \"legal_obligation\"");
    assert_eq!(
        diagnostics(&text),
        ["17:15: missing-legal-reference: purpose `billing` relies on a legal obligation (Art. 6(1)(c)) but names \
          no statute: add legal_reference, such as \"AWR art. 52\" (R-6-1)"]
    );
}

#[test]
fn missing_legitimate_interest() {
    let text = replaced(
        "legal_basis = \"contract\"",
        "legal_basis = \"legitimate_interests\"\nlegitimate_interest = { nl = \"Fraude voorkomen.\", en = \"Preventing fraud.\" }",
    );
    assert_eq!(
        diagnostics(&text),
        ["17:15: missing-legitimate-interest: purpose `billing` relies on legitimate interests (Art. 6(1)(f)) \
          without a balancing assessment (interest_assessment) (R-6-2); the statement must name the interest \
          (Art. 13(1)(d))"]
    );
    let neither = replaced("legal_basis = \"contract\"", "legal_basis = \"legitimate_interests\"");
    assert!(only(&neither).message.contains("without the interest pursued (legitimate_interest) and a balancing"));
}

#[test]
fn consent_without_withdrawal() {
    let text = replaced("legal_basis = \"contract\"", "legal_basis = \"consent\"");
    assert_eq!(
        diagnostics(&text),
        ["17:15: consent-without-withdrawal: purpose `billing` relies on consent but says no way to withdraw it: \
          add withdrawal, a channel as easy as giving consent, such as an unsubscribe link (Art. 7(3), R-7-3, \
          Art. 13(2)(c))"]
    );
    let fixed = text.replace(
        "legal_basis = \"consent\"",
        "legal_basis = \"consent\"\nwithdrawal = { nl = \"Afmeldlink.\", en = \"Unsubscribe link.\" }",
    );
    assert_eq!(diagnostics(&fixed), Vec::<String>::new());
}

#[test]
fn missing_provision() {
    let text = replaced(
        "provision = { requirement = \"contractual\", consequence = { nl = \"Geen factuur.\", en = \"No invoice.\" } }\n",
        "",
    );
    assert_eq!(
        diagnostics(&text),
        ["14:11: missing-provision: purpose `billing` does not say whether providing the data is a statutory or \
          contractual requirement, or what happens if they are not provided: add provision = { requirement = ..., \
          consequence = { nl = ..., en = ... } } (Art. 13(2)(e))"]
    );
    // Data from another source (Art. 14) have no Art. 13(2)(e) element.
    let sourced =
        text.replace("subjects = [\"customer\"]", "subjects = [\"customer\"]\nsource = { nl = \"KvK\", en = \"KvK\" }");
    assert_eq!(diagnostics(&sourced), Vec::<String>::new());
}

#[test]
fn automated_decision_without_logic() {
    let text = replaced("subjects = [\"customer\"]", "subjects = [\"customer\"]\nautomated_decision = { used = true }");
    assert_eq!(
        diagnostics(&text),
        ["20:31: automated-decision-without-logic: purpose `billing` takes automated decisions but does not \
          explain them: add logic and significance (Art. 13(2)(f), 22, R-22-2)"]
    );
}

#[test]
fn missing_retention() {
    let text = replaced("purpose = \"billing\"", "purpose = \"billing_archive\"");
    assert_eq!(
        diagnostics(&text),
        [
            "14:11: missing-retention: purpose `billing` has no retention rule: add a [retention.*] rule with purpose \
             = \"billing\", a period, the event it runs from and the action (Art. 5(1)(e), 13(2)(a), 30(1)(f), R-5-5)",
            "35:11: unknown-purpose: unknown purpose `billing_archive`: declare it under [purposes]",
        ]
    );
}

#[test]
fn retention_without_period() {
    let text = replaced("period = \"7y\"\n", "");
    assert_eq!(
        diagnostics(&text),
        ["34:12: retention-without-period: retention rule `invoices` has no period, so no sweeper can execute it \
          and the statement can only say \"temporarily\": add period, such as \"3m\" or \"0d\" (Art. 13(2)(a), R-5-5)"]
    );
}

#[test]
fn retention_category_not_in_purpose() {
    let text = replaced("period = \"7y\"", "categories = [\"user.name\"]\nperiod = \"7y\"")
        .replace("categories = [\"user.name\", \"user.contact.email\"]", "categories = [\"user.contact.email\"]");
    assert_eq!(
        diagnostics(&text),
        ["36:15: retention-category-not-in-purpose: purpose `billing` does not process `user.name`, so rule \
          `invoices` cannot apply to it: add the category to the purpose or remove it here"]
    );
}

#[test]
fn missing_recipient_country() {
    let text = replaced("country = \"NL\"\n\n[roles", "\n[roles");
    assert_eq!(
        diagnostics(&text),
        ["23:13: missing-recipient-country: recipient `accountant` has no country: without it no one can tell \
          whether data leave the EEA (Art. 13(1)(f), 30(1)(e), R-44-1)"]
    );
}

#[test]
fn transfer_without_mechanism() {
    let text = replaced("country = \"NL\"\n\n[roles", "country = \"US\"\n\n[roles");
    assert_eq!(
        diagnostics(&text),
        ["28:11: transfer-without-mechanism: recipient `accountant` is in US, outside the EEA, without a transfer \
          mechanism: add transfer = { mechanism = \"adequacy\", \"scc\", \"bcr\" or \"derogation\", reference = ... } \
          (Art. 44-49, R-44-1, R-44-4)"]
    );
    let fixed = text.replace(
        "country = \"US\"",
        "country = \"US\"\ntransfer = { mechanism = \"scc\", reference = \"SCC 2021/914 module 2\" }",
    );
    assert_eq!(diagnostics(&fixed), Vec::<String>::new());
    let norway = replaced("country = \"NL\"\n\n[roles", "country = \"NO\"\n\n[roles");
    assert_eq!(diagnostics(&norway), Vec::<String>::new());
}

#[test]
fn invalid_notify_address() {
    let with = |notify: &str| {
        replaced("country = \"NL\"\n\n[roles", &format!("country = \"NL\"\nnotify = {notify}\n\n[roles"))
    };
    let text = with("\"boekhouder.example.nl\"");
    assert_eq!(
        diagnostics(&text),
        ["29:10: invalid-notify-address: recipient `accountant` has a notify address that is not a plausible \
          e-mail address: it has no `@`; Art. 19 notices of a rectification, erasure or restriction are sent there, \
          so give one bare address, such as \"privacy@example.com\", or leave notify out (Art. 19)"]
    );
    let d = only(&text);
    assert_eq!(d.path, "recipients.accountant.notify");
    for (bad, problem) in [
        ("\"\"", "it is empty"),
        ("\"privacy@boekhouder\"", "not a domain name with a dot"),
        ("\"@boekhouder.example\"", "nothing comes before the `@`"),
        ("\"a@b@boekhouder.example\"", "more than one `@`"),
        ("\"Boekhouder <privacy@boekhouder.example>\"", "whitespace"),
        ("\"privacy@boekhouder.example\\t\"", "control character"),
        ("\"mailto:privacy@boekhouder.example\"", "mailto:"),
    ] {
        let d = only(&with(bad));
        assert_eq!((d.rule, d.line, d.column), ("invalid-notify-address", 29, 10), "{bad}");
        assert!(d.message.contains(&format!("address: {problem}")) || d.message.contains(problem), "{bad}: {d}");
    }
    let long = format!("\"{}@boekhouder.example\"", "p".repeat(240));
    assert!(only(&with(&long)).message.contains("longer than 254 bytes"));
    // A wrong type is a schema error, as for every key.
    assert_eq!(only(&with("[\"privacy@boekhouder.example\"]")).rule, "schema");
    let fine = with("\"privacy@boekhouder.example\"");
    assert_eq!(diagnostics(&fine), Vec::<String>::new());
    let register = check(&fine).expect("a plausible address passes");
    assert_eq!(register.recipients["accountant"].notify.as_deref(), Some("privacy@boekhouder.example"));
    assert_eq!(check(BASE).expect("BASE passes").recipients["accountant"].notify, None, "notify is optional");
}

#[test]
fn missing_controller_contact() {
    let text = replaced("contact = { email = \"privacy@example.nl\" }\n", "");
    assert_eq!(
        diagnostics(&text),
        ["1:2: missing-controller-contact: the controller has no contact channel (contact.email, contact.phone or \
          contact.web_form): the statement must give both (Art. 13(1)(a))"]
    );
}

#[test]
fn missing_supervisory_authority() {
    let text = replaced(
        "supervisory_authority = { name = \"Autoriteit Persoonsgegevens\", website = \"https://autoriteitpersoonsgegevens.nl\" }\n",
        "",
    );
    assert_eq!(
        diagnostics(&text),
        ["1:2: missing-supervisory-authority: the controller names no supervisory_authority: the statement must \
          tell people they may complain to it, in the Netherlands the Autoriteit Persoonsgegevens (Art. 13(2)(d), \
          R-12-4)"]
    );
}

#[test]
fn response_time_too_long() {
    let text = format!("{BASE}\n[rights]\nresponse_time = \"6w\"\n");
    assert_eq!(
        diagnostics(&text),
        ["43:17: response-time-too-long: a response time of 6w can exceed one month: requests must be answered \
          within one month of receipt (Art. 12(3), R-12-2); use at most 1m, 4w or 28d"]
    );
}

const VERIFICATION: &str = "\n[rights.identity_verification]\nmethods = [\"email_code\", \"id_document\"]\n";

#[test]
fn id_copy_by_default() {
    let text = format!(
        "{BASE}{VERIFICATION}id_copy = \"always\"\nshield = [\"bsn\", \"photo\", \"mrz\", \"document_number\", \"nationality\"]\n\
         text = {{ nl = \"Altijd een kopie.\", en = \"Always a copy.\" }}\n"
    );
    assert_eq!(
        diagnostics(&text),
        ["44:11: id-copy-by-default: an ID copy for every request is disproportionate: ask for one only per case, \
          with a recorded reason, when lighter checks such as an e-mailed code fail (R-NL-ID-1, EDPB Guidelines \
          01/2022); use id_copy = \"when_necessary\" or \"never\""]
    );
}

#[test]
fn id_copy_unshielded() {
    let text = format!(
        "{BASE}{VERIFICATION}id_copy = \"when_necessary\"\nshield = [\"photo\", \"mrz\", \"document_number\"]\n\
         text = {{ nl = \"Kopie.\", en = \"Copy.\" }}\n"
    );
    assert_eq!(
        diagnostics(&text),
        ["45:10: id-copy-unshielded: an ID copy must have the BSN, photo, MRZ, document number and nationality \
          blacked out; shield lacks bsn, nationality (R-NL-ID-2, R-NL-BSN-4)"]
    );
    let never = format!("{BASE}{VERIFICATION}id_copy = \"never\"\ntext = {{ nl = \"Nooit.\", en = \"Never.\" }}\n");
    assert_eq!(diagnostics(&never), Vec::<String>::new());
}

#[test]
fn all_problems_are_reported_sorted_by_position() {
    let text = replaced("legal_basis = \"contract\"\n", "")
        .replace("country = \"NL\"\n\n[roles", "country = \"US\"\n\n[roles")
        .replace("purposes = [\"billing\"]", "purposes = [\"payroll\"]");
    let rules: Vec<&str> = check(&text).err().unwrap_or_default().iter().map(|d| d.rule).collect();
    assert_eq!(rules, ["missing-legal-basis", "transfer-without-mechanism", "unknown-purpose"]);
}

#[test]
fn parse_skips_the_semantic_rules() {
    let text = replaced("legal_basis = \"contract\"\n", "");
    let register = parse(&text).expect("schema-valid");
    assert_eq!(register.purposes["billing"].legal_basis, None);
    assert!(check(&text).is_err());
}
