//! The storage conformance suite: each case takes a fresh store and checks one behaviour of the
//! port. `tests/conformance.rs` runs every case on SQLite and on PostgreSQL.
//!
//! The cases are generic over [`Store`] only: they build hand-made ciphertexts, digests and wrapped
//! keys (the store must not care what those bytes are) and look at the database only through the
//! port. A case panics with a message naming the backend when the store misbehaves.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use kluis_domain::audit::{Action, AuditContext, AuditEvent, Outcome};
use kluis_domain::{SubjectId, SubjectKind, Timestamp, TokenId};
use kluis_store::{
    AuditLogRecord, Counts, IndexEntry, KeyringRecord, NewSubject, RegisterVersionSummary, Store, StoreError,
    StoredKek, StoredRegisterVersion, StoredValue, SubjectChange, SubjectRecord, TokenRecord, WrappedDataKey,
};

mod access;
pub mod group_commit;
mod requests;

pub use access::{
    access_audit_failure_rolls_back, accounts_lookup, initialise_with_first_account, login_throttle,
    recovery_codes_single_use, restriction_flag, sessions_lifecycle, tokens_lifecycle, totp_step_replay_guard,
    update_account_revisions,
};
pub use requests::{archive_and_objections, request_codes_single_use, request_exports, requests_lifecycle};

/// A fixed point in time (2023-11-14), so records compare exactly.
const T0: Timestamp = Timestamp(1_700_000_000_000);
/// A later point in time, for updates and erasures.
const T1: Timestamp = Timestamp(1_700_000_060_000);
/// More than any case ever appends.
const ALL: u32 = 100_000;

/// The hash of the token every initialised test store holds.
pub const ADMIN_TOKEN_HASH: [u8; 32] = [0x42; 32];

fn ctx(request: &str) -> AuditContext {
    AuditContext { request_id: Some(request.to_owned()), ..AuditContext::system() }
}

/// A distinguishable audit event (`request` ends up in its encoding).
fn event(action: Action, subject: Option<SubjectId>, request: &str) -> AuditEvent {
    ctx(request).event(T0, action, subject, &[], &[], Outcome::Success)
}

fn keyring_record() -> KeyringRecord {
    KeyringRecord {
        root_fingerprint: [0x11; 32],
        index_key_wrapped: vec![0x22; 73],
        keks: vec![
            StoredKek { version: 1, wrapped: vec![0x33; 73], created_at: T0 },
            StoredKek { version: 2, wrapped: vec![0x34; 73], created_at: T1 },
        ],
        audit: AuditLogRecord { origin: "kluis.test/audit".into(), public_key: [0x44; 32] },
    }
}

fn admin_token() -> TokenRecord {
    TokenRecord {
        id: TokenId::generate(),
        name: "admin (conformance)".to_owned(),
        hash: ADMIN_TOKEN_HASH,
        role: "admin".to_owned(),
        created_at: T0,
        revoked_at: None,
        purposes: None,
        allowed_ips: Vec::new(),
        expires_at: None,
    }
}

/// Initialises `store` with the suite's keyring (subjects reference KEK versions 1 and 2).
async fn initialised<S: Store>(store: &S) {
    store
        .initialise(&keyring_record(), &admin_token(), None, &[event(Action::KeyringInit, None, "init")])
        .await
        .unwrap_or_else(|e| panic!("{}: initialise a fresh store: {e}", store.backend()));
}

fn value(field: &str, ciphertext: &[u8]) -> StoredValue {
    StoredValue { field: field.to_owned(), key_version: 1, ciphertext: ciphertext.to_vec() }
}

fn entry(index: &str, digest: &[u8]) -> IndexEntry {
    IndexEntry { index: index.to_owned(), digest: digest.to_vec() }
}

/// A subject with values given out of field order, and one index entry per value.
fn new_subject(tag: u8) -> NewSubject {
    NewSubject {
        id: SubjectId::generate(),
        kind: SubjectKind::ContactPerson,
        created_at: T0,
        data_key: WrappedDataKey { key_version: 1, kek_version: 2, wrapped: vec![tag; 73] },
        values: vec![value("phone", &[tag, 3, 3]), value("email", &[tag, 1, 1]), value("iban", &[tag, 2, 2])],
        index: vec![entry("email", &[tag; 32]), entry("iban", &[tag.wrapping_add(1); 32])],
    }
}

async fn counts<S: Store>(store: &S) -> Counts {
    store.counts().await.unwrap_or_else(|e| panic!("{}: counts: {e}", store.backend()))
}

async fn load<S: Store>(store: &S, id: SubjectId) -> Option<SubjectRecord> {
    store.load_subject(id).await.unwrap_or_else(|e| panic!("{}: load_subject: {e}", store.backend()))
}

/// The stored log as (seq, encoding without its `seq` member). Checks on the way that every
/// stored event encodes exactly its own position.
async fn audit_log<S: Store>(store: &S) -> Vec<(u64, Vec<u8>)> {
    store
        .audit_events(0, ALL)
        .await
        .unwrap_or_else(|e| panic!("{}: audit_events: {e}", store.backend()))
        .into_iter()
        .map(|e| {
            let prefix = format!("{{\"seq\":{},", e.seq);
            assert!(
                e.event.starts_with(prefix.as_bytes()),
                "{}: event {} encodes another position",
                store.backend(),
                e.seq
            );
            (e.seq, without_seq(&e.event))
        })
        .collect()
}

