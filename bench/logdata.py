"""Exchange records as the gateway writes them, and a kept evidence log built from them.

The evidence scenarios (``bench.evidence``) need records that cost what real ones cost: the
auditor verifies two ES256 signatures per exchange and the gateway unseals two JWS per page,
so a log of made-up bytes would measure nothing. Each exchange here goes the gateway's way:

- the one-stop portal's request is signed by ``bench.gateway.gateway_requests`` (what the
  exchange benchmarks send), then read as the gateway reads it (``read_headers``,
  ``parse_target``, the population registry's own catalogue, ``Policy.authorize`` over the
  repository's grants) into a ``Trail``, whose ``base`` is the ``accepted`` record's body;
- the registry's answer is signed as ``core.provider`` signs it (``TYP_RESPONSE`` over the
  X-Road-Id, request hash, status and body digest) and becomes the ``answered`` record;
- both JWS are sealed with the gateway's evidence key, and the records are made durable by
  the gateway's own ``RecordWriter`` (group commit, Merkle nodes in the same transaction)
  on the gateway's engine (``synchronous=FULL``), with checkpoints signed by the gateway's
  ``Checkpointer`` with the dev PKI's note key and timestamped by the dev TSA's
  ``TimeStampingUnit`` (in-process, not over HTTPS: the tokens are the same).

Signing dominates, so exchanges are made in a process pool (one worker per core); the
workers also compute each record's canonical JSON (``PendingRecord.canonical``, the same
bytes the writer would compute) so the single writer only sequences, hashes and inserts.

A log takes minutes to build at a million records, so ``ensure_log`` keeps it in
``var/bench/log-<records>/`` (git-ignored) with the layout of a gateway's var dir
(``pki/``, ``db/gateway.sqlite3``, ``gateway/`` keys) and a completion stamp written last;
a folder without the stamp is a build that was interrupted and is made again.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import resource
import shutil
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

from bench import gateway as reqs
from bench.load import Prepared
from certs.authority import Authority
from certs.dev import LOG_ORIGIN, ensure_dev_pki
from core.db import make_engine
from core.ids.personal import LEGACY_PROVINCES, make_personal_id
from core.pki import TrustStore, fingerprint
from core.signing import TYP_RESPONSE, Signer, sha256_b64url, timestamp
from core.timestamp import timestamp_request, token_from_reply, verify_timestamp
from gateway.app import load_note_signer
from gateway.catalogue import Catalogue
from gateway.exchange import Trail
from gateway.log import Checkpointer, LogStore
from gateway.models import metadata
from gateway.policy import DEFAULT_POLICY_DIR, Policy
from gateway.protocol import parse_client, parse_target, read_headers
from gateway.records import EvidenceKeys, PendingRecord, RecordWriter
from gateway.settings import GatewaySettings
from registries.population.catalogue import catalogue as population_catalogue
from stack.tsa.app import load_unit
from stack.tsa.settings import TsaSettings

#: Where kept logs live: ``var/bench/log-<records>/`` (git-ignored).
DEFAULT_VAR_ROOT = Path(__file__).resolve().parents[1] / "var" / "bench"
#: The completion stamp: written last, so its presence means the log is whole.
STAMP = "complete.json"
#: Bump when the records or the layout change: a kept log of another version is rebuilt.
FORMAT = 1
#: Exchanges per task sent to a worker (two records each): one group commit per task.
CHUNK = 2048
#: The gateway's group-commit window (``GATEWAY_COMMIT_WINDOW_MS``), without the environment.
COMMIT_WINDOW_MS: float = GatewaySettings.model_fields["commit_window_ms"].default
#: The URL the requests are signed for (``htu`` is the path; the host is never checked).
SIGNED_FOR = "https://127.0.0.1:8443"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# -- one exchange, as the gateway records it ---------------------------------------------------


@dataclass
class Canonical(PendingRecord):
    """A ``PendingRecord`` whose canonical JSON was computed already (by a worker).

    ``data`` is exactly ``PendingRecord.canonical()`` of the record it was made from; the
    body is dropped once it is in ``data`` (the writer reads only ``canonical()``).
    """

    data: bytes = b""

    def canonical(self) -> bytes:
        return self.data

    @classmethod
    def of(cls, record: PendingRecord) -> Canonical:
        return cls(
            record.x_road_id,
            record.kind,
            record.recorded_at,
            record.client,
            record.subject,
            {},
            record.signatures,
            data=record.canonical(),
        )


class ExchangeMaker:
    """Makes ``accepted`` + ``answered`` record pairs of person lookups by the one-stop portal."""

    def __init__(self, pki: Path, keys: EvidenceKeys, *, seed: int | None = None) -> None:
        self.pki = pki
        self.keys = keys
        self.rng = random.Random(seed)  # synthetic data, not secrets
        self.provider = Signer.from_files(*Authority(pki).member_paths(reqs.POPULATION))
        consumer = Signer.from_files(*Authority(pki).member_paths(reqs.ONE_STOP))
        self.client_cert = fingerprint(consumer.certificate)
        self.policy = Policy.from_dir(DEFAULT_POLICY_DIR)
        self.catalogue = Catalogue.of({reqs.POPULATION: SIGNED_FOR})
        self.catalogue.install(population_catalogue(reqs.POPULATION))
        self.provinces = sorted(LEGACY_PROVINCES)

    def personal_id(self) -> str:
        rng = self.rng
        return make_personal_id(
            rng.choice(self.provinces),
            rng.randint(1940, 2007),
            rng.choice(("male", "female")),
            rng.randrange(1_000_000),
        )

    def make(self, exchanges: int) -> list[PendingRecord]:
        """``2 * exchanges`` records: each exchange's ``accepted`` then its ``answered``."""
        ids = [self.personal_id() for _ in range(exchanges)]
        out: list[PendingRecord] = []
        for pid, request in zip(ids, reqs.gateway_requests(self.pki, SIGNED_FOR, ids), strict=True):
            out.extend(self._records(pid, request))
        return out

    def _records(self, pid: str, request: Prepared) -> tuple[PendingRecord, PendingRecord]:
        """The records ``gateway.exchange`` writes for ``request`` answered 200 with ``pid``."""
        now = utcnow()
        headers = read_headers(
            [(k.lower().encode(), v.encode()) for k, v in request.headers.items()]
        )
        url = urlsplit(request.url)
        target = parse_target(url.path.encode("ascii"))
        client = parse_client(headers.client)
        service = target.service
        jws = headers.signature
        if service is None or jws is None or headers.id is None:
            raise ValueError("a signed service request was expected")
        op, params = self.catalogue.match(service, request.method, target.rest)
        fields = parse_qs(url.query).get("fields")
        decision = self.policy.authorize(
            client=client,
            service=service,
            method=request.method,
            path=op.path,
            personal_data=op.operation.personal_data,
            operation_fields=op.fields,
            purpose_code=headers.purpose,
            requested=fields[0].split(",") if fields else None,
        )
        subject = self.keys.pseudonym(op.subject(params, None))
        trail = Trail(
            x_road_id=headers.id,
            started=0.0,
            method=request.method,
            client=client,
            service=service,
            operation=op,
            headers=headers,
            body_sha256=sha256_b64url(request.body),
            client_jws=jws,
            client_cert=self.client_cert,
            decision=decision,
            subject=subject,
        )
        base = trail.base(self.keys)
        request_hash = sha256_b64url(jws.encode("ascii"))
        accepted = PendingRecord(
            x_road_id=trail.x_road_id,
            kind="accepted",
            recorded_at=now,
            client=str(client),
            subject=subject,
            body={
                **base,
                "legal_basis": decision.purpose.legal_basis if decision.purpose else None,
                "fields": list(decision.fields) if decision.fields is not None else None,
                "grants": sorted(decision.grants),
                "request_hash": request_hash,
            },
            signatures=[self.keys.seal(jws)],
        )
        answer = self._answer(pid, decision.fields or ())
        ms = round(self.rng.uniform(2.0, 15.0), 3)
        response_jws = self.provider.sign(
            {
                "iss": reqs.POPULATION,
                "jti": trail.x_road_id,
                "request_hash": request_hash,
                "status": 200,
                "body_sha256": sha256_b64url(answer),
                "iat": timestamp(now),
            },
            typ=TYP_RESPONSE,
        )
        answered = PendingRecord(
            x_road_id=trail.x_road_id,
            kind="answered",
            recorded_at=now + dt.timedelta(milliseconds=ms),
            client=str(client),
            subject=subject,
            body={
                "client": base["client"],
                "service": base["service"],
                "status": 200,
                "outcome": "ok",
                "provider_status": 200,
                "response_sha256": sha256_b64url(answer),
                "response_jws_sha256": sha256_b64url(response_jws.encode()),
                "request_hash": request_hash,
                "ms": ms,
            },
            signatures=[self.keys.seal(response_jws)],
        )
        return accepted, answered

    def _answer(self, pid: str, fields: tuple[str, ...]) -> bytes:
        """A registry answer of the shape the population registry gives (only hashed)."""
        rng = self.rng
        values: dict[str, Any] = {
            "personal_id": pid,
            "full_name": f"Nguyễn Văn {rng.randrange(10**6):06d}",
            "date_of_birth": f"{rng.randint(1940, 2007)}-{rng.randint(1, 12):02d}-01",
            "sex": rng.choice(("male", "female")),
            "permanent_residence": {
                "commune_code": f"{rng.randrange(100000):05d}",
                "address": f"Số {rng.randint(1, 300)}, ngõ {rng.randint(1, 99)}",
            },
        }
        return orjson.dumps({f: values.get(f) for f in ("personal_id", *fields)})


