"""What the SDK raises: one exception class per X-Road error type, plus the SDK's own.

The gateway answers a refused or failed exchange with ``{"type", "message", "detail"}`` and
the header ``X-Road-Error: <type>``; a registry's own refusal (``client.person_not_found``)
is relayed with the registry's signature. ``error_from`` turns either into an exception,
chosen by ``type`` and, for a type this SDK does not know, by HTTP status::

    GatewayError                          (base: anything a call can raise)
    ├── ClientError                   4xx
    │   ├── BadRequest                400 client.bad_request
    │   │   ├── PurposeRequired       400 client.purpose_required
    │   │   └── PurposeUnknown        400 client.purpose_unknown
    │   ├── Unauthorized              401 client.unauthorized
    │   │   └── SignatureInvalid      401 client.signature_invalid     (.check)
    │   ├── AccessDenied              403 client.access_denied
    │   │   ├── PurposeNotAllowed     403 client.purpose_not_allowed
    │   │   ├── ConsentRequired       403 client.consent_required
    │   │   ├── ConsentInvalid        403 client.consent_invalid
    │   │   └── FieldsNotAllowed      403 client.fields_not_allowed    (.fields)
    │   ├── NotFound                  404 client.not_found, a registry's client.*_not_found
    │   │   ├── ServiceUnknown        404 client.service_unknown
    │   │   └── OperationUnknown      404 client.operation_unknown
    │   ├── MethodNotAllowed          405 client.method_not_allowed
    │   ├── PayloadTooLarge           413 client.payload_too_large
    │   └── RateLimited               429 client.rate_limited          (.retry_after)
    ├── ServerError                   5xx server.internal_error
    │   ├── BadGateway                502
    │   │   ├── ProviderResponseInvalid   502 server.provider_response_invalid
    │   │   └── ProviderSignatureInvalid  502 server.provider_signature_invalid
    │   ├── ServiceUnavailable        503 server.unavailable
    │   │   └── ProviderUnavailable   503 server.provider_unavailable
    │   └── ProviderTimeout           504 server.provider_timeout
    ├── ResponseVerificationFailed        the answer is not what its owner signed (.check)
    └── TransportFailed                   no HTTP answer at all (status None)
        └── GatewayTimeout

Every instance carries ``status``, ``type``, ``message``, ``detail`` and ``x_road_id`` (the
id to quote when asking the gateway operator about the exchange), ``response`` when a
registry signed the error (a verified ``GatewayResponse``), and ``receipt`` when the gateway
gave a log receipt for it (the verified claims of ``X-Road-Log-Receipt``: the exchange's
index and leaf hash in the evidence log, proof that the refusal or failure was recorded).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from consumers.sdk.protocol import GatewayResponse


class GatewayError(Exception):
    """An exchange through the gateway did not give a usable, verified answer."""

    status_code: ClassVar[int | None] = None
    error_type: ClassVar[str] = "server.internal_error"

    def __init__(
        self,
        status: int | None,
        type: str,
        message: str,
        detail: Any = None,
        x_road_id: str | None = None,
        *,
        response: GatewayResponse | None = None,
        headers: Mapping[str, str] | None = None,
        receipt: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type
        self.message = message
        self.detail = detail
        self.x_road_id = x_road_id
        self.response = response
        self.headers: Mapping[str, str] = headers if headers is not None else {}
        #: The verified claims of the gateway's ``X-Road-Log-Receipt`` (``None``: none given).
        self.receipt = receipt

    def body(self) -> dict[str, Any]:
        """The error as the X-Road error body ``{"type", "message", "detail"}``."""
        return {"type": self.type, "message": self.message, "detail": self.detail}

    def __str__(self) -> str:
        where = f" (X-Road-Id {self.x_road_id})" if self.x_road_id else ""
        return f"{self.type}: {self.message}{where}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, type={self.type!r}, "
            f"message={self.message!r}, x_road_id={self.x_road_id!r})"
        )


# -- 4xx -------------------------------------------------------------------------------------


class ClientError(GatewayError):
    """The request was refused: the caller's fault (4xx)."""

    status_code = 400
    error_type = "client.bad_request"


