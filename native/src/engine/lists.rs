//! Order lists (`bot4/venue/lists.py`): OCO, OTO and OTOCO as the venue defines them, the
//! leg rules, and one list's state. The engine moves the orders (`contingent`).

use std::sync::Arc;

use super::{OrderType, Refusal, Side};
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
