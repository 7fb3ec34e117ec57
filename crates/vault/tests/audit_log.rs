//! The tamper-evident audit log on a real store (DESIGN §4.4, §7): every inclusion and consistency
//! proof of logs of random sizes verifies; every kind of tampering with the stored events, Merkle
//! nodes, head and checkpoints makes `verify_store` fail and name the first bad place; a failing
//! audit append (a real database trigger) rolls the data change back; the checkpointer signs by
//! its policy. Every case runs on SQLite and on PostgreSQL (`sqlite_<case>`, `postgres_<case>`).
//!
//! Random choices come from a seed printed at the start of each test; set `KLUIS_TEST_SEED` to
//! repeat a run.

#![allow(clippy::too_many_lines, reason = "each case is one scenario, read top to bottom")]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use kluis_crypto::SecretKey;
use kluis_crypto::merkle::{self, Hash, NodeId, TreeBuilder};
use kluis_crypto::note::verify_checkpoint;
use kluis_domain::Purpose;
use kluis_domain::access::{CallerScope, PurposePolicy};
use kluis_domain::audit::{Action, Actor, AuditContext, AuditEvent, Outcome};
use kluis_domain::fields::{Catalogue, IndexName};
use kluis_domain::time::SystemClock;
use kluis_domain::{SubjectId, SubjectKind, Timestamp};
use kluis_store_conformance::{Backend, TestDb, fresh};
use kluis_store_sql::SqlStore;
use kluis_vault::audit::{CheckpointPolicy, LogRecomputer, check_checkpoint, run_checkpointer, verify_store};
use kluis_vault::{AuditFault, Store, StoredCheckpoint, Vault, VaultError, VerifyError, VerifyReport};
use sqlx::{AnyPool, Row};

macro_rules! on_both_backends {
    ($($case:ident => $sqlite:ident, $postgres:ident;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $sqlite() {
            $case(Backend::Sqlite).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $postgres() {
            $case(Backend::Postgres).await;
        }
    )*};
}

on_both_backends! {
    every_proof_verifies => sqlite_every_proof_verifies, postgres_every_proof_verifies;
    untouched_log_verifies => sqlite_untouched_log_verifies, postgres_untouched_log_verifies;
    flipped_event_bytes_are_found => sqlite_flipped_event_bytes_are_found, postgres_flipped_event_bytes_are_found;
    flipped_node_bytes_are_found => sqlite_flipped_node_bytes_are_found, postgres_flipped_node_bytes_are_found;
    tampered_checkpoints_are_found => sqlite_tampered_checkpoints_are_found, postgres_tampered_checkpoints_are_found;
    deleted_events_are_found => sqlite_deleted_events_are_found, postgres_deleted_events_are_found;
    faults_past_the_first_page_are_found => sqlite_faults_past_the_first_page_are_found, postgres_faults_past_the_first_page_are_found;
    reordered_events_are_found => sqlite_reordered_events_are_found, postgres_reordered_events_are_found;
    deleted_nodes_are_found => sqlite_deleted_nodes_are_found, postgres_deleted_nodes_are_found;
    consistent_rewrite_is_caught_by_checkpoints => sqlite_consistent_rewrite_is_caught_by_checkpoints, postgres_consistent_rewrite_is_caught_by_checkpoints;
    head_and_truncation_are_found => sqlite_head_and_truncation_are_found, postgres_head_and_truncation_are_found;
    failing_audit_append_rolls_back => sqlite_failing_audit_append_rolls_back, postgres_failing_audit_append_rolls_back;
    checkpointer_signs_by_event_count => sqlite_checkpointer_signs_by_event_count, postgres_checkpointer_signs_by_event_count;
    checkpointer_signs_by_time => sqlite_checkpointer_signs_by_time, postgres_checkpointer_signs_by_time;
}

// ---------------------------------------------------------------------------------------------
// Fixture and helpers
// ---------------------------------------------------------------------------------------------

/// A seeded SplitMix64: no dependency, reproducible from the printed seed.
struct Rng(u64);

impl Rng {
    fn seeded(what: &str) -> Rng {
        let seed = std::env::var("KLUIS_TEST_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
            let random = SubjectId::generate();
            u64::from_le_bytes(random.as_bytes()[8..16].try_into().expect("eight bytes"))
        });
        eprintln!("{what}: seed {seed} (set KLUIS_TEST_SEED={seed} to repeat)");
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0; the modulo bias is irrelevant here).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn index(&mut self, len: usize) -> usize {
        usize::try_from(self.below(len as u64)).expect("index fits")
    }

    /// A non-zero XOR mask.
    fn mask(&mut self) -> u8 {
        u8::try_from(self.below(255) + 1).expect("mask fits")
    }
}

struct Fixture {
    db: TestDb,
    vault: Vault<SqlStore>,
}

impl Fixture {
    fn pool(&self) -> &AnyPool {
        self.db.store.pool()
    }

    fn store(&self) -> &SqlStore {
        &self.db.store
    }

    fn name(&self) -> &'static str {
        self.db.store.backend()
    }

    async fn verify(&self) -> Result<VerifyReport, VerifyError> {
        verify_store(self.store(), self.vault.audit_origin(), self.vault.audit_verifying_key(), &mut |_, _| {}).await
    }

    /// The fault `verify_store` reports; panics when it reports success or a storage error.
    async fn fault(&self, what: &str) -> AuditFault {
        match self.verify().await {
            Err(VerifyError::Fault(fault)) => fault,
            other => panic!("{}: {what}: expected a fault, got {other:?}", self.name()),
        }
    }

    async fn assert_ok(&self, what: &str) -> VerifyReport {
        self.verify().await.unwrap_or_else(|e| panic!("{}: {what}: the log must verify: {e}", self.name()))
    }

    async fn size(&self) -> u64 {
        self.vault.audit_size().await.expect("audit size")
    }
}

/// A fresh, initialised vault (it holds the audit signing key); `None` only when PostgreSQL is
/// skipped on purpose.
async fn fixture(backend: Backend) -> Option<Fixture> {
    let db = fresh(backend).await?;
    let root = SecretKey::generate().expect("root key");
    let (vault, _token) =
        Vault::initialise(db.store.clone(), &root, Catalogue::dutch_it_provider(), Arc::new(SystemClock))
            .await
            .expect("initialise the vault");
    Some(Fixture { db, vault })
}

