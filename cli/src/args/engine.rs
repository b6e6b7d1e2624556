//! The table-driven parser: walks the arguments with lexopt and records what it finds in
//! [`Matches`], validating every value against its [`Kind`]. It knows nothing about individual
//! commands; `mod.rs` turns the matches into typed argument structs.

use std::ffi::OsString;
use std::path::PathBuf;

use super::spec::{self, Arity, CommandSpec, Default, Flag, Kind, GLOBAL_FLAGS};
use super::ArgError;

/// A validated value of a flag or positional argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Raw {
    /// Text, choices and pool refs (always valid UTF-8).
    Text(String),
    /// Files and directories (any bytes the OS allows).
    Path(PathBuf),
    /// Numbers, already range-checked.
    Number(u64),
}

/// What was found on the command line for one command (or for the global options).
#[derive(Debug, Default)]
pub(crate) struct Matches {
    /// Flags in the order given: long name and value (`None` for switches).
    flags: Vec<(&'static str, Option<Raw>)>,
    /// Positional values in order.
    positionals: Vec<Raw>,
}

impl Matches {
    /// Whether the flag was given at all.
    pub(crate) fn has(&self, flag: &Flag) -> bool {
        self.flags.iter().any(|(long, _)| *long == flag.long)
    }

    fn raws<'a>(&'a self, flag: &'a Flag) -> impl Iterator<Item = &'a Raw> + 'a {
        self.flags
            .iter()
            .filter(move |(long, _)| *long == flag.long)
            .filter_map(|(_, raw)| raw.as_ref())
    }

    /// All text values of a repeatable text flag, in order.
    pub(crate) fn texts(&self, flag: &Flag) -> Vec<String> {
        self.raws(flag)
            .filter_map(|raw| match raw {
                Raw::Text(text) => Some(text.clone()),
                _ => None,
            })
            .collect()
    }

    /// The value of a text flag, if given.
    pub(crate) fn text(&self, flag: &Flag) -> Option<String> {
        self.texts(flag).pop()
    }

    /// The value of a text flag, or its table default ([`Default::Value`]).
    pub(crate) fn text_or_default(&self, flag: &Flag) -> String {
        self.text(flag).unwrap_or_else(|| match flag.default {
            Default::Value(value) => value.to_owned(),
            Default::None | Default::Note(_) => String::new(),
        })
    }

    /// The value of a path flag, if given.
    pub(crate) fn path(&self, flag: &Flag) -> Option<PathBuf> {
        self.raws(flag)
            .filter_map(|raw| match raw {
                Raw::Path(path) => Some(path.clone()),
                _ => None,
            })
            .last()
    }

    /// The value of a path flag, or its table default.
    pub(crate) fn path_or_default(&self, flag: &Flag) -> PathBuf {
        self.path(flag).unwrap_or_else(|| match flag.default {
            Default::Value(value) => PathBuf::from(value),
            Default::None | Default::Note(_) => PathBuf::new(),
        })
    }

    /// The value of a number flag, if given.
    pub(crate) fn number(&self, flag: &Flag) -> Option<u64> {
        self.raws(flag)
            .filter_map(|raw| match raw {
                Raw::Number(n) => Some(*n),
                _ => None,
            })
            .last()
    }

    /// The value of a number flag, or its table default (a unit test checks every numeric
    /// default parses, so the `0` fallback is never used).
    pub(crate) fn number_or_default(&self, flag: &Flag) -> u64 {
        self.number(flag).unwrap_or(match flag.default {
            Default::Value(value) => value.parse().unwrap_or(0),
            Default::None | Default::Note(_) => 0,
        })
    }

    /// The value of a choice flag decoded with `decode`, falling back to the table default and
    /// then to `fallback` (a unit test checks every choice default decodes).
    pub(crate) fn choice<T>(&self, flag: &Flag, decode: fn(&str) -> Option<T>, fallback: T) -> T {
        self.text(flag)
            .as_deref()
            .and_then(decode)
            .or(match flag.default {
                Default::Value(value) => decode(value),
                Default::None | Default::Note(_) => None,
            })
            .unwrap_or(fallback)
    }

    /// Text of the positional at `index`.
    pub(crate) fn pos_text(&self, index: usize) -> Option<String> {
        match self.positionals.get(index) {
            Some(Raw::Text(text)) => Some(text.clone()),
            _ => None,
        }
    }

