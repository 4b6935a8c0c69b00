//! User-defined parsers, written in YAML (`docs/parsers.md` is the reference).
//!
//! A file holds a list of parsers. Each names the messages it wants (`match`: sources, programs,
//! literal prefixes, and an optional regex gate), how to cut a message into fields (`method`:
//! regex with named captures, a separator with a field list, key=value pairs, or JSON), the
//! class of the event, and how extracted fields fill event fields (`map`: templates such as
//! `"{user}"` or lookups with `from` and `values`). Every extracted field not used by the map is
//! kept in `vendor` under its own name.
//!
//! A parser is only offered messages its match keys route to it (see [`crate::registry`]), so a
//! thousand user parsers cost a message no more than the ones its keys select. A parser whose
//! only matcher is a regex is routed by one [`regex::RegexSet`] over all such parsers.
//!
//! Loading is strict: an unknown key, a bad regex, an unknown event field, a placeholder naming
//! no extracted field, a parser without any matcher: each rejects the file with its path, line
//! and column, and nothing of that file is registered.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;
use serde_saphyr::Spanned;
use shieldwall_core::event::{Action, Status};
use shieldwall_core::{Event, EventClass, LogKind, Severity, TimeStatus};

use self::pattern::UserRegex;
use crate::registry::{Keys, Message, Parser, Registry, RegistryError, TextParser};

mod pattern;

/// The most fields one message may yield (key=value and JSON methods).
pub const MAX_FIELDS: usize = 256;

