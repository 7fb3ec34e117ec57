//! The record of processing activities (Art. 30): one entry per purpose with every field of
//! Art. 30(1), and the processor record of Art. 30(2) when the register has a `[processor]` table.
//!
//! Texts are given in Dutch and English (the record is for the supervisory authority; the register
//! holds both). Shapes:
//!
//! - **CSV** (RFC 4180, CRLF line ends, a header row): one row per purpose (`record` =
//!   `art30_1`) and one per controller served as a processor (`record` = `art30_2`), with the
//!   columns of [`COLUMNS`]; a bilingual field has a `_nl` and an `_en` column; several values in
//!   one cell are separated by line breaks.
//! - **JSON**: `{ "record": "kluis-ropa", "format_version": 1, "register": { version, date,
//!   sha256 }, "activities": [ Activity ], "processor_record": null | { processor, entries } }`;
//!   see `docs/REGISTER.md` for the fields of an activity and an entry.
//! - **HTML**: a self-contained document with one table per activity and per entry.

use std::fmt::Write as _;

use serde::Serialize;

use super::doc::html_page;
use super::words::{self, tx};
use super::{Lang, RopaFormat, StatementMeta, escape_html};
use crate::model::{
    Controller, LegalBasis, ProcessorController, ProcessorTransfer, PurposeDef, Recipient, Register, Text,
};

/// Renders the Art. 30 record of `register`.
pub fn ropa(register: &Register, format: RopaFormat, meta: &StatementMeta) -> String {
    match format {
        RopaFormat::Csv => csv(register, meta),
        RopaFormat::Json => json(register, meta),
        RopaFormat::Html => html(register, meta),
    }
}

// ---------------------------------------------------------------------------------------------
// The flat view shared by CSV and HTML.

/// `(key, bilingual, label)`: the columns of the CSV, in order.
pub const COLUMNS: [(&str, bool, &str); 17] = [
    ("record", false, "Record (art30_1: controller, art30_2: processor)"),
    ("id", false, "Id"),
    ("controller", false, "Art. 30(1)(a) / 30(2)(a): controller, name and contact details"),
    ("dpo", false, "Art. 30(1)(a) / 30(2)(a): data protection officer"),
    ("processor", false, "Art. 30(2)(a): processor, name and contact details"),
    ("purpose", true, "Art. 30(1)(b): purpose of the processing"),
    ("legal_basis", true, "Legal basis (Art. 6(1))"),
    ("data_subject_categories", true, "Art. 30(1)(c): categories of data subjects"),
    ("personal_data_categories", true, "Art. 30(1)(c): categories of personal data"),
    ("recipient_categories", true, "Art. 30(1)(d): recipients, including in third countries"),
    ("processing_categories", true, "Art. 30(2)(b): categories of processing carried out for the controller"),
    ("third_country_transfers", false, "Art. 30(1)(e) / 30(2)(c): transfers to third countries and safeguards"),
    ("erasure_time_limits", true, "Art. 30(1)(f): time limits for erasure"),
    ("security_measures", true, "Art. 30(1)(g) / 30(2)(d): technical and organisational security measures"),
    ("register_version", false, "Register version"),
    ("register_date", false, "Register date"),
    ("register_sha256", false, "Register SHA-256"),
];

const COL_RECORD: usize = 0;
const COL_ID: usize = 1;
const COL_CONTROLLER: usize = 2;
const COL_DPO: usize = 3;
const COL_PROCESSOR: usize = 4;
const COL_PURPOSE: usize = 5;
const COL_BASIS: usize = 6;
const COL_SUBJECTS: usize = 7;
const COL_DATA: usize = 8;
const COL_RECIPIENTS: usize = 9;
const COL_PROCESSING: usize = 10;
const COL_TRANSFERS: usize = 11;
const COL_ERASURE: usize = 12;
const COL_SECURITY: usize = 13;

/// One cell: its lines in Dutch and in English (equal for a language-neutral column).
#[derive(Clone, Default)]
struct Cell {
    nl: Vec<String>,
    en: Vec<String>,
}

impl Cell {
    fn same(lines: Vec<String>) -> Cell {
        Cell { en: lines.clone(), nl: lines }
    }

    fn by_lang(f: impl Fn(Lang) -> Vec<String>) -> Cell {
        Cell { nl: f(Lang::Nl), en: f(Lang::En) }
    }
}

type Row = [Cell; COLUMNS.len()];

