//! `/incident …`: each subcommand reads what it needs, then writes the incident, its timeline
//! entry, its timers and its posts in one transaction, so nothing is ever half-written.

use super::Ctx;
use super::{plan, posts, Incident, IncidentKind, ListState, Severity, TimelineKind};
use crate::actor::{Actor, Person, Role};
use crate::error::CommandError;
use crate::outbox::{Binding, Op, Part};
use crate::post::{ChannelName, Destination, Reply};
use crate::store::{NewIncident, Tx};
use crate::text::{span, time};
use crate::timers::{Job, Timer, TimerOutcome};
use chrono::{DateTime, Utc};

/// An incident named in a command: `INC-3`, `inc-3` or `3`.
pub type IncidentRef = Option<i64>;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IncidentCommand {
    Declare {
        severity: Severity,
        title: String,
        impact: String,
        affected: Option<String>,
        commander: Option<Person>,
        from_alert: Option<i64>,
        kind: IncidentKind,
    },
    Ack {
        id: IncidentRef,
    },
    Update {
        id: IncidentRef,
        text: String,
    },
    StatusPost {
        id: IncidentRef,
        eta: Option<String>,
    },
    Severity {
        id: IncidentRef,
        level: Severity,
    },
    Commander {
        id: IncidentRef,
        user: Person,
    },
    Resolve {
        id: IncidentRef,
        root_cause: String,
    },
    Escalate {
        id: IncidentRef,
    },
    List {
        state: ListState,
    },
    Show {
        id: IncidentRef,
    },
    Timeline {
        id: IncidentRef,
    },
    Postmortem {
        id: IncidentRef,
    },
    /// The incident's timeline, the audit of its window and its plans, as one file with its SHA-256.
    Evidence {
        id: IncidentRef,
    },
}

pub(crate) async fn run(cx: &Ctx<'_>, actor: &Actor, channel: Option<&str>, command: IncidentCommand) -> Result<Reply, CommandError> {
    let now = cx.clock.now();
    match command {
        IncidentCommand::Declare { severity, title, impact, affected, commander, from_alert, kind } => {
            let new = Declared { severity, title, impact, affected: affected.unwrap_or_default(), commander, from_alert, kind };
            declare(cx, actor, now, new).await
        }
        IncidentCommand::List { state } => super::views::list(cx, now, state).await,
        IncidentCommand::Ack { id } => ack(cx, actor, now, open(cx, id, channel).await?).await,
        IncidentCommand::Update { id, text } => update(cx, actor, now, open(cx, id, channel).await?, text, channel).await,
        IncidentCommand::StatusPost { id, eta } => status_post(cx, actor, now, open(cx, id, channel).await?, eta).await,
        IncidentCommand::Severity { id, level } => change_severity(cx, actor, now, open(cx, id, channel).await?, level).await,
        IncidentCommand::Commander { id, user } => change_commander(cx, actor, now, open(cx, id, channel).await?, user).await,
        IncidentCommand::Resolve { id, root_cause } => resolve(cx, actor, now, find(cx, id, channel).await?, root_cause).await,
        IncidentCommand::Escalate { id } => super::views::escalate(cx, now, open(cx, id, channel).await?).await,
        IncidentCommand::Show { id } => {
            let incident = find(cx, id, channel).await?;
            let pending = cx.store.pending_timers(incident.subject()).await?;
            Ok(Reply::invoker(posts::summary(&incident, now, &pending)))
        }
        IncidentCommand::Timeline { id } => {
            let incident = find(cx, id, channel).await?;
            let entries = cx.store.timeline(incident.id).await?;
            Ok(Reply::invoker(posts::timeline(&incident, &entries, now)))
        }
        IncidentCommand::Evidence { id } => super::evidence::attach(cx, actor, now, find(cx, id, channel).await?).await,
        IncidentCommand::Postmortem { id } => {
            let incident = find(cx, id, channel).await?;
            let entries = cx.store.timeline(incident.id).await?;
            let plans = cx.store.plans_between(incident.declared, incident.resolved.unwrap_or(now)).await?;
            let mut text = posts::postmortem(&incident, &entries);
            text.push_str(&posts::postmortem_plans(&plans));
            Ok(Reply::invoker(posts::postmortem_skeleton(&incident, text)))
        }
    }
}

