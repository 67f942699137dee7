"""nginx from Debian running deploy/nginx/glmtts-portal.conf in front of the test's Daphne."""

from __future__ import annotations

import shutil
import subprocess
import urllib.request
from pathlib import Path

from tests.support.processes import ROOT, free_port, stop_process, wait_for

DEPLOYED = ROOT / "deploy" / "nginx" / "glmtts-portal.conf"


class Nginx:
    def __init__(self, work_dir: Path, *, upstreams: list[str]) -> None:
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        assert Path(binary).exists(), "nginx is missing: `make test` installs it (apt-get install nginx)"
        self.dir, self.port = work_dir, free_port()
        self.cache_dir = work_dir / "cache"
        for folder in (self.cache_dir, work_dir / "logs"):
            folder.mkdir(parents=True, exist_ok=True)
        config = work_dir / "nginx.conf"
        config.write_text(self._rendered(upstreams))
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([binary, "-p", str(work_dir), "-c", str(config), "-g", "daemon off;"],
                                     stdout=(work_dir / "logs" / "stdout.log").open("wb"), stderr=subprocess.STDOUT)
        wait_for(self._answers, timeout_s=30, what="nginx to answer")

    def _rendered(self, upstreams: list[str]) -> str:
        """The shipped file with the test's addresses and folders: nothing else changes."""
        text = DEPLOYED.read_text()
        replacements = {
            "user www-data;": "user root;",  # the test's folders belong to the test's user
            "pid /run/nginx-glmtts.pid;": f"pid {self.dir / 'nginx.pid'};",
            "/var/log/nginx/": f"{self.dir / 'logs'}/",
            "/var/cache/nginx/glmtts": str(self.cache_dir),
            "listen 80;": f"listen 127.0.0.1:{self.port};",
            "        server 127.0.0.1:8000 max_fails=3 fail_timeout=10s;\n":
                "".join(f"        server {address} max_fails=3 fail_timeout=10s;\n" for address in upstreams),
        }
        for old, new in replacements.items():
            assert old in text, f"deploy/nginx/glmtts-portal.conf no longer has {old!r}"
            text = text.replace(old, new)
        return text

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=1) as response:
                return bool(response.status == 200)
        except OSError:
            return self.proc.poll() is not None  # it exited: the test reads its log

    def cached_entries(self) -> list[bytes]:
        """Every file in the cache folder (nginx stores the key and the response headers in each)."""
        return [path.read_bytes() for path in self.cache_dir.rglob("*") if path.is_file()]

    def stop(self) -> None:
        stop_process(self.proc)
