"""Workers that start together on a fresh cache each get the assembled model (the package writes it
through one fixed temporary name; without a lock one worker renamed it away from another)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from tests.support.processes import ROOT

ASSEMBLE = ("import sys; from pathlib import Path; from workers.engines.kokoro import bundled_model_files; "
            "model, _, sha = bundled_model_files(Path(sys.argv[1])); print(model, sha)")


def test_workers_starting_together_on_a_fresh_cache_all_get_the_model(tmp_path: Path) -> None:
    starts = [subprocess.Popen([sys.executable, "-c", ASSEMBLE, str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env={"PATH": "/usr/bin:/bin"})
              for _ in range(4)]
    answers = [start.communicate(timeout=300) for start in starts]
    assert [start.returncode for start in starts] == [0, 0, 0, 0], [err[-500:] for _, err in answers]
    model, sha = answers[0][0].split()
    digest = hashlib.sha256(Path(model).read_bytes()).hexdigest()
    assert digest == sha and {out for out, _ in answers} == {answers[0][0]}
    assert not list(tmp_path.glob("*.tmp"))
