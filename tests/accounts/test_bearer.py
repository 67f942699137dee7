"""One reading of the Authorization header for every surface: DRF views, websockets and the hit path
agree on what is a Bearer token, what is malformed and what is somebody else's scheme."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.models import User

from accounts.tokens import BearerHeader, parse_bearer
from synthesis.jobs.services import job_create
from synthesis.realtime.protocol import CLOSE_NOT_SIGNED_IN
from tests.support.sockets import open_socket


@pytest.mark.parametrize("header,expected", [
    ("", BearerHeader(False, None)), ("Basic dXNlcjpwYXNz", BearerHeader(False, None)),
    ("Bearer gtts_abc", BearerHeader(True, "gtts_abc")), ("bearer   gtts_abc  ", BearerHeader(True, "gtts_abc")),
    ("Bearer ", BearerHeader(True, None)), ("Bearer a b", BearerHeader(True, None)),
    ("Bearer", BearerHeader(True, None)),
])
def test_the_header_is_read_one_way(header: str, expected: BearerHeader) -> None:
    assert parse_bearer(header) == expected


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("header", [b"Bearer ", b"Bearer a b", b"Bearer gtts_not-a-real-token"])
async def test_a_socket_with_a_bad_bearer_header_is_refused_even_with_a_session(owner: User, header: bytes) -> None:
    """As the REST API answers 401 for these, the socket does not fall back to the browser session."""
    job = await database_sync_to_async(job_create)(owner=owner, text="Somebody's job.", enqueue=False)
    communicator = open_socket(f"/ws/jobs/{job.pk}/", user=owner,
                               headers=[(b"origin", b"http://127.0.0.1"), (b"authorization", header)])
    assert (await communicator.connect())[0]
    assert (await communicator.receive_json_from(timeout=5))["code"] == "not_authenticated"
    assert (await communicator.receive_output(timeout=5))["code"] == CLOSE_NOT_SIGNED_IN
    await communicator.disconnect()
