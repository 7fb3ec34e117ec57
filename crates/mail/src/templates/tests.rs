use time::macros::{date, datetime};

use super::*;
use crate::Message;

fn sender() -> Sender {
    Sender {
        controller: "Bakkerij Brûlée B.V.".to_owned(),
        contact_email: "privacy@brulee.example".to_owned(),
        postal_address: Some("Kerkstraat 1, 1017 GA Amsterdam".to_owned()),
        website: Some("https://brulee.example".to_owned()),
    }
}

fn request(kind: RequestKind) -> RequestRef {
    RequestRef { reference: "KL-2023-0042".to_owned(), kind }
}

/// One of every notice, with every optional part filled.
fn notices() -> Vec<Notice> {
    vec![
        Notice::Received {
            request: request(RequestKind::Access),
            received: date!(2023 - 11 - 14),
            due: date!(2023 - 12 - 14),
        },
        Notice::Code {
            request: request(RequestKind::Erasure),
            code: VerificationCode("481516".to_owned()),
            valid_minutes: 15,
        },
        Notice::Extended {
            request: request(RequestKind::Portability),
            new_due: date!(2024 - 02 - 14),
            reasons: vec![
                ExtensionReason::Complexity,
                ExtensionReason::NumberOfRequests,
                ExtensionReason::Other(Text::new(
                    "De gegevens staan in het archief in Zoetermeer.",
                    "The data is kept in the archive in Zoetermeer.",
                )),
            ],
        },
        Notice::Completed {
            request: request(RequestKind::Access),
            download: Some(Download {
                url: "https://kluis.brulee.example/download/7f3a9c2e-8d41-4b6f-a0c5-31e9d2f8b7a4?token=Zm9vYmFyYmF6"
                    .to_owned(),
                expires: datetime!(2023-11-21 14:00 +01:00),
            }),
        },
        Notice::Refused {
            request: request(RequestKind::Erasure),
            reasons: vec![
                RefusalReason::LegalObligation,
                RefusalReason::Other(Text::new(
                    "De factuur van € 12,50 moet zeven jaar bewaard blijven.",
                    "The invoice of €12.50 must be kept for seven years.",
                )),
            ],
        },
        Notice::CannotIdentify {
            request: request(RequestKind::Objection),
            needed: Some(Text::new("uw klantnummer en postcode.", "your customer number and postcode.")),
        },
        Notice::RestrictionLifted { request: request(RequestKind::Restriction) },
        recipient_update(RecipientChange::Rectified),
    ]
}

const SUBJECT_ID: &str = "0190f3a2-7c4e-7b21-9d5a-3e8f6c1b2a90";

/// The Art. 19 notice to the hosting provider after `change`, for two contact categories.
fn recipient_update(change: RecipientChange) -> Notice {
    // The request kind that change carries out, by the crate's own mapping.
    let kind = [RequestKind::Rectification, RequestKind::Erasure, RequestKind::Restriction]
        .into_iter()
        .find(|kind| RecipientChange::for_request(*kind) == Some(change))
        .expect("each change carries out one kind of request");
    Notice::RecipientUpdate {
        request: request(kind),
        recipient: "OVH / So you Start".to_owned(),
        subject: SUBJECT_ID.to_owned(),
        change,
        categories: vec!["user.contact.email".to_owned(), "user.contact.address".to_owned()],
    }
}

const CHANGES: [RecipientChange; 3] =
    [RecipientChange::Rectified, RecipientChange::Erased, RecipientChange::Restricted];

fn render(notice: &Notice, lang: Lang) -> (String, String) {
    notice.check().unwrap();
    notice.render(&sender(), lang)
}

#[test]
fn every_notice_in_every_language_matches_its_snapshot() {
    for notice in notices() {
        for lang in [Lang::Nl, Lang::En, Lang::Both] {
            let (subject, body) = render(&notice, lang);
            insta::assert_snapshot!(
                format!("{}_{}", notice.name(), lang.content_language().replace(", ", "_")),
                format!("Subject: {subject}\n\n{body}")
            );
        }
    }
}

