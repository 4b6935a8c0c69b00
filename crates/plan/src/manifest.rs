//! The deployment manifest: its TOML shape, and its validation into a [`Manifest`] with errors that
//! name file, line, column, what was expected and, for a near-miss id, what was probably meant.
//!
//! Parsing happens in two steps, as ripgrep resolves arguments: serde reads the raw document
//! (unknown keys and wrong types fail there, with their span), then [`validate`] resolves every id
//! against the catalog and collects every semantic error at once, each with its span.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt,
    ops::Range,
};

use jiff::civil::Date;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_spanned::Spanned;
use shieldwall_catalog::{Catalog, DeploymentModel, Owner, ServiceModel, suggest};
use shieldwall_core::{ControlRef, Framework, TenantId};

/// The largest manifest we read: far above any real deployment, small enough to bound memory.
pub const MAX_MANIFEST_BYTES: usize = 16 * 1024 * 1024;

// ---- raw document (the wire format; also the source of the committed JSON schema) ----

/// A Shieldwall deployment manifest: who the organisation is, what it runs in the cloud, who
/// supplies which security capability, and what evidence shows it is in place.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Shieldwall deployment manifest")]
pub struct RawManifest {
    /// The organisation the plan is for.
    pub organisation: RawOrganisation,
    /// Deployment model: private, public, hybrid or community.
    #[schemars(with = "DeploymentSchema")]
    pub deployment: Spanned<String>,
    /// The workloads (service systems) in the cloud; at least one.
    #[serde(default, rename = "workload")]
    pub workloads: Vec<RawWorkload>,
    /// Third-party security service providers under contract.
    #[serde(default, rename = "third_party")]
    pub third_parties: Vec<RawThirdParty>,
    /// Duties a third party took over by contract.
    #[serde(default, rename = "transfer")]
    pub transfers: Vec<RawTransfer>,
    /// Who supplies each capability, and the evidence for it.
    #[serde(default, rename = "assignment")]
    pub assignments: Vec<RawAssignment>,
    /// Statements about individual controls: attestations of process controls, or exclusions.
    #[serde(default, rename = "control")]
    pub controls: Vec<RawControl>,
}

/// The organisation.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawOrganisation {
    /// Its name.
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// The Shieldwall tenant it is (lowercase letters, digits, '-', '_'); `default` if absent.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub tenant: Option<Spanned<String>>,
}

/// A workload: one service system and how it is hosted.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawWorkload {
    /// Unique name.
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// iaas, paas or saas.
    #[schemars(with = "ServiceModelSchema")]
    pub service_model: Spanned<String>,
    /// The cloud service provider.
    #[schemars(with = "String")]
    pub provider: Spanned<String>,
    /// public, internal, confidential or restricted.
    #[schemars(with = "Classification")]
    pub data_classification: Spanned<String>,
    /// Whether it is reachable from the internet.
    pub internet_facing: bool,
}

/// A third-party security service provider (guideline 2.6).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawThirdParty {
    /// Unique name, used as `supplier` and `to`.
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// Kinds of service it supplies (ids from `shieldwall catalog show` service types).
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub services: Vec<Spanned<String>>,
    /// The contract reference.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub contract: Option<Spanned<String>>,
}

/// Duties a third party took over by contract (guideline 2.6).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTransfer {
    /// The third party's name.
    #[schemars(with = "String")]
    pub to: Spanned<String>,
    /// Whose duty it was: customer (default) or csp.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub from: Option<Spanned<String>>,
    /// Capability ids and responsibility ids (R-...) taken over.
    #[schemars(with = "Vec<String>")]
    pub items: Vec<Spanned<String>>,
    /// Workloads it applies to; all if absent.
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub workloads: Option<Spanned<Vec<Spanned<String>>>>,
    /// The contract reference.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub contract: Option<Spanned<String>>,
}

/// Who supplies a capability and how we know it is in place.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAssignment {
    /// The capability id (see `shieldwall catalog capabilities`).
    #[schemars(with = "String")]
    pub capability: Spanned<String>,
    /// `csp`, `customer`, or the name of a declared third party.
    #[schemars(with = "String")]
    pub supplier: Spanned<String>,
    /// The product or service that delivers it.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub product: Option<Spanned<String>>,
    /// Workloads it covers; all if absent.
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub workloads: Option<Spanned<Vec<Spanned<String>>>>,
    /// Where it is described in the guideline's case study or elsewhere (free text).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub note: Option<Spanned<String>>,
    /// The evidence that it is in place.
    #[serde(default)]
    #[schemars(with = "Option<RawEvidence>")]
    pub evidence: Option<Spanned<RawEvidence>>,
}

