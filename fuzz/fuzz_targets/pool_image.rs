//! libFuzzer entry for [`plasmite_fuzz::pool_image`]; the checks live there.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| plasmite_fuzz::pool_image(data));
