//! The authorization matrix (access-control issue): every route of the OpenAPI document × every
//! kind of caller × every purpose, with the expected allow or deny and, for reads, the exact
//! fields returned and withheld.
//!
//! The expectations are written out by hand below (which caller holds which permission, which
//! caller may use which purpose, which fields a purpose shows), from the issue and the built-in
//! register, not computed by the code under test. The routes come from `kluis_server::openapi()`:
//! a route without a matrix entry, or an entry without a route, fails the test.

use std::collections::{BTreeMap, BTreeSet};

use axum::http::{Method, StatusCode};
use kluis_domain::access::Permission;
use kluis_domain::audit::AuditContext;
use kluis_store_conformance::Backend;
use kluis_vault::{Store, TokenSpec};
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, TestRequest, TestResponse, encode, random_iban, strong_password};

backend_tests!(authorization_matrix, restriction_art_18);

// ------------------------------------------------------------------------------------------------
// The expectations, by hand

/// How a route decides who may call it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// Anyone, without credentials; credentials change nothing.
    Public,
    /// Any valid credential.
    Authenticated,
    /// A permission that is not about personal data.
    Needs(Permission),
    /// Personal data: decided by the `Kluis-Purpose` of the call.
    Purpose(Op),
    /// Filing a data-subject request: an application's service token (for its customer) or a
    /// holder of `handle_requests` (on behalf of a requester).
    Intake,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Create,
    Find,
    Read,
    Change,
    Erase,
}

/// Every route, by OpenAPI method and path template.
const MATRIX: &[(&str, &str, Rule)] = &[
    ("post", "/api/v1/subjects", Rule::Purpose(Op::Create)),
    ("get", "/api/v1/subjects", Rule::Purpose(Op::Find)),
    ("get", "/api/v1/subjects/{id}", Rule::Purpose(Op::Read)),
    ("patch", "/api/v1/subjects/{id}", Rule::Purpose(Op::Change)),
    ("delete", "/api/v1/subjects/{id}", Rule::Purpose(Op::Erase)),
    ("put", "/api/v1/subjects/{id}/restriction", Rule::Needs(Permission::HandleRequests)),
    ("get", "/api/v1/audit/checkpoint", Rule::Needs(Permission::ReadAudit)),
    ("post", "/api/v1/audit/checkpoints", Rule::Needs(Permission::ReadAudit)),
    ("get", "/api/v1/audit/proof/inclusion", Rule::Needs(Permission::ReadAudit)),
    ("get", "/api/v1/audit/proof/consistency", Rule::Needs(Permission::ReadAudit)),
    ("get", "/api/v1/audit/events", Rule::Needs(Permission::ReadAudit)),
    ("get", "/api/v1/audit/public-key", Rule::Needs(Permission::ReadAudit)),
    ("post", "/api/v1/accounts", Rule::Needs(Permission::ManageAccounts)),
    ("get", "/api/v1/accounts", Rule::Needs(Permission::ManageAccounts)),
    ("get", "/api/v1/accounts/{id}", Rule::Needs(Permission::ManageAccounts)),
    ("patch", "/api/v1/accounts/{id}", Rule::Needs(Permission::ManageAccounts)),
    ("post", "/api/v1/accounts/{id}/unlock", Rule::Needs(Permission::ManageAccounts)),
    ("post", "/api/v1/accounts/{id}/revoke-sessions", Rule::Needs(Permission::ManageAccounts)),
    ("post", "/api/v1/accounts/{id}/reset-enrolment", Rule::Needs(Permission::ManageAccounts)),
    ("post", "/api/v1/tokens", Rule::Needs(Permission::ManageAccounts)),
    ("get", "/api/v1/tokens", Rule::Needs(Permission::ManageAccounts)),
    ("delete", "/api/v1/tokens/{id}", Rule::Needs(Permission::ManageAccounts)),
    ("get", "/api/v1/fields", Rule::Authenticated),
    ("get", "/api/v1/auth/session", Rule::Authenticated),
    ("get", "/api/v1/register", Rule::Authenticated),
    ("get", "/api/v1/register/versions", Rule::Authenticated),
    ("get", "/api/v1/register/versions/{version}", Rule::Authenticated),
    ("post", "/api/v1/requests", Rule::Intake),
    ("get", "/api/v1/requests", Rule::Needs(Permission::HandleRequests)),
    ("get", "/api/v1/requests/{id}", Rule::Needs(Permission::HandleRequests)),
    ("post", "/api/v1/requests/{id}/code", Rule::Needs(Permission::HandleRequests)),
    ("post", "/api/v1/requests/{id}/id-upload", Rule::Needs(Permission::HandleRequests)),
    ("get", "/api/v1/requests/{id}/id-document", Rule::Needs(Permission::HandleRequests)),
    ("post", "/api/v1/requests/{id}/identity", Rule::Needs(Permission::HandleRequests)),
    ("post", "/api/v1/requests/{id}/subject", Rule::Needs(Permission::HandleRequests)),
    ("post", "/api/v1/requests/{id}/extend", Rule::Needs(Permission::HandleRequests)),
    ("post", "/api/v1/requests/{id}/refuse", Rule::Needs(Permission::HandleRequests)),
    ("post", "/api/v1/requests/{id}/cannot-identify", Rule::Needs(Permission::HandleRequests)),
    ("post", "/api/v1/requests/{id}/withdraw", Rule::Needs(Permission::HandleRequests)),
    ("post", "/api/v1/requests/{id}/fulfil", Rule::Needs(Permission::HandleRequests)),
    ("post", "/api/v1/requests/{id}/lift-restriction", Rule::Needs(Permission::HandleRequests)),
    ("post", "/api/v1/requests/{id}/transmit", Rule::Needs(Permission::HandleRequests)),
    ("get", "/privacy/request", Rule::Public),
    ("post", "/privacy/request", Rule::Public),
    ("get", "/privacy/request/{id}", Rule::Public),
    ("post", "/privacy/request/{id}/verify", Rule::Public),
    ("post", "/privacy/request/{id}/code", Rule::Public),
    ("get", "/privacy/request/{id}/upload", Rule::Public),
    ("post", "/privacy/request/{id}/upload", Rule::Public),
    ("get", "/privacy/request/download/{token}", Rule::Public),
    ("get", "/privacy/request/download/{token}/{format}", Rule::Public),
    ("get", "/healthz", Rule::Public),
    ("get", "/privacy", Rule::Public),
    ("get", "/privacy.md", Rule::Public),
    ("post", "/api/v1/auth/login", Rule::Public),
    ("post", "/api/v1/auth/enrol", Rule::Public),
    ("post", "/api/v1/auth/logout", Rule::Public),
];

/// The kinds of caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Who {
    Anonymous,
    /// The token `kluis init` prints.
    BreakGlass,
    /// Console sessions of each role.
    Admin,
    Dpo,
    Staff,
    Accountant,
    Auditor,
    /// A service token scoped to `billing`.
    ServiceBilling,
    /// A service token scoped to every purpose (the harness's default token).
    ServiceAll,
    /// A role token of the auditor role.
    AuditorToken,
    /// A role token of the staff role, further limited to `support`.
    StaffSupportToken,
}

