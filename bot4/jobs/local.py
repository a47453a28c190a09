"""`bot4 run`: a seeded random-flow simulation of the venue on the configured symbols.

Market makers quote around a drifting mid, takers send IOC, GTC and MARKET orders (by quantity
and by quoteOrderQty), quotes are cancelled, and a few malformed requests go through the
venue's string edge so rejects by code show up. Everything runs in one process on simulated
time; the same config and seed give the same event-log digest.
"""

from __future__ import annotations

import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TextIO

from bot4.core.enums import OrderType, Side, TimeInForce
from bot4.core.errors import Category, VenueError
from bot4.core.events import ExecutionReport, digest
from bot4.core.fees import load_fees
from bot4.core.instruments import Instrument, load_symbols_file
from bot4.core.money import format_units, to_units
from bot4.core.orders import CancelOrder, NewOrder
from bot4.core.results import Ack
from bot4.jobs.config import RunConfig
from bot4.venue.exchange import Venue

START_TIME_MS = 1_700_000_000_000


@dataclass
class SymbolStats:
    requests: int = 0
    accepted: int = 0
    rejected: int = 0
    trades: int = 0
    base_volume: int = 0  # lots
    notional: int = 0  # tick-lots
    events: int = 0


@dataclass
class RunSummary:
    """What a run did, per symbol and overall."""

    stats: dict[str, SymbolStats]
    rejects: Counter[tuple[int, str]]
    event_digest: str
    state_digest: str
    events: int
    wall_seconds: float
    fees: dict[str, str] = field(default_factory=dict)
    books: dict[str, tuple[str, ...]] = field(default_factory=dict)  # bid, ask, last

    @property
    def requests(self) -> int:
        return sum(s.requests for s in self.stats.values())


