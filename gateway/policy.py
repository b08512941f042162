"""Purposes and access rights: who may ask which service, for what, and for which fields.

Deny by default. A grant allows one client subsystem to call one service with some methods,
operation paths, purposes and fields (``gateway/policy/grants.yaml`` in the repo, plus runtime
grants kept in the database). ``Policy.authorize`` answers one query: the fields it may
receive (the asked fields, or every granted field when none were asked), or the error that
refuses it. Asking for a field outside the grant is refused, never silently trimmed.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from core.errors import InvalidIdentifier
from core.ids.xroad import ClientId, ServiceId, parse_client_id, parse_service_id
from gateway.errors import (
    AccessDenied,
    FieldsNotAllowed,
    PurposeNotAllowed,
    PurposeRequired,
    PurposeUnknown,
)

#: The default policy of the dev stack, kept in the repository next to this module.
DEFAULT_POLICY_DIR = Path(__file__).parent / "policy"

DPV = "https://w3id.org/dpv#"
LEGAL_BASES = frozenset(
    {
        "Consent",
        "Contract",
        "LegalObligation",
        "LegitimateInterest",
        "OfficialAuthority",
        "PublicInterest",
        "VitalInterest",
    }
)


class PolicyError(ValueError):
    """A policy file or grant is malformed; the message names the entry and the problem."""


@dataclass(frozen=True)
class Purpose:
    code: str
    title_vi: str
    title_en: str
    legal_basis: str  # the DPV term, e.g. "dpv:OfficialAuthority"
    law: str
    consent: bool

    @property
    def legal_basis_iri(self) -> str:
        return DPV + self.legal_basis.removeprefix("dpv:")

    def public(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "title": {"vi": self.title_vi, "en": self.title_en},
            "legal_basis": self.legal_basis,
            "legal_basis_iri": self.legal_basis_iri,
            "law": self.law,
            "consent": self.consent,
        }


@dataclass(frozen=True)
class Grant:
    client: ClientId
    service: ServiceId
    methods: frozenset[str]
    paths: frozenset[str]  # operation path templates, or {"*"}
    purposes: frozenset[str]
    fields: frozenset[str] | None  # None: every field of the operation
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    source: str = "file"  # "file" or "runtime"

    def covers(self, method: str, path: str) -> bool:
        return method in self.methods and ("*" in self.paths or path in self.paths)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": self.source,
            "client": str(self.client),
            "service": str(self.service),
            "methods": sorted(self.methods),
            "paths": sorted(self.paths),
            "purposes": sorted(self.purposes),
            "fields": "*" if self.fields is None else sorted(self.fields),
        }


def _str_list(entry: dict[str, Any], key: str, where: str) -> list[str]:
    value = entry.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PolicyError(f"{where}: '{key}' must be a list of strings")
    return value


def parse_purpose(entry: Any, where: str) -> Purpose:
    if not isinstance(entry, dict):
        raise PolicyError(f"{where}: a purpose must be a mapping")
    try:
        code, title, basis = entry["code"], entry["title"], entry["legal_basis"]
        law, consent = entry.get("law", ""), entry.get("consent", False)
        title_vi, title_en = title["vi"], title["en"]
    except (KeyError, TypeError) as e:
        raise PolicyError(f"{where}: missing {e}") from e
    if not isinstance(basis, str) or basis.removeprefix("dpv:") not in LEGAL_BASES:
        raise PolicyError(
            f"{where}: legal_basis {basis!r} is not one of "
            + ", ".join(f"dpv:{b}" for b in sorted(LEGAL_BASES))
        )
    if not isinstance(consent, bool):
        raise PolicyError(f"{where}: consent must be true or false")
    return Purpose(str(code), str(title_vi), str(title_en), basis, str(law), consent)


def parse_grant(
    entry: Any, where: str, *, purposes: dict[str, Purpose], source: str = "file"
) -> Grant:
    """One grant from its policy-file shape, checked (ids, methods, purposes)."""
    if not isinstance(entry, dict):
        raise PolicyError(f"{where}: a grant must be a mapping")
    unknown = set(entry) - {"id", "client", "service", "methods", "paths", "purposes", "fields"}
    if unknown:
        raise PolicyError(f"{where}: unknown keys {sorted(unknown)}")
    try:
        client = parse_client_id(entry.get("client"))  # type: ignore[arg-type]
        service = parse_service_id(entry.get("service"))  # type: ignore[arg-type]
    except (InvalidIdentifier, ValueError) as e:
        raise PolicyError(f"{where}: {e}") from e
    methods = [m.upper() for m in _str_list(entry, "methods", where)]
    if not methods or set(methods) - {"GET", "POST", "PUT", "PATCH", "DELETE"}:
        raise PolicyError(f"{where}: methods must be HTTP methods")
    paths = _str_list(entry, "paths", where)
    if not paths or any(p != "*" and not p.startswith("/") for p in paths):
        raise PolicyError(f"{where}: paths must be operation templates like /{{id}} or *")
    purpose_codes = _str_list(entry, "purposes", where)
    missing = [p for p in purpose_codes if p not in purposes]
    if missing:
        raise PolicyError(f"{where}: unknown purposes {missing}")
    raw_fields = entry.get("fields")
    fields: frozenset[str] | None
    fields = None if raw_fields == "*" else frozenset(_str_list(entry, "fields", where))
    kwargs: dict[str, Any] = {"source": source}
    if isinstance(entry.get("id"), str):
        kwargs["id"] = entry["id"]
    return Grant(
        client=client,
        service=service,
        methods=frozenset(methods),
        paths=frozenset(paths),
        purposes=frozenset(purpose_codes),
        fields=fields,
        **kwargs,
    )


def file_grant_id(entry: dict[str, Any]) -> str:
    """A policy file grant's id: stable while its content is unchanged."""
    digest = hashlib.sha256(json.dumps(entry, sort_keys=True).encode()).hexdigest()
    return "file-" + digest[:16]


