//! The privacy statement (Art. 13, 14, 21(4)), generated from the register only.

use super::doc::{Block, Doc, Inline, Line, html, link, markdown, strong, text};
use super::words::{self, tx, w};
use super::{Format, Lang, StatementMeta};
use crate::model::{Controller, IdCopy, IdShield, LegalBasis, PurposeDef, RecipientRole, Register};

/// Id of the Art. 21 block in the HTML statement.
pub const OBJECTION_ID: &str = "objection";

/// Renders the privacy statement of `register` in `lang` as Markdown or a complete HTML document.
pub fn statement(register: &Register, lang: Lang, format: Format, meta: &StatementMeta) -> String {
    let doc = build(register, lang, meta);
    match format {
        Format::Markdown => markdown(&doc),
        Format::Html => html(&doc),
    }
}

fn h2(id: &str, title: &str) -> Block {
    Block::Heading { level: 2, id: id.to_owned(), text: title.to_owned() }
}

fn para(s: impl Into<String>) -> Block {
    Block::Para(vec![text(s)])
}

fn display_name(controller: &Controller) -> &str {
    controller.trade_name.as_deref().unwrap_or(&controller.name)
}

fn build(register: &Register, lang: Lang, meta: &StatementMeta) -> Doc {
    let c = &register.controller;
    let title = format!("{} {}", w(lang, "Privacyverklaring van", "Privacy statement of"), display_name(c));
    let mut blocks = vec![
        Block::Para(vec![text(match lang {
            Lang::Nl => format!("Versie {} van {}.", meta.version, meta.date),
            Lang::En => format!("Version {} of {}.", meta.version, meta.date),
        })]),
        para(match lang {
            Lang::Nl => format!(
                "In deze verklaring leest u welke persoonsgegevens {} verwerkt, waarom, op welke grond, met wie wij ze delen, hoe lang wij ze bewaren en welke rechten u hebt.",
                display_name(c)
            ),
            Lang::En => format!(
                "This statement explains which personal data {} processes, why, on what legal basis, with whom we share them, how long we keep them and what your rights are.",
                display_name(c)
            ),
        }),
    ];
    controller_section(&mut blocks, register, lang);
    blocks.push(objection_notice(register, lang));
    purposes_section(&mut blocks, register, lang);
    recipients_section(&mut blocks, register, lang);
    cookies_section(&mut blocks, register, lang);
    security_section(&mut blocks, register, lang);
    rights_section(&mut blocks, register, lang);
    complaint_section(&mut blocks, register, lang);
    version_section(&mut blocks, lang, meta);
    Doc { lang, title, blocks, contents_label: w(lang, "Inhoud", "Contents").to_owned() }
}

/// The ways to reach the controller, as links.
fn contact_lines(controller: &Controller, lang: Lang) -> Vec<Line> {
    let mut lines = Vec::new();
    if let Some(email) = &controller.contact.email {
        lines.push(vec![text(w(lang, "E-mail: ", "E-mail: ")), link(email, format!("mailto:{email}"))]);
    }
    if let Some(phone) = &controller.contact.phone {
        lines
            .push(vec![text(w(lang, "Telefoon: ", "Phone: ")), link(phone, format!("tel:{}", phone.replace(' ', "")))]);
    }
    if let Some(form) = &controller.contact.web_form {
        lines.push(vec![text(w(lang, "Webformulier: ", "Web form: ")), link(form, form)]);
    }
    lines
}

/// "privacy@example.nl of +31 ..." as one inline sentence part.
fn contact_inline(controller: &Controller, lang: Lang) -> Vec<Inline> {
    let mut parts: Vec<Inline> = Vec::new();
    let mut channels: Vec<Inline> = Vec::new();
    if let Some(email) = &controller.contact.email {
        channels.push(link(email, format!("mailto:{email}")));
    }
    if let Some(phone) = &controller.contact.phone {
        channels.push(link(phone, format!("tel:{}", phone.replace(' ', ""))));
    }
    if let Some(form) = &controller.contact.web_form {
        channels.push(link(form, form));
    }
    let n = channels.len();
    for (i, channel) in channels.into_iter().enumerate() {
        if i > 0 {
            parts.push(text(if i + 1 == n { w(lang, " of ", " or ") } else { ", " }));
        }
        parts.push(channel);
    }
    if parts.is_empty() {
        parts.push(text(w(lang, "het adres hierboven", "the address above")));
    }
    parts
}

