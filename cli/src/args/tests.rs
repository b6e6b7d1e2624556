//! Tests of the argument layer: every command and flag, error shapes, help and completions.

use std::ffi::OsString;
use std::path::PathBuf;

use super::spec::{self, Arity, CommandId, Default, Kind, COMMANDS, GLOBAL_FLAGS};
use super::*;

fn parse_pls(args: &[&str]) -> Result<Cli, ArgError> {
    parse("pls", args.iter().copied())
}

fn cmd(args: &[&str]) -> Command {
    match parse_pls(args) {
        Ok(cli) => cli.command,
        Err(err) => panic!("{args:?} failed: {} ({})", err.message, err.hint),
    }
}

fn err(args: &[&str]) -> ArgError {
    match parse_pls(args) {
        Ok(cli) => panic!("{args:?} unexpectedly parsed: {cli:?}"),
        Err(err) => err,
    }
}

fn poke(args: &[&str]) -> PokeArgs {
    match cmd(args) {
        Command::Poke(a) => a,
        other => panic!("not poke: {other:?}"),
    }
}

fn peek(args: &[&str]) -> PeekArgs {
    match cmd(args) {
        Command::Peek(a) => a,
        other => panic!("not peek: {other:?}"),
    }
}

fn serve_of(args: &[&str]) -> ServeArgs {
    match cmd(args) {
        Command::Serve(a) => a,
        other => panic!("not serve: {other:?}"),
    }
}