const CALLERS: [Who; 11] = [
    Who::Anonymous,
    Who::BreakGlass,
    Who::Admin,
    Who::Dpo,
    Who::Staff,
    Who::Accountant,
    Who::Auditor,
    Who::ServiceBilling,
    Who::ServiceAll,
    Who::AuditorToken,
    Who::StaffSupportToken,
];

impl Who {
    fn name(self) -> &'static str {
        match self {
            Who::Anonymous => "anonymous",
            Who::BreakGlass => "break-glass",
            Who::Admin => "admin",
            Who::Dpo => "dpo",
            Who::Staff => "staff",
            Who::Accountant => "accountant",
            Who::Auditor => "auditor",
            Who::ServiceBilling => "service-billing",
            Who::ServiceAll => "service-all",
            Who::AuditorToken => "auditor-token",
            Who::StaffSupportToken => "staff-support-token",
        }
    }

    /// Permissions besides personal data (issue: admin manages accounts and the register; the
    /// dpo the register, data-subject requests and the audit log; the auditor the audit log;
    /// the break-glass token accounts, register and audit log).
    fn permissions(self) -> &'static [Permission] {
        use Permission::{HandleRequests, ManageAccounts, ManageRegister, ReadAudit};
        match self {
            Who::BreakGlass => &[ManageAccounts, ManageRegister, ReadAudit],
            Who::Admin => &[ManageAccounts, ManageRegister],
            Who::Dpo => &[ManageRegister, HandleRequests, ReadAudit],
            Who::Auditor | Who::AuditorToken => &[ReadAudit],
            Who::Anonymous
            | Who::Staff
            | Who::Accountant
            | Who::ServiceBilling
            | Who::ServiceAll
            | Who::StaffSupportToken => &[],
        }
    }

    /// The purposes the caller may name (built-in register: staff service_delivery and support,
    /// accountant billing, dpo erasure_request and legal_claims, admin and auditor none).
    fn purposes(self) -> &'static [&'static str] {
        match self {
            Who::Dpo => &["erasure_request", "legal_claims"],
            Who::Staff => &["service_delivery", "support"],
            Who::Accountant | Who::ServiceBilling => &["billing"],
            Who::ServiceAll => &BUILTIN_PURPOSES,
            Who::StaffSupportToken => &["support"],
            Who::Anonymous | Who::BreakGlass | Who::Admin | Who::Auditor | Who::AuditorToken => &[],
        }
    }
}

/// Every purpose of the built-in register.
const BUILTIN_PURPOSES: [&str; 7] =
    ["service_delivery", "support", "billing", "newsletter", "erasure_request", "legal_claims", "storage"];

/// Every purpose of the built-in register, and one it does not define.
const PURPOSES: [&str; 8] =
    ["service_delivery", "support", "billing", "newsletter", "erasure_request", "legal_claims", "storage", "marketing"];

const NAME: [&str; 2] = ["first_names", "last_name"];
const WORKPLACE: [&str; 1] = ["company_name"];
const ADDRESS: [&str; 7] = ["street", "house_number", "house_number_addition", "postcode", "po_box", "city", "country"];
/// Every enabled field of the built-in catalogue (`gender` is disabled).
const ALL_FIELDS: [&str; 14] = [
    "company_name",
    "first_names",
    "last_name",
    "street",
    "house_number",
    "house_number_addition",
    "postcode",
    "po_box",
    "city",
    "country",
    "email",
    "phone",
    "iban",
    "customer_number",
];

/// The fields a purpose shows, or `None` for a purpose the register does not define.
fn purpose_fields(purpose: &str) -> Option<BTreeSet<&'static str>> {
    let fields: Vec<&str> = match purpose {
        // Who the customer is and how to reach and ship to them; not the bank account.
        "service_delivery" => [&NAME[..], &WORKPLACE, &ADDRESS, &["email", "phone", "customer_number"]].concat(),
        // Who is asking and how to get back to them: no address, no IBAN.
        "support" => [&NAME[..], &WORKPLACE, &["email", "phone", "customer_number"]].concat(),
        // Name, address and IBAN only.
        "billing" => [&NAME[..], &ADDRESS, &["iban"]].concat(),
        "newsletter" => vec!["email"],
        "erasure_request" | "legal_claims" | "storage" => ALL_FIELDS.to_vec(),
        _ => return None,
    };
    Some(fields.into_iter().collect())
}

/// What a personal-data call by `who` for `purpose` should get (before the subject's
/// restriction is looked at).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expect {
    Allowed(BTreeSet<&'static str>),
    Refused(StatusCode, &'static str),
}

fn expect(who: Who, purpose: &str) -> Expect {
    if who == Who::Anonymous {
        return Expect::Refused(StatusCode::UNAUTHORIZED, "unauthorized");
    }
    let Some(fields) = purpose_fields(purpose) else {
        return Expect::Refused(StatusCode::BAD_REQUEST, "unknown_purpose");
    };
    if who.purposes().contains(&purpose) {
        Expect::Allowed(fields)
    } else {
        Expect::Refused(StatusCode::FORBIDDEN, "purpose_not_allowed")
    }
}

/// Normalised values for every field; every indexed value is unique to `n`, so a lookup finds
/// this subject only.
fn full_values(n: u32) -> BTreeMap<&'static str, String> {
    [
        ("company_name", "Jansen Hosting".to_owned()),
        ("first_names", "Jan".to_owned()),
        ("last_name", "Jansen".to_owned()),
        ("street", "Stationsstraat".to_owned()),
        ("house_number", (n + 1).to_string()),
        ("house_number_addition", "A".to_owned()),
        ("postcode", "1234 AB".to_owned()),
        ("po_box", "42".to_owned()),
        ("city", "Utrecht".to_owned()),
        ("country", "NL".to_owned()),
        ("email", format!("matrix-{n}@example.nl")),
        ("phone", format!("+3161{n:07}")),
        ("iban", random_iban()),
        ("customer_number", format!("KLANT-{n}")),
    ]
    .into_iter()
    .collect()
}

/// The lookups of `GET /api/v1/subjects` for a subject with `values`: each query and the fields
/// it processes (a lookup needs a purpose that covers them).
fn lookups(values: &BTreeMap<&'static str, String>) -> Vec<(String, &'static [&'static str])> {
    vec![
        (format!("email={}", encode(&values["email"])), &["email"]),
        (format!("iban={}", encode(&values["iban"])), &["iban"]),
        (format!("phone={}", encode(&values["phone"])), &["phone"]),
        (format!("customer_number={}", encode(&values["customer_number"])), &["customer_number"]),
        (
            format!("postcode={}&house_number={}", encode(&values["postcode"]), encode(&values["house_number"])),
            &["postcode", "house_number"],
        ),
    ]
}

/// A lookup `fields` covers (`true`) or does not cover (`false`), if there is one.
fn lookup(values: &BTreeMap<&'static str, String>, fields: &BTreeSet<&str>, covered: bool) -> Option<String> {
    lookups(values).into_iter().find(|(_, by)| by.iter().all(|f| fields.contains(f)) == covered).map(|(q, _)| q)
}

fn values_json<'a>(values: impl IntoIterator<Item = (&'a &'static str, &'a String)>) -> Value {
    Value::Object(values.into_iter().map(|(f, v)| ((*f).to_owned(), Value::String(v.clone()))).collect())
}

