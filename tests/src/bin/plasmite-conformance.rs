//! The Rust runner of the conformance manifests in `spec/conformance/`.
//!
//! Usage: `plasmite-conformance MANIFEST.json [--workdir DIR]`. Exits 0 when
//! every step passes, 1 naming the first failing step, 2 on a bad manifest
//! or bad arguments. The manifest format is specified in
//! `spec/conformance/README.md`; the C, Python, Node and Go runners follow
//! the same rules.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

use plasmite::filter::Filter;
use plasmite::{Durability, Error, Pool, PoolDir, PoolOptions, TailOptions};
use serde_json::{json, Value};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (manifest, workdir) = match args.as_slice() {
        [m] => (PathBuf::from(m), None),
        [m, flag, dir] if flag == "--workdir" => (PathBuf::from(m), Some(PathBuf::from(dir))),
        _ => {
            eprintln!("usage: plasmite-conformance MANIFEST.json [--workdir DIR]");
            return ExitCode::from(2);
        }
    };
    let doc: Value = match std::fs::read(&manifest)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
    {
        Ok(v) => v,
        Err(e) => {
            eprintln!("{}: {e}", manifest.display());
            return ExitCode::from(2);
        }
    };
    if doc["conformance_version"] != json!(0) {
        eprintln!("{}: unsupported conformance_version", manifest.display());
        return ExitCode::from(2);
    }
    let name = doc["name"].as_str().unwrap_or("manifest");
    let workdir = workdir.unwrap_or_else(|| {
        manifest
            .parent()
            .unwrap_or(Path::new("."))
            .join(format!("work-{name}"))
    });
    if doc["fresh_workdir"].as_bool().unwrap_or(true) {
        if let Err(e) = fresh_dir(&workdir) {
            eprintln!("{}: cannot prepare workdir: {e}", workdir.display());
            return ExitCode::from(2);
        }
    }
    let runner = Runner {
        dir: PoolDir::new(&workdir),
        workdir,
    };
    let steps = doc["steps"].as_array().cloned().unwrap_or_default();
    for (i, step) in steps.iter().enumerate() {
        let id = step["id"].as_str().unwrap_or("?");
        if let Err(why) = runner.step(step) {
            eprintln!("{name}: step {i} ({id}) failed: {why}");
            return ExitCode::from(1);
        }
    }
    println!("{name}: {} steps passed", steps.len());
    ExitCode::SUCCESS
}

