//! Python values to compact JSON text, written straight into a byte buffer.
//!
//! `Pool.append(dict)` is the hot path of most producers. Encoding here,
//! in one pass over the Python objects, avoids both `json.dumps` (a Python
//! call that builds a `str` we would then copy) and a detour through
//! `serde_json::Value` (an allocation per node). The library still
//! validates the text it is handed, so a bug here cannot store bad JSON.
//!
//! Accepted: `dict` and other mappings with `str` (or `int`) keys, `list`,
//! `tuple`, `str`, `int` (any size), finite `float`, `bool`, `None` — the
//! types `json.dumps` handles by default. Anything else is a Usage error
//! naming the type, rather than a silent `str()`.

use std::io::Write;

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyMapping, PyString, PyTuple};

use crate::errors::usage;

/// Deeper nesting is refused: it is almost surely a cycle, and refusing
/// keeps the recursion far from the thread's stack limit.
const MAX_DEPTH: u32 = 128;

/// Appends `obj`, which must be a mapping, as a compact JSON object.
pub fn encode_object(obj: &Bound<'_, PyAny>, out: &mut Vec<u8>) -> PyResult<()> {
    if let Ok(d) = obj.cast::<PyDict>() {
        return write_dict(d, out, 0);
    }
    if let Ok(m) = obj.cast::<PyMapping>() {
        return write_mapping(m, out, 0);
    }
    Err(usage(format!(
        "data must be a JSON object (a dict), got {}",
        type_name(obj)
    )))
}

fn write_value(v: &Bound<'_, PyAny>, out: &mut Vec<u8>, depth: u32) -> PyResult<()> {
    if let Ok(s) = v.cast::<PyString>() {
        write_str(out, s.to_str()?);
    } else if let Ok(d) = v.cast::<PyDict>() {
        write_dict(d, out, depth + 1)?;
    } else if let Ok(l) = v.cast::<PyList>() {
        write_items(l.iter(), out, depth + 1)?;
    } else if let Ok(t) = v.cast::<PyTuple>() {
        write_items(t.iter(), out, depth + 1)?;
    } else if let Ok(b) = v.cast::<PyBool>() {
        // Before int: bool is a subclass of int.
        out.extend_from_slice(if b.is_true() { b"true" } else { b"false" });
    } else if v.is_instance_of::<PyInt>() {
        write_int(v, out)?;
    } else if let Ok(f) = v.cast::<PyFloat>() {
        let x = f.value();
        if !x.is_finite() {
            return Err(usage(format!(
                "data contains {x}, which JSON cannot represent"
            )));
        }
        // Debug formatting is the shortest text that reads back as the
        // same f64, and always valid JSON ("1.0", "1e-7", "-0.0").
        let _ = write!(out, "{x:?}");
    } else if v.is_none() {
        out.extend_from_slice(b"null");
    } else if let Ok(m) = v.cast::<PyMapping>() {
        write_mapping(m, out, depth + 1)?;
    } else {
        return Err(usage(format!(
            "cannot encode a value of type {} as JSON; convert it first (say, to str), or pass JSON text to append_json",
            type_name(v)
        )));
    }
    Ok(())
}

fn check_depth(depth: u32) -> PyResult<()> {
    if depth > MAX_DEPTH {
        return Err(usage(format!(
            "data is nested more than {MAX_DEPTH} levels deep (is there a cycle?)"
        )));
    }
    Ok(())
}

fn write_dict(d: &Bound<'_, PyDict>, out: &mut Vec<u8>, depth: u32) -> PyResult<()> {
    check_depth(depth)?;
    out.push(b'{');
    for (i, (k, v)) in d.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_key(&k, out)?;
        write_value(&v, out, depth)?;
    }
    out.push(b'}');
    Ok(())
}

fn write_mapping(m: &Bound<'_, PyMapping>, out: &mut Vec<u8>, depth: u32) -> PyResult<()> {
    check_depth(depth)?;
    out.push(b'{');
    for (i, item) in m.items()?.iter().enumerate() {
        let (k, v): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item.extract()?;
        if i > 0 {
            out.push(b',');
        }
        write_key(&k, out)?;
        write_value(&v, out, depth)?;
    }
    out.push(b'}');
    Ok(())
}

fn write_items<'py>(
    items: impl Iterator<Item = Bound<'py, PyAny>>,
    out: &mut Vec<u8>,
    depth: u32,
) -> PyResult<()> {
    check_depth(depth)?;
    out.push(b'[');
    for (i, v) in items.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_value(&v, out, depth)?;
    }
    out.push(b']');
    Ok(())
}

/// Object keys: strings, or ints written as strings (as `json.dumps` does).
fn write_key(k: &Bound<'_, PyAny>, out: &mut Vec<u8>) -> PyResult<()> {
    if let Ok(s) = k.cast::<PyString>() {
        write_str(out, s.to_str()?);
    } else if k.is_instance_of::<PyInt>() && !k.is_instance_of::<PyBool>() {
        out.push(b'"');
        write_int(k, out)?;
        out.push(b'"');
    } else {
        return Err(usage(format!(
            "object keys must be str, got {}",
            type_name(k)
        )));
    }
    out.push(b':');
    Ok(())
}

fn write_int(v: &Bound<'_, PyAny>, out: &mut Vec<u8>) -> PyResult<()> {
    if let Ok(n) = v.extract::<i64>() {
        let _ = write!(out, "{n}");
    } else if let Ok(n) = v.extract::<u64>() {
        let _ = write!(out, "{n}");
    } else {
        // Beyond 64 bits: Python's own decimal rendering of the int value
        // (through __index__, so int subclasses print as numbers).
        let s = v.call_method0("__index__")?.str()?;
        out.extend_from_slice(s.to_str()?.as_bytes());
    }
    Ok(())
}

/// A JSON string: quotes, the mandatory escapes, other text as UTF-8.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let short: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if short.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.extend_from_slice(short);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

fn type_name(v: &Bound<'_, PyAny>) -> String {
    v.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".to_owned())
}
