//! `pls get POOL SEQ`: print one message by sequence number.

use std::io;

use plasmite::{Error, ErrorKind};

use super::pool::open_existing;
use super::{emit, local_only, shell_word, Ctx, Outcome};
use crate::args::GetArgs;

/// Runs `get`.
pub fn run(ctx: &Ctx, args: GetArgs) -> Outcome {
    local_only(ctx, &args.pool, "get")?;
    let pool = open_existing(ctx, &args.pool)?;
    let message = pool.get(args.seq).map_err(|e| match e.kind() {
        // Never written, already evicted, or seq 0.
        ErrorKind::NotFound => {
            let p = shell_word(&args.pool);
            Error::new(ErrorKind::NotFound, "message not found")
                .with_seq(args.seq)
                .with_path(pool.path())
                .with_hint(format!(
                    "Check available messages: {bin} pool info {p} (or {bin} peek {p} --tail 10).",
                    bin = ctx.bin
                ))
        }
        _ => e,
    })?;
    let mut out = Vec::with_capacity(message.data.len() * 2 + 128);
    ctx.term
        .write_document(&mut out, message.to_json().as_bytes());
    emit(&mut io::stdout().lock(), &out)?;
    Ok(0)
}
