"""A request id across symbols on Ray: a batch or deposit that failed part way (a symbol timed
out, or its actor was killed) and is retried runs each symbol's part exactly once."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import ray

import bot4
from bot4.api import Client
from bot4.core.enums import ExecutionType, OrderType, Side, TimeInForce
from bot4.core.orders import NewOrder
from bot4.core.results import Ack
from tests.support.gates import gate_maker

BTC, ETH = 3_000_000, 200_000  # 30000.00 and 2000.00 in ticks


def limit(side: Side, lots: int, price: int) -> NewOrder:
    """An order without a client order id: nothing but the request id keeps it from repeating."""
    return NewOrder("u", side, OrderType.LIMIT, lots, price, TimeInForce.GTC)


ORDERS = {
    "BTCUSDT": [limit(Side.BUY, 1_000, BTC - 1_000)],
    "ETHUSDT": [limit(Side.BUY, 1_000, ETH - 100), limit(Side.SELL, 1_000, ETH + 100)],
}


@pytest.fixture()
def client(tmp_path: Path) -> Iterator[Client]:
    c = bot4.connect(symbols=["BTCUSDT", "ETHUSDT"], journal_dir=tmp_path / "j", fsync="never",
                     reference_prices={"BTCUSDT": BTC, "ETHUSDT": ETH})  # fmt: skip
    try:
        for symbol, base in (("BTCUSDT", "BTC"), ("ETHUSDT", "ETH")):
            c.deposit("u", symbol, "USDT", 10**16)
            c.deposit("u", symbol, base, 10**14)
        yield c
    finally:
        c.shutdown()


@pytest.fixture()
def gates() -> Iterator[Callable[[], Any]]:
    with gate_maker() as make:
        yield make


def hold(client: Client, symbol: str, gate: Any) -> Any:
    """Shut `symbol`'s mailbox: every call sent to it after this waits for the gate."""
    return client.send(symbol, "handle_batch", gate.hold.remote([]))


def orders_of(client: Client, symbol: str) -> list[int]:
    """The ids of the orders "u" has placed on `symbol` (NEW reports, in order)."""
    return [
        e.order_id
        for e in client.events(symbol)
        if e.account == "u" and e.execution_type is ExecutionType.NEW
    ]


def pid_of(client: Client, symbol: str) -> int:
    pid: int = ray.get(client.actors[symbol].pid.remote(), timeout=60)
    return pid


def kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)


def wait_back(client: Client, symbol: str, pid: int) -> None:
    """Return once Ray has restarted the symbol's actor (it replayed its journal)."""
    actor = client.actors[symbol]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if ray.get(actor.pid.remote(), timeout=10) != pid:
                return
        except (ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError):
            time.sleep(0.1)
    raise AssertionError(f"{symbol} did not come back")


@pytest.mark.usefixtures("ray_local")
def test_a_batch_timed_out_on_one_symbol_runs_once_when_retried(
    client: Client, gates: Callable[[], Any]
) -> None:
    """BTCUSDT applies its part, ETHUSDT's is stuck behind a shut mailbox: the call times
    out. Retries place nothing twice; once ETHUSDT has run the first attempt's part, a retry
    returns the first answers of both symbols, and from then on the store replays them."""
    gate = gates()
    hold(client, "ETHUSDT", gate)
    with pytest.raises(ray.exceptions.GetTimeoutError):
        client.submit_batch(ORDERS, 1, request_id="r-1", timeout=0.5)
    btc_first = orders_of(client, "BTCUSDT")
    assert len(btc_first) == 1
    with pytest.raises(ray.exceptions.GetTimeoutError):  # still shut: BTCUSDT does not repeat
        client.submit_batch(ORDERS, 1, request_id="r-1", timeout=0.5)
    assert orders_of(client, "BTCUSDT") == []  # no new report since
    ray.get(gate.open.remote(), timeout=30)
    answers = client.submit_batch(ORDERS, 1, request_id="r-1")
    eth_first = orders_of(client, "ETHUSDT")
    assert len(eth_first) == 2  # the first attempt's part, run once (the retries' not at all)
    assert [a.order_id for a in answers["BTCUSDT"]] == btc_first  # type: ignore[union-attr]
    assert [a.order_id for a in answers["ETHUSDT"]] == eth_first  # type: ignore[union-attr]
    assert all(isinstance(a, Ack) for batch in answers.values() for a in batch)
    assert client.submit_batch(ORDERS, 1, request_id="r-1") == answers  # the store's replay
    assert orders_of(client, "BTCUSDT") == orders_of(client, "ETHUSDT") == []


@pytest.mark.usefixtures("ray_local")
def test_a_batch_whose_symbol_was_killed_runs_once_when_retried(
    client: Client, gates: Callable[[], Any]
) -> None:
    """ETHUSDT's actor is killed while the batch waits on it; after its restart the retry
    applies ETHUSDT's part (it was never journaled) and BTCUSDT answers from its journal."""
    eth = pid_of(client, "ETHUSDT")
    gate = gates()
    hold(client, "ETHUSDT", gate)
    with pytest.raises(ray.exceptions.GetTimeoutError):
        client.submit_batch(ORDERS, 1, request_id="r-2", timeout=0.5)
    btc_first = orders_of(client, "BTCUSDT")
    kill(eth)  # the stuck calls die with it, or reach the new instance
    ray.get(gate.open.remote(), timeout=30)
    wait_back(client, "ETHUSDT", eth)
    btc = pid_of(client, "BTCUSDT")
    kill(btc)  # BTCUSDT's first answers come back from its journal
    wait_back(client, "BTCUSDT", btc)
    answers = client.submit_batch(ORDERS, 1, request_id="r-2")
    assert [a.order_id for a in answers["BTCUSDT"]] == btc_first  # type: ignore[union-attr]
    assert client.submit_batch(ORDERS, 1, request_id="r-2") == answers
    for symbol, batch in ORDERS.items():
        open_ids = [a.order_id for a in answers[symbol]]  # type: ignore[union-attr]
        assert len(set(open_ids)) == len(batch)
        for order_id in open_ids:
            assert client.get_order(symbol, "u", order_id) is not None
    applied = ray.get(client.actors["ETHUSDT"].applied.remote(), timeout=60)
    assert applied == 2 + 2  # its two deposits and the part's two orders: the part ran once


@pytest.mark.usefixtures("ray_local")
def test_a_deposit_retried_after_a_timeout_and_a_restart_credits_once(
    client: Client, gates: Callable[[], Any]
) -> None:
    """The first attempt times out but its deposit runs; the symbol is then killed and
    restarted from its journal; retries (the store still has the id in flight) credit
    nothing more."""
    before = client.balances("ETHUSDT", "x").get("USDT", (0, 0))[0]
    gate = gates()
    hold(client, "ETHUSDT", gate)
    with pytest.raises(ray.exceptions.GetTimeoutError):
        client.deposit("x", "ETHUSDT", "USDT", 500, request_id="d-1", timeout=0.5)
    ray.get(gate.open.remote(), timeout=30)
    assert client.balances("ETHUSDT", "x")["USDT"][0] == before + 500  # the first one ran
    eth = pid_of(client, "ETHUSDT")
    kill(eth)
    wait_back(client, "ETHUSDT", eth)
    for _ in range(3):  # the store has it in flight: each retry asks the symbol again
        client.deposit("x", "ETHUSDT", "USDT", 500, request_id="d-1")
    assert client.balances("ETHUSDT", "x")["USDT"][0] == before + 500
