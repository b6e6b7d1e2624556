//! Routing, auth, CORS, bodies and JSON responses.

use std::io::Read;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use plasmite::{Durability, Error, ErrorKind, PoolDir, PoolOptions, DEFAULT_POOL_SIZE};
use serde_json::{json, Value};
use tiny_http::{Header, Method, Request, Response, Server};

use crate::conn::{self, Gate, PrivateDir};
use crate::stream::{self, StreamKind, TailQuery};
use crate::{Config, UI_HTML};

/// Threads answering ordinary requests. Streams get threads of their own.
const WORKERS: usize = 8;
/// Open connections allowed besides `--max-tail-concurrency` streams; more
/// are refused with 503.
const MAX_CONNS: u64 = 256;

/// Shared by every worker.
pub(crate) struct State {
    pub(crate) dir: PoolDir,
    pub(crate) config: Config,
    /// Streams running now.
    pub(crate) tails: AtomicU64,
    /// Set on SIGINT/SIGTERM.
    pub(crate) stop: AtomicBool,
}

pub(crate) fn run(
    dir: PoolDir,
    mut config: Config,
    on_ready: impl FnOnce(&Config),
) -> Result<(), Error> {
    // TLS files are read (and a self-signed certificate made) before binding.
    let tls = crate::tls::load(&config.tls, config.addr)?.map(|l| {
        config.tls_fingerprint = Some(l.fingerprint);
        l.config
    });
    // Block the signals in every thread (threads inherit the mask); one
    // thread takes them with sigwait.
    let signals = block_signals();
    // The server creates its pool directory (upstream failed until it existed).
    std::fs::create_dir_all(dir.path())
        .map_err(|e| Error::io(e, "create pool directory", dir.path()))?;
    let listener = std::net::TcpListener::bind(config.addr).map_err(|e| {
        Error::new(ErrorKind::Io, format!("failed to bind server: {e}"))
            .with_hint("Is another server on that port? Pick another with --bind.")
    })?;
    let private = PrivateDir::new().map_err(|e| {
        Error::io(
            e,
            "create the relay socket directory",
            &std::env::temp_dir(),
        )
    })?;
    let server = Server::http_unix(&private.socket()).map_err(|e| {
        Error::new(
            ErrorKind::Io,
            format!("failed to start the HTTP engine: {e}"),
        )
        .with_path(private.socket())
    })?;
    let server = Arc::new(server);
    let gate = Arc::new(Gate {
        open: AtomicU64::new(0),
        max: (MAX_CONNS + config.max_tail_concurrency).min(fd_budget()),
        // Longer than any stream may stay silent.
        idle: Duration::from_millis(config.max_tail_timeout_ms) + Duration::from_secs(5),
        stop: AtomicBool::new(false),
    });
    let addr = config.addr;
    let state = Arc::new(State {
        dir,
        config,
        tails: AtomicU64::new(0),
        stop: AtomicBool::new(false),
    });
    {
        let gate = gate.clone();
        let relay = private.socket();
        std::thread::spawn(move || conn::accept_loop(listener, relay, gate, tls));
    }
    on_ready(&state.config);
    {
        let server = server.clone();
        let state = state.clone();
        let gate = gate.clone();
        std::thread::spawn(move || {
            wait_signal(&signals);
            state.stop.store(true, Ordering::SeqCst);
            gate.stop.store(true, Ordering::SeqCst);
            conn::wake(addr);
            for _ in 0..WORKERS {
                server.unblock();
            }
        });
    }
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let server = server.clone();
            let state = state.clone();
            std::thread::spawn(move || {
                while !state.stop.load(Ordering::SeqCst) {
                    let Ok(request) = server.recv() else { break };
                    handle(&state, request);
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
    // Streams notice the flag within their wait slice and end their bodies;
    // connections close within a tick, once what they carry is delivered.
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    while (state.tails.load(Ordering::SeqCst) > 0 || gate.open.load(Ordering::SeqCst) > 0)
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(private);
    Ok(())
}

/// Open files per relayed connection: the client socket and the relay
/// socket (each duplicated for the two directions) and tiny_http's end of
/// the relay (also duplicated), with room to spare. tiny_http's accept
/// thread dies on EMFILE, so the connection cap must keep clear of it.
const FDS_PER_CONN: u64 = 8;

/// Raises the soft open-file limit to the hard one and returns how many
/// connections fit in it.
fn fd_budget() -> u64 {
    // SAFETY: getrlimit/setrlimit on a local struct.
    let limit = unsafe {
        let mut r: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) != 0 {
            return MAX_CONNS;
        }
        if r.rlim_cur < r.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: r.rlim_max.min(65_536),
                rlim_max: r.rlim_max,
            };
            if raised.rlim_cur > r.rlim_cur && libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                r.rlim_cur = raised.rlim_cur;
            }
        }
        r.rlim_cur as u64
    };
    // Pools opened per request and the server's own files need some too.
    (limit.saturating_sub(128) / FDS_PER_CONN).max(8)
}