// ------------------------------------------------------------------------------------------------
// The routes of the document

/// `(method, path)` of every operation in the OpenAPI document.
fn documented_routes() -> BTreeSet<(String, String)> {
    let doc = serde_json::to_value(kluis_server::openapi()).expect("serialise the OpenAPI document");
    let mut routes = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("a path item").keys() {
            if ["get", "put", "post", "delete", "options", "head", "patch", "trace"].contains(&method.as_str()) {
                routes.insert((method.clone(), path.clone()));
            }
        }
    }
    routes
}

/// The matrix and the document name the same routes, each once.
fn assert_matrix_covers_every_route() {
    let documented = documented_routes();
    let mut entries = BTreeSet::new();
    for (method, path, _) in MATRIX {
        assert!(entries.insert(((*method).to_owned(), (*path).to_owned())), "{method} {path} is in the matrix twice");
    }
    let missing: Vec<_> = documented.difference(&entries).collect();
    let stale: Vec<_> = entries.difference(&documented).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "the authorization matrix and the OpenAPI document differ:\n  routes without a matrix entry: {missing:?}\n  \
         matrix entries without a route: {stale:?}"
    );
}

#[test]
fn matrix_covers_every_documented_route() {
    assert_matrix_covers_every_route();
    assert!(documented_routes().len() >= 30, "the document lists the routes");
}

// ------------------------------------------------------------------------------------------------
// The world the matrix runs in

enum Cred {
    None,
    Bearer(String),
    Session(Session),
}

struct World<'a> {
    app: &'a TestApp,
    creds: BTreeMap<Who, Cred>,
    next: std::cell::Cell<u32>,
}

impl<'a> World<'a> {
    /// Accounts of every role (logged in), and the tokens.
    async fn new(app: &'a TestApp) -> World<'a> {
        let ctx = AuditContext::system();
        let mut creds = BTreeMap::new();
        creds.insert(Who::Anonymous, Cred::None);
        creds.insert(Who::BreakGlass, Cred::Bearer(app.admin_token.clone()));
        creds.insert(Who::ServiceAll, Cred::Bearer(app.token.clone()));
        for (who, role) in [
            (Who::Admin, "admin"),
            (Who::Dpo, "dpo"),
            (Who::Staff, "staff"),
            (Who::Accountant, "accountant"),
            (Who::Auditor, "auditor"),
        ] {
            let staff = app.staff(&format!("m.{role}"), role, &[]).await;
            creds.insert(who, Cred::Session(app.login(&staff).await));
        }
        for (who, role, purposes) in [
            (Who::ServiceBilling, None, Some(vec!["billing".to_owned()])),
            (Who::AuditorToken, Some("auditor".to_owned()), None),
            (Who::StaffSupportToken, Some("staff".to_owned()), Some(vec!["support".to_owned()])),
        ] {
            let spec = TokenSpec { name: who.name().to_owned(), role, purposes, ..TokenSpec::default() };
            let issued = app.vault.create_token(&ctx, &spec).await.expect("create a token");
            creds.insert(who, Cred::Bearer(issued.secret.as_str().to_owned()));
        }
        World { app, creds, next: std::cell::Cell::new(0) }
    }

    /// A number not used before (for unique names and e-mail addresses).
    fn unique(&self) -> u32 {
        let n = self.next.get();
        self.next.set(n + 1);
        n
    }

    /// `request` with `who`'s credentials and no purpose.
    fn with(&self, who: Who, request: TestRequest<'a>) -> TestRequest<'a> {
        match &self.creds[&who] {
            Cred::None => request.anonymous(),
            Cred::Bearer(token) => request.bearer(token).without_header("kluis-purpose"),
            Cred::Session(session) => request.session(session).without_header("kluis-purpose"),
        }
    }

    fn call(&self, who: Who, method: Method, uri: impl Into<String>) -> TestRequest<'a> {
        self.with(who, self.app.request(method, uri))
    }

    /// A subject with every field, created with the default token; returns id and values.
    async fn full_subject(&self) -> (String, BTreeMap<&'static str, String>) {
        let values = full_values(self.unique());
        let id = self.app.create(&values_json(&values)).await;
        (id, values)
    }

    /// The subject as the service token sees it under `storage` (every field), or `None`.
    async fn stored(&self, id: &str) -> Option<Value> {
        let res = self.app.get(format!("/api/v1/subjects/{id}")).send().await;
        match res.status {
            StatusCode::OK => Some(res.json()),
            StatusCode::NOT_FOUND => None,
            other => panic!("read {id} back: {other} {}", res.text()),
        }
    }
}

/// A subject body shows exactly `fields` (with their values) and names exactly the rest.
#[track_caller]
fn assert_shows(body: &Value, values: &BTreeMap<&'static str, String>, fields: &BTreeSet<&str>, context: &str) {
    let shown: BTreeMap<String, String> = body["values"]
        .as_object()
        .unwrap_or_else(|| panic!("{context}: no values: {body}"))
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().expect("a string value").to_owned()))
        .collect();
    let want: BTreeMap<String, String> =
        values.iter().filter(|(f, _)| fields.contains(**f)).map(|(f, v)| ((*f).to_owned(), v.clone())).collect();
    assert_eq!(shown, want, "{context}: the values shown");
    let withheld: BTreeSet<String> = body["withheld"]
        .as_array()
        .unwrap_or_else(|| panic!("{context}: no withheld: {body}"))
        .iter()
        .map(|v| v.as_str().expect("a field name").to_owned())
        .collect();
    let want: BTreeSet<String> = values.keys().filter(|f| !fields.contains(**f)).map(|f| (*f).to_owned()).collect();
    assert_eq!(withheld, want, "{context}: the fields withheld");
}

/// The problem of a refusal; for `permission_denied` the detail names the permission.
#[track_caller]
fn assert_refused(res: &TestResponse, status: StatusCode, code: &str, context: &str) -> Value {
    assert_eq!(res.status, status, "{context}: {}", res.text());
    res.problem(status, code)
}

// ------------------------------------------------------------------------------------------------
// Personal data: every caller × every purpose

