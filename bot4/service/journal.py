"""Journals: where a symbol's commands go (`Journal`), in a list (`MemoryJournal`) or in an
append-only file per symbol, one encoded command per line (`FileJournal`).

Lines are buffered by `append` and made durable together by `commit`, which the symbol calls
before it answers a command or a batch (group commit). `fsync` decides durability: "always"
fsyncs at each commit (safe against a machine crash), "never" only flushes to the operating
system (safe against a process crash, which is what an actor restart is). On open, a last
line without its newline (a write cut off by a crash, never acknowledged) is cut away so that
appends continue cleanly.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Literal, Protocol


class Journal(Protocol):
    """Where a symbol's commands go: appended in order, durable at `commit`, read back in
    order. `where` names it in reports (a file's path)."""

    where: str

    def append(self, line: bytes) -> None: ...

    def commit(self) -> None: ...

    def lines(self) -> Iterator[bytes]: ...


class MemoryJournal:
    """A journal in a list (tests, and runs that need no durability)."""

    where = "memory"

    def __init__(self) -> None:
        self.data: list[bytes] = []

    def append(self, line: bytes) -> None:
        self.data.append(line)

    def commit(self) -> None:
        """Nothing to do: a list holds what it holds."""

    def lines(self) -> Iterator[bytes]:
        return iter(list(self.data))


class FileJournal:
    """Append-only lines in one file."""

    def __init__(self, path: str | Path, fsync: Literal["always", "never"] = "always") -> None:
        if fsync not in ("always", "never"):
            raise ValueError("fsync is 'always' or 'never'")
        self.path = Path(path)
        self.where = str(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fsync = fsync
        self.dropped = self._cut_partial_tail()
        self._fh = open(self.path, "ab")  # noqa: SIM115 - held for the journal's life

    def _cut_partial_tail(self) -> int:
        """Cut a last line that lacks its newline; returns how many bytes were cut."""
        if not self.path.exists():
            return 0
        with open(self.path, "rb+") as fh:
            data = fh.read()
            keep = data.rfind(b"\n") + 1
            if keep < len(data):
                fh.truncate(keep)
            return len(data) - keep

    def append(self, line: bytes) -> None:
        """Buffer a line; it is durable after the next `commit`."""
        self._fh.write(line)

    def commit(self) -> None:
        """Make every appended line durable: flushed to the operating system, and synced to
        the disk with fsync "always" (one sync per batch of commands, not per line)."""
        self._fh.flush()
        if self.fsync == "always":
            os.fsync(self._fh.fileno())

    def lines(self) -> Iterator[bytes]:
        with open(self.path, "rb") as fh:
            yield from fh

    def close(self) -> None:
        self._fh.close()


def write_atomic(path: str | Path, data: bytes, fsync: Literal["always", "never"]) -> None:
    """Replace the file at `path` with `data` all at once (a reader sees the old or the new
    file, never a mix): write a sibling, then rename it over."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        if fsync == "always":
            os.fsync(fh.fileno())
    os.replace(tmp, target)