/// An encoding with its leading `"seq":N,` member removed, so events compare by content.
fn without_seq(bytes: &[u8]) -> Vec<u8> {
    let comma = bytes.iter().position(|b| *b == b',').unwrap_or(0);
    let mut out = vec![b'{'];
    out.extend_from_slice(&bytes[comma + 1..]);
    out
}

/// What `audit_log` returns for an event, wherever it was appended.
fn enc(event: &AuditEvent) -> Vec<u8> {
    without_seq(&event.encode(0))
}

/// Asserts that the sequence numbers of `log` are exactly 0..len.
fn assert_dense(backend: &str, log: &[(u64, Vec<u8>)]) {
    let seqs: Vec<u64> = log.iter().map(|(seq, _)| *seq).collect();
    let want: Vec<u64> = (0..).take(log.len()).collect();
    assert_eq!(seqs, want, "{backend}: audit sequence numbers must be dense from 0");
}

async fn find<S: Store>(store: &S, entry: &IndexEntry) -> Vec<SubjectId> {
    store
        .find_subjects(entry, |_| Vec::new())
        .await
        .unwrap_or_else(|e| panic!("{}: find_subjects: {e}", store.backend()))
        .iter()
        .map(|r| r.id)
        .collect()
}

/// Keyring lifecycle: absent on a fresh store; `initialise` stores keyring, token and audit
/// events; a second `initialise` is refused and changes nothing.
pub async fn keyring_lifecycle<S: Store>(store: S) {
    let b = store.backend();
    store.ping().await.unwrap_or_else(|e| panic!("{b}: ping: {e}"));
    assert_eq!(store.keyring().await.expect("keyring"), None, "{b}: a fresh store has no keyring");
    assert_eq!(counts(&store).await, Counts::default(), "{b}: a fresh store is empty");

    let record = keyring_record();
    let token = admin_token();
    let events = [event(Action::KeyringInit, None, "i1"), event(Action::TokenCreate, None, "i2")];
    store.initialise(&record, &token, None, &events).await.expect("first initialise");
    assert_eq!(store.keyring().await.expect("keyring"), Some(record.clone()), "{b}: keyring round trip");
    assert_eq!(store.token_by_hash(&token.hash).await.expect("token"), Some(token.clone()), "{b}: token stored");
    let log = audit_log(&store).await;
    assert_eq!(log, vec![(0, enc(&events[0])), (1, enc(&events[1]))], "{b}: init events appended in order");

    let other = KeyringRecord {
        root_fingerprint: [0x99; 32],
        index_key_wrapped: vec![0x98; 73],
        keks: vec![StoredKek { version: 1, wrapped: vec![0x97; 73], created_at: T1 }],
        audit: AuditLogRecord { origin: "kluis.test/other".into(), public_key: [0x96; 32] },
    };
    let other_token = TokenRecord { id: TokenId::generate(), hash: [0x77; 32], ..admin_token() };
    let before = counts(&store).await;
    let again = store.initialise(&other, &other_token, None, &[event(Action::KeyringInit, None, "i3")]).await;
    assert!(matches!(again, Err(StoreError::AlreadyInitialised)), "{b}: second initialise: {again:?}");
    assert_eq!(store.keyring().await.expect("keyring"), Some(record), "{b}: keyring unchanged");
    assert_eq!(store.token_by_hash(&token.hash).await.expect("token"), Some(token), "{b}: first token kept");
    assert_eq!(store.token_by_hash(&other_token.hash).await.expect("token"), None, "{b}: second token not stored");
    assert_eq!(audit_log(&store).await, log, "{b}: audit log unchanged");
    assert_eq!(counts(&store).await, before, "{b}: counts unchanged");
}

/// `token_by_hash` finds the stored token by its hash and nothing for another hash.
pub async fn token_by_hash<S: Store>(store: S) {
    let b = store.backend();
    let token = TokenRecord { revoked_at: Some(T1), ..admin_token() };
    store.initialise(&keyring_record(), &token, None, &[]).await.expect("initialise");
    let found = store.token_by_hash(&ADMIN_TOKEN_HASH).await.expect("token_by_hash");
    assert_eq!(found, Some(token), "{b}: token found by hash (revoked ones too, with revoked_at)");
    let mut unknown = ADMIN_TOKEN_HASH;
    unknown[31] ^= 1;
    assert_eq!(store.token_by_hash(&unknown).await.expect("token_by_hash"), None, "{b}: unknown hash");
    assert_eq!(store.token_by_hash(&[0; 32]).await.expect("token_by_hash"), None, "{b}: zero hash");
}

/// A subject without values (all removed, or created bare) loads and is found with an empty value
/// list, not as a missing subject; others' values never leak into it.
pub async fn subject_without_values<S: Store>(store: S) {
    let b = store.backend();
    initialised(&store).await;
    let full = new_subject(9);
    let bare = NewSubject { id: SubjectId::generate(), values: Vec::new(), ..new_subject(10) };
    store.create_subject(&full, &event(Action::SubjectCreate, Some(full.id), "full")).await.expect("create");
    store.create_subject(&bare, &event(Action::SubjectCreate, Some(bare.id), "bare")).await.expect("create");
    let record = load(&store, bare.id).await.unwrap_or_else(|| panic!("{b}: a bare subject loads"));
    assert_eq!((record.id, record.revision, record.values.len()), (bare.id, 1, 0), "{b}: bare subject");
    assert_eq!(record.data_key, bare.data_key, "{b}: its key");
    let found = store.find_subjects(&bare.index[0], |_| Vec::new()).await.expect("find");
    assert_eq!(found, vec![record], "{b}: found by its index entry, with no values");
    assert_eq!(load(&store, full.id).await.map(|r| r.values.len()), Some(3), "{b}: the other keeps its values");
}

