//! The public portal for data-subject requests (`/privacy/request`): plain server-rendered HTML
//! that works without JavaScript, in Dutch or English (`?lang=nl|en`, else `Accept-Language`,
//! else Dutch). Intake (a form post), the status page with the verification-code form, the
//! ID-document upload (only when a staff member enabled it for the request), and the download
//! pages of access and portability exports.
//!
//! Every value on a page is HTML-escaped; the only styling is the inline `<style>` element
//! [`kluis_register::HTML_STYLE`], which the HTML Content-Security-Policy allows by its hash; no
//! scripts. The forms post to kluis itself (same origin), so the CSRF middleware lets them
//! through and refuses the same posts from another site. Pages with a request's state carry
//! `Cache-Control: no-store`. Nothing a requester types is logged: the vault's errors name
//! members, never values, and the trace span holds only the route template.

use std::fmt::Write as _;

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kluis_domain::RequestId;
use kluis_domain::audit::{Actor, AuditContext};
use kluis_domain::request::{RequestKind, RequestState};
use kluis_register::{HTML_STYLE, Lang, escape_html};
use kluis_vault::VaultError;
use kluis_vault::requests::{NewRequest, NoticeLang, PortalStatus, RequestError};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::Client;
use crate::routes::requests::attachment;

/// `?lang=` of every portal page.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PortalQuery {
    /// `nl` or `en`; without it (or with another value), `Accept-Language` decides (default `nl`).
    pub lang: Option<String>,
    /// Set by kluis after a new code was sent.
    pub sent: Option<String>,
}

/// The page language: `?lang=` first, then `Accept-Language`, else Dutch. A public form is
/// lenient: an unknown `lang` is ignored rather than refused.
fn language(query: &PortalQuery, headers: &HeaderMap) -> Lang {
    if let Some(lang) = query.lang.as_deref().and_then(|raw| raw.parse::<Lang>().ok()) {
        return lang;
    }
    headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).map_or(Lang::Nl, Lang::from_accept_language)
}

/// Dutch or English.
fn t(lang: Lang, nl: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::Nl => nl,
        Lang::En => en,
    }
}

fn e(text: &str) -> String {
    escape_html(text)
}

/// The portal's context for the audit log: nobody known, the client address and the request id.
fn context(client: &Client) -> AuditContext {
    AuditContext { actor: Actor::Anonymous, purpose: None, client: client.addr, request_id: client.request_id.clone() }
}

// ------------------------------------------------------------------------------------------------
// Pages

/// A whole HTML document around `body`, with the one inline style the CSP allows.
fn document(lang: Lang, title: &str, body: &str) -> String {
    let other = match lang {
        Lang::Nl => "<a href=\"?lang=en\" hreflang=\"en\" lang=\"en\">English</a>",
        Lang::En => "<a href=\"?lang=nl\" hreflang=\"nl\" lang=\"nl\">Nederlands</a>",
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\"/>\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n<meta name=\"robots\" content=\"noindex\"/>\n\
<title>{title}</title>\n<style>{HTML_STYLE}</style>\n</head>\n<body>\n<header>\n<p class=\"meta\">{other} · \
<a href=\"/privacy?lang={lang}\">{statement}</a></p>\n<h1>{title}</h1>\n</header>\n<main>\n{body}</main>\n</body>\n</html>\n",
        lang = lang.as_str(),
        title = e(title),
        statement = t(lang, "Privacyverklaring", "Privacy statement"),
    )
}