fn block_signals() -> libc::sigset_t {
    // SAFETY: plain libc calls on a local, initialized sigset.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    }
}

fn wait_signal(set: &libc::sigset_t) {
    let mut sig: libc::c_int = 0;
    // SAFETY: `set` is a valid sigset; sigwait writes the signal number.
    unsafe { while libc::sigwait(set, &mut sig) != 0 {} }
}

/// An error answer: status and envelope.
pub(crate) struct Fail {
    pub(crate) status: u16,
    pub(crate) error: Error,
}

impl From<Error> for Fail {
    fn from(error: Error) -> Self {
        let status = match error.kind() {
            ErrorKind::Usage => 400,
            ErrorKind::Permission if error.message().starts_with("forbidden:") => 403,
            ErrorKind::Permission => 401,
            ErrorKind::NotFound => 404,
            ErrorKind::AlreadyExists => 409,
            ErrorKind::Busy => 423,
            ErrorKind::Corrupt | ErrorKind::Io | ErrorKind::Internal => 500,
        };
        Fail { status, error }
    }
}

fn fail(status: u16, kind: ErrorKind, message: impl Into<String>) -> Fail {
    Fail {
        status,
        error: Error::new(kind, message),
    }
}

pub(crate) fn error_body(e: &Error) -> Vec<u8> {
    let mut o = serde_json::Map::new();
    o.insert("kind".into(), e.kind().as_str().into());
    o.insert("message".into(), e.message().into());
    if let Some(h) = e.hint() {
        o.insert("hint".into(), h.into());
    }
    if let Some(p) = e.path() {
        o.insert("path".into(), p.display().to_string().into());
    }
    if let Some(s) = e.seq() {
        o.insert("seq".into(), s.into());
    }
    if let Some(off) = e.offset() {
        o.insert("offset".into(), off.into());
    }
    serde_json::to_vec(&json!({ "error": o })).unwrap_or_default()
}

/// A successful answer.
enum Reply {
    Json(Vec<u8>),
    Html(&'static str),
}

fn header(name: &str, value: &str) -> Option<Header> {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).ok()
}

/// What routing needs from a request. Implemented by tiny_http's requests
/// and by [`PlainRequest`], so the router also runs without a socket.
pub(crate) trait Incoming {
    /// The request method.
    fn method(&self) -> &Method;
    /// The request target: path and query, as sent.
    fn url(&self) -> &str;
    /// The value of the first header called `name` (any case).
    fn header(&self, name: &str) -> Option<&str>;
    /// The declared body length, if any.
    fn body_length(&self) -> Option<usize>;
    /// The body.
    fn body(&mut self) -> &mut dyn Read;
}

impl Incoming for Request {
    fn method(&self) -> &Method {
        Request::method(self)
    }
    fn url(&self) -> &str {
        Request::url(self)
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers()
            .iter()
            .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }
    fn body_length(&self) -> Option<usize> {
        Request::body_length(self)
    }
    fn body(&mut self) -> &mut dyn Read {
        self.as_reader()
    }
}

/// A request given as plain parts, for [`answer`].
#[derive(Clone, Debug)]
pub struct PlainRequest<'a> {
    /// The method (`GET`, `POST`, …; any token).
    pub method: &'a str,
    /// The request target: path and query, as on the request line.
    pub url: &'a str,
    /// Header names and values, in order.
    pub headers: &'a [(&'a str, &'a str)],
    /// The body.
    pub body: &'a [u8],
}

/// [`PlainRequest`] with its method parsed and its body being read.
struct Plain<'a> {
    method: Method,
    req: &'a PlainRequest<'a>,
    body: &'a [u8],
}