fn help_of(args: &[&str]) -> String {
    match cmd(args) {
        Command::Help(text) => text,
        other => panic!("not help: {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Commands and flags
// ---------------------------------------------------------------------------------------------

#[test]
fn readme_examples_parse() {
    let examples: &[&[&str]] = &[
        &[
            "poke",
            "chat",
            "--create",
            r#"{"from": "alice", "msg": "hello world"}"#,
        ],
        &["peek", "chat"],
        &[
            "poke",
            "build",
            "--create",
            r#"{"step": "compile", "status": "running"}"#,
        ],
        &["poke", "build", r#"{"step": "compile", "status": "done"}"#],
        &["peek", "build"],
        &[
            "peek",
            "ci",
            "--where",
            r#".data.status == "green""#,
            "--one",
        ],
        &[
            "poke",
            "ci",
            "--create",
            r#"{"status": "green", "commit": "abc123"}"#,
        ],
        &["poke", "events", "--create"],
        &["poke", "syslog", "--create"],
        &[
            "peek",
            "incidents",
            "--tail",
            "100",
            "--format",
            "jsonl",
            "--data-only",
        ],
        &["poke", "incidents-archive", "-f", "incidents.jsonl"],
        &[
            "poke",
            "incidents",
            "--tag",
            "sev1",
            "--tag",
            "billing",
            r#"{"msg": "x"}"#,
        ],
        &["peek", "incidents", "--tag", "sev1"],
        &[
            "peek",
            "incidents",
            "--where",
            r#".data.msg | test("timeout")"#,
        ],
        &["peek", "incidents", "--since", "1h", "--replay", "10"],
        &["serve"],
        &["serve", "init"],
        &[
            "poke",
            "http://server:9700/events",
            r#"{"sensor": "temp", "value": 23.5}"#,
        ],
        &["peek", "http://server:9700/events", "--tail", "20"],
        &[
            "serve",
            "--bind",
            "0.0.0.0:9100",
            "--allow-non-loopback",
            "--access",
            "read-only",
            "--cors-origin",
            "https://demo.wratify.ai",
        ],
        &["pool", "create", "NAME", "--size", "8M"],
        &["pool", "list"],
        &["pool", "info", "NAME"],
        &["pool", "delete", "a", "b"],
        &["doctor", "POOL"],
        &["doctor", "--all"],
        &["completion", "bash"],
        &["completion", "zsh"],
        &["completion", "fish"],
        &["get", "POOL", "42"],
        &["serve", "check", "--json"],
    ];
    for args in examples {
        cmd(args);
    }
}

#[test]
fn poke_defaults() {
    let a = poke(&["poke", "chat", "{}"]);
    assert_eq!(
        a,
        PokeArgs {
            pool: "chat".into(),
            data: Some("{}".into()),
            file: None,
            tags: vec![],
            input: InputFormat::Auto,
            errors: ErrorPolicy::Stop,
            durability: Durability::Fast,
            create: false,
            create_size: None,
            retry: 0,
            retry_delay: None,
            remote: RemoteArgs::default(),
        }
    );
    assert_eq!(poke(&["poke", "chat"]).data, None);
}

#[test]
fn poke_every_flag() {
    let a = poke(&[
        "poke",
        "chat",
        "--tag",
        "a",
        "--tag=b",
        "--tag",
        "a",
        "-f",
        "in.jsonl",
        "-i",
        "seq",
        "-e",
        "skip",
        "--durability",
        "flush",
        "--create",
        "--create-size",
        "8M",
        "--retry",
        "3",
        "--retry-delay",
        "10ms",
        "--token-file",
        "tok.txt",
        "--tls-ca",
        "ca.pem",
    ]);
    assert_eq!(a.tags, ["a", "b", "a"]);
    assert_eq!(a.file, Some(FileArg::Path("in.jsonl".into())));
    assert_eq!(a.input, InputFormat::Seq);
    assert_eq!(a.errors, ErrorPolicy::Skip);
    assert_eq!(a.durability, Durability::Flush);
    assert!(a.create);
    assert_eq!(a.create_size.as_deref(), Some("8M"));
    assert_eq!(a.retry, 3);
    assert_eq!(a.retry_delay.as_deref(), Some("10ms"));
    assert_eq!(a.remote.token_file, Some(PathBuf::from("tok.txt")));
    assert_eq!(a.remote.tls_ca, Some(PathBuf::from("ca.pem")));

    let a = poke(&["poke", "chat", "--file", "-", "--in=jq", "--errors=stop"]);
    assert_eq!(a.file, Some(FileArg::Stdin));
    assert_eq!(a.input, InputFormat::Jq);
    for (name, value) in [
        ("auto", InputFormat::Auto),
        ("jsonl", InputFormat::Jsonl),
        ("json", InputFormat::Json),
        ("seq", InputFormat::Seq),
        ("jq", InputFormat::Jq),
    ] {
        assert_eq!(poke(&["poke", "p", "--in", name]).input, value);
    }
}

#[test]
fn poke_argument_rules() {
    let e = err(&["poke", "chat", "{}", "-f", "x.json"]);
    assert_eq!(
        e.message,
        "the argument '--file' cannot be used with 'DATA'"
    );
    assert_eq!(e.hint, "Try `pls poke --help`.");

    let e = err(&["poke", "chat", "{}", "--create-size", "2M"]);
    assert_eq!(e.message, "--create-size requires --create");
    assert_eq!(e.hint, "Add --create or remove --create-size.");

    let e = err(&["poke", "chat", "{}", "--retry-delay", "1s"]);
    assert_eq!(e.message, "--retry-delay requires --retry");
    assert_eq!(e.hint, "Add --retry or remove --retry-delay.");
    let e = err(&["poke", "chat", "{}", "--retry", "0", "--retry-delay", "1s"]);
    assert_eq!(e.message, "--retry-delay requires --retry");

    let e = err(&["poke", "chat", "{}", "extra"]);
    assert_eq!(e.message, "unexpected argument 'extra'");
    assert_eq!(e.hint, "Try `pls poke --help`.");

    let e = err(&["poke", "chat", "--durability", "slow"]);
    assert_eq!(
        e.message,
        "invalid value 'slow' for --durability (expected fast or flush)"
    );
    let e = err(&["poke", "chat", "--in", "xml"]);
    assert_eq!(
        e.message,
        "invalid value 'xml' for --in (expected auto, jsonl, json, seq or jq)"
    );
}

#[test]
fn poke_data_may_look_like_a_flag_after_double_dash() {
    let a = poke(&["poke", "chat", "--create", "--", "--tag"]);
    assert_eq!(a.data.as_deref(), Some("--tag"));
    assert!(a.create);
    assert!(a.tags.is_empty());
}

#[test]
fn peek_defaults_and_every_flag() {
    let a = peek(&["peek", "chat"]);
    assert_eq!(
        a,
        PeekArgs {
            pool: "chat".into(),
            tail: 0,
            since: None,
            tags: vec![],
            wheres: vec![],
            one: false,
            timeout: None,
            format: None,
            data_only: false,
            replay: None,
            create: false,
            quiet_drops: false,
            no_notify: false,
            name: None,
            ack_every: 1,
            remote: RemoteArgs::default(),
        }
    );
    let a = peek(&[
        "peek",
        "chat",
        "-n",
        "5",
        "--tag",
        "x",
        "--tag",
        "y",
        "--where",
        ".data.a == 1",
        "--where=.seq > 2",
        "--one",
        "--timeout",
        "10s",
        "--format",
        "jsonl",
        "--data-only",
        "--replay",
        "2",
        "--create",
        "--quiet-drops",
        "--no-notify",
        "--name",
        "billing",
        "--ack-every",
        "10",
        "--token-file",
        "t",
        "--tls-ca",
        "c",
    ]);
    assert_eq!(a.tail, 5);
    assert_eq!(a.tags, ["x", "y"]);
    assert_eq!(a.wheres, [".data.a == 1", ".seq > 2"]);
    assert!(a.one && a.data_only && a.create && a.quiet_drops && a.no_notify);
    assert_eq!(a.timeout.as_deref(), Some("10s"));
    assert_eq!(a.format, Some(OutputFormat::Jsonl));
    assert_eq!(a.replay.as_deref(), Some("2"));
    assert_eq!((a.name.as_deref(), a.ack_every), (Some("billing"), 10));
    assert_eq!(a.remote.token_file, Some(PathBuf::from("t")));
    assert_eq!(a.remote.tls_ca, Some(PathBuf::from("c")));

    assert_eq!(
        peek(&["peek", "p", "--since", "5m"]).since.as_deref(),
        Some("5m")
    );
    assert_eq!(
        peek(&["peek", "p", "--jsonl"]).format,
        Some(OutputFormat::Jsonl)
    );
    assert_eq!(
        peek(&["peek", "p", "--format=pretty"]).format,
        Some(OutputFormat::Pretty)
    );
    // Replay speeds may look like negative numbers; the value is taken as is.
    assert_eq!(
        peek(&["peek", "p", "--replay", "-1"]).replay.as_deref(),
        Some("-1")
    );
}

#[test]
fn short_option_value_forms() {
    for args in [
        &["peek", "p", "-n5"][..],
        &["peek", "p", "-n", "5"],
        &["peek", "p", "-n=5"],
        &["peek", "p", "--tail=5"],
        &["peek", "p", "--tail", "5"],
        &["peek", "-n", "5", "p"],
    ] {
        assert_eq!(peek(args).tail, 5, "{args:?}");
    }
}

#[test]
fn peek_argument_rules() {
    let e = err(&["peek", "p", "--jsonl", "--format", "pretty"]);
    assert_eq!(e.message, "conflicting output options");
    assert!(e.hint.contains("--format jsonl") && e.hint.contains("--jsonl"));

    let e = err(&["peek", "p", "--since", "1h", "--tail", "3"]);
    assert_eq!(
        e.message,
        "the argument '--since' cannot be used with '--tail'"
    );
    assert_eq!(e.hint, "Try `pls peek --help`.");

    let e = err(&["peek"]);
    assert_eq!(
        e.message,
        "the following required arguments were not provided: POOL"
    );
    assert_eq!(
        e.hint,
        "Provide a pool ref, for example: `pls peek chat -n 1`."
    );
    let e = parse("plasmite", ["peek"]).unwrap_err();
    assert_eq!(
        e.hint,
        "Provide a pool ref, for example: `plasmite peek chat -n 1`."
    );

    let e = err(&["peek", "p", "--tail"]);
    assert_eq!(e.message, "missing value for --tail");
    assert_eq!(e.hint, "Try `pls peek --help`.");
    let e = err(&["peek", "p", "-n"]);
    assert_eq!(e.message, "missing value for --tail");

    let e = err(&["peek", "p", "--format", "nope"]);
    assert_eq!(
        e.message,
        "invalid value 'nope' for --format (expected pretty or jsonl)"
    );
    assert_eq!(e.hint, "Try `pls peek --help`.");

    let e = err(&["peek", "p", "--tail", "-1"]);
    assert_eq!(
        e.message,
        "invalid value '-1' for --tail (expected a non-negative integer)"
    );
    let e = err(&["peek", "p", "--tail", "3", "--tail", "4"]);
    assert_eq!(
        e.message,
        "the argument '--tail' cannot be used multiple times"
    );
    let e = err(&["peek", "p", "--one=yes"]);
    assert_eq!(
        e.message,
        "unexpected value 'yes' for --one (it takes no value)"
    );
    // Switches may be repeated harmlessly.
    assert!(peek(&["peek", "p", "--one", "--one"]).one);
}

#[test]
fn get_command() {
    assert_eq!(
        cmd(&["get", "chat", "42"]),
        Command::Get(GetArgs {
            pool: "chat".into(),
            seq: 42
        })
    );
    let e = err(&["get", "chat", "x"]);
    assert_eq!(
        e.message,
        "invalid value 'x' for SEQ (expected a non-negative integer)"
    );
    assert_eq!(e.hint, "Try `pls get --help`.");
    let e = err(&["get"]);
    assert_eq!(
        e.message,
        "the following required arguments were not provided: POOL, SEQ"
    );
    assert_eq!(e.hint, "Try `pls get --help`.");
    let e = err(&["get", "chat"]);
    assert_eq!(
        e.message,
        "the following required arguments were not provided: SEQ"
    );
    let e = err(&["get", "chat", "1", "2"]);
    assert_eq!(e.message, "unexpected argument '2'");
}

#[test]
fn pool_commands() {
    assert_eq!(
        cmd(&[
            "pool",
            "create",
            "a",
            "b",
            "--size",
            "64M",
            "--index-capacity",
            "0",
            "--json"
        ]),
        Command::PoolCreate(PoolCreateArgs {
            names: vec!["a".into(), "b".into()],
            size: "64M".into(),
            index_capacity: Some(0),
            json: true,
        })
    );
    assert_eq!(
        cmd(&["pool", "create", "a"]),
        Command::PoolCreate(PoolCreateArgs {
            names: vec!["a".into()],
            size: "1M".into(),
            index_capacity: None,
            json: false,
        })
    );
    let e = err(&["pool", "create", "a", "--index-capacity", "4294967296"]);
    assert_eq!(
        e.message,
        "invalid value '4294967296' for --index-capacity (expected an integer from 0 to 4294967295)"
    );
    let e = err(&["pool", "create"]);
    assert_eq!(
        e.message,
        "the following required arguments were not provided: NAME"
    );
    assert_eq!(e.hint, "Try `pls pool create --help`.");

    assert_eq!(
        cmd(&["pool", "list"]),
        Command::PoolList(PoolListArgs { json: false })
    );
    assert_eq!(
        cmd(&["pool", "list", "--json"]),
        Command::PoolList(PoolListArgs { json: true })
    );
    let e = err(&["pool", "list", "extra"]);
    assert_eq!(e.message, "unexpected argument 'extra'");
    assert_eq!(e.hint, "Try `pls pool list --help`.");

    assert_eq!(
        cmd(&["pool", "info", "chat", "--json"]),
        Command::PoolInfo(PoolInfoArgs {
            pool: "chat".into(),
            json: true,
            delete_readers: vec![],
        })
    );
    assert_eq!(err(&["pool", "info"]).hint, "Try `pls pool info --help`.");

    assert_eq!(
        cmd(&["pool", "delete", "--json", "a", "b", "c"]),
        Command::PoolDelete(PoolDeleteArgs {
            pools: vec!["a".into(), "b".into(), "c".into()],
            json: true
        })
    );

    // `pool` alone shows the pool help instead of failing.
    let text = help_of(&["pool"]);
    assert!(text.contains("pls pool COMMAND"));
    assert!(text.contains("List pools in the pool directory"));

    let e = err(&["pool", "lst"]);
    assert_eq!(e.message, "unrecognized command 'lst' for 'pool'");
    assert_eq!(e.hint, "Did you mean `list`? Try `pls pool --help`.");
}

#[test]
fn doctor_command() {
    assert_eq!(
        cmd(&["doctor", "chat"]),
        Command::Doctor(DoctorArgs {
            target: DoctorTarget::Pool("chat".into()),
            json: false
        })
    );
    assert_eq!(
        cmd(&["doctor", "--all", "--json"]),
        Command::Doctor(DoctorArgs {
            target: DoctorTarget::All,
            json: true
        })
    );
    let e = err(&["doctor", "chat", "--all"]);
    assert_eq!(e.message, "--all cannot be combined with a pool name");
    assert_eq!(e.hint, "Use --all by itself, or provide a single pool.");
    let e = err(&["doctor"]);
    assert_eq!(e.message, "doctor requires a pool name or --all");
    assert_eq!(e.hint, "Use `pls doctor <pool>` or `pls doctor --all`.");
}

#[test]
fn serve_defaults_and_every_flag() {
    assert_eq!(
        serve_of(&["serve"]),
        ServeArgs {
            bind: "127.0.0.1:9700".into(),
            access: plasmite_server::Access::ReadWrite,
            allow_non_loopback: false,
            cors_origins: vec![],
            token: None,
            token_file: None,
            tls_cert: None,
            tls_key: None,
            tls_self_signed: false,
            insecure_no_tls: false,
            max_body_bytes: 1_048_576,
            max_tail_timeout_ms: 30_000,
            max_tail_concurrency: 64,
        }
    );
    let a = serve_of(&[
        "serve",
        "--bind",
        "0.0.0.0:9100",
        "--access",
        "write-only",
        "--allow-non-loopback",
        "--cors-origin",
        "https://a.example",
        "--cors-origin=https://b.example",
        "--token-file",
        "tok",
        "--tls-cert",
        "c.pem",
        "--tls-key",
        "k.pem",
        "--tls-self-signed",
        "--insecure-no-tls",
        "--max-body-bytes",
        "10",
        "--max-tail-timeout-ms",
        "20",
        "--max-tail-concurrency",
        "30",
    ]);
    assert_eq!(a.bind, "0.0.0.0:9100");
    assert_eq!(a.access, plasmite_server::Access::WriteOnly);
    assert!(a.allow_non_loopback && a.tls_self_signed && a.insecure_no_tls);
    assert_eq!(a.cors_origins, ["https://a.example", "https://b.example"]);
    assert_eq!(a.token_file, Some(PathBuf::from("tok")));
    assert_eq!(a.tls_cert, Some(PathBuf::from("c.pem")));
    assert_eq!(a.tls_key, Some(PathBuf::from("k.pem")));
    assert_eq!(
        (
            a.max_body_bytes,
            a.max_tail_timeout_ms,
            a.max_tail_concurrency
        ),
        (10, 20, 30)
    );
    assert_eq!(
        serve_of(&["serve", "--token", "s3cret"]).token.as_deref(),
        Some("s3cret")
    );
    assert_eq!(
        serve_of(&["serve", "--access", "read-only"]).access,
        plasmite_server::Access::ReadOnly
    );

    let e = err(&["serve", "--token", "a", "--token-file", "b"]);
    assert_eq!(e.message, "--token cannot be combined with --token-file");
    assert!(e.hint.contains("pls serve init"));

    let e = err(&["serve", "chek"]);
    assert_eq!(e.message, "unexpected argument 'chek'");
    assert_eq!(e.hint, "Did you mean `check`? Try `pls serve --help`.");
}

#[test]
fn serve_check_takes_options_on_either_side() {
    let before = cmd(&[
        "serve",
        "--bind",
        "0.0.0.0:1",
        "--allow-non-loopback",
        "check",
        "--json",
    ]);
    let after = cmd(&[
        "serve",
        "check",
        "--bind",
        "0.0.0.0:1",
        "--allow-non-loopback",
        "--json",
    ]);
    assert_eq!(before, after);
    match before {
        Command::ServeCheck(a) => {
            assert!(a.json);
            assert_eq!(a.serve.bind, "0.0.0.0:1");
            assert!(a.serve.allow_non_loopback);
        }
        other => panic!("{other:?}"),
    }
    let e = err(&["serve", "--bind", "a", "check", "--bind", "b"]);
    assert_eq!(
        e.message,
        "the argument '--bind' cannot be used multiple times"
    );
    let e = err(&["serve", "--token", "a", "check", "--token-file", "b"]);
    assert_eq!(e.message, "--token cannot be combined with --token-file");
    let e = err(&["serve", "--json"]);
    assert_eq!(e.message, "unexpected argument '--json'");
}

#[test]
fn serve_init() {
    assert_eq!(
        cmd(&["serve", "init"]),
        Command::ServeInit(ServeInitArgs {
            bind: "0.0.0.0:9700".into(),
            output_dir: ".".into(),
            token_file: "serve-token.txt".into(),
            tls_cert: "serve-cert.pem".into(),
            tls_key: "serve-key.pem".into(),
            force: false,
        })
    );
    assert_eq!(
        cmd(&[
            "serve",
            "init",
            "--bind",
            "10.0.0.2:9700",
            "--output-dir",
            "out",
            "--token-file",
            "t",
            "--tls-cert",
            "c",
            "--tls-key",
            "k",
            "--force",
        ]),
        Command::ServeInit(ServeInitArgs {
            bind: "10.0.0.2:9700".into(),
            output_dir: "out".into(),
            token_file: "t".into(),
            tls_cert: "c".into(),
            tls_key: "k".into(),
            force: true,
        })
    );
    // A same-named option before `init` carries over; a run-only option is an error.
    match cmd(&["serve", "--bind", "10.0.0.3:1", "init"]) {
        Command::ServeInit(a) => assert_eq!(a.bind, "10.0.0.3:1"),
        other => panic!("{other:?}"),
    }
    let e = err(&["serve", "--access", "read-only", "init"]);
    assert_eq!(
        e.message,
        "the argument '--access' cannot be used with 'serve init'"
    );
    assert_eq!(e.hint, "Try `pls serve init --help`.");
    let e = err(&["serve", "init", "--access", "read-only"]);
    assert_eq!(e.message, "unexpected argument '--access'");
}

#[test]
fn version_completion_help_commands() {
    assert_eq!(cmd(&["version"]), Command::Version);
    let e = err(&["version", "x"]);
    assert_eq!(e.message, "unexpected argument 'x'");
    assert_eq!(e.hint, "Try `pls version --help`.");
    let line = format!("plasmite {VERSION}\n");
    assert_eq!(cmd(&["--version"]), Command::VersionText(line.clone()));
    assert_eq!(cmd(&["-V"]), Command::VersionText(line.clone()));
    assert_eq!(
        cmd(&["peek", "p", "-V"]),
        Command::VersionText(line.clone())
    );
    assert_eq!(cmd(&["---version"]), Command::VersionText(line));

    assert_eq!(
        cmd(&["completion", "bash"]),
        Command::Completion(Shell::Bash)
    );
    assert_eq!(cmd(&["completion", "zsh"]), Command::Completion(Shell::Zsh));
    assert_eq!(
        cmd(&["completion", "fish"]),
        Command::Completion(Shell::Fish)
    );
    let e = err(&["completion", "tcsh"]);
    assert_eq!(
        e.message,
        "invalid value 'tcsh' for SHELL (expected bash, zsh or fish)"
    );
    assert_eq!(e.hint, "Try `pls completion --help`.");
    let e = err(&["completion"]);
    assert_eq!(
        e.message,
        "the following required arguments were not provided: SHELL"
    );
}

#[test]
fn help_requests() {
    let root = super::help("pls", &[]).unwrap();
    assert_eq!(help_of(&[]), root);
    assert_eq!(help_of(&["--help"]), root);
    assert_eq!(help_of(&["-h"]), root);
    assert_eq!(help_of(&["help"]), root);
    assert_eq!(help_of(&["---help"]), root);
    assert_eq!(help_of(&["--dir", "x"]), root);

    let peek_help = super::help("pls", &["peek"]).unwrap();
    assert_eq!(help_of(&["peek", "--help"]), peek_help);
    assert_eq!(help_of(&["peek", "-h"]), peek_help);
    assert_eq!(help_of(&["help", "peek"]), peek_help);
    assert_eq!(
        help_of(&["peek", "chat", "--tail", "3", "--help"]),
        peek_help
    );
    // --help wins even over arguments that would be errors.
    assert_eq!(help_of(&["peek", "--help", "--bogus"]), peek_help);

    let create = super::help("pls", &["pool", "create"]).unwrap();
    assert_eq!(help_of(&["help", "pool", "create"]), create);
    assert_eq!(help_of(&["pool", "create", "--help"]), create);
    assert_eq!(
        help_of(&["help", "pool"]),
        super::help("pls", &["pool"]).unwrap()
    );
    assert_eq!(
        help_of(&["help", "help"]),
        super::help("pls", &["help"]).unwrap()
    );

    let e = err(&["help", "nope"]);
    assert_eq!(e.message, "unrecognized command 'nope'");
    assert_eq!(e.hint, "Try `pls help` for the list of commands.");
    let e = err(&["help", "pool", "nope"]);
    assert_eq!(e.message, "unrecognized command 'pool nope'");
    assert!(super::help("pls", &["nope"]).is_none());
}

#[test]
fn unknown_commands_and_flags() {
    let e = err(&["peak", "chat"]);
    assert_eq!(e.message, "unrecognized command 'peak'");
    assert_eq!(e.hint, "Did you mean `peek`? Try `pls --help`.");
    let e = err(&["frobnicate"]);
    assert_eq!(e.hint, "Try `pls --help`.");

    let e = err(&["peek", "chat", "--tial", "3"]);
    assert_eq!(e.message, "unexpected argument '--tial'");
    assert_eq!(e.hint, "Did you mean `--tail`? Try `pls peek --help`.");
    let e = err(&["peek", "chat", "-z"]);
    assert_eq!(e.message, "unexpected argument '-z'");
    assert_eq!(e.hint, "Try `pls peek --help`.");
    let e = err(&["--bogus"]);
    assert_eq!(e.message, "unexpected argument '--bogus'");
    assert_eq!(e.hint, "Try `pls --help`.");
    // A flag of another command.
    let e = err(&["poke", "chat", "--where", "x"]);
    assert_eq!(e.message, "unexpected argument '--where'");
}

#[test]
fn global_options_before_or_after_the_command() {
    let cases: &[&[&str]] = &[
        &["poke", "p", "{}"],
        &["peek", "p"],
        &["get", "p", "1"],
        &["pool", "create", "p"],
        &["pool", "list"],
        &["pool", "info", "p"],
        &["pool", "delete", "p"],
        &["doctor", "p"],
        &["serve"],
        &["serve", "check"],
        &["serve", "init"],
        &["version"],
        &["completion", "bash"],
    ];
    for base in cases {
        let expected = Global {
            dir: Some(PathBuf::from("/tmp/pools")),
            color: Color::Never,
        };
        let mut before: Vec<&str> = vec!["--dir", "/tmp/pools", "--color", "never"];
        before.extend_from_slice(base);
        let mut after: Vec<&str> = base.to_vec();
        after.extend_from_slice(&["--dir=/tmp/pools", "--color=never"]);
        let mut split: Vec<&str> = vec!["--color", "never"];
        split.extend_from_slice(base);
        split.extend_from_slice(&["--dir", "/tmp/pools"]);
        for args in [&before, &after, &split] {
            let cli = parse_pls(args).unwrap_or_else(|e| panic!("{args:?}: {}", e.message));
            assert_eq!(cli.global, expected, "{args:?}");
            assert_eq!(cli.command, cmd(base), "{args:?}");
        }
    }
    assert_eq!(
        parse_pls(&["pool", "list"]).unwrap().global,
        Global::default()
    );
    for (name, color) in [
        ("auto", Color::Auto),
        ("always", Color::Always),
        ("never", Color::Never),
    ] {
        assert_eq!(
            parse_pls(&["version", "--color", name])
                .unwrap()
                .global
                .color,
            color
        );
    }
    let e = err(&["--dir", "a", "pool", "list", "--dir", "b"]);
    assert_eq!(
        e.message,
        "the argument '--dir' cannot be used multiple times"
    );
    let e = err(&["--color", "sometimes", "pool", "list"]);
    assert_eq!(
        e.message,
        "invalid value 'sometimes' for --color (expected auto, always or never)"
    );
    assert_eq!(e.hint, "Try `pls --help`.");
    let e = err(&["pool", "list", "--dir"]);
    assert_eq!(e.message, "missing value for --dir");
    assert_eq!(e.hint, "Try `pls pool list --help`.");
}

#[test]
fn bin_names() {
    assert_eq!(bin_name(OsString::from("/usr/bin/pls").as_os_str()), "pls");
    assert_eq!(bin_name(OsString::from("plasmite").as_os_str()), "plasmite");
    assert_eq!(
        bin_name(OsString::from("./target/plasmite.exe").as_os_str()),
        "plasmite"
    );
    assert_eq!(bin_name(OsString::from("").as_os_str()), "pls");
    assert_eq!(parse("plasmite", ["version"]).unwrap().bin, "plasmite");
    let e = parse("plasmite", ["get"]).unwrap_err();
    assert_eq!(e.hint, "Try `plasmite get --help`.");
}

#[cfg(unix)]
#[test]
fn non_utf8_arguments_fail_cleanly() {
    use std::os::unix::ffi::OsStringExt;
    let bad = || OsString::from_vec(vec![b'a', 0xff, b'b']);

    let e = parse("pls", vec![OsString::from("peek"), bad()]).unwrap_err();
    assert!(
        e.message.starts_with("invalid UTF-8 in the value of POOL"),
        "{}",
        e.message
    );
    let e = parse("pls", vec![bad()]).unwrap_err();
    assert!(
        e.message.starts_with("unrecognized command"),
        "{}",
        e.message
    );
    let e = parse(
        "pls",
        vec![
            OsString::from("peek"),
            OsString::from("p"),
            OsString::from("--where"),
            bad(),
        ],
    )
    .unwrap_err();
    assert!(e
        .message
        .starts_with("invalid UTF-8 in the value of --where"));
    let mut flag = b"--ta".to_vec();
    flag.push(0xff);
    let e = parse(
        "pls",
        vec![OsString::from("peek"), OsString::from_vec(flag)],
    )
    .unwrap_err();
    assert!(
        e.message.starts_with("unexpected argument '--ta"),
        "{}",
        e.message
    );
    let e = parse(
        "pls",
        vec![OsString::from("-"), OsString::from_vec(vec![b'-', 0xff])],
    );
    assert!(e.is_err());

    // Paths may be any bytes.
    let cli = parse(
        "pls",
        vec![
            OsString::from("--dir"),
            bad(),
            OsString::from("pool"),
            OsString::from("list"),
        ],
    )
    .unwrap();
    assert_eq!(cli.global.dir, Some(PathBuf::from(bad())));
    match parse("pls", vec!["poke".into(), "p".into(), "-f".into(), bad()])
        .unwrap()
        .command
    {
        Command::Poke(a) => assert_eq!(a.file, Some(FileArg::Path(PathBuf::from(bad())))),
        other => panic!("{other:?}"),
    }
}

fn bench_of(args: &[&str]) -> BenchArgs {
    match cmd(args) {
        Command::Bench(a) => a,
        other => panic!("not bench: {other:?}"),
    }
}

#[test]
fn bench_command() {
    let defaults = BenchArgs {
        quick: false,
        messages: None,
        size: "100".into(),
        pool_size: None,
        writers: 4,
        json: false,
        dir: None,
    };
    assert_eq!(bench_of(&["bench"]), defaults);
    assert_eq!(
        bench_of(&[
            "bench",
            "--quick",
            "--messages",
            "5000",
            "--size",
            "4K",
            "--pool-size",
            "16M",
            "--writers",
            "8",
            "--json",
        ]),
        BenchArgs {
            quick: true,
            messages: Some(5000),
            size: "4K".into(),
            pool_size: Some("16M".into()),
            writers: 8,
            json: true,
            dir: None,
        }
    );
    // The global --dir says where the temporary pools go, on either side of the command.
    for args in [
        &["--dir", "/mnt/x", "bench"][..],
        &["bench", "--dir", "/mnt/x"][..],
    ] {
        let a = bench_of(args);
        assert_eq!(a.dir, Some(PathBuf::from("/mnt/x")), "{args:?}");
        assert_eq!(parse_pls(args).unwrap().global.dir, a.dir);
    }
    let e = err(&["bench", "--writers", "65"]);
    assert_eq!(
        e.message,
        "invalid value '65' for --writers (expected an integer from 0 to 64)"
    );
    assert_eq!(e.hint, "Try `pls bench --help`.");
    let e = err(&["bench", "--messages", "-3"]);
    assert_eq!(
        e.message,
        "invalid value '-3' for --messages (expected a non-negative integer)"
    );
    let e = err(&["bench", "chat"]);
    assert_eq!(e.message, "unexpected argument 'chat'");
    let e = err(&["bench", "--quik"]);
    assert_eq!(e.hint, "Did you mean `--quick`? Try `pls bench --help`.");
    assert!(help_of(&["bench", "--help"]).contains("--pool-size SIZE"));
}

#[test]
fn bench_worker_is_hidden_but_parses() {
    match cmd(&["bench-worker", "writer", "/tmp/w.plasmite", "1000", "100"]) {
        Command::BenchWorker(a) => assert_eq!(
            a,
            BenchWorkerArgs {
                role: plasmite::bench::Role::Writer,
                pool: PathBuf::from("/tmp/w.plasmite"),
                count: 1000,
                size: 100,
            }
        ),
        other => panic!("not bench-worker: {other:?}"),
    }
    let e = err(&["bench-worker", "reader", "p", "1", "1"]);
    assert_eq!(
        e.message,
        "invalid value 'reader' for ROLE (expected waiter or writer)"
    );
    let e = err(&["bench-worker", "waiter", "p"]);
    assert_eq!(
        e.message,
        "the following required arguments were not provided: COUNT, SIZE"
    );
    // Never suggested for a typo, never listed.
    let e = err(&["bench-workr"]);
    assert!(!e.hint.contains("bench-worker"), "{}", e.hint);
    assert!(!help_of(&[]).contains("bench-worker"));
    // Its own help still works, for whoever finds it in `ps`.
    assert!(help_of(&["help", "bench-worker"]).contains("Not meant to be run by hand"));
}

/// A deterministic soup of arguments: parsing must never panic.
#[test]
fn no_panic_on_arbitrary_input() {
    let mut atoms: Vec<String> = vec![
        "-".into(),
        "--".into(),
        "-=".into(),
        "--=".into(),
        "-n=".into(),
        "=".into(),
        "".into(),
        "-nn5".into(),
        "-hV".into(),
        "---".into(),
        "--tail=".into(),
        "é".into(),
        "-é".into(),
        "x".into(),
        "5".into(),
        "{}".into(),
    ];
    for spec in COMMANDS {
        atoms.extend(spec.path.iter().map(|w| (*w).to_owned()));
        for flag in spec.flags.iter().chain(GLOBAL_FLAGS) {
            atoms.push(format!("--{}", flag.long));
            atoms.push(format!("--{}=1", flag.long));
            if let Some(c) = flag.short {
                atoms.push(format!("-{c}"));
            }
            if let Kind::Choice(names) = flag.kind {
                atoms.extend(names.iter().map(|n| (*n).to_owned()));
            }
        }
    }
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..20_000 {
        let len = (next() % 7) as usize;
        let args: Vec<String> = (0..len)
            .map(|_| atoms[(next() % atoms.len() as u64) as usize].clone())
            .collect();
        let _ = parse("pls", args);
    }
}

// ---------------------------------------------------------------------------------------------
// The table itself
// ---------------------------------------------------------------------------------------------

#[test]
fn table_is_consistent() {
    let ids = [
        CommandId::Root,
        CommandId::Pool,
        CommandId::PoolCreate,
        CommandId::PoolList,
        CommandId::PoolInfo,
        CommandId::PoolDelete,
        CommandId::Poke,
        CommandId::Peek,
        CommandId::Get,
        CommandId::Serve,
        CommandId::ServeCheck,
        CommandId::ServeInit,
        CommandId::Doctor,
        CommandId::Bench,
        CommandId::BenchWorker,
        CommandId::Version,
        CommandId::Completion,
        CommandId::Help,
    ];
    assert_eq!(COMMANDS.len(), ids.len());
    for id in ids {
        assert_eq!(COMMANDS.iter().filter(|c| c.id == id).count(), 1, "{id:?}");
        assert_eq!(spec::by_id(id).id, id);
    }
    assert_eq!(spec::root().id, CommandId::Root);

    for spec in COMMANDS {
        let name = spec.name();
        assert!(!spec.summary.is_empty() && !spec.about.is_empty(), "{name}");
        if !spec.path.is_empty() {
            let parent = spec::command(&spec.path[..spec.path.len() - 1]).expect("parent exists");
            let word = spec.path[spec.path.len() - 1];
            assert_eq!(parent.subcommand(word).map(|c| c.id), Some(spec.id));
            // Hidden commands parse, but users are never shown them.
            assert_eq!(
                parent.children().any(|c| c.id == spec.id),
                !spec.hidden,
                "{name}"
            );
            assert!(
                (2..=4).contains(&spec.examples.len()),
                "{name}: 2-4 examples"
            );
        }
        // Names are unique within the command, global flags included.
        let flags: Vec<_> = spec.flags.iter().chain(GLOBAL_FLAGS).collect();
        for (i, a) in flags.iter().enumerate() {
            for b in &flags[i + 1..] {
                assert_ne!(a.long, b.long, "{name}");
                assert!(
                    a.short.is_none() || a.short != b.short,
                    "{name}: -{:?}",
                    a.short
                );
            }
            assert!(!a.long.starts_with('-') && a.long.len() > 1);
            assert_eq!(
                a.kind.takes_value(),
                !a.value_name.is_empty(),
                "--{}",
                a.long
            );
            assert!(!a.help.is_empty());
            assert!(!a.repeatable || a.kind.takes_value(), "--{}", a.long);
            match (a.default, a.kind) {
                (Default::Value(v), Kind::Number { max }) => {
                    assert!(v.parse::<u64>().is_ok_and(|n| n <= max), "--{}", a.long)
                }
                (Default::Value(v), Kind::Choice(names)) => {
                    assert!(names.contains(&v), "--{}", a.long)
                }
                (Default::Value(_), Kind::Switch) => panic!("switch --{} has a default", a.long),
                _ => {}
            }
        }
        // Variadic positionals only in last position; no optional before required.
        for (i, p) in spec.positionals.iter().enumerate() {
            assert_ne!(p.kind, Kind::Switch);
            if matches!(p.arity, Arity::OneOrMore | Arity::ZeroOrMore) {
                assert_eq!(i + 1, spec.positionals.len(), "{name}");
            }
            if i > 0 && matches!(p.arity, Arity::Required | Arity::OneOrMore) {
                assert!(matches!(spec.positionals[i - 1].arity, Arity::Required));
            }
        }
        if spec.group {
            assert!(spec.positionals.is_empty() && spec.flags.is_empty());
            assert!(spec.children().next().is_some());
        }
        // Subcommands and positionals cannot share a command (the parser would not know which).
        if spec.children().next().is_some() {
            assert!(spec.positionals.is_empty(), "{name}");
        }
    }

    // A long name (or short letter) means the same kind of thing everywhere, which the
    // completion scripts rely on.
    let all: Vec<_> = COMMANDS
        .iter()
        .flat_map(|c| c.flags.iter())
        .chain(GLOBAL_FLAGS)
        .collect();
    for a in &all {
        for b in &all {
            if a.long == b.long {
                assert_eq!(a.kind.family(), b.kind.family(), "--{}", a.long);
                if let (Kind::Choice(x), Kind::Choice(y)) = (a.kind, b.kind) {
                    assert_eq!(x, y);
                }
            }
            if a.short.is_some() && a.short == b.short {
                assert_eq!(a.long, b.long);
            }
        }
    }

    // Choice enums round-trip.
    for name in Color::NAMES {
        assert_eq!(Color::from_name(name).map(Color::name), Some(*name));
    }
    for name in Access::NAMES {
        assert_eq!(
            Access::from_name(name).map(|a| a.to_string()).as_deref(),
            Some(*name)
        );
    }
    assert_eq!(Shell::from_name("tcsh"), None);
}

/// Minimal valid arguments for a command (its required positionals).
fn minimal_args(spec: &spec::CommandSpec) -> Vec<String> {
    let mut args: Vec<String> = spec.path.iter().map(|w| (*w).to_owned()).collect();
    for p in spec.positionals {
        if matches!(p.arity, Arity::Required | Arity::OneOrMore) {
            args.push(match p.kind {
                Kind::Number { .. } => "1".to_owned(),
                Kind::Choice(names) => names[0].to_owned(),
                _ => "p".to_owned(),
            });
        }
    }
    if spec.id == CommandId::Doctor {
        args.push("p".to_owned());
    }
    args
}

/// Every flag of the table changes the parsed result: the builders read every flag (catches
/// a misspelt name in `mod.rs`) and the flag reaches the typed value.
#[test]
fn every_flag_reaches_the_typed_result() {
    for spec in COMMANDS
        .iter()
        .filter(|c| !c.group && c.id != CommandId::Help)
    {
        let base = minimal_args(spec);
        for flag in spec.flags {
            // Flags that need a companion, or replace a positional.
            let mut base_for_flag = base.clone();
            match (spec.id, flag.long) {
                (CommandId::Poke, "create-size") => base_for_flag.push("--create".into()),
                (CommandId::Poke, "retry-delay") => {
                    base_for_flag.extend(["--retry".into(), "1".into()])
                }
                (CommandId::Doctor, "all") => {
                    base_for_flag.pop();
                }
                _ => {}
            }
            let baseline = if spec.id == CommandId::Doctor && flag.long == "all" {
                cmd(&base.iter().map(String::as_str).collect::<Vec<_>>())
            } else {
                cmd(&base_for_flag.iter().map(String::as_str).collect::<Vec<_>>())
            };
            let mut with = base_for_flag.clone();
            with.push(format!("--{}", flag.long));
            match flag.kind {
                Kind::Switch => {}
                Kind::Number { .. } => with.push("7".into()),
                Kind::Choice(names) => {
                    let default = match flag.default {
                        Default::Value(v) => v,
                        _ => "",
                    };
                    let other = names.iter().find(|n| **n != default).expect("2+ choices");
                    with.push((*other).to_owned());
                }
                Kind::Text | Kind::Pool | Kind::File | Kind::Dir => with.push("zz-value".into()),
            }
            let parsed = cmd(&with.iter().map(String::as_str).collect::<Vec<_>>());
            assert_ne!(
                parsed,
                baseline,
                "{} --{} has no effect",
                spec.name(),
                flag.long
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Help
// ---------------------------------------------------------------------------------------------

#[test]
fn help_covers_the_table() {
    for bin in ["pls", "plasmite"] {
        for spec in COMMANDS {
            let text = super::help(bin, spec.path).unwrap();
            let name = spec.name();
            for line in text.lines() {
                assert!(line.chars().count() <= 100, "{bin} {name}: {line:?}");
                assert_eq!(line, line.trim_end(), "trailing space in {name}");
            }
            assert!(text.contains("USAGE:"), "{name}");
            assert!(text.contains("GLOBAL OPTIONS"), "{name}");
            assert!(!text.contains("{bin}"), "{name}: unsubstituted placeholder");
            for flag in spec.flags.iter().chain(GLOBAL_FLAGS) {
                assert!(
                    text.contains(&format!("--{}", flag.long)),
                    "{name}: --{}",
                    flag.long
                );
                if let Some(c) = flag.short {
                    assert!(text.contains(&format!("-{c}, --{}", flag.long)), "{name}");
                }
                if flag.kind.takes_value() {
                    let shown = format!("--{} {}", flag.long, flag.value_name);
                    assert!(text.contains(&shown), "{name}: {shown}");
                }
                match flag.default {
                    Default::Value(v) | Default::Note(v) => {
                        assert!(
                            text.contains(&format!("[default: {v}]")),
                            "{name} --{}",
                            flag.long
                        )
                    }
                    Default::None => {}
                }
                if let Kind::Choice(names) = flag.kind {
                    assert!(text.contains(&names.join(", ")), "{name} --{}", flag.long);
                }
            }
            for p in spec.positionals {
                assert!(text.contains(p.name), "{name}: {}", p.name);
            }
            for child in spec.children() {
                let word = child.path.last().unwrap();
                assert!(text.contains(word), "{name}: {word}");
                assert!(text.contains(child.summary), "{name}: {}", child.summary);
            }
            for example in spec.examples {
                let first = example
                    .command
                    .lines()
                    .next()
                    .unwrap()
                    .replace("{bin}", bin);
                assert!(text.contains(&first), "{name}: {first}");
            }
        }
    }
}

#[test]
fn root_help_content() {
    let text = super::help("plasmite", &[]).unwrap();
    for needle in [
        "poke",
        "peek",
        "get",
        "USAGE:",
        "COMMANDS:",
        "GLOBAL OPTIONS",
        "EXAMPLES:",
        "ENVIRONMENT:",
        "PLASMITE_DIR",
        "LEARN MORE:",
        "Manage pool files",
        "plasmite pool list",
        "plasmite pool create|list|info|delete",
    ] {
        assert!(text.contains(needle), "missing {needle:?}");
    }
    // Commands in the documented order.
    let order = [
        "pool",
        "poke",
        "peek",
        "get",
        "serve",
        "doctor",
        "bench",
        "version",
        "completion",
        "help",
    ];
    assert!(
        !text.contains("bench-worker"),
        "hidden commands stay out of help"
    );
    let section = text.split("COMMANDS:").nth(1).unwrap();
    let positions: Vec<usize> = order
        .iter()
        .map(|w| {
            section
                .find(&format!("\n    {w} "))
                .unwrap_or_else(|| panic!("{w}"))
        })
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
}

// ---------------------------------------------------------------------------------------------
// Completions
// ---------------------------------------------------------------------------------------------

#[test]
fn completion_scripts_cover_the_table() {
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        let script = completion_script(shell);
        assert!(
            script.contains("plasmite") && script.contains("pls"),
            "{shell}"
        );
        assert!(script.contains("_plasmite"), "{shell}");
        assert!(script.contains(".plasmite"), "{shell}: pool names");
        assert!(script.contains("PLASMITE_DIR"), "{shell}");
        for spec in COMMANDS.iter().filter(|c| c.hidden) {
            let word = spec.path.last().unwrap();
            assert!(!script.contains(word), "{shell}: hidden {word}");
        }
        for spec in spec::listed() {
            for word in spec.path {
                assert!(script.contains(word), "{shell}: {word}");
            }
            for flag in spec.flags.iter().chain(GLOBAL_FLAGS) {
                let needle = match shell {
                    Shell::Fish => format!("-l {}", flag.long),
                    Shell::Bash | Shell::Zsh => format!("--{}", flag.long),
                };
                assert!(script.contains(&needle), "{shell}: {needle}");
                if let Some(c) = flag.short {
                    let needle = match shell {
                        Shell::Fish => format!("-s {c}"),
                        Shell::Bash | Shell::Zsh => format!("-{c}"),
                    };
                    assert!(script.contains(&needle), "{shell}: {needle}");
                }
                if let Kind::Choice(names) = flag.kind {
                    assert!(script.contains(&names.join(" ")), "{shell}: {names:?}");
                }
            }
        }
        assert!(script.contains("bash zsh fish"), "{shell}: shells");
    }
    assert!(completion_script(Shell::Zsh).starts_with("#compdef pls plasmite\n"));
}

fn have(shell: &str) -> bool {
    std::process::Command::new(shell)
        .arg("-c")
        .arg("true")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn run_shell(shell: &str, args: &[&str], script: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = std::process::Command::new(shell)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn shell");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(script.as_bytes())
        .expect("write script");
    child.wait_with_output().expect("shell output")
}

#[test]
fn completion_scripts_are_valid_syntax() {
    for (shell, args) in [
        ("bash", &["-n"][..]),
        ("zsh", &["-n"]),
        ("fish", &["--no-execute"]),
    ] {
        if !have(shell) {
            continue;
        }
        let script = completion_script(Shell::from_name(shell).unwrap());
        let out = run_shell(shell, args, &script);
        assert!(
            out.status.success(),
            "{shell}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Drives the bash completion function the way readline would and returns the candidates.
fn bash_complete(line_words: &[&str], pool_dir: &std::path::Path) -> Vec<String> {
    let script = completion_script(Shell::Bash);
    let words: Vec<String> = line_words.iter().map(|w| format!("'{w}'")).collect();
    let test = format!(
        "{script}\nexport PLASMITE_DIR='{}'\nCOMP_WORDS=({})\nCOMP_CWORD={}\n_plasmite\n\
         printf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        pool_dir.display(),
        words.join(" "),
        line_words.len() - 1
    );
    let out = run_shell("bash", &["--norc", "--noprofile"], &test);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    lines.sort();
    lines
}

#[test]
fn bash_completion_behaves() {
    if !have("bash") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("plasmite-args-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["chat.plasmite", "ci.plasmite", "notes.txt"] {
        std::fs::write(dir.join(name), b"").unwrap();
    }
    let other = dir.join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("elsewhere.plasmite"), b"").unwrap();

    assert_eq!(bash_complete(&["pls", "pe"], &dir), ["peek"]);
    assert_eq!(bash_complete(&["pls", "be"], &dir), ["bench"]);
    assert_eq!(bash_complete(&["pls", "bench", "--w"], &dir), ["--writers"]);
    assert_eq!(
        bash_complete(&["pls", "pool", ""], &dir),
        ["create", "delete", "info", "list"]
    );
    assert_eq!(
        bash_complete(&["pls", "serve", "--bind", "x", ""], &dir),
        ["check", "init"]
    );
    assert_eq!(bash_complete(&["pls", "peek", ""], &dir), ["chat", "ci"]);
    assert_eq!(bash_complete(&["pls", "peek", "c"], &dir), ["chat", "ci"]);
    assert_eq!(
        bash_complete(&["pls", "poke", "chat", ""], &dir),
        Vec::<String>::new()
    );
    assert_eq!(
        bash_complete(&["pls", "--color", "never", "get", "ch"], &dir),
        ["chat"]
    );
    assert_eq!(
        bash_complete(&["pls", "pool", "delete", "chat", ""], &dir),
        ["chat", "ci"]
    );
    let other_dir = other.to_string_lossy().into_owned();
    assert_eq!(
        bash_complete(&["pls", "--dir", &other_dir, "peek", ""], &dir),
        ["elsewhere"]
    );
    assert_eq!(
        bash_complete(&["pls", "peek", "chat", "--format", ""], &dir),
        ["jsonl", "pretty"]
    );
    assert_eq!(
        bash_complete(&["pls", "peek", "chat", "--format", "=", "j"], &dir),
        ["jsonl"]
    );
    assert_eq!(
        bash_complete(&["pls", "peek", "chat", "--ta"], &dir),
        ["--tag", "--tail"]
    );
    assert_eq!(
        bash_complete(&["pls", "peek", "--tail", "3", ""], &dir),
        ["chat", "ci"]
    );
    assert!(bash_complete(&["pls", "peek", "chat", "--"], &dir).contains(&"--dir".to_owned()));
    assert_eq!(
        bash_complete(&["pls", "poke", "chat", "-i", "j"], &dir),
        ["jq", "json", "jsonl"]
    );
    assert_eq!(
        bash_complete(&["pls", "completion", ""], &dir),
        ["bash", "fish", "zsh"]
    );
    assert_eq!(
        bash_complete(&["pls", "help", "pool", "c"], &dir),
        ["create"]
    );
    assert_eq!(
        bash_complete(&["plasmite", "--color", ""], &dir),
        ["always", "auto", "never"]
    );
    // A URL is one word (bash splits it at ':'), so the next word is DATA, not a pool.
    assert_eq!(
        bash_complete(
            &["pls", "poke", "http", ":", "//h", ":", "9700/x", ""],
            &dir
        ),
        Vec::<String>::new()
    );

    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn fish_completion_behaves() {
    if !have("fish") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("plasmite-args-fish-{}", std::process::id()));
    let other = dir.join("other");
    std::fs::create_dir_all(&other).unwrap();
    for name in ["chat.plasmite", "ci.plasmite", "notes.txt"] {
        std::fs::write(dir.join(name), b"").unwrap();
    }
    std::fs::write(other.join("elsewhere.plasmite"), b"").unwrap();

    let cases: &[(&str, &[&str])] = &[
        ("pls pe", &["peek"]),
        ("pls be", &["bench"]),
        ("pls peek ", &["chat", "ci"]),
        ("pls pool ", &["create", "delete", "info", "list"]),
        ("pls pool delete chat ", &["chat", "ci"]),
        ("pls peek chat --format ", &["jsonl", "pretty"]),
        ("pls peek chat --ta", &["--tag", "--tail"]),
        ("pls help pool ", &["create", "delete", "info", "list"]),
        ("plasmite completion ", &["bash", "fish", "zsh"]),
        ("pls serve --bind x ", &["check", "init"]),
        ("pls poke chat -i ", &["auto", "jq", "json", "jsonl", "seq"]),
        ("pls poke chat ", &[]),
    ];
    let mut script = completion_script(Shell::Fish);
    script.push_str(&format!("set -x PLASMITE_DIR '{}'\n", dir.display()));
    for (line, _) in cases {
        script.push_str(&format!(
            "echo '=='; complete -C '{line}' | string replace -r '\\t.*' '' | sort\n"
        ));
    }
    script.push_str(&format!(
        "echo '=='; complete -C 'pls --dir {} peek ' | string replace -r '\\t.*' ''\n",
        other.display()
    ));
    let out = run_shell("fish", &["--no-config"], &script);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let blocks: Vec<Vec<&str>> = stdout
        .split("==\n")
        .skip(1)
        .map(|b| b.lines().collect())
        .collect();
    assert_eq!(blocks.len(), cases.len() + 1, "{stdout}");
    for ((line, expected), got) in cases.iter().zip(&blocks) {
        assert_eq!(got.as_slice(), *expected, "{line:?}");
    }
    assert_eq!(blocks[cases.len()], ["elsewhere"]);
    std::fs::remove_dir_all(&dir).ok();
}
