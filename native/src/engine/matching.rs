//! Matching (`bot4/venue/matching.py`): crossing the book in price-time priority, each fill's
//! settlement with the symbol's commission, and self-trade prevention.
//!
//! Every amount a fill moves is bounded by what the taker and the maker locked or hold at
//! acceptance (checked there), so the arithmetic here cannot overflow `i128`.

use super::{Engine, ExecType, Expiry, OrderType, Report, Side, Status, Stp, Tif};
use crate::book::OrderRef;
use crate::ledger::Ledger;

/// ceil(units * num / den) for a non-negative rate.
fn fee(units: i128, (num, den): (i128, i128)) -> i128 {
    -((-units * num).div_euclid(den))
}

impl Engine {
    /// Match a new (or just triggered) order, then rest it or expire what is left.
    pub(super) fn work(
        &mut self,
        ledger: &mut Ledger,
        r: OrderRef,
        now: i64,
        out: &mut Vec<Report>,
        registered: bool,
    ) {
        let o = self.order(r);
        let (otype, side, tif, price) = (o.otype, o.side, o.tif, o.price);
        let market_like = matches!(
            otype,
            OrderType::Market | OrderType::StopLoss | OrderType::TakeProfit
        );
        let rests = !market_like && (otype == OrderType::LimitMaker || tif == Some(Tif::Gtc));
        if market_like {
            self.take(ledger, r, None, now, out);
        } else if otype != OrderType::LimitMaker
            && (tif != Some(Tif::Fok) || self.fillable(r))
            && self.crosses(side, price)
        {
            self.take(ledger, r, Some(price), now, out);
        }
        let leaves = self.order(r).leaves;
        if leaves > 0 {
            if rests {
                // a level's quantity is at most the sum of i64 orders the filters bound
                let _ = self.book(side).add(r, price, leaves);
                if !registered {
                    self.register(ledger, r);
                }
                return;
            }
            let reason = if market_like {
                Expiry::NoLiquidity
            } else if tif == Some(Tif::Fok) {
                Expiry::FokExpired
            } else {
                Expiry::IocExpired
            };
            self.end(r, Status::Expired);
            self.seq += 1;
            out.push(self.event(r, ExecType::Expired, reason, now, false));
        }
        if registered {
            self.retire(ledger, r);
        }
        self.release(ledger, r);
        self.remember(r);
    }

    /// FOK: can the whole quantity execute now within the limit price?
    pub(super) fn fillable(&self, r: OrderRef) -> bool {
        let o = self.order(r);
        let (mut need, mode) = (o.leaves, o.stp_mode);
        let mut ok = false;
        self.liquidity(o.side, Some(o.price), o.stp_key(), mode, |_, qty, own| {
            if own {
                return mode == Stp::ExpireMaker;
            }
            need -= qty;
            if need <= 0 {
                ok = true;
                return false;
            }
            true
        });
        ok
    }