/// Deletes and recreates `dir`, first lifting any immutable attribute a
/// `deny_write` step left behind (root cannot delete such files otherwise).
fn fresh_dir(dir: &Path) -> std::io::Result<()> {
    if dir.exists() {
        let _ = Command::new("chattr")
            .arg("-R")
            .arg("-i")
            .arg(dir)
            .stderr(std::process::Stdio::null())
            .status();
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::create_dir_all(dir)
}

struct Runner {
    dir: PoolDir,
    workdir: PathBuf,
}

type Outcome = Result<Value, Error>;

impl Runner {
    fn step(&self, step: &Value) -> Result<(), String> {
        let input = &step["input"];
        let expect = &step["expect"];
        let op = step["op"].as_str().unwrap_or("");
        let outcome = match op {
            "create_pool" => self.create(input),
            "append" => self.append(input),
            "get" => self.get(input),
            "tail" => self.tail(input),
            "list_pools" => self.list(),
            "pool_info" => self.info(input),
            "delete_pool" => self.dir.delete(&self.pool_ref(input)).map(|()| json!({})),
            "list_readers" => self.readers(input),
            "delete_reader" => self
                .open(input)
                .and_then(|p| p.delete_reader(input["name"].as_str().unwrap_or("")))
                .map(|()| json!({})),
            "spawn_poke" => return self.spawn_poke(input),
            "corrupt_pool_header" => return self.corrupt(input),
            "deny_write" => return self.deny_write(input),
            other => return Err(format!("unknown op {other:?}")),
        };
        match (outcome, expect.get("error")) {
            (Err(e), Some(want)) => check_error(&e, want),
            (Err(e), None) => Err(format!("unexpected error: {e}")),
            (Ok(got), Some(want)) => Err(format!("expected error {want}, got success {got}")),
            (Ok(got), None) => check_value(op, &got, expect),
        }
    }

    /// A pool value with `/` is a path under the working directory.
    fn pool_ref(&self, input: &Value) -> String {
        let pool = input["pool"].as_str().unwrap_or("");
        if pool.contains('/') {
            self.workdir.join(pool).to_string_lossy().into_owned()
        } else {
            pool.to_owned()
        }
    }

    fn open(&self, input: &Value) -> Result<Pool, Error> {
        self.dir.open(&self.pool_ref(input))
    }

    fn create(&self, input: &Value) -> Outcome {
        let size = input["size_bytes"].as_u64().unwrap_or(1 << 20);
        self.dir
            .create(&self.pool_ref(input), &PoolOptions::with_size(size))
            .map(|_| json!({}))
    }

    fn append(&self, input: &Value) -> Outcome {
        let pool = self.open(input)?;
        let tags = strings(&input["tags"]);
        let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
        let mut seq = 0;
        for _ in 0..input["repeat"].as_u64().unwrap_or(1) {
            seq = pool.append(&input["data"], &tags, Durability::Fast)?.seq;
        }
        Ok(json!({ "seq": seq }))
    }

    fn get(&self, input: &Value) -> Outcome {
        let pool = self.open(input)?;
        let m = pool.get(input["seq"].as_u64().unwrap_or(0))?;
        Ok(message_value(m.seq, &m.data, &m.tags))
    }

    fn tail(&self, input: &Value) -> Outcome {
        let pool = self.open(input)?;
        let timeout = input["timeout_ms"].as_u64().unwrap_or(1000);
        let mut opts = TailOptions::default()
            .tags(strings(&input["tags"]))
            .max(input["max"].as_u64().unwrap_or(u64::MAX))
            .idle_timeout(Duration::from_millis(timeout));
        if let Some(s) = input["since_seq"].as_u64() {
            opts = opts.since_seq(s);
        }
        if let Some(n) = input["last"].as_u64() {
            opts = opts.last(n);
        }
        let manual_ack = input["manual_ack"].as_bool().unwrap_or(false);
        if let Some(name) = input["name"].as_str() {
            opts = opts.name(name).auto_ack(!manual_ack);
        }
        let ack_after = input["ack_after"].as_u64();
        let wheres = strings(&input["where"]);
        let filter = Filter::compile(&wheres)
            .map_err(|e| Error::new(plasmite::ErrorKind::Usage, e.to_string()))?;
        let mut tail = pool.tail(opts.filter(filter))?;
        let mut out = Vec::new();
        while let Some(m) = tail.next()? {
            out.push(message_value(m.seq, &m.data, &m.tags));
            if ack_after == Some(out.len() as u64) {
                tail.ack();
            }
        }
        Ok(json!({ "messages": out, "dropped": tail.dropped() }))
    }

    fn readers(&self, input: &Value) -> Outcome {
        let readers: Vec<Value> = self
            .open(input)?
            .readers()
            .into_iter()
            .map(|r| json!({ "name": r.name, "next_seq": r.next_seq }))
            .collect();
        Ok(json!({ "readers": readers }))
    }

    fn list(&self) -> Outcome {
        let names = self
            .dir
            .list()?
            .into_iter()
            .map(|e| json!(e.name))
            .collect();
        Ok(json!({ "names": Value::Array(names) }))
    }

    fn info(&self, input: &Value) -> Outcome {
        let info = self.open(input)?.info()?;
        Ok(json!({
            "file_size": info.file_size,
            "oldest": info.oldest.map(|(s, _)| s),
            "newest": info.newest.map(|(s, _)| s),
        }))
    }

    fn spawn_poke(&self, input: &Value) -> Result<(), String> {
        let bin = std::env::var("PLASMITE_BIN").unwrap_or_else(|_| "pls".to_owned());
        let pool = self.pool_ref(input);
        let mut children = Vec::new();
        for m in input["messages"].as_array().into_iter().flatten() {
            let mut cmd = Command::new(&bin);
            cmd.arg("--dir")
                .arg(&self.workdir)
                .arg("poke")
                .arg(&pool)
                .arg(m["data"].to_string());
            for t in strings(&m["tags"]) {
                cmd.arg("--tag").arg(t);
            }
            let child = cmd
                .stdout(std::process::Stdio::null())
                .spawn()
                .map_err(|e| format!("cannot run {bin}: {e}"))?;
            children.push(child);
        }
        for mut c in children {
            let status = c.wait().map_err(|e| e.to_string())?;
            if !status.success() {
                return Err(format!("{bin} poke exited with {status}"));
            }
        }
        Ok(())
    }

    fn corrupt(&self, input: &Value) -> Result<(), String> {
        use std::io::{Seek, SeekFrom, Write};
        let path = self.dir.resolve(&self.pool_ref(input));
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        f.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
        f.write_all(&[0xA5; 64]).map_err(|e| e.to_string())
    }

    fn deny_write(&self, input: &Value) -> Result<(), String> {
        use std::os::unix::fs::PermissionsExt;
        let path = self.dir.resolve(&self.pool_ref(input));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        // Root ignores mode bits: if the file still opens for writing, make
        // it immutable, which binds root too.
        let still_writable = std::fs::OpenOptions::new().write(true).open(&path).is_ok();
        if still_writable {
            let ok = Command::new("chattr")
                .arg("+i")
                .arg(&path)
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                return Err("mode 0444 does not stop this user and `chattr +i` failed".to_owned());
            }
        }
        Ok(())
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t.as_str().map(str::to_owned))
        .collect()
}

