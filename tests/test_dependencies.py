"""The dependency rule, read from the source (every import statement, at any depth):

1. The engines and text processing are a library: `workers/engines/` and `workers/text/` import neither
   Django (nor DRF, Channels) nor any package of the site, nor the rest of `workers/`. The site meets
   them in `workers/engine_registry.py`, which builds them from the settings.
2. No function-local import of the site's own modules: a cycle is broken by moving code, not hidden
   (an app's `ready()` importing its signal handlers or schema extensions, Django's idiom, excepted).
3. The web side never imports the worker process: `synthesis/`, `voices/`, `accounts/`, `frontend/` and
   the site package import none of the modules that run jobs (WORKER_PROCESS); the worker uses
   synthesis services, never the reverse.
4. Inside `synthesis/`, the sub-packages are layers, and a module imports only its own layer or those
   below it (SYNTHESIS_LAYERS): models and engine facts < results (storage, cache) < jobs (the lifecycle,
   events, the queue's feed) < submit (the one road that creates jobs) < the surfaces (REST views and
   serializers, websockets and streams, the compatible APIs, admin, commands) < the cache-hit hot path.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SITE_PACKAGES = ("accounts", "frontend", "glmtts_site", "synthesis", "voices", "workers")
LIBRARY = ("workers/engines", "workers/text")
FRAMEWORKS = ("django", "rest_framework", "channels", "channels_redis", "daphne", "drf_spectacular")
LIBRARY_MODULES = ("workers.engines", "workers.text")
# The worker process's own modules: what runs jobs. The `workers` app's web views, the heartbeat and engine
# state readers and the queue's depth are read by the web too; these never are.
WORKER_PROCESS = ("workers.runner", "workers.job_consumer", "workers.jobrun", "workers.worker_loops", "workers.startup",
                  "workers.asr", "workers.voice_tasks", "workers.voice_cache", "workers.control",
                  "workers.management")


SYNTHESIS_LAYERS: tuple[tuple[str, ...], ...] = (
    ("synthesis.models", "synthesis.engines_info"),
    ("synthesis.results",),
    # Deletion signals clean up stored copies and purge results from the edge (results' paths); the app
    # config connects them.
    ("synthesis.jobs", "synthesis.signals", "synthesis.apps"),
    ("synthesis.submit",),
    ("synthesis.serializers", "synthesis.apis", "synthesis.audio_views", "synthesis.realtime", "synthesis.compat",
     "synthesis.admin", "synthesis.urls", "synthesis.management"),
    ("synthesis.hotpath",),
)


def _modules(*roots: str) -> Iterator[Path]:
    for root in roots:
        for path in sorted((ROOT / root).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def _imports(path: Path) -> Iterator[tuple[str, ast.AST, bool]]:
    """(absolute module name, node, inside a function) for every import in the file."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    tree = ast.parse(path.read_text(), filename=str(path))
    local: set[int] = set()
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            local.update(id(node) for node in ast.walk(function) if isinstance(node, ast.Import | ast.ImportFrom))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node, id(node) in local
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            for alias in node.names:  # `from workers import runner` names the module workers.runner
                yield f"{name}.{alias.name}", node, id(node) in local


def _top(name: str) -> str:
    return name.split(".")[0]


@pytest.mark.parametrize("path", list(_modules(*LIBRARY)), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_library_imports_nothing_of_the_site(path: Path) -> None:
    for name, node, _ in _imports(path):
        outside_library = _top(name) in SITE_PACKAGES and not name.startswith(LIBRARY_MODULES)
        assert _top(name) not in FRAMEWORKS and not outside_library, \
            f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')} imports {name}"


def test_no_function_local_imports_of_the_site() -> None:
    found = []
    for path in _modules(*SITE_PACKAGES):
        for name, node, local in _imports(path):
            registers = path.name == "apps.py"  # ready() registering signal handlers and extensions: Django's idiom
            if local and _top(name) in SITE_PACKAGES and not registers:
                found.append(f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')} {name}")
    assert found == []


def test_the_web_side_never_imports_the_worker_process() -> None:
    found = []
    for path in _modules("accounts", "frontend", "glmtts_site", "synthesis", "voices"):
        for name, node, _ in _imports(path):
            if name.startswith(WORKER_PROCESS):
                found.append(f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')} {name}")
    assert found == []


def _layer(module: str) -> int | None:
    for index, prefixes in enumerate(SYNTHESIS_LAYERS):
        if any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes):
            return index
    return None


def test_every_synthesis_module_has_a_layer() -> None:
    unplaced = [str(path.relative_to(ROOT)) for path in _modules("synthesis")
                if path.name != "__init__.py" and _layer(_module_name(path)) is None]
    assert unplaced == []


def test_synthesis_sub_packages_import_only_downwards() -> None:
    found = []
    for path in _modules("synthesis"):
        own = _layer(_module_name(path))
        for name, node, _ in _imports(path):
            target = _layer(name) if _top(name) == "synthesis" else None
            if own is not None and target is not None and target > own:
                found.append(f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')} imports {name}")
    assert found == []


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)
