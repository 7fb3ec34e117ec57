//! The access export (Art. 15): the copy of the data and the Art. 15(1)(a)-(h) and 15(2)
//! information that applies to this person.

use std::fmt;

use kluis_register::{LegalBasis, PurposeDef, Register, Text};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::input::{EventInput, RegisterInput, RequestRef, SubjectInput};
use crate::words;
use crate::{ExportError, category_within, rfc3339_ms};

/// The value of `format` in every access export.
pub const FORMAT: &str = "kluis-access-export";
/// The version of the format; raised on any incompatible change to the JSON or the CSV files.
pub const FORMAT_VERSION: u32 = 1;

/// The answer to an access request (Art. 15): the data, what was done with them, and the
/// information of Art. 15(1)(a)-(h) and 15(2) drawn from the register.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "kluis access export")]
pub struct AccessExport {
    /// Always `kluis-access-export`.
    pub format: String,
    /// The format version, 1.
    pub format_version: u32,
    /// When the export was made, RFC 3339 in UTC.
    pub generated_at: String,
    /// The data-subject request this export answers, when known.
    pub request: Option<RequestOut>,
    /// Where the information on purposes, recipients and retention comes from.
    pub register: RegisterOut,
    /// The controller (Art. 13(1)(a)-(b)); absent without a register.
    pub controller: Option<ControllerOut>,
    /// The data subject and the copy of its data (Art. 15(1), 15(3)).
    pub subject: SubjectOut,
    /// The audit-log events about the subject: who (by kind) did what, for which purpose.
    pub events: Vec<EventOut>,
    /// Every purpose that processes at least one of the subject's data categories, in register
    /// order, with its legal basis, recipients, retention, source and automated decisions
    /// (Art. 15(1)(a)-(d), (g), (h), 15(2)). Empty without a register.
    pub purposes: Vec<PurposeOut>,
    /// The rights of Art. 15-21 (and 7(3) where consent is a basis) and Art. 77 (Art. 15(1)(e)-(f)).
    pub rights: Vec<RightOut>,
    /// Where to lodge a complaint (Art. 15(1)(f), 77).
    pub complaint: ComplaintOut,
}

/// The request being answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestOut {
    pub id: String,
    /// RFC 3339 in UTC.
    pub received_at: String,
}

/// Whether a register was in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RegisterSource {
    /// A register version was in force; the purposes are derived from it.
    Register,
    /// No register: kluis ran on its built-in policy, and the export lists the data and events only.
    BuiltInPolicy,
}

/// The register version the information was derived from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterOut {
    pub source: RegisterSource,
    /// The register version (1, 2, ...).
    pub version: Option<u64>,
    /// Hex SHA-256 of the register source.
    pub sha256: Option<String>,
    /// What this means, for the reader.
    pub note: Text,
}

/// The controller and how to reach it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ControllerOut {
    pub name: String,
    pub trade_name: Option<String>,
    /// Street, postcode, city and country on one line.
    pub address: Option<String>,
    pub kvk: Option<String>,
    pub website: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub web_form: Option<String>,
    /// The data protection officer, where appointed.
    pub dpo: Option<DpoOut>,
}

/// The data protection officer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DpoOut {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// The data subject and its values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubjectOut {
    pub id: String,
    /// The subject kind, such as `customer`.
    pub kind: String,
    /// RFC 3339 in UTC.
    pub created_at: String,
    /// Processing is restricted (Art. 18).
    pub restricted: bool,
    /// Set when the data are archived: until when (RFC 3339 in UTC).
    pub archived_until: Option<String>,
    /// Every value held, in plaintext.
    pub values: Vec<ValueOut>,
}

/// One value. `Debug` redacts it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ValueOut {
    /// The field name, such as `iban`.
    pub field: String,
    /// The data category, such as `user.financial.bank_account`.
    pub category: String,
    /// The field's label in Dutch and English.
    pub label: Text,
    pub value: String,
}

impl fmt::Debug for ValueOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValueOut")
            .field("field", &self.field)
            .field("category", &self.category)
            .field("value", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// One audit-log event about the subject.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventOut {
    /// The event's sequence number in the audit log.
    pub seq: u64,
    /// RFC 3339 in UTC.
    pub time: String,
    /// Who, by kind: `staff`, `application`, `system` or `cli`.
    pub actor: String,
    /// What, such as `subject.read`.
    pub action: String,
    /// For which purpose.
    pub purpose: Option<String>,
    /// The fields concerned.
    pub fields: Vec<String>,
    /// Such as `ok` or `denied`.
    pub outcome: String,
}

