//! One observed outcome of a function, as probes, ingested events and the Management API report it.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use std::borrow::Cow;

/// The longest function name accepted (Supabase slugs are far shorter).
const MAX_FUNCTION: usize = 128;
/// The longest tenant id accepted.
const MAX_TENANT: usize = 128;
/// A latency above this is a mistake in the sender, not a measurement.
const MAX_LATENCY_MS: u64 = 3_600_000;
/// How far in the future a sample's `at` may lie (senders' clocks drift).
const MAX_AHEAD: Duration = Duration::minutes(5);

/// A sample as received: `{function, ok, latency_ms, at?, tenant?}`; `at` defaults to arrival.
/// Its names borrow from the request's body when they hold no escape: ingest allocates nothing
/// per sample.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sample<'a> {
    #[serde(borrow)]
    pub function: Cow<'a, str>,
    pub ok: bool,
    pub latency_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<Utc>>,
    #[serde(default, borrow, deserialize_with = "borrowed", skip_serializing_if = "Option::is_none")]
    pub tenant: Option<Cow<'a, str>>,
}

/// serde borrows a `Cow` only at the top of a field, not inside an `Option`.
fn borrowed<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Cow<'de, str>>, D::Error> {
    #[derive(Deserialize)]
    struct Borrowed<'a>(#[serde(borrow)] Cow<'a, str>);
    Ok(Option::<Borrowed<'de>>::deserialize(deserializer)?.map(|b| b.0))
}

/// What a sample may be, judged against one clock reading for a whole batch.
#[derive(Clone, Copy, Debug)]
pub struct Bounds {
    now: DateTime<Utc>,
    latest: DateTime<Utc>,
    oldest: DateTime<Utc>,
    oldest_minutes: i64,
}

impl Bounds {
    /// Samples from up to `oldest` before `now` (how far back the engine keeps them).
    pub fn new(now: DateTime<Utc>, oldest: Duration) -> Bounds {
        Bounds { now, latest: now + MAX_AHEAD, oldest: now - oldest, oldest_minutes: oldest.num_minutes() }
    }
}

/// Why a sample was refused; each reads as one sentence for whoever sent it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SampleError {
    #[error("`function` must be 1 to {MAX_FUNCTION} letters, digits, '-', '_' or '.'")]
    BadFunction,
    #[error("`tenant` must be 1 to {MAX_TENANT} printable characters")]
    BadTenant,
    #[error("`latency_ms` must be at most {MAX_LATENCY_MS} (one hour)")]
    LatencyTooLarge,
    #[error("`at` is more than 5 minutes in the future")]
    FromTheFuture,
    #[error("`at` is older than the longest rule window ({0} min)")]
    TooOld(i64),
    #[error("bellhop already tracks {0} functions (BELLHOP_ALERT_MAX_FUNCTIONS); samples of a new one are refused until one falls idle")]
    TooManyFunctions(usize),
}

impl<'a> Sample<'a> {
    /// A sample observed `at`, with no tenant.
    pub fn new(function: impl Into<Cow<'a, str>>, ok: bool, latency_ms: u64, at: DateTime<Utc>) -> Sample<'a> {
        Sample { function: function.into(), ok, latency_ms, at: Some(at), tenant: None }
    }

    /// The same sample, attributed to `tenant`.
    pub fn for_tenant(mut self, tenant: impl Into<Cow<'a, str>>) -> Sample<'a> {
        self.tenant = Some(tenant.into());
        self
    }

    /// Checks the fields and returns when the sample was observed (`now` when `at` is absent).
    pub fn check(&self, bounds: &Bounds) -> Result<DateTime<Utc>, SampleError> {
        let name_ok = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.');
        if self.function.is_empty() || self.function.len() > MAX_FUNCTION || !self.function.as_bytes().iter().all(name_ok) {
            return Err(SampleError::BadFunction);
        }
        if let Some(tenant) = &self.tenant {
            if tenant.is_empty() || tenant.len() > MAX_TENANT || tenant.chars().any(char::is_control) {
                return Err(SampleError::BadTenant);
            }
        }
        if self.latency_ms > MAX_LATENCY_MS {
            return Err(SampleError::LatencyTooLarge);
        }
        let Some(at) = self.at else { return Ok(bounds.now) };
        if at > bounds.latest {
            return Err(SampleError::FromTheFuture);
        }
        if at < bounds.oldest {
            return Err(SampleError::TooOld(bounds.oldest_minutes));
        }
        Ok(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-11-26T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_sample_parses_from_the_documented_json() {
        let sample: Sample = serde_json::from_str(r#"{"function":"invite-user","ok":false,"latency_ms":120,"tenant":"hotel-7"}"#).unwrap();
        assert_eq!(sample, Sample { at: None, ..Sample::new("invite-user", false, 120, now()).for_tenant("hotel-7") });
        assert!(matches!(sample.function, Cow::Borrowed(_)) && matches!(sample.tenant, Some(Cow::Borrowed(_))), "borrowed from the body");
        assert_eq!(sample.check(&Bounds::new(now(), Duration::minutes(15))), Ok(now()));
        let escaped: Sample =
            serde_json::from_str(r#"{"function":"invite\u002duser","ok":true,"latency_ms":1,"tenant":"h\u00f4tel"}"#).unwrap();
        assert_eq!((&*escaped.function, escaped.tenant.as_deref()), ("invite-user", Some("hôtel")));
    }

    #[test]
    fn unknown_fields_and_wrong_types_are_refused() {
        assert!(serde_json::from_str::<Sample>(r#"{"function":"f","ok":true,"latency_ms":1,"colour":1}"#).is_err());
        assert!(serde_json::from_str::<Sample>(r#"{"function":"f","ok":"yes","latency_ms":1}"#).is_err());
        assert!(serde_json::from_str::<Sample>(r#"{"function":"f","ok":true,"latency_ms":-1}"#).is_err());
    }

    #[test]
    fn bad_fields_are_named() {
        let bounds = Bounds::new(now(), Duration::minutes(15));
        let check = |s: Sample| s.check(&bounds).unwrap_err().to_string();
        assert!(check(Sample::new("", true, 1, now())).starts_with("`function`"));
        assert!(check(Sample::new("a b", true, 1, now())).starts_with("`function`"));
        assert!(check(Sample::new("f", true, 1, now()).for_tenant("")).starts_with("`tenant`"));
        assert!(check(Sample::new("f", true, 1, now()).for_tenant("a\u{7}b")).starts_with("`tenant`"));
        assert!(check(Sample::new("f", true, 1, now()).for_tenant("hôtel\u{85}")).starts_with("`tenant`"));
        assert!(check(Sample::new("fé", true, 1, now())).starts_with("`function`"));
        assert!(check(Sample::new("f", true, 3_600_001, now())).starts_with("`latency_ms`"));
        assert_eq!(check(Sample::new("f", true, 1, now() + Duration::minutes(6))), "`at` is more than 5 minutes in the future");
        assert_eq!(check(Sample::new("f", true, 1, now() - Duration::minutes(16))), "`at` is older than the longest rule window (15 min)");
    }
}
