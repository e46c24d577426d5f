//! bellhop's configuration, read once at start: defaults, then the TOML file, then the environment.
//! Every problem is reported at once, naming the key, what is wrong and how to fix it.

mod alerts;
mod discord;
mod incidents;
mod remediation;
mod slack;

pub use slack::{slack_id, SLACK_API};

use crate::http::HttpSettings;
use bellhop_commands::alerts::AlertSettings;
use bellhop_commands::health::{HealthSettings, RUNBOOK_FUNCTIONS};
use bellhop_commands::incident::IncidentSettings;
use bellhop_commands::target_db::TargetSettings;
use bellhop_commands::{Actor, Role};
use secrecy::SecretString;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One setting: its environment variable, its key in the TOML file, and whether it is a secret
/// (a secret's value never appears in an error).
struct Key {
    env: &'static str,
    toml: &'static str,
    secret: bool,
}

const KEYS: &[Key] = &[
    Key { env: "SUPABASE_URL", toml: "supabase_url", secret: false },
    Key { env: "SUPABASE_ANON_KEY", toml: "supabase_anon_key", secret: true },
    Key { env: "SUPABASE_DB_URL", toml: "supabase_db_url", secret: true },
    Key { env: "FRONTEND_URL", toml: "frontend_url", secret: false },
    Key { env: "BELLHOP_DATABASE_URL", toml: "database_url", secret: true },
    Key { env: "BELLHOP_FUNCTIONS", toml: "functions", secret: false },
    Key { env: "BELLHOP_REST_TABLE", toml: "rest_table", secret: false },
    Key { env: "BELLHOP_PROBE_TIMEOUT", toml: "probe_timeout", secret: false },
    Key { env: "BELLHOP_SLOW_AFTER", toml: "slow_after", secret: false },
    Key { env: "BELLHOP_TARGET_STATEMENT_TIMEOUT", toml: "target_statement_timeout", secret: false },
    Key { env: "BELLHOP_TARGET_WRITE_TIMEOUT", toml: "target_write_timeout", secret: false },
    Key { env: "BELLHOP_TEMPLATES_DIR", toml: "templates_dir", secret: false },
    Key { env: "BELLHOP_LOG_FORMAT", toml: "log_format", secret: false },
    Key { env: "BELLHOP_PAGE_ONCALL", toml: "page_oncall", secret: false },
    Key { env: "BELLHOP_PAGE_SYSADMIN", toml: "page_sysadmin", secret: false },
    Key { env: "BELLHOP_PAGE_INFRA", toml: "page_infra", secret: false },
    Key { env: "DISCORD_SECURITY_ROLE", toml: "discord_security_role", secret: false },
    Key { env: "BELLHOP_ESCALATE_AFTER", toml: "escalate_after", secret: false },
    Key { env: "BELLHOP_UPDATE_EVERY", toml: "update_every", secret: false },
    Key { env: "BELLHOP_SWEEP_EVERY", toml: "sweep_every", secret: false },
    Key { env: "SUPABASE_ACCESS_TOKEN", toml: "supabase_access_token", secret: true },
    Key { env: "SUPABASE_PROJECT_REF", toml: "supabase_project_ref", secret: false },
    Key { env: "BELLHOP_MANAGEMENT_EVERY", toml: "management_every", secret: false },
    Key { env: "SUPABASE_API_URL", toml: "supabase_api_url", secret: false },
    Key { env: "BELLHOP_APPROVALS_REQUIRED", toml: "approvals_required", secret: false },
    Key { env: "BELLHOP_REQUESTER_MAY_APPROVE", toml: "requester_may_approve", secret: false },
    Key { env: "BELLHOP_ALLOW_ONE_PERSON_GATE", toml: "allow_one_person_gate", secret: false },
    Key { env: "BELLHOP_PLAN_EXPIRY", toml: "plan_expiry", secret: false },
    Key { env: "BELLHOP_DRIFT_PERCENT", toml: "drift_percent", secret: false },
    Key { env: "BELLHOP_DRIFT_ROWS", toml: "drift_rows", secret: false },
    Key { env: "BELLHOP_PAGE_APPROVERS", toml: "page_approvers", secret: false },
    Key { env: "BELLHOP_PURGE_BATCH", toml: "purge_batch", secret: false },
    Key { env: "BELLHOP_ROLLBACKS_DIR", toml: "rollbacks_dir", secret: false },
    Key { env: "BELLHOP_ROLLBACK_TOLERANCE", toml: "rollback_tolerance", secret: false },
    Key { env: "BELLHOP_HTTP_ADDR", toml: "http_addr", secret: false },
    Key { env: "BELLHOP_INGEST_TOKEN", toml: "ingest_token", secret: true },
    Key { env: "BELLHOP_METRICS_TOKEN", toml: "metrics_token", secret: true },
    Key { env: "BELLHOP_GRAFANA_SECRET", toml: "grafana_secret", secret: true },
    Key { env: "BELLHOP_GRAFANA_TIMESTAMP_HEADER", toml: "grafana_timestamp_header", secret: false },
    Key { env: "BELLHOP_INGEST_MAX_BODY", toml: "ingest_max_body", secret: false },
    Key { env: "BELLHOP_HTTP_HEADER_TIMEOUT", toml: "http_header_timeout", secret: false },
    Key { env: "BELLHOP_HTTP_BODY_TIMEOUT", toml: "http_body_timeout", secret: false },
    Key { env: "BELLHOP_HTTP_MAX_CONNECTIONS", toml: "http_max_connections", secret: false },
    Key { env: "BELLHOP_ALERT_MAX_FUNCTIONS", toml: "alert_max_functions", secret: false },
    Key { env: "BELLHOP_RETENTION", toml: "retention", secret: false },
    Key { env: "BELLHOP_WEBHOOK_SEVERITY_LABEL", toml: "webhook_severity_label", secret: false },
    Key { env: "BELLHOP_WEBHOOK_SEVERITIES", toml: "webhook_severities", secret: false },
    Key { env: "BELLHOP_WEBHOOK_PAGE_CRITICAL", toml: "webhook_page_critical", secret: false },
    Key { env: "BELLHOP_WEBHOOK_PAGE_WARNING", toml: "webhook_page_warning", secret: false },
    Key { env: "DISCORD_TOKEN", toml: "discord_token", secret: true },
    Key { env: "DISCORD_GUILD_ID", toml: "discord_guild_id", secret: false },
    Key { env: "DISCORD_HTTP_PROXY", toml: "discord_http_proxy", secret: false },
    Key { env: "DISCORD_INCIDENTS_CHANNEL", toml: "discord_incidents_channel", secret: false },
    Key { env: "DISCORD_STATUS_CHANNEL", toml: "discord_status_channel", secret: false },
    Key { env: "DISCORD_OPS_CHANNEL", toml: "discord_ops_channel", secret: false },
    Key { env: "DISCORD_RESPONDER_ROLES", toml: "discord_responder_roles", secret: false },
    Key { env: "DISCORD_APPROVER_ROLES", toml: "discord_approver_roles", secret: false },
    Key { env: "DISCORD_ADMIN_ROLES", toml: "discord_admin_roles", secret: false },
    Key { env: "SLACK_BOT_TOKEN", toml: "slack_bot_token", secret: true },
    Key { env: "SLACK_APP_TOKEN", toml: "slack_app_token", secret: true },
    Key { env: "SLACK_API_URL", toml: "slack_api_url", secret: false },
    Key { env: "SLACK_INCIDENTS_CHANNEL", toml: "slack_incidents_channel", secret: false },
    Key { env: "SLACK_STATUS_CHANNEL", toml: "slack_status_channel", secret: false },
    Key { env: "SLACK_OPS_CHANNEL", toml: "slack_ops_channel", secret: false },
    Key { env: "SLACK_RESPONDER_GROUPS", toml: "slack_responder_groups", secret: false },
    Key { env: "SLACK_APPROVER_GROUPS", toml: "slack_approver_groups", secret: false },
    Key { env: "SLACK_ADMIN_GROUPS", toml: "slack_admin_groups", secret: false },
    Key { env: "SLACK_PAGE_ONCALL", toml: "slack_page_oncall", secret: false },
    Key { env: "SLACK_PAGE_SYSADMIN", toml: "slack_page_sysadmin", secret: false },
    Key { env: "SLACK_PAGE_INFRA", toml: "slack_page_infra", secret: false },
    Key { env: "SLACK_PAGE_APPROVERS", toml: "slack_page_approvers", secret: false },
    Key { env: "SLACK_PAGE_SECURITY", toml: "slack_page_security", secret: false },
];
/// Secrets that open a door: set, they must be a real token, so a value left empty (in the
/// environment or the file alike) is refused rather than taken as "none" or as a token.
const GATE_TOKENS: &[&str] = &["BELLHOP_INGEST_TOKEN", "BELLHOP_METRICS_TOKEN", "BELLHOP_GRAFANA_SECRET"];
/// The shortest such token.
pub const MIN_TOKEN_CHARS: usize = 16;

