//! `/rls lockdown` and `/rls restore`: the runbook's emergency `REVOKE ALL ON ALL TABLES IN
//! SCHEMA public FROM anon`, with the grants it takes away recorded so that `/rls restore` can
//! give back exactly those, and each checked as anon (`SET LOCAL ROLE anon`) before it commits.

use super::effects::{code, Executed, Preview};
use crate::error::UserError;
use crate::target_db::TargetDb;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use std::collections::{BTreeMap, BTreeSet};

/// One table-level privilege of anon on a table of the public schema.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Grant {
    /// The table's name in the public schema, as the catalog spells it.
    pub table: String,
    /// `SELECT`, `INSERT`…, as `aclexplode` spells it.
    pub privilege: String,
}

/// The only privilege words that ever reach a GRANT: the table privileges PostgreSQL knows.
const PRIVILEGES: &[&str] = &["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "MAINTAIN"];

/// Tables listed one by one in a preview; the rest are counted.
const LISTED_TABLES: usize = 15;

/// Relation kinds `ALL TABLES IN SCHEMA` covers: tables, partitioned tables, views,
/// materialized views, foreign tables (sequences are not tables there).
const TABLE_KINDS: &str = "c.relkind IN ('r', 'p', 'v', 'm', 'f')";

const ANON_EXISTS: &str = "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon')";

/// anon's table-level grants in public, and whether bellhop's login acts as their grantor (only
/// the grantor, or a member of it, can revoke a grant).
fn anon_grants_sql() -> String {
    format!(
        "SELECT DISTINCT c.relname::text, a.privilege_type, g.rolname::text, pg_has_role(current_user, a.grantor, 'USAGE')
         FROM pg_class c
         CROSS JOIN LATERAL aclexplode(c.relacl) a
         JOIN pg_roles g ON g.oid = a.grantor
         WHERE c.relnamespace = 'public'::regnamespace AND {TABLE_KINDS}
           AND a.grantee = (SELECT oid FROM pg_roles WHERE rolname = 'anon')
         ORDER BY 1, 2"
    )
}

/// Roles whose default privileges grant tables they create later in public to anon.
const DEFAULT_GRANTORS: &str = "SELECT DISTINCT r.rolname::text
     FROM pg_default_acl d
     JOIN pg_roles r ON r.oid = d.defaclrole
     CROSS JOIN LATERAL aclexplode(d.defaclacl) a
     WHERE d.defaclobjtype = 'r' AND (d.defaclnamespace = 'public'::regnamespace OR d.defaclnamespace = 0)
       AND a.grantee = (SELECT oid FROM pg_roles WHERE rolname = 'anon')
     ORDER BY 1";

/// Column-level grants to anon: revoked with their tables, and not recorded.
const COLUMN_GRANTS: &str = "SELECT count(*)
     FROM pg_attribute at
     JOIN pg_class c ON c.oid = at.attrelid
     CROSS JOIN LATERAL aclexplode(at.attacl) a
     WHERE c.relnamespace = 'public'::regnamespace AND NOT at.attisdropped
       AND a.grantee = (SELECT oid FROM pg_roles WHERE rolname = 'anon')";

/// SECURITY DEFINER functions anon may still call: they read as their owner, REVOKE or not.
const DEFINER_FUNCTIONS: &str = "SELECT count(*) FROM pg_proc p
     WHERE p.pronamespace = 'public'::regnamespace AND p.prosecdef AND has_function_privilege('anon', p.oid, 'EXECUTE')";

/// The runbook's statement, verbatim: no identifier, no parameter.
const REVOKE: &str = "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM anon";

/// Which of the named tables still exist in public.
fn existing_tables_sql() -> String {
    format!(
        "SELECT c.relname::text FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND {TABLE_KINDS} AND c.relname = ANY($1)"
    )
}

/// One GRANT, built by the server: the table name quoted by `%I`, the privileges from [`PRIVILEGES`].
const GRANT: &str = "SELECT format('GRANT %s ON TABLE public.%I TO anon', $1::text, $2::text)";

/// The check both actions end with: can anon read public.users?
const PROBE: &str = "SELECT 1 FROM public.users LIMIT 1";

/// What the catalog says about anon in public.
struct Scan {
    /// (grant, grantor, whether bellhop's login can revoke it)
    grants: Vec<(Grant, String, bool)>,
    default_grantors: Vec<String>,
    column_grants: i64,
    definer_functions: i64,
}

impl Scan {
    fn grants(&self) -> Vec<Grant> {
        let set: BTreeSet<Grant> = self.grants.iter().map(|(g, _, _)| g.clone()).collect();
        set.into_iter().collect()
    }
}

async fn scan(conn: &mut PgConnection) -> Result<Scan, sqlx::Error> {
    let rows: Vec<(String, String, String, bool)> = sqlx::query_as(&anon_grants_sql()).fetch_all(&mut *conn).await?;
    let grants = rows.into_iter().map(|(table, privilege, grantor, ok)| (Grant { table, privilege }, grantor, ok)).collect();
    let default_grantors = sqlx::query_scalar(DEFAULT_GRANTORS).fetch_all(&mut *conn).await?;
    let column_grants = sqlx::query_scalar(COLUMN_GRANTS).fetch_one(&mut *conn).await?;
    let definer_functions = sqlx::query_scalar(DEFINER_FUNCTIONS).fetch_one(&mut *conn).await?;
    Ok(Scan { grants, default_grantors, column_grants, definer_functions })
}

/// What `SET LOCAL ROLE anon; SELECT 1 FROM public.users` did.
#[derive(Debug, PartialEq, Eq)]
enum AnonRead {
    /// It ran (RLS may have shown no rows: what matters is that anon may read the table).
    Allowed,
    /// insufficient_privilege (42501): anon holds no grant on the table.
    Refused,
    /// There is no public.users.
    Missing,
    Failed(String),
}

/// Reads public.users as anon inside a savepoint: rolling back to it undoes the `SET LOCAL
/// ROLE` and clears the error, so the transaction goes on as bellhop's login.
async fn read_users_as_anon(conn: &mut PgConnection) -> Result<AnonRead, sqlx::Error> {
    sqlx::query("SAVEPOINT bellhop_anon").execute(&mut *conn).await?;
    let read = match sqlx::query("SET LOCAL ROLE anon").execute(&mut *conn).await {
        // A refusal here is bellhop's login not being a member of anon, not the lockdown.
        Err(sqlx::Error::Database(db)) => AnonRead::Failed(format!("cannot act as anon: {}", db.message())),
        Err(error) => return Err(error),
        Ok(_) => match sqlx::query(PROBE).fetch_optional(&mut *conn).await {
            Ok(_) => AnonRead::Allowed,
            Err(sqlx::Error::Database(db)) => match db.code().as_deref() {
                Some("42501") => AnonRead::Refused,
                Some("42P01") => AnonRead::Missing,
                _ => AnonRead::Failed(db.message().to_string()),
            },
            Err(error) => return Err(error),
        },
    };
    sqlx::query("ROLLBACK TO SAVEPOINT bellhop_anon").execute(&mut *conn).await?;
    Ok(read)
}

/// Grants by table, privileges sorted.
fn by_table(grants: &[Grant]) -> BTreeMap<&str, Vec<&str>> {
    let mut tables: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for grant in grants {
        tables.entry(grant.table.as_str()).or_default().push(grant.privilege.as_str());
    }
    for privileges in tables.values_mut() {
        privileges.sort_unstable();
        privileges.dedup();
    }
    tables
}

/// A line per table (the first [`LISTED_TABLES`]), then how many more.
fn table_lines(grants: &[Grant]) -> Vec<String> {
    let tables = by_table(grants);
    let mut lines: Vec<String> =
        tables.iter().take(LISTED_TABLES).map(|(table, privileges)| format!("`public.{table}`: {}", privileges.join(", "))).collect();
    if tables.len() > LISTED_TABLES {
        lines.push(format!("… and {} more table(s).", tables.len() - LISTED_TABLES));
    }
    lines
}

fn figures(grants: &[Grant]) -> BTreeMap<String, i64> {
    BTreeMap::from([("grants".to_string(), grants.len() as i64), ("tables".to_string(), by_table(grants).len() as i64)])
}

/// The caveat, said only when it is the case.
fn default_privileges_line(grantors: &[String]) -> Option<String> {
    (!grantors.is_empty()).then(|| {
        format!(
            "Tables created later by {} are granted to anon again by default privileges; this covers existing tables only.",
            grantors.iter().map(|r| format!("`{r}`")).collect::<Vec<_>>().join(", ")
        )
    })
}

fn sentence(error: crate::target_db::TargetError) -> UserError {
    UserError::new(error.to_string())
}

async fn require_anon(conn: &mut PgConnection) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(ANON_EXISTS).fetch_one(conn).await
}

