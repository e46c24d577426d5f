//! `/incident …` and `/maintenance …` as slash commands: thin wrappers over the core's table.
//! Inside an incident's thread `id` may be left out: the core finds the incident by channel.

use super::commands::{answer, Io};
use super::{Context, Error};
use bellhop_commands::incident::ListState;
use bellhop_commands::Invocation;
use poise::serenity_prelude as serenity;

#[derive(Debug, Clone, Copy, poise::ChoiceParameter)]
pub enum SeverityChoice {
    P0,
    P1,
    P2,
    P3,
}

#[derive(Debug, Clone, Copy, poise::ChoiceParameter)]
pub enum StateChoice {
    #[name = "open"]
    Open,
    #[name = "resolved"]
    Resolved,
    #[name = "all"]
    All,
}

/// Declare, coordinate and resolve incidents on the runbook's clock
#[poise::command(
    slash_command,
    subcommands(
        "declare",
        "ack",
        "update",
        "status_post",
        "severity",
        "commander",
        "resolve",
        "escalate",
        "list",
        "show",
        "timeline",
        "postmortem"
    ),
    subcommand_required
)]
pub async fn incident(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

fn with_id(invocation: Invocation, id: Option<String>) -> Invocation {
    invocation.option_if("id", id)
}

/// A choice as the core's table spells it (`P0`, `open`).
fn choice(value: &impl poise::ChoiceParameter) -> &'static str {
    value.name()
}

/// Declare an incident: its thread, the runbook's checklist, its timers, the page
#[poise::command(slash_command)]
pub async fn declare(
    ctx: Context<'_>,
    #[description = "P0 critical, P1 high, P2 medium, P3 low"] severity: SeverityChoice,
    #[description = "What is broken, in a few words"] title: String,
    #[description = "Who is affected and how"] impact: Option<String>,
    #[description = "Who leads (default: you)"] commander: Option<serenity::User>,
) -> Result<(), Error> {
    let invocation = Invocation::new("incident declare")
        .option("severity", choice(&severity))
        .option("title", title)
        .option_if("impact", impact)
        .option_if("commander", commander.map(|user| user.name));
    answer(ctx, invocation, Io::None).await
}

/// Acknowledge the page: stops the escalation
#[poise::command(slash_command)]
pub async fn ack(
    ctx: Context<'_>,
    #[description = "Incident, like INC-3 (implied inside its thread)"]
    #[autocomplete = "open_incidents"]
    id: Option<String>,
) -> Result<(), Error> {
    answer(ctx, with_id(Invocation::new("incident ack"), id), Io::None).await
}

/// Add a timeline entry; resets the status update reminder
#[poise::command(slash_command)]
pub async fn update(
    ctx: Context<'_>,
    #[description = "What changed"] text: String,
    #[description = "Incident, like INC-3 (implied inside its thread)"]
    #[autocomplete = "open_incidents"]
    id: Option<String>,
) -> Result<(), Error> {
    answer(ctx, with_id(Invocation::new("incident update").option("text", text), id), Io::None).await
}

/// Post the runbook's INVESTIGATING text for the status page
#[poise::command(slash_command, rename = "status-post")]
pub async fn status_post(
    ctx: Context<'_>,
    #[description = "Expected resolution, like 30 minutes"] eta: Option<String>,
    #[description = "Incident, like INC-3 (implied inside its thread)"]
    #[autocomplete = "open_incidents"]
    id: Option<String>,
) -> Result<(), Error> {
    answer(ctx, with_id(Invocation::new("incident status-post").option_if("eta", eta), id), Io::None).await
}

/// Change the severity; the timers follow
#[poise::command(slash_command)]
pub async fn severity(
    ctx: Context<'_>,
    #[description = "P0 critical, P1 high, P2 medium, P3 low"] level: SeverityChoice,
    #[description = "Incident, like INC-3 (implied inside its thread)"]
    #[autocomplete = "open_incidents"]
    id: Option<String>,
) -> Result<(), Error> {
    answer(ctx, with_id(Invocation::new("incident severity").option("level", choice(&level)), id), Io::None).await
}

/// Hand the incident to another commander
#[poise::command(slash_command)]
pub async fn commander(
    ctx: Context<'_>,
    #[description = "The new commander"] user: serenity::User,
    #[description = "Incident, like INC-3 (implied inside its thread)"]
    #[autocomplete = "open_incidents"]
    id: Option<String>,
) -> Result<(), Error> {
    answer(ctx, with_id(Invocation::new("incident commander").option("user", user.name), id), Io::None).await
}

/// Resolve: the RESOLVED text, timers cancelled, the review reminder set
#[poise::command(slash_command)]
pub async fn resolve(
    ctx: Context<'_>,
    #[description = "Brief technical explanation"] root_cause: String,
    #[description = "Incident, like INC-3 (implied inside its thread)"]
    #[autocomplete = "open_incidents"]
    id: Option<String>,
) -> Result<(), Error> {
    answer(ctx, with_id(Invocation::new("incident resolve").option("root_cause", root_cause), id), Io::None).await
}