/// create/load round trip; a duplicate id is refused and changes nothing.
pub async fn create_and_load<S: Store>(store: S) {
    let b = store.backend();
    initialised(&store).await;
    assert_eq!(load(&store, SubjectId::generate()).await, None, "{b}: unknown subject");
    let subject = new_subject(7);
    store.create_subject(&subject, &event(Action::SubjectCreate, Some(subject.id), "c1")).await.expect("create");

    let record = load(&store, subject.id).await.expect("created subject loads");
    let mut sorted = subject.values.clone();
    sorted.sort_by(|a, b| a.field.cmp(&b.field));
    let want = SubjectRecord {
        id: subject.id,
        kind: SubjectKind::ContactPerson,
        created_at: T0,
        updated_at: T0,
        revision: 1,
        restricted: false,
        archive: None,
        objections: Vec::new(),
        data_key: subject.data_key.clone(),
        values: sorted,
    };
    assert_eq!(record, want, "{b}: round trip (values sorted by field, revision 1)");
    let fields: Vec<&str> = record.values.iter().map(|v| v.field.as_str()).collect();
    assert_eq!(fields, ["email", "iban", "phone"], "{b}: values sorted by field");
    let after_create = counts(&store).await;
    assert_eq!(
        (after_create.subjects, after_create.values, after_create.index_entries, after_create.audit_events),
        (1, 3, 2, 2),
        "{b}: counts after create"
    );

    let mut duplicate = new_subject(8);
    duplicate.id = subject.id;
    let result = store.create_subject(&duplicate, &event(Action::SubjectCreate, Some(subject.id), "c2")).await;
    assert!(matches!(result, Err(StoreError::Duplicate)), "{b}: duplicate id: {result:?}");
    assert_eq!(load(&store, subject.id).await, Some(want), "{b}: duplicate changed nothing");
    assert_eq!(counts(&store).await, after_create, "{b}: duplicate added nothing (values, index, audit)");
    assert!(find(&store, &duplicate.index[0]).await.is_empty(), "{b}: duplicate's index entry not stored");
}

/// `create_subjects` stores a batch in one transaction, each subject exactly as `create_subject`
/// stores it, with its events in order; a batch with a duplicate id (within the batch or already
/// stored) stores nothing and appends no event.
pub async fn create_subjects_batch<S: Store>(store: S) {
    let b = store.backend();
    initialised(&store).await;
    let single = new_subject(30);
    store.create_subject(&single, &event(Action::SubjectCreate, Some(single.id), "s0")).await.expect("create");
    let before = counts(&store).await;
    let log_before = audit_log(&store).await;

    // 250 subjects: more rows than one multi-row statement takes (subjects, values and index). The
    // first is the single subject's twin under a new id, so the two records can be compared.
    let mut batch: Vec<NewSubject> = (0..250_u8).map(new_subject).collect();
    for (i, subject) in batch.iter_mut().enumerate() {
        subject.index = vec![entry("email", &[0xb0, u8::try_from(i).unwrap_or(0)])];
    }
    batch[0] = NewSubject { id: SubjectId::generate(), ..single.clone() };
    let events: Vec<AuditEvent> =
        batch.iter().enumerate().map(|(i, s)| event(Action::SubjectCreate, Some(s.id), &format!("b{i}"))).collect();
    store.create_subjects(&batch, &events).await.unwrap_or_else(|e| panic!("{b}: create_subjects: {e}"));

    let one = load(&store, single.id).await.expect("single subject loads");
    let twin = load(&store, batch[0].id).await.expect("batch subject loads");
    assert_eq!(SubjectRecord { id: single.id, ..twin }, one, "{b}: a batch row equals what create_subject stores");
    for subject in &batch {
        let record = load(&store, subject.id).await.unwrap_or_else(|| panic!("{b}: batch subject stored"));
        let mut values = subject.values.clone();
        values.sort_by(|x, y| x.field.cmp(&y.field));
        let want = SubjectRecord {
            id: subject.id,
            kind: subject.kind,
            created_at: T0,
            updated_at: T0,
            revision: 1,
            restricted: false,
            archive: None,
            objections: Vec::new(),
            data_key: subject.data_key.clone(),
            values,
        };
        assert_eq!(record, want, "{b}: batch subject round trip");
    }
    for subject in &batch[1..] {
        assert_eq!(find(&store, &subject.index[0]).await, vec![subject.id], "{b}: batch index entry stored");
    }
    let mut twins = vec![single.id, batch[0].id];
    twins.sort();
    for entry in &single.index {
        assert_eq!(find(&store, entry).await, twins, "{b}: the twin has the single subject's index entries");
    }
    let after = counts(&store).await;
    assert_eq!(
        (after.subjects, after.values, after.index_entries, after.audit_events),
        (before.subjects + 250, before.values + 750, before.index_entries + 251, before.audit_events + 250),
        "{b}: counts after the batch"
    );
    let log = audit_log(&store).await;
    assert_dense(b, &log);
    assert_eq!(log[..log_before.len()], log_before[..], "{b}: earlier events untouched");
    let appended: Vec<Vec<u8>> = log[log_before.len()..].iter().map(|(_, e)| e.clone()).collect();
    assert_eq!(appended, events.iter().map(enc).collect::<Vec<_>>(), "{b}: the batch's events, in order");

    // A duplicate id inside the batch, or one already stored: nothing of the batch lands.
    let fresh = [new_subject(40), new_subject(41)];
    let stored_id = NewSubject { id: batch[7].id, ..new_subject(42) };
    for (case, bad) in [
        ("a duplicate id in the batch", vec![fresh[0].clone(), fresh[1].clone(), fresh[0].clone()]),
        ("an id already stored", vec![fresh[0].clone(), fresh[1].clone(), stored_id]),
    ] {
        let events: Vec<AuditEvent> = bad.iter().map(|s| event(Action::SubjectCreate, Some(s.id), "dup")).collect();
        let result = store.create_subjects(&bad, &events).await;
        assert!(matches!(result, Err(StoreError::Duplicate)), "{b}: {case}: {result:?}");
        assert_eq!(counts(&store).await, after, "{b}: {case}: nothing stored, no event appended");
        for subject in &fresh {
            assert_eq!(load(&store, subject.id).await, None, "{b}: {case}: no subject of the batch");
            assert!(find(&store, &subject.index[0]).await.is_empty(), "{b}: {case}: no index entry of the batch");
        }
        assert_eq!(audit_log(&store).await, log, "{b}: {case}: audit log unchanged");
    }
    let kept = load(&store, batch[7].id).await.map(|r| r.data_key);
    assert_eq!(kept, Some(batch[7].data_key.clone()), "{b}: the stored subject is untouched");
    store.create_subjects(&[], &[]).await.unwrap_or_else(|e| panic!("{b}: an empty batch: {e}"));
    assert_eq!(counts(&store).await, after, "{b}: an empty batch changes nothing");
}

