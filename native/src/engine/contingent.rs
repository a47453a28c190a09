//! Contingent orders (`bot4/venue/contingent.py`): stop-loss and take-profit orders waiting
//! for their trigger, and what a trigger sets off (the triggered order works at once, and
//! its own trades may trigger more).

use super::lists::{ListEvent, OrderList, check_oco_prices, level};
use super::{
    Contingency, Engine, ExecType, Expiry, ListAck, ListOrderStatus, ListStatusType, NewRequest,
    OrderType, Refusal, Report, Side, Status, Tif,
};
use crate::book::OrderRef;
use crate::ledger::{AccountId, Ledger};
use crate::stops::would_trigger;

/// Whether the stop price is above the market: STOP_LOSS BUY and TAKE_PROFIT SELL.
pub fn fires_on_rise(otype: OrderType, side: Side) -> bool {
    matches!(otype, OrderType::StopLoss | OrderType::StopLossLimit) == (side == Side::Buy)
}

/// A stop type that triggers into a MARKET order.
pub fn is_market_stop(otype: OrderType) -> bool {
    matches!(otype, OrderType::StopLoss | OrderType::TakeProfit)
}

impl Engine {
    /// The checks only stop orders have, then park the order until its trigger. It locks
    /// what it may spend: a _LIMIT BUY its price x quantity, a market BUY its stop price (or
    /// the last price) x quantity, topped up at the trigger if the book then costs more; a
    /// SELL its quantity.
    pub(super) fn submit_stop(
        &mut self,
        ledger: &mut Ledger,
        req: &NewRequest,
        account: AccountId,
        now: i64,
        out: &mut Vec<Report>,
    ) -> Result<OrderRef, Refusal> {
        if self
            .rules
            .max_num_algo_orders
            .is_some_and(|limit| self.algo_count(account) >= limit)
        {
            return Err(Refusal::Call("filter_failure", "MAX_NUM_ALGO_ORDERS"));
        }
        let last = self.avg_price().last();
        let rise = fires_on_rise(req.otype, req.side);
        if req.stop_price != 0 && last.is_some_and(|l| would_trigger(rise, req.stop_price, l)) {
            return Err(Refusal::Error("WOULD_TRIGGER"));
        }
        let (base, quote) = self.account(ledger, account);
        let insufficient = Refusal::Error("INSUFFICIENT_BALANCE");
        let (need, bal) = if req.side == Side::Sell {
            (
                i128::from(req.quantity).checked_mul(i128::from(self.rules.base_per_lot)),
                base,
            )
        } else {
            let at = if is_market_stop(req.otype) {
                match (req.stop_price, last) {
                    (0, None) => return Err(Refusal::Error("NO_REFERENCE_PRICE")),
                    (0, Some(l)) => l,
                    (p, _) => p,
                }
            } else {
                req.price
            };
            let need = (i128::from(at) * i128::from(req.quantity))
                .checked_mul(i128::from(self.rules.quote_per_ticklot));
            (need, quote)
        };
        let need = need.ok_or(insufficient)?;
        if need > ledger.get(bal).free {
            return Err(insufficient);
        }
        let r = self.new_order(ledger, req, account, req.quantity, now, -1);
        self.lock(ledger, r, need);
        let o = self.order_mut(r);
        o.working_time = -1;
        self.register(ledger, r);
        self.park(r);
        self.algo_added(ledger, account);
        self.seq += 1;
        out.push(self.event(r, ExecType::New, Expiry::None, now, false));
        Ok(r)
    }

    /// Work off what a request set in motion: stop triggers and list transitions.
    pub(super) fn drain(&mut self, ledger: &mut Ledger, now: i64, out: &mut Vec<Report>) {
        while !self.trade_prices.is_empty() || !self.ended_legs.is_empty() {
            if !self.trade_prices.is_empty() {
                self.fire_stops(ledger, now, out);
            }
            if !self.ended_legs.is_empty() {
                self.settle_lists(ledger, now, out);
            }
        }
    }

