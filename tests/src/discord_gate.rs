//! The two-person gate through the real bot and the fake Discord, against the Supabase-shaped
//! fixture: the cast (alice asks, bob, carol and erin approve, dave has no role), the bot started
//! on the fixture, and the steps every such test takes (ask, react, wait for an edit of the post).

use crate::fake_discord::payloads::{member, reaction, APPROVER_ROLE, CHANNEL, RESPONDER_ROLE};
use crate::{BellhopTester, KEY};
use bellhop::demo::fixture::{self, Scale};
use bellhop::simulated::Script;
use bellhop_commands::Clock;
use serde_json::{json, Value};
use sqlx::postgres::PgConnectOptions;
use sqlx::ConnectOptions;
use std::sync::Arc;

pub fn alice() -> Value {
    member("500000000000000001", "alice", &[RESPONDER_ROLE])
}
pub fn bob() -> Value {
    member("500000000000000002", "bob", &[APPROVER_ROLE])
}
pub fn carol() -> Value {
    member("500000000000000003", "carol", &[APPROVER_ROLE])
}
pub fn dave() -> Value {
    member("500000000000000004", "dave", &[])
}
pub fn erin() -> Value {
    member("500000000000000005", "erin", &[APPROVER_ROLE])
}

/// The fixture loaded and the bot connected to it (with `env` besides), everyone a guild member.
pub async fn bot(admin: &PgConnectOptions, env: &[(&str, &str)]) -> BellhopTester {
    bot_with(admin, env, None).await
}

/// Like [`bot`], the bot's core reading the time from `clock`.
pub async fn bot_at(admin: &PgConnectOptions, env: &[(&str, &str)], clock: Arc<dyn Clock>) -> BellhopTester {
    bot_with(admin, env, Some(clock)).await
}

async fn bot_with(admin: &PgConnectOptions, env: &[(&str, &str)], clock: Option<Arc<dyn Clock>>) -> BellhopTester {
    fixture::load(admin, Scale::TEST).await.expect("the fixture loads");
    let target = fixture::as_bellhop(admin).to_url_lossy().to_string();
    let mut env = env.to_vec();
    env.push(("SUPABASE_DB_URL", &target));
    let t = match clock {
        Some(clock) => BellhopTester::start_at(Script::new(KEY), &["invite-user"], &env, clock).await,
        None => BellhopTester::start_with(Script::new(KEY), &["invite-user"], &env).await,
    };
    for person in [alice(), bob(), carol(), dave(), erin()] {
        t.fake.add_member(person);
    }
    t
}

/// Alice runs `command` with `options`; returns the approval post's id once bellhop's own ✅ and
/// ❌ are on it.
pub async fn ask(t: &BellhopTester, command: &str, options: &[(&str, Value)]) -> String {
    let before = t.fake.read(|s| s.newest_post());
    let asked = t.fake.slash_with(&alice(), command, options);
    t.fake.answer(&asked).await;
    let message = t.fake.wait("the approval post's id", |s| s.newest_post().filter(|newest| Some(newest) != before.as_ref())).await;
    for emoji in ["✅", "❌"] {
        let own = format!("/channels/{CHANNEL}/messages/{message}/reactions/{emoji}/@me");
        t.fake.wait_request(&format!("bellhop's own {emoji}"), 1, |r| r.is("PUT", &own)).await;
    }
    message
}

/// Alice asks to disable `flag`; returns the approval post's id.
pub async fn ask_to_disable(t: &BellhopTester, flag: &str) -> String {
    ask(t, "flags disable", &[("names", json!(flag))]).await
}

/// Waits for an edit of the approval post `message` that `wanted` accepts, and returns its body.
pub async fn edit_where(t: &BellhopTester, message: &str, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
    let path = format!("/channels/{CHANNEL}/messages/{message}");
    t.fake.wait(what, |s| s.requests.iter().filter(|r| r.is("PATCH", &path)).map(|r| r.body.clone()).find(|b| wanted(b))).await
}

/// Waits for the edit of `message` saying that plan `id` is done.
pub async fn done(t: &BellhopTester, message: &str, id: i64) -> Value {
    let title = format!("PLAN-{id} done");
    edit_where(t, message, &format!("the post showing {title}"), |b| b["embeds"][0]["title"] == title.as_str()).await
}

/// Every edit of the approval post `message` so far, oldest first.
pub fn edits(t: &BellhopTester, message: &str) -> Vec<Value> {
    let path = format!("/channels/{CHANNEL}/messages/{message}");
    t.fake.read(|s| s.requests.iter().filter(|r| r.is("PATCH", &path)).map(|r| r.body.clone()).collect())
}

pub async fn flag_on(admin: &PgConnectOptions, name: &str) -> bool {
    let mut su = admin.connect().await.unwrap();
    sqlx::query_scalar("SELECT is_enabled FROM public.feature_flags WHERE flag_name = $1").bind(name).fetch_one(&mut su).await.unwrap()
}

/// `who` leaves the server (or is removed): Discord answers 10007 Unknown Member for them, and
/// still knows them as a user.
pub fn leaves(t: &BellhopTester, who: &Value) {
    let id = who["user"]["id"].as_str().expect("a member payload").to_string();
    t.fake.update(|s| {
        s.members.remove(&id);
        s.users.insert(id.clone(), who["user"].clone());
    });
}

/// `who` adds a ✅ to `message`.
pub fn react(t: &BellhopTester, message: &str, who: &Value) {
    t.fake.dispatch("MESSAGE_REACTION_ADD", reaction(CHANNEL, message, "✅", who, true));
}