/// `n` cheap, distinct events.
fn events(n: u64, tag: u64) -> Vec<AuditEvent> {
    let ctx = AuditContext { actor: Actor::Cli(format!("tester-{tag}")), ..AuditContext::system() };
    (0..n)
        .map(|i| {
            ctx.event(
                Timestamp(1_700_000_000_000 + i64::try_from(i).expect("small")),
                Action::SubjectRead,
                Some(SubjectId::generate()),
                &["email"],
                &["user.contact.email"],
                Outcome::Success,
            )
        })
        .collect()
}

/// Appends events until the log holds `size` events, in batches of random sizes.
async fn grow_to(f: &Fixture, size: u64, rng: &mut Rng) {
    let mut current = f.size().await;
    while current < size {
        let batch = (rng.below(17) + 1).min(size - current);
        f.store().append_audit(&events(batch, current)).await.expect("append audit events");
        current += batch;
    }
    assert_eq!(f.size().await, size);
}

/// A log of 50–300 events with checkpoints at roughly a quarter, half, three quarters and the
/// end (sizes strictly increasing). Returns the checkpoints.
async fn tamper_fixture(backend: Backend, rng: &mut Rng) -> Option<(Fixture, Vec<StoredCheckpoint>)> {
    let f = fixture(backend).await?;
    let total = 50 + rng.below(251);
    let mut checkpoints = Vec::new();
    for size in [total / 4, total / 2, total * 3 / 4, total] {
        grow_to(&f, size, rng).await;
        checkpoints.push(f.vault.checkpoint_now().await.expect("sign a checkpoint"));
    }
    assert_eq!(checkpoints.iter().map(|c| c.size).collect::<Vec<_>>(), [total / 4, total / 2, total * 3 / 4, total]);
    let report = f.assert_ok("freshly built log").await;
    assert_eq!(report.events, total);
    assert_eq!(report.checkpoints, 4);
    Some((f, checkpoints))
}

// Raw SQL on the store's own pool. `$n` placeholders work on both databases.

async fn event_row(pool: &AnyPool, seq: u64) -> (i64, Vec<u8>) {
    let row = sqlx::query("SELECT recorded_at, event FROM audit_events WHERE seq = $1")
        .bind(i64::try_from(seq).expect("seq"))
        .fetch_one(pool)
        .await
        .expect("read an audit event");
    (row.try_get("recorded_at").expect("recorded_at"), row.try_get("event").expect("event"))
}

async fn set_event(pool: &AnyPool, seq: u64, bytes: &[u8]) {
    let done = sqlx::query("UPDATE audit_events SET event = $1 WHERE seq = $2")
        .bind(bytes.to_vec())
        .bind(i64::try_from(seq).expect("seq"))
        .execute(pool)
        .await
        .expect("rewrite an audit event");
    assert_eq!(done.rows_affected(), 1, "event {seq} rewritten");
}

async fn delete_event(pool: &AnyPool, seq: u64) {
    let done = sqlx::query("DELETE FROM audit_events WHERE seq = $1")
        .bind(i64::try_from(seq).expect("seq"))
        .execute(pool)
        .await
        .expect("delete an audit event");
    assert_eq!(done.rows_affected(), 1, "event {seq} deleted");
}

async fn insert_event(pool: &AnyPool, seq: u64, recorded_at: i64, bytes: &[u8]) {
    sqlx::query("INSERT INTO audit_events (seq, recorded_at, event) VALUES ($1, $2, $3)")
        .bind(i64::try_from(seq).expect("seq"))
        .bind(recorded_at)
        .bind(bytes.to_vec())
        .execute(pool)
        .await
        .expect("restore an audit event");
}

#[derive(Debug, Clone)]
struct NodeRow {
    id: NodeId,
    completed_by: u64,
    hash: Vec<u8>,
}

async fn node_rows(pool: &AnyPool) -> Vec<NodeRow> {
    sqlx::query("SELECT level, idx, completed_by, hash FROM audit_nodes ORDER BY completed_by, level")
        .fetch_all(pool)
        .await
        .expect("read audit nodes")
        .iter()
        .map(|r| NodeRow {
            id: NodeId {
                level: u32::try_from(r.try_get::<i64, _>("level").expect("level")).expect("level"),
                index: u64::try_from(r.try_get::<i64, _>("idx").expect("idx")).expect("idx"),
            },
            completed_by: u64::try_from(r.try_get::<i64, _>("completed_by").expect("completed_by")).expect("seq"),
            hash: r.try_get("hash").expect("hash"),
        })
        .collect()
}

async fn set_node_hash(pool: &AnyPool, id: NodeId, hash: &[u8]) {
    let done = sqlx::query("UPDATE audit_nodes SET hash = $1 WHERE level = $2 AND idx = $3")
        .bind(hash.to_vec())
        .bind(i64::from(id.level))
        .bind(i64::try_from(id.index).expect("idx"))
        .execute(pool)
        .await
        .expect("rewrite a node");
    assert_eq!(done.rows_affected(), 1, "node {id:?} rewritten");
}

async fn delete_node(pool: &AnyPool, id: NodeId) {
    let done = sqlx::query("DELETE FROM audit_nodes WHERE level = $1 AND idx = $2")
        .bind(i64::from(id.level))
        .bind(i64::try_from(id.index).expect("idx"))
        .execute(pool)
        .await
        .expect("delete a node");
    assert_eq!(done.rows_affected(), 1, "node {id:?} deleted");
}

async fn insert_node(pool: &AnyPool, node: &NodeRow) {
    sqlx::query("INSERT INTO audit_nodes (level, idx, completed_by, hash) VALUES ($1, $2, $3, $4)")
        .bind(i64::from(node.id.level))
        .bind(i64::try_from(node.id.index).expect("idx"))
        .bind(i64::try_from(node.completed_by).expect("seq"))
        .bind(node.hash.clone())
        .execute(pool)
        .await
        .expect("restore a node");
}

async fn set_checkpoint(pool: &AnyPool, size: u64, note: &str, root: &[u8]) {
    let done = sqlx::query("UPDATE audit_checkpoints SET note = $1, root = $2 WHERE size = $3")
        .bind(note.to_owned())
        .bind(root.to_vec())
        .bind(i64::try_from(size).expect("size"))
        .execute(pool)
        .await
        .expect("rewrite a checkpoint");
    assert_eq!(done.rows_affected(), 1, "checkpoint {size} rewritten");
}

async fn add_to_head(pool: &AnyPool, delta: i64) {
    sqlx::query("UPDATE audit_head SET size = size + $1 WHERE id = 1")
        .bind(delta)
        .execute(pool)
        .await
        .expect("move the audit head");
}

