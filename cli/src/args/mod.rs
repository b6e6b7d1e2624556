//! The command-line argument layer of `pls` / `plasmite`.
//!
//! One declarative table ([`spec::COMMANDS`] and [`spec::GLOBAL_FLAGS`]) describes every
//! command, positional argument and flag exactly once. The parser, the help text and the bash,
//! zsh and fish completion scripts are all generated from it, so they cannot disagree.
//!
//! [`parse`] turns the arguments into a typed [`Cli`] or an [`ArgError`] (a usage error: the
//! caller prints it and exits with status 2). Values whose syntax belongs to another module
//! (sizes, durations, `--since` times, `--replay` speeds, bind addresses) are kept as text here
//! and parsed by the caller; numbers and fixed choices are validated and typed here.
//!
//! Differences from upstream, on purpose: global options (`--dir`, `--color`) are accepted
//! before or after the command; `pls` (or `pls pool`) with no command prints help and exits 0;
//! options given before `serve init` are rejected unless `init` has an option of that name,
//! instead of being silently ignored; misspelt flags and commands get a "did you mean" hint.

mod complete;
mod engine;
mod help;
pub mod spec;
#[cfg(test)]
mod tests;

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::{Path, PathBuf};

use engine::{Matches, Outcome};
use spec::{CommandId, CommandSpec, Flag};

pub use complete::completion_script;

/// The program version printed by `--version` and `version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Declares a closed set of command-line choice values with their spellings.
macro_rules! choice_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every accepted spelling, in the order help lists them.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// Decodes one of [`Self::NAMES`].
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $($text => Some(Self::$variant),)+
                    _ => None,
                }
            }

            /// The command-line spelling of this value.
            pub fn name(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

choice_enum! {
    /// `--color`: when to use ANSI colors.
    pub enum Color {
        /// Color when the stream written to is a terminal.
        #[default]
        Auto = "auto",
        /// Always color (and pretty-print single JSON documents even when piped).
        Always = "always",
        /// Never color.
        Never = "never",
    }
}

choice_enum! {
    /// `peek --format`: how messages are printed.
    pub enum OutputFormat {
        /// Indented, multi-line JSON per message.
        #[default]
        Pretty = "pretty",
        /// One compact JSON document per line.
        Jsonl = "jsonl",
    }
}

choice_enum! {
    /// `poke --in`: how a stream is split into messages.
    pub enum InputFormat {
        /// Detect json-seq, event streams or JSON Lines (tolerating pretty-printed JSON).
        #[default]
        Auto = "auto",
        /// One JSON value per line.
        Jsonl = "jsonl",
        /// The whole input is one JSON document.
        Json = "json",
        /// RFC 7464 JSON text sequences (records start with 0x1E).
        Seq = "seq",
        /// Concatenated JSON values, as `jq -c` or `jq` print them.
        Jq = "jq",
    }
}

choice_enum! {
    /// `poke --errors`: what to do with a malformed stream record.
    pub enum ErrorPolicy {
        /// Fail on the first malformed record.
        #[default]
        Stop = "stop",
        /// Report it as a notice, continue, and exit with status 1 at the end.
        Skip = "skip",
    }
}

choice_enum! {
    /// `poke --durability`.
    pub enum Durability {
        /// Return once the message is in the pool's mapped memory.
        #[default]
        Fast = "fast",
        /// Also flush the written bytes to disk before returning.
        Flush = "flush",
    }
}

choice_enum! {
    /// `serve --access`: which requests the server allows.
    pub enum Access {
        /// Reads only.
        ReadOnly = "read-only",
        /// Writes only.
        WriteOnly = "write-only",
        /// Reads and writes.
        #[default]
        ReadWrite = "read-write",
    }
}

choice_enum! {
    /// `completion SHELL`.
    pub enum Shell {
        /// GNU bash.
        #[default]
        Bash = "bash",
        /// zsh.
        Zsh = "zsh",
        /// fish.
        Fish = "fish",
    }
}

/// A command-line usage error (exit status 2).
///
/// `message` is one line without an `error:` prefix; `hint` is always present and says what to
/// try next, typically ``Try `pls peek --help`.``.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgError {
    /// What is wrong, e.g. `missing value for --tail`.
    pub message: String,
    /// What to do about it.
    pub hint: String,
}

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ArgError {}

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cli {
    /// The program name used in help and hints: `pls` or `plasmite`.
    pub bin: &'static str,
    /// Options accepted by every command.
    pub global: Global,
    /// What to do.
    pub command: Command,
}

