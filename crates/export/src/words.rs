//! The fixed wording of the exports, in Dutch and English, and the stable snake_case names of the
//! register's choices.

use kluis_register::{
    Lang, LegalBasis, Period, PeriodUnit, RecipientRole, RetentionAction, RetentionEvent, Text, TransferMechanism,
};

pub(crate) fn t(nl: &str, en: &str) -> Text {
    Text { nl: nl.to_owned(), en: en.to_owned() }
}

/// A text in the language.
pub(crate) fn tx(lang: Lang, text: &Text) -> &str {
    match lang {
        Lang::Nl => &text.nl,
        Lang::En => &text.en,
    }
}

/// Picks the Dutch or the English wording.
pub(crate) fn w(lang: Lang, nl: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::Nl => nl,
        Lang::En => en,
    }
}

pub(crate) fn legal_basis_article(basis: LegalBasis) -> String {
    format!("Art. 6(1)({}) GDPR", basis.letter())
}

/// The basis in words with its article.
pub(crate) fn legal_basis_text(basis: LegalBasis) -> Text {
    let (nl, en) = match basis {
        LegalBasis::Consent => ("uw toestemming", "your consent"),
        LegalBasis::Contract => (
            "nodig voor de overeenkomst met u, of voor stappen die u vóór het sluiten daarvan vraagt",
            "necessary for the contract with you, or for steps you ask for before entering into it",
        ),
        LegalBasis::LegalObligation => ("een wettelijke plicht die op ons rust", "a legal obligation we are under"),
        LegalBasis::VitalInterests => ("bescherming van vitale belangen", "protecting someone's vital interests"),
        LegalBasis::PublicTask => (
            "een taak van algemeen belang of uitoefening van openbaar gezag",
            "a task in the public interest or the exercise of official authority",
        ),
        LegalBasis::LegitimateInterests => ("een gerechtvaardigd belang", "a legitimate interest"),
    };
    let letter = basis.letter();
    Text { nl: format!("{nl} (art. 6 lid 1 sub {letter} AVG)"), en: format!("{en} (Art. 6(1)({letter}) GDPR)") }
}

pub(crate) fn role_name(role: RecipientRole) -> &'static str {
    match role {
        RecipientRole::Processor => "processor",
        RecipientRole::ThirdParty => "third_party",
        RecipientRole::Authority => "authority",
    }
}

pub(crate) fn role_text(role: RecipientRole) -> Text {
    match role {
        RecipientRole::Processor => t("verwerker (werkt in onze opdracht)", "processor (acts on our behalf)"),
        RecipientRole::ThirdParty => {
            t("derde (zelf verantwoordelijk voor de gegevens)", "third party (itself responsible for the data)")
        }
        RecipientRole::Authority => t("overheidsinstantie", "public authority"),
    }
}

pub(crate) fn mechanism_name(mechanism: TransferMechanism) -> &'static str {
    match mechanism {
        TransferMechanism::Adequacy => "adequacy",
        TransferMechanism::Scc => "scc",
        TransferMechanism::Bcr => "bcr",
        TransferMechanism::Derogation => "derogation",
    }
}

pub(crate) fn mechanism_text(mechanism: TransferMechanism) -> Text {
    match mechanism {
        TransferMechanism::Adequacy => t(
            "adequaatheidsbesluit van de Europese Commissie (art. 45 AVG)",
            "adequacy decision of the European Commission (Art. 45 GDPR)",
        ),
        TransferMechanism::Scc => t(
            "modelcontractbepalingen van de Europese Commissie (art. 46 lid 2 sub c AVG)",
            "standard contractual clauses of the European Commission (Art. 46(2)(c) GDPR)",
        ),
        TransferMechanism::Bcr => {
            t("bindende bedrijfsvoorschriften (art. 47 AVG)", "binding corporate rules (Art. 47 GDPR)")
        }
        TransferMechanism::Derogation => t(
            "uitzondering voor specifieke situaties (art. 49 AVG)",
            "derogation for specific situations (Art. 49 GDPR)",
        ),
    }
}

