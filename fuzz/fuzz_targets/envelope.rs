//! Fuzzes the spool envelope decoder: any bytes decode or give an error; what decodes
//! re-encodes to the same content, and to the same bytes when it is of the current version.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shieldwall_collect::Envelope;

fuzz_target!(|data: &[u8]| {
    if let Ok(envelope) = Envelope::decode(data) {
        let encoded = envelope.encode();
        // Older versions re-encode as the current one, with the same content.
        assert_eq!(Envelope::decode(&encoded).ok(), Some(envelope));
        if data.first() == Some(&shieldwall_collect::envelope::ENVELOPE_VERSION) {
            assert_eq!(encoded, data);
        }
    }
});