async fn personal_data(world: &World<'_>, op: Op) {
    // The subject every read and lookup looks at.
    let (subject, values) = world.full_subject().await;
    let email = values["email"].clone();
    // The subject every change is made to.
    let (changed, _) = world.full_subject().await;
    for who in CALLERS {
        for purpose in PURPOSES {
            let context = format!("{op:?} by {} for {purpose}", who.name());
            let expected = expect(who, purpose);
            match op {
                Op::Read => {
                    let res = world
                        .call(who, Method::GET, format!("/api/v1/subjects/{subject}"))
                        .purpose(purpose)
                        .send()
                        .await;
                    match &expected {
                        Expect::Allowed(fields) => {
                            assert_eq!(res.status, StatusCode::OK, "{context}: {}", res.text());
                            let body = res.json();
                            assert_eq!(body["id"], subject.as_str());
                            assert_eq!(body["restricted"], false, "{context}");
                            assert_shows(&body, &values, fields, &context);
                        }
                        Expect::Refused(status, code) => {
                            let doc = assert_refused(&res, *status, code, &context);
                            assert!(!res.text().contains(&email), "{context}: a refusal shows data: {doc}");
                        }
                    }
                }
                Op::Find => {
                    let Expect::Allowed(fields) = &expected else {
                        let (status, code) = match &expected {
                            Expect::Refused(status, code) => (*status, *code),
                            Expect::Allowed(_) => unreachable!(),
                        };
                        let uri = format!("/api/v1/subjects?email={}", encode(&email));
                        let res = world.call(who, Method::GET, uri).purpose(purpose).send().await;
                        assert_refused(&res, status, code, &context);
                        continue;
                    };
                    let query = lookup(&values, fields, true).expect("every purpose covers some lookup");
                    let res =
                        world.call(who, Method::GET, format!("/api/v1/subjects?{query}")).purpose(purpose).send().await;
                    assert_eq!(res.status, StatusCode::OK, "{context} by {query}: {}", res.text());
                    let body = res.json();
                    let found = body["subjects"].as_array().expect("subjects");
                    assert_eq!(found.len(), 1, "{context}: {body}");
                    assert_eq!(found[0]["id"], subject.as_str());
                    assert_eq!(found[0]["restricted"], false);
                    assert_shows(&found[0], &values, fields, &context);
                    // Looking up by a value the purpose does not cover is processing it: refused.
                    if let Some(query) = lookup(&values, fields, false) {
                        let res = world
                            .call(who, Method::GET, format!("/api/v1/subjects?{query}"))
                            .purpose(purpose)
                            .send()
                            .await;
                        let doc = assert_refused(
                            &res,
                            StatusCode::FORBIDDEN,
                            "field_not_allowed",
                            &format!("{context} by {query}"),
                        );
                        assert!(!res.text().contains(&email), "{context}: {doc}");
                    }
                }
                Op::Create => create(world, who, purpose, &expected, &context).await,
                Op::Change => change(world, who, purpose, &expected, &changed, &context).await,
                Op::Erase => erase(world, who, purpose, &expected, &context).await,
            }
        }
    }
    // The subject that was only read is as it was.
    assert_shows(
        &world.stored(&subject).await.expect("still there"),
        &values,
        &ALL_FIELDS.into_iter().collect(),
        "after",
    );
}

/// Create with exactly the fields of the purpose (allowed), then with one field more (refused).
async fn create(world: &World<'_>, who: Who, purpose: &str, expected: &Expect, context: &str) {
    let app = world.app;
    let all = full_values(world.unique());
    let before = app.counts().await.subjects;
    match expected {
        Expect::Allowed(fields) => {
            let inside: BTreeMap<_, _> = all.iter().filter(|(f, _)| fields.contains(**f)).collect();
            let res = world
                .call(who, Method::POST, "/api/v1/subjects")
                .purpose(purpose)
                .json(&json!({ "values": values_json(inside.iter().map(|(f, v)| (*f, *v))) }))
                .send()
                .await;
            assert_eq!(res.status, StatusCode::CREATED, "{context}: {}", res.text());
            let id = res.json()["id"].as_str().expect("id").to_owned();
            let stored = world.stored(&id).await.expect("the created subject");
            let stored_fields: BTreeSet<&str> =
                stored["values"].as_object().expect("values").keys().map(String::as_str).collect();
            assert_eq!(&stored_fields, fields, "{context}: stored exactly the fields sent");
            if let Some(outside) = ALL_FIELDS.iter().find(|f| !fields.contains(**f)) {
                let mut values = values_json(inside.iter().map(|(f, v)| (*f, *v)));
                values[*outside] = Value::String(all[outside].clone());
                let before = app.counts().await.subjects;
                let res = world
                    .call(who, Method::POST, "/api/v1/subjects")
                    .purpose(purpose)
                    .json(&json!({ "values": values }))
                    .send()
                    .await;
                let doc = assert_refused(&res, StatusCode::FORBIDDEN, "field_not_allowed", context);
                assert!(
                    doc["detail"].as_str().is_some_and(|d| d.contains(outside)),
                    "{context}: names {outside}: {doc}"
                );
                assert_eq!(app.counts().await.subjects, before, "{context}: nothing stored");
            } else {
                assert_eq!(fields.len(), ALL_FIELDS.len());
            }
        }
        Expect::Refused(status, code) => {
            let res = world
                .call(who, Method::POST, "/api/v1/subjects")
                .purpose(purpose)
                .json(&json!({ "values": { "last_name": "Geweigerd" } }))
                .send()
                .await;
            assert_refused(&res, *status, code, context);
            assert_eq!(app.counts().await.subjects, before, "{context}: nothing stored");
        }
    }
}

/// Change a field of the purpose (allowed), or one outside it (refused); the stored subject shows
/// which happened.
async fn change(world: &World<'_>, who: Who, purpose: &str, expected: &Expect, id: &str, context: &str) {
    let uri = format!("/api/v1/subjects/{id}");
    let fresh = full_values(world.unique());
    match expected {
        Expect::Allowed(fields) => {
            // A field inside the purpose: the e-mail address where covered (a new value each
            // time), else the last name.
            let field = if fields.contains("email") { "email" } else { "last_name" };
            let value = if field == "email" { fresh["email"].clone() } else { format!("Naam{}", world.unique()) };
            let res = world
                .call(who, Method::PATCH, uri.clone())
                .purpose(purpose)
                .json(&json!({ "values": { field: value } }))
                .send()
                .await;
            assert_eq!(res.status, StatusCode::NO_CONTENT, "{context}: {}", res.text());
            assert_eq!(world.stored(id).await.expect("the subject")["values"][field], value.as_str(), "{context}");
            if let Some(outside) = ALL_FIELDS.iter().find(|f| !fields.contains(**f)) {
                let before = world.stored(id).await.expect("the subject");
                let res = world
                    .call(who, Method::PATCH, uri)
                    .purpose(purpose)
                    .json(&json!({ "values": { *outside: fresh[outside] } }))
                    .send()
                    .await;
                assert_refused(&res, StatusCode::FORBIDDEN, "field_not_allowed", context);
                assert_eq!(world.stored(id).await.expect("the subject"), before, "{context}: unchanged");
            }
        }
        Expect::Refused(status, code) => {
            let before = world.stored(id).await.expect("the subject");
            let res = world
                .call(who, Method::PATCH, uri)
                .purpose(purpose)
                .json(&json!({ "values": { "last_name": "Geweigerd" } }))
                .send()
                .await;
            assert_refused(&res, *status, code, context);
            assert_eq!(world.stored(id).await.expect("the subject"), before, "{context}: unchanged");
        }
    }
}

