"""What each web process counts: requests by route, cache lookups by level, refusals, single-flight."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper

from glmtts_site.ratelimit import RateLimited, rate_limit
from synthesis.results import cache
from synthesis.results.cache import cache_get
from synthesis.submit.services import synthesis_submit
from tests.support.results import announce_engine, cached_result_for
from workers.engines.params import SynthesisParams

from .scrape import TOKEN, scrape, value


@pytest.fixture(autouse=True)
def metrics_on(settings: SettingsWrapper) -> None:
    settings.METRICS_TOKEN = TOKEN


def test_requests_are_counted_by_route_pattern_not_path(client: Client, db: None) -> None:
    before = scrape()
    client.get("/health")
    client.get("/health")
    client.get("/a/nonexistent-token.mp3")
    client.get("/no/such/page/at/all")
    after = scrape()
    for route, status, added in (("/health", "200", 2), ("/a/<str:token>.<str:ext>", "404", 1),
                                 ("unmatched", "404", 1)):
        labels = {"route": route, "method": "GET", "status": status}
        assert value(after, "glmtts_http_requests_total", **labels) \
            - value(before, "glmtts_http_requests_total", **labels) == added
    assert not [s for s in after if "nonexistent-token" in str(s.labels)]  # no label value per path
    assert value(after, "glmtts_http_request_duration_seconds_count", route="/health", method="GET") \
        - value(before, "glmtts_http_request_duration_seconds_count", route="/health", method="GET") == 2


def test_a_made_up_method_is_one_label_value(client: Client) -> None:
    client.generic("BREW", "/health")
    assert value(scrape(), "glmtts_http_requests_total", route="/health", method="other") >= 1


def _lookups(level: str, outcome: str) -> float:
    return value(scrape(), "glmtts_cache_lookups_total", level=level, outcome=outcome)


def test_cache_lookups_by_level_and_outcome(db: None) -> None:
    fingerprint = cached_result_for("Counted lookups.")
    cache.l1.clear()
    levels = [("L1", "hit"), ("L1", "miss"), ("L2", "hit"), ("L2", "miss"), ("L3", "hit"), ("L3", "stale")]
    before = {pair: _lookups(*pair) for pair in levels}
    assert cache_get(fingerprint) is not None  # L1 miss, L2 hit, L3 hit
    assert cache_get(fingerprint) is not None  # L1 hit
    assert cache_get("f" * 64) is None  # L1 miss, L2 miss
    added = {pair: _lookups(*pair) - before[pair] for pair in levels}
    assert added == {("L1", "hit"): 1, ("L1", "miss"): 2, ("L2", "hit"): 1, ("L2", "miss"): 1,
                     ("L3", "hit"): 1, ("L3", "stale"): 0}


def test_a_pointer_without_its_file_is_an_l3_stale(db: None, media_tmp: object) -> None:
    fingerprint = cached_result_for("Its file goes missing.")
    cache.l1.clear()
    result = cache_get(fingerprint)
    assert result is not None
    cache.l1.clear()
    for name in result.files.values():
        default_storage.delete(name)
    before = _lookups("L3", "stale")
    assert cache_get(fingerprint) is None
    assert _lookups("L3", "stale") - before == 1


def test_rate_limit_refusals_are_counted_by_limit(settings: SettingsWrapper) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "submit": "1/hour"}
    before = value(scrape(), "glmtts_limit_refusals_total", kind="rate_limit", limit="submit")
    rate_limit("submit", "metrics-user")
    with pytest.raises(RateLimited):
        rate_limit("submit", "metrics-user")
    assert value(scrape(), "glmtts_limit_refusals_total", kind="rate_limit", limit="submit") - before == 1


def test_single_flight_followers_are_counted(owner: User, other_user: User, settings: SettingsWrapper) -> None:
    announce_engine()
    before = value(scrape(), "glmtts_singleflight_followers_total")
    first = synthesis_submit(owner=owner, text="One flight for both.", params=SynthesisParams())
    second = synthesis_submit(owner=other_user, text="One flight for both.", params=SynthesisParams())
    assert str(second.job.leader_id) == str(first.job.pk)
    assert value(scrape(), "glmtts_singleflight_followers_total") - before == 1
