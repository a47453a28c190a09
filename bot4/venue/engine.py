"""The matching engine of one symbol: Binance Spot rules over integer ticks, lots and units.

One engine owns one symbol's book and is its single writer. Every request is checked in the
venue's order (request shape, PRICE_FILTER, PERCENT_PRICE(_BY_SIDE), LOT_SIZE and
MARKET_LOT_SIZE, NOTIONAL and MIN_NOTIONAL, MAX_NUM_ORDERS, duplicate client id, balance); a
refused request returns a `VenueError` and changes nothing. An accepted one produces execution
reports numbered by `seq`, strictly increasing with no gaps. Time is an argument: the engine
reads no clock and draws no random number, so the same requests give the same reports.
"""

from __future__ import annotations

import hashlib
import re
from collections import deque
from collections.abc import Callable, Iterator
from fractions import Fraction

from bot4.core import errors
from bot4.core.accounts import Balance, Ledger
from bot4.core.enums import (
    MARKET_STOPS,
    STOP_LOSSES,
    STOP_TYPES,
    CancelReplaceMode,
    CancelRestriction,
    ContingencyType,
    ExecutionType,
    ExpiryReason,
    ListOrderStatus,
    ListStatusType,
    OrderStatus,
    OrderType,
    Side,
    StpMode,
    SymbolStatus,
    TimeInForce,
)
from bot4.core.errors import VenueError
from bot4.core.events import ExecutionReport, ListStatus
from bot4.core.instruments import Instrument
from bot4.core.orders import (
    AmendOrder,
    CancelOrder,
    CancelOrderList,
    CancelReplace,
    ListLeg,
    NewOco,
    NewOrder,
    NewOto,
    NewOtoco,
    Order,
    OrderView,
)
from bot4.core.results import Ack, CancelReplaceResult, ListAck
from bot4.venue import lists
from bot4.venue.avgprice import AveragePrice
from bot4.venue.book import BookSide, Level
from bot4.venue.feebook import FeeBook, FeeRef
from bot4.venue.limits import ExchangeLimits
from bot4.venue.lists import OrderList
from bot4.venue.stops import StopBook, fires_on_rise, would_trigger

CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,36}$")
CLIENT_ID_PATTERN = CLIENT_ID_RE.pattern

BUY, SELL = Side.BUY, Side.SELL
LIMIT, MARKET, LIMIT_MAKER = OrderType.LIMIT, OrderType.MARKET, OrderType.LIMIT_MAKER
STOP_LOSS, TAKE_PROFIT = OrderType.STOP_LOSS, OrderType.TAKE_PROFIT
GTC, IOC, FOK = TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK
NEW, PARTIAL, FILLED = OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED
CANCELED, EXPIRED = OrderStatus.CANCELED, OrderStatus.EXPIRED
X_NEW, X_TRADE = ExecutionType.NEW, ExecutionType.TRADE
X_CANCELED, X_EXPIRED = ExecutionType.CANCELED, ExecutionType.EXPIRED
X_REPLACED, X_REJECTED = ExecutionType.REPLACED, ExecutionType.REJECTED
X_PREVENTED, EXPIRED_IN_MATCH = ExecutionType.TRADE_PREVENTION, OrderStatus.EXPIRED_IN_MATCH
STP_NONE, EXPIRE_MAKER, EXPIRE_TAKER = StpMode.NONE, StpMode.EXPIRE_MAKER, StpMode.EXPIRE_TAKER
EXPIRE_BOTH, TRANSFER, DECREMENT = StpMode.EXPIRE_BOTH, StpMode.TRANSFER, StpMode.DECREMENT
NO_STP = (-1, 0, -1)  # no prevented match: (prevented_match_id, last_prevented, counter order)
NO_EXPIRY = ExpiryReason.NONE
NO_LIQUIDITY = ExpiryReason.INSUFFICIENT_LIQUIDITY
FOK_EXPIRED = ExpiryReason.UNFILLED_FOK_ORDER_EXPIRED
IOC_EXPIRED = ExpiryReason.UNFILLED_IOC_QUANTITY_EXPIRED
TRADING = SymbolStatus.TRADING
ONLY_NEW = CancelRestriction.ONLY_NEW
ONLY_PARTIAL = CancelRestriction.ONLY_PARTIALLY_FILLED

_TYPE_NAMES = {
    OrderType.LIMIT: "Limit orders",
    OrderType.MARKET: "Market orders",
    OrderType.LIMIT_MAKER: "Limit maker orders",
    OrderType.STOP_LOSS: "Stop loss orders",
    OrderType.STOP_LOSS_LIMIT: "Stop loss limit orders",
    OrderType.TAKE_PROFIT: "Take profit orders",
    OrderType.TAKE_PROFIT_LIMIT: "Take profit limit orders",
}

_new_tuple = tuple.__new__


EventSink = Callable[[list[ExecutionReport]], None]


