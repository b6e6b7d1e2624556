//! The command table: every command, positional argument and flag of `pls`, described once.
//!
//! Everything user-facing about the command line is generated from this table — the parser
//! (`engine.rs`), the help text (`help.rs`) and the shell completions (`complete.rs`) — so the
//! three cannot drift apart. This follows ripgrep's model (one definition per flag carrying its
//! names, value, default, category and docs), reduced to plain data: flags are `const` values
//! and commands list the flags they accept.
//!
//! Text may contain the placeholder `{bin}`, replaced by the program name (`pls` or
//! `plasmite`) when rendered, so help and hints name the binary the user actually typed.

use super::{Access, Color, Durability, ErrorPolicy, InputFormat, OutputFormat, Shell};

/// What kind of value a flag or positional argument takes.
///
/// The kind drives validation in the parser, the value shown in help, and how shells complete
/// the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The flag takes no value (an on/off switch).
    Switch,
    /// Free text, kept as a UTF-8 `String` (sizes, durations and times stay text here; they are
    /// parsed by `units.rs`).
    Text,
    /// A non-negative integer no greater than `max`.
    Number {
        /// Largest accepted value (e.g. `u32::MAX` for an index capacity).
        max: u64,
    },
    /// One of a fixed set of names.
    Choice(&'static [&'static str]),
    /// A file path; kept as an `OsString`-backed `PathBuf` so non-UTF-8 paths work.
    File,
    /// A directory path; kept as a `PathBuf`.
    Dir,
    /// A pool reference: a name, a path, or (for poke/peek) an `http(s)://host:port/POOL` URL.
    /// Shells complete it with the names of the pools in the pool directory.
    Pool,
}

impl Kind {
    /// True when the flag consumes a value.
    pub fn takes_value(self) -> bool {
        self != Kind::Switch
    }

    /// The kind with its payload erased, so two kinds can be compared for "same sort of value"
    /// (used to check that a long flag name means the same kind of value in every command).
    pub fn family(self) -> &'static str {
        match self {
            Kind::Switch => "switch",
            Kind::Text => "text",
            Kind::Number { .. } => "number",
            Kind::Choice(_) => "choice",
            Kind::File => "file",
            Kind::Dir => "dir",
            Kind::Pool => "pool",
        }
    }
}

/// The default of a flag, as shown in help and (for [`Default::Value`]) applied by the parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Default {
    /// No default worth showing: the flag is simply absent.
    None,
    /// The parser fills this value in when the flag is absent, and help shows it — one string,
    /// so the documented default is the applied default.
    Value(&'static str),
    /// Shown in help only; the caller derives the effective value (e.g. `auto` sizing, or a
    /// default that depends on another flag).
    Note(&'static str),
}

/// The help section a flag is listed under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// Ordinary options (`OPTIONS`).
    General,
    /// Where input comes from and how it is split into messages.
    Input,
    /// Properties of the written message.
    Message,
    /// Pool creation and access.
    Pool,
    /// Which messages a reader starts with and when it stops.
    Selection,
    /// Message filters.
    Filter,
    /// Output formatting.
    Output,
    /// Retry behaviour.
    Retry,
    /// Options that only apply to `http(s)://` pool URLs.
    Remote,
    /// Listening address and access.
    Network,
    /// Tokens and TLS.
    Security,
    /// Server resource limits.
    Limits,
    /// Files written by `serve init`.
    Artifacts,
    /// Options accepted by every command.
    Global,
}

impl Category {
    /// The section heading used in help.
    pub fn heading(self) -> &'static str {
        match self {
            Category::General => "OPTIONS",
            Category::Input => "INPUT",
            Category::Message => "MESSAGE",
            Category::Pool => "POOL",
            Category::Selection => "WHICH MESSAGES",
            Category::Filter => "FILTERS",
            Category::Output => "OUTPUT",
            Category::Retry => "RETRIES",
            Category::Remote => "REMOTE POOLS (http/https URLs)",
            Category::Network => "NETWORK",
            Category::Security => "AUTH AND TLS",
            Category::Limits => "LIMITS",
            Category::Artifacts => "FILES",
            Category::Global => "GLOBAL OPTIONS",
        }
    }
}

/// One flag (`--long`, optionally `-s`) of one command.
#[derive(Debug, Clone, Copy)]
pub struct Flag {
    /// Long name without the leading `--`.
    pub long: &'static str,
    /// Optional one-letter alias.
    pub short: Option<char>,
    /// What the flag takes; [`Kind::Switch`] for on/off flags.
    pub kind: Kind,
    /// Name of the value in help, e.g. `N` in `--tail N` (empty for switches).
    pub value_name: &'static str,
    /// Default, shown in help and applied by the parser when it is a [`Default::Value`].
    pub default: Default,
    /// Whether the flag may be given several times (values accumulate in order).
    pub repeatable: bool,
    /// Help section.
    pub category: Category,
    /// One-line description (may use `{bin}`).
    pub help: &'static str,
}

impl Flag {
    /// A switch (no value).
    const fn switch(long: &'static str, category: Category, help: &'static str) -> Flag {
        Flag {
            long,
            short: None,
            kind: Kind::Switch,
            value_name: "",
            default: Default::None,
            repeatable: false,
            category,
            help,
        }
    }

