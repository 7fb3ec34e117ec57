//! The access export as a readable, self-contained HTML page (XHTML-compatible markup): no scripts,
//! no external resources, one `<style>` that is exactly `kluis_register::HTML_STYLE`, so the
//! server's CSP (which allows that style by hash) applies unchanged. Every text is escaped here.

use std::fmt::Write as _;

use kluis_register::{HTML_STYLE, Lang, Text, escape_html as esc};

use crate::access::{AccessExport, PurposeOut, RecipientOut, RegisterSource};
use crate::words::{self, tx, w};

/// Section ids and headings, in page order.
fn sections(lang: Lang) -> [(&'static str, &'static str); 10] {
    [
        ("controller", w(lang, "Wie wij zijn", "Who we are")),
        ("data", w(lang, "Uw gegevens", "Your data")),
        ("purposes", w(lang, "Wat wij ermee doen", "What we do with it")),
        ("recipients", w(lang, "Wie ze ontvangt", "Who receives it")),
        ("retention", w(lang, "Hoe lang wij ze bewaren", "How long we keep it")),
        ("source", w(lang, "Waar ze vandaan komen", "Where it came from")),
        ("automated", w(lang, "Geautomatiseerde besluiten", "Automated decisions")),
        ("log", w(lang, "Wat er met uw gegevens is gedaan", "What was done with your data")),
        ("rights", w(lang, "Uw rechten", "Your rights")),
        ("complaints", w(lang, "Klachten", "Complaints")),
    ]
}

/// A link when the URL is http(s) or mailto and harmless, else the escaped text.
fn link(url: &str, text: &str) -> String {
    let lower = url.to_ascii_lowercase();
    let safe = ["https://", "http://", "mailto:"].iter().any(|s| lower.starts_with(s))
        && !url.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | '`' | '\''));
    if safe { format!("<a href=\"{}\">{}</a>", esc(url), esc(text)) } else { esc(text) }
}

fn h2(out: &mut String, lang: Lang, id: &str) {
    let title = sections(lang).iter().find(|(i, _)| *i == id).map_or("", |(_, t)| *t);
    let _ = writeln!(out, "<h2 id=\"{id}\">{}</h2>", esc(title));
}

fn para(out: &mut String, text: &str) {
    let _ = writeln!(out, "<p>{}</p>", esc(text));
}

/// A definition list of label → already escaped HTML.
fn fields(out: &mut String, rows: &[(&str, String)]) {
    out.push_str("<dl>\n");
    for (label, html) in rows {
        let _ = writeln!(out, "<dt>{}</dt>\n<dd>{html}</dd>", esc(label));
    }
    out.push_str("</dl>\n");
}

fn table_head(out: &mut String, head: &[&str]) {
    out.push_str("<table>\n<thead>\n<tr>");
    for h in head {
        let _ = write!(out, "<th scope=\"col\">{}</th>", esc(h));
    }
    out.push_str("</tr>\n</thead>\n<tbody>\n");
}

fn table_row(out: &mut String, cells: &[String]) {
    out.push_str("<tr>");
    for c in cells {
        let _ = write!(out, "<td>{c}</td>");
    }
    out.push_str("</tr>\n");
}

fn table_end(out: &mut String) {
    out.push_str("</tbody>\n</table>\n");
}

fn yes_no(lang: Lang, b: bool) -> &'static str {
    if b { w(lang, "ja", "yes") } else { w(lang, "nee", "no") }
}

/// Several lines in one cell, each escaped.
fn br_lines<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    items.into_iter().map(esc).collect::<Vec<_>>().join("<br/>")
}

