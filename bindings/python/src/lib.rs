//! The Python binding of Plasmite: the extension module `plasmite._native`.
//!
//! It calls the Rust library (`plasmite`) directly. The pure-Python part of
//! the package (`python/plasmite/`) defines the enums and exception classes
//! and re-exports these classes; its `_native.pyi` types them.
//!
//! Threading: handles (`Client`, `Pool`, `Stream`) are safe to share between
//! threads. The GIL is released wherever the library may wait — a stream
//! waiting for messages, a replay pacing them, a flushed append, pool
//! creation, listing, the CLI — and kept for the short non-blocking calls,
//! where releasing it would cost more than the call itself.

#![warn(missing_docs)]

use pyo3::prelude::*;

mod cli;
mod client;
mod errors;
mod jsonenc;
mod message;
mod pool;
mod readers;
mod stream;

/// The module `plasmite._native`: the classes and the CLI entry point.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<client::Client>()?;
    m.add_class::<client::PoolInfo>()?;
    m.add_class::<client::PoolEntry>()?;
    m.add_class::<pool::Pool>()?;
    m.add_class::<stream::Stream>()?;
    m.add_class::<readers::Reader>()?;
    m.add_class::<message::Message>()?;
    m.add_function(wrap_pyfunction!(cli::cli_main, m)?)?;
    m.add("DEFAULT_POOL_SIZE", plasmite::DEFAULT_POOL_SIZE)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
