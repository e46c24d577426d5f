//! An incident as stored, and the entries of its timeline.

use super::Severity;
use crate::actor::Person;
use chrono::{DateTime, Utc};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incident {
    pub id: i64,
    pub severity: Severity,
    pub title: String,
    pub impact: String,
    /// What the status page names as affected; empty means "services".
    pub affected: String,
    pub commander: Person,
    pub declared_by: Person,
    pub declared: DateTime<Utc>,
    pub acked: Option<(DateTime<Utc>, Person)>,
    pub resolved: Option<DateTime<Utc>>,
    pub root_cause: Option<String>,
    /// The alert it was declared from, whose figures fill its escalation.
    pub alert_id: Option<i64>,
    pub channel_key: Option<String>,
    /// A security incident runs the runbook's data breach response instead of the severity's clock.
    pub kind: IncidentKind,
}

/// What kind of incident: the service is failing, or its data is at risk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, strum::EnumString, strum::IntoStaticStr, strum::Display)]
#[strum(serialize_all = "lowercase")]
pub enum IncidentKind {
    #[default]
    Service,
    /// The runbook's *Security Incident Response*: a data breach's phases, the security team paged.
    Security,
}

impl IncidentKind {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl Incident {
    /// `INC-7`: how people and posts name it.
    pub fn code(&self) -> String {
        code(self.id)
    }

    pub fn subject(&self) -> crate::subject::Subject {
        crate::subject::Subject::incident(self.id)
    }

    pub fn is_open(&self) -> bool {
        self.resolved.is_none()
    }
}

pub fn code(id: i64) -> String {
    format!("INC-{id}")
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    pub actor: Person,
    pub kind: TimelineKind,
    pub text: String,
}

/// What a timeline entry records; the store spells it as the audit shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::EnumString, strum::IntoStaticStr, strum::Display)]
#[strum(serialize_all = "lowercase")]
pub enum TimelineKind {
    Declared,
    /// The alert it was declared from, with its figures at that moment.
    Alert,
    Acknowledged,
    Update,
    #[strum(serialize = "status post")]
    StatusPost,
    Severity,
    Commander,
    Resolved,
    #[strum(serialize = "break-glass")]
    BreakGlass,
    /// An evidence file attached, with its SHA-256.
    Evidence,
    /// The function deploy that came shortly before it.
    Deploy,
}

impl TimelineKind {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// What `/incident list` shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListState {
    Open,
    Resolved,
    All,
}
