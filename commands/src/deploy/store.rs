//! The pre-deploy checklists and the deploys people mark, on the store's connection: each
//! statement here, parameterised; the checklist reads take a connection so they run inside the
//! transaction that changes it (SQLite's one connection) as well as outside it.

use super::model::{Checklist, Evidence, ItemState, Verified, ITEMS};
use crate::actor::Person;
use crate::store::{from_millis, millis, Store, Tx};
use chrono::{DateTime, Utc};
use sqlx::AnyConnection;

/// A deploy marked with `/deploy done`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mark {
    pub id: i64,
    pub what: String,
    pub by: Person,
    pub at: DateTime<Utc>,
    pub figures_before: String,
}

impl Tx<'_> {
    /// Claims a work item (the day's backup check) for this replica: true for exactly one caller,
    /// and only if the transaction commits.
    pub(crate) async fn claim_work(&mut self, key: &str) -> anyhow::Result<bool> {
        let now = millis(self.now());
        let done = sqlx::query("INSERT INTO handled_events (event_key, at_ms) VALUES ($1, $2) ON CONFLICT (event_key) DO NOTHING")
            .bind(key)
            .bind(now)
            .execute(&mut *self.conn())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn insert_checklist(&mut self, what: &str, by: &Person, evidence: &[Option<Evidence>]) -> anyhow::Result<i64> {
        let now = millis(self.now());
        let id: i64 =
            sqlx::query_scalar("INSERT INTO checklists (what, created_by_id, created_by, created_ms) VALUES ($1, $2, $3, $4) RETURNING id")
                .bind(what)
                .bind(&by.id)
                .bind(&by.name)
                .bind(now)
                .fetch_one(&mut *self.conn())
                .await?;
        for (index, found) in evidence.iter().enumerate().take(ITEMS.len()) {
            sqlx::query("INSERT INTO checklist_items (checklist_id, item, verified, evidence) VALUES ($1, $2, $3, $4)")
                .bind(id)
                .bind(index as i64 + 1)
                .bind(found.as_ref().map(|e| e.verified.as_str()))
                .bind(found.as_ref().map(|e| e.text.as_str()))
                .execute(&mut *self.conn())
                .await?;
        }
        Ok(id)
    }

    /// A person ticks an item; false when someone ticked it already.
    pub(crate) async fn tick_item(&mut self, checklist: i64, item: usize, by: &Person) -> anyhow::Result<bool> {
        let now = millis(self.now());
        let done = sqlx::query(
            "UPDATE checklist_items SET ticked_by_id = $1, ticked_by = $2, ticked_ms = $3
             WHERE checklist_id = $4 AND item = $5 AND ticked_by_id IS NULL",
        )
        .bind(&by.id)
        .bind(&by.name)
        .bind(now)
        .bind(checklist)
        .bind(item as i64)
        .execute(&mut *self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A person takes their own tick back (their reaction removed); false when it was not theirs.
    pub(crate) async fn untick_item(&mut self, checklist: i64, item: usize, by: &Person) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE checklist_items SET ticked_by_id = NULL, ticked_by = NULL, ticked_ms = NULL
             WHERE checklist_id = $1 AND item = $2 AND ticked_by_id = $3",
        )
        .bind(checklist)
        .bind(item as i64)
        .bind(&by.id)
        .execute(&mut *self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The checklist becomes ready; false when it already was (said once).
    pub(crate) async fn mark_checklist_ready(&mut self, checklist: i64) -> anyhow::Result<bool> {
        let now = millis(self.now());
        let done = sqlx::query("UPDATE checklists SET ready_ms = $1 WHERE id = $2 AND ready_ms IS NULL")
            .bind(now)
            .bind(checklist)
            .execute(&mut *self.conn())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn checklist(&mut self, id: i64) -> anyhow::Result<Option<Checklist>> {
        load(self.conn(), id).await
    }

    pub(crate) async fn insert_mark(&mut self, what: &str, by: &Person, figures_before: &str) -> anyhow::Result<i64> {
        let now = millis(self.now());
        Ok(sqlx::query_scalar(
            "INSERT INTO deploy_marks (what, by_id, by_name, at_ms, figures_before) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(what)
        .bind(&by.id)
        .bind(&by.name)
        .bind(now)
        .bind(figures_before)
        .fetch_one(&mut *self.conn())
        .await?)
    }
}

impl Store {
    /// The newest checklist's id.
    pub(crate) async fn newest_checklist(&self) -> anyhow::Result<Option<i64>> {
        Ok(sqlx::query_scalar("SELECT MAX(id) FROM checklists").fetch_one(self.pool()).await?)
    }

    /// The newest deploy marked since `since`.
    pub(crate) async fn latest_mark(&self, since: DateTime<Utc>) -> anyhow::Result<Option<Mark>> {
        let row: Option<(i64, String, String, String, i64, String)> = sqlx::query_as(
            "SELECT id, what, by_id, by_name, at_ms, figures_before FROM deploy_marks WHERE at_ms >= $1 ORDER BY at_ms DESC, id DESC LIMIT 1",
        )
        .bind(millis(since))
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|(id, what, by_id, by_name, at, figures_before)| Mark {
            id,
            what,
            by: Person::new(by_id, by_name),
            at: from_millis(at),
            figures_before,
        }))
    }
}

type ItemRow = (i64, Option<String>, Option<String>, Option<String>, Option<String>, Option<i64>);

async fn load(conn: &mut AnyConnection, id: i64) -> anyhow::Result<Option<Checklist>> {
    let head: Option<(String, String, String, i64, Option<i64>)> =
        sqlx::query_as("SELECT what, created_by_id, created_by, created_ms, ready_ms FROM checklists WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some((what, by_id, by_name, created, ready)) = head else { return Ok(None) };
    let rows: Vec<ItemRow> = sqlx::query_as(
        "SELECT item, verified, evidence, ticked_by_id, ticked_by, ticked_ms FROM checklist_items WHERE checklist_id = $1 ORDER BY item",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let mut items: Vec<ItemState> = (1..=ITEMS.len()).map(ItemState::empty).collect();
    for (item, verified, evidence, by_id, by_name, at) in rows {
        let Some(state) = usize::try_from(item).ok().and_then(|i| items.get_mut(i.wrapping_sub(1))) else { continue };
        state.verified = match (verified.and_then(|v| v.parse::<Verified>().ok()), evidence) {
            (Some(verified), Some(text)) => Some(Evidence { verified, text }),
            _ => None,
        };
        state.ticked = match (by_id, at) {
            (Some(id), Some(at)) => Some((Person::new(id, by_name.unwrap_or_default()), from_millis(at))),
            _ => None,
        };
    }
    Ok(Some(Checklist {
        id,
        what,
        created_by: Person::new(by_id, by_name),
        created: from_millis(created),
        ready: ready.map(from_millis),
        items,
    }))
}
