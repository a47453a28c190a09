"""A real Prometheus for the tests, on a free loopback port, scraping a local Ray session.

* `PrometheusServer(sd_file)`: writes a config whose only job (``ray``) reads its targets from
  Ray's Prometheus service-discovery file `sd_file` (``file_sd_configs``; Ray's dashboard head
  rewrites that file every 5 s with each node's metrics-agent address) and scrapes them every
  second; starts ``prometheus`` bound to 127.0.0.1 on a free port with its own temporary TSDB
  directory; waits (bounded) until ``/-/ready`` answers; `stop` ends it and removes the
  directory. Used by the session fixture ``prometheus`` in conftest.py.
* `query(expr)` runs an instant PromQL query and returns its series (``result`` of the
  ``/api/v1/query`` answer); `wait_for(expr, timeout)` polls it until at least one series
  comes back; `targets()` lists the active scrape targets.
* When ``prometheus`` is not installed, `find_prometheus` raises `PrometheusMissing`, whose
  message says how to install it; the fixture turns that into a failure, not a skip.

Only the standard library talks HTTP (urllib), so the tests need no extra client package.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from tests.support.local_server import LocalServer, free_port, tail

INSTALL_HINT = (
    "prometheus is missing: the metrics tests need a real Prometheus server. Install it with "
    "'apt-get install -y prometheus' (as root or with sudo), or run 'make test', which "
    "installs it when run as root."
)
_FALLBACK_PATHS = ("/usr/bin/prometheus", "/usr/local/bin/prometheus")
SCRAPE_INTERVAL = "1s"
# loopback only: never route the requests through an http_proxy from the environment
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_CONFIG = """\
global:
  scrape_interval: {interval}
  scrape_timeout: {interval}
  evaluation_interval: {interval}
scrape_configs:
  - job_name: ray
    file_sd_configs:
      - files: [{sd_file}]
        refresh_interval: 1s
