//! Data-subject requests (Art. 12-22): intake, the identity-verification ladder, legal due dates,
//! the state machine with its timeline, the notices, and the fulfilment of every right.
//!
//! Every request has its own data key (wrapped under the current KEK, associated data
//! `aad::request_key`); the requester's address, the details, free-text notes, a quarantined ID
//! document and the exports are sealed under it with `aad::request_item` naming the item. Codes
//! and download tokens are kept as hashes. Every step is a timeline entry and an audit event
//! (`request.*`, target `request:<id>`).

mod transmit;
pub use transmit::{TransmitError, TransmitReceipt, TransmitSettings, parse_target, transmit};
mod types;

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::Arc;

use kluis_crypto::{SecretKey, aad, ct_eq, open, random_token, seal, sha256, token_hash, unwrap_key, wrap_key};
use kluis_domain::access::Permission;
use kluis_domain::audit::{Action, Actor, AuditContext, AuditEvent, Outcome};
use kluis_domain::deadline::{self, PromisedPeriod, Urgency};
use kluis_domain::fields::IndexName;
use kluis_domain::request::{
    CODE_MAX_ATTEMPTS, CODE_VALID_MINUTES, Channel, RequestKind, RequestState, TimelineKind, Verification,
};
use kluis_domain::{RequestId, SubjectId, Timestamp};
use kluis_export::{AccessExport, EventInput, PortabilityExport, RegisterInput, SubjectInput, ValueInput, at_rest};
use kluis_mail::{Message, Notice, RefusalReason, RequestRef, Sender};
use kluis_register::{LegalBasis, Register, RetentionAction, RetentionEvent};
use kluis_store::{
    Archive, ArchiveChange, RequestCode, RequestRecord, SealedSecret, Store, StoredExport, StoredUpload, TimelineEntry,
};
use time::Date;
use zeroize::Zeroizing;

pub use types::{
    Download, IdDocument, NewRequest, NoticeLang, PortalStatus, RequestError, RequestFilter, RequestSettings,
    RequestView, TimelineView,
};

use crate::{Vault, VaultError, categories_of};

/// The longest free text accepted (details, reasons, a justification).
const MAX_TEXT: usize = 4_000;
/// The purpose every fulfilment step is recorded under.
pub const REQUEST_PURPOSE: &str = "data_subject_request";

fn invalid(code: &'static str, en: impl Into<String>, nl: impl Into<String>) -> VaultError {
    VaultError::Request(RequestError::Invalid { code, en: en.into(), nl: nl.into() })
}

fn req_err(e: RequestError) -> VaultError {
    VaultError::Request(e)
}

/// The day of `at` in Amsterdam as stored (`YYYY-MM-DD`).
fn day_text(date: Date) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day())
}

fn parse_day(text: &str) -> Result<Date, VaultError> {
    let corrupt = || VaultError::Store(kluis_store::StoreError::Corrupt("request due date".into()));
    let mut parts = text.splitn(3, '-');
    let mut next = || parts.next().and_then(|p| p.parse::<i32>().ok()).ok_or_else(corrupt);
    let (year, month, day) = (next()?, next()?, next()?);
    let month = u8::try_from(month).ok().and_then(|m| time::Month::try_from(m).ok()).ok_or_else(corrupt)?;
    let day = u8::try_from(day).map_err(|_| corrupt())?;
    Date::from_calendar_date(year, month, day).map_err(|_| corrupt())
}

fn text_input(raw: Option<String>, member: &'static str) -> Result<Option<String>, VaultError> {
    let Some(raw) = raw else { return Ok(None) };
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    if trimmed.chars().count() > MAX_TEXT {
        return Err(invalid(
            "text_too_long",
            format!("`{member}` is longer than {MAX_TEXT} characters"),
            format!("`{member}` is langer dan {MAX_TEXT} tekens"),
        ));
    }
    Ok(Some(trimmed.to_owned()))
}

fn mail_lang(lang: NoticeLang) -> kluis_mail::Lang {
    match lang {
        NoticeLang::Nl => kluis_mail::Lang::Nl,
        NoticeLang::En => kluis_mail::Lang::En,
        NoticeLang::Both => kluis_mail::Lang::Both,
    }
}

fn refusal_reason(code: &str) -> Option<RefusalReason> {
    Some(match code {
        "manifestly_unfounded" => RefusalReason::ManifestlyUnfounded,
        "excessive" => RefusalReason::Excessive,
        "rights_of_others" => RefusalReason::RightsOfOthers,
        "legal_obligation" => RefusalReason::LegalObligation,
        "legal_claims" => RefusalReason::LegalClaims,
        "compelling_grounds" => RefusalReason::CompellingGrounds,
        _ => return None,
    })
}

/// The actor of a timeline entry: the audit actor, or `requester` for the person themselves.
fn actor_of(ctx: &AuditContext) -> String {
    match ctx.actor {
        Actor::Anonymous => "requester".to_owned(),
        ref other => other.encode(),
    }
}

/// The stored hash of a code: bound to the request, so a code hash cannot be moved to another.
fn code_hash(id: RequestId, code: &str) -> [u8; 32] {
    let mut input = Vec::with_capacity(16 + code.len());
    input.extend_from_slice(id.as_bytes());
    input.extend_from_slice(code.as_bytes());
    sha256(&input)
}

/// What an erasure keeps: for each kept field, the purpose and statute, and until when.
#[derive(Debug, Clone)]
struct Kept {
    field: String,
    purpose: String,
    legal_reference: Option<String>,
    until: Date,
}

/// The values an erasure must keep under a legal obligation (Art. 17(3)(b)): a value whose
/// category a purpose with legal basis `legal_obligation` covers, when a retention rule of that
/// purpose (not `delete` at once) runs from the end of the fiscal year, the end of the contract or
/// the collection: kept until the end of the current fiscal (calendar) year (or today, for the
/// other two) plus the rule's period. Rules that run from events that may not have happened for
/// this subject (a closed case, a call) keep nothing. Everything else goes.
fn kept_values(register: Option<&Register>, fields: &[(String, String)], today: Date) -> Vec<Kept> {
    let Some(register) = register else { return Vec::new() };
    let mut kept = Vec::new();
    for (field, category) in fields {
        let mut best: Option<Kept> = None;
        for (key, purpose) in &register.purposes {
            if purpose.legal_basis != Some(LegalBasis::LegalObligation) {
                continue;
            }
            if !purpose.categories.iter().any(|c| kluis_export::category_within(category, c.as_str())) {
                continue;
            }
            for rule in register.retention.values().filter(|r| &r.purpose == key) {
                if !rule.categories.is_empty()
                    && !rule.categories.iter().any(|c| kluis_export::category_within(category, c.as_str()))
                {
                    continue;
                }
                let Some(period) = rule.period else { continue };
                if matches!(rule.action, RetentionAction::Delete) && period.amount == 0 {
                    continue;
                }
                // Only obligations that hold for every subject: a rule that runs from an event that
                // may never have happened for this one (a closed police case, a call) keeps nothing.
                let start = match rule.from {
                    RetentionEvent::EndOfFiscalYear => {
                        Date::from_calendar_date(today.year(), time::Month::December, 31).unwrap_or(today)
                    }
                    RetentionEvent::ContractEnd | RetentionEvent::Collection => today,
                    _ => continue,
                };
                let until = add_period(start, period);
                if best.as_ref().is_none_or(|b| until > b.until) {
                    best = Some(Kept {
                        field: field.clone(),
                        purpose: key.clone(),
                        legal_reference: rule.legal_reference.clone().or_else(|| purpose.legal_reference.clone()),
                        until,
                    });
                }
            }
        }
        kept.extend(best);
    }
    kept
}

fn add_period(start: Date, period: kluis_register::Period) -> Date {
    use kluis_register::PeriodUnit;
    match period.unit {
        PeriodUnit::Days => start.saturating_add(time::Duration::days(i64::from(period.amount))),
        PeriodUnit::Weeks => start.saturating_add(time::Duration::weeks(i64::from(period.amount))),
        PeriodUnit::Months => deadline::add_months_clamped(start, period.amount),
        PeriodUnit::Years => deadline::add_months_clamped(start, period.amount.saturating_mul(12)),
    }
}

fn end_of_day_ms(date: Date) -> Timestamp {
    let dt = date.with_hms(23, 59, 59).unwrap_or(date.midnight()).assume_utc();
    Timestamp::from_millis(i64::try_from(dt.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX))
}

/// Recipients (by register key) whose categories overlap the given categories and who receive
/// data of a purpose covering them: the ones to tell of a rectification or erasure (Art. 19).
fn recipients_for(register: Option<&Register>, categories: &[String]) -> Vec<String> {
    let Some(register) = register else { return Vec::new() };
    let mut out = BTreeSet::new();
    for purpose in register.purposes.values() {
        let covers = categories
            .iter()
            .any(|cat| purpose.categories.iter().any(|c| kluis_export::category_within(cat, c.as_str())));
        if !covers {
            continue;
        }
        for key in &purpose.recipients {
            let Some(recipient) = register.recipients.get(key) else { continue };
            let overlaps = recipient.categories.is_empty()
                || categories.iter().any(|cat| {
                    recipient.categories.iter().any(|c| {
                        kluis_export::category_within(cat, c.as_str()) || kluis_export::category_within(c.as_str(), cat)
                    })
                });
            if overlaps {
                out.insert(key.clone());
            }
        }
    }
    out.into_iter().collect()
}

