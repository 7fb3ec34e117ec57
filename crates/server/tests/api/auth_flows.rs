//! Logging in and what can go wrong: brute force and lockout, unknown accounts that look like
//! wrong passwords, replayed TOTP codes, one-time recovery codes, address allowlists of accounts
//! and tokens, the audited break-glass token, logout and revoked sessions, enrolment, idle and
//! absolute session timeouts, and CSRF through the real application. Each checks the audit log.

use axum::http::StatusCode;
use kluis_store_conformance::Backend;
use serde_json::{Value, json};

use crate::helpers::{Session, Staff, TestApp, TestResponse, seed_of, strong_password};

backend_tests!(
    wrong_passwords_lock_the_account,
    unknown_account_looks_like_a_wrong_password,
    replayed_totp_code_is_refused,
    recovery_code_works_once,
    login_outside_the_account_allowlist_is_refused,
    token_outside_its_allowlist_is_refused,
    break_glass_use_is_audited,
    logout_ends_the_session,
    revoke_sessions_ends_every_session,
    enrolment_then_first_login,
    idle_and_absolute_timeouts_end_sessions,
    csrf_through_the_real_app,
);

const MINUTE: i64 = 60 * 1000;

/// `(outcome, reason)` of the `auth.login` events after the first `skip` events.
async fn logins_since(app: &TestApp, skip: usize) -> Vec<(String, Option<String>)> {
    app.audit_events_since(skip, "auth.login")
        .await
        .iter()
        .map(|e| (e["outcome"].as_str().expect("outcome").to_owned(), e["reason"].as_str().map(str::to_owned)))
        .collect()
}

fn denied(reason: &str) -> (String, Option<String>) {
    ("denied".to_owned(), Some(reason.to_owned()))
}

fn success() -> (String, Option<String>) {
    ("success".to_owned(), None)
}

fn login_body(staff: &Staff, password: &str, totp: &str) -> Value {
    json!({ "username": staff.username, "password": password, "totp": totp })
}

async fn whoami(app: &TestApp, session: &Session) -> TestResponse {
    app.get("/api/v1/auth/session").session(session).send().await
}

async fn wrong_passwords_lock_the_account(backend: Backend) {
    let Some(app) = TestApp::in_process(backend).await else {
        return;
    };
    let jan = app.staff("jan", "staff", &[]).await;
    let skip = app.audit_events().await.len();
    for attempt in 1..=5 {
        let body = login_body(&jan, &format!("{}-wrong", jan.password), &app.totp(&jan.seed));
        let res = app.post("/api/v1/auth/login").anonymous().json(&body).send().await;
        res.problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
        assert!(res.session_cookie().is_none(), "attempt {attempt} set a cookie");
    }
    // The sixth attempt, with the right password and code, meets the lock.
    let res = app.login_request(&jan, &app.totp(&jan.seed)).send().await;
    let doc = res.problem(StatusCode::TOO_MANY_REQUESTS, "login_locked");
    let retry: u64 = res.header("retry-after").expect("Retry-After").parse().expect("seconds");
    assert!((1..=60).contains(&retry), "the first lock lasts a minute: {retry}");
    assert!(doc["detail"].as_str().is_some_and(|d| d.contains(&retry.to_string())), "{doc}");
    assert!(res.session_cookie().is_none());
    let mut expected = vec![denied("bad_password"); 5];
    expected.push(denied("locked"));
    assert_eq!(logins_since(&app, skip).await, expected);
    let events = app.audit_events_since(skip, "auth.login").await;
    assert!(events.iter().all(|e| e["actor"] == format!("account:{}", jan.id)), "{events:?}");
    assert!(events.iter().all(|e| e["client"] == "127.0.0.1"), "{events:?}");
    // The password is in no event.
    assert!(events.iter().all(|e| !e.to_string().contains(&jan.password)));

    // After the lock, the right credentials work again.
    app.clock.advance(61 * 1000);
    app.login(&jan).await;
    assert_eq!(logins_since(&app, skip).await.last(), Some(&success()));
}

