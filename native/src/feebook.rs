//! Which commission each account pays on each symbol of a venue, as `bot4/venue/feebook.py`
//! decides it: VIP tiers by 30-day USD volume and BNB holdings, re-evaluated at the first
//! fill of each UTC day, the "pay fees with BNB" switch, pinned levels, and the charge of a
//! fill whose rates are not a plain maker/taker fraction (BNB payment, tax, special).
//!
//! The book lives in the venue's `Ledger`, shared by its engines as the Python `FeeBook` is.
//! The schedule arrives compiled by Python (`FeeSchedule`): the tiers' thresholds in units and
//! every (symbol, level) row of exact rates. Rates and prices are exact fractions; a day's USD
//! volume is summed in unbounded ones. Accounts are visited in name order wherever the order
//! could show, never in hash-map order.

use std::collections::VecDeque;

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{ToPrimitive, Zero};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use crate::fees::{self, FeeAsset, FeeError, Rates, Ratio};
use crate::ledger::{AccountId, AssetId, BalanceId, Ledger};

/// Milliseconds in a UTC day.
pub const DAY_MS: i64 = 86_400_000;
/// `next_roll` of a book without tiers: later than any time in ms.
pub const NEVER: i64 = 1 << 62;

/// A compiled VIP level: the 30-day volume in volume units and the BNB holding in BNB units
/// it needs (both reached when equal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tier {
    pub level: i64,
    pub min_volume: i128,
    pub min_bnb: Option<i128>,
}

/// A compiled fee schedule (`bot4.core.fees.FeeSchedule`).
#[derive(Debug, Clone)]
pub struct Schedule {
    /// Lowest first; the first has no thresholds.
    pub tiers: Vec<Tier>,
    /// "volume_or_bnb": either threshold qualifies (otherwise both must be reached).
    pub volume_or_bnb: bool,
    /// (symbol, or None for the defaults; level) -> the rates at 4 * bnb + 2 * maker + buyer.
    pub table: HashMap<(Option<String>, i64), [Rates; 8]>,
    pub bnb: AssetId,
    pub bnb_unit: Ratio,
    pub volume_unit: Ratio,
    /// The assets that count 1:1 as USD, in name order.
    pub usd: Vec<AssetId>,
    pub window_days: i64,
}

impl Schedule {
    /// The level of the highest tier that `volume` and `bnb` qualify for.
    pub fn tier_for(&self, volume: i128, bnb: i128) -> i64 {
        for tier in self.tiers.iter().rev() {
            let volume_ok = volume >= tier.min_volume;
            let ok = match tier.min_bnb {
                None => volume_ok,
                Some(min) if self.volume_or_bnb => volume_ok || bnb >= min,
                Some(min) => volume_ok && bnb >= min,
            };
            if ok {
                return tier.level;
            }
        }
        self.tiers.first().map_or(0, |t| t.level)
    }

    fn row(&self, level: i64, symbol: &str) -> Option<&[Rates; 8]> {
        self.table
            .get(&(Some(symbol.to_owned()), level))
            .or_else(|| self.table.get(&(None, level)))
    }
}

/// One account's commission on one symbol, read by the engine on every fill.
#[derive(Debug, Clone)]
pub struct FeeRef {
    pub account: AccountId,
    pub symbol: String,
    base: AssetId,
    quote: AssetId,
    base_unit: Ratio,
    quote_unit: Ratio,
    pub level: i64,
    /// Quote units traded on the symbol today (both roles).
    pub volume: i128,
    /// Pays the standard maker/taker rate only, never in BNB: charged inline.
    pub simple: bool,
    pub maker: (i128, i128),
    pub taker: (i128, i128),
    /// The full rates at 2 * maker + buyer.
    rates: [Rates; 4],
    pays_bnb: bool,
}

/// What an engine tells the book about its symbol (`attach` and `new_ref`).
#[derive(Debug, Clone)]
pub struct Symbol {
    pub name: String,
    pub base: AssetId,
    pub quote: AssetId,
    pub tick: Ratio,
    pub base_unit: Ratio,
    pub quote_unit: Ratio,
    pub maker: (i128, i128),
    pub taker: (i128, i128),
}

