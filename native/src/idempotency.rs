//! The bounded idempotency store: request keys with their payload fingerprint and first
//! response, at most `capacity` of them (least recently used evicted first), each for
//! `ttl_ms` from its first sight, expired by a hierarchical timing wheel.
//!
//! A port of `bot4.service.idempotency.MemoryIdempotencyStore`, which stays the
//! specification: the same answers (NEW, REPLAY, IN_FLIGHT, CONFLICT), the same evictions
//! and expiries at the same calls, the same counters. Entries live in a slab threaded by
//! two intrusive lists (recency, and the wheel slot they wait in), found through a table of
//! 4-byte slab indexes, so a key costs one slab entry and no per-key allocation beyond a
//! long key's or a fingerprint's bytes. Time is passed in; nothing reads a clock.

use std::hash::BuildHasher;

use compact_str::CompactString;
use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

/// What `begin` found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// First sight (or the key had expired or been evicted): now in flight.
    New,
    /// Done before: its first response comes back.
    Replay,
    /// Begun and not yet completed or released.
    InFlight,
    /// The key was used with another fingerprint.
    Conflict,
}

const NONE: u32 = u32::MAX;
/// Wheel shape of the Python store: 4096 slots of a tick in level 0 (an hour of one-second
/// ticks), three levels.
const SLOTS: i64 = 4096;
const LEVELS: usize = 3;

#[derive(Debug)]
struct Entry {
    key: CompactString,
    fingerprint: Box<[u8]>,
    response: Option<Box<[u8]>>,
    expires: i64,
    hash: u64,
    /// The tick the wheel holds it for (after the overdue adjustment).
    tick: i64,
    older: u32,
    newer: u32,
    prev: u32,
    next: u32,
    /// Its wheel slot (level * SLOTS + index), NONE when not scheduled.
    slot: u32,
}

/// The hierarchical timing wheel's slot lists and clock (items are slab indexes).
#[derive(Debug)]
struct Wheel {
    tick_ms: i64,
    now_tick: i64,
    spans: [i64; LEVELS + 1],
    heads: Vec<u32>,
    scheduled: usize,
    /// Items per level, so a stretch of ticks with nothing to visit is skipped.
    counts: [usize; LEVELS],
}

/// The bounded store (see the module docs).
#[derive(Debug)]
pub struct Store {
    capacity: usize,
    ttl_ms: i64,
    entries: Vec<Entry>,
    free: Vec<u32>,
    index: HashTable<u32>,
    oldest: u32,
    newest: u32,
    wheel: Wheel,
    next_tick_ms: i64,
    due: Vec<u32>,
    /// Keys evicted by capacity.
    pub evicted: u64,
    /// Keys expired by their time to live.
    pub expired: u64,
}

fn key_hash(key: &str) -> u64 {
    FxBuildHasher.hash_one(key)
}

/// Why a store could not be made.
#[derive(Debug, PartialEq, Eq)]
pub struct BadShape;

