//! `pls doctor POOL | --all`: validate pools and report every problem found.
//!
//! A pool is `corrupt` when its header cannot be read or when validation
//! finds a damaged frame, seqs out of order, or a published state that
//! disagrees with the ring. Index slots that point at the wrong frame are
//! warnings only: lookups then fall back to scanning, no message is lost,
//! so the status stays `ok` (they are listed in `warnings` and as
//! `remediation_hints`). Unlike upstream, which stopped at the first problem,
//! every problem is reported, each with its file offset and seq.

use std::fmt::Write as _;
use std::path::PathBuf;

use plasmite::core::{Issue, IssueKind, Report};
use plasmite::{Error, ErrorKind, Pool};
use serde_json::{json, Value};

use super::pool::{absolute, cell, open_existing, print_json, print_text};
use super::{local_only, shell_word, Ctx, Outcome};
use crate::args::{DoctorArgs, DoctorTarget};

/// Issue lines shown per pool in human output (`--json` lists all).
const HUMAN_ISSUE_LINES: usize = 20;

/// One problem, as reported.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Problem {
    /// `state`, `frame`, `sequence`, `index`, `corrupt` (header unreadable)
    /// or `format` (unsupported format version).
    code: &'static str,
    message: String,
    /// Byte offset in the pool file.
    offset: Option<u64>,
    seq: Option<u64>,
}

impl Problem {
    fn to_json(&self) -> Value {
        json!({"code": self.code, "message": self.message, "offset": self.offset, "seq": self.seq})
    }

    /// `frame: frame checksum mismatch (offset 70000, seq 5)`.
    fn line(&self) -> String {
        let mut s = format!("{}: {}", self.code, self.message);
        let at: Vec<String> = [("offset", self.offset), ("seq", self.seq)]
            .iter()
            .filter_map(|(k, v)| v.map(|v| format!("{k} {v}")))
            .collect();
        if !at.is_empty() {
            let _ = write!(s, " ({})", at.join(", "));
        }
        cell(&s)
    }
}

/// The outcome for one pool.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PoolReport {
    /// How the pool was named: as typed, or its path with `--all`.
    label: String,
    path: PathBuf,
    corrupt: bool,
    issues: Vec<Problem>,
    warnings: Vec<Problem>,
    hints: Vec<String>,
    last_good_seq: Option<u64>,
    /// Intact messages, when the pool could be scanned.
    messages: Option<u64>,
    /// Seqs missing between retained messages, when scanned.
    gaps: Option<u64>,
}

impl PoolReport {
    fn to_json(&self) -> Value {
        json!({
            "gaps": self.gaps,
            "issue_count": self.issues.len(),
            "issues": self.issues.iter().map(Problem::to_json).collect::<Vec<_>>(),
            "last_good_seq": self.last_good_seq,
            "messages": self.messages,
            "path": self.path.display().to_string(),
            "pool_ref": self.label,
            "remediation_hints": self.hints,
            // Upstream's field, kept for its consumers; we take no snapshots.
            "snapshot_path": null,
            "status": if self.corrupt { "corrupt" } else { "ok" },
            "warnings": self.warnings.iter().map(Problem::to_json).collect::<Vec<_>>(),
        })
    }