/// A purpose that processes some of the subject's data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PurposeOut {
    /// The purpose id, such as `billing`.
    pub id: String,
    pub name: Text,
    pub description: Text,
    /// Art. 6(1) basis; absent only in a register that does not pass `check`.
    pub legal_basis: Option<LegalBasisOut>,
    /// The statute behind the basis, such as `AWR art. 52`.
    pub legal_reference: Option<String>,
    /// For a legitimate interest: the interest pursued.
    pub legitimate_interest: Option<Text>,
    /// For consent: how to withdraw it.
    pub withdrawal: Option<Text>,
    /// The purpose is direct marketing (an objection is absolute).
    pub direct_marketing: bool,
    /// The register lists the subject's kind among this purpose's data subjects. The export lists
    /// a purpose whenever it covers the subject's data categories, whatever the kind, because one
    /// person may be in several subject categories (a customer who also reads the newsletter).
    pub subject_kind_listed: bool,
    /// The register categories of this purpose that cover at least one of the subject's values
    /// (Art. 15(1)(b)).
    pub categories: Vec<CategoryOut>,
    /// The subject's fields this purpose covers.
    pub fields: Vec<String>,
    /// The recipients of this purpose that receive at least one of these categories, by name
    /// (Art. 15(1)(c), 15(2)).
    pub recipients: Vec<RecipientOut>,
    /// The retention rules of this purpose that cover these categories (Art. 15(1)(d)).
    pub retention: Vec<RetentionOut>,
    /// Where the data come from (Art. 15(1)(g)): the register's `source`, else the data subject.
    pub source: Text,
    /// True when the source is the data subject.
    pub source_is_data_subject: bool,
    /// Automated decision-making (Art. 15(1)(h)).
    pub automated_decision: AutomatedDecisionOut,
}

/// A legal basis of Art. 6(1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LegalBasisOut {
    /// `consent`, `contract`, `legal_obligation`, `vital_interests`, `public_task` or
    /// `legitimate_interests`.
    pub basis: String,
    /// Such as `Art. 6(1)(b) GDPR`.
    pub article: String,
    /// The basis in words.
    pub text: Text,
}

/// A data category of the register.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryOut {
    /// The dotted key, such as `user.contact.email`.
    pub key: String,
    /// The register's description of the category.
    pub description: Option<Text>,
}

/// A recipient, by name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecipientOut {
    /// The recipient id in the register.
    pub id: String,
    pub name: String,
    /// `processor`, `third_party` or `authority`.
    pub role: String,
    pub role_text: Text,
    /// What the recipient does with the data.
    pub purpose: Text,
    /// ISO 3166-1 alpha-2 country where the data are processed.
    pub country: Option<String>,
    /// True when the country is outside the EEA (or unknown).
    pub outside_eea: bool,
    /// The transfer mechanism, for a country outside the EEA (Art. 15(2)).
    pub transfer: Option<TransferOut>,
    /// The recipient's categories that cover the subject's data.
    pub categories: Vec<String>,
    /// The recipient's own privacy statement.
    pub privacy_statement: Option<String>,
}

/// A transfer outside the EEA and its safeguards.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferOut {
    /// `adequacy`, `scc`, `bcr` or `derogation`.
    pub mechanism: String,
    pub mechanism_text: Text,
    /// The decision, SCC module or derogation.
    pub reference: String,
    /// Where to get a copy of the safeguards.
    pub safeguards_url: Option<String>,
}

/// A retention rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionOut {
    /// The rule id in the register.
    pub id: String,
    /// Such as `7y`, `12m`, `0d` (at once).
    pub period: Option<String>,
    /// The event the period runs from, such as `end_of_fiscal_year`.
    pub from: String,
    /// `delete`, `anonymise` or `archive`.
    pub action: String,
    /// A condition that suspends the rule.
    pub unless: Option<String>,
    /// The statute behind the period.
    pub legal_reference: Option<String>,
    /// The categories the rule covers; empty means all of the purpose's.
    pub categories: Vec<String>,
    /// Period, event and action in words.
    pub summary: Text,
    /// The rule as the register states it.
    pub text: Text,
}

/// Automated decision-making (Art. 22).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AutomatedDecisionOut {
    pub used: bool,
    /// Meaningful information about the logic involved.
    pub logic: Option<Text>,
    /// The significance and envisaged consequences.
    pub significance: Option<Text>,
}