# -- the worker pool ---------------------------------------------------------------------------

_maker: ExchangeMaker | None = None


def _init_worker(pki: Path, keys: EvidenceKeys) -> None:
    global _maker  # one maker (signers, policy, catalogue) per worker process
    _maker = ExchangeMaker(pki, keys, seed=int.from_bytes(os.urandom(8), "big"))


def _make_task(exchanges: int, precompute: bool) -> list[PendingRecord]:
    if _maker is None:  # pragma: no cover - the initializer always ran
        raise RuntimeError("worker not initialized")
    records = _maker.make(exchanges)
    return [Canonical.of(r) for r in records] if precompute else records


def _ready() -> bool:
    return _maker is not None


@contextlib.contextmanager
def exchange_pool(
    pki: Path, keys: EvidenceKeys, workers: int | None = None
) -> Iterator[ProcessPoolExecutor]:
    """Worker processes making exchanges, forked and started before any thread or loop."""
    count = workers or os.cpu_count() or 1
    pool = ProcessPoolExecutor(
        max_workers=count,
        mp_context=get_context("fork"),
        initializer=_init_worker,
        initargs=(pki, keys),
    )
    try:
        for future in [pool.submit(_ready) for _ in range(count)]:
            future.result()
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def make_exchanges(
    pki: Path, keys: EvidenceKeys, exchanges: int, *, workers: int | None = None
) -> list[PendingRecord]:
    """``2 * exchanges`` fresh records (not yet canonicalized), made on every core."""
    with exchange_pool(pki, keys, workers) as pool:
        sizes = [min(CHUNK, exchanges - i) for i in range(0, exchanges, CHUNK)]
        out: list[PendingRecord] = []
        for part in pool.map(_make_task, sizes, [False] * len(sizes)):
            out.extend(part)
    return out