class MatchingEngine:
    """Price-time priority matching for one symbol with the venue's filters and balances."""

    def __init__(
        self,
        instrument: Instrument,
        ledger: Ledger | None = None,
        *,
        reference_price: int | None = None,
        history: int = 10_000,
        on_events: EventSink | None = None,
        fees: FeeBook | None = None,
        exchange: ExchangeLimits | None = None,
    ) -> None:
        """`reference_price` (ticks) seeds the average price before the first trade;
        `history` bounds how many ended orders stay queryable; `on_events` receives every
        request's reports in order (the journal hook); `fees` is the venue's shared fee book
        (default: this symbol's flat makerCommission/takerCommission); `exchange` holds the
        venue's exchange-level filters, shared by its engines."""
        self.instrument = instrument
        self.ledger = ledger if ledger is not None else Ledger()
        if fees is not None and fees.ledger is not self.ledger:
            raise ValueError("the fee book must use the engine's ledger")
        self.fees = fees if fees is not None else FeeBook(None, self.ledger)
        self.fees.attach(instrument, self._last_price)
        self._flat_ref = FeeRef("", instrument)  # stands in for every account without a schedule
        self._fee_refs: dict[str, FeeRef] = {}
        self._ex = exchange
        self._symbol = instrument.symbol
        self.status = instrument.spec.status
        self.bids = BookSide(is_bid=True)
        self.asks = BookSide(is_bid=False)
        self.avg_price = AveragePrice(instrument.avg_price_mins, reference_price)
        self.on_events = on_events
        self.history = history
        self.seq = 0
        self.last_order_id = 0
        self.last_trade_id = 0
        self.traded_ticklots = 0  # price x quantity over every trade (metrics read it)
        self.last_prevented_match_id = -1
        self._open: dict[int, Order] = {}
        self._by_client: dict[tuple[str, str], Order] = {}
        self._open_count: dict[str, int] = {}
        self._key_open: dict[str | int, int] = {}  # open orders per tradeGroupId key
        self._done: dict[int, Order] = {}
        self._done_ids: deque[int] = deque()
        self._done_by_client: dict[tuple[str, str], Order] = {}
        self.stops = StopBook()
        self._algo_count: dict[str, int] = {}  # waiting stop orders per account
        self._trade_prices: list[int] = []  # prices traded since stops were last checked
        self._firing: set[int] = set()  # stops triggered by one price, not yet activated
        self.last_order_list_id = -1
        self._lists: dict[int, OrderList] = {}  # open order lists
        self._list_by_client: dict[tuple[str, str], OrderList] = {}
        self._ended_legs: list[Order] = []  # list legs that ended, for _settle_lists
        self._list_events: list[ListStatus] = []
        self._balances: dict[str, tuple[Balance, Balance]] = {}
        self._types = tuple(instrument.spec.orderTypes)  # `in` by identity: no enum hashing
        self._stp_default = instrument.spec.defaultSelfTradePreventionMode
        self._known = self.ledger.known  # the ledger's own set and dict, read on the hot path
        self._groups = self.ledger.trade_groups
        self._stp_allowed = tuple(instrument.spec.allowedSelfTradePreventionModes)
        self._band_ref: tuple[int, int] | None = None
        self._bid_band = self._ask_band = (0, 0)

    # ------------------------------------------------------------------ requests

    def submit(self, req: NewOrder, now: int) -> Ack | VenueError:
        """Place a new order at time `now` (ms). Returns its `Ack` or the venue's error."""
        error = self._check_filters(req, now)
        if error is not None:
            return error
        inst = self.instrument
        account, side, otype, qty, price, _, qoq, cid, stp, _, _ = req
        max_orders = inst.max_num_orders
        if max_orders is not None and self._open_count.get(account, 0) >= max_orders:
            return errors.filter_failure("MAX_NUM_ORDERS")
        if self._ex is not None:
            refused = self._ex.check(account, orders=1, algo=otype in STOP_TYPES)
            if refused is not None:
                return refused
        if cid is not None and (account, cid) in self._by_client:
            return errors.DUPLICATE_ORDER
        if otype is LIMIT_MAKER and self._crosses(side, price):
            return errors.WOULD_MATCH
        base, quote = self._account(account)
        if otype is LIMIT or otype is LIMIT_MAKER:
            if side is BUY:
                need = price * qty * inst.quote_per_ticklot
                if need > quote.free:
                    return errors.INSUFFICIENT_BALANCE
            else:
                need = qty * inst.base_per_lot
                if need > base.free:
                    return errors.INSUFFICIENT_BALANCE
            return self._accept(req, qty, need, base, quote, now)
        if otype is not MARKET:
            return self._submit_stop(req, base, quote, now)
        key, mode = self.ledger.stp_key(account), stp or self._stp_default
        if qoq:
            derived = self._quote_quantity(side, qoq, key, mode)
            if isinstance(derived, VenueError):
                return derived
            qty = derived
        need = self._market_cost(side, qty, qoq, key, mode)
        if need > (quote if side is BUY else base).free:
            return errors.INSUFFICIENT_BALANCE
        return self._accept(req, qty, need, base, quote, now)

    def _submit_stop(
        self, req: NewOrder, base: Balance, quote: Balance, now: int
    ) -> Ack | VenueError:
        """Checks that only stop orders have, then park the order until its trigger.

        It locks at placement what it may spend: a _LIMIT BUY its price x quantity, a market
        BUY its stop price (or the last price) x quantity, topped up at the trigger if the book
        then costs more; a SELL its quantity.
        """
        inst = self.instrument
        limit = inst.max_num_algo_orders
        if limit is not None and self._algo_count.get(req.account, 0) >= limit:
            return errors.filter_failure("MAX_NUM_ALGO_ORDERS")
        last = self.avg_price.last
        if (
            req.stop_price
            and last is not None
            and would_trigger(req.type, req.side, req.stop_price, last)
        ):
            return errors.WOULD_TRIGGER
        if req.side is SELL:
            need, bal = req.quantity * inst.base_per_lot, base
        else:
            at = req.price if req.type not in MARKET_STOPS else req.stop_price or last
            if at is None:
                return errors.NO_REFERENCE_PRICE
            need, bal = at * req.quantity * inst.quote_per_ticklot, quote
        if need > bal.free:
            return errors.INSUFFICIENT_BALANCE
        return self._park(req, need, base, quote, now)

    def check(self, req: NewOrder, now: int) -> VenueError | None:
        """What `submit` checks before it looks at the account: the request's shape, the symbol
        filters, and for LIMIT_MAKER whether it would match now. Changes nothing."""
        error = self._check_filters(req, now)
        if error is None and req.type is LIMIT_MAKER and self._crosses(req.side, req.price):
            return errors.WOULD_MATCH
        return error

    def _check_filters(self, req: NewOrder, now: int) -> VenueError | None:
        """The request's shape (enumerations, mandatory and forbidden parameters, integer types,
        account, symbol status), then the symbol filters that need no account state."""
        # in-process callers can put anything in a NamedTuple: check what the types promise
        fields: tuple[object, ...] = req
        _, side, otype, qty, price, tif, qoq, _, stp, stop_price, trailing = fields
        if side is not BUY and side is not SELL:
            return errors.INVALID_SIDE
        if not isinstance(otype, OrderType):
            return errors.INVALID_ORDER_TYPE
        if tif is not None and not isinstance(tif, TimeInForce):
            return errors.INVALID_TIF
        if type(price) is not int:
            return errors.invalid_parameter("price")
        if type(qty) is not int:
            return errors.invalid_parameter("quantity")
        if type(qoq) is not int:
            return errors.invalid_parameter("quoteOrderQty")
        stopish = stop_price or trailing
        if stopish:
            if type(stop_price) is not int or stop_price < 0:
                return errors.invalid_parameter("stopPrice")
            if type(trailing) is not int or trailing < 0:
                return errors.invalid_parameter("trailingDelta")
        if otype not in self._types:
            return errors.not_supported(_TYPE_NAMES[otype])
        if self.status is not TRADING:
            return errors.MARKET_CLOSED
        if stp is not None and stp not in self._stp_allowed:
            if isinstance(stp, StpMode):
                return errors.STP_MODE_NOT_ALLOWED
            return errors.invalid_parameter("selfTradePreventionMode")
        if otype is LIMIT or otype is LIMIT_MAKER:
            if otype is LIMIT and tif is None:
                return errors.mandatory_param("timeInForce")
            if otype is LIMIT_MAKER and tif is not None:
                return errors.TIF_NOT_REQUIRED
            if qoq:
                return errors.param_not_required("quoteOrderQty")
        elif otype is MARKET:
            if tif is not None:
                return errors.TIF_NOT_REQUIRED
            if price:
                return errors.param_not_required("price")
            if qty and qoq:
                return errors.UNSUPPORTED_COMBINATION
            if not qty and not qoq:
                return errors.one_of_params("quantity", "quoteOrderQty")
            if qoq:
                if qoq < 0:
                    return errors.invalid_parameter("quoteOrderQty")
                if not self.instrument.spec.quoteOrderQtyMarketAllowed:
                    return errors.not_supported("Quote order qty market orders")
        elif otype in STOP_TYPES:
            if not stop_price and not trailing:
                return errors.one_of_params("stopPrice", "trailingDelta")
            if qoq:
                return errors.param_not_required("quoteOrderQty")
            if otype in MARKET_STOPS:
                if tif is not None:
                    return errors.TIF_NOT_REQUIRED
                if price:
                    return errors.param_not_required("price")
            elif tif is None:
                return errors.mandatory_param("timeInForce")
            if trailing and not self.instrument.spec.allowTrailingStop:
                return errors.not_supported("Trailing stop orders")
        if stopish and otype not in STOP_TYPES:
            if stop_price:
                return errors.param_not_required("stopPrice")
            return errors.param_not_required("trailingDelta")
        # the shape holds: the same fields with their types (one unpack, no attribute reads)
        account, side, otype, qty, price, tif, qoq, cid, stp, stop_price, trailing = req
        if cid is not None and (type(cid) is not str or CLIENT_ID_RE.match(cid) is None):
            return _bad_client_id("newClientOrderId", cid)
        if type(account) is not str or account not in self._known:
            return errors.UNKNOWN_ACCOUNT
        inst = self.instrument
        if stopish:
            if stop_price and (
                stop_price < inst.min_price or (inst.max_price and stop_price > inst.max_price)
            ):
                return errors.filter_failure("PRICE_FILTER")
            if trailing:
                bounds = inst.trailing_above if fires_on_rise(otype, side) else inst.trailing_below
                if bounds is not None and not bounds[0] <= trailing <= bounds[1]:
                    return errors.filter_failure("TRAILING_DELTA")
        market_like = otype is MARKET or otype is STOP_LOSS or otype is TAKE_PROFIT
        if not market_like:
            if price < inst.min_price or price <= 0 or (inst.max_price and price > inst.max_price):
                return errors.filter_failure("PRICE_FILTER")
            if inst.percent_filter is not None:
                ref = self.avg_price.reference(now)
                if ref is not None:
                    if ref != self._band_ref:
                        self._set_bands(ref)
                    low, high = self._bid_band if side is BUY else self._ask_band
                    if price < low or price > high:
                        return errors.filter_failure(inst.percent_filter)
        if qoq == 0:
            if qty < inst.min_qty or qty <= 0 or qty > inst.max_qty:
                return errors.filter_failure("LOT_SIZE")
            if market_like and (
                qty < inst.market_min_qty
                or (inst.market_max_qty and qty > inst.market_max_qty)
                or qty % inst.market_step
            ):
                return errors.filter_failure("MARKET_LOT_SIZE")
        if not market_like:  # NOTIONAL / MIN_NOTIONAL at the order's own price
            notional = price * qty
            lo, hi, legacy = inst.min_notional, inst.max_notional, inst.legacy_min_notional
            if (lo is not None and notional < lo) or (hi is not None and notional > hi):
                return errors.filter_failure("NOTIONAL")
            if legacy is not None and notional < legacy:
                return errors.filter_failure("MIN_NOTIONAL")
            return None
        if otype is not MARKET:
            return self._check_stop_notional(stop_price, qty, now)
        return self._check_market_notional(qty, qoq, now)

    def _check_stop_notional(self, stop_price: int, qty: int, now: int) -> VenueError | None:
        """NOTIONAL/MIN_NOTIONAL of a market-type stop, priced at its stop price (or, for a
        trailing order without one, at the average price), applied as to MARKET orders."""
        inst = self.instrument
        if stop_price:
            total, lots = stop_price, 1
        else:
            ref = self.avg_price.reference(now)
            if ref is None:
                return None
            total, lots = ref
        notional = qty * total
        lo = inst.min_notional if inst.min_notional_market else None
        hi = inst.max_notional if inst.max_notional_market else None
        if (lo is not None and notional < lo * lots) or (hi is not None and notional > hi * lots):
            return errors.filter_failure("NOTIONAL")
        legacy = inst.legacy_min_notional if inst.legacy_min_notional_market else None
        if legacy is not None and notional < legacy * lots:
            return errors.filter_failure("MIN_NOTIONAL")
        return None

    def cancel(self, req: CancelOrder, now: int) -> Ack | VenueError:
        """Cancel an open order by orderId and/or origClientOrderId."""
        bad = _bad_reference(req.account, req.order_id, req.orig_client_order_id)
        if bad is not None:
            return bad
        if req.account not in self._known:
            return errors.UNKNOWN_ACCOUNT
        new_cid = req.new_client_order_id
        if new_cid is not None and (
            type(new_cid) is not str or CLIENT_ID_RE.match(new_cid) is None
        ):
            return _bad_client_id("newClientOrderId", new_cid)
        restriction: object = req.restriction
        if restriction is not None and not isinstance(restriction, CancelRestriction):
            return errors.INVALID_CANCEL_RESTRICTIONS
        order = self._find_open(req)
        if isinstance(order, VenueError):
            return order
        if restriction is not None and (
            (restriction is ONLY_NEW and order.status is not NEW)
            or (restriction is ONLY_PARTIAL and order.status is not PARTIAL)
        ):
            return errors.CANCEL_RESTRICTED
        if order.list_id >= 0:
            out: list[ExecutionReport] = []
            self._cancel_list_legs(self._lists[order.list_id], new_cid, now, out)
            self._drain(now, out)
            return self._finish(order, now, out)
        leaves = order.leaves
        order.status = CANCELED
        order.leaves = 0
        if order.order_id in self.stops.orders:
            self.stops.remove(order)
            self._algo_done(order.account)
        else:
            (self.bids if order.side is BUY else self.asks).unlink(order, leaves)
        if order.locked:
            self._release(order)
        self._retire(order)
        self._remember(order)
        self.seq += 1
        head = order.head
        cancel_id = new_cid or f"cancel-{order.order_id}"
        report: ExecutionReport = _new_tuple(
            ExecutionReport,
            (*head[:3], cancel_id, *head[4:], self.seq, order.client_order_id, X_CANCELED,
             CANCELED, NO_EXPIRY, 0, 0, order.cum_qty, order.cum_quote, 0, "", -1, False,
             False, now, -1, order.prevented, 0, 0, -1),
        )  # fmt: skip
        return self._finish(order, now, [report])

    def cancel_all(self, account: str, now: int) -> list[Ack] | VenueError:
        """DELETE openOrders: cancel every open order of `account` on this symbol, oldest first."""
        if type(account) is not str or not self.ledger.knows(account):
            return errors.UNKNOWN_ACCOUNT
        ids = [o.order_id for o in self._open.values() if o.account == account]
        if not ids:
            return errors.UNKNOWN_ORDER
        acks = []
        for order_id in ids:
            ack = self.cancel(CancelOrder(account, order_id), now)
            assert isinstance(ack, Ack)
            acks.append(ack)
        return acks

    def amend(self, req: AmendOrder, now: int) -> Ack | VenueError:
        """Amend keep-priority: lower an open order's quantity without losing its queue place.

        The new quantity must be below the order's quantity. If it leaves nothing to work
        (at or below what already executed), the order ends EXPIRED, as the venue does.
        A leg of an order list can be amended too (amend FAQ): both legs of a live OCO pair
        share one quantity, so amending either amends both (the other keeps its client id);
        OTO working and pending legs are amended on their own. A new client id on a leg
        sends a listStatus UPDATED.
        """
        if not self.instrument.spec.amendAllowed:
            return errors.AMEND_NOT_SUPPORTED
        bad = _bad_reference(req.account, req.order_id, req.orig_client_order_id)
        if bad is not None:
            return bad
        if not self.ledger.knows(req.account):
            return errors.UNKNOWN_ACCOUNT
        new_qty, new_cid = req.new_qty, req.new_client_order_id
        if type(new_qty) is not int:
            return errors.invalid_parameter("newQty")
        if new_cid is not None and (
            type(new_cid) is not str or CLIENT_ID_RE.match(new_cid) is None
        ):
            return _bad_client_id("newClientOrderId", new_cid)
        if req.order_id is None and req.orig_client_order_id is None:
            return errors.one_of_params("orderId", "origClientOrderId")
        order = self._find_open(CancelOrder(req.account, req.order_id, req.orig_client_order_id))
        if isinstance(order, VenueError):
            return errors.AMEND_UNKNOWN_ORDER
        if new_qty == order.qty:
            return errors.AMEND_NO_CHANGE
        if new_qty > order.qty:
            return errors.AMEND_QTY_INCREASE
        if new_qty <= 0 or new_qty < self.instrument.min_qty:
            return errors.filter_failure("LOT_SIZE")
        limit = self.instrument.max_num_amends
        if limit is not None and order.amends >= limit:
            return errors.AMEND_TOO_MANY
        old_cid = order.client_order_id
        cid = new_cid if new_cid is not None else f"bot4-{order.order_id}-a{order.amends + 1}"
        if cid != old_cid and (order.account, cid) in self._by_client:
            return errors.AMEND_DUPLICATE
        lst = self._lists.get(order.list_id) if order.list_id >= 0 else None
        out: list[ExecutionReport] = []
        self._amend_leg(order, new_qty, cid, now, out)
        if lst is not None:
            if order in lst.oco and not lst.oco_done:
                for sibling in lst.oco:
                    if sibling is not order and sibling.order_id in self._open:
                        self._amend_leg(sibling, new_qty, sibling.client_order_id, now, out)
            if cid != old_cid:
                self._list_event(lst, now, out, ListStatusType.UPDATED)
            if self._ended_legs:
                self._drain(now, out)
        return self._finish(order, now, out)

    def _amend_leg(
        self, order: Order, new_qty: int, cid: str, now: int, out: list[ExecutionReport]
    ) -> None:
        """Lower one order's quantity in place and report it REPLACED (checks are done)."""
        old_cid = order.client_order_id
        cut = min(order.qty - new_qty, order.leaves)
        book = self.bids if order.side is BUY else self.asks
        parked = order.order_id in self.stops.orders
        pending = order.status is OrderStatus.PENDING_NEW
        working = order.leaves > cut
        if working:
            if parked:  # what a waiting stop locks is proportional to its quantity
                keep = order.locked * (order.leaves - cut) // order.leaves
                bal = order.quote_bal if order.side is BUY else order.base_bal
                bal.locked -= order.locked - keep
                bal.free += order.locked - keep
                order.locked = keep
            elif not pending:  # a PENDING_NEW leg has no lock and no place in the book
                book.levels[order.price].qty -= cut
                self._unlock(order, cut)
            order.leaves -= cut
        else:
            if parked:
                self.stops.remove(order)
                self._algo_done(order.account)
            else:
                book.unlink(order, order.leaves)
            order.leaves = 0
            order.status = EXPIRED
        order.qty = new_qty
        order.amends += 1
        del self._by_client[(order.account, old_cid)]
        order.client_order_id = cid
        self._by_client[(order.account, cid)] = order
        head = order.head
        order.head = (*head[:3], cid, *head[4:8], new_qty, *head[9:])
        if not working:
            self._release(order)
            self._retire(order)
            self._remember(order)
        self.seq += 1
        report: ExecutionReport = _new_tuple(
            ExecutionReport,
            (*order.head, self.seq, old_cid, X_REPLACED, order.status, NO_EXPIRY, 0, 0,
             order.cum_qty, order.cum_quote, 0, "", -1, False,
             working and not parked and not pending, now, -1, order.prevented, 0, 0, -1),
        )  # fmt: skip
        out.append(report)

    def cancel_replace(self, req: CancelReplace, now: int) -> CancelReplaceResult | VenueError:
        """Cancel an order, then place a new one (STOP_ON_FAILURE or ALLOW_FAILURE).

        The new order's shape and filters are checked first: a request that fails them does
        nothing and gets that error. The new order goes to the back of its price level.
        """
        if not self.instrument.spec.cancelReplaceAllowed:
            return errors.CANCEL_REPLACE_NOT_SUPPORTED
        mode: object = req.mode
        if not isinstance(mode, CancelReplaceMode):
            return errors.invalid_parameter("cancelReplaceMode")
        if req.cancel.account != req.new.account:
            return errors.invalid_parameter("account")
        error = self._check_filters(req.new, now)
        if error is not None:
            return error
        cancelled = self.cancel(req.cancel, now)
        if isinstance(cancelled, VenueError) and mode is CancelReplaceMode.STOP_ON_FAILURE:
            return CancelReplaceResult(cancelled, None)
        return CancelReplaceResult(cancelled, self.submit(req.new, now))

    # ------------------------------------------------------------------ order lists

    def submit_oco(self, req: NewOco, now: int) -> ListAck | VenueError:
        """POST orderList/oco: an above and a below leg; one activating expires the other."""
        if not self.instrument.spec.ocoAllowed:
            return errors.not_supported("OCO orders")
        error = lists.check_oco_legs(req.side, req.above, req.below)
        if error is not None:
            return error
        legs = [
            self._leg_request(req.account, req.side, req.quantity, leg, req.stp_mode)
            for leg in (req.above, req.below)
        ]
        error = self._check_list(legs, req.list_client_order_id, req.account, now)
        if error is not None:
            return error
        error = lists.check_oco_prices(req.above, req.below, self.avg_price.last)
        if error is not None:
            return error
        base, quote = self._account(req.account)
        need = self._pair_need(legs)
        if isinstance(need, VenueError):
            return need
        if need > (quote if req.side is BUY else base).free:
            return errors.INSUFFICIENT_BALANCE
        lst = self._new_list(req.list_client_order_id, req.account, ContingencyType.OCO)
        out: list[ExecutionReport] = []
        pair = [self._new_order(leg, leg.quantity, now, base, quote, lst.list_id) for leg in legs]
        lst.orders = lst.oco = pair
        self._place_pair(pair, now, out)
        self._list_event(lst, now, out)
        self._drain(now, out)
        return self._list_ack(lst, now, out)

    def submit_oto(self, req: NewOto, now: int) -> ListAck | VenueError:
        """POST orderList/oto: `pending` is placed only when `working` has completely filled."""
        if not self.instrument.spec.otoAllowed:
            return errors.not_supported("OTO orders")
        pending = req.pending
        if pending.type is MARKET and pending.quote_order_qty:
            return errors.PENDING_QUOTE_QTY
        return self._submit_triggering(req.working, [pending], req.list_client_order_id, now)

    def submit_otoco(self, req: NewOtoco, now: int) -> ListAck | VenueError:
        """POST orderList/otoco: an OCO pair placed when `working` has completely filled."""
        if not self.instrument.spec.otoAllowed or not self.instrument.spec.ocoAllowed:
            return errors.not_supported("OTOCO orders")
        error = lists.check_oco_legs(req.pending_side, req.above, req.below)
        if error is not None:
            return error
        account = req.working.account
        pair = [
            self._leg_request(account, req.pending_side, req.pending_quantity, leg, None)
            for leg in (req.above, req.below)
        ]
        if lists.check_oco_prices(req.above, req.below, None) is not None:
            return errors.BAD_PRICES
        return self._submit_triggering(req.working, pair, req.list_client_order_id, now)

    def cancel_list(self, req: CancelOrderList, now: int) -> ListAck | VenueError:
        """DELETE orderList: cancel every live leg; the list ends ALL_DONE."""
        if not self.ledger.knows(req.account):
            return errors.UNKNOWN_ACCOUNT
        if req.order_list_id is None and req.list_client_order_id is None:
            return errors.one_of_params("orderListId", "listClientOrderId")
        lst: OrderList | None
        if req.order_list_id is not None:
            lst = self._lists.get(req.order_list_id)
            if lst is not None and req.list_client_order_id not in (None, lst.client_id):
                lst = None
        else:
            lst = self._list_by_client.get((req.account, req.list_client_order_id or ""))
        if lst is None or lst.account != req.account:
            return errors.UNKNOWN_LIST
        out: list[ExecutionReport] = []
        self._cancel_list_legs(lst, req.new_client_order_id, now, out)
        self._drain(now, out)
        return self._list_ack(lst, now, out)

    def _leg_request(
        self, account: str, side: Side, qty: int, leg: ListLeg, stp: StpMode | None
    ) -> NewOrder:
        return NewOrder(
            account, side, leg.type, qty, leg.price, leg.time_in_force, 0,
            leg.client_order_id, stp, leg.stop_price, leg.trailing_delta,
        )  # fmt: skip

    def _check_list(
        self, legs: list[NewOrder], list_cid: str | None, account: str, now: int
    ) -> VenueError | None:
        """Every leg's own checks, plus the counts and ids a list adds up."""
        for leg in legs:
            error = self._check_filters(leg, now)
            if error is not None:
                return error
        if list_cid is not None:
            if CLIENT_ID_RE.match(list_cid) is None:
                return _bad_client_id("listClientOrderId", list_cid)
            if (account, list_cid) in self._list_by_client:
                return errors.DUPLICATE_LIST
        cids = [leg.client_order_id for leg in legs if leg.client_order_id is not None]
        if len(set(cids)) < len(cids) or any((account, c) in self._by_client for c in cids):
            return errors.DUPLICATE_ORDER
        inst = self.instrument
        limit = inst.max_num_orders
        if limit is not None and self._open_count.get(account, 0) + len(legs) > limit:
            return errors.filter_failure("MAX_NUM_ORDERS")
        limit = inst.max_num_order_lists
        if limit is not None:
            open_lists = sum(1 for lst in self._lists.values() if lst.account == account)
            if open_lists >= limit:
                return errors.filter_failure("MAX_NUM_ORDER_LISTS")
        algo = sum(1 for leg in legs if leg.type in STOP_TYPES)
        limit = inst.max_num_algo_orders
        if limit is not None and algo and self._algo_count.get(account, 0) + algo > limit:
            return errors.filter_failure("MAX_NUM_ALGO_ORDERS")
        if self._ex is not None:
            refused = self._ex.check(account, orders=len(legs), algo=algo, lists=1)
            if refused is not None:
                return refused
        last = self.avg_price.last
        for leg in legs:
            if leg.type is LIMIT_MAKER and self._crosses(leg.side, leg.price):
                return errors.WOULD_MATCH
            if (
                leg.type in STOP_TYPES
                and leg.stop_price
                and last is not None
                and would_trigger(leg.type, leg.side, leg.stop_price, last)
            ):
                return errors.WOULD_TRIGGER
        return None

    def _leg_need(self, leg: NewOrder) -> int | VenueError:
        """What one leg locks on its own (as a standalone order would)."""
        inst = self.instrument
        if leg.side is SELL:
            return leg.quantity * inst.base_per_lot
        if leg.type is MARKET:
            return self._market_cost(BUY, leg.quantity, 0, self.ledger.stp_key(leg.account),
                                     leg.stp_mode or self._stp_default)  # fmt: skip
        at = (
            leg.price
            if leg.type not in MARKET_STOPS
            else leg.stop_price or self.avg_price.last
        )
        if at is None:
            return errors.NO_REFERENCE_PRICE
        return at * leg.quantity * inst.quote_per_ticklot

    def _pair_need(self, legs: list[NewOrder]) -> int | VenueError:
        """An OCO pair locks once: the larger of its legs' needs (they never both execute)."""
        needs = [self._leg_need(leg) for leg in legs]
        for need in needs:
            if isinstance(need, VenueError):
                return need
        return max(n for n in needs if not isinstance(n, VenueError))

    def _new_list(self, client_id: str | None, account: str, kind: ContingencyType) -> OrderList:
        self.last_order_list_id += 1
        list_id = self.last_order_list_id
        lst = OrderList(list_id, client_id or f"bot4-list-{list_id}", account, kind)
        self._lists[list_id] = lst
        self._list_by_client[(account, lst.client_id)] = lst
        if self._ex is not None:
            self._ex.add(self._ex.lists, account, 1)
        return lst

    def _lock(self, order: Order, amount: int) -> None:
        bal = order.quote_bal if order.side is BUY else order.base_bal
        bal.free -= amount
        bal.locked += amount
        order.locked += amount

    def _place_pair(
        self, pair: list[Order], now: int, out: list[ExecutionReport], registered: bool = False
    ) -> None:
        """Lock an OCO pair once and put its legs to work: the book, or the stop book.

        The leg that is not a stop loss holds its own need; the stop-loss leg holds what the
        pair needs beyond that, and receives its sibling's lock when it triggers.
        """
        needs = [self._leg_need(self._as_request(o)) for o in pair]
        primary = 0 if pair[0].type not in STOP_LOSSES else 1
        own = needs[primary]
        total = max(n for n in needs if not isinstance(n, VenueError))
        assert not isinstance(own, VenueError)
        self._lock(pair[primary], own)
        self._lock(pair[1 - primary], total - own)
        for order in pair:
            if not registered:  # OTOCO's pending legs have been open since the list began
                self._register(order)
            self.seq += 1
            if order.type in STOP_TYPES:
                order.working_time = -1
                order.head = (*order.head[:11], -1, *order.head[12:])
                self.stops.add(order, self.avg_price.last)
                self._algo_added(order.account)
                out.append(self._event(order, X_NEW, NO_EXPIRY, now, False))
            else:
                (self.bids if order.side is BUY else self.asks).add(order)
                out.append(self._event(order, X_NEW, NO_EXPIRY, now, True))

    def _as_request(self, order: Order) -> NewOrder:
        return NewOrder(
            order.account, order.side, order.type, order.leaves, order.price, order.tif, 0,
            order.client_order_id, order.stp_mode, order.stop_price, order.trailing_delta,
        )  # fmt: skip

    def _submit_triggering(
        self, working: NewOrder, pending: list[NewOrder], list_cid: str | None, now: int
    ) -> ListAck | VenueError:
        """OTO and OTOCO: a working LIMIT/LIMIT_MAKER leg, pending legs placed when it fills."""
        if working.type not in lists.WORKING_TYPES:
            return errors.WORKING_TYPE_REJECTED
        if any(p.account != working.account for p in pending):
            return errors.invalid_parameter("account")
        error = self._check_list([working, *pending], list_cid, working.account, now)
        if error is not None:
            return error
        base, quote = self._account(working.account)
        need = self._leg_need(working)
        assert not isinstance(need, VenueError)
        if need > (quote if working.side is BUY else base).free:
            return errors.INSUFFICIENT_BALANCE
        lst = self._new_list(list_cid, working.account, ContingencyType.OTO)
        out: list[ExecutionReport] = []
        lead = self._new_order(working, working.quantity, now, base, quote, lst.list_id)
        legs = [self._new_order(p, p.quantity, now, base, quote, lst.list_id) for p in pending]
        lst.working, lst.pending, lst.orders = lead, legs, [lead, *legs]
        if len(legs) == 2:
            lst.oco = legs
        self._lock(lead, need)
        self.seq += 1
        out.append(
            self._event(lead, X_NEW, NO_EXPIRY, now, lead.tif is GTC or lead.type is LIMIT_MAKER)
        )
        for leg in legs:
            leg.status = OrderStatus.PENDING_NEW
            leg.working_time = -1
            leg.head = (*leg.head[:11], -1, *leg.head[12:])
            self._register(leg)
            self.seq += 1
            out.append(self._event(leg, X_NEW, NO_EXPIRY, now, False))
        self._list_event(lst, now, out)
        self._register(lead)
        self._work(lead, now, out, registered=True)
        self._drain(now, out)
        return self._list_ack(lst, now, out)

    def _algo_added(self, account: str) -> None:
        self._algo_count[account] = self._algo_count.get(account, 0) + 1
        if self._ex is not None:
            self._ex.add(self._ex.algo, account, 1)

    def _algo_done(self, account: str) -> None:
        count = self._algo_count[account] - 1
        if count:
            self._algo_count[account] = count
        else:
            del self._algo_count[account]
        if self._ex is not None:
            self._ex.add(self._ex.algo, account, -1)

    def _drain(self, now: int, out: list[ExecutionReport]) -> None:
        """Work off what a request set in motion: stop triggers and list transitions."""
        while self._trade_prices or self._ended_legs:
            if self._trade_prices:
                self._fire_stops(now, out)
            if self._ended_legs:
                self._settle_lists(now, out)

    def _oco_activated(self, order: Order, now: int, out: list[ExecutionReport]) -> None:
        """One OCO leg activated (triggered, or filled at all): its sibling expires.

        A triggered leg takes over its sibling's lock; a filled limit leg lets it go.
        """
        lst = self._lists.get(order.list_id)
        if lst is None or lst.oco_done or order not in lst.oco:
            return
        lst.oco_done = True
        for sibling in lst.oco:
            if sibling is order or not sibling.leaves or sibling.status is OrderStatus.PENDING_NEW:
                continue
            self._expire_leg(sibling, ExpiryReason.OCO_TRIGGER, now, out, heir=order)

    def _expire_leg(
        self,
        order: Order,
        reason: ExpiryReason,
        now: int,
        out: list[ExecutionReport],
        heir: Order | None = None,
        status: OrderStatus = EXPIRED,
        client_order_id: str | None = None,
    ) -> None:
        """End a list leg (EXPIRED or CANCELED) wherever it waits; `heir` inherits its lock."""
        if order.order_id in self.stops.orders:
            self.stops.remove(order)
            self._algo_done(order.account)
        elif order.order_id in self._firing:  # triggered, not yet working: off every book
            self._firing.discard(order.order_id)
            self._algo_done(order.account)
        elif order.status is not OrderStatus.PENDING_NEW:
            (self.bids if order.side is BUY else self.asks).unlink(order, order.leaves)
        if heir is not None and heir.type in STOP_TYPES and order.locked:
            heir.locked += order.locked
            order.locked = 0
        order.status = status
        order.leaves = 0
        self._release(order)
        self._retire(order)
        self._remember(order)
        self.seq += 1
        if status is CANCELED:
            head = order.head
            cancel_id = client_order_id or f"cancel-{order.order_id}"
            out.append(
                _new_tuple(
                    ExecutionReport,
                    (*head[:3], cancel_id, *head[4:], self.seq, order.client_order_id,
                     X_CANCELED, CANCELED, NO_EXPIRY, 0, 0, order.cum_qty, order.cum_quote, 0,
                     "", -1, False, False, now, -1, order.prevented, 0, 0, -1),
                )
            )  # fmt: skip
        else:
            out.append(self._event(order, X_EXPIRED, reason, now, False))

    def _cancel_list_legs(
        self, lst: OrderList, new_cid: str | None, now: int, out: list[ExecutionReport]
    ) -> None:
        lst.oco_done = True
        for leg in lst.orders:
            if leg.order_id in self._open:
                self._expire_leg(leg, NO_EXPIRY, now, out, status=CANCELED, client_order_id=new_cid)

    def _settle_lists(self, now: int, out: list[ExecutionReport]) -> None:
        """After legs ended: release or expire OTO pending legs, end finished lists."""
        while self._ended_legs:
            leg = self._ended_legs.pop(0)
            lst = self._lists.get(leg.list_id)
            if lst is None:
                continue
            if leg is lst.working:
                if leg.status is FILLED:
                    self._release_pending(lst, now, out)
                else:
                    for pending in lst.pending:
                        if pending.order_id in self._open:
                            self._expire_leg(pending, ExpiryReason.OTO_PHASE_ONE_EXPIRED, now, out)
            elif leg in lst.oco and not lst.oco_done:
                lst.oco_done = True  # a leg ended without activating: the pair ends with it
                for sibling in lst.oco:
                    if sibling.order_id in self._open:
                        self._expire_leg(sibling, ExpiryReason.OCO_TRIGGER, now, out)
            if all(o.order_id not in self._open for o in lst.orders):
                lst.status = ListOrderStatus.ALL_DONE
                del self._lists[lst.list_id]
                del self._list_by_client[(lst.account, lst.client_id)]
                if self._ex is not None:
                    self._ex.add(self._ex.lists, lst.account, -1)
                self._list_event(lst, now, out)

    def _release_pending(self, lst: OrderList, now: int, out: list[ExecutionReport]) -> None:
        """The working leg filled: the pending leg(s) go to work, locking their funds now."""
        legs = [p for p in lst.pending if p.status is OrderStatus.PENDING_NEW]
        if not legs:
            return
        needs = [self._leg_need(self._as_request(p)) for p in legs]
        total = max((n for n in needs if not isinstance(n, VenueError)), default=None)
        refused = total is None or any(isinstance(n, VenueError) for n in needs)
        first = legs[0]
        wallet = first.quote_bal if first.side is BUY else first.base_bal
        crossing = [p for p in legs if p.type is LIMIT_MAKER and self._crosses(p.side, p.price)]
        if refused or crossing or (total is not None and total > wallet.free):
            for leg in legs:
                leg.status = OrderStatus.REJECTED
                leg.leaves = 0
                self._retire(leg)
                self._remember(leg)
                self.seq += 1
                out.append(self._event(leg, X_REJECTED, NO_EXPIRY, now, False))
            return
        for leg in legs:
            leg.status = NEW
            leg.working_time = now
            leg.head = (*leg.head[:11], now, *leg.head[12:])
        if len(legs) == 2:
            self._place_pair(legs, now, out, registered=True)
            return
        (leg,) = legs
        need = needs[0]
        assert not isinstance(need, VenueError)
        self._lock(leg, need)
        if leg.type in STOP_TYPES:
            self.stops.add(leg, self.avg_price.last)
            self._algo_added(leg.account)
            self.seq += 1
            out.append(self._event(leg, X_NEW, NO_EXPIRY, now, False))
            return
        self.seq += 1
        out.append(
            self._event(leg, X_NEW, NO_EXPIRY, now, leg.tif is GTC or leg.type is LIMIT_MAKER)
        )
        self._work(leg, now, out, registered=True)

    def _list_event(
        self,
        lst: OrderList,
        now: int,
        out: list[ExecutionReport],
        kind: ListStatusType | None = None,
    ) -> None:
        self._list_events.append(self._list_status(lst, now, kind))

    def _list_status(self, lst: OrderList, now: int, kind: ListStatusType | None) -> ListStatus:
        return ListStatus(
            self.seq, self.instrument.symbol, lst.list_id, lst.contingency,
            kind or lst.status_type(), lst.status, lst.client_id, now,
            tuple((o.order_id, o.client_order_id) for o in lst.orders),
        )  # fmt: skip

    def list_status(self, order_list_id: int, now: int) -> ListStatus | None:
        """An open order list as it stands (None once it has ended)."""
        lst = self._lists.get(order_list_id)
        return None if lst is None else self._list_status(lst, now, None)

    def _list_ack(self, lst: OrderList, now: int, out: list[ExecutionReport]) -> ListAck:
        if self.on_events is not None:
            self.on_events(out)
        statuses, self._list_events = tuple(self._list_events), []
        return ListAck(
            lst.list_id, lst.client_id, lst.contingency, lst.status,
            tuple(OrderView.of(o) for o in lst.orders), now, tuple(out), statuses,
        )  # fmt: skip

    # ------------------------------------------------------------------ queries

    def get_order(
        self, account: str, order_id: int | None = None, client_order_id: str | None = None
    ) -> OrderView | VenueError:
        """An order's current state (open, or ended within the last `history` orders)."""
        if order_id is None and client_order_id is None:
            return errors.one_of_params("orderId", "origClientOrderId")
        bad = _bad_reference(account, order_id, client_order_id)
        if bad is not None:
            return bad
        order: Order | None = None
        if order_id is not None:
            order = self._open.get(order_id) or self._done.get(order_id)
            if (
                order is not None
                and client_order_id is not None
                and order.client_order_id != client_order_id
            ):
                return errors.CLIENT_ORDER_ID_MISMATCH
        else:
            key = (account, client_order_id or "")
            order = self._by_client.get(key) or self._done_by_client.get(key)
        if order is None or order.account != account:
            return errors.NO_SUCH_ORDER
        return OrderView.of(order)

    def is_open(self, order_id: int) -> bool:
        """Whether the order is still working on the book."""
        return order_id in self._open

    def open_orders(self, account: str | None = None) -> list[OrderView]:
        """Open orders (of one account, or all), oldest first."""
        return [
            OrderView.of(o) for o in self._open.values() if account is None or o.account == account
        ]

    def depth(self, limit: int = 100) -> dict[str, list[tuple[int, int]]]:
        """Aggregated book: (price ticks, quantity lots), best first."""
        return {"bids": self.bids.depth(limit), "asks": self.asks.depth(limit)}

    def best_bid(self) -> int | None:
        return self.bids.best()

    def best_ask(self) -> int | None:
        return self.asks.best()

    def state_digest(self) -> str:
        """A hash of the whole symbol state: book in priority order, ids, counters, balances."""
        h = hashlib.sha256()
        h.update(
            f"{self.seq}|{self.last_order_id}|{self.last_trade_id}|{self.status.value}|"
            f"{self.last_prevented_match_id}|{self.last_order_list_id}\n".encode()
        )
        for order in self.bids.orders() + self.asks.orders():
            h.update(
                f"{order.order_id}|{order.client_order_id}|{order.account}|{order.side.value}|"
                f"{order.price}|{order.qty}|{order.leaves}|{order.cum_qty}|{order.cum_quote}|"
                f"{order.locked}|{order.status.value}|{order.stp_mode.value}|{order.stp_key}|"
                f"{order.prevented}|{order.list_id}\n".encode()
            )
        for order in self.stops.orders.values():
            h.update(
                f"stop|{order.order_id}|{order.client_order_id}|{order.account}|"
                f"{order.side.value}|{order.type.value}|{order.stop_price}|"
                f"{order.trailing_delta}|{order.trail_ref}|{order.leaves}|{order.locked}\n".encode()
            )
        for lst in self._lists.values():
            legs = ",".join(f"{o.order_id}:{o.status.value}" for o in lst.orders)
            h.update(f"list|{lst.list_id}|{lst.client_id}|{lst.oco_done}|{legs}\n".encode())
        h.update(repr(self.avg_price.state()).encode())
        h.update(self.ledger.digest().encode())
        return h.hexdigest()

    # ------------------------------------------------------------------ checks


    def _set_bands(self, ref: tuple[int, int]) -> None:
        """PERCENT_PRICE(_BY_SIDE) as inclusive tick ranges for the reference `ref`.

        ref*down <= price <= ref*up with ref = total/lots is, for an integer price,
        ceil(total*down/lots) <= price <= floor(total*up/lots): exact, computed once per
        reference rather than once per order.
        """
        inst = self.instrument
        total, lots = ref
        (bun, bud), (bdn, bdd) = inst.bid_up, inst.bid_down
        (aun, aud), (adn, add) = inst.ask_up, inst.ask_down
        self._bid_band = (-((-total * bdn) // (lots * bdd)), (total * bun) // (lots * bud))
        self._ask_band = (-((-total * adn) // (lots * add)), (total * aun) // (lots * aud))
        self._band_ref = ref

    def _check_market_notional(self, qty: int, qoq: int, now: int) -> VenueError | None:
        """NOTIONAL and MIN_NOTIONAL of a MARKET order, where they apply to market orders:
        its quoteOrderQty, or its quantity at the average price."""
        inst = self.instrument
        lo, hi, legacy = inst.min_notional, inst.max_notional, inst.legacy_min_notional
        lo = lo if inst.min_notional_market else None
        hi = hi if inst.max_notional_market else None
        legacy = legacy if inst.legacy_min_notional_market else None
        if lo is None and hi is None and legacy is None:
            return None
        if qoq:  # the notional is given: quote units against tick-lots
            per = inst.quote_per_ticklot
            if (lo is not None and qoq < lo * per) or (hi is not None and qoq > hi * per):
                return errors.filter_failure("NOTIONAL")
            if legacy is not None and qoq < legacy * per:
                return errors.filter_failure("MIN_NOTIONAL")
            return None
        ref = self.avg_price.reference(now)
        if ref is None:
            return errors.NO_REFERENCE_PRICE
        total, lots = ref
        notional = qty * total  # tick-lots x lots of the reference
        if (lo is not None and notional < lo * lots) or (hi is not None and notional > hi * lots):
            return errors.filter_failure("NOTIONAL")
        if legacy is not None and notional < legacy * lots:
            return errors.filter_failure("MIN_NOTIONAL")
        return None

    def _crosses(self, side: Side, price: int) -> bool:
        if side is BUY:
            best = self.asks.best()
            return best is not None and best <= price
        best = self.bids.best()
        return best is not None and best >= price

    def _liquidity(
        self, side: Side, limit: int | None, key: str | int, mode: StpMode
    ) -> Iterator[tuple[int, int, bool]]:
        """What a taker on `side` meets, in matching order: (price, quantity, is it its own).

        Own orders (same self-trade key) are reported one by one only when self-trade
        prevention applies to this taker; otherwise each level comes whole.
        """
        book = self.asks if side is BUY else self.bids
        prices = book.prices if side is BUY else reversed(book.prices)
        levels = book.levels
        # an account's own key is its name, counted in _open_count; groups in _key_open
        whole = mode is STP_NONE or (key not in self._open_count and key not in self._key_open)
        for price in prices:
            if limit is not None and ((price > limit) if side is BUY else (price < limit)):
                return
            level = levels[price]
            if whole:
                yield price, level.qty, False
            else:
                for order in level.orders:
                    if order.leaves:
                        yield price, order.leaves, order.stp_key == key

    def _quote_quantity(
        self, side: Side, qoq: int, key: str | int, mode: StpMode
    ) -> int | VenueError:
        """The lots a quoteOrderQty MARKET order takes: the most whose notional fits in qoq.

        With self-trade prevention, own orders the taker will skip (EXPIRE_MAKER) are left
        out; under the other modes they count as if they traded, so the order is sized by its
        quote and matching then prevents what it must (never spending more than qoq).
        """
        inst = self.instrument
        per = inst.quote_per_ticklot
        left, lots, liquidity = qoq, 0, 0
        for price, qty, own in self._liquidity(side, None, key, mode):
            if own and mode is EXPIRE_MAKER:
                continue
            liquidity += qty
            take = min(qty, left // (price * per))
            lots += take
            left -= take * price * per
            if take < qty:
                break
        step = inst.market_step
        if inst.market_max_qty:
            lots = min(lots, inst.market_max_qty)
        lots -= lots % step
        minimum = max(inst.min_qty, inst.market_min_qty, 1)
        if lots < minimum:
            if liquidity < minimum:
                name = "MARKET_LOT_SIZE" if inst.market_min_qty > inst.min_qty else "LOT_SIZE"
                return errors.liquidity_below_min(name)
            return errors.filter_failure("LOT_SIZE")
        return lots

    def _market_cost(self, side: Side, qty: int, qoq: int, key: str | int, mode: StpMode) -> int:
        """What a MARKET order locks: at least the quote it will spend (BUY), or the base (SELL).

        A BUY by quantity walks the book as its matching will (skipping the own orders that
        EXPIRE_MAKER expires); prevented quantity under DECREMENT is priced as if it traded,
        so the lock never falls short and the unspent rest is released when the order ends.
        """
        inst = self.instrument
        if side is SELL:
            return qty * inst.base_per_lot
        if qoq:
            return qoq
        left, cost = qty, 0
        for price, level_qty, own in self._liquidity(BUY, None, key, mode):
            if own:
                if mode is EXPIRE_MAKER:
                    continue
                if mode is EXPIRE_TAKER or mode is EXPIRE_BOTH:
                    break
            take = min(left, level_qty)
            cost += take * price
            left -= take
            if not left:
                break
        return cost * inst.quote_per_ticklot

    def _find_open(self, req: CancelOrder) -> Order | VenueError:
        order_id, cid = req.order_id, req.orig_client_order_id
        if order_id is None and cid is None:
            return errors.CANCEL_IDS_MISSING
        if order_id is not None:
            order = self._open.get(order_id)
            if order is not None and cid is not None and order.client_order_id != cid:
                return errors.UNKNOWN_ORDER
        else:
            order = self._by_client.get((req.account, cid or ""))
        if order is None or order.account != req.account:
            return errors.UNKNOWN_ORDER
        return order

    # ------------------------------------------------------------------ execution

    def _account(self, account: str) -> tuple[Balance, Balance]:
        """The account's base and quote balances (read-only until an order is accepted)."""
        pair = self._balances.get(account)
        if pair is None:
            inst = self.instrument
            pair = self._balances[account] = (
                self.ledger.balance(account, inst.base),
                self.ledger.balance(account, inst.quote),
            )
        return pair

    def _fee_ref(self, account: str) -> None:
        """Register the account with the fee book, once its first order here is accepted.

        Not when its balances are first read: a request refused after that (balance, a
        LIMIT_MAKER that would match) must leave the venue's fee state as it was."""
        if account not in self._fee_refs:
            self._fee_refs[account] = self.fees.ref(account, self.instrument)

    def _last_price(self) -> Fraction | None:
        """The last trade price as quote per base (for the fee book's conversions)."""
        last = self.avg_price.last
        return None if last is None else last * Fraction(self.instrument.tick)

    def _new_order(
        self, req: NewOrder, qty: int, now: int, base: Balance, quote: Balance, list_id: int = -1
    ) -> Order:
        """An Order object for an accepted request, with the next orderId (nothing locked)."""
        account, side, otype, _, price, tif, qoq, cid, stp, stop_price, trailing = req
        self._fee_ref(account)
        self.last_order_id += 1
        oid = self.last_order_id
        if cid is None:
            cid = f"bot4-{oid}"
            while (account, cid) in self._by_client:
                cid = "x" + cid
        return Order(
            oid, cid, account, side, otype, tif, price, qty, qoq, now,
            self._symbol, base, quote, stp or self._stp_default,
            self.ledger.stp_key(account), stop_price, trailing, list_id,
        )  # fmt: skip

    def _park(self, req: NewOrder, need: int, base: Balance, quote: Balance, now: int) -> Ack:
        """Accept a stop order: lock, then wait in the stop book for the trigger."""
        order = self._new_order(req, req.quantity, now, base, quote)
        self._lock(order, need)
        order.working_time = -1
        order.head = (*order.head[:11], -1, *order.head[12:])
        self._register(order)
        self.stops.add(order, self.avg_price.last)
        self._algo_added(order.account)
        self.seq += 1
        return self._finish(order, now, [self._event(order, X_NEW, NO_EXPIRY, now, False)])

    def _accept(
        self, req: NewOrder, qty: int, need: int, base: Balance, quote: Balance, now: int
    ) -> Ack:
        # `_new_order` and `_work`, inlined: this is the path of every plain order
        account, side, otype, _, price, tif, qoq, cid, stp, _, _ = req
        if account not in self._fee_refs:
            self._fee_ref(account)
        self.last_order_id += 1
        oid = self.last_order_id
        if cid is None:
            cid = f"bot4-{oid}"
            while (account, cid) in self._by_client:
                cid = "x" + cid
        order = Order(
            oid, cid, account, side, otype, tif, price, qty, qoq, now,
            self._symbol, base, quote, stp or self._stp_default,
            self._groups.get(account, account),
        )  # fmt: skip
        bal = quote if side is BUY else base
        bal.free -= need
        bal.locked += need
        order.locked = need
        rests = otype is LIMIT_MAKER or (otype is LIMIT and tif is GTC)
        self.seq += 1
        out = [self._event(order, X_NEW, NO_EXPIRY, now, rests)]
        if otype is MARKET:
            self._take(order, None, now, out)
        elif otype is LIMIT and (tif is not FOK or self._fillable(order)):
            best = self.asks.best() if side is BUY else self.bids.best()
            if best is not None and (best <= price if side is BUY else best >= price):
                self._take(order, price, now, out)
        if not order.leaves:
            self._release(order)
            self._remember(order)
        elif rests:
            (self.bids if side is BUY else self.asks).add(order)
            self._register(order)
        else:
            order.status = EXPIRED
            order.leaves = 0
            self.seq += 1
            reason = NO_LIQUIDITY if otype is MARKET else FOK_EXPIRED if tif is FOK else IOC_EXPIRED
            out.append(self._event(order, X_EXPIRED, reason, now, False))
            self._release(order)
            self._remember(order)
        if self._trade_prices or self._ended_legs:
            self._drain(now, out)
        return self._finish(order, now, out)

    def _work(self, order: Order, now: int, out: list[ExecutionReport], registered: bool) -> None:
        """Match a new (or just triggered) order, then rest it or expire what is left."""
        otype, side, tif, price = order.type, order.side, order.tif, order.price
        market_like = otype is MARKET or otype is STOP_LOSS or otype is TAKE_PROFIT
        rests = not market_like and (otype is LIMIT_MAKER or tif is GTC)
        if market_like:
            self._take(order, None, now, out)
        elif otype is not LIMIT_MAKER and (tif is not FOK or self._fillable(order)):
            best = self.asks.best() if side is BUY else self.bids.best()
            if best is not None and (best <= price if side is BUY else best >= price):
                self._take(order, price, now, out)
        if order.leaves:
            if rests:
                (self.bids if side is BUY else self.asks).add(order)
                if not registered:
                    self._register(order)
                return
            reason = NO_LIQUIDITY if market_like else FOK_EXPIRED if tif is FOK else IOC_EXPIRED
            order.status = EXPIRED
            order.leaves = 0
            self.seq += 1
            out.append(self._event(order, X_EXPIRED, reason, now, False))
        if registered:
            self._retire(order)
        self._release(order)
        self._remember(order)

    def _fire_stops(self, now: int, out: list[ExecutionReport]) -> None:
        """Trigger the stop orders that the trades since the last check reached, in order.

        A triggered order works at once (its own trades may trigger more).
        """
        while self._trade_prices:
            prices, self._trade_prices = self._trade_prices, []
            if not self.stops:
                return
            for price in prices:
                fired = self.stops.fire(price, now)
                firing = self._firing
                firing.update(o.order_id for o in fired)
                for order in fired:
                    # an earlier order of the batch may have ended this one (an OCO sibling)
                    if order.order_id in firing:
                        firing.discard(order.order_id)
                        self._activate(order, now, out)

    def _activate(self, order: Order, now: int, out: list[ExecutionReport]) -> None:
        """A stop order's trigger: it starts working as its MARKET or LIMIT order."""
        self._algo_done(order.account)
        if order.list_id >= 0:
            self._oco_activated(order, now, out)
        order.working_time = now
        order.head = (*order.head[:11], now, *order.head[12:])
        if order.type in MARKET_STOPS and order.side is BUY:
            key, mode = order.stp_key, order.stp_mode
            cost = self._market_cost(BUY, order.leaves, 0, key, mode)
            extra = cost - order.locked
            if extra > 0:
                if extra > order.quote_bal.free:
                    order.status = OrderStatus.REJECTED
                    order.leaves = 0
                    self._retire(order)
                    self._release(order)
                    self._remember(order)
                    self.seq += 1
                    out.append(self._event(order, X_REJECTED, NO_EXPIRY, now, False))
                    return
                order.quote_bal.free -= extra
                order.quote_bal.locked += extra
                order.locked += extra
        self.seq += 1
        working = order.type not in MARKET_STOPS and order.tif is GTC
        out.append(self._event(order, X_NEW, NO_EXPIRY, now, working))
        self._work(order, now, out, registered=True)

    def _fillable(self, order: Order) -> bool:
        """FOK: can the whole quantity execute now within the limit price?

        A prevented self-trade on the way (other than a maker skipped by EXPIRE_MAKER) means
        the taker loses quantity without executing it, so it cannot fill entirely.
        """
        need, mode = order.leaves, order.stp_mode
        for _, qty, own in self._liquidity(order.side, order.price, order.stp_key, mode):
            if own:
                if mode is EXPIRE_MAKER:
                    continue
                return False
            need -= qty
            if need <= 0:
                return True
        return False

    def _take(self, taker: Order, limit: int | None, now: int, out: list[ExecutionReport]) -> None:
        """Match `taker` against the opposite side while it crosses; makers' price, FIFO.

        The hot loop: balances are the orders' own references, simple fees are summed in
        locals (other fees go through `FeeBook.charge`), and reports are built inline from
        each order's `head`.
        """
        inst = self.instrument
        per_ticklot, per_lot = inst.quote_per_ticklot, inst.base_per_lot
        fee_book = self.fees
        if now >= fee_book.next_roll:
            fee_book.roll(now)
        refs, charge = self._fee_refs, fee_book.charge
        flat = fee_book.schedule is None  # every account pays the symbol's own rates
        (maker_num, maker_den), (taker_num, taker_den) = inst.maker_rate, inst.taker_rate
        if flat:
            t_simple = True
            t_ref = m_ref = self._flat_ref
        else:
            t_ref = m_ref = refs[taker.account]
            t_simple = t_ref.simple
            taker_num, taker_den = t_ref.taker
        buying = taker.side is BUY
        book = self.asks if buying else self.bids
        prices, levels = book.prices, book.levels
        t_base, t_quote, t_head = taker.base_bal, taker.quote_bal, taker.head
        if buying:
            t_recv, m_recv = inst.base, inst.quote
        else:
            t_recv, m_recv = inst.quote, inst.base
        t_asset = t_recv
        t_volume = 0
        lock_price = limit if (buying and limit is not None) else None
        taker_rests = taker.tif is GTC
        t_key = taker.stp_key if taker.stp_mode is not STP_NONE else None
        t_fees = m_fees = traded = 0
        seq, trade_id = self.seq, self.last_trade_id
        append = out.append
        record = self.avg_price.record
        stops = self.stops.orders
        while taker.leaves and prices:
            price = prices[0] if buying else prices[-1]
            if limit is not None and ((price > limit) if buying else (price < limit)):
                break
            level = levels[price]
            orders = level.orders
            level_fill = 0
            while taker.leaves and orders:
                maker = orders[0]
                if not maker.leaves:
                    orders.popleft()
                    continue
                if maker.stp_key == t_key:
                    self.seq = seq
                    self._prevent(taker, maker, level, now, out)
                    seq = self.seq
                    continue
                fill = min(taker.leaves, maker.leaves)
                level_fill += fill
                notional = price * fill
                quote_units = notional * per_ticklot
                base_units = fill * per_lot
                if not flat:
                    t_volume += quote_units
                    m_ref = refs[maker.account]
                    m_ref.volume += quote_units
                    maker_num, maker_den = m_ref.maker
                taker.leaves -= fill
                taker.cum_qty += fill
                taker.cum_quote += notional
                maker.leaves -= fill
                maker.cum_qty += fill
                maker.cum_quote += notional
                if buying:
                    release = lock_price * fill * per_ticklot if lock_price else quote_units
                    t_quote.locked -= release
                    t_quote.free += release - quote_units
                    taker.locked -= release
                    if t_simple:
                        t_fee = -((-base_units * taker_num) // taker_den)
                        t_base.free += base_units - t_fee
                        t_fees += t_fee
                    else:
                        t_fee, t_asset = charge(t_ref, False, True, base_units, quote_units, t_base)
                    maker.base_bal.locked -= base_units
                    maker.locked -= base_units
                    if flat or m_ref.simple:
                        m_fee = -((-quote_units * maker_num) // maker_den)
                        maker.quote_bal.free += quote_units - m_fee
                        m_fees += m_fee
                        m_asset = m_recv
                    else:
                        m_fee, m_asset = charge(
                            m_ref, True, False, base_units, quote_units, maker.quote_bal
                        )
                else:
                    t_base.locked -= base_units
                    taker.locked -= base_units
                    if t_simple:
                        t_fee = -((-quote_units * taker_num) // taker_den)
                        t_quote.free += quote_units - t_fee
                        t_fees += t_fee
                    else:
                        t_fee, t_asset = charge(
                            t_ref, False, False, base_units, quote_units, t_quote
                        )
                    maker.quote_bal.locked -= quote_units
                    maker.locked -= quote_units
                    if flat or m_ref.simple:
                        m_fee = -((-base_units * maker_num) // maker_den)
                        maker.base_bal.free += base_units - m_fee
                        m_fees += m_fee
                        m_asset = m_recv
                    else:
                        m_fee, m_asset = charge(
                            m_ref, True, True, base_units, quote_units, maker.base_bal
                        )
                trade_id += 1
                taker.status = FILLED if not taker.leaves else PARTIAL
                if maker.leaves:
                    maker.status = PARTIAL
                else:
                    maker.status = FILLED
                    level.count -= 1
                    orders.popleft()
                    if maker.locked:  # more than it spent: an inherited OCO or stop lock
                        self._release(maker)
                    self._retire(maker)
                    self._remember(maker)
                seq += 2
                append(
                    _new_tuple(
                        ExecutionReport,
                        (*t_head, seq - 1, "", X_TRADE, taker.status, NO_EXPIRY, fill, price,
                         taker.cum_qty, taker.cum_quote, t_fee, t_asset, trade_id, False,
                         taker_rests and taker.leaves > 0, now, -1, taker.prevented, 0, 0, -1),
                    )
                )  # fmt: skip
                append(
                    _new_tuple(
                        ExecutionReport,
                        (*maker.head, seq, "", X_TRADE, maker.status, NO_EXPIRY, fill, price,
                         maker.cum_qty, maker.cum_quote, m_fee, m_asset, trade_id, True,
                         maker.leaves > 0, now, -1, maker.prevented, 0, 0, -1),
                    )
                )  # fmt: skip
                if maker.list_id >= 0 and maker.cum_qty == fill:
                    self.seq = seq
                    self._oco_activated(maker, now, out)
                    seq = self.seq
            if level_fill:
                level.qty -= level_fill
                traded += level_fill * price
                record(now, price, level_fill)
                if stops:
                    self._trade_prices.append(price)
            if not level.count:
                book.drop(price)
        self.seq, self.last_trade_id = seq, trade_id
        self.traded_ticklots += traded
        if t_volume:
            t_ref.volume += t_volume
        if t_fees or m_fees:
            fees = self.ledger.fees
            fees[t_recv] = fees.get(t_recv, 0) + t_fees
            fees[m_recv] = fees.get(m_recv, 0) + m_fees

    def _prevent(
        self, taker: Order, maker: Order, level: Level, now: int, out: list[ExecutionReport]
    ) -> None:
        """Self-trade prevention between `taker` and `maker`, the front order of `level`.

        The taker's mode decides; TRANSFER needs both sides on TRANSFER and two accounts,
        otherwise it acts as DECREMENT. Expired orders end EXPIRED_IN_MATCH; each prevented
        match gets the symbol's next preventedMatchId and a TRADE_PREVENTION report for every
        order whose quantity it took.
        """
        mode = taker.stp_mode
        if mode is TRANSFER and (maker.stp_mode is not TRANSFER or maker.account == taker.account):
            mode = DECREMENT
        self.last_prevented_match_id += 1
        match_id = self.last_prevented_match_id
        price = level.price
        if mode is DECREMENT or mode is TRANSFER:
            taker_q = maker_q = min(taker.leaves, maker.leaves)
            if mode is TRANSFER:
                self._transfer(taker, maker, price, taker_q)
        else:
            taker_q = taker.leaves if mode is EXPIRE_TAKER or mode is EXPIRE_BOTH else 0
            maker_q = maker.leaves if mode is EXPIRE_MAKER or mode is EXPIRE_BOTH else 0
        unlock = mode is not TRANSFER
        if taker_q:
            self._take_away(taker, taker_q, unlock)
            self.seq += 1
            working = bool(taker.leaves) and taker.tif is GTC
            out.append(self._prevented(taker, taker_q, match_id, price, maker, False, working, now))
        if maker_q:
            self._take_away(maker, maker_q, unlock)
            level.qty -= maker_q
            if not maker.leaves:
                level.count -= 1
                level.orders.popleft()
                self._retire(maker)
                self._remember(maker)
                self._release(maker)
            self.seq += 1
            out.append(
                self._prevented(maker, maker_q, match_id, price, taker, True, maker.leaves > 0, now)
            )

    def _take_away(self, order: Order, qty: int, unlock: bool) -> None:
        """Remove prevented quantity from an order, releasing what it locked for it."""
        order.leaves -= qty
        order.prevented += qty
        if not order.leaves:
            order.status = EXPIRED_IN_MATCH
        if unlock:
            self._unlock(order, qty)

    def _unlock(self, order: Order, qty: int) -> None:
        """Release what an order locked for `qty` lots it will no longer trade."""
        if order.side is SELL:
            amount, bal = qty * self.instrument.base_per_lot, order.base_bal
        elif order.type is not MARKET:
            amount, bal = order.price * qty * self.instrument.quote_per_ticklot, order.quote_bal
        else:
            return  # a MARKET BUY's lock is an estimate: what is left goes back when it ends
        bal.locked -= amount
        bal.free += amount
        order.locked -= amount

    def _transfer(self, taker: Order, maker: Order, price: int, qty: int) -> None:
        """TRANSFER: the prevented quantity changes hands at the maker's price, with no fee."""
        inst = self.instrument
        base_units = qty * inst.base_per_lot
        quote_units = price * qty * inst.quote_per_ticklot
        buyer, seller = (taker, maker) if taker.side is BUY else (maker, taker)
        seller.base_bal.locked -= base_units
        seller.locked -= base_units
        seller.quote_bal.free += quote_units
        limit_lock = buyer.price * qty * inst.quote_per_ticklot
        lock = limit_lock if buyer.type is not MARKET else quote_units
        buyer.quote_bal.locked -= lock
        buyer.locked -= lock
        buyer.quote_bal.free += lock - quote_units
        buyer.base_bal.free += base_units

    def _prevented(
        self,
        order: Order,
        qty: int,
        match_id: int,
        price: int,
        counter: Order,
        is_maker: bool,
        working: bool,
        now: int,
    ) -> ExecutionReport:
        report: ExecutionReport = _new_tuple(
            ExecutionReport,
            (*order.head, self.seq, "", X_PREVENTED, order.status, NO_EXPIRY, 0, 0,
             order.cum_qty, order.cum_quote, 0, "", -1, is_maker, working, now, match_id,
             order.prevented, qty, price, counter.order_id),
        )  # fmt: skip
        return report

    def _register(self, order: Order) -> None:
        """Count an order as open (on the book, or waiting for its stop trigger)."""
        self._open[order.order_id] = order
        self._by_client[(order.account, order.client_order_id)] = order
        self._open_count[order.account] = self._open_count.get(order.account, 0) + 1
        if self._ex is not None:
            self._ex.add(self._ex.orders, order.account, 1)
        key = order.stp_key
        if key is not order.account:
            self._key_open[key] = self._key_open.get(key, 0) + 1

    def _retire(self, order: Order) -> None:
        """Forget an order that has left the book."""
        if order.list_id >= 0:
            self._ended_legs.append(order)
        del self._open[order.order_id]
        del self._by_client[(order.account, order.client_order_id)]
        count = self._open_count[order.account] - 1
        if count:
            self._open_count[order.account] = count
        else:
            del self._open_count[order.account]
        if self._ex is not None:
            self._ex.add(self._ex.orders, order.account, -1)
        key = order.stp_key
        if key is not order.account:
            count = self._key_open[key] - 1
            if count:
                self._key_open[key] = count
            else:
                del self._key_open[key]

    def _remember(self, order: Order) -> None:
        """Keep an ended order queryable, evicting the oldest beyond `history`."""
        self._done[order.order_id] = order
        self._done_by_client[(order.account, order.client_order_id)] = order
        ids = self._done_ids
        ids.append(order.order_id)
        if len(ids) > self.history:
            old = self._done.pop(ids.popleft())
            key = (old.account, old.client_order_id)
            if self._done_by_client.get(key) is old:
                del self._done_by_client[key]

    def _release(self, order: Order) -> None:
        """Return whatever is still locked for an order that has ended."""
        left = order.locked
        if left:
            bal = order.quote_bal if order.side is BUY else order.base_bal
            bal.locked -= left
            bal.free += left
            order.locked = 0

    def _finish(self, order: Order, now: int, out: list[ExecutionReport]) -> Ack:
        if self.on_events is not None:
            self.on_events(out)
        statuses: tuple[ListStatus, ...] = ()
        if self._list_events:
            statuses, self._list_events = tuple(self._list_events), []
        ack: Ack = _new_tuple(
            Ack,
            (order.order_id, order.client_order_id, order.status, order.cum_qty,
             order.cum_quote, now, tuple(out), statuses),
        )  # fmt: skip
        return ack

    def _event(
        self, order: Order, exec_type: ExecutionType, expiry: ExpiryReason, now: int, working: bool
    ) -> ExecutionReport:
        """A report that is not a trade (NEW, EXPIRED), numbered with the current `seq`."""
        report: ExecutionReport = _new_tuple(
            ExecutionReport,
            (*order.head, self.seq, "", exec_type, order.status, expiry, 0, 0, order.cum_qty,
             order.cum_quote, 0, "", -1, False, working, now, -1, order.prevented, 0, 0, -1),
        )  # fmt: skip
        return report


def _bad_client_id(name: str, value: object) -> VenueError:
    if type(value) is not str:
        return errors.invalid_parameter(name)
    if value == "":
        return errors.EMPTY_NEW_CL_ORD_ID
    return errors.illegal_chars(name, CLIENT_ID_PATTERN)


def _bad_reference(account: object, order_id: object, client_order_id: object) -> VenueError | None:
    """In-process callers can put anything in a request: an account that is not a string, an
    orderId that is not an int (a float 1.0 would find order 1), a client id that is not a
    string is refused with a typed error, never a TypeError."""
    if type(account) is not str:
        return errors.UNKNOWN_ACCOUNT
    if order_id is not None and type(order_id) is not int:
        return errors.invalid_parameter("orderId")
    if client_order_id is not None and type(client_order_id) is not str:
        return errors.invalid_parameter("origClientOrderId")
    return None
