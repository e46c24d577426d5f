//! `/migrations rollback` against the Supabase-shaped fixture on the real PostgreSQL: the down
//! file and the version's deletion in one transaction, the runbook's verification rolling it back,
//! hostile versions and down files, a file changed after approval, dry runs and what the
//! approval post shows.

use bellhop::demo::fixture;
use bellhop_commands::remediation::PlanState;
use bellhop_commands::remediation::{rollback, rollback_file};
use bellhop_commands::Invocation;
use bellhop_tests::gate::{alice, bob, carol, fixture_target, Gate};
use sha2::{Digest, Sha256};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

const VERSION: &str = "20250922140000";
const FILE: &str = "20250922140000.down.sql";
const USERS_AND_TENANTS: &str = "SELECT (SELECT count(*) FROM public.users) * 1000 + (SELECT count(*) FROM public.tenants)";
const VERSION_APPLIED: &str = "SELECT count(*) FROM supabase_migrations.schema_migrations WHERE version = '20250922140000'";

/// Replaces the down file in the rollbacks folder.
fn write(gate: &Gate, sql: &str) {
    std::fs::write(gate.rollbacks.join(FILE), sql).unwrap();
}

fn rollback(version: &str) -> Invocation {
    Invocation::new("migrations rollback").option("version", version)
}

/// The fixture's down file as the plan must show it: `File `…`: N bytes, sha256 `…`.`
fn fixture_file_line() -> String {
    let sql = fixture::ROLLBACKS.iter().find(|(name, _)| *name == FILE).expect("the fixture has the down file").1;
    let sha = hex::encode(Sha256::digest(sql.as_bytes()));
    format!("File `{FILE}`: {} bytes, sha256 `{}`.", sql.len(), &sha[..12])
}

#[sqlx::test(migrations = false)]
async fn an_approved_rollback_runs_the_down_file_and_deletes_the_version(_: PgPoolOptions, admin: PgConnectOptions) {
    let gate = Gate::start(&admin).await;
    let reply = gate.ask(&alice(), rollback(VERSION)).await;
    assert_eq!(reply.post.title, "PLAN-1 waits for approval", "{}", reply.post.body);
    assert!(gate.flag("enhanced-invite-system").await, "nothing runs before the approvals");
    gate.approve(1, &[bob(), carol()]).await;
    let plan = gate.plan(1).await;
    let outcome = plan.outcome.clone().unwrap();
    assert_eq!(plan.state, PlanState::Done, "{outcome:?}");
    assert!(!gate.flag("enhanced-invite-system").await, "the down file ran");
    assert_eq!(gate.count(VERSION_APPLIED).await, 0, "the version is forgotten");
    assert_eq!(gate.count("SELECT count(*) FROM supabase_migrations.schema_migrations").await, 7, "only that version");
    assert_eq!(outcome.rows, 1);
    assert_eq!(
        outcome.verification,
        format!("ran `{FILE}` and deleted version `{VERSION}`; users 490 → 490, tenants 40 → 40 (tolerance 1 %)")
    );
    assert_eq!((outcome.figures["users_before"], outcome.figures["users_after"]), (490, 490));
    assert_eq!(gate.port.edits.lock().unwrap().last().unwrap().1, "PLAN-1 done");
}

#[sqlx::test(migrations = false)]
async fn a_down_file_deleting_users_beyond_the_tolerance_leaves_the_database_unchanged(_: PgPoolOptions, admin: PgConnectOptions) {
    let gate = Gate::start(&admin).await;
    // Hosted `postgres` may drop tables it owns; give the fixture's login one to drop.
    sqlx::raw_sql("ALTER TABLE public.import_staging OWNER TO bellhop_ops").execute(&mut gate.su().await).await.unwrap();
    write(
        &gate,
        "DROP TABLE public.import_staging;\n\
         DELETE FROM public.users WHERE id IN (SELECT id FROM public.users ORDER BY id LIMIT 50);\n",
    );
    let before = gate.count(USERS_AND_TENANTS).await;
    gate.ask(&alice(), rollback(VERSION)).await;
    gate.approve(1, &[bob(), carol()]).await;
    let plan = gate.plan(1).await;
    assert_eq!(plan.state, PlanState::Failed);
    assert_eq!(
        plan.outcome.unwrap().error.unwrap(),
        "Verification failed: users 490 → 440, tenants 40 → 40 (tolerance 1 %). Rolled back; nothing changed."
    );
    assert_eq!(gate.count(USERS_AND_TENANTS).await, before, "the users are back");
    assert_eq!(gate.count("SELECT count(*) FROM public.import_staging").await, 12, "the dropped table is back");
    assert_eq!(gate.count(VERSION_APPLIED).await, 1, "the version is still recorded");
    assert_eq!(gate.port.edits.lock().unwrap().last().unwrap().1, "PLAN-1 failed");
}

