//! `POST /hooks/alertmanager` (webhook v4) and `POST /hooks/grafana` (webhook v1, optionally
//! HMAC-signed): each notification folded into its group in the store, whose post the loop
//! makes; a retry changes nothing; 5xx only when it was not stored.

use super::auth::Ingester;
use super::body::Payload;
use super::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bellhop_commands::alerts::{parse_webhook, Receipt, Source, MAX_ALERTS};
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use std::sync::Arc;

/// Grafana's default signature header: hex(HMAC-SHA256(secret, [timestamp ":"] body)).
const SIGNATURE_HEADER: &str = "X-Grafana-Alerting-Signature";
/// The timestamp header read when none is configured; then a signature without it is taken too.
pub const DEFAULT_TIMESTAMP_HEADER: &str = "X-Grafana-Alerting-Timestamp";
/// A signed timestamp further than this from bellhop's clock is refused: older is a replay.
pub const MAX_SKEW_SECS: i64 = 5 * 60;

// The token was checked from the headers (`Ingester`), then the body read within its limits (`Payload`).
pub(crate) async fn alertmanager(_: Ingester, State(state): State<Arc<AppState>>, Payload(body): Payload) -> Response {
    receive(&state, Source::Alertmanager, &body).await
}

pub(crate) async fn grafana(_: Ingester, State(state): State<Arc<AppState>>, headers: HeaderMap, Payload(body): Payload) -> Response {
    if let Some(secret) = &state.settings.grafana_secret {
        let signing = Signing {
            secret: secret.expose_secret().as_bytes(),
            timestamp_header: state.settings.grafana_timestamp_header.as_deref().unwrap_or(DEFAULT_TIMESTAMP_HEADER),
            timestamp_required: state.settings.grafana_timestamp_header.is_some(),
        };
        if let Err(line) = signing.verify(&headers, &body, unix_now()) {
            return (StatusCode::UNAUTHORIZED, line).into_response();
        }
    }
    receive(&state, Source::Grafana, &body).await
}

async fn receive(state: &AppState, source: Source, body: &[u8]) -> Response {
    let notification = match parse_webhook(source, body) {
        Ok(notification) => notification,
        Err(line) => return (StatusCode::BAD_REQUEST, format!("{line}\n")).into_response(),
    };
    match state.ingest.webhook(&notification).await {
        Ok(receipt) => {
            let firing = notification.alerts.iter().any(|a| a.firing);
            (StatusCode::OK, receipt_line(&receipt, firing)).into_response()
        }
        Err(error) => {
            tracing::error!(source = source.key(), group = %notification.group_key, "cannot store a webhook notification: {error:#}");
            (StatusCode::SERVICE_UNAVAILABLE, "bellhop could not store the alerts; retry later\n").into_response()
        }
    }
}

/// How Grafana signs: the secret, and the header its timestamp comes in (required when configured).
struct Signing<'a> {
    secret: &'a [u8],
    timestamp_header: &'a str,
    timestamp_required: bool,
}