fn controller_lines(c: &Controller) -> Vec<String> {
    let mut lines = vec![c.name.clone()];
    if let Some(trade) = &c.trade_name {
        lines.push(format!("trade name: {trade}"));
    }
    if let Some(a) = &c.address {
        lines.push(format!("{}, {} {}, {}", a.street, a.postcode, a.city, a.country));
    }
    if let Some(email) = &c.contact.email {
        lines.push(format!("e-mail: {email}"));
    }
    if let Some(phone) = &c.contact.phone {
        lines.push(format!("phone: {phone}"));
    }
    if let Some(form) = &c.contact.web_form {
        lines.push(format!("web form: {form}"));
    }
    if let Some(kvk) = &c.kvk {
        lines.push(format!("KvK: {kvk}"));
    }
    lines
}

fn dpo_lines(c: &Controller) -> Vec<String> {
    match &c.dpo {
        Some(dpo) => {
            let mut line = dpo.name.clone();
            for contact in [&dpo.email, &dpo.phone].into_iter().flatten() {
                line.push_str(", ");
                line.push_str(contact);
            }
            vec![line]
        }
        None => vec!["none appointed".to_owned()],
    }
}

fn transfer_line(recipient: &str, country: Option<&str>, t_mech: &str, reference: &str, url: Option<&str>) -> String {
    let mut line = format!("{recipient} ({}): {t_mech}; {reference}", country.unwrap_or("international organisation"));
    if let Some(url) = url {
        let _ = write!(line, "; safeguards: {url}");
    }
    line
}

fn recipient_transfer(r: &Recipient) -> Option<String> {
    let outside = r.country.as_ref().is_some_and(|c| !c.in_eea());
    match &r.transfer {
        Some(t) => Some(transfer_line(
            &r.name,
            r.country.as_ref().map(super::super::model::Country::as_str),
            words::mechanism_short(t.mechanism),
            &t.reference,
            t.safeguards_url.as_deref(),
        )),
        None if outside => Some(format!(
            "{} ({}): no transfer mechanism recorded",
            r.name,
            r.country.as_ref().map_or("", |c| c.as_str())
        )),
        None => None,
    }
}

fn processor_transfer(t: &ProcessorTransfer) -> String {
    transfer_line(
        &t.recipient,
        t.country.as_ref().map(super::super::model::Country::as_str),
        words::mechanism_short(t.mechanism),
        &t.reference,
        t.safeguards_url.as_deref(),
    )
}

fn none_if_empty(lines: Vec<String>, none: &str) -> Vec<String> {
    if lines.is_empty() { vec![none.to_owned()] } else { lines }
}

fn purpose_recipients<'a>(
    register: &'a Register,
    p: &'a PurposeDef,
) -> impl Iterator<Item = (&'a String, &'a Recipient)> {
    p.recipients.iter().filter_map(|id| register.recipients.get(id).map(|r| (id, r)))
}

fn security_cell(register: &Register) -> Cell {
    Cell::by_lang(|lang| {
        none_if_empty(
            register.security.values().map(|t| tx(lang, t).to_owned()).collect(),
            words::w(lang, "geen maatregelen vastgelegd", "no measures recorded"),
        )
    })
}

fn meta_cells(row: &mut Row, meta: &StatementMeta) {
    row[14] = Cell::same(vec![meta.version.to_string()]);
    row[15] = Cell::same(vec![meta.date.clone()]);
    row[16] = Cell::same(vec![meta.hash.clone()]);
}

