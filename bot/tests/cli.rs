//! The `bellhop` binary as cron and a new user run it: exit codes, JSON, config errors, secrets.

use bellhop::simulated::{Behaviour, Script, SimulatedPlatform};
use std::io::Write as _;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const KEY: &str = "cli-test-anon-key-0123456789";

/// The binary in an empty directory (no `.env`, no `bellhop.toml`) with only `vars` set.
fn bellhop(args: &[&str], vars: &[(String, String)], stdin: &str) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_bellhop"))
        .args(args)
        .current_dir(dir.path())
        .env_clear()
        .env("BELLHOP_DATABASE_URL", format!("sqlite:{}", dir.path().join("store.sqlite").display()))
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the bellhop binary starts");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `bellhop check` against a simulated platform that follows `script`.
async fn check_against(script: Script, args: &'static [&'static str]) -> Output {
    let platform = SimulatedPlatform::start(script).await.unwrap();
    let url = platform.url();
    let vars = vars(&[
        ("FRONTEND_URL", &url),
        ("SUPABASE_URL", &url),
        ("SUPABASE_ANON_KEY", KEY),
        ("BELLHOP_FUNCTIONS", "invite-user,trial-signup"),
        ("BELLHOP_SLOW_AFTER", "300ms"),
        ("BELLHOP_PROBE_TIMEOUT", "2s"),
    ]);
    let output = tokio::task::spawn_blocking(move || bellhop(args, &vars, "")).await.unwrap();
    drop(platform);
    output
}

#[tokio::test]
async fn check_exits_0_when_everything_is_up() {
    let output = check_against(Script::new(KEY), &["check"]).await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(stdout.contains("invite-user") && stdout.contains("trial-signup"), "{stdout}");
    assert!(!stdout.contains(KEY) && !text(&output.stderr).contains(KEY));
}

#[tokio::test]
async fn check_json_reports_each_target_and_exits_1_when_one_is_down() {
    let script = Script::new(KEY)
        .with("invite-user", Behaviour::error_code(546, "WORKER_LIMIT"))
        .with("trial-signup", Behaviour::ok().delayed(Duration::from_millis(500)));
    let output = check_against(script, &["check", "--json"]).await;
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("stdout is one JSON object");
    assert_eq!(report["healthy"], false);
    let targets = report["targets"].as_array().unwrap();
    let summary: Vec<String> = targets.iter().map(|t| format!("{} {} {}", t["name"], t["kind"], t["status"])).collect();
    for wanted in [
        r#""invite-user" "function" "down""#,
        r#""trial-signup" "function" "slow""#,
        r#""frontend" "frontend" "up""#,
        r#""auth" "auth" "up""#,
        r#""database" "database" "skipped""#,
    ] {
        assert!(summary.iter().any(|s| s == wanted), "{wanted} missing from {summary:?}");
    }
    let invite = targets.iter().find(|t| t["name"] == "invite-user").unwrap();
    assert_eq!(invite["http_status"], 546);
    assert!(invite["latency_ms"].as_u64().is_some());
    let slow = targets.iter().find(|t| t["name"] == "trial-signup").unwrap();
    assert!(slow["latency_ms"].as_u64().unwrap() >= 500);
}

#[tokio::test]
async fn a_refused_key_exits_1_and_says_misconfigured() {
    let output = check_against(Script::new("the-platform-wants-another-key"), &["check", "--json"]).await;
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let invite = report["targets"].as_array().unwrap().iter().find(|t| t["name"] == "invite-user").unwrap();
    assert_eq!(invite["status"], "misconfigured");
    assert!(!text(&output.stdout).contains(KEY));
}