#[test]
fn lines_stay_within_72_columns_except_links() {
    for notice in notices() {
        for lang in [Lang::Nl, Lang::En, Lang::Both] {
            let (subject, body) = render(&notice, lang);
            assert!(!subject.contains('\n'));
            for line in body.lines() {
                let long = line.chars().count() > WIDTH;
                assert!(!long || line.trim_start().starts_with("https://"), "{}: {line:?}", notice.name());
                assert_eq!(line, line.trim_end(), "trailing space in {}", notice.name());
            }
        }
    }
}

#[test]
fn both_languages_put_dutch_first_and_carry_everything_twice() {
    for notice in notices() {
        let (subject, body) = render(&notice, Lang::Both);
        let (nl_subject, nl_body) = render(&notice, Lang::Nl);
        let (en_subject, en_body) = render(&notice, Lang::En);
        let nl_title = nl_subject.trim_end_matches(" (KL-2023-0042)");
        let en_title = en_subject.trim_end_matches(" (KL-2023-0042)");
        assert_eq!(subject, format!("{nl_title} / {en_title} (KL-2023-0042)"));
        let nl_at = body.find(&nl_body).expect("the Dutch text whole");
        let en_at = body.find(&en_body).expect("the English text whole");
        assert!(nl_at < en_at, "Dutch first");
        assert!(body.starts_with("(English version below)"));
        assert!(nl_body.contains("Met vriendelijke groet,") && en_body.contains("Kind regards,"));
        for part in [&nl_body, &en_body] {
            assert!(part.contains("Bakkerij Brûlée B.V."), "the controller signs");
            assert!(part.contains("privacy@brulee.example"));
            assert!(part.contains("KL-2023-0042"));
        }
    }
}

fn body(notice: &Notice, lang: Lang) -> String {
    render(notice, lang).1
}

