//! Reading synthetic CCM files in each supported shape, and refusing bad ones.
//!
//! The fixtures are made by `tests/fixtures/make_fixtures.py`; all their text
//! is invented.

use std::path::{Path, PathBuf};

use shieldwall_ccm_import::{
    ControlText, ImportError, ImportedCcm, Location, SourceFormat, read_ccm_bytes, read_ccm_file,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn read_fixture(name: &str) -> Result<ImportedCcm, ImportError> {
    read_ccm_file(&fixture(name))
}

fn ids(imported: &ImportedCcm) -> Vec<&str> {
    imported.controls.iter().map(|c| c.id.as_str()).collect()
}

fn control<'a>(imported: &'a ImportedCcm, id: &str) -> Option<&'a ControlText> {
    imported.controls.iter().find(|c| c.id == id)
}

#[test]
fn v4_workbook_header_below_title_rows_and_domain_rows_skipped() {
    let imported = read_fixture("ccm_v4_synthetic.xlsx").unwrap();
    assert_eq!(imported.format, SourceFormat::Xlsx);
    assert_eq!(imported.source_file, "ccm_v4_synthetic.xlsx");
    // Domain headings, the blank row, "End of Standard" and the copyright
    // line are not controls; the decoy "CAIQ" sheet is not read.
    assert_eq!(ids(&imported), ["A&A-01", "A&A-02", "AIS-01", "AIS-02"]);

    let aa1 = control(&imported, "A&A-01").unwrap();
    assert_eq!(aa1.domain.as_deref(), Some("Audit & Assurance"));
    assert_eq!(aa1.title.as_deref(), Some("Synthetic Title A&A One"));
    assert_eq!(
        aa1.specification,
        "Synthetic specification for A&A-01.\nSecond line of A&A-01."
    );

    // Whitespace around ids, titles and text is stripped.
    let aa2 = control(&imported, "A&A-02").unwrap();
    assert_eq!(aa2.title.as_deref(), Some("Synthetic Title A&A Two"));
    assert_eq!(aa2.specification, "Synthetic specification for A&A-02.");

    let ais2 = control(&imported, "AIS-02").unwrap();
    assert_eq!(
        ais2.domain.as_deref(),
        Some("Application & Interface Security")
    );
    assert_eq!(
        ais2.specification,
        "Synthetic specification for AIS-02.\n\n- item one\n- item two"
    );
}

#[test]
fn v3_workbook_title_taken_from_domain_cell() {
    let imported = read_fixture("ccm_v3_synthetic.xlsx").unwrap();
    assert_eq!(imported.format, SourceFormat::Xlsx);
    // "AIS- 02" in the sheet: the stray space is removed.
    assert_eq!(ids(&imported), ["AIS-01", "AIS-02", "DCS-07"]);
    let ais2 = control(&imported, "AIS-02").unwrap();
    assert_eq!(
        ais2.domain.as_deref(),
        Some("Application & Interface Security")
    );
    assert_eq!(ais2.title.as_deref(), Some("Customer Access Requirements"));
    assert_eq!(
        ais2.specification,
        "Synthetic specification for AIS-02 (v3)."
    );
    let dcs7 = control(&imported, "DCS-07").unwrap();
    assert_eq!(dcs7.domain.as_deref(), Some("Datacenter Security"));
    assert_eq!(dcs7.title.as_deref(), Some("Equipment Location"));
}

#[test]
fn json_flat_list() {
    let imported = read_fixture("ccm_v4_flat.json").unwrap();
    assert_eq!(imported.format, SourceFormat::Json);
    assert_eq!(ids(&imported), ["A&A-01", "AIS-01", "IVS-13"]);
    let aa1 = control(&imported, "A&A-01").unwrap();
    // domainName is preferred over the abbreviation in "domain".
    assert_eq!(aa1.domain.as_deref(), Some("Audit & Assurance"));
    assert_eq!(aa1.title.as_deref(), Some("Synthetic Title A&A One"));
    assert_eq!(
        aa1.specification,
        "Synthetic specification for A&A-01.\nSecond line."
    );
    assert_eq!(
        control(&imported, "AIS-01").unwrap().specification,
        "Synthetic specification for AIS-01."
    );
    assert_eq!(
        control(&imported, "IVS-13").unwrap().domain.as_deref(),
        Some("IVS")
    );
}

