//! `pls pool create|list|info|delete`: managing pool files.
//!
//! Also home to what `get` and `doctor` share with these commands: opening an
//! existing pool with a helpful "create it first" hint, and showing paths and
//! table cells safely.

use std::io;
use std::path::{Path, PathBuf};

use plasmite::time::{now_ns, rfc3339};
use plasmite::{Error, ErrorKind, Pool, PoolDir, PoolInfo, PoolOptions, POOL_EXTENSION};
use serde_json::{json, Map, Value};

use super::{emit, local_only, shell_word, stdout_error, usage_error, Ctx, Outcome};
use crate::args::{PoolCreateArgs, PoolDeleteArgs, PoolInfoArgs, PoolListArgs};
use crate::output::{error_object, table};
use crate::units;

/// Bytes per seq index slot.
const INDEX_SLOT_BYTES: u64 = 16;

/// Runs `pool create`.
pub fn create(ctx: &Ctx, args: PoolCreateArgs) -> Outcome {
    // Everything that can be checked without touching the file system is
    // checked for every name first, so a typo in the last name does not
    // leave the first ones created.
    for name in &args.names {
        local_only(ctx, name, "pool create")?;
        if !name.contains('/') {
            PoolDir::check_name(name)?;
        }
    }
    let size = units::parse_size(&args.size).map_err(|e| usage_error(e.message(), e.hint()))?;
    if let Some(n) = args.index_capacity {
        if u64::from(n) * INDEX_SLOT_BYTES > size / 2 {
            return Err(usage_error(
                "index capacity is too large for pool size",
                format!(
                    "The index takes {INDEX_SLOT_BYTES} bytes per slot and at most 50% of the pool: \
                     reduce --index-capacity (at most {} for --size {}) or increase --size.",
                    size / 2 / INDEX_SLOT_BYTES,
                    args.size.trim()
                ),
            ));
        }
    }
    let opts = PoolOptions {
        size,
        index_capacity: args.index_capacity.map(u64::from),
        overwrite: false,
    };
    let mut created = Vec::with_capacity(args.names.len());
    for name in &args.names {
        let pool = ctx
            .dir
            .create(name, &opts)
            .map_err(|e| create_error(e, &ctx.dir.resolve(name)))?;
        created.push((name.as_str(), pool.info()?));
    }
    if args.json {
        let now = now_ns();
        let list: Vec<Value> = created
            .iter()
            .map(|(n, i)| info_object(n, i, now))
            .collect();
        print_json(ctx, &json!({ "created": list }))?;
    } else {
        let rows: Vec<Vec<String>> = created
            .iter()
            .map(|(name, i)| {
                vec![
                    cell(name),
                    i.file_size.to_string(),
                    i.index_capacity.to_string(),
                    cell(&display_path(ctx, &i.path)),
                ]
            })
            .collect();
        print_text(&table(&["NAME", "SIZE", "INDEX", "PATH"], &rows))?;
    }
    Ok(0)
}

/// The error of a failed create, in the words of the CLI contract.
fn create_error(e: Error, path: &Path) -> Error {
    let at_pool = e.path().is_none_or(|p| p == path);
    match e.kind() {
        ErrorKind::AlreadyExists if at_pool => {
            Error::new(ErrorKind::AlreadyExists, "pool already exists")
                .with_path(path)
                .with_hint("Choose a different name or remove the existing pool file.")
        }
        // Creating the pool directory failed because a file has its name.
        ErrorKind::AlreadyExists => {
            Error::new(ErrorKind::Io, "the pool directory path is not a directory")
                .with_path(e.path().unwrap_or(path))
                .with_hint("Pass --dir a directory (it is created if missing).")
        }
        // The file is built next to its final name; a path whose directory
        // does not exist fails there.
        ErrorKind::NotFound => {
            let dir = path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(path);
            Error::new(ErrorKind::NotFound, "directory for the pool file does not exist")
                .with_path(dir)
                .with_hint("Create the directory first (mkdir -p), or use a pool name to create it in the pool directory.")
        }
        // Creating is writing: the contract reports any file system refusal
        // while creating (a read-only directory included) as an I/O error
        // (exit 8); the message and hint still say it was permission.
        ErrorKind::Permission => {
            let mut out = Error::new(ErrorKind::Io, e.message().to_string())
                .with_path(e.path().unwrap_or(path));
            if let Some(h) = e.hint() {
                out = out.with_hint(h);
            }
            out
        }
        _ => e,
    }
}

