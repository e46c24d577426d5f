//! The integration tests, one binary: each module is what was once its own test target, so the
//! suite links serenity, sqlx and axum once instead of once per file.

mod alerting;
mod alertmanager;
mod database;
mod deploys;
mod diagnostics;
mod discord;
mod discord_incidents;
mod discord_plan_runs;
mod discord_port;
mod discord_rate_limits;
mod discord_remediation;
mod discord_replicas;
mod flag_suggestions;
mod hostile_input;
mod http_limits;
mod incidents;
mod ingest;
mod management;
mod migration;
mod outbox;
mod probes;
mod remediation;
mod remediation_rls;
mod remediation_rollback;
mod remediation_runs;
mod replica_processes;
mod security_incidents;
mod shell;
mod shell_operator;
mod slack;
mod timers;
