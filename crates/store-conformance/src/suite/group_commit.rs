//! Group commit (crates/store-sql/src/writer.rs): many concurrent writes and audited reads, with
//! failing and panicking jobs among them. The port cannot see batches, so the cases make them
//! likely (dozens of requests in flight at once) and check what batching must never change:
//! every successful request is stored and audited exactly once, a failed one leaves nothing, the
//! log's sequence numbers are dense, and each caller's requests appear in the order it made them.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;

use kluis_domain::TokenId;
use kluis_store::{Hash, NodeId, SubjectRecord, TokenRecord};

use super::{
    Action, AuditEvent, Future, IndexEntry, NewSubject, Pin, Poll, Store, StoreError, SubjectChange, SubjectId, T0, T1,
    assert_dense, audit_log, counts, enc, entry, event, initialised, join_all, load, new_subject, value,
};

/// A read's tag and the revision it returned (`None`: not found).
type Seen = (String, Option<i64>);

/// A boxed request future of a case.
type Request<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Concurrent callers per case.
const CALLERS: usize = 48;
/// Subjects created before the concurrent part, read and searched by the callers.
const SEEDED: usize = 8;

/// A future's panic as an `Err`, so one panicking request does not end the case.
struct CatchUnwind<F>(F);

impl<F: Future + Unpin> Future for CatchUnwind<F> {
    type Output = Result<F::Output, ()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Self::Output> {
        let inner = &mut self.0;
        match std::panic::catch_unwind(AssertUnwindSafe(|| Pin::new(&mut *inner).poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(_) => Poll::Ready(Err(())),
        }
    }
}

fn seeded_subjects() -> Vec<NewSubject> {
    (0..SEEDED).map(|i| new_subject(u8::try_from(i + 1).expect("small"))).collect()
}

fn email_of(subject: &NewSubject) -> IndexEntry {
    subject.index.iter().find(|e| e.index == "email").cloned().expect("seeded subjects have an e-mail entry")
}

async fn seed<S: Store>(store: &S) -> Vec<NewSubject> {
    let seeded = seeded_subjects();
    for s in &seeded {
        store.create_subject(s, &event(Action::SubjectCreate, Some(s.id), "seed")).await.expect("seed");
    }
    seeded
}

/// Asserts that the log holds exactly `expected` (as a multiset of encodings), densely numbered,
/// and that each caller's tags appear in the order given. Returns the log.
async fn assert_log<S: Store>(store: &S, expected: &[Vec<u8>], ordered: &[Vec<String>]) {
    let b = store.backend();
    let log = audit_log(store).await;
    assert_dense(b, &log);
    let mut want: BTreeMap<&[u8], usize> = BTreeMap::new();
    for e in expected {
        *want.entry(e.as_slice()).or_default() += 1;
    }
    let mut got: BTreeMap<&[u8], usize> = BTreeMap::new();
    for (_, e) in &log {
        *got.entry(e.as_slice()).or_default() += 1;
    }
    assert_eq!(log.len(), expected.len(), "{b}: as many events as successful requests");
    assert!(got == want, "{b}: exactly the events of the successful requests are stored, each once");
    // Each caller awaited its requests one after another, so their events are in that order.
    let position = |tag: &str| {
        let needle = format!("\"{tag}\"");
        log.iter()
            .position(|(_, e)| String::from_utf8_lossy(e).contains(&needle))
            .unwrap_or_else(|| panic!("{b}: the event of {tag} is missing"))
    };
    for tags in ordered {
        let positions: Vec<usize> = tags.iter().map(|t| position(t)).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{b}: {tags:?} logged out of order: {positions:?}");
    }
}

/// Many callers at once, each creating a subject, reading and finding a seeded one, appending an
/// event, updating its own subject, and making two requests that fail (a duplicate create and an
/// update at a stale revision): every success is stored and audited once, in each caller's order,
/// the failures leave nothing, and the log stays dense.
pub async fn group_commit_concurrent_mix<S: Store>(store: S) {
    let b = store.backend();
    initialised(&store).await;
    let seeded = seed(&store).await;
    let mut expected: Vec<Vec<u8>> = audit_log(&store).await.into_iter().map(|(_, e)| e).collect();

    let callers: Vec<_> = (0..CALLERS)
        .map(|i| {
            let store = store.clone();
            let target = seeded[i % SEEDED].clone();
            Box::pin(async move {
                let mut events: Vec<AuditEvent> = Vec::new();
                let tag = |step: &str| format!("{step}-{i}");
                let mine = new_subject(u8::try_from(100 + i).expect("small"));
                let created = event(Action::SubjectCreate, Some(mine.id), &tag("create"));
                store.create_subject(&mine, &created).await?;
                events.push(created);

                let read = event(Action::SubjectRead, Some(target.id), &tag("read"));
                let record = store.read_subject(target.id, |r| {
                    assert!(r.is_some(), "the seeded subject is there");
                    read.clone()
                });
                let record = record.await?.ok_or_else(|| StoreError::Corrupt(tag("read found nothing")))?;
                if record.values.len() != target.values.len() {
                    return Err(StoreError::Corrupt(tag("read returned other values")));
                }
                events.push(read);

                let find = event(Action::SubjectFind, Some(target.id), &tag("find"));
                let found = store.find_subjects(&email_of(&target), |_| vec![find.clone()]).await?;
                if found.iter().map(|r| r.id).collect::<Vec<_>>() != vec![target.id] {
                    return Err(StoreError::Corrupt(tag("find returned other subjects")));
                }
                events.push(find);

                // Fails in the batch: the id is taken.
                let dup = event(Action::SubjectCreate, Some(target.id), &tag("duplicate"));
                match store.create_subject(&target, &dup).await {
                    Err(StoreError::Duplicate) => {}
                    other => return Err(StoreError::Corrupt(format!("{}: {other:?}", tag("duplicate")))),
                }

                let appended = event(Action::SubjectRead, None, &tag("append"));
                store.append_audit(std::slice::from_ref(&appended)).await?;
                events.push(appended);

                // Fails in the batch: stale revision.
                let stale = SubjectChange {
                    id: mine.id,
                    expected_revision: 7,
                    updated_at: T1,
                    set: vec![value("email", b"stale")],
                    remove: vec![],
                    index: vec![],
                };
                let stale_event = event(Action::SubjectUpdate, Some(mine.id), &tag("stale"));
                match store.update_subject(&stale, &stale_event).await {
                    Err(StoreError::Conflict(id)) if id == mine.id => {}
                    other => return Err(StoreError::Corrupt(format!("{}: {other:?}", tag("stale")))),
                }

                let change = SubjectChange {
                    id: mine.id,
                    expected_revision: 1,
                    updated_at: T1,
                    set: vec![value("email", &[0xE0, u8::try_from(i).expect("small")])],
                    remove: vec!["iban".to_owned()],
                    index: vec![entry("email", &[0xE0; 32])],
                };
                let updated = event(Action::SubjectUpdate, Some(mine.id), &tag("update"));
                store.update_subject(&change, &updated).await?;
                events.push(updated);
                Ok::<_, StoreError>((mine.id, events))
            })
        })
        .collect();

    let mut ordered = Vec::new();
    let mut mine = Vec::new();
    for result in join_all(callers).await {
        let (id, events) = result.unwrap_or_else(|e| panic!("{b}: a concurrent request failed: {e}"));
        ordered.push(
            ["create", "read", "find", "append", "update"]
                .iter()
                .map(|s| {
                    let i = mine.len();
                    format!("{s}-{i}")
                })
                .collect::<Vec<_>>(),
        );
        expected.extend(events.iter().map(enc));
        mine.push(id);
    }
    assert_log(&store, &expected, &ordered).await;

    let c = counts(&store).await;
    assert_eq!(c.subjects, i64::try_from(SEEDED + CALLERS).expect("small"), "{b}: every create stored, no duplicate");
    for (i, id) in mine.iter().enumerate() {
        let record = load(&store, *id).await.unwrap_or_else(|| panic!("{b}: subject of caller {i} missing"));
        assert_eq!(record.revision, 2, "{b}: caller {i}: one successful update");
        let fields: Vec<&str> = record.values.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["email", "phone"], "{b}: caller {i}: the update's values");
        assert_eq!(record.values[0].ciphertext, [0xE0, u8::try_from(i).expect("small")], "{b}: caller {i}: set");
    }
    for s in &seeded {
        assert_eq!(load(&store, s.id).await.map(|r| r.revision), Some(1), "{b}: seeded subjects untouched");
    }
    let shared = store.find_subjects(&entry("email", &[0xE0; 32]), |_| Vec::new()).await.expect("find");
    assert_eq!(shared.len(), CALLERS, "{b}: every update's index entry stored");
}

