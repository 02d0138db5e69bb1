//! In-memory store: for tests and single-process services that keep nothing.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use postd_core::{Error, Result};

use super::{ListFilter, StoreLock, TokenStore, Write};
use crate::record::AccountRecord;

type Key = (String, String);

#[derive(Debug, Default)]
struct Inner {
    records: BTreeMap<Key, AccountRecord>,
    locks: BTreeMap<String, (u64, Instant)>,
    next_holder: u64,
}

/// Keeps records in memory.
#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    inner: Arc<Mutex<Inner>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore::default()
    }

    fn inner(&self) -> Result<std::sync::MutexGuard<'_, Inner>> {
        self.inner
            .lock()
            .map_err(|_| Error::unexpected("memory store lock poisoned"))
    }
}

#[async_trait]
impl TokenStore for MemoryStore {
    async fn migrate(&self) -> Result<()> {
        Ok(())
    }

    async fn insert(&self, record: &AccountRecord) -> Result<Write> {
        let mut inner = self.inner()?;
        let key = (record.tenant.clone(), record.account.clone());
        if inner.records.contains_key(&key) {
            return Ok(Write::Conflict);
        }
        let mut r = record.clone();
        r.version = 1;
        inner.records.insert(key, r);
        Ok(Write::Done(1))
    }

    async fn get(&self, tenant: &str, account: &str) -> Result<Option<AccountRecord>> {
        Ok(self
            .inner()?
            .records
            .get(&(tenant.to_owned(), account.to_owned()))
            .cloned())
    }

    async fn update(&self, record: &AccountRecord) -> Result<Write> {
        let mut inner = self.inner()?;
        let Some(current) = inner
            .records
            .get_mut(&(record.tenant.clone(), record.account.clone()))
        else {
            return Ok(Write::Missing);
        };
        if current.version != record.version {
            return Ok(Write::Conflict);
        }
        *current = record.clone();
        current.version = record.version + 1;
        Ok(Write::Done(current.version))
    }

    async fn delete(&self, tenant: &str, account: &str) -> Result<bool> {
        Ok(self
            .inner()?
            .records
            .remove(&(tenant.to_owned(), account.to_owned()))
            .is_some())
    }

    async fn list(&self, filter: &ListFilter) -> Result<Vec<AccountRecord>> {
        let inner = self.inner()?;
        let mut out: Vec<AccountRecord> = inner
            .records
            .values()
            .filter(|r| filter.tenant.as_ref().is_none_or(|t| &r.tenant == t))
            .filter(|r| filter.key_id_not.is_none_or(|k| r.key_id != k))
            .filter(|r| {
                filter
                    .health_before
                    .is_none_or(|b| r.last_health_at.is_none_or(|h| h < b))
            })
            .cloned()
            .collect();
        if let Some(n) = filter.limit {
            out.truncate(n);
        }
        Ok(out)
    }

    async fn lock(
        &self,
        name: &str,
        ttl: Duration,
        wait: Duration,
    ) -> Result<Option<Box<dyn StoreLock>>> {
        let deadline = Instant::now() + wait;
        loop {
            {
                let mut inner = self.inner()?;
                let now = Instant::now();
                let free = inner.locks.get(name).is_none_or(|(_, until)| *until <= now);
                if free {
                    inner.next_holder += 1;
                    let holder = inner.next_holder;
                    inner.locks.insert(name.to_owned(), (holder, now + ttl));
                    return Ok(Some(Box::new(MemoryLock {
                        store: self.clone(),
                        name: name.to_owned(),
                        holder,
                    })));
                }
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

#[derive(Debug)]
struct MemoryLock {
    store: MemoryStore,
    name: String,
    holder: u64,
}

impl MemoryLock {
    fn free(&self) -> Result<()> {
        let mut inner = self.store.inner()?;
        if inner
            .locks
            .get(&self.name)
            .is_some_and(|(h, _)| *h == self.holder)
        {
            inner.locks.remove(&self.name);
        }
        Ok(())
    }
}

#[async_trait]
impl StoreLock for MemoryLock {
    async fn release(self: Box<Self>) -> Result<()> {
        // Dropping frees it (below); releasing only makes that explicit.
        self.free()
    }
}

impl Drop for MemoryLock {
    fn drop(&mut self) {
        // A holder dropped mid-refresh (cancelled) frees the lock at once.
        let _ = self.free();
    }
}
