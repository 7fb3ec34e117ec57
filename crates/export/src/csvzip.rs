//! The CSV files of the access export (one per entity, zipped with a README) and the shared CSV
//! writer: RFC 4180, a header row, CRLF line ends, UTF-8, and formula injection neutralised.

use std::borrow::Cow;
use std::io::{Cursor, Write as _};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use crate::ExportError;
use crate::access::{AccessExport, RegisterSource};

/// The character put in front of a cell that a spreadsheet would read as a formula.
pub const FORMULA_PREFIX: char = '\'';

/// OWASP's rule against CSV injection: a cell starting with `=`, `+`, `-`, `@`, a tab or a
/// carriage return gets a leading `'`, so a spreadsheet shows it as text instead of running it.
/// Every other cell is unchanged.
pub fn neutralise_formula(cell: &str) -> Cow<'_, str> {
    match cell.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => Cow::Owned(format!("{FORMULA_PREFIX}{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

/// A CSV file being written: RFC 4180 quoting, CRLF, every cell neutralised.
pub(crate) struct Sheet {
    writer: csv::Writer<Vec<u8>>,
}

impl Sheet {
    pub(crate) fn new(header: &[&str]) -> Result<Sheet, ExportError> {
        let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new());
        writer.write_record(header)?;
        Ok(Sheet { writer })
    }

    pub(crate) fn row<'a>(&mut self, cells: impl IntoIterator<Item = &'a str>) -> Result<(), ExportError> {
        self.writer.write_record(cells.into_iter().map(|c| neutralise_formula(c).into_owned().into_bytes()))?;
        Ok(())
    }

    pub(crate) fn finish(self) -> Result<Vec<u8>, ExportError> {
        self.writer.into_inner().map_err(|e| ExportError::Io(e.into_error()))
    }
}

fn opt(s: Option<&String>) -> &str {
    s.map_or("", String::as_str)
}