fn controller_section(blocks: &mut Vec<Block>, register: &Register, lang: Lang) {
    let c = &register.controller;
    blocks.push(h2("controller", w(lang, "Wie wij zijn", "Who we are")));
    let stop = if c.name.ends_with('.') { "" } else { "." };
    blocks.push(para(match lang {
        Lang::Nl => format!("Verantwoordelijk voor de verwerking van uw persoonsgegevens is {}{stop}", c.name),
        Lang::En => format!("The controller responsible for processing your personal data is {}{stop}", c.name),
    }));
    let mut fields: Vec<(String, Vec<Line>)> = Vec::new();
    fields.push((w(lang, "Naam", "Name").to_owned(), vec![vec![text(&c.name)]]));
    if let Some(trade) = &c.trade_name {
        fields.push((w(lang, "Handelsnaam", "Trade name").to_owned(), vec![vec![text(trade)]]));
    }
    if let Some(a) = &c.address {
        let addr = format!("{}, {} {}, {}", a.street, a.postcode, a.city, words::country(lang, a.country.as_str()));
        fields.push((w(lang, "Adres", "Address").to_owned(), vec![vec![text(addr)]]));
    }
    if let Some(kvk) = &c.kvk {
        fields.push((w(lang, "KvK-nummer", "Chamber of Commerce number").to_owned(), vec![vec![text(kvk)]]));
    }
    if let Some(site) = &c.website {
        fields.push((w(lang, "Website", "Website").to_owned(), vec![vec![link(site, site)]]));
    }
    let contact = contact_lines(c, lang);
    if !contact.is_empty() {
        fields.push((w(lang, "Contact voor privacyvragen", "Contact for privacy questions").to_owned(), contact));
    }
    let dpo = match &c.dpo {
        Some(dpo) => {
            let mut line = vec![text(&dpo.name)];
            if let Some(email) = &dpo.email {
                line.push(text(", "));
                line.push(link(email, format!("mailto:{email}")));
            }
            if let Some(phone) = &dpo.phone {
                line.push(text(", "));
                line.push(link(phone, format!("tel:{}", phone.replace(' ', ""))));
            }
            line
        }
        None => vec![text(w(
            lang,
            "Wij hebben geen functionaris voor gegevensbescherming aangesteld; stel uw vragen via de contactgegevens hierboven.",
            "We have not appointed a data protection officer; please use the contact details above.",
        ))],
    };
    fields.push((w(lang, "Functionaris voor gegevensbescherming", "Data protection officer").to_owned(), vec![dpo]));
    blocks.push(Block::Fields(fields));
}

fn objection_purposes(register: &Register) -> (Vec<&PurposeDef>, Vec<&PurposeDef>) {
    let balanced = register
        .purposes
        .values()
        .filter(|p| matches!(p.legal_basis, Some(LegalBasis::LegitimateInterests | LegalBasis::PublicTask)))
        .collect();
    let marketing = register.purposes.values().filter(|p| p.direct_marketing).collect();
    (balanced, marketing)
}

