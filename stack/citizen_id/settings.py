"""Settings of the citizen identity stand-in (env prefix ``CITIZEN_ID_``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, field_validator

from certs.dev import CITIZEN_ID_SERVICE_ID, GATEWAY_ID
from core.citizen import MAX_TTL
from core.errors import InvalidIdentifier
from core.ids.xroad import parse_client_id
from core.settings import ServiceSettings, service_config


class CitizenIdSettings(ServiceSettings):
    """Where the stand-in listens, whose key signs, and for whom its tokens are."""

    model_config = service_config("CITIZEN_ID_")

    service_name: ClassVar[str] = "citizen-id"

    port: int = 9110
    #: The member whose certificate (``members/<issuer>.crt`` in the PKI) signs the tokens.
    issuer: str = CITIZEN_ID_SERVICE_ID
    #: Who tokens may be for; a request may name one, the first is the default.
    audiences: list[str] = Field(default_factory=lambda: [GATEWAY_ID], min_length=1)
    #: Lifetime of a token, in seconds.
    token_ttl: int = Field(default=3600, ge=1, le=int(MAX_TTL.total_seconds()))

    @field_validator("issuer")
    @classmethod
    def _issuer_is_a_member(cls, issuer: str) -> str:
        try:
            return str(parse_client_id(issuer))
        except InvalidIdentifier as e:
            raise ValueError(e.message) from e
