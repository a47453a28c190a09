//! Order lists (`bot4/venue/lists.py`): OCO, OTO and OTOCO as the venue defines them, the
//! leg rules, and one list's state. The engine moves the orders (`contingent`).

use std::sync::Arc;

use super::{OrderType, Refusal, Rules, Side};
use crate::book::OrderRef;
use crate::ledger::AccountId;

use super::{Contingency, ListOrderStatus, ListStatusType};

/// A leg type an OCO pair may hold: a stop-loss, a take-profit or a LIMIT_MAKER.
fn oco_type(t: OrderType) -> bool {
    !matches!(t, OrderType::Limit | OrderType::Market)
}

fn stop_loss(t: OrderType) -> bool {
    matches!(t, OrderType::StopLoss | OrderType::StopLossLimit)
}

fn take_profit(t: OrderType) -> bool {
    matches!(t, OrderType::TakeProfit | OrderType::TakeProfitLimit)
}

/// The venue's leg-type and position rules of an OCO pair (`side` None: not a side, which
/// the legs' own checks refuse later; the rules then read it as BUY, as Python does).
pub fn check_oco_legs(
    side: Option<Side>,
    above: OrderType,
    below: OrderType,
) -> Result<(), Refusal> {
    if !oco_type(above) || !oco_type(below) {
        return Err(Refusal::Error("OCO_TYPE_REJECTED"));
    }
    let sell = side == Some(Side::Sell);
    if !stop_loss(above) && !stop_loss(below) {
        if above == OrderType::LimitMaker && below == OrderType::LimitMaker {
            return Err(Refusal::Error("BOTH_CANNOT_BE_LIMIT"));
        }
        if take_profit(above) && take_profit(below) {
            return Err(Refusal::Error(if sell {
                "SELL_PROFIT_MUST_BE_ABOVE"
            } else {
                "BUY_PROFIT_MUST_BE_BELOW"
            }));
        }
    }
    if sell {
        if stop_loss(above) {
            return Err(Refusal::Error("SELL_STOP_MUST_BE_BELOW"));
        }
        if below == OrderType::LimitMaker {
            return Err(Refusal::Error("SELL_LIMIT_MUST_BE_ABOVE"));
        }
        if take_profit(below) {
            return Err(Refusal::Error("SELL_PROFIT_MUST_BE_ABOVE"));
        }
    } else {
        if stop_loss(below) {
            return Err(Refusal::Error("BUY_STOP_MUST_BE_ABOVE"));
        }
        if above == OrderType::LimitMaker {
            return Err(Refusal::Error("BUY_LIMIT_MUST_BE_BELOW"));
        }
        if take_profit(above) {
            return Err(Refusal::Error("BUY_PROFIT_MUST_BE_BELOW"));
        }
    }
    Ok(())
}

/// An OCO request's checks before its legs' own: the symbol allows OCO, and the pair's
/// types (None: not an order type) and positions are a pair's.
pub fn gate_oco(
    rules: &Rules,
    side: Option<Side>,
    above: Option<OrderType>,
    below: Option<OrderType>,
) -> Result<(), Refusal> {
    if !rules.oco_allowed {
        return Err(Refusal::Call("not_supported", "OCO orders"));
    }
    pair_types(side, above, below)
}

fn pair_types(
    side: Option<Side>,
    above: Option<OrderType>,
    below: Option<OrderType>,
) -> Result<(), Refusal> {
    let (Some(above), Some(below)) = (above, below) else {
        return Err(Refusal::Error("OCO_TYPE_REJECTED"));
    };
    check_oco_legs(side, above, below)
}

/// An OTO request's checks before its legs' own: the symbol allows OTO, and a MARKET
/// pending order is not given by quoteOrderQty.
pub fn gate_oto(rules: &Rules, pending_market_by_quote: bool) -> Result<(), Refusal> {
    if !rules.oto_allowed {
        return Err(Refusal::Call("not_supported", "OTO orders"));
    }
    if pending_market_by_quote {
        return Err(Refusal::Error("PENDING_QUOTE_QTY"));
    }
    Ok(())
}