/// Evidence: either a Shieldwall module that observes the capability, or a person's attestation.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawEvidence {
    /// A Shieldwall module id whose records verify the capability.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub module: Option<Spanned<String>>,
    /// Who attests (name and role).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub attested_by: Option<Spanned<String>>,
    /// When the attestation was made (YYYY-MM-DD).
    #[serde(default)]
    #[schemars(with = "Option<DateSchema>")]
    pub attested_on: Option<Spanned<toml::Value>>,
    /// When the attestation lapses (YYYY-MM-DD).
    #[serde(default)]
    #[schemars(with = "Option<DateSchema>")]
    pub expires: Option<Spanned<toml::Value>>,
}

/// A statement about one control.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawControl {
    /// `FRAMEWORK:ID` (e.g. `ccm-4.0.13:GRC-01`) or a bare CCM v4.0.13 id.
    #[schemars(with = "String")]
    pub id: Spanned<String>,
    /// Who attests that the control is met.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub attested_by: Option<Spanned<String>>,
    /// When (YYYY-MM-DD).
    #[serde(default)]
    #[schemars(with = "Option<DateSchema>")]
    pub attested_on: Option<Spanned<toml::Value>>,
    /// Until when (YYYY-MM-DD).
    #[serde(default)]
    #[schemars(with = "Option<DateSchema>")]
    pub expires: Option<Spanned<toml::Value>>,
    /// Instead of an attestation: why the control does not apply to this organisation.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub not_applicable: Option<Spanned<String>>,
}

/// Deployment model.
#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum DeploymentSchema {
    Private,
    Public,
    Hybrid,
    Community,
}

/// Service model.
#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum ServiceModelSchema {
    Iaas,
    Paas,
    Saas,
}

/// A calendar date, written as a TOML local date (`2026-03-31`) or a string.
#[derive(JsonSchema)]
#[schemars(transparent)]
#[allow(dead_code)]
struct DateSchema(#[schemars(regex(pattern = r"^\d{4}-\d{2}-\d{2}$"))] String);

// ---- validated manifest (the domain type the planner works on) ----

/// How sensitive a workload's data is, least to most.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Classification {
    /// Meant to be public.
    Public,
    /// Internal use.
    Internal,
    /// Confidential.
    Confidential,
    /// Restricted: the most sensitive.
    Restricted,
}

impl Classification {
    const ALL: [(&'static str, Classification); 4] = [
        ("public", Classification::Public),
        ("internal", Classification::Internal),
        ("confidential", Classification::Confidential),
        ("restricted", Classification::Restricted),
    ];

    /// The lowercase key.
    pub fn key(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, c)| *c == self)
            .map(|(k, _)| *k)
            .unwrap_or("public")
    }
}

/// A validated manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The organisation's name.
    pub organisation: String,
    /// The tenant.
    pub tenant: TenantId,
    /// Deployment model.
    pub deployment: DeploymentModel,
    /// Workloads, in manifest order, names unique.
    pub workloads: Vec<Workload>,
    /// Third parties.
    pub third_parties: Vec<ThirdParty>,
    /// Transfers of duties to third parties.
    pub transfers: Vec<Transfer>,
    /// Capability assignments.
    pub assignments: Vec<Assignment>,
    /// Control statements.
    pub controls: Vec<ControlStatement>,
}

/// A validated workload.
#[derive(Debug, Clone)]
pub struct Workload {
    /// Unique name.
    pub name: String,
    /// Service model.
    pub service_model: ServiceModel,
    /// Provider name.
    pub provider: String,
    /// Data classification.
    pub classification: Classification,
    /// Reachable from the internet.
    pub internet_facing: bool,
}

/// A validated third party.
#[derive(Debug, Clone)]
pub struct ThirdParty {
    /// Unique name.
    pub name: String,
    /// Service type ids.
    pub services: Vec<String>,
    /// Contract reference.
    pub contract: Option<String>,
}

/// Whose duty a transfer moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TransferFrom {
    /// The customer's.
    Customer,
    /// The provider's.
    Csp,
}

/// A validated transfer.
#[derive(Debug, Clone)]
pub struct Transfer {
    /// The third party.
    pub to: String,
    /// Whose duty.
    pub from: TransferFrom,
    /// Capability and responsibility ids.
    pub items: Vec<String>,
    /// Workloads, or all.
    pub workloads: Option<Vec<String>>,
    /// Contract.
    pub contract: Option<String>,
}