/// The incident a command is about: named by `id:`, implied by the place it was typed in, or
/// else the only open one (Slack runs no command inside a thread: there it is the usual way).
async fn find(cx: &Ctx<'_>, id: IncidentRef, channel: Option<&str>) -> Result<Incident, CommandError> {
    let found = match (id, channel) {
        (Some(id), _) => cx.store.incident(id).await?,
        (None, Some(channel)) => cx.store.incident_in_channel(channel).await?,
        (None, None) => None,
    };
    match (found, id) {
        (Some(incident), _) => Ok(incident),
        (None, Some(id)) => Err(CommandError::user(format!("There is no incident {}; /incident list shows them.", super::code(id)))),
        (None, None) => the_only_open(cx).await,
    }
}

/// With no incident named, the only open one; when there are several, which ids to name.
async fn the_only_open(cx: &Ctx<'_>) -> Result<Incident, CommandError> {
    let mut open = cx.store.incidents(ListState::Open, 11).await?;
    match open.len() {
        0 => Err(CommandError::user("No incident is open; name one with id:INC-N.")),
        1 => Ok(open.remove(0)),
        n => {
            let codes: Vec<String> = open.iter().take(10).map(|i| i.code()).collect();
            let more = if n > 10 { ", …" } else { "" };
            Err(CommandError::user(format!("Say which incident with id: — open now: {}{more}.", codes.join(", "))))
        }
    }
}

async fn open(cx: &Ctx<'_>, id: IncidentRef, channel: Option<&str>) -> Result<Incident, CommandError> {
    let incident = find(cx, id, channel).await?;
    match incident.resolved {
        Some(at) => Err(CommandError::user(format!(
            "{} was resolved at {}; declare a new incident if it is back.",
            incident.code(),
            time(at, cx.clock.now())
        ))),
        None => Ok(incident),
    }
}

/// The incident's own place (its thread): its posts wait there in its lane.
fn place(incident: &Incident) -> Destination {
    Destination::Place { subject: incident.subject() }
}

/// What `/incident declare` was given.
struct Declared {
    severity: Severity,
    title: String,
    impact: String,
    affected: String,
    commander: Option<Person>,
    from_alert: Option<i64>,
    kind: IncidentKind,
}

async fn declare(cx: &Ctx<'_>, actor: &Actor, now: DateTime<Utc>, new: Declared) -> Result<Reply, CommandError> {
    let Declared { severity, title, impact, affected, commander, from_alert, kind } = new;
    let alert = match from_alert {
        Some(id) => match cx.store.alert(id).await? {
            Some(found) => Some((id, found.figures)),
            None => return Err(CommandError::user(format!("There is no alert {id}; its post names it as (alert N)."))),
        },
        None => None,
    };
    let impact = match (&alert, impact.is_empty()) {
        (Some((_, figures)), true) => figures.impact(),
        _ => impact,
    };
    let deploy = blamed_deploy(cx, &alert, [&title, &impact, &affected], now).await?;
    let commander = commander.unwrap_or_else(|| actor.person());
    let declared_by = actor.person();
    let linked = match &alert {
        Some((id, figures)) => {
            let peak = crate::alerts::initial_peak(figures).map(|p| serde_json::to_string(&p)).transpose().map_err(anyhow::Error::from)?;
            Some((*id, serde_json::to_string(figures).map_err(anyhow::Error::from)?, peak))
        }
        None => None,
    };
    let mut tx = cx.store.begin(now).await?;
    let row = NewIncident {
        severity: severity.as_str(),
        title: &title,
        impact: &impact,
        affected: &affected,
        commander: &commander,
        declared_by: &declared_by,
        alert: linked,
        kind: kind.as_str(),
    };
    let id = tx.insert_incident(&row).await?;
    let incident = Incident {
        id,
        severity,
        title,
        impact,
        affected,
        commander,
        declared_by,
        declared: now,
        acked: None,
        resolved: None,
        root_cause: None,
        alert_id: alert.as_ref().map(|(id, _)| *id),
        channel_key: None,
        kind,
    };
    let what = if kind == IncidentKind::Security { " security incident" } else { "" };
    let summary = format!("{severity}{what} {} (commander {})", incident.title, incident.commander.mention());
    tx.timeline(id, &incident.declared_by, TimelineKind::Declared, &summary).await?;
    if let Some(deploy) = &deploy {
        tx.timeline(id, &incident.declared_by, TimelineKind::Deploy, deploy).await?;
    }
    if let Some((alert_id, figures)) = &alert {
        tx.timeline(id, &incident.declared_by, TimelineKind::Alert, &figures.line(*alert_id, now)).await?;
    }
    for (job, due) in plan::plan(cx.settings, (severity, kind), now, now, false) {
        tx.schedule(incident.subject(), &job, due).await?;
    }
    // The kickoff is announced in the incidents channel and the incident's thread opens from it:
    // a thread opened from a message is one per message, so a retry cannot open a second.
    let kickoff = Binding::new(incident.subject(), Part::Kickoff);
    let to = Destination::Channel { channel: ChannelName::Incidents };
    tx.enqueue(&Op::Post { to, post: posts::kickoff(&incident, cx.settings, deploy.as_deref()), bind: Some(kickoff.clone()) }).await?;
    tx.enqueue(&Op::OpenThread { from: kickoff, slug: format!("inc-{id}"), title: incident.title.clone() }).await?;
    tx.commit().await?;
    Ok(Reply::channel(posts::declared(&incident)))
}