/// Runs `pool info`.
pub fn info(ctx: &Ctx, args: PoolInfoArgs) -> Outcome {
    local_only(ctx, &args.pool, "pool info")?;
    let pool = open_existing(ctx, &args.pool)?;
    for name in &args.delete_readers {
        pool.delete_reader(name)?;
    }
    let info = pool.info()?;
    let now = now_ns();
    if args.json {
        print_json(ctx, &info_object(&args.pool, &info, now))?;
    } else {
        print_text(&info_text(&args.pool, &info, now))?;
    }
    Ok(0)
}

/// The `pool info --json` object (also the entries of `pool create --json`).
/// `name` echoes the reference as typed.
pub(super) fn info_object(name: &str, i: &PoolInfo, now: u64) -> Value {
    i.to_json(name, now)
}

/// `{"newest":N,"oldest":M}`, or `{}` for an empty pool (never null).
fn bounds_object(i: &PoolInfo) -> Value {
    let mut b = Map::new();
    if let Some((seq, _)) = i.newest {
        b.insert("newest".into(), seq.into());
    }
    if let Some((seq, _)) = i.oldest {
        b.insert("oldest".into(), seq.into());
    }
    Value::Object(b)
}

/// The human `pool info` text.
fn info_text(name: &str, i: &PoolInfo, now: u64) -> String {
    let m = Metrics::new(i, now);
    let seq = |b: Option<(u64, u64)>| b.map_or("-".to_string(), |(s, _)| s.to_string());
    let time = |t: &Option<String>| t.clone().unwrap_or_else(|| "-".to_string());
    format!(
        "Pool: {}\n\
         Path: {}\n\
         Size: {} bytes (index: offset={} slots={} bytes={}, ring: offset={} size={})\n\
         Bounds: oldest={} newest={} count={}\n\
         Utilization: used={}B free={}B ({}.{:02}%)\n\
         Oldest: {} ({})\n\
         Newest: {} ({})\n",
        cell(name),
        cell(&i.path.display().to_string()),
        i.file_size,
        i.index_offset,
        i.index_capacity,
        i.index_capacity.saturating_mul(INDEX_SLOT_BYTES),
        i.ring_offset,
        i.ring_size,
        seq(i.oldest),
        seq(i.newest),
        i.count,
        i.used_bytes,
        m.free_bytes,
        m.used_hundredths / 100,
        m.used_hundredths % 100,
        time(&m.oldest_time),
        age_text(m.oldest_age_ms),
        time(&m.newest_time),
        age_text(m.newest_age_ms),
    ) + &readers_text(i, now)
}

/// The `Readers:` lines of `pool info`: one per durable named reader.
fn readers_text(i: &PoolInfo, now: u64) -> String {
    if i.readers.is_empty() {
        return String::new();
    }
    let next = i
        .newest
        .map_or(i.oldest.map_or(1, |(s, _)| s), |(s, _)| s + 1);
    let mut out = String::from("Readers:\n");
    for r in &i.readers {
        let age = now.saturating_sub(r.acked_ns) / 1_000_000;
        out += &format!(
            "  {}: next seq {} ({} behind), acknowledged {}\n",
            cell(&r.name),
            r.next_seq,
            next.saturating_sub(r.next_seq),
            age_text(Some(age)),
        );
    }
    out
}