const NO_ANON: &str = "The target database has no role named anon; /rls works on Supabase databases only.";

/// The grants bellhop's login cannot revoke, as a sentence; none is the normal case.
fn unrevocable(scan: &Scan) -> Option<String> {
    let blocked: BTreeSet<String> = scan
        .grants
        .iter()
        .filter(|(_, _, ok)| !ok)
        .map(|(g, grantor, _)| format!("`public.{}` (granted by `{grantor}`)", g.table))
        .collect();
    (!blocked.is_empty()).then(|| {
        format!(
            "bellhop's login cannot revoke anon's grants on {}: only their grantor can; connect bellhop as the tables' owner (hosted: postgres).",
            blocked.into_iter().collect::<Vec<_>>().join(", ")
        )
    })
}

/// What the lockdown would revoke, read-only; nothing to revoke, or grants bellhop cannot
/// revoke, are refused here so no plan is asked for in vain.
pub async fn preview_lockdown(target: &TargetDb) -> Result<Preview, UserError> {
    let mut tx = target.read().await.map_err(sentence)?;
    if !require_anon(tx.conn()).await.map_err(|e| sentence(tx.error(e)))? {
        return Err(UserError::new(NO_ANON));
    }
    let scan = scan(tx.conn()).await.map_err(|e| sentence(tx.error(e)))?;
    if let Some(refusal) = unrevocable(&scan) {
        return Err(UserError::new(refusal));
    }
    let grants = scan.grants();
    if grants.is_empty() {
        return Err(UserError::new("anon holds no grant on any public table: there is nothing to lock down."));
    }
    let mut lines = vec![format!("anon loses {} grant(s) on {} table(s):", grants.len(), by_table(&grants).len())];
    lines.extend(table_lines(&grants));
    lines.extend(default_privileges_line(&scan.default_grantors));
    if scan.column_grants > 0 {
        lines.push(format!("{} column-level grant(s) to anon go too and are not restored by /rls restore.", scan.column_grants));
    }
    if scan.definer_functions > 0 {
        lines.push(format!(
            "anon can still call {} SECURITY DEFINER function(s) in public, which read as their owner.",
            scan.definer_functions
        ));
    }
    lines.push("Undo with /rls restore (approval-gated): it grants back exactly what is revoked now.".to_string());
    Ok(Preview { rows: grants.len() as i64, figures: figures(&grants), lines })
}