/// Erase a fresh subject: only a purpose that covers every field may (erasure destroys them all).
async fn erase(world: &World<'_>, who: Who, purpose: &str, expected: &Expect, context: &str) {
    let (id, _) = world.full_subject().await;
    let res = world.call(who, Method::DELETE, format!("/api/v1/subjects/{id}")).purpose(purpose).send().await;
    match expected {
        Expect::Allowed(fields) if fields.len() == ALL_FIELDS.len() => {
            assert_eq!(res.status, StatusCode::NO_CONTENT, "{context}: {}", res.text());
            assert!(world.stored(&id).await.is_none(), "{context}: erased");
        }
        Expect::Allowed(_) => {
            assert_refused(&res, StatusCode::FORBIDDEN, "field_not_allowed", context);
            assert!(world.stored(&id).await.is_some(), "{context}: not erased");
        }
        Expect::Refused(status, code) => {
            assert_refused(&res, *status, code, context);
            assert!(world.stored(&id).await.is_some(), "{context}: not erased");
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Everything else: allowed or denied by permission

/// Calls `method path` as `who` the way the route is meant to be used. Returns the response and
/// whether the call took effect (for routes that change something), as the store tells.
async fn call_route(world: &World<'_>, who: Who, method: &str, path: &str) -> (TestResponse, Option<bool>) {
    let app = world.app;
    let ctx = AuditContext::system();
    let n = world.unique();
    let m = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
    let victim = || async { app.vault.account_by_username("m.victim").await.expect("the victim account") };
    if path.starts_with("/api/v1/requests") || path.starts_with("/privacy/request") {
        return request_route(world, who, &m, path).await;
    }
    match (method, path) {
        ("put", "/api/v1/subjects/{id}/restriction") => {
            let (id, _) = world.full_subject().await;
            let res = world
                .call(who, m, format!("/api/v1/subjects/{id}/restriction"))
                .json(&json!({ "restricted": true }))
                .send()
                .await;
            let restricted = world.stored(&id).await.expect("the subject")["restricted"] == true;
            (res, Some(restricted))
        }
        ("get", "/api/v1/audit/proof/inclusion") => (world.call(who, m, format!("{path}?index=0")).send().await, None),
        ("get", "/api/v1/audit/proof/consistency") => (world.call(who, m, format!("{path}?from=1")).send().await, None),
        ("post", "/api/v1/accounts") => {
            let username = format!("made.{n}");
            let res = world.call(who, m, path).json(&json!({ "username": username, "role": "staff" })).send().await;
            (res, Some(app.vault.account_by_username(&username).await.is_ok()))
        }
        ("patch", "/api/v1/accounts/{id}") => {
            let entry = format!("192.0.2.{}/32", n % 250);
            let uri = format!("/api/v1/accounts/{}", victim().await.id);
            let res = world.call(who, m, uri).json(&json!({ "allowed_ips": [entry] })).send().await;
            (res, Some(victim().await.allowed_ips == [entry]))
        }
        ("post", "/api/v1/accounts/{id}/reset-enrolment") => {
            // Each reset hands out a new enrolment secret: its hash tells whether one happened.
            let id = victim().await.id;
            let secret_hash =
                || async { app.vault.store().account(id).await.expect("read").expect("the account").enrolment_hash };
            let before = secret_hash().await;
            let res = world.call(who, m, format!("/api/v1/accounts/{id}/reset-enrolment")).send().await;
            (res, Some(secret_hash().await != before))
        }
        (_, p) if p.starts_with("/api/v1/accounts/{id}") => {
            let uri = p.replace("{id}", &victim().await.id.to_string());
            (world.call(who, m, uri).send().await, None)
        }
        ("post", "/api/v1/tokens") => {
            let name = format!("made-{n}");
            let res = world.call(who, m, path).json(&json!({ "name": name, "purposes": ["newsletter"] })).send().await;
            let made = app.vault.tokens().await.expect("tokens").iter().any(|t| t.name == name);
            (res, Some(made))
        }
        ("delete", "/api/v1/tokens/{id}") => {
            let spec = TokenSpec {
                name: format!("doomed-{n}"),
                purposes: Some(vec!["newsletter".to_owned()]),
                ..TokenSpec::default()
            };
            let issued = app.vault.create_token(&ctx, &spec).await.expect("a token");
            let res = world.call(who, m, format!("/api/v1/tokens/{}", issued.id)).send().await;
            let tokens = app.vault.tokens().await.expect("tokens");
            let revoked = tokens.iter().find(|t| t.id == issued.id).expect("the token").revoked_at.is_some();
            (res, Some(revoked))
        }
        ("get", "/api/v1/register/versions/{version}") => {
            (world.call(who, m, "/api/v1/register/versions/1").send().await, None)
        }
        ("post", "/api/v1/auth/login") => {
            let staff = app.staff(&format!("login.{n}"), "staff", &[]).await;
            let body = json!({ "username": staff.username, "password": staff.password, "totp": app.totp(&staff.seed) });
            let res = world.call(who, m, path).json(&body).send().await;
            let logged_in = res.session_cookie().is_some_and(|c| !c.is_empty());
            (res, Some(logged_in))
        }
        ("post", "/api/v1/auth/enrol") => {
            let created = app.vault.create_account(&ctx, &format!("enrol.{n}"), "staff", &[]).await.expect("account");
            let body = json!({ "enrolment_token": created.enrolment_secret.as_str(), "password": strong_password() });
            let res = world.call(who, m, path).json(&body).send().await;
            let open = app.vault.account(created.id).await.expect("the account").enrolment_open;
            (res, Some(!open))
        }
        _ => (world.call(who, m, path).send().await, None),
    }
}

/// The status of a successful call.
fn success_status(method: &str, path: &str) -> StatusCode {
    match (method, path) {
        ("post", "/api/v1/accounts" | "/api/v1/tokens" | "/api/v1/audit/checkpoints" | "/api/v1/requests") => {
            StatusCode::CREATED
        }
        ("post", p) if p.starts_with("/privacy/request") => StatusCode::SEE_OTHER,
        // Past the permission check the vault refuses a loopback target (the sending itself is
        // tested end to end against a real HTTPS server in crates/vault/tests/requests.rs).
        ("post", "/api/v1/requests/{id}/transmit") => StatusCode::UNPROCESSABLE_ENTITY,
        ("put" | "delete", _) | ("post", "/api/v1/accounts/{id}/unlock" | "/api/v1/auth/logout") => {
            StatusCode::NO_CONTENT
        }
        _ => StatusCode::OK,
    }
}

async fn other_route(world: &World<'_>, method: &str, path: &str, rule: Rule) {
    for who in CALLERS {
        let context = format!("{method} {path} as {}", who.name());
        let (res, took_effect) = call_route(world, who, method, path).await;
        let allowed = match rule {
            Rule::Public => true,
            Rule::Authenticated => who != Who::Anonymous,
            Rule::Needs(permission) => who.permissions().contains(&permission),
            Rule::Intake => {
                matches!(who, Who::ServiceAll | Who::ServiceBilling)
                    || who.permissions().contains(&Permission::HandleRequests)
            }
            Rule::Purpose(_) => unreachable!("personal-data routes are checked per purpose"),
        };
        if allowed {
            assert_eq!(res.status, success_status(method, path), "{context}: {}", res.text());
        } else if who == Who::Anonymous {
            assert_refused(&res, StatusCode::UNAUTHORIZED, "unauthorized", &context);
        } else {
            let permission = match rule {
                Rule::Needs(permission) => permission,
                Rule::Intake => Permission::HandleRequests,
                _ => unreachable!("only permissions refuse a valid caller"),
            };
            let doc = assert_refused(&res, StatusCode::FORBIDDEN, "permission_denied", &context);
            let detail = doc["detail"].as_str().unwrap_or_default();
            assert!(detail.contains(permission.as_str()), "{context}: the refusal names the permission: {doc}");
        }
        if let Some(effect) = took_effect {
            assert_eq!(effect, allowed, "{context}: the call took effect iff it was allowed: {}", res.text());
        }
        if path == "/api/v1/auth/session" && allowed {
            whoami(&res.json(), who, &context);
        }
    }
}

/// `GET /api/v1/auth/session` tells the caller what the tables above say.
fn whoami(body: &Value, who: Who, context: &str) {
    let kind = match who {
        Who::BreakGlass => "break_glass",
        Who::Admin | Who::Dpo | Who::Staff | Who::Accountant | Who::Auditor => "session",
        _ => "token",
    };
    assert_eq!(body["kind"], kind, "{context}: {body}");
    let strings = |v: &Value| -> BTreeSet<String> {
        v.as_array().expect("an array").iter().map(|s| s.as_str().expect("a string").to_owned()).collect()
    };
    let permissions: BTreeSet<String> = who.permissions().iter().map(|p| p.as_str().to_owned()).collect();
    assert_eq!(strings(&body["permissions"]), permissions, "{context}: permissions");
    let purposes: BTreeSet<String> = who.purposes().iter().map(|p| (*p).to_owned()).collect();
    assert_eq!(strings(&body["purposes"]), purposes, "{context}: purposes");
}

// ------------------------------------------------------------------------------------------------
// The tests

async fn authorization_matrix(backend: Backend) {
    let Some(app) = TestApp::in_process(backend).await else {
        return;
    };
    assert_matrix_covers_every_route();
    let world = World::new(&app).await;
    app.staff("m.victim", "staff", &[]).await;
    app.vault.checkpoint_now().await.expect("a checkpoint to read");

    // Personal data first: the register loaded below replaces the built-in policy.
    let mut done = BTreeSet::new();
    for (method, path, rule) in MATRIX {
        if let Rule::Purpose(op) = rule {
            personal_data(&world, *op).await;
            done.insert((*method, *path));
        }
    }
    // Then the rest; the register's routes after a register is loaded; logout last (it ends the
    // sessions the other calls use).
    let later = |path: &str| {
        path.starts_with("/api/v1/register") || (path.starts_with("/privacy") && !path.starts_with("/privacy/request"))
    };
    for (method, path, rule) in MATRIX.iter().filter(|(_, p, r)| !matches!(r, Rule::Purpose(_)) && !later(p)) {
        if *path != "/api/v1/auth/logout" {
            other_route(&world, method, path, *rule).await;
            done.insert((*method, *path));
        }
    }
    crate::register::load(&app, crate::register::EXAMPLE).await;
    for (method, path, rule) in MATRIX.iter().filter(|(_, p, _)| later(p)) {
        other_route(&world, method, path, *rule).await;
        done.insert((*method, *path));
    }
    other_route(&world, "post", "/api/v1/auth/logout", Rule::Public).await;
    done.insert(("post", "/api/v1/auth/logout"));
    assert_eq!(done.len(), MATRIX.len(), "every entry was exercised");

    // Logging out ended each session the matrix used.
    for who in [Who::Admin, Who::Dpo, Who::Staff, Who::Accountant, Who::Auditor] {
        let res = world.call(who, Method::GET, "/api/v1/auth/session").send().await;
        assert_refused(&res, StatusCode::UNAUTHORIZED, "session_expired", who.name());
    }
}

/// Art. 18: a restricted subject is readable only for `legal_claims` and `storage`; other
/// purposes are refused with `subject_restricted` (after the usual purpose checks), and a lookup
/// lists it without values. Lifting the restriction restores normal access.
async fn restriction_art_18(backend: Backend) {
    let Some(app) = TestApp::in_process(backend).await else {
        return;
    };
    let world = World::new(&app).await;
    let (id, values) = world.full_subject().await;
    let uri = format!("/api/v1/subjects/{id}");
    // Only the dpo may restrict (the matrix checks every caller); a staff member may not.
    let res = world
        .call(Who::Staff, Method::PUT, format!("{uri}/restriction"))
        .json(&json!({ "restricted": true }))
        .send()
        .await;
    assert_refused(&res, StatusCode::FORBIDDEN, "permission_denied", "staff restricts");
    let res = world
        .call(Who::Dpo, Method::PUT, format!("{uri}/restriction"))
        .json(&json!({ "restricted": true }))
        .send()
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text());
    let events = app.audit_events().await;
    assert!(
        events
            .iter()
            .any(|e| e["action"] == "subject.restrict" && e["reason"] == "restricted" && e["subject"] == id.as_str()),
        "the restriction is audited"
    );

    let mut shown = 0;
    for who in CALLERS {
        for purpose in PURPOSES {
            if restricted_calls(&world, who, purpose, &id, &values).await {
                shown += 1;
            }
        }
    }
    // dpo (legal_claims) and the service token (legal_claims, storage).
    assert_eq!(shown, 3, "the exempt purposes were exercised");
    let refused = app.audit_events().await.iter().filter(|e| e["reason"] == "subject_restricted").count();
    assert!(refused > 0, "refusals for restriction are audited");

    // Lifting the restriction.
    let res = world
        .call(Who::Dpo, Method::PUT, format!("{uri}/restriction"))
        .json(&json!({ "restricted": false }))
        .send()
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text());
    let res = world.call(Who::Staff, Method::GET, uri.clone()).purpose("service_delivery").send().await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let body = res.json();
    assert_eq!(body["restricted"], false);
    assert_shows(&body, &values, &purpose_fields("service_delivery").expect("a purpose"), "after lifting");
}

/// Read, look up and change a restricted subject as `who` for `purpose`; returns whether the
/// values were shown.
async fn restricted_calls(
    world: &World<'_>,
    who: Who,
    purpose: &str,
    id: &str,
    values: &BTreeMap<&'static str, String>,
) -> bool {
    let exempt = ["legal_claims", "storage"];
    let email = &values["email"];
    let uri = format!("/api/v1/subjects/{id}");
    let mut shown = false;
    let context = format!("restricted subject, {} for {purpose}", who.name());
    let expected = match expect(who, purpose) {
        Expect::Allowed(_) if !exempt.contains(&purpose) => {
            Expect::Refused(StatusCode::FORBIDDEN, "subject_restricted")
        }
        other => other,
    };
    // Read.
    let res = world.call(who, Method::GET, uri.clone()).purpose(purpose).send().await;
    match &expected {
        Expect::Allowed(fields) => {
            assert_eq!(res.status, StatusCode::OK, "{context}: {}", res.text());
            let body = res.json();
            assert_eq!(body["restricted"], true, "{context}");
            assert_shows(&body, values, fields, &context);
            shown = true;
        }
        Expect::Refused(status, code) => {
            let doc = assert_refused(&res, *status, code, &context);
            assert!(!res.text().contains(email.as_str()), "{context}: {doc}");
        }
    }
    // Lookup (by a value the purpose covers): listed without values unless exempt.
    let query = match expect(who, purpose) {
        Expect::Allowed(fields) => lookup(values, &fields, true).expect("a covered lookup"),
        Expect::Refused(..) => format!("email={}", encode(email)),
    };
    let res = world.call(who, Method::GET, format!("/api/v1/subjects?{query}")).purpose(purpose).send().await;
    let context = format!("{context}, lookup by {query}");
    match (&expected, expect(who, purpose)) {
        (Expect::Allowed(fields), _) => {
            assert_eq!(res.status, StatusCode::OK, "{context}: {}", res.text());
            let body = res.json();
            assert_eq!(body["subjects"][0]["restricted"], true, "{context}");
            assert_shows(&body["subjects"][0], values, fields, &context);
        }
        (Expect::Refused(_, "subject_restricted"), Expect::Allowed(_)) => {
            assert_eq!(res.status, StatusCode::OK, "{context}: {}", res.text());
            let body = res.json();
            let found = body["subjects"].as_array().expect("subjects");
            assert_eq!(found.len(), 1, "{context}: the subject is listed: {body}");
            assert_eq!(found[0]["id"], id);
            assert_eq!(found[0]["restricted"], true, "{context}");
            assert_shows(&found[0], values, &BTreeSet::new(), &context);
            for value in values.values().filter(|v| v.len() > 3) {
                assert!(!res.text().contains(value.as_str()), "{context}: no values: {body}");
            }
        }
        (Expect::Refused(status, code), _) => {
            assert_refused(&res, *status, code, &context);
        }
    }
    // Change (the last name is covered by every purpose but newsletter).
    if expect(who, purpose) != Expect::Refused(StatusCode::FORBIDDEN, "purpose_not_allowed") && purpose != "newsletter"
    {
        let before = world.stored(id).await.expect("the subject");
        let name = format!("Beperkt{}", world.unique());
        let res = world
            .call(who, Method::PATCH, uri.clone())
            .purpose(purpose)
            .json(&json!({ "values": { "last_name": name } }))
            .send()
            .await;
        match &expected {
            Expect::Allowed(_) => {
                assert_eq!(res.status, StatusCode::NO_CONTENT, "{context}: {}", res.text());
                assert_eq!(world.stored(id).await.expect("the subject")["values"]["last_name"], name.as_str());
                // Put the name back, so the reads above keep their expectation.
                let res = world
                    .call(who, Method::PATCH, uri.clone())
                    .purpose(purpose)
                    .json(&json!({ "values": { "last_name": values["last_name"] } }))
                    .send()
                    .await;
                assert_eq!(res.status, StatusCode::NO_CONTENT, "{context}: {}", res.text());
            }
            Expect::Refused(status, code) => {
                assert_refused(&res, *status, code, &context);
                assert_eq!(world.stored(id).await.expect("the subject"), before, "{context}: unchanged");
            }
        }
    }
    shown
}

// ------------------------------------------------------------------------------------------------
// Data-subject requests: the API (handle_requests; intake also by service tokens) and the public
// portal (anyone; credentials change nothing)

/// A request filed by the service token for a fresh subject (verified at once: in progress).
async fn api_request(world: &World<'_>, kind: &str) -> (String, String) {
    let (subject, _) = world.full_subject().await;
    let res = world.app.post("/api/v1/requests").json(&json!({ "kind": kind, "subject": subject })).send().await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    (res.json()["id"].as_str().expect("id").to_owned(), subject)
}

/// A request a staff member filed for a letter (received).
async fn staff_request(world: &World<'_>) -> String {
    let email = format!("brief-{}@example.nl", world.unique());
    let res = world
        .call(Who::Dpo, Method::POST, "/api/v1/requests")
        .json(&json!({ "kind": "access", "email": email }))
        .send()
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    res.json()["id"].as_str().expect("id").to_owned()
}

/// A request from the portal (verifying, a code mailed).
async fn portal_request(world: &World<'_>) -> String {
    let email = format!("portaal-{}@example.nl", world.unique());
    let res = world
        .app
        .post("/privacy/request")
        .anonymous()
        .body("application/x-www-form-urlencoded", format!("kind=access&email={}", encode(&email)))
        .send()
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let location = res.header("location").expect("Location");
    location.trim_start_matches("/privacy/request/").split('?').next().expect("id").to_owned()
}

fn rid(id: &str) -> kluis_domain::RequestId {
    id.parse().expect("a request id")
}

async fn request_state(world: &World<'_>, id: &str) -> kluis_vault::requests::PortalStatus {
    world.app.vault.portal_status(rid(id)).await.expect("the request")
}

/// The request as staff see it (single view).
async fn listed(world: &World<'_>, id: &str) -> kluis_vault::requests::RequestView {
    world.app.vault.request_view(&AuditContext::system(), rid(id)).await.expect("the request")
}

fn png() -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0".to_vec();
    bytes.resize(300, 0);
    bytes
}

