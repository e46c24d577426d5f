//! What a message, a timer or an outbox lane is about: an incident, a maintenance window, and
//! later an approval plan or an alert. Stored as text, `incident:3`.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    Incident,
    Maintenance,
    Plan,
    Alert,
    /// A pre-deploy checklist (`/deploy checklist`).
    Checklist,
}

impl SubjectKind {
    pub const ALL: [SubjectKind; 5] =
        [SubjectKind::Incident, SubjectKind::Maintenance, SubjectKind::Plan, SubjectKind::Alert, SubjectKind::Checklist];

    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Incident => "incident",
            SubjectKind::Maintenance => "maintenance",
            SubjectKind::Plan => "plan",
            SubjectKind::Alert => "alert",
            SubjectKind::Checklist => "checklist",
        }
    }
}

/// One thing bellhop keeps state about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Subject {
    pub kind: SubjectKind,
    pub id: i64,
}

impl Subject {
    pub fn incident(id: i64) -> Self {
        Subject { kind: SubjectKind::Incident, id }
    }

    pub fn maintenance(id: i64) -> Self {
        Subject { kind: SubjectKind::Maintenance, id }
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind.as_str(), self.id)
    }
}

impl FromStr for Subject {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, id) = s.split_once(':').ok_or_else(|| format!("`{s}` is not a subject like incident:3"))?;
        let kind = SubjectKind::ALL.into_iter().find(|k| k.as_str() == kind).ok_or_else(|| format!("unknown subject kind `{kind}`"))?;
        let id = id.parse().map_err(|_| format!("`{s}` has no numeric id"))?;
        Ok(Subject { kind, id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_read_back_what_they_write() {
        for subject in [Subject::incident(3), Subject::maintenance(12), Subject { kind: SubjectKind::Alert, id: 1 }] {
            assert_eq!(subject.to_string().parse::<Subject>(), Ok(subject));
        }
        assert!("incident".parse::<Subject>().is_err());
        assert!("ticket:3".parse::<Subject>().is_err());
    }
}
