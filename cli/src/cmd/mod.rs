//! The commands: each takes its typed arguments and a [`Ctx`], prints its
//! results, and returns an exit code (or an error, printed by the caller).

use std::io::{self, Write};

use plasmite::{Error, ErrorKind, Pool, PoolDir, PoolOptions};

use crate::args::{self, ArgError, Command};
use crate::output::Term;

pub mod bench;
mod doctor;
mod get;
mod peek;
mod poke;
mod pool;
mod remote;

/// Exit code of `peek --timeout` expiring.
pub const EXIT_TIMEOUT: i32 = 124;

/// What every command needs.
pub struct Ctx {
    /// Program name for hints (`pls` or `plasmite`).
    pub bin: &'static str,
    /// The pool directory bare names resolve in.
    pub dir: PoolDir,
    /// Terminal facts and output styling.
    pub term: Term,
}

/// A command's outcome: an exit code, or an error for the caller to print.
pub type Outcome = Result<i32, Error>;

/// Runs one command.
pub fn run(ctx: &Ctx, command: Command) -> Outcome {
    match command {
        Command::Poke(a) => poke::run(ctx, a),
        Command::Peek(a) => peek::run(ctx, a),
        Command::Get(a) => get::run(ctx, a),
        Command::PoolCreate(a) => pool::create(ctx, a),
        Command::PoolList(a) => pool::list(ctx, a),
        Command::PoolInfo(a) => pool::info(ctx, a),
        Command::PoolDelete(a) => pool::delete(ctx, a),
        Command::Doctor(a) => doctor::run(ctx, a),
        Command::Bench(a) => bench::run(ctx, a),
        Command::BenchWorker(a) => bench::worker(a),
        Command::Serve(a) => {
            let config = plasmite_server::configure(&a, ctx.bin)?;
            let tty = ctx.term.stderr_tty;
            plasmite_server::run(ctx.dir.clone(), config, |c| {
                if tty {
                    eprint!("{}", plasmite_server::startup_text(c));
                }
            })?;
            Ok(0)
        }
        Command::ServeCheck(a) => {
            let config = plasmite_server::configure(&a.serve, ctx.bin)?;
            if a.json {
                ctx.term
                    .print_value(&plasmite_server::check_json(&config))
                    .map_err(stdout_error)?;
                Ok(0)
            } else {
                print_text(&plasmite_server::check_text(&config))
            }
        }
        Command::ServeInit(a) => {
            let report = plasmite_server::init(
                &plasmite_server::InitOptions {
                    bind: a.bind,
                    output_dir: a.output_dir,
                    token_file: a.token_file,
                    tls_cert: a.tls_cert,
                    tls_key: a.tls_key,
                    force: a.force,
                },
                ctx.bin,
            )?;
            if ctx.term.stdout_tty {
                print_text(&plasmite_server::init_text(&report, ctx.bin))
            } else {
                ctx.term
                    .print_value(&plasmite_server::init_json(&report))
                    .map_err(stdout_error)?;
                Ok(0)
            }
        }
        Command::Version => {
            let v = serde_json::json!({"name": "plasmite", "version": args::VERSION});
            ctx.term.print_value(&v).map_err(stdout_error)?;
            Ok(0)
        }
        Command::Completion(shell) => print_text(&args::completion_script(shell)),
        Command::Help(text) | Command::VersionText(text) => print_text(&text),
    }
}

fn print_text(text: &str) -> Outcome {
    io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .map_err(stdout_error)?;
    Ok(0)
}

/// Runs `f`, and up to `times` more times after `delay` while it fails in a
/// way `transient` accepts (`--retry`, `--retry-delay`). A final failure's
/// hint says how many attempts were made and how long they took.
pub(crate) fn with_retry<T>(
    times: u64,
    delay: std::time::Duration,
    transient: impl Fn(&Error) -> bool,
    mut f: impl FnMut() -> Result<T, Error>,
) -> Result<T, Error> {
    let started = std::time::Instant::now();
    let mut attempt = 0;
    loop {
        match f() {
            Err(e) if attempt < times && transient(&e) => {
                attempt += 1;
                std::thread::sleep(delay);
            }
            Err(e) if attempt > 0 => {
                let waited = started.elapsed().as_millis();
                let note = format!("Retry attempts: {} (waited {waited}ms).", attempt + 1);
                let hint = match e.hint() {
                    Some(h) => format!("{h} {note}"),
                    None => note,
                };
                return Err(e.with_hint(hint));
            }
            other => return other,
        }
    }
}

