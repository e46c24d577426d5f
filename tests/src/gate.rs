//! `Gate`: a bellhop core on a store of its own, with the Supabase-shaped fixture as its target
//! (its login, `bellhop_ops`), the fixture's down files in a rollbacks folder, a manual clock and a
//! `CollectingPort` for the chat. The one place that knows how a reaction sets a plan off.

use crate::{settings, CollectingPort, ShellSession};
use bellhop::demo::fixture::{self, Scale};
use bellhop_commands::remediation::{posts, Plan, RemediationSettings};
use bellhop_commands::store::Store;
use bellhop_commands::target_db::{TargetDb, TargetSettings};
use bellhop_commands::templates::Templates;
use bellhop_commands::{Actor, Binding, Core, Invocation, ManualClock, MessageRef, Post, Reply, Role, Subject, SubjectKind};
use secrecy::SecretString;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection as _, PgConnection};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// A responder who is also an approver: her own ✅ is refused as the requester's.
pub fn alice() -> Actor {
    Actor::new("shell:alice", "alice", [Role::Responder, Role::Approver])
}
pub fn bob() -> Actor {
    Actor::new("shell:bob", "bob", [Role::Approver])
}
pub fn carol() -> Actor {
    Actor::new("shell:carol", "carol", [Role::Approver])
}
pub fn dave() -> Actor {
    Actor::new("shell:dave", "dave", [])
}
pub fn erin_admin() -> Actor {
    Actor::new("shell:erin", "erin", [Role::Admin])
}

pub struct Gate {
    pub core: Arc<Core>,
    pub clock: Arc<ManualClock>,
    pub port: Arc<CollectingPort>,
    pub admin: PgConnectOptions,
    pub store_url: String,
    pub remediation: RemediationSettings,
    /// The rollbacks folder, holding the fixture's down files.
    pub rollbacks: PathBuf,
    pub dir: tempfile::TempDir,
}

impl Gate {
    /// The fixture loaded, a SQLite store, the default settings (with the rollbacks folder).
    pub async fn start(admin: &PgConnectOptions) -> Gate {
        Gate::with(admin, |_| {}).await
    }

    /// Like `start`, with the settings changed by `tune`.
    pub async fn with(admin: &PgConnectOptions, tune: impl FnOnce(&mut RemediationSettings)) -> Gate {
        let dir = tempfile::tempdir().unwrap();
        let store_url = format!("sqlite:{}", dir.path().join("bellhop.sqlite").display());
        Gate::on_store(admin, dir, store_url, tune).await
    }

