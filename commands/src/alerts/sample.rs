//! One observed outcome of a function, as probes, ingested events and the Management API report it.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// The longest function name accepted (Supabase slugs are far shorter).
const MAX_FUNCTION: usize = 128;
/// The longest tenant id accepted.
const MAX_TENANT: usize = 128;
/// A latency above this is a mistake in the sender, not a measurement.
const MAX_LATENCY_MS: u64 = 3_600_000;
/// How far in the future a sample's `at` may lie (senders' clocks drift).
const MAX_AHEAD: Duration = Duration::minutes(5);

/// A sample as received: `{function, ok, latency_ms, at?, tenant?}`; `at` defaults to arrival.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sample {
    pub function: String,
    pub ok: bool,
    pub latency_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
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

impl Sample {
    /// A sample observed `at`, with no tenant.
    pub fn new(function: impl Into<String>, ok: bool, latency_ms: u64, at: DateTime<Utc>) -> Sample {
        Sample { function: function.into(), ok, latency_ms, at: Some(at), tenant: None }
    }

    /// The same sample, attributed to `tenant`.
    pub fn for_tenant(mut self, tenant: impl Into<String>) -> Sample {
        self.tenant = Some(tenant.into());
        self
    }

    /// Checks the fields and returns when the sample was observed (`now` when `at` is absent).
    /// `oldest` is how far back the engine keeps samples.
    pub fn check(&self, now: DateTime<Utc>, oldest: Duration) -> Result<DateTime<Utc>, SampleError> {
        let name_ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
        if self.function.is_empty() || self.function.len() > MAX_FUNCTION || !self.function.chars().all(name_ok) {
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
        let at = self.at.unwrap_or(now);
        if at > now + MAX_AHEAD {
            return Err(SampleError::FromTheFuture);
        }
        if at < now - oldest {
            return Err(SampleError::TooOld(oldest.num_minutes()));
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
        assert_eq!(sample.check(now(), Duration::minutes(15)), Ok(now()));
    }

    #[test]
    fn unknown_fields_and_wrong_types_are_refused() {
        assert!(serde_json::from_str::<Sample>(r#"{"function":"f","ok":true,"latency_ms":1,"colour":1}"#).is_err());
        assert!(serde_json::from_str::<Sample>(r#"{"function":"f","ok":"yes","latency_ms":1}"#).is_err());
        assert!(serde_json::from_str::<Sample>(r#"{"function":"f","ok":true,"latency_ms":-1}"#).is_err());
    }

    #[test]
    fn bad_fields_are_named() {
        let window = Duration::minutes(15);
        let check = |s: Sample| s.check(now(), window).unwrap_err().to_string();
        assert!(check(Sample::new("", true, 1, now())).starts_with("`function`"));
        assert!(check(Sample::new("a b", true, 1, now())).starts_with("`function`"));
        assert!(check(Sample::new("f", true, 1, now()).for_tenant("")).starts_with("`tenant`"));
        assert!(check(Sample::new("f", true, 3_600_001, now())).starts_with("`latency_ms`"));
        assert_eq!(check(Sample::new("f", true, 1, now() + Duration::minutes(6))), "`at` is more than 5 minutes in the future");
        assert_eq!(check(Sample::new("f", true, 1, now() - Duration::minutes(16))), "`at` is older than the longest rule window (15 min)");
    }
}
