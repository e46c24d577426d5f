//! The two ways a command fails: the person can fix it, or bellhop must.

use std::fmt;

/// One sentence for the person who typed the command; shown only to them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserError(String);

impl UserError {
    pub fn new(sentence: impl Into<String>) -> Self {
        UserError(sentence.into())
    }

    pub fn message(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UserError {}

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("{0}")]
    User(#[from] UserError),
    /// Logged with its chain; the person sees a reference id only.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl CommandError {
    pub fn user(sentence: impl Into<String>) -> Self {
        CommandError::User(UserError::new(sentence))
    }
}