/// The sniffed type of an upload: JPEG, PNG or PDF, by magic bytes.
/// Audit events as an access export shows them: each stored event read into the few members the
/// export names (borrowing its strings), the actor as a kind, never an identity.
fn shown_events(batch: &[kluis_store::StoredAuditEvent]) -> Vec<EventInput> {
    #[derive(serde::Deserialize)]
    struct Shown<'a> {
        #[serde(default)]
        time: i64,
        #[serde(borrow, default)]
        actor: Cow<'a, str>,
        #[serde(borrow, default)]
        action: Cow<'a, str>,
        #[serde(borrow, default)]
        purpose: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        fields: Vec<Cow<'a, str>>,
        #[serde(borrow, default)]
        outcome: Cow<'a, str>,
    }
    batch
        .iter()
        .filter_map(|stored| {
            let shown = serde_json::from_slice::<Shown<'_>>(&stored.event).ok()?;
            let actor = match shown.actor.split(':').next().unwrap_or_default() {
                "account" => "staff",
                "token" => "application",
                "cli" => "cli",
                "anonymous" => "requester",
                _ => "system",
            };
            Some(EventInput {
                seq: stored.seq,
                time_ms: shown.time,
                actor: actor.to_owned(),
                action: shown.action.into_owned(),
                purpose: shown.purpose.map(Cow::into_owned),
                fields: shown.fields.into_iter().map(Cow::into_owned).collect(),
                outcome: shown.outcome.into_owned(),
            })
        })
        .collect()
}

/// An export as it is sealed: compressed unless its format already is (`kluis_export::at_rest`).
fn stored_form(format: &str, bytes: Vec<u8>) -> Zeroizing<Vec<u8>> {
    let bytes = Zeroizing::new(bytes);
    if at_rest::compresses(format) { Zeroizing::new(at_rest::pack(&bytes)) } else { bytes }
}

/// An export the builder refused (a time outside RFC 3339's years): the stored data are wrong.
#[allow(clippy::needless_pass_by_value, reason = "the shape `map_err` calls")]
fn export_err(e: kluis_export::ExportError) -> VaultError {
    VaultError::Store(kluis_store::StoreError::Corrupt(e.to_string()))
}

/// Exports by format, each in its stored form.
type StoredForms = Vec<(&'static str, Zeroizing<Vec<u8>>)>;

/// The three formats of an access export in their stored form, rendered side by side.
fn render_access(export: &AccessExport, lang: kluis_register::Lang) -> Result<StoredForms, VaultError> {
    std::thread::scope(|scope| {
        let html = scope.spawn(|| stored_form("html", export.to_html(lang).into_bytes()));
        let zip = scope.spawn(|| stored_form("csv_zip", export.to_csv_zip()));
        // Straight into the compressor: the plaintext JSON never exists whole in memory.
        let json = Zeroizing::new(
            at_rest::pack_with(|w| export.write_json(w)).expect("an access export serialises into memory"),
        );
        let joined = |h: std::thread::ScopedJoinHandle<'_, Zeroizing<Vec<u8>>>| {
            h.join()
                .map_err(|_| VaultError::Store(kluis_store::StoreError::Backend("rendering an export panicked".into())))
        };
        Ok(vec![("json", json), ("csv_zip", joined(zip)?), ("html", joined(html)?)])
    })
}

fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else {
        None
    }
}

/// A loaded request with its key, for one operation.
struct Loaded {
    record: RequestRecord,
    key: Option<SecretKey>,
}

impl<S: Store> Vault<S> {
    // ---------------------------------------------------------------- keys and sealing

    fn new_request_key(&self, id: RequestId) -> Result<(SecretKey, SealedSecret), VaultError> {
        let key = SecretKey::generate()?;
        let kek_version = self.keyring.current_kek_version();
        let kek =
            self.keyring.kek(kek_version).ok_or_else(|| VaultError::KeyringCorrupt("current KEK missing".into()))?;
        let sealed = wrap_key(kek, &key, &aad::request_key(id.as_bytes(), kek_version))?;
        Ok((key, SealedSecret { kek_version, sealed }))
    }

    fn open_request_key(&self, r: &RequestRecord) -> Result<Option<SecretKey>, VaultError> {
        let Some(wrapped) = &r.data_key else { return Ok(None) };
        let damaged = || VaultError::KeyringCorrupt(format!("the key of request {} does not open", r.id));
        let kek = self.keyring.kek(wrapped.kek_version).ok_or_else(damaged)?;
        let key = unwrap_key(kek, &wrapped.sealed, &aad::request_key(r.id.as_bytes(), wrapped.kek_version))
            .map_err(|_| damaged())?;
        Ok(Some(key))
    }

    fn seal_item(key: &SecretKey, id: RequestId, item: &str, bytes: &[u8]) -> Result<Vec<u8>, VaultError> {
        Ok(seal(key, &aad::request_item(id.as_bytes(), item), bytes)?)
    }

    fn open_item(key: &SecretKey, id: RequestId, item: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        open(key, &aad::request_item(id.as_bytes(), item), sealed)
            .map_err(|_| VaultError::KeyringCorrupt(format!("item {item} of request {id} does not open")))
    }

    fn open_text(key: &SecretKey, id: RequestId, item: &str, sealed: &[u8]) -> Result<Zeroizing<String>, VaultError> {
        let bytes = Self::open_item(key, id, item, sealed)?;
        String::from_utf8(bytes.to_vec())
            .map(Zeroizing::new)
            .map_err(|_| VaultError::KeyringCorrupt(format!("item {item} of request {id} is not text")))
    }

    fn note_item(at: Timestamp, kind: TimelineKind) -> String {
        format!("note.{}.{}", at.as_millis(), kind.as_str())
    }

    // ---------------------------------------------------------------- building blocks

    async fn load_request(&self, id: RequestId) -> Result<Loaded, VaultError> {
        let record = self.store.request(id).await?.ok_or(req_err(RequestError::NotFound(id)))?;
        let key = self.open_request_key(&record)?;
        Ok(Loaded { record, key })
    }

    fn entry(
        &self,
        ctx: &AuditContext,
        loaded: &Loaded,
        kind: TimelineKind,
        state: RequestState,
        detail: Option<&str>,
        note: Option<&str>,
    ) -> Result<TimelineEntry, VaultError> {
        let at = self.clock.now();
        let note = match (note, &loaded.key) {
            (Some(text), Some(key)) => {
                Some(Self::seal_item(key, loaded.record.id, &Self::note_item(at, kind), text.as_bytes())?)
            }
            _ => None,
        };
        Ok(TimelineEntry { at, kind, actor: actor_of(ctx), state, detail: detail.map(str::to_owned), note })
    }

    fn request_event(
        &self,
        ctx: &AuditContext,
        action: Action,
        r: &RequestRecord,
        reason: &'static str,
        outcome: Outcome,
    ) -> AuditEvent {
        let mut ctx = ctx.clone();
        if ctx.purpose.is_none() {
            ctx.purpose = kluis_domain::Purpose::parse(REQUEST_PURPOSE).ok();
        }
        ctx.event(self.clock.now(), action, r.subject, &[], &[], outcome).with_reason(reason).with_request(r.id)
    }

    /// Stores `next` (checked against the loaded revision) with its entries and events.
    async fn save(
        &self,
        loaded: &Loaded,
        next: &RequestRecord,
        entries: &[TimelineEntry],
        events: &[AuditEvent],
    ) -> Result<(), VaultError> {
        if self.store.update_request(next, loaded.record.revision, entries, events).await? {
            Ok(())
        } else {
            Err(req_err(RequestError::Conflict))
        }
    }

    fn transition(r: &RequestRecord, to: RequestState) -> Result<RequestState, VaultError> {
        r.state.to(to).map_err(|e| req_err(RequestError::Transition { from: e.from, to: e.to }))
    }

    fn today(&self) -> Date {
        deadline::amsterdam_date(self.clock.now())
    }

    /// The register in force (the policy's), parsed once per version, not per notice.
    fn register(&self) -> Option<Arc<(kluis_store::StoredRegisterVersion, Register)>> {
        self.register_in_force()
    }

    fn sender(&self, register: Option<&Register>) -> Sender {
        let settings = &self.requests.settings;
        match register {
            Some(reg) => Sender {
                controller: reg.controller.trade_name.clone().unwrap_or_else(|| reg.controller.name.clone()),
                contact_email: reg.controller.contact.email.clone().unwrap_or_else(|| settings.sender_email.clone()),
                postal_address: reg
                    .controller
                    .address
                    .as_ref()
                    .map(|a| format!("{}, {} {}", a.street, a.postcode, a.city)),
                website: reg.controller.website.clone(),
            },
            None => Sender {
                controller: settings.sender_name.clone(),
                contact_email: settings.sender_email.clone(),
                postal_address: None,
                website: None,
            },
        }
    }

    /// Mails `notice` to the requester; returns the timeline entry saying it was sent or failed.
    /// Never returns the address or the server's reply.
    async fn mail(
        &self,
        ctx: &AuditContext,
        loaded: &Loaded,
        state: RequestState,
        notice: Notice,
    ) -> Result<TimelineEntry, VaultError> {
        let name = notice.name();
        let (Some(key), Some(sealed)) = (&loaded.key, &loaded.record.contact) else {
            return Err(req_err(RequestError::NoContact));
        };
        let Some(mailer) = &self.requests.mailer else {
            return self.entry(ctx, loaded, TimelineKind::MailFailed, state, Some(name), None);
        };
        let to = Self::open_text(key, loaded.record.id, "contact", sealed)?;
        let register = self.register();
        let sender = self.sender(register.as_ref().map(|rv| &rv.1));
        let lang = NoticeLang::parse(&loaded.record.lang).unwrap_or(NoticeLang::Nl);
        let message = Message::compose(&to, mail_lang(lang), &sender, &notice)
            .map_err(|e| req_err(RequestError::Mail(e.to_string())))?;
        match mailer.send(&message).await {
            Ok(_) => self.entry(ctx, loaded, TimelineKind::MailSent, state, Some(name), None),
            Err(e) => {
                tracing::warn!(request = %loaded.record.id, notice = name, error = %e, "a notice could not be mailed");
                self.entry(ctx, loaded, TimelineKind::MailFailed, state, Some(name), None)
            }
        }
    }

