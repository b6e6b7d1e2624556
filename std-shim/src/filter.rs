//! `--where EXPR` predicates: jq expressions evaluated against each message envelope.
//!
//! Built on jaq (`jaq-core` + `jaq-std` + `jaq-json`) with the full jq
//! standard library, so `select`, `test`, `any`, `map`, `length`,
//! `startswith`, math and friends all work. Expressions are compiled once and
//! reused for every message; the envelope bytes are parsed straight into jaq
//! values (no `serde_json::Value` round trip).
//!
//! Semantics, per expression (several expressions are ANDed):
//! * the message matches when the expression yields `true` at least once,
//!   i.e. `--where E` keeps exactly what jq's `select(E)` would keep;
//!   evaluation stops at the first `true`;
//! * `false` outputs and no output at all mean "no match";
//! * an output that is not a boolean is an error ([`FilterError::NonBoolean`]),
//!   because it almost always means the user forgot a comparison;
//! * a runtime error (e.g. `null | test("x")` on a message lacking the field)
//!   means "no match" — such messages simply do not satisfy the predicate.
//!   (Upstream's missing-key-is-an-error quirk is not reproduced: with the full
//!   standard library `.missing` is `null`, as in jq.)

use std::fmt;

use jaq_core::load::{lex, parse, Arena, File, Loader};
use jaq_core::{compile, data, load, Ctx, Vars};
use jaq_json::Val;

type Data = data::JustLut<Val>;
type JaqFilter = jaq_core::Filter<Data>;

/// Longest rendering of a value quoted in an error message.
const MAX_VALUE_SNIPPET: usize = 120;

/// A failure to compile or evaluate a `--where` expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterError {
    /// The expression does not parse or refers to unknown names.
    Compile {
        /// The expression as given.
        expr: String,
        /// Human-readable description of every problem found.
        message: String,
    },
    /// The expression produced something other than `true`/`false`.
    NonBoolean {
        /// The expression as given.
        expr: String,
        /// The offending output as JSON, truncated for display.
        value: String,
    },
    /// The message bytes handed to [`Filter::matches`] are not valid JSON.
    InvalidInput {
        /// Parser diagnostic.
        message: String,
    },
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FilterError::Compile { expr, message } => {
                write!(f, "invalid --where expression `{expr}`: {message}")
            }
            FilterError::NonBoolean { expr, value } => write!(
                f,
                "--where expression `{expr}` must produce true or false, but produced {value}"
            ),
            FilterError::InvalidInput { message } => {
                write!(f, "message is not valid JSON: {message}")
            }
        }
    }
}

impl std::error::Error for FilterError {}

impl From<FilterError> for crate::Error {
    /// A Usage error (exit 2) saying how to fix the expression.
    fn from(e: FilterError) -> Self {
        crate::Error::new(crate::ErrorKind::Usage, e.to_string()).with_hint(
            "Check the jq expression; it must produce true or false, e.g. '.data.status == \"green\"'.",
        )
    }
}

/// A compiled set of `--where` predicates (ANDed). Compile once, then call
/// [`matches`](Self::matches) per message.
pub struct Filter {
    predicates: Vec<(String, JaqFilter)>,
}

impl fmt::Debug for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let exprs: Vec<&str> = self.predicates.iter().map(|(e, _)| e.as_str()).collect();
        f.debug_struct("Filter").field("exprs", &exprs).finish()
    }
}

impl Filter {
    /// Compiles each expression; the first one that fails is reported by name.
    ///
    /// An empty list yields a filter that matches every message.
    pub fn compile(exprs: &[String]) -> Result<Filter, FilterError> {
        let predicates = exprs
            .iter()
            .map(|expr| compile_one(expr).map(|f| (expr.clone(), f)))
            .collect::<Result<_, _>>()?;
        Ok(Filter { predicates })
    }

    /// True when no expressions were given (every message matches).
    pub fn is_empty(&self) -> bool {
        self.predicates.is_empty()
    }

