//! The typed register. Doc comments here become the descriptions in `schema/register.schema.json`,
//! so they are written for the person editing the TOML file.
//!
//! Keys that the law requires but that a real statement may lack (legal basis, retention,
//! supervisory authority, ...) are `Option`s: the file still parses, and [`crate::check`] names
//! every gap with its line and column. A register returned by `check` has them all filled in.

use std::borrow::Cow;
use std::fmt;

use indexmap::IndexMap;
use kluis_domain::fields::{Category, ISO_3166_ALPHA2};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use toml::value::Datetime;

use crate::period::{Lifetime, Period};

/// The whole register: who the controller is, what it processes, why, with whom, and for how long.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "kluis register")]
pub struct Register {
    /// The controller (Art. 13(1)(a)-(b), Art. 30(1)(a)).
    pub controller: Controller,
    /// Data-subject categories (Art. 30(1)(c)), keyed by a snake_case id such as `customer`.
    #[serde(default)]
    pub subjects: IndexMap<String, Text>,
    /// The data-category taxonomy (Art. 30(1)(c)): a dotted fideslang-style key such as
    /// `"user.contact.email"` with its Dutch and English description. Purposes, recipients and
    /// retention rules may only use categories declared here.
    #[serde(default)]
    #[schemars(with = "IndexMap<CategoryKey, Text>")]
    pub categories: IndexMap<Category, Text>,
    /// Processing purposes (Art. 6, 13(1)(c), 30(1)(b)), keyed by a purpose id such as `billing`.
    #[serde(default)]
    pub purposes: IndexMap<String, PurposeDef>,
    /// Recipients: processors, third parties and authorities (Art. 13(1)(e)-(f), 28, 30(1)(d)-(e)).
    #[serde(default)]
    pub recipients: IndexMap<String, Recipient>,
    /// Cookies and similar technologies (Telecommunicatiewet art. 11.7a).
    #[serde(default)]
    pub cookies: IndexMap<String, Cookie>,
    /// Technical and organisational security measures (Art. 32, 30(1)(g)), one entry per measure.
    #[serde(default)]
    pub security: IndexMap<String, Text>,
    /// Staff roles and the purposes each may use (purpose-bound access, R-5-2).
    #[serde(default)]
    pub roles: IndexMap<String, Role>,
    /// How data-subject requests are handled (Art. 12, 15-22).
    #[serde(default)]
    pub rights: Rights,
    /// Retention rules (Art. 5(1)(e), 13(2)(a), 30(1)(f)), keyed by a rule id such as `invoices`.
    #[serde(default)]
    pub retention: IndexMap<String, RetentionRule>,
    /// Present when the controller also processes personal data on behalf of other controllers
    /// (its customers), so that kluis adds the processor record of Art. 30(2) to the Art. 30 export.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processor: Option<ProcessorRecord>,
}

/// The processing the operator carries out as a processor for other controllers (Art. 28, 30(2)).
/// The processor's own name, contact details and DPO are those of `[controller]`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcessorRecord {
    /// One entry per controller (customer) on whose behalf you process (Art. 30(2)(a)).
    #[serde(default)]
    pub controllers: Vec<ProcessorController>,
}

/// A controller on whose behalf the operator processes personal data (Art. 30(2)).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcessorController {
    /// The controller's name (Art. 30(2)(a)).
    pub name: String,
    /// The controller's contact details: address, e-mail or phone (Art. 30(2)(a)).
    pub contact: String,
    /// The controller's representative in the EU (Art. 27), where applicable.
    pub representative: Option<String>,
    /// The controller's data protection officer, where applicable.
    pub dpo: Option<String>,
    /// Date the processor agreement with this controller was signed (Art. 28(3)).
    pub processor_agreement: Option<LocalDate>,
    /// The categories of processing carried out on its behalf, such as hosting, backup or support
    /// access (Art. 30(2)(b)).
    pub processing: Vec<Text>,
    /// Transfers to third countries or international organisations, with their safeguards
    /// (Art. 30(2)(c)); absent or empty means none.
    #[serde(default)]
    pub transfers: Vec<ProcessorTransfer>,
    /// General description of the security measures for this processing (Art. 30(2)(d), 32(1));
    /// absent means the measures under `[security]`.
    pub security: Option<Text>,
}