/// Derived figures of `pool info`.
struct Metrics {
    free_bytes: u64,
    used_hundredths: u64,
    oldest_time: Option<String>,
    newest_time: Option<String>,
    oldest_age_ms: Option<u64>,
    newest_age_ms: Option<u64>,
}

impl Metrics {
    fn new(i: &PoolInfo, now: u64) -> Self {
        let time = |b: Option<(u64, u64)>| b.map(|(_, t)| rfc3339(t));
        let age = |b: Option<(u64, u64)>| b.map(|(_, t)| age_ms(t, now));
        Metrics {
            free_bytes: i.ring_size.saturating_sub(i.used_bytes),
            used_hundredths: used_hundredths(i.used_bytes, i.ring_size),
            oldest_time: time(i.oldest),
            newest_time: time(i.newest),
            oldest_age_ms: age(i.oldest),
            newest_age_ms: age(i.newest),
        }
    }
}

/// Ring use in hundredths of a percent, rounded down: `used*10000/ring`
/// (so 4.619% shows as 4.61%, and only a full ring shows 100%).
fn used_hundredths(used: u64, ring: u64) -> u64 {
    if ring == 0 {
        return 0;
    }
    let h = u128::from(used) * 10_000 / u128::from(ring);
    h.min(10_000) as u64
}

/// Milliseconds from `then_ns` to `now_ns`; a time in the future (another
/// machine's clock, or a clock stepped back) counts as zero.
fn age_ms(then_ns: u64, now_ns: u64) -> u64 {
    now_ns.saturating_sub(then_ns) / 1_000_000
}

/// An age for humans: `-` when unknown, `340ms ago` under a second,
/// `12.3s ago` (rounded down to a tenth) under a minute, else whole seconds.
fn age_text(ms: Option<u64>) -> String {
    match ms {
        None => "-".to_string(),
        Some(ms) if ms < 1_000 => format!("{ms}ms ago"),
        Some(ms) if ms < 60_000 => format!("{}.{}s ago", ms / 1_000, ms % 1_000 / 100),
        Some(ms) => format!("{}s ago", ms / 1_000),
    }
}

/// Runs `pool list`.
pub fn list(ctx: &Ctx, args: PoolListArgs) -> Outcome {
    // A missing directory lists as empty; one that exists but cannot be read
    // is an error (exit by its kind), not an empty list that hides it.
    let entries = ctx.dir.list()?;
    if args.json {
        let pools: Vec<Value> = entries
            .iter()
            .map(|e| {
                let path = absolute(&e.path).display().to_string();
                match &e.info {
                    Ok(i) => json!({
                        "bounds": bounds_object(i),
                        "file_size": i.file_size,
                        "mtime": mtime_ns(&e.path).map(rfc3339),
                        "name": e.name,
                        "path": path,
                    }),
                    // Upstream nested the envelope twice here
                    // (`{"error":{"error":{…}}}`). We nest it once, like every
                    // other per-item error (`pool delete`'s `failed` entries):
                    // `entry.error.kind`, `entry.error.message`, ….
                    Err(err) => json!({
                        "error": error_object(err),
                        "name": e.name,
                        "path": path,
                    }),
                }
            })
            .collect();
        print_json(ctx, &json!({ "pools": pools }))?;
    } else {
        let rows: Vec<Vec<String>> = entries
            .iter()
            .map(|e| {
                let path = cell(&display_path(ctx, &e.path));
                let mtime =
                    mtime_ns(&e.path).map_or("-".to_string(), |t| rfc3339(t - t % 1_000_000_000));
                let seq = |b: Option<(u64, u64)>| b.map_or("-".to_string(), |(s, _)| s.to_string());
                match &e.info {
                    Ok(i) => vec![
                        cell(&e.name),
                        "OK".into(),
                        i.file_size.to_string(),
                        seq(i.oldest),
                        seq(i.newest),
                        mtime,
                        path,
                        String::new(),
                    ],
                    Err(err) => vec![
                        cell(&e.name),
                        "ERR".into(),
                        "-".into(),
                        "-".into(),
                        "-".into(),
                        mtime,
                        path,
                        cell(err.message()),
                    ],
                }
            })
            .collect();
        let header = [
            "NAME", "STATUS", "SIZE", "OLDEST", "NEWEST", "MTIME", "PATH", "DETAIL",
        ];
        print_text(&table(&header, &rows))?;
    }
    Ok(0)
}

