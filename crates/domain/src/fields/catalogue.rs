//! The field catalogue: which fields exist, their type, data category and labels, and the entry
//! point that turns raw input into validated values.

use serde::Serialize;

use super::FieldValue;
use super::category::Category;
use super::error::{FieldError, ValidationErrors, ValueError, ValueErrorCode};
use super::validate::parse_typed;

/// The kind of value a field holds; decides the validator and normalisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    Text,
    HouseNumber,
    HouseNumberAddition,
    Postcode,
    PoBox,
    Country,
    Email,
    Phone,
    Iban,
    CustomerNumber,
    Gender,
}

impl FieldType {
    pub const ALL: [FieldType; 11] = [
        FieldType::Text,
        FieldType::HouseNumber,
        FieldType::HouseNumberAddition,
        FieldType::Postcode,
        FieldType::PoBox,
        FieldType::Country,
        FieldType::Email,
        FieldType::Phone,
        FieldType::Iban,
        FieldType::CustomerNumber,
        FieldType::Gender,
    ];

    /// Stable snake_case name, as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::HouseNumber => "house_number",
            FieldType::HouseNumberAddition => "house_number_addition",
            FieldType::Postcode => "postcode",
            FieldType::PoBox => "po_box",
            FieldType::Country => "country",
            FieldType::Email => "email",
            FieldType::Phone => "phone",
            FieldType::Iban => "iban",
            FieldType::CustomerNumber => "customer_number",
            FieldType::Gender => "gender",
        }
    }

    /// Longest accepted input in characters, after trimming. A cheap cap checked before any
    /// parser runs; the tight formats (postcode, country) then get their own precise error
    /// instead of a bare "too long".
    pub fn max_len(self) -> usize {
        match self {
            FieldType::Text => 200,
            // RFC 5321 limits a forward path to 256 octets including the angle brackets.
            FieldType::Email => 254,
            // 34 characters of the longest IBAN plus paper-format spaces and some slack.
            FieldType::Iban => 64,
            FieldType::Phone | FieldType::CustomerNumber | FieldType::Gender => 32,
            FieldType::HouseNumber
            | FieldType::HouseNumberAddition
            | FieldType::Postcode
            | FieldType::PoBox
            | FieldType::Country => 16,
        }
    }
}

/// One catalogue entry.
///
/// `indexed` means the field has its own blind index (lookup by that value); the compound
/// postcode + house-number index is described by [`super::IndexName`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldDef {
    pub name: &'static str,
    pub field_type: FieldType,
    pub category: Category,
    pub indexed: bool,
    pub enabled: bool,
    pub label_en: &'static str,
    pub label_nl: &'static str,
}

/// Field names that denote data kluis refuses (UAVG art. 46 and GDPR Art. 87 for the BSN,
/// R-NL-ID-3 for identity documents, R-5-3 minimisation for dates of birth). A request that
/// names one gets `ForbiddenCategory`, which says why, instead of a puzzling `UnknownField`.
const FORBIDDEN_FIELD_NAMES: [&str; 16] = [
    "bsn",
    "burgerservicenummer",
    "citizen_service_number",
    "national_id",
    "national_id_number",
    "date_of_birth",
    "birth_date",
    "birthdate",
    "geboortedatum",
    "passport_number",
    "id_card_number",
    "identity_document_number",
    "document_number",
    "drivers_license_number",
    "social_security_number",
    "ssn",
];

/// Words that make any field name forbidden wherever they appear (`partner_bsn`,
/// `bsn_nummer`): none of them has an innocent meaning.
const FORBIDDEN_NAME_WORDS: [&str; 6] =
    ["bsn", "burgerservicenummer", "sofinummer", "geboortedatum", "paspoortnummer", "rijbewijsnummer"];