    /// Trigger the stop orders that the trades since the last check reached, in order.
    fn fire_stops(&mut self, ledger: &mut Ledger, now: i64, out: &mut Vec<Report>) {
        while !self.trade_prices.is_empty() {
            let prices = std::mem::take(&mut self.trade_prices);
            if self.stops.is_empty() {
                return;
            }
            for price in prices {
                let fired = self.stops.fire(price, now);
                let mut refs = Vec::with_capacity(fired.len());
                for (id, stop) in fired {
                    let id = id as i64;
                    let Some(&(_, r)) = self.parked_ids.get(&id) else {
                        continue;
                    };
                    self.forget_parked(id);
                    let o = self.order_mut(r);
                    o.extra_mut().trail_ref = stop.trail_ref;
                    o.extra_mut().trailing_time = stop.trailing_time;
                    self.firing.insert(id);
                    refs.push(r);
                }
                for r in refs {
                    // an earlier order of the batch may have ended this one
                    let id = self.order(r).order_id;
                    if self.firing.remove(&id) {
                        self.activate(ledger, r, now, out);
                    }
                }
            }
        }
    }

    /// A stop order's trigger: it starts working as its MARKET or LIMIT order.
    fn activate(&mut self, ledger: &mut Ledger, r: OrderRef, now: i64, out: &mut Vec<Report>) {
        let (account, list_id) = (self.order(r).account, self.order(r).list_id());
        self.algo_done(ledger, account);
        if list_id >= 0 {
            self.oco_activated(ledger, r, now, out);
        }
        self.order_mut(r).working_time = now;
        let o = self.order(r);
        if is_market_stop(o.otype) && o.side == Side::Buy {
            let (leaves, key, mode, locked, quote_bal) =
                (o.leaves, o.stp_key(), o.stp_mode, o.locked(), o.quote_bal);
            // the cost of the whole book is far inside 128 bits for i64 levels; a cost that
            // is not is more than any balance holds
            let cost = self
                .market_cost(Side::Buy, leaves, 0, key, mode)
                .unwrap_or(i128::MAX);
            let extra = cost - locked;
            if extra > 0 {
                if extra > ledger.get(quote_bal).free {
                    self.end(r, Status::Rejected);
                    self.retire(ledger, r);
                    self.release(ledger, r);
                    self.remember(r);
                    self.seq += 1;
                    out.push(self.event(r, ExecType::Rejected, Expiry::None, now, false));
                    return;
                }
                self.lock(ledger, r, extra);
            }
        }
        self.seq += 1;
        let o = self.order(r);
        let working = !is_market_stop(o.otype) && o.tif == Some(Tif::Gtc);
        out.push(self.event(r, ExecType::New, Expiry::None, now, working));
        self.work(ledger, r, now, out, true);
    }
}

/// POST orderList/oco in engine units: the two legs as new orders of the list's account,
/// side and quantity (`above` first), each already through its shape at the edge or
/// refused there (the refusal then comes at the leg's turn, as the venue orders checks).
#[derive(Debug, Clone)]
pub struct OcoRequest {
    pub legs: [Result<NewRequest, Refusal>; 2],
    pub list_client_order_id: Result<Option<String>, Refusal>,
}

/// POST orderList/oto and /otoco: the working leg and the pending one(s) (an OTOCO's pair,
/// `above` first), after the edge's checks of their types, accounts and prices.
#[derive(Debug, Clone)]
pub struct OtoRequest {
    pub working: Result<NewRequest, Refusal>,
    pub pending: Vec<Result<NewRequest, Refusal>>,
    pub list_client_order_id: Result<Option<String>, Refusal>,
}

/// DELETE orderList by orderListId and/or listClientOrderId.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelListRequest {
    pub account: String,
    pub order_list_id: Option<i64>,
    pub list_client_order_id: Option<String>,
    pub new_client_order_id: Option<String>,
}

