//! Incidents through the real serenity/poise client and the fake Discord: the thread, the
//! kickoff, the page that pings only the on-call role, the status text in its channel.

use bellhop::simulated::Script;
use bellhop_tests::fake_discord::payloads::{member, INCIDENTS_CHANNEL, RESPONDER_ROLE, STATUS_CHANNEL};
use bellhop_tests::{BellhopTester, KEY};
use serde_json::json;

const ON_CALL: &str = "200000000000000009";

#[tokio::test]
async fn declaring_opens_a_thread_whose_kickoff_pages_only_the_on_call_role() {
    let t = BellhopTester::start_with(Script::new(KEY), &["invite-user"], &[("BELLHOP_PAGE_ONCALL", ON_CALL)]).await;
    let alice = member("500000000000000001", "alice", &[RESPONDER_ROLE]);
    let declare = t.fake.slash_with(
        &alice,
        "incident declare",
        &[("severity", json!("P0")), ("title", json!("@everyone <@&200000000000000001> logins failing"))],
    );
    let answer = t.fake.answer(&declare).await;
    assert_eq!(answer["embeds"][0]["title"], "Declared INC-1 · P0 · @everyone <@&200000000000000001> logins failing");
    assert_eq!(answer["allowed_mentions"]["roles"], json!([]), "the reply pings nobody");

    let kickoff = t
        .fake
        .wait_request("the kickoff", 1, |r| {
            r.method == "POST" && r.body["embeds"][0]["title"].as_str().is_some_and(|t| t.starts_with("🚨 INC-1"))
        })
        .await;
    assert_eq!(kickoff.path, format!("/channels/{INCIDENTS_CHANNEL}/messages"), "announced in the incidents channel");
    let thread = t.fake.wait_request("the incident's thread", 1, |r| r.path.ends_with("/threads")).await;
    assert_eq!(thread.body["name"], "inc-1 @everyone <@&200000000000000001> logins failing");
    let thread_id = thread.path.split('/').nth(4).expect("the kickoff's id").to_string();
    assert_eq!(thread.path, format!("/channels/{INCIDENTS_CHANNEL}/messages/{thread_id}/threads"), "opened from the kickoff");
    assert_eq!(kickoff.body["content"], format!("<@&{ON_CALL}>"));
    assert_eq!(kickoff.body["allowed_mentions"], json!({"parse": [], "users": [], "roles": [ON_CALL], "replied_user": false}));
    let fields: Vec<&str> = kickoff.body["embeds"][0]["fields"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(fields, ["Commander", "Impact", "Runbook", "Status updates", "Paged"]);

    // Typed inside the thread, a command needs no id.
    let update = t.fake.slash_in(&thread_id, &alice, "incident update", &[("text", json!("Rolled back the auth config"))]);
    let answer = t.fake.answer(&update).await;
    assert_eq!(answer["embeds"][0]["title"], "INC-1 update from @alice");

    let status = t.fake.slash(&alice, "incident status-post", &[("id", "INC-1"), ("eta", "30 minutes")]);
    t.fake.answer(&status).await;
    let posted = t.fake.wait_request("the status text", 1, |r| r.is("POST", &format!("/channels/{STATUS_CHANNEL}/messages"))).await;
    let text = posted.body["embeds"][0]["description"].as_str().unwrap();
    assert!(text.starts_with("🚨 INVESTIGATING") && text.contains("ETA for resolution: 30 minutes"), "{text}");
    assert_eq!(posted.body["allowed_mentions"]["roles"], json!([]));
}

#[tokio::test]
async fn open_incidents_autocomplete_by_code_and_title() {
    let t = BellhopTester::start(Script::new(KEY), &["invite-user"]).await;
    let alice = member("500000000000000001", "alice", &[RESPONDER_ROLE]);
    for title in ["Invites failing", "Checkout slow"] {
        let declare = t.fake.slash_with(&alice, "incident declare", &[("severity", json!("P1")), ("title", json!(title))]);
        t.fake.answer(&declare).await;
    }
    let typing = t.fake.autocomplete(&alice, "incident ack", &[("id", "invite")], "id");
    let callback = t.fake.callback(&typing).await;
    let choices: Vec<(&str, &str)> = callback.body["data"]["choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["value"].as_str().unwrap()))
        .collect();
    assert_eq!(choices, [("INC-1 · P1 · Invites failing", "INC-1")]);
}

/// The commander is who the `commander:` option named, by id: they may acknowledge without a
/// responder role; someone who merely takes their name may not.
#[tokio::test]
async fn the_named_commander_acknowledges_by_id_and_a_namesake_cannot() {
    let t = BellhopTester::start(Script::new(KEY), &["invite-user"]).await;
    let alice = member("500000000000000001", "alice", &[RESPONDER_ROLE]);
    let mut erin = member("500000000000000005", "erin", &[]);
    erin["nick"] = json!("Erin (lead)");
    let mut impostor = member("500000000000000006", "mallory", &[]);
    impostor["nick"] = json!("erin");
    let declare = t.fake.slash_with(
        &alice,
        "incident declare",
        &[("severity", json!("P1")), ("title", json!("Invites failing")), ("commander", erin.clone())],
    );
    let answer = t.fake.answer(&declare).await;
    assert_eq!(
        answer["embeds"][0]["description"],
        "Commander @Erin (lead). The kickoff, checklist and timers are in the incident's thread."
    );
    let incident = t.core.store().incident(1).await.unwrap().unwrap();
    assert_eq!((incident.commander.id.as_str(), incident.commander.name.as_str()), ("discord:500000000000000005", "Erin (lead)"));

    for (who, nick) in [(&impostor, "erin"), (&impostor, "Erin (lead)")] {
        let mut namesake = who.clone();
        namesake["nick"] = json!(nick);
        let ack = t.fake.slash(&namesake, "incident ack", &[("id", "INC-1")]);
        let refused = t.fake.answer(&ack).await;
        assert_eq!(refused["flags"].as_u64(), Some(64), "only the typist sees it");
        assert_eq!(refused["embeds"][0]["description"], "Only the commander or a responder can acknowledge INC-1.");
    }
    let ack = t.fake.slash(&erin, "incident ack", &[("id", "INC-1")]);
    let acked = t.fake.answer(&ack).await;
    assert_eq!(acked["embeds"][0]["title"], "You acknowledged INC-1.");
    let incident = t.core.store().incident(1).await.unwrap().unwrap();
    assert_eq!(incident.acked.map(|(_, by)| by.id).as_deref(), Some("discord:500000000000000005"));
}