    /// Mails `notice` to the requester once the step it reports is durable, and records the
    /// outcome on the timeline. A notice never announces a step that did not happen; a mail that
    /// fails is recorded (`mail_failed`) and the step stands. Without a contact address, nothing.
    async fn mail_after(
        &self,
        ctx: &AuditContext,
        loaded: &Loaded,
        state: RequestState,
        notice: Notice,
    ) -> Result<(), VaultError> {
        if loaded.record.contact.is_none() {
            return Ok(());
        }
        let entry = self.mail(ctx, loaded, state, notice).await?;
        Ok(self.store.append_timeline(loaded.record.id, &[entry], &[]).await?)
    }

    /// Art. 19: tells every recipient of the affected categories that has a `notify` address in
    /// the register what changed, once the change is durable, and records each recipient on the
    /// timeline: `<key>:sent`, `<key>:failed`, or `<key>:no_address` (recorded, not delivered).
    /// The notice names the subject by its kluis id and the categories, never a value.
    async fn notify_recipients(
        &self,
        ctx: &AuditContext,
        loaded: &Loaded,
        state: RequestState,
        subject: SubjectId,
        categories: &[String],
    ) -> Result<(), VaultError> {
        let r = &loaded.record;
        let Some(change) = kluis_mail::RecipientChange::for_request(r.kind) else { return Ok(()) };
        let register = self.register();
        let reg = register.as_ref().map(|rv| &rv.1);
        let recipients = recipients_for(reg, categories);
        if recipients.is_empty() {
            return Ok(());
        }
        let sender = self.sender(reg);
        let mut entries = Vec::with_capacity(recipients.len());
        let mut events = Vec::with_capacity(recipients.len());
        for key in recipients {
            let recipient = reg.and_then(|reg| reg.recipients.get(&key));
            let outcome = match (recipient.and_then(|x| x.notify.as_deref()), &self.requests.mailer) {
                (None, _) => "no_address",
                (Some(_), None) => "failed",
                (Some(to), Some(mailer)) => {
                    let notice = Notice::RecipientUpdate {
                        request: Self::mail_ref(r),
                        recipient: recipient.map(|x| x.name.clone()).unwrap_or_default(),
                        subject: subject.to_string(),
                        change,
                        categories: categories.to_vec(),
                    };
                    match Message::compose(to, kluis_mail::Lang::Both, &sender, &notice) {
                        Ok(message) => match mailer.send(&message).await {
                            Ok(_) => "sent",
                            Err(e) => {
                                tracing::warn!(request = %r.id, recipient = %key, error = %e, "an Art. 19 notice could not be mailed");
                                "failed"
                            }
                        },
                        Err(e) => {
                            tracing::warn!(request = %r.id, recipient = %key, error = %e, "an Art. 19 notice could not be composed");
                            "failed"
                        }
                    }
                }
            };
            let detail = format!("{key}:{outcome}");
            entries.push(self.entry(ctx, loaded, TimelineKind::RecipientNotified, state, Some(&detail), None)?);
            let reason = match outcome {
                "sent" => "recipient_notified",
                "failed" => "recipient_notice_failed",
                _ => "recipient_without_address",
            };
            events.push(self.request_event(ctx, Action::RequestUpdate, r, reason, Outcome::Success));
        }
        Ok(self.store.append_timeline(r.id, &entries, &events).await?)
    }

    fn mail_ref(r: &RequestRecord) -> RequestRef {
        RequestRef { reference: r.id.to_string(), kind: r.kind }
    }

    /// The register's promised response time, if shorter promises are made.
    fn promise(&self) -> Option<PromisedPeriod> {
        use kluis_register::PeriodUnit;
        self.register().and_then(|rv| rv.1.rights.response_time).map(|p| match p.unit {
            PeriodUnit::Days => PromisedPeriod::Days(p.amount),
            PeriodUnit::Weeks => PromisedPeriod::Weeks(p.amount),
            PeriodUnit::Months => PromisedPeriod::Months(p.amount),
            PeriodUnit::Years => PromisedPeriod::Months(p.amount.saturating_mul(12)),
        })
    }

    /// Validates and normalises an e-mail address with the catalogue's validator.
    fn email_input(&self, raw: Option<String>) -> Result<Option<Zeroizing<String>>, VaultError> {
        let Some(raw) = raw else { return Ok(None) };
        if raw.trim().is_empty() {
            return Ok(None);
        }
        match self.catalogue.parse_value("email", raw.trim()) {
            Ok(v) => Ok(Some(Zeroizing::new(v.as_str().to_owned()))),
            Err(_) => Err(invalid(
                "invalid_email",
                "`email` is not a valid e-mail address",
                "`email` is geen geldig e-mailadres",
            )),
        }
    }

    /// The subjects whose e-mail index matches `email` (no audit: the caller records the step).
    async fn subjects_by_email(&self, email: &str) -> Result<Vec<SubjectId>, VaultError> {
        let term = kluis_domain::fields::lookup_term(&self.catalogue, IndexName::Email, &[email])
            .map_err(VaultError::InvalidLookup)?;
        let entry = self.digest(IndexName::Email, &term)?;
        Ok(self.store.subject_ids_by_index(&entry).await?)
    }

    /// The e-mail address on file for a subject, decrypted for a notice.
    async fn email_on_file(&self, id: SubjectId) -> Result<Option<Zeroizing<String>>, VaultError> {
        let Some(record) = self.store.load_subject(id).await? else { return Ok(None) };
        let subject = self.decrypt(&record, None)?;
        Ok(subject.values.get("email").map(|v| Zeroizing::new(v.as_str().to_owned())))
    }

    fn view(&self, loaded: &Loaded, timeline: Vec<TimelineView>, full: bool) -> Result<RequestView, VaultError> {
        let r = &loaded.record;
        let due = r.extended_to.as_deref().unwrap_or(&r.due_on);
        let urgency =
            if r.state.is_closed() { "closed" } else { deadline::urgency(self.today(), parse_day(due)?).code() };
        let (email, details) = match (&loaded.key, full) {
            (Some(key), true) => (
                r.contact.as_ref().map(|c| Self::open_text(key, r.id, "contact", c)).transpose()?,
                r.details.as_ref().map(|d| Self::open_text(key, r.id, "details", d)).transpose()?,
            ),
            _ => (None, None),
        };
        Ok(RequestView {
            id: r.id,
            kind: r.kind,
            state: r.state,
            channel: r.channel,
            lang: NoticeLang::parse(&r.lang).unwrap_or(NoticeLang::Nl),
            subject: r.subject,
            purpose: r.purpose.clone(),
            received_at: r.received_at,
            due_on: r.due_on.clone(),
            extended_to: r.extended_to.clone(),
            urgency,
            verification: r.verification,
            verified_at: r.verified_at,
            closed_at: r.closed_at,
            id_upload_allowed: r.id_upload_allowed,
            id_uploaded: false,
            email: email.map(|e| e.to_string()),
            details: details.map(|d| d.to_string()),
            timeline,
        })
    }

    async fn full_view(&self, loaded: &Loaded) -> Result<RequestView, VaultError> {
        let entries = self.store.request_timeline(loaded.record.id).await?;
        let mut timeline = Vec::with_capacity(entries.len());
        for e in entries {
            let note = match (&e.note, &loaded.key) {
                (Some(sealed), Some(key)) => {
                    Some(Self::open_text(key, loaded.record.id, &Self::note_item(e.at, e.kind), sealed)?.to_string())
                }
                _ => None,
            };
            timeline.push(TimelineView {
                at: e.at,
                kind: e.kind,
                actor: e.actor,
                state: e.state,
                detail: e.detail,
                note,
            });
        }
        let mut view = self.view(loaded, timeline, true)?;
        view.id_uploaded = self.store.upload(loaded.record.id).await?.is_some();
        Ok(view)
    }

    // ---------------------------------------------------------------- intake

