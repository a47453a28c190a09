"""A slow, obviously-correct reference order book for differential tests.

One plain list of resting orders, linear scans, no indexes and no laziness. Price-time
priority: among the resting orders of the opposite side that cross the taker's limit, the best
price trades first and, at equal prices, the one that arrived first. Every fill is at the
maker's price. There are no balances, filters or fees: the differential test feeds it only the
requests the engine accepted, under the engine's order ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from bot4.core.enums import Side, TimeInForce


class Fill(NamedTuple):
    taker_order_id: int
    maker_order_id: int
    price: int  # ticks
    qty: int  # lots


@dataclass
class RestingOrder:
    order_id: int
    side: Side
    price: int
    leaves: int
    arrival: int  # submission order: smaller arrived earlier


class ReferenceBook:
    """Price-time priority matching over a list."""

    def __init__(self) -> None:
        self.resting: list[RestingOrder] = []
        self.arrivals = 0

    # ------------------------------------------------------------------ queries

    @staticmethod
    def _crosses(taker_side: Side, limit: int | None, maker_price: int) -> bool:
        """Whether a maker at `maker_price` can trade with a taker whose limit is `limit`."""
        if limit is None:  # market order
            return True
        if taker_side is Side.BUY:
            return maker_price <= limit
        return maker_price >= limit

    @staticmethod
    def _better(side: Side, a: RestingOrder, b: RestingOrder) -> bool:
        """Whether resting order `a` (on `side`) has priority over `b`."""
        if a.price != b.price:
            return a.price > b.price if side is Side.BUY else a.price < b.price
        return a.arrival < b.arrival

    def _opposite(self, taker_side: Side, limit: int | None) -> list[RestingOrder]:
        """Resting orders a taker could trade with, in no particular order."""
        maker_side = Side.SELL if taker_side is Side.BUY else Side.BUY
        return [
            o
            for o in self.resting
            if o.side is maker_side and self._crosses(taker_side, limit, o.price)
        ]

    def _best_maker(self, taker_side: Side, limit: int | None) -> RestingOrder | None:
        best: RestingOrder | None = None
        for o in self._opposite(taker_side, limit):
            if best is None or self._better(o.side, o, best):
                best = o
        return best

    def best(self, side: Side) -> int | None:
        """The best resting price of `side`, if any."""
        prices = [o.price for o in self.resting if o.side is side]
        if not prices:
            return None
        return max(prices) if side is Side.BUY else min(prices)

    def would_cross(self, side: Side, price: int) -> bool:
        """Whether a limit order at `price` would trade at once."""
        return bool(self._opposite(side, price))

    def book(self) -> list[tuple[int, Side, int, int]]:
        """(order_id, side, price, leaves) of every resting order: bids then asks, each in
        priority order."""
        out: list[tuple[int, Side, int, int]] = []
        for side in (Side.BUY, Side.SELL):
            orders = [o for o in self.resting if o.side is side]
            # selection sort by priority: slow and plain
            while orders:
                top = orders[0]
                for o in orders:
                    if self._better(side, o, top):
                        top = o
                orders.remove(top)
                out.append((top.order_id, top.side, top.price, top.leaves))
        return out

    # ------------------------------------------------------------------ matching

    def _match(
        self, order_id: int, side: Side, qty: int, limit: int | None
    ) -> tuple[list[Fill], int]:
        """Take liquidity until `qty` is done or nothing crosses; returns fills and leaves."""
        fills: list[Fill] = []
        leaves = qty
        while leaves > 0:
            maker = self._best_maker(side, limit)
            if maker is None:
                break
            q = min(leaves, maker.leaves)
            fills.append(Fill(order_id, maker.order_id, maker.price, q))
            maker.leaves -= q
            leaves -= q
            if maker.leaves == 0:
                self.resting.remove(maker)
        return fills, leaves

    def _rest(self, order_id: int, side: Side, price: int, leaves: int, arrival: int) -> None:
        self.resting.append(RestingOrder(order_id, side, price, leaves, arrival))

    def limit(
        self, order_id: int, side: Side, price: int, qty: int, tif: TimeInForce
    ) -> list[Fill]:
        """A LIMIT order: GTC rests what is left, IOC drops it, FOK trades all or nothing."""
        self.arrivals += 1
        arrival = self.arrivals
        if tif is TimeInForce.FOK:
            available = sum(o.leaves for o in self._opposite(side, price))
            if available < qty:
                return []
        fills, leaves = self._match(order_id, side, qty, price)
        if leaves and tif is TimeInForce.GTC:
            self._rest(order_id, side, price, leaves, arrival)
        return fills

    def limit_maker(self, order_id: int, side: Side, price: int, qty: int) -> bool:
        """A LIMIT_MAKER order: rests whole, or is refused (False) if it would cross."""
        self.arrivals += 1
        if self.would_cross(side, price):
            return False
        self._rest(order_id, side, price, qty, self.arrivals)
        return True

    def market(self, order_id: int, side: Side, qty: int) -> list[Fill]:
        """A MARKET order by quantity: takes what there is, drops the rest."""
        self.arrivals += 1
        fills, _ = self._match(order_id, side, qty, None)
        return fills

    def market_quote_lots(
        self, side: Side, quote: int, quote_per_ticklot: int, step: int = 1, max_lots: int = 0
    ) -> int:
        """The lots a MARKET order sized by `quote` units takes: walking the opposite side
        best first, the most lots whose notional fits in `quote` (it stops at the first level
        it cannot take whole, since the order fills best-first), floored to `step`, capped at
        `max_lots` (0: no cap)."""
        left, lots = quote, 0
        remaining = list(self._opposite(side, None))
        while remaining:
            top = remaining[0]
            for o in remaining:
                if self._better(o.side, o, top):
                    top = o
            level = [o for o in remaining if o.price == top.price]
            level_qty = sum(o.leaves for o in level)
            cost = top.price * quote_per_ticklot
            take = min(level_qty, left // cost)
            lots += take
            left -= take * cost
            if take < level_qty:
                break
            remaining = [o for o in remaining if o.price != top.price]
        if max_lots:
            lots = min(lots, max_lots)
        return lots - lots % step

    def cancel(self, order_id: int) -> bool:
        """Remove a resting order; False if there is none with that id."""
        for o in self.resting:
            if o.order_id == order_id:
                self.resting.remove(o)
                return True
        return False