    /// A flag taking a value.
    const fn value(
        long: &'static str,
        value_name: &'static str,
        kind: Kind,
        category: Category,
        help: &'static str,
    ) -> Flag {
        Flag {
            long,
            short: None,
            kind,
            value_name,
            default: Default::None,
            repeatable: false,
            category,
            help,
        }
    }

    const fn short(mut self, short: char) -> Flag {
        self.short = Some(short);
        self
    }

    const fn default_value(mut self, value: &'static str) -> Flag {
        self.default = Default::Value(value);
        self
    }

    const fn default_note(mut self, note: &'static str) -> Flag {
        self.default = Default::Note(note);
        self
    }

    const fn repeatable(mut self) -> Flag {
        self.repeatable = true;
        self
    }
}

/// How many values a positional argument takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arity {
    /// Exactly one.
    Required,
    /// Zero or one.
    Optional,
    /// One or more (must be the last positional).
    OneOrMore,
    /// Zero or more (must be the last positional).
    ZeroOrMore,
}

/// A positional argument of a command.
#[derive(Debug, Clone, Copy)]
pub struct Positional {
    /// Upper-case name shown in usage lines and errors, e.g. `POOL`.
    pub name: &'static str,
    /// Value kind (validation and completion); never [`Kind::Switch`].
    pub kind: Kind,
    /// How many values it takes.
    pub arity: Arity,
    /// One-line description (may use `{bin}`).
    pub help: &'static str,
}

/// A worked example shown in help.
#[derive(Debug, Clone, Copy)]
pub struct Example {
    /// What the example does (rendered as a `#` comment).
    pub comment: &'static str,
    /// The command line; `{bin}` is replaced by the program name.
    pub command: &'static str,
}

/// Identifies a command of the table, so code can match on it exhaustively.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandId {
    /// The program itself (`pls` with global options only).
    Root,
    /// `pool`: a group of pool-management commands.
    Pool,
    /// `pool create`.
    PoolCreate,
    /// `pool list`.
    PoolList,
    /// `pool info`.
    PoolInfo,
    /// `pool delete`.
    PoolDelete,
    /// `poke`.
    Poke,
    /// `peek`.
    Peek,
    /// `get`.
    Get,
    /// `serve` (runs the server; also the group of `serve init|check`).
    Serve,
    /// `serve check`.
    ServeCheck,
    /// `serve init`.
    ServeInit,
    /// `doctor`.
    Doctor,
    /// `bench`.
    Bench,
    /// `bench-worker` (hidden): one process of a `bench` cross-process measurement.
    BenchWorker,
    /// `version`.
    Version,
    /// `completion`.
    Completion,
    /// `help`.
    Help,
}

/// One command (or subcommand) of the table.
#[derive(Debug, Clone, Copy)]
pub struct CommandSpec {
    /// Identity for exhaustive matching.
    pub id: CommandId,
    /// Words that select the command, e.g. `["pool", "create"]` (empty for the root).
    pub path: &'static [&'static str],
    /// One line for command lists (and completion descriptions).
    pub summary: &'static str,
    /// A paragraph shown at the top of the command's help (may use `{bin}`).
    pub about: &'static str,
    /// Positional arguments in order.
    pub positionals: &'static [Positional],
    /// Flags accepted by this command (global flags are accepted in addition).
    pub flags: &'static [Flag],
    /// True when the command only groups subcommands and does nothing by itself.
    pub group: bool,
    /// True for internal commands the program runs itself (`bench-worker`): they parse like
    /// any other, but help, completions and suggestions leave them out.
    pub hidden: bool,
    /// Examples for help (2–4 per command).
    pub examples: &'static [Example],
    /// Hint used instead of ``Try `{bin} CMD --help`.`` when a required positional is missing.
    pub missing_hint: Option<&'static str>,
}

impl CommandSpec {
    /// The command words joined with spaces (`"pool create"`; empty for the root).
    pub fn name(&self) -> String {
        self.path.join(" ")
    }

    /// The direct subcommands of this command that users see, in table order (hidden ones
    /// are left out; the parser finds those through [`CommandSpec::subcommand`]).
    pub fn children(&self) -> impl Iterator<Item = &'static CommandSpec> + '_ {
        self.all_children().filter(|c| !c.hidden)
    }

    /// The direct subcommand named `word`, hidden ones included.
    pub fn subcommand(&self, word: &str) -> Option<&'static CommandSpec> {
        self.all_children().find(|c| c.path.last() == Some(&word))
    }

    fn all_children(&self) -> impl Iterator<Item = &'static CommandSpec> + '_ {
        COMMANDS
            .iter()
            .filter(move |c| c.path.len() == self.path.len() + 1 && c.path.starts_with(self.path))
    }

    /// Looks up a flag of this command by long name.
    pub fn flag(&self, long: &str) -> Option<&'static Flag> {
        self.flags.iter().find(|f| f.long == long)
    }
}

/// Looks up a command by its words (`&["pool", "create"]`).
pub fn command(path: &[&str]) -> Option<&'static CommandSpec> {
    COMMANDS.iter().find(|c| c.path == path)
}