/// `read_subject` appends exactly one event, built by the closure from what it read.
pub async fn read_subject_audits<S: Store>(store: S) {
    let b = store.backend();
    initialised(&store).await;
    let subject = new_subject(3);
    store.create_subject(&subject, &event(Action::SubjectCreate, Some(subject.id), "r0")).await.expect("create");
    let before = audit_log(&store).await;

    let mut seen: Option<Option<SubjectRecord>> = None;
    let read_event = event(Action::SubjectRead, Some(subject.id), "r1");
    let record = store
        .read_subject(subject.id, |r| {
            seen = Some(r.cloned());
            read_event.clone()
        })
        .await
        .expect("read_subject");
    let record = record.expect("existing subject is returned");
    assert_eq!(record.id, subject.id, "{b}: read the right subject");
    assert_eq!(seen, Some(Some(record.clone())), "{b}: the closure saw the record that was returned");
    assert_eq!(Some(record), load(&store, subject.id).await, "{b}: read returns what load returns");

    let missing = SubjectId::generate();
    let mut seen_missing: Option<Option<SubjectRecord>> = None;
    let missing_event = ctx("r2").event(T0, Action::SubjectRead, Some(missing), &[], &[], Outcome::NotFound);
    let none = store
        .read_subject(missing, |r| {
            seen_missing = Some(r.cloned());
            missing_event.clone()
        })
        .await
        .expect("read_subject of a missing subject");
    assert_eq!(none, None, "{b}: missing subject");
    assert_eq!(seen_missing, Some(None), "{b}: the closure was told the subject is missing");

    let log = audit_log(&store).await;
    assert_dense(b, &log);
    assert_eq!(log.len(), before.len() + 2, "{b}: one event per read");
    assert_eq!(log[..before.len()], before[..], "{b}: earlier events untouched");
    assert_eq!(log[before.len()].1, enc(&read_event), "{b}: the closure's event is stored");
    assert_eq!(log[before.len() + 1].1, enc(&missing_event), "{b}: the not-found event is stored");
    let tail = store.audit_events(log[before.len()].0, 1).await.expect("audit_events window");
    assert_eq!(tail.len(), 1, "{b}: limit honoured");
    assert_eq!(without_seq(&tail[0].event), enc(&read_event), "{b}: from honoured");
}

