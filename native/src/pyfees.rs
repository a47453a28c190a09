//! `bot4._native.FeeBook`: the fee book kept in a native ledger (`crate::feebook`), behind
//! `bot4.venue.nativefees.NativeFeeBook`. Python compiles the schedule (`FeeSchedule`) and
//! passes its integers and fractions; names are interned in the ledger.

use num_bigint::BigInt;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use rustc_hash::FxHashMap as HashMap;

use crate::feebook::{FeeState, Schedule, Tier};
use crate::fees::Rates;
use crate::pyengine::PyLedger;
use crate::python::{Pair, fee_error, rates, ratio};

/// (standard, tax, special, discount, is_buyer) of one trade's rates.
type RateTuple = (Pair, Pair, Pair, Option<Pair>, bool);

/// The fee state of the venue whose balances a native `Ledger` holds.
#[pyclass(name = "FeeBook", module = "bot4._native")]
pub struct PyFeeBook {
    ledger: Py<PyLedger>,
}

#[pymethods]
impl PyFeeBook {
    #[new]
    fn new(ledger: Py<PyLedger>) -> Self {
        Self { ledger }
    }

    /// Install the compiled schedule: tiers as (level, min volume units, min BNB units or
    /// None), lowest first; the rate table as (symbol or None, level, eight rates at
    /// 4 * bnb + 2 * maker + buyer); the BNB asset and unit, the volume unit, the USD assets
    /// and the volume window in days.
    #[allow(clippy::too_many_arguments)]
    fn set_schedule(
        &self,
        py: Python<'_>,
        tiers: Vec<(i64, i128, Option<i128>)>,
        volume_or_bnb: bool,
        table: Vec<(Option<String>, i64, Vec<RateTuple>)>,
        bnb: &str,
        bnb_unit: Pair,
        volume_unit: Pair,
        mut usd: Vec<String>,
        window_days: i64,
    ) -> PyResult<()> {
        if tiers.is_empty() || window_days < 1 {
            return Err(PyValueError::new_err(
                "a schedule has at least one tier and a window of at least one day",
            ));
        }
        let mut rows = HashMap::default();
        for (symbol, level, row) in table {
            let row: Vec<Rates> = row
                .into_iter()
                .map(|(s, t, x, d, b)| rates(s, t, x, d, b))
                .collect::<PyResult<_>>()?;
            let row: [Rates; 8] = row
                .try_into()
                .map_err(|_| PyValueError::new_err("a rate row holds eight rates"))?;
            rows.insert((symbol, level), row);
        }
        let mut ledger = self.ledger.borrow_mut(py);
        let ledger = &mut ledger.inner;
        usd.sort_unstable();
        let schedule = Schedule {
            tiers: tiers
                .into_iter()
                .map(|(level, min_volume, min_bnb)| Tier {
                    level,
                    min_volume,
                    min_bnb,
                })
                .collect(),
            volume_or_bnb,
            table: rows,
            bnb: ledger.asset_id(bnb),
            bnb_unit: ratio(bnb_unit)?,
            volume_unit: ratio(volume_unit)?,
            usd: usd.iter().map(|a| ledger.asset_id(a)).collect(),
            window_days,
        };
        ledger.set_fee_schedule(schedule).map_err(fee_error)
    }

    fn set_pay_with_bnb(&self, py: Python<'_>, account: &str, enabled: bool) {
        let ledger = &mut self.ledger.borrow_mut(py).inner;
        let id = ledger.account_id(account);
        ledger.set_pay_with_bnb(id, enabled);
    }

    fn pays_with_bnb(&self, py: Python<'_>, account: &str) -> bool {
        let ledger = &self.ledger.borrow(py).inner;
        ledger
            .find_account(account)
            .is_some_and(|id| ledger.pays_with_bnb(id))
    }

    #[pyo3(signature = (account, level=None))]
    fn pin_level(&self, py: Python<'_>, account: &str, level: Option<i64>) {
        let ledger = &mut self.ledger.borrow_mut(py).inner;
        let id = ledger.account_id(account);
        ledger.pin_level(id, level);
    }

    fn level(&self, py: Python<'_>, account: &str) -> i64 {
        let ledger = &mut self.ledger.borrow_mut(py).inner;
        let id = ledger.account_id(account);
        ledger.fee_level(id)
    }

    fn record_volume(
        &self,
        py: Python<'_>,
        account: &str,
        ts_ms: i64,
        units: i128,
    ) -> PyResult<()> {
        let ledger = &mut self.ledger.borrow_mut(py).inner;
        let id = ledger.account_id(account);
        ledger.record_volume(id, ts_ms, units).map_err(fee_error)
    }

    /// The account's volume (in volume units) over the window ending at `now_ms`.
    fn volume(&self, py: Python<'_>, account: &str, now_ms: i64) -> i128 {
        let ledger = &self.ledger.borrow(py).inner;
        ledger
            .find_account(account)
            .map_or(0, |id| ledger.feebook.volume(id, now_ms))
    }

    /// A price of `base` in `quote`, as (numerator, denominator).
    fn set_price(&self, py: Python<'_>, base: &str, quote: &str, price: Pair) -> PyResult<()> {
        let price = ratio(price)?;
        if !price.is_positive() {
            return Err(PyValueError::new_err("a price is positive"));
        }
        let ledger = &mut self.ledger.borrow_mut(py).inner;
        let (base, quote) = (ledger.asset_id(base), ledger.asset_id(quote));
        ledger.feebook.set_price(base, quote, price);
        Ok(())
    }

    /// Quote per one `base` as (numerator, denominator), or None.
    fn price(&self, py: Python<'_>, base: &str, quote: &str) -> Option<(BigInt, BigInt)> {
        let ledger = &mut self.ledger.borrow_mut(py).inner;
        let (base, quote) = (ledger.asset_id(base), ledger.asset_id(quote));
        ledger
            .feebook
            .price(base, quote)
            .map(|p| (p.numer().clone(), p.denom().clone()))
    }

    /// Close the finished UTC day and re-tier (the engines do it at a day's first fill).
    fn roll(&self, py: Python<'_>, now: i64) {
        self.ledger.borrow_mut(py).inner.fee_roll(now);
    }

    #[getter]
    fn next_roll(&self, py: Python<'_>) -> i64 {
        self.ledger.borrow(py).inner.feebook.next_roll
    }

    /// (day, levels, pinned, paying with BNB, refs per account): the digest's inputs.
    fn state(&self, py: Python<'_>) -> FeeState {
        let ledger = &self.ledger.borrow(py).inner;
        ledger.feebook.state(ledger)
    }
}
