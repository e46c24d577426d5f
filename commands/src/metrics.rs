//! What bellhop counts as it works, for `/metrics`: the core records through the `metrics`
//! facade, and the binary installs the Prometheus exporter that serves it. Every series is
//! described here, so each has its HELP text.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Samples taken by `POST /events`: counted in an atomic at each request (the hottest path
/// bellhop has; a registry lookup there cost ingest a measurable share), handed to the
/// exporter at scrape time by [`publish`].
static SAMPLES_INGESTED: AtomicU64 = AtomicU64::new(0);

/// Gives every series its HELP text; call once the exporter is installed.
pub fn describe() {
    metrics::describe_histogram!(
        "bellhop_command_duration_seconds",
        metrics::Unit::Seconds,
        "Time from a command's invocation to its reply, by command."
    );
    metrics::describe_histogram!("bellhop_sweep_duration_seconds", metrics::Unit::Seconds, "Time one health sweep of every target took.");
    metrics::describe_counter!("bellhop_samples_ingested_total", "Samples taken in by POST /events.");
    metrics::describe_counter!("bellhop_samples_refused_total", "Samples refused, by reason (too_many_functions, invalid).");
    metrics::describe_counter!("bellhop_inbound_alerts_total", "Alerts received by webhook, by source.");
    metrics::describe_counter!("bellhop_alert_announcements_total", "Alert changes announced in the chat, by change.");
    metrics::describe_counter!("bellhop_outbox_dead_total", "Chat operations given up (dead-lettered).");
    metrics::describe_counter!("bellhop_plans_total", "Remediation plans finished, by outcome.");
    metrics::describe_gauge!("bellhop_alerts", "Functions whose alert is pending or firing, by state.");
    metrics::describe_gauge!("bellhop_outbox_depth", "Chat operations waiting in the outbox.");
    metrics::describe_gauge!("bellhop_outbox_dead", "Chat operations given up and still kept (see bellhop outbox).");
    // Counters start at zero rather than appearing with their first event, so a scrape (and a
    // rate() over it) sees them from the start.
    metrics::counter!("bellhop_outbox_dead_total").absolute(0);
}

/// `bellhop_plans_total` at zero for each outcome a plan can end with (the remediation module
/// knows them; it counts through this one, so it is named here rather than imported).
pub fn plans_start_at_zero(outcomes: impl IntoIterator<Item = &'static str>) {
    for outcome in outcomes {
        metrics::counter!("bellhop_plans_total", "outcome" => outcome).absolute(0);
    }
}

/// How long a command took, from invocation to reply.
pub fn command_took(command: &str, took: Duration) {
    metrics::histogram!("bellhop_command_duration_seconds", "command" => command.to_string()).record(took.as_secs_f64());
}

/// How long a health sweep took.
pub fn sweep_took(took: Duration) {
    metrics::histogram!("bellhop_sweep_duration_seconds").record(took.as_secs_f64());
}

pub fn samples_ingested(count: usize) {
    SAMPLES_INGESTED.fetch_add(count as u64, Ordering::Relaxed);
}

/// Brings the figures counted outside the `metrics` facade up to date; call before rendering.
pub fn publish() {
    metrics::counter!("bellhop_samples_ingested_total").absolute(SAMPLES_INGESTED.load(Ordering::Relaxed));
}

pub fn samples_refused(reason: &'static str, count: usize) {
    metrics::counter!("bellhop_samples_refused_total", "reason" => reason).increment(count as u64);
}

pub fn webhook_received(source: &'static str, count: usize) {
    metrics::counter!("bellhop_inbound_alerts_total", "source" => source).increment(count as u64);
}

pub fn alert_announced(change: &'static str) {
    metrics::counter!("bellhop_alert_announcements_total", "change" => change).increment(1);
}

pub fn op_dead() {
    metrics::counter!("bellhop_outbox_dead_total").increment(1);
}

pub fn plan_finished(outcome: &str) {
    metrics::counter!("bellhop_plans_total", "outcome" => outcome.to_string()).increment(1);
}
