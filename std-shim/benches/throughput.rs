//! Throughput and latency of the pool engine, without the CLI.
//!
//! `cargo bench -p plasmite --bench throughput` runs the same workloads as `pls bench`
//! (they live in `plasmite::bench`) and prints the same table; add `-- --json` for the
//! results as JSON, `-- --quick` for a run of a few seconds. The cross-process figures re-run
//! this executable as worker processes (`throughput worker ROLE POOL COUNT SIZE`).

use std::path::Path;
use std::process::{Command, ExitCode};

use plasmite::bench::{self, Config, Role};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let outcome = if args.get(1).map(String::as_str) == Some("worker") {
        worker(&args[2..])
    } else {
        suite(&args)
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn worker(args: &[String]) -> Result<(), plasmite::Error> {
    let usage = || plasmite::Error::new(plasmite::ErrorKind::Usage, "worker ROLE POOL COUNT SIZE");
    let [role, pool, count, size] = args else {
        return Err(usage());
    };
    let role = Role::from_name(role).ok_or_else(usage)?;
    let count = count.parse().map_err(|_| usage())?;
    let size = size.parse().map_err(|_| usage())?;
    bench::worker(role, Path::new(pool), count, size)
}

fn suite(args: &[String]) -> Result<(), plasmite::Error> {
    let json = args.iter().any(|a| a == "--json");
    let config = if args.iter().any(|a| a == "--quick") {
        Config::quick()
    } else {
        Config::standard()
    };
    let dir = std::env::temp_dir().join(format!("plasmite-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| plasmite::Error::io(e, "create", &dir))?;
    let exe = std::env::current_exe().map_err(|e| plasmite::Error::io(e, "locate", &dir))?;
    let spawn = || {
        let mut c = Command::new(&exe);
        c.arg("worker");
        c
    };
    let report = bench::run(&config, &dir, &spawn, &mut |_| {});
    let _ = std::fs::remove_dir_all(&dir);
    let report = report?;
    if json {
        println!("{}", report.to_json());
    } else {
        let title = format!("benchmark ({}-byte JSON messages)", config.size);
        print!("{}", bench::render_table(&title, &report.rows()));
    }
    Ok(())
}
