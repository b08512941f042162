"""Typed methods for every registry service: ``client.population.person(...)`` and friends.

Each namespace builds a ``Call`` and hands it to the client's ``send``; the sync client's
``send`` returns a ``GatewayResponse``, the async client's a coroutine of one, so one class
serves both (``Population[GatewayResponse]``, ``Population[Awaitable[GatewayResponse]]``).

Every method takes the exchange's context as keywords (``CallContext``, all optional):
``purpose`` (``X-Road-Purpose``), ``consent`` (``X-Road-Consent``), ``issue``
(``X-Road-Issue``, the case number) and ``user_id`` (``X-Road-UserId``, defaulting to the
client's). Reads take ``fields``, the
fields to return (``None``: all the grant allows). The verification POSTs are read-only,
so they are marked idempotent and retried on 503 like reads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Generic, TypeVar, Unpack
from urllib.parse import quote

from consumers.sdk.protocol import Call, CallContext, ClientCore

R = TypeVar("R")

POPULATION = "VN/GOV/BCA/population"
BUSINESS = "VN/GOV/BTC/business"
LAND = "VN/GOV/BNNMT/land"

Fields = Sequence[str] | str | None


def _segment(value: str) -> str:
    """One path segment, percent-encoded so it can never add a segment or a query."""
    return quote(str(value), safe="")


def _fields_param(fields: Fields) -> dict[str, str]:
    if fields is None:
        return {}
    return {"fields": fields if isinstance(fields, str) else ",".join(fields)}


class Namespace(Generic[R]):
    """The services of one provider; ``R`` is what the client's ``send`` returns."""

    provider: ClassVar[str]

    def __init__(self, core: ClientCore, send: Callable[[Call], R]) -> None:
        self._core = core
        self._send = send

    def _read(
        self,
        code: str,
        path: str,
        *,
        fields: Fields,
        **context: Unpack[CallContext],
    ) -> R:
        call = self._core.service_call(
            "GET",
            f"{self.provider}/{code}",
            path,
            params=_fields_param(fields),
            **context,
        )
        return self._send(call)

    def _verify(
        self,
        code: str,
        path: str,
        body: dict[str, Any],
        **context: Unpack[CallContext],
    ) -> R:
        call = self._core.service_call(
            "POST",
            f"{self.provider}/{code}",
            path,
            json={k: v for k, v in body.items() if v is not None},
            **context,
            idempotent=True,  # a verification reads, never writes
        )
        return self._send(call)


class Population(Namespace[R]):
    """National Population Database (BCA): ``VN/GOV/BCA/population``."""

    provider = POPULATION

    def person(
        self,
        personal_id: str,
        *,
        fields: Fields = None,
        **context: Unpack[CallContext],
    ) -> R:
        """``GET persons/{personal_id}``: the person's record (top-level ``fields``)."""
        return self._read(
            "persons",
            f"/{_segment(personal_id)}",
            fields=fields,
            **context,
        )

    def household(
        self,
        personal_id: str,
        *,
        fields: Fields = None,
        **context: Unpack[CallContext],
    ) -> R:
        """``GET persons/{personal_id}/household``: the household (``fields`` of members)."""
        return self._read(
            "persons",
            f"/{_segment(personal_id)}/household",
            fields=fields,
            **context,
        )

    def verify_identity(
        self,
        personal_id: str,
        full_name: str,
        date_of_birth: str | dt.date,
        **context: Unpack[CallContext],
    ) -> R:
        """``POST verifications/identity``: ``{"match": bool, "alive"?: bool}``."""
        born = date_of_birth.isoformat() if isinstance(date_of_birth, dt.date) else date_of_birth
        return self._verify(
            "verifications",
            "/identity",
            {"personal_id": personal_id, "full_name": full_name, "date_of_birth": born},
            **context,
        )