#[derive(Debug, Clone, Copy)]
struct Pair {
    tick: Ratio,
    /// The last trade price in ticks (the reference price before any trade).
    last: Option<i64>,
}

#[derive(Debug, Clone, Default)]
struct Window {
    /// (UTC day, units), days strictly increasing.
    days: VecDeque<(i64, i128)>,
    total: i128,
}

/// Per-account rolling traded USD volume by UTC day (`fees.VolumeTracker`): the window
/// ending at a time counts the `window_days` complete days before its day.
#[derive(Debug, Clone)]
pub struct VolumeTracker {
    window_days: i64,
    accounts: HashMap<AccountId, Window>,
}

impl VolumeTracker {
    pub fn new(window_days: i64) -> Self {
        Self {
            window_days: window_days.max(1),
            accounts: HashMap::default(),
        }
    }

    /// Add `units` to the day of `ts_ms`; a day older than the window of the newest is
    /// dropped. An amount past 128 bits is refused and changes nothing.
    pub fn record(&mut self, account: AccountId, ts_ms: i64, units: i128) -> Result<(), FeeError> {
        if units < 0 {
            return Err(FeeError::Invalid("volume must not be negative"));
        }
        if units == 0 {
            return Ok(());
        }
        let day = ts_ms.div_euclid(DAY_MS);
        let w = self.accounts.entry(account).or_default();
        let total = w
            .total
            .checked_add(units)
            .ok_or(crate::money::MoneyError::Overflow)?;
        let newest = w.days.back().map(|d| d.0);
        match newest {
            None => w.days.push_back((day, units)),
            Some(last) if day > last => w.days.push_back((day, units)),
            Some(last) if day == last => {
                if let Some(d) = w.days.back_mut() {
                    d.1 += units;
                }
            }
            Some(last) => {
                if day < last - self.window_days {
                    return Ok(());
                }
                match w.days.binary_search_by_key(&day, |d| d.0) {
                    Ok(i) => w.days[i].1 += units,
                    Err(i) => w.days.insert(i, (day, units)),
                }
            }
        }
        w.total = total;
        let horizon = w.days.back().map_or(day, |d| d.0) - self.window_days;
        while w.days.front().is_some_and(|d| d.0 < horizon) {
            if let Some((_, old)) = w.days.pop_front() {
                w.total -= old;
            }
        }
        Ok(())
    }

    /// The account's volume over the complete days of the window ending at `now_ms`.
    pub fn volume(&self, account: AccountId, now_ms: i64) -> i128 {
        let Some(w) = self.accounts.get(&account) else {
            return 0;
        };
        let hi = now_ms.div_euclid(DAY_MS) - 1;
        let lo = hi - self.window_days + 1;
        let (first, last) = match (w.days.front(), w.days.back()) {
            (Some(f), Some(l)) => (f.0, l.0),
            _ => return 0,
        };
        if first >= lo && last <= hi {
            return w.total;
        }
        w.days
            .iter()
            .filter(|d| lo <= d.0 && d.0 <= hi)
            .map(|d| d.1)
            .sum()
    }
}

/// Per-account fee state of one venue.
#[derive(Debug, Clone)]
pub struct FeeBook {
    pub schedule: Option<Schedule>,
    /// The UTC day the refs' `volume` belongs to (None before the first roll).
    pub day: Option<i64>,
    pub next_roll: i64,
    pub refs: Vec<FeeRef>,
    by_account: HashMap<AccountId, Vec<u32>>,
    levels: HashMap<AccountId, i64>,
    pinned: HashMap<AccountId, i64>,
    pay_bnb: HashSet<AccountId>,
    pairs: Vec<Pair>,
    pair_ids: HashMap<(AssetId, AssetId), u32>,
    prices: HashMap<(AssetId, AssetId), Ratio>,
    volumes: VolumeTracker,
}

