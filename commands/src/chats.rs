//! Which chat a subject lives in, when one process runs more than one (Discord and Slack on one
//! core and one store).
//!
//! A subject (an incident, a plan) belongs to the chat it started in: its kickoff, its thread,
//! its approval post and every later operation about it go there, whoever or whatever queues
//! them. A command carries the chat it was typed in (its [`Origin`]); the first operation about a
//! subject records that chat as the subject's own. What nobody typed in any chat (an alert, a
//! webhook group) has no chat and goes to the process's home chat.

use crate::chat_port::ChatPort;
use std::sync::Arc;

tokio::task_local! {
    /// The chat the command being handled was typed in. A task-local rather than a parameter:
    /// every feature opens its own transactions, and the chat must reach each operation they
    /// queue without every feature passing it along.
    static ORIGIN: Option<String>;
}

/// The chat of what is being handled now, if it came from one.
pub struct Origin;

impl Origin {
    /// Runs `work` as coming from `chat` (none: from no chat in particular).
    pub async fn scope<F: std::future::Future>(chat: Option<String>, work: F) -> F::Output {
        ORIGIN.scope(chat, work).await
    }

    /// The chat of the command being handled, if any.
    pub fn current() -> Option<String> {
        ORIGIN.try_with(Clone::clone).ok().flatten()
    }
}

/// The chats this process delivers to: the home chat first (it takes what belongs to no chat),
/// then the others. A port that is "any" delivers everything: the shell, and tests that hand the
/// core one port.
#[derive(Clone)]
pub struct Chats {
    ports: Vec<(Option<String>, Arc<dyn ChatPort>)>,
}

impl Chats {
    /// One chat, named: it delivers what is its own and what belongs to no chat.
    pub fn home(name: &str, port: Arc<dyn ChatPort>) -> Chats {
        Chats { ports: vec![(Some(name.to_string()), port)] }
    }

    /// One port that delivers every operation, whatever chat it belongs to.
    pub fn any(port: Arc<dyn ChatPort>) -> Chats {
        Chats { ports: vec![(None, port)] }
    }

    /// Another chat beside the home one.
    pub fn and(mut self, name: &str, port: Arc<dyn ChatPort>) -> Chats {
        self.ports.push((Some(name.to_string()), port));
        self
    }

    /// The port for an operation or a subject of `chat` (none: of no chat), if this process
    /// delivers that chat.
    pub fn port(&self, chat: Option<&str>) -> Option<&Arc<dyn ChatPort>> {
        let (home, port) = self.ports.first()?;
        match (home, chat) {
            (None, _) | (Some(_), None) => Some(port),
            (Some(_), Some(chat)) => self.ports.iter().find(|(name, _)| name.as_deref() == Some(chat)).map(|(_, port)| port),
        }
    }

    /// What the store selects: every chat, or the home chat's (with what belongs to none) and the
    /// others by name.
    pub fn filter(&self) -> ChatFilter {
        match self.ports.first() {
            None | Some((None, _)) => ChatFilter::Every,
            Some(_) => ChatFilter::Named(self.ports.iter().filter_map(|(name, _)| name.clone()).collect()),
        }
    }
}

/// Which operations a process delivers, as the store selects them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChatFilter {
    Every,
    /// These chats' own, and (the first being home) those of no chat.
    Named(Vec<String>),
}

/// One port on its own delivers everything (the shell; tests that hand the core one chat).
impl<T: ChatPort + ?Sized + 'static> From<Arc<T>> for Chats {
    fn from(port: Arc<T>) -> Chats {
        Chats::any(Arc::new(port))
    }
}

impl<T: ChatPort + ?Sized + 'static> From<&Arc<T>> for Chats {
    fn from(port: &Arc<T>) -> Chats {
        Chats::any(Arc::new(port.clone()))
    }
}

impl From<&Chats> for Chats {
    fn from(chats: &Chats) -> Chats {
        chats.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat_port::{DeliveryError, MessageRef, Place, Reactor};
    use crate::post::Post;

    struct Nowhere;

    #[async_trait::async_trait]
    impl ChatPort for Nowhere {
        async fn post(&self, _: &Place, _: &Post) -> Result<MessageRef, DeliveryError> {
            Err(DeliveryError::Retry(anyhow::anyhow!("nowhere")))
        }
        async fn edit(&self, _: &MessageRef, _: &Post) -> Result<(), DeliveryError> {
            Ok(())
        }
        async fn react(&self, _: &MessageRef, _: &str) -> Result<(), DeliveryError> {
            Ok(())
        }
        async fn open_thread(&self, _: &MessageRef, _: &str, _: &str) -> Result<String, DeliveryError> {
            Ok(String::new())
        }
        async fn reactions(&self, _: &MessageRef, _: &str) -> Result<Vec<Reactor>, DeliveryError> {
            Ok(Vec::new())
        }
    }

    #[test]
    fn each_chat_delivers_its_own_and_home_takes_what_has_none() {
        let (discord, slack): (Arc<dyn ChatPort>, Arc<dyn ChatPort>) = (Arc::new(Nowhere), Arc::new(Nowhere));
        let chats = Chats::home("discord", discord.clone()).and("slack", slack.clone());
        assert!(Arc::ptr_eq(chats.port(None).unwrap(), &discord));
        assert!(Arc::ptr_eq(chats.port(Some("slack")).unwrap(), &slack));
        assert!(chats.port(Some("shell")).is_none(), "nobody here delivers the shell's");
        assert_eq!(chats.filter(), ChatFilter::Named(vec!["discord".into(), "slack".into()]));
        let any = Chats::any(discord);
        assert!(any.port(Some("slack")).is_some());
        assert_eq!(any.filter(), ChatFilter::Every);
    }

    #[tokio::test]
    async fn the_origin_is_the_chat_of_the_command_being_handled() {
        assert_eq!(Origin::current(), None);
        let inside = Origin::scope(Some("slack".into()), async { Origin::current() }).await;
        assert_eq!(inside.as_deref(), Some("slack"));
    }
}
