//! A request's body for a handler: read whole within `max_body` bytes and `body_timeout`, or
//! refused with one line. Handlers take it after the token guard, so only a caller with the
//! token makes bellhop read a body at all.

use super::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use std::sync::Arc;

/// The body's bytes.
pub(crate) struct Payload(pub Bytes);

#[axum::async_trait]
impl FromRequest<Arc<AppState>> for Payload {
    type Rejection = Response;

    async fn from_request(request: Request, state: &Arc<AppState>) -> Result<Self, Response> {
        let settings = &state.settings;
        // A body announced larger than the limit is refused before a byte of it is read.
        let announced = request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if announced.is_some_and(|length| length > settings.max_body as u64) {
            return Err(too_large(settings.max_body));
        }
        // One deadline for the whole body, not per chunk: a byte a second never ends otherwise.
        // A small body usually came with the headers: it is taken without arming a timer.
        let collecting = Limited::new(request.into_body(), settings.max_body).collect();
        tokio::pin!(collecting);
        let collected = match futures::poll!(&mut collecting) {
            std::task::Poll::Ready(collected) => Ok(collected),
            std::task::Poll::Pending => tokio::time::timeout(settings.body_timeout, collecting).await,
        };
        match collected {
            Ok(Ok(collected)) => Ok(Payload(collected.to_bytes())),
            Ok(Err(error)) if error.is::<LengthLimitError>() => Err(too_large(settings.max_body)),
            Ok(Err(_)) => Err((StatusCode::BAD_REQUEST, "the body could not be read\n").into_response()),
            Err(_) => {
                let within = humantime::format_duration(settings.body_timeout);
                Err((StatusCode::REQUEST_TIMEOUT, format!("the body did not arrive within {within}\n")).into_response())
            }
        }
    }
}

fn too_large(max_body: usize) -> Response {
    (StatusCode::PAYLOAD_TOO_LARGE, format!("the body is larger than the limit of {max_body} bytes\n")).into_response()
}
