//! Regression tests for bugs the fuzz targets in `fuzz/` found (see
//! docs/testing.md, "Fuzzing"). Each reproduces the failing input directly.

use plasmite_core::*;

/// `fuzz/` target `frame`, first seed: a cursor at seq 0 on an empty pool
/// retried until it gave up with `Contended`, taking the seq it found at the
/// head for one published in the meantime.
#[test]
fn cursor_at_a_seq_below_an_empty_pools_next_seq_starts_at_the_head() {
    let mut ram = vec![0u8; 4096];
    let pool = Pool::format(MemRegion::new(&mut ram), &FormatOptions::default()).unwrap();
    let c = pool.cursor(Start::Seq(0)).unwrap();
    assert_eq!(c, pool.cursor(Start::Newest).unwrap());
    // The same after everything was evicted and the writer that did so died
    // before publishing: empty, with next_seq past 1.
    let mut w = pool.writer().unwrap();
    for i in 0..3 {
        w.append(i, b"", br#"{"a":1}"#).unwrap();
    }
    w.publish();
    {
        let mut w = pool.writer().unwrap();
        for i in 0..200 {
            w.append(10 + i, b"", &[b' '; 200]).unwrap();
        }
        // Dropped unpublished.
    }
    assert_eq!(pool.bounds().unwrap().count(), 0);
    for seq in [0, 1, 2, 3] {
        let c = pool.cursor(Start::Seq(seq)).unwrap();
        let mut buf = [0u8; 64];
        assert_eq!(pool.read(&mut { c }, &mut buf).unwrap(), Read::Empty);
    }
}