impl Transfer {
    /// Whether the transfer applies to `workload`.
    pub fn covers(&self, workload: &str) -> bool {
        self.workloads
            .as_ref()
            .is_none_or(|w| w.iter().any(|n| n == workload))
    }

    /// Whether it moves duty `item` on `workload`, whose owner there is `owner`: only a duty the
    /// transferring party holds can move.
    pub fn moves(&self, item: &str, workload: &str, owner: Owner) -> bool {
        let holds = match self.from {
            TransferFrom::Customer => owner.involves_customer(),
            TransferFrom::Csp => owner != Owner::Customer,
        };
        holds && self.covers(workload) && self.items.iter().any(|i| i == item)
    }
}

/// Who supplies a capability.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "name")]
pub enum Supplier {
    /// The cloud service provider.
    Csp,
    /// The customer itself.
    Customer,
    /// A declared third party.
    ThirdParty(String),
}

impl fmt::Display for Supplier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Supplier::Csp => f.write_str("csp"),
            Supplier::Customer => f.write_str("customer"),
            Supplier::ThirdParty(name) => f.write_str(name),
        }
    }
}

/// Declared evidence for an assignment or control.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeclaredEvidence {
    /// Nothing declared.
    None,
    /// A Shieldwall module observes it.
    Module(String),
    /// A person attests it.
    Attestation(Attestation),
}

/// A person's attestation with its validity window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attestation {
    /// Who attests.
    pub by: String,
    /// When.
    pub on: Date,
    /// Until when.
    pub expires: Date,
}

/// A validated assignment.
#[derive(Debug, Clone)]
pub struct Assignment {
    /// Capability id.
    pub capability: String,
    /// Supplier.
    pub supplier: Supplier,
    /// Product or service.
    pub product: Option<String>,
    /// Workloads, or all.
    pub workloads: Option<Vec<String>>,
    /// Free-text note.
    pub note: Option<String>,
    /// Evidence.
    pub evidence: DeclaredEvidence,
}

impl Assignment {
    /// Whether the assignment applies to `workload`.
    pub fn covers(&self, workload: &str) -> bool {
        self.workloads
            .as_ref()
            .is_none_or(|w| w.iter().any(|n| n == workload))
    }
}

/// What the manifest says of one control.
#[derive(Debug, Clone)]
pub enum ControlDecision {
    /// Attested as met.
    Attested(Attestation),
    /// Excluded, with the reason.
    NotApplicable(String),
}

/// A validated control statement.
#[derive(Debug, Clone)]
pub struct ControlStatement {
    /// The control.
    pub control: ControlRef,
    /// What is said of it.
    pub decision: ControlDecision,
}

// ---- errors ----

/// One problem in a manifest, located in the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Byte range in the source.
    pub span: Range<usize>,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// What is wrong.
    pub message: String,
    /// What was expected, when it can be said.
    pub expected: Option<String>,
    /// The likely intended value, for a near miss.
    pub suggestion: Option<String>,
    /// The source line, for display.
    pub source_line: String,
    /// How many characters of the line to underline.
    pub width: usize,
}

/// A manifest that cannot be used, with every problem found.
#[derive(Debug, Clone, thiserror::Error)]
pub struct ManifestError {
    /// The file name, as given.
    pub file: String,
    /// The problems, in source order.
    pub diagnostics: Vec<Diagnostic>,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}:{}:{}: {}", self.file, d.line, d.column, d.message)?;
            if !d.source_line.is_empty() {
                let gutter = d.line.to_string().len();
                write!(
                    f,
                    "\n{:gutter$} |\n{} | {}\n{:gutter$} | {}{}",
                    "",
                    d.line,
                    d.source_line,
                    "",
                    " ".repeat(d.column.saturating_sub(1)),
                    "^".repeat(d.width.max(1)),
                )?;
            }
            if let Some(expected) = &d.expected {
                write!(f, "\n  expected: {expected}")?;
            }
            if let Some(suggestion) = &d.suggestion {
                write!(f, "\n  help: did you mean {suggestion:?}?")?;
            }
        }
        Ok(())
    }
}

struct Reporter<'a> {
    source: &'a str,
    diagnostics: Vec<Diagnostic>,
}

impl<'a> Reporter<'a> {
    fn new(source: &'a str) -> Self {
        Reporter {
            source,
            diagnostics: Vec::new(),
        }
    }

