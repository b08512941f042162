"""Identifiers of the Vietnamese state, parsed strictly at the edge of every service.

One module per kind of identifier (DESIGN.md §2):

- ``personal``   — the 12-digit personal identification number (số định danh cá nhân);
- ``enterprise`` — the enterprise code / tax code (mã số doanh nghiệp), via python-stdnum;
- ``units``      — administrative units of the 2025 two-level system (34 provinces, 3,321
  communes), with the 63 legacy provinces and validity dates;
- ``parcel``     — land parcels: the 12-character GeoHash national id and the
  commune / map sheet / parcel number triple;
- ``xroad``      — X-Road client and service identifiers.

Every parser takes untrusted text and either returns a value or raises
``core.errors.InvalidIdentifier`` (400 ``client.bad_request``) whose message names the wrong
part. They never raise anything else, whatever the input: that is what lets an endpoint pass a
path segment straight to a parser and never answer 500. The ``make_*`` helpers build valid
identifiers from parts (seeds, tests) and raise ``ValueError`` on impossible parts, which is a
programming error rather than bad input.

The submodules are not imported here, so importing one identifier kind does not load the
3,321 communes.
"""

from __future__ import annotations

from core.errors import InvalidIdentifier

__all__ = ["InvalidIdentifier", "is_ascii_digits"]

_ASCII_DIGITS = frozenset("0123456789")


def is_ascii_digits(s: str) -> bool:
    """True when ``s`` is non-empty and made of the ASCII digits 0-9 only.

    ``str.isdigit`` is not enough: it accepts Arabic-Indic, full-width and superscript
    digits, which ``int()`` would then quietly turn into a different identifier.
    """
    return bool(s) and s.isascii() and s.isdigit()  # in ASCII, only 0-9 are digits
