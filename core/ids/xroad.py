"""X-Road identifiers: who is calling (client) and what is called (service).

    client   INSTANCE/CLASS/MEMBER/SUBSYSTEM           VN/GOV/BCA/population
    service  INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE   VN/GOV/BCA/population/persons

These strings end up in URL paths, signed headers, access rules and the evidence log, so the
parser is deliberately narrow: each segment is 1-64 characters of ``A-Z a-z 0-9 . _ -``,
never ``.`` or ``..`` or containing ``..``; no ``/`` inside a segment, no ``%`` (so no
``%2F`` smuggling), no whitespace or control characters, nothing outside ASCII. The instance
is upper case (letters, then letters, digits or ``-``: ``VN``, ``VN-DEV``); the member class
is one of ``MEMBER_CLASSES``. What parses formats back to exactly the same string.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.errors import InvalidIdentifier

#: The member classes of the instance; a deployment with more edits this set.
MEMBER_CLASSES: frozenset[str] = frozenset({"GOV", "COM", "NGO", "ORG"})

MAX_SEGMENT_LENGTH = 64

#: The characters a segment may hold, as a regex (for OpenAPI ``pattern``s and docs); the
#: parser additionally rejects ``.`` and ``..``.
SEGMENT_PATTERN = r"[A-Za-z0-9._-]{1,64}"
_INSTANCE_RE = re.compile(r"[A-Z][A-Z0-9-]{0,63}")
_SEGMENT_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")


_SEGMENT_RE = re.compile(SEGMENT_PATTERN)


def _check_segment(kind: str, segment: str, value: object) -> None:
    """Raise ``InvalidIdentifier`` naming ``segment`` unless ``value`` is a valid segment."""
    if (
        isinstance(value, str)
        and _SEGMENT_RE.fullmatch(value) is not None
        and ".." not in value
        and value != "."
    ):
        return  # the common case, checked in one regex (ids are parsed on every request)
    what = segment.replace("_", " ")
    if not isinstance(value, str) or not value:
        raise InvalidIdentifier(
            f"X-Road {kind} id: {what} is empty", detail={"part": segment, "problem": "empty"}
        )
    if len(value) > MAX_SEGMENT_LENGTH:
        raise InvalidIdentifier(
            f"X-Road {kind} id: {what} is longer than {MAX_SEGMENT_LENGTH} characters",
            detail={"part": segment, "problem": "too_long"},
        )
    bad = next((i for i, c in enumerate(value) if c not in _SEGMENT_CHARS), None)
    if bad is not None:
        raise InvalidIdentifier(
            f"X-Road {kind} id: {what} has a character outside A-Z a-z 0-9 . _ - "
            f"at position {bad + 1}",
            detail={"part": segment, "problem": "charset", "position": bad + 1},
        )
    if value == "." or ".." in value:
        raise InvalidIdentifier(
            f"X-Road {kind} id: {what} must not be '.' or contain '..'",
            detail={"part": segment, "problem": "dots"},
        )


def _check_client_parts(
    kind: str, instance: object, member_class: object, member_code: object, subsystem: object
) -> None:
    _check_segment(kind, "instance", instance)
    if not isinstance(instance, str) or not _INSTANCE_RE.fullmatch(instance):
        raise InvalidIdentifier(
            f"X-Road {kind} id: instance must be upper case letters, digits or '-', "
            "starting with a letter (e.g. VN)",
            detail={"part": "instance", "problem": "charset"},
        )
    _check_segment(kind, "member_class", member_class)
    if member_class not in MEMBER_CLASSES:
        raise InvalidIdentifier(
            f"X-Road {kind} id: member class {member_class} is not one of "
            f"{', '.join(sorted(MEMBER_CLASSES))}",
            detail={"part": "member_class", "problem": "unknown", "value": member_class},
        )
    _check_segment(kind, "member_code", member_code)
    _check_segment(kind, "subsystem", subsystem)


@dataclass(frozen=True, slots=True)
class ClientId:
    """A subsystem of a member: the party that calls or provides services.

    Validated on construction, so every ``ClientId`` in the program is a valid one.
    """

    instance: str
    member_class: str
    member_code: str
    subsystem: str

    def __post_init__(self) -> None:
        _check_client_parts(
            "client", self.instance, self.member_class, self.member_code, self.subsystem
        )

    def __str__(self) -> str:
        return f"{self.instance}/{self.member_class}/{self.member_code}/{self.subsystem}"

    @property
    def member(self) -> str:
        """``INSTANCE/CLASS/MEMBER``: the organisation, without the subsystem."""
        return f"{self.instance}/{self.member_class}/{self.member_code}"

    def service(self, service_code: str) -> ServiceId:
        """The service ``service_code`` of this subsystem."""
        return ServiceId(self, service_code)


@dataclass(frozen=True, slots=True)
class ServiceId:
    """A service offered by a subsystem: the client id plus a service code."""

    client: ClientId
    service_code: str

    def __post_init__(self) -> None:
        if not isinstance(self.client, ClientId):
            raise InvalidIdentifier(
                "X-Road service id: provider must be a client id", detail={"part": "client"}
            )
        _check_segment("service", "service_code", self.service_code)

    def __str__(self) -> str:
        return f"{self.client}/{self.service_code}"


def _split(kind: str, s: object, count: int, shape: str) -> list[str]:
    limit = count * (MAX_SEGMENT_LENGTH + 1)
    if not isinstance(s, str) or len(s) > limit:
        raise InvalidIdentifier(
            f"X-Road {kind} id must look like {shape}", detail={"part": f"{kind}_id"}
        )
    parts = s.split("/")
    if len(parts) != count:
        raise InvalidIdentifier(
            f"X-Road {kind} id must have {count} segments separated by '/' ({shape}), "
            f"got {len(parts)}",
            detail={"part": f"{kind}_id", "problem": "segments", "count": len(parts)},
        )
    return parts


def parse_client_id(s: str) -> ClientId:
    """Parse ``INSTANCE/CLASS/MEMBER/SUBSYSTEM``, naming the wrong segment."""
    instance, member_class, member_code, subsystem = _split(
        "client", s, 4, "INSTANCE/CLASS/MEMBER/SUBSYSTEM"
    )
    return ClientId(instance, member_class, member_code, subsystem)


def parse_service_id(s: str) -> ServiceId:
    """Parse ``INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE``, naming the wrong segment."""
    instance, member_class, member_code, subsystem, code = _split(
        "service", s, 5, "INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE"
    )
    _check_client_parts("service", instance, member_class, member_code, subsystem)
    return ServiceId(ClientId(instance, member_class, member_code, subsystem), code)
