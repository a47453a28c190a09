//! The `bot4._native` extension module: the native parts behind Python classes with the same
//! methods as their Python references. Amounts out of the 64-bit range raise OverflowError
//! and change nothing.

use num_bigint::BigInt;
use num_rational::BigRational;
use pyo3::exceptions::{PyOverflowError, PyValueError};
use pyo3::prelude::*;

use crate::avgprice::AveragePrice;
use crate::fees::{self, FeeAsset, FeeError, Rates, Ratio};
use crate::money::MoneyError;
use crate::stops::{Stop, StopBook};

fn overflow(err: MoneyError) -> PyErr {
    PyOverflowError::new_err(err.to_string())
}

/// The symbol's reference price (`bot4.venue.avgprice.AveragePrice`, natively).
#[pyclass(name = "AveragePrice", module = "bot4._native")]
struct PyAveragePrice {
    inner: AveragePrice,
}

#[pymethods]
impl PyAveragePrice {
    #[new]
    #[pyo3(signature = (window_minutes, seed_price=None))]
    fn new(window_minutes: i64, seed_price: Option<i64>) -> PyResult<Self> {
        let inner = AveragePrice::new(window_minutes, seed_price).map_err(overflow)?;
        Ok(Self { inner })
    }

    /// Add one trade (time in ms, price in ticks, quantity in lots).
    fn record(&mut self, time: i64, price: i64, lots: i64) -> PyResult<()> {
        self.inner.record(time, price, lots).map_err(overflow)
    }

    /// The last trade price in ticks (or the seed before any trade).
    #[getter]
    fn last(&self) -> Option<i64> {
        self.inner.last()
    }

    #[getter]
    fn window_ms(&self) -> i64 {
        self.inner.window_ms()
    }

    /// (tick-lots, lots) whose ratio is the reference price in ticks at `now`, or None.
    fn reference(&mut self, now: i64) -> Option<(i128, i128)> {
        self.inner.reference(now)
    }

    /// The last price and the trades inside the window.
    fn state(&self) -> (Option<i64>, Vec<(i64, i128, i128)>) {
        self.inner.state()
    }
}

/// Waiting stop orders by order id (`bot4.venue.stops.StopBook`, natively).
#[pyclass(name = "StopBook", module = "bot4._native")]
struct PyStopBook {
    inner: StopBook,
}