async fn unknown_account_looks_like_a_wrong_password(backend: Backend) {
    let Some(app) = TestApp::in_process(backend).await else {
        return;
    };
    let jan = app.staff("jan", "staff", &[]).await;
    let skip = app.audit_events().await.len();
    let wrong = app
        .post("/api/v1/auth/login")
        .anonymous()
        .json(&login_body(&jan, "Niet-Het-Goede-Wachtwoord-42", &app.totp(&jan.seed)))
        .send()
        .await;
    let mut nobody = login_body(&jan, &jan.password, &app.totp(&jan.seed));
    nobody["username"] = json!("piet");
    let unknown = app.post("/api/v1/auth/login").anonymous().json(&nobody).send().await;
    wrong.problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    unknown.problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    assert_eq!(wrong.body, unknown.body, "the same body: {} vs {}", wrong.text(), unknown.text());
    for header in ["content-type", "www-authenticate", "cache-control", "retry-after"] {
        assert_eq!(wrong.header(header), unknown.header(header), "{header}");
    }
    // A name that is not even a valid account name answers the same.
    nobody["username"] = json!("Jan@Example.NL");
    let invalid = app.post("/api/v1/auth/login").anonymous().json(&nobody).send().await;
    assert_eq!(invalid.status, StatusCode::UNAUTHORIZED);
    assert_eq!(invalid.body, wrong.body);
    invalid.assert_not_echoed("Jan@Example.NL");

    assert_eq!(
        logins_since(&app, skip).await,
        vec![denied("bad_password"), denied("unknown_account"), denied("unknown_account")]
    );
    let events = app.audit_events_since(skip, "auth.login").await;
    assert_eq!(events[1]["actor"], "anonymous", "an unknown name is nobody: {}", events[1]);
    assert!(events.iter().all(|e| !e.to_string().contains("piet")), "typed names are not logged");

    // Unknown names are throttled like known ones: five failures lock "piet" too.
    nobody["username"] = json!("piet");
    for _ in 0..4 {
        let res = app.post("/api/v1/auth/login").anonymous().json(&nobody).send().await;
        res.problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    }
    let res = app.post("/api/v1/auth/login").anonymous().json(&nobody).send().await;
    res.problem(StatusCode::TOO_MANY_REQUESTS, "login_locked");
}

async fn replayed_totp_code_is_refused(backend: Backend) {
    let Some(app) = TestApp::in_process(backend).await else {
        return;
    };
    let jan = app.staff("jan", "staff", &[]).await;
    let skip = app.audit_events().await.len();
    let code = app.totp(&jan.seed);
    let res = app.login_request(&jan, &code).send().await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let res = app.login_request(&jan, &code).send().await;
    res.problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    assert!(res.session_cookie().is_none());
    // A wrong code is refused too, for another reason.
    let wrong = format!("{:06}", (code.parse::<u32>().expect("digits") + 1) % 1_000_000);
    app.login_request(&jan, &wrong).send().await.problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    assert_eq!(logins_since(&app, skip).await, vec![success(), denied("totp_replay"), denied("bad_totp")]);
    // The next time step's code works.
    app.clock.advance(30 * 1000);
    app.login(&jan).await;
}

async fn recovery_code_works_once(backend: Backend) {
    let Some(app) = TestApp::in_process(backend).await else {
        return;
    };
    let jan = app.staff("jan", "staff", &[]).await;
    assert_eq!(jan.recovery_codes.len(), 10);
    let skip = app.audit_events().await.len();
    let with_code = |code: &str| {
        app.post("/api/v1/auth/login").anonymous().json(&json!({
            "username": jan.username, "password": jan.password, "recovery_code": code,
        }))
    };
    let res = with_code(&jan.recovery_codes[0]).send().await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let session = res.session();
    assert_eq!(whoami(&app, &session).await.status, StatusCode::OK);
    with_code(&jan.recovery_codes[0]).send().await.problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    with_code("AAAA-BBBB-CCCC-DDDD").send().await.problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    // Without the password a recovery code is worth nothing.
    let res = app
        .post("/api/v1/auth/login")
        .anonymous()
        .json(&json!({ "username": jan.username, "password": "Fout-Wachtwoord-123", "recovery_code": jan.recovery_codes[1] }))
        .send()
        .await;
    res.problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    // The unused second code still works (it was not spent by the failed attempt).
    let res = with_code(&jan.recovery_codes[1]).send().await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(
        logins_since(&app, skip).await,
        // A spent code is no longer among the account's codes: it is refused like an unknown one
        // (`recovery_code_reused` is for two logins racing with the same code).
        vec![success(), denied("bad_recovery_code"), denied("bad_recovery_code"), denied("bad_password"), success()]
    );
}

