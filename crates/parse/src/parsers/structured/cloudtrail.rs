//! AWS CloudTrail records, one record per message, as OCSF API Activity; console sign-ins
//! (`ConsoleLogin`) as Authentication.
//!
//! CloudTrail delivers files shaped `{"Records": [...]}`; splitting them into records is the
//! importer's job, helped by [`split_records`]. The activity comes from the verb that starts the
//! event name (`Create`, `Describe`, `Update`, `Delete`, ...) or `readOnly`; an `errorCode` makes
//! the outcome a failure. Field reference: the CloudTrail user guide, "CloudTrail record
//! contents" and "AWS Management Console sign-in events".

use serde_json::{Map, Value};
use shieldwall_core::{Event, EventClass, event::Status};

use super::common::{self, Budget, at, str_at, time_value};
use crate::registry::{JsonParser, Message};

/// The parser id.
pub const ID: &str = "aws-cloudtrail";

/// The records of a CloudTrail log file (`{"Records": [...]}`), or `None` when `file` is not one.
pub fn split_records(file: &Value) -> Option<&Vec<Value>> {
    file.as_object()?.get("Records")?.as_array()
}

/// AWS CloudTrail records, registered under the key `eventVersion`.
#[derive(Debug, Default)]
pub struct CloudTrail;

impl JsonParser for CloudTrail {
    fn id(&self) -> &str {
        ID
    }

    fn parse(&self, o: &mut Map<String, Value>, message: &Message<'_>, event: &mut Event) -> bool {
        let (Some(source), Some(name)) = (str_at(o, &["eventSource"]), str_at(o, &["eventName"]))
        else {
            return false;
        };
        if !o.contains_key("eventTime") {
            return false;
        }
        let service = source.strip_suffix(".amazonaws.com").unwrap_or(source);
        let error_code = str_at(o, &["errorCode"]);
        let error_message = str_at(o, &["errorMessage"]);

        let login_result = str_at(o, &["responseElements", "ConsoleLogin"]);
        if name == "ConsoleLogin" {
            event.set_parsed(ID, EventClass::Authentication, 1);
            event.activity = Some("logon".to_owned());
            event.status =
                login_result
                    .and_then(common::status_word)
                    .or(if error_message.is_some() {
                        Some(Status::Failure)
                    } else {
                        None
                    });
        } else {
            let read_only = at(o, &["readOnly"]).and_then(Value::as_bool);
            let activity = match read_only {
                Some(true) => 2,
                _ => activity_of(name),
            };
            event.set_parsed(ID, EventClass::ApiActivity, activity);
            event.activity = Some(name.to_owned());
            event.status = Some(if error_code.is_some() {
                Status::Failure
            } else {
                Status::Success
            });
        }
        event.set_product("AWS", "CloudTrail");
        common::set_time(
            event,
            o.get("eventTime")
                .and_then(|t| time_value(t, message.context)),
        );
        event.feature = Some(name.to_owned());
        event.query = Some(format!("{service}:{name}"));
        event.status_detail = match (error_code, error_message) {
            (Some(c), Some(m)) => Some(format!("{c}: {m}")),
            (Some(c), None) => Some(c.to_owned()),
            (None, Some(m)) => Some(m.to_owned()),
            (None, None) => None,
        };

        // Who: the identity's name, its ARN as the id, its account as the domain.
        let kind = str_at(o, &["userIdentity", "type"]);
        let user_name = str_at(o, &["userIdentity", "userName"])
            .or_else(|| {
                str_at(
                    o,
                    &[
                        "userIdentity",
                        "sessionContext",
                        "sessionIssuer",
                        "userName",
                    ],
                )
            })
            .or(if kind == Some("Root") {
                Some("root")
            } else {
                None
            })
            .or_else(|| str_at(o, &["userIdentity", "principalId"]))
            .or_else(|| str_at(o, &["userIdentity", "invokedBy"]));
        let arn = str_at(o, &["userIdentity", "arn"]);
        let account = str_at(o, &["userIdentity", "accountId"])
            .or_else(|| str_at(o, &["recipientAccountId"]));
        let user = if event.class == EventClass::Authentication {
            event.target = user_name.map(|n| format!("user:{n}"));
            event.target_user()
        } else {
            event.actor_user()
        };
        user.name = user_name.map(str::to_owned);
        user.uid = arn.map(str::to_owned);
        user.domain = account.map(str::to_owned);

        if let Some(source_ip) = str_at(o, &["sourceIPAddress"]) {
            match common::ip(source_ip) {
                Some(ip) => event.src().ip = Some(ip),
                None => event.src().hostname = Some(source_ip.to_owned()),
            }
        }
        if let Some(ua) = str_at(o, &["userAgent"]) {
            event.http_mut().user_agent = Some(ua.to_owned());
        }
        if event.target.is_none() {
            event.target = target(o);
        }

        let mut budget = Budget::for_text(message.text);
        common::keep_object(event, &mut budget, o);
        budget.finish(event);
        true
    }
}

