//! `bot4._native.JournalCodec`: the journal line of the commonest commands (a `NewOrder`, a
//! `CancelOrder` or a `Deposit`, of plain ints, strs, None and enum members), written in
//! native code byte for byte as `bot4.service.commands.encode` writes it.
//!
//! Anything else, or a field it does not write exactly (an int past 64 bits, a bool where an
//! int goes, text that is not Unicode, an unknown kind or member), gets None, and the caller
//! (`bot4.service.nativecommands`) leaves the command to the Python encoder, which decides.
//! Strings are escaped as `json.dumps` does with `ensure_ascii`: `\"`, `\\`, `\n`, `\r`,
//! `\t`, `\b`, `\f`, other control characters and every non-ASCII character as `\uXXXX`
//! (UTF-16, so a character past U+FFFF is a surrogate pair).

use std::collections::HashMap;
use std::fmt::Write;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyInt, PyString, PyTuple};

/// The types and JSON tables the codec writes with.
#[pyclass(name = "JournalCodec", module = "bot4._native", frozen)]
pub struct PyJournalCodec {
    command: PyObject,
    new_order: PyObject,
    cancel: PyObject,
    deposit: PyObject,
    /// Each kind's JSON (`"submit"` and so on).
    kinds: HashMap<String, String>,
    /// Each enum member's JSON, and None's (`null`), by object address.
    members: HashMap<usize, String>,
    /// The members themselves, held so that no address is reused.
    _held: Vec<PyObject>,
}

/// Why a command is left to the Python encoder.
struct Unfit;

fn quote(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

impl PyJournalCodec {
    fn text(out: &mut String, obj: &Bound<'_, PyAny>) -> Result<(), Unfit> {
        if obj.is_none() {
            out.push_str("null");
            return Ok(());
        }
        let s = obj.downcast_exact::<PyString>().map_err(|_| Unfit)?;
        quote(out, s.to_str().map_err(|_| Unfit)?);
        Ok(())
    }

    fn int(out: &mut String, obj: &Bound<'_, PyAny>) -> Result<(), Unfit> {
        if obj.is_none() {
            out.push_str("null");
            return Ok(());
        }
        if !obj.is_exact_instance_of::<PyInt>() {
            return Err(Unfit);
        }
        let v: i64 = obj.extract().map_err(|_| Unfit)?;
        let _ = write!(out, "{v}");
        Ok(())
    }

    fn member(&self, out: &mut String, obj: &Bound<'_, PyAny>) -> Result<(), Unfit> {
        let json = self.members.get(&(obj.as_ptr() as usize)).ok_or(Unfit)?;
        out.push_str(json);
        Ok(())
    }

    fn request(&self, out: &mut String, req: &Bound<'_, PyAny>) -> Result<(), Unfit> {
        let py = req.py();
        let kind = req.get_type();
        let t = req.downcast::<PyTuple>().map_err(|_| Unfit)?;
        let f = |i: usize| t.get_item(i).map_err(|_| Unfit);
        out.push_str("{\"f\":[");
        let name = if kind.is(self.new_order.bind(py)) && t.len() == 11 {
            // account, side, type, qty, price, tif, quote qty, client id, stp, stop, trailing
            Self::text(out, &f(0)?)?;
            for (i, field) in
                (1..11).zip([b'e', b'e', b'i', b'i', b'e', b'i', b's', b'e', b'i', b'i'])
            {
                out.push(',');
                match field {
                    b'e' => self.member(out, &f(i)?)?,
                    b'i' => Self::int(out, &f(i)?)?,
                    _ => Self::text(out, &f(i)?)?,
                }
            }
            "NewOrder"
        } else if kind.is(self.cancel.bind(py)) && t.len() == 5 {
            // account, order id, orig client id, new client id, restriction
            Self::text(out, &f(0)?)?;
            out.push(',');
            Self::int(out, &f(1)?)?;
            out.push(',');
            Self::text(out, &f(2)?)?;
            out.push(',');
            Self::text(out, &f(3)?)?;
            out.push(',');
            self.member(out, &f(4)?)?;
            "CancelOrder"
        } else if kind.is(self.deposit.bind(py)) && t.len() == 3 {
            Self::text(out, &f(0)?)?;
            out.push(',');
            Self::text(out, &f(1)?)?;
            out.push(',');
            Self::int(out, &f(2)?)?;
            "Deposit"
        } else {
            return Err(Unfit);
        };
        let _ = write!(out, "],\"t\":\"{name}\"}}");
        Ok(())
    }

    fn line(&self, command: &Bound<'_, PyAny>) -> Result<String, Unfit> {
        if !command.get_type().is(self.command.bind(command.py())) {
            return Err(Unfit);
        }
        let t = command.downcast::<PyTuple>().map_err(|_| Unfit)?;
        let f = |i: usize| t.get_item(i).map_err(|_| Unfit);
        let kind = f(0)?;
        let kind = kind.downcast_exact::<PyString>().map_err(|_| Unfit)?;
        let kind = self
            .kinds
            .get(kind.to_str().map_err(|_| Unfit)?)
            .ok_or(Unfit)?;
        let now = f(2)?;
        if now.is_none() {
            return Err(Unfit); // a command's time is an int
        }
        let mut out = String::with_capacity(160);
        let _ = write!(out, "{{\"k\":{kind},\"n\":");
        Self::int(&mut out, &now)?;
        out.push_str(",\"r\":");
        self.request(&mut out, &f(1)?)?;
        out.push_str("}\n");
        Ok(out)
    }
}

#[pymethods]
impl PyJournalCodec {
    /// `classes`: Command, NewOrder, CancelOrder, Deposit; `kinds`: each command kind's
    /// JSON; `members`: (member, its JSON) for every enum member, and (None, "null").
    #[new]
    fn new(
        classes: (PyObject, PyObject, PyObject, PyObject),
        kinds: HashMap<String, String>,
        members: Vec<(PyObject, String)>,
    ) -> Self {
        let mut held = Vec::with_capacity(members.len());
        let mut table = HashMap::with_capacity(members.len());
        for (member, json) in members {
            table.insert(member.as_ptr() as usize, json);
            held.push(member);
        }
        Self {
            command: classes.0,
            new_order: classes.1,
            cancel: classes.2,
            deposit: classes.3,
            kinds,
            members: table,
            _held: held,
        }
    }

    /// The journal line of `command` (with its newline), or None to leave it to Python.
    fn encode<'py>(
        &self,
        py: Python<'py>,
        command: &Bound<'py, PyAny>,
    ) -> Option<Bound<'py, PyBytes>> {
        self.line(command)
            .ok()
            .map(|line| PyBytes::new(py, line.as_bytes()))
    }
}
