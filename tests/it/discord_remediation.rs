//! The two-person gate through the real serenity/poise client and the fake Discord, against the
//! Supabase-shaped fixture: the approval post pings the approver role, bellhop's own ✅ and ❌ are
//! not votes, a member without the role is not counted (and the post says so), and two approvers
//! run the plan once, the post edited to show the outcome. Roles are read from Discord again when
//! a plan would run, a ✅ given while the bot was down counts, and `names:` autocompletes.

use bellhop::demo::fixture;
use bellhop_tests::discord_gate::{alice, ask_to_disable, bob, bot, carol, dave, done, edit_where, erin, flag_on, leaves, react};
use bellhop_tests::fake_discord::payloads::{member, reaction, APPROVER_ROLE, CHANNEL};
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::ConnectOptions;

#[sqlx::test(migrations = false)]
async fn two_approvers_in_discord_run_a_plan_once_and_the_post_shows_it(_: PgPoolOptions, admin: PgConnectOptions) {
    let t = bot(&admin, &[]).await;
    let message = ask_to_disable(&t, "new-tenant-flow").await;
    let posted = t.fake.wait_request("the approval post", 1, |r| r.is("POST", &format!("/channels/{CHANNEL}/messages"))).await;
    assert!(posted.body["embeds"][0]["title"].as_str().unwrap_or_default().starts_with("Approval needed: PLAN-1"), "{}", posted.body);
    assert_eq!(posted.body["allowed_mentions"]["roles"], json!([APPROVER_ROLE]), "it pings the approver role, nobody else");

    react(&t, &message, &dave());
    let not_counted = edit_where(&t, &message, "the post edited for dave", |_| true).await;
    assert!(not_counted.to_string().contains("has no approver role"), "{not_counted}");
    react(&t, &message, &bob());
    react(&t, &message, &carol());
    assert_eq!(done(&t, &message, 1).await["embeds"][0]["title"], "PLAN-1 done");
    assert!(!flag_on(&admin, "new-tenant-flow").await, "the flag is off");

    t.fake.dispatch("MESSAGE_REACTION_REMOVE", reaction(CHANNEL, &message, "✅", &bob(), false));
    react(&t, &message, &bob());
    let help = t.fake.slash(&alice(), "help", &[]);
    t.fake.answer(&help).await;
    let runs = t.core.store().recent_audit(50).await.unwrap().into_iter().filter(|e| e.outcome.starts_with("done")).count();
    assert_eq!(runs, 1, "ran once");
    assert!(t.fake.read(|s| s.refusals.is_empty()), "{:?}", t.fake.read(|s| s.refusals.clone()));
}

/// Roles are read from Discord again when a plan would run: a member whose approver role was taken
/// away after reacting is not counted, and the post says so; the plan waits for an approver.
#[sqlx::test(migrations = false)]
async fn an_approver_who_lost_the_role_before_quorum_is_not_counted(_: PgPoolOptions, admin: PgConnectOptions) {
    let t = bot(&admin, &[]).await;
    let message = ask_to_disable(&t, "housekeeping-board").await;
    react(&t, &message, &bob());
    edit_where(&t, &message, "the post edited for bob", |_| true).await;
    // An admin takes bob's approver role away; Discord's member now says so.
    t.fake.add_member(member("500000000000000002", "bob", &[]));
    react(&t, &message, &carol());
    let refused =
        edit_where(&t, &message, "the post saying bob is not counted", |b| b.to_string().contains("@bob ✅: has no approver role")).await;
    assert!(refused["embeds"][0]["title"].as_str().unwrap().starts_with("Approval needed: PLAN-1"), "{refused}");
    assert!(flag_on(&admin, "housekeeping-board").await, "nothing ran");
    react(&t, &message, &erin());
    done(&t, &message, 1).await;
    assert!(!flag_on(&admin, "housekeeping-board").await, "carol and erin ran it");
    assert!(t.fake.read(|s| s.refusals.is_empty()), "{:?}", t.fake.read(|s| s.refusals.clone()));
}

