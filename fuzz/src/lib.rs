//! The bodies of Plasmite's fuzz targets.
//!
//! Each public function takes the fuzzer's bytes, drives one part of
//! Plasmite with them, and panics when a property it checks does not hold.
//! The libFuzzer binaries in `fuzz_targets/` only call these functions, and
//! `tests/corpus.rs` replays the committed corpus through them on stable, so
//! the fuzzer and CI check exactly the same things.
//!
//! | target | what it drives |
//! |---|---|
//! | [`frame`] | a valid header over arbitrary state words, index and ring bytes: frame decoding, validation, every read path, writer recovery |
//! | [`pool_image`] | an arbitrary file image: core's open over memory, and `plasmite::Pool::open` with every read path over a file |
//! | [`power_cut`] | random appends, reads and wraps with writes cut short at a random byte, checked against a model |
//! | [`ingest`] | `pls poke`'s stream splitter over arbitrary input, in whole and trickled reads |
//! | [`http`] | `pls serve`'s router over arbitrary requests against a scratch pool directory |

mod bytes;
mod core_checks;
mod http;
mod image;
mod ingest;
mod power;

pub use core_checks::frame;
pub use http::http;
pub use image::pool_image;
pub use ingest::ingest;
pub use power::power_cut;

/// Seed inputs for each target, made from real pools and requests, so a
/// fuzzing run starts from inputs that reach deep code. `write_seeds` in
/// `tests/corpus.rs` writes them to `corpus/<target>/`.
pub fn seeds(target: &str) -> Vec<Vec<u8>> {
    match target {
        "frame" => core_checks::seeds(),
        "pool_image" => image::seeds(),
        "power_cut" => power::seeds(),
        "ingest" => ingest::seeds(),
        "http" => http::seeds(),
        _ => Vec::new(),
    }
}

/// A target's body: takes the fuzzer's bytes, panics on a broken property.
pub type Target = fn(&[u8]);

/// Every target, by name, for the corpus replay.
pub const TARGETS: &[(&str, Target)] = &[
    ("frame", frame),
    ("pool_image", pool_image),
    ("power_cut", power_cut),
    ("ingest", ingest),
    ("http", http),
];