/// A transfer to a third country made while processing for another controller (Art. 30(2)(c)).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcessorTransfer {
    /// Who receives the data there, such as a sub-processor.
    pub recipient: String,
    /// The third country (ISO 3166-1 alpha-2), or omit it and name an international organisation
    /// in `recipient`.
    pub country: Option<Country>,
    pub mechanism: TransferMechanism,
    /// The decision, SCC module and version, or derogation with the documentation of its suitable
    /// safeguards (Art. 49(1), second subparagraph).
    pub reference: String,
    /// Where a copy of the safeguards can be obtained.
    pub safeguards_url: Option<String>,
}

/// A text in Dutch and English.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Text {
    /// Dutch.
    pub nl: String,
    /// English.
    pub en: String,
}

/// The controller.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Controller {
    /// Legal name, such as `Voorbeeld B.V.`.
    pub name: String,
    /// The name used in the statement, when it differs from the legal name.
    pub trade_name: Option<String>,
    /// Registered address (Art. 13(1)(a)).
    pub address: Option<Address>,
    /// Chamber of Commerce (KvK) number.
    pub kvk: Option<String>,
    /// Public website.
    pub website: Option<String>,
    /// Contact channels for privacy questions and data-subject requests (Art. 13(1)(a)).
    #[serde(default)]
    pub contact: Contact,
    /// Data protection officer, where one is appointed (Art. 13(1)(b), 37).
    pub dpo: Option<Dpo>,
    /// The supervisory authority a data subject may complain to (Art. 13(2)(d)).
    pub supervisory_authority: Option<SupervisoryAuthority>,
}

/// A postal address.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Address {
    /// Street and number, or a PO box (`Postbus 93374`).
    pub street: String,
    pub postcode: String,
    pub city: String,
    /// ISO 3166-1 alpha-2 country code, such as `NL`.
    pub country: Country,
}

/// Contact channels; at least one of them is needed.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    pub email: Option<String>,
    /// Phone number in international form, such as `+31 20 123 4567`.
    pub phone: Option<String>,
    /// URL of a web form or portal.
    pub web_form: Option<String>,
}

/// The data protection officer.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Dpo {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// The supervisory authority (in the Netherlands the Autoriteit Persoonsgegevens).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SupervisoryAuthority {
    pub name: String,
    pub website: String,
    /// Where a complaint can be filed.
    pub complaint_url: Option<String>,
    pub address: Option<Address>,
}

/// The legal basis of a purpose, Art. 6(1)(a)-(f).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LegalBasis {
    /// Art. 6(1)(a): the data subject's consent.
    Consent,
    /// Art. 6(1)(b): necessary for a contract with the data subject, or steps before one.
    Contract,
    /// Art. 6(1)(c): a legal obligation; name the statute in `legal_reference`.
    LegalObligation,
    /// Art. 6(1)(d): vital interests.
    VitalInterests,
    /// Art. 6(1)(e): a task in the public interest or official authority.
    PublicTask,
    /// Art. 6(1)(f): legitimate interests; fill in `legitimate_interest` and `interest_assessment`.
    LegitimateInterests,
}

impl LegalBasis {
    pub fn as_str(self) -> &'static str {
        match self {
            LegalBasis::Consent => "consent",
            LegalBasis::Contract => "contract",
            LegalBasis::LegalObligation => "legal_obligation",
            LegalBasis::VitalInterests => "vital_interests",
            LegalBasis::PublicTask => "public_task",
            LegalBasis::LegitimateInterests => "legitimate_interests",
        }
    }

    /// The point of Art. 6(1), `a` to `f`.
    pub fn letter(self) -> char {
        match self {
            LegalBasis::Consent => 'a',
            LegalBasis::Contract => 'b',
            LegalBasis::LegalObligation => 'c',
            LegalBasis::VitalInterests => 'd',
            LegalBasis::PublicTask => 'e',
            LegalBasis::LegitimateInterests => 'f',
        }
    }
}

