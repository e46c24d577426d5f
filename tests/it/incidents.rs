//! Incidents and maintenance, as whole conversations through the shell with the virtual clock.

use bellhop::simulated::Script;
use bellhop_tests::{on_both_stores, platform, settings, ShellSession, KEY};

async fn session(store: &str) -> (ShellSession, bellhop::simulated::SimulatedPlatform) {
    let platform = platform(Script::new(KEY)).await;
    let session = ShellSession::start_on(settings(&platform.url(), &["invite-user"]), store).await;
    (session, platform)
}

on_both_stores!(a_p0_runs_on_the_runbooks_clock_from_declaration_to_review);
async fn a_p0_runs_on_the_runbooks_clock_from_declaration_to_review(store: &str) {
    let (mut session, _platform) = session(store).await;
    let transcript = session
        .conversation(
            r#"/incident declare severity:P0 title:"Logins failing" impact:"Guests cannot sign in"
               :advance 5m
               #inc-1 /incident ack
               :advance 11m
               #inc-1 /incident update text:"Rolled back the auth config"
               :advance 14m
               :advance 1m
               /incident status-post id:INC-1 eta:"30 minutes"
               #inc-1 /incident resolve root_cause:"An expired signing key"
               :advance 2h
               :advance 22h
               /incident show id:INC-1"#,
        )
        .await;
    insta::assert_snapshot!("a_p0_runs_on_the_runbooks_clock_from_declaration_to_review", transcript);
}

on_both_stores!(nobody_acknowledging_escalates_along_the_chain_and_ack_stops_it);
async fn nobody_acknowledging_escalates_along_the_chain_and_ack_stops_it(store: &str) {
    let (mut session, _platform) = session(store).await;
    let transcript = session
        .conversation(
            r#"/incident declare severity:P1 title:"Invites failing"
               :advance 21m
               #inc-1 /incident ack
               #inc-1 /incident ack
               :advance 1h"#,
        )
        .await;
    let pages: Vec<&str> = transcript.lines().filter(|l| l.contains("(pings")).collect();
    assert_eq!(pages, ["    (pings @on-call)", "    (pings @sysadmin)", "    (pings @infrastructure)"], "{transcript}");
    assert!(transcript.contains("✗ INC-1 was already acknowledged by @alice at 09:21 UTC."), "{transcript}");
    let after_ack = transcript.split("#inc-1 /incident ack").nth(2).unwrap();
    assert!(!after_ack.contains("not acknowledged"), "no escalation after the ack:\n{after_ack}");
}

on_both_stores!(a_severity_change_replans_the_timers);
async fn a_severity_change_replans_the_timers(store: &str) {
    let (mut session, _platform) = session(store).await;
    let transcript = session
        .conversation(
            r#"/incident declare severity:P3 title:"Logo blurry"
               :advance 10m
               #inc-1 /incident severity level:P0
               :advance 6m
               #inc-1 /incident commander user:@bob
               /incident show id:1
               /incident timeline id:1"#,
        )
        .await;
    insta::assert_snapshot!("a_severity_change_replans_the_timers", transcript);
}

on_both_stores!(bad_input_is_refused_and_leaves_nothing_half_written);
async fn bad_input_is_refused_and_leaves_nothing_half_written(store: &str) {
    let (mut session, _platform) = session(store).await;
    let long_title = "t".repeat(101);
    let transcript = session
        .conversation(&format!(
            r#"/incident declare severity:P5 title:x
               /incident declare severity:P1 title:"   "
               /incident declare severity:P1 title:{long_title}
               /incident update id:INC-9 text:hello
               /incident update text:hello
               /incident ack id:banana
               @dave /incident declare severity:P0 title:x
               /incident declare severity:P2 title:"@everyone DB '; DROP TABLE incidents; --"
               /incident resolve id:1 root_cause:"<@&123> fixed"
               /incident resolve id:1 root_cause:again
               /incident update id:1 text:late
               /incident escalate id:1
               /incident list state:all"#
        ))
        .await;
    insta::assert_snapshot!("bad_input_is_refused_and_leaves_nothing_half_written", transcript);
    let incidents = session.core.store().incidents(bellhop_commands::incident::ListState::All, 10).await.unwrap();
    assert_eq!(incidents.len(), 1, "only the one valid declaration was stored");
    assert!(transcript.lines().filter(|l| l.contains("(pings")).all(|l| l == "    (pings @on-call)"), "user text pings nobody");
}