pub(crate) fn access_html(e: &AccessExport, lang: Lang) -> String {
    let title = w(lang, "Inzage in uw persoonsgegevens", "Access to your personal data");
    let mut out = String::with_capacity(4096 + e.events.len() * 256 + e.subject.values.len() * 192);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"{l}\" xml:lang=\"{l}\">\n<head>\n\
<meta charset=\"utf-8\"/>\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n\
<title>{t}</title>\n<style>{HTML_STYLE}</style>\n</head>\n<body>\n<header>\n<h1>{t}</h1>\n",
        l = lang.as_str(),
        t = esc(title),
    );
    header_meta(&mut out, e, lang);
    out.push_str("</header>\n");
    let contents = w(lang, "Inhoud", "Contents");
    let _ = write!(out, "<nav class=\"toc\" aria-label=\"{0}\">\n<h2>{0}</h2>\n<ol>\n", esc(contents));
    for (id, text) in sections(lang) {
        let _ = writeln!(out, "<li><a href=\"#{id}\">{}</a></li>", esc(text));
    }
    out.push_str("</ol>\n</nav>\n<main>\n");
    controller_section(&mut out, e, lang);
    data_section(&mut out, e, lang);
    purposes_section(&mut out, e, lang);
    recipients_section(&mut out, e, lang);
    retention_section(&mut out, e, lang);
    source_section(&mut out, e, lang);
    automated_section(&mut out, e, lang);
    log_section(&mut out, e, lang);
    rights_section(&mut out, e, lang);
    complaints_section(&mut out, e, lang);
    out.push_str("</main>\n<footer>\n");
    let _ = writeln!(
        out,
        "<p>{} {}</p>",
        esc(w(lang, "Formaat:", "Format:")),
        esc(&format!("{} {}", e.format, e.format_version))
    );
    out.push_str("</footer>\n</body>\n</html>\n");
    out
}

fn header_meta(out: &mut String, e: &AccessExport, lang: Lang) {
    let mut line = format!("{} {}", w(lang, "Gemaakt op", "Generated on"), e.generated_at);
    if let Some(r) = &e.request {
        let _ = write!(
            line,
            "{} {} ({} {})",
            w(lang, "; verzoek", "; request"),
            r.id,
            w(lang, "ontvangen", "received"),
            r.received_at
        );
    }
    let _ = writeln!(out, "<p class=\"meta\">{}</p>", esc(&line));
    let mut reg = tx(lang, &e.register.note).to_owned();
    if e.register.source == RegisterSource::Register {
        if let Some(v) = e.register.version {
            let _ = write!(reg, " {} {v}.", w(lang, "Registerversie", "Register version"));
        }
        if let Some(h) = &e.register.sha256 {
            let _ = write!(reg, " SHA-256: {h}.");
        }
    }
    let _ = writeln!(out, "<p class=\"meta\">{}</p>", esc(&reg));
}

fn controller_section(out: &mut String, e: &AccessExport, lang: Lang) {
    h2(out, lang, "controller");
    let Some(c) = &e.controller else {
        para(out, w(lang, "Zie onze privacyverklaring.", "See our privacy statement."));
        return;
    };
    let mut rows: Vec<(&str, String)> = vec![(w(lang, "Naam", "Name"), esc(&c.name))];
    if let Some(t) = &c.trade_name {
        rows.push((w(lang, "Handelsnaam", "Trade name"), esc(t)));
    }
    if let Some(a) = &c.address {
        rows.push((w(lang, "Adres", "Address"), esc(a)));
    }
    if let Some(k) = &c.kvk {
        rows.push((w(lang, "KvK-nummer", "Chamber of Commerce number"), esc(k)));
    }
    if let Some(m) = &c.email {
        rows.push((w(lang, "E-mail", "E-mail"), link(&format!("mailto:{m}"), m)));
    }
    if let Some(p) = &c.phone {
        rows.push((w(lang, "Telefoon", "Phone"), esc(p)));
    }
    if let Some(f) = &c.web_form {
        rows.push((w(lang, "Webformulier", "Web form"), link(f, f)));
    }
    if let Some(site) = &c.website {
        rows.push((w(lang, "Website", "Website"), link(site, site)));
    }
    if let Some(d) = &c.dpo {
        let mut parts = vec![esc(&d.name)];
        parts.extend(d.email.as_ref().map(|m| link(&format!("mailto:{m}"), m)));
        parts.extend(d.phone.as_ref().map(|p| esc(p)));
        rows.push((w(lang, "Functionaris gegevensbescherming", "Data protection officer"), parts.join(", ")));
    }
    fields(out, &rows);
}