/// Options accepted before or after any command.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Global {
    /// `--dir`: the pool directory. `None` means the caller's default (`$PLASMITE_DIR`, else
    /// `~/.plasmite/pools`).
    pub dir: Option<PathBuf>,
    /// `--color`.
    pub color: Color,
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `poke POOL [DATA]`.
    Poke(PokeArgs),
    /// `peek POOL`.
    Peek(PeekArgs),
    /// `get POOL SEQ`.
    Get(GetArgs),
    /// `pool create NAME...`.
    PoolCreate(PoolCreateArgs),
    /// `pool list`.
    PoolList(PoolListArgs),
    /// `pool info POOL`.
    PoolInfo(PoolInfoArgs),
    /// `pool delete POOL...`.
    PoolDelete(PoolDeleteArgs),
    /// `doctor [POOL] [--all]`.
    Doctor(DoctorArgs),
    /// `bench`: measure the engine and the CLI on this machine.
    Bench(BenchArgs),
    /// `bench-worker` (hidden): one process of a `bench` measurement.
    BenchWorker(BenchWorkerArgs),
    /// `serve`: run the server.
    Serve(ServeArgs),
    /// `serve check`: validate the server options and print them.
    ServeCheck(ServeCheckArgs),
    /// `serve init`: write a token and a certificate.
    ServeInit(ServeInitArgs),
    /// `version`: print name and version as JSON.
    Version,
    /// `completion SHELL`: print [`completion_script`] for the shell.
    Completion(Shell),
    /// Help was requested (`--help`, `help`, or no command): print this text to stdout and
    /// exit 0.
    Help(String),
    /// `--version`: print this line (e.g. `plasmite 0.1.0\n`) to stdout and exit 0.
    VersionText(String),
}

/// Where `poke --file` reads from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileArg {
    /// `-f -`: standard input.
    Stdin,
    /// A file.
    Path(PathBuf),
}

/// Options that only apply to `http(s)://` pool URLs (poke and peek).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RemoteArgs {
    /// `--token-file`: file holding the bearer token to send.
    pub token_file: Option<PathBuf>,
    /// `--tls-ca`: PEM certificates to trust for `https` URLs.
    pub tls_ca: Option<PathBuf>,
}

/// `poke POOL [DATA]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PokeArgs {
    /// Pool name, path, or `http(s)://host:port/NAME` URL, as typed.
    pub pool: String,
    /// Inline JSON message text (unparsed).
    pub data: Option<String>,
    /// `-f/--file`; never set together with `data`.
    pub file: Option<FileArg>,
    /// `--tag`, in the order given (duplicates kept).
    pub tags: Vec<String>,
    /// `-i/--in`.
    pub input: InputFormat,
    /// `-e/--errors`.
    pub errors: ErrorPolicy,
    /// `--durability`.
    pub durability: Durability,
    /// `--create`.
    pub create: bool,
    /// `--create-size`, unparsed size text (only set together with `create`).
    pub create_size: Option<String>,
    /// `--retry`: extra attempts for a busy pool (0 = none).
    pub retry: u64,
    /// `--retry-delay`, unparsed duration text (only set when `retry > 0`).
    pub retry_delay: Option<String>,
    /// Remote-only options.
    pub remote: RemoteArgs,
}

/// `peek POOL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeekArgs {
    /// Pool name, path, or `http(s)://host:port/NAME` URL, as typed.
    pub pool: String,
    /// `-n/--tail` (0 = start at the live edge).
    pub tail: u64,
    /// `--since`, unparsed time text (never set together with `tail`).
    pub since: Option<String>,
    /// `--tag` filters (all must match).
    pub tags: Vec<String>,
    /// `--where` jq predicates (all must hold).
    pub wheres: Vec<String>,
    /// `--one`.
    pub one: bool,
    /// `--timeout`, unparsed duration text.
    pub timeout: Option<String>,
    /// `--format`, or `--jsonl` (they cannot both be given); `None` when
    /// neither was given: pretty on a terminal, JSON Lines in a pipe.
    pub format: Option<OutputFormat>,
    /// `--data-only`.
    pub data_only: bool,
    /// `--replay`, unparsed speed text.
    pub replay: Option<String>,
    /// `--create`.
    pub create: bool,
    /// `--quiet-drops`.
    pub quiet_drops: bool,
    /// `--no-notify`.
    pub no_notify: bool,
    /// `--name`: durable named reader.
    pub name: Option<String>,
    /// `--ack-every` (at least 1).
    pub ack_every: u64,
    /// Remote-only options.
    pub remote: RemoteArgs,
}

