"""Citizen tokens: who a citizen is, as the citizen identity service vouches.

A citizen signs in with the national e-identity (VNeID; in the dev stack, the stand-in
``stack.citizen_id``), which answers with a **citizen token**: a compact JWS of typ
``citizen+jwt`` (``core.signing``), signed with the identity service's member certificate::

    header  {"alg": "ES256", "typ": "citizen+jwt", "x5c": [identity service certificate]}
    claims  {"iss": "VN/GOV/BCA/citizen-id",   the identity service's member id
             "sub": "001090012345",            the citizen's personal id
             "aud": "VN/GOV/LIENTHONG/gateway", who the token is for
             "iat": 1751360400, "exp": 1751364000, "jti": "<uuid4>"}

A relying party (the gateway's citizen listener: data tracker, consents) verifies it with
``verify_citizen_token``: trusted certificate at ``now``, naming the expected issuer, the
claims naming the same issuer and this audience, issued no later than ``now`` (plus
``CLOCK_SKEW``), not expired (``now`` before ``exp``, RFC 7519 §4.1.4), a lifetime of at
most ``MAX_TTL``, and a well-formed personal id. Any failure is one ``CitizenTokenInvalid``
(401 ``client.citizen_token_invalid``) whose ``detail.check`` names the failed check.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from core.errors import InvalidIdentifier, Unauthorized
from core.ids.personal import validate_personal_id
from core.ids.xroad import ClientId
from core.pki import TrustStore
from core.signing import TYP_CITIZEN, SignatureRejected, Signer, timestamp, verify

DEFAULT_TTL = dt.timedelta(hours=1)
#: The longest lifetime a citizen token may have; longer ones are refused on both sides.
MAX_TTL = dt.timedelta(hours=24)
#: How far in the future ``iat`` may be (clocks of issuer and verifier disagree a little).
CLOCK_SKEW = dt.timedelta(seconds=30)
MAX_TOKEN_ID_LENGTH = 128


class CitizenTokenInvalid(Unauthorized):
    """The citizen token is missing, malformed, not trusted, not for us, or not valid now."""

    type = "client.citizen_token_invalid"
    default_message = "the citizen token is not valid; sign in again"

    def __init__(self, check: str, message: str | None = None) -> None:
        super().__init__(message, detail={"check": check}, headers={"WWW-Authenticate": "Bearer"})
        self.check = check


@dataclass(frozen=True)
class CitizenIdentity:
    """A citizen, as a verified citizen token names them."""

    personal_id: str
    token_id: str
    expires_at: dt.datetime


def issue_citizen_token(
    signer: Signer,
    personal_id: str,
    *,
    now: dt.datetime,
    audience: str,
    ttl: dt.timedelta = DEFAULT_TTL,
) -> str:
    """A citizen token for ``personal_id``, for ``audience``, valid ``ttl`` from ``now``.

    Raises ``InvalidIdentifier`` for a malformed personal id and ``ValueError`` for a
    lifetime outside (0, ``MAX_TTL``].
    """
    subject = validate_personal_id(personal_id)
    if not dt.timedelta(0) < ttl <= MAX_TTL:
        raise ValueError(f"a citizen token lives more than 0 s and at most {MAX_TTL}")
    issued_at = timestamp(now)
    claims = {
        "iss": str(signer.member_id),
        "sub": subject,
        "aud": audience,
        "iat": issued_at,
        "exp": issued_at + int(ttl.total_seconds()),
        "jti": str(uuid.uuid4()),
    }
    return signer.sign(claims, typ=TYP_CITIZEN)


def _int_claim(claims: dict[str, Any], name: str) -> int:
    value = claims.get(name)
    # bool is an int in Python; a JSON true is not a time.
    if not isinstance(value, int) or isinstance(value, bool):
        raise CitizenTokenInvalid("malformed", f"the citizen token has no integer '{name}'")
    return value


def verify_citizen_token(
    token: str,
    *,
    store: TrustStore,
    now: dt.datetime,
    audience: str,
    issuer: ClientId,
) -> CitizenIdentity:
    """The citizen a token names, if ``issuer`` signed it for ``audience`` and it is live."""
    try:
        verified = verify(token, store=store, now=now, typ=TYP_CITIZEN)
    except SignatureRejected as e:
        raise CitizenTokenInvalid(e.reason) from e
    claims = verified.claims
    if verified.signer != issuer or claims.get("iss") != str(issuer):
        raise CitizenTokenInvalid("wrong_issuer", "the citizen token is not from the issuer")
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if audience not in audiences:
        raise CitizenTokenInvalid("wrong_audience", "the citizen token is not for this service")
    issued_at = _int_claim(claims, "iat")
    expires = _int_claim(claims, "exp")
    current = now.timestamp()
    if issued_at > current + CLOCK_SKEW.total_seconds():
        raise CitizenTokenInvalid("not_yet_valid", "the citizen token is not valid yet")
    if "nbf" in claims and _int_claim(claims, "nbf") > current + CLOCK_SKEW.total_seconds():
        raise CitizenTokenInvalid("not_yet_valid", "the citizen token is not valid yet")
    if current >= expires:
        raise CitizenTokenInvalid("expired", "the citizen token has expired; sign in again")
    if not 0 < expires - issued_at <= MAX_TTL.total_seconds():
        raise CitizenTokenInvalid("lifetime", "the citizen token's lifetime is not allowed")
    token_id = claims.get("jti")
    if not isinstance(token_id, str) or not 0 < len(token_id) <= MAX_TOKEN_ID_LENGTH:
        raise CitizenTokenInvalid("malformed", "the citizen token has no valid 'jti'")
    subject = claims.get("sub")
    try:
        if not isinstance(subject, str):
            raise InvalidIdentifier("no subject")
        personal_id = validate_personal_id(subject)
    except InvalidIdentifier as e:
        raise CitizenTokenInvalid("subject", "the citizen token names no valid personal id") from e
    return CitizenIdentity(
        personal_id=personal_id,
        token_id=token_id,
        expires_at=dt.datetime.fromtimestamp(expires, dt.UTC),
    )
