//! Replays the committed corpus through every fuzz target's checks, on
//! stable and without libFuzzer: `cargo test --manifest-path
//! fuzz/Cargo.toml --no-default-features`. The seeds are replayed too, so a
//! target whose seeds no longer decode to deep inputs is noticed.

use std::path::PathBuf;

fn corpus_dir(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target)
}

/// Runs `target` over every file of its corpus and over its seeds.
fn replay(name: &str, target: fn(&[u8])) -> usize {
    let mut inputs: Vec<(String, Vec<u8>)> = plasmite_fuzz::seeds(name)
        .into_iter()
        .enumerate()
        .map(|(i, s)| (format!("seed {i}"), s))
        .collect();
    if let Ok(dir) = std::fs::read_dir(corpus_dir(name)) {
        for e in dir {
            let path = e.expect("read the corpus directory").path();
            let bytes = std::fs::read(&path).expect("read a corpus file");
            inputs.push((path.display().to_string(), bytes));
        }
    }
    let seeds = plasmite_fuzz::seeds(name).len();
    assert!(
        inputs.len() > seeds,
        "{name}: no corpus in {}",
        corpus_dir(name).display()
    );
    let started = std::time::Instant::now();
    for (what, input) in &inputs {
        let r = std::panic::catch_unwind(|| target(input));
        assert!(r.is_ok(), "{name}: {what} failed");
    }
    eprintln!(
        "{name}: {} inputs replayed in {:.2?}",
        inputs.len(),
        started.elapsed()
    );
    inputs.len()
}

#[test]
fn frame() {
    replay("frame", plasmite_fuzz::frame);
}

#[test]
fn pool_image() {
    replay("pool_image", plasmite_fuzz::pool_image);
}

#[test]
fn power_cut() {
    replay("power_cut", plasmite_fuzz::power_cut);
}

#[test]
fn ingest() {
    replay("ingest", plasmite_fuzz::ingest);
}

#[test]
fn http() {
    replay("http", plasmite_fuzz::http);
}

/// Writes each target's seeds into its corpus directory (run by hand
/// before a first fuzzing run: `cargo test --manifest-path fuzz/Cargo.toml
/// --no-default-features -- --ignored write_seeds`).
#[test]
#[ignore]
fn write_seeds() {
    for (name, _) in plasmite_fuzz::TARGETS {
        let dir = corpus_dir(name);
        std::fs::create_dir_all(&dir).unwrap();
        for (i, s) in plasmite_fuzz::seeds(name).iter().enumerate() {
            std::fs::write(dir.join(format!("seed-{i}")), s).unwrap();
        }
    }
}