/// The function deploy that came shortly before this incident: the last deploy of its alert's
/// function before the alert started (a redeploy since does not hide it), else of a function its
/// title, impact or affected names.
async fn blamed_deploy(
    cx: &Ctx<'_>,
    alert: &Option<(i64, crate::alerts::AlertFigures)>,
    texts: [&str; 3],
    now: DateTime<Utc>,
) -> anyhow::Result<Option<String>> {
    if let Some((_, crate::alerts::AlertFigures::Function(figures))) = alert {
        let found = cx.store.deploy_before(&figures.function, figures.since).await?;
        return Ok(found.and_then(|d| d.blamed(figures.since, "its alert")));
    }
    let recent = cx.store.deploys_since(now - crate::store::RECENT_DEPLOY).await?;
    let named = |function: &str| texts.iter().any(|t| t.to_lowercase().contains(&function.to_lowercase()));
    Ok(recent.iter().filter(|d| named(&d.function)).max_by_key(|d| d.deployed).and_then(|d| d.blamed(now, "this incident")))
}

async fn ack(cx: &Ctx<'_>, actor: &Actor, now: DateTime<Utc>, incident: Incident) -> Result<Reply, CommandError> {
    if !actor.is(&incident.commander) && !actor.has(Role::Responder) {
        return Err(CommandError::user(format!("Only the commander or a responder can acknowledge {}.", incident.code())));
    }
    if let Some((at, by)) = &incident.acked {
        return Err(CommandError::user(format!("{} was already acknowledged by {} at {}.", incident.code(), by.mention(), time(*at, now))));
    }
    let mut tx = cx.store.begin(now).await?;
    if !tx.ack_incident(incident.id, &actor.person()).await? {
        return Err(CommandError::user(format!("{} was acknowledged by someone else just now.", incident.code())));
    }
    let stopped = tx.cancel_timers(incident.subject(), &["escalate"]).await?;
    tx.timeline(incident.id, &actor.person(), TimelineKind::Acknowledged, &format!("after {}", span(now - incident.declared))).await?;
    tx.post(place(&incident), posts::acknowledged(&incident, &actor.name, now - incident.declared, stopped > 0)).await?;
    tx.commit().await?;
    Ok(Reply::invoker(posts::you_acknowledged(&incident)))
}

