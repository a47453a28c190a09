//! Account balances shared by the engines of one venue, as `bot4/core/accounts.py` keeps
//! them: free and locked amounts per account and asset in integer asset units, the fees the
//! venue collected, the accounts that may trade and their tradeGroupIds.
//!
//! Accounts and assets are interned to small ids so an order holds two balance ids and a
//! fill touches no map. Amounts are `i128`; deposits and withdrawals are checked, so an
//! amount beyond 128 bits is a typed error that changes nothing. Nothing here iterates a hash
//! map where the order could show: the digest sorts by name, as the Python ledger does.

use rustc_hash::FxHashMap as HashMap;

use sha2::{Digest, Sha256};

use crate::feebook::FeeBook;
use crate::money::{MoneyError, checked_add};

pub type AccountId = u32;
pub type AssetId = u32;
pub type BalanceId = u32;

/// One account's holding of one asset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Balance {
    pub free: i128,
    pub locked: i128,
}

/// Why a ledger operation was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerError {
    Negative,
    Overdraw {
        asset: String,
        units: i128,
        free: i128,
    },
    BadGroup,
    Overflow,
}

impl From<MoneyError> for LedgerError {
    fn from(_: MoneyError) -> Self {
        LedgerError::Overflow
    }
}

impl std::fmt::Display for LedgerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LedgerError::Negative => write!(f, "a deposit cannot be negative"),
            LedgerError::Overdraw { asset, units, free } => {
                write!(f, "cannot withdraw {units} of {asset}: free is {free}")
            }
            LedgerError::BadGroup => {
                write!(f, "a tradeGroupId is -1 (none) or a non-negative integer")
            }
            LedgerError::Overflow => write!(f, "amount out of the 128-bit range"),
        }
    }
}

impl std::error::Error for LedgerError {}

/// Balances of every account, shared by the engines of one venue.
#[derive(Debug, Default, Clone)]
pub struct Ledger {
    accounts: Vec<String>,
    account_ids: HashMap<String, AccountId>,
    known: Vec<bool>,
    groups: Vec<Option<i64>>,
    assets: Vec<String>,
    asset_ids: HashMap<String, AssetId>,
    balances: Vec<Balance>,
    balance_ids: HashMap<(AccountId, AssetId), BalanceId>,
    owners: Vec<(AccountId, AssetId)>,
    fees: Vec<Option<i128>>,
    /// The venue's exchange filters and each account's open counts over all its symbols.
    pub exchange: Option<ExchangeLimits>,
    /// Who pays which commission (`crate::feebook`).
    pub feebook: FeeBook,
}

/// What one account has open on the whole exchange.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct OpenCounts {
    pub orders: i64,
    pub algo: i64,
    pub lists: i64,
}

/// exchangeInfo's exchangeFilters (`bot4/venue/limits.py`): EXCHANGE_MAX_NUM_ORDERS,
/// EXCHANGE_MAX_NUM_ALGO_ORDERS and EXCHANGE_MAX_NUM_ORDER_LISTS per account.
#[derive(Debug, Default, Clone)]
pub struct ExchangeLimits {
    pub max_orders: Option<i64>,
    pub max_algo: Option<i64>,
    pub max_lists: Option<i64>,
    counts: HashMap<AccountId, OpenCounts>,
}

impl ExchangeLimits {
    pub fn new(max_orders: Option<i64>, max_algo: Option<i64>, max_lists: Option<i64>) -> Self {
        Self {
            max_orders,
            max_algo,
            max_lists,
            counts: HashMap::default(),
        }
    }

    /// Every account with something open, and its counts (in no particular order).
    pub fn accounts(&self) -> impl Iterator<Item = (AccountId, OpenCounts)> + '_ {
        self.counts.iter().map(|(&a, &c)| (a, c))
    }

    pub fn counts(&self, account: AccountId) -> OpenCounts {
        self.counts.get(&account).copied().unwrap_or_default()
    }

    /// The name of the first filter that `more` would break, if any.
    pub fn check(&self, account: AccountId, more: OpenCounts) -> Option<&'static str> {
        let now = self.counts(account);
        let over = |more: i64, have: i64, limit: Option<i64>| {
            more != 0 && limit.is_some_and(|l| have + more > l)
        };
        if over(more.orders, now.orders, self.max_orders) {
            return Some("EXCHANGE_MAX_NUM_ORDERS");
        }
        if over(more.algo, now.algo, self.max_algo) {
            return Some("EXCHANGE_MAX_NUM_ALGO_ORDERS");
        }
        if over(more.lists, now.lists, self.max_lists) {
            return Some("EXCHANGE_MAX_NUM_ORDER_LISTS");
        }
        None
    }

    /// Count what opened (positive) or ended (negative).
    pub fn add(&mut self, account: AccountId, change: OpenCounts) {
        let c = self.counts.entry(account).or_default();
        c.orders += change.orders;
        c.algo += change.algo;
        c.lists += change.lists;
        if *c == OpenCounts::default() {
            self.counts.remove(&account);
        }
    }
}

impl Ledger {
    pub fn new() -> Self {
        Self::default()
    }

