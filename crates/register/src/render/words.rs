//! The fixed wording of the generated documents, in kluis's own words, per language.

use super::Lang;
use crate::model::{
    CookieBasis, IdCopy, IdShield, LegalBasis, RecipientRole, Requirement, RetentionAction, RetentionEvent,
    RetentionRule, Text, TransferMechanism, VerificationMethod,
};
use crate::period::{Lifetime, Period, PeriodUnit};

/// Picks the Dutch or the English wording.
pub(crate) fn w(lang: Lang, nl: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::Nl => nl,
        Lang::En => en,
    }
}

/// A register text in the language.
pub(crate) fn tx(lang: Lang, text: &Text) -> &str {
    match lang {
        Lang::Nl => &text.nl,
        Lang::En => &text.en,
    }
}

/// "7 jaar" / "7 years"; zero is "direct" / "immediately".
pub(crate) fn period(lang: Lang, period: Period) -> String {
    if period.is_immediate() {
        return w(lang, "direct", "immediately").to_owned();
    }
    let one = period.amount == 1;
    let unit = match (lang, period.unit, one) {
        (Lang::Nl, PeriodUnit::Days, true) => "dag",
        (Lang::Nl, PeriodUnit::Days, false) => "dagen",
        (_, PeriodUnit::Weeks, true) => "week",
        (Lang::Nl, PeriodUnit::Weeks, false) => "weken",
        (Lang::Nl, PeriodUnit::Months, true) => "maand",
        (Lang::Nl, PeriodUnit::Months, false) => "maanden",
        (Lang::Nl, PeriodUnit::Years, _) => "jaar",
        (Lang::En, PeriodUnit::Days, true) => "day",
        (Lang::En, PeriodUnit::Days, false) => "days",
        (Lang::En, PeriodUnit::Weeks, false) => "weeks",
        (Lang::En, PeriodUnit::Months, true) => "month",
        (Lang::En, PeriodUnit::Months, false) => "months",
        (Lang::En, PeriodUnit::Years, true) => "year",
        (Lang::En, PeriodUnit::Years, false) => "years",
    };
    format!("{} {unit}", period.amount)
}

pub(crate) fn lifetime(lang: Lang, lifetime: Lifetime) -> String {
    match lifetime {
        Lifetime::Session => w(lang, "tot u de browser sluit", "until you close the browser").to_owned(),
        Lifetime::Period(p) if p.is_immediate() => w(lang, "niet bewaard", "not stored").to_owned(),
        Lifetime::Period(p) => period(lang, p),
    }
}

pub(crate) fn event(lang: Lang, event: RetentionEvent) -> &'static str {
    match event {
        RetentionEvent::Collection => w(lang, "na het verzamelen", "after collection"),
        RetentionEvent::LastActivity => w(lang, "na uw laatste activiteit", "after your last activity"),
        RetentionEvent::LastLogin => w(lang, "nadat u voor het laatst inlogde", "after your last login"),
        RetentionEvent::ContractEnd => w(lang, "na het einde van de overeenkomst", "after the contract ends"),
        RetentionEvent::EndOfFiscalYear => {
            w(lang, "na het einde van het boekjaar", "after the end of the financial year")
        }
        RetentionEvent::Unsubscribe => w(lang, "na uw afmelding", "after you unsubscribe"),
        RetentionEvent::ConsentWithdrawn => {
            w(lang, "nadat u uw toestemming intrekt", "after you withdraw your consent")
        }
        RetentionEvent::ChatClosed => w(lang, "na afloop van de chat", "after the chat ends"),
        RetentionEvent::CallEnded => w(lang, "na afloop van het gesprek", "after the call ends"),
        RetentionEvent::RequestClosed => w(lang, "na afhandeling van het verzoek", "after the request is closed"),
        RetentionEvent::IdentityVerified => {
            w(lang, "na de controle van uw identiteit", "after your identity has been checked")
        }
        RetentionEvent::CaseClosed => w(lang, "na afsluiting van de zaak", "after the case is closed"),
    }
}

pub(crate) fn action(lang: Lang, action: RetentionAction) -> &'static str {
    match action {
        RetentionAction::Delete => w(lang, "verwijderd", "deleted"),
        RetentionAction::Anonymise => w(lang, "geanonimiseerd", "anonymised"),
        RetentionAction::Archive => w(
            lang,
            "verplaatst naar een afgeschermd archief dat alleen een beperkte groep medewerkers kan inzien",
            "moved to a closed archive that only a limited group of staff can read",
        ),
    }
}

/// "7 jaar na het einde van het boekjaar worden de gegevens verwijderd."
pub(crate) fn retention_rule(lang: Lang, rule: &RetentionRule) -> String {
    let when = match rule.period {
        Some(p) => format!("{} {}", period(lang, p), event(lang, rule.from)),
        None => event(lang, rule.from).to_owned(),
    };
    let mut when = when;
    if let Some(first) = when.get(..1) {
        when = first.to_uppercase() + &when[1..];
    }
    match lang {
        Lang::Nl => format!("{when} worden de gegevens {}.", action(lang, rule.action)),
        Lang::En => format!("{when}, the data are {}.", action(lang, rule.action)),
    }
}