impl fmt::Display for LegalBasis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A processing purpose (one processing activity of the Art. 30 record).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PurposeDef {
    /// Short name, such as "Facturatie" / "Invoicing".
    pub name: Text,
    /// What is done and why, specific enough for the statement (Art. 13(1)(c)).
    pub description: Text,
    /// Exactly one legal basis from Art. 6(1) (R-6-1).
    pub legal_basis: Option<LegalBasis>,
    /// The statute or article behind the basis, such as `AWR art. 52` (required for
    /// `legal_obligation`).
    pub legal_reference: Option<String>,
    /// For `legitimate_interests`: the interest pursued, as the statement says it (Art. 13(1)(d)).
    pub legitimate_interest: Option<Text>,
    /// For `legitimate_interests`: summary of the balancing test (purpose, necessity, balance; R-6-2).
    pub interest_assessment: Option<Text>,
    /// For `consent`: how consent is withdrawn, as easily as it was given (Art. 7(3), R-7-3).
    pub withdrawal: Option<Text>,
    /// True for direct marketing: an objection is then absolute (Art. 21(2)-(3)).
    #[serde(default)]
    pub direct_marketing: bool,
    /// Data categories processed, keys of `[categories]`.
    #[schemars(with = "Vec<CategoryKey>")]
    pub categories: Vec<Category>,
    /// Data-subject categories concerned, keys of `[subjects]`.
    pub subjects: Vec<String>,
    /// Recipients, keys of `[recipients]`.
    #[serde(default)]
    pub recipients: Vec<String>,
    /// Where the data come from when not from the data subject (Art. 14(2)(f)); absent means
    /// the data subject provides them.
    pub source: Option<Text>,
    /// Whether providing the data is required, and what happens if it is not (Art. 13(2)(e)).
    pub provision: Option<Provision>,
    /// Automated decision-making, including profiling (Art. 13(2)(f), 22); absent means none.
    pub automated_decision: Option<AutomatedDecision>,
}

/// Whether the data subject must provide the data (Art. 13(2)(e)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Requirement {
    /// Required by law.
    Statutory,
    /// Required by a contract the data subject has.
    Contractual,
    /// Required to enter into a contract.
    ContractPrecondition,
    /// Voluntary.
    Voluntary,
}

/// Art. 13(2)(e): the requirement and the consequence of not providing the data.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Provision {
    pub requirement: Requirement,
    /// What happens when the data are not provided.
    pub consequence: Text,
}

/// Automated decision-making (Art. 22).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AutomatedDecision {
    /// Whether decisions with legal or similarly significant effects are taken automatically.
    pub used: bool,
    /// Meaningful information about the logic involved (required when `used`).
    pub logic: Option<Text>,
    /// The significance and envisaged consequences (required when `used`).
    pub significance: Option<Text>,
}

/// What a recipient is to the controller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecipientRole {
    /// Processes on the controller's behalf under a processor agreement (Art. 28).
    Processor,
    /// An independent controller, such as an accountant or a domain registry.
    ThirdParty,
    /// A public authority, such as the police on a lawful order.
    Authority,
}

/// A recipient of personal data.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Recipient {
    pub name: String,
    pub role: RecipientRole,
    /// What the recipient does with the data.
    pub purpose: Text,
    /// Data categories disclosed, keys of `[categories]`.
    #[schemars(with = "Vec<CategoryKey>")]
    pub categories: Vec<Category>,
    /// Where the data are processed (ISO 3166-1 alpha-2). Outside the EEA a `transfer` is needed.
    pub country: Option<Country>,
    /// The Chapter V transfer mechanism, for a country outside the EEA (Art. 44-49).
    pub transfer: Option<Transfer>,
    /// Date the processor agreement was signed (Art. 28(3)), such as `2024-05-01`.
    pub processor_agreement: Option<LocalDate>,
    /// Link to the recipient's own privacy statement or processor terms.
    pub privacy_statement: Option<String>,
    /// The e-mail address to which kluis sends Art. 19 notices, such as `privacy@example.com`:
    /// when it rectifies or erases data disclosed to this recipient, or restricts their
    /// processing, at a data subject's request. Absent means the notice is recorded on the request
    /// but not delivered. Never shown in the statement or the Art. 30 record.
    #[schemars(email, length(max = 254))]
    pub notify: Option<String>,
}

