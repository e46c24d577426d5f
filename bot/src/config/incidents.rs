//! The runbook's clock and paging chain, from configuration.

use super::Reader;
use bellhop_commands::incident::{EscalationStep, IncidentSettings, Phase, Severity};
use bellhop_commands::post::Ping;
use std::collections::BTreeMap;
use std::time::Duration;

impl Reader {
    pub(super) fn incident_settings(&mut self, phases: Option<&toml::Value>) -> IncidentSettings {
        let defaults = IncidentSettings::default();
        let on_call = Some(self.page("BELLHOP_PAGE_ONCALL", "on-call"));
        let chain = [self.page("BELLHOP_PAGE_SYSADMIN", "sysadmin"), self.page("BELLHOP_PAGE_INFRA", "infrastructure")];
        // Unlike the runbook's pages, the security team has no name to fall back on: unset in
        // both chats, the kickoff says it is not configured rather than ping nobody. Slack maps
        // the page's label to SLACK_PAGE_SECURITY's group.
        let security = match (self.text("DISCORD_SECURITY_ROLE"), self.text("SLACK_PAGE_SECURITY")) {
            (None, None) => None,
            _ => Some(self.page("DISCORD_SECURITY_ROLE", "security")),
        };
        let delays = self.escalation_delays();
        let escalation = chain.into_iter().zip(delays).map(|(ping, after)| EscalationStep { after, ping }).collect();
        let update_every = self.update_every().unwrap_or(defaults.update_every.clone());
        let mut phases_by_severity = defaults.phases.clone();
        if let Some(phases) = phases {
            self.phases(phases, &mut phases_by_severity);
        }
        IncidentSettings { on_call, escalation, update_every, phases: phases_by_severity, security, ..defaults }
    }

    /// `[phases]` in the config file: per severity, the nudges after declaring, replacing the
    /// runbook's defaults for that severity. `P2 = [{ after = "20m", name = "…", what = "…" }]`.
    fn phases(&mut self, table: &toml::Value, phases: &mut BTreeMap<Severity, Vec<Phase>>) {
        const SHAPE: &str = "must list phases like P1 = [{ after = \"15m\", name = \"Common fixes\", what = \"…\" }]";
        let Some(table) = table.as_table() else {
            self.problems.push(format!("`phases` in the config file {SHAPE}"));
            return;
        };
        for (severity, list) in table {
            let Ok(severity) = severity.parse::<Severity>() else {
                self.problems.push(format!("`phases.{severity}` in the config file: the severities are P0, P1, P2, P3"));
                continue;
            };
            let parsed: Option<Vec<Phase>> = list.as_array().and_then(|items| {
                items
                    .iter()
                    .map(|item| {
                        let text = |key: &str| item.get(key).and_then(|v| v.as_str()).map(str::to_string);
                        let after = humantime::parse_duration(&text("after")?).ok().filter(|d| !d.is_zero())?;
                        Some(Phase { after, name: text("name")?, what: text("what").unwrap_or_default() })
                    })
                    .collect()
            });
            match parsed {
                Some(list) => {
                    phases.insert(severity, list);
                }
                None => self.problems.push(format!("`phases.{severity}` in the config file {SHAPE}")),
            }
        }
    }

    /// A role to page: a Discord role id (a number) or a Slack user group id (S0123ABCD), shown
    /// as `label`; or, in the shell, a name.
    pub(super) fn page(&mut self, env: &'static str, label: &str) -> Ping {
        match self.text(env) {
            Some(id) if id.chars().all(|c| c.is_ascii_digit()) && !id.is_empty() => Ping::Role { id, name: label.to_string() },
            Some(id) if super::slack::slack_id(&id, &['S']) => Ping::Role { id, name: label.to_string() },
            Some(name) if !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_') => {
                Ping::Role { id: name.clone(), name }
            }
            Some(_) => {
                self.problem(env, "must be a Discord role id (a number; Server Settings → Roles → Copy Role ID)");
                bellhop_commands::post::Ping::role(label)
            }
            None => bellhop_commands::post::Ping::role(label),
        }
    }

    fn escalation_delays(&mut self) -> Vec<Duration> {
        let defaults = vec![Duration::from_secs(300), Duration::from_secs(900)];
        let Some(text) = self.text("BELLHOP_ESCALATE_AFTER") else { return defaults };
        let parsed: Option<Vec<Duration>> =
            text.split(',').map(|d| humantime::parse_duration(d.trim()).ok().filter(|d| !d.is_zero())).collect();
        match parsed {
            Some(delays) if delays.len() == 2 => delays,
            _ => {
                self.problem(
                    "BELLHOP_ESCALATE_AFTER",
                    "must be two durations: until the system administrator, then until infrastructure, like 5m,15m",
                );
                defaults
            }
        }
    }

    fn update_every(&mut self) -> Option<BTreeMap<Severity, Duration>> {
        let text = self.text("BELLHOP_UPDATE_EVERY")?;
        let mut every = BTreeMap::new();
        for pair in text.split(',').filter(|p| !p.trim().is_empty()) {
            let parsed = pair.split_once('=').and_then(|(severity, duration)| {
                Some((severity.trim().parse::<Severity>().ok()?, humantime::parse_duration(duration.trim()).ok().filter(|d| !d.is_zero())?))
            });
            match parsed {
                Some((severity, duration)) => {
                    every.insert(severity, duration);
                }
                None => {
                    self.problem("BELLHOP_UPDATE_EVERY", "must be severity=interval pairs, like P0=15m,P1=30m,P2=1h");
                    return None;
                }
            }
        }
        Some(every)
    }
}
