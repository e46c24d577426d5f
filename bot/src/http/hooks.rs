//! `POST /hooks/alertmanager` (webhook v4) and `POST /hooks/grafana` (webhook v1, optionally
//! HMAC-signed): each notification folded into its group in the store, whose post the loop
//! makes; a retry changes nothing; 5xx only when it was not stored.

use super::events::body_refused;
use super::{auth, AppState};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bellhop_commands::alerts::{parse_webhook, Source};
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use std::sync::Arc;

/// Grafana's default signature header: hex(HMAC-SHA256(secret, [timestamp ":"] body)).
const SIGNATURE_HEADER: &str = "x-grafana-alerting-signature";
/// The timestamp header bellhop reads when Grafana is configured to send one.
const TIMESTAMP_HEADER: &str = "x-grafana-alerting-timestamp";

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
    let notification = match parse_webhook(source, &body) {
        Ok(notification) => notification,
        Err(line) => return (StatusCode::BAD_REQUEST, format!("{line}\n")).into_response(),
    };
    match state.ingest.webhook(&notification).await {
        Ok(receipt) if receipt.changed => {
            (StatusCode::OK, format!("stored {} alert(s) of group {}; its post follows\n", receipt.alerts, receipt.group)).into_response()
        }
        Ok(receipt) => {
            (StatusCode::OK, format!("stored {} alert(s) of group {}; nothing changed\n", receipt.alerts, receipt.group)).into_response()
        }
        Err(error) => {
            tracing::error!(source = source.key(), group = %notification.group_key, "cannot store a webhook notification: {error:#}");
            (StatusCode::SERVICE_UNAVAILABLE, "bellhop could not store the alerts; retry later\n").into_response()
        }
    }
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