/// `find_subjects` returns every subject holding the digest and no other; the events the closure
/// builds from the matches are appended.
pub async fn find_subjects_by_index<S: Store>(store: S) {
    let b = store.backend();
    initialised(&store).await;
    let shared = entry("postcode_house_number", &[0xAB; 32]);
    let mut ids = Vec::new();
    for tag in [10, 20, 30] {
        let mut subject = new_subject(tag);
        subject.index.push(shared.clone());
        store.create_subject(&subject, &event(Action::SubjectCreate, Some(subject.id), "f")).await.expect("create");
        ids.push(subject.id);
    }
    let other = new_subject(40);
    store.create_subject(&other, &event(Action::SubjectCreate, Some(other.id), "f")).await.expect("create");
    let before = audit_log(&store).await;

    let mut seen = Vec::new();
    let found = store
        .find_subjects(&shared, |records| {
            seen = records.iter().map(|r| r.id).collect();
            records.iter().map(|r| event(Action::SubjectFind, Some(r.id), "find")).collect()
        })
        .await
        .expect("find_subjects");
    let mut found_ids: Vec<SubjectId> = found.iter().map(|r| r.id).collect();
    found_ids.sort();
    ids.sort();
    assert_eq!(found_ids, ids, "{b}: all subjects sharing the digest, not the other one");
    assert_eq!(seen.len(), 3, "{b}: the closure saw every match");
    for record in &found {
        assert_eq!(Some(record), load(&store, record.id).await.as_ref(), "{b}: found records are complete");
    }
    let log = audit_log(&store).await;
    assert_dense(b, &log);
    let appended: Vec<Vec<u8>> = log[before.len()..].iter().map(|(_, e)| e.clone()).collect();
    let want: Vec<Vec<u8>> = seen.iter().map(|id| enc(&event(Action::SubjectFind, Some(*id), "find"))).collect();
    assert_eq!(appended, want, "{b}: one event per match, as built");

    // Same digest under another index name, and a near-miss digest: no match, closure still runs.
    let mut closure_ran = false;
    let wrong_index = store
        .find_subjects(&entry("email", &[0xAB; 32]), |records| {
            closure_ran = records.is_empty();
            vec![event(Action::SubjectFind, None, "miss")]
        })
        .await
        .expect("find_subjects");
    assert!(wrong_index.is_empty() && closure_ran, "{b}: the index name is part of the key");
    let mut near = shared.digest.clone();
    near[0] ^= 0x80;
    assert!(find(&store, &entry("postcode_house_number", &near)).await.is_empty(), "{b}: near-miss digest");
    assert_eq!(find(&store, &other.index[0]).await, vec![other.id], "{b}: the other subject by its own entry");
    assert_eq!(audit_log(&store).await.len(), log.len() + 1, "{b}: the miss event was appended");
}

/// `update_subject` sets, replaces and removes values and replaces the index wholesale; a stale
/// revision is a conflict and an unknown id is not found, both changing nothing.
#[allow(clippy::too_many_lines, reason = "one scenario, read top to bottom")]
pub async fn update_subject<S: Store>(store: S) {
    let b = store.backend();
    initialised(&store).await;
    let subject = new_subject(5);
    store.create_subject(&subject, &event(Action::SubjectCreate, Some(subject.id), "u0")).await.expect("create");
    let bystander = new_subject(6);
    store.create_subject(&bystander, &event(Action::SubjectCreate, Some(bystander.id), "u0")).await.expect("create");
    let bystander_before = load(&store, bystander.id).await;

    let new_index = vec![entry("email", &[0x55; 32]), entry("customer_number", &[0x56; 32])];
    let change = SubjectChange {
        id: subject.id,
        expected_revision: 1,
        updated_at: T1,
        set: vec![value("email", b"new email"), value("last_name", b"new field")],
        remove: vec!["phone".to_owned()],
        index: new_index.clone(),
    };
    store.update_subject(&change, &event(Action::SubjectUpdate, Some(subject.id), "u1")).await.expect("update");
    let record = load(&store, subject.id).await.expect("still there");
    assert_eq!(record.revision, 2, "{b}: revision incremented");
    assert_eq!((record.created_at, record.updated_at), (T0, T1), "{b}: timestamps");
    assert_eq!(record.data_key, subject.data_key, "{b}: data key unchanged");
    assert_eq!(
        record.values,
        vec![value("email", b"new email"), value("iban", &[5, 2, 2]), value("last_name", b"new field")],
        "{b}: email replaced, last_name set, iban kept, phone removed"
    );
    for old in &subject.index {
        assert!(find(&store, old).await.is_empty(), "{b}: old index entry {} gone", old.index);
    }
    for new in &new_index {
        assert_eq!(find(&store, new).await, vec![subject.id], "{b}: new index entry {} found", new.index);
    }
    let after = counts(&store).await;
    assert_eq!((after.values, after.index_entries), (6, 4), "{b}: counts after update");
    assert_eq!(load(&store, bystander.id).await, bystander_before, "{b}: other subject untouched");

    let stale = SubjectChange {
        expected_revision: 1,
        set: vec![value("email", b"lost update")],
        remove: vec!["iban".to_owned()],
        index: vec![entry("email", &[0x66; 32])],
        ..change.clone()
    };
    let result = store.update_subject(&stale, &event(Action::SubjectUpdate, Some(subject.id), "u2")).await;
    assert!(matches!(result, Err(StoreError::Conflict(id)) if id == subject.id), "{b}: stale revision: {result:?}");
    assert_eq!(load(&store, subject.id).await, Some(record), "{b}: conflict changed nothing");
    assert_eq!(find(&store, &new_index[0]).await, vec![subject.id], "{b}: conflict kept the index");
    assert!(find(&store, &stale.index[0]).await.is_empty(), "{b}: conflict wrote no index entry");
    assert_eq!(counts(&store).await, after, "{b}: conflict appended no audit event");

    let unknown = SubjectChange { id: SubjectId::generate(), ..change };
    let result = store.update_subject(&unknown, &event(Action::SubjectUpdate, Some(unknown.id), "u3")).await;
    assert!(matches!(result, Err(StoreError::NotFound(id)) if id == unknown.id), "{b}: unknown id: {result:?}");
    assert_eq!(counts(&store).await, after, "{b}: not-found changed nothing");
}

