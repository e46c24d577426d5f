//! `/flags list`: the platform's feature flags and whether each is on (read-only).

use crate::post::{Post, Tone};
use crate::target_db::{TargetDb, TargetError};
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Flag {
    pub name: String,
    pub enabled: bool,
}

const FLAGS: &str = "SELECT flag_name, is_enabled FROM public.feature_flags ORDER BY flag_name";

pub async fn run(target: &TargetDb) -> Result<Vec<Flag>, TargetError> {
    let mut tx = target.read().await?;
    let rows: Vec<(String, Option<bool>)> = sqlx::query_as(FLAGS).fetch_all(tx.conn()).await.map_err(|e| tx.error(e))?;
    Ok(rows.into_iter().map(|(name, enabled)| Flag { name, enabled: enabled.unwrap_or(false) }).collect())
}

pub fn post(flags: &[Flag]) -> Post {
    if flags.is_empty() {
        return Post::new(Tone::Info, "Feature flags").body("public.feature_flags has no rows.");
    }
    let on = flags.iter().filter(|f| f.enabled).count();
    let lines: Vec<String> =
        flags.iter().map(|f| format!("{} `{}`", if f.enabled { "on " } else { "off" }, crate::text::ellipsize(&f.name, 80))).collect();
    Post::new(Tone::Info, "Feature flags").body(format!("{on} of {} on:\n{}", flags.len(), lines.join("\n")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_post_as_people_read_it() {
        let flags =
            [Flag { name: "enhanced-invite-system".into(), enabled: true }, Flag { name: "trial-signup-v2".into(), enabled: false }];
        insta::assert_snapshot!(post(&flags), @r#"
            [info] Feature flags
            1 of 2 on:
            on  `enhanced-invite-system`
            off `trial-signup-v2`
            "#);
        insta::assert_snapshot!(post(&[]), @r#"
            [info] Feature flags
            public.feature_flags has no rows.
            "#);
    }
}
