"""The native engine against the Python one (bot4/venue/engine.py, the specification).

Both backends get the same streams (tests/support/streams.py: every plain order type and
time in force, MARKET by quoteOrderQty, cancels of live, dead and unknown orders, malformed
requests, the six STP modes over trade groups, on four markets) plus amends, cancel-replaces,
cancel-alls and cancel restrictions drawn from the open orders. After EVERY request they must
answer the same: an equal `VenueError`, or an `Ack` with the same fields and execution
reports whose canonical encoding (`bot4.core.events.encode`) is byte-for-byte the same; and
the state digests (book, counters, average price, every balance, fees, groups) must be equal.
"""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from collections.abc import Sequence

import pytest
from hypothesis import given

from bot4._native import refusal_names
from bot4.api import ROOT
from bot4.core import errors
from bot4.core.enums import (
    CancelReplaceMode,
    CancelRestriction,
    OrderType,
    Side,
    StpMode,
    TimeInForce,
)
from bot4.core.errors import VenueError
from bot4.core.events import encode
from bot4.core.fees import load_fees
from bot4.core.filters import (
    ExchangeMaxNumAlgoOrders,
    ExchangeMaxNumOrderLists,
    ExchangeMaxNumOrders,
    MaxNumAlgoOrders,
    TrailingDelta,
)
from bot4.core.instruments import Instrument, SymbolSpec
from bot4.core.orders import (
    AmendOrder,
    CancelOrder,
    CancelOrderList,
    CancelReplace,
    ListLeg,
    NewOco,
    NewOrder,
    NewOto,
    NewOtoco,
)
from bot4.core.results import Ack, CancelReplaceResult, ListAck
from bot4.venue.batch import refusal
from bot4.venue.engine import MatchingEngine
from bot4.venue.exchange import Venue
from bot4.venue.native import NativeEngine
from bot4.venue.nativeledger import NativeFeeBook, NativeLedger
from bot4.venue.stops import fires_on_rise
from tests.support.streams import (
    BTC,
    MARKETS,
    Market,
    Scenario,
    build_engine,
    now_of,
    seeded_scenario,
    streams,
)

Engine = MatchingEngine | NativeEngine
STOPS = (OrderType.STOP_LOSS, OrderType.STOP_LOSS_LIMIT, OrderType.TAKE_PROFIT,
         OrderType.TAKE_PROFIT_LIMIT)  # fmt: skip


def _log(answer: object) -> bytes:
    """The canonical bytes of an answer: its fields and every report's encoding."""
    if isinstance(answer, CancelReplaceResult):
        return _log(answer.cancel) + b"||" + _log(answer.new)
    if isinstance(answer, list):
        return b"".join(_log(a) for a in answer)
    if isinstance(answer, Ack | ListAck):
        head = "|".join(str(v) for v in answer[:-2]).encode()
        statuses = "".join(f"{s}\n" for s in answer[-1]).encode()
        return head + b"\n" + b"".join(encode(r) for r in answer.reports) + statuses
    return repr(answer).encode() + b"\n"


def _balances(engine: Engine) -> list[tuple[str, str, int, int]]:
    return [(a, s, b.free, b.locked) for a, s, b in engine.ledger.items()]


