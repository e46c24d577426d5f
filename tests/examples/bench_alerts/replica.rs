//! `bellhop run` replicas for the benchmark, each on a PostgreSQL database of its own, and what the
//! fake shows of the ops channel.

use anyhow::Context as _;
use bellhop_tests::fake_discord::{payloads, FakeDiscord, State};
use sqlx::ConnectOptions as _;
use std::str::FromStr as _;
use std::time::Duration;

pub const TOKEN: &str = "bench-alerts-ingest-token-0123456789";

/// A fresh, empty database named `name` on the server of `admin` (dropped first if left over
/// from an earlier run), as a URL for `BELLHOP_DATABASE_URL`.
pub async fn fresh_store(admin: &str, name: &str) -> anyhow::Result<String> {
    let options = sqlx::postgres::PgConnectOptions::from_str(admin).context("the PostgreSQL URL")?;
    let mut connection = options.connect().await.context("cannot reach PostgreSQL")?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut connection).await?;
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut connection).await?;
    Ok(options.database(name).to_url_lossy().to_string())
}

pub use bellhop_tests::bot_process::{ops_titles, BotProcess as Replica};

/// Starts `count` replicas on `store` and waits until each has connected to the fake, registered
/// its commands, and answers `/readyz`.
pub async fn start(fake: &FakeDiscord, store: &str, count: usize, client: &reqwest::Client) -> anyhow::Result<Vec<Replica>> {
    let replicas = (0..count).map(|_| Replica::start(fake, store, TOKEN, "warn")).collect::<anyhow::Result<Vec<_>>>()?;
    let connected = |s: &State| {
        let registered = s.requests.iter().filter(|r| r.method == "PUT" && r.path.ends_with("/commands")).count();
        (registered >= count && s.frames_from_bot(2).len() >= count).then_some(())
    };
    if fake.wait_within(Duration::from_secs(30), connected).await.is_none() {
        let logs: Vec<String> = replicas.iter().map(Replica::log).collect();
        anyhow::bail!("the replicas never connected to the fake Discord; their logs:\n{}", logs.join("\n---\n"));
    }
    for replica in &replicas {
        replica.ready(client).await?;
    }
    Ok(replicas)
}

/// How many edits of ops-channel messages bellhop asked for (429s included).
pub fn ops_edits(state: &State) -> usize {
    let prefix = format!("/channels/{}/messages/", payloads::OPS_CHANNEL);
    state.requests_to("PATCH", &prefix).len()
}