/// A right of the data subject.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RightOut {
    /// The GDPR article: `15`, `16`, `17`, `18`, `19`, `20`, `21`, `7(3)` or `77`.
    pub article: String,
    pub name: Text,
    pub description: Text,
    /// False when none of the purposes concerned allows it (portability without consent or
    /// contract, objection without legitimate interest, public task or direct marketing).
    pub applies: bool,
    /// For `20`, `21` and `7(3)`: the purposes it applies to; empty for the others, and without a
    /// register.
    pub purposes: Vec<String>,
}

/// The supervisory authority.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ComplaintOut {
    /// Default: Autoriteit Persoonsgegevens.
    pub authority: String,
    /// Default: https://autoriteitpersoonsgegevens.nl.
    pub website: String,
    pub complaint_url: Option<String>,
    /// Street, postcode, city and country on one line.
    pub address: Option<String>,
}

fn address_line(a: &kluis_register::Address) -> String {
    format!("{}, {} {}, {}", a.street, a.postcode, a.city, a.country)
}

impl AccessExport {
    /// Builds the export of `subject` with the `events` about it, against the register in force.
    /// `generated_at_ms` is the time of the export (the caller's clock). Fails only on a time
    /// outside the years 0000-9999.
    pub fn build(
        subject: &SubjectInput,
        events: &[EventInput],
        register: &RegisterInput<'_>,
        request: Option<&RequestRef>,
        generated_at_ms: i64,
    ) -> Result<AccessExport, ExportError> {
        let subject_out = SubjectOut {
            id: subject.id.clone(),
            kind: subject.kind.clone(),
            created_at: rfc3339_ms(subject.created_at_ms, "the subject's creation time")?,
            restricted: subject.restricted,
            archived_until: subject.archived_until_ms.map(|ms| rfc3339_ms(ms, "the archive end")).transpose()?,
            values: subject
                .values
                .iter()
                .map(|v| ValueOut {
                    field: v.field.clone(),
                    category: v.category.clone(),
                    label: Text { nl: v.label_nl.clone(), en: v.label_en.clone() },
                    value: v.value.clone(),
                })
                .collect(),
        };
        let events = events
            .iter()
            .map(|e| {
                Ok(EventOut {
                    seq: e.seq,
                    time: rfc3339_ms(e.time_ms, "an event time")?,
                    actor: e.actor.clone(),
                    action: e.action.clone(),
                    purpose: e.purpose.clone(),
                    fields: e.fields.clone(),
                    outcome: e.outcome.clone(),
                })
            })
            .collect::<Result<Vec<_>, ExportError>>()?;
        let request = request
            .map(|r| {
                Ok::<_, ExportError>(RequestOut {
                    id: r.id.clone(),
                    received_at: rfc3339_ms(r.received_at_ms, "the request time")?,
                })
            })
            .transpose()?;
        let source = if register.register.is_some() { RegisterSource::Register } else { RegisterSource::BuiltInPolicy };
        let register_out = RegisterOut {
            source,
            version: register.version,
            sha256: register.sha256_hex.clone(),
            note: match source {
                RegisterSource::Register => words::register_note(register.version),
                RegisterSource::BuiltInPolicy => words::built_in_policy_note(),
            },
        };
        let (controller, purposes, complaint) = match register.register {
            Some(reg) => (Some(controller_out(reg)), purposes_out(reg, subject), complaint_out(Some(reg))),
            None => (None, Vec::new(), complaint_out(None)),
        };
        let rights = rights_out(register.register.is_some(), &purposes);
        Ok(AccessExport {
            format: FORMAT.to_owned(),
            format_version: FORMAT_VERSION,
            generated_at: rfc3339_ms(generated_at_ms, "the export time")?,
            request,
            register: register_out,
            controller,
            subject: subject_out,
            events,
            purposes,
            rights,
            complaint,
        })
    }

    /// The export as pretty-printed JSON (UTF-8), valid against [`AccessExport::json_schema`].
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4096 + self.events.len() * 320 + self.subject.values.len() * 192);
        self.write_json(&mut out).expect("an access export always serialises into memory");
        out
    }

    /// [`AccessExport::to_json`] into a writer, so the JSON can go straight into a compressor
    /// without a copy of the whole text in memory.
    pub fn write_json<W: std::io::Write>(&self, mut w: W) -> std::io::Result<()> {
        serde_json::to_writer_pretty(&mut w, self)?;
        w.write_all(b"\n")
    }

    /// The JSON Schema of the export, as committed in `docs/export.schema.json`.
    pub fn json_schema() -> String {
        let schema = schemars::schema_for!(AccessExport);
        let mut json = serde_json::to_string_pretty(&schema).expect("a schema always serialises");
        json.push('\n');
        json
    }

    /// A zip of CSV files, one per entity, with a README in Dutch and English
    /// (see `docs/EXPORT.md`). Every cell that a spreadsheet would read as a formula gets a
    /// leading `'` ([`crate::neutralise_formula`]).
    pub fn to_csv_zip(&self) -> Vec<u8> {
        crate::csvzip::access_zip(self).expect("an in-memory zip of in-memory CSV files cannot fail")
    }

    /// A self-contained HTML page in Dutch or English: no scripts, no external resources, one
    /// `<style>` that is exactly [`kluis_register::HTML_STYLE`].
    pub fn to_html(&self, lang: kluis_register::Lang) -> String {
        crate::html::access_html(self, lang)
    }
}

