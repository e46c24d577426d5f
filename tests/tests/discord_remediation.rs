//! The two-person gate through the real serenity/poise client and the fake Discord, against the
//! Supabase-shaped fixture: the approval post pings the approver role, bellhop's own ✅ and ❌ are
//! not votes, a member without the role is not counted (and the post says so), and two approvers
//! run the plan once, the post edited to show the outcome. `names:` autocompletes from the target.

use bellhop::demo::fixture::{self, Scale};
use bellhop::simulated::Script;
use bellhop_tests::fake_discord::payloads::{member, reaction, APPROVER_ROLE, CHANNEL, RESPONDER_ROLE};
use bellhop_tests::{BellhopTester, KEY};
use serde_json::{json, Value};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::ConnectOptions;

#[sqlx::test(migrations = false)]
async fn two_approvers_in_discord_run_a_plan_once_and_the_post_shows_it(_: PgPoolOptions, admin: PgConnectOptions) {
    fixture::load(&admin, Scale::TEST).await.expect("the fixture loads");
    let target = fixture::as_bellhop(&admin).to_url_lossy().to_string();
    let t = BellhopTester::start_with(Script::new(KEY), &["invite-user"], &[("SUPABASE_DB_URL", &target)]).await;
    let alice = member("500000000000000001", "alice", &[RESPONDER_ROLE]);
    let bob = member("500000000000000002", "bob", &[APPROVER_ROLE]);
    let carol = member("500000000000000003", "carol", &[APPROVER_ROLE]);
    let dave = member("500000000000000004", "dave", &[]);
    for person in [&alice, &bob, &carol, &dave] {
        t.fake.add_member(person.clone());
    }

    let asked = t.fake.slash_with(&alice, "flags disable", &[("names", json!("new-tenant-flow"))]);
    t.fake.answer(&asked).await;
    let posted = t.fake.wait_request("the approval post", 1, |r| r.is("POST", &format!("/channels/{CHANNEL}/messages"))).await;
    assert!(posted.body["embeds"][0]["title"].as_str().unwrap_or_default().starts_with("Approval needed: PLAN-1"), "{}", posted.body);
    assert_eq!(posted.body["allowed_mentions"]["roles"], json!([APPROVER_ROLE]), "it pings the approver role, nobody else");
    let message = t.fake.wait("the approval post's id", |s| s.messages.keys().last().map(|id| id.to_string())).await;
    for emoji in ["✅", "❌"] {
        let own = format!("/channels/{CHANNEL}/messages/{message}/reactions/{emoji}/@me");
        t.fake.wait_request(&format!("bellhop's own {emoji}"), 1, |r| r.is("PUT", &own)).await;
    }

    t.fake.dispatch("MESSAGE_REACTION_ADD", reaction(CHANNEL, &message, "✅", &dave, true));
    let edited = |n: usize| {
        let path = format!("/channels/{CHANNEL}/messages/{message}");
        move |s: &bellhop_tests::fake_discord::State| s.requests.iter().filter(|r| r.is("PATCH", &path)).nth(n - 1).map(|r| r.body.clone())
    };
    let not_counted: Value = t.fake.wait("the post edited for dave", edited(1)).await;
    assert!(not_counted.to_string().contains("has no approver role"), "{not_counted}");

    t.fake.dispatch("MESSAGE_REACTION_ADD", reaction(CHANNEL, &message, "✅", &bob, true));
    t.fake.dispatch("MESSAGE_REACTION_ADD", reaction(CHANNEL, &message, "✅", &carol, true));
    let done = t
        .fake
        .wait("the post showing the outcome", |s| {
            let path = format!("/channels/{CHANNEL}/messages/{message}");
            s.requests.iter().filter(|r| r.is("PATCH", &path)).map(|r| r.body.clone()).find(|b| b["embeds"][0]["title"] == "PLAN-1 done")
        })
        .await;
    assert_eq!(done["embeds"][0]["title"], "PLAN-1 done");
    let mut su = admin.connect().await.unwrap();
    let enabled: bool = sqlx::query_scalar("SELECT is_enabled FROM public.feature_flags WHERE flag_name = 'new-tenant-flow'")
        .fetch_one(&mut su)
        .await
        .unwrap();
    assert!(!enabled, "the flag is off");
    t.fake.dispatch("MESSAGE_REACTION_ADD", reaction(CHANNEL, &message, "✅", &bob, false));
    let help = t.fake.slash(&alice, "help", &[]);
    t.fake.answer(&help).await;
    let runs = t.core.store().recent_audit(50).await.unwrap().into_iter().filter(|e| e.outcome.starts_with("done")).count();
    assert_eq!(runs, 1, "ran once");
    assert!(t.fake.read(|s| s.refusals.is_empty()), "{:?}", t.fake.read(|s| s.refusals.clone()));
}

