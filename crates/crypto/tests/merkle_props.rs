//! Property tests of `kluis_crypto::merkle`: the range-based proofs a store serves equal the
//! reference proofs and verify; the incremental builder agrees with the reference root from
//! any restore point; and every kind of tampering is rejected.
// Test trees are tiny: u64 <-> usize conversions cannot truncate here.
#![allow(clippy::cast_possible_truncation, clippy::type_complexity)]

use std::collections::BTreeMap;

use kluis_crypto::merkle::{
    Hash, NodeId, TreeBuilder, consistency_proof, consistency_ranges, empty_root, fold_range, frontier,
    inclusion_proof, inclusion_ranges, leaf_hash, node_hash, range_nodes, root_of, verify_consistency,
    verify_inclusion,
};
use proptest::prelude::*;
use proptest::sample::Index;

/// The literal recursive MTH of RFC 9162 §2.1.1, independent of `root_of`.
fn mth(d: &[Hash]) -> Hash {
    match d.len() {
        0 => empty_root(),
        1 => d[0],
        n => {
            let mut k = 1;
            while k * 2 < n {
                k *= 2;
            }
            node_hash(&mth(&d[..k]), &mth(&d[k..]))
        }
    }
}

fn leaves(n: u64, salt: u64) -> Vec<Hash> {
    (0..n).map(|i| leaf_hash(&[salt.to_le_bytes(), i.to_le_bytes()].concat())).collect()
}

fn slice(leaves: &[Hash], start: u64, end: u64) -> &[Hash] {
    &leaves[usize::try_from(start).unwrap()..usize::try_from(end).unwrap()]
}

/// What a store does: look up the perfect nodes of each range and fold them.
fn served_proof(nodes: &BTreeMap<NodeId, Hash>, ranges: &[(u64, u64)]) -> Vec<Hash> {
    ranges
        .iter()
        .map(|&(s, e)| {
            let hashes: Vec<Hash> = range_nodes(s, e).iter().map(|id| nodes[id]).collect();
            fold_range(&hashes)
        })
        .collect()
}

/// All perfect nodes of the tree, as `TreeBuilder::push` reports them.
fn node_table(leaves: &[Hash]) -> BTreeMap<NodeId, Hash> {
    let mut b = TreeBuilder::new();
    leaves.iter().flat_map(|l| b.push(*l)).collect()
}

/// Which side each sibling is on, as the RFC 9162 inclusion verifier walks the path.
fn inclusion_shape(index: u64, size: u64) -> Option<Vec<bool>> {
    inclusion_ranges(index, size).ok().map(|r| r.iter().map(|&(_, e)| e <= index).collect())
}

/// Whether `m` is prepended, and which side each element is on, as the RFC 9162 consistency
/// verifier walks the path (None where the proof must be empty).
fn consistency_shape(m: u64, n: u64) -> Option<(bool, Vec<bool>)> {
    if m == 0 || m >= n {
        return None;
    }
    let r = consistency_ranges(m, n).ok()?;
    Some((m.is_power_of_two(), r.iter().map(|&(_, e)| e <= m).collect()))
}