/// Why a parser file was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}:{column}: {reason}", file.display())]
pub struct UserParserError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line, 0 when unknown.
    pub line: u64,
    /// 1-based column, 0 when unknown.
    pub column: u64,
    /// What is wrong.
    pub reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    parsers: Vec<Spanned<ParserSpec>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ParserSpec {
    id: Spanned<String>,
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    #[serde(rename = "match")]
    matcher: Spanned<MatchSpec>,
    method: Spanned<MethodSpec>,
    #[serde(default)]
    class: Option<Spanned<String>>,
    #[serde(default)]
    activity_id: u8,
    #[serde(default)]
    log_kind: Option<LogKind>,
    #[serde(default)]
    map: BTreeMap<String, Spanned<MapSpec>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct MatchSpec {
    #[serde(default)]
    source: Vec<String>,
    #[serde(default)]
    program: Vec<String>,
    #[serde(default)]
    prefix: Vec<String>,
    #[serde(default)]
    regex: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
enum MethodSpec {
    Regex(Spanned<String>),
    Separator {
        delimiter: String,
        fields: Vec<String>,
        #[serde(default)]
        trim: bool,
    },
    Kv {
        #[serde(default = "default_pair")]
        pair: String,
        #[serde(default = "default_assign")]
        assign: String,
    },
    Json {},
}

fn default_pair() -> String {
    " ".into()
}

fn default_assign() -> String {
    "=".into()
}

#[derive(Deserialize)]
#[serde(untagged)]
enum MapSpec {
    Template(String),
    Lookup {
        from: String,
        values: BTreeMap<String, String>,
        #[serde(default)]
        default: Option<String>,
    },
}

/// The event fields a map may set. `vendor.<name>` and `unmapped.<name>` are accepted as well.
pub const SETTABLE_FIELDS: &[&str] = &[
    "message",
    "activity",
    "severity",
    "status",
    "status_detail",
    "action",
    "target",
    "attack_type",
    "feature",
    "time",
    "file",
    "query",
    "user.name",
    "user.uid",
    "user.domain",
    "actor.user.name",
    "actor.user.uid",
    "actor.user.domain",
    "actor.process.name",
    "actor.process.pid",
    "actor.process.cmd_line",
    "actor.process.path",
    "src_endpoint.ip",
    "src_endpoint.port",
    "src_endpoint.hostname",
    "dst_endpoint.ip",
    "dst_endpoint.port",
    "dst_endpoint.hostname",
    "device.hostname",
    "device.ip",
    "http.method",
    "http.url",
    "http.status_code",
    "http.user_agent",
    "http.referrer",
    "http.response_bytes",
    "connection.protocol",
    "connection.bytes",
    "detection.rule_uid",
    "detection.title",
    "detection.category",
    "product.vendor_name",
    "product.name",
    "product.version",
];

#[derive(Clone)]
enum Method {
    Regex(UserRegex),
    Separator {
        delimiter: String,
        fields: Vec<String>,
        trim: bool,
    },
    Kv {
        pair: String,
        assign: String,
    },
    Json,
}

#[derive(Clone)]
enum Piece {
    Literal(String),
    Field(String),
}

#[derive(Clone)]
enum Mapping {
    Template(Vec<Piece>),
    Lookup {
        from: String,
        values: BTreeMap<String, String>,
        default: Option<String>,
    },
}

/// One compiled user parser.
#[derive(Clone)]
pub struct UserParser {
    id: String,
    gate: Option<UserRegex>,
    method: Method,
    class: EventClass,
    activity_id: u8,
    log_kind: Option<LogKind>,
    map: Vec<(String, Mapping)>,
    keys: Keys,
    /// A regex-only matcher: routed by the registry's pattern set.
    pattern_only: Option<String>,
}

impl UserParser {
    /// The parser's id.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// Reads and compiles one parser file.
pub fn load_file(path: &Path) -> Result<Vec<UserParser>, UserParserError> {
    let text = std::fs::read_to_string(path).map_err(|e| UserParserError {
        file: path.to_owned(),
        line: 0,
        column: 0,
        reason: format!("cannot read: {e}"),
    })?;
    compile(path, &text)
}

/// Reads every `*.yaml`/`*.yml` file of `dir` (not recursive), in name order. Files that fail
/// are reported and contribute nothing; the others load.
pub fn load_dir(dir: &Path) -> (Vec<UserParser>, Vec<UserParserError>) {
    let mut parsers = Vec::new();
    let mut errors = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            errors.push(UserParserError {
                file: dir.to_owned(),
                line: 0,
                column: 0,
                reason: format!("cannot read the parser directory: {e}"),
            });
            return (parsers, errors);
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    for file in files {
        match load_file(&file) {
            Ok(mut loaded) => parsers.append(&mut loaded),
            Err(e) => errors.push(e),
        }
    }
    (parsers, errors)
}

/// Compiles the parsers of one file's text; `path` is used in errors.
pub fn compile(path: &Path, text: &str) -> Result<Vec<UserParser>, UserParserError> {
    let spec: FileSpec = serde_saphyr::from_str(text).map_err(|e| {
        let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
        UserParserError {
            file: path.to_owned(),
            line,
            column,
            reason: first_line(&e.to_string()),
        }
    })?;
    let mut out = Vec::with_capacity(spec.parsers.len());
    for parser in spec.parsers {
        out.push(compile_one(path, parser)?);
    }
    let mut seen = std::collections::HashSet::new();
    for p in &out {
        if !seen.insert(p.id.clone()) {
            return Err(UserParserError {
                file: path.to_owned(),
                line: 0,
                column: 0,
                reason: format!("parser id `{}` appears twice in this file", p.id),
            });
        }
    }
    Ok(out)
}

/// Registers compiled parsers; ids must not clash with any registered parser. On a clash
/// nothing is registered.
pub fn register(registry: &mut Registry, parsers: Vec<UserParser>) -> Result<(), RegistryError> {
    if let Some(taken) = parsers.iter().find(|p| registry.contains(&p.id)) {
        return Err(RegistryError::DuplicateId(taken.id.clone()));
    }
    let mut patterns = Vec::new();
    for parser in parsers {
        let keys = parser.keys.clone();
        let pattern = parser.pattern_only.clone();
        let id = parser.id.clone();
        registry.register(Parser::Text(Arc::new(parser)), &keys)?;
        if let Some(pattern) = pattern {
            patterns.push((pattern, id));
        }
    }
    if !patterns.is_empty() {
        registry.add_patterns(patterns)?;
    }
    Ok(())
}

/// The regex parser's reason without its multi-line picture of the pattern.
fn regex_reason(message: &str) -> String {
    message
        .lines()
        .find_map(|l| l.strip_prefix("error: "))
        .map_or_else(|| first_line(message), str::to_owned)
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or("").to_owned()
}

fn error_at<T>(path: &Path, span: &Spanned<T>, reason: String) -> UserParserError {
    located(path, &span.referenced, reason)
}

fn located(path: &Path, at: &serde_saphyr::Location, reason: String) -> UserParserError {
    UserParserError {
        file: path.to_owned(),
        line: at.line(),
        column: at.column(),
        reason,
    }
}

fn compile_one(path: &Path, spec: Spanned<ParserSpec>) -> Result<UserParser, UserParserError> {
    let p = spec.value;
    let id = p.id.value.trim().to_owned();
    if id.is_empty()
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        return Err(error_at(
            path,
            &p.id,
            format!(
                "parser id `{id}` must be non-empty and use only letters, digits, `-`, `_` and `.`"
            ),
        ));
    }
    let m = &p.matcher.value;
    if m.source.is_empty() && m.program.is_empty() && m.prefix.is_empty() && m.regex.is_none() {
        return Err(error_at(
            path,
            &p.matcher,
            format!(
                "parser `{id}` has no matcher: give at least one of source, program, prefix or regex, so that it is only offered the messages it is for"
            ),
        ));
    }
    let gate = match &m.regex {
        Some(r) => Some(UserRegex::new(&r.value).map_err(|e| {
            error_at(
                path,
                r,
                format!("parser `{id}`: bad match regex: {}", regex_reason(&e)),
            )
        })?),
        None => None,
    };
    let pattern_only = (m.source.is_empty() && m.program.is_empty() && m.prefix.is_empty())
        .then(|| m.regex.as_ref().map(|r| r.value.clone()))
        .flatten();
    let keys = Keys {
        programs: m.program.iter().map(|s| s.to_ascii_lowercase()).collect(),
        prefixes: m.prefix.clone(),
        sources: m.source.clone(),
        ..Keys::default()
    };
    let method_at = p.method.referenced;
    let (method, known_fields) = match p.method.value {
        MethodSpec::Regex(r) => {
            let regex = UserRegex::new(&r.value).map_err(|e| {
                error_at(
                    path,
                    &r,
                    format!("parser `{id}`: bad regex: {}", regex_reason(&e)),
                )
            })?;
            let names = regex.names().to_vec();
            if names.is_empty() {
                return Err(error_at(
                    path,
                    &r,
                    format!(
                        "parser `{id}`: the regex has no named capture group such as (?P<user>\\S+)"
                    ),
                ));
            }
            (Method::Regex(regex), Some(names))
        }
        MethodSpec::Separator {
            delimiter,
            fields,
            trim,
        } => {
            if delimiter.is_empty() {
                return Err(located(
                    path,
                    &method_at,
                    format!("parser `{id}`: the separator's delimiter is empty"),
                ));
            }
            let names = fields
                .iter()
                .filter(|f| !f.is_empty() && f.as_str() != "_")
                .cloned()
                .collect();
            (
                Method::Separator {
                    delimiter,
                    fields,
                    trim,
                },
                Some(names),
            )
        }
        MethodSpec::Kv { pair, assign } => {
            if pair.is_empty() || assign.is_empty() {
                return Err(located(
                    path,
                    &method_at,
                    format!("parser `{id}`: kv needs a non-empty pair and assign delimiter"),
                ));
            }
            (Method::Kv { pair, assign }, None)
        }
        MethodSpec::Json {} => (Method::Json, None),
    };
    let class = match &p.class {
        None => EventClass::Base,
        Some(c) => serde_json::from_value::<EventClass>(Value::String(c.value.clone())).map_err(|_| {
            error_at(
                path,
                c,
                format!("parser `{id}`: unknown class `{}`; use an OCSF class name such as authentication, process_activity, network_activity, http_activity, api_activity or base", c.value),
            )
        })?,
    };
    let mut map = Vec::with_capacity(p.map.len());
    for (field, spec) in p.map {
        let spec_at = spec.referenced;
        if !is_settable(&field) {
            let hint = suggest(&field)
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            return Err(error_at(
                path,
                &spec,
                format!("parser `{id}`: `{field}` is not an event field a parser may set{hint}"),
            ));
        }
        let mapping = match spec.value {
            MapSpec::Template(t) => Mapping::Template(parse_template(&t).map_err(|reason| {
                located(
                    path,
                    &spec_at,
                    format!("parser `{id}`, field `{field}`: {reason}"),
                )
            })?),
            MapSpec::Lookup {
                from,
                values,
                default,
            } => Mapping::Lookup {
                from,
                values,
                default,
            },
        };
        if let Some(known) = &known_fields {
            for name in mapping.references() {
                if !known.iter().any(|k| k == name) {
                    return Err(located(
                        path,
                        &spec_at,
                        format!(
                            "parser `{id}`, field `{field}`: `{name}` is not extracted by the method (it extracts: {})",
                            known.join(", ")
                        ),
                    ));
                }
            }
        }
        map.push((field, mapping));
    }
    Ok(UserParser {
        id,
        gate,
        method,
        class,
        activity_id: p.activity_id,
        log_kind: p.log_kind,
        map,
        keys,
        pattern_only,
    })
}

impl Mapping {
    fn references(&self) -> Vec<&str> {
        match self {
            Mapping::Template(pieces) => pieces
                .iter()
                .filter_map(|p| match p {
                    Piece::Field(f) => Some(f.as_str()),
                    Piece::Literal(_) => None,
                })
                .collect(),
            Mapping::Lookup { from, .. } => vec![from.as_str()],
        }
    }
}

fn parse_template(text: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                literal.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                literal.push('}');
            }
            '{' => {
                let mut name = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(c) => name.push(c),
                        None => return Err(format!("unclosed `{{` in template `{text}`")),
                    }
                }
                if name.is_empty() {
                    return Err(format!("empty placeholder `{{}}` in template `{text}`"));
                }
                if !literal.is_empty() {
                    pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                }
                pieces.push(Piece::Field(name));
            }
            '}' => {
                return Err(format!(
                    "unmatched `}}` in template `{text}` (write `}}}}` for a literal brace)"
                ));
            }
            c => literal.push(c),
        }
    }
    if !literal.is_empty() {
        pieces.push(Piece::Literal(literal));
    }
    Ok(pieces)
}

