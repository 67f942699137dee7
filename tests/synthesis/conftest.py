"""Per-test reset of the hit path's process-wide state, so no test sees another's."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import redis

from synthesis.engines_info import recent_versions
from synthesis.jobs import history
from synthesis.submit.lookup import l1_hits
from tests.support.sockets import close_all


@pytest.fixture(autouse=True)
def _fresh_hit_path(redis_isolated: redis.Redis) -> Iterator[None]:
    recent_versions.forget()
    yield
    l1_hits.discard()  # a tally flushed later would land in another test's statistics
    recent_versions.forget()
    history.close()  # its connection must not outlive the test database (PostgreSQL drops it)


@pytest.fixture(autouse=True)
async def _sockets_closed() -> AsyncIterator[None]:
    yield
    await close_all()