/// Status updates reset the reminder: the next one is due a full interval from now.
async fn reset_reminder(cx: &Ctx<'_>, tx: &mut Tx<'_>, incident: &Incident, now: DateTime<Utc>) -> anyhow::Result<()> {
    tx.cancel_timers(incident.subject(), &["update_reminder"]).await?;
    if let Some(every) = cx.settings.update_every.get(&incident.severity) {
        tx.schedule(incident.subject(), &Job::UpdateReminder, now + chrono::Duration::from_std(*every)?).await?;
    }
    Ok(())
}

/// The update is the answer where it was typed; typed anywhere else than the incident's own place
/// (always, in Slack, which runs no command in a thread), it is posted there too, so the thread
/// keeps the whole story.
async fn update(
    cx: &Ctx<'_>,
    actor: &Actor,
    now: DateTime<Utc>,
    incident: Incident,
    text: String,
    typed_in: Option<&str>,
) -> Result<Reply, CommandError> {
    let post = posts::update(&incident, &actor.name, &text);
    let in_place = match typed_in {
        Some(channel) => cx.store.place_of(incident.subject()).await?.as_deref() == Some(channel),
        None => false,
    };
    let mut tx = cx.store.begin(now).await?;
    tx.timeline(incident.id, &actor.person(), TimelineKind::Update, &text).await?;
    reset_reminder(cx, &mut tx, &incident, now).await?;
    if !in_place {
        tx.post(place(&incident), post.clone()).await?;
    }
    tx.commit().await?;
    Ok(Reply::channel(post))
}

async fn status_post(
    cx: &Ctx<'_>,
    actor: &Actor,
    now: DateTime<Utc>,
    incident: Incident,
    eta: Option<String>,
) -> Result<Reply, CommandError> {
    let update_every = match cx.settings.update_every.get(&incident.severity) {
        Some(every) => span(chrono::Duration::from_std(*every).map_err(anyhow::Error::from)?),
        None => "few hours".into(),
    };
    let values = crate::templates::values([
        ("affected", affected(&incident)),
        ("impact", if incident.impact.is_empty() { "Some users may be affected.".into() } else { crate::text::sentence(&incident.impact) }),
        ("update_every", update_every),
        ("eta", eta.unwrap_or_else(|| "to be confirmed".into())),
    ]);
    let text = cx.templates.render("p0-investigating", &values).map_err(anyhow::Error::from)?;
    let post = posts::status_page_text(&incident, &text);
    let mut tx = cx.store.begin(now).await?;
    tx.timeline(incident.id, &actor.person(), TimelineKind::StatusPost, &crate::text::ellipsize(&text, 300)).await?;
    reset_reminder(cx, &mut tx, &incident, now).await?;
    tx.post(Destination::Channel { channel: ChannelName::StatusUpdates }, post).await?;
    tx.commit().await?;
    Ok(Reply::invoker(posts::status_page_text_posted()))
}

async fn change_severity(
    cx: &Ctx<'_>,
    actor: &Actor,
    now: DateTime<Utc>,
    incident: Incident,
    level: Severity,
) -> Result<Reply, CommandError> {
    if level == incident.severity {
        return Err(CommandError::user(format!("{} is already {}.", incident.code(), level)));
    }
    let mut tx = cx.store.begin(now).await?;
    tx.set_severity(incident.id, level.as_str()).await?;
    tx.cancel_timers(incident.subject(), &plan::REPLANNED).await?;
    for (job, due) in plan::plan(cx.settings, (level, incident.kind), incident.declared, now, incident.acked.is_some()) {
        tx.schedule(incident.subject(), &job, due).await?;
    }
    tx.timeline(incident.id, &actor.person(), TimelineKind::Severity, &format!("{} → {}", incident.severity, level)).await?;
    let newly_paged = level.pages() && !incident.severity.pages() && incident.acked.is_none();
    let page = cx.settings.on_call.as_ref().filter(|_| newly_paged);
    tx.post(place(&incident), posts::severity_changed(&incident, level, page)).await?;
    tx.commit().await?;
    Ok(Reply::invoker(posts::you_changed_severity(&incident, level)))
}