/// The basis with its article: "toestemming (art. 6 lid 1 sub a AVG)".
pub(crate) fn legal_basis(lang: Lang, basis: LegalBasis) -> String {
    let name = match basis {
        LegalBasis::Consent => w(lang, "uw toestemming", "your consent"),
        LegalBasis::Contract => w(
            lang,
            "nodig voor de overeenkomst met u, of voor stappen die u vóór het sluiten daarvan vraagt",
            "necessary for the contract with you, or for steps you ask for before entering into it",
        ),
        LegalBasis::LegalObligation => {
            w(lang, "een wettelijke plicht die op ons rust", "a legal obligation we are under")
        }
        LegalBasis::VitalInterests => {
            w(lang, "bescherming van vitale belangen", "protecting someone's vital interests")
        }
        LegalBasis::PublicTask => w(
            lang,
            "een taak van algemeen belang of uitoefening van openbaar gezag",
            "a task in the public interest or the exercise of official authority",
        ),
        LegalBasis::LegitimateInterests => w(lang, "een gerechtvaardigd belang", "a legitimate interest"),
    };
    match lang {
        Lang::Nl => format!("{name} (art. 6 lid 1 sub {} AVG)", basis.letter()),
        Lang::En => format!("{name} (Art. 6(1)({}) GDPR)", basis.letter()),
    }
}

/// The basis in a few English words, for the Art. 30 record.
pub(crate) fn legal_basis_short(lang: Lang, basis: LegalBasis) -> String {
    let name = match basis {
        LegalBasis::Consent => w(lang, "toestemming", "consent"),
        LegalBasis::Contract => w(lang, "overeenkomst", "contract"),
        LegalBasis::LegalObligation => w(lang, "wettelijke verplichting", "legal obligation"),
        LegalBasis::VitalInterests => w(lang, "vitaal belang", "vital interests"),
        LegalBasis::PublicTask => w(lang, "algemeen belang", "public task"),
        LegalBasis::LegitimateInterests => w(lang, "gerechtvaardigd belang", "legitimate interests"),
    };
    format!("{name} (6(1)({}))", basis.letter())
}

pub(crate) fn requirement(lang: Lang, requirement: Requirement) -> &'static str {
    match requirement {
        Requirement::Statutory => w(
            lang,
            "De wet schrijft voor dat deze gegevens worden verstrekt.",
            "Providing these data is required by law.",
        ),
        Requirement::Contractual => w(
            lang,
            "De overeenkomst met u vereist deze gegevens; zonder kunnen wij die niet uitvoeren.",
            "The contract with you requires these data; without them we cannot perform it.",
        ),
        Requirement::ContractPrecondition => w(
            lang,
            "U hoeft deze gegevens niet te geven, maar zonder kunnen wij geen overeenkomst met u sluiten.",
            "You do not have to give these data, but without them we cannot enter into a contract with you.",
        ),
        Requirement::Voluntary => {
            w(lang, "U bent niet verplicht deze gegevens te geven.", "You are under no obligation to give these data.")
        }
    }
}

pub(crate) fn role(lang: Lang, role: RecipientRole) -> &'static str {
    match role {
        RecipientRole::Processor => w(
            lang,
            "verwerker: werkt in onze opdracht, volgens een verwerkersovereenkomst",
            "processor: works on our instructions under a processor agreement",
        ),
        RecipientRole::ThirdParty => w(
            lang,
            "zelfstandig verantwoordelijk voor wat het met de gegevens doet",
            "independently responsible for what it does with the data",
        ),
        RecipientRole::Authority => w(lang, "overheidsinstantie", "public authority"),
    }
}

pub(crate) fn role_short(lang: Lang, role: RecipientRole) -> &'static str {
    match role {
        RecipientRole::Processor => w(lang, "verwerker", "processor"),
        RecipientRole::ThirdParty => {
            w(lang, "derde (zelfstandig verantwoordelijke)", "third party (independent controller)")
        }
        RecipientRole::Authority => w(lang, "overheidsinstantie", "public authority"),
    }
}

pub(crate) fn mechanism(lang: Lang, mechanism: TransferMechanism) -> &'static str {
    match mechanism {
        TransferMechanism::Adequacy => w(
            lang,
            "er is een adequaatheidsbesluit van de Europese Commissie voor dit land (art. 45 AVG)",
            "the European Commission has adopted an adequacy decision for this country (Art. 45 GDPR)",
        ),
        TransferMechanism::Scc => w(
            lang,
            "de doorgifte steunt niet op een adequaatheidsbesluit maar op de standaardcontractbepalingen van de Europese Commissie (art. 46 lid 2 sub c AVG)",
            "the transfer does not rely on an adequacy decision but on the European Commission's standard contractual clauses (Art. 46(2)(c) GDPR)",
        ),
        TransferMechanism::Bcr => w(
            lang,
            "de doorgifte steunt niet op een adequaatheidsbesluit maar op bindende bedrijfsvoorschriften (art. 47 AVG)",
            "the transfer does not rely on an adequacy decision but on binding corporate rules (Art. 47 GDPR)",
        ),
        TransferMechanism::Derogation => w(
            lang,
            "de doorgifte steunt niet op een adequaatheidsbesluit maar op een uitzondering van art. 49 AVG",
            "the transfer does not rely on an adequacy decision but on a derogation under Art. 49 GDPR",
        ),
    }
}

