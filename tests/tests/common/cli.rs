//! Running the real `pls` binary the way a user does, for the `cli_*` tests.
//!
//! Include it with `#[path = "common/cli.rs"] mod cli;`.
//!
//! Every test gets a [`Sandbox`]: a fresh directory that is also `HOME`, with
//! `PLASMITE_DIR` pointing at `<sandbox>/pools` and an otherwise empty
//! environment. [`Sandbox::run`] and friends return an [`Out`]; building one
//! asserts that the program did not panic. [`Bg`] is a program left running
//! (a follower), whose stdout lines are collected with their arrival times.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use plasmite_tests::TempDir;
use serde_json::{Map, Value};

/// How long any single command may run before the test fails.
pub const LIMIT: Duration = Duration::from_secs(60);

/// The `pls` binary under test.
///
/// `PLASMITE_BIN`, if set, names it (to test an installed or release build).
/// Otherwise it is `target/<profile>/pls`, next to this test's own
/// `target/<profile>/deps/` directory, built first with
/// `cargo build -p plasmite-cli --bins --profile <profile>`. That build is a
/// no-op when the binary is up to date, and it is needed: `cargo test` only
/// builds the binaries of packages that have integration tests, and
/// plasmite-cli has none, so `cargo test --workspace` alone would leave the
/// binary missing or stale.
pub fn pls() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(locate)
}

/// The `plasmite` binary (the same program under its other name).
pub fn plasmite_bin() -> PathBuf {
    pls().with_file_name("plasmite")
}

fn locate() -> PathBuf {
    if let Some(p) = std::env::var_os("PLASMITE_BIN") {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "PLASMITE_BIN={} does not name a file",
            p.display()
        );
        return p;
    }
    let exe = std::env::current_exe().expect("current_exe");
    // target/<profile>/deps/<test>-<hash>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executable is not in target/<profile>/deps");
    let target_dir = profile_dir.parent().expect("target dir");
    let profile = match profile_dir.file_name().and_then(OsStr::to_str) {
        Some("debug") => "dev".to_string(),
        Some(p) => p.to_string(),
        None => "dev".to_string(),
    };
    let bin = profile_dir.join("pls");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root");
    let how = format!(
        "cargo build -p plasmite-cli --bins --profile {profile} (or set PLASMITE_BIN to a pls binary)"
    );
    let built = Command::new(&cargo)
        .args([
            "build",
            "--quiet",
            "-p",
            "plasmite-cli",
            "--bins",
            "--profile",
        ])
        .arg(&profile)
        .env("CARGO_TARGET_DIR", target_dir)
        .current_dir(workspace)
        .stdin(Stdio::null())
        .output();
    match built {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!(
            "building the pls binary failed ({}); run `{how}` to see why:\n{}",
            o.status,
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => panic!("could not run cargo ({e}) to build the pls binary; run `{how}`"),
    }
    assert!(
        bin.is_file(),
        "the pls binary is missing at {}; run `{how}`",
        bin.display()
    );
    bin
}

/// Serializes the tests of one test binary that measure time or load both
/// cores, so that they do not skew each other.
pub fn exclusive() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// A directory that is `HOME` for the programs run in it; pools live in
/// `pools/` (`PLASMITE_DIR`).
pub struct Sandbox {
    dir: TempDir,
}

impl Sandbox {
    /// A fresh sandbox; `name` appears in the directory name.
    pub fn new(name: &str) -> Sandbox {
        Sandbox {
            dir: TempDir::new(&format!("cli-{name}")),
        }
    }

    /// The sandbox directory (`HOME`, and the working directory of commands).
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// A path inside the sandbox.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    /// The pool directory (`PLASMITE_DIR`).
    pub fn pools(&self) -> PathBuf {
        self.dir.join("pools")
    }

    /// The file of pool `name` in the pool directory.
    pub fn pool_file(&self, name: &str) -> PathBuf {
        self.pools().join(format!("{name}.plasmite"))
    }