/// The commands users see: every entry of [`COMMANDS`] but the hidden ones.
pub fn listed() -> impl Iterator<Item = &'static CommandSpec> {
    COMMANDS.iter().filter(|c| !c.hidden)
}

/// The root entry of [`COMMANDS`].
pub fn root() -> &'static CommandSpec {
    &COMMANDS[0]
}

/// Looks up a command by identity.
pub fn by_id(id: CommandId) -> &'static CommandSpec {
    // Every id has exactly one entry (a unit test asserts it); fall back to the root rather
    // than panic should the table ever be edited inconsistently.
    COMMANDS.iter().find(|c| c.id == id).unwrap_or(&COMMANDS[0])
}

// ---------------------------------------------------------------------------------------------
// Flags
// ---------------------------------------------------------------------------------------------

use Category as C;

/// Numeric limits for [`Kind::Number`].
const ANY_U64: Kind = Kind::Number { max: u64::MAX };
const ANY_U32: Kind = Kind::Number {
    max: u32::MAX as u64,
};

/// Options accepted before or after any command.
pub const GLOBAL_FLAGS: &[Flag] = &[
    Flag::value(
        "dir",
        "DIR",
        Kind::Dir,
        C::Global,
        "Pool directory used to resolve bare pool names",
    )
    .default_note("$PLASMITE_DIR, else ~/.plasmite/pools"),
    Flag::value(
        "color",
        "WHEN",
        Kind::Choice(Color::NAMES),
        C::Global,
        "When to color pretty JSON and terminal diagnostics",
    )
    .default_value("auto"),
    Flag::switch("help", C::Global, "Print help (also: `{bin} help COMMAND`)").short('h'),
    Flag::switch("version", C::Global, "Print the version").short('V'),
];

// Shared by several commands: defined once, listed by each command that accepts it.

const JSON: Flag = Flag::switch("json", C::Output, "Print JSON instead of a table or text");

const REMOTE_TOKEN_FILE: Flag = Flag::value(
    "token-file",
    "FILE",
    Kind::File,
    C::Remote,
    "Send the bearer token stored in FILE (e.g. from `{bin} serve init`)",
);

const REMOTE_TLS_CA: Flag = Flag::value(
    "tls-ca",
    "FILE",
    Kind::File,
    C::Remote,
    "Trust the PEM certificate(s) in FILE for https URLs (e.g. a self-signed serve-cert.pem)",
);

const POKE_FLAGS: &[Flag] = &[
    Flag::value(
        "file",
        "PATH",
        Kind::File,
        C::Input,
        "Read messages from PATH instead of DATA (`-` reads stdin)",
    )
    .short('f'),
    Flag::value(
        "in",
        "MODE",
        Kind::Choice(InputFormat::NAMES),
        C::Input,
        "How to split a stream into messages: auto-detect, JSON Lines, one JSON document, \
         RFC 7464 json-seq, or concatenated JSON values",
    )
    .short('i')
    .default_value("auto"),
    Flag::value(
        "errors",
        "POLICY",
        Kind::Choice(ErrorPolicy::NAMES),
        C::Input,
        "On a malformed stream record: stop, or skip it with a notice (exit status 1 at the end)",
    )
    .short('e')
    .default_value("stop"),
    Flag::value(
        "tag",
        "TAG",
        Kind::Text,
        C::Message,
        "Attach TAG to the message (order is kept)",
    )
    .repeatable(),
    Flag::value(
        "durability",
        "MODE",
        Kind::Choice(Durability::NAMES),
        C::Message,
        "fast returns once the message is in the pool; flush also flushes it to disk",
    )
    .default_value("fast"),
    Flag::switch(
        "create",
        C::Pool,
        "Create the pool if it does not exist (local pools only)",
    ),
    Flag::value(
        "create-size",
        "SIZE",
        Kind::Text,
        C::Pool,
        "Size of a pool made by --create, in bytes or with K/M/G (needs --create)",
    )
    .default_note("1M"),
    Flag::value(
        "retry",
        "N",
        ANY_U64,
        C::Retry,
        "Retry an append that failed because the pool was busy, up to N times",
    )
    .default_value("0"),
    Flag::value(
        "retry-delay",
        "DUR",
        Kind::Text,
        C::Retry,
        "Wait DUR between retries: a number plus ms, s, m or h (needs --retry)",
    )
    .default_note("50ms"),
    REMOTE_TOKEN_FILE,
    REMOTE_TLS_CA,
];