    /// Evaluates all predicates against a message envelope given as JSON bytes
    /// (`{"data":…,"meta":{"tags":[…]},"seq":…,"time":…}`).
    pub fn matches(&self, message_json: &[u8]) -> Result<bool, FilterError> {
        if self.predicates.is_empty() {
            return Ok(true);
        }
        let input =
            jaq_json::read::parse_single(message_json).map_err(|e| FilterError::InvalidInput {
                message: e.to_string(),
            })?;
        for (expr, filter) in &self.predicates {
            if !run_one(expr, filter, &input)? {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// Runs one predicate with the "any `true`" rule described in the module docs.
fn run_one(expr: &str, filter: &JaqFilter, input: &Val) -> Result<bool, FilterError> {
    let ctx = Ctx::<Data>::new(&filter.lut, Vars::new([]));
    // `Val` clones are cheap (reference-counted containers).
    for output in filter.id.run((ctx, input.clone())) {
        match output {
            Ok(Val::Bool(true)) => return Ok(true),
            Ok(Val::Bool(false)) => {}
            Ok(other) => {
                return Err(FilterError::NonBoolean {
                    expr: expr.to_owned(),
                    value: truncate(other.to_string(), MAX_VALUE_SNIPPET),
                })
            }
            // Runtime errors (and `halt`, which must never exit the process from a
            // predicate) count as "does not match".
            Err(_) => return Ok(false),
        }
    }
    Ok(false)
}

fn compile_one(expr: &str) -> Result<JaqFilter, FilterError> {
    let fail = |message: String| FilterError::Compile {
        expr: expr.to_owned(),
        message,
    };
    if expr.trim().is_empty() {
        return Err(fail("the expression is empty".to_owned()));
    }
    let defs = jaq_core::defs()
        .chain(jaq_std::defs())
        .chain(jaq_json::defs());
    let funs = jaq_core::funs()
        .chain(jaq_std::funs())
        .chain(jaq_json::funs());
    let arena = Arena::default();
    let modules = Loader::new(defs)
        .load(
            &arena,
            File {
                code: expr,
                path: (),
            },
        )
        .map_err(|errs| {
            let problems: Vec<String> = errs
                .into_iter()
                .flat_map(|(_, e)| describe_load_error(expr, e))
                .collect();
            fail(problems.join("; "))
        })?;
    jaq_core::Compiler::default()
        .with_funs(funs)
        .compile(modules)
        .map_err(|errs| {
            let problems: Vec<String> = errs
                .into_iter()
                .flat_map(|(_, es)| es)
                .map(|(name, undefined)| describe_undefined(expr, name, &undefined))
                .collect();
            fail(problems.join("; "))
        })
}

/// Turns lexer/parser errors into sentences like "expected term at column 3, found `)`".
fn describe_load_error(code: &str, err: load::Error<&str>) -> Vec<String> {
    match err {
        load::Error::Io(items) => items
            .into_iter()
            .map(|(path, msg)| format!("cannot load module `{path}`: {msg}"))
            .collect(),
        load::Error::Lex(items) => items
            .into_iter()
            .map(|(expect, rest)| {
                let what = match expect {
                    lex::Expect::Digit => "a digit",
                    lex::Expect::Ident => "an identifier",
                    lex::Expect::Delim("(") => "a closing parenthesis",
                    lex::Expect::Delim("[") => "a closing bracket",
                    lex::Expect::Delim("{") => "a closing brace",
                    lex::Expect::Delim("\"") => "a closing quote",
                    lex::Expect::Delim(_) => "a closing delimiter",
                    lex::Expect::Escape => "a valid string escape sequence",
                    lex::Expect::Unicode => "a 4-digit hexadecimal code point",
                    _ => "a valid token",
                };
                // Lexer errors carry the rest of the input; point at its start.
                let found = rest.chars().next().map(|c| c.to_string());
                located(code, rest, what, found.as_deref())
            })
            .collect(),
        load::Error::Parse(items) => items
            .into_iter()
            .map(|(expect, found)| {
                let what = match expect {
                    parse::Expect::Nothing => "end of expression".to_owned(),
                    parse::Expect::Just(s) => format!("`{s}`"),
                    other => other.as_str().to_owned(),
                };
                located(code, found, &what, Some(found))
            })
            .collect(),
    }
}

fn describe_undefined(code: &str, name: &str, undefined: &compile::Undefined) -> String {
    let arity = match undefined {
        compile::Undefined::Filter(arity) => format!("/{arity}"),
        _ => String::new(),
    };
    let what = format!("undefined {} `{name}{arity}`", undefined.as_str());
    match offset_in(code, name) {
        Some(at) => format!("{what} at column {}", column(code, at)),
        None => what,
    }
}

/// "expected WHAT at column N, found `X`" (or "… found end of expression").
fn located(code: &str, part: &str, what: &str, found: Option<&str>) -> String {
    let found = match found {
        Some(text) if !text.is_empty() => format!("`{}`", truncate(text.to_owned(), 40)),
        _ => "end of expression".to_owned(),
    };
    match offset_in(code, part) {
        Some(at) => format!(
            "expected {what} at column {}, found {found}",
            column(code, at)
        ),
        None => format!("expected {what}, found {found}"),
    }
}

/// Byte offset of `part` inside `whole` when `part` is a sub-slice of it.
fn offset_in(whole: &str, part: &str) -> Option<usize> {
    let start = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    (start + part.len() <= whole.len()).then_some(start)
}

/// 1-based column (in characters) of a byte offset.
fn column(code: &str, offset: usize) -> usize {
    code.get(..offset).map_or(offset, |s| s.chars().count()) + 1
}

/// Shortens `s` to at most `max` bytes on a char boundary, marking the cut with `...`.
fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str("...");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = br#"{"data":{"msg":"Payment gateway TIMEOUT after 30s","status":"green","n":[1,2,3],"user":{"name":"alice","age":41},"ok":true,"nothing":null},"meta":{"tags":["sev1","billing"]},"seq":7,"time":"2026-02-06T18:58:01.5Z"}"#;

    fn filter(exprs: &[&str]) -> Filter {
        let exprs: Vec<String> = exprs.iter().map(|s| s.to_string()).collect();
        Filter::compile(&exprs).unwrap_or_else(|e| panic!("{e}"))
    }

    fn check(expr: &str) -> Result<bool, FilterError> {
        filter(&[expr]).matches(MSG)
    }

    #[test]
    fn true_and_false_predicates() {
        for expr in [
            r#".data.status == "green""#,
            r#".data.msg | test("timeout"; "i")"#,
            r#".data.msg | test("TIME")"#,
            r#".data.msg | ascii_downcase | contains("gateway")"#,
            r#".data.msg | startswith("Payment")"#,
            r#".data.msg | endswith("30s")"#,
            r#".data.msg | split(" ") | length == 5"#,
            r#".data.n | any(. > 2)"#,
            r#".data.n | all(. > 0)"#,
            r#".data.n | map(. * 2) | add == 12"#,
            r#"[.data.n[] | select(. >= 2)] | length == 2"#,
            r#".meta.tags | index("billing") != null"#,
            r#".meta.tags | contains(["sev1"])"#,
            r#"any(.meta.tags[]; . == "sev1")"#,
            r#".data | has("msg")"#,
            r#".data.user.age > 40 and .data.user.name == "alice""#,
            r#".data.ok"#,
            r#".data.nothing == null"#,
            r#".data.missing == null"#,
            r#".seq % 7 == 0"#,
            r#"(.data.user.age | sqrt | floor) == 6"#,
            r#".time | startswith("2026-")"#,
            r#".data.n | length as $n | $n == 3"#,
            r#"(.data.n | tostring) == "[1,2,3]""#,
            r#".data | type == "object""#,
            r#".data.msg | ascii_upcase | test("^PAYMENT")"#,
            r#"if .seq > 5 then true else false end"#,
            r#".data.user | keys == ["age", "name"]"#,
            r#"(.data.status == "red") | not"#,
        ] {
            assert_eq!(check(expr), Ok(true), "{expr}");
        }
        for expr in [
            r#".data.status == "red""#,
            r#".data.msg | test("^timeout")"#,
            r#".data.n | any(. > 3)"#,
            r#".meta.tags | index("nope") != null"#,
            r#".data.user.age < 18"#,
            r#"empty"#,
            r#"false"#,
            r#".data.status | not"#,
        ] {
            assert_eq!(check(expr), Ok(false), "{expr}");
        }
    }

    #[test]
    fn multiple_outputs_match_like_select() {
        assert_eq!(check(r#".meta.tags[] == "billing""#), Ok(true));
        assert_eq!(check(r#".meta.tags[] == "nope""#), Ok(false));
        assert_eq!(check("false, true"), Ok(true));
        // Evaluation stops at the first `true`, so later outputs do not matter.
        assert_eq!(check("true, 1"), Ok(true));
        assert!(matches!(
            check("false, 1"),
            Err(FilterError::NonBoolean { .. })
        ));
    }

    #[test]
    fn runtime_errors_mean_no_match() {
        assert_eq!(check(r#".data.missing | test("x")"#), Ok(false));
        assert_eq!(check(r#".data.msg + 1 > 0"#), Ok(false));
        assert_eq!(check(r#"error("boom")"#), Ok(false));
        assert_eq!(check(r#".data.n | .[0] | .foo"#), Ok(false));
        assert_eq!(check("halt"), Ok(false));
        assert_eq!(check("true, error(1)"), Ok(true));
    }

    #[test]
    fn non_boolean_output_is_an_error() {
        for (expr, shown) in [
            (".data.status", "\"green\""),
            (".seq", "7"),
            (".data.nothing", "null"),
            (r#"select(.seq == 7)"#, "{\"data\""),
        ] {
            match check(expr) {
                Err(FilterError::NonBoolean { expr: e, value }) => {
                    assert_eq!(e, expr);
                    assert!(value.starts_with(shown), "{value}");
                    assert!(value.len() <= MAX_VALUE_SNIPPET + 3);
                }
                other => panic!("{expr}: {other:?}"),
            }
        }
        let err = check(".seq").unwrap_err().to_string();
        assert!(
            err.contains("`.seq`") && err.contains("true or false"),
            "{err}"
        );
    }

    #[test]
    fn expressions_are_anded() {
        let both = filter(&[r#".data.status == "green""#, ".seq > 5"]);
        assert_eq!(both.matches(MSG), Ok(true));
        let one_false = filter(&[r#".data.status == "green""#, ".seq > 50"]);
        assert_eq!(one_false.matches(MSG), Ok(false));
        let none = filter(&[]);
        assert!(none.is_empty());
        assert_eq!(none.matches(b"not even json"), Ok(true));
    }

    #[test]
    fn compile_errors_name_expression_and_problem() {
        let cases = [
            (
                ".data | nosuchfn",
                "undefined filter `nosuchfn/0` at column 9",
            ),
            ("test(1; 2; 3; 4)", "undefined filter `test/4`"),
            ("$nope == 1", "undefined variable"),
            (".data.msg | test(\"x\"", "closing parenthesis"),
            ("[1, 2", "closing bracket"),
            ("\"abc", "closing quote"),
            (".a ==", "expected term"),
            ("if . then 1", "else or end"),
            (".a )", "column 4"),
            ("", "empty"),
            ("   ", "empty"),
            ("{a:}", "expected"),
            ("& x", "expected"),
        ];
        for (expr, needle) in cases {
            let err = Filter::compile(&[".seq > 0".to_owned(), expr.to_owned()]).unwrap_err();
            let text = err.to_string();
            match &err {
                FilterError::Compile { expr: e, .. } => assert_eq!(e, expr),
                other => panic!("{expr}: {other:?}"),
            }
            assert!(text.contains(&format!("`{expr}`")), "{text}");
            assert!(text.contains(needle), "{expr}: {text}");
        }
    }

    #[test]
    fn invalid_input_is_reported() {
        let f = filter(&["true"]);
        assert!(matches!(
            f.matches(b"{\"data\":"),
            Err(FilterError::InvalidInput { .. })
        ));
        assert!(matches!(
            f.matches(b""),
            Err(FilterError::InvalidInput { .. })
        ));
    }

    #[test]
    fn big_numbers_and_unicode_survive() {
        let msg =
            br#"{"data":{"big":12345678901234567890123,"s":"h\u00e9llo \ud83d\ude00"},"seq":1}"#;
        let f = filter(&[r#".data.s == "héllo 😀""#, ".data.big > 1e22"]);
        assert_eq!(f.matches(msg), Ok(true));
    }

    #[test]
    fn reuse_is_cheap() {
        // Not a timing assertion: exercises the hot path many times with one compiled
        // filter, which is how `peek` uses it.
        let f = filter(&[r#".data.msg | test("timeout"; "i")"#, ".seq > 0"]);
        let mut hits = 0;
        for _ in 0..2_000 {
            if f.matches(MSG).expect("valid") {
                hits += 1;
            }
        }
        assert_eq!(hits, 2_000);
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("ééé".to_owned(), 3), "é...");
        assert_eq!(truncate("abc".to_owned(), 3), "abc");
    }
}
