//! libFuzzer entry for [`plasmite_fuzz::power_cut`]; the checks live there.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| plasmite_fuzz::power_cut(data));
