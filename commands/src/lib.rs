//! bellhop's core: what every command does, knowing no chat platform.
//!
//! Adapters (Discord, the terminal) turn what a person typed into an [`Invocation`], hand it to
//! [`Core::handle`] with the [`Actor`] who typed it, and render the [`Reply`] they get back.

pub mod actor;
pub mod alerts;
pub mod chat_port;
pub mod chats;
pub mod clock;
pub mod command;
pub mod context;
mod core;
pub mod deploy;
pub mod diagnostics;
pub mod error;
pub mod health;
pub mod incident;
pub mod maintenance;
pub mod management_api;
pub mod metrics;
pub mod outbox;
pub mod post;
pub mod remediation;
pub mod store;
pub mod subject;
pub mod target_db;
pub mod templates;
pub mod text;
pub mod timers;

pub use crate::actor::{Actor, Person, Role};
pub use crate::alerts::alert_subject;
pub use crate::chat_port::{ChatPort, DeliveryError, MessageRef, Place, Reactor};
pub use crate::chats::{Chats, Origin};
pub use crate::clock::{Clock, ManualClock, SystemClock};
pub use crate::command::{Command, Invocation, Value};
pub use crate::context::Context;
pub use crate::core::TickReport;
pub use crate::core::{Core, ReactionOutcome};
pub use crate::error::{CommandError, UserError};
pub use crate::outbox::{Binding, Op, Part};
pub use crate::post::{ChannelName, Destination, Field, Post, Reply, Tone, Visibility};
pub use crate::subject::{Subject, SubjectKind};

#[cfg(test)]
mod layering;
