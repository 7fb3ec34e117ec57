//! Fuzzes the Merkle proof verifiers and range arithmetic with arbitrary sizes, indices and
//! proof bytes: nothing may panic (no overflow, no out-of-bounds), and for small trees built
//! from the input the generated proofs must verify while a tampered one must not.
#![no_main]

use kluis_crypto::merkle::{
    Hash, TreeBuilder, consistency_proof, consistency_ranges, frontier, inclusion_proof, inclusion_ranges, leaf_hash,
    range_nodes, root_of, verify_consistency, verify_inclusion,
};
use libfuzzer_sys::fuzz_target;

fn u64_at(data: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    for (i, slot) in b.iter_mut().enumerate() {
        *slot = data.get(at + i).copied().unwrap_or(0);
    }
    u64::from_le_bytes(b)
}

fuzz_target!(|data: &[u8]| {
    let (a, b) = (u64_at(data, 0), u64_at(data, 8));
    let rest = data.get(16..).unwrap_or_default();
    let hashes: Vec<Hash> = rest.chunks_exact(32).map(|c| c.try_into().expect("32-byte chunk")).collect();
    let first = hashes.first().copied().unwrap_or_default();
    let last = hashes.last().copied().unwrap_or_default();

    // Arbitrary sizes and proofs: errors are fine, panics are not.
    let _ = verify_inclusion(&first, a, b, &hashes, &last);
    let _ = verify_consistency(a, b, &first, &last, &hashes);
    let _ = verify_consistency(a.min(b), a.max(b), &first, &last, &hashes);
    for (lo, hi) in [(a, b), (a.min(b), a.max(b))] {
        if let Ok(r) = inclusion_ranges(lo, hi) {
            assert!(r.len() <= 64 && r.iter().all(|&(s, e)| s < e && e <= hi));
        }
        if let Ok(r) = consistency_ranges(lo, hi) {
            assert!(r.len() <= 65 && r.iter().all(|&(s, e)| s < e && e <= hi));
        }
        // range_nodes covers [lo, hi) exactly, in order, with aligned perfect nodes.
        let mut pos = lo;
        for node in range_nodes(lo, hi) {
            assert_eq!(node.start(), pos);
            pos = node.start() + (1u64 << node.level);
        }
        assert_eq!(pos, lo.max(hi));
    }
    assert_eq!(frontier(a).len(), a.count_ones() as usize);
    let restored = TreeBuilder::from_frontier(a, &hashes);
    assert_eq!(restored.is_ok(), hashes.len() == a.count_ones() as usize);
    if let Ok(t) = restored {
        let _ = t.root();
    }

    // A small real tree from the input: honest proofs verify, a tampered one does not.
    let n = usize::from(data.first().copied().unwrap_or(0) % 64) + 1;
    let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(&[data, &i.to_le_bytes()].concat())).collect();
    let size = n as u64;
    let root = root_of(&leaves);
    let index = b % size;
    let m = a % (size + 1);
    let proof = inclusion_proof(&leaves, index).expect("index in range");
    assert_eq!(verify_inclusion(&leaves[index as usize], index, size, &proof, &root), Ok(()));
    let cproof = consistency_proof(&leaves, m).expect("m <= n");
    let root_m = root_of(&leaves[..m as usize]);
    assert_eq!(verify_consistency(m, size, &root_m, &root, &cproof), Ok(()));
    if let Some(h) = hashes.first() {
        if !proof.is_empty() && *h != proof[0] {
            let mut bad = proof.clone();
            bad[0] = *h;
            assert!(verify_inclusion(&leaves[index as usize], index, size, &bad, &root).is_err());
        }
    }
});