/// A request whose audit closure panics, among concurrent successful ones: the panicking erase is
/// rolled back (the subject stays, unerased, unaudited), the panicking read logs nothing, the
/// others commit, and the store keeps working afterwards.
pub async fn group_commit_panicking_jobs_stay_alone<S: Store>(store: S) {
    let b = store.backend();
    initialised(&store).await;
    let seeded = seed(&store).await;
    let mut expected: Vec<Vec<u8>> = audit_log(&store).await.into_iter().map(|(_, e)| e).collect();
    let victim = seeded[0].id;

    let mut futures: Vec<Request<Result<Option<AuditEvent>, ()>>> = Vec::new();
    for i in 0..CALLERS {
        let store = store.clone();
        futures.push(Box::pin(CatchUnwind(Box::pin(async move {
            match i % 4 {
                0 => {
                    let subject = new_subject(u8::try_from(100 + i).expect("small"));
                    let created = event(Action::SubjectCreate, Some(subject.id), &format!("create-{i}"));
                    store.create_subject(&subject, &created).await.expect("create");
                    Some(created)
                }
                1 => {
                    let appended = event(Action::SubjectRead, None, &format!("append-{i}"));
                    store.append_audit(std::slice::from_ref(&appended)).await.expect("append");
                    Some(appended)
                }
                2 => {
                    let _ = store
                        .erase_subject(victim, T1, |_: bool| -> AuditEvent { panic!("injected panic in an erase") })
                        .await;
                    None
                }
                _ => {
                    let _ = store
                        .read_subject(victim, |_: Option<&_>| -> AuditEvent { panic!("injected panic in a read") })
                        .await;
                    None
                }
            }
        }))));
    }
    let mut panics = 0;
    for result in join_all(futures).await {
        match result {
            Ok(Some(e)) => expected.push(enc(&e)),
            Ok(None) => panic!("{b}: a request with a panicking audit closure returned"),
            Err(()) => panics += 1,
        }
    }
    assert_eq!(panics, CALLERS / 2, "{b}: every injected panic reached its caller");
    assert_log(&store, &expected, &[]).await;
    assert!(load(&store, victim).await.is_some(), "{b}: the panicking erase was rolled back");
    assert!(!store.is_erased(victim).await.expect("is_erased"), "{b}: no erasure recorded");

    // The writer goes on.
    let read = event(Action::SubjectRead, Some(victim), "after");
    let record = store.read_subject(victim, |_| read.clone()).await.expect("read after the panics");
    assert!(record.is_some(), "{b}: read after the panics");
    let erase = event(Action::SubjectErase, Some(victim), "erase");
    assert!(store.erase_subject(victim, T1, |_| erase.clone()).await.expect("erase"), "{b}: erase after");
    expected.push(enc(&read));
    expected.push(enc(&erase));
    assert_log(&store, &expected, &[vec!["after".to_owned(), "erase".to_owned()]]).await;
}

