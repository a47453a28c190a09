"""A slow, obviously-correct reference venue for differential tests: a book, and a symbol.

`ReferenceBook` is the matching alone. One plain list of resting orders, linear scans, no
indexes and no laziness. Price-time priority: among the resting orders of the opposite side
that cross the taker's limit, the best price trades first and, at equal prices, the one that
arrived first. Every fill is at the maker's price. It has no filters, fees or balances (a
TRANSFER is only recorded).

`ReferenceVenue` is one symbol around it, written from the venue's documented rules
(binance_spot.md) and not from the engine: it reads the symbol's filters from its decimal
`SymbolSpec`, keeps balances, fees and the average price itself, decides whether each request
is refused (and with which error) or accepted, and says which execution reports an accepted one
gives, in order. See its docstring for the rules it models.

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
import re
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import NamedTuple

from bot4.core import errors
from bot4.core import filters as flt
from bot4.core.enums import (
    ExecutionType,
    ExpiryReason,
    OrderStatus,
    OrderType,
    Side,
    StpMode,
    TimeInForce,
)
from bot4.core.errors import VenueError
from bot4.core.instruments import SymbolSpec
from bot4.core.orders import CancelOrder, NewOrder

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

    @staticmethod
    def _in_priority(orders: list[RestingOrder]) -> list[RestingOrder]:
        """`orders` (all of one side) in priority order: best price first (highest bid, lowest
        ask), then earliest arrival."""
        return sorted(
            orders, key=lambda o: (-o.price if o.side is Side.BUY else o.price, o.arrival)
        )

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


# ---------------------------------------------------------------------- the reference venue


CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,36}$")  # the strictest documented client id rule
X, S, R = ExecutionType, OrderStatus, ExpiryReason


class RefReport(NamedTuple):
    """One execution report as the reference predicts it: the fields the test compares."""

    order_id: int
    execution_type: ExecutionType
    status: OrderStatus
    expiry_reason: ExpiryReason
    qty: int  # TRADE: the fill; TRADE_PREVENTION: what the prevention took; else 0 (lots)
    price: int  # TRADE: the fill price; TRADE_PREVENTION: the maker's price; else 0 (ticks)
    cum_qty: int  # executed so far (lots)
    commission: int  # units of commission_asset; 0 unless TRADE
    commission_asset: str  # "" unless TRADE


class RefAck(NamedTuple):
    """What the reference says an accepted request did."""

    order_id: int
    status: OrderStatus
    orig_qty: int  # lots (a quoteOrderQty MARKET order: the lots it was sized to)
    executed_qty: int
    cum_quote: int  # tick-lots
    reports: list[RefReport]
    outcome: Outcome


@dataclass
class RefOrder:
    """An order the reference venue accepted."""

    order_id: int
    account: str
    client_id: str
    side: Side
    type: OrderType
    price: int  # ticks (0: MARKET)
    qty: int  # lots
    executed: int = 0
    cum_quote: int = 0
    prevented: int = 0
    status: OrderStatus = OrderStatus.NEW

    @property
    def leaves(self) -> int:
        return self.qty - self.executed - self.prevented


def _ceil(value: Fraction) -> int:
    return -((-value.numerator) // value.denominator)


class ReferenceVenue:
    """One symbol of the venue in the plainest terms: the symbol's filters read from its
    `SymbolSpec` (decimals, compared as exact fractions), balances, fees and the average
    price kept on the side, and `ReferenceBook` for the matching.

    It decides every request itself, in this order (the venue's documented order of checks,
    binance_spot.md 1, with the request's shape first and the account last):

      shape       order type listed by the symbol; selfTradePreventionMode allowed (-1013);
                  LIMIT needs timeInForce (-1102), LIMIT_MAKER and MARKET refuse it (-1114);
                  MARKET refuses a price (-1106), wants exactly one of quantity and
                  quoteOrderQty (-1014 both, -1102 neither); client id ^[A-Za-z0-9_-]{1,36}$
                  (-1100, empty -1118); an unknown account -2015
      filters     PRICE_FILTER; PERCENT_PRICE(_BY_SIDE) against the average price; LOT_SIZE;
                  MARKET_LOT_SIZE; NOTIONAL / MIN_NOTIONAL (a MARKET order by its
                  quoteOrderQty, or its quantity at the average price, where they apply to
                  MARKET orders; no average price yet: -2043)
      counts      MAX_NUM_ORDERS; a client id already open for the account (-2010 duplicate)
      book        LIMIT_MAKER that would match now (-2010); a quoteOrderQty MARKET order is
                  sized to the most lots whose notional fits (EXPIRE_MAKER skips own makers),
                  floored to MARKET_LOT_SIZE's step and capped at its maximum; fewer than the
                  minimum: -2010 liquidity when the book holds less than that, else LOT_SIZE
      balance     what the order locks must be free (-2010): a LIMIT BUY price x quantity, a
                  SELL its quantity, a quoteOrderQty BUY its quote, a MARKET BUY by quantity
                  what the book costs for it, walking as matching will (own makers skipped
                  under EXPIRE_MAKER, the walk ends at one under EXPIRE_TAKER/EXPIRE_BOTH,
                  counted as traded under DECREMENT/TRANSFER)

    An accepted order gets the next order id and a NEW report, then one TRADE report for the
    taker and one for the maker per fill, TRADE_PREVENTION reports for each order a prevented
    match took quantity from (taker first), and EXPIRED (with the type's expiry reason) for
    what an IOC, FOK or MARKET order could not fill. Each fill charges its commission in the
    asset received (base on a BUY, quote on a SELL) at the symbol's taker or maker rate,
    computed exactly and rounded up once to the asset's smallest unit. A cancel (by id and/or
    client id, the account's own open order only, else -2011) gives one CANCELED report.

    Balances: `held` (free + locked) moves only by fills, their fees and TRANSFERs; locked is
    what the open orders still lock (a BUY price x remaining, a SELL its remaining
    quantity), free the rest.
    """

    def __init__(
        self,
        spec: SymbolSpec,
        funds: Mapping[str, tuple[int, int]],
        groups: Mapping[str, int] | None = None,
        seed_price: int | None = None,
    ) -> None:
        """`funds`: each account's (base units, quote units); `groups`: tradeGroupIds;
        `seed_price` (ticks) stands in for the average price before the first trade."""
        self.spec = spec
        self.base, self.quote = spec.baseAsset, spec.quoteAsset
        price_filter = spec.filter(flt.PriceFilter)
        lot = spec.filter(flt.LotSize)
        self.tick, self.step = Fraction(price_filter.tickSize), Fraction(lot.stepSize)
        self.price_filter, self.lot = price_filter, lot
        self.market_lot = spec.find(flt.MarketLotSize)
        self.notional = spec.find(flt.Notional)
        self.min_notional = spec.find(flt.MinNotional)
        self.percent = spec.find(flt.PercentPrice)
        self.by_side = spec.find(flt.PercentPriceBySide)
        self.max_orders = spec.find(flt.MaxNumOrders)
        windows = [
            f.avgPriceMins
            for f in (self.notional, self.min_notional, self.percent, self.by_side)
            if f is not None
        ]
        self.window_ms = (windows[0] if windows else 0) * 60_000
        self.base_unit = Fraction(1, 10**spec.baseAssetPrecision)
        self.quote_unit = Fraction(1, 10**spec.quoteAssetPrecision)
        per_lot, per_ticklot = self.step / self.base_unit, self.tick * self.step / self.quote_unit
        assert per_lot.denominator == per_ticklot.denominator == 1
        self.base_per_lot, self.quote_per_ticklot = int(per_lot), int(per_ticklot)
        self.maker_rate = Fraction(spec.makerCommission)
        self.taker_rate = Fraction(spec.takerCommission)
        self.book = ReferenceBook()
        self.groups = dict(groups or {})
        self.held: dict[tuple[str, str], int] = {}
        for account, (base, quote) in funds.items():
            self.held[(account, self.base)] = base
            self.held[(account, self.quote)] = quote
        self.fees = {self.base: 0, self.quote: 0}
        self.open: dict[int, RefOrder] = {}
        self.last_order_id = 0
        self.trades: list[tuple[int, int, int]] = []  # (time ms, price ticks, lots)
        self.seed_price = seed_price

    # ------------------------------------------------------------------ state

    def key(self, account: str) -> str | int:
        """The account's stp key: its tradeGroupId, or itself."""
        return self.groups.get(account, account)

    def mode(self, requested: StpMode | None) -> StpMode:
        return self.spec.defaultSelfTradePreventionMode if requested is None else requested

    def locked(self, account: str, asset: str) -> int:
        """What the account's open orders still lock of `asset`."""
        total = 0
        for o in self.open.values():
            if o.account != account:
                continue
            if o.side is Side.BUY and asset == self.quote:
                total += o.price * o.leaves * self.quote_per_ticklot
            elif o.side is Side.SELL and asset == self.base:
                total += o.leaves * self.base_per_lot
        return total

    def balance(self, account: str, asset: str) -> tuple[int, int]:
        """(free, locked) in units of the asset."""
        locked = self.locked(account, asset)
        return self.held.get((account, asset), 0) - locked, locked

    def average_price(self, now: int) -> Fraction | None:
        """The reference price in ticks at `now`: the volume-weighted average of the trades in
        the last avgPriceMins, else the last trade price, else the seed."""
        if self.window_ms:
            inside = [(p, q) for t, p, q in self.trades if t > now - self.window_ms]
            if inside:
                return Fraction(sum(p * q for p, q in inside), sum(q for _, q in inside))
        if self.trades:
            return Fraction(self.trades[-1][1])
        return None if self.seed_price is None else Fraction(self.seed_price)

    # ------------------------------------------------------------------ checks

    def _shape(self, req: NewOrder) -> VenueError | None:
        otype, tif = req.type, req.time_in_force
        if otype not in self.spec.orderTypes:
            return errors.not_supported(f"{otype.value.replace('_', ' ').capitalize()} orders")
        mode = req.stp_mode
        if mode is not None and mode not in self.spec.allowedSelfTradePreventionModes:
            return errors.STP_MODE_NOT_ALLOWED
        if otype is OrderType.LIMIT and tif is None:
            return errors.mandatory_param("timeInForce")
        if otype is OrderType.LIMIT_MAKER and tif is not None:
            return errors.TIF_NOT_REQUIRED
        if otype is OrderType.MARKET:
            if tif is not None:
                return errors.TIF_NOT_REQUIRED
            if req.price:
                return errors.param_not_required("price")
            if req.quantity and req.quote_order_qty:
                return errors.UNSUPPORTED_COMBINATION
            if not req.quantity and not req.quote_order_qty:
                return errors.one_of_params("quantity", "quoteOrderQty")
            if req.quote_order_qty and not self.spec.quoteOrderQtyMarketAllowed:
                return errors.not_supported("Quote order qty market orders")
        elif req.quote_order_qty:
            return errors.param_not_required("quoteOrderQty")
        cid = req.client_order_id
        if cid is not None and CLIENT_ID.match(cid) is None:
            if cid == "":
                return errors.EMPTY_NEW_CL_ORD_ID
            return errors.illegal_chars("newClientOrderId", CLIENT_ID.pattern)
        if (req.account, self.base) not in self.held:
            return errors.UNKNOWN_ACCOUNT
        return None

    def _filters(self, req: NewOrder, now: int) -> VenueError | None:
        market = req.type is OrderType.MARKET
        price = self.tick * req.price
        qty = self.step * req.quantity
        if not market:
            pf = self.price_filter
            if price <= 0 or price < pf.minPrice or (pf.maxPrice and price > pf.maxPrice):
                return errors.filter_failure("PRICE_FILTER")
            avg = self.average_price(now)
            if avg is not None and (self.percent or self.by_side):
                avg_price = avg * self.tick
                if self.by_side is not None:
                    b = self.by_side
                    if req.side is Side.BUY:
                        lo, hi = b.bidMultiplierDown, b.bidMultiplierUp
                    else:
                        lo, hi = b.askMultiplierDown, b.askMultiplierUp
                    name = "PERCENT_PRICE_BY_SIDE"
                else:
                    assert self.percent is not None
                    lo, hi = self.percent.multiplierDown, self.percent.multiplierUp
                    name = "PERCENT_PRICE"
                if not avg_price * Fraction(lo) <= price <= avg_price * Fraction(hi):
                    return errors.filter_failure(name)
        if not req.quote_order_qty:
            if qty <= 0 or qty < self.lot.minQty or qty > self.lot.maxQty:
                return errors.filter_failure("LOT_SIZE")
            ml = self.market_lot
            if (
                market
                and ml is not None
                and (
                    qty < ml.minQty
                    or (ml.maxQty and qty > ml.maxQty)
                    or (ml.stepSize and qty % Fraction(ml.stepSize))
                )
            ):
                return errors.filter_failure("MARKET_LOT_SIZE")
        n, mn = self.notional, self.min_notional
        if not market:
            notional = price * qty
            if n is not None and not n.minNotional <= notional <= n.maxNotional:
                return errors.filter_failure("NOTIONAL")
            if mn is not None and notional < mn.minNotional:
                return errors.filter_failure("MIN_NOTIONAL")
            return None
        low = n is not None and n.applyMinToMarket
        high = n is not None and n.applyMaxToMarket
        legacy = mn is not None and mn.applyToMarket
        if not (low or high or legacy):
            return None
        if req.quote_order_qty:
            notional = self.quote_unit * req.quote_order_qty
        else:
            avg = self.average_price(now)
            if avg is None:
                return errors.NO_REFERENCE_PRICE
            notional = avg * self.tick * qty
        if n is not None and (
            (low and notional < n.minNotional) or (high and notional > n.maxNotional)
        ):
            return errors.filter_failure("NOTIONAL")
        if mn is not None and legacy and notional < mn.minNotional:
            return errors.filter_failure("MIN_NOTIONAL")
        return None

    def _own(self, account: str, mode: StpMode, maker: RestingOrder) -> bool:
        return mode is not NONE and maker.key == self.key(account)

    def _quote_lots(self, req: NewOrder, mode: StpMode) -> int | VenueError:
        """The lots a quoteOrderQty MARKET order is sized to, or why it cannot be."""
        ml = self.market_lot
        step = int(Fraction(ml.stepSize) / self.step) if ml and ml.stepSize else 1
        max_lots = int(Fraction(ml.maxQty) / self.step) if ml and ml.maxQty else 0
        key = self.key(req.account)
        lots = self.book.market_quote_lots(
            req.side, req.quote_order_qty, self.quote_per_ticklot, step, max_lots, key, mode
        )
        min_lot = _ceil(Fraction(self.lot.minQty) / self.step)
        min_market = _ceil(Fraction(ml.minQty) / self.step) if ml else 0
        minimum = max(min_lot, min_market, 1)
        if lots >= minimum:
            return lots
        available = sum(
            o.leaves
            for o in self.book._opposite(req.side, None)
            if not (mode is EXPIRE_MAKER and self._own(req.account, mode, o))
        )
        if available < minimum:
            return errors.liquidity_below_min(
                "MARKET_LOT_SIZE" if min_market > min_lot else "LOT_SIZE"
            )
        return errors.filter_failure("LOT_SIZE")

    def _market_buy_cost(self, account: str, qty: int, mode: StpMode) -> int:
        """Quote units a MARKET BUY of `qty` lots locks: the book's cost for it, walking as
        matching will."""
        left, cost = qty, 0
        for o in self.book._in_priority(self.book._opposite(Side.BUY, None)):
            if self._own(account, mode, o):
                if mode is EXPIRE_MAKER:
                    continue
                if mode in (EXPIRE_TAKER, EXPIRE_BOTH):
                    break
            take = min(left, o.leaves)
            cost += take * o.price
            left -= take
            if not left:
                break
        return cost * self.quote_per_ticklot

    def check(self, req: NewOrder, now: int) -> VenueError | int:
        """Why the venue refuses `req`, or the lots it will work (a quoteOrderQty order's are
        derived from the book). Changes nothing."""
        error = self._shape(req) or self._filters(req, now)
        if error is not None:
            return error
        account = req.account
        open_own = [o for o in self.open.values() if o.account == account]
        if self.max_orders is not None and len(open_own) >= self.max_orders.maxNumOrders:
            return errors.filter_failure("MAX_NUM_ORDERS")
        cid = req.client_order_id
        if cid is not None and any(o.client_id == cid for o in open_own):
            return errors.DUPLICATE_ORDER
        if req.type is OrderType.LIMIT_MAKER and self.book.would_cross(req.side, req.price):
            return errors.WOULD_MATCH
        mode = self.mode(req.stp_mode)
        qty = req.quantity
        if req.quote_order_qty:
            derived = self._quote_lots(req, mode)
            if isinstance(derived, VenueError):
                return derived
            qty = derived
        if req.side is Side.SELL:
            need, asset = qty * self.base_per_lot, self.base
        elif req.type is not OrderType.MARKET:
            need, asset = req.price * qty * self.quote_per_ticklot, self.quote
        elif req.quote_order_qty:
            need, asset = req.quote_order_qty, self.quote
        else:
            need, asset = self._market_buy_cost(account, qty, mode), self.quote
        if need > self.balance(account, asset)[0]:
            return errors.INSUFFICIENT_BALANCE
        return qty

    # ------------------------------------------------------------------ requests

    def submit(self, req: NewOrder, now: int) -> RefAck | VenueError:
        """A new order: refused (the venue's error, nothing changes) or accepted and run."""
        qty = self.check(req, now)
        if isinstance(qty, VenueError):
            return qty
        self.last_order_id += 1
        oid = self.last_order_id
        account, side, otype = req.account, req.side, req.type
        mode, key = self.mode(req.stp_mode), self.key(account)
        cid = req.client_order_id if req.client_order_id is not None else f"auto-{oid}"
        taker = RefOrder(oid, account, cid, side, otype, req.price, qty)
        if otype is OrderType.LIMIT:
            assert req.time_in_force is not None
            outcome = self.book.limit(
                oid, side, req.price, qty, req.time_in_force, account, key, mode
            )
        elif otype is OrderType.LIMIT_MAKER:
            assert self.book.limit_maker(oid, side, req.price, qty, account, key, mode)
            outcome = Outcome([], [], S.NEW)
        else:
            outcome = self.book.market(oid, side, qty, account, key, mode)
        reports = [RefReport(oid, X.NEW, S.NEW, R.NONE, 0, 0, 0, 0, "")]
        for event in outcome.events:
            if isinstance(event, Fill):
                reports.extend(self._fill(taker, self.open[event.maker_order_id], event, now))
            else:
                reports.extend(self._prevent(taker, event))
        for t in outcome.transfers:
            self._move(t.buyer, t.seller, t.price, t.qty, 0, 0)
        rests = otype is OrderType.LIMIT_MAKER or req.time_in_force is TimeInForce.GTC
        if taker.leaves and rests:
            self.open[oid] = taker
        elif taker.leaves:
            taker.status = S.EXPIRED
            if otype is OrderType.MARKET:
                reason = R.INSUFFICIENT_LIQUIDITY
            elif req.time_in_force is TimeInForce.FOK:
                reason = R.UNFILLED_FOK_ORDER_EXPIRED
            else:
                reason = R.UNFILLED_IOC_QUANTITY_EXPIRED
            reports.append(
                RefReport(oid, X.EXPIRED, S.EXPIRED, reason, 0, 0, taker.executed, 0, "")
            )
        assert taker.status is outcome.status, (taker, outcome)
        return RefAck(oid, taker.status, qty, taker.executed, taker.cum_quote, reports, outcome)

    def _move(self, buyer: str, seller: str, price: int, qty: int, buyer_fee: int,
              seller_fee: int) -> None:  # fmt: skip
        """`qty` lots change hands at `price`; the buyer pays its fee in base, the seller in
        quote."""
        base_units = qty * self.base_per_lot
        quote_units = price * qty * self.quote_per_ticklot
        held = self.held
        held[(buyer, self.base)] += base_units - buyer_fee
        held[(buyer, self.quote)] -= quote_units
        held[(seller, self.base)] -= base_units
        held[(seller, self.quote)] += quote_units - seller_fee
        self.fees[self.base] += buyer_fee
        self.fees[self.quote] += seller_fee

    def _fill(self, taker: RefOrder, maker: RefOrder, fill: Fill, now: int) -> list[RefReport]:
        price, qty = fill.price, fill.qty
        base_units = qty * self.base_per_lot
        quote_units = price * qty * self.quote_per_ticklot
        out = []
        for order, rate in ((taker, self.taker_rate), (maker, self.maker_rate)):
            order.executed += qty
            order.cum_quote += price * qty
            order.status = S.FILLED if not order.leaves else S.PARTIALLY_FILLED
            if order.side is Side.BUY:
                fee, asset = _ceil(base_units * rate), self.base
            else:
                fee, asset = _ceil(quote_units * rate), self.quote
            out.append(
                RefReport(order.order_id, X.TRADE, order.status, R.NONE, qty, price,
                          order.executed, fee, asset)
            )  # fmt: skip
        buyer, seller = (taker, maker) if taker.side is Side.BUY else (maker, taker)
        buyer_fee = out[0].commission if buyer is taker else out[1].commission
        seller_fee = out[0].commission if seller is taker else out[1].commission
        self._move(buyer.account, seller.account, price, qty, buyer_fee, seller_fee)
        self.trades.append((now, price, qty))
        if not maker.leaves:
            del self.open[maker.order_id]
        return out

    def _prevent(self, taker: RefOrder, p: Prevented) -> list[RefReport]:
        out = []
        for order_id, qty in ((p.taker_order_id, p.taker_qty), (p.maker_order_id, p.maker_qty)):
            if not qty:
                continue
            order = taker if order_id == taker.order_id else self.open[order_id]
            order.prevented += qty
            if not order.leaves:
                order.status = S.EXPIRED_IN_MATCH
                self.open.pop(order_id, None)
            out.append(
                RefReport(order_id, X.TRADE_PREVENTION, order.status, R.NONE, qty, p.price,
                          order.executed, 0, "")
            )  # fmt: skip
        return out

    def cancel(self, req: CancelOrder) -> RefAck | VenueError:
        """Cancel the account's own open order by id and/or client id."""
        if (req.account, self.base) not in self.held:
            return errors.UNKNOWN_ACCOUNT
        new_cid = req.new_client_order_id
        if new_cid is not None and CLIENT_ID.match(new_cid) is None:
            if new_cid == "":
                return errors.EMPTY_NEW_CL_ORD_ID
            return errors.illegal_chars("newClientOrderId", CLIENT_ID.pattern)
        if req.order_id is None and req.orig_client_order_id is None:
            return errors.CANCEL_IDS_MISSING
        found = [
            o
            for o in self.open.values()
            if o.account == req.account
            and req.order_id in (None, o.order_id)
            and req.orig_client_order_id in (None, o.client_id)
        ]
        if not found:
            return errors.UNKNOWN_ORDER
        (order,) = found
        del self.open[order.order_id]
        assert self.book.cancel(order.order_id)
        order.status = S.CANCELED
        report = RefReport(order.order_id, X.CANCELED, S.CANCELED, R.NONE, 0, 0, order.executed,
                           0, "")  # fmt: skip
        return RefAck(
            order.order_id, S.CANCELED, order.qty, order.executed, order.cum_quote, [report],
            Outcome([], [], S.CANCELED),
        )  # fmt: skip
