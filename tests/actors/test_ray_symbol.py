"""The symbol actor on a real local Ray: killed in the middle of a 100k-order stream, it comes
back from its journal, and the run ends in the very state of an uninterrupted one."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import ray

from bot4.actors.symbol import deploy_symbol
from bot4.core.instruments import Instrument
from bot4.core.results import Ack
from bot4.service.journal import MemoryJournal
from bot4.service.symbol import SymbolService
from tests.conftest import SYMBOLS_FILE
from tests.service.test_journal import order_stream

BATCH = 2_000


def call(ref: object) -> object:
    return ray.get(ref, timeout=120)


@pytest.fixture()
def deployed() -> Iterator[list[Any]]:
    """Symbol actors the test deploys; each is killed for good after it, passed or failed."""
    actors: list[Any] = []
    try:
        yield actors
    finally:
        for actor in actors:
            with contextlib.suppress(Exception):  # already gone
                ray.kill(actor, no_restart=True)


@pytest.mark.usefixtures("ray_local")
def test_killed_symbol_actor_recovers_without_loss_or_duplicates(
    tmp_path: Path, btc: Instrument, deployed: list[Any]
) -> None:
    """Killed mid-stream, it comes back from its journal and ends in the uninterrupted run's
    state; afterwards it is killed for good (the `deployed` fixture), passed or failed."""
    commands = order_stream(100_000, seed=11)
    reference = SymbolService(btc, MemoryJournal(), reference_price=3_000_000)
    expected = reference.handle_batch(commands)
    actor = deploy_symbol(SYMBOLS_FILE, "BTCUSDT", tmp_path, fsync="never",
                          reference_price=3_000_000)  # fmt: skip
    deployed.append(actor)
    acknowledged: dict[int, object] = {}
    sent = 0
    killed = False
    first_pid = call(actor.pid.remote())
    while sent < len(commands):
        batch = commands[sent : sent + BATCH]
        ref = actor.handle_batch.remote(batch)
        if not killed and sent >= len(commands) // 2:
            ray.kill(actor, no_restart=False)  # mid-stream, maybe mid-batch
            killed = True
        try:
            results = call(ref)
        except (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError):
            deadline = time.monotonic() + 120
            while True:  # the actor restarts and replays its journal
                try:
                    sent = call(actor.applied.remote())  # resume after what it has
                    break
                except (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError):
                    assert time.monotonic() < deadline, "the actor did not come back"
                    time.sleep(0.2)
            continue
        for offset, result in enumerate(results):
            acknowledged[sent + offset] = result
        sent += len(batch)
    assert killed and call(actor.pid.remote()) != first_pid
    assert call(actor.recovered.remote()) > 0
    # every acknowledged answer is the uninterrupted run's answer: nothing lost, no fill twice
    for index, result in acknowledged.items():
        want = expected[index]
        if isinstance(want, Ack):
            assert isinstance(result, Ack) and result.reports == want.reports, index
        else:
            assert result == want, index
    assert call(actor.state_digest.remote()) == reference.state_digest()
