//! Alerts raised elsewhere: Alertmanager's webhook (version 4) and Grafana's (version 1) send one
//! notification per group (`groupKey`) holding the group's alerts. bellhop keeps each group and
//! gives it one post, edited as its alerts fire and resolve.

use crate::post::Ping;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The longest group key, fingerprint, or label text kept.
const MAX_KEY: usize = 1_024;
const MAX_TEXT: usize = 1_000;
/// Alerts of one group kept (a notification may carry more; they are counted, not listed).
pub const MAX_ALERTS: usize = 100;

/// Where a notification came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Alertmanager,
    Grafana,
}

impl Source {
    pub fn key(self) -> &'static str {
        match self {
            Source::Alertmanager => "alertmanager",
            Source::Grafana => "grafana",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Source::Alertmanager => "Alertmanager",
            Source::Grafana => "Grafana",
        }
    }

    fn version(self) -> &'static str {
        match self {
            Source::Alertmanager => "4",
            Source::Grafana => "1",
        }
    }
}

/// How urgent an alert is, from its `severity` label: who is pinged depends on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Info,
    Warning,
    Critical,
}

impl Level {
    pub const ALL: [Level; 3] = [Level::Critical, Level::Warning, Level::Info];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Critical => "critical",
            Level::Warning => "warning",
            Level::Info => "info",
        }
    }

    pub fn from_key(key: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.as_str() == key)
    }
}

/// How webhook alerts are judged and who hears of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookSettings {
    /// The label that holds the severity (`severity`).
    pub severity_label: String,
    /// Label values and the level each means; a value not listed (or no label) is a warning.
    pub severities: BTreeMap<String, Level>,
    /// Who is pinged for a group at each level; never anyone for info.
    pub pings: BTreeMap<Level, Vec<Ping>>,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        let severities = [("critical", Level::Critical), ("warning", Level::Warning), ("info", Level::Info)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        let pings = BTreeMap::from([(Level::Critical, vec![crate::post::Ping::role("on-call")]), (Level::Warning, Vec::new())]);
        WebhookSettings { severity_label: "severity".into(), severities, pings }
    }
}

impl WebhookSettings {
    pub fn level(&self, alert: &WebhookAlert) -> Level {
        let value = alert.labels.get(&self.severity_label).map(|v| v.trim().to_lowercase());
        value.and_then(|v| self.severities.get(&v).copied()).unwrap_or(Level::Warning)
    }

    /// The severity as a post shows it: the level, and the sender's own value when it differs
    /// (`sev1 → critical`), so nobody wonders which label bellhop read.
    pub fn shown(&self, alert: &WebhookAlert) -> String {
        let level = self.level(alert).as_str();
        match alert.labels.get(&self.severity_label).map(|v| v.trim()) {
            Some(raw) if !raw.is_empty() && !raw.eq_ignore_ascii_case(level) => {
                let raw: String = raw.chars().filter(|c| !c.is_control()).take(40).collect();
                format!("{raw} → {level}")
            }
            _ => level.to_string(),
        }
    }

    /// The highest level among the group's firing alerts.
    pub fn group_level(&self, group: &GroupFigures) -> Option<Level> {
        group.alerts.iter().filter(|a| a.firing).map(|a| self.level(a)).max()
    }

    pub fn pings(&self, level: Level) -> Vec<Ping> {
        match level {
            Level::Info => Vec::new(),
            level => self.pings.get(&level).cloned().unwrap_or_default(),
        }
    }
}

/// One alert of a group, as bellhop keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookAlert {
    /// The sender's identity of the alert within the group.
    pub fingerprint: String,
    pub firing: bool,
    /// The `alertname` label.
    pub name: String,
    pub summary: String,
    pub description: String,
    pub starts_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<DateTime<Utc>>,
    /// Where to look: Grafana's panel or dashboard, else the generator (Prometheus' graph).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    pub labels: BTreeMap<String, String>,
}

/// One notification: a group's alerts as its sender sees them now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    pub source: Source,
    pub group_key: String,
    pub receiver: String,
    pub common_labels: BTreeMap<String, String>,
    pub external_url: String,
    /// Alerts the sender left out of the notification (Alertmanager's `max_alerts`).
    pub truncated: u64,
    pub alerts: Vec<WebhookAlert>,
}

/// A group as its post shows it: every alert kept, firing or resolved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupFigures {
    pub source: Source,
    pub group_key: String,
    pub receiver: String,
    pub common_labels: BTreeMap<String, String>,
    pub external_url: String,
    pub truncated: u64,
    pub alerts: Vec<WebhookAlert>,
}