    fn error(
        &mut self,
        span: Range<usize>,
        message: impl Into<String>,
        expected: Option<String>,
        suggestion: Option<String>,
    ) {
        let start = span.start.min(self.source.len());
        let before = self.source.get(..start).unwrap_or_default();
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = self
            .source
            .get(line_start..start)
            .map_or(1, |s| s.chars().count() + 1);
        let source_line = self
            .source
            .get(line_start..)
            .unwrap_or_default()
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned();
        let rest_of_line = source_line.chars().count().saturating_sub(column - 1);
        let spanned = self
            .source
            .get(start..span.end.max(start))
            .map_or(1, |t| t.chars().count());
        let width = spanned.min(rest_of_line).max(1);
        self.diagnostics.push(Diagnostic {
            span,
            line,
            column,
            message: message.into(),
            expected,
            suggestion,
            source_line,
            width,
        });
    }

    /// The 1-based line of a byte offset.
    fn line_of(&self, offset: usize) -> usize {
        self.source
            .get(..offset.min(self.source.len()))
            .map_or(1, |b| b.matches('\n').count() + 1)
    }

    /// Reports an unknown id among `candidates`, with a suggestion.
    fn unknown<I, S>(
        &mut self,
        what: &str,
        value: &Spanned<String>,
        expected: String,
        candidates: I,
    ) where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let suggestion = suggest(value.get_ref(), candidates);
        self.error(
            value.span(),
            format!("unknown {what} {:?}", value.get_ref()),
            Some(expected),
            suggestion,
        );
    }

    fn finish<T>(self, file: &str, value: T) -> Result<T, ManifestError> {
        if self.diagnostics.is_empty() {
            Ok(value)
        } else {
            Err(self.into_error(file))
        }
    }

    fn into_error(mut self, file: &str) -> ManifestError {
        self.diagnostics.sort_by_key(|d| (d.span.start, d.span.end));
        ManifestError {
            file: file.to_owned(),
            diagnostics: self.diagnostics,
        }
    }
}

// ---- parsing and validation ----

/// Parses and validates a manifest. `file` is used in messages only.
pub fn parse(file: &str, source: &str, catalog: &Catalog) -> Result<Manifest, ManifestError> {
    let mut reporter = Reporter::new(source);
    if source.len() > MAX_MANIFEST_BYTES {
        reporter.error(
            0..0,
            format!(
                "manifest is {} bytes; the limit is {MAX_MANIFEST_BYTES}",
                source.len()
            ),
            None,
            None,
        );
        return Err(reporter.into_error(file));
    }
    let raw: RawManifest = match toml::from_str(source) {
        Ok(raw) => raw,
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            let (message, expected) = split_serde_message(e.message());
            reporter.error(span, message, expected, None);
            return Err(reporter.into_error(file));
        }
    };
    let manifest = validate(&raw, catalog, &mut reporter);
    reporter.finish(file, manifest)
}

/// serde's messages put the expectation after a comma ("unknown field `x`, expected one of ...");
/// show it on its own line.
fn split_serde_message(message: &str) -> (String, Option<String>) {
    let message = message.trim();
    match message.split_once(", expected ") {
        Some((what, expected)) => (what.to_owned(), Some(expected.to_owned())),
        None => (message.to_owned(), None),
    }
}

