//! Our Sigma engine and rsigma's (0.23.0) side by side, on the same rules and the same
//! normalised events: for the agreement test (`tests/rsigma_agreement.rs`) and the throughput
//! benchmark (`bench/sigma-throughput.sh`, through the `sigma-bench` binary).
//!
//! rsigma reads our events through a pySigma-style pipeline of its own format that maps Sigma's
//! field names as our `shieldwall-event` pipeline does (`vendor.` in front of a rule's field
//! names, the taxonomy names to normalised fields). Logsources are ours: an (event, rule) pair
//! counts only when our pipeline puts the event in the rule's logsource, so both engines are
//! compared on the rules of the event's logsource.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;
use shieldwall_detect::{LogSource, Pipeline, Prefilter, Rule, RuleIndex, RuleSettings};
use shieldwall_parse::{Normaliser, Received};

/// Our `shieldwall-event` field names, in rsigma's pipeline format.
pub const RSIGMA_PIPELINE: &str = r#"
name: shieldwall-event
priority: 100
transformations:
  - id: taxonomy
    type: field_name_mapping
    mapping:
      Image: [vendor.Image, actor.process.path]
      CommandLine: [vendor.CommandLine, actor.process.cmd_line]
      User: [vendor.User, actor.user.name]
      cs-method: http.method
      c-uri: http.url
      cs-uri: http.url
      cs-uri-query: http.url
      cs-uri-stem: http.url
      c-uri-query: http.url
      c-uri-stem: http.url
      sc-status: http.status_code
      cs-user-agent: http.user_agent
      c-useragent: http.user_agent
      cs-referer: http.referrer
      cs-referrer: http.referrer
      c-ip: src_endpoint.ip
      cs-host: dst_endpoint.hostname
      src_ip: src_endpoint.ip
      dst_ip: dst_endpoint.ip
      src_port: src_endpoint.port
      dst_port: dst_endpoint.port
  - id: vendor
    type: field_name_prefix
    prefix: "vendor."
    field_name_conditions:
      - type: exclude_fields
        fields: ['^(vendor|http|src_endpoint|dst_endpoint|actor)\.']
        match_type: regex
"#;

