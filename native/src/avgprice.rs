//! The symbol's reference price: the volume-weighted average of the trades in the last
//! avgPriceMins, as `bot4/venue/avgprice.py` defines it (the executable specification).
//!
//! It is kept as an exact ratio (tick-lots over lots) so that filter checks compare integers.
//! With no trade inside the window the last trade price stands in; with avgPriceMins 0 the
//! last trade price is the reference; before any trade (and without a seed) there is none.
//! Only `record` changes the state: `reference` moves a read cursor (a cache) and nothing else,
//! so a refused request, which asks but trades nothing, leaves the state as it was.

use crate::money::{MoneyError, checked_add, checked_mul};

const COMPACT_AT: usize = 4096;

/// Rolling VWAP over a time window, in ticks, as an exact (numerator, denominator) pair.
#[derive(Debug, Clone)]
pub struct AveragePrice {
    window_ms: i64,
    last: Option<i64>,
    // trades as parallel vectors of time and running totals; [head..] are inside the window
    times: Vec<i64>,
    cum_notional: Vec<i128>,
    cum_lots: Vec<i128>,
    base_notional: i128, // running totals before index 0 (after compaction)
    base_lots: i128,
    head: usize,
    cursor: usize,
}

impl AveragePrice {
    /// A window of `window_minutes`, seeded with `seed_price` (ticks) before any trade.
    pub fn new(window_minutes: i64, seed_price: Option<i64>) -> Result<Self, MoneyError> {
        Ok(Self {
            window_ms: checked_mul(window_minutes, 60_000)?,
            last: seed_price,
            times: Vec::new(),
            cum_notional: Vec::new(),
            cum_lots: Vec::new(),
            base_notional: 0,
            base_lots: 0,
            head: 0,
            cursor: 0,
        })
    }

    /// The window in milliseconds.
    pub fn window_ms(&self) -> i64 {
        self.window_ms
    }

    /// Add one trade (time in ms, price in ticks, quantity in lots). On an overflow nothing
    /// changes.
    pub fn record(&mut self, time: i64, price: i64, lots: i64) -> Result<(), MoneyError> {
        if self.window_ms == 0 {
            self.last = Some(price);
            return Ok(());
        }
        let notional = self
            .cum_notional
            .last()
            .copied()
            .unwrap_or(self.base_notional);
        let total_lots = self.cum_lots.last().copied().unwrap_or(self.base_lots);
        let notional = checked_add(notional, i128::from(price) * i128::from(lots))?;
        let total_lots = checked_add(total_lots, i128::from(lots))?;
        let horizon = time
            .checked_sub(self.window_ms)
            .ok_or(MoneyError::Overflow)?;
        self.last = Some(price);
        self.times.push(time);
        self.cum_notional.push(notional);
        self.cum_lots.push(total_lots);
        let mut head = self.head;
        while self.times[head] <= horizon {
            head += 1;
        }
        self.head = head;
        if self.cursor < head {
            self.cursor = head;
        }
        if head >= COMPACT_AT && head * 2 >= self.times.len() {
            self.compact();
        }
        Ok(())
    }

    /// The last trade price in ticks (or the seed before any trade).
    pub fn last(&self) -> Option<i64> {
        self.last
    }

    /// (tick-lots, lots) whose ratio is the reference price in ticks at `now`, or None.
    pub fn reference(&mut self, now: i64) -> Option<(i128, i128)> {
        let end = self.times.len();
        if end > self.head {
            let horizon = now.saturating_sub(self.window_ms);
            let (mut cursor, head) = (self.cursor, self.head);
            while cursor < end && self.times[cursor] <= horizon {
                cursor += 1;
            }
            while cursor > head && self.times[cursor - 1] > horizon {
                cursor -= 1;
            }
            self.cursor = cursor;
            if cursor < end {
                let (before_n, before_l) = self.before(cursor);
                return Some((
                    self.cum_notional[end - 1] - before_n,
                    self.cum_lots[end - 1] - before_l,
                ));
            }
        }
        self.last.map(|last| (i128::from(last), 1))
    }

