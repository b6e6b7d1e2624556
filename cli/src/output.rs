//! How output looks: JSON documents, message lines, errors, and notices.
//!
//! Humans at a terminal get pretty, coloured JSON and short error text with a
//! hint; scripts (anything that is not a terminal) get compact JSON on stdout
//! and one JSON object per error or notice on stderr.

use std::io::{self, IsTerminal, Write};

use serde_json::{json, Map, Value};

use crate::pretty;

/// The `--color` choice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ColorChoice {
    /// Colour when the stream is a terminal.
    #[default]
    Auto,
    /// Always colour (and pretty-print documents even when piped).
    Always,
    /// Never colour.
    Never,
}

/// What the terminal can take, decided once at start-up.
#[derive(Clone, Copy, Debug)]
pub struct Term {
    /// Whether stdout is a terminal.
    pub stdout_tty: bool,
    /// Whether stderr is a terminal.
    pub stderr_tty: bool,
    color: ColorChoice,
}

const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const RESET: &str = "\x1b[0m";

impl Term {
    /// Detects the terminal.
    pub fn detect(color: ColorChoice) -> Self {
        Term {
            stdout_tty: io::stdout().is_terminal(),
            stderr_tty: io::stderr().is_terminal(),
            color,
        }
    }

    /// Whether stdout gets ANSI colours.
    pub fn color_stdout(&self) -> bool {
        match self.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => self.stdout_tty,
        }
    }

    fn color_stderr(&self) -> bool {
        match self.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => self.stderr_tty,
        }
    }

    /// Whether single documents (receipts, info, `get`) are pretty-printed.
    pub fn pretty_documents(&self) -> bool {
        self.stdout_tty || self.color == ColorChoice::Always
    }

    /// Writes one JSON document (compact JSON text) to `out`, pretty when
    /// [`Term::pretty_documents`], followed by a newline.
    pub fn write_document(&self, out: &mut Vec<u8>, compact: &[u8]) {
        self.write_json(out, compact, self.pretty_documents());
    }

    /// Writes JSON text to `out`, pretty or as is, and a newline.
    pub fn write_json(&self, out: &mut Vec<u8>, compact: &[u8], pretty: bool) {
        if !pretty || pretty::write_pretty(compact, self.color_stdout(), out).is_err() {
            out.extend_from_slice(compact);
        }
        out.push(b'\n');
    }

    /// Prints a JSON value as one document on stdout.
    pub fn print_value(&self, v: &Value) -> io::Result<()> {
        let compact = serde_json::to_vec(v).map_err(io::Error::other)?;
        let mut out = Vec::with_capacity(compact.len() * 2);
        self.write_document(&mut out, &compact);
        io::stdout().lock().write_all(&out)
    }

    /// Reports an error on stderr: text with a hint on a terminal, else one
    /// JSON object `{"error":{…}}`.
    pub fn print_error(&self, e: &plasmite::Error) {
        let mut err = io::stderr().lock();
        if self.stderr_tty {
            let (red, yellow, reset) = if self.color_stderr() {
                (RED, YELLOW, RESET)
            } else {
                ("", "", "")
            };
            let _ = writeln!(err, "{red}error:{reset} {}", e.message());
            if let Some(h) = e.hint() {
                let _ = writeln!(err, "{yellow}hint:{reset} {h}");
            }
            if let Some(p) = e.path() {
                let _ = writeln!(err, "{yellow}path:{reset} {}", p.display());
            }
            if let Some(s) = e.seq() {
                let _ = writeln!(err, "{yellow}seq:{reset} {s}");
            }
            if let Some(o) = e.offset() {
                let _ = writeln!(err, "{yellow}offset:{reset} {o}");
            }
        } else {
            let _ = writeln!(err, "{}", json!({ "error": error_object(e) }));
        }
    }

    /// Reports a non-fatal notice on stderr.
    pub fn notice(&self, kind: &str, cmd: &str, pool: &str, message: &str, details: Value) {
        let mut err = io::stderr().lock();
        if self.stderr_tty {
            let (yellow, reset) = if self.color_stderr() {
                (YELLOW, RESET)
            } else {
                ("", "")
            };
            let _ = writeln!(err, "{yellow}notice:{reset} {message} (pool: {pool})");
        } else {
            let notice = json!({"notice": {
                "cmd": cmd,
                "details": details,
                "kind": kind,
                "message": message,
                "pool": pool,
                "time": plasmite::time::rfc3339(plasmite::time::now_ns()),
            }});
            let _ = writeln!(err, "{notice}");
        }
    }
}

/// The error object of the JSON envelope, keys in alphabetical order.
pub fn error_object(e: &plasmite::Error) -> Value {
    let mut o = Map::new();
    if let Some(h) = e.hint() {
        o.insert("hint".into(), h.into());
    }
    o.insert("kind".into(), e.kind().as_str().into());
    o.insert("message".into(), e.message().into());
    if let Some(off) = e.offset() {
        o.insert("offset".into(), off.into());
    }
    if let Some(p) = e.path() {
        o.insert("path".into(), p.display().to_string().into());
    }
    if let Some(s) = e.seq() {
        o.insert("seq".into(), s.into());
    }
    Value::Object(o)
}

/// Renders rows as a left-aligned table, two spaces between columns.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(parts.join("  ").trim_end());
        out.push('\n');
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(|c| c.as_str()).collect());
    }
    out
}
