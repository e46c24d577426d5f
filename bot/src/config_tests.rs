use super::*;
use secrecy::ExposeSecret;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn problems(table: &str, pairs: &[(&str, &str)]) -> Vec<String> {
    Config::from_sources(&table.parse().unwrap(), &env(pairs)).unwrap_err().0
}

#[test]
fn defaults_follow_the_runbook() {
    let config = Config::from_sources(&toml::Table::new(), &env(&[("SUPABASE_URL", "https://x.supabase.co/")])).unwrap();
    assert_eq!(config.health.functions, RUNBOOK_FUNCTIONS);
    assert_eq!(config.health.timeout, Duration::from_secs(10));
    assert_eq!(config.health.slow_after, Duration::from_secs(2));
    assert_eq!(config.health.supabase_url.as_deref(), Some("https://x.supabase.co"));
    assert_eq!(config.store_url.expose_secret(), DEFAULT_STORE_URL);
    assert_eq!(config.shell_users.len(), 5);
    assert!(config.target.is_none(), "no SUPABASE_DB_URL, no target database");
}

#[test]
fn the_target_database_reads_its_statement_timeout() {
    let found = Config::from_sources(&toml::Table::new(), &env(&[("SUPABASE_DB_URL", "postgres://u:hunter2@db/x")])).unwrap();
    assert_eq!(found.target.unwrap().statement_timeout, Duration::from_secs(5));
    let table = "target_statement_timeout = \"2s\"".parse().unwrap();
    let found = Config::from_sources(&table, &env(&[("SUPABASE_DB_URL", "postgres://u:hunter2@db/x")])).unwrap();
    assert_eq!(found.target.unwrap().statement_timeout, Duration::from_secs(2));
    assert_eq!(
        problems("", &[("BELLHOP_TARGET_STATEMENT_TIMEOUT", "0s")]),
        ["BELLHOP_TARGET_STATEMENT_TIMEOUT = \"0s\": must be more than 0 and at most 5m"]
    );
}

#[test]
fn environment_overrides_the_file() {
    let table = "probe_timeout = \"20s\"\nfunctions = [\"a\", \"b\"]\n".parse().unwrap();
    let config = Config::from_sources(&table, &env(&[("BELLHOP_PROBE_TIMEOUT", "3s")])).unwrap();
    assert_eq!(config.health.timeout, Duration::from_secs(3));
    assert_eq!(config.health.functions, ["a", "b"]);
}

#[test]
fn every_problem_names_its_key_and_fix() {
    let found =
        problems("colour = \"red\"", &[("BELLHOP_PROBE_TIMEOUT", "ten"), ("FRONTEND_URL", "example.com"), ("DISCORD_GUILD_ID", "abc")]);
    assert_eq!(
        found,
        [
            "unknown key `colour` in the config file; the keys are listed in bellhop.example.toml",
            "FRONTEND_URL = \"example.com\": not an http(s) URL; write it like https://example.com",
            "BELLHOP_PROBE_TIMEOUT = \"ten\": not a duration; write a number with a unit, like 10s or 500ms",
            "DISCORD_GUILD_ID = \"abc\": must be a server id (a number; Discord: right-click the server → Copy Server ID)",
        ]
    );
}

#[test]
fn secrets_never_appear_in_errors_or_debug() {
    let found = problems("", &[("SUPABASE_DB_URL", "mysql://root:hunter2@db"), ("DISCORD_TOKEN", "tok-123")]);
    assert_eq!(found, ["SUPABASE_DB_URL: must be a postgres:// URL (Supabase: Project Settings → Database → Connection string)"]);
    let config = Config::from_sources(
        &toml::Table::new(),
        &env(&[("SUPABASE_DB_URL", "postgres://u:hunter2@db/x"), ("DISCORD_TOKEN", "tok-123"), ("SUPABASE_ANON_KEY", "key-456")]),
    )
    .unwrap();
    let debug = format!("{config:?}");
    for secret in ["hunter2", "tok-123", "key-456"] {
        assert!(!debug.contains(secret), "{secret} leaked into {debug}");
    }
}