class BadRequest(ClientError):
    status_code = 400
    error_type = "client.bad_request"


class PurposeRequired(BadRequest):
    """Personal data was asked for without ``X-Road-Purpose``."""

    error_type = "client.purpose_required"


class PurposeUnknown(BadRequest):
    """``X-Road-Purpose`` names no registered purpose."""

    error_type = "client.purpose_unknown"


class Unauthorized(ClientError):
    status_code = 401
    error_type = "client.unauthorized"


class SignatureInvalid(Unauthorized):
    """The request signature was refused; ``check`` says which check failed."""

    error_type = "client.signature_invalid"

    @property
    def check(self) -> str | None:
        return _detail_str(self.detail, "check")


class AccessDenied(ClientError):
    """The client has no grant for this service, operation or purpose (403)."""

    status_code = 403
    error_type = "client.access_denied"


class PurposeNotAllowed(AccessDenied):
    error_type = "client.purpose_not_allowed"


class ConsentRequired(AccessDenied):
    """The purpose needs the citizen's consent: pass ``consent=`` (``X-Road-Consent``)."""

    error_type = "client.consent_required"


class ConsentInvalid(AccessDenied):
    """The consent named is unknown, revoked, expired or does not cover the query."""

    error_type = "client.consent_invalid"


class FieldsNotAllowed(AccessDenied):
    """Fields outside the grant were asked for; ``fields`` names them."""

    error_type = "client.fields_not_allowed"

    @property
    def fields(self) -> list[str]:
        raw = self.detail.get("fields") if isinstance(self.detail, dict) else None
        return [str(f) for f in raw] if isinstance(raw, list) else []


class NotFound(ClientError):
    """Nothing there: a registry's ``client.*_not_found`` (signed) or an unknown route."""

    status_code = 404
    error_type = "client.not_found"


class ServiceUnknown(NotFound):
    error_type = "client.service_unknown"


class OperationUnknown(NotFound):
    error_type = "client.operation_unknown"


class MethodNotAllowed(ClientError):
    status_code = 405
    error_type = "client.method_not_allowed"


class PayloadTooLarge(ClientError):
    status_code = 413
    error_type = "client.payload_too_large"