/// The rule files of the SigmaHQ corpus under `root`: every `rules*` folder except
/// `rules-placeholder`, whose `expand` placeholders need values from a deployment.
pub fn rule_files(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = Vec::new();
    for entry in std::fs::read_dir(root)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_dir() && name.starts_with("rules") && name != "rules-placeholder" {
            stack.push(path);
        }
    }
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|x| x == "yml" || x == "yaml") {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Our engine: the rule index and the `shieldwall-event` pipeline.
pub struct Ours {
    /// The indexed rules.
    pub index: RuleIndex,
    /// The pipeline for our events.
    pub pipeline: Pipeline,
    /// Files that did not load, with the reason.
    pub failures: Vec<String>,
}

impl Ours {
    /// Loads `files`.
    pub fn load(files: &[PathBuf], prefilter: Prefilter) -> Result<Ours, String> {
        let settings = RuleSettings::default();
        let mut rules = Vec::new();
        let mut failures = Vec::new();
        for file in files {
            match Rule::load(file, &settings) {
                Ok(rule) => rules.push(rule),
                Err(e) => failures.push(e.to_string()),
            }
        }
        Ok(Ours {
            index: RuleIndex::new(rules, prefilter).map_err(|e| e.to_string())?,
            pipeline: Pipeline::shieldwall_event().map_err(|e| e.to_string())?,
            failures,
        })
    }

    /// The ids of the rules `event` fires.
    pub fn fired(&self, event: &Value) -> BTreeSet<String> {
        self.index
            .fired(Some(&self.pipeline), event)
            .into_iter()
            .filter_map(|i| self.index.rules().get(i))
            .map(|r| r.id.clone().unwrap_or_else(|| r.title.clone()))
            .collect()
    }
}

/// rsigma's engine, with the rules' logsources kept for the comparison.
pub struct Theirs {
    /// The engine.
    pub engine: rsigma_eval::Engine,
    /// Each compiled rule's logsource, by rule id.
    pub logsources: BTreeMap<String, LogSource>,
    /// Files or rules that did not load, with the reason.
    pub failures: Vec<String>,
}

impl Theirs {
    /// Parses and compiles `files` with `RSIGMA_PIPELINE`.
    pub fn load(files: &[PathBuf]) -> Result<Theirs, String> {
        let pipeline = rsigma_eval::parse_pipeline(RSIGMA_PIPELINE).map_err(|e| e.to_string())?;
        let mut engine = rsigma_eval::Engine::new_with_pipeline(pipeline);
        let mut rules = Vec::new();
        let mut failures = Vec::new();
        for file in files {
            match rsigma_parser::parse_sigma_file(file) {
                Ok(collection) => {
                    failures.extend(
                        collection
                            .errors
                            .iter()
                            .map(|e| format!("{}: {e}", file.display())),
                    );
                    rules.extend(collection.rules);
                }
                Err(e) => failures.push(format!("{}: {e}", file.display())),
            }
        }
        for (i, e) in engine.add_rules(rules.iter()) {
            let title = rules.get(i).map_or("?", |r| r.title.as_str());
            failures.push(format!("{title}: {e}"));
        }
        let logsources = engine
            .rules()
            .iter()
            .filter_map(|r| {
                let ls = &r.logsource;
                Some((
                    r.id.clone()?,
                    LogSource {
                        category: ls.category.clone(),
                        product: ls.product.clone(),
                        service: ls.service.clone(),
                    },
                ))
            })
            .collect();
        Ok(Theirs {
            engine,
            logsources,
            failures,
        })
    }

    /// The results for `event`, skipping rules of another product when `product` is given
    /// (rsigma's conflict pruning).
    pub fn evaluate(
        &self,
        event: &Value,
        product: Option<&str>,
    ) -> Vec<rsigma_eval::EvaluationResult> {
        let event = rsigma_eval::JsonEvent::borrow(event);
        match product {
            None => self.engine.evaluate(&event),
            Some(product) => self.engine.evaluate_pruned(
                &event,
                &rsigma_parser::LogSource {
                    product: Some(product.to_owned()),
                    ..Default::default()
                },
            ),
        }
    }

    /// The ids of the rules `event` fires among those of the event's logsources by `pipeline`.
    pub fn fired(&self, pipeline: &Pipeline, event: &Value) -> BTreeSet<String> {
        self.in_logsource(pipeline, event, &self.evaluate(event, None))
    }

    /// The ids of `results` whose rules have one of `event`'s logsources by `pipeline`.
    pub fn in_logsource(
        &self,
        pipeline: &Pipeline,
        event: &Value,
        results: &[rsigma_eval::EvaluationResult],
    ) -> BTreeSet<String> {
        let sources = pipeline.logsources(event);
        results
            .iter()
            .filter_map(|r| r.header.rule_id.clone())
            .filter(|id| {
                self.logsources
                    .get(id)
                    .is_some_and(|l| sources.iter().any(|s| l.covers(s)))
            })
            .collect()
    }
}

/// The product of `event`'s first logsource that names one (for rsigma's pruning).
pub fn product_of(pipeline: &Pipeline, event: &Value) -> Option<String> {
    pipeline
        .logsources(event)
        .into_iter()
        .find_map(|l| l.product.clone())
}

/// A realistic mixed stream of `count` normalised events: the store benchmark's generated web
/// access, firewall, SSH, sudo, web attack and malware events (60 %), SigmaHQ's Windows
/// regression events (30 %), and the parser tests' auditd, CloudTrail and Kubernetes samples
/// (10 %), cycled and interleaved in a fixed order.
pub fn mixed_events(sigma: &Path, samples: &Path, count: usize) -> Result<Vec<Value>, String> {
    let windows = windows_lines(sigma)?;
    let mut others = Vec::new();
    for file in [
        "text/auditd.log",
        "structured/cloudtrail.jsonl",
        "structured/k8s_audit.jsonl",
    ] {
        let path = samples.join(file);
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        others.extend(
            text.lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_owned),
        );
    }
    if windows.is_empty() || others.is_empty() {
        return Err("no Windows or sample lines to build the stream from".into());
    }
    let registry = shieldwall_parse::parsers::builtin().map_err(|e| e.to_string())?;
    let normaliser = Normaliser::new(Arc::new(registry));
    let mut generated = crate::EventGenerator::new(count as u64, 7)?;
    let mut out = Vec::with_capacity(count);
    let received = jiff::Timestamp::now();
    for i in 0..count {
        let line = match i % 10 {
            0..=5 => {
                let event = generated.next().ok_or("the generator stopped early")?;
                out.push(serde_json::to_value(&event).map_err(|e| e.to_string())?);
                continue;
            }
            6..=8 => windows.get((i / 10 * 3 + i % 10 - 6) % windows.len()),
            _ => others.get(i / 10 % others.len()),
        };
        let line = line.map_or("", String::as_str);
        let key = format!("line:{i}");
        let event = normaliser.normalise(&Received {
            source: "bench",
            received,
            key: &key,
            payload: line.as_bytes(),
        });
        out.push(serde_json::to_value(&event).map_err(|e| e.to_string())?);
    }
    Ok(out)
}

/// SigmaHQ's Windows regression events, one compact JSON object per line.
pub fn windows_lines(sigma: &Path) -> Result<Vec<String>, String> {
    let mut files = Vec::new();
    let mut stack = vec![sigma.join("regression_data")];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in entries {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|x| x == "json") {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut lines = Vec::new();
    for file in files {
        let text =
            std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        for value in serde_json::Deserializer::from_str(&text).into_iter::<Value>() {
            let value = value.map_err(|e| format!("{}: {e}", file.display()))?;
            lines.push(value.to_string());
        }
    }
    Ok(lines)
}