#[pymethods]
impl PyStopBook {
    #[new]
    fn new() -> Self {
        Self {
            inner: StopBook::new(),
        }
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    /// Park an order until its trigger: `rise` if it fires when the price rises to
    /// `stop_price` (STOP_LOSS BUY, TAKE_PROFIT SELL); `last_price` starts a trailing order
    /// without a stop price.
    #[pyo3(signature = (order_id, rise, buy, stop_price, trailing_delta, last_price=None))]
    fn add(
        &mut self,
        order_id: u64,
        rise: bool,
        buy: bool,
        stop_price: i64,
        trailing_delta: i64,
        last_price: Option<i64>,
    ) {
        let stop = Stop {
            rise,
            buy,
            stop_price,
            trailing_delta,
            trail_ref: None,
            trailing_time: -1,
        };
        self.inner.add(order_id, stop, last_price);
    }

    /// Take a waiting order out; whether it was waiting.
    fn remove(&mut self, order_id: u64) -> bool {
        self.inner.remove(order_id).is_some()
    }

    /// The ids of the orders a trade at `price` triggers, in trigger order.
    fn fire(&mut self, price: i64, now: i64) -> Vec<u64> {
        self.inner
            .fire(price, now)
            .into_iter()
            .map(|(id, _)| id)
            .collect()
    }

    /// A waiting order's (trail_ref, trailing_time), or None if it is not waiting.
    fn trail(&self, order_id: u64) -> Option<(Option<i64>, i64)> {
        self.inner
            .get(order_id)
            .map(|s| (s.trail_ref, s.trailing_time))
    }
}

pub(crate) fn fee_error(err: FeeError) -> PyErr {
    match err {
        FeeError::Money(err) => overflow(err),
        FeeError::Invalid(what) => PyValueError::new_err(what),
    }
}

pub(crate) type Pair = (i128, i128);

pub(crate) fn ratio((num, den): Pair) -> PyResult<Ratio> {
    Ratio::new(num, den).map_err(fee_error)
}

/// A reduced fraction as (numerator, denominator), unbounded.
type BigPair = (BigInt, BigInt);
/// (units, in_bnb, standard, tax, special): the exact parts before rounding.
type CommissionTuple = (i128, bool, BigPair, BigPair, BigPair);

pub(crate) fn rates(
    standard: Pair,
    tax: Pair,
    special: Pair,
    discount: Option<Pair>,
    is_buyer: bool,
) -> PyResult<Rates> {
    Ok(Rates {
        standard: ratio(standard)?,
        tax: ratio(tax)?,
        special: ratio(special)?,
        discount: discount.map(ratio).transpose()?,
        is_buyer,
    })
}

/// The commission the engine's path computes, with its exact parts beside it.
fn commission_tuple(
    paid: fees::Commission,
    received: i128,
    rates: &Rates,
    price: Option<Ratio>,
    balance: i128,
) -> PyResult<CommissionTuple> {
    let price = price.map(fees::big);
    let (_, _, [standard, tax, special]) =
        fees::commission_parts(received, rates, price.as_ref(), balance).map_err(fee_error)?;
    let pair = |r: BigRational| (r.numer().clone(), r.denom().clone());
    Ok((
        paid.units,
        paid.in_bnb,
        pair(standard),
        pair(tax),
        pair(special),
    ))
}

/// `bot4.core.fees.commission` natively, fractions as (numerator, denominator) pairs.
#[pyfunction]
#[pyo3(signature = (received, standard, tax, special, discount, is_buyer, bnb_price=None, bnb_balance=0))]
#[allow(clippy::too_many_arguments)]
fn commission(
    received: i128,
    standard: Pair,
    tax: Pair,
    special: Pair,
    discount: Option<Pair>,
    is_buyer: bool,
    bnb_price: Option<Pair>,
    bnb_balance: i128,
) -> PyResult<CommissionTuple> {
    let rates = rates(standard, tax, special, discount, is_buyer)?;
    let price = bnb_price.map(ratio).transpose()?;
    let paid = fees::commission(received, &rates, price, bnb_balance).map_err(fee_error)?;
    commission_tuple(paid, received, &rates, price, bnb_balance)
}

/// `bot4.core.fees.trade_commission` natively: ("BASE" | "QUOTE" | "BNB", the commission).
#[pyfunction]
#[pyo3(signature = (standard, tax, special, discount, is_buyer, base_units, quote_units, bnb_price_quote=None, bnb_balance=0))]
#[allow(clippy::too_many_arguments)]
fn trade_commission(
    standard: Pair,
    tax: Pair,
    special: Pair,
    discount: Option<Pair>,
    is_buyer: bool,
    base_units: i128,
    quote_units: i128,
    bnb_price_quote: Option<Pair>,
    bnb_balance: i128,
) -> PyResult<(&'static str, CommissionTuple)> {
    let rates = rates(standard, tax, special, discount, is_buyer)?;
    let price = bnb_price_quote.map(ratio).transpose()?;
    let (asset, paid) = fees::trade_commission(&rates, base_units, quote_units, price, bnb_balance)
        .map_err(fee_error)?;
    let (name, received, price, balance) = match asset {
        FeeAsset::Bnb => ("BNB", quote_units, price, bnb_balance),
        FeeAsset::Base => ("BASE", base_units, None, 0),
        FeeAsset::Quote => ("QUOTE", quote_units, None, 0),
    };
    Ok((
        name,
        commission_tuple(paid, received, &rates, price, balance)?,
    ))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(commission, m)?)?;
    m.add_function(wrap_pyfunction!(trade_commission, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<PyAveragePrice>()?;
    m.add_class::<PyStopBook>()?;
    m.add_class::<crate::pyengine::PyLedger>()?;
    m.add_class::<crate::pyengine::PyEngine>()?;
    m.add_class::<crate::pyfees::PyFeeBook>()?;
    m.add_class::<crate::pyidempotency::PyIdempotencyStore>()?;
    m.add_class::<crate::pywire::PyResultCodec>()?;
    m.add_class::<crate::pyjournal::PyJournalCodec>()?;
    m.add_function(wrap_pyfunction!(crate::pyengine::refusal_names, m)?)?;
    Ok(())
}