fn yes_no(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

/// Several values in one cell go on separate lines, as in the Art. 30 record's CSV.
fn lines(items: &[String]) -> String {
    items.join("\n")
}

const README: &str = "\
kluis - inzage in uw persoonsgegevens (artikel 15 AVG)
=======================================================

Dit archief is ons antwoord op uw verzoek om inzage. Het bevat een kopie van de persoonsgegevens
die wij van u verwerken, wat er met die gegevens is gedaan, en waarom wij ze verwerken. Dezelfde
informatie staat ook in de HTML-pagina en het JSON-bestand die u misschien met dit archief kreeg.

De bestanden (CSV volgens RFC 4180: UTF-8, komma als scheidingsteken, eerste regel met de
kolomnamen; een cel met meerdere waarden heeft elke waarde op een eigen regel):

  export.csv      over dit overzicht: datum, uw verzoek, versie en SHA-256 van ons register,
                  de verwerkingsverantwoordelijke, functionaris gegevensbescherming, toezichthouder
  subject.csv     uw dossier: id, soort, aangemaakt, beperkt (art. 18), gearchiveerd tot
  values.csv      uw gegevens: veld, categorie, omschrijving (NL/EN), waarde
  events.csv      wat er met uw gegevens is gedaan (ons logboek): volgnummer, tijd (UTC),
                  door wie (soort: staff = medewerker, application = applicatie,
                  system = systeem, cli = beheerder), handeling, doel, velden, resultaat
  purposes.csv    per doel: naam, omschrijving, grondslag, categorieen en velden, bron,
                  geautomatiseerde besluiten
  recipients.csv  per doel de ontvangers bij naam: rol, land, doorgifte buiten de EER
  retention.csv   per doel de bewaartermijnen
  rights.csv      uw rechten (art. 15-21 en 77 AVG)

Let op: begint een cel met =, +, -, @, een tab of een carriage return, dan staat er een
apostrof (') voor. Zo voert een spreadsheet de cel niet uit als formule. Haal die ene apostrof
weg om de oorspronkelijke waarde te krijgen; het JSON-bestand bevat de waarden zonder apostrof.
Een telefoonnummer als +31612345678 staat hier dus als '+31612345678.

Tijden zijn in UTC (RFC 3339). Vragen? Gebruik de contactgegevens in export.csv.


kluis - access to your personal data (Article 15 GDPR)
======================================================

This archive is our answer to your access request. It holds a copy of the personal data we process
about you, what was done with them, and why we process them. The same information is in the HTML
page and the JSON file you may have received with this archive.

The files (CSV per RFC 4180: UTF-8, comma-separated, first line holds the column names; a cell
with several values has each value on its own line):

  export.csv      about this overview: date, your request, version and SHA-256 of our register,
                  the controller, data protection officer, supervisory authority
  subject.csv     your record: id, kind, created, restricted (Art. 18), archived until
  values.csv      your data: field, category, label (NL/EN), value
  events.csv      what was done with your data (our log): sequence number, time (UTC),
                  by whom (kind: staff, application, system = automatic, cli = administrator),
                  action, purpose, fields, outcome
  purposes.csv    per purpose: name, description, legal basis, categories and fields, source,
                  automated decisions
  recipients.csv  per purpose the recipients by name: role, country, transfers outside the EEA
  retention.csv   per purpose the retention periods
  rights.csv      your rights (Art. 15-21 and 77 GDPR)

Note: a cell that starts with =, +, -, @, a tab or a carriage return has an apostrophe (') put in
front of it, so that a spreadsheet does not run it as a formula. Remove that one apostrophe to get
the original value; the JSON file holds the values without it. A phone number such as
+31612345678 therefore reads '+31612345678 here.

Times are in UTC (RFC 3339). Questions? Use the contact details in export.csv.
";

/// The zip's entries' modification time: the export time (DOS time, 1980-2107), else 1980-01-01.
fn zip_time(generated_at: &str) -> DateTime {
    let num = |range: std::ops::Range<usize>| generated_at.get(range).and_then(|s| s.parse::<u16>().ok());
    let parts = (num(0..4), num(5..7), num(8..10), num(11..13), num(14..16), num(17..19));
    if let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(s)) = parts {
        let byte = |v: u16| u8::try_from(v).unwrap_or(u8::MAX);
        DateTime::from_date_and_time(y, byte(mo), byte(d), byte(h), byte(mi), byte(s)).unwrap_or_default()
    } else {
        DateTime::default()
    }
}

pub(crate) fn access_zip(export: &AccessExport) -> Result<Vec<u8>, ExportError> {
    let files: [(&str, Vec<u8>); 9] = [
        ("README.txt", README.replace('\n', "\r\n").into_bytes()),
        ("export.csv", export_csv(export)?),
        ("subject.csv", subject_csv(export)?),
        ("values.csv", values_csv(export)?),
        ("events.csv", events_csv(export)?),
        ("purposes.csv", purposes_csv(export)?),
        ("recipients.csv", recipients_csv(export)?),
        ("retention.csv", retention_csv(export)?),
        ("rights.csv", rights_csv(export)?),
    ];
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(6))
        .last_modified_time(zip_time(&export.generated_at))
        .unix_permissions(0o644);
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, bytes) in &files {
        zip.start_file(*name, options)?;
        zip.write_all(bytes)?;
    }
    Ok(zip.finish()?.into_inner())
}

