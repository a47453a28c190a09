//! Untriggered stop-loss and take-profit orders of one symbol, waiting for their trigger, as
//! `bot4/venue/stops.py` defines it.
//!
//! Triggers follow the last trade price: STOP_LOSS BUY and TAKE_PROFIT SELL fire when a trade
//! prints at or above the stop price ("rise"), STOP_LOSS SELL and TAKE_PROFIT BUY at or below
//! it. A trailing order (trailingDelta, in basis points) tracks the lowest trade (BUY) or the
//! highest (SELL) once active, and fires when a trade moves trailingDelta away from it; with a
//! stop price it becomes active only when that price is reached, without one it starts from
//! the last price when placed. Every map here is ordered, so nothing depends on hashing.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

/// Whether `last` already meets the stop price (the venue then refuses the order).
pub fn would_trigger(rise: bool, stop_price: i64, last: i64) -> bool {
    if rise {
        last >= stop_price
    } else {
        last <= stop_price
    }
}

/// A waiting stop order: what its trigger depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stop {
    /// Fires on a rise to the stop price (STOP_LOSS BUY, TAKE_PROFIT SELL), else on a fall.
    pub rise: bool,
    pub buy: bool,
    pub stop_price: i64,
    pub trailing_delta: i64,
    /// A trailing order's low (BUY) or high (SELL) once active.
    pub trail_ref: Option<i64>,
    /// When a trailing order became active (ms), -1 before.
    pub trailing_time: i64,
}

/// Waiting stop orders by trigger price, plus the trailing ones, in arrival order.
#[derive(Debug, Clone, Default)]
pub struct StopBook {
    orders: BTreeMap<u64, Stop>,
    up: BTreeSet<(i64, u64)>, // fire when price >= stop, lowest stop first
    down: BTreeSet<(Reverse<i64>, u64)>, // fire when price <= stop, highest stop first
    trailing: Vec<u64>,
}

impl StopBook {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.orders.len()
    }

    pub fn is_empty(&self) -> bool {
        self.orders.is_empty()
    }

    pub fn get(&self, order_id: u64) -> Option<&Stop> {
        self.orders.get(&order_id)
    }

    /// Park an order until its trigger; `last_price` starts a trailing order without a stop
    /// price. An order id already waiting is replaced.
    pub fn add(&mut self, order_id: u64, mut stop: Stop, last_price: Option<i64>) {
        self.remove(order_id);
        if stop.trailing_delta != 0 {
            stop.trail_ref = if stop.stop_price != 0 {
                None
            } else {
                last_price
            };
            self.trailing.push(order_id);
        } else if stop.rise {
            self.up.insert((stop.stop_price, order_id));
        } else {
            self.down.insert((Reverse(stop.stop_price), order_id));
        }
        self.orders.insert(order_id, stop);
    }

    /// Take a waiting order out (cancelled, or triggered); what it was, if it was waiting.
    pub fn remove(&mut self, order_id: u64) -> Option<Stop> {
        let stop = self.orders.remove(&order_id)?;
        if stop.trailing_delta != 0 {
            self.trailing.retain(|&id| id != order_id);
        } else if stop.rise {
            self.up.remove(&(stop.stop_price, order_id));
        } else {
            self.down.remove(&(Reverse(stop.stop_price), order_id));
        }
        Some(stop)
    }

    /// The orders a trade at `price` triggers, in trigger order (rises, falls, then the
    /// trailing ones in arrival order); they leave the book.
    pub fn fire(&mut self, price: i64, now: i64) -> Vec<(u64, Stop)> {
        let mut fired = Vec::new();
        while let Some(&(stop, id)) = self.up.first() {
            if stop > price {
                break;
            }
            self.up.pop_first();
            fired.extend(self.orders.remove(&id).map(|s| (id, s)));
        }
        while let Some(&(Reverse(stop), id)) = self.down.first() {
            if stop < price {
                break;
            }
            self.down.pop_first();
            fired.extend(self.orders.remove(&id).map(|s| (id, s)));
        }
        if !self.trailing.is_empty() {
            let mut kept = Vec::with_capacity(self.trailing.len());
            for id in std::mem::take(&mut self.trailing) {
                let fires = self
                    .orders
                    .get_mut(&id)
                    .is_some_and(|s| trail(s, price, now));
                if fires {
                    fired.extend(self.orders.remove(&id).map(|s| (id, s)));
                } else {
                    kept.push(id);
                }
            }
            self.trailing = kept;
        }
        fired
    }
}

