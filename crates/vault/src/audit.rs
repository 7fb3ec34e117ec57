//! The audit log as auditors see it: signed checkpoints, inclusion and consistency proofs, and the
//! full verification that recomputes the Merkle tree from the stored events (DESIGN §4.4).

use std::collections::BTreeMap;

use kluis_crypto::merkle::{self, Hash, NodeId, TreeBuilder};
use kluis_crypto::note::{
    AuditSigningKey, AuditVerifyingKey, Checkpoint, NoteError, sign_checkpoint, verify_checkpoint,
};
use kluis_domain::audit::EncodedHeader;
use kluis_store::{Store, StoreError, StoredAuditEvent, StoredCheckpoint, StoredNode};

use crate::{Vault, VaultError};

/// The signing half of the audit log's identity.
pub struct AuditSigner {
    pub(crate) origin: String,
    pub(crate) verifying: AuditVerifyingKey,
    pub(crate) signing: Option<AuditSigningKey>,
}

impl std::fmt::Debug for AuditSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditSigner")
            .field("origin", &self.origin)
            .field("can_sign", &self.signing.is_some())
            .finish_non_exhaustive()
    }
}

/// An inclusion proof (RFC 9162 §2.1.3) of event `index` in the tree of `size` events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    pub index: u64,
    pub size: u64,
    pub leaf_hash: Hash,
    pub proof: Vec<Hash>,
    pub root: Hash,
}

/// A consistency proof (RFC 9162 §2.1.4) between tree sizes `from` and `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyProof {
    pub from: u64,
    pub to: u64,
    pub root_from: Hash,
    pub root_to: Hash,
    pub proof: Vec<Hash>,
}

fn root_of_nodes(hashes: &[Hash]) -> Hash {
    if hashes.is_empty() { merkle::empty_root() } else { merkle::fold_range(hashes) }
}

impl<S: Store> Vault<S> {
    /// The checkpoint origin (and signature key name) of this log.
    pub fn audit_origin(&self) -> &str {
        &self.audit.origin
    }

    /// The public key that verifies checkpoints.
    pub fn audit_verifying_key(&self) -> &AuditVerifyingKey {
        &self.audit.verifying
    }

    /// The verifying key in Go's note verifier format (`name+keyid+key`), for auditors.
    pub fn audit_verifier_string(&self) -> String {
        self.audit.verifying.to_verifier_string(&self.audit.origin)
    }

    /// Whether an audit signing key is loaded (checkpoints can be signed).
    pub fn can_sign_checkpoints(&self) -> bool {
        self.audit.signing.is_some()
    }

    /// Attaches the audit signing key, refusing one whose public key differs from the one the
    /// database was initialised with.
    pub fn with_audit_key(mut self, key: AuditSigningKey) -> Result<Self, VaultError> {
        if key.verifying_key() != self.audit.verifying {
            return Err(VaultError::WrongAuditKey);
        }
        let signer =
            AuditSigner { origin: self.audit.origin.clone(), verifying: key.verifying_key(), signing: Some(key) };
        self.audit = std::sync::Arc::new(signer);
        Ok(self)
    }

    /// Signs a checkpoint of the log as it is now (or returns the one of this size).
    pub async fn checkpoint_now(&self) -> Result<StoredCheckpoint, VaultError> {
        let signing = self.audit.signing.as_ref().ok_or(VaultError::NoAuditKey)?;
        let now = self.clock.now();
        let origin = self.audit.origin.clone();
        let checkpoint = self
            .store
            .checkpoint(now, move |size, root| {
                let cp = Checkpoint {
                    origin: origin.clone(),
                    size,
                    root: *root,
                    extensions: vec![format!("time {}", now.as_millis())],
                };
                sign_checkpoint(&cp, &origin, signing).map_err(|e| e.to_string())
            })
            .await?;
        tracing::info!(size = checkpoint.size, "audit checkpoint signed");
        Ok(checkpoint)
    }

    pub async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, VaultError> {
        Ok(self.store.latest_checkpoint().await?)
    }

    pub async fn audit_size(&self) -> Result<u64, VaultError> {
        Ok(self.store.audit_size().await?)
    }

