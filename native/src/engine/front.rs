//! The front (`bot4/venue/engine.py`): submit, cancel, cancel-all and amend keep-priority.

use super::checks::{bad_client_id, client_id_ok};
use super::{
    Ack, ClientId, CompactString, Engine, ExecType, Expiry, Extra, Order, OrderType, Refusal,
    Report, Restriction, Side, Status, Stp, Tif,
};
use crate::book::OrderRef;
use crate::ledger::{AccountId, Ledger};

/// A new-order request in engine units whose shape the Python edge has checked
/// (`bot4.core.orders.NewOrder`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRequest {
    pub account: CompactString,
    pub side: Side,
    pub otype: OrderType,
    pub quantity: i64,
    pub price: i64,
    pub tif: Option<Tif>,
    pub quote_order_qty: i64,
    pub client_order_id: Option<ClientId>,
    pub stp_mode: Option<Stp>,
    pub stop_price: i64,
    pub trailing_delta: i64,
}

/// Cancel by order id, by the original client id, or both (`bot4.core.orders.CancelOrder`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelRequest {
    pub account: CompactString,
    pub order_id: Option<i64>,
    pub orig_client_order_id: Option<ClientId>,
    pub new_client_order_id: Option<ClientId>,
    pub restriction: Option<Restriction>,
}

/// Amend keep-priority (`bot4.core.orders.AmendOrder`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmendRequest {
    pub account: CompactString,
    pub new_qty: i64,
    pub order_id: Option<i64>,
    pub orig_client_order_id: Option<ClientId>,
    pub new_client_order_id: Option<ClientId>,
}

impl Engine {
    /// Place a new order at time `now` (ms): its `Ack`, or the venue's refusal, which changes
    /// nothing.
    pub fn submit(
        &mut self,
        ledger: &mut Ledger,
        req: &NewRequest,
        now: i64,
    ) -> Result<Ack, Refusal> {
        let mut out = Vec::new();
        let r = self.submit_into(ledger, req, now, &mut out)?;
        Ok(self.finish(r, now, out))
    }

    /// `submit` with the reports appended to `out` (the batch reuses one buffer for every
    /// request) and the order's ref as the answer; the caller ends the request
    /// (`finish` or `end_request`).
    pub fn submit_into(
        &mut self,
        ledger: &mut Ledger,
        req: &NewRequest,
        now: i64,
        out: &mut Vec<Report>,
    ) -> Result<OrderRef, Refusal> {
        let account = self.check_filters(ledger, req, now)?;
        if self
            .rules
            .max_num_orders
            .is_some_and(|max| self.open_count(account) >= max)
        {
            return Err(Refusal::Call("filter_failure", "MAX_NUM_ORDERS"));
        }
        let algo = i64::from(super::checks::is_stop_type(req.otype));
        if let Some(name) = ledger.exchange_refusal(account, 1, algo, 0) {
            return Err(Refusal::Call("filter_failure", name));
        }
        if let Some(cid) = req.client_order_id.as_deref() {
            if self.client_id_taken(account, cid) {
                return Err(Refusal::Error("DUPLICATE_ORDER"));
            }
        }
        if req.otype == OrderType::LimitMaker && self.crosses(req.side, req.price) {
            return Err(Refusal::Error("WOULD_MATCH"));
        }
        let (base, quote) = self.account(ledger, account);
        let free = |bal| ledger.get(bal).free;
        let r = &self.rules;
        let (per_lot, per_ticklot) = (i128::from(r.base_per_lot), i128::from(r.quote_per_ticklot));
        let insufficient = Refusal::Error("INSUFFICIENT_BALANCE");
        if matches!(req.otype, OrderType::Limit | OrderType::LimitMaker) {
            let (need, bal) = match req.side {
                Side::Buy => (
                    (i128::from(req.price) * i128::from(req.quantity)).checked_mul(per_ticklot),
                    quote,
                ),
                Side::Sell => (i128::from(req.quantity).checked_mul(per_lot), base),
            };
            let need = need.ok_or(insufficient)?;
            if need > free(bal) {
                return Err(insufficient);
            }
            return Ok(self.accept(ledger, req, account, req.quantity, need, now, out));
        }
        if req.otype != OrderType::Market {
            return self.submit_stop(ledger, req, account, now, out);
        }
        let key = Self::stp_key_of(ledger, account);
        let mode = req.stp_mode.unwrap_or(r.default_stp);
        let mut qty = req.quantity;
        if req.quote_order_qty != 0 {
            qty = self.quote_quantity(req.side, req.quote_order_qty, key, mode)?;
        }
        let need = self
            .market_cost(req.side, qty, req.quote_order_qty, key, mode)
            .ok_or(insufficient)?;
        if need > free(if req.side == Side::Buy { quote } else { base }) {
            return Err(insufficient);
        }
        Ok(self.accept(ledger, req, account, qty, need, now, out))
    }