    /// Registers a request. Portal: the address is required and a code is mailed to it (the same
    /// answer whether or not kluis knows the address). API: an application vouches for its
    /// logged-in customer (`subject` required): verified at once, notices go to the address on
    /// file. Staff: address and subject optional; verification follows (`send_code`,
    /// `enable_id_upload`).
    #[allow(clippy::too_many_lines, reason = "the three channels side by side read best")]
    pub async fn submit_request(&self, ctx: &AuditContext, new: NewRequest) -> Result<RequestView, VaultError> {
        let NewRequest { kind, channel, lang, email, subject, purpose, details, changes } = new;
        let email = self.email_input(email)?;
        let details = text_input(details, "details")?;
        let purpose = match (kind.needs_purpose(), purpose.filter(|p| !p.trim().is_empty())) {
            (true, None) => {
                return Err(invalid(
                    "purpose_required",
                    "an objection or withdrawal names the purpose (`purpose`)",
                    "een bezwaar of intrekking noemt het doel (`purpose`)",
                ));
            }
            (true, Some(p)) => {
                let parsed = kluis_domain::Purpose::parse(&p).map_err(|_| {
                    invalid("unknown_purpose", "`purpose` is not a purpose key", "`purpose` is geen doel")
                })?;
                if self.policy().categories(&parsed).is_none() {
                    return Err(invalid(
                        "unknown_purpose",
                        "`purpose` is not a purpose of the register",
                        "`purpose` is geen doel uit het register",
                    ));
                }
                Some(parsed.as_str().to_owned())
            }
            (false, _) => None,
        };
        if !changes.is_empty() && kind != RequestKind::Rectification {
            return Err(invalid(
                "changes_not_allowed",
                "`changes` belong to a rectification request only",
                "`changes` horen alleen bij een verzoek om rectificatie",
            ));
        }
        match channel {
            Channel::Portal if email.is_none() => {
                return Err(invalid("email_required", "`email` is required", "`email` is verplicht"));
            }
            Channel::Api if subject.is_none() => {
                return Err(invalid(
                    "subject_required",
                    "an application files a request for its logged-in customer: `subject` is required",
                    "een applicatie dient een verzoek in voor haar ingelogde klant: `subject` is verplicht",
                ));
            }
            _ => {}
        }
        if let Some(s) = subject
            && self.store.load_subject(s).await?.is_none()
        {
            return Err(VaultError::NotFound(s));
        }

        let now = self.clock.now();
        let id = RequestId::generate();
        let (key, wrapped) = self.new_request_key(id)?;
        // The address notices go to: the one given, else (API, staff) the one on file.
        let contact = match (&email, subject) {
            (Some(e), _) => Some(e.clone()),
            (None, Some(s)) => self.email_on_file(s).await?,
            (None, None) => None,
        };
        let mut details_json = serde_json::Map::new();
        if let Some(d) = &details {
            details_json.insert("text".into(), serde_json::Value::String(d.clone()));
        }
        if !changes.is_empty() {
            let map: serde_json::Map<String, serde_json::Value> = changes
                .iter()
                .map(|(f, v)| (f.clone(), v.clone().map_or(serde_json::Value::Null, serde_json::Value::String)))
                .collect();
            details_json.insert("changes".into(), serde_json::Value::Object(map));
        }
        let details_sealed = if details_json.is_empty() {
            None
        } else {
            let bytes = Zeroizing::new(serde_json::to_vec(&details_json).unwrap_or_default());
            Some(Self::seal_item(&key, id, "details", &bytes)?)
        };
        let due = deadline::due_date(deadline::amsterdam_date(now), self.promise());
        let (state, verification, verified_at) = match channel {
            Channel::Api => (RequestState::InProgress, Some(Verification::Application), Some(now)),
            Channel::Portal => (RequestState::Verifying, None, None),
            Channel::Staff => (RequestState::Received, None, None),
        };
        let record = RequestRecord {
            id,
            kind,
            state,
            channel,
            lang: lang.as_str().to_owned(),
            subject,
            purpose,
            received_at: now,
            due_on: day_text(due),
            extended_to: None,
            verification,
            verified_at,
            closed_at: None,
            id_upload_allowed: false,
            data_key: Some(wrapped),
            contact: contact.as_ref().map(|c| Self::seal_item(&key, id, "contact", c.as_bytes())).transpose()?,
            details: details_sealed,
            revision: 1,
        };
        let loaded = Loaded { record, key: Some(key) };
        let mut entries = vec![self.entry(
            ctx,
            &loaded,
            TimelineKind::Received,
            RequestState::Received,
            Some(channel.as_str()),
            None,
        )?];
        if let Some(v) = verification {
            entries.push(self.entry(ctx, &loaded, TimelineKind::Verified, state, Some(v.as_str()), None)?);
        }
        let mut events =
            vec![self.request_event(ctx, Action::RequestCreate, &loaded.record, kind.as_str(), Outcome::Success)];
        if subject.is_some() && email.is_none() && contact.is_some() {
            // The address on file was read for the notices.
            let fields = ["email"];
            let mut read = ctx.clone();
            read.purpose = kluis_domain::Purpose::parse(REQUEST_PURPOSE).ok();
            events.push(
                read.event(
                    now,
                    Action::SubjectRead,
                    subject,
                    &fields,
                    &categories_of(&self.catalogue, &fields),
                    Outcome::Success,
                )
                .with_reason("request_contact")
                .with_request(id),
            );
        }
        self.store.create_request(&loaded.record, &entries, &events).await?;

        // Notices after the request is durable: a failed mail never loses the request.
        let mut loaded = loaded;
        loaded.record.revision = 1;
        match channel {
            Channel::Portal => {
                self.issue_code(ctx, &mut loaded).await?;
            }
            Channel::Api if loaded.record.contact.is_some() => {
                let notice = Notice::Received {
                    request: Self::mail_ref(&loaded.record),
                    received: deadline::amsterdam_date(now),
                    due,
                };
                let entry = self.mail(ctx, &loaded, state, notice).await?;
                self.store.append_timeline(id, &[entry], &[]).await?;
            }
            _ => {}
        }
        let loaded = self.load_request(id).await?;
        self.full_view(&loaded).await
    }

    /// Mails a fresh code (replacing any earlier one) and moves the request to `verifying`.
    async fn issue_code(&self, ctx: &AuditContext, loaded: &mut Loaded) -> Result<(), VaultError> {
        let r = &loaded.record;
        if r.contact.is_none() {
            return Err(req_err(RequestError::NoContact));
        }
        let next_state = Self::transition(r, RequestState::Verifying)?;
        let sent = self.store.request_timeline(r.id).await?.iter().filter(|e| e.kind == TimelineKind::CodeSent).count();
        if sent >= usize::try_from(self.requests.settings.max_codes).unwrap_or(usize::MAX) {
            return Err(req_err(RequestError::TooManyCodes));
        }
        let code = kluis_crypto::random_code()?;
        let now = self.clock.now();
        let stored = RequestCode {
            hash: code_hash(r.id, &code),
            created_at: now,
            expires_at: Timestamp::from_millis(now.as_millis() + i64::from(CODE_VALID_MINUTES) * 60_000),
            attempts: 0,
        };
        self.store.put_request_code(r.id, &stored).await?;
        let notice = Notice::Code {
            request: Self::mail_ref(r),
            code: kluis_mail::VerificationCode(code.to_string()),
            valid_minutes: CODE_VALID_MINUTES,
        };
        let mail_entry = self.mail(ctx, loaded, next_state, notice).await?;
        let mut next = loaded.record.clone();
        next.state = next_state;
        let entries = vec![self.entry(ctx, loaded, TimelineKind::CodeSent, next_state, None, None)?, mail_entry];
        let events = [self.request_event(ctx, Action::RequestUpdate, &next, "code_sent", Outcome::Success)];
        self.save(loaded, &next, &entries, &events).await?;
        loaded.record = next;
        loaded.record.revision += 1;
        Ok(())
    }

    /// Mails a new code (staff, or the portal's "send a new code").
    pub async fn send_code(&self, ctx: &AuditContext, id: RequestId) -> Result<RequestView, VaultError> {
        let mut loaded = self.load_request(id).await?;
        self.issue_code(ctx, &mut loaded).await?;
        let loaded = self.load_request(id).await?;
        self.full_view(&loaded).await
    }

    /// Checks a code the requester entered. A wrong code counts against the limit; after the
    /// last attempt, or once expired, there is no valid code until a new one is sent.
    pub async fn verify_code(&self, ctx: &AuditContext, id: RequestId, code: &str) -> Result<PortalStatus, VaultError> {
        let loaded = self.load_request(id).await?;
        let r = &loaded.record;
        if r.state != RequestState::Verifying {
            return Err(req_err(RequestError::CodeUnavailable));
        }
        let Some(stored) = self.store.request_code(id).await? else {
            return Err(req_err(RequestError::CodeUnavailable));
        };
        let now = self.clock.now();
        if now >= stored.expires_at {
            return Err(req_err(RequestError::CodeUnavailable));
        }
        let given = code_hash(id, code.trim());
        if !ct_eq(&given, &stored.hash) || !self.store.take_request_code(id, &stored.hash).await? {
            let attempts = self.store.fail_request_code(id, CODE_MAX_ATTEMPTS).await?.unwrap_or(CODE_MAX_ATTEMPTS);
            let entry = self.entry(ctx, &loaded, TimelineKind::CodeRejected, r.state, None, None)?;
            let event = self.request_event(ctx, Action::RequestUpdate, r, "code_rejected", Outcome::Denied);
            self.store.append_timeline(id, &[entry], &[event]).await?;
            let remaining = CODE_MAX_ATTEMPTS.saturating_sub(attempts);
            return Err(req_err(if remaining == 0 {
                RequestError::CodeUnavailable
            } else {
                RequestError::CodeWrong { remaining }
            }));
        }
        self.mark_verified(ctx, loaded, Verification::MailedCode, None).await?;
        self.portal_status(id).await
    }

    /// Marks a request verified; finds the subject by the verified address when none is linked
    /// (exactly one match links it; none means kluis holds no data on the address; several are
    /// left for staff) and mails the receipt with the due date.
    async fn mark_verified(
        &self,
        ctx: &AuditContext,
        loaded: Loaded,
        how: Verification,
        subject: Option<SubjectId>,
    ) -> Result<(), VaultError> {
        let r = &loaded.record;
        let next_state = Self::transition(r, RequestState::InProgress)?;
        let mut next = r.clone();
        next.state = next_state;
        next.verification = Some(how);
        next.verified_at = Some(self.clock.now());
        next.id_upload_allowed = false;
        let mut detail = how.as_str().to_owned();
        if let Some(s) = subject {
            next.subject = Some(s);
        } else if next.subject.is_none()
            && let (Some(key), Some(contact)) = (&loaded.key, &r.contact)
        {
            let email = Self::open_text(key, r.id, "contact", contact)?;
            let found = self.subjects_by_email(&email).await?;
            match found.as_slice() {
                [one] => next.subject = Some(*one),
                [] => detail.push_str(":no_subject"),
                _ => detail.push_str(":several_subjects"),
            }
        }
        let mut entries = vec![self.entry(ctx, &loaded, TimelineKind::Verified, next_state, Some(&detail), None)?];
        let notice = Notice::Received {
            request: Self::mail_ref(r),
            received: deadline::amsterdam_date(r.received_at),
            due: parse_day(&r.due_on)?,
        };
        if r.contact.is_some() {
            entries.push(self.mail(ctx, &loaded, next_state, notice).await?);
        }
        let events = [self.request_event(ctx, Action::RequestUpdate, &next, "verified", Outcome::Success)];
        self.save(&loaded, &next, &entries, &events).await
    }

    /// What the public portal shows: no personal data.
    pub async fn portal_status(&self, id: RequestId) -> Result<PortalStatus, VaultError> {
        let r = self.store.request(id).await?.ok_or(req_err(RequestError::NotFound(id)))?;
        Ok(PortalStatus {
            id: r.id,
            kind: r.kind,
            state: r.state,
            lang: NoticeLang::parse(&r.lang).unwrap_or(NoticeLang::Nl),
            due_on: r.extended_to.clone().unwrap_or(r.due_on.clone()),
            id_upload_allowed: r.id_upload_allowed && !r.state.is_closed(),
        })
    }