fn controller_out(register: &Register) -> ControllerOut {
    let c = &register.controller;
    ControllerOut {
        name: c.name.clone(),
        trade_name: c.trade_name.clone(),
        address: c.address.as_ref().map(address_line),
        kvk: c.kvk.clone(),
        website: c.website.clone(),
        email: c.contact.email.clone(),
        phone: c.contact.phone.clone(),
        web_form: c.contact.web_form.clone(),
        dpo: c.dpo.as_ref().map(|d| DpoOut { name: d.name.clone(), email: d.email.clone(), phone: d.phone.clone() }),
    }
}

pub(crate) fn complaint_out(register: Option<&Register>) -> ComplaintOut {
    match register.and_then(|r| r.controller.supervisory_authority.as_ref()) {
        Some(sa) => ComplaintOut {
            authority: sa.name.clone(),
            website: sa.website.clone(),
            complaint_url: sa.complaint_url.clone(),
            address: sa.address.as_ref().map(address_line),
        },
        None => ComplaintOut {
            authority: words::DEFAULT_AUTHORITY.to_owned(),
            website: words::DEFAULT_AUTHORITY_WEBSITE.to_owned(),
            complaint_url: None,
            address: None,
        },
    }
}

/// The distinct categories of the subject's values, in order of first appearance.
pub(crate) fn subject_categories(subject: &SubjectInput) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for v in &subject.values {
        if !out.contains(&v.category.as_str()) {
            out.push(&v.category);
        }
    }
    out
}

/// True when one of the purpose's categories covers `category`.
pub(crate) fn purpose_covers(purpose: &PurposeDef, category: &str) -> bool {
    purpose.categories.iter().any(|p| category_within(category, p.as_str()))
}

fn purposes_out(register: &Register, subject: &SubjectInput) -> Vec<PurposeOut> {
    let subject_cats = subject_categories(subject);
    let mut out = Vec::new();
    for (id, p) in &register.purposes {
        // The subject's categories this purpose processes.
        let covered: Vec<&str> = subject_cats.iter().copied().filter(|c| purpose_covers(p, c)).collect();
        if covered.is_empty() {
            continue;
        }
        let categories = p
            .categories
            .iter()
            .filter(|pc| covered.iter().any(|c| category_within(c, pc.as_str())))
            .map(|pc| CategoryOut { key: pc.as_str().to_owned(), description: register.categories.get(pc).cloned() })
            .collect();
        let mut fields: Vec<String> = Vec::new();
        for v in &subject.values {
            if covered.contains(&v.category.as_str()) && !fields.contains(&v.field) {
                fields.push(v.field.clone());
            }
        }
        let recipients = recipients_out(register, p, &covered);
        let retention = retention_out(register, id, &covered);
        let automated_decision = match &p.automated_decision {
            Some(ad) => AutomatedDecisionOut {
                used: ad.used,
                logic: ad.logic.clone().filter(|_| ad.used),
                significance: ad.significance.clone().filter(|_| ad.used),
            },
            None => AutomatedDecisionOut { used: false, logic: None, significance: None },
        };
        out.push(PurposeOut {
            id: id.clone(),
            name: p.name.clone(),
            description: p.description.clone(),
            legal_basis: p.legal_basis.map(|b| LegalBasisOut {
                basis: b.as_str().to_owned(),
                article: words::legal_basis_article(b),
                text: words::legal_basis_text(b),
            }),
            legal_reference: p.legal_reference.clone(),
            legitimate_interest: p.legitimate_interest.clone(),
            withdrawal: p.withdrawal.clone(),
            direct_marketing: p.direct_marketing,
            subject_kind_listed: p.subjects.contains(&subject.kind),
            categories,
            fields,
            recipients,
            retention,
            source: p.source.clone().unwrap_or_else(words::data_subject_source),
            source_is_data_subject: p.source.is_none(),
            automated_decision,
        });
    }
    out
}