/// The leaf hashes of every stored event, in order.
async fn leaves(f: &Fixture) -> Vec<Hash> {
    let events = f.store().audit_events(0, 100_000).await.expect("read events");
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.seq, i as u64, "events are dense");
    }
    events.iter().map(|e| merkle::leaf_hash(&e.event)).collect()
}

fn flip(bytes: &[u8], at: usize, mask: u8) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[at] ^= mask;
    out
}

// ---------------------------------------------------------------------------------------------
// Proofs
// ---------------------------------------------------------------------------------------------

/// For every size 1..=40 and a few random sizes up to a few hundred, every inclusion proof
/// verifies against the tree's root (recomputed independently) and, at checkpoint sizes, against
/// the signed root; every consistency proof between those sizes and between checkpoints verifies.
async fn every_proof_verifies(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let b = f.name();
    let mut rng = Rng::seeded(b);
    let final_size = 300 + rng.below(100);
    let mut big: Vec<u64> = (0..3).map(|_| 41 + rng.below(final_size - 41)).collect();
    big.push(final_size);
    big.sort_unstable();
    big.dedup();
    // Checkpoints at a few small sizes, the random sizes and the end.
    let mut checkpoint_sizes: Vec<u64> = vec![2, 3, 8, 17, 32, 40];
    checkpoint_sizes.extend(&big);
    let mut signed: BTreeMap<u64, StoredCheckpoint> = BTreeMap::new();
    assert_eq!(f.size().await, 2, "{b}: initialisation logs two events");
    for &size in &checkpoint_sizes {
        grow_to(&f, size, &mut rng).await;
        let cp = f.vault.checkpoint_now().await.expect("sign a checkpoint");
        assert_eq!(cp.size, size);
        signed.insert(size, cp);
    }
    // Signing again at the same size returns the same checkpoint.
    let again = f.vault.checkpoint_now().await.expect("sign again");
    assert_eq!(again, signed[&final_size], "{b}: one checkpoint per size");

    let leaves = leaves(&f).await;
    assert_eq!(leaves.len() as u64, final_size);
    let (origin, key) = (f.vault.audit_origin(), f.vault.audit_verifying_key());
    let mut signed_roots = BTreeMap::new();
    for (size, stored) in &signed {
        let cp = verify_checkpoint(&stored.note, origin, key).expect("the signed checkpoint verifies");
        assert_eq!((cp.size, cp.root), (*size, stored.root), "{b}: note and columns agree");
        assert_eq!(cp.root, merkle::root_of(&leaves[..usize::try_from(*size).expect("size")]), "{b}: signed root");
        signed_roots.insert(*size, cp.root);
    }

    let mut sizes: Vec<u64> = (1..=40).collect();
    sizes.extend(&big);
    let mut proofs = 0;
    for &n in &sizes {
        let n_us = usize::try_from(n).expect("size");
        let reference_root = merkle::root_of(&leaves[..n_us]);
        assert_eq!(f.vault.audit_root(n).await.expect("root"), reference_root, "{b}: root at size {n}");
        for i in 0..n {
            let p = f.vault.inclusion_proof(i, Some(n)).await.expect("inclusion proof");
            let leaf = leaves[usize::try_from(i).expect("index")];
            assert_eq!((p.index, p.size, p.leaf_hash, p.root), (i, n, leaf, reference_root), "{b}: proof {i}/{n}");
            assert_eq!(
                p.proof,
                merkle::inclusion_proof(&leaves[..n_us], i).expect("reference proof"),
                "{b}: the stored-node proof equals the reference proof for {i}/{n}"
            );
            assert!(
                merkle::verify_inclusion(&leaf, i, n, &p.proof, &reference_root).is_ok(),
                "{b}: inclusion of {i} in {n}"
            );
            if let Some(signed_root) = signed_roots.get(&n) {
                assert!(
                    merkle::verify_inclusion(&leaf, i, n, &p.proof, signed_root).is_ok(),
                    "{b}: inclusion of {i} against the checkpoint at {n}"
                );
            }
            // Negative control: a damaged proof does not verify.
            if !p.proof.is_empty() {
                let mut bad = p.proof.clone();
                let at = rng.index(bad.len());
                bad[at][rng.index(32)] ^= rng.mask();
                assert!(merkle::verify_inclusion(&leaf, i, n, &bad, &reference_root).is_err(), "{b}: damaged proof");
            }
            proofs += 1;
        }
    }
    // The default size is the current size.
    let p = f.vault.inclusion_proof(0, None).await.expect("proof at the current size");
    assert_eq!(p.size, final_size);

    // Consistency: every pair of small sizes, and every pair of checkpoints (roots from the notes).
    for m in 1..=40_u64 {
        for n in m..=40 {
            let p = f.vault.consistency_proof(m, Some(n)).await.expect("consistency proof");
            let (m_us, n_us) = (usize::try_from(m).expect("m"), usize::try_from(n).expect("n"));
            assert_eq!(p.root_from, merkle::root_of(&leaves[..m_us]));
            assert_eq!(p.root_to, merkle::root_of(&leaves[..n_us]));
            if m < n {
                assert_eq!(p.proof, merkle::consistency_proof(&leaves[..n_us], m).expect("reference"), "{b}: {m}->{n}");
            }
            assert!(
                merkle::verify_consistency(m, n, &p.root_from, &p.root_to, &p.proof).is_ok(),
                "{b}: consistency {m} -> {n}"
            );
            proofs += 1;
        }
    }
    let checkpoint_list: Vec<u64> = signed_roots.keys().copied().collect();
    for (a, &m) in checkpoint_list.iter().enumerate() {
        for &n in &checkpoint_list[a + 1..] {
            let p = f.vault.consistency_proof(m, Some(n)).await.expect("consistency proof");
            assert!(
                merkle::verify_consistency(m, n, &signed_roots[&m], &signed_roots[&n], &p.proof).is_ok(),
                "{b}: checkpoints {m} -> {n} are consistent"
            );
            // Negative control: against another root the proof fails.
            let mut wrong = signed_roots[&n];
            wrong[rng.index(32)] ^= rng.mask();
            assert!(merkle::verify_consistency(m, n, &signed_roots[&m], &wrong, &p.proof).is_err(), "{b}: wrong root");
            proofs += 1;
        }
    }

    // Out-of-range requests are refused, not answered with a bogus proof.
    for (what, result) in [
        ("index = size", f.vault.inclusion_proof(5, Some(5)).await.map(|_| ())),
        ("size beyond the log", f.vault.inclusion_proof(0, Some(final_size + 1)).await.map(|_| ())),
        ("index beyond the log", f.vault.inclusion_proof(final_size, None).await.map(|_| ())),
        ("from > to", f.vault.consistency_proof(9, Some(3)).await.map(|_| ())),
        ("to beyond the log", f.vault.consistency_proof(1, Some(final_size + 1)).await.map(|_| ())),
    ] {
        assert!(matches!(result, Err(VaultError::AuditRange(_))), "{b}: {what}: {result:?}");
    }
    eprintln!("{b}: {proofs} proofs checked up to size {final_size}");
}

