"""Merkle trees exactly as RFC 6962 §2.1 / RFC 9162 §2.1, over SHA-256.

The evidence log is an append-only list of records; its tree hash commits to every record
and its order. With ``D[a:b]`` the leaves ``a`` to ``b - 1``::

    leaf_hash(d)  = SHA-256(0x00 || d)
    node_hash(l, r) = SHA-256(0x01 || l || r)
    MTH({})       = SHA-256("")                       (the empty tree)
    MTH(D[0:1])   = leaf_hash(d0)
    MTH(D[0:n])   = node_hash(MTH(D[0:k]), MTH(D[k:n]))   k = largest power of two < n

The 0x00/0x01 prefixes keep a leaf from ever passing for a node. Every left subtree is
*perfect* (2**j leaves); only the right edge of the tree is ragged.

**Proofs.** An inclusion proof (audit path, RFC 6962 §2.1.1) lists, bottom-up, the hashes
of the siblings on the way from one leaf to the root. A consistency proof (§2.1.2) lists
the subtree hashes that let a verifier rebuild both the old root and the new root, showing
the old tree is a prefix of the new one. The verifiers are RFC 9162 §2.1.3.2 and §2.1.4.2
to the letter; they never raise and answer ``False`` to anything malformed.

**Two ways to make proofs.**

- Over a list of leaf hashes (``root``, ``inclusion_proof``, ``consistency_proof``): O(n),
  for tests, the auditor recomputing a downloaded log, and small trees.
- Over stored *perfect subtree* hashes (the ``*_from`` functions), for the gateway's log
  store. Node ``(level, index)`` is the root of the perfect subtree over leaves
  ``[index * 2**level, (index + 1) * 2**level)``; it never changes once complete, so a
  store keeps each one as the leaf that completes it is appended (``nodes_completed_by``)
  and answers ``get(level, index)``. Any RFC 6962 subtree ``[lo, hi)`` is a run of at most
  ``log2(n)`` such nodes (the binary digits of ``hi - lo``), so a root or a proof costs
  O(log n) reads and never rehashes the log. ``MemoryTree`` is such a store in a dict.

Verifier policy (from the transparency-dev/merkle probes in ``merkle_vectors.json``, which
go a little beyond the RFC): a consistency proof from size 0 is rejected, even 0 → 0 (any
tree extends the empty tree, so the protocol layer answers that case without a proof);
for equal sizes the proof must be empty and the roots byte-equal; leaf hashes, proof hashes
and roots must be 32 bytes, except that the equal-sizes case compares the roots as given.

Note that an inclusion or consistency proof does not authenticate the tree *size* on its
own: a proof for size ``n`` may also verify for another size whose proof has the same shape
(e.g. leaf 0 of 3 and of 4). Size and root must come together from one signed checkpoint.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

#: Bytes in a SHA-256 hash: every leaf hash, node hash, root and proof element.
HASH_SIZE = 32

#: MTH({}): the root of the empty tree, SHA-256 of nothing.
EMPTY_ROOT = hashlib.sha256(b"").digest()

#: Reads the stored hash of perfect node ``(level, index)``.
NodeGetter = Callable[[int, int], bytes]


def leaf_hash(data: bytes) -> bytes:
    """The hash of a leaf: ``SHA-256(0x00 || data)``."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an interior node: ``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly less than ``n`` (n >= 2): where MTH splits."""
    return 1 << ((n - 1).bit_length() - 1)


# --- over a list of leaf hashes ------------------------------------------------------------