    /// A command for `program` with the sandbox's environment: nothing but
    /// `PATH` (with the binary's directory first), `HOME` and `PLASMITE_DIR`.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let bin_dir = pls().parent().expect("bin dir").to_path_buf();
        let path = std::env::join_paths(
            std::iter::once(bin_dir)
                .chain(["/usr/local/bin", "/usr/bin", "/bin"].map(PathBuf::from)),
        )
        .expect("PATH");
        let mut c = Command::new(program);
        c.env_clear()
            .env("PATH", path)
            .env("HOME", self.root())
            .env("PLASMITE_DIR", self.pools())
            .current_dir(self.root())
            .stdin(Stdio::null());
        c
    }

    /// `pls ARGS`.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = self.command(pls());
        c.args(args);
        c
    }

    /// Runs `pls ARGS` with empty stdin.
    pub fn run(&self, args: &[&str]) -> Out {
        run(self.cmd(args), None, LIMIT)
    }

    /// Runs `pls ARGS` with `input` on stdin.
    pub fn run_in(&self, args: &[&str], input: impl Into<Vec<u8>>) -> Out {
        run(self.cmd(args), Some(input.into()), LIMIT)
    }

    /// Runs a `sh -c SCRIPT` in the sandbox, `pls` found on `PATH`: README
    /// examples run exactly as written.
    pub fn sh(&self, script: &str) -> Out {
        run(self.sh_cmd(script), None, LIMIT)
    }

    /// The command for `sh -c SCRIPT`.
    pub fn sh_cmd(&self, script: &str) -> Command {
        let mut c = self.command("sh");
        c.arg("-c").arg(script);
        c
    }

    /// Starts `pls ARGS` in the background; stdout lines are collected.
    pub fn spawn(&self, args: &[&str]) -> Bg {
        Bg::start(self.cmd(args), &args.join(" "), true)
    }

    /// Starts `pls ARGS` in the background without reading its stdout until
    /// [`Bg::start_reading`] is called (its output pipe fills and blocks it).
    pub fn spawn_unread(&self, args: &[&str]) -> Bg {
        Bg::start(self.cmd(args), &args.join(" "), false)
    }

    /// Creates pool `name` with `pls pool create NAME [EXTRA...]`.
    pub fn create_pool(&self, name: &str, extra: &[&str]) {
        let mut args = vec!["pool", "create", name];
        args.extend_from_slice(extra);
        self.run(&args).ok();
    }

    /// Pokes each object in `datas` into `pool` through stdin (one poke
    /// process), returning the receipts.
    pub fn poke_lines(&self, pool: &str, datas: &[Value]) -> Vec<Value> {
        let mut input = String::new();
        for d in datas {
            input.push_str(&d.to_string());
            input.push('\n');
        }
        let out = self.run_in(&["poke", pool, "--in", "jsonl"], input).ok();
        let receipts = out.jsonl();
        assert_eq!(receipts.len(), datas.len(), "one receipt per record");
        receipts
    }

    /// All retained messages of `pool`, oldest first (`peek --tail` with a
    /// huge N, ending on a short `--timeout`).
    pub fn messages(&self, pool: &str) -> Vec<Value> {
        let out = self.run(&[
            "peek",
            pool,
            "--tail",
            "100000000",
            "--jsonl",
            "--timeout",
            "50ms",
        ]);
        out.timed_out();
        out.jsonl()
    }

    /// `pool info POOL --json`.
    pub fn info(&self, pool: &str) -> Value {
        self.run(&["pool", "info", pool, "--json"]).ok().json()
    }
}

/// Runs a command to completion (at most `limit`), feeding `input` to its
/// stdin when given.
pub fn run(mut cmd: Command, input: Option<Vec<u8>>, limit: Duration) -> Out {
    let what = describe(&cmd);
    if input.is_some() {
        cmd.stdin(Stdio::piped());
    }
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {what}: {e}"));
    let feeder = input.map(|bytes| {
        let mut stdin = child.stdin.take().expect("stdin");
        // A program may stop reading early (on an error): a closed pipe here
        // is its business, not a test failure.
        std::thread::spawn(move || {
            let _ = stdin.write_all(&bytes);
        })
    });
    let out = drain(child.stdout.take().expect("stdout"));
    let err = drain(child.stderr.take().expect("stderr"));
    let status = wait_limit(&mut child, limit, &what);
    let elapsed = started.elapsed();
    if let Some(f) = feeder {
        let _ = f.join();
    }
    Out::new(what, status, join(out), join(err), elapsed)
}

fn drain(mut r: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        buf
    })
}

fn join(h: JoinHandle<Vec<u8>>) -> String {
    String::from_utf8(h.join().expect("reader thread")).expect("output is UTF-8")
}