fn validate(raw: &RawManifest, catalog: &Catalog, r: &mut Reporter<'_>) -> Manifest {
    let tenant = match &raw.organisation.tenant {
        None => TenantId::default(),
        Some(t) => TenantId::new(t.get_ref().clone()).unwrap_or_else(|e| {
            r.error(
                t.span(),
                e.to_string(),
                Some("a tenant id such as \"acme-prod\"".into()),
                None,
            );
            TenantId::default()
        }),
    };
    name_text(&raw.organisation.name, "organisation name", r);
    let deployment = deployment_model(&raw.deployment, r);

    if raw.workloads.is_empty() {
        r.error(
            0..0,
            "the manifest declares no workload",
            Some("at least one [[workload]] table".into()),
            None,
        );
    }
    let mut workloads = Vec::new();
    let mut names = BTreeSet::new();
    for w in &raw.workloads {
        let name = w.name.get_ref().clone();
        if !name_text(&w.name, "workload name", r) {
        } else if !names.insert(name.clone()) {
            r.error(
                w.name.span(),
                format!("duplicate workload {name:?}"),
                Some("each workload name once".into()),
                None,
            );
        }
        name_text(&w.provider, "provider", r);
        let service_model = service_model(&w.service_model, r);
        let classification = classification(&w.data_classification, r);
        workloads.push(Workload {
            name,
            service_model,
            provider: w.provider.get_ref().clone(),
            classification,
            internet_facing: w.internet_facing,
        });
    }

    let mut third_parties = Vec::new();
    let mut party_names = BTreeSet::new();
    for t in &raw.third_parties {
        let name = t.name.get_ref().clone();
        if !name_text(&t.name, "third-party name", r) {
        } else if matches!(name.as_str(), "csp" | "customer") {
            r.error(
                t.name.span(),
                format!("{name:?} is reserved for the provider and the customer"),
                Some("another name".into()),
                None,
            );
        } else if !party_names.insert(name.clone()) {
            r.error(
                t.name.span(),
                format!("duplicate third party {name:?}"),
                Some("each third party once".into()),
                None,
            );
        }
        for s in &t.services {
            if catalog.service_type(s.get_ref()).is_none() {
                r.unknown(
                    "service type",
                    s,
                    "a service type id from the catalog".into(),
                    catalog.service_types().iter().map(|x| x.id.as_str()),
                );
            }
        }
        third_parties.push(ThirdParty {
            name,
            services: t.services.iter().map(|s| s.get_ref().clone()).collect(),
            contract: free_text(t.contract.as_ref(), "contract", r),
        });
    }

    // (item, workload) -> the third party it went to, for conflicting transfers and assignments.
    let mut transferred: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut transfers = Vec::new();
    for t in &raw.transfers {
        if !party_names.contains(t.to.get_ref()) {
            r.unknown(
                "third party",
                &t.to,
                "the name of a declared [[third_party]]".into(),
                party_names.iter(),
            );
        }
        let from = match t.from.as_ref().map(|f| f.get_ref().as_str()) {
            None | Some("customer") => TransferFrom::Customer,
            Some("csp") => TransferFrom::Csp,
            Some(_) => {
                if let Some(f) = &t.from {
                    r.unknown("party", f, "customer or csp".into(), ["customer", "csp"]);
                }
                TransferFrom::Customer
            }
        };
        if t.items.is_empty() {
            r.error(
                t.to.span(),
                "transfer lists no items",
                Some("capability or responsibility ids in `items`".into()),
                None,
            );
        }
        let scope = workload_list(t.workloads.as_ref(), &names, r);
        let mut seen_items = BTreeSet::new();
        for item in &t.items {
            if !seen_items.insert(item.get_ref().as_str()) {
                r.error(
                    item.span(),
                    format!("{:?} is listed twice in this transfer", item.get_ref()),
                    Some("each item once".into()),
                    None,
                );
                continue;
            }
            let covered: Vec<&String> = match &scope {
                Some(list) => list.iter().collect(),
                None => names.iter().collect(),
            };
            for w in covered {
                let key = (item.get_ref().clone(), w.clone());
                match transferred.get(&key) {
                    Some(earlier) => {
                        r.error(
                            item.span(),
                            format!("{:?} is already transferred to {earlier:?} for workload {w:?}", item.get_ref()),
                            Some("one third party per duty and workload; narrow one transfer with `workloads`".into()),
                            None,
                        );
                        break;
                    }
                    // An undeclared third party is reported once, above.
                    None if party_names.contains(t.to.get_ref()) => {
                        transferred.insert(key, t.to.get_ref().clone());
                    }
                    None => {}
                }
            }
            if catalog.capability(item.get_ref()).is_none()
                && catalog.responsibility(item.get_ref()).is_none()
            {
                let candidates = catalog
                    .capabilities()
                    .iter()
                    .map(|c| c.id.clone())
                    .chain(catalog.responsibilities().iter().map(|c| c.id.clone()));
                r.unknown(
                    "capability or responsibility",
                    item,
                    "a capability id or a responsibility id (R-...)".into(),
                    candidates,
                );
            }
        }
        transfers.push(Transfer {
            to: t.to.get_ref().clone(),
            from,
            items: t.items.iter().map(|s| s.get_ref().clone()).collect(),
            workloads: scope,
            contract: free_text(t.contract.as_ref(), "contract", r),
        });
    }

    // (capability, workload) -> where the first assignment of it starts.
    let mut assigned: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut assignments = Vec::new();
    for a in &raw.assignments {
        let capability = catalog.capability(a.capability.get_ref());
        if capability.is_none() {
            r.unknown(
                "capability",
                &a.capability,
                "a capability id from `shieldwall catalog capabilities`".into(),
                catalog.capabilities().iter().map(|c| c.id.as_str()),
            );
        }
        let supplier = match a.supplier.get_ref().as_str() {
            "csp" => Supplier::Csp,
            "customer" => Supplier::Customer,
            name if party_names.contains(name) => Supplier::ThirdParty(name.to_owned()),
            _ => {
                let candidates = ["csp".to_owned(), "customer".to_owned()]
                    .into_iter()
                    .chain(party_names.iter().cloned());
                r.unknown(
                    "supplier",
                    &a.supplier,
                    "csp, customer, or the name of a declared [[third_party]]".into(),
                    candidates,
                );
                Supplier::Customer
            }
        };
        let evidence = match &a.evidence {
            None => DeclaredEvidence::None,
            Some(e) => evidence(e, capability.map(|c| c.modules.as_slice()), catalog, r),
        };
        let scope = workload_list(a.workloads.as_ref(), &names, r);
        let cap_id = a.capability.get_ref();
        let covered: Vec<&String> = match &scope {
            Some(list) => list.iter().collect(),
            None => names.iter().collect(),
        };
        for w in covered {
            let key = (cap_id.clone(), w.clone());
            if let Some(first) = assigned.get(&key) {
                r.error(
                    a.capability.span(),
                    format!(
                        "{cap_id:?} is already assigned for workload {w:?} (line {})",
                        r.line_of(*first)
                    ),
                    Some(
                        "one assignment per capability and workload; scope them with `workloads`"
                            .into(),
                    ),
                    None,
                );
                break;
            }
            assigned.insert(key.clone(), a.capability.span().start);
            if let Some(to) = transferred.get(&key)
                && supplier != Supplier::ThirdParty(to.clone())
            {
                r.error(
                    a.supplier.span(),
                    format!("{cap_id:?} was transferred to {to:?} for workload {w:?}, but this assignment names {supplier}"),
                    Some(format!("supplier = {to:?}, or a transfer that leaves out this workload")),
                    None,
                );
                break;
            }
        }
        assignments.push(Assignment {
            capability: cap_id.clone(),
            supplier,
            product: free_text(a.product.as_ref(), "product", r),
            workloads: scope,
            note: free_text(a.note.as_ref(), "note", r),
            evidence,
        });
    }

    let mut controls = Vec::new();
    let mut seen_controls = BTreeSet::new();
    for c in &raw.controls {
        let text = c.id.get_ref();
        let reference = if text.contains(':') {
            text.parse::<ControlRef>().ok()
        } else {
            Some(ControlRef::new(Framework::CcmV4_0_13, text.clone()))
        };
        let Some(reference) = reference.filter(|rf| catalog.control(rf).is_some()) else {
            let candidates = Framework::ALL
                .into_iter()
                .flat_map(|fw| {
                    catalog
                        .controls(fw)
                        .iter()
                        .map(move |x| format!("{}:{}", fw.key(), x.id))
                })
                .chain(
                    catalog
                        .controls(Framework::CcmV4_0_13)
                        .iter()
                        .map(|x| x.id.clone()),
                );
            r.unknown(
                "control",
                &c.id,
                "FRAMEWORK:ID such as ccm-4.0.13:GRC-01, or a bare CCM v4.0.13 id".into(),
                candidates,
            );
            continue;
        };
        if reference.framework == Framework::CcmV4_1_0 {
            r.error(
                c.id.span(),
                "ccm-4.1.0 is for browsing only: plans are computed for ccm-4.0.13 and ccm-3.0.1",
                Some("a ccm-4.0.13 or ccm-3.0.1 control".into()),
                None,
            );
            continue;
        }
        if !seen_controls.insert(reference.clone()) {
            r.error(
                c.id.span(),
                format!("control {reference} is stated twice"),
                Some("one [[control]] table per control".into()),
                None,
            );
        }
        let decision = match (&c.not_applicable, &c.attested_by) {
            (Some(reason), None) if c.attested_on.is_none() && c.expires.is_none() => {
                if reason.get_ref().trim().is_empty() {
                    r.error(
                        reason.span(),
                        "not_applicable needs a reason",
                        Some("why the control does not apply".into()),
                        None,
                    );
                } else {
                    free_text(Some(reason), "reason", r);
                }
                ControlDecision::NotApplicable(reason.get_ref().clone())
            }
            (Some(reason), _) => {
                r.error(
                    reason.span(),
                    "a control is either attested or not applicable, not both",
                    Some(
                        "either not_applicable, or attested_by with attested_on and expires".into(),
                    ),
                    None,
                );
                continue;
            }
            (None, _) => match attestation(
                c.id.span(),
                c.attested_by.as_ref(),
                c.attested_on.as_ref(),
                c.expires.as_ref(),
                r,
            ) {
                Some(a) => ControlDecision::Attested(a),
                None => continue,
            },
        };
        controls.push(ControlStatement {
            control: reference,
            decision,
        });
    }

    Manifest {
        organisation: raw.organisation.name.get_ref().clone(),
        tenant,
        deployment,
        workloads,
        third_parties,
        transfers,
        assignments,
        controls,
    }
}

