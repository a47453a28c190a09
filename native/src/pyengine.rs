//! `bot4._native.Ledger` and `bot4._native.Engine`: the native ledger and matching engine
//! behind the Python API of `bot4.venue.native` (requests in as the same NamedTuples,
//! answers out as the same `Ack`, `ExecutionReport` and `VenueError` values).
//!
//! Refusals are the `bot4.core.errors` values themselves: the engine names one and a Python
//! factory given at construction builds it once (they are frozen), so codes and messages are
//! never copied here. A request this backend does not serve yet raises NotImplementedError.

use rustc_hash::FxHashMap as HashMap;

use pyo3::exceptions::{PyNotImplementedError, PyOverflowError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyInt, PyList, PyString, PyTuple};

use crate::engine::{
    Ack, AmendRequest, CancelListRequest, CancelRequest, CompactString, Contingency, Engine,
    ExecType, Expiry, ListAck, ListEvent, ListOrderStatus, ListStatusType, NewRequest, OcoRequest,
    OrderType, OrderView, OtoRequest, Refusal, Report, Restriction, Rules, Side, Status, Stp, Tif,
    bad_client_id, client_id_ok, decode, gate_cancel_list, gate_oco, gate_oto, gate_otoco,
    gate_triggering,
};
use crate::ledger::{ExchangeLimits, Ledger, LedgerError};

/// (price, quantity) per level, best first.
type Levels = Vec<(i64, i64)>;

fn ledger_error(err: LedgerError) -> PyErr {
    match err {
        LedgerError::Overflow => PyOverflowError::new_err(err.to_string()),
        _ => PyValueError::new_err(err.to_string()),
    }
}

/// The balances of one venue (`bot4.core.accounts.Ledger`, natively).
#[pyclass(name = "Ledger", module = "bot4._native")]
pub struct PyLedger {
    pub(crate) inner: Ledger,
    /// An engine on this ledger panicked mid-request: its balances are not trusted.
    broken: bool,
}

/// What a stopped engine or ledger answers.
const STOPPED: &str = "native engine: stopped after an internal error (a panic) in a request; \
    its state, and its ledger's, may be half-applied and is not used again";

impl PyLedger {
    fn check(&self) -> PyResult<()> {
        if self.broken {
            return Err(PyRuntimeError::new_err(STOPPED));
        }
        Ok(())
    }
}

#[pymethods]
impl PyLedger {
    #[new]
    fn new() -> Self {
        Self {
            inner: Ledger::new(),
            broken: false,
        }
    }

    fn open(&mut self, account: &str) {
        self.inner.open(account);
    }

    fn set_trade_group(&mut self, account: &str, group: i64) -> PyResult<()> {
        self.inner
            .set_trade_group(account, group)
            .map_err(ledger_error)
    }

    fn trade_group(&self, account: &Bound<'_, PyString>) -> Option<i64> {
        let account = account.to_str().ok()?;
        self.inner
            .find_account(account)
            .and_then(|id| self.inner.group(id))
    }

    /// Whether `account` has been seen (a name that is not Unicode never has).
    fn knows(&self, account: &Bound<'_, PyString>) -> bool {
        account.to_str().is_ok_and(|a| self.inner.knows(a))
    }

    fn deposit(&mut self, account: &str, asset: &str, units: i128) -> PyResult<()> {
        self.check()?;
        self.inner
            .deposit(account, asset, units)
            .map_err(ledger_error)
    }

    fn withdraw(&mut self, account: &str, asset: &str, units: i128) -> PyResult<()> {
        self.check()?;
        self.inner
            .withdraw(account, asset, units)
            .map_err(ledger_error)
    }

    /// (free, locked) of one balance.
    fn balance(&self, account: &Bound<'_, PyString>, asset: &Bound<'_, PyString>) -> (i128, i128) {
        match (account.to_str(), asset.to_str()) {
            (Ok(account), Ok(asset)) => {
                let b = self.inner.balance(account, asset);
                (b.free, b.locked)
            }
            _ => (0, 0), // a name that is not Unicode holds nothing
        }
    }

