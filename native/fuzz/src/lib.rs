//! The check behind the fuzz target `batch` and the stable runner `stable`: one input, a few
//! fresh engines, the invariants the engine's request path must always keep.
//!
//! Input layout (every byte optional: a short input reads zeros past its end):
//! - bytes 0..3: the configuration (rules variant, history, groups, seeding; see `Config`);
//! - bytes 3..5: u16 LE; the low 15 bits are the length S of the structured part, the top bit
//!   says whether the raw part's account names are remapped onto the funded accounts;
//! - the next S bytes: the structured part, decoded by hand into well-formed requests (new
//!   orders of every type, stops included, cancels, amends, OCO, OTO and OTOCO lists and list
//!   cancels over funded accounts, prices near a mid);
//! - the rest: raw bytes given to `decode` as they are (the wire form of `bot4.venue.batch`).
//!
//! The structured requests are encoded to the wire form and decoded back (the round trip must
//! be exact), the raw requests, when they decode, are appended, and the batch runs:
//! - A: one request at a time on a fresh ledger and engine, checking after every request that
//!   each asset's total (free + locked over accounts + fees) equals what was deposited, that
//!   no free or locked balance is negative, that every account's locked amount is what its
//!   open orders lock (at least that, for an account with list legs open, whose legs share
//!   locks), that the book's depth is the sum of the open orders and is never crossed
//!   (best bid < best ask), that a refusal changes nothing (same `state_digest`) and names a
//!   refusal in `REFUSALS`;
//! - B: the whole batch in one `run_batch` with the event log (if the engine refuses a batch
//!   with a stop order whole, as it did before it served stops, that must change nothing, and
//!   the batch then runs without them);
//! - C: the same as B without the log;
//! - D: the same with another history length (0 or 1000: ended orders' slots reused at once
//!   or not), which no answer depends on.
//!
//! A, B, C and D must give the same answers, byte for byte, and the same `state_digest`; B's
//! event log is checked line by line (`check_log`).

use _native::engine::{
    AmendRequest, CancelListRequest, CancelRequest, CompactString, Engine, Leg, NewRequest,
    OcoBatch, OrderType, OtoBatch, OtocoBatch, REFUSALS, RESULT_SIZE, Refusal, Request,
    Restriction, Rules, Side, Stp, Tif, decode,
};
use _native::ledger::Ledger;

/// The accounts a request names: funded ones, one known and empty (`e`), one unknown (`d`).
const ACCOUNTS: [&str; 8] = ["a", "a", "b", "b", "c", "c", "e", "d"];
/// (account, base units, quote units) deposited before anything runs.
const FUNDS: [(&str, i128, i128); 3] = [
    ("a", 50_000_000, 1_000_000_000),
    ("b", 5_000_000, 50_000_000),
    (
        "c",
        1_000_000_000_000_000_000,
        1_000_000_000_000_000_000_000_000_000,
    ),
];
/// Client ids: valid, an amended-looking one, empty, illegal, too long (and, in `cid`, the
/// engine's own `bot4-N`).
const CIDS: [&str; 8] = [
    "x0",
    "x1",
    "x2",
    "x3",
    "bot4-2-a1",
    "",
    "bad id",
    "abcdefghijabcdefghijabcdefghijabcdefg",
];
const MID: i64 = 10_000;
const STEP: i64 = 10;
const BASE: &str = "BTC";
const QUOTE: &str = "USDT";

/// Zero-padded reader over the fuzzer's bytes.
struct Src<'a> {
    data: &'a [u8],
    at: usize,
}

impl Src<'_> {
    fn u8(&mut self) -> u8 {
        let b = self.data.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        b
    }

    fn more(&self) -> bool {
        self.at < self.data.len()
    }
}

/// What the first three bytes choose.
#[derive(Debug, Clone)]
pub struct Config {
    pub rules: Rules,
    pub reference_price: Option<i64>,
    pub history: usize,
    pub group_ab: bool,
    pub group_c: bool,
}

impl Config {
    pub fn from_bytes(a: u8, b: u8, c: u8) -> Config {
        let wide = b & 0x80 != 0;
        let (percent_filter, bands) = match a & 3 {
            0 => (None, [(1, 1); 4]),
            1 => (Some("PERCENT_PRICE"), [(5, 1), (1, 5), (5, 1), (1, 5)]),
            2 => (
                Some("PERCENT_PRICE_BY_SIDE"),
                [(11, 10), (1, 5), (5, 1), (9, 10)],
            ),
            _ => (
                Some("PERCENT_PRICE"),
                [(21, 20), (19, 20), (21, 20), (19, 20)],
            ),
        };
        let market = b & 0x10 != 0;
        let (maker_rate, taker_rate) = if b & 0x40 != 0 {
            ((0, 1), (7, 10_000))
        } else {
            ((1, 1000), (1, 1000))
        };
        let rules = Rules {
            symbol: "BTCUSDT".into(),
            base: BASE.into(),
            quote: QUOTE.into(),
            base_per_lot: if wide { 1 } else { 1000 },
            quote_per_ticklot: if wide { 10 } else { 1 },
            min_price: 1,
            max_price: if wide { 0 } else { 100_000_000 },
            min_qty: 1,
            max_qty: if wide { 1 << 40 } else { 9_000_000 },
            market_min_qty: if market { 10 } else { 0 },
            market_max_qty: if market { 2_000 } else { 0 },
            market_step: if market { 5 } else { 1 },
            min_notional: if wide { None } else { Some(500_000) },
            min_notional_market: a & 0x10 != 0,
            max_notional: if a & 0x10 != 0 {
                Some(10_000_000_000)
            } else {
                None
            },
            max_notional_market: a & 0x10 != 0,
            legacy_min_notional: if wide { Some(1_000) } else { None },
            legacy_min_notional_market: a & 0x10 != 0,
            percent_filter,
            bands,
            avg_price_mins: if a & 4 != 0 { 5 } else { 0 },
            max_num_orders: (b & 4 != 0).then_some(5),
            max_num_amends: (b & 8 != 0).then_some(2),
            max_num_algo_orders: (c & 2 != 0).then_some(3),
            max_num_order_lists: (a & 0x0C == 0x0C).then_some(1),
            oco_allowed: true,
            oto_allowed: true,
            trailing_above: (c & 1 != 0).then_some((10, 2_000)),
            trailing_below: (c & 1 != 0).then_some((10, 2_000)),
            maker_rate,
            taker_rate,
            default_stp: Stp::from_index((a >> 5) % 6).unwrap_or(Stp::None),
            quote_order_qty_market_allowed: c & 0x50 != 0x50,
            order_types: if c & 0x88 == 0x88 {
                (1 << OrderType::Limit as u8)
                    | (1 << OrderType::Market as u8)
                    | (1 << OrderType::LimitMaker as u8)
            } else {
                0x7F
            },
            // all six modes, or NONE and the three EXPIRE_ modes
            stp_allowed: if c & 0xA0 == 0xA0 {
                0b00_1111
            } else {
                0b11_1111
            },
            allow_trailing_stop: c & 0x44 != 0x44,
        };
        Config {
            rules,
            reference_price: (a & 8 != 0).then_some(MID),
            history: [0, 1, 4, 1000][usize::from(b & 3)],
            group_ab: b & 0x20 != 0,
            group_c: a & 0x80 != 0 && b & 0x20 == 0,
        }
    }

