//! The Merkle tree of the audit log, exactly as RFC 9162 §2.1 (= RFC 6962 §2.1) defines it.
//!
//! * leaf hash `SHA-256(0x00 ‖ entry)`, interior node `SHA-256(0x01 ‖ left ‖ right)`, empty tree
//!   `SHA-256("")`;
//! * `MTH(D[n])` for `n > 1` splits at `k`, the largest power of two smaller than `n`.
//!
//! Besides the in-memory reference algorithms ([`root_of`], [`inclusion_proof`],
//! [`consistency_proof`]) this module describes proofs as *ranges of leaves*
//! ([`inclusion_ranges`], [`consistency_ranges`]) and ranges as *perfect subtrees*
//! ([`range_nodes`], [`NodeId`]), so a store that persists every perfect node (see
//! [`TreeBuilder::push`]) can serve any proof with `O(log² n)` node reads and no leaf scans:
//! each proof element is `fold_range(hashes of range_nodes(start, end))`.
//!
//! The verifiers are the algorithms of RFC 9162 §2.1.3.2 and §2.1.4.2, step for step.
//!
//! Sizes and indices are `u64`. A tree holds at most `2^64 − 1` leaves.

use sha2::{Digest, Sha256};

/// A SHA-256 tree hash.
pub type Hash = [u8; 32];

/// Why a proof could not be produced or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// A leaf index was not below the tree size.
    #[error("leaf index is not below the tree size")]
    IndexOutOfRange,
    /// The first tree of a consistency proof is larger than the second.
    #[error("the first tree is larger than the second")]
    SizeOrder,
    /// The proof has the wrong number of hashes for the given index and sizes.
    #[error("the proof has the wrong number of hashes")]
    WrongProofLength,
    /// The proof does not lead to the given root(s).
    #[error("the proof does not match the root")]
    RootMismatch,
    /// The input is inconsistent in some other way (e.g. a frontier with the wrong number of
    /// hashes for its size).
    #[error("malformed tree input")]
    Malformed,
}

/// `SHA-256(0x00 ‖ entry)`: the hash of a leaf (RFC 9162 §2.1.1).
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(entry);
    h.finalize().into()
}

/// `SHA-256(0x01 ‖ left ‖ right)`: the hash of an interior node (RFC 9162 §2.1.1).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// `SHA-256("")`: the root of the empty tree.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// A perfect subtree: the `2^level` leaves `[index·2^level, (index+1)·2^level)`. Level 0 is a
/// single leaf. Ordered by level, then index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// Height above the leaves (`0..=63`).
    pub level: u32,
    /// Position among the nodes of this level, left to right.
    pub index: u64,
}

impl NodeId {
    /// The first leaf covered by this node.
    pub fn start(self) -> u64 {
        self.index << self.level
    }

    /// One past the last leaf covered by this node.
    pub fn end(self) -> u64 {
        (self.index + 1) << self.level
    }
}

/// `⌊log2 n⌋` for `n > 0`.
fn floor_log2(n: u64) -> u32 {
    n.ilog2()
}

/// The largest power of two strictly smaller than `n`, for `n ≥ 2` (RFC 9162's `k`).
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << floor_log2(n - 1)
}

/// The perfect subtrees covering the leaves `[start, end)`, left to right, each as large as
/// alignment allows (the greedy decomposition from `start`). Empty if `start >= end`.
///
/// For every range that occurs in RFC 9162 — `start = k·2^j` and `end ≤ (k+1)·2^j`, which is
/// every range returned by [`inclusion_ranges`], [`consistency_ranges`] and the whole tree
/// `[0, size)` — the nodes have strictly decreasing sizes and [`fold_range`] of their hashes
/// is exactly `MTH(D[start:end])`. For other ranges the nodes still cover the range exactly,
/// but their fold is not an RFC 9162 subtree hash. At most 64 nodes (`O(log n)`).
pub fn range_nodes(start: u64, end: u64) -> Vec<NodeId> {
    let mut nodes = Vec::new();
    let mut pos = start;
    while pos < end {
        // Alignment of `pos` (64 for 0), capped by what still fits before `end`.
        let level = pos.trailing_zeros().min(floor_log2(end - pos));
        nodes.push(NodeId { level, index: pos >> level });
        pos += 1 << level;
    }
    nodes
}

/// Folds perfect-subtree hashes right to left with [`node_hash`]:
/// `h0, h1, …, hk ↦ H(h0, H(h1, … H(hk−1, hk)))`. With the hashes of [`range_nodes`] this is
/// `MTH` of the range. A single hash is returned unchanged; an empty slice gives
/// [`empty_root`] (the `MTH` of an empty range).
pub fn fold_range(hashes: &[Hash]) -> Hash {
    let Some((last, rest)) = hashes.split_last() else {
        return empty_root();
    };
    rest.iter().rev().fold(*last, |acc, left| node_hash(left, &acc))
}

