//! The `bellhop` command line.

use anyhow::Context as _;
use bellhop::config::{Config, ConfigError, LogFormat};
use bellhop::shell::Shell;
use bellhop::{app, demo};
use bellhop_commands::health::sweep_post;
use bellhop_commands::{Clock, ManualClock, SystemClock};
use clap::{Parser, Subcommand};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use tokio::io::AsyncBufReadExt;

/// bellhop: the hotel platform's runbook as a chat-ops bot.
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// A TOML config file (default: bellhop.toml when present). Environment variables override it.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the Discord bot.
    Run,
    /// Talk to bellhop in this terminal (reads a script from stdin when it is not a terminal).
    /// You are one person here: the operating-system user, with the roles `[shell.users]` gives
    /// your login; approvals come from people in the chat.
    Shell {
        /// Start the clock at a fixed time and move it only with `:advance`.
        #[arg(long)]
        virtual_clock: bool,
        /// Keep the cast of people (@bob, @carol…) for rehearsing against a staging copy; every
        /// audit row says it was a rehearsal, and by whom.
        #[arg(long)]
        rehearsal: bool,
    },
    /// The shell against a simulated platform on 127.0.0.1: no account, no network.
    Demo {
        /// Start the clock at a fixed time and move it only with `:advance` (timers, reminders
        /// and alert windows then move when you say).
        #[arg(long)]
        virtual_clock: bool,
        /// A local PostgreSQL (superuser URL) to hold the demo's scratch target database;
        /// scripts/bellhop demo passes one. Without it the database commands are unavailable.
        #[arg(long, value_name = "URL")]
        postgres: Option<String>,
    },
    /// Runs the read-only diagnostics of the target database (SUPABASE_DB_URL) once; exit 0 when
    /// all is well, 1 when something needs attention or failed (for cron).
    Diagnose {
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// One health sweep; exit 0 when all is up, 1 when anything is slow, down or misconfigured.
    Check {
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Apply the store's migrations.
    Migrate,
    /// What waits in the outbox or was given up; retry or drop one.
    Outbox {
        #[command(subcommand)]
        action: Option<OutboxAction>,
    },
    /// Serve a simulated platform on 127.0.0.1 (for trying `check` and for scripts/bench).
    #[command(hide = true)]
    Simulate {
        #[arg(long, default_value = "0")]
        port: u16,
        /// Every endpoint answers after this long.
        #[arg(long, default_value = "0s", value_parser = humantime::parse_duration)]
        delay: std::time::Duration,
    },
}

#[derive(Subcommand)]
enum OutboxAction {
    /// List waiting and given-up operations (the default).
    List,
    /// Send one again now.
    Retry { id: i64 },
    /// Drop one for good.
    Drop { id: i64 },
}

const CONFIG_ERROR: u8 = 2;

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(all(feature = "jemalloc", not(feature = "mimalloc")))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if matches!(cli.command, Cmd::Run | Cmd::Shell { .. } | Cmd::Demo { .. }) {
        bellhop::http::metrics::install_in_background();
    }
    let _ = dotenvy::dotenv();
    match run(cli).await {
        Ok(code) => code,
        Err(error) => match error.downcast_ref::<ConfigError>() {
            Some(config_error) => {
                eprint!("{config_error}");
                ExitCode::from(CONFIG_ERROR)
            }
            None => {
                eprintln!("bellhop: {error:#}");
                ExitCode::FAILURE
            }
        },
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Cmd::Demo { virtual_clock, postgres } => return run_demo(virtual_clock, postgres).await,
        Cmd::Simulate { port, delay } => return simulate(port, delay).await,
        _ => {}
    }
    let env: std::collections::HashMap<String, String> = std::env::vars().collect();
    let config = Config::load(cli.config.as_deref(), &env)?;
    // In a terminal conversation only warnings interrupt; the bot logs what it does.
    let quiet = matches!(cli.command, Cmd::Shell { .. });
    init_logging(config.log_format, quiet);
    match cli.command {
        Cmd::Check { json } => check(&config, json).await,
        Cmd::Diagnose { json } => diagnose(&config, json).await,
        Cmd::Migrate => {
            let store = app::open_store(&config).await?;
            println!("bellhop's store is up to date ({:?}).", store.backend());
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Outbox { action } => outbox(&config, action.unwrap_or(OutboxAction::List)).await,
        Cmd::Shell { virtual_clock, rehearsal } => {
            require_targets(&config)?;
            let operator = bellhop::shell::Operator::current();
            let cast = match rehearsal {
                true => Cast::Rehearsal(operator),
                false => Cast::Operator(operator),
            };
            shell(&config, virtual_clock, None, None, cast).await
        }
        Cmd::Run => {
            bellhop::run::chats(&config)?;
            require_targets(&config)?;
            bellhop::run::run_from_config(&config).await.map(|()| ExitCode::SUCCESS)
        }
        Cmd::Demo { .. } | Cmd::Simulate { .. } => unreachable!("handled above"),
    }
}

/// `bellhop outbox`: the same view and actions as the admins' `/outbox`, for when the chat is
/// what is broken.
async fn outbox(config: &Config, action: OutboxAction) -> anyhow::Result<ExitCode> {
    let store = app::open_store(config).await?;
    let now = chrono::Utc::now();
    let (done, id) = match action {
        OutboxAction::List => {
            let post = bellhop_commands::command::outbox_listing(&store.outbox_entries(100).await?, now);
            println!("{}", post.title);
            for field in &post.fields {
                println!("  {}  {}", field.name, field.value);
            }
            return Ok(ExitCode::SUCCESS);
        }
        OutboxAction::Retry { id } => (store.op_revive(id, now).await?, id),
        OutboxAction::Drop { id } => (store.op_drop(id, now, "the command line").await?, id),
    };
    if done {
        println!("Outbox {id}: done.");
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("Outbox {id} is not waiting or given up; `bellhop outbox` lists what is.");
        Ok(ExitCode::FAILURE)
    }
}

fn require_targets(config: &Config) -> Result<(), ConfigError> {
    if config.health.any_target() {
        Ok(())
    } else {
        Err(ConfigError(vec![
            "no target is configured: set FRONTEND_URL, SUPABASE_URL with SUPABASE_ANON_KEY, or SUPABASE_DB_URL (see .env.example), or try `bellhop demo`".into(),
        ]))
    }
}

fn init_logging(format: LogFormat, quiet: bool) {
    // In the terminal, sqlx's slow-statement warnings (seeding the demo's fixture) are noise.
    let default = if quiet { "warn,sqlx::query=error" } else { "warn,bellhop=info" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default.into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Human => builder.try_init(),
    };
}

async fn check(config: &Config, json: bool) -> anyhow::Result<ExitCode> {
    require_targets(config)?;
    let checker = bellhop_commands::health::HealthChecker::new(config.health.clone());
    let sweep = checker.sweep().await;
    if json {
        println!("{}", serde_json::to_string_pretty(&sweep)?);
    } else {
        let post = sweep_post(&sweep);
        println!("{}\n{}", post.title, post.body);
        let width = post.fields.iter().map(|f| f.name.chars().count()).max().unwrap_or(0);
        for field in &post.fields {
            println!("  {:width$}  {}", field.name, field.value);
        }
    }
    Ok(if sweep.healthy { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Who may type in a shell.
enum Cast {
    /// The demo's people, against its own scratch database.
    Demo,
    /// The configured people, for rehearsing against a staging copy, signed by who rehearses.
    Rehearsal(bellhop::shell::Operator),
    /// Against a real target: the person at the terminal, alone.
    Operator(bellhop::shell::Operator),
}

async fn shell(
    config: &Config,
    virtual_clock: bool,
    banner: Option<String>,
    faults: Option<bellhop::simulated::Faults>,
    cast: Cast,
) -> anyhow::Result<ExitCode> {
    let manual = virtual_clock.then(|| Arc::new(ManualClock::new(bellhop::shell::virtual_start())));
    let clock: Arc<dyn Clock> = match &manual {
        Some(manual) => manual.clone(),
        None => Arc::new(SystemClock),
    };
    let core = app::build_core(config, clock).await?;
    let core = Arc::new(match &cast {
        Cast::Demo => core,
        Cast::Rehearsal(operator) => core.with_audit_note(format!("rehearsal by {}", operator.signature())),
        Cast::Operator(operator) => core.with_audit_note(format!("uid {}", operator.uid)),
    });
    // A running bot's posts and pages are its to deliver, and this shell's are its own.
    let presence = bellhop::presence::claim(&core, bellhop::presence::Adapter::Shell).await?;
    let interactive = std::io::stdin().is_terminal();
    if let Some(banner) = banner {
        println!("{banner}");
    }
    match &cast {
        Cast::Demo => {}
        Cast::Rehearsal(operator) => println!(
            "!! REHEARSAL: you may type and react as anyone of the cast (:users); every audit row says \"rehearsal by {}\". Use a staging copy, never production.",
            operator.signature()
        ),
        Cast::Operator(operator) => println!(
            "-- you are @{} ({}); approvals come from people in the chat. (bellhop shell --rehearsal keeps the cast, for a staging copy.)",
            operator.login,
            operator.signature()
        ),
    }
    let real_time = manual.is_none();
    // The shell still talks when the port is taken (another bellhop): ingest is then off.
    let _http = match app::start_http(config, &core).await {
        Ok((addr, task)) => {
            println!("-- samples and webhooks: http://{addr}/events, /hooks/alertmanager, /hooks/grafana");
            Some(task)
        }
        Err(error) => {
            println!("-- the HTTP server is off: {error:#}");
            None
        }
    };
    let _management = app::start_management(config, &core)?;
    let style = if std::io::stdout().is_terminal() { bellhop::shell::Style::Ansi } else { bellhop::shell::Style::Plain };
    // A person at a terminal gets the line editor, and the shell prints above the line being typed.
    let (editor, out): (_, Box<dyn std::io::Write + Send>) = match interactive {
        true => {
            let (editor, out) = start_editor(config)?;
            (Some(editor), Box::new(out))
        }
        false => (None, Box::new(std::io::stdout())),
    };
    let people = match (&cast, config.shell_users_configured) {
        // Against a real target, person options name only the logins `[shell.users]` lists.
        (Cast::Operator(_), false) => Vec::new(),
        _ => config.shell_users.clone(),
    };
    let mut shell = Shell::styled(core.clone(), people.clone(), manual, out, style);
    if let Cast::Operator(operator) = &cast {
        shell = shell.as_operator(operator.actor(&people));
    }
    if let Some(faults) = faults {
        shell = shell.with_faults(faults);
    }
    // With the real clock, timers fire while nobody types; the virtual clock moves on :advance.
    let _scheduler = real_time.then(|| {
        let port: Arc<dyn bellhop_commands::ChatPort> = shell.printer().clone();
        tokio::spawn(bellhop::scheduler::run(core, port))
    });
    match editor {
        Some(editor) => converse(&mut shell, editor, real_time).await?,
        None => {
            let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
            loop {
                tokio::select! {
                    line = lines.next_line() => {
                        let Some(line) = line.context("cannot read stdin")? else { break };
                        if shell.line(&line).await?.is_break() {
                            break;
                        }
                    }
                    () = woken_without_scheduler(shell.core(), real_time) => shell.drain().await?,
                }
            }
        }
    }
    presence.release().await;
    Ok(ExitCode::SUCCESS)
}

/// With the virtual clock no scheduler runs, so samples and webhooks that arrive between lines
/// wake the shell itself (time still moves only on `:advance`). With the real clock the
/// scheduler answers every wake, and this never resolves.
async fn woken_without_scheduler(core: &Arc<bellhop_commands::Core>, real_time: bool) {
    match real_time {
        true => std::future::pending().await,
        false => core.woken().await,
    }
}

/// The line editor, with Tab completion and history across runs, and where the shell prints.
fn start_editor(config: &Config) -> anyhow::Result<(Editor, bellhop::shell::editor::AbovePrompt)> {
    use bellhop::shell::editor::{self, Completion};
    let people = config.shell_users.iter().map(|u| u.name.clone()).collect();
    let completion = Completion { people, incidents: Default::default() };
    let incidents = completion.incidents.clone();
    let conversation = editor::spawn(completion, bellhop::config::history_file())?;
    Ok((Editor { lines: conversation.lines, answered: conversation.answered, incidents }, conversation.out))
}

/// The editor's side of a conversation, once its output went to the shell.
struct Editor {
    lines: tokio::sync::mpsc::Receiver<String>,
    answered: bellhop::shell::editor::Answered,
    incidents: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

/// A person at a terminal: each line typed, answered before the next prompt.
async fn converse<W: std::io::Write + Send + 'static>(shell: &mut Shell<W>, mut editor: Editor, real_time: bool) -> anyhow::Result<()> {
    loop {
        let codes = shell
            .core()
            .suggest(&bellhop_commands::Actor::system("shell"), bellhop_commands::command::spec::Suggest::AnyIncident, "")
            .await;
        if let Ok(mut known) = editor.incidents.lock() {
            *known = codes.into_iter().map(|(_, code)| code).collect();
        }
        let line = tokio::select! {
            line = editor.lines.recv() => line,
            () = woken_without_scheduler(shell.core(), real_time) => {
                shell.drain().await?;
                continue;
            }
        };
        let Some(line) = line else { break };
        if shell.line(&line).await?.is_break() {
            break;
        }
        if !editor.answered.send() {
            break;
        }
    }
    Ok(())
}

async fn run_demo(virtual_clock: bool, postgres: Option<String>) -> anyhow::Result<ExitCode> {
    init_logging(LogFormat::Human, true);
    let platform = demo::start_platform().await.context("cannot start the simulated platform")?;
    let store_dir = tempfile::tempdir().context("cannot create a temporary directory for the demo's store")?;
    let database = match postgres {
        Some(url) => demo::DemoDatabase::create(&url).await,
        None => Err(anyhow::anyhow!("no local PostgreSQL was given (scripts/bellhop demo starts one)")),
    };
    let banner = demo::banner(&platform, &demo::database_line(&database));
    let target = database.as_ref().ok().map(|db| db.target_url());
    let config = demo::demo_config(&platform.url(), store_dir.path(), target);
    if let Some(dir) = &config.remediation.rollbacks_dir {
        demo::fixture::write_rollbacks(dir)?;
    }
    let result = shell(&config, virtual_clock, Some(banner), Some(platform.faults.clone()), Cast::Demo).await;
    if let Ok(database) = database {
        database.drop_database().await;
    }
    result
}

async fn diagnose(config: &Config, json: bool) -> anyhow::Result<ExitCode> {
    let Some(settings) = &config.target else {
        return Err(
            ConfigError(vec!["SUPABASE_DB_URL is not set: bellhop diagnose reads the target database (see .env.example)".into()]).into()
        );
    };
    let target = match bellhop_commands::target_db::TargetDb::new(settings) {
        Ok(target) => target,
        Err(error) => return Err(ConfigError(vec![error.to_string()]).into()),
    };
    let reports = bellhop_commands::diagnostics::run_all(&target).await;
    let attention = reports.iter().any(bellhop_commands::diagnostics::needs_attention);
    if json {
        let object: serde_json::Map<String, serde_json::Value> = reports.iter().map(|r| (r.name.to_string(), r.json.clone())).collect();
        println!("{}", serde_json::to_string_pretty(&object)?);
    } else {
        for report in &reports {
            print_post(&report.post);
        }
    }
    Ok(if attention { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// A post as plain lines: title, body, fields aligned, attachments by name and size.
fn print_post(post: &bellhop_commands::Post) {
    if !post.title.is_empty() {
        println!("{}", post.title);
    }
    for line in post.body.lines() {
        println!("  {line}");
    }
    let width = post.fields.iter().map(|f| f.name.chars().count()).max().unwrap_or(0);
    for field in &post.fields {
        let mut lines = field.value.lines();
        println!("  {:width$}  {}", field.name, lines.next().unwrap_or_default());
        for line in lines {
            println!("  {:width$}  {line}", "");
        }
    }
    for attachment in &post.attachments {
        println!("  📎 {} ({} bytes)", attachment.filename, attachment.bytes.len());
    }
    println!();
}

async fn simulate(port: u16, delay: std::time::Duration) -> anyhow::Result<ExitCode> {
    use bellhop::simulated::{Behaviour, Script, SimulatedPlatform};
    let platform = SimulatedPlatform::start_on(Script::new(demo::DEMO_KEY).all(Behaviour::ok().delayed(delay)), port).await?;
    println!("FRONTEND_URL={0} SUPABASE_URL={0} SUPABASE_ANON_KEY={1}", platform.url(), demo::DEMO_KEY);
    tokio::signal::ctrl_c().await?;
    Ok(ExitCode::SUCCESS)
}