class Pair:
    """The two backends side by side, comparing after every request."""

    def __init__(self, market: Market, accounts: Sequence[str]) -> None:
        self.py = build_engine(market, accounts)
        self.native = build_engine(market, accounts, backend="native")
        self.kinds: Counter[str] = Counter()
        self.requests = 0

    def run(self, op: str, req: object, now: int) -> object:
        a = getattr(self.py, op)(req, now)
        b = getattr(self.native, op)(req, now)
        assert _log(a) == _log(b), (op, req)
        assert self.py.state_digest() == self.native.state_digest(), (op, req)
        self.requests += 1
        ok = isinstance(a, Ack | ListAck | list) or (
            isinstance(a, CancelReplaceResult) and a.error is None
        )
        self.kinds[f"{op} {'ok' if ok else 'refused'}"] += 1
        for ack in (
            a if isinstance(a, list) else [a.new] if isinstance(a, CancelReplaceResult) else [a]
        ):
            if isinstance(ack, Ack | ListAck):
                for r in ack.reports:
                    self.kinds[f"{r.type.value} {r.execution_type.value}"] += 1
        return a

    def check_queries(self, accounts: Sequence[str]) -> None:
        py, native = self.py, self.native
        assert py.depth(1000) == native.depth(1000)
        assert (py.best_bid(), py.best_ask()) == (native.best_bid(), native.best_ask())
        assert py.open_orders() == native.open_orders()
        for account in (*accounts, "mallory"):
            assert py.open_orders(account) == native.open_orders(account)
            for order_id in range(py.last_order_id + 2):
                assert py.get_order(account, order_id) == native.get_order(account, order_id)
                assert py.is_open(order_id) == native.is_open(order_id)
            for cid in ("c0", "c1", "bot4-3", ""):
                assert py.get_order(account, None, cid) == native.get_order(account, None, cid)
        assert _balances(py) == _balances(native)
        for list_id in range(py.last_order_list_id + 2):
            assert py.list_status(list_id, 7) == native.list_status(list_id, 7)
        assert py.ledger.fees == native.ledger.fees
        assert (py.seq, py.last_trade_id, py.traded_ticklots) == (
            native.seq, native.last_trade_id, native.traded_ticklots,
        )  # fmt: skip


def _stop(rng: random.Random, engine: Engine, accounts: Sequence[str], mid: int) -> NewOrder:
    """A stop-loss or take-profit order (plain, limit or trailing) near the last price, on
    the side where it waits or (now and then) where it would trigger at once."""
    last = engine.last_price() if isinstance(engine, NativeEngine) else engine.avg_price.last
    last = mid if last is None else last
    otype = rng.choice(STOPS)
    side = rng.choice((Side.BUY, Side.SELL))
    above = fires_on_rise(otype, side)
    away = rng.randint(1, 6) * (1 if above else -1) * (1 if rng.random() < 0.9 else -1)
    stop_price = max(1, last + away)
    trailing = 0
    if rng.random() < 0.35:
        trailing = rng.choice((5, 10, 50, 100, 300))
        if rng.random() < 0.5:
            stop_price = 0
    limit = otype in (OrderType.STOP_LOSS_LIMIT, OrderType.TAKE_PROFIT_LIMIT)
    price = max(1, (stop_price or last) + rng.randint(-3, 3)) if limit else 0
    tif = rng.choice((TimeInForce.GTC, TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK))
    return NewOrder(
        rng.choice(accounts), side, otype, rng.randint(1, 20), price, tif if limit else None,
        0, None, None, stop_price, trailing,
    )  # fmt: skip


def _leg(rng: random.Random, kind: OrderType, at: int) -> ListLeg:
    """A list leg of `kind` standing at `at` (a _LIMIT's price near it)."""
    limit = kind in (OrderType.STOP_LOSS_LIMIT, OrderType.TAKE_PROFIT_LIMIT)
    trailing = rng.choice((0, 0, 0, 20))
    stop = 0 if kind is OrderType.LIMIT_MAKER else (0 if trailing and rng.random() < 0.5 else at)
    price = at if kind is OrderType.LIMIT_MAKER else max(1, at + rng.randint(-2, 2)) if limit else 0
    tif = TimeInForce.GTC if limit else None
    return ListLeg(kind, price, stop, trailing, tif, rng.choice((None, None, "leg1", "leg2")))


def _oco_pair(rng: random.Random, side: Side, last: int) -> tuple[ListLeg, ListLeg]:
    """An above and a below leg around `last`: for a SELL a limit maker or take-profit above
    and a stop-loss below, for a BUY the other way round (now and then a wrong pair)."""
    up, down = last + rng.randint(1, 6), max(1, last - rng.randint(1, 6))
    profit = rng.choice((OrderType.LIMIT_MAKER, OrderType.TAKE_PROFIT, OrderType.TAKE_PROFIT_LIMIT))
    loss = rng.choice((OrderType.STOP_LOSS, OrderType.STOP_LOSS_LIMIT))
    if rng.random() < 0.1:
        profit, loss = loss, profit
    if side is Side.SELL:
        return _leg(rng, profit, up), _leg(rng, loss, down)
    return _leg(rng, loss, up), _leg(rng, profit, down)