def _load_yaml(path: Path) -> list[Any]:
    if not path.exists():
        raise PolicyError(f"{path} is missing")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    if not isinstance(data, list):
        raise PolicyError(f"{path}: expected a list")
    return data


@dataclass(frozen=True)
class Decision:
    """What one authorized query may receive."""

    fields: tuple[str, ...] | None  # None: the operation has no field selection
    purpose: Purpose | None
    grants: tuple[str, ...]  # ids of the grants that allowed it


class Policy:
    """Purposes and grants, indexed for the hot path by (client, service)."""

    def __init__(self, purposes: Iterable[Purpose], grants: Iterable[Grant] = ()) -> None:
        self.purposes: dict[str, Purpose] = {p.code: p for p in purposes}
        self._grants: dict[str, Grant] = {}
        self._index: dict[tuple[ClientId, ServiceId], list[Grant]] = {}
        for g in grants:
            self.add(g)

    @classmethod
    def from_dir(cls, directory: Path) -> Policy:
        purposes = [
            parse_purpose(e, f"purposes.yaml entry {i + 1}")
            for i, e in enumerate(_load_yaml(directory / "purposes.yaml"))
        ]
        by_code = {p.code: p for p in purposes}
        grants = [
            parse_grant(
                {**e, "id": file_grant_id(e)} if isinstance(e, dict) else e,
                f"grants.yaml entry {i + 1}",
                purposes=by_code,
            )
            for i, e in enumerate(_load_yaml(directory / "grants.yaml"))
        ]
        return cls(purposes, grants)

    # -- changes -------------------------------------------------------------------------
    def add(self, grant: Grant) -> None:
        self._grants[grant.id] = grant
        self._index.setdefault((grant.client, grant.service), []).append(grant)

    def remove(self, grant_id: str) -> Grant | None:
        grant = self._grants.pop(grant_id, None)
        if grant is not None:
            self._index[(grant.client, grant.service)].remove(grant)
        return grant

    def grants(self, client: ClientId | None = None) -> list[Grant]:
        return [g for g in self._grants.values() if client is None or g.client == client]

    def clients(self) -> set[ClientId]:
        return {g.client for g in self._grants.values()}

    def get(self, grant_id: str) -> Grant | None:
        return self._grants.get(grant_id)

    def services_for(self, client: ClientId) -> list[tuple[ServiceId, Grant]]:
        return [(g.service, g) for g in self._grants.values() if g.client == client]

    # -- decisions -----------------------------------------------------------------------
    def authorize(
        self,
        *,
        client: ClientId,
        service: ServiceId,
        method: str,
        path: str,
        personal_data: bool,
        operation_fields: Sequence[str],
        purpose_code: str | None,
        requested: Sequence[str] | None,
    ) -> Decision:
        """The fields this query may receive, or the error that refuses it."""
        candidates = [g for g in self._index.get((client, service), ()) if g.covers(method, path)]
        if not candidates:
            raise AccessDenied(
                f"{client} has no access right for {method} {path} of {service}",
                detail={"client": str(client), "service": str(service), "method": method},
            )
        purpose: Purpose | None = None
        if purpose_code is None:
            if personal_data:
                raise PurposeRequired()
        else:
            purpose = self.purposes.get(purpose_code)
            if purpose is None:
                raise PurposeUnknown(
                    f"unknown purpose {purpose_code!r}; registered purposes are listed by "
                    "the gateway's /purposes",
                    detail={"purpose": purpose_code},
                )
        if purpose is not None:
            with_purpose = [g for g in candidates if purpose.code in g.purposes]
            if not with_purpose and (personal_data or any(g.purposes for g in candidates)):
                raise PurposeNotAllowed(
                    f"{client} may not call {service} for purpose {purpose.code}",
                    detail={"purpose": purpose.code},
                )
            candidates = with_purpose or candidates
        ids = tuple(g.id for g in candidates)
        if not operation_fields:
            return Decision(fields=None, purpose=purpose, grants=ids)
        granted: set[str] = set()
        for g in candidates:
            granted |= set(operation_fields) if g.fields is None else set(g.fields)
        if requested is None:
            effective = tuple(f for f in operation_fields if f in granted)
        else:
            refused = sorted(set(requested) - granted)
            if refused:
                raise FieldsNotAllowed(
                    "the access right does not cover the fields: " + ", ".join(refused),
                    detail={"fields": refused},
                )
            effective = tuple(f for f in operation_fields if f in set(requested))
        return Decision(fields=effective, purpose=purpose, grants=ids)
