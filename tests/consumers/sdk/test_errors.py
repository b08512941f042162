"""Each error the gateway answers becomes its own exception class, with its fields."""

from __future__ import annotations

import datetime as dt
import email.utils
from pathlib import Path

import httpx
import pytest

from consumers.sdk import GatewayClient, errors
from tests.consumers.sdk.conftest import PID, FakeGateway

GATEWAY_ERRORS: list[tuple[int, str, type[errors.GatewayError]]] = [
    (400, "client.bad_request", errors.BadRequest),
    (401, "client.signature_invalid", errors.SignatureInvalid),
    (403, "client.access_denied", errors.AccessDenied),
    (400, "client.purpose_required", errors.PurposeRequired),
    (400, "client.purpose_unknown", errors.PurposeUnknown),
    (403, "client.purpose_not_allowed", errors.PurposeNotAllowed),
    (403, "client.consent_required", errors.ConsentRequired),
    (403, "client.consent_invalid", errors.ConsentInvalid),
    (403, "client.fields_not_allowed", errors.FieldsNotAllowed),
    (404, "client.service_unknown", errors.ServiceUnknown),
    (404, "client.operation_unknown", errors.OperationUnknown),
    (405, "client.method_not_allowed", errors.MethodNotAllowed),
    (413, "client.payload_too_large", errors.PayloadTooLarge),
    (429, "client.rate_limited", errors.RateLimited),
    (503, "server.provider_unavailable", errors.ProviderUnavailable),
    (504, "server.provider_timeout", errors.ProviderTimeout),
    (502, "server.provider_response_invalid", errors.ProviderResponseInvalid),
    (502, "server.provider_signature_invalid", errors.ProviderSignatureInvalid),
    (500, "server.internal_error", errors.ServerError),
    (503, "server.unavailable", errors.ServiceUnavailable),
]


@pytest.mark.parametrize(("status", "type_", "cls"), GATEWAY_ERRORS)
def test_gateway_error_raises_its_class_with_every_field(
    pki: Path,
    gateway: FakeGateway,
    status: int,
    type_: str,
    cls: type[errors.GatewayError],
) -> None:
    gateway.answer(gateway.error(status, type_, "why it failed", {"hint": 1}))
    with (
        GatewayClient.from_pki(pki, "VN/GOV/UBND-HN/one-stop", retries=0) as client,
        pytest.raises(cls) as caught,
    ):
        client.population.person(PID, purpose="land-transfer")
    err = caught.value
    assert type(err) is cls
    assert (err.status, err.type, err.message, err.detail) == (
        status,
        type_,
        "why it failed",
        {"hint": 1},
    )
    assert err.x_road_id == gateway.last.headers["X-Road-Id"]
    assert err.response is None
    assert err.headers["X-Road-Error"] == type_
    assert type_ in str(err)


def test_every_error_type_of_the_protocol_has_a_class() -> None:
    assert {t for _, t, _ in GATEWAY_ERRORS} <= set(errors.ERRORS_BY_TYPE)


def test_fields_not_allowed_names_the_fields(client: GatewayClient, gateway: FakeGateway) -> None:
    gateway.answer(
        gateway.error(403, "client.fields_not_allowed", detail={"fields": ["spouse_id", "sex"]})
    )
    with pytest.raises(errors.FieldsNotAllowed) as caught:
        client.population.person(PID, fields=["spouse_id", "sex"], purpose="land-transfer")
    assert caught.value.fields == ["spouse_id", "sex"]


def test_signature_invalid_names_the_check(client: GatewayClient, gateway: FakeGateway) -> None:
    gateway.answer(gateway.error(401, "client.signature_invalid", detail={"check": "replay"}))
    with pytest.raises(errors.SignatureInvalid) as caught:
        client.list_clients()
    assert caught.value.check == "replay"


def test_rate_limited_carries_retry_after_seconds(
    client: GatewayClient, gateway: FakeGateway, sleeps: list[float]
) -> None:
    gateway.answer(gateway.error(429, "client.rate_limited", headers={"Retry-After": "7"}))
    with pytest.raises(errors.RateLimited) as caught:
        client.population.person(PID, purpose="land-transfer")
    assert caught.value.retry_after == 7.0
    assert len(gateway.requests) == 1
    assert sleeps == []


def test_retry_after_as_an_http_date(now: dt.datetime) -> None:
    when = email.utils.format_datetime(now + dt.timedelta(seconds=30), usegmt=True)
    assert errors.parse_retry_after(when, now=now) == 30.0
    assert errors.parse_retry_after("soon", now=now) is None


def test_registry_error_type_unknown_to_the_sdk_falls_back_to_the_status(
    client: GatewayClient, gateway: FakeGateway
) -> None:
    body = {"type": "client.parcel_not_found", "message": "no such parcel", "detail": None}
    gateway.answer(gateway.signed(body, status=404, by="land"))
    with pytest.raises(errors.NotFound) as caught:
        client.land.parcel("w7er8u0evss2", purpose="land-transfer")
    assert caught.value.type == "client.parcel_not_found"


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, errors.BadRequest),
        (404, errors.NotFound),
        (418, errors.ClientError),
        (502, errors.BadGateway),
        (503, errors.ServiceUnavailable),
        (599, errors.ServerError),
    ],
)
def test_answer_that_is_not_an_x_road_error_maps_by_status(
    client: GatewayClient, gateway: FakeGateway, status: int, cls: type[errors.GatewayError]
) -> None:
    gateway.answer(lambda request: httpx.Response(status, text="<html>proxy error</html>"))
    with pytest.raises(cls) as caught:
        client.meta.list_clients()
    assert type(caught.value) is cls
    assert caught.value.type == f"http.{status}"
    assert caught.value.message == f"HTTP {status}"


def test_known_type_with_another_status_falls_back_to_the_status() -> None:
    assert errors.error_class(500, "client.access_denied") is errors.ServerError


def test_unreachable_gateway_raises_transport_failed(
    client: GatewayClient, gateway: FakeGateway
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    gateway.answer(refuse)
    with pytest.raises(errors.TransportFailed) as caught:
        client.list_clients()
    assert caught.value.status is None
    assert len(gateway.requests) == 1


def test_slow_gateway_raises_gateway_timeout(client: GatewayClient, gateway: FakeGateway) -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    gateway.answer(slow)
    with pytest.raises(errors.GatewayTimeout):
        client.population.person(PID, purpose="land-transfer")
    assert len(gateway.requests) == 1