on_both_stores!(the_p1_escalation_draft_fills_what_bellhop_knows_and_marks_the_rest);
async fn the_p1_escalation_draft_fills_what_bellhop_knows_and_marks_the_rest(store: &str) {
    let (mut session, _platform) = session(store).await;
    session.type_line(r#"/incident declare severity:P1 title:"Invite failures" impact:"User invitations failing""#).await;
    session.type_line(":advance 10m").await;
    session.type_line(r#"#inc-1 /incident update text:"Checking the invite-user logs""#).await;
    let draft = session.type_line("#inc-1 /incident escalate").await;
    insta::assert_snapshot!("the_p1_escalation_draft_fills_what_bellhop_knows_and_marks_the_rest", draft);
    let postmortem = session.type_line("/incident postmortem id:INC-1").await;
    assert!(postmortem.contains("📎 postmortem-INC-1.md"), "{postmortem}");
    assert!(postmortem.contains("2026-01-05 09:10 UTC — @alice — update: Checking the invite-user logs"), "{postmortem}");
}

on_both_stores!(maintenance_is_announced_reminded_started_and_validated_by_a_sweep);
async fn maintenance_is_announced_reminded_started_and_validated_by_a_sweep(store: &str) {
    let (mut session, _platform) = session(store).await;
    let transcript = session
        .conversation(
            r#"/maintenance schedule start:"2026-01-07 02:00" duration:1h summary:"Database upgrade"
               /maintenance list
               :advance 17h
               :advance 24h
               /maintenance emergency summary:"Auth hotfix" duration:30m
               /maintenance schedule start:"2026-01-01 02:00" duration:1h summary:past
               /maintenance schedule start:"in 3h" duration:0s summary:x
               /maintenance schedule start:soon duration:1h summary:x
               /maintenance cancel id:MW-2
               /maintenance cancel id:MW-2
               :advance 1h"#,
        )
        .await;
    insta::with_settings!({ filters => vec![(r"\d+ ms", "<n> ms")] }, {
        insta::assert_snapshot!("maintenance_is_announced_reminded_started_and_validated_by_a_sweep", transcript);
    });
}

on_both_stores!(status_texts_name_what_is_affected_in_whole_sentences);
/// The status page texts are what a customer reads: whole sentences, the affected system named
/// as given (or "services"), never the incident's internal title.
async fn status_texts_name_what_is_affected_in_whole_sentences(store: &str) {
    let (mut session, _platform) = session(store).await;
    session
        .type_line(
            r#"/incident declare severity:P1 title:"INV-42 auth pods crashlooping" impact:"guests cannot sign in" affected:"sign-in""#,
        )
        .await;
    let posted = session.type_line(r#"/incident status-post id:INC-1 eta:"30 minutes""#).await;
    let investigating =
        posted.lines().skip_while(|l| !l.contains("[#status-updates]")).skip(1).map(str::trim).collect::<Vec<_>>().join("\n");
    assert_eq!(
        investigating,
        "🚨 INVESTIGATING: We are currently experiencing issues with our sign-in.\n\
         Guests cannot sign in. We are actively investigating and will\n\
         provide updates every 30 min.\n\
         ETA for resolution: 30 minutes"
    );
    assert!(!posted.contains("INV-42"), "the internal title stays inside: {posted}");
    let resolved = session.type_line(r#"#inc-1 /incident resolve root_cause:"an expired signing key""#).await;
    let text = resolved.lines().skip_while(|l| !l.contains("[#status-updates]")).skip(1).map(str::trim).collect::<Vec<_>>().join("\n");
    assert!(text.starts_with("✅ RESOLVED: All systems are now operational. The sign-in issue has been\nresolved"), "{text}");
    assert!(text.contains("Root cause: An expired signing key.\nDuration: "), "{text}");

    session.type_line(r#"/incident declare severity:P2 title:"Reports slow""#).await;
    let posted = session.type_line(r#"/incident status-post id:INC-2"#).await;
    assert!(posted.contains("issues with our services.\n    Some users may be affected. We are actively"), "{posted}");
}
