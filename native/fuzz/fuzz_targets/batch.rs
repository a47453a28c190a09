//! libFuzzer target: the native engine's batch path (see `bot4_native_fuzz::check`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    bot4_native_fuzz::check(data);
});
