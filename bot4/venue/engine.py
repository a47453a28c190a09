"""The matching engine of one symbol: Binance Spot rules over integer ticks, lots and units.

One engine owns one symbol's book and is its single writer. Every request is checked in the
venue's order (request shape, PRICE_FILTER, PERCENT_PRICE(_BY_SIDE), LOT_SIZE and
MARKET_LOT_SIZE, NOTIONAL and MIN_NOTIONAL, MAX_NUM_ORDERS, duplicate client id, balance); a
refused request returns a `VenueError` and changes nothing. An accepted one produces execution
reports numbered by `seq`, strictly increasing with no gaps. Time is an argument: the engine
reads no clock and draws no random number, so the same requests give the same reports.

The engine is one class built in layers, a module each, every layer calling only those below
it: `OrderState` (orderstate.py: what it holds, queries, digest, reports) < `RequestChecks`
(checks.py) < `Matching` (matching.py: crossing, settlement, STP; what a fill sets off goes
to the layer above through two declared hooks) < `ContingentOrders` (contingent.py: stops
and order lists) < `MatchingEngine` here, the front: submit, cancel, amend, cancel-replace.
"""

from __future__ import annotations

from bot4.core import errors
from bot4.core.accounts import Balance
from bot4.core.enums import (
    STOP_TYPES,
    CancelRestriction,
    ListStatusType,
)
from bot4.core.errors import VenueError
from bot4.core.events import ExecutionReport
from bot4.core.orders import (
    AmendOrder,
    CancelOrder,
    CancelReplace,
    NewOrder,
    Order,
)
from bot4.core.results import Ack, CancelReplaceResult
from bot4.venue.contingent import ContingentOrders
from bot4.venue.rules import (
    BUY,
    CANCELED,
    CLIENT_ID_RE,
    EXPIRED,
    FOK,
    FOK_EXPIRED,
    GTC,
    IOC_EXPIRED,
    LIMIT,
    LIMIT_MAKER,
    MARKET,
    NEW,
    NO_EXPIRY,
    NO_LIQUIDITY,
    ONLY_NEW,
    ONLY_PARTIAL,
    PARTIAL,
    X_CANCELED,
    X_EXPIRED,
    X_NEW,
    _bad_client_id,
    _bad_reference,
    _new_tuple,
    cancel_replace,
)


class MatchingEngine(ContingentOrders):
    """Price-time priority matching for one symbol with the venue's filters and balances."""

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

    def _accept(
        self, req: NewOrder, qty: int, need: int, base: Balance, quote: Balance, now: int
    ) -> Ack:
        """Place a plain order: lock `need`, match, rest or expire what is left, drain what
        the fills set off (stop triggers, list legs that ended), answer."""
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

    def cancel(self, req: CancelOrder, now: int) -> Ack | VenueError:
        """Cancel an open order by orderId and/or origClientOrderId."""
        bad = _bad_reference(req.account, req.order_id, req.orig_client_order_id)
        if bad is not None:
            return bad
        if req.account not in self._known:
            return errors.UNKNOWN_ACCOUNT
        new_cid = req.new_client_order_id
        if new_cid is not None and (
            type(new_cid) is not str or CLIENT_ID_RE.fullmatch(new_cid) is None
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
        """DELETE openOrders: cancel every open order of `account` on this symbol, oldest first.

        Cancelling a leg of an order list cancels the whole list (one answer for its legs)."""
        if type(account) is not str or not self.ledger.knows(account):
            return errors.UNKNOWN_ACCOUNT
        ids = [o.order_id for o in self._open.values() if o.account == account]
        if not ids:
            return errors.UNKNOWN_ORDER
        acks = []
        for order_id in ids:
            if order_id not in self._open:  # a list leg, cancelled with an earlier leg's list
                continue
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
            type(new_cid) is not str or CLIENT_ID_RE.fullmatch(new_cid) is None
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

    def cancel_replace(self, req: CancelReplace, now: int) -> CancelReplaceResult | VenueError:
        """Cancel an order, then place a new one (`rules.cancel_replace`)."""
        return cancel_replace(
            self.instrument.spec.cancelReplaceAllowed, self._check_filters, self.cancel,
            self.submit, req, now,
        )  # fmt: skip