/// An OTOCO request's checks before its legs' own: the symbol allows OTO and OCO, the pair
/// is a pair, and its levels (type, price, stopPrice of each leg) are in order.
pub fn gate_otoco(
    rules: &Rules,
    side: Option<Side>,
    above: (Option<OrderType>, i64, i64),
    below: (Option<OrderType>, i64, i64),
) -> Result<(), Refusal> {
    if !rules.oto_allowed || !rules.oco_allowed {
        return Err(Refusal::Call("not_supported", "OTOCO orders"));
    }
    pair_types(side, above.0, below.0)?;
    let at = |(t, price, stop): (Option<OrderType>, i64, i64)| {
        level(t.unwrap_or(OrderType::StopLoss), price, stop)
    };
    check_oco_prices(at(above), at(below), None)
}

/// An OTO or OTOCO's working order is a LIMIT or LIMIT_MAKER, and every leg is the same
/// account's.
pub fn gate_triggering(working: Option<OrderType>, same_account: bool) -> Result<(), Refusal> {
    if !matches!(working, Some(OrderType::Limit | OrderType::LimitMaker)) {
        return Err(Refusal::Error("WORKING_TYPE_REJECTED"));
    }
    if !same_account {
        return Err(Refusal::Call("invalid_parameter", "account"));
    }
    Ok(())
}

/// A list cancel names a known account and the list (by id, client id or both).
pub fn gate_cancel_list(known: bool, by_id: bool, by_client_id: bool) -> Result<(), Refusal> {
    if !known {
        return Err(Refusal::Error("UNKNOWN_ACCOUNT"));
    }
    if !by_id && !by_client_id {
        return Err(Refusal::Call2(
            "one_of_params",
            "orderListId",
            "listClientOrderId",
        ));
    }
    Ok(())
}

/// The price a leg stands for: a LIMIT_MAKER's or TAKE_PROFIT_LIMIT's price, else its stop.
pub fn level(otype: OrderType, price: i64, stop_price: i64) -> i64 {
    if matches!(otype, OrderType::LimitMaker | OrderType::TakeProfitLimit) {
        price
    } else {
        stop_price
    }
}

/// Above leg's level > last price > below leg's level (a trailing-only leg has none).
pub fn check_oco_prices(high: i64, low: i64, last: Option<i64>) -> Result<(), Refusal> {
    let bad = Err(Refusal::Error("BAD_PRICES"));
    if high != 0 && low != 0 && high <= low {
        return bad;
    }
    if let Some(last) = last {
        if (high != 0 && high <= last) || (low != 0 && low >= last) {
            return bad;
        }
    }
    Ok(())
}

/// One order list's legs and status.
#[derive(Debug, Clone)]
pub struct OrderList {
    pub list_id: i64,
    pub client_id: Arc<str>,
    pub account: AccountId,
    pub contingency: Contingency,
    /// Every leg, in placement order.
    pub orders: Vec<OrderRef>,
    /// OTO/OTOCO: the first leg, and the legs placed when it fills.
    pub working: Option<OrderRef>,
    pub pending: Vec<OrderRef>,
    /// The OCO pair (an OCO, or an OTOCO's pending legs).
    pub oco: Vec<OrderRef>,
    /// One OCO leg has activated.
    pub oco_done: bool,
    pub status: ListOrderStatus,
}

impl OrderList {
    pub fn status_type(&self) -> ListStatusType {
        if self.status == ListOrderStatus::AllDone {
            ListStatusType::AllDone
        } else {
            ListStatusType::ExecStarted
        }
    }
}

/// A listStatus event (`bot4.core.events.ListStatus`): it rides with the reports of the
/// same request and takes the `seq` of the latest report before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListEvent {
    pub seq: i64,
    pub list_id: i64,
    pub contingency: Contingency,
    pub status_type: ListStatusType,
    pub status: ListOrderStatus,
    pub client_id: Arc<str>,
    pub transact_time: i64,
    pub orders: Vec<(i64, super::ClientId)>,
}
