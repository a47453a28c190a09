//! bot4's native venue core: exact integer money, the order book, the stop book, the
//! reference price and commission, the matching engine and its ledger and fee book, and the
//! bounded idempotency store, ported from the Python package (`bot4`), which stays the
//! executable specification.
//! With the `python` feature, `python` exposes it as the `bot4._native` extension module.

pub mod avgprice;
pub mod book;
pub mod engine;
pub mod feebook;
pub mod fees;
pub mod idempotency;
pub mod ledger;
pub mod money;
pub mod stops;

#[cfg(feature = "python")]
mod pyengine;
#[cfg(feature = "python")]
mod pyfees;
#[cfg(feature = "python")]
mod pyidempotency;
#[cfg(feature = "python")]
mod pyjournal;
#[cfg(feature = "python")]
mod python;
#[cfg(feature = "python")]
mod pywire;
