//! The matching engine of one symbol, as `bot4/venue/engine.py` and the layers under it
//! define it (the executable specification), built in the same layers, a module each:
//! `orderstate` (what the engine holds, queries, the digest, reports) < `checks` (the
//! venue's filters and lookups) < `matching` (crossing, settlement, STP) < `front` (submit,
//! cancel, cancel-all, amend), with `contingent` (stop orders) between matching and the
//! front.
//!
//! Balances live in the venue's shared [`Ledger`], passed to every call that moves money.
//! Time is an argument and nothing here draws a random number or iterates a hash map where
//! the order could show, so the same requests give the same reports.
//!
//! This part covers every order type (LIMIT with GTC/IOC/FOK, LIMIT_MAKER, MARKET by
//! quantity and by quoteOrderQty, stop-loss and take-profit, plain, limit and trailing, with
//! their cascades), the six STP modes and the symbol's own commission rates; order lists,
//! fee schedules and exchange filters are refused with [`Refusal::Unsupported`] (the Python
//! backend serves them).

mod batch;
mod checks;
mod contingent;
mod front;
mod index;
mod lists;
mod matching;
mod orderstate;
mod recent;

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

pub use compact_str::CompactString;

use rustc_hash::FxHashMap as HashMap;

use crate::avgprice::AveragePrice;
use crate::book::{BookSide, OrderRef};
use crate::ledger::{AccountId, AssetId, BalanceId};
use crate::money::MoneyError;
use crate::stops::StopBook;
pub use recent::Recent;

pub use batch::{
    BatchError, Leg, OcoBatch, OtoBatch, OtocoBatch, RESULT_SIZE, Request, decode, refusal_index,
};
pub use checks::{bad_client_id, client_id_ok};
pub use contingent::{CancelListRequest, OcoRequest, OtoRequest};
pub use front::{AmendRequest, CancelRequest, NewRequest};
pub use lists::{ListEvent, gate_cancel_list, gate_oco, gate_oto, gate_otoco, gate_triggering};

macro_rules! names {
    ($name:ident { $($variant:ident = $text:literal),* $(,)? }) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum $name { $($variant),* }

        impl $name {
            /// Every value, in the order of the Python enumeration of the same name.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The venue's spelling (the Python enum's value).
            pub fn text(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }

            /// The value at `index` in `ALL`.
            pub fn from_index(index: u8) -> Option<$name> {
                Self::ALL.get(index as usize).copied()
            }
        }
    };
}

names!(Side { Buy = "BUY", Sell = "SELL" });
names!(OrderType {
    Limit = "LIMIT",
    Market = "MARKET",
    LimitMaker = "LIMIT_MAKER",
    StopLoss = "STOP_LOSS",
    StopLossLimit = "STOP_LOSS_LIMIT",
    TakeProfit = "TAKE_PROFIT",
    TakeProfitLimit = "TAKE_PROFIT_LIMIT",
});
names!(Tif { Gtc = "GTC", Ioc = "IOC", Fok = "FOK" });
names!(Status {
    PendingNew = "PENDING_NEW",
    New = "NEW",
    PartiallyFilled = "PARTIALLY_FILLED",
    Filled = "FILLED",
    Canceled = "CANCELED",
    Rejected = "REJECTED",
    Expired = "EXPIRED",
    ExpiredInMatch = "EXPIRED_IN_MATCH",
});
names!(ExecType {
    New = "NEW",
    Canceled = "CANCELED",
    Replaced = "REPLACED",
    Rejected = "REJECTED",
    Trade = "TRADE",
    Expired = "EXPIRED",
    TradePrevention = "TRADE_PREVENTION",
});
names!(Expiry {
    None = "NONE",
    IocExpired = "UNFILLED_IOC_QUANTITY_EXPIRED",
    FokExpired = "UNFILLED_FOK_ORDER_EXPIRED",
    NoLiquidity = "INSUFFICIENT_LIQUIDITY",
    OcoTrigger = "OCO_TRIGGER",
    OtoPhaseOneExpired = "OTO_PHASE_ONE_EXPIRED",
});
names!(Stp {
    None = "NONE",
    ExpireTaker = "EXPIRE_TAKER",
    ExpireMaker = "EXPIRE_MAKER",
    ExpireBoth = "EXPIRE_BOTH",
    Decrement = "DECREMENT",
    Transfer = "TRANSFER",
});
names!(Contingency { Oco = "OCO", Oto = "OTO" });
names!(ListStatusType {
    Response = "RESPONSE",
    ExecStarted = "EXEC_STARTED",
    Updated = "UPDATED",
    AllDone = "ALL_DONE",
});
names!(ListOrderStatus { Executing = "EXECUTING", AllDone = "ALL_DONE", Reject = "REJECT" });
names!(Restriction { OnlyNew = "ONLY_NEW", OnlyPartial = "ONLY_PARTIALLY_FILLED" });

