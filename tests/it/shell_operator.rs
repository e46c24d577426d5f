//! `bellhop shell` against a real target is one person: the operating-system user. Typing or
//! reacting as someone else is refused, so a "two-person" approval cannot come from one
//! keyboard, and every audit row names the login and uid.

use bellhop::config::default_shell_users;
use bellhop::demo::fixture::{self, Scale};
use bellhop::shell::{virtual_start, Operator, Shell};
use bellhop_commands::remediation::PlanState;
use bellhop_commands::store::Store;
use bellhop_commands::templates::Templates;
use bellhop_commands::{Core, ManualClock};
use bellhop_tests::gate::{approval_number, fixture_target};
use bellhop_tests::settings;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::sync::Arc;

/// A shell on the fixture as the operator `ops-7` (uid 4242), who holds no `[shell.users]` entry.
async fn operator_shell(admin: &PgConnectOptions, dir: &tempfile::TempDir) -> (Shell<Vec<u8>>, Arc<Core>) {
    fixture::load(admin, Scale::TEST).await.expect("the fixture loads");
    let store = Store::connect(&format!("sqlite:{}", dir.path().join("bellhop.sqlite").display())).await.unwrap();
    store.migrate().await.unwrap();
    let operator = Operator { login: "ops-7".into(), uid: 4242 };
    let core =
        Core::new(settings("http://127.0.0.1:9", &[]), Templates::load(None).unwrap(), store, Arc::new(ManualClock::new(virtual_start())))
            .unwrap()
            .with_target(Some(fixture_target(admin)))
            .with_audit_note(format!("uid {}", operator.uid));
    let core = Arc::new(core);
    let shell = Shell::new(core.clone(), Vec::new(), None, Vec::new()).as_operator(operator.actor(&[]));
    (shell, core)
}

async fn type_line(shell: &mut Shell<Vec<u8>>, line: &str) -> String {
    let _ = shell.line(line).await.unwrap();
    String::from_utf8_lossy(&shell.printer().take()).into_owned()
}

#[sqlx::test(migrations = false)]
async fn against_a_real_target_the_shell_is_one_person(_: PgPoolOptions, admin: PgConnectOptions) {
    let dir = tempfile::tempdir().unwrap();
    let (mut shell, core) = operator_shell(&admin, &dir).await;
    let asked = type_line(&mut shell, "/flags disable names:new-tenant-flow").await;
    let number = approval_number(&asked, "PLAN-1");
    let refused = type_line(&mut shell, &format!("@bob react {number} ✅")).await;
    assert!(refused.contains("You are @ops-7 here") && refused.contains("`@bob` cannot type or react"), "{refused}");
    let refused = type_line(&mut shell, "@carol /health").await;
    assert!(refused.contains("cannot type or react"), "{refused}");
    let own = type_line(&mut shell, &format!("react {number} ✅")).await;
    assert!(!own.contains("PLAN-1 done"), "{own}");
    let plan = bellhop_commands::remediation::Plan::from_stored(core.store(), 1).await.unwrap().unwrap();
    assert_eq!(plan.state, PlanState::Pending, "nothing ran");
    let audit = core.store().recent_audit(20).await.unwrap();
    let asked = audit.iter().find(|e| e.command == "/flags disable").expect("the request is audited");
    assert_eq!((asked.actor_id.as_str(), asked.actor_name.as_str()), ("host:ops-7", "ops-7 · uid 4242"), "login and uid");
    assert!(audit.iter().all(|e| e.actor_name.ends_with("· uid 4242")), "every row says so: {audit:?}");
    assert!(audit.iter().all(|e| !e.actor_id.starts_with("shell:")), "nobody of the demo's cast: {audit:?}");
    let users = type_line(&mut shell, ":users").await;
    assert!(users.contains("@ops-7 (responder)") && !users.contains("@bob"), "{users}");
    assert!(default_shell_users().iter().any(|u| u.name == "bob"), "the cast exists, for the demo and rehearsals only");
}
