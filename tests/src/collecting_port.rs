//! A `ChatPort` that keeps what it was given, and can be told to fail like an unreachable chat
//! (every operation waits for a retry) or a deleted channel (posts there are refused for good).

use bellhop_commands::{Actor, ChatPort, DeliveryError, MessageRef, Place, Post, Reactor};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

#[derive(Default)]
pub struct CollectingPort {
    pub posts: Mutex<Vec<(Place, Post)>>,
    /// Edits, as (message key, new title).
    pub edits: Mutex<Vec<(String, String)>>,
    /// The same edits in full, as (message key, new post).
    pub edited: Mutex<Vec<(String, Post)>>,
    /// bellhop's own reactions, as (message key, emoji).
    pub reacted: Mutex<Vec<(String, String)>>,
    /// Threads opened, as (from message key, slug).
    pub threads: Mutex<Vec<(String, String)>>,
    pub down: AtomicBool,
    /// Places whose posts Discord would refuse for good (a deleted channel).
    pub dead: Mutex<BTreeSet<String>>,
    /// Places that time out, every time (a channel on a Discord shard that is down).
    pub flaky: Mutex<BTreeSet<String>>,
    /// People who left the chat since they reacted (Discord answers 10007 Unknown Member).
    pub departed: Mutex<BTreeSet<String>>,
    /// Reading who reacted fails (the chat is slow or refuses), while posting still works.
    pub reactions_down: AtomicBool,
    /// People's reactions as the chat shows them, by (message key, emoji), in order given.
    reactions: Mutex<BTreeMap<(String, String), Vec<Actor>>>,
    delivered: tokio::sync::Notify,
    /// How long each edit takes (a slow Discord edit); none by default.
    pub edit_takes: Mutex<Duration>,
    /// The next reading of who reacted waits, once read, until `release_reading`.
    hold_reading: std::sync::atomic::AtomicBool,
    reading: tokio::sync::Notify,
    released: tokio::sync::Notify,
}

impl CollectingPort {
    /// Waits until the titles delivered so far satisfy `done`; fails the test after 10 s.
    pub async fn wait_for(&self, what: &str, done: impl Fn(&[String]) -> bool) {
        let waiting = self.until(|port| done(&port.titles()));
        if tokio::time::timeout(Duration::from_secs(10), waiting).await.is_err() {
            panic!("timed out waiting for {what}; delivered: {:?}", self.titles());
        }
    }

    /// Returns once what was delivered so far (posts and edits) satisfies `done`, woken by each
    /// delivery; the caller bounds the wait.
    pub async fn until(&self, done: impl Fn(&CollectingPort) -> bool) {
        loop {
            let delivered = self.delivered.notified();
            if done(self) {
                return;
            }
            delivered.await;
        }
    }

    /// Makes the next reading of who reacted pause after it read, until [`Self::release_reading`]:
    /// a reaction can then land while a check holds an older reading.
    pub fn hold_next_reading(&self) {
        self.hold_reading.store(true, Ordering::SeqCst);
    }

    /// Resolves once a held reading has read who reacted.
    pub async fn reading_held(&self) {
        self.reading.notified().await
    }

    pub fn release_reading(&self) {
        self.released.notify_one();
    }

    pub fn titles(&self) -> Vec<String> {
        self.posts.lock().unwrap().iter().map(|(_, post)| post.title.clone()).collect()
    }

    /// The titles posted to one place (`#status-updates`, a thread key).
    pub fn titles_in(&self, place: &str) -> Vec<String> {
        self.posts.lock().unwrap().iter().filter(|(p, _)| key(p) == place).map(|(_, post)| post.title.clone()).collect()
    }

    /// A person adds (or removes) a reaction on a message, as the chat would show it; the roles
    /// are the ones the chat reports for them from now on.
    pub fn set_reaction(&self, message: &MessageRef, emoji: &str, actor: &Actor, added: bool) {
        let mut reactions = self.reactions.lock().unwrap();
        let people = reactions.entry((message.message.clone(), emoji.to_string())).or_default();
        people.retain(|p| p.id != actor.id);
        if added {
            people.push(actor.clone());
        }
    }