/// An order's client id: inline up to 24 bytes (the venue allows 36), so an order, its
/// reports and the batch decoder need no heap string for the usual ids.
pub type ClientId = CompactString;

/// `prefix` and the decimal `n`, without the formatting machinery (`format!` costs more
/// than the rest of a cancel).
pub(crate) fn numbered(prefix: &'static str, n: i64) -> ClientId {
    use compact_str::ToCompactString;
    let mut id = ClientId::const_new(prefix);
    id.push_str(&n.to_compact_string());
    id
}

/// What self-trade prevention compares: the account, or its tradeGroupId.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StpKey {
    Account(AccountId),
    Group(i64),
}

/// A refusal: the name of a `bot4.core.errors` constant, or of a function there and its
/// argument, so the codes and messages come from one place. `Unsupported` names what this
/// backend does not serve yet; `Internal` is a broken invariant, never expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refusal {
    Error(&'static str),
    Call(&'static str, &'static str),
    Call2(&'static str, &'static str, &'static str),
    Unsupported(&'static str),
    Internal(&'static str),
}

impl From<MoneyError> for Refusal {
    fn from(_: MoneyError) -> Self {
        Refusal::Internal("amount out of range")
    }
}

/// The symbol's rules in engine units (`bot4.core.instruments.Instrument`, compiled).
#[derive(Debug, Clone)]
pub struct Rules {
    pub symbol: String,
    pub base: String,
    pub quote: String,
    pub base_per_lot: i64,
    pub quote_per_ticklot: i64,
    pub min_price: i64,
    pub max_price: i64,
    pub min_qty: i64,
    pub max_qty: i64,
    pub market_min_qty: i64,
    pub market_max_qty: i64,
    pub market_step: i64,
    pub min_notional: Option<i128>,
    pub min_notional_market: bool,
    pub max_notional: Option<i128>,
    pub max_notional_market: bool,
    pub legacy_min_notional: Option<i128>,
    pub legacy_min_notional_market: bool,
    /// "PERCENT_PRICE" or "PERCENT_PRICE_BY_SIDE", if the symbol has one.
    pub percent_filter: Option<&'static str>,
    /// (numerator, denominator) of bid up, bid down, ask up, ask down.
    pub bands: [(i128, i128); 4],
    pub avg_price_mins: i64,
    pub max_num_orders: Option<i64>,
    pub max_num_amends: Option<i64>,
    pub max_num_algo_orders: Option<i64>,
    pub max_num_order_lists: Option<i64>,
    pub oco_allowed: bool,
    pub oto_allowed: bool,
    /// TRAILING_DELTA (min, max) basis points of a stop above the market, and below it.
    pub trailing_above: Option<(i64, i64)>,
    pub trailing_below: Option<(i64, i64)>,
    pub maker_rate: (i128, i128),
    pub taker_rate: (i128, i128),
    pub default_stp: Stp,
    pub quote_order_qty_market_allowed: bool,
    /// The order types the symbol allows, by `OrderType as u8` bit.
    pub order_types: u8,
    /// The STP modes the symbol allows, by `Stp as u8` bit.
    pub stp_allowed: u8,
    pub allow_trailing_stop: bool,
}

/// An accepted order as the engine tracks it. A million may rest, so it is kept small:
/// what only some orders use is in `Extra`, boxed (absent for a plain order), and
/// cum_quote and locked are split i128s so the struct aligns to 8 (144 bytes).
#[derive(Debug, Clone)]
pub struct Order {
    pub order_id: i64,
    pub client_order_id: ClientId,
    pub price: i64,
    pub qty: i64,
    pub created: i64,
    pub working_time: i64,
    pub leaves: i64,
    pub cum_qty: i64,
    cum_quote_w: Wide,
    locked_w: Wide,
    extra: Option<Box<Extra>>,
    pub account: AccountId,
    pub base_bal: BalanceId,
    pub quote_bal: BalanceId,
    /// When the order was registered as open (open orders list by it, oldest first).
    pub(crate) reg: u32,
    pub side: Side,
    pub otype: OrderType,
    pub tif: Option<Tif>,
    pub stp_mode: Stp,
    pub status: Status,
}

/// An i128 stored as two halves, so that it aligns to 8 like the rest of `Order`.
#[derive(Debug, Clone, Copy, Default)]
struct Wide {
    lo: u64,
    hi: i64,
}

impl Wide {
    fn new(v: i128) -> Self {
        Self {
            lo: v as u64,
            hi: (v >> 64) as i64,
        }
    }

    fn get(self) -> i128 {
        (i128::from(self.hi) << 64) | i128::from(self.lo)
    }
}

/// The fields of an order that plain orders leave at their defaults: stop, trailing and
/// list fields, quoteOrderQty, amends, what STP prevented, the trade group STP compares.
#[derive(Debug, Clone)]
pub struct Extra {
    pub quote_order_qty: i64,
    pub list_id: i64,
    pub stop_price: i64,
    pub trailing_delta: i64,
    /// A trailing order's low (BUY) or high (SELL) once active, when it has left the stop
    /// book (the book keeps it while the order waits).
    pub trail_ref: Option<i64>,
    pub trailing_time: i64,
    pub prevented: i64,
    pub amends: i64,
    /// The account's tradeGroupId when the order was placed (STP compares it).
    pub group: Option<i64>,
}

impl Extra {
    /// What a plain order has.
    const PLAIN: Extra = Extra {
        quote_order_qty: 0,
        list_id: -1,
        stop_price: 0,
        trailing_delta: 0,
        trail_ref: None,
        trailing_time: -1,
        prevented: 0,
        amends: 0,
        group: None,
    };
}

impl Order {
    /// A NEW order with nothing executed or locked; `extra` holds the rare fields.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        order_id: i64,
        client_order_id: ClientId,
        account: AccountId,
        (side, otype, tif, stp_mode): (Side, OrderType, Option<Tif>, Stp),
        (price, qty, now): (i64, i64, i64),
        (base_bal, quote_bal): (BalanceId, BalanceId),
        extra: Extra,
    ) -> Self {
        let plain = extra.quote_order_qty == 0
            && extra.list_id == -1
            && extra.stop_price == 0
            && extra.trailing_delta == 0
            && extra.group.is_none();
        Self {
            order_id,
            client_order_id,
            price,
            qty,
            created: now,
            working_time: now,
            leaves: qty,
            cum_qty: 0,
            cum_quote_w: Wide::default(),
            locked_w: Wide::default(),
            extra: (!plain).then(|| Box::new(extra)),
            account,
            base_bal,
            quote_bal,
            reg: 0,
            side,
            otype,
            tif,
            stp_mode,
            status: Status::New,
        }
    }

    fn extra(&self) -> &Extra {
        self.extra.as_deref().unwrap_or(&Extra::PLAIN)
    }

    /// The rare fields, made present on first write.
    pub fn extra_mut(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(|| Box::new(Extra::PLAIN))
    }

    pub fn cum_quote(&self) -> i128 {
        self.cum_quote_w.get()
    }

    pub fn set_cum_quote(&mut self, v: i128) {
        self.cum_quote_w = Wide::new(v);
    }

    pub fn add_cum_quote(&mut self, delta: i128) {
        self.set_cum_quote(self.cum_quote() + delta);
    }

    pub fn add_locked(&mut self, delta: i128) {
        self.set_locked(self.locked() + delta);
    }

    pub fn locked(&self) -> i128 {
        self.locked_w.get()
    }

    pub fn set_locked(&mut self, v: i128) {
        self.locked_w = Wide::new(v);
    }

    pub fn quote_order_qty(&self) -> i64 {
        self.extra().quote_order_qty
    }

    pub fn list_id(&self) -> i64 {
        self.extra().list_id
    }

    pub fn stop_price(&self) -> i64 {
        self.extra().stop_price
    }

    pub fn trailing_delta(&self) -> i64 {
        self.extra().trailing_delta
    }

    pub fn trail_ref(&self) -> Option<i64> {
        self.extra().trail_ref
    }

    pub fn trailing_time(&self) -> i64 {
        self.extra().trailing_time
    }

    pub fn prevented(&self) -> i64 {
        self.extra().prevented
    }

    pub fn amends(&self) -> i64 {
        self.extra().amends
    }

    /// What self-trade prevention compares for this order.
    pub fn stp_key(&self) -> StpKey {
        self.extra()
            .group
            .map_or(StpKey::Account(self.account), StpKey::Group)
    }
}

/// One execution report: the order's fields as they were, and what the event did
/// (`bot4.core.events.ExecutionReport`, field for field).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The order's slot, for callers that cache what they built for it.
    pub order: OrderRef,
    pub account: AccountId,
    pub order_id: i64,
    pub client_order_id: ClientId,
    pub side: Side,
    pub otype: OrderType,
    pub tif: Option<Tif>,
    pub price: i64,
    pub orig_qty: i64,
    pub quote_order_qty: i64,
    pub creation_time: i64,
    pub working_time: i64,
    pub stp_mode: Stp,
    pub stop_price: i64,
    pub trailing_delta: i64,
    pub order_list_id: i64,
    pub seq: i64,
    pub orig_client_order_id: Option<ClientId>,
    pub exec_type: ExecType,
    pub status: Status,
    pub expiry: Expiry,
    pub last_qty: i64,
    pub last_price: i64,
    pub cum_qty: i64,
    pub cum_quote: i128,
    pub commission: i128,
    /// `None` when no trade.
    pub commission_asset: Option<AssetId>,
    pub trade_id: i64,
    pub is_maker: bool,
    pub is_working: bool,
    pub transact_time: i64,
    pub prevented_match_id: i64,
    pub prevented_qty: i64,
    pub last_prevented_qty: i64,
    pub prevented_price: i64,
    pub counter_order_id: i64,
}

/// The answer to an accepted request: the order's state after it, and its reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    pub order_id: i64,
    pub client_order_id: ClientId,
    pub status: Status,
    pub executed_qty: i64,
    pub cum_quote: i128,
    pub transact_time: i64,
    pub reports: Vec<Report>,
    pub list_statuses: Vec<ListEvent>,
}