impl Incoming for Plain<'_> {
    fn method(&self) -> &Method {
        &self.method
    }
    fn url(&self) -> &str {
        self.req.url
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.req
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }
    fn body_length(&self) -> Option<usize> {
        Some(self.req.body.len())
    }
    fn body(&mut self) -> &mut dyn Read {
        &mut self.body
    }
}

/// The status and body [`answer`] gives a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlainAnswer {
    /// HTTP status code.
    pub status: u16,
    /// `Content-Type` of the body.
    pub content_type: &'static str,
    /// The body (empty for a stream, which is set up but not run).
    pub body: Vec<u8>,
}

/// Answers one request the way a `serve` worker would (auth, access mode,
/// CORS, body limits, every route and its pool operation on `dir`), without
/// a socket: for fuzzing and tests. A stream request (`tail`, `events`)
/// that would start gets 200 and an empty body; nothing is streamed.
pub fn answer(dir: &PoolDir, config: &Config, request: &PlainRequest<'_>) -> PlainAnswer {
    // tiny_http rejects a request line whose method is not a token.
    let Ok(method) = request.method.parse::<Method>() else {
        return PlainAnswer {
            status: 400,
            content_type: "text/plain",
            body: Vec::new(),
        };
    };
    let state = State {
        dir: dir.clone(),
        config: config.clone(),
        tails: AtomicU64::new(0),
        stop: AtomicBool::new(false),
    };
    let mut plain = Plain {
        method,
        req: request,
        body: request.body,
    };
    match finish(route(&state, &mut plain)) {
        Ok(a) => PlainAnswer {
            status: a.status,
            content_type: a.content_type,
            body: a.body,
        },
        Err(_) => PlainAnswer {
            status: 200,
            content_type: "application/jsonl",
            body: Vec::new(),
        },
    }
}

/// The CORS origin to echo, if the request's origin is allowed.
pub(crate) fn allowed_origin(state: &State, request: &impl Incoming) -> Option<String> {
    let origin = header_value(request, "Origin")?;
    state
        .config
        .cors_origins
        .iter()
        .find(|o| o.as_str() == origin)
        .cloned()
}

pub(crate) fn header_value<'r>(request: &'r impl Incoming, name: &str) -> Option<&'r str> {
    request.header(name)
}

fn respond(
    state: &State,
    request: Request,
    status: u16,
    body: Vec<u8>,
    content_type: &str,
    extra: &[(&str, &str)],
) {
    let origin = allowed_origin(state, &request);
    let mut r = Response::from_data(body).with_status_code(status);
    let mut headers = vec![
        header("Content-Type", content_type),
        header("plasmite-version", "0"),
        header("Cache-Control", "no-store"),
    ];
    if let Some(o) = &origin {
        headers.push(header("Access-Control-Allow-Origin", o));
        headers.push(header("Vary", "Origin"));
    }
    for (n, v) in extra {
        headers.push(header(n, v));
    }
    for h in headers.into_iter().flatten() {
        r.add_header(h);
    }
    let _ = request.respond(r);
}

pub(crate) fn respond_error(state: &State, request: Request, f: Fail) {
    let extra: &[(&str, &str)] = if f.status == 401 {
        &[("WWW-Authenticate", "Bearer")]
    } else {
        &[]
    };
    respond(
        state,
        request,
        f.status,
        error_body(&f.error),
        "application/json",
        extra,
    );
}

fn handle(state: &Arc<State>, mut request: Request) {
    match finish(route(state, &mut request)) {
        Ok(a) => respond(state, request, a.status, a.body, a.content_type, &a.extra),
        Err((kind, pool, query)) => stream::start(state, request, kind, pool, query),
    }
}

/// A complete answer, before it goes out on a connection.
struct Answer {
    status: u16,
    body: Vec<u8>,
    content_type: &'static str,
    extra: Vec<(&'static str, &'static str)>,
}

