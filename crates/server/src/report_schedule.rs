//! Scheduled reports as `shieldwall.toml` declares them (`[[report]]`, docs/console.md): a
//! tenant's report, daily or weekly at a time of day in a time zone, mailed as PDF and or HTML
//! through e-mail channels of `[[notify]]`. This module checks a schedule and says when it
//! falls due; `report_mailer` makes and mails the reports.

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};
use shieldwall_core::TenantId;
use shieldwall_notify::{ChannelKind, ChannelSettings};

use crate::reports::{ALL_SECTIONS, Period, SectionKind};

/// How often a report goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Every {
    /// Every day at `at`, covering the 24 hours before (per hour).
    Daily,
    /// Every week on `weekday` at `at`, covering the 7 days before (per day).
    Weekly,
}

/// A day of the week, as the configuration names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Day {
    /// Monday.
    Monday,
    /// Tuesday.
    Tuesday,
    /// Wednesday.
    Wednesday,
    /// Thursday.
    Thursday,
    /// Friday.
    Friday,
    /// Saturday.
    Saturday,
    /// Sunday.
    Sunday,
}

impl Day {
    fn weekday(self) -> Weekday {
        match self {
            Day::Monday => Weekday::Monday,
            Day::Tuesday => Weekday::Tuesday,
            Day::Wednesday => Weekday::Wednesday,
            Day::Thursday => Weekday::Thursday,
            Day::Friday => Weekday::Friday,
            Day::Saturday => Weekday::Saturday,
            Day::Sunday => Weekday::Sunday,
        }
    }
}

/// A rendering mailed as an attachment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// The PDF.
    Pdf,
    /// The self-contained HTML page.
    Html,
}

/// One `[[report]]` table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSchedule {
    /// Unique name: letters, digits, `.`, `-` and `_`; in file names, logs and the audit trail.
    pub name: String,
    /// The tenant reported on.
    pub tenant: String,
    /// `daily` or `weekly`.
    pub every: Every,
    /// The time of day, `HH:MM` in `time_zone`. Default: 06:00.
    #[serde(default = "default_at")]
    pub at: String,
    /// weekly: the day. Default: monday.
    #[serde(default)]
    pub weekday: Option<Day>,
    /// An IANA time zone for `at` and `weekday`. Default: UTC.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Sections from overview, alerts, attacks, compliance. Default: all four.
    #[serde(default)]
    pub sections: Vec<SectionKind>,
    /// `pdf` and or `html`. Default: both.
    #[serde(default = "default_formats")]
    pub formats: Vec<Format>,
    /// Names of `[[notify]]` channels of kind email.
    pub channels: Vec<String>,
}

fn default_at() -> String {
    "06:00".to_owned()
}

fn default_formats() -> Vec<Format> {
    vec![Format::Pdf, Format::Html]
}

/// A schedule checked and ready: its tenant, time, zone, sections and formats resolved.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// The schedule's name.
    pub name: String,
    /// The tenant reported on.
    pub tenant: TenantId,
    /// How often.
    pub every: Every,
    /// Hour and minute of the day.
    pub at: (i8, i8),
    /// weekly: the day.
    pub weekday: Weekday,
    /// The zone of `at` and `weekday`.
    pub time_zone: TimeZone,
    /// The zone's name, as configured.
    pub time_zone_name: String,
    /// Sections, in report order.
    pub sections: Vec<SectionKind>,
    /// Renderings mailed.
    pub formats: Vec<Format>,
    /// The e-mail channels.
    pub channels: Vec<String>,
}

/// The longest schedule name.
const MAX_NAME: usize = 64;