fn wait_limit(child: &mut Child, limit: Duration, what: &str) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(s) = child.try_wait().expect("try_wait") {
            return s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`{what}` still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn describe(cmd: &Command) -> String {
    let prog = Path::new(cmd.get_program())
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let args: Vec<String> = cmd
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    format!("{prog} {}", args.join(" "))
}

/// What a finished program did.
#[derive(Debug)]
pub struct Out {
    /// The command line, for messages.
    pub what: String,
    /// Exit code (`None` if killed by a signal).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// Wall-clock run time.
    pub elapsed: Duration,
}

/// The exit code of each error kind (CLI contract §2.1).
pub fn exit_code_of(kind: &str) -> i32 {
    match kind {
        "Internal" => 1,
        "Usage" => 2,
        "NotFound" => 3,
        "AlreadyExists" => 4,
        "Busy" => 5,
        "Permission" => 6,
        "Corrupt" => 7,
        "Io" => 8,
        other => panic!("unknown error kind {other:?}"),
    }
}

impl Out {
    fn new(
        what: String,
        status: ExitStatus,
        stdout: String,
        stderr: String,
        elapsed: Duration,
    ) -> Out {
        let out = Out {
            what,
            code: status.code(),
            stdout,
            stderr,
            elapsed,
        };
        out.no_panic();
        out
    }

    /// Asserts the program did not panic (and was not killed by a signal).
    pub fn no_panic(&self) {
        assert!(
            !self.stderr.contains("panicked") && self.code != Some(101),
            "`{}` panicked: {self:?}",
            self.what
        );
        assert!(
            self.code.is_some(),
            "`{}` killed by a signal: {self:?}",
            self.what
        );
    }

    /// The exit code.
    pub fn code(&self) -> i32 {
        self.code.expect("exit code")
    }

    /// Asserts exit status 0 and nothing on stderr.
    pub fn ok(self) -> Out {
        assert!(
            self.code == Some(0) && self.stderr.is_empty(),
            "`{}` failed: {self:#?}",
            self.what
        );
        self
    }

    /// Asserts `peek --timeout` expired: exit 124 and nothing on stderr.
    pub fn timed_out(&self) -> &Out {
        assert!(
            self.code == Some(124) && self.stderr.is_empty(),
            "`{}`: expected exit 124 with no stderr: {self:#?}",
            self.what
        );
        self
    }

    /// stdout as exactly one JSON document on one line.
    pub fn json(&self) -> Value {
        let lines: Vec<&str> = self.stdout.lines().collect();
        assert_eq!(
            lines.len(),
            1,
            "`{}`: one line expected: {self:#?}",
            self.what
        );
        assert!(
            self.stdout.ends_with('\n'),
            "`{}`: no final newline",
            self.what
        );
        serde_json::from_str(lines[0])
            .unwrap_or_else(|e| panic!("`{}`: bad JSON {:?}: {e}", self.what, lines[0]))
    }

    /// stdout as JSON Lines (every line one compact JSON value).
    pub fn jsonl(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("`{}`: bad JSON line {l:?}: {e}", self.what))
            })
            .collect()
    }

    /// stderr as JSON lines (notices).
    pub fn stderr_jsonl(&self) -> Vec<Value> {
        self.stderr
            .lines()
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("`{}`: bad stderr line {l:?}: {e}", self.what))
            })
            .collect()
    }

    /// Asserts the program failed with `kind` and its exit code, reported as
    /// the one-line JSON error envelope on stderr, with nothing on stdout;
    /// returns the envelope's inner object.
    pub fn fails(&self, kind: &str) -> Map<String, Value> {
        let e = self.error();
        assert_eq!(e["kind"], kind, "`{}`: wrong kind: {self:#?}", self.what);
        assert_eq!(
            self.code,
            Some(exit_code_of(kind)),
            "`{}`: wrong exit code: {self:#?}",
            self.what
        );
        assert_eq!(self.stdout, "", "`{}`: output despite the error", self.what);
        e
    }

    /// The error envelope on stderr, checked against the contract's shape:
    /// `{"error":{"kind","message","hint"?,"path"?,"seq"?,"offset"?,"causes"?}}`
    /// on exactly one line; the exit code is the kind's.
    pub fn error(&self) -> Map<String, Value> {
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(
            lines.len(),
            1,
            "`{}`: one stderr line expected: {self:#?}",
            self.what
        );
        let v: Value = serde_json::from_str(lines[0])
            .unwrap_or_else(|e| panic!("`{}`: stderr is not JSON ({e}): {self:#?}", self.what));
        let outer = v.as_object().expect("envelope is an object");
        assert_eq!(outer.len(), 1, "envelope has one key: {v}");
        let e = outer["error"].as_object().expect("error object").clone();
        for (k, val) in &e {
            let fine = match k.as_str() {
                "kind" | "message" | "hint" | "path" => val.as_str().is_some_and(|s| !s.is_empty()),
                "seq" | "offset" => val.is_u64(),
                "causes" => val
                    .as_array()
                    .is_some_and(|a| a.iter().all(Value::is_string)),
                _ => false,
            };
            assert!(fine, "bad field {k:?}={val} in error envelope {v}");
        }
        let kind = e["kind"].as_str().expect("kind");
        assert!(e.contains_key("message"), "no message: {v}");
        assert_eq!(
            self.code,
            Some(exit_code_of(kind)),
            "`{}`: exit code does not match kind {kind}",
            self.what
        );
        e
    }
}

