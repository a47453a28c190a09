//! `bot4._native.ResultCodec`: a symbol's answers (`Ack`s with their reports, `VenueError`s,
//! anything else) as compact bytes and back, for the Ray hot path
//! (`bot4.service.nativewire`, which frames and checks them).
//!
//! An item is a tag byte and its fields: integers as zigzag LEB128 varints (any value of
//! i128), strings through a table per payload (a symbol's or an account's name is written
//! once), enumeration members and None as their index in the field's table, booleans as a
//! byte. An item whose fields are not exactly these types (a bool where an int goes, an
//! integer past 128 bits, a member of another enumeration, text that is not Unicode) travels
//! as the pickle of itself, so every item decodes equal to what was encoded. Decoding checks
//! every length and index: malformed bytes raise ValueError, never read out of bounds.

use std::collections::HashMap;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyInt, PyList, PyString, PyTuple};

const OBJECT: u8 = 0;
const ACK: u8 = 1;
const ERROR: u8 = 2;

/// What a field of an `ExecutionReport` holds: an integer, a string, a boolean, or a member
/// of the enumeration table with this index.
#[derive(Clone, Copy)]
enum Field {
    Int,
    Text,
    Flag,
    Member(usize),
}

// enumeration tables, in the order `nativewire` passes them
const SIDE: usize = 0;
const TYPE: usize = 1;
const TIF: usize = 2;
const STP: usize = 3;
const EXEC: usize = 4;
const STATUS: usize = 5;
const EXPIRY: usize = 6;
const CATEGORY: usize = 7;
const TABLES: usize = 8;

use Field::{Flag, Int, Member, Text};

/// `bot4.core.events.ExecutionReport`'s 36 fields.
const REPORT: [Field; 36] = [
    Text,           // symbol
    Text,           // account
    Int,            // order_id
    Text,           // client_order_id
    Member(SIDE),   // side
    Member(TYPE),   // type
    Member(TIF),    // time_in_force (None in its table)
    Int,            // price
    Int,            // orig_qty
    Int,            // quote_order_qty
    Int,            // creation_time
    Int,            // working_time
    Member(STP),    // stp_mode
    Int,            // stop_price
    Int,            // trailing_delta
    Int,            // order_list_id
    Int,            // seq
    Text,           // orig_client_order_id
    Member(EXEC),   // execution_type
    Member(STATUS), // status
    Member(EXPIRY), // expiry_reason
    Int,            // last_qty
    Int,            // last_price
    Int,            // cum_qty
    Int,            // cum_quote
    Int,            // commission
    Text,           // commission_asset
    Int,            // trade_id
    Flag,           // is_maker
    Flag,           // is_working
    Int,            // transact_time
    Int,            // prevented_match_id
    Int,            // prevented_qty
    Int,            // last_prevented_qty
    Int,            // prevented_price
    Int,            // counter_order_id
];

/// The classes and members the codec reads and builds.
#[pyclass(name = "ResultCodec", module = "bot4._native", frozen)]
pub struct PyResultCodec {
    ack: PyObject,
    report: PyObject,
    error: PyObject,
    tuple_new: PyObject,
    dumps: PyObject,
    loads: PyObject,
    /// Each table's members (None included where a field may hold it).
    members: Vec<Vec<PyObject>>,
    /// Each table's members by object address.
    codes: Vec<HashMap<usize, u8>>,
    empty: Py<PyTuple>,
}

/// One payload being written: its bytes, its string table (by the str object's address,
/// each object held until the payload is done, so no address is reused meanwhile).
struct Writer<'py> {
    out: Vec<u8>,
    texts: HashMap<usize, u32>,
    held: Vec<Bound<'py, PyAny>>,
}