/// The leaf ranges whose `MTH`s form the audit path of leaf `index` in a tree of `size`, in the
/// order of RFC 9162 §2.1.3.1 `PATH` (deepest sibling first). `O(log size)`.
pub fn inclusion_ranges(index: u64, size: u64) -> Result<Vec<(u64, u64)>, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange);
    }
    // Walk down from the root, recording the sibling at each level, then reverse.
    let mut ranges = Vec::new();
    let (mut lo, mut hi) = (0, size);
    while hi - lo > 1 {
        let mid = lo + split_point(hi - lo);
        if index < mid {
            ranges.push((mid, hi));
            hi = mid;
        } else {
            ranges.push((lo, mid));
            lo = mid;
        }
    }
    ranges.reverse();
    Ok(ranges)
}

/// The leaf ranges whose `MTH`s form the consistency proof between the trees of sizes `m` and
/// `n`, in the order of RFC 9162 §2.1.4.1 `PROOF` (including the case where `m` is the size of
/// a complete left subtree, which contributes no hash of its own). `O(log n)`.
///
/// `m == n` and `m == 0` give an empty proof (RFC 9162 defines `PROOF` only for `0 < m < n`;
/// these two cases need nothing beyond the roots, as in transparency-dev/merkle).
pub fn consistency_ranges(m: u64, n: u64) -> Result<Vec<(u64, u64)>, ProofError> {
    if m > n {
        return Err(ProofError::SizeOrder);
    }
    let mut ranges = Vec::new();
    if m == 0 || m == n {
        return Ok(ranges);
    }
    // SUBPROOF(m, D[lo:hi], b), iteratively; `m` is relative to `lo`.
    let (mut lo, mut hi, mut m, mut whole_old_tree) = (0, n, m, true);
    loop {
        if m == hi - lo {
            if !whole_old_tree {
                ranges.push((lo, hi));
            }
            break;
        }
        let mid = lo + split_point(hi - lo);
        if m <= mid - lo {
            ranges.push((mid, hi));
            hi = mid;
        } else {
            ranges.push((lo, mid));
            m -= mid - lo;
            lo = mid;
            whole_old_tree = false;
        }
    }
    ranges.reverse();
    Ok(ranges)
}

/// The perfect subtrees whose fold is the root of a tree of `size`: one per set bit of `size`,
/// largest (leftmost) first. Empty for `size == 0`.
pub fn frontier(size: u64) -> Vec<NodeId> {
    range_nodes(0, size)
}

/// Incremental builder of the tree: holds only the frontier (one hash per set bit of the size).
///
/// The store restores it from the frontier hashes of its current size, pushes the new leaf
/// hashes, and persists exactly the nodes each push returns. Every perfect node of the tree is
/// returned by exactly one push.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TreeBuilder {
    size: u64,
    /// The hashes of [`frontier`]`(size)`, left to right.
    frontier: Vec<Hash>,
}

impl TreeBuilder {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// A tree of `size` leaves, given the hashes of [`frontier`]`(size)` left to right.
    ///
    /// Fails with [`ProofError::Malformed`] unless there is exactly one hash per set bit of
    /// `size`. The hashes themselves cannot be checked here.
    pub fn from_frontier(size: u64, frontier_hashes: &[Hash]) -> Result<Self, ProofError> {
        if frontier_hashes.len() != size.count_ones() as usize {
            return Err(ProofError::Malformed);
        }
        Ok(Self { size, frontier: frontier_hashes.to_vec() })
    }