const PEEK_FLAGS: &[Flag] = &[
    Flag::value(
        "tail",
        "N",
        ANY_U64,
        C::Selection,
        "Print the last N matching messages first, then keep watching (0: only new ones)",
    )
    .short('n')
    .default_value("0"),
    Flag::value(
        "since",
        "WHEN",
        Kind::Text,
        C::Selection,
        "Print retained messages from WHEN on, then keep watching; WHEN is RFC 3339 \
         (2026-01-02T15:04:05Z) or an age like 30s, 5m, 2h, 1d",
    ),
    Flag::switch(
        "one",
        C::Selection,
        "Exit after the first matching message (with --tail N: after the N-th)",
    ),
    Flag::value(
        "timeout",
        "DUR",
        Kind::Text,
        C::Selection,
        "Exit with status 124 when no message arrived for DUR (e.g. 500ms, 10s, 5m)",
    ),
    Flag::value(
        "replay",
        "SPEED",
        Kind::Text,
        C::Selection,
        "Replay the --tail/--since history with its original timing at SPEED (1 = real time, \
         2 = twice as fast, 0 = no delay), then exit",
    ),
    Flag::value(
        "name",
        "NAME",
        Kind::Text,
        C::Selection,
        "Be the durable reader NAME: resume right after the last message an earlier \
         `peek --name NAME` printed (the position is kept in the pool); a new reader starts \
         where --tail/--since say",
    ),
    Flag::value(
        "ack-every",
        "N",
        ANY_U64,
        C::Selection,
        "With --name, store the position after every N printed messages (and at exit)",
    )
    .default_value("1"),
    Flag::value(
        "tag",
        "TAG",
        Kind::Text,
        C::Filter,
        "Only messages tagged TAG (exact match; all given tags must be present)",
    )
    .repeatable(),
    Flag::value(
        "where",
        "EXPR",
        Kind::Text,
        C::Filter,
        "Only messages for which the jq expression EXPR is true, e.g. '.data.level == \"error\"' \
         (all must hold)",
    )
    .repeatable(),
    Flag::value(
        "format",
        "FORMAT",
        Kind::Choice(OutputFormat::NAMES),
        C::Output,
        "pretty prints indented JSON; jsonl prints one compact JSON line per message",
    )
    .default_note("pretty on a terminal, jsonl in a pipe"),
    Flag::switch("jsonl", C::Output, "Same as --format jsonl"),
    Flag::switch(
        "data-only",
        C::Output,
        "Print only each message's data (filters still see the whole message)",
    ),
    Flag::switch(
        "quiet-drops",
        C::Output,
        "Do not report messages that were overwritten before they could be read",
    ),
    Flag::switch(
        "create",
        C::Pool,
        "Create the pool (1M) if it does not exist, then watch (local pools only)",
    ),
    Flag::switch(
        "no-notify",
        C::Pool,
        "Poll for new messages instead of waiting for write notifications",
    ),
    REMOTE_TOKEN_FILE,
    REMOTE_TLS_CA,
];

const POOL_CREATE_FLAGS: &[Flag] = &[
    Flag::value(
        "size",
        "SIZE",
        Kind::Text,
        C::General,
        "Pool file size in bytes or with K/M/G; old messages are overwritten when it is full",
    )
    .default_value("1M"),
    Flag::value(
        "index-capacity",
        "N",
        ANY_U32,
        C::General,
        "Slots in the seq index that speeds up `get`; 0 disables it (at most half the size)",
    )
    .default_note("auto"),
    JSON,
];

const JSON_ONLY: &[Flag] = &[JSON];

const POOL_INFO_FLAGS: &[Flag] = &[
    JSON,
    Flag::value(
        "delete-reader",
        "NAME",
        Kind::Text,
        C::General,
        "Forget the durable named reader NAME (see `peek --name`), then show the pool",
    )
    .repeatable(),
];

const DOCTOR_FLAGS: &[Flag] = &[
    Flag::switch(
        "all",
        C::General,
        "Check every pool in the pool directory instead of one POOL",
    ),
    JSON,
];

/// Most writer processes `bench --writers` starts.
pub const MAX_BENCH_WRITERS: u64 = 64;

const BENCH_FLAGS: &[Flag] = &[
    Flag::switch(
        "quick",
        C::General,
        "Run for a few seconds with small counts (a smoke test: rougher figures)",
    ),
    Flag::value(
        "messages",
        "N",
        ANY_U64,
        C::General,
        "Messages per throughput phase: appends, batched appends, the writer processes' total, \
         ingest and export",
    )
    .default_note("1000000, or 20000 with --quick"),
    Flag::value(
        "size",
        "SIZE",
        Kind::Text,
        C::General,
        "Bytes of JSON data per message, plain or with K/M (at least 10)",
    )
    .default_value("100"),
    Flag::value(
        "pool-size",
        "SIZE",
        Kind::Text,
        C::General,
        "Size of the pools the throughput phases write; they wrap when full, as busy pools do",
    )
    .default_note("64M, or 8M with --quick"),
    Flag::value(
        "writers",
        "N",
        Kind::Number {
            max: MAX_BENCH_WRITERS,
        },
        C::General,
        "Writer processes appending together, compared with one writer process",
    )
    .default_value("4"),
    JSON,
];

