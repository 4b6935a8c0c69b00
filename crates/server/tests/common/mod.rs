//! A running centre for API tests: the server started in-process on 127.0.0.1 with its API over
//! TLS (the self-signed certificate it makes), tenants `acme` and `beta`, and accounts made
//! through the same code the CLI and API use; logins compute TOTP codes from the enrolment.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    dead_code
)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jiff::Timestamp;
use serde_json::{Value, json};
use shieldwall_auth::secret_box::SecretBox;
use shieldwall_auth::totp::{self, Secret};
use shieldwall_core::{Role, Scope, TenantId};
use shieldwall_server::access::{Access, Origin, SessionLimits, record};
use shieldwall_server::{Server, config};
use shieldwall_store::MetaStore;
use shieldwall_store::meta::{AuditKind, AuditOutcome, SqliteMetaStore, Tenant};
use shieldwall_testkit::https::{Answer, Client};

pub const PASSWORD: &str = "a long test passphrase";

/// Principals of the matrix: name → (scope, role).
pub const PRINCIPALS: [(&str, &str, Role); 6] = [
    ("user-a", "acme", Role::User),
    ("secadmin-a", "acme", Role::SecurityAdmin),
    ("sysadmin-a", "acme", Role::SystemAdmin),
    ("auditor-a", "acme", Role::AuditAdmin),
    ("sysadmin", "*", Role::SystemAdmin),
    ("auditor", "*", Role::AuditAdmin),
];

pub struct Centre {
    pub dir: tempfile::TempDir,
    pub server: Option<Server>,
    pub client: Client,
    pub secrets: HashMap<String, Secret>,
    pub accounts: HashMap<String, u64>,
}

/// A signed-in console session.
#[derive(Clone)]
pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

fn configuration(dir: &Path, api: &str, extra: &str) -> config::ServeConfig {
    let text = format!(
        "data_dir = \"data\"\n[api]\nlisten = \"127.0.0.1:0\"\n{api}\n[auth]\npassword_cost = \"test-only\"\n[health]\ncheck_secs = 1\n[detection]\nrules_dir = \"rules\"\nreload_secs = 1\n{extra}\n[[sources]]\ntype = \"syslog-tcp\"\nname = \"acme-hosts\"\nlisten = \"127.0.0.1:0\"\ntenant = \"acme\"\n[[sources]]\ntype = \"syslog-tcp\"\nname = \"beta-hosts\"\nlisten = \"127.0.0.1:0\"\ntenant = \"beta\"\n"
    );
    config::parse(&dir.join("shieldwall.toml"), &text).unwrap()
}

impl Centre {
    /// Starts a centre with the matrix's principals.
    pub async fn start(extra: &str) -> Centre {
        Centre::start_with_api("", extra).await
    }