#[test]
fn shell_users_come_from_the_file() {
    let table = "[shell.users]\nzoe = [\"admin\"]\nyan = []\n".parse().unwrap();
    let config = Config::from_sources(&table, &env(&[("FRONTEND_URL", "http://127.0.0.1:1")])).unwrap();
    let names: Vec<&str> = config.shell_users.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["yan", "zoe"]);
    assert!(config.shell_users[1].has(Role::Approver));
    let found = problems("[shell.users]\nzoe = [\"owner\"]\n", &[]);
    assert_eq!(found, ["`shell.users.zoe` in the config file: unknown role `owner`; the roles are responder, approver, admin"]);
}

#[test]
fn the_example_files_are_valid_and_name_every_key() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let config = Config::load(Some(&root.join("bellhop.example.toml")), &HashMap::new()).unwrap();
    assert_eq!(config.health.functions, RUNBOOK_FUNCTIONS);
    let example_toml = std::fs::read_to_string(root.join("bellhop.example.toml")).unwrap();
    let example_env = std::fs::read_to_string(root.join(".env.example")).unwrap();
    for key in KEYS {
        assert!(example_env.contains(&format!("{}=", key.env)), ".env.example lists {}", key.env);
        assert!(example_toml.contains(&format!("{} =", key.toml)), "bellhop.example.toml lists {}", key.toml);
    }
    for key in alerts::TIMING_KEYS {
        assert!(example_toml.contains(&format!("{key} =")), "bellhop.example.toml lists alerts.{key}");
    }
    for rule in bellhop_commands::alerts::RuleKind::ALL {
        assert!(example_toml.contains(&format!("[alerts.{}]", rule.key())), "bellhop.example.toml lists [alerts.{}]", rule.key());
    }
    assert_eq!(config.alerts, bellhop_commands::alerts::AlertSettings::default(), "the example's [alerts] are the defaults");
}

#[test]
fn the_incident_clock_and_paging_come_from_config() {
    let config = Config::from_sources(
        &toml::Table::new(),
        &env(&[
            ("SUPABASE_URL", "https://x.supabase.co"),
            ("BELLHOP_PAGE_ONCALL", "111"),
            ("BELLHOP_ESCALATE_AFTER", "2m,10m"),
            ("BELLHOP_UPDATE_EVERY", "P0=10m,P1=20m"),
        ]),
    )
    .unwrap();
    let incidents = &config.incidents;
    assert_eq!(incidents.on_call, Some(bellhop_commands::post::Ping::Role { id: "111".into(), name: "on-call".into() }));
    let delays: Vec<u64> = incidents.escalation.iter().map(|s| s.after.as_secs()).collect();
    assert_eq!(delays, [120, 600]);
    assert_eq!(incidents.update_every.len(), 2);
    let table = "[phases]\nP1 = [{ after = \"10m\", name = \"Check sessions\" }]\n".parse().unwrap();
    let config = Config::from_sources(&table, &env(&[])).unwrap();
    let p1 = &config.incidents.phases[&bellhop_commands::incident::Severity::P1];
    assert_eq!((p1.len(), p1[0].after.as_secs(), p1[0].name.as_str()), (1, 600, "Check sessions"));
    assert_eq!(config.incidents.phases[&bellhop_commands::incident::Severity::P0].len(), 3, "other severities keep the runbook's");
    let wrong = problems("[phases]\nP9 = []\nP1 = [{ name = \"no delay\" }]\n", &[]);
    assert_eq!(wrong.len(), 2, "{wrong:?}");
    let problems =
        problems("", &[("BELLHOP_UPDATE_EVERY", "P0 every 10m"), ("BELLHOP_ESCALATE_AFTER", "5m"), ("BELLHOP_PAGE_INFRA", "<@&1>")]);
    for key in ["BELLHOP_UPDATE_EVERY", "BELLHOP_ESCALATE_AFTER", "BELLHOP_PAGE_INFRA"] {
        assert!(problems.iter().any(|p| p.contains(key)), "{key} in {problems:?}");
    }
}

