"""RFC 6962 / RFC 9162 Merkle tree: hashes, proofs, and the RFC 9162 verifiers.

The log is the Certificate Transparency tree: a leaf is ``SHA-256(0x00 || entry)``, an inner
node ``SHA-256(0x01 || left || right)``, the empty tree ``SHA-256("")``, and a tree of ``n > 1``
leaves splits at ``k``, the largest power of two smaller than ``n`` (RFC 9162 section 2.1.1).

Proof *generation* (RFC 9162 sections 2.1.3.1 and 2.1.4.1) is written against a
``subtree_hash(start, end)`` callback so the same code serves the in-memory tree used by tests
and the site generator and the SQLite store, which keeps every complete ("perfect") subtree
hash. Proof *verification* transcribes RFC 9162 sections 2.1.3.2 and 2.1.4.2 step by step,
including the inner right-shift loops that several published snippets leave out; the step
numbers in the comments are the RFC's.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

from gep.errors import GepError

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

_sha256 = hashlib.sha256


class ProofError(GepError, ValueError):
    """A proof does not verify, or its parameters are out of range."""


def leaf_hash(entry: bytes) -> bytes:
    """``SHA-256(0x00 || entry)``: the 0x00 prefix keeps leaves apart from inner nodes."""
    return _sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``."""
    return _sha256(b"\x01" + left + right).digest()


def largest_power_of_two_below(n: int) -> int:
    """The RFC's ``k``: the largest power of two strictly smaller than ``n`` (n >= 2)."""
    if n < 2:
        raise ValueError("n must be at least 2")
    return 1 << ((n - 1).bit_length() - 1)


def perfect_ranges(start: int, end: int) -> list[tuple[int, int]]:
    """Split ``[start, end)`` into the (level, index) of its complete subtrees, largest first.

    For the ranges that occur in RFC 6962 trees (``start`` a multiple of the largest power of
    two not above ``end - start``) the tree hash of the range is the right-nested fold of these
    subtrees, which is what lets the store answer any proof from the perfect nodes it keeps.
    """
    out: list[tuple[int, int]] = []
    size = end - start
    off = start
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            if off % (1 << level):
                raise ValueError(f"range [{start}, {end}) is not aligned to the tree")
            out.append((level, off >> level))
            off += 1 << level
    return out


def fold_right(hashes: Sequence[bytes]) -> bytes:
    """``H(h0 || H(h1 || ... H(h_{k-2} || h_{k-1})))``: the tree hash of adjacent subtrees."""
    if not hashes:
        return EMPTY_ROOT
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


SubtreeHash = Callable[[int, int], bytes]


