//! Conformance cases for data-subject requests: records and revisions, timelines, single-use codes
//! under concurrency, quarantined uploads, exports by token and their expiry, the fiscal archive,
//! objections, and the audit events of one subject.

use kluis_domain::audit::Action;
use kluis_domain::request::{Channel, RequestKind, RequestState, TimelineKind, Verification};
use kluis_domain::{RequestId, Timestamp};
use kluis_store::{
    Archive, ArchiveChange, IndexEntry, RequestCode, RequestRecord, SealedSecret, Store, StoredExport, StoredUpload,
    TimelineEntry,
};

use super::{T0, T1, TASKS, event, initialised, join_all, load, new_subject};

fn request(tag: u8) -> RequestRecord {
    RequestRecord {
        id: RequestId::generate(),
        kind: RequestKind::Access,
        state: RequestState::Verifying,
        channel: Channel::Portal,
        lang: "nl".to_owned(),
        subject: None,
        purpose: None,
        received_at: T0,
        due_on: "2023-12-14".to_owned(),
        extended_to: None,
        verification: None,
        verified_at: None,
        closed_at: None,
        id_upload_allowed: false,
        data_key: Some(SealedSecret { kek_version: 1, sealed: vec![tag; 72] }),
        contact: Some(vec![tag; 40]),
        details: None,
        revision: 1,
    }
}

fn entry(kind: TimelineKind, state: RequestState, at: Timestamp) -> TimelineEntry {
    TimelineEntry {
        at,
        kind,
        actor: "requester".to_owned(),
        state,
        detail: Some("x".to_owned()),
        note: Some(vec![7; 20]),
    }
}

/// Requests round-trip; updates are revision-checked; timelines keep their order; closing a
/// request removes its code and upload.
pub async fn requests_lifecycle<S: Store>(store: S) {
    let b = store.backend();
    initialised(&store).await;
    let r = request(1);
    let first = entry(TimelineKind::Received, RequestState::Received, T0);
    store
        .create_request(&r, std::slice::from_ref(&first), &[event(Action::RequestCreate, None, "r")])
        .await
        .expect("create");
    assert_eq!(store.request(r.id).await.unwrap().as_ref(), Some(&r), "{b}: round trip");
    assert!(store.create_request(&r, &[], &[]).await.is_err(), "{b}: a duplicate id is refused");

    let mut next = r.clone();
    next.state = RequestState::InProgress;
    next.verification = Some(Verification::MailedCode);
    next.verified_at = Some(T1);
    next.subject = Some(kluis_domain::SubjectId::generate());
    let second = entry(TimelineKind::Verified, RequestState::InProgress, T1);
    assert!(store.update_request(&next, 1, std::slice::from_ref(&second), &[]).await.unwrap(), "{b}: update at rev 1");
    assert!(!store.update_request(&next, 1, &[], &[]).await.unwrap(), "{b}: a stale revision changes nothing");
    let stored = store.request(r.id).await.unwrap().unwrap();
    assert_eq!(stored, RequestRecord { revision: 2, ..next.clone() }, "{b}: updated");
    assert_eq!(store.request_timeline(r.id).await.unwrap(), vec![first, second], "{b}: timeline in order");

    // Open and all lists.
    let other = request(2);
    store.create_request(&other, &[], &[]).await.unwrap();
    let code = RequestCode { hash: [9; 32], created_at: T0, expires_at: T1, attempts: 0 };
    store.put_request_code(r.id, &code).await.unwrap();
    let upload = StoredUpload { content_type: "image/png".into(), size: 3, uploaded_at: T0, sealed: vec![1, 2, 3] };
    let mut allowed = stored.clone();
    allowed.id_upload_allowed = true;
    assert!(store.update_request(&allowed, 2, &[], &[]).await.unwrap());
    store.put_upload(r.id, &upload, &[], &[]).await.unwrap();
    assert_eq!(store.upload(r.id).await.unwrap(), Some(upload), "{b}: upload round trip");
    let mut closed = allowed.clone();
    closed.state = RequestState::Completed;
    closed.closed_at = Some(T1);
    assert!(store.update_request(&closed, 3, &[], &[]).await.unwrap());
    assert_eq!(store.upload(r.id).await.unwrap(), None, "{b}: closing deletes the upload");
    assert_eq!(store.request_code(r.id).await.unwrap(), None, "{b}: closing deletes the code");
    let open: Vec<RequestId> = store.requests(true, 100).await.unwrap().iter().map(|r| r.id).collect();
    assert_eq!(open, vec![other.id], "{b}: only the open one");
    assert_eq!(store.requests(false, 100).await.unwrap().len(), 2, "{b}: all");
    let subject = next.subject.expect("linked");
    let of_subject: Vec<RequestId> = store.requests_of_subject(subject).await.unwrap().iter().map(|r| r.id).collect();
    assert_eq!(of_subject, vec![r.id], "{b}: the requests about one subject");
}

