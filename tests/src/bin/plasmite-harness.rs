//! A small program the multi-process tests run as real processes.
//!
//! ```text
//! plasmite-harness write  POOL --id W [--count M] [--batch K] [--pad MAX]
//!                         [--log FILE] [--stop-file FILE] [--pause-us U --pause-every N]
//! plasmite-harness follow POOL [--until-seq S] [--sleep-us U] [--idle-ms T] [--single-writer]
//! plasmite-harness ping   POOL --count N --interval-ms I
//! plasmite-harness pong   POOL --count N
//! plasmite-harness idle   POOL --ms T
//! ```
//!
//! * `write` appends bodies (see the `plasmite_tests` crate docs) with writer
//!   id W and counters 0, 1, 2, ... (forever without `--count`, or until the
//!   stop file exists). With `--log`, after each append (or batch) returns it
//!   records `SEQ N` per message in FILE with one `write(2)`, before it
//!   appends anything else: a line in the log means the append returned (a
//!   SIGKILL can cut that write short, logging only part of a batch).
//! * `follow` reads from the pool's current head (created before "ready" is
//!   printed), waiting for messages, and checks each one: its body, that
//!   seqs follow each other (a reported drop accounts for the gap) and that
//!   each writer's counter goes up by one (or at least goes up, across a
//!   drop); with `--single-writer`, also that counter + 1 = seq. It sleeps
//!   U µs before each read. It stops at seq S, at a `{"stop":true}`
//!   message, or after T ms without a message, and prints a JSON summary
//!   (`Summary`).
//! * `ping` appends `{"ping":i,"t":NOW}` N times, I ms apart; `pong` waits
//!   for N of them and prints the wake-up latencies (receive time minus
//!   `t`, both `CLOCK_REALTIME` ns) as a JSON array.
//! * `idle` waits for messages for T ms and prints how many came and the
//!   CPU time it used while waiting (`{"got":0,"cpu_ns":1234}`).
//!
//! Every waiting subcommand prints `ready` once its cursor exists.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

use plasmite::{Durability, Event, Pool, Start};
use plasmite_tests::{decode, encode, pad_len_for, realtime_ns};

/// Command-line options: `--key value` pairs and bare `--flag`s.
struct Args {
    opts: BTreeMap<String, String>,
}

impl Args {
    fn parse(rest: &[String]) -> Self {
        let mut opts = BTreeMap::new();
        let mut i = 0;
        while i < rest.len() {
            let key = rest[i].strip_prefix("--").expect("options start with --");
            match rest.get(i + 1).filter(|v| !v.starts_with("--")) {
                Some(v) => {
                    opts.insert(key.to_string(), v.clone());
                    i += 2;
                }
                None => {
                    opts.insert(key.to_string(), String::new());
                    i += 1;
                }
            }
        }
        Args { opts }
    }

    fn num(&self, key: &str) -> Option<u64> {
        self.opts.get(key).map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("--{key}: not a number"))
        })
    }

    fn str(&self, key: &str) -> Option<&str> {
        self.opts.get(key).map(String::as_str)
    }

    fn flag(&self, key: &str) -> bool {
        self.opts.contains_key(key)
    }
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let (Some(cmd), Some(path)) = (argv.first(), argv.get(1)) else {
        eprintln!("usage: plasmite-harness write|follow|ping|pong|idle POOL [options]");
        std::process::exit(2);
    };
    let args = Args::parse(&argv[2..]);
    let pool = Pool::open(path).unwrap_or_else(|e| panic!("open {path}: {e}"));
    match cmd.as_str() {
        "write" => write(&pool, &args),
        "follow" => follow(&pool, &args),
        "ping" => ping(&pool, &args),
        "pong" => pong(&pool, &args),
        "idle" => idle(&pool, &args),
        other => panic!("unknown subcommand {other}"),
    }
}

fn ready() {
    println!("ready");
    std::io::stdout().flush().expect("stdout");
}