    // ---------------------------------------------------------------- identity documents

    /// Allows an ID-document upload for this request (a heavier rung of the ladder), with the
    /// staff member's written justification.
    pub async fn enable_id_upload(
        &self,
        ctx: &AuditContext,
        id: RequestId,
        justification: &str,
    ) -> Result<RequestView, VaultError> {
        let justification = text_input(Some(justification.to_owned()), "justification")?.ok_or_else(|| {
            invalid(
                "justification_required",
                "an ID-document upload needs a written justification",
                "een upload van een identiteitsbewijs vraagt om een schriftelijke motivering",
            )
        })?;
        let loaded = self.load_request(id).await?;
        let next_state = Self::transition(&loaded.record, RequestState::Verifying)?;
        let mut next = loaded.record.clone();
        next.state = next_state;
        next.id_upload_allowed = true;
        let entries =
            [self.entry(ctx, &loaded, TimelineKind::IdUploadEnabled, next_state, None, Some(&justification))?];
        let events = [self.request_event(ctx, Action::RequestUpdate, &next, "id_upload_enabled", Outcome::Success)];
        self.save(&loaded, &next, &entries, &events).await?;
        let loaded = self.load_request(id).await?;
        self.full_view(&loaded).await
    }

    /// Puts the requester's ID document into quarantine, sealed under the request's key.
    pub async fn upload_id(
        &self,
        ctx: &AuditContext,
        id: RequestId,
        bytes: Vec<u8>,
    ) -> Result<PortalStatus, VaultError> {
        let bytes = Zeroizing::new(bytes);
        let loaded = self.load_request(id).await?;
        let r = &loaded.record;
        if !r.id_upload_allowed || r.state.is_closed() {
            return Err(req_err(RequestError::UploadNotAllowed));
        }
        let max = self.requests.settings.upload_max_bytes;
        if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > max {
            return Err(req_err(RequestError::UploadTooLarge { max }));
        }
        let content_type = sniff(&bytes).ok_or(req_err(RequestError::UploadType))?;
        let key = loaded.key.as_ref().ok_or(req_err(RequestError::UploadNotAllowed))?;
        let upload = StoredUpload {
            content_type: content_type.to_owned(),
            size: u64::try_from(bytes.len()).unwrap_or(u64::MAX),
            uploaded_at: self.clock.now(),
            sealed: Self::seal_item(key, id, "upload", &bytes)?,
        };
        let entries = [self.entry(ctx, &loaded, TimelineKind::IdUploaded, r.state, None, None)?];
        let events = [self.request_event(ctx, Action::RequestUpdate, r, "id_uploaded", Outcome::Success)];
        self.store.put_upload(id, &upload, &entries, &events).await?;
        self.portal_status(id).await
    }

    /// The quarantined ID document, for the staff check (audited).
    pub async fn id_document(&self, ctx: &AuditContext, id: RequestId) -> Result<IdDocument, VaultError> {
        let loaded = self.load_request(id).await?;
        let upload = self.store.upload(id).await?.ok_or(req_err(RequestError::NoUpload))?;
        let key = loaded.key.as_ref().ok_or(req_err(RequestError::NoUpload))?;
        let bytes = Self::open_item(key, id, "upload", &upload.sealed)?;
        let event = self.request_event(ctx, Action::RequestUpdate, &loaded.record, "id_viewed", Outcome::Success);
        self.store.append_timeline(id, &[], &[event]).await?;
        Ok(IdDocument { content_type: upload.content_type, bytes })
    }

    /// Records the outcome of the ID check and deletes the document at once. Verified: the
    /// request goes on (linked to `subject` when given); not verified: cannot identify.
    pub async fn check_id(
        &self,
        ctx: &AuditContext,
        id: RequestId,
        verified: bool,
        subject: Option<SubjectId>,
    ) -> Result<RequestView, VaultError> {
        let loaded = self.load_request(id).await?;
        if self.store.upload(id).await?.is_none() {
            return Err(req_err(RequestError::NoUpload));
        }
        if let Some(s) = subject
            && self.store.load_subject(s).await?.is_none()
        {
            return Err(VaultError::NotFound(s));
        }
        self.store.delete_upload(id).await?;
        let outcome = if verified { "verified" } else { "not_verified" };
        let entry = self.entry(ctx, &loaded, TimelineKind::IdChecked, loaded.record.state, Some(outcome), None)?;
        let event = self.request_event(ctx, Action::RequestUpdate, &loaded.record, "id_checked", Outcome::Success);
        self.store.append_timeline(id, &[entry], &[event]).await?;
        let loaded = self.load_request(id).await?;
        if verified {
            self.mark_verified(ctx, loaded, Verification::IdDocument, subject).await?;
        } else {
            self.close(ctx, loaded, RequestState::CannotIdentify, None, None).await?;
        }
        let loaded = self.load_request(id).await?;
        self.full_view(&loaded).await
    }

    /// Links the request to a subject (staff, e.g. when several subjects share the address).
    pub async fn link_subject(
        &self,
        ctx: &AuditContext,
        id: RequestId,
        subject: SubjectId,
    ) -> Result<RequestView, VaultError> {
        let loaded = self.load_request(id).await?;
        if loaded.record.state.is_closed() {
            return Err(req_err(RequestError::Transition { from: loaded.record.state, to: loaded.record.state }));
        }
        if self.store.load_subject(subject).await?.is_none() {
            return Err(VaultError::NotFound(subject));
        }
        let mut next = loaded.record.clone();
        next.subject = Some(subject);
        let entries =
            [self.entry(ctx, &loaded, TimelineKind::StateChanged, next.state, Some("subject_linked"), None)?];
        let events = [self.request_event(ctx, Action::RequestUpdate, &next, "subject_linked", Outcome::Success)];
        self.save(&loaded, &next, &entries, &events).await?;
        let loaded = self.load_request(id).await?;
        self.full_view(&loaded).await
    }

    // ---------------------------------------------------------------- staff decisions

    /// Extends the term by two months (Art. 12(3)): only with reasons and not after the due date.
    pub async fn extend_request(
        &self,
        ctx: &AuditContext,
        id: RequestId,
        reasons: &str,
    ) -> Result<RequestView, VaultError> {
        let loaded = self.load_request(id).await?;
        let r = &loaded.record;
        let next_state = Self::transition(r, RequestState::Extended)?;
        let received = deadline::amsterdam_date(r.received_at);
        let due = parse_day(&r.due_on)?;
        let reasons = reasons.trim();
        if reasons.chars().count() > MAX_TEXT {
            return Err(invalid("text_too_long", "`reasons` is too long", "`reasons` is te lang"));
        }
        let new_due = deadline::check_extension(received, due, self.today(), reasons)
            .map_err(|e| req_err(RequestError::Extension { code: e.code(), en: e.message_en(), nl: e.message_nl() }))?;
        let mut next = r.clone();
        next.state = next_state;
        next.extended_to = Some(day_text(new_due));
        let notice = Notice::Extended {
            request: Self::mail_ref(r),
            new_due,
            reasons: vec![kluis_mail::ExtensionReason::Other(kluis_mail::Text::same(reasons))],
        };
        let entries = vec![self.entry(
            ctx,
            &loaded,
            TimelineKind::Extended,
            next_state,
            Some(&next.extended_to.clone().unwrap_or_default()),
            Some(reasons),
        )?];
        let events = [self.request_event(ctx, Action::RequestUpdate, &next, "extended", Outcome::Success)];
        self.save(&loaded, &next, &entries, &events).await?;
        self.mail_after(ctx, &loaded, next_state, notice).await?;
        let loaded = self.load_request(id).await?;
        self.full_view(&loaded).await
    }

    /// Closes a request in `state` with an optional note and notice.
    async fn close(
        &self,
        ctx: &AuditContext,
        loaded: Loaded,
        state: RequestState,
        note: Option<&str>,
        notice: Option<Notice>,
    ) -> Result<(), VaultError> {
        let next_state = Self::transition(&loaded.record, state)?;
        let mut next = loaded.record.clone();
        next.state = next_state;
        next.closed_at = Some(self.clock.now());
        next.id_upload_allowed = false;
        let entries =
            vec![self.entry(ctx, &loaded, TimelineKind::StateChanged, next_state, Some(state.as_str()), note)?];
        let events = [self.request_event(ctx, Action::RequestUpdate, &next, state.as_str(), Outcome::Success)];
        self.save(&loaded, &next, &entries, &events).await?;
        if let Some(notice) = notice {
            self.mail_after(ctx, &loaded, next_state, notice).await?;
        }
        Ok(())
    }

    /// Refuses a request with reasons (codes of Art. 12(5), 15(4), 17(3), 21(1) and/or text); the
    /// notice names the right to complain to the Autoriteit Persoonsgegevens and the court route.
    pub async fn refuse_request(
        &self,
        ctx: &AuditContext,
        id: RequestId,
        reasons: &[String],
        text: Option<String>,
    ) -> Result<RequestView, VaultError> {
        let mut parsed = Vec::new();
        for code in reasons {
            parsed.push(refusal_reason(code).ok_or_else(|| {
                invalid(
                    "unknown_reason",
                    "a refusal reason is one of manifestly_unfounded, excessive, rights_of_others, legal_obligation, legal_claims, compelling_grounds",
                    "een reden is een van manifestly_unfounded, excessive, rights_of_others, legal_obligation, legal_claims, compelling_grounds",
                )
            })?);
        }
        let text = text_input(text, "text")?;
        if let Some(t) = &text {
            parsed.push(RefusalReason::Other(kluis_mail::Text::same(t.clone())));
        }
        if parsed.is_empty() {
            return Err(invalid(
                "reasons_required",
                "a refusal must give its reasons (Art. 12(4) GDPR)",
                "een weigering moet de redenen noemen (art. 12 lid 4 AVG)",
            ));
        }
        let loaded = self.load_request(id).await?;
        let note = [reasons.join(", "), text.unwrap_or_default()].join("\n");
        let notice = Notice::Refused { request: Self::mail_ref(&loaded.record), reasons: parsed };
        self.close(ctx, loaded, RequestState::Refused, Some(note.trim()), Some(notice)).await?;
        let loaded = self.load_request(id).await?;
        self.full_view(&loaded).await
    }

