"""One error tree for every lienthong service, rendered as the X-Road error body.

Every error a caller can see is a ``LienthongError``. Each class carries its HTTP status and
a stable ``type`` code; the handler in ``core.http`` renders it as::

    HTTP/1.1 404 Not Found
    X-Road-Error: client.person_not_found
    X-Road-Id: 6f1c...
    {"type": "client.person_not_found", "message": "...", "detail": {...}}

The tree::

    LienthongError                      500 server.internal_error
    ├── ClientError                     400 client.bad_request      (the caller's fault)
    │   ├── BadRequest                  400 client.bad_request
    │   │   ├── InvalidIdentifier       400 client.bad_request
    │   │   └── UnknownFields           400 client.bad_request
    │   ├── Unauthorized                401 client.unauthorized
    │   │   └── SignatureInvalid        401 client.signature_invalid
    │   ├── Forbidden                   403 client.access_denied
    │   │   └── FieldsNotAllowed        403 client.fields_not_allowed
    │   ├── NotFound                    404 client.not_found
    │   ├── MethodNotAllowed            405 client.method_not_allowed
    │   ├── PayloadTooLarge             413 client.payload_too_large
    │   └── TooManyRequests             429 client.rate_limited
    └── ServerError                     500 server.internal_error   (ours or a provider's)
        ├── ServiceUnavailable          503 server.unavailable
        └── ...

Parts subclass these to name the state (``PersonNotFound(NotFound)`` with type
``client.person_not_found``). Messages say what is wrong and, where it helps, how to fix it;
they never carry secrets, personal data beyond what the caller sent, or stack traces.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel


class LienthongError(Exception):
    """Base of every error a lienthong service reports to its caller."""

    status: ClassVar[int] = 500
    type: ClassVar[str] = "server.internal_error"
    default_message: ClassVar[str] = "internal error"

    def __init__(
        self,
        message: str | None = None,
        *,
        detail: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.detail = detail
        self.headers = headers or {}
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        """The X-Road error body ``{"type", "message", "detail"}``."""
        return {"type": self.type, "message": self.message, "detail": self.detail}


class ClientError(LienthongError):
    """The caller's fault (4xx)."""

    status = 400
    type = "client.bad_request"
    default_message = "bad request"


class BadRequest(ClientError):
    pass


class InvalidIdentifier(BadRequest):
    """An identifier (X-Road id, personal id, tax code, unit code, parcel id) is malformed."""

    default_message = "malformed identifier"


class UnknownFields(BadRequest):
    """``fields=`` names fields the resource does not have."""

    default_message = "unknown fields requested"

    def __init__(self, unknown: list[str], available: list[str]) -> None:
        super().__init__(
            f"unknown field(s) in 'fields': {', '.join(unknown)}",
            detail={"unknown": unknown, "available": available},
        )


class Unauthorized(ClientError):
    status = 401
    type = "client.unauthorized"
    default_message = "authentication required"


class Forbidden(ClientError):
    status = 403
    type = "client.access_denied"
    default_message = "access denied"


class SignatureInvalid(Unauthorized):
    """A signed statement (request, forward header) is missing or does not verify.

    ``detail.check`` names the failed check; the precise reason goes to the logs.
    """

    type = "client.signature_invalid"
    default_message = "the signature is missing or not valid"


class FieldsNotAllowed(Forbidden):
    """Fields outside the granted (or signed) set were asked for."""

    type = "client.fields_not_allowed"
    default_message = "fields outside the allowed set were asked for"


class NotFound(ClientError):
    status = 404
    type = "client.not_found"
    default_message = "not found"


class MethodNotAllowed(ClientError):
    status = 405
    type = "client.method_not_allowed"
    default_message = "method not allowed"


class PayloadTooLarge(ClientError):
    status = 413
    type = "client.payload_too_large"
    default_message = "request body too large"


class TooManyRequests(ClientError):
    status = 429
    type = "client.rate_limited"
    default_message = "too many requests"


class ServerError(LienthongError):
    """Our fault or a provider's (5xx)."""


class ServiceUnavailable(ServerError):
    status = 503
    type = "server.unavailable"
    default_message = "service unavailable"


def error_response_doc(*errors: type[LienthongError]) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route, so OpenAPI shows the errors it can return.

    >>> error_response_doc(NotFound)[404]["description"]
    'client.not_found'
    """
    out: dict[int | str, dict[str, Any]] = {}
    for err in errors:
        entry = out.setdefault(err.status, {"description": "", "model": ErrorBody})
        types = [t for t in entry["description"].split(", ") if t]
        if err.type not in types:
            types.append(err.type)
        entry["description"] = ", ".join(types)
    return out


class ErrorBody(BaseModel):
    """The X-Road error body."""

    type: str
    message: str
    detail: Any = None

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "type": "client.bad_request",
                    "message": "province code 999 does not exist",
                    "detail": {"part": "province", "value": "999"},
                }
            ]
        }
    }
