"""A real `redis-server` for the tests, on a free loopback port, and a store factory.

* `RedisServer`: starts ``redis-server`` bound to 127.0.0.1 on a free port, without
  persistence, in a temporary directory; waits (bounded) until it answers PING; `stop` ends it.
  Used by the session fixture ``redis_url`` in conftest.py and directly by tests that need a
  server of their own (e.g. to stop it).
* `redis_store_factory(url)`: returns ``make(ttl_ms) -> RedisIdempotencyStore``; each call
  gives a store with a fresh unique key prefix, so stores made by one test never see another's
  keys. Meant for suites parametrized over the in-memory and the Redis store, e.g.::

      @pytest.fixture(params=["memory", "redis"])
      def make_store(request):
          if request.param == "redis":
              return redis_store_factory(request.getfixturevalue("redis_url"))
          return lambda ttl_ms: MemoryIdempotencyStore(1000, ttl_ms)

* When ``redis-server`` is not installed, `find_redis_server` raises `RedisServerMissing`,
  whose message says how to install it; the fixture turns that into a failure, not a skip.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from bot4.infra.redis_store import RedisIdempotencyStore
from tests.support.local_server import LocalServer, free_port, tail

INSTALL_HINT = (
    "redis-server is missing: the Redis store tests need a real server. Install it with "
    "'apt-get install -y redis-server' (as root or with sudo), or run 'make test', which "
    "installs it when run as root."
)
_FALLBACK_PATHS = ("/usr/bin/redis-server", "/usr/sbin/redis-server",
                   "/usr/local/bin/redis-server")  # fmt: skip


class RedisServerMissing(RuntimeError):
    """No redis-server binary on this machine."""


class RedisServerError(RuntimeError):
    """redis-server would not start or answer in time."""


def find_redis_server() -> str:
    """The path of the redis-server binary, or `RedisServerMissing` with an install hint."""
    found = shutil.which("redis-server")
    if found:
        return found
    for path in _FALLBACK_PATHS:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    raise RedisServerMissing(INSTALL_HINT)


class RedisServer(LocalServer):
    """One redis-server process on 127.0.0.1; a context manager."""

    def __init__(self, *, start_timeout: float = 10.0, attempts: int = 3) -> None:
        self.start_timeout = start_timeout
        self.attempts = attempts
        super().__init__()
        self.stop_timeout = 5.0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        binary = find_redis_server()
        self._dir = tempfile.TemporaryDirectory(prefix="bot4-redis-")
        errors: list[str] = []
        for _ in range(self.attempts):  # another process may take the port first
            self.port = free_port()
            log = os.path.join(self._dir.name, f"redis-{self.port}.log")
            self.process = subprocess.Popen(
                [binary, "--port", str(self.port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no", "--dir", self._dir.name,
                 "--daemonize", "no", "--logfile", log],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            )  # fmt: skip
            if self._wait_ready(log, errors):
                return self
            self._terminate()
        self.stop()
        raise RedisServerError(f"redis-server did not start: {'; '.join(errors)}")

    def _wait_ready(self, log: str, errors: list[str]) -> bool:
        assert self.process is not None
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=0.5,
                             socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))  # fmt: skip
        deadline = time.monotonic() + self.start_timeout
        try:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    errors.append(f"exited with {self.process.returncode}: {tail(log)}")
                    return False
                with contextlib.suppress(redis.RedisError):
                    if client.ping():
                        return True
                time.sleep(0.02)
            errors.append(f"no answer to PING within {self.start_timeout}s: {tail(log)}")
            return False
        finally:
            client.close()


def redis_store_factory(url: str) -> Callable[[int], RedisIdempotencyStore]:
    """``make(ttl_ms)`` -> a `RedisIdempotencyStore` on `url` with a fresh unique prefix.

    The stores share one client (and its connection pool)."""
    client = redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)

    def make(ttl_ms: int) -> RedisIdempotencyStore:
        return RedisIdempotencyStore(client, ttl_ms, prefix=f"bot4:test:{uuid.uuid4().hex}:")

    return make