fn deployment_model(value: &Spanned<String>, r: &mut Reporter<'_>) -> DeploymentModel {
    const ALL: [(&str, DeploymentModel); 4] = [
        ("private", DeploymentModel::Private),
        ("public", DeploymentModel::Public),
        ("hybrid", DeploymentModel::Hybrid),
        ("community", DeploymentModel::Community),
    ];
    lookup(value, &ALL, "deployment model", r).unwrap_or(DeploymentModel::Public)
}

fn service_model(value: &Spanned<String>, r: &mut Reporter<'_>) -> ServiceModel {
    const ALL: [(&str, ServiceModel); 3] = [
        ("iaas", ServiceModel::Iaas),
        ("paas", ServiceModel::Paas),
        ("saas", ServiceModel::Saas),
    ];
    lookup(value, &ALL, "service model", r).unwrap_or(ServiceModel::Iaas)
}

fn classification(value: &Spanned<String>, r: &mut Reporter<'_>) -> Classification {
    lookup(value, &Classification::ALL, "data classification", r).unwrap_or(Classification::Public)
}

fn lookup<T: Copy>(
    value: &Spanned<String>,
    table: &[(&str, T)],
    what: &str,
    r: &mut Reporter<'_>,
) -> Option<T> {
    let found = table
        .iter()
        .find(|(k, _)| *k == value.get_ref())
        .map(|(_, v)| *v);
    if found.is_none() {
        let keys: Vec<&str> = table.iter().map(|(k, _)| *k).collect();
        r.unknown(
            what,
            value,
            format!("one of {}", keys.join(", ")),
            keys.iter().copied(),
        );
    }
    found
}

