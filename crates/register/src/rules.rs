//! The semantic rules of `kluis register check`. Each has a stable code; messages cite the
//! requirement ids of gdpr-requirements.md (`R-<art>-<n>`) and the articles they come from.

use std::collections::HashSet;

use kluis_domain::Purpose;
use kluis_domain::fields::Category;

use crate::model::{IdCopy, IdShield, LegalBasis, Register};
use crate::spans::SpanIndex;
use crate::{Diagnostic, SCHEMA, SYNTAX};

pub const INVALID_KEY: &str = "invalid-key";
pub const UNKNOWN_CATEGORY: &str = "unknown-category";
pub const UNKNOWN_SUBJECT: &str = "unknown-subject";
pub const UNKNOWN_RECIPIENT: &str = "unknown-recipient";
pub const UNKNOWN_PURPOSE: &str = "unknown-purpose";
pub const FORBIDDEN_CATEGORY: &str = "forbidden-category";
pub const MISSING_LEGAL_BASIS: &str = "missing-legal-basis";
pub const MISSING_LEGAL_REFERENCE: &str = "missing-legal-reference";
pub const MISSING_LEGITIMATE_INTEREST: &str = "missing-legitimate-interest";
pub const CONSENT_WITHOUT_WITHDRAWAL: &str = "consent-without-withdrawal";
pub const MISSING_PROVISION: &str = "missing-provision";
pub const AUTOMATED_DECISION_WITHOUT_LOGIC: &str = "automated-decision-without-logic";
pub const MISSING_RETENTION: &str = "missing-retention";
pub const RETENTION_WITHOUT_PERIOD: &str = "retention-without-period";
pub const RETENTION_CATEGORY_NOT_IN_PURPOSE: &str = "retention-category-not-in-purpose";
pub const MISSING_RECIPIENT_COUNTRY: &str = "missing-recipient-country";
pub const TRANSFER_WITHOUT_MECHANISM: &str = "transfer-without-mechanism";
pub const INVALID_NOTIFY_ADDRESS: &str = "invalid-notify-address";
pub const MISSING_CONTROLLER_CONTACT: &str = "missing-controller-contact";
pub const MISSING_SUPERVISORY_AUTHORITY: &str = "missing-supervisory-authority";
pub const RESPONSE_TIME_TOO_LONG: &str = "response-time-too-long";
pub const ID_COPY_BY_DEFAULT: &str = "id-copy-by-default";
pub const ID_COPY_UNSHIELDED: &str = "id-copy-unshielded";

/// Every rule code with a one-line summary, in the order `docs/REGISTER.md` lists them.
pub const RULES: [(&str, &str); 25] = [
    (SYNTAX, "the file is not valid TOML"),
    (SCHEMA, "a key is unknown or missing, or a value has the wrong type or form"),
    (INVALID_KEY, "an id (purpose, recipient, rule, ...) is not snake_case"),
    (UNKNOWN_CATEGORY, "a data category is used but not declared under [categories] (Art. 30(1)(c))"),
    (UNKNOWN_SUBJECT, "a data-subject category is used but not declared under [subjects] (Art. 30(1)(c))"),
    (UNKNOWN_RECIPIENT, "a recipient is used but not declared under [recipients] (Art. 13(1)(e))"),
    (UNKNOWN_PURPOSE, "a purpose is used but not declared under [purposes]"),
    (FORBIDDEN_CATEGORY, "BSN, date of birth or ID-document data without a statutory basis (R-NL-BSN-1)"),
    (MISSING_LEGAL_BASIS, "a purpose has no legal basis (Art. 6(1), 13(1)(c), R-6-1)"),
    (MISSING_LEGAL_REFERENCE, "a legal obligation names no statute (R-6-1)"),
    (MISSING_LEGITIMATE_INTEREST, "legitimate interests without the interest or its assessment (R-6-2)"),
    (CONSENT_WITHOUT_WITHDRAWAL, "a consent purpose says no way to withdraw (Art. 7(3), R-7-3)"),
    (MISSING_PROVISION, "a purpose does not say whether providing the data is required (Art. 13(2)(e))"),
    (AUTOMATED_DECISION_WITHOUT_LOGIC, "automated decisions without their logic and consequences (Art. 13(2)(f))"),
    (MISSING_RETENTION, "a purpose has no retention rule (Art. 13(2)(a), 30(1)(f), R-5-5)"),
    (RETENTION_WITHOUT_PERIOD, "a retention rule has no period, so no sweeper can run it (R-5-5)"),
    (RETENTION_CATEGORY_NOT_IN_PURPOSE, "a retention rule names a category its purpose does not process"),
    (MISSING_RECIPIENT_COUNTRY, "a recipient has no country (Art. 13(1)(f), R-44-1)"),
    (TRANSFER_WITHOUT_MECHANISM, "a recipient outside the EEA has no transfer mechanism (Art. 44-49, R-44-1)"),
    (INVALID_NOTIFY_ADDRESS, "a recipient's notify address is not a plausible e-mail address (Art. 19)"),
    (MISSING_CONTROLLER_CONTACT, "the controller has no address or no contact channel (Art. 13(1)(a))"),
    (MISSING_SUPERVISORY_AUTHORITY, "no supervisory authority to complain to (Art. 13(2)(d))"),
    (RESPONSE_TIME_TOO_LONG, "the promised response time can exceed one month (Art. 12(3), R-12-2)"),
    (ID_COPY_BY_DEFAULT, "an ID copy is asked for every request (R-NL-ID-1)"),
    (ID_COPY_UNSHIELDED, "an ID copy without BSN, photo, MRZ, number and nationality blacked out (R-NL-ID-2)"),
];