#[sqlx::test(migrations = false)]
async fn a_drop_within_the_tolerance_commits(_: PgPoolOptions, admin: PgConnectOptions) {
    let gate = Gate::with(&admin, |s| s.rollback_tolerance_percent = 20).await;
    write(&gate, "DELETE FROM public.users WHERE id IN (SELECT id FROM public.users ORDER BY id LIMIT 50);");
    gate.ask(&alice(), rollback(VERSION)).await;
    gate.approve(1, &[bob(), carol()]).await;
    let plan = gate.plan(1).await;
    assert_eq!(plan.state, PlanState::Done, "{:?}", plan.outcome);
    assert!(plan.outcome.unwrap().verification.ends_with("users 490 → 440, tenants 40 → 40 (tolerance 20 %)"));
    assert_eq!(gate.count("SELECT count(*) FROM public.users").await, 440);
    assert_eq!(gate.count(VERSION_APPLIED).await, 0);
}

#[sqlx::test(migrations = false)]
async fn a_failing_statement_in_the_file_rolls_back_what_ran_before_it(_: PgPoolOptions, admin: PgConnectOptions) {
    let gate = Gate::start(&admin).await;
    write(
        &gate,
        "UPDATE public.feature_flags SET is_enabled = false WHERE flag_name = 'new-tenant-flow';\nSELECT no_such_column FROM public.users;",
    );
    gate.ask(&alice(), rollback(VERSION)).await;
    gate.approve(1, &[bob(), carol()]).await;
    let plan = gate.plan(1).await;
    assert_eq!(plan.state, PlanState::Failed);
    let error = plan.outcome.unwrap().error.unwrap();
    assert!(error.starts_with(&format!("`{FILE}` failed: ")), "{error}");
    assert!(error.contains("column \"no_such_column\" does not exist") && error.ends_with("Rolled back; nothing changed."), "{error}");
    assert!(gate.flag("new-tenant-flow").await, "the first statement is undone");
    assert_eq!(gate.count(VERSION_APPLIED).await, 1);
}

#[sqlx::test(migrations = false)]
async fn unknown_and_malformed_versions_are_refused_in_one_sentence(_: PgPoolOptions, admin: PgConnectOptions) {
    let gate = Gate::start(&admin).await;
    let not_a_version = |text: &str| {
        format!("`version:` `{text}` is not a migration version: up to 32 digits, like 20250922140000 (/migrations status lists them).")
    };
    let cases = [
        ("../../etc/passwd".to_string(), not_a_version("../../etc/passwd")),
        ("'; DROP TABLE users; --".to_string(), not_a_version("'; DROP TABLE users; --")),
        ("2025.down.sql/../1".to_string(), not_a_version("2025.down.sql/../1")),
        (String::new(), "`/migrations rollback` needs `version:` (the version, like 20250922140000, as /migrations status lists it). Usage: /migrations rollback version:… [dry_run:…]".to_string()),
        ("9".repeat(1000), "`version:` is too long (1000 characters; at most 32).".to_string()),
        (
            "20250918090000".to_string(),
            "There is no rollback file `20250918090000.down.sql` in the rollbacks folder (BELLHOP_ROLLBACKS_DIR).".to_string(),
        ),
    ];
    for (text, sentence) in cases {
        assert_eq!(gate.ask(&alice(), rollback(&text)).await.post.body, sentence, "{text:.40}");
    }
    // A version with a down file but not applied: the latest five are listed.
    std::fs::write(gate.rollbacks.join("20991231000000.down.sql"), "SELECT 1;").unwrap();
    assert_eq!(
        gate.ask(&alice(), rollback("20991231000000")).await.post.body,
        "No applied migration has the version `20991231000000`; the latest are `20250922140000`, `20250918090000`, \
         `20250910143000`, `20250901101000`, `20250820160000`."
    );
    assert!(gate.port.posts.lock().unwrap().is_empty(), "no plan, no approval post");
    assert!(gate.core.store().plan(1).await.unwrap().is_none());
    assert_eq!(gate.count("SELECT count(*) FROM public.users").await, 490);
    assert_eq!(gate.count("SELECT count(*) FROM supabase_migrations.schema_migrations").await, 8);
}