pub(crate) fn event_name(event: RetentionEvent) -> &'static str {
    match event {
        RetentionEvent::Collection => "collection",
        RetentionEvent::LastActivity => "last_activity",
        RetentionEvent::LastLogin => "last_login",
        RetentionEvent::ContractEnd => "contract_end",
        RetentionEvent::EndOfFiscalYear => "end_of_fiscal_year",
        RetentionEvent::Unsubscribe => "unsubscribe",
        RetentionEvent::ConsentWithdrawn => "consent_withdrawn",
        RetentionEvent::ChatClosed => "chat_closed",
        RetentionEvent::CallEnded => "call_ended",
        RetentionEvent::RequestClosed => "request_closed",
        RetentionEvent::IdentityVerified => "identity_verified",
        RetentionEvent::CaseClosed => "case_closed",
    }
}

fn event_text(event: RetentionEvent) -> (&'static str, &'static str) {
    match event {
        RetentionEvent::Collection => ("na het verzamelen", "after collection"),
        RetentionEvent::LastActivity => ("na uw laatste activiteit", "after your last activity"),
        RetentionEvent::LastLogin => ("nadat u voor het laatst inlogde", "after your last login"),
        RetentionEvent::ContractEnd => ("na het einde van de overeenkomst", "after the contract ends"),
        RetentionEvent::EndOfFiscalYear => ("na het einde van het boekjaar", "after the end of the financial year"),
        RetentionEvent::Unsubscribe => ("na uw afmelding", "after you unsubscribe"),
        RetentionEvent::ConsentWithdrawn => ("nadat u uw toestemming intrekt", "after you withdraw your consent"),
        RetentionEvent::ChatClosed => ("na afloop van de chat", "after the chat ends"),
        RetentionEvent::CallEnded => ("na afloop van het gesprek", "after the call ends"),
        RetentionEvent::RequestClosed => ("na afhandeling van het verzoek", "after the request is closed"),
        RetentionEvent::IdentityVerified => {
            ("na de controle van uw identiteit", "after your identity has been checked")
        }
        RetentionEvent::CaseClosed => ("na afsluiting van de zaak", "after the case is closed"),
    }
}

pub(crate) fn action_name(action: RetentionAction) -> &'static str {
    match action {
        RetentionAction::Delete => "delete",
        RetentionAction::Anonymise => "anonymise",
        RetentionAction::Archive => "archive",
    }
}

fn action_text(action: RetentionAction) -> (&'static str, &'static str) {
    match action {
        RetentionAction::Delete => ("verwijderd", "deleted"),
        RetentionAction::Anonymise => ("geanonimiseerd", "anonymised"),
        RetentionAction::Archive => (
            "verplaatst naar een afgeschermd archief dat alleen een beperkte groep medewerkers kan inzien",
            "moved to a closed archive that only a limited group of staff can read",
        ),
    }
}

/// "7 jaar" / "7 years"; zero is "direct" / "immediately".
fn period_words(period: Period) -> (String, String) {
    if period.is_immediate() {
        return ("direct".to_owned(), "immediately".to_owned());
    }
    let one = period.amount == 1;
    let (nl, en) = match (period.unit, one) {
        (PeriodUnit::Days, true) => ("dag", "day"),
        (PeriodUnit::Days, false) => ("dagen", "days"),
        (PeriodUnit::Weeks, true) => ("week", "week"),
        (PeriodUnit::Weeks, false) => ("weken", "weeks"),
        (PeriodUnit::Months, true) => ("maand", "month"),
        (PeriodUnit::Months, false) => ("maanden", "months"),
        (PeriodUnit::Years, true) => ("jaar", "year"),
        (PeriodUnit::Years, false) => ("jaar", "years"),
    };
    (format!("{} {nl}", period.amount), format!("{} {en}", period.amount))
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map(|c| c.to_uppercase().collect::<String>() + chars.as_str()).unwrap_or_default()
}

