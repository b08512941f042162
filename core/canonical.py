"""Canonical JSON: RFC 8785, the JSON Canonicalization Scheme (JCS).

Whatever is signed or hashed (requests, evidence log entries, checkpoints) is first turned
into one byte string that every implementation agrees on: object keys sorted by their UTF-16
code units, no insignificant whitespace, strings with the minimal escaping, numbers in
ECMAScript's shortest round-trip form (``1.0`` → ``1``, ``1e21`` → ``1e+21``), UTF-8.

We wrap ``rfc8785`` (Trail of Bits, maintained, typed) instead of writing our own: number
formatting is where home-made canonicalizers disagree, and a mismatch means signatures that
fail for no visible reason. The wrapper pins down the input domain and turns the library's
errors into ``ValueError``/``TypeError`` with a message saying what to do:

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

import rfc8785

#: The largest integer JCS can carry exactly (IEEE 754 double precision).
MAX_SAFE_INTEGER = 2**53 - 1


def _check(value: Any, path: str) -> None:
    """Walk ``value`` and reject what JCS cannot represent, naming where it is."""
    if value is None or isinstance(value, bool | str):
        return
    if isinstance(value, int):
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise ValueError(
                f"integer at {path} is outside ±(2**53-1); send it as a string instead"
            )
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} at {path} has no JSON representation")
        return
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check(item, f"{path}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"object key {key!r} at {path} is not a string")
            _check(item, f"{path}.{key}")
        return
    raise TypeError(
        f"{type(value).__name__} at {path} is not JSON; convert it first "
        "(dates to ISO strings, decimals to strings, bytes to base64)"
    )


def canonical_json(obj: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of a JSON-compatible value."""
    _check(obj, "$")
    try:
        return rfc8785.dumps(obj)
    except (rfc8785.CanonicalizationError, UnicodeError) as e:
        # What _check does not look for: strings (values or keys) with lone surrogates,
        # which UTF-8 cannot encode.
        raise ValueError(f"not canonicalizable: {e}") from e