/// Tables allowed in the TOML file besides the keys above.
const TABLES: &[&str] = &["shell", "phases", "alerts"];

pub const DEFAULT_STORE_URL: &str = "sqlite:bellhop.sqlite";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Human,
    Json,
}

/// Where the Discord adapter sends REST, where it posts, and which Discord roles are which bellhop roles.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiscordConfig {
    /// An `http://host:port` base (e.g. twilight-http-proxy) that REST goes through instead of discord.com.
    pub http_proxy: Option<String>,
    pub incidents_channel: Option<u64>,
    pub status_channel: Option<u64>,
    pub ops_channel: Option<u64>,
    pub responder_roles: Vec<u64>,
    pub approver_roles: Vec<u64>,
    pub admin_roles: Vec<u64>,
}

/// The Slack adapter's tokens, where it posts, which user groups hold which bellhop role, and
/// whom its pages mention when Discord runs beside it.
#[derive(Clone, Debug, Default)]
pub struct SlackConfig {
    /// Both tokens, when Slack is configured: the bot's (`xoxb-`, the Web API) and the app's
    /// (`xapp-`, Socket Mode).
    pub tokens: Option<(SecretString, SecretString)>,
    /// The Web API's base, `https://slack.com/api` unless a test points it elsewhere.
    pub api_url: String,
    pub incidents_channel: Option<String>,
    pub status_channel: Option<String>,
    pub ops_channel: Option<String>,
    pub responder_groups: Vec<String>,
    pub approver_groups: Vec<String>,
    pub admin_groups: Vec<String>,
    /// User groups to mention for each page, by the page's label (`on-call`), beside Discord's.
    pub pages: BTreeMap<String, String>,
}