    fn accounts(&self) -> Vec<String> {
        self.inner
            .accounts()
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    /// Every non-empty balance as (account, asset, free, locked), sorted.
    fn items(&self) -> Vec<(String, String, i128, i128)> {
        self.inner
            .items()
            .into_iter()
            .map(|(a, s, b)| (a.to_owned(), s.to_owned(), b.free, b.locked))
            .collect()
    }

    /// Collected fees by asset.
    fn fees(&self) -> Vec<(String, i128)> {
        self.inner
            .fees()
            .into_iter()
            .map(|(a, u)| (a.to_owned(), u))
            .collect()
    }

    fn trade_groups(&self) -> Vec<(String, i64)> {
        self.inner
            .trade_groups()
            .into_iter()
            .map(|(a, g)| (a.to_owned(), g))
            .collect()
    }

    fn total(&self, asset: &str) -> i128 {
        self.inner.total(asset)
    }

    fn digest(&self) -> String {
        self.inner.digest()
    }

    /// What each account has open over every symbol, counted for the exchange filters:
    /// (account, orders, algo orders, lists), sorted by account.
    fn exchange_counts(&self) -> Vec<(String, i64, i64, i64)> {
        let Some(ex) = self.inner.exchange.as_ref() else {
            return Vec::new();
        };
        let mut out: Vec<(String, i64, i64, i64)> = ex
            .accounts()
            .map(|(id, c)| {
                (
                    self.inner.account_name(id).to_owned(),
                    c.orders,
                    c.algo,
                    c.lists,
                )
            })
            .collect();
        out.sort_unstable();
        out
    }

    /// The venue's exchange filters (None: no limit), shared by every engine on this ledger.
    #[pyo3(signature = (max_orders=None, max_algo=None, max_lists=None))]
    fn set_exchange_limits(
        &mut self,
        max_orders: Option<i64>,
        max_algo: Option<i64>,
        max_lists: Option<i64>,
    ) {
        // the engines of one venue all pass the same limits: keep the counts they share
        let keep = self.inner.exchange.as_ref().is_some_and(|e| {
            (e.max_orders, e.max_algo, e.max_lists) == (max_orders, max_algo, max_lists)
        });
        if !keep {
            self.inner.exchange = Some(ExchangeLimits::new(max_orders, max_algo, max_lists));
        }
    }
}

/// The Python objects reports and answers are made of.
struct Tables {
    report_cls: PyObject,
    ack_cls: PyObject,
    list_ack_cls: PyObject,
    list_status_cls: PyObject,
    view_cls: PyObject,
    contingency: Vec<PyObject>,
    list_status_type: Vec<PyObject>,
    list_order_status: Vec<PyObject>,
    tuple_new: PyObject,
    refusal: PyObject,
    refusals: HashMap<Refusal, PyObject>,
    symbol: Py<PyString>,
    empty: Py<PyString>,
    names: HashMap<u32, Py<PyString>>,
    assets: HashMap<u32, Py<PyString>>,
    side: Vec<PyObject>,
    otype: Vec<PyObject>,
    tif: Vec<PyObject>,
    status: Vec<PyObject>,
    exec: Vec<PyObject>,
    expiry: Vec<PyObject>,
    stp: Vec<PyObject>,
    restriction: Vec<PyObject>,
}

/// The members of a Python enumeration, checked against the Rust one's spelling.
fn members(enums: &Bound<'_, PyDict>, name: &str, texts: &[&str]) -> PyResult<Vec<PyObject>> {
    let Some(cls) = enums.get_item(name)? else {
        return Err(PyValueError::new_err(format!("missing enumeration {name}")));
    };
    let list: Vec<Bound<'_, PyAny>> = cls.try_iter()?.collect::<PyResult<_>>()?;
    if list.len() != texts.len() {
        return Err(PyValueError::new_err(format!(
            "{name}: {} members, expected {}",
            list.len(),
            texts.len()
        )));
    }
    for (member, text) in list.iter().zip(texts) {
        let value: String = member.getattr("value")?.extract()?;
        if value != *text {
            return Err(PyValueError::new_err(format!(
                "{name}: {value} where {text} was expected"
            )));
        }
    }
    Ok(list.into_iter().map(Bound::unbind).collect())
}

fn texts<T: Copy>(all: &[T], text: impl Fn(T) -> &'static str) -> Vec<&'static str> {
    all.iter().map(|&v| text(v)).collect()
}

/// A set of enumeration members as a bit mask of their indices.
fn mask(table: &[PyObject], members: &Bound<'_, PyAny>) -> PyResult<u8> {
    let mut out = 0u8;
    for member in members.try_iter()? {
        let index = index_of(table, &member?)
            .ok_or_else(|| PyValueError::new_err("rules: not a member of the enumeration"))?;
        out |= 1 << index;
    }
    Ok(out)
}

/// A Python int.
fn int(py: Python<'_>, value: i64) -> PyObject {
    match value.into_pyobject(py) {
        Ok(v) => v.into_any().unbind(),
        Err(never) => match never {},
    }
}

/// The index of `obj` in `table` by identity.
fn index_of(table: &[PyObject], obj: &Bound<'_, PyAny>) -> Option<u8> {
    table
        .iter()
        .position(|m| m.bind(obj.py()).is(obj))
        .map(|i| i as u8)
}

fn opt_str(obj: Bound<'_, PyAny>) -> PyResult<Option<String>> {
    if obj.is_none() {
        Ok(None)
    } else {
        Ok(Some(lossy(&obj)?.into_owned()))
    }
}

/// A client id's text: a str that is not valid Unicode (a lone surrogate) has U+FFFD in
/// its place, which the client-id rule refuses as the Python engine refuses the surrogate
/// (and which no kept id holds, so a lookup by it finds nothing, as in Python).
fn lossy<'a>(obj: &'a Bound<'_, PyAny>) -> PyResult<std::borrow::Cow<'a, str>> {
    let s = obj.downcast::<PyString>()?;
    Ok(match s.to_str() {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => std::borrow::Cow::Owned(s.to_string_lossy().into_owned()),
    })
}

/// Whether `obj` is a str that is valid Unicode, as every account name of a native ledger
/// is (an account that is not is unknown).
fn is_text(obj: &Bound<'_, PyAny>) -> bool {
    obj.downcast_exact::<PyString>()
        .is_ok_and(|s| s.to_str().is_ok())
}

/// A Python str as an inline-when-short string (client ids, account names).
fn text(obj: &Bound<'_, PyAny>) -> PyResult<CompactString> {
    Ok(CompactString::from(lossy(obj)?))
}

fn opt_text(obj: Bound<'_, PyAny>) -> PyResult<Option<CompactString>> {
    if obj.is_none() {
        Ok(None)
    } else {
        Ok(Some(text(&obj)?))
    }
}

/// A Python int as i64, or `outside` when it does not fit.
fn int_or(obj: &Bound<'_, PyAny>, outside: i64) -> PyResult<i64> {
    match obj.extract::<i64>() {
        Ok(v) => Ok(v),
        Err(_) if obj.is_instance_of::<pyo3::types::PyInt>() => Ok(outside),
        Err(err) => Err(err),
    }
}

/// The matching engine of one symbol (`bot4.venue.engine.MatchingEngine`, natively).
#[pyclass(name = "Engine", module = "bot4._native")]
pub struct PyEngine {
    ledger: Py<PyLedger>,
    inner: Engine,
    /// A request panicked: the engine answers nothing again (`guarded`).
    broken: bool,
    t: Tables,
    on_events: Option<PyObject>,
    /// The leading fields of an order's reports as built last, while the order lives.
    heads: HashMap<u64, Head>,
}

/// A cached report head and what it was built from.
struct Head {
    cid: CompactString,
    qty: i64,
    working_time: i64,
    fields: Py<PyTuple>,
}

/// One refusal the engine can give, for the Python side's test of its table.
#[pyfunction]
pub fn refusal_names() -> Vec<(&'static str, Option<&'static str>, Option<&'static str>)> {
    crate::engine::REFUSALS
        .iter()
        .filter_map(|r| match *r {
            Refusal::Error(n) => Some((n, None, None)),
            Refusal::Call(n, a) => Some((n, Some(a), None)),
            Refusal::Call2(n, a, b) => Some((n, Some(a), Some(b))),
            _ => None,
        })
        .collect()
}

impl PyEngine {
    /// Run one request. No input should make the core panic; if a bug ever does, the panic
    /// is caught here and the engine and its ledger stop for good (a RuntimeError now and on
    /// every later request), so a half-applied request is never built on.
    fn guarded<T>(
        &mut self,
        py: Python<'_>,
        f: impl FnOnce(&mut Self) -> PyResult<T>,
    ) -> PyResult<T> {
        if self.broken {
            return Err(PyRuntimeError::new_err(STOPPED));
        }
        self.ledger.borrow(py).check()?;
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(self))) {
            Ok(answer) => answer,
            Err(_) => {
                self.broken = true;
                if let Ok(mut ledger) = self.ledger.try_borrow_mut(py) {
                    ledger.broken = true;
                }
                Err(PyRuntimeError::new_err(
                    "native engine: internal error (a panic) in this request; the engine \
                     and its ledger are stopped",
                ))
            }
        }
    }

    fn refuse(&mut self, py: Python<'_>, refusal: Refusal) -> PyResult<PyObject> {
        if let Some(value) = self.t.refusals.get(&refusal) {
            return Ok(value.clone_ref(py));
        }
        let value = match refusal {
            Refusal::Error(n) => self.t.refusal.call1(py, (n, py.None(), py.None()))?,
            Refusal::Call(n, a) => self.t.refusal.call1(py, (n, a, py.None()))?,
            Refusal::Call2(n, a, b) => self.t.refusal.call1(py, (n, a, b))?,
            Refusal::Unsupported(what) => {
                return Err(PyNotImplementedError::new_err(format!(
                    "the native engine does not serve {what} yet: use backend=\"python\""
                )));
            }
            Refusal::Internal(what) => {
                return Err(PyRuntimeError::new_err(format!("native engine: {what}")));
            }
        };
        self.t.refusals.insert(refusal, value.clone_ref(py));
        Ok(value)
    }

