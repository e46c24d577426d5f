//! `names:` of `/flags disable` and `/flags enable` autocompletes from the target's feature
//! flags: Core::suggest against the Supabase-shaped fixture on the real PostgreSQL.

use bellhop::demo::fixture::{self, Scale};
use bellhop_commands::command::spec::Suggest;
use bellhop_commands::store::Store;
use bellhop_commands::target_db::{TargetDb, TargetSettings};
use bellhop_commands::templates::Templates;
use bellhop_commands::{Core, ManualClock};
use bellhop_tests::settings;
use secrecy::SecretString;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection};
use std::sync::Arc;
use std::time::{Duration, Instant};

async fn core(target: Option<TargetDb>, dir: &tempfile::TempDir) -> Core {
    let store = Store::connect(&format!("sqlite:{}", dir.path().join("bellhop.sqlite").display())).await.expect("the store opens");
    store.migrate().await.expect("the store migrates");
    let clock = Arc::new(ManualClock::new(bellhop::shell::virtual_start()));
    let core = Core::new(settings("http://127.0.0.1:9", &[]), Templates::load(None).expect("templates"), store, clock);
    core.expect("the core builds").with_target(target)
}

fn target(options: &PgConnectOptions) -> TargetDb {
    let url = SecretString::from(options.to_url_lossy().to_string());
    TargetDb::new(&TargetSettings { url, statement_timeout: Duration::from_secs(5), write_timeout: Duration::from_secs(60) })
        .expect("a valid target URL")
}

/// Someone who may see suggestions: a responder.
fn responder() -> bellhop_commands::Actor {
    bellhop_commands::Actor::new("discord:7", "rui", [bellhop_commands::Role::Responder])
}

async fn values(core: &Core, typed: &str) -> Vec<String> {
    core.suggest(&responder(), Suggest::FlagNames, typed).await.into_iter().map(|(_, value)| value).collect()
}

#[sqlx::test(migrations = false)]
async fn flag_names_complete_from_the_target_keeping_the_names_typed_before(_: PgPoolOptions, admin: PgConnectOptions) {
    fixture::load(&admin, Scale::TEST).await.expect("the fixture loads");
    let dir = tempfile::tempdir().unwrap();
    let core = core(Some(target(&fixture::as_bellhop(&admin))), &dir).await;

    let all = core.suggest(&responder(), Suggest::FlagNames, "").await;
    let labels: Vec<&str> = all.iter().map(|(label, _)| label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "enhanced-invite-system · on",
            "housekeeping-board · on",
            "maintenance-banner · off",
            "new-tenant-flow · on",
            "trial-signup-v2 · off"
        ],
        "every flag of the seed, with its state"
    );
    assert_eq!(
        values(&core, "E").await,
        ["enhanced-invite-system", "housekeeping-board", "maintenance-banner", "new-tenant-flow"],
        "names containing `e`, any case, the one starting with it first"
    );
    assert_eq!(
        core.suggest(&responder(), Suggest::FlagNames, "new-tenant-flow, Tri").await,
        [("trial-signup-v2 · off · after new-tenant-flow".to_string(), "new-tenant-flow,trial-signup-v2".to_string())],
        "the last name is completed, the earlier one kept"
    );
    assert_eq!(
        values(&core, "new-tenant-flow,housekeeping-board, ").await,
        [
            "new-tenant-flow,housekeeping-board,enhanced-invite-system",
            "new-tenant-flow,housekeeping-board,maintenance-banner",
            "new-tenant-flow,housekeeping-board,trial-signup-v2"
        ],
        "a name already listed is not offered again"
    );
    for typed in ["%", "_", "new-tenant-flow, %", "'; DROP TABLE public.feature_flags; --", "\\"] {
        assert_eq!(values(&core, typed).await, Vec::<String>::new(), "{typed} is text, not a pattern or SQL");
    }
    let mut su = admin.connect().await.unwrap();
    let flags: i64 = sqlx::query_scalar("SELECT count(*) FROM public.feature_flags").fetch_one(&mut su).await.unwrap();
    assert_eq!(flags, 5);
}