#[test]
fn discord_channels_roles_and_proxy_are_read_and_checked() {
    let table = "discord_admin_roles = [\"7\", \"8\"]\n".parse().unwrap();
    let config = Config::from_sources(
        &table,
        &env(&[("DISCORD_HTTP_PROXY", "http://127.0.0.1:3000/"), ("DISCORD_OPS_CHANNEL", "42"), ("DISCORD_RESPONDER_ROLES", "1, 2")]),
    )
    .unwrap();
    assert_eq!(config.discord.http_proxy.as_deref(), Some("http://127.0.0.1:3000"));
    assert_eq!((config.discord.ops_channel, config.discord.incidents_channel), (Some(42), None));
    assert_eq!((config.discord.responder_roles, config.discord.admin_roles), (vec![1, 2], vec![7, 8]));
    let found = problems(
        "",
        &[("DISCORD_HTTP_PROXY", "https://proxy/v9"), ("DISCORD_STATUS_CHANNEL", "#status"), ("DISCORD_APPROVER_ROLES", "1,x")],
    );
    assert_eq!(
        found,
        [
            "DISCORD_HTTP_PROXY = \"https://proxy/v9\": must be a base URL without a path, like http://127.0.0.1:3000 or https://proxy.example.com",
            "DISCORD_STATUS_CHANNEL = \"#status\": must be a channel id (a number; Discord: right-click the channel → Copy Channel ID)",
            "DISCORD_APPROVER_ROLES = \"1,x\": must be role ids separated by commas (Discord: Server Settings → Roles → right-click → Copy Role ID)",
        ]
    );
}

#[test]
fn alert_rules_default_to_the_runbook_and_can_be_tuned() {
    use bellhop_commands::alerts::RuleKind;
    let config = Config::from_sources(&toml::Table::new(), &env(&[])).unwrap();
    let rule = |config: &Config, kind| config.alerts.rules.iter().find(|r| r.kind == kind).unwrap().clone();
    assert_eq!(rule(&config, RuleKind::ErrorRate).threshold, 5.0);
    assert_eq!(rule(&config, RuleKind::ErrorRate).window, Duration::from_secs(300));
    assert_eq!(rule(&config, RuleKind::Latency).threshold, 10_000.0);
    assert_eq!(rule(&config, RuleKind::Failures).threshold, 10.0);
    assert_eq!((rule(&config, RuleKind::SuccessRate).threshold, rule(&config, RuleKind::SuccessRate).window.as_secs()), (95.0, 900));
    assert_eq!(config.sweep_every, Duration::from_secs(300));
    assert!(config.http.addr.ip().is_loopback() && config.http.token.is_none());
    let table = "[alerts]\nclear_for = \"2m\"\n[alerts.error_rate]\nthreshold = 2.5\nfor = \"0s\"\nmin_samples = 5\n".parse().unwrap();
    let config = Config::from_sources(&table, &env(&[("BELLHOP_SWEEP_EVERY", "15s"), ("BELLHOP_HTTP_ADDR", "0.0.0.0:9000")])).unwrap();
    let tuned = rule(&config, RuleKind::ErrorRate);
    assert_eq!((tuned.threshold, tuned.hold_for, tuned.min_samples), (2.5, Duration::ZERO, 5));
    assert_eq!(config.alerts.timing.clear_for, chrono::Duration::minutes(2));
    assert_eq!((config.sweep_every.as_secs(), config.http.addr.port()), (15, 9000));
}

#[test]
fn wrong_alert_and_ingest_settings_name_their_key() {
    let found = problems(
        "[alerts]\nsnooze = \"1m\"\n[alerts.error_rate]\nthreshold = 150\nwindow = \"2s\"\n",
        &[
            ("BELLHOP_SWEEP_EVERY", "5s"),
            ("BELLHOP_HTTP_ADDR", "localhost"),
            ("BELLHOP_INGEST_TOKEN", "tok-789"),
            ("BELLHOP_INGEST_MAX_BODY", "1"),
        ],
    );
    for key in [
        "alerts.snooze",
        "alerts.error_rate.threshold",
        "alerts.error_rate.window",
        "BELLHOP_SWEEP_EVERY",
        "BELLHOP_HTTP_ADDR",
        "BELLHOP_INGEST_MAX_BODY",
    ] {
        assert!(found.iter().any(|p| p.contains(key)), "{key} in {found:?}");
    }
    assert!(!found.join("\n").contains("tok-789"));
    let config =
        Config::from_sources(&toml::Table::new(), &env(&[("BELLHOP_INGEST_TOKEN", "tok-789"), ("BELLHOP_GRAFANA_SECRET", "g-456")]))
            .unwrap();
    let debug = format!("{config:?}");
    assert!(!debug.contains("tok-789") && !debug.contains("g-456"), "{debug}");
}