/// A file's modification time in ns since the epoch, if it can be read.
fn mtime_ns(path: &Path) -> Option<u64> {
    let t = std::fs::metadata(path).ok()?.modified().ok()?;
    let d = t.duration_since(std::time::UNIX_EPOCH).ok()?;
    u64::try_from(d.as_nanos()).ok()
}

/// Runs `pool delete`: every pool is attempted; the exit status is that of
/// the first failure. Results, failures included, go to stdout only.
pub fn delete(ctx: &Ctx, args: PoolDeleteArgs) -> Outcome {
    let results: Vec<(&str, Result<PathBuf, Error>)> = args
        .pools
        .iter()
        .map(|pool| (pool.as_str(), delete_one(ctx, pool)))
        .collect();
    let code = results
        .iter()
        .find_map(|(_, r)| r.as_ref().err())
        .map_or(0, Error::exit_code);
    if args.json {
        let (mut deleted, mut failed) = (Vec::new(), Vec::new());
        for (pool, r) in &results {
            match r {
                Ok(path) => deleted.push(json!({"path": path.display().to_string(), "pool": pool})),
                Err(e) => failed.push(json!({"error": error_object(e), "pool": pool})),
            }
        }
        print_json(ctx, &json!({"deleted": deleted, "failed": failed}))?;
    } else {
        let rows: Vec<Vec<String>> = results
            .iter()
            .map(|(pool, r)| match r {
                Ok(path) => vec![
                    cell(pool),
                    "OK".into(),
                    cell(&display_path(ctx, path)),
                    String::new(),
                ],
                Err(e) => {
                    let path = e.path().map_or("-".to_string(), |p| display_path(ctx, p));
                    let detail = match e.hint() {
                        Some(h) => format!("{}. {h}", e.message()),
                        None => e.message().to_string(),
                    };
                    vec![cell(pool), "ERR".into(), cell(&path), cell(&detail)]
                }
            })
            .collect();
        print_text(&table(&["NAME", "STATUS", "PATH", "DETAIL"], &rows))?;
    }
    Ok(code)
}

/// Deletes one pool, returning the path of the file removed.
fn delete_one(ctx: &Ctx, pool: &str) -> Result<PathBuf, Error> {
    if pool.contains("://") {
        return Err(usage_error(
            "pool delete accepts local pool names or paths only",
            format!(
                "Run `{} pool delete NAME` on the machine that holds the pool.",
                ctx.bin
            ),
        ));
    }
    let path = absolute(&ctx.dir.resolve(pool));
    // The library refuses directories and devices, but deletes any file that
    // fails to open as corrupt, so that damaged pools can be removed. A path
    // typed by hand (`pool delete ./notes.txt`) can name a file that was
    // never a pool: only a `*.plasmite` file may be deleted without opening
    // as a pool.
    let pool_named = path.extension().is_some_and(|x| x == POOL_EXTENSION);
    if !pool_named {
        if let Err(e) = Pool::open(&path) {
            if e.kind() == ErrorKind::Corrupt {
                return Err(Error::new(
                    ErrorKind::Usage,
                    "not a pool file; refusing to delete it",
                )
                .with_path(&path)
                .with_hint(format!(
                    "`{} pool delete` only removes pool files (or damaged files named *.{POOL_EXTENSION}); \
                     remove other files with rm.",
                    ctx.bin
                )));
            }
        }
    }
    ctx.dir.delete(pool).map_err(|e| match e.kind() {
        ErrorKind::NotFound => Error::new(ErrorKind::NotFound, "pool not found")
            .with_path(&path)
            .with_hint(format!(
                "Check the name with `{} pool list`, or pass --dir for a different pool directory.",
                ctx.bin
            )),
        _ if e.path().is_none() => e.with_path(&path),
        _ => e,
    })?;
    Ok(path)
}