/// `erase_subject` deletes the subject, its values and index entries, records it in the ledger,
/// and reports `false` (to the caller and the closure) the second time.
#[allow(clippy::too_many_lines, reason = "one scenario, read top to bottom")]
pub async fn erase_subject<S: Store>(store: S) {
    let b = store.backend();
    initialised(&store).await;
    let subject = new_subject(9);
    store.create_subject(&subject, &event(Action::SubjectCreate, Some(subject.id), "e0")).await.expect("create");
    let keep = new_subject(10);
    store.create_subject(&keep, &event(Action::SubjectCreate, Some(keep.id), "e0")).await.expect("create");
    assert!(!store.is_erased(subject.id).await.expect("is_erased"), "{b}: not erased yet");
    let before = counts(&store).await;

    let mut told = None;
    let erased = store
        .erase_subject(subject.id, T1, |existed| {
            told = Some(existed);
            event(Action::SubjectErase, Some(subject.id), "e1")
        })
        .await
        .expect("erase");
    assert!(erased, "{b}: erasing an existing subject returns true");
    assert_eq!(told, Some(true), "{b}: the closure was told the subject existed");
    assert_eq!(load(&store, subject.id).await, None, "{b}: subject gone");
    for entry in &subject.index {
        assert!(find(&store, entry).await.is_empty(), "{b}: index entry {} gone", entry.index);
    }
    assert!(store.is_erased(subject.id).await.expect("is_erased"), "{b}: in the erasure ledger");
    assert!(!store.is_erased(keep.id).await.expect("is_erased"), "{b}: other subject not in the ledger");
    let after = counts(&store).await;
    let want = Counts {
        subjects: before.subjects - 1,
        values: before.values - 3,
        index_entries: before.index_entries - 2,
        audit_events: before.audit_events + 1,
        erasures: 1,
    };
    assert_eq!(after, want, "{b}: counts after erasure");
    assert_eq!(
        audit_log(&store).await.last().map(|(_, e)| e.clone()),
        Some(enc(&event(Action::SubjectErase, Some(subject.id), "e1")))
    );
    assert!(load(&store, keep.id).await.is_some(), "{b}: other subject kept");
    assert_eq!(find(&store, &keep.index[0]).await, vec![keep.id], "{b}: other subject's index kept");

    let mut told_again = None;
    let again = store
        .erase_subject(subject.id, T1, |existed| {
            told_again = Some(existed);
            ctx("e2").event(T1, Action::SubjectErase, Some(subject.id), &[], &[], Outcome::NotFound)
        })
        .await
        .expect("second erase");
    assert!(!again, "{b}: second erase returns false");
    assert_eq!(told_again, Some(false), "{b}: the closure was told the subject did not exist");
    let final_counts = counts(&store).await;
    assert_eq!(final_counts.erasures, 1, "{b}: ledger entry not duplicated");
    assert_eq!(final_counts.audit_events, after.audit_events + 1, "{b}: the second erase is audited too");
    assert!(store.is_erased(subject.id).await.expect("is_erased"), "{b}: still in the ledger");
}

/// Polls every future to completion on the current task. The futures still run concurrently
/// against the database: each holds its own pooled connection and transaction.
async fn join_all<F: Future + Unpin>(futures: Vec<F>) -> Vec<F::Output> {
    let mut pending: Vec<Option<F>> = futures.into_iter().map(Some).collect();
    let mut outputs: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut busy = false;
        for (slot, out) in pending.iter_mut().zip(outputs.iter_mut()) {
            if let Some(future) = slot {
                match Pin::new(future).poll(cx) {
                    Poll::Ready(v) => {
                        *out = Some(v);
                        *slot = None;
                    }
                    Poll::Pending => busy = true,
                }
            }
        }
        if busy { Poll::Pending } else { Poll::Ready(()) }
    })
    .await;
    outputs.into_iter().map(|o| o.expect("every future completed")).collect()
}

const TASKS: usize = 8;
const ROUNDS: usize = 25;

/// One concurrent worker: a mix of single appends, batch appends and audited reads. Returns the
/// encodings of the events it appended.
async fn audit_worker<S: Store>(store: S, task: usize, subject: SubjectId) -> Result<Vec<Vec<u8>>, StoreError> {
    let mut appended = Vec::new();
    for round in 0..ROUNDS {
        let tag = format!("t{task}-r{round}");
        match round % 3 {
            0 => {
                let batch = [
                    event(Action::SubjectRead, None, &format!("{tag}-a")),
                    event(Action::SubjectRead, None, &format!("{tag}-b")),
                ];
                store.append_audit(&batch).await?;
                appended.extend(batch.iter().map(enc));
            }
            1 => {
                let read = event(Action::SubjectRead, Some(subject), &tag);
                let record = store.read_subject(subject, |_| read.clone()).await?;
                if record.is_none() {
                    return Err(StoreError::Corrupt(format!("{tag}: subject vanished")));
                }
                appended.push(enc(&read));
            }
            _ => {
                let single = event(Action::SubjectFind, None, &tag);
                store.append_audit(std::slice::from_ref(&single)).await?;
                appended.push(enc(&single));
            }
        }
    }
    Ok(appended)
}