    /// A new order for an accepted request, with the next orderId (nothing locked yet).
    pub(super) fn new_order(
        &mut self,
        ledger: &mut Ledger,
        req: &NewRequest,
        account: AccountId,
        qty: i64,
        now: i64,
        list_id: i64,
    ) -> OrderRef {
        let (base_bal, quote_bal) = self.account(ledger, account);
        if self.scheduled() {
            self.fee_ref(ledger, account);
        }
        self.last_order_id += 1;
        let order_id = self.last_order_id;
        let cid = match &req.client_order_id {
            Some(c) => c.clone(),
            None => {
                let mut c = super::numbered("bot4-", order_id);
                while self.client_id_taken(account, &c) {
                    c.insert(0, 'x');
                }
                c
            }
        };
        let stp_mode = req.stp_mode.unwrap_or(self.rules.default_stp);
        let extra = Extra {
            quote_order_qty: req.quote_order_qty,
            list_id,
            stop_price: req.stop_price,
            trailing_delta: req.trailing_delta,
            group: ledger.group(account),
            ..Extra::PLAIN
        };
        self.store(Order::new(
            order_id,
            cid,
            account,
            (req.side, req.otype, req.tif, stp_mode),
            (req.price, qty, now),
            (base_bal, quote_bal),
            extra,
        ))
    }

    /// Place a plain order: lock `need`, match, rest or expire what is left, drain what the
    /// fills set off (stop triggers).
    #[allow(clippy::too_many_arguments)]
    fn accept(
        &mut self,
        ledger: &mut Ledger,
        req: &NewRequest,
        account: AccountId,
        qty: i64,
        need: i128,
        now: i64,
        out: &mut Vec<Report>,
    ) -> OrderRef {
        let r = self.new_order(ledger, req, account, qty, now, -1);
        let (otype, side, tif, price) = (req.otype, req.side, req.tif, req.price);
        self.lock(ledger, r, need);
        let rests =
            otype == OrderType::LimitMaker || (otype == OrderType::Limit && tif == Some(Tif::Gtc));
        self.seq += 1;
        out.push(self.event(r, ExecType::New, Expiry::None, now, rests));
        if otype == OrderType::Market {
            self.take(ledger, r, None, now, out);
        } else if otype == OrderType::Limit
            && (tif != Some(Tif::Fok) || self.fillable(r))
            && self.crosses(side, price)
        {
            self.take(ledger, r, Some(price), now, out);
        }
        if self.order(r).leaves == 0 {
            self.release(ledger, r);
            self.remember(r);
        } else if rests {
            let leaves = self.order(r).leaves;
            // a level's quantity is at most the sum of i64 orders the filters bound
            let _ = self.book(side).add(r, price, leaves);
            self.register(ledger, r);
        } else {
            self.end(r, Status::Expired);
            self.seq += 1;
            let reason = if otype == OrderType::Market {
                Expiry::NoLiquidity
            } else if tif == Some(Tif::Fok) {
                Expiry::FokExpired
            } else {
                Expiry::IocExpired
            };
            out.push(self.event(r, ExecType::Expired, reason, now, false));
            self.release(ledger, r);
            self.remember(r);
        }
        if !self.trade_prices.is_empty() || !self.ended_legs.is_empty() {
            self.drain(ledger, now, out);
        }
        r
    }

    /// The account's id if the ledger knows it.
    fn known(ledger: &Ledger, account: &str) -> Result<AccountId, Refusal> {
        match ledger.find_account(account) {
            Some(id) if ledger.is_known(id) => Ok(id),
            _ => Err(Refusal::Error("UNKNOWN_ACCOUNT")),
        }
    }

    /// Cancel an open order by orderId and/or origClientOrderId.
    pub fn cancel(
        &mut self,
        ledger: &mut Ledger,
        req: &CancelRequest,
        now: i64,
    ) -> Result<Ack, Refusal> {
        let mut out = Vec::new();
        let r = self.cancel_into(ledger, req, now, &mut out)?;
        Ok(self.finish(r, now, out))
    }