/// Opens an existing local pool. A missing one is NotFound with a hint
/// naming the command that creates it.
pub(super) fn open_existing(ctx: &Ctx, pool: &str) -> Result<Pool, Error> {
    ctx.dir.open(pool).map_err(|e| match e.kind() {
        ErrorKind::NotFound => e.with_hint(missing_hint(ctx, pool)),
        _ => e,
    })
}

/// What to do about a pool that does not exist.
pub(super) fn missing_hint(ctx: &Ctx, pool: &str) -> String {
    if pool.contains('/') {
        "Pool path not found. Check the path or pass --dir for a different pool directory."
            .to_string()
    } else if PoolDir::check_name(pool).is_err() {
        format!("Check the pool name (`{} pool list` shows them), or pass --dir for a different pool directory.", ctx.bin)
    } else {
        format!(
            "Create it first: {} pool create {} (or pass --dir for a different pool directory).",
            ctx.bin,
            shell_word(pool)
        )
    }
}

/// `path` made absolute (against the current directory), as given if that
/// fails.
pub(super) fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// A path for a table: relative to the pool directory when inside it, else
/// as is.
pub(super) fn display_path(ctx: &Ctx, path: &Path) -> String {
    let path = absolute(path);
    match path.strip_prefix(absolute(ctx.dir.path())) {
        Ok(rel) if !rel.as_os_str().is_empty() => rel.display().to_string(),
        _ => path.display().to_string(),
    }
}

/// Text for one line of human output: line breaks, tabs and other control
/// characters (a hostile file name could carry terminal escapes) are shown
/// escaped.
pub(super) fn cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Prints one JSON document on stdout.
pub(super) fn print_json(ctx: &Ctx, v: &Value) -> Result<(), Error> {
    ctx.term.print_value(v).map_err(stdout_error)
}