#[test]
fn json_keyed_by_id() {
    let imported = read_fixture("ccm_v3_keyed.json").unwrap();
    assert_eq!(ids(&imported), ["AIS-01", "DCS-07"]);
    let dcs = control(&imported, "DCS-07").unwrap();
    // No id inside the object: the member key is used.
    assert_eq!(dcs.domain.as_deref(), Some("Datacenter Security"));
    assert_eq!(dcs.title.as_deref(), Some("Synthetic Title DCS"));
    assert_eq!(
        dcs.specification,
        "Synthetic specification for DCS-07 (v3)."
    );
}

#[test]
fn json_domains_holding_controls() {
    let imported = read_fixture("ccm_domains.json").unwrap();
    assert_eq!(ids(&imported), ["AIS-01", "AIS-02", "BCR-01"]);
    let ais1 = control(&imported, "AIS-01").unwrap();
    assert_eq!(
        ais1.domain.as_deref(),
        Some("Application & Interface Security")
    );
    assert_eq!(ais1.title.as_deref(), Some("Synthetic Title AIS One"));
    assert_eq!(
        control(&imported, "BCR-01").unwrap().domain.as_deref(),
        Some("Business Continuity Management")
    );
}

#[test]
fn json_oscal_catalog() {
    let imported = read_fixture("ccm_oscal_catalog.json").unwrap();
    assert_eq!(ids(&imported), ["A&A-01"]);
    let c = control(&imported, "A&A-01").unwrap();
    assert_eq!(c.domain.as_deref(), Some("Audit & Assurance"));
    assert_eq!(c.title.as_deref(), Some("Synthetic Title A&A One"));
    // The statement with its sub-parts; guidance is not specification.
    assert_eq!(
        c.specification,
        "Synthetic specification for A&A-01.\nSynthetic sub-item."
    );
}

#[test]
fn missing_id_column_names_sheet_and_row() {
    let err = read_fixture("ccm_missing_id_column.xlsx").unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("ccm_missing_id_column.xlsx: sheet \"CCM\", row 3: no \"Control ID\" column found in the first 20 rows (looked for: \"control id\""),
        "{msg}"
    );
    assert!(matches!(
        err,
        ImportError::Content {
            location: Location::Cell { row: 3, .. },
            ..
        }
    ));
}

#[test]
fn duplicate_id_names_both_rows() {
    let err = read_fixture("ccm_duplicate_id.xlsx").unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("duplicate control id \"AIS-01\""), "{msg}");
    assert!(msg.contains("sheet \"CCM\", row 5, column C"), "{msg}");
    assert!(msg.contains("sheet \"CCM\", row 7, column C"), "{msg}");
    assert!(matches!(err, ImportError::DuplicateId { .. }));
}

#[test]
fn duplicate_id_in_json_names_both_paths() {
    let json = br#"{"controls": [
        {"id": "AIS-01", "specification": "Synthetic one."},
        {"id": "AIS-01", "specification": "Synthetic two."}]}"#;
    let msg = read_ccm_bytes("dup.json", json).unwrap_err().to_string();
    assert!(
        msg.contains("dup.json: duplicate control id \"AIS-01\": first at JSON path $.controls[0], again at JSON path $.controls[1]"),
        "{msg}"
    );
}

#[test]
fn workbook_without_controls_is_refused() {
    let err = read_fixture("ccm_no_controls.xlsx").unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ImportError::NoControls { .. }), "{msg}");
    assert!(
        msg.contains("sheet \"CCM\" has its header on row 3 but no rows below it"),
        "{msg}"
    );
}