fn flip(h: &Hash, byte: Index, bit: u8) -> Hash {
    let mut out = *h;
    out[byte.index(32)] ^= 1 << bit;
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn root_of_equals_recursive_mth(n in 0u64..600, salt in any::<u64>()) {
        let l = leaves(n, salt);
        prop_assert_eq!(root_of(&l), mth(&l));
        let folded: Vec<Hash> = frontier(n).iter().map(|id| mth(slice(&l, id.start(), id.end()))).collect();
        prop_assert_eq!(fold_range(&folded), mth(&l));
    }

    #[test]
    fn inclusion_ranges_match_reference(size in 1u64..2000, at in any::<Index>(), salt in any::<u64>()) {
        let index = at.index(usize::try_from(size).unwrap()) as u64;
        let l = leaves(size, salt);
        let reference = inclusion_proof(&l, index).unwrap();
        let ranges = inclusion_ranges(index, size).unwrap();
        prop_assert_eq!(ranges.len(), reference.len());
        // Each range's MTH (from the leaves) is the reference element ...
        for (&(s, e), want) in ranges.iter().zip(&reference) {
            prop_assert!(s < e && e <= size);
            prop_assert_eq!(&mth(slice(&l, s, e)), want);
            // ... and so is the fold of its perfect nodes, each computed from its leaves.
            let nodes: Vec<Hash> = range_nodes(s, e).iter().map(|id| mth(slice(&l, id.start(), id.end()))).collect();
            prop_assert_eq!(&fold_range(&nodes), want);
        }
        prop_assert_eq!(served_proof(&node_table(&l), &ranges), reference.clone());
        prop_assert_eq!(verify_inclusion(&l[usize::try_from(index).unwrap()], index, size, &reference, &root_of(&l)), Ok(()));
    }

    #[test]
    fn consistency_ranges_match_reference(n in 1u64..2000, at in any::<Index>(), salt in any::<u64>()) {
        let m = at.index(usize::try_from(n).unwrap() + 1) as u64; // 0..=n
        let l = leaves(n, salt);
        let reference = consistency_proof(&l, m).unwrap();
        let ranges = consistency_ranges(m, n).unwrap();
        prop_assert_eq!(ranges.len(), reference.len());
        for (&(s, e), want) in ranges.iter().zip(&reference) {
            prop_assert!(s < e && e <= n);
            prop_assert_eq!(&mth(slice(&l, s, e)), want);
        }
        prop_assert_eq!(served_proof(&node_table(&l), &ranges), reference.clone());
        let root_m = root_of(slice(&l, 0, m));
        prop_assert_eq!(verify_consistency(m, n, &root_m, &root_of(&l), &reference), Ok(()));
    }

    #[test]
    fn builder_restored_midway_agrees(n in 0u64..1500, at in any::<Index>(), salt in any::<u64>()) {
        let cut = at.index(usize::try_from(n).unwrap() + 1) as u64;
        let l = leaves(n, salt);
        // The frontier hashes a store would read back: the MTH of each frontier node.
        let stored: Vec<Hash> = frontier(cut).iter().map(|id| mth(slice(&l, id.start(), id.end()))).collect();
        let mut b = TreeBuilder::from_frontier(cut, &stored).unwrap();
        prop_assert_eq!(b.root(), root_of(slice(&l, 0, cut)));
        for (i, leaf) in (cut..).zip(&l[usize::try_from(cut).unwrap()..]) {
            b.push(*leaf);
            prop_assert_eq!(b.size(), i + 1);
        }
        prop_assert_eq!(b.root(), root_of(&l));
        prop_assert_eq!(b.frontier_hashes().len(), n.count_ones() as usize);
    }

    #[test]
    fn pushed_nodes_are_mths_of_their_ranges(n in 1u64..700, salt in any::<u64>()) {
        let l = leaves(n, salt);
        let mut b = TreeBuilder::new();
        let mut all = BTreeMap::new();
        for (i, leaf) in (0u64..).zip(&l) {
            let done = b.push(*leaf);
            prop_assert_eq!(done[0], (NodeId { level: 0, index: i }, *leaf));
            for (k, (id, hash)) in done.iter().enumerate() {
                prop_assert_eq!(id.level as usize, k);
                prop_assert_eq!(id.end(), i + 1, "completed by this leaf");
                prop_assert_eq!(hash, &mth(slice(&l, id.start(), id.end())));
                prop_assert!(all.insert(*id, *hash).is_none(), "reported twice");
            }
        }
        let perfect: u64 = (0..64).map(|lv| n >> lv).sum();
        prop_assert_eq!(all.len() as u64, perfect);
    }

    #[test]
    fn tampered_inclusion_fails(
        size in 1u64..300, at in any::<Index>(), salt in any::<u64>(),
        which in any::<Index>(), byte in any::<Index>(), bit in 0u8..8,
        other in any::<Index>(), other_size in 1u64..600,
    ) {
        let index = at.index(usize::try_from(size).unwrap()) as u64;
        let l = leaves(size, salt);
        let leaf = l[usize::try_from(index).unwrap()];
        let root = root_of(&l);
        let proof = inclusion_proof(&l, index).unwrap();
        prop_assert!(verify_inclusion(&leaf, index, size, &proof, &root).is_ok());
        if !proof.is_empty() {
            let mut p = proof.clone();
            let k = which.index(p.len());
            p[k] = flip(&p[k], byte, bit);
            prop_assert!(verify_inclusion(&leaf, index, size, &p, &root).is_err());
            prop_assert!(verify_inclusion(&leaf, index, size, &proof[1..], &root).is_err());
        }
        prop_assert!(verify_inclusion(&leaf, index, size, &proof, &flip(&root, byte, bit)).is_err());
        prop_assert!(verify_inclusion(&flip(&leaf, byte, bit), index, size, &proof, &root).is_err());
        let mut longer = proof.clone();
        longer.push(root);
        prop_assert!(verify_inclusion(&leaf, index, size, &longer, &root).is_err());
        // Any other index, in range or not.
        let wrong_index = other.index(usize::try_from(size).unwrap() + 2) as u64;
        if wrong_index != index {
            prop_assert!(verify_inclusion(&leaf, wrong_index, size, &proof, &root).is_err());
        }
        // Another size: RFC 9162 verification binds the size only through the shape of the
        // path (length and sibling sides), which is why a checkpoint signs (size, root)
        // together. The proof verifies under another size exactly when that shape is the same.
        if other_size != size {
            let same_shape = inclusion_shape(index, other_size) == inclusion_shape(index, size);
            prop_assert_eq!(verify_inclusion(&leaf, index, other_size, &proof, &root).is_ok(), same_shape);
        }
    }

    #[test]
    fn tampered_consistency_fails(
        n in 1u64..300, at in any::<Index>(), salt in any::<u64>(),
        which in any::<Index>(), byte in any::<Index>(), bit in 0u8..8,
        other_m in 0u64..310, other_n in 0u64..610,
    ) {
        let m = at.index(usize::try_from(n).unwrap() + 1) as u64;
        let l = leaves(n, salt);
        let (root_m, root_n) = (root_of(slice(&l, 0, m)), root_of(&l));
        let proof = consistency_proof(&l, m).unwrap();
        prop_assert!(verify_consistency(m, n, &root_m, &root_n, &proof).is_ok());
        if !proof.is_empty() {
            let mut p = proof.clone();
            let k = which.index(p.len());
            p[k] = flip(&p[k], byte, bit);
            prop_assert!(verify_consistency(m, n, &root_m, &root_n, &p).is_err());
            prop_assert!(verify_consistency(m, n, &root_m, &root_n, &proof[1..]).is_err());
            prop_assert!(verify_consistency(m, n, &root_m, &root_n, &proof[..proof.len() - 1]).is_err());
        }
        prop_assert!(verify_consistency(m, n, &flip(&root_m, byte, bit), &root_n, &proof).is_err());
        // Every tree extends the empty tree: with m == 0 nothing binds root_n.
        prop_assert_eq!(verify_consistency(m, n, &root_m, &flip(&root_n, byte, bit), &proof).is_err(), m > 0);
        let mut longer = proof.clone();
        longer.push(root_n);
        prop_assert!(verify_consistency(m, n, &root_m, &root_n, &longer).is_err());
        // Other sizes: as for inclusion, accepted exactly when the verifier walks the same
        // shape; in particular never when the proof must be empty for those sizes (or is
        // empty but must not be), unless sizes and roots make the trivial case true.
        for (a, b) in [(other_m, n), (m, other_n), (other_m, other_n)] {
            if (a, b) == (m, n) {
                continue;
            }
            let accepted = verify_consistency(a, b, &root_m, &root_n, &proof).is_ok();
            let expected = match (consistency_shape(a, b), consistency_shape(m, n)) {
                (Some(x), Some(y)) => x == y,
                (None, _) | (_, None) => {
                    // Trivial cases: empty proof and matching roots.
                    proof.is_empty()
                        && a <= b
                        && if a == b {
                            root_m == root_n && (a != 0 || root_m == empty_root())
                        } else {
                            a == 0 && root_m == empty_root()
                        }
                }
            };
            prop_assert_eq!(accepted, expected, "sizes {}->{} for proof of {}->{}", a, b, m, n);
        }
    }
}