    async fn size_or_current(&self, size: Option<u64>) -> Result<u64, VaultError> {
        let current = self.store.audit_size().await?;
        match size {
            Some(s) if s > current => Err(VaultError::AuditRange(format!("size {s} exceeds the log size {current}"))),
            Some(s) => Ok(s),
            None => Ok(current),
        }
    }

    /// The root of the tree of the first `size` events.
    pub async fn audit_root(&self, size: u64) -> Result<Hash, VaultError> {
        Ok(root_of_nodes(&self.store.audit_nodes(&merkle::frontier(size)).await?))
    }

    /// Folds each group of perfect subtrees into one hash (a range's MTH, a frontier's root, or a
    /// single node), fetching every node of every group in one round trip.
    async fn fold_groups(&self, groups: &[Vec<NodeId>]) -> Result<Vec<Hash>, VaultError> {
        let all: Vec<NodeId> = groups.iter().flatten().copied().collect();
        let hashes = self.store.audit_nodes(&all).await?;
        let mut at = 0;
        Ok(groups
            .iter()
            .map(|nodes| {
                let h = root_of_nodes(&hashes[at..at + nodes.len()]);
                at += nodes.len();
                h
            })
            .collect())
    }

    /// Inclusion proof of event `index` in the tree of `size` events (default: the current size).
    /// Two queries: the log size, then every node of the path, the leaf and the root at once.
    pub async fn inclusion_proof(&self, index: u64, size: Option<u64>) -> Result<InclusionProof, VaultError> {
        let size = self.size_or_current(size).await?;
        let ranges = merkle::inclusion_ranges(index, size)
            .map_err(|_| VaultError::AuditRange(format!("event {index} is not in a tree of size {size}")))?;
        let mut groups: Vec<Vec<NodeId>> = ranges.iter().map(|(a, b)| merkle::range_nodes(*a, *b)).collect();
        groups.push(vec![NodeId { level: 0, index }]);
        groups.push(merkle::frontier(size));
        let mut hashes = self.fold_groups(&groups).await?;
        let root = hashes.pop().unwrap_or_else(merkle::empty_root);
        let leaf_hash = hashes.pop().unwrap_or_default();
        Ok(InclusionProof { index, size, leaf_hash, proof: hashes, root })
    }

    /// Consistency proof between sizes `from` and `to` (default: the current size).
    pub async fn consistency_proof(&self, from: u64, to: Option<u64>) -> Result<ConsistencyProof, VaultError> {
        let to = self.size_or_current(to).await?;
        let ranges = merkle::consistency_ranges(from, to)
            .map_err(|_| VaultError::AuditRange(format!("no consistency proof from size {from} to size {to}")))?;
        let mut groups: Vec<Vec<NodeId>> = ranges.iter().map(|(a, b)| merkle::range_nodes(*a, *b)).collect();
        groups.push(merkle::frontier(from));
        groups.push(merkle::frontier(to));
        let mut hashes = self.fold_groups(&groups).await?;
        let root_to = hashes.pop().unwrap_or_else(merkle::empty_root);
        let root_from = hashes.pop().unwrap_or_else(merkle::empty_root);
        Ok(ConsistencyProof { from, to, root_from, root_to, proof: hashes })
    }
}

/// What `audit verify` found wrong, naming the first bad place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditFault {
    #[error("event {seq} is missing (the next stored event is {found})")]
    EventMissing { seq: u64, found: u64 },
    #[error("event {seq} is not a kluis audit event (unreadable or unknown version)")]
    EventMalformed { seq: u64 },
    #[error("event {seq} claims position {encoded}: events were reordered or moved")]
    EventOutOfPlace { seq: u64, encoded: u64 },
    #[error("event {seq} does not match its stored leaf hash: the event or its leaf was altered")]
    LeafMismatch { seq: u64 },
    #[error("Merkle node level {level} index {index} (events {first}..={last}) does not match the events")]
    NodeMismatch { level: u32, index: u64, first: u64, last: u64 },
    #[error("Merkle node level {level} index {index} is missing or out of place")]
    NodeMissing { level: u32, index: u64 },
    #[error("a Merkle node is stored that no event completes (level {level} index {index})")]
    NodeExtra { level: u32, index: u64 },
    #[error("the log head says {head} events but {found} are stored")]
    HeadMismatch { head: u64, found: u64 },
    #[error("checkpoint at size {size}: {reason}")]
    CheckpointSignature { size: u64, reason: String },
    #[error(
        "checkpoint at size {size}: its root does not match the events (the log was rewritten before event {size})"
    )]
    CheckpointRoot { size: u64 },
    #[error("checkpoint at size {size} is beyond the end of the log ({log_size} events): events were deleted")]
    CheckpointBeyondLog { size: u64, log_size: u64 },
    #[error("checkpoints at sizes {from} and {to} are not consistent")]
    CheckpointInconsistent { from: u64, to: u64 },
    #[error("the export is malformed at line {line}: {reason}")]
    ExportMalformed { line: u64, reason: String },
}

