"""The symbol's reference price: volume-weighted average of trades in the last avgPriceMins.

Kept as an exact ratio (tick-lots over lots) so filter checks compare integers. With no trade
inside the window the last trade price stands in; with avgPriceMins 0 the last trade price is
the reference. Before any trade (and without a seed) there is none.
"""

from __future__ import annotations

from collections import deque


class AveragePrice:
    """Rolling VWAP over a time window, in ticks, as an exact (numerator, denominator) pair."""

    __slots__ = ("_last", "_lots", "_notional", "_trades", "window_ms")

    def __init__(self, window_minutes: int, seed_price: int | None = None) -> None:
        self.window_ms = window_minutes * 60_000
        self._trades: deque[tuple[int, int, int]] = deque()  # (time, notional, lots)
        self._notional = 0
        self._lots = 0
        self._last: int | None = seed_price

    def record(self, time: int, price: int, lots: int) -> None:
        """Add one trade (time in ms, price in ticks, quantity in lots)."""
        self._last = price
        if self.window_ms:
            notional = price * lots
            self._trades.append((time, notional, lots))
            self._notional += notional
            self._lots += lots

    def reference(self, now: int) -> tuple[int, int] | None:
        """(tick-lots, lots) whose ratio is the reference price in ticks, or None."""
        trades = self._trades
        if trades:
            horizon = now - self.window_ms
            while trades and trades[0][0] <= horizon:
                _, notional, lots = trades.popleft()
                self._notional -= notional
                self._lots -= lots
            if self._lots:
                return self._notional, self._lots
        last = self._last
        return None if last is None else (last, 1)

    def state(self) -> tuple[int | None, tuple[tuple[int, int, int], ...]]:
        """Everything the reference depends on, for state digests."""
        return self._last, tuple(self._trades)
