"""A slow, obviously-correct reference order book for differential tests.

One plain list of resting orders, linear scans, no indexes and no laziness. Price-time
priority: among the resting orders of the opposite side that cross the taker's limit, the best
price trades first and, at equal prices, the one that arrived first. Every fill is at the
maker's price. There are no filters or fees and no balances (a TRANSFER is only recorded): the
differential test feeds it only the requests the engine accepted, under the engine's order ids.

Self-trade prevention (Binance STP): a taker whose mode is not NONE never trades with a maker
of the same stp key (the account, or its tradeGroupId). Meeting one is a prevented match,
numbered 0, 1, 2, ... per book, and the taker's mode decides what it takes away:

  EXPIRE_TAKER  all the taker still has; matching stops.
  EXPIRE_MAKER  all the maker still has (it leaves the book); the taker goes on.
  EXPIRE_BOTH   both of the above.
  DECREMENT     q = min(taker's, maker's) from both; a maker that keeps some keeps its place.
  TRANSFER      as DECREMENT, and q changes hands at the maker's price without fee, but only
                when the maker is on TRANSFER too and the two accounts differ; otherwise it is
                a DECREMENT.

An order whose remaining quantity a prevention takes to 0 ends EXPIRED_IN_MATCH. A FOK is run
on a copy of the book and kept only if it fills whole, so any prevention that takes from it
makes it expire unfilled, while makers expired by EXPIRE_MAKER on the way do not.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import NamedTuple

from bot4.core.enums import OrderStatus, Side, StpMode, TimeInForce

NONE, EXPIRE_TAKER, EXPIRE_MAKER = StpMode.NONE, StpMode.EXPIRE_TAKER, StpMode.EXPIRE_MAKER
EXPIRE_BOTH, DECREMENT, TRANSFER = StpMode.EXPIRE_BOTH, StpMode.DECREMENT, StpMode.TRANSFER


class Fill(NamedTuple):
    taker_order_id: int
    maker_order_id: int
    price: int  # ticks
    qty: int  # lots


class Prevented(NamedTuple):
    """A prevented self-trade and what it took from each side (0: that side untouched)."""

    match_id: int  # preventedMatchId: 0, 1, 2, ... per book
    taker_order_id: int
    maker_order_id: int
    price: int  # ticks, the maker's
    taker_qty: int  # lots
    maker_qty: int  # lots


class Transfer(NamedTuple):
    """Quantity that changed hands under TRANSFER (no trade, no fee)."""

    buyer: str  # account
    seller: str
    price: int  # ticks, the maker's
    qty: int  # lots


class Outcome(NamedTuple):
    """What one taking request did: its fills and prevented matches in order, the transfers,
    and the taker's status after the request."""

    events: list[Fill | Prevented]
    transfers: list[Transfer]
    status: OrderStatus

    @property
    def fills(self) -> list[Fill]:
        return [e for e in self.events if isinstance(e, Fill)]

    @property
    def prevented(self) -> list[Prevented]:
        return [e for e in self.events if isinstance(e, Prevented)]


@dataclass
class RestingOrder:
    order_id: int
    side: Side
    price: int
    leaves: int
    arrival: int  # submission order: smaller arrived earlier
    account: str = ""
    key: str | int = ""  # stp key: the account, or its tradeGroupId
    mode: StpMode = NONE


@dataclass
class Taker:
    order_id: int
    side: Side
    limit: int | None  # None: a market order
    qty: int
    account: str
    key: str | int
    mode: StpMode
    leaves: int = 0
    executed: int = 0
    prevented: int = 0
    ended_by_prevention: bool = False  # the last quantity it lost went to a prevention


def effective_mode(
    taker_mode: StpMode,
    taker_key: str | int,
    taker_account: str,
    maker_mode: StpMode,
    maker_key: str | int,
    maker_account: str,
) -> StpMode | None:
    """The STP mode that applies when this taker meets this maker; None: they may trade."""
    if taker_mode is NONE or taker_key != maker_key:
        return None
    if taker_mode is TRANSFER and (maker_mode is not TRANSFER or maker_account == taker_account):
        return DECREMENT
    return taker_mode