/// An HTML response: never cached (pages show a request's state, or what the requester typed).
fn html(status: StatusCode, lang: Lang, title: &str, body: &str) -> Response {
    let mut response = (status, document(lang, title, body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::CONTENT_LANGUAGE, HeaderValue::from_static(lang.as_str()));
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Language"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `303 See Other` to a portal page (after a successful form post).
fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// An error box: the message in the page language and its stable code (for support).
fn error_box(lang: Lang, error: &ApiError) -> String {
    let message = match lang {
        Lang::Nl => error.detail_nl(),
        Lang::En => error.detail(),
    };
    format!(
        "<div class=\"notice\" role=\"alert\">\n<h2>{}</h2>\n<p>{}</p>\n<p class=\"meta\">{} <code>{}</code></p>\n</div>\n",
        t(lang, "Dat ging niet goed", "That did not work"),
        e(&capitalise(message)),
        t(lang, "Foutcode:", "Error code:"),
        e(error.code()),
    )
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// An error page with the status of the error.
fn error_page(lang: Lang, error: &ApiError) -> Response {
    let body = format!(
        "{}<p><a href=\"/privacy/request?lang={}\">{}</a></p>\n",
        error_box(lang, error),
        lang.as_str(),
        t(lang, "Naar het formulier voor een nieuw verzoek", "To the form for a new request"),
    );
    html(error.status(), lang, t(lang, "Privacyverzoek", "Privacy request"), &body)
}

fn vault_error(lang: Lang, error: VaultError) -> Response {
    error_page(lang, &ApiError::from(error))
}

fn not_found(lang: Lang) -> Response {
    error_page(
        lang,
        &ApiError::new(
            StatusCode::NOT_FOUND,
            "request_not_found",
            "Request not found",
            "there is no request with this reference",
            "er is geen verzoek met dit kenmerk",
        ),
    )
}

/// The request id in the path; anything else is an unknown request (404 page).
fn request_id(raw: &str) -> Option<RequestId> {
    raw.parse().ok()
}

// ------------------------------------------------------------------------------------------------
// Names and explanations

fn kind_name(lang: Lang, kind: RequestKind) -> &'static str {
    match kind {
        RequestKind::Access => t(lang, "Inzage", "Access"),
        RequestKind::Rectification => t(lang, "Rectificatie (correctie)", "Rectification (correction)"),
        RequestKind::Erasure => t(lang, "Verwijdering", "Erasure"),
        RequestKind::Restriction => t(lang, "Beperking van de verwerking", "Restriction of processing"),
        RequestKind::Portability => t(lang, "Overdraagbaarheid", "Data portability"),
        RequestKind::Objection => t(lang, "Bezwaar", "Objection"),
        RequestKind::Withdrawal => t(lang, "Intrekken van toestemming", "Withdrawal of consent"),
    }
}

fn kind_explanation(lang: Lang, kind: RequestKind) -> &'static str {
    match kind {
        RequestKind::Access => t(
            lang,
            "U krijgt een kopie van de gegevens die wij over u hebben en hoe wij die gebruiken.",
            "You receive a copy of the data we hold about you and how we use it.",
        ),
        RequestKind::Rectification => t(
            lang,
            "Wij verbeteren of vullen gegevens aan die onjuist of onvolledig zijn.",
            "We correct or complete data that is wrong or incomplete.",
        ),
        RequestKind::Erasure => t(
            lang,
            "Wij wissen uw gegevens, behalve wat wij wettelijk moeten bewaren.",
            "We erase your data, except what the law requires us to keep.",
        ),
        RequestKind::Restriction => t(
            lang,
            "Wij gebruiken uw gegevens tijdelijk niet, maar bewaren ze wel.",
            "We temporarily stop using your data, but keep it.",
        ),
        RequestKind::Portability => t(
            lang,
            "U krijgt de gegevens die u ons gaf in een machineleesbaar bestand.",
            "You receive the data you gave us in a machine-readable file.",
        ),
        RequestKind::Objection => t(
            lang,
            "Wij stoppen met het gebruik van uw gegevens voor een doel dat u kiest.",
            "We stop using your data for a purpose you choose.",
        ),
        RequestKind::Withdrawal => t(
            lang,
            "U trekt uw toestemming voor een doel in; wij stoppen met dat gebruik.",
            "You withdraw your consent for a purpose; we stop that use.",
        ),
    }
}

fn state_name(lang: Lang, state: RequestState) -> &'static str {
    match state {
        RequestState::Received => t(lang, "Ontvangen", "Received"),
        RequestState::Verifying => {
            t(lang, "Wacht op bevestiging van uw identiteit", "Waiting for proof of your identity")
        }
        RequestState::InProgress => t(lang, "In behandeling", "In progress"),
        RequestState::Extended => t(lang, "In behandeling (termijn verlengd)", "In progress (term extended)"),
        RequestState::Completed => t(lang, "Afgehandeld", "Completed"),
        RequestState::PartiallyCompleted => t(lang, "Gedeeltelijk afgehandeld", "Partially completed"),
        RequestState::Refused => t(lang, "Afgewezen", "Refused"),
        RequestState::CannotIdentify => t(lang, "Identiteit niet vastgesteld", "Identity could not be established"),
        RequestState::Withdrawn => t(lang, "Ingetrokken", "Withdrawn"),
    }
}

fn format_name(lang: Lang, format: &str) -> &'static str {
    match format {
        "json" => t(lang, "JSON (machineleesbaar)", "JSON (machine-readable)"),
        "csv_zip" => t(lang, "CSV-bestanden in een zip-archief", "CSV files in a zip archive"),
        "csv" => t(lang, "CSV (spreadsheet)", "CSV (spreadsheet)"),
        "html" => t(lang, "Leesbaar overzicht (HTML)", "Readable overview (HTML)"),
        "report" => t(lang, "Verslag van de afhandeling", "Report of what was done"),
        _ => t(lang, "Bestand", "File"),
    }
}