# -- a kept log --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogDir:
    """A complete evidence log in a gateway's var dir, and how it was made."""

    var_dir: Path
    records: int
    checkpoints: int
    #: How the build went (records, checkpoints, seconds, cpu_s, made_at, ...).
    stamp: dict[str, Any]
    #: Whether this run built it (False: an earlier run's log was reused).
    built: bool

    @property
    def pki(self) -> Path:
        return self.var_dir / "pki"

    @property
    def db_path(self) -> Path:
        return self.var_dir / "db" / "gateway.sqlite3"

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.db_path}"


def ensure_log(
    records: int,
    var_root: Path = DEFAULT_VAR_ROOT,
    *,
    workers: int | None = None,
    checkpoint_every: int = 2 * CHUNK,
) -> LogDir:
    """The kept log of ``records`` records under ``var_root`` (built now if there is none).

    ``records`` is rounded down to an even number (two records per exchange). A checkpoint
    is signed and timestamped after every ``checkpoint_every`` records (about every 2 s at
    2,000 records/s, as the gateway's default interval would) and at the end.
    """
    records -= records % 2
    if records < 2:
        raise ValueError("a log needs at least one exchange (two records)")
    var_dir = var_root / f"log-{records}"
    stamp_path = var_dir / STAMP
    if stamp_path.exists():
        stamp = json.loads(stamp_path.read_text())
        if stamp.get("format") == FORMAT and stamp.get("records") == records:
            ensure_dev_pki(var_dir / "pki")  # keeps the CRL fresh; the CA and keys stay
            return LogDir(var_dir, records, int(stamp["checkpoints"]), stamp, built=False)
    if var_dir.exists():
        shutil.rmtree(var_dir)  # an interrupted or outdated build
    var_dir.mkdir(parents=True)
    stamp = build_log(var_dir, records, workers=workers, checkpoint_every=checkpoint_every)
    tmp = stamp_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(stamp, indent=2) + "\n")
    os.replace(tmp, stamp_path)
    return LogDir(var_dir, records, int(stamp["checkpoints"]), stamp, built=True)


