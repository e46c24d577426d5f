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
    let tokens = [
        ("BELLHOP_INGEST_TOKEN", "tok-789-tok-789-tok"),
        ("BELLHOP_GRAFANA_SECRET", "g-456-g-456-g-456"),
        ("BELLHOP_METRICS_TOKEN", "m-123-m-123-m-123"),
    ];
    let config = Config::from_sources(&toml::Table::new(), &env(&tokens)).unwrap();
    let debug = format!("{config:?}");
    assert!(!debug.contains("tok-789") && !debug.contains("g-456") && !debug.contains("m-123"), "{debug}");
}

#[test]
fn empty_or_short_tokens_are_refused_from_the_environment_and_the_file_alike() {
    let min = "at least 16 characters";
    let found = problems("", &[("BELLHOP_INGEST_TOKEN", ""), ("BELLHOP_GRAFANA_SECRET", "short-secret"), ("BELLHOP_METRICS_TOKEN", "  ")]);
    assert_eq!(
        found,
        [
            format!("BELLHOP_INGEST_TOKEN: is empty; set a token of {min} (like `openssl rand -hex 32`), or leave the key out"),
            "BELLHOP_METRICS_TOKEN: is empty; set a token of at least 16 characters (like `openssl rand -hex 32`), or leave the key out"
                .into(),
            "BELLHOP_GRAFANA_SECRET: is shorter than 16 characters; use a longer token (like `openssl rand -hex 32`)".into(),
        ]
    );
    let found = problems("ingest_token = \"\"\ngrafana_secret = \"0123456789abcde\"\nmetrics_token = \"\"\n", &[]);
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(found[0].starts_with("`ingest_token` in the config file: is empty"), "{found:?}");
    assert!(found[1].starts_with("`metrics_token` in the config file: is empty"), "{found:?}");
    assert!(found[2].starts_with("`grafana_secret` in the config file: is shorter than 16"), "{found:?}");
    assert!(!found.join("\n").contains("0123456789abcde"), "a secret is never shown");
    let long = "0123456789abcdef";
    let config = Config::from_sources(&format!("ingest_token = \"{long}\"").parse().unwrap(), &env(&[])).unwrap();
    assert_eq!(config.http.token.as_ref().map(|t| t.expose_secret().to_string()).as_deref(), Some(long));
    assert!(config.http.grafana_secret.is_none() && config.http.metrics_token.is_none());
    assert_eq!(config.http.scrape_token().map(|t| t.expose_secret().to_string()).as_deref(), Some(long), "scrapes need the ingest token");
}

#[test]
fn the_http_server_limits_and_grafana_timestamp_header_are_read() {
    let http = Config::from_sources(&toml::Table::new(), &env(&[])).unwrap().http;
    assert_eq!((http.header_timeout.as_secs(), http.body_timeout.as_secs(), http.max_connections), (10, 30, 1024));
    assert_eq!(http.grafana_timestamp_header, None);
    let tuned = env(&[
        ("BELLHOP_HTTP_HEADER_TIMEOUT", "2s"),
        ("BELLHOP_HTTP_BODY_TIMEOUT", "5s"),
        ("BELLHOP_HTTP_MAX_CONNECTIONS", "64"),
        ("BELLHOP_GRAFANA_TIMESTAMP_HEADER", "X-Signed-At"),
    ]);
    let http = Config::from_sources(&toml::Table::new(), &tuned).unwrap().http;
    assert_eq!((http.header_timeout.as_secs(), http.body_timeout.as_secs(), http.max_connections), (2, 5, 64));
    assert_eq!(http.grafana_timestamp_header.as_deref(), Some("X-Signed-At"));
    let found = problems(
        "",
        &[
            ("BELLHOP_HTTP_HEADER_TIMEOUT", "0s"),
            ("BELLHOP_HTTP_BODY_TIMEOUT", "1h"),
            ("BELLHOP_HTTP_MAX_CONNECTIONS", "0"),
            ("BELLHOP_GRAFANA_TIMESTAMP_HEADER", "X Signed"),
        ],
    );
    for key in
        ["BELLHOP_HTTP_HEADER_TIMEOUT", "BELLHOP_HTTP_BODY_TIMEOUT", "BELLHOP_HTTP_MAX_CONNECTIONS", "BELLHOP_GRAFANA_TIMESTAMP_HEADER"]
    {
        assert!(found.iter().any(|p| p.starts_with(key)), "{key} in {found:?}");
    }
}