/// The purposes a requester can object to or withdraw consent for: the current register's (with
/// their names), else the purposes of the policy in force.
async fn purposes(state: &AppState, lang: Lang) -> Vec<(String, String)> {
    if let Ok(Some((_, register))) = state.vault.current_register().await {
        return register
            .purposes
            .iter()
            .map(|(key, def)| {
                let name = match lang {
                    Lang::Nl => &def.name.nl,
                    Lang::En => &def.name.en,
                };
                (key.clone(), name.clone())
            })
            .collect();
    }
    state.vault.policy().purposes().map(|p| (p.as_str().to_owned(), p.as_str().replace('_', " "))).collect()
}

// ------------------------------------------------------------------------------------------------
// The intake form

/// What the intake form holds (to show it again after an error).
#[derive(Debug, Default)]
struct IntakeForm {
    kind: String,
    email: String,
    purpose: String,
    details: String,
    notice_lang: String,
}

async fn intake_page(state: &AppState, lang: Lang, form: &IntakeForm, error: Option<&ApiError>) -> String {
    let mut body = String::new();
    if let Some(error) = error {
        body.push_str(&error_box(lang, error));
    }
    let _ = write!(
        body,
        "<p>{}</p>\n<form method=\"post\" action=\"/privacy/request?lang={}\">\n<fieldset>\n<legend>{}</legend>\n",
        t(
            lang,
            "Met dit formulier oefent u uw rechten uit onder de AVG (artikelen 15 tot en met 22). Wij sturen een \
             code naar uw e-mailadres om te bevestigen dat het verzoek van u komt. U krijgt binnen een maand antwoord.",
            "With this form you exercise your rights under the GDPR (Articles 15 to 22). We send a code to your \
             e-mail address to confirm that the request comes from you. You get an answer within one month.",
        ),
        lang.as_str(),
        t(lang, "Wat wilt u?", "What would you like?"),
    );
    for kind in RequestKind::ALL {
        let checked = if form.kind == kind.as_str() { " checked=\"checked\"" } else { "" };
        let _ = writeln!(
            body,
            "<p><label><input type=\"radio\" name=\"kind\" value=\"{value}\" required=\"required\"{checked}/> \
             <strong>{name}</strong> ({article}): {explanation}</label></p>",
            value = kind.as_str(),
            name = e(kind_name(lang, kind)),
            article = e(kind.article()),
            explanation = e(kind_explanation(lang, kind)),
        );
    }
    body.push_str("</fieldset>\n");
    let _ = writeln!(
        body,
        "<p><label for=\"email\">{}</label><br/>\n<input type=\"email\" id=\"email\" name=\"email\" required=\"required\" \
         maxlength=\"254\" autocomplete=\"email\" value=\"{}\"/></p>",
        t(lang, "Uw e-mailadres", "Your e-mail address"),
        e(&form.email),
    );
    let _ = write!(
        body,
        "<p><label for=\"purpose\">{}</label><br/>\n<select id=\"purpose\" name=\"purpose\">\n<option value=\"\">{}</option>\n",
        t(
            lang,
            "Doel (alleen bij bezwaar of het intrekken van toestemming)",
            "Purpose (only for an objection or the withdrawal of consent)"
        ),
        t(lang, "— geen —", "— none —"),
    );
    for (key, name) in purposes(state, lang).await {
        let selected = if form.purpose == key { " selected=\"selected\"" } else { "" };
        let _ = writeln!(body, "<option value=\"{}\"{selected}>{}</option>", e(&key), e(&name));
    }
    body.push_str("</select></p>\n");
    let _ = writeln!(
        body,
        "<p><label for=\"details\">{}</label><br/>\n<textarea id=\"details\" name=\"details\" rows=\"6\" cols=\"60\" \
         maxlength=\"4000\">{}</textarea></p>",
        t(
            lang,
            "Toelichting (bijvoorbeeld welke gegevens onjuist zijn, of waarom u bezwaar maakt)",
            "Details (for example which data is wrong, or why you object)"
        ),
        e(&form.details),
    );
    let chosen = if form.notice_lang.is_empty() { lang.as_str() } else { form.notice_lang.as_str() };
    let _ = write!(
        body,
        "<fieldset>\n<legend>{}</legend>\n",
        t(lang, "Taal van onze berichten", "Language of our messages")
    );
    for (value, label) in [("nl", "Nederlands"), ("en", "English"), ("both", "Nederlands en English")] {
        let checked = if chosen == value { " checked=\"checked\"" } else { "" };
        let _ = writeln!(
            body,
            "<label><input type=\"radio\" name=\"lang\" value=\"{value}\"{checked}/> {label}</label><br/>"
        );
    }
    let _ = write!(
        body,
        "</fieldset>\n<p><button type=\"submit\">{}</button></p>\n</form>\n<p class=\"meta\">{}</p>\n",
        t(lang, "Verzoek indienen", "Submit request"),
        t(
            lang,
            "Wij gebruiken uw e-mailadres alleen voor dit verzoek. Dezelfde bevestiging verschijnt of wij uw adres nu \
             kennen of niet.",
            "We use your e-mail address for this request only. The same confirmation appears whether or not we know \
             your address."
        ),
    );
    body
}

