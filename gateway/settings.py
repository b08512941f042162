"""Settings of the security gateway (env prefix ``GATEWAY_``)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field

from core.settings import ServiceSettings, service_config
from gateway.policy import DEFAULT_POLICY_DIR

DEFAULT_PROVIDERS = {
    "VN/GOV/BCA/population": "https://127.0.0.1:9101",
    "VN/GOV/BTC/business": "https://127.0.0.1:9102",
    "VN/GOV/BNNMT/land": "https://127.0.0.1:9103",
}


class GatewaySettings(ServiceSettings):
    """Where the gateway listens, whom it trusts, and the limits it enforces."""

    model_config = service_config("GATEWAY_")

    service_name: ClassVar[str] = "gateway"

    #: Members' listener (mTLS: a member certificate from the CA is required).
    port: int = 8443
    #: Citizens' listener (server TLS only): consents; later the data tracker.
    public_port: int = Field(default=8444, ge=0, le=65535)
    #: The gateway's own X-Road id: the ``aud`` of signed requests, the signer of forwards.
    gateway_id: str = "VN/GOV/LIENTHONG/gateway"
    #: The administrator identity allowed to change grants at runtime.
    admin_id: str = "VN/GOV/LIENTHONG/admin"
    #: Who issues citizen tokens (the dev stand-in for VNeID).
    citizen_issuer_id: str = "VN/GOV/BCA/citizen-id"
    #: Provider subsystem id → base URL (JSON in the environment).
    providers: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_PROVIDERS))
    #: Purposes and access rights (``purposes.yaml``, ``grants.yaml``).
    policy_dir: Path = DEFAULT_POLICY_DIR
    #: How far a signed request's ``iat`` may be from the gateway's clock.
    clock_skew_seconds: float = Field(default=60.0, gt=0, le=3600)
    #: Replay cache bound (jti values remembered inside the clock window).
    replay_cache_size: int = Field(default=1_000_000, ge=1000)
    #: Per-client token bucket: sustained requests per second and burst.
    rate_limit_per_second: float = Field(default=5000.0, gt=0)
    rate_limit_burst: int = Field(default=10000, ge=1)
    #: Provider answers slower than this are ``server.provider_timeout`` (504).
    provider_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    #: Largest request body accepted (bytes); more is 413.
    max_body_bytes: int = Field(default=1 << 20, ge=1024)
    #: Group commit: how long the record writer waits for more appends before a commit.
    #: 0 (the default): none — appends that arrive during a commit form the next batch, so
    #: a lone exchange waits for one commit only and batches grow with the load (ADR 0008).
    commit_window_ms: float = Field(default=0.0, ge=0, le=100)
    #: Longest validity a citizen may give a consent.
    max_consent_days: int = Field(default=365, ge=1)
    #: The auditor identity allowed to read the evidence log (the State Audit Office).
    auditor_id: str = "VN/GOV/KTNN/audit"
    #: The evidence log's origin (C2SP checkpoint origin; its note key's name).
    log_origin: str = "lienthong.local/evidence-log"
    #: How often a checkpoint is signed when the log grew.
    checkpoint_interval_seconds: float = Field(default=2.0, gt=0, le=3600)
    #: The RFC 3161 time-stamping authority; empty: checkpoints are not timestamped.
    tsa_url: str = "https://127.0.0.1:9120/"
    #: How long exchanges go on while checkpoints cannot be timestamped (X-Road: 4 hours).
    tsa_grace_hours: float = Field(default=4.0, gt=0)

    @property
    def keys_dir(self) -> Path:
        """Where the gateway keeps its symmetric keys (subject HMAC, evidence sealing)."""
        return self.var_dir / "gateway"