#[test]
fn a_wrong_value_names_the_key_and_exits_2_without_showing_secrets() {
    let output = bellhop(
        &["check"],
        &vars(&[
            ("SUPABASE_URL", "not a url"),
            ("SUPABASE_ANON_KEY", KEY),
            ("SUPABASE_DB_URL", "mysql://admin:hunter2-secret@db.example.com/prod"),
            ("BELLHOP_PROBE_TIMEOUT", "soon"),
        ]),
        "",
    );
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    for key in ["SUPABASE_URL", "SUPABASE_DB_URL", "BELLHOP_PROBE_TIMEOUT"] {
        assert!(stderr.contains(key), "{key} is named in: {stderr}");
    }
    assert!(!stderr.contains("hunter2-secret") && !stderr.contains(KEY), "no secret in: {stderr}");
}

#[test]
fn no_target_at_all_is_a_config_error() {
    let output = bellhop(&["check"], &[], "");
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("no target is configured"), "{}", text(&output.stderr));
}

#[test]
fn demo_runs_a_script_from_stdin_with_no_account() {
    let output = bellhop(&["demo"], &[], "/health\n/template list\n:quit\n");
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(stdout.contains("#1 [#ops] Health:"), "{stdout}");
    let line = |name: &str| stdout.lines().find(|l| l.trim_start().starts_with(name)).unwrap_or_default().to_string();
    assert!(line("trial-signup").contains("🟡 slow"), "the slow function is called out: {stdout}");
    assert!(line("invite-user").contains("🔴 down"), "the failing function is called out: {stdout}");
    assert!(stdout.contains("p0-investigating"), "{stdout}");
}

#[test]
fn migrate_creates_the_sqlite_store() {
    let output = bellhop(&["migrate"], &[], "");
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("up to date"));
}

#[test]
fn run_without_a_token_is_a_config_error_naming_both_chats() {
    let output = bellhop(&["run"], &vars(&[("FRONTEND_URL", "http://127.0.0.1:9")]), "");
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("DISCORD_TOKEN is not set") && stderr.contains("SLACK_BOT_TOKEN and SLACK_APP_TOKEN"), "{stderr}");
}

#[test]
fn slack_tokens_of_the_wrong_kind_or_missing_channels_are_named() {
    let swapped = vars(&[("SLACK_BOT_TOKEN", "xapp-1-A0000-0000000000-abcdef"), ("SLACK_APP_TOKEN", "xoxb-0000-0000-abcdefabcdef")]);
    let output = bellhop(&["run"], &swapped, "");
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("SLACK_BOT_TOKEN: must be the bot token") && stderr.contains("(this is an app-level token)"), "{stderr}");
    assert!(stderr.contains("SLACK_APP_TOKEN: must be an app-level token") && stderr.contains("(this is a bot token)"), "{stderr}");
    assert!(!stderr.contains("xoxb-0000"), "a token is never shown: {stderr}");
    let no_channels = vars(&[("SLACK_BOT_TOKEN", "xoxb-0000-0000-abcdefabcdef"), ("SLACK_APP_TOKEN", "xapp-1-A0000-0000000000-abcdef")]);
    let output = bellhop(&["run"], &no_channels, "");
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    for key in ["SLACK_INCIDENTS_CHANNEL", "SLACK_STATUS_CHANNEL", "SLACK_OPS_CHANNEL"] {
        assert!(stderr.contains(&format!("{key} is not set")), "{stderr}");
    }
}

#[test]
fn an_incident_declared_by_one_process_keeps_its_timers_in_the_next() {
    let store = tempfile::tempdir().unwrap();
    let vars = vars(&[
        ("FRONTEND_URL", "http://127.0.0.1:9"),
        ("BELLHOP_DATABASE_URL", &format!("sqlite:{}", store.path().join("bellhop.sqlite").display())),
    ]);
    let first = bellhop(&["shell", "--virtual-clock"], &vars, "/incident declare severity:P0 title:\"Logins failing\"\n:quit\n");
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    let stdout = text(&first.stdout);
    assert!(stdout.contains("#2 [#incidents] 🚨 INC-1 · P0 · Logins failing"), "{stdout}");
    assert!(stdout.contains("-- thread #inc-1 opened from #2"), "{stdout}");
    let second = bellhop(&["shell", "--virtual-clock"], &vars, ":advance 6m\n/incident list\n");
    assert_eq!(second.status.code(), Some(0), "{}", text(&second.stderr));
    let stdout = text(&second.stdout);
    assert!(stdout.contains("[#inc-1] ⏱ INC-1 · 5 min in: Investigation (5–15 min)"), "{stdout}");
    assert!(stdout.contains("INC-1 P0"), "{stdout}");
}