fn data_section(out: &mut String, e: &AccessExport, lang: Lang) {
    h2(out, lang, "data");
    let s = &e.subject;
    let mut rows: Vec<(&str, String)> = vec![
        (w(lang, "Uw dossiernummer", "Your record id"), esc(&s.id)),
        (w(lang, "Soort", "Kind"), esc(&s.kind)),
        (w(lang, "Aangemaakt op", "Created on"), esc(&s.created_at)),
        (
            w(lang, "Verwerking beperkt (art. 18 AVG)", "Processing restricted (Art. 18 GDPR)"),
            esc(yes_no(lang, s.restricted)),
        ),
    ];
    if let Some(a) = &s.archived_until {
        rows.push((w(lang, "Gearchiveerd tot", "Archived until"), esc(a)));
    }
    fields(out, &rows);
    if s.values.is_empty() {
        para(
            out,
            w(lang, "Wij hebben geen gegevens van u in dit dossier.", "We hold no data about you in this record."),
        );
        return;
    }
    table_head(
        out,
        &[
            w(lang, "Gegeven", "Item"),
            w(lang, "Veld", "Field"),
            w(lang, "Categorie", "Category"),
            w(lang, "Waarde", "Value"),
        ],
    );
    for v in &s.values {
        table_row(out, &[esc(tx(lang, &v.label)), esc(&v.field), esc(&v.category), esc(&v.value)]);
    }
    table_end(out);
}

fn no_register(out: &mut String, e: &AccessExport, lang: Lang) -> bool {
    if e.register.source == RegisterSource::BuiltInPolicy {
        para(out, tx(lang, &e.register.note));
        return true;
    }
    if e.purposes.is_empty() {
        para(
            out,
            w(
                lang,
                "Geen van onze verwerkingsdoelen betreft de gegevens hierboven.",
                "None of our purposes concerns the data above.",
            ),
        );
        return true;
    }
    false
}

fn purposes_section(out: &mut String, e: &AccessExport, lang: Lang) {
    h2(out, lang, "purposes");
    if no_register(out, e, lang) {
        return;
    }
    for p in &e.purposes {
        let _ = writeln!(out, "<h3 id=\"purpose-{}\">{}</h3>", esc(&p.id), esc(tx(lang, &p.name)));
        para(out, tx(lang, &p.description));
        let mut rows: Vec<(&str, String)> = Vec::new();
        let basis = match &p.legal_basis {
            Some(b) => esc(tx(lang, &b.text)),
            None => esc(w(lang, "niet vermeld in het register", "not stated in the register")),
        };
        rows.push((w(lang, "Grondslag", "Legal basis"), basis));
        if let Some(r) = &p.legal_reference {
            rows.push((w(lang, "Wettelijke basis", "Legal reference"), esc(r)));
        }
        if let Some(i) = &p.legitimate_interest {
            rows.push((w(lang, "Ons gerechtvaardigd belang", "Our legitimate interest"), esc(tx(lang, i))));
        }
        if let Some(wd) = &p.withdrawal {
            rows.push((w(lang, "Toestemming intrekken", "Withdrawing consent"), esc(tx(lang, wd))));
        }
        if p.direct_marketing {
            rows.push((
                w(lang, "Direct marketing", "Direct marketing"),
                esc(w(lang, "ja: u kunt altijd bezwaar maken", "yes: you may always object")),
            ));
        }
        let cats =
            br_lines(p.categories.iter().map(|c| c.description.as_ref().map_or(c.key.as_str(), |d| tx(lang, d))));
        rows.push((w(lang, "Gegevens", "Data"), cats));
        rows.push((w(lang, "Velden", "Fields"), esc(&p.fields.join(", "))));
        fields(out, &rows);
    }
}

/// Every recipient once, with the purposes it receives data for.
fn recipients_by_id(e: &AccessExport) -> Vec<(&RecipientOut, Vec<&PurposeOut>)> {
    let mut out: Vec<(&RecipientOut, Vec<&PurposeOut>)> = Vec::new();
    for p in &e.purposes {
        for r in &p.recipients {
            match out.iter_mut().find(|(x, _)| x.id == r.id) {
                Some((_, ps)) => ps.push(p),
                None => out.push((r, vec![p])),
            }
        }
    }
    out
}

