"""The symbol's reference price: volume-weighted average of trades in the last avgPriceMins.

Kept as an exact ratio (tick-lots over lots) so filter checks compare integers. With no trade
inside the window the last trade price stands in; with avgPriceMins 0 the last trade price is
the reference. Before any trade (and without a seed) there is none.

Only a trade changes this object's state: trades leave the window relative to the newest
trade's time. Asking for the reference at a later time moves a read cursor (a cache) past the
trades that have aged out by then, so a refused request, which asks but trades nothing, leaves
the state exactly as it was.
"""

from __future__ import annotations

_COMPACT_AT = 4096


class AveragePrice:
    """Rolling VWAP over a time window, in ticks, as an exact (numerator, denominator) pair."""

    __slots__ = (
        "_base_lots",
        "_base_notional",
        "_cum_lots",
        "_cum_notional",
        "_cursor",
        "_head",
        "_last",
        "_times",
        "window_ms",
    )

    def __init__(self, window_minutes: int, seed_price: int | None = None) -> None:
        self.window_ms = window_minutes * 60_000
        self._last: int | None = seed_price
        # trades as parallel lists of time and running totals; [_head:] are inside the window
        self._times: list[int] = []
        self._cum_notional: list[int] = []
        self._cum_lots: list[int] = []
        self._base_notional = 0  # running totals before index 0 (after compaction)
        self._base_lots = 0
        self._head = 0
        self._cursor = 0

    def record(self, time: int, price: int, lots: int) -> None:
        """Add one trade (time in ms, price in ticks, quantity in lots)."""
        self._last = price
        if not self.window_ms:
            return
        times = self._times
        notional = self._cum_notional[-1] if times else self._base_notional
        total_lots = self._cum_lots[-1] if times else self._base_lots
        times.append(time)
        self._cum_notional.append(notional + price * lots)
        self._cum_lots.append(total_lots + lots)
        horizon = time - self.window_ms
        head = self._head
        while times[head] <= horizon:
            head += 1
        self._head = head
        if self._cursor < head:
            self._cursor = head
        if head >= _COMPACT_AT and head * 2 >= len(times):
            self._compact()

    @property
    def last(self) -> int | None:
        """The last trade price in ticks (or the seed before any trade)."""
        return self._last

    def reference(self, now: int) -> tuple[int, int] | None:
        """(tick-lots, lots) whose ratio is the reference price in ticks at `now`, or None."""
        times = self._times
        end = len(times)
        if end > self._head:
            horizon = now - self.window_ms
            cursor, head = self._cursor, self._head
            while cursor < end and times[cursor] <= horizon:
                cursor += 1
            while cursor > head and times[cursor - 1] > horizon:
                cursor -= 1
            self._cursor = cursor
            if cursor < end:
                if cursor:
                    before_n, before_l = self._cum_notional[cursor - 1], self._cum_lots[cursor - 1]
                else:
                    before_n, before_l = self._base_notional, self._base_lots
                return self._cum_notional[-1] - before_n, self._cum_lots[-1] - before_l
        last = self._last
        return None if last is None else (last, 1)

    def state(self) -> tuple[int | None, tuple[tuple[int, int, int], ...]]:
        """The last price and the trades inside the window: everything the reference depends on."""
        trades = []
        for i in range(self._head, len(self._times)):
            if i:
                before_n, before_l = self._cum_notional[i - 1], self._cum_lots[i - 1]
            else:
                before_n, before_l = self._base_notional, self._base_lots
            trades.append(
                (self._times[i], self._cum_notional[i] - before_n, self._cum_lots[i] - before_l)
            )
        return self._last, tuple(trades)

    def _compact(self) -> None:
        """Drop the trades that have left the window from the front of the lists."""
        head = self._head
        self._base_notional = self._cum_notional[head - 1]
        self._base_lots = self._cum_lots[head - 1]
        del self._times[:head], self._cum_notional[:head], self._cum_lots[:head]
        self._cursor -= head
        self._head = 0
