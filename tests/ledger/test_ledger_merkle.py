"""RFC 6962 / RFC 9162 Merkle tree against published test vectors.

Vectors are copied from transparency-dev/merkle (Apache-2.0):

* ``rfc6962/rfc6962_test.go`` (TestRFC6962Hasher): empty root, empty leaf, leaf and node hash;
* ``proof/verify_test.go``: the eight reference ``leaves``, the ``roots`` of the trees of sizes
  1..8 built from them, ``inclusionProofs``, ``consistencyProofs`` and the corruption probes of
  ``corruptInclusionProof`` / ``corruptConsistencyProof`` (each must be rejected);
* ``proof/proof_test.go`` (TestInclusion, TestConsistency): which subtrees make up a proof, for
  trees of 7, 8, 15, 31 and 95 leaves (transcribed here as leaf ranges).

The same leaves, roots and proofs are the ones used by the Certificate Transparency code
(google/certificate-transparency-go ``merkletree``). Beyond the vectors, hypothesis checks every
leaf and every pair of sizes of random trees against a direct, recursive transcription of the
RFC definitions written in this file.
"""
from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gep.ledger import merkle
from gep.ledger.merkle import MerkleTree, ProofError

from .ledger_helpers import mth  # the recursive RFC 6962 oracle


def dh(h: str) -> bytes:
    return bytes.fromhex(h)


# --- rfc6962/rfc6962_test.go -------------------------------------------------------------
EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
EMPTY_LEAF = "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
LEAF_L123456 = "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"
NODE_N123_N456 = "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb"