#[test]
fn the_discord_proxy_gets_the_token_only_over_loopback_or_https() {
    let proxy = |url: &str| Config::from_sources(&toml::Table::new(), &env(&[("DISCORD_HTTP_PROXY", url)])).map(|c| c.discord.http_proxy);
    for accepted in
        ["http://127.0.0.1:3000", "http://127.8.9.10", "http://localhost:3000/", "http://[::1]:3000", "https://proxy.example.com"]
    {
        assert!(proxy(accepted).is_ok_and(|p| p.is_some()), "{accepted} is accepted");
    }
    for refused in ["http://10.0.0.5:3000", "http://proxy.example.com", "http://127.0.0.1.evil.com", "http://localhost.evil.com"] {
        let problems = proxy(refused).unwrap_err().0;
        assert_eq!(
            problems,
            [format!(
                "DISCORD_HTTP_PROXY = {refused:?}: carries the bot token, so plain http:// is only for this machine (127.0.0.1, localhost, [::1]); use https:// for any other host"
            )]
        );
    }
    for malformed in ["ftp://127.0.0.1", "http://user:pw@127.0.0.1", "127.0.0.1:3000", "https://proxy?x=1"] {
        let problems = proxy(malformed).unwrap_err().0;
        assert!(problems[0].starts_with("DISCORD_HTTP_PROXY") && problems[0].contains("must be a base URL"), "{malformed}: {problems:?}");
    }
}

#[test]
fn the_approval_gate_defaults_to_two_approvers_and_pings_the_approver_role() {
    let config = Config::from_sources(&toml::Table::new(), &env(&[("DISCORD_APPROVER_ROLES", "222,333")])).unwrap();
    let gate = &config.remediation;
    assert_eq!((gate.approvals_required, gate.requester_may_approve, gate.expiry), (2, false, Duration::from_secs(900)));
    assert_eq!(gate.approver_ping, bellhop_commands::post::Ping::Role { id: "222".into(), name: "approvers".into() });
    let tuned = env(&[("BELLHOP_APPROVALS_REQUIRED", "3"), ("BELLHOP_REQUESTER_MAY_APPROVE", "true"), ("BELLHOP_PLAN_EXPIRY", "5m")]);
    let gate = Config::from_sources(&toml::Table::new(), &tuned).unwrap().remediation;
    assert_eq!((gate.approvals_required, gate.requester_may_approve, gate.expiry), (3, true, Duration::from_secs(300)));
    let found =
        problems("", &[("BELLHOP_APPROVALS_REQUIRED", "0"), ("BELLHOP_PLAN_EXPIRY", "2d"), ("BELLHOP_REQUESTER_MAY_APPROVE", "maybe")]);
    for key in ["BELLHOP_APPROVALS_REQUIRED", "BELLHOP_PLAN_EXPIRY", "BELLHOP_REQUESTER_MAY_APPROVE"] {
        assert!(found.iter().any(|p| p.contains(key)), "{key} in {found:?}");
    }
}

#[test]
fn rollbacks_need_an_existing_folder_and_a_tolerance_from_0_to_100_percent() {
    let config = Config::from_sources(&toml::Table::new(), &env(&[])).unwrap();
    assert_eq!((config.remediation.rollbacks_dir.as_deref(), config.remediation.rollback_tolerance_percent), (None, 1));
    let dir = std::env::temp_dir();
    let dir_text = dir.display().to_string();
    let tuned = env(&[("BELLHOP_ROLLBACKS_DIR", &dir_text), ("BELLHOP_ROLLBACK_TOLERANCE", "0")]);
    let gate = Config::from_sources(&toml::Table::new(), &tuned).unwrap().remediation;
    assert_eq!((gate.rollbacks_dir.as_deref(), gate.rollback_tolerance_percent), (Some(dir.as_path()), 0));
    let found = problems("", &[("BELLHOP_ROLLBACKS_DIR", "/no/such/bellhop/folder"), ("BELLHOP_ROLLBACK_TOLERANCE", "101")]);
    assert!(found.iter().any(|p| p.starts_with("BELLHOP_ROLLBACKS_DIR") && p.contains("no such directory")), "{found:?}");
    assert!(found.iter().any(|p| p.starts_with("BELLHOP_ROLLBACK_TOLERANCE") && p.contains("from 0 to 100")), "{found:?}");
}