def _range_root(leaf_hashes: Sequence[bytes], lo: int, hi: int) -> bytes:
    """MTH(D[lo:hi]) for ``lo < hi``, level by level.

    Pairing neighbours and carrying an odd last node up unchanged builds the same tree as
    the recursive definition (left subtrees perfect, the ragged edge on the right), in O(n)
    hashes and without recursion.
    """
    level = list(leaf_hashes[lo:hi])
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH(D[0:n]): the root of the tree over ``leaf_hashes`` (``EMPTY_ROOT`` for none)."""
    if not leaf_hashes:
        return EMPTY_ROOT
    return _range_root(leaf_hashes, 0, len(leaf_hashes))


def inclusion_proof(index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """PATH(index, D[0:n]) of RFC 6962 §2.1.1: sibling hashes, leaf's sibling first.

    Descends from the root: at each split the leaf is in one half and the other half's
    root is a proof element. Raises ``ValueError`` unless ``0 <= index < n``.
    """
    return _inclusion_path(index, len(leaf_hashes), lambda lo, hi: _range_root(leaf_hashes, lo, hi))


def consistency_proof(size1: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """PROOF(size1, D[0:n]) of RFC 6962 §2.1.2, from the tree of ``size1`` leaves to all.

    Empty when ``size1 == n``. Raises ``ValueError`` unless ``0 < size1 <= n``: a proof
    from the empty tree means nothing (and ``verify_consistency`` rejects it).
    """
    return _consistency_path(
        size1, len(leaf_hashes), lambda lo, hi: _range_root(leaf_hashes, lo, hi)
    )


def _inclusion_path(index: int, size: int, subtree: Callable[[int, int], bytes]) -> list[bytes]:
    """PATH(index, D[0:size]) with ``subtree(lo, hi)`` giving MTH(D[lo:hi])."""
    _check_int(index, "index")
    _check_int(size, "size")
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is not in a tree of {size} leaves")
    path: list[bytes] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:  # PATH(m, D[lo:lo+k]) : MTH(D[lo+k:hi])
            path.append(subtree(lo + k, hi))
            hi = lo + k
        else:  # PATH(m - k, D[lo+k:hi]) : MTH(D[lo:lo+k])
            path.append(subtree(lo, lo + k))
            lo += k
    path.reverse()  # collected top-down; the RFC lists the leaf's sibling first
    return path


def _consistency_path(size1: int, size2: int, subtree: Callable[[int, int], bytes]) -> list[bytes]:
    """PROOF(size1, D[0:size2]) with ``subtree(lo, hi)`` giving MTH(D[lo:hi])."""
    _check_int(size1, "size1")
    _check_int(size2, "size2")
    if not 0 < size1 <= size2:
        raise ValueError(
            f"no consistency proof from {size1} to {size2} leaves: it needs 0 < size1 <= size2 "
            "(every tree extends the empty one, so size 0 needs no proof)"
        )
    path: list[bytes] = []
    # SUBPROOF(m, D[lo:hi], b), unrolled: m counts leaves of the old tree inside [lo, hi).
    lo, hi, m, whole_old_tree = 0, size2, size1, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:  # SUBPROOF(m, D[lo:lo+k], b) : MTH(D[lo+k:hi])
            path.append(subtree(lo + k, hi))
            hi = lo + k
        else:  # SUBPROOF(m - k, D[lo+k:hi], false) : MTH(D[lo:lo+k])
            path.append(subtree(lo, lo + k))
            lo, m, whole_old_tree = lo + k, m - k, False
    if not whole_old_tree:  # SUBPROOF(m, D[m], false) = {MTH(D[m])}
        path.append(subtree(lo, hi))
    path.reverse()
    return path


def _check_int(value: object, name: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")


# --- verifiers -----------------------------------------------------------------------------


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == HASH_SIZE


def _is_proof(proof: object) -> bool:
    return isinstance(proof, list | tuple) and all(_is_hash(p) for p in proof)


def verify_inclusion(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes
) -> bool:
    """Whether ``proof`` shows leaf ``index`` with ``leaf_hash`` in the tree (``size``, ``root``).

    RFC 9162 §2.1.3.2: walk up from the leaf with ``fn`` (the node's index) and ``sn`` (the
    last index at that level); a proof element goes on the left when ``fn`` is a right
    child or the last node of its level, which then climbs past levels where it has no
    sibling. The proof must be used up exactly when ``sn`` reaches 0. The expected length
    (``inner`` levels below the split from the right edge, plus one per left sibling above)
    is checked first, so a huge proof costs nothing. ``proof`` is a list or tuple of 32-byte
    ``bytes``; anything else is ``False``. Never raises.
    """
    if not (_is_count(index) and _is_count(size) and _is_hash(leaf_hash) and _is_hash(root)):
        return False
    if index >= size or not _is_proof(proof):
        return False
    inner = (index ^ (size - 1)).bit_length()
    if len(proof) != inner + (index >> inner).bit_count():
        return False
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:  # pragma: no cover - ruled out by the length check; RFC step kept
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether ``proof`` shows tree (``size1``, ``root1``) is a prefix of (``size2``, ``root2``).

    RFC 9162 §2.1.4.2: the first element (or ``root1`` itself when ``size1`` is a power of
    two) is the largest perfect subtree at the old tree's right edge; folding the remaining
    elements in rebuilds ``root1`` (from the elements left of the old edge) and ``root2``
    (from all of them) at once. Policy for the edge cases, as the vectors encode it:
    ``size1 == 0`` is rejected, equal sizes need an empty proof and byte-equal roots.
    Never raises.
    """
    if not (_is_count(size1) and _is_count(size2)) or not 0 < size1 <= size2:
        return False
    if size1 == size2:
        return (
            isinstance(proof, list | tuple)
            and not proof
            and isinstance(root1, bytes)
            and root1 == root2
        )
    if not (_is_hash(root1) and _is_hash(root2) and _is_proof(proof)) or not proof:
        return False

    shift = (size1 & -size1).bit_length() - 1  # trailing zeros: the edge subtree's level
    inner = ((size1 - 1) ^ (size2 - 1)).bit_length() - shift
    border = ((size1 - 1) >> (inner + shift)).bit_count()
    seeded = size1 == 1 << shift  # size1 is a power of two: root1 is the seed
    if len(proof) != (0 if seeded else 1) + inner + border:
        return False

    path = [root1, *proof] if seeded else list(proof)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:  # pragma: no cover - ruled out by the length check; RFC step kept
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == root1 and sr == root2