impl<'py> Writer<'py> {
    fn varint(&mut self, value: i128) {
        let mut v = ((value << 1) ^ (value >> 127)) as u128;
        while v >= 0x80 {
            self.out.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.out.push(v as u8);
    }

    fn text(&mut self, obj: Bound<'py, PyAny>) -> Result<(), Unfit> {
        let key = obj.as_ptr() as usize;
        if let Some(&i) = self.texts.get(&key) {
            self.varint(i128::from(i) + 1);
            return Ok(());
        }
        let s = obj
            .downcast_exact::<PyString>()
            .map_err(|_| Unfit)?
            .to_str()
            .map_err(|_| Unfit)?;
        self.varint(0);
        self.varint(s.len() as i128);
        self.out.extend_from_slice(s.as_bytes());
        let next = self.texts.len() as u32;
        self.texts.insert(key, next);
        self.held.push(obj);
        Ok(())
    }
}

/// Why an item goes as its pickle.
struct Unfit;

fn int_of(obj: &Bound<'_, PyAny>) -> Result<i128, Unfit> {
    if !obj.is_exact_instance_of::<PyInt>() {
        return Err(Unfit);
    }
    match obj.extract::<i64>() {
        Ok(v) => Ok(i128::from(v)),
        // past 64 bits: the slower wide conversion (under the stable ABI it goes through
        // Python arithmetic)
        Err(_) => obj.extract::<i128>().map_err(|_| Unfit),
    }
}

/// Take a decoded tuple out of the cycle collector's sight. It holds only strings, ints,
/// booleans, enumeration members, None and other such tuples, and nothing refers back to
/// it, so it can be in no cycle; a frame of a thousand acks would otherwise hand the
/// collector tens of thousands of containers to traverse, which costs more than building
/// them (CPython leaves tuples of atomic values out of its sight the same way).
fn untrack(obj: &Bound<'_, PyAny>) {
    // SAFETY: `obj` is a live tuple (a GC-tracked container) whose reference we hold;
    // untracking only stops the collector from visiting it, and is a no-op when it is
    // untracked already
    unsafe { pyo3::ffi::PyObject_GC_UnTrack(obj.as_ptr().cast()) }
}

/// One payload being read.
struct Reader<'a, 'py> {
    data: &'a [u8],
    at: usize,
    texts: Vec<Bound<'py, PyString>>,
}

fn malformed(what: &str) -> PyErr {
    PyValueError::new_err(format!("malformed result payload: {what}"))
}

impl<'py> Reader<'_, 'py> {
    fn byte(&mut self) -> PyResult<u8> {
        let b = *self
            .data
            .get(self.at)
            .ok_or_else(|| malformed("cut short"))?;
        self.at += 1;
        Ok(b)
    }

    fn varint(&mut self) -> PyResult<i128> {
        let mut v: u128 = 0;
        let mut shift = 0;
        loop {
            let b = self.byte()?;
            if shift == 126 && b > 0x03 {
                return Err(malformed("an integer past 128 bits"));
            }
            v |= u128::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(((v >> 1) as i128) ^ -((v & 1) as i128));
            }
            shift += 7;
            if shift > 126 {
                return Err(malformed("an integer past 128 bits"));
            }
        }
    }

    /// A count or index: at most the payload's length (each counted thing takes a byte).
    fn count(&mut self) -> PyResult<usize> {
        let n = self.varint()?;
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= self.data.len())
            .ok_or_else(|| malformed("a count out of range"))
    }

    fn text(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyString>> {
        let index = self.count()?;
        if index > 0 {
            return self
                .texts
                .get(index - 1)
                .cloned()
                .ok_or_else(|| malformed("a string index out of range"));
        }
        let n = self.count()?;
        let end = self.at.checked_add(n).filter(|&e| e <= self.data.len());
        let end = end.ok_or_else(|| malformed("cut short"))?;
        let raw = &self.data[self.at..end];
        self.at = end;
        let s = std::str::from_utf8(raw).map_err(|_| malformed("a string that is not UTF-8"))?;
        let s = PyString::new(py, s);
        self.texts.push(s.clone());
        Ok(s)
    }
}

fn fetch<'py>(t: &Bound<'py, PyTuple>, i: usize) -> Result<Bound<'py, PyAny>, Unfit> {
    t.get_item(i).map_err(|_| Unfit)
}

