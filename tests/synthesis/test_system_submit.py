"""The system's and operators' jobs take the same road as users' submits (synthesis.submit.services):
the same checks, the same cache hits, and single-flight with an identical job in flight."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from glmtts_site.errors import ApiError
from synthesis.models import SynthesisJob
from synthesis.results.cache import CachedResult
from synthesis.submit.cache_warm import warm_phrases
from synthesis.submit.services import Submitted, synthesis_submit, system_submit
from tests.support.results import announce_engine, cached_result_for
from workers.engines.params import SynthesisParams

pytestmark = pytest.mark.django_db
TEXT = "The same words, asked for twice."


def _submitted(result: Submitted | CachedResult) -> SynthesisJob:
    assert isinstance(result, Submitted), result
    return result.job


def test_an_identical_system_job_follows_the_one_in_flight(redis_isolated: object) -> None:
    announce_engine()
    first = _submitted(system_submit(owner=None, text=TEXT, params=SynthesisParams()))
    second = _submitted(system_submit(owner=None, text=TEXT, params=SynthesisParams()))
    assert first.leader_id is None and first.fingerprint
    assert str(second.leader_id) == str(first.pk) and second.fingerprint == first.fingerprint
    assert not first.quota_held and first.characters_charged == 0  # nobody is charged for it


def test_cache_warm_follows_a_users_job_in_flight(owner: User, redis_isolated: object) -> None:
    announce_engine()
    users = synthesis_submit(owner=owner, text=TEXT, params=SynthesisParams()).job
    report = warm_phrases([TEXT])
    warm = SynthesisJob.objects.exclude(pk=users.pk).get(text=TEXT)
    assert report.queued == 1 and report.cached == 0
    assert str(warm.leader_id) == str(users.pk) and warm.owner is None


def test_a_cached_result_is_returned_and_no_row_is_written(redis_isolated: object) -> None:
    fingerprint = cached_result_for(TEXT)
    result = system_submit(owner=None, text=TEXT, params=SynthesisParams())
    assert isinstance(result, CachedResult) and result.fingerprint == fingerprint
    assert not SynthesisJob.objects.exists()
    assert warm_phrases([TEXT]).cached == 1


@pytest.mark.parametrize(("text", "engine_id", "voice_preset", "code"), [
    ("   ", "", "", "empty_text"),
    ("x" * 5001, "", "", "text_too_long"),
    (TEXT, "no-such-engine", "", "unknown_engine"),
    (TEXT, "", "no_such_voice", "unknown_voice"),
])
def test_it_is_checked_like_a_users_submit(text: str, engine_id: str, voice_preset: str, code: str,
                                           redis_isolated: object) -> None:
    announce_engine()
    with pytest.raises(ApiError) as raised:
        system_submit(owner=None, text=text, engine_id=engine_id, voice_preset=voice_preset, params=SynthesisParams())
    assert raised.value.code == code
    assert not SynthesisJob.objects.exists()
