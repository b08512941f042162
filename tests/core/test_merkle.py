"""RFC 6962/9162 Merkle trees: every public vector and probe, a naive reference, mutations.

The naive reference below is RFC 6962 §2.1 transcribed (MTH, PATH, SUBPROOF over slices of
the data, hashed with ``hashlib`` directly), so it shares no code with ``core.merkle``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import merkle
from core.merkle import (
    EMPTY_ROOT,
    MemoryTree,
    consistency_proof,
    consistency_proof_from,
    inclusion_proof,
    inclusion_proof_from,
    leaf_hash,
    node_hash,
    nodes_completed_by,
    root,
    root_from,
    verify_consistency,
    verify_inclusion,
)
from tests.fixtures.vectors import merkle_vectors


def vectors() -> dict[str, Any]:
    return merkle_vectors()


def h(hex_string: str) -> bytes:
    return bytes.fromhex(hex_string)


def hs(hex_strings: Sequence[str]) -> list[bytes]:
    return [bytes.fromhex(x) for x in hex_strings]


# --- the naive reference: RFC 6962 §2.1 ----------------------------------------------------


def ref_mth(d: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over the *data* entries, exactly as §2.1 defines it."""
    n = len(d)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = ref_k(n)
    return hashlib.sha256(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:])).digest()