fn message_value(seq: u64, data: &str, tags: &[String]) -> Value {
    let data: Value = serde_json::from_str(data).unwrap_or(Value::Null);
    json!({ "seq": seq, "data": data, "tags": tags })
}

fn check_error(e: &Error, want: &Value) -> Result<(), String> {
    let kind = e.kind().as_str();
    if want["kind"].as_str() != Some(kind) {
        return Err(format!(
            "expected error kind {}, got {kind}: {e}",
            want["kind"]
        ));
    }
    if let Some(s) = want["message_contains"].as_str() {
        if !e.message().contains(s) {
            return Err(format!("error message {:?} lacks {s:?}", e.message()));
        }
    }
    for (key, has) in [
        ("has_path", e.path().is_some()),
        ("has_seq", e.seq().is_some()),
    ] {
        if let Some(want) = want[key].as_bool() {
            if want != has {
                return Err(format!("{key}: expected {want}, got {has} ({e:?})"));
            }
        }
    }
    Ok(())
}

fn check_value(op: &str, got: &Value, expect: &Value) -> Result<(), String> {
    let mismatch = |key: &str, want: &Value, got: &Value| {
        Err(format!("{op}: {key} expected {want}, got {got}"))
    };
    if op == "tail" {
        if let Some(min) = expect["dropped_min"].as_u64() {
            if got["dropped"].as_u64().unwrap_or(0) < min {
                return mismatch("dropped (at least)", &json!(min), &got["dropped"]);
            }
        }
        let got = got["messages"].as_array().cloned().unwrap_or_default();
        let seqs: Vec<u64> = got.iter().filter_map(|m| m["seq"].as_u64()).collect();
        if seqs.windows(2).any(|w| w[0] >= w[1]) {
            return Err(format!("tail: seqs not strictly rising: {seqs:?}"));
        }
        if let Some(want) = expect["messages"].as_array() {
            if want.len() != got.len() {
                return mismatch("message count", &json!(want.len()), &json!(got.len()));
            }
            for (w, g) in want.iter().zip(&got) {
                check_message(w, g)?;
            }
        } else if let Some(want) = expect["count"].as_u64() {
            if want != got.len() as u64 {
                return mismatch("message count", &json!(want), &json!(got.len()));
            }
        } else if let Some(want) = expect["messages_unordered"].as_array() {
            if want.len() != got.len() {
                return mismatch("message count", &json!(want.len()), &json!(got.len()));
            }
            for w in want {
                if !got.iter().any(|g| check_message(w, g).is_ok()) {
                    return Err(format!("tail: no message matches {w}"));
                }
            }
        }
        return Ok(());
    }
    if op == "get" {
        return check_message(expect, got);
    }
    for key in ["seq", "file_size", "oldest", "newest"] {
        if let Some(want) = expect.get(key) {
            if &got[key] != want {
                return mismatch(key, want, &got[key]);
            }
        }
    }
    if let Some(want) = expect.get("readers") {
        let mut have = got["readers"].as_array().cloned().unwrap_or_default();
        have.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
        if &Value::Array(have.clone()) != want {
            return mismatch("readers", want, &Value::Array(have));
        }
    }
    if let Some(want) = expect["names"].as_array() {
        let mut want: Vec<&str> = want.iter().filter_map(Value::as_str).collect();
        want.sort_unstable();
        let mut have: Vec<&str> = got["names"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        have.sort_unstable();
        if want != have {
            return Err(format!("names: expected {want:?}, got {have:?}"));
        }
    }
    Ok(())
}

/// Compares the keys an expectation gives (`seq`, `data`, `tags`) with a
/// message; JSON values compare as values, so `1.5e3` equals `1500`.
fn check_message(want: &Value, got: &Value) -> Result<(), String> {
    if let Some(seq) = want.get("seq") {
        if seq != &got["seq"] {
            return Err(format!("seq: expected {seq}, got {}", got["seq"]));
        }
    }
    if let Some(data) = want.get("data") {
        if !json_eq(data, &got["data"]) {
            return Err(format!("data: expected {data}, got {}", got["data"]));
        }
    }
    if let Some(tags) = want.get("tags") {
        if tags != &got["tags"] {
            return Err(format!("tags: expected {tags}, got {}", got["tags"]));
        }
    }
    Ok(())
}

/// Equality of JSON values with numbers compared by value.
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}