fn recipients_section(out: &mut String, e: &AccessExport, lang: Lang) {
    h2(out, lang, "recipients");
    if no_register(out, e, lang) {
        return;
    }
    let recipients = recipients_by_id(e);
    if recipients.is_empty() {
        para(out, w(lang, "Wij verstrekken deze gegevens aan niemand.", "We disclose these data to no one."));
        return;
    }
    table_head(
        out,
        &[
            w(lang, "Ontvanger", "Recipient"),
            w(lang, "Rol", "Role"),
            w(lang, "Wat zij doen", "What they do"),
            w(lang, "Land", "Country"),
            w(lang, "Voor", "For"),
        ],
    );
    for (r, purposes) in recipients {
        let mut country = esc(r.country.as_deref().unwrap_or(w(lang, "onbekend", "unknown")));
        if r.outside_eea {
            let _ = write!(country, " ({})", esc(w(lang, "buiten de EER", "outside the EEA")));
        }
        if let Some(t) = &r.transfer {
            let _ = write!(country, "<br/>{}: {}", esc(tx(lang, &t.mechanism_text)), esc(&t.reference));
            if let Some(url) = &t.safeguards_url {
                let _ =
                    write!(country, "<br/>{}", link(url, w(lang, "kopie van de waarborgen", "copy of the safeguards")));
            }
        }
        let mut name = esc(&r.name);
        if let Some(url) = &r.privacy_statement {
            let _ = write!(name, "<br/>{}", link(url, w(lang, "privacyverklaring", "privacy statement")));
        }
        table_row(
            out,
            &[
                name,
                esc(tx(lang, &r.role_text)),
                esc(tx(lang, &r.purpose)),
                country,
                br_lines(purposes.iter().map(|p| tx(lang, &p.name))),
            ],
        );
    }
    table_end(out);
}

fn retention_section(out: &mut String, e: &AccessExport, lang: Lang) {
    h2(out, lang, "retention");
    if no_register(out, e, lang) {
        return;
    }
    table_head(out, &[w(lang, "Doel", "Purpose"), w(lang, "Termijn", "Period"), w(lang, "Toelichting", "Explanation")]);
    for p in &e.purposes {
        if p.retention.is_empty() {
            table_row(
                out,
                &[
                    esc(tx(lang, &p.name)),
                    String::new(),
                    esc(w(lang, "niet vermeld in het register", "not stated in the register")),
                ],
            );
        }
        for r in &p.retention {
            let mut explanation = esc(tx(lang, &r.text));
            if let Some(l) = &r.legal_reference {
                let _ =
                    write!(explanation, "<br/>{} {}", esc(w(lang, "Wettelijke basis:", "Legal reference:")), esc(l));
            }
            table_row(out, &[esc(tx(lang, &p.name)), esc(tx(lang, &r.summary)), explanation]);
        }
    }
    table_end(out);
}

fn source_section(out: &mut String, e: &AccessExport, lang: Lang) {
    h2(out, lang, "source");
    if no_register(out, e, lang) {
        return;
    }
    let rows: Vec<(&str, String)> = e.purposes.iter().map(|p| (tx(lang, &p.name), esc(tx(lang, &p.source)))).collect();
    fields(out, &rows);
}

fn automated_section(out: &mut String, e: &AccessExport, lang: Lang) {
    h2(out, lang, "automated");
    if no_register(out, e, lang) {
        return;
    }
    let used: Vec<&PurposeOut> = e.purposes.iter().filter(|p| p.automated_decision.used).collect();
    if used.is_empty() {
        para(out, tx(lang, &words::no_automated_decision()));
        return;
    }
    let none = Text { nl: String::new(), en: String::new() };
    let mut rows: Vec<(&str, String)> = Vec::new();
    for p in used {
        let ad = &p.automated_decision;
        let logic = tx(lang, ad.logic.as_ref().unwrap_or(&none));
        let significance = tx(lang, ad.significance.as_ref().unwrap_or(&none));
        rows.push((
            tx(lang, &p.name),
            format!(
                "{}: {}<br/>{}: {}",
                esc(w(lang, "Logica", "Logic")),
                esc(logic),
                esc(w(lang, "Gevolgen", "Consequences")),
                esc(significance)
            ),
        ));
    }
    fields(out, &rows);
    let others = e.purposes.len() - rows.len();
    if others > 0 {
        para(
            out,
            w(
                lang,
                "Voor de andere doelen nemen wij geen geautomatiseerde besluiten.",
                "For the other purposes we take no automated decisions.",
            ),
        );
    }
}