async fn login_outside_the_account_allowlist_is_refused(backend: Backend) {
    let Some(app) = TestApp::in_process(backend).await else {
        return;
    };
    let jan = app.staff("jan", "staff", &["192.0.2.0/24"]).await;
    let skip = app.audit_events().await.len();
    // The test client is 127.0.0.1.
    let res = app.login_request(&jan, &app.totp(&jan.seed)).send().await;
    res.problem(StatusCode::FORBIDDEN, "ip_not_allowed");
    assert!(res.session_cookie().is_none());
    assert_eq!(logins_since(&app, skip).await, vec![denied("ip_not_allowed")]);
    // From inside the list (the next code: the refused attempt used this one).
    app.clock.advance(30 * 1000);
    let res = app.login_request(&jan, &app.totp(&jan.seed)).peer("192.0.2.10").send().await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let session = res.session();
    let res = app.get("/api/v1/auth/session").session(&session).peer("192.0.2.10").send().await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    // The session cannot be used from elsewhere either; that is audited.
    let skip = app.audit_events().await.len();
    whoami(&app, &session).await.problem(StatusCode::FORBIDDEN, "ip_not_allowed");
    let refused = app.audit_events_since(skip, "auth.refused").await;
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["reason"], "ip_not_allowed");
    assert_eq!(refused[0]["actor"], format!("account:{}", jan.id));
    assert_eq!(refused[0]["client"], "127.0.0.1");
    // Wrong credentials from outside still say only "invalid credentials": the list reveals
    // nothing to someone without them.
    let res = app
        .post("/api/v1/auth/login")
        .anonymous()
        .json(&login_body(&jan, "Fout-Wachtwoord-123", "000000"))
        .send()
        .await;
    res.problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
}

async fn token_outside_its_allowlist_is_refused(backend: Backend) {
    let Some(app) = TestApp::in_process(backend).await else {
        return;
    };
    let res = app
        .post("/api/v1/tokens")
        .admin()
        .json(&json!({ "name": "boekhouding", "purposes": ["billing"], "allowed_ips": ["192.0.2.0/24"] }))
        .send()
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let created = res.json();
    let (id, token) = (created["id"].as_str().expect("id"), created["token"].as_str().expect("token"));
    let skip = app.audit_events().await.len();
    let res = app.get("/api/v1/fields").bearer(token).send().await;
    res.problem(StatusCode::FORBIDDEN, "ip_not_allowed");
    let refused = app.audit_events_since(skip, "auth.refused").await;
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["outcome"], "denied");
    assert_eq!(refused[0]["reason"], "ip_not_allowed");
    assert_eq!(refused[0]["actor"], format!("token:{id}"));
    assert_eq!(refused[0]["client"], "127.0.0.1");
    assert!(!refused[0].to_string().contains(token), "the secret is not logged");
    // From inside the list it works.
    let res = app.get("/api/v1/fields").bearer(token).peer("192.0.2.77").send().await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let res = app.get("/api/v1/fields").bearer(token).peer("198.51.100.1").send().await;
    res.problem(StatusCode::FORBIDDEN, "ip_not_allowed");
}

