"""Settings of the time-stamping authority (env prefix ``TSA_``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, field_validator

from certs.authority import check_name
from core.settings import ServiceSettings, service_config
from stack.tsa.authority import check_oid

#: lienthong's own OID arc: a UUID OID (ITU-T X.667, ``2.25.<uuid as an integer>``), which
#: needs no registration and collides with nobody's.
LIENTHONG_OID_ARC = "2.25.223955181209785034313267710282719761569"

#: The policy of the development TSA's tokens: "a local clock, no audit, for development
#: and tests". A production TSA states its own registered policy (RFC 3628).
DEV_TSA_POLICY = f"{LIENTHONG_OID_ARC}.1.1"


class TsaSettings(ServiceSettings):
    """Where the TSA listens, which time-stamping unit signs, under what policy."""

    model_config = service_config("TSA_")

    service_name: ClassVar[str] = "tsa"

    port: int = 9120
    #: The time-stamping unit's name: its key and certificate are ``tsa/<unit>.crt|.key``
    #: in the PKI.
    unit: str = "tsa"
    #: The policy OID every token is issued under (a query naming another is rejected).
    policy: str = DEV_TSA_POLICY
    #: The accuracy the tokens declare for ``genTime``, in milliseconds.
    accuracy_ms: int = Field(default=1000, ge=1, le=3_600_000)

    @field_validator("unit")
    @classmethod
    def _unit_is_a_name(cls, unit: str) -> str:
        return check_name(unit)

    @field_validator("policy")
    @classmethod
    def _policy_is_an_oid(cls, policy: str) -> str:
        return check_oid(policy)