    fn account_name(&mut self, py: Python<'_>, id: u32) -> Py<PyString> {
        if let Some(name) = self.t.names.get(&id) {
            return name.clone_ref(py);
        }
        let ledger = self.ledger.borrow(py);
        let name = PyString::new(py, ledger.inner.account_name(id)).unbind();
        self.t.names.insert(id, name.clone_ref(py));
        name
    }

    fn asset_name(&mut self, py: Python<'_>, id: Option<u32>) -> Py<PyString> {
        let Some(id) = id else {
            return self.t.empty.clone_ref(py);
        };
        if let Some(name) = self.t.assets.get(&id) {
            return name.clone_ref(py);
        }
        let ledger = self.ledger.borrow(py);
        let name = PyString::new(py, ledger.inner.asset_name(id)).unbind();
        self.t.assets.insert(id, name.clone_ref(py));
        name
    }

    /// The 16 leading fields of a report (what the order is), cached while the order lives.
    fn head(&mut self, py: Python<'_>, r: &Report) -> PyResult<Py<PyTuple>> {
        if let Some(h) = self.heads.get(&r.order) {
            if h.cid == r.client_order_id && h.qty == r.orig_qty && h.working_time == r.working_time
            {
                return Ok(h.fields.clone_ref(py));
            }
        }
        let fields = self.build_head(py, r)?;
        self.heads.insert(
            r.order,
            Head {
                cid: r.client_order_id.clone(),
                qty: r.orig_qty,
                working_time: r.working_time,
                fields: fields.clone_ref(py),
            },
        );
        Ok(fields)
    }

    /// A report's 16 leading fields, built afresh.
    fn build_head(&mut self, py: Python<'_>, r: &Report) -> PyResult<Py<PyTuple>> {
        let account = self.account_name(py, r.account);
        let t = &self.t;
        let tif = r
            .tif
            .map_or_else(|| py.None(), |v| t.tif[v as usize].clone_ref(py));
        let fields: [PyObject; 16] = [
            t.symbol.clone_ref(py).into_any(),
            account.into_any(),
            int(py, r.order_id),
            PyString::new(py, &r.client_order_id).into_any().unbind(),
            t.side[r.side as usize].clone_ref(py),
            t.otype[r.otype as usize].clone_ref(py),
            tif,
            int(py, r.price),
            int(py, r.orig_qty),
            int(py, r.quote_order_qty),
            int(py, r.creation_time),
            int(py, r.working_time),
            t.stp[r.stp_mode as usize].clone_ref(py),
            int(py, r.stop_price),
            int(py, r.trailing_delta),
            int(py, r.order_list_id),
        ];
        Ok(PyTuple::new(py, fields)?.unbind())
    }

    fn report(&mut self, py: Python<'_>, r: &Report, now: &PyObject) -> PyResult<PyObject> {
        let head = self.head(py, r)?;
        if matches!(
            r.status,
            Status::Filled
                | Status::Canceled
                | Status::Rejected
                | Status::Expired
                | Status::ExpiredInMatch
        ) {
            self.heads.remove(&r.order);
        }
        self.report_with(py, r, now, head)
    }

    /// The `ExecutionReport` of `r`, its leading fields given.
    fn report_with(
        &mut self,
        py: Python<'_>,
        r: &Report,
        now: &PyObject,
        head: Py<PyTuple>,
    ) -> PyResult<PyObject> {
        let asset = self.asset_name(py, r.commission_asset);
        let t = &self.t;
        let orig: PyObject = match &r.orig_client_order_id {
            Some(c) => PyString::new(py, c).into_any().unbind(),
            None => t.empty.clone_ref(py).into_any(),
        };
        let head = head.bind(py);
        let mut fields: Vec<PyObject> = Vec::with_capacity(36);
        fields.extend(head.iter().map(Bound::unbind));
        fields.extend([
            int(py, r.seq),
            orig,
            t.exec[r.exec_type as usize].clone_ref(py),
            t.status[r.status as usize].clone_ref(py),
            t.expiry[r.expiry as usize].clone_ref(py),
            int(py, r.last_qty),
            int(py, r.last_price),
            int(py, r.cum_qty),
            r.cum_quote.into_pyobject(py)?.into_any().unbind(),
            r.commission.into_pyobject(py)?.into_any().unbind(),
            asset.into_any(),
            int(py, r.trade_id),
            pyo3::types::PyBool::new(py, r.is_maker)
                .to_owned()
                .into_any()
                .unbind(),
            pyo3::types::PyBool::new(py, r.is_working)
                .to_owned()
                .into_any()
                .unbind(),
            now.clone_ref(py),
            int(py, r.prevented_match_id),
            int(py, r.prevented_qty),
            int(py, r.last_prevented_qty),
            int(py, r.prevented_price),
            int(py, r.counter_order_id),
        ]);
        let tuple = PyTuple::new(py, fields)?;
        self.t
            .tuple_new
            .call1(py, (self.t.report_cls.clone_ref(py), tuple))
    }

    fn ack(&mut self, py: Python<'_>, ack: Ack) -> PyResult<PyObject> {
        self.inner.recent.keep(&ack.reports);
        let now = int(py, ack.transact_time);
        let reports = ack
            .reports
            .iter()
            .map(|r| self.report(py, r, &now))
            .collect::<PyResult<Vec<_>>>()?;
        if let Some(sink) = &self.on_events {
            sink.call1(py, (PyList::new(py, &reports)?,))?;
        }
        let t = &self.t;
        let fields = (
            ack.order_id,
            PyString::new(py, &ack.client_order_id),
            t.status[ack.status as usize].clone_ref(py),
            ack.executed_qty,
            ack.cum_quote,
            now,
            PyTuple::new(py, reports)?,
            self.list_statuses(py, &ack.list_statuses)?,
        );
        let tuple = fields.into_pyobject(py)?;
        t.tuple_new.call1(py, (t.ack_cls.clone_ref(py), tuple))
    }

    fn list_statuses(&self, py: Python<'_>, events: &[ListEvent]) -> PyResult<Py<PyTuple>> {
        let out = events
            .iter()
            .map(|e| self.list_status_obj(py, e))
            .collect::<PyResult<Vec<_>>>()?;
        Ok(PyTuple::new(py, out)?.unbind())
    }

    fn list_status_obj(&self, py: Python<'_>, e: &ListEvent) -> PyResult<PyObject> {
        let t = &self.t;
        let orders = e
            .orders
            .iter()
            .map(|(id, cid)| (*id, PyString::new(py, cid)))
            .collect::<Vec<_>>();
        let fields = (
            e.seq,
            t.symbol.clone_ref(py),
            e.list_id,
            t.contingency[e.contingency as usize].clone_ref(py),
            t.list_status_type[e.status_type as usize].clone_ref(py),
            t.list_order_status[e.status as usize].clone_ref(py),
            PyString::new(py, &e.client_id),
            e.transact_time,
            PyTuple::new(py, orders)?,
        )
            .into_pyobject(py)?;
        t.tuple_new
            .call1(py, (t.list_status_cls.clone_ref(py), fields))
    }

