"""Matching: crossing the book in price-time priority, each fill's settlement, and STP."""

from __future__ import annotations

from bot4.core.accounts import Balance
from bot4.core.events import ExecutionReport
from bot4.core.orders import (
    NewOrder,
    Order,
)
from bot4.core.results import Ack
from bot4.venue.book import Level
from bot4.venue.checks import RequestChecks
from bot4.venue.rules import (
    BUY,
    DECREMENT,
    EXPIRE_BOTH,
    EXPIRE_MAKER,
    EXPIRE_TAKER,
    EXPIRED,
    EXPIRED_IN_MATCH,
    FILLED,
    FOK,
    FOK_EXPIRED,
    GTC,
    IOC_EXPIRED,
    LIMIT_MAKER,
    MARKET,
    NO_EXPIRY,
    NO_LIQUIDITY,
    PARTIAL,
    SELL,
    STOP_LOSS,
    STP_NONE,
    TAKE_PROFIT,
    TRANSFER,
    X_EXPIRED,
    X_NEW,
    X_PREVENTED,
    X_TRADE,
    _new_tuple,
)


class Matching(RequestChecks):
    """Matching (under `ContingentOrders`): crossing, settlement and STP. It queues what fills
    set off (trade prices for the stop triggers, list legs that ended) for the layers above
    to drain (the front's plain-order path, the contingent layer); an OCO leg's fill ends its
    sibling at once, through the order state below."""

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
            if not maker.leaves and maker.list_id >= 0:
                self._oco_activated(maker, now, out, inherit=False)

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
