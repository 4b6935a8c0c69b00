//! Fuzzes the spool envelope decoder: any bytes decode or give an error, and what decodes
//! encodes back to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shieldwall_collect::Envelope;

fuzz_target!(|data: &[u8]| {
    if let Ok(envelope) = Envelope::decode(data) {
        assert_eq!(envelope.encode(), data);
    }
});