#[sqlx::test(migrations = false)]
async fn files_that_could_escape_the_transaction_or_the_folder_are_refused(_: PgPoolOptions, admin: PgConnectOptions) {
    let gate = Gate::start(&admin).await;
    write(&gate, "BEGIN;\nDELETE FROM public.users;\nCOMMIT;\n");
    assert_eq!(
        gate.ask(&alice(), rollback(VERSION)).await.post.body,
        format!(
            "The rollback file `{FILE}`: statement 1 starts or ends a transaction; bellhop runs the file in its own \
             transaction, so leave out BEGIN, COMMIT and ROLLBACK."
        )
    );
    let outside = gate.dir.path().join("elsewhere.sql");
    std::fs::write(&outside, "DELETE FROM public.users;").unwrap();
    std::fs::remove_file(gate.rollbacks.join(FILE)).unwrap();
    std::os::unix::fs::symlink(&outside, gate.rollbacks.join(FILE)).unwrap();
    assert_eq!(
        gate.ask(&alice(), rollback(VERSION)).await.post.body,
        format!("The rollback file `{FILE}` links outside the rollbacks folder; bellhop refuses it.")
    );
    assert!(gate.port.posts.lock().unwrap().is_empty(), "no plan, no approval post");
    assert_eq!(gate.count("SELECT count(*) FROM public.users").await, 490);
}

#[sqlx::test(migrations = false)]
async fn without_a_rollbacks_folder_the_reply_names_the_setting(_: PgPoolOptions, admin: PgConnectOptions) {
    let gate = Gate::with(&admin, |s| s.rollbacks_dir = None).await;
    assert_eq!(
        gate.ask(&alice(), rollback(VERSION)).await.post.body,
        "bellhop has no rollbacks folder: set BELLHOP_ROLLBACKS_DIR to the folder of the <version>.down.sql files."
    );
    assert!(gate.port.posts.lock().unwrap().is_empty());
}

#[sqlx::test(migrations = false)]
async fn a_file_changed_after_approval_is_not_run(_: PgPoolOptions, admin: PgConnectOptions) {
    let gate = Gate::start(&admin).await;
    gate.ask(&alice(), rollback(VERSION)).await;
    let approved = gate.plan(1).await;
    write(&gate, "DELETE FROM public.users;");
    gate.approve(1, &[bob(), carol()]).await;
    let plan = gate.plan(1).await;
    assert_eq!(plan.state, PlanState::Failed);
    let error = plan.outcome.unwrap().error.unwrap();
    let bellhop_commands::remediation::Action::RollbackMigration { sha256, .. } = &approved.action else { panic!("{approved:?}") };
    let expected_tail = format!("approved `{}`); nothing ran. Ask again to approve the new file.", &sha256[..12]);
    assert!(error.starts_with(&format!("The file `{FILE}` changed since approval (sha256 now `")), "{error}");
    assert!(error.ends_with(&expected_tail), "{error}");
    assert_eq!(gate.count("SELECT count(*) FROM public.users").await, 490);
    assert!(gate.flag("enhanced-invite-system").await);
    assert_eq!(gate.count(VERSION_APPLIED).await, 1);
}

