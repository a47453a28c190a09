"""The limit order book of one symbol: price levels in price-time priority.

Each side maps a price (ticks) to a `Level` holding its orders in arrival order and keeps the
occupied prices in an ascending list (best bid last, best ask first). A cancelled order is
unlinked lazily: its level's quantity and count drop at once and the order object is skipped
when matching reaches it, so a cancel costs O(1) plus a rare compaction.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque

from bot4.core.orders import Order


class Level:
    """Orders resting at one price. `qty` and `count` cover the live orders only.

    An order is live while its `leaves` is positive: the engine zeroes `leaves` when an order
    ends (filled, cancelled, expired), which is what lets cancels be lazy.
    """

    __slots__ = ("count", "orders", "price", "qty")

    def __init__(self, price: int) -> None:
        self.price = price
        self.orders: deque[Order] = deque()
        self.qty = 0
        self.count = 0

    def live(self) -> list[Order]:
        """The live orders in time priority."""
        return [o for o in self.orders if o.leaves]


class BookSide:
    """One side of the book."""

    __slots__ = ("is_bid", "levels", "prices")

    def __init__(self, is_bid: bool) -> None:
        self.is_bid = is_bid
        self.levels: dict[int, Level] = {}
        self.prices: list[int] = []

    def best(self) -> int | None:
        prices = self.prices
        if not prices:
            return None
        return prices[-1] if self.is_bid else prices[0]

    def add(self, order: Order) -> None:
        """Append a resting order at the back of its price level."""
        price = order.price
        level = self.levels.get(price)
        if level is None:
            level = self.levels[price] = Level(price)
            insort(self.prices, price)
        level.orders.append(order)
        level.qty += order.leaves
        level.count += 1

    def unlink(self, order: Order, leaves: int) -> None:
        """Take a live order's remaining `leaves` off its level (the order is already dead)."""
        level = self.levels[order.price]
        level.qty -= leaves
        level.count -= 1
        if level.count == 0:
            self.drop(level.price)
        elif len(level.orders) > 2 * level.count + 16:
            level.orders = deque(o for o in level.orders if o.leaves)

    def drop(self, price: int) -> None:
        """Remove an emptied level."""
        del self.levels[price]
        prices = self.prices
        del prices[bisect_left(prices, price)]

    def depth(self, limit: int) -> list[tuple[int, int]]:
        """Up to `limit` (price, quantity) pairs, best first."""
        prices = reversed(self.prices) if self.is_bid else iter(self.prices)
        out: list[tuple[int, int]] = []
        for price in prices:
            if len(out) == limit:
                break
            out.append((price, self.levels[price].qty))
        return out

    def orders(self) -> list[Order]:
        """Every live order on this side, best price first, then time priority."""
        prices = reversed(self.prices) if self.is_bid else iter(self.prices)
        return [o for p in prices for o in self.levels[p].live()]