/// Of concurrent takers of one code exactly one wins; failed attempts count and the last one
/// deletes the code.
pub async fn request_codes_single_use<S: Store>(store: S) {
    let b = store.backend();
    initialised(&store).await;
    let r = request(3);
    store.create_request(&r, &[], &[]).await.unwrap();
    let code = RequestCode { hash: [5; 32], created_at: T0, expires_at: T1, attempts: 0 };
    store.put_request_code(r.id, &code).await.unwrap();
    assert!(!store.take_request_code(r.id, &[6; 32]).await.unwrap(), "{b}: another hash takes nothing");
    let id = r.id;
    let racers: Vec<_> = (0..TASKS)
        .map(|_| {
            let store = store.clone();
            Box::pin(async move { store.take_request_code(id, &[5; 32]).await.unwrap() })
        })
        .collect();
    let wins = join_all(racers).await;
    assert_eq!(wins.iter().filter(|w| **w).count(), 1, "{b}: exactly one taker wins");

    store.put_request_code(r.id, &code).await.unwrap();
    for n in 1..5 {
        assert_eq!(store.fail_request_code(r.id, 5).await.unwrap(), Some(n), "{b}: attempt {n}");
    }
    assert_eq!(store.request_code(r.id).await.unwrap().map(|c| c.attempts), Some(4));
    assert_eq!(store.fail_request_code(r.id, 5).await.unwrap(), Some(5), "{b}: the last attempt");
    assert_eq!(store.request_code(r.id).await.unwrap(), None, "{b}: gone after the last attempt");
    assert_eq!(store.fail_request_code(r.id, 5).await.unwrap(), None, "{b}: no code, no count");
}

/// Exports are found by their token hash and swept after expiry.
pub async fn request_exports<S: Store>(store: S) {
    let b = store.backend();
    initialised(&store).await;
    let r = request(4);
    store.create_request(&r, &[], &[]).await.unwrap();
    let export = |id: &str, format: &str| StoredExport {
        id: id.to_owned(),
        request: r.id,
        format: format.to_owned(),
        token_hash: [8; 32],
        created_at: T0,
        expires_at: T1,
        sealed: vec![4; 30],
    };
    let exports = [export("a", "json"), export("b", "html")];
    let mut done = r.clone();
    done.state = RequestState::InProgress;
    assert!(store.put_exports(&exports, &done, 1, &[], &[]).await.unwrap());
    assert!(!store.put_exports(&exports, &done, 1, &[], &[]).await.unwrap(), "{b}: stale revision, nothing stored");
    assert_eq!(store.exports_by_token(&[8; 32]).await.unwrap(), exports.to_vec(), "{b}: both, in id order");
    assert!(store.exports_by_token(&[9; 32]).await.unwrap().is_empty());
    assert_eq!(store.delete_expired_exports(T0).await.unwrap(), 0, "{b}: not yet expired");
    assert_eq!(store.delete_expired_exports(T1).await.unwrap(), 2, "{b}: expired at T1");
    assert!(store.exports_by_token(&[8; 32]).await.unwrap().is_empty());
}

/// The archive keeps only the named values and index entries; objections accumulate once; the
/// audit events of a subject are found by its id.
pub async fn archive_and_objections<S: Store>(store: S) {
    let b = store.backend();
    initialised(&store).await;
    let subject = new_subject(31);
    store.create_subject(&subject, &event(Action::SubjectCreate, Some(subject.id), "c")).await.unwrap();
    let before = load(&store, subject.id).await.unwrap();
    let keep = before.values[0].field.clone();
    let kept_index = IndexEntry { index: "iban".into(), digest: vec![0xAB; 32] };
    let change = ArchiveChange {
        id: subject.id,
        expected_revision: before.revision,
        at: T1,
        keep: vec![keep.clone()],
        index: vec![kept_index.clone()],
        archive: Archive { purpose: "fiscal_records".into(), until: T1 },
    };
    assert!(!store.archive_subject(&ArchiveChange { expected_revision: 99, ..change.clone() }, &[]).await.unwrap());
    assert!(store.archive_subject(&change, &[event(Action::SubjectArchive, Some(subject.id), "a")]).await.unwrap());
    let after = load(&store, subject.id).await.unwrap();
    assert_eq!(
        after.values.iter().map(|v| v.field.clone()).collect::<Vec<_>>(),
        vec![keep],
        "{b}: only the kept value"
    );
    assert_eq!(after.archive, Some(Archive { purpose: "fiscal_records".into(), until: T1 }), "{b}: archived");
    assert_eq!(store.subject_ids_by_index(&kept_index).await.unwrap(), vec![subject.id], "{b}: kept index entry");
    for entry in &subject.index {
        if entry != &kept_index {
            assert!(store.subject_ids_by_index(entry).await.unwrap().is_empty(), "{b}: other index entries gone");
        }
    }

    for _ in 0..2 {
        assert!(store.add_objection(subject.id, "newsletter", T1, &[]).await.unwrap());
    }
    store.add_objection(subject.id, "billing", T1, &[]).await.unwrap();
    assert_eq!(load(&store, subject.id).await.unwrap().objections, vec!["billing", "newsletter"], "{b}: sorted, once");
    assert!(!store.add_objection(kluis_domain::SubjectId::generate(), "billing", T1, &[]).await.unwrap());

    let events = store.subject_events(subject.id, 0, 100).await.unwrap();
    assert_eq!(events.len(), 2, "{b}: create and archive are about the subject");
    assert!(events.windows(2).all(|w| w[0].seq < w[1].seq), "{b}: in log order");
    assert!(store.subject_events(subject.id, events[1].seq + 1, 100).await.unwrap().is_empty());
}
