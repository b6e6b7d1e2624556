//! Library errors as Python exceptions.
//!
//! The exception classes (`PlasmiteError` and one subclass per kind) are
//! plain Python, defined in `plasmite/_errors.py`: subclassing, pickling and
//! `except` clauses then behave exactly as for any Python exception, and the
//! stubs type them for free. This module only builds them, through that
//! file's `_from_native` factory, looked up once.

use std::path::Path;

use plasmite::ErrorKind;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

/// `plasmite._errors._from_native`, resolved on first use.
static FROM_NATIVE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Everything a Python `PlasmiteError` carries.
pub struct Details<'a> {
    /// The stable kind (its exit code is the Python `ErrorKind` value).
    pub kind: ErrorKind,
    /// What went wrong.
    pub message: &'a str,
    /// What to do about it.
    pub hint: Option<&'a str>,
    /// The file concerned.
    pub path: Option<&'a Path>,
    /// The message seq concerned.
    pub seq: Option<u64>,
    /// The ring position concerned.
    pub offset: Option<u64>,
}

/// Builds the Python exception for `d` (the subclass of its kind).
pub fn build(py: Python<'_>, d: &Details<'_>) -> PyErr {
    let factory = FROM_NATIVE.get_or_try_init(py, || {
        Ok::<_, PyErr>(
            py.import("plasmite._errors")?
                .getattr("_from_native")?
                .unbind(),
        )
    });
    let path = d.path.map(|p| p.to_string_lossy().into_owned());
    let made = factory.and_then(|f| {
        f.bind(py)
            .call1((d.kind.exit_code(), d.message, path, d.seq, d.offset, d.hint))
    });
    match made {
        Ok(exc) => PyErr::from_value(exc),
        // The package is broken (say, _errors.py missing): surface that.
        Err(e) => e,
    }
}

/// A library error as a Python exception.
pub fn err(e: plasmite::Error) -> PyErr {
    Python::attach(|py| {
        build(
            py,
            &Details {
                kind: e.kind(),
                message: e.message(),
                hint: e.hint(),
                path: e.path(),
                seq: e.seq(),
                offset: e.offset(),
            },
        )
    })
}

/// A Usage error (`UsageError`, also a `ValueError`) with no context.
pub fn usage(message: impl AsRef<str>) -> PyErr {
    kind_error(ErrorKind::Usage, message.as_ref())
}

/// An error of `kind` with only a message.
pub fn kind_error(kind: ErrorKind, message: &str) -> PyErr {
    Python::attach(|py| {
        build(
            py,
            &Details {
                kind,
                message,
                hint: None,
                path: None,
                seq: None,
                offset: None,
            },
        )
    })
}

/// Using a handle after `close()`: a Usage error naming it.
pub fn closed(what: &str) -> PyErr {
    usage(format!("plasmite: {what} is closed"))
}

/// Shorthand for `.map_err(err)` on library results.
pub trait OrRaise<T> {
    /// The value, or the error as a Python exception.
    fn or_raise(self) -> PyResult<T>;
}

impl<T> OrRaise<T> for plasmite::Result<T> {
    fn or_raise(self) -> PyResult<T> {
        self.map_err(err)
    }
}