#[test]
fn run_without_its_channels_is_a_config_error_naming_each() {
    let output = bellhop(
        &["run"],
        &vars(&[("FRONTEND_URL", "http://127.0.0.1:9"), ("DISCORD_TOKEN", "not-a-real-token"), ("DISCORD_OPS_CHANNEL", "3")]),
        "",
    );
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("DISCORD_INCIDENTS_CHANNEL is not set") && stderr.contains("DISCORD_STATUS_CHANNEL is not set"), "{stderr}");
    assert!(!stderr.contains("DISCORD_OPS_CHANNEL is not set"), "{stderr}");
    assert!(!stderr.contains("not-a-real-token"), "the token is never shown: {stderr}");
}

#[test]
fn the_outbox_command_lists_what_waits_and_refuses_an_unknown_id() {
    let store = tempfile::tempdir().unwrap();
    let vars = vars(&[
        ("FRONTEND_URL", "http://127.0.0.1:9"),
        ("BELLHOP_DATABASE_URL", &format!("sqlite:{}", store.path().join("bellhop.sqlite").display())),
    ]);
    let empty = bellhop(&["outbox"], &vars, "");
    assert_eq!(empty.status.code(), Some(0), "{}", text(&empty.stderr));
    assert_eq!(text(&empty.stdout).trim(), "Outbox: nothing waits, nothing was given up");
    let unknown = bellhop(&["outbox", "retry", "42"], &vars, "");
    assert_eq!(unknown.status.code(), Some(1));
    assert_eq!(text(&unknown.stderr).trim(), "Outbox 42 is not waiting or given up; `bellhop outbox` lists what is.");
}

#[test]
fn a_template_override_using_an_unsupplied_variable_is_a_config_error_naming_file_and_variable() {
    let templates = tempfile::tempdir().unwrap();
    let file = templates.path().join("resolved.j2");
    std::fs::write(&file, "RESOLVED by {{ commander }}: {{ root_cause }}").unwrap();
    let vars = vars(&[("FRONTEND_URL", "http://127.0.0.1:9"), ("BELLHOP_TEMPLATES_DIR", &templates.path().display().to_string())]);
    let output = bellhop(&["shell", "--virtual-clock"], &vars, "/health\n");
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("BELLHOP_TEMPLATES_DIR"), "{stderr}");
    assert!(stderr.contains(&format!("{} uses commander,", file.display())), "the file and the variable are named: {stderr}");
    assert!(text(&output.stdout).is_empty(), "nothing runs with a broken override: {}", text(&output.stdout));
}

#[test]
fn the_shell_is_the_person_at_the_terminal_and_refuses_typing_as_someone_else() {
    let store = tempfile::tempdir().unwrap();
    let vars = vars(&[
        ("FRONTEND_URL", "http://127.0.0.1:9"),
        ("BELLHOP_DATABASE_URL", &format!("sqlite:{}", store.path().join("bellhop.sqlite").display())),
    ]);
    let output = bellhop(&["shell", "--virtual-clock"], &vars, "@bob /help\n");
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    let login =
        stdout.lines().find_map(|l| l.strip_prefix("-- you are @")).and_then(|l| l.split(' ').next()).unwrap_or_else(|| panic!("{stdout}"));
    assert!(stdout.contains(&format!("You are @{login} here")) && stdout.contains("`@bob` cannot type or react"), "{stdout}");
    let rehearsal = bellhop(&["shell", "--virtual-clock", "--rehearsal"], &vars, "@bob /help\n");
    let stdout = text(&rehearsal.stdout);
    assert!(stdout.contains("!! REHEARSAL") && stdout.contains(&format!("\"rehearsal by {login} (uid")), "{stdout}");
    assert!(!stdout.contains("cannot type or react"), "the cast types in a rehearsal: {stdout}");
}