    fn list_ack(&mut self, py: Python<'_>, ack: ListAck) -> PyResult<PyObject> {
        self.inner.recent.keep(&ack.reports);
        let now = int(py, ack.transact_time);
        let reports = ack
            .reports
            .iter()
            .map(|r| self.report(py, r, &now))
            .collect::<PyResult<Vec<_>>>()?;
        if let Some(sink) = &self.on_events {
            sink.call1(py, (PyList::new(py, &reports)?,))?;
        }
        let views = ack
            .orders
            .into_iter()
            .map(|v| self.view(py, v))
            .collect::<PyResult<Vec<_>>>()?;
        let t = &self.t;
        let fields = (
            ack.list_id,
            PyString::new(py, &ack.client_id),
            t.contingency[ack.contingency as usize].clone_ref(py),
            t.list_order_status[ack.status as usize].clone_ref(py),
            PyTuple::new(py, views)?,
            now,
            PyTuple::new(py, reports)?,
            self.list_statuses(py, &ack.list_statuses)?,
        )
            .into_pyobject(py)?;
        t.tuple_new
            .call1(py, (t.list_ack_cls.clone_ref(py), fields))
    }

    fn list_answer(
        &mut self,
        py: Python<'_>,
        result: Result<ListAck, Refusal>,
    ) -> PyResult<PyObject> {
        match result {
            Ok(ack) => self.list_ack(py, ack),
            Err(refusal) => self.refuse(py, refusal),
        }
    }

    /// A list leg (`ListLeg`: type, price, stopPrice, trailingDelta, timeInForce, client id)
    /// as the `NewOrder` tuple it stands for.
    fn leg_order<'py>(
        py: Python<'py>,
        account: &Bound<'py, PyAny>,
        side: &Bound<'py, PyAny>,
        qty: &Bound<'py, PyAny>,
        leg: &Bound<'py, PyAny>,
        stp: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let item = |i: usize| leg.get_item(i);
        let zero = 0i64.into_pyobject(py)?.into_any();
        PyTuple::new(
            py,
            [
                account.clone(),
                side.clone(),
                item(0)?,
                qty.clone(),
                item(1)?,
                item(4)?,
                zero,
                item(5)?,
                stp.clone(),
                item(2)?,
                item(3)?,
            ],
        )
    }

    /// A list client id: None, a string, or the refusal of another type.
    fn list_cid(obj: &Bound<'_, PyAny>) -> PyResult<Result<Option<String>, Refusal>> {
        if obj.is_none() {
            Ok(Ok(None))
        } else if obj.is_exact_instance_of::<PyString>() {
            Ok(Ok(Some(lossy(obj)?.into_owned())))
        } else {
            Ok(Err(Refusal::Call("invalid_parameter", "listClientOrderId")))
        }
    }

    /// An OCO leg's type by identity; a non-member is refused as a type the pair can't hold.
    fn leg_type(&self, leg: &Bound<'_, PyAny>) -> PyResult<Option<OrderType>> {
        Ok(index_of(&self.t.otype, &leg.get_item(0)?).and_then(OrderType::from_index))
    }

    /// OTO and OTOCO: the working leg's type and the legs' accounts, then the core.
    fn triggering(
        &mut self,
        py: Python<'_>,
        working: &Bound<'_, PyAny>,
        pending: Vec<Bound<'_, PyAny>>,
        list_cid: &Bound<'_, PyAny>,
        now: i64,
    ) -> PyResult<PyObject> {
        let working_type =
            index_of(&self.t.otype, &working.get_item(2)?).and_then(OrderType::from_index);
        let account = working.get_item(0)?;
        let mut same = true;
        for p in &pending {
            same = same && p.get_item(0)?.eq(&account)?;
        }
        if let Err(refusal) = gate_triggering(working_type, same) {
            return self.refuse(py, refusal);
        }
        let request = OtoRequest {
            working: self.new_request(working.downcast::<PyTuple>()?)?,
            pending: pending
                .iter()
                .map(|p| self.new_request(p.downcast::<PyTuple>()?))
                .collect::<PyResult<Vec<_>>>()?,
            list_client_order_id: Self::list_cid(list_cid)?,
        };
        let result = {
            let mut ledger = self.ledger.borrow_mut(py);
            self.inner
                .submit_triggering(&mut ledger.inner, &request, now)
        };
        self.list_answer(py, result)
    }

    fn answer(&mut self, py: Python<'_>, result: Result<Ack, Refusal>) -> PyResult<PyObject> {
        match result {
            Ok(ack) => self.ack(py, ack),
            Err(refusal) => self.refuse(py, refusal),
        }
    }

    fn view(&mut self, py: Python<'_>, v: OrderView) -> PyResult<PyObject> {
        let account = self.account_name(py, v.account);
        let t = &self.t;
        let tif = v
            .tif
            .map_or_else(|| py.None(), |x| t.tif[x as usize].clone_ref(py));
        let fields: Vec<PyObject> = vec![
            v.order_id.into_pyobject(py)?.into_any().unbind(),
            PyString::new(py, &v.client_order_id).into_any().unbind(),
            account.into_any(),
            t.side[v.side as usize].clone_ref(py),
            t.otype[v.otype as usize].clone_ref(py),
            tif,
            v.price.into_pyobject(py)?.into_any().unbind(),
            v.orig_qty.into_pyobject(py)?.into_any().unbind(),
            v.executed_qty.into_pyobject(py)?.into_any().unbind(),
            v.cum_quote.into_pyobject(py)?.into_any().unbind(),
            v.quote_order_qty.into_pyobject(py)?.into_any().unbind(),
            t.status[v.status as usize].clone_ref(py),
            v.time.into_pyobject(py)?.into_any().unbind(),
            v.working_time.into_pyobject(py)?.into_any().unbind(),
            t.stp[v.stp_mode as usize].clone_ref(py),
            int(py, v.prevented_qty),
            int(py, v.stop_price),
            int(py, v.trailing_delta),
            int(py, v.trailing_time),
            int(py, v.list_id),
        ];
        let tuple = PyTuple::new(py, fields)?;
        self.t
            .tuple_new
            .call1(py, (self.t.view_cls.clone_ref(py), tuple))
    }

    /// A `NewOrder` tuple in engine units, after its shape: the checks of
    /// `bot4.venue.checks.check_shape` in the same order, then the client id's and the
    /// account's types (the Python engine's `_check_filters` next checks them).
    fn new_request(&self, req: &Bound<'_, PyTuple>) -> PyResult<Result<NewRequest, Refusal>> {
        if req.len() != 11 {
            return Err(PyValueError::new_err("a NewOrder has 11 fields"));
        }
        let item = |i| req.get_item(i);
        let (account, side, otype, qty, price) = (item(0)?, item(1)?, item(2)?, item(3)?, item(4)?);
        let (tif, qoq, cid, stp, stop, trailing) =
            (item(5)?, item(6)?, item(7)?, item(8)?, item(9)?, item(10)?);
        let Some(side) = index_of(&self.t.side, &side).and_then(Side::from_index) else {
            return Ok(Err(Refusal::Error("INVALID_SIDE")));
        };
        let Some(otype) = index_of(&self.t.otype, &otype).and_then(OrderType::from_index) else {
            return Ok(Err(Refusal::Error("INVALID_ORDER_TYPE")));
        };
        let tif = if tif.is_none() {
            None
        } else {
            match index_of(&self.t.tif, &tif).and_then(Tif::from_index) {
                Some(t) => Some(t),
                None => return Ok(Err(Refusal::Error("INVALID_TIF"))),
            }
        };
        let exact_int = |o: &Bound<'_, PyAny>| o.is_exact_instance_of::<PyInt>();
        for (obj, name) in [
            (&price, "price"),
            (&qty, "quantity"),
            (&qoq, "quoteOrderQty"),
        ] {
            if !exact_int(obj) {
                return Ok(Err(Refusal::Call("invalid_parameter", name)));
            }
        }
        let stopish = stop.is_truthy()? || trailing.is_truthy()?;
        let (mut stop_price, mut trailing_delta) = (0, 0);
        if stopish {
            for (obj, name, slot) in [
                (&stop, "stopPrice", &mut stop_price),
                (&trailing, "trailingDelta", &mut trailing_delta),
            ] {
                if !exact_int(obj) || obj.lt(0)? {
                    return Ok(Err(Refusal::Call("invalid_parameter", name)));
                }
                *slot = int_or(obj, i64::MAX)?;
            }
        }
        let stp_mode = if stp.is_none() {
            None
        } else {
            match index_of(&self.t.stp, &stp).and_then(Stp::from_index) {
                Some(mode) => Some(mode),
                None => {
                    if let Err(refusal) = self.inner.check_type_and_status(otype) {
                        return Ok(Err(refusal));
                    }
                    return Ok(Err(Refusal::Call(
                        "invalid_parameter",
                        "selfTradePreventionMode",
                    )));
                }
            }
        };
        // the value rules come before the client id's and the account's types; a value beyond
        // 64 bits stands as the extreme of its sign, which the filters refuse as they would
        // the value (a quantity above maxQty, a price at 2^63 - 1 ticks or more; a
        // quoteOrderQty no balance can pay)
        let clamp = |o: &Bound<'_, PyAny>| -> PyResult<i64> {
            Ok(if o.lt(0)? {
                int_or(o, i64::MIN)?
            } else {
                int_or(o, i64::MAX)?
            })
        };
        let mut request = NewRequest {
            account: CompactString::default(),
            side,
            otype,
            quantity: clamp(&qty)?,
            price: clamp(&price)?,
            tif,
            quote_order_qty: clamp(&qoq)?,
            client_order_id: None,
            stp_mode,
            stop_price,
            trailing_delta,
        };
        if let Err(refusal) = self.inner.check_shape(&request) {
            return Ok(Err(refusal));
        }
        let client_order_id = if cid.is_none() {
            None
        } else if cid.is_exact_instance_of::<PyString>() {
            Some(text(&cid)?)
        } else {
            return Ok(Err(Refusal::Call("invalid_parameter", "newClientOrderId")));
        };
        if !is_text(&account) {
            return Ok(Err(Refusal::Error("UNKNOWN_ACCOUNT")));
        }
        request.account = text(&account)?;
        request.client_order_id = client_order_id;
        Ok(Ok(request))
    }
}

