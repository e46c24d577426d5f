//! Samples aggregated in memory per function, in ten-second buckets kept in a ring; the buckets
//! other replicas flushed to the store are added in when a window is judged.

use chrono::{DateTime, Utc};
use dashmap::DashMap;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;

/// The width of one bucket; windows are whole buckets, so a 5 min window spans 30.
pub const BUCKET_SECS: i64 = 10;
/// Distinct tenants counted per bucket; more are still counted in the totals, not by name.
const MAX_TENANTS_PER_BUCKET: usize = 1_000;

#[derive(Clone, Default)]
struct Bucket {
    slot: i64,
    counts: Counts,
    tenants: HashMap<Box<str>, Count>,
    /// Changed since the last flush to the store.
    dirty: bool,
}

/// A bucket's totals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub total: u64,
    pub failures: u64,
    pub latency_sum_ms: u64,
}

impl Counts {
    fn add(&mut self, other: &Counts) {
        self.total += other.total;
        self.failures += other.failures;
        self.latency_sum_ms = self.latency_sum_ms.saturating_add(other.latency_sum_ms);
    }
}

#[derive(Clone, Copy, Default)]
struct Count {
    total: u64,
    failures: u64,
}

/// One bucket as it travels between replicas through the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BucketRow {
    pub function: String,
    pub slot: i64,
    pub counts: Counts,
    /// Per tenant: (tenant, samples, failures).
    pub tenants: Vec<(String, u64, u64)>,
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

/// Other replicas' buckets: function → (slot, replica) → counts and tenants.
type Remote = BTreeMap<String, BTreeMap<(i64, String), (Counts, Vec<(String, u64, u64)>)>>;

/// Every function's ring of buckets, plus what other replicas counted. Recording takes one
/// shard lock of the map.
pub struct Windows {
    series: DashMap<String, Vec<Bucket>>,
    slots: usize,
    max_functions: usize,
    remote: RwLock<Remote>,
}

impl Windows {
    /// Keeps `retention_secs` of samples (the longest rule window) for at most `max_functions`.
    pub fn new(retention_secs: i64, max_functions: usize) -> Windows {
        let slots = usize::try_from(retention_secs.max(BUCKET_SECS) / BUCKET_SECS + 1).unwrap_or(1);
        Windows { series: DashMap::new(), slots, max_functions: max_functions.max(1), remote: RwLock::default() }
    }

    /// Whether samples of `function` are being counted.
    pub fn tracks(&self, function: &str) -> bool {
        self.series.contains_key(function)
    }

    /// Whether `new` more functions fit under the limit.
    pub fn room_for(&self, new: usize) -> bool {
        self.series.len() + new <= self.max_functions
    }

    /// Counts one sample; false when it is older than the ring keeps. The limit on functions is
    /// the caller's to check ([`Windows::room_for`]), for a whole batch at once.
    pub fn record(&self, function: &str, ok: bool, latency_ms: u64, tenant: Option<&str>, at: DateTime<Utc>) -> bool {
        let mut ring = self.ring(function);
        self.count(&mut ring, ok, latency_ms, tenant, at)
    }

    /// Counts a batch, taking each function's ring once per run of its samples (a batch is
    /// mostly one function's); returns how many were counted.
    pub fn record_all(&self, samples: &[super::Sample<'_>], now: DateTime<Utc>) -> u64 {
        let mut taken = 0;
        for run in samples.chunk_by(|a, b| a.function == b.function) {
            let mut ring = self.ring(&run[0].function);
            for sample in run {
                let at = sample.at.unwrap_or(now);
                taken += u64::from(self.count(&mut ring, sample.ok, sample.latency_ms, sample.tenant.as_deref(), at));
            }
        }
        taken
    }

    fn ring(&self, function: &str) -> dashmap::mapref::one::RefMut<'_, String, Vec<Bucket>> {
        match self.series.get_mut(function) {
            Some(ring) => ring,
            None => self.series.entry(function.to_string()).or_insert_with(|| vec![Bucket::default(); self.slots]),
        }
    }