impl Engine {
    /// Every leg's own checks, plus the counts and ids a list adds up. The legs, checked.
    fn check_list(
        &mut self,
        ledger: &Ledger,
        legs: &[&Result<NewRequest, Refusal>],
        list_cid: &Result<Option<String>, Refusal>,
        now: i64,
    ) -> Result<(Vec<NewRequest>, AccountId), Refusal> {
        let mut checked = Vec::with_capacity(legs.len());
        let mut account = 0;
        for leg in legs {
            let leg = (*leg).clone()?;
            account = self.check_filters(ledger, &leg, now)?;
            checked.push(leg);
        }
        let list_cid = list_cid.clone()?;
        if let Some(cid) = list_cid.as_deref() {
            if !super::checks::client_id_ok(cid) {
                return Err(super::checks::bad_client_id("listClientOrderId", cid));
            }
            if self
                .list_by_client
                .contains_key(&(account, std::sync::Arc::from(cid)))
            {
                return Err(Refusal::Error("DUPLICATE_LIST"));
            }
        }
        let cids: Vec<&str> = checked
            .iter()
            .filter_map(|l| l.client_order_id.as_deref())
            .collect();
        let mut unique = cids.clone();
        unique.sort_unstable();
        unique.dedup();
        if unique.len() < cids.len() || cids.iter().any(|c| self.client_id_taken(account, c)) {
            return Err(Refusal::Error("DUPLICATE_ORDER"));
        }
        let r = &self.rules;
        let n = checked.len() as i64;
        if r.max_num_orders
            .is_some_and(|limit| self.open_count(account) + n > limit)
        {
            return Err(Refusal::Call("filter_failure", "MAX_NUM_ORDERS"));
        }
        if let Some(limit) = r.max_num_order_lists {
            let open = self.lists.values().filter(|l| l.account == account).count() as i64;
            if open >= limit {
                return Err(Refusal::Call("filter_failure", "MAX_NUM_ORDER_LISTS"));
            }
        }
        let algo = checked
            .iter()
            .filter(|l| super::checks::is_stop_type(l.otype))
            .count() as i64;
        if algo > 0
            && r.max_num_algo_orders
                .is_some_and(|limit| self.algo_count(account) + algo > limit)
        {
            return Err(Refusal::Call("filter_failure", "MAX_NUM_ALGO_ORDERS"));
        }
        if let Some(name) = ledger.exchange_refusal(account, n, algo, 1) {
            return Err(Refusal::Call("filter_failure", name));
        }
        let last = self.avg_price().last();
        for leg in &checked {
            if leg.otype == OrderType::LimitMaker && self.crosses(leg.side, leg.price) {
                return Err(Refusal::Error("WOULD_MATCH"));
            }
            let rise = fires_on_rise(leg.otype, leg.side);
            if super::checks::is_stop_type(leg.otype)
                && leg.stop_price != 0
                && last.is_some_and(|l| would_trigger(rise, leg.stop_price, l))
            {
                return Err(Refusal::Error("WOULD_TRIGGER"));
            }
        }
        Ok((checked, account))
    }

    /// What one leg locks on its own (as a standalone order would); `None` beyond 128 bits.
    pub(super) fn leg_need(
        &self,
        leg: &NewRequest,
        key: super::StpKey,
    ) -> Result<Option<i128>, Refusal> {
        let r = &self.rules;
        if leg.side == Side::Sell {
            return Ok(i128::from(leg.quantity).checked_mul(i128::from(r.base_per_lot)));
        }
        if leg.otype == OrderType::Market {
            let mode = leg.stp_mode.unwrap_or(r.default_stp);
            return Ok(self.market_cost(Side::Buy, leg.quantity, 0, key, mode));
        }
        let at = if is_market_stop(leg.otype) {
            match (leg.stop_price, self.avg_price().last()) {
                (0, None) => return Err(Refusal::Error("NO_REFERENCE_PRICE")),
                (0, Some(l)) => l,
                (p, _) => p,
            }
        } else {
            leg.price
        };
        Ok(
            (i128::from(at) * i128::from(leg.quantity))
                .checked_mul(i128::from(r.quote_per_ticklot)),
        )
    }