/// Discord does not replay what happened while a bot was disconnected: a ✅ given then is read
/// from the approval post by the restarted bellhop (with the member's roles as Discord has them
/// now), and the plan runs once.
#[sqlx::test(migrations = false)]
async fn an_approval_given_while_bellhop_was_down_runs_the_plan_after_the_restart(_: PgPoolOptions, admin: PgConnectOptions) {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("bellhop.sqlite").display());
    let mut t = bot(&admin, &[("BELLHOP_DATABASE_URL", &store)]).await;
    let message = ask_to_disable(&t, "trial-signup-v2").await;
    react(&t, &message, &bob());
    edit_where(&t, &message, "the post edited for bob", |_| true).await;
    t.stop_bot().await.expect("the bot stops cleanly");

    t.fake.react_unheard("MESSAGE_REACTION_ADD", reaction(CHANNEL, &message, "✅", &carol(), true));
    let target = fixture::as_bellhop(&admin).to_url_lossy().to_string();
    let restarted = t.replica_with(&store, &["invite-user"], &[("SUPABASE_DB_URL", &target)]).await;
    let done = done(&t, &message, 1).await;
    assert!(done["embeds"][0]["fields"].to_string().contains("@carol"), "carol's ✅ is among the approvals: {done}");
    assert!(!flag_on(&admin, "trial-signup-v2").await, "the flag is off");
    let audit = restarted.core.store().recent_audit(50).await.unwrap();
    assert_eq!(audit.iter().filter(|e| e.outcome.starts_with("done")).count(), 1, "ran once");
    assert!(audit.iter().any(|e| e.actor_id == "discord:500000000000000003" && e.outcome.starts_with("✅ found on the post")), "{audit:?}");
    restarted.stop().await.expect("the restarted bot stops cleanly");
}

/// A ✅ given while the gateway was down and the session then resumed (not restarted): Discord
/// replays nothing, so bellhop reads the pending plans' posts again on RESUMED.
#[sqlx::test(migrations = false)]
async fn an_approval_given_while_the_gateway_was_down_counts_once_the_session_resumes(_: PgPoolOptions, admin: PgConnectOptions) {
    let t = bot(&admin, &[]).await;
    let message = ask_to_disable(&t, "trial-signup-v2").await;
    react(&t, &message, &bob());
    edit_where(&t, &message, "the post edited for bob", |_| true).await;
    let reads = |s: &bellhop_tests::fake_discord::State| s.requests_to("GET", &format!("/channels/{CHANNEL}/messages/{message}")).len();
    let read_before = t.fake.read(reads);
    t.fake.close(4000);
    t.fake.react_unheard("MESSAGE_REACTION_ADD", reaction(CHANNEL, &message, "✅", &carol(), true));
    t.fake.wait("the bot to resume", |s| (!s.frames_from_bot(6).is_empty()).then_some(())).await;
    let done = done(&t, &message, 1).await;
    assert!(done["embeds"][0]["fields"].to_string().contains("@carol"), "carol's ✅ is among the approvals: {done}");
    assert!(!flag_on(&admin, "trial-signup-v2").await, "the flag is off");
    assert!(t.fake.read(reads) > read_before, "the post was read again after the resume");
    assert_eq!(t.fake.read(|s| s.frames_from_bot(2).len()), 1, "resumed, not identified again");
}

