//! Alert rules, the sweep's pace and the HTTP server, from configuration.

use super::Reader;
use crate::http::{HttpSettings, DEFAULT_ADDR, DEFAULT_MAX_BODY};
use crate::http::{DEFAULT_BODY_TIMEOUT, DEFAULT_HEADER_TIMEOUT, DEFAULT_MAX_CONNECTIONS};
use bellhop_commands::alerts::{AlertSettings, Level, ManagementSettings, Rule, RuleKind, WebhookSettings};
use bellhop_commands::incident::IncidentSettings;
use bellhop_commands::remediation::RemediationSettings;
use secrecy::SecretString;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

const RULE_KEYS: &[&str] = &["threshold", "window", "for", "min_samples"];
pub(super) const TIMING_KEYS: &[&str] = &["clear_for", "renotify_every", "update_every", "top_tenants"];

impl Reader {
    /// `[alerts]`: timing, and per rule (`[alerts.error_rate]` …) its threshold, window, `for`
    /// and minimum sample count; what is left out keeps the runbook's default.
    pub(super) fn alert_settings(&mut self, table: Option<&toml::Value>) -> AlertSettings {
        let mut settings = AlertSettings::default();
        let Some(table) = table else { return settings };
        let Some(table) = table.as_table() else {
            self.problems.push("`alerts` in the config file must be a table, like [alerts.error_rate]".into());
            return settings;
        };
        for (key, value) in table {
            if let Some(kind) = RuleKind::from_key(key) {
                if let Some(rule) = settings.rules.iter_mut().find(|r| r.kind == kind) {
                    self.rule(kind, value, rule);
                }
                continue;
            }
            let timing = &mut settings.timing;
            let slot = match key.as_str() {
                "clear_for" => &mut timing.clear_for,
                "renotify_every" => &mut timing.renotify_every,
                "update_every" => &mut timing.update_every,
                "top_tenants" => {
                    match value.as_integer().and_then(|n| usize::try_from(n).ok()).filter(|n| *n <= 20) {
                        Some(n) => settings.top_tenants = n,
                        None => self.problems.push("`alerts.top_tenants` in the config file must be a number from 0 to 20".into()),
                    }
                    continue;
                }
                _ => {
                    self.problems.push(format!(
                        "unknown key `alerts.{key}` in the config file; the keys are {} and the rules error_rate, latency, failures, success_rate",
                        TIMING_KEYS.join(", ")
                    ));
                    continue;
                }
            };
            match toml_duration(value).and_then(|d| chrono::Duration::from_std(d).ok()) {
                Some(duration) => *slot = duration,
                None => self.problems.push(format!("`alerts.{key}` in the config file must be a duration like \"5m\"")),
            }
        }
        settings
    }

    fn rule(&mut self, kind: RuleKind, value: &toml::Value, rule: &mut Rule) {
        let name = kind.key();
        let Some(table) = value.as_table() else {
            self.problems.push(format!("`alerts.{name}` in the config file must be a table of {}", RULE_KEYS.join(", ")));
            return;
        };
        for (key, value) in table {
            let ok = match key.as_str() {
                "threshold" => threshold(kind, value).map(|t| rule.threshold = t).is_some(),
                "window" => toml_duration(value).filter(|d| d.as_secs() >= 10 && d.as_secs() <= 3600).map(|d| rule.window = d).is_some(),
                "for" => toml_duration(value).filter(|d| d.as_secs() <= 3600).map(|d| rule.hold_for = d).is_some(),
                "min_samples" => {
                    value.as_integer().and_then(|n| u64::try_from(n).ok()).filter(|n| *n >= 1).map(|n| rule.min_samples = n).is_some()
                }
                _ => {
                    self.problems.push(format!("unknown key `alerts.{name}.{key}`; the keys are {}", RULE_KEYS.join(", ")));
                    continue;
                }
            };
            if !ok {
                self.problems.push(format!("`alerts.{name}.{key}` in the config file: {}", rule_hint(kind, key)));
            }
        }
    }