impl GroupFigures {
    /// "HighErrorRate" or "HighErrorRate and 2 more".
    pub fn name(&self) -> String {
        if let Some(name) = self.common_labels.get("alertname") {
            return name.clone();
        }
        let mut names: Vec<&str> = self.alerts.iter().map(|a| a.name.as_str()).collect();
        names.sort();
        names.dedup();
        match names.as_slice() {
            [] => self.receiver.clone(),
            [one] => one.to_string(),
            [first, rest @ ..] => format!("{first} and {} more", rest.len()),
        }
    }

    pub fn firing(&self) -> impl Iterator<Item = &WebhookAlert> {
        self.alerts.iter().filter(|a| a.firing)
    }

    /// When the earliest alert still firing began (or the earliest alert, when none fires).
    pub fn since(&self) -> DateTime<Utc> {
        let firing = self.firing().map(|a| a.starts_at).min();
        firing.or_else(|| self.alerts.iter().map(|a| a.starts_at).min()).unwrap_or_default()
    }

    /// How long the group fired, by the sender's own times: from the earliest start to the
    /// latest end among this episode's alerts, those firing on the post before (`before`) or
    /// ending after `opened`, when bellhop posted the group; older ones belong to an earlier
    /// episode. None when the sender gave no end times.
    pub fn lasted(&self, opened: DateTime<Utc>, before: &[WebhookAlert]) -> Option<chrono::Duration> {
        let was_firing = |a: &WebhookAlert| before.iter().any(|b| b.fingerprint == a.fingerprint && b.firing);
        let episode =
            || self.alerts.iter().filter(|a| a.ends_at.is_some_and(|end| end >= opened) || (a.ends_at.is_some() && was_firing(a)));
        let start = episode().map(|a| a.starts_at).min()?;
        let end = episode().filter_map(|a| a.ends_at).max()?;
        (end >= start).then(|| end - start)
    }

    pub fn impact(&self) -> String {
        let firing = self.firing().count();
        let resolved = self.alerts.len() - firing;
        let summary = self.firing().chain(self.alerts.iter()).map(|a| a.summary.as_str()).find(|s| !s.is_empty());
        let mut text = format!("{firing} firing, {resolved} resolved in {}", self.source.label());
        if let Some(summary) = summary {
            text.push_str(&format!(": {}", crate::text::ellipsize(summary, 200)));
        }
        text
    }
}

/// Reads a notification; the error is one line saying what is wrong.
pub fn parse(source: Source, body: &[u8]) -> Result<Notification, String> {
    let wire: WireNotification = serde_json::from_slice(body).map_err(|e| format!("invalid webhook JSON: {e}"))?;
    if wire.version != source.version() {
        return Err(format!("expected {} webhook version {}, got version {:?}", source.label(), source.version(), wire.version));
    }
    if wire.alerts.is_empty() {
        return Err("the notification lists no alert; nothing was stored".into());
    }
    let alerts = wire.alerts.into_iter().enumerate().map(|(index, alert)| convert(index, alert)).collect::<Result<Vec<_>, _>>()?;
    // Without a group key (a hand-made payload), each alert is its own group.
    let group_key = match wire.group_key.trim() {
        "" => match alerts.as_slice() {
            [one] => format!("fingerprint:{}", one.fingerprint),
            _ => return Err("`groupKey` is missing; bellhop gives each group one post".into()),
        },
        key if key.len() > MAX_KEY => return Err(format!("`groupKey` is longer than {MAX_KEY} bytes")),
        key => key.to_string(),
    };
    Ok(Notification {
        source,
        group_key,
        receiver: clip(&wire.receiver),
        common_labels: clip_map(wire.common_labels),
        external_url: safe_link(&wire.external_url).unwrap_or_default(),
        truncated: wire.truncated,
        alerts,
    })
}

#[derive(Deserialize)]
struct WireNotification {
    version: String,
    #[serde(rename = "groupKey", default)]
    group_key: String,
    #[serde(default)]
    receiver: String,
    #[serde(rename = "commonLabels", default)]
    common_labels: BTreeMap<String, String>,
    #[serde(rename = "externalURL", default)]
    external_url: String,
    #[serde(rename = "truncatedAlerts", default)]
    truncated: u64,
    alerts: Vec<WireAlert>,
}