    /// A person's roles change in the chat (a role taken away): their reactions now report it.
    pub fn set_roles(&self, actor: &Actor) {
        for people in self.reactions.lock().unwrap().values_mut() {
            for person in people.iter_mut().filter(|p| p.id == actor.id) {
                *person = actor.clone();
            }
        }
    }

    /// Makes posts to `place` fail for good, as a deleted channel does.
    pub fn kill(&self, place: &str) {
        self.dead.lock().unwrap().insert(place.to_string());
    }

    fn check(&self) -> Result<(), DeliveryError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(DeliveryError::Retry(anyhow::anyhow!("chat unreachable")));
        }
        Ok(())
    }
}

/// How the collector names a place: a channel by name, anything else by its key.
pub fn key(place: &Place) -> String {
    match place {
        Place::Channel(name) => format!("#{}", name.as_str()),
        Place::Key(key) => key.clone(),
    }
}

#[async_trait::async_trait]
impl ChatPort for CollectingPort {
    async fn post(&self, place: &Place, post: &Post) -> Result<MessageRef, DeliveryError> {
        self.check()?;
        let channel = key(place);
        if self.dead.lock().unwrap().contains(&channel) {
            return Err(DeliveryError::Permanent(anyhow::anyhow!("Unknown Channel {channel}")));
        }
        if self.flaky.lock().unwrap().contains(&channel) {
            return Err(DeliveryError::Retry(anyhow::anyhow!("{channel} did not answer in time")));
        }
        let mut posts = self.posts.lock().unwrap();
        posts.push((place.clone(), post.clone()));
        let message = MessageRef::new(channel, posts.len().to_string());
        drop(posts);
        self.delivered.notify_waiters();
        Ok(message)
    }

    async fn edit(&self, message: &MessageRef, post: &Post) -> Result<(), DeliveryError> {
        let takes = *self.edit_takes.lock().unwrap();
        if !takes.is_zero() {
            tokio::time::sleep(takes).await;
        }
        self.check()?;
        self.edits.lock().unwrap().push((message.message.clone(), post.title.clone()));
        self.edited.lock().unwrap().push((message.message.clone(), post.clone()));
        self.delivered.notify_waiters();
        Ok(())
    }

    async fn react(&self, message: &MessageRef, emoji: &str) -> Result<(), DeliveryError> {
        self.check()?;
        self.reacted.lock().unwrap().push((message.message.clone(), emoji.to_string()));
        Ok(())
    }

    async fn open_thread(&self, from: &MessageRef, slug: &str, _title: &str) -> Result<String, DeliveryError> {
        self.check()?;
        self.threads.lock().unwrap().push((from.message.clone(), slug.to_string()));
        Ok(format!("thread-{slug}"))
    }

    async fn reactions(&self, message: &MessageRef, emoji: &str) -> Result<Vec<Reactor>, DeliveryError> {
        self.check()?;
        if self.reactions_down.load(Ordering::SeqCst) {
            return Err(DeliveryError::Retry(anyhow::anyhow!("the chat does not answer who reacted")));
        }
        let people = self.reactions.lock().unwrap().get(&(message.message.clone(), emoji.to_string())).cloned().unwrap_or_default();
        let read: Vec<Reactor> = {
            let departed = self.departed.lock().unwrap();
            people
                .into_iter()
                .map(|actor| match departed.contains(&actor.id) {
                    true => Reactor::Departed(actor.person()),
                    false => Reactor::Member(actor),
                })
                .collect()
        };
        if self.hold_reading.swap(false, Ordering::SeqCst) {
            self.reading.notify_one();
            self.released.notified().await;
        }
        Ok(read)
    }
}