fn activity_row(register: &Register, id: &str, p: &PurposeDef, meta: &StatementMeta) -> Row {
    let mut row: Row = Default::default();
    row[COL_RECORD] = Cell::same(vec!["art30_1".to_owned()]);
    row[COL_ID] = Cell::same(vec![id.to_owned()]);
    row[COL_CONTROLLER] = Cell::same(controller_lines(&register.controller));
    row[COL_DPO] = Cell::same(dpo_lines(&register.controller));
    row[COL_PURPOSE] = Cell::by_lang(|lang| vec![format!("{}: {}", tx(lang, &p.name), tx(lang, &p.description))]);
    row[COL_BASIS] = Cell::by_lang(|lang| {
        let mut lines =
            vec![p.legal_basis.map_or_else(|| "not recorded".to_owned(), |b| words::legal_basis_short(lang, b))];
        if let Some(reference) = &p.legal_reference {
            lines.push(reference.clone());
        }
        if let Some(interest) = &p.legitimate_interest {
            lines.push(format!("{} {}", words::w(lang, "Belang:", "Interest:"), tx(lang, interest)));
        }
        lines
    });
    row[COL_SUBJECTS] = Cell::by_lang(|lang| {
        p.subjects
            .iter()
            .map(|s| register.subjects.get(s).map_or_else(|| s.clone(), |t| tx(lang, t).to_owned()))
            .collect()
    });
    row[COL_DATA] = Cell::by_lang(|lang| {
        p.categories
            .iter()
            .map(|c| match register.categories.get(c) {
                Some(t) => format!("{} ({})", tx(lang, t), c.as_str()),
                None => c.as_str().to_owned(),
            })
            .collect()
    });
    row[COL_RECIPIENTS] = Cell::by_lang(|lang| {
        none_if_empty(
            purpose_recipients(register, p)
                .map(|(_, r)| {
                    let country = r.country.as_ref().map_or("?", |c| c.as_str());
                    format!("{} ({}, {country}): {}", r.name, words::role_short(lang, r.role), tx(lang, &r.purpose))
                })
                .collect(),
            words::w(lang, "geen", "none"),
        )
    });
    row[COL_TRANSFERS] = Cell::same(none_if_empty(
        purpose_recipients(register, p).filter_map(|(_, r)| recipient_transfer(r)).collect(),
        "none",
    ));
    row[COL_ERASURE] = Cell::by_lang(|lang| {
        none_if_empty(
            register
                .retention
                .iter()
                .filter(|(_, r)| r.purpose == id)
                .map(|(rule_id, r)| {
                    let mut line = format!("{rule_id}: {}", words::retention_rule(lang, r));
                    if !r.categories.is_empty() {
                        let keys: Vec<&str> = r.categories.iter().map(kluis_domain::fields::Category::as_str).collect();
                        let _ = write!(line, " [{}]", keys.join(", "));
                    }
                    if let Some(unless) = &r.unless {
                        let _ = write!(line, " {} {unless}.", words::w(lang, "Niet zolang:", "Suspended while:"));
                    }
                    if let Some(reference) = &r.legal_reference {
                        let _ = write!(line, " ({reference})");
                    }
                    let _ = write!(line, " {}", tx(lang, &r.text));
                    line
                })
                .collect(),
            words::w(lang, "geen termijn vastgelegd", "no time limit recorded"),
        )
    });
    row[COL_SECURITY] = security_cell(register);
    meta_cells(&mut row, meta);
    row
}

fn processor_row(register: &Register, index: usize, pc: &ProcessorController, meta: &StatementMeta) -> Row {
    let mut row: Row = Default::default();
    row[COL_RECORD] = Cell::same(vec!["art30_2".to_owned()]);
    row[COL_ID] = Cell::same(vec![format!("controller_{}", index + 1)]);
    let mut controller = vec![pc.name.clone(), pc.contact.clone()];
    if let Some(representative) = &pc.representative {
        controller.push(format!("representative: {representative}"));
    }
    if let Some(date) = &pc.processor_agreement {
        controller.push(format!("processor agreement: {date}"));
    }
    row[COL_CONTROLLER] = Cell::same(controller);
    row[COL_DPO] = Cell::same(vec![pc.dpo.clone().unwrap_or_else(|| "none known".to_owned())]);
    let mut processor = controller_lines(&register.controller);
    if let Some(dpo) = &register.controller.dpo {
        processor.push(format!("DPO: {}", dpo.name));
    }
    row[COL_PROCESSOR] = Cell::same(processor);
    row[COL_PROCESSING] = Cell::by_lang(|lang| pc.processing.iter().map(|t| tx(lang, t).to_owned()).collect());
    row[COL_TRANSFERS] = Cell::same(none_if_empty(pc.transfers.iter().map(processor_transfer).collect(), "none"));
    row[COL_SECURITY] = match &pc.security {
        Some(t) => Cell::by_lang(|lang| vec![tx(lang, t).to_owned()]),
        None => security_cell(register),
    };
    meta_cells(&mut row, meta);
    row
}

fn rows(register: &Register, meta: &StatementMeta) -> (Vec<Row>, Vec<Row>) {
    let controller = register.purposes.iter().map(|(id, p)| activity_row(register, id, p, meta)).collect();
    let processor = register
        .processor
        .iter()
        .flat_map(|p| p.controllers.iter().enumerate())
        .map(|(i, pc)| processor_row(register, i, pc, meta))
        .collect();
    (controller, processor)
}

// ---------------------------------------------------------------------------------------------
// CSV

