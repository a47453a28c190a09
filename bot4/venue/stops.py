"""Untriggered stop-loss and take-profit orders of one symbol, waiting for their trigger.

Triggers follow the last trade price (trailing-stop FAQ, rest-api.md): STOP_LOSS BUY and
TAKE_PROFIT SELL fire when a trade prints at or above the stop price, STOP_LOSS SELL and
TAKE_PROFIT BUY at or below it. A trailing order (trailingDelta, in basis points) tracks the
lowest trade (BUY) or the highest (SELL) once active, and fires when a trade moves
trailingDelta away from it; with a stop price it becomes active only when that price is
reached, without one it starts from the last price when placed.
"""

from __future__ import annotations

from bisect import bisect_left, insort

from bot4.core.enums import STOP_LOSSES, OrderType, Side
from bot4.core.orders import Order

# Tuples, not sets: `in` then compares by identity, while a set would call Enum.__hash__
# (a Python-level function) for every order on the hot path.


def fires_on_rise(order_type: OrderType, side: Side) -> bool:
    """Whether the stop price is above the market: STOP_LOSS BUY and TAKE_PROFIT SELL."""
    return (order_type in STOP_LOSSES) is (side is Side.BUY)


def would_trigger(order_type: OrderType, side: Side, stop_price: int, last: int) -> bool:
    """Whether `last` already meets the stop price (the venue then refuses the order)."""
    return last >= stop_price if fires_on_rise(order_type, side) else last <= stop_price


class StopBook:
    """Waiting stop orders by trigger price, plus the trailing ones, in arrival order."""

    __slots__ = ("_down", "_trailing", "_up", "orders")

    def __init__(self) -> None:
        self.orders: dict[int, Order] = {}
        self._up: list[tuple[int, int]] = []  # (stop price, order id): fire when price >= stop
        self._down: list[tuple[int, int]] = []  # (-stop price, order id): fire when price <= stop
        self._trailing: list[Order] = []

    def __len__(self) -> int:
        return len(self.orders)

    def add(self, order: Order, last_price: int | None) -> None:
        """Park an order until its trigger; `last_price` starts a trailing order without stop."""
        self.orders[order.order_id] = order
        if order.trailing_delta:
            order.trail_ref = None if order.stop_price else last_price
            self._trailing.append(order)
        elif fires_on_rise(order.type, order.side):
            insort(self._up, (order.stop_price, order.order_id))
        else:
            insort(self._down, (-order.stop_price, order.order_id))

    def remove(self, order: Order) -> None:
        """Take a waiting order out (cancelled, or triggered)."""
        del self.orders[order.order_id]
        if order.trailing_delta:
            self._trailing.remove(order)
            return
        rise = fires_on_rise(order.type, order.side)
        keys = self._up if rise else self._down
        key = (order.stop_price if rise else -order.stop_price, order.order_id)
        del keys[bisect_left(keys, key)]

    def fire(self, price: int, now: int) -> list[Order]:
        """The orders a trade at `price` triggers, in trigger order; they leave the book."""
        fired: list[Order] = []
        up, down = self._up, self._down
        while up and up[0][0] <= price:
            fired.append(self.orders.pop(up.pop(0)[1]))
        while down and down[0][0] <= -price:
            fired.append(self.orders.pop(down.pop(0)[1]))
        if self._trailing:
            for order in list(self._trailing):
                if self._trail(order, price, now):
                    self._trailing.remove(order)
                    fired.append(self.orders.pop(order.order_id))
        return fired

    @staticmethod
    def _trail(order: Order, price: int, now: int) -> bool:
        """Move a trailing order's extreme with `price`; whether it fires."""
        ref = order.trail_ref
        if ref is None:
            if order.stop_price and not would_trigger(
                order.type, order.side, order.stop_price, price
            ):
                return False
            order.trail_ref = price
            order.trailing_time = now
            return False
        delta = order.trailing_delta
        if order.side is Side.BUY:  # track the low, fire on a rise
            if price < ref:
                order.trail_ref = price
                return False
            return price * 10_000 >= ref * (10_000 + delta)
        if price > ref:  # SELL: track the high, fire on a fall
            order.trail_ref = price
            return False
        return price * 10_000 <= ref * (10_000 - delta)
