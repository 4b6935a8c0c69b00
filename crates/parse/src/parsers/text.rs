//! Host and application text logs: OpenSSH, Linux-PAM, sudo and su, Linux audit records,
//! netfilter packet logs, nginx and Apache access and error logs, PostgreSQL (with pgaudit),
//! MariaDB's server_audit plugin and the MySQL/MariaDB error log, and ClamAV.
//!
//! Each parser lives in its own module under `text/` and is registered here with the keys that
//! route messages to it:
//!
//! | id | programs (syslog TAG) | text prefixes |
//! | --- | --- | --- |
//! | `sshd` | sshd, sshd-session | |
//! | `sudo` | sudo | |
//! | `su` | su | |
//! | `pam` | sshd, sshd-session, sudo, su, login, cron, crond, systemd-logind, systemd, passwd, chpasswd, runuser, polkitd, gdm-password, lightdm, sddm, vsftpd, dovecot, xrdp-sesman, chfn, chsh | `pam_` |
//! | `netfilter` | kernel | `[UFW `, `IN=` |
//! | `auditd` | audit, auditd, audispd, audisp-syslog, audisp-remote, kernel | `type=`, `node=`, `audit: type=` |
//! | `nginx-access` | nginx | |
//! | `nginx-error` | nginx | |
//! | `apache-access` | httpd, apache2, apache | |
//! | `apache-error` | httpd, apache2, apache | `[Mon ` ... `[Sun ` |
//! | `postgresql` | postgres, postgresql, postmaster | |
//! | `mariadb-audit` | mysql-server_auditing, mariadb-server_auditing, mysqld, mariadbd | |
//! | `mysql-error` | mysqld, mariadbd, mysql, mariadb, mysqld_safe | |
//! | `clamav` | clamd, clamav, clamdscan, clamscan, clamonacc, clamav-daemon | |
//! | `freshclam` | freshclam, clamav-freshclam | |
//!
//! Lines read from files have no program: a file source names its parser (`nginx-access`,
//! `apache-error`, `postgresql`, `mariadb-audit`, `clamav`...) in its configuration; audit.log
//! lines are also found by their `type=`/`node=` prefix. The program-specific parsers are
//! registered before `pam`, so that for `sshd` the sshd parser is asked first (it declines
//! `pam_` lines quickly).
//!
//! Mapping conventions shared by all of them: the class and activity follow OCSF 1.3.0; `feature`
//! is a stable template id (`sshd:failed_password`, `pgaudit:SESSION`, a ClamAV signature);
//! fields without a normalised home are kept in `vendor` under the format's own names (auditd,
//! netfilter, pgaudit, server_audit) or in `unmapped`; a time stated in the text replaces the
//! receive time, Stated when it has a zone and Inferred (read in the source's zone) when not.

mod auditd;
mod clamav;
mod common;
mod mysql;
mod netfilter;
mod pam;
mod postgresql;
mod sshd;
mod sudo;
mod web;

use std::sync::Arc;

use crate::registry::{Keys, Parser, Registry, RegistryError};

/// The programs whose PAM modules log through syslog under the program's name.
const PAM_PROGRAMS: &[&str] = &[
    "sshd",
    "sshd-session",
    "sudo",
    "su",
    "login",
    "cron",
    "crond",
    "systemd-logind",
    "systemd",
    "passwd",
    "chpasswd",
    "runuser",
    "polkitd",
    "gdm-password",
    "lightdm",
    "sddm",
    "vsftpd",
    "dovecot",
    "xrdp-sesman",
    "chfn",
    "chsh",
];

/// Registers the text parsers.
pub fn register(registry: &mut Registry) -> Result<(), RegistryError> {
    let text = |p: Arc<dyn crate::registry::TextParser>| Parser::Text(p);
    registry.register(
        text(Arc::new(sshd::Sshd)),
        &Keys::programs(&["sshd", "sshd-session"]),
    )?;
    registry.register(text(Arc::new(sudo::Sudo)), &Keys::programs(&["sudo"]))?;
    registry.register(text(Arc::new(sudo::Su)), &Keys::programs(&["su"]))?;
    registry.register(
        text(Arc::new(pam::Pam)),
        &Keys::programs(PAM_PROGRAMS).with_prefixes(&["pam_"]),
    )?;
    registry.register(
        text(Arc::new(netfilter::Netfilter)),
        &Keys::programs(&["kernel"]).with_prefixes(&["[UFW ", "IN="]),
    )?;
    let mut audit_programs = auditd::DAEMONS.to_vec();
    audit_programs.push("kernel");
    registry.register(
        text(Arc::new(auditd::Auditd)),
        &Keys::programs(&audit_programs).with_prefixes(&["type=", "node=", "audit: type="]),
    )?;
    registry.register(
        text(Arc::new(web::Access {
            id: "nginx-access",
            server: web::Server::Nginx,
        })),
        &Keys::programs(&["nginx"]),
    )?;
    registry.register(text(Arc::new(web::NginxError)), &Keys::programs(&["nginx"]))?;
    registry.register(
        text(Arc::new(web::Access {
            id: "apache-access",
            server: web::Server::Apache,
        })),
        &Keys::programs(&["httpd", "apache2", "apache"]),
    )?;
    registry.register(
        text(Arc::new(web::ApacheError)),
        &Keys::programs(&["httpd", "apache2", "apache"]).with_prefixes(&[
            "[Mon ", "[Tue ", "[Wed ", "[Thu ", "[Fri ", "[Sat ", "[Sun ",
        ]),
    )?;
    registry.register(
        text(Arc::new(postgresql::Postgresql)),
        &Keys::programs(postgresql::PROGRAMS),
    )?;
    registry.register(
        text(Arc::new(mysql::MariadbAudit)),
        &Keys::programs(&[
            "mysql-server_auditing",
            "mariadb-server_auditing",
            "mysqld",
            "mariadbd",
        ]),
    )?;
    registry.register(
        text(Arc::new(mysql::MysqlError)),
        &Keys::programs(mysql::SERVER_PROGRAMS),
    )?;
    registry.register(
        text(Arc::new(clamav::Clamav)),
        &Keys::programs(clamav::SCANNER_PROGRAMS),
    )?;
    registry.register(
        text(Arc::new(clamav::Freshclam)),
        &Keys::programs(clamav::UPDATER_PROGRAMS),
    )?;
    Ok(())
}