fn csv_field(out: &mut String, value: &str) {
    if value.contains([',', '"', '\r', '\n']) {
        out.push('"');
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

fn csv_line(out: &mut String, fields: &[String]) {
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        csv_field(out, field);
    }
    out.push_str("\r\n");
}

fn csv(register: &Register, meta: &StatementMeta) -> String {
    let mut out = String::new();
    let mut header = Vec::new();
    for (key, bilingual, _) in COLUMNS {
        if bilingual {
            header.push(format!("{key}_nl"));
            header.push(format!("{key}_en"));
        } else {
            header.push(key.to_owned());
        }
    }
    csv_line(&mut out, &header);
    let (controller, processor) = rows(register, meta);
    for row in controller.iter().chain(&processor) {
        let mut fields = Vec::new();
        for (cell, (_, bilingual, _)) in row.iter().zip(COLUMNS) {
            fields.push(cell.nl.join("\n"));
            if bilingual {
                fields.push(cell.en.join("\n"));
            }
        }
        csv_line(&mut out, &fields);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// HTML

fn html_cell(out: &mut String, cell: &Cell, bilingual: bool) {
    let list = |out: &mut String, lines: &[String]| {
        if let [one] = lines {
            out.push_str(&escape_html(one));
        } else {
            out.push_str("<ul>");
            for line in lines {
                let _ = write!(out, "<li>{}</li>", escape_html(line));
            }
            out.push_str("</ul>");
        }
    };
    if bilingual {
        out.push_str("<div lang=\"nl\"><span class=\"lang\">NL</span> ");
        list(out, &cell.nl);
        out.push_str("</div><div lang=\"en\"><span class=\"lang\">EN</span> ");
        list(out, &cell.en);
        out.push_str("</div>");
    } else {
        list(out, &cell.nl);
    }
}

fn html_table(out: &mut String, row: &Row, columns: &[usize]) {
    out.push_str("<table>\n<tbody>\n");
    for &i in columns {
        let (_, bilingual, label) = COLUMNS[i];
        let _ = write!(out, "<tr><th scope=\"row\">{}</th><td>", escape_html(label));
        html_cell(out, &row[i], bilingual);
        out.push_str("</td></tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

fn html(register: &Register, meta: &StatementMeta) -> String {
    let c = &register.controller;
    let title = format!("Record of processing activities (Art. 30 GDPR): {}", c.name);
    let mut body = format!("<header>\n<h1>{}</h1>\n", escape_html(&title));
    let _ = writeln!(
        body,
        "<p class=\"meta\">Register version {}, {}; SHA-256 {}. Texts in Dutch (NL) and English (EN).</p>\n</header>\n<main>",
        escape_html(&meta.version.to_string()),
        escape_html(&meta.date),
        escape_html(&meta.hash)
    );
    let (controller, processor) = rows(register, meta);
    body.push_str("<section id=\"art30-1\">\n<h2>Art. 30(1): processing activities as controller</h2>\n");
    for ((id, p), row) in register.purposes.iter().zip(&controller) {
        let _ = writeln!(body, "<section id=\"activity-{}\">\n<h3>{}</h3>", escape_html(id), escape_html(&p.name.en));
        html_table(
            &mut body,
            row,
            &[
                COL_ID,
                COL_CONTROLLER,
                COL_DPO,
                COL_PURPOSE,
                COL_BASIS,
                COL_SUBJECTS,
                COL_DATA,
                COL_RECIPIENTS,
                COL_TRANSFERS,
                COL_ERASURE,
                COL_SECURITY,
            ],
        );
        body.push_str("</section>\n");
    }
    body.push_str("</section>\n");
    if register.processor.is_some() {
        body.push_str("<section id=\"art30-2\">\n<h2>Art. 30(2): processing on behalf of other controllers</h2>\n");
        for (row, pc) in processor.iter().zip(register.processor.iter().flat_map(|p| &p.controllers)) {
            let _ = writeln!(body, "<section>\n<h3>{}</h3>", escape_html(&pc.name));
            html_table(
                &mut body,
                row,
                &[COL_ID, COL_PROCESSOR, COL_CONTROLLER, COL_DPO, COL_PROCESSING, COL_TRANSFERS, COL_SECURITY],
            );
            body.push_str("</section>\n");
        }
        body.push_str("</section>\n");
    }
    body.push_str("</main>\n");
    html_page(Lang::En, &title, &body)
}

// ---------------------------------------------------------------------------------------------
// JSON

#[derive(Serialize)]
struct RopaJson<'a> {
    record: &'static str,
    format_version: u32,
    register: RegisterRef<'a>,
    activities: Vec<ActivityJson<'a>>,
    processor_record: Option<ProcessorRecordJson<'a>>,
}

#[derive(Serialize)]
struct RegisterRef<'a> {
    version: u64,
    date: &'a str,
    sha256: &'a str,
}

#[derive(Serialize)]
struct ControllerJson<'a> {
    name: &'a str,
    trade_name: Option<&'a str>,
    address: Option<String>,
    email: Option<&'a str>,
    phone: Option<&'a str>,
    web_form: Option<&'a str>,
    kvk: Option<&'a str>,
    website: Option<&'a str>,
    dpo: Option<&'a crate::model::Dpo>,
}

fn controller_json(c: &Controller) -> ControllerJson<'_> {
    ControllerJson {
        name: &c.name,
        trade_name: c.trade_name.as_deref(),
        address: c.address.as_ref().map(|a| format!("{}, {} {}, {}", a.street, a.postcode, a.city, a.country)),
        email: c.contact.email.as_deref(),
        phone: c.contact.phone.as_deref(),
        web_form: c.contact.web_form.as_deref(),
        kvk: c.kvk.as_deref(),
        website: c.website.as_deref(),
        dpo: c.dpo.as_ref(),
    }
}

#[derive(Serialize)]
struct Described<'a> {
    id: &'a str,
    description: Option<&'a Text>,
}

#[derive(Serialize)]
struct PurposeJson<'a> {
    name: &'a Text,
    description: &'a Text,
}