# --- proof/verify_test.go ----------------------------------------------------------------
SOME_HASH = dh("abacaba000000000000000000000000000000000000000000060061e00123456")
LEAVES = [dh(x) for x in ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                          "606162636465666768696a6b6c6d6e6f"]]
ROOTS = [dh(x) for x in [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]]
# (leaf number, 1-based as in the Go file; tree size; proof)
INCLUSION = [
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (3, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (2, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]
CONSISTENCY = [
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]


# --- an independent oracle: the RFC 6962 section 2.1 definitions, recursively -------------
def rfc_path(m: int, entries: list[bytes]) -> list[bytes]:
    n = len(entries)
    if n <= 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return rfc_path(m, entries[:k]) + [mth(entries[k:])]
    return rfc_path(m - k, entries[k:]) + [mth(entries[:k])]


def rfc_subproof(m: int, entries: list[bytes], b: bool) -> list[bytes]:
    n = len(entries)
    if m == n:
        return [] if b else [mth(entries)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return rfc_subproof(m, entries[:k], b) + [mth(entries[k:])]
    return rfc_subproof(m - k, entries[k:], False) + [mth(entries[:k])]


# ------------------------------------------------------------------------------ hashes
def test_hasher_vectors():
    assert merkle.EMPTY_ROOT.hex() == EMPTY
    assert merkle.leaf_hash(b"").hex() == EMPTY_LEAF
    assert merkle.leaf_hash(b"L123456").hex() == LEAF_L123456
    assert merkle.node_hash(b"N123", b"N456").hex() == NODE_N123_N456
    # Second-preimage resistance: a node is not the leaf hash of its children's concatenation.
    h1, h2 = merkle.leaf_hash(b"Hello"), merkle.leaf_hash(b"World")
    assert merkle.node_hash(h1, h2) != merkle.leaf_hash(h1 + h2)
    assert merkle.node_hash(h1, h2) != merkle.node_hash(h2, h1)


@pytest.mark.parametrize("size", range(9))
def test_roots_of_reference_trees(size):
    tree = MerkleTree.from_entries(LEAVES[:size])
    want = bytes.fromhex(EMPTY) if size == 0 else ROOTS[size - 1]
    assert tree.root() == want
    # Every prefix of the full tree gives the same root (roots of past sizes).
    assert MerkleTree.from_entries(LEAVES).root(size) == want


# ------------------------------------------------------------------------------ inclusion
def corrupt_inclusion(index, size, proof, root, leaf):
    """The probes of corruptInclusionProof (proof/verify_test.go); all must be rejected."""
    probes = [
        (index - 1, size, root, leaf, proof, "leafIndex - 1"),
        (index + 1, size, root, leaf, proof, "leafIndex + 1"),
        (index ^ 2, size, root, leaf, proof, "leafIndex ^ 2"),
        (index, size * 2, root, leaf, proof, "treeSize * 2"),
        (index, size // 2, root, leaf, proof, "treeSize / 2"),
        (index, size, root, b"WrongLeaf", proof, "wrong leaf"),
        (index, size, bytes.fromhex(EMPTY), leaf, proof, "empty root"),
        (index, size, SOME_HASH, leaf, proof, "random root"),
        (index, size, root, leaf, proof + [b""], "trailing garbage"),
        (index, size, root, leaf, proof + [root], "trailing root"),
        (index, size, root, leaf, [b""] + proof, "preceding garbage"),
        (index, size, root, leaf, [root] + proof, "preceding root"),
    ]
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = bytes([bad[i][0] ^ 8]) + bad[i][1:]
        probes.append((index, size, root, leaf, bad, f"modified proof[{i}] bit 3"))
    if proof:
        probes.append((index, size, root, leaf, proof[:-1], "removed component"))
    if len(proof) > 1:
        probes.append((index, size, root, leaf, [proof[0], SOME_HASH] + proof[1:],
                       "inserted component"))
    return probes


@pytest.mark.parametrize("leaf_no,size,proof_hex", INCLUSION)
def test_inclusion_vectors(leaf_no, size, proof_hex):
    proof = [dh(h) for h in proof_hex]
    index = leaf_no - 1
    leaf = merkle.leaf_hash(LEAVES[index])
    root = ROOTS[size - 1]
    # Generation reproduces the published proof.
    assert MerkleTree.from_entries(LEAVES[:size]).inclusion_proof(index) == proof
    # RFC 9162 verification accepts it and computes the published root.
    assert merkle.root_from_inclusion_proof(index, size, leaf, proof) == root
    merkle.verify_inclusion(index, size, leaf, proof, root)
    for i, s, r, lf, p, desc in corrupt_inclusion(index, size, proof, root, leaf):
        with pytest.raises(ProofError):
            merkle.verify_inclusion(i, s, lf, p, r)
            pytest.fail(f"probe accepted: {desc}")


def test_inclusion_single_entry():
    """TestVerifyInclusionSingleEntry: root == leaf hash, empty proof; wrong sizes fail."""
    h = merkle.leaf_hash(b"data")
    merkle.verify_inclusion(0, 1, h, [], h)
    for root, leaf in [(h, b""), (b"", h), (b"", b"")]:
        with pytest.raises(ProofError):
            merkle.verify_inclusion(0, 1, leaf, [], root)


@pytest.mark.parametrize("index,size", [(0, 0), (0, 1), (1, 0), (2, 1)])
def test_inclusion_rejects_empty_or_out_of_range(index, size):
    """TestVerifyInclusion probes: nothing verifies against the empty tree or outside it."""
    for leaf, root in [(SOME_HASH, b""), (b"", bytes.fromhex(EMPTY)),
                       (SOME_HASH, bytes.fromhex(EMPTY))]:
        with pytest.raises(ProofError):
            merkle.verify_inclusion(index, size, leaf, [], root)


def test_no_inclusion_proof_in_empty_tree():
    with pytest.raises(ProofError):
        MerkleTree().inclusion_proof(0, 0)


# proof/proof_test.go TestInclusion: the subtrees of each proof, as leaf ranges [start, end).
# Node id(level, i) covers leaves [i * 2^level, (i + 1) * 2^level); "rehash" pairs such as
# l = hash(i, j) in a tree of 7 are the range [4, 7).
STRUCTURE_INCLUSION = [
    (2, 0, [(1, 2)]), (2, 1, [(0, 1)]), (3, 1, [(0, 1), (2, 3)]),
    (7, 0, [(1, 2), (2, 4), (4, 7)]), (7, 1, [(0, 1), (2, 4), (4, 7)]),
    (7, 2, [(3, 4), (0, 2), (4, 7)]), (7, 3, [(2, 3), (0, 2), (4, 7)]),
    (7, 4, [(5, 6), (6, 7), (0, 4)]), (7, 5, [(4, 5), (6, 7), (0, 4)]),
    (7, 6, [(4, 6), (0, 4)]),
    (4, 2, [(3, 4), (0, 2)]), (5, 3, [(2, 3), (0, 2), (4, 5)]),
    (6, 3, [(2, 3), (0, 2), (4, 6)]), (6, 4, [(5, 6), (0, 4)]),
    (15, 10, [(11, 12), (8, 10), (12, 15), (0, 8)]),
    (31, 24, [(25, 26), (26, 28), (28, 31), (16, 24), (0, 16)]),
    (95, 81, [(80, 81), (82, 84), (84, 88), (88, 95), (64, 80), (0, 64)]),
]
# proof/proof_test.go TestConsistency.
STRUCTURE_CONSISTENCY = [
    (1, 2, [(1, 2)]), (1, 4, [(1, 2), (2, 4)]), (1, 6, [(1, 2), (2, 4), (4, 6)]),
    (2, 3, [(2, 3)]), (2, 8, [(2, 4), (4, 8)]),
    (3, 7, [(2, 3), (3, 4), (0, 2), (4, 7)]), (4, 7, [(4, 7)]),
    (5, 7, [(4, 5), (5, 6), (6, 7), (0, 4)]), (6, 7, [(4, 6), (6, 7), (0, 4)]),
    (7, 8, [(6, 7), (7, 8), (4, 6), (0, 4)]),
    (2, 4, [(2, 4)]), (3, 5, [(2, 3), (3, 4), (0, 2), (4, 5)]),
    (3, 6, [(2, 3), (3, 4), (0, 2), (4, 6)]), (4, 6, [(4, 6)]),
    (1, 7, [(1, 2), (2, 4), (4, 7)]),
    (10, 15, [(8, 10), (10, 12), (12, 15), (0, 8)]),
    (24, 31, [(16, 24), (24, 31), (0, 16)]),
    (81, 95, [(80, 81), (81, 82), (82, 84), (84, 88), (88, 95), (64, 80), (0, 64)]),
]


def _entries(n: int) -> list[bytes]:
    return [f"leaf {i}".encode() for i in range(n)]


@pytest.mark.parametrize("size,index,ranges", STRUCTURE_INCLUSION)
def test_inclusion_structure_vectors(size, index, ranges):
    entries = _entries(size)
    want = [mth(entries[a:b]) for a, b in ranges]
    assert MerkleTree.from_entries(entries).inclusion_proof(index) == want


@pytest.mark.parametrize("first,second,ranges", STRUCTURE_CONSISTENCY)
def test_consistency_structure_vectors(first, second, ranges):
    entries = _entries(second)
    want = [mth(entries[a:b]) for a, b in ranges]
    tree = MerkleTree.from_entries(entries)
    assert tree.consistency_proof(first) == want
    merkle.verify_consistency(first, second, mth(entries[:first]), tree.root(), want)


# ------------------------------------------------------------------------------ consistency
def corrupt_consistency(size1, size2, root1, root2, proof):
    """The probes of corruptConsistencyProof (proof/verify_test.go); all must be rejected."""
    probes = [
        (size1 - 1, size2, root1, root2, proof, "size1 - 1"),
        (size1 + 1, size2, root1, root2, proof, "size1 + 1"),
        (size1 ^ 2, size2, root1, root2, proof, "size1 ^ 2"),
        (size1, size2 * 2, root1, root2, proof, "size2 * 2"),
        (size1, size2 // 2, root1, root2, proof, "size2 / 2"),
        (size1, size2, b"WrongRoot", root2, proof, "wrong root1"),
        (size1, size2, root1, b"WrongRoot", proof, "wrong root2"),
        (size1, size2, root2, root1, proof, "swapped roots"),
        (size1, size2, root1, root2, [], "empty proof"),
        (size1, size2, root1, root2, proof + [b""], "trailing garbage"),
        (size1, size2, root1, root2, proof + [root1], "trailing root1"),
        (size1, size2, root1, root2, proof + [root2], "trailing root2"),
        (size1, size2, root1, root2, [b""] + proof, "preceding garbage"),
        (size1, size2, root1, root2, [root1] + proof, "preceding root1"),
        (size1, size2, root1, root2, [root2] + proof, "preceding root2"),
        (size1, size2, root1, root2, [proof[0]] + proof, "preceding proof[0]"),
    ]
    if proof:
        probes.append((size1, size2, root1, root2, proof[:-1], "truncated proof"))
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = bytes([bad[i][0] ^ 16]) + bad[i][1:]
        probes.append((size1, size2, root1, root2, bad, f"modified proof[{i}] bit 4"))
    return probes


@pytest.mark.parametrize("size1,size2,proof_hex", CONSISTENCY)
def test_consistency_vectors(size1, size2, proof_hex):
    proof = [dh(h) for h in proof_hex]
    root1, root2 = ROOTS[size1 - 1], ROOTS[size2 - 1]
    assert MerkleTree.from_entries(LEAVES[:size2]).consistency_proof(size1) == proof
    merkle.verify_consistency(size1, size2, root1, root2, proof)
    if not proof:  # the Go test probes only non-trivial proofs
        return
    for s1, s2, r1, r2, p, desc in corrupt_consistency(size1, size2, root1, root2, proof):
        with pytest.raises(ProofError):
            merkle.verify_consistency(s1, s2, r1, r2, p)
            pytest.fail(f"probe accepted: {desc}")


def test_consistency_edge_cases():
    """TestVerifyConsistency's fixed cases (with real 32-byte hashes in place of the Go test's
    'don't care' strings, since this verifier requires SHA-256-sized hashes)."""
    r1, r2 = hashlib.sha256(b"1").digest(), hashlib.sha256(b"2").digest()
    e = bytes.fromhex(EMPTY)
    ok = [(0, 0, r1, r1, []), (0, 1, r1, r2, []), (1, 1, r2, r2, [])]
    bad = [(0, 0, r1, r2, []), (1, 1, r1, r2, []), (1, 0, r1, r2, []), (2, 1, r1, r2, []),
           (1, 2, r1, r2, []), (0, 0, e, r2, []), (1, 1, e, r2, []),
           (0, 0, e, e, [e]), (0, 1, e, e, [e]), (1, 1, e, e, [e])]
    for args in ok:
        merkle.verify_consistency(*args)
    for args in bad:
        with pytest.raises(ProofError):
            merkle.verify_consistency(*args)


@pytest.mark.parametrize("size", [1, 2, 4, 8, 16, 32, 64])
def test_powers_of_two(size):
    """Edge cases at powers of two: the old root is prepended by the verifier (step 2)."""
    entries = _entries(2 * size + 1)
    tree = MerkleTree.from_entries(entries)
    for second in (size, size + 1, 2 * size, 2 * size + 1):
        proof = tree.consistency_proof(size, second)
        assert proof == rfc_subproof(size, entries[:second], True)
        merkle.verify_consistency(size, second, mth(entries[:size]), mth(entries[:second]),
                                  proof)
    for i in (0, size - 1):
        proof = tree.inclusion_proof(i, size)
        assert len(proof) == size.bit_length() - 1
        merkle.verify_inclusion(i, size, merkle.leaf_hash(entries[i]), proof,
                                mth(entries[:size]))


# ------------------------------------------------------------------------------ properties
@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=1, max_value=70), st.data())
def test_every_proof_of_random_trees_matches_the_rfc(n, data):
    entries = [data.draw(st.binary(max_size=6)) + bytes([i % 256]) for i in range(n)]
    tree = MerkleTree.from_entries(entries)
    root = mth(entries)
    assert tree.root() == root
    for i in range(n):
        proof = tree.inclusion_proof(i)
        assert proof == rfc_path(i, entries)
        merkle.verify_inclusion(i, n, merkle.leaf_hash(entries[i]), proof, root)
    for m in range(1, n):
        proof = tree.consistency_proof(m)
        assert proof == rfc_subproof(m, entries, True)
        merkle.verify_consistency(m, n, mth(entries[:m]), root, proof)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=2, max_value=40), st.data())
def test_any_single_bit_flip_in_a_proof_is_rejected(n, data):
    entries = _entries(n)
    tree = MerkleTree.from_entries(entries)
    i = data.draw(st.integers(0, n - 1))
    proof = tree.inclusion_proof(i)
    if proof:
        k = data.draw(st.integers(0, len(proof) - 1))
        bit = data.draw(st.integers(0, 255))
        bad = list(proof)
        bad[k] = bytearray(bad[k])
        bad[k][bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(ProofError):
            merkle.verify_inclusion(i, n, merkle.leaf_hash(entries[i]), [bytes(b) for b in bad],
                                    tree.root())
    m = data.draw(st.integers(1, n - 1))
    cproof = tree.consistency_proof(m)
    k = data.draw(st.integers(0, len(cproof) - 1))
    bad = list(cproof)
    bad[k] = bytes([bad[k][0] ^ 1]) + bad[k][1:]
    with pytest.raises(ProofError):
        merkle.verify_consistency(m, n, tree.root(m), tree.root(), bad)