    /// The request an order stands for now (its leaves as the quantity).
    fn as_request(&self, r: OrderRef, ledger: &Ledger) -> NewRequest {
        let o = self.order(r);
        NewRequest {
            account: ledger.account_name(o.account).into(),
            side: o.side,
            otype: o.otype,
            quantity: o.leaves,
            price: o.price,
            tif: o.tif,
            quote_order_qty: 0,
            client_order_id: Some(o.client_order_id.clone()),
            stp_mode: Some(o.stp_mode),
            stop_price: o.stop_price(),
            trailing_delta: o.trailing_delta(),
        }
    }

    fn new_list(
        &mut self,
        ledger: &mut Ledger,
        client_id: Option<&str>,
        account: AccountId,
        kind: Contingency,
    ) -> i64 {
        ledger.count_open(account, 0, 0, 1);
        self.last_order_list_id += 1;
        let list_id = self.last_order_list_id;
        let client_id: std::sync::Arc<str> = match client_id {
            Some(c) => std::sync::Arc::from(c),
            None => std::sync::Arc::from(format!("bot4-list-{list_id}")),
        };
        self.list_by_client
            .insert((account, client_id.clone()), list_id);
        self.lists.insert(
            list_id,
            OrderList {
                list_id,
                client_id,
                account,
                contingency: kind,
                orders: Vec::new(),
                working: None,
                pending: Vec::new(),
                oco: Vec::new(),
                oco_done: false,
                status: ListOrderStatus::Executing,
            },
        );
        list_id
    }

    /// POST orderList/oco: an above and a below leg; one activating expires the other.
    pub fn submit_oco(
        &mut self,
        ledger: &mut Ledger,
        req: &OcoRequest,
        now: i64,
    ) -> Result<ListAck, Refusal> {
        let [above, below] = &req.legs;
        let (legs, account) =
            self.check_list(ledger, &[above, below], &req.list_client_order_id, now)?;
        let high = level(legs[0].otype, legs[0].price, legs[0].stop_price);
        let low = level(legs[1].otype, legs[1].price, legs[1].stop_price);
        check_oco_prices(high, low, self.avg_price().last())?;
        let (base, quote) = self.account(ledger, account);
        let key = Self::stp_key_of(ledger, account);
        let mut need = 0i128;
        for leg in &legs {
            let n = self.leg_need(leg, key)?;
            need = need.max(n.ok_or(Refusal::Error("INSUFFICIENT_BALANCE"))?);
        }
        let wallet = if legs[0].side == Side::Buy {
            quote
        } else {
            base
        };
        if need > ledger.get(wallet).free {
            return Err(Refusal::Error("INSUFFICIENT_BALANCE"));
        }
        let cid = req.list_client_order_id.clone()?;
        let list_id = self.new_list(ledger, cid.as_deref(), account, Contingency::Oco);
        let mut out = Vec::new();
        let pair: Vec<OrderRef> = legs
            .iter()
            .map(|leg| self.new_order(ledger, leg, account, leg.quantity, now, list_id))
            .collect();
        if let Some(lst) = self.lists.get_mut(&list_id) {
            lst.orders = pair.clone();
            lst.oco = pair.clone();
        }
        self.place_pair(ledger, &pair, now, &mut out, false);
        self.list_event(list_id, now, None);
        self.drain(ledger, now, &mut out);
        Ok(self.list_ack(list_id, now, out))
    }