    /// `cancel` into the caller's report buffer (see `submit_into`).
    pub fn cancel_into(
        &mut self,
        ledger: &mut Ledger,
        req: &CancelRequest,
        now: i64,
        out: &mut Vec<Report>,
    ) -> Result<OrderRef, Refusal> {
        let account = Self::known(ledger, &req.account)?;
        let new_cid = req.new_client_order_id.as_deref();
        if let Some(c) = new_cid {
            if !client_id_ok(c) {
                return Err(bad_client_id("newClientOrderId", c));
            }
        }
        let r = self.find_open(account, req.order_id, req.orig_client_order_id.as_deref())?;
        let o = self.order(r);
        match req.restriction {
            Some(Restriction::OnlyNew) if o.status != Status::New => {
                return Err(Refusal::Error("CANCEL_RESTRICTED"));
            }
            Some(Restriction::OnlyPartial) if o.status != Status::PartiallyFilled => {
                return Err(Refusal::Error("CANCEL_RESTRICTED"));
            }
            _ => {}
        }
        let (leaves, side, price, order_id, owner, list_id) = (
            o.leaves,
            o.side,
            o.price,
            o.order_id,
            o.account,
            o.list_id(),
        );
        if list_id >= 0 {
            self.cancel_list_legs(ledger, list_id, new_cid, now, out);
            self.drain(ledger, now, out);
            return Ok(r);
        }
        self.end(r, Status::Canceled);
        if self.is_parked(order_id) {
            self.unpark(order_id);
            self.algo_done(ledger, owner);
        } else {
            self.unlink(side, price, leaves);
        }
        self.release(ledger, r);
        self.retire(ledger, r);
        self.remember(r);
        self.seq += 1;
        out.push(self.canceled(r, new_cid, now));
        Ok(r)
    }