#[test]
fn bad_id_and_empty_specification_name_the_cell() {
    let msg = read_fixture("ccm_bad_id.xlsx").unwrap_err().to_string();
    assert!(
        msg.contains("sheet \"CCM\", row 6, column C (\"Control ID\"): expected a control id"),
        "{msg}"
    );
    assert!(msg.contains("\"see note below\""), "{msg}");

    let msg = read_fixture("ccm_empty_spec.xlsx").unwrap_err().to_string();
    assert!(
        msg.contains("sheet \"CCM\", row 5, column D (\"Control Specification\"): control \"AIS-01\" has no specification text"),
        "{msg}"
    );
}

#[test]
fn empty_inputs_are_refused() {
    let msg = read_ccm_bytes("empty.xlsx", b"").unwrap_err().to_string();
    assert_eq!(
        msg,
        "empty.xlsx: not a Cloud Controls Matrix file: the file is empty"
    );
    for (name, json) in [
        ("empty.json", &b"{}"[..]),
        ("list.json", b"[]"),
        (
            "other.json",
            br#"{"controls": [{"id": "X-1", "name": "no text"}]}"#,
        ),
    ] {
        let err = read_ccm_bytes(name, json).unwrap_err();
        assert!(matches!(err, ImportError::NoControls { .. }), "{err}");
        assert!(
            err.to_string()
                .starts_with(&format!("{name}: no controls found")),
            "{err}"
        );
    }
}

#[test]
fn csv_is_refused_with_a_clear_message() {
    let msg = read_fixture("not_ccm.csv").unwrap_err().to_string();
    assert!(
        msg.contains("not_ccm.csv: not a Cloud Controls Matrix file"),
        "{msg}"
    );
    assert!(msg.contains("CSV"), "{msg}");
}

#[test]
fn random_bytes_and_other_files_are_refused() {
    // Deterministic pseudo-random bytes (xorshift), starting with a byte that
    // is neither 'P', '{' nor '['.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut bytes = vec![0x01_u8];
    for _ in 0..4096 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bytes.push(x.to_le_bytes().first().copied().unwrap_or(0));
    }
    let msg = read_ccm_bytes("random.bin", &bytes)
        .unwrap_err()
        .to_string();
    assert!(
        msg.starts_with("random.bin: not a Cloud Controls Matrix file: expected an XLSX workbook"),
        "{msg}"
    );

    // A ZIP that is not a workbook, and a truncated workbook.
    let msg = read_ccm_bytes("fake.xlsx", b"PK\x03\x04garbage")
        .unwrap_err()
        .to_string();
    assert!(
        msg.starts_with("fake.xlsx: cannot read the XLSX workbook"),
        "{msg}"
    );
    let good = std::fs::read(fixture("ccm_v4_synthetic.xlsx")).unwrap_or_default();
    let cut = good.get(..good.len() / 2).unwrap_or_default();
    let msg = read_ccm_bytes("cut.xlsx", cut).unwrap_err().to_string();
    assert!(
        msg.starts_with("cut.xlsx: cannot read the XLSX workbook"),
        "{msg}"
    );

    // Broken JSON reports line and column.
    let msg = read_ccm_bytes("broken.json", b"{\"controls\": [\n  {\"id\": }]}")
        .unwrap_err()
        .to_string();
    assert!(msg.starts_with("broken.json: invalid JSON: "), "{msg}");
    assert!(msg.contains("line 2"), "{msg}");

    // A legacy .xls signature.
    let msg = read_ccm_bytes(
        "old.xls",
        &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0],
    )
    .unwrap_err()
    .to_string();
    assert!(msg.contains("legacy Excel .xls"), "{msg}");
}