#[derive(Debug)]
pub struct Config {
    pub health: HealthSettings,
    pub store_url: SecretString,
    pub templates_dir: Option<PathBuf>,
    pub log_format: LogFormat,
    pub discord_token: Option<SecretString>,
    pub discord_guild_id: Option<u64>,
    pub discord: DiscordConfig,
    pub slack: SlackConfig,
    /// The people of `bellhop shell`, in the order they are listed.
    pub shell_users: Vec<Actor>,
    /// Whether `[shell.users]` was given: against a real target only those logins get roles
    /// beyond a responder's (the built-in cast is for the demo).
    pub shell_users_configured: bool,
    /// Who is paged and how the runbook's clock runs.
    pub incidents: IncidentSettings,
    /// The approval gate of destructive remediation.
    pub remediation: bellhop_commands::remediation::RemediationSettings,
    /// The alert rules (`[alerts]`), defaults from the runbook.
    pub alerts: AlertSettings,
    /// The Supabase Management API's function statistics, polled this often, when configured.
    pub management: Option<(bellhop_commands::alerts::ManagementSettings, Duration)>,
    /// How often the scheduled health sweep runs (each probe a sample).
    pub sweep_every: Duration,
    /// How long handled events, delivered chat operations and reactions are kept.
    pub retention: Duration,
    /// The inbound HTTP server.
    pub http: HttpSettings,
    /// The target database the diagnostics read (`SUPABASE_DB_URL`), when configured.
    pub target: Option<TargetSettings>,
}