fn write(pool: &Pool, args: &Args) {
    let id = args.num("id").expect("--id");
    let count = args.num("count").unwrap_or(u64::MAX);
    let batch = args.num("batch").unwrap_or(1).max(1);
    let max_pad = args.num("pad").unwrap_or(64) as usize;
    let pause = Duration::from_micros(args.num("pause-us").unwrap_or(0));
    let pause_every = args.num("pause-every").unwrap_or(1).max(1);
    let stop = args.str("stop-file").map(std::path::PathBuf::from);
    // Unbuffered: each line is one write(2), in the kernel before the next
    // append starts, so it survives a SIGKILL.
    let mut log = args.str("log").map(|p| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .expect("open log")
    });
    let mut n = 0;
    let mut last_seq = 0;
    let mut line = String::new();
    let mut rounds: u64 = 0;
    while n < count {
        rounds += 1;
        if rounds % 64 == 0 && stop.as_ref().is_some_and(|s| s.exists()) {
            break;
        }
        let k = batch.min(count - n);
        let bodies: Vec<String> = (n..n + k)
            .map(|i| encode(id, i, realtime_ns(), pad_len_for(id, i, max_pad)))
            .collect();
        line.clear();
        if k == 1 {
            let r = pool
                .append_json(bodies[0].as_bytes(), &[], Durability::Fast)
                .expect("append");
            line.push_str(&format!("{} {n}\n", r.seq));
            last_seq = r.seq;
        } else {
            let mut b = pool.batch().expect("batch");
            for (i, body) in bodies.iter().enumerate() {
                let r = b.append_json(body.as_bytes(), &[]).expect("append");
                line.push_str(&format!("{} {}\n", r.seq, n + i as u64));
                last_seq = r.seq;
            }
            b.finish(Durability::Fast).expect("finish batch");
        }
        if let Some(f) = log.as_mut() {
            f.write_all(line.as_bytes()).expect("log");
        }
        n += k;
        if !pause.is_zero() && n % pause_every < k {
            std::thread::sleep(pause);
        }
    }
    println!("done {n} {last_seq}");
}

/// What `follow` prints when it stops, as one line of JSON.
#[derive(Default)]
struct Summary {
    seen: u64,
    missed: u64,
    drops: u64,
    first_seq: Option<u64>,
    last_seq: Option<u64>,
    bad: u64,
    busy: u64,
    failures: Vec<String>,
    writers: BTreeMap<u64, (u64, u64)>,
    stopped_by: &'static str,
}

impl Summary {
    fn fail(&mut self, what: String) {
        self.bad += 1;
        if self.failures.len() < 20 {
            self.failures.push(what);
        }
    }

    fn print(&self) {
        let writers: serde_json::Map<String, serde_json::Value> = self
            .writers
            .iter()
            .map(|(w, (count, last))| (w.to_string(), serde_json::json!([count, last])))
            .collect();
        let v = serde_json::json!({
            "seen": self.seen,
            "missed": self.missed,
            "drops": self.drops,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "bad": self.bad,
            "busy": self.busy,
            "failures": self.failures,
            "writers": writers,
            "stopped_by": self.stopped_by,
        });
        println!("{v}");
    }
}

