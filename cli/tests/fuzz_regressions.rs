//! Regression tests for bugs the `ingest` fuzz target in `fuzz/` found
//! (see docs/testing.md, "Fuzzing"), with the failing inputs.

use std::io::Read;

use plasmite_cli::ingest::{Mode, RecordReader, DEFAULT_RECORD_LIMIT};

/// A source handing out `step` bytes per read, like a slow pipe.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// Every item as text: records and errors with their snippets.
fn items<R: Read>(src: R, mode: Mode) -> Vec<String> {
    let mut r = RecordReader::new(src, mode, DEFAULT_RECORD_LIMIT);
    let mut out = Vec::new();
    while let Some(item) = r.next_record() {
        out.push(match item {
            Ok(rec) => format!("{} {} {:?}", rec.index, rec.line, rec.bytes),
            Err(e) => format!("{e} [{}]", e.snippet),
        });
    }
    out
}

/// The error for a stray record separator quoted whatever part of its line
/// happened to be buffered, so a pipe and a file gave different messages.
#[test]
fn stray_record_separator_snippet_does_not_depend_on_read_sizes() {
    let input: &[u8] = b"1}\n\x1e{\"b\":\n2}\n";
    for mode in [Mode::Json, Mode::Jq] {
        let whole = items(input, mode);
        assert!(whole
            .iter()
            .any(|i| i.contains("record separator") && i.contains("{\"b\":]")));
        for step in 1..8 {
            assert_eq!(
                items(Trickle { data: input, step }, mode),
                whole,
                "step {step}"
            );
        }
    }
}