def _cpu_s() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def build_log(
    var_dir: Path, records: int, *, workers: int | None = None, checkpoint_every: int = 2 * CHUNK
) -> dict[str, Any]:
    """Write ``records`` records and their checkpoints into a fresh var dir; return the stamp."""
    started, cpu0 = time.perf_counter(), _cpu_s()
    pki = var_dir / "pki"
    ensure_dev_pki(pki)
    keys = EvidenceKeys.load_or_create(var_dir / "gateway")
    (var_dir / "db").mkdir(parents=True, exist_ok=True)
    with exchange_pool(pki, keys, workers) as pool:  # forked before the writer's threads
        engine = make_engine(f"sqlite:///{var_dir / 'db' / 'gateway.sqlite3'}", synchronous="FULL")
        try:
            metadata.create_all(engine)
            checkpoints = asyncio.run(
                _fill(
                    engine,
                    pool,
                    pki,
                    records // 2,
                    checkpoint_every,
                    workers or os.cpu_count() or 1,
                )
            )
        finally:
            engine.dispose()
    seconds = time.perf_counter() - started
    return {
        "format": FORMAT,
        "records": records,
        "exchanges": records // 2,
        "checkpoints": checkpoints,
        "seconds": round(seconds, 1),
        "records_per_s": round(records / seconds, 1),
        "cpu_s": round(_cpu_s() - cpu0, 1),
        "made_at": utcnow().isoformat().replace("+00:00", "Z"),
    }


async def _fill(
    engine: Any,
    pool: ProcessPoolExecutor,
    pki: Path,
    exchanges: int,
    checkpoint_every: int,
    workers: int,
) -> int:
    """Stream chunks from the pool through the writer, checkpointing as the log grows."""
    loop = asyncio.get_running_loop()
    writer = RecordWriter(engine, window_s=COMMIT_WINDOW_MS / 1000, max_batch=2 * CHUNK)
    store = LogStore(engine)
    checkpointer = _checkpointer(store, pki)
    await writer.start()
    pending: deque[asyncio.Future[list[PendingRecord]]] = deque()
    last = made = 0

    async def take() -> None:
        nonlocal last, made
        await writer.append(await pending.popleft())
        if writer.size - last >= checkpoint_every:
            made += await checkpointer.tick() is not None
            last = writer.size

    try:
        chunk = max(1, min(CHUNK, checkpoint_every // 2))  # a checkpoint falls between chunks
        for start in range(0, exchanges, chunk):
            count = min(chunk, exchanges - start)
            pending.append(loop.run_in_executor(pool, _make_task, count, True))
            while len(pending) > 2 * workers:
                await take()
        while pending:
            await take()
        if last != writer.size:
            made += await checkpointer.tick() is not None
    finally:
        await writer.stop()
    if checkpointer.untimestamped_since is not None:
        raise RuntimeError("a checkpoint of the benchmark log could not be timestamped")
    return made


def _checkpointer(store: LogStore, pki: Path) -> Checkpointer:
    """The gateway's checkpointer with the dev note key and the dev TSA, in-process."""
    unit = load_unit(TsaSettings(pki_dir=pki))
    cas = TrustStore.from_files(pki / "ca.crt", pki / "crl.pem").cas

    async def timestamper(data: bytes) -> bytes:
        now = utcnow()
        token = token_from_reply(unit.respond(timestamp_request(data), now=now).der)
        verify_timestamp(token, data, ca_certificates=cas, now=now)  # as the gateway keeps them
        return token

    return Checkpointer(
        store,
        signer=load_note_signer(pki, LOG_ORIGIN),
        origin=LOG_ORIGIN,
        timestamper=timestamper,
        clock=utcnow,
    )
