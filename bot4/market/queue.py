"""Queue position of one resting order at its price level, in whole lots.

`ahead` is the quantity that arrived at the level before our order and still rests. Trades at
the level consume the queue from the front: first what is ahead, then our order. A cancel by
someone else removes quantity either ahead of us or behind us; without order-by-order data we
cannot tell which, so a cancel of `c` lots at a level holding `L` lots (ours excluded) takes
`floor(c * ahead / L)` from ahead: cancels spread evenly over the queue, the "proportional"
queue model of backtesters such as hftbacktest. All arithmetic is on integers.
"""

from __future__ import annotations

import numpy as np

from bot4.market.models import FillModel


class QueuePosition:
    """Our order of `qty` lots behind `ahead` lots at one price."""

    __slots__ = ("ahead", "filled", "qty")

    def __init__(self, ahead: int, qty: int) -> None:
        if ahead < 0 or qty <= 0:
            raise ValueError("need ahead >= 0 and qty > 0")
        self.ahead = ahead
        self.qty = qty
        self.filled = 0

    @property
    def leaves(self) -> int:
        """Lots of ours not yet filled."""
        return self.qty - self.filled

    def on_trade(self, lots: int) -> int:
        """A trade of `lots` at our price: returns the lots of ours it filled."""
        if lots < 0:
            raise ValueError("a trade quantity is >= 0")
        from_ahead = min(lots, self.ahead)
        self.ahead -= from_ahead
        ours = min(lots - from_ahead, self.leaves)
        self.filled += ours
        return ours

    def on_cancel(self, lots: int, level_lots: int) -> None:
        """Someone cancels `lots` at our price, where `level_lots` others' lots rested."""
        if lots < 0 or level_lots < 0:
            raise ValueError("quantities are >= 0")
        if level_lots and self.ahead:
            self.ahead -= min(self.ahead, lots * self.ahead // level_lots)


def simulate_passive_fill(
    fills: FillModel,
    rng: np.random.Generator,
    ahead: int,
    qty: int,
    behind: int,
    trades: int,
) -> QueuePosition:
    """Our order of `qty` lots rests behind `ahead` lots, with `behind` lots queued after it;
    `trades` taker trades then hit the level. Each takes a `FillModel` share of what rests
    there (at least one lot), from the front of the queue. Returns our queue position after
    them (`filled` is what we got). For backtests that have trades but no order book."""
    position = QueuePosition(ahead, qty)
    for _ in range(trades):
        level = position.ahead + position.leaves + behind
        if not level:
            break
        taken = fills.filled_lots(rng, level)
        before = position.ahead
        ours = position.on_trade(taken)
        behind -= taken - min(taken, before) - ours  # what is left goes to those behind us
    return position