/// The answer to an order-list request (`bot4.core.results.ListAck`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListAck {
    pub list_id: i64,
    pub client_id: Arc<str>,
    pub contingency: Contingency,
    pub status: ListOrderStatus,
    pub orders: Vec<OrderView>,
    pub transact_time: i64,
    pub reports: Vec<Report>,
    pub list_statuses: Vec<ListEvent>,
}

/// An order as a query returns it (`bot4.core.orders.OrderView`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderView {
    pub order_id: i64,
    pub client_order_id: ClientId,
    pub account: AccountId,
    pub side: Side,
    pub otype: OrderType,
    pub tif: Option<Tif>,
    pub price: i64,
    pub orig_qty: i64,
    pub executed_qty: i64,
    pub cum_quote: i128,
    pub quote_order_qty: i64,
    pub status: Status,
    pub time: i64,
    pub working_time: i64,
    pub stp_mode: Stp,
    pub prevented_qty: i64,
    pub list_id: i64,
    pub stop_price: i64,
    pub trailing_delta: i64,
    pub trailing_time: i64,
}

/// The order store: a slab whose slots are reused once an order leaves the history; a
/// reference carries the slot's generation, so a stale one held by the book is never live.
#[derive(Debug, Default)]
pub(super) struct Slab {
    orders: Vec<Order>,
    generations: Vec<u32>,
    free: Vec<u32>,
}

