//! `pls serve`: Plasmite pools over HTTP, speaking the JSON v0 protocol.
//!
//! A blocking server on `tiny_http` (built without its TLS features). A fixed
//! set of worker threads takes requests off tiny_http's queue; each stream
//! (`tail`, `events`) gets a thread of its own, counted against
//! `--max-tail-concurrency`. Streams wake on the pool's futex through
//! [`plasmite::Cursor::advance_wait`] and are written as chunked bodies
//! flushed after every message.
//!
//! [`configure`] validates the options (shared by `serve` and `serve check`),
//! [`check_json`]/[`check_text`] describe a valid configuration, and [`run`]
//! serves until SIGINT or SIGTERM. [`answer`] runs the router on one
//! request without a socket (for fuzzing and tests).

// Error answers carry a full `plasmite::Error` (for its path, seq and hint);
// they are built once per failed request, far from any hot loop.
#![allow(clippy::result_large_err)]

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use plasmite::{Error, ErrorKind, PoolDir};
use serde_json::{json, Value};

mod conn;
mod http;
mod stream;
mod tls;

pub use http::{answer, PlainAnswer, PlainRequest};
pub use tls::{
    fingerprint, init, init_json, init_text, random_token, self_signed, InitOptions, InitReport,
    Tls,
};

/// The embedded web UI page.
pub const UI_HTML: &str = include_str!("../ui/index.html");

/// What the server lets clients do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Access {
    /// Reads only.
    ReadOnly,
    /// Writes only.
    WriteOnly,
    /// Reads and writes.
    #[default]
    ReadWrite,
}

impl Access {
    /// The flag spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Access::ReadOnly => "read-only",
            Access::WriteOnly => "write-only",
            Access::ReadWrite => "read-write",
        }
    }

    fn reads(self) -> bool {
        self != Access::WriteOnly
    }

    fn writes(self) -> bool {
        self != Access::ReadOnly
    }
}

/// The `serve` options as given on the command line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// `--bind`, unparsed.
    pub bind: String,
    /// `--access`.
    pub access: Access,
    /// `--allow-non-loopback`.
    pub allow_non_loopback: bool,
    /// `--cors-origin`, in order.
    pub cors_origins: Vec<String>,
    /// `--token`.
    pub token: Option<String>,
    /// `--token-file`.
    pub token_file: Option<PathBuf>,
    /// `--tls-cert`.
    pub tls_cert: Option<PathBuf>,
    /// `--tls-key`.
    pub tls_key: Option<PathBuf>,
    /// `--tls-self-signed`.
    pub tls_self_signed: bool,
    /// `--insecure-no-tls`.
    pub insecure_no_tls: bool,
    /// `--max-body-bytes`.
    pub max_body_bytes: u64,
    /// `--max-tail-timeout-ms`.
    pub max_tail_timeout_ms: u64,
    /// `--max-tail-concurrency`.
    pub max_tail_concurrency: u64,
}

/// A validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// The address to listen on.
    pub addr: SocketAddr,
    /// Access mode.
    pub access: Access,
    /// Normalized CORS origins (empty: CORS off).
    pub cors_origins: Vec<String>,
    /// The bearer token, if auth is on.
    pub token: Option<String>,
    /// Where the token came from: `none`, `bearer token (--token)`, ….
    pub auth: &'static str,
    /// Request body limit.
    pub max_body_bytes: u64,
    /// Longest (and default) stream idle timeout.
    pub max_tail_timeout_ms: u64,
    /// Most simultaneous streams.
    pub max_tail_concurrency: u64,
    /// Program name for hints (`pls` or `plasmite`).
    pub bin: &'static str,
    /// TLS mode (the files are opened by [`run`], not [`configure`]).
    pub tls: Tls,
    /// SHA-256 fingerprint of the served certificate, once [`run`] loaded it.
    pub tls_fingerprint: Option<String>,
}

fn usage(message: impl Into<String>, hint: impl Into<String>) -> Error {
    Error::new(ErrorKind::Usage, message).with_hint(hint)
}

