//! `bot4._native.IdempotencyStore`: the bounded store of `crate::idempotency` behind the
//! methods of `bot4.service.idempotency.MemoryIdempotencyStore`, subclassed in Python by
//! `bot4.service.nativeidempotency.NativeIdempotencyStore`, which hands in the `Status`
//! members the answers carry. The batch methods take whole lists, checked before anything
//! changes, so a gateway or a symbol's batch crosses into native code once.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};

use crate::idempotency::{Status, Store};

/// The in-memory idempotency store, natively.
#[pyclass(name = "IdempotencyStore", module = "bot4._native", subclass)]
pub struct PyIdempotencyStore {
    inner: Store,
    answers: Answers,
}

/// The Python answers: REPLAY, and (NEW, None), (IN_FLIGHT, None), (CONFLICT, None) shared
/// by every such answer.
struct Answers {
    replay: Py<PyAny>,
    new: Py<PyTuple>,
    in_flight: Py<PyTuple>,
    conflict: Py<PyTuple>,
}

impl Answers {
    fn of(&self, py: Python<'_>, found: (Status, Option<&[u8]>)) -> PyResult<Py<PyAny>> {
        Ok(match found {
            (Status::New, _) => self.new.clone_ref(py).into_any(),
            (Status::InFlight, _) => self.in_flight.clone_ref(py).into_any(),
            (Status::Conflict, _) => self.conflict.clone_ref(py).into_any(),
            (Status::Replay, response) => {
                let response = PyBytes::new(py, response.unwrap_or_default());
                PyTuple::new(py, [self.replay.bind(py).clone(), response.into_any()])?
                    .into_any()
                    .unbind()
            }
        })
    }
}

