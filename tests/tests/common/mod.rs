//! Spawning and talking to `plasmite-harness` processes.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Serializes the tests that load both cores, so that one's processes do
/// not skew another's timings.
pub fn heavy() -> MutexGuard<'static, ()> {
    static HEAVY: Mutex<()> = Mutex::new(());
    HEAVY.lock().unwrap_or_else(|p| p.into_inner())
}

/// A running harness process whose stdout lines are collected by a thread.
pub struct Proc {
    child: Child,
    lines: Receiver<String>,
    what: String,
}

impl Proc {
    /// Starts `plasmite-harness CMD POOL ARGS...`.
    pub fn spawn(cmd: &str, pool: &Path, args: &[&str]) -> Proc {
        let mut child = Command::new(env!("CARGO_BIN_EXE_plasmite-harness"))
            .arg(cmd)
            .arg(pool)
            .args(args)
            .stdout(Stdio::piped())
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn plasmite-harness");
        let out = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Proc {
            child,
            lines: rx,
            what: format!("{cmd} {}", args.join(" ")),
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the `ready` line (the process has its cursor).
    pub fn wait_ready(&mut self) {
        match self.lines.recv_timeout(Duration::from_secs(20)) {
            Ok(l) if l == "ready" => {}
            other => panic!("{}: expected ready, got {other:?}", self.what),
        }
    }

    /// Sends SIGKILL and reaps the process.
    pub fn kill(&mut self) -> ExitStatus {
        let _ = self.child.kill();
        self.child.wait().expect("wait")
    }

    /// Waits (at most `limit`) for a successful exit; returns its stdout.
    pub fn finish(mut self, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("try_wait") {
                break s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("{}: still running after {limit:?}", self.what);
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let out: Vec<String> = self.lines.iter().collect();
        assert!(status.success(), "{}: {status}; stdout: {out:?}", self.what);
        out.join("\n")
    }

    /// [`Proc::finish`], parsing the last stdout line as JSON.
    pub fn finish_json(self, limit: Duration) -> serde_json::Value {
        let out = self.finish(limit);
        let last = out.lines().last().unwrap_or_default();
        serde_json::from_str(last).unwrap_or_else(|e| panic!("bad JSON {last:?}: {e}"))
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// CPU time (user + system) a process has used, from `/proc/PID/stat`.
pub fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc stat");
    // Fields after the parenthesized command name; utime and stime are the
    // 14th and 15th fields overall, in clock ticks (USER_HZ, 100 on Linux).
    let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

/// The `q` quantile (0..=1) of sorted samples.
pub fn quantile(sorted: &[u64], q: f64) -> u64 {
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i]
}