/// The form for a new data-subject request (public).
#[utoipa::path(
    get,
    path = "/privacy/request",
    tag = "portal",
    params(PortalQuery),
    responses((status = 200, description = "the form", body = String, content_type = "text/html"))
)]
pub async fn request_form(
    State(state): State<AppState>,
    Query(query): Query<PortalQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = language(&query, &headers);
    let body = intake_page(&state, lang, &IntakeForm::default(), None).await;
    html(StatusCode::OK, lang, t(lang, "Privacyverzoek indienen", "Submit a privacy request"), &body)
}

/// The fields of a form post (`application/x-www-form-urlencoded`), each at most once.
pub fn form_fields(bytes: &[u8]) -> Option<Vec<(String, String)>> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(bytes).ok()
}

pub fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
}

fn bad_form() -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_form",
        "Invalid form",
        "the form could not be read; fill it in again",
        "het formulier kon niet worden gelezen; vul het opnieuw in",
    )
}

/// The intake form again, with the problem. The form is a correction round: 422 whatever the
/// vault's status for bad input; failures of kluis itself keep their status.
async fn refuse_intake(state: &AppState, lang: Lang, form: &IntakeForm, error: ApiError) -> Response {
    let page = intake_page(state, lang, form, Some(&error)).await;
    let status = if error.status().is_server_error() { error.status() } else { StatusCode::UNPROCESSABLE_ENTITY };
    html(status, lang, t(lang, "Privacyverzoek indienen", "Submit a privacy request"), &page)
}

/// File a request from the form (public). On success `303` to the request's page, where the code
/// mailed to the address is entered; on bad input the form again with the problem (422). The
/// answer is the same whether or not the address is known.
#[utoipa::path(
    post,
    path = "/privacy/request",
    tag = "portal",
    params(PortalQuery),
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "kind, email, purpose, details, lang (of the notices: nl, en, both)"),
    responses(
        (status = 303, description = "filed; `Location` is the request's page"),
        (status = 422, description = "the form again, with the problem", body = String, content_type = "text/html"),
        (status = 403, description = "posted from another site (`csrf_failed`)"),
    )
)]
pub async fn submit_request(
    State(state): State<AppState>,
    Query(query): Query<PortalQuery>,
    client: Client,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let lang = language(&query, &headers);
    let fields = if is_form(&headers) { form_fields(&body) } else { None };
    let Some(fields) = fields else {
        return refuse_intake(&state, lang, &IntakeForm::default(), bad_form()).await;
    };
    let form = IntakeForm {
        kind: field(&fields, "kind").unwrap_or_default().to_owned(),
        email: field(&fields, "email").unwrap_or_default().trim().to_owned(),
        purpose: field(&fields, "purpose").unwrap_or_default().to_owned(),
        details: field(&fields, "details").unwrap_or_default().to_owned(),
        notice_lang: field(&fields, "lang").unwrap_or_default().to_owned(),
    };
    let kind = match form.kind.as_str() {
        "" => {
            return refuse_intake(
                &state,
                lang,
                &form,
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "kind_required",
                    "Choose a request type",
                    "choose what you would like us to do",
                    "kies wat u wilt dat wij doen",
                ),
            )
            .await;
        }
        raw => match crate::routes::requests::parse_kind(raw) {
            Ok(kind) => kind,
            Err(error) => return refuse_intake(&state, lang, &form, error).await,
        },
    };
    if form.email.is_empty() {
        return refuse_intake(
            &state,
            lang,
            &form,
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "email_required",
                "E-mail address required",
                "fill in your e-mail address: the code that confirms your request is sent there",
                "vul uw e-mailadres in: daarheen sturen wij de code die uw verzoek bevestigt",
            ),
        )
        .await;
    }
    let notice_lang = match form.notice_lang.as_str() {
        "" => match lang {
            Lang::Nl => NoticeLang::Nl,
            Lang::En => NoticeLang::En,
        },
        raw => match crate::routes::requests::parse_lang(Some(raw)) {
            Ok(notice_lang) => notice_lang,
            Err(error) => return refuse_intake(&state, lang, &form, error).await,
        },
    };
    let details = Some(form.details.trim()).filter(|d| !d.is_empty()).map(str::to_owned);
    // The select is always on the form: a purpose counts only for the kinds that are about one.
    let purpose = Some(form.purpose.clone()).filter(|p| !p.is_empty() && kind.needs_purpose());
    let new = NewRequest {
        kind,
        channel: kluis_domain::request::Channel::Portal,
        lang: notice_lang,
        email: Some(form.email.clone()),
        subject: None,
        purpose,
        details,
        changes: Vec::new(),
    };
    match state.vault.submit_request(&context(&client), new).await {
        Ok(request) => see_other(&format!("/privacy/request/{}?lang={}", request.id, lang.as_str())),
        Err(error) => refuse_intake(&state, lang, &form, ApiError::from(error)).await,
    }
}