impl Default for FeeBook {
    fn default() -> Self {
        Self {
            schedule: None,
            day: None,
            next_roll: NEVER,
            refs: Vec::new(),
            by_account: HashMap::default(),
            levels: HashMap::default(),
            pinned: HashMap::default(),
            pay_bnb: HashSet::default(),
            pairs: Vec::new(),
            pair_ids: HashMap::default(),
            prices: HashMap::default(),
            volumes: VolumeTracker::new(30),
        }
    }
}

/// The tier state, for the Python side's digest: (day, levels, pinned levels, accounts
/// paying with BNB, and each account's refs as (symbol, level, volume)), names sorted.
pub type FeeState = (
    Option<i64>,
    Vec<(String, i64)>,
    Vec<(String, i64)>,
    Vec<String>,
    Vec<AccountRefs>,
);

/// One account's refs as (symbol, level, volume), in the order they were made.
pub type AccountRefs = (String, Vec<(String, i64, i128)>);

impl FeeBook {
    /// Record a price of `base` in `quote` for a pair not traded here.
    pub fn set_price(&mut self, base: AssetId, quote: AssetId, price: Ratio) {
        self.prices.insert((base, quote), price);
    }

    /// The account's volume (in volume units) over the window ending at `now_ms`.
    pub fn volume(&self, account: AccountId, now_ms: i64) -> i128 {
        self.volumes.volume(account, now_ms)
    }

    /// The engine's last price changed (a trade at `price` ticks).
    #[inline]
    pub fn traded(&mut self, pair: u32, price: i64) {
        if let Some(p) = self.pairs.get_mut(pair as usize) {
            p.last = Some(price);
        }
    }

    fn source(&self, base: AssetId, quote: AssetId) -> Option<BigRational> {
        if let Some(&id) = self.pair_ids.get(&(base, quote)) {
            let pair = self.pairs[id as usize];
            if let Some(last) = pair.last {
                return Some(BigRational::from_integer(BigInt::from(last)) * fees::big(pair.tick));
            }
        }
        self.prices.get(&(base, quote)).map(|&p| fees::big(p))
    }

    /// Quote per one `base`: a traded pair's last price, a set price, or an inverse one.
    pub fn price(&self, base: AssetId, quote: AssetId) -> Option<BigRational> {
        if base == quote {
            return Some(BigRational::from_integer(BigInt::from(1)));
        }
        if let Some(value) = self.source(base, quote) {
            return Some(value);
        }
        self.source(quote, base)
            .filter(|v| !v.is_zero())
            .map(|v| v.recip())
    }

    fn usd(&self, r: &FeeRef, schedule: &Schedule) -> BigRational {
        if r.volume == 0 {
            return BigRational::zero();
        }
        let amount = BigRational::from_integer(BigInt::from(r.volume)) * fees::big(r.quote_unit);
        if schedule.usd.contains(&r.quote) {
            return amount;
        }
        for &usd in &schedule.usd {
            if let Some(price) = self.price(r.quote, usd) {
                return amount * price;
            }
        }
        BigRational::zero()
    }

    fn apply(&mut self, id: usize, level: i64) {
        let Some(schedule) = self.schedule.as_ref() else {
            return;
        };
        let r = &mut self.refs[id];
        let Some(row) = schedule.row(level, &r.symbol) else {
            return; // levels come from the schedule's own tiers
        };
        let off = if self.pay_bnb.contains(&r.account) {
            4
        } else {
            0
        };
        let rates = [row[off], row[off + 1], row[off + 2], row[off + 3]];
        let [taker_sell, taker_buy, maker_sell, maker_buy] = rates;
        r.level = level;
        r.rates = rates;
        r.pays_bnb = taker_sell.discount.is_some();
        r.simple = !r.pays_bnb
            && rates
                .iter()
                .all(|x| x.tax == Ratio::ZERO && x.special == Ratio::ZERO)
            && taker_sell.standard == taker_buy.standard
            && maker_sell.standard == maker_buy.standard;
        r.maker = (maker_sell.standard.numer(), maker_sell.standard.denom());
        r.taker = (taker_sell.standard.numer(), taker_sell.standard.denom());
    }