class ReferenceBook:
    """Price-time priority matching over a list."""

    def __init__(self) -> None:
        self.resting: list[RestingOrder] = []
        self.arrivals = 0
        self.next_match_id = 0

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

    def _in_priority(self, orders: list[RestingOrder]) -> list[RestingOrder]:
        """`orders` (all of one side) sorted by priority, by selection: slow and plain."""
        left = list(orders)
        out: list[RestingOrder] = []
        while left:
            top = left[0]
            for o in left:
                if self._better(o.side, o, top):
                    top = o
            left.remove(top)
            out.append(top)
        return out

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
        """Whether a limit order at `price` would meet a resting order at once (STP aside)."""
        return bool(self._opposite(side, price))

    def book(self) -> list[tuple[int, Side, int, int]]:
        """(order_id, side, price, leaves) of every resting order: bids then asks, each in
        priority order."""
        out: list[tuple[int, Side, int, int]] = []
        for side in (Side.BUY, Side.SELL):
            for o in self._in_priority([o for o in self.resting if o.side is side]):
                out.append((o.order_id, o.side, o.price, o.leaves))
        return out

    # ------------------------------------------------------------------ matching

    def _match(self, taker: Taker) -> tuple[list[Fill | Prevented], list[Transfer]]:
        """Take liquidity until the taker has nothing left or nothing crosses."""
        events: list[Fill | Prevented] = []
        transfers: list[Transfer] = []
        while taker.leaves > 0:
            maker = self._best_maker(taker.side, taker.limit)
            if maker is None:
                break
            mode = effective_mode(
                taker.mode, taker.key, taker.account, maker.mode, maker.key, maker.account
            )
            if mode is None:
                q = min(taker.leaves, maker.leaves)
                events.append(Fill(taker.order_id, maker.order_id, maker.price, q))
                taker.leaves -= q
                taker.executed += q
                maker.leaves -= q
                taker.ended_by_prevention = False
            else:
                if mode is DECREMENT or mode is TRANSFER:
                    taker_q = maker_q = min(taker.leaves, maker.leaves)
                else:
                    taker_q = taker.leaves if mode in (EXPIRE_TAKER, EXPIRE_BOTH) else 0
                    maker_q = maker.leaves if mode in (EXPIRE_MAKER, EXPIRE_BOTH) else 0
                events.append(
                    Prevented(
                        self.next_match_id,
                        taker.order_id,
                        maker.order_id,
                        maker.price,
                        taker_q,
                        maker_q,
                    )
                )
                self.next_match_id += 1
                if mode is TRANSFER:
                    if taker.side is Side.BUY:
                        buyer, seller = taker.account, maker.account
                    else:
                        buyer, seller = maker.account, taker.account
                    transfers.append(Transfer(buyer, seller, maker.price, taker_q))
                taker.leaves -= taker_q
                taker.prevented += taker_q
                maker.leaves -= maker_q
                if taker_q:
                    taker.ended_by_prevention = True
            if maker.leaves == 0:
                self.resting.remove(maker)
        return events, transfers

    @staticmethod
    def _status(taker: Taker, rests: bool) -> OrderStatus:
        """The taker's status once matching is over."""
        if taker.leaves == 0:
            if taker.ended_by_prevention:
                return OrderStatus.EXPIRED_IN_MATCH
            return OrderStatus.FILLED
        if not rests:
            return OrderStatus.EXPIRED
        return OrderStatus.NEW if taker.executed == 0 else OrderStatus.PARTIALLY_FILLED

    def _rest(self, taker: Taker, arrival: int) -> None:
        self.resting.append(
            RestingOrder(
                taker.order_id,
                taker.side,
                taker.limit if taker.limit is not None else 0,
                taker.leaves,
                arrival,
                taker.account,
                taker.key,
                taker.mode,
            )
        )

    def limit(
        self,
        order_id: int,
        side: Side,
        price: int,
        qty: int,
        tif: TimeInForce,
        account: str = "",
        key: str | int | None = None,
        mode: StpMode = NONE,
    ) -> Outcome:
        """A LIMIT order: GTC rests what is left, IOC drops it, FOK trades all or nothing.
        `key` is the stp key (None: the account itself), `mode` the order's STP mode."""
        self.arrivals += 1
        arrival = self.arrivals
        taker = Taker(order_id, side, price, qty, account, account if key is None else key, mode)
        taker.leaves = qty
        fok = tif is TimeInForce.FOK
        saved = copy.deepcopy((self.resting, self.next_match_id)) if fok else None
        events, transfers = self._match(taker)
        if saved is not None and taker.executed < qty:
            self.resting, self.next_match_id = saved  # as if it never came
            return Outcome([], [], OrderStatus.EXPIRED)
        rests = tif is TimeInForce.GTC
        if taker.leaves and rests:
            self._rest(taker, arrival)
        return Outcome(events, transfers, self._status(taker, rests))

    def limit_maker(
        self,
        order_id: int,
        side: Side,
        price: int,
        qty: int,
        account: str = "",
        key: str | int | None = None,
        mode: StpMode = NONE,
    ) -> bool:
        """A LIMIT_MAKER order: rests whole, or is refused (False) if it would cross."""
        self.arrivals += 1
        if self.would_cross(side, price):
            return False
        taker = Taker(order_id, side, price, qty, account, account if key is None else key, mode)
        taker.leaves = qty
        self._rest(taker, self.arrivals)
        return True

    def market(
        self,
        order_id: int,
        side: Side,
        qty: int,
        account: str = "",
        key: str | int | None = None,
        mode: StpMode = NONE,
    ) -> Outcome:
        """A MARKET order by quantity: takes what there is, drops the rest."""
        self.arrivals += 1
        taker = Taker(order_id, side, None, qty, account, account if key is None else key, mode)
        taker.leaves = qty
        events, transfers = self._match(taker)
        return Outcome(events, transfers, self._status(taker, rests=False))

    def market_quote_lots(
        self,
        side: Side,
        quote: int,
        quote_per_ticklot: int,
        step: int = 1,
        max_lots: int = 0,
        key: str | int = "",
        mode: StpMode = NONE,
    ) -> int:
        """The lots a MARKET order sized by `quote` units takes: walking the opposite side
        best first, the most lots whose notional fits in `quote` (it stops at the first order
        it cannot take whole, since the order fills best-first), floored to `step`, capped at
        `max_lots` (0: no cap).

        With STP (`mode` not NONE), makers of the taker's stp `key` are skipped under
        EXPIRE_MAKER (they will expire, not trade) and count as if traded under every other
        mode (the order is sized as the quote allows; matching then prevents what it must)."""
        left, lots = quote, 0
        for o in self._in_priority(self._opposite(side, None)):
            if mode is EXPIRE_MAKER and o.key == key:
                continue
            cost = o.price * quote_per_ticklot
            take = min(o.leaves, left // cost)
            lots += take
            left -= take * cost
            if take < o.leaves:
                break
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