"""


class PrometheusMissing(RuntimeError):
    """No prometheus binary on this machine."""


class PrometheusError(RuntimeError):
    """prometheus would not start or answer in time, or a query failed."""


def find_prometheus() -> str:
    """The path of the prometheus binary, or `PrometheusMissing` with an install hint."""
    found = shutil.which("prometheus")
    if found:
        return found
    for path in _FALLBACK_PATHS:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    raise PrometheusMissing(INSTALL_HINT)


class PrometheusServer(LocalServer):
    """One prometheus process on 127.0.0.1 scraping the targets in `sd_file`; a context manager."""

    def __init__(
        self, sd_file: str, *, start_timeout: float = 30.0, attempts: int = 3,
        request_timeout: float = 5.0,
    ) -> None:  # fmt: skip
        self.sd_file = os.path.abspath(sd_file)
        self.start_timeout = start_timeout
        self.attempts = attempts
        self.request_timeout = request_timeout
        super().__init__()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> PrometheusServer:
        binary = find_prometheus()
        self._dir = tempfile.TemporaryDirectory(prefix="bot4-prometheus-")
        config = os.path.join(self._dir.name, "prometheus.yml")
        with open(config, "w", encoding="utf-8") as f:
            f.write(_CONFIG.format(interval=SCRAPE_INTERVAL, sd_file=json.dumps(self.sd_file)))
        errors: list[str] = []
        for attempt in range(self.attempts):  # another process may take the port first
            self.port = free_port()
            data = os.path.join(self._dir.name, f"data-{attempt}")
            log = os.path.join(self._dir.name, f"prometheus-{self.port}.log")
            with open(log, "wb") as log_file:  # a file, not a pipe: prometheus logs a lot
                self.process = subprocess.Popen(
                    [binary, f"--config.file={config}", f"--storage.tsdb.path={data}",
                     f"--web.listen-address=127.0.0.1:{self.port}",
                     "--storage.tsdb.retention.time=1h", "--log.level=warn"],
                    stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
                    cwd=self._dir.name,
                )  # fmt: skip
            if self._wait_ready(log, errors):
                return self
            self._terminate()
        self.stop()
        raise PrometheusError(f"prometheus did not start: {'; '.join(errors)}")

    def _wait_ready(self, log: str, errors: list[str]) -> bool:
        assert self.process is not None
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                errors.append(f"exited with {self.process.returncode}: {tail(log)}")
                return False
            with (
                contextlib.suppress(OSError),  # URLError, refused: not listening yet
                _OPENER.open(f"{self.url}/-/ready", timeout=1.0) as reply,
            ):
                if reply.status == 200:
                    return True
            time.sleep(0.05)
        errors.append(f"not ready within {self.start_timeout}s: {tail(log)}")
        return False

    def _get(self, path: str, params: dict[str, str] | None = None) -> Any:
        if self.process is None:
            raise PrometheusError("prometheus is not running")
        url = f"{self.url}{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        try:
            with _OPENER.open(url, timeout=self.request_timeout) as reply:
                body = json.load(reply)
        except urllib.error.HTTPError as exc:  # 400/422/503 carry a JSON error body
            try:
                body = json.load(exc)
            except ValueError:
                raise PrometheusError(f"GET {path}: HTTP {exc.code}") from exc
            finally:
                exc.close()
        except OSError as exc:
            raise PrometheusError(f"GET {path}: {exc}") from exc
        if body.get("status") != "success":
            raise PrometheusError(
                f"GET {path} {params or ''}: {body.get('errorType')}: {body.get('error')}"
            )
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """The series of the instant query `expr`: ``[{"metric": {...}, "value": [t, "v"]}]``.

        Raises `PrometheusError` when Prometheus answers with an error (e.g. bad PromQL)."""
        data = self._get("/api/v1/query", {"query": expr})
        if data.get("resultType") not in ("vector", "matrix"):  # scalar/string: not series
            raise PrometheusError(f"{expr!r} gives a {data.get('resultType')}, not series")
        result = data["result"]
        assert isinstance(result, list)
        return result

    def wait_for(self, expr: str, timeout: float, interval: float = 0.25) -> list[dict[str, Any]]:
        """Poll `query(expr)` until it returns at least one series; `PrometheusError` after
        `timeout` seconds (the message lists the scrape targets' health, to tell a target
        Prometheus cannot reach from a metric that is not there yet)."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.query(expr)
            if result:
                return result
            if time.monotonic() >= deadline:
                raise PrometheusError(
                    f"no series for {expr!r} within {timeout}s; targets: {self._target_summary()}"
                )
            time.sleep(interval)

    def targets(self) -> list[dict[str, Any]]:
        """The active scrape targets (``activeTargets`` of ``/api/v1/targets``)."""
        data = self._get("/api/v1/targets", {"state": "active"})
        targets = data["activeTargets"]
        assert isinstance(targets, list)
        return targets

    def _target_summary(self) -> str:
        try:
            targets = self.targets()
        except PrometheusError as exc:
            return f"(unavailable: {exc})"
        if not targets:
            return f"none (is {self.sd_file} written and non-empty?)"
        return ", ".join(
            f"{t.get('scrapeUrl')}={t.get('health')}"
            + (f" ({t['lastError']})" if t.get("lastError") else "")
            for t in targets
        )


def wait_for_service_discovery(sd_file: str, targets: list[str], timeout: float) -> None:
    """Wait (bounded) until Ray's service-discovery file `sd_file` lists every one of `targets`
    (``host:port``). Ray's dashboard head writes it a few seconds after ``ray.init``, first
    possibly without the nodes, then every 5 s; `PrometheusError` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    listed: set[str] = set()
    while True:
        with contextlib.suppress(OSError, ValueError):  # not written yet / being replaced
            with open(sd_file, encoding="utf-8") as f:
                listed = {t for group in json.load(f) for t in group.get("targets", [])}
            if listed.issuperset(targets):
                return
        if time.monotonic() >= deadline:
            raise PrometheusError(
                f"{sd_file} does not list {targets} within {timeout}s (it lists "
                f"{sorted(listed) or 'nothing'}); does ray.init run with include_dashboard=True?"
            )
        time.sleep(0.1)
