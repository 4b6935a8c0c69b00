//! The local text store: round trip, atomic writes, permissions, keys.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use shieldwall_ccm_import::{
    ControlText, ImportError, ImportedCcm, SourceFormat, TextStore, read_ccm_file,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn synthetic(ids: &[&str]) -> ImportedCcm {
    ImportedCcm {
        source_file: "synthetic.json".into(),
        format: SourceFormat::Json,
        controls: ids
            .iter()
            .map(|id| ControlText {
                id: (*id).to_string(),
                domain: Some("Synthetic Domain".into()),
                title: None,
                specification: format!("Synthetic specification for {id}."),
            })
            .collect(),
    }
}

/// Sorted names in `dir` (temporary files included: they start with '.').
fn entries(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir)? {
        names.push(entry?.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

#[test]
fn save_load_lookup_round_trip() {
    let data = tempfile::tempdir().unwrap();
    let store = TextStore::open(data.path()).unwrap();
    let imported = read_ccm_file(&fixture("ccm_v4_synthetic.xlsx")).unwrap();

    let written = store.save("ccm-4.0.99", &imported).unwrap();
    assert_eq!(
        written,
        data.path().join("ccm-text").join("ccm-4.0.99.json")
    );

    let loaded = store.load("ccm-4.0.99").unwrap().unwrap();
    let expected: BTreeMap<String, ControlText> = imported
        .controls
        .iter()
        .map(|c| (c.id.clone(), c.clone()))
        .collect();
    assert_eq!(loaded, expected);

    let ais1 = store.lookup("ccm-4.0.99", "AIS-01").unwrap().unwrap();
    assert_eq!(ais1.specification, "Synthetic specification for AIS-01.");
    assert_eq!(ais1.title.as_deref(), Some("Synthetic Title AIS One"));
    assert_eq!(
        store
            .lookup("ccm-4.0.99", " A&A-02 ")
            .unwrap()
            .map(|c| c.id),
        Some("A&A-02".to_string())
    );
    assert_eq!(store.lookup("ccm-4.0.99", "ZZZ-99").unwrap(), None);
    assert_eq!(store.lookup("ccm-3.0.1", "AIS-01").unwrap(), None);
    assert_eq!(store.load("ccm-3.0.1").unwrap(), None);

    // The stored file names its source and is plain JSON.
    let text = fs::read_to_string(&written).unwrap();
    assert!(
        text.contains("\"source_file\": \"ccm_v4_synthetic.xlsx\""),
        "{text}"
    );
    assert!(text.contains("\"source_format\": \"xlsx\""), "{text}");
}

#[test]
fn atomic_write_leaves_no_temp_file_and_replaces_old_text() {
    let data = tempfile::tempdir().unwrap();
    let store = TextStore::open(data.path()).unwrap();
    store
        .save("ccm-4.0.13", &synthetic(&["AIS-01", "AIS-02"]))
        .unwrap();
    store.save("ccm-4.0.13", &synthetic(&["BCR-01"])).unwrap();
    store.save("ccm-3.0.1", &synthetic(&["DSI-01"])).unwrap();

    assert_eq!(
        entries(&data.path().join("ccm-text")).unwrap(),
        ["ccm-3.0.1.json", "ccm-4.0.13.json"]
    );
    let loaded = store.load("ccm-4.0.13").unwrap().unwrap();
    assert_eq!(loaded.keys().collect::<Vec<_>>(), ["BCR-01"]);
}

#[test]
fn failed_write_keeps_old_file_and_leaves_no_temp_file() {
    let data = tempfile::tempdir().unwrap();
    let store = TextStore::open(data.path()).unwrap();
    // A directory where the file should go: the final rename fails.
    let blocker = data.path().join("ccm-text").join("ccm-4.0.13.json");
    fs::create_dir_all(blocker.join("inside")).unwrap();
    let err = store
        .save("ccm-4.0.13", &synthetic(&["AIS-01"]))
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ImportError::Store { .. }), "{msg}");
    assert!(
        msg.contains("ccm-4.0.13.json: cannot move the new file into place"),
        "{msg}"
    );
    assert_eq!(
        entries(&data.path().join("ccm-text")).unwrap(),
        ["ccm-4.0.13.json"]
    );
    assert!(blocker.join("inside").is_dir());
}

#[cfg(unix)]
#[test]
fn stored_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let data = tempfile::tempdir().unwrap();
    let store = TextStore::open(data.path()).unwrap();
    let written = store.save("ccm-4.0.13", &synthetic(&["AIS-01"])).unwrap();
    let mode = fs::metadata(&written).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "file mode {mode:o}");
    let dir_mode = fs::metadata(data.path().join("ccm-text"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(dir_mode, 0o700, "dir mode {dir_mode:o}");
}

#[test]
fn bad_framework_keys_are_refused_everywhere() {
    let data = tempfile::tempdir().unwrap();
    let store = TextStore::open(data.path().join("store")).unwrap();
    for key in [
        "",
        "../escape",
        "a/b",
        "a\\b",
        ".hidden",
        "..",
        "ccm 4",
        "ccm-4.0.13/",
    ] {
        let err = store.save(key, &synthetic(&["AIS-01"])).unwrap_err();
        assert!(
            matches!(err, ImportError::InvalidFrameworkKey { .. }),
            "{key:?}: {err}"
        );
        assert!(
            err.to_string().starts_with("invalid framework key"),
            "{err}"
        );
        assert!(store.load(key).is_err(), "{key:?}");
        assert!(store.lookup(key, "AIS-01").is_err(), "{key:?}");
    }
    // Nothing was written anywhere, inside or beside the store.
    assert_eq!(entries(data.path()).unwrap(), ["store"]);
    assert!(entries(&data.path().join("store")).unwrap().is_empty());
}

#[test]
fn invalid_imports_are_not_stored() {
    let data = tempfile::tempdir().unwrap();
    let store = TextStore::open(data.path()).unwrap();
    let err = store.save("ccm-x", &synthetic(&[])).unwrap_err();
    assert!(matches!(err, ImportError::InvalidData { .. }), "{err}");
    let err = store
        .save("ccm-x", &synthetic(&["AIS-01", "AIS-01"]))
        .unwrap_err();
    assert!(
        err.to_string().contains("\"AIS-01\" appears twice"),
        "{err}"
    );
    assert_eq!(store.load("ccm-x").unwrap(), None);
}

#[test]
fn corrupt_store_file_is_reported() {
    let data = tempfile::tempdir().unwrap();
    let store = TextStore::open(data.path()).unwrap();
    let path = store.save("ccm-4.0.13", &synthetic(&["AIS-01"])).unwrap();

    fs::write(&path, b"{ not json").unwrap();
    let msg = store.load("ccm-4.0.13").unwrap_err().to_string();
    assert!(
        msg.contains("ccm-4.0.13.json: stored CCM text is unreadable"),
        "{msg}"
    );
    assert!(msg.contains("import the CCM file again"), "{msg}");

    let other = store.save("ccm-other", &synthetic(&["AIS-01"])).unwrap();
    fs::copy(&other, &path).unwrap();
    let msg = store.load("ccm-4.0.13").unwrap_err().to_string();
    assert!(msg.contains("holds framework key \"ccm-other\""), "{msg}");
}

#[test]
fn open_refuses_a_file() {
    let data = tempfile::tempdir().unwrap();
    let file = data.path().join("not-a-dir");
    fs::write(&file, b"x").unwrap();
    let err = TextStore::open(&file).unwrap_err();
    assert!(matches!(err, ImportError::Store { .. }), "{err}");
    assert!(err.to_string().contains("not-a-dir"), "{err}");
}