/// Audit sequence numbers stay dense, unique and ordered while many writers append at once, and
/// every event of a batch gets consecutive numbers.
pub async fn audit_sequence_under_concurrency<S: Store>(store: S) {
    let b = store.backend();
    initialised(&store).await;
    let subject = new_subject(1);
    store.create_subject(&subject, &event(Action::SubjectCreate, Some(subject.id), "s0")).await.expect("create");
    let before = audit_log(&store).await;

    let workers: Vec<_> = (0..TASKS).map(|t| Box::pin(audit_worker(store.clone(), t, subject.id))).collect();
    let mut expected: BTreeSet<Vec<u8>> = before.iter().map(|(_, e)| e.clone()).collect();
    for result in join_all(workers).await {
        let appended = result.unwrap_or_else(|e| panic!("{b}: a concurrent append failed: {e}"));
        expected.extend(appended);
    }

    let log = audit_log(&store).await;
    assert_dense(b, &log);
    assert_eq!(log.len(), expected.len(), "{b}: no event lost or duplicated");
    let stored: BTreeSet<Vec<u8>> = log.iter().map(|(_, e)| e.clone()).collect();
    assert_eq!(stored.len(), log.len(), "{b}: every event stored once");
    assert_eq!(stored, expected, "{b}: exactly the appended events are stored");
    assert_eq!(counts(&store).await.audit_events, i64::try_from(log.len()).expect("small"), "{b}: count matches");
    // A batch's two events are adjacent and in order.
    for (seq, bytes) in &log {
        let text = String::from_utf8_lossy(bytes);
        if text.contains("-a\"") {
            let next = log.iter().find(|(s, _)| *s == seq + 1).map(|(_, e)| String::from_utf8_lossy(e).into_owned());
            let want = text.replace("-a\"", "-b\"");
            assert_eq!(next.as_deref(), Some(want.as_str()), "{b}: batch at seq {seq} split or reordered");
        }
    }
    assert!(log.len() > before.len() + TASKS * ROUNDS, "{b}: the workers appended events");
}

/// Fail-closed audit (DESIGN §4.4): when the audit append fails, the change it belongs to rolls
/// back and a read returns no data. The port offers no way to break the audit log, so the caller
/// passes `sabotage`: `sabotage(true)` must make the next audit append fail (for example by
/// occupying the next sequence number behind the store's back), `sabotage(false)` must undo that.
#[allow(clippy::too_many_lines, reason = "one scenario, read top to bottom")]
pub async fn audit_failure_rolls_back<S: Store, F: AsyncFn(bool)>(store: S, sabotage: F) {
    let b = store.backend();
    initialised(&store).await;
    let subject = new_subject(12);
    store.create_subject(&subject, &event(Action::SubjectCreate, Some(subject.id), "x0")).await.expect("create");
    let record = load(&store, subject.id).await;
    let before = counts(&store).await;
    let log = audit_log(&store).await;

    sabotage(true).await;
    let fresh = new_subject(13);
    let created = store.create_subject(&fresh, &event(Action::SubjectCreate, Some(fresh.id), "x1")).await;
    assert!(created.is_err(), "{b}: create must fail when its audit event cannot be stored");
    assert_eq!(load(&store, fresh.id).await, None, "{b}: the failed create left no subject");
    assert!(find(&store, &fresh.index[0]).await.is_empty(), "{b}: the failed create left no index entry");
    let batch = [new_subject(14), new_subject(15)];
    let events = batch.each_ref().map(|s| event(Action::SubjectCreate, Some(s.id), "x1b"));
    let created = store.create_subjects(&batch, &events).await;
    assert!(created.is_err(), "{b}: a bulk create must fail when its audit events cannot be stored");
    for s in &batch {
        assert_eq!(load(&store, s.id).await, None, "{b}: the failed bulk create left no subject");
        assert!(find(&store, &s.index[0]).await.is_empty(), "{b}: the failed bulk create left no index entry");
    }

    let change = SubjectChange {
        id: subject.id,
        expected_revision: 1,
        updated_at: T1,
        set: vec![value("email", b"changed")],
        remove: vec!["iban".to_owned()],
        index: Vec::new(),
    };
    let updated = store.update_subject(&change, &event(Action::SubjectUpdate, Some(subject.id), "x2")).await;
    assert!(updated.is_err(), "{b}: update must fail when its audit event cannot be stored");
    let read = store.read_subject(subject.id, |_| event(Action::SubjectRead, Some(subject.id), "x3")).await;
    assert!(read.is_err(), "{b}: a read whose audit event cannot be stored must return no data");
    let found = store.find_subjects(&subject.index[0], |_| vec![event(Action::SubjectFind, None, "x4")]).await;
    assert!(found.is_err(), "{b}: a find whose audit event cannot be stored must return no data");
    let erased = store.erase_subject(subject.id, T1, |_| event(Action::SubjectErase, Some(subject.id), "x5")).await;
    assert!(erased.is_err(), "{b}: erase must fail when its audit event cannot be stored");
    let appended = store.append_audit(&[event(Action::IntegrityFailure, None, "x6")]).await;
    assert!(appended.is_err(), "{b}: append_audit must report the failure");
    let loaded = add_register(&store, "[controller]\n", 0x5a, T1).await;
    assert!(loaded.is_err(), "{b}: a register load must fail when its audit event cannot be stored");
    sabotage(false).await;
    assert_eq!(
        store.latest_register_version().await.expect("latest_register_version"),
        None,
        "{b}: the failed register load stored no version"
    );

    assert_eq!(load(&store, subject.id).await, record, "{b}: failed update and erase changed nothing");
    assert!(!store.is_erased(subject.id).await.expect("is_erased"), "{b}: failed erase wrote no ledger entry");
    assert_eq!(find(&store, &subject.index[1]).await, vec![subject.id], "{b}: index intact");
    assert_eq!(counts(&store).await, before, "{b}: nothing changed, no audit event appended");
    let after = audit_log(&store).await;
    assert_dense(b, &after);
    assert_eq!(after[..log.len()], log[..], "{b}: earlier events untouched");

    // Repaired: the same operations work again.
    store
        .create_subject(&fresh, &event(Action::SubjectCreate, Some(fresh.id), "x7"))
        .await
        .expect("create after repair");
    assert!(load(&store, fresh.id).await.is_some(), "{b}: create works after repair");
    assert_dense(b, &audit_log(&store).await);
}

