//! Contingent orders (`bot4/venue/contingent.py`): stop-loss and take-profit orders waiting
//! for their trigger, and what a trigger sets off (the triggered order works at once, and
//! its own trades may trigger more).

use super::{Engine, ExecType, Expiry, NewRequest, OrderType, Refusal, Report, Side, Status, Tif};
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
    ) -> Result<super::Ack, Refusal> {
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
        self.register(r);
        self.park(r);
        self.algo_added(account);
        self.seq += 1;
        let report = self.event(r, ExecType::New, Expiry::None, now, false);
        Ok(self.finish(r, now, vec![report]))
    }

    /// Work off what a request set in motion: stop triggers.
    pub(super) fn drain(&mut self, ledger: &mut Ledger, now: i64, out: &mut Vec<Report>) {
        while !self.trade_prices.is_empty() {
            self.fire_stops(ledger, now, out);
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
                    o.trail_ref = stop.trail_ref;
                    o.trailing_time = stop.trailing_time;
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
        let account = self.order(r).account;
        self.algo_done(account);
        self.order_mut(r).working_time = now;
        let o = self.order(r);
        if is_market_stop(o.otype) && o.side == Side::Buy {
            let (leaves, key, mode, locked, quote_bal) =
                (o.leaves, o.stp_key, o.stp_mode, o.locked, o.quote_bal);
            // the cost of the whole book is far inside 128 bits for i64 levels; a cost that
            // is not is more than any balance holds
            let cost = self
                .market_cost(Side::Buy, leaves, 0, key, mode)
                .unwrap_or(i128::MAX);
            let extra = cost - locked;
            if extra > 0 {
                if extra > ledger.get(quote_bal).free {
                    self.end(r, Status::Rejected);
                    self.retire(r);
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