/// Validates the options, in the order of the contract (§1.7.9).
pub fn configure(o: &Options, bin: &'static str) -> Result<Config, Error> {
    let init = format!("Run `{bin} serve init` to create a token file and a certificate.");
    let addr: SocketAddr = o.bind.trim().parse().map_err(|_| {
        usage(
            "invalid bind address",
            "Use a host:port value like 127.0.0.1:9700.",
        )
    })?;
    let (token, auth) = match (&o.token, &o.token_file) {
        (Some(t), _) => (Some(t.clone()), "bearer token (--token)"),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                usage(
                    format!("failed to read token file: {e}"),
                    "Check the --token-file path and its permissions.",
                )
                .with_path(path)
            })?;
            let t = text.trim();
            if t.is_empty() {
                return Err(usage("token file is empty", init.clone()).with_path(path));
            }
            (Some(t.to_string()), "bearer token (--token-file)")
        }
        (None, None) => (None, "none"),
    };
    let mut cors_origins: Vec<String> = Vec::new();
    for raw in &o.cors_origins {
        let n = normalize_origin(raw)?;
        if !cors_origins.contains(&n) {
            cors_origins.push(n);
        }
    }
    let loopback = addr.ip().is_loopback();
    if !loopback && !o.allow_non_loopback {
        return Err(usage(
            "non-loopback bind requires explicit opt-in",
            format!(
                "Pass --allow-non-loopback to listen on {}. {init}",
                addr.ip()
            ),
        ));
    }
    if o.tls_cert.is_some() != o.tls_key.is_some() {
        return Err(usage("TLS requires both --tls-cert and --tls-key", init));
    }
    if o.tls_self_signed && o.tls_cert.is_some() {
        return Err(usage(
            "--tls-self-signed cannot be combined with --tls-cert/--tls-key",
            init,
        ));
    }
    for (value, flag) in [
        (o.max_body_bytes, "--max-body-bytes"),
        (o.max_tail_timeout_ms, "--max-tail-timeout-ms"),
        (o.max_tail_concurrency, "--max-tail-concurrency"),
    ] {
        if value == 0 {
            return Err(usage(
                format!("{flag} must be greater than zero"),
                format!("Pass {flag} a positive number."),
            ));
        }
    }
    let tls_wanted = o.tls_cert.is_some() || o.tls_self_signed;
    if !loopback && o.access.writes() {
        if o.token_file.is_none() {
            return Err(usage("non-loopback write requires --token-file", init));
        }
        if !tls_wanted && !o.insecure_no_tls {
            return Err(usage(
                "non-loopback write requires TLS",
                format!(
                    "Pass --tls-cert and --tls-key (or --tls-self-signed), use --access \
                     read-only, or --insecure-no-tls on a trusted network. {init}"
                ),
            ));
        }
    }
    let tls = match (&o.tls_cert, &o.tls_key) {
        (Some(cert), Some(key)) => Tls::Files {
            cert: cert.clone(),
            key: key.clone(),
        },
        _ if o.tls_self_signed => Tls::SelfSigned,
        _ => Tls::Disabled,
    };
    Ok(Config {
        addr,
        access: o.access,
        cors_origins,
        token,
        auth,
        max_body_bytes: o.max_body_bytes,
        max_tail_timeout_ms: o.max_tail_timeout_ms,
        max_tail_concurrency: o.max_tail_concurrency,
        bin,
        tls,
        tls_fingerprint: None,
    })
}

/// Normalizes one `--cort-origin` to `scheme://host[:port]` (§4.6).
pub fn normalize_origin(raw: &str) -> Result<String, Error> {
    let hint = "Use an exact origin like https://app.example.com or http://localhost:3000.";
    let fail = |m: &str| Err(usage(m, hint));
    let s = raw.trim();
    if s.is_empty() {
        return fail("CORS origin must not be empty");
    }
    if s == "*" {
        return fail("CORS wildcard origin is not allowed");
    }
    if s == "null" {
        return fail("CORS origin is not allowed");
    }
    let Some((scheme, rest)) = s.split_once("://") else {
        return fail("invalid CORS origin");
    };
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return fail("CORS origin scheme must be http or https");
    }
    if rest.contains(['?', '#']) {
        return fail("CORS origin must not include query or fragment");
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    if !path.is_empty() && path != "/" {
        return fail("CORS origin must not include a path");
    }
    if authority.contains('@') {
        return fail("CORS origin must not include userinfo");
    }
    if authority.is_empty() {
        return fail("CORS origin must include a host");
    }
    // Split host and port, minding IPv6 brackets.
    let (host, port) = if let Some(stripped) = authority.strip_prefix('[') {
        let Some(end) = stripped.find(']') else {
            return fail("invalid CORS origin");
        };
        let host = &authority[..end + 2];
        let after = &stripped[end + 1..];
        match after.strip_prefix(':') {
            Some(p) => (host, Some(p)),
            None if after.is_empty() => (host, None),
            None => return fail("invalid CORS origin"),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() || host == "[]" {
        return fail("CORS origin must include a host");
    }
    let host_ok = host.starts_with('[')
        || host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if !host_ok {
        return fail("invalid CORS origin");
    }
    let host = host.to_ascii_lowercase();
    let port = match port {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) => Some(n),
            Err(_) => return fail("invalid CORS origin"),
        },
    };
    let default_port = if scheme == "https" { 443 } else { 80 };
    Ok(match port {
        Some(p) if p != default_port => format!("{scheme}://{host}:{p}"),
        _ => format!("{scheme}://{host}"),
    })
}

