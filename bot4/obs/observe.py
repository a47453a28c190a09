"""What a symbol's commands did, as metrics: orders by type and outcome, rejects by code,
fills by liquidity, traded notional and fees (`SymbolMetrics`).

It reads the results and execution reports the engine already produces; the engine itself
knows nothing of it. Values are floats in whole assets (metrics are for watching, not for
money: the ledger stays in integers).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from bot4.core.commands import Command
from bot4.core.errors import VenueError
from bot4.core.events import FEE_ASSET_UNIT, ExecutionReport, commission_unit
from bot4.core.instruments import Instrument
from bot4.obs.recorder import Recorder

MATCH = "bot4_match_latency_seconds"
JOURNAL = "bot4_journal_append_seconds"


class SymbolMetrics:
    """Feeds one symbol's results and reports into a `Recorder`."""

    def __init__(self, recorder: Recorder, instrument: Instrument,
                 fee_unit: Decimal = FEE_ASSET_UNIT) -> None:  # fmt: skip
        self.recorder = recorder
        self.instrument = instrument
        self.symbol = instrument.symbol
        self.tags = (self.symbol,)
        self.notional_per = float(instrument.quote_per_ticklot * instrument.quote_unit)
        self.fee_unit = fee_unit
        self._fee_units: dict[str, float] = {}

    def command(self, command: Command, result: Any, seconds: float) -> None:
        """One command's outcome and how long the symbol spent on it."""
        rec = self.recorder
        rec.observe(MATCH, self.tags, seconds)
        if command.kind == "submit":
            kind = getattr(getattr(command.request, "type", None), "value", "UNKNOWN")
            if isinstance(result, VenueError):
                rec.inc("bot4_orders", (self.symbol, kind, "REJECTED"))
                rec.inc("bot4_rejects", (self.symbol, str(result.code)))
            else:
                rec.inc("bot4_orders", (self.symbol, kind, result.status.value))
        elif isinstance(result, VenueError):
            rec.inc("bot4_rejects", (self.symbol, str(result.code)))

    def reports(self, reports: list[ExecutionReport]) -> None:
        """Fills, notional and fees from execution reports."""
        rec = self.recorder
        symbol = self.symbol
        for r in reports:
            if r.trade_id < 0:
                continue
            if r.is_maker:
                rec.inc("bot4_fills", (symbol, "maker"))
            else:
                rec.inc("bot4_fills", (symbol, "taker"))
                rec.inc("bot4_traded_notional", (symbol, self.instrument.quote),
                        r.last_qty * r.last_price * self.notional_per)  # fmt: skip
            if r.commission:
                asset = r.commission_asset
                unit = self._fee_units.get(asset)
                if unit is None:
                    unit = self._fee_units[asset] = float(
                        commission_unit(self.instrument, asset, self.fee_unit))
                rec.inc("bot4_fees", (symbol, asset), r.commission * unit)


class TimedJournal:
    """A journal that times each append into `bot4_journal_append_seconds`."""

    def __init__(self, journal: Any, recorder: Recorder, symbol: str) -> None:
        self.journal = journal
        self.recorder = recorder
        self.tags = (symbol,)

    def append(self, line: bytes) -> None:
        start = time.perf_counter()
        self.journal.append(line)
        self.recorder.observe(JOURNAL, self.tags, time.perf_counter() - start)

    def lines(self) -> Iterator[bytes]:
        return self.journal.lines()  # type: ignore[no-any-return]
