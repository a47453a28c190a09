//! The batch entry point: many requests in one call, in a compact binary form, answered in
//! one too (the symbol actor's path: bytes in, bytes out), with the canonical event log
//! (`bot4.core.events.encode`, byte for byte) when asked, and no object per report.
//!
//! Requests, little-endian, one after another (`bot4.venue.batch.encode_requests` writes
//! them): a kind byte (0 new order, 1 cancel, 2 amend, 3 OCO, 4 OTO, 5 OTOCO, 6 list
//! cancel), the time `now` (i64), then
//! - new order: side, type, time in force, STP mode (u8 indices of the Python enumerations,
//!   255 for None), quantity, price, quoteOrderQty, stopPrice, trailingDelta (i64), the
//!   account (string), the client id (optional string);
//! - cancel: the account, the order id (optional i64), the original and the new client
//!   ids (optional strings), the restriction (u8, 255 for None);
//! - amend: the account, the new quantity (i64), the order id (optional i64), the original
//!   and the new client ids (optional strings);
//! - OCO: the account, side (u8), quantity (i64), STP mode (u8), the list client id
//!   (optional string), then the above and the below leg, each: type, time in force (u8),
//!   price, stopPrice, trailingDelta (i64), client id (optional string);
//! - OTO: the working and the pending order (each a new order's fields after its `now`),
//!   the list client id;
//! - OTOCO: the working order, the pair's side (u8) and quantity (i64), the above and the
//!   below leg, the list client id;
//! - list cancel: the account, the orderListId (optional i64), the list client id and the
//!   new client id (optional strings).
//!
//! A string is a u16 length and UTF-8 bytes; an optional string has length 0xFFFF for None;
//! an optional i64 is a flag byte (0 None, 1 a value) and the value.
//!
//! Each answer is `RESULT_SIZE` bytes: outcome (u8: 0 accepted, 1 refused), the order's
//! status (u8), the refusal's index in `REFUSALS` (u16, 0xFFFF when accepted), the number
//! of reports (u32), the order id, the executed quantity (i64) and the cumulative quote
//! (i128). A list request's answer holds the list's status (`ListOrderStatus` index) and its
//! orderListId, with the executed quantity and cumulative quote of its orders summed. The
//! whole batch is decoded before anything runs: a malformed one changes nothing.

use std::fmt::Write;

use super::{
    AmendRequest, CancelListRequest, CancelRequest, CompactString, Engine, ListAck, NewRequest,
    OcoRequest, OrderType, OtoRequest, REFUSALS, Refusal, Report, Restriction, Side, Stp, Tif,
    gate_cancel_list, gate_oco, gate_oto, gate_otoco, gate_triggering,
};
use crate::ledger::Ledger;

/// The size of one answer.
pub const RESULT_SIZE: usize = 40;

/// Where a batch could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchError {
    pub offset: usize,
    pub what: &'static str,
}

impl std::fmt::Display for BatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "malformed batch at byte {}: {}", self.offset, self.what)
    }
}

/// One decoded request and its time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    New(NewRequest),
    Cancel(CancelRequest),
    Amend(AmendRequest),
    Oco(OcoBatch),
    Oto(OtoBatch),
    Otoco(OtocoBatch),
    CancelList(CancelListRequest),
}

/// One OCO leg as the batch carries it (the list gives account, side and quantity).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leg {
    pub otype: OrderType,
    pub tif: Option<Tif>,
    pub price: i64,
    pub stop_price: i64,
    pub trailing_delta: i64,
    pub client_order_id: Option<CompactString>,
}

/// POST orderList/oco as the batch carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcoBatch {
    pub account: CompactString,
    pub side: Side,
    pub quantity: i64,
    pub stp_mode: Option<Stp>,
    pub list_client_order_id: Option<CompactString>,
    pub above: Leg,
    pub below: Leg,
}

/// POST orderList/oto as the batch carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtoBatch {
    pub working: NewRequest,
    pub pending: NewRequest,
    pub list_client_order_id: Option<CompactString>,
}

/// POST orderList/otoco as the batch carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtocoBatch {
    pub working: NewRequest,
    pub side: Side,
    pub quantity: i64,
    pub above: Leg,
    pub below: Leg,
    pub list_client_order_id: Option<CompactString>,
}

impl Leg {
    /// The leg as the new order it stands for.
    fn order(&self, account: &str, side: Side, quantity: i64, stp: Option<Stp>) -> NewRequest {
        NewRequest {
            account: account.into(),
            side,
            otype: self.otype,
            quantity,
            price: self.price,
            tif: self.tif,
            quote_order_qty: 0,
            client_order_id: self.client_order_id.clone(),
            stp_mode: stp,
            stop_price: self.stop_price,
            trailing_delta: self.trailing_delta,
        }
    }

