//! Order state (`bot4/venue/orderstate.py`): what the engine holds, queries over it, the
//! state digest, and the reports it builds.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write;

use rustc_hash::FxHashMap as HashMap;

use sha2::{Digest, Sha256};

use super::{
    Ack, ClientId, Engine, ExecType, Expiry, Order, OrderView, Recent, Refusal, Report, Rules,
    Side, Slab, Status, StpKey,
};
use crate::avgprice::AveragePrice;
use crate::book::{BookSide, OrderRef};
use crate::fees::Ratio;
use crate::ledger::{AccountId, BalanceId, Ledger, hex};

impl Slab {
    pub(super) fn get(&self, r: OrderRef) -> &Order {
        &self.orders[(r & 0xffff_ffff) as usize]
    }

    fn get_mut(&mut self, r: OrderRef) -> &mut Order {
        &mut self.orders[(r & 0xffff_ffff) as usize]
    }

    /// Whether `r` still names its order and the order is working.
    pub(super) fn live(&self, r: OrderRef) -> bool {
        let slot = (r & 0xffff_ffff) as usize;
        self.generations[slot] == (r >> 32) as u32 && self.orders[slot].leaves > 0
    }

    fn insert(&mut self, order: Order) -> OrderRef {
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.orders.push(order);
                self.generations.push(0);
                return (self.orders.len() - 1) as u64;
            }
        };
        self.orders[slot as usize] = order;
        (u64::from(self.generations[slot as usize]) << 32) | u64::from(slot)
    }

    fn remove(&mut self, r: OrderRef) {
        let slot = (r & 0xffff_ffff) as usize;
        self.generations[slot] = self.generations[slot].wrapping_add(1);
        self.free.push(slot as u32);
    }
}

impl Engine {
    /// An engine for one symbol; `reference_price` (ticks) seeds the average price before the
    /// first trade; `history` ended orders stay queryable.
    pub fn new(
        rules: Rules,
        ledger: &mut Ledger,
        reference_price: Option<i64>,
        history: usize,
    ) -> Result<Self, Refusal> {
        let base = ledger.asset_id(&rules.base);
        let quote = ledger.asset_id(&rules.quote);
        let avg_price = AveragePrice::new(rules.avg_price_mins, reference_price)?;
        Ok(Self {
            rules,
            trading: true,
            base,
            quote,
            bids: BookSide::new(true),
            asks: BookSide::new(false),
            avg_price,
            history,
            seq: 0,
            last_order_id: 0,
            last_trade_id: 0,
            traded_ticklots: 0,
            last_prevented_match_id: -1,
            last_order_list_id: -1,
            slab: Slab::default(),
            registered: 0,
            open_ids: Default::default(),
            by_client: Default::default(),
            open_count: HashMap::default(),
            key_open: HashMap::default(),
            done: Default::default(),
            done_ids: VecDeque::new(),
            done_by_client: Default::default(),
            balances: HashMap::default(),
            stops: crate::stops::StopBook::new(),
            parked: BTreeMap::new(),
            parked_ids: HashMap::default(),
            parked_count: 0,
            algo_count: HashMap::default(),
            trade_prices: Vec::new(),
            lists: BTreeMap::new(),
            list_by_client: HashMap::default(),
            ended_legs: VecDeque::new(),
            list_events: Vec::new(),
            closed: Vec::new(),
            held: HashMap::default(),
            recent: Recent::default(),
            firing: rustc_hash::FxHashSet::default(),
            band_ref: None,
            bid_band: (0, 0),
            ask_band: (0, 0),
            fee_link: None,
            fee_refs: HashMap::default(),
        })
    }

    /// Charge fills through the venue's fee book in `ledger` (its schedule, if it has one,
    /// must be installed first). `tick`, `base_unit` and `quote_unit` are the symbol's sizes
    /// as fractions, for price conversions.
    pub fn attach_fees(
        &mut self,
        ledger: &mut Ledger,
        tick: Ratio,
        base_unit: Ratio,
        quote_unit: Ratio,
    ) {
        let symbol = crate::feebook::Symbol {
            name: self.rules.symbol.clone(),
            base: self.base,
            quote: self.quote,
            tick,
            base_unit,
            quote_unit,
            maker: self.rules.maker_rate,
            taker: self.rules.taker_rate,
        };
        let pair = ledger.fee_attach(&symbol, self.avg_price.last());
        self.fee_link = Some(super::FeeLink {
            pair,
            symbol,
            scheduled: ledger.feebook.schedule.is_some(),
        });
    }

