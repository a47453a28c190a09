"""Request checks: the venue's filters in its order, notional, liquidity, and order lookups."""

from __future__ import annotations

from collections.abc import Iterator

from bot4.core import errors
from bot4.core.enums import (
    MARKET_STOPS,
    STOP_TYPES,
    OrderType,
    Side,
    StpMode,
    SymbolStatus,
    TimeInForce,
)
from bot4.core.errors import VenueError
from bot4.core.instruments import Instrument
from bot4.core.orders import (
    CancelOrder,
    NewOrder,
    Order,
)
from bot4.venue.orderstate import OrderState
from bot4.venue.rules import (
    _TYPE_NAMES,
    BUY,
    CLIENT_ID_RE,
    EXPIRE_BOTH,
    EXPIRE_MAKER,
    EXPIRE_TAKER,
    LIMIT,
    LIMIT_MAKER,
    MARKET,
    SELL,
    STOP_LOSS,
    STP_NONE,
    TAKE_PROFIT,
    TRADING,
    _bad_client_id,
)
from bot4.venue.stops import fires_on_rise, would_trigger


def check_shape(
    req: NewOrder,
    instrument: Instrument,
    status: SymbolStatus,
    types: tuple[OrderType, ...],
    stp_allowed: tuple[StpMode, ...],
) -> VenueError | None:
    """A new order's shape, as both engine backends check it first: enumerations, mandatory
    and forbidden parameters, integer types, the symbol's order types, STP modes and status.
    In-process callers can put anything in a NamedTuple: this checks what the types promise."""
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
    if otype not in types:
        return errors.not_supported(_TYPE_NAMES[otype])
    if status is not TRADING:
        return errors.MARKET_CLOSED
    if stp is not None and stp not in stp_allowed:
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
            if not instrument.spec.quoteOrderQtyMarketAllowed:
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
        if trailing and not instrument.spec.allowTrailingStop:
            return errors.not_supported("Trailing stop orders")
    if stopish and otype not in STOP_TYPES:
        if stop_price:
            return errors.param_not_required("stopPrice")
        return errors.param_not_required("trailingDelta")
    return None


class RequestChecks(OrderState):
    """The engine's request checks (under `Matching`): filters, notional, liquidity, lookups."""

    def check(self, req: NewOrder, now: int) -> VenueError | None:
        """What `submit` checks before it looks at the account: the request's shape, the symbol
        filters, and for LIMIT_MAKER whether it would match now. Changes nothing."""
        error = self._check_filters(req, now)
        if error is None and req.type is LIMIT_MAKER and self._crosses(req.side, req.price):
            return errors.WOULD_MATCH
        return error

    def _check_filters(self, req: NewOrder, now: int) -> VenueError | None:
        """The request's shape (`check_shape`), then the symbol filters that need no account
        state."""
        error = check_shape(req, self.instrument, self.status, self._types, self._stp_allowed)
        if error is not None:
            return error
        # the shape holds: the same fields with their types (one unpack, no attribute reads)
        account, side, otype, qty, price, _, qoq, cid, _, stop_price, trailing = req
        stopish = stop_price or trailing
        if cid is not None and (type(cid) is not str or CLIENT_ID_RE.fullmatch(cid) is None):
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

    def _check_list(
        self, legs: list[NewOrder], list_cid: str | None, account: str, now: int
    ) -> VenueError | None:
        """Every leg's own checks, plus the counts and ids a list adds up."""
        for leg in legs:
            error = self._check_filters(leg, now)
            if error is not None:
                return error
        if list_cid is not None:
            if type(list_cid) is not str or CLIENT_ID_RE.fullmatch(list_cid) is None:
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
        at = leg.price if leg.type not in MARKET_STOPS else leg.stop_price or self.avg_price.last
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
