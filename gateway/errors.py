"""The gateway's error types, each a state of the exchange (see docs/protocol.md).

They extend the tree of ``core.errors``; the type string is the stable code callers and the
SDK match on. Verification failures share one type (``client.signature_invalid``) with a
generic message; ``detail.check`` names which check failed, the precise reason goes to the
evidence log.
"""

from __future__ import annotations

from core.errors import (
    BadRequest,
    ClientError,
    FieldsNotAllowed,
    Forbidden,
    LienthongError,
    MethodNotAllowed,
    NotFound,
    ServerError,
    SignatureInvalid,
    TooManyRequests,
)


class AccessDenied(Forbidden):
    type = "client.access_denied"
    default_message = "no access right allows this query"


class PurposeRequired(BadRequest):
    type = "client.purpose_required"
    default_message = "this service returns personal data: X-Road-Purpose is required"


class PurposeUnknown(BadRequest):
    type = "client.purpose_unknown"
    default_message = "unknown purpose"


class PurposeNotAllowed(Forbidden):
    type = "client.purpose_not_allowed"
    default_message = "no access right allows this purpose"


class ConsentRequired(Forbidden):
    type = "client.consent_required"
    default_message = "this purpose needs the citizen's consent: X-Road-Consent is required"


class ConsentInvalid(Forbidden):
    type = "client.consent_invalid"
    default_message = "the consent does not cover this query"


class ServiceUnknown(NotFound):
    type = "client.service_unknown"
    default_message = "no such service"


class OperationUnknown(NotFound):
    type = "client.operation_unknown"
    default_message = "the service has no such path"


class OperationMethodNotAllowed(MethodNotAllowed):
    pass


class RateLimited(TooManyRequests):
    default_message = "too many requests from this client; retry after the given seconds"


class EvidenceLogUnavailable(ServerError):
    status = 503
    type = "server.evidence_log_unavailable"
    default_message = (
        "the evidence log cannot be timestamped and the grace period is over; "
        "exchanges resume when the time-stamping authority answers"
    )


class ProviderUnavailable(ServerError):
    status = 503
    type = "server.provider_unavailable"
    default_message = "the provider cannot be reached"


class ProviderTimeout(ServerError):
    status = 504
    type = "server.provider_timeout"
    default_message = "the provider did not answer in time"


class ProviderResponseInvalid(ServerError):
    status = 502
    type = "server.provider_response_invalid"
    default_message = "the provider's response is not acceptable"


class ProviderSignatureInvalid(ServerError):
    status = 502
    type = "server.provider_signature_invalid"
    default_message = "the provider's response signature is not valid"


__all__ = [
    "AccessDenied",
    "ClientError",
    "ConsentInvalid",
    "ConsentRequired",
    "EvidenceLogUnavailable",
    "FieldsNotAllowed",
    "LienthongError",
    "OperationMethodNotAllowed",
    "OperationUnknown",
    "ProviderResponseInvalid",
    "ProviderSignatureInvalid",
    "ProviderTimeout",
    "ProviderUnavailable",
    "PurposeNotAllowed",
    "PurposeRequired",
    "PurposeUnknown",
    "RateLimited",
    "ServiceUnknown",
    "SignatureInvalid",
]