class _Flow:
    """One symbol's participants and its drifting mid price."""

    def __init__(
        self,
        venue: Venue,
        inst: Instrument,
        start: Decimal,
        accounts: list[str],
        rng: random.Random,
    ) -> None:
        self.venue, self.inst, self.rng = venue, inst, rng
        self.engine = venue.engines[inst.symbol]
        self.mid = to_units(start, inst.tick) or 1
        self.makers, self.takers = accounts[:2], accounts[2:]
        self.quotes: dict[str, list[int]] = {m: [] for m in self.makers}
        # a typical order is worth 20..2000 quote: convert to tick-lots once
        ticklot = inst.tick * inst.step
        self.notional_lo = int(Decimal(20) / ticklot)
        self.notional_hi = int(Decimal(2000) / ticklot)

    def lots(self, price: int) -> int:
        notional = self.rng.randint(self.notional_lo, self.notional_hi)
        return max(self.inst.min_qty, notional // price)

    def step(self, now: int, stats: SymbolStats, on_reject: Callable[[VenueError], None]) -> None:
        rng, inst = self.rng, self.inst
        self.mid = max(inst.min_price + 20, self.mid + rng.choice((-1, 0, 0, 1)))
        last = self.engine.last_price()
        if last is not None and rng.random() < 0.05:
            self.mid += (last - self.mid) // 4  # drift toward trades
        roll = rng.random()
        result: Ack | VenueError
        if roll < 0.40:
            maker = rng.choice(self.makers)
            side = rng.choice((Side.BUY, Side.SELL))
            offset = rng.randint(1, 12)
            price = self.mid - offset if side is Side.BUY else self.mid + offset
            kind = OrderType.LIMIT_MAKER if rng.random() < 0.3 else OrderType.LIMIT
            tif = None if kind is OrderType.LIMIT_MAKER else TimeInForce.GTC
            order = NewOrder(maker, side, kind, self.lots(price), price, tif)
            result = self.engine.submit(order, now)
            if isinstance(result, Ack) and result.status.value in ("NEW", "PARTIALLY_FILLED"):
                self.quotes[maker].append(result.order_id)
        elif roll < 0.60:
            maker = rng.choice(self.makers)
            quotes = self.quotes[maker]
            # forget quotes that have filled; now and then cancel one that has (a stale id)
            quotes[:] = [q for q in quotes if self.engine.is_open(q) or rng.random() < 0.02]
            if not quotes:
                return
            oid = quotes.pop(rng.randrange(len(quotes)) if rng.random() < 0.5 else 0)
            result = self.engine.cancel(CancelOrder(maker, oid), now)
        elif roll < 0.95:
            taker = rng.choice(self.takers)
            side = rng.choice((Side.BUY, Side.SELL))
            kind_roll = rng.random()
            if kind_roll < 0.5:
                price = self.mid + (rng.randint(-3, 8) if side is Side.BUY else -rng.randint(-3, 8))
                tif = TimeInForce.IOC if rng.random() < 0.7 else TimeInForce.GTC
                order = NewOrder(taker, side, OrderType.LIMIT, self.lots(price), price, tif)
            elif kind_roll < 0.85:
                order = NewOrder(taker, side, OrderType.MARKET, self.lots(self.mid))
            else:
                quote = self.lots(self.mid) * self.mid * inst.quote_per_ticklot
                order = NewOrder(taker, side, OrderType.MARKET, quote_order_qty=quote)
            result = self.engine.submit(order, now)
        else:
            result = self._malformed(now)
        stats.requests += 1
        if isinstance(result, VenueError):
            stats.rejected += 1
            on_reject(result)
        else:
            stats.accepted += 1
            self._count(result.reports, stats)

    def _malformed(self, now: int) -> Ack | VenueError:
        """Requests a careless client sends: off-tick prices, tiny sizes, bad enums."""
        rng, inst = self.rng, self.inst
        price = format_units(self.mid, inst.tick, 2)
        params: dict[str, object] = {
            "symbol": inst.symbol,
            "side": "BUY",
            "type": "LIMIT",
            "timeInForce": "GTC",
            "price": price,
            "quantity": format_units(self.lots(self.mid), inst.step, 0),
        }
        choice = rng.randrange(4)
        if choice == 0:
            params["price"] = price + "7"  # off the tick grid
        elif choice == 1:
            params["quantity"] = format_units(inst.min_qty, inst.step, 0)  # below NOTIONAL
        elif choice == 2:
            params["side"] = "HOLD"
        else:
            params["quantity"] = "-1"
        response = self.venue.place(rng.choice(self.takers), params, now)
        code = response.get("code")
        if isinstance(code, int):
            return VenueError(code, str(response["msg"]), Category.VALIDATION)
        return VenueError(0, "accepted unexpectedly", Category.INTERNAL)  # pragma: no cover

    @staticmethod
    def _count(reports: tuple[ExecutionReport, ...], stats: SymbolStats) -> None:
        stats.events += len(reports)
        for r in reports:
            if r.trade_id >= 0 and not r.is_maker:
                stats.trades += 1
                stats.base_volume += r.last_qty
                stats.notional += r.last_qty * r.last_price


def simulate(
    config: RunConfig,
    instruments: dict[str, Instrument],
    start_prices: dict[str, Decimal],
    *,
    seconds: int | None = None,
    progress: TextIO | None = None,
) -> RunSummary:
    """Run the random flow for `seconds` of simulated time and summarise it."""
    rng = random.Random(config.seed)
    log: list[ExecutionReport] = []
    refs = {s: to_units(p, instruments[s].tick) or 1 for s, p in start_prices.items()}
    schedule = load_fees(config.fees_file) if config.fees_file is not None else None
    venue = Venue(
        instruments,
        reference_prices=refs,
        on_events=log.extend,
        fees=schedule,
        exchange_filters=load_symbols_file(config.symbols_file).exchangeFilters,
    )
    accounts = [f"acct{i}" for i in range(config.accounts)]
    for account in accounts[: config.bnb_fee_accounts]:
        venue.fees.set_pay_with_bnb(account, True)
    for account in accounts:
        for inst in instruments.values():
            start = start_prices[inst.symbol]
            venue.deposit(account, inst.base, (Decimal(2_000_000) / start).quantize(Decimal(1)))
        venue.deposit(account, "USDT", 50_000_000)
    flows = [_Flow(venue, inst, start_prices[s], accounts, rng) for s, inst in instruments.items()]
    stats = {s: SymbolStats() for s in instruments}
    rejects: Counter[tuple[int, str]] = Counter()

    def on_reject(error: VenueError) -> None:
        rejects[(error.code, error.msg)] += 1

    duration = (seconds or config.seconds) * 1000
    gap = 1000.0 / (config.requests_per_second * len(flows))
    clock = float(START_TIME_MS)
    started = time.perf_counter()
    next_report = START_TIME_MS + 10_000
    while clock < START_TIME_MS + duration:
        clock += rng.expovariate(1.0 / gap)
        now = int(clock)
        flow = rng.choice(flows)
        flow.step(now, stats[flow.inst.symbol], on_reject)
        if progress is not None and now >= next_report:
            done = (now - START_TIME_MS) // 1000
            total = sum(s.requests for s in stats.values())
            print(f"  t={done:>5}s  requests={total:>8}  events={len(log):>9}", file=progress)
            next_report += 10_000
    wall = time.perf_counter() - started
    books = {}
    for symbol, engine in venue.engines.items():
        tick = engine.instrument.tick
        last = engine.last_price()
        books[symbol] = tuple(
            "-" if t is None else format_units(t, tick, 2)
            for t in (engine.best_bid(), engine.best_ask(), last)
        )
    fees = {
        asset: format_units(units, venue.unit(asset))
        for asset, units in sorted(venue.ledger.fees.items())
    }
    return RunSummary(
        stats=stats,
        rejects=rejects,
        event_digest=digest(log),
        state_digest=venue.state_digest(),
        events=len(log),
        wall_seconds=wall,
        fees=fees,
        books=books,
    )


def print_summary(
    summary: RunSummary, instruments: dict[str, Instrument], out: TextIO | None = None
) -> None:
    """A readable table of what the run did."""
    w = (out or sys.stdout).write
    w(
        f"\n{'symbol':<9}{'requests':>10}{'accepted':>10}{'rejected':>10}{'trades':>9}"
        f"{'volume':>16}{'notional':>20}{'bid':>12}{'ask':>12}{'last':>12}\n"
    )
    for symbol, s in summary.stats.items():
        inst = instruments[symbol]
        volume = format_units(s.base_volume, inst.step, 0)
        notional = format_units(s.notional, inst.tick * inst.step, 2)
        bid, ask, last = summary.books[symbol]
        w(
            f"{symbol:<9}{s.requests:>10}{s.accepted:>10}{s.rejected:>10}{s.trades:>9}"
            f"{volume:>16}{notional:>20}{bid:>12}{ask:>12}{last:>12}\n"
        )
    w("\nrejects by code:\n")
    for (code, msg), n in sorted(summary.rejects.items(), key=lambda kv: (-kv[1], kv[0])):
        w(f"  {code:>6}  {n:>7}  {msg}\n")
    w("\nfees collected: " + ", ".join(f"{v} {k}" for k, v in summary.fees.items()) + "\n")
    rate = summary.requests / summary.wall_seconds if summary.wall_seconds else 0.0
    w(f"events: {summary.events}   wall: {summary.wall_seconds:.2f}s   {rate:,.0f} requests/s\n")
    w(f"event-log sha256: {summary.event_digest}\n")
    w(f"state sha256:     {summary.state_digest}\n")