/// Art. 21(4): the right to object, explicitly and separately from everything else.
fn objection_notice(register: &Register, lang: Lang) -> Block {
    let c = &register.controller;
    let (balanced, marketing) = objection_purposes(register);
    let mut body = Vec::new();
    if balanced.is_empty() && marketing.is_empty() {
        body.push(para(w(
            lang,
            "U mag altijd bezwaar maken tegen de verwerking van uw gegevens. Op dit moment baseren wij geen enkele verwerking op een gerechtvaardigd belang of een taak van algemeen belang, en wij doen niet aan direct marketing.",
            "You may always object to the processing of your data. At present we base no processing on a legitimate interest or a task in the public interest, and we do no direct marketing.",
        )));
    }
    if !balanced.is_empty() {
        body.push(Block::Para(vec![strong(w(
            lang,
            "Verwerkingen op grond van een gerechtvaardigd belang of een taak van algemeen belang",
            "Processing based on a legitimate interest or a task in the public interest",
        ))]));
        body.push(para(w(
            lang,
            "Tegen de volgende verwerkingen kunt u op elk moment bezwaar maken, om redenen die met uw persoonlijke situatie te maken hebben:",
            "You may object at any time to the following processing, on grounds relating to your particular situation:",
        )));
        body.push(Block::List(balanced.iter().map(|p| vec![text(tx(lang, &p.name))]).collect()));
        body.push(para(w(
            lang,
            "Na uw bezwaar stoppen wij met die verwerking, tenzij wij dwingende gerechtvaardigde gronden aantonen die zwaarder wegen dan uw belangen, rechten en vrijheden, of de gegevens nodig hebben voor een rechtsvordering. Zolang wij uw bezwaar beoordelen, gebruiken wij de gegevens voor dat doel niet.",
            "Once you object, we stop that processing unless we can show compelling legitimate grounds that outweigh your interests, rights and freedoms, or we need the data for a legal claim. While we assess your objection, we do not use the data for that purpose.",
        )));
    }
    if !marketing.is_empty() {
        body.push(Block::Para(vec![strong(w(lang, "Direct marketing", "Direct marketing"))]));
        body.push(para(w(
            lang,
            "Tegen het gebruik van uw gegevens voor direct marketing, en profilering die daarmee samenhangt, kunt u altijd bezwaar maken. Dan stoppen wij daar direct en zonder uitzondering mee; u hoeft geen reden te geven. Het gaat om:",
            "You may object at any time to the use of your data for direct marketing, including profiling related to it. We then stop at once and without exception; you need not give a reason. This concerns:",
        )));
        body.push(Block::List(marketing.iter().map(|p| vec![text(tx(lang, &p.name))]).collect()));
    }
    let mut how = vec![text(w(
        lang,
        "Bezwaar maken gaat eenvoudig en kosteloos via ",
        "Objecting is simple and free: contact us at ",
    ))];
    how.extend(contact_inline(c, lang));
    how.push(text(w(
        lang,
        ". Bij berichten over direct marketing kan het ook met de afmeldlink.",
        ". For direct marketing messages you can also use the unsubscribe link.",
    )));
    body.push(Block::Para(how));
    Block::Notice {
        id: OBJECTION_ID.to_owned(),
        title: w(lang, "Uw recht van bezwaar (artikel 21 AVG)", "Your right to object (Article 21 GDPR)").to_owned(),
        body,
    }
}

fn purposes_section(blocks: &mut Vec<Block>, register: &Register, lang: Lang) {
    blocks.push(h2("purposes", w(lang, "Waarvoor wij uw gegevens gebruiken", "What we use your data for")));
    blocks.push(para(w(
        lang,
        "Per doel staat hieronder welke gegevens wij gebruiken, op welke grond, van wie, met wie wij ze delen, hoe lang wij ze bewaren en of u ze moet geven.",
        "For each purpose below you find which data we use, on what basis, whose data, with whom we share them, how long we keep them and whether you must provide them.",
    )));
    for (id, p) in &register.purposes {
        blocks.push(Block::Heading { level: 3, id: format!("purpose-{id}"), text: tx(lang, &p.name).to_owned() });
        blocks.push(para(tx(lang, &p.description)));
        blocks.push(Block::Fields(purpose_fields(register, id, p, lang)));
    }
}