    /// The last price and the trades inside the window (time, tick-lots, lots): everything
    /// the reference depends on.
    pub fn state(&self) -> (Option<i64>, Vec<(i64, i128, i128)>) {
        let trades = (self.head..self.times.len())
            .map(|i| {
                let (before_n, before_l) = self.before(i);
                (
                    self.times[i],
                    self.cum_notional[i] - before_n,
                    self.cum_lots[i] - before_l,
                )
            })
            .collect();
        (self.last, trades)
    }

    fn before(&self, i: usize) -> (i128, i128) {
        if i > 0 {
            (self.cum_notional[i - 1], self.cum_lots[i - 1])
        } else {
            (self.base_notional, self.base_lots)
        }
    }

    /// Drop the trades that have left the window from the front of the vectors.
    fn compact(&mut self) {
        let head = self.head;
        self.base_notional = self.cum_notional[head - 1];
        self.base_lots = self.cum_lots[head - 1];
        self.times.drain(..head);
        self.cum_notional.drain(..head);
        self.cum_lots.drain(..head);
        self.cursor -= head;
        self.head = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn no_trade_no_reference_unless_seeded() {
        let mut avg = AveragePrice::new(5, None).unwrap();
        assert_eq!(avg.reference(0), None);
        let mut seeded = AveragePrice::new(5, Some(100)).unwrap();
        assert_eq!(seeded.reference(0), Some((100, 1)));
    }

    #[test]
    fn vwap_over_the_window_then_the_last_price() {
        let mut avg = AveragePrice::new(1, None).unwrap();
        avg.record(0, 100, 1).unwrap();
        avg.record(1_000, 200, 3).unwrap();
        assert_eq!(avg.reference(1_000), Some((700, 4)));
        assert_eq!(avg.reference(60_000), Some((600, 3))); // the first trade left at 60 s
        assert_eq!(avg.reference(61_000), Some((200, 1))); // none left: the last price
        assert_eq!(avg.reference(1_000), Some((700, 4))); // asking moved only a cache
    }

    #[test]
    fn zero_minutes_means_the_last_price() {
        let mut avg = AveragePrice::new(0, Some(5)).unwrap();
        avg.record(10, 7, 2).unwrap();
        assert_eq!(avg.reference(10), Some((7, 1)));
        assert_eq!(avg.state(), (Some(7), vec![]));
    }

    #[test]
    fn an_overflowing_trade_changes_nothing() {
        let mut avg = AveragePrice::new(1, None).unwrap();
        avg.record(0, 10, 1).unwrap();
        let before = avg.state();
        assert_eq!(avg.record(i64::MIN, 1, 1), Err(MoneyError::Overflow));
        assert_eq!(avg.state(), before);
        assert_eq!(
            AveragePrice::new(i64::MAX, None).err(),
            Some(MoneyError::Overflow)
        );
    }

    /// The brute force: the trades with time > now - window, else the last price.
    fn brute(trades: &[(i64, i64, i64)], window_ms: i64, now: i64) -> Option<(i128, i128)> {
        let inside: Vec<_> = trades.iter().filter(|t| t.0 > now - window_ms).collect();
        if inside.is_empty() {
            return trades.last().map(|t| (i128::from(t.1), 1));
        }
        let n = inside
            .iter()
            .map(|t| i128::from(t.1) * i128::from(t.2))
            .sum();
        let l = inside.iter().map(|t| i128::from(t.2)).sum();
        Some((n, l))
    }

    proptest! {
        #[test]
        fn matches_the_brute_force(
            steps in proptest::collection::vec((0i64..3_000, 1i64..1_000, 1i64..50, 0i64..200_000), 1..300),
        ) {
            // times only move forward between trades; queries may look back at any earlier time
            let mut avg = AveragePrice::new(1, None).unwrap();
            let mut trades = Vec::new();
            let mut time = 0i64;
            for (gap, price, lots, back) in steps {
                time += gap;
                avg.record(time, price, lots).unwrap();
                trades.push((time, price, lots));
                // the window is relative to the newest trade for the state, to `now` for queries
                let now = time + (back % 90_000);
                if now >= time {
                    prop_assert_eq!(avg.reference(now), brute(&trades, 60_000, now));
                }
            }
        }
    }
}