#[derive(Deserialize)]
struct WireAlert {
    status: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(rename = "startsAt")]
    starts_at: DateTime<Utc>,
    #[serde(rename = "endsAt", default)]
    ends_at: Option<DateTime<Utc>>,
    fingerprint: String,
    #[serde(rename = "generatorURL", default)]
    generator_url: String,
    #[serde(rename = "panelURL", default)]
    panel_url: String,
    #[serde(rename = "dashboardURL", default)]
    dashboard_url: String,
}

fn convert(index: usize, alert: WireAlert) -> Result<WebhookAlert, String> {
    let firing = match alert.status.as_str() {
        "firing" => true,
        "resolved" => false,
        other => return Err(format!("alert {index}: status must be firing or resolved, not {other:?}")),
    };
    let fingerprint_ok = |f: &str| !f.is_empty() && f.len() <= 128 && f.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !fingerprint_ok(&alert.fingerprint) {
        return Err(format!("alert {index}: fingerprint must be 1 to 128 letters or digits"));
    }
    // Alertmanager zeroes endsAt of a firing alert to year 1.
    let ends_at = alert.ends_at.filter(|end| *end > alert.starts_at);
    let annotation = |key: &str| alert.annotations.get(key).map(|v| clip(v)).unwrap_or_default();
    let link = [&alert.panel_url, &alert.dashboard_url, &alert.generator_url].into_iter().find_map(|u| safe_link(u));
    Ok(WebhookAlert {
        name: alert.labels.get("alertname").map(|n| clip(n)).unwrap_or_else(|| "unnamed alert".into()),
        summary: annotation("summary"),
        description: annotation("description"),
        fingerprint: alert.fingerprint,
        firing,
        starts_at: alert.starts_at,
        ends_at,
        link,
        labels: clip_map(alert.labels),
    })
}

/// A link that a post may show: http(s) only, so a `javascript:` text never becomes a link.
fn safe_link(url: &str) -> Option<String> {
    let url = url.trim();
    let parsed = reqwest::Url::parse(url).ok()?;
    (matches!(parsed.scheme(), "http" | "https") && url.len() <= MAX_TEXT).then(|| url.to_string())
}

fn clip(text: &str) -> String {
    crate::text::ellipsize(text.trim(), MAX_TEXT)
}

