//! Which endpoints a sweep probes, built from the platform settings (the runbook's set, corrected
//! to how Supabase answers today).

use super::{ProbeResult, Status, TargetKind};
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;

/// The platform as bellhop's config describes it. Absent settings make targets `skipped`.
#[derive(Clone, Debug)]
pub struct HealthSettings {
    pub frontend_url: Option<String>,
    pub supabase_url: Option<String>,
    pub anon_key: Option<SecretString>,
    pub db_url: Option<SecretString>,
    pub functions: Vec<String>,
    /// A small table the REST probe reads one row of (the anon key may no longer read `/rest/v1/`).
    pub rest_table: String,
    pub timeout: Duration,
    pub slow_after: Duration,
}

/// The runbook's five critical edge functions.
pub const RUNBOOK_FUNCTIONS: [&str; 5] = ["create-tenant-and-owner", "invite-user", "delete-user", "trial-signup", "suspend-user"];

#[derive(Clone, Debug)]
pub struct Target {
    pub name: String,
    pub kind: TargetKind,
    pub probe: TargetProbe,
}

#[derive(Clone, Debug)]
pub enum TargetProbe {
    Http(HttpRequest),
    Database { url: SecretString },
    Skipped { reason: String },
}

#[derive(Clone, Debug)]
pub struct HttpRequest {
    pub post_json: bool,
    pub url: String,
    pub api_key: Option<SecretString>,
}

impl Target {
    pub(crate) fn result(&self, status: Status, latency: Option<Duration>, http_status: Option<u16>, detail: String) -> ProbeResult {
        ProbeResult { name: self.name.clone(), kind: self.kind, status, latency, http_status, detail }
    }
}

impl HealthSettings {
    /// True when at least one target can be probed; a config with none is an error.
    pub fn any_target(&self) -> bool {
        self.targets().iter().any(|t| !matches!(t.probe, TargetProbe::Skipped { .. }))
    }

    pub fn targets(&self) -> Vec<Target> {
        let mut targets = vec![self.frontend()];
        let supabase = self.supabase_url.as_deref().map(|url| url.trim_end_matches('/'));
        let api = |name: String, kind: TargetKind, path: String, post_json: bool| {
            let probe = match (supabase, &self.anon_key) {
                (Some(base), Some(key)) => {
                    TargetProbe::Http(HttpRequest { post_json, url: format!("{base}{path}"), api_key: Some(key.clone()) })
                }
                (None, _) => skipped("SUPABASE_URL is not set"),
                (Some(_), None) => skipped("SUPABASE_ANON_KEY is not set"),
            };
            Target { name, kind, probe }
        };
        targets.push(api("auth".into(), TargetKind::Auth, "/auth/v1/health".into(), false));
        let table = &self.rest_table;
        targets.push(api(format!("rest ({table})"), TargetKind::Rest, format!("/rest/v1/{table}?select=*&limit=1"), false));
        for function in &self.functions {
            targets.push(api(function.clone(), TargetKind::Function, format!("/functions/v1/{function}"), true));
        }
        let database = match &self.db_url {
            Some(url) => TargetProbe::Database { url: url.clone() },
            None => skipped("SUPABASE_DB_URL is not set"),
        };
        targets.push(Target { name: "database".into(), kind: TargetKind::Database, probe: database });
        targets
    }

    fn frontend(&self) -> Target {
        let probe = match &self.frontend_url {
            Some(url) => {
                TargetProbe::Http(HttpRequest { post_json: false, url: format!("{}/health", url.trim_end_matches('/')), api_key: None })
            }
            None => skipped("FRONTEND_URL is not set"),
        };
        Target { name: "frontend".into(), kind: TargetKind::Frontend, probe }
    }
}

fn skipped(reason: &str) -> TargetProbe {
    TargetProbe::Skipped { reason: format!("not configured: {reason}") }
}

/// Legacy Supabase keys are JWTs and also go in `Authorization: Bearer`; the new
/// `sb_publishable_…` keys are not JWTs and must only go in `apikey`.
pub(crate) fn is_legacy_jwt(key: &SecretString) -> bool {
    let key = key.expose_secret();
    key.starts_with("eyJ") && key.matches('.').count() == 2
}