impl Signing<'_> {
    /// The signature must match `[timestamp ":"] body`, and a signed timestamp must be within
    /// five minutes of `now` (Unix seconds): a captured request replayed later is refused.
    fn verify(&self, headers: &HeaderMap, body: &[u8], now: i64) -> Result<(), String> {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
        let given = header(SIGNATURE_HEADER).ok_or(format!("missing the {SIGNATURE_HEADER} header\n"))?;
        let given = hex::decode(given).map_err(|_| "the signature is not hex\n".to_string())?;
        let name = self.timestamp_header;
        let timestamp = match header(name) {
            Some(text) => Some((text, text.parse::<i64>().map_err(|_| format!("the {name} header is not a Unix time in seconds\n"))?)),
            None if self.timestamp_required => {
                return Err(format!("missing the {name} header (BELLHOP_GRAFANA_TIMESTAMP_HEADER): the signature must cover a timestamp\n"))
            }
            None => None,
        };
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(self.secret).map_err(|_| "the signing secret is unusable\n".to_string())?;
        if let Some((text, _)) = timestamp {
            mac.update(text.as_bytes());
            mac.update(b":");
        }
        mac.update(body);
        mac.verify_slice(&given).map_err(|_| "the signature does not match the body\n".to_string())?;
        match timestamp.map(|(_, at)| now.saturating_sub(at)) {
            Some(age) if age > MAX_SKEW_SECS => {
                Err(format!("the signature is {age} s old; bellhop refuses any older than 5 minutes as a replay\n"))
            }
            Some(age) if age < -MAX_SKEW_SECS => {
                Err(format!("the signature's timestamp is {} s ahead of bellhop's clock; at most 5 minutes are allowed\n", -age))
            }
            _ => Ok(()),
        }
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// What the sender is told: how many alerts were kept, and whether a post follows (a group first
/// seen already resolved never needed one).
fn receipt_line(receipt: &Receipt, firing: bool) -> String {
    let stored = match receipt.kept == receipt.alerts {
        true => format!("stored {} alert(s) of group {}", receipt.alerts, receipt.group),
        false => format!(
            "stored {} of {} alert(s) of group {} (a group keeps {MAX_ALERTS}: firing first, then the newest resolved; its post counts the firing ones left out)",
            receipt.kept, receipt.alerts, receipt.group
        ),
    };
    let next = match (receipt.changed, firing) {
        (false, _) => "nothing changed",
        (true, true) => "its post follows",
        (true, false) => "its post, if it has one, is updated",
    };
    format!("{stored}; {next}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000;

    fn sign(msg: &[u8]) -> String {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"k").unwrap();
        mac.update(msg);
        hex::encode(mac.finalize().into_bytes())
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap())).collect()
    }

    const OPTIONAL: Signing<'static> = Signing { secret: b"k", timestamp_header: DEFAULT_TIMESTAMP_HEADER, timestamp_required: false };

    #[test]
    fn a_signature_must_match_the_body_and_timestamp() {
        let verify = |pairs: &[(&str, &str)], body: &[u8]| OPTIONAL.verify(&headers(pairs), body, NOW);
        assert_eq!(verify(&[], b"{}").unwrap_err(), "missing the X-Grafana-Alerting-Signature header\n");
        let body_only = sign(b"{}");
        assert!(verify(&[(SIGNATURE_HEADER, &body_only)], b"{}").is_ok(), "no timestamp configured nor sent: the body alone");
        assert_eq!(verify(&[(SIGNATURE_HEADER, &body_only)], b"{ }").unwrap_err(), "the signature does not match the body\n");
        let ts = NOW.to_string();
        assert!(verify(&[(SIGNATURE_HEADER, &body_only), (DEFAULT_TIMESTAMP_HEADER, &ts)], b"{}").is_err(), "a timestamp sent is signed");
        let with_ts = sign(format!("{ts}:{{}}").as_bytes());
        assert!(verify(&[(SIGNATURE_HEADER, &with_ts), (DEFAULT_TIMESTAMP_HEADER, &ts)], b"{}").is_ok());
        assert!(verify(&[(SIGNATURE_HEADER, &with_ts)], b"{}").is_err(), "nor can it be dropped");
        assert_eq!(
            verify(&[(SIGNATURE_HEADER, &with_ts), (DEFAULT_TIMESTAMP_HEADER, "yesterday")], b"{}").unwrap_err(),
            "the X-Grafana-Alerting-Timestamp header is not a Unix time in seconds\n"
        );
    }

    #[test]
    fn a_signed_timestamp_older_than_five_minutes_is_a_replay() {
        let at = |age: i64| {
            let ts = (NOW - age).to_string();
            let signature = sign(format!("{ts}:{{}}").as_bytes());
            OPTIONAL.verify(&headers(&[(SIGNATURE_HEADER, &signature), (DEFAULT_TIMESTAMP_HEADER, &ts)]), b"{}", NOW)
        };
        assert!(at(0).is_ok() && at(300).is_ok() && at(-300).is_ok(), "within five minutes either way");
        assert_eq!(at(301).unwrap_err(), "the signature is 301 s old; bellhop refuses any older than 5 minutes as a replay\n");
        assert_eq!(at(-400).unwrap_err(), "the signature's timestamp is 400 s ahead of bellhop's clock; at most 5 minutes are allowed\n");
    }

    #[test]
    fn a_configured_timestamp_header_is_read_and_required() {
        let signing = Signing { secret: b"k", timestamp_header: "X-Signed-At", timestamp_required: true };
        let ts = NOW.to_string();
        let with_ts = sign(format!("{ts}:{{}}").as_bytes());
        assert!(signing.verify(&headers(&[(SIGNATURE_HEADER, &with_ts), ("x-signed-at", &ts)]), b"{}", NOW).is_ok());
        assert_eq!(
            signing.verify(&headers(&[(SIGNATURE_HEADER, &sign(b"{}"))]), b"{}", NOW).unwrap_err(),
            "missing the X-Signed-At header (BELLHOP_GRAFANA_TIMESTAMP_HEADER): the signature must cover a timestamp\n"
        );
        let other = headers(&[(SIGNATURE_HEADER, &with_ts), (DEFAULT_TIMESTAMP_HEADER, &ts)]);
        assert!(signing.verify(&other, b"{}", NOW).is_err(), "the default header is not read when another is configured");
    }

    #[test]
    fn the_receipt_says_what_was_kept_and_what_follows() {
        let receipt = |alerts, kept, changed, firing| receipt_line(&Receipt { group: 6, alerts, kept, changed }, firing);
        assert_eq!(receipt(2, 2, true, true), "stored 2 alert(s) of group 6; its post follows\n");
        assert_eq!(receipt(2, 2, false, true), "stored 2 alert(s) of group 6; nothing changed\n");
        assert_eq!(receipt(1, 1, true, false), "stored 1 alert(s) of group 6; its post, if it has one, is updated\n");
        assert!(receipt(300, 100, true, true).starts_with("stored 100 of 300 alert(s) of group 6 (a group keeps 100:"));
    }
}
