//! `pls pool create|list|info|delete`, `doctor`, `version`, `completion`,
//! help, the global options and the environment, run as a user would.

#[path = "common/cli.rs"]
mod cli;

use std::fs;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use cli::{check_time, hint, plasmite_bin, pls, Sandbox};
use serde_json::{json, Value};

fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect()
}

/// Checks a `pool info --json` object (also a `pool create --json` entry).
fn check_info(i: &Value, name: &str, file_size: u64, count: u64) {
    assert_eq!(
        keys(i),
        [
            "bounds",
            "file_size",
            "index_capacity",
            "index_offset",
            "index_size_bytes",
            "metrics",
            "name",
            "path",
            "readers",
            "ring_offset",
            "ring_size"
        ],
        "{i}"
    );
    assert_eq!(i["name"], name);
    assert!(
        i["path"]
            .as_str()
            .unwrap()
            .ends_with(&format!("{name}.plasmite")),
        "{i}"
    );
    assert!(Path::new(i["path"].as_str().unwrap()).is_absolute(), "{i}");
    assert_eq!(i["file_size"], file_size);
    let u = |k: &str| i[k].as_u64().unwrap_or_else(|| panic!("{k} in {i}"));
    assert_eq!(u("index_size_bytes"), u("index_capacity") * 16);
    assert!(
        u("index_offset") + u("index_size_bytes") <= u("ring_offset"),
        "{i}"
    );
    assert!(u("ring_offset") + u("ring_size") <= file_size, "{i}");
    let m = &i["metrics"];
    assert_eq!(m["message_count"], count);
    assert_eq!(m["seq_span"], count);
    let used = m["utilization"]["used_bytes"].as_u64().unwrap();
    let free = m["utilization"]["free_bytes"].as_u64().unwrap();
    assert_eq!(used + free, u("ring_size"));
    let pct = m["utilization"]["used_percent"].as_f64().unwrap();
    let want = (used * 10000 / u("ring_size")) as f64 / 100.0;
    assert!((pct - want).abs() < 1e-9, "used_percent {pct}, want {want}");
    let age = &m["age"];
    if count == 0 {
        assert_eq!(i["bounds"], json!({}), "empty bounds are {{}}, never null");
        assert_eq!(used, 0);
        for k in [
            "oldest_time",
            "newest_time",
            "oldest_age_ms",
            "newest_age_ms",
        ] {
            assert_eq!(age[k], Value::Null, "{k}");
        }
    } else {
        assert!(used > 0);
        check_time(&age["oldest_time"]);
        check_time(&age["newest_time"]);
        assert!(age["oldest_age_ms"].is_u64() && age["newest_age_ms"].is_u64());
    }
}