    /// The id of an account name (interned on first use; it is not known until opened).
    pub fn account_id(&mut self, name: &str) -> AccountId {
        if let Some(&id) = self.account_ids.get(name) {
            return id;
        }
        let id = self.accounts.len() as AccountId;
        self.accounts.push(name.to_owned());
        self.account_ids.insert(name.to_owned(), id);
        self.known.push(false);
        self.groups.push(None);
        id
    }

    /// The id of an account name if it was ever seen.
    pub fn find_account(&self, name: &str) -> Option<AccountId> {
        self.account_ids.get(name).copied()
    }

    pub fn account_name(&self, id: AccountId) -> &str {
        &self.accounts[id as usize]
    }

    /// The id of an asset name (interned on first use).
    pub fn asset_id(&mut self, name: &str) -> AssetId {
        if let Some(&id) = self.asset_ids.get(name) {
            return id;
        }
        let id = self.assets.len() as AssetId;
        self.assets.push(name.to_owned());
        self.asset_ids.insert(name.to_owned(), id);
        self.fees.push(None);
        id
    }

    pub fn asset_name(&self, id: AssetId) -> &str {
        &self.assets[id as usize]
    }

    /// Make an account known (with nothing in it).
    pub fn open(&mut self, name: &str) -> AccountId {
        let id = self.account_id(name);
        self.known[id as usize] = true;
        id
    }

    pub fn knows(&self, name: &str) -> bool {
        self.find_account(name)
            .is_some_and(|id| self.known[id as usize])
    }

    pub fn is_known(&self, id: AccountId) -> bool {
        self.known[id as usize]
    }

    /// Put an account in a tradeGroupId (-1: none); a group self-trades as one account.
    pub fn set_trade_group(&mut self, name: &str, group: i64) -> Result<(), LedgerError> {
        if group < -1 {
            return Err(LedgerError::BadGroup);
        }
        let id = self.open(name);
        self.groups[id as usize] = (group >= 0).then_some(group);
        Ok(())
    }

    /// The account's tradeGroupId, if it has one.
    pub fn group(&self, id: AccountId) -> Option<i64> {
        self.groups[id as usize]
    }

    /// The id of the account's balance of an asset (created empty on first use).
    pub fn balance_id(&mut self, account: AccountId, asset: AssetId) -> BalanceId {
        if let Some(&id) = self.balance_ids.get(&(account, asset)) {
            return id;
        }
        let id = self.balances.len() as BalanceId;
        self.balances.push(Balance::default());
        self.owners.push((account, asset));
        self.balance_ids.insert((account, asset), id);
        id
    }

    pub fn get(&self, id: BalanceId) -> Balance {
        self.balances[id as usize]
    }

    pub fn get_mut(&mut self, id: BalanceId) -> &mut Balance {
        &mut self.balances[id as usize]
    }

    /// A balance by ids, without creating anything.
    pub fn balance_of(&self, account: AccountId, asset: AssetId) -> Balance {
        self.balance_ids
            .get(&(account, asset))
            .map_or_else(Balance::default, |&id| self.balances[id as usize])
    }

    /// How many account names were ever seen (ids run from 0 to this).
    pub fn account_count(&self) -> usize {
        self.accounts.len()
    }

    /// A balance by names, without creating anything.
    pub fn balance(&self, account: &str, asset: &str) -> Balance {
        let (Some(&acc), Some(&ass)) = (self.account_ids.get(account), self.asset_ids.get(asset))
        else {
            return Balance::default();
        };
        self.balance_ids
            .get(&(acc, ass))
            .map_or_else(Balance::default, |&id| self.balances[id as usize])
    }

    /// Credit `units` to the account's free balance, opening the account.
    pub fn deposit(&mut self, account: &str, asset: &str, units: i128) -> Result<(), LedgerError> {
        if units < 0 {
            return Err(LedgerError::Negative);
        }
        let acc = self.account_id(account);
        let ass = self.asset_id(asset);
        let id = self.balance_id(acc, ass);
        let free = checked_add(self.balances[id as usize].free, units)?;
        self.known[acc as usize] = true;
        self.balances[id as usize].free = free;
        Ok(())
    }

    /// Take `units` from the free balance; refuses to overdraw.
    pub fn withdraw(&mut self, account: &str, asset: &str, units: i128) -> Result<(), LedgerError> {
        let free = self.balance(account, asset).free;
        if units < 0 || units > free {
            return Err(LedgerError::Overdraw {
                asset: asset.to_owned(),
                units,
                free,
            });
        }
        let acc = self.account_id(account);
        let ass = self.asset_id(asset);
        let id = self.balance_id(acc, ass);
        self.balances[id as usize].free -= units;
        Ok(())
    }

    /// Count an account's opened (positive) or ended (negative) orders, algo orders and
    /// lists against the exchange filters, if the venue has any.
    pub fn count_open(&mut self, account: AccountId, orders: i64, algo: i64, lists: i64) {
        if let Some(ex) = self.exchange.as_mut() {
            ex.add(
                account,
                OpenCounts {
                    orders,
                    algo,
                    lists,
                },
            );
        }
    }