    fn human(&self, out: &mut String) {
        let label = cell(&self.label);
        let messages = self.messages.map(|n| plural(n, "message", "messages"));
        if self.corrupt {
            let _ = write!(out, "CORRUPT: {label}");
            if let Some(s) = self.last_good_seq {
                let _ = write!(out, " last_good_seq={s}");
            }
            if let Some(first) = self.issues.first() {
                let _ = write!(out, " issue={}", cell(&first.message));
            }
            let mut facts = vec![plural(self.issues.len() as u64, "issue", "issues")];
            facts.extend(messages.map(|m| format!("{m} intact")));
            let _ = writeln!(out, " ({})", facts.join(", "));
        } else {
            let mut facts: Vec<String> = messages.into_iter().collect();
            if let Some(g) = self.gaps.filter(|g| *g > 0) {
                facts.push(format!("{} missing", plural(g, "seq", "seqs")));
            }
            if !self.warnings.is_empty() {
                facts.push(plural(self.warnings.len() as u64, "warning", "warnings"));
            }
            let _ = writeln!(out, "OK: {label} ({})", facts.join(", "));
        }
        let problems = self.issues.iter().chain(&self.warnings);
        let total = self.issues.len() + self.warnings.len();
        for p in problems.take(HUMAN_ISSUE_LINES) {
            let _ = writeln!(out, "  {}", p.line());
        }
        if total > HUMAN_ISSUE_LINES {
            let _ = writeln!(
                out,
                "  ... and {} more (--json lists them all)",
                total - HUMAN_ISSUE_LINES
            );
        }
        if self.corrupt {
            for h in &self.hints {
                let _ = writeln!(out, "  hint: {}", cell(h));
            }
        }
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Runs `doctor`. Exit status 7 if any pool is corrupt, else 0; a pool that
/// cannot be opened at all (missing, permission, I/O) is a command error.
pub fn run(ctx: &Ctx, args: DoctorArgs) -> Outcome {
    let mut reports = Vec::new();
    let mut hard_error = None;
    match &args.target {
        DoctorTarget::Pool(pool) => {
            local_only(ctx, pool, "doctor")?;
            let path = absolute(&ctx.dir.resolve(pool));
            let opened = open_existing(ctx, pool);
            reports.push(check(ctx, pool.clone(), path, opened)?);
        }
        DoctorTarget::All => {
            let dir = ctx.dir.path();
            if !dir.exists() {
                return Err(Error::new(ErrorKind::NotFound, "pool directory not found")
                    .with_path(dir)
                    .with_hint(format!(
                        "Create a pool first ({} pool create NAME), or pass --dir for a different pool directory.",
                        ctx.bin
                    )));
            }
            for entry in ctx.dir.list()? {
                let path = absolute(&entry.path);
                let label = path.display().to_string();
                match check(ctx, label, path.clone(), Pool::open(&path)) {
                    Ok(r) => reports.push(r),
                    // Deleted since the directory was read: nothing to check.
                    Err(e) if e.kind() == ErrorKind::NotFound => {}
                    // Check the others, then fail with the first such error.
                    Err(e) => {
                        hard_error.get_or_insert(e);
                    }
                }
            }
        }
    }
    if args.json {
        let list: Vec<Value> = reports.iter().map(PoolReport::to_json).collect();
        print_json(ctx, &json!({ "reports": list }))?;
    } else {
        let mut out = String::new();
        for r in &reports {
            r.human(&mut out);
        }
        if reports.is_empty() && hard_error.is_none() {
            let _ = writeln!(
                out,
                "no pools in {}",
                cell(&ctx.dir.path().display().to_string())
            );
        }
        print_text(&out)?;
    }
    if let Some(e) = hard_error {
        return Err(e);
    }
    Ok(if reports.iter().any(|r| r.corrupt) {
        7
    } else {
        0
    })
}

/// Checks one pool, given the outcome of opening it.
fn check(
    ctx: &Ctx,
    label: String,
    path: PathBuf,
    opened: Result<Pool, Error>,
) -> Result<PoolReport, Error> {
    let pool = match opened {
        Ok(p) => p,
        Err(e) => return open_failure_report(ctx, label, path, e),
    };
    let validation = pool.validate()?;
    let geo = pool.geometry();
    // Issues give ring positions; users need file offsets (`xxd -s`).
    let file_offset = |pos: u64| geo.ring_offset + pos % geo.ring_size.max(1);
    let problem = |i: &Issue| Problem {
        code: match i.kind {
            IssueKind::State => "state",
            IssueKind::Frame => "frame",
            IssueKind::Sequence => "sequence",
            IssueKind::Index => "index",
            IssueKind::Reader => "reader",
        },
        message: i.what.to_string(),
        offset: i.pos.map(file_offset),
        seq: i.seq,
    };
    let (warnings, issues): (Vec<&Issue>, Vec<&Issue>) = validation
        .issues
        .iter()
        .partition(|i| matches!(i.kind, IssueKind::Index | IssueKind::Reader));
    let r = &validation.report;
    // Validation stops before scanning the ring when the published state is
    // unusable (a state issue without a position, or a tail beyond the head):
    // the message counts are then unknown, not zero.
    let scanned = !issues.iter().any(|i| {
        i.kind == IssueKind::State && (i.pos.is_none() || i.what.starts_with("tail beyond head"))
    });
    let mut report = PoolReport {
        label,
        path: pool.path().to_path_buf(),
        corrupt: !issues.is_empty(),
        issues: issues.iter().map(|i| problem(i)).collect(),
        warnings: warnings.iter().map(|i| problem(i)).collect(),
        hints: Vec::new(),
        last_good_seq: last_good_seq(r, &issues),
        messages: scanned.then_some(r.messages),
        gaps: scanned.then_some(r.gaps),
    };
    let p = shell_word(&report.label);
    let bin = ctx.bin;
    if report.corrupt {
        let damaged = issues
            .iter()
            .any(|i| matches!(i.kind, IssueKind::Frame | IssueKind::Sequence));
        let header = issues
            .iter()
            .any(|i| i.kind == IssueKind::State && i.pos.is_none());
        if damaged && r.messages > 0 {
            report.hints.push(format!(
                "Readers skip damaged messages; the {} intact ones stay readable. To keep them, \
                 export before recreating: {bin} peek {p} --tail {} --format jsonl > backup.jsonl",
                r.messages, r.messages
            ));
        } else if !damaged && !header {
            report.hints.push(
                "The header disagrees with the ring, as after a writer died mid-append; the next \
                 append usually repairs this. Run doctor again afterwards."
                    .to_string(),
            );
        }
        report
            .hints
            .push(recreate_hint(bin, &p, Some(geo.file_size)));
    }
    for w in &report.warnings {
        report.hints.push(format!(
            "warning: index slot for seq {} points at the wrong frame (offset {}); getting that \
             message falls back to a scan, no data is affected",
            w.seq.map_or("?".to_string(), |s| s.to_string()),
            w.offset.map_or("?".to_string(), |o| o.to_string()),
        ));
    }
    Ok(report)
}

/// The newest seq with no damage found before it: the newest intact seq
/// for a pool without damaged frames, else the seq just before the first
/// damaged frame (`None` if that is the oldest one).
fn last_good_seq(r: &Report, issues: &[&Issue]) -> Option<u64> {
    let first_damage = issues
        .iter()
        .find(|i| matches!(i.kind, IssueKind::Frame | IssueKind::Sequence));
    let (oldest, newest) = (r.oldest_seq?, r.newest_seq?);
    match first_damage {
        None => Some(newest),
        // The issue's seq is the one expected where the damage starts.
        Some(i) => i
            .seq
            .and_then(|s| s.checked_sub(1))
            .filter(|s| *s >= oldest)
            .map(|s| s.min(newest)),
    }
}

/// A pool whose header cannot be read is a corrupt report (so is one in a
/// newer format this build cannot read); a pool that cannot be opened at
/// all (missing, permission, I/O) is an error.
fn open_failure_report(
    ctx: &Ctx,
    label: String,
    path: PathBuf,
    e: Error,
) -> Result<PoolReport, Error> {
    let version =
        e.kind() == ErrorKind::Usage && e.message().starts_with("unsupported pool format version");
    if e.kind() != ErrorKind::Corrupt && !version {
        return Err(e);
    }
    let mut hints = Vec::new();
    // The library's own advice for a corrupt open is to run doctor: skip it.
    if let Some(h) = e.hint().filter(|h| !h.contains("doctor")) {
        hints.push(h.to_string());
    }
    if !version {
        hints.push(recreate_hint(ctx.bin, &shell_word(&label), None));
    }
    Ok(PoolReport {
        label,
        path: e.path().map_or(path, |p| p.to_path_buf()),
        corrupt: true,
        issues: vec![Problem {
            code: if version { "format" } else { "corrupt" },
            message: e.message().to_string(),
            offset: e.offset(),
            seq: e.seq(),
        }],
        warnings: Vec::new(),
        hints,
        last_good_seq: None,
        messages: None,
        gaps: None,
    })
}

/// How to start over with a pool of the same size (when known).
fn recreate_hint(bin: &str, pool: &str, size: Option<u64>) -> String {
    let size = size.map_or(String::new(), |s| format!(" --size {s}"));
    format!(
        "Pool appears corrupt. To start over, recreate it: {bin} pool delete {pool}, \
         then {bin} pool create {pool}{size}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(corrupt: bool) -> PoolReport {
        PoolReport {
            label: "chat".into(),
            path: PathBuf::from("/p/chat.plasmite"),
            corrupt,
            issues: Vec::new(),
            warnings: Vec::new(),
            hints: Vec::new(),
            last_good_seq: Some(9),
            messages: Some(9),
            gaps: Some(0),
        }
    }

    #[test]
    fn problem_lines() {
        let p = Problem {
            code: "frame",
            message: "frame checksum mismatch".into(),
            offset: Some(70_000),
            seq: Some(5),
        };
        assert_eq!(
            p.line(),
            "frame: frame checksum mismatch (offset 70000, seq 5)"
        );
        let p = Problem {
            code: "state",
            message: "header: next seq is 0".into(),
            offset: None,
            seq: None,
        };
        assert_eq!(p.line(), "state: header: next seq is 0");
    }

    #[test]
    fn human_ok_and_corrupt() {
        let mut out = String::new();
        report(false).human(&mut out);
        assert_eq!(out, "OK: chat (9 messages)\n");

        let mut r = report(true);
        r.issues = (0..25)
            .map(|i| Problem {
                code: "frame",
                message: "frame checksum mismatch".into(),
                offset: Some(i),
                seq: Some(i),
            })
            .collect();
        r.hints.push("do something".into());
        let mut out = String::new();
        r.human(&mut out);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0],
            "CORRUPT: chat last_good_seq=9 issue=frame checksum mismatch (25 issues, 9 messages intact)"
        );
        assert_eq!(lines.len(), 1 + HUMAN_ISSUE_LINES + 1 + 1);
        assert_eq!(
            lines[HUMAN_ISSUE_LINES + 1],
            "  ... and 5 more (--json lists them all)"
        );
        assert_eq!(lines[HUMAN_ISSUE_LINES + 2], "  hint: do something");
    }

    #[test]
    fn json_report_shape() {
        let mut r = report(false);
        r.warnings.push(Problem {
            code: "index",
            message: "index slot points at the wrong frame".into(),
            offset: Some(1),
            seq: Some(2),
        });
        let v = r.to_json();
        assert_eq!(v["status"], "ok");
        assert_eq!(v["issue_count"], 0);
        assert_eq!(v["issues"], json!([]));
        assert_eq!(v["warnings"][0]["code"], "index");
        assert_eq!(v["pool_ref"], "chat");
        assert_eq!(v["last_good_seq"], 9);
        assert_eq!(v["snapshot_path"], Value::Null);
    }

    #[test]
    fn plurals() {
        assert_eq!(plural(1, "message", "messages"), "1 message");
        assert_eq!(plural(0, "message", "messages"), "0 messages");
    }
}
