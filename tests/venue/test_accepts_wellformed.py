"""DESIGN.md: "a funded, well-formed order inside the filters is accepted", on every symbol.

Orders are generated one at a time against the state the engine is in at that moment (its
book, read through `open_orders`, and the average price, recomputed here from the trades the
engine reported), so that each one is well-formed and inside every filter of its symbol:
PRICE_FILTER, PERCENT_PRICE_BY_SIDE around the average price, LOT_SIZE, MARKET_LOT_SIZE,
NOTIONAL (for MARKET orders at the average price, or by quoteOrderQty), MAX_NUM_ORDERS, a fresh
client id, an allowed STP mode, a LIMIT_MAKER that does not cross, a quoteOrderQty large enough
for one lot of the book, from accounts holding far more than any order can need. Prices and
quantities are often drawn at the very edges of what the filters allow (the band's ends, the
minimum and maximum notional), where an off-by-one in the engine would refuse them. The engine
must accept every one (an IOC, FOK or MARKET order may still expire: that is an answer, not a
refusal). Symbols: the four of configs/symbols.toml and the test markets of
tests/support/streams.py.
"""

from __future__ import annotations

import random
from collections import Counter
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from bot4.core import filters as flt
from bot4.core.accounts import Ledger
from bot4.core.enums import ExecutionType, OrderType, Side, StpMode, TimeInForce
from bot4.core.instruments import Instrument, load_symbols
from bot4.core.orders import CancelOrder, NewOrder
from bot4.core.results import Ack
from bot4.venue.engine import MatchingEngine
from tests.conftest import SYMBOLS_FILE
from tests.support.streams import (
    COARSE,
    SIMPLE,
    TRADE_GROUPS,
    WIDE,
    DataPicker,
    Picker,
    RandomPicker,
)

CONFIGURED = load_symbols(SYMBOLS_FILE)
SEEDS = {"BTCUSDT": 6_000_000, "ETHUSDT": 300_000, "BNBUSDT": 60_000, "SOLUSDT": 15_000}
# name: (instrument, seed of the average price, the price (ticks) orders gather around)
INSTRUMENTS: dict[str, tuple[Instrument, int | None, int]] = {
    **{name: (inst, SEEDS[name], SEEDS[name]) for name, inst in CONFIGURED.items()},
    **{m.name: (m.instrument, None, m.mid) for m in (SIMPLE, WIDE, COARSE)},
}
MAX_OPEN = 40  # per account, well under MAX_NUM_ORDERS (200): the oldest is cancelled beyond
ACCOUNTS = ("alice", "bob", "carol", "dave")
KINDS = ("gtc", "ioc", "fok", "maker", "market", "market_quote")
T0, STEP_MS = 1_700_000_000_000, 7_000