/// Everything wrong with a configuration, one line per problem.
#[derive(Debug)]
pub struct ConfigError(pub Vec<String>);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "bellhop's configuration has {} problem(s):", self.0.len())?;
        for problem in &self.0 {
            writeln!(f, "  - {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Where a value came from, to name it in errors.
struct Value {
    text: String,
    origin: String,
}

impl Config {
    /// Reads `file` (when given, it must exist; otherwise `bellhop.toml` if present) and `env`.
    pub fn load(file: Option<&Path>, env: &HashMap<String, String>) -> Result<Config, ConfigError> {
        let default_file = Path::new("bellhop.toml");
        let path = file.or_else(|| default_file.exists().then_some(default_file));
        let table = match path {
            Some(path) => read_table(path)?,
            None => toml::Table::new(),
        };
        Config::from_sources(&table, env)
    }

    pub fn from_sources(table: &toml::Table, env: &HashMap<String, String>) -> Result<Config, ConfigError> {
        let mut problems = Vec::new();
        for key in table.keys() {
            if !KEYS.iter().any(|k| k.toml == key) && !TABLES.contains(&key.as_str()) {
                problems.push(format!("unknown key `{key}` in the config file; the keys are listed in bellhop.example.toml"));
            }
        }
        let mut values = BTreeMap::new();
        for key in KEYS {
            let from_env = env.get(key.env).filter(|v| !v.trim().is_empty() || GATE_TOKENS.contains(&key.env));
            let value = match (from_env, table.get(key.toml)) {
                (Some(text), _) => Some(Value { text: text.trim().to_string(), origin: key.env.to_string() }),
                (None, Some(item)) => match toml_text(item) {
                    Some(text) => Some(Value { text, origin: format!("`{}` in the config file", key.toml) }),
                    None => {
                        problems.push(format!("`{}` in the config file must be a string", key.toml));
                        None
                    }
                },
                (None, None) => None,
            };
            if let Some(value) = value {
                values.insert(key.env, value);
            }
        }
        let mut read = Reader { values, problems };
        let config = read.config(table);
        if read.problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError(read.problems))
        }
    }
}

struct Reader {
    values: BTreeMap<&'static str, Value>,
    problems: Vec<String>,
}

impl Reader {
    fn config(&mut self, table: &toml::Table) -> Config {
        let health = HealthSettings {
            frontend_url: self.url("FRONTEND_URL"),
            supabase_url: self.url("SUPABASE_URL"),
            anon_key: self.text("SUPABASE_ANON_KEY").map(SecretString::from),
            db_url: self.postgres_url("SUPABASE_DB_URL").map(SecretString::from),
            functions: self.functions(),
            rest_table: self.rest_table(),
            timeout: self.duration("BELLHOP_PROBE_TIMEOUT", Duration::from_secs(10)),
            slow_after: self.duration("BELLHOP_SLOW_AFTER", Duration::from_secs(2)),
        };
        if health.slow_after >= health.timeout {
            self.problems.push("BELLHOP_SLOW_AFTER must be shorter than BELLHOP_PROBE_TIMEOUT, or no probe can be slow".into());
        }
        let statement_timeout = self.duration("BELLHOP_TARGET_STATEMENT_TIMEOUT", Duration::from_secs(5));
        let write_timeout = self.write_timeout();
        let target = health.db_url.clone().map(|url| TargetSettings { url, statement_timeout, write_timeout });
        let store_url = self.text("BELLHOP_DATABASE_URL").unwrap_or_else(|| DEFAULT_STORE_URL.to_string());
        if !(store_url.starts_with("sqlite:") || store_url.starts_with("postgres://") || store_url.starts_with("postgresql://")) {
            self.problems
                .push("BELLHOP_DATABASE_URL must start with sqlite: (a file) or postgres:// (a server); e.g. sqlite:bellhop.sqlite".into());
        }
        let discord = self.discord();
        let slack = self.slack();
        let management = self.management(&health.functions);
        let incidents = self.incident_settings(table.get("phases"));
        let remediation = self.remediation_settings(&discord.approver_roles);
        let mut alerts = self.alert_settings(table.get("alerts"));
        alerts.max_functions = self.alert_max_functions();
        alerts.webhooks = self.webhook_settings(&incidents, &remediation);
        Config {
            management,
            health,
            store_url: SecretString::from(store_url),
            templates_dir: self.directory("BELLHOP_TEMPLATES_DIR"),
            log_format: self.log_format(),
            discord_token: self.text("DISCORD_TOKEN").map(SecretString::from),
            discord_guild_id: self.guild_id(),
            remediation,
            discord,
            slack,
            shell_users: self.shell_users(table.get("shell")),
            shell_users_configured: table.get("shell").and_then(|s| s.get("users")).is_some(),
            incidents,
            alerts,
            sweep_every: self.sweep_every(),
            retention: self.retention(),
            http: self.http_settings(),
            target,
        }
    }