#[sqlx::test(migrations = false)]
async fn a_dry_run_shows_the_file_and_changes_nothing(_: PgPoolOptions, admin: PgConnectOptions) {
    let gate = Gate::start(&admin).await;
    let reply = gate.ask(&alice(), rollback(VERSION).option("dry_run", "true")).await;
    assert_eq!(reply.post.title, "Dry run: /migrations rollback");
    assert!(reply.post.body.contains(&fixture_file_line()), "{}", reply.post.body);
    assert!(reply.post.body.ends_with("Nothing was asked and nothing ran."));
    assert!(gate.port.posts.lock().unwrap().is_empty());
    assert!(gate.core.store().plan(1).await.unwrap().is_none());
    assert!(gate.flag("enhanced-invite-system").await);
    assert_eq!(gate.count(VERSION_APPLIED).await, 1);
}

#[sqlx::test(migrations = false)]
async fn the_approval_post_shows_the_sql_beside_the_file_name_size_and_hash(_: PgPoolOptions, admin: PgConnectOptions) {
    let gate = Gate::start(&admin).await;
    gate.ask(&alice(), rollback(VERSION)).await;
    assert_eq!(gate.port.titles(), ["Approval needed: PLAN-1 · /migrations rollback"]);
    let post = gate.port.posts.lock().unwrap()[0].1.clone();
    let lines: Vec<&str> = post.body.lines().collect();
    assert_eq!(
        lines[..4],
        [
            "Roll back the migration `20250922140000`: run `20250922140000.down.sql` and delete the version from \
             supabase_migrations.schema_migrations in one transaction, committed only if users and tenants hold.",
            "Migration `20250922140000` (latest_invite_fixes).",
            fixture_file_line().as_str(),
            "Now 490 user(s) and 40 tenant(s); the transaction rolls back if either drops beyond the tolerance.",
        ],
        "{}",
        post.body
    );
    let sql = fixture::ROLLBACKS[0].1;
    let sha = hex::encode(Sha256::digest(sql.as_bytes()));
    let code: Vec<&str> = sql.lines().collect();
    assert_eq!(lines[4], format!("The SQL of `{FILE}` (sha256 `{sha}`), whole, also attached:"));
    assert_eq!(lines[5..7 + code.len()], [["```sql"].as_slice(), &code, &["```"]].concat(), "{}", post.body);
    assert!(lines[7 + code.len()].starts_with("Needs 2 more ✅"), "{}", post.body);
    assert_eq!(post.attachments.len(), 1);
    assert_eq!((post.attachments[0].filename.as_str(), post.attachments[0].text()), (FILE, Some(sql)));
    // Edits leave the file where it is; the excerpt stays in the text.
    gate.approve(1, &[bob()]).await;
    let edited = gate.post(1).await;
    assert!(edited.attachments.is_empty() && edited.body.contains("```sql\n-- Down for 20250922140000"), "{}", edited.body);
    assert_eq!(gate.plan(1).await.preview.rows, 1);
}

/// The issue's down file: a `$€$` string the old lexer misread, then a COMMIT, then 30 users gone.
const EURO_COMMIT: &str = "SELECT $€$ it's $€$; COMMIT; \
    DELETE FROM public.users WHERE id IN (SELECT id FROM public.users ORDER BY id LIMIT 30);";
/// `€$a$` and `z$a$` are identifiers ending in `$`; read as a `$a$` quote, they hid the COMMIT.
const IDENTIFIER_COMMIT: &str = "SELECT 1 AS €$a$; COMMIT; \
    DELETE FROM public.users WHERE id IN (SELECT id FROM public.users ORDER BY id LIMIT 30); SELECT 2 AS z$a$;";
const MARK: &str = "UPDATE public.feature_flags SET is_enabled = false WHERE flag_name = 'new-tenant-flow';\n";
const ENDS_THE_TRANSACTION: &str = "starts or ends a transaction (BEGIN, COMMIT, ROLLBACK, SAVEPOINT, or a procedure that commits), \
    which PostgreSQL refuses inside bellhop's transaction. Rolled back; nothing changed.";

/// Puts the version back in the history, so the next plan can roll it back again.
async fn reapply(gate: &Gate) {
    let sql = "INSERT INTO supabase_migrations.schema_migrations (version, name) VALUES ('20250922140000', 'latest_invite_fixes') \
               ON CONFLICT DO NOTHING";
    sqlx::raw_sql(sql).execute(&mut gate.su().await).await.unwrap();
}