    fn count(&self, ring: &mut [Bucket], ok: bool, latency_ms: u64, tenant: Option<&str>, at: DateTime<Utc>) -> bool {
        let slot = at.timestamp().div_euclid(BUCKET_SECS);
        let bucket = &mut ring[self.index(slot)];
        if bucket.slot > slot {
            return false;
        }
        if bucket.slot < slot {
            *bucket = Bucket { slot, ..Bucket::default() };
        }
        bucket.dirty = true;
        bucket.counts.add(&Counts { total: 1, failures: u64::from(!ok), latency_sum_ms: latency_ms });
        if let Some(tenant) = tenant {
            let room = bucket.tenants.len() < MAX_TENANTS_PER_BUCKET;
            let count = match bucket.tenants.get_mut(tenant) {
                Some(count) => Some(count),
                None if room => Some(bucket.tenants.entry(tenant.into()).or_default()),
                None => None,
            };
            if let Some(count) = count {
                count.total += 1;
                count.failures += u64::from(!ok);
            }
        }
        true
    }

    /// The figures of `function` over the `window_secs` ending at `now` (whole buckets), this
    /// replica's and the others' together.
    pub fn stats(&self, function: &str, now: DateTime<Utc>, window_secs: i64) -> WindowStats {
        let last = now.timestamp().div_euclid(BUCKET_SECS);
        let first = last - (window_secs / BUCKET_SECS).max(1) + 1;
        let mut counts = Counts::default();
        let mut tenants: HashMap<String, Count> = HashMap::new();
        let mut add_tenant = |tenant: &str, total: u64, failures: u64| {
            let sum = tenants.entry(tenant.to_string()).or_default();
            sum.total += total;
            sum.failures += failures;
        };
        if let Some(ring) = self.series.get(function) {
            for bucket in ring.iter().filter(|b| b.slot >= first && b.slot <= last && b.counts.total > 0) {
                counts.add(&bucket.counts);
                for (tenant, count) in &bucket.tenants {
                    add_tenant(tenant, count.total, count.failures);
                }
            }
        }
        let remote = self.remote.read().unwrap_or_else(|e| e.into_inner());
        if let Some(buckets) = remote.get(function) {
            for ((_, _), (bucket, bucket_tenants)) in buckets.range((first, String::new())..).take_while(|((slot, _), _)| *slot <= last) {
                counts.add(bucket);
                for (tenant, total, failures) in bucket_tenants {
                    add_tenant(tenant, *total, *failures);
                }
            }
        }
        WindowStats {
            total: counts.total,
            failures: counts.failures,
            latency_sum_ms: counts.latency_sum_ms,
            tenants: tenants.into_iter().map(|(t, c)| (t, c.failures, c.total)).collect(),
        }
    }

    /// Every function with samples, here or at another replica.
    pub fn functions(&self) -> Vec<String> {
        let mut names: Vec<String> = self.series.iter().map(|e| e.key().clone()).collect();
        names.extend(self.remote.read().unwrap_or_else(|e| e.into_inner()).keys().cloned());
        names.sort();
        names.dedup();
        names
    }

    /// How many functions this replica tracks.
    pub fn tracked(&self) -> usize {
        self.series.len()
    }

    /// The buckets changed since the last call, to flush to the store; they are marked clean.
    pub fn take_dirty(&self) -> Vec<BucketRow> {
        let mut rows = Vec::new();
        for mut entry in self.series.iter_mut() {
            let function = entry.key().clone();
            for bucket in entry.value_mut().iter_mut().filter(|b| b.dirty) {
                bucket.dirty = false;
                let tenants = bucket.tenants.iter().map(|(t, c)| (t.to_string(), c.total, c.failures)).collect();
                rows.push(BucketRow { function: function.clone(), slot: bucket.slot, counts: bucket.counts, tenants });
            }
        }
        rows
    }