/// Options that configure a running server; shared by `serve` and `serve check`.
macro_rules! serve_run_flags {
    ($($extra:expr),* $(,)?) => {
        &[
            Flag::value(
                "bind",
                "ADDR",
                Kind::Text,
                C::Network,
                "Listen on ADDR, an IP:port literal such as 0.0.0.0:9700 or [::1]:9700",
            )
            .default_value("127.0.0.1:9700"),
            Flag::value(
                "access",
                "MODE",
                Kind::Choice(Access::NAMES),
                C::Network,
                "Which requests are allowed: reads, writes, or both",
            )
            .default_value("read-write"),
            Flag::switch(
                "allow-non-loopback",
                C::Network,
                "Allow --bind to use an address reachable from other machines",
            ),
            Flag::value(
                "cors-origin",
                "ORIGIN",
                Kind::Text,
                C::Network,
                "Let browser apps served from ORIGIN (scheme://host[:port], no wildcards) call \
                 the API",
            )
            .repeatable(),
            Flag::value(
                "token",
                "TOKEN",
                Kind::Text,
                C::Security,
                "Require this bearer token (for quick tests; prefer --token-file)",
            ),
            Flag::value(
                "token-file",
                "FILE",
                Kind::File,
                C::Security,
                "Require the bearer token stored in FILE (see `{bin} serve init`)",
            ),
            Flag::value(
                "tls-cert",
                "FILE",
                Kind::File,
                C::Security,
                "Serve HTTPS with the PEM certificate chain in FILE (needs --tls-key)",
            ),
            Flag::value(
                "tls-key",
                "FILE",
                Kind::File,
                C::Security,
                "PEM private key for --tls-cert",
            ),
            Flag::switch(
                "tls-self-signed",
                C::Security,
                "Serve HTTPS with a throwaway self-signed certificate made at startup",
            ),
            Flag::switch(
                "insecure-no-tls",
                C::Security,
                "Allow writes from other machines over plain HTTP (tokens travel in clear text)",
            ),
            Flag::value(
                "max-body-bytes",
                "N",
                ANY_U64,
                C::Limits,
                "Largest accepted request body, in bytes",
            )
            .default_value("1048576"),
            Flag::value(
                "max-tail-timeout-ms",
                "MS",
                ANY_U64,
                C::Limits,
                "Longest (and default) duration of one streaming read, in milliseconds",
            )
            .default_value("30000"),
            Flag::value(
                "max-tail-concurrency",
                "N",
                ANY_U64,
                C::Limits,
                "Most streaming reads served at the same time",
            )
            .default_value("64"),
            $($extra,)*
        ]
    };
}

const SERVE_FLAGS: &[Flag] = serve_run_flags!();

const SERVE_CHECK_FLAGS: &[Flag] = serve_run_flags!(JSON);

const SERVE_INIT_FLAGS: &[Flag] = &[
    Flag::value(
        "output-dir",
        "DIR",
        Kind::Dir,
        C::Artifacts,
        "Directory that relative file names below are written to",
    )
    .default_value("."),
    Flag::value(
        "token-file",
        "FILE",
        Kind::File,
        C::Artifacts,
        "Where to write the new bearer token",
    )
    .default_value("serve-token.txt"),
    Flag::value(
        "tls-cert",
        "FILE",
        Kind::File,
        C::Artifacts,
        "Where to write the self-signed certificate (PEM)",
    )
    .default_value("serve-cert.pem"),
    Flag::value(
        "tls-key",
        "FILE",
        Kind::File,
        C::Artifacts,
        "Where to write its private key (PEM)",
    )
    .default_value("serve-key.pem"),
    Flag::switch("force", C::Artifacts, "Overwrite files that already exist"),
    Flag::value(
        "bind",
        "ADDR",
        Kind::Text,
        C::Network,
        "Address the printed `{bin} serve` command listens on (also added to the certificate)",
    )
    .default_value("0.0.0.0:9700"),
];

// ---------------------------------------------------------------------------------------------
// Positionals
// ---------------------------------------------------------------------------------------------

const POOL_REF: Positional = Positional {
    name: "POOL",
    kind: Kind::Pool,
    arity: Arity::Required,
    help: "Pool name (in the pool directory), path (contains `/`), or http(s)://host:port/NAME",
};

const LOCAL_POOL: Positional = Positional {
    name: "POOL",
    kind: Kind::Pool,
    arity: Arity::Required,
    help: "Pool name (in the pool directory) or path (contains `/`)",
};

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------

const fn ex(comment: &'static str, command: &'static str) -> Example {
    Example { comment, command }
}