    /// Texts of the positionals from `index` on.
    pub(crate) fn pos_texts_from(&self, index: usize) -> Vec<String> {
        self.positionals
            .iter()
            .skip(index)
            .filter_map(|raw| match raw {
                Raw::Text(text) => Some(text.clone()),
                _ => None,
            })
            .collect()
    }

    /// Path of the positional at `index`.
    pub(crate) fn pos_path(&self, index: usize) -> Option<PathBuf> {
        match self.positionals.get(index) {
            Some(Raw::Path(path)) => Some(path.clone()),
            _ => None,
        }
    }

    /// Number of the positional at `index`.
    pub(crate) fn pos_number(&self, index: usize) -> Option<u64> {
        match self.positionals.get(index) {
            Some(Raw::Number(n)) => Some(*n),
            _ => None,
        }
    }
}

/// How parsing ended.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// A command with its matches.
    Run {
        spec: &'static CommandSpec,
        global: Matches,
        matches: Matches,
    },
    /// `--help` (or a group command without a subcommand): show help for this command.
    Help(&'static CommandSpec),
    /// `--version`.
    Version,
}

/// Builds a usage error whose hint points at the command's help.
pub(crate) fn usage(bin: &str, spec: &CommandSpec, message: String) -> ArgError {
    ArgError {
        message,
        hint: try_help(bin, spec),
    }
}

/// ``Try `pls CMD --help`.``
pub(crate) fn try_help(bin: &str, spec: &CommandSpec) -> String {
    if spec.path.is_empty() {
        format!("Try `{bin} --help`.")
    } else {
        format!("Try `{bin} {} --help`.", spec.name())
    }
}

/// How an option was spelled on the command line (for lookups and error messages).
enum Spelling {
    Short(char),
    Long(String),
}

impl Spelling {
    fn matches(&self, flag: &Flag) -> bool {
        match self {
            Spelling::Short(c) => flag.short == Some(*c),
            Spelling::Long(long) => flag.long == long,
        }
    }

    fn shown(&self) -> String {
        match self {
            Spelling::Short(c) => format!("-{c}"),
            Spelling::Long(long) => format!("--{long}"),
        }
    }
}

/// One command-line token, owned (lexopt's `Arg` borrows the parser).
enum Token {
    Option(Spelling),
    Value(OsString),
}

/// Parses `args` (without the program name) against the table.
pub(crate) fn run(bin: &str, args: Vec<OsString>) -> Result<Outcome, ArgError> {
    let mut parser = lexopt::Parser::from_args(args);
    let mut spec = spec::root();
    let mut global = Matches::default();
    let mut matches = Matches::default();

    loop {
        // Copy out of the borrowed `Arg` before calling `parser.value()`.
        let token = match parser.next() {
            Ok(Some(lexopt::Arg::Short(c))) => Token::Option(Spelling::Short(c)),
            Ok(Some(lexopt::Arg::Long(long))) => Token::Option(Spelling::Long(long.to_owned())),
            Ok(Some(lexopt::Arg::Value(value))) => Token::Value(value),
            Ok(None) => break,
            Err(err) => return Err(from_lexopt(bin, spec, err)),
        };
        match token {
            Token::Option(spelling) => {
                let spelling = compat_spelling(spelling);
                let (flag, is_global) = match spec.flags.iter().find(|f| spelling.matches(f)) {
                    Some(flag) => (flag, false),
                    None => match GLOBAL_FLAGS.iter().find(|f| spelling.matches(f)) {
                        Some(flag) => (flag, true),
                        None => return Err(unknown_flag(bin, spec, &spelling)),
                    },
                };
                // Like clap, --help and --version win over everything else on the line.
                if is_global && flag.long == "help" {
                    return Ok(Outcome::Help(spec));
                }
                if is_global && flag.long == "version" {
                    return Ok(Outcome::Version);
                }
                let target = if is_global { &mut global } else { &mut matches };
                if flag.kind.takes_value() && !flag.repeatable && target.has(flag) {
                    return Err(usage(
                        bin,
                        spec,
                        format!(
                            "the argument '--{}' cannot be used multiple times",
                            flag.long
                        ),
                    ));
                }
                let raw = if flag.kind.takes_value() {
                    let value = parser.value().map_err(|_| {
                        usage(bin, spec, format!("missing value for --{}", flag.long))
                    })?;
                    Some(convert(
                        bin,
                        spec,
                        flag.kind,
                        value,
                        &format!("--{}", flag.long),
                    )?)
                } else {
                    None
                };
                target.flags.push((flag.long, raw));
            }
            Token::Value(value) => {
                if matches.positionals.is_empty() {
                    if let Some(child) = subcommand(spec, &value) {
                        matches = carry_over(bin, spec, child, matches)?;
                        spec = child;
                        continue;
                    }
                    if spec.group {
                        return Err(unknown_command(bin, spec, &value));
                    }
                }
                let index = matches.positionals.len();
                let Some(slot) = slot(spec, index) else {
                    return Err(unexpected_positional(bin, spec, &value));
                };
                let raw = convert(bin, spec, slot.kind, value, slot.name)?;
                matches.positionals.push(raw);
            }
        }
    }

    if spec.group {
        // `pls` or `pls pool` alone: show what is available instead of failing.
        return Ok(Outcome::Help(spec));
    }
    let missing: Vec<&str> = spec
        .positionals
        .iter()
        .enumerate()
        .filter(|(i, p)| {
            matches!(p.arity, Arity::Required | Arity::OneOrMore) && *i >= matches.positionals.len()
        })
        .map(|(_, p)| p.name)
        .collect();
    if !missing.is_empty() {
        let hint = match spec.missing_hint {
            Some(hint) => hint.replace("{bin}", bin),
            None => try_help(bin, spec),
        };
        return Err(ArgError {
            message: format!(
                "the following required arguments were not provided: {}",
                missing.join(", ")
            ),
            hint,
        });
    }
    Ok(Outcome::Run {
        spec,
        global,
        matches,
    })
}