#[sqlx::test(migrations = false)]
async fn flag_names_autocomplete_from_the_target_keeping_the_names_typed_before(_: PgPoolOptions, admin: PgConnectOptions) {
    let t = bot(&admin, &[]).await;
    let typing = t.fake.autocomplete(&alice(), "flags enable", &[("names", "new-tenant-flow, tr")], "names");
    let callback = t.fake.callback(&typing).await;
    assert_eq!(callback.body["type"], 8, "an autocomplete answer: {}", callback.body);
    let choices: Vec<(&str, &str)> = callback.body["data"]["choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["value"].as_str().unwrap()))
        .collect();
    assert_eq!(choices, [("trial-signup-v2 · off · after new-tenant-flow", "new-tenant-flow,trial-signup-v2")]);

    let typing = t.fake.autocomplete(&alice(), "flags disable", &[("names", "HOUSE")], "names");
    let callback = t.fake.callback(&typing).await;
    assert_eq!(callback.body["data"]["choices"], json!([{"name": "housekeeping-board · on", "value": "housekeeping-board"}]));
    assert!(t.fake.read(|s| s.refusals.is_empty()), "{:?}", t.fake.read(|s| s.refusals.clone()));
}

/// A member who approved and then left the server (Discord answers 10007 Unknown Member for
/// them) is shown as not a member any more and not counted; the check goes on, and the next
/// approver runs the plan.
#[sqlx::test(migrations = false)]
async fn an_approver_who_left_the_server_does_not_freeze_the_plan(_: PgPoolOptions, admin: PgConnectOptions) {
    let t = bot(&admin, &[]).await;
    let mallory = member("500000000000000006", "mallory", &[APPROVER_ROLE]);
    t.fake.add_member(mallory.clone());
    let message = ask_to_disable(&t, "new-tenant-flow").await;
    react(&t, &message, &bob());
    edit_where(&t, &message, "the post edited for bob", |b| b.to_string().contains("@bob")).await;
    // Mallory leaves (or is kicked) before her ✅ arrives: Discord no longer has her as a member.
    leaves(&t, &mallory);
    react(&t, &message, &mallory);
    let shown = edit_where(&t, &message, "the post saying mallory is not a member any more", |b| {
        b.to_string().contains("@mallory ✅: is not a member any more")
    })
    .await;
    assert!(shown["embeds"][0]["title"].as_str().unwrap().starts_with("Approval needed: PLAN-1"), "not run: {shown}");
    react(&t, &message, &carol());
    done(&t, &message, 1).await;
    assert!(!flag_on(&admin, "new-tenant-flow").await, "bob and carol disabled it");
}

/// Only people approve: a bot's ✅, even holding the approver role, is dropped before anything
/// is recorded, in the live path and when the post is read again.
#[sqlx::test(migrations = false)]
async fn a_bots_check_mark_is_not_counted_even_with_the_approver_role(_: PgPoolOptions, admin: PgConnectOptions) {
    let t = bot(&admin, &[]).await;
    let mut robot = member("500000000000000007", "deploy-bot", &[APPROVER_ROLE]);
    robot["user"]["bot"] = json!(true);
    t.fake.add_member(robot.clone());
    let message = ask_to_disable(&t, "enhanced-invite-system").await;
    react(&t, &message, &robot);
    react(&t, &message, &bob());
    edit_where(&t, &message, "the post edited for bob", |b| b.to_string().contains("@bob")).await;
    react(&t, &message, &carol());
    let done = done(&t, &message, 1).await;
    let shown = done.to_string();
    assert!(!shown.contains("deploy-bot"), "the bot is not among the votes: {shown}");
    let audit = t.core.store().recent_audit(100).await.unwrap();
    assert!(audit.iter().all(|e| e.actor_id != "discord:500000000000000007"), "nothing of the bot's was recorded: {audit:?}");
    assert!(!flag_on(&admin, "enhanced-invite-system").await, "bob and carol disabled it");
}

/// Discord names no member on a reaction's removal, and one who left the server cannot be
/// fetched as a member: her ✅ taken back still counts as withdrawn, read from her user.
#[sqlx::test(migrations = false)]
async fn an_approver_who_left_the_server_can_take_her_check_mark_back(_: PgPoolOptions, admin: PgConnectOptions) {
    let t = bot(&admin, &[]).await;
    let mallory = member("500000000000000006", "mallory", &[APPROVER_ROLE]);
    t.fake.add_member(mallory.clone());
    let message = ask_to_disable(&t, "new-tenant-flow").await;
    react(&t, &message, &mallory);
    edit_where(&t, &message, "the post edited for mallory", |b| b.to_string().contains("@mallory")).await;
    leaves(&t, &mallory);
    t.fake.dispatch("MESSAGE_REACTION_REMOVE", reaction(CHANNEL, &message, "✅", &mallory, false));
    edit_where(&t, &message, "the post without mallory's ✅", |b| !b.to_string().contains("@mallory")).await;
    let audit = t.core.store().recent_audit(50).await.unwrap();
    assert!(
        audit.iter().any(|e| e.actor_id == "discord:500000000000000006" && e.outcome.starts_with("✅ withdrawn")),
        "the withdrawal is recorded: {audit:?}"
    );
    react(&t, &message, &bob());
    edit_where(&t, &message, "the post edited for bob", |b| b.to_string().contains("@bob")).await;
    assert!(flag_on(&admin, "new-tenant-flow").await, "bob alone approved it: nothing ran");
}

/// Discord names reactors a page of 100 at a time, in order of their ids: a crowd of ✅ from
/// people without a role, ahead of the approvers, does not hide the approvers from the check.
#[sqlx::test(migrations = false)]
async fn a_crowd_of_check_marks_ahead_of_the_approvers_does_not_hide_them(_: PgPoolOptions, admin: PgConnectOptions) {
    let t = bot(&admin, &[]).await;
    let message = ask_to_disable(&t, "new-tenant-flow").await;
    for n in 0..150 {
        let stranger = member(&format!("{}", 400_000_000_000_000_000u64 + n), "stranger", &[]);
        t.fake.react_unheard("MESSAGE_REACTION_ADD", reaction(CHANNEL, &message, "✅", &stranger, true));
    }
    react(&t, &message, &bob());
    react(&t, &message, &carol());
    done(&t, &message, 1).await;
    assert!(!flag_on(&admin, "new-tenant-flow").await, "bob and carol disabled it");
    let pages = t.fake.read(|s| {
        let read = |r: &&bellhop_tests::fake_discord::Request| r.method == "GET" && r.path.contains("/reactions/");
        s.requests.iter().filter(read).map(|r| r.query.clone()).collect::<Vec<_>>()
    });
    assert!(pages.iter().any(|q| q.contains("after=")), "the check read past the first page: {pages:?}");
}
