//! The `pls` command-line interface.

pub mod args;
pub mod filter;
pub mod ingest;
pub mod pretty;
pub mod units;

/// Runs the CLI with the process arguments and returns the exit code.
pub fn main() -> i32 {
    0
}
