//! Whole conversations through the shell adapter, kept as transcripts.

use bellhop::simulated::{Behaviour, Script};
use bellhop_tests::{platform, settings, ShellSession, KEY};
use std::time::Duration;

async fn session_against(script: Script) -> (ShellSession, bellhop::simulated::SimulatedPlatform) {
    let platform = platform(script).await;
    let session = ShellSession::start(settings(&platform.url(), &["invite-user", "trial-signup"])).await;
    (session, platform)
}

#[tokio::test]
async fn health_calls_out_the_failing_and_the_slow_function() {
    let script = Script::new(KEY)
        .with("invite-user", Behaviour::status(503))
        .with("trial-signup", Behaviour::ok().delayed(Duration::from_millis(600)));
    let (mut session, _platform) = session_against(script).await;
    let transcript = session.conversation("/health").await;
    // Latencies vary run to run; the transcript keeps their shape, not their digits.
    insta::with_settings!({ filters => vec![(r"\d+ ms", "<n> ms")] }, {
        insta::assert_snapshot!(transcript);
    });
}

#[tokio::test]
async fn templates_are_listed_and_rendered_with_samples() {
    let (mut session, _platform) = session_against(Script::new(KEY)).await;
    let transcript = session
        .conversation(
            "/template list
             /template show name:p0-investigating
             /template show name:\"resolved\"",
        )
        .await;
    insta::assert_snapshot!(transcript);
}

#[tokio::test]
async fn bad_input_gets_one_clear_sentence_only_the_typist_sees() {
    let (mut session, _platform) = session_against(Script::new(KEY)).await;
    let transcript = session
        .conversation(
            "/helth
             /template show
             /template show name:nope colour:red
             /template show name:\"unterminated
             /template show name:@everyone
             /template show name:'; DROP TABLE audit; --
             @mallory /health
             @dave react 1 ✅
             @bob react 99 ✅
             :advance 5m
             :unknown",
        )
        .await;
    insta::assert_snapshot!(transcript);
    assert!(!transcript.contains("[#ops]"), "nothing bad input causes is posted to the channel:\n{transcript}");
}

#[tokio::test]
async fn a_ten_thousand_character_value_is_refused_not_echoed() {
    let (mut session, _platform) = session_against(Script::new(KEY)).await;
    let huge = "x".repeat(10_000);
    let answer = session.type_line(&format!("/template show name:{huge}")).await;
    assert!(answer.starts_with("#1 (only @alice)"), "{answer}");
    assert!(answer.len() < 400, "the error quotes a shortened value, not 10,000 characters: {} bytes", answer.len());
}

#[tokio::test]
async fn a_person_without_a_role_is_refused_and_the_refusal_is_audited() {
    let (mut session, _platform) = session_against(Script::new(KEY)).await;
    let answer = session.type_line("@dave /health").await;
    insta::assert_snapshot!(answer);
    let audit = session.core.store().recent_audit(10).await.unwrap();
    assert!(audit.iter().any(|entry| entry.actor_name == "dave" && entry.outcome.contains("refused")), "{audit:?}");
}