    fn level(&self) -> (Option<OrderType>, i64, i64) {
        (Some(self.otype), self.price, self.stop_price)
    }
}

struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn bytes(&mut self, n: usize) -> Result<&[u8], BatchError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.data.len());
        let Some(end) = end else {
            return Err(self.error("truncated"));
        };
        let out = &self.data[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn error(&self, what: &'static str) -> BatchError {
        BatchError {
            offset: self.at,
            what,
        }
    }

    fn u8(&mut self) -> Result<u8, BatchError> {
        Ok(self.bytes(1)?[0])
    }

    fn i64(&mut self) -> Result<i64, BatchError> {
        let b = self.bytes(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(i64::from_le_bytes(a))
    }

    fn opt_i64(&mut self) -> Result<Option<i64>, BatchError> {
        match self.u8()? {
            0 => Ok(None),
            1 => Ok(Some(self.i64()?)),
            _ => Err(self.error("an optional integer's flag is 0 or 1")),
        }
    }

    /// An optional string, inline when short (no heap string for the usual ids and names).
    fn opt_str(&mut self) -> Result<Option<CompactString>, BatchError> {
        let b = self.bytes(2)?;
        let n = u16::from_le_bytes([b[0], b[1]]);
        if n == 0xFFFF {
            return Ok(None);
        }
        let raw = self.bytes(usize::from(n))?;
        match std::str::from_utf8(raw) {
            Ok(s) => Ok(Some(CompactString::from(s))),
            Err(_) => Err(self.error("a string is not UTF-8")),
        }
    }

    fn str(&mut self) -> Result<CompactString, BatchError> {
        self.opt_str()?
            .ok_or_else(|| self.error("a mandatory string is missing"))
    }

    /// A new order's fields after its kind and time.
    fn new_order(&mut self) -> Result<NewRequest, BatchError> {
        let side = self.index(Side::from_index)?;
        let otype = self.index(OrderType::from_index)?;
        let (Some(side), Some(otype)) = (side, otype) else {
            return Err(self.error("a new order has a side and a type"));
        };
        let tif = self.index(Tif::from_index)?;
        let stp_mode = self.index(Stp::from_index)?;
        Ok(NewRequest {
            side,
            otype,
            tif,
            stp_mode,
            quantity: self.i64()?,
            price: self.i64()?,
            quote_order_qty: self.i64()?,
            stop_price: self.i64()?,
            trailing_delta: self.i64()?,
            account: self.str()?,
            client_order_id: self.opt_str()?,
        })
    }

    fn side(&mut self) -> Result<Side, BatchError> {
        self.index(Side::from_index)?
            .ok_or_else(|| self.error("a list has a side"))
    }

    fn leg(&mut self) -> Result<Leg, BatchError> {
        let Some(otype) = self.index(OrderType::from_index)? else {
            return Err(self.error("a leg has a type"));
        };
        Ok(Leg {
            otype,
            tif: self.index(Tif::from_index)?,
            price: self.i64()?,
            stop_price: self.i64()?,
            trailing_delta: self.i64()?,
            client_order_id: self.opt_str()?,
        })
    }

    fn index<T>(&mut self, from: fn(u8) -> Option<T>) -> Result<Option<T>, BatchError> {
        match self.u8()? {
            255 => Ok(None),
            i => from(i)
                .map(Some)
                .ok_or_else(|| self.error("an enumeration index out of range")),
        }
    }
}

/// Decode a whole batch: (now, request) pairs.
pub fn decode(data: &[u8]) -> Result<Vec<(i64, Request)>, BatchError> {
    let mut r = Reader { data, at: 0 };
    // a new order takes at least 57 bytes, a cancel or an amend 17: about right, no regrowth
    let mut out = Vec::with_capacity(data.len() / 48);
    while r.at < data.len() {
        let kind = r.u8()?;
        if kind > 6 {
            return Err(r.error("a request kind is 0 to 6"));
        }
        let now = r.i64()?;
        let req = match kind {
            3 => {
                let (account, side, quantity) = (r.str()?, r.side()?, r.i64()?);
                Request::Oco(OcoBatch {
                    account,
                    side,
                    quantity,
                    stp_mode: r.index(Stp::from_index)?,
                    list_client_order_id: r.opt_str()?,
                    above: r.leg()?,
                    below: r.leg()?,
                })
            }
            4 => Request::Oto(OtoBatch {
                working: r.new_order()?,
                pending: r.new_order()?,
                list_client_order_id: r.opt_str()?,
            }),
            5 => Request::Otoco(OtocoBatch {
                working: r.new_order()?,
                side: r.side()?,
                quantity: r.i64()?,
                above: r.leg()?,
                below: r.leg()?,
                list_client_order_id: r.opt_str()?,
            }),
            6 => Request::CancelList(CancelListRequest {
                account: r.str()?.into(),
                order_list_id: r.opt_i64()?,
                list_client_order_id: r.opt_str()?.map(Into::into),
                new_client_order_id: r.opt_str()?.map(Into::into),
            }),
            1 => Request::Cancel(CancelRequest {
                account: r.str()?,
                order_id: r.opt_i64()?,
                orig_client_order_id: r.opt_str()?,
                new_client_order_id: r.opt_str()?,
                restriction: r.index(Restriction::from_index)?,
            }),
            2 => Request::Amend(AmendRequest {
                account: r.str()?,
                new_qty: r.i64()?,
                order_id: r.opt_i64()?,
                orig_client_order_id: r.opt_str()?,
                new_client_order_id: r.opt_str()?,
            }),
            _ => Request::New(r.new_order()?),
        };
        out.push((now, req));
    }
    Ok(out)
}

/// A list client id as the list requests hold it.
fn text(id: &Option<CompactString>) -> Option<String> {
    id.as_ref().map(|c| c.to_string())
}

/// An accepted request's answer: (status, order or list id, executed quantity, cumulative
/// quote) and how many reports it made.
fn accepted_row(results: &mut Vec<u8>, row: (u8, i64, i64, i128), reports: usize) {
    let (status, id, executed, quote) = row;
    results.push(0);
    results.push(status);
    results.extend_from_slice(&0xFFFFu16.to_le_bytes());
    results.extend_from_slice(&(reports as u32).to_le_bytes());
    results.extend_from_slice(&id.to_le_bytes());
    results.extend_from_slice(&executed.to_le_bytes());
    results.extend_from_slice(&quote.to_le_bytes());
}

/// A refused request's answer: its refusal, zeros elsewhere.
fn refused_row(results: &mut Vec<u8>, refusal: Refusal) {
    results.push(1);
    results.push(0);
    results.extend_from_slice(&refusal_index(refusal).to_le_bytes());
    results.extend_from_slice(&[0u8; RESULT_SIZE - 4]);
}

/// The index of a refusal in `REFUSALS` (0xFFFE for one missing there, a bug the tests
/// look for).
pub fn refusal_index(refusal: Refusal) -> u16 {
    REFUSALS
        .iter()
        .position(|&r| r == refusal)
        .map_or(0xFFFE, |i| i as u16)
}

impl Engine {
    /// Run a decoded batch: the answers, and the canonical event log when `log` is given.
    pub fn run_batch(
        &mut self,
        ledger: &mut Ledger,
        batch: &[(i64, Request)],
        results: &mut Vec<u8>,
        mut log: Option<&mut String>,
    ) -> Result<(), Refusal> {
        results.reserve(batch.len() * RESULT_SIZE);
        // one report buffer for the whole batch: no allocation per request
        let mut reports: Vec<Report> = Vec::with_capacity(16);
        for (now, req) in batch {
            reports.clear();
            let answer = match req {
                Request::New(new) => self.submit_into(ledger, new, *now, &mut reports),
                Request::Cancel(cancel) => self.cancel_into(ledger, cancel, *now, &mut reports),
                Request::Amend(amend) => self.amend_into(ledger, amend, *now, &mut reports),
                list => {
                    let answer = self.run_list(ledger, list, *now);
                    if let Ok(ack) = &answer {
                        self.recent.keep(&ack.reports);
                    }
                    self.list_result(ledger, answer, results, log.as_deref_mut());
                    continue;
                }
            };
            match answer {
                Ok(r) => {
                    self.end_request();
                    let o = self.order(r);
                    let row = (o.status as u8, o.order_id, o.cum_qty, o.cum_quote());
                    accepted_row(results, row, reports.len());
                    self.recent.keep(&reports);
                    if let Some(out) = log.as_deref_mut() {
                        for report in &reports {
                            self.encode_report(ledger, report, out);
                        }
                    }
                }
                Err(refusal) => refused_row(results, refusal),
            }
        }
        Ok(())
    }

    /// An order-list request of a batch: the edge's checks, then the engine's.
    fn run_list(
        &mut self,
        ledger: &mut Ledger,
        req: &Request,
        now: i64,
    ) -> Result<ListAck, Refusal> {
        match req {
            Request::Oco(oco) => {
                let (above, below) = (&oco.above, &oco.below);
                gate_oco(
                    &self.rules,
                    Some(oco.side),
                    Some(above.otype),
                    Some(below.otype),
                )?;
                let leg = |l: &Leg| Ok(l.order(&oco.account, oco.side, oco.quantity, oco.stp_mode));
                let request = OcoRequest {
                    legs: [leg(above), leg(below)],
                    list_client_order_id: Ok(text(&oco.list_client_order_id)),
                };
                self.submit_oco(ledger, &request, now)
            }
            Request::Oto(oto) => {
                let pending = &oto.pending;
                gate_oto(
                    &self.rules,
                    pending.otype == OrderType::Market && pending.quote_order_qty != 0,
                )?;
                gate_triggering(
                    Some(oto.working.otype),
                    pending.account == oto.working.account,
                )?;
                let request = OtoRequest {
                    working: Ok(oto.working.clone()),
                    pending: vec![Ok(pending.clone())],
                    list_client_order_id: Ok(text(&oto.list_client_order_id)),
                };
                self.submit_triggering(ledger, &request, now)
            }
            Request::Otoco(otoco) => {
                let (above, below) = (&otoco.above, &otoco.below);
                gate_otoco(&self.rules, Some(otoco.side), above.level(), below.level())?;
                gate_triggering(Some(otoco.working.otype), true)?;
                let account = &otoco.working.account;
                let leg = |l: &Leg| Ok(l.order(account, otoco.side, otoco.quantity, None));
                let request = OtoRequest {
                    working: Ok(otoco.working.clone()),
                    pending: vec![leg(above), leg(below)],
                    list_client_order_id: Ok(text(&otoco.list_client_order_id)),
                };
                self.submit_triggering(ledger, &request, now)
            }
            Request::CancelList(cancel) => {
                let known = ledger.knows(&cancel.account);
                let (by_id, by_cid) = (
                    cancel.order_list_id.is_some(),
                    cancel.list_client_order_id.is_some(),
                );
                gate_cancel_list(known, by_id, by_cid)?;
                self.cancel_list(ledger, cancel, now)
            }
            // the plain requests never come here
            Request::New(_) | Request::Cancel(_) | Request::Amend(_) => {
                Err(Refusal::Internal("not an order-list request"))
            }
        }
    }

    /// A list request's answer row, and its reports in the log.
    fn list_result(
        &self,
        ledger: &Ledger,
        answer: Result<ListAck, Refusal>,
        results: &mut Vec<u8>,
        log: Option<&mut String>,
    ) {
        let ack = match answer {
            Ok(ack) => ack,
            Err(refusal) => return refused_row(results, refusal),
        };
        let executed = ack
            .orders
            .iter()
            .fold(0i64, |sum, v| sum.saturating_add(v.executed_qty));
        let quote = ack
            .orders
            .iter()
            .fold(0i128, |sum, v| sum.saturating_add(v.cum_quote));
        let row = (ack.status as u8, ack.list_id, executed, quote);
        accepted_row(results, row, ack.reports.len());
        if let Some(out) = log {
            for report in &ack.reports {
                self.encode_report(ledger, report, out);
            }
        }
    }

    /// One report in the canonical form of `bot4.core.events.encode`.
    pub fn encode_report(&self, ledger: &Ledger, r: &Report, out: &mut String) {
        let b = |v: bool| if v { '1' } else { '0' };
        let asset = r.commission_asset.map_or("", |a| ledger.asset_name(a));
        let _ = writeln!(
            out,
            "{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}",
            self.rules.symbol,
            ledger.account_name(r.account),
            r.order_id,
            r.client_order_id,
            r.side.text(),
            r.otype.text(),
            r.tif.map_or("", Tif::text),
            r.price,
            r.orig_qty,
            r.quote_order_qty,
            r.creation_time,
            r.working_time,
            r.stp_mode.text(),
            r.stop_price,
            r.trailing_delta,
            r.order_list_id,
            r.seq,
            r.orig_client_order_id.as_deref().unwrap_or(""),
            r.exec_type.text(),
            r.status.text(),
            r.expiry.text(),
            r.last_qty,
            r.last_price,
            r.cum_qty,
            r.cum_quote,
            r.commission,
            asset,
            r.trade_id,
            b(r.is_maker),
            b(r.is_working),
            r.transact_time,
            r.prevented_match_id,
            r.prevented_qty,
            r.last_prevented_qty,
            r.prevented_price,
            r.counter_order_id,
        );
    }
}