fn is_forbidden_field_name(name: &str) -> bool {
    let canonical: String = name
        .trim()
        .chars()
        .map(|c| match c {
            '-' | ' ' | '.' => '_',
            other => other.to_ascii_lowercase(),
        })
        .collect();
    FORBIDDEN_FIELD_NAMES.contains(&canonical.as_str())
        || canonical.split('_').any(|word| FORBIDDEN_NAME_WORDS.contains(&word))
}

/// An ordered set of field definitions.
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    fields: Vec<FieldDef>,
}

/// The built-in fields: name, type, category, indexed, enabled, English and Dutch label.
/// Categories are fideslang keys; a unit test parses every one.
#[rustfmt::skip]
const BUILTIN: [(&str, FieldType, &str, bool, bool, &str, &str); 15] = {
    use FieldType as T;
    [
        ("company_name", T::Text, "user.workplace", false, true, "Company name", "Bedrijfsnaam"),
        ("first_names", T::Text, "user.name.first", false, true, "First names", "Voornamen"),
        ("last_name", T::Text, "user.name.last", false, true, "Last name", "Achternaam"),
        ("street", T::Text, "user.contact.address.street", false, true, "Street", "Straat"),
        ("house_number", T::HouseNumber, "user.contact.address.street", false, true, "House number", "Huisnummer"),
        ("house_number_addition", T::HouseNumberAddition, "user.contact.address.street", false, true, "House number addition", "Huisnummertoevoeging"),
        ("postcode", T::Postcode, "user.contact.address.postal_code", false, true, "Postcode", "Postcode"),
        ("po_box", T::PoBox, "user.contact.address.po_box", false, true, "PO box", "Postbus"),
        ("city", T::Text, "user.contact.address.city", false, true, "City", "Plaats"),
        ("country", T::Country, "user.contact.address.country", false, true, "Country", "Land"),
        ("email", T::Email, "user.contact.email", true, true, "E-mail address", "E-mailadres"),
        ("phone", T::Phone, "user.contact.phone_number", true, true, "Phone number", "Telefoonnummer"),
        ("iban", T::Iban, "user.financial.bank_account", true, true, "IBAN", "IBAN"),
        ("customer_number", T::CustomerNumber, "user.unique_id", true, true, "Customer number", "Klantnummer"),
        // Off by default: R-5-3 (CJEU C-394/23 Mousse), R-9-3, R-25-1.
        ("gender", T::Gender, "user.demographic.gender", false, false, "Gender", "Geslacht"),
    ]
};

impl Catalogue {
    /// The built-in catalogue of a Dutch IT provider: NAW, contact, bank account and customer
    /// number. `gender` is defined but off: it is not necessary for an IT contract (R-5-3,
    /// CJEU C-394/23 *Mousse*; R-9-3; privacy by default, R-25-1), so an installation has to
    /// switch it on deliberately with [`Catalogue::enable`].
    pub fn dutch_it_provider() -> Catalogue {
        let fields = BUILTIN
            .iter()
            .map(|&(name, field_type, category, indexed, enabled, label_en, label_nl)| FieldDef {
                name,
                field_type,
                category: Category::builtin(category),
                indexed,
                enabled,
                label_en,
                label_nl,
            })
            .collect();
        Catalogue { fields }
    }