    /// A fresh ledger with the accounts funded and grouped.
    pub fn ledger(&self) -> Ledger {
        let mut ledger = Ledger::new();
        for (name, base, quote) in FUNDS {
            ledger.deposit(name, BASE, base).unwrap();
            ledger.deposit(name, QUOTE, quote).unwrap();
        }
        ledger.set_trade_group("e", -1).unwrap(); // known, holds nothing
        if self.group_ab {
            ledger.set_trade_group("a", 7).unwrap();
            ledger.set_trade_group("b", 7).unwrap();
        }
        if self.group_c {
            ledger.set_trade_group("c", 0).unwrap();
        }
        ledger
    }

    pub fn engine(&self, ledger: &mut Ledger) -> Engine {
        Engine::new(
            self.rules.clone(),
            ledger,
            self.reference_price,
            self.history,
        )
        .expect("the engine builds")
    }
}

fn deposited(asset: &str) -> i128 {
    FUNDS
        .iter()
        .map(|&(_, b, q)| if asset == BASE { b } else { q })
        .sum()
}

/// A client id from a byte: mostly valid ones, now and then a bad one, often none.
fn cid(b: u8, news: i64) -> Option<CompactString> {
    match b % 16 {
        0..=3 => Some(CIDS[usize::from(b % 16)].into()),
        4 | 5 => Some(format!("bot4-{}", 1 + i64::from(b >> 4) % news.max(1)).into()),
        6 => Some(CIDS[4].into()),
        7 if b & 0x30 == 0 => Some(CIDS[5 + usize::from(b >> 6) % 3].into()),
        _ => None,
    }
}

/// An order id from a byte: among the first orders, or near the latest.
fn target_id(sel: u8, news: i64) -> i64 {
    let k = i64::from((sel >> 2) & 15);
    if sel & 0x40 != 0 {
        (news * 2 / 3 - k / 2).max(1)
    } else {
        1 + k % news.max(1)
    }
}

fn tif_of(bits: u8) -> Tif {
    match bits & 3 {
        1 => Tif::Ioc,
        2 => Tif::Fok,
        _ => Tif::Gtc,
    }
}

fn stp_of(bits: u8) -> Option<Stp> {
    Stp::from_index(bits & 7)
}