    /// Lock an OCO pair once and put its legs to work: the book, or the stop book. The leg
    /// that is not a stop loss holds its own need; the stop-loss leg holds what the pair
    /// needs beyond that, and receives its sibling's lock when it triggers.
    fn place_pair(
        &mut self,
        ledger: &mut Ledger,
        pair: &[OrderRef],
        now: i64,
        out: &mut Vec<Report>,
        registered: bool,
    ) {
        let needs: Vec<i128> = pair
            .iter()
            .map(|&r| {
                let req = self.as_request(r, ledger);
                let key = self.order(r).stp_key();
                // checked when the list was accepted (or released): a need exists and fits
                self.leg_need(&req, key).ok().flatten().unwrap_or(0)
            })
            .collect();
        let primary = usize::from(stop_loss_type(self.order(pair[0]).otype));
        let own = needs[primary];
        let total = needs.iter().copied().max().unwrap_or(0);
        self.lock(ledger, pair[primary], own);
        self.lock(ledger, pair[1 - primary], total - own);
        for &r in pair {
            if !registered {
                self.register(ledger, r);
            }
            self.seq += 1;
            let o = self.order(r);
            if super::checks::is_stop_type(o.otype) {
                let account = o.account;
                self.order_mut(r).working_time = -1;
                self.park(r);
                self.algo_added(ledger, account);
                out.push(self.event(r, ExecType::New, Expiry::None, now, false));
            } else {
                let (side, price, leaves) = (o.side, o.price, o.leaves);
                let _ = self.book(side).add(r, price, leaves);
                out.push(self.event(r, ExecType::New, Expiry::None, now, true));
            }
        }
    }

    /// OTO and OTOCO: a working LIMIT/LIMIT_MAKER leg, pending legs placed when it fills.
    pub fn submit_triggering(
        &mut self,
        ledger: &mut Ledger,
        req: &OtoRequest,
        now: i64,
    ) -> Result<ListAck, Refusal> {
        let mut all: Vec<&Result<NewRequest, Refusal>> = vec![&req.working];
        all.extend(req.pending.iter());
        let (legs, account) = self.check_list(ledger, &all, &req.list_client_order_id, now)?;
        let (base, quote) = self.account(ledger, account);
        let key = Self::stp_key_of(ledger, account);
        let working = &legs[0];
        let need = self
            .leg_need(working, key)?
            .ok_or(Refusal::Error("INSUFFICIENT_BALANCE"))?;
        let wallet = if working.side == Side::Buy {
            quote
        } else {
            base
        };
        if need > ledger.get(wallet).free {
            return Err(Refusal::Error("INSUFFICIENT_BALANCE"));
        }
        let cid = req.list_client_order_id.clone()?;
        let list_id = self.new_list(ledger, cid.as_deref(), account, Contingency::Oto);
        let mut out = Vec::new();
        let lead = self.new_order(ledger, working, account, working.quantity, now, list_id);
        let pending: Vec<OrderRef> = legs[1..]
            .iter()
            .map(|leg| self.new_order(ledger, leg, account, leg.quantity, now, list_id))
            .collect();
        if let Some(lst) = self.lists.get_mut(&list_id) {
            lst.working = Some(lead);
            lst.pending = pending.clone();
            lst.orders = std::iter::once(lead)
                .chain(pending.iter().copied())
                .collect();
            if pending.len() == 2 {
                lst.oco = pending.clone();
            }
        }
        self.lock(ledger, lead, need);
        self.seq += 1;
        let lead_order = self.order(lead);
        let rests = lead_order.tif == Some(Tif::Gtc) || lead_order.otype == OrderType::LimitMaker;
        out.push(self.event(lead, ExecType::New, Expiry::None, now, rests));
        for &leg in &pending {
            let o = self.order_mut(leg);
            o.status = Status::PendingNew;
            o.working_time = -1;
            self.register(ledger, leg);
            self.seq += 1;
            out.push(self.event(leg, ExecType::New, Expiry::None, now, false));
        }
        self.list_event(list_id, now, None);
        self.register(ledger, lead);
        self.work(ledger, lead, now, &mut out, true);
        self.drain(ledger, now, &mut out);
        Ok(self.list_ack(list_id, now, out))
    }