    /// Whether fills go through the fee book's per-account refs.
    pub(super) fn scheduled(&self) -> bool {
        self.fee_link.as_ref().is_some_and(|l| l.scheduled)
    }

    /// The account's ref in the fee book, registered on first use (`_fee_ref`).
    pub(super) fn fee_ref(&mut self, ledger: &mut Ledger, account: AccountId) -> u32 {
        if let Some(&id) = self.fee_refs.get(&account) {
            return id;
        }
        let Some(link) = self.fee_link.as_ref() else {
            return 0;
        };
        let id = ledger.fee_ref(account, &link.symbol);
        self.fee_refs.insert(account, id);
        id
    }

    /// The engine's last trade price moved: tell the fee book (other pairs convert by it).
    pub(super) fn fee_traded(&self, ledger: &mut Ledger, price: i64) {
        if let Some(link) = self.fee_link.as_ref() {
            ledger.feebook.traded(link.pair, price);
        }
    }

    pub(super) fn order(&self, r: OrderRef) -> &Order {
        self.slab.get(r)
    }

    pub(super) fn order_mut(&mut self, r: OrderRef) -> &mut Order {
        self.slab.get_mut(r)
    }

    pub(super) fn live(&self, r: OrderRef) -> bool {
        self.slab.live(r)
    }