#[test]
fn a_shell_refuses_the_store_a_running_bot_uses() {
    let store = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", store.path().join("bellhop.sqlite").display());
    let vars = vars(&[("FRONTEND_URL", "http://127.0.0.1:9"), ("BELLHOP_DATABASE_URL", &url)]);
    assert_eq!(bellhop(&["migrate"], &vars, "").status.code(), Some(0));
    // What a running `bellhop run` keeps renewed on its store.
    let until = chrono::Utc::now().timestamp_millis() + 60_000;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        use sqlx::Connection as _;
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query("INSERT INTO leases (name, holder, until_ms) VALUES ('chat', 'bot-replica-1', $1)")
            .bind(until)
            .execute(&mut conn)
            .await
            .unwrap();
    });
    let output = bellhop(&["shell"], &vars, "/help\n");
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("`bellhop run` (replica bot-replica-1) is using this store"), "{stderr}");
}

/// A virtual-clock shell on `store` with its HTTP server on a free port, waiting on stdin until the
/// test closes it.
fn waiting_shell(dir: &std::path::Path, store: &str) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_bellhop"))
        .args(["shell", "--virtual-clock"])
        .current_dir(dir)
        .env_clear()
        .env("FRONTEND_URL", "http://127.0.0.1:9")
        .env("BELLHOP_DATABASE_URL", store)
        .env("BELLHOP_HTTP_ADDR", "127.0.0.1:0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the shell starts")
}

/// The other way round: a bot started on a store a shell is using refuses to start, naming it,
/// and the shell gives the store up when it ends.
#[test]
fn a_bot_refuses_the_store_a_running_shell_uses() {
    use std::io::BufRead as _;
    let store = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", store.path().join("bellhop.sqlite").display());
    let mut shell = waiting_shell(store.path(), &url);
    let mut stdout = std::io::BufReader::new(shell.stdout.take().unwrap());
    let mut line = String::new();
    // The banner follows the presence: once it is printed, the store says a shell is there.
    while stdout.read_line(&mut line).unwrap() > 0 && !line.contains("you are @") {
        line.clear();
    }
    assert!(line.contains("you are @"), "the shell printed its banner");

    let bot = vars(&[
        ("FRONTEND_URL", "http://127.0.0.1:9"),
        ("BELLHOP_DATABASE_URL", &url),
        ("DISCORD_TOKEN", "not-a-real-token-but-long-enough"),
        ("DISCORD_HTTP_PROXY", "http://127.0.0.1:9"),
        ("DISCORD_INCIDENTS_CHANNEL", "100000000000000001"),
        ("DISCORD_STATUS_CHANNEL", "100000000000000002"),
        ("DISCORD_OPS_CHANNEL", "100000000000000003"),
    ]);
    let refused = bellhop(&["run"], &bot, "");
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    assert!(text(&refused.stderr).contains("a `bellhop shell` (replica"), "{}", text(&refused.stderr));

    drop(shell.stdin.take());
    assert!(shell.wait().unwrap().success());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let held: i64 = runtime.block_on(async {
        use sqlx::Connection as _;
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query_scalar("SELECT COUNT(*) FROM leases WHERE name LIKE 'chat%'").fetch_one(&mut conn).await.unwrap()
    });
    assert_eq!(held, 0, "the shell gave the store up when it ended");
}

