"""What a symbol's commands did, as metrics: orders by type and outcome, rejects by code,
fills by liquidity, traded notional and fees (`SymbolMetrics`), and journal append times
(`TimedJournal`).

It reads the results and running totals the engine already keeps; the engine itself knows
nothing of it. Values are floats in whole assets (metrics are for watching, not for
money: the ledger stays in integers).
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any, Protocol

from bot4.core.errors import VenueError
from bot4.core.events import FEE_ASSET_UNIT, commission_unit
from bot4.core.instruments import Instrument
from bot4.obs.catalogue import BY_NAME
from bot4.obs.recorder import Recorder


class FeeTotals(Protocol):
    """What the metrics read of a ledger: the commission collected, by asset."""

    @property
    def fees(self) -> Mapping[str, int]: ...


class EngineTotals(Protocol):
    """What the metrics read of a symbol's engine: its running totals (a `MatchingEngine`, a
    `NativeEngine`, or any engine with the same counters)."""

    @property
    def last_trade_id(self) -> int: ...

    @property
    def traded_ticklots(self) -> int:  # price x quantity over every trade
        ...

    @property
    def ledger(self) -> FeeTotals: ...


MATCH = "bot4_match_latency_seconds"
JOURNAL = "bot4_journal_append_seconds"


class SymbolMetrics:
    """One symbol's order metrics: tallied in plain locals per command, moved into a `Recorder`
    by `publish` (before an export).

    Per command it counts (order type, outcome) or the error code and files the time spent
    into latency buckets: a few dict and list operations. Fills, traded notional and fees are
    not counted per report at all: `publish` reads the engine's running totals (trades,
    price x quantity traded, the ledger's collected fees).
    """

    def __init__(self, recorder: Recorder, instrument: Instrument,
                 fee_unit: Decimal = FEE_ASSET_UNIT) -> None:  # fmt: skip
        self.recorder = recorder
        self.instrument = instrument
        self.symbol = instrument.symbol
        self.tags = (self.symbol,)
        self.notional_per = float(instrument.quote_per_ticklot * instrument.quote_unit)
        self.fee_unit = fee_unit
        self._fee_units: dict[str, float] = {}
        self.orders: dict[tuple[str, str], int] = {}  # (type, outcome) -> count
        self.rejects: dict[int, int] = {}  # code -> count
        bounds = BY_NAME[MATCH].buckets
        self._bounds_ns = tuple(round(b * 1e9) for b in bounds)
        self.latency = [0] * (len(bounds) + 1)  # per bucket, since the last publish
        self.outcome = self._make_outcome()
        # what a bucket's observations add to the sum: its middle (the sum is approximate)
        self._middles = [b / 2 if i == 0 else (bounds[i - 1] * b) ** 0.5
                         for i, b in enumerate(bounds)] + [bounds[-1] * 2]  # fmt: skip

    def _make_outcome(self) -> Callable[[str, Any, Any, int], None]:
        """`outcome` as a closure over the tallies (no attribute lookups per command)."""
        latency, bounds, orders, rejects = self.latency, self._bounds_ns, self.orders, self.rejects
        orders_get, rejects_get = orders.get, rejects.get

        def outcome(kind: str, request: Any, result: Any, ns: int) -> None:
            """One command's outcome (its kind, request and result) and the nanoseconds the
            symbol spent on it."""
            latency[bisect_left(bounds, ns)] += 1
            if type(result) is VenueError:
                rejects[result.code] = rejects_get(result.code, 0) + 1
                if kind == "submit":
                    order_type = getattr(getattr(request, "type", None), "value", "UNKNOWN")
                    key = (order_type, "REJECTED")
                    orders[key] = orders_get(key, 0) + 1
            elif kind == "submit":
                key = (request.type._value_, result.status._value_)
                orders[key] = orders_get(key, 0) + 1

        return outcome

    def publish(self, engine: EngineTotals) -> None:
        """Move the tallies into the recorder, and read the engine's running totals."""
        rec, symbol = self.recorder, self.symbol
        for (order_type, outcome), n in self.orders.items():
            rec.inc("bot4_orders", (symbol, order_type, outcome), n)
        for code, n in self.rejects.items():
            rec.inc("bot4_rejects", (symbol, str(code)), n)
        self.orders.clear()
        self.rejects.clear()
        latency = self.latency
        if any(latency):
            total = sum(n * m for n, m in zip(latency, self._middles, strict=True))
            rec.merge(MATCH, self.tags, latency, total)
            latency[:] = [0] * len(latency)  # the same list: `outcome` holds it
        trades = engine.last_trade_id
        rec.advance("bot4_fills", (symbol, "maker"), trades)
        rec.advance("bot4_fills", (symbol, "taker"), trades)
        rec.advance("bot4_traded_notional", (symbol, self.instrument.quote),
                    engine.traded_ticklots * self.notional_per)  # fmt: skip
        for asset, units in engine.ledger.fees.items():
            unit = self._fee_units.get(asset)
            if unit is None:
                unit = self._fee_units[asset] = float(
                    commission_unit(self.instrument, asset, self.fee_unit)
                )
            rec.advance("bot4_fees", (symbol, asset), units * unit)


class TimedJournal:
    """A journal whose commits (flush, and fsync with fsync "always") are timed into
    `bot4_journal_append_seconds`: how long durability holds up an answer."""

    def __init__(self, journal: Any, recorder: Recorder, symbol: str) -> None:
        self.journal = journal
        self.append = journal.append
        self.where: str = journal.where
        self.recorder = recorder
        self.tags = (symbol,)

    def commit(self) -> None:
        start = time.perf_counter()
        self.journal.commit()
        self.recorder.observe(JOURNAL, self.tags, time.perf_counter() - start)

    def lines(self) -> Iterator[bytes]:
        return self.journal.lines()  # type: ignore[no-any-return]