/// `get POOL SEQ`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetArgs {
    /// Pool name or path, as typed.
    pub pool: String,
    /// Sequence number.
    pub seq: u64,
}

/// `pool create NAME...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolCreateArgs {
    /// Pool names or paths, in order (at least one).
    pub names: Vec<String>,
    /// `--size`, unparsed size text (default `1M`).
    pub size: String,
    /// `--index-capacity`; `None` = automatic.
    pub index_capacity: Option<u32>,
    /// `--json`.
    pub json: bool,
}

/// `pool list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolListArgs {
    /// `--json`.
    pub json: bool,
}

/// `pool info POOL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolInfoArgs {
    /// Pool name or path, as typed.
    pub pool: String,
    /// `--json`.
    pub json: bool,
    /// `--delete-reader` names.
    pub delete_readers: Vec<String>,
}

/// `pool delete POOL...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolDeleteArgs {
    /// Pool names or paths, in order (at least one).
    pub pools: Vec<String>,
    /// `--json`.
    pub json: bool,
}

/// Which pools `doctor` checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DoctorTarget {
    /// One pool, by name or path as typed.
    Pool(String),
    /// `--all`: every pool in the pool directory.
    All,
}

/// `doctor [POOL] [--all]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoctorArgs {
    /// Exactly one of POOL or `--all`.
    pub target: DoctorTarget,
    /// `--json`.
    pub json: bool,
}

/// `bench`. Sizes stay text, parsed by the command (`units.rs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenchArgs {
    /// `--quick`.
    pub quick: bool,
    /// `--messages`; `None` = the default of the run (standard or quick).
    pub messages: Option<u64>,
    /// `--size`, unparsed (default `100`).
    pub size: String,
    /// `--pool-size`, unparsed; `None` = the default of the run.
    pub pool_size: Option<String>,
    /// `--writers` (default 4).
    pub writers: u64,
    /// `--json`.
    pub json: bool,
    /// The global `--dir`, if given: where the temporary directory goes (instead of the
    /// system's temporary directory; `$PLASMITE_DIR` is not used).
    pub dir: Option<PathBuf>,
}

/// `bench-worker ROLE POOL COUNT SIZE` (hidden; run by `bench`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenchWorkerArgs {
    /// What the worker does.
    pub role: plasmite::bench::Role,
    /// The pool file.
    pub pool: PathBuf,
    /// Messages to wait for or append.
    pub count: u64,
    /// Bytes per appended message.
    pub size: u64,
}

/// `serve`: the server's own options, filled from the command line.
pub type ServeArgs = plasmite_server::Options;

/// `serve check`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeCheckArgs {
    /// The options being checked.
    pub serve: ServeArgs,
    /// `--json`.
    pub json: bool,
}

/// `serve init`. Relative file names are relative to `output_dir`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeInitArgs {
    /// `--bind`, unparsed (default `0.0.0.0:9700`).
    pub bind: String,
    /// `--output-dir` (default `.`).
    pub output_dir: PathBuf,
    /// `--token-file` (default `serve-token.txt`).
    pub token_file: PathBuf,
    /// `--tls-cert` (default `serve-cert.pem`).
    pub tls_cert: PathBuf,
    /// `--tls-key` (default `serve-key.pem`).
    pub tls_key: PathBuf,
    /// `--force`.
    pub force: bool,
}

/// The program name to show for the binary at `argv0`: `plasmite` if its file name starts
/// with `plasmite`, else `pls`.
pub fn bin_name(argv0: &OsStr) -> &'static str {
    let stem = Path::new(argv0)
        .file_stem()
        .and_then(OsStr::to_str)
        .unwrap_or("");
    if stem.starts_with("plasmite") {
        "plasmite"
    } else {
        "pls"
    }
}

