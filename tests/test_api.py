"""The Python API on a real local Ray: orders, batches, async, queries, the report
subscription, typed errors, and bounded mailboxes under a 10x overload."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import ray

import bot4
from bot4.api import Client
from bot4.core.enums import OrderType, Side, TimeInForce
from bot4.core.errors import Bot4Error, Category, VenueError
from bot4.core.orders import CancelOrder, NewOrder
from bot4.core.results import Ack
from bot4.service.commands import Command
from tests.support.gates import gate_maker

pytestmark = pytest.mark.usefixtures("ray_local")
BUY, SELL, GTC = Side.BUY, Side.SELL, TimeInForce.GTC


def limit(account: str, side: Side, lots: int, price: int, cid: str | None = None) -> NewOrder:
    return NewOrder(account, side, OrderType.LIMIT, lots, price, GTC, client_order_id=cid)


@pytest.fixture()
def deploy(tmp_path: Path) -> Iterator[Callable[..., Client]]:
    """`deploy(**connect_kwargs)`: `bot4.connect` with the journal in tmp_path; every client
    made is shut down after the test, passed or failed (its named actors and placement group
    gone, so that the next test never attaches to them)."""
    made: list[Client] = []

    def make(**kwargs: Any) -> Client:
        kwargs.setdefault("journal_dir", tmp_path)
        kwargs.setdefault("fsync", "never")
        made.append(bot4.connect(**kwargs))
        return made[-1]

    try:
        yield make
    finally:
        for made_client in made:
            with contextlib.suppress(Exception):  # shut down already, or its Ray went
                made_client.shutdown()


@pytest.fixture()
def client(deploy: Callable[..., Client]) -> Client:
    c = deploy(symbols=["BTCUSDT", "ETHUSDT"],
               reference_prices={"BTCUSDT": 3_000_000, "ETHUSDT": 200_000})  # fmt: skip
    for account in ("a", "b"):
        for symbol, base in (("BTCUSDT", "BTC"), ("ETHUSDT", "ETH")):
            c.deposit(account, symbol, "USDT", 10**15)
            c.deposit(account, symbol, base, 10**12)
    return c


def test_orders_queries_and_the_subscription(client: Client) -> None:
    ack = client.submit("BTCUSDT", limit("a", SELL, 1_000, 3_000_000, "ask-1"), 1)
    assert isinstance(ack, Ack) and ack.status.value == "NEW"
    took = client.submit("BTCUSDT", limit("b", BUY, 400, 3_000_000), 2)
    assert took.executed_qty == 400
    view = client.get_order("BTCUSDT", "a", client_order_id="ask-1")
    assert view.executed_qty == 400
    _, locked = client.balances("BTCUSDT", "a")["BTC"]
    assert locked == 600 * 1_000  # 600 lots of 0.00001 BTC still offered, in 1e-8 units
    events = client.events("BTCUSDT")
    assert [r.seq for r in events] == list(range(1, len(events) + 1))
    assert {r.execution_type.value for r in events} == {"NEW", "TRADE"}
    assert client.events("BTCUSDT") == []  # nothing new since
    client.cancel("BTCUSDT", CancelOrder("a", ack.order_id), 3)
    assert [r.execution_type.value for r in client.events("BTCUSDT")] == ["CANCELED"]
    with pytest.raises(Bot4Error) as err:
        client.cancel("BTCUSDT", CancelOrder("a", ack.order_id), 4)
    assert err.value.code == -2011
    with pytest.raises(Bot4Error) as bad:
        client.submit("XRPUSDT", limit("a", BUY, 1, 1), 5)
    assert bad.value.code == -1121


def test_batches_go_one_call_per_symbol_and_async_works(client: Client) -> None:
    results = client.submit_batch(
        {"BTCUSDT": [limit("a", BUY, 100, 2_999_000 - i) for i in range(50)],
         "ETHUSDT": [limit("a", SELL, 1_000, 201_000 + i) for i in range(30)]}, 10)  # fmt: skip
    assert len(results["BTCUSDT"]) == 50 and len(results["ETHUSDT"]) == 30
    assert all(isinstance(r, Ack) for rs in results.values() for r in rs)
    ack = asyncio.run(client.submit_async("ETHUSDT", limit("b", BUY, 1_000, 201_000), 11))
    assert ack.executed_qty == 1_000


class Watched:
    """A symbol actor's handle that counts the mailbox's refusals the client meets
    (`PendingCallsLimitExceeded`) and calls `on_refusal` before re-raising each one."""

    def __init__(self, actor: Any, on_refusal: Callable[[], None]) -> None:
        self.actor = actor
        self.on_refusal = on_refusal
        self.refusals = 0

    def __getattr__(self, method: str) -> Any:
        real, watched = getattr(self.actor, method), self

        class Method:
            @staticmethod
            def remote(*args: Any) -> Any:
                try:
                    return real.remote(*args)
                except ray.exceptions.PendingCallsLimitExceeded:
                    watched.refusals += 1
                    watched.on_refusal()
                    raise

        return Method()


@pytest.fixture()
def gates() -> Iterator[Callable[[], Any]]:
    """`gates()`: a new `Gate`; every gate made is opened and killed after the test."""
    with gate_maker() as make:
        yield make


def journal_lines(path: Path) -> int:
    return len(path.read_bytes().splitlines())


def test_a_full_mailbox_sheds_with_a_typed_error_and_loses_nothing(
    deploy: Callable[..., Client], gates: Callable[[], Any], tmp_path: Path
) -> None:
    """A mailbox of 20 calls, held full behind a gated call, under a 10x overload.

    'reject': exactly the 180 calls past the 20 in flight are shed with the typed -9301, and
    none of them reaches the actor: it applied, and its journal holds, exactly the deposit and
    the 20 queued requests, each answered. 'wait': the client is shown to wait: it meets the
    full mailbox (a refusal, with its `in_flight` at max_pending_calls), retries until the gate
    opens, and all 200 requests get through, none shed, each applied and journaled once."""
    client = deploy(symbols=["SOLUSDT"], max_pending_calls=20,
                    reference_prices={"SOLUSDT": 10_000})  # fmt: skip
    client.deposit("a", "SOLUSDT", "USDT", 10**15)
    actor, journal = client.actors["SOLUSDT"], tmp_path / "SOLUSDT.journal"
    assert ray.get(actor.applied.remote(), timeout=60) == journal_lines(journal) == 1
    gate = gates()
    refs = [client.send("SOLUSDT", "handle_batch", gate.hold.remote([client_command(0)]))]
    shed = 0
    for i in range(1, 200):  # 10x the mailbox, without waiting
        try:
            refs.append(client.send("SOLUSDT", "handle_batch", [client_command(i)]))
        except Bot4Error as err:
            assert err.code == -9301 and err.category is Category.BACKPRESSURE
            assert err.retryable and err.error.retry_after_ms == 10
            shed += 1
    assert client.in_flight("SOLUSDT") == 20  # the mailbox is full: nothing ran yet
    ray.get(gate.open.remote(), timeout=60)
    answered = ray.get(refs, timeout=120)
    assert shed == 180 and len(answered) == 20 and client.shed["SOLUSDT"] == shed
    # every queued request got its answer (an Ack, or the venue's refusal such as
    # MAX_NUM_ORDERS once 200 rest): nothing was dropped
    assert all(len(batch) == 1 and isinstance(batch[0], Ack | VenueError) for batch in answered)
    assert sum(isinstance(batch[0], Ack) for batch in answered) > 0
    assert client.in_flight("SOLUSDT") == 0
    # the shed requests never reached the actor: applied and journaled are the queued ones
    assert ray.get(actor.applied.remote(), timeout=60) == journal_lines(journal) == 1 + 20

    gate = gates()
    seen_in_flight: list[int] = []

    def full() -> None:  # the first refusal: note the client's view, then let the actor run
        if not seen_in_flight:
            seen_in_flight.append(waiting.in_flight("SOLUSDT"))
            gate.open.remote()

    watched = Watched(actor, full)
    waiting = Client({"SOLUSDT": watched}, policy="wait", wait_timeout_s=60)
    try:
        refs = [waiting.send("SOLUSDT", "handle_batch", gate.hold.remote([client_command(1_000)]))]
        refs += [waiting.send("SOLUSDT", "handle_batch", [client_command(1_001 + i)])
                 for i in range(199)]  # fmt: skip
        assert len(ray.get(refs, timeout=120)) == 200 and waiting.shed["SOLUSDT"] == 0
    finally:
        waiting.exporter.stop()
    assert watched.refusals >= 1 and seen_in_flight == [20]  # it met a full mailbox and waited
    assert ray.get(actor.applied.remote(), timeout=60) == journal_lines(journal) == 1 + 20 + 200
    with pytest.raises(ValueError):
        Client({}, policy="later")  # type: ignore[arg-type]


def client_command(i: int) -> object:
    from bot4.service.commands import Command

    return Command("submit", limit("a", BUY, 1_000, 9_000 - i % 100), i)  # 1 SOL at ~90


def test_the_low_latency_lane(client: Client) -> None:
    lane = client.lane("BTCUSDT")
    ack = lane.submit(limit("a", SELL, 500, 3_000_000, "lane-1"), 20)
    assert ack.status.value == "NEW"
    took = client.submit("BTCUSDT", limit("b", BUY, 500, 3_000_000), 21)  # plain calls too
    assert took.executed_qty == 500
    with pytest.raises(Bot4Error):
        lane.cancel(CancelOrder("a", ack.order_id), 22)  # already filled
    results = lane.run([Command("submit", limit("a", BUY, 100, 2_990_000 - i), 23)
                        for i in range(20)])  # fmt: skip
    assert all(isinstance(r, Ack) for r in results) and lane.fallbacks == 0
    client.close()
    assert lane.submit(limit("a", BUY, 100, 2_980_000), 24).status.value == "NEW"  # recompiled
    client.close()


def test_a_symbol_pinned_by_a_custom_resource(deploy: Callable[..., Client]) -> None:
    client = deploy(symbols=["BNBUSDT"], symbol_resources={"BNBUSDT": {"symbol_BNBUSDT": 1}},
                    reference_prices={"BNBUSDT": 30_000})  # fmt: skip
    client.deposit("a", "BNBUSDT", "USDT", 10**12)
    assert client.submit("BNBUSDT", limit("a", BUY, 100, 29_000), 1).status.value == "NEW"
    assert ray.available_resources().get("symbol_BNBUSDT", 0) < 1  # held by its bundle
    client.shutdown()
    assert client.group is None


def test_a_retry_after_the_actor_restarted_gets_the_first_ack(client: Client) -> None:
    order = limit("a", SELL, 700, 3_000_500, "survives-restarts")
    ack = client.submit("BTCUSDT", order, 30)
    actor = client.actors["BTCUSDT"]
    before = ray.get(actor.pid.remote(), timeout=30)
    ray.kill(actor, no_restart=False)
    for _ in range(600):  # wait (bounded) for the restarted instance
        try:
            if ray.get(actor.pid.remote(), timeout=30) != before:
                break
        except (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError):
            pass
        time.sleep(0.1)
    assert ray.get(actor.recovered.remote(), timeout=30) > 0  # it replayed its journal
    again = client.submit("BTCUSDT", order, 31)
    assert again == ack  # the same order, not a second one


def test_the_lane_survives_a_restart_of_its_actor(client: Client) -> None:
    """The actor's process dies under a compiled lane: the lane tears the broken graph down,
    and once Ray has restarted the actor it serves again, compiled anew."""
    import os
    import signal

    lane = client.lane("BTCUSDT")
    assert lane.submit(limit("a", BUY, 100, 2_970_000, "pre-crash"), 40).status.value == "NEW"
    actor = client.actors["BTCUSDT"]
    os.kill(ray.get(actor.pid.remote(), timeout=30), signal.SIGKILL)
    deadline = time.monotonic() + 120
    while True:  # bounded: each attempt either fails fast or succeeds
        try:
            ack = lane.submit(limit("a", BUY, 100, 2_960_000, "post-crash"), 41)
            break
        except (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError):
            assert time.monotonic() < deadline, "the lane did not come back"
            time.sleep(0.2)
    assert ack.status.value == "NEW" and lane.fallbacks >= 1
    assert ray.get(actor.recovered.remote(), timeout=30) > 0
    assert client.get_order("BTCUSDT", "a", client_order_id="pre-crash").status.value == "NEW"
    assert lane.submit(limit("a", BUY, 100, 2_950_000), 42).status.value == "NEW"
    assert lane._graph is not None  # compiled again after the restart
    client.close()
    assert lane._graph is None
