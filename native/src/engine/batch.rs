//! The batch entry point: many requests in one call, in a compact binary form, answered in
//! one too (the symbol actor's path: bytes in, bytes out), with the canonical event log
//! (`bot4.core.events.encode`, byte for byte) when asked, and no object per report.
//!
//! Requests, little-endian, one after another (`bot4.venue.batch.encode_requests` writes
//! them): a kind byte (0 new order, 1 cancel, 2 amend), the time `now` (i64), then
//! - new order: side, type, time in force, STP mode (u8 indices of the Python enumerations,
//!   255 for None), quantity, price, quoteOrderQty, stopPrice, trailingDelta (i64), the
//!   account (string), the client id (optional string);
//! - cancel: the account, the order id (optional i64), the original and the new client
//!   ids (optional strings), the restriction (u8, 255 for None);
//! - amend: the account, the new quantity (i64), the order id (optional i64), the original
//!   and the new client ids (optional strings).
//!
//! A string is a u16 length and UTF-8 bytes; an optional string has length 0xFFFF for None;
//! an optional i64 is a flag byte (0 None, 1 a value) and the value.
//!
//! Each answer is `RESULT_SIZE` bytes: outcome (u8: 0 accepted, 1 refused), the order's
//! status (u8), the refusal's index in `REFUSALS` (u16, 0xFFFF when accepted), the number
//! of reports (u32), the order id, the executed quantity (i64) and the cumulative quote
//! (i128). The whole batch is decoded before anything runs: a malformed one changes nothing.

use std::fmt::Write;

use super::{
    AmendRequest, CancelRequest, CompactString, Engine, NewRequest, OrderType, REFUSALS, Refusal,
    Report, Restriction, Side, Stp, Tif,
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
        if kind > 2 {
            return Err(r.error("a request kind is 0, 1 or 2"));
        }
        let now = r.i64()?;
        let req = match kind {
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
            _ => {
                let side = r.index(Side::from_index)?;
                let otype = r.index(OrderType::from_index)?;
                let (Some(side), Some(otype)) = (side, otype) else {
                    return Err(r.error("a new order has a side and a type"));
                };
                let tif = r.index(Tif::from_index)?;
                let stp_mode = r.index(Stp::from_index)?;
                Request::New(NewRequest {
                    side,
                    otype,
                    tif,
                    stp_mode,
                    quantity: r.i64()?,
                    price: r.i64()?,
                    quote_order_qty: r.i64()?,
                    stop_price: r.i64()?,
                    trailing_delta: r.i64()?,
                    account: r.str()?,
                    client_order_id: r.opt_str()?,
                })
            }
        };
        out.push((now, req));
    }
    Ok(out)
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
            };
            match answer {
                Ok(r) => {
                    self.end_request();
                    let o = self.order(r);
                    results.push(0);
                    results.push(o.status as u8);
                    results.extend_from_slice(&0xFFFFu16.to_le_bytes());
                    results.extend_from_slice(&(reports.len() as u32).to_le_bytes());
                    results.extend_from_slice(&o.order_id.to_le_bytes());
                    results.extend_from_slice(&o.cum_qty.to_le_bytes());
                    results.extend_from_slice(&o.cum_quote().to_le_bytes());
                    if let Some(out) = log.as_deref_mut() {
                        for report in &reports {
                            self.encode_report(ledger, report, out);
                        }
                    }
                }
                Err(refusal) => {
                    results.push(1);
                    results.push(0);
                    results.extend_from_slice(&refusal_index(refusal).to_le_bytes());
                    results.extend_from_slice(&[0u8; RESULT_SIZE - 4]);
                }
            }
        }
        Ok(())
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