# --- over stored perfect subtrees ----------------------------------------------------------


def nodes_completed_by(
    leaf_index: int, leaf_hash: bytes, get: NodeGetter
) -> list[tuple[int, int, bytes]]:
    """The perfect nodes ``(level, index, hash)`` that appending leaf ``leaf_index`` completes.

    Always the leaf itself ``(0, leaf_index)``; then, while the node just completed is a
    right child (odd index), its parent, hashed with the left sibling read from ``get``.
    Leaf ``i`` completes ``1 + (trailing one bits of i)`` nodes: amortized two per append.
    """
    _check_int(leaf_index, "leaf_index")
    if leaf_index < 0:
        raise ValueError(f"leaf index {leaf_index} is negative")
    if not _is_hash(leaf_hash):
        raise ValueError(f"a leaf hash is {HASH_SIZE} bytes")
    completed = [(0, leaf_index, leaf_hash)]
    level, index, h = 0, leaf_index, leaf_hash
    while index & 1:
        h = node_hash(_read(get, level, index - 1), h)
        level, index = level + 1, index >> 1
        completed.append((level, index, h))
    return completed


def _read(get: NodeGetter, level: int, index: int) -> bytes:
    """``get(level, index)``, refusing what cannot be a stored hash (a corrupt store)."""
    value = get(level, index)
    if not _is_hash(value):
        raise ValueError(f"stored node ({level}, {index}) is not a {HASH_SIZE}-byte hash")
    return value


