"""Citizens' consents: granted, listed and revoked by the citizen; checked on every query.

A consent lets one client subsystem receive some fields of some services about one citizen,
for one purpose, until a date; the citizen can revoke it at any time. The citizen proves who
they are with a token from the citizen identity service (in the dev stack a stand-in for
VNeID). Consents are stored with the citizen as an HMAC pseudonym, like every record.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine

from core.ids.xroad import ClientId, ServiceId
from gateway.errors import ConsentInvalid, ConsentRequired
from gateway.models import consent as consent_table


@dataclass(frozen=True)
class Consent:
    id: str
    subject: str
    client: str
    purpose: str
    services: dict[str, list[str]]
    valid_from: dt.datetime
    valid_until: dt.datetime
    created_at: dt.datetime
    revoked_at: dt.datetime | None

    def status(self, now: dt.datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if now < self.valid_from:
            return "pending"
        if now > self.valid_until:
            return "expired"
        return "active"

    def public(self, now: dt.datetime) -> dict[str, Any]:
        return {
            "id": self.id,
            "client": self.client,
            "purpose": self.purpose,
            "services": self.services,
            "valid_from": _iso(self.valid_from),
            "valid_until": _iso(self.valid_until),
            "created_at": _iso(self.created_at),
            "revoked_at": _iso(self.revoked_at) if self.revoked_at else None,
            "status": self.status(now),
        }


def _iso(t: dt.datetime) -> str:
    return _utc(t).isoformat().replace("+00:00", "Z")


def _utc(t: dt.datetime) -> dt.datetime:
    # SQLite hands back naive datetimes; everything stored is UTC.
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t.astimezone(dt.UTC)


def _row(r: Any) -> Consent:
    return Consent(
        id=r.id,
        subject=r.subject,
        client=r.client,
        purpose=r.purpose,
        services=dict(r.fields),
        valid_from=_utc(r.valid_from),
        valid_until=_utc(r.valid_until),
        created_at=_utc(r.created_at),
        revoked_at=_utc(r.revoked_at) if r.revoked_at else None,
    )


class ConsentStore:
    """Consents in the gateway's database (sync; call from a thread on the event loop)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def grant(
        self,
        *,
        subject: str,
        client: ClientId,
        purpose: str,
        services: dict[str, list[str]],
        valid_from: dt.datetime,
        valid_until: dt.datetime,
        now: dt.datetime,
    ) -> Consent:
        row = {
            "id": str(uuid.uuid4()),
            "subject": subject,
            "client": str(client),
            "purpose": purpose,
            "fields": services,
            "valid_from": valid_from,
            "valid_until": valid_until,
            "created_at": now,
            "revoked_at": None,
        }
        with self.engine.begin() as conn:
            conn.execute(insert(consent_table), [row])
        stored = self.get(str(row["id"]))
        if stored is None:  # pragma: no cover - the row was just committed
            raise LookupError("consent vanished after insert")
        return stored

    def get(self, consent_id: str) -> Consent | None:
        with self.engine.connect() as conn:
            r = conn.execute(select(consent_table).where(consent_table.c.id == consent_id)).first()
        return _row(r) if r else None

    def of_subject(self, subject: str) -> list[Consent]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(consent_table)
                .where(consent_table.c.subject == subject)
                .order_by(consent_table.c.created_at)
            ).all()
        return [_row(r) for r in rows]

    def revoke(self, consent_id: str, *, subject: str, now: dt.datetime) -> Consent | None:
        """Revoke the citizen's own consent; None if they have no such consent."""
        with self.engine.begin() as conn:
            done = conn.execute(
                update(consent_table)
                .where(
                    consent_table.c.id == consent_id,
                    consent_table.c.subject == subject,
                    consent_table.c.revoked_at.is_(None),
                )
                .values(revoked_at=now)
            )
        consent = self.get(consent_id)
        if consent is None or consent.subject != subject:
            return None
        return consent if done.rowcount or consent.revoked_at else None


def check_consent(
    consent: Consent | None,
    *,
    consent_id: str | None,
    subject: str | None,
    client: ClientId,
    purpose: str,
    service: ServiceId,
    fields: tuple[str, ...] | None,
    now: dt.datetime,
) -> Consent:
    """The consent that covers this query, or the error saying why none does."""
    if consent_id is None:
        raise ConsentRequired()
    if consent is None:
        raise ConsentInvalid("no such consent", detail={"check": "unknown"})
    status = consent.status(now)
    if status != "active":
        raise ConsentInvalid(f"the consent is {status}", detail={"check": status})
    if subject is None or consent.subject != subject:
        raise ConsentInvalid(
            "the consent was given by another citizen", detail={"check": "subject"}
        )
    if consent.client != str(client):
        raise ConsentInvalid("the consent was given to another client", detail={"check": "client"})
    if consent.purpose != purpose:
        raise ConsentInvalid("the consent is for another purpose", detail={"check": "purpose"})
    covered = consent.services.get(str(service))
    if covered is None:
        raise ConsentInvalid("the consent does not cover this service", detail={"check": "service"})
    if fields is not None:
        outside = sorted(set(fields) - set(covered))
        if outside:
            raise ConsentInvalid(
                "the consent does not cover the fields: " + ", ".join(outside),
                detail={"check": "fields", "fields": outside},
            )
    return consent
