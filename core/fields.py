"""``fields=`` selection, the same on every read of every registry.

``fields`` is a comma-separated list of top-level field names. Absent or empty means every
field the caller may see. A name the resource does not have is the caller's mistake: 400,
listing the unknown names and the available ones. Never silently trimmed.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from core.errors import UnknownFields

MAX_FIELDS_PARAM = 2000


def parse_fields(raw: str | Sequence[str] | None, available: Collection[str]) -> frozenset[str]:
    """The set of fields asked for, or all of ``available`` when ``raw`` is empty.

    ``raw`` may be one comma-separated string or several (a repeated query parameter).
    """
    if raw is None:
        return frozenset(available)
    if not isinstance(raw, str):
        raw = ",".join(raw)
    if len(raw) > MAX_FIELDS_PARAM:
        raise UnknownFields(["<too long>"], sorted(available))
    names = [n for n in (part.strip() for part in raw.split(",")) if n]
    if not names:  # "", " " or ",,": no name given, so nothing is narrowed
        return frozenset(available)
    unknown = sorted({n for n in names if n not in available})
    if unknown:
        raise UnknownFields(unknown, sorted(available))
    return frozenset(names)


def select(record: Mapping[str, Any], fields: Collection[str]) -> dict[str, Any]:
    """Only the selected top-level fields of ``record``, in the record's order."""
    return {k: v for k, v in record.items() if k in fields}