def _list(
    rng: random.Random, engine: Engine, accounts: Sequence[str], mid: int
) -> tuple[str, object]:
    """An OCO, OTO, OTOCO or list cancel (of an open list, by id or client id, or not)."""
    last = engine.last_price() if isinstance(engine, NativeEngine) else engine.avg_price.last
    last = mid if last is None else last
    account = rng.choice(accounts)
    side = rng.choice((Side.BUY, Side.SELL))
    qty = rng.randint(1, 20)
    cid = rng.choice((None, None, "list1", "list2", ""))
    kind = rng.randrange(5)
    if kind == 0:
        above, below = _oco_pair(rng, side, last)
        stp = rng.choice((None, None, StpMode.EXPIRE_TAKER))
        return "submit_oco", NewOco(account, side, qty, above, below, cid, stp)
    working = NewOrder(account, side, rng.choice((OrderType.LIMIT, OrderType.LIMIT,
                       OrderType.LIMIT_MAKER)), qty, last + rng.randint(-3, 3),
                       TimeInForce.GTC)  # fmt: skip
    if working.type is OrderType.LIMIT_MAKER:
        working = working._replace(time_in_force=None)
    other = Side.SELL if side is Side.BUY else Side.BUY
    if kind == 1:
        pending = rng.choice((
            NewOrder(account, other, OrderType.LIMIT, qty, last + rng.randint(-3, 3),
                     TimeInForce.GTC),
            NewOrder(account, other, OrderType.MARKET, qty),
            _stop(rng, engine, [account], mid)._replace(side=other),
        ))  # fmt: skip
        return "submit_oto", NewOto(working, pending, cid)
    if kind == 2:
        above, below = _oco_pair(rng, other, last)
        return "submit_otoco", NewOtoco(working, other, qty, above, below, cid)
    assert isinstance(engine, MatchingEngine)  # the reference knows its open lists
    lists = list(engine._lists.values())
    lst = rng.choice(lists) if lists and rng.random() < 0.9 else None
    if lst is None:
        return "cancel_list", CancelOrderList(account, rng.randint(0, 99))
    by_cid = rng.random() < 0.3
    return "cancel_list", CancelOrderList(
        lst.account, None if by_cid else lst.list_id, lst.client_id if by_cid else None,
        rng.choice((None, "gone")),
    )  # fmt: skip