// ---------------------------------------------------------------------------------------------
// Tampering
// ---------------------------------------------------------------------------------------------

async fn untouched_log_verifies(backend: Backend) {
    let mut rng = Rng::seeded("untouched");
    let Some((f, checkpoints)) = tamper_fixture(backend, &mut rng).await else {
        return;
    };
    let b = f.name();
    let report = f.assert_ok("untouched").await;
    let nodes = node_rows(f.pool()).await;
    assert_eq!(report.nodes_checked, nodes.len() as u64, "{b}: every stored node is checked");
    assert_eq!(report.events, checkpoints[3].size);
    assert_eq!(report.root, checkpoints[3].root, "{b}: recomputed root = last signed root");
    // Each leaf has exactly one level-0 node; a tree of n leaves has 2n - 1 nodes minus the
    // incomplete ones: n + (n - popcount(n)) perfect nodes.
    let n = report.events;
    assert_eq!(report.nodes_checked, 2 * n - u64::from(n.count_ones()), "{b}: perfect subtrees of {n} leaves");
    // Verifying against another key fails at the first checkpoint, while events and nodes pass.
    let other = kluis_vault::AuditSigningKey::generate().expect("key").verifying_key();
    let fault = verify_store(f.store(), f.vault.audit_origin(), &other, &mut |_, _| {}).await;
    assert!(
        matches!(&fault, Err(VerifyError::Fault(AuditFault::CheckpointSignature { size, .. })) if *size == checkpoints[0].size),
        "{b}: a foreign key: {fault:?}"
    );
}

/// One byte of one event changed: the fault names that event.
async fn flipped_event_bytes_are_found(backend: Backend) {
    let mut rng = Rng::seeded("event flips");
    let Some((f, _)) = tamper_fixture(backend, &mut rng).await else {
        return;
    };
    let b = f.name();
    let size = f.size().await;
    let mut kinds = BTreeMap::<&str, u32>::new();
    // Random events at random positions, plus every position of the first and last event.
    let mut targets: Vec<(u64, Option<usize>)> = (0..40).map(|_| (rng.below(size), None)).collect();
    for seq in [0, size - 1] {
        let (_, bytes) = event_row(f.pool(), seq).await;
        targets.extend((0..bytes.len()).step_by(3).map(|at| (seq, Some(at))));
    }
    for (seq, at) in targets {
        let (_, original) = event_row(f.pool(), seq).await;
        let at = at.unwrap_or_else(|| rng.index(original.len()));
        let mask = rng.mask();
        set_event(f.pool(), seq, &flip(&original, at, mask)).await;
        let fault = f.fault(&format!("event {seq} byte {at} ^ {mask:#04x}")).await;
        let kind = match &fault {
            AuditFault::LeafMismatch { seq: s } if *s == seq => "leaf mismatch",
            AuditFault::EventMalformed { seq: s } if *s == seq => "malformed",
            AuditFault::EventOutOfPlace { seq: s, .. } if *s == seq => "out of place",
            other => panic!("{b}: event {seq} byte {at} ^ {mask:#04x}: wrong fault {other:?}"),
        };
        assert!(fault.to_string().contains(&format!("event {seq} ")), "{b}: the message names the event: {fault}");
        *kinds.entry(kind).or_default() += 1;
        set_event(f.pool(), seq, &original).await;
    }
    f.assert_ok("after restoring every event").await;
    eprintln!("{b}: {kinds:?}");
    assert!(kinds.contains_key("leaf mismatch") && kinds.contains_key("malformed"), "{b}: both kinds seen: {kinds:?}");
}

/// One byte of one Merkle node changed: the fault names that node (a leaf: its event).
async fn flipped_node_bytes_are_found(backend: Backend) {
    let mut rng = Rng::seeded("node flips");
    let Some((f, _)) = tamper_fixture(backend, &mut rng).await else {
        return;
    };
    let b = f.name();
    let nodes = node_rows(f.pool()).await;
    let inner: Vec<&NodeRow> = nodes.iter().filter(|n| n.id.level > 0).collect();
    let top = nodes.iter().max_by_key(|n| n.id.level).expect("nodes");
    let mut targets: Vec<&NodeRow> = (0..15).map(|_| &nodes[rng.index(nodes.len())]).collect();
    targets.extend((0..15).map(|_| inner[rng.index(inner.len())]));
    targets.extend([&nodes[0], nodes.last().expect("nodes"), top]);
    for node in targets {
        let at = rng.index(node.hash.len());
        set_node_hash(f.pool(), node.id, &flip(&node.hash, at, rng.mask())).await;
        let fault = f.fault(&format!("node {:?}", node.id)).await;
        let expected = if node.id.level == 0 {
            assert_eq!(node.id.index, node.completed_by, "a leaf is completed by its own event");
            AuditFault::LeafMismatch { seq: node.id.index }
        } else {
            AuditFault::NodeMismatch {
                level: node.id.level,
                index: node.id.index,
                first: node.id.index << node.id.level,
                last: ((node.id.index + 1) << node.id.level) - 1,
            }
        };
        assert_eq!(fault, expected, "{b}: node {:?}", node.id);
        set_node_hash(f.pool(), node.id, &node.hash).await;
    }
    // A hash of the wrong length is a mismatch too, not a crash.
    let node = inner[rng.index(inner.len())];
    set_node_hash(f.pool(), node.id, &node.hash[..31]).await;
    assert!(
        matches!(f.fault("short hash").await, AuditFault::NodeMismatch { level, index, .. } if level == node.id.level && index == node.id.index),
        "{b}: a truncated node hash"
    );
    set_node_hash(f.pool(), node.id, &node.hash).await;
    f.assert_ok("after restoring every node").await;
}

