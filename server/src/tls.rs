//! TLS material: loading a PEM certificate and key, generating self-signed
//! certificates (`--tls-self-signed`, `serve init`), and `serve init` itself.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use plasmite::{Error, ErrorKind};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;
use serde_json::{json, Value};

/// How the server does TLS, as configured (files are not opened yet).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Tls {
    /// Plain HTTP.
    #[default]
    Disabled,
    /// `--tls-cert` and `--tls-key`.
    Files {
        /// PEM certificate chain.
        cert: PathBuf,
        /// PEM private key.
        key: PathBuf,
    },
    /// `--tls-self-signed`: an ephemeral certificate made at startup.
    SelfSigned,
}

impl Tls {
    /// `disabled`, `enabled` or `self-signed`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Tls::Disabled => "disabled",
            Tls::Files { .. } => "enabled",
            Tls::SelfSigned => "self-signed",
        }
    }
}

/// A loaded server configuration and the SHA-256 fingerprint of its leaf.
pub(crate) struct Loaded {
    pub(crate) config: Arc<ServerConfig>,
    pub(crate) fingerprint: String,
}

fn usage(message: impl Into<String>, hint: impl Into<String>) -> Error {
    Error::new(ErrorKind::Usage, message).with_hint(hint)
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// SHA-256 of a DER certificate as `AB:CD:…`.
pub fn fingerprint(der: &[u8]) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, der);
    d.as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Builds the rustls configuration for `tls` (None when disabled).
pub(crate) fn load(tls: &Tls, addr: SocketAddr) -> Result<Option<Loaded>, Error> {
    let (certs, key) = match tls {
        Tls::Disabled => return Ok(None),
        Tls::Files { cert, key } => {
            let cert_pem = std::fs::read(cert).map_err(|e| {
                Error::new(
                    ErrorKind::Io,
                    format!("failed to read TLS certificate: {e}"),
                )
                .with_path(cert)
            })?;
            let key_pem = std::fs::read(key).map_err(|e| {
                Error::new(ErrorKind::Io, format!("failed to read TLS key: {e}")).with_path(key)
            })?;
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
                .filter_map(Result::ok)
                .collect();
            if certs.is_empty() {
                return Err(usage(
                    "TLS certificate file has no certificates",
                    "Pass a PEM file with at least one CERTIFICATE block to --tls-cert.",
                )
                .with_path(cert));
            }
            let k = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|_| {
                usage(
                    "TLS key file has no private key",
                    "Pass a PEM file with a PRIVATE KEY block to --tls-key.",
                )
                .with_path(key)
            })?;
            (certs, k)
        }
        Tls::SelfSigned => {
            let (cert_pem, key_pem) = self_signed(addr.ip())?;
            let certs: Vec<CertificateDer<'static>> =
                CertificateDer::pem_slice_iter(cert_pem.as_bytes())
                    .filter_map(Result::ok)
                    .collect();
            let k = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
                .map_err(|e| Error::new(ErrorKind::Internal, format!("self-signed key: {e}")))?;
            (certs, k)
        }
    };
    let fp = fingerprint(certs[0].as_ref());
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(certs, key))
        .map_err(|e| {
            usage(
                format!("invalid TLS certificate or key: {e}"),
                "Check that --tls-key is the private key of the --tls-cert certificate.",
            )
        })?;
    Ok(Some(Loaded {
        config: Arc::new(config),
        fingerprint: fp,
    }))
}

/// A self-signed certificate for localhost, 127.0.0.1, ::1 and `ip` (unless
/// unspecified): (PEM certificate, PKCS#8 PEM key).
pub fn self_signed(ip: IpAddr) -> Result<(String, String), Error> {
    let mut names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    if !ip.is_unspecified() && !names.contains(&ip.to_string()) {
        names.push(ip.to_string());
    }
    let ck = rcgen::generate_simple_self_signed(names).map_err(|e| {
        Error::new(
            ErrorKind::Internal,
            format!("failed to generate a certificate: {e}"),
        )
    })?;
    Ok((ck.cert.pem(), ck.signing_key.serialize_pem()))
}