    /// Closes a request whose requester could not be identified; `needed` says what would help.
    pub async fn cannot_identify(
        &self,
        ctx: &AuditContext,
        id: RequestId,
        needed: Option<String>,
    ) -> Result<RequestView, VaultError> {
        let needed = text_input(needed, "needed")?;
        let loaded = self.load_request(id).await?;
        let notice = Notice::CannotIdentify {
            request: Self::mail_ref(&loaded.record),
            needed: needed.clone().map(kluis_mail::Text::same),
        };
        self.close(ctx, loaded, RequestState::CannotIdentify, needed.as_deref(), Some(notice)).await?;
        let loaded = self.load_request(id).await?;
        self.full_view(&loaded).await
    }

    /// The requester withdrew the request.
    pub async fn withdraw_request(&self, ctx: &AuditContext, id: RequestId) -> Result<RequestView, VaultError> {
        let loaded = self.load_request(id).await?;
        self.close(ctx, loaded, RequestState::Withdrawn, None, None).await?;
        let loaded = self.load_request(id).await?;
        self.full_view(&loaded).await
    }

    // ---------------------------------------------------------------- views

    /// One request with its timeline (staff; the read of the requester's address is audited).
    pub async fn request_view(&self, ctx: &AuditContext, id: RequestId) -> Result<RequestView, VaultError> {
        let loaded = self.load_request(id).await?;
        let view = self.full_view(&loaded).await?;
        let event = self.request_event(ctx, Action::RequestRead, &loaded.record, "viewed", Outcome::Success);
        self.store.append_audit(&[event]).await?;
        Ok(view)
    }

    /// Requests for the staff list: open ones most urgent first, or due soon, overdue, all.
    pub async fn list_requests(&self, filter: RequestFilter) -> Result<Vec<RequestView>, VaultError> {
        let open_only = filter != RequestFilter::All;
        let records = self.store.requests(open_only, 1_000).await?;
        let mut out = Vec::with_capacity(records.len());
        for record in records {
            let loaded = Loaded { record, key: None };
            let view = self.view(&loaded, Vec::new(), false)?;
            let keep = match filter {
                RequestFilter::Open | RequestFilter::All => true,
                RequestFilter::DueSoon => {
                    matches!(view.urgency, "due_within_2_days" | "due_within_7_days")
                }
                RequestFilter::Overdue => view.urgency == Urgency::Overdue.code(),
            };
            if keep {
                out.push(view);
            }
        }
        if open_only {
            out.sort_by(|a, b| {
                let due = |v: &RequestView| v.extended_to.clone().unwrap_or(v.due_on.clone());
                due(a).cmp(&due(b)).then(a.received_at.cmp(&b.received_at))
            });
        }
        Ok(out)
    }

    // ---------------------------------------------------------------- fulfilment

    /// Carries out a verified request; its kind decides what that means. Access and portability
    /// build the exports and mail the download link; rectification applies `changes` (or, when
    /// empty, the changes asked for at intake) and records the recipients to notify (Art. 19);
    /// erasure deletes per the register (kept values go to the restricted archive; the key is
    /// destroyed when nothing is kept) and notifies recipients; restriction sets the Art. 18
    /// flag; objection and withdrawal stop the purpose for the subject.
    #[allow(clippy::too_many_lines, reason = "one arm per right, side by side")]
    pub async fn fulfil_request(
        &self,
        ctx: &AuditContext,
        id: RequestId,
        changes: Vec<(String, Option<String>)>,
    ) -> Result<RequestView, VaultError> {
        let loaded = self.load_request(id).await?;
        let r = loaded.record.clone();
        if !matches!(r.state, RequestState::InProgress | RequestState::Extended) {
            return Err(req_err(RequestError::Transition { from: r.state, to: RequestState::Completed }));
        }
        if r.kind != RequestKind::Rectification && !changes.is_empty() {
            return Err(invalid(
                "changes_not_allowed",
                "`changes` belong to a rectification request only",
                "`changes` horen alleen bij een verzoek om rectificatie",
            ));
        }
        let register = self.register();
        let reg = register.as_ref().map(|rv| &rv.1);
        let mut work_ctx = ctx.clone();
        work_ctx.purpose = kluis_domain::Purpose::parse(REQUEST_PURPOSE).ok();
        let now = self.clock.now();

        // Access to no data at all: an export that says so. Everything else needs a subject.
        let subject = match (r.subject, r.kind) {
            (Some(s), _) => Some(s),
            (None, RequestKind::Access | RequestKind::Portability) => None,
            (None, _) => return Err(req_err(RequestError::NoSubject)),
        };
        let mut entries = Vec::new();
        let mut state = RequestState::Completed;
        let mut exports = Vec::new();
        let mut token = None;
        // The categories whose recipients are told (Art. 19), after the change is durable.
        let mut affected: Vec<String> = Vec::new();
        match r.kind {
            RequestKind::Access | RequestKind::Portability => {
                let built = self.build_exports(&work_ctx, &r, register.as_deref()).await?;
                let (t, stored) = self.seal_exports(&loaded, built)?;
                token = Some(t);
                exports = stored;
                entries.push(self.entry(ctx, &loaded, TimelineKind::Fulfilled, state, Some("exported"), None)?);
            }
            RequestKind::Rectification => {
                let changes = if changes.is_empty() { Self::requested_changes(&loaded)? } else { changes };
                let subject = subject.ok_or(req_err(RequestError::NoSubject))?;
                self.apply_changes(&work_ctx, None, subject, &changes).await?;
                let fields: Vec<&str> = changes.iter().map(|(f, _)| f.as_str()).collect();
                let categories: Vec<String> =
                    categories_of(&self.catalogue, &fields).into_iter().map(str::to_owned).collect();
                entries.push(self.entry(
                    ctx,
                    &loaded,
                    TimelineKind::Fulfilled,
                    state,
                    Some(&format!("rectified:{}", fields.join(","))),
                    None,
                )?);
                affected = categories;
            }
            RequestKind::Erasure => {
                let subject = subject.ok_or(req_err(RequestError::NoSubject))?;
                let (report, partial, categories) = self.erase_for_request(&work_ctx, subject, reg).await?;
                if partial {
                    state = RequestState::PartiallyCompleted;
                }
                entries.push(self.entry(
                    ctx,
                    &loaded,
                    TimelineKind::Fulfilled,
                    state,
                    Some(if partial { "erased_partly" } else { "erased" }),
                    None,
                )?);
                affected = categories;
                let (t, stored) =
                    self.seal_exports(&loaded, vec![("report", stored_form("report", report.to_vec()))])?;
                token = Some(t);
                exports = stored;
            }
            RequestKind::Restriction => {
                let subject = subject.ok_or(req_err(RequestError::NoSubject))?;
                self.set_restricted(&work_ctx, subject, true).await?;
                if let Some(record) = self.store.load_subject(subject).await? {
                    let fields: Vec<&str> = record.values.iter().map(|v| v.field.as_str()).collect();
                    affected = categories_of(&self.catalogue, &fields).into_iter().map(str::to_owned).collect();
                }
                entries.push(self.entry(ctx, &loaded, TimelineKind::Fulfilled, state, Some("restricted"), None)?);
            }
            RequestKind::Objection | RequestKind::Withdrawal => {
                let subject = subject.ok_or(req_err(RequestError::NoSubject))?;
                let purpose = r.purpose.clone().ok_or(req_err(RequestError::WrongFulfilment(r.kind)))?;
                let event = work_ctx
                    .event(now, Action::SubjectObject, Some(subject), &[], &[], Outcome::Success)
                    .with_reason(if r.kind == RequestKind::Objection { "objection" } else { "consent_withdrawn" })
                    .with_request(r.id);
                if !self.store.add_objection(subject, &purpose, now, &[event]).await? {
                    return Err(VaultError::NotFound(subject));
                }
                entries.push(self.entry(
                    ctx,
                    &loaded,
                    TimelineKind::Fulfilled,
                    state,
                    Some(&format!("stopped:{purpose}")),
                    None,
                )?);
            }
        }

        // The right has been exercised now (values erased, flags set): the request records it even
        // if a colleague changed the request meanwhile (a note, an extension), unless that closed it.
        let mut current = r.clone();
        for attempt in 1.. {
            let mut next = current.clone();
            next.state = Self::transition(&current, state)?;
            next.closed_at = Some(now);
            let events = [self.request_event(ctx, Action::RequestFulfil, &next, r.kind.as_str(), Outcome::Success)];
            if self.store.put_exports(&exports, &next, current.revision, &entries, &events).await? {
                break;
            }
            current = self.load_request(id).await?.record;
            if attempt == 3 || !matches!(current.state, RequestState::InProgress | RequestState::Extended) {
                return Err(req_err(RequestError::Conflict));
            }
        }
        if let Some(subject) = subject
            && !affected.is_empty()
        {
            self.notify_recipients(ctx, &loaded, state, subject, &affected).await?;
        }
        if r.contact.is_some() {
            let download = token.as_ref().map(|t| kluis_mail::Download {
                url: format!(
                    "{}/privacy/request/download/{}",
                    self.requests.settings.public_url.trim_end_matches('/'),
                    t.as_str()
                ),
                expires: time::OffsetDateTime::from_unix_timestamp(self.export_expiry(now).as_millis() / 1000)
                    .unwrap_or(time::OffsetDateTime::UNIX_EPOCH),
            });
            let notice = Notice::Completed { request: Self::mail_ref(&r), download };
            self.mail_after(ctx, &loaded, state, notice).await?;
        }
        let loaded = self.load_request(id).await?;
        self.full_view(&loaded).await
    }