class Business(Namespace[R]):
    """National Business Registration Database (BTC): ``VN/GOV/BTC/business``."""

    provider = BUSINESS

    def enterprise(
        self,
        enterprise_code: str,
        *,
        fields: Fields = None,
        **context: Unpack[CallContext],
    ) -> R:
        """``GET enterprises/{enterprise_code}``: the registration record."""
        return self._read(
            "enterprises",
            f"/{_segment(enterprise_code)}",
            fields=fields,
            **context,
        )

    def roles(
        self,
        personal_id: str,
        *,
        fields: Fields = None,
        **context: Unpack[CallContext],
    ) -> R:
        """``GET persons/{personal_id}/roles``: the person's roles (``fields`` of businesses)."""
        return self._read(
            "persons",
            f"/{_segment(personal_id)}/roles",
            fields=fields,
            **context,
        )

    def household_business(
        self,
        registration_number: str,
        *,
        fields: Fields = None,
        **context: Unpack[CallContext],
    ) -> R:
        """``GET household-businesses/{registration_number}``."""
        return self._read(
            "household-businesses",
            f"/{_segment(registration_number)}",
            fields=fields,
            **context,
        )

    def verify_enterprise(
        self,
        enterprise_code: str,
        name: str | None = None,
        legal_representative_id: str | None = None,
        **context: Unpack[CallContext],
    ) -> R:
        """``POST verifications/enterprise``: ``{"match": bool, "status": str}``."""
        return self._verify(
            "verifications",
            "/enterprise",
            {
                "enterprise_code": enterprise_code,
                "name": name,
                "legal_representative_id": legal_representative_id,
            },
            **context,
        )


class Land(Namespace[R]):
    """National Land Database (BNNMT): ``VN/GOV/BNNMT/land``."""

    provider = LAND

    def parcel(
        self,
        parcel_id: str,
        *,
        fields: Fields = None,
        **context: Unpack[CallContext],
    ) -> R:
        """``GET parcels/{parcel_id}``: by national id (GeoHash) or ``COMMUNE-SHEET-PARCEL``."""
        return self._read(
            "parcels",
            f"/{_segment(parcel_id)}",
            fields=fields,
            **context,
        )

    def parcels_of_person(
        self,
        personal_id: str,
        *,
        fields: Fields = None,
        **context: Unpack[CallContext],
    ) -> R:
        """``GET persons/{personal_id}/parcels``: parcels the person holds a right to."""
        return self._read(
            "persons",
            f"/{_segment(personal_id)}/parcels",
            fields=fields,
            **context,
        )

    def parcels_of_enterprise(
        self,
        enterprise_code: str,
        *,
        fields: Fields = None,
        **context: Unpack[CallContext],
    ) -> R:
        """``GET enterprises/{enterprise_code}/parcels``."""
        return self._read(
            "enterprises",
            f"/{_segment(enterprise_code)}/parcels",
            fields=fields,
            **context,
        )

    def verify_certificate(
        self,
        certificate_number: str,
        parcel_id: str | None = None,
        holder_id: str | None = None,
        **context: Unpack[CallContext],
    ) -> R:
        """``POST verifications/certificate``: ``{"valid", "status", "match"}``."""
        return self._verify(
            "verifications",
            "/certificate",
            {
                "certificate_number": certificate_number,
                "parcel_id": parcel_id,
                "holder_id": holder_id,
            },
            **context,
        )


class Metaservices(Generic[R]):
    """What the gateway says about itself: members, services, rights, OpenAPI."""

    def __init__(self, core: ClientCore, send: Callable[[Call], R]) -> None:
        self._core = core
        self._send = send

    def _get(self, target: str, params: dict[str, str] | None = None) -> R:
        return self._send(self._core.path_call("GET", target, params=params))

    def list_clients(self) -> R:
        """``GET /r1/listClients``: the members and subsystems of the exchange."""
        return self._get("listClients")

    def list_methods(self, provider: str) -> R:
        """``GET /r1/{provider}/listMethods``: the services a provider offers."""
        return self._get(f"{provider}/listMethods")

    def allowed_methods(self, provider: str) -> R:
        """``GET /r1/{provider}/allowedMethods``: the provider's services this client may call."""
        return self._get(f"{provider}/allowedMethods")

    def get_openapi(self, provider: str, service_code: str) -> R:
        """``GET /r1/{provider}/getOpenAPI?serviceCode=...``: one service's OpenAPI."""
        return self._get(f"{provider}/getOpenAPI", {"serviceCode": service_code})

    def log_proof(self, x_road_id: str) -> R:
        """``GET /r1/{own subsystem}/logProof?xRoadId=...``: inclusion proofs of this client's
        records of one exchange (check them with ``consumers.sdk.logproof.verify_log_proof``)."""
        return self._get(f"{self._core.member_id}/logProof", {"xRoadId": x_road_id})