/// Chapter V transfer mechanisms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransferMechanism {
    /// Art. 45 adequacy decision (such as the EU-US Data Privacy Framework).
    Adequacy,
    /// Art. 46(2)(c) standard contractual clauses (Decision 2021/914).
    Scc,
    /// Art. 47 binding corporate rules.
    Bcr,
    /// Art. 49 derogation (explicit consent, contract necessity, ...).
    Derogation,
}

/// A transfer to a third country (R-44-1).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    pub mechanism: TransferMechanism,
    /// The decision, SCC module and version, or derogation with its justification.
    pub reference: String,
    /// Where a copy of the safeguards can be obtained (Art. 13(1)(f)).
    pub safeguards_url: Option<String>,
}

/// The ground of Telecommunicatiewet art. 11.7a for a cookie or similar technology.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CookieBasis {
    /// Art. 11.7a(3)(a): only to transmit a communication.
    Transmission,
    /// Art. 11.7a(3)(b): strictly necessary for the service the user asked for.
    StrictlyNecessary,
    /// Art. 11.7a(3)(c): analytics with no or minor privacy impact.
    Analytics,
    /// Consent (tracking and everything else).
    Consent,
}

/// A cookie or similar technology (local storage, pixel, chat widget id).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Cookie {
    /// The cookie's name, when known.
    pub name: Option<String>,
    /// The recipient that sets or reads it, a key of `[recipients]`; absent means first party.
    pub provider: Option<String>,
    /// What it is for.
    pub purpose: Text,
    pub basis: CookieBasis,
    pub lifetime: Option<Lifetime>,
}

/// A staff role.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Role {
    pub name: Text,
    /// The purposes this role may use, keys of `[purposes]`.
    pub purposes: Vec<String>,
}

/// How data-subject requests are answered.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rights {
    /// The response time promised, at most one month (Art. 12(3)); absent means one month.
    pub response_time: Option<Period>,
    /// How the requester's identity is checked (Art. 12(2), 12(6)).
    pub identity_verification: Option<IdentityVerification>,
}

/// A way to verify who is asking (the verification ladder of gdpr-requirements §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum VerificationMethod {
    /// The request comes from a logged-in session.
    Session,
    /// A code sent to the e-mail address on file.
    EmailCode,
    /// A call back to the phone number on file.
    PhoneCallback,
    /// Data points the controller already holds (customer number, last invoice).
    KnownData,
    /// A copy of an identity document (see `id_copy`).
    IdDocument,
}

/// When a copy of an identity document is asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IdCopy {
    Never,
    /// Only per case, with a recorded reason, when lighter checks failed (R-NL-ID-1).
    WhenNecessary,
    /// For every request.
    Always,
}

/// A part of an identity document that must be made unreadable in a copy (R-NL-ID-2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IdShield {
    Bsn,
    Photo,
    Mrz,
    DocumentNumber,
    Nationality,
}

impl IdShield {
    pub const REQUIRED: [IdShield; 5] =
        [IdShield::Bsn, IdShield::Photo, IdShield::Mrz, IdShield::DocumentNumber, IdShield::Nationality];

    pub fn as_str(self) -> &'static str {
        match self {
            IdShield::Bsn => "bsn",
            IdShield::Photo => "photo",
            IdShield::Mrz => "mrz",
            IdShield::DocumentNumber => "document_number",
            IdShield::Nationality => "nationality",
        }
    }
}

/// The identity-verification policy.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentityVerification {
    pub methods: Vec<VerificationMethod>,
    pub id_copy: IdCopy,
    /// What the requester must black out in an ID copy.
    #[serde(default)]
    pub shield: Vec<IdShield>,
    /// The policy as the statement says it.
    pub text: Text,
}

