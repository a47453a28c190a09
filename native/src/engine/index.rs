//! Lookups of orders by order id and by (account, client id), as tables of bare order refs
//! (8 bytes and a control byte an entry) that hash and compare through the order store: the
//! key lives once, in the order. A million resting orders cost two such entries each, not
//! two copies of their keys.
//!
//! An order's keys must not change while a table holds it (an amend takes the order out of
//! the client-id table before it renames it). The hash is FxHash, so nothing depends on the
//! process; the tables are never iterated where the order could show (the callers sort).

use std::hash::BuildHasher;

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

use super::{Order, Slab};
use crate::book::OrderRef;
use crate::ledger::AccountId;

fn id_hash(id: i64) -> u64 {
    FxBuildHasher.hash_one(id)
}

fn client_hash(account: AccountId, cid: &str) -> u64 {
    FxBuildHasher.hash_one((account, cid))
}

/// Orders by order id, one entry an id (an insert of a present id replaces its order, as
/// a map's would).
#[derive(Debug, Default)]
pub(super) struct IdIndex(HashTable<OrderRef>);

impl IdIndex {
    pub fn insert(&mut self, slab: &Slab, r: OrderRef) {
        let id = slab.get(r).order_id;
        let hasher = |&x: &OrderRef| id_hash(slab.get(x).order_id);
        match self
            .0
            .find_mut(id_hash(id), |&x| slab.get(x).order_id == id)
        {
            Some(slot) => *slot = r,
            None => {
                self.0.insert_unique(id_hash(id), r, hasher);
            }
        }
    }

    pub fn get(&self, slab: &Slab, id: i64) -> Option<OrderRef> {
        self.0
            .find(id_hash(id), |&x| slab.get(x).order_id == id)
            .copied()
    }

    pub fn contains(&self, slab: &Slab, id: i64) -> bool {
        self.get(slab, id).is_some()
    }

    pub fn remove(&mut self, slab: &Slab, id: i64) -> Option<OrderRef> {
        let found = self
            .0
            .find_entry(id_hash(id), |&x| slab.get(x).order_id == id);
        found.ok().map(|entry| entry.remove().0)
    }

    /// Every order held, in no particular order.
    pub fn refs(&self) -> impl Iterator<Item = OrderRef> + '_ {
        self.0.iter().copied()
    }
}

/// Orders by (account, client id), one entry a key (an insert of a present key replaces
/// its order, as a map's would).
#[derive(Debug, Default)]
pub(super) struct ClientIndex(HashTable<OrderRef>);

fn same(o: &Order, account: AccountId, cid: &str) -> bool {
    o.account == account && o.client_order_id == cid
}

impl ClientIndex {
    pub fn insert(&mut self, slab: &Slab, r: OrderRef) {
        let o = slab.get(r);
        let (account, cid) = (o.account, o.client_order_id.as_str());
        let hash = client_hash(account, cid);
        match self.0.find_mut(hash, |&x| same(slab.get(x), account, cid)) {
            Some(slot) => *slot = r,
            None => {
                let hasher = |&x: &OrderRef| {
                    let o = slab.get(x);
                    client_hash(o.account, &o.client_order_id)
                };
                self.0.insert_unique(hash, r, hasher);
            }
        }
    }

    pub fn get(&self, slab: &Slab, account: AccountId, cid: &str) -> Option<OrderRef> {
        self.0
            .find(client_hash(account, cid), |&x| {
                same(slab.get(x), account, cid)
            })
            .copied()
    }

    /// Forget the key's order, whichever it is.
    pub fn remove(&mut self, slab: &Slab, account: AccountId, cid: &str) {
        let found = self.0.find_entry(client_hash(account, cid), |&x| {
            same(slab.get(x), account, cid)
        });
        if let Ok(entry) = found {
            entry.remove();
        }
    }

    /// Forget the key of `r` if it still names `r` (not a newer order of the same key).
    pub fn remove_ref(&mut self, slab: &Slab, r: OrderRef) {
        let o = slab.get(r);
        let found = self
            .0
            .find_entry(client_hash(o.account, &o.client_order_id), |&x| x == r);
        if let Ok(entry) = found {
            entry.remove();
        }
    }
}