/// Turns what `route` decided into an answer, or hands back a stream to
/// start (streams answer on their own thread).
fn finish(
    routed: Result<Reply, Routed>,
) -> Result<Answer, (StreamKind, plasmite::Pool, TailQuery)> {
    let answer = |status, body, content_type| Answer {
        status,
        body,
        content_type,
        extra: Vec::new(),
    };
    Ok(match routed {
        Ok(Reply::Json(body)) => answer(200, body, "application/json"),
        Ok(Reply::Html(page)) => answer(200, page.as_bytes().to_vec(), "text/html; charset=utf-8"),
        Err(Routed::Fail(f)) => {
            let mut a = answer(f.status, error_body(&f.error), "application/json");
            if f.status == 401 {
                a.extra.push(("WWW-Authenticate", "Bearer"));
            }
            a
        }
        Err(Routed::Preflight(allowed)) => {
            let mut extra = vec![("Allow", "GET, POST, DELETE, OPTIONS")];
            if allowed {
                extra.push(("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS"));
                extra.push((
                    "Access-Control-Allow-Headers",
                    "authorization, content-type",
                ));
                extra.push(("Access-Control-Max-Age", "600"));
                Answer {
                    status: 204,
                    body: Vec::new(),
                    content_type: "text/plain",
                    extra,
                }
            } else {
                let e = Error::new(
                    ErrorKind::Permission,
                    "forbidden: CORS origin is not allowed",
                );
                Answer {
                    status: 403,
                    body: error_body(&e),
                    content_type: "application/json",
                    extra,
                }
            }
        }
        Err(Routed::Stream(kind, pool, query)) => return Err((kind, pool, query)),
    })
}

/// Why `route` did not produce a body.
enum Routed {
    Fail(Fail),
    /// A CORS preflight (origin allowed or not).
    Preflight(bool),
    /// A validated stream request, to hand over with the request.
    Stream(StreamKind, plasmite::Pool, TailQuery),
}