#[pymethods]
impl PyEngine {
    /// `rules` holds the compiled instrument's integers (see `bot4.venue.native`); `enums`
    /// the Python enumerations by name; `classes` (ExecutionReport, Ack); `refusal` builds a
    /// `VenueError` from a name in `bot4.core.errors` and up to two arguments.
    #[new]
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (ledger, rules, enums, classes, refusal, reference_price=None, history=10_000))]
    fn new(
        py: Python<'_>,
        ledger: Py<PyLedger>,
        rules: &Bound<'_, PyDict>,
        enums: &Bound<'_, PyDict>,
        classes: (PyObject, PyObject, PyObject, PyObject, PyObject),
        refusal: PyObject,
        reference_price: Option<i64>,
        history: usize,
    ) -> PyResult<Self> {
        let get = |key: &str| -> PyResult<Bound<'_, PyAny>> {
            rules
                .get_item(key)?
                .ok_or_else(|| PyValueError::new_err(format!("rules: missing {key}")))
        };
        let pair = |key: &str| -> PyResult<(i128, i128)> { get(key)?.extract() };
        let percent: Option<String> = get("percent_filter")?.extract()?;
        let percent_filter = match percent.as_deref() {
            None => None,
            Some("PERCENT_PRICE") => Some("PERCENT_PRICE"),
            Some("PERCENT_PRICE_BY_SIDE") => Some("PERCENT_PRICE_BY_SIDE"),
            Some(other) => return Err(PyValueError::new_err(format!("unknown filter {other}"))),
        };
        let stp_tables = members(enums, "StpMode", &texts(Stp::ALL, Stp::text))?;
        let otype_tables = members(enums, "OrderType", &texts(OrderType::ALL, OrderType::text))?;
        let default_stp_obj = get("default_stp")?;
        let default_stp = index_of(&stp_tables, &default_stp_obj)
            .and_then(Stp::from_index)
            .ok_or_else(|| PyValueError::new_err("rules: default_stp is not an StpMode"))?;
        let r = Rules {
            symbol: get("symbol")?.extract()?,
            base: get("base")?.extract()?,
            quote: get("quote")?.extract()?,
            base_per_lot: get("base_per_lot")?.extract()?,
            quote_per_ticklot: get("quote_per_ticklot")?.extract()?,
            min_price: get("min_price")?.extract()?,
            max_price: get("max_price")?.extract()?,
            min_qty: get("min_qty")?.extract()?,
            max_qty: get("max_qty")?.extract()?,
            market_min_qty: get("market_min_qty")?.extract()?,
            market_max_qty: get("market_max_qty")?.extract()?,
            market_step: get("market_step")?.extract()?,
            min_notional: get("min_notional")?.extract()?,
            min_notional_market: get("min_notional_market")?.extract()?,
            max_notional: get("max_notional")?.extract()?,
            max_notional_market: get("max_notional_market")?.extract()?,
            legacy_min_notional: get("legacy_min_notional")?.extract()?,
            legacy_min_notional_market: get("legacy_min_notional_market")?.extract()?,
            percent_filter,
            bands: [
                pair("bid_up")?,
                pair("bid_down")?,
                pair("ask_up")?,
                pair("ask_down")?,
            ],
            avg_price_mins: get("avg_price_mins")?.extract()?,
            max_num_orders: get("max_num_orders")?.extract()?,
            max_num_amends: get("max_num_amends")?.extract()?,
            max_num_algo_orders: get("max_num_algo_orders")?.extract()?,
            max_num_order_lists: get("max_num_order_lists")?.extract()?,
            oco_allowed: get("oco_allowed")?.extract()?,
            oto_allowed: get("oto_allowed")?.extract()?,
            trailing_above: get("trailing_above")?.extract()?,
            trailing_below: get("trailing_below")?.extract()?,
            maker_rate: pair("maker_rate")?,
            taker_rate: pair("taker_rate")?,
            default_stp,
            quote_order_qty_market_allowed: get("quote_order_qty_market_allowed")?.extract()?,
            order_types: mask(&otype_tables, &get("order_types")?)?,
            stp_allowed: mask(&stp_tables, &get("stp_allowed")?)?,
            allow_trailing_stop: get("allow_trailing_stop")?.extract()?,
        };
        for (num, den) in r.bands.iter().chain([&r.maker_rate, &r.taker_rate]) {
            if *den <= 0 || *num < 0 {
                return Err(PyValueError::new_err(
                    "rules: a rate or band is a non-negative fraction",
                ));
            }
        }
        if r.base_per_lot <= 0 || r.quote_per_ticklot <= 0 || r.market_step <= 0 {
            return Err(PyValueError::new_err(
                "rules: units per lot and tick-lot are positive",
            ));
        }
        let symbol = PyString::new(py, &r.symbol).unbind();
        let inner = {
            let mut l = ledger.borrow_mut(py);
            Engine::new(r, &mut l.inner, reference_price, history)
                .map_err(|_| PyOverflowError::new_err("reference price out of range"))?
        };
        let tuple_new = py
            .import("builtins")?
            .getattr("tuple")?
            .getattr("__new__")?
            .unbind();
        let t = Tables {
            report_cls: classes.0,
            ack_cls: classes.1,
            list_ack_cls: classes.2,
            list_status_cls: classes.3,
            view_cls: classes.4,
            contingency: members(
                enums,
                "ContingencyType",
                &texts(Contingency::ALL, Contingency::text),
            )?,
            list_status_type: members(
                enums,
                "ListStatusType",
                &texts(ListStatusType::ALL, ListStatusType::text),
            )?,
            list_order_status: members(
                enums,
                "ListOrderStatus",
                &texts(ListOrderStatus::ALL, ListOrderStatus::text),
            )?,
            tuple_new,
            refusal,
            refusals: HashMap::default(),
            symbol,
            empty: PyString::new(py, "").unbind(),
            names: HashMap::default(),
            assets: HashMap::default(),
            side: members(enums, "Side", &texts(Side::ALL, Side::text))?,
            otype: otype_tables,
            tif: members(enums, "TimeInForce", &texts(Tif::ALL, Tif::text))?,
            status: members(enums, "OrderStatus", &texts(Status::ALL, Status::text))?,
            exec: members(
                enums,
                "ExecutionType",
                &texts(ExecType::ALL, ExecType::text),
            )?,
            expiry: members(enums, "ExpiryReason", &texts(Expiry::ALL, Expiry::text))?,
            stp: stp_tables,
            restriction: members(
                enums,
                "CancelRestriction",
                &texts(Restriction::ALL, Restriction::text),
            )?,
        };
        Ok(Self {
            ledger,
            inner,
            broken: false,
            t,
            on_events: None,
            heads: HashMap::default(),
        })
    }

    /// Panic inside a request on purpose (a drill of the guard that stops the engine after
    /// an internal error; tests use it): a RuntimeError, and the engine and its ledger stop.
    fn crash_drill(&mut self, py: Python<'_>) -> PyResult<()> {
        self.guarded(py, |_| -> PyResult<()> { panic!("crash drill") })
    }

    /// Run a batch of requests in the binary form of `bot4.venue.batch` in one call:
    /// (answers, event log). The answers are `RESULT_SIZE` bytes each; the log is the
    /// canonical encoding of every report (`bot4.core.events.encode`) when `log` is true,
    /// else None. A malformed batch raises ValueError and changes nothing.
    #[pyo3(signature = (data, log=false))]
    fn submit_batch(
        &mut self,
        py: Python<'_>,
        data: &[u8],
        log: bool,
    ) -> PyResult<(Py<pyo3::types::PyBytes>, Option<Py<pyo3::types::PyBytes>>)> {
        self.guarded(py, |me| {
            let batch = decode(data).map_err(|e| PyValueError::new_err(e.to_string()))?;
            let mut results = Vec::new();
            let mut text = log.then(String::new);
            let done = {
                let mut ledger = me.ledger.borrow_mut(py);
                me.inner
                    .run_batch(&mut ledger.inner, &batch, &mut results, text.as_mut())
            };
            if let Err(refusal) = done {
                me.refuse(py, refusal)?;
            }
            me.heads.clear();
            let results = pyo3::types::PyBytes::new(py, &results).unbind();
            let text = text.map(|t| pyo3::types::PyBytes::new(py, t.as_bytes()).unbind());
            Ok((results, text))
        })
    }

    /// Keep the newest `count` execution reports for `events_since` (0: none, the start).
    fn keep_reports(&mut self, count: usize) {
        self.inner.recent.set_cap(count);
    }

    /// How many reports are kept, and the most that will be.
    fn kept_reports(&self) -> (usize, usize) {
        (self.inner.recent.len(), self.inner.recent.cap())
    }

    /// Up to `limit` kept `ExecutionReport`s with `seq` above the given one, oldest first.
    fn events_since(&mut self, py: Python<'_>, seq: i64, limit: usize) -> PyResult<Vec<PyObject>> {
        let found: Vec<Report> = self.inner.recent.since(seq, limit).cloned().collect();
        let mut out = Vec::with_capacity(found.len());
        for r in &found {
            let head = self.build_head(py, r)?;
            let now = int(py, r.transact_time);
            out.push(self.report_with(py, r, &now, head)?);
        }
        Ok(out)
    }

    /// POST orderList/oco: a `NewOco`; a `ListAck` or a `VenueError`.
    fn submit_oco(
        &mut self,
        py: Python<'_>,
        req: &Bound<'_, PyTuple>,
        now: i64,
    ) -> PyResult<PyObject> {
        self.guarded(py, |me| {
            let item = |i| req.get_item(i);
            let (account, side, qty, above, below) =
                (item(0)?, item(1)?, item(2)?, item(3)?, item(4)?);
            let side_of = index_of(&me.t.side, &side).and_then(Side::from_index);
            let (a, b) = (me.leg_type(&above)?, me.leg_type(&below)?);
            if let Err(refusal) = gate_oco(&me.inner.rules, side_of, a, b) {
                return me.refuse(py, refusal);
            }
            let stp = item(6)?;
            let request = OcoRequest {
                legs: [
                    me.new_request(&Self::leg_order(py, &account, &side, &qty, &above, &stp)?)?,
                    me.new_request(&Self::leg_order(py, &account, &side, &qty, &below, &stp)?)?,
                ],
                list_client_order_id: Self::list_cid(&item(5)?)?,
            };
            let result = {
                let mut ledger = me.ledger.borrow_mut(py);
                me.inner.submit_oco(&mut ledger.inner, &request, now)
            };
            me.list_answer(py, result)
        })
    }

    /// POST orderList/oto: a `NewOto`; a `ListAck` or a `VenueError`.
    fn submit_oto(
        &mut self,
        py: Python<'_>,
        req: &Bound<'_, PyTuple>,
        now: i64,
    ) -> PyResult<PyObject> {
        self.guarded(py, |me| {
            let (working, pending) = (req.get_item(0)?, req.get_item(1)?);
            let market =
                index_of(&me.t.otype, &pending.get_item(2)?) == Some(OrderType::Market as u8);
            let by_quote = market && pending.get_item(6)?.is_truthy()?;
            if let Err(refusal) = gate_oto(&me.inner.rules, by_quote) {
                return me.refuse(py, refusal);
            }
            me.triggering(py, &working, vec![pending], &req.get_item(2)?, now)
        })
    }

    /// POST orderList/otoco: a `NewOtoco`; a `ListAck` or a `VenueError`.
    fn submit_otoco(
        &mut self,
        py: Python<'_>,
        req: &Bound<'_, PyTuple>,
        now: i64,
    ) -> PyResult<PyObject> {
        self.guarded(py, |me| {
            let item = |i| req.get_item(i);
            let (working, side, qty, above, below) =
                (item(0)?, item(1)?, item(2)?, item(3)?, item(4)?);
            // the pair's prices are checked before their own checks (no last price: it waits)
            let leg = |leg: &Bound<'_, PyAny>| -> PyResult<(Option<OrderType>, i64, i64)> {
                let n = |i: usize| -> PyResult<i64> {
                    Ok(leg.get_item(i)?.extract::<i64>().unwrap_or(0))
                };
                Ok((me.leg_type(leg)?, n(1)?, n(2)?))
            };
            let side_of = index_of(&me.t.side, &side).and_then(Side::from_index);
            if let Err(refusal) = gate_otoco(&me.inner.rules, side_of, leg(&above)?, leg(&below)?) {
                return me.refuse(py, refusal);
            }
            let account = working.get_item(0)?;
            let none = py.None().into_bound(py);
            let pair = [&above, &below]
                .iter()
                .map(|leg| Ok(Self::leg_order(py, &account, &side, &qty, leg, &none)?.into_any()))
                .collect::<PyResult<Vec<_>>>()?;
            me.triggering(py, &working, pair, &item(5)?, now)
        })
    }

    /// DELETE orderList: a `CancelOrderList`; a `ListAck` or a `VenueError`.
    fn cancel_list(
        &mut self,
        py: Python<'_>,
        req: &Bound<'_, PyTuple>,
        now: i64,
    ) -> PyResult<PyObject> {
        self.guarded(py, |me| {
            let item = |i| req.get_item(i);
            let (account, list_id, list_cid, new_cid) = (item(0)?, item(1)?, item(2)?, item(3)?);
            let known = is_text(&account)
                && me
                    .ledger
                    .borrow(py)
                    .inner
                    .knows(&account.extract::<String>()?);
            if let Err(refusal) = gate_cancel_list(known, !list_id.is_none(), !list_cid.is_none()) {
                return me.refuse(py, refusal);
            }
            if !list_id.is_none() && !list_id.is_exact_instance_of::<PyInt>() {
                return me.refuse(py, Refusal::Call("invalid_parameter", "orderListId"));
            }
            if !list_cid.is_none() && !list_cid.is_exact_instance_of::<PyString>() {
                return me.refuse(py, Refusal::Call("invalid_parameter", "listClientOrderId"));
            }
            if !new_cid.is_none() && !new_cid.is_exact_instance_of::<PyString>() {
                return me.refuse(py, Refusal::Call("invalid_parameter", "newClientOrderId"));
            }
            let request = CancelListRequest {
                account: account.extract()?,
                order_list_id: if list_id.is_none() {
                    None
                } else {
                    Some(int_or(&list_id, -1)?)
                },
                list_client_order_id: opt_str(list_cid)?,
                new_client_order_id: opt_str(new_cid)?,
            };
            let result = {
                let mut ledger = me.ledger.borrow_mut(py);
                me.inner.cancel_list(&mut ledger.inner, &request, now)
            };
            me.list_answer(py, result)
        })
    }

    /// An open order list as it stands (a `ListStatus`), or None once it has ended.
    fn list_status(&self, py: Python<'_>, order_list_id: i64, now: i64) -> PyResult<PyObject> {
        match self.inner.list_status(order_list_id, now, None) {
            Some(e) => self.list_status_obj(py, &e),
            None => Ok(py.None()),
        }
    }

    /// Whether the symbol trades (its status is TRADING); otherwise new orders get -1013.
    #[setter]
    fn set_trading(&mut self, trading: bool) {
        self.inner.trading = trading;
    }

    /// Charge fills through the fee book of this engine's ledger (`bot4._native.FeeBook`):
    /// the symbol's tick, base unit and quote unit as (numerator, denominator).
    fn attach_fees(
        &mut self,
        py: Python<'_>,
        tick: (i128, i128),
        base_unit: (i128, i128),
        quote_unit: (i128, i128),
    ) -> PyResult<()> {
        self.guarded(py, |me| {
            let ratio = |(n, d): (i128, i128)| {
                crate::fees::Ratio::new(n, d)
                    .ok()
                    .filter(|r| r.is_positive())
                    .ok_or_else(|| PyValueError::new_err("a size is a positive fraction"))
            };
            let (tick, base_unit, quote_unit) =
                (ratio(tick)?, ratio(base_unit)?, ratio(quote_unit)?);
            let mut ledger = me.ledger.borrow_mut(py);
            me.inner
                .attach_fees(&mut ledger.inner, tick, base_unit, quote_unit);
            Ok(())
        })
    }

    /// Called with each accepted request's reports, in order (the journal hook), or None.
    #[setter]
    fn set_on_events(&mut self, sink: Option<PyObject>) {
        self.on_events = sink;
    }

    /// Place a `NewOrder`: an `Ack` or a `VenueError`.
    fn submit(&mut self, py: Python<'_>, req: &Bound<'_, PyTuple>, now: i64) -> PyResult<PyObject> {
        self.guarded(py, |me| {
            let result = match me.new_request(req)? {
                Ok(request) => {
                    let mut ledger = me.ledger.borrow_mut(py);
                    me.inner.submit(&mut ledger.inner, &request, now)
                }
                Err(refusal) => Err(refusal),
            };
            me.answer(py, result)
        })
    }

    /// The filters `submit` applies before it looks at the account's state: None or a
    /// `VenueError` (cancel-replace checks its new order first).
    fn check_filters(
        &mut self,
        py: Python<'_>,
        req: &Bound<'_, PyTuple>,
        now: i64,
    ) -> PyResult<PyObject> {
        self.guarded(py, |me| {
            let result = match me.new_request(req)? {
                Ok(request) => {
                    let ledger = me.ledger.borrow(py);
                    me.inner
                        .check_filters(&ledger.inner, &request, now)
                        .map(|_| ())
                }
                Err(refusal) => Err(refusal),
            };
            match result {
                Ok(()) => Ok(py.None()),
                Err(refusal) => me.refuse(py, refusal),
            }
        })
    }

    /// Cancel a `CancelOrder` (account, orderId, origClientOrderId, newClientOrderId,
    /// restriction), its references' types checked.
    fn cancel(&mut self, py: Python<'_>, req: &Bound<'_, PyTuple>, now: i64) -> PyResult<PyObject> {
        self.guarded(py, |me| {
            let item = |i| req.get_item(i);
            let (account, order_id, orig, new_cid, restriction) =
                (item(0)?, item(1)?, item(2)?, item(3)?, item(4)?);
            // the references' types, the account, the new client id, the restriction's type:
            // the order of the Python engine's checks
            let str_or_none =
                |o: &Bound<'_, PyAny>| o.is_none() || o.is_exact_instance_of::<PyString>();
            let refused = if !is_text(&account) {
                Some(Refusal::Error("UNKNOWN_ACCOUNT"))
            } else if !order_id.is_none() && !order_id.is_exact_instance_of::<PyInt>() {
                Some(Refusal::Call("invalid_parameter", "orderId"))
            } else if !str_or_none(&orig) {
                Some(Refusal::Call("invalid_parameter", "origClientOrderId"))
            } else if !me
                .ledger
                .borrow(py)
                .inner
                .knows(&account.extract::<String>()?)
            {
                Some(Refusal::Error("UNKNOWN_ACCOUNT"))
            } else if !str_or_none(&new_cid) {
                Some(Refusal::Call("invalid_parameter", "newClientOrderId"))
            } else {
                let bad_cid = opt_str(new_cid.clone())?
                    .filter(|c| !client_id_ok(c))
                    .map(|c| bad_client_id("newClientOrderId", &c));
                bad_cid.or_else(|| {
                    let member = restriction.is_none()
                        || index_of(&me.t.restriction, &restriction).is_some();
                    (!member).then_some(Refusal::Error("INVALID_CANCEL_RESTRICTIONS"))
                })
            };
            if let Some(refusal) = refused {
                return me.refuse(py, refusal);
            }
            let request = CancelRequest {
                account: text(&account)?,
                order_id: if order_id.is_none() {
                    None
                } else {
                    Some(int_or(&order_id, -1)?)
                },
                orig_client_order_id: opt_text(orig)?,
                new_client_order_id: opt_text(new_cid)?,
                restriction: index_of(&me.t.restriction, &restriction)
                    .and_then(Restriction::from_index),
            };
            let result = {
                let mut ledger = me.ledger.borrow_mut(py);
                me.inner.cancel(&mut ledger.inner, &request, now)
            };
            me.answer(py, result)
        })
    }

    /// DELETE openOrders for one account: a list of `Ack`s, or a `VenueError`.
    fn cancel_all(
        &mut self,
        py: Python<'_>,
        account: &Bound<'_, PyString>,
        now: i64,
    ) -> PyResult<PyObject> {
        self.guarded(py, |me| {
            let result = if is_text(account) {
                let mut ledger = me.ledger.borrow_mut(py);
                me.inner
                    .cancel_all(&mut ledger.inner, account.to_str()?, now)
            } else {
                Err(Refusal::Error("UNKNOWN_ACCOUNT"))
            };
            match result {
                Ok(acks) => {
                    let out = acks
                        .into_iter()
                        .map(|a| me.ack(py, a))
                        .collect::<PyResult<Vec<_>>>()?;
                    Ok(PyList::new(py, out)?.into_any().unbind())
                }
                Err(refusal) => me.refuse(py, refusal),
            }
        })
    }

    /// Amend keep-priority of an `AmendOrder` whose field types are checked.
    fn amend(&mut self, py: Python<'_>, req: &Bound<'_, PyTuple>, now: i64) -> PyResult<PyObject> {
        self.guarded(py, |me| {
            let order_id = req.get_item(2)?;
            let account = req.get_item(0)?;
            if !is_text(&account) {
                return me.refuse(py, Refusal::Error("UNKNOWN_ACCOUNT"));
            }
            let request = AmendRequest {
                account: text(&account)?,
                // a quantity beyond 64 bits is above the order's: refused as an increase
                new_qty: int_or(&req.get_item(1)?, i64::MAX)?,
                order_id: if order_id.is_none() {
                    None
                } else {
                    Some(int_or(&order_id, -1)?)
                },
                orig_client_order_id: opt_text(req.get_item(3)?)?,
                new_client_order_id: opt_text(req.get_item(4)?)?,
            };
            let result = {
                let mut ledger = me.ledger.borrow_mut(py);
                me.inner.amend(&mut ledger.inner, &request, now)
            };
            me.answer(py, result)
        })
    }

    /// An order's state as the fields of `OrderView`, or a `VenueError`.
    fn get_order(
        &mut self,
        py: Python<'_>,
        account: &str,
        order_id: Option<i64>,
        client_order_id: Option<&str>,
    ) -> PyResult<PyObject> {
        let id = {
            let ledger = self.ledger.borrow(py);
            ledger.inner.find_account(account)
        };
        let result = match id {
            Some(id) => self.inner.get_order(id, order_id, client_order_id),
            None if order_id.is_none() && client_order_id.is_none() => Err(Refusal::Call2(
                "one_of_params",
                "orderId",
                "origClientOrderId",
            )),
            None => Err(Refusal::Error("NO_SUCH_ORDER")),
        };
        match result {
            Ok(view) => self.view(py, view),
            Err(refusal) => self.refuse(py, refusal),
        }
    }

    /// Open orders (of one account, or all) as `OrderView` fields, oldest first.
    #[pyo3(signature = (account=None))]
    fn open_orders(&mut self, py: Python<'_>, account: Option<&str>) -> PyResult<Vec<PyObject>> {
        let filter = match account {
            None => None,
            Some(name) => match self.ledger.borrow(py).inner.find_account(name) {
                Some(id) => Some(id),
                None => return Ok(Vec::new()),
            },
        };
        let views = self.inner.open_orders(filter);
        views.into_iter().map(|v| self.view(py, v)).collect()
    }

    /// The orders resting on one side, best first: (order id, account, price, leaves).
    fn book_orders(&mut self, py: Python<'_>, buy: bool) -> Vec<(i64, Py<PyString>, i64, i64)> {
        let side = if buy { Side::Buy } else { Side::Sell };
        self.inner
            .book_orders(side)
            .into_iter()
            .map(|(account, id, price, leaves)| (id, self.account_name(py, account), price, leaves))
            .collect()
    }

    fn waiting_stops(&self) -> Vec<i64> {
        self.inner.waiting_stops()
    }

    fn open_locks(&self) -> Vec<(i64, i128)> {
        self.inner.open_locks()
    }

    fn is_open(&self, order_id: i64) -> bool {
        self.inner.is_open(order_id)
    }

    fn depth(&self, limit: usize) -> (Levels, Levels) {
        (
            self.inner.depth(Side::Buy, limit),
            self.inner.depth(Side::Sell, limit),
        )
    }

    fn best_bid(&self) -> Option<i64> {
        self.inner.best_bid()
    }

    fn best_ask(&self) -> Option<i64> {
        self.inner.best_ask()
    }

    /// The last trade price and the trades in the average-price window.
    fn avg_price_state(&self) -> (Option<i64>, Vec<(i64, i128, i128)>) {
        self.inner.avg_price().state()
    }

    fn state_digest(&self, py: Python<'_>, status: &str) -> String {
        let ledger = self.ledger.borrow(py);
        self.inner.state_digest(&ledger.inner, status)
    }

    /// (seq, last_order_id, last_trade_id, last_prevented_match_id, last_order_list_id,
    /// traded_ticklots).
    fn counters(&self) -> (i64, i64, i64, i64, i64, i128) {
        let e = &self.inner;
        (
            e.seq,
            e.last_order_id,
            e.last_trade_id,
            e.last_prevented_match_id,
            e.last_order_list_id,
            e.traded_ticklots,
        )
    }
}