#[test]
fn a_one_person_gate_is_refused_unless_asked_for_by_name() {
    let one = [("BELLHOP_APPROVALS_REQUIRED", "1"), ("BELLHOP_REQUESTER_MAY_APPROVE", "true")];
    assert_eq!(
        problems("", &one),
        ["BELLHOP_APPROVALS_REQUIRED=1 with BELLHOP_REQUESTER_MAY_APPROVE=true (approvals_required, requester_may_approve \
          in bellhop.toml) lets one person approve their own plan; set BELLHOP_ALLOW_ONE_PERSON_GATE=true \
          (allow_one_person_gate = true) if that is meant"]
    );
    assert_eq!(problems("approvals_required = 1\nrequester_may_approve = true\n", &[]).len(), 1, "from the file too");
    let asked = toml::from_str("approvals_required = 1\nrequester_may_approve = true\nallow_one_person_gate = true\n").unwrap();
    assert!(Config::from_sources(&asked, &HashMap::new()).is_ok_and(|c| c.remediation.one_person()));
    let allowed = [one[0], one[1], ("BELLHOP_ALLOW_ONE_PERSON_GATE", "true")];
    let gate = Config::from_sources(&toml::Table::new(), &env(&allowed)).unwrap().remediation;
    assert!(gate.one_person());
    for two in [[("BELLHOP_APPROVALS_REQUIRED", "1")], [("BELLHOP_REQUESTER_MAY_APPROVE", "true")]] {
        assert!(!Config::from_sources(&toml::Table::new(), &env(&two)).unwrap().remediation.one_person());
    }
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

/// Every setting the example file shows, uncommented as a new user would, is read as written:
/// booleans and numbers need no quotes.
#[test]
fn the_example_files_values_are_accepted_as_written() {
    let example = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../bellhop.example.toml")).unwrap();
    let uncommented: String = example
        .lines()
        .filter_map(|line| line.strip_prefix("# "))
        .filter(|line| {
            line.split_once(" = ").is_some_and(|(key, _)| !key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        })
        .map(|line| format!("{}\n", line.split("   #").next().unwrap_or(line)))
        .collect();
    assert!(uncommented.contains("requester_may_approve = false"), "{uncommented}");
    let Ok(table) = uncommented.parse::<toml::Table>() else { panic!("the example's settings are TOML:\n{uncommented}") };
    let found = match Config::from_sources(&table, &HashMap::new()) {
        Ok(_) => Vec::new(),
        Err(problems) => problems.0,
    };
    assert!(!found.iter().any(|p| p.contains("must be a string")), "{found:#?}");
}

#[test]
fn the_management_api_is_where_supabase_api_url_says_and_plain_http_stays_on_this_machine() {
    let token = [("SUPABASE_ACCESS_TOKEN", "sbp_0123456789abcdef"), ("SUPABASE_PROJECT_REF", "abcdefghijklmnopqrst")];
    let config = Config::from_sources(&toml::Table::new(), &env(&token)).unwrap();
    assert_eq!(config.management.unwrap().0.base, "https://api.supabase.com");
    let local = [token[0], token[1], ("SUPABASE_API_URL", "http://127.0.0.1:9100/")];
    assert_eq!(Config::from_sources(&toml::Table::new(), &env(&local)).unwrap().management.unwrap().0.base, "http://127.0.0.1:9100");
    let remote = [token[0], token[1], ("SUPABASE_API_URL", "http://api.example.com")];
    let refused = problems("", &remote);
    assert_eq!(
        refused,
        ["SUPABASE_API_URL = \"http://api.example.com\": receives SUPABASE_ACCESS_TOKEN, so plain http:// is only for this machine (127.0.0.1, localhost, [::1]); use https://"]
    );
    assert!(!refused[0].contains("sbp_0123456789abcdef"));
    assert_eq!(
        problems("", &[("SUPABASE_API_URL", "https://api.example.com/v1")]),
        ["SUPABASE_API_URL = \"https://api.example.com/v1\": must be a base URL without a path, like https://api.supabase.com"]
    );
}

#[test]
fn discord_security_role_is_who_a_security_incident_pages() {
    let config = Config::from_sources(&toml::Table::new(), &env(&[("DISCORD_SECURITY_ROLE", "123456789012345678")])).unwrap();
    assert_eq!(
        config.incidents.security,
        Some(bellhop_commands::post::Ping::Role { id: "123456789012345678".into(), name: "security".into() })
    );
    let slack = Config::from_sources(&toml::Table::new(), &env(&[("SLACK_PAGE_SECURITY", "S0SECURITY")])).unwrap();
    assert_eq!(slack.incidents.security, Some(bellhop_commands::post::Ping::role("security")), "Slack maps the label to its group");
    let unset = Config::from_sources(&toml::Table::new(), &env(&[])).unwrap();
    assert_eq!(unset.incidents.security, None, "no name to fall back on: the kickoff says it is not configured");
}