    /// Match `taker` against the opposite side while it crosses; makers' price, FIFO.
    pub(super) fn take(
        &mut self,
        ledger: &mut Ledger,
        taker: OrderRef,
        limit: Option<i64>,
        now: i64,
        out: &mut Vec<Report>,
    ) {
        let (per_ticklot, per_lot) = (
            i128::from(self.rules.quote_per_ticklot),
            i128::from(self.rules.base_per_lot),
        );
        let scheduled = self.scheduled();
        if scheduled && now >= ledger.feebook.next_roll {
            ledger.fee_roll(now);
        }
        let (mut maker_rate, mut taker_rate) = (self.rules.maker_rate, self.rules.taker_rate);
        let (mut t_ref, mut t_simple, mut m_simple) = (0, true, true);
        if scheduled {
            t_ref = self.fee_ref(ledger, self.order(taker).account);
            let r = &ledger.feebook.refs[t_ref as usize];
            (t_simple, taker_rate) = (r.simple, r.taker);
        }
        let mut t_volume = 0i128;
        let t = self.order(taker);
        let buying = t.side == Side::Buy;
        let (t_base, t_quote) = (t.base_bal, t.quote_bal);
        let (t_recv, m_recv) = if buying {
            (self.base, self.quote)
        } else {
            (self.quote, self.base)
        };
        let lock_price = if buying { limit } else { None };
        let taker_rests = t.tif == Some(Tif::Gtc);
        let t_key = (t.stp_mode != Stp::None).then_some(t.stp_key());
        let opposite = if buying { Side::Sell } else { Side::Buy };
        let (mut t_fees, mut m_fees, mut traded) = (0i128, 0i128, 0i128);
        while self.order(taker).leaves > 0 {
            let Some(price) = (if buying {
                self.best_ask()
            } else {
                self.best_bid()
            }) else {
                break;
            };
            if let Some(limit) = limit {
                if (buying && price > limit) || (!buying && price < limit) {
                    break;
                }
            }
            let mut level_fill = 0i64;
            loop {
                if self.order(taker).leaves == 0 {
                    break;
                }
                let Some(level) = self.book(opposite).level_mut(price) else {
                    break;
                };
                let Some(&maker) = level.orders.front() else {
                    break;
                };
                if !self.live(maker) {
                    if let Some(level) = self.book(opposite).level_mut(price) {
                        level.orders.pop_front();
                    }
                    continue;
                }
                if Some(self.order(maker).stp_key()) == t_key {
                    self.prevent(ledger, taker, maker, price, now, out);
                    continue;
                }
                let fill = self.order(taker).leaves.min(self.order(maker).leaves);
                level_fill += fill;
                let notional = i128::from(price) * i128::from(fill);
                let quote_units = notional * per_ticklot;
                let base_units = i128::from(fill) * per_lot;
                let t = self.order_mut(taker);
                t.leaves -= fill;
                t.cum_qty += fill;
                t.add_cum_quote(notional);
                let m = self.order_mut(maker);
                m.leaves -= fill;
                m.cum_qty += fill;
                m.add_cum_quote(notional);
                let (m_base, m_quote, m_account) = (m.base_bal, m.quote_bal, m.account);
                let mut m_ref = 0;
                if scheduled {
                    t_volume += quote_units;
                    m_ref = self.fee_ref(ledger, m_account);
                    let r = &mut ledger.feebook.refs[m_ref as usize];
                    r.volume += quote_units;
                    (m_simple, maker_rate) = (r.simple, r.maker);
                }
                // (units, asset) of each side's commission: simple rates inline, the rest
                // through the fee book, which also credits what the side receives
                let (t_fee, m_fee);
                if buying {
                    let release = lock_price.map_or(quote_units, |p| {
                        i128::from(p) * i128::from(fill) * per_ticklot
                    });
                    let b = ledger.get_mut(t_quote);
                    b.locked -= release;
                    b.free += release - quote_units;
                    self.order_mut(taker).add_locked(-release);
                    if t_simple {
                        t_fee = (fee(base_units, taker_rate), t_recv);
                        ledger.get_mut(t_base).free += base_units - t_fee.0;
                        t_fees += t_fee.0;
                    } else {
                        t_fee =
                            ledger.fee_charge(t_ref, false, true, base_units, quote_units, t_base);
                    }
                    ledger.get_mut(m_base).locked -= base_units;
                    self.order_mut(maker).add_locked(-base_units);
                    if m_simple {
                        m_fee = (fee(quote_units, maker_rate), m_recv);
                        ledger.get_mut(m_quote).free += quote_units - m_fee.0;
                        m_fees += m_fee.0;
                    } else {
                        m_fee =
                            ledger.fee_charge(m_ref, true, false, base_units, quote_units, m_quote);
                    }
                } else {
                    ledger.get_mut(t_base).locked -= base_units;
                    self.order_mut(taker).add_locked(-base_units);
                    if t_simple {
                        t_fee = (fee(quote_units, taker_rate), t_recv);
                        ledger.get_mut(t_quote).free += quote_units - t_fee.0;
                        t_fees += t_fee.0;
                    } else {
                        t_fee = ledger.fee_charge(
                            t_ref,
                            false,
                            false,
                            base_units,
                            quote_units,
                            t_quote,
                        );
                    }
                    ledger.get_mut(m_quote).locked -= quote_units;
                    self.order_mut(maker).add_locked(-quote_units);
                    if m_simple {
                        m_fee = (fee(base_units, maker_rate), m_recv);
                        ledger.get_mut(m_base).free += base_units - m_fee.0;
                        m_fees += m_fee.0;
                    } else {
                        m_fee =
                            ledger.fee_charge(m_ref, true, true, base_units, quote_units, m_base);
                    }
                }
                self.last_trade_id += 1;
                let trade_id = self.last_trade_id;
                let t = self.order_mut(taker);
                t.status = if t.leaves == 0 {
                    Status::Filled
                } else {
                    Status::PartiallyFilled
                };
                let t_working = taker_rests && t.leaves > 0;
                let m = self.order_mut(maker);
                let maker_done = m.leaves == 0;
                m.status = if maker_done {
                    Status::Filled
                } else {
                    Status::PartiallyFilled
                };
                if maker_done {
                    if let Some(level) = self.book(opposite).level_mut(price) {
                        level.count -= 1;
                        level.orders.pop_front();
                    }
                    if self.order(maker).locked() != 0 {
                        self.release(ledger, maker);
                    }
                    self.retire(ledger, maker);
                    self.remember(maker);
                }
                self.seq += 1;
                let mut report = self.report(taker, ExecType::Trade, now);
                report.last_qty = fill;
                report.last_price = price;
                (report.commission, report.commission_asset) = (t_fee.0, Some(t_fee.1));
                report.trade_id = trade_id;
                report.is_working = t_working;
                out.push(report);
                self.seq += 1;
                let mut report = self.report(maker, ExecType::Trade, now);
                report.last_qty = fill;
                report.last_price = price;
                (report.commission, report.commission_asset) = (m_fee.0, Some(m_fee.1));
                report.trade_id = trade_id;
                report.is_maker = true;
                report.is_working = !maker_done;
                out.push(report);
                let m = self.order(maker);
                if m.list_id() >= 0 && m.cum_qty == fill {
                    self.oco_activated(ledger, maker, now, out);
                }
            }
            let mut empty = true;
            if let Some(level) = self.book(opposite).level_mut(price) {
                level.qty -= level_fill;
                empty = level.count == 0;
            }
            if level_fill != 0 {
                traded += i128::from(level_fill) * i128::from(price);
                // the reference window's sums stay far inside 128 bits for i64 trades
                let _ = self.avg_price_mut().record(now, price, level_fill);
                self.fee_traded(ledger, price);
                if !self.stops.is_empty() {
                    self.trade_prices.push(price);
                }
            }
            if empty {
                self.book(opposite).drop_level(price);
            }
        }
        self.traded_ticklots += traded;
        if t_volume != 0 {
            ledger.feebook.refs[t_ref as usize].volume += t_volume;
        }
        if t_fees != 0 || m_fees != 0 {
            ledger.add_fee(t_recv, t_fees);
            ledger.add_fee(m_recv, m_fees);
        }
    }