fn is_settable(field: &str) -> bool {
    SETTABLE_FIELDS.contains(&field)
        || field.strip_prefix("vendor.").is_some_and(|r| !r.is_empty())
        || field
            .strip_prefix("unmapped.")
            .is_some_and(|r| !r.is_empty())
}

fn suggest(field: &str) -> Option<&'static str> {
    SETTABLE_FIELDS
        .iter()
        .map(|f| (crate::registry::edit_distance(field, f), *f))
        .filter(|(d, _)| *d <= 3)
        .min()
        .map(|(_, f)| f)
}

type Fields<'t> = Vec<(std::borrow::Cow<'t, str>, std::borrow::Cow<'t, str>)>;

impl UserParser {
    fn extract<'a>(&'a self, text: &'a str) -> Option<Fields<'a>> {
        match &self.method {
            Method::Regex(regex) => Some(
                regex
                    .captures(text)?
                    .into_iter()
                    .map(|(name, value)| (name.into(), value.into()))
                    .collect(),
            ),
            Method::Separator {
                delimiter,
                fields,
                trim,
            } => {
                let values: Vec<&str> = text.split(delimiter.as_str()).collect();
                if values.len() < fields.len() {
                    return None;
                }
                Some(
                    fields
                        .iter()
                        .zip(values)
                        .filter(|(name, _)| !name.is_empty() && name.as_str() != "_")
                        .map(|(name, v)| {
                            let v = if *trim { v.trim() } else { v };
                            (name.as_str().into(), v.into())
                        })
                        .collect(),
                )
            }
            Method::Kv { pair, assign } => {
                let mut out = Fields::new();
                for item in split_quoted(text, pair) {
                    let Some((k, v)) = item.split_once(assign.as_str()) else {
                        continue;
                    };
                    let k = k.trim();
                    if k.is_empty() || out.len() >= MAX_FIELDS {
                        continue;
                    }
                    out.push((k.into(), unquote(v.trim()).into()));
                }
                (!out.is_empty()).then_some(out)
            }
            Method::Json => {
                let value: Value = serde_json::from_str(text).ok()?;
                let Value::Object(map) = value else {
                    return None;
                };
                let mut out = Fields::new();
                flatten("", &Value::Object(map), 0, &mut out);
                Some(out)
            }
        }
    }
}

