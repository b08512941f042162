import pytest

from tests.fixtures.gateway import InProcessExchange
from tests.fixtures.world import LinkedWorld

pytestmark = pytest.mark.anyio


async def test_person_fetched_through_gateway(exchange: InProcessExchange, linked_world: LinkedWorld) -> None:
    pid = linked_world.population.people[0].personal_id
    one_stop = exchange.member("VN/GOV/UBND-HN/one-stop")
    r = await one_stop.call(
        "GET",
        f"/r1/VN/GOV/BCA/population/persons/{pid}?fields=full_name,date_of_birth",
        purpose="household-business-registration",
    )
    print(r.status_code, r.headers, r.text)
    assert r.status_code == 200