def _stored_subtree(get: NodeGetter) -> Callable[[int, int], bytes]:
    """MTH(D[lo:hi]) from perfect nodes, for the subtrees RFC 6962 trees are made of.

    Such a subtree starts at a multiple of the power of two at or above its width, so the
    binary digits of ``hi - lo``, largest first, name aligned perfect nodes covering it;
    folding them from the right is the recursive MTH split. One read per set bit.
    """

    def subtree(lo: int, hi: int) -> bytes:
        nodes: list[bytes] = []
        width, pos = hi - lo, lo
        for level in reversed(range(width.bit_length())):
            if width >> level & 1:
                nodes.append(_read(get, level, pos >> level))
                pos += 1 << level
        h = nodes.pop()
        while nodes:
            h = node_hash(nodes.pop(), h)
        return h

    return subtree


def root_from(size: int, get: NodeGetter) -> bytes:
    """The root of the tree's first ``size`` leaves from stored nodes: O(log n) reads."""
    _check_int(size, "size")
    if size < 0:
        raise ValueError(f"tree size {size} is negative")
    if size == 0:
        return EMPTY_ROOT
    return _stored_subtree(get)(0, size)


def inclusion_proof_from(index: int, size: int, get: NodeGetter) -> list[bytes]:
    """``inclusion_proof`` for the tree of ``size`` leaves, from stored nodes.

    Every sibling on the path is a perfect node (one read) except at most one that reaches
    the ragged right edge (one read per set bit of its width): O(log n) reads in all.
    """
    return _inclusion_path(index, size, _stored_subtree(get))


def consistency_proof_from(size1: int, size2: int, get: NodeGetter) -> list[bytes]:
    """``consistency_proof`` from ``size1`` to ``size2`` leaves, from stored nodes: O(log n)."""
    return _consistency_path(size1, size2, _stored_subtree(get))