    pub fn get(&self, name: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|def| def.name == name)
    }

    /// All definitions, enabled or not, in catalogue order.
    pub fn fields(&self) -> impl Iterator<Item = &FieldDef> {
        self.fields.iter()
    }

    /// Adds a field. Refuses a forbidden category or a field name that denotes forbidden data
    /// (R-9-1, R-NL-BSN-1: the data model has no such field, and no register can add one), and a
    /// name that is already defined.
    pub fn define(&mut self, def: FieldDef) -> Result<(), FieldError> {
        if def.category.is_forbidden() || is_forbidden_field_name(def.name) {
            return Err(FieldError::ForbiddenCategory {
                name: def.name.to_owned(),
                category: def.category.as_str().to_owned(),
            });
        }
        if self.get(def.name).is_some() {
            return Err(FieldError::Duplicate(def.name.to_owned()));
        }
        self.fields.push(def);
        Ok(())
    }

    /// Turns a defined-but-disabled field (such as `gender`) on. Enabling an enabled field is a
    /// no-op.
    pub fn enable(&mut self, name: &str) -> Result<(), FieldError> {
        match self.fields.iter_mut().find(|def| def.name == name) {
            Some(def) => {
                def.enabled = true;
                Ok(())
            }
            None => Err(FieldError::Unknown(name.to_owned())),
        }
    }

    /// Parses one raw input value for `field`.
    ///
    /// Order: a forbidden field name (`bsn`, `date_of_birth`, ...) gives `ForbiddenCategory`;
    /// then an unknown field, a disabled field, and finally the value itself (see the type
    /// validators; a BSN anywhere gives `BsnDetected`).
    pub fn parse_value(&self, field: &str, raw: &str) -> Result<FieldValue, ValueError> {
        let def = self.enabled_def(field)?;
        parse_typed(def.field_type, raw).map_err(|code| ValueError::new(field, code))
    }

    fn enabled_def(&self, field: &str) -> Result<&FieldDef, ValueError> {
        if is_forbidden_field_name(field) {
            return Err(ValueError::new(field, ValueErrorCode::ForbiddenCategory));
        }
        let Some(def) = self.get(field) else {
            return Err(ValueError::new(field, ValueErrorCode::UnknownField));
        };
        // `define` already refuses these; checked again so a future way of building a
        // catalogue cannot open the door.
        if def.category.is_forbidden() {
            return Err(ValueError::new(field, ValueErrorCode::ForbiddenCategory));
        }
        if !def.enabled {
            return Err(ValueError::new(field, ValueErrorCode::FieldDisabled));
        }
        Ok(def)
    }

    /// Parses a batch of `(field, raw value)` pairs, in input order. Collects every error rather
    /// than stopping at the first, so a form can show all problems at once; errors are sorted by
    /// field name. A field given twice is an error (`DuplicateField`): silently keeping one of
    /// the values would lose data.
    pub fn parse_values<'a>(
        &self,
        input: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Vec<(&FieldDef, FieldValue)>, ValidationErrors> {
        let mut parsed = Vec::new();
        let mut errors = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        for (field, raw) in input {
            if seen.contains(&field) {
                errors.push(ValueError::new(field, ValueErrorCode::DuplicateField));
                continue;
            }
            seen.push(field);
            let result = self.enabled_def(field).and_then(|def| {
                parse_typed(def.field_type, raw).map(|value| (def, value)).map_err(|code| ValueError::new(field, code))
            });
            match result {
                Ok(pair) => parsed.push(pair),
                Err(error) => errors.push(error),
            }
        }
        if errors.is_empty() {
            Ok(parsed)
        } else {
            // Stable, so several errors of one field keep their input order.
            errors.sort_by(|a, b| a.field.cmp(&b.field));
            Err(ValidationErrors(errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_categories_parse() {
        for def in Catalogue::dutch_it_provider().fields() {
            assert_eq!(Category::parse(def.category.as_str()).as_ref(), Ok(&def.category), "{}", def.name);
        }
    }

    #[test]
    fn forbidden_names_are_recognised_in_any_spelling() {
        for name in [
            "bsn",
            "BSN",
            " Burgerservicenummer ",
            "date-of-birth",
            "Date of Birth",
            "partner_bsn",
            "bsn_nummer",
            "sofinummer",
            "passport_number",
            "drivers_license_number",
        ] {
            assert!(is_forbidden_field_name(name), "{name}");
        }
        for name in ["email", "customer_number", "absn", "bsnx", "birth_place", "company_name"] {
            assert!(!is_forbidden_field_name(name), "{name}");
        }
    }

    #[test]
    fn builtin_field_names_are_not_forbidden() {
        for def in Catalogue::dutch_it_provider().fields() {
            assert!(!is_forbidden_field_name(def.name), "{}", def.name);
        }
    }
}