fn follow(pool: &Pool, args: &Args) {
    let until = args.num("until-seq").unwrap_or(u64::MAX);
    let sleep = Duration::from_micros(args.num("sleep-us").unwrap_or(0));
    let idle = Duration::from_millis(args.num("idle-ms").unwrap_or(30_000));
    let single = args.flag("single-writer");
    let mut cursor = pool.cursor(Start::Newest).expect("cursor");
    ready();
    let mut s = Summary::default();
    // The seq the next message must carry, once known.
    let mut expect = Some(cursor.position().seq).filter(|&s| s != 0);
    // Per writer: the last counter seen and the drop count at that time.
    let mut last_n: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
    loop {
        if !sleep.is_zero() {
            std::thread::sleep(sleep);
        }
        let event = match cursor.wait(Some(idle)) {
            Ok(Some(e)) => e,
            Ok(None) => {
                s.stopped_by = "idle";
                break;
            }
            Err(e) if e.kind() == plasmite::ErrorKind::Busy => {
                s.busy += 1;
                continue;
            }
            Err(e) => {
                s.fail(format!("read error: {e} ({:?})", e.kind()));
                s.stopped_by = "error";
                break;
            }
        };
        let m = match event {
            Event::Dropped { missed } => {
                if missed == 0 {
                    s.fail("drop of 0 messages reported".into());
                }
                s.missed += missed;
                s.drops += 1;
                expect = expect.map(|e| e + missed);
                continue;
            }
            Event::Message(m) => m,
        };
        if let Some(e) = expect {
            if m.seq != e {
                s.fail(format!("seq {} where {e} was expected", m.seq));
            }
        }
        expect = Some(m.seq + 1);
        s.first_seq.get_or_insert(m.seq);
        s.last_seq = Some(m.seq);
        if m.data == r#"{"stop":true}"# {
            s.stopped_by = "stop message";
            break;
        }
        s.seen += 1;
        match decode(&m.data) {
            Err(e) => s.fail(format!("seq {}: {e}", m.seq)),
            Ok(b) => {
                if single && b.n + 1 != m.seq {
                    s.fail(format!("seq {} carries counter {}", m.seq, b.n));
                }
                if let Some(&(prev, drops)) = last_n.get(&b.w) {
                    let ok = if drops == s.drops {
                        b.n == prev + 1
                    } else {
                        b.n > prev
                    };
                    if !ok {
                        s.fail(format!(
                            "seq {}: writer {} counter {} after {prev}",
                            m.seq, b.w, b.n
                        ));
                    }
                }
                last_n.insert(b.w, (b.n, s.drops));
                let e = s.writers.entry(b.w).or_default();
                e.0 += 1;
                e.1 = b.n;
            }
        }
        if m.seq >= until {
            s.stopped_by = "until-seq";
            break;
        }
    }
    s.print();
}

fn ping(pool: &Pool, args: &Args) {
    let count = args.num("count").expect("--count");
    let interval = Duration::from_millis(args.num("interval-ms").unwrap_or(20));
    for i in 0..count {
        std::thread::sleep(interval);
        let data = format!(r#"{{"ping":{i},"t":{}}}"#, realtime_ns());
        pool.append_json(data.as_bytes(), &[], Durability::Fast)
            .expect("append");
    }
}

fn pong(pool: &Pool, args: &Args) {
    let count = args.num("count").expect("--count");
    let mut cursor = pool.cursor(Start::Newest).expect("cursor");
    ready();
    let mut latencies = Vec::new();
    while (latencies.len() as u64) < count {
        match cursor.wait(Some(Duration::from_secs(10))).expect("wait") {
            Some(Event::Message(m)) => {
                let now = realtime_ns();
                let v: serde_json::Value = serde_json::from_str(&m.data).expect("ping JSON");
                let t = v["t"].as_u64().expect("ping time");
                latencies.push(now.saturating_sub(t));
            }
            Some(Event::Dropped { missed }) => panic!("pong lapped: {missed} missed"),
            None => panic!("no ping within 10 s"),
        }
    }
    println!("{}", serde_json::json!(latencies));
}

fn idle(pool: &Pool, args: &Args) {
    let total = Duration::from_millis(args.num("ms").expect("--ms"));
    let mut cursor = pool.cursor(Start::Newest).expect("cursor");
    ready();
    let cpu = || {
        let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
        t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
    };
    let start = cpu();
    let end = Instant::now() + total;
    let mut got = 0;
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        if cursor.wait(Some(left)).expect("wait").is_some() {
            got += 1;
        }
    }
    println!(
        "{}",
        serde_json::json!({"got": got, "cpu_ns": cpu() - start})
    );
}