async fn change_commander(
    cx: &Ctx<'_>,
    actor: &Actor,
    now: DateTime<Utc>,
    incident: Incident,
    user: Person,
) -> Result<Reply, CommandError> {
    if user.id == incident.commander.id {
        return Err(CommandError::user(format!("{} already commands {}.", user.mention(), incident.code())));
    }
    let mut tx = cx.store.begin(now).await?;
    tx.set_commander(incident.id, &user).await?;
    tx.timeline(incident.id, &actor.person(), TimelineKind::Commander, &format!("{} → {}", incident.commander.mention(), user.mention()))
        .await?;
    tx.post(place(&incident), posts::commander_changed(&incident, &user)).await?;
    tx.commit().await?;
    Ok(Reply::invoker(posts::you_changed_commander(&incident, &user)))
}

async fn resolve(cx: &Ctx<'_>, actor: &Actor, now: DateTime<Utc>, incident: Incident, root_cause: String) -> Result<Reply, CommandError> {
    if let Some(at) = incident.resolved {
        return Err(CommandError::user(format!("{} was already resolved at {}.", incident.code(), time(at, now))));
    }
    let duration = span(now - incident.declared);
    let values = crate::templates::values([
        ("affected", affected(&incident)),
        ("root_cause", crate::text::sentence(&root_cause)),
        ("duration", duration.clone()),
    ]);
    let text = cx.templates.render("resolved", &values).map_err(anyhow::Error::from)?;
    let mut tx = cx.store.begin(now).await?;
    if !tx.resolve_incident(incident.id, &root_cause).await? {
        return Err(CommandError::user(format!("{} was resolved by someone else just now.", incident.code())));
    }
    tx.cancel_timers(incident.subject(), &[]).await?;
    tx.schedule(incident.subject(), &Job::Review, now + chrono::Duration::from_std(cx.settings.review_after).map_err(anyhow::Error::from)?)
        .await?;
    tx.timeline(incident.id, &actor.person(), TimelineKind::Resolved, &root_cause).await?;
    tx.post(place(&incident), posts::resolved(&incident, &duration, &root_cause)).await?;
    tx.post(Destination::Channel { channel: ChannelName::StatusUpdates }, posts::resolved_status_text(&incident, &text)).await?;
    tx.commit().await?;
    Ok(Reply::channel(posts::you_resolved(&incident, &duration)))
}

/// What the status page names as affected.
fn affected(incident: &Incident) -> String {
    if incident.affected.is_empty() {
        "services".into()
    } else {
        incident.affected.clone()
    }
}

/// The posts a due incident timer makes; none when the incident no longer needs them.
pub(crate) async fn timer_posts(cx: &Ctx<'_>, timer: &Timer, incident_id: i64, now: DateTime<Utc>) -> anyhow::Result<TimerOutcome> {
    let Some(incident) = cx.store.incident(incident_id).await? else { return Ok(TimerOutcome::default()) };
    let settings = cx.settings;
    let to_incident = place(&incident);
    let outcome = match &timer.job {
        Job::Phase { name, what } if incident.is_open() => {
            let post = posts::phase(&incident, timer.due - incident.declared, name, what);
            TimerOutcome { ops: vec![Op::post(to_incident.clone(), post)], next: None }
        }
        Job::UpdateReminder if incident.is_open() => {
            let every = settings.update_every.get(&incident.severity).copied();
            let silence = span(chrono::Duration::from_std(every.unwrap_or_default())?);
            let post = posts::update_reminder(&incident, &silence);
            let next = every.map(|e| chrono::Duration::from_std(e).map(|e| (Job::UpdateReminder, now + e))).transpose()?;
            TimerOutcome { ops: vec![Op::post(to_incident.clone(), post)], next }
        }
        Job::Escalate { step } if incident.is_open() && incident.acked.is_none() => match settings.escalation.get(*step) {
            Some(escalation) => {
                let post = posts::escalation(&incident, timer.due - incident.declared, &escalation.ping);
                TimerOutcome { ops: vec![Op::post(to_incident.clone(), post)], next: None }
            }
            None => TimerOutcome::default(),
        },
        Job::Review => {
            let post = posts::review_due(&incident);
            TimerOutcome { ops: vec![Op::post(to_incident.clone(), post)], next: None }
        }
        _ => TimerOutcome::default(),
    };
    Ok(outcome)
}