/// Not a conformance case: a probe of the writer's throughput (`tests/group_commit.rs`, ignored;
/// run it in release). `callers` concurrent callers read seeded subjects, then create subjects,
/// for `seconds` each; returns (reads/s, creates/s).
pub async fn throughput_probe<S: Store>(store: S, callers: usize, seconds: f64) -> (f64, f64) {
    initialised(&store).await;
    let seeded: Vec<NewSubject> = (0..1000_u32)
        .map(|i| NewSubject { id: SubjectId::generate(), ..new_subject(u8::try_from(i % 200).expect("small")) })
        .collect();
    store.create_subjects(&seeded, &[]).await.expect("seed");
    let ids: Vec<SubjectId> = seeded.iter().map(|s| s.id).collect();
    let deadline = std::time::Duration::from_secs_f64(seconds);
    let run = |create: bool| {
        let started = std::time::Instant::now();
        let tasks: Vec<_> = (0..callers)
            .map(|c| {
                let (store, ids) = (store.clone(), ids.clone());
                Box::pin(async move {
                    let mut n = 0_usize;
                    while started.elapsed() < deadline {
                        if create {
                            let s = new_subject(u8::try_from(n % 200).expect("small"));
                            store.create_subject(&s, &event(Action::SubjectCreate, Some(s.id), "p")).await.expect("c");
                        } else {
                            let id = ids[(c * 7919 + n * 31) % ids.len()];
                            store.read_subject(id, |_| event(Action::SubjectRead, Some(id), "p")).await.expect("r");
                        }
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        async move {
            let n: usize = join_all(tasks).await.into_iter().sum();
            #[allow(clippy::cast_precision_loss)]
            let rate = n as f64 / started.elapsed().as_secs_f64();
            rate
        }
    };
    let reads = run(false).await;
    let creates = run(true).await;
    (reads, creates)
}

/// The tag (`request_id`) of a stored event.
fn tag_of(encoding: &[u8]) -> String {
    let text = String::from_utf8_lossy(encoding);
    let start = text.find("\"request_id\":\"").map(|i| i + "\"request_id\":\"".len()).expect("a tagged event");
    let end = text[start..].find('"').expect("a closing quote") + start;
    text[start..end].to_owned()
}

/// Reads racing with updates and an erasure of the same subjects: every read returns the state
/// its event's place in the log says (the revision after exactly the updates logged before it;
/// nothing after the erasure). Reads may be made before the batch that logs them (on the pool),
/// so this is what checking them in the batch must guarantee.
pub async fn group_commit_reads_follow_log_order<S: Store>(store: S) {
    const SUBJECTS: usize = 4;
    const UPDATES: i64 = 12;
    let b = store.backend();
    initialised(&store).await;
    let seeded: Vec<NewSubject> = seeded_subjects().into_iter().take(SUBJECTS).collect();
    for s in &seeded {
        store
            .create_subject(s, &event(Action::SubjectCreate, Some(s.id), &format!("create-{}", s.id)))
            .await
            .expect("seed");
    }
    let ids: Vec<SubjectId> = seeded.iter().map(|s| s.id).collect();
    let mut futures: Vec<Request<Vec<Seen>>> = Vec::new();
    for r in 0..CALLERS {
        let (store, ids) = (store.clone(), ids.clone());
        futures.push(Box::pin(async move {
            let mut seen = Vec::new();
            for n in 0..8 {
                let id = ids[(r + n) % ids.len()];
                let tag = format!("read-{r}-{n}");
                // The event names the revision the audit closure was shown: a read made again
                // (stale) calls it again, and only the last call's event may be logged.
                let audit = |rec: Option<&SubjectRecord>| {
                    let shown = rec.map_or_else(|| "none".to_owned(), |rec| rec.revision.to_string());
                    event(Action::SubjectRead, Some(id), &format!("{tag}@{shown}"))
                };
                let record = store.read_subject(id, audit).await.expect("read");
                seen.push((tag, record.map(|rec| rec.revision)));
            }
            seen
        }));
    }
    for (u, id) in ids.iter().copied().enumerate() {
        let store = store.clone();
        futures.push(Box::pin(async move {
            for revision in 1..=UPDATES {
                let change = SubjectChange {
                    id,
                    expected_revision: revision,
                    updated_at: T1,
                    set: vec![value("email", &[u8::try_from(revision).expect("small")])],
                    remove: vec![],
                    index: vec![],
                };
                let ev = event(Action::SubjectUpdate, Some(id), &format!("update-{id}-{revision}"));
                store.update_subject(&change, &ev).await.expect("update");
            }
            if u == 0 {
                let ev = event(Action::SubjectErase, Some(id), &format!("erase-{id}"));
                assert!(store.erase_subject(id, T1, |_| ev.clone()).await.expect("erase"), "erased");
            }
            Vec::new()
        }));
    }
    let returned: BTreeMap<String, Option<i64>> = join_all(futures).await.into_iter().flatten().collect();
    let log = audit_log(&store).await;
    assert_dense(b, &log);
    let mut state: BTreeMap<String, Option<i64>> = BTreeMap::new();
    let mut reads = 0;
    for (seq, encoding) in &log {
        let Some(tag) = String::from_utf8_lossy(encoding).contains("\"request_id\":\"").then(|| tag_of(encoding))
        else {
            continue;
        };
        if let Some(id) = tag.strip_prefix("create-") {
            state.insert(id.to_owned(), Some(1));
        } else if let Some(rest) = tag.strip_prefix("update-") {
            let (id, revision) = rest.rsplit_once('-').expect("update-<id>-<revision>");
            let revision: i64 = revision.parse().expect("a revision");
            state.insert(id.to_owned(), Some(revision + 1));
        } else if let Some(id) = tag.strip_prefix("erase-") {
            state.insert(id.to_owned(), None);
        } else if let Some((tag, shown)) = tag.split_once('@') {
            let subject = String::from_utf8_lossy(encoding);
            let id = ids
                .iter()
                .map(ToString::to_string)
                .find(|id| subject.contains(id.as_str()))
                .expect("a read names its subject");
            let want = state.get(&id).copied().flatten();
            let got = returned.get(tag).copied().flatten();
            assert_eq!(got, want, "{b}: {tag} at seq {seq} returned another state than the log says");
            assert_eq!(
                shown,
                got.map_or_else(|| "none".to_owned(), |r| r.to_string()),
                "{b}: {tag}'s logged event was built from another read than the one returned"
            );
            reads += 1;
        }
    }
    assert_eq!(reads, CALLERS * 8, "{b}: every read is logged once");
}

/// A service token named `name`, its hash derived from the name (so distinct names never collide):
/// creating one is a write outside the group-commit writer.
fn service_token(name: &str) -> TokenRecord {
    TokenRecord {
        id: TokenId::generate(),
        name: name.to_owned(),
        hash: kluis_crypto::merkle::leaf_hash(name.as_bytes()),
        role: "service".to_owned(),
        created_at: T0,
        revoked_at: None,
        purposes: Some(vec!["storage".to_owned()]),
        allowed_ips: Vec::new(),
        expires_at: None,
    }
}

/// The writer keeps the Merkle frontier its last batch committed and reads it back only when
/// another write transaction appended in between. With the writer's batches (appends, creates,
/// reads) and gated appends outside it (token creation) interleaved and concurrent, every stored
/// node must still be the node of the tree recomputed from the stored events.
pub async fn group_commit_tree_across_other_appends<S: Store>(store: S) {
    const ROUNDS: usize = 12;
    let b = store.backend();
    initialised(&store).await;
    let seeded = seed(&store).await;
    let token = |i: usize| service_token(&format!("tree-{i}"));
    // One at a time: writer batch, gated append, writer batch (the kept frontier is stale).
    for i in 0..ROUNDS {
        let appended = event(Action::SubjectRead, None, &format!("w-{i}"));
        store.append_audit(std::slice::from_ref(&appended)).await.expect("append");
        store.create_token(&token(i), &event(Action::TokenCreate, None, &format!("g-{i}"))).await.expect("token");
        let id = seeded[i % seeded.len()].id;
        store.read_subject(id, |_| event(Action::SubjectRead, Some(id), &format!("r-{i}"))).await.expect("read");
    }
    // And all at once.
    let mut futures: Vec<Request<()>> = Vec::new();
    for i in 0..CALLERS {
        let (store, token) = (store.clone(), token(1000 + i));
        let id = seeded[i % seeded.len()].id;
        futures.push(Box::pin(async move {
            match i % 3 {
                0 => {
                    let tag = format!("gc-{i}");
                    store.create_token(&token, &event(Action::TokenCreate, None, &tag)).await.expect("token");
                }
                1 => {
                    let s = new_subject(u8::try_from(100 + i).expect("small"));
                    store.create_subject(&s, &event(Action::SubjectCreate, Some(s.id), "wc")).await.expect("create");
                }
                _ => {
                    let tag = format!("rc-{i}");
                    store.read_subject(id, |_| event(Action::SubjectRead, Some(id), &tag)).await.expect("read");
                }
            }
        }));
    }
    join_all(futures).await;

    let size = assert_tree_whole(&store).await;
    assert!(size > u64::try_from(3 * ROUNDS + CALLERS).expect("small"), "{b}: the rounds appended");
}

/// Checks that the head counts every stored event and that every stored Merkle node is the node
/// of the tree recomputed from the stored events; returns the log's size.
async fn assert_tree_whole<S: Store>(store: &S) -> u64 {
    let b = store.backend();
    let events = store.audit_events(0, super::ALL).await.expect("events");
    let size = u64::try_from(events.len()).expect("small");
    assert_eq!(store.audit_size().await.expect("size"), size, "{b}: the head counts every event");
    let mut tree = kluis_crypto::merkle::TreeBuilder::new();
    let mut expected: Vec<(NodeId, Hash)> = Vec::new();
    for e in &events {
        expected.extend(tree.push(kluis_crypto::merkle::leaf_hash(&e.event)));
    }
    let ids: Vec<NodeId> = expected.iter().map(|(id, _)| *id).collect();
    let stored = store.audit_nodes(&ids).await.expect("nodes");
    assert_eq!(stored.len(), expected.len(), "{b}: every node stored");
    for ((id, want), got) in expected.iter().zip(&stored) {
        assert_eq!(got, want, "{b}: node {}/{} differs from the recomputed tree", id.level, id.index);
    }
    size
}

/// A write's event (encoded) and what the store answered.
type Written = (Vec<u8>, Result<(), StoreError>);

/// Two stores on one database, as two servers share one: each has its own writer, gate and kept
/// frontier, so their batches and gated writes meet only in the database. Concurrent creates,
/// appends, reads and token creations through both: every acknowledged write is stored and
/// audited once, a refused one (the database may abort one of two conflicting transactions)
/// leaves nothing, the log is dense and its Merkle tree whole.
pub async fn two_stores_on_one_database<S: Store>(one: S, two: S) {
    let b = one.backend();
    initialised(&one).await;
    let seeded = seed(&one).await;
    let mut expected: Vec<Vec<u8>> = audit_log(&one).await.into_iter().map(|(_, e)| e).collect();
    let mut futures: Vec<Request<Written>> = Vec::new();
    for i in 0..CALLERS {
        let store = if i % 2 == 0 { one.clone() } else { two.clone() };
        let id = seeded[i % seeded.len()].id;
        futures.push(Box::pin(async move {
            let tag = format!("two-{i}");
            match (i / 2) % 4 {
                0 => {
                    let s = new_subject(u8::try_from(100 + i).expect("small"));
                    let audit = event(Action::SubjectCreate, Some(s.id), &tag);
                    (enc(&audit), store.create_subject(&s, &audit).await)
                }
                1 => {
                    let audit = event(Action::SubjectFind, None, &tag);
                    (enc(&audit), store.append_audit(std::slice::from_ref(&audit)).await)
                }
                2 => {
                    let audit = event(Action::SubjectRead, Some(id), &tag);
                    let read = store.read_subject(id, |_| audit.clone()).await;
                    (enc(&audit), read.map(|r| assert!(r.is_some(), "a seeded subject reads")))
                }
                _ => {
                    let audit = event(Action::TokenCreate, None, &tag);
                    (enc(&audit), store.create_token(&service_token(&tag), &audit).await)
                }
            }
        }));
    }
    let mut refused = 0;
    for (audit, outcome) in join_all(futures).await {
        match outcome {
            Ok(()) => expected.push(audit),
            Err(StoreError::Backend(_)) => refused += 1,
            Err(e) => panic!("{b}: a write through one of two stores failed: {e}"),
        }
    }
    assert!(refused <= CALLERS / 4, "{b}: {refused} of {CALLERS} writes refused");
    assert_log(&one, &expected, &[]).await;
    assert_tree_whole(&one).await;
    assert_tree_whole(&two).await;
    // Both keep working, each after the other appended.
    for (n, store) in [&one, &two, &one].into_iter().enumerate() {
        let audit = event(Action::SubjectFind, None, &format!("after-{n}"));
        store.append_audit(std::slice::from_ref(&audit)).await.expect("append after");
        expected.push(enc(&audit));
    }
    assert_log(&two, &expected, &[]).await;
    assert_tree_whole(&two).await;
}

/// A create made, its event, and what the store answered.
type Attempt = (NewSubject, AuditEvent, Result<(), StoreError>);

/// Creates queued together are inserted together; one with a taken id among them must fail alone:
/// every other create of the batch is stored and audited once, the taken subject is untouched, and
/// the failed create leaves no row and no event.
pub async fn group_commit_creates_with_a_taken_id<S: Store>(store: S) {
    const ROUNDS: usize = 4;
    let b = store.backend();
    initialised(&store).await;
    let seeded = seed(&store).await;
    let mut expected: Vec<Vec<u8>> = audit_log(&store).await.into_iter().map(|(_, e)| e).collect();
    let mut created = Vec::new();
    for round in 0..ROUNDS {
        let mut futures: Vec<Request<Attempt>> = Vec::new();
        for i in 0..CALLERS {
            let store = store.clone();
            let tag = u8::try_from(100 + i).expect("small");
            // Every sixth create reuses a seeded subject's id.
            let subject = if i % 6 == 5 {
                NewSubject { id: seeded[(round + i) % seeded.len()].id, ..new_subject(tag) }
            } else {
                new_subject(tag)
            };
            let audit = event(Action::SubjectCreate, Some(subject.id), &format!("c-{round}-{i}"));
            futures.push(Box::pin(async move {
                let outcome = store.create_subject(&subject, &audit).await;
                (subject, audit, outcome)
            }));
        }
        for (i, (subject, audit, outcome)) in join_all(futures).await.into_iter().enumerate() {
            if i % 6 == 5 {
                assert!(matches!(outcome, Err(StoreError::Duplicate)), "{b}: create {i} with a taken id: {outcome:?}");
            } else {
                outcome.unwrap_or_else(|e| panic!("{b}: round {round}, create {i} failed beside a taken id: {e}"));
                expected.push(enc(&audit));
                created.push(subject);
            }
        }
    }
    assert_log(&store, &expected, &[]).await;
    let c = counts(&store).await;
    assert_eq!(c.subjects, i64::try_from(seeded.len() + created.len()).expect("small"), "{b}: subjects stored");
    for s in &seeded {
        let record = load(&store, s.id).await.unwrap_or_else(|| panic!("{b}: a seeded subject went"));
        assert_eq!((record.revision, &record.data_key), (1, &s.data_key), "{b}: a taken id's subject untouched");
    }
    for s in &created {
        let record = load(&store, s.id).await.unwrap_or_else(|| panic!("{b}: a created subject is missing"));
        assert_eq!(record.values.len(), s.values.len(), "{b}: its values");
    }
}
