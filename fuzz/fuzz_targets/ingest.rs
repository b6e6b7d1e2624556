//! libFuzzer entry for [`plasmite_fuzz::ingest`]; the checks live there.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| plasmite_fuzz::ingest(data));