/// A body with its line breaks undone, so phrases split over lines can be searched.
fn flat(notice: &Notice, lang: Lang) -> String {
    body(notice, lang).split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn received_names_reference_type_and_both_dates() {
    let notice = &notices()[0];
    let nl = flat(notice, Lang::Nl);
    let en = flat(notice, Lang::En);
    for needle in
        ["KL-2023-0042", "inzage in uw persoonsgegevens (artikel 15 AVG)", "14 november 2023", "14 december 2023"]
    {
        assert!(nl.contains(needle), "{needle}: {nl}");
    }
    for needle in
        ["KL-2023-0042", "access to your personal data (Article 15 GDPR)", "14 November 2023", "14 December 2023"]
    {
        assert!(en.contains(needle), "{needle}: {en}");
    }
    assert!(nl.contains("binnen een maand") && en.contains("within one month"));
    assert!(nl.contains("Wij vragen nooit om uw wachtwoord") && en.contains("We never ask for your password"));
}

#[test]
fn code_gives_the_code_its_expiry_and_the_password_warning() {
    let notice = &notices()[1];
    let (subject, _) = render(notice, Lang::Both);
    assert!(!subject.contains("481516"), "the code stays out of the subject line");
    let nl = flat(notice, Lang::Nl);
    let en = flat(notice, Lang::En);
    assert!(body(notice, Lang::Nl).contains("\n    481516\n"));
    assert!(nl.contains("15 minuten geldig") && en.contains("valid for 15 minutes"));
    assert!(nl.contains("nooit om uw wachtwoord") && en.contains("never ask for your password"));
    let one = Notice::Code {
        request: request(RequestKind::Access),
        code: VerificationCode("1".to_owned()),
        valid_minutes: 1,
    };
    assert!(flat(&one, Lang::Nl).contains("1 minuut geldig") && flat(&one, Lang::En).contains("valid for 1 minute."));
    assert!(!format!("{notice:?}").contains("481516"), "Debug hides the code");
}

#[test]
fn extension_names_the_new_date_the_reasons_and_article_12_3() {
    let notice = &notices()[2];
    let nl = flat(notice, Lang::Nl);
    let en = flat(notice, Lang::En);
    assert!(nl.contains("14 februari 2024") && en.contains("14 February 2024"));
    assert!(nl.contains("artikel 12, lid 3, AVG") && en.contains("Article 12(3) GDPR"));
    assert!(nl.contains("twee maanden") && en.contains("two further months"));
    assert!(nl.contains("Uw verzoek is complex") && en.contains("Your request is complex"));
    assert!(nl.contains("archief in Zoetermeer") && en.contains("archive in Zoetermeer"));
    let bare =
        Notice::Extended { request: request(RequestKind::Access), new_due: date!(2024 - 01 - 01), reasons: vec![] };
    assert!(bare.check().unwrap_err().contains("12(3)"));
}

#[test]
fn completed_offers_a_link_with_its_expiry_never_an_attachment() {
    let notice = &notices()[3];
    let nl = body(notice, Lang::Nl);
    let en = body(notice, Lang::En);
    let url = "https://kluis.brulee.example/download/7f3a9c2e-8d41-4b6f-a0c5-31e9d2f8b7a4?token=Zm9vYmFyYmF6";
    assert!(nl.contains(&format!("\n    {url}\n")), "the link on a line of its own, unbroken");
    assert!(en.contains(&format!("\n    {url}\n")));
    let (nl, en) = (flat(notice, Lang::Nl), flat(notice, Lang::En));
    assert!(nl.contains("21 november 2023 om 14:00 (UTC+01:00)"), "{nl}");
    assert!(en.contains("21 November 2023 at 14:00 (UTC+01:00)"), "{en}");
    assert!(nl.contains("nooit als bijlage") && en.contains("never send personal data as an e-mail attachment"));
    let nothing = Notice::Completed { request: request(RequestKind::Erasure), download: None };
    let text = flat(&nothing, Lang::Both);
    assert!(!text.contains("https://kluis") && !text.contains("download"), "{text}");
    assert!(text.contains("Autoriteit Persoonsgegevens"));
}

fn assert_remedies(nl: &str, en: &str) {
    for text in [nl, en] {
        assert!(text.contains("Autoriteit Persoonsgegevens"), "{text}");
        assert!(text.contains(AUTORITEIT_PERSOONSGEGEVENS_WEBSITE), "{text}");
        assert!(text.contains("Postbus 93374, 2509 AJ Den Haag"), "{text}");
        assert!(text.contains("verzoekschrift") && text.contains("rechtbank"), "{text}");
    }
    assert!(nl.contains("artikel 77 AVG") && en.contains("Article 77 GDPR"));
    assert!(
        nl.contains("artikel 35 Uitvoeringswet AVG")
            && en.contains("Article 35 of the Dutch GDPR Implementation Act, UAVG")
    );
    assert!(nl.contains("binnen zes weken"), "{nl}");
    assert!(en.contains("within six weeks"), "{en}");
}

#[test]
fn refusal_gives_reasons_the_ap_and_the_court_route_within_six_weeks() {
    let notice = &notices()[4];
    let (nl, en) = (flat(notice, Lang::Nl), flat(notice, Lang::En));
    assert!(nl.contains("artikel 17, lid 3, onder b, AVG") && en.contains("Article 17(3)(b) GDPR"));
    assert!(nl.contains("€ 12,50") && en.contains("€12.50"));
    assert_remedies(&nl, &en);
    let bare = Notice::Refused { request: request(RequestKind::Access), reasons: vec![] };
    assert!(bare.check().unwrap_err().contains("12(4)"));
}

#[test]
fn cannot_identify_cites_articles_11_and_12_and_the_remedies() {
    let notice = &notices()[5];
    let (nl, en) = (flat(notice, Lang::Nl), flat(notice, Lang::En));
    assert!(nl.contains("artikel 11, lid 2, en artikel 12, lid 2, AVG"), "{nl}");
    assert!(en.contains("Articles 11(2) and 12(2) GDPR"), "{en}");
    assert!(nl.contains("Wat wij nodig hebben: uw klantnummer en postcode."));
    assert!(en.contains("What we need: your customer number and postcode."));
    assert_remedies(&nl, &en);
}

#[test]
fn every_reason_reads_in_both_languages() {
    let refusals = [
        RefusalReason::ManifestlyUnfounded,
        RefusalReason::Excessive,
        RefusalReason::RightsOfOthers,
        RefusalReason::LegalObligation,
        RefusalReason::LegalClaims,
        RefusalReason::CompellingGrounds,
    ];
    for reason in &refusals {
        assert!(reason.text(L::Nl).contains("AVG)."), "{reason:?}");
        assert!(reason.text(L::En).contains("GDPR)."), "{reason:?}");
    }
    let notice = Notice::Refused { request: request(RequestKind::Objection), reasons: refusals.to_vec() };
    let (nl, en) = (flat(&notice, Lang::Nl), flat(&notice, Lang::En));
    assert!(nl.contains("kennelijk ongegrond") && en.contains("manifestly unfounded"));
    assert!(nl.contains("artikel 21, lid 1, AVG") && en.contains("Article 21(1) GDPR"));
}

#[test]
fn every_request_kind_names_its_article() {
    for (kind, article) in [
        (RequestKind::Access, 15),
        (RequestKind::Rectification, 16),
        (RequestKind::Erasure, 17),
        (RequestKind::Restriction, 18),
        (RequestKind::Portability, 20),
        (RequestKind::Objection, 21),
    ] {
        assert!(describe(kind, L::Nl).ends_with(&format!("(artikel{NBSP}{article}{NBSP}AVG)")));
        assert!(describe(kind, L::En).ends_with(&format!("(Article{NBSP}{article}{NBSP}GDPR)")));
    }
    assert!(describe(RequestKind::Withdrawal, L::Nl).ends_with(&format!("(artikel{NBSP}7, lid{NBSP}3, AVG)")));
    assert!(describe(RequestKind::Withdrawal, L::En).ends_with(&format!("(Article{NBSP}7(3){NBSP}GDPR)")));
}

#[test]
fn the_language_follows_the_requester_else_both() {
    assert_eq!(Lang::for_requester(Some("nl")), Lang::Nl);
    assert_eq!(Lang::for_requester(Some("nl-BE")), Lang::Nl);
    assert_eq!(Lang::for_requester(Some("EN_gb")), Lang::En);
    assert_eq!(Lang::for_requester(Some("de")), Lang::Both);
    assert_eq!(Lang::for_requester(None), Lang::Both);
    assert_eq!(Lang::default(), Lang::Both);
}

#[test]
fn times_print_in_their_own_offset() {
    let plain = |s: String| s.replace(NBSP, " ");
    assert_eq!(plain(date_time(L::En, datetime!(2024-03-01 09:05 UTC))), "1 March 2024 at 09:05 (UTC)");
    assert_eq!(plain(date_time(L::Nl, datetime!(2024-07-01 23:30 +02:00))), "1 juli 2024 om 23:30 (UTC+02:00)");
    assert_eq!(plain(date_time(L::En, datetime!(2024-07-01 23:30 -03:30))), "1 July 2024 at 23:30 (UTC-03:30)");
}

#[test]
fn wrapping_keeps_long_words_whole_and_glued_words_together() {
    let mut out = String::new();
    wrap(&mut out, &format!("short {} words", "x".repeat(80)), "- ", "  ");
    assert_eq!(out, format!("- short\n  {}\n  words\n", "x".repeat(80)));
    let mut out = String::new();
    wrap(&mut out, &format!("{} artikel{NBSP}12", "y".repeat(66)), "", "");
    assert_eq!(out, format!("{}\nartikel{NBSP}12\n", "y".repeat(66)));
}

#[test]
fn no_legal_reference_is_split_over_two_lines() {
    for notice in notices() {
        for lang in [Lang::Nl, Lang::En] {
            for line in body(&notice, lang).lines() {
                for word in ["artikel", "Article", "Articles", "lid", "Postbus", "zes", "six"] {
                    assert!(!line.ends_with(&format!(" {word}")), "{}: {line:?}", notice.name());
                }
            }
        }
    }
}

#[test]
fn restriction_lifted_cites_article_18_before_it_is_lifted() {
    let notice = &notices()[6];
    assert_eq!(notice.name(), "restriction_lifted");
    let (nl, en) = (flat(notice, Lang::Nl), flat(notice, Lang::En));
    assert!(nl.contains("artikel 18 AVG") && en.contains("Article 18 GDPR"));
    assert!(nl.contains("opheffen") && en.contains("lifting this restriction"));
}

#[test]
fn recipient_update_names_request_subject_categories_and_article_19_never_a_value() {
    let notice = &notices()[7];
    assert_eq!(notice.name(), "recipient_update");
    let (nl_subject, _) = render(notice, Lang::Nl);
    let (en_subject, _) = render(notice, Lang::En);
    assert_eq!(nl_subject, "Kennisgeving van rectificatie van persoonsgegevens (KL-2023-0042)");
    assert_eq!(en_subject, "Notice of rectification of personal data (KL-2023-0042)");
    for lang in [Lang::Nl, Lang::En] {
        let text = body(notice, lang);
        assert!(text.contains("\n- user.contact.email\n- user.contact.address\n"), "{text}");
        assert!(text.contains(SUBJECT_ID) && text.contains("KL-2023-0042") && text.contains("OVH / So you Start"));
        // The only address in the message is the controller's own.
        let addresses: Vec<&str> = text.split_whitespace().filter(|w| w.contains('@')).collect();
        assert!(addresses.iter().all(|a| a.trim_end_matches(['.', ',']) == "privacy@brulee.example"), "{addresses:?}");
    }
    let (nl, en) = (flat(notice, Lang::Nl), flat(notice, Lang::En));
    assert!(nl.contains("Volgens artikel 19 AVG stellen wij iedere ontvanger"), "{nl}");
    assert!(en.contains("Under Article 19 GDPR we communicate any rectification"), "{en}");
    assert!(nl.contains("Wijziging: rectificatie (artikel 16 AVG)"), "{nl}");
    assert!(en.contains("Change: rectification (Article 16 GDPR)"), "{en}");
    assert!(
        nl.contains("eveneens te rectificeren") && nl.contains("De gecorrigeerde gegevens staan niet in dit bericht")
    );
    assert!(en.contains("Please rectify") && en.contains("does not contain the corrected data"));
    assert!(nl.contains("haal ze op via het kanaal waarlangs u gegevens gewoonlijk van ons ontvangt"));
    assert!(en.contains("retrieve them through the channel through which you usually receive data from us"));
    // Written to the recipient, not to the requester: no "your request", no complaint route.
    assert!(!nl.contains("uw verzoek") && !en.contains("your request"), "{en}");
    assert!(!en.contains("Autoriteit Persoonsgegevens"));
}

#[test]
fn recipient_update_says_what_was_done_and_asks_the_same() {
    let expected = [
        (
            RecipientChange::Rectified,
            ("Kennisgeving van rectificatie van persoonsgegevens", "Notice of rectification of personal data"),
            ("persoonsgegevens van die betrokkene gerectificeerd", "rectified personal data of that data subject"),
            ("rectificatie (artikel 16 AVG)", "rectification (Article 16 GDPR)"),
            ("eveneens te rectificeren", "Please rectify the data"),
        ),
        (
            RecipientChange::Erased,
            ("Kennisgeving van wissing van persoonsgegevens", "Notice of erasure of personal data"),
            ("persoonsgegevens van die betrokkene gewist", "erased personal data of that data subject"),
            ("wissing (artikel 17 AVG)", "erasure (Article 17 GDPR)"),
            ("eveneens te wissen", "Please also erase the data"),
        ),
        (
            RecipientChange::Restricted,
            ("Kennisgeving van beperking van de verwerking", "Notice of restriction of processing"),
            ("de verwerking van persoonsgegevens van die betrokkene beperkt", "restricted the processing"),
            ("beperking van de verwerking (artikel 18 AVG)", "restriction of processing (Article 18 GDPR)"),
            ("artikel 18, lid 2, AVG", "Article 18(2) GDPR"),
        ),
    ];
    for (change, titles, done, described, asked) in expected {
        let notice = recipient_update(change);
        let (subject, _) = render(&notice, Lang::Both);
        assert_eq!(subject, format!("{} / {} (KL-2023-0042)", titles.0, titles.1));
        let (nl, en) = (flat(&notice, Lang::Nl), flat(&notice, Lang::En));
        for (text, want) in [(&nl, [done.0, described.0, asked.0]), (&en, [done.1, described.1, asked.1])] {
            for phrase in want {
                assert!(text.contains(phrase), "{change:?}: {phrase:?} in {text}");
            }
            assert!(text.contains("user.contact.email") && text.contains(SUBJECT_ID), "{change:?}");
        }
        assert!(nl.contains("artikel 19 AVG") && en.contains("Article 19 GDPR"), "{change:?}");
        let corrected = nl.contains("gecorrigeerde") || en.contains("corrected data");
        assert_eq!(corrected, change == RecipientChange::Rectified, "{change:?}");
        for lang in [Lang::Nl, Lang::En, Lang::Both] {
            for line in body(&notice, lang).lines() {
                assert!(line.chars().count() <= WIDTH, "{change:?}: {line:?}");
                assert_eq!(line, line.trim_end(), "{change:?}");
                for word in ["artikel", "Article", "lid"] {
                    assert!(!line.ends_with(&format!(" {word}")), "{change:?}: {line:?}");
                }
            }
        }
    }
}

#[test]
fn recipient_update_needs_categories_by_key_and_a_subject_reference() {
    let with = |f: &dyn Fn(&mut Vec<String>, &mut String)| {
        let mut notice = recipient_update(RecipientChange::Erased);
        let Notice::RecipientUpdate { categories, subject, .. } = &mut notice else { unreachable!() };
        f(categories, subject);
        notice.check()
    };
    assert_eq!(with(&|_, _| {}), Ok(()));
    assert!(with(&|c, _| c.clear()).unwrap_err().contains("categories"));
    for value in ["jan.de.vries@example.nl", "Kerkstraat 1", "", "user", "User.Contact"] {
        let err = with(&|c, _| c.push(value.to_owned())).unwrap_err();
        assert!(err.contains("never by value"), "{value:?}: {err}");
    }
    for name in ["", "Jan de Vries", "jan@example.nl"] {
        let err = with(&|_, s| *s = name.to_owned()).unwrap_err();
        assert!(err.contains("kluis reference"), "{name:?}: {err}");
    }
    let err = Message::compose("privacy@ovh.example", Lang::Both, &sender(), &recipient_update_without_categories())
        .unwrap_err();
    assert!(err.to_string().contains("categories"), "{err}");
}

fn recipient_update_without_categories() -> Notice {
    let mut notice = recipient_update(RecipientChange::Restricted);
    if let Notice::RecipientUpdate { categories, .. } = &mut notice {
        categories.clear();
    }
    notice
}

#[test]
fn recipient_changes_follow_the_three_rights_of_article_19() {
    assert_eq!(RecipientChange::for_request(RequestKind::Rectification), Some(RecipientChange::Rectified));
    assert_eq!(RecipientChange::for_request(RequestKind::Erasure), Some(RecipientChange::Erased));
    assert_eq!(RecipientChange::for_request(RequestKind::Restriction), Some(RecipientChange::Restricted));
    for kind in [RequestKind::Access, RequestKind::Portability, RequestKind::Objection, RequestKind::Withdrawal] {
        assert_eq!(RecipientChange::for_request(kind), None, "{kind:?}");
    }
    let names: Vec<&str> = CHANGES.iter().map(|c| c.as_str()).collect();
    assert_eq!(names, ["rectified", "erased", "restricted"]);
}
