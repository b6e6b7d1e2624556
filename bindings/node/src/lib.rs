//! The native half of Plasmite's Node.js binding: a napi-rs addon over the
//! `plasmite` crate (no C ABI in between).
//!
//! The public API is `index.js`, which wraps these classes: it turns objects
//! into JSON text before they cross over (one `JSON.stringify` in V8 is far
//! cheaper than walking an object through Node-API), parses what comes back,
//! and builds the async iterators. Everything that touches a pool — appends,
//! reads, tag and jq filtering, waiting — happens here, in the library.
//!
//! Errors cross as instances of the JavaScript class `PlasmiteError`, built
//! here with typed fields (`kind`, `path`, `seq`, `offset`, `hint`) from the
//! library's error, never parsed back out of a message string.

mod dir;
mod error;
mod pool;
mod tail;

use napi::bindgen_prelude::*;
use napi_derive::napi;

pub use dir::NativeDir;
pub use pool::NativePool;
pub use tail::NativeTail;

/// Registers the class native errors are thrown as. `index.js` calls this
/// once at load with `PlasmiteError`; until then errors are plain `Error`s
/// carrying the same fields.
#[napi]
pub fn register_error_class(
    env: Env,
    ctor: Function<'_, FnArgs<(String, Object<'static>)>, Unknown<'static>>,
) -> Result<()> {
    error::register(&env, ctor)
}

/// Runs the `pls` / `plasmite` command line in this process with `args`
/// (without the program name) and returns its exit code. The npm `bin`
/// scripts call this, so the package needs no second executable.
#[napi]
pub fn run_cli(bin: String, args: Vec<String>) -> i32 {
    let bin: &'static str = if bin == "plasmite" { "plasmite" } else { "pls" };
    plasmite_cli::main_with(bin, args)
}

/// The version of this binding (and of the plasmite crate it embeds).
#[napi]
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}