// One field after the other, in the order of Art. 13; splitting it would only scatter the list.
#[allow(clippy::too_many_lines)]
fn purpose_fields(register: &Register, id: &str, p: &PurposeDef, lang: Lang) -> Vec<(String, Vec<Line>)> {
    let mut fields: Vec<(String, Vec<Line>)> = Vec::new();
    // Art. 13(1)(c)
    let mut basis: Vec<Line> = Vec::new();
    if let Some(b) = p.legal_basis {
        basis.push(vec![text(words::legal_basis(lang, b))]);
    } else {
        basis.push(vec![text(w(lang, "niet vastgelegd", "not recorded"))]);
    }
    if let Some(reference) = &p.legal_reference {
        basis.push(vec![text(w(lang, "Wettelijke bepaling: ", "Statutory provision: ")), text(reference)]);
    }
    fields.push((w(lang, "Grondslag", "Legal basis").to_owned(), basis));
    // Art. 13(1)(d)
    if let Some(interest) = &p.legitimate_interest {
        let mut lines = vec![vec![text(tx(lang, interest))]];
        if let Some(assessment) = &p.interest_assessment {
            lines.push(vec![text(w(lang, "Onze afweging: ", "How we weighed it: ")), text(tx(lang, assessment))]);
        }
        fields.push((w(lang, "Ons gerechtvaardigd belang", "Our legitimate interest").to_owned(), lines));
    }
    // Art. 13(2)(c)
    if p.legal_basis == Some(LegalBasis::Consent) {
        let mut lines = vec![vec![text(w(
            lang,
            "U mag uw toestemming altijd intrekken. Wat wij vóór de intrekking met uw gegevens deden, blijft rechtmatig.",
            "You may withdraw your consent at any time. What we did with your data before you withdrew it remains lawful.",
        ))]];
        if let Some(how) = &p.withdrawal {
            lines.push(vec![text(w(lang, "Zo trekt u haar in: ", "How to withdraw: ")), text(tx(lang, how))]);
        }
        fields.push((w(lang, "Toestemming intrekken", "Withdrawing consent").to_owned(), lines));
    }
    // Art. 30(1)(c), 14(1)(d)
    let categories = p
        .categories
        .iter()
        .map(|cat| {
            vec![text(register.categories.get(cat).map_or_else(|| cat.as_str().to_owned(), |t| tx(lang, t).to_owned()))]
        })
        .collect();
    fields.push((w(lang, "Gegevens", "Data").to_owned(), categories));
    let subjects = p
        .subjects
        .iter()
        .map(|s| vec![text(register.subjects.get(s).map_or_else(|| s.clone(), |t| tx(lang, t).to_owned()))])
        .collect();
    fields.push((w(lang, "Van wie", "Whose data").to_owned(), subjects));
    // Art. 14(2)(f)
    let source = match &p.source {
        Some(source) => vec![
            text(w(
                lang,
                "Deze gegevens krijgen wij niet van u zelf, maar van: ",
                "We do not get these data from you but from: ",
            )),
            text(tx(lang, source)),
        ],
        None => vec![text(w(
            lang,
            "U geeft deze gegevens zelf, of ze ontstaan doordat u onze diensten gebruikt.",
            "You provide these data yourself, or they arise from your use of our services.",
        ))],
    };
    fields.push((w(lang, "Herkomst", "Source").to_owned(), vec![source]));
    // Art. 13(1)(e)-(f)
    let recipients: Vec<Line> = if p.recipients.is_empty() {
        vec![vec![text(w(lang, "Wij delen deze gegevens met niemand.", "We share these data with no one."))]]
    } else {
        p.recipients
            .iter()
            .map(|r| match register.recipients.get(r) {
                Some(rec) => {
                    let country = rec.country.as_ref().map(|c| words::country(lang, c.as_str()));
                    let mut line = vec![strong(&rec.name), text(format!(" ({}", words::role(lang, rec.role)))];
                    if let Some(country) = country {
                        line.push(text(format!("; {country}")));
                    }
                    line.push(text("): "));
                    line.push(text(tx(lang, &rec.purpose)));
                    if rec.transfer.is_some() {
                        line.push(text(w(lang, " Buiten de EER: zie Doorgifte.", " Outside the EEA: see Transfers.")));
                    }
                    line
                }
                None => vec![text(r)],
            })
            .collect()
    };
    fields.push((w(lang, "Ontvangers", "Recipients").to_owned(), recipients));
    // Art. 13(2)(a)
    let rules: Vec<Line> = register
        .retention
        .values()
        .filter(|r| r.purpose == id)
        .map(|r| {
            let mut line = vec![text(tx(lang, &r.text)), text(" "), text(words::retention_rule(lang, r))];
            if !r.categories.is_empty() {
                let names: Vec<&str> = r
                    .categories
                    .iter()
                    .map(|c| register.categories.get(c).map_or(c.as_str(), |t| tx(lang, t)))
                    .collect();
                line.push(text(format!(" ({}: {})", w(lang, "geldt voor", "applies to"), names.join(", "))));
            }
            if let Some(reference) = &r.legal_reference {
                line.push(text(format!(" {} {reference}.", w(lang, "Wettelijke termijn:", "Statutory period:"))));
            }
            line
        })
        .collect();
    let rules = if rules.is_empty() {
        vec![vec![text(w(lang, "Geen bewaartermijn vastgelegd.", "No retention period recorded."))]]
    } else {
        rules
    };
    fields.push((w(lang, "Bewaartermijn", "Retention").to_owned(), rules));
    // Art. 13(2)(e)
    if let Some(provision) = &p.provision {
        fields.push((
            w(lang, "Verplichting om te verstrekken", "Obligation to provide").to_owned(),
            vec![
                vec![text(words::requirement(lang, provision.requirement))],
                vec![text(w(lang, "Als u ze niet geeft: ", "If you do not: ")), text(tx(lang, &provision.consequence))],
            ],
        ));
    }
    // Art. 13(2)(f)
    let adm = match &p.automated_decision {
        Some(adm) if adm.used => {
            let mut lines = vec![vec![text(w(
                lang,
                "Voor dit doel nemen wij geautomatiseerde besluiten die gevolgen voor u kunnen hebben.",
                "For this purpose we take automated decisions that may affect you.",
            ))]];
            if let Some(logic) = &adm.logic {
                lines.push(vec![text(w(lang, "Hoe het werkt: ", "How it works: ")), text(tx(lang, logic))]);
            }
            if let Some(significance) = &adm.significance {
                lines.push(vec![
                    text(w(lang, "Gevolgen voor u: ", "What it means for you: ")),
                    text(tx(lang, significance)),
                ]);
            }
            lines.push(vec![text(w(
                lang,
                "U mag vragen dat een medewerker het besluit opnieuw bekijkt, uw standpunt geven en het besluit aanvechten.",
                "You may ask for a person to review the decision, give your point of view and contest the decision.",
            ))]);
            lines
        }
        _ => vec![vec![text(w(lang, NO_ADM.0, NO_ADM.1))]],
    };
    fields.push((w(lang, "Geautomatiseerde besluiten", "Automated decisions").to_owned(), adm));
    fields
}