/// The outcome of a successful verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub events: u64,
    pub nodes_checked: u64,
    pub checkpoints: u64,
    pub root: Hash,
}

/// Why verification stopped.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("{0}")]
    Fault(AuditFault),
    #[error("cannot read the audit log: {0}")]
    Store(#[from] StoreError),
}

impl From<AuditFault> for VerifyError {
    fn from(f: AuditFault) -> Self {
        VerifyError::Fault(f)
    }
}

/// Recomputes the tree event by event: the part of verification that needs nothing but the events.
#[derive(Debug)]
pub struct LogRecomputer {
    tree: TreeBuilder,
    wanted: BTreeMap<u64, Option<Hash>>,
}

impl LogRecomputer {
    /// `checkpoint_sizes`: the sizes whose roots the caller wants to compare.
    pub fn new(checkpoint_sizes: impl IntoIterator<Item = u64>) -> Self {
        let mut wanted: BTreeMap<u64, Option<Hash>> = checkpoint_sizes.into_iter().map(|s| (s, None)).collect();
        if let Some(slot) = wanted.get_mut(&0) {
            *slot = Some(merkle::empty_root());
        }
        LogRecomputer { tree: TreeBuilder::new(), wanted }
    }

    pub fn size(&self) -> u64 {
        self.tree.size()
    }

    /// Adds the event stored at `seq`; returns the nodes it completes.
    pub fn push(&mut self, seq: u64, bytes: &[u8]) -> Result<Vec<(NodeId, Hash)>, AuditFault> {
        let expected = self.tree.size();
        if seq != expected {
            return Err(AuditFault::EventMissing { seq: expected, found: seq });
        }
        let header = EncodedHeader::parse(bytes).ok_or(AuditFault::EventMalformed { seq })?;
        if header.v != kluis_domain::audit::AUDIT_EVENT_VERSION {
            return Err(AuditFault::EventMalformed { seq });
        }
        if header.seq != seq {
            return Err(AuditFault::EventOutOfPlace { seq, encoded: header.seq });
        }
        let nodes = self.tree.push(merkle::leaf_hash(bytes));
        if let Some(slot) = self.wanted.get_mut(&self.tree.size()) {
            *slot = Some(self.tree.root());
        }
        Ok(nodes)
    }

    pub fn root(&self) -> Hash {
        self.tree.root()
    }

    /// The recomputed root at `size`, if it was wanted and reached.
    pub fn root_at(&self, size: u64) -> Option<Hash> {
        self.wanted.get(&size).copied().flatten()
    }
}

/// A page of the audit log: its events, the nodes they complete, and where the next page starts.
struct Page {
    events: Vec<StoredAuditEvent>,
    nodes: Vec<StoredNode>,
    next: u64,
}

/// The page of the audit log from `from` on; `None` past the end.
async fn read_page<S: Store>(store: &S, from: u64) -> Result<Option<Page>, StoreError> {
    let events = store.audit_events(from, PAGE).await?;
    let (Some(first), Some(last)) = (events.first(), events.last()) else { return Ok(None) };
    let (first, next) = (first.seq, last.seq.saturating_add(1));
    let nodes = store.audit_nodes_completed_by(first, last.seq).await?;
    Ok(Some(Page { events, nodes, next }))
}