    /// The tier state for the digest (see `FeeState`).
    pub fn state(&self, ledger: &Ledger) -> FeeState {
        let name = |a: AccountId| ledger.account_name(a).to_owned();
        let named = |m: &HashMap<AccountId, i64>| {
            let mut v: Vec<(String, i64)> = m.iter().map(|(&a, &l)| (name(a), l)).collect();
            v.sort_unstable();
            v
        };
        let mut bnb: Vec<String> = self.pay_bnb.iter().map(|&a| name(a)).collect();
        bnb.sort_unstable();
        let mut refs: Vec<AccountRefs> = self
            .by_account
            .iter()
            .map(|(&a, ids)| {
                let rows = ids
                    .iter()
                    .map(|&i| {
                        let r = &self.refs[i as usize];
                        (r.symbol.clone(), r.level, r.volume)
                    })
                    .collect();
                (name(a), rows)
            })
            .collect();
        refs.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        (
            self.day,
            named(&self.levels),
            named(&self.pinned),
            bnb,
            refs,
        )
    }
}

impl Ledger {
    /// Install the venue's fee schedule (once, before any engine trades on the ledger).
    pub fn set_fee_schedule(&mut self, schedule: Schedule) -> Result<(), FeeError> {
        if self.feebook.schedule.is_some() {
            return Err(FeeError::Invalid("this ledger already has a fee schedule"));
        }
        self.feebook.volumes = VolumeTracker::new(schedule.window_days);
        self.feebook.schedule = Some(schedule);
        self.feebook.next_roll = 0;
        Ok(())
    }

    /// Register an engine's pair for price lookups; its last price starts at `last`.
    pub fn fee_attach(&mut self, symbol: &Symbol, last: Option<i64>) -> u32 {
        let book = &mut self.feebook;
        let id = book.pairs.len() as u32;
        book.pairs.push(Pair {
            tick: symbol.tick,
            last,
        });
        book.pair_ids.insert((symbol.base, symbol.quote), id);
        id
    }

    /// A new ref for `account` on `symbol`, kept up to date by the book.
    pub fn fee_ref(&mut self, account: AccountId, symbol: &Symbol) -> u32 {
        let book = &mut self.feebook;
        let id = book.refs.len();
        book.refs.push(FeeRef {
            account,
            symbol: symbol.name.clone(),
            base: symbol.base,
            quote: symbol.quote,
            base_unit: symbol.base_unit,
            quote_unit: symbol.quote_unit,
            level: 0,
            volume: 0,
            simple: true,
            maker: symbol.maker,
            taker: symbol.taker,
            rates: [fees::Rates::default(); 4],
            pays_bnb: false,
        });
        book.by_account.entry(account).or_default().push(id as u32);
        if self.feebook.schedule.is_some() {
            let level = self.stored_level(account);
            self.feebook.apply(id, level);
        }
        id as u32
    }

    fn stored_level(&mut self, account: AccountId) -> i64 {
        if let Some(&level) = self.feebook.levels.get(&account) {
            return level;
        }
        let level = self.level_for(account, None);
        self.feebook.levels.insert(account, level);
        level
    }

    fn level_for(&self, account: AccountId, now: Option<i64>) -> i64 {
        let book = &self.feebook;
        let Some(schedule) = book.schedule.as_ref() else {
            return 0;
        };
        if let Some(&pinned) = book.pinned.get(&account) {
            return pinned;
        }
        let now = now.unwrap_or_else(|| book.day.map_or(0, |d| d.saturating_mul(DAY_MS)));
        let bnb = self.balance_of(account, schedule.bnb);
        let volume = book.volumes.volume(account, now);
        schedule.tier_for(volume, bnb.free + bnb.locked)
    }