/// The hint of an error object ("" if none).
pub fn hint(e: &Map<String, Value>) -> &str {
    e.get("hint").and_then(Value::as_str).unwrap_or("")
}

/// A program left running in the background.
pub struct Bg {
    child: Child,
    stdout: Option<ChildStdout>,
    lines: Option<Receiver<(Instant, String)>>,
    stderr: Option<JoinHandle<Vec<u8>>>,
    /// The command line, for messages.
    pub what: String,
}

impl Bg {
    /// Starts `cmd` with piped stdout and stderr.
    pub fn start(mut cmd: Command, what: &str, read: bool) -> Bg {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {what}: {e}"));
        let stderr = Some(drain(child.stderr.take().expect("stderr")));
        let mut bg = Bg {
            stdout: child.stdout.take(),
            child,
            lines: None,
            stderr,
            what: what.to_string(),
        };
        if read {
            bg.start_reading();
        }
        bg
    }

    /// Starts collecting stdout lines (with their arrival times).
    pub fn start_reading(&mut self) {
        let out = self.stdout.take().expect("reading already");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send((Instant::now(), line)).is_err() {
                    break;
                }
            }
        });
        self.lines = Some(rx);
    }

    /// Takes its stdout, to be read only when asked ([`PausedReader`]): in
    /// between, the program blocks once the pipe is full.
    pub fn paused_reader(&mut self) -> PausedReader {
        PausedReader::new(self.stdout.take().expect("reading already"))
    }

    /// Waits until the program is blocked writing to its full output pipe.
    pub fn wait_blocked_on_output(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut streak = 0;
        while streak < 3 {
            let w =
                std::fs::read_to_string(format!("/proc/{}/wchan", self.pid())).unwrap_or_default();
            streak = if w.contains("pipe") { streak + 1 } else { 0 };
            assert!(
                Instant::now() < deadline,
                "`{}` never blocked on its output",
                self.what
            );
            std::thread::sleep(Duration::from_millis(3));
        }
    }

    /// Takes its stdout pipe, to be read directly: the program can then run
    /// at most a pipe's worth ahead of the reader.
    pub fn take_stdout(&mut self) -> ChildStdout {
        self.stdout.take().expect("reading already")
    }

    /// Closes our end of its stdout pipe without reading.
    pub fn close_stdout(&mut self) {
        self.stdout = None;
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until the program (or, for a shell, its child) sleeps waiting
    /// for new messages: a `peek` is then following at the live edge.
    pub fn wait_following(&self) {
        wait_following(self.child.id(), &self.what);
    }

    /// The next stdout line and when it arrived, or `None` after `limit` or
    /// at the end of output.
    pub fn line(&self, limit: Duration) -> Option<(Instant, String)> {
        let rx = self.lines.as_ref().expect("not reading stdout");
        rx.recv_timeout(limit).ok()
    }

    /// The next stdout line as JSON, failing the test after `limit`.
    pub fn json_line(&self, limit: Duration) -> Value {
        let (_, l) = self
            .line(limit)
            .unwrap_or_else(|| panic!("`{}`: no output line within {limit:?}", self.what));
        serde_json::from_str(&l).unwrap_or_else(|e| panic!("`{}`: bad JSON {l:?}: {e}", self.what))
    }

    /// Whether it has exited.
    pub fn exited(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_some()
    }

    /// Waits (at most `limit`) for the program to exit; returns what it did
    /// (stdout: the lines not yet taken with [`Bg::line`]).
    pub fn finish(mut self, limit: Duration) -> Out {
        let status = wait_limit(&mut self.child, limit, &self.what);
        self.collect(status)
    }

    /// Stops it (SIGINT, like Ctrl-C; SIGKILL if it lingers) and returns
    /// what it did.
    pub fn interrupt(mut self) -> (Option<i32>, String, String) {
        signal_tree(self.child.id(), "INT");
        let deadline = Instant::now() + Duration::from_secs(5);
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("try_wait") {
                break s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                break self.child.wait().expect("wait");
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        let code = status.code();
        let out = self.rest_stdout();
        let err = self.take_stderr();
        (code, out, err)
    }

    fn rest_stdout(&mut self) -> String {
        if let Some(mut s) = self.stdout.take() {
            let mut buf = String::new();
            let _ = s.read_to_string(&mut buf);
            return buf;
        }
        let mut out = String::new();
        if let Some(rx) = &self.lines {
            // The reader thread ends at EOF, which follows the exit.
            while let Ok((_, l)) = rx.recv_timeout(Duration::from_secs(10)) {
                out.push_str(&l);
                out.push('\n');
            }
        }
        out
    }

    fn take_stderr(&mut self) -> String {
        self.stderr
            .take()
            .map(|h| String::from_utf8_lossy(&h.join().expect("stderr thread")).into_owned())
            .unwrap_or_default()
    }

    fn collect(&mut self, status: ExitStatus) -> Out {
        let stdout = self.rest_stdout();
        let stderr = self.take_stderr();
        Out::new(self.what.clone(), status, stdout, stderr, Duration::ZERO)
    }
}

impl Drop for Bg {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // A shell's children first: killing the shell would orphan them.
            for p in descendants(self.child.id()) {
                let _ = Command::new("kill")
                    .args(["-KILL", &p.to_string()])
                    .status();
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Sends `SIG` to `pid`'s descendants, then to `pid`.
fn signal_tree(pid: u32, sig: &str) {
    let mut pids = descendants(pid);
    pids.push(pid);
    for p in pids {
        let _ = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(p.to_string())
            .stderr(Stdio::null())
            .status();
    }
}

/// All descendants of `pid`, deepest last.
fn descendants(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        for c in children(p) {
            out.push(c);
            todo.push(c);
        }
    }
    out
}

/// Waits until process `pid`, or one of its children, is asleep in a futex
/// or timer wait (where a following `peek` waits for messages).
pub fn wait_following(pid: u32, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut streak = 0;
    loop {
        let mut pids = vec![pid];
        pids.extend(children(pid));
        let waiting = pids.iter().any(|p| {
            std::fs::read_to_string(format!("/proc/{p}/wchan"))
                .is_ok_and(|w| w.contains("futex") || w.contains("nanosleep"))
                && std::fs::read_to_string(format!("/proc/{p}/cmdline"))
                    .is_ok_and(|c| c.contains("peek"))
        });
        // A few consecutive sightings, so that a passing wait (the dynamic
        // loader, a lock) is not mistaken for following.
        streak = if waiting { streak + 1 } else { 0 };
        if streak >= 3 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "`{what}` never started waiting for messages"
        );
        std::thread::sleep(Duration::from_millis(3));
    }
}

/// The child processes of `pid`.
fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Some(p) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
            continue;
        };
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
            continue;
        };
        // Fields after the name: state, ppid, ...
        if rest.split_whitespace().nth(1) == Some(&pid.to_string()) {
            out.push(p);
        }
    }
    out
}