    /// Starts a centre with more `[api]` settings (`api`) and more configuration (`extra`).
    pub async fn start_with_api(api: &str, extra: &str) -> Centre {
        let dir = tempfile::tempdir().unwrap();
        let config = configuration(dir.path(), api, extra);
        let (secrets, accounts) = make_accounts(
            &config.data_dir,
            &config.auth.secret_key_path(&config.data_dir),
        );
        let server = Server::start(config).await.unwrap();
        let port = server.started().api.unwrap().port();
        let cert = dir.path().join("data/tls/api-cert.pem");
        Centre {
            client: Client::new(port, &cert),
            dir,
            server: Some(server),
            secrets,
            accounts,
        }
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn cert(&self) -> PathBuf {
        self.data().join("tls/api-cert.pem")
    }

    pub fn port(&self) -> u16 {
        self.server.as_ref().unwrap().started().api.unwrap().port()
    }

    /// The current TOTP code of an account (a fresh one: waits for the next step when this
    /// step's code was used already).
    pub fn code(&self, name: &str) -> String {
        self.secrets[name].code(totp::step_at(Timestamp::now()), totp::DIGITS)
    }

    pub async fn login(&self, name: &str) -> Session {
        let answer = self
            .client
            .send(
                "POST",
                "/api/v1/login",
                &[],
                Some(&json!({"name": name, "password": PASSWORD, "code": self.code(name)})),
            )
            .await;
        assert_eq!(
            answer.status,
            200,
            "login {name}: {}",
            String::from_utf8_lossy(&answer.body)
        );
        let cookie = answer.headers["set-cookie"].to_str().unwrap().to_owned();
        assert!(
            cookie.contains("HttpOnly")
                && cookie.contains("Secure")
                && cookie.contains("SameSite=Strict"),
            "{cookie}"
        );
        let cookie = cookie.split(';').next().unwrap().to_owned();
        let csrf = answer.json()["csrf"].as_str().unwrap().to_owned();
        Session { cookie, csrf }
    }

    /// A request as `session` (with the CSRF header).
    pub async fn send(
        &self,
        session: Option<&Session>,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Answer {
        let headers: Vec<(&str, &str)> = match session {
            Some(s) => vec![
                ("cookie", s.cookie.as_str()),
                ("x-csrf-token", s.csrf.as_str()),
            ],
            None => Vec::new(),
        };
        self.client.send(method, path, &headers, body).await
    }

    /// A request with a bearer token.
    pub async fn send_token(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Answer {
        let auth = format!("Bearer {token}");
        self.client
            .send(method, path, &[("authorization", auth.as_str())], body)
            .await
    }

    /// The metadata store, opened beside the server.
    pub fn meta(&self) -> SqliteMetaStore {
        SqliteMetaStore::open(self.data().join("meta.sqlite")).unwrap()
    }

    /// The records of one audit chain (`*` or a tenant), of one type if given, as JSON.
    pub fn audit(&self, chain: &str, kind: Option<AuditKind>) -> Vec<Value> {
        use shieldwall_store::meta::{AuditFilter, AuditTrail};
        self.meta()
            .audit_records(&AuditFilter {
                chain: chain.parse().unwrap(),
                since: None,
                until: None,
                kind,
                actor: None,
                before_seq: None,
                after_seq: None,
                limit: 1000,
            })
            .unwrap()
            .iter()
            .map(|r| serde_json::to_value(r).unwrap())
            .collect()
    }

    pub async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await.unwrap();
        }
    }
}

fn make_accounts(data: &Path, key: &Path) -> (HashMap<String, Secret>, HashMap<String, u64>) {
    std::fs::create_dir_all(data).unwrap();
    let meta: Arc<dyn MetaStore> =
        Arc::new(SqliteMetaStore::open(data.join("meta.sqlite")).unwrap());
    let access = Access::new(
        Arc::clone(&meta),
        SecretBox::load_or_create(key).unwrap(),
        shieldwall_auth::password::Cost::TEST_ONLY,
        SessionLimits {
            lifetime: jiff::SignedDuration::from_hours(1),
            idle: jiff::SignedDuration::from_mins(30),
        },
    );
    let origin = Origin {
        address: "local".to_owned(),
        actor: "test".to_owned(),
    };
    let now = Timestamp::now();
    for id in ["acme", "beta"] {
        let tenant = Tenant {
            id: TenantId::new(id).unwrap(),
            name: id.to_owned(),
            created_at: now,
        };
        let audit = record(
            Scope::System,
            now,
            AuditKind::Change,
            &origin,
            id,
            "create_tenant",
            AuditOutcome::Success,
        );
        meta.create_tenant(&tenant, &audit).unwrap();
    }
    let mut secrets = HashMap::new();
    let mut accounts = HashMap::new();
    for (name, scope, role) in PRINCIPALS {
        let (account, secret) = access.new_credentials(name, PASSWORD, now).unwrap();
        let scope: Scope = scope.parse().unwrap();
        let audit = record(
            Scope::System,
            now,
            AuditKind::Change,
            &origin,
            name,
            "create_account",
            AuditOutcome::Success,
        );
        let created = meta
            .create_account(&account, &[(scope, role)], &audit)
            .unwrap();
        accounts.insert(name.to_owned(), created.id);
        secrets.insert(name.to_owned(), secret);
    }
    (secrets, accounts)
}