/// Upstream silently accepted `---help` and `---version`; keep doing so.
fn compat_spelling(spelling: Spelling) -> Spelling {
    match spelling {
        Spelling::Long(long) if long == "-help" || long == "-version" => {
            Spelling::Long(long.trim_start_matches('-').to_owned())
        }
        other => other,
    }
}

/// The subcommand of `spec` named by `value`, if any.
fn subcommand(spec: &CommandSpec, value: &OsString) -> Option<&'static CommandSpec> {
    spec.subcommand(value.to_str()?)
}

/// The positional slot for the `index`-th value (the last slot absorbs extras if variadic).
fn slot(spec: &CommandSpec, index: usize) -> Option<&'static spec::Positional> {
    let positionals: &'static [spec::Positional] = spec.positionals;
    positionals.get(index).or_else(|| {
        positionals
            .last()
            .filter(|p| matches!(p.arity, Arity::OneOrMore | Arity::ZeroOrMore))
    })
}

/// Options given before a subcommand (`pls serve --bind X check`) carry over to it when the
/// subcommand has an option of the same name; anything else is an error rather than being
/// silently ignored (upstream ignored run options before `serve init`).
fn carry_over(
    bin: &str,
    parent: &CommandSpec,
    child: &CommandSpec,
    matches: Matches,
) -> Result<Matches, ArgError> {
    for (long, raw) in &matches.flags {
        let Some(flag) = child.flag(long) else {
            return Err(usage(
                bin,
                child,
                format!(
                    "the argument '--{long}' cannot be used with '{}'",
                    child.name()
                ),
            ));
        };
        let compatible = match raw {
            None => !flag.kind.takes_value(),
            Some(_) => parent
                .flag(long)
                .is_some_and(|p| p.kind.family() == flag.kind.family()),
        };
        if !compatible {
            return Err(usage(
                bin,
                child,
                format!(
                    "the argument '--{long}' cannot be used with '{}'",
                    child.name()
                ),
            ));
        }
    }
    Ok(matches)
}

/// Validates and converts one value according to its kind. `what` names the flag or
/// positional in messages (`--tail`, `SEQ`).
fn convert(
    bin: &str,
    spec: &CommandSpec,
    kind: Kind,
    value: OsString,
    what: &str,
) -> Result<Raw, ArgError> {
    if matches!(kind, Kind::File | Kind::Dir) {
        return Ok(Raw::Path(PathBuf::from(value)));
    }
    let text = value.into_string().map_err(|bad| {
        usage(
            bin,
            spec,
            format!(
                "invalid UTF-8 in the value of {what}: '{}'",
                bad.to_string_lossy()
            ),
        )
    })?;
    let invalid = |expected: String| {
        usage(
            bin,
            spec,
            format!("invalid value '{text}' for {what} (expected {expected})"),
        )
    };
    match kind {
        Kind::Number { max } => match text.parse::<u64>() {
            Ok(n) if n <= max => Ok(Raw::Number(n)),
            _ if max == u64::MAX => Err(invalid("a non-negative integer".to_owned())),
            _ => Err(invalid(format!("an integer from 0 to {max}"))),
        },
        Kind::Choice(names) => {
            if names.contains(&text.as_str()) {
                Ok(Raw::Text(text))
            } else {
                Err(invalid(one_of(names)))
            }
        }
        Kind::Switch | Kind::Text | Kind::Pool | Kind::File | Kind::Dir => Ok(Raw::Text(text)),
    }
}

