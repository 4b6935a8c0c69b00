//! The API's certificate: the one the configuration names, or a self-signed one made on first
//! start and kept in `<data_dir>/tls/` (key owner-only), so that the API is HTTPS from the start
//! without any setup. Clients pin it or trust it explicitly (`curl --cacert`).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use shieldwall_collect::sources::tls::{TlsConfig, TlsServer};

use crate::config::ApiSettings;

/// Where the self-signed certificate and key are kept.
pub fn self_signed_paths(data_dir: &Path) -> (PathBuf, PathBuf) {
    let dir = data_dir.join("tls");
    (dir.join("api-cert.pem"), dir.join("api-key.pem"))
}

/// The TLS server of the API, making the self-signed certificate when needed.
pub fn server(settings: &ApiSettings, data_dir: &Path) -> Result<TlsServer, String> {
    let (cert, key) = match (&settings.tls_cert, &settings.tls_key) {
        (Some(cert), Some(key)) => (cert.clone(), key.clone()),
        _ => {
            let (cert, key) = self_signed_paths(data_dir);
            if !cert.exists() || !key.exists() {
                make_self_signed(&cert, &key)?;
                tracing::info!(
                    "API: made a self-signed certificate {} (give [api] tls_cert and tls_key to use your own)",
                    cert.display()
                );
            }
            (cert, key)
        }
    };
    TlsServer::new("api", &TlsConfig::new(cert, key), &[b"http/1.1"]).map_err(|e| e.to_string())
}

fn make_self_signed(cert: &Path, key: &Path) -> Result<(), String> {
    let names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    let made = rcgen::generate_simple_self_signed(names)
        .map_err(|e| format!("making a self-signed certificate: {e}"))?;
    if let Some(dir) = cert.parent() {
        fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(key)
        .map_err(|e| format!("{}: {e}", key.display()))?;
    file.write_all(made.signing_key.serialize_pem().as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("{}: {e}", key.display()))?;
    fs::write(cert, made.cert.pem()).map_err(|e| format!("{}: {e}", cert.display()))
}
