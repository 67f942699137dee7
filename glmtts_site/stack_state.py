"""Where a running `make run` stack can be found by other processes of the same checkout.

`make run` starts a private Redis on a free port when REDIS_URL is unset. Everything else started from
the checkout meanwhile (`manage.py synthesize` in a second terminal, `create_api_token`, `shell`) must
talk to that Redis, not to whatever listens on the default port. The stack writes its URL to
`<VAR_DIR>/run/stack.json` while it runs; settings read it when REDIS_URL is unset and the stack's
process is alive. No Django here: settings import it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def state_file(var_dir: Path) -> Path:
    return var_dir / "run" / "stack.json"


def write_stack_state(var_dir: Path, *, redis_url: str) -> Path:
    path = state_file(var_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps({"redis_url": redis_url, "pid": os.getpid()}))
    partial.replace(path)
    return path


def clear_stack_state(var_dir: Path) -> None:
    path = state_file(var_dir)
    try:
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


def running_stack_redis_url(var_dir: Path) -> str | None:
    """The private Redis URL of a stack running from this checkout, if any (its process is alive)."""
    try:
        state = json.loads(state_file(var_dir).read_text())
        os.kill(int(state["pid"]), 0)  # signal 0: is it alive?
    except (OSError, ValueError, KeyError, TypeError):
        return None
    url = state.get("redis_url")
    return url if isinstance(url, str) and url.startswith(("redis://", "unix://")) else None


def default_redis_url(var_dir: Path) -> str:
    return running_stack_redis_url(var_dir) or DEFAULT_REDIS_URL