/// A JSON Lines text of `n` objects `{"id":i,...}` for i in `from..from+n`.
pub fn id_lines(from: u64, n: u64) -> String {
    let mut s = String::new();
    for i in from..from + n {
        s.push_str(&format!("{{\"id\":{i}}}\n"));
    }
    s
}

/// The `data` of each message.
pub fn datas(msgs: &[Value]) -> Vec<Value> {
    msgs.iter().map(|m| m["data"].clone()).collect()
}

/// The `seq` of each message or receipt.
pub fn seqs(msgs: &[Value]) -> Vec<u64> {
    msgs.iter()
        .map(|m| m["seq"].as_u64().expect("seq"))
        .collect()
}

/// Checks a receipt (`poke` output): `meta.tags`, `seq`, `time`, no `data`.
pub fn check_receipt(r: &Value, seq: u64, tags: &[&str]) {
    let o = r.as_object().expect("receipt object");
    let keys: Vec<&str> = o.keys().map(String::as_str).collect();
    assert_eq!(keys, ["meta", "seq", "time"], "receipt fields: {r}");
    assert_eq!(r["seq"], seq, "receipt {r}");
    assert_eq!(
        r["meta"],
        serde_json::json!({ "tags": tags }),
        "receipt {r}"
    );
    check_time(&r["time"]);
}

