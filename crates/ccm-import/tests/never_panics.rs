//! Property tests: `read_ccm_bytes` returns `Ok` or `Err` on any input and
//! never panics: arbitrary bytes, mutated JSON, mutated workbooks.

use std::path::Path;

use proptest::prelude::*;
use shieldwall_ccm_import::read_ccm_bytes;

fn fixture(name: &str) -> std::io::Result<Vec<u8>> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
}

/// Overwrites the byte at `pos` (modulo the length) with `b`.
fn set_byte(data: &mut [u8], pos: usize, b: u8) {
    let len = data.len();
    if len > 0
        && let Some(slot) = data.get_mut(pos % len)
    {
        *slot = b;
    }
}

/// Applies (position, byte) overwrites, then truncates or extends.
fn mutate(base: &[u8], edits: &[(usize, u8)], cut: Option<usize>, tail: &[u8]) -> Vec<u8> {
    let mut out = base.to_vec();
    for (pos, b) in edits {
        set_byte(&mut out, *pos, *b);
    }
    if let Some(c) = cut {
        out.truncate(c % (base.len() + 1));
    }
    out.extend_from_slice(tail);
    out
}

/// Bytes that JSON cares about, so mutations hit structure and not only text.
fn json_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        Just(b'{'),
        Just(b'}'),
        Just(b'['),
        Just(b']'),
        Just(b'"'),
        Just(b':'),
        Just(b','),
        Just(b'\\'),
        Just(b' '),
        Just(b'0'),
        any::<u8>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = read_ccm_bytes("fuzz.bin", &bytes);
    }

    #[test]
    fn arbitrary_bytes_with_format_prefixes(
        prefix in prop_oneof![Just(&b"PK\x03\x04"[..]), Just(&b"{"[..]), Just(&b"["[..]), Just(&b"\xEF\xBB\xBF"[..])],
        rest in proptest::collection::vec(any::<u8>(), 0..2048),
    ) {
        let mut bytes = prefix.to_vec();
        bytes.extend(rest);
        let _ = read_ccm_bytes("fuzz.bin", &bytes);
    }

    #[test]
    fn mutated_json(
        which in 0usize..4,
        edits in proptest::collection::vec((any::<usize>(), json_byte()), 1..8),
        cut in proptest::option::of(any::<usize>()),
        tail in proptest::collection::vec(json_byte(), 0..8),
    ) {
        let name = ["ccm_v4_flat.json", "ccm_v3_keyed.json", "ccm_domains.json", "ccm_oscal_catalog.json"]
            [which];
        let bytes = mutate(&fixture(name)?, &edits, cut, &tail);
        if let Ok(imported) = read_ccm_bytes(name, &bytes) {
            // Whatever is accepted obeys the documented guarantees.
            let mut ids: Vec<&str> = imported.controls.iter().map(|c| c.id.as_str()).collect();
            prop_assert!(!ids.is_empty());
            let n = ids.len();
            ids.sort_unstable();
            ids.dedup();
            prop_assert_eq!(ids.len(), n);
            for c in &imported.controls {
                prop_assert!(!c.specification.trim().is_empty());
                prop_assert_eq!(c.specification.trim(), c.specification.as_str());
            }
        }
    }

    #[test]
    fn mutated_xlsx(
        which in 0usize..2,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
        cut in proptest::option::of(any::<usize>()),
    ) {
        let name = ["ccm_v4_synthetic.xlsx", "ccm_v3_synthetic.xlsx"][which];
        let bytes = mutate(&fixture(name)?, &edits, cut, &[]);
        let _ = read_ccm_bytes(name, &bytes);
    }
}

/// ZIP entries are CRC-checked, so random byte flips rarely reach the XML.
/// This rebuilds the workbook with each XML part mutated and re-zipped with
/// valid CRCs, so the workbook reader itself sees damaged XML.
mod damaged_xml {
    use std::io::{Cursor, Read, Write};

    use proptest::prelude::*;
    use shieldwall_ccm_import::read_ccm_bytes;

    fn rezip(
        original: &[u8],
        target: usize,
        edits: &[(usize, u8)],
        cut: Option<usize>,
    ) -> Result<Vec<u8>, zip::result::ZipError> {
        let mut zin = zip::ZipArchive::new(Cursor::new(original))?;
        let mut out = Cursor::new(Vec::new());
        {
            let mut zout = zip::ZipWriter::new(&mut out);
            let n = zin.len();
            for i in 0..n {
                let mut entry = zin.by_index(i)?;
                let name = entry.name()?.to_string();
                let mut data = Vec::new();
                entry.read_to_end(&mut data)?;
                if i == target % n {
                    for (pos, b) in edits {
                        super::set_byte(&mut data, *pos, *b);
                    }
                    if let Some(c) = cut {
                        data.truncate(c % (data.len() + 1));
                    }
                }
                zout.start_file(name, zip::write::SimpleFileOptions::default())?;
                zout.write_all(&data)?;
            }
            zout.finish()?;
        }
        Ok(out.into_inner())
    }

    fn xml_byte() -> impl Strategy<Value = u8> {
        prop_oneof![
            Just(b'<'),
            Just(b'>'),
            Just(b'/'),
            Just(b'"'),
            Just(b'='),
            Just(b'&'),
            Just(b'1'),
            Just(b'A'),
            Just(b' '),
            any::<u8>(),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn workbook_with_damaged_parts(
            target in any::<usize>(),
            edits in proptest::collection::vec((any::<usize>(), xml_byte()), 1..6),
            cut in proptest::option::of(any::<usize>()),
        ) {
            let original = super::fixture("ccm_v4_synthetic.xlsx")?;
            let bytes = rezip(&original, target, &edits, cut)?;
            let _ = read_ccm_bytes("damaged.xlsx", &bytes);
        }
    }
}