    /// Art. 20(2): sends the data of a completed portability request, as the JSON export, straight
    /// to another controller's HTTPS endpoint that the subject named (in the request or to staff).
    /// A staff step, so a person sees the target before kluis connects to it. The target must be
    /// `https://` on a public address (unless `transmit.allow_private_networks`); the export is built
    /// afresh from the values held now (an audited read). The outcome is a `transmitted` timeline
    /// entry naming the host and the status or error code, never the path; a failure is returned.
    pub async fn transmit_request(
        &self,
        ctx: &AuditContext,
        id: RequestId,
        target: &str,
    ) -> Result<RequestView, VaultError> {
        let loaded = self.load_request(id).await?;
        let r = &loaded.record;
        if r.kind != RequestKind::Portability || r.state != RequestState::Completed {
            return Err(req_err(RequestError::WrongFulfilment(r.kind)));
        }
        let target = transmit::parse_target(target).map_err(|e| req_err(RequestError::Transmit(e)))?;
        let host = target.host_str().unwrap_or_default().to_owned();
        let mut work_ctx = ctx.clone();
        work_ctx.purpose = kluis_domain::Purpose::parse(REQUEST_PURPOSE).ok();
        let register = self.register();
        let json = Zeroizing::new(self.portability_export(&work_ctx, r, register.as_deref()).await?.to_json());
        let outcome = transmit::transmit(&self.requests.settings.transmit, &target, &r.id.to_string(), &json).await;
        let (detail, reason) = match &outcome {
            Ok(receipt) => (format!("{host}:{}", receipt.status), "transmitted"),
            Err(e) => (format!("{host}:{}", e.code()), "transmit_failed"),
        };
        let entry = self.entry(ctx, &loaded, TimelineKind::Transmitted, r.state, Some(&detail), None)?;
        let event = self.request_event(ctx, Action::RequestUpdate, r, reason, Outcome::Success);
        self.store.append_timeline(id, &[entry], &[event]).await?;
        if let Err(e) = outcome {
            return Err(req_err(RequestError::Transmit(e)));
        }
        let loaded = self.load_request(id).await?;
        self.full_view(&loaded).await
    }

    fn export_expiry(&self, now: Timestamp) -> Timestamp {
        Timestamp::from_millis(now.as_millis() + i64::from(self.requests.settings.export_days) * 86_400_000)
    }

    /// The changes a rectification request asked for at intake.
    fn requested_changes(loaded: &Loaded) -> Result<Vec<(String, Option<String>)>, VaultError> {
        let (Some(key), Some(sealed)) = (&loaded.key, &loaded.record.details) else { return Ok(Vec::new()) };
        let text = Self::open_text(key, loaded.record.id, "details", sealed)?;
        let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let changes = value
            .get("changes")
            .and_then(serde_json::Value::as_object)
            .map(|m| m.iter().map(|(f, v)| (f.clone(), v.as_str().map(str::to_owned))).collect())
            .unwrap_or_default();
        Ok(changes)
    }

    /// The subject's values (decrypted), for an export.
    async fn export_subject(&self, ctx: &AuditContext, id: SubjectId) -> Result<Option<SubjectInput>, VaultError> {
        let Some(record) = self
            .store
            .read_subject(id, |r| {
                let fields: Vec<&str> =
                    r.map(|r| r.values.iter().map(|v| v.field.as_str()).collect()).unwrap_or_default();
                let outcome = if r.is_some() { Outcome::Success } else { Outcome::NotFound };
                ctx.event(
                    self.clock.now(),
                    Action::SubjectRead,
                    Some(id),
                    &fields,
                    &categories_of(&self.catalogue, &fields),
                    outcome,
                )
                .with_reason("request_export")
            })
            .await?
        else {
            return Ok(None);
        };
        let subject = self.decrypt_reporting(ctx, &record, None).await?;
        let values = subject
            .values
            .iter()
            .map(|(field, value)| {
                let def = self.catalogue.get(field);
                ValueInput {
                    field: field.clone(),
                    category: def.map(|d| d.category.as_str().to_owned()).unwrap_or_default(),
                    label_nl: def.map(|d| d.label_nl.to_owned()).unwrap_or_default(),
                    label_en: def.map(|d| d.label_en.to_owned()).unwrap_or_default(),
                    value: value.as_str().to_owned(),
                }
            })
            .collect();
        Ok(Some(SubjectInput {
            id: id.to_string(),
            kind: record.kind.as_str().to_owned(),
            created_at_ms: record.created_at.as_millis(),
            restricted: record.restricted,
            archived_until_ms: record.archive.as_ref().map(|a| a.until.as_millis()),
            values,
        }))
    }

    /// The audit events about a subject, as the export shows them (actor kinds, not identities).
    /// Read in batches; each batch is parsed on a blocking thread while the next one is read.
    async fn export_events(&self, id: SubjectId) -> Result<Vec<EventInput>, VaultError> {
        const BATCH: u32 = 2_500;
        let joined = |e: tokio::task::JoinError| {
            VaultError::Store(kluis_store::StoreError::Backend(format!("reading the events of an export: {e}")))
        };
        let mut out = Vec::new();
        let mut batch = self.store.subject_events(id, 0, BATCH).await?;
        while let Some(last) = batch.last() {
            let from = last.seq + 1;
            let more = batch.len() >= BATCH as usize;
            let parse = tokio::task::spawn_blocking(move || shown_events(&batch));
            let (parsed, next) = if more {
                let (parsed, next) = tokio::join!(parse, self.store.subject_events(id, from, BATCH));
                (parsed, next?)
            } else {
                (parse.await, Vec::new())
            };
            out.extend(parsed.map_err(joined)?);
            batch = next;
        }
        Ok(out)
    }

    /// The values of the request's subject for an export; an empty subject when it has none.
    async fn subject_input(&self, ctx: &AuditContext, r: &RequestRecord) -> Result<SubjectInput, VaultError> {
        let input = match r.subject {
            Some(s) => self.export_subject(ctx, s).await?,
            None => None,
        };
        Ok(input.unwrap_or_else(|| SubjectInput {
            id: String::new(),
            kind: String::new(),
            created_at_ms: r.received_at.as_millis(),
            restricted: false,
            archived_until_ms: None,
            values: Vec::new(),
        }))
    }

    /// The portability export (Art. 20): the values the subject provided under consent or contract.
    async fn portability_export(
        &self,
        ctx: &AuditContext,
        r: &RequestRecord,
        register: Option<&(kluis_store::StoredRegisterVersion, Register)>,
    ) -> Result<PortabilityExport, VaultError> {
        let input = self.subject_input(ctx, r).await?;
        PortabilityExport::build(&input, register.map(|(_, reg)| reg), self.clock.now().as_millis()).map_err(export_err)
    }

    /// Builds the exports of an access or portability request, in their stored form.
    async fn build_exports(
        &self,
        ctx: &AuditContext,
        r: &RequestRecord,
        register: Option<&(kluis_store::StoredRegisterVersion, Register)>,
    ) -> Result<StoredForms, VaultError> {
        if r.kind == RequestKind::Portability {
            let export = self.portability_export(ctx, r, register).await?;
            return Ok(vec![
                ("json", stored_form("json", export.to_json())),
                ("csv", stored_form("csv", export.to_csv())),
            ]);
        }
        let input = self.subject_input(ctx, r).await?;
        let events = match r.subject {
            Some(s) => self.export_events(s).await?,
            None => Vec::new(),
        };
        let reg_input = RegisterInput {
            register: register.map(|(_, reg)| reg),
            version: register.map(|(v, _)| v.version),
            sha256_hex: register.map(|(v, _)| hex::encode(v.sha256)),
        };
        let request = kluis_export::RequestRef { id: r.id.to_string(), received_at_ms: r.received_at.as_millis() };
        let export = AccessExport::build(&input, &events, &reg_input, Some(&request), self.clock.now().as_millis())
            .map_err(export_err)?;
        let lang = match NoticeLang::parse(&r.lang) {
            Some(NoticeLang::En) => kluis_register::Lang::En,
            _ => kluis_register::Lang::Nl,
        };
        // Rendering and compressing is CPU work of tens of milliseconds for a long history: off the
        // async workers, one format per thread.
        tokio::task::spawn_blocking(move || render_access(&export, lang))
            .await
            .map_err(|e| VaultError::Store(kluis_store::StoreError::Backend(format!("rendering the export: {e}"))))?
    }

