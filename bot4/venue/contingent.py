"""Contingent orders: stop triggers, and order lists (OCO, OTO, OTOCO) and their legs."""

from __future__ import annotations

from bot4.core import errors
from bot4.core.accounts import Balance
from bot4.core.enums import (
    MARKET_STOPS,
    STOP_LOSSES,
    STOP_TYPES,
    ContingencyType,
    ExpiryReason,
    ListOrderStatus,
    ListStatusType,
    OrderStatus,
    Side,
    StpMode,
)
from bot4.core.errors import VenueError
from bot4.core.events import ExecutionReport, ListStatus
from bot4.core.orders import (
    CancelOrderList,
    ListLeg,
    NewOco,
    NewOrder,
    NewOto,
    NewOtoco,
    Order,
    OrderView,
)
from bot4.core.results import Ack, ListAck
from bot4.venue import lists
from bot4.venue.lists import OrderList
from bot4.venue.matching import Matching
from bot4.venue.rules import (
    BUY,
    CANCELED,
    CLIENT_ID_RE,
    EXPIRED,
    FILLED,
    GTC,
    LIMIT_MAKER,
    MARKET,
    NEW,
    NO_EXPIRY,
    SELL,
    X_NEW,
    X_REJECTED,
    X_REPLACED,
    _bad_client_id,
    _new_tuple,
)
from bot4.venue.stops import would_trigger


class ContingentOrders(Matching):
    """Stops and order lists (under the engine's front, `MatchingEngine`)."""

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
        if type(req.account) is not str or not self.ledger.knows(req.account):
            return errors.UNKNOWN_ACCOUNT
        if req.order_list_id is None and req.list_client_order_id is None:
            return errors.one_of_params("orderListId", "listClientOrderId")
        # in-process callers can put anything in the tuple: a float id would find a list
        if req.order_list_id is not None and type(req.order_list_id) is not int:
            return errors.invalid_parameter("orderListId")
        list_cid, new_cid = req.list_client_order_id, req.new_client_order_id
        if list_cid is not None and type(list_cid) is not str:
            return errors.invalid_parameter("listClientOrderId")
        if new_cid is not None and (
            type(new_cid) is not str or CLIENT_ID_RE.fullmatch(new_cid) is None
        ):
            return _bad_client_id("newClientOrderId", new_cid)
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

    def _new_list(self, client_id: str | None, account: str, kind: ContingencyType) -> OrderList:
        self.last_order_list_id += 1
        list_id = self.last_order_list_id
        lst = OrderList(list_id, client_id or f"bot4-list-{list_id}", account, kind)
        self._lists[list_id] = lst
        self._list_by_client[(account, lst.client_id)] = lst
        if self._ex is not None:
            self._ex.add(self._ex.lists, account, 1)
        return lst

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

    def _drain(self, now: int, out: list[ExecutionReport]) -> None:
        """Work off what a request set in motion: stop triggers and list transitions."""
        while self._trade_prices or self._ended_legs:
            if self._trade_prices:
                self._fire_stops(now, out)
            if self._ended_legs:
                self._settle_lists(now, out)

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
