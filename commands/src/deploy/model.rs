//! A pre-deploy checklist as stored and shown: the runbook's six items, each ticked by a person
//! or by bellhop's own check with its evidence.

use crate::actor::Person;
use chrono::{DateTime, Duration, Utc};

/// The runbook's items, in its order; the last four bellhop verifies itself.
pub const ITEMS: [&str; 6] = [
    "Run full Postman collection",
    "Execute security test suite",
    "Verify RLS policies with test users",
    "Check edge function performance",
    "Validate backup/restore procedures",
    "Test rollback procedures",
];
/// The reaction that ticks each item, in order.
pub const KEYCAPS: [&str; 6] = ["1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣", "6️⃣"];
/// A backup older than this is flagged (a daily backup, with two hours of slack).
pub const BACKUP_MAX_AGE: Duration = Duration::hours(26);

/// `DC-3`: how people and posts name a checklist.
pub fn code(id: i64) -> String {
    format!("DC-{id}")
}

/// What bellhop made of an item it can check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
pub enum Verified {
    Ticked,
    Flagged,
    /// It could not check (nothing configured, the target unreachable): a person decides.
    Unknown,
}

impl Verified {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// What bellhop did, after "bellhop": "ticked", "flagged", "could not check".
    pub fn said(self) -> &'static str {
        match self {
            Verified::Ticked => "ticked",
            Verified::Flagged => "flagged",
            Verified::Unknown => "could not check",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evidence {
    pub verified: Verified,
    pub text: String,
}

impl Evidence {
    /// The text is a clause the post goes on from ("…; react 6️⃣"): a sentence's full stop (an
    /// error message's) is dropped.
    pub(crate) fn new(verified: Verified, text: impl Into<String>) -> Self {
        let text: String = text.into();
        Evidence { verified, text: text.trim_end().trim_end_matches('.').to_string() }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemState {
    /// 1-based, as the post numbers it.
    pub item: usize,
    pub verified: Option<Evidence>,
    pub ticked: Option<(Person, DateTime<Utc>)>,
}

impl ItemState {
    pub fn empty(item: usize) -> Self {
        ItemState { item, verified: None, ticked: None }
    }

    pub fn done(&self) -> bool {
        self.ticked.is_some() || self.verified.as_ref().is_some_and(|e| e.verified == Verified::Ticked)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checklist {
    pub id: i64,
    pub what: String,
    pub created_by: Person,
    pub created: DateTime<Utc>,
    pub ready: Option<DateTime<Utc>>,
    pub items: Vec<ItemState>,
}

impl Checklist {
    pub fn done(&self) -> usize {
        self.items.iter().filter(|i| i.done()).count()
    }

    pub fn all_done(&self) -> bool {
        self.done() == ITEMS.len()
    }

    /// The audit's account: each item, who or what ticked it, and bellhop's evidence.
    pub fn account(&self) -> String {
        let items: Vec<String> = self
            .items
            .iter()
            .map(|i| {
                let by = match &i.ticked {
                    Some((person, at)) => format!("ticked by @{} at {}", person.name, at.format("%Y-%m-%d %H:%M UTC")),
                    None if i.done() => "ticked by bellhop".into(),
                    None => "open".into(),
                };
                let evidence = i.verified.as_ref().map(|e| format!(" (bellhop {}: {})", e.verified.said(), e.text)).unwrap_or_default();
                format!("{}. {by}{evidence}", i.item)
            })
            .collect();
        format!("{} {}: {}", code(self.id), self.what, items.join("; "))
    }
}
