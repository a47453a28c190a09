"""What the tests' own server processes (redis-server, prometheus) share: a free loopback
port, the tail of a log for error messages, and stopping (SIGTERM, then SIGKILL) with the
temporary folder removed."""

from __future__ import annotations

import socket
import subprocess
import tempfile
from types import TracebackType
from typing import Any


def free_port() -> int:
    """A loopback TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def tail(path: str, lines: int = 5) -> str:
    """The last `lines` of a log file, on one line (for error messages)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return " | ".join(f.read().splitlines()[-lines:])
    except OSError:
        return "(no log)"


class LocalServer:
    """A server process in a temporary folder; subclasses `start` it. A context manager."""

    stop_timeout = 10.0  # seconds between SIGTERM and SIGKILL

    def __init__(self) -> None:
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._dir: tempfile.TemporaryDirectory[str] | None = None

    def start(self) -> Any:
        raise NotImplementedError

    def _terminate(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        try:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=self.stop_timeout)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=5)
        finally:
            if process.stderr is not None:
                process.stderr.close()

    def stop(self) -> None:
        """End the server (SIGTERM, then SIGKILL) and remove its folder."""
        self._terminate()
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