/// A portal request whose requester may upload an ID document (and, with `uploaded`, did).
async fn upload_request(world: &World<'_>, uploaded: bool) -> String {
    let ctx = AuditContext::system();
    let id = staff_request(world).await;
    world.app.vault.enable_id_upload(&ctx, rid(&id), "Adres onbekend.").await.expect("enable the upload");
    if uploaded {
        world.app.vault.upload_id(&ctx, rid(&id), png()).await.expect("upload");
    }
    id
}

/// The portal path of a fresh access export's download page.
async fn download_link(world: &World<'_>) -> String {
    let (id, _) = api_request(world, "access").await;
    let ctx = AuditContext::system();
    world.app.vault.fulfil_request(&ctx, rid(&id), Vec::new()).await.expect("the export");
    world.app.mails().iter().rev().find_map(|m| crate::helpers::download_path_in(m)).expect("a download link")
}

/// The file-mailer notices mentioning `id`.
fn mails_about(world: &World<'_>, id: &str) -> Vec<String> {
    world.app.mails().into_iter().filter(|m| m.contains(id)).collect()
}

#[allow(clippy::too_many_lines, reason = "one arm per route")]
async fn request_route(world: &World<'_>, who: Who, m: &Method, path: &str) -> (TestResponse, Option<bool>) {
    use kluis_domain::request::RequestState as S;
    let app = world.app;
    let call = |uri: String| world.call(who, m.clone(), uri);
    match path {
        "/api/v1/requests" if *m == Method::POST => {
            let (subject, _) = world.full_subject().await;
            let before = app.vault.list_requests(kluis_vault::requests::RequestFilter::All).await.expect("list").len();
            let res = call(path.to_owned()).json(&json!({ "kind": "access", "subject": subject })).send().await;
            let after = app.vault.list_requests(kluis_vault::requests::RequestFilter::All).await.expect("list").len();
            (res, Some(after > before))
        }
        "/api/v1/requests" => (call(format!("{path}?filter=open")).send().await, None),
        "/api/v1/requests/{id}" => {
            let id = staff_request(world).await;
            (call(format!("/api/v1/requests/{id}")).send().await, None)
        }
        "/api/v1/requests/{id}/code" => {
            let id = staff_request(world).await;
            let res = call(format!("/api/v1/requests/{id}/code")).send().await;
            (res, Some(request_state(world, &id).await.state == S::Verifying))
        }
        "/api/v1/requests/{id}/id-upload" => {
            let id = staff_request(world).await;
            let res = call(format!("/api/v1/requests/{id}/id-upload"))
                .json(&json!({ "justification": "Onbekend adres." }))
                .send()
                .await;
            (res, Some(request_state(world, &id).await.id_upload_allowed))
        }
        "/api/v1/requests/{id}/id-document" => {
            let id = upload_request(world, true).await;
            (call(format!("/api/v1/requests/{id}/id-document")).send().await, None)
        }
        "/api/v1/requests/{id}/identity" => {
            let id = upload_request(world, true).await;
            let res = call(format!("/api/v1/requests/{id}/identity")).json(&json!({ "verified": true })).send().await;
            (res, Some(request_state(world, &id).await.state == S::InProgress))
        }
        "/api/v1/requests/{id}/subject" => {
            let id = staff_request(world).await;
            let (subject, _) = world.full_subject().await;
            let res = call(format!("/api/v1/requests/{id}/subject")).json(&json!({ "subject": subject })).send().await;
            (res, Some(listed(world, &id).await.subject.is_some_and(|s| s.to_string() == subject)))
        }
        "/api/v1/requests/{id}/extend" => {
            let (id, _) = api_request(world, "access").await;
            let res =
                call(format!("/api/v1/requests/{id}/extend")).json(&json!({ "reasons": "Complex." })).send().await;
            (res, Some(request_state(world, &id).await.state == S::Extended))
        }
        "/api/v1/requests/{id}/refuse" => {
            let id = staff_request(world).await;
            let res = call(format!("/api/v1/requests/{id}/refuse"))
                .json(&json!({ "reasons": ["manifestly_unfounded"], "text": "Zie brief." }))
                .send()
                .await;
            (res, Some(request_state(world, &id).await.state == S::Refused))
        }
        "/api/v1/requests/{id}/cannot-identify" => {
            let id = staff_request(world).await;
            let res = call(format!("/api/v1/requests/{id}/cannot-identify")).json(&json!({})).send().await;
            (res, Some(request_state(world, &id).await.state == S::CannotIdentify))
        }
        "/api/v1/requests/{id}/withdraw" => {
            let id = staff_request(world).await;
            let res = call(format!("/api/v1/requests/{id}/withdraw")).send().await;
            (res, Some(request_state(world, &id).await.state == S::Withdrawn))
        }
        "/api/v1/requests/{id}/fulfil" => {
            let (id, _) = api_request(world, "restriction").await;
            let res = call(format!("/api/v1/requests/{id}/fulfil")).json(&json!({})).send().await;
            (res, Some(request_state(world, &id).await.state == S::Completed))
        }
        "/api/v1/requests/{id}/transmit" => {
            let (id, _) = api_request(world, "portability").await;
            app.vault.fulfil_request(&AuditContext::system(), rid(&id), Vec::new()).await.expect("the export");
            let res = call(format!("/api/v1/requests/{id}/transmit"))
                .json(&json!({ "target": "https://127.0.0.1:9/import" }))
                .send()
                .await;
            if res.status == StatusCode::UNPROCESSABLE_ENTITY {
                assert_eq!(res.json()["code"], "transmit_target_forbidden", "{}", res.text());
            }
            // Reaching the vault leaves a `transmitted` entry (host and outcome) on the timeline.
            let view = listed(world, &id).await;
            let recorded = view.timeline.iter().any(|t| {
                t.kind == kluis_domain::request::TimelineKind::Transmitted
                    && t.detail.as_deref() == Some("127.0.0.1:transmit_target_forbidden")
            });
            (res, Some(recorded))
        }
        "/api/v1/requests/{id}/lift-restriction" => {
            let (id, subject) = api_request(world, "restriction").await;
            let ctx = AuditContext::system();
            app.vault.fulfil_request(&ctx, rid(&id), Vec::new()).await.expect("the restriction");
            let res = call(format!("/api/v1/requests/{id}/lift-restriction")).send().await;
            let lifted = world.stored(&subject).await.expect("the subject")["restricted"] == false;
            (res, Some(lifted))
        }
        "/privacy/request" if *m == Method::POST => {
            let before = app.vault.list_requests(kluis_vault::requests::RequestFilter::All).await.expect("list").len();
            let email = format!("matrix-portaal-{}@example.nl", world.unique());
            let res = call(path.to_owned())
                .body("application/x-www-form-urlencoded", format!("kind=erasure&email={}", encode(&email)))
                .send()
                .await;
            let after = app.vault.list_requests(kluis_vault::requests::RequestFilter::All).await.expect("list").len();
            (res, Some(after == before + 1))
        }
        "/privacy/request" => (call(path.to_owned()).send().await, None),
        "/privacy/request/{id}" => {
            let id = portal_request(world).await;
            (call(format!("/privacy/request/{id}")).send().await, None)
        }
        "/privacy/request/{id}/verify" => {
            let id = portal_request(world).await;
            let code = mails_about(world, &id).iter().find_map(|m| crate::helpers::code_in(m)).expect("the code");
            let res = call(format!("/privacy/request/{id}/verify"))
                .body("application/x-www-form-urlencoded", format!("code={code}"))
                .send()
                .await;
            (res, Some(request_state(world, &id).await.state == S::InProgress))
        }
        "/privacy/request/{id}/code" => {
            let id = portal_request(world).await;
            let res = call(format!("/privacy/request/{id}/code")).send().await;
            (res, Some(mails_about(world, &id).len() == 2))
        }
        "/privacy/request/{id}/upload" if *m == Method::GET => {
            let id = upload_request(world, false).await;
            (call(format!("/privacy/request/{id}/upload")).send().await, None)
        }
        "/privacy/request/{id}/upload" => {
            let id = upload_request(world, false).await;
            let boundary = "matrix-boundary";
            let mut body = format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"document\"; filename=\"id.png\"\r\n\
                 Content-Type: image/png\r\n\r\n"
            )
            .into_bytes();
            body.extend_from_slice(&png());
            body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
            let res = call(format!("/privacy/request/{id}/upload"))
                .body(&format!("multipart/form-data; boundary={boundary}"), body)
                .send()
                .await;
            (res, Some(listed(world, &id).await.id_uploaded))
        }
        "/privacy/request/download/{token}" => (call(download_link(world).await).send().await, None),
        "/privacy/request/download/{token}/{format}" => {
            (call(format!("{}/json", download_link(world).await)).send().await, None)
        }
        other => panic!("no matrix call for {m} {other}"),
    }
}