fn flatten(prefix: &str, value: &Value, depth: usize, out: &mut Fields<'_>) {
    if out.len() >= MAX_FIELDS {
        return;
    }
    match value {
        Value::Object(map) if depth < 8 => {
            for (k, v) in map {
                let name = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&name, v, depth + 1, out);
            }
        }
        Value::String(s) => out.push((prefix.to_owned().into(), s.clone().into())),
        Value::Null => {}
        other => out.push((prefix.to_owned().into(), other.to_string().into())),
    }
}

/// Splits on `delimiter` outside double quotes.
fn split_quoted<'t>(text: &'t str, delimiter: &str) -> Vec<&'t str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut in_quotes = false;
    let mut i = 0;
    let bytes = text.as_bytes();
    while i < bytes.len() {
        if bytes.get(i) == Some(&b'"') {
            in_quotes = !in_quotes;
        } else if !in_quotes
            && text
                .get(i..)
                .is_some_and(|rest| rest.starts_with(delimiter))
        {
            if let Some(item) = text.get(start..i)
                && !item.is_empty()
            {
                out.push(item);
            }
            i += delimiter.len();
            start = i;
            continue;
        }
        i += 1;
    }
    if let Some(item) = text.get(start..)
        && !item.is_empty()
    {
        out.push(item);
    }
    out
}