    fn refresh(&mut self, account: AccountId) {
        if self.feebook.schedule.is_none() {
            return;
        }
        let level = self.stored_level(account);
        let ids = self
            .feebook
            .by_account
            .get(&account)
            .cloned()
            .unwrap_or_default();
        for id in ids {
            self.feebook.apply(id as usize, level);
        }
    }

    /// The account's "pay fees with BNB" switch.
    pub fn set_pay_with_bnb(&mut self, account: AccountId, enabled: bool) {
        if enabled {
            self.feebook.pay_bnb.insert(account);
        } else {
            self.feebook.pay_bnb.remove(&account);
        }
        self.refresh(account);
    }

    pub fn pays_with_bnb(&self, account: AccountId) -> bool {
        self.feebook.pay_bnb.contains(&account)
    }

    /// Fix the account's VIP level (None: back to volume and BNB); the caller checks it is a
    /// level of the schedule.
    pub fn pin_level(&mut self, account: AccountId, level: Option<i64>) {
        match level {
            Some(level) => self.feebook.pinned.insert(account, level),
            None => self.feebook.pinned.remove(&account),
        };
        let level = self.level_for(account, None);
        self.feebook.levels.insert(account, level);
        self.refresh(account);
    }

    /// The account's current VIP level (0 without a schedule).
    pub fn fee_level(&self, account: AccountId) -> i64 {
        if self.feebook.schedule.is_none() {
            return 0;
        }
        match self.feebook.levels.get(&account) {
            Some(&level) => level,
            None => self.level_for(account, None),
        }
    }

    /// Add USD volume (in volume units) traded elsewhere; it counts from the next roll.
    pub fn record_volume(
        &mut self,
        account: AccountId,
        ts_ms: i64,
        units: i128,
    ) -> Result<(), FeeError> {
        self.feebook.volumes.record(account, ts_ms, units)
    }

    /// Close the finished UTC day's volume and re-tier every account (first fill of a day).
    pub fn fee_roll(&mut self, now: i64) {
        let day = now.div_euclid(DAY_MS);
        if self.feebook.day.is_some_and(|d| day <= d) {
            return;
        }
        let Some(schedule) = self.feebook.schedule.take() else {
            return;
        };
        if let Some(prev) = self.feebook.day {
            let start = prev.saturating_mul(DAY_MS);
            let unit = fees::big(schedule.volume_unit);
            let mut accounts: Vec<AccountId> = self.feebook.by_account.keys().copied().collect();
            accounts.sort_unstable();
            for account in accounts {
                let ids = self.feebook.by_account[&account].clone();
                let mut usd = BigRational::zero();
                for &id in &ids {
                    usd += self.feebook.usd(&self.feebook.refs[id as usize], &schedule);
                    self.feebook.refs[id as usize].volume = 0;
                }
                let units = (usd / &unit).to_integer().to_i128().unwrap_or(i128::MAX);
                // a day's volume past 128 bits cannot be counted; it would not change a tier
                let _ = self.feebook.volumes.record(account, start, units);
            }
        }
        self.feebook.schedule = Some(schedule);
        self.feebook.day = Some(day);
        self.feebook.next_roll = day.saturating_add(1).saturating_mul(DAY_MS);
        let mut accounts: Vec<AccountId> = (0..self.account_count() as AccountId)
            .filter(|&a| {
                self.is_known(a)
                    || self.feebook.by_account.contains_key(&a)
                    || self.feebook.pinned.contains_key(&a)
            })
            .collect();
        accounts.sort_unstable_by(|&a, &b| self.account_name(a).cmp(self.account_name(b)));
        for account in accounts {
            let level = self.level_for(account, Some(now));
            if self.feebook.levels.get(&account) != Some(&level) {
                self.feebook.levels.insert(account, level);
                self.refresh(account);
            }
        }
    }