#[sqlx::test(migrations = false)]
async fn no_target_a_target_that_is_down_or_a_locked_table_give_no_suggestions_quickly(_: PgPoolOptions, admin: PgConnectOptions) {
    fixture::load(&admin, Scale::TEST).await.expect("the fixture loads");
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(values(&core(None, &dir).await, "new").await, Vec::<String>::new(), "no target configured");

    let down = core(Some(target(&fixture::as_bellhop(&admin).port(1))), &dir).await;
    let started = Instant::now();
    assert_eq!(values(&down, "new").await, Vec::<String>::new(), "nothing listens on port 1");
    assert!(started.elapsed() < Duration::from_secs(2), "answered in {:?}, inside Discord's 3 s", started.elapsed());

    // Someone holds the flags table (an ALTER TABLE, say): the suggestion gives up, it does not queue.
    let up = core(Some(target(&fixture::as_bellhop(&admin))), &dir).await;
    let mut su = admin.connect().await.unwrap();
    let mut holding = su.begin().await.unwrap();
    sqlx::query("LOCK TABLE public.feature_flags IN ACCESS EXCLUSIVE MODE").execute(&mut *holding).await.unwrap();
    let started = Instant::now();
    assert_eq!(values(&up, "new").await, Vec::<String>::new(), "the table is locked");
    assert!(started.elapsed() < Duration::from_secs(2), "answered in {:?}, inside Discord's 3 s", started.elapsed());
    holding.rollback().await.unwrap();
    assert_eq!(values(&up, "new").await, ["new-tenant-flow"], "and suggests again once the lock is gone");
}

/// Suggestions that read the target are for people with a bellhop role, one at a time each: while
/// one person's is waiting on the target, their next keystroke gets nothing at once, someone
/// else's still waits its turn on the target, and nobody queues more than one query.
#[sqlx::test(migrations = false)]
async fn only_people_with_a_role_get_suggestions_and_one_query_each_at_a_time(_: PgPoolOptions, admin: PgConnectOptions) {
    fixture::load(&admin, Scale::TEST).await.expect("the fixture loads");
    let dir = tempfile::tempdir().unwrap();
    let core = Arc::new(core(Some(target(&fixture::as_bellhop(&admin))), &dir).await);
    let nobody = bellhop_commands::Actor::new("discord:9", "stranger", []);
    assert!(core.suggest(&nobody, Suggest::FlagNames, "new").await.is_empty(), "no role, no suggestions");
    // Someone holds the flags table: a suggestion waits on it until its short timeout.
    let mut su = admin.connect().await.unwrap();
    let mut holding = su.begin().await.unwrap();
    sqlx::query("LOCK TABLE public.feature_flags IN ACCESS EXCLUSIVE MODE").execute(&mut *holding).await.unwrap();
    let waiting = {
        let core = core.clone();
        tokio::spawn(async move { core.suggest(&responder(), Suggest::FlagNames, "new").await })
    };
    let mut watcher = admin.connect().await.unwrap();
    // This test's database only: other tests' bellhops on the same server may be waiting on locks too.
    let waits_on_the_table = "SELECT count(*) FROM pg_stat_activity
        WHERE application_name = 'bellhop' AND wait_event_type = 'Lock' AND datname = current_database()";
    let mut seen = 0;
    for _ in 0..100 {
        seen = sqlx::query_scalar::<_, i64>(waits_on_the_table).fetch_one(&mut watcher).await.unwrap();
        if seen == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(seen, 1, "the first suggestion waits on the locked table");
    let started = Instant::now();
    assert!(core.suggest(&responder(), Suggest::FlagNames, "new-").await.is_empty());
    assert!(started.elapsed() < Duration::from_millis(200), "the same person's next one answers at once: {:?}", started.elapsed());
    let seen: i64 = sqlx::query_scalar(waits_on_the_table).fetch_one(&mut watcher).await.unwrap();
    assert_eq!(seen, 1, "and queued no second query on the target");
    holding.rollback().await.unwrap();
    waiting.await.unwrap();
    let again = core.suggest(&responder(), Suggest::FlagNames, "new-").await;
    assert_eq!(again.len(), 1, "once the first one ended, the person's turn is back: {again:?}");
}