impl ReportSchedule {
    /// Checks the table against the configured channels and resolves it.
    pub fn check(&self, notify: &[ChannelSettings]) -> Result<Schedule, String> {
        let name = &self.name;
        if name.is_empty()
            || name.len() > MAX_NAME
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        {
            return Err(format!(
                "[[report]] name {name:?}: use 1 to {MAX_NAME} letters, digits, '.', '-' or '_'"
            ));
        }
        let error = |reason: String| format!("[[report]] {name:?}: {reason}");
        let tenant = TenantId::new(self.tenant.clone()).map_err(|e| error(e.to_string()))?;
        let at = parse_time_of_day(&self.at).ok_or_else(|| {
            error(format!(
                "at = {:?} is not a time of day as HH:MM (00:00 to 23:59)",
                self.at
            ))
        })?;
        let weekday = match (self.every, self.weekday) {
            (Every::Daily, Some(_)) => {
                return Err(error(
                    "`weekday` applies only to a weekly report (every = \"weekly\")".into(),
                ));
            }
            (_, day) => day.unwrap_or(Day::Monday).weekday(),
        };
        let time_zone_name = self.time_zone.clone().unwrap_or_else(|| "UTC".to_owned());
        let time_zone = TimeZone::get(&time_zone_name).map_err(|_| {
            error(format!(
                "unknown time_zone {time_zone_name:?}; use an IANA name such as UTC or Europe/Berlin"
            ))
        })?;
        let sections = if self.sections.is_empty() {
            ALL_SECTIONS.to_vec()
        } else {
            ALL_SECTIONS
                .into_iter()
                .filter(|s| self.sections.contains(s))
                .collect()
        };
        let mut formats = Vec::new();
        for format in [Format::Pdf, Format::Html] {
            if self.formats.contains(&format) {
                formats.push(format);
            }
        }
        if formats.is_empty() {
            return Err(error("`formats` needs pdf, html or both".into()));
        }
        if self.channels.is_empty() {
            return Err(error(
                "`channels` needs at least one email channel of [[notify]]".into(),
            ));
        }
        let mut channels: Vec<String> = Vec::new();
        for channel in &self.channels {
            let settings = notify.iter().find(|n| &n.name == channel).ok_or_else(|| {
                error(format!(
                    "channel {channel:?} is not a [[notify]] channel of this file"
                ))
            })?;
            if settings.kind != ChannelKind::Email {
                return Err(error(format!(
                    "channel {channel:?} is a {:?} channel; reports go only by email",
                    settings.kind
                )));
            }
            // A channel kept for other tenants' alerts is their mailbox: not for this report.
            if !settings.tenants.is_empty()
                && !settings
                    .tenants
                    .iter()
                    .any(|t| t == &self.tenant || t == "*")
            {
                return Err(error(format!(
                    "channel {channel:?} is for tenants {:?}, not {:?}",
                    settings.tenants, self.tenant
                )));
            }
            if !channels.contains(channel) {
                channels.push(channel.clone());
            }
        }
        Ok(Schedule {
            name: name.clone(),
            tenant,
            every: self.every,
            at,
            weekday,
            time_zone,
            time_zone_name,
            sections,
            formats,
            channels,
        })
    }
}

/// `HH:MM` as hour and minute.
fn parse_time_of_day(text: &str) -> Option<(i8, i8)> {
    let (hour, minute) = text.split_once(':')?;
    if hour.len() != 2 || minute.len() != 2 {
        return None;
    }
    let hour: i8 = hour.parse().ok()?;
    let minute: i8 = minute.parse().ok()?;
    ((0..24).contains(&hour) && (0..60).contains(&minute)).then_some((hour, minute))
}

impl Schedule {
    /// The period each report covers.
    pub fn period(&self) -> Period {
        match self.every {
            Every::Daily => Period::Day,
            Every::Weekly => Period::Week,
        }
    }

    /// The latest time the report fell due at or before `now`. A time of day that a clock
    /// change skips is moved on by the gap (02:30 becomes 03:30); one that it repeats is taken
    /// the first time.
    pub fn latest_due(&self, now: Timestamp) -> Result<Timestamp, jiff::Error> {
        let today = now.to_zoned_datetime(self.time_zone.clone()).date();
        let step = self.step_days();
        let mut day = match self.every {
            Every::Daily => today,
            Every::Weekly => {
                let back = (today.weekday().to_monday_zero_offset()
                    - self.weekday.to_monday_zero_offset())
                .rem_euclid(7);
                today.checked_sub(i64::from(back).days())?
            }
        };
        let mut due = self.due_on(day)?;
        if due > now {
            day = day.checked_sub(step.days())?;
            due = self.due_on(day)?;
        }
        Ok(due)
    }

    /// The due time before `due` (the start of the period a report due at `due` covers).
    pub fn previous_due(&self, due: Timestamp) -> Result<Timestamp, jiff::Error> {
        self.latest_due(due.checked_sub(jiff::SignedDuration::from_secs(1))?)
    }

    /// The first time the report falls due after `now`.
    pub fn next_due(&self, now: Timestamp) -> Result<Timestamp, jiff::Error> {
        let last = self.latest_due(now)?;
        let day = last.to_zoned_datetime(self.time_zone.clone()).date();
        self.due_on(day.checked_add(self.step_days().days())?)
    }