/// In one transaction: record anon's grants, run the runbook's REVOKE, check the catalog holds
/// none, check as anon that public.users is refused; commit only then.
pub async fn lockdown(target: &TargetDb) -> Result<Executed, String> {
    let mut tx = target.write().await.map_err(|e| e.to_string())?;
    if !require_anon(tx.conn()).await.map_err(|e| tx.error(e).to_string())? {
        return Err(NO_ANON.to_string());
    }
    let before = scan(tx.conn()).await.map_err(|e| tx.error(e).to_string())?;
    if let Some(refusal) = unrevocable(&before) {
        return Err(format!("{refusal} Nothing changed."));
    }
    let grants = before.grants();
    if grants.is_empty() {
        return Err("anon holds no grant on any public table any more; nothing ran.".to_string());
    }
    sqlx::query(REVOKE).execute(tx.conn()).await.map_err(|e| tx.error(e).to_string())?;
    let left = scan(tx.conn()).await.map_err(|e| tx.error(e).to_string())?.grants();
    if !left.is_empty() {
        let tables = by_table(&left).keys().map(|t| format!("`public.{t}`")).collect::<Vec<_>>().join(", ");
        return Err(format!("anon still held {} grant(s) after the REVOKE (on {tables}); rolled back, nothing changed.", left.len()));
    }
    match read_users_as_anon(tx.conn()).await.map_err(|e| tx.error(e).to_string())? {
        AnonRead::Refused => {}
        AnonRead::Allowed => return Err("As anon, public.users could still be read after the REVOKE; rolled back, nothing changed.".into()),
        AnonRead::Missing => return Err("There is no public.users to check the lockdown on; rolled back, nothing changed.".into()),
        AnonRead::Failed(why) => return Err(format!("The check as anon failed ({why}); rolled back, nothing changed.")),
    }
    tx.commit().await.map_err(|e| e.to_string())?;
    let mut verification = "as anon, reading public.users is refused (permission denied)".to_string();
    if !before.default_grantors.is_empty() {
        let roles = before.default_grantors.join(", ");
        verification.push_str(&format!("; tables created later by {roles} are granted to anon again by default privileges"));
    }
    verification.push_str("; undo with /rls restore");
    let saved = serde_json::to_value(&grants).map_err(|e| format!("cannot record the revoked grants: {e}"))?;
    Ok(Executed { rows: grants.len() as i64, figures: figures(&grants), verification, saved: Some(saved) })
}

