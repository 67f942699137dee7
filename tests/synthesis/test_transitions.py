"""Every status change follows services.TRANSITIONS: from each status, each service either moves the row
to its status (when the table allows it) or leaves it as it is; and no code outside the services writes
a job's status."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import pytest

from synthesis.jobs import services
from synthesis.models import JobStatus, SynthesisJob

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
CALLS: dict[str, Callable[[str], object]] = {
    "job_mark_running": lambda job_id: services.job_mark_running(job_id=job_id, worker_id="w"),
    "job_mark_failed": lambda job_id: services.job_mark_failed(job_id=job_id, code="c", message="m"),
    "job_mark_cancelled": lambda job_id: services.job_mark_cancelled(job_id=job_id),
    "job_mark_requeued": lambda job_id: services.job_mark_requeued(job_id=job_id, reason="r"),
    "job_mark_retried": lambda job_id: services.job_mark_retried(job_id=job_id),
}


@pytest.mark.parametrize("service", sorted(CALLS))
@pytest.mark.parametrize("status", [choice for choice, _ in JobStatus.choices])
def test_a_service_changes_only_what_the_table_allows(service: str, status: str) -> None:
    job = services.job_create(owner=None, text="A job in every state.", enqueue=False)
    SynthesisJob.objects.filter(pk=job.pk).update(status=status)
    CALLS[service](str(job.pk))
    target, sources = services.TRANSITIONS[service]
    assert SynthesisJob.objects.get(pk=job.pk).status == (target if status in sources else status)


def test_every_service_of_the_table_exists() -> None:
    assert set(services.TRANSITIONS) == {*CALLS, "job_mark_done"}


def _writes_status(node: ast.AST) -> bool:
    """`.update(status=...)`, `job.status = ...` or `job.status, ... = ...`."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "update":
        return any(keyword.arg == "status" for keyword in node.keywords)
    if isinstance(node, ast.Assign):
        targets = [t for target in node.targets for t in (target.elts if isinstance(target, ast.Tuple) else [target])]
        return any(isinstance(t, ast.Attribute) and t.attr == "status" and not _is_worker_state(t.value)
                   for t in targets)
    return False


def _is_worker_state(node: ast.AST) -> bool:
    """`self.state`: a worker's own heartbeat status, not a job's."""
    return isinstance(node, ast.Attribute) and node.attr == "state"


def test_no_code_outside_the_services_writes_a_job_status() -> None:
    owners = {ROOT / "synthesis" / "jobs" / "services.py"}
    found = []
    for package in ("accounts", "frontend", "glmtts_site", "synthesis", "voices", "workers"):
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts or path in owners:
                continue
            tree = ast.parse(path.read_text())
            found += [f"{path.relative_to(ROOT)}:{node.lineno}" for node in ast.walk(tree) if _writes_status(node)
                      and hasattr(node, "lineno")]
    assert found == []