class RateLimited(ClientError):
    """Too many requests; ``retry_after`` is the seconds to wait (from ``Retry-After``)."""

    status_code = 429
    error_type = "client.rate_limited"

    def __init__(
        self,
        status: int | None,
        type: str,
        message: str,
        detail: Any = None,
        x_road_id: str | None = None,
        *,
        response: GatewayResponse | None = None,
        headers: Mapping[str, str] | None = None,
        receipt: dict[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            status,
            type,
            message,
            detail,
            x_road_id,
            response=response,
            headers=headers,
            receipt=receipt,
        )
        self.retry_after = retry_after


# -- 5xx -------------------------------------------------------------------------------------


class ServerError(GatewayError):
    """The gateway or the provider failed (5xx)."""

    status_code = 500
    error_type = "server.internal_error"


class BadGateway(ServerError):
    status_code = 502
    error_type = "server.bad_gateway"


class ProviderResponseInvalid(BadGateway):
    """The registry answered something the gateway would not pass on (extra fields...)."""

    error_type = "server.provider_response_invalid"


class ProviderSignatureInvalid(BadGateway):
    """The registry's response signature did not verify at the gateway."""

    error_type = "server.provider_signature_invalid"


class ServiceUnavailable(ServerError):
    """Unavailable for now; idempotent calls are retried with backoff before this is raised."""

    status_code = 503
    error_type = "server.unavailable"


class ProviderUnavailable(ServiceUnavailable):
    error_type = "server.provider_unavailable"


class ProviderTimeout(ServerError):
    """The registry did not answer in time; never retried (it may have acted)."""

    status_code = 504
    error_type = "server.provider_timeout"


# -- the SDK's own ---------------------------------------------------------------------------


class ResponseVerificationFailed(GatewayError):
    """The answer is not bound to this request or not signed by the service's owner.

    The message is generic; ``check`` names the failed check (``bad_signature``,
    ``wrong_signer``, ``request_hash``, ``body_sha256``, ``status``, ``jti``, ...;
    ``receipt`` when the gateway's log receipt is bad, with the precise ``reason`` in
    ``detail``). The data must not be used.
    """

    error_type = "sdk.response_verification_failed"

    @property
    def check(self) -> str | None:
        return _detail_str(self.detail, "check")


class TransportFailed(GatewayError):
    """No HTTP answer: the gateway could not be reached or the connection broke."""

    error_type = "sdk.transport_failed"


class GatewayTimeout(TransportFailed):
    """The gateway did not answer within the client's timeout."""

    error_type = "sdk.timeout"


#: Every class that names an X-Road error type, by that type.
ERRORS_BY_TYPE: dict[str, type[GatewayError]] = {
    cls.error_type: cls
    for cls in (
        BadRequest,
        PurposeRequired,
        PurposeUnknown,
        Unauthorized,
        SignatureInvalid,
        AccessDenied,
        PurposeNotAllowed,
        ConsentRequired,
        ConsentInvalid,
        FieldsNotAllowed,
        NotFound,
        ServiceUnknown,
        OperationUnknown,
        MethodNotAllowed,
        PayloadTooLarge,
        RateLimited,
        ServerError,
        ProviderResponseInvalid,
        ProviderSignatureInvalid,
        ServiceUnavailable,
        ProviderUnavailable,
        ProviderTimeout,
    )
}

#: The class for a type this SDK does not know (a registry's own), by HTTP status.
ERRORS_BY_STATUS: dict[int, type[GatewayError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: AccessDenied,
    404: NotFound,
    405: MethodNotAllowed,
    413: PayloadTooLarge,
    429: RateLimited,
    500: ServerError,
    502: BadGateway,
    503: ServiceUnavailable,
    504: ProviderTimeout,
}


def _detail_str(detail: Any, key: str) -> str | None:
    value = detail.get(key) if isinstance(detail, dict) else None
    return value if isinstance(value, str) else None


def error_class(status: int, type_: str | None) -> type[GatewayError]:
    """The exception class for an error answer: by ``type`` when known, else by status.

    A known type whose class has another status (a proxy rewrote it) falls back to status.
    """
    by_type = ERRORS_BY_TYPE.get(type_ or "")
    if by_type is not None and by_type.status_code == status:
        return by_type
    if status in ERRORS_BY_STATUS:
        return ERRORS_BY_STATUS[status]
    if 400 <= status < 500:
        return ClientError
    if status >= 500:
        return ServerError
    return GatewayError


def parse_retry_after(value: str | None, *, now: dt.datetime) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - now).total_seconds())


def error_from(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    x_road_id: str | None,
    now: dt.datetime,
    response: GatewayResponse | None = None,
    receipt: dict[str, Any] | None = None,
) -> GatewayError:
    """The exception for an error answer (``{"type","message","detail"}`` if the body is one)."""
    parsed: Any = None
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = None
    payload = parsed if isinstance(parsed, dict) else {}
    type_ = payload.get("type")
    if not isinstance(type_, str) or not type_:
        type_ = headers.get("X-Road-Error") or f"http.{status}"
    message = payload.get("message")
    if not isinstance(message, str) or not message:
        message = f"HTTP {status}"
    detail = payload.get("detail")
    answered_id = headers.get("X-Road-Id") or x_road_id
    cls = error_class(status, type_)
    extra: dict[str, Any] = {}
    if issubclass(cls, RateLimited):
        extra["retry_after"] = parse_retry_after(headers.get("Retry-After"), now=now)
    return cls(
        status,
        type_,
        message,
        detail,
        answered_id,
        response=response,
        headers=headers,
        receipt=receipt,
        **extra,
    )