    /// Take an ended order's `leaves` off its book level.
    pub(super) fn unlink(&mut self, side: Side, price: i64, leaves: i64) {
        let slab = &self.slab;
        let book = match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        };
        book.unlink(price, leaves, |o| slab.live(o));
    }

    /// DELETE openOrders: cancel every open order of `account` on this symbol, oldest first.
    pub fn cancel_all(
        &mut self,
        ledger: &mut Ledger,
        account: &str,
        now: i64,
    ) -> Result<Vec<Ack>, Refusal> {
        let id = Self::known(ledger, account)?;
        let ids: Vec<i64> = self
            .open_refs()
            .into_iter()
            .map(|r| self.order(r))
            .filter(|o| o.account == id)
            .map(|o| o.order_id)
            .collect();
        if ids.is_empty() {
            return Err(Refusal::Error("UNKNOWN_ORDER"));
        }
        let mut acks = Vec::with_capacity(ids.len());
        for order_id in ids {
            if !self.is_open(order_id) {
                continue; // a list leg, cancelled with an earlier leg's list
            }
            let req = CancelRequest {
                account: account.into(),
                order_id: Some(order_id),
                orig_client_order_id: None,
                new_client_order_id: None,
                restriction: None,
            };
            acks.push(self.cancel(ledger, &req, now)?);
        }
        Ok(acks)
    }

    /// Amend keep-priority: lower an open order's quantity without losing its place. At or
    /// below what already executed, the order ends EXPIRED, as the venue does.
    pub fn amend(
        &mut self,
        ledger: &mut Ledger,
        req: &AmendRequest,
        now: i64,
    ) -> Result<Ack, Refusal> {
        let mut out = Vec::new();
        let r = self.amend_into(ledger, req, now, &mut out)?;
        Ok(self.finish(r, now, out))
    }

    /// `amend` into the caller's report buffer (see `submit_into`).
    pub fn amend_into(
        &mut self,
        ledger: &mut Ledger,
        req: &AmendRequest,
        now: i64,
        out: &mut Vec<Report>,
    ) -> Result<OrderRef, Refusal> {
        let account = Self::known(ledger, &req.account)?;
        let (new_qty, order_id) = (req.new_qty, req.order_id);
        let (orig_cid, new_cid) = (
            req.orig_client_order_id.as_deref(),
            req.new_client_order_id.as_deref(),
        );
        if let Some(c) = new_cid {
            if !client_id_ok(c) {
                return Err(bad_client_id("newClientOrderId", c));
            }
        }
        if order_id.is_none() && orig_cid.is_none() {
            return Err(Refusal::Call2(
                "one_of_params",
                "orderId",
                "origClientOrderId",
            ));
        }
        let r = self
            .find_open(account, order_id, orig_cid)
            .map_err(|_| Refusal::Error("AMEND_UNKNOWN_ORDER"))?;
        let o = self.order(r);
        if new_qty == o.qty {
            return Err(Refusal::Error("AMEND_NO_CHANGE"));
        }
        if new_qty > o.qty {
            return Err(Refusal::Error("AMEND_QTY_INCREASE"));
        }
        if new_qty <= 0 || new_qty < self.rules.min_qty {
            return Err(Refusal::Call("filter_failure", "LOT_SIZE"));
        }
        if self
            .rules
            .max_num_amends
            .is_some_and(|limit| o.amends() >= limit)
        {
            return Err(Refusal::Error("AMEND_TOO_MANY"));
        }
        let old_cid = o.client_order_id.clone();
        let cid = match new_cid {
            Some(c) => ClientId::from(c),
            None => compact_str::format_compact!("bot4-{}-a{}", o.order_id, o.amends() + 1),
        };
        if cid != old_cid && self.client_id_taken(account, &cid) {
            return Err(Refusal::Error("AMEND_DUPLICATE"));
        }
        let list_id = o.list_id();
        self.amend_order(ledger, r, new_qty, cid.clone(), now, out);
        if list_id >= 0 {
            if let Some(lst) = self.lists.get(&list_id) {
                if lst.oco.contains(&r) && !lst.oco_done {
                    for sibling in lst.oco.clone() {
                        let s = self.order(sibling);
                        if sibling != r && self.is_open(s.order_id) {
                            let same = s.client_order_id.clone();
                            self.amend_order(ledger, sibling, new_qty, same, now, out);
                        }
                    }
                }
                if cid != old_cid {
                    self.list_event(list_id, now, Some(super::ListStatusType::Updated));
                }
                if !self.ended_legs.is_empty() {
                    self.drain(ledger, now, out);
                }
            }
        }
        Ok(r)
    }

    /// Lower one order's quantity in place and report it REPLACED (the checks are done).
    fn amend_order(
        &mut self,
        ledger: &mut Ledger,
        r: OrderRef,
        new_qty: i64,
        cid: ClientId,
        now: i64,
        out: &mut Vec<Report>,
    ) {
        let o = self.order(r);
        let old_cid = o.client_order_id.clone();
        let cut = (o.qty - new_qty).min(o.leaves);
        let (side, price, leaves, order_id, owner) =
            (o.side, o.price, o.leaves, o.order_id, o.account);
        let parked = self.is_parked(order_id);
        let pending = self.order(r).status == Status::PendingNew;
        let working = leaves > cut;
        if working {
            if parked {
                // what a waiting stop locks is proportional to its quantity
                let o = self.order_mut(r);
                let keep = o.locked() * i128::from(leaves - cut) / i128::from(leaves);
                let freed = o.locked() - keep;
                o.set_locked(keep);
                let bal = if side == Side::Buy {
                    o.quote_bal
                } else {
                    o.base_bal
                };
                let b = ledger.get_mut(bal);
                b.locked -= freed;
                b.free += freed;
            } else if !pending {
                // a PENDING_NEW leg has no lock and no place in the book
                if let Some(level) = self.book(side).level_mut(price) {
                    level.qty -= cut;
                }
                self.unlock(ledger, r, cut);
            }
            self.order_mut(r).leaves -= cut;
        } else {
            self.end(r, Status::Expired);
            if parked {
                self.unpark(order_id);
                self.algo_done(ledger, owner);
            } else {
                self.unlink(side, price, leaves);
            }
        }
        self.retire_client_id(r, cid.clone());
        let o = self.order_mut(r);
        o.qty = new_qty;
        o.extra_mut().amends += 1;
        if !working {
            self.release(ledger, r);
            self.retire(ledger, r);
            self.remember(r);
        }
        self.seq += 1;
        let mut report = self.report(r, ExecType::Replaced, now);
        report.orig_client_order_id = Some(old_cid);
        report.is_working = working && !parked && !pending;
        out.push(report);
    }
}
