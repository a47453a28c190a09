//! The limit order book of one symbol: price levels in price-time priority, as
//! `bot4/venue/book.py` defines it.
//!
//! A side maps a price (ticks) to a `Level` of order references in arrival order; the map is
//! ordered, so the best bid is its last key and the best ask its first. A cancelled order is
//! unlinked lazily: its level's quantity and count drop at once and the reference is skipped
//! when matching reaches it (the caller says which references are live), so a cancel costs
//! O(log levels) plus a rare compaction.

use std::collections::{BTreeMap, VecDeque};

use crate::money::{MoneyError, checked_add};

/// An order's place in the engine's order store: its slot and the slot's generation.
pub type OrderRef = u64;

/// Orders resting at one price. `qty` and `count` cover the live orders only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Level {
    pub price: i64,
    pub orders: VecDeque<OrderRef>,
    pub qty: i64,
    pub count: u32,
}

/// One side of the book.
#[derive(Debug, Clone)]
pub struct BookSide {
    is_bid: bool,
    levels: BTreeMap<i64, Level>,
}

impl BookSide {
    pub fn new(is_bid: bool) -> Self {
        Self {
            is_bid,
            levels: BTreeMap::new(),
        }
    }

    /// The best price: the highest bid or the lowest ask.
    pub fn best(&self) -> Option<i64> {
        if self.is_bid {
            self.levels.keys().next_back().copied()
        } else {
            self.levels.keys().next().copied()
        }
    }

    /// Append a resting order with `leaves` lots at the back of its price level. On an
    /// overflow of the level's quantity nothing changes.
    pub fn add(&mut self, order: OrderRef, price: i64, leaves: i64) -> Result<(), MoneyError> {
        let qty = match self.levels.get(&price) {
            Some(level) => checked_add(level.qty, leaves)?,
            None => leaves,
        };
        let level = self.levels.entry(price).or_insert_with(|| Level {
            price,
            orders: VecDeque::new(),
            qty: 0,
            count: 0,
        });
        level.orders.push_back(order);
        level.qty = qty;
        level.count += 1;
        Ok(())
    }

    /// Take a live order's remaining `leaves` off its level at `price`; the order is already
    /// dead for `live`, which the compaction uses.
    pub fn unlink(&mut self, price: i64, leaves: i64, live: impl Fn(OrderRef) -> bool) {
        let Some(level) = self.levels.get_mut(&price) else {
            return;
        };
        level.qty -= leaves;
        level.count -= 1;
        if level.count == 0 {
            self.levels.remove(&price);
        } else if level.orders.len() > 2 * level.count as usize + 16 {
            level.orders.retain(|&o| live(o));
        }
    }

    /// The level at `price`, for matching.
    pub fn level_mut(&mut self, price: i64) -> Option<&mut Level> {
        self.levels.get_mut(&price)
    }

    /// Remove an emptied level.
    pub fn drop_level(&mut self, price: i64) {
        self.levels.remove(&price);
    }

    /// The prices best first.
    pub fn prices(&self) -> Box<dyn Iterator<Item = i64> + '_> {
        if self.is_bid {
            Box::new(self.levels.keys().rev().copied())
        } else {
            Box::new(self.levels.keys().copied())
        }
    }

    /// The levels best first.
    pub fn levels(&self) -> Box<dyn Iterator<Item = &Level> + '_> {
        if self.is_bid {
            Box::new(self.levels.values().rev())
        } else {
            Box::new(self.levels.values())
        }
    }

    /// Up to `limit` (price, quantity) pairs, best first.
    pub fn depth(&self, limit: usize) -> Vec<(i64, i64)> {
        self.prices()
            .take(limit)
            .map(|p| (p, self.levels[&p].qty))
            .collect()
    }

    /// Every live order on this side, best price first, then time priority.
    pub fn orders(&self, live: impl Fn(OrderRef) -> bool) -> Vec<OrderRef> {
        self.prices()
            .flat_map(|p| self.levels[&p].orders.iter().copied())
            .filter(|&o| live(o))
            .collect()
    }

    /// How many price levels the side holds.
    pub fn len(&self) -> usize {
        self.levels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.levels.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn best_is_the_highest_bid_and_the_lowest_ask() {
        let (mut bids, mut asks) = (BookSide::new(true), BookSide::new(false));
        for (i, p) in [100, 102, 101].into_iter().enumerate() {
            bids.add(i as OrderRef, p, 1).unwrap();
            asks.add(i as OrderRef, p + 10, 1).unwrap();
        }
        assert_eq!((bids.best(), asks.best()), (Some(102), Some(110)));
        assert_eq!(bids.depth(2), vec![(102, 1), (101, 1)]);
        assert_eq!(asks.depth(5), vec![(110, 1), (111, 1), (112, 1)]);
        assert_eq!(BookSide::new(true).best(), None);
    }

    #[test]
    fn a_level_overflow_changes_nothing() {
        let mut side = BookSide::new(false);
        side.add(0, 5, i64::MAX).unwrap();
        assert_eq!(side.add(1, 5, 1), Err(MoneyError::Overflow));
        assert_eq!(side.depth(1), vec![(5, i64::MAX)]);
        assert_eq!(side.level_mut(5).unwrap().orders.len(), 1);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Add(i64, i64),
        Cancel(usize),
    }

    fn ops() -> impl Strategy<Value = Vec<Op>> {
        let op = prop_oneof![
            (1i64..8, 1i64..100).prop_map(|(p, q)| Op::Add(p, q)),
            (0usize..1_000).prop_map(Op::Cancel),
        ];
        proptest::collection::vec(op, 0..400)
    }

    proptest! {
        /// Against a model that keeps every live order in a list: the same depth, the same
        /// orders in price-time priority, and a level's queue never grows past its bound.
        #[test]
        fn matches_a_list_of_live_orders(is_bid in any::<bool>(), ops in ops()) {
            let mut side = BookSide::new(is_bid);
            let mut leaves: Vec<i64> = Vec::new();
            let mut prices: Vec<i64> = Vec::new();
            for op in ops {
                match op {
                    Op::Add(price, qty) => {
                        side.add(leaves.len() as OrderRef, price, qty).unwrap();
                        leaves.push(qty);
                        prices.push(price);
                    }
                    Op::Cancel(pick) => {
                        let live: Vec<usize> = (0..leaves.len()).filter(|&i| leaves[i] > 0).collect();
                        if live.is_empty() {
                            continue;
                        }
                        let i = live[pick % live.len()];
                        let left = leaves[i];
                        leaves[i] = 0;
                        side.unlink(prices[i], left, |o| leaves[o as usize] > 0);
                    }
                }
                let mut model: Vec<usize> = (0..leaves.len()).filter(|&i| leaves[i] > 0).collect();
                model.sort_by_key(|&i| (if is_bid { -prices[i] } else { prices[i] }, i));
                let got: Vec<usize> = side.orders(|o| leaves[o as usize] > 0).iter().map(|&o| o as usize).collect();
                prop_assert_eq!(&got, &model);
                let mut depth: Vec<(i64, i64)> = Vec::new();
                for &i in &model {
                    match depth.last_mut() {
                        Some(last) if last.0 == prices[i] => last.1 += leaves[i],
                        _ => depth.push((prices[i], leaves[i])),
                    }
                }
                prop_assert_eq!(side.depth(usize::MAX), depth);
                for price in 1..8 {
                    if let Some(level) = side.level_mut(price) {
                        prop_assert!(level.orders.len() <= 2 * level.count as usize + 17);
                    }
                }
            }
        }
    }
}