    /// Marks buckets dirty again (their flush failed), so the next flush carries them.
    pub fn mark_dirty(&self, rows: &[BucketRow]) {
        for row in rows {
            if let Some(mut ring) = self.series.get_mut(&row.function) {
                let index = self.index(row.slot);
                if ring[index].slot == row.slot {
                    ring[index].dirty = true;
                }
            }
        }
    }

    /// Takes in buckets other replicas flushed (a newer copy of a bucket replaces the older).
    pub fn merge_remote(&self, rows: Vec<(String, BucketRow)>) {
        let mut remote = self.remote.write().unwrap_or_else(|e| e.into_inner());
        for (replica, row) in rows {
            remote.entry(row.function).or_default().insert((row.slot, replica), (row.counts, row.tenants));
        }
    }

    /// Forgets what is older than the ring keeps: other replicas' buckets, and functions with no
    /// sample left in any window (a series idle for longer than the longest window).
    pub fn drop_idle(&self, now: DateTime<Utc>) -> usize {
        let oldest = now.timestamp().div_euclid(BUCKET_SECS) - self.slots as i64 + 1;
        let before = self.series.len();
        self.series.retain(|_, ring| ring.iter().any(|b| b.slot >= oldest && (b.counts.total > 0 || b.dirty)));
        let mut remote = self.remote.write().unwrap_or_else(|e| e.into_inner());
        remote.retain(|_, buckets| {
            buckets.retain(|(slot, _), _| *slot >= oldest);
            !buckets.is_empty()
        });
        before - self.series.len()
    }

    /// The oldest slot any window still reads at `now`.
    pub fn oldest_slot(&self, now: DateTime<Utc>) -> i64 {
        now.timestamp().div_euclid(BUCKET_SECS) - self.slots as i64 + 1
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
        let windows = Windows::new(900, 10);
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
        let windows = Windows::new(60, 10);
        assert!(windows.record("f", false, 1, None, t0()));
        let later = t0() + Duration::seconds(70);
        assert!(windows.record("f", true, 1, None, later), "the ring wraps onto the old bucket");
        assert!(!windows.record("f", false, 1, None, t0()), "a sample older than the ring is dropped");
        assert_eq!(windows.stats("f", later, 900).total, 1);
        assert_eq!(windows.functions(), ["f"]);
    }

    #[test]
    fn idle_functions_are_forgotten_and_make_room() {
        let windows = Windows::new(60, 2);
        windows.record("a", true, 1, None, t0());
        windows.record("b", true, 1, None, t0());
        assert!(!windows.room_for(1) && windows.tracks("a") && !windows.tracks("c"));
        assert_eq!(windows.drop_idle(t0() + Duration::seconds(30)), 0, "both still in their windows");
        assert_eq!(windows.drop_idle(t0() + Duration::seconds(200)), 2);
        assert!(windows.room_for(2), "room again");
    }

    #[test]
    fn flushed_buckets_add_up_with_another_replicas() {
        let here = Windows::new(300, 10);
        let there = Windows::new(300, 10);
        for i in 0..10 {
            here.record("f", i % 2 == 0, 10, Some("h1"), t0());
            there.record("f", false, 30, Some("h2"), t0());
        }
        let flushed = there.take_dirty();
        assert_eq!(flushed.len(), 1);
        assert!(there.take_dirty().is_empty(), "a flushed bucket is clean until it changes");
        here.merge_remote(flushed.iter().cloned().map(|row| ("there".to_string(), row)).collect());
        here.merge_remote(flushed.into_iter().map(|row| ("there".to_string(), row)).collect());
        let stats = here.stats("f", t0(), 300);
        assert_eq!((stats.total, stats.failures, stats.latency_sum_ms), (20, 15, 400), "a bucket read twice counts once");
        assert_eq!(stats.tenants.len(), 2);
    }
}
