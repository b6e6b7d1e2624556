//! `pls bench`: measure Plasmite on the user's machine.
//!
//! The engine phases (appends, reads, get by seq, cross-process wake-ups, writer processes)
//! are `plasmite::bench`, the same code `cargo bench -p plasmite --bench throughput` runs;
//! their worker processes are this program re-run as the hidden `bench-worker` command.
//! Ingest and export go through the CLI itself: real `pls poke` and `pls peek` processes, as
//! a user runs them. The process helpers here are public so the CLI's cargo benchmark
//! (`cli/benches/cli.rs`) times its processes the same way.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use plasmite::bench::{self as engine, Config, Throughput};
use plasmite::{Error, ErrorKind, Pool};
use serde_json::json;

use super::{print_text, stdout_error, usage_error, Ctx, Outcome};
use crate::args::{BenchArgs, BenchWorkerArgs};
use crate::units;

/// Whether this is a build with debug assertions (a dev build, normally unoptimized), whose
/// figures say little about a release build.
const DEBUG_BUILD: bool = cfg!(debug_assertions);

/// Runs `bench`.
pub fn run(ctx: &Ctx, a: BenchArgs) -> Outcome {
    let config = config(ctx.bin, &a)?;
    let exe = std::env::current_exe().map_err(|e| {
        Error::new(
            ErrorKind::Io,
            format!("cannot find this program's executable: {e}"),
        )
    })?;
    let base = a.dir.clone().unwrap_or_else(std::env::temp_dir);
    let scratch = Scratch::create(&base)?;
    let show_progress = ctx.term.stderr_tty;
    let mut progress = |phase: &str| {
        if show_progress {
            eprint!("\r\x1b[K{} bench: {phase}…", ctx.bin);
        }
    };
    let load_before = engine::load_average();
    let spawn = || {
        let mut c = Command::new(&exe);
        c.arg("bench-worker");
        c
    };
    let report = engine::run(&config, scratch.path(), &spawn, &mut progress);
    let report = report.and_then(|r| {
        progress("ingest and export");
        let cli = cli_phases(&exe, scratch.path(), &config)?;
        Ok((r, cli))
    });
    if show_progress {
        eprint!("\r\x1b[K");
    }
    let (report, (ingest, export)) = report?;
    let load_after = engine::load_average();
    drop(scratch);

    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    if a.json {
        let mut results = report.to_json();
        results["ingest"] = ingest.to_json();
        results["export"] = export.to_json();
        let c = &config;
        let v = json!({
            "config": {
                "messages": c.messages,
                "size": c.size,
                "pool_size": c.pool_size,
                "batch": c.batch,
                "flush_messages": c.flush_messages,
                "get_samples": c.get_samples,
                "wake_samples": c.wake_samples,
                "writers": c.writers,
                "quick": a.quick,
                "dir": base.display().to_string(),
                "debug_build": DEBUG_BUILD,
            },
            "machine": {
                "cpus": cpus,
                "os": std::env::consts::OS,
                "arch": std::env::consts::ARCH,
                "load_average_before": load_before,
                "load_average_after": load_after,
            },
            "plasmite": crate::args::VERSION,
            "results": results,
        });
        ctx.term.print_value(&v).map_err(stdout_error)?;
        return Ok(0);
    }
    let mut rows = report.rows();
    rows.push((
        format!(
            "ingest {} JSONL records ({} poke, from stdin)",
            engine::count(ingest.msgs),
            ctx.bin
        ),
        engine::rate(&ingest),
    ));
    rows.push((
        format!(
            "export them ({} peek --tail {} --jsonl, to a file)",
            ctx.bin, export.msgs
        ),
        engine::rate(&export),
    ));
    let load = |l: Option<f64>| l.map_or("unknown".to_owned(), |l| format!("{l:.2}"));
    let mut text = format!(
        "{} bench {}: {} messages of {} bytes per phase, pools of {} in {}\n\
         {cpus} CPUs ({}/{}), load average {} before, {} after\n\n",
        ctx.bin,
        crate::args::VERSION,
        engine::count(config.messages),
        config.size,
        human_size(config.pool_size),
        base.display(),
        std::env::consts::OS,
        std::env::consts::ARCH,
        load(load_before),
        load(load_after),
    );
    if DEBUG_BUILD {
        text.push_str("warning: this is a debug build; a release build is many times faster\n\n");
    }
    text.push_str(&engine::render_table("benchmark", &rows));
    print_text(&text)
}

/// Runs the hidden `bench-worker` command.
pub fn worker(a: BenchWorkerArgs) -> Outcome {
    let size = usize::try_from(a.size)
        .map_err(|_| usage_error("SIZE is too large", "Give a message size in bytes."))?;
    engine::worker(a.role, &a.pool, a.count, size)?;
    Ok(0)
}