fn unquote(v: &str) -> &str {
    v.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(v)
}

fn lookup<'a>(fields: &'a Fields<'_>, name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k.as_ref() == name)
        .map(|(_, v)| v.as_ref())
}

impl TextParser for UserParser {
    fn id(&self) -> &str {
        &self.id
    }

    fn parse(&self, message: &Message<'_>, event: &mut Event) -> bool {
        if let Some(gate) = &self.gate
            && !gate.is_match(message.text)
        {
            return false;
        }
        let Some(fields) = self.extract(message.text) else {
            return false;
        };
        event.set_parsed(&self.id, self.class, self.activity_id);
        if let Some(kind) = self.log_kind {
            event.log_kind = kind;
        }
        let mut used: Vec<&str> = Vec::new();
        for (target, mapping) in &self.map {
            let value = match mapping {
                Mapping::Template(pieces) => {
                    let mut out = String::new();
                    let mut complete = true;
                    for piece in pieces {
                        match piece {
                            Piece::Literal(l) => out.push_str(l),
                            Piece::Field(f) => match lookup(&fields, f) {
                                Some(v) => {
                                    used.push(f);
                                    out.push_str(v);
                                }
                                None => complete = false,
                            },
                        }
                    }
                    complete.then_some(out)
                }
                Mapping::Lookup {
                    from,
                    values,
                    default,
                } => {
                    used.push(from);
                    lookup(&fields, from)
                        .and_then(|v| values.get(v).cloned())
                        .or_else(|| default.clone())
                }
            };
            if let Some(value) = value.filter(|v| !v.is_empty() && v != "-") {
                set_field(event, target, value, message);
            }
        }
        for (name, value) in &fields {
            if !used.contains(&name.as_ref()) {
                event
                    .vendor
                    .insert(name.to_string(), Value::String(value.to_string()));
            }
        }
        true
    }
}