struct Checker<'a> {
    register: &'a Register,
    spans: &'a SpanIndex,
    text: &'a str,
    out: Vec<Diagnostic>,
}

pub(crate) fn run(register: &Register, spans: &SpanIndex, text: &str) -> Vec<Diagnostic> {
    let mut checker = Checker { register, spans, text, out: Vec::new() };
    checker.keys();
    checker.controller();
    checker.purposes();
    checker.recipients();
    checker.cookies();
    checker.roles();
    checker.rights();
    checker.retention();
    checker.out
}

impl Checker<'_> {
    /// A problem with the value at `path` (a category in a list, a legal basis).
    fn at_value(&mut self, rule: &'static str, path: String, message: String) {
        let offset = self.spans.value_start(&path);
        self.out.push(Diagnostic::at(self.text, offset, rule, path, message));
    }

    /// A problem with the table or key at `path` as a whole, usually something missing in it:
    /// reported at the key that names it (`billing` in `[purposes.billing]`).
    fn at_key(&mut self, rule: &'static str, path: String, message: String) {
        let offset = self.spans.key_start(&path);
        self.out.push(Diagnostic::at(self.text, offset, rule, path, message));
    }

    fn category_known(&self, category: &Category) -> bool {
        self.register.categories.contains_key(category)
    }

    fn categories(&mut self, path: &str, categories: &[Category]) {
        for (i, category) in categories.iter().enumerate() {
            if !self.category_known(category) {
                self.at_value(
                    UNKNOWN_CATEGORY,
                    format!("{path}[{i}]"),
                    format!(
                        "unknown data category `{category}`: declare it under [categories] with its Dutch and \
                         English description (Art. 30(1)(c), R-30-1)"
                    ),
                );
            }
        }
    }

    /// Ids of purposes, recipients, rules and the like are snake_case, like the purpose keys that
    /// API calls name (kluis_domain::Purpose).
    fn keys(&mut self) {
        let r = self.register;
        let tables: [(&str, Vec<&String>); 7] = [
            ("subjects", r.subjects.keys().collect()),
            ("purposes", r.purposes.keys().collect()),
            ("recipients", r.recipients.keys().collect()),
            ("cookies", r.cookies.keys().collect()),
            ("security", r.security.keys().collect()),
            ("roles", r.roles.keys().collect()),
            ("retention", r.retention.keys().collect()),
        ];
        for (table, keys) in tables {
            for key in keys {
                if Purpose::parse(key).is_ok_and(|p| p.as_str() == key) {
                    continue;
                }
                self.at_key(
                    INVALID_KEY,
                    format!("{table}.{key}"),
                    format!(
                        "`{key}` is not a valid id in [{table}]: use lowercase letters a-z, digits and `_`, \
                         starting with a letter, at most {} characters (such as `service_delivery`)",
                        Purpose::MAX_LEN
                    ),
                );
            }
        }
    }

    fn controller(&mut self) {
        let controller = &self.register.controller;
        let contact = &controller.contact;
        let has_channel = contact.email.is_some() || contact.phone.is_some() || contact.web_form.is_some();
        // Art. 13(1)(a): identity and contact details of the controller.
        let missing = match (controller.address.is_some(), has_channel) {
            (true, true) => None,
            (false, true) => Some("no address"),
            (true, false) => Some("no contact channel (contact.email, contact.phone or contact.web_form)"),
            (false, false) => {
                Some("no address and no contact channel (contact.email, contact.phone or contact.web_form)")
            }
        };
        if let Some(missing) = missing {
            self.at_key(
                MISSING_CONTROLLER_CONTACT,
                "controller".to_owned(),
                format!("the controller has {missing}: the statement must give both (Art. 13(1)(a))"),
            );
        }
        // Art. 13(2)(d): the right to lodge a complaint; R-12-4 names the AP.
        if controller.supervisory_authority.is_none() {
            self.at_key(
                MISSING_SUPERVISORY_AUTHORITY,
                "controller".to_owned(),
                "the controller names no supervisory_authority: the statement must tell people they may \
                 complain to it, in the Netherlands the Autoriteit Persoonsgegevens (Art. 13(2)(d), R-12-4)"
                    .to_owned(),
            );
        }
    }

    #[allow(clippy::too_many_lines)] // one block per Art. 6/13 element reads best in one place
    fn purposes(&mut self) {
        let register = self.register;
        for (key, purpose) in &register.purposes {
            let path = format!("purposes.{key}");
            self.categories(&format!("{path}.categories"), &purpose.categories);
            for (i, subject) in purpose.subjects.iter().enumerate() {
                if !register.subjects.contains_key(subject) {
                    self.at_value(
                        UNKNOWN_SUBJECT,
                        format!("{path}.subjects[{i}]"),
                        format!(
                            "unknown data-subject category `{subject}`: declare it under [subjects] \
                             (Art. 30(1)(c))"
                        ),
                    );
                }
            }
            for (i, recipient) in purpose.recipients.iter().enumerate() {
                if !register.recipients.contains_key(recipient) {
                    self.at_value(
                        UNKNOWN_RECIPIENT,
                        format!("{path}.recipients[{i}]"),
                        format!("unknown recipient `{recipient}`: declare it under [recipients] (Art. 13(1)(e))"),
                    );
                }
            }

            let statutory =
                purpose.legal_basis == Some(LegalBasis::LegalObligation) && purpose.legal_reference.is_some();
            for (i, category) in purpose.categories.iter().enumerate() {
                // R-NL-BSN-1 (UAVG art. 46): a BSN only where a statute prescribes it, consent does
                // not help; R-NL-ID-3 and R-5-3 for ID-document data and dates of birth.
                if category.is_forbidden() && !statutory {
                    self.at_value(
                        FORBIDDEN_CATEGORY,
                        format!("{path}.categories[{i}]"),
                        format!(
                            "`{category}` (national id number such as the BSN, ID-document data or date of \
                             birth) may only be processed where a statute requires it, and consent does not \
                             make it lawful (UAVG art. 46, R-NL-BSN-1, R-NL-ID-3): give purpose `{key}` \
                             legal_basis = \"legal_obligation\" with the statute in legal_reference, or drop \
                             the category"
                        ),
                    );
                }
            }

            let basis_path = format!("{path}.legal_basis");
            match purpose.legal_basis {
                None => self.at_key(
                    MISSING_LEGAL_BASIS,
                    path.clone(),
                    format!(
                        "purpose `{key}` has no legal_basis: name exactly one of consent, contract, \
                         legal_obligation, vital_interests, public_task or legitimate_interests \
                         (Art. 6(1)(a)-(f), R-6-1); the statement must give it per purpose (Art. 13(1)(c))"
                    ),
                ),
                Some(LegalBasis::LegalObligation) if purpose.legal_reference.is_none() => self.at_value(
                    MISSING_LEGAL_REFERENCE,
                    basis_path,
                    format!(
                        "purpose `{key}` relies on a legal obligation (Art. 6(1)(c)) but names no statute: \
                         add legal_reference, such as \"AWR art. 52\" (R-6-1)"
                    ),
                ),
                Some(LegalBasis::LegitimateInterests) => {
                    let missing = match (purpose.legitimate_interest.is_some(), purpose.interest_assessment.is_some()) {
                        (true, true) => None,
                        (false, true) => Some("the interest pursued (legitimate_interest)"),
                        (true, false) => Some("a balancing assessment (interest_assessment)"),
                        (false, false) => Some(
                            "the interest pursued (legitimate_interest) and a balancing assessment \
                             (interest_assessment)",
                        ),
                    };
                    if let Some(missing) = missing {
                        self.at_value(
                            MISSING_LEGITIMATE_INTEREST,
                            basis_path,
                            format!(
                                "purpose `{key}` relies on legitimate interests (Art. 6(1)(f)) without {missing} \
                                 (R-6-2); the statement must name the interest (Art. 13(1)(d))"
                            ),
                        );
                    }
                }
                Some(LegalBasis::Consent) if purpose.withdrawal.is_none() => self.at_value(
                    CONSENT_WITHOUT_WITHDRAWAL,
                    basis_path,
                    format!(
                        "purpose `{key}` relies on consent but says no way to withdraw it: add withdrawal, \
                         a channel as easy as giving consent, such as an unsubscribe link (Art. 7(3), R-7-3, \
                         Art. 13(2)(c))"
                    ),
                ),
                Some(_) => {}
            }

            // Art. 13(2)(e) applies to data collected from the person; Art. 14 data (with a
            // source) have no such element.
            if purpose.provision.is_none() && purpose.source.is_none() {
                self.at_key(
                    MISSING_PROVISION,
                    path.clone(),
                    format!(
                        "purpose `{key}` does not say whether providing the data is a statutory or contractual \
                         requirement, or what happens if they are not provided: add provision = {{ requirement \
                         = ..., consequence = {{ nl = ..., en = ... }} }} (Art. 13(2)(e))"
                    ),
                );
            }

            if let Some(decision) = &purpose.automated_decision
                && decision.used
                && (decision.logic.is_none() || decision.significance.is_none())
            {
                self.at_value(
                    AUTOMATED_DECISION_WITHOUT_LOGIC,
                    format!("{path}.automated_decision.used"),
                    format!(
                        "purpose `{key}` takes automated decisions but does not explain them: add logic and \
                         significance (Art. 13(2)(f), 22, R-22-2)"
                    ),
                );
            }

            if !register.retention.values().any(|rule| &rule.purpose == key) {
                self.at_key(
                    MISSING_RETENTION,
                    path,
                    format!(
                        "purpose `{key}` has no retention rule: add a [retention.*] rule with purpose = \"{key}\", \
                         a period, the event it runs from and the action (Art. 5(1)(e), 13(2)(a), 30(1)(f), \
                         R-5-5)"
                    ),
                );
            }
        }
    }

    fn recipients(&mut self) {
        for (key, recipient) in &self.register.recipients {
            let path = format!("recipients.{key}");
            self.categories(&format!("{path}.categories"), &recipient.categories);
            match &recipient.country {
                None => self.at_key(
                    MISSING_RECIPIENT_COUNTRY,
                    path,
                    format!(
                        "recipient `{key}` has no country: without it no one can tell whether data leave the \
                         EEA (Art. 13(1)(f), 30(1)(e), R-44-1)"
                    ),
                ),
                // R-44-1, R-44-4: outside the EEA only with a Chapter V mechanism on file.
                Some(country) if !country.in_eea() && recipient.transfer.is_none() => self.at_value(
                    TRANSFER_WITHOUT_MECHANISM,
                    format!("{path}.country"),
                    format!(
                        "recipient `{key}` is in {country}, outside the EEA, without a transfer mechanism: add \
                         transfer = {{ mechanism = \"adequacy\", \"scc\", \"bcr\" or \"derogation\", reference \
                         = ... }} (Art. 44-49, R-44-1, R-44-4)"
                    ),
                ),
                Some(_) => {}
            }
            if let Some(problem) = recipient.notify.as_deref().and_then(notify_problem) {
                self.at_value(
                    INVALID_NOTIFY_ADDRESS,
                    format!("recipients.{key}.notify"),
                    format!(
                        "recipient `{key}` has a notify address that is not a plausible e-mail address: {problem}; \
                         Art. 19 notices of a rectification, erasure or restriction are sent there, so give one \
                         bare address, such as \"privacy@example.com\", or leave notify out (Art. 19)"
                    ),
                );
            }
        }
    }

    fn cookies(&mut self) {
        for (key, cookie) in &self.register.cookies {
            if let Some(provider) = &cookie.provider
                && !self.register.recipients.contains_key(provider)
            {
                self.at_value(
                    UNKNOWN_RECIPIENT,
                    format!("cookies.{key}.provider"),
                    format!("unknown recipient `{provider}`: declare it under [recipients] (Art. 13(1)(e))"),
                );
            }
        }
    }

    fn roles(&mut self) {
        for (key, role) in &self.register.roles {
            for (i, purpose) in role.purposes.iter().enumerate() {
                if !self.register.purposes.contains_key(purpose) {
                    self.at_value(
                        UNKNOWN_PURPOSE,
                        format!("roles.{key}.purposes[{i}]"),
                        format!("unknown purpose `{purpose}`: declare it under [purposes]"),
                    );
                }
            }
        }
    }

    fn rights(&mut self) {
        let rights = &self.register.rights;
        if let Some(period) = rights.response_time
            && !period.within_one_month()
        {
            self.at_value(
                RESPONSE_TIME_TOO_LONG,
                "rights.response_time".to_owned(),
                format!(
                    "a response time of {period} can exceed one month: requests must be answered within one \
                     month of receipt (Art. 12(3), R-12-2); use at most 1m, 4w or 28d"
                ),
            );
        }
        let Some(verification) = &rights.identity_verification else { return };
        let path = "rights.identity_verification";
        if verification.id_copy == IdCopy::Always {
            self.at_value(
                ID_COPY_BY_DEFAULT,
                format!("{path}.id_copy"),
                "an ID copy for every request is disproportionate: ask for one only per case, with a recorded \
                 reason, when lighter checks such as an e-mailed code fail (R-NL-ID-1, EDPB Guidelines 01/2022); \
                 use id_copy = \"when_necessary\" or \"never\""
                    .to_owned(),
            );
        }
        if verification.id_copy != IdCopy::Never {
            let missing: Vec<&str> =
                IdShield::REQUIRED.iter().filter(|s| !verification.shield.contains(s)).map(|s| s.as_str()).collect();
            if !missing.is_empty() {
                let at = if self.spans.has(&format!("{path}.shield")) { "shield" } else { "id_copy" };
                self.at_value(
                    ID_COPY_UNSHIELDED,
                    format!("{path}.{at}"),
                    format!(
                        "an ID copy must have the BSN, photo, MRZ, document number and nationality blacked out; \
                         shield lacks {} (R-NL-ID-2, R-NL-BSN-4)",
                        missing.join(", ")
                    ),
                );
            }
        }
    }

    fn retention(&mut self) {
        let register = self.register;
        for (key, rule) in &register.retention {
            let path = format!("retention.{key}");
            let purpose = register.purposes.get(&rule.purpose);
            if purpose.is_none() {
                self.at_value(
                    UNKNOWN_PURPOSE,
                    format!("{path}.purpose"),
                    format!("unknown purpose `{}`: declare it under [purposes]", rule.purpose),
                );
            }
            self.categories(&format!("{path}.categories"), &rule.categories);
            if let Some(purpose) = purpose {
                let processed: HashSet<&Category> = purpose.categories.iter().collect();
                for (i, category) in rule.categories.iter().enumerate() {
                    if self.category_known(category) && !processed.contains(category) {
                        self.at_value(
                            RETENTION_CATEGORY_NOT_IN_PURPOSE,
                            format!("{path}.categories[{i}]"),
                            format!(
                                "purpose `{}` does not process `{category}`, so rule `{key}` cannot apply to it: \
                                 add the category to the purpose or remove it here",
                                rule.purpose
                            ),
                        );
                    }
                }
            }
            if rule.period.is_none() {
                self.at_key(
                    RETENTION_WITHOUT_PERIOD,
                    path,
                    format!(
                        "retention rule `{key}` has no period, so no sweeper can execute it and the statement \
                         can only say \"temporarily\": add period, such as \"3m\" or \"0d\" (Art. 13(2)(a), \
                         R-5-5)"
                    ),
                );
            }
        }
    }
}