/// `/rls restore`'s parameters: the latest lockdown that ran, and the grants it recorded.
/// None, or one already undone, is the person's mistake.
pub async fn resolve_restore(store: &crate::store::Store) -> Result<(i64, Vec<Grant>), UserError> {
    let unreadable = |error: anyhow::Error| {
        tracing::warn!(error = format!("{error:#}"), "cannot read earlier lockdowns");
        UserError::new("bellhop cannot read its record of earlier lockdowns right now; try again.")
    };
    let Some(row) = store.latest_done_plan("rls lockdown").await.map_err(unreadable)? else {
        return Err(UserError::new("No lockdown to undo: /rls lockdown has not run."));
    };
    let lockdown = row.id;
    if let Some(undo) = store.latest_done_plan("rls restore").await.map_err(unreadable)? {
        let undone = serde_json::from_str::<super::Action>(&undo.params).ok();
        if matches!(undone, Some(super::Action::RlsRestore { lockdown: l, .. }) if l == lockdown) {
            return Err(UserError::new(format!("{}'s lockdown was already undone by {}.", code(lockdown), code(undo.id))));
        }
    }
    let saved = row
        .outcome
        .as_deref()
        .and_then(|o| serde_json::from_str::<super::Outcome>(o).ok())
        .and_then(|o| o.saved)
        .and_then(|s| serde_json::from_value::<Vec<Grant>>(s).ok());
    match saved {
        Some(grants) if !grants.is_empty() && grants.iter().all(valid) => Ok((lockdown, grants)),
        _ => Err(UserError::new(format!("{} recorded no grants bellhop can restore.", code(lockdown)))),
    }
}

/// A recorded grant is only ever turned into SQL when its privilege is a known word and its
/// table a plausible identifier (the name itself is quoted by the server).
fn valid(grant: &Grant) -> bool {
    PRIVILEGES.contains(&grant.privilege.as_str()) && (1..=63).contains(&grant.table.len())
}

async fn existing_tables(conn: &mut PgConnection, grants: &[Grant]) -> Result<BTreeSet<String>, sqlx::Error> {
    // Owned, so the future stays Send for any lifetime (sqlx binds of borrowed &str are not).
    let names: Vec<String> = by_table(grants).into_keys().map(str::to_string).collect();
    let found: Vec<String> = sqlx::query_scalar(&existing_tables_sql()).bind(names).fetch_all(conn).await?;
    Ok(found.into_iter().collect())
}

/// What the restore would grant; tables dropped since the lockdown are named and skipped.
pub async fn preview_restore(target: &TargetDb, lockdown: i64, grants: &[Grant]) -> Result<Preview, UserError> {
    let mut tx = target.read().await.map_err(sentence)?;
    if !require_anon(tx.conn()).await.map_err(|e| sentence(tx.error(e)))? {
        return Err(UserError::new(NO_ANON));
    }
    let existing = existing_tables(tx.conn(), grants).await.map_err(|e| sentence(tx.error(e)))?;
    let (kept, gone): (Vec<Grant>, Vec<Grant>) = grants.iter().cloned().partition(|g| existing.contains(&g.table));
    let mut lines =
        vec![format!("anon gets back {} grant(s) on {} table(s) that {} revoked:", kept.len(), by_table(&kept).len(), code(lockdown))];
    lines.extend(table_lines(&kept));
    if !gone.is_empty() {
        let names = by_table(&gone).keys().map(|t| format!("`public.{t}`")).collect::<Vec<_>>().join(", ");
        lines.push(format!("No longer there, skipped: {names}."));
    }
    let mut figures = figures(&kept);
    figures.insert("skipped".to_string(), gone.len() as i64);
    Ok(Preview { rows: kept.len() as i64, figures, lines })
}

