//! Every local example of the product README, run with the real `pls` as
//! written (through `sh -c` where the example is a shell line). Remote
//! `http(s)://` refs and `pls serve` are not built yet and not covered.

#[path = "common/cli.rs"]
mod cli;

use std::fs;
use std::time::{Duration, Instant};

use cli::{check_message, check_receipt, datas, hint, seqs, time_ns, wait_following, Bg, Sandbox};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(10);

/// `pls poke chat --create '{"from": "alice", "msg": "hello world"}'`, then
/// `pls peek chat` "in another terminal".
#[test]
fn hello_world_poke_then_peek() {
    let sb = Sandbox::new("readme-hello");
    let out = sb
        .sh(r#"pls poke chat --create '{"from": "alice", "msg": "hello world"}'"#)
        .ok();
    check_receipt(&out.json(), 1, &[]);
    let hello = json!({"from": "alice", "msg": "hello world"});
    // A pool made by --create has the default size, 1 MiB.
    assert_eq!(fs::metadata(sb.pool_file("chat")).unwrap().len(), 1 << 20);

    let out = sb.sh("pls peek chat --tail 1 --timeout 500ms");
    out.timed_out();
    let msgs = out.jsonl();
    assert_eq!(msgs.len(), 1, "{out:?}");
    check_message(&msgs[0], 1, &hello, &[]);

    // A plain `pls peek chat` starts at the live edge: it shows what is
    // poked after it started (so the README's comment, which shows the
    // message poked before, needs `--tail 1`).
    let watch = sb.spawn(&["peek", "chat"]);
    watch.wait_following();
    sb.sh(r#"pls poke chat '{"from": "bob", "msg": "hi alice"}'"#)
        .ok();
    let m = watch.json_line(WAIT);
    check_message(&m, 2, &json!({"from": "bob", "msg": "hi alice"}), &[]);
    assert!(watch.line(Duration::from_millis(200)).is_none());
}

/// "Two terminals, two processes, one pool": a build script pokes progress
/// while `pls peek build` watches.
#[test]
fn build_progress_two_terminals() {
    let sb = Sandbox::new("readme-build");
    // Terminal 1, first line.
    sb.sh(r#"pls poke build --create '{"step": "compile", "status": "running"}'"#)
        .ok();
    // Terminal 2 (during the script's `sleep 2`).
    let watch = sb.spawn(&["peek", "build"]);
    watch.wait_following();
    // Terminal 1, the rest.
    let out = sb
        .sh(r#"pls poke build '{"step": "compile", "status": "done"}'
pls poke build '{"step": "test", "status": "running"}'"#)
        .ok();
    assert_eq!(seqs(&out.jsonl()), [2, 3]);
    let a = watch.json_line(WAIT);
    let b = watch.json_line(WAIT);
    check_message(&a, 2, &json!({"step": "compile", "status": "done"}), &[]);
    check_message(&b, 3, &json!({"step": "test", "status": "running"}), &[]);
}

/// "Gate one script on another", with two real processes: `deploy.sh`
/// blocks in `peek --where ... --one` until `test-runner.sh` pokes green.
#[test]
fn gate_one_script_on_another() {
    let sb = Sandbox::new("readme-gate");
    let deploy_sh = r#"pls peek ci --where '.data.status == "green"' --one > /dev/null
echo "Tests passed, deploying...""#;

    // Peeking a pool that does not exist is an error by design (a typo must
    // not wait forever), so deploy.sh needs the pool to exist first; the
    // error says how (`--create`).
    let early = sb.sh(r#"pls peek ci --where '.data.status == "green"' --one > /dev/null"#);
    let e = early.fails("NotFound");
    assert!(hint(&e).contains("--create"), "{e:?}");
    sb.run(&["pool", "create", "ci"]).ok();

    let deploy = Bg::start(sb.sh_cmd(deploy_sh), "deploy.sh", true);
    wait_following(deploy.pid(), &deploy.what);
    // The same gate without `> /dev/null`, to see what it received.
    let mut gate = sb.spawn(&[
        "peek",
        "ci",
        "--where",
        r#".data.status == "green""#,
        "--one",
    ]);
    gate.wait_following();

    // A red result does not open the gate.
    sb.sh(r#"pls poke ci '{"status": "red", "commit": "abc122"}'"#)
        .ok();
    std::thread::sleep(Duration::from_millis(300));
    assert!(!gate.exited(), "gate opened on a red status");

    // test-runner.sh, another process.
    sb.sh(r#"pls poke ci --create '{"status": "green", "commit": "abc123"}'"#)
        .ok();
    let d = deploy.finish(WAIT).ok();
    assert_eq!(d.stdout, "Tests passed, deploying...\n");
    let g = gate.finish(WAIT).ok();
    let msgs = g.jsonl();
    assert_eq!(msgs.len(), 1, "{g:?}");
    check_message(
        &msgs[0],
        2,
        &json!({"status": "green", "commit": "abc123"}),
        &[],
    );
}

fn funnel(sb: &Sandbox, pool: &str, file: &str, input: &[u8], want: &[Value]) {
    fs::write(sb.path(file), input).unwrap();
    let out = sb
        .sh(&format!("cat {file} | pls poke {pool} --create"))
        .ok();
    let receipts = out.jsonl();
    let n = want.len() as u64;
    assert_eq!(seqs(&receipts), (1..=n).collect::<Vec<_>>());
    let msgs = sb.messages(pool);
    assert_eq!(datas(&msgs), want);
    assert_eq!(seqs(&msgs), (1..=n).collect::<Vec<_>>());
}

/// "Funnel anything into a pool": a JSON Lines stream on stdin.
#[test]
fn funnel_jsonl_stream() {
    let sb = Sandbox::new("readme-funnel-jsonl");
    let want: Vec<Value> = (0..500)
        .map(|i| json!({"event": "click", "n": i, "tags": ["a", i % 7]}))
        .collect();
    let mut input = String::new();
    for w in &want {
        input.push_str(&w.to_string());
        input.push('\n');
    }
    funnel(&sb, "events", "events.jsonl", input.as_bytes(), &want);
}

/// `curl -N https://api.example.com/events | pls poke events --create`: an
/// event API speaking Server-Sent Events (`data:` lines, comments,
/// multi-line data, `event:`/`id:` fields, CRLF line ends).
#[test]
fn funnel_server_sent_events() {
    let sb = Sandbox::new("readme-funnel-sse");
    let input = ": stream opened\n\nevent: update\nid: 1\ndata: {\"sensor\": \"temp\", \"value\": 23.5}\n\n\
                 data: {\"sensor\": \"temp\",\ndata:  \"value\": 24}\n\n: keepalive\n\n\
                 id: 3\r\ndata:{\"sensor\":\"hum\",\"value\":40}\r\n\r\n\
                 data: {\"last\": true}\n";
    let want = [
        json!({"sensor": "temp", "value": 23.5}),
        json!({"sensor": "temp", "value": 24}),
        json!({"sensor": "hum", "value": 40}),
        json!({"last": true}),
    ];
    funnel(&sb, "events", "events.sse", input.as_bytes(), &want);
}

/// `journalctl -o json-seq -f | pls poke syslog --create`: RFC 7464 records.
#[test]
fn funnel_json_seq() {
    let sb = Sandbox::new("readme-funnel-seq");
    let mut input = Vec::new();
    let mut want = Vec::new();
    for i in 0..50 {
        let v = json!({"MESSAGE": format!("line {i}"), "PRIORITY": "6", "_PID": 1000 + i});
        input.push(0x1E);
        input.extend_from_slice(v.to_string().as_bytes());
        input.push(b'\n');
        want.push(v);
    }
    funnel(&sb, "syslog", "journal.seq", &input, &want);
}

/// "Save JSONL, then replay from file".
#[test]
fn save_jsonl_then_replay_from_file() {
    let sb = Sandbox::new("readme-save");
    sb.run(&["pool", "create", "incidents"]).ok();
    let all: Vec<Value> = (0..150)
        .map(|i| json!({"msg": format!("incident {i}"), "sev": i % 3}))
        .collect();
    sb.poke_lines("incidents", &all);

    // `pls peek incidents --tail 100 --format jsonl --data-only > incidents.jsonl`
    // prints the history and then keeps watching, like `tail -f`: a user
    // stops it with Ctrl-C once the history is out.
    let file = sb.path("incidents.jsonl");
    let save = Bg::start(
        sb.sh_cmd("pls peek incidents --tail 100 --format jsonl --data-only > incidents.jsonl"),
        "peek > incidents.jsonl",
        true,
    );
    wait_following(save.pid(), &save.what);
    let text = fs::read_to_string(&file).unwrap();
    let saved: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(saved, all[50..], "the last 100 messages' data, in order");
    let _ = save.interrupt();

    // `pls poke incidents-archive -f incidents.jsonl`, exactly as written,
    // fails in a fresh pool directory: the archive pool does not exist and
    // the example has no `--create`. The error gives the exact command to
    // run instead.
    let out = sb.sh("pls poke incidents-archive -f incidents.jsonl");
    let e = out.fails("NotFound");
    let h = hint(&e);
    let cmd = h
        .split_once("exact command: ")
        .map(|(_, c)| c)
        .unwrap_or_else(|| panic!("no retry command in hint {h:?}"));
    assert!(
        cmd.contains("--create") && cmd.contains("incidents.jsonl"),
        "{h:?}"
    );
    assert!(!sb.pool_file("incidents-archive").exists());

    let out = sb.sh(cmd).ok();
    assert_eq!(out.jsonl().len(), 100);
    let archived = sb.messages("incidents-archive");
    assert_eq!(datas(&archived), all[50..]);
    assert_eq!(seqs(&archived), (1..=100).collect::<Vec<_>>());
}

/// "Tag on write", "Filter on read": followers started before the pokes
/// see exactly the matching messages.
#[test]
fn tag_on_write_filter_on_read() {
    let sb = Sandbox::new("readme-tags");
    sb.run(&["pool", "create", "incidents"]).ok();
    let by_tag = sb.spawn(&["peek", "incidents", "--tag", "sev1"]);
    let by_where = sb.spawn(&[
        "peek",
        "incidents",
        "--where",
        r#".data.msg | test("timeout")"#,
    ]);
    by_tag.wait_following();
    by_where.wait_following();

    let out = sb
        .sh(r#"pls poke incidents --tag sev1 --tag billing '{"msg": "payment gateway timeout"}'"#)
        .ok();
    check_receipt(&out.json(), 1, &["sev1", "billing"]);
    sb.sh(
        r#"pls poke incidents --tag sev2 '{"msg": "disk latency timeout"}'
pls poke incidents --tag sev1 '{"msg": "certificate renewed"}'
pls poke incidents '{"level": "info"}'
pls poke incidents --tag sev1 '{"msg": "last timeout"}'"#,
    )
    .ok();

    let take = |bg: &Bg, n| -> Vec<Value> { (0..n).map(|_| bg.json_line(WAIT)).collect() };
    let tagged = take(&by_tag, 3);
    assert_eq!(seqs(&tagged), [1, 3, 5]);
    check_message(
        &tagged[0],
        1,
        &json!({"msg": "payment gateway timeout"}),
        &["sev1", "billing"],
    );
    let matched = take(&by_where, 3);
    assert_eq!(seqs(&matched), [1, 2, 5]);
    assert!(by_tag.line(Duration::from_millis(100)).is_none());
    assert!(by_where.line(Duration::from_millis(100)).is_none());

    // The same filters over history.
    let out = sb.run(&[
        "peek",
        "incidents",
        "--tag",
        "sev1",
        "--tail",
        "10",
        "--timeout",
        "100ms",
    ]);
    assert_eq!(seqs(&out.timed_out().jsonl()), [1, 3, 5]);
}

/// "Replay the last hour at 10x": history played back with its original
/// gaps divided by the speed, then exit 0.
#[test]
fn replay_last_hour_at_10x() {
    let sb = Sandbox::new("readme-replay");
    sb.run(&["pool", "create", "incidents"]).ok();
    for i in 0..3 {
        if i > 0 {
            std::thread::sleep(Duration::from_millis(400));
        }
        sb.run(&["poke", "incidents", &format!(r#"{{"i": {i}}}"#)])
            .ok();
    }
    let msgs = sb.messages("incidents");
    let span = Duration::from_nanos(time_ns(&msgs[2]["time"]) - time_ns(&msgs[0]["time"]));
    assert!(span >= Duration::from_millis(790), "{span:?}");

    let replay = |speed: &str| {
        let t = Instant::now();
        let out = sb
            .sh(&format!("pls peek incidents --since 1h --replay {speed}"))
            .ok();
        let elapsed = t.elapsed();
        assert_eq!(
            out.jsonl(),
            msgs,
            "replay {speed} prints the history in order"
        );
        elapsed
    };
    let fast = replay("10");
    let real = replay("1");
    let none = replay("0");
    eprintln!("history span {span:?}; replay 10x {fast:?}, 1x {real:?}, 0 {none:?}");
    assert!(
        real >= span,
        "1x replay took {real:?} for a {span:?} history"
    );
    assert!(
        fast >= span / 10,
        "10x replay took {fast:?} for a {span:?} history"
    );
    assert!(
        fast < span / 2,
        "10x replay took {fast:?} for a {span:?} history"
    );
    assert!(none < span / 2, "replay 0 took {none:?}");
}