def inclusion_proof(index: int, size: int, subtree_hash: SubtreeHash) -> list[bytes]:
    """``PATH(index, D[size])`` of RFC 9162 section 2.1.3.1, leaf-side first."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = largest_power_of_two_below(end - start)
        if index < start + k:  # PATH(m, D[0:k]) : MTH(D[k:n])
            path.append(subtree_hash(start + k, end))
            end = start + k
        else:  # PATH(m - k, D[k:n]) : MTH(D[0:k])
            path.append(subtree_hash(start, start + k))
            start = start + k
    path.reverse()
    return path


def consistency_proof(first: int, second: int, subtree_hash: SubtreeHash) -> list[bytes]:
    """``PROOF(first, D[second])`` of RFC 9162 section 2.1.4.1.

    Defined there for ``0 < first < second``; for ``first == second`` and ``first == 0`` the
    proof is empty (as in transparency-dev/merkle), since nothing needs proving.
    """
    if not 0 <= first <= second:
        raise ProofError(f"no consistency proof from size {first} to size {second}")
    if first == 0 or first == second:
        return []
    path: list[bytes] = []
    start, end, m, b = 0, second, first, True
    while True:
        n = end - start
        if m == n:  # SUBPROOF(m, D[m], b)
            if not b:
                path.append(subtree_hash(start, end))
            break
        k = largest_power_of_two_below(n)
        if m <= k:  # SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
            path.append(subtree_hash(start + k, end))
            end = start + k
        else:  # SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
            path.append(subtree_hash(start, start + k))
            start, m, b = start + k, m - k, False
    path.reverse()
    return path


def _check_hash(name: str, value: bytes) -> None:
    if not isinstance(value, (bytes, bytearray)) or len(value) != HASH_SIZE:
        raise ProofError(f"{name} is not a {HASH_SIZE}-byte SHA-256 hash")


def root_from_inclusion_proof(leaf_index: int, tree_size: int, leaf: bytes,
                              inclusion_path: Sequence[bytes]) -> bytes:
    """Run RFC 9162 section 2.1.3.2 and return the root ``r`` it computes.

    Raises ``ProofError`` where the RFC says "fail" (before the final root comparison).
    """
    _check_hash("leaf hash", leaf)
    for i, p in enumerate(inclusion_path):
        _check_hash(f"inclusion_path[{i}]", p)
    # 1. Compare leaf_index from the inclusion_proof_v2 structure against tree_size. If
    #    leaf_index is greater than or equal to tree_size, then fail the proof verification.
    if leaf_index < 0 or leaf_index >= tree_size:
        raise ProofError(f"leaf index {leaf_index} is not below tree size {tree_size}")
    # 2. Set fn to leaf_index and sn to tree_size - 1.
    fn, sn = leaf_index, tree_size - 1
    # 3. Set r to hash.
    r = bytes(leaf)
    # 4. For each value p in the inclusion_path array:
    for p in inclusion_path:
        # a. If sn is 0, then stop the iteration and fail the proof verification.
        if sn == 0:
            raise ProofError("inclusion proof is longer than the tree is deep")
        # b. If LSB(fn) is set, or if fn is equal to sn, then:
        if fn & 1 or fn == sn:
            # i. Set r to HASH(0x01 || p || r).
            r = node_hash(p, r)
            # ii. If LSB(fn) is not set, then right-shift both fn and sn equally until
            #     either LSB(fn) is set or fn is 0.
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        # Otherwise:
        else:
            # i. Set r to HASH(0x01 || r || p).
            r = node_hash(r, p)
        # c. Finally, right-shift both fn and sn one time.
        fn >>= 1
        sn >>= 1
    # 5. Compare sn to 0. [...] If sn is equal to 0 and r and the root_hash are equal, then the
    #    log has proven the inclusion of hash. Otherwise, fail the proof verification.
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the tree is deep")
    return r


def verify_inclusion(leaf_index: int, tree_size: int, leaf: bytes,
                     inclusion_path: Sequence[bytes], root: bytes) -> None:
    """RFC 9162 section 2.1.3.2. Returns None when the proof holds, raises ``ProofError``."""
    _check_hash("root hash", root)
    r = root_from_inclusion_proof(leaf_index, tree_size, leaf, inclusion_path)
    if r != bytes(root):
        raise ProofError("inclusion proof leads to a different root hash")


def verify_consistency(first: int, second: int, first_hash: bytes, second_hash: bytes,
                       consistency_path: Sequence[bytes]) -> None:
    """RFC 9162 section 2.1.4.2 for ``0 < first < second``; raises ``ProofError``.

    The RFC defines the algorithm for ``0 < first < second`` only. Outside that range this
    follows transparency-dev/merkle: equal sizes need an empty proof and equal roots; an empty
    old tree is consistent with any tree and needs an empty proof; a shrinking tree fails.
    """
    _check_hash("first hash", first_hash)
    _check_hash("second hash", second_hash)
    for i, c in enumerate(consistency_path):
        _check_hash(f"consistency_path[{i}]", c)
    if _outside_rfc_range(first, second, first_hash, second_hash, consistency_path):
        return
    path = list(consistency_path)
    # 1. If consistency_path is an empty array, stop and fail the proof verification.
    if not path:
        raise ProofError("consistency proof is empty")
    # 2. If first is an exact power of 2, then prepend first_hash to the consistency_path array.
    if first & (first - 1) == 0:
        path.insert(0, bytes(first_hash))
    fr, sr, sn = _fold_consistency_path(first, second, path)
    # 7. [...] verify that the fr calculated is equal to the first_hash supplied, that the sr
    #    calculated is equal to the second_hash supplied, and that sn is 0.
    if sn != 0:
        raise ProofError("consistency proof is shorter than needed")
    if fr != bytes(first_hash):
        raise ProofError(f"consistency proof does not lead to the old root (size {first})")
    if sr != bytes(second_hash):
        raise ProofError(f"consistency proof does not lead to the new root (size {second})")


def _outside_rfc_range(first: int, second: int, first_hash: bytes, second_hash: bytes,
                       consistency_path: Sequence[bytes]) -> bool:
    """The cases outside ``0 < first < second`` (as transparency-dev/merkle): True when the
    proof holds, ``ProofError`` when it fails, False for the RFC's own algorithm."""
    if first < 0 or second < first:
        raise ProofError(f"tree size went from {first} down to {second}")
    if first == second:
        if consistency_path:
            raise ProofError("consistency proof between equal sizes must be empty")
        if bytes(first_hash) != bytes(second_hash):
            raise ProofError(f"two different root hashes for the same tree size {first}")
        return True
    if first == 0:
        if consistency_path:
            raise ProofError("consistency proof from the empty tree must be empty")
        return True
    return False