fn log_section(out: &mut String, e: &AccessExport, lang: Lang) {
    h2(out, lang, "log");
    if e.events.is_empty() {
        para(
            out,
            w(lang, "Ons logboek bevat geen handelingen met uw gegevens.", "Our log holds no actions on your data."),
        );
        return;
    }
    para(
        out,
        w(
            lang,
            "Uit ons logboek (tijden in UTC). Door wie: staff = medewerker, application = applicatie, system = systeem, cli = beheerder.",
            "From our log (times in UTC). By whom: staff, application, system (automatic), cli (administrator).",
        ),
    );
    table_head(
        out,
        &[
            "#",
            w(lang, "Tijd", "Time"),
            w(lang, "Door", "By"),
            w(lang, "Handeling", "Action"),
            w(lang, "Doel", "Purpose"),
            w(lang, "Velden", "Fields"),
            w(lang, "Resultaat", "Outcome"),
        ],
    );
    for ev in &e.events {
        table_row(
            out,
            &[
                ev.seq.to_string(),
                esc(&ev.time),
                esc(&ev.actor),
                esc(&ev.action),
                esc(ev.purpose.as_deref().unwrap_or("")),
                esc(&ev.fields.join(", ")),
                esc(&ev.outcome),
            ],
        );
    }
    table_end(out);
}

fn rights_section(out: &mut String, e: &AccessExport, lang: Lang) {
    h2(out, lang, "rights");
    out.push_str("<ul>\n");
    for r in &e.rights {
        let article = match lang {
            Lang::Nl => format!("art. {} AVG", r.article),
            Lang::En => format!("Art. {} GDPR", r.article),
        };
        let mut item = format!(
            "<strong>{}</strong> ({}): {}",
            esc(tx(lang, &r.name)),
            esc(&article),
            esc(tx(lang, &r.description))
        );
        if !r.purposes.is_empty() {
            let names: Vec<&str> = r
                .purposes
                .iter()
                .filter_map(|id| e.purposes.iter().find(|p| p.id == *id).map(|p| tx(lang, &p.name)))
                .collect();
            let _ = write!(item, " {} {}.", esc(w(lang, "Geldt voor:", "Applies to:")), esc(&names.join(", ")));
        } else if !r.applies {
            let _ = write!(
                item,
                " {}",
                esc(w(lang, "Geldt niet voor de doelen hierboven.", "Does not apply to the purposes above."))
            );
        }
        let _ = writeln!(out, "<li>{item}</li>");
    }
    out.push_str("</ul>\n");
    let contact = e.controller.as_ref().and_then(|c| c.email.as_ref().or(c.web_form.as_ref()));
    if let Some(c) = contact {
        let url = if c.contains('@') && !c.contains("://") { format!("mailto:{c}") } else { c.clone() };
        let _ = writeln!(
            out,
            "<p>{} {}</p>",
            esc(w(lang, "Een verzoek doet u via", "To make a request, use")),
            link(&url, c)
        );
    }
}

fn complaints_section(out: &mut String, e: &AccessExport, lang: Lang) {
    h2(out, lang, "complaints");
    let c = &e.complaint;
    para(
        out,
        w(
            lang,
            "Bent u niet tevreden over hoe wij met uw gegevens omgaan, laat het ons weten. U hebt ook altijd het recht een klacht in te dienen bij de toezichthouder:",
            "If you are unhappy with how we handle your data, please tell us. You also always have the right to lodge a complaint with the supervisory authority:",
        ),
    );
    let mut rows: Vec<(&str, String)> = vec![
        (w(lang, "Toezichthouder", "Supervisory authority"), esc(&c.authority)),
        ("Website", link(&c.website, &c.website)),
    ];
    if let Some(u) = &c.complaint_url {
        rows.push((w(lang, "Klacht indienen", "Lodge a complaint"), link(u, u)));
    }
    if let Some(a) = &c.address {
        rows.push((w(lang, "Adres", "Address"), esc(a)));
    }
    fields(out, &rows);
}
