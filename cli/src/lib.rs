//! The `pls` command-line interface (also installed as `plasmite`).
//!
//! `args` turns the command line into a typed [`args::Cli`]; `cmd` runs it
//! against the `plasmite` library; `output` decides how results look on a
//! terminal and in a pipe. The remaining modules are self-contained helpers:
//! stream ingestion, value syntaxes, pretty JSON. `--where` filters live in
//! the library (`plasmite::filter`), shared with the server and bindings.

pub mod args;
pub mod cmd;
pub mod ingest;
pub mod output;
pub mod pretty;
pub mod units;

use output::{ColorChoice, Term};

/// Runs the CLI with the process arguments and returns the exit code.
pub fn main() -> i32 {
    run(args::parse_env())
}

/// Runs the CLI with `args` (without the program name) as if invoked as
/// `bin`, returning the exit code: how the language bindings ship the CLI
/// (a Python console script, an npm `bin`) without a second executable.
pub fn main_with<I, T>(bin: &'static str, args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString>,
{
    run(args::parse(bin, args))
}

fn run(parsed: Result<args::Cli, args::ArgError>) -> i32 {
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            Term::detect(ColorChoice::Auto).print_error(&cmd::usage(e));
            return 2;
        }
    };
    let color = match cli.global.color {
        args::Color::Auto => ColorChoice::Auto,
        args::Color::Always => ColorChoice::Always,
        args::Color::Never => ColorChoice::Never,
    };
    let term = Term::detect(color);
    let dir = cli
        .global
        .dir
        .clone()
        .unwrap_or_else(plasmite::PoolDir::default_path);
    let ctx = cmd::Ctx {
        bin: cli.bin,
        dir: plasmite::PoolDir::new(dir),
        term,
    };
    match cmd::run(&ctx, cli.command) {
        Ok(code) => code,
        Err(e) => {
            term.print_error(&e);
            e.exit_code()
        }
    }
}