#[test]
fn pool_create_and_info() {
    let sb = Sandbox::new("pool-create");
    // The pool directory is created on demand.
    assert!(!sb.pools().exists());
    let out = sb.run(&["pool", "create", "a", "b", "--json"]).ok();
    let v = out.json();
    assert_eq!(keys(&v), ["created"]);
    let created = v["created"].as_array().unwrap();
    assert_eq!(created.len(), 2);
    check_info(&created[0], "a", 1 << 20, 0);
    check_info(&created[1], "b", 1 << 20, 0);
    assert_eq!(fs::metadata(sb.pool_file("a")).unwrap().len(), 1 << 20);

    // The table.
    let out = sb.run(&["pool", "create", "c", "--size", "64K"]).ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(header, ["NAME", "SIZE", "INDEX", "PATH"]);
    let row: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(row[0], "c");
    assert_eq!(row[1], "65536");
    assert!(row[3].ends_with("c.plasmite"));
    assert_eq!(lines.len(), 2);

    // Sizes: K/M/G.
    for (size, bytes) in [
        ("8K", 8192u64),
        ("8M", 8 << 20),
        ("1G", 1 << 30),
        ("12288", 12288),
    ] {
        let name = format!("s{bytes}");
        let v = sb
            .run(&["pool", "create", &name, "--size", size, "--json"])
            .ok()
            .json();
        check_info(&v["created"][0], &name, bytes, 0);
    }

    // info, with messages.
    sb.run_in(&["poke", "a"], "{\"x\":1}\n{\"x\":2}\n{\"x\":3}\n")
        .ok();
    let i = sb.info("a");
    check_info(&i, "a", 1 << 20, 3);
    assert_eq!(i["bounds"], json!({"oldest": 1, "newest": 3}));
    let out = sb.run(&["pool", "info", "a"]).ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    let starts = [
        "Pool: a",
        "Path: ",
        "Size: 1048576 bytes",
        "Bounds: oldest=1 newest=3 count=3",
        "Utilization: used=",
        "Oldest: ",
        "Newest: ",
    ];
    assert_eq!(lines.len(), starts.len(), "{}", out.stdout);
    for (l, s) in lines.iter().zip(starts) {
        assert!(l.starts_with(s), "{l:?} should start with {s:?}");
    }
    let out = sb.run(&["pool", "info", "b"]).ok();
    assert!(
        out.stdout.contains("Bounds: oldest=- newest=- count=0"),
        "{}",
        out.stdout
    );

    // A pool at an explicit path (contains `/`).
    let v = sb
        .run(&["pool", "create", "./elsewhere.plasmite", "--json"])
        .ok()
        .json();
    assert_eq!(v["created"][0]["file_size"], 1 << 20);
    assert!(sb.path("elsewhere.plasmite").is_file());
    sb.run(&["poke", "./elsewhere.plasmite", r#"{"here": true}"#])
        .ok();
    assert_eq!(
        sb.run(&["get", "./elsewhere.plasmite", "1"]).ok().json()["data"],
        json!({"here": true})
    );
}

#[test]
fn pool_create_refusals() {
    let sb = Sandbox::new("pool-create-bad");
    sb.run(&["pool", "create", "a"]).ok();
    let before = fs::read(sb.pool_file("a")).unwrap();
    let e = sb.run(&["pool", "create", "a"]).fails("AlreadyExists");
    assert!(e["path"].as_str().unwrap().ends_with("a.plasmite"));
    assert!(!hint(&e).is_empty());
    assert_eq!(
        fs::read(sb.pool_file("a")).unwrap(),
        before,
        "existing pool untouched"
    );
    // --json changes nothing about errors.
    sb.run(&["pool", "create", "a", "--json"])
        .fails("AlreadyExists");

    // Bad sizes and index capacities: usage errors that leave no file.
    for args in [
        &["--size", "1.5M"][..],
        &["--size", "12Q"],
        &["--size", "M"],
        &["--size", "100"],
        &["--size", "99999999999999999999"],
        &["--size", "64K", "--index-capacity", "3000"],
        &["--size", "64K", "--index-capacity", "-1"],
        &["--size", "64K", "--index-capacity", "x"],
    ] {
        let mut a = vec!["pool", "create", "z"];
        a.extend_from_slice(args);
        let e = sb.run(&a).fails("Usage");
        assert!(!hint(&e).is_empty(), "{args:?}: {e:?}");
        assert!(!sb.pool_file("z").exists(), "{args:?} left a file behind");
    }
    sb.run(&["pool", "create"]).fails("Usage");

    // A scan-only pool (no index) still finds messages by seq.
    sb.run(&[
        "pool",
        "create",
        "noidx",
        "--size",
        "64K",
        "--index-capacity",
        "0",
    ])
    .ok();
    assert_eq!(sb.info("noidx")["index_capacity"], 0);
    sb.run_in(&["poke", "noidx"], cli::id_lines(1, 50)).ok();
    assert_eq!(
        sb.run(&["get", "noidx", "37"]).ok().json()["data"],
        json!({"id": 37})
    );
}

#[test]
fn pool_list() {
    let sb = Sandbox::new("pool-list");
    // No pool directory yet: an empty list.
    let v = sb.run(&["pool", "list", "--json"]).ok().json();
    assert_eq!(v, json!({"pools": []}));
    let out = sb.run(&["pool", "list"]).ok();
    assert!(out.stdout.starts_with("NAME"), "{}", out.stdout);

    sb.run(&["pool", "create", "zeta", "alpha"]).ok();
    sb.run(&["poke", "alpha", r#"{"a":1}"#]).ok();
    fs::write(sb.pools().join("broken.plasmite"), b"garbage").unwrap();
    fs::write(sb.pools().join("notes.txt"), b"not a pool").unwrap();
    let v = sb.run(&["pool", "list", "--json"]).ok().json();
    let pools = v["pools"].as_array().unwrap();
    let names: Vec<&str> = pools.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["alpha", "broken", "zeta"],
        "sorted by name, .plasmite only"
    );
    assert_eq!(
        keys(&pools[0]),
        ["bounds", "file_size", "mtime", "name", "path"]
    );
    assert_eq!(pools[0]["bounds"], json!({"oldest": 1, "newest": 1}));
    assert_eq!(pools[0]["file_size"], 1 << 20);
    check_time(&pools[0]["mtime"]);
    assert!(pools[0]["path"]
        .as_str()
        .unwrap()
        .ends_with("alpha.plasmite"));
    assert_eq!(pools[2]["bounds"], json!({}));
    // The corrupt file is listed with an error instead of failing the list.
    let err = &pools[1]["error"];
    let kind = err.get("kind").or_else(|| err["error"].get("kind"));
    assert_eq!(kind, Some(&json!("Corrupt")), "{}", pools[1]);

    let out = sb.run(&["pool", "list"]).ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(
        header,
        ["NAME", "STATUS", "SIZE", "OLDEST", "NEWEST", "MTIME", "PATH", "DETAIL"]
    );
    assert_eq!(lines.len(), 4);
    assert!(
        lines[1].starts_with("alpha") && lines[1].contains(" OK "),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with("broken") && lines[2].contains(" ERR "),
        "{}",
        lines[2]
    );
}

#[test]
fn pool_delete() {
    let sb = Sandbox::new("pool-delete");
    sb.run(&["pool", "create", "a", "b", "c", "d"]).ok();
    let v = sb.run(&["pool", "delete", "a", "b", "--json"]).ok().json();
    assert_eq!(keys(&v), ["deleted", "failed"]);
    assert_eq!(v["failed"], json!([]));
    let d = v["deleted"].as_array().unwrap();
    assert_eq!(d.len(), 2);
    assert_eq!(d[0]["pool"], "a");
    assert!(d[0]["path"].as_str().unwrap().ends_with("a.plasmite"));
    assert!(!sb.pool_file("a").exists() && !sb.pool_file("b").exists());

    // Best effort: every name is tried; the exit code is the first failure's;
    // failures are reported on stdout, nothing on stderr.
    let out = sb.run(&["pool", "delete", "c", "nope", "http://h:9700/x", "--json"]);
    assert_eq!(out.code(), 3, "{out:?}");
    assert_eq!(out.stderr, "");
    let v = out.json();
    assert_eq!(v["deleted"].as_array().unwrap().len(), 1);
    let failed = v["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 2);
    assert_eq!(failed[0]["pool"], "nope");
    assert_eq!(failed[0]["error"]["kind"], "NotFound");
    assert!(failed[0]["error"]["message"].is_string());
    assert_eq!(failed[1]["error"]["kind"], "Usage");
    assert!(!sb.pool_file("c").exists());

    let out = sb.run(&["pool", "delete", "http://h:9700/x", "d"]);
    assert_eq!(out.code(), 2);
    assert!(!sb.pool_file("d").exists());

    // The table.
    sb.run(&["pool", "create", "e"]).ok();
    let out = sb.run(&["pool", "delete", "e", "nope"]);
    assert_eq!(out.code(), 3);
    let lines: Vec<&str> = out.stdout.lines().collect();
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(header, ["NAME", "STATUS", "PATH", "DETAIL"]);
    assert!(lines[1].starts_with("e ") && lines[1].contains("OK"));
    assert!(lines[2].starts_with("nope ") && lines[2].contains("ERR"));
    sb.run(&["pool", "delete"]).fails("Usage");
}

/// Flips `n` bytes at `offset` of a file.
fn flip(path: &Path, offset: u64, n: usize) {
    let mut bytes = vec![0u8; n];
    let mut f = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    f.seek(SeekFrom::Start(offset)).unwrap();
    std::io::Read::read_exact(&mut f, &mut bytes).unwrap();
    for b in &mut bytes {
        *b ^= 0xA5;
    }
    f.seek(SeekFrom::Start(offset)).unwrap();
    f.write_all(&bytes).unwrap();
}

/// A pool `name` of 20 messages of about 100 bytes, whose ring has 16 bytes
/// flipped in the middle of the written part.
fn damaged_pool(sb: &Sandbox, name: &str) {
    sb.run(&["pool", "create", name]).ok();
    let lines: String = (0..20)
        .map(|i| format!("{{\"i\":{i},\"pad\":\"{}\"}}\n", "p".repeat(80)))
        .collect();
    sb.run_in(&["poke", name], lines).ok();
    let i = sb.info(name);
    let ring = i["ring_offset"].as_u64().unwrap();
    let used = i["metrics"]["utilization"]["used_bytes"].as_u64().unwrap();
    flip(&sb.pool_file(name), ring + used / 2, 16);
}

#[test]
fn doctor() {
    let sb = Sandbox::new("doctor");
    sb.run(&["pool", "create", "good", "empty"]).ok();
    sb.run_in(&["poke", "good"], cli::id_lines(1, 10)).ok();

    let v = sb.run(&["doctor", "good", "--json"]).ok().json();
    let r = &v["reports"][0];
    assert_eq!(v["reports"].as_array().unwrap().len(), 1);
    assert_eq!(r["status"], "ok");
    assert_eq!(r["pool_ref"], "good");
    assert_eq!(r["issue_count"], 0);
    assert_eq!(r["issues"], json!([]));
    assert_eq!(r["last_good_seq"], 10);
    assert!(r["path"].as_str().unwrap().ends_with("good.plasmite"));
    let v = sb.run(&["doctor", "empty", "--json"]).ok().json();
    assert_eq!(v["reports"][0]["last_good_seq"], Value::Null);
    let out = sb.run(&["doctor", "good"]).ok();
    assert!(out.stdout.starts_with("OK: good"), "{}", out.stdout);

    // Flipped bytes in the ring: corrupt, exit 7, the report says where.
    damaged_pool(&sb, "bad");
    let out = sb.run(&["doctor", "bad", "--json"]);
    assert_eq!(out.code(), 7, "{out:?}");
    assert_eq!(out.stderr, "");
    let r = &out.json()["reports"][0];
    assert_eq!(r["status"], "corrupt");
    assert!(r["issue_count"].as_u64().unwrap() >= 1);
    let issue = &r["issues"][0];
    assert!(
        issue["code"].is_string() && issue["message"].is_string(),
        "{issue}"
    );
    assert!(r["last_good_seq"].as_u64().is_some_and(|s| s < 20), "{r}");
    assert!(!r["remediation_hints"].as_array().unwrap().is_empty());
    let out = sb.run(&["doctor", "bad"]);
    assert_eq!(out.code(), 7);
    assert!(out.stdout.starts_with("CORRUPT: bad"), "{}", out.stdout);
    // Readers skip the damaged message and keep the rest.
    let out = sb.run(&[
        "peek",
        "bad",
        "--tail",
        "100",
        "--jsonl",
        "--timeout",
        "50ms",
    ]);
    assert_eq!(out.code(), 124);
    let n = out.stdout.lines().count();
    assert!((17..20).contains(&n), "{n} of 20 messages readable");

    // A file of garbage: a corrupt report, not a command failure.
    fs::write(sb.pools().join("junk.plasmite"), vec![0x5Au8; 8192]).unwrap();
    let out = sb.run(&["doctor", "junk", "--json"]);
    assert_eq!(out.code(), 7);
    assert_eq!(out.json()["reports"][0]["status"], "corrupt");

    // --all: every pool, labelled by path; 7 if any is corrupt.
    let out = sb.run(&["doctor", "--all", "--json"]);
    assert_eq!(out.code(), 7);
    let reports = out.json()["reports"].as_array().unwrap().clone();
    assert_eq!(reports.len(), 4);
    let mut status: Vec<(String, String)> = reports
        .iter()
        .map(|r| {
            let label = r["pool_ref"].as_str().unwrap();
            let file = Path::new(label)
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .to_string();
            assert!(label.contains('/'), "--all labels with the path: {label}");
            (file, r["status"].as_str().unwrap().to_string())
        })
        .collect();
    status.sort();
    assert_eq!(
        status,
        [
            ("bad.plasmite".into(), "corrupt".into()),
            ("empty.plasmite".into(), "ok".into()),
            ("good.plasmite".into(), "ok".into()),
            ("junk.plasmite".into(), "corrupt".into()),
        ]
    );
    sb.run(&["pool", "delete", "bad", "junk"]).ok();
    sb.run(&["doctor", "--all"]).ok();

    // Usage and missing pools.
    sb.run(&["doctor"]).fails("Usage");
    sb.run(&["doctor", "good", "--all"]).fails("Usage");
    sb.run(&["doctor", "nope"]).fails("NotFound");
    sb.run(&["--dir", "missing-dir", "doctor", "--all"])
        .fails("NotFound");
}

/// Contract §1.9: on a non-terminal stderr every notice is one JSON line.
#[test]
fn damaged_message_notice_is_json() {
    let sb = Sandbox::new("damaged-notice");
    damaged_pool(&sb, "bad");
    let out = sb.run(&[
        "peek",
        "bad",
        "--tail",
        "100",
        "--jsonl",
        "--timeout",
        "50ms",
    ]);
    assert_eq!(out.code(), 124);
    assert!(!out.stderr.is_empty());
    for n in out.stderr_jsonl() {
        assert!(n["notice"]["kind"].is_string(), "{n}");
    }
}

#[test]
fn version_and_help() {
    let sb = Sandbox::new("version");
    let v = sb.run(&["version"]).ok().json();
    assert_eq!(keys(&v), ["name", "version"]);
    assert_eq!(v["name"], "plasmite");
    let version = v["version"].as_str().unwrap().to_string();
    assert_eq!(version.split('.').count(), 3, "{version}");
    let line = format!("plasmite {version}\n");
    assert_eq!(sb.run(&["--version"]).ok().stdout, line);
    assert_eq!(sb.run(&["-V"]).ok().stdout, line);
    sb.run(&["version", "extra"]).fails("Usage");

    // Help: no arguments, --help, -h and `help` all print the same page.
    let page = sb.run(&["--help"]).ok().stdout;
    for args in [&[][..], &["-h"], &["help"]] {
        assert_eq!(sb.run(args).ok().stdout, page, "{args:?}");
    }
    for cmd in [
        "pool",
        "poke",
        "peek",
        "get",
        "doctor",
        "version",
        "completion",
    ] {
        assert!(page.contains(cmd), "root help lacks {cmd}");
    }
    assert!(page.contains("--dir") && page.contains("--color"));

    // Per-command help lists every flag of the command.
    let per_cmd: &[(&[&str], &[&str])] = &[
        (
            &["poke"],
            &[
                "--tag",
                "--file",
                "-f",
                "--in",
                "--errors",
                "--durability",
                "--create",
                "--create-size",
                "--retry",
                "--retry-delay",
            ],
        ),
        (
            &["peek"],
            &[
                "--tail",
                "-n",
                "--since",
                "--tag",
                "--where",
                "--one",
                "--timeout",
                "--format",
                "--jsonl",
                "--data-only",
                "--quiet-drops",
                "--replay",
                "--create",
                "--no-notify",
            ],
        ),
        (&["get"], &["POOL", "SEQ"]),
        (
            &["pool", "create"],
            &["--size", "--index-capacity", "--json"],
        ),
        (&["pool", "list"], &["--json"]),
        (&["pool", "info"], &["--json"]),
        (&["pool", "delete"], &["--json"]),
        (&["doctor"], &["--all", "--json"]),
        (&["completion"], &["bash", "zsh", "fish"]),
    ];
    for (cmd, flags) in per_cmd {
        let mut a = cmd.to_vec();
        a.push("--help");
        let text = sb.run(&a).ok().stdout;
        let mut b = vec!["help"];
        b.extend_from_slice(cmd);
        assert_eq!(sb.run(&b).ok().stdout, text, "help {cmd:?}");
        assert_ne!(text, page, "{cmd:?} help is the root page");
        for f in *flags {
            assert!(
                text.contains(f),
                "`{} --help` does not mention {f}",
                cmd.join(" ")
            );
        }
    }
    sb.run(&["help", "nosuch"]).fails("Usage");
    let e = sb.run(&["nosuch"]).fails("Usage");
    assert!(hint(&e).contains("help"), "{e:?}");
    let e = sb.run(&["peek", "p", "--bogus"]).fails("Usage");
    assert!(hint(&e).contains("--help"), "{e:?}");
}

#[test]
fn completion_scripts_work_in_their_shells() {
    let sb = Sandbox::new("completion");
    sb.run(&["pool", "create", "chat", "builds"]).ok();
    let bash = sb.run(&["completion", "bash"]).ok().stdout;
    let zsh = sb.run(&["completion", "zsh"]).ok().stdout;
    let fish = sb.run(&["completion", "fish"]).ok().stdout;
    assert!(zsh.contains("#compdef"));
    for (shell, script) in [("bash", &bash), ("zsh", &zsh), ("fish", &fish)] {
        for w in ["pool", "poke", "peek"] {
            assert!(script.contains(w), "{shell} script lacks {w}");
        }
    }
    sb.run(&["completion", "elvish"]).fails("Usage");
    sb.run(&["completion"]).fails("Usage");

    fs::write(sb.path("c.bash"), &bash).unwrap();
    fs::write(sb.path("c.zsh"), &zsh).unwrap();
    fs::write(sb.path("c.fish"), &fish).unwrap();
    let have = |shell: &str| sb.sh(&format!("command -v {shell}")).code() == 0;

    if have("bash") {
        let complete = |words: &str| -> String {
            let script = format!(
                "source ./c.bash; COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}}-1)); \
                 COMP_LINE=\"${{COMP_WORDS[*]}}\"; COMP_POINT=${{#COMP_LINE}}; _plasmite; printf '%s\\n' \"${{COMPREPLY[@]}}\""
            );
            let mut c = sb.command("bash");
            c.arg("-c").arg(script);
            cli::run(c, None, cli::LIMIT).ok().stdout
        };
        assert!(complete("pls ''").contains("peek\n"));
        assert_eq!(complete("pls pe"), "peek\n");
        assert!(complete("pls po").contains("poke\n"));
        assert_eq!(complete("pls peek ch"), "chat\n", "pool names complete");
        assert!(complete("pls peek chat --ta").contains("--tail"));
    } else {
        eprintln!("bash not installed: skipping the bash completion check");
    }
    if have("zsh") {
        let mut c = sb.command("zsh");
        c.args(["-n", "c.zsh"]);
        cli::run(c, None, cli::LIMIT).ok();
    } else {
        eprintln!("zsh not installed: skipping the zsh syntax check");
    }
    if have("fish") {
        let mut c = sb.command("fish");
        c.args([
            "--no-config",
            "-c",
            "source c.fish; complete -C 'pls pe'; complete -C 'plasmite peek ch'",
        ]);
        let out = cli::run(c, None, cli::LIMIT).ok();
        let firsts: Vec<&str> = out
            .stdout
            .lines()
            .map(|l| l.split('\t').next().unwrap())
            .collect();
        assert!(firsts.contains(&"peek"), "{}", out.stdout);
        assert!(firsts.contains(&"chat"), "{}", out.stdout);
    } else {
        eprintln!("fish not installed: skipping the fish completion check");
    }
}

#[test]
fn global_options_before_or_after_the_command_and_environment() {
    let sb = Sandbox::new("globals");
    let other = sb.path("other");
    let other_s = other.to_str().unwrap();

    // --dir before or after the command; it overrides PLASMITE_DIR.
    sb.run(&["--dir", other_s, "poke", "x", "--create", r#"{"a":1}"#])
        .ok();
    sb.run(&["poke", "x", r#"{"a":2}"#, "--dir", other_s]).ok();
    sb.run(&["poke", "--dir", other_s, "x", r#"{"a":3}"#]).ok();
    assert!(other.join("x.plasmite").is_file());
    assert!(!sb.pool_file("x").exists());
    let out = sb.run(&[
        "peek",
        "x",
        "--tail",
        "5",
        "--timeout",
        "50ms",
        "--dir",
        other_s,
    ]);
    assert_eq!(out.timed_out().jsonl().len(), 3);
    sb.run(
        &["--dir=".to_string() + other_s]
            .iter()
            .map(String::as_str)
            .chain(["get", "x", "3"])
            .collect::<Vec<_>>(),
    )
    .ok();
    // Without --dir, PLASMITE_DIR.
    sb.run(&["get", "x", "1"]).fails("NotFound");
    sb.run(&["poke", "y", "--create", r#"{"a":1}"#]).ok();
    assert!(sb.pool_file("y").is_file());

    // Without PLASMITE_DIR, ~/.plasmite/pools under HOME.
    let mut c = sb.cmd(&["poke", "z", "--create", r#"{"a":1}"#]);
    c.env_remove("PLASMITE_DIR");
    cli::run(c, None, cli::LIMIT).ok();
    assert!(sb.path(".plasmite/pools/z.plasmite").is_file());
    let mut c = sb.cmd(&["pool", "list", "--json"]);
    c.env_remove("PLASMITE_DIR");
    let v = cli::run(c, None, cli::LIMIT).ok().json();
    assert_eq!(v["pools"][0]["name"], "z");

    // --color before or after; always pretty-prints documents even in a pipe.
    let plain = sb.run(&["get", "y", "1"]).ok().stdout;
    assert_eq!(plain.lines().count(), 1);
    for args in [
        &["--color", "always", "get", "y", "1"][..],
        &["get", "y", "1", "--color", "always"],
    ] {
        let out = sb.run(args).ok().stdout;
        assert!(
            out.contains('\x1b') && out.lines().count() > 1,
            "{args:?}: {out:?}"
        );
    }
    let out = sb.run(&["get", "y", "1", "--color", "never"]).ok().stdout;
    assert_eq!(out, plain);
    sb.run(&["--color", "sometimes", "version"]).fails("Usage");
    sb.run(&["version", "--dir"]).fails("Usage");

    // `plasmite` is the same program, and says its own name in hints.
    let mut c = sb.command(plasmite_bin());
    c.args(["poke", "nope", r#"{"a":1}"#]);
    let e = cli::run(c, None, cli::LIMIT).fails("NotFound");
    assert!(hint(&e).contains("plasmite poke nope --create"), "{e:?}");
    let e = sb.run(&["poke", "nope", r#"{"a":1}"#]).fails("NotFound");
    assert!(hint(&e).contains("pls poke nope --create"), "{e:?}");
    let mut c = sb.command(plasmite_bin());
    c.arg("version");
    assert_eq!(
        cli::run(c, None, cli::LIMIT).ok().json()["name"],
        "plasmite"
    );
    assert!(pls().ends_with("pls"));
}

/// On a terminal, output is for humans: errors as `error:`/`hint:` lines
/// (red and yellow unless `--color never`), documents and messages as
/// pretty JSON. Runs the commands under `script` to give them a terminal.
#[test]
fn terminal_output_is_for_humans() {
    let sb = Sandbox::new("tty");
    if sb.sh("command -v script").code() != 0 {
        eprintln!("SKIPPED terminal_output_is_for_humans: `script` is not installed");
        return;
    }
    sb.run(&["poke", "chat", "--create", r#"{"msg": "hi"}"#])
        .ok();
    let tty = |cmd: &str| -> String {
        let mut c = sb.command("script");
        c.args(["-qec", cmd, "/dev/null"]);
        let out = cli::run(c, None, cli::LIMIT);
        out.stdout.replace("\r\n", "\n")
    };
    let err = tty(r#"pls poke nope '{"a":1}'"#);
    assert!(err.starts_with("\x1b[31merror:\x1b[0m "), "{err:?}");
    assert!(err.contains("\x1b[33mhint:\x1b[0m "), "{err:?}");
    assert!(err.contains("--create"), "{err:?}");
    // No data and stdin is the terminal: an error, not a wait for typing.
    let err = tty("pls poke chat --color never");
    assert!(err.starts_with("error: missing data input"), "{err:?}");
    let err = tty(r#"pls poke nope '{"a":1}' --color never"#);
    assert!(err.starts_with("error: "), "{err:?}");
    assert!(err.lines().any(|l| l.starts_with("hint: ")), "{err:?}");
    assert!(!err.contains('\x1b'));

    let doc = tty("pls get chat 1 --color never");
    let v: Value = serde_json::from_str(&doc).unwrap_or_else(|e| panic!("{e}: {doc:?}"));
    assert_eq!(v["data"], json!({"msg": "hi"}));
    assert_eq!(doc, serde_json::to_string_pretty(&v).unwrap() + "\n");
    let colored = tty("pls get chat 1");
    assert!(colored.contains("\x1b[36m\"data\"\x1b[0m"), "{colored:?}");
    // peek prints pretty JSON on a terminal by default.
    let peeked = tty("pls peek chat --tail 1 --timeout 10ms --color never");
    assert_eq!(peeked, doc);
}