/// The event a retention period runs from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RetentionEvent {
    /// The data were collected.
    Collection,
    /// The last activity of the subject (order, ticket, message).
    LastActivity,
    /// The subject's last login.
    LastLogin,
    /// The contract ended.
    ContractEnd,
    /// The end of the fiscal year the record belongs to (AWR art. 52).
    EndOfFiscalYear,
    /// The subject unsubscribed (newsletter).
    Unsubscribe,
    /// Consent was withdrawn.
    ConsentWithdrawn,
    /// A live chat was closed.
    ChatClosed,
    /// A phone call ended.
    CallEnded,
    /// A data-subject request was closed.
    RequestClosed,
    /// The requester's identity was verified.
    IdentityVerified,
    /// An abuse, fraud or dispute case was closed.
    CaseClosed,
}

/// What the sweeper does when the period has run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RetentionAction {
    Delete,
    Anonymise,
    /// Move to a read-only archive only a restricted role can read (R-NL-FIS-1).
    Archive,
}

/// A retention rule for a purpose and some of its categories.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionRule {
    /// The purpose, a key of `[purposes]`.
    pub purpose: String,
    /// The categories the rule covers (of that purpose); empty means all of them.
    #[serde(default)]
    #[schemars(with = "Vec<CategoryKey>")]
    pub categories: Vec<Category>,
    /// How long after `from` the action runs; `0d` is at once.
    pub period: Option<Period>,
    /// The event the period runs from.
    pub from: RetentionEvent,
    pub action: RetentionAction,
    /// A snake_case condition set on the record that suspends the rule, such as
    /// `contact_requested` for a chat that became a contact request.
    pub unless: Option<String>,
    /// The statute behind the period, such as `AWR art. 52(4)`.
    pub legal_reference: Option<String>,
    /// The rule as the statement says it.
    pub text: Text,
}

/// An ISO 3166-1 alpha-2 country code (`NL`, `US`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Country(String);

/// EU member states plus Iceland, Liechtenstein and Norway.
const EEA: [&str; 30] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT", "LU", "LV",
    "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", "IS", "LI", "NO",
];

impl Country {
    pub fn parse(raw: &str) -> Option<Country> {
        ISO_3166_ALPHA2.contains(&raw).then(|| Country(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for the EU member states, Iceland, Liechtenstein and Norway.
    pub fn in_eea(&self) -> bool {
        EEA.contains(&self.0.as_str())
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Country {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Country {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Country::parse(&raw).ok_or_else(|| {
            serde::de::Error::custom(format!("`{raw}` is not an ISO 3166-1 alpha-2 country code such as `NL`"))
        })
    }
}

impl JsonSchema for Country {
    fn schema_name() -> Cow<'static, str> {
        "Country".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "enum": ISO_3166_ALPHA2.as_slice(),
            "description": "ISO 3166-1 alpha-2 country code."
        })
    }
}

/// A calendar date written as a TOML local date (`2024-05-01`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalDate(pub toml::value::Date);

impl fmt::Display for LocalDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for LocalDate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for LocalDate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let datetime = Datetime::deserialize(deserializer)?;
        match datetime {
            Datetime { date: Some(date), time: None, offset: None } => Ok(LocalDate(date)),
            _ => Err(serde::de::Error::custom("expected a date without a time, such as 2024-05-01")),
        }
    }
}

impl JsonSchema for LocalDate {
    fn schema_name() -> Cow<'static, str> {
        "LocalDate".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "format": "date" })
    }
}

/// The schema of a data-category key (the Rust side uses `kluis_domain::fields::Category`).
pub(crate) struct CategoryKey;

impl JsonSchema for CategoryKey {
    fn schema_name() -> Cow<'static, str> {
        "CategoryKey".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^[a-z0-9_]+(\\.[a-z0-9_]+)+$",
            "maxLength": 128,
            "description": "A dotted data-category key (fideslang style), such as `user.contact.email`."
        })
    }
}