// ------------------------------------------------------------------------------------------------
// The request's page

fn status_page(lang: Lang, status: &PortalStatus, notice: Option<&str>, error: Option<&ApiError>) -> String {
    let id = status.id.to_string();
    let l = lang.as_str();
    let mut body = String::new();
    if let Some(error) = error {
        body.push_str(&error_box(lang, error));
    }
    if let Some(notice) = notice {
        let _ = writeln!(body, "<p role=\"status\"><strong>{}</strong></p>", e(notice));
    }
    let _ = write!(
        body,
        "<dl>\n<dt>{}</dt><dd><code>{}</code></dd>\n<dt>{}</dt><dd>{} ({})</dd>\n<dt>{}</dt><dd>{}</dd>\n\
         <dt>{}</dt><dd>{}</dd>\n</dl>\n",
        t(lang, "Kenmerk", "Reference"),
        e(&id),
        t(lang, "Soort verzoek", "Type of request"),
        e(kind_name(lang, status.kind)),
        e(status.kind.article()),
        t(lang, "Status", "Status"),
        e(state_name(lang, status.state)),
        t(lang, "Uiterste datum van ons antwoord", "Our answer is due by"),
        e(&status.due_on),
    );
    if status.state == RequestState::Verifying {
        let _ = write!(
            body,
            "<h2>{}</h2>\n<p>{}</p>\n<form method=\"post\" action=\"/privacy/request/{id}/verify?lang={l}\">\n\
             <p><label for=\"code\">{}</label><br/>\n<input type=\"text\" id=\"code\" name=\"code\" required=\"required\" \
             inputmode=\"numeric\" autocomplete=\"one-time-code\" maxlength=\"32\"/></p>\n<p><button type=\"submit\">{}</button></p>\n\
             </form>\n<form method=\"post\" action=\"/privacy/request/{id}/code?lang={l}\">\n<p>{} \
             <button type=\"submit\">{}</button></p>\n</form>\n",
            t(lang, "Bevestig uw verzoek", "Confirm your request"),
            t(
                lang,
                "Wij hebben een code naar uw e-mailadres gestuurd (als wij dat adres kennen of u het zojuist opgaf). \
                 Vul de code hieronder in. De code is beperkt geldig en kan maar een paar keer worden geprobeerd.",
                "We sent a code to your e-mail address. Enter it below. The code is valid for a limited time and \
                 can be tried a few times only."
            ),
            t(lang, "Code uit de e-mail", "Code from the e-mail"),
            t(lang, "Bevestigen", "Confirm"),
            t(lang, "Geen code ontvangen of verlopen?", "No code received, or expired?"),
            t(lang, "Stuur een nieuwe code", "Send a new code"),
        );
    }
    if status.id_upload_allowed && !status.state.is_closed() {
        let _ = write!(
            body,
            "<h2>{}</h2>\n<p>{}</p>\n<p><a href=\"/privacy/request/{id}/upload?lang={l}\">{}</a></p>\n",
            t(lang, "Identiteitsbewijs", "Identity document"),
            t(
                lang,
                "Wij vragen u voor dit verzoek een kopie van een identiteitsbewijs te sturen.",
                "For this request we ask you to send a copy of an identity document."
            ),
            t(lang, "Identiteitsbewijs uploaden", "Upload an identity document"),
        );
    }
    if status.state.is_closed() {
        let _ = writeln!(
            body,
            "<p>{}</p>",
            t(
                lang,
                "Dit verzoek is afgesloten. U hebt per e-mail bericht gekregen over de afhandeling.",
                "This request is closed. You were told by e-mail how it was handled."
            ),
        );
    } else if status.state != RequestState::Verifying {
        let _ = writeln!(
            body,
            "<p>{}</p>",
            t(
                lang,
                "Wij werken aan uw verzoek en laten u per e-mail weten wanneer het is afgehandeld.",
                "We are working on your request and will tell you by e-mail when it is done."
            ),
        );
    }
    body
}

async fn show_status(
    state: &AppState,
    lang: Lang,
    id: RequestId,
    http_status: StatusCode,
    notice: Option<&str>,
    error: Option<&ApiError>,
) -> Response {
    match state.vault.portal_status(id).await {
        Ok(status) => html(
            http_status,
            lang,
            t(lang, "Uw privacyverzoek", "Your privacy request"),
            &status_page(lang, &status, notice, error),
        ),
        Err(error) => vault_error(lang, error),
    }
}