/// The sentence for a purpose without automated decision-making (Art. 13(2)(f)).
pub const NO_ADM: (&str, &str) = (
    "Voor dit doel nemen wij geen besluiten die uitsluitend geautomatiseerd zijn, en wij maken geen profielen.",
    "For this purpose we take no decisions by automated means alone, and we do not profile you.",
);

fn recipients_section(blocks: &mut Vec<Block>, register: &Register, lang: Lang) {
    blocks.push(h2("recipients", w(lang, "Met wie wij gegevens delen", "Who we share data with")));
    if register.recipients.is_empty() {
        blocks.push(para(w(lang, "Wij delen uw gegevens met niemand.", "We do not share your data with anyone.")));
    } else {
        blocks.push(para(w(
            lang,
            "Verwerkers werken in onze opdracht en mogen de gegevens alleen gebruiken zoals wij dat met hen hebben afgesproken. Andere ontvangers zijn zelf verantwoordelijk voor wat zij met de gegevens doen.",
            "Processors work on our instructions and may use the data only as agreed with us. Other recipients are themselves responsible for what they do with the data.",
        )));
        let head = [
            w(lang, "Ontvanger", "Recipient"),
            w(lang, "Rol", "Role"),
            w(lang, "Wat zij doen", "What they do"),
            w(lang, "Land", "Country"),
            w(lang, "Meer informatie", "More information"),
        ]
        .map(str::to_owned)
        .to_vec();
        let rows = register
            .recipients
            .values()
            .map(|r| {
                let mut role = words::role_short(lang, r.role).to_owned();
                if let (RecipientRole::Processor, Some(date)) = (r.role, &r.processor_agreement) {
                    role = match lang {
                        Lang::Nl => format!("{role} (verwerkersovereenkomst van {date})"),
                        Lang::En => format!("{role} (processor agreement of {date})"),
                    };
                }
                vec![
                    vec![text(&r.name)],
                    vec![text(role)],
                    vec![text(tx(lang, &r.purpose))],
                    vec![text(r.country.as_ref().map_or_else(String::new, |c| words::country(lang, c.as_str())))],
                    r.privacy_statement.as_ref().map_or_else(Vec::new, |url| {
                        vec![link(w(lang, "privacyverklaring", "privacy statement"), url)]
                    }),
                ]
            })
            .collect();
        blocks.push(Block::Table { head, rows });
    }
    blocks.push(Block::Heading {
        level: 3,
        id: "transfers".to_owned(),
        text: w(
            lang,
            "Doorgifte buiten de Europese Economische Ruimte",
            "Transfers outside the European Economic Area",
        )
        .to_owned(),
    });
    let outside: Vec<_> = register
        .recipients
        .values()
        .filter(|r| r.transfer.is_some() || r.country.as_ref().is_some_and(|c| !c.in_eea()))
        .collect();
    if outside.is_empty() {
        blocks.push(para(w(
            lang,
            "Wij geven geen persoonsgegevens door naar landen buiten de EER of aan internationale organisaties.",
            "We do not transfer personal data to countries outside the EEA or to international organisations.",
        )));
        return;
    }
    let mut items = Vec::new();
    for r in outside {
        let country = r.country.as_ref().map_or_else(String::new, |c| words::country(lang, c.as_str()));
        let mut line = vec![strong(&r.name), text(format!(" ({country}): "))];
        if let Some(t) = &r.transfer {
            line.push(text(format!(
                "{}. {} {}.",
                words::mechanism(lang, t.mechanism),
                w(lang, "Grondslag:", "Reference:"),
                t.reference
            )));
            line.push(text(w(lang, " Een kopie van de waarborgen: ", " A copy of the safeguards: ")));
            if let Some(url) = &t.safeguards_url {
                line.push(link(url, url));
            } else {
                line.push(text(w(lang, "vraag die bij ons op via ", "ask us for one at ")));
                line.extend(contact_inline(&register.controller, lang));
            }
            line.push(text("."));
        }
        items.push(line);
    }
    blocks.push(para(w(
        lang,
        "De volgende ontvangers verwerken gegevens buiten de EER:",
        "The following recipients process data outside the EEA:",
    )));
    blocks.push(Block::List(items));
}