    /// Like `start`, with bellhop's store in a PostgreSQL database of its own on the same server
    /// (the fixture has a `public.plans` of its own), so several cores can share it at once.
    pub async fn start_on_postgres_store(admin: &PgConnectOptions) -> Gate {
        let name = store_database(admin);
        let mut su: PgConnection = admin.connect().await.unwrap();
        // Two statements: neither may run inside a transaction block.
        for statement in [format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"), format!("CREATE DATABASE \"{name}\"")] {
            sqlx::raw_sql(&statement).execute(&mut su).await.unwrap();
        }
        let store_url = admin.clone().database(&name).to_url_lossy().to_string();
        Gate::on_store(admin, tempfile::tempdir().unwrap(), store_url, |_| {}).await
    }

    async fn on_store(
        admin: &PgConnectOptions,
        dir: tempfile::TempDir,
        store_url: String,
        tune: impl FnOnce(&mut RemediationSettings),
    ) -> Gate {
        fixture::load(admin, Scale::TEST).await.expect("the fixture loads");
        Gate::assemble(admin, dir, store_url, fixture_target(admin), bellhop::shell::virtual_start(), tune).await
    }

    /// A gate on a target that is loaded already (a benchmark's seeded copy), reached through
    /// `target`, with the clock at `now`: a purge's cutoff is frozen from it, so it must agree
    /// with the clock the target's rows were stamped with. Replicas reach the target as the
    /// tests do.
    pub async fn on_loaded(
        admin: &PgConnectOptions,
        target: TargetDb,
        now: chrono::DateTime<chrono::Utc>,
        tune: impl FnOnce(&mut RemediationSettings),
    ) -> Gate {
        let dir = tempfile::tempdir().unwrap();
        let store_url = format!("sqlite:{}", dir.path().join("bellhop.sqlite").display());
        Gate::assemble(admin, dir, store_url, target, now, tune).await
    }

    async fn assemble(
        admin: &PgConnectOptions,
        dir: tempfile::TempDir,
        store_url: String,
        target: TargetDb,
        now: chrono::DateTime<chrono::Utc>,
        tune: impl FnOnce(&mut RemediationSettings),
    ) -> Gate {
        let rollbacks = dir.path().join("rollbacks");
        fixture::write_rollbacks(&rollbacks).unwrap();
        let mut remediation = RemediationSettings { rollbacks_dir: Some(rollbacks.clone()), ..RemediationSettings::default() };
        tune(&mut remediation);
        let clock = Arc::new(ManualClock::new(now));
        let core = core_on(&store_url, target, clock.clone(), remediation.clone()).await;
        Gate { core, clock, port: Arc::default(), admin: admin.clone(), store_url, remediation, rollbacks, dir }
    }

    /// Another bellhop on the same store and chat (a replica).
    pub async fn replica(&self) -> Arc<Core> {
        core(&self.store_url, &self.admin, self.clock.clone(), self.remediation.clone()).await
    }

    /// Another bellhop process on the same store (a restart).
    pub async fn restart(&mut self) {
        self.core = self.replica().await;
    }

    pub async fn ask(&self, actor: &Actor, invocation: Invocation) -> Reply {
        self.ask_in("#ops", actor, invocation).await
    }

    pub async fn ask_in(&self, channel: &str, actor: &Actor, invocation: Invocation) -> Reply {
        let reply = self.core.handle(actor, &invocation.in_channel(channel)).await;
        self.core.deliver_outbox(&self.port).await.unwrap();
        reply
    }

    /// Declares an incident and returns its thread's key.
    pub async fn declare(&self, severity: &str) -> String {
        let declare = Invocation::new("incident declare").option("severity", severity).option("title", "Sign-in down");
        let reply = self.ask(&alice(), declare).await;
        assert!(reply.post.title.starts_with("Declared INC-"), "{}", reply.post.title);
        let threads = self.port.threads.lock().unwrap().clone();
        format!("thread-{}", threads.last().expect("the incident's thread opened").1)
    }

    pub async fn approval(&self, id: i64) -> MessageRef {
        let binding = Binding::new(Subject { kind: SubjectKind::Plan, id }, bellhop_commands::outbox::Part::Approval);
        self.core.store().bound_message(&binding).await.unwrap().expect("the approval post was delivered")
    }

    /// A reaction as the chat shows it and as its event tells bellhop, then the scheduler's pass.
    pub async fn react(&self, actor: &Actor, id: i64, emoji: &str, added: bool) {
        let message = self.approval(id).await;
        self.port.set_reaction(&message, emoji, actor, added);
        self.core.reaction(actor, &message, emoji, added).await;
        self.settle().await;
    }

    /// `people` react ✅ on plan `id`, as the chat shows it and as its events tell bellhop, with no
    /// pass of the loop after: the test decides when plans are checked and run.
    pub async fn approve_unchecked(&self, id: i64, people: &[Actor]) -> MessageRef {
        let message = self.approval(id).await;
        for person in people {
            self.port.set_reaction(&message, "✅", person, true);
            self.core.reaction(person, &message, "✅", true).await;
        }
        message
    }

    /// `people` react ✅ on plan `id`, one after the other.
    pub async fn approve(&self, id: i64, people: &[Actor]) {
        for person in people {
            self.react(person, id, "✅", true).await;
        }
    }

    /// What the loop does after an event, as the shell drains it: a tick (which starts the plan
    /// checks), the plans it started run to their end, and a tick that posts what they did.
    pub async fn settle(&self) {
        for _ in 0..2 {
            let report = self.core.tick(&self.chat()).await;
            assert!(report.failed.is_empty(), "a step of the loop failed: {report:?}");
            self.core.plan_runs_finished().await;
        }
    }

    /// The chat as the loop holds it.
    pub fn chat(&self) -> Arc<dyn bellhop_commands::ChatPort> {
        self.port.clone()
    }

    pub async fn plan(&self, id: i64) -> Plan {
        Plan::from_stored(self.core.store(), id).await.unwrap().expect("the plan exists")
    }

    /// The approval post as it now reads.
    pub async fn post(&self, id: i64) -> Post {
        let votes = self.core.store().votes(id).await.unwrap();
        posts::approval(&self.plan(id).await, &votes, &self.remediation)
    }

    /// A superuser connection to the target.
    pub async fn su(&self) -> PgConnection {
        self.admin.connect().await.unwrap()
    }

    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(&mut self.su().await).await.unwrap()
    }

    pub async fn flag(&self, name: &str) -> bool {
        sqlx::query_scalar("SELECT is_enabled FROM public.feature_flags WHERE flag_name = $1")
            .bind(name)
            .fetch_one(&mut self.su().await)
            .await
            .unwrap()
    }

    /// The plans' steps in the audit log, as (who, what).
    pub async fn plan_audit(&self) -> Vec<(String, String)> {
        sqlx::any::install_default_drivers();
        sqlx::query_as("SELECT actor_id, outcome FROM audit WHERE command LIKE '/plan %' ORDER BY id")
            .fetch_all(&mut sqlx::AnyConnection::connect(&self.store_url).await.unwrap())
            .await
            .unwrap()
    }

    /// Plans that ran, from the audit log.
    pub async fn executions(&self) -> usize {
        self.plan_audit().await.iter().filter(|(_, o)| o.starts_with("done") || o.starts_with("failed")).count()
    }

    /// Drops the PostgreSQL store `start_on_postgres_store` made.
    pub async fn drop_postgres_store(self) {
        let mut su: PgConnection = self.admin.connect().await.unwrap();
        let store = store_database(&self.admin);
        drop(self);
        let _ = sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS \"{store}\" WITH (FORCE)")).execute(&mut su).await;
    }
}