/// "a or b", "a, b or c".
pub(crate) fn one_of(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [only] => (*only).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn unknown_flag(bin: &str, spec: &CommandSpec, spelling: &Spelling) -> ArgError {
    let shown = spelling.shown();
    let candidates = spec
        .flags
        .iter()
        .chain(GLOBAL_FLAGS)
        .map(|f| format!("--{}", f.long));
    let mut err = usage(bin, spec, format!("unexpected argument '{shown}'"));
    if let Some(best) = closest(&shown, candidates) {
        err.hint = format!("Did you mean `{best}`? {}", err.hint);
    }
    err
}

fn unknown_command(bin: &str, spec: &CommandSpec, value: &OsString) -> ArgError {
    let word = value.to_string_lossy();
    let candidates = spec
        .children()
        .filter_map(|c| c.path.last().map(ToString::to_string));
    let message = if spec.path.is_empty() {
        format!("unrecognized command '{word}'")
    } else {
        format!("unrecognized command '{word}' for '{}'", spec.name())
    };
    let mut err = usage(bin, spec, message);
    if let Some(best) = closest(&word, candidates) {
        err.hint = format!("Did you mean `{best}`? {}", err.hint);
    }
    err
}

fn unexpected_positional(bin: &str, spec: &CommandSpec, value: &OsString) -> ArgError {
    let word = value.to_string_lossy();
    let mut err = usage(bin, spec, format!("unexpected argument '{word}'"));
    // `pls serve chek` — probably a misspelt subcommand.
    let candidates = spec
        .children()
        .filter_map(|c| c.path.last().map(ToString::to_string));
    if let Some(best) = closest(&word, candidates) {
        err.hint = format!("Did you mean `{best}`? {}", err.hint);
    }
    err
}

/// Turns lexopt's own errors into ours. Most cannot happen because the loop asks for values
/// itself; the one that can is a value attached to a switch (`--one=yes`).
fn from_lexopt(bin: &str, spec: &CommandSpec, err: lexopt::Error) -> ArgError {
    let message = match err {
        lexopt::Error::UnexpectedValue { option, value } => format!(
            "unexpected value '{}' for {option} (it takes no value)",
            value.to_string_lossy()
        ),
        lexopt::Error::MissingValue {
            option: Some(option),
        } => format!("missing value for {option}"),
        lexopt::Error::MissingValue { option: None } => "missing value".to_owned(),
        lexopt::Error::UnexpectedOption(option) => format!("unexpected argument '{option}'"),
        lexopt::Error::UnexpectedArgument(value) => {
            format!("unexpected argument '{}'", value.to_string_lossy())
        }
        lexopt::Error::NonUnicodeValue(value) => {
            format!("invalid UTF-8 in argument '{}'", value.to_string_lossy())
        }
        lexopt::Error::ParsingFailed { value, error } => {
            format!("invalid value '{value}': {error}")
        }
        lexopt::Error::Custom(error) => error.to_string(),
    };
    usage(bin, spec, message)
}

/// The candidate closest to `word` by edit distance, if close enough to be a likely typo.
fn closest(word: &str, candidates: impl Iterator<Item = String>) -> Option<String> {
    let limit = (word.chars().count() / 3).clamp(1, 3);
    candidates
        .map(|c| (edit_distance(word, &c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance over chars (inputs are short: flag and command names).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev_diag = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            let next = (row[j] + 1).min(row[j + 1] + 1).min(prev_diag + cost);
            prev_diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_basics() {
        assert_eq!(edit_distance("peak", "peek"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("tail", "tail"), 0);
        assert_eq!(edit_distance("--tial", "--tail"), 2);
    }

    #[test]
    fn one_of_lists() {
        assert_eq!(one_of(&["a"]), "a");
        assert_eq!(one_of(&["a", "b"]), "a or b");
        assert_eq!(one_of(&["a", "b", "c"]), "a, b or c");
    }
}