/// The page of one request: its state and due date, the form for the mailed code while it waits
/// for one, a link to the ID upload when staff allowed it (public; no personal data).
#[utoipa::path(
    get,
    path = "/privacy/request/{id}",
    tag = "portal",
    params(("id" = String, Path, description = "request id (UUID)"), PortalQuery),
    responses(
        (status = 200, description = "the page", body = String, content_type = "text/html"),
        (status = 404, description = "no such request", body = String, content_type = "text/html"),
    )
)]
pub async fn request_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<PortalQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = language(&query, &headers);
    let Some(id) = request_id(&id) else {
        return not_found(lang);
    };
    let notice = query.sent.as_deref().map(|_| t(lang, "Er is een nieuwe code verstuurd.", "A new code was sent."));
    show_status(&state, lang, id, StatusCode::OK, notice, None).await
}

/// Confirm a request with the mailed code (public). On success `303` to the request's page; a
/// wrong code shows the page again with the attempts left (400); after the last attempt, or
/// once the code expired, a new code must be asked for (`code_unavailable`, 400).
#[utoipa::path(
    post,
    path = "/privacy/request/{id}/verify",
    tag = "portal",
    params(("id" = String, Path, description = "request id (UUID)"), PortalQuery),
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "code"),
    responses(
        (status = 303, description = "verified; `Location` is the request's page"),
        (status = 400, description = "wrong code, or no valid code", body = String, content_type = "text/html"),
        (status = 404, description = "no such request", body = String, content_type = "text/html"),
        (status = 409, description = "the request does not wait for a code", body = String, content_type = "text/html"),
    )
)]
pub async fn verify(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<PortalQuery>,
    client: Client,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let lang = language(&query, &headers);
    let Some(id) = request_id(&id) else {
        return not_found(lang);
    };
    let code = if is_form(&headers) { form_fields(&body) } else { None }
        .and_then(|fields| field(&fields, "code").map(|c| c.trim().to_owned()))
        .unwrap_or_default();
    match state.vault.verify_code(&context(&client), id, code).await {
        Ok(_) => see_other(&format!("/privacy/request/{id}?lang={}", lang.as_str())),
        Err(error @ VaultError::Request(RequestError::CodeWrong { .. } | RequestError::CodeUnavailable)) => {
            let error = ApiError::from(error);
            show_status(&state, lang, id, error.status(), None, Some(&error)).await
        }
        Err(error) => vault_error(lang, error),
    }
}

/// Mail a new code for a request that waits for one (public). `303` to the request's page.
#[utoipa::path(
    post,
    path = "/privacy/request/{id}/code",
    tag = "portal",
    params(("id" = String, Path, description = "request id (UUID)"), PortalQuery),
    responses(
        (status = 303, description = "sent; `Location` is the request's page"),
        (status = 404, description = "no such request", body = String, content_type = "text/html"),
        (status = 409, description = "the request does not wait for a code", body = String, content_type = "text/html"),
        (status = 429, description = "too many codes for this request", body = String, content_type = "text/html"),
    )
)]
pub async fn new_code(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<PortalQuery>,
    client: Client,
    headers: HeaderMap,
) -> Response {
    let lang = language(&query, &headers);
    let Some(id) = request_id(&id) else {
        return not_found(lang);
    };
    // Only a request that waits for a code gets one from the public page.
    match state.vault.portal_status(id).await {
        Ok(status) if status.state == RequestState::Verifying => {}
        Ok(status) => {
            let error = ApiError::from(VaultError::Request(RequestError::Transition {
                from: status.state,
                to: RequestState::Verifying,
            }));
            return show_status(&state, lang, id, error.status(), None, Some(&error)).await;
        }
        Err(error) => return vault_error(lang, error),
    }
    match state.vault.send_code(&context(&client), id).await {
        Ok(_) => see_other(&format!("/privacy/request/{id}?lang={}&sent=1", lang.as_str())),
        Err(error) => {
            let error = ApiError::from(error);
            show_status(&state, lang, id, error.status(), None, Some(&error)).await
        }
    }
}

// ------------------------------------------------------------------------------------------------
// The ID-document upload

/// The instruction to shield what a copy of an ID document must not show, in both languages
/// (a person may not read the page's language well, and this matters).
const SHIELD_NL: &str = "Scherm op de kopie uw BSN, pasfoto, de strook met tekens onderaan (MRZ) en het documentnummer \
                         af. Wij hebben alleen uw naam, geboortedatum en de geldigheid nodig. Met de KopieID-app van de \
                         Rijksoverheid maakt u eenvoudig een afgeschermde kopie.";
const SHIELD_EN: &str = "Shield your BSN (citizen service number), your photo, the strip of characters at the bottom \
                         (MRZ) and the document number on the copy. We only need your name, date of birth and the \
                         validity. The Dutch government's KopieID app makes a shielded copy easily.";