    /// `BELLHOP_SWEEP_EVERY`: 5 min by default, from 15 s to 1 h.
    /// `SUPABASE_ACCESS_TOKEN` with `SUPABASE_PROJECT_REF`: both or neither.
    pub(super) fn management(&mut self, functions: &[String]) -> Option<(ManagementSettings, Duration)> {
        let every = match self.text("BELLHOP_MANAGEMENT_EVERY") {
            None => Duration::from_secs(60),
            Some(text) => match humantime::parse_duration(&text) {
                // The API allows 120 requests a minute, one per function and poll.
                Ok(every) if every >= Duration::from_secs(30) && every <= Duration::from_secs(3600) => every,
                _ => {
                    self.problem("BELLHOP_MANAGEMENT_EVERY", "must be a duration from 30s to 1h, like 1m");
                    Duration::from_secs(60)
                }
            },
        };
        let base = match self.text("SUPABASE_API_URL") {
            None => bellhop_commands::management_api::DEFAULT_BASE.to_string(),
            Some(text) => api_base(&text).unwrap_or_else(|what| {
                self.problem("SUPABASE_API_URL", what);
                bellhop_commands::management_api::DEFAULT_BASE.to_string()
            }),
        };
        match (self.text("SUPABASE_ACCESS_TOKEN"), self.text("SUPABASE_PROJECT_REF")) {
            (Some(token), Some(project_ref)) if !project_ref.is_empty() && project_ref.chars().all(|c| c.is_ascii_alphanumeric()) => {
                let settings = ManagementSettings { token: SecretString::from(token), project_ref, base, functions: functions.to_vec() };
                Some((settings, every))
            }
            (Some(_), Some(_)) => {
                self.problem("SUPABASE_PROJECT_REF", "must be the project's reference, letters and digits (Project Settings → General)");
                None
            }
            (Some(_), None) => {
                self.problems
                    .push("SUPABASE_ACCESS_TOKEN is set without SUPABASE_PROJECT_REF: the statistics belong to one project".into());
                None
            }
            (None, Some(_)) => {
                self.problems.push("SUPABASE_PROJECT_REF is set without SUPABASE_ACCESS_TOKEN (a personal access token, sbp_…)".into());
                None
            }
            (None, None) => None,
        }
    }

    pub(super) fn sweep_every(&mut self) -> Duration {
        let default = Duration::from_secs(300);
        let Some(text) = self.text("BELLHOP_SWEEP_EVERY") else { return default };
        match humantime::parse_duration(&text) {
            Ok(every) if every >= Duration::from_secs(15) && every <= Duration::from_secs(3600) => every,
            _ => {
                self.problem("BELLHOP_SWEEP_EVERY", "must be a duration from 15s to 1h, like 5m");
                default
            }
        }
    }

    /// `BELLHOP_ALERT_MAX_FUNCTIONS`: 200 by default.
    pub(super) fn alert_max_functions(&mut self) -> usize {
        let Some(text) = self.text("BELLHOP_ALERT_MAX_FUNCTIONS") else { return 200 };
        text.parse::<usize>().ok().filter(|n| (1..=10_000).contains(n)).unwrap_or_else(|| {
            self.problem("BELLHOP_ALERT_MAX_FUNCTIONS", "must be a number of functions from 1 to 10000, like 200");
            200
        })
    }

    /// `BELLHOP_RETENTION`: 30 days by default, at least a day.
    pub(super) fn retention(&mut self) -> Duration {
        let default = Duration::from_secs(30 * 86_400);
        let Some(text) = self.text("BELLHOP_RETENTION") else { return default };
        match humantime::parse_duration(&text) {
            Ok(keep) if keep >= Duration::from_secs(86_400) => keep,
            _ => {
                self.problem("BELLHOP_RETENTION", "must be a duration of at least a day, like 30days");
                default
            }
        }
    }