#[derive(Serialize)]
struct BasisJson<'a> {
    basis: Option<LegalBasis>,
    article: Option<String>,
    legal_reference: Option<&'a str>,
    legitimate_interest: Option<&'a Text>,
    interest_assessment: Option<&'a Text>,
}

#[derive(Serialize)]
struct RecipientJson<'a> {
    id: &'a str,
    name: &'a str,
    role: crate::model::RecipientRole,
    country: Option<&'a str>,
    purpose: &'a Text,
    categories: Vec<&'a str>,
    processor_agreement: Option<String>,
}

#[derive(Serialize)]
struct TransferJson<'a> {
    recipient: &'a str,
    country: Option<&'a str>,
    mechanism: crate::model::TransferMechanism,
    reference: &'a str,
    safeguards_url: Option<&'a str>,
}

#[derive(Serialize)]
struct RetentionJson<'a> {
    rule: &'a str,
    categories: Vec<&'a str>,
    period: Option<String>,
    from: crate::model::RetentionEvent,
    action: crate::model::RetentionAction,
    unless: Option<&'a str>,
    legal_reference: Option<&'a str>,
    text: &'a Text,
}

#[derive(Serialize)]
struct ActivityJson<'a> {
    id: &'a str,
    /// Art. 30(1)(a)
    controller: ControllerJson<'a>,
    /// Art. 30(1)(b)
    purpose: PurposeJson<'a>,
    legal_basis: BasisJson<'a>,
    /// Art. 30(1)(c)
    data_subject_categories: Vec<Described<'a>>,
    /// Art. 30(1)(c)
    personal_data_categories: Vec<Described<'a>>,
    /// Art. 30(1)(d)
    recipients: Vec<RecipientJson<'a>>,
    /// Art. 30(1)(e)
    third_country_transfers: Vec<TransferJson<'a>>,
    /// Art. 30(1)(f)
    erasure_time_limits: Vec<RetentionJson<'a>>,
    /// Art. 30(1)(g)
    security_measures: Vec<Described<'a>>,
    source: Option<&'a Text>,
    provision: Option<&'a crate::model::Provision>,
    automated_decision: Option<&'a crate::model::AutomatedDecision>,
    direct_marketing: bool,
}

#[derive(Serialize)]
struct ProcessorRecordJson<'a> {
    /// Art. 30(2)(a): the processor is the register's controller.
    processor: ControllerJson<'a>,
    entries: Vec<ProcessorEntryJson<'a>>,
}

#[derive(Serialize)]
struct ProcessorEntryJson<'a> {
    /// Art. 30(2)(a)
    controller: ProcessorControllerJson<'a>,
    /// Art. 30(2)(b)
    processing: &'a [Text],
    /// Art. 30(2)(c)
    third_country_transfers: Vec<TransferJson<'a>>,
    /// Art. 30(2)(d)
    security_measures: Vec<&'a Text>,
}