/// 32 random bytes as 64 lowercase hex characters.
pub fn random_token() -> Result<String, Error> {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 32];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| Error::new(ErrorKind::Internal, "no system randomness"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The `serve init` options.
#[derive(Clone, Debug)]
pub struct InitOptions {
    /// `--bind`, unparsed.
    pub bind: String,
    /// `--output-dir`.
    pub output_dir: PathBuf,
    /// `--token-file`.
    pub token_file: PathBuf,
    /// `--tls-cert`.
    pub tls_cert: PathBuf,
    /// `--tls-key`.
    pub tls_key: PathBuf,
    /// `--force`.
    pub force: bool,
}

/// What `serve init` made.
#[derive(Clone, Debug)]
pub struct InitReport {
    /// The token file.
    pub token_file: PathBuf,
    /// The certificate.
    pub tls_cert: PathBuf,
    /// The private key.
    pub tls_key: PathBuf,
    /// serve, curl append, curl tail.
    pub next_commands: Vec<String>,
}

fn quote(p: &Path) -> String {
    let s = p.to_string_lossy();
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/_.:=-".contains(&b))
    {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// `serve init`: writes the token, certificate and key (mode 0600, never
/// over existing files without `force`).
pub fn init(o: &InitOptions, bin: &str) -> Result<InitReport, Error> {
    let addr: SocketAddr = o.bind.trim().parse().map_err(|_| {
        usage(
            "invalid bind address",
            "Use a host:port value like 0.0.0.0:9700.",
        )
    })?;
    let cwd = std::env::current_dir()
        .map_err(|e| Error::io(e, "read the current directory", Path::new(".")))?;
    let base = cwd.join(&o.output_dir);
    let token_file = base.join(&o.token_file);
    let tls_cert = base.join(&o.tls_cert);
    let tls_key = base.join(&o.tls_key);
    if token_file == tls_cert || token_file == tls_key || tls_cert == tls_key {
        return Err(usage(
            "serve init requires distinct artifact paths",
            "Give --token-file, --tls-cert and --tls-key different paths.",
        ));
    }
    if !o.force {
        for p in [&token_file, &tls_cert, &tls_key] {
            if p.symlink_metadata().is_ok() {
                return Err(Error::new(
                    ErrorKind::AlreadyExists,
                    "serve init artifact already exists",
                )
                .with_path(p)
                .with_hint(
                    "Pass --force to overwrite it, or choose other paths with --output-dir.",
                ));
            }
        }
    }
    let token = random_token()?;
    let (cert_pem, key_pem) = self_signed(addr.ip())?;
    for (p, text) in [
        (&token_file, format!("{token}\n")),
        (&tls_cert, cert_pem),
        (&tls_key, key_pem),
    ] {
        write_private(p, text.as_bytes(), o.force)?;
    }
    let host = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => "127.0.0.1".to_string(),
        IpAddr::V6(ip) if ip.is_unspecified() => "[::1]".to_string(),
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) => format!("[{ip}]"),
    };
    let url = format!("https://{host}:{}/v0/pools/demo", addr.port());
    let next_commands = vec![
        format!(
            "{bin} serve --bind {} --allow-non-loopback --token-file {} --tls-cert {} --tls-key {}",
            addr,
            quote(&token_file),
            quote(&tls_cert),
            quote(&tls_key)
        ),
        format!(
            "curl -k -H 'Authorization: Bearer <token>' -H 'content-type: application/json' \
             -d '{{\"data\":{{\"hello\":\"world\"}}}}' {url}/append"
        ),
        format!("curl -k -N -H 'Authorization: Bearer <token>' '{url}/tail?timeout_ms=5000'"),
    ];
    Ok(InitReport {
        token_file,
        tls_cert,
        tls_key,
        next_commands,
    })
}

/// Writes `bytes` to a new file of mode 0600 (replacing one only if `force`).
fn write_private(path: &Path, bytes: &[u8], force: bool) -> Result<(), Error> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| Error::io(e, "create the directory", parent))?;
    }
    if force {
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(e, "replace", path)),
        }
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                Error::new(
                    ErrorKind::AlreadyExists,
                    "serve init artifact already exists",
                )
                .with_path(path)
                .with_hint("Pass --force to overwrite it.")
            } else {
                Error::io(e, "create", path)
            }
        })?;
    // The umask can only clear bits; make sure of 0600 anyway.
    let _ = f.set_permissions(std::fs::Permissions::from_mode(0o600));
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| Error::io(e, "write", path))
}

/// The `serve init` JSON document.
pub fn init_json(r: &InitReport) -> Value {
    json!({"init": {
        "artifact_paths": {
            "tls_cert": r.tls_cert.to_string_lossy(),
            "tls_key": r.tls_key.to_string_lossy(),
            "token_file": r.token_file.to_string_lossy(),
        },
        "next_commands": r.next_commands,
    }})
}

/// The human `serve init` text (never the token).
pub fn init_text(r: &InitReport, bin: &str) -> String {
    let mut s = format!(
        "{bin} serve init\n  token_file: {}\n  tls_cert:   {}\n  tls_key:    {}\n\nnext:\n",
        r.token_file.display(),
        r.tls_cert.display(),
        r.tls_key.display()
    );
    for (i, c) in r.next_commands.iter().enumerate() {
        s.push_str(&format!("  {}. {c}\n", i + 1));
    }
    s.push_str(
        "\nnotes:\n  - the files are readable by you only (mode 0600); keep the token secret\n  \
         - the certificate is self-signed: clients must trust the --tls-cert file (or use curl -k)\n\n",
    );
    s
}
