//! `POST /events`: one sample or an array of them, taken whole or refused whole.

use super::auth::Ingester;
use super::body::Payload;
use super::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bellhop_commands::alerts::{Sample, SampleError};
use std::sync::Arc;

/// The token was checked from the headers (`Ingester`), then the body read within its limits (`Payload`).
pub(crate) async fn post_events(_: Ingester, State(state): State<Arc<AppState>>, Payload(body): Payload) -> Response {
    let samples = match parse(&body) {
        Ok(samples) => samples,
        Err(line) => {
            // How many samples a body that does not parse held is unknown: it counts as one.
            bellhop_commands::metrics::samples_refused("invalid", 1);
            return (StatusCode::BAD_REQUEST, line).into_response();
        }
    };
    match state.ingest.samples(&samples) {
        Ok(count) => {
            bellhop_commands::metrics::samples_ingested(count);
            (StatusCode::OK, format!("accepted {count}\n")).into_response()
        }
        Err((_, error @ SampleError::TooManyFunctions(_))) => {
            bellhop_commands::metrics::samples_refused("too_many_functions", samples.len());
            (StatusCode::UNPROCESSABLE_ENTITY, format!("{error}; nothing was stored\n")).into_response()
        }
        Err((index, error)) => {
            bellhop_commands::metrics::samples_refused("invalid", samples.len());
            let line = match samples.len() {
                1 => format!("{error}\n"),
                _ => format!("sample {index}: {error}; nothing was stored\n"),
            };
            (StatusCode::UNPROCESSABLE_ENTITY, line).into_response()
        }
    }
}

/// One sample (`{…}`) or several (`[{…}, …]`); the error is one line naming what is wrong.
fn parse(body: &[u8]) -> Result<Vec<Sample<'_>>, String> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    let parsed = match first {
        Some(b'[') => serde_json::from_slice::<Vec<Sample>>(body),
        Some(b'{') => serde_json::from_slice::<Sample>(body).map(|s| vec![s]),
        _ => return Err("the body must be a JSON sample {\"function\", \"ok\", \"latency_ms\", …} or an array of them\n".into()),
    };
    match parsed {
        Ok(samples) if samples.is_empty() => Err("the array holds no sample\n".into()),
        Ok(samples) => Ok(samples),
        Err(error) => Err(format!("invalid sample JSON: {error}\n")),
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn a_sample_or_an_array_parses_and_mistakes_say_where() {
        assert_eq!(parse(br#" {"function":"f","ok":true,"latency_ms":3}"#).unwrap().len(), 1);
        assert_eq!(parse(br#"[{"function":"f","ok":true,"latency_ms":3},{"function":"g","ok":false,"latency_ms":9}]"#).unwrap().len(), 2);
        assert_eq!(parse(b"[]").unwrap_err(), "the array holds no sample\n");
        assert!(parse(b"42").unwrap_err().starts_with("the body must be a JSON sample"));
        assert_eq!(
            parse(br#"{"function":"f","latency_ms":3}"#).unwrap_err(),
            "invalid sample JSON: missing field `ok` at line 1 column 31\n"
        );
    }
}