async fn break_glass_use_is_audited(backend: Backend) {
    let Some(app) = TestApp::in_process(backend).await else {
        return;
    };
    let break_glass = app.vault.tokens().await.expect("tokens").into_iter().find(|t| t.role == "break_glass");
    let id = break_glass.expect("the break-glass token").id;
    let skip = app.audit_events().await.len();
    let res = app.get("/api/v1/accounts").admin().send().await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let used = app.audit_events_since(skip, "auth.break_glass").await;
    assert_eq!(used.len(), 1, "{used:?}");
    assert_eq!(used[0]["outcome"], "success");
    assert_eq!(used[0]["actor"], format!("token:{id}"));
    assert_eq!(used[0]["client"], "127.0.0.1");
    // Every use, including one refused for lack of permission.
    let res = app.post("/api/v1/subjects").admin().json(&json!({ "values": { "last_name": "Nood" } })).send().await;
    res.problem(StatusCode::FORBIDDEN, "purpose_not_allowed");
    assert_eq!(app.audit_events_since(skip, "auth.break_glass").await.len(), 2);
    // Not from another machine.
    let skip = app.audit_events().await.len();
    let res = app.get("/api/v1/accounts").admin().peer("192.0.2.1").send().await;
    res.problem(StatusCode::FORBIDDEN, "ip_not_allowed");
    assert!(app.audit_events_since(skip, "auth.break_glass").await.is_empty());
    let refused = app.audit_events_since(skip, "auth.refused").await;
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["reason"], "ip_not_allowed");
    assert_eq!(refused[0]["client"], "192.0.2.1");
    // IPv6 loopback is the machine itself.
    let res = app.get("/api/v1/accounts").admin().peer("::1").send().await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
}

async fn logout_ends_the_session(backend: Backend) {
    let Some(app) = TestApp::in_process(backend).await else {
        return;
    };
    let jan = app.staff("jan", "staff", &[]).await;
    let session = app.login(&jan).await;
    let res = whoami(&app, &session).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["name"], "jan");
    // Logging out is an unsafe request: it needs the CSRF token.
    let res = app.post("/api/v1/auth/logout").session(&session).without_header("x-csrf-token").send().await;
    res.problem(StatusCode::FORBIDDEN, "csrf_failed");
    assert_eq!(whoami(&app, &session).await.status, StatusCode::OK, "a refused logout ends nothing");
    let skip = app.audit_events().await.len();
    let res = app.post("/api/v1/auth/logout").session(&session).send().await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text());
    let cleared = res.header("set-cookie").expect("the cookie is cleared");
    assert!(cleared.starts_with("kluis_session=;") && cleared.contains("Max-Age=0"), "{cleared}");
    whoami(&app, &session).await.problem(StatusCode::UNAUTHORIZED, "session_expired");
    let logouts = app.audit_events_since(skip, "auth.logout").await;
    assert_eq!(logouts.len(), 1, "{logouts:?}");
    assert_eq!(logouts[0]["actor"], format!("account:{}", jan.id));
    // An unknown cookie is simply not a session.
    let stranger = Session { cookie: "kluis_nonsense".to_owned(), csrf: String::new() };
    whoami(&app, &stranger).await.problem(StatusCode::UNAUTHORIZED, "unauthorized");
}

async fn revoke_sessions_ends_every_session(backend: Backend) {
    let Some(app) = TestApp::in_process(backend).await else {
        return;
    };
    let jan = app.staff("jan", "staff", &[]).await;
    let piet = app.staff("piet", "staff", &[]).await;
    let first = app.login(&jan).await;
    app.clock.advance(30 * 1000);
    let second = app.login(&jan).await;
    let other = app.login(&piet).await;
    for session in [&first, &second, &other] {
        assert_eq!(whoami(&app, session).await.status, StatusCode::OK);
    }
    // Staff may not; the admin may.
    let res = app.post(format!("/api/v1/accounts/{}/revoke-sessions", jan.id)).session(&other).send().await;
    res.problem(StatusCode::FORBIDDEN, "permission_denied");
    let skip = app.audit_events().await.len();
    let res = app.post(format!("/api/v1/accounts/{}/revoke-sessions", jan.id)).admin().send().await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json(), json!({ "revoked": 2 }));
    for session in [&first, &second] {
        whoami(&app, session).await.problem(StatusCode::UNAUTHORIZED, "session_expired");
    }
    assert_eq!(whoami(&app, &other).await.status, StatusCode::OK, "another account's session lives on");
    assert_eq!(app.audit_events_since(skip, "session.revoke").await.len(), 1);
    // Jan can log in again.
    app.clock.advance(30 * 1000);
    let third = app.login(&jan).await;
    assert_eq!(whoami(&app, &third).await.status, StatusCode::OK);
}

