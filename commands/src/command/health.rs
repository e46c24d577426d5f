//! `/health`: one sweep of every target.

use crate::error::CommandError;
use crate::health::{sweep_post, HealthChecker};
use crate::post::Reply;

pub(crate) async fn health(checker: &HealthChecker) -> Result<Reply, CommandError> {
    let sweep = checker.sweep().await;
    Ok(Reply::channel(sweep_post(&sweep)))
}
