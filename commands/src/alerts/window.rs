//! Samples aggregated in memory per function, in ten-second buckets kept in a ring.

use chrono::{DateTime, Utc};
use dashmap::DashMap;
use std::collections::HashMap;

/// The width of one bucket; windows are whole buckets, so a 5 min window spans 30.
pub const BUCKET_SECS: i64 = 10;
/// Distinct tenants counted per bucket; more are still counted in the totals, not by name.
const MAX_TENANTS_PER_BUCKET: usize = 1_000;

#[derive(Clone, Default)]
struct Bucket {
    slot: i64,
    total: u64,
    failures: u64,
    latency_sum_ms: u64,
    tenants: HashMap<Box<str>, Count>,
}

#[derive(Clone, Copy, Default)]
struct Count {
    total: u64,
    failures: u64,
}

/// The figures of one function over a window.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WindowStats {
    pub total: u64,
    pub failures: u64,
    pub latency_sum_ms: u64,
    /// Per tenant: (tenant, failures, samples).
    pub tenants: Vec<(String, u64, u64)>,
}

/// Every function's ring of buckets. Recording takes one shard lock of the map.
pub struct Windows {
    series: DashMap<String, Vec<Bucket>>,
    slots: usize,
}

impl Windows {
    /// Keeps `retention_secs` of samples (the longest rule window).
    pub fn new(retention_secs: i64) -> Windows {
        let slots = usize::try_from(retention_secs.max(BUCKET_SECS) / BUCKET_SECS + 1).unwrap_or(1);
        Windows { series: DashMap::new(), slots }
    }

    /// Counts one sample; false when it is older than the ring keeps.
    pub fn record(&self, function: &str, ok: bool, latency_ms: u64, tenant: Option<&str>, at: DateTime<Utc>) -> bool {
        let slot = at.timestamp().div_euclid(BUCKET_SECS);
        let index = self.index(slot);
        let mut ring = match self.series.get_mut(function) {
            Some(ring) => ring,
            None => self.series.entry(function.to_string()).or_insert_with(|| vec![Bucket::default(); self.slots]),
        };
        let bucket = &mut ring[index];
        if bucket.slot > slot {
            return false;
        }
        if bucket.slot < slot {
            *bucket = Bucket { slot, ..Bucket::default() };
        }
        bucket.total += 1;
        bucket.failures += u64::from(!ok);
        bucket.latency_sum_ms = bucket.latency_sum_ms.saturating_add(latency_ms);
        if let Some(tenant) = tenant {
            let known = bucket.tenants.len() < MAX_TENANTS_PER_BUCKET;
            let count = match bucket.tenants.get_mut(tenant) {
                Some(count) => Some(count),
                None if known => Some(bucket.tenants.entry(tenant.into()).or_default()),
                None => None,
            };
            if let Some(count) = count {
                count.total += 1;
                count.failures += u64::from(!ok);
            }
        }
        true
    }

    /// The figures of `function` over the `window_secs` ending at `now` (whole buckets).
    pub fn stats(&self, function: &str, now: DateTime<Utc>, window_secs: i64) -> WindowStats {
        let Some(ring) = self.series.get(function) else { return WindowStats::default() };
        let last = now.timestamp().div_euclid(BUCKET_SECS);
        let first = last - (window_secs / BUCKET_SECS).max(1) + 1;
        let mut stats = WindowStats::default();
        let mut tenants: HashMap<&str, Count> = HashMap::new();
        for bucket in ring.iter().filter(|b| b.slot >= first && b.slot <= last && b.total > 0) {
            stats.total += bucket.total;
            stats.failures += bucket.failures;
            stats.latency_sum_ms = stats.latency_sum_ms.saturating_add(bucket.latency_sum_ms);
            for (tenant, count) in &bucket.tenants {
                let sum = tenants.entry(tenant).or_default();
                sum.total += count.total;
                sum.failures += count.failures;
            }
        }
        stats.tenants = tenants.into_iter().map(|(t, c)| (t.to_string(), c.failures, c.total)).collect();
        stats
    }

    /// Every function that has sent a sample.
    pub fn functions(&self) -> Vec<String> {
        let mut names: Vec<String> = self.series.iter().map(|e| e.key().clone()).collect();
        names.sort();
        names
    }

    fn index(&self, slot: i64) -> usize {
        // rem_euclid of a positive modulus is in 0..slots.
        usize::try_from(slot.rem_euclid(self.slots as i64)).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn t0() -> DateTime<Utc> {
        "2026-11-26T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_window_counts_only_its_own_buckets() {
        let windows = Windows::new(900);
        windows.record("f", false, 100, Some("h1"), t0());
        windows.record("f", true, 300, Some("h1"), t0() + Duration::seconds(65));
        windows.record("f", false, 200, Some("h2"), t0() + Duration::seconds(119));
        let now = t0() + Duration::seconds(119);
        let last_minute = windows.stats("f", now, 60);
        assert_eq!((last_minute.total, last_minute.failures, last_minute.latency_sum_ms), (2, 1, 500));
        let two = windows.stats("f", now, 120);
        assert_eq!((two.total, two.failures), (3, 2));
        let mut tenants = two.tenants.clone();
        tenants.sort();
        assert_eq!(tenants, [("h1".to_string(), 1, 2), ("h2".to_string(), 1, 1)]);
        assert_eq!(windows.stats("g", now, 60), WindowStats::default());
    }

    #[test]
    fn old_buckets_are_reused_and_late_samples_dropped() {
        let windows = Windows::new(60);
        assert!(windows.record("f", false, 1, None, t0()));
        let later = t0() + Duration::seconds(70);
        assert!(windows.record("f", true, 1, None, later), "the ring wraps onto the old bucket");
        assert!(!windows.record("f", false, 1, None, t0()), "a sample older than the ring is dropped");
        assert_eq!(windows.stats("f", later, 900).total, 1);
        assert_eq!(windows.functions(), ["f"]);
    }
}