    /// Seals exports (in their stored form, see [`stored_form`]) under the request's key,
    /// reachable by one fresh download token.
    fn seal_exports(
        &self,
        loaded: &Loaded,
        built: Vec<(&'static str, Zeroizing<Vec<u8>>)>,
    ) -> Result<(Zeroizing<String>, Vec<StoredExport>), VaultError> {
        let key = loaded.key.as_ref().ok_or(req_err(RequestError::NoContact))?;
        let token = random_token()?;
        let hash = token_hash(&token);
        let now = self.clock.now();
        let mut stored = Vec::with_capacity(built.len());
        for (format, bytes) in built {
            let export_id = RequestId::generate().to_string();
            stored.push(StoredExport {
                sealed: Self::seal_item(key, loaded.record.id, &format!("export.{export_id}"), &bytes)?,
                id: export_id,
                request: loaded.record.id,
                format: format.to_owned(),
                token_hash: hash,
                created_at: now,
                expires_at: self.export_expiry(now),
            });
        }
        Ok((token, stored))
    }

    /// Erasure per the register: values under a legal obligation are kept in the archive (only
    /// their purpose can read them, until the end of the term); everything else goes. Without
    /// anything to keep, the subject's key is destroyed. Returns the report (JSON), whether
    /// something was kept, and the categories erased.
    async fn erase_for_request(
        &self,
        ctx: &AuditContext,
        id: SubjectId,
        register: Option<&Register>,
    ) -> Result<(Zeroizing<Vec<u8>>, bool, Vec<String>), VaultError> {
        let record = self.store.load_subject(id).await?.ok_or(VaultError::NotFound(id))?;
        let fields: Vec<(String, String)> = record
            .values
            .iter()
            .map(|v| {
                let category = self.catalogue.get(&v.field).map(|d| d.category.as_str().to_owned()).unwrap_or_default();
                (v.field.clone(), category)
            })
            .collect();
        let kept = kept_values(register, &fields, self.today());
        let now = self.clock.now();
        let deleted: Vec<&(String, String)> =
            fields.iter().filter(|(f, _)| !kept.iter().any(|k| &k.field == f)).collect();
        let erased_categories: Vec<String> = deleted.iter().map(|(_, c)| c.clone()).collect();
        if kept.is_empty() {
            self.destroy_subject(ctx, id).await?;
        } else {
            // One archive per subject: the purpose that keeps the longest decides its end.
            let until = kept.iter().map(|k| k.until).max().unwrap_or_else(|| self.today());
            let purpose = kept.iter().max_by_key(|k| k.until).map(|k| k.purpose.clone()).unwrap_or_default();
            let subject = self.decrypt_reporting(ctx, &record, None).await?;
            let keep: Vec<String> = kept.iter().map(|k| k.field.clone()).collect();
            let mut remaining = std::collections::BTreeMap::new();
            for field in &keep {
                if let Some(v) = subject.values.get(field)
                    && let Ok(parsed) = self.catalogue.parse_value(field, v.as_str())
                {
                    remaining.insert(field.clone(), parsed);
                }
            }
            let index = self.index_entries(remaining.iter().map(|(f, v)| (f.as_str(), v)))?;
            let change = ArchiveChange {
                id,
                expected_revision: record.revision,
                at: now,
                keep: keep.clone(),
                index,
                archive: Archive { purpose: purpose.clone(), until: end_of_day_ms(until) },
            };
            let deleted_names: Vec<&str> = deleted.iter().map(|(f, _)| f.as_str()).collect();
            let event = ctx
                .event(
                    now,
                    Action::SubjectArchive,
                    Some(id),
                    &deleted_names,
                    &categories_of(&self.catalogue, &deleted_names),
                    Outcome::Success,
                )
                .with_reason("legal_obligation");
            if !self.store.archive_subject(&change, &[event]).await? {
                return Err(VaultError::Conflict(id));
            }
        }
        let report = serde_json::json!({
            "format": "kluis.erasure-report",
            "format_version": 1,
            "subject": id.to_string(),
            "erased_at": kluis_export::rfc3339_ms(now.as_millis(), "erasure time").unwrap_or_default(),
            "key_destroyed": kept.is_empty(),
            "deleted": deleted.iter().map(|(f, c)| serde_json::json!({"field": f, "category": c})).collect::<Vec<_>>(),
            "kept": kept.iter().map(|k| serde_json::json!({
                "field": k.field,
                "purpose": k.purpose,
                "legal_reference": k.legal_reference,
                "until": day_text(k.until),
                "why_nl": "Wettelijke bewaarplicht (art. 17 lid 3 onder b AVG); alleen in te zien voor dit doel.",
                "why_en": "Legal obligation to keep (Art. 17(3)(b) GDPR); readable only for this purpose.",
            })).collect::<Vec<_>>(),
        });
        let bytes = serde_json::to_vec_pretty(&report).unwrap_or_default();
        Ok((Zeroizing::new(bytes), !kept.is_empty(), erased_categories))
    }

    /// Lifts the Art. 18 restriction a completed restriction request set: the subject is told
    /// first (Art. 18(3)); only when the notice was sent is the flag lifted.
    pub async fn lift_restriction(&self, ctx: &AuditContext, id: RequestId) -> Result<RequestView, VaultError> {
        let loaded = self.load_request(id).await?;
        let r = &loaded.record;
        if r.kind != RequestKind::Restriction || r.state != RequestState::Completed {
            return Err(req_err(RequestError::WrongFulfilment(r.kind)));
        }
        let subject = r.subject.ok_or(req_err(RequestError::NoSubject))?;
        if r.contact.is_none() {
            return Err(req_err(RequestError::NoContact));
        }
        let notice = Notice::RestrictionLifted { request: Self::mail_ref(r) };
        let mail = self.mail(ctx, &loaded, r.state, notice).await?;
        if mail.kind != TimelineKind::MailSent {
            self.store.append_timeline(id, &[mail], &[]).await?;
            return Err(req_err(RequestError::Mail("the notice to the subject was not sent".into())));
        }
        let mut work_ctx = ctx.clone();
        work_ctx.purpose = kluis_domain::Purpose::parse(REQUEST_PURPOSE).ok();
        self.set_restricted_unchecked(&work_ctx, subject, false).await?;
        let entry = self.entry(ctx, &loaded, TimelineKind::RestrictionLifted, r.state, None, None)?;
        let event = self.request_event(ctx, Action::RequestUpdate, r, "restriction_lifted", Outcome::Success);
        self.store.append_timeline(id, &[mail, entry], &[event]).await?;
        let loaded = self.load_request(id).await?;
        self.full_view(&loaded).await
    }

    // ---------------------------------------------------------------- downloads

    /// The formats behind a download token and when they expire.
    pub async fn download_index(&self, token: &str) -> Result<(Vec<String>, Timestamp), VaultError> {
        let exports = self.store.exports_by_token(&token_hash(token)).await?;
        let first = exports.first().ok_or(req_err(RequestError::DownloadNotFound))?;
        if self.clock.now() >= first.expires_at {
            return Err(req_err(RequestError::DownloadExpired));
        }
        Ok((exports.iter().map(|e| e.format.clone()).collect(), first.expires_at))
    }

    /// One export behind a download token, decrypted (audited, on the timeline).
    pub async fn download_export(&self, ctx: &AuditContext, token: &str, format: &str) -> Result<Download, VaultError> {
        let exports = self.store.exports_by_token(&token_hash(token)).await?;
        let export = exports.into_iter().find(|e| e.format == format).ok_or(req_err(RequestError::DownloadNotFound))?;
        if self.clock.now() >= export.expires_at {
            return Err(req_err(RequestError::DownloadExpired));
        }
        let loaded = self.load_request(export.request).await?;
        let key = loaded.key.as_ref().ok_or(req_err(RequestError::DownloadNotFound))?;
        let stored = Self::open_item(key, export.request, &format!("export.{}", export.id), &export.sealed)?;
        let bytes = Zeroizing::new(
            at_rest::unpack(stored.to_vec())
                .map_err(|e| VaultError::Store(kluis_store::StoreError::Corrupt(e.to_string())))?,
        );
        let entry = self.entry(ctx, &loaded, TimelineKind::Downloaded, loaded.record.state, Some(format), None)?;
        let event = self.request_event(ctx, Action::RequestDownload, &loaded.record, "downloaded", Outcome::Success);
        self.store.append_timeline(export.request, &[entry], &[event]).await?;
        let (content_type, ext) = match format {
            "json" | "report" => ("application/json", "json"),
            "csv_zip" => ("application/zip", "zip"),
            "html" => ("text/html; charset=utf-8", "html"),
            _ => ("text/csv; charset=utf-8", "csv"),
        };
        let name = if format == "report" { "erasure-report" } else { "kluis-export" };
        Ok(Download { content_type, file_name: format!("{name}-{}.{ext}", export.request), bytes })
    }

    /// Deletes expired exports (the server runs this every minute). Returns how many.
    pub async fn sweep_exports(&self) -> Result<u64, VaultError> {
        Ok(self.store.delete_expired_exports(self.clock.now()).await?)
    }

    /// Whether a caller holding `permission` may handle requests (for the server's checks).
    pub fn handles_requests(permission: Permission) -> bool {
        permission == Permission::HandleRequests
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_hash_binds_the_request() {
        let a = RequestId::generate();
        let b = RequestId::generate();
        assert_ne!(code_hash(a, "12345678"), code_hash(b, "12345678"));
        assert_ne!(code_hash(a, "12345678"), code_hash(a, "12345679"));
    }

    #[test]
    fn sniffs_only_the_accepted_types() {
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0rest"), Some("image/jpeg"));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest"), Some("image/png"));
        assert_eq!(sniff(b"%PDF-1.7"), Some("application/pdf"));
        assert_eq!(sniff(b"<html>"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn fiscal_values_are_kept_until_the_end_of_the_term() {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/hosting-provider.toml"))
                .unwrap();
        let register = kluis_register::check(&text).unwrap();
        let fields = vec![
            ("iban".to_owned(), "user.financial.bank_account".to_owned()),
            ("email".to_owned(), "user.contact.email".to_owned()),
        ];
        let today = Date::from_calendar_date(2026, time::Month::November, 22).unwrap();
        let kept = kept_values(Some(&register), &fields, today);
        let fields_kept: Vec<&str> = kept.iter().map(|k| k.field.as_str()).collect();
        assert!(fields_kept.contains(&"iban"), "{kept:?}");
        assert!(!fields_kept.contains(&"email"), "{kept:?}");
        let iban = kept.iter().find(|k| k.field == "iban").unwrap();
        assert_eq!(iban.purpose, "fiscal_records");
        // End of fiscal year 2026 + 7 years.
        assert_eq!(day_text(iban.until), "2033-12-31");
        assert!(kept_values(None, &fields, today).is_empty(), "without a register nothing is kept");
    }
}

#[cfg(test)]
mod recipient_tests {
    use super::*;

    #[test]
    fn recipients_of_erased_categories() {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/hosting-provider.toml"))
                .unwrap();
        let register = kluis_register::check(&text).unwrap();
        let got = recipients_for(Some(&register), &["user.contact.email".to_owned()]);
        assert!(got.contains(&"openprovider".to_owned()), "{got:?}");
        assert!(!got.contains(&"accountant".to_owned()), "{got:?}");
        assert!(!got.contains(&"voipplanet".to_owned()), "{got:?}");
    }
}
