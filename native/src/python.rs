//! The `bot4._native` extension module: the native parts behind Python classes with the same
//! methods as their Python references. Amounts out of the 64-bit range raise OverflowError
//! and change nothing.

use pyo3::exceptions::PyOverflowError;
use pyo3::prelude::*;

use crate::avgprice::AveragePrice;
use crate::money::MoneyError;

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

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<PyAveragePrice>()?;
    Ok(())
}