    fn text(&self, env: &str) -> Option<String> {
        self.values.get(env).map(|v| v.text.clone())
    }

    fn problem(&mut self, env: &str, what: &str) {
        let origin = &self.values[env].origin;
        let shown = if KEYS.iter().any(|k| k.env == env && k.secret) {
            String::new()
        } else {
            format!(" = {:?}", crate::config::short(&self.values[env].text))
        };
        self.problems.push(format!("{origin}{shown}: {what}"));
    }

    fn url(&mut self, env: &'static str) -> Option<String> {
        let text = self.text(env)?;
        match reqwest_url_ok(&text) {
            true => Some(text.trim_end_matches('/').to_string()),
            false => {
                self.problem(env, "not an http(s) URL; write it like https://example.com");
                None
            }
        }
    }

    fn postgres_url(&mut self, env: &'static str) -> Option<String> {
        let text = self.text(env)?;
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            Some(text)
        } else {
            self.problem(env, "must be a postgres:// URL (Supabase: Project Settings → Database → Connection string)");
            None
        }
    }

    fn functions(&mut self) -> Vec<String> {
        let Some(text) = self.text("BELLHOP_FUNCTIONS") else {
            return RUNBOOK_FUNCTIONS.iter().map(|f| f.to_string()).collect();
        };
        let names: Vec<String> = text.split(',').map(|f| f.trim().to_string()).filter(|f| !f.is_empty()).collect();
        let valid = |name: &String| name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if names.is_empty() || !names.iter().all(valid) {
            self.problem("BELLHOP_FUNCTIONS", "must be function names separated by commas, like invite-user,delete-user");
        }
        names
    }

    fn rest_table(&mut self) -> String {
        let table = self.text("BELLHOP_REST_TABLE").unwrap_or_else(|| "plans".to_string());
        if !table.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || table.is_empty() {
            self.problem("BELLHOP_REST_TABLE", "must be a plain table name, like plans");
        }
        table
    }

    fn duration(&mut self, env: &'static str, default: Duration) -> Duration {
        let Some(text) = self.text(env) else { return default };
        match humantime::parse_duration(&text) {
            Ok(duration) if !duration.is_zero() && duration <= Duration::from_secs(300) => duration,
            Ok(_) => {
                self.problem(env, "must be more than 0 and at most 5m");
                default
            }
            Err(_) => {
                self.problem(env, "not a duration; write a number with a unit, like 10s or 500ms");
                default
            }
        }
    }

    /// `BELLHOP_TARGET_WRITE_TIMEOUT`: how long one statement of an approved action may take
    /// (a purge batch, a whole down file), 5 min by default, up to an hour.
    fn write_timeout(&mut self) -> Duration {
        let default = Duration::from_secs(300);
        let Some(text) = self.text("BELLHOP_TARGET_WRITE_TIMEOUT") else { return default };
        match humantime::parse_duration(&text) {
            Ok(timeout) if timeout >= Duration::from_secs(1) && timeout <= Duration::from_secs(3600) => timeout,
            _ => {
                self.problem("BELLHOP_TARGET_WRITE_TIMEOUT", "must be a duration from 1s to 1h, like 5m");
                default
            }
        }
    }

    fn directory(&mut self, env: &'static str) -> Option<PathBuf> {
        let path = PathBuf::from(self.text(env)?);
        if path.is_dir() {
            Some(path)
        } else {
            self.problem(env, "no such directory");
            None
        }
    }

    fn log_format(&mut self) -> LogFormat {
        match self.text("BELLHOP_LOG_FORMAT").as_deref() {
            None | Some("human") => LogFormat::Human,
            Some("json") => LogFormat::Json,
            Some(_) => {
                self.problem("BELLHOP_LOG_FORMAT", "must be human or json");
                LogFormat::Human
            }
        }
    }

    fn shell_users(&mut self, shell: Option<&toml::Value>) -> Vec<Actor> {
        let users = shell.and_then(|s| s.get("users"));
        let Some(users) = users else { return default_shell_users() };
        let Some(users) = users.as_table() else {
            self.problems.push("`shell.users` in the config file must be a table of name = [roles]".into());
            return default_shell_users();
        };
        let mut actors = Vec::new();
        for (name, roles) in users {
            let roles: Result<Vec<Role>, String> = match roles.as_array() {
                Some(list) => list.iter().map(|r| r.as_str().unwrap_or_default().parse()).collect(),
                None => Err("must be a list of roles, like [\"responder\"]".into()),
            };
            match roles {
                Ok(roles) => actors.push(Actor::new(format!("shell:{name}"), name.clone(), roles)),
                Err(e) => self.problems.push(format!("`shell.users.{name}` in the config file: {e}")),
            }
        }
        actors
    }
}