async fn enrolment_then_first_login(backend: Backend) {
    let Some(app) = TestApp::in_process(backend).await else {
        return;
    };
    let res =
        app.post("/api/v1/accounts").admin().json(&json!({ "username": "nieuw", "role": "accountant" })).send().await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let created = res.json();
    let id = created["id"].as_str().expect("id").to_owned();
    let secret = created["enrolment_token"].as_str().expect("enrolment token").to_owned();
    let before = account_body(&app, &id).await;
    assert_eq!((before["enrolled"].as_bool(), before["enrolment_open"].as_bool()), (Some(false), Some(true)));
    let enrol = |password: &str| {
        app.post("/api/v1/auth/enrol").anonymous().json(&json!({ "enrolment_token": secret, "password": password }))
    };

    // Weak passwords: 422 saying what is wrong; nothing changes.
    let counts = app.counts().await;
    for (weak, says) in
        [("Xq7!zzk", "too short"), ("wachtwoord12", "too easy to guess"), ("nieuw-nieuw-nieuw", "too easy to guess")]
    {
        let res = enrol(weak).send().await;
        let doc = res.problem(StatusCode::UNPROCESSABLE_ENTITY, "weak_password");
        assert!(doc["detail"].as_str().is_some_and(|d| d.contains(says)), "{weak}: {doc}");
        assert!(doc["detail_nl"].as_str().is_some_and(|d| d.contains("wachtwoord is te")), "{weak}: {doc}");
        res.assert_not_echoed(weak);
        assert_eq!(account_body(&app, &id).await, before, "{weak}: the account is unchanged");
    }
    assert_eq!(app.counts().await.subjects, counts.subjects);

    // A strong password: the authenticator URI and ten recovery codes, once.
    let password = strong_password();
    let res = enrol(&password).send().await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let enrolment = res.json();
    assert_eq!(enrolment["account_id"], id.as_str());
    let uri = enrolment["otpauth_uri"].as_str().expect("otpauth URI").to_owned();
    assert!(uri.starts_with("otpauth://totp/kluis:nieuw?secret="), "{uri}");
    let codes: Vec<&str> =
        enrolment["recovery_codes"].as_array().expect("codes").iter().map(|c| c.as_str().expect("a code")).collect();
    assert_eq!(codes.len(), 10);
    assert_eq!(codes.iter().collect::<std::collections::BTreeSet<_>>().len(), 10, "distinct codes");
    // The enrolment token is single use.
    enrol(&strong_password()).send().await.problem(StatusCode::BAD_REQUEST, "enrolment_invalid");
    let enrolled = account_body(&app, &id).await;
    assert_eq!((enrolled["enrolled"].as_bool(), enrolled["enrolment_open"].as_bool()), (Some(false), Some(false)));

    // The first login with a TOTP code completes enrolment.
    let staff = Staff {
        id: id.parse().expect("an account id"),
        username: "nieuw".to_owned(),
        password,
        seed: seed_of(&uri),
        recovery_codes: codes.iter().map(|c| (*c).to_owned()).collect(),
    };
    let skip = app.audit_events().await.len();
    let session = app.login(&staff).await;
    assert_eq!(account_body(&app, &id).await["enrolled"], true);
    let confirmed = app.audit_events_since(skip, "account.enrol").await;
    assert_eq!(confirmed.len(), 1, "{confirmed:?}");
    assert_eq!(confirmed[0]["reason"], "totp_confirmed");
    let me = whoami(&app, &session).await.json();
    assert_eq!((me["name"].as_str(), me["role"].as_str()), (Some("nieuw"), Some("accountant")));
    assert_eq!(me["purposes"], json!(["billing"]));
}