/// Move a trailing order's extreme with `price`; whether it fires. Exact in i128.
fn trail(stop: &mut Stop, price: i64, now: i64) -> bool {
    let Some(reference) = stop.trail_ref else {
        if stop.stop_price != 0 && !would_trigger(stop.rise, stop.stop_price, price) {
            return false;
        }
        stop.trail_ref = Some(price);
        stop.trailing_time = now;
        return false;
    };
    let (price128, ref128, delta) = (
        i128::from(price),
        i128::from(reference),
        i128::from(stop.trailing_delta),
    );
    if stop.buy {
        // track the low, fire on a rise
        if price < reference {
            stop.trail_ref = Some(price);
            return false;
        }
        return price128 * 10_000 >= ref128 * (10_000 + delta);
    }
    if price > reference {
        // SELL: track the high, fire on a fall
        stop.trail_ref = Some(price);
        return false;
    }
    price128 * 10_000 <= ref128 * (10_000 - delta)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(rise: bool, buy: bool, stop_price: i64) -> Stop {
        Stop {
            rise,
            buy,
            stop_price,
            trailing_delta: 0,
            trail_ref: None,
            trailing_time: -1,
        }
    }

    fn ids(fired: &[(u64, Stop)]) -> Vec<u64> {
        fired.iter().map(|(id, _)| *id).collect()
    }

    #[test]
    fn rises_fire_lowest_stop_first_and_falls_highest_first() {
        let mut book = StopBook::new();
        book.add(1, plain(true, true, 105), None);
        book.add(2, plain(true, true, 103), None);
        book.add(3, plain(false, false, 97), None);
        book.add(4, plain(false, false, 99), None);
        assert_eq!(ids(&book.fire(100, 0)), Vec::<u64>::new());
        assert_eq!(ids(&book.fire(105, 1)), vec![2, 1]);
        assert_eq!(ids(&book.fire(90, 2)), vec![4, 3]);
        assert!(book.is_empty());
    }

    #[test]
    fn equal_stops_fire_in_arrival_order_and_removed_ones_never() {
        let mut book = StopBook::new();
        for id in [7, 3, 5] {
            book.add(id, plain(true, true, 100), None);
        }
        assert_eq!(book.remove(3).map(|s| s.stop_price), Some(100));
        assert_eq!(book.remove(3), None);
        // ties break by order id, which the engine hands out in arrival order
        assert_eq!(ids(&book.fire(100, 0)), vec![5, 7]);
    }

    #[test]
    fn a_trailing_buy_tracks_the_low_and_fires_on_the_delta() {
        let mut book = StopBook::new();
        let stop = Stop {
            trailing_delta: 100,
            ..plain(true, true, 0)
        }; // 1 %
        book.add(1, stop, Some(1_000));
        assert_eq!(book.get(1).and_then(|s| s.trail_ref), Some(1_000));
        assert!(book.fire(950, 5).is_empty()); // a new low
        assert_eq!(book.get(1).and_then(|s| s.trail_ref), Some(950));
        assert!(book.fire(959, 6).is_empty()); // +0.95 %
        assert_eq!(ids(&book.fire(960, 7)), vec![1]); // +1.05 % >= 1 %
    }

    #[test]
    fn a_trailing_sell_with_a_stop_price_waits_for_it() {
        let mut book = StopBook::new();
        // TAKE_PROFIT SELL: active once the price rises to 1 100, then trails the high
        let stop = Stop {
            trailing_delta: 500,
            ..plain(true, false, 1_100)
        };
        book.add(1, stop, Some(1_000));
        assert!(book.fire(1_050, 1).is_empty());
        assert_eq!(
            book.get(1).map(|s| (s.trail_ref, s.trailing_time)),
            Some((None, -1))
        );
        assert!(book.fire(1_100, 2).is_empty());
        assert_eq!(
            book.get(1).map(|s| (s.trail_ref, s.trailing_time)),
            Some((Some(1_100), 2))
        );
        assert!(book.fire(1_200, 3).is_empty());
        assert!(book.fire(1_141, 4).is_empty()); // -4.9 % from the high
        assert_eq!(ids(&book.fire(1_140, 5)), vec![1]); // -5 %
    }

    #[test]
    fn extreme_prices_and_deltas_never_overflow() {
        let mut book = StopBook::new();
        let stop = Stop {
            trailing_delta: i64::MAX,
            ..plain(true, true, 0)
        };
        book.add(1, stop, Some(i64::MAX));
        assert!(book.fire(i64::MIN, 0).is_empty()); // the new low
        assert_eq!(ids(&book.fire(i64::MAX, 1)), vec![1]); // any delta from i64::MIN up
        book.add(2, plain(false, false, i64::MIN), None);
        assert_eq!(ids(&book.fire(i64::MIN, 2)), vec![2]);
    }
}