/// A checkpoint's note or root changed: the fault names that checkpoint's size.
async fn tampered_checkpoints_are_found(backend: Backend) {
    let mut rng = Rng::seeded("checkpoint flips");
    let Some((f, checkpoints)) = tamper_fixture(backend, &mut rng).await else {
        return;
    };
    let b = f.name();
    let (origin, key) = (f.vault.audit_origin(), f.vault.audit_verifying_key());

    // Every byte of every note, checked with the pure checkpoint check against the recomputed
    // tree (fast), then a sample through the store.
    let mut recomputer = LogRecomputer::new(checkpoints.iter().map(|c| c.size));
    for e in f.store().audit_events(0, 100_000).await.expect("events") {
        recomputer.push(e.seq, &e.event).expect("untouched event");
    }
    for cp in &checkpoints {
        check_checkpoint(&cp.note, cp.size, Some(&cp.root), origin, key, &recomputer).expect("untouched checkpoint");
        let bytes = cp.note.as_bytes();
        let mut flipped = 0;
        for at in 0..bytes.len() {
            // Only ASCII bytes (the em dash of the signature line is replaced below); the note
            // column is text, so the result must stay UTF-8.
            if !bytes[at].is_ascii() {
                continue;
            }
            let note = String::from_utf8(flip(bytes, at, 0x01)).expect("ASCII flip stays UTF-8");
            let result = check_checkpoint(&note, cp.size, Some(&cp.root), origin, key, &recomputer);
            assert!(
                matches!(&result, Err(AuditFault::CheckpointSignature { size, .. }) if *size == cp.size),
                "{b}: checkpoint {} byte {at} ({:?}): {result:?}",
                cp.size,
                char::from(bytes[at])
            );
            flipped += 1;
        }
        assert!(flipped > 100, "{b}: the note was checked byte by byte");
    }

    for round in 0..6 {
        let cp = &checkpoints[rng.index(checkpoints.len())];
        let ascii: Vec<usize> = cp.note.bytes().enumerate().filter(|(_, c)| c.is_ascii()).map(|(i, _)| i).collect();
        let at = ascii[rng.index(ascii.len())];
        let note = String::from_utf8(flip(cp.note.as_bytes(), at, 0x01)).expect("UTF-8");
        set_checkpoint(f.pool(), cp.size, &note, &cp.root).await;
        let fault = f.fault(&format!("round {round}: checkpoint {} note byte {at}", cp.size)).await;
        assert!(
            matches!(&fault, AuditFault::CheckpointSignature { size, .. } if *size == cp.size),
            "{b}: checkpoint {} note byte {at}: {fault:?}",
            cp.size
        );
        set_checkpoint(f.pool(), cp.size, &cp.note, &cp.root).await;
    }

    // The signature line's em dash replaced by a hyphen: malformed, named by size.
    let cp = &checkpoints[1];
    set_checkpoint(f.pool(), cp.size, &cp.note.replace('\u{2014}', "-"), &cp.root).await;
    let fault = f.fault("em dash").await;
    assert!(matches!(&fault, AuditFault::CheckpointSignature { size, .. } if *size == cp.size), "{b}: {fault:?}");
    // Another checkpoint's (valid) note stored under this size.
    set_checkpoint(f.pool(), cp.size, &checkpoints[2].note, &cp.root).await;
    let fault = f.fault("swapped note").await;
    assert!(matches!(&fault, AuditFault::CheckpointSignature { size, .. } if *size == cp.size), "{b}: {fault:?}");
    set_checkpoint(f.pool(), cp.size, &cp.note, &cp.root).await;

    // The root column changed (the note untouched).
    for cp in &checkpoints {
        set_checkpoint(f.pool(), cp.size, &cp.note, &flip(&cp.root, rng.index(32), rng.mask())).await;
        let fault = f.fault(&format!("checkpoint {} root", cp.size)).await;
        assert!(
            matches!(&fault, AuditFault::CheckpointSignature { size, .. } if *size == cp.size),
            "{b}: root of checkpoint {}: {fault:?}",
            cp.size
        );
        assert!(fault.to_string().contains(&format!("size {}", cp.size)), "{b}: message names the size: {fault}");
        set_checkpoint(f.pool(), cp.size, &cp.note, &cp.root).await;
    }
    f.assert_ok("after restoring every checkpoint").await;
}

/// An event deleted: the fault names the missing sequence number.
async fn deleted_events_are_found(backend: Backend) {
    let mut rng = Rng::seeded("deleted events");
    let Some((f, _)) = tamper_fixture(backend, &mut rng).await else {
        return;
    };
    let b = f.name();
    let size = f.size().await;
    let mut targets: Vec<u64> = (0..10).map(|_| rng.below(size - 1)).collect();
    targets.extend([0, size - 2]);
    for seq in targets {
        let (recorded_at, bytes) = event_row(f.pool(), seq).await;
        delete_event(f.pool(), seq).await;
        let fault = f.fault(&format!("event {seq} deleted")).await;
        assert_eq!(fault, AuditFault::EventMissing { seq, found: seq + 1 }, "{b}: event {seq} deleted");
        assert!(fault.to_string().starts_with(&format!("event {seq} is missing")), "{b}: {fault}");
        insert_event(f.pool(), seq, recorded_at, &bytes).await;
    }
    // Several deleted: the first is named.
    let (a, c) = (3 + rng.below(size / 2), size / 2 + 3 + rng.below(size / 2 - 4));
    let saved = [event_row(f.pool(), a).await, event_row(f.pool(), c).await];
    delete_event(f.pool(), c).await;
    delete_event(f.pool(), a).await;
    assert_eq!(f.fault("two deleted").await, AuditFault::EventMissing { seq: a, found: a + 1 }, "{b}");
    insert_event(f.pool(), a, saved[0].0, &saved[0].1).await;
    insert_event(f.pool(), c, saved[1].0, &saved[1].1).await;

    // The last event deleted (its nodes left behind): a node no event completes.
    let last = size - 1;
    let (recorded_at, bytes) = event_row(f.pool(), last).await;
    delete_event(f.pool(), last).await;
    assert_eq!(f.fault("last event deleted").await, AuditFault::NodeExtra { level: 0, index: last }, "{b}");
    insert_event(f.pool(), last, recorded_at, &bytes).await;
    f.assert_ok("after restoring every event").await;
}

