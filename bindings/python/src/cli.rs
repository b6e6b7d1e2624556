//! The `plasmite` command line, run inside the interpreter.

use std::ffi::OsString;

use pyo3::prelude::*;

/// Runs the CLI with `args` (without the program name) as `plasmite`,
/// returning its exit code. The GIL is released meanwhile. The CLI reads
/// stdin and writes stdout/stderr directly (file descriptors 0-2), and has
/// no cancellation hook: `plasmite.cli.main` therefore restores the
/// default SIGINT action while it runs, so Ctrl-C ends it as it ends `pls`.
#[pyfunction]
pub fn cli_main(py: Python<'_>, args: Vec<OsString>) -> i32 {
    py.detach(|| plasmite_cli::main_with("plasmite", args))
}