/// Recomputes a page of events and compares the nodes they complete, one by one in append order,
/// with the stored ones; how many nodes were checked.
fn check_page(
    recomputer: &mut LogRecomputer,
    events: &[StoredAuditEvent],
    stored: Vec<StoredNode>,
) -> Result<u64, AuditFault> {
    let mut stored = stored.into_iter();
    let mut checked = 0;
    for event in events {
        for (id, hash) in recomputer.push(event.seq, &event.event)? {
            let node = stored.next().filter(|n| n.id == id && n.completed_by == event.seq);
            let Some(node) = node else {
                return Err(AuditFault::NodeMissing { level: id.level, index: id.index });
            };
            if node.hash != hash {
                return Err(if id.level == 0 {
                    AuditFault::LeafMismatch { seq: event.seq }
                } else {
                    AuditFault::NodeMismatch { level: id.level, index: id.index, first: id.start(), last: id.end() - 1 }
                });
            }
            checked += 1;
        }
    }
    if let Some(extra) = stored.next() {
        return Err(AuditFault::NodeExtra { level: extra.id.level, index: extra.id.index });
    }
    Ok(checked)
}

/// Checks one checkpoint against the recomputed tree.
pub fn check_checkpoint(
    note: &str,
    stored_size: u64,
    stored_root: Option<&Hash>,
    origin: &str,
    key: &AuditVerifyingKey,
    recomputed: &LogRecomputer,
) -> Result<Checkpoint, AuditFault> {
    let signature_fault =
        |e: NoteError| AuditFault::CheckpointSignature { size: stored_size, reason: format!("signature invalid: {e}") };
    let cp = verify_checkpoint(note, origin, key).map_err(signature_fault)?;
    if cp.origin != origin || cp.size != stored_size || stored_root.is_some_and(|r| *r != cp.root) {
        return Err(AuditFault::CheckpointSignature {
            size: stored_size,
            reason: "the signed note does not match the stored size or root".into(),
        });
    }
    if cp.size > recomputed.size() {
        return Err(AuditFault::CheckpointBeyondLog { size: cp.size, log_size: recomputed.size() });
    }
    if recomputed.root_at(cp.size) != Some(cp.root) {
        return Err(AuditFault::CheckpointRoot { size: cp.size });
    }
    Ok(cp)
}

/// Page sizes of the streaming verification.
const PAGE: u32 = 10_000;