/// Discord does not replay what happened while a bot was disconnected: a ✅ given then is read
/// from the approval post by the restarted bellhop (with the member's roles as Discord has them
/// now), and the plan runs once.
#[sqlx::test(migrations = false)]
async fn an_approval_given_while_bellhop_was_down_runs_the_plan_after_the_restart(_: PgPoolOptions, admin: PgConnectOptions) {
    fixture::load(&admin, Scale::TEST).await.expect("the fixture loads");
    let target = fixture::as_bellhop(&admin).to_url_lossy().to_string();
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("bellhop.sqlite").display());
    let env = [("SUPABASE_DB_URL", target.as_str()), ("BELLHOP_DATABASE_URL", store.as_str())];
    let mut t = BellhopTester::start_with(Script::new(KEY), &["invite-user"], &env).await;
    let alice = member("500000000000000001", "alice", &[RESPONDER_ROLE]);
    let bob = member("500000000000000002", "bob", &[APPROVER_ROLE]);
    let carol = member("500000000000000003", "carol", &[APPROVER_ROLE]);
    for person in [&alice, &bob, &carol] {
        t.fake.add_member(person.clone());
    }
    let asked = t.fake.slash_with(&alice, "flags disable", &[("names", json!("trial-signup-v2"))]);
    t.fake.answer(&asked).await;
    let message = t.fake.wait("the approval post's id", |s| s.messages.keys().last().map(|id| id.to_string())).await;
    let path = format!("/channels/{CHANNEL}/messages/{message}");
    t.fake.wait_request("bellhop's own ❌", 1, |r| r.is("PUT", &format!("{path}/reactions/❌/@me"))).await;
    t.fake.dispatch("MESSAGE_REACTION_ADD", reaction(CHANNEL, &message, "✅", &bob, true));
    t.fake.wait_request("the post edited for bob", 1, |r| r.is("PATCH", &path)).await;
    t.stop_bot().await.expect("the bot stops cleanly");

    t.fake.react_unheard("MESSAGE_REACTION_ADD", reaction(CHANNEL, &message, "✅", &carol, true));
    let restarted = t.replica_with(&store, &["invite-user"], &env).await;
    let done = t
        .fake
        .wait("the post showing the outcome", |s| {
            s.requests.iter().filter(|r| r.is("PATCH", &path)).map(|r| r.body.clone()).find(|b| b["embeds"][0]["title"] == "PLAN-1 done")
        })
        .await;
    assert!(done["embeds"][0]["fields"].to_string().contains("@carol"), "carol's ✅ is among the approvals: {done}");
    let mut su = admin.connect().await.unwrap();
    let enabled: bool = sqlx::query_scalar("SELECT is_enabled FROM public.feature_flags WHERE flag_name = 'trial-signup-v2'")
        .fetch_one(&mut su)
        .await
        .unwrap();
    assert!(!enabled, "the flag is off");
    let audit = restarted.core.store().recent_audit(50).await.unwrap();
    assert_eq!(audit.iter().filter(|e| e.outcome.starts_with("done")).count(), 1, "ran once");
    assert!(audit.iter().any(|e| e.actor_id == "discord:500000000000000003" && e.outcome.starts_with("✅ found on the post")), "{audit:?}");
    restarted.stop().await.expect("the restarted bot stops cleanly");
}