fn export_csv(e: &AccessExport) -> Result<Vec<u8>, ExportError> {
    let mut s = Sheet::new(&["key", "value"])?;
    let version = e.format_version.to_string();
    let register_version = e.register.version.map(|v| v.to_string());
    let source = match e.register.source {
        RegisterSource::Register => "register",
        RegisterSource::BuiltInPolicy => "built_in_policy",
    };
    let c = e.controller.as_ref();
    let dpo = c.and_then(|c| c.dpo.as_ref());
    let rows: Vec<(&str, &str)> = vec![
        ("format", &e.format),
        ("format_version", &version),
        ("generated_at", &e.generated_at),
        ("request_id", e.request.as_ref().map_or("", |r| &r.id)),
        ("request_received_at", e.request.as_ref().map_or("", |r| &r.received_at)),
        ("register_source", source),
        ("register_version", opt(register_version.as_ref())),
        ("register_sha256", opt(e.register.sha256.as_ref())),
        ("register_note_nl", &e.register.note.nl),
        ("register_note_en", &e.register.note.en),
        ("controller_name", c.map_or("", |c| &c.name)),
        ("controller_trade_name", opt(c.and_then(|c| c.trade_name.as_ref()))),
        ("controller_address", opt(c.and_then(|c| c.address.as_ref()))),
        ("controller_kvk", opt(c.and_then(|c| c.kvk.as_ref()))),
        ("controller_website", opt(c.and_then(|c| c.website.as_ref()))),
        ("controller_email", opt(c.and_then(|c| c.email.as_ref()))),
        ("controller_phone", opt(c.and_then(|c| c.phone.as_ref()))),
        ("controller_web_form", opt(c.and_then(|c| c.web_form.as_ref()))),
        ("dpo_name", dpo.map_or("", |d| &d.name)),
        ("dpo_email", opt(dpo.and_then(|d| d.email.as_ref()))),
        ("dpo_phone", opt(dpo.and_then(|d| d.phone.as_ref()))),
        ("complaint_authority", &e.complaint.authority),
        ("complaint_website", &e.complaint.website),
        ("complaint_url", opt(e.complaint.complaint_url.as_ref())),
        ("complaint_address", opt(e.complaint.address.as_ref())),
    ];
    for (k, v) in rows {
        s.row([k, v])?;
    }
    s.finish()
}

fn subject_csv(e: &AccessExport) -> Result<Vec<u8>, ExportError> {
    let mut s = Sheet::new(&["id", "kind", "created_at", "restricted", "archived_until"])?;
    let sub = &e.subject;
    s.row([sub.id.as_str(), &sub.kind, &sub.created_at, yes_no(sub.restricted), opt(sub.archived_until.as_ref())])?;
    s.finish()
}

fn values_csv(e: &AccessExport) -> Result<Vec<u8>, ExportError> {
    let mut s = Sheet::new(&["field", "category", "label_nl", "label_en", "value"])?;
    for v in &e.subject.values {
        s.row([v.field.as_str(), &v.category, &v.label.nl, &v.label.en, &v.value])?;
    }
    s.finish()
}

fn events_csv(e: &AccessExport) -> Result<Vec<u8>, ExportError> {
    let mut s = Sheet::new(&["seq", "time", "actor", "action", "purpose", "fields", "outcome"])?;
    for ev in &e.events {
        s.row([
            ev.seq.to_string().as_str(),
            &ev.time,
            &ev.actor,
            &ev.action,
            opt(ev.purpose.as_ref()),
            &lines(&ev.fields),
            &ev.outcome,
        ])?;
    }
    s.finish()
}

fn purposes_csv(e: &AccessExport) -> Result<Vec<u8>, ExportError> {
    let mut s = Sheet::new(&[
        "purpose",
        "name_nl",
        "name_en",
        "description_nl",
        "description_en",
        "legal_basis",
        "legal_basis_article",
        "legal_reference",
        "legitimate_interest_nl",
        "legitimate_interest_en",
        "withdrawal_nl",
        "withdrawal_en",
        "direct_marketing",
        "categories",
        "fields",
        "source_nl",
        "source_en",
        "automated_decision",
        "automated_logic_nl",
        "automated_logic_en",
        "automated_significance_nl",
        "automated_significance_en",
    ])?;
    for p in &e.purposes {
        let categories: Vec<String> = p.categories.iter().map(|c| c.key.clone()).collect();
        let basis = p.legal_basis.as_ref();
        let ad = &p.automated_decision;
        s.row([
            p.id.as_str(),
            &p.name.nl,
            &p.name.en,
            &p.description.nl,
            &p.description.en,
            basis.map_or("", |b| &b.basis),
            basis.map_or("", |b| &b.article),
            opt(p.legal_reference.as_ref()),
            p.legitimate_interest.as_ref().map_or("", |t| &t.nl),
            p.legitimate_interest.as_ref().map_or("", |t| &t.en),
            p.withdrawal.as_ref().map_or("", |t| &t.nl),
            p.withdrawal.as_ref().map_or("", |t| &t.en),
            yes_no(p.direct_marketing),
            &lines(&categories),
            &lines(&p.fields),
            &p.source.nl,
            &p.source.en,
            yes_no(ad.used),
            ad.logic.as_ref().map_or("", |t| &t.nl),
            ad.logic.as_ref().map_or("", |t| &t.en),
            ad.significance.as_ref().map_or("", |t| &t.nl),
            ad.significance.as_ref().map_or("", |t| &t.en),
        ])?;
    }
    s.finish()
}