impl<T: Into<Fail>> From<T> for Routed {
    fn from(f: T) -> Self {
        Routed::Fail(f.into())
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Need {
    None,
    Read,
    Write,
}

fn route(state: &State, request: &mut impl Incoming) -> Result<Reply, Routed> {
    let url = request.url().to_string();
    let (path, query) = match url.split_once('?') {
        Some((p, q)) => (p, q),
        None => (url.as_str(), ""),
    };
    let method = request.method().clone();
    if method == Method::Options {
        if state.config.cors_origins.is_empty() {
            return Err(fail(
                405,
                ErrorKind::Usage,
                "method not allowed (CORS is disabled)",
            )
            .into());
        }
        return Err(Routed::Preflight(allowed_origin(state, request).is_some()));
    }
    let segs: Vec<&str> = path.split('/').skip(1).collect();
    use Method::{Delete, Get, Post};
    // (route, allowed methods, auth/access need)
    let (m_ok, need): (&[Method], Need) = match segs.as_slice() {
        ["healthz"] => (&[Get], Need::None),
        ["ui"] | ["ui", ""] | ["ui", "pools", _] => (&[Get], Need::None),
        ["v0", "pools"] => (
            &[Get, Post],
            if method == Post {
                Need::Write
            } else {
                Need::Read
            },
        ),
        ["v0", "pools", "open"] if method == Post => (&[Post], Need::Read),
        ["v0", "pools", _] => (&[Delete], Need::Write),
        ["v0", "pools", _, "append"] => (&[Post], Need::Write),
        ["v0", "pools", _, "info"]
        | ["v0", "pools", _, "messages", _]
        | ["v0", "pools", _, "tail"]
        | ["v0", "ui", "pools"]
        | ["v0", "ui", "pools", _, "info"]
        | ["v0", "ui", "pools", _, "events"] => (&[Get], Need::Read),
        _ => return Err(fail(404, ErrorKind::NotFound, format!("no route for {path}")).into()),
    };
    if !m_ok.contains(&method) {
        return Err(fail(
            405,
            ErrorKind::Usage,
            format!("method {method} not allowed on {path}"),
        )
        .into());
    }
    if need != Need::None {
        authorize(state, request)?;
        let ok = match need {
            Need::Read => state.config.access.reads(),
            _ => state.config.access.writes(),
        };
        if !ok {
            let what = if need == Need::Read { "read" } else { "write" };
            return Err(fail(
                403,
                ErrorKind::Permission,
                format!("forbidden: access mode disallows {what} operations"),
            )
            .into());
        }
    }
    let dir = &state.dir;
    let now = plasmite::time::now_ns();
    match segs.as_slice() {
        ["healthz"] => Ok(Reply::Json(b"{\"ok\":true}".to_vec())),
        ["ui", ..] => Ok(Reply::Html(UI_HTML)),
        ["v0", "pools"] | ["v0", "ui", "pools"] if method == Get => {
            let entries = dir.list()?;
            let mut pools = Vec::new();
            let mut errors = Vec::new();
            for e in entries {
                match e.info {
                    Ok(i) => pools.push(i.to_json(&e.name, now)),
                    Err(err) => errors.push(json!({
                        "error": {"kind": err.kind().as_str(), "message": err.message()},
                        "name": e.name,
                    })),
                }
            }
            let mut body = json!({ "pools": pools });
            if !errors.is_empty() {
                body["errors"] = Value::Array(errors);
            }
            Ok(Reply::Json(to_vec(&body)))
        }
        ["v0", "pools"] => {
            let body = json_body(state, request)?;
            let name = body_pool(&body)?;
            let size = match body.get("size_bytes") {
                None | Some(Value::Null) => DEFAULT_POOL_SIZE,
                Some(v) => v.as_u64().ok_or_else(|| {
                    fail(
                        400,
                        ErrorKind::Usage,
                        "size_bytes must be a positive integer",
                    )
                })?,
            };
            let pool = dir
                .create(&name, &PoolOptions::with_size(size))
                .map_err(|e| match e.kind() {
                    ErrorKind::AlreadyExists => {
                        Error::new(ErrorKind::AlreadyExists, "pool already exists")
                            .with_hint("Creating never replaces a pool; delete it first.")
                    }
                    _ => e,
                })?;
            Ok(pool_reply(&pool.info()?, &name, now))
        }
        ["v0", "pools", "open"] if method == Post => {
            let body = json_body(state, request)?;
            let name = body_pool(&body)?;
            let pool = open(dir, &name)?;
            Ok(pool_reply(&pool.info()?, &name, now))
        }
        ["v0", "pools", p] => {
            let name = pool_name(p)?;
            match dir.delete(&name) {
                Ok(()) => Ok(Reply::Json(b"{\"ok\":true}".to_vec())),
                Err(e) if e.kind() == ErrorKind::NotFound => Err(not_found(&name).into()),
                Err(e) => Err(e.into()),
            }
        }
        ["v0", "pools", p, "append"] => {
            let name = pool_name(p)?;
            let body = json_body(state, request)?;
            let data = match body.get("data") {
                Some(d @ Value::Object(_)) => d,
                Some(_) => return Err(fail(400, ErrorKind::Usage, "data must be object").into()),
                None => return Err(fail(400, ErrorKind::Usage, "data is required").into()),
            };
            let tags: Vec<String> = match body.get("tags") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|t| t.as_str().map(str::to_string))
                    .collect::<Option<_>>()
                    .ok_or_else(|| {
                        fail(400, ErrorKind::Usage, "tags must be an array of strings")
                    })?,
                Some(_) => {
                    return Err(
                        fail(400, ErrorKind::Usage, "tags must be an array of strings").into(),
                    )
                }
            };
            let durability = match body.get("durability").and_then(Value::as_str) {
                Some("flush") => Durability::Flush,
                _ => Durability::Fast,
            };
            let pool = open(dir, &name)?;
            let tag_refs: Vec<&str> = tags.iter().map(String::as_str).collect();
            let r = pool.append(data, &tag_refs, durability)?;
            let m = plasmite::Message {
                seq: r.seq,
                time_ns: r.time_ns,
                tags,
                data: serde_json::to_string(data).unwrap_or_default(),
            };
            Ok(message_reply(&m))
        }
        ["v0", "pools", p, "info"] | ["v0", "ui", "pools", p, "info"] => {
            let name = pool_name(p)?;
            let pool = open(dir, &name)?;
            Ok(pool_reply(&pool.info()?, &name, now))
        }
        ["v0", "pools", p, "messages", s] => {
            let name = pool_name(p)?;
            let seq: u64 = s.parse().map_err(|_| {
                fail(
                    400,
                    ErrorKind::Usage,
                    format!("invalid seq {s:?}: expected a positive integer"),
                )
            })?;
            let pool = open(dir, &name)?;
            let m = pool.get(seq).map_err(|e| {
                if e.kind() == ErrorKind::NotFound {
                    Error::new(ErrorKind::NotFound, "message not found").with_seq(seq)
                } else {
                    e
                }
            })?;
            Ok(message_reply(&m))
        }
        ["v0", "pools", p, "tail"] | ["v0", "ui", "pools", p, "events"] => {
            let kind = if segs[1] == "ui" {
                StreamKind::Sse
            } else {
                StreamKind::Jsonl
            };
            let name = pool_name(p)?;
            let mut q = TailQuery::parse(query, state.config.max_tail_timeout_ms)?;
            if kind == StreamKind::Sse {
                if let Some(id) = header_value(request, "Last-Event-ID") {
                    if let Ok(last) = id.trim().parse::<u64>() {
                        q.since_seq = Some(last.saturating_add(1));
                    }
                }
            }
            let pool = open(dir, &name)?;
            Err(Routed::Stream(kind, pool, q))
        }
        _ => Err(fail(404, ErrorKind::NotFound, format!("no route for {path}")).into()),
    }
}