    /// Credit one fill's received asset (base to a buyer, quote to a seller) to `received`
    /// and take the commission of a ref that is not `simple`: (units, asset).
    pub fn fee_charge(
        &mut self,
        id: u32,
        is_maker: bool,
        is_buyer: bool,
        base_units: i128,
        quote_units: i128,
        received: BalanceId,
    ) -> (i128, AssetId) {
        let r = &self.feebook.refs[id as usize];
        let (account, base, quote, pays_bnb) = (r.account, r.base, r.quote, r.pays_bnb);
        let (base_unit, quote_unit) = (r.base_unit, r.quote_unit);
        let rates = r.rates[2 * usize::from(is_maker) + usize::from(is_buyer)];
        self.get_mut(received).free += if is_buyer { base_units } else { quote_units };
        let mut bnb_price = None;
        let mut bnb_balance = 0;
        let mut bnb_id = None;
        if let (true, Some(schedule)) = (pays_bnb, self.feebook.schedule.as_ref()) {
            let (bnb, bnb_unit) = (schedule.bnb, schedule.bnb_unit);
            // on a BNB/quote pair the fill's own price converts, else the book's last price
            let price = if base == bnb {
                Some(
                    BigRational::new(BigInt::from(quote_units), BigInt::from(base_units))
                        * fees::big(quote_unit)
                        / fees::big(base_unit),
                )
            } else {
                self.feebook.price(bnb, quote)
            };
            if let Some(price) = price {
                bnb_price = Some(price * fees::big(bnb_unit) / fees::big(quote_unit));
                let id = self.balance_id(account, bnb);
                bnb_balance = self.get(id).free;
                bnb_id = Some((id, bnb));
            }
        }
        let charged = fees::trade_commission_exact(
            &rates,
            base_units,
            quote_units,
            bnb_price.as_ref(),
            bnb_balance,
        )
        .or_else(|_| fees::trade_commission_exact(&rates, base_units, quote_units, None, 0));
        // amounts are positive and bounded by what is received: no error is left
        let (asset, units) = charged.map_or((FeeAsset::Base, 0), |(a, c)| (a, c.units));
        let asset = match (asset, bnb_id) {
            (FeeAsset::Bnb, Some((bnb_balance_id, bnb))) => {
                self.get_mut(bnb_balance_id).free -= units;
                bnb
            }
            _ => {
                self.get_mut(received).free -= units;
                if is_buyer { base } else { quote }
            }
        };
        self.add_fee(asset, units);
        (units, asset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_counts_complete_days_only() {
        let mut v = VolumeTracker::new(30);
        v.record(1, 5 * DAY_MS + 10, 100).unwrap();
        v.record(1, 6 * DAY_MS, 50).unwrap();
        assert_eq!(v.volume(1, 6 * DAY_MS + 1), 100); // today does not count
        assert_eq!(v.volume(1, 7 * DAY_MS), 150);
        assert_eq!(v.volume(1, 36 * DAY_MS), 50); // day 5 left the window
        assert_eq!(v.volume(1, 37 * DAY_MS), 0);
        v.record(1, 2 * DAY_MS, 7).unwrap(); // a late day inside the window
        assert_eq!(v.volume(1, 7 * DAY_MS), 157);
        assert!(v.record(1, 0, -1).is_err());
        assert!(v.record(2, 0, i128::MAX).is_ok() && v.record(2, 0, 1).is_err());
    }

    #[test]
    fn tiers_need_both_thresholds_unless_either_is_enough() {
        let mut s = Schedule {
            tiers: vec![
                Tier {
                    level: 0,
                    min_volume: 0,
                    min_bnb: None,
                },
                Tier {
                    level: 1,
                    min_volume: 100,
                    min_bnb: Some(25),
                },
            ],
            volume_or_bnb: false,
            table: HashMap::default(),
            bnb: 0,
            bnb_unit: Ratio::integer(1).unwrap(),
            volume_unit: Ratio::integer(1).unwrap(),
            usd: vec![],
            window_days: 30,
        };
        assert_eq!(s.tier_for(100, 24), 0);
        assert_eq!(s.tier_for(100, 25), 1);
        s.volume_or_bnb = true;
        assert_eq!(s.tier_for(0, 25), 1);
        assert_eq!(s.tier_for(99, 0), 0);
    }
}
