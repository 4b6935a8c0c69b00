//! Fuzzes the reader of CSA CCM files (XLSX and JSON) with arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = shieldwall_ccm_import::read_ccm_bytes("fuzz.bin", data);
});
