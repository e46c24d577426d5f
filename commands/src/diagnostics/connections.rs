//! `/db connections`: client connections to the target's database by state and the longest-running
//! active query, not counting bellhop's own connection nor the server's background processes.

use super::slow_queries::short_query;
use crate::post::{Post, Tone};
use crate::target_db::{TargetDb, TargetError};
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Connections {
    /// (state, count), most common first; a connection whose state bellhop may not see is "unknown".
    pub by_state: Vec<(String, i64)>,
    pub longest_active: Option<ActiveQuery>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ActiveQuery {
    pub pid: i32,
    pub user: Option<String>,
    pub application: Option<String>,
    pub seconds: f64,
    pub query: String,
}

impl Connections {
    pub fn total(&self) -> i64 {
        self.by_state.iter().map(|(_, n)| n).sum()
    }

    pub fn count(&self, state: &str) -> i64 {
        self.by_state.iter().find(|(s, _)| s == state).map_or(0, |(_, n)| *n)
    }
}

/// pid, user, application, seconds, query.
type ActiveRow = (i32, Option<String>, Option<String>, f64, Option<String>);

const BY_STATE: &str = "
SELECT coalesce(state, 'unknown'), count(*)
FROM pg_stat_activity
WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND datname = current_database()
GROUP BY 1 ORDER BY 2 DESC, 1";

const LONGEST_ACTIVE: &str = "
SELECT pid, usename::text, application_name, extract(epoch FROM now() - query_start)::float8, query
FROM pg_stat_activity
WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND datname = current_database() AND state = 'active' AND query_start IS NOT NULL
ORDER BY query_start
LIMIT 1";

pub async fn run(target: &TargetDb) -> Result<Connections, TargetError> {
    let mut tx = target.read().await?;
    let by_state = sqlx::query_as(BY_STATE).fetch_all(tx.conn()).await.map_err(|e| tx.error(e))?;
    let longest: Option<ActiveRow> = sqlx::query_as(LONGEST_ACTIVE).fetch_optional(tx.conn()).await.map_err(|e| tx.error(e))?;
    let longest_active = longest.map(|(pid, user, application, seconds, query)| ActiveQuery {
        pid,
        user,
        application: application.filter(|a| !a.is_empty()),
        seconds: seconds.max(0.0),
        query: query.unwrap_or_default(),
    });
    Ok(Connections { by_state, longest_active })
}

pub fn post(connections: &Connections) -> Post {
    let states: Vec<String> = connections.by_state.iter().map(|(state, n)| format!("{state} {n}")).collect();
    let body = if states.is_empty() {
        "No client connection besides bellhop's own.".to_string()
    } else {
        format!("{} client connection(s) besides bellhop's own: {}.", connections.total(), states.join(", "))
    };
    let mut post = Post::new(Tone::Info, "Database connections").body(body);
    post = match &connections.longest_active {
        None => post.field("Longest active query", "none running"),
        Some(q) => {
            let who = q.user.as_deref().unwrap_or("unknown user");
            let app = q.application.as_deref().map(|a| format!(", {a}")).unwrap_or_default();
            post.field("Longest active query", format!("{} (pid {}, {who}{app})\n`{}`", age(q.seconds), q.pid, short_query(&q.query)))
        }
    };
    if connections.longest_active.as_ref().is_some_and(|q| q.seconds >= 60.0) {
        post.tone = Tone::Warning;
    }
    post
}

/// "4.2 s", "3 min 5 s", "2 h 1 min".
fn age(seconds: f64) -> String {
    if seconds < 60.0 {
        return format!("{seconds:.1} s");
    }
    let whole = seconds as u64;
    if whole < 3600 {
        format!("{} min {} s", whole / 60, whole % 60)
    } else {
        format!("{} h {} min", whole / 3600, whole / 60 % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_as_people_say_them() {
        assert_eq!(age(4.21), "4.2 s");
        assert_eq!(age(185.0), "3 min 5 s");
        assert_eq!(age(7260.0), "2 h 1 min");
        assert_eq!(age(f64::MAX), format!("{} h {} min", u64::MAX / 3600, u64::MAX / 60 % 60));
    }

    #[test]
    fn the_post_as_people_read_it() {
        let busy = Connections {
            by_state: vec![("idle".into(), 41), ("active".into(), 6), ("idle in transaction".into(), 2)],
            longest_active: Some(ActiveQuery {
                pid: 4242,
                user: Some("authenticator".into()),
                application: Some("postgrest".into()),
                seconds: 185.0,
                query: "SELECT * FROM public.users WHERE tenant_id = $1".into(),
            }),
        };
        insta::assert_snapshot!(post(&busy), @r#"
            [warning] Database connections
            49 client connection(s) besides bellhop's own: idle 41, active 6, idle in transaction 2.
            Longest active query: 3 min 5 s (pid 4242, authenticator, postgrest)
            `SELECT * FROM public.users WHERE tenant_id = $1`
            "#);
        insta::assert_snapshot!(post(&Connections { by_state: vec![("idle".into(), 3)], longest_active: None }), @r#"
            [info] Database connections
            3 client connection(s) besides bellhop's own: idle 3.
            Longest active query: none running
            "#);
    }
}