/// Hand-decode the structured part into well-formed requests (ids and quantities chosen so
/// that many of them hit real orders).
pub fn structured(data: &[u8]) -> Vec<(i64, Request)> {
    let mut src = Src { data, at: 0 };
    let mut out = Vec::new();
    let mut now: i64 = 1_700_000_000_000;
    let mut news: i64 = 0;
    while src.more() {
        let op = src.u8();
        let dt = src.u8();
        now = match dt {
            255 => now - 1_000,
            250..=254 => now + 600_000,
            _ => now + i64::from(dt) * 100,
        };
        let account = CompactString::from(ACCOUNTS[usize::from(src.u8() % 8)]);
        let kind = op % 14;
        let req = match kind {
            12 => list(&mut src, account, news),
            13 => {
                let sel = src.u8();
                let c = src.u8();
                Request::CancelList(CancelListRequest {
                    account: account.into(),
                    order_list_id: (sel & 3 != 1).then_some(i64::from(sel >> 4) - 1),
                    list_client_order_id: (sel & 3 != 0).then(|| CIDS[usize::from(c % 8)].into()),
                    new_client_order_id: if sel & 4 != 0 {
                        cid(c >> 3, news).map(Into::into)
                    } else {
                        None
                    },
                })
            }
            0..=7 => {
                let flags = src.u8();
                let off = src.u8() as i8;
                let q = src.u8();
                let c = src.u8();
                let side = if flags & 1 == 0 {
                    Side::Buy
                } else {
                    Side::Sell
                };
                let stp_mode = stp_of(flags >> 3);
                let price = MID + i64::from(off) * STEP;
                let quantity = 1 + i64::from(q) * 8;
                let client_order_id = if flags & 0x40 != 0 {
                    cid(c, news)
                } else {
                    None
                };
                news += 1;
                let (otype, tif, price, quantity, qoq) = match kind {
                    0..=2 => (
                        OrderType::Limit,
                        Some(tif_of(flags >> 1)),
                        price,
                        quantity,
                        0,
                    ),
                    3 => (OrderType::LimitMaker, None, price, quantity, 0),
                    4 => (OrderType::Market, None, 0, 5 * (1 + i64::from(q)), 0),
                    5 => (
                        OrderType::Market,
                        None,
                        0,
                        0,
                        1 + i64::from(q) * 50_000 + i64::from(off as u8),
                    ),
                    // stop-loss / take-profit (side and type decide above or below the market)
                    6 => (
                        if flags & 0x80 == 0 {
                            OrderType::StopLoss
                        } else {
                            OrderType::TakeProfit
                        },
                        None,
                        0,
                        quantity,
                        0,
                    ),
                    _ => (
                        if flags & 0x80 == 0 {
                            OrderType::StopLossLimit
                        } else {
                            OrderType::TakeProfitLimit
                        },
                        Some(tif_of(flags >> 1)),
                        price,
                        quantity,
                        0,
                    ),
                };
                // a stop price near the mid, a trailing delta (10..=640 bips), or both
                let (stop_price, trailing_delta) = if kind >= 6 {
                    let s = src.u8();
                    let stop = MID + i64::from((s as i8) >> 1) * STEP;
                    let delta = 10 * (1 + i64::from(s & 63));
                    match c >> 6 {
                        0 | 1 => (stop, 0),
                        2 => (0, delta),
                        _ => (stop, delta),
                    }
                } else {
                    (0, 0)
                };
                Request::New(NewRequest {
                    account,
                    side,
                    otype,
                    quantity,
                    price,
                    tif,
                    quote_order_qty: qoq,
                    client_order_id,
                    stp_mode,
                    stop_price,
                    trailing_delta,
                })
            }
            8 | 9 => {
                let sel = src.u8();
                let c = src.u8();
                let order_id = target_id(sel, news);
                let (order_id, orig) = match sel & 3 {
                    0 | 3 if c & 0x70 != 0 => (Some(order_id), None),
                    1 => (None, cid(c, news)),
                    2 => (Some(order_id), cid(c, news)),
                    _ => (None, None),
                };
                Request::Cancel(CancelRequest {
                    account,
                    order_id,
                    orig_client_order_id: orig,
                    new_client_order_id: if sel & 0x80 != 0 {
                        cid(c >> 4, news)
                    } else {
                        None
                    },
                    restriction: Restriction::from_index(if c & 0x80 != 0 { c % 4 } else { 3 }),
                })
            }
            10 => {
                let sel = src.u8();
                let c = src.u8();
                let q = src.u8();
                let order_id = target_id(sel, news);
                let (order_id, orig) = match sel & 3 {
                    0 | 3 if c & 0x70 != 0 => (Some(order_id), None),
                    1 => (None, cid(c, news)),
                    2 => (Some(order_id), cid(c, news)),
                    _ => (None, None),
                };
                Request::Amend(AmendRequest {
                    account,
                    new_qty: i64::from(q) * 4 - 2,
                    order_id,
                    orig_client_order_id: orig,
                    new_client_order_id: if sel & 0x80 != 0 {
                        cid(c >> 4, news)
                    } else {
                        None
                    },
                })
            }
            _ => {
                // a wild new order: any type (stop types sometimes), any values nearby
                let t = src.u8();
                let f = src.u8();
                let v = [src.u8(), src.u8(), src.u8(), src.u8()];
                let c = src.u8();
                let otype = OrderType::from_index(if t & 0x80 != 0 { t % 7 } else { t % 3 })
                    .unwrap_or(OrderType::Limit);
                let val = |b: u8| -> i64 {
                    match b >> 5 {
                        0 => 0,
                        1 => -i64::from(b & 31),
                        2 => i64::MAX - i64::from(b & 31),
                        3 => i64::MIN + i64::from(b & 31),
                        4 => MID + i64::from(b & 31) * STEP,
                        5 => i64::from(b & 31) * 100,
                        6 => 1 << (b & 31),
                        _ => 1 << (32 + (b & 31)),
                    }
                };
                news += 1;
                Request::New(NewRequest {
                    account,
                    side: if f & 1 == 0 { Side::Buy } else { Side::Sell },
                    otype,
                    quantity: val(v[0]),
                    price: val(v[1]),
                    tif: Tif::from_index((f >> 1) & 3),
                    quote_order_qty: if t & 0x40 != 0 { val(v[2]) } else { 0 },
                    client_order_id: if f & 0x80 != 0 { cid(c, news) } else { None },
                    stp_mode: stp_of(f >> 3),
                    stop_price: if t & 0x20 != 0 { val(v[3]) } else { 0 },
                    trailing_delta: if t & 0x10 != 0 { val(v[2] ^ v[3]) } else { 0 },
                })
            }
        };
        out.push((now, req));
    }
    out
}

/// A list leg standing 1-16 steps above or below the mid: a take-profit or LIMIT_MAKER
/// (`profit`) or a stop-loss, now and then trailing.
fn leg(src: &mut Src, profit: bool, above: bool, news: i64) -> Leg {
    let t = src.u8();
    let off = 1 + i64::from(t & 15);
    let at = if above {
        MID + off * STEP
    } else {
        MID - off * STEP
    };
    let otype = match (profit, t >> 6) {
        (true, 0) => OrderType::LimitMaker,
        (true, 1) => OrderType::TakeProfit,
        (true, _) => OrderType::TakeProfitLimit,
        (false, 0 | 1) => OrderType::StopLoss,
        (false, _) => OrderType::StopLossLimit,
    };
    let limit = matches!(otype, OrderType::StopLossLimit | OrderType::TakeProfitLimit);
    let trailing = t & 0x30 == 0x30 && otype != OrderType::LimitMaker;
    Leg {
        otype,
        tif: limit.then_some(Tif::Gtc),
        price: if limit || otype == OrderType::LimitMaker {
            at
        } else {
            0
        },
        stop_price: if otype == OrderType::LimitMaker || (trailing && t & 8 != 0) {
            0
        } else {
            at
        },
        trailing_delta: if trailing {
            10 * (1 + i64::from(t & 7))
        } else {
            0
        },
        client_order_id: if t & 0x10 != 0 { cid(t, news) } else { None },
    }
}

/// An OCO pair for `side`: for a SELL the profit leg above and the loss leg below, for a BUY
/// the other way round, and (flags bit 0x40) now and then the wrong way.
fn pair(src: &mut Src, side: Side, flags: u8, news: i64) -> (Leg, Leg) {
    let profit_above = (side == Side::Sell) != (flags & 0x40 != 0);
    (
        leg(src, profit_above, true, news),
        leg(src, !profit_above, false, news),
    )
}