/// With the virtual clock no scheduler runs: a webhook that arrives while nobody types is still
/// posted at once, without waiting for the next line.
#[tokio::test]
async fn a_webhook_reaches_a_virtual_clock_shell_without_a_keystroke() {
    use std::io::BufRead as _;
    let store = tempfile::tempdir().unwrap();
    let mut shell = waiting_shell(store.path(), &format!("sqlite:{}", store.path().join("bellhop.sqlite").display()));
    let (lines, mut printed) = tokio::sync::mpsc::unbounded_channel::<String>();
    let stdout = std::io::BufReader::new(shell.stdout.take().unwrap());
    std::thread::spawn(move || stdout.lines().map_while(Result::ok).try_for_each(|line| lines.send(line)));
    async fn next(printed: &mut tokio::sync::mpsc::UnboundedReceiver<String>, wanted: &str) -> String {
        loop {
            match tokio::time::timeout(Duration::from_secs(10), printed.recv()).await {
                Ok(Some(line)) if line.contains(wanted) => return line,
                Ok(Some(_)) => {}
                _ => panic!("no line with {wanted:?}"),
            }
        }
    }
    let banner = next(&mut printed, "samples and webhooks: http://").await;
    let events = banner.split_whitespace().find(|w| w.starts_with("http://")).unwrap().trim_end_matches(',');
    let hook = events.replace("/events", "/hooks/alertmanager");
    let payload = serde_json::json!({
        "version": "4", "groupKey": "{}:{alertname=\"DiskFull\"}", "status": "firing", "receiver": "bellhop",
        "groupLabels": {"alertname": "DiskFull"}, "commonLabels": {"alertname": "DiskFull", "severity": "critical"},
        "commonAnnotations": {}, "externalURL": "http://alertmanager",
        "alerts": [{"status": "firing", "labels": {"alertname": "DiskFull", "severity": "critical"},
            "annotations": {"summary": "Disk 95% full"}, "startsAt": "2026-12-03T01:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://prometheus", "fingerprint": "abc"}]
    });
    let answer = reqwest::Client::new().post(&hook).json(&payload).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    let post = next(&mut printed, "Alertmanager: DiskFull").await;
    assert!(post.starts_with("#1 [#ops]"), "{post}");
    drop(shell.stdin.take());
    assert!(shell.wait().unwrap().success());
}

#[test]
fn slack_refuses_a_token_in_clear_text_and_pages_of_the_other_chat() {
    let slack = [
        ("SLACK_BOT_TOKEN", "xoxb-0000-0000-abcdefabcdef"),
        ("SLACK_APP_TOKEN", "xapp-1-A0000-0000000000-abcdef"),
        ("SLACK_INCIDENTS_CHANNEL", "C0INCIDENTS"),
        ("SLACK_STATUS_CHANNEL", "C0STATUS"),
        ("SLACK_OPS_CHANNEL", "C0OPS"),
    ];
    let mut env = slack.to_vec();
    env.push(("SLACK_API_URL", "http://slack.example.com/api"));
    let output = bellhop(&["run"], &vars(&env), "");
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("SLACK_API_URL") && stderr.contains("plain http:// is only for this machine"), "{stderr}");
    let mut env = slack.to_vec();
    env.push(("BELLHOP_PAGE_ONCALL", "123456789012345678"));
    let output = bellhop(&["run"], &vars(&env), "");
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("BELLHOP_PAGE_ONCALL = \"123456789012345678\" is a Discord role id, but only Slack runs"), "{stderr}");
    let mut both = slack.to_vec();
    both.extend([("DISCORD_TOKEN", "fake-token"), ("BELLHOP_PAGE_ONCALL", "S0ONCALL")]);
    let output = bellhop(&["run"], &vars(&both), "");
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("BELLHOP_PAGE_ONCALL = \"S0ONCALL\" is a Slack user group id, but Discord pages role ids"), "{stderr}");
    let mut two = slack.to_vec();
    two.push(("SLACK_PAGE_INFRA", "S0INFRA,S0OTHER"));
    let output = bellhop(&["run"], &vars(&two), "");
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("SLACK_PAGE_INFRA") && stderr.contains("must be one user group id"), "{stderr}");
}
