//! Errors of the field catalogue. Messages say what is wrong and how to fix it, in English and
//! Dutch, and never repeat the offending value: errors end up in logs and HTTP bodies, and the
//! value is personal data (invariant 1).

use std::fmt;

use super::category::CategoryError;

/// What is wrong with one input value. `as_str` is the stable code for APIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueErrorCode {
    UnknownField,
    FieldDisabled,
    ForbiddenCategory,
    Empty,
    TooLong {
        max: usize,
    },
    InvalidCharacters,
    InvalidEmail,
    InvalidPhone,
    InvalidIban,
    InvalidPostcode,
    InvalidHouseNumber,
    InvalidHouseNumberAddition,
    InvalidPoBox,
    InvalidCountry,
    InvalidCustomerNumber,
    InvalidGender,
    BsnDetected,
    /// The same field appeared twice in one batch; keeping either silently would lose data.
    DuplicateField,
    /// A lookup got a different number of parts than its index has fields.
    WrongPartCount {
        expected: usize,
    },
}

impl ValueErrorCode {
    /// Stable snake_case code, e.g. for RFC 9457 problem documents.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::UnknownField => "unknown_field",
            Self::FieldDisabled => "field_disabled",
            Self::ForbiddenCategory => "forbidden_category",
            Self::Empty => "empty",
            Self::TooLong { .. } => "too_long",
            Self::InvalidCharacters => "invalid_characters",
            Self::InvalidEmail => "invalid_email",
            Self::InvalidPhone => "invalid_phone",
            Self::InvalidIban => "invalid_iban",
            Self::InvalidPostcode => "invalid_postcode",
            Self::InvalidHouseNumber => "invalid_house_number",
            Self::InvalidHouseNumberAddition => "invalid_house_number_addition",
            Self::InvalidPoBox => "invalid_po_box",
            Self::InvalidCountry => "invalid_country",
            Self::InvalidCustomerNumber => "invalid_customer_number",
            Self::InvalidGender => "invalid_gender",
            Self::BsnDetected => "bsn_detected",
            Self::DuplicateField => "duplicate_field",
            Self::WrongPartCount { .. } => "wrong_part_count",
        }
    }

    pub fn message_en(&self) -> String {
        match self {
            Self::UnknownField => "unknown field: it is not in the field catalogue".into(),
            Self::FieldDisabled => "this field is defined but not enabled in this installation".into(),
            Self::ForbiddenCategory => "kluis does not store this kind of data: national \
                 identification numbers such as the BSN, dates of birth and identity-document \
                 numbers are refused (UAVG art. 46, GDPR art. 87)"
                .into(),
            Self::Empty => "a value is required but the field is empty".into(),
            Self::TooLong { max } => format!("too long: at most {max} characters are allowed"),
            Self::InvalidCharacters => "contains control characters or invisible text-direction characters".into(),
            Self::InvalidEmail => "not a valid e-mail address (expected name@example.nl)".into(),
            Self::InvalidPhone => "not a valid phone number: give an international number \
                 (+31 6 12345678) or a Dutch one (06 12345678)"
                .into(),
            Self::InvalidIban => "not a valid IBAN: the mod-97 check digits do not match or the format is wrong".into(),
            Self::InvalidPostcode => "not a valid Dutch postcode: four digits (the first not 0) \
                 and two letters, such as 1234 AB"
                .into(),
            Self::InvalidHouseNumber => "not a valid house number: a whole number from 1 to \
                 99999; letters belong in the house-number addition"
                .into(),
            Self::InvalidHouseNumberAddition => {
                "not a valid house-number addition: 1 to 6 letters, digits or dashes".into()
            }
            Self::InvalidPoBox => "not a valid PO box number: 1 to 6 digits, not 0".into(),
            Self::InvalidCountry => "not a valid country: give a two-letter ISO 3166-1 code such as NL".into(),
            Self::InvalidCustomerNumber => "not a valid customer number: 1 to 32 letters, digits or dashes".into(),
            Self::InvalidGender => "not a valid gender: use female, male, non_binary or unspecified".into(),
            Self::BsnDetected => "looks like a BSN (citizen service number); kluis does not \
                 store BSNs (UAVG art. 46)"
                .into(),
            Self::DuplicateField => "this field was given more than once".into(),
            Self::WrongPartCount { expected } => {
                format!("this lookup needs exactly {expected} value(s)")
            }
        }
    }

    pub fn message_nl(&self) -> String {
        match self {
            Self::UnknownField => "onbekend veld: het staat niet in de veldcatalogus".into(),
            Self::FieldDisabled => "dit veld bestaat wel, maar is in deze installatie niet ingeschakeld".into(),
            Self::ForbiddenCategory => "kluis slaat dit soort gegevens niet op: nationale \
                 identificatienummers zoals het BSN, geboortedata en nummers van \
                 identiteitsbewijzen worden geweigerd (UAVG art. 46, AVG art. 87)"
                .into(),
            Self::Empty => "een waarde is verplicht, maar het veld is leeg".into(),
            Self::TooLong { max } => format!("te lang: hoogstens {max} tekens toegestaan"),
            Self::InvalidCharacters => "bevat stuurtekens of onzichtbare tekens voor de schrijfrichting".into(),
            Self::InvalidEmail => "geen geldig e-mailadres (verwacht naam@voorbeeld.nl)".into(),
            Self::InvalidPhone => "geen geldig telefoonnummer: geef een internationaal nummer \
                 (+31 6 12345678) of een Nederlands nummer (06 12345678)"
                .into(),
            Self::InvalidIban => "geen geldig IBAN: de mod-97-controle klopt niet of het formaat is onjuist".into(),
            Self::InvalidPostcode => "geen geldige Nederlandse postcode: vier cijfers (het \
                 eerste geen 0) en twee letters, zoals 1234 AB"
                .into(),
            Self::InvalidHouseNumber => "geen geldig huisnummer: een geheel getal van 1 tot en \
                 met 99999; letters horen in de huisnummertoevoeging"
                .into(),
            Self::InvalidHouseNumberAddition => {
                "geen geldige huisnummertoevoeging: 1 tot 6 letters, cijfers of streepjes".into()
            }
            Self::InvalidPoBox => "geen geldig postbusnummer: 1 tot 6 cijfers, niet 0".into(),
            Self::InvalidCountry => "geen geldig land: geef een tweeletterige ISO 3166-1-code zoals NL".into(),
            Self::InvalidCustomerNumber => "geen geldig klantnummer: 1 tot 32 letters, cijfers of streepjes".into(),
            Self::InvalidGender => "geen geldig geslacht: gebruik female, male, non_binary of unspecified".into(),
            Self::BsnDetected => "lijkt op een BSN (burgerservicenummer); kluis slaat geen \
                 BSN's op (UAVG art. 46)"
                .into(),
            Self::DuplicateField => "dit veld is meer dan eens opgegeven".into(),
            Self::WrongPartCount { expected } => {
                format!("deze zoekopdracht heeft precies {expected} waarde(n) nodig")
            }
        }
    }
}