/// Verification reads the log in pages of 10,000 events and checks one page while it reads the
/// next: a log of three pages verifies, and faults in the second and third page (at a page's first
/// event too) are found and named as on the first.
async fn faults_past_the_first_page_are_found(backend: Backend) {
    const SIZE: u64 = 25_000;
    let Some(f) = fixture(backend).await else {
        return;
    };
    let b = f.name();
    let mut current = f.size().await;
    while current < SIZE {
        let batch = 1_000.min(SIZE - current);
        f.store().append_audit(&events(batch, current)).await.expect("append audit events");
        current += batch;
    }
    assert_eq!(f.assert_ok("three pages").await.events, SIZE, "{b}");

    for seq in [10_000, 17_321, SIZE - 1] {
        let leaf = NodeId { level: 0, index: seq };
        let hash = node_rows_completed_by(f.pool(), seq).await.into_iter().find(|n| n.id == leaf).expect("leaf").hash;
        set_node_hash(f.pool(), leaf, &flip(&hash, 7, 0x01)).await;
        assert_eq!(f.fault(&format!("leaf {seq}")).await, AuditFault::LeafMismatch { seq }, "{b}: leaf {seq}");
        set_node_hash(f.pool(), leaf, &hash).await;
    }

    let (recorded_at, bytes) = event_row(f.pool(), 20_000).await;
    delete_event(f.pool(), 20_000).await;
    assert_eq!(f.fault("event 20000 deleted").await, AuditFault::EventMissing { seq: 20_000, found: 20_001 }, "{b}");
    insert_event(f.pool(), 20_000, recorded_at, &bytes).await;

    // Event 15,999 completes the level-4 node 999 (leaves 15,984–15,999), among others.
    let node = node_rows_completed_by(f.pool(), 15_999)
        .await
        .into_iter()
        .find(|n| n.id == NodeId { level: 4, index: 999 })
        .expect("node 4/999");
    delete_node(f.pool(), node.id).await;
    assert_eq!(f.fault("node 4/999 deleted").await, AuditFault::NodeMissing { level: 4, index: 999 }, "{b}");
    insert_node(f.pool(), &node).await;
    f.assert_ok("after restoring everything").await;
}

/// The nodes event `seq` completed.
async fn node_rows_completed_by(pool: &AnyPool, seq: u64) -> Vec<NodeRow> {
    node_rows(pool).await.into_iter().filter(|n| n.completed_by == seq).collect()
}

/// Two events swapped: the fault names the lower position.
async fn reordered_events_are_found(backend: Backend) {
    let mut rng = Rng::seeded("reordered events");
    let Some((f, _)) = tamper_fixture(backend, &mut rng).await else {
        return;
    };
    let b = f.name();
    let size = f.size().await;
    let mut pairs: Vec<(u64, u64)> = (0..12)
        .map(|_| {
            let a = rng.below(size - 1);
            (a, a + 1 + rng.below(size - a - 1))
        })
        .collect();
    pairs.extend([(0, 1), (size - 2, size - 1), (0, size - 1)]);
    for (a, c) in pairs {
        let (_, first) = event_row(f.pool(), a).await;
        let (_, second) = event_row(f.pool(), c).await;
        set_event(f.pool(), a, &second).await;
        set_event(f.pool(), c, &first).await;
        let fault = f.fault(&format!("events {a} and {c} swapped")).await;
        assert_eq!(fault, AuditFault::EventOutOfPlace { seq: a, encoded: c }, "{b}: swap {a} <-> {c}");
        set_event(f.pool(), a, &first).await;
        set_event(f.pool(), c, &second).await;
    }
    // Swapping the sequence numbers of the rows (rather than their contents) is the same attack.
    let (a, c) = (rng.below(size / 2), size / 2 + rng.below(size / 2));
    let (a_i, c_i) = (i64::try_from(a).expect("a"), i64::try_from(c).expect("c"));
    for (from, to) in [(a_i, -1_i64), (c_i, a_i), (-1, c_i)] {
        sqlx::query("UPDATE audit_events SET seq = $1 WHERE seq = $2")
            .bind(to)
            .bind(from)
            .execute(f.pool())
            .await
            .expect("renumber");
    }
    assert_eq!(f.fault("renumbered").await, AuditFault::EventOutOfPlace { seq: a, encoded: c }, "{b}");
}

/// A Merkle node deleted: the fault names it.
async fn deleted_nodes_are_found(backend: Backend) {
    let mut rng = Rng::seeded("deleted nodes");
    let Some((f, _)) = tamper_fixture(backend, &mut rng).await else {
        return;
    };
    let b = f.name();
    let nodes = node_rows(f.pool()).await;
    let mut targets: Vec<&NodeRow> = (0..20).map(|_| &nodes[rng.index(nodes.len())]).collect();
    targets.extend([&nodes[0], nodes.last().expect("nodes")]);
    for node in targets {
        delete_node(f.pool(), node.id).await;
        let fault = f.fault(&format!("node {:?} deleted", node.id)).await;
        assert_eq!(fault, AuditFault::NodeMissing { level: node.id.level, index: node.id.index }, "{b}");
        insert_node(f.pool(), node).await;
    }
    // A node moved to another completing event is out of place.
    let node = nodes.iter().find(|n| n.id.level == 2).expect("a level-2 node");
    sqlx::query("UPDATE audit_nodes SET completed_by = completed_by + 1 WHERE level = 2 AND idx = $1")
        .bind(i64::try_from(node.id.index).expect("idx"))
        .execute(f.pool())
        .await
        .expect("move a node");
    assert_eq!(f.fault("moved node").await, AuditFault::NodeMissing { level: 2, index: node.id.index }, "{b}");
    delete_node(f.pool(), node.id).await;
    insert_node(f.pool(), node).await;
    // A node no event completes.
    let extra = NodeRow { id: NodeId { level: 9, index: 1_000 }, completed_by: 1_000_000, hash: vec![7; 32] };
    insert_node(f.pool(), &extra).await;
    assert_eq!(f.fault("extra node").await, AuditFault::NodeExtra { level: 9, index: 1_000 }, "{b}");
    delete_node(f.pool(), extra.id).await;
    f.assert_ok("after restoring every node").await;
}

