"""Other participants' orders for one symbol, generated from a `MarketModel` to drive a book.

Takers are calibrated: buy and sell market orders arrive as the model's Poisson processes,
sized by its log-normal (rounded to whole lots), and reach the venue after an order-entry
delay drawn from its latency model. Makers are not: public trade and top-of-book files do not
show individual resting orders, so the liquidity side follows `FlowConfig`, a documented
assumption. Makers keep `levels` price levels on each side of the book, each quote
`depth_factor` times the mean trade size. After every taker order they restore any side that
lost levels, quoting outward from the opposite best price, so trades move the price as they
consume levels.

Everything is drawn from one seeded generator, and the engine is deterministic. The same
model, seed and start therefore give the same orders and the same event log.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from bot4.core.enums import OrderType, Side, TimeInForce
from bot4.core.errors import VenueError
from bot4.core.instruments import Instrument
from bot4.core.orders import NewOrder
from bot4.core.results import Ack
from bot4.market.models import IntArray, MarketModel, rng_for


class _Deposits(Protocol):
    def deposit(self, account: str, asset: str, units: int) -> None: ...


class Book(Protocol):
    """What the flow needs of a symbol: a `MatchingEngine`, or a proxy to a symbol actor."""

    @property
    def instrument(self) -> Instrument: ...

    @property
    def ledger(self) -> _Deposits: ...

    def depth(self, limit: int = 100) -> dict[str, list[tuple[int, int]]]: ...

    def submit(self, req: NewOrder, now: int) -> Ack | VenueError: ...


@dataclass(frozen=True)
class FlowConfig:
    """The uncalibrated half of the flow: who provides liquidity, and how much."""

    levels: int = 5  # price levels makers keep on each side
    depth_factor: float = 3.0  # a maker quote is this many mean trade sizes
    makers: int = 2
    takers: int = 4
    funding_lots: int = 10**9  # lots of base each flow account starts with (and their value)


@dataclass(frozen=True)
class TakerOrder:
    """A taker's market order as it reaches the venue."""

    time_us: int
    account: str
    is_buy: bool
    lots: int


@dataclass
class FlowStats:
    """What a run did: orders sent and refused, trades, and the taker events it produced."""

    takers: int = 0
    makers: int = 0
    refused: dict[int, int] = field(default_factory=dict)
    trades: int = 0
    taker_times_us: list[int] = field(default_factory=list)
    taker_is_buy: list[bool] = field(default_factory=list)
    taker_lots: list[int] = field(default_factory=list)  # executed lots per taker order