def ref_k(n: int) -> int:
    """The largest power of two smaller than n."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_path_ranges(m: int, lo: int, hi: int) -> list[tuple[int, int]]:
    """PATH(m, D[lo:hi]) of §2.1.1, as the leaf ranges of its elements."""
    n = hi - lo
    if n == 1:
        return []
    k = ref_k(n)
    if m < k:
        return [*ref_path_ranges(m, lo, lo + k), (lo + k, hi)]
    return [*ref_path_ranges(m - k, lo + k, hi), (lo, lo + k)]


def ref_subproof_ranges(m: int, lo: int, hi: int, b: bool) -> list[tuple[int, int]]:
    """SUBPROOF(m, D[lo:hi], b) of §2.1.2, as the leaf ranges of its elements."""
    n = hi - lo
    if m == n:
        return [] if b else [(lo, hi)]
    k = ref_k(n)
    if m <= k:
        return [*ref_subproof_ranges(m, lo, lo + k, b), (lo + k, hi)]
    return [*ref_subproof_ranges(m - k, lo + k, hi, False), (lo, lo + k)]


def ref_path(m: int, d: Sequence[bytes]) -> list[bytes]:
    return [ref_mth(d[a:b]) for a, b in ref_path_ranges(m, 0, len(d))]


def ref_proof(m: int, d: Sequence[bytes]) -> list[bytes]:
    return [ref_mth(d[a:b]) for a, b in ref_subproof_ranges(m, 0, len(d), True)]


def inclusion_shape(index: int, size: int) -> tuple[bool, ...]:
    """Which side each proof element joins on (True: left). A verifier's result for a proof
    depends on (index, size) only through this shape."""
    return tuple(a < index for a, _ in ref_path_ranges(index, 0, size))


def consistency_shape(size1: int, size2: int) -> tuple[bool, tuple[bool, ...]]:
    """Whether root1 seeds the proof, and for each later element whether it lies left of the
    seed (folded into both roots) or right (into the new root only)."""
    ranges = ref_subproof_ranges(size1, 0, size2, True)
    seeded = size1 & (size1 - 1) == 0
    seed_lo = 0 if seeded else ranges[0][0]
    rest = ranges if seeded else ranges[1:]
    return seeded, tuple(b <= seed_lo for _, b in rest)


@cache
def world(n: int) -> tuple[list[bytes], list[bytes], MemoryTree]:
    """n distinct data entries, their leaf hashes, and a MemoryTree over them (read only)."""
    data = [f"record {i}".encode() for i in range(n)]
    hashes = [hashlib.sha256(b"\x00" + x).digest() for x in data]
    return data, hashes, MemoryTree(hashes)


# --- published vectors ---------------------------------------------------------------------


def test_hasher_vectors() -> None:
    v = vectors()["hasher"]
    assert EMPTY_ROOT.hex() == v["empty_tree_root"] == vectors()["reference_tree_8"]["roots"]["0"]
    assert root([]) == EMPTY_ROOT
    assert len(v["leaf_hashes"]) == 4
    for case in v["leaf_hashes"]:
        assert leaf_hash(h(case["leaf_hex"])).hex() == case["leaf_hash"]
    assert len(v["node_hashes"]) == 2
    for case in v["node_hashes"]:  # children need not be 32 bytes
        assert node_hash(h(case["left"]), h(case["right"])).hex() == case["node_hash"]
    sumdb = vectors()["sumdb"]["record_hash_hello_world"]
    assert leaf_hash(sumdb["data_utf8"].encode()).hex() == sumdb["leaf_hash_hex"]


def test_reference_tree_8_roots_of_every_prefix_from_list_and_store() -> None:
    tree8 = vectors()["reference_tree_8"]
    leaves = [leaf_hash(h(x)) for x in tree8["leaves_hex"]]
    assert [x.hex() for x in leaves] == tree8["leaf_hashes"]
    store = MemoryTree(leaves)
    assert len(tree8["roots"]) == 9
    for n, expected in tree8["roots"].items():
        assert root(leaves[: int(n)]).hex() == expected
        assert store.root(int(n)).hex() == expected
        assert root_from(int(n), store.get).hex() == expected


def test_reference_tree_8_stored_nodes_are_the_published_levels() -> None:
    tree8 = vectors()["reference_tree_8"]
    store = MemoryTree(hs(tree8["leaf_hashes"]))
    expected = {
        (int(level), i): h(x)
        for level, row in tree8["node_hashes_by_level"].items()
        for i, x in enumerate(row)
    }
    assert store.nodes() == expected


def test_published_inclusion_proofs() -> None:
    tree8 = vectors()["reference_tree_8"]
    store = MemoryTree(hs(tree8["leaf_hashes"]))
    cases = vectors()["inclusion_proofs"]
    assert len(cases) == 5
    for case in cases:
        index, size, path = case["leaf_index"], case["tree_size"], hs(case["path"])
        leaves = hs(tree8["leaf_hashes"][:size])
        assert inclusion_proof(index, leaves) == path
        assert store.inclusion_proof(index, size) == path
        lh = leaf_hash(h(case["leaf_hex"]))
        assert lh == leaves[index]
        assert verify_inclusion(index, size, lh, path, h(case["root"]))


@pytest.mark.parametrize("section", ["consistency_proofs", "consistency_proofs_ct_python"])
def test_published_consistency_proofs(section: str) -> None:
    tree8 = vectors()["reference_tree_8"]
    store = MemoryTree(hs(tree8["leaf_hashes"]))
    cases = vectors()[section]
    assert len(cases) == {"consistency_proofs": 5, "consistency_proofs_ct_python": 4}[section]
    for case in cases:
        size1, size2, path = case["size1"], case["size2"], hs(case["path"])
        assert consistency_proof(size1, hs(tree8["leaf_hashes"][:size2])) == path
        assert store.consistency_proof(size1, size2) == path
        assert h(case["root1"]) == store.root(size1)
        assert h(case["root2"]) == store.root(size2)
        assert verify_consistency(size1, size2, h(case["root1"]), h(case["root2"]), path)


def test_large_tree_inclusion_of_a_real_ct_entry() -> None:
    case = vectors()["large_tree_inclusion"]
    lh = leaf_hash(h(case["leaf_hex"]))
    assert lh.hex() == case["leaf_hash"]
    path = hs(case["path"])
    assert len(path) == 22
    args = (case["leaf_index"], case["tree_size"])
    assert verify_inclusion(*args, lh, path, h(case["root"]))
    assert not verify_inclusion(
        case["leaf_index"] + 1, case["tree_size"], lh, path, h(case["root"])
    )
    assert not verify_inclusion(*args, lh, path[::-1], h(case["root"]))


def test_probe_counts() -> None:
    probes = vectors()["verifier_probes"]
    assert len(probes["inclusion"]) == 98
    assert len(probes["consistency"]) == 98
    assert len(probes["inclusion"]) + len(probes["consistency"]) == 196
    wanted_ok = [p for kind in ("inclusion", "consistency") for p in probes[kind]]
    assert sum(not p["want_error"] for p in wanted_ok) == 12


def _probes(kind: str) -> list[Any]:
    return [pytest.param(p, id=p["file"]) for p in vectors()["verifier_probes"][kind]]


@pytest.mark.parametrize("probe", _probes("inclusion"))
def test_inclusion_probe(probe: dict[str, Any]) -> None:
    ok = verify_inclusion(
        probe["leaf_index"],
        probe["tree_size"],
        h(probe["leaf_hash"]),
        hs(probe["path"]),
        h(probe["root"]),
    )
    assert ok is not probe["want_error"]


@pytest.mark.parametrize("probe", _probes("consistency"))
def test_consistency_probe(probe: dict[str, Any]) -> None:
    ok = verify_consistency(
        probe["size1"], probe["size2"], h(probe["root1"]), h(probe["root2"]), hs(probe["path"])
    )
    assert ok is not probe["want_error"]


def test_derived_all_proofs_of_reference_tree_8() -> None:
    tree8 = vectors()["reference_tree_8"]
    leaves = hs(tree8["leaf_hashes"])
    store = MemoryTree(leaves)
    roots = {int(n): h(r) for n, r in tree8["roots"].items()}
    derived = vectors()["derived_reference_tree_8_all_proofs"]
    assert len(derived["inclusion"]) == 36
    assert len(derived["consistency"]) == 36
    for case in derived["inclusion"]:
        index, size, path = case["leaf_index"], case["tree_size"], hs(case["path"])
        assert inclusion_proof(index, leaves[:size]) == path
        assert inclusion_proof_from(index, size, store.get) == path
        assert verify_inclusion(index, size, leaves[index], path, roots[size])
    for case in derived["consistency"]:
        size1, size2, path = case["size1"], case["size2"], hs(case["path"])
        assert consistency_proof(size1, leaves[:size2]) == path
        assert consistency_proof_from(size1, size2, store.get) == path
        assert verify_consistency(size1, size2, roots[size1], roots[size2], path)


# --- verifiers never raise -----------------------------------------------------------------

_R8 = bytes(32)
_BAD_INCLUSION: list[tuple[Any, ...]] = [
    (-1, 1, _R8, [], _R8),
    (0, -1, _R8, [], _R8),
    (0, 0, _R8, [], _R8),  # index >= size
    (5, 5, _R8, [], _R8),
    (True, 2, _R8, [_R8], _R8),  # bools are not indices
    (0, True, _R8, [], _R8),
    (0.0, 1, _R8, [], _R8),
    ("0", 1, _R8, [], _R8),
    (None, 1, _R8, [], _R8),
    (0, 1, bytearray(_R8), [], _R8),
    (0, 1, _R8, [], bytearray(_R8)),
    (0, 1, _R8[:31], [], _R8),
    (0, 1, _R8 + b"\x00", [], _R8),
    (0, 1, _R8, [], _R8[:31]),
    (0, 1, _R8, [], b""),
    (0, 1, "00" * 32, [], _R8),
    (0, 2, _R8, b"", _R8),  # bytes is a sequence, not a proof
    (0, 2, _R8, _R8, _R8),
    (0, 2, _R8, "", _R8),
    (0, 2, _R8, None, _R8),
    (0, 2, _R8, iter([_R8]), _R8),
    (0, 2, _R8, [_R8[:31]], _R8),
    (0, 2, _R8, [_R8.hex()], _R8),
    (0, 2, _R8, [None], _R8),
    (0, 2**64, _R8, [_R8] * 100_000, _R8),  # rejected by length before any hashing
]
_BAD_CONSISTENCY: list[tuple[Any, ...]] = [
    (0, 0, EMPTY_ROOT, EMPTY_ROOT, []),  # size1 == 0, policy
    (0, 1, EMPTY_ROOT, _R8, [_R8]),
    (2, 1, _R8, _R8, []),
    (-1, 1, _R8, _R8, []),
    (1, -1, _R8, _R8, []),
    (True, True, _R8, _R8, []),
    (1, 1, _R8, b"\x01" * 32, []),  # the roots differ
    (1, 1, _R8, _R8, [_R8]),
    (1, 1, _R8, _R8, b""),
    (1, 1, _R8, _R8, None),
    (1, 1, "x", "x", []),
    (1, 2, _R8, _R8, []),
    (1, 2, _R8[:31], _R8, [_R8]),
    (1, 2, _R8, _R8 + b"\x00", [_R8]),
    (1, 2, _R8, _R8, [_R8[:31]]),
    (1, 2, _R8, _R8, _R8),
    (1, 2, _R8, _R8, "ab"),
    (1, 2, _R8, _R8, [1]),
    (1, 2**64, _R8, _R8, [_R8] * 100_000),
    (1.0, 2, _R8, _R8, [_R8]),
]


@pytest.mark.parametrize("args", _BAD_INCLUSION)
def test_verify_inclusion_rejects_malformed_input(args: tuple[Any, ...]) -> None:
    assert verify_inclusion(*args) is False


@pytest.mark.parametrize("args", _BAD_CONSISTENCY)
def test_verify_consistency_rejects_malformed_input(args: tuple[Any, ...]) -> None:
    assert verify_consistency(*args) is False


def test_equal_sizes_compare_roots_as_given_as_the_probes_require() -> None:
    # transparency-dev policy (see the vectors' note): equal sizes, empty proof, equal roots.
    assert verify_consistency(1, 1, b"don't care 2", b"don't care 2", [])
    assert verify_consistency(5, 5, _R8, _R8, ())  # a tuple is a proof too
    assert not verify_consistency(1, 1, b"don't care 1", b"don't care 2", [])


_anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.binary(max_size=40),
    st.text(max_size=5),
    st.lists(st.binary(min_size=31, max_size=33), max_size=4),
    st.lists(st.one_of(st.none(), st.integers(), st.text(max_size=3)), max_size=3),
)


@given(_anything, _anything, _anything, _anything, _anything)
def test_verifiers_never_raise(a: Any, b: Any, c: Any, d: Any, e: Any) -> None:
    assert verify_inclusion(a, b, c, d, e) in (True, False)
    assert verify_consistency(a, b, c, d, e) in (True, False)


# --- producers refuse bad arguments --------------------------------------------------------


def test_proof_makers_refuse_impossible_requests() -> None:
    _, hashes, store = world(5)
    with pytest.raises(ValueError, match="not in a tree"):
        inclusion_proof(5, hashes)
    with pytest.raises(ValueError, match="not in a tree"):
        inclusion_proof(-1, hashes)
    with pytest.raises(ValueError, match="not in a tree"):
        inclusion_proof(0, [])
    with pytest.raises(ValueError, match="size 0 needs no proof"):
        consistency_proof(0, hashes)
    with pytest.raises(ValueError, match="0 < size1 <= size2"):
        consistency_proof(6, hashes)
    with pytest.raises(ValueError, match="0 < size1 <= size2"):
        store.consistency_proof(3, 2)
    with pytest.raises(ValueError, match=r"not in 0\.\.5"):
        store.root(6)
    with pytest.raises(TypeError):
        inclusion_proof(True, hashes)
    with pytest.raises(ValueError, match="negative"):
        root_from(-1, store.get)
    with pytest.raises(KeyError):  # a node the store does not have (yet)
        inclusion_proof_from(0, 6, store.get)
    with pytest.raises(ValueError, match="negative"):
        nodes_completed_by(-1, hashes[0], store.get)


def test_a_corrupt_store_is_refused_not_hashed() -> None:
    def short(level: int, index: int) -> bytes:
        return b"\x00" * 31

    with pytest.raises(ValueError, match="not a 32-byte hash"):
        root_from(3, short)
    with pytest.raises(ValueError, match="not a 32-byte hash"):
        nodes_completed_by(1, bytes(32), short)
    with pytest.raises(ValueError, match="32 bytes"):
        MemoryTree([b"short"])


def test_append_completes_one_node_per_trailing_one_bit() -> None:
    _, hashes, store = world(64)
    rebuilt: dict[tuple[int, int], bytes] = {}
    for i, lh in enumerate(hashes):
        completed = nodes_completed_by(i, lh, lambda level, index: rebuilt[level, index])
        trailing_ones = (i ^ (i + 1)).bit_length() - 1
        assert len(completed) == 1 + trailing_ones
        assert completed[0] == (0, i, lh)
        for level, index, value in completed:
            rebuilt[level, index] = value
            assert (index + 1) << level == i + 1  # each ends exactly at the new leaf
    assert rebuilt == store.nodes()
    assert store.get(6, 0) == root(hashes)


def test_memory_tree_appends_records_and_reports_its_size() -> None:
    tree = MemoryTree()
    assert tree.size == 0
    assert tree.root() == EMPTY_ROOT
    assert tree.append_data(b"a") == 0
    assert tree.append(leaf_hash(b"b")) == 1
    assert tree.size == 2
    assert tree.root() == ref_mth([b"a", b"b"])
    assert tree.root(1) == ref_mth([b"a"])


# --- properties against the naive reference ------------------------------------------------


@st.composite
def tree_and_sizes(draw: st.DrawFn) -> tuple[int, int, int, int]:
    """A stored tree of n leaves, a past size s2 <= n, an index < s2 and a size1 <= s2."""
    n = draw(st.integers(min_value=1, max_value=300))
    s2 = draw(st.integers(min_value=1, max_value=n))
    index = draw(st.integers(min_value=0, max_value=s2 - 1))
    s1 = draw(st.integers(min_value=1, max_value=s2))
    return n, s2, index, s1


@given(tree_and_sizes())
def test_roots_and_proofs_agree_with_the_rfc_definitions(sizes: tuple[int, int, int, int]) -> None:
    n, s2, index, s1 = sizes
    data, hashes, store = world(n)
    d, lh = data[:s2], hashes[:s2]
    assert root(lh) == ref_mth(d) == store.root(s2)

    path = ref_path(index, d)
    assert inclusion_proof(index, lh) == path
    assert store.inclusion_proof(index, s2) == path
    assert verify_inclusion(index, s2, lh[index], path, ref_mth(d))

    proof = ref_proof(s1, d)
    assert consistency_proof(s1, lh) == proof
    assert store.consistency_proof(s1, s2) == proof
    assert verify_consistency(s1, s2, ref_mth(d[:s1]), ref_mth(d), proof)


def _flip_bit(value: bytes, bit: int) -> bytes:
    out = bytearray(value)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def _mutate_list(data: st.DataObject, proof: list[bytes], kind: str) -> list[bytes]:
    draw = data.draw
    proof = list(proof)
    if kind == "flip":
        i = draw(st.integers(0, len(proof) - 1))
        proof[i] = _flip_bit(proof[i], draw(st.integers(0, 255)))
    elif kind == "drop":
        del proof[draw(st.integers(0, len(proof) - 1))]
    elif kind == "add":
        extra = draw(
            st.one_of(st.binary(min_size=32, max_size=32), st.sampled_from(proof or [_R8]))
        )
        proof.insert(draw(st.integers(0, len(proof))), extra)
    else:  # swap
        i, j = draw(st.lists(st.integers(0, len(proof) - 1), min_size=2, max_size=2, unique=True))
        proof[i], proof[j] = proof[j], proof[i]
    return proof


@given(st.data())
def test_any_single_mutation_of_an_inclusion_proof_is_rejected(data: st.DataObject) -> None:
    n, s2, index, _ = data.draw(tree_and_sizes())
    _, hashes, store = world(n)
    size, lh, r = s2, hashes[index], store.root(s2)
    proof = store.inclusion_proof(index, size)
    kinds = ["add", "leaf", "root", "index", "size"]
    kinds += ["flip", "drop"] if proof else []
    kinds += ["swap"] if len(proof) >= 2 else []
    kind = data.draw(st.sampled_from(kinds))
    if kind in ("flip", "drop", "add", "swap"):
        assert not verify_inclusion(index, size, lh, _mutate_list(data, proof, kind), r)
    elif kind == "leaf":
        assert not verify_inclusion(
            index, size, _flip_bit(lh, data.draw(st.integers(0, 255))), proof, r
        )
    elif kind == "root":
        assert not verify_inclusion(
            index, size, lh, proof, _flip_bit(r, data.draw(st.integers(0, 255)))
        )
    elif kind == "index":
        other = data.draw(st.integers(-2, 2 * size).filter(lambda i: i != index))
        assert not verify_inclusion(other, size, lh, proof, r)
    else:
        # A proof does not bind the size: it also verifies for any size whose proofs have
        # the same shape (leaf 0 of 3 and of 4). Exactly those, and no other, are accepted.
        other = data.draw(st.integers(-1, 2 * size + 2).filter(lambda s: s != size))
        same_shape = 0 <= index < other and inclusion_shape(index, other) == inclusion_shape(
            index, size
        )
        assert verify_inclusion(index, other, lh, proof, r) is same_shape


@given(st.data())
def test_any_single_mutation_of_a_consistency_proof_is_rejected(data: st.DataObject) -> None:
    n, s2, _, s1 = data.draw(tree_and_sizes())
    _, _, store = world(n)
    r1, r2 = store.root(s1), store.root(s2)
    proof = store.consistency_proof(s1, s2)
    kinds = ["add", "root1", "root2", "size1", "size2"]
    kinds += ["flip", "drop"] if proof else []
    kinds += ["swap"] if len(proof) >= 2 else []
    kind = data.draw(st.sampled_from(kinds))
    bit = data.draw(st.integers(0, 255))
    if kind in ("flip", "drop", "add", "swap"):
        assert not verify_consistency(s1, s2, r1, r2, _mutate_list(data, proof, kind))
    elif kind == "root1":
        assert not verify_consistency(s1, s2, _flip_bit(r1, bit), r2, proof)
    elif kind == "root2":
        assert not verify_consistency(s1, s2, r1, _flip_bit(r2, bit), proof)
    else:
        # As for inclusion, sizes are bound by the checkpoint, not the proof: other sizes
        # pass exactly when their proofs have the same shape.
        other = data.draw(st.integers(-1, 2 * s2 + 2))
        m1, m2 = (other, s2) if kind == "size1" else (s1, other)
        if (m1, m2) == (s1, s2):
            return
        same_shape = (
            0 < m1 < m2 and s1 < s2 and consistency_shape(m1, m2) == consistency_shape(s1, s2)
        )
        assert verify_consistency(m1, m2, r1, r2, proof) is same_shape


def test_a_proof_does_not_bind_the_tree_size_on_its_own() -> None:
    # Documented RFC 6962 behaviour: (size, root) must come from one signed checkpoint.
    _, hashes, store = world(4)
    assert verify_inclusion(0, 4, hashes[0], store.inclusion_proof(0, 3), store.root(3))
    assert verify_consistency(2, 4, store.root(2), store.root(3), store.consistency_proof(2, 3))


# --- O(log n) reads from the store ---------------------------------------------------------


def _counting_store(size: int) -> tuple[Callable[[int, int], bytes], list[tuple[int, int]]]:
    """A store of a tree of ``size`` leaves that records reads and refuses incomplete nodes."""
    reads: list[tuple[int, int]] = []

    def get(level: int, index: int) -> bytes:
        assert level >= 0 and index >= 0
        assert (index + 1) << level <= size, f"node ({level}, {index}) is not complete"
        reads.append((level, index))
        return hashlib.sha256(f"{level}/{index}".encode()).digest()

    return get, reads


@given(
    st.integers(min_value=1, max_value=2**64 - 1).flatmap(
        lambda size: st.tuples(
            st.just(size),
            st.integers(min_value=0, max_value=size - 1),
            st.integers(min_value=1, max_value=size),
        )
    )
)
def test_store_proofs_read_o_log_n_complete_nodes(case: tuple[int, int, int]) -> None:
    size, index, size1 = case
    bits = size.bit_length()

    get, reads = _counting_store(size)
    root_from(size, get)
    assert len(reads) == size.bit_count()

    get, reads = _counting_store(size)
    path = inclusion_proof_from(index, size, get)
    assert len(path) <= bits
    assert len(reads) <= 2 * bits

    get, reads = _counting_store(size)
    proof = consistency_proof_from(size1, size, get)
    assert len(proof) <= 2 * bits
    assert len(reads) <= 3 * bits


def test_store_proofs_for_past_sizes_read_only_nodes_complete_then() -> None:
    _, hashes, store = world(300)
    for size in (1, 2, 3, 7, 100, 255, 256, 257, 299):
        get, _ = _counting_store(size)

        def guarded(level: int, index: int, get: Callable[[int, int], bytes] = get) -> bytes:
            get(level, index)  # asserts completeness within ``size``
            return store.get(level, index)

        assert root_from(size, guarded) == root(hashes[:size])
        for index in {0, size // 2, size - 1}:
            assert inclusion_proof_from(index, size, guarded) == inclusion_proof(
                index, hashes[:size]
            )
        for size1 in {1, size // 2 or 1, size}:
            assert consistency_proof_from(size1, size, guarded) == consistency_proof(
                size1, hashes[:size]
            )


# --- tile paths ----------------------------------------------------------------------------


def test_c2sp_tile_index_encoding_and_counts() -> None:
    tiles = vectors()["tlog_tiles"]
    example = tiles["index_encoding_example"]
    assert merkle.tile_path(0, example["N"]) == f"tile/0/{example['path_element']}"
    for name in ("tree_70000_example", "tree_256_example"):
        case = tiles[name]
        counts = merkle.tile_counts(case["tree_size"])
        expected = []
        level = 0
        while f"level{level}_full_tiles" in case:
            expected.append((case[f"level{level}_full_tiles"], case[f"level{level}_partial_width"]))
            level += 1
        assert counts == expected
    assert merkle.tile_counts(0) == []


def test_c2sp_tile_paths() -> None:
    assert merkle.tile_path(0, 0) == "tile/0/000"
    assert merkle.tile_path(0, 1, 5) == "tile/0/001.p/5"
    assert merkle.tile_path(2, 1000, 256) == "tile/2/x001/000"
    assert merkle.tile_path(1, 123456078, 17) == "tile/1/x123/x456/078.p/17"
    for bad in ((64, 0, None), (-1, 0, None), (0, -1, None), (0, 0, 0), (0, 0, 257)):
        with pytest.raises(ValueError):
            merkle.tile_path(*bad)


def test_sumdb_tile_paths_round_trip_and_refuse_second_spellings() -> None:
    sumdb = vectors()["sumdb"]
    assert len(sumdb["tile_paths"]) == 6
    for case in sumdb["tile_paths"]:
        fields = (case["H"], case["L"], case["N"], case["W"])
        assert merkle.sumdb_tile_path(*fields) == case["path"]
        assert merkle.parse_sumdb_tile_path(case["path"]) == fields
    assert len(sumdb["tile_paths_invalid"]) == 2
    others = [
        "tile/4/0/01",
        "tile/4/0/001.p/16",
        "tile/4/0/001.p/0",
        "tile/4/0/+01",
        "file/4/0/001",
    ]
    for path in [*sumdb["tile_paths_invalid"], *others, "tile/4/0", "tile/31/0/000"]:
        with pytest.raises(ValueError, match="malformed tile path"):
            merkle.parse_sumdb_tile_path(path)