/// The run's parameters from the command line.
fn config(bin: &str, a: &BenchArgs) -> Result<Config, Error> {
    let mut c = if a.quick {
        Config::quick()
    } else {
        Config::standard()
    };
    let size = |flag: &str, text: &str| {
        units::parse_size(text)
            .map_err(|e| usage_error(format!("{flag}: {}", e.message()), e.hint()))
    };
    if let Some(n) = a.messages {
        c.messages = n;
    }
    c.size = usize::try_from(size("--size", &a.size)?)
        .map_err(|_| usage_error("--size is too large", "Give a message size in bytes."))?;
    if let Some(p) = &a.pool_size {
        c.pool_size = size("--pool-size", p)?;
    }
    c.writers = a.writers;
    c.check().map_err(|e| {
        let hint = format!("Try `--quick` alone, or see `{bin} bench --help`.");
        usage_error(e.message(), hint)
    })?;
    Ok(c)
}

/// `64M`-style rendering of a byte count (exact multiples only; else bytes).
fn human_size(bytes: u64) -> String {
    for (shift, unit) in [(30, "G"), (20, "M"), (10, "K")] {
        if bytes >= 1 << shift && bytes % (1 << shift) == 0 {
            return format!("{}{unit}", bytes >> shift);
        }
    }
    format!("{bytes} bytes")
}

/// A fresh directory for the run's pools, removed (with everything in it) when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn create(base: &Path) -> Result<Scratch, Error> {
        let stamp = plasmite::time::now_ns() % 1_000_000_000;
        let dir = base.join(format!("plasmite-bench-{}-{stamp}", std::process::id()));
        std::fs::create_dir(&dir).map_err(|e| {
            let err = Error::io(e, "create the benchmark directory", &dir);
            if base.is_dir() {
                err
            } else {
                err.with_hint(format!(
                    "The directory {} does not exist; create it or pick another --dir.",
                    base.display()
                ))
            }
        })?;
        Ok(Scratch(dir))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Peak resident memory of a process, as the kernel counts it: anonymous memory (heap,
/// stacks) and file-backed pages (mostly a pool's mapping: page cache shared with every
/// process using the pool, not memory the process allocated).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Peak {
    /// Peak anonymous resident memory, KiB.
    pub anon_kib: u64,
    /// Peak file-backed and shared resident memory, KiB.
    pub file_kib: u64,
}

impl Peak {
    /// Folds in one reading of `/proc/PID/status` (Linux; elsewhere nothing is read).
    fn sample(&mut self, pid: u32) {
        let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
            return;
        };
        for line in status.lines() {
            let kib = || {
                line.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            if line.starts_with("RssAnon:") {
                self.anon_kib = self.anon_kib.max(kib());
            } else if line.starts_with("RssFile:") || line.starts_with("RssShmem:") {
                self.file_kib = self.file_kib.max(kib());
            }
        }
    }
}

/// Runs the `pls` at `exe` with `--dir dir` and `args`, stdin from the file `input`, stdout
/// to the file `output` (both else null), and returns its wall time and exit code. With
/// `peak`, memory is sampled every 200 µs meanwhile (a spike shorter than that can be
/// missed); without, the process is simply waited for.
///
/// # Errors
///
/// The files cannot be opened, or the process cannot be started or waited for.
pub fn run_pls(
    exe: &Path,
    dir: &Path,
    args: &[&str],
    input: Option<&Path>,
    output: Option<&Path>,
    peak: Option<&mut Peak>,
) -> Result<(Duration, i32), Error> {
    let mut cmd = Command::new(exe);
    cmd.arg("--dir").arg(dir).args(args);
    cmd.stdin(match input {
        Some(p) => std::fs::File::open(p)
            .map_err(|e| Error::io(e, "open", p))?
            .into(),
        None => Stdio::null(),
    });
    cmd.stdout(match output {
        Some(p) => std::fs::File::create(p)
            .map_err(|e| Error::io(e, "create", p))?
            .into(),
        None => Stdio::null(),
    });
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::io(e, "run", exe).with_hint("Is this the `pls` executable?"))?;
    let status = match peak {
        None => child.wait(),
        Some(peak) => loop {
            peak.sample(child.id());
            match child.try_wait() {
                Ok(Some(status)) => break Ok(status),
                Ok(None) => std::thread::sleep(Duration::from_micros(200)),
                Err(e) => break Err(e),
            }
        },
    }
    .map_err(|e| Error::io(e, "wait for", exe))?;
    Ok((started.elapsed(), status.code().unwrap_or(-1)))
}