/// Draft the runbook's P1 internal escalation
#[poise::command(slash_command)]
pub async fn escalate(
    ctx: Context<'_>,
    #[description = "Incident, like INC-3 (implied inside its thread)"]
    #[autocomplete = "open_incidents"]
    id: Option<String>,
) -> Result<(), Error> {
    answer(ctx, with_id(Invocation::new("incident escalate"), id), Io::None).await
}

/// List incidents
#[poise::command(slash_command)]
pub async fn list(ctx: Context<'_>, #[description = "open (default), resolved or all"] state: Option<StateChoice>) -> Result<(), Error> {
    answer(ctx, Invocation::new("incident list").option_if("state", state.as_ref().map(choice)), Io::None).await
}

/// An incident's state and next timers
#[poise::command(slash_command)]
pub async fn show(
    ctx: Context<'_>,
    #[description = "Incident, like INC-3 (implied inside its thread)"]
    #[autocomplete = "any_incident"]
    id: Option<String>,
) -> Result<(), Error> {
    answer(ctx, with_id(Invocation::new("incident show"), id), Io::None).await
}

/// An incident's timeline
#[poise::command(slash_command)]
pub async fn timeline(
    ctx: Context<'_>,
    #[description = "Incident, like INC-3 (implied inside its thread)"]
    #[autocomplete = "any_incident"]
    id: Option<String>,
) -> Result<(), Error> {
    answer(ctx, with_id(Invocation::new("incident timeline"), id), Io::None).await
}

/// A markdown postmortem skeleton, filled with what bellhop knows
#[poise::command(slash_command)]
pub async fn postmortem(
    ctx: Context<'_>,
    #[description = "Incident, like INC-3 (implied inside its thread)"]
    #[autocomplete = "any_incident"]
    id: Option<String>,
) -> Result<(), Error> {
    answer(ctx, with_id(Invocation::new("incident postmortem"), id), Io::None).await
}

async fn open_incidents(ctx: Context<'_>, partial: &str) -> serenity::CreateAutocompleteResponse {
    incidents(ctx, partial, ListState::Open).await
}

async fn any_incident(ctx: Context<'_>, partial: &str) -> serenity::CreateAutocompleteResponse {
    incidents(ctx, partial, ListState::All).await
}

/// `INC-3 · P1 · Invites failing`, newest first; Discord shows at most 25.
async fn incidents(ctx: Context<'_>, partial: &str, state: ListState) -> serenity::CreateAutocompleteResponse {
    let partial = partial.to_lowercase();
    let found = ctx.data().core.store().incidents(state, 100).await.unwrap_or_else(|error| {
        tracing::warn!(error = format!("{error:#}"), "cannot list incidents for autocomplete");
        Vec::new()
    });
    let choices = found
        .into_iter()
        .map(|i| (format!("{} · {} · {}", i.code(), i.severity, i.title), i.code()))
        .filter(|(label, _)| label.to_lowercase().contains(&partial))
        .take(25)
        .map(|(label, code)| serenity::AutocompleteChoice::new(bellhop_commands::text::ellipsize(&label, 100), code))
        .collect();
    serenity::CreateAutocompleteResponse::new().set_choices(choices)
}

/// Scheduled and emergency maintenance windows
#[poise::command(slash_command, subcommands("schedule", "emergency", "maintenance_list", "cancel"), subcommand_required)]
pub async fn maintenance(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// Schedule a maintenance window: notices, a 24 h reminder, a validating sweep at the end
#[poise::command(slash_command)]
pub async fn schedule(
    ctx: Context<'_>,
    #[description = "When, like 2026-01-10 02:00 (UTC) or in 2h"] start: String,
    #[description = "How long, like 1h or 90m"] duration: String,
    #[description = "What is being done"] summary: String,
) -> Result<(), Error> {
    let invocation = Invocation::new("maintenance schedule").option("start", start).option("duration", duration).option("summary", summary);
    answer(ctx, invocation, Io::None).await
}

/// Emergency maintenance from now: immediate notice, a validating sweep at the end
#[poise::command(slash_command)]
pub async fn emergency(
    ctx: Context<'_>,
    #[description = "What is being done"] summary: String,
    #[description = "How long (default 1h)"] duration: Option<String>,
) -> Result<(), Error> {
    answer(ctx, Invocation::new("maintenance emergency").option("summary", summary).option_if("duration", duration), Io::None).await
}

/// Maintenance windows not over yet
#[poise::command(slash_command, rename = "list")]
pub async fn maintenance_list(ctx: Context<'_>) -> Result<(), Error> {
    answer(ctx, Invocation::new("maintenance list"), Io::None).await
}

/// Cancel a maintenance window
#[poise::command(slash_command)]
pub async fn cancel(ctx: Context<'_>, #[description = "Window, like MW-2"] id: String) -> Result<(), Error> {
    answer(ctx, Invocation::new("maintenance cancel").option("id", id), Io::None).await
}