    pub(super) fn book(&mut self, side: Side) -> &mut BookSide {
        match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        }
    }

    pub(super) fn store(&mut self, order: Order) -> OrderRef {
        self.slab.insert(order)
    }

    pub(super) fn avg_price_mut(&mut self) -> &mut AveragePrice {
        &mut self.avg_price
    }

    /// The account's base and quote balance ids.
    pub(super) fn account(
        &mut self,
        ledger: &mut Ledger,
        account: AccountId,
    ) -> (BalanceId, BalanceId) {
        if let Some(&pair) = self.balances.get(&account) {
            return pair;
        }
        let pair = (
            ledger.balance_id(account, self.base),
            ledger.balance_id(account, self.quote),
        );
        self.balances.insert(account, pair);
        pair
    }

    pub(super) fn stp_key_of(ledger: &Ledger, account: AccountId) -> StpKey {
        ledger
            .group(account)
            .map_or(StpKey::Account(account), StpKey::Group)
    }

    /// Count an order as open (on the book).
    pub(super) fn register(&mut self, ledger: &mut Ledger, r: OrderRef) {
        if self.registered == u32::MAX {
            self.renumber();
        }
        self.registered += 1;
        let reg = self.registered;
        let o = self.slab.get_mut(r);
        o.reg = reg;
        let (account, key) = (o.account, o.stp_key());
        ledger.count_open(account, 1, 0, 0);
        self.open_ids.insert(&self.slab, r);
        self.by_client.insert(&self.slab, r);
        *self.open_count.entry(account).or_insert(0) += 1;
        if let StpKey::Group(g) = key {
            *self.key_open.entry(g).or_insert(0) += 1;
        }
    }

    /// Number the open orders 1, 2, ... in their order, when the numbers ran out.
    fn renumber(&mut self) {
        let refs = self.open_refs();
        self.registered = 0;
        for r in refs {
            self.registered += 1;
            self.slab.get_mut(r).reg = self.registered;
        }
    }

    /// Forget an order that has left the book.
    pub(super) fn retire(&mut self, ledger: &mut Ledger, r: OrderRef) {
        let o = self.slab.get(r);
        if o.list_id() >= 0 {
            self.ended_legs.push_back(r);
        }
        let o = self.slab.get(r);
        let (id, account, key) = (o.order_id, o.account, o.stp_key());
        ledger.count_open(account, -1, 0, 0);
        self.open_ids.remove(&self.slab, id);
        self.by_client
            .remove(&self.slab, account, &o.client_order_id);
        decrement(&mut self.open_count, account);
        if let StpKey::Group(g) = key {
            decrement(&mut self.key_open, g);
        }
    }

    /// Keep an ended order queryable, evicting the oldest beyond `history`.
    pub(super) fn remember(&mut self, r: OrderRef) {
        let id = self.slab.get(r).order_id;
        self.done.insert(&self.slab, r);
        self.done_by_client.insert(&self.slab, r);
        self.done_ids.push_back(id);
        if self.done_ids.len() > self.history {
            let Some(old_id) = self.done_ids.pop_front() else {
                return;
            };
            if let Some(old) = self.done.remove(&self.slab, old_id) {
                // unless a newer ended order took over its client id
                self.done_by_client.remove_ref(&self.slab, old);
                let list_id = self.slab.get(old).list_id();
                let shown = list_id >= 0
                    && (self.lists.contains_key(&list_id)
                        || self.closed.iter().any(|l| l.list_id == list_id));
                if shown {
                    self.held.entry(list_id).or_default().push(old);
                } else {
                    self.slab.remove(old);
                }
            }
        }
    }

    pub(super) fn algo_added(&mut self, ledger: &mut Ledger, account: AccountId) {
        *self.algo_count.entry(account).or_insert(0) += 1;
        ledger.count_open(account, 0, 1, 0);
    }

    pub(super) fn algo_done(&mut self, ledger: &mut Ledger, account: AccountId) {
        decrement(&mut self.algo_count, account);
        ledger.count_open(account, 0, -1, 0);
    }

    pub(super) fn algo_count(&self, account: AccountId) -> i64 {
        self.algo_count.get(&account).copied().unwrap_or(0)
    }

    /// Whether the order waits in the stop book.
    pub(super) fn is_parked(&self, order_id: i64) -> bool {
        self.parked_ids.contains_key(&order_id)
    }

    /// Put an order in the stop book (`last` starts a trailing order without a stop price).
    pub(super) fn park(&mut self, r: OrderRef) {
        let o = self.slab.get(r);
        let stop = crate::stops::Stop {
            rise: super::contingent::fires_on_rise(o.otype, o.side),
            buy: o.side == Side::Buy,
            stop_price: o.stop_price(),
            trailing_delta: o.trailing_delta(),
            trail_ref: None,
            trailing_time: -1,
        };
        let id = o.order_id;
        self.stops.add(id as u64, stop, self.avg_price.last());
        self.parked_count += 1;
        self.parked.insert(self.parked_count, r);
        self.parked_ids.insert(id, (self.parked_count, r));
    }

    /// Take an order out of the stop book (cancelled or expired: it did not trigger).
    pub(super) fn unpark(&mut self, order_id: i64) {
        let stop = self.stops.remove(order_id as u64);
        if let (Some(stop), Some(&(_, r))) = (stop, self.parked_ids.get(&order_id)) {
            let o = self.slab.get_mut(r);
            o.extra_mut().trail_ref = stop.trail_ref;
            o.extra_mut().trailing_time = stop.trailing_time;
        }
        self.forget_parked(order_id);
    }

    /// The stop book let the order go (it fired): forget where it was parked.
    pub(super) fn forget_parked(&mut self, order_id: i64) {
        if let Some((seq, _)) = self.parked_ids.remove(&order_id) {
            self.parked.remove(&seq);
        }
    }

    /// Give an open order a new client id (amend), keeping the lookup by client id.
    pub(super) fn retire_client_id(&mut self, r: OrderRef, cid: ClientId) {
        // out of the index under the old id before the order changes it (the index hashes
        // through the order)
        let o = self.slab.get(r);
        self.by_client
            .remove(&self.slab, o.account, &o.client_order_id);
        self.slab.get_mut(r).client_order_id = cid;
        self.by_client.insert(&self.slab, r);
    }

    /// Return whatever is still locked for an order that has ended.
    pub(super) fn release(&mut self, ledger: &mut Ledger, r: OrderRef) {
        let o = self.slab.get_mut(r);
        let left = o.locked();
        if left != 0 {
            let bal = ledger.get_mut(if o.side == Side::Buy {
                o.quote_bal
            } else {
                o.base_bal
            });
            bal.locked -= left;
            bal.free += left;
            o.set_locked(0);
        }
    }

    pub(super) fn lock(&mut self, ledger: &mut Ledger, r: OrderRef, amount: i128) {
        let o = self.slab.get_mut(r);
        let bal = ledger.get_mut(if o.side == Side::Buy {
            o.quote_bal
        } else {
            o.base_bal
        });
        bal.free -= amount;
        bal.locked += amount;
        o.add_locked(amount);
    }

    /// An open order by id, or by the account's client id.
    pub(super) fn open_ref(
        &self,
        account: AccountId,
        order_id: Option<i64>,
        cid: Option<&str>,
    ) -> Option<OrderRef> {
        match order_id {
            Some(id) => self.open_ids.get(&self.slab, id),
            None => self.by_client.get(&self.slab, account, cid.unwrap_or("")),
        }
    }

    pub(super) fn client_id_taken(&self, account: AccountId, cid: &str) -> bool {
        self.by_client.get(&self.slab, account, cid).is_some()
    }

    pub(super) fn open_count(&self, account: AccountId) -> i64 {
        self.open_count.get(&account).copied().unwrap_or(0)
    }

    pub(super) fn has_open(&self, key: StpKey) -> bool {
        match key {
            StpKey::Account(a) => self.open_count.contains_key(&a),
            StpKey::Group(g) => self.key_open.contains_key(&g),
        }
    }

    /// The open orders' references, oldest first.
    pub(super) fn open_refs(&self) -> Vec<OrderRef> {
        let mut refs: Vec<OrderRef> = self.open_ids.refs().collect();
        refs.sort_unstable_by_key(|&r| self.slab.get(r).reg);
        refs
    }

    // ------------------------------------------------------------------ queries

    /// An order's current state (open, or ended within the last `history` orders).
    pub fn get_order(
        &self,
        account: AccountId,
        order_id: Option<i64>,
        cid: Option<&str>,
    ) -> Result<OrderView, Refusal> {
        let found = match (order_id, cid) {
            (None, None) => {
                return Err(Refusal::Call2(
                    "one_of_params",
                    "orderId",
                    "origClientOrderId",
                ));
            }
            (Some(id), _) => {
                let r = self
                    .open_ids
                    .get(&self.slab, id)
                    .or_else(|| self.done.get(&self.slab, id));
                if let (Some(r), Some(c)) = (r, cid) {
                    if &*self.slab.get(r).client_order_id != c {
                        return Err(Refusal::Error("CLIENT_ORDER_ID_MISMATCH"));
                    }
                }
                r
            }
            (None, Some(c)) => self
                .by_client
                .get(&self.slab, account, c)
                .or_else(|| self.done_by_client.get(&self.slab, account, c)),
        };
        match found {
            Some(r) if self.slab.get(r).account == account => Ok(self.view(r)),
            _ => Err(Refusal::Error("NO_SUCH_ORDER")),
        }
    }

    /// The orders resting on one side (level 3), best first: (ref, order id, price, leaves).
    pub fn book_orders(&self, side: Side) -> Vec<(AccountId, i64, i64, i64)> {
        let book = match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        };
        book.orders(|r| self.slab.live(r))
            .into_iter()
            .map(|r| {
                let o = self.slab.get(r);
                (o.account, o.order_id, o.price, o.leaves)
            })
            .collect()
    }

    /// The ids of the stop orders waiting for their trigger, in the order they were parked.
    pub fn waiting_stops(&self) -> Vec<i64> {
        self.parked
            .values()
            .map(|&r| self.slab.get(r).order_id)
            .collect()
    }

    /// What each open order holds locked, by order id (oldest first).
    pub fn open_locks(&self) -> Vec<(i64, i128)> {
        self.open_refs()
            .into_iter()
            .map(|r| {
                let o = self.slab.get(r);
                (o.order_id, o.locked())
            })
            .collect()
    }

    pub fn is_open(&self, order_id: i64) -> bool {
        self.open_ids.contains(&self.slab, order_id)
    }

    /// Open orders (of one account, or all), oldest first.
    pub fn open_orders(&self, account: Option<AccountId>) -> Vec<OrderView> {
        self.open_refs()
            .into_iter()
            .filter(|&r| account.is_none_or(|a| self.slab.get(r).account == a))
            .map(|r| self.view(r))
            .collect()
    }

    pub(super) fn view(&self, r: OrderRef) -> OrderView {
        let o = self.slab.get(r);
        OrderView {
            order_id: o.order_id,
            client_order_id: o.client_order_id.clone(),
            account: o.account,
            side: o.side,
            otype: o.otype,
            tif: o.tif,
            price: o.price,
            orig_qty: o.qty,
            executed_qty: o.cum_qty,
            cum_quote: o.cum_quote(),
            quote_order_qty: o.quote_order_qty(),
            status: o.status,
            time: o.created,
            working_time: o.working_time,
            stp_mode: o.stp_mode,
            prevented_qty: o.prevented(),
            list_id: o.list_id(),
            stop_price: o.stop_price(),
            trailing_delta: o.trailing_delta(),
            trailing_time: self
                .stops
                .get(o.order_id as u64)
                .map_or(o.trailing_time(), |s| s.trailing_time),
        }
    }

    /// Aggregated book side: (price ticks, quantity lots), best first.
    pub fn depth(&self, side: Side, limit: usize) -> Vec<(i64, i64)> {
        match side {
            Side::Buy => self.bids.depth(limit),
            Side::Sell => self.asks.depth(limit),
        }
    }

    pub fn best_bid(&self) -> Option<i64> {
        self.bids.best()
    }

    pub fn best_ask(&self) -> Option<i64> {
        self.asks.best()
    }

    pub fn avg_price(&self) -> &AveragePrice {
        &self.avg_price
    }

    /// The same hash as `OrderState.state_digest` for the same history; `status` is the
    /// symbol status's value, which the Python side keeps.
    pub fn state_digest(&self, ledger: &Ledger, status: &str) -> String {
        let mut h = Sha256::new();
        h.update(format!(
            "{}|{}|{}|{}|{}|{}\n",
            self.seq,
            self.last_order_id,
            self.last_trade_id,
            status,
            self.last_prevented_match_id,
            self.last_order_list_id
        ));
        let live = |r: OrderRef| self.slab.live(r);
        for r in self
            .bids
            .orders(live)
            .into_iter()
            .chain(self.asks.orders(live))
        {
            let o = self.slab.get(r);
            let key = match o.stp_key() {
                StpKey::Account(a) => ledger.account_name(a).to_owned(),
                StpKey::Group(g) => g.to_string(),
            };
            h.update(format!(
                "{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}\n",
                o.order_id,
                o.client_order_id,
                ledger.account_name(o.account),
                o.side.text(),
                o.price,
                o.qty,
                o.leaves,
                o.cum_qty,
                o.cum_quote(),
                o.locked(),
                o.status.text(),
                o.stp_mode.text(),
                key,
                o.prevented(),
                o.list_id()
            ));
        }
        for &r in self.parked.values() {
            let o = self.slab.get(r);
            let trail = self
                .stops
                .get(o.order_id as u64)
                .and_then(|s| s.trail_ref)
                .map_or_else(|| "None".to_owned(), |p| p.to_string());
            h.update(format!(
                "stop|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}\n",
                o.order_id,
                o.client_order_id,
                ledger.account_name(o.account),
                o.side.text(),
                o.otype.text(),
                o.stop_price(),
                o.trailing_delta(),
                trail,
                o.leaves,
                o.locked()
            ));
        }
        for lst in self.lists.values() {
            let legs: Vec<String> = lst
                .orders
                .iter()
                .map(|&r| {
                    let o = self.slab.get(r);
                    format!("{}:{}", o.order_id, o.status.text())
                })
                .collect();
            h.update(format!(
                "list|{}|{}|{}|{}\n",
                lst.list_id,
                lst.client_id,
                if lst.oco_done { "True" } else { "False" },
                legs.join(",")
            ));
        }
        h.update(avg_price_repr(&self.avg_price));
        h.update(ledger.digest());
        hex(&h.finalize())
    }

    // ------------------------------------------------------------------ reports

    /// A report about `r` with every event field at its neutral value.
    pub(super) fn report(&self, r: OrderRef, exec_type: ExecType, now: i64) -> Report {
        let o = self.slab.get(r);
        Report {
            order: r,
            account: o.account,
            order_id: o.order_id,
            client_order_id: o.client_order_id.clone(),
            side: o.side,
            otype: o.otype,
            tif: o.tif,
            price: o.price,
            orig_qty: o.qty,
            quote_order_qty: o.quote_order_qty(),
            creation_time: o.created,
            working_time: o.working_time,
            stp_mode: o.stp_mode,
            stop_price: o.stop_price(),
            trailing_delta: o.trailing_delta(),
            order_list_id: o.list_id(),
            seq: self.seq,
            orig_client_order_id: None,
            exec_type,
            status: o.status,
            expiry: Expiry::None,
            last_qty: 0,
            last_price: 0,
            cum_qty: o.cum_qty,
            cum_quote: o.cum_quote(),
            commission: 0,
            commission_asset: None,
            trade_id: -1,
            is_maker: false,
            is_working: false,
            transact_time: now,
            prevented_match_id: -1,
            prevented_qty: o.prevented(),
            last_prevented_qty: 0,
            prevented_price: 0,
            counter_order_id: -1,
        }
    }

    /// A report that is not a trade (NEW, EXPIRED), numbered with the current `seq`.
    pub(super) fn event(
        &self,
        r: OrderRef,
        exec_type: ExecType,
        expiry: Expiry,
        now: i64,
        working: bool,
    ) -> Report {
        let mut report = self.report(r, exec_type, now);
        report.expiry = expiry;
        report.is_working = working;
        report
    }

    /// A CANCELED report: the cancel's own client id, the order's as the original.
    pub(super) fn canceled(&self, r: OrderRef, cancel_id: Option<&str>, now: i64) -> Report {
        let mut report = self.report(r, ExecType::Canceled, now);
        let o = self.slab.get(r);
        report.orig_client_order_id = Some(o.client_order_id.clone());
        report.client_order_id = match cancel_id {
            Some(c) => ClientId::from(c),
            None => super::numbered("cancel-", o.order_id),
        };
        report
    }

    /// Forget the lists that ended in this request, with the slots of their legs that had
    /// already left the history.
    pub(super) fn drop_closed(&mut self, closed: Vec<super::lists::OrderList>) {
        for lst in closed {
            for r in self.held.remove(&lst.list_id).unwrap_or_default() {
                self.slab.remove(r);
            }
        }
    }

    pub(super) fn finish(&mut self, r: OrderRef, now: i64, reports: Vec<Report>) -> Ack {
        let list_statuses = std::mem::take(&mut self.list_events);
        self.end_request();
        let o = self.slab.get(r);
        Ack {
            list_statuses,
            order_id: o.order_id,
            client_order_id: o.client_order_id.clone(),
            status: o.status,
            executed_qty: o.cum_qty,
            cum_quote: o.cum_quote(),
            transact_time: now,
            reports,
        }
    }

    /// Forget what only the answer of the request in progress shows (its list events and
    /// closed lists) when nobody asks for them (the batch).
    pub(super) fn end_request(&mut self) {
        self.list_events.clear();
        let closed = std::mem::take(&mut self.closed);
        self.drop_closed(closed);
    }

    /// Mark an order ended with `status` and no quantity left.
    pub(super) fn end(&mut self, r: OrderRef, status: Status) {
        let o = self.slab.get_mut(r);
        o.status = status;
        o.leaves = 0;
    }
}

fn decrement<K: std::hash::Hash + Eq>(map: &mut HashMap<K, i64>, key: K) {
    if let Some(count) = map.get_mut(&key) {
        *count -= 1;
        if *count == 0 {
            map.remove(&key);
        }
    }
}

/// `repr(AveragePrice.state())` as Python prints it: `(last, ((t, n, l), ...))`.
fn avg_price_repr(avg: &AveragePrice) -> String {
    let (last, trades) = avg.state();
    let mut out = String::from("(");
    match last {
        Some(p) => {
            let _ = write!(out, "{p}");
        }
        None => out.push_str("None"),
    }
    out.push_str(", (");
    for (i, (t, n, l)) in trades.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "({t}, {n}, {l})");
    }
    if trades.len() == 1 {
        out.push(',');
    }
    out.push_str("))");
    out
}
