"""Risk, idempotency and the timestamp guard across the platform's actors on a real local Ray:
exposure grants between symbol actors and the risk actor, the kill switch everywhere, loss
limits from reports, restarts of both kinds of actor, and cross-symbol idempotent batches."""

from __future__ import annotations

import inspect
import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import ray

import bot4
from bot4.api import Client
from bot4.core.enums import OrderType, Side, TimeInForce
from bot4.core.errors import Bot4Error, Code, VenueError
from bot4.core.orders import NewOrder
from bot4.core.results import Ack
from bot4.jobs.config import PlatformConfig
from tests.conftest import wait_for

pytestmark = pytest.mark.usefixtures("ray_local")
BUY, SELL, GTC = Side.BUY, Side.SELL, TimeInForce.GTC
BTC, ETH = 3_000_000, 200_000  # 30000.00 and 2000.00 in ticks
ONE_BTC, ONE_ETH = 100_000, 10_000  # lots
USDT = 10**8

RISK = """
valuation_asset = "USDT"
[account]
max_gross_exposure = "100000"
max_daily_loss = "500"
[symbol]
price_band_pct = "10"
"""


def limit(account: str, side: Side, lots: int, price: int, cid: str | None = None) -> NewOrder:
    return NewOrder(account, side, OrderType.LIMIT, lots, price, GTC, client_order_id=cid)


def until(what: Callable[[], Any], timeout: float = 30.0) -> Any:
    """`what`'s truthy value once it gives one (the actors talk by fire-and-forget calls)."""
    value = wait_for(what, timeout)
    assert value, "timed out"
    return value


def code_of(call: Callable[[], Any]) -> int:
    with pytest.raises(Bot4Error) as err:
        call()
    return err.value.code


@pytest.fixture()
def client(tmp_path: Path) -> Iterator[Client]:
    risk_file = tmp_path / "risk.toml"
    risk_file.write_text(RISK)
    c = bot4.connect(symbols=["BTCUSDT", "ETHUSDT"], journal_dir=tmp_path / "j", fsync="never",
                     reference_prices={"BTCUSDT": BTC, "ETHUSDT": ETH},
                     risk_file=risk_file)  # fmt: skip
    try:  # shut down whatever happens, in the set-up too: no named actor outlives the test
        for account in ("u", "m", "t"):
            for symbol, base in (("BTCUSDT", "BTC"), ("ETHUSDT", "ETH")):
                c.deposit(account, symbol, "USDT", 10**16)
                c.deposit(account, symbol, base, 10**14)
        yield c
    finally:
        c.shutdown()


def grants(client: Client) -> dict[str, int]:
    accounts = ray.get(client.risk.snapshot.remote(), timeout=30)["accounts"]
    return accounts.get("u", {}).get("grants", {})  # type: ignore[no-any-return]


def test_exposure_grants_hold_the_account_limit_over_symbol_actors(client: Client) -> None:
    ack = client.submit("BTCUSDT", limit("u", BUY, 2 * ONE_BTC, BTC - 1_000), 1)  # ~60000
    assert isinstance(ack, Ack)
    assert 60_000 * USDT <= grants(client)["BTCUSDT"] <= 100_000 * USDT
    # 25 ETH (50000) does not fit next to the BTC order: refused, retryable
    assert code_of(lambda: client.submit("ETHUSDT", limit("u", BUY, 25 * ONE_ETH, ETH), 2)) == (
        Code.RISK_MAX_EXPOSURE)  # fmt: skip
    # the desk asked BTC to hand back its unused grant; once it has, 20 ETH (40000) fits
    until(lambda: grants(client)["BTCUSDT"] < 60_000 * USDT)
    assert isinstance(client.submit("ETHUSDT", limit("u", BUY, 20 * ONE_ETH, ETH - 10), 3), Ack)
    assert sum(grants(client).values()) <= 100_000 * USDT


