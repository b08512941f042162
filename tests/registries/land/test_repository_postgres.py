"""Land repository queries on PostgreSQL, at sizes SQLite's tests cannot reach."""

from __future__ import annotations

import pytest

from core.db import make_engine, session_factory
from registries.land import repository
from registries.land.models import Base
from tests.fixtures.postgres import PostgresUrlFactory

#: More ids than one statement may bind on PostgreSQL (65,535 parameters).
TOO_MANY_FOR_ONE_STATEMENT = 70_000


@pytest.mark.postgres
def test_lookups_over_more_parcels_than_one_statement_can_bind(
    postgres_url: PostgresUrlFactory,
) -> None:
    engine = make_engine(postgres_url())
    try:
        Base.metadata.create_all(engine)
        ids = [f"{i:012d}" for i in range(TOO_MANY_FOR_ONE_STATEMENT)]
        with session_factory(engine)() as session:
            assert repository.current_certificates(session, ids) == {}
            assert repository.actively_mortgaged(session, ids) == set()
    finally:
        engine.dispose()
