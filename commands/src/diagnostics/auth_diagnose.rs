//! `/auth diagnose`: the runbook's P1 diagnosis — sign-ups in the last hour, the two helper
//! functions, the RLS policies on users, tenants and roles, and what the anon role can see.

use crate::post::{Post, Tone};
use crate::target_db::{ReadTx, TargetDb, TargetError};
use serde::Serialize;

/// The tables the runbook's RLS checks name.
pub const PROBED: [&str; 3] = ["users", "tenants", "roles"];

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuthDiagnosis {
    pub signups_last_hour: i64,
    pub helpers: Vec<Helper>,
    pub policies: Vec<Policy>,
    pub anon: Vec<(String, AnonProbe)>,
}

/// A helper function the runbook calls, and what it answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Helper {
    pub name: String,
    #[serde(flatten)]
    pub answer: HelperAnswer,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", content = "detail", rename_all = "snake_case")]
pub enum HelperAnswer {
    Missing,
    Answered(String),
    Failed(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Policy {
    pub table: String,
    pub name: String,
    pub permissive: String,
    pub roles: Vec<String>,
    pub command: String,
    pub using: Option<String>,
}

/// What `SET LOCAL ROLE anon; SELECT count(*) FROM public.<table>` did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", content = "rows", rename_all = "snake_case")]
pub enum AnonProbe {
    /// Permission denied: anon has no grant on the table (what the runbook's REVOKE leaves).
    Refused,
    /// Allowed, but row-level security hides every row.
    NoRows,
    /// Anon can read rows: a leak.
    RowsVisible(i64),
    Missing,
    /// The probe failed some other way (e.g. no role named anon).
    Failed(String),
}

/// table, name, permissive, roles, command, using.
type PolicyRow = (String, String, String, Vec<String>, String, Option<String>);

const SIGNUPS: &str = "SELECT count(*) FROM auth.users WHERE created_at > now() - interval '1 hour'";

const POLICIES: &str = "
SELECT tablename::text, policyname::text, permissive, roles::text[], cmd, qual
FROM pg_policies
WHERE schemaname = 'public' AND tablename = ANY($1)
ORDER BY tablename, policyname";

pub async fn run(target: &TargetDb) -> Result<AuthDiagnosis, TargetError> {
    let mut tx = target.read().await?;
    let signups_last_hour = sqlx::query_scalar(SIGNUPS).fetch_one(tx.conn()).await.map_err(|e| tx.error(e))?;
    let helpers = vec![
        helper(&mut tx, "debug_auth_context", "SELECT public.debug_auth_context()::text").await?,
        helper(&mut tx, "is_super_admin", "SELECT public.is_super_admin()::text").await?,
    ];
    let tables: Vec<String> = PROBED.iter().map(|t| t.to_string()).collect();
    let rows: Vec<PolicyRow> = sqlx::query_as(POLICIES).bind(&tables).fetch_all(tx.conn()).await.map_err(|e| tx.error(e))?;
    let policies = rows
        .into_iter()
        .map(|(table, name, permissive, roles, command, using)| Policy { table, name, permissive, roles, command, using })
        .collect();
    let mut anon = Vec::new();
    for table in PROBED {
        anon.push((table.to_string(), anon_probe(&mut tx, table).await?));
    }
    Ok(AuthDiagnosis { signups_last_hour, helpers, policies, anon })
}

async fn helper(tx: &mut ReadTx, name: &str, call: &str) -> Result<Helper, TargetError> {
    let exists: bool = sqlx::query_scalar("SELECT to_regprocedure(format('public.%I()', $1::text)) IS NOT NULL")
        .bind(name)
        .fetch_one(tx.conn())
        .await
        .map_err(|e| tx.error(e))?;
    let answer = if !exists {
        HelperAnswer::Missing
    } else {
        match tx.try_text(call).await {
            Ok(value) => HelperAnswer::Answered(value.unwrap_or_else(|| "null".into())),
            Err(sqlx::Error::Database(db)) => HelperAnswer::Failed(db.message().to_string()),
            Err(error) => return Err(tx.error(error)),
        }
    };
    Ok(Helper { name: name.to_string(), answer })
}

/// The anon probe, in a savepoint so a refusal neither aborts the diagnosis nor leaves the role set.
async fn anon_probe(tx: &mut ReadTx, table: &'static str) -> Result<AnonProbe, TargetError> {
    let statement = format!("SELECT count(*) FROM public.{table}");
    Ok(match tx.try_count("SET LOCAL ROLE anon", &statement).await {
        Ok(0) => AnonProbe::NoRows,
        Ok(n) => AnonProbe::RowsVisible(n),
        Err(sqlx::Error::Database(db)) => match db.code().as_deref() {
            Some("42501") => AnonProbe::Refused,
            Some("42P01") => AnonProbe::Missing,
            _ => AnonProbe::Failed(db.message().to_string()),
        },
        Err(error) => return Err(tx.error(error)),
    })
}

pub fn post(diagnosis: &AuthDiagnosis) -> Post {
    let leaks: Vec<&str> = diagnosis.anon.iter().filter(|(_, p)| matches!(p, AnonProbe::RowsVisible(_))).map(|(t, _)| t.as_str()).collect();
    let helpers_ok = diagnosis.helpers.iter().all(|h| matches!(h.answer, HelperAnswer::Answered(_)));
    let tone = if !leaks.is_empty() {
        Tone::Bad
    } else if !helpers_ok {
        Tone::Warning
    } else {
        Tone::Good
    };
    let verdict =
        if leaks.is_empty() { no_leak(&diagnosis.anon) } else { format!("LEAK: the anon role can read rows of {}.", leaks.join(", ")) };
    Post::new(tone, "Auth diagnosis")
        .body(format!("{} sign-up(s) in the last hour. {verdict}", diagnosis.signups_last_hour))
        .field("Helper functions", helpers_text(&diagnosis.helpers))
        .field("RLS policies", policies_text(&diagnosis.policies))
        .field("Anonymous probe", anon_text(&diagnosis.anon))
}

/// The summary when anon reads nothing, in the words the detail lines use: refused (no grant)
/// and no rows (row-level security) are different findings.
fn no_leak(probes: &[(String, AnonProbe)]) -> String {
    if probes.iter().all(|(_, p)| *p == AnonProbe::NoRows) {
        return "The anon role sees no rows of users, tenants or roles.".to_string();
    }
    let tables =
        |wanted: fn(&AnonProbe) -> bool| -> Vec<&str> { probes.iter().filter(|(_, p)| wanted(p)).map(|(t, _)| t.as_str()).collect() };
    let parts: Vec<String> = [
        ("is refused on", tables(|p| *p == AnonProbe::Refused)),
        ("sees no rows of", tables(|p| *p == AnonProbe::NoRows)),
        ("finds no table", tables(|p| *p == AnonProbe::Missing)),
        ("could not be probed on", tables(|p| matches!(p, AnonProbe::Failed(_)))),
    ]
    .into_iter()
    .filter(|(_, on)| !on.is_empty())
    .map(|(what, on)| format!("{what} {}", on.join(", ")))
    .collect();
    format!("anon {}.", parts.join("; "))
}

fn helpers_text(helpers: &[Helper]) -> String {
    let lines: Vec<String> = helpers
        .iter()
        .map(|h| match &h.answer {
            HelperAnswer::Missing => format!("{}() is missing", h.name),
            HelperAnswer::Answered(value) => format!("{}() → {}", h.name, crate::text::ellipsize(value, 200)),
            HelperAnswer::Failed(message) => format!("{}() fails: {}", h.name, crate::text::ellipsize(message, 200)),
        })
        .collect();
    lines.join("\n")
}

fn policies_text(policies: &[Policy]) -> String {
    let mut lines = Vec::new();
    for table in PROBED {
        let on_table: Vec<String> = policies
            .iter()
            .filter(|p| p.table == table)
            .map(|p| format!("{} ({} {} to {})", p.name, p.permissive.to_lowercase(), p.command, p.roles.join(", ")))
            .collect();
        let listed = if on_table.is_empty() { "no policy".to_string() } else { on_table.join("; ") };
        lines.push(format!("{table}: {listed}"));
    }
    crate::text::ellipsize(&lines.join("\n"), 1000)
}

fn anon_text(probes: &[(String, AnonProbe)]) -> String {
    let lines: Vec<String> = probes
        .iter()
        .map(|(table, probe)| match probe {
            AnonProbe::Refused => format!("{table}: refused (permission denied)"),
            AnonProbe::NoRows => format!("{table}: no rows visible"),
            AnonProbe::RowsVisible(n) => format!("{table}: {n} rows visible — a leak"),
            AnonProbe::Missing => format!("{table}: the table is missing"),
            AnonProbe::Failed(message) => format!("{table}: the probe failed: {}", crate::text::ellipsize(message, 200)),
        })
        .collect();
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diagnosis(anon: [AnonProbe; 3]) -> AuthDiagnosis {
        let helpers = vec![Helper { name: "is_super_admin".into(), answer: HelperAnswer::Answered("false".into()) }];
        let anon = PROBED.iter().map(|t| t.to_string()).zip(anon).collect();
        AuthDiagnosis { signups_last_hour: 2, helpers, policies: Vec::new(), anon }
    }

    #[test]
    fn the_summary_says_refused_when_anon_is_refused() {
        use AnonProbe::{Failed, Missing, NoRows, Refused};
        let cases = [
            ([Refused, Refused, Refused], "anon is refused on users, tenants, roles."),
            ([NoRows, NoRows, NoRows], "The anon role sees no rows of users, tenants or roles."),
            ([Refused, NoRows, NoRows], "anon is refused on users; sees no rows of tenants, roles."),
            (
                [NoRows, Missing, Failed("no role anon".into())],
                "anon sees no rows of users; finds no table tenants; could not be probed on roles.",
            ),
        ];
        for (probes, summary) in cases {
            let post = post(&diagnosis(probes));
            assert_eq!(post.body, format!("2 sign-up(s) in the last hour. {summary}"));
            assert_eq!(post.tone, Tone::Good);
        }
    }

    #[test]
    fn the_post_as_people_read_it() {
        let mut leaky = diagnosis([AnonProbe::RowsVisible(12), AnonProbe::NoRows, AnonProbe::Refused]);
        leaky.helpers.push(Helper { name: "get_user_tenant_id".into(), answer: HelperAnswer::Missing });
        leaky.policies.push(Policy {
            table: "users".into(),
            name: "users_read_own".into(),
            permissive: "PERMISSIVE".into(),
            roles: vec!["authenticated".into()],
            command: "SELECT".into(),
            using: Some("(id = auth.uid())".into()),
        });
        insta::assert_snapshot!(post(&leaky), @r#"
            [bad] Auth diagnosis
            2 sign-up(s) in the last hour. LEAK: the anon role can read rows of users.
            Helper functions: is_super_admin() → false
            get_user_tenant_id() is missing
            RLS policies: users: users_read_own (permissive SELECT to authenticated)
            tenants: no policy
            roles: no policy
            Anonymous probe: users: 12 rows visible — a leak
            tenants: no rows visible
            roles: refused (permission denied)
            "#);
    }
}