/// The longest address SMTP can carry (RFC 5321 section 4.5.3.1.3, with its erratum: a path of
/// 256 octets including the angle brackets).
const MAX_ADDRESS_BYTES: usize = 254;

/// Why `address` is not a plausible e-mail address for [`INVALID_NOTIFY_ADDRESS`], or `None`
/// when it is one: a single `@`, something before it, a domain with a dot and no empty labels
/// after it, no whitespace, control characters or RFC 5322 specials (so no display name, list or
/// `mailto:`), at most [`MAX_ADDRESS_BYTES`] bytes. Deliberately not a full RFC 5322 parser:
/// it catches the mistakes people make when typing one into a register.
fn notify_problem(address: &str) -> Option<&'static str> {
    if address.is_empty() {
        return Some("it is empty");
    }
    if address.len() > MAX_ADDRESS_BYTES {
        return Some("it is longer than 254 bytes");
    }
    if address.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("it contains whitespace or a control character");
    }
    if address.contains(['<', '>', '(', ')', '[', ']', ',', ';', ':', '"', '\\']) {
        return Some(
            "it contains one of < > ( ) [ ] , ; : \" \\, which a bare address does not have (no display name, \
             list or mailto:)",
        );
    }
    let Some((local, domain)) = address.split_once('@') else { return Some("it has no `@`") };
    if domain.contains('@') {
        return Some("it has more than one `@`");
    }
    if local.is_empty() {
        return Some("nothing comes before the `@`");
    }
    if !domain.contains('.') || domain.split('.').any(str::is_empty) {
        return Some("the part after the `@` is not a domain name with a dot, such as `example.com`");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::notify_problem;

    #[test]
    fn plausible_addresses_pass() {
        for address in [
            "privacy@tawk-to.example",
            "a@b.co",
            "dpo+kluis@mail.example.nl",
            "zoë@bücher.example",
            format!("{}@{}.example", "l".repeat(64), "d".repeat(181)).as_str(),
        ] {
            assert_eq!(notify_problem(address), None, "{address}");
        }
    }

    #[test]
    fn implausible_addresses_say_why() {
        let too_long = format!("{}@{}.example", "l".repeat(64), "d".repeat(182));
        assert_eq!(too_long.len(), 255);
        for (address, problem) in [
            ("", "it is empty"),
            (too_long.as_str(), "longer than 254 bytes"),
            ("privacy@tawk.to ", "whitespace"),
            (" privacy@tawk.to", "whitespace"),
            ("privacy @tawk.to", "whitespace"),
            ("privacy@tawk.to\n", "control character"),
            ("privacy@tawk\u{7f}.to", "control character"),
            ("privacy@tawk\u{a0}.to", "whitespace"),
            ("Tawk<privacy@tawk.to>", "display name"),
            ("mailto:privacy@tawk.to", "mailto:"),
            ("a@b.example,c@d.example", "list"),
            ("\"a b\"@example.com", "whitespace"),
            ("privacy.tawk.to", "no `@`"),
            ("privacy@@tawk.to", "more than one `@`"),
            ("a@b@tawk.to", "more than one `@`"),
            ("@tawk.to", "nothing comes before"),
            ("privacy@localhost", "domain name with a dot"),
            ("privacy@", "domain name with a dot"),
            ("privacy@.tawk.to", "domain name with a dot"),
            ("privacy@tawk.to.", "domain name with a dot"),
            ("privacy@tawk..to", "domain name with a dot"),
        ] {
            let found = notify_problem(address);
            assert!(found.is_some_and(|p| p.contains(problem)), "{address:?}: {found:?}");
        }
    }
}