#[sqlx::test(migrations = false)]
async fn flag_names_autocomplete_from_the_target_keeping_the_names_typed_before(_: PgPoolOptions, admin: PgConnectOptions) {
    fixture::load(&admin, Scale::TEST).await.expect("the fixture loads");
    let target = fixture::as_bellhop(&admin).to_url_lossy().to_string();
    let t = BellhopTester::start_with(Script::new(KEY), &["invite-user"], &[("SUPABASE_DB_URL", &target)]).await;
    let alice = member("500000000000000001", "alice", &[RESPONDER_ROLE]);

    let typing = t.fake.autocomplete(&alice, "flags enable", &[("names", "new-tenant-flow, tr")], "names");
    let callback = t.fake.callback(&typing).await;
    assert_eq!(callback.body["type"], 8, "an autocomplete answer: {}", callback.body);
    let choices: Vec<(&str, &str)> = callback.body["data"]["choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["value"].as_str().unwrap()))
        .collect();
    assert_eq!(choices, [("trial-signup-v2 · off · after new-tenant-flow", "new-tenant-flow,trial-signup-v2")]);

    let typing = t.fake.autocomplete(&alice, "flags disable", &[("names", "HOUSE")], "names");
    let callback = t.fake.callback(&typing).await;
    assert_eq!(callback.body["data"]["choices"], json!([{"name": "housekeeping-board · on", "value": "housekeeping-board"}]));
    assert!(t.fake.read(|s| s.refusals.is_empty()), "{:?}", t.fake.read(|s| s.refusals.clone()));
}

/// Roles are read from Discord again when a plan would run: a member whose approver role was taken
/// away after reacting is not counted, and the post says so; the plan waits for an approver.
#[sqlx::test(migrations = false)]
async fn an_approver_who_lost_the_role_before_quorum_is_not_counted(_: PgPoolOptions, admin: PgConnectOptions) {
    fixture::load(&admin, Scale::TEST).await.expect("the fixture loads");
    let target = fixture::as_bellhop(&admin).to_url_lossy().to_string();
    let t = BellhopTester::start_with(Script::new(KEY), &["invite-user"], &[("SUPABASE_DB_URL", &target)]).await;
    let alice = member("500000000000000001", "alice", &[RESPONDER_ROLE]);
    let bob = member("500000000000000002", "bob", &[APPROVER_ROLE]);
    let carol = member("500000000000000003", "carol", &[APPROVER_ROLE]);
    let erin = member("500000000000000005", "erin", &[APPROVER_ROLE]);
    for person in [&alice, &bob, &carol, &erin] {
        t.fake.add_member(person.clone());
    }
    let asked = t.fake.slash_with(&alice, "flags disable", &[("names", json!("housekeeping-board"))]);
    t.fake.answer(&asked).await;
    let message = t.fake.wait("the approval post's id", |s| s.messages.keys().last().map(|id| id.to_string())).await;
    let path = format!("/channels/{CHANNEL}/messages/{message}");
    t.fake.wait_request("bellhop's own ❌", 1, |r| r.is("PUT", &format!("{path}/reactions/❌/@me"))).await;
    t.fake.dispatch("MESSAGE_REACTION_ADD", reaction(CHANNEL, &message, "✅", &bob, true));
    t.fake.wait_request("the post edited for bob", 1, |r| r.is("PATCH", &path)).await;
    // An admin takes bob's approver role away; Discord's member now says so.
    t.fake.add_member(member("500000000000000002", "bob", &[]));
    t.fake.dispatch("MESSAGE_REACTION_ADD", reaction(CHANNEL, &message, "✅", &carol, true));
    let refused = t
        .fake
        .wait("the post saying bob is not counted", |s| {
            s.requests
                .iter()
                .filter(|r| r.is("PATCH", &path))
                .map(|r| r.body.clone())
                .find(|b| b.to_string().contains("@bob ✅: has no approver role"))
        })
        .await;
    assert!(refused["embeds"][0]["title"].as_str().unwrap().starts_with("Approval needed: PLAN-1"), "{refused}");
    let mut su = admin.connect().await.unwrap();
    let on = || sqlx::query_scalar::<_, bool>("SELECT is_enabled FROM public.feature_flags WHERE flag_name = 'housekeeping-board'");
    assert!(on().fetch_one(&mut su).await.unwrap(), "nothing ran");
    t.fake.dispatch("MESSAGE_REACTION_ADD", reaction(CHANNEL, &message, "✅", &erin, true));
    t.fake
        .wait("the post showing the outcome", |s| {
            s.requests.iter().filter(|r| r.is("PATCH", &path)).map(|r| r.body.clone()).find(|b| b["embeds"][0]["title"] == "PLAN-1 done")
        })
        .await;
    assert!(!on().fetch_one(&mut su).await.unwrap(), "carol and erin ran it");
    assert!(t.fake.read(|s| s.refusals.is_empty()), "{:?}", t.fake.read(|s| s.refusals.clone()));
}
