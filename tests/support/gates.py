"""`Gate`: an actor that holds a symbol actor's mailbox shut until a test opens it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import ray


@ray.remote(num_cpus=0)
class Gate:
    """Holds values back until `open` (an async actor: `hold` and `open` run concurrently). A
    symbol call given `gate.hold.remote(batch)` as its argument waits in the mailbox, and every
    call behind it too (an actor runs its calls in order), until the gate opens."""

    def __init__(self) -> None:
        self.opened = asyncio.Event()

    async def hold(self, value: Any) -> Any:
        await self.opened.wait()
        return value

    async def open(self) -> None:
        self.opened.set()


@contextlib.contextmanager
def gate_maker() -> Iterator[Callable[[], Any]]:
    """Yields `make()`, a new `Gate`; every gate made is opened and killed on the way out."""
    made: list[Any] = []

    def make() -> Any:
        made.append(Gate.remote())  # type: ignore[attr-defined]
        return made[-1]

    try:
        yield make
    finally:
        for gate in made:
            with contextlib.suppress(Exception):
                ray.get(gate.open.remote(), timeout=30)  # never leave a mailbox blocked
            with contextlib.suppress(Exception):
                ray.kill(gate)