/// Verifies the whole stored log: every event re-hashed and its position checked, every stored
/// Merkle node compared with the recomputed one, the head checked, every checkpoint's signature
/// checked and its root compared with the recomputed tree, and a consistency proof built from the
/// stored nodes verified between each pair of consecutive checkpoints. `progress(done, total)`.
pub async fn verify_store<S: Store>(
    store: &S,
    origin: &str,
    key: &AuditVerifyingKey,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<VerifyReport, VerifyError> {
    let head = store.audit_size().await?;
    let mut checkpoints = Vec::new();
    let mut from = 0;
    loop {
        let page = store.checkpoints(from, PAGE).await?;
        let Some(last) = page.last() else { break };
        from = last.size + 1;
        checkpoints.extend(page);
    }
    let mut recomputer = LogRecomputer::new(checkpoints.iter().map(|c| c.size));
    let mut nodes_checked = 0_u64;
    // Each page is recomputed on a blocking thread while the next one is read.
    let mut page = read_page(store, 0).await?;
    while let Some(Page { events, nodes, next }) = page {
        let check = tokio::task::spawn_blocking(move || {
            let checked = check_page(&mut recomputer, &events, nodes);
            (recomputer, checked)
        });
        let (checked, read) = tokio::join!(check, read_page(store, next));
        let checked = match checked {
            Ok((back, checked)) => {
                recomputer = back;
                checked
            }
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => return Err(StoreError::Backend(format!("audit verification: {e}")).into()),
        };
        nodes_checked += checked?;
        progress(recomputer.size(), head.max(recomputer.size()));
        page = read?;
    }
    let next = recomputer.size();
    if let Some(extra) = store.audit_nodes_completed_by(next, u64::MAX).await?.first() {
        return Err(AuditFault::NodeExtra { level: extra.id.level, index: extra.id.index }.into());
    }
    if head != recomputer.size() {
        return Err(AuditFault::HeadMismatch { head, found: recomputer.size() }.into());
    }
    let mut previous: Option<Checkpoint> = None;
    for stored in &checkpoints {
        let cp = check_checkpoint(&stored.note, stored.size, Some(&stored.root), origin, key, &recomputer)?;
        if let Some(prev) = &previous {
            let proof = consistency_from_store(store, prev.size, cp.size).await?;
            if merkle::verify_consistency(prev.size, cp.size, &prev.root, &cp.root, &proof).is_err() {
                return Err(AuditFault::CheckpointInconsistent { from: prev.size, to: cp.size }.into());
            }
        }
        previous = Some(cp);
    }
    Ok(VerifyReport {
        events: recomputer.size(),
        nodes_checked,
        checkpoints: checkpoints.len() as u64,
        root: recomputer.root(),
    })
}

async fn consistency_from_store<S: Store>(store: &S, m: u64, n: u64) -> Result<Vec<Hash>, VerifyError> {
    let Ok(ranges) = merkle::consistency_ranges(m, n) else {
        return Err(AuditFault::CheckpointInconsistent { from: m, to: n }.into());
    };
    let mut proof = Vec::with_capacity(ranges.len());
    for (a, b) in ranges {
        let ids = merkle::range_nodes(a, b);
        proof.push(merkle::fold_range(&store.audit_nodes(&ids).await?));
    }
    Ok(proof)
}

/// When the server signs checkpoints on its own.
#[derive(Debug, Clone, Copy)]
pub struct CheckpointPolicy {
    /// Sign once this many events have been appended since the last checkpoint.
    pub every_events: u64,
    /// Sign when this much time has passed and at least one event was appended.
    pub every: std::time::Duration,
}

/// Signs checkpoints by `policy` until the task is dropped. Failures are logged and retried.
pub async fn run_checkpointer<S: Store>(vault: Vault<S>, policy: CheckpointPolicy) {
    let mut last_size = match vault.latest_checkpoint().await {
        Ok(Some(c)) => c.size,
        _ => 0,
    };
    let mut last_time = tokio::time::Instant::now();
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1).min(policy.every));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let size = match vault.audit_size().await {
            Ok(size) => size,
            Err(e) => {
                tracing::warn!(error = %e, "checkpointer cannot read the log size");
                continue;
            }
        };
        let due = size > last_size && (size - last_size >= policy.every_events || last_time.elapsed() >= policy.every);
        if !due {
            continue;
        }
        match vault.checkpoint_now().await {
            Ok(c) => {
                last_size = c.size;
                last_time = tokio::time::Instant::now();
            }
            Err(e) => tracing::warn!(error = %e, "checkpoint signing failed; retrying"),
        }
    }
}