/// The purpose's recipients that receive at least one of the `covered` categories, by name.
fn recipients_out(register: &Register, p: &PurposeDef, covered: &[&str]) -> Vec<RecipientOut> {
    p.recipients
        .iter()
        .filter_map(|rid| {
            let r = register.recipients.get(rid)?;
            let categories: Vec<String> = r
                .categories
                .iter()
                .filter(|rc| covered.iter().any(|c| category_within(c, rc.as_str())))
                .map(|rc| rc.as_str().to_owned())
                .collect();
            if categories.is_empty() {
                return None;
            }
            let outside_eea = !r.country.as_ref().is_some_and(kluis_register::Country::in_eea);
            Some(RecipientOut {
                id: rid.clone(),
                name: r.name.clone(),
                role: words::role_name(r.role).to_owned(),
                role_text: words::role_text(r.role),
                purpose: r.purpose.clone(),
                country: r.country.as_ref().map(|c| c.as_str().to_owned()),
                outside_eea,
                transfer: r.transfer.as_ref().filter(|_| outside_eea).map(|tr| TransferOut {
                    mechanism: words::mechanism_name(tr.mechanism).to_owned(),
                    mechanism_text: words::mechanism_text(tr.mechanism),
                    reference: tr.reference.clone(),
                    safeguards_url: tr.safeguards_url.clone(),
                }),
                categories,
                privacy_statement: r.privacy_statement.clone(),
            })
        })
        .collect()
}

/// The retention rules of purpose `id` that cover at least one of the `covered` categories (a rule
/// without categories covers all of the purpose's).
fn retention_out(register: &Register, id: &str, covered: &[&str]) -> Vec<RetentionOut> {
    register
        .retention
        .iter()
        .filter(|(_, rule)| rule.purpose == id)
        .filter(|(_, rule)| {
            rule.categories.is_empty()
                || rule.categories.iter().any(|rc| covered.iter().any(|c| category_within(c, rc.as_str())))
        })
        .map(|(rid, rule)| RetentionOut {
            id: rid.clone(),
            period: rule.period.map(|p| p.to_string()),
            from: words::event_name(rule.from).to_owned(),
            action: words::action_name(rule.action).to_owned(),
            unless: rule.unless.clone(),
            legal_reference: rule.legal_reference.clone(),
            categories: rule.categories.iter().map(|c| c.as_str().to_owned()).collect(),
            summary: words::retention_summary(rule.period, rule.from, rule.action),
            text: rule.text.clone(),
        })
        .collect()
}

fn has_basis(p: &PurposeOut, bases: &[LegalBasis]) -> bool {
    p.legal_basis.as_ref().is_some_and(|b| bases.iter().any(|x| x.as_str() == b.basis))
}

fn rights_out(with_register: bool, purposes: &[PurposeOut]) -> Vec<RightOut> {
    let ids = |keep: &dyn Fn(&PurposeOut) -> bool| -> Vec<String> {
        purposes.iter().filter(|p| keep(p)).map(|p| p.id.clone()).collect()
    };
    let portable = ids(&|p| has_basis(p, &[LegalBasis::Consent, LegalBasis::Contract]) && p.source_is_data_subject);
    let objectable =
        ids(&|p| p.direct_marketing || has_basis(p, &[LegalBasis::LegitimateInterests, LegalBasis::PublicTask]));
    let consent = ids(&|p| has_basis(p, &[LegalBasis::Consent]));
    let mut rights = Vec::new();
    let mut push = |article: &str, applies: bool, purposes: Vec<String>| {
        let (name, description) = words::right(article);
        rights.push(RightOut { article: article.to_owned(), name, description, applies, purposes });
    };
    for article in ["15", "16", "17", "18", "19"] {
        push(article, true, Vec::new());
    }
    push("20", !with_register || !portable.is_empty(), portable);
    push("21", !with_register || !objectable.is_empty(), objectable);
    if !consent.is_empty() {
        push("7(3)", true, consent);
    }
    push("77", true, Vec::new());
    rights
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_register_the_rights_still_apply() {
        let rights = rights_out(false, &[]);
        let articles: Vec<&str> = rights.iter().map(|r| r.article.as_str()).collect();
        assert_eq!(articles, ["15", "16", "17", "18", "19", "20", "21", "77"]);
        assert!(rights.iter().all(|r| r.applies));
        assert_eq!(words::t("a", "b").nl, "a");
    }
}
