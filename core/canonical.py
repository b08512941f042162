"""Canonical JSON: RFC 8785, the JSON Canonicalization Scheme (JCS).

Whatever is signed or hashed (requests, evidence log entries, checkpoints) is first turned
into one byte string that every implementation agrees on: object keys sorted by their UTF-16
code units, no insignificant whitespace, strings with the minimal escaping, numbers in
ECMAScript's shortest round-trip form (``1.0`` → ``1``, ``1e21`` → ``1e+21``), UTF-8.

We wrap ``rfc8785`` (Trail of Bits, maintained, typed) instead of writing our own: number
formatting is where home-made canonicalizers disagree, and a mismatch means signatures that
fail for no visible reason. ``rfc8785`` is pure Python, though (~40 µs for an evidence
record, two records per exchange), so the bytes are written by ``orjson`` with sorted keys
whenever that is provably the same: every key ASCII (UTF-8 and UTF-16 order agree), floats
pre-rendered by ``rfc8785`` itself as ``orjson.Fragment``; orjson's string escaping is JCS's
(a property test holds the two outputs equal, ``tests/core/test_canonical.py``). Objects
with a non-ASCII key go through ``rfc8785``. The wrapper pins down the input domain and turns
the libraries' errors into ``ValueError``/``TypeError`` with a message saying what to do:

- NaN and ±Infinity have no JSON form: rejected.
- Integers must lie within ±(2**53 − 1), the range an IEEE double holds exactly; larger
  numbers (amounts in đồng are fine, but 64-bit ids are not) must travel as strings.
- Keys must be strings; values ``None``, ``bool``, ``int``, ``float``, ``str``, lists and
  dicts. Tuples are accepted as lists. Anything else (``date``, ``Decimal``, bytes) is a
  ``TypeError``: convert it deliberately (ISO date string, string amount, base64) first.
"""

from __future__ import annotations

import math
from typing import Any

import orjson
import rfc8785

#: The largest integer JCS can carry exactly (IEEE 754 double precision).
MAX_SAFE_INTEGER = 2**53 - 1


class _NeedsRfc8785(Exception):
    """A key orjson would order differently (non-ASCII): the slow, general path."""


def _prepare(value: Any, path: str) -> Any:
    """Walk ``value``, reject what JCS cannot represent (naming where), and return it ready
    for orjson: floats replaced by their JCS text, tuples by lists (copies only where a
    float was found)."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise ValueError(
                f"integer at {path} is outside ±(2**53-1); send it as a string instead"
            )
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} at {path} has no JSON representation")
        return orjson.Fragment(rfc8785.dumps(value))
    if isinstance(value, list | tuple):
        return [_prepare(item, f"{path}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"object key {key!r} at {path} is not a string")
            if not key.isascii():
                raise _NeedsRfc8785()
            out[key] = _prepare(item, f"{path}.{key}")
        return out
    raise TypeError(
        f"{type(value).__name__} at {path} is not JSON; convert it first "
        "(dates to ISO strings, decimals to strings, bytes to base64)"
    )


def _check(value: Any, path: str) -> None:
    """Walk ``value`` and reject what JCS cannot represent, naming where it is."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"object key {key!r} at {path} is not a string")
            _check(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check(item, f"{path}[{i}]")
    else:
        _prepare(value, path)


def canonical_json(obj: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of a JSON-compatible value."""
    try:
        prepared = _prepare(obj, "$")
    except _NeedsRfc8785:
        return _rfc8785(obj)
    try:
        return orjson.dumps(prepared, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError as e:
        # What _prepare does not look for: strings with lone surrogates, which UTF-8
        # cannot encode.
        raise ValueError(f"not canonicalizable: {e}") from e


def _rfc8785(obj: Any) -> bytes:
    _check(obj, "$")
    try:
        return rfc8785.dumps(obj)
    except (rfc8785.CanonicalizationError, UnicodeError) as e:
        # What _check does not look for: strings (values or keys) with lone surrogates,
        # which UTF-8 cannot encode.
        raise ValueError(f"not canonicalizable: {e}") from e