fn texts<'a>(items: &'a [Bound<'_, PyAny>], what: &str) -> PyResult<Vec<&'a str>> {
    items
        .iter()
        .map(|item| {
            item.downcast::<PyString>()
                .map_err(|_| PyTypeError::new_err(format!("{what} must be str")))?
                .to_str()
        })
        .collect()
}

fn blobs<'a>(items: &'a [Bound<'_, PyAny>], what: &str) -> PyResult<Vec<&'a [u8]>> {
    items
        .iter()
        .map(|item| {
            item.downcast::<PyBytes>()
                .map(|b| b.as_bytes())
                .map_err(|_| PyTypeError::new_err(format!("{what} must be bytes")))
        })
        .collect()
}

fn same_length(a: usize, b: usize) -> PyResult<()> {
    if a == b {
        Ok(())
    } else {
        Err(PyValueError::new_err("the lists differ in length"))
    }
}

#[pymethods]
impl PyIdempotencyStore {
    /// `statuses`: the NEW, REPLAY, IN_FLIGHT and CONFLICT objects the answers carry.
    #[new]
    #[pyo3(signature = (capacity, ttl_ms, statuses, *, tick_ms = 1_000, start_ms = 0))]
    fn new(
        py: Python<'_>,
        capacity: i64,
        ttl_ms: i64,
        statuses: (Py<PyAny>, Py<PyAny>, Py<PyAny>, Py<PyAny>),
        tick_ms: i64,
        start_ms: i64,
    ) -> PyResult<Self> {
        let inner = usize::try_from(capacity)
            .ok()
            .and_then(|capacity| Store::new(capacity, ttl_ms, tick_ms, start_ms).ok())
            .ok_or_else(|| PyValueError::new_err("need capacity > 0 and ttl_ms > 0"))?;
        let (new, replay, in_flight, conflict) = statuses;
        let pair = |status: Py<PyAny>| -> PyResult<Py<PyTuple>> {
            Ok(PyTuple::new(py, [status, py.None()])?.unbind())
        };
        let answers = Answers {
            replay,
            new: pair(new)?,
            in_flight: pair(in_flight)?,
            conflict: pair(conflict)?,
        };
        Ok(Self { inner, answers })
    }

    #[getter]
    fn capacity(&self) -> usize {
        self.inner.capacity()
    }

    #[getter]
    fn ttl_ms(&self) -> i64 {
        self.inner.ttl_ms()
    }

    /// Keys evicted by capacity.
    #[getter]
    fn evicted(&self) -> u64 {
        self.inner.evicted
    }

    /// Keys expired by their time to live.
    #[getter]
    fn expired(&self) -> u64 {
        self.inner.expired
    }

    /// Keys held plus items on the timing wheel (at most 2 x capacity).
    #[getter]
    fn footprint(&self) -> usize {
        self.inner.footprint()
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn __contains__(&self, key: &Bound<'_, PyAny>) -> bool {
        match key.downcast::<PyString>() {
            Ok(key) => key.to_str().is_ok_and(|key| self.inner.contains(key)),
            Err(_) => false,
        }
    }

    /// Check `key`; when new, record it as in flight: (status, first response or None).
    fn begin(
        &mut self,
        py: Python<'_>,
        key: &str,
        fingerprint: &[u8],
        now_ms: i64,
    ) -> PyResult<Py<PyAny>> {
        self.answers
            .of(py, self.inner.begin(key, fingerprint, now_ms))
    }

    /// Record the first response of `key` (a no-op if it has gone or is complete).
    #[pyo3(signature = (key, response, now_ms = 0))]
    fn complete(&mut self, key: &str, response: &[u8], now_ms: i64) {
        let _ = now_ms; // the response keeps the key's time to live, as in Python
        self.inner.complete(key, response);
    }

    /// The recorded first response of `key` (None if it has none or is not held).
    fn response<'py>(&self, py: Python<'py>, key: &str) -> Option<Bound<'py, PyBytes>> {
        self.inner.response(key).map(|r| PyBytes::new(py, r))
    }

    /// Forget an in-flight `key` (its request had no effect); a completed key stays.
    #[pyo3(signature = (key, now_ms = 0))]
    fn release(&mut self, key: &str, now_ms: i64) {
        let _ = now_ms;
        self.inner.release(key);
    }

    /// `begin` for each (key, fingerprint, time) in order, in one call; the answers as a
    /// list. Every item is checked before the first is begun.
    fn begin_many<'py>(
        &mut self,
        py: Python<'py>,
        keys: &Bound<'py, PyList>,
        fingerprints: &Bound<'py, PyList>,
        now_ms: &Bound<'py, PyList>,
    ) -> PyResult<Bound<'py, PyList>> {
        same_length(keys.len(), fingerprints.len())?;
        same_length(keys.len(), now_ms.len())?;
        let key_items: Vec<Bound<'py, PyAny>> = keys.iter().collect();
        let print_items: Vec<Bound<'py, PyAny>> = fingerprints.iter().collect();
        let keys = texts(&key_items, "keys")?;
        let prints = blobs(&print_items, "fingerprints")?;
        let times: Vec<i64> = now_ms.extract()?;
        let mut answers = Vec::with_capacity(keys.len());
        for ((key, print), now) in keys.into_iter().zip(prints).zip(times) {
            answers.push(self.answers.of(py, self.inner.begin(key, print, now))?);
        }
        PyList::new(py, answers)
    }

    /// `complete` for each (key, response) in order, in one call; checked first.
    fn complete_many(
        &mut self,
        keys: &Bound<'_, PyList>,
        responses: &Bound<'_, PyList>,
    ) -> PyResult<()> {
        same_length(keys.len(), responses.len())?;
        let key_items: Vec<Bound<'_, PyAny>> = keys.iter().collect();
        let response_items: Vec<Bound<'_, PyAny>> = responses.iter().collect();
        let keys = texts(&key_items, "keys")?;
        let responses = blobs(&response_items, "responses")?;
        for (key, response) in keys.into_iter().zip(responses) {
            self.inner.complete(key, response);
        }
        Ok(())
    }
}