/// Checks a message envelope: exactly `data`, `meta.tags`, `seq`, `time`.
pub fn check_message(m: &Value, seq: u64, data: &Value, tags: &[&str]) {
    let o = m.as_object().expect("message object");
    let keys: Vec<&str> = o.keys().map(String::as_str).collect();
    assert_eq!(keys, ["data", "meta", "seq", "time"], "message fields: {m}");
    assert_eq!(&m["data"], data, "message {m}");
    assert_eq!(m["seq"], seq, "message {m}");
    assert_eq!(
        m["meta"],
        serde_json::json!({ "tags": tags }),
        "message {m}"
    );
    check_time(&m["time"]);
}

/// An RFC 3339 UTC time like `2026-02-06T18:58:01.123456789Z`.
pub fn check_time(t: &Value) {
    let s = t
        .as_str()
        .unwrap_or_else(|| panic!("time is not a string: {t}"));
    let b = s.as_bytes();
    let ok = s.len() >= 20
        && s.ends_with('Z')
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && (s.len() == 20 || (b[19] == b'.' && s.len() <= 30 && s.len() > 21))
        && s[..19].bytes().filter(u8::is_ascii_digit).count() == 14;
    assert!(ok, "not an RFC 3339 UTC time: {s:?}");
}

/// Nanoseconds since the epoch of an RFC 3339 UTC time (`...Z`).
pub fn time_ns(t: &Value) -> u64 {
    check_time(t);
    let s = t.as_str().expect("time");
    let num = |r: std::ops::Range<usize>| s[r].parse::<i64>().expect("digits");
    let (y, mo, d) = (num(0..4), num(5..7), num(8..10));
    let (h, mi, sec) = (num(11..13), num(14..16), num(17..19));
    let frac = &s[19..s.len() - 1];
    let nanos = if frac.is_empty() {
        0
    } else {
        let digits = &frac[1..];
        digits.parse::<i64>().expect("fraction") * 10i64.pow(9 - digits.len() as u32)
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3_600 + mi * 60 + sec;
    u64::try_from(secs * 1_000_000_000 + nanos).expect("after the epoch")
}

/// Reads a program's stdout on request only.
pub struct PausedReader {
    req: mpsc::Sender<String>,
    resp: Receiver<Result<Vec<String>, String>>,
}

impl PausedReader {
    fn new(out: ChildStdout) -> PausedReader {
        let (req, rx) = mpsc::channel::<String>();
        let (tx, resp) = mpsc::channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(out);
            for needle in rx {
                let mut got = Vec::new();
                let result = loop {
                    let mut line = String::new();
                    match r.read_line(&mut line) {
                        Ok(0) | Err(_) => break Err(format!("output ended; read {got:?}")),
                        Ok(_) => {
                            let done = line.contains(&needle);
                            got.push(line.trim_end_matches('\n').to_string());
                            if done {
                                break Ok(std::mem::take(&mut got));
                            }
                        }
                    }
                };
                if tx.send(result).is_err() {
                    return;
                }
            }
        });
        PausedReader { req, resp }
    }

    /// Starts reading, up to and including the first line containing `needle`.
    pub fn read_until(&self, needle: &str) -> PendingRead<'_> {
        self.req.send(needle.to_string()).expect("reader thread");
        PendingRead { reader: self }
    }
}

/// A read in progress; [`PendingRead::lines`] waits for it.
pub struct PendingRead<'a> {
    reader: &'a PausedReader,
}

impl PendingRead<'_> {
    /// The lines read, failing the test after `limit`.
    pub fn lines(self, limit: Duration) -> Vec<String> {
        match self.reader.resp.recv_timeout(limit) {
            Ok(Ok(lines)) => lines,
            Ok(Err(e)) => panic!("{e}"),
            Err(_) => panic!("no matching output line within {limit:?}"),
        }
    }
}