/// In one transaction: GRANT exactly the recorded privileges back, check the catalog shows
/// every one, check as anon that public.users can be read again when it could before; commit.
pub async fn restore(target: &TargetDb, grants: &[Grant]) -> Result<Executed, String> {
    if let Some(bad) = grants.iter().find(|g| !valid(g)) {
        return Err(format!("The recorded grant {} on {} is not a table privilege; nothing ran.", bad.privilege, bad.table));
    }
    let mut tx = target.write().await.map_err(|e| e.to_string())?;
    let existing = existing_tables(tx.conn(), grants).await.map_err(|e| tx.error(e).to_string())?;
    let kept: Vec<Grant> = grants.iter().filter(|g| existing.contains(&g.table)).cloned().collect();
    let statements: Vec<(String, String)> =
        by_table(&kept).into_iter().map(|(table, privileges)| (privileges.join(", "), table.to_string())).collect();
    for (privileges, table) in statements {
        let statement: String =
            sqlx::query_scalar(GRANT).bind(privileges).bind(table).fetch_one(tx.conn()).await.map_err(|e| tx.error(e).to_string())?;
        sqlx::query(&statement).persistent(false).execute(tx.conn()).await.map_err(|e| tx.error(e).to_string())?;
    }
    let held: BTreeSet<Grant> = scan(tx.conn()).await.map_err(|e| tx.error(e).to_string())?.grants().into_iter().collect();
    let missing: Vec<&Grant> = kept.iter().filter(|g| !held.contains(*g)).collect();
    if let Some(first) = missing.first() {
        return Err(format!(
            "After the GRANTs anon still lacked {} grant(s) (first: {} on `public.{}`); rolled back, nothing changed.",
            missing.len(),
            first.privilege,
            first.table
        ));
    }
    let reads_users = kept.iter().any(|g| g.table == "users" && g.privilege == "SELECT");
    let verification = if reads_users {
        match read_users_as_anon(tx.conn()).await.map_err(|e| tx.error(e).to_string())? {
            AnonRead::Allowed => {
                "read back: anon holds the recorded grants again; as anon, reading public.users is allowed (RLS decides the rows)"
            }
            AnonRead::Refused => {
                return Err("As anon, public.users was still refused after the GRANTs; rolled back, nothing changed.".into())
            }
            AnonRead::Missing => return Err("public.users vanished during the restore; rolled back, nothing changed.".into()),
            AnonRead::Failed(why) => return Err(format!("The check as anon failed ({why}); rolled back, nothing changed.")),
        }
    } else {
        "read back: anon holds the recorded grants again (it could not read public.users before the lockdown either)"
    };
    tx.commit().await.map_err(|e| e.to_string())?;
    let mut figures = figures(&kept);
    figures.insert("skipped".to_string(), (grants.len() - kept.len()) as i64);
    Ok(Executed { rows: kept.len() as i64, figures, verification: verification.to_string(), saved: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(table: &str, privilege: &str) -> Grant {
        Grant { table: table.into(), privilege: privilege.into() }
    }

    #[test]
    fn only_table_privileges_become_sql() {
        assert!(valid(&grant("users", "SELECT")));
        assert!(!valid(&grant("users", "SELECT; DROP TABLE users")));
        assert!(!valid(&grant("users", "select")), "the catalog's spelling only");
        assert!(!valid(&grant("", "SELECT")));
        assert!(!valid(&grant(&"x".repeat(64), "SELECT")), "longer than any PostgreSQL identifier");
    }

    #[test]
    fn lines_group_privileges_by_table_and_count_the_rest() {
        let mut grants = vec![grant("users", "UPDATE"), grant("users", "SELECT"), grant("plans", "SELECT")];
        assert_eq!(table_lines(&grants), ["`public.plans`: SELECT", "`public.users`: SELECT, UPDATE"]);
        grants.extend((0..20).map(|n| grant(&format!("t{n:02}"), "SELECT")));
        let lines = table_lines(&grants);
        assert_eq!(lines.len(), LISTED_TABLES + 1);
        assert_eq!(lines.last().unwrap(), "… and 7 more table(s).");
        assert_eq!(figures(&grants)["tables"], 22);
    }

    #[test]
    fn the_default_privileges_caveat_is_said_only_when_it_is_the_case() {
        assert_eq!(default_privileges_line(&[]), None);
        assert_eq!(
            default_privileges_line(&["postgres".into()]).unwrap(),
            "Tables created later by `postgres` are granted to anon again by default privileges; this covers existing tables only."
        );
    }
}

/// The Discord adapter boxes the gate's futures for any lifetime; a borrowed bind or a
/// `raw_sql` on a transaction breaks that with an error far away in bot/. Caught here instead.
#[cfg(test)]
mod futures_are_send {
    use super::*;
    use std::future::Future;
    use std::pin::Pin;

    type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

    fn for_any_lifetime<T, F: for<'a> Fn(&'a TargetDb, &'a [Grant], &'a crate::store::Store) -> Boxed<'a, T>>(_: F) {}

    #[test]
    fn every_future_of_the_module_is_send_for_any_lifetime() {
        for_any_lifetime(|t, _, _| Box::pin(preview_lockdown(t)));
        for_any_lifetime(|t, _, _| Box::pin(lockdown(t)));
        for_any_lifetime(|t, g, _| Box::pin(preview_restore(t, 1, g)));
        for_any_lifetime(|t, g, _| Box::pin(restore(t, g)));
        for_any_lifetime(|_, _, s| Box::pin(resolve_restore(s)));
    }
}