def _extra(
    rng: random.Random, engine: Engine, accounts: Sequence[str], mid: int, stops: bool
) -> tuple[str, object]:
    """An amend, cancel-replace, cancel-all or restricted cancel of an open order (or not);
    on a market with stop orders, often a new stop order or an order list."""
    if stops and rng.random() < 0.6:
        if rng.random() < 0.5:
            return _list(rng, engine, accounts, mid)
        return "submit", _stop(rng, engine, accounts, mid)
    views = engine.open_orders()
    view = rng.choice(views) if views else None
    account = view.account if view is not None and rng.random() < 0.9 else rng.choice(accounts)
    order_id = view.order_id if view is not None else rng.randint(1, 50)
    kind = rng.randrange(4)
    if kind == 0:
        qty = view.orig_qty if view is not None else 10
        new_qty = rng.choice((qty - 1, qty // 2, qty, qty + 1, 0, max(1, qty - 1000)))
        cid = rng.choice((None, None, "amended", "c1", "", "bad id"))
        by_cid = view is not None and rng.random() < 0.3
        return "amend", AmendOrder(
            account, new_qty, None if by_cid else order_id,
            view.client_order_id if by_cid and view is not None else None, cid,
        )  # fmt: skip
    if kind == 1:
        price = view.price if view is not None and view.price else 1000
        new = NewOrder(account, rng.choice((Side.BUY, Side.SELL)), OrderType.LIMIT,
                       rng.randint(1, 20), price + rng.randint(-3, 3), TimeInForce.GTC)  # fmt: skip
        mode = rng.choice(list(CancelReplaceMode))
        return "cancel_replace", CancelReplace(CancelOrder(account, order_id), new, mode)
    if kind == 2:
        return "cancel_all", account
    restriction = rng.choice(list(CancelRestriction))
    return "cancel", CancelOrder(account, order_id, None, rng.choice((None, "gone")), restriction)


def _run(scenario: Scenario, seed: int, extra: float) -> Pair:
    pair = Pair(scenario.market, scenario.accounts)
    rng = random.Random(seed)
    market = scenario.market
    stops = OrderType.STOP_LOSS in market.instrument.spec.orderTypes
    for i, req in enumerate(scenario.requests):
        now = now_of(i)
        if rng.random() < extra:
            op, other = _extra(rng, pair.py, scenario.accounts, market.mid, stops)
            pair.run(op, other, now)
        pair.run("submit" if isinstance(req, NewOrder) else "cancel", req, now)
    pair.check_queries(scenario.accounts)
    return pair


def _with_stops(market: Market) -> Market:
    """The market with every order type, trailing stops and TRAILING_DELTA bounds."""
    spec = market.instrument.spec
    filters = [*spec.filters, TrailingDelta(
        filterType="TRAILING_DELTA", minTrailingAboveDelta=5, maxTrailingAboveDelta=200,
        minTrailingBelowDelta=5, maxTrailingBelowDelta=200,
    ), MaxNumAlgoOrders(filterType="MAX_NUM_ALGO_ORDERS", maxNumAlgoOrders=12)]  # fmt: skip
    data = spec.model_dump(mode="json")
    data.update(symbol="S" + spec.symbol, orderTypes=[t.value for t in OrderType],
                allowTrailingStop=True,
                filters=[f.model_dump(mode="json") for f in filters])  # fmt: skip
    instrument = Instrument.compile(SymbolSpec.model_validate(data))
    return dataclasses.replace(market, name=market.name + "+stops", instrument=instrument)


STOP_MARKETS = tuple(_with_stops(m) for m in MARKETS)


@pytest.mark.parametrize("market", MARKETS + STOP_MARKETS, ids=lambda m: m.name)
@pytest.mark.parametrize("seed", range(6))
def test_seeded_streams_give_the_same_bytes_and_digest_after_every_request(
    market: Market, seed: int
) -> None:
    stops = market in STOP_MARKETS
    scenario = seeded_scenario(seed, 600, market, n_accounts=2 + seed % 3)
    pair = _run(scenario, seed, 0.4 if stops else 0.15)
    for kind in ("submit ok", "submit refused", "cancel refused", "amend ok", "cancel_all ok"):
        assert pair.kinds[kind], (kind, pair.kinds)
    if stops:  # stop orders wait, trigger and trade, and some are cancelled; lists too
        for event in ("NEW", "TRADE", "CANCELED"):
            seen = sum(pair.kinds[f"{t.value} {event}"] for t in STOPS)
            assert seen, (event, pair.kinds)
        for kind in ("submit_oco ok", "submit_oto ok", "submit_otoco ok", "cancel_list ok"):
            assert pair.kinds[kind], (kind, pair.kinds)


@given(streams(MARKETS + STOP_MARKETS))
def test_hypothesis_streams_agree(scenario: Scenario) -> None:
    _run(scenario, len(scenario.requests), 0.3)


def test_every_refusal_the_native_engine_names_is_a_venue_error() -> None:
    names = refusal_names()
    assert len(names) > 20
    for name, first, second in names:
        assert isinstance(refusal(name, first, second), VenueError), name
    assert refusal("filter_failure", "LOT_SIZE", None) == errors.filter_failure("LOT_SIZE")


def _pair() -> Pair:
    return Pair(BTC, ("alice", "bob"))


@pytest.mark.parametrize(
    "req",
    [
        NewOrder("alice", Side.BUY, OrderType.LIMIT, 2**70, 3_000_000, TimeInForce.GTC),
        NewOrder("alice", Side.BUY, OrderType.LIMIT, -(2**70), 3_000_000, TimeInForce.GTC),
        NewOrder("alice", Side.SELL, OrderType.LIMIT, 100, 2**70, TimeInForce.GTC),
        NewOrder("alice", Side.SELL, OrderType.LIMIT, 100, -(2**70), TimeInForce.GTC),
        NewOrder("alice", Side.BUY, OrderType.MARKET, 0, 0, None, 2**70),
        NewOrder("alice", Side.BUY, OrderType.MARKET, 2**64),
        NewOrder("alice", "BUY", OrderType.LIMIT, 1, 1, TimeInForce.GTC),  # type: ignore[arg-type]
        NewOrder(7, Side.BUY, OrderType.LIMIT, 1, 1, TimeInForce.GTC),  # type: ignore[arg-type]
        NewOrder("alice", Side.BUY, OrderType.LIMIT, 1, 1, TimeInForce.GTC, client_order_id=5),  # type: ignore[arg-type]
        NewOrder("alice", Side.BUY, OrderType.LIMIT, 1, 1, TimeInForce.GTC, client_order_id="a\n"),
        NewOrder("alice", Side.BUY, OrderType.LIMIT, 1.0, 1, TimeInForce.GTC),  # type: ignore[arg-type]
        # text that is not Unicode (a lone surrogate): answered, never raised
        NewOrder(
            "alice", Side.BUY, OrderType.LIMIT, 1, 1, TimeInForce.GTC, client_order_id="a\ud800"
        ),
        NewOrder("al\udc00", Side.BUY, OrderType.LIMIT, 1, 1, TimeInForce.GTC),
    ],
)
def test_out_of_range_and_mistyped_requests_get_the_same_typed_error(req: NewOrder) -> None:
    pair = _pair()
    answer = pair.run("submit", req, now_of(0))
    assert isinstance(answer, VenueError)


@pytest.mark.parametrize(
    ("op", "req"),
    [
        ("cancel", CancelOrder("alice", 2**70)),
        ("cancel", CancelOrder("alice", 1.0)),  # type: ignore[arg-type]
        ("cancel", CancelOrder("alice", 1, None, "x y")),
        ("cancel", CancelOrder("alice", 1, None, None, "ONLY_NEW")),  # type: ignore[arg-type]
        ("cancel", CancelOrder("nobody", 1)),
        ("amend", AmendOrder("alice", 2**70, 1)),
        ("amend", AmendOrder("alice", 5, 2**70)),
        ("amend", AmendOrder("alice", 5)),
        ("cancel_all", 5),
        ("cancel", CancelOrder("alice", None, "x\ud800")),
        ("cancel", CancelOrder("alice", 1, None, "\ud800")),
        ("cancel", CancelOrder("a\ud800", 1)),
        ("amend", AmendOrder("a\ud800", 5, 1)),
        ("amend", AmendOrder("alice", 5, None, "o\udfff")),
        ("amend", AmendOrder("alice", 5, 1, None, "n\ud800")),
        ("cancel_all", "a\ud800"),
        ("cancel_list", CancelOrderList("a\ud800", 1)),
        ("cancel_list", CancelOrderList("alice", None, "l\ud800")),
        ("cancel_list", CancelOrderList("alice", 1, None, "\ud800")),
    ],
)
def test_bad_cancels_and_amends_are_refused_alike(op: str, req: object) -> None:
    pair = _pair()
    pair.run("submit", NewOrder("alice", Side.SELL, OrderType.LIMIT, 100, 3_000_000,
                                TimeInForce.GTC), now_of(0))  # fmt: skip
    assert isinstance(pair.run(op, req, now_of(1)), VenueError)


def test_a_venue_picks_its_backend() -> None:
    schedule = load_fees(ROOT / "configs" / "fees.toml")
    venue = Venue({"BTCUSDT": BTC.instrument}, fees=schedule, backend="native")
    assert isinstance(venue.engines["BTCUSDT"], NativeEngine)
    assert isinstance(venue.fees, NativeFeeBook) and venue.fees.ledger is venue.ledger
    with pytest.raises(ValueError, match="unknown engine backend"):
        Venue({"BTCUSDT": BTC.instrument}, backend="rust")  # type: ignore[arg-type]


def test_a_panic_in_a_request_stops_the_engine_and_its_ledger() -> None:
    """No input should make the core panic; if one ever does, the request surfaces as an
    internal error and nothing is built on its half-applied state again."""
    native = build_engine(BTC, ("alice", "bob"), backend="native")
    other = NativeEngine(BTC.instrument, native.ledger)  # a second symbol on the same ledger
    order = NewOrder("alice", Side.SELL, OrderType.LIMIT, 100, 3_000_000, TimeInForce.GTC)
    assert isinstance(native.submit(order, now_of(0)), Ack)
    with pytest.raises(RuntimeError, match="internal error"):
        native._core.crash_drill()
    for call in (
        lambda: native.submit(order, now_of(1)),
        lambda: native.cancel(CancelOrder("alice", order_id=1), now_of(1)),
        lambda: other.submit(order, now_of(1)),
        lambda: native.ledger.deposit("alice", "USDT", 1),
    ):
        with pytest.raises(RuntimeError, match="stopped"):
            call()


def test_the_native_ledger_answers_as_the_python_one() -> None:
    ledger = NativeLedger()
    ledger.deposit("b", "USDT", 5)
    ledger.set_trade_group("a", 3)
    assert ledger.knows("a") and ledger.knows("b") and not ledger.knows("c")
    assert ledger.stp_key("a") == 3 and ledger.stp_key("b") == "b"
    assert ledger.balance("b", "USDT").free == 5 and ledger.total("USDT") == 5
    with pytest.raises(ValueError, match="cannot withdraw 6 of USDT: free is 5"):
        ledger.withdraw("b", "USDT", 6)
    with pytest.raises(ValueError, match="negative"):
        ledger.deposit("b", "USDT", -1)
    with pytest.raises(OverflowError):
        ledger.deposit("b", "USDT", 2**130)
    ledger.withdraw("b", "USDT", 5)
    assert ledger.accounts() == ["a", "b"] == sorted(ledger.known)
    assert ledger.trade_groups == {"a": 3} and ledger.fees == {}
    assert list(ledger.items()) == []


@pytest.mark.parametrize("seed", range(3))
def test_two_venues_with_exchange_filters_agree_over_two_symbols(seed: int) -> None:
    """EXCHANGE_MAX_NUM_ORDERS / _ALGO_ORDERS / _ORDER_LISTS count an account over every
    symbol of a venue: both backends refuse the same requests across two symbols that share
    the quote asset, and end in the same venue digest."""
    markets = {m.instrument.symbol: m for m in STOP_MARKETS[:2]}
    filters = [
        ExchangeMaxNumOrders(filterType="EXCHANGE_MAX_NUM_ORDERS", maxNumOrders=7),
        ExchangeMaxNumAlgoOrders(filterType="EXCHANGE_MAX_NUM_ALGO_ORDERS", maxNumAlgoOrders=3),
        ExchangeMaxNumOrderLists(filterType="EXCHANGE_MAX_NUM_ORDER_LISTS", maxNumOrderLists=1),
    ]
    venues = [
        Venue({s: m.instrument for s, m in markets.items()}, exchange_filters=filters,
              backend=backend)
        for backend in ("python", "native")
    ]  # fmt: skip
    accounts = ("alice", "bob")
    for venue in venues:
        for market in markets.values():
            for account in accounts:
                base, quote = market.rich()
                venue.ledger.deposit(account, market.instrument.base, base)
                venue.ledger.deposit(account, market.instrument.quote, quote)
    rng = random.Random(seed)
    refused = 0
    for i in range(400):
        symbol = rng.choice(sorted(markets))
        market = markets[symbol]
        python, native = (v.engines[symbol] for v in venues)
        roll = rng.random()
        if roll < 0.4:
            price = market.mid + rng.randint(-market.band, market.band)
            op, req = "submit", NewOrder(rng.choice(accounts), rng.choice((Side.BUY, Side.SELL)),
                                         OrderType.LIMIT, rng.randint(1, 5), price,
                                         TimeInForce.GTC)  # fmt: skip
        elif roll < 0.6:
            op, req = "submit", _stop(rng, python, accounts, market.mid)
        elif roll < 0.75:
            op, req = _list(rng, python, accounts, market.mid)
        else:
            op, req = "cancel_all", rng.choice(accounts)
        a, b = getattr(python, op)(req, now_of(i)), getattr(native, op)(req, now_of(i))
        assert _log(a) == _log(b), (i, op, req)
        refused += isinstance(a, VenueError) and "EXCHANGE_MAX" in a.msg
    assert venues[0].state_digest() == venues[1].state_digest()
    assert refused > 5