fn to_vec(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}

fn pool_reply(info: &plasmite::PoolInfo, name: &str, now: u64) -> Reply {
    Reply::Json(to_vec(&json!({ "pool": info.to_json(name, now) })))
}

fn message_reply(m: &plasmite::Message) -> Reply {
    let mut out = b"{\"message\":".to_vec();
    out.extend_from_slice(m.to_json().as_bytes());
    out.push(b'}');
    Reply::Json(out)
}

fn not_found(name: &str) -> Error {
    Error::new(ErrorKind::NotFound, format!("pool not found: {name}"))
        .with_hint("Create it with POST /v0/pools, or `pls pool create NAME` on the server.")
}

fn open(dir: &PoolDir, name: &str) -> Result<plasmite::Pool, Error> {
    dir.open(name).map_err(|e| {
        if e.kind() == ErrorKind::NotFound {
            not_found(name)
        } else {
            e
        }
    })
}

/// A pool name from a URL segment: percent-decoded, then checked (no
/// separators, no `..`, no leading dot), so it always names a file directly
/// inside the pool directory.
fn pool_name(seg: &str) -> Result<String, Fail> {
    let name = percent_decode(seg).ok_or_else(|| {
        fail(
            400,
            ErrorKind::Usage,
            "invalid percent-encoding in pool name",
        )
    })?;
    check(&name)?;
    Ok(name)
}

fn check(name: &str) -> Result<(), Fail> {
    if name.contains(['/', '\\']) {
        return Err(fail(
            400,
            ErrorKind::Usage,
            "pool name must not contain path separators",
        ));
    }
    PoolDir::check_name(name).map_err(|e| Fail {
        status: 400,
        error: e,
    })
}

fn body_pool(body: &Value) -> Result<String, Fail> {
    let name = body
        .get("pool")
        .and_then(Value::as_str)
        .ok_or_else(|| fail(400, ErrorKind::Usage, "pool (a string) is required"))?;
    check(name)?;
    Ok(name.to_string())
}

/// Percent-decodes `s` (`+` is literal); `None` on bad escapes or non-UTF-8.
pub(crate) fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Checks the bearer token in constant time.
fn authorize(state: &State, request: &impl Incoming) -> Result<(), Fail> {
    let Some(token) = &state.config.token else {
        return Ok(());
    };
    let Some(given) = header_value(request, "Authorization") else {
        return Err(fail(401, ErrorKind::Permission, "missing bearer token"));
    };
    let expected = format!("Bearer {token}");
    if !ct_eq(given.as_bytes(), expected.as_bytes()) {
        return Err(fail(401, ErrorKind::Permission, "invalid bearer token"));
    }
    Ok(())
}

/// Compares without an early exit, so timing does not reveal a prefix.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = (a.len() ^ b.len()) as u64;
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0xff);
        diff |= u64::from(x ^ y);
    }
    std::hint::black_box(diff) == 0
}