/// Prints text on stdout.
pub(super) fn print_text(text: &str) -> Result<(), Error> {
    emit(&mut io::stdout().lock(), text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(used: u64, oldest: Option<(u64, u64)>, newest: Option<(u64, u64)>) -> PoolInfo {
        PoolInfo {
            path: PathBuf::from("/p/chat.plasmite"),
            file_size: 1 << 20,
            index_offset: 4096,
            index_capacity: 2048,
            ring_offset: 36864,
            ring_size: 1_011_712,
            max_payload: 1_011_640,
            created_ns: 0,
            count: match (oldest, newest) {
                (Some((o, _)), Some((n, _))) => n - o + 1,
                _ => 0,
            },
            oldest,
            newest,
            used_bytes: used,
            readers: Vec::new(),
        }
    }

    #[test]
    fn used_percent_rounds_down_to_hundredths() {
        assert_eq!(used_hundredths(0, 1000), 0);
        assert_eq!(used_hundredths(4619, 100_000), 461);
        assert_eq!(used_hundredths(9999, 10_000), 9999);
        assert_eq!(used_hundredths(1, 1_000_000), 0);
        assert_eq!(used_hundredths(1000, 1000), 10_000);
        assert_eq!(used_hundredths(5, 0), 0);
        assert_eq!(used_hundredths(u64::MAX, u64::MAX), 10_000);
        let v = info_object("x", &info(4619, Some((1, 0)), Some((2, 0))), 0);
        let ring = 1_011_712u64;
        let expect = (4619u64 * 10_000 / ring) as f64 / 100.0;
        assert_eq!(v["metrics"]["utilization"]["used_percent"], json!(expect));
        assert_eq!(
            json!(used_hundredths(46_190, 1_000_000) as f64 / 100.0).to_string(),
            "4.61"
        );
        assert_eq!(json!(0u64 as f64 / 100.0).to_string(), "0.0");
    }

    #[test]
    fn ages_for_humans() {
        assert_eq!(age_text(None), "-");
        assert_eq!(age_text(Some(0)), "0ms ago");
        assert_eq!(age_text(Some(999)), "999ms ago");
        assert_eq!(age_text(Some(1_000)), "1.0s ago");
        assert_eq!(age_text(Some(12_345)), "12.3s ago");
        assert_eq!(age_text(Some(59_999)), "59.9s ago");
        assert_eq!(age_text(Some(60_000)), "60s ago");
        assert_eq!(age_text(Some(3_600_500)), "3600s ago");
        assert_eq!(age_ms(5_000_000, 2_000_000), 0, "future times are age 0");
        assert_eq!(age_ms(1_000_000, 3_500_000), 2);
    }

    #[test]
    fn empty_pool_info_has_empty_bounds_and_null_times() {
        let v = info_object("chat", &info(0, None, None), 1);
        assert_eq!(v["bounds"], json!({}));
        assert_eq!(v["metrics"]["message_count"], 0);
        assert_eq!(v["metrics"]["age"]["oldest_time"], Value::Null);
        assert_eq!(v["metrics"]["age"]["newest_age_ms"], Value::Null);
        assert_eq!(v["metrics"]["utilization"]["free_bytes"], 1_011_712);
        assert_eq!(v["index_size_bytes"], 2048 * 16);
        assert_eq!(v["name"], "chat");
        let text = info_text("chat", &info(0, None, None), 1);
        assert!(
            text.contains("Bounds: oldest=- newest=- count=0\n"),
            "{text}"
        );
        assert!(
            text.contains("Utilization: used=0B free=1011712B (0.00%)\n"),
            "{text}"
        );
        assert!(text.contains("Oldest: - (-)\nNewest: - (-)\n"), "{text}");
    }

    #[test]
    fn info_with_messages() {
        let t = 1_770_404_281_500_000_000; // 2026-02-06T18:58:01.5Z
        let i = info(46_190, Some((3, t)), Some((7, t + 500_000_000)));
        let v = info_object("chat", &i, t + 2_000_000_000);
        assert_eq!(v["bounds"], json!({"oldest": 3, "newest": 7}));
        assert_eq!(v["metrics"]["seq_span"], 5);
        assert_eq!(v["metrics"]["age"]["oldest_time"], "2026-02-06T18:58:01.5Z");
        assert_eq!(v["metrics"]["age"]["newest_time"], "2026-02-06T18:58:02Z");
        assert_eq!(v["metrics"]["age"]["oldest_age_ms"], 2000);
        assert_eq!(v["metrics"]["age"]["newest_age_ms"], 1500);
        let text = info_text("chat", &i, t + 2_000_000_000);
        let expect = "Pool: chat\n\
            Path: /p/chat.plasmite\n\
            Size: 1048576 bytes (index: offset=4096 slots=2048 bytes=32768, ring: offset=36864 size=1011712)\n\
            Bounds: oldest=3 newest=7 count=5\n\
            Utilization: used=46190B free=965522B (4.56%)\n\
            Oldest: 2026-02-06T18:58:01.5Z (2.0s ago)\n\
            Newest: 2026-02-06T18:58:02Z (1.5s ago)\n";
        assert_eq!(text, expect);
    }

    #[test]
    fn cells_escape_control_characters() {
        assert_eq!(cell("a\nb\rc\td"), "a\\nb\\rc\\td");
        assert_eq!(cell("x\u{1b}[31m"), "x\\u{1b}[31m");
        assert_eq!(cell("plain-name.plasmite"), "plain-name.plasmite");
    }
}
