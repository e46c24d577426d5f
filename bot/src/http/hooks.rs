//! `POST /hooks/alertmanager` (webhook v4) and `POST /hooks/grafana` (webhook v1, optionally
//! HMAC-signed): each alert kept once per fingerprint and status; 5xx only when not stored.

use super::events::body_refused;
use super::{auth, AppState};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bellhop_commands::alerts::{InboundAlert, Source};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Grafana's default signature header: hex(HMAC-SHA256(secret, [timestamp ":"] body)).
const SIGNATURE_HEADER: &str = "x-grafana-alerting-signature";
/// The timestamp header bellhop reads when Grafana is configured to send one.
const TIMESTAMP_HEADER: &str = "x-grafana-alerting-timestamp";

/// The envelope both senders use (Grafana adds fields bellhop does not need).
#[derive(Deserialize)]
struct Notification {
    version: String,
    alerts: Vec<WireAlert>,
}

#[derive(Deserialize)]
struct WireAlert {
    status: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(rename = "startsAt")]
    starts_at: DateTime<Utc>,
    #[serde(rename = "endsAt", default)]
    ends_at: Option<DateTime<Utc>>,
    fingerprint: String,
}

pub(crate) async fn alertmanager(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    receive(&state, Source::Alertmanager, &headers, body).await
}

pub(crate) async fn grafana(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    receive(&state, Source::Grafana, &headers, body).await
}

async fn receive(state: &AppState, source: Source, headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    if let Err(refusal) = auth::check(state.settings.token.as_ref(), headers) {
        return refusal.into_response();
    }
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return body_refused(rejection, state.settings.max_body),
    };
    if let (Source::Grafana, Some(secret)) = (source, &state.settings.grafana_secret) {
        if let Err(line) = verify_signature(secret.expose_secret().as_bytes(), headers, &body) {
            return (StatusCode::UNAUTHORIZED, line).into_response();
        }
    }
    let alerts = match parse(source, &body) {
        Ok(alerts) => alerts,
        Err(line) => return (StatusCode::BAD_REQUEST, line).into_response(),
    };
    let mut news = 0;
    for alert in &alerts {
        match state.ingest.inbound(alert).await {
            Ok(new) => news += usize::from(new),
            Err(error) => {
                tracing::error!(source = source.key(), fingerprint = %alert.fingerprint, "cannot store a webhook alert: {error:#}");
                return (StatusCode::SERVICE_UNAVAILABLE, "bellhop could not store the alerts; retry later\n").into_response();
            }
        }
    }
    super::metrics::inbound_alerts(source, alerts.len());
    (StatusCode::OK, format!("stored {} alert(s), {news} new or changed\n", alerts.len())).into_response()
}

fn parse(source: Source, body: &[u8]) -> Result<Vec<InboundAlert>, String> {
    let notification: Notification = serde_json::from_slice(body).map_err(|e| format!("invalid webhook JSON: {e}\n"))?;
    let expected = match source {
        Source::Alertmanager => "4",
        Source::Grafana => "1",
    };
    if notification.version != expected {
        return Err(format!("expected a {} webhook of version {expected}, got version {:?}\n", source.key(), notification.version));
    }
    notification.alerts.into_iter().enumerate().map(|(index, alert)| convert(source, index, alert)).collect()
}

fn convert(source: Source, index: usize, alert: WireAlert) -> Result<InboundAlert, String> {
    let firing = match alert.status.as_str() {
        "firing" => true,
        "resolved" => false,
        other => return Err(format!("alert {index}: status must be firing or resolved, not {other:?}\n")),
    };
    let fingerprint_ok = |f: &str| !f.is_empty() && f.len() <= 128 && f.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !fingerprint_ok(&alert.fingerprint) {
        return Err(format!("alert {index}: fingerprint must be 1 to 128 letters or digits\n"));
    }
    // Alertmanager zeroes endsAt of a firing alert to year 1.
    let ends_at = alert.ends_at.filter(|end| *end > alert.starts_at);
    let name = alert.labels.get("alertname").cloned().unwrap_or_else(|| "unnamed alert".into());
    let summary = ["summary", "description"].iter().find_map(|k| alert.annotations.get(*k)).cloned().unwrap_or_default();
    let detail = serde_json::json!({ "labels": alert.labels, "annotations": alert.annotations }).to_string();
    Ok(InboundAlert { source, fingerprint: alert.fingerprint, firing, name, summary, starts_at: alert.starts_at, ends_at, detail })
}

fn verify_signature(secret: &[u8], headers: &HeaderMap, body: &[u8]) -> Result<(), &'static str> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let given = header(SIGNATURE_HEADER).ok_or("missing the X-Grafana-Alerting-Signature header\n")?;
    let given = hex::decode(given.trim()).map_err(|_| "the signature is not hex\n")?;
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).map_err(|_| "the signing secret is unusable\n")?;
    if let Some(timestamp) = header(TIMESTAMP_HEADER) {
        mac.update(timestamp.as_bytes());
        mac.update(b":");
    }
    mac.update(body);
    mac.verify_slice(&given).map_err(|_| "the signature does not match the body\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_firing_alertmanager_alert_has_no_end_and_a_resolved_one_has() {
        let body = br#"{"version":"4","groupKey":"{}:{}","status":"firing","receiver":"bellhop","alerts":[
            {"status":"firing","labels":{"alertname":"HighErrors"},"annotations":{"summary":"5xx up"},
             "startsAt":"2026-11-26T12:00:00Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"a1b2"},
            {"status":"resolved","labels":{},"annotations":{},
             "startsAt":"2026-11-26T11:00:00Z","endsAt":"2026-11-26T11:30:00Z","fingerprint":"c3d4"}]}"#;
        let alerts = parse(Source::Alertmanager, body).unwrap();
        assert_eq!(
            (alerts[0].firing, alerts[0].ends_at, alerts[0].name.as_str(), alerts[0].summary.as_str()),
            (true, None, "HighErrors", "5xx up")
        );
        assert_eq!((alerts[1].firing, alerts[1].ends_at.is_some()), (false, true));
        assert!(parse(Source::Grafana, body).unwrap_err().contains("version 1"));
    }

    #[test]
    fn a_signature_must_match_the_body_and_timestamp() {
        let sign = |msg: &[u8]| {
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"k").unwrap();
            mac.update(msg);
            hex::encode(mac.finalize().into_bytes())
        };
        let mut headers = HeaderMap::new();
        assert!(verify_signature(b"k", &headers, b"{}").is_err());
        headers.insert(SIGNATURE_HEADER, sign(b"{}").parse().unwrap());
        assert!(verify_signature(b"k", &headers, b"{}").is_ok());
        assert!(verify_signature(b"k", &headers, b"{ }").is_err());
        headers.insert(TIMESTAMP_HEADER, "1700000000".parse().unwrap());
        assert!(verify_signature(b"k", &headers, b"{}").is_err());
        headers.insert(SIGNATURE_HEADER, sign(b"1700000000:{}").parse().unwrap());
        assert!(verify_signature(b"k", &headers, b"{}").is_ok());
    }
}