/// A working order of an OTO or OTOCO: a LIMIT (GTC) or LIMIT_MAKER near the mid.
fn working(src: &mut Src, account: &str, side: Side, news: i64) -> NewRequest {
    let w = src.u8();
    let maker = w & 1 != 0;
    NewRequest {
        account: account.into(),
        side,
        otype: if maker {
            OrderType::LimitMaker
        } else {
            OrderType::Limit
        },
        quantity: 1 + i64::from(w >> 2) * 8,
        price: MID + i64::from((w as i8) >> 4) * STEP,
        tif: (!maker).then_some(Tif::Gtc),
        quote_order_qty: 0,
        client_order_id: if w & 2 != 0 { cid(w, news) } else { None },
        stp_mode: None,
        stop_price: 0,
        trailing_delta: 0,
    }
}

/// An OCO, OTO or OTOCO of `account`.
fn list(src: &mut Src, account: CompactString, news: i64) -> Request {
    let flags = src.u8();
    let q = src.u8();
    let side = if flags & 1 == 0 {
        Side::Buy
    } else {
        Side::Sell
    };
    let other = if side == Side::Buy {
        Side::Sell
    } else {
        Side::Buy
    };
    let quantity = 1 + i64::from(q) * 8;
    let list_client_order_id = if flags & 0x80 != 0 {
        Some(CIDS[usize::from(q % 8)].into())
    } else {
        None
    };
    match (flags >> 1) % 3 {
        0 => {
            let (above, below) = pair(src, side, flags, news);
            Request::Oco(OcoBatch {
                account,
                side,
                quantity,
                stp_mode: stp_of(flags >> 3),
                list_client_order_id,
                above,
                below,
            })
        }
        1 => {
            let working = working(src, &account, side, news);
            let p = src.u8();
            let (otype, price, tif, stop_price) = match p & 3 {
                0 => (OrderType::Market, 0, None, 0),
                1 => (
                    OrderType::StopLoss,
                    0,
                    None,
                    MID + i64::from((p as i8) >> 3) * STEP,
                ),
                _ => (
                    OrderType::Limit,
                    MID + i64::from((p as i8) >> 3) * STEP,
                    Some(Tif::Gtc),
                    0,
                ),
            };
            let pending = NewRequest {
                account,
                side: other,
                otype,
                quantity: working.quantity,
                price,
                tif,
                quote_order_qty: if otype == OrderType::Market && p & 4 != 0 {
                    1_000
                } else {
                    0
                },
                client_order_id: None,
                stp_mode: None,
                stop_price,
                trailing_delta: 0,
            };
            Request::Oto(OtoBatch {
                working,
                pending,
                list_client_order_id,
            })
        }
        _ => {
            let working = working(src, &account, side, news);
            let (above, below) = pair(src, other, flags, news);
            Request::Otoco(OtocoBatch {
                quantity: working.quantity,
                working,
                side: other,
                above,
                below,
                list_client_order_id,
            })
        }
    }
}

// ------------------------------------------------------------------ the wire form

fn put_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.extend_from_slice(&0xFFFFu16.to_le_bytes()),
        Some(s) => {
            out.extend_from_slice(&(s.len() as u16).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        }
    }
}

