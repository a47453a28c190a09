//! Request checks (`bot4/venue/checks.py`): the symbol filters in the venue's order,
//! notional, the liquidity a taker meets, and open-order lookups. Nothing here changes the
//! engine's state (the average price's read cursor is a cache).

use super::{Engine, OrderType, Refusal, Side, Stp, StpKey};
use crate::ledger::{AccountId, Ledger};

/// The venue's client id rule: 1 to 36 of `A-Za-z0-9_-`.
pub fn client_id_ok(cid: &str) -> bool {
    (1..=36).contains(&cid.len())
        && cid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The refusal of a client id that breaks the rule (`_bad_client_id` for a string).
pub fn bad_client_id(name: &'static str, cid: &str) -> Refusal {
    if cid.is_empty() {
        Refusal::Error("EMPTY_NEW_CL_ORD_ID")
    } else {
        Refusal::Call("illegal_client_id", name)
    }
}

fn filter(name: &'static str) -> Refusal {
    Refusal::Call("filter_failure", name)
}

/// ceil(a / b) for b > 0.
fn ceil_div(a: i128, b: i128) -> i128 {
    -((-a).div_euclid(b))
}

/// Whether `t` waits for a trigger (a stop-loss or take-profit type).
pub fn is_stop_type(t: OrderType) -> bool {
    matches!(
        t,
        OrderType::StopLoss
            | OrderType::StopLossLimit
            | OrderType::TakeProfit
            | OrderType::TakeProfitLimit
    )
}

impl Engine {
    /// The order type is the symbol's and the symbol trades (the first value checks of
    /// `check_shape`).
    pub fn check_type_and_status(&self, otype: OrderType) -> Result<(), Refusal> {
        if self.rules.order_types & (1 << otype as u8) == 0 {
            return Err(Refusal::Call("type_not_supported", otype.text()));
        }
        if !self.trading {
            return Err(Refusal::Error("MARKET_CLOSED"));
        }
        Ok(())
    }

    /// The value rules of a new order's shape, in the order of `bot4.venue.checks.
    /// check_shape` (the types are the caller's: a Python edge, or the batch decoder).
    pub fn check_shape(&self, req: &super::NewRequest) -> Result<(), Refusal> {
        let (stop_price, trailing) = (req.stop_price, req.trailing_delta);
        let stopish = stop_price != 0 || trailing != 0;
        if stopish && (stop_price < 0 || trailing < 0) {
            let name = if stop_price < 0 {
                "stopPrice"
            } else {
                "trailingDelta"
            };
            return Err(Refusal::Call("invalid_parameter", name));
        }
        self.check_type_and_status(req.otype)?;
        let rules = &self.rules;
        if let Some(mode) = req.stp_mode {
            if rules.stp_allowed & (1 << mode as u8) == 0 {
                return Err(Refusal::Error("STP_MODE_NOT_ALLOWED"));
            }
        }
        let (tif, price, qty, qoq) = (req.tif, req.price, req.quantity, req.quote_order_qty);
        let otype = req.otype;
        match otype {
            OrderType::Limit | OrderType::LimitMaker => {
                if otype == OrderType::Limit && tif.is_none() {
                    return Err(Refusal::Call("mandatory_param", "timeInForce"));
                }
                if otype == OrderType::LimitMaker && tif.is_some() {
                    return Err(Refusal::Error("TIF_NOT_REQUIRED"));
                }
                if qoq != 0 {
                    return Err(Refusal::Call("param_not_required", "quoteOrderQty"));
                }
            }
            OrderType::Market => {
                if tif.is_some() {
                    return Err(Refusal::Error("TIF_NOT_REQUIRED"));
                }
                if price != 0 {
                    return Err(Refusal::Call("param_not_required", "price"));
                }
                if qty != 0 && qoq != 0 {
                    return Err(Refusal::Error("UNSUPPORTED_COMBINATION"));
                }
                if qty == 0 && qoq == 0 {
                    return Err(Refusal::Call2("one_of_params", "quantity", "quoteOrderQty"));
                }
                if qoq != 0 {
                    if qoq < 0 {
                        return Err(Refusal::Call("invalid_parameter", "quoteOrderQty"));
                    }
                    if !rules.quote_order_qty_market_allowed {
                        return Err(Refusal::Call(
                            "not_supported",
                            "Quote order qty market orders",
                        ));
                    }
                }
            }
            _ => {
                if !stopish {
                    return Err(Refusal::Call2(
                        "one_of_params",
                        "stopPrice",
                        "trailingDelta",
                    ));
                }
                if qoq != 0 {
                    return Err(Refusal::Call("param_not_required", "quoteOrderQty"));
                }
                if matches!(otype, OrderType::StopLoss | OrderType::TakeProfit) {
                    if tif.is_some() {
                        return Err(Refusal::Error("TIF_NOT_REQUIRED"));
                    }
                    if price != 0 {
                        return Err(Refusal::Call("param_not_required", "price"));
                    }
                } else if tif.is_none() {
                    return Err(Refusal::Call("mandatory_param", "timeInForce"));
                }
                if trailing != 0 && !rules.allow_trailing_stop {
                    return Err(Refusal::Call("not_supported", "Trailing stop orders"));
                }
            }
        }
        if stopish && !is_stop_type(otype) {
            let name = if stop_price != 0 {
                "stopPrice"
            } else {
                "trailingDelta"
            };
            return Err(Refusal::Call("param_not_required", name));
        }
        Ok(())
    }

    /// The request's shape (`check_shape`), then the filters of a plain order that need no
    /// account state: client id, account, PRICE_FILTER, PERCENT_PRICE(_BY_SIDE),
    /// LOT_SIZE, MARKET_LOT_SIZE, NOTIONAL, MIN_NOTIONAL.
    pub fn check_filters(
        &mut self,
        ledger: &Ledger,
        req: &super::NewRequest,
        now: i64,
    ) -> Result<AccountId, Refusal> {
        self.check_shape(req)?;
        if let Some(cid) = req.client_order_id.as_deref() {
            if !client_id_ok(cid) {
                return Err(bad_client_id("newClientOrderId", cid));
            }
        }
        let account = match ledger.find_account(&req.account) {
            Some(id) if ledger.is_known(id) => id,
            _ => return Err(Refusal::Error("UNKNOWN_ACCOUNT")),
        };
        let r = &self.rules;
        let (qty, price, qoq) = (req.quantity, req.price, req.quote_order_qty);
        let (stop_price, trailing) = (req.stop_price, req.trailing_delta);
        if stop_price != 0
            && (stop_price < r.min_price
                || stop_price == i64::MAX
                || (r.max_price != 0 && stop_price > r.max_price))
        {
            return Err(filter("PRICE_FILTER"));
        }
        if trailing != 0 {
            let rise = super::contingent::fires_on_rise(req.otype, req.side);
            let bounds = if rise {
                r.trailing_above
            } else {
                r.trailing_below
            };
            if bounds.is_some_and(|(lo, hi)| trailing < lo || trailing > hi) {
                return Err(filter("TRAILING_DELTA"));
            }
        }
        let market = matches!(
            req.otype,
            OrderType::Market | OrderType::StopLoss | OrderType::TakeProfit
        );
        if !market {
            // i64::MAX stands for any price beyond 64 bits (the Python edge clamps them)
            if price < r.min_price
                || price <= 0
                || price == i64::MAX
                || (r.max_price != 0 && price > r.max_price)
            {
                return Err(filter("PRICE_FILTER"));
            }
            if let Some(name) = r.percent_filter {
                if let Some(reference) = self.avg_price_mut().reference(now) {
                    if !self.in_band(req.side, price, reference) {
                        return Err(filter(name));
                    }
                }
            }
        }
        let r = &self.rules;
        if qoq == 0 {
            if qty < r.min_qty || qty <= 0 || qty > r.max_qty {
                return Err(filter("LOT_SIZE"));
            }
            if market
                && (qty < r.market_min_qty
                    || (r.market_max_qty != 0 && qty > r.market_max_qty)
                    || qty % r.market_step != 0)
            {
                return Err(filter("MARKET_LOT_SIZE"));
            }
        }
        if !market {
            let notional = i128::from(price) * i128::from(qty);
            if r.min_notional.is_some_and(|lo| notional < lo)
                || r.max_notional.is_some_and(|hi| notional > hi)
            {
                return Err(filter("NOTIONAL"));
            }
            if r.legacy_min_notional.is_some_and(|lo| notional < lo) {
                return Err(filter("MIN_NOTIONAL"));
            }
            return Ok(account);
        }
        if req.otype == OrderType::Market {
            self.check_market_notional(qty, qoq, now)?;
        } else {
            self.check_stop_notional(stop_price, qty, now)?;
        }
        Ok(account)
    }

    /// NOTIONAL/MIN_NOTIONAL of a market-type stop, priced at its stop price (or, for a
    /// trailing order without one, at the average price), applied as to MARKET orders.
    fn check_stop_notional(&mut self, stop_price: i64, qty: i64, now: i64) -> Result<(), Refusal> {
        let (total, lots) = if stop_price != 0 {
            (i128::from(stop_price), 1)
        } else {
            match self.avg_price_mut().reference(now) {
                Some(reference) => reference,
                None => return Ok(()),
            }
        };
        let r = &self.rules;
        let lo = r.min_notional.filter(|_| r.min_notional_market);
        let hi = r.max_notional.filter(|_| r.max_notional_market);
        let legacy = r
            .legacy_min_notional
            .filter(|_| r.legacy_min_notional_market);
        let notional = i128::from(qty).checked_mul(total);
        let below = |limit: i128| less(notional, limit.checked_mul(lots));
        let above = |limit: i128| less(limit.checked_mul(lots), notional);
        if lo.is_some_and(below) || hi.is_some_and(above) {
            return Err(filter("NOTIONAL"));
        }
        if legacy.is_some_and(below) {
            return Err(filter("MIN_NOTIONAL"));
        }
        Ok(())
    }

    /// Whether `price` is inside the PERCENT_PRICE(_BY_SIDE) band of `side` for the
    /// reference (total, lots). The reference moves with every trade, so the bands are not
    /// worth dividing out each time: low = ceil(total*dn / (lots*dd)) <= price is
    /// total*dn <= price*lots*dd for a positive divisor (and price <= floor(total*un /
    /// (lots*ud)) likewise), exact and without a division; what does not fit 128 bits goes
    /// through the bands (`set_bands`).
    fn in_band(&mut self, side: Side, price: i64, reference: (i128, i128)) -> bool {
        let (total, lots) = reference;
        let [bid_up, bid_down, ask_up, ask_down] = self.rules.bands;
        let ((un, ud), (dn, dd)) = if side == Side::Buy {
            (bid_up, bid_down)
        } else {
            (ask_up, ask_down)
        };
        let p = i128::from(price);
        let products = || {
            let (low_den, high_den) = (lots.checked_mul(dd)?, lots.checked_mul(ud)?);
            if low_den <= 0 || high_den <= 0 {
                return None;
            }
            let (low_num, high_num) = (total.checked_mul(dn)?, total.checked_mul(un)?);
            Some(low_num <= p.checked_mul(low_den)? && p.checked_mul(high_den)? <= high_num)
        };
        if let Some(inside) = products() {
            return inside;
        }
        if Some(reference) != self.band_ref {
            self.set_bands(reference);
        }
        let (low, high) = if side == Side::Buy {
            self.bid_band
        } else {
            self.ask_band
        };
        low <= p && p <= high
    }

    /// PERCENT_PRICE(_BY_SIDE) as inclusive tick ranges for the reference (total, lots).
    fn set_bands(&mut self, reference: (i128, i128)) {
        let (total, lots) = reference;
        let [(bun, bud), (bdn, bdd), (aun, aud), (adn, add)] = self.rules.bands;
        let band = |down: (i128, i128), up: (i128, i128)| {
            let low = mul_div_ceil(total, down.0, lots, down.1);
            let high = mul_div_floor(total, up.0, lots, up.1);
            (low, high)
        };
        self.bid_band = band((bdn, bdd), (bun, bud));
        self.ask_band = band((adn, add), (aun, aud));
        self.band_ref = Some(reference);
    }

    /// NOTIONAL and MIN_NOTIONAL of a MARKET order where they apply to market orders.
    fn check_market_notional(&mut self, qty: i64, qoq: i64, now: i64) -> Result<(), Refusal> {
        let r = &self.rules;
        let lo = r.min_notional.filter(|_| r.min_notional_market);
        let hi = r.max_notional.filter(|_| r.max_notional_market);
        let legacy = r
            .legacy_min_notional
            .filter(|_| r.legacy_min_notional_market);
        if lo.is_none() && hi.is_none() && legacy.is_none() {
            return Ok(());
        }
        if qoq != 0 {
            let per = i128::from(r.quote_per_ticklot);
            let qoq = i128::from(qoq);
            let below = |limit: i128| limit.checked_mul(per).is_none_or(|v| qoq < v);
            let above = |limit: i128| limit.checked_mul(per).is_some_and(|v| qoq > v);
            if lo.is_some_and(below) || hi.is_some_and(above) {
                return Err(filter("NOTIONAL"));
            }
            if legacy.is_some_and(below) {
                return Err(filter("MIN_NOTIONAL"));
            }
            return Ok(());
        }
        let Some((total, lots)) = self.avg_price_mut().reference(now) else {
            return Err(Refusal::Error("NO_REFERENCE_PRICE"));
        };
        // qty x total against limit x lots; both sides fit 256 bits, compare exactly
        let notional = i128::from(qty).checked_mul(total);
        let below = |limit: i128| less(notional, limit.checked_mul(lots));
        let above = |limit: i128| less(limit.checked_mul(lots), notional);
        if lo.is_some_and(below) || hi.is_some_and(above) {
            return Err(filter("NOTIONAL"));
        }
        if legacy.is_some_and(below) {
            return Err(filter("MIN_NOTIONAL"));
        }
        Ok(())
    }

    /// Whether a `side` order at `price` would match now.
    pub(super) fn crosses(&self, side: Side, price: i64) -> bool {
        match side {
            Side::Buy => self.best_ask().is_some_and(|best| best <= price),
            Side::Sell => self.best_bid().is_some_and(|best| best >= price),
        }
    }

    /// What a taker on `side` meets, in matching order, given to `visit` as (price, quantity,
    /// is it its own) until `visit` returns false. Own orders come one by one only when STP
    /// applies to this taker; otherwise each level comes whole.
    pub(super) fn liquidity(
        &self,
        side: Side,
        limit: Option<i64>,
        key: StpKey,
        mode: Stp,
        mut visit: impl FnMut(i64, i64, bool) -> bool,
    ) {
        let book = match side {
            Side::Buy => &self.asks,
            Side::Sell => &self.bids,
        };
        let whole = mode == Stp::None || !self.has_open(key);
        for level in book.levels() {
            let price = level.price;
            if let Some(limit) = limit {
                if (side == Side::Buy && price > limit) || (side == Side::Sell && price < limit) {
                    return;
                }
            }
            if whole {
                if !visit(price, level.qty, false) {
                    return;
                }
            } else {
                for &r in &level.orders {
                    if self.live(r) {
                        let o = self.order(r);
                        if !visit(price, o.leaves, o.stp_key() == key) {
                            return;
                        }
                    }
                }
            }
        }
    }

    /// The lots a quoteOrderQty MARKET order takes: the most whose notional fits in `qoq`.
    pub(super) fn quote_quantity(
        &self,
        side: Side,
        qoq: i64,
        key: StpKey,
        mode: Stp,
    ) -> Result<i64, Refusal> {
        let per = i128::from(self.rules.quote_per_ticklot);
        let (mut left, mut lots, mut liquidity) = (i128::from(qoq), 0i128, 0i128);
        self.liquidity(side, None, key, mode, |price, qty, own| {
            if own && mode == Stp::ExpireMaker {
                return true;
            }
            liquidity += i128::from(qty);
            let unit = i128::from(price) * per;
            let take = i128::from(qty).min(left / unit);
            lots += take;
            left -= take * unit;
            take == i128::from(qty)
        });
        let r = &self.rules;
        if r.market_max_qty != 0 {
            lots = lots.min(i128::from(r.market_max_qty));
        }
        lots -= lots % i128::from(r.market_step);
        let minimum = i128::from(r.min_qty.max(r.market_min_qty).max(1));
        if lots < minimum {
            if liquidity < minimum {
                let name = if r.market_min_qty > r.min_qty {
                    "MARKET_LOT_SIZE"
                } else {
                    "LOT_SIZE"
                };
                return Err(Refusal::Call("liquidity_below_min", name));
            }
            return Err(filter("LOT_SIZE"));
        }
        // at most the book's liquidity, which is a sum of i64 quantities on one level each
        i64::try_from(lots).map_err(|_| filter("LOT_SIZE"))
    }

    /// What a MARKET order locks: at least the quote it will spend (BUY), or the base (SELL).
    /// `None` when the amount is beyond 128 bits (no balance can hold it).
    pub(super) fn market_cost(
        &self,
        side: Side,
        qty: i64,
        qoq: i64,
        key: StpKey,
        mode: Stp,
    ) -> Option<i128> {
        let r = &self.rules;
        if side == Side::Sell {
            return i128::from(qty).checked_mul(i128::from(r.base_per_lot));
        }
        if qoq != 0 {
            return Some(i128::from(qoq));
        }
        let (mut left, mut cost) = (i128::from(qty), 0i128);
        self.liquidity(Side::Buy, None, key, mode, |price, level_qty, own| {
            if own {
                if mode == Stp::ExpireMaker {
                    return true;
                }
                if mode == Stp::ExpireTaker || mode == Stp::ExpireBoth {
                    return false;
                }
            }
            let take = left.min(i128::from(level_qty));
            cost += take * i128::from(price);
            left -= take;
            left != 0
        });
        cost.checked_mul(i128::from(r.quote_per_ticklot))
    }

    /// An open order of `account` by id and/or client id, or the venue's -2011.
    pub(super) fn find_open(
        &self,
        account: AccountId,
        order_id: Option<i64>,
        cid: Option<&str>,
    ) -> Result<crate::book::OrderRef, Refusal> {
        if order_id.is_none() && cid.is_none() {
            return Err(Refusal::Error("CANCEL_IDS_MISSING"));
        }
        let found = self.open_ref(account, order_id, cid);
        match found {
            Some(r) => {
                let o = self.order(r);
                if o.account != account
                    || (order_id.is_some() && cid.is_some_and(|c| &*o.client_order_id != c))
                {
                    Err(Refusal::Error("UNKNOWN_ORDER"))
                } else {
                    Ok(r)
                }
            }
            None => Err(Refusal::Error("UNKNOWN_ORDER")),
        }
    }
}

/// a < b where `None` is beyond every value (an overflowed product).
fn less(a: Option<i128>, b: Option<i128>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a < b,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

/// floor(a*b / (c*d)) in exact arithmetic (all positive but `a`), saturating past 128 bits.
fn mul_div_floor(a: i128, b: i128, c: i128, d: i128) -> i128 {
    match (a.checked_mul(b), c.checked_mul(d)) {
        (Some(n), Some(m)) => n.div_euclid(m),
        _ => big_div(a, b, c, d, false),
    }
}

fn mul_div_ceil(a: i128, b: i128, c: i128, d: i128) -> i128 {
    match (a.checked_mul(b), c.checked_mul(d)) {
        (Some(n), Some(m)) => ceil_div(n, m),
        _ => big_div(a, b, c, d, true),
    }
}

fn big_div(a: i128, b: i128, c: i128, d: i128, ceil: bool) -> i128 {
    use num_bigint::BigInt;
    use num_integer_div::div_floor;
    let n = BigInt::from(a) * BigInt::from(b);
    let m = BigInt::from(c) * BigInt::from(d);
    let q = if ceil {
        -div_floor(&-n, &m)
    } else {
        div_floor(&n, &m)
    };
    i128::try_from(q).unwrap_or(if ceil { i128::MAX } else { i128::MIN })
}

mod num_integer_div {
    use num_bigint::BigInt;
    use num_traits::Signed;

    /// Floor division of big integers (the divisor is positive).
    pub fn div_floor(n: &BigInt, m: &BigInt) -> BigInt {
        let q = n / m;
        if (n % m) != BigInt::from(0) && n.is_negative() {
            q - 1
        } else {
            q
        }
    }
}