fn upload_page(lang: Lang, id: RequestId, error: Option<&ApiError>) -> String {
    let mut body = String::new();
    if let Some(error) = error {
        body.push_str(&error_box(lang, error));
    }
    let _ = write!(
        body,
        "<div class=\"notice\">\n<h2>{}</h2>\n<p lang=\"nl\">{}</p>\n<p lang=\"en\">{}</p>\n</div>\n\
         <p>{}</p>\n<form method=\"post\" action=\"/privacy/request/{id}/upload?lang={l}\" enctype=\"multipart/form-data\">\n\
         <p><label for=\"document\">{}</label><br/>\n<input type=\"file\" id=\"document\" name=\"document\" required=\"required\" \
         accept=\"image/jpeg,image/png,application/pdf\"/></p>\n<p><button type=\"submit\">{}</button></p>\n</form>\n\
         <p><a href=\"/privacy/request/{id}?lang={l}\">{}</a></p>\n",
        t(lang, "Eerst afschermen / Shield first", "Shield first / Eerst afschermen"),
        e(SHIELD_NL),
        e(SHIELD_EN),
        t(
            lang,
            "Alleen JPEG, PNG of PDF. Wij bewaren het bestand versleuteld tot de controle en verwijderen het direct daarna; \
             alleen de uitkomst van de controle blijft bewaard.",
            "JPEG, PNG or PDF only. We keep the file encrypted until the check and delete it right after; only the \
             outcome of the check is kept."
        ),
        t(lang, "Kopie van uw identiteitsbewijs", "Copy of your identity document"),
        t(lang, "Uploaden", "Upload"),
        t(lang, "Terug naar uw verzoek", "Back to your request"),
        l = lang.as_str(),
    );
    body
}

/// The upload form for an ID document, with the instruction to shield the BSN, the photo, the MRZ
/// and the document number (public; only when staff enabled it for the request).
#[utoipa::path(
    get,
    path = "/privacy/request/{id}/upload",
    tag = "portal",
    params(("id" = String, Path, description = "request id (UUID)"), PortalQuery),
    responses(
        (status = 200, description = "the form", body = String, content_type = "text/html"),
        (status = 403, description = "no upload for this request (`upload_not_allowed`)", body = String, content_type = "text/html"),
        (status = 404, description = "no such request", body = String, content_type = "text/html"),
    )
)]
pub async fn upload_form(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<PortalQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = language(&query, &headers);
    let Some(id) = request_id(&id) else {
        return not_found(lang);
    };
    match state.vault.portal_status(id).await {
        Ok(status) if status.id_upload_allowed && !status.state.is_closed() => html(
            StatusCode::OK,
            lang,
            t(lang, "Identiteitsbewijs uploaden", "Upload an identity document"),
            &upload_page(lang, id, None),
        ),
        Ok(_) => vault_error(lang, VaultError::Request(RequestError::UploadNotAllowed)),
        Err(error) => vault_error(lang, error),
    }
}

fn multipart_error(status: StatusCode) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "upload_too_large",
            "File too large",
            "the file is larger than kluis accepts",
            "het bestand is groter dan kluis aanneemt",
        )
    } else {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_upload",
            "Unreadable upload",
            "the upload could not be read: send the form with one file in the field `document`",
            "de upload kon niet worden gelezen: verstuur het formulier met één bestand in het veld `document`",
        )
    }
}

/// The file of the `document` field (content type as the browser named it).
async fn read_document(request: Request, state: &AppState) -> Result<(String, Vec<u8>), ApiError> {
    let mut multipart =
        Multipart::from_request(request, state).await.map_err(|rejection| multipart_error(rejection.status()))?;
    loop {
        let Some(field) = multipart.next_field().await.map_err(|e| multipart_error(e.status()))? else {
            return Err(multipart_error(StatusCode::BAD_REQUEST));
        };
        if field.name() != Some("document") {
            continue;
        }
        let content_type = field.content_type().unwrap_or("application/octet-stream").to_owned();
        let bytes = field.bytes().await.map_err(|e| multipart_error(e.status()))?;
        if bytes.is_empty() {
            return Err(multipart_error(StatusCode::BAD_REQUEST));
        }
        return Ok((content_type, bytes.to_vec()));
    }
}

