"""One parcel's life for the synthetic land registry: holders, certificates, mortgages.

``ParcelHistory`` turns "these holders acquired this parcel on this day, this way" into the
rows of every table: a first registration (by the State's allocation or recognition, or by
a predecessor the holders bought from, inherited from or were given the parcel by), the
certificate each change of holder issued (the previous one becoming ``replaced``), an
optional later inheritance by a household member, an occasional re-issue or revocation,
and mortgages to banks, released or still active.

Rows are plain tuples in the tables' column order (see ``models.py``); nothing here touches
a database. All randomness comes from the ``random.Random`` passed in, so the rows depend
only on the seed.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from core.ids.units import commune, province
from registries.land import vocabulary as v

#: The first certificates of the 1993 Land Law era.
LAND_ERA_START = date(1994, 1, 1)
#: From this day certificates are issued by the Department of Agriculture and Environment
#: (Sở Nông nghiệp và Môi trường), which absorbed Natural Resources and Environment.
DEPARTMENT_MERGER = date(2025, 3, 1)
#: From this day the new certificate form (Circular 10/2024) with 8-digit serials is used.
NEW_FORM = date(2024, 8, 1)

_SERIES_LETTERS = "ABCDEGHKLMNOPQRSTUVXY"

Row = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Holder:
    """Someone who can hold a right, and the days between which they could act."""

    kind: str  # vocabulary.PERSON | vocabulary.ENTERPRISE
    id: str
    name: str
    earliest: date  # 18th birthday, or founding day
    latest: date  # the day before death, or the reference day

    def party(self, role: str) -> dict[str, str]:
        return {"role": role, "kind": self.kind, "id": self.id, "name": self.name}


@dataclass(frozen=True, slots=True)
class Bank:
    code: str
    name: str
    founded_on: date


@dataclass(slots=True)
class Rows:
    """Everything generated so far, as rows per table, plus the id counters."""

    parcels: list[Row] = field(default_factory=list)
    certificates: list[Row] = field(default_factory=list)
    rights_holders: list[Row] = field(default_factory=list)
    encumbrances: list[Row] = field(default_factory=list)
    transactions: list[Row] = field(default_factory=list)


def random_day(rng: random.Random, first: date, last: date) -> date:
    """A uniformly random day in ``[first, last]`` (``first`` if the range is empty)."""
    a, b = first.toordinal(), last.toordinal()
    return first if b <= a else date.fromordinal(a + int(rng.random() * (b - a + 1)))


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


class ParcelHistory:
    """Writes parcels with their full history into ``Rows``."""

    def __init__(self, rng: random.Random, today: date, banks: list[Bank], rows: Rows) -> None:
        self.rng = rng
        self.today = today
        self.banks = sorted(banks, key=lambda b: (b.founded_on, b.code))
        self._bank_founding = [b.founded_on for b in self.banks]
        self.rows = rows
        self._series_next: dict[str, int] = {}
        self._authority: dict[str, tuple[str, str]] = {}

    # -- certificates --------------------------------------------------------------------

    def _certificate_number(self, issued_on: date) -> str:
        """A certificate serial of the form in use on ``issued_on``, unique by construction.

        Forms changed over the years (2009, 2014, 2020, 2024); each form had its own
        two-letter series and serial width. A counter per series keeps numbers unique.
        """
        if issued_on < date(2009, 12, 10):
            first = "A"
        elif issued_on < date(2014, 7, 5):
            first = "B"
        elif issued_on < date(2020, 1, 1):
            first = "C"
        elif issued_on < NEW_FORM:
            first = "D"
        else:
            first = "E"
        r = self.rng.random()
        series = first + _SERIES_LETTERS[int(r * len(_SERIES_LETTERS))]
        serial = self._series_next.get(series) or 1 + int(r * 1e6) % 60_000
        self._series_next[series] = serial + 1 + int(self.rng.random() * 3)
        width = 8 if first == "E" else 6
        return f"{series} {serial:0{width}d}"

    def _issuing_authority(self, commune_code: str, issued_on: date) -> str:
        names = self._authority.get(commune_code)
        if names is None:
            p = province(commune(commune_code).province_code).name
            names = (f"Sở Tài nguyên và Môi trường {p}", f"Sở Nông nghiệp và Môi trường {p}")
            self._authority[commune_code] = names
        return names[0] if issued_on < DEPARTMENT_MERGER else names[1]

    # -- the parcel ------------------------------------------------------------------------

    def add(
        self,
        *,
        parcel: Row,
        holders: list[Holder],
        marital: bool,
        acquired_on: date,
        origin: str,
        predecessor: Holder | None = None,
        predecessor_on: date | None = None,
        heir: Holder | None = None,
        value_per_m2: float,
    ) -> None:
        """Write one parcel (``parcel`` row already built) and all its history.

        ``predecessor`` is who the holders got the parcel from (by transfer, gift or
        inheritance, per ``origin``) and ``predecessor_on`` when that predecessor was first
        registered; without one, the holders are the first registered holders. ``heir``, if
        given, inherits from the (deceased) holders and is the current holder.
        """
        rng, rows = self.rng, self.rows
        parcel_id, commune_code = parcel[0], parcel[1]
        area_m2: float = parcel[4]
        rows.parcels.append(parcel)
        certs: list[list[Any]] = []  # mutable, status fixed as history goes on

        def issue(on: date, named: list[Holder], kind: str, parties: list[dict[str, str]]) -> None:
            issued_on = min(on + timedelta(days=10 + int(rng.random() * 50)), self.today)
            number = self._certificate_number(issued_on)
            if certs:
                certs[-1][4:7] = [v.CERT_REPLACED, issued_on, number]
            certs.append(
                [
                    number,
                    parcel_id,
                    issued_on,
                    self._issuing_authority(commune_code, issued_on),
                    v.CERT_VALID,
                    None,
                    None,
                    ",".join(h.id for h in named),
                ]
            )
            self._transaction(parcel_id, kind, on, number, parties)

        if predecessor is not None and predecessor_on is not None:
            issue(predecessor_on, [predecessor], v.TX_INITIAL, [predecessor.party("holder")])
            kind, roles = {
                v.ORIGIN_INHERITANCE: (v.TX_INHERITANCE, ("decedent", "heir")),
                v.ORIGIN_GIFT: (v.TX_GIFT, ("donor", "donee")),
            }.get(origin, (v.TX_TRANSFER, ("transferor", "transferee")))
            parties = [predecessor.party(roles[0])] + [h.party(roles[1]) for h in holders]
            issue(acquired_on, holders, kind, parties)
        else:
            issue(acquired_on, holders, v.TX_INITIAL, [h.party("holder") for h in holders])

        current, since, shared = holders, acquired_on, marital
        if heir is not None:
            died = max(h.latest for h in holders) + timedelta(days=1)  # the last death
            on = max(died + timedelta(days=rng.randint(60, 900)), heir.earliest)
            if on <= min(self.today, heir.latest):
                parties = [h.party("decedent") for h in holders] + [heir.party("heir")]
                issue(on, [heir], v.TX_INHERITANCE, parties)
                current, since, shared = [heir], on, False

        last_event = since
        if rng.random() < 0.04:  # re-issue (cấp đổi): worn out, new form, corrected area
            start = add_years(since, 2)
            if start <= self.today:
                on = random_day(rng, start, self.today)
                issue(on, current, v.TX_REISSUE, [h.party("holder") for h in current])
                last_event = on

        revoked = rng.random() < 0.012
        if revoked:
            on = random_day(rng, certs[-1][2], self.today)
            certs[-1][4:6] = [v.CERT_REVOKED, on]
            self._transaction(parcel_id, v.TX_REVOCATION, on, None, [])
        else:
            self._mortgages(parcel_id, current, last_event, area_m2 * value_per_m2)

        rows.certificates.extend(tuple(c) for c in certs)
        share = round(1 / len(current), 4)
        for h in current:
            rows.rights_holders.append(
                (
                    len(rows.rights_holders) + 1,
                    parcel_id,
                    h.kind,
                    h.id,
                    h.name,
                    share,
                    shared,
                    since,
                )
            )

    def _transaction(
        self,
        parcel_id: str,
        kind: str,
        on: date,
        certificate_number: str | None,
        parties: list[dict[str, str]],
    ) -> None:
        tx = self.rows.transactions
        tx.append((len(tx) + 1, parcel_id, kind, on, certificate_number, parties))

    def _mortgages(
        self, parcel_id: str, holders: list[Holder], since: date, value_vnd: float
    ) -> None:
        """Maybe a released mortgage, then maybe an active one, while every holder lives."""
        rng = self.rng
        if not self.banks:
            return
        until = min(min(h.latest for h in holders), self.today)
        first = since + timedelta(days=30)
        if rng.random() < 0.12 and first < until:
            registered = random_day(rng, first, until)
            released = random_day(rng, registered + timedelta(days=180), self.today)
            if registered + timedelta(days=180) <= released <= until:
                self._mortgage(parcel_id, holders, registered, released, value_vnd)
                first = released + timedelta(days=1)
        if rng.random() < 0.17 and first < until:
            self._mortgage(parcel_id, holders, random_day(rng, first, until), None, value_vnd)

    def _mortgage(
        self,
        parcel_id: str,
        holders: list[Holder],
        registered: date,
        released: date | None,
        value_vnd: float,
    ) -> None:
        rng = self.rng
        open_by_then = bisect.bisect_right(self._bank_founding, registered)
        if not open_by_then:
            return
        bank = self.banks[rng.randrange(open_by_then)]
        if bank.code in {h.id for h in holders}:
            return
        amount = max(50, round(value_vnd * rng.uniform(0.3, 0.7) / 10_000_000)) * 10_000_000
        enc = self.rows.encumbrances
        status = v.RELEASED if released else v.ACTIVE
        row = (len(enc) + 1, parcel_id, v.MORTGAGE, bank.code, bank.name, amount, registered)
        enc.append((*row, status, released))
        mortgagee = {"role": "mortgagee", "kind": v.ENTERPRISE, "id": bank.code, "name": bank.name}
        parties = [h.party("mortgagor") for h in holders] + [mortgagee]
        self._transaction(parcel_id, v.TX_MORTGAGE, registered, None, parties)
        if released is not None:
            self._transaction(parcel_id, v.TX_MORTGAGE_RELEASE, released, None, parties)