    /// DELETE orderList: cancel every live leg; the list ends ALL_DONE.
    pub fn cancel_list(
        &mut self,
        ledger: &mut Ledger,
        req: &CancelListRequest,
        now: i64,
    ) -> Result<ListAck, Refusal> {
        let account = match ledger.find_account(&req.account) {
            Some(id) if ledger.is_known(id) => id,
            _ => return Err(Refusal::Error("UNKNOWN_ACCOUNT")),
        };
        if req.order_list_id.is_none() && req.list_client_order_id.is_none() {
            return Err(Refusal::Call2(
                "one_of_params",
                "orderListId",
                "listClientOrderId",
            ));
        }
        if let Some(c) = req.new_client_order_id.as_deref() {
            if !super::checks::client_id_ok(c) {
                return Err(super::checks::bad_client_id("newClientOrderId", c));
            }
        }
        let found = match req.order_list_id {
            Some(id) => self.lists.get(&id).filter(|l| {
                req.list_client_order_id
                    .as_deref()
                    .is_none_or(|c| &*l.client_id == c)
            }),
            None => {
                let key = (
                    account,
                    std::sync::Arc::from(req.list_client_order_id.as_deref().unwrap_or("")),
                );
                self.list_by_client
                    .get(&key)
                    .and_then(|id| self.lists.get(id))
            }
        };
        let list_id = match found {
            Some(l) if l.account == account => l.list_id,
            _ => return Err(Refusal::Error("UNKNOWN_LIST")),
        };
        let mut out = Vec::new();
        self.cancel_list_legs(
            ledger,
            list_id,
            req.new_client_order_id.as_deref(),
            now,
            &mut out,
        );
        self.drain(ledger, now, &mut out);
        Ok(self.list_ack(list_id, now, out))
    }

    pub(super) fn cancel_list_legs(
        &mut self,
        ledger: &mut Ledger,
        list_id: i64,
        new_cid: Option<&str>,
        now: i64,
        out: &mut Vec<Report>,
    ) {
        let Some(lst) = self.lists.get_mut(&list_id) else {
            return;
        };
        lst.oco_done = true;
        for leg in lst.orders.clone() {
            if self.is_open(self.order(leg).order_id) {
                self.expire_leg(
                    ledger,
                    leg,
                    Expiry::None,
                    now,
                    out,
                    None,
                    Status::Canceled,
                    new_cid,
                );
            }
        }
    }

    /// One OCO leg activated (triggered, or filled at all): its sibling expires. A
    /// triggered leg takes over its sibling's lock; a filled limit leg lets it go.
    pub(super) fn oco_activated(
        &mut self,
        ledger: &mut Ledger,
        r: OrderRef,
        now: i64,
        out: &mut Vec<Report>,
    ) {
        self.oco_ended(ledger, r, now, out, true);
    }

    /// One OCO leg activated (`inherit`) or was expired in a match: its sibling expires at
    /// once (`_oco_activated`), taking the lock over only from an activated leg.
    pub(super) fn oco_ended(
        &mut self,
        ledger: &mut Ledger,
        r: OrderRef,
        now: i64,
        out: &mut Vec<Report>,
        inherit: bool,
    ) {
        let list_id = self.order(r).list_id();
        let Some(lst) = self.lists.get_mut(&list_id) else {
            return;
        };
        if lst.oco_done || !lst.oco.contains(&r) {
            return;
        }
        lst.oco_done = true;
        for sibling in lst.oco.clone() {
            let s = self.order(sibling);
            if sibling == r || s.leaves == 0 || s.status == Status::PendingNew {
                continue;
            }
            self.expire_leg(
                ledger,
                sibling,
                Expiry::OcoTrigger,
                now,
                out,
                inherit.then_some(r),
                Status::Expired,
                None,
            );
        }
    }