def test_the_kill_switch_reaches_every_symbol_and_survives_restarts(client: Client) -> None:
    client.submit("BTCUSDT", limit("u", BUY, ONE_BTC // 10, BTC - 1_000), 1)
    client.submit("ETHUSDT", limit("u", BUY, ONE_ETH, ETH - 100), 1)
    cancelled = client.kill("u", 2)
    assert {s: [a.status.value for a in acks] for s, acks in cancelled.items()} == {
        "BTCUSDT": ["CANCELED"], "ETHUSDT": ["CANCELED"]}  # fmt: skip
    assert client.risk_states() == {"u": "KILLED"}
    for symbol, price in (("BTCUSDT", BTC), ("ETHUSDT", ETH)):
        assert code_of(lambda s=symbol, p=price: client.submit(s, limit("u", BUY, 10, p), 3)) == (
            Code.RISK_KILL_SWITCH)  # fmt: skip
    # both kinds of actor die and come back: the kill switch holds (journal, desk state file)
    for actor in (client.actors["BTCUSDT"], client.risk):
        os.kill(ray.get(actor.pid.remote(), timeout=30), signal.SIGKILL)
    assert until(lambda: _answer(lambda: client.risk_states())) == {"u": "KILLED"}
    assert (
        until(
            lambda: _answer(
                lambda: code_of(lambda: client.submit("BTCUSDT", limit("u", BUY, 10, BTC), 4))
            )
        )
        == Code.RISK_KILL_SWITCH
    )
    client.reset("u", 5)
    assert client.risk_states() == {}
    assert isinstance(client.submit("BTCUSDT", limit("u", BUY, 1_000, BTC - 1_000), 6), Ack)


def _answer(call: Callable[[], Any]) -> Any:
    """`call()`, or None while the actor it needs is restarting."""
    try:
        return call()
    except (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError):
        return None


def test_a_loss_over_symbols_moves_the_account_to_reduce_only(client: Client) -> None:
    client.submit("BTCUSDT", limit("m", SELL, ONE_BTC, BTC), 1)
    assert client.submit("BTCUSDT", limit("u", BUY, ONE_BTC, BTC), 2).executed_qty == ONE_BTC
    # the market trades 2% lower: u is 600 USDT down on the day, over its 500 limit
    client.submit("BTCUSDT", limit("t", SELL, 1_000, BTC - 60_000), 3)
    client.submit("BTCUSDT", limit("m", BUY, 1_000, BTC - 60_000), 4)
    ray.get(client.actors["BTCUSDT"].flush_report.remote(), timeout=30)
    assert until(lambda: client.risk_states()) == {"u": "REDUCE_ONLY"}
    eth = client.actors["ETHUSDT"]  # the desk pushed the state to every symbol
    until(lambda: ray.get(eth.trading_state.remote("u"), timeout=30) == "REDUCE_ONLY")
    assert code_of(lambda: client.submit("ETHUSDT", limit("u", BUY, 1_000, ETH), 5)) == (
        Code.RISK_REDUCE_ONLY)  # fmt: skip
    # reducing is still allowed: sell part of the BTC
    assert isinstance(client.submit("BTCUSDT", limit("u", SELL, 100, BTC - 60_000), 6), Ack)


def test_idempotent_batches_and_deposits_run_once(client: Client) -> None:
    orders = {
        "BTCUSDT": [limit("u", BUY, 1_000, BTC - 1_000)],
        "ETHUSDT": [limit("u", BUY, 1_000, ETH - 100), limit("u", SELL, 1_000, ETH + 100)],
    }
    first = client.submit_batch(orders, 1, request_id="r-1")
    again = client.submit_batch(orders, 1, request_id="r-1")
    assert again == first and all(isinstance(a, Ack) for v in first.values() for a in v)
    assert len([e for e in client.events("ETHUSDT") if e.account == "u"]) == 2  # not 4
    other = {"BTCUSDT": [limit("u", BUY, 11, BTC - 1_000)]}
    assert code_of(lambda: client.submit_batch(other, 1, request_id="r-1")) == (
        Code.IDEMPOTENCY_CONFLICT)  # fmt: skip
    before = client.balances("BTCUSDT", "x").get("USDT", (0, 0))
    for _ in range(3):
        client.deposit("x", "BTCUSDT", "USDT", 500, request_id="d-1")
    assert client.balances("BTCUSDT", "x")["USDT"][0] == before[0] + 500

    # a retry while the first run is still going is told to come back later
    def inner() -> int:
        return code_of(lambda: client.once("k-1", b"f", 1, lambda: 1))

    assert client.once("k-1", b"f", 1, inner) == Code.IDEMPOTENCY_IN_FLIGHT
    assert client.once("k-1", b"f", 1, lambda: 2) == Code.IDEMPOTENCY_IN_FLIGHT  # replayed
    # a run that raises releases its key: the retry runs
    with pytest.raises(ZeroDivisionError):
        client.once("k-2", b"f", 1, lambda: 1 // 0)
    assert client.once("k-2", b"f", 1, lambda: 3) == 3


def test_the_timestamp_guard_in_the_symbol_actor(client: Client) -> None:
    order = limit("u", BUY, 1_000, BTC - 1_000)
    assert code_of(lambda: client.submit("BTCUSDT", order, 100_000, timestamp=90_000)) == -1021
    ack = client.submit("BTCUSDT", order, 100_000, timestamp=99_000, recv_window=2_000)
    assert isinstance(ack, Ack)


def test_bad_input_to_the_risk_actor_changes_nothing(client: Client) -> None:
    risk = client.risk
    before = ray.get(risk.snapshot.remote(), timeout=30)
    for call in (risk.request.remote("", "BTCUSDT", 5), risk.request.remote("u", "BTCUSDT", -1),
                 risk.released.remote("u", 3, 1), risk.attach.remote("BTCUSDT", {"u": "x"}),
                 risk.report.remote("BTCUSDT", "nan", {"u": (1, 2)}, 0),
                 risk.kill.remote(None, 1), risk.reset.remote("u", -1)):  # fmt: skip
        assert isinstance(ray.get(call, timeout=30), VenueError)
    assert ray.get(risk.snapshot.remote(), timeout=30) == before
    assert isinstance(ray.get(client.actors["BTCUSDT"].set_state.remote("u", "NOPE", "x"),
                              timeout=30), VenueError)  # fmt: skip


def test_the_platform_config_maps_onto_connect() -> None:
    """Every key the config gives is a parameter of `bot4.connect` (none is dropped or
    misspelt), and "wait" with its timeout reaches the client's policy."""
    cfg = PlatformConfig(backpressure="wait", wait_timeout_s=7.5, fsync="always",
                         risk_file=Path("/r.toml"))  # fmt: skip
    kwargs = cfg.connect_kwargs()
    assert kwargs["policy"] == "wait" and kwargs["fsync"] == "always"
    assert kwargs["risk_file"] == Path("/r.toml") and "journal_dir" not in kwargs
    inspect.signature(bot4.connect).bind(**kwargs)  # a TypeError for a key connect lacks
    waiting = Client({}, policy=kwargs["policy"], wait_timeout_s=kwargs["wait_timeout_s"])
    waiting.exporter.stop()
    assert waiting.policy == "wait" and waiting.wait_timeout_s == 7.5
    with pytest.raises(ValueError):
        PlatformConfig(backpressure="drop")  # type: ignore[arg-type]


@ray.remote(max_restarts=-1, max_task_retries=0, num_cpus=0)
class _DeskThatDiesOnce:
    """The risk desk's `attach` (and `report`), from a process that dies the first time it
    is asked (as a desk killed the moment a restarting symbol calls it) and then, restarted,
    says the account was killed while the symbol was away."""

    def __init__(self, marker: str) -> None:
        self.marker = Path(marker)

    def attach(self, symbol: str, grants: dict[str, int]) -> dict[str, str]:
        if not self.marker.exists():
            self.marker.touch()
            os._exit(1)
        return {"u": "KILLED"}

    def report(self, symbol: str, price: int | None, holdings: dict[str, Any], now: int) -> list:
        return []


@pytest.mark.parametrize("desk_wait_s", [60.0, 0.0])
def test_a_symbol_that_starts_while_the_desk_restarts_learns_what_it_missed(
    tmp_path: Path, desk_wait_s: float
) -> None:
    """Its first attach fails with the desk's process. The symbol never fails its creation
    over it (Ray would not restart that): it asks again while `desk_wait_s` lasts, or else
    starts on its own journaled states and asks again before its next batch."""
    from bot4.actors.names import NAMESPACE, symbol_actor
    from bot4.actors.names import RISK as DESK
    from bot4.actors.symbol import SymbolActor
    from bot4.api import ROOT
    from bot4.service import wire
    from bot4.service.commands import Command, Deposit

    risk_file = tmp_path / "risk.toml"
    risk_file.write_text(RISK)
    marker = tmp_path / "desk-died"
    desk = _DeskThatDiesOnce.options(name=DESK, namespace=NAMESPACE).remote(str(marker))
    symbol = None
    try:
        symbol = SymbolActor.options(  # type: ignore[attr-defined]
            name=symbol_actor("BTCUSDT"), namespace=NAMESPACE, num_cpus=0,
        ).remote(str(ROOT / "configs" / "symbols.toml"), "BTCUSDT", str(tmp_path / "j"),
                 "never", BTC, risk_file=str(risk_file), desk=True,
                 desk_wait_s=desk_wait_s)  # fmt: skip
        state = ray.get(symbol.trading_state.remote("u"), timeout=120)
        assert marker.exists()  # the desk did die under the first attach
        if desk_wait_s == 0.0:
            assert state == "ACTIVE"  # started on its own states; the next batch attaches
            until(lambda: _answer(lambda: ray.get(desk.__ray_ready__.remote(), timeout=30)))
            deposit = Command("deposit", Deposit("u", "USDT", 10**12), 1)
            ray.get(symbol.handle_wire.remote(wire.encode_commands([deposit])), timeout=60)
            state = ray.get(symbol.trading_state.remote("u"), timeout=60)
        assert state == "KILLED"
    finally:
        for actor in (symbol, desk):
            if actor is not None:
                ray.kill(actor)