/// The base URL clients use: unspecified addresses shown as loopback.
pub fn base_url(c: &Config) -> String {
    let host = match c.addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => "127.0.0.1".to_string(),
        IpAddr::V6(ip) if ip.is_unspecified() => "[::1]".to_string(),
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) => format!("[{ip}]"),
    };
    let scheme = if c.tls == Tls::Disabled {
        "http"
    } else {
        "https"
    };
    format!("{scheme}://{host}:{}", c.addr.port())
}

/// The `serve check --json` document.
pub fn check_json(c: &Config) -> Value {
    let base = base_url(c);
    json!({"check": {
        "access": c.access.as_str(),
        "auth": c.auth,
        "base_url": base,
        "cors_allowed_origins": c.cors_origins,
        "limits": {
            "max_body_bytes": c.max_body_bytes,
            "max_tail_concurrency": c.max_tail_concurrency,
            "max_tail_timeout_ms": c.max_tail_timeout_ms,
        },
        "listen": c.addr.to_string(),
        "status": "valid",
        "tls": c.tls.as_str(),
        "web_ui": format!("{base}/ui"),
        "web_ui_pool": format!("{base}/ui/pools/demo"),
    }})
}

/// The human `serve check` text.
pub fn check_text(c: &Config) -> String {
    let base = base_url(c);
    let cors = if c.cors_origins.is_empty() {
        "disabled (same-origin only)".to_string()
    } else {
        c.cors_origins.join(", ")
    };
    let mut s = format!(
        "{bin} serve check\n  status: valid\n  listen: {listen}\n  base_url: {base}\n  \
         web_ui: {base}/ui\n  web_ui_pool: {base}/ui/pools/demo\n  auth: {auth}\n  \
         tls: {tls}\n  access: {access}\n  cors: {cors}\n  \
         limits: body={body}B tail_timeout={tt}ms tail_concurrency={tc}\n",
        bin = c.bin,
        listen = c.addr,
        auth = c.auth,
        tls = c.tls.as_str(),
        access = c.access.as_str(),
        body = c.max_body_bytes,
        tt = c.max_tail_timeout_ms,
        tc = c.max_tail_concurrency,
    );
    if !c.addr.ip().is_loopback() && c.tls == Tls::Disabled {
        s.push_str(
            "  note: listening beyond loopback over plain HTTP; tokens travel in clear text\n",
        );
    }
    s.push('\n');
    s
}

/// The block printed on an interactive stderr at startup (never the token).
pub fn startup_text(c: &Config) -> String {
    let base = base_url(c);
    let auth_header = if c.token.is_some() {
        " -H \"Authorization: Bearer $TOKEN\""
    } else {
        ""
    };
    let fp = match &c.tls_fingerprint {
        Some(f) => format!("  tls_sha256: {f}\n"),
        None => String::new(),
    };
    let k = if c.tls == Tls::SelfSigned { "k" } else { "" };
    format!(
        "{bin} serve\n  listen:  {listen}\n  base_url: {base}\n  web_ui:  {base}/ui\n  \
         auth: {auth}  tls: {tls}  access: {access}\n{fp}\n\
         next:\n  {bin} pool create demo\n  \
         curl -s{k}{auth_header} -H 'content-type: application/json' \
         -d '{{\"data\":{{\"hello\":\"world\"}}}}' {base}/v0/pools/demo/append\n  \
         curl -sN{k}{auth_header} '{base}/v0/pools/demo/tail?timeout_ms=5000'\n  \
         stop: press Ctrl-C\n\n",
        listen = c.addr,
        auth = c.auth,
        tls = c.tls.as_str(),
        access = c.access.as_str(),
        bin = c.bin,
    )
}

/// Serves pools of `dir` until SIGINT or SIGTERM. `on_ready` runs once the
/// socket is bound (the CLI prints its startup block there).
pub fn run(dir: PoolDir, config: Config, on_ready: impl FnOnce(&Config)) -> Result<(), Error> {
    http::run(dir, config, on_ready)
}