/// "7 jaar na het einde van het boekjaar worden de gegevens verwijderd."
pub(crate) fn retention_summary(period: Option<Period>, from: RetentionEvent, action: RetentionAction) -> Text {
    let (event_nl, event_en) = event_text(from);
    let (when_nl, when_en) = match period {
        Some(p) => {
            let (nl, en) = period_words(p);
            (format!("{nl} {event_nl}"), format!("{en} {event_en}"))
        }
        None => (event_nl.to_owned(), event_en.to_owned()),
    };
    let (action_nl, action_en) = action_text(action);
    Text {
        nl: format!("{} worden de gegevens {action_nl}.", capitalise(&when_nl)),
        en: format!("{}, the data are {action_en}.", capitalise(&when_en)),
    }
}

pub(crate) fn data_subject_source() -> Text {
    t("U zelf (de betrokkene)", "You (the data subject)")
}

pub(crate) fn no_automated_decision() -> Text {
    t(
        "Geen: wij nemen voor dit doel geen besluiten die uitsluitend op geautomatiseerde verwerking berusten (art. 22 AVG).",
        "None: for this purpose we take no decisions based solely on automated processing (Art. 22 GDPR).",
    )
}

pub(crate) fn built_in_policy_note() -> Text {
    t(
        "Er is geen register van verwerkingen geladen: kluis werkt met zijn ingebouwde beleid. Dit overzicht bevat daarom alleen uw gegevens, wat ermee is gedaan, uw rechten en waar u een klacht kunt indienen; de doelen, grondslagen, ontvangers en bewaartermijnen staan in onze privacyverklaring.",
        "No register of processing is loaded: kluis runs on its built-in policy. This overview therefore lists only your data, what was done with them, your rights and where to complain; the purposes, legal bases, recipients and retention periods are in our privacy statement.",
    )
}

pub(crate) fn register_note(version: Option<u64>) -> Text {
    match version {
        Some(v) => Text {
            nl: format!(
                "De informatie over doelen, ontvangers en bewaartermijnen komt uit versie {v} van ons register van verwerkingen."
            ),
            en: format!(
                "The information on purposes, recipients and retention comes from version {v} of our register of processing."
            ),
        },
        None => t(
            "De informatie over doelen, ontvangers en bewaartermijnen komt uit ons register van verwerkingen.",
            "The information on purposes, recipients and retention comes from our register of processing.",
        ),
    }
}

pub(crate) const DEFAULT_AUTHORITY: &str = "Autoriteit Persoonsgegevens";
pub(crate) const DEFAULT_AUTHORITY_WEBSITE: &str = "https://autoriteitpersoonsgegevens.nl";