    fn step_days(&self) -> i64 {
        match self.every {
            Every::Daily => 1,
            Every::Weekly => 7,
        }
    }

    fn due_on(&self, day: Date) -> Result<Timestamp, jiff::Error> {
        let (hour, minute) = self.at;
        Ok(day
            .at(hour, minute, 0, 0)
            .to_zoned_datetime(self.time_zone.clone())?
            .timestamp())
    }

    /// How the schedule reads, for people: "daily at 06:00 UTC".
    pub fn describe(&self) -> String {
        let (hour, minute) = self.at;
        let when = format!("{hour:02}:{minute:02} {}", self.time_zone_name);
        match self.every {
            Every::Daily => format!("daily at {when}"),
            Every::Weekly => format!("weekly on {:?} at {when}", self.weekday),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn email(name: &str) -> ChannelSettings {
        toml::from_str(&format!(
            "name = \"{name}\"\nkind = \"email\"\nhost = \"mail.example.com\"\nfrom = \"a@example.com\"\nto = [\"b@example.com\"]"
        ))
        .unwrap()
    }

    fn schedule(extra: &str) -> Result<Schedule, String> {
        let table: ReportSchedule = toml::from_str(&format!(
            "name = \"acme-daily\"\ntenant = \"acme\"\nchannels = [\"soc-mail\"]\n{extra}"
        ))
        .map_err(|e| e.to_string())?;
        let webhook: ChannelSettings = toml::from_str(
            "name = \"hook\"\nkind = \"webhook\"\nurl = \"https://example.com/\"\nsecret_file = \"s\"",
        )
        .unwrap();
        table.check(&[email("soc-mail"), webhook])
    }

    fn t(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn daily_falls_due_at_its_time_of_day() {
        let s = schedule("every = \"daily\"\nat = \"06:30\"").unwrap();
        assert_eq!(
            s.latest_due(t("2026-11-30T06:30:00Z")).unwrap(),
            t("2026-11-30T06:30:00Z")
        );
        assert_eq!(
            s.latest_due(t("2026-11-30T06:29:59Z")).unwrap(),
            t("2026-11-29T06:30:00Z")
        );
        assert_eq!(
            s.next_due(t("2026-11-30T06:30:00Z")).unwrap(),
            t("2026-12-01T06:30:00Z")
        );
        assert_eq!(s.period(), Period::Day);
        assert_eq!(s.describe(), "daily at 06:30 UTC");
    }

    #[test]
    fn weekly_falls_due_on_its_weekday() {
        // 2026-11-30 is a Monday.
        let s = schedule("every = \"weekly\"\nweekday = \"wednesday\"\nat = \"08:00\"").unwrap();
        assert_eq!(
            s.latest_due(t("2026-11-30T12:00:00Z")).unwrap(),
            t("2026-11-25T08:00:00Z")
        );
        assert_eq!(
            s.latest_due(t("2026-12-02T07:59:00Z")).unwrap(),
            t("2026-11-25T08:00:00Z")
        );
        assert_eq!(
            s.latest_due(t("2026-12-02T08:00:00Z")).unwrap(),
            t("2026-12-02T08:00:00Z")
        );
        assert_eq!(
            s.next_due(t("2026-11-30T12:00:00Z")).unwrap(),
            t("2026-12-02T08:00:00Z")
        );
        let monday = schedule("every = \"weekly\"").unwrap();
        assert_eq!(
            monday.latest_due(t("2026-11-30T05:00:00Z")).unwrap(),
            t("2026-11-23T06:00:00Z")
        );
    }

    #[test]
    fn a_time_zone_moves_the_time_of_day_with_its_clock_changes() {
        let s = schedule("every = \"daily\"\ntime_zone = \"Europe/Berlin\"").unwrap();
        // Winter: UTC+1; summer: UTC+2.
        assert_eq!(
            s.latest_due(t("2026-12-01T12:00:00Z")).unwrap(),
            t("2026-12-01T05:00:00Z")
        );
        assert_eq!(
            s.latest_due(t("2026-07-01T12:00:00Z")).unwrap(),
            t("2026-07-01T04:00:00Z")
        );
        // 02:30 does not exist on 2026-03-29 in Berlin: 03:30 CEST, moved on by the gap.
        let gap =
            schedule("every = \"daily\"\nat = \"02:30\"\ntime_zone = \"Europe/Berlin\"").unwrap();
        assert_eq!(
            gap.latest_due(t("2026-03-29T12:00:00Z")).unwrap(),
            t("2026-03-29T01:30:00Z")
        );
    }

    #[test]
    fn a_repeated_time_of_day_counts_once_and_reports_leave_no_gap() {
        // 02:30 happens twice on 2026-10-25 in Berlin (CEST, then CET): only the first counts.
        let fold =
            schedule("every = \"daily\"\nat = \"02:30\"\ntime_zone = \"Europe/Berlin\"").unwrap();
        assert_eq!(
            fold.latest_due(t("2026-10-25T01:45:00Z")).unwrap(),
            t("2026-10-25T00:30:00Z")
        );
        // Each report starts where the previous one was due: 25 hours across the change.
        let berlin = schedule("every = \"daily\"\ntime_zone = \"Europe/Berlin\"").unwrap();
        let due = berlin.latest_due(t("2026-10-25T12:00:00Z")).unwrap();
        assert_eq!(due, t("2026-10-25T05:00:00Z"));
        assert_eq!(berlin.previous_due(due).unwrap(), t("2026-10-24T04:00:00Z"));
        let weekly = schedule("every = \"weekly\"").unwrap();
        assert_eq!(
            weekly.previous_due(t("2026-11-30T06:00:00Z")).unwrap(),
            t("2026-11-23T06:00:00Z")
        );
    }

    #[test]
    fn mistakes_are_refused_with_the_field_named() {
        let refused = |extra: &str, want: &str| {
            let error = schedule(extra).unwrap_err();
            assert!(error.contains(want), "{extra:?}: {error}");
        };
        refused("every = \"daily\"\nat = \"6:00\"", "HH:MM");
        refused("every = \"daily\"\nat = \"24:00\"", "HH:MM");
        refused("every = \"daily\"\nweekday = \"monday\"", "weekly");
        refused(
            "every = \"daily\"\ntime_zone = \"Mars/Olympus\"",
            "time_zone",
        );
        refused("every = \"daily\"\nformats = []", "formats");
        refused("every = \"hourly\"", "unknown variant");
        refused(
            "every = \"daily\"\nsections = [\"gossip\"]",
            "unknown variant",
        );
        refused("every = \"daily\"\ncolour = \"red\"", "unknown field");
        let other: ReportSchedule = toml::from_str(
            "name = \"x\"\ntenant = \"acme\"\nevery = \"daily\"\nchannels = [\"hook\"]",
        )
        .unwrap();
        let webhook: ChannelSettings = toml::from_str(
            "name = \"hook\"\nkind = \"webhook\"\nurl = \"https://example.com/\"\nsecret_file = \"s\"",
        )
        .unwrap();
        assert!(
            other
                .check(&[webhook])
                .unwrap_err()
                .contains("only by email")
        );
        let missing: ReportSchedule = toml::from_str(
            "name = \"x\"\ntenant = \"acme\"\nevery = \"daily\"\nchannels = [\"nobody\"]",
        )
        .unwrap();
        assert!(missing.check(&[]).unwrap_err().contains("not a [[notify]]"));
        // Another tenant's mailbox does not take this tenant's report.
        let mut betas = email("soc-mail");
        betas.tenants = vec!["beta".into()];
        let acme: ReportSchedule = toml::from_str(
            "name = \"x\"\ntenant = \"acme\"\nevery = \"daily\"\nchannels = [\"soc-mail\"]",
        )
        .unwrap();
        assert!(acme.check(&[betas]).unwrap_err().contains("not \"acme\""));
        let bad_name: ReportSchedule = toml::from_str(
            "name = \"a b\"\ntenant = \"acme\"\nevery = \"daily\"\nchannels = [\"soc-mail\"]",
        )
        .unwrap();
        assert!(
            bad_name
                .check(&[email("soc-mail")])
                .unwrap_err()
                .contains("letters")
        );
    }

    #[test]
    fn sections_and_formats_default_to_all_in_report_order() {
        let s = schedule("every = \"daily\"").unwrap();
        assert_eq!(s.sections, ALL_SECTIONS);
        assert_eq!(s.formats, [Format::Pdf, Format::Html]);
        let some = schedule(
            "every = \"daily\"\nsections = [\"compliance\", \"overview\"]\nformats = [\"html\"]",
        )
        .unwrap();
        assert_eq!(
            some.sections,
            [SectionKind::Overview, SectionKind::Compliance]
        );
        assert_eq!(some.formats, [Format::Html]);
    }
}