    /// Webhook alerts: which label holds the severity, what its values mean, and who is pinged
    /// for a critical or a warning group (never anyone for info).
    pub(super) fn webhook_settings(&mut self, incidents: &IncidentSettings, remediation: &RemediationSettings) -> WebhookSettings {
        let mut settings = WebhookSettings::default();
        if let Some(label) = self.text("BELLHOP_WEBHOOK_SEVERITY_LABEL") {
            if label.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                settings.severity_label = label;
            } else {
                self.problem("BELLHOP_WEBHOOK_SEVERITY_LABEL", "must be a label name, letters, digits and _, like severity");
            }
        }
        if let Some(text) = self.text("BELLHOP_WEBHOOK_SEVERITIES") {
            for pair in text.split(',').filter(|p| !p.trim().is_empty()) {
                match pair.split_once('=').and_then(|(value, level)| Some((value.trim().to_lowercase(), Level::from_key(level.trim())?))) {
                    Some((value, level)) if !value.is_empty() => {
                        settings.severities.insert(value, level);
                    }
                    _ => {
                        self.problem(
                            "BELLHOP_WEBHOOK_SEVERITIES",
                            "must be value=level pairs with levels critical, warning or info, like page=critical,ticket=warning",
                        );
                        break;
                    }
                }
            }
        }
        let targets: BTreeMap<&str, Option<bellhop_commands::post::Ping>> = BTreeMap::from([
            ("oncall", incidents.on_call.clone()),
            ("sysadmin", incidents.escalation.first().map(|s| s.ping.clone())),
            ("infrastructure", incidents.escalation.get(1).map(|s| s.ping.clone())),
            ("approvers", Some(remediation.approver_ping.clone())),
        ]);
        for (env, level, default) in
            [("BELLHOP_WEBHOOK_PAGE_CRITICAL", Level::Critical, "oncall"), ("BELLHOP_WEBHOOK_PAGE_WARNING", Level::Warning, "none")]
        {
            let text = self.text(env).unwrap_or_else(|| default.to_string());
            let mut pings = Vec::new();
            for name in text.split(',').map(str::trim).filter(|n| !n.is_empty() && *n != "none") {
                match targets.get(name) {
                    Some(Some(ping)) => pings.push(ping.clone()),
                    Some(None) => {}
                    None => self.problem(env, "must name who is pinged: oncall, sysadmin, infrastructure, approvers, or none"),
                }
            }
            settings.pings.insert(level, pings);
        }
        settings
    }

    pub(super) fn http_settings(&mut self) -> HttpSettings {
        let addr = self.text("BELLHOP_HTTP_ADDR").unwrap_or_else(|| DEFAULT_ADDR.into());
        let addr = addr.parse::<SocketAddr>().unwrap_or_else(|_| {
            self.problem("BELLHOP_HTTP_ADDR", "must be an address and port, like 127.0.0.1:8417 or 0.0.0.0:8417");
            DEFAULT_ADDR.parse().expect("the default address parses")
        });
        let max_body = match self.text("BELLHOP_INGEST_MAX_BODY") {
            None => DEFAULT_MAX_BODY,
            Some(text) => text.parse::<usize>().ok().filter(|n| (1024..=64 << 20).contains(n)).unwrap_or_else(|| {
                self.problem("BELLHOP_INGEST_MAX_BODY", "must be a number of bytes from 1024 to 67108864, like 1048576");
                DEFAULT_MAX_BODY
            }),
        };
        HttpSettings {
            addr,
            token: self.gate_token("BELLHOP_INGEST_TOKEN"),
            metrics_token: self.gate_token("BELLHOP_METRICS_TOKEN"),
            grafana_secret: self.gate_token("BELLHOP_GRAFANA_SECRET"),
            grafana_timestamp_header: self.header_name("BELLHOP_GRAFANA_TIMESTAMP_HEADER"),
            max_body,
            header_timeout: self.duration("BELLHOP_HTTP_HEADER_TIMEOUT", DEFAULT_HEADER_TIMEOUT),
            body_timeout: self.duration("BELLHOP_HTTP_BODY_TIMEOUT", DEFAULT_BODY_TIMEOUT),
            max_connections: self.whole("BELLHOP_HTTP_MAX_CONNECTIONS", 1, 100_000, DEFAULT_MAX_CONNECTIONS as i64) as usize,
        }
    }

    /// A token that opens a door: empty or shorter than 16 characters is refused, so a value
    /// left blank can neither open it nor quietly close it.
    fn gate_token(&mut self, env: &'static str) -> Option<SecretString> {
        let text = self.text(env)?;
        let min = super::MIN_TOKEN_CHARS;
        match text.chars().count() {
            0 => self.problem(
                env,
                &format!("is empty; set a token of at least {min} characters (like `openssl rand -hex 32`), or leave the key out"),
            ),
            n if n < min => {
                self.problem(env, &format!("is shorter than {min} characters; use a longer token (like `openssl rand -hex 32`)"))
            }
            _ => return Some(SecretString::from(text)),
        }
        None
    }

    /// An HTTP header's name, as written.
    fn header_name(&mut self, env: &'static str) -> Option<String> {
        let text = self.text(env)?;
        match axum::http::HeaderName::from_bytes(text.as_bytes()) {
            Ok(_) => Some(text),
            Err(_) => {
                self.problem(env, "must be an HTTP header name, like X-Grafana-Alerting-Timestamp");
                None
            }
        }
    }
}

/// `SUPABASE_API_URL`: a base URL without a path. It receives the access token, so plain
/// `http://` is for this machine only (a local fake, the demo).
fn api_base(text: &str) -> Result<String, &'static str> {
    super::token_base(text, false).map_err(|refused| match refused {
        super::BaseRefused::Shape => "must be a base URL without a path, like https://api.supabase.com",
        super::BaseRefused::PlainHttp => {
            "receives SUPABASE_ACCESS_TOKEN, so plain http:// is only for this machine (127.0.0.1, localhost, [::1]); use https://"
        }
    })
}

fn toml_duration(value: &toml::Value) -> Option<Duration> {
    humantime::parse_duration(value.as_str()?).ok()
}

fn threshold(kind: RuleKind, value: &toml::Value) -> Option<f64> {
    let number = value.as_float().or_else(|| value.as_integer().map(|i| i as f64))?;
    let within = match kind {
        RuleKind::ErrorRate | RuleKind::SuccessRate => (0.0..=100.0).contains(&number),
        RuleKind::Latency | RuleKind::Failures => number.is_finite() && number >= 0.0,
    };
    within.then_some(number)
}

fn rule_hint(kind: RuleKind, key: &str) -> &'static str {
    match (key, kind) {
        ("threshold", RuleKind::ErrorRate | RuleKind::SuccessRate) => "must be a percentage from 0 to 100, like 5",
        ("threshold", RuleKind::Latency) => "must be milliseconds, like 10000",
        ("threshold", RuleKind::Failures) => "must be failures per minute, like 10",
        ("window", _) => "must be a duration from 10s to 1h, like \"5m\"",
        ("for", _) => "must be a duration up to 1h, like \"1m\" (\"0s\" fires at once)",
        _ => "must be a whole number of samples, at least 1",
    }
}
