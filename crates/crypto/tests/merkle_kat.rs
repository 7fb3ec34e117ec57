//! Known-answer tests of `kluis_crypto::merkle` against the RFC 6962 test vectors published by
//! Google's transparency-dev/merkle (Go), file `proof/verify_test.go` (variables `leaves`,
//! `roots`, `inclusionProofs`, `consistencyProofs`; the same data as the certificate-transparency
//! C++ `merkle_tree_test.cc`) and `rfc6962/rfc6962_test.go` (hasher vectors). The expected hex
//! below is copied from those files, not produced by this implementation.
// Test trees are tiny: u64 <-> usize conversions cannot truncate here.
#![allow(clippy::cast_possible_truncation, clippy::type_complexity)]

use kluis_crypto::merkle::{
    Hash, NodeId, ProofError, TreeBuilder, consistency_proof, consistency_ranges, empty_root, fold_range, frontier,
    inclusion_proof, inclusion_ranges, leaf_hash, node_hash, range_nodes, root_of, verify_consistency,
    verify_inclusion,
};

fn h(s: &str) -> Hash {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).expect("32-byte hex");
    out
}

/// `leaves` of verify_test.go (raw entries, hex).
const LEAVES: [&str; 8] =
    ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"];

/// `roots` of verify_test.go: MTH of the first 1..=8 leaves.
const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// `inclusionProofs` of verify_test.go as (0-based leaf index, tree size, path). The Go file
/// lists 1-based leaf numbers: {1,8}, {6,8}, {3,3}, {2,5}, and {1,1} with an empty path.
const INCLUSION: &[(u64, u64, &[&str])] = &[
    (0, 1, &[]),
    (
        0,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        &[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
];

/// `consistencyProofs` of verify_test.go as (size1, size2, proof).
const CONSISTENCY: &[(u64, u64, &[&str])] = &[
    (1, 1, &[]),
    (
        1,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        &[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
];

/// `sha256SomeHash` of verify_test.go.
const SOME_HASH: &str = "abacaba000000000000000000000000000000000000000000060061e00123456";

fn leaf_hashes() -> Vec<Hash> {
    LEAVES.iter().map(|l| leaf_hash(&hex::decode(l).unwrap())).collect()
}

fn hashes(list: &[&str]) -> Vec<Hash> {
    list.iter().map(|s| h(s)).collect()
}

/// Each proof element computed the way a store would: fold the perfect-node hashes of the
/// range. Node hashes here come from `root_of` over the node's leaves.
fn proof_from_ranges(leaves: &[Hash], ranges: &[(u64, u64)]) -> Vec<Hash> {
    ranges
        .iter()
        .map(|&(s, e)| {
            let nodes: Vec<Hash> =
                range_nodes(s, e).into_iter().map(|n| root_of(&leaves[n.start() as usize..n.end() as usize])).collect();
            fold_range(&nodes)
        })
        .collect()
}

#[test]
fn hasher_vectors_from_rfc6962_test_go() {
    // echo -n | sha256sum
    assert_eq!(empty_root(), h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    // echo -n 00 | xxd -r -p | sha256sum
    assert_eq!(leaf_hash(b""), h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"));
    // echo -n 004C313233343536 | xxd -r -p | sha256sum
    assert_eq!(leaf_hash(b"L123456"), h("395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"));
    // The node hash of two leaves equals the 2-leaf root of the vectors.
    let l = leaf_hashes();
    assert_eq!(node_hash(&l[0], &l[1]), h(ROOTS[1]));
    assert_ne!(node_hash(&l[1], &l[0]), h(ROOTS[1]));
}

#[test]
fn roots_of_every_prefix() {
    let leaves = leaf_hashes();
    assert_eq!(root_of(&[]), empty_root());
    let mut builder = TreeBuilder::new();
    assert_eq!(builder.root(), empty_root());
    for (n, want) in (1..=8).zip(ROOTS) {
        assert_eq!(root_of(&leaves[..n]), h(want), "root_of size {n}");
        builder.push(leaves[n - 1]);
        assert_eq!(builder.size(), n as u64);
        assert_eq!(builder.root(), h(want), "TreeBuilder size {n}");
        let nodes: Vec<Hash> =
            frontier(n as u64).into_iter().map(|id| root_of(&leaves[id.start() as usize..id.end() as usize])).collect();
        assert_eq!(fold_range(&nodes), h(want), "folded frontier size {n}");
    }
}

#[test]
fn inclusion_vectors() {
    let leaves = leaf_hashes();
    for &(index, size, path) in INCLUSION {
        let want = hashes(path);
        let root = h(ROOTS[size as usize - 1]);
        let leaf = leaves[index as usize];
        let tree = &leaves[..size as usize];
        assert_eq!(inclusion_proof(tree, index).unwrap(), want, "{index}/{size}");
        let ranges = inclusion_ranges(index, size).unwrap();
        assert_eq!(proof_from_ranges(tree, &ranges), want, "{index}/{size}");
        assert_eq!(verify_inclusion(&leaf, index, size, &want, &root), Ok(()));

        // The corruption probes of verify_test.go's corruptInclusionProof.
        let some = h(SOME_HASH);
        let mut probes: Vec<(u64, u64, Hash, Vec<Hash>, Hash)> = vec![
            (index.wrapping_sub(1), size, leaf, want.clone(), root),
            (index + 1, size, leaf, want.clone(), root),
            (index ^ 2, size, leaf, want.clone(), root),
            (index, size * 2, leaf, want.clone(), root),
            (index, size / 2, leaf, want.clone(), root),
            (index, size, leaf_hash(b"WrongLeaf"), want.clone(), root),
            (index, size, leaf, want.clone(), empty_root()),
            (index, size, leaf, want.clone(), some),
            (index, size, leaf, [want.clone(), vec![root]].concat(), root),
            (index, size, leaf, [vec![root], want.clone()].concat(), root),
            (index, size, leaf, [want.clone(), vec![[0; 32]]].concat(), root),
        ];
        for i in 0..want.len() {
            let mut p = want.clone();
            p[i][0] ^= 8;
            probes.push((index, size, leaf, p, root));
        }
        if !want.is_empty() {
            probes.push((index, size, leaf, want[..want.len() - 1].to_vec(), root));
        }
        if want.len() > 1 {
            let p = [&want[..1], &[some], &want[1..]].concat();
            probes.push((index, size, leaf, p, root));
        }
        for (k, (i, s, l, p, r)) in probes.iter().enumerate() {
            assert!(verify_inclusion(l, *i, *s, p, r).is_err(), "probe {k} verified for {index}/{size}");
        }
    }
}

#[test]
fn inclusion_edge_cases_from_verify_test_go() {
    let some = h(SOME_HASH);
    for (index, size) in [(0, 0), (1, 0), (2, 1)] {
        assert_eq!(verify_inclusion(&some, index, size, &[], &empty_root()), Err(ProofError::IndexOutOfRange));
        assert_eq!(inclusion_ranges(index, size), Err(ProofError::IndexOutOfRange));
    }
    // Single entry: the root is the leaf hash and the proof is empty.
    let leaf = leaf_hash(b"data");
    assert_eq!(verify_inclusion(&leaf, 0, 1, &[], &leaf), Ok(()));
    assert!(verify_inclusion(&leaf, 0, 1, &[], &some).is_err());
    assert!(verify_inclusion(&some, 0, 1, &[], &leaf).is_err());
    assert_eq!(inclusion_proof(&[leaf], 1), Err(ProofError::IndexOutOfRange));
    assert_eq!(inclusion_proof(&[], 0), Err(ProofError::IndexOutOfRange));
}

#[test]
fn consistency_vectors() {
    let leaves = leaf_hashes();
    for &(m, n, path) in CONSISTENCY {
        let want = hashes(path);
        let (root1, root2) = (h(ROOTS[m as usize - 1]), h(ROOTS[n as usize - 1]));
        let tree = &leaves[..n as usize];
        assert_eq!(consistency_proof(tree, m).unwrap(), want, "{m}->{n}");
        let ranges = consistency_ranges(m, n).unwrap();
        assert_eq!(proof_from_ranges(tree, &ranges), want, "{m}->{n}");
        assert_eq!(verify_consistency(m, n, &root1, &root2, &want), Ok(()));
        if want.is_empty() {
            continue;
        }
        // The corruption probes of verify_test.go's corruptConsistencyProof.
        let wrong = leaf_hash(b"WrongRoot");
        let mut probes: Vec<(u64, u64, Hash, Hash, Vec<Hash>)> = vec![
            (m - 1, n, root1, root2, want.clone()),
            (m + 1, n, root1, root2, want.clone()),
            (m ^ 2, n, root1, root2, want.clone()),
            (m, n * 2, root1, root2, want.clone()),
            (m, n / 2, root1, root2, want.clone()),
            (m, n, wrong, root2, want.clone()),
            (m, n, root1, wrong, want.clone()),
            (m, n, root2, root1, want.clone()),
            (m, n, root1, root2, vec![]),
            (m, n, root1, root2, [want.clone(), vec![[0; 32]]].concat()),
            (m, n, root1, root2, [want.clone(), vec![root1]].concat()),
            (m, n, root1, root2, [want.clone(), vec![root2]].concat()),
            (m, n, root1, root2, [vec![[0; 32]], want.clone()].concat()),
            (m, n, root1, root2, [vec![root1], want.clone()].concat()),
            (m, n, root1, root2, [vec![root2], want.clone()].concat()),
            (m, n, root1, root2, [vec![want[0]], want.clone()].concat()),
            (m, n, root1, root2, want[..want.len() - 1].to_vec()),
        ];
        for i in 0..want.len() {
            let mut p = want.clone();
            p[i][0] ^= 16;
            probes.push((m, n, root1, root2, p));
        }
        for (k, (a, b, r1, r2, p)) in probes.iter().enumerate() {
            assert!(verify_consistency(*a, *b, r1, r2, p).is_err(), "probe {k} verified for {m}->{n}");
        }
    }
}

#[test]
fn consistency_edge_cases_from_verify_test_go() {
    let r1 = leaf_hash(b"don't care 1");
    let r2 = leaf_hash(b"don't care 2");
    let e = empty_root();
    // (m, n, root1, root2, proof, ok). As TestVerifyConsistency, except that for m == 0 we
    // also require root1 to be the empty-tree root (Go ignores root1 there).
    let cases: &[(u64, u64, Hash, Hash, &[Hash], bool)] = &[
        (0, 0, r1, r2, &[], false),
        (1, 1, r1, r2, &[], false),
        (0, 0, e, e, &[], true),
        (0, 1, e, r2, &[], true),
        (0, 1, r1, r2, &[], false), // Go: ok; here root1 must be empty_root()
        (1, 1, r2, r2, &[], true),
        (1, 0, r1, r2, &[], false),
        (2, 1, r1, r2, &[], false),
        (1, 2, r1, r2, &[], false),
        (0, 0, e, r2, &[], false),
        (1, 1, e, r2, &[], false),
        (0, 0, e, e, &[e], false),
        (0, 1, e, e, &[e], false),
        (1, 1, e, e, &[e], false),
    ];
    for (k, &(m, n, a, b, p, ok)) in cases.iter().enumerate() {
        assert_eq!(verify_consistency(m, n, &a, &b, p).is_ok(), ok, "case {k}");
    }
    assert_eq!(verify_consistency(2, 1, &r1, &r2, &[]), Err(ProofError::SizeOrder));
    assert_eq!(consistency_ranges(2, 1), Err(ProofError::SizeOrder));
    assert_eq!(consistency_ranges(0, 5), Ok(vec![]));
    assert_eq!(consistency_ranges(5, 5), Ok(vec![]));
    assert_eq!(consistency_proof(&[r1], 2), Err(ProofError::SizeOrder));
}

/// Structure of ranges, hand-derived from RFC 9162 §2.1.3.1 / §2.1.4.1 (small enough to check
/// on paper).
#[test]
fn range_structure_examples() {
    let id = |level, index| NodeId { level, index };
    assert_eq!(frontier(0), vec![]);
    assert_eq!(frontier(1), vec![id(0, 0)]);
    assert_eq!(frontier(7), vec![id(2, 0), id(1, 2), id(0, 6)]);
    assert_eq!(frontier(8), vec![id(3, 0)]);
    assert_eq!(range_nodes(4, 7), vec![id(1, 2), id(0, 6)]);
    assert_eq!(range_nodes(3, 3), vec![]);
    // A non-RFC range still gets an exact cover.
    assert_eq!(range_nodes(3, 7), vec![id(0, 3), id(1, 2), id(0, 6)]);
    assert_eq!(frontier(u64::MAX).len(), 64, "one node per set bit, no overflow");
    assert_eq!(inclusion_ranges(0, 8).unwrap(), vec![(1, 2), (2, 4), (4, 8)]);
    assert_eq!(inclusion_ranges(5, 8).unwrap(), vec![(4, 5), (6, 8), (0, 4)]);
    assert_eq!(inclusion_ranges(4, 5).unwrap(), vec![(0, 4)]);
    // RFC 6962 §2.1.3 example tree of 7 leaves: PROOF(3, D[7]) = [c, d, g, l] =
    // [leaf 2, leaf 3, MTH(0..2), MTH(4..7)].
    assert_eq!(consistency_ranges(3, 7).unwrap(), vec![(2, 3), (3, 4), (0, 2), (4, 7)]);
    // PROOF(4, D[7]) = [l]; PROOF(6, D[7]) = [i, j, k].
    assert_eq!(consistency_ranges(4, 7).unwrap(), vec![(4, 7)]);
    assert_eq!(consistency_ranges(6, 7).unwrap(), vec![(4, 6), (6, 7), (0, 4)]);
    // RFC 6962 §2.1.3: the audit path for d0 in the 7-leaf tree is [b, h, l].
    assert_eq!(inclusion_ranges(0, 7).unwrap(), vec![(1, 2), (2, 4), (4, 7)]);
    // ... for d3 it is [c, g, l], for d4 [f, j, k].
    assert_eq!(inclusion_ranges(3, 7).unwrap(), vec![(2, 3), (0, 2), (4, 7)]);
    assert_eq!(inclusion_ranges(4, 7).unwrap(), vec![(5, 6), (6, 7), (0, 4)]);
    // Huge sizes stay logarithmic.
    // Last leaf of 2^64 - 1: one sibling per other frontier node (63). Consistency n-1 -> n:
    // 62 frontier nodes above, the new leaf, and the old last level-1 node.
    assert_eq!(inclusion_ranges(u64::MAX - 1, u64::MAX).unwrap().len(), 63);
    assert_eq!(consistency_ranges(u64::MAX - 1, u64::MAX).unwrap().len(), 64);
}

#[test]
fn from_frontier_rejects_wrong_hash_count() {
    assert!(TreeBuilder::from_frontier(0, &[]).is_ok());
    assert_eq!(TreeBuilder::from_frontier(0, &[[0; 32]]), Err(ProofError::Malformed));
    assert_eq!(TreeBuilder::from_frontier(7, &[[0; 32]; 2]), Err(ProofError::Malformed));
    assert!(TreeBuilder::from_frontier(7, &[[0; 32]; 3]).is_ok());
    assert_eq!(fold_range(&[]), empty_root());
}

/// `root_of` is iterative and linear: a million leaves take well under a second in release
/// (a few seconds in debug). Cross-checked against the incremental builder.
#[test]
fn million_leaves() {
    let n: u64 = (1 << 20) + 5;
    let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect();
    let mut builder = TreeBuilder::new();
    let mut stored = 0usize;
    for leaf in &leaves {
        stored += builder.push(*leaf).len();
    }
    // Every perfect node exactly once: sum over levels of floor(n / 2^level).
    let perfect: u64 = (0..64).map(|l| n >> l).sum();
    assert_eq!(stored as u64, perfect);
    assert_eq!(root_of(&leaves), builder.root());
    let restored = TreeBuilder::from_frontier(n, builder.frontier_hashes()).unwrap();
    assert_eq!(restored.root(), builder.root());
}