/// Lines in the file at `path`, read as a stream (never whole: an export of a million
/// messages would swell this process).
///
/// # Errors
///
/// The file cannot be read.
pub fn count_lines(path: &Path) -> Result<u64, Error> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(e, "open", path))?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut n = 0;
    loop {
        let buf = reader.fill_buf().map_err(|e| Error::io(e, "read", path))?;
        if buf.is_empty() {
            return Ok(n);
        }
        n += buf.iter().filter(|&&b| b == b'\n').count() as u64;
        let len = buf.len();
        reader.consume(len);
    }
}

/// Size of a pool that keeps `n` messages of `size` bytes without evicting any: frames of
/// 32 bytes of header plus the data rounded up to 8, the index's 1/32 of the file, and a
/// MiB of slack, rounded up to a MiB.
pub fn pool_size_for(n: u64, size: usize) -> u64 {
    let frame = (size as u64 + 32).div_ceil(8) * 8;
    let ring = frame.saturating_mul(n);
    let file = ring.saturating_mul(32) / 31 + (1 << 20);
    file.div_ceil(1 << 20).saturating_mul(1 << 20)
}

/// Ingest: `pls poke` reads `n` JSON Lines records from stdin into a new pool. Export:
/// `pls peek --tail n --jsonl` prints them all to a file. Both are whole processes, so
/// start-up (about a millisecond) is included.
fn cli_phases(exe: &Path, dir: &Path, c: &Config) -> Result<(Throughput, Throughput), Error> {
    let n = c.messages;
    let input = dir.join("input.jsonl");
    engine::write_jsonl(&input, n, c.size)?;
    let create_size = pool_size_for(n, c.size).to_string();
    let (t, code) = run_pls(
        exe,
        dir,
        &["poke", "ingest", "--create", "--create-size", &create_size],
        Some(&input),
        None,
        None,
    )?;
    let _ = std::fs::remove_file(&input);
    if code != 0 {
        return Err(phase_failed("poke", code));
    }
    let ingest = Throughput::new(n, t);
    let held = Pool::open(dir.join("ingest.plasmite"))?.info()?.count;
    if held != n {
        return Err(Error::new(
            ErrorKind::Internal,
            format!("the ingest pool holds {held} of {n} messages"),
        ));
    }

    let output = dir.join("export.jsonl");
    let tail = n.to_string();
    // --timeout 1ms ends peek (status 124) once the history is printed.
    let wait = Duration::from_millis(1);
    let (t, code) = run_pls(
        exe,
        dir,
        &[
            "peek",
            "ingest",
            "--tail",
            &tail,
            "--jsonl",
            "--timeout",
            "1ms",
        ],
        None,
        Some(&output),
        None,
    )?;
    if code != super::EXIT_TIMEOUT {
        return Err(phase_failed("peek", code));
    }
    let lines = count_lines(&output)?;
    let _ = std::fs::remove_file(&output);
    if lines != n {
        return Err(Error::new(
            ErrorKind::Internal,
            format!("export printed {lines} of {n} messages"),
        ));
    }
    Ok((ingest, Throughput::new(n, t.saturating_sub(wait))))
}

fn phase_failed(cmd: &str, code: i32) -> Error {
    Error::new(
        ErrorKind::Io,
        format!("the benchmark's `{cmd}` process failed (exit status {code})"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ingest_pools_hold_every_message() {
        let dir = std::env::temp_dir().join(format!("pls-bench-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (n, size) in [(1u64, 10usize), (5000, 100), (300, 4000)] {
            let path = dir.join("p.plasmite");
            let _ = std::fs::remove_file(&path);
            let pool = Pool::create(
                &path,
                &plasmite::PoolOptions::with_size(pool_size_for(n, size)),
            )
            .unwrap();
            let mut b = pool.batch().unwrap();
            for i in 0..n {
                b.append_json(&engine::message(i, size), &[]).unwrap();
            }
            b.finish(plasmite::Durability::Fast).unwrap();
            assert_eq!(pool.info().unwrap().count, n, "{n} x {size}");
            assert_eq!(pool.info().unwrap().oldest.unwrap().0, 1, "{n} x {size}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sizes_render_exactly() {
        assert_eq!(human_size(64 << 20), "64M");
        assert_eq!(human_size(1 << 30), "1G");
        assert_eq!(human_size(1536), "1536 bytes");
        assert_eq!(human_size(3 << 10), "3K");
    }

    #[test]
    fn lines_are_counted_across_buffers() {
        let dir = std::env::temp_dir().join(format!("pls-bench-lines-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("in.jsonl");
        engine::write_jsonl(&path, 3000, 100).unwrap();
        assert_eq!(count_lines(&path).unwrap(), 3000);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
