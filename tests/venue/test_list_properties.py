"""Order-list invariants over random streams of OCO, OTO and OTOCO lists, trades that trigger
their stops, cancels and amends of their legs.

Whatever the stream:
* at most one leg of an OCO pair ever executes, and never more than the pair's quantity;
* an OTO pending leg executes only after its working leg has completely filled;
* every account's locked balance is exactly what its open orders hold, so funds locked by a
  list are released exactly once (never twice, never left behind), and no asset is created
  or lost;
* each list ends (ALL_DONE) at most once, and no leg reports after its list ended.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot4.core.enums import (
    ContingencyType,
    ListStatusType,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from bot4.core.events import ExecutionReport, ListStatus
from bot4.core.instruments import Instrument
from bot4.core.orders import (
    AmendOrder,
    CancelOrder,
    CancelOrderList,
    ListLeg,
    NewOco,
    NewOrder,
    NewOto,
    NewOtoco,
    OrderView,
)
from bot4.core.results import Ack, CancelReplaceResult, ListAck
from bot4.venue.engine import MatchingEngine
from tests.conftest import funded_engine, simple_spec
from tests.venue.test_lists import TYPES

BUY, SELL, GTC, IOC = Side.BUY, Side.SELL, TimeInForce.GTC, TimeInForce.IOC
T = OrderType
USERS = ("u1", "u2")
ACCOUNTS = (*USERS, "m", "t")
KINDS = ("oco", "oto", "otoco", "flow", "flow", "flow", "cancel", "cancel_list", "amend")

ops = st.lists(
    st.tuples(
        st.sampled_from(KINDS),
        st.sampled_from([BUY, SELL]),
        st.integers(1, 1_500),  # a price distance in ticks
        st.integers(1, 1_500),
        st.integers(1, 150),  # a quantity in lots
        st.integers(0, 2**31),  # choices
    ),
    min_size=5,
    max_size=60,
)


@dataclass
class Run:
    engine: MatchingEngine
    reports: list[ExecutionReport] = field(default_factory=list)
    statuses: list[ListStatus] = field(default_factory=list)
    lists: dict[int, tuple[ContingencyType, list[int]]] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)

    def record(self, result: Any) -> None:
        if isinstance(result, CancelReplaceResult):  # pragma: no cover - not generated
            return
        if isinstance(result, Ack | ListAck):
            self.statuses.extend(result.list_statuses)
        if isinstance(result, ListAck):
            kind = result.contingency_type
            self.lists[result.order_list_id] = (kind, [o.order_id for o in result.orders])


def _oco_legs(side: Side, last: int, up: int, down: int, pick: int) -> tuple[ListLeg, ListLeg]:
    """A pair around `last`: for a SELL the stop loss below, for a BUY above."""
    tif = GTC
    if side is SELL:
        above = [ListLeg(T.LIMIT_MAKER, price=last + up),
                 ListLeg(T.TAKE_PROFIT, stop_price=last + up),
                 ListLeg(T.TAKE_PROFIT_LIMIT, price=last + up, stop_price=last + up,
                         time_in_force=tif)][pick % 3]  # fmt: skip
        below = [ListLeg(T.STOP_LOSS, stop_price=last - down),
                 ListLeg(T.STOP_LOSS_LIMIT, price=last - down, stop_price=last - down,
                         time_in_force=tif)][pick // 3 % 2]  # fmt: skip
    else:
        above = [ListLeg(T.STOP_LOSS, stop_price=last + up),
                 ListLeg(T.STOP_LOSS_LIMIT, price=last + up, stop_price=last + up,
                         time_in_force=tif)][pick % 2]  # fmt: skip
        below = [ListLeg(T.LIMIT_MAKER, price=last - down),
                 ListLeg(T.TAKE_PROFIT, stop_price=last - down),
                 ListLeg(T.TAKE_PROFIT_LIMIT, price=last - down, stop_price=last - down,
                         time_in_force=tif)][pick // 2 % 3]  # fmt: skip
    return above, below


def _step(run: Run, op: tuple[Any, ...], now: int) -> None:
    kind, side, a, b, qty, pick = op
    engine = run.engine
    last = engine.last_price() or 10_000
    user = USERS[pick % 2]
    other = SELL if side is BUY else BUY
    result: Any = None
    if kind == "oco":
        above, below = _oco_legs(side, last, a, b, pick >> 1)
        result = engine.submit_oco(NewOco(user, side, qty, above, below), now)
    elif kind in ("oto", "otoco"):
        price = last - a if side is BUY else last + a
        working = NewOrder(user, side, T.LIMIT if pick & 2 else T.LIMIT_MAKER, qty, price,
                           GTC if pick & 2 else None)  # fmt: skip
        if kind == "oto":
            pend_price = price + b if other is SELL else price - b
            pending = [NewOrder(user, other, T.LIMIT, qty, pend_price, GTC),
                       NewOrder(user, other, T.STOP_LOSS, qty, stop_price=max(1, price - b)
                                if other is SELL else price + b),
                       NewOrder(user, other, T.MARKET, qty)][pick >> 2 & 3 % 3]  # fmt: skip
            result = engine.submit_oto(NewOto(working, pending), now)
        else:
            above, below = _oco_legs(other, price, b, max(1, b // 2), pick >> 2)
            if below.price < 0 or below.stop_price < 0:  # pragma: no cover - prices stay > 0
                return
            result = engine.submit_otoco(NewOtoco(working, other, qty, above, below), now)
    elif kind == "flow":  # a bystander rests, another takes: trades move the last price
        price = last + a - b
        engine.submit(NewOrder("m", side, T.LIMIT, qty, max(1, price), GTC), now)
        result = engine.submit(NewOrder("t", other, T.LIMIT, qty, max(1, price), IOC), now)
    else:
        mine = [o for o in engine.open_orders() if o.account in USERS]
        if not mine:
            return
        order = mine[pick % len(mine)]
        if kind == "cancel":
            result = engine.cancel(CancelOrder(order.account, order.order_id), now)
        elif kind == "cancel_list":
            if order.order_list_id < 0:
                return
            result = engine.cancel_list(CancelOrderList(order.account, order.order_list_id), now)
        else:
            new_qty = max(1, order.orig_qty * (a % 100) // 100)
            result = engine.amend(AmendOrder(order.account, new_qty, order.order_id), now)
    run.record(result)


def _check_locks(run: Run) -> None:
    engine = run.engine
    inst = engine.instrument
    held: dict[tuple[str, str], int] = {}
    locks = engine.open_locks()
    for order in engine.open_orders():
        asset = inst.quote if order.side is BUY else inst.base
        key = (order.account, asset)
        held[key] = held.get(key, 0) + locks[order.order_id]
        assert locks[order.order_id] >= 0
    for account in ACCOUNTS:
        for asset in (inst.base, inst.quote):
            bal = engine.ledger.balance(account, asset)
            assert bal.free >= 0
            assert bal.locked == held.get((account, asset), 0), (account, asset)
    for asset, total in run.totals.items():
        assert engine.ledger.total(asset) == total


def run_stream(stream: list[tuple[Any, ...]]) -> Run:
    instrument = Instrument.compile(simple_spec(orderTypes=TYPES))
    run = Run(funded_engine(instrument, ACCOUNTS))
    engine = run.engine
    engine.on_events = run.reports.extend
    engine.submit(NewOrder("m", SELL, T.LIMIT, 1, 10_000, GTC), 0)
    engine.submit(NewOrder("t", BUY, T.LIMIT, 1, 10_000, IOC), 0)
    run.totals = {a: engine.ledger.total(a) for a in (instrument.base, instrument.quote)}
    for i, op in enumerate(stream, start=1):
        _step(run, op, i * 1_000)
        _check_locks(run)
    return run


def check_promises(run: Run) -> None:
    """The list invariants of the module docstring, over a finished run."""
    executed: dict[int, int] = {}
    first_fill: dict[int, int] = {}
    last_status: dict[int, OrderStatus] = {}
    for r in run.reports:
        if r.trade_id >= 0:
            executed[r.order_id] = executed.get(r.order_id, 0) + r.last_qty
            first_fill.setdefault(r.order_id, r.seq)
        last_status[r.order_id] = r.status
    filled_at = {
        r.order_id: r.seq for r in run.reports if r.trade_id >= 0 and r.status is OrderStatus.FILLED
    }
    for kind, legs in run.lists.values():
        views = [run.engine.get_order(a, order_id=o) for o in legs for a in USERS]
        qty = {v.order_id: v.orig_qty for v in views if isinstance(v, OrderView)}
        pair = legs if kind is ContingencyType.OCO else legs[1:] if len(legs) == 3 else []
        if pair:
            active = [o for o in pair if executed.get(o, 0)]
            assert len(active) <= 1, "both legs of an OCO executed"
            assert sum(executed.get(o, 0) for o in pair) <= max(qty.get(o, 0) for o in pair)
        if kind is ContingencyType.OTO:
            working = legs[0]
            for pending in legs[1:]:
                if pending in first_fill:
                    assert working in filled_at and filled_at[working] < first_fill[pending]
    done = [s.order_list_id for s in run.statuses if s.list_status_type is ListStatusType.ALL_DONE]
    assert len(done) == len(set(done)), "a list ended twice"
    ended_at = {
        s.order_list_id: s.seq
        for s in run.statuses
        if s.list_status_type is ListStatusType.ALL_DONE
    }
    for r in run.reports:
        if r.order_list_id in ended_at:
            assert r.seq <= ended_at[r.order_list_id], "a leg reported after its list ended"
    # every lock is gone once every order has ended
    for order in run.engine.open_orders():
        run.engine.cancel(CancelOrder(order.account, order.order_id), 10**9)
    for account in ACCOUNTS:
        for asset in (run.engine.instrument.base, run.engine.instrument.quote):
            assert run.engine.ledger.balance(account, asset).locked == 0


@settings(max_examples=300)  # about 2 ms each: cheap enough to explore more
@given(stream=ops)
def test_lists_keep_their_promises(stream: list[tuple[Any, ...]]) -> None:
    check_promises(run_stream(stream))


@pytest.mark.parametrize("seed", range(8))
def test_long_streams_of_lists_keep_their_promises_and_replay_exactly(seed: int) -> None:
    rng = random.Random(seed)
    stream = [
        (rng.choice(KINDS), rng.choice([BUY, SELL]), rng.randint(1, 1_500),
         rng.randint(1, 1_500), rng.randint(1, 150), rng.randint(0, 2**31))
        for _ in range(600)
    ]  # fmt: skip
    first, second = run_stream(stream), run_stream(stream)
    assert first.engine.state_digest() == second.engine.state_digest()
    assert first.reports == second.reports
    assert len(first.lists) > 50 and sum(1 for r in first.reports if r.trade_id >= 0) > 100
    check_promises(first)