fn put_opt_i64(out: &mut Vec<u8>, v: Option<i64>) {
    match v {
        None => out.push(0),
        Some(v) => {
            out.push(1);
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
}

fn put_new(out: &mut Vec<u8>, n: &NewRequest) {
    out.push(n.side as u8);
    out.push(n.otype as u8);
    out.push(n.tif.map_or(255, |t| t as u8));
    out.push(n.stp_mode.map_or(255, |s| s as u8));
    for v in [
        n.quantity,
        n.price,
        n.quote_order_qty,
        n.stop_price,
        n.trailing_delta,
    ] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    put_str(out, Some(&n.account));
    put_str(out, n.client_order_id.as_deref());
}

fn put_leg(out: &mut Vec<u8>, l: &Leg) {
    out.push(l.otype as u8);
    out.push(l.tif.map_or(255, |t| t as u8));
    for v in [l.price, l.stop_price, l.trailing_delta] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    put_str(out, l.client_order_id.as_deref());
}

/// The wire form of `bot4.venue.batch.encode_requests` (the inverse of `decode`).
pub fn encode(batch: &[(i64, Request)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (now, req) in batch {
        match req {
            Request::New(n) => {
                out.push(0);
                out.extend_from_slice(&now.to_le_bytes());
                put_new(&mut out, n);
            }
            Request::Oco(o) => {
                out.push(3);
                out.extend_from_slice(&now.to_le_bytes());
                put_str(&mut out, Some(&o.account));
                out.push(o.side as u8);
                out.extend_from_slice(&o.quantity.to_le_bytes());
                out.push(o.stp_mode.map_or(255, |s| s as u8));
                put_str(&mut out, o.list_client_order_id.as_deref());
                put_leg(&mut out, &o.above);
                put_leg(&mut out, &o.below);
            }
            Request::Oto(o) => {
                out.push(4);
                out.extend_from_slice(&now.to_le_bytes());
                put_new(&mut out, &o.working);
                put_new(&mut out, &o.pending);
                put_str(&mut out, o.list_client_order_id.as_deref());
            }
            Request::Otoco(o) => {
                out.push(5);
                out.extend_from_slice(&now.to_le_bytes());
                put_new(&mut out, &o.working);
                out.push(o.side as u8);
                out.extend_from_slice(&o.quantity.to_le_bytes());
                put_leg(&mut out, &o.above);
                put_leg(&mut out, &o.below);
                put_str(&mut out, o.list_client_order_id.as_deref());
            }
            Request::CancelList(c) => {
                out.push(6);
                out.extend_from_slice(&now.to_le_bytes());
                put_str(&mut out, Some(&c.account));
                put_opt_i64(&mut out, c.order_list_id);
                put_str(&mut out, c.list_client_order_id.as_deref());
                put_str(&mut out, c.new_client_order_id.as_deref());
            }
            Request::Cancel(c) => {
                out.push(1);
                out.extend_from_slice(&now.to_le_bytes());
                put_str(&mut out, Some(&c.account));
                put_opt_i64(&mut out, c.order_id);
                put_str(&mut out, c.orig_client_order_id.as_deref());
                put_str(&mut out, c.new_client_order_id.as_deref());
                out.push(c.restriction.map_or(255, |r| r as u8));
            }
            Request::Amend(a) => {
                out.push(2);
                out.extend_from_slice(&now.to_le_bytes());
                put_str(&mut out, Some(&a.account));
                out.extend_from_slice(&a.new_qty.to_le_bytes());
                put_opt_i64(&mut out, a.order_id);
                put_str(&mut out, a.orig_client_order_id.as_deref());
                put_str(&mut out, a.new_client_order_id.as_deref());
            }
        }
    }
    out
}

// ------------------------------------------------------------------ invariants

fn is_stop(req: &Request) -> bool {
    matches!(req, Request::New(n) if is_stop_type(n.otype))
}

/// Map the account names a request carries (an OTO's two orders each name one) onto the
/// known ones, by their length.
fn remap_accounts(req: &mut Request) {
    fn pick(name: &str) -> &'static str {
        ["a", "b", "c", "e", "d"][name.len() % 5]
    }
    match req {
        Request::New(n) => n.account = pick(&n.account).into(),
        Request::Cancel(c) => c.account = pick(&c.account).into(),
        Request::Amend(a) => a.account = pick(&a.account).into(),
        Request::Oco(o) => o.account = pick(&o.account).into(),
        Request::Oto(o) => {
            o.working.account = pick(&o.working.account).into();
            o.pending.account = pick(&o.pending.account).into();
        }
        Request::Otoco(o) => o.working.account = pick(&o.working.account).into(),
        Request::CancelList(c) => c.account = pick(&c.account).into(),
    }
}

fn is_stop_type(t: OrderType) -> bool {
    matches!(
        t,
        OrderType::StopLoss
            | OrderType::StopLossLimit
            | OrderType::TakeProfit
            | OrderType::TakeProfitLimit
    )
}

/// Everything that must hold between requests. `time_minus_one` says a request ran at time
/// -1, the working time that marks a waiting stop, so a stop-limit order's place (waiting or
/// on the book) cannot be told from its view and the depth check is skipped.
pub fn check_state(
    engine: &Engine,
    ledger: &Ledger,
    rules: &Rules,
    time_minus_one: bool,
    ctx: &dyn Fn() -> String,
) {
    // conservation: deposits are the only source, fees stay in the ledger
    for asset in [BASE, QUOTE] {
        assert_eq!(
            ledger.total(asset),
            deposited(asset),
            "total of {asset} not conserved; {}",
            ctx()
        );
    }
    // nothing negative
    for (account, asset, b) in ledger.items() {
        assert!(
            b.free >= 0 && b.locked >= 0,
            "negative balance {account}/{asset} {b:?}; {}",
            ctx()
        );
    }
    for (asset, units) in ledger.fees() {
        assert!(units >= 0, "negative fees in {asset}: {units}; {}", ctx());
    }
    // the book never stays crossed
    if let (Some(bid), Some(ask)) = (engine.best_bid(), engine.best_ask()) {
        assert!(bid < ask, "crossed book: bid {bid} >= ask {ask}; {}", ctx());
    }
    // locks are exactly what open orders hold (a waiting trailing market BUY without a stop
    // price locks at the last price when it came, which the view does not keep: for its
    // account the quote lock is only bounded below); the depth is the sum of the open orders
    // on the book
    let open = engine.open_orders(None);
    // (account, base, quote, quote exact)
    let mut locked: Vec<(u32, i128, i128, bool)> = Vec::new();
    let mut bids: Vec<(i64, i64)> = Vec::new();
    let mut asks: Vec<(i64, i64)> = Vec::new();
    let mut per_account: Vec<(u32, i64, i64)> = Vec::new();
    for o in &open {
        let leaves = o.orig_qty - o.executed_qty - o.prevented_qty;
        assert!(
            leaves > 0,
            "open order {} with no quantity left {o:?}; {}",
            o.order_id,
            ctx()
        );
        // an OTO's pending orders wait, off the book, for the working order to fill
        let pending = o.list_id >= 0 && o.status == _native::engine::Status::PendingNew;
        assert!(
            pending
                || matches!(
                    o.status,
                    _native::engine::Status::New | _native::engine::Status::PartiallyFilled
                ),
            "open order {} with status {:?}; {}",
            o.order_id,
            o.status,
            ctx()
        );
        if pending {
            continue;
        }
        assert!(engine.is_open(o.order_id));
        let stop = is_stop_type(o.otype);
        let market_stop = matches!(o.otype, OrderType::StopLoss | OrderType::TakeProfit);
        assert!(
            o.otype != OrderType::Market,
            "a MARKET order stays open {o:?}; {}",
            ctx()
        );
        // a market-type stop that is open waits; a stop-limit waits until its working time
        let waiting = market_stop || (stop && o.working_time == -1);
        let (base, quote, exact) = match o.side {
            // list legs share their locks: the account's lock is only bounded below
            _ if o.list_id >= 0 => (0, 0, false),
            Side::Sell => (i128::from(leaves) * i128::from(rules.base_per_lot), 0, true),
            Side::Buy => {
                let at = if market_stop { o.stop_price } else { o.price };
                (
                    0,
                    i128::from(at) * i128::from(leaves) * i128::from(rules.quote_per_ticklot),
                    !(market_stop && o.stop_price == 0),
                )
            }
        };
        match locked.iter_mut().find(|e| e.0 == o.account) {
            Some(e) => {
                e.1 += base;
                e.2 += quote;
                e.3 &= exact;
            }
            None => locked.push((o.account, base, quote, exact)),
        }
        // the symbol's count filters are checked when an order or a list is placed; an OTO's
        // pending legs, checked with the list, count from when they go to work (as in the
        // Python engine), so only orders outside lists are held to the limits here
        let counted = o.list_id < 0;
        match per_account.iter_mut().find(|e| e.0 == o.account) {
            Some(e) => {
                e.1 += i64::from(!stop && counted);
                e.2 += i64::from(waiting && counted);
            }
            None => per_account.push((
                o.account,
                i64::from(!stop && counted),
                i64::from(waiting && counted),
            )),
        }
        if !waiting {
            assert!(
                o.otype == OrderType::LimitMaker || o.tif == Some(Tif::Gtc),
                "an order that may not rest is on the book {o:?}; {}",
                ctx()
            );
            let side = if o.side == Side::Buy {
                &mut bids
            } else {
                &mut asks
            };
            match side.iter_mut().find(|e| e.0 == o.price) {
                Some(e) => e.1 += leaves,
                None => side.push((o.price, leaves)),
            }
        }
    }
    for name in ledger.accounts() {
        let id = ledger.find_account(name).unwrap();
        let (base, quote, exact) = locked
            .iter()
            .find(|e| e.0 == id)
            .map_or((0, 0, true), |e| (e.1, e.2, e.3));
        let (lb, lq) = (
            ledger.balance(name, BASE).locked,
            ledger.balance(name, QUOTE).locked,
        );
        assert!(
            (lb == base || (!exact && lb >= base)) && (lq == quote || (!exact && lq >= quote)),
            "account {name} locks ({lb}, {lq}) but its open orders hold ({base}, {quote}); {}",
            ctx()
        );
    }
    for &(id, plain, waiting) in &per_account {
        if let Some(max) = rules.max_num_orders {
            assert!(
                plain <= max,
                "account {id} has {plain} open orders > MAX_NUM_ORDERS {max}; {}",
                ctx()
            );
        }
        if let Some(max) = rules.max_num_algo_orders {
            assert!(
                waiting <= max,
                "account {id} has {waiting} waiting stops > MAX_NUM_ALGO_ORDERS {max}; {}",
                ctx()
            );
        }
    }
    if time_minus_one {
        return;
    }
    bids.sort_unstable_by_key(|b| std::cmp::Reverse(b.0));
    asks.sort_unstable_by_key(|a| a.0);
    assert_eq!(
        engine.depth(Side::Buy, usize::MAX),
        bids,
        "bid depth differs from the open orders; {}",
        ctx()
    );
    assert_eq!(
        engine.depth(Side::Sell, usize::MAX),
        asks,
        "ask depth differs from the open orders; {}",
        ctx()
    );
}

/// ceil(units * num / den), the venue's commission of one fill.
fn fee(units: i128, (num, den): (i128, i128)) -> i128 {
    -((-units * num).div_euclid(den))
}

/// What the event log (canonical `bot4.core.events.encode` lines) must show:
/// - `seq` strictly increases;
/// - trades come as (taker, maker) pairs with consecutive trade ids, opposite sides, the
///   maker's price as the trade price, within the taker's limit; a LIMIT_MAKER order is never
///   the taker; no quantity beyond the order's; the commission is ceil(received units x the
///   symbol's rate) in the received asset;
/// - no trade between orders of one STP key (account or tradeGroupId) when the taker's STP
///   mode is not NONE;
/// - a FOK order expires with nothing executed;
/// - an ended order is not working.
pub fn check_log(log: &str, config: &Config) {
    let rules = &config.rules;
    let key = |account: &str| -> String {
        match account {
            "a" | "b" if config.group_ab => "group 7".into(),
            "c" if config.group_c => "group 0".into(),
            other => other.to_owned(),
        }
    };
    let num = |s: &str| -> i128 { s.parse().unwrap_or_else(|_| panic!("not a number: {s:?}")) };
    let mut last_seq: Option<i128> = None;
    let mut last_trade: i128 = 0;
    let mut taker: Option<Vec<String>> = None;
    for (n, line) in log.lines().enumerate() {
        let f: Vec<&str> = line.split('|').collect();
        assert_eq!(f.len(), 36, "log line {n} has {} fields: {line}", f.len());
        let seq = num(f[16]);
        assert!(
            last_seq.is_none_or(|l| seq > l),
            "seq does not increase at log line {n}: {line}"
        );
        last_seq = Some(seq);
        let (exec, status) = (f[18], f[19]);
        let (orig, cum, prevented) = (num(f[8]), num(f[23]), num(f[32]));
        if matches!(
            status,
            "FILLED" | "CANCELED" | "EXPIRED" | "EXPIRED_IN_MATCH" | "REJECTED"
        ) {
            assert_eq!(
                f[29], "0",
                "an ended order is working at log line {n}: {line}"
            );
        }
        if exec == "EXPIRED" && f[6] == "FOK" {
            assert_eq!(
                cum, 0,
                "a FOK order expired partly filled at log line {n}: {line}"
            );
        }
        if exec != "TRADE" {
            assert!(
                taker.is_none(),
                "a taker's trade without its maker at log line {n}"
            );
            continue;
        }
        let (last_qty, last_price, commission) = (num(f[21]), num(f[22]), num(f[25]));
        assert!(
            last_qty > 0 && last_price > 0 && commission >= 0,
            "a trade's quantity, price or commission at log line {n}: {line}"
        );
        assert!(
            cum + prevented <= orig,
            "executed + prevented beyond the quantity at log line {n}: {line}"
        );
        let buy = f[4] == "BUY";
        let maker = f[28] == "1";
        let (units, asset) = if buy {
            (last_qty * i128::from(rules.base_per_lot), BASE)
        } else {
            (
                last_price * last_qty * i128::from(rules.quote_per_ticklot),
                QUOTE,
            )
        };
        let rate = if maker {
            rules.maker_rate
        } else {
            rules.taker_rate
        };
        assert_eq!(
            (commission, f[26]),
            (fee(units, rate), asset),
            "the commission at log line {n}: {line}"
        );
        let trade_id = num(f[27]);
        match taker.take() {
            None => {
                assert!(
                    !maker,
                    "a maker's trade without its taker at log line {n}: {line}"
                );
                assert_eq!(
                    trade_id,
                    last_trade + 1,
                    "trade ids are consecutive at log line {n}: {line}"
                );
                last_trade = trade_id;
                assert_ne!(
                    f[5], "LIMIT_MAKER",
                    "a LIMIT_MAKER order took at log line {n}: {line}"
                );
                let limit = num(f[7]);
                if limit != 0 {
                    assert!(
                        if buy {
                            last_price <= limit
                        } else {
                            last_price >= limit
                        },
                        "a trade beyond the taker's limit at log line {n}: {line}"
                    );
                }
                taker = Some(f.iter().map(|s| (*s).to_owned()).collect());
            }
            Some(t) => {
                assert!(maker, "two takers' trades in a row at log line {n}: {line}");
                assert_eq!(num(&t[27]), trade_id, "a trade pair's ids at log line {n}");
                assert_eq!(
                    (num(&t[21]), num(&t[22])),
                    (last_qty, last_price),
                    "a trade pair's quantity and price at log line {n}"
                );
                assert_ne!(
                    t[4], f[4],
                    "a trade between two orders of one side at log line {n}"
                );
                assert_eq!(
                    num(f[7]),
                    last_price,
                    "a trade away from the maker's price at log line {n}: {line}"
                );
                assert!(
                    t[12] == "NONE" || key(&t[1]) != key(f[1]),
                    "a self-trade with STP {} at log line {n}: {line}",
                    t[12]
                );
            }
        }
    }
    assert!(
        taker.is_none(),
        "the log ends on a taker's trade without its maker"
    );
}

fn refusal_in_list(index: u16, ctx: &dyn Fn() -> String) {
    assert!(
        usize::from(index) < REFUSALS.len(),
        "refusal index {index:#x} is not in REFUSALS; {}",
        ctx()
    );
    let refusal = REFUSALS[usize::from(index)];
    assert!(
        !matches!(refusal, Refusal::Internal(_) | Refusal::Unsupported(_)),
        "refusal {refusal:?}; {}",
        ctx()
    );
}

/// Requests with their times, in order.
pub type Batch = Vec<(i64, Request)>;

/// Split an input into its configuration, structured requests and raw requests.
pub fn parse(data: &[u8]) -> (Config, Batch, Option<Batch>) {
    let byte = |i: usize| data.get(i).copied().unwrap_or(0);
    let split = u16::from_le_bytes([byte(3), byte(4)]);
    let remap = split & 0x8000 != 0;
    let rest = data.get(5..).unwrap_or(&[]);
    let s = usize::from(split & 0x7FFF).min(rest.len());
    let (head, raw) = rest.split_at(s);
    let config = Config::from_bytes(byte(0), byte(1), byte(2));

    let batch = structured(head);
    // the structured requests survive the wire form exactly
    let wire = encode(&batch);
    assert_eq!(
        decode(&wire).as_ref(),
        Ok(&batch),
        "decode(encode(batch)) differs"
    );

    // garbage decodes to an error or to requests whose encoding is the input, byte for byte
    let raw_batch = match decode(raw) {
        Ok(mut reqs) => {
            assert_eq!(encode(&reqs), raw, "decode is not the inverse of encode");
            if remap {
                for (_, req) in &mut reqs {
                    remap_accounts(req);
                }
            }
            Some(reqs)
        }
        Err(e) => {
            assert!(e.offset <= raw.len(), "error offset beyond the input: {e}");
            None
        }
    };
    (config, batch, raw_batch)
}

/// What the runs met, for judging coverage (the stable runner's `--stats`).
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub requests: u64,
    pub raw_decoded: u64,
    pub raw_requests: u64,
    /// answers by (outcome, status or refusal name)
    pub answers: std::collections::BTreeMap<String, u64>,
    /// log lines by (execution type, status)
    pub events: std::collections::BTreeMap<String, u64>,
}

impl Stats {
    pub fn merge(&mut self, other: &Stats) {
        self.requests += other.requests;
        self.raw_decoded += other.raw_decoded;
        self.raw_requests += other.raw_requests;
        for (k, v) in &other.answers {
            *self.answers.entry(k.clone()).or_insert(0) += v;
        }
        for (k, v) in &other.events {
            *self.events.entry(k.clone()).or_insert(0) += v;
        }
    }
}

/// The whole check of one input.
pub fn check(data: &[u8]) {
    let (config, mut batch, raw_batch) = parse(data);
    if let Some(raw) = raw_batch {
        batch.extend(raw);
    }
    run(&config, &batch);
}

/// The whole check of one input, and what it met.
pub fn check_stats(data: &[u8]) -> Stats {
    let (config, mut batch, raw_batch) = parse(data);
    let mut stats = Stats::default();
    if let Some(raw) = raw_batch {
        stats.raw_decoded = 1;
        stats.raw_requests = raw.len() as u64;
        batch.extend(raw);
    }
    stats.requests = batch.len() as u64;
    let (results, log) = run(&config, &batch);
    let statuses = _native::engine::Status::ALL;
    for r in results.chunks(RESULT_SIZE) {
        let key = if r[0] == 1 {
            let index = usize::from(u16::from_le_bytes([r[2], r[3]]));
            format!("refused {:?}", REFUSALS.get(index))
        } else {
            let kind = if u32::from_le_bytes([r[4], r[5], r[6], r[7]]) > 1 {
                "several reports"
            } else {
                "one report"
            };
            format!("accepted {:?} {kind}", statuses.get(usize::from(r[1])))
        };
        *stats.answers.entry(key).or_insert(0) += 1;
    }
    for line in log.lines() {
        let fields: Vec<&str> = line.split('|').collect();
        let key = format!(
            "{} {} {}",
            fields.get(18).unwrap_or(&"?"),
            fields.get(5).unwrap_or(&"?"),
            fields.get(19).unwrap_or(&"?")
        );
        *stats.events.entry(key).or_insert(0) += 1;
    }
    stats
}

/// Run a batch three ways and check everything; B's answers and log.
pub fn run(config: &Config, batch: &[(i64, Request)]) -> (Vec<u8>, String) {
    let rules = &config.rules;

    // A: one request at a time, invariants after each
    let mut ledger_a = config.ledger();
    let mut engine_a = config.engine(&mut ledger_a);
    let initial = engine_a.state_digest(&ledger_a, "TRADING");
    // the digest after the last request is the one before the next
    let mut before = initial.clone();
    let mut results_a: Vec<u8> = Vec::new();
    let mut time_minus_one = false;
    for (i, one) in batch.iter().enumerate() {
        let ctx = || format!("after request {i} {one:?}");
        let at = results_a.len();
        // order lists take order ids too: a new order's is the next after the last one
        let last_order_id = engine_a.last_order_id;
        let answer = engine_a.run_batch(
            &mut ledger_a,
            std::slice::from_ref(one),
            &mut results_a,
            None,
        );
        let after = engine_a.state_digest(&ledger_a, "TRADING");
        match answer {
            Err(refusal) => {
                assert!(
                    is_stop(&one.1) && refusal == Refusal::Unsupported("stop orders"),
                    "run_batch refused a batch of one: {refusal:?}; {}",
                    ctx()
                );
                assert_eq!(results_a.len(), at, "a refused batch answered; {}", ctx());
                assert_eq!(
                    after,
                    before,
                    "a refused batch changed the state; {}",
                    ctx()
                );
            }
            Ok(()) => {
                assert_eq!(results_a.len(), at + RESULT_SIZE, "{}", ctx());
                let r = &results_a[at..];
                let refused = r[0] == 1;
                let index = u16::from_le_bytes([r[2], r[3]]);
                let reports = u32::from_le_bytes([r[4], r[5], r[6], r[7]]);
                let order_id = i64::from_le_bytes(r[8..16].try_into().unwrap());
                let executed = i64::from_le_bytes(r[16..24].try_into().unwrap());
                let cum_quote = i128::from_le_bytes(r[24..40].try_into().unwrap());
                assert!(r[0] <= 1, "{}", ctx());
                if refused {
                    refusal_in_list(index, &ctx);
                    assert!(
                        r[1] == 0 && reports == 0 && order_id == 0 && executed == 0,
                        "{}",
                        ctx()
                    );
                    assert_eq!(
                        after,
                        before,
                        "a refused request changed the state; {}",
                        ctx()
                    );
                } else {
                    assert_eq!(index, 0xFFFF, "{}", ctx());
                    assert!(
                        reports >= 1,
                        "an accepted request without a report; {}",
                        ctx()
                    );
                    assert!(executed >= 0 && cum_quote >= 0, "{}", ctx());
                    if let Request::New(_) = one.1 {
                        assert_eq!(
                            order_id,
                            last_order_id + 1,
                            "order ids are consecutive; {}",
                            ctx()
                        );
                    }
                }
            }
        }
        time_minus_one |= one.0 == -1;
        check_state(&engine_a, &ledger_a, rules, time_minus_one, &ctx);
        before = after;
    }
    let digest_a = before;

    // B: the whole batch at once with the event log
    let mut ledger_b = config.ledger();
    let mut engine_b = config.engine(&mut ledger_b);
    let mut results_b = Vec::new();
    let mut log = String::new();
    let mut todo: Vec<(i64, Request)> = batch.to_vec();
    let answer = engine_b.run_batch(&mut ledger_b, &todo, &mut results_b, Some(&mut log));
    if let Err(refusal) = answer {
        // an engine that does not serve stops refuses the batch whole, changing nothing
        assert_eq!(refusal, Refusal::Unsupported("stop orders"));
        assert!(todo.iter().any(|(_, r)| is_stop(r)));
        assert!(results_b.is_empty() && log.is_empty());
        assert_eq!(
            engine_b.state_digest(&ledger_b, "TRADING"),
            initial,
            "a batch refused whole changed the state"
        );
        todo.retain(|(_, r)| !is_stop(r));
        engine_b
            .run_batch(&mut ledger_b, &todo, &mut results_b, Some(&mut log))
            .expect("a batch without stop orders runs");
    }
    let ctx = || "after the whole batch".to_owned();
    check_state(&engine_b, &ledger_b, rules, time_minus_one, &ctx);
    check_log(&log, config);

    // C: again, without the log
    let mut ledger_c = config.ledger();
    let mut engine_c = config.engine(&mut ledger_c);
    let mut results_c = Vec::new();
    engine_c
        .run_batch(&mut ledger_c, &todo, &mut results_c, None)
        .expect("the batch B ran runs");

    assert_eq!(
        results_a, results_b,
        "one at a time vs the whole batch: answers differ"
    );
    assert_eq!(results_b, results_c, "the same batch twice: answers differ");
    let (digest_b, digest_c) = (
        engine_b.state_digest(&ledger_b, "TRADING"),
        engine_c.state_digest(&ledger_c, "TRADING"),
    );
    assert_eq!(
        digest_a, digest_b,
        "one at a time vs the whole batch: state differs"
    );
    assert_eq!(digest_b, digest_c, "the same batch twice: state differs");
    assert_eq!(ledger_b.digest(), ledger_c.digest());

    // D: with another history length (ended orders kept for queries, their slots reused
    // sooner or later), which no answer to these requests depends on
    let mut other = config.clone();
    other.history = if config.history < 4 { 1000 } else { 0 };
    let mut ledger_d = other.ledger();
    let mut engine_d = other.engine(&mut ledger_d);
    let mut results_d = Vec::new();
    engine_d
        .run_batch(&mut ledger_d, &todo, &mut results_d, None)
        .expect("the batch B ran runs");
    assert_eq!(
        results_b, results_d,
        "history {} vs {}: answers differ",
        config.history, other.history
    );
    assert_eq!(
        digest_b,
        engine_d.state_digest(&ledger_d, "TRADING"),
        "history {} vs {}: state differs",
        config.history,
        other.history
    );
    let reports: usize = results_b
        .chunks(RESULT_SIZE)
        .map(|r| u32::from_le_bytes([r[4], r[5], r[6], r[7]]) as usize)
        .sum();
    assert_eq!(log.lines().count(), reports, "one log line per report");
    (results_b, log)
}