#[sqlx::test(migrations = false)]
async fn down_files_that_end_the_transaction_are_refused_before_anyone_is_asked(_: PgPoolOptions, admin: PgConnectOptions) {
    let gate = Gate::start(&admin).await;
    for sql in [EURO_COMMIT, IDENTIFIER_COMMIT] {
        write(&gate, sql);
        assert_eq!(
            gate.ask(&alice(), rollback(VERSION)).await.post.body,
            format!(
                "The rollback file `{FILE}`: statement 2 starts or ends a transaction; bellhop runs the file in its own \
                 transaction, so leave out BEGIN, COMMIT and ROLLBACK."
            ),
            "{sql}"
        );
    }
    write(&gate, "SELECT 1;\0COMMIT;");
    assert_eq!(
        gate.ask(&alice(), rollback(VERSION)).await.post.body,
        format!("The rollback file `{FILE}` holds a NUL character, which PostgreSQL cannot take.")
    );
    assert!(gate.port.posts.lock().unwrap().is_empty(), "no plan, no approval post");
    assert!(gate.core.store().plan(1).await.unwrap().is_none());
    assert_eq!(gate.count("SELECT count(*) FROM public.users").await, 490);
}

/// Were the early check wrong, PostgreSQL still refuses: `rollback::execute` is what runs an
/// approved plan, and only the file's hash and the server judge the file there.
#[sqlx::test(migrations = false)]
async fn postgres_itself_refuses_a_down_file_that_ends_the_transaction(_: PgPoolOptions, admin: PgConnectOptions) {
    let gate = Gate::start(&admin).await;
    let target = fixture_target(&admin);
    let nested = "DO $$ BEGIN DELETE FROM public.users WHERE id IN (SELECT id FROM public.users ORDER BY id LIMIT 30); COMMIT; END $$;";
    let savepoint = "SAVEPOINT s; DELETE FROM public.users WHERE id IN (SELECT id FROM public.users ORDER BY id LIMIT 30); RELEASE s;";
    let rollback_first = "ROLLBACK; DELETE FROM public.users WHERE id IN (SELECT id FROM public.users ORDER BY id LIMIT 30);";
    for (hostile, seen_early) in
        [(EURO_COMMIT, true), (IDENTIFIER_COMMIT, true), (rollback_first, true), (nested, false), (savepoint, false)]
    {
        let sql = format!("{MARK}{hostile}");
        assert_eq!(rollback_file::escaping_statement(&sql).is_some(), seen_early, "{hostile}");
        write(&gate, &sql);
        let sha256 = hex::encode(Sha256::digest(sql.as_bytes()));
        let error = rollback::execute(&target, &gate.remediation, VERSION, &sha256).await.unwrap_err();
        assert_eq!(error, format!("`{FILE}` {ENDS_THE_TRANSACTION}"), "{hostile}");
        assert_eq!(gate.count("SELECT count(*) FROM public.users").await, 490, "{hostile}");
        assert!(gate.flag("new-tenant-flow").await, "the statement before it is undone: {hostile}");
        assert_eq!(gate.count(VERSION_APPLIED).await, 1, "{hostile}");
    }
}