fn clip_map(map: BTreeMap<String, String>) -> BTreeMap<String, String> {
    map.into_iter().take(50).map(|(k, v)| (clip(&k), clip(&v))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"version":"4","groupKey":"{}:{alertname=\"HighErrors\"}","status":"firing","receiver":"bellhop",
        "commonLabels":{"alertname":"HighErrors"},"externalURL":"http://alertmanager:9093","truncatedAlerts":0,"alerts":[
        {"status":"firing","labels":{"alertname":"HighErrors","severity":"critical"},"annotations":{"summary":"5xx up"},
         "startsAt":"2026-11-26T12:00:00Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"a1b2",
         "generatorURL":"http://prometheus:9090/graph?g0.expr=up"},
        {"status":"resolved","labels":{"alertname":"HighErrors","severity":"info"},"annotations":{},
         "startsAt":"2026-11-26T11:00:00Z","endsAt":"2026-11-26T11:30:00Z","fingerprint":"c3d4","generatorURL":"javascript:alert(1)"}]}"#;

    #[test]
    fn an_alertmanager_group_reads_with_its_alerts() {
        let n = parse(Source::Alertmanager, BODY).unwrap();
        assert_eq!(n.group_key, "{}:{alertname=\"HighErrors\"}");
        let a = &n.alerts;
        assert_eq!((a[0].firing, a[0].ends_at, a[0].name.as_str(), a[0].summary.as_str()), (true, None, "HighErrors", "5xx up"));
        assert_eq!(a[0].link.as_deref(), Some("http://prometheus:9090/graph?g0.expr=up"));
        assert_eq!((a[1].firing, a[1].ends_at.is_some(), a[1].link.is_none()), (false, true, true), "no javascript: link");
        assert!(parse(Source::Grafana, BODY).unwrap_err().contains("version 1"));
    }

    #[test]
    fn severity_labels_decide_the_level_and_info_pings_nobody() {
        let n = parse(Source::Alertmanager, BODY).unwrap();
        let settings = WebhookSettings::default();
        assert_eq!(settings.level(&n.alerts[0]), Level::Critical);
        assert_eq!(settings.level(&n.alerts[1]), Level::Info);
        let mut unknown = n.alerts[0].clone();
        unknown.labels.insert("severity".into(), "page-me".into());
        assert_eq!(settings.level(&unknown), Level::Warning, "an unknown value is a warning");
        let everyone = WebhookSettings { pings: BTreeMap::from([(Level::Info, vec![crate::post::Ping::role("x")])]), ..settings };
        assert!(everyone.pings(Level::Info).is_empty());
    }

    #[test]
    fn a_post_shows_the_senders_severity_when_it_is_not_a_level() {
        let n = parse(Source::Alertmanager, BODY).unwrap();
        let settings = WebhookSettings {
            severities: BTreeMap::from([("sev1".into(), Level::Critical), ("critical".into(), Level::Critical)]),
            ..WebhookSettings::default()
        };
        assert_eq!(settings.shown(&n.alerts[0]), "critical");
        let mut sev1 = n.alerts[0].clone();
        sev1.labels.insert("severity".into(), " SEV1 ".into());
        assert_eq!(settings.shown(&sev1), "SEV1 → critical");
        sev1.labels.insert("severity".into(), "page\nme".into());
        assert_eq!(settings.shown(&sev1), "pageme → warning", "an unknown value is a warning, shown without control characters");
        sev1.labels.remove("severity");
        assert_eq!(settings.shown(&sev1), "warning");
    }

    /// An Alertmanager group of `alerts`, as the store keeps it.
    fn group_of(group_key: &str, alerts: Vec<WebhookAlert>) -> GroupFigures {
        GroupFigures {
            source: Source::Alertmanager,
            group_key: group_key.to_string(),
            receiver: String::new(),
            common_labels: BTreeMap::new(),
            external_url: String::new(),
            truncated: 0,
            alerts,
        }
    }

    #[test]
    fn a_group_lasted_by_the_senders_times() {
        let mut n = parse(Source::Alertmanager, BODY).unwrap();
        let at = |t: &str| t.parse::<DateTime<Utc>>().unwrap();
        let group = |alerts: Vec<WebhookAlert>| group_of(&n.group_key, alerts);
        let before = n.alerts.clone();
        assert_eq!(
            group(n.alerts.clone()).lasted(at("2026-11-26T12:00:05Z"), &before),
            None,
            "still firing, and the old alert ended before"
        );
        n.alerts[0].firing = false;
        n.alerts[0].ends_at = Some(at("2026-11-26T12:14:00Z"));
        let lasted = group(n.alerts.clone()).lasted(at("2026-11-26T12:00:05Z"), &before);
        assert_eq!(lasted, Some(chrono::Duration::minutes(14)), "from 12:00 to 12:14, the 11:00 episode left out");
        // Posted a day late (bellhop was down): the alert firing on the post still counts.
        let lasted = group(n.alerts.clone()).lasted(at("2026-11-27T12:00:00Z"), &before);
        assert_eq!(lasted, Some(chrono::Duration::minutes(14)), "the alert the post showed firing is this episode's");
        assert_eq!(group(n.alerts.clone()).lasted(at("2026-11-27T12:00:00Z"), &[]), None, "nothing of this episode: bellhop's own clock");
    }

    #[test]
    fn an_escalation_from_a_webhook_alert_leaves_no_blank() {
        let n = parse(Source::Alertmanager, BODY).unwrap();
        let group = group_of(&n.group_key, n.alerts.clone());
        let firing = group.firing().count();
        let vars = crate::alerts::AlertFigures::Webhook(group).p1_vars(None, "2026-11-26T12:30:00Z".parse().unwrap());
        assert_eq!(vars["error_rate"], format!("not measured by bellhop (Alertmanager alert, {firing} firing)"));
        assert_eq!(vars["threshold"], "Alertmanager's rule");
    }

    #[test]
    fn a_group_without_a_key_is_one_alert() {
        let body = br#"{"version":"1","alerts":[{"status":"firing","labels":{},"startsAt":"2026-11-26T12:00:00Z","fingerprint":"ff"}]}"#;
        assert_eq!(parse(Source::Grafana, body).unwrap().group_key, "fingerprint:ff");
        let two = br#"{"version":"1","alerts":[{"status":"firing","startsAt":"2026-11-26T12:00:00Z","fingerprint":"a"},
                      {"status":"firing","startsAt":"2026-11-26T12:00:00Z","fingerprint":"b"}]}"#;
        assert!(parse(Source::Grafana, two).unwrap_err().contains("groupKey"));
    }

    #[test]
    fn a_notification_without_alerts_is_refused() {
        let empty = br#"{"version":"4","groupKey":"g","status":"firing","alerts":[]}"#;
        assert_eq!(parse(Source::Alertmanager, empty).unwrap_err(), "the notification lists no alert; nothing was stored");
    }
}
