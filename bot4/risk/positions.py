"""One account's position in one symbol, with exact realised and unrealised profit.

Quantities are lots, money is quote-asset units (integers). Cost follows the average-cost
method: a trade that grows the position adds its notional to `cost`; a trade that shrinks it
removes the proportional share of `cost` (floored, so cost and realised profit always add up to
what was paid) and books the difference as realised profit. A trade through zero first closes,
then opens the rest at the trade price.
"""

from __future__ import annotations


class Position:
    """Signed position in lots (long > 0), its cost and the profit realised so far."""

    __slots__ = ("cost", "lots", "realized")

    def __init__(self) -> None:
        self.lots = 0
        self.cost = 0  # quote units paid for the open lots (negative for a short)
        self.realized = 0  # quote units

    def fill(self, buy: bool, lots: int, notional: int) -> int:
        """Apply a fill of `lots` worth `notional` quote units; returns the profit it realised."""
        if lots <= 0 or notional < 0:
            raise ValueError("a fill has lots > 0 and notional >= 0")
        signed = lots if buy else -lots
        signed_notional = notional if buy else -notional
        pos = self.lots
        if pos == 0 or (pos > 0) == buy:  # opening or adding
            self.lots = pos + signed
            self.cost += signed_notional
            return 0
        closing = min(lots, abs(pos))
        cost_out = self.cost * closing // abs(pos)
        proceeds = signed_notional * closing // lots  # the closing part of this fill
        # long: `closing` lots sold for -proceeds cost cost_out; short: bought back for proceeds
        # after selling them for -cost_out. Either way the profit is -(proceeds + cost_out).
        realized = -(proceeds + cost_out)
        self.realized += realized
        self.cost -= cost_out
        self.lots = pos + (closing if buy else -closing)
        rest = lots - closing
        if rest:
            self.lots += rest if buy else -rest
            self.cost += signed_notional - proceeds
        return realized

    def unrealized(self, mark_notional_per_lot: int) -> int:
        """Profit if the open lots were closed at a mark worth that many quote units per lot."""
        return self.lots * mark_notional_per_lot - self.cost