/// Parses the process arguments (`std::env::args_os`), naming the program after `argv[0]`.
///
/// # Errors
///
/// An [`ArgError`] (usage error, exit status 2) when the arguments do not form a valid command.
pub fn parse_env() -> Result<Cli, ArgError> {
    let mut args = std::env::args_os();
    let bin = args.next().map_or("pls", |argv0| bin_name(&argv0));
    parse(bin, args)
}

/// Parses `args` (without the program name). `bin` is the program name used in help and
/// hints (see [`bin_name`]).
///
/// Never panics, whatever the input (including non-UTF-8 arguments).
///
/// # Errors
///
/// An [`ArgError`] (usage error, exit status 2) for an unknown command or flag, a missing or
/// invalid value, a missing or extra positional argument, or flags that conflict.
pub fn parse<I, T>(bin: &'static str, args: I) -> Result<Cli, ArgError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let (global, command) = match engine::run(bin, args)? {
        Outcome::Help(spec) => (Global::default(), Command::Help(help::render(bin, spec))),
        Outcome::Version => (Global::default(), Command::VersionText(version_line())),
        Outcome::Run {
            spec,
            global,
            matches,
        } => {
            let global = build_global(&global);
            let mut command = build(bin, spec, &matches)?;
            if let Command::Bench(b) = &mut command {
                b.dir.clone_from(&global.dir);
            }
            (global, command)
        }
    };
    Ok(Cli {
        bin,
        global,
        command,
    })
}

/// Help for the command named by `words` (`&[]` for the program, `&["pool", "create"]`), or
/// `None` if there is no such command.
pub fn help(bin: &str, words: &[&str]) -> Option<String> {
    spec::command(words).map(|spec| help::render(bin, spec))
}

/// The `--version` line: `plasmite X.Y.Z` and a newline (the product name, whichever binary
/// was run, so scripts see one stable spelling).
pub fn version_line() -> String {
    format!("plasmite {VERSION}\n")
}

fn build_global(global: &Matches) -> Global {
    let view = View {
        flags: spec::GLOBAL_FLAGS,
        matches: global,
    };
    Global {
        dir: view.path("dir"),
        color: view.choice("color", Color::from_name, Color::Auto),
    }
}

/// Typed access to the matches of one command, by long flag name.
///
/// Names are looked up in the command's table entry; an unknown name simply reads as absent
/// (never a panic). The table-coverage unit test gives every flag a non-default value and
/// checks that the built command changes, which catches a misspelt name here.
struct View<'a> {
    flags: &'static [Flag],
    matches: &'a Matches,
}

impl View<'_> {
    fn flag(&self, long: &str) -> Option<&'static Flag> {
        self.flags.iter().find(|f| f.long == long)
    }

    fn has(&self, long: &str) -> bool {
        self.flag(long).is_some_and(|f| self.matches.has(f))
    }

    fn text(&self, long: &str) -> Option<String> {
        self.flag(long).and_then(|f| self.matches.text(f))
    }

    fn texts(&self, long: &str) -> Vec<String> {
        self.flag(long)
            .map(|f| self.matches.texts(f))
            .unwrap_or_default()
    }

    fn text_or_default(&self, long: &str) -> String {
        self.flag(long)
            .map(|f| self.matches.text_or_default(f))
            .unwrap_or_default()
    }

    fn path(&self, long: &str) -> Option<PathBuf> {
        self.flag(long).and_then(|f| self.matches.path(f))
    }

    fn path_or_default(&self, long: &str) -> PathBuf {
        self.flag(long)
            .map(|f| self.matches.path_or_default(f))
            .unwrap_or_default()
    }

    fn number(&self, long: &str) -> Option<u64> {
        self.flag(long).and_then(|f| self.matches.number(f))
    }

    fn number_or_default(&self, long: &str) -> u64 {
        self.flag(long)
            .map(|f| self.matches.number_or_default(f))
            .unwrap_or(0)
    }

    fn choice<T: Copy>(&self, long: &str, decode: fn(&str) -> Option<T>, fallback: T) -> T {
        self.flag(long)
            .map(|f| self.matches.choice(f, decode, fallback))
            .unwrap_or(fallback)
    }

    fn remote(&self) -> RemoteArgs {
        RemoteArgs {
            token_file: self.path("token-file"),
            tls_ca: self.path("tls-ca"),
        }
    }

    fn serve(&self) -> ServeArgs {
        ServeArgs {
            bind: self.text_or_default("bind"),
            access: match self.choice("access", Access::from_name, Access::ReadWrite) {
                Access::ReadOnly => plasmite_server::Access::ReadOnly,
                Access::WriteOnly => plasmite_server::Access::WriteOnly,
                Access::ReadWrite => plasmite_server::Access::ReadWrite,
            },
            allow_non_loopback: self.has("allow-non-loopback"),
            cors_origins: self.texts("cors-origin"),
            token: self.text("token"),
            token_file: self.path("token-file"),
            tls_cert: self.path("tls-cert"),
            tls_key: self.path("tls-key"),
            tls_self_signed: self.has("tls-self-signed"),
            insecure_no_tls: self.has("insecure-no-tls"),
            max_body_bytes: self.number_or_default("max-body-bytes"),
            max_tail_timeout_ms: self.number_or_default("max-tail-timeout-ms"),
            max_tail_concurrency: self.number_or_default("max-tail-concurrency"),
        }
    }
}