    /// End a list leg (EXPIRED or CANCELED) wherever it waits; `heir` inherits its lock.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn expire_leg(
        &mut self,
        ledger: &mut Ledger,
        r: OrderRef,
        reason: Expiry,
        now: i64,
        out: &mut Vec<Report>,
        heir: Option<OrderRef>,
        status: Status,
        cancel_id: Option<&str>,
    ) {
        let o = self.order(r);
        let (order_id, account, side, price, leaves, pending) = (
            o.order_id,
            o.account,
            o.side,
            o.price,
            o.leaves,
            o.status == Status::PendingNew,
        );
        if self.is_parked(order_id) {
            self.unpark(order_id);
            self.algo_done(ledger, account);
        } else if self.firing.remove(&order_id) {
            self.algo_done(ledger, account);
        } else if !pending {
            self.unlink(side, price, leaves);
        }
        if let Some(heir) = heir {
            let locked = self.order(r).locked();
            if super::checks::is_stop_type(self.order(heir).otype) && locked != 0 {
                self.order_mut(heir).add_locked(locked);
                self.order_mut(r).set_locked(0);
            }
        }
        self.end(r, status);
        self.release(ledger, r);
        self.retire(ledger, r);
        self.remember(r);
        self.seq += 1;
        if status == Status::Canceled {
            out.push(self.canceled(r, cancel_id, now));
        } else {
            out.push(self.event(r, ExecType::Expired, reason, now, false));
        }
    }

    /// After legs ended: release or expire OTO pending legs, end finished lists.
    fn settle_lists(&mut self, ledger: &mut Ledger, now: i64, out: &mut Vec<Report>) {
        while let Some(leg) = self.ended_legs.pop_front() {
            let list_id = self.order(leg).list_id();
            let Some(lst) = self.lists.get(&list_id) else {
                continue;
            };
            if lst.working == Some(leg) {
                if self.order(leg).status == Status::Filled {
                    self.release_pending(ledger, list_id, now, out);
                } else {
                    for pending in lst.pending.clone() {
                        if self.is_open(self.order(pending).order_id) {
                            self.expire_leg(
                                ledger,
                                pending,
                                Expiry::OtoPhaseOneExpired,
                                now,
                                out,
                                None,
                                Status::Expired,
                                None,
                            );
                        }
                    }
                }
            } else if lst.oco.contains(&leg) && !lst.oco_done {
                let oco = lst.oco.clone();
                if let Some(lst) = self.lists.get_mut(&list_id) {
                    lst.oco_done = true;
                }
                for sibling in oco {
                    if self.is_open(self.order(sibling).order_id) {
                        self.expire_leg(
                            ledger,
                            sibling,
                            Expiry::OcoTrigger,
                            now,
                            out,
                            None,
                            Status::Expired,
                            None,
                        );
                    }
                }
            }
            let Some(lst) = self.lists.get(&list_id) else {
                continue;
            };
            if lst
                .orders
                .iter()
                .all(|&o| !self.is_open(self.order(o).order_id))
            {
                let key = (lst.account, lst.client_id.clone());
                if let Some(lst) = self.lists.get_mut(&list_id) {
                    lst.status = ListOrderStatus::AllDone;
                }
                self.list_event(list_id, now, None);
                if let Some(lst) = self.lists.remove(&list_id) {
                    ledger.count_open(lst.account, 0, 0, -1);
                    self.closed.push(lst);
                }
                self.list_by_client.remove(&key);
            }
        }
    }

    /// The working leg filled: the pending leg(s) go to work, locking their funds now.
    fn release_pending(
        &mut self,
        ledger: &mut Ledger,
        list_id: i64,
        now: i64,
        out: &mut Vec<Report>,
    ) {
        let Some(lst) = self.lists.get(&list_id) else {
            return;
        };
        let legs: Vec<OrderRef> = lst
            .pending
            .iter()
            .copied()
            .filter(|&p| self.order(p).status == Status::PendingNew)
            .collect();
        let Some(&first) = legs.first() else {
            return;
        };
        let needs: Vec<Result<Option<i128>, Refusal>> = legs
            .iter()
            .map(|&p| {
                let req = self.as_request(p, ledger);
                self.leg_need(&req, self.order(p).stp_key())
            })
            .collect();
        let refused = needs.iter().any(|n| !matches!(n, Ok(Some(_))));
        let total = needs.iter().filter_map(|n| (*n).ok().flatten()).max();
        let f = self.order(first);
        let wallet = if f.side == Side::Buy {
            f.quote_bal
        } else {
            f.base_bal
        };
        let crossing = legs.iter().any(|&p| {
            let o = self.order(p);
            o.otype == OrderType::LimitMaker && self.crosses(o.side, o.price)
        });
        if refused || crossing || total.is_some_and(|t| t > ledger.get(wallet).free) {
            for leg in legs {
                self.end(leg, Status::Rejected);
                self.retire(ledger, leg);
                self.remember(leg);
                self.seq += 1;
                out.push(self.event(leg, ExecType::Rejected, Expiry::None, now, false));
            }
            return;
        }
        for &leg in &legs {
            let o = self.order_mut(leg);
            o.status = Status::New;
            o.working_time = now;
        }
        if legs.len() == 2 {
            self.place_pair(ledger, &legs, now, out, true);
            return;
        }
        let leg = first;
        let need = total.unwrap_or(0);
        self.lock(ledger, leg, need);
        let o = self.order(leg);
        if super::checks::is_stop_type(o.otype) {
            let account = o.account;
            self.park(leg);
            self.algo_added(ledger, account);
            self.seq += 1;
            out.push(self.event(leg, ExecType::New, Expiry::None, now, false));
            return;
        }
        let rests = o.tif == Some(Tif::Gtc) || o.otype == OrderType::LimitMaker;
        self.seq += 1;
        out.push(self.event(leg, ExecType::New, Expiry::None, now, rests));
        self.work(ledger, leg, now, out, true);
    }

    /// Queue a listStatus event of the list as it stands.
    pub(super) fn list_event(&mut self, list_id: i64, now: i64, kind: Option<ListStatusType>) {
        if let Some(event) = self.list_status(list_id, now, kind) {
            self.list_events.push(event);
        }
    }

    /// An open order list as it stands (None once it has ended).
    pub fn list_status(
        &self,
        list_id: i64,
        now: i64,
        kind: Option<ListStatusType>,
    ) -> Option<ListEvent> {
        let lst = self.lists.get(&list_id)?;
        Some(ListEvent {
            seq: self.seq,
            list_id,
            contingency: lst.contingency,
            status_type: kind.unwrap_or_else(|| lst.status_type()),
            status: lst.status,
            client_id: lst.client_id.clone(),
            transact_time: now,
            orders: lst
                .orders
                .iter()
                .map(|&o| {
                    let o = self.order(o);
                    (o.order_id, o.client_order_id.clone())
                })
                .collect(),
        })
    }

    fn list_ack(&mut self, list_id: i64, now: i64, reports: Vec<Report>) -> ListAck {
        let list_statuses = std::mem::take(&mut self.list_events);
        // a list that ended in this request has left `lists` for `closed`
        let closed = std::mem::take(&mut self.closed);
        let lst = self
            .lists
            .get(&list_id)
            .or_else(|| closed.iter().find(|l| l.list_id == list_id));
        let (client_id, contingency, status, orders) = match lst {
            Some(l) => (
                l.client_id.clone(),
                l.contingency,
                l.status,
                l.orders.clone(),
            ),
            None => (
                std::sync::Arc::from(""),
                Contingency::Oco,
                ListOrderStatus::AllDone,
                Vec::new(),
            ),
        };
        let ack = ListAck {
            list_id,
            client_id,
            contingency,
            status,
            orders: orders.into_iter().map(|r| self.view(r)).collect(),
            transact_time: now,
            reports,
            list_statuses,
        };
        self.drop_closed(closed);
        ack
    }
}

fn stop_loss_type(t: OrderType) -> bool {
    matches!(t, OrderType::StopLoss | OrderType::StopLossLimit)
}