fn cookies_section(blocks: &mut Vec<Block>, register: &Register, lang: Lang) {
    blocks.push(h2("cookies", w(lang, "Cookies en vergelijkbare technieken", "Cookies and similar technologies")));
    if register.cookies.is_empty() {
        blocks.push(para(w(lang, "Wij gebruiken geen cookies.", "We use no cookies.")));
        return;
    }
    let head = [
        w(lang, "Cookie", "Cookie"),
        w(lang, "Geplaatst door", "Set by"),
        w(lang, "Doel", "Purpose"),
        w(lang, "Grond", "Basis"),
        w(lang, "Bewaarduur", "Lifetime"),
    ]
    .map(str::to_owned)
    .to_vec();
    let rows = register
        .cookies
        .iter()
        .map(|(id, cookie)| {
            let provider = cookie.provider.as_ref().map_or_else(
                || w(lang, "wijzelf", "ourselves").to_owned(),
                |p| register.recipients.get(p).map_or_else(|| p.clone(), |r| r.name.clone()),
            );
            vec![
                vec![text(cookie.name.clone().unwrap_or_else(|| id.clone()))],
                vec![text(provider)],
                vec![text(tx(lang, &cookie.purpose))],
                vec![text(words::cookie_basis(lang, cookie.basis))],
                vec![text(cookie.lifetime.map_or_else(String::new, |l| words::lifetime(lang, l)))],
            ]
        })
        .collect();
    blocks.push(Block::Table { head, rows });
}

fn security_section(blocks: &mut Vec<Block>, register: &Register, lang: Lang) {
    blocks.push(h2("security", w(lang, "Hoe wij uw gegevens beveiligen", "How we protect your data")));
    if register.security.is_empty() {
        blocks.push(para(w(lang, "Er zijn geen maatregelen vastgelegd.", "No measures are recorded.")));
    } else {
        blocks.push(Block::List(register.security.values().map(|t| vec![text(tx(lang, t))]).collect()));
    }
}