fn recipients_csv(e: &AccessExport) -> Result<Vec<u8>, ExportError> {
    let mut s = Sheet::new(&[
        "purpose",
        "recipient",
        "name",
        "role",
        "activity_nl",
        "activity_en",
        "country",
        "outside_eea",
        "transfer_mechanism",
        "transfer_reference",
        "safeguards_url",
        "categories",
        "privacy_statement",
    ])?;
    for p in &e.purposes {
        for r in &p.recipients {
            let transfer = r.transfer.as_ref();
            s.row([
                p.id.as_str(),
                &r.id,
                &r.name,
                &r.role,
                &r.purpose.nl,
                &r.purpose.en,
                opt(r.country.as_ref()),
                yes_no(r.outside_eea),
                transfer.map_or("", |t| &t.mechanism),
                transfer.map_or("", |t| &t.reference),
                opt(transfer.and_then(|t| t.safeguards_url.as_ref())),
                &lines(&r.categories),
                opt(r.privacy_statement.as_ref()),
            ])?;
        }
    }
    s.finish()
}

fn retention_csv(e: &AccessExport) -> Result<Vec<u8>, ExportError> {
    let mut s = Sheet::new(&[
        "purpose",
        "rule",
        "period",
        "from",
        "action",
        "unless",
        "legal_reference",
        "categories",
        "summary_nl",
        "summary_en",
        "text_nl",
        "text_en",
    ])?;
    for p in &e.purposes {
        for r in &p.retention {
            s.row([
                p.id.as_str(),
                &r.id,
                opt(r.period.as_ref()),
                &r.from,
                &r.action,
                opt(r.unless.as_ref()),
                opt(r.legal_reference.as_ref()),
                &lines(&r.categories),
                &r.summary.nl,
                &r.summary.en,
                &r.text.nl,
                &r.text.en,
            ])?;
        }
    }
    s.finish()
}

fn rights_csv(e: &AccessExport) -> Result<Vec<u8>, ExportError> {
    let mut s =
        Sheet::new(&["article", "name_nl", "name_en", "description_nl", "description_en", "applies", "purposes"])?;
    for r in &e.rights {
        s.row([
            r.article.as_str(),
            &r.name.nl,
            &r.name.en,
            &r.description.nl,
            &r.description.en,
            yes_no(r.applies),
            &lines(&r.purposes),
        ])?;
    }
    s.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_get_an_apostrophe() {
        for bad in ["=1+1", "+31612345678", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(neutralise_formula(bad), format!("'{bad}"));
        }
        for fine in ["", "a=b", "'", "1-2", " =x", "\n=x"] {
            assert_eq!(neutralise_formula(fine), fine);
        }
    }

    #[test]
    fn zip_time_from_the_export_time() {
        let t = zip_time("2024-05-01T12:34:56.789Z");
        assert_eq!((t.year(), t.month(), t.day(), t.hour(), t.minute(), t.second()), (2024, 5, 1, 12, 34, 56));
        assert_eq!(zip_time("1970-01-01T00:00:00.000Z"), DateTime::default());
    }
}
