"""The whole OpenAPI schema fuzzed against the real server (schemathesis, a real Daphne, real Redis and
database): no 5xx, every status and content type documented, every response body as the schema says.

Bounded: a fixed seed, a few examples per operation and a time budget (fuzzing repeats until it is
spent). No worker runs, so submits
queue (202) and the two endpoints that wait for audio answer 503 no_worker, which schemathesis.toml
declares expected there (their happy path runs with a real worker in test_streaming_endpoints).
Revoking tokens is fuzzed in a run of its own, last, since the fuzzer revokes the token it uses.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.contrib.auth.models import User

from accounts.models import ApiToken
from accounts.tokens import TOKEN_PREFIX, display_prefix, token_digest
from tests.support.processes import Daphne
from tests.support.results import finished_job

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
# The coverage phase (every operation's boundary cases, deterministic) takes ~18 s here and one round of
# fuzzing ~10 s; the rest of the budget repeats fuzzing with new random cases.
TIME_BUDGET_S = 50
REVOKE_BUDGET_S = 15
CONFIG = Path(__file__).with_name("schemathesis.toml")
REVOKE = "api_v1_tokens_destroy"


@pytest.fixture
def server(tmp_path: Path, redis_isolated: redis.Redis, transactional_db: None) -> Iterator[Daphne]:
    # Limits stay on (429 is documented); the per-user submit limit is raised so submits get exercised.
    web = Daphne(tmp_path, RATE_LIMIT_SUBMIT="600/min", RATE_LIMIT_IP_COSTLY="6000/min")
    yield web
    web.stop()


def _token(user: User, token_id: int) -> str:
    """A token with a chosen id: one the fuzzer will not revoke by chance (DELETE /api/v1/tokens/{id} is
    fuzzed too), made directly (the fuzzer exhausts the user's token_create rate limit)."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    ApiToken.objects.create(id=token_id, user=user, name="fuzz", prefix=display_prefix(raw), digest=token_digest(raw))
    return raw


def _fuzz(server: Daphne, token: str, *, budget_s: int, only: list[str] | None = None,
          skip: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "schemathesis"), "--config-file", str(CONFIG), "run",
               f"{server.url}/api/schema/", "--checks", CHECKS, "--header", f"Authorization: Bearer {token}",
               "--max-examples", "12", "--seed", "20261202", "--workers", "2", "--max-time", str(budget_s),
               "--request-timeout", "30", "--phases", "examples,coverage,fuzzing", "--no-color",
               "--suppress-health-check", "all"]
    for operation_id in only or []:
        command += ["--include-operation-id", operation_id]
    for operation_id in skip or []:
        command += ["--exclude-operation-id", operation_id]
    return subprocess.run(command, capture_output=True, text=True, timeout=budget_s + 240)


def test_every_operation_conforms_to_the_schema(server: Daphne, staff_user: User) -> None:
    finished_job(staff_user)  # something to list, read and fetch
    # Both tokens first: tokens the fuzzer creates take the ids after the highest (SQLite's rowid).
    main_token, revoke_token = _token(staff_user, 987_654_321), _token(staff_user, 987_654_322)
    main = _fuzz(server, main_token, budget_s=TIME_BUDGET_S, skip=[REVOKE])
    assert main.returncode == 0, main.stdout[-20_000:] + main.stderr[-5_000:]
    revoke = _fuzz(server, revoke_token, budget_s=REVOKE_BUDGET_S, only=[REVOKE])
    assert revoke.returncode == 0, revoke.stdout[-20_000:] + revoke.stderr[-5_000:]