/// Reads a JSON request body: `application/json`, at most
/// `--max-body-bytes` (413 beyond), a JSON object.
fn json_body(state: &State, request: &mut impl Incoming) -> Result<Value, Fail> {
    let ct = header_value(request, "Content-Type").unwrap_or("");
    let mime = ct.split(';').next().unwrap_or("").trim();
    if !mime.eq_ignore_ascii_case("application/json") {
        return Err(fail(
            415,
            ErrorKind::Usage,
            "content-type must be application/json",
        ));
    }
    let limit = state.config.max_body_bytes;
    let too_big = || {
        fail(
            413,
            ErrorKind::Usage,
            format!("request body exceeds the limit of {limit} bytes"),
        )
    };
    if request.body_length().is_some_and(|n| n as u64 > limit) {
        return Err(too_big());
    }
    let mut body = Vec::new();
    request
        .body()
        .take(limit + 1)
        .read_to_end(&mut body)
        .map_err(|e| {
            fail(
                400,
                ErrorKind::Usage,
                format!("failed to read request body: {e}"),
            )
        })?;
    if body.len() as u64 > limit {
        return Err(too_big());
    }
    let v: Value = serde_json::from_slice(&body)
        .map_err(|e| fail(400, ErrorKind::Usage, format!("invalid JSON body: {e}")))?;
    if !v.is_object() {
        return Err(fail(
            400,
            ErrorKind::Usage,
            "request body must be a JSON object",
        ));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_compare() {
        assert!(ct_eq(b"Bearer x", b"Bearer x"));
        assert!(!ct_eq(b"Bearer x", b"Bearer y"));
        assert!(!ct_eq(b"Bearer", b"Bearer x"));
        assert!(!ct_eq(b"", b"a"));
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%2Fb").as_deref(), Some("a/b"));
        assert_eq!(percent_decode("a%2"), None);
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%ff"), None);
        assert!(pool_name("..%2Fx").is_err());
        assert!(pool_name("..").is_err());
        assert!(pool_name(".hidden").is_err());
        assert!(pool_name("ok-name").is_ok());
    }

    #[test]
    fn plain_requests_are_routed_like_real_ones() {
        let path = std::env::temp_dir().join(format!("pls-answer-{}", std::process::id()));
        let dir = PoolDir::new(&path);
        let config = crate::configure(
            &crate::Options {
                bind: "127.0.0.1:0".into(),
                token: Some("t".into()),
                max_body_bytes: 1 << 20,
                max_tail_timeout_ms: 10,
                max_tail_concurrency: 1,
                ..Default::default()
            },
            "pls",
        )
        .unwrap();
        let ask = |method, url, body: &[u8], auth: bool| {
            let mut headers = vec![("content-type", "application/json")];
            if auth {
                headers.push(("Authorization", "Bearer t"));
            }
            let req = PlainRequest {
                method,
                url,
                headers: &headers,
                body,
            };
            answer(&dir, &config, &req)
        };
        assert_eq!(ask("GET", "/healthz", b"", false).status, 200);
        assert_eq!(ask("GET", "/v0/pools", b"", false).status, 401);
        assert_eq!(ask("PUT", "/v0/pools", b"", true).status, 405);
        assert_eq!(ask("G\u{e9}T", "/healthz", b"", true).status, 400);
        let made = ask(
            "POST",
            "/v0/pools",
            br#"{"pool":"p","size_bytes":8192}"#,
            true,
        );
        assert_eq!(made.status, 200, "{}", String::from_utf8_lossy(&made.body));
        let sent = ask("POST", "/v0/pools/p/append", br#"{"data":{"a":1}}"#, true);
        assert_eq!(sent.status, 200);
        let got = ask("GET", "/v0/pools/p/messages/1", b"", true);
        let v: Value = serde_json::from_slice(&got.body).unwrap();
        assert_eq!(v["message"]["data"], json!({"a": 1}));
        assert_eq!(ask("GET", "/v0/pools/p/tail?max=1", b"", true).status, 200);
        assert_eq!(ask("GET", "/v0/pools/%2e%2e/info", b"", true).status, 400);
        assert_eq!(ask("DELETE", "/v0/pools/p", b"", true).status, 200);
        assert_eq!(ask("GET", "/v0/pools/p/info", b"", true).status, 404);
        let _ = std::fs::remove_dir_all(&path);
    }

    #[test]
    fn origins_normalize() {
        use crate::normalize_origin as n;
        assert_eq!(
            n(" https://App.example.com:443/ ").unwrap(),
            "https://app.example.com"
        );
        assert_eq!(n("http://localhost:3000").unwrap(), "http://localhost:3000");
        assert_eq!(n("http://[::1]:80").unwrap(), "http://[::1]");
        for bad in [
            "*",
            "",
            "ftp://x",
            "http://",
            "http://a@b",
            "http://a/b",
            "http://a?x",
            "null",
            "x",
        ] {
            assert!(n(bad).is_err(), "{bad}");
        }
    }
}
