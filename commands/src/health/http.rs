//! One HTTP probe, with transport failures put in plain words.

use super::classify::classify_http;
use super::targets::{is_legacy_jwt, HttpRequest};
use super::{Outcome, TargetKind};
use secrecy::ExposeSecret;
use std::error::Error as _;

pub(super) async fn probe(client: &reqwest::Client, kind: TargetKind, request: &HttpRequest) -> Outcome {
    let mut builder = if request.post_json {
        client.post(&request.url).json(&serde_json::json!({ "health_check": true }))
    } else {
        client.get(&request.url)
    };
    if let Some(key) = &request.api_key {
        builder = builder.header("apikey", key.expose_secret());
        if is_legacy_jwt(key) {
            builder = builder.bearer_auth(key.expose_secret());
        }
    }
    match builder.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let code = response.headers().get("sb-error-code").and_then(|v| v.to_str().ok());
            Outcome::from((status, classify_http(kind, status, code)))
        }
        Err(error) => Outcome::failed(transport_failure(&error)),
    }
}

/// Names the failure without echoing URLs (which may carry keys) or internals.
fn transport_failure(error: &reqwest::Error) -> &'static str {
    let mut chain = String::new();
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return "connection refused",
                std::io::ErrorKind::ConnectionReset => return "connection reset",
                _ => {}
            }
        }
        chain.push_str(&cause.to_string().to_lowercase());
        chain.push(' ');
        source = cause.source();
    }
    if error.is_timeout() {
        "timed out"
    } else if chain.contains("dns") || chain.contains("lookup") {
        "DNS lookup failed"
    } else if chain.contains("certificate") || chain.contains("tls") || chain.contains("handshake") {
        "TLS handshake failed"
    } else if error.is_connect() {
        "connection failed"
    } else if error.is_builder() {
        "invalid URL"
    } else {
        "request failed"
    }
}