def _ceil(x: Fraction) -> int:
    return -((-x.numerator) // x.denominator)


def _floor(x: Fraction) -> int:
    return x.numerator // x.denominator


class WellFormed:
    """An engine, rich accounts, and a generator of orders the venue must accept."""

    def __init__(self, name: str, pick: Picker) -> None:
        inst, seed, self.mid = INSTRUMENTS[name]
        self.inst, self.spec, self.pick = inst, inst.spec, pick
        ledger = Ledger()
        base_unit = Fraction(1, 10**self.spec.baseAssetPrecision)
        quote_unit = Fraction(1, 10**self.spec.quoteAssetPrecision)
        for account in ACCOUNTS:  # a million base and ten billion quote each
            ledger.deposit(account, inst.base, int(10**6 / base_unit))
            ledger.deposit(account, inst.quote, int(10**10 / quote_unit))
        self.groups = dict(TRADE_GROUPS)
        for account, group in TRADE_GROUPS:
            ledger.set_trade_group(account, group)
        self.engine = MatchingEngine(inst, ledger, reference_price=seed)
        self.tick = Fraction(self.spec.filter(flt.PriceFilter).tickSize)
        self.step = Fraction(self.spec.filter(flt.LotSize).stepSize)
        self.quote_unit = quote_unit
        self.seed = seed
        self.trades: list[tuple[int, int, int]] = []  # (time, price ticks, lots), as reported
        self.n = 0
        self.tally: Counter[str] = Counter()

    # ------------------------------------------------------------------ what the filters allow

    def average(self, now: int) -> Fraction | None:
        """The average price (ticks) at `now`, from the reported trades (or the seed)."""
        windows = [
            getattr(f, "avgPriceMins", None)
            for f in self.spec.filters
            if isinstance(f, flt.Notional | flt.MinNotional | flt.PercentPrice
                          | flt.PercentPriceBySide)
        ]  # fmt: skip
        window = (windows[0] or 0) * 60_000 if windows else 0
        if window:
            inside = [(p, q) for t, p, q in self.trades if t > now - window]
            if inside:
                return Fraction(sum(p * q for p, q in inside), sum(q for _, q in inside))
        if self.trades:
            return Fraction(self.trades[-1][1])
        return None if self.seed is None else Fraction(self.seed)

    def price_range(self, side: Side, now: int) -> tuple[int, int]:
        """The prices (ticks) PRICE_FILTER and PERCENT_PRICE(_BY_SIDE) allow now."""
        pf = self.spec.filter(flt.PriceFilter)
        lo = max(1, _ceil(Fraction(pf.minPrice) / self.tick))
        hi = _floor(Fraction(pf.maxPrice) / self.tick) if pf.maxPrice else 10**12
        avg = self.average(now)
        by_side = self.spec.find(flt.PercentPriceBySide)
        plain = self.spec.find(flt.PercentPrice)
        if avg is not None and by_side is not None:
            if side is Side.BUY:
                down, up = by_side.bidMultiplierDown, by_side.bidMultiplierUp
            else:
                down, up = by_side.askMultiplierDown, by_side.askMultiplierUp
            lo, hi = max(lo, _ceil(avg * Fraction(down))), min(hi, _floor(avg * Fraction(up)))
        elif avg is not None and plain is not None:
            lo = max(lo, _ceil(avg * Fraction(plain.multiplierDown)))
            hi = min(hi, _floor(avg * Fraction(plain.multiplierUp)))
        return lo, hi

    def qty_range(self, notional_price: Fraction | None, market: bool) -> tuple[int, int]:
        """The lots LOT_SIZE (and MARKET_LOT_SIZE) and NOTIONAL allow at `notional_price`
        (ticks; None: no notional check)."""
        lot = self.spec.filter(flt.LotSize)
        lo = max(1, _ceil(Fraction(lot.minQty) / self.step))
        hi = _floor(Fraction(lot.maxQty) / self.step)
        ml = self.spec.find(flt.MarketLotSize)
        if market and ml is not None:
            lo = max(lo, _ceil(Fraction(ml.minQty) / self.step))
            if ml.maxQty:
                hi = min(hi, _floor(Fraction(ml.maxQty) / self.step))
        n = self.spec.find(flt.Notional)
        if n is not None and notional_price is not None:
            value = notional_price * self.tick * self.step  # quote per lot
            if not market or n.applyMinToMarket:
                lo = max(lo, _ceil(Fraction(n.minNotional) / value))
            if not market or n.applyMaxToMarket:
                hi = min(hi, _floor(Fraction(n.maxNotional) / value))
        return lo, hi

    def edgy(self, lo: int, hi: int, what: str, near: int | None = None) -> int:
        """A value in [lo, hi]: often an end of the range, else near `near` (or low)."""
        roll = self.pick.integer(0, 9)
        if roll == 0:
            self.tally[f"{what} at its minimum"] += 1
            return lo
        if roll == 1:
            self.tally[f"{what} at its maximum"] += 1
            return hi
        centre = lo if near is None else min(max(near, lo), hi)
        spread = max(1, centre // 50) if near is not None else max(1, lo * 20)
        return min(max(centre + self.pick.integer(-spread, spread), lo), hi)

    # ------------------------------------------------------------------ orders

    def _best_for(self, side: Side, account: str, skip_own: bool) -> int | None:
        """The best price a taker on `side` meets (own makers left out if `skip_own`)."""
        key = self.groups.get(account, account)
        prices = [
            o.price
            for o in self.engine.open_orders()
            if o.side is not side
            and not (skip_own and self.groups.get(o.account, o.account) == key)
        ]
        if not prices:
            return None
        return min(prices) if side is Side.BUY else max(prices)

    def order(self, now: int) -> tuple[str, NewOrder]:
        """The next well-formed, funded order inside every filter, and its kind."""
        pick = self.pick
        kind = KINDS[pick.integer(0, len(KINDS) - 1)]
        account = ACCOUNTS[pick.integer(0, len(ACCOUNTS) - 1)]
        side = Side.BUY if pick.integer(0, 1) else Side.SELL
        allowed = self.spec.allowedSelfTradePreventionModes
        stp_choices: list[StpMode | None] = [None, *allowed]
        stp = stp_choices[pick.integer(0, len(stp_choices) - 1)]
        self.n += 1
        cid = f"w{self.n}" if pick.integer(0, 1) else None
        mode = stp if stp is not None else self.spec.defaultSelfTradePreventionMode
        avg = self.average(now)
        if kind == "market_quote":
            best = self._best_for(side, account, mode is StpMode.EXPIRE_MAKER)
            if best is None:
                kind = "market"
            else:
                per_ticklot = self.tick * self.step / self.quote_unit
                one_lot = _ceil(best * per_ticklot)  # quote units: at least one lot
                n = self.spec.find(flt.Notional)
                lo = one_lot
                if n is not None and n.applyMinToMarket:
                    lo = max(lo, _ceil(Fraction(n.minNotional) / self.quote_unit))
                qoq = self.edgy(lo, lo * 40, "quoteOrderQty")
                return kind, NewOrder(account, side, OrderType.MARKET, 0, 0, None, qoq, cid, stp)
        if kind == "market":
            lo, hi = self.qty_range(avg, market=True)
            qty = self.edgy(lo, min(hi, lo * 200), "MARKET quantity")
            return kind, NewOrder(account, side, OrderType.MARKET, qty, 0, None, 0, cid, stp)
        lo, hi = self.price_range(side, now)
        if kind == "maker":  # must not cross: strictly inside the spread
            best = self._best_for(side, account, False)
            if best is not None:
                if side is Side.BUY:
                    hi = min(hi, best - 1)
                else:
                    lo = max(lo, best + 1)
            if lo > hi:
                kind = "gtc"
                lo, hi = self.price_range(side, now)
        near = int(avg) if avg is not None else self.mid
        price = self.edgy(lo, hi, "price", near)
        qlo, qhi = self.qty_range(Fraction(price), market=False)
        qty = self.edgy(qlo, qhi, "LIMIT quantity") if self.pick.integer(0, 3) == 0 else (
            min(qhi, qlo + self.pick.integer(0, 20 * qlo))
        )  # fmt: skip
        if kind == "maker":
            return kind, NewOrder(account, side, OrderType.LIMIT_MAKER, qty, price, None, 0, cid,
                                  stp)  # fmt: skip
        tif = {"gtc": TimeInForce.GTC, "ioc": TimeInForce.IOC, "fok": TimeInForce.FOK}[kind]
        return kind, NewOrder(account, side, OrderType.LIMIT, qty, price, tif, 0, cid, stp)

    def step_once(self, i: int) -> None:
        """Generate the next order, send it, and insist that it is accepted."""
        now = T0 + i * STEP_MS
        kind, req = self.order(now)
        result = self.engine.submit(req, now)
        assert isinstance(result, Ack), f"{self.inst.symbol}: refused {req}: {result}"
        self.tally[f"{kind} accepted"] += 1
        self.tally[f"{kind} {result.status.value}"] += 1
        for r in result.reports:
            if r.execution_type is ExecutionType.TRADE and not r.is_maker:
                self.trades.append((now, r.last_price, r.last_qty))
        mine = self.engine.open_orders(req.account)
        if len(mine) > MAX_OPEN:  # stay well under MAX_NUM_ORDERS
            assert isinstance(self.engine.cancel(CancelOrder(req.account, mine[0].order_id), now),
                              Ack)  # fmt: skip


@given(name=st.sampled_from(sorted(INSTRUMENTS)), data=st.data())
def test_every_funded_wellformed_order_inside_the_filters_is_accepted(
    name: str, data: st.DataObject
) -> None:
    """On any symbol, a stream of 1-40 orders, each generated well-formed, funded and inside
    every filter given the engine's state at that moment, is accepted order by order."""
    market = WellFormed(name, DataPicker(data))
    for i in range(data.draw(st.integers(1, 40))):
        market.step_once(i)


def test_seeded_wellformed_orders_are_all_accepted_on_every_symbol() -> None:
    """600 such orders per symbol from random.Random(seed): every one accepted; each kind
    (GTC, IOC, FOK, LIMIT_MAKER, MARKET by quantity and by quoteOrderQty) is sent and accepted
    many times, prices at both ends of the PERCENT_PRICE_BY_SIDE band and quantities at the
    minimum and maximum NOTIONAL among them. The tally is printed."""
    seed = 20240613
    print(f"\nseed {seed}")
    total: Counter[str] = Counter()
    for name in sorted(INSTRUMENTS):
        market = WellFormed(name, RandomPicker(random.Random(f"{seed}-{name}")))
        for i in range(600):
            market.step_once(i)
        total += market.tally
    for key in sorted(total):
        print(f"  {total[key]:6d}  {key}")
    for kind in KINDS:
        assert total[f"{kind} accepted"] >= 50, kind
    for key in (
        "price at its minimum",
        "price at its maximum",
        "LIMIT quantity at its minimum",
        "LIMIT quantity at its maximum",
        "MARKET quantity at its minimum",
        "quoteOrderQty at its minimum",
        "fok FILLED",
        "fok EXPIRED",
        "ioc EXPIRED",
        "market_quote FILLED",
    ):
        assert total[key] >= 5, key