/// A responder, two approvers and one person with no role: enough to try every command,
/// including the two-person approvals and a refusal.
pub fn default_shell_users() -> Vec<Actor> {
    vec![
        Actor::new("shell:alice", "alice", [Role::Responder]),
        Actor::new("shell:bob", "bob", [Role::Approver]),
        Actor::new("shell:carol", "carol", [Role::Approver]),
        Actor::new("shell:dave", "dave", []),
        Actor::new("shell:erin", "erin", [Role::Admin]),
    ]
}

fn read_table(path: &Path) -> Result<toml::Table, ConfigError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| ConfigError(vec![format!("cannot read the config file {}: {e}", path.display())]))?;
    text.parse::<toml::Table>()
        .map_err(|e| ConfigError(vec![format!("the config file {} is not valid TOML: {}", path.display(), e.message())]))
}

fn toml_text(item: &toml::Value) -> Option<String> {
    match item {
        toml::Value::String(s) => Some(s.trim().to_string()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        toml::Value::Array(items) => items.iter().map(|i| i.as_str().map(str::to_string)).collect::<Option<Vec<_>>>().map(|v| v.join(",")),
        _ => None,
    }
}

/// Why a base URL that receives a token was refused.
#[derive(Debug, PartialEq, Eq)]
enum BaseRefused {
    /// Not a URL of the expected shape (credentials, query, fragment, a path where none belongs).
    Shape,
    /// Plain `http://` to another machine: the token would cross the network in clear text.
    PlainHttp,
}

/// A base URL a token is sent to: `https://` anywhere, plain `http://` only on this machine (a
/// local fake, a proxy beside bellhop). `path`: whether a path is part of it (`…/api`).
fn token_base(text: &str, path: bool) -> Result<String, BaseRefused> {
    let url = url::Url::parse(text).map_err(|_| BaseRefused::Shape)?;
    let extra = !url.username().is_empty() || url.password().is_some() || url.query().is_some() || url.fragment().is_some();
    if extra || (!path && url.path() != "/") {
        return Err(BaseRefused::Shape);
    }
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => return Err(BaseRefused::Shape),
    };
    match url.scheme() {
        "https" => Ok(text.trim_end_matches('/').to_string()),
        "http" if loopback => Ok(text.trim_end_matches('/').to_string()),
        "http" => Err(BaseRefused::PlainHttp),
        _ => Err(BaseRefused::Shape),
    }
}

fn reqwest_url_ok(text: &str) -> bool {
    (text.starts_with("http://") || text.starts_with("https://")) && text.len() > "https://".len() && !text.contains(char::is_whitespace)
}

fn short(text: &str) -> String {
    bellhop_commands::text::ellipsize(text, 80)
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;

/// Where the interactive shell keeps its history: `$XDG_DATA_HOME/bellhop/history`, else
/// `~/.local/share/bellhop/history`; none when neither is known.
pub fn history_file() -> Option<std::path::PathBuf> {
    let data = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()).map(std::path::PathBuf::from);
    let data = data.or_else(|| std::env::var_os("HOME").map(|home| std::path::Path::new(&home).join(".local/share")))?;
    Some(data.join("bellhop").join("history"))
}