def _fold_consistency_path(first: int, second: int, path: list[bytes]
                           ) -> tuple[bytes, bytes, int]:
    """Steps 3 to 6 of RFC 9162 section 2.1.4.2: the old and new roots ``fr``, ``sr`` the
    path leads to, and ``sn`` (0 when the path had exactly the length needed)."""
    # 3. Set fn to first - 1 and sn to second - 1.
    fn, sn = first - 1, second - 1
    # 4. If LSB(fn) is set, then right-shift both fn and sn equally until LSB(fn) is not set.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5. Set both fr and sr to the first value in the consistency_path array.
    fr = sr = path[0]
    # 6. For each subsequent value c in the consistency_path array:
    for c in path[1:]:
        # a. If sn is 0, then stop the iteration and fail the proof verification.
        if sn == 0:
            raise ProofError("consistency proof is longer than needed")
        # b. If LSB(fn) is set, or if fn is equal to sn, then:
        if fn & 1 or fn == sn:
            # i. Set fr to HASH(0x01 || c || fr).
            fr = node_hash(c, fr)
            # ii. Set sr to HASH(0x01 || c || sr).
            sr = node_hash(c, sr)
            # iii. If LSB(fn) is not set, then right-shift both fn and sn equally until
            #      either LSB(fn) is set or fn is 0.
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        # Otherwise:
        else:
            # i. Set sr to HASH(0x01 || sr || c).
            sr = node_hash(sr, c)
        # c. Finally, right-shift both fn and sn one time.
        fn >>= 1
        sn >>= 1
    return fr, sr, sn


class MerkleTree:
    """An in-memory RFC 6962 tree over a list of leaf hashes, keeping every perfect node.

    ``levels[l][i]`` is the hash of the complete subtree of ``2**l`` leaves starting at leaf
    ``i * 2**l``; roots, inclusion and consistency proofs for any size up to ``len(leaves)``
    come from these in ``O(log n)`` node reads.
    """

    def __init__(self, leaf_hashes: Sequence[bytes] = ()):
        self.levels: list[list[bytes]] = [[]]
        for h in leaf_hashes:
            self.append_leaf_hash(h)

    @classmethod
    def from_entries(cls, entries: Sequence[bytes]) -> MerkleTree:
        return cls([leaf_hash(e) for e in entries])

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def append_leaf_hash(self, h: bytes) -> int:
        """Add a leaf hash; completes parents whose right child this leaf closes."""
        index = len(self.levels[0])
        self.levels[0].append(h)
        level, j = 0, index
        while j & 1:
            parent = node_hash(self.levels[level][j - 1], self.levels[level][j])
            level, j = level + 1, j >> 1
            if len(self.levels) == level:
                self.levels.append([])
            self.levels[level].append(parent)
        return index

    def node(self, level: int, index: int) -> bytes:
        return self.levels[level][index]

    def subtree_hash(self, start: int, end: int) -> bytes:
        return fold_right([self.node(lv, i) for lv, i in perfect_ranges(start, end)])

    def root(self, size: int | None = None) -> bytes:
        size = self.size if size is None else size
        if not 0 <= size <= self.size:
            raise ProofError(f"tree size {size} is beyond the {self.size} leaves held")
        return self.subtree_hash(0, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        size = self.size if size is None else size
        if size > self.size:
            raise ProofError(f"tree size {size} is beyond the {self.size} leaves held")
        return inclusion_proof(index, size, self.subtree_hash)

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        second = self.size if second is None else second
        if second > self.size:
            raise ProofError(f"tree size {second} is beyond the {self.size} leaves held")
        return consistency_proof(first, second, self.subtree_hash)
