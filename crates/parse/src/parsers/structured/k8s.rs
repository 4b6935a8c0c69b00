//! Kubernetes API server audit events (`audit.k8s.io/v1` and `v1beta1` `Event` objects, one per
//! line as the log backend writes them) as OCSF API Activity.
//!
//! The verb decides the activity (`create` 1, `get`/`list`/`watch` 2, `update`/`patch` 3,
//! `delete`/`deletecollection` 4, anything else 99), the response code the outcome, and the
//! authorizer's decision annotation (`authorization.k8s.io/decision`) the action. The target is
//! `k8s:<resource>/<namespace>/<name>[/<subresource>]`, leaving out the parts the request did not
//! name. Field reference: the `audit.k8s.io/v1` API reference (Kubernetes documentation).

use serde_json::{Map, Value};
use shieldwall_core::{
    Event, EventClass,
    event::{Action, Status},
};

use super::common::{self, Budget, at, port, str_at, time_value};
use crate::registry::{JsonParser, Message};

/// The parser id.
pub const ID: &str = "k8s-audit";

/// Kubernetes audit events, registered under the key `auditID`.
#[derive(Debug, Default)]
pub struct K8sAudit;

impl JsonParser for K8sAudit {
    fn id(&self) -> &str {
        ID
    }

    fn parse(&self, o: &mut Map<String, Value>, message: &Message<'_>, event: &mut Event) -> bool {
        let versioned = str_at(o, &["apiVersion"]).is_some_and(|v| v.starts_with("audit.k8s.io/"));
        let shaped = o.contains_key("auditID") && o.contains_key("verb") && o.contains_key("stage");
        if str_at(o, &["kind"]) != Some("Event") || !(versioned || shaped) {
            return false;
        }
        let verb = str_at(o, &["verb"]).unwrap_or("");
        let activity = match verb {
            "create" => 1,
            "get" | "list" | "watch" => 2,
            "update" | "patch" => 3,
            "delete" | "deletecollection" => 4,
            _ => 99,
        };
        event.set_parsed(ID, EventClass::ApiActivity, activity);
        event.set_product("Kubernetes", "kube-apiserver");
        if !verb.is_empty() {
            event.activity = Some(verb.to_owned());
        }
        let time = ["requestReceivedTimestamp", "stageTimestamp", "timestamp"]
            .iter()
            .find_map(|k| o.get(*k).and_then(|t| time_value(t, message.context)));
        common::set_time(event, time);

        if let Some(name) = str_at(o, &["user", "username"]) {
            event.actor_user().name = Some(name.to_owned());
        }
        if let Some(uid) = str_at(o, &["user", "uid"]) {
            event.actor_user().uid = Some(uid.to_owned());
        }
        if let Some(ip) = at(o, &["sourceIPs"])
            .and_then(Value::as_array)
            .and_then(|ips| ips.first())
            .and_then(Value::as_str)
        {
            event.src().ip = Some(ip.to_owned());
        }
        if let Some(ua) = str_at(o, &["userAgent"]) {
            event.http_mut().user_agent = Some(ua.to_owned());
        }
        if let Some(uri) = str_at(o, &["requestURI"]) {
            event.http_mut().url = Some(uri.to_owned());
        }

        let code = at(o, &["responseStatus", "code"]).and_then(port);
        if let Some(code) = code {
            event.http_mut().status_code = Some(code);
            event.status = Some(if (100..400).contains(&code) {
                Status::Success
            } else {
                Status::Failure
            });
        }
        event.status_detail = str_at(o, &["responseStatus", "message"])
            .or_else(|| str_at(o, &["responseStatus", "reason"]))
            .map(str::to_owned);
        event.action =
            str_at(o, &["annotations", "authorization.k8s.io/decision"]).and_then(|d| match d {
                "allow" => Some(Action::Allowed),
                "forbid" => Some(Action::Denied),
                _ => None,
            });

        let resource = str_at(o, &["objectRef", "resource"]);
        let subresource = str_at(o, &["objectRef", "subresource"]);
        if let Some(resource) = resource {
            let mut target = format!("k8s:{resource}");
            for part in [
                str_at(o, &["objectRef", "namespace"]),
                str_at(o, &["objectRef", "name"]),
                subresource,
            ]
            .into_iter()
            .flatten()
            {
                target.push('/');
                target.push_str(part);
            }
            event.target = Some(target);
        }
        event.feature = Some(match (resource, subresource) {
            (Some(r), Some(s)) => format!("{verb} {r}/{s}"),
            (Some(r), None) => format!("{verb} {r}"),
            _ => verb.to_owned(),
        });

        let mut budget = Budget::for_text(message.text);
        common::keep_object(event, &mut budget, o);
        budget.finish(event);
        true
    }
}