/// Price-time priority matching for one symbol with the venue's filters and balances.
#[derive(Debug)]
pub struct Engine {
    pub rules: Rules,
    /// Whether the symbol's status is TRADING: otherwise new orders are refused (-1013).
    pub trading: bool,
    base: AssetId,
    quote: AssetId,
    bids: BookSide,
    asks: BookSide,
    avg_price: AveragePrice,
    history: usize,
    pub seq: i64,
    pub last_order_id: i64,
    pub last_trade_id: i64,
    pub traded_ticklots: i128,
    pub last_prevented_match_id: i64,
    pub last_order_list_id: i64,
    pub(super) slab: Slab,
    /// The last registration number given (`Order::reg`).
    registered: u32,
    /// The open orders (registered and not retired) by id and by client id.
    open_ids: index::IdIndex,
    by_client: index::ClientIndex,
    open_count: HashMap<AccountId, i64>,
    key_open: HashMap<i64, i64>,
    /// Ended orders still queryable, by id and client id, and their ids oldest first.
    done: index::IdIndex,
    done_ids: VecDeque<i64>,
    done_by_client: index::ClientIndex,
    balances: HashMap<AccountId, (BalanceId, BalanceId)>,
    stops: StopBook,
    /// Waiting stop orders in the order they were parked (the digest lists them so).
    parked: BTreeMap<u64, OrderRef>,
    parked_ids: HashMap<i64, (u64, OrderRef)>,
    parked_count: u64,
    algo_count: HashMap<AccountId, i64>,
    /// Prices traded since the stops were last checked.
    trade_prices: Vec<i64>,
    /// Stops a price triggered that have not been activated yet.
    firing: rustc_hash::FxHashSet<i64>,
    /// Open order lists by id, their ids by the account's list client id, the list legs
    /// that ended (for `settle_lists`) and the list events of the request in progress.
    lists: BTreeMap<i64, lists::OrderList>,
    list_by_client: HashMap<(AccountId, Arc<str>), i64>,
    ended_legs: VecDeque<OrderRef>,
    list_events: Vec<lists::ListEvent>,
    /// Lists that ended in the request in progress (its answer still shows them).
    closed: Vec<lists::OrderList>,
    /// Legs of lists still shown (open, or closed in this request) that left the history:
    /// their slots are freed once the list is gone, never while a list can read them.
    held: HashMap<i64, Vec<OrderRef>>,
    /// The newest reports, for subscribers (none kept unless a bound is set).
    pub recent: Recent,
    band_ref: Option<(i128, i128)>,
    bid_band: (i128, i128),
    ask_band: (i128, i128),
    /// The venue's fee book, when the engine was given one (`attach_fees`).
    fee_link: Option<FeeLink>,
    /// Each account's ref in the fee book (only with a fee schedule).
    fee_refs: HashMap<AccountId, u32>,
}