/// First line of an export file.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct ExportHeader {
    format: String,
    version: u32,
    origin: String,
    verifier: String,
    size: u64,
    checkpoints: u64,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct ExportCheckpoint {
    checkpoint: String,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct ExportEvent {
    seq: u64,
    /// The canonical encoding, verbatim (it is UTF-8 JSON).
    event: String,
}

const EXPORT_FORMAT: &str = "kluis-audit-export";

/// Why an export could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot read the audit log: {0}")]
    Store(#[from] StoreError),
    #[error("cannot write the export: {0}")]
    Io(#[from] std::io::Error),
}

/// Writes the whole log as JSON lines: a header, every checkpoint (signed note), every event
/// (canonical encoding, verbatim). With the verifier key alone, `verify_export` re-checks it.
/// Returns the number of events written.
pub async fn export<S: Store>(
    vault: &Vault<S>,
    out: &mut dyn std::io::Write,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<u64, ExportError> {
    let store = vault.store();
    let size = store.audit_size().await?;
    let mut checkpoints = Vec::new();
    let mut from = 0;
    loop {
        let page = store.checkpoints(from, PAGE).await?;
        let Some(last) = page.last() else { break };
        from = last.size + 1;
        checkpoints.extend(page.into_iter().filter(|c| c.size <= size));
    }
    let header = ExportHeader {
        format: EXPORT_FORMAT.into(),
        version: 1,
        origin: vault.audit_origin().to_owned(),
        verifier: vault.audit_verifier_string(),
        size,
        checkpoints: checkpoints.len() as u64,
    };
    let line = |v: &dyn erased::Json| v.to_line();
    out.write_all(&line(&header))?;
    for c in &checkpoints {
        out.write_all(&line(&ExportCheckpoint { checkpoint: c.note.clone() }))?;
    }
    let mut next = 0;
    while next < size {
        let events = store.audit_events(next, PAGE).await?;
        if events.is_empty() {
            break;
        }
        for e in events.iter().take_while(|e| e.seq < size) {
            let text = String::from_utf8_lossy(&e.event).into_owned();
            out.write_all(&line(&ExportEvent { seq: e.seq, event: text }))?;
            next = e.seq + 1;
        }
        progress(next, size);
    }
    out.flush()?;
    Ok(next)
}

mod erased {
    /// A serialisable line of the export.
    pub trait Json {
        fn to_line(&self) -> Vec<u8>;
    }
    impl<T: serde::Serialize> Json for T {
        fn to_line(&self) -> Vec<u8> {
            let mut v = serde_json::to_vec(self).unwrap_or_default();
            v.push(b'\n');
            v
        }
    }
}

/// Verifies an export with nothing but the verifier key: recomputes the tree from the events,
/// checks every checkpoint's signature and that its root matches the recomputed tree (consecutive
/// checkpoints are then consistent, both being prefixes of the same event sequence).
pub fn verify_export(
    input: &mut dyn std::io::BufRead,
    origin: &str,
    key: &AuditVerifyingKey,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<VerifyReport, AuditFault> {
    let mut lines = std::io::BufRead::lines(input);
    let mut line_no = 0_u64;
    let mut next_line = |what: &str| -> Result<Option<String>, AuditFault> {
        line_no += 1;
        match lines.next() {
            None => Ok(None),
            Some(Ok(l)) => Ok(Some(l)),
            Some(Err(e)) => Err(AuditFault::ExportMalformed { line: line_no, reason: format!("{what}: {e}") }),
        }
    };
    let malformed = |line: u64, reason: &str| AuditFault::ExportMalformed { line, reason: reason.to_owned() };
    let header_text = next_line("header")?.ok_or_else(|| malformed(1, "empty file"))?;
    let header: ExportHeader =
        serde_json::from_str(&header_text).map_err(|_| malformed(1, "not a kluis audit export header"))?;
    if header.format != EXPORT_FORMAT || header.version != 1 {
        return Err(malformed(1, "unknown export format or version"));
    }
    if header.origin != origin {
        return Err(malformed(1, "the export is of another log (origin differs from the verifier key's name)"));
    }
    let mut notes = Vec::new();
    for i in 0..header.checkpoints {
        let text = next_line("checkpoint")?.ok_or_else(|| malformed(i + 2, "checkpoint missing"))?;
        let c: ExportCheckpoint = serde_json::from_str(&text).map_err(|_| malformed(i + 2, "not a checkpoint line"))?;
        notes.push(c.checkpoint);
    }
    // The sizes the notes claim; each claim is checked against its signature below.
    let claimed: Vec<u64> = notes
        .iter()
        .map(|n| Checkpoint::parse_body(n.split("\n\n").next().map(|b| format!("{b}\n")).as_deref().unwrap_or("")))
        .map(|c| c.map_or(u64::MAX, |c| c.size))
        .collect();
    let mut recomputer = LogRecomputer::new(claimed.iter().copied());
    let first_event_line = header.checkpoints + 2;
    while let Some(text) = next_line("event")? {
        let event: ExportEvent = serde_json::from_str(&text)
            .map_err(|_| malformed(first_event_line + recomputer.size(), "not an event line"))?;
        recomputer.push(event.seq, event.event.as_bytes())?;
        if recomputer.size().is_multiple_of(u64::from(PAGE)) {
            progress(recomputer.size(), header.size);
        }
    }
    progress(recomputer.size(), header.size);
    if recomputer.size() != header.size {
        return Err(AuditFault::HeadMismatch { head: header.size, found: recomputer.size() });
    }
    for (note, size) in notes.iter().zip(&claimed) {
        check_checkpoint(note, *size, None, origin, key, &recomputer)?;
    }
    Ok(VerifyReport {
        events: recomputer.size(),
        nodes_checked: 0,
        checkpoints: notes.len() as u64,
        root: recomputer.root(),
    })
}