#[test]
fn json_content_errors_name_the_path() {
    let msg = read_ccm_bytes(
        "c.json",
        br#"{"controls": [{"id": "AIS-01", "specification": "ok"}, {"title": "t", "specification": "s"}]}"#,
    ).unwrap_err()
    .to_string();
    assert!(
        msg.starts_with(
            "c.json: JSON path $.controls[1]: object has a specification but no control id"
        ),
        "{msg}"
    );
    // A metadata block that merely names the standard is not a control.
    let imported = read_ccm_bytes(
        "m.json",
        br#"{"metadata": {"specification": "Synthetic CCM"}, "controls": [{"id": "AIS-01", "specification": "ok"}]}"#,
    )
    .unwrap();
    assert_eq!(ids(&imported), ["AIS-01"]);
    let msg = read_ccm_bytes("c.json", br#"[{"id": "AIS-01", "specification": 7}]"#)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains(
            "JSON path $[0].specification: expected the specification as a string, found a number"
        ),
        "{msg}"
    );
    let msg = read_ccm_bytes("c.json", br#"[{"id": "not an id", "specification": "s"}]"#)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("JSON path $[0].id: expected a control id"),
        "{msg}"
    );
    let msg = read_ccm_bytes(
        "c.json",
        br#"[{"control-id": "AIS-01", "Control Specification": "  "}]"#,
    )
    .unwrap_err()
    .to_string();
    assert!(
        msg.contains("control \"AIS-01\" has no specification text"),
        "{msg}"
    );
}

#[test]
fn too_many_controls_are_refused() {
    let mut doc = String::from("[");
    for i in 0..10_001 {
        if i > 0 {
            doc.push(',');
        }
        doc.push_str(&format!(
            r#"{{"id":"SYN-{i:05}","specification":"Synthetic {i}."}}"#
        ));
    }
    doc.push(']');
    let err = read_ccm_bytes("many.json", doc.as_bytes()).unwrap_err();
    assert!(
        matches!(err, ImportError::TooManyControls { limit: 10_000, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("$[10000]"), "{err}");
}

#[test]
fn oversized_files_are_refused_unread() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let path = dir.path().join("huge.xlsx");
    let f = std::fs::File::create(&path).unwrap_or_else(|e| panic!("create: {e}"));
    // A sparse file: no disk space used.
    f.set_len(64 * 1024 * 1024 + 1)
        .unwrap_or_else(|e| panic!("set_len: {e}"));
    let err = match read_ccm_file(&path) {
        Ok(_) => panic!("huge file accepted"),
        Err(e) => e,
    };
    let msg = err.to_string();
    assert!(matches!(err, ImportError::TooLarge { .. }), "{msg}");
    assert!(
        msg.contains("huge.xlsx: the file is 67108865 bytes, over the limit of 67108864 bytes"),
        "{msg}"
    );

    let missing = dir.path().join("missing.xlsx");
    let msg = match read_ccm_file(&missing) {
        Ok(_) => panic!("missing file read"),
        Err(e) => e.to_string(),
    };
    assert!(msg.contains("missing.xlsx: cannot read the file"), "{msg}");
}

#[test]
fn zip_bomb_is_refused() {
    // A valid ZIP whose one entry expands past the 256 MiB budget.
    use std::io::Write;
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("xl/sharedStrings.xml", opts)
            .unwrap_or_else(|e| panic!("start_file: {e}"));
        let block = vec![b'a'; 1024 * 1024];
        for _ in 0..257 {
            zip.write_all(&block)
                .unwrap_or_else(|e| panic!("write: {e}"));
        }
        zip.finish().unwrap_or_else(|e| panic!("finish: {e}"));
    }
    let bytes = buf.into_inner();
    assert!(
        bytes.len() < 2 * 1024 * 1024,
        "bomb is {} bytes",
        bytes.len()
    );
    let err = read_ccm_bytes("bomb.xlsx", &bytes).unwrap_err();
    assert!(matches!(err, ImportError::TooLarge { .. }), "{err}");
    assert!(
        err.to_string().contains("the decompressed workbook"),
        "{err}"
    );
}