/// How an engine reaches the venue's fee book in the ledger.
#[derive(Debug, Clone)]
struct FeeLink {
    /// The engine's pair in the book (its last price feeds conversions).
    pair: u32,
    symbol: crate::feebook::Symbol,
    /// The book has a schedule: fills go through the accounts' refs.
    scheduled: bool,
}

/// Every refusal the engine gives (the Python side checks each names a real error).
pub const REFUSALS: &[Refusal] = &[
    Refusal::Error("UNKNOWN_ACCOUNT"),
    Refusal::Error("EMPTY_NEW_CL_ORD_ID"),
    Refusal::Error("NO_REFERENCE_PRICE"),
    Refusal::Error("DUPLICATE_ORDER"),
    Refusal::Error("WOULD_MATCH"),
    Refusal::Error("INSUFFICIENT_BALANCE"),
    Refusal::Error("CANCEL_IDS_MISSING"),
    Refusal::Error("UNKNOWN_ORDER"),
    Refusal::Error("CANCEL_RESTRICTED"),
    Refusal::Error("AMEND_NO_CHANGE"),
    Refusal::Error("AMEND_QTY_INCREASE"),
    Refusal::Error("AMEND_TOO_MANY"),
    Refusal::Error("AMEND_DUPLICATE"),
    Refusal::Error("AMEND_UNKNOWN_ORDER"),
    Refusal::Error("NO_SUCH_ORDER"),
    Refusal::Error("CLIENT_ORDER_ID_MISMATCH"),
    Refusal::Call("filter_failure", "PRICE_FILTER"),
    Refusal::Call("filter_failure", "PERCENT_PRICE"),
    Refusal::Call("filter_failure", "PERCENT_PRICE_BY_SIDE"),
    Refusal::Call("filter_failure", "LOT_SIZE"),
    Refusal::Call("filter_failure", "MARKET_LOT_SIZE"),
    Refusal::Call("filter_failure", "NOTIONAL"),
    Refusal::Call("filter_failure", "MIN_NOTIONAL"),
    Refusal::Call("filter_failure", "MAX_NUM_ORDERS"),
    Refusal::Call("filter_failure", "MAX_NUM_ALGO_ORDERS"),
    Refusal::Call("filter_failure", "TRAILING_DELTA"),
    Refusal::Error("WOULD_TRIGGER"),
    Refusal::Call("filter_failure", "MAX_NUM_ORDER_LISTS"),
    Refusal::Call("filter_failure", "EXCHANGE_MAX_NUM_ORDERS"),
    Refusal::Call("filter_failure", "EXCHANGE_MAX_NUM_ALGO_ORDERS"),
    Refusal::Call("filter_failure", "EXCHANGE_MAX_NUM_ORDER_LISTS"),
    Refusal::Error("DUPLICATE_LIST"),
    Refusal::Error("UNKNOWN_LIST"),
    Refusal::Error("BAD_PRICES"),
    Refusal::Error("OCO_TYPE_REJECTED"),
    Refusal::Error("BOTH_CANNOT_BE_LIMIT"),
    Refusal::Error("BUY_LIMIT_MUST_BE_BELOW"),
    Refusal::Error("SELL_LIMIT_MUST_BE_ABOVE"),
    Refusal::Error("BUY_STOP_MUST_BE_ABOVE"),
    Refusal::Error("SELL_STOP_MUST_BE_BELOW"),
    Refusal::Error("BUY_PROFIT_MUST_BE_BELOW"),
    Refusal::Error("SELL_PROFIT_MUST_BE_ABOVE"),
    Refusal::Error("WORKING_TYPE_REJECTED"),
    Refusal::Error("PENDING_QUOTE_QTY"),
    Refusal::Call("not_supported", "OCO orders"),
    Refusal::Call("not_supported", "OTO orders"),
    Refusal::Call("not_supported", "OTOCO orders"),
    Refusal::Call("invalid_parameter", "account"),
    Refusal::Call("invalid_parameter", "orderListId"),
    Refusal::Call("invalid_parameter", "listClientOrderId"),
    Refusal::Call("illegal_client_id", "listClientOrderId"),
    Refusal::Call2("one_of_params", "orderListId", "listClientOrderId"),
    Refusal::Error("INVALID_CANCEL_RESTRICTIONS"),
    Refusal::Call("invalid_parameter", "orderId"),
    Refusal::Call("invalid_parameter", "origClientOrderId"),
    Refusal::Call("liquidity_below_min", "LOT_SIZE"),
    Refusal::Call("liquidity_below_min", "MARKET_LOT_SIZE"),
    Refusal::Call("illegal_client_id", "newClientOrderId"),
    Refusal::Call2("one_of_params", "orderId", "origClientOrderId"),
    // the request's shape
    Refusal::Error("MARKET_CLOSED"),
    Refusal::Error("STP_MODE_NOT_ALLOWED"),
    Refusal::Error("TIF_NOT_REQUIRED"),
    Refusal::Error("UNSUPPORTED_COMBINATION"),
    Refusal::Error("INVALID_SIDE"),
    Refusal::Error("INVALID_ORDER_TYPE"),
    Refusal::Error("INVALID_TIF"),
    Refusal::Call("type_not_supported", "LIMIT"),
    Refusal::Call("type_not_supported", "MARKET"),
    Refusal::Call("type_not_supported", "LIMIT_MAKER"),
    Refusal::Call("type_not_supported", "STOP_LOSS"),
    Refusal::Call("type_not_supported", "STOP_LOSS_LIMIT"),
    Refusal::Call("type_not_supported", "TAKE_PROFIT"),
    Refusal::Call("type_not_supported", "TAKE_PROFIT_LIMIT"),
    Refusal::Call("invalid_parameter", "price"),
    Refusal::Call("invalid_parameter", "quantity"),
    Refusal::Call("invalid_parameter", "quoteOrderQty"),
    Refusal::Call("invalid_parameter", "stopPrice"),
    Refusal::Call("invalid_parameter", "trailingDelta"),
    Refusal::Call("invalid_parameter", "selfTradePreventionMode"),
    Refusal::Call("invalid_parameter", "newClientOrderId"),
    Refusal::Call("mandatory_param", "timeInForce"),
    Refusal::Call("param_not_required", "quoteOrderQty"),
    Refusal::Call("param_not_required", "price"),
    Refusal::Call("param_not_required", "stopPrice"),
    Refusal::Call("param_not_required", "trailingDelta"),
    Refusal::Call2("one_of_params", "quantity", "quoteOrderQty"),
    Refusal::Call2("one_of_params", "stopPrice", "trailingDelta"),
    Refusal::Call("not_supported", "Quote order qty market orders"),
    Refusal::Call("not_supported", "Trailing stop orders"),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// A million resting orders are mostly their `Order`s: keep it at 144 bytes.
    #[test]
    fn an_order_is_small() {
        assert!(std::mem::size_of::<Order>() <= 144);
        assert_eq!(Wide::new(-5).get(), -5);
        assert_eq!(Wide::new(i128::MIN).get(), i128::MIN);
        assert_eq!(Wide::new(i128::MAX).get(), i128::MAX);
    }

    #[test]
    fn numbered_ids_read_as_format_would() {
        for n in [0, 7, 42, i64::MAX, i64::MIN] {
            assert_eq!(numbered("cancel-", n), format!("cancel-{n}"));
        }
    }
}
