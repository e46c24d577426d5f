//! `/bellhop …` in Slack: the text is read with the shell's grammar into the same registry's
//! invocation; the envelope is acknowledged at once, and the answer goes through the command's
//! `response_url`, only to the person or in the channel as the core says.

use super::people::Who;
use super::App;
use bellhop_commands::{Invocation, Person, Post, Value, Visibility};
use slack_morphism::prelude::*;

impl App {
    /// Runs one slash command and answers it. Slack may deliver the envelope again (no ack in
    /// time, or to another replica): the trigger is claimed, so it runs once.
    pub(super) async fn command(&self, event: SlackCommandEvent) {
        let url = event.response_url.0.to_string();
        match self.core.claim_event(&format!("slack:command:{}", event.trigger_id.0)).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(error) => {
                tracing::error!(error = format!("{error:#}"), "cannot claim a Slack command; answering nothing rather than twice");
                return;
            }
        }
        let actor = match self.people.who(&event.user_id.0, false).await {
            Ok(Who::Person(actor)) => actor,
            Ok(Who::Bot | Who::Departed(_)) => return,
            Err(error) => {
                tracing::warn!(%error, user = %event.user_id, "cannot read who typed a Slack command");
                let post = Post::error("bellhop cannot read who you are in Slack right now; try again in a minute.");
                self.answer(&url, &post, false).await;
                return;
            }
        };
        let text = event.text.unwrap_or_default();
        let invocation = match invocation(&text) {
            Ok(invocation) => invocation.in_channel(event.channel_id.0.clone()).from_chat(super::CHAT),
            Err(sentence) => {
                self.answer(&url, &Post::error(sentence), false).await;
                return;
            }
        };
        let reply = self.core.handle(&actor, &invocation).await;
        // What the command queued (a kickoff, an approval post) is delivered now.
        self.core.wake();
        self.answer(&url, &reply.post, reply.visibility == Visibility::Channel).await;
    }

    async fn answer(&self, url: &str, post: &Post, in_channel: bool) {
        let (text, blocks) = super::mrkdwn::render(post, &self.pages);
        if let Err(error) = self.api.respond(url, &text, &blocks, in_channel).await {
            tracing::warn!(error = format!("{error:#}"), "cannot answer a Slack command");
        }
    }
}

/// The command's text as an invocation: `incident declare severity:P1 title:"Invites failing"`.
/// Slack escapes `&`, `<`, `>` and may turn quotes into typographic ones; a person named as
/// `<@U0123|alice>` (the app escapes users) is that person.
pub fn invocation(text: &str) -> Result<Invocation, String> {
    let text = text.replace(['“', '”'], "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&");
    if text.trim().is_empty() {
        return Ok(Invocation::new("help"));
    }
    let mut invocation =
        crate::shell::parse_command(text.trim()).map_err(|sentence| format!("{sentence} (`/bellhop help` lists the commands.)"))?;
    for (_, value) in &mut invocation.options {
        if let Value::Text(text) = value {
            if let Some(person) = mention(text) {
                *value = Value::User(person);
            }
        }
    }
    Ok(invocation)
}

/// `<@U0123|alice>` or `<@U0123>` as a person.
fn mention(text: &str) -> Option<Person> {
    let inner = text.strip_prefix("<@")?.strip_suffix('>')?;
    let (id, name) = inner.split_once('|').unwrap_or((inner, inner));
    crate::config::slack_id(id, &['U', 'W']).then(|| Person::new(super::people::person_id(id), name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_reads_like_the_shells() {
        let declared = invocation(r#"incident declare severity:P1 title:“Invites &amp; logins failing”"#).unwrap();
        assert_eq!(declared, Invocation::new("incident declare").option("severity", "P1").option("title", "Invites & logins failing"));
        assert_eq!(invocation("  ").unwrap(), Invocation::new("help"));
        let commander = invocation("incident commander user:<@U0BOB1|bob>").unwrap();
        assert_eq!(commander.options[0].1, Value::User(Person::new("slack:U0BOB1", "bob")));
        assert!(invocation(r#"incident update text:"open"#).unwrap_err().contains("closing \""));
    }
}