    /// Self-trade prevention between `taker` and `maker`, the front order of its level.
    fn prevent(
        &mut self,
        ledger: &mut Ledger,
        taker: OrderRef,
        maker: OrderRef,
        price: i64,
        now: i64,
        out: &mut Vec<Report>,
    ) {
        let (t, m) = (self.order(taker), self.order(maker));
        let mut mode = t.stp_mode;
        if mode == Stp::Transfer && (m.stp_mode != Stp::Transfer || m.account == t.account) {
            mode = Stp::Decrement;
        }
        let (taker_q, maker_q) = match mode {
            Stp::Decrement | Stp::Transfer => {
                let q = t.leaves.min(m.leaves);
                (q, q)
            }
            _ => (
                if matches!(mode, Stp::ExpireTaker | Stp::ExpireBoth) {
                    t.leaves
                } else {
                    0
                },
                if matches!(mode, Stp::ExpireMaker | Stp::ExpireBoth) {
                    m.leaves
                } else {
                    0
                },
            ),
        };
        let (taker_id, maker_id, opposite) = (t.order_id, m.order_id, m.side);
        self.last_prevented_match_id += 1;
        let match_id = self.last_prevented_match_id;
        if mode == Stp::Transfer {
            self.transfer(ledger, taker, maker, price, taker_q);
        }
        let unlock = mode != Stp::Transfer;
        if taker_q != 0 {
            self.take_away(ledger, taker, taker_q, unlock);
            self.seq += 1;
            let t = self.order(taker);
            let working = t.leaves > 0 && t.tif == Some(Tif::Gtc);
            out.push(self.prevented(
                taker, taker_q, match_id, price, maker_id, false, working, now,
            ));
        }
        if maker_q != 0 {
            self.take_away(ledger, maker, maker_q, unlock);
            let left = self.order(maker).leaves;
            if let Some(level) = self.book(opposite).level_mut(price) {
                level.qty -= maker_q;
                if left == 0 {
                    level.count -= 1;
                    level.orders.pop_front();
                }
            }
            if left == 0 {
                self.retire(ledger, maker);
                self.remember(maker);
                self.release(ledger, maker);
            }
            self.seq += 1;
            out.push(self.prevented(
                maker,
                maker_q,
                match_id,
                price,
                taker_id,
                true,
                left > 0,
                now,
            ));
            if left == 0 && self.order(maker).list_id() >= 0 {
                self.oco_ended(ledger, maker, now, out, false);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn prevented(
        &self,
        r: OrderRef,
        qty: i64,
        match_id: i64,
        price: i64,
        counter: i64,
        is_maker: bool,
        working: bool,
        now: i64,
    ) -> Report {
        let mut report = self.report(r, ExecType::TradePrevention, now);
        report.is_maker = is_maker;
        report.is_working = working;
        report.prevented_match_id = match_id;
        report.last_prevented_qty = qty;
        report.prevented_price = price;
        report.counter_order_id = counter;
        report
    }

    /// Remove prevented quantity from an order, releasing what it locked for it.
    fn take_away(&mut self, ledger: &mut Ledger, r: OrderRef, qty: i64, unlock: bool) {
        let o = self.order_mut(r);
        o.leaves -= qty;
        o.extra_mut().prevented += qty;
        if o.leaves == 0 {
            o.status = Status::ExpiredInMatch;
        }
        if unlock {
            self.unlock(ledger, r, qty);
        }
    }

    /// Release what an order locked for `qty` lots it will no longer trade.
    pub(super) fn unlock(&mut self, ledger: &mut Ledger, r: OrderRef, qty: i64) {
        let (per_lot, per_ticklot) = (
            i128::from(self.rules.base_per_lot),
            i128::from(self.rules.quote_per_ticklot),
        );
        let o = self.order_mut(r);
        let (amount, bal) = if o.side == Side::Sell {
            (i128::from(qty) * per_lot, o.base_bal)
        } else if o.otype != OrderType::Market {
            (
                i128::from(o.price) * i128::from(qty) * per_ticklot,
                o.quote_bal,
            )
        } else {
            return; // a MARKET BUY's lock is an estimate: the rest goes back when it ends
        };
        o.add_locked(-amount);
        let b = ledger.get_mut(bal);
        b.locked -= amount;
        b.free += amount;
    }

    /// TRANSFER: the prevented quantity changes hands at the maker's price, with no fee.
    fn transfer(
        &mut self,
        ledger: &mut Ledger,
        taker: OrderRef,
        maker: OrderRef,
        price: i64,
        qty: i64,
    ) {
        let per_ticklot = i128::from(self.rules.quote_per_ticklot);
        let base_units = i128::from(qty) * i128::from(self.rules.base_per_lot);
        let quote_units = i128::from(price) * i128::from(qty) * per_ticklot;
        let (buyer, seller) = if self.order(taker).side == Side::Buy {
            (taker, maker)
        } else {
            (maker, taker)
        };
        let s = self.order_mut(seller);
        s.add_locked(-base_units);
        let (s_base, s_quote) = (s.base_bal, s.quote_bal);
        ledger.get_mut(s_base).locked -= base_units;
        ledger.get_mut(s_quote).free += quote_units;
        let b = self.order_mut(buyer);
        let lock = if b.otype != OrderType::Market {
            i128::from(b.price) * i128::from(qty) * per_ticklot
        } else {
            quote_units
        };
        b.add_locked(-lock);
        let (b_base, b_quote) = (b.base_bal, b.quote_bal);
        let q = ledger.get_mut(b_quote);
        q.locked -= lock;
        q.free += lock - quote_units;
        ledger.get_mut(b_base).free += base_units;
    }
}