impl Store {
    /// A store of at most `capacity` keys living `ttl_ms` each, on a wheel of `tick_ms`
    /// ticks starting at `start_ms`.
    pub fn new(
        capacity: usize,
        ttl_ms: i64,
        tick_ms: i64,
        start_ms: i64,
    ) -> Result<Self, BadShape> {
        if capacity == 0 || capacity >= NONE as usize || ttl_ms <= 0 || tick_ms <= 0 {
            return Err(BadShape);
        }
        let mut spans = [1i64; LEVELS + 1];
        for level in 1..=LEVELS {
            spans[level] = spans[level - 1] * SLOTS;
        }
        let now_tick = start_ms.div_euclid(tick_ms);
        Ok(Self {
            capacity,
            ttl_ms,
            entries: Vec::new(),
            free: Vec::new(),
            index: HashTable::new(),
            oldest: NONE,
            newest: NONE,
            wheel: Wheel {
                tick_ms,
                now_tick,
                spans,
                heads: vec![NONE; LEVELS * SLOTS as usize],
                scheduled: 0,
                counts: [0; LEVELS],
            },
            next_tick_ms: next_tick_ms(start_ms, tick_ms),
            due: Vec::new(),
            evicted: 0,
            expired: 0,
        })
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn ttl_ms(&self) -> i64 {
        self.ttl_ms
    }

    /// Keys held.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Keys held plus items on the wheel (at most twice the capacity).
    pub fn footprint(&self) -> usize {
        self.index.len() + self.wheel.scheduled
    }

    pub fn contains(&self, key: &str) -> bool {
        self.find(key).is_some()
    }

    fn find(&self, key: &str) -> Option<u32> {
        let entries = &self.entries;
        self.index
            .find(key_hash(key), |&i| entries[i as usize].key == key)
            .copied()
    }

    /// Check `key`; when new, record it as in flight with `fingerprint` (evicting the least
    /// recently used key when over capacity). A replay's first response comes with it.
    pub fn begin(&mut self, key: &str, fingerprint: &[u8], now_ms: i64) -> (Status, Option<&[u8]>) {
        if now_ms >= self.next_tick_ms {
            self.expire(now_ms);
        }
        let hash = key_hash(key);
        let found = {
            let entries = &self.entries;
            self.index
                .find(hash, |&i| entries[i as usize].key == key)
                .copied()
        };
        if let Some(i) = found {
            if self.entries[i as usize].expires > now_ms {
                self.touch(i);
                let entry = &self.entries[i as usize];
                if *entry.fingerprint != *fingerprint {
                    return (Status::Conflict, None);
                }
                return match &entry.response {
                    None => (Status::InFlight, None),
                    Some(response) => (Status::Replay, Some(response)),
                };
            }
            self.remove(i); // expired, its tick not reached yet
        }
        let expires = now_ms.saturating_add(self.ttl_ms);
        let i = self.insert(key, hash, fingerprint, expires);
        self.schedule(i, ceil_div(expires, self.wheel.tick_ms));
        if self.index.len() > self.capacity {
            self.remove(self.oldest);
            self.evicted += 1;
        }
        (Status::New, None)
    }

    /// Record the first response of `key` (nothing if it has gone or is complete).
    pub fn complete(&mut self, key: &str, response: &[u8]) {
        if let Some(i) = self.find(key) {
            let entry = &mut self.entries[i as usize];
            if entry.response.is_none() {
                entry.response = Some(response.into());
            }
        }
    }

    /// The recorded first response of `key`, without touching its recency or its time.
    pub fn response(&self, key: &str) -> Option<&[u8]> {
        self.find(key)
            .and_then(|i| self.entries[i as usize].response.as_deref())
    }

    /// Forget an in-flight `key` (its request had no effect); a completed key stays.
    pub fn release(&mut self, key: &str) {
        if let Some(i) = self.find(key)
            && self.entries[i as usize].response.is_none()
        {
            self.remove(i);
        }
    }

    fn insert(&mut self, key: &str, hash: u64, fingerprint: &[u8], expires: i64) -> u32 {
        let entry = Entry {
            key: CompactString::from(key),
            fingerprint: fingerprint.into(),
            response: None,
            expires,
            hash,
            tick: 0,
            older: self.newest,
            newer: NONE,
            prev: NONE,
            next: NONE,
            slot: NONE,
        };
        let i = match self.free.pop() {
            Some(i) => {
                self.entries[i as usize] = entry;
                i
            }
            None => {
                self.entries.push(entry);
                (self.entries.len() - 1) as u32
            }
        };
        if self.newest == NONE {
            self.oldest = i;
        } else {
            self.entries[self.newest as usize].newer = i;
        }
        self.newest = i;
        let entries = &self.entries;
        self.index
            .insert_unique(hash, i, |&x| entries[x as usize].hash);
        i
    }

    /// Take entry `i` out of the table, the recency list and the wheel.
    fn remove(&mut self, i: u32) {
        let hash = self.entries[i as usize].hash;
        if let Ok(found) = self.index.find_entry(hash, |&x| x == i) {
            found.remove();
        }
        self.unlink_recency(i);
        self.unschedule(i);
        let entry = &mut self.entries[i as usize];
        entry.key = CompactString::default();
        entry.fingerprint = Box::default();
        entry.response = None;
        self.free.push(i);
    }

    fn unlink_recency(&mut self, i: u32) {
        let (older, newer) = {
            let e = &self.entries[i as usize];
            (e.older, e.newer)
        };
        if older == NONE {
            self.oldest = newer;
        } else {
            self.entries[older as usize].newer = newer;
        }
        if newer == NONE {
            self.newest = older;
        } else {
            self.entries[newer as usize].older = older;
        }
    }

    /// Make `i` the most recently used.
    fn touch(&mut self, i: u32) {
        if self.newest == i {
            return;
        }
        self.unlink_recency(i);
        let newest = self.newest;
        {
            let e = &mut self.entries[i as usize];
            e.older = newest;
            e.newer = NONE;
        }
        if newest == NONE {
            self.oldest = i;
        } else {
            self.entries[newest as usize].newer = i;
        }
        self.newest = i;
    }

    /// Put `i` on the wheel for `tick` (the next tick when that has passed).
    fn schedule(&mut self, i: u32, tick: i64) {
        let wheel = &mut self.wheel;
        let (mut tick, mut delta) = (tick, tick.saturating_sub(wheel.now_tick));
        if delta <= 0 {
            tick = wheel.now_tick.saturating_add(1);
            delta = 1;
        }
        let mut level = 0;
        while level < LEVELS - 1 && delta >= wheel.spans[level + 1] {
            level += 1;
        }
        let slot =
            (level as i64 * SLOTS + tick.div_euclid(wheel.spans[level]).rem_euclid(SLOTS)) as u32;
        let head = wheel.heads[slot as usize];
        {
            let e = &mut self.entries[i as usize];
            e.tick = tick;
            e.slot = slot;
            e.prev = NONE;
            e.next = head;
        }
        if head != NONE {
            self.entries[head as usize].prev = i;
        }
        self.wheel.heads[slot as usize] = i;
        self.wheel.scheduled += 1;
        self.wheel.counts[level] += 1;
    }

    fn unschedule(&mut self, i: u32) {
        let (slot, prev, next) = {
            let e = &mut self.entries[i as usize];
            let found = (e.slot, e.prev, e.next);
            e.slot = NONE;
            found
        };
        if slot == NONE {
            return;
        }
        if prev == NONE {
            self.wheel.heads[slot as usize] = next;
        } else {
            self.entries[prev as usize].next = next;
        }
        if next != NONE {
            self.entries[next as usize].prev = prev;
        }
        self.wheel.scheduled -= 1;
        self.wheel.counts[(slot as i64 / SLOTS) as usize] -= 1;
    }

    /// Move the wheel to `now_ms` and drop the keys whose time has come.
    fn expire(&mut self, now_ms: i64) {
        let target = now_ms.div_euclid(self.wheel.tick_ms);
        let mut due = std::mem::take(&mut self.due);
        while self.wheel.now_tick < target && self.wheel.scheduled > 0 {
            self.skip_idle(target);
            self.wheel.now_tick += 1;
            let tick = self.wheel.now_tick;
            for level in (0..LEVELS).rev() {
                let span = self.wheel.spans[level];
                if tick % span != 0 {
                    continue;
                }
                let slot = level as i64 * SLOTS + tick.div_euclid(span).rem_euclid(SLOTS);
                let mut item = std::mem::replace(&mut self.wheel.heads[slot as usize], NONE);
                while item != NONE {
                    let (next, item_tick) = {
                        let e = &mut self.entries[item as usize];
                        e.slot = NONE;
                        (e.next, e.tick)
                    };
                    self.wheel.scheduled -= 1;
                    self.wheel.counts[level] -= 1;
                    if item_tick <= tick {
                        due.push(item);
                    } else {
                        self.schedule(item, item_tick); // cascade down, or another rotation
                    }
                    item = next;
                }
            }
        }
        self.wheel.now_tick = self.wheel.now_tick.max(target);
        for &i in &due {
            if self.entries[i as usize].expires <= now_ms {
                self.remove(i);
                self.expired += 1;
            }
        }
        due.clear();
        self.due = due;
        self.next_tick_ms = next_tick_ms(now_ms, self.wheel.tick_ms);
    }
}

impl Store {
    /// With the lower levels empty, nothing happens before the next boundary of the lowest
    /// level that holds items: jump to just before it (or to just before `target`). The
    /// Python wheel steps through every tick; the keys that expire are the same.
    fn skip_idle(&mut self, target: i64) {
        let wheel = &mut self.wheel;
        let Some(level) = wheel.counts.iter().position(|&n| n > 0) else {
            return;
        };
        if level == 0 {
            return;
        }
        let span = wheel.spans[level];
        let boundary = (wheel.now_tick.div_euclid(span) + 1).saturating_mul(span);
        wheel.now_tick = boundary.min(target) - 1;
    }
}

fn ceil_div(a: i64, b: i64) -> i64 {
    let floor = a.div_euclid(b);
    if a.rem_euclid(b) == 0 {
        floor
    } else {
        floor + 1
    }
}

fn next_tick_ms(now_ms: i64, tick_ms: i64) -> i64 {
    (now_ms.div_euclid(tick_ms) + 1).saturating_mul(tick_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(capacity: usize, ttl: i64) -> Store {
        Store::new(capacity, ttl, 1_000, 0).unwrap()
    }

    #[test]
    fn a_key_is_new_then_in_flight_then_replayed() {
        let mut s = store(10, 60_000);
        assert_eq!(s.begin("k", b"f", 0), (Status::New, None));
        assert_eq!(s.begin("k", b"f", 1), (Status::InFlight, None));
        s.complete("k", b"answer");
        assert_eq!(
            s.begin("k", b"f", 2),
            (Status::Replay, Some(&b"answer"[..]))
        );
        assert_eq!(s.begin("k", b"other", 3), (Status::Conflict, None));
        s.complete("k", b"second");
        assert_eq!(s.response("k"), Some(&b"answer"[..]));
    }

    #[test]
    fn the_least_recently_used_key_goes_first() {
        let mut s = store(2, 60_000);
        s.begin("a", b"", 0);
        s.begin("b", b"", 0);
        s.begin("a", b"", 0); // a is now the most recent
        s.begin("c", b"", 0);
        assert!(s.contains("a") && s.contains("c") && !s.contains("b"));
        assert_eq!((s.evicted, s.footprint()), (1, 4));
    }

    #[test]
    fn keys_expire_by_the_wheel_at_their_time() {
        let mut s = store(100, 1_500);
        s.begin("a", b"", 0);
        s.begin("b", b"", 1_000);
        assert_eq!(s.begin("x", b"", 1_999).0, Status::New);
        assert!(s.contains("a"));
        s.begin("y", b"", 2_000);
        assert!(!s.contains("a") && s.contains("b"));
        assert_eq!(s.expired, 1);
        // far ahead: through level 1 and back down
        s.begin("far", b"", 3_000);
        let later = 3_000 + 5_000_000;
        s.begin("z", b"", later);
        assert_eq!(s.len(), 1);
        assert_eq!(s.expired, 5);
    }

    #[test]
    fn a_jump_of_years_skips_the_idle_ticks() {
        let mut s = Store::new(10, 86_400_000, 1, 0).unwrap();
        s.begin("a", b"", 0);
        s.begin("b", b"", 1_700_000_000_000); // steps only where a slot is due
        assert_eq!((s.len(), s.expired), (1, 1));
    }

    #[test]
    fn a_long_time_to_live_cascades_from_the_upper_levels() {
        let mut s = Store::new(10, 3 * 4096 * 1_000 + 7, 1_000, 0).unwrap();
        s.begin("a", b"", 0);
        s.begin("tick", b"", 3 * 4096 * 1_000);
        assert!(s.contains("a"));
        s.begin("tick2", b"", 3 * 4096 * 1_000 + 1_000);
        assert!(!s.contains("a"));
        assert_eq!(s.expired, 1);
    }

    #[test]
    fn release_forgets_only_what_is_in_flight() {
        let mut s = store(10, 60_000);
        s.begin("a", b"", 0);
        s.release("a");
        assert!(!s.contains("a"));
        s.begin("b", b"", 0);
        s.complete("b", b"r");
        s.release("b");
        assert!(s.contains("b"));
        assert_eq!(s.footprint(), 2);
    }

    #[test]
    fn a_bad_shape_is_refused() {
        assert_eq!(Store::new(0, 1, 1, 0).unwrap_err(), BadShape);
        assert_eq!(Store::new(1, 0, 1, 0).unwrap_err(), BadShape);
        assert_eq!(Store::new(1, 1, 0, 0).unwrap_err(), BadShape);
    }
}