/// A usage error from argument parsing, as a library error.
pub fn usage(e: ArgError) -> Error {
    Error::new(ErrorKind::Usage, e.message).with_hint(e.hint)
}

/// A usage error with a hint.
pub(crate) fn usage_error(message: impl Into<String>, hint: impl Into<String>) -> Error {
    Error::new(ErrorKind::Usage, message).with_hint(hint)
}

/// A failed write to stdout. A closed pipe (`pls peek pool | head -1`) is a
/// normal way for a reader to stop, so it ends the process quietly.
pub(crate) fn stdout_error(e: io::Error) -> Error {
    if e.kind() == io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    Error::new(ErrorKind::Io, format!("writing output: {e}"))
}

/// Writes to stdout, ending quietly on a closed pipe.
pub(crate) fn emit(out: &mut impl Write, bytes: &[u8]) -> Result<(), Error> {
    out.write_all(bytes).map_err(stdout_error)
}

/// Whether a pool ref names a remote pool (`http://` or `https://`).
pub(crate) fn is_remote(pool: &str) -> bool {
    pool.starts_with("http://") || pool.starts_with("https://")
}

/// Refuses a remote ref in a command that only works on local pools.
pub(crate) fn local_only(ctx: &Ctx, pool: &str, cmd: &str) -> Result<(), Error> {
    if is_remote(pool) {
        return Err(usage_error(
            format!("`{cmd}` works on local pools only"),
            format!(
                "Run `{} {cmd}` on the machine that holds the pool.",
                ctx.bin
            ),
        ));
    }
    Ok(())
}

/// Opens `pool`; with `create` (a size), creates it first if missing. A
/// missing pool's error hints at `retry`, the user's command with
/// `--create` added.
pub(crate) fn open_pool(
    ctx: &Ctx,
    pool: &str,
    create: Option<u64>,
    retry: impl FnOnce() -> Vec<String>,
) -> Result<Pool, Error> {
    match (ctx.dir.open(pool), create) {
        (Err(e), Some(size)) if e.kind() == ErrorKind::NotFound => {
            match ctx.dir.create(pool, &PoolOptions::with_size(size)) {
                // Another process created it first: fine.
                Err(e) if e.kind() == ErrorKind::AlreadyExists => ctx.dir.open(pool),
                other => other,
            }
        }
        (Err(e), _) => {
            let mut words = vec![ctx.bin.to_string()];
            words.extend(retry());
            Err(missing_pool_hint(e, pool, words.join(" ")))
        }
        (ok, _) => ok,
    }
}

/// Turns a "no such pool" error into one whose hint is the exact command to
/// re-run with `--create`.
fn missing_pool_hint(e: Error, pool: &str, retry: String) -> Error {
    if e.kind() != ErrorKind::NotFound {
        return e;
    }
    let hint = if pool.contains('/') {
        "Pool path not found. Check the path or pass --dir for a different pool directory."
            .to_string()
    } else {
        format!("Pool is missing. Retry with exact command: {retry}")
    };
    let mut out = Error::new(ErrorKind::NotFound, e.message().to_string()).with_hint(hint);
    if let Some(p) = e.path() {
        out = out.with_path(p);
    }
    out
}

/// Quotes a word for a shell command line when it needs it.
pub(crate) fn shell_word(w: &str) -> String {
    let plain = !w.is_empty()
        && w.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@,+".contains(&b));
    if plain {
        w.to_string()
    } else {
        format!("'{}'", w.replace('\'', r"'\''"))
    }
}