/// Name and description of a right, by article.
pub(crate) fn right(article: &str) -> (Text, Text) {
    match article {
        "15" => (
            t("Recht op inzage", "Right of access"),
            t(
                "U mag weten of en welke persoonsgegevens wij van u verwerken, en een kopie krijgen met de informatie in dit overzicht. Dit overzicht is die kopie; een eerste kopie is altijd gratis.",
                "You may know whether and which personal data we process about you, and get a copy with the information in this overview. This overview is that copy; a first copy is always free of charge.",
            ),
        ),
        "16" => (
            t("Recht op rectificatie", "Right to rectification"),
            t(
                "Kloppen uw gegevens niet of zijn ze onvolledig, dan mag u ons vragen ze te verbeteren of aan te vullen.",
                "If your data are wrong or incomplete, you may ask us to correct or complete them.",
            ),
        ),
        "17" => (
            t("Recht op wissing", "Right to erasure"),
            t(
                "U mag ons vragen uw gegevens te wissen, bijvoorbeeld als wij ze niet meer nodig hebben, als u uw toestemming intrekt of als u met succes bezwaar maakt. Gegevens die wij wettelijk moeten bewaren, wissen wij na afloop van die bewaartermijn.",
                "You may ask us to erase your data, for example when we no longer need them, when you withdraw your consent or when your objection succeeds. Data the law requires us to keep are erased when that retention period ends.",
            ),
        ),
        "18" => (
            t("Recht op beperking van de verwerking", "Right to restriction of processing"),
            t(
                "U mag ons vragen het gebruik van uw gegevens tijdelijk te beperken, bijvoorbeeld terwijl wij een verzoek om correctie of uw bezwaar beoordelen. Wij bewaren ze dan, maar gebruiken ze niet.",
                "You may ask us to restrict the use of your data for a while, for example while we assess a request for correction or your objection. We then keep them but do not use them.",
            ),
        ),
        "19" => (
            t("Kennisgeving aan ontvangers", "Notification of recipients"),
            t(
                "Verbeteren, wissen of beperken wij uw gegevens, dan laten wij dat weten aan de ontvangers aan wie wij ze hebben verstrekt, tenzij dat onmogelijk is of onevenredig veel moeite kost. Op uw verzoek vertellen wij u wie die ontvangers zijn.",
                "When we correct, erase or restrict your data, we tell the recipients we disclosed them to, unless that is impossible or takes disproportionate effort. At your request we tell you who those recipients are.",
            ),
        ),
        "20" => (
            t("Recht op overdraagbaarheid van gegevens", "Right to data portability"),
            t(
                "De gegevens die u ons zelf hebt gegeven en die wij met uw toestemming of voor een overeenkomst met u geautomatiseerd verwerken, mag u krijgen in een gangbaar, machineleesbaar formaat (JSON of CSV), of laten doorsturen naar een andere organisatie.",
                "The data you gave us yourself and that we process by automated means with your consent or for a contract with you, you may receive in a commonly used, machine-readable format (JSON or CSV), or have sent to another organisation.",
            ),
        ),
        "21" => (
            t("Recht van bezwaar", "Right to object"),
            t(
                "Verwerken wij uw gegevens op grond van een gerechtvaardigd belang of een taak van algemeen belang, dan mag u daartegen bezwaar maken vanwege uw specifieke situatie; wij stoppen dan, tenzij wij dwingende gerechtvaardigde gronden hebben. Tegen direct marketing mag u altijd bezwaar maken, en dan stoppen wij daar altijd mee.",
                "When we process your data on the basis of a legitimate interest or a task in the public interest, you may object on grounds relating to your particular situation; we then stop unless we have compelling legitimate grounds. You may always object to direct marketing, and we then always stop.",
            ),
        ),
        "7(3)" => (
            t("Toestemming intrekken", "Withdrawing consent"),
            t(
                "Verwerken wij gegevens met uw toestemming, dan mag u die toestemming altijd intrekken, even gemakkelijk als u haar gaf. Wat wij daarvoor al deden, blijft rechtmatig.",
                "Where we process data with your consent, you may withdraw it at any time, as easily as you gave it. What we did before remains lawful.",
            ),
        ),
        _ => (
            t("Recht om een klacht in te dienen", "Right to lodge a complaint"),
            t(
                "U mag altijd een klacht indienen bij de toezichthouder, in Nederland de Autoriteit Persoonsgegevens.",
                "You may always lodge a complaint with the supervisory authority, in the Netherlands the Autoriteit Persoonsgegevens (Dutch Data Protection Authority).",
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_summaries() {
        let p = Period::parse("7y").unwrap();
        let s = retention_summary(Some(p), RetentionEvent::EndOfFiscalYear, RetentionAction::Delete);
        assert_eq!(s.nl, "7 jaar na het einde van het boekjaar worden de gegevens verwijderd.");
        assert_eq!(s.en, "7 years after the end of the financial year, the data are deleted.");
        let s = retention_summary(Some(Period::IMMEDIATELY), RetentionEvent::ContractEnd, RetentionAction::Archive);
        assert!(s.nl.starts_with("Direct na het einde van de overeenkomst worden de gegevens verplaatst"), "{}", s.nl);
        let s = retention_summary(
            Some(Period::parse("1m").unwrap()),
            RetentionEvent::Collection,
            RetentionAction::Anonymise,
        );
        assert_eq!(s.en, "1 month after collection, the data are anonymised.");
    }
}