    /// The exchange filter that opening this much more would break, if any.
    pub fn exchange_refusal(
        &self,
        account: AccountId,
        orders: i64,
        algo: i64,
        lists: i64,
    ) -> Option<&'static str> {
        self.exchange.as_ref().and_then(|ex| {
            ex.check(
                account,
                OpenCounts {
                    orders,
                    algo,
                    lists,
                },
            )
        })
    }

    /// Add collected commission (the asset appears in the fee table even when 0).
    pub fn add_fee(&mut self, asset: AssetId, units: i128) {
        let slot = &mut self.fees[asset as usize];
        *slot = Some(slot.unwrap_or(0) + units);
    }

    /// The known accounts, sorted.
    pub fn accounts(&self) -> Vec<&str> {
        let mut out: Vec<&str> = (0..self.accounts.len())
            .filter(|&i| self.known[i])
            .map(|i| self.accounts[i].as_str())
            .collect();
        out.sort_unstable();
        out
    }

    /// Every non-empty balance, sorted by account then asset.
    pub fn items(&self) -> Vec<(&str, &str, Balance)> {
        let mut out: Vec<(&str, &str, Balance)> = self
            .owners
            .iter()
            .zip(&self.balances)
            .filter(|(_, b)| b.free != 0 || b.locked != 0)
            .map(|(&(acc, ass), &b)| (self.account_name(acc), self.asset_name(ass), b))
            .collect();
        out.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        out
    }

    /// Collected fees by asset name, sorted.
    pub fn fees(&self) -> Vec<(&str, i128)> {
        let mut out: Vec<(&str, i128)> = self
            .fees
            .iter()
            .enumerate()
            .filter_map(|(i, f)| f.map(|units| (self.assets[i].as_str(), units)))
            .collect();
        out.sort_unstable();
        out
    }

    /// Accounts with a tradeGroupId, sorted by account.
    pub fn trade_groups(&self) -> Vec<(&str, i64)> {
        let mut out: Vec<(&str, i64)> = self
            .groups
            .iter()
            .enumerate()
            .filter_map(|(i, g)| g.map(|group| (self.accounts[i].as_str(), group)))
            .collect();
        out.sort_unstable();
        out
    }

    /// Free + locked over all accounts, plus collected fees.
    pub fn total(&self, asset: &str) -> i128 {
        let Some(&ass) = self.asset_ids.get(asset) else {
            return 0;
        };
        let held: i128 = self
            .owners
            .iter()
            .zip(&self.balances)
            .filter(|((_, a), _)| *a == ass)
            .map(|(_, b)| b.free + b.locked)
            .sum();
        held + self.fees[ass as usize].unwrap_or(0)
    }

    /// The same SHA-256 as `Ledger.digest` in Python: balances, fees, trade groups.
    pub fn digest(&self) -> String {
        let mut h = Sha256::new();
        for (account, asset, b) in self.items() {
            h.update(format!("{account}|{asset}|{}|{}\n", b.free, b.locked));
        }
        for (asset, units) in self.fees() {
            h.update(format!("fee|{asset}|{units}\n"));
        }
        for (account, group) in self.trade_groups() {
            h.update(format!("group|{account}|{group}\n"));
        }
        hex(&h.finalize())
    }
}

/// Lower-case hex, as Python's `hexdigest`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deposits_withdrawals_and_the_digest_of_nothing() {
        let mut ledger = Ledger::new();
        assert_eq!(
            ledger.digest(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        ledger.deposit("b", "USDT", 5).unwrap();
        ledger.deposit("a", "USDT", 7).unwrap();
        assert!(ledger.knows("a") && !ledger.knows("c"));
        assert_eq!(
            ledger.withdraw("a", "USDT", 8),
            Err(LedgerError::Overdraw {
                asset: "USDT".into(),
                units: 8,
                free: 7
            })
        );
        ledger.withdraw("a", "USDT", 7).unwrap();
        assert_eq!(
            ledger.items(),
            vec![("b", "USDT", Balance { free: 5, locked: 0 })]
        );
        assert_eq!(ledger.total("USDT"), 5);
        assert_eq!(ledger.deposit("a", "USDT", -1), Err(LedgerError::Negative));
    }

    #[test]
    fn an_overflowing_deposit_changes_nothing() {
        let mut ledger = Ledger::new();
        ledger.deposit("a", "X", i128::MAX).unwrap();
        assert_eq!(ledger.deposit("a", "X", 1), Err(LedgerError::Overflow));
        assert_eq!(ledger.balance("a", "X").free, i128::MAX);
    }

    #[test]
    fn groups_sort_by_account_and_can_be_left() {
        let mut ledger = Ledger::new();
        ledger.set_trade_group("z", 1).unwrap();
        ledger.set_trade_group("y", 2).unwrap();
        ledger.set_trade_group("z", -1).unwrap();
        assert_eq!(ledger.trade_groups(), vec![("y", 2)]);
        assert_eq!(ledger.set_trade_group("y", -2), Err(LedgerError::BadGroup));
    }
}