pub(crate) fn mechanism_short(mechanism: TransferMechanism) -> &'static str {
    match mechanism {
        TransferMechanism::Adequacy => "adequacy (Art. 45)",
        TransferMechanism::Scc => "SCC (Art. 46(2)(c))",
        TransferMechanism::Bcr => "BCR (Art. 47)",
        TransferMechanism::Derogation => "derogation (Art. 49)",
    }
}

pub(crate) fn cookie_basis(lang: Lang, basis: CookieBasis) -> &'static str {
    match basis {
        CookieBasis::Transmission => w(
            lang,
            "alleen nodig om communicatie over te brengen; geen toestemming nodig",
            "only needed to carry a communication; no consent needed",
        ),
        CookieBasis::StrictlyNecessary => w(
            lang,
            "strikt nodig voor de dienst waar u om vraagt; geen toestemming nodig",
            "strictly needed for the service you ask for; no consent needed",
        ),
        CookieBasis::Analytics => w(
            lang,
            "meet het gebruik van de website met geen of weinig gevolgen voor uw privacy; geen toestemming nodig",
            "measures use of the website with little or no effect on your privacy; no consent needed",
        ),
        CookieBasis::Consent => w(lang, "alleen als u toestemming geeft", "only if you give consent"),
    }
}

pub(crate) fn verification(lang: Lang, method: VerificationMethod) -> &'static str {
    match method {
        VerificationMethod::Session => w(lang, "via uw ingelogde account", "through your logged-in account"),
        VerificationMethod::EmailCode => w(
            lang,
            "met een code die wij sturen naar het e-mailadres dat wij al van u hebben",
            "with a code we send to the e-mail address we already hold for you",
        ),
        VerificationMethod::PhoneCallback => w(
            lang,
            "door u terug te bellen op het telefoonnummer dat wij al van u hebben",
            "by calling you back on the phone number we already hold for you",
        ),
        VerificationMethod::KnownData => w(
            lang,
            "door te vragen naar gegevens die wij al van u hebben, zoals een klantnummer",
            "by asking for details we already hold, such as a customer number",
        ),
        VerificationMethod::IdDocument => w(
            lang,
            "met een afgeschermde kopie van een identiteitsbewijs (zie hieronder)",
            "with a shielded copy of an identity document (see below)",
        ),
    }
}

pub(crate) fn shield(lang: Lang, shield: IdShield) -> &'static str {
    match shield {
        IdShield::Bsn => w(lang, "burgerservicenummer (BSN)", "citizen service number (BSN)"),
        IdShield::Photo => w(lang, "pasfoto", "photo"),
        IdShield::Mrz => w(lang, "de machineleesbare strook (MRZ)", "the machine-readable zone (MRZ)"),
        IdShield::DocumentNumber => w(lang, "documentnummer", "document number"),
        IdShield::Nationality => w(lang, "nationaliteit", "nationality"),
    }
}

pub(crate) fn id_copy(lang: Lang, policy: IdCopy) -> &'static str {
    match policy {
        IdCopy::Never => w(
            lang,
            "Wij vragen nooit om een kopie van uw identiteitsbewijs.",
            "We never ask for a copy of your identity document.",
        ),
        IdCopy::WhenNecessary => w(
            lang,
            "Alleen als deze controles niet volstaan, vragen wij om een kopie van uw identiteitsbewijs.",
            "Only if these checks are not enough do we ask for a copy of your identity document.",
        ),
        IdCopy::Always => w(
            lang,
            "Bij een verzoek vragen wij om een kopie van uw identiteitsbewijs.",
            "For a request we ask for a copy of your identity document.",
        ),
    }
}

/// The country's name for the common cases, else its ISO code.
pub(crate) fn country(lang: Lang, code: &str) -> String {
    let name = match code {
        "NL" => Some(w(lang, "Nederland", "the Netherlands")),
        "BE" => Some(w(lang, "België", "Belgium")),
        "DE" => Some(w(lang, "Duitsland", "Germany")),
        "FR" => Some(w(lang, "Frankrijk", "France")),
        "IE" => Some(w(lang, "Ierland", "Ireland")),
        "LU" => Some(w(lang, "Luxemburg", "Luxembourg")),
        "GB" => Some(w(lang, "Verenigd Koninkrijk", "United Kingdom")),
        "US" => Some(w(lang, "Verenigde Staten", "United States")),
        "CH" => Some(w(lang, "Zwitserland", "Switzerland")),
        _ => None,
    };
    name.map_or_else(|| code.to_owned(), |n| format!("{n} ({code})"))
}