/// OCSF API Activity id from the verb that starts the event name.
fn activity_of(name: &str) -> u8 {
    const CREATE: &[&str] = &[
        "Create", "Add", "Run", "Import", "Register", "Allocate", "Issue", "Generate", "Copy",
        "Upload", "Request", "Invoke", "Publish", "Send", "Assume",
    ];
    const READ: &[&str] = &[
        "Get", "List", "Describe", "Lookup", "Head", "Search", "Check", "Query", "Scan", "Select",
        "Download", "Export", "BatchGet", "View", "Decrypt", "Verify", "Filter",
    ];
    const UPDATE: &[&str] = &[
        "Update",
        "Modify",
        "Put",
        "Set",
        "Change",
        "Attach",
        "Detach",
        "Enable",
        "Disable",
        "Associate",
        "Disassociate",
        "Tag",
        "Untag",
        "Start",
        "Stop",
        "Reboot",
        "Reset",
        "Replace",
        "Rotate",
        "Authorize",
        "Apply",
        "Restore",
        "Encrypt",
        "Reencrypt",
        "Cancel",
        "Accept",
        "Reject",
        "Confirm",
        "Resume",
        "Suspend",
    ];
    const DELETE: &[&str] = &[
        "Delete",
        "Remove",
        "Terminate",
        "Revoke",
        "Deregister",
        "Release",
        "Purge",
        "Destroy",
        "ScheduleKeyDeletion",
    ];
    let starts = |verbs: &[&str]| {
        verbs.iter().any(|v| {
            name.strip_prefix(v).is_some_and(|rest| {
                rest.is_empty() || rest.starts_with(|c: char| c.is_ascii_uppercase())
            })
        })
    };
    if starts(CREATE) {
        1
    } else if starts(READ) {
        2
    } else if starts(UPDATE) {
        3
    } else if starts(DELETE) {
        4
    } else {
        99
    }
}

/// The resource a request names, from the request parameters most services use.
fn target(o: &Map<String, Value>) -> Option<String> {
    let p = o.get("requestParameters")?.as_object()?;
    if let Some(bucket) = str_at(p, &["bucketName"]) {
        return Some(match str_at(p, &["key"]) {
            Some(key) => format!("s3:{bucket}/{key}"),
            None => format!("s3:{bucket}"),
        });
    }
    for (key, kind) in [
        ("userName", "user"),
        ("roleName", "role"),
        ("groupName", "group"),
        ("policyArn", "policy"),
        ("instanceId", "instance"),
        ("functionName", "function"),
        ("keyId", "key"),
        ("secretId", "secret"),
        ("name", "name"),
    ] {
        if let Some(v) = str_at(p, &[key]) {
            return Some(format!("{kind}:{v}"));
        }
    }
    let instance = at(p, &["instancesSet", "items"])
        .and_then(Value::as_array)
        .and_then(|items| items.first())
        .and_then(|i| i.get("instanceId"))
        .and_then(Value::as_str)?;
    Some(format!("instance:{instance}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs_decide_the_activity() {
        assert_eq!(activity_of("CreateUser"), 1);
        assert_eq!(activity_of("DescribeInstances"), 2);
        assert_eq!(activity_of("StopInstances"), 3);
        assert_eq!(activity_of("DeleteTrail"), 4);
        assert_eq!(activity_of("Getaway"), 99);
        assert_eq!(activity_of("ConsoleLogin"), 99);
    }

    #[test]
    fn file_wrapper_is_split() {
        let file: Value = serde_json::from_str(r#"{"Records":[{"a":1},{"b":2}]}"#).unwrap();
        assert_eq!(split_records(&file).map(Vec::len), Some(2));
        assert!(split_records(&Value::Null).is_none());
    }
}