/// `GET /api/v1/accounts/{id}` as the break-glass token.
async fn account_body(app: &TestApp, id: &str) -> Value {
    let res = app.get(format!("/api/v1/accounts/{id}")).admin().send().await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    res.json()
}

async fn idle_and_absolute_timeouts_end_sessions(backend: Backend) {
    let Some(app) = TestApp::in_process(backend).await else {
        return;
    };
    let jan = app.staff("jan", "staff", &[]).await;
    // Idle: activity keeps a session alive, 30 minutes without ends it.
    let session = app.login(&jan).await;
    for _ in 0..3 {
        app.clock.advance(29 * MINUTE);
        assert_eq!(whoami(&app, &session).await.status, StatusCode::OK, "active sessions live on");
    }
    app.clock.advance(31 * MINUTE);
    whoami(&app, &session).await.problem(StatusCode::UNAUTHORIZED, "session_expired");
    // And it stays ended.
    whoami(&app, &session).await.problem(StatusCode::UNAUTHORIZED, "session_expired");

    // Absolute: 12 hours after login, whatever the activity.
    let session = app.login(&jan).await;
    let mut elapsed = 0;
    loop {
        app.clock.advance(25 * MINUTE);
        elapsed += 25 * MINUTE;
        let res = whoami(&app, &session).await;
        if elapsed < 12 * 60 * MINUTE {
            assert_eq!(res.status, StatusCode::OK, "{} minutes in: {}", elapsed / MINUTE, res.text());
        } else {
            res.problem(StatusCode::UNAUTHORIZED, "session_expired");
            break;
        }
    }
    assert_eq!(elapsed, 725 * MINUTE);
}

async fn csrf_through_the_real_app(backend: Backend) {
    let Some(mut app) = TestApp::spawn(backend).await else {
        return;
    };
    let jan = app.staff("jan", "staff", &[]).await;
    let session = app.login(&jan).await;
    let create = || {
        app.post("/api/v1/subjects")
            .session(&session)
            .purpose("service_delivery")
            .json(&json!({ "values": { "last_name": "Formulier" } }))
    };
    let before = app.counts().await.subjects;
    for (what, request) in [
        ("no token", create().without_header("x-csrf-token")),
        ("a wrong token", create().header("x-csrf-token", "not-the-token")),
        ("another session's token", create().header("x-csrf-token", &kluis_crypto::csrf_token("kluis_other"))),
        ("a cross-site request", create().header("sec-fetch-site", "cross-site")),
        ("a foreign origin", create().without_header("x-csrf-token").header("origin", "https://evil.example")),
    ] {
        let res = request.send().await;
        let doc = res.problem(StatusCode::FORBIDDEN, "csrf_failed");
        res.assert_not_echoed(&session.cookie);
        assert_eq!(app.counts().await.subjects, before, "{what}: nothing stored: {doc}");
    }
    // Safe methods need no token.
    let res = app.get("/api/v1/auth/session").session(&session).without_header("x-csrf-token").send().await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    // With the token, same-origin: stored.
    let res = create().header("sec-fetch-site", "same-origin").send().await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    assert_eq!(app.counts().await.subjects, before + 1);
    // A bearer token is no ambient credential: no CSRF token needed.
    let res = app.post("/api/v1/subjects").json(&json!({ "values": { "last_name": "Token" } })).send().await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    // Login CSRF: a cross-site page cannot log a browser in.
    let res = app.login_request(&jan, "000000").header("sec-fetch-site", "cross-site").send().await;
    res.problem(StatusCode::FORBIDDEN, "csrf_failed");
    let logs = String::from_utf8_lossy(&app.logs()).into_owned();
    assert!(logs.contains("CSRF check refused the request"), "refusals are logged");
    assert!(!logs.contains(&session.cookie), "the cookie is not logged");
    app.shutdown().await;
}
