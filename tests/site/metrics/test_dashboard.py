"""The Grafana dashboard in deploy/grafana/ asks only for metrics that /metrics really exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from pytest_django.fixtures import Settings as SettingsWrapper

from tests.support.heartbeats import write_heartbeat
from tests.support.results import finished_job
from workers import metrics as worker_metrics

from .scrape import TOKEN, family_names

DASHBOARDS = sorted((Path(__file__).resolve().parents[3] / "deploy" / "grafana").glob("*.json"))
_METRIC = re.compile(r"\bglmtts_[a-z0-9_]+")
_SUFFIXES = ("_total", "_bucket", "_count", "_sum")


def _expressions(node: object) -> list[str]:
    if isinstance(node, dict):
        found = [node["expr"]] if isinstance(node.get("expr"), str) else []
        return found + [e for value in node.values() for e in _expressions(value)]
    if isinstance(node, list):
        return [e for item in node for e in _expressions(item)]
    return []


def _family(name: str) -> str:
    """The family a sample name belongs to (as the text-format parser names it)."""
    for suffix in _SUFFIXES:
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return name


def test_there_is_a_dashboard_with_panels() -> None:
    assert DASHBOARDS
    for path in DASHBOARDS:
        assert len(_expressions(json.loads(path.read_text()))) >= 20


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_every_metric_the_dashboard_uses_is_exported(path: Path, owner: User, settings: SettingsWrapper) -> None:
    settings.METRICS_TOKEN = TOKEN
    worker_metrics.observe_job(finished_job(owner), "done")
    write_heartbeat("w-dashboard", status="busy")  # a live worker, so its snapshot is exported
    exported = family_names()
    used = {_family(name) for expr in _expressions(json.loads(path.read_text())) for name in _METRIC.findall(expr)}
    assert used and used <= exported, sorted(used - exported)