class MemoryTree:
    """A store of perfect nodes in memory: the reference store, for tests and the auditor.

    Nodes of one level are completed left to right, so each level is one ``bytearray`` of
    32-byte hashes (about 64 bytes a leaf in all). Roots and proofs for any size up to the
    current one come from the same nodes, since a perfect node never changes.
    """

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._levels: list[bytearray] = []
        self._size = 0
        for h in leaf_hashes:
            self.append(h)

    @property
    def size(self) -> int:
        return self._size

    def get(self, level: int, index: int) -> bytes:
        """The stored perfect node; ``KeyError`` if it is not complete yet."""
        if 0 <= level < len(self._levels) and 0 <= index < len(self._levels[level]) // HASH_SIZE:
            return bytes(self._levels[level][index * HASH_SIZE : (index + 1) * HASH_SIZE])
        raise KeyError((level, index))

    def nodes(self) -> dict[tuple[int, int], bytes]:
        """Every stored node by ``(level, index)``."""
        return {
            (level, i): bytes(row[i * HASH_SIZE : (i + 1) * HASH_SIZE])
            for level, row in enumerate(self._levels)
            for i in range(len(row) // HASH_SIZE)
        }

    def append(self, leaf_hash: bytes) -> int:
        """Append one leaf hash; returns its index."""
        index = self._size
        for level, _, h in nodes_completed_by(index, leaf_hash, self.get):
            if level == len(self._levels):
                self._levels.append(bytearray())
            self._levels[level] += h  # the next node of this level, in index order
        self._size += 1
        return index

    def append_data(self, data: bytes) -> int:
        """Append a record (hashed with ``leaf_hash``); returns its index."""
        return self.append(leaf_hash(data))

    def root(self, size: int | None = None) -> bytes:
        return root_from(self._at(size), self.get)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        return inclusion_proof_from(index, self._at(size), self.get)

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        return consistency_proof_from(size1, self._at(size2), self.get)

    def _at(self, size: int | None) -> int:
        if size is None:
            return self._size
        _check_int(size, "size")
        if not 0 <= size <= self._size:
            raise ValueError(f"tree size {size} is not in 0..{self._size}")
        return size


# --- C2SP tlog-tiles and Go sumdb tile paths -----------------------------------------------

#: Hashes in a full C2SP tile (a tile is a subtree of height 8).
TILE_WIDTH = 256
TILE_HEIGHT = 8


def _encode_index(n: int) -> str:
    """``1234067`` → ``x001/x234/067``: three digits a path element, all but the last x-ed."""
    groups = [f"{n % 1000:03d}"]
    n //= 1000
    while n:
        groups.append(f"x{n % 1000:03d}")
        n //= 1000
    return "/".join(reversed(groups))


def tile_path(level: int, index: int, width: int | None = None) -> str:
    """The C2SP tlog-tiles path of a tile: ``tile/<L>/<N>[.p/<W>]``.

    ``width`` None or 256 names the full tile; 1 to 255 a partial one. Level ``L`` holds
    hashes of tree level ``8 L``: tile hash ``i`` of tile ``N`` at level ``L`` is perfect
    node ``(8 L, 256 N + i)``.
    """
    _check_int(level, "level")
    _check_int(index, "index")
    if not 0 <= level <= 63 or index < 0:
        raise ValueError(f"no tile at level {level}, index {index}")
    path = f"tile/{level}/{_encode_index(index)}"
    if width is None or width == TILE_WIDTH:
        return path
    _check_int(width, "width")
    if not 1 <= width < TILE_WIDTH:
        raise ValueError(f"a tile is 1 to {TILE_WIDTH} hashes wide, not {width}")
    return f"{path}.p/{width}"


def tile_counts(tree_size: int) -> list[tuple[int, int]]:
    """Per tile level, ``(full tiles, partial tile width or 0)`` of a tree of ``tree_size``.

    Level ``l`` holds one hash per complete subtree of ``256**l`` leaves, that is
    ``floor(size / 256**l)`` hashes: that many divided by 256 full tiles, and a partial
    tile of the remainder (0: none). Levels go up while ``size >= 256**l``.
    """
    _check_int(tree_size, "tree_size")
    counts: list[tuple[int, int]] = []
    hashes = tree_size  # hashes at this tile level: full subtrees of 256**l leaves
    while hashes:
        counts.append(divmod(hashes, TILE_WIDTH))
        hashes //= TILE_WIDTH
    return counts


def sumdb_tile_path(height: int, level: int, index: int, width: int) -> str:
    """A Go checksum-database tile path ``tile/<H>/<L>/<N>[.p/<W>]`` (golang.org/x/mod tlog).

    sumdb tiles carry their height ``H``; level ``-1`` is written ``data`` (record tiles).
    A tile is partial when ``width != 2**H``.
    """
    for value, name in ((height, "height"), (level, "level"), (index, "index"), (width, "width")):
        _check_int(value, name)
    if not 1 <= height <= 30 or level < -1 or index < 0 or not 1 <= width <= 1 << height:
        raise ValueError(f"no sumdb tile of height {height}, level {level}, width {width}")
    name = "data" if level == -1 else str(level)
    partial = "" if width == 1 << height else f".p/{width}"
    return f"tile/{height}/{name}/{_encode_index(index)}{partial}"


def parse_sumdb_tile_path(path: str) -> tuple[int, int, int, int]:
    """``(height, level, index, width)`` of a sumdb tile path; ``ValueError`` unless canonical.

    Parses leniently, then insists that writing the result back gives ``path`` exactly, which
    refuses leading zeros, missing or misplaced ``x``, signs and other second spellings.
    """
    bad = ValueError(f"malformed tile path {path!r}")
    parts = path.split("/")
    if len(parts) < 4 or parts[0] != "tile":
        raise bad
    try:
        height = int(parts[1])
        level = -1 if parts[2] == "data" else int(parts[2])
        width = 1 << height if 1 <= height <= 30 else 0
        groups = parts[3:]
        if groups[-1:] and len(groups) >= 2 and groups[-2].endswith(".p"):
            width = int(groups[-1])
            groups = [*groups[:-2], groups[-2][:-2]]
        index = 0
        for group in groups:
            index = index * 1000 + int(group.removeprefix("x"))
        canonical = sumdb_tile_path(height, level, index, width)
    except ValueError:
        raise bad from None
    if canonical != path:
        raise bad
    return height, level, index, width