#[sqlx::test(migrations = false)]
async fn look_alikes_of_transaction_control_run_as_written(_: PgPoolOptions, admin: PgConnectOptions) {
    let gate = Gate::start(&admin).await;
    // Hosted `postgres` may alter tables it owns; give the fixture's login one to alter.
    sqlx::raw_sql("ALTER TABLE public.import_staging OWNER TO bellhop_ops").execute(&mut gate.su().await).await.unwrap();
    let files = [
        "SELECT $€$ COMMIT; ROLLBACK; $€$;",
        "SET LOCAL lock_timeout = '1s';\nSET LOCAL search_path = public;",
        "-- COMMIT;\n/* ROLLBACK; /* nested */ COMMIT; */\nSELECT 'COMMIT; it''s', E'\\' COMMIT';",
        "SELECT 1 AS a$, 2 AS é$b$;",
        "ALTER TABLE public.import_staging ADD COLUMN note text;\n\
         DO $body$ BEGIN UPDATE public.import_staging SET note = 'COMMIT'; END $body$;",
    ];
    for (n, file) in files.iter().enumerate() {
        let id = i64::try_from(n).unwrap() + 1;
        let description = format!("look-alike {id}");
        let mark = format!("UPDATE public.feature_flags SET description = '{description}' WHERE flag_name = 'new-tenant-flow';");
        write(&gate, &format!("{file}\n{mark}\n"));
        reapply(&gate).await;
        let reply = gate.ask(&alice(), rollback(VERSION)).await;
        assert_eq!(reply.post.title, format!("PLAN-{id} waits for approval"), "{file}: {}", reply.post.body);
        gate.approve(id, &[bob(), carol()]).await;
        let plan = gate.plan(id).await;
        assert_eq!(plan.state, PlanState::Done, "{file}: {:?}", plan.outcome);
        let now: String = sqlx::query_scalar("SELECT description FROM public.feature_flags WHERE flag_name = 'new-tenant-flow'")
            .fetch_one(&mut gate.su().await)
            .await
            .unwrap();
        assert_eq!(now, description, "{file}");
    }
    assert_eq!(gate.count("SELECT count(*) FROM public.import_staging WHERE note = 'COMMIT'").await, 12, "DDL and a DO block ran");
}

#[sqlx::test(migrations = false)]
async fn session_settings_a_down_file_makes_do_not_outlive_it(_: PgPoolOptions, admin: PgConnectOptions) {
    let gate = Gate::start(&admin).await;
    write(
        &gate,
        "SELECT set_config('application_name', 'leaked', false), set_config('search_path', 'nowhere', false),\n\
                set_config('default_transaction_read_only', 'on', false);\n\
         UPDATE public.feature_flags SET is_enabled = false WHERE flag_name = 'new-tenant-flow';",
    );
    gate.ask(&alice(), rollback(VERSION)).await;
    gate.approve(1, &[bob(), carol()]).await;
    let plan = gate.plan(1).await;
    assert_eq!(plan.state, PlanState::Done, "{:?}", plan.outcome);
    assert!(!gate.flag("new-tenant-flow").await);
    // Both of the pool's connections at once (it holds at most two): neither carries the settings.
    let target = gate.core.target().unwrap();
    let (mut one, mut two) = (target.read().await.unwrap(), target.read().await.unwrap());
    for tx in [&mut one, &mut two] {
        let settings: (String, String, String) = sqlx::query_as(
            "SELECT current_setting('application_name'), current_setting('search_path'), current_setting('default_transaction_read_only')",
        )
        .fetch_one(tx.conn())
        .await
        .unwrap();
        assert_eq!(settings, ("bellhop".to_string(), "\"$user\", public".to_string(), "off".to_string()));
    }
}

#[sqlx::test(migrations = false)]
async fn a_long_down_file_shows_its_first_lines_and_hidden_characters(_: PgPoolOptions, admin: PgConnectOptions) {
    let gate = Gate::start(&admin).await;
    let mut sql: String = (1..=20).map(|n| format!("SELECT {n};\n")).collect();
    sql.insert_str(0, "SELECT 'safe' /* \u{202E} ; tuo */;\n");
    write(&gate, &sql);
    gate.ask(&alice(), rollback(VERSION)).await;
    let posts = gate.port.posts.lock().unwrap().clone();
    let post = &posts[0].1;
    let sha = hex::encode(Sha256::digest(sql.as_bytes()));
    let lines: Vec<&str> = post.body.lines().collect();
    let heading = format!("The SQL of `{FILE}` (sha256 `{sha}`), its first 12 of 21 lines; the whole file is attached:");
    let at = lines.iter().position(|l| *l == heading).unwrap_or_else(|| panic!("{}", post.body));
    assert_eq!(lines[at + 1..at + 3], ["```sql", "SELECT 'safe' /* <U+202E> ; tuo */;"]);
    assert_eq!(lines[at + 13..at + 15], ["SELECT 11;", "```"]);
    assert_eq!(post.attachments.len(), 1);
    assert_eq!(post.attachments[0].text(), Some(sql.as_str()), "the whole file, as it is");
}