/// An attacker with database access rewrites an event and recomputes every Merkle node to
/// match: events and nodes agree again, but the first checkpoint covering the event does not.
async fn consistent_rewrite_is_caught_by_checkpoints(backend: Backend) {
    let mut rng = Rng::seeded("consistent rewrite");
    let Some((f, checkpoints)) = tamper_fixture(backend, &mut rng).await else {
        return;
    };
    let b = f.name();
    let original_nodes = node_rows(f.pool()).await;
    let size = f.size().await;
    let mut targets: Vec<u64> = (0..4).map(|_| rng.below(size)).collect();
    targets.extend([0, size - 1, checkpoints[0].size - 1, checkpoints[0].size, checkpoints[2].size - 1]);
    for seq in targets {
        let (_, original) = event_row(f.pool(), seq).await;
        let mut event: serde_json::Value = serde_json::from_slice(&original).expect("events are JSON");
        event["actor"] = serde_json::Value::from("cli:someone-else");
        let forged = serde_json::to_vec(&event).expect("serialise");
        set_event(f.pool(), seq, &forged).await;
        // Without the nodes recomputed, the leaf gives the rewrite away.
        assert_eq!(f.fault("rewritten event").await, AuditFault::LeafMismatch { seq }, "{b}: seq {seq}");

        // Recompute the whole tree from the (forged) events and store every node that changed.
        let mut tree = TreeBuilder::new();
        let mut rebuilt = BTreeMap::new();
        for e in f.store().audit_events(0, 100_000).await.expect("events") {
            for (id, hash) in tree.push(merkle::leaf_hash(&e.event)) {
                rebuilt.insert((id.level, id.index), hash);
            }
        }
        let mut changed = 0;
        for node in &original_nodes {
            let hash = rebuilt[&(node.id.level, node.id.index)];
            if hash.as_slice() != node.hash.as_slice() {
                set_node_hash(f.pool(), node.id, &hash).await;
                changed += 1;
            }
        }
        assert!(changed >= 1, "{b}: the forged leaf changed its nodes");
        let covering = checkpoints.iter().find(|c| c.size > seq).expect("a checkpoint covers every event").size;
        let fault = f.fault(&format!("consistent rewrite of {seq}")).await;
        assert_eq!(fault, AuditFault::CheckpointRoot { size: covering }, "{b}: rewrite of event {seq}");
        assert!(fault.to_string().contains(&format!("before event {covering}")), "{b}: {fault}");

        set_event(f.pool(), seq, &original).await;
        for node in &original_nodes {
            if rebuilt[&(node.id.level, node.id.index)].as_slice() != node.hash.as_slice() {
                set_node_hash(f.pool(), node.id, &node.hash).await;
            }
        }
        f.assert_ok(&format!("after restoring event {seq}")).await;
    }
}

/// The head moved without events, and a truncated log (events and nodes removed, head lowered).
async fn head_and_truncation_are_found(backend: Backend) {
    let mut rng = Rng::seeded("head");
    let Some((f, checkpoints)) = tamper_fixture(backend, &mut rng).await else {
        return;
    };
    let b = f.name();
    let size = f.size().await;
    add_to_head(f.pool(), 1).await;
    assert_eq!(f.fault("head + 1").await, AuditFault::HeadMismatch { head: size + 1, found: size }, "{b}");
    add_to_head(f.pool(), -2).await;
    assert_eq!(f.fault("head - 1").await, AuditFault::HeadMismatch { head: size - 1, found: size }, "{b}");
    add_to_head(f.pool(), 1).await;
    f.assert_ok("head restored").await;

    // Truncate cleanly: the last event, its nodes and the head. Only the checkpoint at the old
    // size can tell.
    let last = size - 1;
    let (recorded_at, bytes) = event_row(f.pool(), last).await;
    let nodes: Vec<NodeRow> = node_rows(f.pool()).await.into_iter().filter(|n| n.completed_by == last).collect();
    delete_event(f.pool(), last).await;
    for n in &nodes {
        delete_node(f.pool(), n.id).await;
    }
    add_to_head(f.pool(), -1).await;
    assert_eq!(checkpoints[3].size, size);
    assert_eq!(
        f.fault("truncated").await,
        AuditFault::CheckpointBeyondLog { size, log_size: size - 1 },
        "{b}: a truncated log"
    );
    insert_event(f.pool(), last, recorded_at, &bytes).await;
    for n in &nodes {
        insert_node(f.pool(), n).await;
    }
    add_to_head(f.pool(), 1).await;
    f.assert_ok("after the truncation is undone").await;
}

// ---------------------------------------------------------------------------------------------
// Fault injection
// ---------------------------------------------------------------------------------------------

/// Installs a trigger that makes every insert into `table` fail.
async fn break_inserts(f: &Fixture, table: &str) {
    let statements: Vec<String> = match f.db.backend {
        Backend::Sqlite => vec![format!(
            "CREATE TRIGGER injected_failure BEFORE INSERT ON {table} BEGIN SELECT RAISE(ABORT, 'injected audit failure'); END"
        )],
        Backend::Postgres => vec![
            "CREATE FUNCTION injected_failure() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN RAISE EXCEPTION 'injected audit failure'; END $$"
                .to_owned(),
            format!(
                "CREATE TRIGGER injected_failure BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION injected_failure()"
            ),
        ],
    };
    for sql in statements {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(f.pool()).await.expect("install the failing trigger");
    }
}

async fn repair_inserts(f: &Fixture, table: &str) {
    let statements: Vec<String> = match f.db.backend {
        Backend::Sqlite => vec!["DROP TRIGGER injected_failure".to_owned()],
        Backend::Postgres => {
            vec![format!("DROP TRIGGER injected_failure ON {table}"), "DROP FUNCTION injected_failure()".to_owned()]
        }
    };
    for sql in statements {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(f.pool()).await.expect("drop the failing trigger");
    }
}

fn plain(subject: &kluis_vault::Subject) -> BTreeMap<String, String> {
    subject.values.iter().map(|(f, v)| (f.clone(), v.as_str().to_owned())).collect()
}

fn input(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(f, v)| ((*f).to_owned(), (*v).to_owned())).collect()
}