class FlowGenerator:
    """Generates and sends one symbol's outside flow into a `MatchingEngine`."""

    def __init__(
        self,
        model: MarketModel,
        engine: Book,
        seed: int,
        config: FlowConfig | None = None,
    ) -> None:
        self.model = model
        self.engine = engine
        self.config = config or FlowConfig()
        self.rng = rng_for(seed)
        inst = engine.instrument
        self.lot_size = float(inst.step)
        self.max_lots = inst.market_max_qty or inst.max_qty
        mean = math.exp(model.sizes.mu + model.sizes.sigma**2 / 2) / self.lot_size
        self.quote_lots = max(1, min(inst.max_qty, round(self.config.depth_factor * mean)))
        self.maker_accounts = [f"mm{i}" for i in range(self.config.makers)]
        self.taker_accounts = [f"taker{i}" for i in range(self.config.takers)]

    def fund(self) -> None:
        """Give every flow account plenty of base and quote in the engine's ledger."""
        inst = self.engine.instrument
        lots = self.config.funding_lots
        top = inst.max_price or 10**9
        for account in self.maker_accounts + self.taker_accounts:
            self.engine.ledger.deposit(account, inst.base, lots * inst.base_per_lot)
            self.engine.ledger.deposit(account, inst.quote, lots * top * inst.quote_per_ticklot)

    def taker_orders(self, start_us: int, end_us: int) -> list[TakerOrder]:
        """The takers' market orders in [start_us, end_us), in order of arrival at the venue."""
        rng, arrivals = self.rng, self.model.arrivals
        out: list[TakerOrder] = []
        for is_buy in (True, False):
            times = arrivals.sample_times(rng, is_buy, start_us, end_us)
            n = len(times)
            lots = self.model.sizes.lots(rng, n, self.lot_size, self.max_lots)
            delay: IntArray = self.model.latency.entry.sample(rng, n)
            who = rng.integers(0, len(self.taker_accounts), size=n)
            out += [
                TakerOrder(int(t + d), self.taker_accounts[int(w)], is_buy, int(q))
                for t, d, w, q in zip(times, delay, who, lots, strict=True)
            ]
        out.sort(key=lambda o: (o.time_us, not o.is_buy, o.account))
        return out

    def replenish(self, now_ms: int, mid_ticks: int, stats: FlowStats) -> None:
        """Makers restore `levels` price levels on each side (outward from the other side)."""
        engine, levels = self.engine, self.config.levels
        depth = engine.depth()
        for side, key in ((Side.BUY, "bids"), (Side.SELL, "asks")):
            have = depth[key]
            missing = levels - len(have)
            if missing <= 0:
                continue
            other = depth["asks" if side is Side.BUY else "bids"]
            if have:
                edge = have[-1][0]
            elif other:
                edge = other[0][0]
            else:
                edge = mid_ticks
            step = -1 if side is Side.BUY else 1
            price = edge
            for _ in range(missing):
                price += step
                while any(p == price for p, _ in have):
                    price += step
                if price <= 0:
                    break
                account = self.maker_accounts[int(self.rng.integers(0, len(self.maker_accounts)))]
                req = NewOrder(account, side, OrderType.LIMIT, self.quote_lots, price,
                               TimeInForce.GTC)  # fmt: skip
                self._send(req, now_ms, stats, maker=True)

    def run(
        self, start_us: int, end_us: int, mid_ticks: int, orders: list[TakerOrder] | None = None
    ) -> FlowStats:
        """Fund the accounts, quote around `mid_ticks`, then send every taker order in time
        (`orders`, or `taker_orders(start_us, end_us)` drawn now)."""
        self.fund()
        return self.step(start_us, end_us, mid_ticks, orders)

    def step(
        self,
        start_us: int,
        end_us: int,
        mid_ticks: int,
        orders: list[TakerOrder] | None = None,
        stats: FlowStats | None = None,
    ) -> FlowStats:
        """One window of flow on already funded accounts (`run` = `fund` + one `step`)."""
        if orders is None:
            orders = self.taker_orders(start_us, end_us)
        stats = stats if stats is not None else FlowStats()
        self.replenish(start_us // 1000, mid_ticks, stats)
        for order in orders:
            now_ms = order.time_us // 1000
            side = Side.BUY if order.is_buy else Side.SELL
            ack = self._send(NewOrder(order.account, side, OrderType.MARKET, order.lots),
                             now_ms, stats, maker=False)  # fmt: skip
            if isinstance(ack, Ack) and ack.executed_qty:
                stats.taker_times_us.append(order.time_us)
                stats.taker_is_buy.append(order.is_buy)
                stats.taker_lots.append(ack.executed_qty)
            self.replenish(now_ms, mid_ticks, stats)
        return stats

    def _send(self, req: NewOrder, now_ms: int, stats: FlowStats, maker: bool) -> object:
        result = self.engine.submit(req, now_ms)
        if isinstance(result, VenueError):
            stats.refused[result.code] = stats.refused.get(result.code, 0) + 1
            return result
        if maker:
            stats.makers += 1
        else:
            stats.takers += 1
            stats.trades += sum(1 for r in result.reports if r.trade_id >= 0 and not r.is_maker)
        return result


def taker_arrays(stats: FlowStats) -> tuple[IntArray, np.ndarray, IntArray]:
    """(times_us, is_buy, lots) of a run's taker orders as numpy arrays."""
    return (
        np.asarray(stats.taker_times_us, dtype=np.int64),
        np.asarray(stats.taker_is_buy, dtype=np.bool_),
        np.asarray(stats.taker_lots, dtype=np.int64),
    )