fn workload_list(
    list: Option<&Spanned<Vec<Spanned<String>>>>,
    names: &BTreeSet<String>,
    r: &mut Reporter<'_>,
) -> Option<Vec<String>> {
    let list = list?;
    if list.get_ref().is_empty() {
        r.error(
            list.span(),
            "empty workload list: this would apply to nothing",
            Some("workload names, or no `workloads` key to mean all workloads".into()),
            None,
        );
    }
    for w in list.get_ref() {
        if !names.contains(w.get_ref()) {
            r.unknown(
                "workload",
                w,
                "the name of a declared [[workload]]".into(),
                names.iter(),
            );
        }
    }
    Some(list.get_ref().iter().map(|w| w.get_ref().clone()).collect())
}

/// Checks a name or reference-able value: not empty, no surrounding spaces, no control
/// characters. Returns whether it is fine.
fn name_text(value: &Spanned<String>, what: &str, r: &mut Reporter<'_>) -> bool {
    let text = value.get_ref();
    let problem = if text.trim().is_empty() {
        Some(format!("{what} is empty"))
    } else if text.trim() != text {
        Some(format!("{what} {text:?} has leading or trailing spaces"))
    } else {
        control_character(text)
            .map(|c| format!("{what} contains the control character U+{:04X}", c as u32))
    };
    match problem {
        Some(message) => {
            r.error(
                value.span(),
                message,
                Some("printable text without surrounding spaces".into()),
                None,
            );
            false
        }
        None => true,
    }
}

/// Checks free text (products, notes, contracts, reasons): no control characters, since they
/// end up in terminals, Markdown and HTML read by other people.
fn free_text(value: Option<&Spanned<String>>, what: &str, r: &mut Reporter<'_>) -> Option<String> {
    let value = value?;
    if let Some(c) = control_character(value.get_ref()) {
        r.error(
            value.span(),
            format!("{what} contains the control character U+{:04X}", c as u32),
            Some("printable text".into()),
            None,
        );
    }
    Some(value.get_ref().clone())
}