/// Upload the ID document (public; `multipart/form-data` with the file in `document`; JPEG, PNG
/// or PDF). It is stored encrypted until the staff check and deleted right after it.
#[utoipa::path(
    post,
    path = "/privacy/request/{id}/upload",
    tag = "portal",
    params(("id" = String, Path, description = "request id (UUID)"), PortalQuery),
    request_body(content = String, content_type = "multipart/form-data", description = "document: the file"),
    responses(
        (status = 303, description = "stored; `Location` is the request's page"),
        (status = 400, description = "no file in the form", body = String, content_type = "text/html"),
        (status = 403, description = "no upload for this request (`upload_not_allowed`)", body = String, content_type = "text/html"),
        (status = 404, description = "no such request", body = String, content_type = "text/html"),
        (status = 413, description = "the file is too large (`upload_too_large`)", body = String, content_type = "text/html"),
        (status = 415, description = "not a JPEG, PNG or PDF file (`upload_type`)", body = String, content_type = "text/html"),
    )
)]
pub async fn upload(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<PortalQuery>,
    client: Client,
    request: Request,
) -> Response {
    let lang = language(&query, request.headers());
    let Some(id) = request_id(&id) else {
        return not_found(lang);
    };
    let title = t(lang, "Identiteitsbewijs uploaden", "Upload an identity document");
    // Refuse before reading the body when the request takes no upload.
    match state.vault.portal_status(id).await {
        Ok(status) if status.id_upload_allowed && !status.state.is_closed() => {}
        Ok(_) => return vault_error(lang, VaultError::Request(RequestError::UploadNotAllowed)),
        Err(error) => return vault_error(lang, error),
    }
    let (content_type, bytes) = match read_document(request, &state).await {
        Ok(document) => document,
        Err(error) => return html(error.status(), lang, title, &upload_page(lang, id, Some(&error))),
    };
    match state.vault.upload_id(&context(&client), id, content_type, bytes).await {
        Ok(_) => see_other(&format!("/privacy/request/{id}?lang={}", lang.as_str())),
        Err(
            error @ VaultError::Request(
                RequestError::UploadTooLarge { .. } | RequestError::UploadType | RequestError::Invalid { .. },
            ),
        ) => {
            let error = ApiError::from(error);
            html(error.status(), lang, title, &upload_page(lang, id, Some(&error)))
        }
        Err(error) => vault_error(lang, error),
    }
}

// ------------------------------------------------------------------------------------------------
// Downloads

/// The download page of an export: its files and until when they can be downloaded (public; the
/// token from the completion mail is the credential).
#[utoipa::path(
    get,
    path = "/privacy/request/download/{token}",
    tag = "portal",
    params(("token" = String, Path, description = "the download token from the mail"), PortalQuery),
    responses(
        (status = 200, description = "the page", body = String, content_type = "text/html"),
        (status = 404, description = "no download for this link", body = String, content_type = "text/html"),
        (status = 410, description = "the link has expired", body = String, content_type = "text/html"),
    )
)]
pub async fn download_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(query): Query<PortalQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = language(&query, &headers);
    let (formats, expires) = match state.vault.download_index(token.clone()).await {
        Ok(index) => index,
        Err(error) => return vault_error(lang, error),
    };
    let mut body = format!(
        "<p>{}</p>\n<ul>\n",
        t(
            lang,
            "Hieronder staan de bestanden bij uw verzoek. Bewaar ze op een veilige plek.",
            "Below are the files of your request. Keep them in a safe place."
        )
    );
    let token = token_segment(&token);
    for format in &formats {
        let segment = token_segment(format);
        let _ = writeln!(
            body,
            "<li><a href=\"/privacy/request/download/{token}/{segment}\" download=\"\">{}</a></li>",
            e(format_name(lang, format)),
        );
    }
    let _ = writeln!(
        body,
        "</ul>\n<p>{} <strong>{}</strong>. {}</p>",
        t(lang, "De link werkt tot", "The link works until"),
        e(&expires.rfc3339_utc()),
        t(lang, "Daarna verwijderen wij de bestanden.", "After that we delete the files."),
    );
    html(StatusCode::OK, lang, t(lang, "Uw gegevens downloaden", "Download your data"), &body)
}

/// A path segment of ours (token, format): only URL-safe characters survive, so it can go into
/// an `href` as is.
fn token_segment(raw: &str) -> String {
    raw.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~')).collect()
}

/// One file of an export, as a download (public; the token is the credential; never cached).
#[utoipa::path(
    get,
    path = "/privacy/request/download/{token}/{format}",
    tag = "portal",
    params(
        ("token" = String, Path, description = "the download token from the mail"),
        ("format" = String, Path, description = "json, csv_zip, html, csv or report"),
        PortalQuery,
    ),
    responses(
        (status = 200, description = "the file, as an attachment", body = Vec<u8>, content_type = "application/octet-stream"),
        (status = 404, description = "no download for this link or format", body = String, content_type = "text/html"),
        (status = 410, description = "the link has expired", body = String, content_type = "text/html"),
    )
)]
pub async fn download_file(
    State(state): State<AppState>,
    Path((token, format)): Path<(String, String)>,
    Query(query): Query<PortalQuery>,
    client: Client,
    headers: HeaderMap,
) -> Response {
    let lang = language(&query, &headers);
    match state.vault.download_export(&context(&client), token, format).await {
        Ok(download) => attachment(download.content_type, &download.file_name, download.bytes.to_vec()),
        Err(error) => vault_error(lang, error),
    }
}