/// Every command, root first, then in the order `COMMANDS` lists them in help.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        id: CommandId::Root,
        path: &[],
        summary: "durable IPC of JSON messages through pool files",
        about: "Plasmite passes JSON messages between processes through pools: bounded, \
                crash-safe ring buffers stored as files, with no daemon or broker. `poke` \
                writes a message to a pool, `peek` watches a pool and prints messages as they \
                arrive (or replays history), and `get` fetches one message by its sequence \
                number. Readers and writers come and go freely. Every message carries a seq, a \
                time, optional tags and your JSON data; once a pool is full the oldest \
                messages make room for new ones, so disk use stays fixed.",
        positionals: &[],
        flags: &[],
        group: true,
        hidden: false,
        examples: &[
            ex(
                "Send a message, creating the pool on first use",
                "{bin} poke chat --create '{\"from\": \"alice\", \"msg\": \"hello world\"}'",
            ),
            ex("Watch it from another terminal", "{bin} peek chat"),
            ex(
                "Block until tests go green",
                "{bin} peek ci --where '.data.status == \"green\"' --one > /dev/null",
            ),
            ex(
                "Funnel a stream of JSON into a pool",
                "journalctl -o json-seq -f | {bin} poke syslog --create",
            ),
            ex(
                "Tag on write, filter on read",
                "{bin} poke incidents --tag sev1 '{\"msg\": \"payment gateway timeout\"}'\n\
                 {bin} peek incidents --tag sev1",
            ),
            ex(
                "Replay the last hour at 10x",
                "{bin} peek incidents --since 1h --replay 10",
            ),
            ex(
                "Use a pool on another machine",
                "{bin} peek http://server:9700/events --tail 20",
            ),
            ex("List pools", "{bin} pool list"),
        ],
        missing_hint: None,
    },
    CommandSpec {
        id: CommandId::Pool,
        path: &["pool"],
        summary: "Manage pool files",
        about: "Create, list, inspect and delete pools. A pool is one `.plasmite` file in the \
                pool directory (or at an explicit path); its size is fixed when it is created.",
        positionals: &[],
        flags: &[],
        group: true,
        hidden: false,
        examples: &[
            ex(
                "Create a 64 MiB pool",
                "{bin} pool create events --size 64M",
            ),
            ex("List pools", "{bin} pool list"),
            ex(
                "Show a pool's size, bounds and usage",
                "{bin} pool info events",
            ),
            ex("Delete pools", "{bin} pool delete events scratch"),
        ],
        missing_hint: None,
    },
    CommandSpec {
        id: CommandId::PoolCreate,
        path: &["pool", "create"],
        summary: "Create pools",
        about: "Create one or more pools, in order. Fails (exit 4) if a pool already exists; \
                pools created before the failure are kept. Creates the pool directory if \
                needed.",
        positionals: &[Positional {
            name: "NAME",
            kind: Kind::Text,
            arity: Arity::OneOrMore,
            help: "Name (in the pool directory) or path (contains `/`) of a pool to create",
        }],
        flags: POOL_CREATE_FLAGS,
        group: false,
        hidden: false,
        examples: &[
            ex(
                "Create a pool with the default size (1M)",
                "{bin} pool create chat",
            ),
            ex(
                "Create two larger pools",
                "{bin} pool create logs metrics --size 64M",
            ),
            ex(
                "Create a pool without a seq index, as JSON",
                "{bin} pool create scratch --index-capacity 0 --json",
            ),
        ],
        missing_hint: None,
    },
    CommandSpec {
        id: CommandId::PoolList,
        path: &["pool", "list"],
        summary: "List pools in the pool directory",
        about: "List the pools in the pool directory with their size, bounds and modification \
                time. Unreadable pools are listed with an error instead of failing the \
                command.",
        positionals: &[],
        flags: JSON_ONLY,
        group: false,
        hidden: false,
        examples: &[
            ex("List pools", "{bin} pool list"),
            ex(
                "List the pools of another directory as JSON",
                "{bin} --dir ./data pool list --json",
            ),
        ],
        missing_hint: None,
    },
    CommandSpec {
        id: CommandId::PoolInfo,
        path: &["pool", "info"],
        summary: "Show pool metadata and metrics",
        about: "Show a pool's geometry, seq bounds, space usage, message ages and durable \
                named readers.",
        positionals: &[LOCAL_POOL],
        flags: POOL_INFO_FLAGS,
        group: false,
        hidden: false,
        examples: &[
            ex("Show a pool", "{bin} pool info chat"),
            ex(
                "Forget the durable reader `billing`",
                "{bin} pool info orders --delete-reader billing",
            ),
            ex(
                "Show a pool file by path, as JSON",
                "{bin} pool info ./data/chat.plasmite --json",
            ),
        ],
        missing_hint: None,
    },
    CommandSpec {
        id: CommandId::PoolDelete,
        path: &["pool", "delete"],
        summary: "Delete pools",
        about: "Delete one or more pool files. Every name is attempted; the exit status is that \
                of the first failure.",
        positionals: &[Positional {
            name: "POOL",
            kind: Kind::Pool,
            arity: Arity::OneOrMore,
            help: "Pool name (in the pool directory) or path (contains `/`)",
        }],
        flags: JSON_ONLY,
        group: false,
        hidden: false,
        examples: &[
            ex("Delete a pool", "{bin} pool delete chat"),
            ex(
                "Delete several pools, reporting JSON",
                "{bin} pool delete a b c --json",
            ),
        ],
        missing_hint: None,
    },
    CommandSpec {
        id: CommandId::Poke,
        path: &["poke"],
        summary: "Send JSON messages to a pool",
        about: "Append a message to a pool. DATA is one JSON object. Without DATA, messages are \
                read from --file or from piped stdin, one per record (JSON Lines, json-seq, \
                event streams or pretty-printed JSON are detected), and a receipt (seq, time, \
                tags) is printed for each.",
        positionals: &[
            POOL_REF,
            Positional {
                name: "DATA",
                kind: Kind::Text,
                arity: Arity::Optional,
                help: "The message: one JSON object, e.g. '{\"msg\": \"hi\"}'",
            },
        ],
        flags: POKE_FLAGS,
        group: false,
        hidden: false,
        examples: &[
            ex(
                "Send a message, creating the pool if needed",
                "{bin} poke chat --create '{\"from\": \"alice\", \"msg\": \"hello\"}'",
            ),
            ex(
                "Tag a message",
                "{bin} poke incidents --tag sev1 --tag billing '{\"msg\": \"gateway timeout\"}'",
            ),
            ex(
                "Send every line of a JSON Lines file",
                "{bin} poke incidents-archive -f incidents.jsonl",
            ),
            ex(
                "Ingest a stream, skipping malformed records",
                "curl -N https://api.example.com/events | {bin} poke events --create -e skip",
            ),
        ],
        missing_hint: None,
    },
    CommandSpec {
        id: CommandId::Peek,
        path: &["peek"],
        summary: "Watch a pool for messages",
        about: "Print messages as they are written to a pool, until interrupted. By default only \
                new messages are shown; --tail and --since start with retained history. \
                Filters (--tag, --where) apply to history and new messages alike.",
        positionals: &[POOL_REF],
        flags: PEEK_FLAGS,
        group: false,
        hidden: false,
        examples: &[
            ex("Watch new messages", "{bin} peek chat"),
            ex(
                "Print the last 100 messages' data as JSON Lines, then keep watching",
                "{bin} peek incidents --tail 100 --format jsonl --data-only",
            ),
            ex(
                "Wait for one matching message, at most 30 seconds",
                "{bin} peek ci --where '.data.status == \"green\"' --one --timeout 30s",
            ),
            ex(
                "Replay the last hour at 10x",
                "{bin} peek incidents --since 1h --replay 10",
            ),
        ],
        missing_hint: Some("Provide a pool ref, for example: `{bin} peek chat -n 1`."),
    },
    CommandSpec {
        id: CommandId::Get,
        path: &["get"],
        summary: "Fetch one message by sequence number",
        about: "Print the message with sequence number SEQ, if the pool still holds it.",
        positionals: &[
            LOCAL_POOL,
            Positional {
                name: "SEQ",
                kind: ANY_U64,
                arity: Arity::Required,
                help: "Sequence number of the message (the first message of a pool is 1)",
            },
        ],
        flags: &[],
        group: false,
        hidden: false,
        examples: &[
            ex("Fetch message 42", "{bin} get chat 42"),
            ex(
                "Fetch a message from a pool file by path",
                "{bin} get ./data/chat.plasmite 1",
            ),
        ],
        missing_hint: None,
    },
    CommandSpec {
        id: CommandId::Serve,
        path: &["serve"],
        summary: "Serve local pools over HTTP(S)",
        about: "Serve the pools of the pool directory over HTTP/JSON, with a web UI at /ui. It \
                listens on loopback only unless --allow-non-loopback is given; writes from other \
                machines additionally need --token-file and TLS. `serve init` creates a token \
                and certificate; `serve check` validates options without listening.",
        positionals: &[],
        flags: SERVE_FLAGS,
        group: false,
        hidden: false,
        examples: &[
            ex("Serve on 127.0.0.1:9700", "{bin} serve"),
            ex(
                "Create a token and a certificate for LAN access",
                "{bin} serve init",
            ),
            ex(
                "Public read-only endpoint for one web app origin",
                "{bin} serve --bind 0.0.0.0:9100 --allow-non-loopback --access read-only \\\n  \
                 --cors-origin https://demo.wratify.ai",
            ),
            ex(
                "Check a configuration without starting",
                "{bin} serve --bind 0.0.0.0:9700 --allow-non-loopback --access read-only check",
            ),
        ],
        missing_hint: None,
    },
    CommandSpec {
        id: CommandId::ServeCheck,
        path: &["serve", "check"],
        summary: "Validate serve options and show the effective configuration",
        about: "Validate the serve options exactly like `{bin} serve` would, then print the \
                listen address, URLs, auth, TLS, access and limits without starting. Options \
                may go before or after `check`.",
        positionals: &[],
        flags: SERVE_CHECK_FLAGS,
        group: false,
        hidden: false,
        examples: &[
            ex("Check the default configuration", "{bin} serve check"),
            ex(
                "Check a LAN configuration, as JSON",
                "{bin} serve check --bind 0.0.0.0:9700 --allow-non-loopback \\\n  \
                 --token-file serve-token.txt --tls-self-signed --json",
            ),
        ],
        missing_hint: None,
    },
    CommandSpec {
        id: CommandId::ServeInit,
        path: &["serve", "init"],
        summary: "Create a token and a TLS certificate for serving beyond loopback",
        about: "Write a new random bearer token, a self-signed certificate and its key, then \
                print the `{bin} serve` command that uses them. Existing files are kept unless \
                --force is given; the token itself is never printed.",
        positionals: &[],
        flags: SERVE_INIT_FLAGS,
        group: false,
        hidden: false,
        examples: &[
            ex(
                "Create serve-token.txt, serve-cert.pem and serve-key.pem here",
                "{bin} serve init",
            ),
            ex(
                "Write them to another directory, replacing old ones",
                "{bin} serve init --output-dir ~/.plasmite/tls --force",
            ),
        ],
        missing_hint: None,
    },
    CommandSpec {
        id: CommandId::Doctor,
        path: &["doctor"],
        summary: "Validate pool integrity",
        about: "Check a pool (or every pool with --all) for corruption. Exit status 0 when all \
                pools are healthy, 7 when any is corrupt.",
        positionals: &[Positional {
            name: "POOL",
            kind: Kind::Pool,
            arity: Arity::Optional,
            help: "Pool name (in the pool directory) or path (contains `/`)",
        }],
        flags: DOCTOR_FLAGS,
        group: false,
        hidden: false,
        examples: &[
            ex("Check one pool", "{bin} doctor chat"),
            ex("Check every pool, as JSON", "{bin} doctor --all --json"),
        ],
        missing_hint: None,
    },
    CommandSpec {
        id: CommandId::Bench,
        path: &["bench"],
        summary: "Measure Plasmite's speed on this machine",
        about: "Measure appends (one by one, batched, and with a disk flush each), sequential \
                reads, get by seq, the wake-up latency of a reader in another process, several \
                writer processes against one, and `{bin} poke` / `{bin} peek` ingest and export. \
                Pools go in a temporary directory inside --dir (default: the system's temporary \
                directory), removed at the end. Other work on the machine shows in the figures, \
                so compare ratios within one run.",
        positionals: &[],
        flags: BENCH_FLAGS,
        group: false,
        hidden: false,
        examples: &[
            ex("Measure this machine (well under a minute)", "{bin} bench"),
            ex(
                "A few seconds' smoke test, as JSON",
                "{bin} bench --quick --json",
            ),
            ex(
                "4 KiB messages, with the pools on another disk",
                "{bin} bench --size 4K --dir /mnt/data",
            ),
        ],
        missing_hint: None,
    },
    CommandSpec {
        id: CommandId::BenchWorker,
        path: &["bench-worker"],
        summary: "One process of a `bench` measurement (internal)",
        about: "Run by `{bin} bench` for its cross-process figures, talking to it over stdin and \
                stdout: a waiter waits on POOL for COUNT messages and prints each one's delay; a \
                writer appends COUNT messages of SIZE bytes when told to start. Not meant to be \
                run by hand.",
        positionals: &[
            Positional {
                name: "ROLE",
                kind: Kind::Choice(plasmite::bench::Role::NAMES),
                arity: Arity::Required,
                help: "waiter or writer",
            },
            Positional {
                name: "POOL",
                kind: Kind::File,
                arity: Arity::Required,
                help: "Path of the pool file",
            },
            Positional {
                name: "COUNT",
                kind: ANY_U64,
                arity: Arity::Required,
                help: "Messages to wait for or to append",
            },
            Positional {
                name: "SIZE",
                kind: ANY_U64,
                arity: Arity::Required,
                help: "Bytes of JSON data per appended message",
            },
        ],
        flags: &[],
        group: false,
        hidden: true,
        examples: &[
            ex(
                "Wait for 100 messages, printing each one's delay in ns",
                "{bin} bench-worker waiter /tmp/b/wake.plasmite 100 100",
            ),
            ex(
                "Append 1000 100-byte messages after a line on stdin",
                "echo go | {bin} bench-worker writer /tmp/b/w.plasmite 1000 100",
            ),
        ],
        missing_hint: None,
    },
    CommandSpec {
        id: CommandId::Version,
        path: &["version"],
        summary: "Print version information as JSON",
        about: "Print the program name and version as a JSON object.",
        positionals: &[],
        flags: &[],
        group: false,
        hidden: false,
        examples: &[
            ex("Print the version as JSON", "{bin} version"),
            ex("Print the version as plain text", "{bin} --version"),
        ],
        missing_hint: None,
    },
    CommandSpec {
        id: CommandId::Completion,
        path: &["completion"],
        summary: "Print a shell completion script",
        about: "Print a completion script for SHELL; it completes commands, options, option \
                values and pool names, for both `pls` and `plasmite`.",
        positionals: &[Positional {
            name: "SHELL",
            kind: Kind::Choice(Shell::NAMES),
            arity: Arity::Required,
            help: "The shell to complete for",
        }],
        flags: &[],
        group: false,
        hidden: false,
        examples: &[
            ex(
                "Enable completion in the current bash",
                "source <({bin} completion bash)",
            ),
            ex(
                "Install for zsh (a directory on $fpath)",
                "{bin} completion zsh > ~/.zfunc/_plasmite",
            ),
            ex(
                "Install for fish",
                "{bin} completion fish > ~/.config/fish/completions/{bin}.fish",
            ),
        ],
        missing_hint: None,
    },
    CommandSpec {
        id: CommandId::Help,
        path: &["help"],
        summary: "Print help for a command",
        about: "Print help for the program or for COMMAND (`{bin} help pool create`).",
        positionals: &[Positional {
            name: "COMMAND",
            kind: Kind::Text,
            arity: Arity::ZeroOrMore,
            help: "Command words, e.g. `peek` or `pool create`",
        }],
        flags: &[],
        group: false,
        hidden: false,
        examples: &[
            ex("Overview", "{bin} help"),
            ex("Help for a subcommand", "{bin} help pool create"),
        ],
        missing_hint: None,
    },
];

/// Environment variables documented in the root help: name and meaning.
pub const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "PLASMITE_DIR",
        "Pool directory used when --dir is not given (default: ~/.plasmite/pools)",
    ),
    (
        "HOME",
        "Locates the default pool directory ~/.plasmite/pools",
    ),
];