#[derive(Serialize)]
struct ProcessorControllerJson<'a> {
    name: &'a str,
    contact: &'a str,
    representative: Option<&'a str>,
    dpo: Option<&'a str>,
    processor_agreement: Option<String>,
}

fn security_json(register: &Register) -> Vec<Described<'_>> {
    register.security.iter().map(|(id, t)| Described { id, description: Some(t) }).collect()
}

fn activity_json<'a>(register: &'a Register, id: &'a str, p: &'a PurposeDef) -> ActivityJson<'a> {
    let recipients: Vec<_> = purpose_recipients(register, p).collect();
    ActivityJson {
        id,
        controller: controller_json(&register.controller),
        purpose: PurposeJson { name: &p.name, description: &p.description },
        legal_basis: BasisJson {
            basis: p.legal_basis,
            article: p.legal_basis.map(|b| format!("6(1)({})", b.letter())),
            legal_reference: p.legal_reference.as_deref(),
            legitimate_interest: p.legitimate_interest.as_ref(),
            interest_assessment: p.interest_assessment.as_ref(),
        },
        data_subject_categories: p
            .subjects
            .iter()
            .map(|s| Described { id: s, description: register.subjects.get(s) })
            .collect(),
        personal_data_categories: p
            .categories
            .iter()
            .map(|c| Described { id: c.as_str(), description: register.categories.get(c) })
            .collect(),
        recipients: recipients
            .iter()
            .map(|(rid, r)| RecipientJson {
                id: rid,
                name: &r.name,
                role: r.role,
                country: r.country.as_ref().map(super::super::model::Country::as_str),
                purpose: &r.purpose,
                categories: r.categories.iter().map(kluis_domain::fields::Category::as_str).collect(),
                processor_agreement: r.processor_agreement.map(|d| d.to_string()),
            })
            .collect(),
        third_country_transfers: recipients
            .iter()
            .filter_map(|(_, r)| {
                r.transfer.as_ref().map(|t| TransferJson {
                    recipient: &r.name,
                    country: r.country.as_ref().map(super::super::model::Country::as_str),
                    mechanism: t.mechanism,
                    reference: &t.reference,
                    safeguards_url: t.safeguards_url.as_deref(),
                })
            })
            .collect(),
        erasure_time_limits: register
            .retention
            .iter()
            .filter(|(_, r)| r.purpose == id)
            .map(|(rule, r)| RetentionJson {
                rule,
                categories: r.categories.iter().map(kluis_domain::fields::Category::as_str).collect(),
                period: r.period.map(|p| p.to_string()),
                from: r.from,
                action: r.action,
                unless: r.unless.as_deref(),
                legal_reference: r.legal_reference.as_deref(),
                text: &r.text,
            })
            .collect(),
        security_measures: security_json(register),
        source: p.source.as_ref(),
        provision: p.provision.as_ref(),
        automated_decision: p.automated_decision.as_ref(),
        direct_marketing: p.direct_marketing,
    }
}

fn json(register: &Register, meta: &StatementMeta) -> String {
    let record = RopaJson {
        record: "kluis-ropa",
        format_version: 1,
        register: RegisterRef { version: meta.version, date: &meta.date, sha256: &meta.hash },
        activities: register.purposes.iter().map(|(id, p)| activity_json(register, id, p)).collect(),
        processor_record: register.processor.as_ref().map(|proc| ProcessorRecordJson {
            processor: controller_json(&register.controller),
            entries: proc
                .controllers
                .iter()
                .map(|pc| ProcessorEntryJson {
                    controller: ProcessorControllerJson {
                        name: &pc.name,
                        contact: &pc.contact,
                        representative: pc.representative.as_deref(),
                        dpo: pc.dpo.as_deref(),
                        processor_agreement: pc.processor_agreement.map(|d| d.to_string()),
                    },
                    processing: &pc.processing,
                    third_country_transfers: pc
                        .transfers
                        .iter()
                        .map(|t| TransferJson {
                            recipient: &t.recipient,
                            country: t.country.as_ref().map(super::super::model::Country::as_str),
                            mechanism: t.mechanism,
                            reference: &t.reference,
                            safeguards_url: t.safeguards_url.as_deref(),
                        })
                        .collect(),
                    security_measures: match &pc.security {
                        Some(t) => vec![t],
                        None => register.security.values().collect(),
                    },
                })
                .collect(),
        }),
    };
    let mut out = serde_json::to_string_pretty(&record).unwrap_or_default();
    out.push('\n');
    out
}