fn control_character(text: &str) -> Option<char> {
    text.chars().find(|c| c.is_control())
}

fn evidence(
    e: &Spanned<RawEvidence>,
    modules: Option<&[String]>,
    catalog: &Catalog,
    r: &mut Reporter<'_>,
) -> DeclaredEvidence {
    let raw = e.get_ref();
    let attesting = raw.attested_by.is_some() || raw.attested_on.is_some() || raw.expires.is_some();
    match (&raw.module, attesting) {
        (Some(_), true) => {
            r.error(
                e.span(),
                "evidence is either a module or an attestation, not both",
                Some("`module = \"...\"`, or attested_by, attested_on and expires".into()),
                None,
            );
            DeclaredEvidence::None
        }
        (Some(module), false) => {
            if catalog.module(module.get_ref()).is_none() {
                r.unknown(
                    "module",
                    module,
                    "a Shieldwall module id".into(),
                    catalog.modules().iter().map(|m| m.id.as_str()),
                );
            } else if let Some(allowed) = modules
                && !allowed.iter().any(|m| m == module.get_ref())
            {
                let expected = if allowed.is_empty() {
                    "an attestation: no Shieldwall module observes this capability".to_owned()
                } else {
                    format!(
                        "one of the modules that observe this capability: {}",
                        allowed.join(", ")
                    )
                };
                r.error(
                    module.span(),
                    format!(
                        "module {:?} produces no evidence for this capability",
                        module.get_ref()
                    ),
                    Some(expected),
                    None,
                );
            }
            DeclaredEvidence::Module(module.get_ref().clone())
        }
        (None, true) => attestation(
            e.span(),
            raw.attested_by.as_ref(),
            raw.attested_on.as_ref(),
            raw.expires.as_ref(),
            r,
        )
        .map_or(DeclaredEvidence::None, DeclaredEvidence::Attestation),
        (None, false) => {
            r.error(
                e.span(),
                "evidence is empty",
                Some("`module = \"...\"`, or attested_by, attested_on and expires".into()),
                None,
            );
            DeclaredEvidence::None
        }
    }
}

fn attestation(
    at: Range<usize>,
    by: Option<&Spanned<String>>,
    on: Option<&Spanned<toml::Value>>,
    expires: Option<&Spanned<toml::Value>>,
    r: &mut Reporter<'_>,
) -> Option<Attestation> {
    let mut missing = Vec::new();
    if by.is_none() {
        missing.push("attested_by");
    }
    if on.is_none() {
        missing.push("attested_on");
    }
    if expires.is_none() {
        missing.push("expires");
    }
    if !missing.is_empty() {
        r.error(
            at,
            format!("attestation is missing {}", missing.join(", ")),
            Some("attested_by (who), attested_on and expires (dates)".into()),
            None,
        );
        return None;
    }
    let by = by?;
    name_text(by, "attested_by", r);
    let on_date = date(on?, r);
    let expires_date = date(expires?, r);
    let (on_date, expires_date) = (on_date?, expires_date?);
    if expires_date <= on_date {
        r.error(
            expires?.span(),
            format!("expires ({expires_date}) is not after attested_on ({on_date})"),
            Some("an expiry date after the attestation date".into()),
            None,
        );
        return None;
    }
    Some(Attestation {
        by: by.get_ref().clone(),
        on: on_date,
        expires: expires_date,
    })
}

fn date(value: &Spanned<toml::Value>, r: &mut Reporter<'_>) -> Option<Date> {
    const EXPECTED: &str = "a date such as 2026-03-31";
    let parsed = match value.get_ref() {
        toml::Value::Datetime(dt) => match (dt.date, dt.time, dt.offset) {
            (Some(d), None, None) => Date::new(d.year as i16, d.month as i8, d.day as i8).ok(),
            _ => {
                r.error(
                    value.span(),
                    format!("{dt} is a date-time, not a date"),
                    Some(EXPECTED.into()),
                    None,
                );
                return None;
            }
        },
        toml::Value::String(s) => s.parse::<Date>().ok().filter(|_| s.len() == 10),
        other => {
            r.error(
                value.span(),
                format!("expected a date, found a {}", other.type_str()),
                Some(EXPECTED.into()),
                None,
            );
            return None;
        }
    };
    if parsed.is_none() {
        r.error(
            value.span(),
            format!("{} is not a valid date", value.get_ref()),
            Some(EXPECTED.into()),
            None,
        );
    }
    parsed
}