/// The store's database beside the test's own: PostgreSQL cuts names at 63 bytes, and the test
/// database's name is that long already, so the store's is built from its tail.
fn store_database(admin: &PgConnectOptions) -> String {
    let test = admin.get_database().unwrap_or("bellhop");
    format!("bellhop_store_{}", &test[test.len().saturating_sub(20)..])
}

async fn core(store_url: &str, admin: &PgConnectOptions, clock: Arc<ManualClock>, remediation: RemediationSettings) -> Arc<Core> {
    core_on(store_url, fixture_target(admin), clock, remediation).await
}

async fn core_on(store_url: &str, target: TargetDb, clock: Arc<ManualClock>, remediation: RemediationSettings) -> Arc<Core> {
    let store = Store::connect(store_url).await.unwrap();
    store.migrate().await.unwrap();
    let core = Core::new(settings("http://127.0.0.1:9", &[]), Templates::load(None).unwrap(), store, clock).unwrap();
    Arc::new(core.with_target(Some(target)).with_remediation(remediation))
}

/// The fixture as bellhop's login sees it, with the tests' statement timeout.
pub fn fixture_target(admin: &PgConnectOptions) -> TargetDb {
    let url = SecretString::from(fixture::as_bellhop(admin).to_url_lossy().to_string());
    TargetDb::new(&TargetSettings { url, statement_timeout: Duration::from_secs(5), write_timeout: Duration::from_secs(60) }).unwrap()
}

/// A shell session on the loaded fixture.
pub async fn shell_on_fixture(admin: &PgConnectOptions) -> ShellSession {
    fixture::load(admin, Scale::TEST).await.expect("the fixture loads");
    ShellSession::start_with_target(settings("http://127.0.0.1:9", &[]), "", Some(fixture_target(admin))).await
}

/// The shell's number of the approval post for `code` in `output` (`#7 … Approval needed: PLAN-1`).
pub fn approval_number(output: &str, code: &str) -> String {
    output
        .lines()
        .find(|l| l.contains(&format!("Approval needed: {code}")))
        .and_then(|l| l.trim_start_matches('#').split_whitespace().next())
        .unwrap_or_else(|| panic!("no approval post for {code} in {output}"))
        .to_string()
}