/// Sets one event field from text; a value that does not fit the field's type is kept in
/// `unmapped` under `<path>.invalid` instead.
fn set_field(event: &mut Event, path: &str, value: String, message: &Message<'_>) {
    let result = match path {
        "message" => some(&mut event.message, value),
        "activity" => some(&mut event.activity, value),
        "status_detail" => some(&mut event.status_detail, value),
        "target" => some(&mut event.target, value),
        "attack_type" => some(&mut event.attack_type, value),
        "feature" => some(&mut event.feature, value),
        "file" => some(&mut event.file, value),
        "query" => some(&mut event.query, value),
        "severity" => typed(value, parse_enum::<Severity>, |s| event.severity = Some(s)),
        "status" => typed(value, parse_enum::<Status>, |s| event.status = Some(s)),
        "action" => typed(value, parse_enum::<Action>, |a| event.action = Some(a)),
        "time" => typed(
            value,
            |v| parse_time(v, message),
            |(t, status)| {
                event.time = t;
                event.time_status = status;
            },
        ),
        "user.name" => some(&mut event.target_user().name, value),
        "user.uid" => some(&mut event.target_user().uid, value),
        "user.domain" => some(&mut event.target_user().domain, value),
        "actor.user.name" => some(&mut event.actor_user().name, value),
        "actor.user.uid" => some(&mut event.actor_user().uid, value),
        "actor.user.domain" => some(&mut event.actor_user().domain, value),
        "actor.process.name" => some(&mut event.actor_process().name, value),
        "actor.process.cmd_line" => some(&mut event.actor_process().cmd_line, value),
        "actor.process.path" => some(&mut event.actor_process().path, value),
        "actor.process.pid" => typed(value, number, |n| event.actor_process().pid = Some(n)),
        "src_endpoint.ip" => some(&mut event.src().ip, value),
        "src_endpoint.hostname" => some(&mut event.src().hostname, value),
        "src_endpoint.port" => typed(value, number, |n| event.src().port = Some(n)),
        "dst_endpoint.ip" => some(&mut event.dst().ip, value),
        "dst_endpoint.hostname" => some(&mut event.dst().hostname, value),
        "dst_endpoint.port" => typed(value, number, |n| event.dst().port = Some(n)),
        "device.hostname" => some(
            &mut event.device.get_or_insert_with(Default::default).hostname,
            value,
        ),
        "device.ip" => some(
            &mut event.device.get_or_insert_with(Default::default).ip,
            value,
        ),
        "http.method" => some(&mut event.http_mut().method, value),
        "http.url" => some(&mut event.http_mut().url, value),
        "http.user_agent" => some(&mut event.http_mut().user_agent, value),
        "http.referrer" => some(&mut event.http_mut().referrer, value),
        "http.status_code" => typed(value, number, |n| event.http_mut().status_code = Some(n)),
        "http.response_bytes" => {
            typed(value, number, |n| event.http_mut().response_bytes = Some(n))
        }
        "connection.protocol" => some(
            &mut event
                .connection
                .get_or_insert_with(Default::default)
                .protocol,
            value.to_ascii_lowercase(),
        ),
        "connection.bytes" => typed(value, number, |n| {
            event.connection.get_or_insert_with(Default::default).bytes = Some(n)
        }),
        "detection.rule_uid" => some(&mut event.detection_mut().rule_uid, value),
        "detection.title" => some(&mut event.detection_mut().title, value),
        "detection.category" => some(&mut event.detection_mut().category, value),
        "product.vendor_name" => some(
            &mut event
                .product
                .get_or_insert_with(Default::default)
                .vendor_name,
            value,
        ),
        "product.name" => some(
            &mut event.product.get_or_insert_with(Default::default).name,
            value,
        ),
        "product.version" => some(
            &mut event.product.get_or_insert_with(Default::default).version,
            value,
        ),
        other => {
            if let Some(name) = other.strip_prefix("vendor.") {
                event.vendor.insert(name.to_owned(), Value::String(value));
            } else if let Some(name) = other.strip_prefix("unmapped.") {
                event.unmapped.insert(name.to_owned(), Value::String(value));
            }
            Ok(())
        }
    };
    if let Err(value) = result {
        event
            .unmapped
            .insert(format!("{path}.invalid"), Value::String(value));
    }
}

fn some(slot: &mut Option<String>, value: String) -> Result<(), String> {
    *slot = Some(value);
    Ok(())
}

/// Converts `value` with `convert` and hands the result to `set`; gives the text back when it
/// does not convert.
fn typed<T>(
    value: String,
    convert: impl FnOnce(&str) -> Option<T>,
    set: impl FnOnce(T),
) -> Result<(), String> {
    match convert(&value) {
        Some(v) => {
            set(v);
            Ok(())
        }
        None => Err(value),
    }
}

fn number<T: std::str::FromStr>(value: &str) -> Option<T> {
    value.trim().parse().ok()
}

fn parse_enum<T: serde::de::DeserializeOwned>(value: &str) -> Option<T> {
    serde_json::from_value(Value::String(value.trim().to_ascii_lowercase())).ok()
}

/// RFC 3339 (stated), `YYYY-MM-DD HH:MM:SS[.f]` in the source's zone (inferred), or Unix
/// seconds / milliseconds (stated).
fn parse_time(value: &str, message: &Message<'_>) -> Option<(jiff::Timestamp, TimeStatus)> {
    let value = value.trim();
    if let Ok(t) = value.parse::<jiff::Timestamp>() {
        return Some((t, TimeStatus::Stated));
    }
    if let Ok(dt) = value.replacen(' ', "T", 1).parse::<jiff::civil::DateTime>() {
        let zoned = dt
            .to_zoned_datetime(message.context.time_zone.clone())
            .ok()?;
        return Some((zoned.timestamp(), TimeStatus::Inferred));
    }
    let n: i64 = value.parse().ok()?;
    let t = if n.unsigned_abs() >= 100_000_000_000 {
        jiff::Timestamp::from_millisecond(n).ok()?
    } else {
        jiff::Timestamp::from_second(n).ok()?
    };
    Some((t, TimeStatus::Stated))
}

#[cfg(test)]
mod tests;
