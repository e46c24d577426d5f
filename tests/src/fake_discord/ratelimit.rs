//! Discord's per-channel message rate limit, off unless a test switches it on
//! ([`super::FakeDiscord::limit_messages`]): beyond `messages` posts (or edits) in a channel within
//! `per`, Discord answers 429 with how long to wait. serenity's own limiter is off against the
//! fake, so what bellhop gets here depends on its own pacing alone.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How many messages a channel takes within `per`, per method (a post and an edit are separate
/// buckets in Discord, both keyed by the channel).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    pub messages: usize,
    pub per: Duration,
}

impl RateLimit {
    /// Discord's limit on a channel's messages: 5 per 5 s.
    pub const DISCORD: RateLimit = RateLimit { messages: 5, per: Duration::from_secs(5) };
}

/// When each bucket (method, channel) last let requests through, within the limit's span.
#[derive(Default)]
pub(super) struct Buckets {
    sent: HashMap<(String, String), VecDeque<Instant>>,
}

/// What one request got from its bucket.
pub(super) enum Verdict {
    /// Let through, with this many left in the span.
    Passed { remaining: usize, reset_after: Duration },
    /// Refused: try again after this long.
    Limited { retry_after: Duration },
}

impl Buckets {
    /// Counts a request against its bucket. A sliding window: a request passes when fewer than
    /// `limit.messages` passed within the last `limit.per`.
    pub(super) fn take(&mut self, limit: RateLimit, method: &str, channel: &str, now: Instant) -> Verdict {
        let sent = self.sent.entry((method.to_string(), channel.to_string())).or_default();
        while sent.front().is_some_and(|at| now.duration_since(*at) >= limit.per) {
            sent.pop_front();
        }
        let reset_after = |sent: &VecDeque<Instant>| sent.front().map_or(limit.per, |oldest| limit.per - now.duration_since(*oldest));
        if sent.len() >= limit.messages {
            return Verdict::Limited { retry_after: reset_after(sent) };
        }
        sent.push_back(now);
        Verdict::Passed { remaining: limit.messages - sent.len(), reset_after: reset_after(sent) }
    }
}

/// The channel of a request the limit applies to: a message posted or edited in a channel.
pub(super) fn limited_channel<'a>(method: &str, segments: &[&'a str]) -> Option<&'a str> {
    match (method, segments) {
        ("POST", ["channels", channel, "messages"]) | ("PATCH", ["channels", channel, "messages", _]) => Some(channel),
        _ => None,
    }
}

/// Discord's 429: the JSON body and the headers serenity (and any client) reads.
pub(super) fn too_many(limit: RateLimit, bucket: &str, retry_after: Duration) -> Response {
    let body = serde_json::json!({"message": "You are being rate limited.", "retry_after": retry_after.as_secs_f64(), "global": false});
    let mut response = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
    headers(&mut response, limit, bucket, 0, retry_after);
    let headers = response.headers_mut();
    headers.insert("retry-after", HeaderValue::from(retry_after.as_secs_f64().ceil() as u64));
    headers.insert("x-ratelimit-scope", HeaderValue::from_static("user"));
    response
}

/// The `X-RateLimit-*` headers Discord puts on every answer of a limited route.
pub(super) fn headers(response: &mut Response, limit: RateLimit, bucket: &str, remaining: usize, reset_after: Duration) {
    let reset = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default() + reset_after;
    let headers = response.headers_mut();
    headers.insert("x-ratelimit-limit", HeaderValue::from(limit.messages));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
    let float = |d: Duration| HeaderValue::from_str(&format!("{:.3}", d.as_secs_f64())).expect("a number is a header value");
    headers.insert("x-ratelimit-reset", float(reset));
    headers.insert("x-ratelimit-reset-after", float(reset_after));
    if let Ok(bucket) = HeaderValue::from_str(bucket) {
        headers.insert("x-ratelimit-bucket", bucket);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_takes_its_limit_per_span_then_refuses_until_the_oldest_ages_out() {
        let mut buckets = Buckets::default();
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        for i in 0..5 {
            assert!(matches!(buckets.take(RateLimit::DISCORD, "POST", "1", at(i * 100)), Verdict::Passed { .. }));
        }
        match buckets.take(RateLimit::DISCORD, "POST", "1", at(1_000)) {
            Verdict::Limited { retry_after } => assert_eq!(retry_after, Duration::from_millis(4_000)),
            Verdict::Passed { .. } => panic!("the sixth within 5 s passed"),
        }
        assert!(matches!(buckets.take(RateLimit::DISCORD, "PATCH", "1", at(1_000)), Verdict::Passed { .. }), "edits are their own bucket");
        assert!(matches!(buckets.take(RateLimit::DISCORD, "POST", "2", at(1_000)), Verdict::Passed { .. }), "so is another channel");
        assert!(matches!(buckets.take(RateLimit::DISCORD, "POST", "1", at(5_000)), Verdict::Passed { .. }), "the first aged out");
    }
}