impl PyResultCodec {
    fn field<'py>(
        &self,
        w: &mut Writer<'py>,
        kind: Field,
        obj: Bound<'py, PyAny>,
    ) -> Result<(), Unfit> {
        match kind {
            Int => w.varint(int_of(&obj)?),
            Text => w.text(obj)?,
            Flag => {
                let b = obj.downcast_exact::<PyBool>().map_err(|_| Unfit)?;
                w.out.push(u8::from(b.is_true()));
            }
            Member(table) => {
                let code = self.codes[table]
                    .get(&(obj.as_ptr() as usize))
                    .copied()
                    .ok_or(Unfit)?;
                w.out.push(code);
            }
        }
        Ok(())
    }

    /// Write `item` as an Ack (with no list statuses) or a VenueError; Unfit when it is
    /// neither, exactly (the caller then cuts what was written and pickles it).
    fn typed<'py>(&self, w: &mut Writer<'py>, item: &Bound<'py, PyAny>) -> Result<(), Unfit> {
        let py = item.py();
        let kind = item.get_type();
        if kind.is(self.ack.bind(py)) {
            let t = item.downcast::<PyTuple>().map_err(|_| Unfit)?;
            if t.len() != 8
                || !fetch(t, 7)?
                    .downcast::<PyTuple>()
                    .is_ok_and(|l| l.is_empty())
            {
                return Err(Unfit);
            }
            w.out.push(ACK);
            for (i, kind) in [Int, Text, Member(STATUS), Int, Int, Int]
                .into_iter()
                .enumerate()
            {
                self.field(w, kind, fetch(t, i)?)?;
            }
            let reports = fetch(t, 6)?;
            let reports = reports.downcast::<PyTuple>().map_err(|_| Unfit)?;
            w.varint(reports.len() as i128);
            for r in reports.iter() {
                if !r.get_type().is(self.report.bind(py)) {
                    return Err(Unfit);
                }
                let r = r.downcast::<PyTuple>().map_err(|_| Unfit)?;
                if r.len() != REPORT.len() {
                    return Err(Unfit);
                }
                for (i, kind) in REPORT.into_iter().enumerate() {
                    self.field(w, kind, fetch(r, i)?)?;
                }
            }
            return Ok(());
        }
        if kind.is(self.error.bind(py)) {
            w.out.push(ERROR);
            let get = |name: &str| item.getattr(name).map_err(|_| Unfit);
            self.field(w, Int, get("code")?)?;
            self.field(w, Text, get("msg")?)?;
            self.field(w, Member(CATEGORY), get("category")?)?;
            self.field(w, Flag, get("retryable")?)?;
            let after = get("retry_after_ms")?;
            if after.is_none() {
                w.out.push(0);
            } else {
                w.out.push(1);
                w.varint(int_of(&after)?);
            }
            return Ok(());
        }
        Err(Unfit)
    }

    fn read<'py>(
        &self,
        py: Python<'py>,
        r: &mut Reader<'_, 'py>,
        kind: Field,
    ) -> PyResult<PyObject> {
        Ok(match kind {
            Int => {
                let v = r.varint()?;
                match i64::try_from(v) {
                    Ok(v) => v.into_pyobject(py)?.into_any().unbind(),
                    Err(_) => v.into_pyobject(py)?.into_any().unbind(),
                }
            }
            Text => r.text(py)?.into_any().unbind(),
            Flag => match r.byte()? {
                0 => PyBool::new(py, false).to_owned().into_any().unbind(),
                1 => PyBool::new(py, true).to_owned().into_any().unbind(),
                _ => return Err(malformed("a flag that is neither 0 nor 1")),
            },
            Member(table) => {
                let code = r.byte()? as usize;
                self.members[table]
                    .get(code)
                    .map(|m| m.clone_ref(py))
                    .ok_or_else(|| malformed("an enumeration code out of range"))?
            }
        })
    }

    /// A NamedTuple of `cls` from its fields, out of the cycle collector's sight.
    fn build(&self, py: Python<'_>, cls: &PyObject, fields: Vec<PyObject>) -> PyResult<PyObject> {
        let tuple = PyTuple::new(py, fields)?;
        let made = self.tuple_new.call1(py, (cls.clone_ref(py), tuple))?;
        untrack(made.bind(py));
        Ok(made)
    }
}