/// Adds a register version with a made-up digest (`tag` repeated), audited as `register.load`.
async fn add_register<S: Store>(
    store: &S,
    source: &str,
    tag: u8,
    at: Timestamp,
) -> Result<StoredRegisterVersion, StoreError> {
    let sha256 = [tag; 32];
    store
        .add_register_version(source, &sha256, at, "cli:conformance", |version| {
            ctx("register")
                .event(at, Action::RegisterLoad, None, &[], &[], Outcome::Success)
                .with_register(version, &sha256)
        })
        .await
}

/// Register versions: numbered 1, 2, … in load order, immutable, each load audited with its
/// number; loading the latest version's text again changes nothing and appends no event.
pub async fn register_versions<S: Store>(store: S) {
    let b = store.backend();
    initialised(&store).await;
    assert_eq!(store.latest_register_version().await.expect("latest"), None, "{b}: no register yet");
    assert!(store.register_versions().await.expect("list").is_empty(), "{b}: no versions yet");
    assert_eq!(store.register_version(1).await.expect("get"), None, "{b}: no version 1 yet");
    let log_before = audit_log(&store).await.len();

    let first_text = "# first\n[controller]\nname = \"Één B.V.\"\n";
    let first = add_register(&store, first_text, 1, T0).await.unwrap_or_else(|e| panic!("{b}: load 1: {e}"));
    let want_first = StoredRegisterVersion {
        version: 1,
        loaded_at: T0,
        sha256: [1; 32],
        source: first_text.to_owned(),
        loaded_by: "cli:conformance".to_owned(),
    };
    assert_eq!(first, want_first, "{b}: the first load is version 1");
    let log = audit_log(&store).await;
    assert_eq!(log.len(), log_before + 1, "{b}: the load is audited");
    let text = String::from_utf8_lossy(&log[log.len() - 1].1).into_owned();
    assert!(text.contains(r#""action":"register.load""#), "{b}: {text}");
    assert!(text.contains(r#""register":{"version":1,"sha256":"0101"#), "{b}: the event names the version: {text}");

    // The same text (same digest) again: the stored version comes back, nothing is written.
    let again = add_register(&store, first_text, 1, T1).await.expect("load the same text");
    assert_eq!(again, want_first, "{b}: an unchanged load returns the latest version as stored");
    assert_eq!(audit_log(&store).await.len(), log.len(), "{b}: an unchanged load appends no event");

    let second = add_register(&store, "# second\n", 2, T1).await.expect("load 2");
    assert_eq!(second.version, 2, "{b}: a changed text is the next version");
    // An older text is a change relative to the latest, so it becomes version 3.
    let third = add_register(&store, first_text, 1, T1).await.expect("load 3");
    assert_eq!(third.version, 3, "{b}: going back to an older text is a new version");

    assert_eq!(store.register_version(1).await.expect("get 1"), Some(want_first.clone()), "{b}: version 1 intact");
    assert_eq!(store.register_version(2).await.expect("get 2"), Some(second.clone()), "{b}: version 2");
    assert_eq!(store.register_version(4).await.expect("get 4"), None, "{b}: no version 4");
    assert_eq!(store.register_version(u64::MAX).await.expect("get max"), None, "{b}: huge version");
    assert_eq!(store.latest_register_version().await.expect("latest"), Some(third.clone()), "{b}: latest");
    let list = store.register_versions().await.expect("list");
    let want: Vec<RegisterVersionSummary> = [&want_first, &second, &third].into_iter().map(Into::into).collect();
    assert_eq!(list, want, "{b}: every version, oldest first");
    assert_eq!(audit_log(&store).await.len(), log_before + 3, "{b}: three loads, three events");
}

/// Concurrent loads of different texts get distinct, dense version numbers and one event each.
pub async fn register_versions_under_concurrency<S: Store>(store: S) {
    let b = store.backend();
    initialised(&store).await;
    let before = audit_log(&store).await.len();
    let loads: Vec<_> = (0..TASKS)
        .map(|t| {
            let store = store.clone();
            Box::pin(async move {
                let tag = u8::try_from(t + 1).expect("few tasks");
                add_register(&store, &format!("# text {t}\n"), tag, T0).await
            })
        })
        .collect();
    let mut versions: Vec<u64> = join_all(loads)
        .await
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("{b}: a concurrent load failed: {e}")).version)
        .collect();
    versions.sort_unstable();
    let want: Vec<u64> = (1..=u64::try_from(TASKS).expect("few tasks")).collect();
    assert_eq!(versions, want, "{b}: distinct, dense version numbers");
    let log = audit_log(&store).await;
    assert_dense(b, &log);
    assert_eq!(log.len(), before + TASKS, "{b}: one event per load");
}
