//! `NativeDir`: a pool directory (the JavaScript `Client`).

use napi::bindgen_prelude::*;
use napi_derive::napi;
use plasmite::{PoolDir, PoolOptions};

use crate::error::{usage, OrThrow};
use crate::pool::NativePool;

/// A directory of pools, addressed by name; a reference containing `/` is a
/// path instead.
#[napi]
pub struct NativeDir {
    dir: PoolDir,
}

#[napi]
impl NativeDir {
    /// The directory at `path`, or the default one (`$PLASMITE_DIR`, else
    /// `~/.plasmite/pools`). It need not exist yet.
    #[napi(constructor)]
    pub fn new(path: Option<String>) -> Self {
        let dir = match path {
            Some(p) if !p.is_empty() => PoolDir::new(p),
            _ => PoolDir::default(),
        };
        NativeDir { dir }
    }

    /// The directory's path.
    #[napi(getter)]
    pub fn path(&self) -> String {
        self.dir.path().to_string_lossy().into_owned()
    }

    /// Creates a pool of `size_bytes` bytes (the directory too, if needed).
    /// An existing pool is an AlreadyExists error, never overwritten.
    #[napi]
    pub fn create(&self, env: Env, pool: String, size_bytes: f64) -> Result<NativePool> {
        let size = whole_number(size_bytes, "sizeBytes").or_throw(&env)?;
        let opened = self
            .dir
            .create(&pool, &PoolOptions::with_size(size))
            .or_throw(&env)?;
        Ok(NativePool::new(opened, pool))
    }

    /// Opens an existing pool.
    #[napi]
    pub fn open(&self, env: Env, pool: String) -> Result<NativePool> {
        let opened = self.dir.open(&pool).or_throw(&env)?;
        Ok(NativePool::new(opened, pool))
    }

    /// The pool's info as JSON text: the object of `pls pool info --json`
    /// and of the HTTP API, so local and remote clients agree.
    #[napi]
    pub fn info_json(&self, env: Env, pool: String) -> Result<String> {
        let info = self.dir.open(&pool).and_then(|p| p.info()).or_throw(&env)?;
        Ok(info.to_json(&pool, plasmite::time::now_ns()).to_string())
    }

    /// Every pool in the directory as a JSON array, sorted by name: each an
    /// info object, or `{"name","path","error":{kind,message,hint?}}` for one
    /// that cannot be read (one bad pool does not spoil the listing).
    #[napi]
    pub fn list_json(&self, env: Env) -> Result<String> {
        let now = plasmite::time::now_ns();
        let entries = self.dir.list().or_throw(&env)?;
        let list: Vec<serde_json::Value> = entries
            .into_iter()
            .map(|e| match e.info {
                Ok(info) => info.to_json(&e.name, now),
                Err(err) => {
                    let mut error = serde_json::json!({
                        "kind": err.kind().as_str(),
                        "message": err.message(),
                    });
                    if let Some(h) = err.hint() {
                        error["hint"] = h.into();
                    }
                    serde_json::json!({
                        "name": e.name,
                        "path": e.path.to_string_lossy(),
                        "error": error,
                    })
                }
            })
            .collect();
        Ok(serde_json::Value::Array(list).to_string())
    }

    /// Deletes a pool file (only a pool file: anything else is refused).
    #[napi]
    pub fn delete(&self, env: Env, pool: String) -> Result<()> {
        self.dir.delete(&pool).or_throw(&env)
    }
}

/// A JavaScript number that must be a whole number ≥ 0 (sizes, seqs, counts).
pub(crate) fn whole_number(n: f64, what: &str) -> plasmite::Result<u64> {
    // 2^53: beyond it, f64 no longer holds every integer.
    const MAX_EXACT: f64 = 9_007_199_254_740_992.0;
    if n.is_finite() && n >= 0.0 && n.fract() == 0.0 && n <= MAX_EXACT {
        Ok(n as u64)
    } else {
        Err(usage(format!(
            "{what} must be a whole number from 0 to 2^53, got {n}"
        )))
    }
}