#[pymethods]
impl PyResultCodec {
    /// `classes`: Ack, ExecutionReport and VenueError; `tables`: the members of Side,
    /// OrderType, TimeInForce (and None), StpMode, ExecutionType, OrderStatus, ExpiryReason
    /// and Category, each in a fixed order both ends share; `dumps`/`loads` pickle the rest.
    #[new]
    fn new(
        py: Python<'_>,
        classes: (PyObject, PyObject, PyObject),
        tables: Vec<Vec<PyObject>>,
        dumps: PyObject,
        loads: PyObject,
    ) -> PyResult<Self> {
        if tables.len() != TABLES || tables.iter().any(|t| t.len() > 255) {
            return Err(PyValueError::new_err(
                "eight enumeration tables of at most 255 members",
            ));
        }
        let codes = tables
            .iter()
            .map(|t| {
                t.iter()
                    .enumerate()
                    .map(|(i, m)| (m.as_ptr() as usize, i as u8))
                    .collect()
            })
            .collect();
        let tuple_new = py
            .import("builtins")?
            .getattr("tuple")?
            .getattr("__new__")?;
        Ok(Self {
            ack: classes.0,
            report: classes.1,
            error: classes.2,
            tuple_new: tuple_new.unbind(),
            dumps,
            loads,
            members: tables,
            codes,
            empty: PyTuple::empty(py).unbind(),
        })
    }

    /// The results as one payload.
    fn encode<'py>(
        &self,
        py: Python<'py>,
        results: &Bound<'py, PyList>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let mut w = Writer {
            out: Vec::with_capacity(results.len() * 96),
            texts: HashMap::new(),
            held: Vec::new(),
        };
        w.varint(results.len() as i128);
        for item in results.iter() {
            let (mark, texts) = (w.out.len(), w.texts.len());
            if self.typed(&mut w, &item).is_err() {
                w.out.truncate(mark);
                if w.texts.len() != texts {
                    // strings first written by the cut item: forget them
                    w.texts.retain(|_, i| (*i as usize) < texts);
                    w.held.truncate(texts);
                }
                let blob = self.dumps.call1(py, (&item,))?;
                let blob = blob.downcast_bound::<PyBytes>(py)?.as_bytes();
                w.out.push(OBJECT);
                w.varint(blob.len() as i128);
                w.out.extend_from_slice(blob);
            }
        }
        Ok(PyBytes::new(py, &w.out))
    }

    /// The results of one payload (ValueError for malformed bytes).
    fn decode<'py>(&self, py: Python<'py>, data: &[u8]) -> PyResult<Vec<PyObject>> {
        let mut r = Reader {
            data,
            at: 0,
            texts: Vec::new(),
        };
        let n = r.count()?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(match r.byte()? {
                ACK => {
                    let mut fields = Vec::with_capacity(8);
                    for kind in [Int, Text, Member(STATUS), Int, Int, Int] {
                        fields.push(self.read(py, &mut r, kind)?);
                    }
                    let count = r.count()?;
                    let mut reports = Vec::with_capacity(count.min(64));
                    for _ in 0..count {
                        let mut f = Vec::with_capacity(REPORT.len());
                        for kind in REPORT {
                            f.push(self.read(py, &mut r, kind)?);
                        }
                        reports.push(self.build(py, &self.report, f)?);
                    }
                    let reports = PyTuple::new(py, reports)?;
                    untrack(&reports);
                    fields.push(reports.into_any().unbind());
                    fields.push(self.empty.clone_ref(py).into_any());
                    self.build(py, &self.ack, fields)?
                }
                ERROR => {
                    let code = self.read(py, &mut r, Int)?;
                    let msg = self.read(py, &mut r, Text)?;
                    let category = self.read(py, &mut r, Member(CATEGORY))?;
                    let retryable = self.read(py, &mut r, Flag)?;
                    let after = match r.byte()? {
                        0 => py.None(),
                        1 => self.read(py, &mut r, Int)?,
                        _ => return Err(malformed("a retry-after marker")),
                    };
                    self.error
                        .call1(py, (code, msg, category, retryable, after))?
                }
                OBJECT => {
                    let len = r.count()?;
                    let end = r.at.checked_add(len).filter(|&e| e <= data.len());
                    let end = end.ok_or_else(|| malformed("cut short"))?;
                    let blob = PyBytes::new(py, &data[r.at..end]);
                    r.at = end;
                    self.loads
                        .call1(py, (blob,))
                        .map_err(|e| malformed(&format!("a pickled item: {e}")))?
                }
                _ => return Err(malformed("an unknown item tag")),
            });
        }
        if r.at != data.len() {
            return Err(malformed("bytes after the last item"));
        }
        Ok(out)
    }
}