/// Turns the matches of `spec` into a typed [`Command`], applying the checks that concern
/// only the arguments themselves (conflicts and dependencies between flags).
fn build(bin: &str, spec: &'static CommandSpec, matches: &Matches) -> Result<Command, ArgError> {
    let v = View {
        flags: spec.flags,
        matches,
    };
    let fail = |message: &str, hint: String| ArgError {
        message: message.to_owned(),
        hint,
    };
    let try_help = || engine::try_help(bin, spec);
    let pos = |i| matches.pos_text(i).unwrap_or_default();

    let command = match spec.id {
        // Groups never reach here (the engine answers them with help), but stay total.
        CommandId::Root | CommandId::Pool => Command::Help(help::render(bin, spec)),
        CommandId::PoolCreate => Command::PoolCreate(PoolCreateArgs {
            names: matches.pos_texts_from(0),
            size: v.text_or_default("size"),
            // The table bounds --index-capacity to u32, so the conversion cannot fail.
            index_capacity: v
                .number("index-capacity")
                .and_then(|n| u32::try_from(n).ok()),
            json: v.has("json"),
        }),
        CommandId::PoolList => Command::PoolList(PoolListArgs {
            json: v.has("json"),
        }),
        CommandId::PoolInfo => Command::PoolInfo(PoolInfoArgs {
            pool: pos(0),
            json: v.has("json"),
            delete_readers: v.texts("delete-reader"),
        }),
        CommandId::PoolDelete => Command::PoolDelete(PoolDeleteArgs {
            pools: matches.pos_texts_from(0),
            json: v.has("json"),
        }),
        CommandId::Poke => {
            let data = matches.pos_text(1);
            let file = v.path("file").map(|path| {
                if path.as_os_str() == "-" {
                    FileArg::Stdin
                } else {
                    FileArg::Path(path)
                }
            });
            if data.is_some() && file.is_some() {
                return Err(fail(
                    "the argument '--file' cannot be used with 'DATA'",
                    try_help(),
                ));
            }
            let create = v.has("create");
            let create_size = v.text("create-size");
            if create_size.is_some() && !create {
                return Err(fail(
                    "--create-size requires --create",
                    "Add --create or remove --create-size.".to_owned(),
                ));
            }
            let retry = v.number_or_default("retry");
            let retry_delay = v.text("retry-delay");
            if retry_delay.is_some() && retry == 0 {
                return Err(fail(
                    "--retry-delay requires --retry",
                    "Add --retry or remove --retry-delay.".to_owned(),
                ));
            }
            Command::Poke(PokeArgs {
                pool: pos(0),
                data,
                file,
                tags: v.texts("tag"),
                input: v.choice("in", InputFormat::from_name, InputFormat::Auto),
                errors: v.choice("errors", ErrorPolicy::from_name, ErrorPolicy::Stop),
                durability: v.choice("durability", Durability::from_name, Durability::Fast),
                create,
                create_size,
                retry,
                retry_delay,
                remote: v.remote(),
            })
        }
        CommandId::Peek => {
            if v.has("jsonl") && v.has("format") {
                return Err(fail(
                    "conflicting output options",
                    "Use either `--format jsonl` or `--jsonl`, not both.".to_owned(),
                ));
            }
            if v.has("since") && v.has("tail") {
                return Err(fail(
                    "the argument '--since' cannot be used with '--tail'",
                    try_help(),
                ));
            }
            let format = if v.has("jsonl") {
                Some(OutputFormat::Jsonl)
            } else if v.has("format") {
                Some(v.choice("format", OutputFormat::from_name, OutputFormat::Pretty))
            } else {
                None
            };
            Command::Peek(PeekArgs {
                pool: pos(0),
                tail: v.number_or_default("tail"),
                since: v.text("since"),
                tags: v.texts("tag"),
                wheres: v.texts("where"),
                one: v.has("one"),
                timeout: v.text("timeout"),
                format,
                data_only: v.has("data-only"),
                replay: v.text("replay"),
                create: v.has("create"),
                quiet_drops: v.has("quiet-drops"),
                no_notify: v.has("no-notify"),
                name: v.text("name"),
                ack_every: v.number_or_default("ack-every").max(1),
                remote: v.remote(),
            })
        }
        CommandId::Get => Command::Get(GetArgs {
            pool: pos(0),
            seq: matches.pos_number(1).unwrap_or(0),
        }),
        CommandId::Doctor => {
            let target = match (matches.pos_text(0), v.has("all")) {
                (Some(_), true) => {
                    return Err(fail(
                        "--all cannot be combined with a pool name",
                        "Use --all by itself, or provide a single pool.".to_owned(),
                    ))
                }
                (None, false) => {
                    return Err(fail(
                        "doctor requires a pool name or --all",
                        format!("Use `{bin} doctor <pool>` or `{bin} doctor --all`."),
                    ))
                }
                (Some(pool), false) => DoctorTarget::Pool(pool),
                (None, true) => DoctorTarget::All,
            };
            Command::Doctor(DoctorArgs {
                target,
                json: v.has("json"),
            })
        }
        CommandId::Serve | CommandId::ServeCheck => {
            if v.has("token") && v.has("token-file") {
                return Err(fail(
                    "--token cannot be combined with --token-file",
                    format!(
                        "Use --token-file (create one with `{bin} serve init`), or --token alone \
                         for quick local tests."
                    ),
                ));
            }
            if spec.id == CommandId::Serve {
                Command::Serve(v.serve())
            } else {
                Command::ServeCheck(ServeCheckArgs {
                    serve: v.serve(),
                    json: v.has("json"),
                })
            }
        }
        CommandId::ServeInit => Command::ServeInit(ServeInitArgs {
            bind: v.text_or_default("bind"),
            output_dir: v.path_or_default("output-dir"),
            token_file: v.path_or_default("token-file"),
            tls_cert: v.path_or_default("tls-cert"),
            tls_key: v.path_or_default("tls-key"),
            force: v.has("force"),
        }),
        CommandId::Bench => Command::Bench(BenchArgs {
            quick: v.has("quick"),
            messages: v.number("messages"),
            size: v.text_or_default("size"),
            pool_size: v.text("pool-size"),
            writers: v.number_or_default("writers"),
            json: v.has("json"),
            dir: None,
        }),
        CommandId::BenchWorker => Command::BenchWorker(BenchWorkerArgs {
            // The table only accepts the role names, so the fallback is never used.
            role: matches
                .pos_text(0)
                .and_then(|r| plasmite::bench::Role::from_name(&r))
                .unwrap_or(plasmite::bench::Role::Waiter),
            pool: matches.pos_path(1).unwrap_or_default(),
            count: matches.pos_number(2).unwrap_or(0),
            size: matches.pos_number(3).unwrap_or(0),
        }),
        CommandId::Version => Command::Version,
        CommandId::Completion => Command::Completion(
            matches
                .pos_text(0)
                .and_then(|name| Shell::from_name(&name))
                .unwrap_or_default(),
        ),
        CommandId::Help => {
            let words = matches.pos_texts_from(0);
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            match help(bin, &words) {
                Some(text) => Command::Help(text),
                None => {
                    return Err(ArgError {
                        message: format!("unrecognized command '{}'", words.join(" ")),
                        hint: format!("Try `{bin} help` for the list of commands."),
                    })
                }
            }
        }
    };
    Ok(command)
}