    /// Appends a leaf hash. Returns every perfect node this leaf completes, bottom-up: first
    /// the leaf itself at level 0, then one node per level it closes. Amortised `O(1)` hashes.
    ///
    /// # Panics
    /// If the tree already holds `2^64 − 1` leaves.
    pub fn push(&mut self, leaf: Hash) -> Vec<(NodeId, Hash)> {
        let index = self.size;
        let new_size = index.checked_add(1).expect("a tree holds at most 2^64 - 1 leaves");
        let closes = index.trailing_ones();
        let mut completed = Vec::with_capacity(closes as usize + 1);
        completed.push((NodeId { level: 0, index }, leaf));
        let mut acc = leaf;
        for level in 1..=closes {
            let left = self.frontier.pop().expect("the frontier has one hash per set bit of the size");
            acc = node_hash(&left, &acc);
            completed.push((NodeId { level, index: index >> level }, acc));
        }
        self.frontier.push(acc);
        self.size = new_size;
        completed
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The hashes of [`frontier`]`(self.size())`, left to right: what to persist (or read back)
    /// to restore this builder with [`TreeBuilder::from_frontier`].
    pub fn frontier_hashes(&self) -> &[Hash] {
        &self.frontier
    }

    /// `MTH` of the tree so far ([`empty_root`] when empty). `O(log size)`.
    pub fn root(&self) -> Hash {
        fold_range(&self.frontier)
    }
}

/// `MTH` of the leaves (given as leaf hashes). Iterative, `O(n)` hashes, `O(log n)` memory.
pub fn root_of(leaves: &[Hash]) -> Hash {
    // A frontier stack as in TreeBuilder, without recording the completed nodes.
    let mut stack: Vec<Hash> = Vec::with_capacity(64);
    for (i, leaf) in (0u64..).zip(leaves) {
        let mut acc = *leaf;
        for _ in 0..i.trailing_ones() {
            let left = stack.pop().expect("one stack entry per set bit of i");
            acc = node_hash(&left, &acc);
        }
        stack.push(acc);
    }
    fold_range(&stack)
}

/// `PATH(index, D[n])` of RFC 9162 §2.1.3.1, computed from all leaf hashes: the reference
/// implementation (literal recursion, `O(n)` hashes).
pub fn inclusion_proof(leaves: &[Hash], index: u64) -> Result<Vec<Hash>, ProofError> {
    let index = usize::try_from(index).map_err(|_| ProofError::IndexOutOfRange)?;
    if index >= leaves.len() {
        return Err(ProofError::IndexOutOfRange);
    }
    let mut path = Vec::new();
    path_rec(index, leaves, &mut path);
    Ok(path)
}

fn path_rec(m: usize, d: &[Hash], out: &mut Vec<Hash>) {
    let n = d.len();
    if n <= 1 {
        return;
    }
    let k = largest_pow2_below(n);
    if m < k {
        path_rec(m, &d[..k], out);
        out.push(root_of(&d[k..]));
    } else {
        path_rec(m - k, &d[k..], out);
        out.push(root_of(&d[..k]));
    }
}

/// `PROOF(m, D[n])` of RFC 9162 §2.1.4.1, computed from all leaf hashes: the reference
/// implementation. Empty for `m == 0` and `m == n` (see [`consistency_ranges`]).
pub fn consistency_proof(leaves: &[Hash], m: u64) -> Result<Vec<Hash>, ProofError> {
    let m = usize::try_from(m).map_err(|_| ProofError::SizeOrder)?;
    if m > leaves.len() {
        return Err(ProofError::SizeOrder);
    }
    let mut proof = Vec::new();
    if m > 0 {
        subproof_rec(m, leaves, true, &mut proof);
    }
    Ok(proof)
}

fn subproof_rec(m: usize, tree: &[Hash], whole_old_tree: bool, out: &mut Vec<Hash>) {
    let size = tree.len();
    if m == size {
        if !whole_old_tree {
            out.push(root_of(tree));
        }
        return;
    }
    let k = largest_pow2_below(size);
    if m <= k {
        subproof_rec(m, &tree[..k], whole_old_tree, out);
        out.push(root_of(&tree[k..]));
    } else {
        subproof_rec(m - k, &tree[k..], false, out);
        out.push(root_of(&tree[..k]));
    }
}

/// The largest power of two strictly smaller than `n`, for `n ≥ 2`.
fn largest_pow2_below(n: usize) -> usize {
    debug_assert!(n >= 2);
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// Verifies that `leaf` is the leaf hash at `index` in the tree of `size` whose root is
/// `root`, given the audit path `proof`: RFC 9162 §2.1.3.2 step for step.
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange);
    }
    let mut fnode = index;
    let mut snode = size - 1;
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return Err(ProofError::WrongProofLength);
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::WrongProofLength);
    }
    if r != *root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Verifies that the tree of size `m` with root `root_m` is a prefix of the tree of size `n`
/// with root `root_n`, given the consistency proof `proof`: RFC 9162 §2.1.4.2 step for step
/// for `0 < m < n`.
///
/// The cases RFC 9162 leaves out, as transparency-dev/merkle handles them: `m == n` needs an
/// empty proof and `root_m == root_n` (both [`empty_root`] when `n == 0`); `0 == m < n` needs
/// an empty proof and (stricter than transparency-dev, which ignores it)
/// `root_m == empty_root()`; `root_n` is then not checked at all (every tree extends the
/// empty tree).
pub fn verify_consistency(m: u64, n: u64, root_m: &Hash, root_n: &Hash, proof: &[Hash]) -> Result<(), ProofError> {
    if m > n {
        return Err(ProofError::SizeOrder);
    }
    if m == n || m == 0 {
        if !proof.is_empty() {
            return Err(ProofError::WrongProofLength);
        }
        let roots_match =
            if m == n { root_m == root_n && (n != 0 || *root_n == empty_root()) } else { *root_m == empty_root() };
        return if roots_match { Ok(()) } else { Err(ProofError::RootMismatch) };
    }
    // 1. An empty path fails.
    let Some((first, rest)) = proof.split_first() else {
        return Err(ProofError::WrongProofLength);
    };
    // 2. If `m` is an exact power of two, `root_m` is prepended to the path.
    let (start, rest): (&Hash, &[Hash]) = if m.is_power_of_two() { (root_m, proof) } else { (first, rest) };
    // 3-4. fn = m − 1, sn = n − 1; shift both right while LSB(fn) is set.
    let mut fnode = m - 1;
    let mut snode = n - 1;
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    // 5. fr = sr = path[0].
    let mut fr = *start;
    let mut sr = *start;
    // 6. For each subsequent value c in the path:
    for c in rest {
        if snode == 0 {
            return Err(ProofError::WrongProofLength);
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    // 7. Accept iff fr == root_m, sr == root_n and sn == 0.
    if snode != 0 {
        return Err(ProofError::WrongProofLength);
    }
    if fr != *root_m || sr != *root_n {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}