fn rights_section(blocks: &mut Vec<Block>, register: &Register, lang: Lang) {
    let c = &register.controller;
    blocks.push(h2("rights", w(lang, "Uw rechten", "Your rights")));
    let names = |f: &dyn Fn(&PurposeDef) -> bool| -> String {
        register.purposes.values().filter(|p| f(p)).map(|p| tx(lang, &p.name)).collect::<Vec<_>>().join(", ")
    };
    let portable = names(&|p| matches!(p.legal_basis, Some(LegalBasis::Consent | LegalBasis::Contract)));
    let consent = names(&|p| p.legal_basis == Some(LegalBasis::Consent));
    let mut rights = vec![
        vec![
            strong(w(lang, "Inzage", "Access")),
            text(w(
                lang,
                ": u mag weten of wij gegevens over u verwerken, en een kopie krijgen met uitleg over wat wij ermee doen.",
                ": you may ask whether we process data about you and receive a copy, with an explanation of what we do with them.",
            )),
        ],
        vec![
            strong(w(lang, "Rectificatie", "Rectification")),
            text(w(
                lang,
                ": onjuiste gegevens laten verbeteren en onvolledige laten aanvullen.",
                ": have incorrect data corrected and incomplete data completed.",
            )),
        ],
        vec![
            strong(w(lang, "Wissing", "Erasure")),
            text(w(
                lang,
                ": uw gegevens laten verwijderen, behalve wat wij van de wet moeten bewaren of nodig hebben voor een rechtsvordering.",
                ": have your data deleted, except what the law requires us to keep or what we need for a legal claim.",
            )),
        ],
        vec![
            strong(w(lang, "Beperking", "Restriction")),
            text(w(
                lang,
                ": vragen dat wij uw gegevens tijdelijk niet gebruiken, bijvoorbeeld zolang wij een bezwaar of correctie beoordelen.",
                ": ask us to stop using your data for a while, for example while we assess an objection or a correction.",
            )),
        ],
    ];
    let mut portability = vec![
        strong(w(lang, "Overdraagbaarheid", "Portability")),
        text(w(
            lang,
            ": gegevens die u ons zelf gaf, in een gangbaar digitaal formaat krijgen of laten doorsturen naar een ander.",
            ": receive the data you gave us in a common digital format, or have them sent to someone else.",
        )),
    ];
    if !portable.is_empty() {
        portability.push(text(format!(" {} {portable}.", w(lang, "Dit geldt voor:", "This applies to:"))));
    }
    rights.push(portability);
    rights.push(vec![
        strong(w(lang, "Bezwaar", "Objection")),
        text(w(lang, ": zie het aparte blok ", ": see the separate block ")),
        link(w(lang, "Uw recht van bezwaar", "Your right to object"), format!("#{OBJECTION_ID}")),
        text("."),
    ]);
    let mut withdraw = vec![
        strong(w(lang, "Toestemming intrekken", "Withdrawing consent")),
        text(w(
            lang,
            ": waar wij uw gegevens verwerken op grond van uw toestemming, kunt u die altijd intrekken; wat wij daarvóór deden blijft rechtmatig.",
            ": where we process your data on the basis of your consent, you can withdraw it at any time; what we did before remains lawful.",
        )),
    ];
    if consent.is_empty() {
        withdraw.push(text(w(
            lang,
            " Op dit moment vragen wij voor geen enkel doel toestemming.",
            " At present we ask consent for no purpose.",
        )));
    } else {
        withdraw.push(text(format!(" {} {consent}.", w(lang, "Dit geldt voor:", "This applies to:"))));
    }
    rights.push(withdraw);
    blocks.push(Block::List(rights));
    blocks.push(Block::Heading {
        level: 3,
        id: "exercise".to_owned(),
        text: w(lang, "Zo gebruikt u uw rechten", "How to exercise your rights").to_owned(),
    });
    let mut how = vec![text(w(lang, "Stuur uw verzoek naar ", "Send your request to "))];
    how.extend(contact_inline(c, lang));
    how.push(text(w(
        lang,
        ". Dat is gratis en hoeft niet in een bepaalde vorm.",
        ". It is free and needs no particular form.",
    )));
    blocks.push(Block::Para(how));
    let response = register
        .rights
        .response_time
        .map_or_else(|| w(lang, "één maand", "one month").to_owned(), |p| words::period(lang, p));
    blocks.push(para(match lang {
        Lang::Nl => format!("Wij antwoorden binnen {response} na ontvangst. Is een verzoek erg ingewikkeld of krijgen wij er veel, dan mogen wij die termijn met ten hoogste twee maanden verlengen; dat laten wij u dan binnen de eerste maand weten, met de reden."),
        Lang::En => format!("We answer within {response} of receiving your request. If a request is very complex or we receive many, we may extend this by at most two months; we then tell you so within the first month, with the reason."),
    }));
    identity_section(blocks, register, lang);
}