/// With the audit append failing inside the database, every personal-data operation fails and
/// changes nothing: no subject, value, index entry, erasure, event, node or head movement.
async fn failing_audit_append_rolls_back(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let b = f.name();
    let ctx = AuditContext {
        actor: Actor::Cli("tester".to_owned()),
        purpose: Some(Purpose::parse("storage").expect("purpose")),
        ..AuditContext::system()
    };
    let jan = input(&[("email", "jan.fault@example.nl"), ("last_name", "Jansen"), ("city", "Utrecht")]);
    let id = f.vault.create_subject(&ctx, &scope(), SubjectKind::Customer, &jan).await.expect("create");
    let before_subject = f.vault.get_subject(&ctx, &scope(), id).await.expect("read");
    f.vault.checkpoint_now().await.expect("checkpoint");

    // The events table (the first insert) and the nodes table (after the events are written).
    for table in ["audit_events", "audit_nodes"] {
        let counts = f.store().counts().await.expect("counts");
        let size = f.size().await;
        let nodes = node_rows(f.pool()).await.len();
        break_inserts(&f, table).await;

        let piet = input(&[("email", "piet.fault@example.org"), ("last_name", "Pietersen")]);
        let created = f.vault.create_subject(&ctx, &scope(), SubjectKind::Customer, &piet).await;
        assert!(matches!(created, Err(VaultError::Store(_))), "{b}/{table}: create: {created:?}");
        let updated = f.vault.update_subject(&ctx, &scope(), id, &[("city".into(), Some("Delft".into()))]).await;
        assert!(matches!(updated, Err(VaultError::Store(_))), "{b}/{table}: update: {updated:?}");
        let removed = f.vault.update_subject(&ctx, &scope(), id, &[("city".into(), None)]).await;
        assert!(matches!(removed, Err(VaultError::Store(_))), "{b}/{table}: remove a value: {removed:?}");
        let erased = f.vault.erase_subject(&ctx, &scope(), id).await;
        assert!(matches!(erased, Err(VaultError::Store(_))), "{b}/{table}: erase: {erased:?}");
        let read = f.vault.get_subject(&ctx, &scope(), id).await;
        assert!(matches!(read, Err(VaultError::Store(_))), "{b}/{table}: a read that cannot be audited: {read:?}");
        let found = f.vault.find_subjects(&ctx, &scope(), IndexName::Email, &["jan.fault@example.nl"]).await;
        assert!(matches!(found, Err(VaultError::Store(_))), "{b}/{table}: an unaudited find: {found:?}");
        let message = format!("{:?}", f.vault.create_subject(&ctx, &scope(), SubjectKind::Customer, &piet).await);
        assert!(message.contains("injected audit failure"), "{b}/{table}: the trigger caused it: {message}");
        assert!(!message.contains("piet.fault"), "{b}/{table}: the error holds no personal data: {message}");

        // Nothing moved while the log was broken.
        assert_eq!(f.store().counts().await.expect("counts"), counts, "{b}/{table}: row counts");
        assert_eq!(f.size().await, size, "{b}/{table}: the head was rolled back");
        assert_eq!(node_rows(f.pool()).await.len(), nodes, "{b}/{table}: no node written");
        assert!(!f.store().is_erased(id).await.expect("erasure ledger"), "{b}/{table}: not in the erasure ledger");

        repair_inserts(&f, table).await;
        let after = f.vault.get_subject(&ctx, &scope(), id).await.expect("read after repair");
        assert_eq!(plain(&after), plain(&before_subject), "{b}/{table}: the subject is unchanged");
        let found =
            f.vault.find_subjects(&ctx, &scope(), IndexName::Email, &["piet.fault@example.org"]).await.expect("find");
        assert!(found.is_empty(), "{b}/{table}: piet was never stored");
        let report = f.assert_ok(&format!("after the {table} failure")).await;
        assert!(report.events > size, "{b}/{table}: the reads after the repair are logged");
        assert_eq!(report.events, f.size().await, "{b}/{table}");
    }
}

// ---------------------------------------------------------------------------------------------
// The checkpointer
// ---------------------------------------------------------------------------------------------

/// Polls until the latest checkpoint has at least `min_size` events, or panics at the deadline.
async fn wait_for_checkpoint(f: &Fixture, min_size: u64, what: &str) -> StoredCheckpoint {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(cp) = f.vault.latest_checkpoint().await.expect("latest checkpoint")
            && cp.size >= min_size
        {
            return cp;
        }
        assert!(tokio::time::Instant::now() < deadline, "{}: {what}: no checkpoint of size {min_size}", f.name());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Lets the checkpointer run several ticks (it ticks every second at most).
async fn let_it_tick() {
    tokio::time::sleep(Duration::from_millis(2_500)).await;
}

async fn checkpointer_signs_by_event_count(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let b = f.name();
    let policy = CheckpointPolicy { every_events: 5, every: Duration::from_hours(1) };
    let task = tokio::spawn(run_checkpointer(f.vault.clone(), policy));

    // Two events from initialisation plus two: fewer than five, and the hour has not passed.
    f.store().append_audit(&events(2, 1)).await.expect("append");
    let_it_tick().await;
    assert!(f.vault.latest_checkpoint().await.expect("latest").is_none(), "{b}: four events are not enough");

    f.store().append_audit(&events(1, 2)).await.expect("append");
    let cp = wait_for_checkpoint(&f, 5, "five events").await;
    verify_checkpoint(&cp.note, f.vault.audit_origin(), f.vault.audit_verifying_key()).expect("signed");
    assert_eq!(cp.root, f.vault.audit_root(cp.size).await.expect("root"), "{b}: the signed root");

    // No new events: no new checkpoint.
    let_it_tick().await;
    assert_eq!(f.vault.latest_checkpoint().await.expect("latest"), Some(cp.clone()), "{b}: nothing new to sign");
    // Five more: the next one.
    f.store().append_audit(&events(5, 3)).await.expect("append");
    let next = wait_for_checkpoint(&f, cp.size + 5, "five more events").await;
    assert_eq!(next.size, cp.size + 5);
    task.abort();
    f.assert_ok("after the checkpointer").await;
}

async fn checkpointer_signs_by_time(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let b = f.name();
    // The log starts with two events and no checkpoint: after a second, they are signed.
    let policy = CheckpointPolicy { every_events: 1_000, every: Duration::from_secs(1) };
    let task = tokio::spawn(run_checkpointer(f.vault.clone(), policy));
    let first = wait_for_checkpoint(&f, 2, "the initial events").await;
    f.store().append_audit(&events(1, 1)).await.expect("append");
    let second = wait_for_checkpoint(&f, first.size + 1, "one event after a second").await;
    let_it_tick().await;
    assert_eq!(f.vault.latest_checkpoint().await.expect("latest"), Some(second), "{b}: no events, no checkpoint");
    task.abort();
    let report = f.assert_ok("after the checkpointer").await;
    assert_eq!(report.checkpoints, 2, "{b}");
}

/// Every purpose of the built-in policy; with the purpose `storage` every field is shown.
fn scope() -> CallerScope {
    CallerScope::token(PurposePolicy::builtin().purposes().cloned().collect::<Vec<_>>())
}