impl fmt::Display for ValueErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message_en())
    }
}

/// One refused input value: which field, and why. Never holds the value itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {code}")]
pub struct ValueError {
    pub field: String,
    pub code: ValueErrorCode,
}

impl ValueError {
    /// Builds an error for a field name that came from outside. Field names are echoed into
    /// logs and problem documents, so a "name" that is not shaped like one (it could be an
    /// e-mail address pasted into the wrong box) is replaced by a placeholder.
    pub(super) fn new(field: &str, code: ValueErrorCode) -> ValueError {
        let plausible = (1..=64).contains(&field.len())
            && field.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
        let field = if plausible { field.to_owned() } else { "<invalid field name>".to_owned() };
        ValueError { field, code }
    }
}

/// Every refused value of a batch, sorted by field name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", render(.0))]
pub struct ValidationErrors(pub Vec<ValueError>);

fn render(errors: &[ValueError]) -> String {
    let details: Vec<String> = errors.iter().map(ToString::to_string).collect();
    format!("{} invalid value(s): {}", errors.len(), details.join("; "))
}

/// Why the catalogue refused a field definition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    #[error(
        "field `{name}` has category `{category}`, which kluis refuses to store (national id \
         numbers such as the BSN, dates of birth, identity-document numbers; UAVG art. 46)"
    )]
    ForbiddenCategory { name: String, category: String },
    #[error("field `{0}` is already defined")]
    Duplicate(String),
    #[error("field `{0}` is not defined")]
    Unknown(String),
    #[error(transparent)]
    Category(#[from] CategoryError),
}