/// How requests are verified, and the ID-copy policy with its shielding advice.
fn identity_section(blocks: &mut Vec<Block>, register: &Register, lang: Lang) {
    if let Some(iv) = &register.rights.identity_verification {
        blocks.push(Block::Heading {
            level: 3,
            id: "identity".to_owned(),
            text: w(lang, "Hoe wij controleren wie u bent", "How we check who you are").to_owned(),
        });
        blocks.push(para(w(
            lang,
            "Wij willen uw gegevens alleen aan u geven. Daarom controleren wij een verzoek op de lichtste manier die volstaat:",
            "We want to give your data only to you. So we check a request in the lightest way that is enough:",
        )));
        blocks.push(Block::List(iv.methods.iter().map(|m| vec![text(words::verification(lang, *m))]).collect()));
        blocks.push(para(tx(lang, &iv.text)));
        let mut copy = vec![text(words::id_copy(lang, iv.id_copy))];
        if iv.id_copy != IdCopy::Never {
            let shields = if iv.shield.is_empty() { IdShield::REQUIRED.to_vec() } else { iv.shield.clone() };
            let list: Vec<&str> = shields.iter().map(|s| words::shield(lang, *s)).collect();
            copy.push(text(format!(
                " {} {}.",
                w(lang, "Maak op die kopie onleesbaar:", "Make the following unreadable on that copy:"),
                list.join(", ")
            )));
            copy.push(text(w(
                lang,
                " Met de KopieID-app van de Rijksoverheid kunt u dat eenvoudig doen en een watermerk toevoegen met onze naam, het doel en de datum. Wij vernietigen de kopie direct na de controle en bewaren alleen dat de controle is gedaan.",
                " The Dutch government's KopieID app makes this easy and lets you add a watermark with our name, the purpose and the date. We destroy the copy right after the check and keep only the fact that the check was done.",
            )));
        }
        blocks.push(Block::Para(copy));
    }
}

fn complaint_section(blocks: &mut Vec<Block>, register: &Register, lang: Lang) {
    blocks.push(h2("complaint", w(lang, "Een klacht indienen", "Making a complaint")));
    let Some(sa) = &register.controller.supervisory_authority else {
        blocks.push(para(w(
            lang,
            "U mag een klacht indienen bij de toezichthouder voor gegevensbescherming in uw land.",
            "You may lodge a complaint with the data protection supervisory authority of your country.",
        )));
        return;
    };
    let mut line = vec![text(w(
        lang,
        "Bent u niet tevreden over hoe wij met uw gegevens omgaan, laat het ons dan weten; wij zoeken graag samen een oplossing. U hebt daarnaast altijd het recht een klacht in te dienen bij de toezichthouder: ",
        "If you are unhappy with how we handle your data, please tell us; we are glad to look for a solution together. You also always have the right to lodge a complaint with the supervisory authority: ",
    ))];
    line.push(strong(&sa.name));
    line.push(text(", "));
    line.push(link(&sa.website, &sa.website));
    if let Some(a) = &sa.address {
        line.push(text(format!(", {}, {} {}", a.street, a.postcode, a.city)));
    }
    line.push(text("."));
    blocks.push(Block::Para(line));
    if let Some(url) = &sa.complaint_url {
        blocks.push(Block::Para(vec![
            text(w(lang, "Een klacht indienen kan via ", "You can file a complaint at ")),
            link(url, url),
            text("."),
        ]));
    }
}

fn version_section(blocks: &mut Vec<Block>, lang: Lang, meta: &StatementMeta) {
    blocks.push(h2("version", w(lang, "Over deze verklaring", "About this statement")));
    blocks.push(para(w(
        lang,
        "Deze verklaring wordt gemaakt uit ons register van verwerkingen. Verandert er iets wezenlijks, dan publiceren wij een nieuwe versie; alle eerdere versies bewaren wij.",
        "This statement is generated from our register of processing. When something material changes we publish a new version; we keep every earlier version.",
    )));
    blocks.push(Block::Fields(vec![
        (w(lang, "Versie", "Version").to_owned(), vec![vec![text(meta.version.to_string())]]),
        (w(lang, "Datum", "Date").to_owned(), vec![vec![text(&meta.date)]]),
        (
            w(lang, "Kenmerk (SHA-256 van het register)", "Fingerprint (SHA-256 of the register)").to_owned(),
            vec![vec![text(&meta.hash)]],
        ),
    ]));
}
